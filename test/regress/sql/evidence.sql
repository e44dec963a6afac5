-- Evidence pictures: the snapshot, the reference's picture and the frame
-- that opened a vision alert, stored by record_frame (as the ingest worker
-- does after record_results), read by readers through functions only, and
-- deleted with their alert, reference or camera.
\set SHOW_CONTEXT never
-- the errors name camera and alert ids, which depend on what ran before:
-- only their SQLSTATEs are compared
\set VERBOSITY sqlstate
SET search_path = camera_health, public;
SELECT id AS cam FROM register_camera('10.11.0.1', rtsp_url => 'rtsp://10.11.0.1/live') \gset

-- v(ms, blur): one vision result of :cam; pic(n): a tiny "JPEG" (SOI ... EOI)
CREATE FUNCTION pg_temp.v(ms bigint, blur boolean)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object('camera_id', :cam, 'check_type', 'vision', 'status', CASE WHEN blur THEN 'warning' ELSE 'ok' END,
	'checked_ms', 1767261600000 + ms * 1000 + 123,
	'metadata', jsonb_build_object('blur', jsonb_build_object('detected', blur)));
CREATE FUNCTION pg_temp.pic(n integer)
RETURNS bytea LANGUAGE sql
RETURN '\xffd8'::bytea || int4send(n) || '\xffd9'::bytea;
-- one result and its picture, as the ingest worker writes them
CREATE FUNCTION pg_temp.check(ms bigint, blur boolean, is_reference boolean DEFAULT false)
RETURNS bigint LANGUAGE sql
BEGIN ATOMIC
	SELECT opened FROM record_results(jsonb_build_array(pg_temp.v(ms, blur)), 3, 2);
	SELECT record_frame(pg_temp.v(ms, blur), pg_temp.pic(ms::integer)::jpeg, is_reference);
	SELECT 0::bigint;
END;

-- nothing yet: 404-like errors
SELECT camera_snapshot(:cam);
\echo :SQLSTATE
SELECT reference_picture(:cam);
\echo :SQLSTATE
SELECT camera_snapshot(999999);
\echo :SQLSTATE

-- the first frame is the reference; later ones overwrite the snapshot
INSERT INTO camera_references (camera_id, image) VALUES (:cam, convert_to('GREY 4 4' || chr(10), 'UTF8') || '\x00112233445566778899aabbccddeeff'::bytea);
SELECT pg_temp.check(1, false, true);
SELECT pg_temp.check(2, false);
SELECT camera_snapshot(:cam) = pg_temp.pic(2) AS snapshot_is_latest,
	   reference_picture(:cam) = pg_temp.pic(1) AS reference_is_first,
	   reference_picture(:cam, 'day') = pg_temp.pic(1) AS day_reference;
SELECT reference_picture(:cam, 'ir');
\echo :SQLSTATE
SELECT reference_picture(:cam, 'dusk');
\echo :SQLSTATE
-- an older result (a backlog) does not overwrite a newer snapshot
SELECT record_frame(pg_temp.v(0, false), pg_temp.pic(0)::jpeg, false);
SELECT camera_snapshot(:cam) = pg_temp.pic(2) AS snapshot_kept;
SELECT count(*) AS snapshot_rows FROM snapshots WHERE camera_id = :cam;

-- blurred three times: the third result opens the alert and is its evidence
SELECT pg_temp.check(3, true), pg_temp.check(4, true), pg_temp.check(5, true), pg_temp.check(6, true);
SELECT id AS blur_alert FROM alerts WHERE camera_id = :cam AND alert_type = 'blur' \gset
SELECT alert_evidence(:blur_alert) = pg_temp.pic(5) AS evidence_is_opening_frame,
	   alert_evidence(:blur_alert, :cam) = pg_temp.pic(5) AS under_its_camera;
