# Sourced by test.sh, run.sh and the benchmarks: finds the shared test data
# (../shared/testdata next to this checkout, as DESIGN.md lays it out) and
# exports TESTDATA.  Set TESTDATA yourself to use another copy.
if [ -z "${TESTDATA:-}" ]; then
	for candidate in "$(dirname "${BASH_SOURCE[0]}")/../../shared/testdata" /work/shared/testdata; do
		if [ -f "$candidate/labels.tsv" ]; then
			TESTDATA=$(cd "$candidate" && pwd)
			break
		fi
	done
fi
if [ -z "${TESTDATA:-}" ] || [ ! -f "$TESTDATA/labels.tsv" ]; then
	echo "the test data (../shared/testdata, with labels.tsv and clips/) was not found; set TESTDATA" >&2
	exit 1
fi
export TESTDATA
