#!/usr/bin/env bash
# Vision end to end, against a real RTSP server serving the clips of
# test/data: cameras whose reference is taken from vtest.mp4 and
# whose stream then becomes blurred, covered, shifted or frozen get the
# right vision logs and alerts; a still scene is not frozen; a dead URL and
# a server that accepts and then says nothing give stream errors within the
# grab timeout and hold up nothing else; a worker killed mid-task loses no
# task; SIGTERM stops visionproc cleanly.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
GRAB_TIMEOUT=4000
DIR="$STACK_DIR/mounts"
mkdir -p "$DIR"
RTSP_PORT=$(free_port)
HANG_PORT=$(free_port)
DEAD_PORT=$(free_port)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'vision %'" >/dev/null || true
}
trap cleanup EXIT

for m in blurred covered shifted frozen; do ln -sfn "$CLIPS/vtest.mp4" "$DIR/$m"; done
ln -sfn "$CLIPS/building.mp4" "$DIR/still"
start_bg "$STACK_DIR/rtsp.log" "$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$DIR"
start_bg "$STACK_DIR/hang.log" python3 "$ROOT/test/rtsp_hang.py" "$HANG_PORT"
VISIONPROC_REDIS_URL="$REDIS_URL" "$ROOT/visionproc/visionproc" --workers 4 --grab-timeout $GRAB_TIMEOUT \
	--io-timeout 2000 --claim-idle 5000 2>"$STACK_DIR/visionproc.log" &
VISIONPROC=$!
PIDS+=("$VISIONPROC")

register() { # name url
	q "SELECT id FROM camera_health.register_camera('127.0.0.1', $RTSP_PORT, '$2', interval_ip => 5, interval_port => 5, interval_vision => 4, name => 'vision $1')"
}
declare -A cam
for m in blurred covered shifted frozen still; do
	cam[$m]=$(register $m "rtsp://127.0.0.1:$RTSP_PORT/$m")
done
cam[dead]=$(register dead "rtsp://127.0.0.1:$DEAD_PORT/live")
cam[hang]=$(register hang "rtsp://127.0.0.1:$HANG_PORT/live")
VISION_ALERTS="alert_type IN ('stream_unavailable', 'blur', 'obstruction', 'displacement', 'frozen')"

# references are taken from the clean stream
wait_for 60 "reference frames of the five streams" \
	"SELECT count(*) = 5 FROM camera_health.camera_references WHERE camera_id IN (${cam[blurred]}, ${cam[covered]}, ${cam[shifted]}, ${cam[frozen]}, ${cam[still]})"
for m in blurred covered shifted frozen still; do
	[ "$(rcli EXISTS reference:${cam[$m]})" = 1 ] || fail "no reference:${cam[$m]} in Redis"
done
# each carries its focus map, taken from the stream at its own size (issue 11)
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_references WHERE
	(camera_id IN (${cam[blurred]}, ${cam[covered]}, ${cam[shifted]}, ${cam[frozen]})
	 AND position(convert_to('FOCUS 768 576 ', 'UTF8') IN image) > 0) OR
	(camera_id = ${cam[still]} AND position(convert_to('FOCUS 864 600 ', 'UTF8') IN image) > 0)")" 5 \
	"references stored with their focus map"
got=$(q "SELECT string_agg(DISTINCT format('%s %sx%s', metadata -> 'stream' ->> 'codec', metadata -> 'stream' ->> 'width', metadata -> 'stream' ->> 'height'), ',') FROM camera_health.health_logs WHERE camera_id = ${cam[blurred]} AND check_type = 'vision' AND status <> 'error'")
assert_eq "$got" "h264 768x576" "stream facts"
note "references taken; stream: $got, first frame after $(q "SELECT round(avg((metadata -> 'stream' ->> 'first_frame_ms')::numeric)) FROM camera_health.health_logs WHERE camera_id = ${cam[blurred]} AND check_type = 'vision' AND status <> 'error'") ms"

# the cameras go wrong
for m in blurred covered shifted frozen; do ln -sfn "$CLIPS/vtest-$m.mp4" "$DIR/$m"; done
declare -A expect=([blurred]=blur [covered]=obstruction [shifted]=displacement [frozen]=frozen)
for m in blurred covered shifted frozen; do
	wait_for 60 "${expect[$m]} alert of the $m camera" \
		"SELECT count(*) = 1 FROM camera_health.alerts WHERE camera_id = ${cam[$m]} AND alert_type = '${expect[$m]}' AND resolved_at IS NULL"
done
sleep 4
for m in blurred covered shifted frozen; do
	got=$(q "SELECT string_agg(alert_type || '/' || status, ',' ORDER BY alert_type) FROM camera_health.alerts WHERE camera_id = ${cam[$m]} AND $VISION_ALERTS")
	assert_eq "$got" "${expect[$m]}/open" "alerts of the $m camera"
	note "$m: $(q "SELECT metadata -> '${expect[$m]}' ->> 'message' FROM camera_health.health_logs WHERE camera_id = ${cam[$m]} AND check_type = 'vision' ORDER BY created_at DESC LIMIT 1")"
