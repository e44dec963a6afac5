#!/usr/bin/env bash
# Retention at scale: 20 million checks over 60 days for 2,000
# cameras, retention 30 days.  Measures, side by side on the same machine:
#   - the retention pass that drops the 30 expired daily partitions;
#   - the same pass deleting the same number of expired rows in batches
#     (the rows re-inserted where no partition takes them, i.e. into the
#     default partition: what a non-partitioned table would go through);
# and during both, the longest transaction of the pass (no lock is held
# longer) and the slowest of a stream of API calls (camera_logs reads and
# update_camera writes) made meanwhile from another session.  The cluster
# runs with fsync on (the test clusters turn it off), as production would:
# a DELETE pays for its WAL, a DROP hardly writes any; and each pass starts
# with a cold page cache, as month-old data would be.
#
#   bench/retention.sh [ROWS [CAMERAS [DAYS]]]     (defaults 20000000 2000 60)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-20000000}
CAMERAS=${2:-2000}
DAYS=${3:-60}
PER_CAMERA_DAY=$(( ROWS / CAMERAS / DAYS ))

. scripts/stack.sh
api_pid=""
cleanup() {
	[ -z "$api_pid" ] || kill "$api_pid" 2>/dev/null || true
	stack_stop
}
trap cleanup EXIT
stack_start "fsync = on" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" "shared_buffers = '1GB'" \
	"maintenance_work_mem = '512MB'" "camera_health.retention_interval = '1d'"
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# cameras, disabled in the transaction that registers them: never probed
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
SELECT count(camera_health.set_camera_enabled((camera_health.register_camera(
	('127.4.' || (i / 250) || '.' || (i % 250 + 1))::inet, 554)).id, false)) FROM generate_series(0, $CAMERAS - 1) i;
COMMIT;
SQL

# DAYS daily partitions, as the worker would have created them day by day
fill_days() { # first_day last_day (days ago, inclusive): checks, packed as ingest's would be
	local d
	for d in $(seq "$1" -1 "$2"); do
		sql "INSERT INTO camera_health.check_recent (camera_id, check_type, status, metadata, checked_at)
			SELECT c.id, (ARRAY['ip', 'port', 'vision'])[1 + n % 3], 'ok',
				'{\"method\": \"icmp\", \"detail\": \"echo reply\", \"latency_ms\": 0.412, \"lateness_ms\": 31}',
				date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '$d days'
					+ n * interval '1 second' * (86400 / $PER_CAMERA_DAY) + (c.id % 300) * interval '1 second'
			FROM camera_health.cameras c, generate_series(0, $PER_CAMERA_DAY - 1) n"
		sql "SELECT packed FROM camera_health.pack_history(before => 'infinity')" >/dev/null
	done
}
for d in $(seq "$DAYS" -1 1); do
	day=$(date -u -d "$d days ago" +%F)
	sql "SELECT camera_health.create_history_partition('$day')" >/dev/null
done
start=$(date +%s)
fill_days "$DAYS" 1
sql "VACUUM ANALYZE camera_health.check_history" >/dev/null
echo "retention: filled $(sql "SELECT sum(n) FROM camera_health.check_history") checks over $DAYS days for $CAMERAS cameras in $(( $(date +%s) - start )) s"
size() { sql "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c
	WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'camera_health.check_history'::regclass)"; }
echo "retention: check_history is $(size) before"
sql "SELECT count(camera_health.set_log_retention(id, '30 days')) FROM camera_health.cameras" >/dev/null

# API calls from another session meanwhile: reads and writes, each timed
api_stream() {
	{
		echo '\timing on'
		for i in $(seq 1 200000); do
			id=$(( i % CAMERAS + 1 ))
			echo "SELECT count(*) FROM camera_health.camera_logs($id, max_rows => 20);"
			[ $(( i % 10 )) -eq 0 ] && echo "SELECT (camera_health.update_camera($id, interval_vision => $(( 300 + i % 2 )))).id;"
		done
	} | psql -Xq -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$1"
}
pass() { # label: one retention pass with the API stream running; prints figures
	local t0 t1 run api
	# Days a month old are long out of the page cache in production: both
	# passes start cold (when root may say so), or the freshly written rows
	# would flatter the DELETE and burden the DROP with evicting them.
	sync
	[ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches
	api_stream "$STACK_DIR/api.$1" &
	api_pid=$!
	sleep 2
	t0=$(date +%s.%N)
	run=$(sql "SELECT format('dropped %s partitions (%s ms), removed %s rows (batched deletes %s ms), longest transaction %s ms',
		partitions_dropped, round(drop_ms::numeric), health_logs_deleted, round(delete_ms::numeric),
		round(longest_transaction_ms::numeric, 1)) FROM camera_health.run_retention()")
	sql "SELECT drop_ms / 1000, delete_ms / 1000 FROM camera_health.retention_runs ORDER BY id DESC LIMIT 1" >"$STACK_DIR/steps.$1"
	t1=$(date +%s.%N)
	sleep 1
	kill "$api_pid" 2>/dev/null || true
	wait "$api_pid" 2>/dev/null || true
	api_pid=""
	api=$(sort -n "$STACK_DIR/api.$1" | awk '{a[NR]=$1} END {printf "%d API calls, p50 %.1f ms, p99 %.1f ms, max %.1f ms", NR, a[int(NR*0.5)+1], a[int(NR*0.99)+1], a[NR]}')
	echo "retention: $1: $(echo "$t1 - $t0" | bc) s; $run; $api"
	echo "$t1 - $t0" | bc >"$STACK_DIR/time.$1"
}
pass "partition drops"
echo "retention: check_history is $(size) after"

# the same rows again, where no partition takes them: deleted row by row
start=$(date +%s)
fill_days "$DAYS" $(( DAYS / 2 + 1 ))
sql "VACUUM ANALYZE camera_health.check_history" >/dev/null
echo "retention: re-inserted $(sql "SELECT sum(n) FROM camera_health.check_history_default") expired checks into the default partition in $(( $(date +%s) - start )) s"
pass "batched DELETE"
echo "retention: check_history is $(size) after (before VACUUM returns the space)"
drop_s=$(cut -d'|' -f1 "$STACK_DIR/steps.partition drops")
delete_s=$(cut -d'|' -f2 "$STACK_DIR/steps.batched DELETE")
echo "retention: the same expired rows: dropping their partitions $drop_s s, deleting them in batches $delete_s s: ratio $(echo "scale=1; $delete_s / $drop_s" | bc)"
echo "retention: whole passes: ratio $(echo "scale=1; $(cat "$STACK_DIR/time.batched DELETE") / $(cat "$STACK_DIR/time.partition drops")" | bc) (the partition pass also deletes the expired part of the day that straddles the cutoff)"
