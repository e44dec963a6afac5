# shellcheck shell=bash
# Helpers for the integration tests (test/test_*.sh), run by scripts/test.sh
# with the private stack's environment (see scripts/stack.sh).
set -euo pipefail
# shellcheck source=scripts/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/stack.sh"

TEST_NAME=$(basename "$0" .sh)

fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	exit 1
}

note() {
	echo "  $*"
}

# q SQL: run SQL in the camera_health database, print unaligned tuples
q() {
	psql -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

rcli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

assert_eq() { # got want what
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# wait_for TIMEOUT_S DESCRIPTION SQL: until SQL returns 't'
wait_for() {
	local timeout=$1 what=$2 sql=$3 deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(q "$sql" 2>/dev/null)" = "t" ] && return 0
		sleep 0.2
	done
	fail "timed out after ${timeout}s waiting for: $what"
}

# listen PORT ADDRESS...: start TCP listeners in the background; the pid is
# appended to LISTENER_PIDS (killed by cleanup_listeners)
LISTENER_PIDS=()
listen() {
	local fifo="$STACK_DIR/listen.$$.$RANDOM"
	mkfifo "$fifo"
	python3 "$(dirname "${BASH_SOURCE[0]}")/listen.py" "$@" >"$fifo" &
	LISTENER_PIDS+=($!)
	read -r line <"$fifo"
	rm -f "$fifo"
	[ "$line" = "ready" ] || fail "listeners did not start"
}

cleanup_listeners() {
	local p
	for p in "${LISTENER_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	LISTENER_PIDS=()
}

# worker_pid NAME: pid of the camera_health worker NAME (scheduler, prober, ingest)
worker_pid() {
	q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'camera_health $1'"
}

# restart_worker NAME: SIGTERM it and wait until the postmaster started it again
restart_worker() {
	local old
	old=$(worker_pid "$1")
	q "SELECT pg_terminate_backend($old)" >/dev/null
	wait_for 20 "$1 restarted" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'camera_health $1' AND pid <> $old"
}

# as_root CMD...: run a system command (sysctl, iptables) as root
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo -n "$@"
	fi
}

# set_ping_range "LOW HIGH": set net.ipv4.ping_group_range, remembering the
# original value for restore_ping_range
ORIG_PING_RANGE=""
set_ping_range() {
	[ -n "$ORIG_PING_RANGE" ] || ORIG_PING_RANGE=$(sysctl -n net.ipv4.ping_group_range)
	as_root sysctl -qw net.ipv4.ping_group_range="$1"
}

restore_ping_range() {
	[ -z "$ORIG_PING_RANGE" ] || as_root sysctl -qw net.ipv4.ping_group_range="$ORIG_PING_RANGE"
}

# drop_traffic CIDR / undrop_traffic CIDR: make loopback addresses silent, like a
# host that is off (dropped on input: sending succeeds, no answer ever comes)
DROPPED=()
drop_traffic() {
	as_root iptables -I INPUT -d "$1" -j DROP || fail "iptables (as root) is needed to make $1 unreachable"
	DROPPED+=("$1")
}

undrop_traffic() {
	as_root iptables -D INPUT -d "$1" -j DROP 2>/dev/null || true
	local keep=() c
	for c in "${DROPPED[@]}"; do
		[ "$c" = "$1" ] || keep+=("$c")
	done
	DROPPED=("${keep[@]}")
}

cleanup_network() {
	cleanup_listeners
	local c
	for c in "${DROPPED[@]}"; do
		as_root iptables -D INPUT -d "$c" -j DROP 2>/dev/null || true
	done
	DROPPED=()
	restore_ping_range
}

# ---- notification receivers (test/notify_receiver.py, test/smtp_receiver.py)
# on 127.0.0.1; their pids in RX_PIDS, stopped by cleanup_receivers
RX_PIDS=()
# receiver NAME PORT ARGS...: start a receiver; its log is $STACK_DIR/NAME.log
receiver() {
	local name=$1 port=$2 fifo="$STACK_DIR/rx.$1.fifo" line
	shift 2
	rm -f "$STACK_DIR/$name.log"
	mkfifo "$fifo"
	if [ "$name" = smtp ]; then
		python3 "$(dirname "${BASH_SOURCE[0]}")/smtp_receiver.py" "$port" "$STACK_DIR/$name.log" >"$fifo" &
	else
		python3 "$(dirname "${BASH_SOURCE[0]}")/notify_receiver.py" "$port" "$STACK_DIR/$name.log" "$@" >"$fifo" &
	fi
	RX_PIDS+=($!)
	eval "RX_$name=$!"
	read -r line <"$fifo"
	rm -f "$fifo"
	[ "$line" = "ready" ] || fail "receiver $name did not start"
	touch "$STACK_DIR/$name.log"
}

# rx NAME EXPR: a Python expression over E, the requests NAME received
rx() {
	python3 -c 'import json, sys
E = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$STACK_DIR/$1.log" "$2"
}

# wait_rx TIMEOUT NAME EXPR WHAT: until EXPR over NAME's requests is True
wait_rx() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(rx "$2" "$3")" = "True" ] && return 0
		sleep 0.2
	done
	fail "timed out after $1 s waiting for: $4 (receiver $2 got $(rx "$2" "[(e['body'] or {}).get('summary') for e in E]"))"
}

cleanup_receivers() {
	local p
	for p in "${RX_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	RX_PIDS=()
}

# start_bg LOG CMD...: start a helper that prints "ready" and wait for it;
# its pid goes into the test's PIDS array, which the test's cleanup stops
start_bg() {
	local log=$1 _
	shift
	"$@" >"$log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		grep -q ready "$log" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || fail "$1 died: $(cat "$log")"
		sleep 0.1
	done
	fail "$1 did not start: $(cat "$log")"
}
