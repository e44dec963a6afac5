#!/usr/bin/env bash
# Registration reaches the schedule after commit and fast; a rolled-back
# registration never does; changes, disabling and deletion follow.
. "$(dirname "$0")/lib.sh"

trap 'cleanup_listeners; q "DELETE FROM camera_health.cameras WHERE ip_address << '"'"'127.0.30.0/24'"'"'" >/dev/null || true' EXIT
listen 18600 127.0.30.1 127.0.30.2

members() { # camera id: its schedule members, ip port vision
	local m
	for s in ip port vision; do
		m=$(rcli ZRANGE schedule:$s 0 -1 | grep "^$1:" || true)
		printf '%s ' "${m:--}"
	done
}

# a rolled-back registration is never scheduled
rolled_back=$(psql -XAtq -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SELECT id FROM camera_health.register_camera('127.0.30.9', 18600, interval_ip => 1);
ROLLBACK;
SQL
)
# a committed one is, within a second
start=$(date +%s%N)
id=$(q "SELECT id FROM camera_health.register_camera('127.0.30.1', 18600, 'rtsp://127.0.30.1:18600/live', interval_ip => 1, interval_port => 2, interval_vision => 3)")
while [ -z "$(rcli ZSCORE schedule:ip "$id:1000")" ]; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ] || fail "camera $id not scheduled within 1 s of its commit"
	sleep 0.01
done
note "committed camera scheduled $(( ($(date +%s%N) - start) / 1000000 )) ms after the commit"
assert_eq "$(members "$id")" "$id:1000 $id:2000 $id:3000 " "schedule members"
assert_eq "$(rcli HGET camera:$id ip) $(rcli HGET camera:$id port)" "127.0.30.1 18600" "camera hash"
sleep 2
assert_eq "$(rcli EXISTS camera:$rolled_back)" "0" "camera hash of the rolled-back registration"
assert_eq "$(members "$rolled_back")" "- - - " "schedule of the rolled-back registration"
note "rolled-back registration $rolled_back: never scheduled"

wait_for 10 "first ip and port logs" \
	"SELECT count(DISTINCT check_type) = 2 FROM camera_health.health_logs WHERE camera_id = $id AND check_type IN ('ip', 'port')"

# a change of interval or address reaches Redis at once
q "SELECT camera_health.update_camera($id, ip_address => '127.0.30.2', interval_port => 5, rtsp_url => '')" >/dev/null
sleep 0.5
assert_eq "$(members "$id")" "$id:1000 $id:5000 - " "members after the update"
assert_eq "$(rcli HGET camera:$id ip)" "127.0.30.2" "address after the update"
wait_for 10 "checks of the new address" \
	"SELECT count(*) > 0 FROM camera_health.health_logs WHERE camera_id = $id AND metadata ->> 'address' = '127.0.30.2'"

# disabled: out of the schedule, no more logs
q "SELECT camera_health.set_camera_enabled($id, false)" >/dev/null
sleep 0.5
assert_eq "$(members "$id")" "- - - " "members of a disabled camera"
assert_eq "$(rcli EXISTS camera:$id)" "0" "camera hash of a disabled camera"
sleep 1.5     # results in flight when it was disabled are dropped too
n=$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = $id")
sleep 2.5
assert_eq "$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = $id")" "$n" "logs of a disabled camera"
note "disabled camera: unscheduled, no new logs"

# enabled again: back at once; deleted: gone
q "SELECT camera_health.set_camera_enabled($id, true)" >/dev/null
wait_for 5 "checks after re-enabling" "SELECT count(*) > $n FROM camera_health.health_logs WHERE camera_id = $id"
q "SELECT camera_health.delete_camera($id)" >/dev/null
sleep 0.5
assert_eq "$(members "$id")" "- - - " "members of a deleted camera"
assert_eq "$(rcli EXISTS camera:$id)" "0" "camera hash of a deleted camera"
sleep 3
assert_eq "$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = $id")" "0" "logs of a deleted camera"
note "re-enabled camera checked again; deleted camera unscheduled, no logs"
