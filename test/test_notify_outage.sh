#!/usr/bin/env bash
# A real site outage, end to end: 24 cameras of site "east" on loopback
# addresses with a TCP listener each, checked every second by the real
# scheduler and prober; the traffic of 20 of them is dropped (iptables), as
# when the switch they hang off dies.  Their ip and port checks fail, ingest
# opens 40 alerts (unreachable and port unavailable), and the webhook
# receiver gets ONE notification naming all 20 cameras, saying "site east:
# 20 of 24 cameras unreachable".  When the traffic flows again, one
# resolution naming the 20.  (test_notify covers the rest of notifications
# with results fed straight into record_results().)
. "$(dirname "$0")/lib.sh"

NET=127.0.84
PORT=$(free_port)
RX_PORT=$(free_port)
cleanup() {
	cleanup_receivers
	cleanup_network
	q "DELETE FROM camera_health.channels WHERE name = 'outage'" >/dev/null 2>&1 || true
	q "DELETE FROM camera_health.cameras WHERE site = 'east'" >/dev/null 2>&1 || true
	q "ALTER SYSTEM RESET camera_health.notify_group_wait" >/dev/null 2>&1 || true
	q "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# the alerts of one outage open within a few seconds of each other
q "ALTER SYSTEM SET camera_health.notify_group_wait = '8s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

receiver outage "$RX_PORT"

addrs=()
for i in $(seq 1 24); do addrs+=("$NET.$i"); done
listen "$PORT" "${addrs[@]}"
q "SELECT count(*) FROM camera_health.register_cameras((SELECT jsonb_agg(jsonb_build_object(
	'ip_address', '$NET.' || i, 'port', $PORT, 'interval_ip', 1, 'interval_port', 1,
	'name', format('east %s', to_char(i, 'FM00')), 'site', 'east')) FROM generate_series(1, 24) i))" >/dev/null
q "SELECT camera_health.add_channel('webhook', 'http://127.0.0.1:$RX_PORT/hook', name => 'outage', sites => ARRAY['east'])" >/dev/null
wait_for 30 "all 24 cameras checked ok" "SELECT count(*) = 24 FROM camera_health.cameras c
	WHERE c.site = 'east' AND (SELECT count(*) FROM camera_health.camera_status s
		WHERE s.camera_id = c.id AND s.check_type IN ('ip', 'port') AND s.status = 'ok') = 2"
note "24 cameras of site east checked every second, all ok"

# the switch of 20 of them dies
for i in $(seq 1 20); do drop_traffic "$NET.$i/32"; done
opened="[e for e in E if e['body'].get('event') == 'opened']"
wait_rx 90 outage "len($opened) >= 1" "the outage's notification"
wait_for 30 "40 alerts open" "SELECT count(*) = 40 FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE c.site = 'east' AND a.resolved_at IS NULL"
sleep 10   # more than notify_group_wait: nothing more may follow
assert_eq "$(rx outage "len($opened)")" "1" "notifications of the outage"
assert_eq "$(rx outage "${opened}[0]['body']['summary']")" "site east: 20 of 24 cameras unreachable" "its summary"
assert_eq "$(rx outage "sorted(set(a['camera_name'] for a in ${opened}[0]['body']['alerts'])) == ['east %02d' % i for i in range(1, 21)]")" \
	"True" "it names the 20 cameras"
assert_eq "$(rx outage "sorted(set(a['type'] for a in ${opened}[0]['body']['alerts']))")" "['camera_unreachable', 'port_unavailable']" \
	"with both of their alerts"
note "20 of 24 cameras silent: 1 notification, \"$(rx outage "${opened}[0]['body']['summary']")\", naming all 20"

# the switch is back
for i in $(seq 1 20); do undrop_traffic "$NET.$i/32"; done
resolved="[e for e in E if e['body'].get('event') == 'resolved']"
wait_rx 90 outage "len($resolved) >= 1" "the resolution"
wait_for 30 "the 40 alerts resolved" "SELECT count(*) = 0 FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE c.site = 'east' AND a.resolved_at IS NULL"
sleep 10
assert_eq "$(rx outage "len($resolved)")" "1" "resolutions of the outage"
assert_eq "$(rx outage "sorted(set(a['camera_name'] for a in ${resolved}[0]['body']['alerts'])) == ['east %02d' % i for i in range(1, 21)]")" \
	"True" "the resolution names the 20 cameras"
assert_eq "$(rx outage "len(E)")" "2" "everything the receiver got"
note "back: 1 resolution naming the 20; 2 notifications in all"
