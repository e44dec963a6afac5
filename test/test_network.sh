#!/usr/bin/env bash
# Hundreds of cameras on loopback addresses, checked by the workers with no
# manual trigger: listening ports, closed ports and unreachable hosts get
# the right health logs, latency samples and exactly one alert per failing
# condition; fixing a camera resolves its alert.
. "$(dirname "$0")/lib.sh"

PORT=18554
LIVE=127.0.10      # ip ok, port ok
CLOSED=127.0.20    # ip ok, port refused
DOWN=127.0.77      # dropped by iptables: no answer at all

cleanup() {
	cleanup_network
	q "DELETE FROM camera_health.cameras WHERE ip_address << '127.0.0.0/8' AND port = $PORT" >/dev/null || true
}
trap cleanup EXIT

set_ping_range "0 2147483647"
restart_worker prober            # so that it sees ICMP permitted right away
mapfile -t live_addrs < <(for i in $(seq 1 150); do echo "$LIVE.$i"; done)
listen $PORT "${live_addrs[@]}"
for i in $(seq 1 50); do drop_traffic $DOWN.$i/32; done

q "SELECT count(*) FROM (
	SELECT camera_health.register_camera(('$LIVE.' || i)::inet, $PORT, interval_ip => 1, interval_port => 1) FROM generate_series(1, 150) i
	UNION ALL
	SELECT camera_health.register_camera(('$CLOSED.' || i)::inet, $PORT, interval_ip => 1, interval_port => 1) FROM generate_series(1, 100) i
	UNION ALL
	SELECT camera_health.register_camera(('$DOWN.' || i)::inet, $PORT, interval_ip => 1, interval_port => 1) FROM generate_series(1, 50) i) r" >/dev/null
note "registered 300 cameras (150 live, 100 with the port closed, 50 unreachable), checked every second"

cams="c.ip_address << '127.0.0.0/8' AND c.port = $PORT"
wait_for 40 "every camera checked 5 times by ip and by port" \
	"SELECT bool_and(n >= 5) AND count(*) = 600 FROM (
		SELECT l.camera_id, l.check_type, count(*) n FROM camera_health.health_logs l
		JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams GROUP BY 1, 2) x"

# latest status of each check, by group of cameras
got=$(q "SELECT string_agg(format('%s %s %s %s', grp, s.check_type, s.status, n), ', ' ORDER BY grp, s.check_type, s.status) FROM (
	SELECT CASE WHEN c.ip_address << '$LIVE.0/24' THEN 'live' WHEN c.ip_address << '$CLOSED.0/24' THEN 'closed' ELSE 'down' END AS grp,
		   s.check_type, s.status, count(*) n
	FROM camera_health.camera_status s JOIN camera_health.cameras c ON c.id = s.camera_id WHERE $cams
	GROUP BY 1, 2, 3) s")
assert_eq "$got" "closed ip ok 100, closed port critical 100, down ip critical 50, down port critical 50, live ip ok 150, live port ok 150" "latest statuses"
note "statuses: $got"

got=$(q "SELECT string_agg(DISTINCT l.metadata ->> 'method', ',') FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams AND l.check_type = 'ip'")
assert_eq "$got" "icmp" "ip check method"
got=$(q "SELECT string_agg(DISTINCT l.metadata ->> 'detail', ',') FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams AND c.ip_address << '$CLOSED.0/24' AND l.check_type = 'port'")
assert_eq "$got" "connection refused" "closed port detail"

# latency samples for every live probe, none for the unreachable
got=$(q "SELECT count(DISTINCT c.id) FILTER (WHERE c.ip_address << '$LIVE.0/24'), count(*) FILTER (WHERE c.ip_address << '$DOWN.0/24')
	FROM camera_health.camera_latency l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE $cams")
assert_eq "$got" "150|0" "cameras with latency samples (live|down)"

# exactly one alert per failing condition, none for healthy cameras
alerts_by_group="SELECT string_agg(format('%s %s %s %s', grp, alert_type, status, n), ', ' ORDER BY grp, alert_type, status) FROM (
	SELECT CASE WHEN c.ip_address << '$LIVE.0/24' THEN 'live' WHEN c.ip_address << '$CLOSED.0/24' THEN 'closed' ELSE 'down' END AS grp,
		   a.alert_type, a.status, count(*) n
	FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id WHERE $cams GROUP BY 1, 2, 3) x"
got=$(q "$alerts_by_group")
assert_eq "$got" "closed port_unavailable open 100, down camera_unreachable open 50, down port_unavailable open 50" "alerts"
note "alerts: $got"
got=$(q "SELECT message FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id WHERE c.ip_address = '$DOWN.1' AND alert_type = 'camera_unreachable'")
note "e.g. $got"

# fix ten of each: the closed ports open; the silent hosts answer again, port open
mapfile -t closed_addrs < <(for i in $(seq 1 10); do echo "$CLOSED.$i"; echo "$DOWN.$i"; done)
listen $PORT "${closed_addrs[@]}"
for i in $(seq 1 10); do undrop_traffic $DOWN.$i/32; done
fixed=$(for i in $(seq 1 10); do printf "'$CLOSED.%d','$DOWN.%d'," $i $i; done)
wait_for 30 "alerts of the fixed cameras resolved" \
	"SELECT count(*) = 0 FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
	 WHERE $cams AND a.resolved_at IS NULL AND c.ip_address IN (${fixed%,})"
sleep 3
got=$(q "$alerts_by_group")
assert_eq "$got" "closed port_unavailable open 90, closed port_unavailable resolved 10, down camera_unreachable open 40, down camera_unreachable resolved 10, down port_unavailable open 40, down port_unavailable resolved 10" "alerts after the fix"
note "after fixing 10 + 10: $got"

# the Redis summary mirrors the database
summary=$(rcli HGET health:summary json)
[ -n "$summary" ] || fail "no health:summary in Redis"
note "health:summary: $(echo "$summary" | head -c 200)..."
