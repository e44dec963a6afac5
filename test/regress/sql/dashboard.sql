-- The dashboard's reads (issue 13): camera_board(), open_alerts(), camera_heartbeat().
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
-- earlier files leave maintenance windows behind (one of the whole fleet): this file has its own
DELETE FROM maintenance_windows;
-- the hour the history below counts from, taken once (a run may cross an hour)
SELECT date_trunc('hour', now()) AS t0 \gset

SELECT count(*) FROM register_cameras('[
	{"ip_address": "10.13.0.1", "name": "50% gate", "site": "dash-north", "tags": ["ptz", "Outdoor"],
	 "rtsp_url": "rtsp://viewer:s3cr3t@10.13.0.1/live"},
	{"ip_address": "10.13.0.2", "name": "gate_2", "site": "dash-north"},
	{"ip_address": "10.13.0.3", "name": "lobby", "site": "dash-south", "tags": ["indoor"]},
	{"ip_address": "10.13.0.4", "name": "yard", "site": "dash-south"},
	{"ip_address": "10.13.0.5", "name": "dock", "site": "dash-south"},
	{"ip_address": "10.13.0.6", "name": "spare", "site": "dash-south"}]');
SELECT min(id) AS c1, min(id) + 1 AS c2, min(id) + 2 AS c3, min(id) + 3 AS c4, min(id) + 4 AS c5, min(id) + 5 AS c6
FROM cameras WHERE ip_address << '10.13.0.0/24' \gset
-- healthy, unhealthy (ip down), unhealthy (vision warns), unknown (no check), maintenance, disabled
INSERT INTO camera_status (camera_id, check_type, status, since, checked_at) VALUES
	(:c1, 'ip', 'ok', '2026-03-01 08:00+00', '2026-03-01 12:00+00'),
	(:c1, 'port', 'ok', '2026-03-01 08:01+00', '2026-03-01 12:00+00'),
	(:c1, 'vision', 'ok', '2026-03-01 08:02+00', '2026-03-01 12:00+00'),
	(:c2, 'ip', 'critical', '2026-03-01 09:59+00', '2026-03-01 12:00+00'),
	(:c2, 'port', 'ok', '2026-03-01 08:00+00', '2026-03-01 12:00+00'),
	(:c3, 'ip', 'ok', '2026-03-01 08:00+00', '2026-03-01 12:00+00'),
	(:c3, 'vision', 'warning', '2026-03-01 10:04+00', '2026-03-01 12:00+00'),
	(:c5, 'ip', 'critical', '2026-03-01 10:59+00', '2026-03-01 12:00+00'),
	(:c6, 'ip', 'ok', '2026-03-01 08:00+00', '2026-03-01 12:00+00');
SELECT id FROM add_maintenance(now() - interval '1 hour', now() + interval '1 hour', camera_id => :c5,
							   reason => 'dashboard test') \gset win_
SELECT enabled FROM set_camera_enabled(:c6, false);
INSERT INTO snapshots (camera_id, taken_at, jpeg) VALUES (:c3, '2026-03-01 11:55+00', '\xffd8ffd9');
-- open alerts (two of one camera at the same time, one acknowledged), one with evidence, one resolved
INSERT INTO alerts (camera_id, alert_type, severity, message, created_at, last_seen_at) VALUES
	(:c2, 'camera_unreachable', 'critical', 'no answer', '2026-03-01 10:00+00', '2026-03-01 12:00+00'),
	(:c2, 'port_unavailable', 'critical', 'refused', '2026-03-01 10:00+00', '2026-03-01 12:00+00'),
	(:c3, 'blur', 'warning', 'blurred', '2026-03-01 10:05+00', '2026-03-01 12:00+00'),
	(:c5, 'camera_unreachable', 'critical', 'no answer', '2026-03-01 11:00+00', '2026-03-01 12:00+00');
INSERT INTO alerts (camera_id, alert_type, severity, status, message, created_at, last_seen_at, resolved_at) VALUES
	(:c1, 'high_latency', 'warning', 'resolved', 'slow', '2026-03-01 09:00+00', '2026-03-01 09:10+00', '2026-03-01 09:20+00');
