#!/usr/bin/env bash
# visionproc against hostile input, on a redis-server of its own (with a
# password) into which the test writes vision tasks directly, and a small
# HTTP server on 127.0.0.1:
#  (a) a "snapshot" that is an HLS playlist naming a local file: an error,
#      the file is never opened (strace), no reference is taken from it;
#      neither is it when the playlist is a local file `visionproc analyze`
#      reads;
#  (b) a 250 KB PNG of 16000x16000 pixels: refused before decoding, the
#      worker's peak memory stays small and it goes on working;
#  (c) tasks with file:, concat:, pipe:, subfile: URLs are refused (nothing
#      opened), an over-long URL and a non-numeric camera id are dropped;
#      the next good task is done;
#  (d) the Redis password given with --redis is not in /proc/PID/cmdline of
#      visionproc or its worker;
#  (e) a malformed reference:{id} is replaced by a valid one;
#  (f) SIGTERM stops the supervisor promptly while its workers are killed
#      and restarted around it, again and again;
#  (g) a worker whose fork failed (a process limit) is started once the
#      limit allows it;
#  (h) a worker that reaches its address-space limit (--max-memory) fails
#      that task and goes on; --allow-files lets a task name a local file
#      (refused without it, in (c));
#  (j) an RTSP stream whose frames are larger than --max-pixels: refused
#      before they are decoded;
#  (k) a task whose worker dies each time it runs it is given up after
#      three runs (an error result, stage "abandoned"), not run forever;
#  (i) built with AddressSanitizer, against a "Redis" that hangs up after
#      each command: no use of the connection's error text after it is
#      freed (the outage is logged with a readable reason).
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VISIONPROC=${VISIONPROC:-$ROOT/visionproc/visionproc}  # another build: to check the test against old code
HELPER=$ROOT/test/vision_hostile.py
DIR="$STACK_DIR/hostile"
mkdir -p "$DIR/redis" "$DIR/www"
PW="Hostile-Pw-$RANDOM$RANDOM"
RPORT=$(free_port)
HPORT=$(free_port)
export REDISCLI_AUTH=$PW
PIDS=()

