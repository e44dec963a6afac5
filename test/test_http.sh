#!/usr/bin/env bash
# The HTTP API end to end: the stack's real PostgREST (tools/, 12.0.2) and
# nginx, from the shipped templates in http/, driven with curl on the
# service's own paths and PostgREST's.  Shows each status code (201, 200,
# 400, 401, 403, 404, 405, 409, 413, 503), every bad input of the SQL API's
# table through HTTP (with the SQLSTATE in the body), no token vs a reader's
# vs a writer's (and expired or forged ones), masked credentials for
# readers, and that the OpenAPI document lists the public API and nothing
# else.  Then the same calls through @supabase/postgrest-js
# (test/http/postgrest_js.mjs).
#
# A database of its own: the workers run in camera_health.database only, so
# the addresses registered here are never probed.
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/http.sh
. "$(dirname "$0")/../scripts/http.sh"

DB=ch_http
HTTP_DIR=$(mktemp -d "$STACK_DIR/http.XXXXXX")
export HTTP_DIR
OUT="$HTTP_DIR/out"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

qh() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "$1"
}

PGOPTIONS="-c client_min_messages=warning" psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB TEMPLATE template0" >/dev/null
qh "CREATE EXTENSION camera_health"

http_start "$DB"
note "PostgREST $("$POSTGREST_BIN" --version | head -1), $(nginx -v 2>&1) at $HTTP_BASE"

WRITER=$(http_token camera_health_writer 600)
READER=$(http_token camera_health_reader 600)
EXPIRED=$(http_token camera_health_writer -3600)
# the same claims, signed with another secret
python3 "$HTTP_ROOT/scripts/jwt.py" secret "$HTTP_DIR/other-secret"
FORGED=$(python3 "$HTTP_ROOT/scripts/jwt.py" sign "$HTTP_DIR/other-secret" camera_health_writer 600)

# call METHOD PATH [BODY] [TOKEN]: sets STATUS; the body is in $OUT, the
# response headers in $OUT.h
call() {
	local method=(-X "$1")
	[ "$1" != HEAD ] || method=(-I)
	local args=(-s -o "$OUT" -D "$OUT.h" -w '%{http_code}' --max-time 20 "${method[@]}" "$HTTP_BASE$2")
	[ $# -lt 3 ] || [ -z "$3" ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ $# -lt 4 ] || [ -z "$4" ] || args+=(-H "Authorization: Bearer $4")
	STATUS=$(curl "${args[@]}") || STATUS="curl failed"
}

# js EXPR: EXPR of the JSON body (as d), printed by Python
js() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$OUT" "$1"
}

header() {
	sed -n "s/^$1: *//Ip" "$OUT.h" | tr -d '\r'
}

# expect STATUS METHOD PATH [BODY] [TOKEN]
expect() {
	local want=$1
	shift
	call "$@"
	[ "$STATUS" = "$want" ] || fail "$1 $2 ${3:-}: status $STATUS, want $want: $(cat "$OUT")"
}

# expect_error STATUS CODE METHOD PATH [BODY] [TOKEN]: the status, and a
# JSON error body with code, message, details and hint
expect_error() {
	local want=$1 code=$2
	shift 2
	expect "$want" "$@"
	[ "$(js "sorted(d)")" = "['code', 'details', 'hint', 'message']" ] ||
		fail "$1 $2: the error body is not code, message, details, hint: $(cat "$OUT")"
	[ "$(js "d['code']")" = "$code" ] || fail "$1 $2 ${3:-}: code $(js "d['code']"), want $code: $(cat "$OUT")"
	[ -n "$(js "d['message']")" ] || fail "$1 $2: an error without a message"
}

# ---- the OpenAPI document lists the public API and nothing else ------------

