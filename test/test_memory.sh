#!/usr/bin/env bash
# Flat memory: 500 cameras checked by ip and by port every second (about
# 1,000 checks a second through the scheduler, the prober and ingest); after
# a warm-up, no camera_health worker's memory grows over the next minute.
#
# Measured per worker: the bytes used in its memory contexts (the "used" of
# what pg_log_backend_memory_contexts(pid) logs: the allocated total moves
# in blocks of up to 8 MB, too coarse; see contexts_used), and the
# anonymous resident memory (RssAnon of /proc/PID/status), which also sees
# what hiredis and netprobe malloc.
#
# Bounds: allocations that escape the per-iteration context that is reset
# (the defect of issue 8) grew the scheduler by 2.5 MB and ingest by 3.0 MB
# in the minute measured here; fixed, each worker moved by less than 10 kB
# (a catalog cache entry, say).  CONTEXT_BOUND (512 kB) sits far from both,
# with room for the relcache entries of a new day's partitions.  RssAnon
# moves by up to 2 MB in a correct worker (malloc arenas, hiredis buffers);
# RSS_BOUND (16 MB) catches only gross malloc leaks (a hiredis reply lost
# per check is 10+ MB a minute).
. "$(dirname "$0")/lib.sh"

PORT=18720
NET=127.0.72            # 127.0.72.1-250 and 127.0.73.1-250
NCAMS=500
WARMUP_S=20
MEASURE_S=60
CONTEXT_BOUND=$((512 * 1024))
RSS_BOUND=$((16 * 1024))   # kB

cleanup() {
	cleanup_listeners
	q "DELETE FROM camera_health.cameras WHERE ip_address << '127.0.72.0/23' AND port = $PORT" >/dev/null || true
}
trap cleanup EXIT

addresses() {
	local i
	for i in $(seq 1 250); do echo "$NET.$i 127.0.73.$i"; done
}

# contexts_used PID: the bytes used in the worker's memory contexts, as it
# logs them, less those of the contexts that are reset or emptied every
# iteration or transaction (scripts/contexts_used.awk).
contexts_used() {
	local pid=$1 offset dump deadline=$((SECONDS + 20))
	offset=$(stat -c %s "$PG_LOG")
	[ "$(q "SELECT pg_log_backend_memory_contexts($pid)")" = "t" ] || fail "cannot signal worker $pid"
	while [ $SECONDS -lt $deadline ]; do
		dump=$(tail -c +"$((offset + 1))" "$PG_LOG" | grep -a "\[$pid\] LOG:  " || true)
		if grep -q "Grand total: " <<<"$dump"; then
			awk -f "$(dirname "$0")/../scripts/contexts_used.awk" <<<"$dump"
			return 0
		fi
		sleep 0.2
	done
	fail "worker $pid did not log its memory contexts"
}

rss_anon_kb() {
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

# sample: "name pid contexts rss" for every camera_health worker
sample() {
	local name pid
	while read -r name pid; do
		echo "$name $pid $(contexts_used "$pid") $(rss_anon_kb "$pid")"
	done < <(q "SELECT replace(backend_type, 'camera_health ', ''), pid FROM pg_stat_activity
				WHERE backend_type LIKE 'camera_health %' ORDER BY backend_type" | tr '|' ' ')
}

# shellcheck disable=SC2046
listen $PORT $(addresses)
q "SELECT count(*) FROM (SELECT camera_health.register_camera(
		(CASE WHEN i <= 250 THEN '$NET.' || i ELSE '127.0.73.' || (i - 250) END)::inet, $PORT,
		interval_ip => 1, interval_port => 1) FROM generate_series(1, $NCAMS) i) r" >/dev/null
note "registered $NCAMS cameras, ip and port checked every second"

cams="c.ip_address << '127.0.72.0/23' AND c.port = $PORT"
wait_for 60 "every camera checked twice by ip and by port" \
	"SELECT count(*) = $((NCAMS * 2)) AND bool_and(n >= 2) FROM (
		SELECT l.camera_id, l.check_type, count(*) n FROM camera_health.health_logs l
		JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams GROUP BY 1, 2) x"
sleep "$WARMUP_S"

logs_before=$(q "SELECT count(*) FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams")
before=$(sample)
[ "$(wc -l <<<"$before")" -eq 5 ] || fail "expected 5 workers, found: $before"
sleep "$MEASURE_S"
after=$(sample)
logs_after=$(q "SELECT count(*) FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams")
rate=$(( (logs_after - logs_before) / MEASURE_S ))
note "$rate checks a second written during the ${MEASURE_S} s measured"
[ "$rate" -ge 500 ] || fail "only $rate checks a second: the load this test needs did not happen"

bad=""
while read -r name pid ctx rss; do
	read -r _ pid2 ctx2 rss2 < <(grep "^$name " <<<"$after")
	[ "$pid" = "$pid2" ] || fail "the $name worker restarted during the test ($pid, then $pid2)"
	note "$(printf '%-10s contexts %9d -> %9d bytes used (%+d)   RssAnon %7d -> %7d kB (%+d)' \
		"$name" "$ctx" "$ctx2" $((ctx2 - ctx)) "$rss" "$rss2" $((rss2 - rss)))"
	[ $((ctx2 - ctx)) -le $CONTEXT_BOUND ] || bad="$bad $name: contexts grew by $((ctx2 - ctx)) bytes;"
	[ $((rss2 - rss)) -le $RSS_BOUND ] || bad="$bad $name: RssAnon grew by $((rss2 - rss)) kB;"
done <<<"$before"
[ -z "$bad" ] || fail "memory grew in ${MEASURE_S} s:$bad"
if grep -aEq "camera_health [a-z]+: memory leak:" "$PG_LOG"; then
	fail "a worker's memory guard warned: $(grep -aE "camera_health [a-z]+: memory leak:" "$PG_LOG" | head -n 1)"
fi
