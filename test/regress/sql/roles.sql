-- Roles for PostgREST: readers read (credentials masked), writers write.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
SELECT id AS cam FROM register_camera('10.3.0.1', rtsp_url => 'rtsp://viewer:s3cr3t@10.3.0.1/live?token=abc&ch=1') \gset

CREATE ROLE regress_ch_anon NOLOGIN IN ROLE camera_health_reader;
CREATE ROLE regress_ch_editor NOLOGIN IN ROLE camera_health_writer;

-- a reader (PostgREST's anonymous role) sees the camera, not the password
SET ROLE regress_ch_anon;
SELECT set_config('request.jwt.claims', '{"role": "regress_ch_anon"}', true) IS NOT NULL AS claims;
SELECT ip_address, rtsp_url FROM get_camera(:cam);
SELECT rtsp_url FROM list_cameras() WHERE id = :cam;
SELECT rtsp_url FROM camera_list WHERE id = :cam;
SELECT count(*) >= 0 AS can_read FROM camera_logs(:cam);
SELECT count(*) >= 0 AS can_read FROM camera_alerts(:cam);
SELECT health_summary() ? 'cameras' AS can_read;
SELECT retention IS NOT NULL AS can_read FROM get_log_retention(:cam);
-- ... but not the table, and cannot change anything
SELECT rtsp_url FROM cameras WHERE id = :cam;
\echo :SQLSTATE
SELECT register_camera('10.3.0.2');
\echo :SQLSTATE
SELECT delete_camera(:cam);
\echo :SQLSTATE
SELECT set_log_retention(:cam, '1 day');
\echo :SQLSTATE
SELECT acknowledge_alert(1);
\echo :SQLSTATE
INSERT INTO health_logs (camera_id, check_type, status) VALUES (:cam, 'ip', 'ok');
\echo :SQLSTATE
-- nor the reference frames: they are camera imagery
SELECT count(*) FROM camera_references;
\echo :SQLSTATE
RESET ROLE;

-- a writer changes cameras through the API and sees what it wrote
SET ROLE regress_ch_editor;
SELECT rtsp_url FROM get_camera(:cam);
SELECT ip_address, port FROM update_camera(:cam, port => 8554);
SELECT retention FROM set_log_retention(:cam, '2 days');
-- the API is the only way in: no direct writes
UPDATE cameras SET port = 1 WHERE id = :cam;
\echo :SQLSTATE
SELECT id = :cam AS deleted FROM delete_camera(:cam);
RESET ROLE;

-- PUBLIC gets nothing
CREATE ROLE regress_ch_nobody NOLOGIN;
SET ROLE regress_ch_nobody;
SELECT camera_health.list_cameras();
\echo :SQLSTATE
RESET ROLE;

DROP ROLE regress_ch_anon, regress_ch_editor, regress_ch_nobody;

-- every function, table and view of the API is documented for PostgREST's OpenAPI
SELECT p.proname AS undocumented_function FROM pg_proc p
WHERE p.pronamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace)
  AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname AS undocumented_relation FROM pg_class c
WHERE c.relnamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace) AND c.relkind IN ('r', 'p', 'v')
  AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL;

-- every function pins search_path (a function without it resolves names through
-- the caller's path, which another role may have put a schema of its own into),
-- unless it is one of the C functions that run no SQL, or an IMMUTABLE SQL
-- function with an SQL-standard body (RETURN ...: parsed when created, so the
-- caller's path resolves nothing; the planner inlines such a function only
-- without a SET clause); a SECURITY DEFINER function has it whatever its
-- language.  A pinned path holds only pg_catalog,
-- the extension's schema and pg_temp, and pg_temp comes last.
SELECT p.oid::regprocedure AS unpinned_function, l.lanname, p.prosecdef, p.proconfig
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN LATERAL (SELECT substr(c, length('search_path=') + 1) AS path
				   FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%') sp ON true
WHERE p.pronamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace)
  AND CASE WHEN sp.path IS NOT NULL THEN sp.path !~ '^pg_catalog(, camera_health)?, pg_temp$'
		   WHEN p.prosecdef THEN true
		   WHEN l.lanname = 'sql' THEN NOT (p.prosqlbody IS NOT NULL AND p.provolatile = 'i')
		   ELSE NOT (l.lanname = 'c' AND p.prosrc IN ('ch_mask_url', 'ch_valid_camera_url', 'ch_url_problem',
				'ch_default_log_retention', 'ch_request_retention_run', 'ch_cameras_changed',
				'ch_mask_text', 'ch_url_origin', 'ch_valid_reference', 'ch_wake_notifier', 'ch_history_metadata', 'ch_unpack_chunk',
				'ch_pack_chunk_add', 'ch_pack_chunk_final',
				'ch_default_trend_retention', 'ch_latency_hist_add', 'ch_latency_hist_merge',
				'ch_latency_hist_quantile', 'ch_latency_hist_count'))
	  END
  -- an aggregate runs its support functions, which are checked themselves
  AND p.prokind <> 'a'
ORDER BY p.oid::regprocedure::text;