cleanup() {
	local p
	{
		for p in "${PIDS[@]}"; do pkill -9 -P "$p" || true; done
		for p in "${PIDS[@]}"; do kill -9 "$p" || true; done
		wait || true
	} 2>/dev/null
	redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT

r() { redis-cli -p "$RPORT" "$@"; }

redis-server --port "$RPORT" --bind 127.0.0.1 --requirepass "$PW" --save '' --appendonly no \
	--daemonize yes --dir "$DIR/redis" --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log"
for i in $(seq 50); do [ "$(r ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(r ping)" = PONG ] || fail "own redis-server did not start"
r XGROUP CREATE queue:vision visionproc '$' MKSTREAM >/dev/null

# fixtures: a good scene, a huge PNG, a local "secret" video, a playlist naming it
python3 "$HELPER" images "$DIR/www"
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240:rate=1 -frames:v 2 -c:v mpeg2video "$DIR/secret.ts"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://%s\n#EXT-X-ENDLIST\n' \
	"$DIR/secret.ts" >"$DIR/www/hls.jpg"
python3 "$HELPER" serve "$HPORT" "$DIR/www" >"$DIR/http.log" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do grep -q ready "$DIR/http.log" && break; sleep 0.1; done
grep -q ready "$DIR/http.log" || fail "HTTP server did not start: $(cat "$DIR/http.log")"

# wait_log FILE PATTERN TIMEOUT_S
wait_log() {
	local i
	for i in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	fail "timed out waiting for '$2' in $1: $(tail -5 "$1")"
}

# children PID: the worker pids of a supervisor
children() { pgrep -P "$1" || true; }

task() { # camera_id url: XADD a task, print its id
	r XADD queue:vision '*' camera_id "$1" url "$2" due_ms "$(($(date +%s%N) / 1000000))" interval_ms 60000
}

result() { # task id: "status stage ref error..." of its result
	python3 "$HELPER" result "$RPORT" "$PW" "$1" "${2:-20}"
}

# ---- visionproc under strace: every file it opens is seen ----------------
strace -f -qq -e trace=open,openat,openat2 -o "$DIR/strace.log" \
	"$VISIONPROC" --redis "redis://:$PW@127.0.0.1:$RPORT/0" --workers 1 --grab-timeout 4000 \
	--io-timeout 2000 2>"$DIR/visionproc.log" &
PIDS+=($!)
wait_log "$DIR/visionproc.log" "started 1 workers" 20
VP=$(pgrep -P "${PIDS[-1]}" -x visionproc)
PIDS=("$VP" "${PIDS[@]}")
worker=$(children "$VP")
[ -n "$worker" ] || fail "no worker"

# (d) the password is not on any command line
for p in $VP $worker; do
	! tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$PW" || fail "the Redis password is in /proc/$p/cmdline"
done
grep -q "password given with --redis .* is now hidden" "$DIR/visionproc.log" || fail "the log does not say the password was hidden"
! grep -qF "$PW" "$DIR/visionproc.log" || fail "the log holds the password"
note "(d) cmdline of visionproc: $(tr '\0' ' ' <"/proc/$VP/cmdline" | tr -s ' ')"

# (a) an HLS playlist for a snapshot
got=$(result "$(task 11 "http://127.0.0.1:$HPORT/hls.jpg")")
case "$got" in "error decode - "*) ;; *) fail "(a) HLS snapshot: $got" ;; esac
assert_eq "$(python3 "$HELPER" grey "$RPORT" "$PW" reference:11)" "none" "(a) reference of the HLS camera"
note "(a) HLS snapshot: $got"
# ... and as a local file given to `visionproc analyze`: the playlist is not
# followed (a demuxer never opens anything but its input)
if strace -f -qq -e trace=open,openat,openat2 -o "$DIR/strace-analyze.log" \
	"$VISIONPROC" analyze --reference "$DIR/www/hls.jpg" "$DIR/www/good.png" >"$DIR/analyze.out" 2>&1; then
	fail "(a) analyze decoded a playlist: $(head -c 300 "$DIR/analyze.out")"
fi
! grep -qF "secret.ts" "$DIR/strace-analyze.log" || fail "(a) analyze followed the playlist to $(grep -F secret.ts "$DIR/strace-analyze.log" | head -1)"
note "(a) analyze of the playlist: $(head -1 "$DIR/analyze.out")"

# (b) a small PNG of 16000x16000 pixels
base=$(awk '/VmHWM/ {print $2}' "/proc/$worker/status")
got=$(result "$(task 12 "http://127.0.0.1:$HPORT/big.png")")
case "$got" in "error decode - "*"more than the limit"*) ;; *) fail "(b) huge PNG: $got" ;; esac
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$worker/status")
[ "$hwm" -lt $((base + 20000)) ] || fail "(b) the worker's peak memory grew from $base kB to $hwm kB"
note "(b) $(stat -c %s "$DIR/www/big.png")-byte PNG: $got; worker VmHWM $base kB before, $hwm kB after"

# (c) URLs that are not camera URLs, malformed tasks, then a good one
declare -A bad=([21]="file://$DIR/secret.ts" [22]="concat:$DIR/secret.ts|$DIR/secret.ts"
	[23]="pipe:0" [24]="subfile:,,start,0,end,0,,:$DIR/secret.ts" [28]="$DIR/secret.ts")
for c in 21 22 23 24 28; do
	got=$(result "$(task $c "${bad[$c]}")")
	case "$got" in "error refused - refused URL:"*) ;; *) fail "(c) task with ${bad[$c]}: $got" ;; esac
	assert_eq "$(python3 "$HELPER" grey "$RPORT" "$PW" reference:$c)" "none" "(c) reference of camera $c"
