#!/usr/bin/env bash
# Day and night (issue 11), end to end against the real RTSP server: a
# camera takes its colour (day) reference from vtest.mp4, then switches to
# infrared (the same scene greyed, darker and noisy, made with ffmpeg here)
# and raises nothing: its first infrared frame becomes its ir reference
# (camera_references and Redis reference:{id}:ir), later infrared frames are
# judged against that one, all ok.  Back in colour it is judged against the
# day reference again, which was never touched.  At night the analysis
# still works: an infrared picture out of focus raises blur against the ir
# reference.  reset_reference() drops both references, in the database and
# in Redis.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
DIR="$STACK_DIR/daynight"
mkdir -p "$DIR"
RTSP_PORT=$(free_port)
PIDS=()
VISION_ALERTS="alert_type IN ('stream_unavailable', 'blur', 'obstruction', 'displacement', 'frozen')"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name = 'daynight'" >/dev/null || true
}
trap cleanup EXIT

# the infrared picture of an IR-switching camera: grey, darker, noisy (the
# noise changes every frame); the same 3 s later (people moved, other
# noise: every RTSP session plays its clip from the start, so frames judged
# against a reference must come from another clip than the reference); and
# out of focus.  Encoded as the clips of test/data are (H.264, a keyframe
# every 10 frames).
IR_FILTER="hue=s=0,eq=brightness=-0.1,noise=alls=20:allf=t"
encode() { # output start filter
	ffmpeg -v error -y -ss "$2" -i "$CLIPS/vtest.mp4" -vf "$3" -c:v libx264 -preset veryfast -crf 26 -g 10 \
		-pix_fmt yuv420p -an "$1" || fail "ffmpeg could not make $1"
}
encode "$DIR/ir.mp4" 0 "$IR_FILTER"
encode "$DIR/ir-later.mp4" 3 "$IR_FILTER:all_seed=4242"
encode "$DIR/ir-blurred.mp4" 1 "gblur=sigma=6,$IR_FILTER"
encode "$DIR/day-later.mp4" 3 "null"

ln -sfn "$CLIPS/vtest.mp4" "$DIR/cam"
"$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$DIR" >"$STACK_DIR/rtsp_daynight.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	grep -q ready "$STACK_DIR/rtsp_daynight.log" && break
	sleep 0.1
done
grep -q ready "$STACK_DIR/rtsp_daynight.log" || fail "rtsp_server did not start: $(cat "$STACK_DIR/rtsp_daynight.log")"
VISIONPROC_REDIS_URL="$REDIS_URL" "$ROOT/visionproc/visionproc" --workers 2 --grab-timeout 4000 \
	--io-timeout 2000 2>"$STACK_DIR/visionproc_daynight.log" &
VISIONPROC=$!
PIDS+=("$VISIONPROC")

cam=$(q "SELECT id FROM camera_health.register_camera('127.0.0.1', $RTSP_PORT, 'rtsp://127.0.0.1:$RTSP_PORT/cam', interval_ip => 60, interval_port => 60, interval_vision => 4, name => 'daynight')")
LOGS="FROM camera_health.health_logs WHERE camera_id = $cam AND check_type = 'vision'"

# vision_logs_since ID MODE N: are there N vision logs after log ID, all of MODE?
vision_logs_since() {
	echo "SELECT count(*) >= $3 AND bool_and(metadata ->> 'mode' = '$2') $LOGS AND id > $1"
}
last_log() {
	q "SELECT coalesce(max(id), 0) $LOGS"
}
# wait_redis TIMEOUT_S WANT KEY...: until EXISTS KEY... says WANT
wait_redis() {
	local timeout=$1 want=$2 deadline=$((SECONDS + $1))
	shift 2
	while [ $SECONDS -lt $deadline ]; do
		[ "$(rcli EXISTS "$@")" = "$want" ] && return 0
		sleep 0.1
	done
	fail "timed out after ${timeout}s waiting for EXISTS $* to be $want in Redis"
}

# ---- day: the colour reference ----------------------------------------------

wait_for 60 "the day reference" \
	"SELECT count(*) = 1 FROM camera_health.camera_references WHERE camera_id = $cam AND mode = 'day'"
day_md5=$(q "SELECT md5(image) FROM camera_health.camera_references WHERE camera_id = $cam AND mode = 'day'")
assert_eq "$(q "SELECT string_agg(status || ' ' || (metadata ->> 'mode') || ' ' || (metadata -> 'reference' ->> 'taken'), ',') $LOGS")" \
	"ok day true" "the first check of the camera"
