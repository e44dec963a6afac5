#!/usr/bin/env bash
# `make test`: packages, build, install, then every test against a private
# PostgreSQL cluster and redis-server that are stopped again at the end,
# whatever happens (a failure, a hanging test, Ctrl-C, twice).
#
#   TESTS="test_a test_b"  runs only those integration tests (test/NAME.sh;
#                          a path below test/ such as interrupt/test_hang
#                          works too) and, when named, the checks
#                          sanitizecheck, fuzzcheck and shellcheck;
#                          without TESTS everything runs
#   SKIP_REGRESS=1         leaves out pg_regress
#   TEST_TIMEOUT=600       seconds a test may take before it is stopped
#   TEST_KILL_GRACE=15     seconds between SIGTERM and SIGKILL when stopping one
#   SKIP_BUILD=1           uses what is built and installed already
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
TEST_KILL_GRACE=${TEST_KILL_GRACE:-15}
export TEST_KILL_GRACE
# the test's own grace, then reap.py's for what it left
STOP_WAIT=$((2 * TEST_KILL_GRACE + 5))
[ -n "${SKIP_BUILD:-}" ] || scripts/build.sh
# shellcheck source=scripts/testdata.sh
. scripts/testdata.sh
[ -n "${SKIP_BUILD:-}" ] || make -s unitcheck test/bin/rtsp_server
# shellcheck source=scripts/stack.sh
. scripts/stack.sh

# Each test runs through scripts/reap.py, in a session of its own: Ctrl-C
# from the terminal reaches this shell only, and a test that hangs or is
# interrupted gets SIGTERM (its EXIT trap runs), then SIGKILL.  reap.py is
# the subreaper of everything the test starts, also what daemonized, and
# stops whatever is still running when the test has ended.  The first
# signal starts this script's cleanup, which ignores any further one.
TEST_PID=""
STOPPED=""
cleanup() {
	[ -z "$STOPPED" ] || return 0
	STOPPED=1
	trap '' INT TERM HUP QUIT
	if [ -n "$TEST_PID" ]; then
		echo "stopping the running test..."
		stop_group "$TEST_PID" "$STOP_WAIT"
	fi
	stack_stop
}
trap 'echo; echo "interrupted"; cleanup; trap - INT; kill -INT $$' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP
trap cleanup EXIT

# run_test NAME: test/NAME.sh in its own session, at most TEST_TIMEOUT s;
# returns its status (124 on timeout)
run_test() {
	local deadline=$((SECONDS + TEST_TIMEOUT)) rc=0
	python3 scripts/reap.py bash "test/$1.sh" </dev/null &
	TEST_PID=$!
	while proc_running "$TEST_PID"; do
		if [ $SECONDS -ge $deadline ]; then
			echo "TIMEOUT: $1 ran for more than ${TEST_TIMEOUT}s; stopping it"
			stop_group "$TEST_PID" "$STOP_WAIT"
			TEST_PID=""
			return 124
		fi
		sleep 0.2
	done
	wait "$TEST_PID" || rc=$?
	if group_running "$TEST_PID"; then
		echo "-- $1 left processes running; stopping them:"
		ps -o pid=,args= -p "$(pgrep -d, -g "$TEST_PID")" || true
		stop_group "$TEST_PID" "$STOP_WAIT"
	fi
	TEST_PID=""
	return $rc
}

# selected NAME: is NAME to run (everything when TESTS is not set)?
selected() {
	[ -z "${TESTS:-}" ] || [[ " $TESTS " == *" $1 "* ]]
}

failed=()

# ---- checks that need no stack -------------------------------------------
if selected sanitizecheck; then
	echo "== sanitizecheck (unit tests under ASan and UBSan)"
	make -s sanitizecheck || failed+=(sanitizecheck)
fi
if selected fuzzcheck; then
	echo "== fuzzcheck (libFuzzer, ${FUZZ_SECONDS:-15}s per target)"
	make -s fuzzcheck FUZZ_SECONDS="${FUZZ_SECONDS:-15}" || failed+=(fuzzcheck)
fi
if selected shellcheck; then
	echo "== shellcheck"
	make -s shellcheck || failed+=(shellcheck)
fi

# ---- against the private stack -------------------------------------------
integration=()
for t in ${TESTS:-$(cd test && ls test_*.sh | sed 's/\.sh$//')}; do
	case $t in sanitizecheck | fuzzcheck | shellcheck) continue ;; esac
	integration+=("$t")
done

if [ ${#integration[@]} -gt 0 ] || [ -z "${SKIP_REGRESS:-}" ]; then
	stack_start
	echo "== private cluster on port $PGPORT, redis on port $REDIS_PORT ($STACK_DIR)"
	# a test may restart the shared servers (test_shutdown, test_redis_outage):
	# the restarted ones are the stack's, not leftovers of the test
	export REAP_SPARE_PIDFILES="$STACK_DIR/pgdata/postmaster.pid:$STACK_DIR/redis/redis.pid"
fi

if [ -z "${SKIP_REGRESS:-}" ]; then
	echo "== pg_regress"
	if ! make -s installcheck; then
		failed+=(installcheck)
		head -200 test/regress/regression.diffs 2>/dev/null
	fi
fi

for t in "${integration[@]}"; do
	echo "== $t"
	start=$SECONDS
	if run_test "$t"; then
		echo "ok   $t ($((SECONDS - start))s)"
	else
		echo "FAIL $t ($((SECONDS - start))s)"
		failed+=("$t")
		echo "-- last lines of the server log:"
		tail -n 30 "$PG_LOG" || true
	fi
done

# TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster): clusters of their own on
# the private server copy; with TESTS set only when TAP=1, SKIP_TAP=1 skips them
if [ -n "${TAP:-}" ] || { [ -z "${TESTS:-}" ] && [ -z "${SKIP_TAP:-}" ]; }; then
	echo "== TAP tests"
	tap_dir=$(mktemp -d /tmp/camera_health_tap.XXXXXX)
	owner=()
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$tap_dir"
		owner=(runuser -u postgres --)
	fi
	pgxs_src=$(dirname "$(dirname "$(pg_config --pgxs)")")
	# PostgreSQL::Test::Cluster stops its clusters when prove ends, also on
	# SIGTERM; timeout bounds a hanging test like run_test does
	timeout -k "$TEST_KILL_GRACE" "$TEST_TIMEOUT" "${owner[@]}" env PATH="$PG_BINDIR:$PATH" \
		TESTDIR="$tap_dir" PG_TEST_TIMEOUT_DEFAULT=60 PG_REGRESS="$pgxs_src/test/regress/pg_regress" \
		prove -I "$pgxs_src/test/perl" test/t/*.pl || failed+=(tap)
	if [ -n "${KEEP_STACK:-}" ]; then echo "TAP logs kept in $tap_dir"; else rm -rf "$tap_dir"; fi
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all tests passed"
