#!/usr/bin/env bash
# Vision at fleet scale: N RTSP cameras (the test RTSP server over vtest.mp4)
# with interval_vision V, on a private cluster and redis-server, and
# visionproc with its default settings.  Prints, over a measuring window
# after a warm-up:
#   - vision checks per second achieved against those due (N / V),
#   - lateness p50 / p99 (the start of a grab minus its due time),
#   - CPU per check (visionproc's processes and threads, from /proc),
#   - memory per worker (VmRSS now, VmHWM the peak);
# then, on the same streams in the same run, two peers:
#   - today's visionproc (BASELINE, default the commit before issue 11's
#     work, built from git into a temporary directory), the same way;
#   - the naive approach: `ffmpeg -rtsp_transport tcp -i URL -frames:v 1`
#     per check, as many in parallel as visionproc's default worker count
#     (the number of cores): checks per second and CPU per check.
# Targets on this machine (2 cores): at least 10 checks/s sustained with
# p99 lateness under the interval, CPU per check no higher than BASELINE's.
# Nothing fails on a figure: they are printed.
#
#   bench/vision_scale.sh [N [V [WINDOW_S]]]     (defaults 400, 30, 60)
#   BASELINE=<rev>|none   the peer build (default e5562fe)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-400}
V=${2:-30}
WINDOW=${3:-60}
WARMUP=${WARMUP:-30}
BASELINE=${BASELINE:-e5562fe}
ROOT=$PWD

. scripts/stack.sh
. scripts/testdata.sh
PIDS=()
WORK=$(mktemp -d)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
	stack_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x test/bin/rtsp_server ] || make -s test/bin/rtsp_server
make -s -C visionproc
if [ "$BASELINE" != none ]; then
	mkdir -p "$WORK/baseline"
	git archive "$BASELINE" visionproc common | tar -x -C "$WORK/baseline"
	make -s -C "$WORK/baseline/visionproc" >/dev/null
fi

stack_start
mkdir -p "$WORK/clips"
for i in $(seq "$N"); do ln -s "$TESTDATA/clips/vtest.mp4" "$WORK/clips/cam$i"; done
RTSP_PORT=$(free_port)
"$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$WORK/clips" >"$WORK/rtsp.log" 2>&1 &
RTSP_PID=$!
PIDS+=("$RTSP_PID")
until grep -q ready "$WORK/rtsp.log"; do sleep 0.1; done
cores=$(nproc)

# Cameras are added over one interval, N/V a second, so that their checks
# are spread as a fleet's are (cameras added at once are all due at once).
register_spread() {
	local s
	for s in $(seq 0 $((V - 1))); do
		psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(camera_health.register_camera('127.0.0.1', $RTSP_PORT,
			format('rtsp://127.0.0.1:$RTSP_PORT/cam%s', i), interval_ip => 3600, interval_port => 3600,
			interval_vision => $V, name => 'scale ' || i)) FROM generate_series(1, $N) i WHERE i % $V = $s" >/dev/null
		sleep 1
	done
}

