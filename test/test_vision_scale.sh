#!/usr/bin/env bash
# Vision with many grabs in flight per worker (issue 11):
#  (a) streams that accept and then hang, among 50 healthy ones, hold only
#      their own grab slots, for at most the grab timeout: no healthy
#      camera's check starts later than the grab timeout after it was due,
#      and every one keeps being checked;
#  (b) SIGKILL of a worker with many tasks in flight loses none of them:
#      each is claimed again by a worker and gets its result.
# visionproc runs with its default sizing (workers and grabs per worker
# from the cores and memory), a shorter grab timeout and claim idle time.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
GRAB_TIMEOUT=3000
HEALTHY=50
HANGING=4
INTERVAL=10
DIR="$STACK_DIR/scale"
mkdir -p "$DIR"
RTSP_PORT=$(free_port)
HANG_PORT=$(free_port)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'scale %'" >/dev/null || true
}
trap cleanup EXIT

for i in $(seq $HEALTHY); do ln -sfn "$CLIPS/vtest.mp4" "$DIR/cam$i"; done
start_bg "$STACK_DIR/scale-rtsp.log" "$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$DIR"
start_bg "$STACK_DIR/scale-hang.log" python3 "$ROOT/test/rtsp_hang.py" "$HANG_PORT"
VISIONPROC_REDIS_URL="$REDIS_URL" "$ROOT/visionproc/visionproc" --grab-timeout $GRAB_TIMEOUT \
	--io-timeout 2000 --claim-idle 4000 2>"$STACK_DIR/scale-visionproc.log" &
VISIONPROC=$!
PIDS+=("$VISIONPROC")
for _ in $(seq 100); do grep -q "grabs in flight each" "$STACK_DIR/scale-visionproc.log" && break; sleep 0.1; done
grep -q "grabs in flight each" "$STACK_DIR/scale-visionproc.log" || fail "visionproc did not log its sizing"
note "$(grep -m1 'grabs in flight each' "$STACK_DIR/scale-visionproc.log" | sed 's/^.*]: //')"

# healthy cameras are added over one interval, so that their checks are spread
for s in $(seq 0 $((INTERVAL - 1))); do
	q "SELECT count(camera_health.register_camera('127.0.0.1', $RTSP_PORT, format('rtsp://127.0.0.1:$RTSP_PORT/cam%s', i),
		interval_ip => 3600, interval_port => 3600, interval_vision => $INTERVAL, name => 'scale healthy ' || i))
		FROM generate_series(1, $HEALTHY) i WHERE i % $INTERVAL = $s" >/dev/null
	[ "$s" -ne 0 ] || q "SELECT count(camera_health.register_camera('127.0.0.1', $HANG_PORT, format('rtsp://127.0.0.1:$HANG_PORT/hang%s', i),
		interval_ip => 3600, interval_port => 3600, interval_vision => $INTERVAL, name => 'scale hanging ' || i))
		FROM generate_series(1, $HANGING) i" >/dev/null
	sleep 1
done

# ---- (a) hanging streams among healthy ones ---------------------------------
sleep $((2 * INTERVAL))
t0=$(q "SELECT now()")
sleep $((3 * INTERVAL))
t1=$(q "SELECT now()")
sleep 3
WINDOW="l.created_at >= '$t0' AND l.created_at < '$t1' AND l.check_type = 'vision'"
got=$(q "SELECT count(*), count(DISTINCT camera_id), max((metadata ->> 'lateness_ms')::int),
	percentile_disc(0.5) WITHIN GROUP (ORDER BY (metadata ->> 'lateness_ms')::int),
	string_agg(DISTINCT status, ',')
	FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	WHERE $WINDOW AND c.name LIKE 'scale healthy %'")
IFS='|' read -r checks cams late_max late_p50 statuses <<<"$got"
assert_eq "$cams" "$HEALTHY" "healthy cameras checked in the window"
[ "$checks" -ge $((HEALTHY * 3 * 8 / 10)) ] || fail "only $checks checks of $HEALTHY healthy cameras in $((3 * INTERVAL)) s"
[ "$late_max" -lt "$GRAB_TIMEOUT" ] || fail "a healthy camera's check started $late_max ms late (grab timeout $GRAB_TIMEOUT ms)"
assert_eq "$statuses" "ok" "statuses of the healthy cameras"
got=$(q "SELECT count(*), count(DISTINCT camera_id), max((metadata ->> 'duration_ms')::int), string_agg(DISTINCT metadata ->> 'error', ',')
	FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	WHERE $WINDOW AND c.name LIKE 'scale hanging %' AND l.status = 'error'")
IFS='|' read -r hchecks hcams hmax herror <<<"$got"
assert_eq "$hcams" "$HANGING" "hanging cameras with errors in the window"
[ "$hmax" -le $((GRAB_TIMEOUT + 1000)) ] || fail "a hanging stream held its slot $hmax ms (grab timeout $GRAB_TIMEOUT ms)"
note "(a) $HANGING hanging streams among $HEALTHY healthy ones, $((3 * INTERVAL)) s: $checks healthy checks, all ok, lateness p50 $late_p50 ms, max $late_max ms (grab timeout $GRAB_TIMEOUT ms); $hchecks hanging checks, each at most $hmax ms: $herror"

# ---- (b) SIGKILL of a worker with many tasks in flight -----------------------
# the worker with the most tasks pending, once it has at least five
victim=""
for _ in $(seq 200); do
	victim=$(rcli XPENDING queue:vision visionproc | awk 'NR > 3 && NR % 2 == 0 {c = $0} NR > 3 && NR % 2 == 1 && $0 + 0 >= 5 {print c, $0}' | sort -k2 -nr | head -1)
	[ -n "$victim" ] && break
	sleep 0.05
done
[ -n "$victim" ] || fail "no worker with five vision tasks in flight"
worker=${victim% *}
kill -9 "${worker##*-}"
# what the dead consumer still holds is what it had in flight when it died
mapfile -t tasks < <(rcli XPENDING queue:vision visionproc - + 1000 "$worker" | paste - - - - | awk '{print $1}')
[ "${#tasks[@]}" -ge 3 ] || fail "the killed worker held only ${#tasks[@]} tasks"
note "(b) killed worker ${worker##*-} (SIGKILL) with ${#tasks[@]} tasks in flight"
list=$(printf "'%s'," "${tasks[@]}")
wait_for 40 "all ${#tasks[@]} tasks of the killed worker finished by others" \
	"SELECT count(DISTINCT metadata ->> 'task_id') = ${#tasks[@]} FROM camera_health.health_logs
	 WHERE metadata ->> 'task_id' IN (${list%,}) AND (metadata ->> 'claimed')::boolean"
grep -q "killed by signal 9" "$STACK_DIR/scale-visionproc.log" || fail "the supervisor did not notice the killed worker"
note "(b) all ${#tasks[@]} were claimed again and finished: $(q "SELECT string_agg(DISTINCT status, ',') FROM camera_health.health_logs WHERE metadata ->> 'task_id' IN (${list%,})")"

kill -TERM "$VISIONPROC"
wait "$VISIONPROC" || fail "visionproc exit code $?"
