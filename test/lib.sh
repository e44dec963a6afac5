# Helpers for the integration tests (test/test_*.sh), run by scripts/test.sh
# with the private stack's environment (see scripts/stack.sh).
set -euo pipefail
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