SELECT id AS a_unreach FROM alerts WHERE camera_id = :c2 AND alert_type = 'camera_unreachable' \gset
SELECT id AS a_port FROM alerts WHERE camera_id = :c2 AND alert_type = 'port_unavailable' \gset
SELECT id AS a_blur FROM alerts WHERE camera_id = :c3 AND alert_type = 'blur' \gset
SELECT id AS a_dock FROM alerts WHERE camera_id = :c5 \gset
SELECT status FROM acknowledge_alert(:a_port);
INSERT INTO alert_evidence (camera_id, alert_id, taken_at, jpeg) VALUES (:c3, :a_blur, '2026-03-01 10:05+00', '\xffd8ffd9');

-- ---- camera_board() ---------------------------------------------------------

-- a tile per camera, by id: health as health_summary() counts it, each check's status and since when
SELECT id - :c1 AS cam, name, site, tags, ip_address, enabled, in_maintenance, health,
	   ip_status, ip_since, port_status, vision_status, vision_since, open_alerts, worst_severity, snapshot_at
FROM camera_board(search => '10.13.0.');
-- no credentials on a tile
SELECT count(*) AS url_columns FROM pg_attribute
WHERE attrelid = 'camera_tile'::regclass AND attnum > 0 AND attname ~ 'url|jpeg|password';
-- keyset paging: the next page starts after the last id of the one before
SELECT array_agg(id - :c1) AS page_1 FROM camera_board(search => '10.13.0.', max_rows => 4);
SELECT array_agg(id - :c1) AS page_2 FROM camera_board(search => '10.13.0.', max_rows => 4, after_id => :c4);
SELECT count(*) AS page_3 FROM camera_board(search => '10.13.0.', max_rows => 4, after_id => :c6);
-- search: name, address, site or tag, case-insensitively; % and _ stand for themselves
SELECT array_agg(id - :c1) AS percent FROM camera_board(search => '%', site => 'dash-north');
SELECT array_agg(id - :c1) AS fifty_percent FROM camera_board(search => '50%');
SELECT array_agg(id - :c1) AS underscore FROM camera_board(search => '_', site => 'dash-north');
SELECT array_agg(id - :c1) AS by_name FROM camera_board(search => 'GATE', site => 'dash-north');
SELECT array_agg(id - :c1) AS by_address FROM camera_board(search => '10.13.0.3');
SELECT array_agg(id - :c1) AS by_site FROM camera_board(search => 'DASH-SOUTH');
SELECT array_agg(id - :c1) AS by_tag FROM camera_board(search => 'outdoor', site => 'dash-north');
SELECT array_agg(id - :c1) AS empty_search FROM camera_board(search => '', site => 'dash-north');
SELECT count(*) AS nothing FROM camera_board(search => 'no such camera');
-- filters: site, health, both with search and paging
SELECT array_agg(id - :c1) AS north FROM camera_board(site => 'dash-north');
SELECT w.state, array_agg(b.id - :c1 ORDER BY b.id) AS cams
FROM (VALUES ('healthy'), ('unhealthy'), ('unknown'), ('maintenance'), ('disabled')) w(state)
CROSS JOIN LATERAL camera_board(search => '10.13.0.', status => w.state) b GROUP BY w.state ORDER BY 1;
SELECT array_agg(id - :c1) AS unhealthy_page FROM camera_board(site => 'dash-south', status => 'unhealthy', max_rows => 1);
SELECT count(*) AS unhealthy_after FROM camera_board(site => 'dash-south', status => 'unhealthy', after_id => :c3);

-- the board counts what health_summary() counts: fleet-wide, whatever the other files left, and per site
CREATE TEMP TABLE tiles AS SELECT * FROM camera_board(max_rows => 1000);
DO $$
DECLARE
	last_id bigint;
