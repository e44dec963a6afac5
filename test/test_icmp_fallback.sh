#!/usr/bin/env bash
# The ip check works without ICMP permission: with net.ipv4.ping_group_range
# closed, the prober says so once and uses TCP handshakes, where a refused
# connection still proves the host is up; opened again, ICMP comes back.
. "$(dirname "$0")/lib.sh"

trap 'cleanup_network; q "DELETE FROM camera_health.cameras WHERE ip_address << '"'"'127.0.60.0/24'"'"'" >/dev/null || true' EXIT

set_ping_range "1 0"
restart_worker prober
drop_traffic 127.0.60.9/32
# 127.0.60.1: nothing listens on its port, but the host answers (RST)
up=$(q "SELECT id FROM camera_health.register_camera('127.0.60.1', 18800, interval_ip => 1)")
down=$(q "SELECT id FROM camera_health.register_camera('127.0.60.9', 18800, interval_ip => 1)")
wait_for 15 "ip checks over TCP" \
	"SELECT count(DISTINCT camera_id) = 2 FROM camera_health.health_logs WHERE camera_id IN ($up, $down) AND check_type = 'ip'"
sleep 2
assert_eq "$(q "SELECT string_agg(DISTINCT status || ' ' || (metadata ->> 'method'), ',') FROM camera_health.health_logs WHERE camera_id = $up AND check_type = 'ip'")" "ok tcp" "refused host via TCP"
assert_eq "$(q "SELECT string_agg(DISTINCT status || ' ' || (metadata ->> 'method'), ',') FROM camera_health.health_logs WHERE camera_id = $down AND check_type = 'ip'")" "critical tcp" "silent host via TCP"
grep -q "ICMP echo is not permitted; the ip check uses TCP handshakes" "$PG_LOG" || fail "no log line about the fallback"
note "without ICMP: TCP handshake probes, refused = up, silence = down"

set_ping_range "0 2147483647"
restart_worker prober
wait_for 15 "ip checks over ICMP again" \
	"SELECT count(*) > 0 FROM camera_health.health_logs WHERE camera_id = $up AND metadata ->> 'method' = 'icmp' AND status = 'ok'"
note "ICMP permitted again: echo probes"