done

# the still scene is sharp, uncovered, in place and not frozen
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE camera_id = ${cam[still]} AND $VISION_ALERTS")" "0" "alerts of the still scene"
assert_eq "$(q "SELECT string_agg(DISTINCT status, ',') FROM camera_health.health_logs WHERE camera_id = ${cam[still]} AND check_type = 'vision'")" "ok" "vision statuses of the still scene"

# dead and hanging servers: errors, within the grab timeout
assert_eq "$(q "SELECT string_agg(DISTINCT status || ' ' || (metadata ->> 'stage'), ',') FROM camera_health.health_logs WHERE camera_id = ${cam[dead]} AND check_type = 'vision'")" "error connect" "dead URL"
got=$(q "SELECT count(*), max((metadata ->> 'duration_ms')::int) FROM camera_health.health_logs WHERE camera_id = ${cam[hang]} AND check_type = 'vision' AND status = 'error'")
[ "${got%|*}" -ge 2 ] || fail "too few checks of the hanging server: $got"
[ "${got#*|}" -le $((GRAB_TIMEOUT + 1500)) ] || fail "a hanging server held a worker ${got#*|} ms (timeout $GRAB_TIMEOUT ms)"
note "hanging server: ${got%|*} checks, each at most ${got#*|} ms (grab timeout $GRAB_TIMEOUT ms); $(q "SELECT metadata ->> 'error' FROM camera_health.health_logs WHERE camera_id = ${cam[hang]} AND check_type = 'vision' LIMIT 1")"
for m in dead hang; do
	assert_eq "$(q "SELECT string_agg(alert_type || '/' || status, ',') FROM camera_health.alerts WHERE camera_id = ${cam[$m]} AND $VISION_ALERTS")" "stream_unavailable/open" "alerts of the $m camera"
done
# ... while the other cameras kept being checked every 4 s or so
got=$(q "SELECT min(n) FROM (SELECT count(*) n FROM camera_health.health_logs WHERE camera_id IN (${cam[blurred]}, ${cam[covered]}, ${cam[shifted]}, ${cam[frozen]}, ${cam[still]}) AND check_type = 'vision' AND created_at > now() - interval '20 s' GROUP BY camera_id) x")
[ "${got:-0}" -ge 3 ] || fail "stream cameras checked only $got times in 20 s"
note "meanwhile every stream camera was checked at least $got times in 20 s"

# a worker killed mid-task: its task is taken over, not lost
victim=""
for _ in $(seq 100); do
	victim=$(rcli XPENDING queue:vision visionproc - + 10 | paste - - - - | awk 'NF >= 2 {print $1, $2}' | head -1)
	[ -n "$victim" ] && break
	sleep 0.1
done
[ -n "$victim" ] || fail "no vision task in progress to interrupt"
task=${victim% *}
worker=${victim#* }
kill -9 "${worker##*-}"
note "killed worker ${worker##*-} (SIGKILL) while it held task $task"
wait_for 30 "task $task finished by another worker" \
	"SELECT count(*) = 1 FROM camera_health.health_logs WHERE metadata ->> 'task_id' = '$task' AND (metadata ->> 'claimed')::boolean"
grep -q "killed by signal 9" "$STACK_DIR/visionproc.log" || fail "the supervisor did not notice the killed worker"
note "task $task was claimed again and finished by $(q "SELECT metadata ->> 'worker' FROM camera_health.health_logs WHERE metadata ->> 'task_id' = '$task'")"

# credentials never reach the logs
q "SELECT camera_health.update_camera(${cam[dead]}, rtsp_url => 'rtsp://admin:Sekr3t-pw@127.0.0.1:$DEAD_PORT/live')" >/dev/null
wait_for 20 "a check with credentials" "SELECT count(*) > 0 FROM camera_health.health_logs WHERE camera_id = ${cam[dead]} AND metadata ->> 'url' LIKE '%admin:***@%'"
! q "SELECT metadata::text FROM camera_health.health_logs WHERE camera_id = ${cam[dead]} UNION ALL SELECT message FROM camera_health.alerts WHERE camera_id = ${cam[dead]}" | grep -q Sekr3t || fail "a health log or alert holds the password"
! grep -q Sekr3t "$STACK_DIR/visionproc.log" || fail "visionproc's log holds the password"

# SIGTERM stops visionproc cleanly and promptly
start=$(date +%s%N)
kill -TERM "$VISIONPROC"
wait "$VISIONPROC"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "$rc" "0" "visionproc exit code after SIGTERM"
[ "$ms" -le $((GRAB_TIMEOUT + 3000)) ] || fail "visionproc took $ms ms to stop"
note "SIGTERM: visionproc stopped in $ms ms, exit code 0"
