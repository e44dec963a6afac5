#!/usr/bin/env bash
# The operator's dashboard (web/, served by nginx at /dashboard/) in a real
# browser: Debian's Chromium driven by playwright-core
# (test/dashboard/check.mjs), against the stack's workers, visionproc over
# the test RTSP server's clips, PostgREST and nginx.  Three cameras: a
# healthy one, a covered one (its obstruction alert with evidence) and one
# whose port fails while the page is open; a maintenance window over the
# third one's site.  Shows: nginx serves the files with their types, a CSP
# and revalidation; the token leaves the address bar; the fleet counts equal
# health_summary() read here with psql; the covered camera's tile and page
# show its alert, evidence and reference (pictures loaded); the uptime over
# 24 h and 30 days is health_summary()'s; the open alerts are grouped per
# site as notifications group them (alert_group_key()); acknowledging,
# starting and ending maintenance, disabling and enabling, resetting a
# reference (after a confirm) in the page change the database; an API
# error is shown; the stack refuses none of the browser's requests but
# the two the test provokes; the new alert appears on the open page
# within 10 s; the alerts' filters and the wall's search narrow the page;
# a reader's pages have no control at all; with 5,000 cameras
# more the wall shows 200 and pages on scrolling, pictures lazy.  Screenshots of
# each page, a writer's and a reader's, in test/out/test_dashboard/; with
# DASH_DOCS=DIR also the README's two (DIR/dashboard-fleet.jpg and
# dashboard-camera.jpg, 1200 pixels wide): TESTS=test_dashboard
# DASH_DOCS=docs scripts/test.sh.
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/http.sh
. "$(dirname "$0")/../scripts/http.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
# kept after the run (the stack's directory is not): screenshots
OUT_DIR="$ROOT/test/out/$TEST_NAME"
WORK=$(mktemp -d "$STACK_DIR/dashboard.XXXXXX")
HTTP_DIR="$WORK/http"
export HTTP_DIR
DIR="$WORK/mounts"
PIDS=()
NODE_PID=""
cleanup() {
	local p
	[ -z "$NODE_PID" ] || PIDS+=("$NODE_PID")
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	cleanup_listeners
	q "DELETE FROM camera_health.maintenance_windows WHERE reason LIKE 'dashboard test%'" >/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'dash %'" >/dev/null || true
}
trap cleanup EXIT

[ -x "${CHROMIUM:=/usr/bin/chromium}" ] || fail "no Chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)"
[ -f "$ROOT/tools/node_modules/playwright-core/package.json" ] || fail "no playwright-core in tools/ (scripts/setup.sh runs npm ci)"
export CHROMIUM
if [ -n "${DASH_DOCS:-}" ]; then
	mkdir -p "$DASH_DOCS"
	DASH_DOCS=$(cd "$DASH_DOCS" && pwd)
	export DASH_DOCS
fi
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR" "$DIR"
started=$SECONDS

# ---- the stack: RTSP server, visionproc, PostgREST, nginx, a TCP listener
ln -sfn "$CLIPS/vtest.mp4" "$DIR/healthy"
ln -sfn "$CLIPS/vtest.mp4" "$DIR/covered"
RTSP_PORT=$(free_port)
start_bg "$WORK/rtsp.log" "$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$DIR"
VISIONPROC_REDIS_URL="$REDIS_URL" "$ROOT/visionproc/visionproc" --workers 2 --grab-timeout 4000 \
	--io-timeout 2000 --claim-idle 5000 2>"$WORK/visionproc.log" &
PIDS+=($!)
http_start "$PGDATABASE"
LISTEN_PORT=$(free_port)
listen "$LISTEN_PORT" 127.0.0.1