api_functions=$(qh "SELECT string_agg(p.proname, ' ' ORDER BY p.proname) FROM pg_proc p
	WHERE p.pronamespace = 'camera_health_api'::regnamespace")
api_views=$(qh "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
	WHERE c.relnamespace = 'camera_health_api'::regnamespace")
assert_eq "$api_functions" "acknowledge_alert add_channel add_maintenance alert_evidence camera_alerts camera_board camera_heartbeat camera_latency camera_logs camera_pictures camera_sla camera_snapshot camera_uptime channel_deliveries delete_camera delete_channel end_maintenance export_cameras fleet_uptime get_camera get_log_retention health_summary list_cameras list_channels list_maintenance open_alerts reference_picture register_camera register_cameras register_cameras_csv reset_reference set_camera_enabled set_log_retention test_channel update_camera update_channel" \
	"the functions of camera_health_api"
assert_eq "$api_views" "camera_status cameras open_alerts" "the views of camera_health_api"
writer_paths="/ $(for v in $api_views; do printf '/%s ' "$v"; done)$(for f in $api_functions; do printf '/rpc/%s ' "$f"; done)"
reader_paths="/ /camera_status /cameras /open_alerts /rpc/alert_evidence /rpc/camera_alerts /rpc/camera_board /rpc/camera_heartbeat /rpc/camera_latency /rpc/camera_logs /rpc/camera_pictures /rpc/camera_sla /rpc/camera_snapshot /rpc/camera_uptime /rpc/channel_deliveries /rpc/export_cameras /rpc/fleet_uptime /rpc/get_camera /rpc/get_log_retention /rpc/health_summary /rpc/list_cameras /rpc/list_channels /rpc/list_maintenance /rpc/open_alerts /rpc/reference_picture"
for doc in / /openapi.json; do
	expect 200 GET "$doc" "" "$WRITER"
	assert_eq "$(js "' '.join(sorted(d['paths']))")" "$(echo "$writer_paths" | tr ' ' '\n' | sed '/^$/d' | sort | paste -sd' ')" \
		"OpenAPI paths for a writer ($doc)"
done
# every call and view is described (its COMMENT), none of the internals appears
assert_eq "$(js "[p for p, v in d['paths'].items() if p != '/' and not any(o.get('summary') or o.get('description') for o in v.values() if isinstance(o, dict))]")" "[]" \
	"undocumented paths in the OpenAPI document"
grep -Eq 'require_camera|check_max_rows|mask_url|may_see_secrets|camera_references|retention_runs|record_results|http_call_args|dead_letters' "$OUT" &&
	fail "the OpenAPI document mentions an internal object: $(grep -Eo 'require_camera|check_max_rows|mask_url|may_see_secrets|camera_references|retention_runs|record_results|http_call_args|dead_letters' "$OUT" | sort -u | paste -sd' ')"
expect 200 GET / ""
assert_eq "$(js "' '.join(sorted(d['paths']))")" "$reader_paths" "OpenAPI paths without a token (what a reader may call)"
# the internals are not in the URL space either
for path in /rpc/require_camera?camera_id=1 /rpc/check_max_rows?max_rows=1 /rpc/mask_url?url=x /rpc/may_see_secrets \
	/camera_references /retention_runs /dead_letters /health_logs; do
	expect 404 GET "$path" "" "$WRITER"
done
note "OpenAPI: $(echo "$writer_paths" | wc -w) paths for a writer, $(echo "$reader_paths" | wc -w) without a token; internals absent"

# ---- create, and what a token lets through ---------------------------------

CAM_BODY='{"ip_address": "127.0.9.1", "port": 8554, "rtsp_url": "rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n", "interval_ip": 10, "name": "gate"}'
expect_error 401 42501 POST /health/camera "$CAM_BODY"
[ -n "$(header WWW-Authenticate)" ] || fail "a 401 without WWW-Authenticate"
expect_error 403 42501 POST /health/camera "$CAM_BODY" "$READER"
expect_error 401 PGRST301 POST /health/camera "$CAM_BODY" "$EXPIRED"
expect_error 401 PGRST301 POST /health/camera "$CAM_BODY" "$FORGED"
expect_error 401 PGRST301 POST /health/camera "$CAM_BODY" "not-a-token"
assert_eq "$(qh "SELECT count(*) FROM camera_health.cameras")" "0" "refused calls registered nothing"

expect 201 POST /health/camera "$CAM_BODY" "$WRITER"
CAM=$(js "d['id']")
assert_eq "$(header Location)" "/health/camera/$CAM" "Location of the new camera"
assert_eq "$(js "(d['ip_address'], d['port'], d['interval_ip'], d['interval_port'], d['name'], d['enabled'])")" \
	"('127.0.9.1', 8554, 10, 60, 'gate', True)" "the camera as created (defaults filled in)"
assert_eq "$(js "d['rtsp_url']")" "rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n" "a writer sees the URL in full"
expect 201 POST /rpc/register_camera '{"ip_address": "127.0.9.2"}' "$WRITER"
CAM2=$(js "d['id']")
expect_error 409 23505 POST /health/camera "$CAM_BODY" "$WRITER"
expect_error 409 23505 PATCH "/health/camera/$CAM2" '{"ip_address": "127.0.9.1", "port": 8554, "rtsp_url": "rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n"}' "$WRITER"

# ---- masked credentials for readers ------------------------------------------

masked="rtsp://viewer:***@127.0.9.1:8554/live?token=***"
for token in "" "$READER"; do
	expect 200 GET "/health/camera/$CAM" "" "$token"
	assert_eq "$(js "d['rtsp_url']")" "$masked" "GET /health/camera/{id} for a reader"
	expect 200 GET /health/camera "" "$token"
	assert_eq "$(js "[c['rtsp_url'] for c in d if c['id'] == $CAM]")" "['$masked']" "GET /health/camera for a reader"
	expect 200 GET "/cameras?id=eq.$CAM&select=rtsp_url" "" "$token"
	assert_eq "$(js "d")" "[{'rtsp_url': '$masked'}]" "GET /cameras for a reader"
	expect 200 GET "/rpc/get_camera?camera_id=$CAM" "" "$token"
	grep -q s3cr3t "$OUT" && fail "a reader saw the password"
done
expect 200 GET "/cameras?id=eq.$CAM&select=rtsp_url" "" "$WRITER"
assert_eq "$(js "d[0]['rtsp_url']")" "rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n" "a writer reads the view in full"
note "credentials masked for no token and a reader's, in full for a writer's"

# ---- every bad input of the SQL API's table, through HTTP --------------------

before=$(qh "SELECT md5(string_agg(c::text, ';' ORDER BY id)) FROM camera_health.cameras c")
bad_create() { # CODE SQLSTATE BODY
	expect_error "$1" "$2" POST /health/camera "$3" "$WRITER"
}
bad_create 400 22P02 '{"ip_address": "10.0.0.300"}'
bad_create 400 22023 '{"ip_address": "10.0.0.0/24"}'
bad_create 400 22023 '{"ip_address": "0.0.0.0"}'
bad_create 400 22023 '{"ip_address": "255.255.255.255"}'
bad_create 400 22023 '{"ip_address": "224.0.0.1"}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "port": 0}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "port": 65536}'
bad_create 400 22P02 '{"ip_address": "127.0.9.3", "port": "http"}'
bad_create 400 22P02 '{"ip_address": "127.0.9.3", "port": 1.5}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "port": [554]}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "interval_ip": 0}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "interval_port": 86401}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "interval_vision": -5}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "rtsp_url": "ftp://user:hunter2@127.0.9.3/x"}'
grep -q hunter2 "$OUT" && fail "a refused URL's password came back in the error: $(cat "$OUT")"
bad_create 400 22023 '{"ip_address": "127.0.9.3", "rtsp_url": "rtsp://"}'
bad_create 400 22023 "{\"ip_address\": \"127.0.9.3\", \"rtsp_url\": \"rtsp://127.0.9.3/$(head -c 2100 /dev/zero | tr '\0' a)\"}"
bad_create 400 22023 '{"ip_address": "127.0.9.3", "name": ""}'
bad_create 400 22004 '{"ip_address": null}'
bad_create 400 22004 '{"port": 554}'
bad_create 400 22023 '{"ip_address": "127.0.9.3", "nmae": "typo"}'
[[ "$(js "d['hint']")" == *"Known fields"* ]] || fail "an unknown field's hint does not list the fields"
bad_create 400 22023 '[{"ip_address": "127.0.9.3"}]'
bad_create 400 PGRST102 '{"ip_address": '
expect_error 400 22P02 POST /health/camera "" "$WRITER"
# changes
expect_error 400 22023 PATCH "/health/camera/$CAM" '{"port": 70000}' "$WRITER"
expect_error 400 22004 PATCH "/health/camera/$CAM" '{"port": null}' "$WRITER"
expect_error 400 22023 PATCH "/health/camera/$CAM" '{"colour": "red"}' "$WRITER"
expect_error 400 PGRST102 PATCH "/health/camera/$CAM" '{"name": "x"}}' "$WRITER"
expect_error 400 PGRST102 PATCH "/health/camera/$CAM" '' "$WRITER"
# history queries
expect_error 400 22023 GET "/health/camera/$CAM/logs?check_type=icmp"
expect_error 400 22023 GET "/health/camera/$CAM/logs?max_rows=0"
expect_error 400 22023 GET "/health/camera/$CAM/logs?max_rows=10001"
expect_error 400 22P02 GET "/health/camera/$CAM/logs?max_rows=ten"
expect_error 400 22007 GET "/health/camera/$CAM/logs?since=yesterday-ish"
expect_error 400 22023 GET "/health/camera/$CAM/alerts?max_rows=0"
expect_error 400 22P02 GET "/health/camera/$CAM/alerts?only_open=perhaps"
# uptime and SLA
expect_error 400 22023 GET "/health/camera/$CAM/uptime?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"
expect_error 400 22007 GET "/health/camera/$CAM/uptime?since=last-week"
expect_error 400 22023 GET "/health/uptime?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"
expect_error 400 22007 GET "/health/sla?month=2026-13"
expect_error 400 22007 GET "/health/sla"
# retention
expect_error 400 22023 POST "/health/camera/$CAM/log-retention" '{"retention": "30 minutes"}' "$WRITER"
expect_error 400 22023 POST "/health/camera/$CAM/log-retention" '{"retention": "3651 days"}' "$WRITER"
expect_error 400 22007 POST "/health/camera/$CAM/log-retention" '{"retention": "a fortnight"}' "$WRITER"
expect_error 400 22004 POST "/health/camera/$CAM/log-retention" '{"retention": null}' "$WRITER"
expect_error 400 22004 POST "/health/camera/$CAM/log-retention" '{}' "$WRITER"
# ids that are not numbers, and unknown ones
for path in /health/camera/abc /health/camera/-1 /health/camera/1.5/logs /health/camera/12345678901234567890; do
	expect_error 400 22P02 GET "$path"
done
for call in "GET /health/camera/999999" "PATCH /health/camera/999999" "DELETE /health/camera/999999" \
	"GET /health/camera/999999/logs" "GET /health/camera/999999/alerts" "GET /health/camera/999999/log-retention" \
	"GET /health/camera/999999/uptime" "GET /health/camera/999999/heartbeat" \
	"POST /health/camera/999999/log-retention" "POST /health/camera/999999/enable" "POST /health/camera/999999/disable" \
	"DELETE /health/camera/999999/reference" "POST /health/camera/$CAM/alerts/999999/acknowledge" \
	"GET /rpc/get_camera?camera_id=999999"; do
	read -r method path <<<"$call"
	body=""
	[ "$method" = GET ] || [ "$method" = DELETE ] || body='{"retention": "1 day"}'
	[ "$method" != PATCH ] || body='{"name": "x"}'
	[[ "$path" != */enable && "$path" != */disable && "$path" != */acknowledge ]] || body=""
	expect_error 404 P0002 "$method" "$path" "$body" "$WRITER"
done
assert_eq "$(qh "SELECT md5(string_agg(c::text, ';' ORDER BY id)) FROM camera_health.cameras c")" "$before" \
	"the refused calls changed no camera"
note "every bad input refused with its status and SQLSTATE; nothing changed"

# ---- reads and writes on every path ----------------------------------------

# history as the ingest worker writes it: three failed pings open an alert
now_ms=$(qh "SELECT (extract(epoch FROM now()) * 1000)::bigint")
qh "SELECT count(*) FROM camera_health.record_results((
	SELECT jsonb_agg(jsonb_build_object('camera_id', $CAM, 'check_type', 'ip', 'status', 'critical',
		'checked_ms', $now_ms - 60000 + i * 1000, 'metadata', jsonb_build_object('method', 'tcp', 'detail', 'timeout')))
	FROM generate_series(1, 3) i) || jsonb_build_array(jsonb_build_object('camera_id', $CAM, 'check_type', 'port',
		'status', 'ok', 'checked_ms', $now_ms - 30000, 'latency_ms', 0.5)), 3, 2)" >/dev/null
