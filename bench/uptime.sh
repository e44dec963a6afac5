#!/usr/bin/env bash
# Uptime from the hourly trends at fleet scale.  Generates check_trends rows
# directly (as ingest would have left them: ip, port and vision every hour,
# a few percent of camera-hours partly down, some blind, some maintenance):
# CAMERAS cameras x DAYS days, plus one camera x 365 days; then times, each
# RUNS times (p50 and p99 of the runs, after one warm-up run):
#   - camera_uptime() over a year for the one camera   (target < 50 ms)
#   - fleet_uptime() over DAYS days for all cameras    (target < 2 s)
#   - camera_uptime() over 30 days for a fleet camera
# and prints the table's bytes per row (heap + indexes, after VACUUM ANALYZE).
# A private stack of its own; the cameras are in a database of their own, so
# no worker ever checks them.
#
#   bench/uptime.sh [CAMERAS [DAYS [RUNS]]]     (defaults 10000 30 15)
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-10000}
DAYS=${2:-30}
RUNS=${3:-15}
DB=ch_bench_uptime

. scripts/stack.sh
trap stack_stop EXIT
stack_start "shared_buffers = '2GB'" "max_wal_size = '8GB'" "work_mem = '64MB'" \
	"maintenance_work_mem = '512MB'" "max_parallel_workers_per_gather = 2"
psql -XAtq -d postgres -c "CREATE DATABASE $DB" >/dev/null
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sql "CREATE EXTENSION camera_health" >/dev/null

# the cameras (straight into the table: the API's checks are not measured
# here), a site per 100, the year-long one last
sql "INSERT INTO camera_health.cameras (ip_address, port, rtsp_url, site)
	SELECT ('10.' || (i / 62500) || '.' || (i / 250 % 250) || '.' || (i % 250 + 1))::inet, 554,
		   'rtsp://10.0.0.1/' || i, 'site ' || (i / 100)
	FROM generate_series(0, $CAMERAS) i" >/dev/null
YEAR_CAM=$(sql "SELECT max(id) FROM camera_health.cameras")
FLEET_CAM=$(sql "SELECT min(id) FROM camera_health.cameras")

# monthly partitions from a year ago to this month
sql "DO \$\$
DECLARE m date;
BEGIN
	FOR m IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC' - interval '366 days'),
									date_trunc('month', now() AT TIME ZONE 'UTC'), interval '1 month')::date LOOP
		CONTINUE WHEN to_regclass(format('camera_health.check_trends_p%s', to_char(m, 'YYYYMM'))) IS NOT NULL;
		EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.check_trends FOR VALUES FROM (%L) TO (%L)',
					   'check_trends_p' || to_char(m, 'YYYYMM'), m::timestamp AT TIME ZONE 'UTC',
					   (m + interval '1 month') AT TIME ZONE 'UTC');
		EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.uptime_daily FOR VALUES FROM (%L) TO (%L)',
					   'uptime_daily_p' || to_char(m, 'YYYYMM'), m::timestamp AT TIME ZONE 'UTC',
					   (m + interval '1 month') AT TIME ZONE 'UTC');
	END LOOP;
END \$\$" >/dev/null

# fill CAM_FILTER FROM_DAYS: DAYS of hours (back from the start of this hour)
# of every check type for the cameras CAM_FILTER selects; the figures vary
# with a hash of camera and hour: 3 % of camera-hours partly down, 2 % blind,
# 0.5 % in maintenance
fill() {
	sql "INSERT INTO camera_health.check_trends AS t (camera_id, hour, check_type, n_ok, n_warning, n_critical,
			n_error, latency_sum, latency_min, latency_max, latency_hist, monitored_s, down_s, blind_s, maintenance_s)
		SELECT c.id, h, ct,
			   n - CASE WHEN down THEN n / 3 ELSE 0 END, 0, CASE WHEN down THEN n / 3 ELSE 0 END, 0,
			   CASE WHEN ct <> 'vision' THEN 0.4 * n END, CASE WHEN ct <> 'vision' THEN 0.2 END,
			   CASE WHEN ct <> 'vision' THEN 1.1 END, CASE WHEN ct <> 'vision' THEN hist.hh END,
			   CASE WHEN maint THEN 0 ELSE 3600 END, CASE WHEN down AND NOT maint THEN 1200 ELSE 0 END,
			   CASE WHEN (down OR blind) AND NOT maint AND ct IN ('ip', 'vision') THEN 900 ELSE 0 END,
			   CASE WHEN maint THEN 3600 ELSE 0 END
		FROM camera_health.cameras c
		CROSS JOIN generate_series(to_timestamp(floor(extract(epoch FROM now()) / 3600) * 3600) - interval '$2 days',
								   to_timestamp(floor(extract(epoch FROM now()) / 3600) * 3600) - interval '1 hour',
								   interval '1 hour') h
		CROSS JOIN unnest(ARRAY['ip', 'port', 'vision']) ct
		CROSS JOIN (SELECT camera_health.latency_hist(0.2 + (x % 10) * 0.1) AS hh FROM generate_series(1, 120) x) hist
		CROSS JOIN LATERAL (SELECT abs(hashint8(c.id * 1000003 + extract(epoch FROM h)::bigint / 3600)) % 1000 AS r) r
		CROSS JOIN LATERAL (SELECT r.r < 30 AS down, r.r BETWEEN 30 AND 49 AS blind, r.r BETWEEN 50 AND 54 AS maint,
								   CASE ct WHEN 'ip' THEN 120 WHEN 'port' THEN 60 ELSE 12 END AS n) f
		WHERE $1
		ORDER BY h, c.id" >/dev/null
}
start=$(date +%s)
# a day at a time, in time order, as ingest writes them
for d in $(seq "$DAYS" -1 1); do
	fill "c.id <> $YEAR_CAM AND h >= now() - interval '$d days' AND h < now() - interval '$((d - 1)) days'" "$DAYS"
