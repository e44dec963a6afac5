#!/usr/bin/env bash
# Retention: logs, latency samples and resolved alerts past each camera's
# retention disappear in one pass, newer ones and other cameras' stay, a
# longer policy keeps older history, open alerts survive, whole expired
# daily partitions are dropped, back-dated rows land in the default
# partition, the run record has the counts, and the history is pruned.
#
# Independent of the hour: every timestamp is computed from BASE, which is
# now() unless RETENTION_TEST_CLOCK names a time of day (UTC) today, e.g.
# RETENTION_TEST_CLOCK=23:59:59, and the rows of the old day's partition sit
# at noon of that day, however late it is.  The ages are at least a day away
# from every retention limit, so a BASE anywhere in today gives the same
# results against the worker's real clock.
. "$(dirname "$0")/lib.sh"

if [ -n "${RETENTION_TEST_CLOCK:-}" ]; then
	BASE=$(q "SELECT date_trunc('day', now(), 'UTC') + interval '${RETENTION_TEST_CLOCK}'")
else
	BASE=$(q "SELECT now()")
fi
T="'$BASE'::timestamptz"
OLD_DAY=$(q "SELECT to_char(($T AT TIME ZONE 'UTC')::date - 100, 'YYYYMMDD')")
OLD_START=$(q "SELECT (($T AT TIME ZONE 'UTC')::date - 100)::timestamp AT TIME ZONE 'UTC'")
OLD_END=$(q "SELECT (($T AT TIME ZONE 'UTC')::date - 99)::timestamp AT TIME ZONE 'UTC'")
note "BASE $BASE, old day $OLD_DAY"

cleanup() {
	q "ALTER SYSTEM RESET camera_health.retention_interval" >/dev/null
	q "SELECT pg_reload_conf()" >/dev/null
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'retention %'" >/dev/null || true
	q "SET client_min_messages = warning; DROP TABLE IF EXISTS camera_health.check_history_p$OLD_DAY" >/dev/null || true
}
trap cleanup EXIT

# cameras on the default (30 days), a short policy, a long policy; disabled
# in the transaction that registers them, so they are never checked
ids=$(psql -XAtq -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SELECT string_agg(id::text, ' ' ORDER BY id) FROM (
	SELECT (camera_health.set_camera_enabled((camera_health.register_camera('127.0.90.1', p, name => 'retention ' || p)).id, false)).id
	FROM generate_series(1001, 1003) p) x;
COMMIT;
SQL
)
read -r a b c <<<"$ids"
q "SELECT camera_health.set_log_retention($b, '2 days'), camera_health.set_log_retention($c, '90 days')" >/dev/null

# an old day that has its own partition (as if the worker had created it then)
q "CREATE TABLE camera_health.check_history_p$OLD_DAY PARTITION OF camera_health.check_history
	FOR VALUES FROM ('$OLD_START') TO ('$OLD_END')" >/dev/null

# history back-dated 1 hour to 400 days (three checks a time, one with a
# latency): packed, days without a partition go to the default one; the old
# day's rows at its noon, inside its partition at any hour
stamps="$T - interval '1 hour', $T - interval '3 days', $T - interval '10 days', $T - interval '40 days',
	timestamptz '$OLD_START' + interval '12 hours', $T - interval '400 days'"
q "INSERT INTO camera_health.health_logs (camera_id, check_type, status, metadata, created_at)
	SELECT cam, 'ip', 'ok', CASE WHEN g = 1 THEN '{\"latency_ms\": 1.000}' ELSE '{}' END::jsonb, at
	FROM unnest(ARRAY[$a, $b, $c]) cam, unnest(ARRAY[$stamps]) at, generate_series(1, 3) g" >/dev/null
q "SELECT camera_health.pack_history(before => 'infinity')" >/dev/null
q "INSERT INTO camera_health.alerts (camera_id, alert_type, severity, status, message, created_at, resolved_at) VALUES
	($a, 'camera_unreachable', 'critical', 'resolved', 'old', $T - interval '41 days', $T - interval '40 days'),
	($a, 'port_unavailable', 'critical', 'resolved', 'recent', $T - interval '2 days', $T - interval '1 day'),
	($b, 'camera_unreachable', 'critical', 'resolved', 'old for b', $T - interval '4 days', $T - interval '3 days')" >/dev/null