# ---- nginx serves web/: types, CSP, revalidation
head_of() { curl -sS -o /dev/null -D - "$HTTP_BASE$1" | tr -d '\r'; }
hdr() { sed -n "s/^$2: *//Ip" <<<"$1" | head -1; }
h=$(head_of /dashboard/)
assert_eq "$(head -1 <<<"$h" | cut -d' ' -f2)|$(hdr "$h" Content-Type)" "200|text/html; charset=utf-8" "GET /dashboard/"
[[ "$(hdr "$h" Content-Security-Policy)" == "default-src 'self';"* ]] || fail "GET /dashboard/: CSP $(hdr "$h" Content-Security-Policy)"
assert_eq "$(hdr "$h" Cache-Control)" "no-cache" "GET /dashboard/: Cache-Control"
[ -n "$(hdr "$h" ETag)" ] || fail "GET /dashboard/: no ETag to revalidate with"
for f in js/app.js:text/javascript style.css:text/css favicon.svg:image/svg+xml; do
	h=$(head_of "/dashboard/${f%%:*}")
	[[ "$(hdr "$h" Content-Type)" == "${f#*:}"* ]] || fail "GET /dashboard/${f%%:*}: Content-Type $(hdr "$h" Content-Type)"
	[ -n "$(hdr "$h" Content-Security-Policy)" ] || fail "GET /dashboard/${f%%:*}: no CSP"
done
h=$(head_of /dashboard)
assert_eq "$(head -1 <<<"$h" | cut -d' ' -f2)|$(hdr "$h" Location)" "301|$HTTP_BASE/dashboard/" "GET /dashboard"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$HTTP_BASE/dashboard/nothing.js")" "404" "a file not in web/"
# nothing comes from elsewhere: no URL in web/ but SVG's namespace
urls=$(grep -rEo 'https?://[^ "]*' "$ROOT/web" | grep -v ':http://www.w3.org/2000/svg$' || true)
[ -z "$urls" ] || fail "web/ names URLs elsewhere: $urls"
note "nginx serves web/ at /dashboard/ (text/html, text/javascript, text/css; CSP default-src 'self'; no-cache with ETag)"

# ---- cameras: healthy, covered (after its reference), a port that will fail
reg() { # PORT URL INTERVAL_PORT INTERVAL_VISION NAME SITE
	q "SELECT id FROM camera_health.register_camera('127.0.0.1', $1, $2, interval_ip => 10, interval_port => $3,
		interval_vision => $4, name => 'dash $5', site => '$6')"
}
HEALTHY=$(reg "$RTSP_PORT" "'rtsp://127.0.0.1:$RTSP_PORT/healthy'" 10 3 healthy dash-lobby)
COVERED=$(reg "$RTSP_PORT" "'rtsp://127.0.0.1:$RTSP_PORT/covered'" 10 3 covered dash-lobby)
PORTCAM=$(reg "$LISTEN_PORT" NULL 1 86400 port dash-yard)
q "SELECT camera_health.add_maintenance(now() - interval '1 minute', now() + interval '1 hour', site => 'dash-yard',
	reason => 'dashboard test')" >/dev/null
wait_for 90 "the reference pictures of the two stream cameras" \
	"SELECT count(*) = 2 FROM camera_health.reference_pictures WHERE camera_id IN ($HEALTHY, $COVERED)"
ln -sfn "$CLIPS/vtest-covered.mp4" "$DIR/covered"
wait_for 90 "the covered camera's obstruction alert with its evidence" \
	"SELECT count(*) = 1 FROM camera_health.alerts a JOIN camera_health.alert_evidence e ON (e.camera_id, e.alert_id) = (a.camera_id, a.id)
	 WHERE a.camera_id = $COVERED AND a.alert_type = 'obstruction' AND a.resolved_at IS NULL"
ALERT=$(q "SELECT id FROM camera_health.alerts WHERE camera_id = $COVERED AND alert_type = 'obstruction' AND resolved_at IS NULL")
wait_for 30 "a status of every check of the three cameras" \
	"SELECT count(*) FILTER (WHERE camera_id <> $PORTCAM OR check_type <> 'vision') = 8
	 FROM camera_health.camera_status WHERE camera_id IN ($HEALTHY, $COVERED, $PORTCAM)"
note "cameras $HEALTHY (healthy), $COVERED (covered: obstruction alert $ALERT with evidence), $PORTCAM (port, in maintenance) after $((SECONDS - started)) s"