SELECT e.taken_at = a.created_at AS taken_when_opened FROM alert_evidence e JOIN alerts a ON a.id = e.alert_id;
SELECT kind, mode, alert_id = :blur_alert AS the_alert, bytes FROM camera_pictures(:cam);
-- unknown alerts, another camera's, a network alert (no evidence)
SELECT alert_evidence(999999);
\echo :SQLSTATE
SELECT alert_evidence(:blur_alert, 999999);
\echo :SQLSTATE
SELECT id AS other FROM register_camera('10.11.0.2') \gset
SELECT alert_evidence(:blur_alert, :other);
\echo :SQLSTATE
INSERT INTO alerts (camera_id, alert_type, severity, message) VALUES (:cam, 'port_unavailable', 'critical', 'down')
RETURNING id AS port_alert \gset
SELECT alert_evidence(:port_alert);
\echo :SQLSTATE
SELECT alert_evidence(NULL);
\echo :SQLSTATE

-- pictures that are not JPEG are refused by the domain (the ingest worker drops them first)
SELECT record_frame(pg_temp.v(7, false), '\x0102030405'::bytea::jpeg, false);
\echo :SQLSTATE
SELECT record_frame(pg_temp.v(7, false), ('\xffd8'::bytea || decode(repeat('00', 65536), 'hex') || '\xffd9'::bytea)::jpeg, false);
\echo :SQLSTATE
-- results of unknown or disabled cameras leave nothing
SELECT record_frame(jsonb_set(pg_temp.v(8, false), '{camera_id}', '999999'), pg_temp.pic(8)::jpeg, true);
SELECT count(*) AS rows_of_unknown FROM snapshots WHERE camera_id = 999999;

-- readers: the functions, never the tables (nor the workers' function)
CREATE ROLE regress_ch_evidence_reader NOLOGIN IN ROLE camera_health_anon;
SET ROLE regress_ch_evidence_reader;
SELECT length(camera_snapshot(:cam)) AS snapshot_bytes, length(reference_picture(:cam)) AS reference_bytes,
	   length(alert_evidence(:blur_alert)) AS evidence_bytes;
SELECT length(camera_health_api.camera_snapshot(:cam)) AS api_snapshot_bytes;
SELECT count(*) FROM snapshots;
\echo :SQLSTATE
SELECT count(*) FROM reference_pictures;
\echo :SQLSTATE
SELECT count(*) FROM alert_evidence;
\echo :SQLSTATE
SELECT count(*) FROM camera_references;
\echo :SQLSTATE
SELECT record_frame(pg_temp.v(9, false), pg_temp.pic(9)::jpeg, false);
\echo :SQLSTATE
RESET ROLE;
DROP ROLE regress_ch_evidence_reader;

-- HTTP wrappers: P0002 becomes PostgREST's 404
SELECT camera_health_api.camera_snapshot(:other);
\echo :SQLSTATE
SELECT camera_health_api.reference_picture(999999);
\echo :SQLSTATE
SELECT camera_health_api.alert_evidence(:port_alert, :cam);
\echo :SQLSTATE
SELECT pg_typeof(camera_health_api.camera_snapshot(:cam)) AS http_type;

-- the evidence goes with its alert: resolved and deleted (as retention does)
SELECT pg_temp.check(10, false), pg_temp.check(11, false);
SELECT status FROM alerts WHERE id = :blur_alert;
DELETE FROM alerts WHERE id = :blur_alert;
SELECT count(*) AS evidence_left FROM alert_evidence WHERE alert_id = :blur_alert;
-- the reference's picture goes with the reference
SELECT reset_reference(:cam);
SELECT count(*) AS reference_pictures_left FROM reference_pictures WHERE camera_id = :cam;
-- and everything with the camera
SELECT pg_temp.check(12, true), pg_temp.check(13, true), pg_temp.check(14, true);
SELECT count(*) AS evidence_before FROM alert_evidence WHERE camera_id = :cam;
SELECT id IS NOT NULL AS deleted FROM delete_camera(:cam);
SELECT (SELECT count(*) FROM snapshots WHERE camera_id = :cam) + (SELECT count(*) FROM reference_pictures WHERE camera_id = :cam)
	   + (SELECT count(*) FROM alert_evidence WHERE camera_id = :cam) AS pictures_left;
SELECT id IS NOT NULL AS deleted FROM delete_camera(:other);
