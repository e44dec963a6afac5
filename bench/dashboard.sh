#!/usr/bin/env bash
# The dashboard's reads at fleet scale (issue 13).  CAMERAS cameras (a site
# per 100, two tags each), each with the latest status of its three checks
# (about 5 % failing), 3 % with an open alert, five resolved alerts each
# over the last month, half with a snapshot, one
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
# Then the fleet page itself (the "page" part): PAGE_CAMERAS cameras (5,000)
# and PAGE_ALERTS open alerts (500) in the database PostgREST serves, behind
# PostgREST and nginx as `make run` serves them, opened PAGE_RUNS times in
# headless Chromium (playwright-core, bench/dashboard_page.mjs), each time
# in a fresh context (empty cache) after one warm-up: the time from
# navigation start until the page is usable, i.e. its counts equal
# health_summary()'s, the wall holds its first page of tiles (200) and the
# open alerts list its first page (50), in the frame that shows it (p50,
# p99; target under 1.5 s, printed as met or not, never a failure); then on
# the usable page, whether it stays responsive: scrolling to the next 200
# tiles, a search ("camera 42": 111 tiles), the main thread's long tasks
# (the longest, the total blocking time).  Beside
# it, in the same run, the peer: the four API calls the page makes at load
# (/health/summary, /health/board?max_rows=200, /health/alerts?max_rows=50,
# /health/maintenance?only_current=true), one after another with curl, so
# that the page's own cost over its data shows.  No worker checks those
# cameras: Redis is stopped before they are written (the scheduler has
# nowhere to put a check, the probers nothing to take), and every address
# is in 127.0.0.0/8 anyway.
#
#   bench/dashboard.sh [CAMERAS [RUNS [PAGE_RUNS]]]     (defaults 10000 20 10)
#   PARTS="reads page" (the default), or either alone
#   PAGE_CAMERAS=5000 PAGE_ALERTS=500
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-10000}
RUNS=${2:-20}
PAGE_RUNS=${3:-10}
PAGE_CAMERAS=${PAGE_CAMERAS:-5000}
PAGE_ALERTS=${PAGE_ALERTS:-500}
PARTS=${PARTS:-reads page}
DB=ch_bench_dashboard
ROOT=$(pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
part() { [[ " $PARTS " == *" $1 "* ]]; }

. scripts/stack.sh
# shellcheck source=scripts/http.sh
. scripts/http.sh
# shellcheck source=scripts/testdata.sh
. scripts/testdata.sh
if part page; then
	[ -x "$CHROMIUM" ] || { echo "no Chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)" >&2; exit 1; }
	[ -f tools/node_modules/playwright-core/package.json ] || { echo "no playwright-core in tools/ (scripts/setup.sh runs npm ci)" >&2; exit 1; }
fi

# what this script started, stopped in the reverse order, then the stack
PIDS=()
cleanup() {
	local i
	trap '' INT TERM HUP
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null || true
		wait "${PIDS[i]}" 2>/dev/null || true
	done
	stack_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
stack_start
# nothing here needs Redis: without it no worker checks a camera (the page
# part's are in the database the workers serve)
redis_stop

# ---- the reads, in SQL, in a database of their own
reads() {
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
			   CASE WHEN abs(hashint8(c.id * 3 + t.n) % 100) < 2 THEN 'critical' WHEN abs(hashint8(c.id * 3 + t.n) % 100) < 4 THEN 'warning'
					ELSE 'ok' END, now() - interval '1 hour', now()
		FROM camera_health.cameras c, (VALUES ('ip', 0), ('port', 1), ('vision', 2)) t(check_type, n)
		WHERE c.id % 50 <> 0" >/dev/null
	sql "INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message, created_at, last_seen_at)
		SELECT c.id, 'camera_unreachable', CASE WHEN c.id % 2 = 0 THEN 'critical' ELSE 'warning' END, 'no answer',
			   now() - c.id * interval '1 second', now()
		FROM camera_health.cameras c WHERE c.id % 33 = 0" >/dev/null
	# and a month's resolved ones, five a camera, as a fleet has after a while:
	# open_alerts() must find the few open ones without reading them
	sql "INSERT INTO camera_health.alerts (camera_id, alert_type, severity, status, message, created_at, last_seen_at, resolved_at)
		SELECT c.id, 'stream_unavailable', 'critical', 'resolved', 'no stream',
			   now() - (c.id + n * 86400 * 6) * interval '1 second', now() - (c.id + n * 86400 * 6 - 60) * interval '1 second',
			   now() - (c.id + n * 86400 * 6 - 120) * interval '1 second'
		FROM camera_health.cameras c, generate_series(1, 5) n" >/dev/null
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
	echo "$(sql "SELECT count(*) FROM camera_health.cameras") cameras, $(sql "SELECT count(*) FROM camera_health.alerts WHERE resolved_at IS NULL") open alerts" \
		"($(sql "SELECT count(*) FROM camera_health.alerts WHERE resolved_at IS NOT NULL") resolved);" \
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
}

# ---- the fleet page in Chromium, and its API calls with curl
# pct P FILE: the P-th percentile (0 to 1, interpolated as percentile_cont) of FILE's numbers
pct() {
	sort -g "$2" | awk -v p="$1" '{ a[NR] = $1 } END { r = 1 + p * (NR - 1); i = int(r); v = a[i];
		if (i < NR) v += (r - i) * (a[i + 1] - a[i]); printf "%.1f", v }'
}

page() {
	local work pic src want open tiles alerts_page writer i t url run s search search_tiles
	q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
	work="$STACK_DIR/page"
	mkdir -p "$work"
	# a thumbnail as the vision check keeps them (about 320 pixels wide, at most 64 kB)
	pic="$work/thumb.jpg"
	src="$TESTDATA/variants/vtest-shift-15.jpg"
	if ! ffmpeg -nostdin -loglevel error -y -i "$src" -vf scale=320:-2 -q:v 5 "$pic" 2>/dev/null; then
		cp "$(find "$TESTDATA/variants" -name '*.jpg' -size -60k | sort | head -1)" "$pic"
	fi
	# in the database the workers and PostgREST serve (Redis is stopped: no check runs)
	psql -XAtq -v ON_ERROR_STOP=1 -v pic="$(base64 -w0 "$pic")" >/dev/null <<-SQL
		INSERT INTO camera_health.cameras (ip_address, port, rtsp_url, name, site, tags, enabled)
		SELECT ('127.' || (i / 62500 + 1) || '.' || (i / 250 % 250) || '.' || (i % 250 + 1))::inet, 9,
			   'rtsp://viewer:pw@127.0.0.1:9/' || i, 'camera ' || i, 'site ' || (i / 100),
			   ARRAY['floor' || (i % 7), CASE WHEN i % 3 = 0 THEN 'outdoor' ELSE 'indoor' END], i % 97 <> 0
		FROM generate_series(1, $PAGE_CAMERAS) i;
		INSERT INTO camera_health.camera_status (camera_id, check_type, status, since, checked_at)
		SELECT c.id, t.check_type,
			   CASE WHEN abs(hashint8(c.id * 3 + t.n) % 100) < 2 THEN 'critical' WHEN abs(hashint8(c.id * 3 + t.n) % 100) < 4 THEN 'warning'
					ELSE 'ok' END, now() - interval '1 hour', now()
		FROM camera_health.cameras c, (VALUES ('ip', 0), ('port', 1), ('vision', 2)) t(check_type, n)
		WHERE c.id % 50 <> 0;
		INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message, created_at, last_seen_at)
		SELECT c.id, (ARRAY['camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable', 'blur',
							'obstruction', 'displacement', 'frozen'])[c.id % 8 + 1],
			   CASE WHEN c.id % 3 = 0 THEN 'critical' ELSE 'warning' END, 'bench alert of camera ' || c.id,
			   now() - c.id * interval '1 second', now()
		FROM (SELECT id FROM camera_health.cameras ORDER BY hashint8(id) LIMIT $PAGE_ALERTS) c;
		INSERT INTO camera_health.snapshots (camera_id, taken_at, jpeg)
		SELECT c.id, now(), decode(:'pic', 'base64') FROM camera_health.cameras c WHERE c.id % 2 = 0;
		SELECT camera_health.add_maintenance(now() - interval '1 hour', now() + interval '1 day', site => 'site 7');
		VACUUM ANALYZE;
	SQL
	# what the page's counts must equal (the data stays as it is: nothing checks)
	want=$(q "SELECT format('healthy=%s unhealthy=%s unknown=%s maintenance=%s disabled=%s cameras=%s open_alerts=%s',
		s ->> 'healthy', s ->> 'unhealthy', s ->> 'unknown', s ->> 'maintenance', s ->> 'disabled', s ->> 'cameras',
		s -> 'open_alerts' ->> 'total') FROM camera_health.health_summary() s")
	open=$(q "SELECT count(*) FROM camera_health.alerts WHERE resolved_at IS NULL")
	tiles=$((PAGE_CAMERAS < 200 ? PAGE_CAMERAS : 200))
	alerts_page=$((open < 50 ? open : 50))

	HTTP_DIR="$STACK_DIR/http"
	export HTTP_DIR
	http_start "$PGDATABASE"
	writer=$(http_token camera_health_writer 3600)

	echo
	echo "== the fleet page: $PAGE_CAMERAS cameras, $open open alerts, through nginx and PostgREST"
	echo "health_summary(): $want"
	echo "usable: those counts shown, $tiles tiles on the wall, $alerts_page alerts in the list (fresh context each run, $PAGE_RUNS runs after a warm-up)"
	# a search the page answers with fewer tiles than a page: names with "camera 42"
	search="camera 42"
	search_tiles=$(q "SELECT count(*) FROM camera_health_api.camera_board(search => '$search', max_rows => 200)")
	DASH_BASE="$HTTP_BASE" DASH_WRITER="$writer" DASH_WANT="$want" DASH_TILES="$tiles" DASH_ALERTS="$alerts_page" \
		DASH_SEARCH="$search" DASH_SEARCH_TILES="$search_tiles" \
		DASH_RUNS="$PAGE_RUNS" CHROMIUM="$CHROMIUM" node "$ROOT/bench/dashboard_page.mjs" &
	PIDS+=($!)
	wait "${PIDS[-1]}"
	unset 'PIDS[-1]'

	# the peer: the page's four calls at load, one after another on one connection
	echo
	echo "peer: the page's API calls at load, with curl one after another (one connection), $PAGE_RUNS runs after a warm-up"
	local calls=("/health/summary" "/health/board?max_rows=200" "/health/alerts?max_rows=50" "/health/maintenance?only_current=true")
	local args=()
	for url in "${calls[@]}"; do args+=(-o /dev/null "$HTTP_BASE$url"); done
	: >"$work/sum"
	for ((i = 0; i < ${#calls[@]}; i++)); do : >"$work/call$i"; done
	for ((run = 0; run <= PAGE_RUNS; run++)); do
		t=$(curl -sS --fail -H 'Accept: application/json' -H "Authorization: Bearer $writer" \
			-w '%{time_total}\n' "${args[@]}")
		[ "$run" -gt 0 ] || continue
		i=0
		while read -r s; do
			awk -v s="$s" 'BEGIN { printf "%.3f\n", s * 1000 }' >>"$work/call$i"
			i=$((i + 1))
		done <<<"$t"
		awk '{ s += $1 } END { printf "%.3f\n", s * 1000 }' <<<"$t" >>"$work/sum"
	done
	printf '%-44s %9s %9s\n' "call" "p50 ms" "p99 ms"
	for ((i = 0; i < ${#calls[@]}; i++)); do
		printf '%-44s %9s %9s\n' "GET ${calls[i]}" "$(pct 0.5 "$work/call$i")" "$(pct 0.99 "$work/call$i")"
	done
	printf '%-44s %9s %9s\n' "the four, summed" "$(pct 0.5 "$work/sum")" "$(pct 0.99 "$work/sum")"
}

if part reads; then reads; fi
if part page; then page; fi