done
long=$(task 25 "rtsp://127.0.0.1/$(head -c 3000 /dev/zero | tr '\0' a)")
abc=$(task abc "http://127.0.0.1:$HPORT/good.png")
got=$(result "$(task 26 "http://127.0.0.1:$HPORT/good.png")")
case "$got" in "ok - 320x240 -"* | "warning - 320x240 -"*) ;; *) fail "(c) good task after the bad ones: $got" ;; esac
assert_eq "$(python3 "$HELPER" grey "$RPORT" "$PW" reference:26)" "320x240" "(c) reference of the good camera"
assert_eq "$(result "$long" 0)" "none" "(c) result of the over-long URL"
assert_eq "$(result "$abc" 0)" "none" "(c) result of camera id 'abc'"
assert_eq "$(r XLEN queue:vision)" "0" "(c) tasks left in the queue"
assert_eq "$(r XPENDING queue:vision visionproc | head -1)" "0" "(c) tasks left pending"
assert_eq "$(children "$VP")" "$worker" "(c) the worker that did all this"
note "(c) file:, concat:, pipe:, subfile: and a bare path (no --allow-files) refused; over-long URL and id 'abc' dropped; then: $got"

# (e) a malformed reference is replaced
r SET reference:27 "$(printf 'GREY 2 2\nab')" >/dev/null
got=$(result "$(task 27 "http://127.0.0.1:$HPORT/good.png")")
case "$got" in "ok - 320x240 -"* | "warning - 320x240 -"*) ;; *) fail "(e) check with a malformed reference: $got" ;; esac
assert_eq "$(python3 "$HELPER" grey "$RPORT" "$PW" reference:27)" "320x240" "(e) reference:27 after the check"
grep -q "reference:27 in Redis is malformed" "$DIR/visionproc.log" || fail "(e) the malformed reference was not logged"
note "(e) malformed reference:27 replaced: $got"

# (l) a password holding '#', '?' and '/' reaches the camera's own host:
# FFmpeg and libcurl are given the userinfo percent-encoded
got=$(result "$(task 28 "http://cam:p#w?d/x@127.0.0.1:$HPORT/good.png")")
case "$got" in "ok - 320x240 -"* | "warning - 320x240 -"*) ;; *) fail "(l) snapshot behind a password with # ? /: $got" ;; esac
! grep -qF 'p#w?d/x' "$DIR/visionproc.log" || fail "(l) the log holds the password"
note "(l) password with # ? / in the snapshot URL: $got"

# nothing of the test's own files was ever opened by visionproc
if grep -F "$DIR/" "$DIR/strace.log" | grep -v ENOENT | grep -q .; then
	fail "visionproc opened: $(grep -F "$DIR/" "$DIR/strace.log" | head -3)"
fi
note "strace: none of the test's files was opened by visionproc"

kill -TERM "$VP"
for i in $(seq 100); do kill -0 "$VP" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$VP" 2>/dev/null || fail "visionproc did not stop on SIGTERM"

# ---- (f) SIGTERM while workers die and are restarted ----------------------
printf 'redis://:%s@127.0.0.1:%s/0\n' "$PW" "$RPORT" >"$DIR/redis.url"
for round in 1 2 3 4 5; do
	"$VISIONPROC" --redis-url-file "$DIR/redis.url" --workers 2 2>"$DIR/stress.log" &
	vp=$!
	PIDS+=("$vp")
	wait_log "$DIR/stress.log" "started 2 workers" 20
	for i in $(seq 20); do
		for p in $(children "$vp"); do kill -9 "$p" 2>/dev/null || true; done
		kill -TERM "$vp" 2>/dev/null || true
		sleep 0.0$((i % 5))
	done
	start=$(date +%s%N)
	for i in $(seq 100); do kill -0 "$vp" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$vp" 2>/dev/null && fail "(f) round $round: the supervisor ignored 20 SIGTERMs: $(tail -3 "$DIR/stress.log")"
	wait "$vp" || fail "(f) round $round: exit code $?"
	[ -z "$(pgrep -f -- "--redis-url-file $DIR/redis.url" || true)" ] || fail "(f) round $round: workers left running"
done
note "(f) 5 rounds of 20 SIGTERMs while killing workers: the supervisor stopped each time, in $((($(date +%s%N) - start) / 1000000)) ms after the last one"

# ---- (h) the address-space limit, and local files for tests ---------------
"$VISIONPROC" --redis-url-file "$DIR/redis.url" --workers 1 --max-memory 384 --max-pixels 268435456 \
	--allow-files 2>"$DIR/limits.log" &
