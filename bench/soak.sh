#!/usr/bin/env bash
# Soak: does any worker's memory grow while it runs for a long time?
#
# N cameras (default 10,000) on loopback, ip and port checked every
# INTERVAL seconds (default 10), a tenth of them with a stream URL checked
# by visionproc at the same interval (their streams refuse or drop the
# connection, so every vision result is a quick error: the vision path of
# the scheduler and the ingest runs at full rate without FFmpeg decoding
# dominating the two cores).  Every SAMPLE seconds it records, for each
# camera_health worker, its private memory (RssAnon from /proc) and the
# bytes used in its long-lived memory contexts (pg_log_backend_memory_contexts
# in the server log, less the contexts reset every iteration or transaction:
# scripts/contexts_used.awk), and for visionproc's processes their RssAnon.
# At the end it prints each series and its growth per hour, fitted by least
# squares over the samples after the warm-up.
#
#   bench/soak.sh [MINUTES [N [INTERVAL]]]     (defaults 20, 10000, 10)
#   SAMPLE=60 WARMUP=180 (seconds) in the environment
#
# Target (BENCHMARKS.md): no worker grows after warm-up, i.e. less than
# 1 MB an hour, within noise.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-20}
N=${2:-10000}
INTERVAL=${3:-10}
SAMPLE=${SAMPLE:-60}
WARMUP=${WARMUP:-180}
PORT=18998
VISION_EVERY=10			# one camera in VISION_EVERY has a stream URL

[ -n "${SKIP_BUILD:-}" ] || scripts/build.sh
. scripts/stack.sh
orig_range=$(sysctl -n net.ipv4.ping_group_range)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	sysctl -qw net.ipv4.ping_group_range="$orig_range" 2>/dev/null || true
	stack_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
stack_start "max_wal_size = '4GB'" "checkpoint_timeout = '15min'" "log_min_messages = info"

addr() { echo "127.4.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }
# half the cameras listen on their port (accept and close), half refuse it
listen_addrs=()
for i in $(seq 0 2 $((N - 1))); do listen_addrs+=("$(addr "$i")"); done
python3 test/listen.py $PORT "${listen_addrs[@]}" >"$STACK_DIR/listen.out" &
pids+=($!)
until grep -q ready "$STACK_DIR/listen.out" 2>/dev/null; do sleep 0.2; done

VISIONPROC_REDIS_URL="$REDIS_URL" visionproc/visionproc --workers 2 2>"$STACK_DIR/log/visionproc.log" &
vp=$!
pids+=("$vp")

psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(camera_health.register_camera(
	('127.4.' || (i / 250) || '.' || (i % 250 + 1))::inet, $PORT,
	CASE WHEN i % $VISION_EVERY = 0 THEN 'rtsp://127.4.' || (i / 250) || '.' || (i % 250 + 1) || ':$PORT/soak' END,
	interval_ip => $INTERVAL, interval_port => $INTERVAL, interval_vision => $INTERVAL))
	FROM generate_series(0, $N - 1) i" >/dev/null
echo "soak: $N cameras, ip and port every ${INTERVAL} s, $(( N / VISION_EVERY )) with vision every ${INTERVAL} s" \
	"($(( 2 * N / INTERVAL + N / VISION_EVERY / INTERVAL )) checks/s due); ${MINUTES} min," \
	"a sample every ${SAMPLE} s, growth fitted after ${WARMUP} s"

rss_anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# contexts_used PID: ask the backend to log its memory contexts and read
# the bytes its long-lived contexts use (scripts/contexts_used.awk: the grand
# total less the loop and transaction contexts, which are reset every
# iteration and hold whatever batch is in flight at the instant)
contexts_used() {
	local pid=$1 offset dump
	offset=$(stat -c %s "$PG_LOG")
	psql -XAtq -c "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
	for _ in $(seq 100); do
		dump=$(tail -c +"$((offset + 1))" "$PG_LOG" | grep -a "\[$pid\] LOG:  " || true)
		if grep -q "Grand total: " <<<"$dump"; then
			awk -f scripts/contexts_used.awk <<<"$dump"
			return
		fi
		sleep 0.1
	done
	echo 0
}

samples="$STACK_DIR/soak.tsv"
printf 't_s\tprocess\tpid\trss_anon_kb\tcontexts_used_bytes\n' >"$samples"
start=$SECONDS
end=$((start + MINUTES * 60))
next=$start
while [ $SECONDS -lt $end ]; do
	now=$((SECONDS - start))
	while read -r pid type; do
		[ -n "$pid" ] || continue
		printf '%s\t%s\t%s\t%s\t%s\n' "$now" "${type#camera_health }" "$pid" \
			"$(rss_anon_kb "$pid")" "$(contexts_used "$pid")" >>"$samples"
	done < <(psql -XAtq -F ' ' -c "SELECT pid, backend_type FROM pg_stat_activity
		WHERE backend_type LIKE 'camera_health %' ORDER BY backend_type")
	for pid in "$vp" $(pgrep -P "$vp" || true); do
		name=visionproc-worker
		[ "$pid" = "$vp" ] && name=visionproc
		printf '%s\t%s\t%s\t%s\t\n' "$now" "$name" "$pid" "$(rss_anon_kb "$pid")" >>"$samples"
	done
	next=$((next + SAMPLE))
	while [ $SECONDS -lt $next ] && [ $SECONDS -lt $end ]; do sleep 1; done
done

checks=$(psql -XAtq -c "SELECT count(*) FROM camera_health.health_logs")
restarts=$(grep -ac "terminated by signal\|exited with exit code" "$PG_LOG" || true)
echo "soak: $checks checks logged in ${MINUTES} min; worker exits in the server log: $restarts"
python3 bench/soak_report.py "$samples" "$WARMUP"
echo "samples: $samples (kept with KEEP_STACK=1)"
