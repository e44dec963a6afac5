#!/usr/bin/env bash
# High latency end to end: a round trip above camera_health.high_latency
# makes the ip check warn and opens one high_latency alert per camera,
# which resolves when the round trips are fast again.  (Loopback answers in
# microseconds, so the threshold is lowered below that instead of slowing
# the network down: this machine has no netem.)
. "$(dirname "$0")/lib.sh"

cleanup() {
	cleanup_network
	q "ALTER SYSTEM RESET camera_health.high_latency" >/dev/null
	q "SELECT pg_reload_conf()" >/dev/null
	q "DELETE FROM camera_health.cameras WHERE ip_address << '127.0.70.0/24'" >/dev/null || true
}
trap cleanup EXIT
set_ping_range "0 2147483647"
restart_worker prober

q "SELECT count(camera_health.register_camera(('127.0.70.' || i)::inet, 18900, interval_ip => 1)) FROM generate_series(1, 5) i" >/dev/null
cams="camera_id IN (SELECT id FROM camera_health.cameras WHERE ip_address << '127.0.70.0/24')"
wait_for 15 "fast round trips" "SELECT count(*) = 5 FROM camera_health.camera_status WHERE $cams AND check_type = 'ip' AND status = 'ok' AND streak >= 2"

q "ALTER SYSTEM SET camera_health.high_latency = 0.001" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for 15 "high_latency alerts" "SELECT count(*) = 5 FROM camera_health.alerts WHERE $cams AND alert_type = 'high_latency' AND resolved_at IS NULL"
assert_eq "$(q "SELECT string_agg(DISTINCT status, ',') FROM camera_health.camera_status WHERE $cams AND check_type = 'ip'")" "warning" "ip status while slow"
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE $cams AND alert_type <> 'high_latency'")" "0" "other alerts"
note "$(q "SELECT message FROM camera_health.alerts WHERE $cams AND alert_type = 'high_latency' LIMIT 1")"

q "ALTER SYSTEM RESET camera_health.high_latency" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for 15 "high_latency alerts resolved" "SELECT count(*) = 5 FROM camera_health.alerts WHERE $cams AND alert_type = 'high_latency' AND status = 'resolved'"
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE $cams")" "5" "alert rows: one per camera, no flapping"
note "threshold back to 500 ms: all 5 resolved, one row each"
