-- Vision results: stream_unavailable, blur, obstruction, displacement and
-- frozen alerts with the same hysteresis (open after 3, resolve after 2);
-- reference frames and reset_reference().
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
SELECT id AS cam FROM register_camera('10.5.0.1', rtsp_url => 'rtsp://10.5.0.1/live') \gset

-- v(ms, status, metadata): one vision result
CREATE FUNCTION pg_temp.v(ms bigint, status text, metadata jsonb)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object('camera_id', :cam, 'check_type', 'vision', 'status', status,
	'checked_ms', 1767261600000 + ms * 1000, 'metadata', metadata);
CREATE FUNCTION pg_temp.image(blur boolean, obstruction boolean, displacement boolean, frozen boolean)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object(
	'blur', jsonb_build_object('detected', blur, 'message', 'image sharpness 20% of the reference'),
	'obstruction', jsonb_build_object('detected', obstruction, 'message', '85% of the frame covered'),
	'displacement', jsonb_build_object('detected', displacement, 'dx', 24, 'dy', -3, 'message', 'view moved by 24 px'),
	'frozen', jsonb_build_object('detected', frozen, 'message', 'the picture has not changed in 1 s'));
CREATE FUNCTION pg_temp.record(VARIADIC results jsonb[])
RETURNS TABLE (logged bigint, opened bigint, resolved bigint) LANGUAGE sql
RETURN (SELECT record_results(to_jsonb(results), 3, 2));
CREATE VIEW pg_temp.alerts_now AS
SELECT alert_type, severity, status, message FROM alerts WHERE camera_id = :cam ORDER BY created_at, alert_type;  -- alerts opened by one result: in no particular id order

-- a stream that cannot be read: stream_unavailable after three in a row
SELECT * FROM pg_temp.record(
	pg_temp.v(1, 'error', '{"stage": "connect", "error": "cannot open the stream: Connection refused"}'),
	pg_temp.v(2, 'error', '{"stage": "connect", "error": "cannot open the stream: Connection refused"}'),
	pg_temp.v(3, 'error', '{"stage": "read", "error": "no frame from the stream: no answer within the grab timeout"}'));
SELECT * FROM pg_temp.alerts_now;
-- it plays again, blurred: the stream alert resolves, blur opens after three
SELECT * FROM pg_temp.record(
	pg_temp.v(4, 'warning', pg_temp.image(true, false, false, false)),
	pg_temp.v(5, 'warning', pg_temp.image(true, false, false, false)),
	pg_temp.v(6, 'warning', pg_temp.image(true, false, false, false)));
SELECT * FROM pg_temp.alerts_now;
-- covered and frozen at once: both critical; blur clears
SELECT * FROM pg_temp.record(
	pg_temp.v(7, 'critical', pg_temp.image(false, true, false, true)),
	pg_temp.v(8, 'critical', pg_temp.image(false, true, false, true)),
	pg_temp.v(9, 'critical', pg_temp.image(false, true, false, true)));
SELECT * FROM pg_temp.alerts_now;
-- moved: displacement; a failed grab in between says nothing about the image
SELECT * FROM pg_temp.record(
	pg_temp.v(10, 'warning', pg_temp.image(false, false, true, false)),
	pg_temp.v(11, 'error', '{"stage": "read", "error": "the stream stopped"}'),
	pg_temp.v(12, 'warning', pg_temp.image(false, false, true, false)),
	pg_temp.v(13, 'warning', pg_temp.image(false, false, true, false)));
SELECT * FROM pg_temp.alerts_now;
SELECT status, metadata -> 'displacement' ->> 'dx' AS dx FROM camera_status WHERE camera_id = :cam;
-- a snapshot camera has no frozen check: that condition is left as it was
SELECT * FROM pg_temp.record(
	pg_temp.v(14, 'ok', pg_temp.image(false, false, false, false) - 'frozen'),
	pg_temp.v(15, 'ok', pg_temp.image(false, false, false, false) - 'frozen'));
SELECT * FROM pg_temp.alerts_now;
SELECT alert_type, failing, streak FROM alert_state WHERE camera_id = :cam ORDER BY 1;

-- reference frames: one per camera and lighting mode (day when not said),
-- kept in the database; reset drops every mode
INSERT INTO camera_references (camera_id, image) VALUES (:cam, convert_to('GREY 4 4' || chr(10), 'UTF8') || '\x00112233445566778899aabbccddeeff'::bytea);
\set VERBOSITY terse
INSERT INTO camera_references (camera_id, image) VALUES (:cam, '\x00');
\echo :SQLSTATE
INSERT INTO camera_references (camera_id, image) VALUES (:cam, convert_to('GREY 4 4' || chr(10) || 'abcdefghijklmnop', 'UTF8'));
\echo :SQLSTATE
INSERT INTO camera_references (camera_id, mode, image) VALUES (:cam, 'night', convert_to('GREY 4 4' || chr(10) || 'abcdefghijklmnop', 'UTF8'));
\echo :SQLSTATE
INSERT INTO camera_references (camera_id, mode, image) VALUES (:cam, NULL, convert_to('GREY 4 4' || chr(10) || 'abcdefghijklmnop', 'UTF8'));
\echo :SQLSTATE
\set VERBOSITY default
INSERT INTO camera_references (camera_id, mode, image) VALUES (:cam, 'ir', convert_to('GREY 4 4' || chr(10) || 'abcdefghijklmnop', 'UTF8'));
SELECT mode, length(image) FROM camera_references WHERE camera_id = :cam ORDER BY mode;
-- a reference with the focus map after its pixels (1.1), or without (1.0): both valid
SELECT valid_reference(convert_to('GREY 1 1' || chr(10), 'UTF8') || '\x80'::bytea) AS without_map,
	valid_reference(convert_to('GREY 1 1' || chr(10), 'UTF8') || '\x80'::bytea ||
		convert_to('FOCUS 8 8 1 1' || chr(10), 'UTF8') || '\x80017002'::bytea) AS with_map,
	valid_reference(convert_to('GREY 1 1' || chr(10), 'UTF8') || '\x80'::bytea ||
		convert_to('FOCUS 8 8 1 1' || chr(10), 'UTF8') || '\x800170'::bytea) AS truncated_map;
SELECT reset_reference(:cam) AS dropped;
SELECT count(*) AS left_over FROM camera_references WHERE camera_id = :cam;
INSERT INTO camera_references (camera_id, mode, image) VALUES (:cam, 'ir', convert_to('GREY 4 4' || chr(10) || 'abcdefghijklmnop', 'UTF8'));
SELECT reset_reference(:cam) AS dropped_ir_only;
SELECT reset_reference(:cam) AS dropped;
SELECT reset_reference(999999);
\echo :SQLSTATE
SELECT reset_reference(NULL);
\echo :SQLSTATE
SET ROLE camera_health_reader;
SELECT reset_reference(:cam);
\echo :SQLSTATE
RESET ROLE;
SELECT (delete_camera(:cam)).id = :cam AS deleted;