done
fill "c.id <> $YEAR_CAM AND h < now() - interval '$DAYS days'" "$DAYS"
fill "c.id = $YEAR_CAM" 365
# the daily sums record_trends keeps beside the hours, from those hours
sql "INSERT INTO camera_health.uptime_daily (camera_id, day, ip_monitored_s, ip_down_s, stream_monitored_s,
		stream_down_s, blind_s, maintenance_s)
	SELECT camera_id, to_timestamp(floor(extract(epoch FROM hour) / 86400) * 86400),
		   sum(monitored_s) FILTER (WHERE check_type = 'ip'), sum(down_s) FILTER (WHERE check_type = 'ip'),
		   sum(monitored_s) FILTER (WHERE check_type = 'vision'), sum(down_s) FILTER (WHERE check_type = 'vision'),
		   sum(blind_s) FILTER (WHERE check_type IN ('ip', 'vision')), sum(maintenance_s) FILTER (WHERE check_type = 'ip')
	FROM camera_health.check_trends GROUP BY 1, 2" >/dev/null
sql "VACUUM ANALYZE camera_health.check_trends" >/dev/null
sql "VACUUM ANALYZE camera_health.uptime_daily" >/dev/null
DAILY_ROWS=$(sql "SELECT count(*) FROM camera_health.uptime_daily")
DAILY_BYTES=$(sql "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'camera_health.uptime_daily'::regclass")
ROWS=$(sql "SELECT count(*) FROM camera_health.check_trends")
BYTES=$(sql "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'camera_health.check_trends'::regclass")
HEAP=$(sql "SELECT sum(pg_table_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'camera_health.check_trends'::regclass")
echo "generated $ROWS trend rows ($CAMERAS cameras x $DAYS days x 24 h x 3 checks, one camera x 365 days) in $(( $(date +%s) - start )) s"
echo "check_trends: $(( BYTES / ROWS )) bytes per row with its index ($(( HEAP / ROWS )) heap), $(( BYTES / 1048576 )) MB"
echo "  (10,000 cameras x 3 checks x 24 h x 400 days would take $(( BYTES / ROWS * 10000 * 3 * 24 * 400 / 1073741824 )) GB)"
echo "uptime_daily: $DAILY_ROWS rows, $(( DAILY_BYTES / DAILY_ROWS )) bytes per row with its index (10,000 cameras x 400 days: $(( DAILY_BYTES / DAILY_ROWS * 10000 * 400 / 1048576 )) MB)"

# time LABEL SQL: RUNS timings after a warm-up, p50 and p99 (nearest rank)
time_it() {
	local label=$1 query=$2
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null -c "$query"
	python3 - "$label" "$RUNS" "$DB" "$query" <<-'PY'
		import subprocess, sys, time, math
		label, runs, db, query = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
		# one psql session; \timing prints each statement's time
		script = "\\timing on\n" + (query.rstrip(";") + ";\n") * runs
		out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db], input=script,
		                     capture_output=True, text=True, check=True).stdout
		ms = sorted(float(l.split()[1]) for l in out.splitlines() if l.startswith("Time: "))
		assert len(ms) == runs, out
		pick = lambda q: ms[max(0, math.ceil(q * runs) - 1)]
		print(f"{label}: p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms ({runs} runs)")
	PY
}
time_it "camera_uptime, one camera, 365 days" \
	"SELECT * FROM camera_health.camera_uptime($YEAR_CAM, now() - interval '365 days', now())"
time_it "camera_uptime, one camera, 30 days" \
	"SELECT * FROM camera_health.camera_uptime($FLEET_CAM, now() - interval '30 days', now())"
time_it "fleet_uptime, $CAMERAS cameras, $DAYS days (a row per site and the fleet)" \
	"SELECT count(*) FROM camera_health.fleet_uptime(now() - interval '$DAYS days', now())"
