#!/usr/bin/env bash
# Notification delivery on a private cluster: the notifier worker posting
# webhooks to a local receiver (test/notify_receiver.py, 127.0.0.1).
#  - latency: ALERTS alerts (default 200) opened one per transaction, 50 ms
#    apart, each its own notification (notify_group_wait = 0): the time from
#    the alert's event row (written by the trigger just before the commit)
#    to the receiver's arrival of the POST naming it; p50, p99, max;
#  - throughput: BURST test notifications (default 2000) queued in one
#    transaction on one channel (one in flight at a time, in order), then
#    the same spread over 8 channels: notifications per second received.
#
#   bench/notify.sh [ALERTS [BURST]]
set -euo pipefail
cd "$(dirname "$0")/.."
ALERTS=${1:-200}
BURST=${2:-2000}

scripts/build.sh >/dev/null
. scripts/stack.sh
rx=""
cleanup() {
	[ -z "$rx" ] || kill "$rx" 2>/dev/null || true
	stack_stop
}
trap cleanup EXIT
stack_start "camera_health.notify_group_wait = 0"
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

port=$(free_port)
log="$STACK_DIR/rx.log"
python3 test/notify_receiver.py "$port" "$log" >"$STACK_DIR/rx.out" &
rx=$!
until grep -q ready "$STACK_DIR/rx.out" 2>/dev/null; do sleep 0.1; done

# ---- latency -------------------------------------------------------------
q "SELECT count(camera_health.register_camera(('127.0.90.' || (i % 250 + 1))::inet, 18000 + i / 250,
	interval_ip => 86400, interval_port => 86400, name => 'bench-' || i)) FROM generate_series(1, $ALERTS) i" >/dev/null
sleep 2   # (each camera's first check, at registration)
ch=$(q "SELECT id FROM camera_health.add_channel('webhook', 'http://127.0.0.1:$port/latency')")
psql -XAtq -v ON_ERROR_STOP=1 <<SQL
DO \$\$
DECLARE
	cam record;
BEGIN
	FOR cam IN SELECT id FROM camera_health.cameras WHERE name LIKE 'bench-%' ORDER BY id LOOP
		PERFORM camera_health.record_results((SELECT jsonb_agg(jsonb_build_object('camera_id', cam.id,
			'check_type', 'ip', 'status', 'critical', 'checked_ms', extract(epoch FROM clock_timestamp()) * 1000 + r,
			'metadata', '{"method": "tcp", "detail": "bench"}'::jsonb)) FROM generate_series(0, 2) r), 3, 2);
		COMMIT;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
\$\$;
SQL
for _ in $(seq 100); do
	[ "$(q "SELECT count(*) FILTER (WHERE state = 'sent') = $ALERTS FROM camera_health.notifications WHERE channel_id = $ch")" = t ] && break
	sleep 0.2
done
q "SELECT e.alert_id || ' ' || extract(epoch FROM e.recorded_at) FROM camera_health.alert_events e WHERE e.event = 'opened'" >"$STACK_DIR/events"
python3 - "$log" "$STACK_DIR/events" "$ALERTS" <<'PY'
import json, sys
committed = dict((int(a), float(t)) for a, t in (l.split() for l in open(sys.argv[2]) if l.strip()))
lat = []
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["path"] != "/latency":
        continue
    for a in e["body"]["alerts"]:
        lat.append((e["received"] - committed[a["alert_id"]]) * 1000)
lat.sort()
n = len(lat)
print("latency: %d alerts (%s expected), alert commit to webhook POST: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (n, sys.argv[3], lat[n // 2], lat[min(n - 1, int(n * 0.99))], lat[-1]))
PY

# ---- throughput ----------------------------------------------------------
burst() { # CHANNELS: BURST test notifications over CHANNELS channels
	local chans=$1 ids t0 t1 rows
	ids=$(q "SELECT string_agg((camera_health.add_channel('webhook', 'http://127.0.0.1:$port/burst$chans')).id::text, ',') FROM generate_series(1, $chans)")
	t0=$(date +%s.%N)
	q "SELECT count(camera_health.test_channel(c)) FROM unnest('{$ids}'::bigint[]) c, generate_series(1, $BURST / $chans)" >/dev/null
	for _ in $(seq 600); do
		rows=$(q "SELECT count(*) FROM camera_health.notifications WHERE channel_id IN ($ids) AND state = 'sent'")
		[ "$rows" -ge "$BURST" ] && break
		sleep 0.1
	done
	t1=$(python3 -c 'import json, sys; print(max(json.loads(l)["received"] for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]))' "$log" "/burst$chans")
	python3 -c 'import sys; t0, t1, n, c = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print("throughput: %d notifications over %s channel(s) in %.2f s: %.0f per second" % (n, c, t1 - t0, n / (t1 - t0)))' "$t0" "$t1" "$rows" "$chans"
}
burst 1
burst 8