expect 200 GET "/health/camera/$CAM/logs"
assert_eq "$(js "[(l['check_type'], l['status']) for l in d]")" \
	"[('port', 'ok'), ('ip', 'critical'), ('ip', 'critical'), ('ip', 'critical')]" "logs, newest first"
expect 200 GET "/health/camera/$CAM/logs?check_type=ip&max_rows=2"
assert_eq "$(js "[l['check_type'] for l in d]")" "['ip', 'ip']" "logs of one check type, at most max_rows"
since=$(qh "SELECT to_char(to_timestamp(($now_ms - 58500) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
expect 200 GET "/health/camera/$CAM/logs?since=$since&camera_id=$CAM2&colour=red"
assert_eq "$(js "len(d)")" "3" "logs since a time (the path's camera, other parameters ignored)"
expect 200 HEAD "/health/camera/$CAM/logs"
# latency samples (camera_latency), read as the logs are
expect 200 GET "/health/camera/$CAM/latency"
assert_eq "$(js "[(l['check_type'], l['latency']) for l in d]")" "[('port', 0.5)]" "latency samples, newest first"
expect_error 400 22023 GET "/health/camera/$CAM/latency?check_type=vision"
expect_error 404 P0002 GET "/health/camera/999999/latency"
# uptime from the trends those checks made (the last 30 days by default), for readers too
expect 200 GET "/health/camera/$CAM/uptime"
assert_eq "$(js "(len(d), d[0]['camera_id'], sorted(k for k in d[0] if k.endswith('availability')))")" \
	"(1, $CAM, ['availability', 'stream_availability'])" "a camera's uptime"
expect 200 GET "/health/uptime?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z" "" "$READER"
assert_eq "$(js "[r['scope'] for r in d if r['scope'] == 'fleet']")" "['fleet']" "the fleet's uptime has a fleet row"
expect 200 GET "/health/sla?month=2026-01"
assert_eq "$(js "sorted({r['scope'] for r in d})")" "['camera', 'fleet', 'site']" "a month's SLA: cameras, sites, fleet"
csv=$(curl -s --max-time 20 -H 'Accept: text/csv' "$HTTP_BASE/health/sla?month=2026-01")
assert_eq "$(head -1 <<<"$csv" | tr -d '\r')" \
	"scope,site,camera_id,camera_name,cameras,availability,stream_availability,blind_minutes,down_minutes,stream_down_minutes,monitored_minutes,maintenance_minutes" \
	"the SLA as CSV (header)"
expect 200 GET "/health/camera/$CAM/alerts?only_open=true"
assert_eq "$(js "[(a['alert_type'], a['status']) for a in d]")" "[('camera_unreachable', 'open')]" "the open alert"
ALERT=$(js "d[0]['id']")
expect_error 401 42501 POST "/health/camera/$CAM/alerts/$ALERT/acknowledge"
expect_error 403 42501 POST "/health/camera/$CAM/alerts/$ALERT/acknowledge" "" "$READER"
expect_error 404 P0002 POST "/health/camera/$CAM2/alerts/$ALERT/acknowledge" "" "$WRITER"
expect 200 POST "/health/camera/$CAM/alerts/$ALERT/acknowledge" "" "$WRITER"
assert_eq "$(js "(d['id'], d['status'])")" "($ALERT, 'acknowledged')" "acknowledged"
first=$(js "d['acknowledged_at']")
expect 200 POST "/health/camera/$CAM/alerts/$ALERT/acknowledge" "" "$WRITER"
assert_eq "$(js "d['acknowledged_at']")" "$first" "acknowledging twice keeps the first time"
expect 200 GET "/open_alerts?camera_id=eq.$CAM&select=id,status"
assert_eq "$(js "d")" "[{'id': $ALERT, 'status': 'acknowledged'}]" "GET /open_alerts"
expect 200 GET "/camera_status?camera_id=eq.$CAM&order=check_type&select=check_type,status"
assert_eq "$(js "d")" "[{'check_type': 'ip', 'status': 'critical'}, {'check_type': 'port', 'status': 'ok'}]" "GET /camera_status"

expect 200 GET /health/summary
assert_eq "$(js "(d['cameras'], d['open_alerts']['total'], d['open_alerts']['acknowledged'])")" "(2, 1, 1)" "GET /health/summary"

# the dashboard's reads (issue 13): tiles, the open alerts, a camera's heartbeat; readers read them
for token in "" "$READER"; do
	expect 200 GET "/health/board?max_rows=1" "" "$token"
	assert_eq "$(js "[(t['id'], t['name'], t['health'], t['ip_status'], t['port_status'], t['open_alerts'], t['worst_severity']) for t in d]")" \
		"[($CAM, 'gate', 'unhealthy', 'critical', 'ok', 1, 'critical')]" "GET /health/board, a page of one"
	grep -q s3cr3t "$OUT" && fail "a tile holds the camera's password: $(cat "$OUT")"
	expect 200 GET "/health/board?after_id=$CAM&status=unknown" "" "$token"
	assert_eq "$(js "[t['id'] for t in d]")" "[$CAM2]" "GET /health/board: the next page, of one health"
done
expect 200 GET "/health/board?search=GATE"
assert_eq "$(js "[t['id'] for t in d]")" "[$CAM]" "GET /health/board?search= (case-insensitive)"
expect 200 GET "/health/board?search=127.0.9.2"
assert_eq "$(js "[t['id'] for t in d]")" "[$CAM2]" "GET /health/board?search= an address"
expect 200 GET "/health/board?search=%25"
assert_eq "$(js "d")" "[]" "GET /health/board?search=%25: a % is a %, not a wildcard"
expect_error 400 22023 GET "/health/board?max_rows=0"
expect_error 400 22023 GET "/health/board?max_rows=1001"
expect_error 400 22023 GET "/health/board?status=sick"
expect_error 400 22P02 GET "/health/board?after_id=abc"
expect 200 GET "/health/alerts?severity=critical" "" "$READER"
assert_eq "$(js "[(a['id'], a['camera_id'], a['camera_name'], a['alert_type'], a['acknowledged'], a['has_evidence'], a['group_key']) for a in d]")" \
	"[($ALERT, $CAM, 'gate', 'camera_unreachable', True, False, 'site:')]" "GET /health/alerts"
expect 200 GET "/health/alerts?before_id=$ALERT"
assert_eq "$(js "d")" "[]" "GET /health/alerts?before_id=: the page after the last"
expect_error 400 22023 GET "/health/alerts?severity=fatal"
expect_error 400 22023 GET "/health/alerts?alert_type=fire"
expect_error 400 22023 GET "/health/alerts?max_rows=0"
expect_error 404 P0002 GET "/health/alerts?before_id=999999"
expect 200 GET "/health/camera/$CAM/heartbeat" "" "$READER"
assert_eq "$(js "[(h['check_type'], len(h['at_ms']), h['status'], h['latency_ms']) for h in d]")" \
	"[('ip', 3, 'ccc', [None, None, None]), ('port', 1, 'o', [0.5]), ('vision', 0, '', [])]" "GET /health/camera/{id}/heartbeat"
assert_eq "$(js "d[0]['at_ms'][0]")" "$((now_ms - 59000))" "heartbeat times in epoch milliseconds"
expect 200 GET "/health/camera/$CAM/heartbeat?since=$since&camera_id=$CAM2"
assert_eq "$(js "[len(h['at_ms']) for h in d]")" "[2, 1, 0]" "GET /health/camera/{id}/heartbeat?since= (the path's camera)"
expect_error 400 22023 GET "/health/camera/$CAM/heartbeat?since=2000-01-01T00:00:00Z"
expect_error 400 22007 GET "/health/camera/$CAM/heartbeat?since=yesterday-ish"
note "the dashboard: /health/board (paging, search, health), /health/alerts, /health/camera/{id}/heartbeat; bad arguments 400"

expect 200 GET "/health/camera/$CAM/log-retention"
assert_eq "$(js "(d['retention'], d['updated_at'])")" "('30 days', None)" "the default retention"
expect_error 403 42501 POST "/health/camera/$CAM/log-retention" '{"retention": "14 days"}' "$READER"
expect 200 POST "/health/camera/$CAM/log-retention" '{"retention": "14 days"}' "$WRITER"
assert_eq "$(js "(d['camera_id'], d['retention'])")" "($CAM, '14 days')" "POST log-retention"
expect 200 GET "/health/camera/$CAM/log-retention"
assert_eq "$(js "d['retention']")" "14 days" "the policy as set"
expect 200 POST /rpc/set_log_retention "{\"camera_id\": $CAM, \"policy\": {\"retention\": \"7 days\"}}" "$WRITER"
assert_eq "$(js "d['retention']")" "7 days" "POST /rpc/set_log_retention"

expect 200 PATCH "/health/camera/$CAM" '{"name": "north gate", "interval_port": 30}' "$WRITER"
assert_eq "$(js "(d['name'], d['interval_port'], d['port'], d['interval_ip'])")" "('north gate', 30, 8554, 10)" \
	"PATCH changes the fields given and keeps the others"
expect 200 PATCH "/health/camera/$CAM" '{"name": null}' "$WRITER"
assert_eq "$(js "d['name']")" "None" "PATCH with null clears the name"
expect_error 403 42501 PATCH "/health/camera/$CAM" '{"name": "x"}' "$READER"

expect 200 POST "/health/camera/$CAM/disable" "" "$WRITER"
assert_eq "$(js "d['enabled']")" "False" "disabled"
expect 200 POST "/health/camera/$CAM/enable" "" "$WRITER"
assert_eq "$(js "d['enabled']")" "True" "enabled"
expect_error 401 42501 POST "/health/camera/$CAM/disable"

qh "INSERT INTO camera_health.camera_references (camera_id, image)
	VALUES ($CAM, convert_to('GREY 4 4' || chr(10), 'UTF8') || '\x00112233445566778899aabbccddeeff'::bytea)"
expect_error 403 42501 DELETE "/health/camera/$CAM/reference" "" "$READER"
expect 200 DELETE "/health/camera/$CAM/reference" "" "$WRITER"
assert_eq "$(js "(d['camera_id'], d['reference_dropped'])")" "($CAM, True)" "reference reset"
expect 200 DELETE "/health/camera/$CAM/reference" "" "$WRITER"
assert_eq "$(js "d['reference_dropped']")" "False" "no reference left to reset"

# ---- sites, tags and the fleet in bulk ---------------------------------------

expect 200 PATCH "/health/camera/$CAM" '{"site": "north", "tags": ["ptz", "outdoor"]}' "$WRITER"
assert_eq "$(js "(d['site'], d['tags'])")" "('north', ['ptz', 'outdoor'])" "PATCH site and tags"
expect_error 400 22023 PATCH "/health/camera/$CAM" '{"tags": "ptz"}' "$WRITER"
expect_error 400 22023 PATCH "/health/camera/$CAM" '{"tags": ["a", "a"]}' "$WRITER"
bulk='[{"ip_address": "127.0.9.21", "site": "north", "tags": ["ptz"]}, {"ip_address": "127.0.9.22", "site": "north", "name": "n2"},
	{"ip_address": "127.0.9.23", "site": "south", "port": 8554}]'
