-- Registering, reading, changing and deleting cameras.
CREATE EXTENSION camera_health;
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

-- defaults of DESIGN.md: port 554, intervals 30/60/300 seconds
SELECT id, name, ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, enabled
FROM register_camera('10.0.0.5');
SELECT id, name, ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision
FROM register_camera('10.0.0.6', 8554, 'rtsp://admin:secret@10.0.0.6:8554/live', 10, 20, 120, 'gate');
-- named arguments, as PostgREST calls them
SELECT id, ip_address, port, rtsp_url, name
FROM register_camera(ip_address => '2001:db8::7', rtsp_url => 'http://[2001:db8::7]/snapshot.jpg', name => 'lobby');

SELECT id, name, ip_address, port FROM get_camera(2);
SELECT id, name, ip_address, port, rtsp_url FROM list_cameras();

-- update: NULL keeps a field, '' clears rtsp_url and name
SELECT id, name, port, rtsp_url, interval_ip FROM update_camera(2, port => 554, interval_ip => 15);
SELECT id, name, port, rtsp_url FROM update_camera(2, rtsp_url => '', name => '');
SELECT id, name, rtsp_url FROM update_camera(2, rtsp_url => 'rtsps://10.0.0.6/live', name => 'gate 2');
SELECT updated_at > created_at AS updated FROM get_camera(2);

-- enable / disable
SELECT id, enabled FROM set_camera_enabled(1, false);
SELECT id, enabled FROM set_camera_enabled(1, true);

-- delete takes the camera's history with it
INSERT INTO health_logs (camera_id, check_type, status) VALUES (3, 'ip', 'ok');
SELECT set_log_retention(3, '7 days') IS NOT NULL AS has_policy;
SELECT id, name FROM delete_camera(3);
SELECT count(*) AS logs_left FROM health_logs WHERE camera_id = 3;
SELECT count(*) AS policies_left FROM log_retention WHERE camera_id = 3;
SELECT id FROM list_cameras();
