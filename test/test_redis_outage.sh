#!/usr/bin/env bash
# Redis FLUSHALL and a Redis restart: the schedules come back from the
# database and checks go on; no worker restarts, the server stays up.
. "$(dirname "$0")/lib.sh"

trap 'cleanup_listeners; q "DELETE FROM camera_health.cameras WHERE ip_address << '"'"'127.0.40.0/24'"'"'" >/dev/null || true' EXIT
mapfile -t addrs < <(for i in $(seq 1 20); do echo "127.0.40.$i"; done)
listen 18700 "${addrs[@]}"
q "SELECT count(camera_health.register_camera(('127.0.40.' || i)::inet, 18700, interval_ip => 1, interval_port => 1)) FROM generate_series(1, 20) i" >/dev/null
cams="camera_id IN (SELECT id FROM camera_health.cameras WHERE ip_address << '127.0.40.0/24')"
wait_for 15 "first checks" "SELECT count(DISTINCT camera_id) = 20 FROM camera_health.health_logs WHERE $cams"
pids="$(worker_pid scheduler) $(worker_pid prober) $(worker_pid ingest)"
postmaster=$(head -1 "$STACK_DIR/pgdata/postmaster.pid")

# checks go on: 20 cameras x 2 checks a second, so 100 new logs in a few seconds
checks_go_on() {
	local n
	n=$(q "SELECT count(*) FROM camera_health.health_logs WHERE $cams")
	wait_for 20 "checks going on after $1" "SELECT count(*) >= $n + 100 FROM camera_health.health_logs WHERE $cams"
}

rcli FLUSHALL >/dev/null
start=$(date +%s%N)
while [ "$(rcli ZCARD schedule:ip)" -lt 20 ]; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "schedule not rebuilt within 5 s of FLUSHALL"
	sleep 0.05
done
note "FLUSHALL: schedule rebuilt in $(( ($(date +%s%N) - start) / 1000000 )) ms"
checks_go_on FLUSHALL

redis_stop
sleep 3
q "SELECT 1" >/dev/null || fail "the server is down while Redis is"
redis_start
start=$(date +%s%N)
checks_go_on "the Redis restart"
note "Redis down 3 s and restarted: checks resumed within $(( ($(date +%s%N) - start) / 1000000 )) ms"

assert_eq "$(worker_pid scheduler) $(worker_pid prober) $(worker_pid ingest)" "$pids" "worker pids"
assert_eq "$(head -1 "$STACK_DIR/pgdata/postmaster.pid")" "$postmaster" "postmaster pid"
for w in scheduler prober ingest; do
	n=$(grep -c "camera_health $w: Redis at redis://127.0.0.1:$REDIS_PORT/0 is unavailable" "$PG_LOG" || true)
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "$w logged the outage $n times"
done
grep -q "connected to Redis again" "$PG_LOG" || fail "no log line when Redis came back"
note "each worker logged the outage once and carried on; no crash"
