# shellcheck shell=bash
# Sourced by test.sh, run.sh and the benchmarks: exports TESTDATA, the clips
# and labelled frames the vision tests and the demo use.  They live in the
# repository under test/data/ (see its README.md for where they come from);
# set TESTDATA yourself to use another copy.
if [ -z "${TESTDATA:-}" ]; then
	TESTDATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../test/data" && pwd)
fi
if [ ! -f "$TESTDATA/labels.tsv" ] || [ ! -d "$TESTDATA/clips" ]; then
	echo "the test data ($TESTDATA, with labels.tsv and clips/) was not found; set TESTDATA" >&2
	exit 1
fi
export TESTDATA
