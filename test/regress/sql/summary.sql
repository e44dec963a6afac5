-- health_summary(): counts of cameras, statuses and open alerts.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

SELECT jsonb_pretty(health_summary() - 'generated_at');

-- camera 1: every check ok; camera 2: port critical; camera 4: never checked
INSERT INTO camera_status (camera_id, check_type, status) VALUES
	(1, 'ip', 'ok'), (1, 'port', 'ok'),
	(2, 'ip', 'ok'), (2, 'port', 'critical'), (2, 'vision', 'error');
INSERT INTO alerts (camera_id, alert_type, severity, message) VALUES
	(2, 'port_unavailable', 'critical', 'port 554 refuses connections'),
	(2, 'high_latency', 'warning', 'latency 900 ms');
SELECT jsonb_pretty(health_summary() - 'generated_at');

-- disabled cameras are neither healthy nor unhealthy
SELECT enabled FROM set_camera_enabled(2, false);
SELECT health_summary() -> 'disabled' AS disabled, health_summary() -> 'unhealthy' AS unhealthy,
	   health_summary() -> 'checks' -> 'port' AS port_checks;
SELECT enabled FROM set_camera_enabled(2, true);
SELECT (health_summary() ->> 'generated_at')::timestamptz = now() AS generated_now;