vp=$!
PIDS+=("$vp")
wait_log "$DIR/limits.log" "started 1 workers" 20
worker=$(children "$vp")
got=$(result "$(task 41 "http://127.0.0.1:$HPORT/rgba8k.png")")
case "$got" in "error decode - "*) ;; *) fail "(h) 8000x8000 RGBA PNG under a 384 MB limit: $got" ;; esac
assert_eq "$(children "$vp")" "$worker" "(h) the worker after it hit its memory limit"
vmpeak=$(awk '/VmPeak/ {print $2}' "/proc/$worker/status")
[ "$vmpeak" -le $((384 * 1024)) ] || fail "(h) worker VmPeak $vmpeak kB over its 384 MB limit"
got2=$(result "$(task 42 "$DIR/secret.ts")")
case "$got2" in "ok - 320x240 -"* | "warning - 320x240 -"*) ;; *) fail "(h) a local file with --allow-files: $got2" ;; esac
note "(h) 256 MB picture under --max-memory 384: $got (worker VmPeak $vmpeak kB, still running); with --allow-files a local file: $got2"
kill -TERM "$vp"
wait "$vp" || fail "(h) exit code $?"

# ---- (j) an RTSP stream larger than --max-pixels -------------------------
mkdir -p "$DIR/mounts"
ln -sfn "$TESTDATA/clips/vtest.mp4" "$DIR/mounts/cam"
SPORT=$(free_port)
"$ROOT/test/bin/rtsp_server" --port "$SPORT" --dir "$DIR/mounts" >"$DIR/rtsp.log" 2>&1 &
PIDS+=("$!")
wait_log "$DIR/rtsp.log" ready 10
# 640x480 at most: the clip is 768x576
"$VISIONPROC" --redis-url-file "$DIR/redis.url" --workers 1 --max-pixels 307200 2>"$DIR/rtsp-limit.log" &
vp=$!
PIDS+=("$vp")
wait_log "$DIR/rtsp-limit.log" "started 1 workers" 20
got=$(result "$(task 51 "rtsp://127.0.0.1:$SPORT/cam")")
case "$got" in "error decode - the picture is 768x576, more than the limit of 307200 pixels"*) ;;
*) fail "(j) RTSP stream over --max-pixels: $got" ;; esac
note "(j) RTSP 768x576 under --max-pixels 307200: $got"
kill -TERM "$vp"
wait "$vp" || fail "(j) exit code $?"

# ---- (k) a task that kills its workers -------------------------------------
HANG=$(free_port)
python3 "$ROOT/test/rtsp_hang.py" "$HANG" >"$DIR/hang.log" 2>&1 &
PIDS+=("$!")
wait_log "$DIR/hang.log" ready 10
"$VISIONPROC" --redis-url-file "$DIR/redis.url" --workers 2 --claim-idle 1000 --grab-timeout 30000 \
	--io-timeout 30000 2>"$DIR/poison.log" &
vp=$!
PIDS+=("$vp")
wait_log "$DIR/poison.log" "started 2 workers" 20
poison=$(task 61 "rtsp://127.0.0.1:$HANG/live")
for run in 1 2 3; do
	holder=""
	for i in $(seq 100); do
		# id, consumer, idle ms, deliveries
		read -r _ consumer _ count < <(r XPENDING queue:vision visionproc - + 1 | paste - - - -) || true
		if [ "${count:-0}" = "$run" ] && kill -0 "${consumer##*-}" 2>/dev/null; then
			holder=${consumer##*-}
			break
		fi
		sleep 0.1
	done
	[ -n "$holder" ] || fail "(k) run $run of the task: not in progress ($(r XPENDING queue:vision visionproc - + 1 | paste -s))"
	kill -9 "$holder"
done
got=$(result "$poison" 20)
case "$got" in "error abandoned - given up: the task was run 3 times"*) ;; *) fail "(k) a task that kills its workers: $got" ;; esac
assert_eq "$(r XPENDING queue:vision visionproc | head -1)" "0" "(k) tasks left pending"
note "(k) worker killed on each of 3 runs: $got"
kill -TERM "$vp"
wait "$vp" || fail "(k) exit code $?"

