#!/usr/bin/env bash
# Ctrl-C on `make run` and `make test`, once and twice in a row, and a test
# that hangs: nothing of the run may be left running afterwards, and its
# ports are free again.
#
# A terminal sends SIGINT to its whole foreground process group.  This test
# starts scripts/run.sh and scripts/test.sh in sessions of their own, with
# SIGINT at its default (a background job of a script would have it
# ignored), and sends SIGINT to the whole group with kill -INT -PGID, twice:
# the second while the shutdown is under way.  run.sh is interrupted while
# PostgreSQL starts (its pid file written, pg_ctl still waiting), and once
# it runs with every program of the demo (ports then free).  test.sh runs
# interrupt/test_hang, a test that hangs with children of its own (one of
# them ignoring SIGTERM); once with a 4 s TEST_TIMEOUT, once interrupted.
# Each run uses what make test built (SKIP_BUILD=1) and its own private
# cluster and redis-server.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
WORK=$(mktemp -d /tmp/camera_health_interrupt.XXXXXX)
LAUNCHED=()     # process groups of the runs started here
NESTED=()       # their stack directories

# Helpers of its own (not stack.sh's, which is under test here):
# alive PID: PID exists and is not a zombie
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

# kill_pid PID SECONDS: SIGTERM, SIGKILL after SECONDS
kill_pid() {
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq $(($2 * 10))); do
		alive "$1" || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

# procs_using DIR: processes whose command line names DIR or that run in it
# (DIR is a stack directory of this test: a unique temporary path)
procs_using() {
	local d c
	for d in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		if [[ "$c" == *"$1"* ]] || [[ "$(readlink "$d/cwd" 2>/dev/null)" == "$1"* ]]; then
			alive "${d#/proc/}" && echo "  ${d#/proc/} $c"
		fi
	done
}

