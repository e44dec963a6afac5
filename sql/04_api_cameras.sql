/* ------------------------------------------------------------------------
 * The SQL API: cameras
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.register_camera(
	ip_address inet,
	port integer DEFAULT 554,
	rtsp_url text DEFAULT NULL,
	interval_ip integer DEFAULT 30,
	interval_port integer DEFAULT 60,
	interval_vision integer DEFAULT 300,
	name text DEFAULT NULL,
	site text DEFAULT NULL,
	tags text[] DEFAULT NULL)
RETURNS camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.cameras;
BEGIN
	tags := coalesce(tags, '{}');
	PERFORM camera_health.check_camera_fields(ip_address, port, rtsp_url,
											  interval_ip, interval_port, interval_vision, name, site, tags);
	PERFORM camera_health.check_not_duplicate(NULL, ip_address, port, rtsp_url);
	INSERT INTO camera_health.cameras AS c
		(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags)
	VALUES (ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags)
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.register_camera(inet, integer, text, integer, integer, integer, text, text, text[]) IS
'Registers a camera and returns it; checks start within a second of the commit. Intervals are in seconds; site and tags are optional labels.';

CREATE FUNCTION camera_health.update_camera(
	camera_id bigint,
	ip_address inet DEFAULT NULL,
	port integer DEFAULT NULL,
	rtsp_url text DEFAULT NULL,
	interval_ip integer DEFAULT NULL,
	interval_port integer DEFAULT NULL,
	interval_vision integer DEFAULT NULL,
	name text DEFAULT NULL,
	site text DEFAULT NULL,
	tags text[] DEFAULT NULL)
RETURNS camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur camera_health.cameras;
	result camera_health.cameras;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT * INTO cur FROM camera_health.cameras c WHERE c.id = update_camera.camera_id FOR UPDATE;
	-- NULL keeps a field; '' clears the optional rtsp_url and name
	cur.ip_address := coalesce(ip_address, cur.ip_address);
	cur.port := coalesce(port, cur.port);
	cur.rtsp_url := CASE WHEN rtsp_url = '' THEN NULL ELSE coalesce(rtsp_url, cur.rtsp_url) END;
	cur.interval_ip := coalesce(interval_ip, cur.interval_ip);
	cur.interval_port := coalesce(interval_port, cur.interval_port);
	cur.interval_vision := coalesce(interval_vision, cur.interval_vision);
	cur.name := CASE WHEN name = '' THEN NULL ELSE coalesce(name, cur.name) END;
	cur.site := CASE WHEN site = '' THEN NULL ELSE coalesce(site, cur.site) END;
	cur.tags := coalesce(tags, cur.tags);
	PERFORM camera_health.check_camera_fields(cur.ip_address, cur.port, cur.rtsp_url,
											  cur.interval_ip, cur.interval_port, cur.interval_vision, cur.name,
											  cur.site, cur.tags);
	PERFORM camera_health.check_not_duplicate(cur.id, cur.ip_address, cur.port, cur.rtsp_url);
	UPDATE camera_health.cameras AS c
	SET ip_address = cur.ip_address, port = cur.port, rtsp_url = cur.rtsp_url,
		interval_ip = cur.interval_ip, interval_port = cur.interval_port,
		interval_vision = cur.interval_vision, name = cur.name, site = cur.site, tags = cur.tags,
		updated_at = now()
	WHERE c.id = cur.id
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text, text, text[]) IS
'Changes the given fields of a camera (NULL keeps a field, an empty string clears rtsp_url, name or site, ''{}'' clears the tags) and returns it.';

CREATE FUNCTION camera_health.delete_camera(camera_id bigint)
RETURNS camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.cameras;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	DELETE FROM camera_health.cameras c WHERE c.id = delete_camera.camera_id
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.delete_camera(bigint) IS
'Deletes a camera with its logs, alerts and retention policy, and returns it; its checks stop within a second of the commit.';

CREATE FUNCTION camera_health.set_camera_enabled(camera_id bigint, enabled boolean)
RETURNS camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.cameras;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE camera_health.cameras AS c
	SET enabled = set_camera_enabled.enabled, updated_at = now()
	WHERE c.id = set_camera_enabled.camera_id
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.set_camera_enabled(bigint, boolean) IS
'Starts (true) or stops (false) all checks of a camera and returns it.';

CREATE FUNCTION camera_health.get_camera(camera_id bigint)
RETURNS camera_health.cameras
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.cameras;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT c.* INTO result FROM camera_health.camera_list c WHERE c.id = get_camera.camera_id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.get_camera(bigint) IS
'One camera; credentials masked for readers.';

CREATE FUNCTION camera_health.list_cameras(site text DEFAULT NULL, tag text DEFAULT NULL)
RETURNS SETOF camera_health.cameras
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.id, c.name, c.ip_address, c.port, c.rtsp_url, c.interval_ip, c.interval_port,
		   c.interval_vision, c.enabled, c.created_at, c.updated_at, c.site, c.tags
	FROM camera_health.camera_list c
	WHERE (list_cameras.site IS NULL OR c.site = list_cameras.site)
	  AND (list_cameras.tag IS NULL OR c.tags @> ARRAY[list_cameras.tag])
	ORDER BY c.id;
END;
COMMENT ON FUNCTION camera_health.list_cameras(text, text) IS
'The cameras by id, all or those of one site and/or with one tag; credentials masked for readers.';


/* What a camera is registered with: register_cameras() and export_cameras(). */
CREATE TYPE camera_health.camera_fields AS (
	ip_address inet, port integer, rtsp_url text, interval_ip integer, interval_port integer,
	interval_vision integer, name text, site text, tags text[]);
