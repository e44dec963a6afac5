#!/usr/bin/env bash
# Check history at fleet scale (issue 12): today's layout (BASELINE:
# health_logs + camera_latency, a row per check and per latency sample)
# against the one in the working tree (check_history: a row per camera,
# check type and hour), on the same generated history, in the same run, each
# on its own private cluster.  For each layout it prints:
#   - bytes per check on disk: heap, TOAST (with the free-space and
#     visibility maps) and indexes of every partition of the history tables,
#     after VACUUM ANALYZE, divided by the checks stored;
#   - camera_logs() latency, p50 and p99 over RUNS calls (each on another
#     camera, the rows fetched by the client, after one call not timed): a
#     camera's last 100 checks,
#     and its last day (every check: 4,608, max_rows 10000); and as the
#     floor under any layout, the same rows from a plain table, fetched as
#     often (what sending them to the client costs);
#   - ingest throughput: checks per second through record_results() over
#     the INGEST_MINUTES that follow the history, in batches of BATCH
#     results, each batch a transaction as the ingest worker writes them
#     (the first WARMUP not timed); in the new layout with the packing of
#     those checks (pack_history()) counted in;
#   - what those minutes' checks take on disk as the ingest wrote them (the
#     growth of the tables over them, after packing and VACUUM ANALYZE);
# and at the end the ratios, and whether camera_logs() gives one camera's
# last day with the same times, statuses and latencies in both layouts.
# The history (bench/history_gen.sql) is CAMERAS cameras at the default
# intervals (ip 30 s, port 60 s, vision 300 s) over DAYS days up to the last
# full hour, with realistic failures (some down, outages, flapping, slow
# answers, picture problems, checks that failed to run) and the results'
# shapes of the prober and visionproc; it is a function of camera and time
# only, so both clusters get the same checks.  Each hour is written in one
# statement, in time order (as the ingest writes them, all cameras
# interleaved): into health_logs and camera_latency in today's layout, as
# record_results() did; through store_checks() into check_recent in the new
# one, then packed into check_history by pack_history() as the ingest
# worker packs a finished hour.  check_recent (the current hour's rows, its
# space reused every hour) is not counted in the bytes per check.  Bytes per check do not depend on the length beyond
# a day (daily partitions, hourly chunks): the month (the default) is 276
# million checks a layout, a day of 2,000 cameras takes about 20 minutes a
# layout on this machine.  Nothing fails on a figure: they are printed.
#
#   bench/history.sh [CAMERAS [DAYS]]     (defaults 2000, 30)
#   BASELINE=<rev>|none   today's layout (default 663e927, built from git into
#                         a temporary directory with its own server copy)
#   NEW=0                 measure BASELINE only
#   BATCH=2000 WARMUP=3 INGEST_MINUTES=60 RUNS=200
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-2000}
DAYS=${2:-30}
BASELINE=${BASELINE:-663e927}
NEW=${NEW:-1}
BATCH=${BATCH:-2000}
WARMUP=${WARMUP:-3}
INGEST_MINUTES=${INGEST_MINUTES:-60}
RUNS=${RUNS:-200}
ROOT=$PWD
WORK=$(mktemp -d)
chmod 755 "$WORK"	# the servers run as postgres when we are root
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Both clusters generate up to the same hour: the histories are identical.
END=$(date -u +%Y-%m-%dT%H:00:00Z)
checks_per_s=$(awk -v n="$CAMERAS" 'BEGIN {printf "%.3f", n * (1 / 30 + 1 / 60 + 1 / 300)}')
# a batch of BATCH results spans this many ms of the fleet's checks
BATCH_MS=$(awk -v b="$BATCH" -v r="$checks_per_s" 'BEGIN {printf "%d", 1000 * b / r}')

if [ "$BASELINE" != none ]; then
	echo "history: building $BASELINE"
	mkdir -p "$WORK/baseline"
	git archive "$BASELINE" | tar -x -C "$WORK/baseline"
	(
		export PG_PREFIX="$WORK/baseline/.pginst"
		. scripts/pgprefix.sh
		pgprefix_prepare
		make -s -j"$(nproc)" -C "$WORK/baseline" install DESTDIR="$PG_PREFIX" >/dev/null
	)