expect_error 401 42501 POST /health/cameras "$bulk"
expect 201 POST /health/cameras "$bulk" "$WRITER"
assert_eq "$(js "[(c['ip_address'], c['site'], c['port']) for c in d]")" \
	"[('127.0.9.21', 'north', 554), ('127.0.9.22', 'north', 554), ('127.0.9.23', 'south', 8554)]" "bulk import, JSON"
n_before=$(qh "SELECT count(*) FROM camera_health.cameras")
expect_error 400 22023 POST /health/cameras '[{"ip_address": "127.0.9.24"}, {"ip_address": "127.0.9.25", "interval_ip": 0}]' "$WRITER"
[[ "$(js "d['message']")" == "camera at index 1 refused: invalid interval_ip: 0" ]] || fail "bulk: the bad row's index: $(cat "$OUT")"
expect_error 409 23505 POST /health/cameras '[{"ip_address": "127.0.9.26"}, {"ip_address": "127.0.9.26"}]' "$WRITER"
expect_error 400 22023 POST /health/cameras '{"ip_address": "127.0.9.27"}' "$WRITER"
assert_eq "$(qh "SELECT count(*) FROM camera_health.cameras")" "$n_before" "a refused bulk import wrote nothing"
expect_error 400 PGRST102 POST /health/cameras "" "$WRITER"
csv=$'ip_address,port,name,site,tags
127.0.9.31,,"gate, east",east,"{ptz,indoor}"
127.0.9.32,8554,e2,east,
'
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -X POST -H "Authorization: Bearer $WRITER" -H 'Content-Type: text/csv' \
	--data-binary "$csv" "$HTTP_BASE/health/cameras")