time_it "fleet_uptime, one site, $DAYS days" \
	"SELECT count(*) FROM camera_health.fleet_uptime(now() - interval '$DAYS days', now(), 'site 7')"

# the p95 of the latency histograms against the exact p95 of the samples
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
SELECT setseed(0.42);
WITH samples AS (
	SELECT t, exp(ln(0.3) + random() * 4) AS v FROM generate_series(1, 500) t, generate_series(1, 120) i
), per AS (
	SELECT t, percentile_disc(0.95) WITHIN GROUP (ORDER BY v) AS exact,
		   camera_health.latency_hist_quantile(camera_health.latency_hist(v), 0.95) AS est,
		   length(camera_health.latency_hist(v)) AS bytes
	FROM samples GROUP BY t
)
SELECT 'p95 of 500 hours of 120 samples spread over 0.3 to 16 ms: error max ' || round(max(abs(est - exact) / exact)::numeric * 100, 2)
	|| ' %, mean ' || round(avg(abs(est - exact) / exact)::numeric * 100, 2) || ' %; histogram ' || round(avg(bytes)) || ' bytes'
FROM per;
WITH samples AS (
	SELECT t, 0.25 + random() * 0.2 AS v FROM generate_series(1, 500) t, generate_series(1, 120) i
), per AS (
	SELECT t, percentile_disc(0.95) WITHIN GROUP (ORDER BY v) AS exact,
		   camera_health.latency_hist_quantile(camera_health.latency_hist(v), 0.95) AS est,
		   length(camera_health.latency_hist(v)) AS bytes
	FROM samples GROUP BY t
)
SELECT 'p95 of 500 healthy hours (0.25 to 0.45 ms): error max ' || round(max(abs(est - exact) / exact)::numeric * 100, 2)
	|| ' %, mean ' || round(avg(abs(est - exact) / exact)::numeric * 100, 2) || ' %; histogram ' || round(avg(bytes)) || ' bytes'
FROM per;
SQL

# what record_trends adds to ingest: record_results on batches of 6,000
# results (2,000 cameras x ip, port, vision, 97 % ok), with the trends and
# with record_trends made a no-op (in a transaction rolled back afterwards)
python3 - "$DB" "$RUNS" <<'PY'
import subprocess, sys
db, runs = sys.argv[1], int(sys.argv[2])
setup = """
SET search_path = camera_health, public;
CREATE TEMP TABLE batch AS
SELECT b, jsonb_agg(jsonb_build_object('camera_id', c.id, 'check_type', ct,
	'status', CASE WHEN (c.id + b) % 33 = 0 THEN 'critical' ELSE 'ok' END,
	'checked_ms', 1767225600000 + b * 30000 + c.id % 1000,
	'latency_ms', CASE WHEN ct <> 'vision' AND (c.id + b) % 33 <> 0 THEN 0.3 + (c.id % 7) * 0.1 END,
	'metadata', CASE WHEN ct = 'vision' THEN '{"blur": {"detected": false}, "obstruction": {"detected": false}}'::jsonb
				ELSE '{"method": "icmp", "detail": "echo reply"}' END)) AS results
FROM generate_series(1, 2 * RUNS + 1) b, (SELECT id FROM cameras ORDER BY id LIMIT 2000) c,
	 unnest(ARRAY['ip', 'port', 'vision']) ct
GROUP BY b;
SELECT count(*) FROM record_results((SELECT results FROM batch WHERE b = 1), 3, 2);
""".replace("RUNS", str(runs))
body = "\\timing on\n"
for b in range(2, runs + 2):
    body += "SELECT logged FROM record_results((SELECT results FROM batch WHERE b = %d), 3, 2);\n" % b
body += "BEGIN;\nCREATE OR REPLACE FUNCTION camera_health.record_trends(batch camera_health.batch_result[], rnd bigint) RETURNS void LANGUAGE sql AS 'SELECT';\n"
for b in range(runs + 2, 2 * runs + 2):
    body += "SELECT logged FROM record_results((SELECT results FROM batch WHERE b = %d), 3, 2);\n" % b
body += "ROLLBACK;\n"
out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db], input=setup + body,
                     capture_output=True, text=True, check=True).stdout
ms = [float(l.split()[1]) for l in out.splitlines() if l.startswith("Time: ")]
# the timings of the SELECTs: runs with trends, BEGIN, CREATE, runs without, ROLLBACK
with_t = sorted(ms[:runs]); without = sorted(ms[runs + 2:2 * runs + 2])
med = lambda v: v[len(v) // 2]
print(f"ingest (record_results, 6,000 results a batch): {6000 / med(with_t) * 1000:.0f} checks/s with the trends, "
      f"{6000 / med(without) * 1000:.0f} without (median of {runs} batches each): record_trends costs "
      f"{(med(with_t) - med(without)) / 6000 * 1000:.0f} us a check")
PY