# measure NAME BINARY: run it for the warm-up and the window, print its figures
measure() {
	local name=$1 bin=$2 pid t0 t1 c0 c1 mem
	VISIONPROC_REDIS_URL="$REDIS_URL" "$bin" 2>"$WORK/$name.log" &
	pid=$!
	PIDS+=("$pid")
	# the first run's cameras are added while it runs, as a fleet grows
	[ -n "$registered" ] || register_spread
	registered=1
	sleep "$WARMUP"
	t0=$(psql -XAtq -c "SELECT now()")
	c0=$(python3 bench/proc_tree.py cpu "$pid")
	r0=$(python3 bench/proc_tree.py cpu "$RTSP_PID")
	p0=$(python3 bench/proc_tree.py cpu "$(head -1 "$STACK_DIR/pgdata/postmaster.pid")")
	sleep "$WINDOW"
	c1=$(python3 bench/proc_tree.py cpu "$pid")
	r1=$(python3 bench/proc_tree.py cpu "$RTSP_PID")
	p1=$(python3 bench/proc_tree.py cpu "$(head -1 "$STACK_DIR/pgdata/postmaster.pid")")
	t1=$(psql -XAtq -c "SELECT now()")
	mem=$(python3 bench/proc_tree.py mem "$pid" | awk '{printf "%s%d/%d MB", sep, $2/1024, $3/1024; sep=", "}')
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	sleep 3	# the window's last results are ingested
	psql -XAtq -v ON_ERROR_STOP=1 <<-SQL
	SELECT format('%-9s %s checks in %s s: %s/s of %s/s due (%s%%); lateness p50 %s ms, p99 %s ms; CPU %s ms per check (%s%% of %s cores); stream %s ms per check; statuses %s; workers RSS/peak %s',
		'$name', count(*), $WINDOW, round(count(*) / $WINDOW::numeric, 2), round($N / $V::numeric, 2),
		round(100.0 * count(*) / ($N / $V::numeric * $WINDOW), 1),
		percentile_disc(0.5) WITHIN GROUP (ORDER BY (metadata ->> 'lateness_ms')::int),
		percentile_disc(0.99) WITHIN GROUP (ORDER BY (metadata ->> 'lateness_ms')::int),
		round(1000 * ($c1 - $c0) / greatest(count(*), 1)), round(100 * ($c1 - $c0) / $WINDOW / $cores),
		$cores, round(avg((metadata ->> 'duration_ms')::numeric)),
		(SELECT string_agg(s || ' ' || n, ', ') FROM (SELECT status AS s, count(*) AS n
			FROM camera_health.health_logs WHERE check_type = 'vision' AND created_at >= '$t0' AND created_at < '$t1'
			GROUP BY 1 ORDER BY 1) x), '$mem')
	FROM camera_health.health_logs WHERE check_type = 'vision' AND created_at >= '$t0' AND created_at < '$t1';
	SQL
	grep -m1 "grabs in flight" "$WORK/$name.log" | sed 's/^.*]: /          sizing: /' || true
	awk -v r="$(echo "$r1 - $r0" | bc)" -v p="$(echo "$p1 - $p0" | bc)" -v w="$WINDOW" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		printf "          meanwhile: the RTSP server %.0f%% of a core, PostgreSQL %.0f%%; load average %s\n", 100 * r / w, 100 * p / w, l }'
	psql -XAtq -c "SELECT format('          first frame after %s ms on average, %s%% of the grabs settled after one pair of frames',
		round(avg((metadata #>> '{stream,first_frame_ms}')::numeric)),
		round(100.0 * count(*) FILTER (WHERE (metadata #>> '{stream,settled_early}')::boolean) / greatest(count(*), 1)))
		FROM camera_health.health_logs WHERE check_type = 'vision' AND created_at >= '$t0' AND created_at < '$t1'"
}

registered=""
echo "vision_scale: $N cameras, vision every $V s ($(awk "BEGIN {printf \"%.1f\", $N / $V}") checks/s due), warm-up ${WARMUP}s, window ${WINDOW}s, $cores cores"
measure visionproc "$ROOT/visionproc/visionproc"
if [ "$BASELINE" != none ]; then
	# the backlog of the first run is not the peer's: start it on a clean queue
	redis-cli -p "$REDIS_PORT" DEL queue:vision >/dev/null
	measure "$BASELINE" "$WORK/baseline/visionproc/visionproc"
fi
psql -XAtq -c "SELECT camera_health.set_camera_enabled(id, false) FROM camera_health.cameras" >/dev/null
urls=()
for i in $(seq "$N"); do urls+=("rtsp://127.0.0.1:$RTSP_PORT/cam$i"); done
read -r ndone failed cpu secs < <(python3 bench/naive_grabs.py "$cores" "$WINDOW" "${urls[@]}")
awk -v d="$ndone" -v f="$failed" -v c="$cpu" -v s="$secs" -v p="$cores" 'BEGIN {
	printf "naive     %d checks (%d failed) in %.0f s: %.2f/s with %d in parallel; CPU %.0f ms per check\n",
		d, f, s, d / s, p, 1000 * c / (d + f > 0 ? d + f : 1) }'