assert_eq "$STATUS" "201" "bulk import, CSV"
assert_eq "$(js "[(c['name'], c['port'], c['tags']) for c in d]")" "[('gate, east', 554, ['ptz', 'indoor']), ('e2', 8554, [])]" "the CSV rows"
expect 200 GET "/health/camera?site=north&tag=ptz"
assert_eq "$(js "sorted(c['ip_address'] for c in d)")" "['127.0.9.1', '127.0.9.21']" "GET /health/camera?site=&tag="
expect 200 GET /health/cameras
assert_eq "$(js "sorted(d[0])")" "['interval_ip', 'interval_port', 'interval_vision', 'ip_address', 'name', 'port', 'rtsp_url', 'site', 'tags']" \
	"the export has register_cameras' fields"
assert_eq "$(js "[c['rtsp_url'] for c in d if c['ip_address'] == '127.0.9.1']")" "['$masked']" "the export masks credentials for readers"
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -H 'Accept: text/csv' "$HTTP_BASE/health/cameras")
assert_eq "$STATUS" "200" "export as CSV"
assert_eq "$(head -1 "$OUT")" "ip_address,port,rtsp_url,interval_ip,interval_port,interval_vision,name,site,tags" "the CSV header"
grep -q '^127.0.9.31,554,,30,60,300,"gate, east",east,"{ptz,indoor}"$' "$OUT" || fail "the CSV export: $(cat "$OUT")"
# what the export wrote imports again, once the cameras are gone
grep -E '^(ip_address|127\.0\.9\.3[12]),' "$OUT" >"$HTTP_DIR/east.csv"
qh "SELECT camera_health.delete_camera(id) FROM camera_health.cameras WHERE site = 'east'" >/dev/null
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -X POST -H "Authorization: Bearer $WRITER" -H 'Content-Type: text/csv' \
	--data-binary "@$HTTP_DIR/east.csv" "$HTTP_BASE/health/cameras")