BEGIN
	LOOP
		SELECT max(id) INTO last_id FROM pg_temp.tiles;
		EXIT WHEN NOT EXISTS (SELECT FROM camera_health.camera_board(max_rows => 1, after_id => last_id));
		INSERT INTO pg_temp.tiles SELECT * FROM camera_health.camera_board(max_rows => 1000, after_id => last_id);
	END LOOP;
END
$$;
SELECT k AS summary_key, (health_summary() ->> k)::bigint = (SELECT count(*) FROM tiles t WHERE k = 'cameras' OR t.health = k) AS equal
FROM unnest(ARRAY['cameras', 'healthy', 'unhealthy', 'unknown', 'maintenance', 'disabled']) k;
SELECT s ->> 'site' AS site, s - 'site' AS summary,
	   s - 'site' = (SELECT jsonb_build_object('cameras', count(*), 'enabled', count(*) FILTER (WHERE t.enabled),
											   'healthy', count(*) FILTER (WHERE t.health = 'healthy'),
											   'unhealthy', count(*) FILTER (WHERE t.health = 'unhealthy'),
											   'unknown', count(*) FILTER (WHERE t.health = 'unknown'),
											   'maintenance', count(*) FILTER (WHERE t.health = 'maintenance'),
											   'open_alerts', sum(t.open_alerts))
					 FROM tiles t WHERE t.site = s ->> 'site') AS board_agrees
FROM jsonb_array_elements(health_summary() -> 'sites') s WHERE s ->> 'site' LIKE 'dash-%' ORDER BY 1;
-- enabled = healthy + unhealthy + unknown + maintenance
SELECT (s ->> 'enabled')::int = (s ->> 'healthy')::int + (s ->> 'unhealthy')::int + (s ->> 'unknown')::int
	   + (s ->> 'maintenance')::int AS enabled_adds_up
FROM health_summary() s;
-- once the window ends, the camera is judged by its checks again
SELECT ended_early_at IS NOT NULL AS ended FROM end_maintenance(:win_id);
SELECT health, in_maintenance FROM camera_board(search => 'dock', site => 'dash-south');

-- bad arguments
SELECT camera_board(max_rows => 0);
\echo :SQLSTATE
SELECT camera_board(max_rows => 1001);
\echo :SQLSTATE
SELECT camera_board(max_rows => NULL);
\echo :SQLSTATE
SELECT camera_board(status => 'sick');
\echo :SQLSTATE

-- ---- open_alerts() ----------------------------------------------------------

-- unresolved, newest first (a tie by id), with what the page shows and how notifications group them
SELECT id - :a_unreach AS alert, camera_name, site, alert_type, severity, status, message, created_at,
	   acknowledged, acknowledged_at IS NOT NULL AS ack_time, has_evidence, group_key
FROM open_alerts(site => 'dash-north')
UNION ALL
SELECT id - :a_unreach, camera_name, site, alert_type, severity, status, message, created_at,
	   acknowledged, acknowledged_at IS NOT NULL, has_evidence, group_key
FROM open_alerts(site => 'dash-south');
-- the group key is the one make_notification() groups by: a site ('site:' for none)
SELECT alert_group_key('north') AS north, alert_group_key(NULL) AS no_site;
-- keyset paging across the tie
SELECT array_agg(id - :a_unreach) AS page_1 FROM open_alerts(site => 'dash-north', max_rows => 1);
SELECT array_agg(id - :a_unreach) AS page_2 FROM open_alerts(site => 'dash-north', max_rows => 1, before_id => :a_port);
SELECT count(*) AS page_3 FROM open_alerts(site => 'dash-north', max_rows => 1, before_id => :a_unreach);
-- filters
SELECT array_agg(id - :a_unreach) AS blur FROM open_alerts(alert_type => 'blur') WHERE site LIKE 'dash-%';
SELECT array_agg(id - :a_unreach) AS south_critical FROM open_alerts(site => 'dash-south', severity => 'critical');
SELECT count(*) AS north_warning FROM open_alerts(site => 'dash-north', severity => 'warning');
-- the fleet's open alerts are the summary's
SELECT count(*) = (health_summary() -> 'open_alerts' ->> 'total')::int AS all_open
FROM open_alerts(max_rows => 1000);
-- bad arguments
SELECT open_alerts(severity => 'fatal');
\echo :SQLSTATE
SELECT open_alerts(alert_type => 'fire');
\echo :SQLSTATE
SELECT open_alerts(max_rows => 0);
\echo :SQLSTATE
SELECT open_alerts(before_id => -1);
\echo :SQLSTATE
SELECT camera_health_api.open_alerts(before_id => -1);
\echo :SQLSTATE

