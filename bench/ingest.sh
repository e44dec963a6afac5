#!/usr/bin/env bash
# Ingest throughput alone (issue 12): record_results() of today's layout
# (BASELINE) against the working tree's, on the same generated batches, each
# layout on its own private cluster in the same run.  bench/history.sh
# measures ingest too, after writing a whole day of history first; this one
# starts from empty history tables, so it takes minutes instead of an hour
# and can be repeated: RUNS times, the state reset in between.
#
# CAMERAS cameras at the default intervals, BATCHES batches of BATCH results
# (bench/history_gen.sql's bench.batch(): the prober's and visionproc's
# result shapes, a few percent failing), each batch a transaction as the
# ingest worker writes them, the latest status of every check set from the
# ten minutes before (so the upserts update rows, as in a running fleet).
# The first WARMUP batches are not timed.  In the new layout the packing of
# the batches' checks (pack_history(), done by the ingest worker once their
# hour is over) is timed and counted in.  Nothing fails on a figure.
#
#   bench/ingest.sh [CAMERAS]          (default 2000)
#   BASELINE=<rev> (default 663e927)  BATCH=2000 BATCHES=40 WARMUP=3 RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-2000}
BASELINE=${BASELINE:-663e927}
BATCH=${BATCH:-2000}
BATCHES=${BATCHES:-40}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
ROOT=$PWD
WORK=$(mktemp -d)
chmod 755 "$WORK"	# the servers run as postgres when we are root
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fixed times: the batches are the same in both clusters and in every run
START=2026-01-05T10:00:00Z
BATCH_MS=$(awk -v b="$BATCH" -v n="$CAMERAS" 'BEGIN {printf "%d", 1000 * b / (n * (1 / 30 + 1 / 60 + 1 / 300))}')

echo "ingest: building $BASELINE"
mkdir -p "$WORK/baseline"
git archive "$BASELINE" | tar -x -C "$WORK/baseline"
(
	export PG_PREFIX="$WORK/baseline/.pginst"
	. scripts/pgprefix.sh
	pgprefix_prepare
	make -s -j"$(nproc)" -C "$WORK/baseline" install DESTDIR="$PG_PREFIX" >/dev/null
)
scripts/build.sh

# measure LABEL PG_PREFIX: prints one line per run, "ms checks"
measure() (
	label=$1
	export PG_PREFIX=$2
	. scripts/stack.sh
	trap stack_stop EXIT
	stack_start "shared_buffers = '1GB'" "max_wal_size = '8GB'" "work_mem = '256MB'" \
		"camera_health.retention_interval = '1d'"
	sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
	psql -XAtq -v ON_ERROR_STOP=1 -f "$ROOT/bench/history_gen.sql" >/dev/null
	psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<-SQL
	BEGIN;
	SELECT count(camera_health.set_camera_enabled((camera_health.register_camera(bench.address(i)::inet, 554,
		format('rtsp://%s:554/Streaming/Channels/101', bench.address(i)))).id, false))
	FROM generate_series(1, $CAMERAS) i;
	COMMIT;
	CREATE TABLE bench.batches AS SELECT i, bench.batch($CAMERAS, '$START'::timestamptz + i * interval '$BATCH_MS ms',
			'$START'::timestamptz + (i + 1) * interval '$BATCH_MS ms') AS results
		FROM generate_series(0, $((BATCHES - 1))) i;
	CREATE TABLE bench.status0 AS
		SELECT DISTINCT ON (camera_id, check_type) camera_id, check_type, status, checked_at AS since, checked_at,
			   1 AS streak, metadata
		FROM bench.checks($CAMERAS, '$START'::timestamptz - interval '10 minutes', '$START')
		ORDER BY camera_id, check_type, checked_at DESC;
	SQL
	# the scheduler and the prober get their work from Redis: without it
	# they never probe the cameras enabled now
	redis_stop
	sql "UPDATE camera_health.cameras SET enabled = true"
	layout=$(sql "SELECT relkind FROM pg_class WHERE oid = 'camera_health.health_logs'::regclass")
	if [ "$layout" = v ]; then
		tables="camera_health.check_recent, camera_health.check_history, camera_health.check_trends, camera_health.uptime_daily"
	else
		tables="camera_health.health_logs, camera_health.camera_latency"
	fi
	for run in $(seq "$RUNS"); do
		psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<-SQL
		SET session_replication_role = replica;
		TRUNCATE $tables, camera_health.alert_state, camera_health.camera_status;
		DELETE FROM camera_health.alerts;
		INSERT INTO camera_health.camera_status (camera_id, check_type, status, since, checked_at, streak, metadata)
			SELECT * FROM bench.status0;
		SQL
		sql "VACUUM ANALYZE" >/dev/null
		{
			for i in $(seq 0 $((BATCHES - 1))); do
				[ "$i" -ne "$WARMUP" ] || printf '%s\n' '\timing on'
				echo "SELECT logged FROM camera_health.record_results((SELECT results FROM bench.batches WHERE i = $i), 3, 2);"
			done
			if [ "$layout" = v ]; then
				echo "SELECT -packed FROM camera_health.pack_history(before => 'infinity');"
			fi
		} | psql -XAtq -v ON_ERROR_STOP=1 >"$WORK/$label.$run"
		# checks timed: those of the timed batches; the packing counted in
		# for its share of them (the warm-up batches' checks are packed too)
		awk -v w="$WARMUP" '
			/^Time:/ { t[++nt] = $2; next }
			$1 < 0 { packed = -$1; next }
			{ c[++nc] = $1 }
			END {
				for (i = 1; i <= nc; i++) { all += c[i]; if (i > w) n += c[i] }
				for (i = 1; i <= nc - w; i++) ms += t[i]
				if (packed) ms += t[nt] * n / all
				printf "%.0f %d\n", ms, n
			}' "$WORK/$label.$run"
	done
)

# report LABEL FILE: each run's checks per second, and their median
report() {
	awk -v l="$1" '{ printf "ingest: %s: run %d: %d checks in %.2f s: %.0f checks/s\n", l, NR, $2, $1 / 1000, $2 / ($1 / 1000) }' "$2"
	echo "ingest: $1: median $(median "$2") checks/s"
}
median() {
	awk '{ printf "%.0f\n", $2 / ($1 / 1000) }' "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

echo "ingest: $CAMERAS cameras, $BATCHES batches of $BATCH results ($BATCH_MS ms of the fleet's checks each), $WARMUP not timed, $RUNS runs"
measure "$BASELINE" "$WORK/baseline/.pginst" >"$WORK/base.runs"
report "$BASELINE" "$WORK/base.runs"
measure new "$ROOT/.pginst" >"$WORK/new.runs"
report new "$WORK/new.runs"
awk -v a="$(median "$WORK/base.runs")" -v b="$(median "$WORK/new.runs")" \
	'BEGIN { printf "ingest: new against today: %.2fx (medians; target at least 1x)\n", b / a }'