wait_redis 10 1 "reference:$cam"
note "day reference taken (chroma $(q "SELECT round((metadata ->> 'chroma')::numeric, 1) $LOGS ORDER BY id LIMIT 1"))"

# ---- night: the camera switches to infrared ---------------------------------

since=$(last_log)
ln -sfn "$DIR/ir.mp4" "$DIR/cam"
wait_for 60 "the ir reference" \
	"SELECT count(*) = 1 FROM camera_health.camera_references WHERE camera_id = $cam AND mode = 'ir'"
taken=$(q "SELECT id $LOGS AND metadata -> 'reference' ->> 'taken' = 'true' AND metadata ->> 'mode' = 'ir'")
[ -n "$taken" ] || fail "no vision log says an ir reference was taken"
assert_eq "$(q "SELECT status || ' | ' || (metadata ->> 'message') || ' | ' || (metadata -> 'reference' ->> 'mode') $LOGS AND id = $taken")" \
	"ok | a new ir reference frame was taken | ir" "the check that took the ir reference"
wait_redis 10 1 "reference:$cam:ir"
# later infrared frames, other noise: at least two of the three checks see them
ln -sfn "$DIR/ir-later.mp4" "$DIR/cam"
later=$(last_log)
wait_for 60 "three infrared checks against the ir reference" "$(vision_logs_since "$later" ir 3)"
assert_eq "$(q "SELECT string_agg(DISTINCT status || ' ' || (metadata ->> 'mode') || ' ' || coalesce(metadata -> 'reference' ->> 'taken', '-'), ',') $LOGS AND id > $taken")" \
	"ok ir -" "infrared checks after the ir reference"
assert_eq "$(q "SELECT string_agg(DISTINCT status, ',') $LOGS AND id > $since")" "ok" "vision statuses since the switch to infrared"
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE camera_id = $cam AND $VISION_ALERTS")" "0" \
	"alerts since the switch to infrared"
got=$(q "SELECT format('sharpness >= %s, covered <= %s, shift <= %s, chroma <= %s',
	min((metadata -> 'blur' ->> 'sharpness')::numeric), max((metadata -> 'obstruction' ->> 'covered')::numeric),
	max((metadata -> 'displacement' ->> 'shift')::numeric), round(max((metadata ->> 'chroma')::numeric), 1))
	$LOGS AND id > $later")
note "infrared, judged against the ir reference: all ok ($got)"
assert_eq "$(q "SELECT md5(image) FROM camera_health.camera_references WHERE camera_id = $cam AND mode = 'day'")" \
	"$day_md5" "the day reference after the night"

# ---- day again: judged against the day reference ----------------------------

since=$(last_log)
ln -sfn "$DIR/day-later.mp4" "$DIR/cam"
# the check running at the switch may still see infrared
wait_for 60 "two colour checks" \
	"SELECT count(*) >= 2 $LOGS AND id > $since AND metadata ->> 'mode' = 'day'"
assert_eq "$(q "SELECT string_agg(DISTINCT status || ' ' || coalesce(metadata -> 'reference' ->> 'taken', '-'), ',') $LOGS AND id > $since AND metadata ->> 'mode' = 'day'")" \
	"ok -" "colour checks after the night (judged against the day reference, none taken)"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_references WHERE camera_id = $cam")" "2" \
	"references of the camera: day and ir"
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE camera_id = $cam AND $VISION_ALERTS")" "0" \
	"alerts after the return to colour"
note "back in colour: judged against the day reference, ok"

# ---- night, out of focus: blur against the ir reference ----------------------

ln -sfn "$DIR/ir-blurred.mp4" "$DIR/cam"
wait_for 60 "a blur alert at night" \
	"SELECT count(*) = 1 FROM camera_health.alerts WHERE camera_id = $cam AND alert_type = 'blur' AND resolved_at IS NULL"
note "infrared out of focus: $(q "SELECT metadata -> 'blur' ->> 'message' $LOGS AND metadata ->> 'mode' = 'ir' AND status <> 'ok' ORDER BY id DESC LIMIT 1")"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_references WHERE camera_id = $cam")" "2" \
	"no reference taken from the blurred infrared frames"

# ---- reset_reference drops both ------------------------------------------------

# visionproc stops first: it would take new references at once
kill -TERM "$VISIONPROC"
wait "$VISIONPROC" || fail "visionproc exited with $?"
assert_eq "$(q "SELECT camera_health.reset_reference($cam)")" "t" "reset_reference()"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_references WHERE camera_id = $cam")" "0" \
	"references after reset_reference()"
wait_redis 10 0 "reference:$cam" "reference:$cam:ir"
note "reset_reference() dropped the day and ir references, in PostgreSQL and Redis"