# what the page's counts must be: health_summary() and the cameras in maintenance now
sql_counts() {
	q "SELECT format('healthy=%s unhealthy=%s unknown=%s maintenance=%s disabled=%s cameras=%s open_alerts=%s',
		s ->> 'healthy', s ->> 'unhealthy', s ->> 'unknown',
		(SELECT count(*) FROM camera_health.cameras c WHERE camera_health.in_maintenance(c.id, c.site, now())),
		s ->> 'disabled', s ->> 'cameras', s -> 'open_alerts' ->> 'total')
	   FROM camera_health.health_summary() s"
}

# ---- the browser, as a coprocess: it asks, this shell answers with psql
WRITER=$(http_token camera_health_writer 900)
READER=$(http_token camera_health_reader 900)
browser_started=$SECONDS
coproc CHECK {
	DASH_BASE="$HTTP_BASE" DASH_WRITER="$WRITER" DASH_READER="$READER" DASH_OUT="$OUT_DIR" \
		DASH_HEALTHY="$HEALTHY" DASH_COVERED="$COVERED" DASH_PORTCAM="$PORTCAM" DASH_ALERT="$ALERT" \
		exec node "$ROOT/test/dashboard/check.mjs"
}
NODE_PID=$CHECK_PID
exec {from_check}<&"${CHECK[0]}" {to_check}>&"${CHECK[1]}"
answer() { printf '%s\n' "$1" >&"$to_check"; }
done=""
while read -r -t 240 -u "$from_check" ask arg; do
	case $ask in
	counts)
		want=$(sql_counts)
		if [ "$arg" = "$want" ]; then answer equal; else answer "$want"; fi
		;;
	uptime)
		# availability over 24 h and 30 days as the page shows them, or null
		read -r d m <<<"$arg"
		[[ "$d $m" =~ ^(null|[0-9.e+-]+)\ (null|[0-9.e+-]+)$ ]] || fail "uptime: $arg"
		answer "$(q "WITH w AS (SELECT (u -> 'last_24h' ->> 'availability')::float8 AS d, (u -> 'last_30d' ->> 'availability')::float8 AS m
				FROM (SELECT camera_health.health_summary() -> 'uptime' AS u) s)
			SELECT CASE WHEN (abs(nullif('$d', 'null')::float8 - d) < 0.001 OR (d IS NULL AND '$d' = 'null'))
					AND (abs(nullif('$m', 'null')::float8 - m) < 0.001 OR (m IS NULL AND '$m' = 'null'))
				THEN 'ok' ELSE coalesce(d::text, 'null') || ' ' || coalesce(m::text, 'null') END FROM w")"
		;;
	groups)
		# the open alerts by the key notifications group them by
		want=$(q "SELECT coalesce(string_agg(k || '=' || ids, ' ' ORDER BY k COLLATE \"C\"), '')
			FROM (SELECT camera_health.alert_group_key(c.site) AS k, string_agg(a.id::text, ',' ORDER BY a.id) AS ids
				FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
				WHERE a.resolved_at IS NULL GROUP BY 1) g")
		if [ "$arg" = "$want" ]; then answer equal; else answer "$want"; fi
		;;
	acknowledged)
		wait_for 10 "alert $arg acknowledged in the database" \
			"SELECT status = 'acknowledged' AND acknowledged_at IS NOT NULL FROM camera_health.alerts WHERE id = $arg"
		answer ok
		;;
	break-port)
		cleanup_listeners
		wait_for 30 "the port camera's port_unavailable alert" \
			"SELECT count(*) = 1 FROM camera_health.alerts WHERE camera_id = $PORTCAM AND alert_type = 'port_unavailable' AND resolved_at IS NULL"
		# its id, and when it opened (ms since the epoch: the browser's clock is this machine's)
		answer "alert $(q "SELECT id || ' ' || (extract(epoch FROM created_at) * 1000)::bigint FROM camera_health.alerts
			WHERE camera_id = $PORTCAM AND alert_type = 'port_unavailable' AND resolved_at IS NULL")"
		;;
	drop-window)
		q "DELETE FROM camera_health.maintenance_windows WHERE reason = 'dashboard test'" >/dev/null
		answer ok
		;;
	window-started)
		if [ "$(q "SELECT count(*) FROM camera_health.maintenance_windows WHERE camera_id = $arg AND reason = 'dashboard test form'
			AND starts_at <= now() AND ends_at > now()")" = 1 ]; then answer ok; else answer missing; fi
		;;
	window-ended)
		if [ "$(q "SELECT count(*) FILTER (WHERE ends_at <= now()) || ' ' || count(*) FILTER (WHERE ends_at > now())
			FROM camera_health.maintenance_windows WHERE camera_id = $arg AND reason = 'dashboard test form'")" = "1 0" ]; then
			answer ok
		else answer running; fi
		;;
	reference-taken)
		# when the camera's reference was taken (epoch microseconds), or none
		answer "$(q "SELECT coalesce(max((extract(epoch FROM taken_at) * 1000000)::bigint)::text, 'none')
			FROM camera_health.camera_references WHERE camera_id = $arg")"
		;;
	reference-reset)
		# gone, or taken again since (visionproc takes the next good frame)
		read -r cam was <<<"$arg"
		[[ "$was" =~ ^[0-9]+$ ]] || fail "reference-reset: $arg"
		if [ "$(q "SELECT count(*) FROM camera_health.camera_references
			WHERE camera_id = $cam AND (extract(epoch FROM taken_at) * 1000000)::bigint <= $was")" = 0 ]; then answer ok; else answer kept; fi
		;;
	enabled)
		read -r cam want <<<"$arg"
		if [ "$(q "SELECT enabled FROM camera_health.cameras WHERE id = $cam")" = "$want" ]; then answer ok; else answer differs; fi
		;;
	bulk)
		# disabled ones (not checked any more: their last vision check stays
		# ok), in the counts and on the wall
		q "WITH c AS (INSERT INTO camera_health.cameras (ip_address, name, site, enabled)
				SELECT ('10.213.' || (i / 250) || '.' || (i % 250 + 1))::inet, 'dash bulk ' || i, 'dash-bulk-' || (i % 10), false
				FROM generate_series(0, $arg - 1) i RETURNING id)
			INSERT INTO camera_health.camera_status (camera_id, check_type, status) SELECT id, 'vision', 'ok' FROM c" >/dev/null
		answer ok
		;;
	done)
		done=1
		;;
	*) fail "the browser test asked: $ask $arg" ;;
	esac
