#!/usr/bin/env bash
# Uptime and blind minutes: a constructed six hours of three cameras (an ip
# outage while the stream goes too, single-check flaps, a maintenance
# window, a gap in the checks, a check error, a vision outage while the ip
# check is fine, an obstruction, a displacement) go through
# record_results() in time order, as ingest would write them; the figures
# this script works out BY HAND from the scenario (below, not from the
# trends) must equal camera_uptime(), fleet_uptime(), camera_sla() and the
# p95 of the raw latencies.  Then the raw history expires (log retention 1
# hour) and the trends still answer the same; a short trend retention
# removes that camera's trends and no other's.
#
# Independent of the hour and day: every time is BASE + seconds, BASE the
# start of the UTC hour ten days ago.  The cameras are real ones in the
# stack's database (loopback addresses, so the workers' own checks of them
# are harmless): their checks happen now, far after the constructed hours,
# and cannot touch them.
. "$(dirname "$0")/lib.sh"

BASE=$(q "SELECT to_timestamp(floor(extract(epoch FROM now() - interval '10 days') / 3600) * 3600)")
T="'$BASE'::timestamptz"
note "BASE $BASE"

cleanup() {
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'uptime %'" >/dev/null || true
	q "DELETE FROM camera_health.maintenance_windows WHERE reason = 'uptime test'" >/dev/null || true
	q "DROP TABLE IF EXISTS public.uptime_test_ids, public.uptime_test_latency" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---- the scenario ------------------------------------------------------------
# Times are seconds after BASE; the six hours are [0, 21600).
# A (site uptime-north, with a stream): ip every 60 s from 0 to 21600, except
#   none in (14400, 16200) (a gap: the check at 14400 holds 3 intervals, 180 s,
#   the other 1620 s are unmonitored), error (check failed) at 18000;
#   critical 3600..5340 (an outage: down 3600..5400), critical at the single
#   checks 7200 + 120k, k = 0..9 (flaps: 10 x 60 s down), critical 10800..12540
#   inside a maintenance window [10800, 12600) of camera A;
#   vision every 300 s from 0 to 21600: stream unavailable at 1200..2100 (ip
#   fine) and 3900..5100 (during the ip outage), obstruction at 6000 and 6300,
#   displacement alone at 9000, ok otherwise.
# B (site uptime-south, no stream): ip every 60 s, critical 600..1140.
# C (site uptime-north, with a stream that never reported): ip every 60 s ok
#   from 0 to 10740, then a check error at 10800 and no more checks (what the
#   workers check now does not reach back: an error holds as unmonitored).
psql -XAtq -v ON_ERROR_STOP=1 -v base="$BASE" >/dev/null <<'SQL'
BEGIN;
CREATE TEMP TABLE ids AS
SELECT (camera_health.register_camera('127.0.93.1', 1, rtsp_url => 'rtsp://127.0.93.1/a', interval_ip => 60,
		interval_port => 60, interval_vision => 300, name => 'uptime a', site => 'uptime-north')).id AS a,
	   (camera_health.register_camera('127.0.93.2', 1, interval_ip => 60, name => 'uptime b',
		site => 'uptime-south')).id AS b,
	   (camera_health.register_camera('127.0.93.3', 1, rtsp_url => 'rtsp://127.0.93.3/c', interval_ip => 60,
		interval_vision => 300, name => 'uptime c', site => 'uptime-north')).id AS c;
SELECT camera_health.add_maintenance(:'base'::timestamptz + interval '10800 s', :'base'::timestamptz + interval '12600 s',
	(SELECT a FROM ids), reason => 'uptime test');
CREATE TEMP TABLE scenario (camera_id bigint, check_type text, t integer, status text, latency double precision, metadata jsonb);
INSERT INTO scenario
SELECT a, 'ip', t,
	   CASE WHEN t = 18000 THEN 'error'
			WHEN t BETWEEN 3600 AND 5340 OR (t BETWEEN 7200 AND 8280 AND (t - 7200) % 120 = 0)
				 OR t BETWEEN 10800 AND 12540 THEN 'critical' ELSE 'ok' END, NULL, '{}'
FROM ids, generate_series(0, 21600, 60) t WHERE t <= 14400 OR t >= 16200;
INSERT INTO scenario
SELECT a, 'vision', t,
	   CASE WHEN t BETWEEN 1200 AND 2100 OR t BETWEEN 3900 AND 5100 THEN 'error'
			WHEN t IN (6000, 6300) THEN 'critical' WHEN t = 9000 THEN 'warning' ELSE 'ok' END, NULL,
	   CASE WHEN t BETWEEN 1200 AND 2100 OR t BETWEEN 3900 AND 5100
				 THEN '{"stage": "open", "error": "connection refused"}'::jsonb
			WHEN t IN (6000, 6300) THEN '{"obstruction": {"detected": true}, "blur": {"detected": false}}'
			WHEN t = 9000 THEN '{"displacement": {"detected": true}, "blur": {"detected": false}, "obstruction": {"detected": false}}'
			ELSE '{"blur": {"detected": false}, "obstruction": {"detected": false}}' END
FROM ids, generate_series(0, 21600, 300) t;
INSERT INTO scenario
SELECT b, 'ip', t, CASE WHEN t BETWEEN 600 AND 1140 THEN 'critical' ELSE 'ok' END, NULL, '{}'
FROM ids, generate_series(0, 21600, 60) t;
INSERT INTO scenario SELECT c, 'ip', t, CASE WHEN t = 10800 THEN 'error' ELSE 'ok' END, NULL, '{}'
FROM ids, generate_series(0, 10800, 60) t;
-- answered probes have a latency: 0.20 to 1.15 ms in a 20-step cycle
UPDATE scenario SET latency = 0.2 + (t / 60 % 20) * 0.05, metadata = '{"method": "icmp"}'
WHERE check_type = 'ip' AND status = 'ok';
-- in time order, as ingest would see them, one batch per instant
SELECT set_config('uptime.base', :'base', false);
DO $$
DECLARE
	at integer;
BEGIN
	FOR at IN SELECT DISTINCT t FROM scenario ORDER BY t LOOP
		PERFORM camera_health.record_results(
			(SELECT jsonb_agg(jsonb_build_object('camera_id', camera_id, 'check_type', check_type, 'status', status,
					'checked_ms', (extract(epoch FROM current_setting('uptime.base')::timestamptz) + t) * 1000,
					'latency_ms', latency, 'metadata', metadata))
			 FROM scenario WHERE t = at), 3, 2);
	END LOOP;
END
$$;
CREATE TABLE public.uptime_test_ids AS SELECT * FROM ids;
CREATE TABLE public.uptime_test_latency AS SELECT camera_id, t, latency FROM scenario WHERE latency IS NOT NULL;
COMMIT;
SQL
read -r A B C <<<"$(q "SELECT concat_ws(' ', a, b, c) FROM public.uptime_test_ids")"
q "DROP TABLE public.uptime_test_ids" >/dev/null
note "cameras $A $B $C"

# ---- by hand -----------------------------------------------------------------
# A, ip: 21600 s in all; unmonitored 1620 (gap) + 60 (error); maintenance
#   1800 (spans starting in [10800, 12600)); monitored 21600 - 3480 = 18120;
#   down 1800 (outage) + 600 (flaps) = 2400.
# A, vision: maintenance 6 x 300 = 1800; monitored 19800; down 4 x 300 +
#   5 x 300 = 2700; blind 2700 + 2 x 300 (obstruction) = 3300; the
#   displacement at 9000 is not blind.
# A, ip blind (ip down while the latest vision state was usable): 3600..3900
#   (vision still ok at 3600) = 300, and the 10 flaps (vision ok) = 600.
#   So A's blind minutes = (3300 + 300 + 600) / 60 = 70.
# B: monitored 21600, down 600, blind 600 (no stream: unreachable is blind).
# C: monitored 10800 (up to the error at 10800, unmonitored after).
A_MON=$((18120)); A_DOWN=2400; A_SMON=19800; A_SDOWN=2700; A_BLIND=$((3300 + 300 + 600)); A_MAINT=1800
B_MON=21600; B_DOWN=600; B_BLIND=600
C_MON=10800

# expected_row MON DOWN SMON SDOWN BLIND MAINT: the row camera_uptime should give
# numbers printed as PostgreSQL prints a float8 (shortest form, no ".0")
pyfmt() { python3 -c "s = repr(float($1)); print(s[:-2] if s.endswith('.0') else s)"; }
ratio() { # 1 - DOWN/MON rounded to 6 places, or empty for no monitored time
	if [ "$2" -eq 0 ]; then echo ""; else pyfmt "round(1 - $1 / $2, 6)"; fi
}
minutes() { pyfmt "round($1 / 60, 3)"; }
expected_row() {
	echo "$(ratio "$2" "$1")|$(ratio "$4" "$3")|$(minutes "$5")|$(minutes "$2")|$(minutes "$4")|$(minutes "$1")|$(minutes "$3")|$(minutes "$6")"
}
ROUNDED="round(availability::numeric, 6)::float8, round(stream_availability::numeric, 6)::float8,
	round(blind_minutes::numeric, 3)::float8, round(down_minutes::numeric, 3)::float8,
	round(stream_down_minutes::numeric, 3)::float8, round(monitored_minutes::numeric, 3)::float8,
	round(stream_monitored_minutes::numeric, 3)::float8, round(maintenance_minutes::numeric, 3)::float8"
SIX="$T, $T + interval '6 hours'"

uptime_of() { # camera: camera_uptime over the six hours
	q "SELECT $ROUNDED FROM camera_health.camera_uptime($1, $SIX)"
}
assert_eq "$(uptime_of "$A")" "$(expected_row $A_MON $A_DOWN $A_SMON $A_SDOWN $A_BLIND $A_MAINT)" "camera A"
assert_eq "$(uptime_of "$B")" "$(expected_row $B_MON $B_DOWN 0 0 $B_BLIND 0)" "camera B"
assert_eq "$(uptime_of "$C")" "$(expected_row $C_MON 0 0 0 0 0)" "camera C"
note "camera_uptime: A $(uptime_of "$A")"

fleet_row() { # scope site
	q "SELECT cameras, $ROUNDED FROM camera_health.fleet_uptime($SIX)
		WHERE scope = '$1' AND site IS NOT DISTINCT FROM $2"
}
assert_eq "$(fleet_row site "'uptime-north'")" \
	"2|$(expected_row $((A_MON + C_MON)) $A_DOWN $A_SMON $A_SDOWN $A_BLIND $A_MAINT)" "fleet_uptime, site north"
assert_eq "$(fleet_row site "'uptime-south'")" "1|$(expected_row $B_MON $B_DOWN 0 0 $B_BLIND 0)" "fleet_uptime, site south"
assert_eq "$(q "SELECT cameras, $ROUNDED FROM camera_health.fleet_uptime($SIX, site => 'uptime-north')")" \
	"$(fleet_row site "'uptime-north'")" "fleet_uptime(site => ...) gives that site's row only"
# the fleet row covers every camera of the stack; ours are the only ones with
# trends in those hours, other cameras add nothing but their count
assert_eq "$(q "SELECT $ROUNDED FROM camera_health.fleet_uptime($SIX) WHERE scope = 'fleet'")" \
	"$(expected_row $((A_MON + B_MON + C_MON)) $((A_DOWN + B_DOWN)) $A_SMON $A_SDOWN $((A_BLIND + B_BLIND)) $A_MAINT)" \
	"fleet_uptime, fleet row"

# hours partly in range count pro rata: [1800, 7200) is half of hour 0 (ip up
# all of it) and all of hour 1 (down 3600..5400): 1 - 1800 / 5400; and
# [1800, 5400) half of each: 1 - 900 / 3600
assert_eq "$(q "SELECT round(availability::numeric, 6)::float8, round(monitored_minutes::numeric, 3)
	FROM camera_health.camera_uptime($A, $T + interval '1800 s', $T + interval '7200 s')")" \
	"$(ratio 1800 5400)|90.000" "camera_uptime pro rata (half an hour and a whole one)"
assert_eq "$(q "SELECT round(availability::numeric, 6)::float8, round(monitored_minutes::numeric, 3)
	FROM camera_health.camera_uptime($A, $T + interval '1800 s', $T + interval '5400 s')")" \
	"$(ratio 900 3600)|60.000" "camera_uptime pro rata (two half hours)"

# over whole UTC days the figures come from uptime_daily: the same by hand,
# plus, for A and B, the 180 s (3 intervals) their last check at 21600 holds
# until the workers' first checks of them, today, close it
wait_for 60 "the workers' first ip checks of A and B" "SELECT count(*) = 2 FROM camera_health.camera_status
	WHERE camera_id IN ($A, $B) AND check_type = 'ip' AND checked_at > $T + interval '1 day'"
# (those checks went through the real path: prober, Redis, the ingest worker,
# record_results; their trends are in the hours of today)
assert_eq "$(q "SELECT sum(n_ok + n_warning + n_critical + n_error) > 0 FROM camera_health.check_trends
	WHERE camera_id = $A AND check_type = 'ip' AND hour > now() - interval '1 day'")" "t" "trends of A's checks by the workers"
DAY0="to_timestamp(floor(extract(epoch FROM $T) / 86400) * 86400)"
DAYS3="$DAY0 - interval '1 day', $DAY0 + interval '2 days'"
daily_of() { q "SELECT $ROUNDED FROM camera_health.camera_uptime($1, $DAYS3)"; }
assert_eq "$(daily_of "$A")" "$(expected_row $((A_MON + 180)) $A_DOWN $A_SMON $A_SDOWN $A_BLIND $A_MAINT)" "camera A, whole days"
assert_eq "$(daily_of "$B")" "$(expected_row $((B_MON + 180)) $B_DOWN 0 0 $B_BLIND 0)" "camera B, whole days"
assert_eq "$(daily_of "$C")" "$(expected_row $C_MON 0 0 0 0 0)" "camera C, whole days"
# and a range of whole days and partial ones at both ends: hours and days together
assert_eq "$(q "SELECT $ROUNDED FROM camera_health.camera_uptime($A, $DAY0 - interval '1 day' + interval '30 minutes',
	$DAY0 + interval '2 days' - interval '30 minutes')")" "$(daily_of "$A")" "camera A, days and hours"

# the SLA report of the month holding BASE: each camera row is camera_uptime
# over the month (which also holds what the workers' checks added after the
# six hours), each site row the sum of its cameras
MONTH=$(q "SELECT to_char($T AT TIME ZONE 'UTC', 'YYYY-MM')")
M_RANGE="($T AT TIME ZONE 'UTC')::date - extract(day FROM $T AT TIME ZONE 'UTC')::int + 1"
M_RANGE="($M_RANGE)::timestamp AT TIME ZONE 'UTC', (($M_RANGE) + interval '1 month') AT TIME ZONE 'UTC'"
SLA_COLS="round(availability::numeric, 6)::float8, round(blind_minutes::numeric, 3)::float8,
	round(monitored_minutes::numeric, 3)::float8, round(maintenance_minutes::numeric, 3)::float8"
for cam in "$A" "$B" "$C"; do
	assert_eq "$(q "SELECT $SLA_COLS FROM camera_health.camera_sla('$MONTH') WHERE scope = 'camera' AND camera_id = $cam")" \
		"$(q "SELECT $SLA_COLS FROM camera_health.camera_uptime($cam, $M_RANGE)")" "camera_sla of camera $cam"
done
assert_eq "$(q "SELECT cameras, round(monitored_minutes::numeric, 3)::float8, round(blind_minutes::numeric, 3)::float8
	FROM camera_health.camera_sla('$MONTH') WHERE scope = 'site' AND site = 'uptime-north'")" \
	"$(q "SELECT count(*), round(sum(monitored_minutes)::numeric, 3)::float8, round(sum(blind_minutes)::numeric, 3)::float8
		FROM camera_health.camera_sla('$MONTH') WHERE scope = 'camera' AND site = 'uptime-north'")" "camera_sla, site north"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_sla('$MONTH') WHERE scope = 'fleet'")" "1" "camera_sla, one fleet row"

# latency: the trends' hourly p95 is within 4% of the p95 of the raw samples
q "SELECT t.hour, camera_health.latency_hist_quantile(t.latency_hist, 0.95), x.p95, t.latency_min, x.lo,
		  t.latency_max, x.hi, round((t.latency_sum / camera_health.latency_hist_count(t.latency_hist))::numeric, 6),
		  round(x.mean::numeric, 6)
	FROM camera_health.check_trends t
	JOIN (SELECT to_timestamp(floor((extract(epoch FROM $T) + l.t) / 3600) * 3600) AS hour,
				 percentile_disc(0.95) WITHIN GROUP (ORDER BY l.latency) AS p95, min(l.latency)::real AS lo,
				 max(l.latency)::real AS hi, avg(l.latency) AS mean
		  FROM public.uptime_test_latency l WHERE l.camera_id = $A GROUP BY 1) x USING (hour)
	WHERE t.camera_id = $A AND t.check_type = 'ip'" >"$STACK_DIR/uptime_p95.txt"
q "DROP TABLE public.uptime_test_latency" >/dev/null
# hours 0 to 5, and hour 6 for the check at 21600
assert_eq "$(wc -l <"$STACK_DIR/uptime_p95.txt")" "7" "hours with latency for camera A"
while IFS='|' read -r hour est exact lo want_lo hi want_hi mean want_mean; do
	python3 -c "import sys; sys.exit(0 if abs($est - $exact) <= 0.04 * $exact else 1)" ||
		fail "p95 of $hour: trends say $est, the samples $exact"
	assert_eq "$lo|$hi|$mean" "$want_lo|$want_hi|$want_mean" "latency min, max and mean of $hour"
done <"$STACK_DIR/uptime_p95.txt"
note "hourly p95 within 4% of the samples' in all 7 hours"

# ---- trends outlive the raw history --------------------------------------------
BEFORE_A=$(uptime_of "$A")
q "SELECT camera_health.set_log_retention($A, '1 hour')" >/dev/null
assert_eq "$(q "SELECT count(*) > 0 FROM camera_health.camera_logs($A, since => $T, max_rows => 10)")" "t" \
	"A has raw history before retention"
q "SELECT camera_health.run_retention()" >/dev/null
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_logs($A, since => $T, max_rows => 10000)
	WHERE created_at < $T + interval '6 hours 1 s'")" "0" "A's raw history of ten days ago is gone"
assert_eq "$(uptime_of "$A")" "$BEFORE_A" "A's uptime from the trends, after its raw history expired"

# a short trend retention removes B's trends (and nobody else's)
q "SELECT camera_health.set_trend_retention($B, '1 day')" >/dev/null
assert_eq "$(q "SELECT (camera_health.get_trend_retention($B)).retention, (camera_health.get_trend_retention($A)).retention")" \
	"1 day|400 days" "trend retention policies"
RUN=$(q "SELECT check_trends_deleted FROM camera_health.run_retention()")
[ "$RUN" -ge 7 ] || fail "run_retention removed $RUN trend rows, want B's 7 hours at least"
assert_eq "$(q "SELECT count(*) FROM camera_health.check_trends WHERE camera_id = $B AND hour < now() - interval '1 day'")" \
	"0" "B's trends older than a day are gone (the workers' checks of today stay)"
assert_eq "$(uptime_of "$B")" "$(expected_row 0 0 0 0 0 0)" "B: nothing monitored any more"
assert_eq "$(uptime_of "$A")" "$BEFORE_A" "A's trends are kept"

echo "ok   test_uptime"
