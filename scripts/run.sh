#!/usr/bin/env bash
# `make run`: the whole stack on a private cluster, in the foreground, until
# Ctrl-C: PostgreSQL with the workers, redis-server, visionproc, PostgREST
# and nginx serving the HTTP API, and a test RTSP server playing the clips
# of test/data as demo cameras.
# Installs packages and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || scripts/build.sh
# shellcheck source=scripts/testdata.sh
. scripts/testdata.sh
CLIPS=$TESTDATA/clips
[ -n "${SKIP_BUILD:-}" ] || make -s test/bin/rtsp_server

# shellcheck source=scripts/stack.sh
. scripts/stack.sh

# Ctrl-C reaches every process of the terminal's foreground group: make,
# this shell and whatever runs in the foreground.  The background programs
# (rtsp_server, visionproc, tail) run in process groups of their own, so
# that only this shell decides when and in which order they stop; the
# servers daemonize.  The first SIGINT/SIGTERM/SIGHUP starts the shutdown,
# which then ignores any further one (a second Ctrl-C must not abort it).
GROUPS_STARTED=()
STOPPED=""
shutdown() {
	[ -z "$STOPPED" ] || return 0
	STOPPED=1
	trap '' INT TERM HUP QUIT
	echo
	echo "stopping..."
	local i
	# in reverse order: the log tail first, the RTSP server last
	for ((i = ${#GROUPS_STARTED[@]} - 1; i >= 0; i--)); do
		stop_group "${GROUPS_STARTED[i]}" 10
	done
	stack_stop
	echo "stopped"
}
# bg_group CMD...: run CMD in the background in a process group of its own
# (setsid does not fork: a background job is never a group leader)
bg_group() {
	setsid "$@" &
	GROUPS_STARTED+=($!)
}
trap 'shutdown; trap - INT; kill -INT $$' INT
trap 'shutdown; exit 143' TERM
trap 'shutdown; exit 129' HUP
trap shutdown EXIT
# notifications of the demo go out 5 s after the alerts open (30 s by default)
stack_start "camera_health.notify_group_wait = '5s'"

# demo cameras: five streams from the RTSP server, a closed port, a dead URL.
# Every stream starts as the healthy vtest.mp4 (building.mp4 for the still
# scene), so that the references are good frames; then three of them go
# wrong: blurred, covered, frozen.
mkdir -p "$STACK_DIR/mounts"
for m in healthy blurred covered frozen; do
	ln -sfn "$CLIPS/vtest.mp4" "$STACK_DIR/mounts/$m"
done
ln -sfn "$CLIPS/building.mp4" "$STACK_DIR/mounts/still"
RTSP_PORT=$(free_port)
bg_group test/bin/rtsp_server --port "$RTSP_PORT" --dir "$STACK_DIR/mounts" >"$STACK_DIR/log/rtsp.log" 2>&1
# the URL (a password, if any) in the environment: the command line is world-readable
VISIONPROC_REDIS_URL="$REDIS_URL" bg_group visionproc/visionproc --workers 2 2>"$STACK_DIR/log/visionproc.log"

psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT camera_health.register_camera('127.0.0.1', $RTSP_PORT, 'rtsp://127.0.0.1:$RTSP_PORT/' || m,
	interval_ip => 5, interval_port => 10, interval_vision => 10, name => 'demo: ' || m, site => 'lobby')
FROM unnest(ARRAY['healthy', 'blurred', 'covered', 'frozen', 'still']) AS m;
SELECT camera_health.register_camera('127.0.0.1', 9, name => 'demo: closed port', interval_ip => 5, interval_port => 5,
	site => 'yard');
SELECT camera_health.register_camera('127.0.0.2', 1554, 'rtsp://127.0.0.2:1554/nothing-here',
	name => 'demo: dead stream', interval_ip => 5, interval_port => 5, interval_vision => 10, site => 'yard');
SQL

# every alert as it opens, is acknowledged and resolves (LISTEN
# camera_health_alerts: psql prints a notification after each command)
bg_group bash -c '{ echo "LISTEN camera_health_alerts;"; while sleep 1; do echo "SELECT 1 \\g /dev/null"; done; } |
	psql -X -q 2>&1 | python3 scripts/alert_feed.py'
# a webhook receiver printing what it is sent, and the channel to it
RECEIVER_PORT=$(free_port)
bg_group python3 scripts/demo_receiver.py "$RECEIVER_PORT"
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT camera_health.add_channel('webhook', 'http://127.0.0.1:$RECEIVER_PORT/hook', name => 'demo receiver',
	secret => md5(random()::text), repeat_interval => '10 minutes');
SQL

# the HTTP API: PostgREST behind nginx, from the templates in http/
# shellcheck source=scripts/http.sh
. scripts/http.sh
http_prepare camera_health
bg_group "$POSTGREST_BIN" "$POSTGREST_CONF" >>"$STACK_DIR/log/postgrest.log" 2>&1
bg_group nginx -e "$STACK_DIR/log/nginx-error.log" -c "$NGINX_CONF"
http_wait_ready
WRITER_TOKEN=$(http_token camera_health_writer 86400)
# the dashboard signs in with a writer's token in the URL's fragment (the
# page moves it to sessionStorage); valid for 30 days, and for this stack
# only: the secret is made anew for each run
DASHBOARD_URL="$HTTP_BASE/dashboard/#token=$(http_token camera_health_writer 2592000)"
# notifications link to the cameras' HTTP paths
psql -XAtq -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET camera_health.notify_base_url = '$HTTP_BASE'" -c "SELECT pg_reload_conf()" >/dev/null

# once the five references are taken, three cameras go wrong
bg_group bash -c '
	CLIPS=$1
	until [ "$(psql -XAtq -c "SELECT count(*) FROM camera_health.camera_references")" = 5 ]; do sleep 1; done
	for m in blurred covered frozen; do
		ln -sfn "$CLIPS/vtest-$m.mp4" "$STACK_DIR/mounts/$m"
	done
	echo ">>> demo: the reference frames are taken; blurred, covered and frozen now go wrong"
' _ "$CLIPS"

cat <<INFO

camera_health is running, with 7 demo cameras.

  PostgreSQL  psql -h $PGHOST -p $PGPORT -U postgres camera_health
              (TCP: host=127.0.0.1 port=$PGPORT user=postgres dbname=camera_health)
  Redis       redis-cli -p $REDIS_PORT
  Logs        $PG_LOG
              $STACK_DIR/log/visionproc.log
              $STACK_DIR/log/postgrest.log, nginx-error.log

HTTP  $HTTP_BASE
Dashboard  $DASHBOARD_URL
Writer token  $WRITER_TOKEN

  (without a token you read, as camera_health_anon; the token, valid for a
  day, writes as camera_health_writer; the dashboard's link signs in as a
  writer: open it in a browser on this host)

Try:
  SELECT id, name, rtsp_url FROM camera_health.list_cameras();
  SELECT jsonb_pretty(camera_health.health_summary());
  SELECT camera_id, alert_type, severity, status, message FROM camera_health.alerts;
  SELECT check_type, status, metadata FROM camera_health.camera_logs(2, 'vision', max_rows => 3);
  curl $HTTP_BASE/health/camera
  curl $HTTP_BASE/health/summary
  curl '$HTTP_BASE/health/camera/2/logs?check_type=vision&max_rows=3'
  curl -X POST $HTTP_BASE/health/camera -H "Authorization: Bearer \$TOKEN" \\
       -d '{"ip_address": "127.0.0.5", "port": 8554, "name": "lobby"}'

Once the references are taken, the blurred, covered and frozen streams raise
their alerts after three vision checks (10 s apart, within a minute); the
healthy and still ones stay ok; the closed port and the dead stream alert too.
Each alert is printed below as it opens (">>> alert ..."), and the webhook
receiver on 127.0.0.1:$RECEIVER_PORT prints the notifications it is sent,
grouped per site (">>> webhook ..."). Ctrl-C stops everything.
INFO
bg_group tail -n 0 -F "$PG_LOG" "$STACK_DIR/log/visionproc.log"
# until a signal; wait returns early when one arrives, and the trap runs
while :; do
	wait || true
	sleep 1
done