-- ---- camera_heartbeat() ------------------------------------------------------

-- a constructed history of camera 4, hour-aligned so that nothing depends on the time of day:
-- from 5 hours before this hour to 20 minutes before it, ip every 7 minutes, port every 11,
-- vision every 29; failures without a latency; latencies exact in binary
CREATE TEMP TABLE beat AS
SELECT t.check_type, n,
	   :'t0'::timestamptz - interval '5 hours' + n * t.every + interval '250.4 milliseconds' AS at,
	   CASE WHEN t.check_type = 'ip' AND n % 9 = 4 THEN 'critical' WHEN t.check_type = 'ip' AND n % 11 = 5 THEN 'warning'
			WHEN t.check_type = 'port' AND n % 8 = 3 THEN 'error' WHEN t.check_type = 'vision' AND n % 4 = 2 THEN 'warning'
			ELSE 'ok' END AS status
FROM (VALUES ('ip', interval '7 minutes', 39), ('port', interval '11 minutes', 24), ('vision', interval '29 minutes', 9))
	 AS t(check_type, every, last), generate_series(0, t.last) n;
INSERT INTO health_logs (camera_id, check_type, status, metadata, created_at)
SELECT :c4, b.check_type, b.status,
	   CASE WHEN b.check_type = 'vision' THEN jsonb_build_object('frames', 2)
			WHEN b.status = 'ok' OR b.status = 'warning' THEN jsonb_build_object('method', 'icmp', 'latency_ms', 0.25 + (b.n % 40) * 0.125)
			ELSE jsonb_build_object('method', 'icmp', 'detail', 'timeout') END,
	   b.at
FROM beat b ORDER BY b.at;
-- older than an hour ago into chunks, the rest stays in check_recent; then a late check into a packed hour
SELECT packed > 0 AS packed FROM pack_history(after_camera => :c4 - 1, max_cameras => 1,
											 before => :'t0'::timestamptz - interval '1 hour');
INSERT INTO health_logs (camera_id, check_type, status, metadata, created_at)
VALUES (:c4, 'ip', 'ok', '{"method": "icmp", "latency_ms": 9.5}', :'t0'::timestamptz - interval '5 hours' + interval '3 minutes');
SELECT packed AS late_packed FROM pack_history(after_camera => :c4 - 1, max_cameras => 1,
											  before => :'t0'::timestamptz - interval '1 hour');
SELECT count(DISTINCT hour) AS packed_hours, (SELECT count(*) FROM check_recent WHERE camera_id = :c4) AS recent_checks
FROM check_history WHERE camera_id = :c4;

-- a row per check type (the last day by default), oldest first
SELECT check_type, cardinality(at_ms) AS checks, status, cardinality(latency_ms) AS latencies,
	   latency_ms[1:3] AS first_latencies
FROM camera_heartbeat(:c4);
-- times a check interval apart, in epoch milliseconds
SELECT check_type, at_ms[3] - at_ms[2] AS ms_apart,
	   at_ms[2] = (extract(epoch FROM :'t0'::timestamptz - interval '5 hours' + interval '3 minutes') * 1000)::bigint AS late_one_in_place
FROM camera_heartbeat(:c4);
-- the same checks as camera_logs() (and latencies as camera_latency()), in the reverse order:
-- the whole history, and since a time inside a packed hour
SELECT :'t0'::timestamptz - interval '3 hours' + interval '13 minutes 0.5 seconds' AS mid \gset
SELECT s.label, hb.check_type, cardinality(hb.at_ms) AS checks,
	   hb.at_ms = l.at_ms AS same_times, hb.status = l.status AS same_statuses, hb.latency_ms = l.latency_ms AS same_latencies,
	   CASE WHEN hb.check_type <> 'vision' THEN array_remove(hb.latency_ms, NULL) = lat.latency_ms END AS as_camera_latency