# ---- (i) Redis hanging up, under AddressSanitizer --------------------------
SRC=${VISIONPROC_SRC:-$ROOT}  # another tree: to check the test against old code
ASAN_PKGS="libavformat libavcodec libavutil libswscale json-c libcurl hiredis"
# the shared modules visionproc links, as its Makefile lists them
common_srcs=()
for m in $(sed -n 's/^COMMON = //p' "$SRC/visionproc/Makefile"); do common_srcs+=("$SRC/common/$m.c"); done
# shellcheck disable=SC2046,SC2086
cc -fsanitize=address -fno-omit-frame-pointer -O1 -g -std=gnu11 -pthread -I"$SRC/visionproc" -I"$SRC/common" \
	$(pkg-config --cflags $ASAN_PKGS) "$SRC"/visionproc/*.c "${common_srcs[@]}" \
	-o "$DIR/visionproc-asan" $(pkg-config --libs $ASAN_PKGS) -lm
FPORT=$(free_port)
python3 "$HELPER" hangup "$FPORT" >"$DIR/hangup.log" 2>&1 &
PIDS+=("$!")
wait_log "$DIR/hangup.log" ready 10
# --max-memory 0: ASan reserves terabytes of address space for its shadow
ASAN_OPTIONS=detect_leaks=0 "$DIR/visionproc-asan" --redis "redis://127.0.0.1:$FPORT/0" --workers 1 --max-memory 0 \
	2>"$DIR/asan.log" &
vp=$!
PIDS+=("$vp")
wait_log "$DIR/asan.log" "is unavailable" 20
sleep 1
kill -TERM "$vp" 2>/dev/null || true
wait "$vp" || true
! grep -q "AddressSanitizer" "$DIR/asan.log" || fail "(i) $(grep -m1 -A3 "ERROR: AddressSanitizer" "$DIR/asan.log")"
grep -q "unavailable: Server closed the connection; retrying" "$DIR/asan.log" || fail "(i) the outage reason: $(grep -m1 unavailable "$DIR/asan.log")"
note "(i) ASan, Redis hanging up: $(grep -m1 -o 'Redis at .*' "$DIR/asan.log"), no AddressSanitizer report"

# ---- (g) fork failure: RLIMIT_NPROC of an unprivileged user ----------------
if ! command -v setpriv >/dev/null || [ "$(id -u)" -ne 0 ]; then
	note "(g) skipped: needs root and setpriv to run visionproc under a process limit"
	exit 0
fi
# RLIMIT_NPROC counts threads: a worker with one grab thread (--grabs 1) is
# two.  Four placeholder processes of nobody take the room of two workers.
before=$(pgrep -c -u nobody || true)
holders=()
for i in 1 2 3 4; do
	setpriv --reuid=65534 --regid=65534 --clear-groups -- sleep 600 &
	holders+=("$!")
	PIDS+=("$!")
done
for i in $(seq 50); do [ "$(pgrep -c -u nobody || true)" -ge $((before + 4)) ] && break; sleep 0.1; done
# room for the supervisor and one worker besides the placeholders
limit=$((before + 7))
VISIONPROC_REDIS_URL="redis://:$PW@127.0.0.1:$RPORT/0" prlimit --nproc="$limit:$limit" \
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VISIONPROC" --workers 3 --grabs 1 2>"$DIR/nproc.log" &
vp=$!
PIDS+=("$vp")
wait_log "$DIR/nproc.log" "cannot fork a worker" 20
n=$(children "$vp" | wc -l)
[ "$n" -lt 3 ] || fail "(g) $n workers under a limit of $limit processes"
kill "${holders[@]}"
for i in $(seq 50); do [ "$(children "$vp" | wc -l)" -eq 3 ] && break; sleep 0.1; done
assert_eq "$(children "$vp" | wc -l)" "3" "(g) workers once the process limit allows them"
note "(g) $n of 3 workers under RLIMIT_NPROC $limit ($(grep -c 'cannot fork' "$DIR/nproc.log") failed forks logged); all 3 once four other processes of the user ended"
kill -TERM "$vp"
wait "$vp" || fail "(g) exit code $?"