q "INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message, created_at) VALUES
	($b, 'port_unavailable', 'critical', 'open for 200 days', $T - interval '200 days')" >/dev/null
assert_eq "$(q "SELECT sum(n) FROM camera_health.check_history_default WHERE camera_id IN ($a, $b, $c) AND hour < $T - interval '300 days'")" "9" "back-dated checks in the default partition"
assert_eq "$(q "SELECT sum(n) FROM camera_health.check_history_p$OLD_DAY")" "9" "checks in the old day's partition"

# an old record of a pass, to be pruned
q "INSERT INTO camera_health.retention_runs (started_at, finished_at, requested_by) VALUES ($T - interval '30 days', $T - interval '30 days', 'schedule')" >/dev/null

run=$(q "SELECT format('%s %s %s %s %s', partitions_dropped, health_logs_deleted, camera_latency_deleted, alerts_deleted, error IS NULL) FROM camera_health.run_retention()")
note "run_retention(): partitions dropped, logs, latency, alerts deleted, no error: $run"

left() { # camera -> the ages of its logs that are left
	q "SELECT string_agg(DISTINCT age, ',' ORDER BY age) FROM (SELECT CASE
		WHEN created_at > $T - interval '2 hours' THEN '0h' WHEN created_at > $T - interval '4 days' THEN '3d'
		WHEN created_at > $T - interval '11 days' THEN '10d' WHEN created_at > $T - interval '41 days' THEN '40d'
		ELSE 'older' END AS age FROM camera_health.health_logs WHERE camera_id = $1) x"
}
assert_eq "$(left "$a")" "0h,10d,3d" "logs left of camera a (default 30 days)"
assert_eq "$(left "$b")" "0h" "logs left of camera b (2 days)"
assert_eq "$(left "$c")" "0h,10d,3d,40d" "logs left of camera c (90 days)"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_latency WHERE camera_id IN ($a, $b, $c)")" "8" "latency samples left (a 3, b 1, c 4)"
assert_eq "$(q "SELECT string_agg(message, ',' ORDER BY message) FROM camera_health.alerts WHERE camera_id IN ($a, $b, $c)")" "open for 200 days,recent" "alerts left"
assert_eq "$(q "SELECT to_regclass('camera_health.check_history_p$OLD_DAY') IS NULL")" "t" "old partition dropped"
# 3 copies x (3d, 10d, 40d, old day, 400d for b; 40d, old day, 400d for a; old day, 400d for c)
assert_eq "$run" "1 30 10 2 t" "the run record"
assert_eq "$(q "SELECT count(*) FROM camera_health.retention_runs WHERE started_at < now() - interval '8 days'")" "0" "old run records"
note "one pass: expired rows gone per camera, longer policy kept, open alert kept, old partitions dropped"

# the worker runs by itself every camera_health.retention_interval
q "ALTER SYSTEM SET camera_health.retention_interval = '2s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
q "INSERT INTO camera_health.health_logs (camera_id, check_type, status, created_at) VALUES ($b, 'port', 'ok', $T - interval '5 days')" >/dev/null
wait_for 15 "the scheduled pass" "SELECT count(*) = 0 FROM camera_health.health_logs WHERE camera_id = $b AND created_at < $T - interval '2 days'"
got=$(q "SELECT requested_by FROM camera_health.retention_runs WHERE health_logs_deleted > 0 ORDER BY id DESC LIMIT 1")
assert_eq "$got" "schedule" "who ran the pass"
note "scheduled pass removed a newly expired log"

# partitions exist ahead, so today's and tomorrow's rows never land in the default partition
# (the worker creates them from its own clock: today as the server sees it)
got=$(q "SELECT count(*) FROM pg_class, LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date AS today) d
	WHERE relname IN ('check_history_p' || to_char(today, 'YYYYMMDD'), 'check_history_p' || to_char(today + 1, 'YYYYMMDD'),
					  'check_history_p' || to_char(today + 3, 'YYYYMMDD'))")
assert_eq "$got" "3" "partitions created ahead"
