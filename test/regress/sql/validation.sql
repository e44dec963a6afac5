-- Every bad input is refused with its SQLSTATE and leaves nothing behind.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
SELECT count(*) AS cameras_before FROM cameras \gset

-- malformed addresses are refused by the inet type itself
SELECT register_camera('10.0.0.300');
\echo :SQLSTATE
SELECT register_camera('not-an-ip');
\echo :SQLSTATE
-- a network, 0.0.0.0, broadcast, multicast are not cameras
SELECT register_camera('10.0.0.0/24');
\echo :SQLSTATE
SELECT register_camera('0.0.0.0');
\echo :SQLSTATE
SELECT register_camera('255.255.255.255');
\echo :SQLSTATE
SELECT register_camera('239.1.2.3');
\echo :SQLSTATE
SELECT register_camera(NULL);
\echo :SQLSTATE

-- ports
SELECT register_camera('10.1.0.1', 0);
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', 65536);
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', -1);
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', NULL);
\echo :SQLSTATE

-- intervals
SELECT register_camera('10.1.0.1', interval_ip => 0);
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', interval_port => -5);
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', interval_vision => 86401);
\echo :SQLSTATE

-- URLs: the message shows at most scheme://host, never userinfo, path or query
SELECT register_camera('10.1.0.1', rtsp_url => 'ftp://admin:hunter2@10.1.0.1/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://admin:hun''ter 2@10.1.0.1/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://admin:99#hunter2@10.1.0.1:70000/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://10.1.0.1/' || repeat('x', 190) || '?pwd=hunter2&x=' || repeat('y', 2100));
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://adm<in>:hunter2@10.1.0.1/stream x');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => '10.1.0.1/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://admin:hunter2@/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://10.1.0.1:99999/stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://10.1.0.1/a stream');
\echo :SQLSTATE
SELECT register_camera('10.1.0.1', rtsp_url => 'rtsp://10.1.0.1/' || repeat('x', 2100));
\echo :SQLSTATE

-- a password holding '#', '?', '/' or '@': the host follows the last '@'
SELECT u AS url, valid_camera_url(u) AS valid, mask_url(u) AS masked, url_origin(u) AS origin
FROM (VALUES ('rtsp://admin:99#hunter2@10.1.0.2/live'), ('rtsp://admin:a?b/c@d@10.1.0.2:554/live'),
			 ('http://10.1.0.2/snap.jpg?user=admin&pwd=hun@ter2&ch=1'), ('rtsp://admin:99#hunter2@10.1.0.2:99999/')) AS v(u);

-- names
SELECT register_camera('10.1.0.1', name => repeat('n', 201));
\echo :SQLSTATE

-- duplicates: same address, port and URL
SELECT register_camera('10.0.0.5');
\echo :SQLSTATE
SELECT register_camera('10.0.0.6', 554, 'rtsps://10.0.0.6/live');
\echo :SQLSTATE
-- another stream of the same device is another camera
SELECT ip_address, port, rtsp_url FROM register_camera('10.0.0.5', rtsp_url => 'rtsp://10.0.0.5/ch2');

-- unknown or missing ids
SELECT get_camera(999);
\echo :SQLSTATE
SELECT get_camera(NULL);
\echo :SQLSTATE
SELECT update_camera(999, port => 80);
\echo :SQLSTATE
SELECT delete_camera(999);
\echo :SQLSTATE
SELECT set_camera_enabled(999, true);
\echo :SQLSTATE
SELECT set_camera_enabled(1, NULL);
\echo :SQLSTATE
SELECT camera_logs(999);
\echo :SQLSTATE
SELECT camera_alerts(999);
\echo :SQLSTATE
SELECT get_log_retention(999);
\echo :SQLSTATE
SELECT set_log_retention(999, '1 day');
\echo :SQLSTATE
SELECT acknowledge_alert(999);
\echo :SQLSTATE

-- a bad update changes nothing, also not the fields that were valid
SELECT update_camera(1, port => 8080, interval_ip => 0);
\echo :SQLSTATE
SELECT update_camera(1, ip_address => '10.0.0.6', rtsp_url => 'rtsps://10.0.0.6/live');
\echo :SQLSTATE
SELECT port, interval_ip FROM get_camera(1);

-- history arguments
SELECT camera_logs(1, check_type => 'icmp');
\echo :SQLSTATE
SELECT camera_logs(1, max_rows => 0);
\echo :SQLSTATE
SELECT camera_logs(1, max_rows => 10001);
\echo :SQLSTATE
SELECT camera_alerts(1, max_rows => NULL);
\echo :SQLSTATE

-- retention bounds
SELECT set_log_retention(1, '59 minutes');
\echo :SQLSTATE
SELECT set_log_retention(1, '3651 days');
\echo :SQLSTATE
SELECT set_log_retention(1, '-1 day');
\echo :SQLSTATE
SELECT set_log_retention(1, NULL);
\echo :SQLSTATE

-- nothing was left behind: only the second stream of 10.0.0.5 was added
SELECT count(*) - :cameras_before AS cameras_added FROM cameras;
SELECT count(*) AS policies FROM log_retention;

-- the tables refuse bad rows too, not only the functions
-- (terse: the failing row holds timestamps)
\set VERBOSITY terse
INSERT INTO cameras (ip_address, port) VALUES ('10.2.0.1', 70000);
\echo :SQLSTATE
INSERT INTO cameras (ip_address, interval_ip) VALUES ('10.2.0.1', 0);
\echo :SQLSTATE
INSERT INTO cameras (ip_address, rtsp_url) VALUES ('10.2.0.1', 'file:///etc/passwd');
\echo :SQLSTATE
INSERT INTO cameras (ip_address) VALUES ('10.2.0.0/16');
\echo :SQLSTATE
INSERT INTO cameras (ip_address) VALUES ('10.0.0.5');
\echo :SQLSTATE
INSERT INTO health_logs (camera_id, check_type, status) VALUES (999, 'ip', 'ok');
\echo :SQLSTATE
INSERT INTO health_logs (camera_id, check_type, status) VALUES (1, 'icmp', 'ok');
\echo :SQLSTATE
INSERT INTO health_logs (camera_id, check_type, status) VALUES (1, 'ip', 'fine');
\echo :SQLSTATE
INSERT INTO camera_latency (camera_id, check_type, latency) VALUES (1, 'ip', -1);
\echo :SQLSTATE
INSERT INTO log_retention (camera_id, retention) VALUES (1, '1 minute');
\echo :SQLSTATE
INSERT INTO alerts (camera_id, alert_type, severity, message) VALUES (1, 'sad', 'critical', 'x');
\echo :SQLSTATE
