/* ------------------------------------------------------------------------
 * The HTTP API: camera_health_api, the one schema PostgREST exposes
 *
 * It holds exactly what HTTP clients may call: thin functions over the SQL
 * API of camera_health and three read-only views.  Internal helpers, raw
 * tables and the workers' functions stay in camera_health, out of
 * PostgREST's URL space and OpenAPI document.  SQL users keep calling
 * camera_health.* and see its SQLSTATEs unchanged; these functions differ
 * only where HTTP needs it:
 *  - an unknown camera or alert (P0002) is raised as PostgREST's 'PGRST'
 *    error with status 404 (PostgREST answers P0002 with 500), the body
 *    still saying code P0002 with the message, detail and hint;
 *  - registering answers 201 with a Location;
 *  - a request body is a JSON object whose fields are checked by name, so
 *    that a misspelt field is a 400 naming it, not PostgREST's 404 for "no
 *    function with these parameters".
 * ------------------------------------------------------------------------ */

/*
 * PostgREST's role for requests without a token.  It reads as the reader
 * does, but is not the reader itself: PostgREST answers a refused call with
 * 401 (log in) for its anonymous role and 403 (not allowed) for any role a
 * token named, so a reader's token on a writer's call is a 403.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'camera_health_anon') THEN
		CREATE ROLE camera_health_anon NOLOGIN IN ROLE camera_health_reader;
	ELSIF NOT pg_catalog.pg_has_role('camera_health_anon', 'camera_health_reader', 'USAGE') THEN
		GRANT camera_health_reader TO camera_health_anon;
	END IF;
END
$roles$;

CREATE SCHEMA camera_health_api;
COMMENT ON SCHEMA camera_health_api IS
'The camera_health HTTP API: the schema PostgREST serves (db-schemas). SQL users call camera_health.* instead.';
GRANT USAGE ON SCHEMA camera_health_api TO camera_health_reader;

/* Raises P0002's message as PostgREST's error with HTTP status 404. */
CREATE FUNCTION camera_health.http_not_found(message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE SQLSTATE 'PGRST'
		USING MESSAGE = json_build_object('code', 'P0002', 'message', message,
										  'details', nullif(detail, ''), 'hint', nullif(hint, ''))::text,
			  DETAIL = '{"status": 404, "headers": {}}';
END
$$;
COMMENT ON FUNCTION camera_health.http_not_found(text, text, text) IS
'Raises an unknown camera or alert (P0002) as PostgREST''s PGRST error with HTTP status 404; for camera_health_api only.';

/*
 * The named arguments of a call made from a JSON object: "key => ($1 ->>
 * 'key')::type" for each field present, in the order of fields.  Refuses a
 * body that is not an object, an unknown field, and a value its field's type
 * does not take, naming the field and keeping the cast's SQLSTATE.  Keys
 * and types come from the caller's constants only, so the text is safe to
 * EXECUTE.
 */
CREATE FUNCTION camera_health.http_call_args(body jsonb, fields text[], types text[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	unknown text[];
	args text[] := '{}';
	i integer;
BEGIN
	IF jsonb_typeof(body) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'the request body must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('It is %s.', coalesce('a JSON ' || jsonb_typeof(body), 'missing')),
				  HINT = format('Known fields: %s.', array_to_string(fields, ', '));
	END IF;
	SELECT array_agg(k ORDER BY k) INTO unknown FROM jsonb_object_keys(body) AS k WHERE k <> ALL (fields);
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'unknown field: %', array_to_string(unknown, ', ')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Known fields: %s.', array_to_string(fields, ', '));
	END IF;
	FOR i IN 1 .. cardinality(fields) LOOP
		CONTINUE WHEN NOT body ? fields[i];
		-- text[] from a JSON array of strings (JSON null is SQL NULL)
		IF types[i] = 'text[]' AND jsonb_typeof(body -> fields[i]) <> 'null' THEN
			IF jsonb_typeof(body -> fields[i]) <> 'array'
			   OR EXISTS (SELECT FROM jsonb_array_elements(body -> fields[i]) AS e WHERE jsonb_typeof(e) <> 'string') THEN
				RAISE EXCEPTION 'invalid %: a JSON array of strings is expected', fields[i]
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			args := args || format('%I => ARRAY(SELECT jsonb_array_elements_text($1 -> %L))', fields[i], fields[i]);
			CONTINUE;
		END IF;
		IF jsonb_typeof(body -> fields[i]) IN ('object', 'array') THEN
			RAISE EXCEPTION 'invalid %: a JSON % where % is expected', fields[i], jsonb_typeof(body -> fields[i]), types[i]
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		-- a text needs no cast; any other type is tried here to name the field
		IF types[i] <> 'text' THEN
			BEGIN
				EXECUTE format('SELECT ($1 ->> %L)::%s', fields[i], types[i]) USING body;
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'invalid %: %', fields[i], SQLERRM USING ERRCODE = SQLSTATE;
			END;
		END IF;
		args := args || format('%I => ($1 ->> %L)::%s', fields[i], fields[i], types[i]);
	END LOOP;
	RETURN array_to_string(args, ', ');
END
$$;
COMMENT ON FUNCTION camera_health.http_call_args(jsonb, text[], text[]) IS
'Named arguments of a call made from a JSON request body, after checking its fields by name and type; for camera_health_api only.';

/* ---- cameras ------------------------------------------------------------ */

CREATE FUNCTION camera_health_api.register_camera(jsonb)
RETURNS camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	args text := camera_health.http_call_args($1,
		ARRAY['ip_address', 'port', 'rtsp_url', 'interval_ip', 'interval_port', 'interval_vision', 'name', 'site',
			  'tags'],
		ARRAY['inet', 'integer', 'text', 'integer', 'integer', 'integer', 'text', 'text', 'text[]']);
	result camera_health.cameras;
BEGIN
	IF NOT $1 ? 'ip_address' THEN
		RAISE EXCEPTION 'ip_address must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'A camera needs at least {"ip_address": "10.0.0.5"}.';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.register_camera(%s)', args) INTO result USING $1;
	PERFORM set_config('response.status', '201', true);
	PERFORM set_config('response.headers',
					   json_build_array(json_build_object('Location', '/health/camera/' || result.id))::text, true);
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health_api.register_camera(jsonb) IS
'Registers a camera: the body is {"ip_address", "port" (554), "rtsp_url", "interval_ip" (30), "interval_port" (60), "interval_vision" (300), "name", "site", "tags" (an array)}, intervals in seconds. Answers 201 with the camera and its Location.';

CREATE FUNCTION camera_health_api.update_camera(camera_id bigint, changes jsonb)
RETURNS camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fields text[] := ARRAY['ip_address', 'port', 'rtsp_url', 'interval_ip', 'interval_port', 'interval_vision', 'name',
						   'site', 'tags'];
	nulled text;
	args text;
	result camera_health.cameras;
	msg text; det text; hnt text;
BEGIN
	-- a merge patch: a field left out is kept, null clears the optional
	-- rtsp_url, name, site and tags (update_camera() takes '' and '{}')
	IF jsonb_typeof(changes) = 'object' THEN
		SELECT min(k) INTO nulled FROM jsonb_each(changes) AS e(k, v)
		WHERE v = 'null' AND k = ANY (fields) AND k NOT IN ('rtsp_url', 'name', 'site', 'tags');
		IF nulled IS NOT NULL THEN
			RAISE EXCEPTION '% must not be null', nulled USING ERRCODE = 'null_value_not_allowed',
				HINT = 'Leave a field out to keep it; only rtsp_url, name, site and tags can be cleared (null).';
		END IF;
		changes := changes || coalesce((SELECT jsonb_object_agg(k, CASE k WHEN 'tags' THEN '[]'::jsonb ELSE to_jsonb(''::text) END)
										FROM jsonb_each(changes) AS e(k, v)
										WHERE v = 'null' AND k IN ('rtsp_url', 'name', 'site', 'tags')), '{}');
	END IF;
	args := camera_health.http_call_args(changes, fields,
		ARRAY['inet', 'integer', 'text', 'integer', 'integer', 'integer', 'text', 'text', 'text[]']);
	EXECUTE format('SELECT * FROM camera_health.update_camera(camera_id => $2%s)', ', ' || nullif(args, ''))
	INTO result USING changes, camera_id;
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.update_camera(bigint, jsonb) IS
'Changes the fields of a camera given in changes (as for register_camera; a field left out is kept, null clears rtsp_url, name, site or tags) and returns it.';

CREATE FUNCTION camera_health_api.delete_camera(camera_id bigint)
RETURNS camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.delete_camera(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.delete_camera(bigint) IS
'Deletes a camera with its logs, alerts and retention policy, and returns it.';

CREATE FUNCTION camera_health_api.set_camera_enabled(camera_id bigint, enabled boolean)
RETURNS camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.set_camera_enabled(camera_id, enabled);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.set_camera_enabled(bigint, boolean) IS
'Starts (true) or stops (false) all checks of a camera and returns it.';

CREATE FUNCTION camera_health_api.get_camera(camera_id bigint)
RETURNS camera_health.cameras
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.get_camera(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.get_camera(bigint) IS
'One camera; credentials masked for readers.';

CREATE FUNCTION camera_health_api.list_cameras(site text DEFAULT NULL, tag text DEFAULT NULL)
RETURNS SETOF camera_health.cameras
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.list_cameras(list_cameras.site, list_cameras.tag);
END;
COMMENT ON FUNCTION camera_health_api.list_cameras(text, text) IS
'The cameras by id, all or those of one site and/or with one tag; credentials masked for readers.';

CREATE FUNCTION camera_health_api.register_cameras(cameras jsonb)
RETURNS SETOF camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY SELECT * FROM camera_health.register_cameras(cameras);
	PERFORM set_config('response.status', '201', true);
END
$$;
COMMENT ON FUNCTION camera_health_api.register_cameras(jsonb) IS
'Registers many cameras, all or nothing: cameras is a JSON array of register_camera bodies ({"cameras": [...]}; POST /health/cameras takes the bare array). A bad one is refused with its index (0 is the first) and nothing is written. Answers 201 with the cameras.';

CREATE FUNCTION camera_health_api.register_cameras_csv(text)
RETURNS SETOF camera_health.cameras
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY SELECT * FROM camera_health.register_cameras(camera_health.cameras_from_csv($1));
	PERFORM set_config('response.status', '201', true);
END
$$;
COMMENT ON FUNCTION camera_health_api.register_cameras_csv(text) IS
'Registers many cameras from CSV (text/plain): a header line of field names, then a camera a line; tags as {a,b}. All or nothing, as register_cameras.';

CREATE FUNCTION camera_health_api.export_cameras()
RETURNS SETOF camera_health.camera_fields
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.export_cameras();
END;
COMMENT ON FUNCTION camera_health_api.export_cameras() IS
'The fleet in register_cameras'' shape (JSON, or CSV with Accept: text/csv), ready to import elsewhere; credentials masked for readers.';

/* ---- history, alerts, summary -------------------------------------------- */

CREATE FUNCTION camera_health_api.camera_logs(
	camera_id bigint,
	check_type text DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.health_logs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_logs(camera_id, check_type, since, max_rows);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_logs(bigint, text, timestamptz, integer) IS
'Health logs of a camera, newest first: optionally of one check type (ip, port, vision) and since a time; at most max_rows (1 to 10000).';

CREATE FUNCTION camera_health_api.camera_alerts(
	camera_id bigint,
	only_open boolean DEFAULT false,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.alerts
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_alerts(camera_id, only_open, max_rows);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_alerts(bigint, boolean, integer) IS
'Alerts of a camera, newest first; only_open keeps those not yet resolved; at most max_rows (1 to 10000).';

CREATE FUNCTION camera_health_api.acknowledge_alert(alert_id bigint, camera_id bigint DEFAULT NULL)
RETURNS camera_health.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	-- under a camera's path, an alert of another camera is not there
	IF camera_id IS NOT NULL THEN
		PERFORM camera_health.require_camera(camera_id);
		PERFORM FROM camera_health.alerts a
		WHERE a.id = acknowledge_alert.alert_id AND a.camera_id = acknowledge_alert.camera_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'alert % of camera % does not exist', alert_id, camera_id
				USING ERRCODE = 'no_data_found', HINT = 'camera_alerts() shows the alerts of a camera.';
		END IF;
	END IF;
	RETURN camera_health.acknowledge_alert(alert_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.acknowledge_alert(bigint, bigint) IS
'Marks an alert as seen by an operator and returns it; with camera_id, only an alert of that camera. Acknowledging twice keeps the first time.';

/* ---- log retention and references ----------------------------------------- */

CREATE FUNCTION camera_health_api.get_log_retention(camera_id bigint)
RETURNS camera_health.log_retention
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.get_log_retention(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.get_log_retention(bigint) IS
'How long the camera''s history is kept; updated_at is null while the default applies.';

CREATE FUNCTION camera_health_api.set_log_retention(camera_id bigint, policy jsonb)
RETURNS camera_health.log_retention
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	args text := camera_health.http_call_args(policy, ARRAY['retention'], ARRAY['interval']);
	result camera_health.log_retention;
	msg text; det text; hnt text;
BEGIN
	IF NOT policy ? 'retention' THEN
		RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'For example {"retention": "30 days"}.';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.set_log_retention(camera_id => $2, %s)', args)
	INTO result USING policy, camera_id;
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.set_log_retention(bigint, jsonb) IS
'Sets how long the camera''s health logs, latency samples and resolved alerts are kept: policy is {"retention": "30 days"} (1 hour to 3650 days). Returns the policy.';

CREATE FUNCTION camera_health_api.reset_reference(camera_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN jsonb_build_object('camera_id', camera_id,
							  'reference_dropped', camera_health.reset_reference(camera_id));
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.reset_reference(bigint) IS
'Drops the camera''s reference frame, so that the next good frame becomes the new one (after re-aiming or re-focusing); reference_dropped says whether there was one.';

/* ---- views for fleet-wide reads (PostgREST filters, orders and pages them) -- */

CREATE VIEW camera_health_api.cameras WITH (security_invoker = true) AS
SELECT c.id, c.name, c.ip_address, c.port, c.rtsp_url, c.interval_ip, c.interval_port,
	   c.interval_vision, c.enabled, c.created_at, c.updated_at, c.site, c.tags
FROM camera_health.camera_list c;
COMMENT ON VIEW camera_health_api.cameras IS
'The cameras, credentials in rtsp_url masked for readers; filter with ?enabled=eq.false, ?site=eq.north, ?tags=cs.{ptz}, ?name=ilike.*gate*.';

CREATE VIEW camera_health_api.camera_status WITH (security_invoker = true) AS
SELECT s.camera_id, s.check_type, s.status, s.since, s.checked_at, s.streak, s.metadata
FROM camera_health.camera_status s;
COMMENT ON VIEW camera_health_api.camera_status IS
'The latest status of every check of every camera: ?status=neq.ok lists what is failing.';

CREATE VIEW camera_health_api.open_alerts WITH (security_invoker = true) AS
SELECT a.id, a.camera_id, a.alert_type, a.severity, a.status, a.message,
	   a.created_at, a.last_seen_at, a.acknowledged_at
FROM camera_health.alerts a
WHERE a.resolved_at IS NULL;
COMMENT ON VIEW camera_health_api.open_alerts IS
'Alerts not yet resolved, of all cameras: ?severity=eq.critical&order=created_at.desc.';

/* ---- privileges: readers read, writers write ------------------------------ */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health_api FROM PUBLIC;
REVOKE ALL ON FUNCTION camera_health.http_not_found(text, text, text),
	camera_health.http_call_args(jsonb, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health.http_not_found(text, text, text),
	camera_health.http_call_args(jsonb, text[], text[]),
	camera_health_api.get_camera(bigint),
	camera_health_api.list_cameras(text, text),
	camera_health_api.export_cameras(),
	camera_health_api.camera_logs(bigint, text, timestamptz, integer),
	camera_health_api.camera_alerts(bigint, boolean, integer),
	camera_health_api.get_log_retention(bigint)
	TO camera_health_reader;
GRANT SELECT ON camera_health_api.cameras, camera_health_api.camera_status, camera_health_api.open_alerts
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health_api.register_camera(jsonb),
	camera_health_api.register_cameras(jsonb),
	camera_health_api.register_cameras_csv(text),
	camera_health_api.update_camera(bigint, jsonb),
	camera_health_api.delete_camera(bigint),
	camera_health_api.set_camera_enabled(bigint, boolean),
	camera_health_api.acknowledge_alert(bigint, bigint),
	camera_health_api.set_log_retention(bigint, jsonb),
	camera_health_api.reset_reference(bigint)
	TO camera_health_writer;