fi
[ "$NEW" = 0 ] || scripts/build.sh

# pct FILE: p50 and p99 of the millisecond figures in FILE
pct() {
	sort -n "$1" | awk '{a[NR] = $1} END {printf "p50 %.1f ms, p99 %.1f ms (%d calls)", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1], NR}'
}

# measure LABEL PG_PREFIX: one layout on its own cluster; the figures go to
# stdout and, as key=value lines, to $WORK/LABEL.fig
measure() (
	label=$1
	export PG_PREFIX=$2
	. scripts/stack.sh
	trap stack_stop EXIT
	fig="$WORK/$label.fig"
	# the retention worker would delete or drop what is older than the
	# default retention (30 days) while the bench runs
	stack_start "camera_health.retention_interval = '1d'" "shared_buffers = '1GB'" "max_wal_size = '8GB'" \
		"checkpoint_timeout = '30min'" "maintenance_work_mem = '512MB'" "work_mem = '256MB'"
	sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
	psql -XAtq -v ON_ERROR_STOP=1 -f "$ROOT/bench/history_gen.sql" >/dev/null

	# cameras 1..CAMERAS, disabled in the transaction that registers them:
	# never probed (record_results only writes enabled cameras' results: the
	# ingest measurement enables them in its own transaction)
	psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<-SQL
	BEGIN;
	SELECT count(camera_health.set_camera_enabled((camera_health.register_camera(bench.address(i)::inet, 554,
		format('rtsp://%s:554/Streaming/Channels/101', bench.address(i)))).id, false))
	FROM generate_series(1, $CAMERAS) i;
	COMMIT;
	SQL
	[ "$(sql "SELECT max(id) = $CAMERAS AND count(*) = $CAMERAS FROM camera_health.cameras")" = t ] || {
		echo "history: the cameras are not 1..$CAMERAS" >&2
		return 1
	}

	# the history tables: today's two, or whatever the new layout keeps
	layout=$(sql "SELECT relkind FROM pg_class WHERE oid = 'camera_health.health_logs'::regclass")
	if [ "$layout" = v ]; then
		parents=$(sql "SELECT string_agg(quote_literal(c.oid::regclass::text), ',') FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'camera_health' AND c.relkind IN ('p', 'r') AND c.relname = 'check_history'")
	else
		parents="'camera_health.health_logs','camera_health.camera_latency'"
	fi
	# daily partitions over the history, as the retention worker would have
	# created them day by day (the same FOR VALUES for either key column)
	sql "DO \$\$
	DECLARE parent text; day date;
	BEGIN
		FOR parent IN SELECT p FROM unnest(ARRAY[$parents]) p
			WHERE (SELECT relkind FROM pg_class WHERE oid = p::regclass) = 'p' LOOP
			FOR day IN SELECT generate_series(('$END'::timestamptz - interval '$DAYS days') AT TIME ZONE 'UTC',
											  '$END'::timestamptz AT TIME ZONE 'UTC', interval '1 day')::date LOOP
				CONTINUE WHEN to_regclass(parent || '_p' || to_char(day, 'YYYYMMDD')) IS NOT NULL;
				EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
							   parent || '_p' || to_char(day, 'YYYYMMDD'), parent,
							   day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
			END LOOP;
		END LOOP;
	END \$\$"

	local_start=$(date +%s)
	pack_ms=0
	for h in $(seq $((DAYS * 24)) -1 1); do
		t="'$END'::timestamptz - interval '$h hours'"
		if [ "$layout" = v ]; then
			# as ingest writes them (store_checks: check_recent), then packed
			# once the hour is over, as the ingest worker packs them
			sql "SELECT camera_health.store_checks(array_agg(ROW(camera_id, check_type, status, metadata, checked_at,
					latency_ms)::camera_health.check_record ORDER BY checked_at))
				FROM bench.checks($CAMERAS, $t, $t + interval '1 hour')" >/dev/null
			sql "SELECT packed FROM camera_health.pack_history(before => $t + interval '1 hour')" >/dev/null
		else
			sql "WITH g AS MATERIALIZED (SELECT * FROM bench.checks($CAMERAS, $t, $t + interval '1 hour') ORDER BY checked_at),
				l AS (INSERT INTO camera_health.camera_latency (camera_id, check_type, latency, created_at)
					  SELECT camera_id, check_type, latency_ms, checked_at FROM g
					  WHERE latency_ms IS NOT NULL AND check_type IN ('ip', 'port'))
				INSERT INTO camera_health.health_logs (camera_id, check_type, status, metadata, created_at)
				SELECT camera_id, check_type, status, metadata, checked_at FROM g"
		fi
		[ $(((h - 1) % 24)) -ne 0 ] || echo "history: $label: $(( (DAYS * 24 - h + 1) / 24 )) of $DAYS days written ($(( $(date +%s) - local_start )) s)"
	done
	sql "VACUUM ANALYZE" >/dev/null
	if [ "$layout" = v ]; then
		checks=$(sql "SELECT sum(n) FROM camera_health.check_history")
	else
		checks=$(sql "SELECT count(*) FROM camera_health.health_logs")
	fi
	sizes() {
		sql "SELECT format('%s|%s|%s', sum(pg_relation_size(relid)), sum(pg_table_size(relid) - pg_relation_size(relid)),
				sum(pg_indexes_size(relid)))
			FROM unnest(ARRAY[$parents]) p, pg_partition_tree(p::regclass) t WHERE t.isleaf"
	}
	IFS='|' read -r heap toast idx < <(sizes)
	awk -v l="$label" -v c="$checks" -v h="$heap" -v t="$toast" -v i="$idx" -v p="$parents" 'BEGIN {
		printf "history: %s: %d checks in %s: %.1f MB (heap %.1f, TOAST+maps %.1f, indexes %.1f): %.1f bytes per check (heap %.1f, TOAST %.1f, indexes %.1f)\n",
			l, c, p, (h + t + i) / 1048576, h / 1048576, t / 1048576, i / 1048576, (h + t + i) / c, h / c, t / c, i / c
		printf "bytes=%.1f\nchecks=%d\n", (h + t + i) / c, c >"/dev/stderr" }' 2>>"$fig"

	# camera_logs(): another camera at each call, the result fetched by the
	# client; one call not timed first, as a pooled connection (PostgREST's)
	# has made it: the session's first call loads the catalog and plans, and
	# of 100 calls the p99 is the slowest
	for kind in last100 lastday; do
		{
			echo "SELECT * FROM camera_health.camera_logs($CAMERAS);"
			printf '%s\n' '\timing on'
			for i in $(seq "$RUNS"); do
				id=$(( (i * 7919) % CAMERAS + 1 ))
				if [ $kind = last100 ]; then
					echo "SELECT * FROM camera_health.camera_logs($id);"
				else
					echo "SELECT * FROM camera_health.camera_logs($id, since => '$END'::timestamptz - interval '1 day', max_rows => 10000);"
				fi
			done
		} | psql -Xq -v ON_ERROR_STOP=1 -o /dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$WORK/$label.$kind"
	done
	rows=$(sql "SELECT count(*) FROM camera_health.camera_logs(1, since => '$END'::timestamptz - interval '1 day', max_rows => 10000)")
	# the floor under any layout: the same rows (camera 1's last day) from a
	# plain table, fetched as often: what sending them to the client costs
	sql "CREATE TABLE bench.lastday AS SELECT * FROM camera_health.camera_logs(1, since => '$END'::timestamptz - interval '1 day', max_rows => 10000)"
	sql "VACUUM ANALYZE bench.lastday" >/dev/null
	{
		echo "SELECT * FROM bench.lastday;"
		printf '%s\n' '\timing on'
		for i in $(seq "$RUNS"); do echo "SELECT * FROM bench.lastday;"; done
	} | psql -Xq -v ON_ERROR_STOP=1 -o /dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$WORK/$label.floor"
	# what both layouts must agree on: every check of a camera's last day,
	# its time, status and latency as a number
	sql "SELECT 'same_checks=' || md5(string_agg(concat_ws(',', created_at, check_type, status, (metadata ->> 'latency_ms')::double precision), ';'
			ORDER BY created_at, check_type))
		FROM camera_health.camera_logs($(( CAMERAS / 2 + 1 )), since => '$END'::timestamptz - interval '1 day', max_rows => 10000)" >>"$fig"
	echo "history: $label: camera_logs last 100 checks $(pct "$WORK/$label.last100"); last day ($rows checks) $(pct "$WORK/$label.lastday"); the same rows from a plain table $(pct "$WORK/$label.floor")"
	for kind in last100:logs100 lastday:logsday floor:floor; do
		sort -n "$WORK/$label.${kind%%:*}" | awk -v k="${kind#*:}" '{a[NR] = $1} END {printf "%s_p99=%.1f\n", k, a[int(NR * 0.99) + 1]}'
	done >>"$fig"

	# Ingest: the INGEST_MINUTES that follow the history, through
	# record_results() in batches of BATCH results, each in a transaction of
	# its own as the ingest worker writes them; the batches generated
	# beforehand, the latest status per check as it stood at the end of the
	# history (so the upserts update rows, as in a running fleet).  Redis is
	# stopped first and only then the cameras enabled: the scheduler and the
	# prober, who get their work from Redis, never probe them.
	nb=$(( INGEST_MINUTES * 60000 / BATCH_MS ))
	[ "$nb" -gt "$WARMUP" ] || nb=$(( WARMUP + 5 ))	# a small fleet: more minutes, at least 5 batches timed
	sql "CREATE TABLE bench.batches AS SELECT i, bench.batch($CAMERAS, '$END'::timestamptz + i * interval '$BATCH_MS ms',
			'$END'::timestamptz + (i + 1) * interval '$BATCH_MS ms') AS results
		FROM generate_series(0, $((nb - 1))) i"
	sql "INSERT INTO camera_health.camera_status (camera_id, check_type, status, since, checked_at, streak, metadata)
		SELECT DISTINCT ON (camera_id, check_type) camera_id, check_type, status, checked_at, checked_at, 1, metadata
		FROM bench.checks($CAMERAS, '$END'::timestamptz - interval '10 minutes', '$END') ORDER BY camera_id, check_type, checked_at DESC"
	redis_stop
	sql "UPDATE camera_health.cameras SET enabled = true"
	sql "VACUUM ANALYZE" >/dev/null
	IFS='|' read -r heap0 toast0 idx0 < <(sizes)
	{
		for i in $(seq 0 $((nb - 1))); do
			[ "$i" -ne "$WARMUP" ] || printf '%s\n' '\timing on'
			echo "SELECT logged FROM camera_health.record_results((SELECT results FROM bench.batches WHERE i = $i), 3, 2);"
		done
	} | psql -XAtq -v ON_ERROR_STOP=1 >"$WORK/$label.ingest"
	sql "UPDATE camera_health.cameras SET enabled = false"
	# the new layout packs those checks once their hour is over (the ingest
	# worker does it between batches): timed, and counted as ingest's work
	if [ "$layout" = v ]; then
		psql -XAtq -v ON_ERROR_STOP=1 -c '\timing on' \
			-c "SELECT packed FROM camera_health.pack_history(before => 'infinity')" >"$WORK/$label.pack"
		pack_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/$label.pack")
		echo "history: $label: packing the ingested checks: $(head -1 "$WORK/$label.pack") checks in $pack_ms ms"
	fi
	logged=$(grep -v '^Time' "$WORK/$label.ingest" | tail -n "$((nb - WARMUP))" | awk '{s += $1} END {print s}')
	all=$(grep -v '^Time' "$WORK/$label.ingest" | awk '{s += $1} END {print s}')
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/$label.ingest" >"$WORK/$label.batch_ms"
	# (the packing's share: the timed batches' part of all checks packed)
	awk -v n="$logged" -v a="$all" -v p="$pack_ms" -v l="$label" -v b="$BATCH" '{s += $1} END {
		s += p * n / a
		printf "history: %s: ingest %d checks in %d batches of %d in %.2f s (packing included): %.0f checks/s\n", l, n, NR, b, s / 1000, n / (s / 1000)
		printf "ingest=%.0f\n", n / (s / 1000) >"/dev/stderr" }' "$WORK/$label.batch_ms" 2>>"$fig"
	echo "history: $label: per batch $(pct "$WORK/$label.batch_ms")"
	# what those checks take on disk as the ingest wrote them (a chunk grown
	# by an UPDATE a batch), after VACUUM ANALYZE
	sql "VACUUM ANALYZE" >/dev/null
	IFS='|' read -r heap1 toast1 idx1 < <(sizes)
	awk -v l="$label" -v c="$all" -v h="$((heap1 - heap0))" -v t="$((toast1 - toast0))" -v i="$((idx1 - idx0))" -v m="$((nb * BATCH_MS / 60000))" 'BEGIN {
		printf "history: %s: the %d checks of those %d minutes as ingest wrote them: %.1f bytes per check (heap %.1f, TOAST %.1f, indexes %.1f)\n",
			l, c, m, (h + t + i) / c, h / c, t / c, i / c
		printf "ingest_bytes=%.1f\n", (h + t + i) / c >"/dev/stderr" }' 2>>"$fig"
)

