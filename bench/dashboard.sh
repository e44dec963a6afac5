#!/usr/bin/env bash
# The dashboard's reads at fleet scale (issue 13).  CAMERAS cameras (a site
# per 100, two tags each), each with the latest status of its three checks
# (about 5 % failing), 3 % with an open alert, half with a snapshot, one
# site in maintenance; and one camera with a day of checks at the default
# intervals (ip 30 s, port 60 s, vision 300 s: 4,608 checks), packed as
# ingest packs them but for the current hour.  Times, each RUNS times (p50
# and p99, after one warm-up run):
#   - camera_board(): the first page (200), a page in the middle, every
#     camera in one health (a pass over the whole fleet), a search;
#   - open_alerts(): the first page (200);
#   - camera_heartbeat(): the day of the one camera;
# beside two peers measured in the same run: camera_logs() over the same day
# (what a heartbeat would cost without its arrays) and list_cameras()
# (every camera, nothing joined); then prints each one's plan (auto_explain,
# the statement inside the function, with its actual times).
# A private stack of its own; the cameras are in a database of their own, so
# no worker ever checks them.
#
#   bench/dashboard.sh [CAMERAS [RUNS]]     (defaults 10000 20)
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-10000}
RUNS=${2:-20}
DB=ch_bench_dashboard

. scripts/stack.sh
trap stack_stop EXIT
stack_start
psql -XAtq -d postgres -c "CREATE DATABASE $DB" >/dev/null
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sql "CREATE EXTENSION camera_health" >/dev/null

sql "INSERT INTO camera_health.cameras (ip_address, port, rtsp_url, name, site, tags, enabled)
	SELECT ('10.' || (i / 62500) || '.' || (i / 250 % 250) || '.' || (i % 250 + 1))::inet, 554,
		   'rtsp://viewer:pw@10.0.0.1/' || i, 'camera ' || i, 'site ' || (i / 100),
		   ARRAY['floor' || (i % 7), CASE WHEN i % 3 = 0 THEN 'outdoor' ELSE 'indoor' END], i % 97 <> 0
	FROM generate_series(1, $CAMERAS) i" >/dev/null
sql "INSERT INTO camera_health.camera_status (camera_id, check_type, status, since, checked_at)
	SELECT c.id, t.check_type,
		   CASE WHEN hashint8(c.id * 3 + t.n) % 100 < 2 THEN 'critical' WHEN hashint8(c.id * 3 + t.n) % 100 < 4 THEN 'warning'
				ELSE 'ok' END, now() - interval '1 hour', now()
	FROM camera_health.cameras c, (VALUES ('ip', 0), ('port', 1), ('vision', 2)) t(check_type, n)
	WHERE c.id % 50 <> 0" >/dev/null
sql "INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message, created_at, last_seen_at)
	SELECT c.id, 'camera_unreachable', CASE WHEN c.id % 2 = 0 THEN 'critical' ELSE 'warning' END, 'no answer',
		   now() - c.id * interval '1 second', now()
	FROM camera_health.cameras c WHERE c.id % 33 = 0" >/dev/null
sql "INSERT INTO camera_health.snapshots (camera_id, taken_at, jpeg)
	SELECT c.id, now(), '\\xffd8' || decode(repeat('00', 12000), 'hex') || '\\xffd9'
	FROM camera_health.cameras c WHERE c.id % 2 = 0" >/dev/null
sql "SELECT camera_health.add_maintenance(now() - interval '1 hour', now() + interval '1 day', site => 'site 7')" >/dev/null

# a day of one camera: every check through health_logs, packed but for this hour
BEAT=$(sql "SELECT min(id) + 1 FROM camera_health.cameras")
sql "INSERT INTO camera_health.health_logs (camera_id, check_type, status, metadata, created_at)
	SELECT $BEAT, t.check_type, CASE WHEN n % 97 = 0 THEN 'critical' ELSE 'ok' END,
		   CASE WHEN t.check_type = 'vision' THEN '{\"frames\": 2}'::jsonb
				WHEN n % 97 = 0 THEN '{\"method\": \"icmp\", \"detail\": \"timeout\"}'
				ELSE jsonb_build_object('method', 'icmp', 'latency_ms', 0.2 + (n % 50) / 1000.0) END,
		   now() - interval '24 hours' + n * t.every + interval '10 seconds'
	FROM (VALUES ('ip', interval '30 seconds', 2880), ('port', interval '60 seconds', 1440),
				 ('vision', interval '300 seconds', 288)) t(check_type, every, count),
		 generate_series(0, t.count - 1) n
	ORDER BY 5" >/dev/null
sql "SELECT packed FROM camera_health.pack_history()" >/dev/null
sql "VACUUM ANALYZE" >/dev/null
echo "$(sql "SELECT count(*) FROM camera_health.cameras") cameras, $(sql "SELECT count(*) FROM camera_health.alerts") open alerts;" \
	"camera $BEAT: $(sql "SELECT sum(cardinality(at_ms)) FROM camera_health.camera_heartbeat($BEAT)") checks in the last day," \
	"$(sql "SELECT count(*) FROM camera_health.check_history WHERE camera_id = $BEAT") chunks"

MIDDLE=$((CAMERAS / 2))
CALLS=(
	"board, first page|SELECT * FROM camera_health_api.camera_board()"
	"board, a page in the middle|SELECT * FROM camera_health_api.camera_board(after_id => $MIDDLE)"
	"board, status=unhealthy (whole fleet)|SELECT * FROM camera_health_api.camera_board(status => 'unhealthy', max_rows => 1000)"
	"board, search=outdoor|SELECT * FROM camera_health_api.camera_board(search => 'outdoor')"
	"open alerts, first page|SELECT * FROM camera_health_api.open_alerts()"
	"heartbeat, a day (4,608 checks)|SELECT * FROM camera_health_api.camera_heartbeat($BEAT)"
	"peer: camera_logs(), the same day|SELECT * FROM camera_health.camera_logs($BEAT, since => now() - interval '24 hours', max_rows => 10000)"
	"peer: list_cameras(), every camera|SELECT * FROM camera_health.list_cameras()"
)
printf '%-40s %9s %9s %6s\n' "call" "p50 ms" "p99 ms" "rows"
for c in "${CALLS[@]}"; do
	label=${c%%|*}
	query=${c#*|}
	sql "CREATE TEMP TABLE IF NOT EXISTS t (ms float8);
		DO \$\$
		DECLARE t0 timestamptz;
		BEGIN
			PERFORM count(*) FROM ($query) q;
			FOR i IN 1 .. $RUNS LOOP
				t0 := clock_timestamp();
				PERFORM count(*) FROM ($query) q;
				INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
			END LOOP;
		END \$\$;
		SELECT format('%-40s %9s %9s %6s', '$label', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
					  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
					  (SELECT count(*) FROM ($query) q)) FROM t"
done

echo
echo "== plans (auto_explain of the statement inside each function)"
for c in "${CALLS[@]}"; do
	label=${c%%|*}
	query=${c#*|}
	echo "-- $label"
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" 2>&1 >/dev/null <<-SQL | sed -n '/Query Text: RETURN QUERY\|Query Text: WITH\|Query Text: SELECT a\./,$p' | grep -v '^NOTICE:  duration\|Query Text' | sed 's/^NOTICE:  //' || true
		LOAD 'auto_explain';
		SET auto_explain.log_min_duration = 0;
		SET auto_explain.log_analyze = on;
		SET auto_explain.log_buffers = on;
		SET auto_explain.log_nested_statements = on;
		SET auto_explain.log_level = notice;
		SET client_min_messages = notice;
		$query;
	SQL
done
