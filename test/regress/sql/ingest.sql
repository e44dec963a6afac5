-- record_results(): what the ingest worker writes, and alert hysteresis
-- (open after 3 failing checks in a row, resolve after 2 passing ones).
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
SELECT id AS cam FROM register_camera('10.4.0.1', 8554) \gset
SELECT id AS other FROM register_camera('10.4.0.2') \gset

-- r(camera, check, status, ms): one result as JSON
CREATE FUNCTION pg_temp.r(camera bigint, check_type text, status text, ms bigint,
						  latency double precision DEFAULT NULL, detail text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object('camera_id', camera, 'check_type', check_type, 'status', status,
	'checked_ms', 1767261600000 + ms * 1000, 'latency_ms', latency,
	'metadata', jsonb_build_object('method', 'icmp', 'latency_ms', latency, 'threshold_ms', 500,
		'detail', coalesce(detail, CASE WHEN status IN ('ok', 'warning') THEN 'echo reply' ELSE 'timeout after 1000 ms' END)));
CREATE FUNCTION pg_temp.record(VARIADIC results jsonb[])
RETURNS TABLE (logged bigint, opened bigint, resolved bigint) LANGUAGE sql
RETURN (SELECT record_results(to_jsonb(results), 3, 2));
CREATE VIEW pg_temp.open_alerts AS
SELECT camera_id, alert_type, severity, status, message, created_at, last_seen_at FROM alerts
WHERE resolved_at IS NULL AND camera_id IN (:cam, :other);

-- two failures: no alert yet
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 1));
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 2));
SELECT count(*) AS open FROM pg_temp.open_alerts;
-- the third opens one alert; further failures keep that one row up to date
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 3));
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 4));
SELECT alert_type, severity, status, message, created_at, last_seen_at FROM pg_temp.open_alerts;
SELECT status, streak, since, checked_at FROM camera_status WHERE camera_id = :cam AND check_type = 'ip';

-- one success does not resolve it, and a failure restarts the count
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'ok', 5, 0.4));
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 6));
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'ok', 7, 0.4));
SELECT alert_type, status FROM pg_temp.open_alerts;
-- two in a row do
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'ok', 8, 0.5));
SELECT alert_type, status, resolved_at FROM alerts WHERE camera_id = :cam;

-- checks that could not run (status error) neither open nor resolve
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'critical', 9, NULL, 'connection refused'),
							 pg_temp.r(:cam, 'port', 'critical', 10, NULL, 'connection refused'));
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'error', 11, NULL, 'out of file descriptors'),
							 pg_temp.r(:cam, 'port', 'error', 12, NULL, 'out of file descriptors'),
							 pg_temp.r(:cam, 'port', 'error', 13, NULL, 'out of file descriptors'));
SELECT count(*) AS open FROM pg_temp.open_alerts;
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'critical', 14, NULL, 'connection refused'));
SELECT alert_type, message FROM pg_temp.open_alerts;

-- a backlog in one batch, out of order: applied oldest first
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'ok', 17, 0.2),
							 pg_temp.r(:cam, 'port', 'ok', 15, 0.2),
							 pg_temp.r(:cam, 'port', 'critical', 16, NULL, 'connection refused'));
SELECT status, streak FROM camera_status WHERE camera_id = :cam AND check_type = 'port';
SELECT alert_type FROM pg_temp.open_alerts;
-- a result older than the latest status changes nothing but the log
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'ok', 1, 0.2));
SELECT status, streak, checked_at FROM camera_status WHERE camera_id = :cam AND check_type = 'port';
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'port', 'ok', 18, 0.2));
SELECT count(*) AS open FROM pg_temp.open_alerts;

-- high latency: a reachable camera that answers slowly warns, separately
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'warning', 19, 700),
							 pg_temp.r(:cam, 'ip', 'warning', 20, 800),
							 pg_temp.r(:cam, 'ip', 'warning', 21, 900));
SELECT alert_type, severity, message FROM pg_temp.open_alerts;
-- an unreachable camera says nothing about its latency: the warning stays open
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'critical', 22));
SELECT alert_type FROM pg_temp.open_alerts;
-- until two fast answers in a row
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'ok', 23, 1.0),
							 pg_temp.r(:cam, 'ip', 'ok', 24, 1.0));
SELECT alert_type, status FROM alerts WHERE camera_id = :cam ORDER BY id;

-- several cameras in one batch; results of deleted or disabled cameras are dropped
SELECT enabled FROM set_camera_enabled(:other, false);
SELECT * FROM pg_temp.record(pg_temp.r(:cam, 'ip', 'ok', 25, 1.0),
							 pg_temp.r(:other, 'ip', 'ok', 25, 1.0),
							 pg_temp.r(999999, 'ip', 'ok', 25, 1.0));
SELECT camera_id = :cam AS is_cam, count(*) FROM health_logs WHERE camera_id IN (:cam, :other) GROUP BY camera_id;

-- every result is a log row; every measured one a latency sample
SELECT check_type, status, count(*) FROM health_logs WHERE camera_id = :cam GROUP BY 1, 2 ORDER BY 1, 2;
SELECT check_type, count(*), min(latency), max(latency) FROM camera_latency WHERE camera_id = :cam GROUP BY 1 ORDER BY 1;
SELECT check_type, status, metadata ->> 'detail' AS detail FROM camera_logs(:cam, max_rows => 3);
SELECT alert_type, failing, streak FROM alert_state WHERE camera_id = :cam ORDER BY 1;

-- bad batches
SELECT record_results('{}', 3, 2);
\echo :SQLSTATE
SELECT record_results('[]', 0, 2);
\echo :SQLSTATE
SELECT * FROM record_results('[]', 3, 2);
-- the worker's function is not part of the API
SET ROLE camera_health_writer;
SELECT record_results('[]', 3, 2);
\echo :SQLSTATE
RESET ROLE;
SELECT (delete_camera(:cam)).id = :cam AS deleted, (delete_camera(:other)).id = :other AS deleted;