echo "history: $CAMERAS cameras x $DAYS days up to $END ($checks_per_s checks/s: $(awk -v r="$checks_per_s" -v d="$DAYS" 'BEGIN {printf "%.0f", r * 86400 * d}') checks), batches of $BATCH ($BATCH_MS ms of the fleet's checks)"
labels=()
if [ "$BASELINE" != none ]; then
	measure "$BASELINE" "$WORK/baseline/.pginst"
	labels+=("$BASELINE")
fi
if [ "$NEW" != 0 ]; then
	measure "new" "$ROOT/.pginst"
	labels+=(new)
fi
if [ ${#labels[@]} = 2 ]; then
	get() { sed -n "s/^$2=//p" "$WORK/$1.fig"; }
	awk -v ob="$(get "${labels[0]}" bytes)" -v nb="$(get new bytes)" -v oi="$(get "${labels[0]}" ingest)" \
		-v ni="$(get new ingest)" -v o1="$(get "${labels[0]}" logs100_p99)" -v n1="$(get new logs100_p99)" \
		-v od="$(get "${labels[0]}" logsday_p99)" -v nd="$(get new logsday_p99)" \
		-v ow="$(get "${labels[0]}" ingest_bytes)" -v nw="$(get new ingest_bytes)" -v base="$BASELINE" \
		-v fl="$(get new floor_p99)" 'BEGIN {
		printf "history: new against %s: bytes per check %.1f against %.1f (%.1fx smaller), as ingest wrote them %.1f against %.1f (%.1fx; target 50 or less); ingest %.0f against %.0f checks/s (%.2fx; target at least 1x); camera_logs p99 last 100 checks %.1f against %.1f ms, last day %.1f against %.1f ms (target under 20 ms; the same rows from a plain table: %.1f ms)\n",
			base, nb, ob, ob / nb, nw, ow, ow / nw, ni, oi, ni / oi, n1, o1, nd, od, fl }'
	if [ "$(get "${labels[0]}" same_checks)" = "$(get new same_checks)" ]; then
		echo "history: camera_logs() of camera $(( CAMERAS / 2 + 1 ))'s last day: the same checks, statuses and latencies in both layouts"
	else
		echo "history: camera_logs() of camera $(( CAMERAS / 2 + 1 ))'s last day DIFFERS between the layouts (times, statuses or latencies)"
	fi
fi
