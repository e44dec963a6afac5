-- Health logs and alerts: newest first, filters, acknowledgement, indexes.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

INSERT INTO health_logs (camera_id, check_type, status, metadata, created_at) VALUES
	(1, 'ip', 'ok', '{"latency_ms": 1.5}', '2026-01-01 10:00:00+00'),
	(1, 'port', 'critical', '{"error": "connection refused"}', '2026-01-01 10:00:01+00'),
	(1, 'ip', 'ok', '{"latency_ms": 1.7}', '2026-01-01 10:00:30+00'),
	(1, 'vision', 'warning', '{"blur": {"detected": true}}', '2026-01-01 10:01:00+00'),
	(2, 'ip', 'error', '{"error": "no route"}', '2026-01-01 10:00:00+00');

SELECT check_type, status, metadata, created_at FROM camera_logs(1);
SELECT check_type, status, created_at FROM camera_logs(1, check_type => 'ip');
SELECT check_type, created_at FROM camera_logs(1, since => '2026-01-01 10:00:30+00');
SELECT check_type, created_at FROM camera_logs(1, max_rows => 2);
SELECT count(*) FROM camera_logs(2);

-- one open alert per camera and condition
INSERT INTO alerts (camera_id, alert_type, severity, message, created_at)
VALUES (1, 'port_unavailable', 'critical', 'port 554 refuses connections', '2026-01-01 10:00:01+00');
INSERT INTO alerts (camera_id, alert_type, severity, message)
VALUES (1, 'port_unavailable', 'critical', 'again');
\echo :SQLSTATE
INSERT INTO alerts (camera_id, alert_type, severity, status, message, created_at, resolved_at)
VALUES (1, 'blur', 'warning', 'resolved', 'image blurred', '2025-12-31 09:00:00+00', '2025-12-31 10:00:00+00');

SELECT alert_type, severity, status, message FROM camera_alerts(1);
SELECT alert_type, status FROM camera_alerts(1, only_open => true);
SELECT alert_type FROM camera_alerts(1, max_rows => 1);

-- acknowledging keeps the alert open (it still fails) and is idempotent
SELECT id AS alert_id FROM alerts WHERE alert_type = 'port_unavailable' \gset
SELECT alert_type, status, acknowledged_at IS NOT NULL AS acked, resolved_at FROM acknowledge_alert(:alert_id);
SELECT acknowledged_at AS first_ack FROM alerts WHERE id = :alert_id \gset
SELECT status, acknowledged_at = :'first_ack' AS same_time FROM acknowledge_alert(:alert_id);
SELECT alert_type, status FROM camera_alerts(1, only_open => true);

-- the chunks' index serves "newest logs of a camera" and "hours of a camera older than X"
INSERT INTO cameras (ip_address) SELECT ('10.9.0.' || i)::inet FROM generate_series(1, 40) i;
INSERT INTO health_logs (camera_id, check_type, status, created_at)
SELECT c.id, (ARRAY['ip', 'port', 'vision'])[1 + n % 3], 'ok', date_trunc('hour', now()) - n * interval '1 minute'
FROM cameras c, generate_series(1, 500) n WHERE c.ip_address << '10.9.0.0/24';
-- hours before this one: packed, a row per camera, check and hour
SELECT packed >= 20000 AS packed FROM pack_history();
ANALYZE check_history, check_recent;
SELECT id AS cam FROM cameras WHERE ip_address = '10.9.0.7' \gset
-- (a chunk is read once; on tables this small the planner would cache the rows of each)
SET enable_memoize = off;
EXPLAIN (COSTS OFF)
SELECT * FROM health_logs WHERE camera_id = :cam ORDER BY created_at DESC LIMIT 100;
EXPLAIN (COSTS OFF)
SELECT * FROM health_logs WHERE camera_id = :cam AND check_type = 'vision' ORDER BY created_at DESC LIMIT 100;
EXPLAIN (COSTS OFF)
DELETE FROM check_history WHERE camera_id = :cam AND hour < now() - interval '5 hours';
DELETE FROM cameras WHERE ip_address << '10.9.0.0/24';
