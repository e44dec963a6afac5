-- camera_health_api, the schema PostgREST serves: what is in it, who may
-- call what, and how its errors reach HTTP (PostgREST reads 'PGRST' errors'
-- JSON message and status).  The SQL API keeps its own SQLSTATEs.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET search_path = camera_health_api, public;

-- exactly the public API: these functions and views, nothing else
SELECT p.oid::regprocedure AS function, p.provolatile AS volatility, p.prosecdef AS definer
FROM pg_proc p WHERE p.pronamespace = 'camera_health_api'::regnamespace ORDER BY p.oid::regprocedure::text;
SELECT c.relname, c.relkind, c.reloptions FROM pg_class c
WHERE c.relnamespace = 'camera_health_api'::regnamespace ORDER BY 1;

-- PUBLIC may call none of it; the anonymous role is a reader and no more
SELECT p.proname FROM pg_proc p
WHERE p.pronamespace = 'camera_health_api'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT pg_has_role('camera_health_anon', 'camera_health_reader', 'USAGE') AS anon_reads,
	   pg_has_role('camera_health_anon', 'camera_health_writer', 'USAGE') AS anon_writes;
SELECT p.proname, has_function_privilege('camera_health_anon', p.oid, 'EXECUTE') AS anon,
	   has_function_privilege('camera_health_writer', p.oid, 'EXECUTE') AS writer
FROM pg_proc p WHERE p.pronamespace = 'camera_health_api'::regnamespace ORDER BY 1;

-- register: the body's fields by name; 201 and a Location for PostgREST
BEGIN;
SELECT id AS cam, rtsp_url FROM register_camera('{"ip_address": "10.7.0.1", "rtsp_url": "rtsp://u:pw@10.7.0.1/live", "name": "a"}') \gset
SELECT :'rtsp_url' AS writer_sees;
SELECT current_setting('response.status') AS status,
	   current_setting('response.headers')::jsonb = jsonb_build_array(jsonb_build_object('Location', '/health/camera/' || :cam)) AS location;
COMMIT;
SELECT register_camera('{"ip_address": "10.7.0.2", "nmae": "typo"}');
SELECT register_camera('{"ip_address": "10.7.0.2", "port": "http"}');
SELECT register_camera('{"ip_address": "10.7.0.2", "port": {"n": 1}}');
SELECT register_camera('["10.7.0.2"]');
SELECT register_camera('{"port": 554}');
\set VERBOSITY terse
SELECT register_camera('{"ip_address": "10.7.0.1", "rtsp_url": "rtsp://u:pw@10.7.0.1/live"}');
\echo :SQLSTATE
\set VERBOSITY default
SELECT register_camera('{"ip_address": "10.7.0.2", "rtsp_url": "ftp://u:secret@10.7.0.2/"}');

-- changes: left out keeps, null clears the optional ones only
SELECT name, port, rtsp_url FROM update_camera(:cam, '{"port": 8554}');
SELECT name, port FROM update_camera(:cam, '{"name": null}');
SELECT update_camera(:cam, '{"port": null}');
SELECT update_camera(:cam, '{"colour": "red"}');

-- an unknown camera or alert: PostgREST's error with status 404, code P0002
SELECT get_camera(999999);
\echo :SQLSTATE
SELECT camera_logs(999999);
SELECT acknowledge_alert(999999);
DO $$
BEGIN
	PERFORM camera_health_api.acknowledge_alert(999999, (SELECT max(id) FROM camera_health.cameras));
EXCEPTION WHEN SQLSTATE 'PGRST' THEN
	RAISE NOTICE '%', regexp_replace(SQLERRM, 'camera [0-9]+', 'camera N');
END
$$;
SELECT set_log_retention(999999, '{"retention": "1 day"}');
-- ... while the SQL API says P0002 as before
SELECT camera_health.get_camera(999999);
\echo :SQLSTATE

-- retention, the reference, enable, delete
SELECT retention FROM set_log_retention(:cam, '{"retention": "2 days"}');
SELECT set_log_retention(:cam, '{"retention": "2 dayz"}');
SELECT set_log_retention(:cam, '{}');
SELECT retention FROM get_log_retention(:cam);
SELECT reset_reference(:cam) -> 'reference_dropped' AS reference_dropped;
SELECT enabled FROM set_camera_enabled(:cam, false);

-- a reader reads (masked) and may not write
CREATE ROLE regress_ch_http_reader NOLOGIN IN ROLE camera_health_anon;
SET ROLE regress_ch_http_reader;
SELECT rtsp_url FROM get_camera(:cam);
SELECT rtsp_url FROM cameras WHERE id = :cam;
SELECT count(*) FROM camera_logs(:cam);
SELECT count(*) FROM open_alerts WHERE camera_id = :cam;
SELECT health_summary() ? 'cameras' AS summary;
SELECT delete_camera(:cam);
\echo :SQLSTATE
RESET ROLE;
DROP ROLE regress_ch_http_reader;

SELECT id = :cam AS deleted FROM delete_camera(:cam);
