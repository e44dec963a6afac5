#!/usr/bin/env bash
# Flat memory: 500 cameras checked by ip and by port every second (about
# 1,000 checks a second through the scheduler, the prober and ingest); after
# a warm-up, no camera_health worker's memory grows over the next minute.
#
# Measured per worker: the grand total of its memory contexts, as logged by
# pg_log_backend_memory_contexts(pid), and the anonymous resident memory
# (RssAnon of /proc/PID/status), which also sees what hiredis mallocs.
#
# Bounds: a correct worker is flat within allocator noise once warm
# (measured: under 100 kB of contexts, under 1 MB of RssAnon); allocations
# that escape the reset per-tick context grow by about 1 MB a second at
# this rate, 60 MB a minute.  CONTEXT_BOUND (4 MB) and RSS_BOUND (16 MB)
# sit far from both.
. "$(dirname "$0")/lib.sh"

PORT=18720
NET=127.0.72            # 127.0.72.1-250 and 127.0.73.1-250
NCAMS=500
WARMUP_S=20
MEASURE_S=60
CONTEXT_BOUND=$((4 * 1024 * 1024))
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

# contexts_total PID: the "Grand total" bytes the worker logs for its contexts
contexts_total() {
	local pid=$1 offset line deadline=$((SECONDS + 20))
	offset=$(stat -c %s "$PG_LOG")
	[ "$(q "SELECT pg_log_backend_memory_contexts($pid)")" = "t" ] || fail "cannot signal worker $pid"
	while [ $SECONDS -lt $deadline ]; do
		line=$(tail -c +"$((offset + 1))" "$PG_LOG" | grep -a "\[$pid\] LOG:  Grand total: " | head -n 1 || true)
		if [ -n "$line" ]; then
			sed -E 's/.*Grand total: ([0-9]+) bytes.*/\1/' <<<"$line"
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
		echo "$name $pid $(contexts_total "$pid") $(rss_anon_kb "$pid")"
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
[ "$(wc -l <<<"$before")" -eq 4 ] || fail "expected 4 workers, found: $before"
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
	note "$(printf '%-10s contexts %9d -> %9d bytes (%+d)   RssAnon %7d -> %7d kB (%+d)' \
		"$name" "$ctx" "$ctx2" $((ctx2 - ctx)) "$rss" "$rss2" $((rss2 - rss)))"
	[ $((ctx2 - ctx)) -le $CONTEXT_BOUND ] || bad="$bad $name: contexts grew by $((ctx2 - ctx)) bytes;"
	[ $((rss2 - rss)) -le $RSS_BOUND ] || bad="$bad $name: RssAnon grew by $((rss2 - rss)) kB;"
done <<<"$before"
[ -z "$bad" ] || fail "memory grew in ${MEASURE_S} s:$bad"
if grep -aq "camera_health .*: memory .* grew" "$PG_LOG"; then
	fail "a worker's memory guard warned: $(grep -a "camera_health .*: memory .* grew" "$PG_LOG" | head -n 1)"
fi