assert_eq "$STATUS:$(js "[(c['name'], c['tags']) for c in d]")" "201:[('gate, east', ['ptz', 'indoor']), ('e2', [])]" "the CSV export imported again"
expect 200 GET /health/summary
assert_eq "$(js "[(s['site'], s['cameras']) for s in d['sites']]")" "[('east', 2), ('north', 3), ('south', 1), (None, 1)]" "the summary per site"
note "sites and tags; bulk import (JSON and CSV, all or nothing, the bad row's index) and export (JSON and CSV, imported again)"

# ---- notification channels and maintenance windows -------------------------

chan='{"kind": "webhook", "target": "http://127.0.0.1:9/hook", "secret": "hmac-k3y-s3cret", "sites": ["north"], "name": "ops"}'
expect_error 401 42501 POST /health/channels "$chan"
expect_error 403 42501 POST /health/channels "$chan" "$READER"
expect 201 POST /health/channels "$chan" "$WRITER"
CHAN=$(js "d['id']")
assert_eq "$(js "(d['kind'], d['sites'], d['name'])")" "('webhook', ['north'], 'ops')" "POST /health/channels"
expect_error 400 22023 POST /health/channels '{"kind": "pager", "target": "http://127.0.0.1:9/"}' "$WRITER"
expect_error 400 22023 POST /health/channels '{"kind": "webhook", "target": "http://127.0.0.1:9/", "colour": "red"}' "$WRITER"
expect_error 400 22004 POST /health/channels '{"kind": "webhook"}' "$WRITER"
expect 200 GET /health/channels
assert_eq "$(js "[c['name'] for c in d]")" "['ops']" "GET /health/channels"
grep -q 'hmac-k3y-s3cret' "$OUT" && fail "a reader saw a channel's secret: $(cat "$OUT")"
expect 200 PATCH "/health/channels/$CHAN" '{"min_severity": "critical"}' "$WRITER"
assert_eq "$(js "d['min_severity']")" "critical" "PATCH /health/channels/{id}"
expect_error 400 22023 PATCH "/health/channels/$CHAN" '{"colour": "red"}' "$WRITER"
expect_error 404 P0002 PATCH /health/channels/999999 '{"name": "x"}' "$WRITER"
expect_error 400 22P02 GET /health/channels/abc/deliveries
expect 200 POST "/health/channels/$CHAN/test" "" "$WRITER"
assert_eq "$(js "(d['channel_id'], d['kind'])")" "($CHAN, 'test')" "POST /health/channels/{id}/test queues a test message"
expect 200 GET "/health/channels/$CHAN/deliveries?max_rows=5"
expect_error 404 P0002 GET /health/channels/999999/deliveries
expect_error 405 HTTP405 GET "/health/channels/$CHAN/test"
maint='{"starts_at": "2030-01-01T22:00:00Z", "ends_at": "2030-01-02T02:00:00Z", "site": "north", "reason": "switch upgrade"}'
expect_error 401 42501 POST /health/maintenance "$maint"
expect 201 POST /health/maintenance "$maint" "$WRITER"
WIN=$(js "d['id']")
expect_error 400 22023 POST /health/maintenance '{"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}' "$WRITER"
expect 200 GET /health/maintenance
assert_eq "$(js "[(w['id'], w['site'], w['reason']) for w in d]")" "[($WIN, 'north', 'switch upgrade')]" "GET /health/maintenance"
expect 200 POST "/health/maintenance/$WIN/end" "" "$WRITER"
expect_error 404 P0002 POST /health/maintenance/999999/end "" "$WRITER"
expect 200 DELETE "/health/channels/$CHAN" "" "$WRITER"
expect_error 404 P0002 DELETE "/health/channels/$CHAN" "" "$WRITER"
note "channels and maintenance windows on /health/channels and /health/maintenance: codes, secrets masked for readers"

