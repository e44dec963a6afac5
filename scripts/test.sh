#!/usr/bin/env bash
# `make test`: packages, build, install, then every test against a private
# PostgreSQL cluster and redis-server that are stopped again at the end,
# whatever happens.  TESTS="test_a test_b" runs only those integration tests;
# SKIP_REGRESS=1 leaves out pg_regress.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
. scripts/testdata.sh
make -s unitcheck test/bin/rtsp_server

. scripts/stack.sh
trap stack_stop EXIT
stack_start
echo "== private cluster on port $PGPORT, redis on port $REDIS_PORT ($STACK_DIR)"

failed=()
if [ -z "${SKIP_REGRESS:-}" ]; then
	echo "== pg_regress"
	if ! make -s installcheck; then
		failed+=(installcheck)
		head -200 test/regress/regression.diffs 2>/dev/null
	fi
fi

for t in ${TESTS:-$(cd test && ls test_*.sh | sed 's/\.sh$//')}; do
	echo "== $t"
	start=$(date +%s)
	if bash "test/$t.sh"; then
		echo "ok   $t ($(( $(date +%s) - start ))s)"
	else
		echo "FAIL $t ($(( $(date +%s) - start ))s)"
		failed+=("$t")
		echo "-- last lines of the server log:"
		tail -n 30 "$PG_LOG" || true
	fi
done

# TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster): clusters of their own on
# the private server copy; with TESTS set only when TAP=1, SKIP_TAP=1 skips them
if [ -n "${TAP:-}" ] || { [ -z "${TESTS:-}" ] && [ -z "${SKIP_TAP:-}" ]; }; then
	echo "== TAP tests"
	tap_dir=$(mktemp -d "$STACK_DIR/tap.XXXXXX")
	[ "$(id -u)" -ne 0 ] || chown postgres: "$tap_dir"
	pgxs_src=$(dirname "$(dirname "$(pg_config --pgxs)")")
	stack_as_owner env PATH="$PG_BINDIR:$PATH" TESTDIR="$tap_dir" PG_TEST_TIMEOUT_DEFAULT=60 \
		PG_REGRESS="$pgxs_src/test/regress/pg_regress" prove -I "$pgxs_src/test/perl" test/t/*.pl || failed+=(tap)
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all tests passed"
