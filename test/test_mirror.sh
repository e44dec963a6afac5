#!/usr/bin/env bash
# Reference frames reach Redis through the camera_references trigger (its
# camera id column is camera_id, not the first-column "id" of cameras), a
# deleted one leaves Redis, and a Redis flush brings them all back; and the
# scheduler never waits on Redis inside a transaction: with the workers
# talking to Redis through a link that holds every SET of a reference:{id}
# key for HOLD_S seconds, the scheduler, while it waits, has no transaction
# open and no snapshot (xact_start and backend_xmin NULL in pg_stat_activity).
. "$(dirname "$0")/lib.sh"

HOLD_S=1.2
PROXY_PORT=$(free_port)
MARKER="$STACK_DIR/slow_redis.$$.holding"
PROXY_PID=""

cleanup() {
	q "ALTER SYSTEM RESET camera_health.redis_url" >/dev/null || true
	q "SELECT pg_reload_conf()" >/dev/null || true
	[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true
	rm -f "$MARKER" "$MARKER.tmp"
	q "DELETE FROM camera_health.cameras WHERE ip_address << '127.0.74.0/24'" >/dev/null || true
}
trap cleanup EXIT

# grey image NAME W H: a valid reference image ("GREY W H\n" + W*H bytes)
grey_sql() {
	echo "convert_to('GREY $1 $2' || chr(10), 'UTF8') || decode(repeat('$3', $1 * $2), 'hex')"
}

# scheduler_txn: "xact_start IS NULL|backend_xmin IS NULL" of the scheduler
scheduler_txn() {
	q "SELECT (xact_start IS NULL) || '|' || (backend_xmin IS NULL) FROM pg_stat_activity
	   WHERE backend_type = 'camera_health scheduler'"
}

# while_held WHAT: wait until the link holds a reference SET, then sample the
# scheduler's transaction state three times while it waits
while_held() {
	local deadline=$((SECONDS + 20)) i got
	while [ ! -e "$MARKER" ]; do
		[ $SECONDS -lt $deadline ] || fail "$1: no SET of a reference reached the slow link"
		sleep 0.02
	done
	local n=0
	for i in 1 2 3; do
		got=$(scheduler_txn)
		# a sample counts only if the SET was still held when it was taken
		[ -e "$MARKER" ] || break
		assert_eq "$got" "true|true" "$1: scheduler waiting on Redis (sample $i): no transaction|no snapshot"
		n=$((n + 1))
		sleep 0.2
	done
	[ $n -gt 0 ] || fail "$1: the SET was released before the scheduler could be sampled (HOLD_S too short for this machine?)"
	note "$1: while Redis held the SET ($n samples), the scheduler had no transaction and no snapshot open"
}

fifo="$STACK_DIR/slow_redis.$$.fifo"
mkfifo "$fifo"
python3 "$(dirname "$0")/slow_redis.py" "$PROXY_PORT" "$REDIS_PORT" "$HOLD_S" "$MARKER" >"$fifo" &
PROXY_PID=$!
read -r line <"$fifo"
rm -f "$fifo"
[ "$line" = "ready" ] || fail "the slow link did not start"

ids=$(q "SELECT string_agg(id::text, ' ' ORDER BY id) FROM (
	SELECT (camera_health.register_camera(('127.0.74.' || i)::inet, 18740, 'rtsp://127.0.74.' || i || ':18740/live',
		interval_ip => 3600, interval_port => 3600, interval_vision => 3600)).id FROM generate_series(1, 3) i) x")
read -r a b c <<<"$ids"
note "cameras $a $b $c registered"

# every worker reconnects through the slow link
q "ALTER SYSTEM SET camera_health.redis_url = 'redis://127.0.0.1:$PROXY_PORT/0'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1

# a new reference: the trigger on camera_references tells the scheduler
q "INSERT INTO camera_health.camera_references (camera_id, image) VALUES ($a, $(grey_sql 4 4 aa))" >/dev/null
while_held "reference of camera $a"
deadline=$((SECONDS + 10))
until [ "$(rcli STRLEN "reference:$a")" = "25" ]; do
	[ $SECONDS -lt $deadline ] || fail "reference:$a not in Redis 10 s after its insert"
	sleep 0.1
done
assert_eq "$(rcli GET "reference:$a" | head -n 1)" "GREY 4 4" "reference:$a header in Redis"
note "the inserted reference of camera $a is in Redis"

# a deleted reference leaves Redis
q "DELETE FROM camera_health.camera_references WHERE camera_id = $a" >/dev/null
deadline=$((SECONDS + 10))
until [ "$(rcli EXISTS "reference:$a")" = "0" ]; do
	[ $SECONDS -lt $deadline ] || fail "reference:$a still in Redis 10 s after its delete"
	sleep 0.1
done
note "the deleted reference of camera $a left Redis"

# Redis loses its data: the full resync mirrors every reference again, a page
# at a time, each page read and committed before it is sent
q "INSERT INTO camera_health.camera_references (camera_id, image)
	VALUES ($a, $(grey_sql 4 4 01)), ($b, $(grey_sql 8 2 02)), ($c, $(grey_sql 2 8 03))" >/dev/null
while_held "references of cameras $a $b $c"
deadline=$((SECONDS + 15))
until [ "$(rcli EXISTS "reference:$a" "reference:$b" "reference:$c")" = "3" ]; do
	[ $SECONDS -lt $deadline ] || fail "references of $a $b $c not in Redis"
	sleep 0.1
done
while [ -e "$MARKER" ]; do sleep 0.1; done
rcli FLUSHALL >/dev/null
while_held "full mirror after FLUSHALL"
deadline=$((SECONDS + 20))
until [ "$(rcli EXISTS "reference:$a" "reference:$b" "reference:$c")" = "3" ]; do
	[ $SECONDS -lt $deadline ] || fail "references of $a $b $c not mirrored again after FLUSHALL"
	sleep 0.1
done
assert_eq "$(rcli GET "reference:$b" | head -n 1)" "GREY 8 2" "reference:$b header after the resync"
note "after FLUSHALL every reference was mirrored again"

# a reference per lighting mode (issue 11): reference:{id}:ir next to
# reference:{id}; dropping one mode leaves the other in Redis
while [ -e "$MARKER" ]; do sleep 0.1; done
q "INSERT INTO camera_health.camera_references (camera_id, mode, image) VALUES ($a, 'ir', $(grey_sql 4 4 0a))" >/dev/null
deadline=$((SECONDS + 15))
until [ "$(rcli STRLEN "reference:$a:ir")" = "25" ]; do
	[ $SECONDS -lt $deadline ] || fail "reference:$a:ir not in Redis 15 s after its insert"
	sleep 0.1
done
while [ -e "$MARKER" ]; do sleep 0.1; done
rcli FLUSHALL >/dev/null
deadline=$((SECONDS + 20))
until [ "$(rcli EXISTS "reference:$a" "reference:$a:ir" "reference:$b" "reference:$c")" = "4" ]; do
	[ $SECONDS -lt $deadline ] || fail "the day and ir references not mirrored again after FLUSHALL"
	sleep 0.1
done
q "DELETE FROM camera_health.camera_references WHERE camera_id = $a AND mode = 'ir'" >/dev/null
deadline=$((SECONDS + 15))
until [ "$(rcli EXISTS "reference:$a:ir")" = "0" ]; do
	[ $SECONDS -lt $deadline ] || fail "reference:$a:ir still in Redis 15 s after its delete"
	sleep 0.1
done
assert_eq "$(rcli EXISTS "reference:$a")" "1" "the day reference of camera $a after the ir one was dropped"
note "ir references are mirrored (reference:{id}:ir), after FLUSHALL too; dropping one mode leaves the other"