# ---- nginx's own answers ---------------------------------------------------

for call in "PUT /health/camera/$CAM" "POST /health/camera/$CAM/logs" "DELETE /health/summary" "GET /health/camera/$CAM/enable" \
	"PATCH /health/camera" "POST /health/camera/$CAM/reference" "POST /health/camera/$CAM/snapshot" "PUT /health/camera/$CAM/log-retention" "DELETE /health/cameras" \
	"POST /health/board" "DELETE /health/alerts" "POST /health/camera/$CAM/heartbeat"; do
	read -r method path <<<"$call"
	expect_error 405 HTTP405 "$method" "$path" "" "$WRITER"
	[ -n "$(header Allow)" ] || fail "$call: a 405 without Allow"
done
expect_error 404 HTTP404 GET /health/cameraz
expect_error 404 HTTP404 GET "/health/camera/$CAM/snapshots"
big="{\"ip_address\": \"127.0.9.9\", \"name\": \"$(head -c 70000 /dev/zero | tr '\0' a)\"}"
expect_error 413 HTTP413 POST /health/camera "$big" "$WRITER"

# ---- the same through a client library nobody here wrote -------------------

node "$HTTP_ROOT/test/http/postgrest_js.mjs" "$HTTP_BASE" "$WRITER" "$READER" "$CAM" ||
	fail "the @supabase/postgrest-js client failed"

# ---- delete --------------------------------------------------------------

expect_error 403 42501 DELETE "/health/camera/$CAM" "" "$READER"
expect 200 DELETE "/health/camera/$CAM" "" "$WRITER"
assert_eq "$(js "d['id']")" "$CAM" "DELETE returns the camera"
expect_error 404 P0002 GET "/health/camera/$CAM"
expect_error 404 P0002 DELETE "/health/camera/$CAM" "" "$WRITER"
assert_eq "$(qh "SELECT count(*) FROM camera_health.alerts WHERE camera_id = $CAM")" "0" "its alerts went with it"

# ---- PostgREST down: nginx answers 503 in JSON, and recovers -----------------

kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
expect_error 503 HTTP503 GET /health/summary
(http_postgrest) &
PIDS[0]=$!
http_wait_ready
note "PostgREST stopped: 503 in JSON; started again: 200"

# the SQLSTATEs that SQL callers see are unchanged
qh "DO \$\$ BEGIN PERFORM camera_health.get_camera(999999); EXCEPTION WHEN no_data_found THEN RETURN; END \$\$" ||
	fail "camera_health.get_camera() no longer raises P0002"
echo "ok"