done
rc=0
wait "$NODE_PID" || rc=$?
NODE_PID=""
[ "$rc" = 0 ] && [ -n "$done" ] || fail "the browser test failed (exit $rc)"
for s in fleet-writer camera-writer fleet-reader camera-reader; do
	[ -s "$OUT_DIR/$s.png" ] || fail "no screenshot $s.png"
done
# the pages asked nothing the stack refused or failed but what the test
# provoked: the window it dropped before the click (404) and the reader's
# acknowledgement (403); so no picture is asked for a tile without a
# snapshot either.  499 is not a refusal: the browser left before the
# answer.  Each request as method, path (ids as N, no query) and status.
refused=$(awk '/HeadlessChrome/ && $9 >= 400 && $9 != 499 {
		p = $7; sub(/\?.*/, "", p); gsub(/\/[0-9]+/, "/N", p); print substr($6, 2), p, $9
	}' "$STACK_DIR/log/nginx-access.log" | sort | uniq -c | awk '{ $1 = $1; print }')
want_refused=$'1 POST /health/camera/N/alerts/N/acknowledge 403\n1 POST /health/maintenance/N/end 404'
[ "$refused" = "$want_refused" ] || fail "the browser's requests refused by the stack (count, request, status; nginx's access log):
$refused
expected:
$want_refused"
note "the stack refused only the two requests the test provoked (a dropped window: 404; a reader's acknowledgement: 403)"
[ -z "${DASH_DOCS:-}" ] || for s in dashboard-fleet dashboard-camera; do
	[ -s "$DASH_DOCS/$s.jpg" ] || fail "no picture $DASH_DOCS/$s.jpg"
	note "README picture $DASH_DOCS/$s.jpg: $(stat -c %s "$DASH_DOCS/$s.jpg") bytes"
done
note "browser part: $((SECONDS - browser_started)) s; screenshots in ${OUT_DIR#"$ROOT"/}: $(cd "$OUT_DIR" && ls ./*.png | tr '\n' ' ')"
note "whole test: $((SECONDS - started)) s"
echo "ok"
