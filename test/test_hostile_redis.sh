#!/usr/bin/env bash
# The workers against a hostile Redis (test/fake_redis.py: nils, errors,
# wrong types, wrong lengths and nesting, more entries than asked, huge
# strings, odd field counts, bad ids and ports, protocol garbage), then
# back to the real one: no worker crashes, so the postmaster never
# restarts the server; malformed replies are logged rate-limited; checks
# resume.  Before that, a Redis that refuses connections: the outage line
# names the reason (it was read from a freed hiredis context).
. "$(dirname "$0")/lib.sh"

FAKE_PID=""
cleanup() {
	[ -z "$FAKE_PID" ] || kill "$FAKE_PID" 2>/dev/null || true
	q "ALTER SYSTEM RESET camera_health.redis_url" >/dev/null 2>&1 || true
	q "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
	cleanup_listeners
	q "DELETE FROM camera_health.cameras WHERE ip_address << '127.0.41.0/24'" >/dev/null 2>&1 || true
}
trap cleanup EXIT

set_redis_url() {
	q "ALTER SYSTEM SET camera_health.redis_url = '$1'" >/dev/null
	q "SELECT pg_reload_conf()" >/dev/null
}

addresses=()
for i in $(seq 1 10); do addresses+=("127.0.41.$i"); done
listen 18710 "${addresses[@]}"
q "SELECT count(camera_health.register_camera(('127.0.41.' || i)::inet, 18710, interval_ip => 1, interval_port => 1)) FROM generate_series(1, 10) i" >/dev/null
cams="camera_id IN (SELECT id FROM camera_health.cameras WHERE ip_address << '127.0.41.0/24')"
wait_for 20 "first checks" "SELECT count(DISTINCT camera_id) = 10 FROM camera_health.health_logs WHERE $cams"
# a camera checked once a day: after its first checks, any result of it comes from a task we post
slow=$(q "SELECT id FROM camera_health.register_camera('127.0.41.50', 18710, interval_ip => 86400, interval_port => 86400)")
wait_for 20 "first checks of the slow camera" "SELECT count(*) = 2 FROM camera_health.health_logs WHERE camera_id = $slow"

started=$(q "SELECT pg_postmaster_start_time()")
pids="$(worker_pid scheduler) $(worker_pid prober) $(worker_pid ingest)"
log_from=$(($(stat -c %s "$PG_LOG") + 1))
new_log() { tail -c +"$log_from" "$PG_LOG"; }

# 1. nothing listens: each worker says why, in words
closed=$(free_port)
set_redis_url "redis://127.0.0.1:$closed/0"
deadline=$((SECONDS + 20))
for w in scheduler prober ingest; do
	until new_log | grep -q "camera_health $w: Redis at redis://127.0.0.1:$closed/0 is unavailable: Connection refused"; do
		[ $SECONDS -lt $deadline ] || fail "$w did not log 'Connection refused' for the closed port"
		sleep 0.2
	done
done
note "closed port: each worker logged 'Connection refused'"

# 2. the hostile Redis, until every scenario of each command was served
fake_port=$(free_port)
stats="$STACK_DIR/fake_redis.$$.json"
fifo="$STACK_DIR/fake_redis.$$.fifo"
mkfifo "$fifo"
python3 "$(dirname "$0")/fake_redis.py" "$fake_port" "$stats" >"$fifo" &
FAKE_PID=$!
read -r line <"$fifo"
rm -f "$fifo"
[ "$line" = "ready" ] || fail "fake Redis did not start"
set_redis_url "redis://127.0.0.1:$fake_port/0"

covered() {
	python3 - "$stats" <<-'PY'
		import json, sys
		try:
		    s = json.load(open(sys.argv[1]))
		except (OSError, ValueError):
		    sys.exit(1)
		need = {"XREADGROUP": 1, "EVAL": 1, "ZRANGE": 1, "EXISTS": 1}
		ok = all(c in s and s[c][0] >= k * s[c][1] for c, k in need.items())
		ok = ok and s.get("XAUTOCLAIM", [0])[0] >= 2
		print(" ".join("%s=%d/%d" % (c, v[0], v[1]) for c, v in sorted(s.items())))
		sys.exit(0 if ok else 1)
	PY
}
deadline=$((SECONDS + 90))
until summary=$(covered); do
	[ $SECONDS -lt $deadline ] || fail "the workers did not go through every scenario: $summary"
	[ "$(q "SELECT pg_postmaster_start_time()" 2>/dev/null)" = "$started" ] ||
		fail "the server restarted while talking to the fake Redis"
	sleep 1
done
note "fake Redis served (calls/scenarios): $summary"

# 3. back to the real Redis: checks resume
set_redis_url "$REDIS_URL"
q "ALTER SYSTEM RESET camera_health.redis_url" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
kill "$FAKE_PID" && FAKE_PID=""
n=$(q "SELECT count(*) FROM camera_health.health_logs WHERE $cams")
wait_for 60 "checks resuming on the real Redis" \
	"SELECT count(*) >= $n + 40 FROM camera_health.health_logs WHERE $cams"
note "real Redis back: checks resumed"

# 4. tasks in the real Redis with ports that atoi() would have turned into
# others (70000 is 4464 in 16 bits, "18710abc" is 18710): dropped, not probed
now_ms=$(date +%s%3N)
task_ids=()
for port in 70000 18710abc -1 ""; do
	task_ids+=("$(rcli XADD queue:network '*' camera_id "$slow" check port ip 127.0.41.50 port "$port" \
		due_ms "$now_ms" interval_ms 86400000)")
done
deadline=$((SECONDS + 20))
for id in "${task_ids[@]}"; do
	until [ -z "$(rcli XRANGE queue:network "$id" "$id")" ]; do
		[ $SECONDS -lt $deadline ] || fail "the prober did not take task $id"
		sleep 0.2
	done
done
sleep 2
assert_eq "$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = $slow")" "2" \
	"results of tasks with invalid ports"
note "tasks with ports 70000, 18710abc, -1 and '' dropped, not probed"

assert_eq "$(q "SELECT pg_postmaster_start_time()")" "$started" "postmaster start time"
assert_eq "$(worker_pid scheduler) $(worker_pid prober) $(worker_pid ingest)" "$pids" "worker pids"
if new_log | grep -E "terminated by signal|server process .* was terminated|terminating any other active server processes"; then
	fail "a process crashed (see above)"
fi
# malformed replies: logged, but once a minute per kind and worker
malformed=$(new_log | grep -c "malformed Redis replies" || true)
[ "$malformed" -ge 1 ] || fail "no malformed reply was logged"
worst=$(new_log | grep -o "camera_health [a-z]*: dropped [0-9]* malformed Redis replies: .*" |
	sed 's/dropped [0-9]* /dropped /' | sort | uniq -c | sort -rn | head -1)
[ "${worst%% camera*}" -le 3 ] || fail "a malformed reply kind was logged more than rate-limited: $worst"
note "no crash, same postmaster and workers; $malformed rate-limited lines about malformed replies"