# kill_group PGID: SIGKILL to the process group, reaping the leader
kill_group() {
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# Whatever a run left behind (on the old scripts, or when this test fails
# half-way): its process groups, the servers of its stack, the recorded pids.
cleanup() {
	trap '' INT TERM HUP
	local g d pid
	for g in "${LAUNCHED[@]}"; do kill_group "$g"; done
	for d in "${NESTED[@]}"; do
		[ -d "$d" ] || continue
		if [ -f "$d/pgdata/postmaster.pid" ]; then
			pid=$(head -1 "$d/pgdata/postmaster.pid")
			kill -QUIT "$pid" 2>/dev/null || true
			kill_pid "$pid" 10
		fi
		[ ! -f "$d/redis/redis.pid" ] || kill_pid "$(cat "$d/redis/redis.pid")" 5
		rm -rf "$d"
		procs_using "$d" | while read -r pid _; do kill_pid "$pid" 2; done
	done
	if [ -f "$WORK/recorded" ]; then
		while read -r pid _; do kill_pid "$pid" 2; done <"$WORK/recorded"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# launch LOG CMD...: CMD in a session of its own with SIGINT and SIGQUIT at
# their defaults, output to LOG; its pid (= its process group) in LAST_PID
launch() {
	local log=$1
	shift
	python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$log" 2>&1 </dev/null &
	LAST_PID=$!
	LAUNCHED+=("$LAST_PID")
}

# wait_log LOG TEXT SECONDS: until LOG holds TEXT
wait_log() {
	local deadline=$((SECONDS + $3))
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || fail "no '$2' after $3 s in $1: $(tail -n 20 "$1")"
		sleep 0.1
	done
}

# wait_exit PID SECONDS: until the launched run PID has exited; its status in RUN_RC
wait_exit() {
	local deadline=$((SECONDS + $2))
	while alive "$1"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
	RUN_RC=0
	wait "$1" || RUN_RC=$?
}

# record PID...: remember these processes and all their descendants, with
# their command lines (so that a reused pid is not taken for a survivor)
record() {
	local p c
	for p in "$@"; do
		[ -r "/proc/$p/cmdline" ] || continue
		! grep -q "^$p " "$WORK/recorded" 2>/dev/null || continue
		c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		[ -n "$c" ] && echo "$p $c" >>"$WORK/recorded"
		# shellcheck disable=SC2046 # pids, one word each
		record $(pgrep -P "$p")
	done
}

# survivors: the recorded processes still running with the same command line
survivors() {
	local pid cmd now
	while read -r pid cmd; do
		alive "$pid" || continue
		now=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
		[ "$now" = "$cmd " ] || [ "$now" = "$cmd" ] || continue
		echo "  $pid $cmd"
	done <"$WORK/recorded"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() {
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# check_clean WHAT DIR PORT...: nothing recorded survives, the ports are free,
# the stack directory is gone
check_clean() {
	local what=$1 dir=$2 left p
	shift 2
	sleep 0.5
	left=$(survivors)
	[ -z "$left" ] || fail "$what: still running afterwards:
$left"
	for p in "$@"; do
		port_free "$p" || fail "$what: port $p is still taken"
	done
	[ ! -d "$dir" ] || fail "$what: its stack directory $dir is still there"
	rm -f "$WORK/recorded"
}

# run_case N: scripts/run.sh, interrupted N times (the second during the shutdown)
run_case() {
	local n=$1 log="$WORK/run$1.log" pid stack pgport redisport rtspport p base token httpport
	launch "$log" env SKIP_BUILD=1 KEEP_STACK= scripts/run.sh
	pid=$LAST_PID
	wait_log "$log" "camera_health is running" 120
	stack=$(sed -n 's|.*psql -h \(/tmp/camera_health\.[A-Za-z0-9]*\)/run -p.*|\1|p' "$log" | head -1)
	pgport=$(sed -n 's|.*psql -h [^ ]* -p \([0-9]*\).*|\1|p' "$log" | head -1)
	redisport=$(sed -n 's|.*redis-cli -p \([0-9]*\).*|\1|p' "$log" | head -1)
	[ -n "$stack" ] && [ -n "$pgport" ] && [ -n "$redisport" ] || fail "run.sh did not say where it runs: $(cat "$log")"
	NESTED+=("$stack")
	# everything of the run: the script's descendants, the servers and theirs
	record "$pid" "$(head -1 "$stack/pgdata/postmaster.pid")" "$(cat "$stack/redis/redis.pid")"
	for p in rtsp_server visionproc tail postgres redis-server postgrest nginx; do
		grep -q "$p" "$WORK/recorded" || fail "run.sh: no $p process found to watch"
	done
	rtspport=$(sed -n 's|.*rtsp_server --port \([0-9]*\).*|\1|p' "$WORK/recorded" | head -1)
	# the demo shows itself working: alerts from LISTEN, deliveries to its webhook receiver
	wait_log "$log" ">>> alert opened: demo: closed port" 90
	wait_log "$log" ">>> webhook #1 opened:" 90
	grep -q '^>>> webhook #1 opened: .*demo: closed port' "$log" ||
		fail "run.sh: the first webhook does not name the closed port: $(grep '>>>' "$log")"
	# the HTTP API it prints: the cameras without a token, a write with the token
	base=$(sed -n 's|^HTTP  \(http://[^ ]*\)$|\1|p' "$log")
	token=$(sed -n 's|^Writer token  \([A-Za-z0-9_.-]*\)$|\1|p' "$log")
	[ -n "$base" ] && [ -n "$token" ] || fail "run.sh did not print 'HTTP  <base URL>' and 'Writer token  <JWT>': $(cat "$log")"
	httpport=${base##*:}
	[ "$(curl -s --max-time 10 "$base/health/camera" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = 7 ] ||
		fail "run.sh: $base/health/camera does not list the 7 demo cameras"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$base/health/camera/1/enable")" = 401 ] ||
		fail "run.sh: a write without the token was not refused with 401"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H "Authorization: Bearer $token" "$base/health/camera/1/enable")" = 200 ] ||
		fail "run.sh: the printed writer token does not write"

	kill -INT -- "-$pid"
	if [ "$n" -eq 2 ]; then
		wait_log "$log" "stopping..." 20
		kill -INT -- "-$pid"
	fi
	wait_exit "$pid" 60 || fail "run.sh interrupted $n time(s): still running after 60 s: $(tail -n 5 "$log")"
	grep -qF "stopping..." "$log" || fail "run.sh interrupted $n time(s) never said 'stopping...'"
	check_clean "run.sh interrupted $n time(s)" "$stack" "$pgport" "$redisport" "$rtspport" "$httpport"
	note "run.sh, SIGINT to its process group $n time(s): everything stopped, ports $pgport $redisport $rtspport $httpport free"
}

# test_case timeout|interrupt: scripts/test.sh running the hanging test
test_case() {
	local how=$1 log="$WORK/test_$1.log" hang="$WORK/hang_$1" pid stack port timeout=600
	mkdir -p "$hang"
	[ "$how" = timeout ] && timeout=4
	launch "$log" env SKIP_BUILD=1 SKIP_REGRESS=1 KEEP_STACK= TESTS=interrupt/test_hang \
		TEST_TIMEOUT=$timeout TEST_KILL_GRACE=3 HANG_DIR="$hang" scripts/test.sh
	pid=$LAST_PID
	wait_log "$log" "== private cluster on port" 120
	stack=$(sed -n 's|^== private cluster on port.*(\(/tmp/camera_health\.[A-Za-z0-9]*\))$|\1|p' "$log")
	[ -n "$stack" ] || fail "test.sh did not say where its stack is: $(cat "$log")"
	NESTED+=("$stack")
	record "$(head -1 "$stack/pgdata/postmaster.pid")" "$(cat "$stack/redis/redis.pid")"
	local deadline=$((SECONDS + 30))
	until [ -f "$hang/ready" ]; do
		[ $SECONDS -lt $deadline ] || fail "the hanging test did not start: $(tail -n 20 "$log")"
		sleep 0.1
	done
	# shellcheck disable=SC2046 # pids, one word each
	record $(cat "$hang/pids")
	port=$(cat "$hang/port")

	if [ "$how" = interrupt ]; then
		# the second while the first one's cleanup runs
		kill -INT -- "-$pid"
		sleep 0.5
		kill -INT -- "-$pid" 2>/dev/null || true
		wait_exit "$pid" 60 || fail "test.sh interrupted twice: still running after 60 s: $(tail -n 5 "$log")"
		[ "$RUN_RC" -ne 0 ] || fail "test.sh interrupted twice exited with status 0"
	else
		# 4 s of test, 3 s for SIGTERM to work (one child ignores it), the stack's stop
		wait_exit "$pid" 60 || fail "test.sh did not stop the test hanging past TEST_TIMEOUT=4 within 60 s: $(tail -n 5 "$log")"
		grep -q "TIMEOUT: interrupt/test_hang" "$log" || fail "test.sh did not report the timeout: $(tail -n 20 "$log")"
		grep -q "FAILED: interrupt/test_hang" "$log" || fail "test.sh did not count the timeout as a failure"
		[ "$RUN_RC" -ne 0 ] || fail "test.sh exited with status 0 after a timeout"
	fi
	check_clean "test.sh ($how)" "$stack" "$port"
	note "test.sh with a hanging test ($how): the test and all it started stopped, port $port free, stack stopped"
}

# startup_case: scripts/run.sh interrupted twice while PostgreSQL starts
# (pg_ctl start is waiting for it; the postmaster has written its pid file)
startup_case() {
	local log="$WORK/startup.log" pid stack="" f left deadline=$((SECONDS + 120))
	mkdir -p "$WORK/stacks"
	chmod 755 "$WORK" "$WORK/stacks"
	launch "$log" env SKIP_BUILD=1 KEEP_STACK= STACK_TMPDIR="$WORK/stacks" scripts/run.sh
	pid=$LAST_PID
	while [ -z "$stack" ]; do
		for f in "$WORK"/stacks/*/pgdata/postmaster.pid; do
			[ -f "$f" ] && stack=${f%/pgdata/postmaster.pid}
		done
		[ $SECONDS -lt $deadline ] || fail "run.sh did not start PostgreSQL in $WORK/stacks: $(tail -n 20 "$log")"
		alive "$pid" || fail "run.sh ended before PostgreSQL started: $(tail -n 20 "$log")"
		sleep 0.02
	done
	NESTED+=("$stack")
	kill -INT -- "-$pid"
	sleep 0.3
	kill -INT -- "-$pid" 2>/dev/null || true
	wait_exit "$pid" 60 || fail "run.sh interrupted while starting: still running after 60 s"
	sleep 0.5
	left=$(procs_using "$stack")
	[ -z "$left" ] || fail "run.sh interrupted while PostgreSQL started: still running afterwards:
$left"
	[ ! -d "$stack" ] || fail "run.sh interrupted while starting: its stack directory is still there"
	note "run.sh, SIGINT twice while PostgreSQL starts: the half-started stack stopped"
}

# (once is the first half of twice: run_case 1 is not run separately)
startup_case
run_case 2
test_case timeout
test_case interrupt
