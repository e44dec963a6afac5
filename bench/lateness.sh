#!/usr/bin/env bash
# Scheduling lateness at scale: N cameras (default 10000) on loopback with
# 10-second ip and port intervals, i.e. N/5 checks a second, on a private
# cluster and redis-server.  Lateness is the actual start of a check minus
# its due time (metadata lateness_ms of each health log).  Prints p50, p99,
# max over a measuring window after a warm-up, and the checks per second
# achieved against those due.  Half the cameras listen on their port, half
# refuse it (RST), so alerts are opened and kept up to date too.
#
#   bench/lateness.sh [N [WINDOW_S]]      (defaults 10000, 60)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
WINDOW=${2:-60}
WARMUP=30
PORT=18999

. scripts/stack.sh
orig_range=$(sysctl -n net.ipv4.ping_group_range)
listener=""
cleanup() {
	[ -z "$listener" ] || kill "$listener" 2>/dev/null || true
	sysctl -qw net.ipv4.ping_group_range="$orig_range"
	stack_stop
}
trap cleanup EXIT
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
stack_start "max_wal_size = '4GB'" "checkpoint_timeout = '15min'"

addr() { echo "127.3.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }
mapfile -t listen_addrs < <(for i in $(seq 0 2 $((N - 1))); do addr "$i"; done)
python3 test/listen.py $PORT "${listen_addrs[@]}" >"$STACK_DIR/listen.out" &
listener=$!
until grep -q ready "$STACK_DIR/listen.out" 2>/dev/null; do sleep 0.2; done

psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(camera_health.register_camera(
	('127.3.' || (i / 250) || '.' || (i % 250 + 1))::inet, $PORT, interval_ip => 10, interval_port => 10))
	FROM generate_series(0, $N - 1) i" >/dev/null
echo "lateness: $N cameras, ip and port every 10 s ($(( N / 5 )) checks/s due); warm-up ${WARMUP}s, window ${WINDOW}s"
sleep $WARMUP
t0=$(psql -XAtq -c "SELECT now()")
sleep "$WINDOW"
t1=$(psql -XAtq -c "SELECT now()")
sleep 5   # let the window's results be ingested

psql -XAtq -v ON_ERROR_STOP=1 <<SQL
SELECT format('lateness: %s checks in %s s (%s/s, %s%% of those due): p50 %s ms, p99 %s ms, max %s ms; statuses %s',
	count(*), $WINDOW, round(count(*) / $WINDOW::numeric), round(100.0 * count(*) / ($N / 5.0 * $WINDOW), 1),
	percentile_disc(0.5) WITHIN GROUP (ORDER BY (metadata ->> 'lateness_ms')::int),
	percentile_disc(0.99) WITHIN GROUP (ORDER BY (metadata ->> 'lateness_ms')::int),
	max((metadata ->> 'lateness_ms')::int),
	(SELECT string_agg(s || ' ' || n, ', ') FROM (SELECT check_type || '/' || status AS s, count(*) AS n
		FROM camera_health.health_logs WHERE created_at >= '$t0' AND created_at < '$t1' GROUP BY 1 ORDER BY 1) x))
FROM camera_health.health_logs WHERE created_at >= '$t0' AND created_at < '$t1';
SQL