FROM (VALUES ('all', now() - interval '24 hours'), ('mid', :'mid'::timestamptz)) AS s(label, since)
CROSS JOIN LATERAL camera_heartbeat(:c4, s.since) hb
CROSS JOIN LATERAL (
	SELECT array_agg(round(extract(epoch FROM g.created_at) * 1000)::bigint ORDER BY g.created_at, g.id) AS at_ms,
		   string_agg(left(g.status, 1), '' ORDER BY g.created_at, g.id) AS status,
		   array_agg((g.metadata ->> 'latency_ms')::real ORDER BY g.created_at, g.id) AS latency_ms
	FROM camera_logs(:c4, check_type => hb.check_type, since => s.since, max_rows => 10000) g) l
CROSS JOIN LATERAL (
	SELECT array_agg(v.latency::real ORDER BY v.created_at, v.id) AS latency_ms
	FROM camera_latency(:c4, check_type => nullif(hb.check_type, 'vision'), since => s.since, max_rows => 10000) v) lat
ORDER BY 1, 2;
-- a camera without checks has empty rows; since in the future too
SELECT check_type, at_ms, status, latency_ms FROM camera_heartbeat(:c1);
SELECT sum(cardinality(at_ms)) AS future FROM camera_heartbeat(:c4, now() + interval '1 hour');
-- errors: unknown camera (P0002; over HTTP 404), since more than 31 days back, no camera
SELECT camera_heartbeat(-1);
\echo :SQLSTATE
SELECT camera_health_api.camera_heartbeat(-1);
\echo :SQLSTATE
\set VERBOSITY terse
SELECT camera_heartbeat(:c4, now() - interval '32 days');
\echo :SQLSTATE
\set VERBOSITY default
SELECT count(*) AS thirty_days FROM camera_heartbeat(:c4, now() - interval '30 days');
SELECT camera_heartbeat(NULL);
\echo :SQLSTATE

-- ---- readers: they read the three, and are refused what acts -----------------

CREATE ROLE regress_ch_dash_reader NOLOGIN IN ROLE camera_health_anon;
SET ROLE regress_ch_dash_reader;
SELECT count(*) AS tiles FROM camera_health_api.camera_board(search => '10.13.0.');
SELECT count(*) AS alerts FROM camera_health_api.open_alerts(site => 'dash-south');
SELECT count(*) AS check_types FROM camera_health_api.camera_heartbeat(:c4);
SELECT acknowledge_alert(:a_unreach);
\echo :SQLSTATE
SELECT camera_health_api.acknowledge_alert(:a_unreach, :c2);
\echo :SQLSTATE
SELECT camera_health_api.set_camera_enabled(:c1, false);
\echo :SQLSTATE
SELECT camera_health_api.reset_reference(:c1);
\echo :SQLSTATE
SELECT end_maintenance(:win_id);
\echo :SQLSTATE
-- nor do the pictures' tables open to them through the board
SELECT count(*) FROM snapshots;
\echo :SQLSTATE
RESET ROLE;
DROP ROLE regress_ch_dash_reader;
SELECT status FROM alerts WHERE id = :a_unreach;

-- the HTTP functions: the SQL ones' rows
SELECT (SELECT array_agg(t ORDER BY t.id) FROM camera_health_api.camera_board(search => '10.13.0.') t)
	 = (SELECT array_agg(t ORDER BY t.id) FROM camera_board(search => '10.13.0.') t) AS same_board;
SELECT (SELECT array_agg(a ORDER BY a.id) FROM camera_health_api.open_alerts() a)
	 = (SELECT array_agg(a ORDER BY a.id) FROM open_alerts() a) AS same_alerts;
SELECT camera_health_api.camera_board(status => 'sick');
\echo :SQLSTATE