COMMENT ON TYPE camera_health.camera_fields IS
'The fields a camera is registered with (register_camera()''s arguments): one element of register_cameras(), one row of export_cameras().';

/*
 * The defaults of camera_fields: the cameras table's column defaults,
 * evaluated, so that they are written down once.
 */
CREATE FUNCTION camera_health.camera_defaults()
RETURNS camera_health.camera_fields
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.camera_fields;
	col record;
	value text;
BEGIN
	FOR col IN SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS expr
			   FROM pg_attribute a
			   JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			   WHERE a.attrelid = 'camera_health.cameras'::regclass
				 AND a.attname IN ('port', 'interval_ip', 'interval_port', 'interval_vision', 'tags')
	LOOP
		EXECUTE format('SELECT (%s)::text', col.expr) INTO value;
		result := jsonb_populate_record(result, jsonb_build_object(col.attname, value));
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.camera_defaults() IS
'The defaults a camera is registered with (port 554, intervals 30, 60 and 300 s, no tags): the cameras table''s column defaults.';

/*
 * Bulk import: all or nothing, set-based (10,000 cameras are one INSERT, not
 * 10,000 calls of register_camera()).  Each row is checked as
 * register_camera() checks it, with the same messages, and the first bad row
 * is named by its index.  The checks run in one exception block for the
 * whole batch, not one per row (a subtransaction each): idx and item still
 * say which row failed when the handler runs, and only then is the row
 * checked field by field (http_call_args) for a message naming the field.
 */
CREATE FUNCTION camera_health.register_cameras(cameras jsonb)
RETURNS SETOF camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fields text[] := ARRAY['ip_address', 'port', 'rtsp_url', 'interval_ip', 'interval_port', 'interval_vision',
						   'name', 'site', 'tags'];
	types text[] := ARRAY['inet', 'integer', 'text', 'integer', 'integer', 'integer', 'text', 'text', 'text[]'];
	defaults camera_health.camera_fields := camera_health.camera_defaults();
	rows camera_health.camera_fields[] := '{}';
	r camera_health.camera_fields;
	item jsonb;
	idx integer;
	other bigint;
	state text; msg text; det text; hnt text;
BEGIN
	IF jsonb_typeof(cameras) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'cameras must be a JSON array' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example [{"ip_address": "10.0.0.5", "site": "north"}], with register_camera()''s argument names.';
	END IF;
	IF jsonb_array_length(cameras) > 100000 THEN
		RAISE EXCEPTION 'too many cameras: %', jsonb_array_length(cameras)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Import at most 100000 cameras at once.';
	END IF;
	BEGIN
		FOR item, idx IN SELECT e, o - 1 FROM jsonb_array_elements(cameras) WITH ORDINALITY AS t(e, o) LOOP
			IF jsonb_typeof(item) <> 'object' OR EXISTS (SELECT FROM jsonb_object_keys(item) AS k WHERE k <> ALL (fields)) THEN
				PERFORM camera_health.http_call_args(item, fields, types);
			END IF;
			IF coalesce(item -> 'ip_address', 'null') = 'null' THEN
				RAISE EXCEPTION 'ip_address must not be null' USING ERRCODE = 'null_value_not_allowed';
			END IF;
			r := jsonb_populate_record(defaults, item);
			r.tags := coalesce(r.tags, '{}');
			PERFORM camera_health.check_camera_fields(r.ip_address, r.port, r.rtsp_url, r.interval_ip, r.interval_port,
													  r.interval_vision, r.name, r.site, r.tags);
			rows := rows || r;
		END LOOP;
		-- the same address, port and URL twice in the batch, or already there
		item := NULL;
		SELECT min(d.o) - 1 INTO idx
		FROM (SELECT x.o, count(*) OVER (PARTITION BY x.ip_address, x.port, coalesce(x.rtsp_url, '') ORDER BY x.o) AS n
			  FROM unnest(rows) WITH ORDINALITY
				AS x(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags, o)) d
		WHERE d.n > 1;
		IF idx IS NOT NULL THEN
			RAISE EXCEPTION 'camera already registered' USING ERRCODE = 'unique_violation',
				DETAIL = 'An earlier camera of the batch has the same address, port and URL.';
		END IF;
		SELECT x.o - 1, c.id INTO idx, other
		FROM unnest(rows) WITH ORDINALITY
				AS x(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags, o)
		JOIN camera_health.cameras c
		  ON c.ip_address = x.ip_address AND c.port = x.port AND coalesce(c.rtsp_url, '') = coalesce(x.rtsp_url, '')
		ORDER BY x.o LIMIT 1;
		IF idx IS NOT NULL THEN
			RAISE EXCEPTION 'camera already registered' USING ERRCODE = 'unique_violation',
				DETAIL = format('Camera %s has the same address, port and URL.', other),
				HINT = 'Update that camera with update_camera() instead.';
		END IF;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
								det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
		IF item IS NOT NULL THEN
			-- field by field, for the message that names the bad field
			BEGIN
				PERFORM camera_health.http_call_args(item, fields, types);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
										det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
			END;
		END IF;
		RAISE EXCEPTION 'camera at index % refused: %', idx, msg
			USING ERRCODE = state,
				  DETAIL = concat_ws(' ', nullif(det, ''),
									 format('None of the %s cameras was registered.', jsonb_array_length(cameras))),
				  HINT = coalesce(nullif(hnt, ''), 'Index 0 is the first camera.');
	END;
	RETURN QUERY
		WITH added AS (
			INSERT INTO camera_health.cameras AS c
				(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags)
			SELECT x.ip_address, x.port, x.rtsp_url, x.interval_ip, x.interval_port, x.interval_vision,
				   x.name, x.site, x.tags
			FROM unnest(rows) WITH ORDINALITY
				AS x(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags, o) ORDER BY x.o
			RETURNING c.*)
		SELECT * FROM added ORDER BY id;
END
$$;
COMMENT ON FUNCTION camera_health.register_cameras(jsonb) IS
'Registers many cameras at once, all or nothing: a JSON array of objects with register_camera()''s argument names (ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name, site, tags). A bad row is refused with its index (0 is the first) and nothing is written.';

/* The fleet in register_cameras()'s shape, so that an export imports again. */
CREATE FUNCTION camera_health.export_cameras()
RETURNS SETOF camera_health.camera_fields
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.ip_address, c.port, c.rtsp_url, c.interval_ip, c.interval_port, c.interval_vision,
		   c.name, c.site, c.tags
	FROM camera_health.camera_list c ORDER BY c.id;
END;
COMMENT ON FUNCTION camera_health.export_cameras() IS
'The cameras by id with register_cameras()''s fields, ready to import elsewhere; credentials masked for readers.';

/*
 * CSV to register_cameras()'s JSON: a header line naming the fields, then a
 * camera a line; fields in double quotes may hold commas ("" is a quote); an
 * empty field takes the default; tags are an array literal ({ptz,outdoor}),
 * as export_cameras() writes them in CSV.
 */
CREATE FUNCTION camera_health.cameras_from_csv(csv text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	lines text[] := regexp_split_to_array(replace(csv, E'\r', ''), E'\n');
	header text[];
	vals text[];
	consumed integer;
	rows jsonb[] := '{}';
	obj jsonb;
	i integer;
	k integer;
BEGIN
	IF csv IS NULL THEN
		RAISE EXCEPTION 'csv must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	FOR i IN 1 .. cardinality(lines) LOOP
		CONTINUE WHEN lines[i] = '';
		SELECT array_agg(CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"')
						 ELSE m[1] END ORDER BY n),
			   sum(length(m[1]) + 1)
		INTO vals, consumed
		FROM regexp_matches(lines[i] || ',', '("(?:[^"]|"")*"|[^,"]*),', 'g') WITH ORDINALITY AS t(m, n);
		IF consumed IS DISTINCT FROM length(lines[i]) + 1 THEN
			RAISE EXCEPTION 'malformed CSV on line %', i USING ERRCODE = 'invalid_text_representation',
				HINT = 'Separate fields with commas; quote a field holding a comma or a quote ("" for a quote).';
		END IF;
		IF header IS NULL THEN
			header := vals;
			CONTINUE;
		END IF;
		IF cardinality(vals) <> cardinality(header) THEN
			RAISE EXCEPTION 'line % has % fields, the header %', i, cardinality(vals), cardinality(header)
				USING ERRCODE = 'invalid_text_representation';
		END IF;
		obj := '{}';
		FOR k IN 1 .. cardinality(vals) LOOP
			CONTINUE WHEN vals[k] = '';
			BEGIN
				obj := obj || jsonb_build_object(header[k],
					CASE WHEN header[k] = 'tags' THEN to_jsonb(vals[k]::text[]) ELSE to_jsonb(vals[k]) END);
			EXCEPTION WHEN data_exception THEN
				RAISE EXCEPTION 'invalid % on line %: %', header[k], i, SQLERRM USING ERRCODE = SQLSTATE;
			END;
		END LOOP;
		rows := rows || obj;
	END LOOP;
	IF header IS NULL THEN
		RAISE EXCEPTION 'the CSV has no header line' USING ERRCODE = 'invalid_text_representation',
			HINT = 'The first line names the fields, for example ip_address,port,rtsp_url,name,site,tags.';
	END IF;
	RETURN to_jsonb(rows);
END
$$;
COMMENT ON FUNCTION camera_health.cameras_from_csv(text) IS
'register_cameras()''s JSON array from CSV: a header line of field names, then a camera a line; an empty field takes the default, tags as an array literal ({ptz,outdoor}).';
