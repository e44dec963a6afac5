/* camera_health--1.0--1.1.sql: upgrade a 1.0 install to 1.1 */

\echo Use "ALTER EXTENSION camera_health UPDATE TO '1.1'" to load this file. \quit

/*
 * Each change of 1.1 is one block below, headed by what it is for.  A fresh
 * 1.1 install (built from sql/) and a 1.0 install upgraded by this script
 * must end up with the same schema: test/test_upgrade.sh compares them.
 */

/* ---- Privileges: readers no longer see camera imagery (issue 8) ---------- */
-- 1.0 granted camera_health_reader SELECT on the reference frames
REVOKE SELECT ON camera_health.camera_references FROM camera_health_reader;

/* ---- search_path pinned in every SQL function (issue 8) ------------------- */
-- the two SQL functions of 1.0 without one; the rest had it already
ALTER FUNCTION camera_health.is_camera_address(inet) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION camera_health.may_see_secrets() SET search_path = pg_catalog, pg_temp;
-- (camera_list is replaced with site and tags further down: one query, not one
-- call per row, of may_see_secrets())
/* ------------------------------------------------------------------------
 * Masking (issue 8, finding 4): one rule for what a credential is
 * (common/url.c); a refused URL is shown as scheme://host only; result
 * metadata is masked again before it is stored
 * ------------------------------------------------------------------------ */

COMMENT ON FUNCTION camera_health.mask_url(text) IS
'One whole URL with its credentials replaced by ***: the password of user:password@ (the userinfo runs to the last @) and secret query parameters (password=, pwd=, token=, ...).';

CREATE FUNCTION camera_health.mask_text(t text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_mask_text';
COMMENT ON FUNCTION camera_health.mask_text(text) IS
'Free text with the credentials of every URL in it replaced by ***, also when the text was cut short inside a password.';
REVOKE ALL ON FUNCTION camera_health.mask_text(text) FROM PUBLIC;

CREATE FUNCTION camera_health.url_origin(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_url_origin';
COMMENT ON FUNCTION camera_health.url_origin(text) IS
'scheme://host of a URL, without userinfo, port, path or query (NULL without a plausible scheme): all an error about a refused URL shows of it.';
REVOKE ALL ON FUNCTION camera_health.url_origin(text) FROM PUBLIC;

-- (check_camera_fields() names only scheme://host of a refused URL: the
-- version with site and tags, further down, replaces it)

CREATE FUNCTION camera_health.mask_result_metadata(metadata jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(metadata) = 'object' THEN
		metadata || coalesce((SELECT jsonb_object_agg(k.key,
									 CASE k.key WHEN 'url' THEN camera_health.mask_url(metadata ->> k.key)
										 ELSE camera_health.mask_text(metadata ->> k.key) END)
							  FROM unnest(ARRAY['url', 'error', 'message', 'detail']) AS k(key)
							  WHERE jsonb_typeof(metadata -> k.key) = 'string'
								AND strpos(metadata ->> k.key, '://') > 0), '{}')
		ELSE metadata END;
END;
COMMENT ON FUNCTION camera_health.mask_result_metadata(jsonb) IS
'A result''s metadata with credentials masked in its url, error, message and detail fields.';
REVOKE ALL ON FUNCTION camera_health.mask_result_metadata(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION camera_health.parse_results(results jsonb)
RETURNS TABLE (camera_id bigint, check_type text, status text, checked_at timestamptz,
			   latency_ms double precision, metadata jsonb, round bigint)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT x.camera_id, x.check_type, x.status, to_timestamp(x.checked_ms / 1000.0),
		   x.latency_ms,
		   -- most results quote no URL: only those that do pay for masking
		   coalesce(CASE WHEN strpos(concat(x.metadata ->> 'url', x.metadata ->> 'error',
											x.metadata ->> 'message', x.metadata ->> 'detail'), '://') > 0
						 THEN camera_health.mask_result_metadata(x.metadata) ELSE x.metadata END, '{}'),
		   row_number() OVER (PARTITION BY x.camera_id, x.check_type ORDER BY x.checked_ms)
	FROM jsonb_to_recordset(results) AS x(camera_id bigint, check_type text, status text,
										  checked_ms double precision, latency_ms double precision,
										  metadata jsonb);
END;

/*
 * mem (issue 8, 7c): the cameras_changed trigger names the camera id column
 * in its argument instead of assuming the first column is "id" (it is
 * camera_id in camera_references).
 */
DROP TRIGGER cameras_changed ON camera_health.cameras;
CREATE TRIGGER cameras_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.cameras
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('id');
DROP TRIGGER camera_references_changed ON camera_health.camera_references;
CREATE TRIGGER camera_references_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('camera_id');
COMMENT ON FUNCTION camera_health.cameras_changed() IS
'Trigger: tells the scheduler, at commit, which cameras changed (the argument names the bigint column holding the camera id; without one, the first column).';

/* ---- Hostile Redis (issue 8, items 2, 3, 7): dead letters and checked reference frames ---- */

CREATE FUNCTION camera_health.valid_reference(image bytea)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_valid_reference';
COMMENT ON FUNCTION camera_health.valid_reference(bytea) IS
'True for one well-formed grey analysis image ("GREY <width> <height>", a newline, width*height bytes; sides 1 to 8192), with or without the focus map that may follow the pixels (since 1.1: "FOCUS <source width> <source height> <grid x> <grid y>", a newline, 4 bytes a tile): the check of camera_references.image.';
REVOKE ALL ON FUNCTION camera_health.valid_reference(bytea) FROM PUBLIC;

-- malformed references were stored and never replaced: drop them, so the
-- next good frame is taken, and refuse them from now on
DELETE FROM camera_health.camera_references WHERE NOT camera_health.valid_reference(image);
ALTER TABLE camera_health.camera_references
	ADD CONSTRAINT camera_references_image_valid CHECK (camera_health.valid_reference(image)) NOT VALID;
ALTER TABLE camera_health.camera_references VALIDATE CONSTRAINT camera_references_image_valid;

CREATE TABLE camera_health.dead_letters (
	id bigserial PRIMARY KEY,
	stream text NOT NULL,
	entry_id text NOT NULL,
	sqlstate text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
	message text NOT NULL,
	payload text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE camera_health.dead_letters IS 'Results the ingest worker set aside because they could not be written (newest 10,000; counted in health_summary()).';
COMMENT ON COLUMN camera_health.dead_letters.id IS 'Dead letter id.';
COMMENT ON COLUMN camera_health.dead_letters.stream IS 'Redis stream the result came from, without the key prefix.';
COMMENT ON COLUMN camera_health.dead_letters.entry_id IS 'Its stream entry id.';
COMMENT ON COLUMN camera_health.dead_letters.sqlstate IS 'SQLSTATE of the last failure (54000 for an entry too big to be read).';
COMMENT ON COLUMN camera_health.dead_letters.message IS 'The error message, credentials masked.';
COMMENT ON COLUMN camera_health.dead_letters.payload IS 'The start of the result, credentials masked, at most 2000 bytes.';
COMMENT ON COLUMN camera_health.dead_letters.created_at IS 'When it was set aside.';
REVOKE ALL ON camera_health.dead_letters, camera_health.dead_letters_id_seq FROM PUBLIC;

-- (health_summary() counts the dead letters: 1.1's version, with sites,
-- maintenance and uptime, is the dashboard's part at the end)


/* ------------------------------------------------------------------------
 * Sites and tags on cameras; bulk import and export (issue 10)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.valid_tags(tags text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN tags IS NOT NULL AND cardinality(tags) <= 32
	AND NOT EXISTS (SELECT FROM unnest(tags) AS t WHERE t IS NULL OR length(t) NOT BETWEEN 1 AND 64)
	AND cardinality(tags) = (SELECT count(DISTINCT t) FROM unnest(tags) AS t);
COMMENT ON FUNCTION camera_health.valid_tags(text[]) IS
'True for a camera''s tags: at most 32, each 1 to 64 characters, none twice.';

REVOKE ALL ON FUNCTION camera_health.valid_tags(text[]) FROM PUBLIC;

ALTER TABLE camera_health.cameras
	ADD COLUMN site text CHECK (length(site) BETWEEN 1 AND 200),
	ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (camera_health.valid_tags(tags));

COMMENT ON COLUMN camera_health.cameras.site IS 'Optional site (building, area, customer) the camera belongs to: alerts and summaries are grouped by it.';
COMMENT ON COLUMN camera_health.cameras.tags IS 'Free labels (at most 32, each 1 to 64 characters): list_cameras(tag => ...) filters by one.';
CREATE INDEX cameras_site_idx ON camera_health.cameras (site);
CREATE INDEX cameras_tags_idx ON camera_health.cameras USING gin (tags);


CREATE OR REPLACE VIEW camera_health.camera_list AS
SELECT c.id, c.name, c.ip_address, c.port,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN c.rtsp_url
			ELSE camera_health.mask_url(c.rtsp_url) END AS rtsp_url,
	   c.interval_ip, c.interval_port, c.interval_vision, c.enabled,
	   c.created_at, c.updated_at, c.site, c.tags
FROM camera_health.cameras c;
COMMENT ON VIEW camera_health.camera_list IS 'The cameras, with credentials in rtsp_url masked for readers.';


DROP FUNCTION camera_health.check_camera_fields(inet, integer, text, integer, integer, integer, text);

CREATE FUNCTION camera_health.check_camera_fields(
	ip_address inet, port integer, rtsp_url text,
	interval_ip integer, interval_port integer, interval_vision integer, name text,
	site text, tags text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	problem text;
	iv record;
BEGIN
	IF ip_address IS NULL THEN
		RAISE EXCEPTION 'ip_address must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT camera_health.is_camera_address(ip_address) THEN
		RAISE EXCEPTION 'invalid ip_address: %', ip_address
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A camera address is one unicast host: no netmask, not 0.0.0.0, broadcast or multicast.',
				  HINT = 'Give the bare address, e.g. 10.0.0.5.';
	END IF;
	IF port IS NULL OR port NOT BETWEEN 1 AND 65535 THEN
		RAISE EXCEPTION 'invalid port: %', coalesce(port::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Ports are 1 to 65535.';
	END IF;
	FOR iv IN SELECT * FROM (VALUES ('interval_ip', interval_ip), ('interval_port', interval_port),
									('interval_vision', interval_vision)) AS v(arg, seconds)
	LOOP
		IF iv.seconds IS NULL OR iv.seconds NOT BETWEEN 1 AND 86400 THEN
			RAISE EXCEPTION 'invalid %: %', iv.arg, coalesce(iv.seconds::text, 'NULL')
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'Check intervals are in seconds.',
					  HINT = 'Use 1 to 86400 seconds.';
		END IF;
	END LOOP;
	problem := camera_health.url_problem(rtsp_url);
	IF problem IS NOT NULL THEN
		-- never echo the URL: a refused one may hold a password anywhere
		-- (masking reads it as it would a valid one); scheme and host only
		RAISE EXCEPTION 'invalid rtsp_url%', coalesce(' "' || camera_health.url_origin(rtsp_url) || '"', '')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = problem,
				  HINT = 'For example rtsp://10.0.0.5:554/stream1 or http://10.0.0.5/snapshot.jpg; a user name and password, if the camera needs them, go before the host.';
	END IF;
	IF length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid name: length %', length(name)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Names are 1 to 200 characters; NULL for none.';
	END IF;
	IF length(site) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid site: length %', length(site)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Site names are 1 to 200 characters; NULL for none.';
	END IF;
	IF NOT camera_health.valid_tags(tags) THEN
		RAISE EXCEPTION 'invalid tags: %', coalesce(tags::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'At most 32 tags, each 1 to 64 characters, none twice; ''{}'' for none.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_camera_fields(inet, integer, text, integer, integer, integer, text, text, text[]) IS
'Raises invalid_parameter_value (22023) or null_value_not_allowed (22004) for a camera field the cameras table would refuse.';


DROP FUNCTION camera_health.register_camera(inet, integer, text, integer, integer, integer, text);

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


DROP FUNCTION camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text);

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


DROP FUNCTION camera_health.list_cameras();

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


REVOKE ALL ON FUNCTION
	camera_health.check_camera_fields(inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.register_camera(inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.list_cameras(text, text),
	camera_health.register_cameras(jsonb),
	camera_health.export_cameras(),
	camera_health.camera_defaults(),
	camera_health.cameras_from_csv(text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION camera_health.list_cameras(text, text), camera_health.export_cameras(),
	camera_health.camera_defaults()
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.register_camera(inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.register_cameras(jsonb),
	camera_health.cameras_from_csv(text),
	camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text, text, text[])
	TO camera_health_writer;

-- ---- the HTTP API (camera_health_api, served by PostgREST) ----------------

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

/* ------------------------------------------------------------------------
 * Notifications (issue 10): alert events and pg_notify, channels,
 * maintenance windows, the planner and delivery log (sql/10_notify.sql),
 * and their HTTP API (sql/11_http_notify.sql)
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Notifications (issue 10): alert events, channels, maintenance windows,
 * the planning of notifications and their delivery log
 *
 * Every alert opened, acknowledged or resolved is an event: a row of
 * alert_events and a pg_notify on camera_health_alerts, written by a
 * trigger on alerts (record_results() is unchanged).  The notifier worker
 * (bgworker/notifier.c) calls plan_notifications() in short transactions:
 * it turns the state of alerts into notifications per channel (grouped by
 * site, deferred by maintenance windows), which the worker delivers with
 * libcurl outside any transaction, recording each attempt in deliveries.
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.severity_level AS text
	CHECK (VALUE IN ('warning', 'critical'));
COMMENT ON DOMAIN camera_health.severity_level IS 'An alert severity: warning or critical.';

CREATE DOMAIN camera_health.channel_kind AS text
	CHECK (VALUE IN ('webhook', 'slack', 'email'));
COMMENT ON DOMAIN camera_health.channel_kind IS 'How a channel delivers: webhook (JSON POST), slack (incoming-webhook {"text"}) or email (SMTP).';

CREATE DOMAIN camera_health.alert_event_kind AS text
	CHECK (VALUE IN ('opened', 'acknowledged', 'resolved'));
COMMENT ON DOMAIN camera_health.alert_event_kind IS 'What happened to an alert: opened, acknowledged or resolved.';

CREATE DOMAIN camera_health.notification_kind AS text
	CHECK (VALUE IN ('opened', 'resolved', 'reminder', 'test'));
COMMENT ON DOMAIN camera_health.notification_kind IS 'What a notification reports: opened, resolved, reminder (still open, unacknowledged) or test.';

CREATE FUNCTION camera_health.severity_rank(severity text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE severity WHEN 'warning' THEN 1 WHEN 'critical' THEN 2 END;
COMMENT ON FUNCTION camera_health.severity_rank(text) IS
'1 for warning, 2 for critical: the order of min_severity.';

/* The GUCs the planner reads (defaults when the library is not loaded). */
CREATE FUNCTION camera_health.notify_group_wait()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce(nullif(current_setting('camera_health.notify_group_wait', true), ''), '30s')::interval;
COMMENT ON FUNCTION camera_health.notify_group_wait() IS
'camera_health.notify_group_wait as an interval: how long alerts of one site are gathered into one notification.';

CREATE FUNCTION camera_health.notify_base_url()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN rtrim(coalesce(current_setting('camera_health.notify_base_url', true), ''), '/');
COMMENT ON FUNCTION camera_health.notify_base_url() IS
'camera_health.notify_base_url without a trailing slash: the prefix of the camera links in notifications ('''' for relative links).';

/* ---- maintenance windows -------------------------------------------------- */

CREATE TABLE camera_health.maintenance_windows (
	id bigserial PRIMARY KEY,
	starts_at timestamptz NOT NULL,
	ends_at timestamptz NOT NULL,
	camera_id bigint REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	site text CHECK (length(site) BETWEEN 1 AND 200),
	reason text CHECK (length(reason) <= 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	ended_early_at timestamptz,
	CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_windows_ends_idx ON camera_health.maintenance_windows (ends_at);
COMMENT ON TABLE camera_health.maintenance_windows IS
'Planned work: checks run and alerts are recorded (marked in_maintenance), but nothing is notified until the window ends.';
COMMENT ON COLUMN camera_health.maintenance_windows.id IS 'Window id.';
COMMENT ON COLUMN camera_health.maintenance_windows.starts_at IS 'When the window starts.';
COMMENT ON COLUMN camera_health.maintenance_windows.ends_at IS 'When it ends (now, if ended early).';
COMMENT ON COLUMN camera_health.maintenance_windows.camera_id IS 'The one camera it covers, or NULL.';
COMMENT ON COLUMN camera_health.maintenance_windows.site IS 'The site it covers, or NULL; with camera_id NULL too, the whole fleet.';
COMMENT ON COLUMN camera_health.maintenance_windows.reason IS 'Why, in words.';
COMMENT ON COLUMN camera_health.maintenance_windows.created_at IS 'When it was added.';
COMMENT ON COLUMN camera_health.maintenance_windows.ended_early_at IS 'When end_maintenance() ended it before its time.';

CREATE FUNCTION camera_health.in_maintenance(camera_id bigint, site text, at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT EXISTS (SELECT FROM camera_health.maintenance_windows w
				   WHERE w.starts_at <= at AND w.ends_at > at
					 AND (w.camera_id IS NULL OR w.camera_id = in_maintenance.camera_id)
					 AND (w.site IS NULL OR w.site = in_maintenance.site));
END;
COMMENT ON FUNCTION camera_health.in_maintenance(bigint, text, timestamptz) IS
'True when a maintenance window covers the camera (by id, by site, or the whole fleet) at the given time.';

-- an alert that opens during a window is marked so
ALTER TABLE camera_health.alerts ADD COLUMN in_maintenance boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN camera_health.alerts.in_maintenance IS 'True when the alert opened during a maintenance window of its camera.';

/* ---- alert events --------------------------------------------------------- */

CREATE TABLE camera_health.alert_events (
	id bigserial PRIMARY KEY,
	alert_id bigint NOT NULL,
	camera_id bigint NOT NULL,
	event camera_health.alert_event_kind NOT NULL,
	alert_type text NOT NULL,
	severity camera_health.severity_level NOT NULL,
	status text NOT NULL,
	in_maintenance boolean NOT NULL,
	at timestamptz NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	planned_at timestamptz
);
CREATE INDEX alert_events_unplanned_idx ON camera_health.alert_events (id) WHERE planned_at IS NULL;
COMMENT ON TABLE camera_health.alert_events IS
'Every alert opened, acknowledged and resolved, as also sent with pg_notify on camera_health_alerts; consumed by plan_notifications().';
COMMENT ON COLUMN camera_health.alert_events.id IS 'Event id, in commit order within a transaction.';
COMMENT ON COLUMN camera_health.alert_events.alert_id IS 'The alert.';
COMMENT ON COLUMN camera_health.alert_events.camera_id IS 'Its camera.';
COMMENT ON COLUMN camera_health.alert_events.event IS 'opened, acknowledged or resolved.';
COMMENT ON COLUMN camera_health.alert_events.alert_type IS 'The alert type.';
COMMENT ON COLUMN camera_health.alert_events.severity IS 'warning or critical.';
COMMENT ON COLUMN camera_health.alert_events.status IS 'The alert''s status after the event.';
COMMENT ON COLUMN camera_health.alert_events.in_maintenance IS 'True when a maintenance window covered the camera at the time of the event.';
COMMENT ON COLUMN camera_health.alert_events.at IS 'When it happened (the check''s time for opened and resolved).';
COMMENT ON COLUMN camera_health.alert_events.recorded_at IS 'When the event was written.';
COMMENT ON COLUMN camera_health.alert_events.planned_at IS 'When plan_notifications() consumed it.';

/* Wakes the notifier worker when the transaction commits (C: bgworker/notifier.c). */
CREATE FUNCTION camera_health.wake_notifier()
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'ch_wake_notifier';
COMMENT ON FUNCTION camera_health.wake_notifier() IS
'Wakes the notifier worker at commit (not before, not on abort); a no-op without preload.';

CREATE FUNCTION camera_health.alert_marked()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.in_maintenance := camera_health.in_maintenance(NEW.camera_id,
		(SELECT c.site FROM camera_health.cameras c WHERE c.id = NEW.camera_id), NEW.created_at);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION camera_health.alert_marked() IS
'Trigger: marks an alert that opens during a maintenance window of its camera.';

CREATE FUNCTION camera_health.alert_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ev text;
	at timestamptz;
	cam record;
	maint boolean;
	event_id bigint;
BEGIN
	IF TG_OP = 'INSERT' THEN
		ev := 'opened';
		at := NEW.created_at;
	ELSIF NEW.status = 'resolved' THEN
		ev := 'resolved';
		at := NEW.resolved_at;
	ELSIF NEW.status = 'acknowledged' THEN
		ev := 'acknowledged';
		at := NEW.acknowledged_at;
	ELSE
		RETURN NULL;
	END IF;
	SELECT c.name, c.site INTO cam FROM camera_health.cameras c WHERE c.id = NEW.camera_id;
	maint := camera_health.in_maintenance(NEW.camera_id, cam.site, at);
	INSERT INTO camera_health.alert_events (alert_id, camera_id, event, alert_type, severity, status, in_maintenance, at)
	VALUES (NEW.id, NEW.camera_id, ev, NEW.alert_type, NEW.severity, NEW.status, maint, at)
	RETURNING id INTO event_id;
	PERFORM pg_notify('camera_health_alerts', json_build_object(
		'event_id', event_id, 'event', ev, 'alert_id', NEW.id, 'camera_id', NEW.camera_id,
		'camera_name', cam.name, 'site', cam.site, 'type', NEW.alert_type, 'severity', NEW.severity,
		'status', NEW.status, 'in_maintenance', maint, 'message', left(NEW.message, 1000), 'at', at)::text);
	PERFORM camera_health.wake_notifier();
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION camera_health.alert_changed() IS
'Trigger: records an alert''s opening, acknowledgement or resolution in alert_events, sends it with pg_notify on camera_health_alerts and wakes the notifier.';

CREATE TRIGGER alerts_in_maintenance
	BEFORE INSERT ON camera_health.alerts
	FOR EACH ROW EXECUTE FUNCTION camera_health.alert_marked();
CREATE TRIGGER alerts_opened
	AFTER INSERT ON camera_health.alerts
	FOR EACH ROW EXECUTE FUNCTION camera_health.alert_changed();
CREATE TRIGGER alerts_status_changed
	AFTER UPDATE OF status ON camera_health.alerts
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION camera_health.alert_changed();

/* ---- channels ------------------------------------------------------------- */

CREATE TABLE camera_health.channels (
	id bigserial PRIMARY KEY,
	kind camera_health.channel_kind NOT NULL,
	target text NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
	name text CHECK (length(name) BETWEEN 1 AND 200),
	secret text CHECK (length(secret) BETWEEN 1 AND 1024),
	email_from text,
	email_to text[],
	min_severity camera_health.severity_level NOT NULL DEFAULT 'warning',
	alert_types text[],
	sites text[],
	tags text[],
	escalate_after interval CHECK (escalate_after > interval '0'),
	repeat_interval interval CHECK (repeat_interval >= interval '1 second'),
	enabled boolean NOT NULL DEFAULT true,
	last_sequence bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE camera_health.channels IS
'Where notifications go. Holds secrets: read it through channel_list or list_channels(), which mask them for readers.';
COMMENT ON COLUMN camera_health.channels.id IS 'Channel id.';
COMMENT ON COLUMN camera_health.channels.kind IS 'webhook, slack or email.';
COMMENT ON COLUMN camera_health.channels.target IS 'http(s) URL of the webhook, or smtp(s)://[user:password@]host[:port] for email.';
COMMENT ON COLUMN camera_health.channels.name IS 'Optional display name.';
COMMENT ON COLUMN camera_health.channels.secret IS 'Webhook only: key of the X-Camera-Health-Signature HMAC-SHA256 of the body.';
COMMENT ON COLUMN camera_health.channels.email_from IS 'Email only: the sender address.';
COMMENT ON COLUMN camera_health.channels.email_to IS 'Email only: the recipient addresses.';
COMMENT ON COLUMN camera_health.channels.min_severity IS 'The lowest severity it receives: warning (all) or critical.';
COMMENT ON COLUMN camera_health.channels.alert_types IS 'Only these alert types (NULL: all).';
COMMENT ON COLUMN camera_health.channels.sites IS 'Only cameras of these sites (NULL: all).';
COMMENT ON COLUMN camera_health.channels.tags IS 'Only cameras with at least one of these tags (NULL: all).';
COMMENT ON COLUMN camera_health.channels.escalate_after IS 'An escalation channel: only alerts still open and unacknowledged this long after they opened (NULL: all at once).';
COMMENT ON COLUMN camera_health.channels.repeat_interval IS 'Reminders of alerts still open and unacknowledged, this often (NULL: none).';
COMMENT ON COLUMN camera_health.channels.enabled IS 'False stops planning for it (what is queued is still delivered).';
COMMENT ON COLUMN camera_health.channels.last_sequence IS 'The sequence number of its latest notification.';
COMMENT ON COLUMN camera_health.channels.created_at IS 'When it was added.';
COMMENT ON COLUMN camera_health.channels.updated_at IS 'When it was last changed.';

/* What a reader sees of a target: no password, and no Slack webhook path (the path is the credential). */
CREATE FUNCTION camera_health.mask_channel_target(kind text, target text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN kind = 'slack' THEN camera_health.url_origin(target) || '/***'
			ELSE camera_health.mask_url(target) END;
COMMENT ON FUNCTION camera_health.mask_channel_target(text, text) IS
'A channel target with its credentials masked: the password and secret parameters of the URL, and the whole path of a Slack webhook.';

CREATE VIEW camera_health.channel_list AS
SELECT ch.id, ch.kind, ch.name,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN ch.target
			ELSE camera_health.mask_channel_target(ch.kind, ch.target) END AS target,
	   CASE WHEN ch.secret IS NULL THEN NULL WHEN (SELECT camera_health.may_see_secrets()) THEN ch.secret
			ELSE '***' END AS secret,
	   ch.email_from, ch.email_to, ch.min_severity, ch.alert_types, ch.sites, ch.tags,
	   ch.escalate_after, ch.repeat_interval, ch.enabled, ch.last_sequence, ch.created_at, ch.updated_at
FROM camera_health.channels ch;
COMMENT ON VIEW camera_health.channel_list IS 'The channels, with the target''s credentials and the webhook secret masked for readers.';

/* Checked before they are put into a channels row, whose domains would refuse them less helpfully. */
CREATE FUNCTION camera_health.check_channel_words(kind text, min_severity text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF kind IS NULL OR kind NOT IN ('webhook', 'slack', 'email') THEN
		RAISE EXCEPTION 'invalid channel kind: %', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A channel is a webhook, slack or email.';
	END IF;
	IF min_severity IS NULL OR min_severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid min_severity: %', coalesce(min_severity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'warning (everything) or critical.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_channel_words(text, text) IS
'Refuses an unknown channel kind or min_severity (SQLSTATE 22023).';

CREATE FUNCTION camera_health.check_channel(ch camera_health.channels)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bad text;
BEGIN
	IF ch.kind IS NULL OR ch.kind NOT IN ('webhook', 'slack', 'email') THEN
		RAISE EXCEPTION 'invalid channel kind: %', coalesce(ch.kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A channel is a webhook, slack or email.';
	END IF;
	IF ch.target IS NULL OR ch.target ~ '[[:space:][:cntrl:]]' OR length(ch.target) > 2048
	   OR (ch.kind <> 'email' AND ch.target !~* '^https?://[^/?#@]*[^/?#]+')
	   OR (ch.kind = 'email' AND ch.target !~* '^smtps?://[^/?#]+(/[^?#]*)?$') THEN
		RAISE EXCEPTION 'invalid target for a % channel', ch.kind
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', coalesce(camera_health.url_origin(ch.target), 'no URL')),
				  HINT = CASE WHEN ch.kind = 'email' THEN 'An email channel needs smtp://[user:password@]host[:port] or smtps://...'
							  ELSE 'A webhook or slack channel needs an http:// or https:// URL.' END;
	END IF;
	IF ch.kind = 'email' THEN
		IF ch.email_from IS NULL OR ch.email_to IS NULL OR cardinality(ch.email_to) = 0 THEN
			RAISE EXCEPTION 'an email channel needs email_from and email_to'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		SELECT min(a) INTO bad FROM unnest(ch.email_to || ch.email_from) a
		WHERE a IS NULL OR a !~ '^[^[:space:][:cntrl:]<>@,;"]+@[^[:space:][:cntrl:]<>@,;"]+$' OR length(a) > 254;
		IF bad IS NOT NULL OR array_position(ch.email_to || ch.email_from, NULL) IS NOT NULL THEN
			RAISE EXCEPTION 'invalid email address: %', coalesce(regexp_replace(bad, '[[:cntrl:]]', '?', 'g'), 'NULL')
				USING ERRCODE = 'invalid_parameter_value', HINT = 'An address is user@host.';
		END IF;
	ELSIF ch.email_from IS NOT NULL OR ch.email_to IS NOT NULL THEN
		RAISE EXCEPTION 'email_from and email_to are for email channels only'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.secret IS NOT NULL AND ch.kind <> 'webhook' THEN
		RAISE EXCEPTION 'a secret signs webhook bodies only' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.min_severity IS NULL OR ch.min_severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid min_severity: %', coalesce(ch.min_severity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'warning (everything) or critical.';
	END IF;
	SELECT min(coalesce(t, 'NULL')) INTO bad FROM unnest(ch.alert_types) t
	WHERE t IS NULL OR t NOT IN ('camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable',
								 'blur', 'obstruction', 'displacement', 'frozen');
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'invalid alert type: %', bad USING ERRCODE = 'invalid_parameter_value',
			HINT = 'camera_unreachable, port_unavailable, high_latency, stream_unavailable, blur, obstruction, displacement or frozen.';
	END IF;
	IF EXISTS (SELECT FROM unnest(ch.sites || ch.tags) s WHERE s IS NULL OR s = '' OR length(s) > 200) THEN
		RAISE EXCEPTION 'a site or tag filter must not hold an empty or NULL name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.escalate_after <= interval '0' THEN
		RAISE EXCEPTION 'escalate_after must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.repeat_interval < interval '1 second' THEN
		RAISE EXCEPTION 'repeat_interval must be at least 1 second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(ch.name) NOT BETWEEN 1 AND 200 OR length(ch.secret) NOT BETWEEN 1 AND 1024 THEN
		RAISE EXCEPTION 'name must be 1 to 200 characters and secret 1 to 1024' USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_channel(camera_health.channels) IS
'Refuses an invalid channel (SQLSTATE 22023, or 22004 for a missing email address) with the reason.';

CREATE FUNCTION camera_health.add_channel(
	kind text,
	target text,
	min_severity text DEFAULT 'warning',
	sites text[] DEFAULT NULL,
	alert_types text[] DEFAULT NULL,
	tags text[] DEFAULT NULL,
	escalate_after interval DEFAULT NULL,
	repeat_interval interval DEFAULT NULL,
	secret text DEFAULT NULL,
	email_from text DEFAULT NULL,
	email_to text[] DEFAULT NULL,
	name text DEFAULT NULL,
	enabled boolean DEFAULT true)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ch camera_health.channels;
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.check_channel_words(kind, coalesce(min_severity, 'warning'));
	ch.kind := kind; ch.target := target; ch.min_severity := coalesce(min_severity, 'warning');
	ch.sites := sites; ch.alert_types := alert_types; ch.tags := tags;
	ch.escalate_after := escalate_after; ch.repeat_interval := repeat_interval; ch.secret := secret;
	ch.email_from := email_from; ch.email_to := email_to; ch.name := name;
	PERFORM camera_health.check_channel(ch);
	INSERT INTO camera_health.channels AS c (kind, target, name, secret, email_from, email_to, min_severity,
		alert_types, sites, tags, escalate_after, repeat_interval, enabled)
	VALUES (ch.kind, ch.target, ch.name, ch.secret, ch.email_from, ch.email_to, ch.min_severity,
		ch.alert_types, ch.sites, ch.tags, ch.escalate_after, ch.repeat_interval, coalesce(enabled, true))
	RETURNING c.id INTO ch.id;
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = ch.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.add_channel(text, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean) IS
'Adds a notification channel and returns it: kind webhook, slack or email; target its URL; filters on min_severity, sites, alert_types and tags; escalate_after makes it an escalation channel; repeat_interval sends reminders.';

CREATE FUNCTION camera_health.require_channel(channel_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF channel_id IS NULL THEN
		RAISE EXCEPTION 'channel_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM camera_health.channels c WHERE c.id = channel_id) THEN
		RAISE EXCEPTION 'channel % does not exist', channel_id
			USING ERRCODE = 'no_data_found', HINT = 'list_channels() shows the channels.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.require_channel(bigint) IS
'Raises no_data_found (P0002) unless the channel exists.';

CREATE FUNCTION camera_health.update_channel(
	channel_id bigint,
	target text DEFAULT NULL,
	min_severity text DEFAULT NULL,
	sites text[] DEFAULT NULL,
	alert_types text[] DEFAULT NULL,
	tags text[] DEFAULT NULL,
	escalate_after interval DEFAULT NULL,
	repeat_interval interval DEFAULT NULL,
	secret text DEFAULT NULL,
	email_from text DEFAULT NULL,
	email_to text[] DEFAULT NULL,
	name text DEFAULT NULL,
	enabled boolean DEFAULT NULL)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ch camera_health.channels;
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	SELECT * INTO ch FROM camera_health.channels c WHERE c.id = update_channel.channel_id FOR UPDATE;
	PERFORM camera_health.check_channel_words(ch.kind, coalesce(min_severity, ch.min_severity));
	-- NULL keeps a field; '' (text), '{}' (filters) and interval '0' clear the optional ones
	ch.target := coalesce(target, ch.target);
	ch.min_severity := coalesce(min_severity, ch.min_severity);
	ch.sites := CASE WHEN sites = '{}' THEN NULL ELSE coalesce(sites, ch.sites) END;
	ch.alert_types := CASE WHEN alert_types = '{}' THEN NULL ELSE coalesce(alert_types, ch.alert_types) END;
	ch.tags := CASE WHEN tags = '{}' THEN NULL ELSE coalesce(tags, ch.tags) END;
	ch.escalate_after := CASE WHEN escalate_after = interval '0' THEN NULL ELSE coalesce(escalate_after, ch.escalate_after) END;
	ch.repeat_interval := CASE WHEN repeat_interval = interval '0' THEN NULL ELSE coalesce(repeat_interval, ch.repeat_interval) END;
	ch.secret := CASE WHEN secret = '' THEN NULL ELSE coalesce(secret, ch.secret) END;
	ch.email_from := coalesce(email_from, ch.email_from);
	ch.email_to := coalesce(email_to, ch.email_to);
	ch.name := CASE WHEN name = '' THEN NULL ELSE coalesce(name, ch.name) END;
	ch.enabled := coalesce(enabled, ch.enabled);
	PERFORM camera_health.check_channel(ch);
	UPDATE camera_health.channels c
	SET target = ch.target, min_severity = ch.min_severity, sites = ch.sites, alert_types = ch.alert_types,
		tags = ch.tags, escalate_after = ch.escalate_after, repeat_interval = ch.repeat_interval,
		secret = ch.secret, email_from = ch.email_from, email_to = ch.email_to, name = ch.name,
		enabled = ch.enabled, updated_at = now()
	WHERE c.id = ch.id;
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = ch.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.update_channel(bigint, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean) IS
'Changes the given fields of a channel (NULL keeps one; '''' clears name or secret, ''{}'' a filter, interval ''0'' escalate_after or repeat_interval) and returns it.';

CREATE FUNCTION camera_health.delete_channel(channel_id bigint)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = delete_channel.channel_id;
	DELETE FROM camera_health.channels c WHERE c.id = delete_channel.channel_id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.delete_channel(bigint) IS
'Deletes a channel with its queued notifications and delivery log, and returns it.';

CREATE FUNCTION camera_health.list_channels()
RETURNS SETOF camera_health.channel_list
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.channel_list ORDER BY id;
END;
COMMENT ON FUNCTION camera_health.list_channels() IS
'All channels by id; targets and secrets masked for readers.';

/* ---- notifications and their delivery ----------------------------------- */

CREATE TABLE camera_health.notifications (
	id bigserial PRIMARY KEY,
	channel_id bigint NOT NULL REFERENCES camera_health.channels (id) ON DELETE CASCADE,
	sequence bigint NOT NULL,
	kind camera_health.notification_kind NOT NULL,
	site text,
	summary text NOT NULL,
	body jsonb NOT NULL,
	text_body text NOT NULL,
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz,
	last_error text,
	UNIQUE (channel_id, sequence)
);
CREATE INDEX notifications_pending_idx ON camera_health.notifications (channel_id, sequence) WHERE state = 'pending';
CREATE INDEX notifications_created_idx ON camera_health.notifications (created_at);
COMMENT ON TABLE camera_health.notifications IS
'What is sent to each channel, in sequence: pending until delivered (sent), or set aside after a permanent refusal or camera_health.notify_max_age (failed).';
COMMENT ON COLUMN camera_health.notifications.id IS 'Notification id (X-Camera-Health-Notification): a receiver de-duplicates on it.';
COMMENT ON COLUMN camera_health.notifications.channel_id IS 'The channel.';
COMMENT ON COLUMN camera_health.notifications.sequence IS 'Its number in the channel (X-Camera-Health-Sequence), from 1 without gaps: a receiver orders by it.';
COMMENT ON COLUMN camera_health.notifications.kind IS 'opened, resolved, reminder or test.';
COMMENT ON COLUMN camera_health.notifications.site IS 'The site of the cameras it reports (NULL: cameras without a site).';
COMMENT ON COLUMN camera_health.notifications.summary IS 'One line: what happened, e.g. "site north: 20 of 24 cameras unreachable".';
COMMENT ON COLUMN camera_health.notifications.body IS 'The JSON a webhook receives.';
COMMENT ON COLUMN camera_health.notifications.text_body IS 'The text of a Slack message or an email.';
COMMENT ON COLUMN camera_health.notifications.state IS 'pending, sent or failed.';
COMMENT ON COLUMN camera_health.notifications.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN camera_health.notifications.next_attempt_at IS 'Not before this (exponential backoff after a failure).';
COMMENT ON COLUMN camera_health.notifications.created_at IS 'When it was planned.';
COMMENT ON COLUMN camera_health.notifications.sent_at IS 'When the receiver accepted it.';
COMMENT ON COLUMN camera_health.notifications.last_error IS 'The error of the latest failed attempt.';

CREATE TABLE camera_health.deliveries (
	id bigserial PRIMARY KEY,
	notification_id bigint NOT NULL REFERENCES camera_health.notifications (id) ON DELETE CASCADE,
	channel_id bigint NOT NULL,
	attempt integer NOT NULL,
	started_at timestamptz NOT NULL,
	duration_ms double precision NOT NULL,
	status text NOT NULL CHECK (status IN ('ok', 'error')),
	response_code integer,
	error text
);
CREATE INDEX deliveries_notification_idx ON camera_health.deliveries (notification_id);
CREATE INDEX deliveries_started_idx ON camera_health.deliveries (started_at);
COMMENT ON TABLE camera_health.deliveries IS
'The delivery log: each attempt to send a notification, kept for camera_health.notify_log_retention.';
COMMENT ON COLUMN camera_health.deliveries.id IS 'Attempt id.';
COMMENT ON COLUMN camera_health.deliveries.notification_id IS 'The notification.';
COMMENT ON COLUMN camera_health.deliveries.channel_id IS 'Its channel.';
COMMENT ON COLUMN camera_health.deliveries.attempt IS '1 for the first attempt, then 2, 3, ...';
COMMENT ON COLUMN camera_health.deliveries.started_at IS 'When the transfer started.';
COMMENT ON COLUMN camera_health.deliveries.duration_ms IS 'How long it took.';
COMMENT ON COLUMN camera_health.deliveries.status IS 'ok (accepted) or error.';
COMMENT ON COLUMN camera_health.deliveries.response_code IS 'The HTTP status or SMTP reply code, when there was one.';
COMMENT ON COLUMN camera_health.deliveries.error IS 'What went wrong (libcurl''s error, or the refusing status).';

/* Which alerts each channel was told about, and when: the planner's state. */
CREATE TABLE camera_health.channel_alerts (
	channel_id bigint NOT NULL REFERENCES camera_health.channels (id) ON DELETE CASCADE,
	alert_id bigint NOT NULL,
	camera_id bigint NOT NULL,
	opened_notification bigint NOT NULL,
	notified_at timestamptz NOT NULL,
	last_reminder_at timestamptz,
	resolved_notification bigint,
	PRIMARY KEY (channel_id, alert_id),
	FOREIGN KEY (camera_id, alert_id) REFERENCES camera_health.alerts (camera_id, id) ON DELETE CASCADE
);
CREATE INDEX channel_alerts_open_idx ON camera_health.channel_alerts (channel_id) WHERE resolved_notification IS NULL;
CREATE INDEX channel_alerts_alert_idx ON camera_health.channel_alerts (camera_id, alert_id);
COMMENT ON TABLE camera_health.channel_alerts IS
'The alerts a channel was notified of: when it opened, the latest reminder, and the notification of its resolution.';
COMMENT ON COLUMN camera_health.channel_alerts.channel_id IS 'The channel.';
COMMENT ON COLUMN camera_health.channel_alerts.alert_id IS 'The alert.';
COMMENT ON COLUMN camera_health.channel_alerts.camera_id IS 'Its camera.';
COMMENT ON COLUMN camera_health.channel_alerts.opened_notification IS 'The notification that reported it open.';
COMMENT ON COLUMN camera_health.channel_alerts.notified_at IS 'When that was planned.';
COMMENT ON COLUMN camera_health.channel_alerts.last_reminder_at IS 'When the latest reminder was planned.';
COMMENT ON COLUMN camera_health.channel_alerts.resolved_notification IS 'The notification that reported it resolved.';

/*
 * One notification of a channel about some alerts of one site.  It names
 * every camera and alert; when most cameras of the site are unreachable
 * together, its summary says so ("site north: 20 of 24 cameras
 * unreachable").  Returns its id.
 */
CREATE FUNCTION camera_health.make_notification(channel_id bigint, kind text, site text, alert_ids bigint[],
												at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	nid bigint := nextval('camera_health.notifications_id_seq');
	seq bigint;
	items jsonb;
	lines text;
	n_alerts integer;
	n_cameras integer;
	n_unreachable integer;
	site_cameras integer;
	correlated boolean;
	summary text;
	body jsonb;
	base text := camera_health.notify_base_url();
BEGIN
	UPDATE camera_health.channels c SET last_sequence = c.last_sequence + 1
	WHERE c.id = make_notification.channel_id RETURNING c.last_sequence INTO seq;
	SELECT jsonb_agg(jsonb_build_object(
			   'alert_id', a.id, 'camera_id', a.camera_id, 'camera_name', c.name, 'site', c.site,
			   'type', a.alert_type, 'severity', a.severity, 'status', a.status, 'message', a.message,
			   'since', a.created_at, 'resolved_at', a.resolved_at, 'in_maintenance', a.in_maintenance,
			   'link', base || '/health/camera/' || a.camera_id) ORDER BY a.camera_id, a.id),
		   string_agg(format('- [%s] camera %s%s%s: %s: %s (since %s) %s', a.severity, a.camera_id,
							 ' "' || c.name || '"', ' (site ' || c.site || ')', a.alert_type,
							 regexp_replace(a.message, '[[:cntrl:]]+', ' ', 'g'),
							 to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
							 base || '/health/camera/' || a.camera_id), E'\n' ORDER BY a.camera_id, a.id),
		   count(*), count(DISTINCT a.camera_id),
		   count(DISTINCT a.camera_id) FILTER (WHERE a.alert_type = 'camera_unreachable')
	INTO items, lines, n_alerts, n_cameras, n_unreachable
	FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE a.id = ANY (alert_ids);
	IF site IS NOT NULL THEN
		SELECT count(*) INTO site_cameras FROM camera_health.cameras c WHERE c.site = make_notification.site AND c.enabled;
	END IF;
	correlated := site IS NOT NULL AND n_unreachable >= 2 AND n_unreachable * 2 > site_cameras;
	summary := CASE
		WHEN kind = 'test' THEN 'test message from camera_health'
		WHEN correlated THEN format('site %s: %s of %s cameras %s', site, n_unreachable, site_cameras,
									CASE kind WHEN 'opened' THEN 'unreachable' WHEN 'resolved' THEN 'reachable again'
										 ELSE 'still unreachable' END)
		ELSE format('%s %s %s%s', n_alerts, CASE WHEN n_alerts = 1 THEN 'alert' ELSE 'alerts' END,
					CASE kind WHEN 'opened' THEN 'opened' WHEN 'resolved' THEN 'resolved'
						 ELSE 'still open (reminder)' END,
					coalesce(' at site ' || site, '')) END;
	summary := regexp_replace(summary, '[[:cntrl:]]+', ' ', 'g');
	body := jsonb_build_object('notification_id', nid, 'channel_id', channel_id, 'sequence', seq,
							   'event', kind, 'site', site, 'summary', summary, 'created_at', at,
							   'correlation', CASE WHEN correlated THEN jsonb_build_object(
								   'site', site, 'cameras', site_cameras, 'unreachable', n_unreachable) END,
							   'cameras', coalesce(n_cameras, 0), 'alerts', coalesce(items, '[]'));
	INSERT INTO camera_health.notifications (id, channel_id, sequence, kind, site, summary, body, text_body, created_at)
	VALUES (nid, channel_id, seq, kind, site, summary, body,
			format('[camera_health] %s: %s', kind, summary) || coalesce(E'\n' || lines, '')
			|| format(E'\n(notification %s, sequence %s)', nid, seq), at);
	RETURN nid;
END
$$;
COMMENT ON FUNCTION camera_health.make_notification(bigint, text, text, bigint[], timestamptz) IS
'For the planner: queues one notification of a channel about some alerts of one site, with the next sequence number; returns its id.';

/* Does channel ch take alerts of this type and severity from this camera? */
CREATE FUNCTION camera_health.channel_accepts(ch camera_health.channels, alert_type text, severity text,
											  site text, tags text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN ch.enabled
	AND camera_health.severity_rank(severity) >= camera_health.severity_rank(ch.min_severity)
	AND (ch.alert_types IS NULL OR alert_type = ANY (ch.alert_types))
	AND (ch.sites IS NULL OR coalesce(site = ANY (ch.sites), false))
	AND (ch.tags IS NULL OR coalesce(tags && ch.tags, false));
COMMENT ON FUNCTION camera_health.channel_accepts(camera_health.channels, text, text, text, text[]) IS
'True when a channel''s filters (enabled, min_severity, alert_types, sites, tags) let an alert through.';

/*
 * The planner, called by the notifier in a short transaction (now and
 * group_wait are parameters for tests).  For each channel:
 *  - opened: alerts open and unacknowledged that it was not told about,
 *    past escalate_after for an escalation channel, whose camera is in no
 *    maintenance window now; one notification per site once the earliest
 *    of them has waited group_wait (so an alert that opens and resolves
 *    within group_wait is never notified; one that resolved after being
 *    open longer than that before the planner saw it is);
 *  - resolved: alerts it was told about that resolved, grouped the same way;
 *  - reminder: alerts it was told about, still open and unacknowledged,
 *    not reminded of for repeat_interval, one notification per site.
 * Cameras in maintenance are left for after the window: what still fails
 * then is notified then.  Consumes alert_events; returns how many
 * notifications it queued.
 */
CREATE FUNCTION camera_health.plan_notifications(now timestamptz DEFAULT now(), group_wait interval DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	wait interval := coalesce(group_wait, camera_health.notify_group_wait());
	g record;
	nid bigint;
	queued integer := 0;
	late bigint[];
BEGIN
	-- alerts that resolved since the last run (from the events: each is
	-- looked at once); one that was open for longer than group_wait while
	-- no notifier ran (a restart, a long transaction) is still reported,
	-- opened and then resolved
	SELECT coalesce(array_agg(DISTINCT e.alert_id), '{}') INTO late
	FROM camera_health.alert_events e WHERE e.planned_at IS NULL AND e.event = 'resolved';
	UPDATE camera_health.alert_events e SET planned_at = now WHERE e.planned_at IS NULL;

	FOR g IN
		SELECT ch.id AS channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channels ch
		CROSS JOIN (SELECT o.* FROM camera_health.alerts o WHERE o.resolved_at IS NULL AND o.status = 'open'
					UNION ALL
					SELECT r.* FROM camera_health.alerts r
					WHERE r.id = ANY (late) AND r.resolved_at IS NOT NULL AND r.acknowledged_at IS NULL) a
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ch.enabled
		  AND camera_health.channel_accepts(ch, a.alert_type, a.severity, c.site, c.tags)
		  AND a.created_at + coalesce(ch.escalate_after, interval '0') <= now
		  AND (a.resolved_at IS NULL OR a.resolved_at >= a.created_at + coalesce(ch.escalate_after, interval '0') + wait)
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		  AND NOT EXISTS (SELECT FROM camera_health.channel_alerts ca WHERE ca.channel_id = ch.id AND ca.alert_id = a.id)
		GROUP BY ch.id, c.site
		HAVING min(a.created_at + coalesce(ch.escalate_after, interval '0')) <= now - wait
		ORDER BY ch.id, c.site
	LOOP
		nid := camera_health.make_notification(g.channel_id, 'opened', g.site, g.alert_ids, now);
		INSERT INTO camera_health.channel_alerts (channel_id, alert_id, camera_id, opened_notification, notified_at)
		SELECT g.channel_id, a.id, a.camera_id, nid, now FROM camera_health.alerts a WHERE a.id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;

	FOR g IN
		SELECT ca.channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channel_alerts ca
		JOIN camera_health.channels ch ON ch.id = ca.channel_id
		JOIN camera_health.alerts a ON a.camera_id = ca.camera_id AND a.id = ca.alert_id
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ca.resolved_notification IS NULL AND a.resolved_at IS NOT NULL AND ch.enabled
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		GROUP BY ca.channel_id, c.site
		HAVING min(a.resolved_at) <= now - wait
		ORDER BY ca.channel_id, c.site
	LOOP
		nid := camera_health.make_notification(g.channel_id, 'resolved', g.site, g.alert_ids, now);
		UPDATE camera_health.channel_alerts ca SET resolved_notification = nid
		WHERE ca.channel_id = g.channel_id AND ca.alert_id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;

	FOR g IN
		SELECT ca.channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channel_alerts ca
		JOIN camera_health.channels ch ON ch.id = ca.channel_id AND ch.repeat_interval IS NOT NULL AND ch.enabled
		JOIN camera_health.alerts a ON a.camera_id = ca.camera_id AND a.id = ca.alert_id AND a.status = 'open'
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ca.resolved_notification IS NULL
		  AND coalesce(ca.last_reminder_at, ca.notified_at) <= now - ch.repeat_interval
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		GROUP BY ca.channel_id, c.site
		ORDER BY ca.channel_id, c.site
	LOOP
		PERFORM camera_health.make_notification(g.channel_id, 'reminder', g.site, g.alert_ids, now);
		UPDATE camera_health.channel_alerts ca SET last_reminder_at = now
		WHERE ca.channel_id = g.channel_id AND ca.alert_id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;
	RETURN queued;
END
$$;
COMMENT ON FUNCTION camera_health.plan_notifications(timestamptz, interval) IS
'For the notifier worker: queues the notifications due at now (opened, resolved, reminder; grouped per channel and site after group_wait, default camera_health.notify_group_wait; nothing for cameras in maintenance); returns how many.';

CREATE FUNCTION camera_health.test_channel(channel_id bigint)
RETURNS camera_health.notifications
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.notifications;
	nid bigint;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	nid := camera_health.make_notification(test_channel.channel_id, 'test', NULL, '{}', now());
	SELECT * INTO result FROM camera_health.notifications n WHERE n.id = nid;
	PERFORM camera_health.wake_notifier();
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.test_channel(bigint) IS
'Queues a test message to a channel (delivered by the notifier within a second) and returns the notification; its delivery shows in channel_deliveries().';

CREATE FUNCTION camera_health.channel_deliveries(channel_id bigint, max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.deliveries
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	PERFORM camera_health.check_max_rows(max_rows);
	RETURN QUERY SELECT d.* FROM camera_health.deliveries d WHERE d.channel_id = channel_deliveries.channel_id
		ORDER BY d.id DESC LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.channel_deliveries(bigint, integer) IS
'The delivery log of a channel, newest first: each attempt with its status, response code or error, and duration; at most max_rows (1 to 10000).';

/*
 * For the notifier: what may be sent now.  Per channel, the lowest
 * max_in_flight pending sequence numbers, in order, once the channel's
 * first pending one is due (a notification in backoff holds back the ones
 * after it: a channel's notifications arrive in order); without those
 * already in flight (exclude).  The payload is ready to send.
 */
CREATE FUNCTION camera_health.next_notifications(exclude bigint[], max_in_flight integer, max_rows integer)
RETURNS TABLE (notification_id bigint, channel_id bigint, sequence bigint, kind text, target text,
			   secret text, email_from text, email_to text, payload text, attempts integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT p.id, p.channel_id, p.sequence, ch.kind, ch.target, ch.secret, ch.email_from,
		   array_to_string(ch.email_to, E'\n'),
		   CASE ch.kind
			   WHEN 'webhook' THEN p.body::text
			   WHEN 'slack' THEN jsonb_build_object('text', p.text_body)::text
			   ELSE concat_ws(E'\r\n',
					'From: ' || ch.email_from,
					'To: ' || array_to_string(ch.email_to, ', '),
					'Subject: [camera_health] ' || regexp_replace(p.summary, '[[:cntrl:]]+', ' ', 'g'),
					'Date: ' || to_char(p.created_at AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000',
					'Message-ID: <camera-health-' || p.id || '@camera-health.invalid>',
					'X-Camera-Health-Notification: ' || p.id,
					'X-Camera-Health-Sequence: ' || p.sequence,
					'MIME-Version: 1.0',
					'Content-Type: text/plain; charset=utf-8',
					'',
					replace(p.text_body, E'\n', E'\r\n'), '') END,
		   p.attempts
	-- (per channel, a few rows of the pending index: not all that is queued)
	FROM camera_health.channels ch
	CROSS JOIN LATERAL (SELECT n.* FROM camera_health.notifications n
						WHERE n.channel_id = ch.id AND n.state = 'pending'
						ORDER BY n.sequence LIMIT max_in_flight) p
	WHERE (SELECT h.next_attempt_at FROM camera_health.notifications h
		   WHERE h.channel_id = ch.id AND h.state = 'pending' ORDER BY h.sequence LIMIT 1) <= now()
	  AND p.next_attempt_at <= now() AND p.id <> ALL (coalesce(exclude, '{}'))
	ORDER BY p.channel_id, p.sequence
	LIMIT max_rows;
END;
COMMENT ON FUNCTION camera_health.next_notifications(bigint[], integer, integer) IS
'For the notifier worker: the pending notifications to start now, with their payload, at most max_in_flight per channel, in sequence order.';

/*
 * For the notifier: one attempt's outcome.  Accepted: sent.  Refused for
 * good (an HTTP 4xx other than 408 and 429), or pending for longer than
 * max_age: failed, set aside.  Otherwise retried after 1 s, 2 s, 4 s, ...
 * up to retry_max.
 */
CREATE FUNCTION camera_health.record_delivery(notification_id bigint, started_at timestamptz, duration_ms double precision,
											  ok boolean, response_code integer, error text,
											  retry_max interval, max_age interval)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n camera_health.notifications;
	permanent boolean := NOT ok AND response_code BETWEEN 400 AND 499 AND response_code NOT IN (408, 429);
BEGIN
	UPDATE camera_health.notifications x SET attempts = x.attempts + 1
	WHERE x.id = record_delivery.notification_id AND x.state = 'pending'
	RETURNING x.* INTO n;
	IF NOT FOUND THEN
		RETURN NULL;			-- deleted with its channel meanwhile
	END IF;
	INSERT INTO camera_health.deliveries (notification_id, channel_id, attempt, started_at, duration_ms, status, response_code, error)
	VALUES (n.id, n.channel_id, n.attempts, started_at, duration_ms, CASE WHEN ok THEN 'ok' ELSE 'error' END,
			response_code, left(camera_health.mask_text(error), 1000));
	IF ok THEN
		UPDATE camera_health.notifications x SET state = 'sent', sent_at = clock_timestamp(), last_error = NULL WHERE x.id = n.id;
		RETURN 'sent';
	ELSIF permanent OR n.created_at < clock_timestamp() - max_age THEN
		UPDATE camera_health.notifications x SET state = 'failed', last_error = left(camera_health.mask_text(error), 1000)
		WHERE x.id = n.id;
		RETURN 'failed';
	END IF;
	UPDATE camera_health.notifications x
	SET next_attempt_at = clock_timestamp() + least(retry_max, interval '1 second' * power(2, least(n.attempts - 1, 20))),
		last_error = left(camera_health.mask_text(error), 1000)
	WHERE x.id = n.id;
	RETURN 'retry';
END
$$;
COMMENT ON FUNCTION camera_health.record_delivery(bigint, timestamptz, double precision, boolean, integer, text, interval, interval) IS
'For the notifier worker: logs one delivery attempt and marks the notification sent, failed (refused for good, or too old) or due again after an exponential backoff; returns which.';

/* For the notifier: the delivery log's retention. */
CREATE FUNCTION camera_health.prune_notifications(keep interval)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	total bigint := 0;
BEGIN
	DELETE FROM camera_health.deliveries d WHERE d.started_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.notifications x WHERE x.state <> 'pending' AND x.created_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.alert_events e WHERE e.planned_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.maintenance_windows w WHERE w.ends_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	RETURN total;
END
$$;
COMMENT ON FUNCTION camera_health.prune_notifications(interval) IS
'For the notifier worker: deletes delivery attempts, delivered or failed notifications, planned alert events and maintenance windows older than keep; returns how many rows.';

/* ---- maintenance API ------------------------------------------------------ */

CREATE FUNCTION camera_health.add_maintenance(
	starts_at timestamptz,
	ends_at timestamptz,
	camera_id bigint DEFAULT NULL,
	site text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.maintenance_windows;
BEGIN
	IF starts_at IS NULL OR ends_at IS NULL THEN
		RAISE EXCEPTION 'starts_at and ends_at must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF ends_at <= starts_at OR NOT isfinite(starts_at) OR NOT isfinite(ends_at) THEN
		RAISE EXCEPTION 'a maintenance window must end after it starts'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('From %s to %s.', starts_at, ends_at);
	END IF;
	IF camera_id IS NOT NULL THEN
		PERFORM camera_health.require_camera(camera_id);
	END IF;
	IF site = '' OR length(site) > 200 OR length(reason) > 1000 THEN
		RAISE EXCEPTION 'site must be 1 to 200 characters and reason at most 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO camera_health.maintenance_windows AS w (starts_at, ends_at, camera_id, site, reason)
	VALUES (starts_at, ends_at, camera_id, site, reason)
	RETURNING w.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.add_maintenance(timestamptz, timestamptz, bigint, text, text) IS
'Adds a maintenance window for one camera, one site, or (both NULL) the whole fleet: checks run and alerts are recorded, nothing is notified until it ends; returns it.';

CREATE FUNCTION camera_health.list_maintenance(only_current boolean DEFAULT false)
RETURNS SETOF camera_health.maintenance_windows
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.maintenance_windows w
	WHERE NOT coalesce(only_current, false) OR w.ends_at > now()
	ORDER BY w.starts_at, w.id;
END;
COMMENT ON FUNCTION camera_health.list_maintenance(boolean) IS
'Maintenance windows by start; only_current keeps those not yet over (running or to come).';

CREATE FUNCTION camera_health.end_maintenance(maintenance_id bigint)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.maintenance_windows;
BEGIN
	IF maintenance_id IS NULL THEN
		RAISE EXCEPTION 'maintenance_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a window not yet started is shortened to nothing: it ends where it starts
	UPDATE camera_health.maintenance_windows w
	SET ends_at = greatest(least(w.ends_at, now()), w.starts_at + interval '1 microsecond'),
		ended_early_at = CASE WHEN w.ends_at > now() THEN now() ELSE w.ended_early_at END
	WHERE w.id = maintenance_id
	RETURNING w.* INTO result;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'maintenance window % does not exist', maintenance_id
			USING ERRCODE = 'no_data_found', HINT = 'list_maintenance() shows the windows.';
	END IF;
	PERFORM camera_health.wake_notifier();
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.end_maintenance(bigint) IS
'Ends a maintenance window now (what still fails is notified at once) and returns it; a window already over is returned unchanged.';

/* ---- privileges ----------------------------------------------------------- */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;
REVOKE ALL ON camera_health.channels, camera_health.channels_id_seq FROM PUBLIC;
GRANT SELECT ON camera_health.channel_list, camera_health.maintenance_windows, camera_health.alert_events,
	camera_health.notifications, camera_health.deliveries TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.list_channels(),
	camera_health.mask_channel_target(text, text),
	camera_health.url_origin(text),
	camera_health.require_channel(bigint),
	camera_health.channel_deliveries(bigint, integer),
	camera_health.list_maintenance(boolean),
	camera_health.in_maintenance(bigint, text, timestamptz),
	camera_health.severity_rank(text)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.add_channel(text, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean),
	camera_health.update_channel(bigint, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean),
	camera_health.delete_channel(bigint),
	camera_health.test_channel(bigint),
	camera_health.add_maintenance(timestamptz, timestamptz, bigint, text, text),
	camera_health.end_maintenance(bigint)
	TO camera_health_writer;

/* ------------------------------------------------------------------------
 * The HTTP API of notifications (issue 10): channels and maintenance
 * windows in camera_health_api, as thin wrappers over camera_health's
 * functions (see sql/09_http_api.sql for the conventions: P0002 is a 404,
 * a request body is a JSON object checked field by field; readers list,
 * writers change).
 * ------------------------------------------------------------------------ */

/* ---- channels ------------------------------------------------------------- */

CREATE FUNCTION camera_health_api.add_channel(jsonb)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := $1;
	args text := camera_health.http_call_args(body,
		ARRAY['kind', 'target', 'min_severity', 'sites', 'alert_types', 'tags', 'escalate_after', 'repeat_interval',
			  'secret', 'email_from', 'email_to', 'name', 'enabled'],
		ARRAY['text', 'text', 'text', 'text[]', 'text[]', 'text[]', 'interval', 'interval',
			  'text', 'text', 'text[]', 'text', 'boolean']);
	result camera_health.channel_list;
BEGIN
	IF NOT body ? 'kind' OR NOT body ? 'target' THEN
		RAISE EXCEPTION 'kind and target must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'A channel needs at least {"kind": "webhook", "target": "https://..."}.';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.add_channel(%s)', args) INTO result USING body;
	PERFORM set_config('response.status', '201', true);
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health_api.add_channel(jsonb) IS
'Adds a notification channel: the body is {"kind" (webhook, slack, email), "target" (URL), "min_severity" (warning), "sites", "alert_types", "tags" (arrays), "escalate_after", "repeat_interval" (intervals), "secret" (webhook HMAC key), "email_from", "email_to" (array), "name", "enabled"}. Answers 201 with the channel.';

CREATE FUNCTION camera_health_api.update_channel(channel_id bigint, changes jsonb)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := changes;
	args text := camera_health.http_call_args(body,
		ARRAY['target', 'min_severity', 'sites', 'alert_types', 'tags', 'escalate_after', 'repeat_interval',
			  'secret', 'email_from', 'email_to', 'name', 'enabled'],
		ARRAY['text', 'text', 'text[]', 'text[]', 'text[]', 'interval', 'interval',
			  'text', 'text', 'text[]', 'text', 'boolean']);
	result camera_health.channel_list;
	msg text; det text; hnt text;
BEGIN
	EXECUTE format('SELECT * FROM camera_health.update_channel(channel_id => $2%s)', ', ' || nullif(args, ''))
	INTO result USING body, channel_id;
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.update_channel(bigint, jsonb) IS
'Changes the fields of a channel given in changes (as for add_channel; a field left out is kept, "" clears name or secret, [] a filter, "0" an interval) and returns it.';

CREATE FUNCTION camera_health_api.delete_channel(channel_id bigint)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.delete_channel(channel_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.delete_channel(bigint) IS
'Deletes a channel with its queued notifications and delivery log, and returns it.';

CREATE FUNCTION camera_health_api.list_channels()
RETURNS SETOF camera_health.channel_list
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.list_channels();
END;
COMMENT ON FUNCTION camera_health_api.list_channels() IS
'All notification channels by id; targets and secrets masked for readers.';

CREATE FUNCTION camera_health_api.test_channel(channel_id bigint)
RETURNS camera_health.notifications
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.test_channel(channel_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.test_channel(bigint) IS
'Queues a test message to a channel and returns the notification; channel_deliveries shows how its delivery went.';

CREATE FUNCTION camera_health_api.channel_deliveries(channel_id bigint, max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.deliveries
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.channel_deliveries(channel_id, max_rows);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.channel_deliveries(bigint, integer) IS
'The delivery log of a channel, newest first (status, response code or error, duration); at most max_rows (1 to 10000).';

/* ---- maintenance windows -------------------------------------------------- */

CREATE FUNCTION camera_health_api.add_maintenance(jsonb)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	args text := camera_health.http_call_args($1,
		ARRAY['starts_at', 'ends_at', 'camera_id', 'site', 'reason'],
		ARRAY['timestamptz', 'timestamptz', 'bigint', 'text', 'text']);
	result camera_health.maintenance_windows;
	msg text; det text; hnt text;
BEGIN
	IF NOT $1 ? 'starts_at' OR NOT $1 ? 'ends_at' THEN
		RAISE EXCEPTION 'starts_at and ends_at must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.add_maintenance(%s)', args) INTO result USING $1;
	PERFORM set_config('response.status', '201', true);
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.add_maintenance(jsonb) IS
'Adds a maintenance window: the body is {"starts_at", "ends_at", "camera_id", "site", "reason"} (neither camera_id nor site: the whole fleet). Answers 201 with the window.';

CREATE FUNCTION camera_health_api.list_maintenance(only_current boolean DEFAULT false)
RETURNS SETOF camera_health.maintenance_windows
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.list_maintenance(only_current);
END;
COMMENT ON FUNCTION camera_health_api.list_maintenance(boolean) IS
'Maintenance windows by start; only_current keeps those running or to come.';

CREATE FUNCTION camera_health_api.end_maintenance(maintenance_id bigint)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.end_maintenance(maintenance_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.end_maintenance(bigint) IS
'Ends a maintenance window now (what still fails is notified at once) and returns it.';

/* ---- privileges ----------------------------------------------------------- */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health_api.list_channels(),
	camera_health_api.channel_deliveries(bigint, integer),
	camera_health_api.list_maintenance(boolean)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health_api.add_channel(jsonb),
	camera_health_api.update_channel(bigint, jsonb),
	camera_health_api.delete_channel(bigint),
	camera_health_api.test_channel(bigint),
	camera_health_api.add_maintenance(jsonb),
	camera_health_api.end_maintenance(bigint)
	TO camera_health_writer;

/* ------------------------------------------------------------------------
 * Day and night (issue 11): a reference frame per lighting mode
 *
 * A camera that switches to infrared at night sees a grey, noisier,
 * differently lit picture: judged against its colour reference it would
 * look blurred, covered or moved every evening.  So a camera keeps one
 * reference per mode; visionproc tells the mode of each frame from its
 * colour, judges it against the reference of that mode, and takes the
 * first good frame of a mode as that mode's reference.  The scheduler
 * mirrors every mode into Redis: reference:{id} for day (the key of 1.0),
 * reference:{id}:ir for infrared.  References of 1.0 become day ones.
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.camera_mode AS text
	CHECK (VALUE IN ('day', 'ir'));
COMMENT ON DOMAIN camera_health.camera_mode IS
'A camera''s lighting mode: day (a colour picture) or ir (infrared, a grey picture: at night). Each mode has a reference frame of its own.';

ALTER TABLE camera_health.camera_references
	ADD COLUMN mode camera_health.camera_mode NOT NULL DEFAULT 'day';
ALTER TABLE camera_health.camera_references
	DROP CONSTRAINT camera_references_pkey,
	ADD CONSTRAINT camera_references_pkey PRIMARY KEY (camera_id, mode);
COMMENT ON TABLE camera_health.camera_references IS
'The reference frames of each camera, one per lighting mode, against which blur, obstruction and displacement of the frames of that mode are judged.';
COMMENT ON COLUMN camera_health.camera_references.mode IS
'The lighting mode the frame was taken in (day or ir); the references of version 1.0 are day ones.';

COMMENT ON FUNCTION camera_health.reset_reference(bigint) IS
'Drops the camera''s reference frames of every lighting mode (day and ir): the next good frame of each mode becomes its new one (after re-aiming or re-focusing a camera). True when there was at least one.';
COMMENT ON FUNCTION camera_health_api.reset_reference(bigint) IS
'Drops the camera''s reference frames of every lighting mode (day and ir), so that the next good frame of each mode becomes its new one (after re-aiming or re-focusing); reference_dropped says whether there was at least one.';

/* ------------------------------------------------------------------------
 * Evidence (issue 11): small JPEG pictures of snapshots, references and
 * vision alerts (sql/13_evidence.sql)
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Evidence: small JPEG pictures of what the vision checks saw
 *
 * visionproc sends, with each vision result that had a frame, a picture of
 * the analysed frame (about 320 pixels wide, in colour when the stream has
 * colour; field jpeg of results:vision).  The ingest worker stores it, in
 * the transaction of the result, through record_frame():
 *  - as the camera's snapshot: one row per camera, overwritten;
 *  - as its reference's picture when that frame became the reference;
 *  - as the evidence of each vision alert (blur, obstruction, displacement,
 *    frozen) that this very result opened.
 * Storage is bounded: one snapshot and one reference picture (per mode) per
 * camera, one picture per vision alert, each at most 64 kB (the domain
 * below; the ingest worker drops anything else before it gets here).  The
 * evidence is a row of its alert: deleted with it (ON DELETE CASCADE), so
 * retention removes both at once.
 *
 * The pictures are camera imagery: readers have no privilege on these
 * tables (nor on camera_references); they get one picture at a time through
 * the functions below, as SQL (bytea) or over HTTP (image/jpeg).
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.jpeg AS bytea
	CONSTRAINT jpeg_plausible CHECK (length(VALUE) BETWEEN 4 AND 65536
									 AND substr(VALUE, 1, 2) = '\xffd8'::bytea
									 AND substr(VALUE, length(VALUE) - 1, 2) = '\xffd9'::bytea);
COMMENT ON DOMAIN camera_health.jpeg IS
'One JPEG picture of at most 64 kB: starts with SOI (FF D8), ends with EOI (FF D9). The ingest worker makes the same check (common/jpeg_check.h).';

/*
 * Overwritten at every vision check of the camera: the row is small (the
 * picture lives in the TOAST table), and fillfactor leaves room on its page
 * for the new version, so that the update is HOT (no index entry).  JPEG
 * does not compress: EXTERNAL storage spares the attempt.
 */
CREATE TABLE camera_health.snapshots (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL
) WITH (fillfactor = 50);
ALTER TABLE camera_health.snapshots ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.snapshots IS 'The picture of each camera''s latest analysed frame (read it with camera_snapshot()).';
COMMENT ON COLUMN camera_health.snapshots.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.snapshots.taken_at IS 'When the check that grabbed the frame ran.';
COMMENT ON COLUMN camera_health.snapshots.jpeg IS 'The frame, about 320 pixels wide, as JPEG.';

/*
 * The picture of each camera's reference frame, one per lighting mode as
 * the references themselves (camera_references.mode).  A reference dropped
 * (reset_reference) takes its picture with it (trigger
 * reference_pictures_follow); a new one brings its own.
 */
CREATE TABLE camera_health.reference_pictures (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	mode camera_health.camera_mode NOT NULL DEFAULT 'day',
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL,
	PRIMARY KEY (camera_id, mode)
);
ALTER TABLE camera_health.reference_pictures ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.reference_pictures IS 'The picture of each camera''s reference frame, per lighting mode (read it with reference_picture()).';
COMMENT ON COLUMN camera_health.reference_pictures.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.reference_pictures.mode IS 'The lighting mode of the reference: day (colour) or ir (infrared).';
COMMENT ON COLUMN camera_health.reference_pictures.taken_at IS 'When the reference frame was grabbed.';
COMMENT ON COLUMN camera_health.reference_pictures.jpeg IS 'The reference frame, about 320 pixels wide, as JPEG.';

/* The frame that opened each vision alert: a part of the alert, deleted with it. */
CREATE TABLE camera_health.alert_evidence (
	camera_id bigint NOT NULL,
	alert_id bigint NOT NULL,
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL,
	PRIMARY KEY (camera_id, alert_id),
	FOREIGN KEY (camera_id, alert_id) REFERENCES camera_health.alerts (camera_id, id) ON DELETE CASCADE
);
ALTER TABLE camera_health.alert_evidence ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.alert_evidence IS 'The picture of the frame that opened each vision alert; deleted with its alert (retention, camera deletion). Read it with alert_evidence().';
COMMENT ON COLUMN camera_health.alert_evidence.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.alert_evidence.alert_id IS 'The alert (blur, obstruction, displacement or frozen).';
COMMENT ON COLUMN camera_health.alert_evidence.taken_at IS 'When the check that opened the alert ran (the alert''s created_at).';
COMMENT ON COLUMN camera_health.alert_evidence.jpeg IS 'The frame, about 320 pixels wide, as JPEG.';

REVOKE ALL ON camera_health.snapshots, camera_health.reference_pictures, camera_health.alert_evidence FROM PUBLIC;

/* A dropped reference takes its picture along (the picture of the same mode). */
CREATE FUNCTION camera_health.reference_pictures_follow()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM camera_health.reference_pictures p WHERE p.camera_id = OLD.camera_id AND p.mode = OLD.mode;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION camera_health.reference_pictures_follow() IS
'Trigger: deletes the pictures of a camera''s reference when its reference frame is deleted (reset_reference).';
CREATE TRIGGER reference_pictures_follow
	AFTER DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.reference_pictures_follow();

/*
 * For the ingest worker, after record_results in the same transaction:
 * stores the picture of one vision result's analysed frame.  result is the
 * result as given to record_results (its camera_id and checked_ms say whose
 * frame and when, computed as record_results does, so that an alert opened
 * by this result has created_at equal to it); is_reference says that its
 * frame has just become the camera's reference.  Results of unknown or
 * disabled cameras are dropped, as record_results drops them; an older
 * result (a backlog) does not overwrite a newer snapshot.
 */
CREATE FUNCTION camera_health.record_frame(result jsonb, jpeg camera_health.jpeg, is_reference boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cam bigint;
	at timestamptz;
BEGIN
	IF jpeg IS NULL OR jsonb_typeof(result) IS DISTINCT FROM 'object' THEN
		RETURN;
	END IF;
	SELECT x.camera_id, to_timestamp(x.checked_ms / 1000.0) INTO cam, at
	FROM jsonb_to_record(result) AS x(camera_id bigint, check_type text, checked_ms double precision)
	WHERE x.check_type = 'vision';
	PERFORM FROM camera_health.cameras c WHERE c.id = cam AND c.enabled;
	IF NOT FOUND OR at IS NULL THEN
		RETURN;
	END IF;

	INSERT INTO camera_health.snapshots AS s (camera_id, taken_at, jpeg)
	VALUES (cam, at, jpeg)
	ON CONFLICT (camera_id) DO UPDATE SET taken_at = excluded.taken_at, jpeg = excluded.jpeg
	WHERE s.taken_at <= excluded.taken_at;

	IF is_reference THEN
		-- the mode the result's reference was taken in (visionproc says; anything else is day)
		INSERT INTO camera_health.reference_pictures AS p (camera_id, mode, taken_at, jpeg)
		VALUES (cam, CASE WHEN result #>> '{metadata,reference,mode}' = 'ir' THEN 'ir' ELSE 'day' END, at, jpeg)
		ON CONFLICT (camera_id, mode) DO UPDATE SET taken_at = excluded.taken_at, jpeg = excluded.jpeg;
	END IF;

	-- the vision alerts this result opened (an alert's created_at is the time of its opening result)
	INSERT INTO camera_health.alert_evidence (camera_id, alert_id, taken_at, jpeg)
	SELECT a.camera_id, a.id, at, jpeg
	FROM camera_health.alerts a
	WHERE a.camera_id = cam AND a.resolved_at IS NULL AND a.created_at = at
	  AND a.alert_type IN ('blur', 'obstruction', 'displacement', 'frozen')
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION camera_health.record_frame(jsonb, camera_health.jpeg, boolean) IS
'For the ingest worker: stores the picture of a vision result''s frame as the camera''s snapshot, as its reference''s picture (is_reference) and as the evidence of the vision alerts the result opened.';

/* ---- reading the pictures ------------------------------------------------ */

CREATE FUNCTION camera_health.camera_snapshot(camera_id bigint)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT s.jpeg INTO picture FROM camera_health.snapshots s WHERE s.camera_id = camera_snapshot.camera_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'camera % has no snapshot yet', camera_id
			USING ERRCODE = 'no_data_found',
				  HINT = 'A snapshot is taken by each vision check that gets a frame: the camera needs an rtsp_url and a check that succeeded.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.camera_snapshot(bigint) IS
'The picture (JPEG, about 320 pixels wide) of the camera''s latest analysed frame. Raises no_data_found (P0002) for an unknown camera or one without a snapshot yet.';

CREATE FUNCTION camera_health.reference_picture(camera_id bigint, mode text DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF mode IS NOT NULL AND mode NOT IN ('day', 'ir') THEN
		RAISE EXCEPTION 'invalid mode: %', mode
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The modes are day and ir; NULL for the newest reference.';
	END IF;
	SELECT p.jpeg INTO picture FROM camera_health.reference_pictures p
	WHERE p.camera_id = reference_picture.camera_id AND (reference_picture.mode IS NULL OR p.mode = reference_picture.mode)
	ORDER BY p.taken_at DESC
	LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'camera % has no reference picture%', camera_id, coalesce(' for mode ' || mode, '')
			USING ERRCODE = 'no_data_found',
				  HINT = 'The picture is taken with the reference frame: after reset_reference(), the next good frame brings both.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.reference_picture(bigint, text) IS
'The picture (JPEG) of the camera''s reference frame: of one mode (day, ir), or the newest when mode is NULL. Raises no_data_found (P0002) for an unknown camera or one without a reference picture.';

CREATE FUNCTION camera_health.alert_evidence(alert_id bigint, camera_id bigint DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	IF alert_id IS NULL THEN
		RAISE EXCEPTION 'alert_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF camera_id IS NOT NULL THEN
		PERFORM camera_health.require_camera(camera_id);
	END IF;
	PERFORM FROM camera_health.alerts a
	WHERE a.id = alert_evidence.alert_id AND (alert_evidence.camera_id IS NULL OR a.camera_id = alert_evidence.camera_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION '%', CASE WHEN camera_id IS NULL THEN format('alert %s does not exist', alert_id)
								  ELSE format('alert %s of camera %s does not exist', alert_id, camera_id) END
			USING ERRCODE = 'no_data_found', HINT = 'camera_alerts() shows the alerts of a camera.';
	END IF;
	SELECT e.jpeg INTO picture FROM camera_health.alert_evidence e
	JOIN camera_health.alerts a ON a.camera_id = e.camera_id AND a.id = e.alert_id
	WHERE a.id = alert_evidence.alert_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'alert % has no evidence', alert_id
			USING ERRCODE = 'no_data_found',
				  DETAIL = 'Only vision alerts (blur, obstruction, displacement, frozen) opened by a check that had a frame have one.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.alert_evidence(bigint, bigint) IS
'The picture (JPEG) of the frame that opened a vision alert; with camera_id, only an alert of that camera. Raises no_data_found (P0002) for an unknown camera or alert, or an alert without evidence.';

/*
 * What pictures a camera has, without the pictures: for a list or a page
 * to know which URLs answer (and for measuring storage).
 */
CREATE FUNCTION camera_health.camera_pictures(camera_id bigint)
RETURNS TABLE (kind text, mode text, alert_id bigint, taken_at timestamptz, bytes integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	RETURN QUERY
	SELECT 'snapshot', NULL::text, NULL::bigint, s.taken_at, length(s.jpeg)
	FROM camera_health.snapshots s WHERE s.camera_id = camera_pictures.camera_id
	UNION ALL
	SELECT 'reference', p.mode, NULL::bigint, p.taken_at, length(p.jpeg)
	FROM camera_health.reference_pictures p WHERE p.camera_id = camera_pictures.camera_id
	UNION ALL
	(SELECT 'evidence', NULL::text, e.alert_id, e.taken_at, length(e.jpeg)
	 FROM camera_health.alert_evidence e WHERE e.camera_id = camera_pictures.camera_id
	 ORDER BY e.alert_id);
END
$$;
COMMENT ON FUNCTION camera_health.camera_pictures(bigint) IS
'The pictures kept of a camera (kind snapshot, reference or evidence, with the mode or the alert, when taken and their size in bytes), without the pictures themselves.';

REVOKE ALL ON FUNCTION camera_health.reference_pictures_follow(),
	camera_health.record_frame(jsonb, camera_health.jpeg, boolean),
	camera_health.camera_snapshot(bigint),
	camera_health.reference_picture(bigint, text),
	camera_health.alert_evidence(bigint, bigint),
	camera_health.camera_pictures(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health.camera_snapshot(bigint),
	camera_health.reference_picture(bigint, text),
	camera_health.alert_evidence(bigint, bigint),
	camera_health.camera_pictures(bigint)
	TO camera_health_reader;

/* ---- over HTTP: image/jpeg ------------------------------------------------ */

/*
 * PostgREST (12) answers a function returning this domain with its body as
 * it is and Content-Type image/jpeg, for requests that accept image/jpeg
 * (nginx's /health/camera/{id}/snapshot and the like send that Accept).
 */
CREATE DOMAIN camera_health_api."image/jpeg" AS bytea;
COMMENT ON DOMAIN camera_health_api."image/jpeg" IS
'A JPEG picture as an HTTP body: PostgREST serves a function returning it as Content-Type image/jpeg.';

CREATE FUNCTION camera_health_api.camera_snapshot(camera_id bigint)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.camera_snapshot(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_snapshot(bigint) IS
'The picture of the camera''s latest analysed frame, as image/jpeg (GET /health/camera/{id}/snapshot); 404 when there is none.';

CREATE FUNCTION camera_health_api.reference_picture(camera_id bigint, mode text DEFAULT NULL)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.reference_picture(camera_id, mode);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.reference_picture(bigint, text) IS
'The picture of the camera''s reference frame (of one mode, or the newest), as image/jpeg (GET /health/camera/{id}/reference); 404 when there is none.';

CREATE FUNCTION camera_health_api.alert_evidence(alert_id bigint, camera_id bigint DEFAULT NULL)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.alert_evidence(alert_id, camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.alert_evidence(bigint, bigint) IS
'The picture of the frame that opened a vision alert, as image/jpeg (GET /health/camera/{id}/alerts/{alert_id}/evidence); 404 when there is none.';

CREATE FUNCTION camera_health_api.camera_pictures(camera_id bigint)
RETURNS TABLE (kind text, mode text, alert_id bigint, taken_at timestamptz, bytes integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_pictures(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_pictures(bigint) IS
'The pictures kept of a camera, without the pictures (GET /health/camera/{id}/pictures): kind, mode or alert, when taken, size.';

REVOKE ALL ON FUNCTION camera_health_api.camera_snapshot(bigint),
	camera_health_api.reference_picture(bigint, text),
	camera_health_api.alert_evidence(bigint, bigint),
	camera_health_api.camera_pictures(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health_api.camera_snapshot(bigint),
	camera_health_api.reference_picture(bigint, text),
	camera_health_api.alert_evidence(bigint, bigint),
	camera_health_api.camera_pictures(bigint)
	TO camera_health_reader;

-- pg_dump keeps an alert's evidence with the alert history.
SELECT pg_catalog.pg_extension_config_dump('camera_health.alert_evidence', '');

-- issue 11: references carry a focus map after their pixels
COMMENT ON COLUMN camera_health.camera_references.image IS 'The grey analysis image: "GREY <width> <height>" and a newline, then one byte per pixel; since 1.1 usually followed by the focus map measured at the camera''s own resolution (see valid_reference).';

/* ------------------------------------------------------------------------
 * Compact check history (issue 12)
 *
 * 1.0 kept one row per check in health_logs (and one per answered probe in
 * camera_latency): some 530 bytes per network check with the indexes, most
 * of it a jsonb repeating what the previous check said.  1.1 keeps history
 * in two tiers, as TimescaleDB's compression does:
 *  - check_recent: the checks of the current hour, a narrow row each, as
 *    ingest writes them (one INSERT and one index entry per check);
 *  - check_history: older checks, those of one camera, check type and hour
 *    in one row (a chunk), packed once when the hour is over by
 *    pack_history() (the ingest worker calls it every few seconds, a group
 *    of cameras at a time, and the retention worker before each pass):
 *      at_ms, status, latency_us, lateness_ms, duration_ms: one element per
 *        check: milliseconds after the hour, one letter of status (o ok,
 *        w warning, c critical, e error), the round trip in microseconds,
 *        the prober's timing in milliseconds (each NULL when absent);
 *      metadata: one element per check, NULL for a healthy check that says
 *        what the chunk's template says.  What a healthy check measured is
 *        its latency; what a failing or changed one says is kept in full.
 *        The template is the metadata of the chunk's first ok check without
 *        its latency and timing, which the arrays keep; readers get every
 *        check's metadata back as it was written.
 *    A chunk of an hour of ip checks at 30 s is some 1 kB, under the TOAST
 *    threshold; longer ones (vision metadata) are compressed by TOAST.
 * health_logs and camera_latency are views of both tiers with their 1.0
 * columns.  A packed check's log id is its chunk's id times 65536 plus its
 * place in the chunk (chunk ids start at 2^31, above every id a check of
 * check_recent has): the id of a check changes once, when it is packed.
 * check_history is partitioned by day of `hour` as the 1.0 tables were by
 * created_at; the retention worker drops whole days and deletes whole
 * expired chunks, so a camera's history is kept to the hour.
 * ------------------------------------------------------------------------ */

-- 1.0's functions that return or name the 1.0 tables go first (recreated below)
DROP FUNCTION camera_health_api.camera_logs(bigint, text, timestamptz, integer);
DROP FUNCTION camera_health.camera_logs(bigint, text, timestamptz, integer);

CREATE SEQUENCE camera_health.check_history_id_seq START WITH 2147483648 MINVALUE 2147483648;
CREATE TABLE camera_health.check_history (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	hour timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
	check_type text NOT NULL CHECK (check_type IN ('ip', 'port', 'vision')),
	id bigint NOT NULL DEFAULT nextval('camera_health.check_history_id_seq'),
	n integer NOT NULL CHECK (n BETWEEN 1 AND 65535),
	at_ms integer[] NOT NULL,
	status "char"[] NOT NULL,
	latency_us integer[] NOT NULL,
	lateness_ms smallint[] NOT NULL,
	duration_ms smallint[] NOT NULL,
	metadata jsonb[] NOT NULL,
	template jsonb,
	PRIMARY KEY (camera_id, hour, check_type),
	CHECK (cardinality(at_ms) = n AND cardinality(status) = n AND cardinality(latency_us) = n
		   AND cardinality(lateness_ms) = n AND cardinality(duration_ms) = n AND cardinality(metadata) = n)
) PARTITION BY RANGE (hour);
ALTER SEQUENCE camera_health.check_history_id_seq OWNED BY camera_health.check_history.id;
-- retention deletes whole hours across all cameras: a BRIN index is tiny for time-ordered data
CREATE INDEX check_history_hour_brin ON camera_health.check_history USING brin (hour);
CREATE TABLE camera_health.check_history_default
	PARTITION OF camera_health.check_history DEFAULT;
COMMENT ON TABLE camera_health.check_history IS
'The checks of each camera, check type and hour, packed in one row (read them through camera_logs(), health_logs or camera_latency).';
COMMENT ON COLUMN camera_health.check_history.camera_id IS 'The camera checked.';
COMMENT ON COLUMN camera_health.check_history.hour IS 'The UTC hour the checks ran in.';
COMMENT ON COLUMN camera_health.check_history.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.check_history.id IS 'Chunk id: the log id of its k-th check is id * 65536 + k.';
COMMENT ON COLUMN camera_health.check_history.n IS 'How many checks the chunk holds (at most 65535).';
COMMENT ON COLUMN camera_health.check_history.at_ms IS 'When each check ran, in milliseconds after hour; in arrival order.';
COMMENT ON COLUMN camera_health.check_history.status IS 'The status of each check, a letter each: o ok, w warning, c critical, e error.';
COMMENT ON COLUMN camera_health.check_history.latency_us IS 'The round trip of each check in microseconds, NULL without one.';
COMMENT ON COLUMN camera_health.check_history.lateness_ms IS 'The prober''s lateness_ms of each check (how late it started), NULL when its metadata keeps it or has none.';
COMMENT ON COLUMN camera_health.check_history.duration_ms IS 'The duration_ms of each check, NULL when its metadata keeps it or has none.';
COMMENT ON COLUMN camera_health.check_history.metadata IS 'What each check said, without what the arrays give back; NULL for a healthy check that says what template says.';
COMMENT ON COLUMN camera_health.check_history.template IS 'What the chunk''s healthy checks say (without latency and the prober''s timing).';

CREATE SEQUENCE camera_health.check_recent_id_seq MAXVALUE 140737488355327;
CREATE TABLE camera_health.check_recent (
	id bigint NOT NULL DEFAULT nextval('camera_health.check_recent_id_seq'),
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	check_type text NOT NULL CHECK (check_type IN ('ip', 'port', 'vision')),
	status text NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'error')),
	latency_us integer CHECK (latency_us >= 0),
	metadata jsonb NOT NULL DEFAULT '{}',
	checked_at timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE camera_health.check_recent_id_seq OWNED BY camera_health.check_recent.id;
-- serves camera_logs() and pack_history() (a camera's checks before an hour)
CREATE INDEX check_recent_camera_idx ON camera_health.check_recent (camera_id, checked_at);
COMMENT ON TABLE camera_health.check_recent IS
'The checks not packed into check_history yet (those of the current hour), a row each.';
COMMENT ON COLUMN camera_health.check_recent.id IS 'Log id until the check is packed (below 2^47).';
COMMENT ON COLUMN camera_health.check_recent.camera_id IS 'The camera checked.';
COMMENT ON COLUMN camera_health.check_recent.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.check_recent.status IS 'ok, warning, critical, or error when the check itself could not run.';
COMMENT ON COLUMN camera_health.check_recent.latency_us IS 'The round trip in microseconds, NULL without one.';
COMMENT ON COLUMN camera_health.check_recent.metadata IS 'What the check measured, as it was written.';
COMMENT ON COLUMN camera_health.check_recent.checked_at IS 'When the check ran.';

/* ---- the encoding of a chunk, shared by ingest, the views and the upgrade -- */

/*
 * Small SQL-standard functions (RETURN ...) without SET search_path: their
 * bodies are parsed when created, under the extension script's search_path,
 * so the caller's search_path plays no part; and without a SET clause the
 * planner inlines them into the queries that use them instead of calling
 * them once per check.  pack_chunk() below (C) applies the packing rules.
 */

CREATE FUNCTION camera_health.status_name(letter "char")
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE letter WHEN 'o' THEN 'ok' WHEN 'w' THEN 'warning' WHEN 'c' THEN 'critical' WHEN 'e' THEN 'error' END;
COMMENT ON FUNCTION camera_health.status_name("char") IS
'The status a letter of check_history.status stands for (o ok, w warning, c critical, e error).';

/* Microseconds, when latency_ms is a plausible round trip given to the microsecond. */
CREATE FUNCTION camera_health.latency_us(latency_ms double precision)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN latency_ms >= 0 AND latency_ms < 2000000 THEN round(latency_ms * 1000)::integer END;
COMMENT ON FUNCTION camera_health.latency_us(double precision) IS
'A latency in milliseconds as whole microseconds (NULL when negative, not a number or over 2,000 s).';

/* A check's metadata as it was written, from its own (or its chunk's template) and its arrays. */
CREATE FUNCTION camera_health.history_metadata(kept jsonb, template jsonb, latency_us integer,
											   lateness smallint, duration smallint)
RETURNS jsonb
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_history_metadata';
COMMENT ON FUNCTION camera_health.history_metadata(jsonb, jsonb, integer, smallint, smallint) IS
'A check''s metadata from what check_history keeps: its own (kept) with its lateness_ms and duration_ms, or its chunk''s template with its latency_ms too.';

/* ---- writing -------------------------------------------------------------- */

CREATE TYPE camera_health.check_record AS (
	camera_id bigint,
	check_type text,
	status text,
	metadata jsonb,
	checked_at timestamptz,
	latency_ms double precision
);
COMMENT ON TYPE camera_health.check_record IS 'One check as store_checks() takes it.';

/* PL/pgSQL, so that its plan is made once per session (the INSERT trigger of health_logs calls it for every row). */
CREATE FUNCTION camera_health.store_checks(checks camera_health.check_record[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	stored bigint;
BEGIN
	INSERT INTO camera_health.check_recent (camera_id, check_type, status, latency_us, metadata, checked_at)
	SELECT x.camera_id, x.check_type, x.status, camera_health.latency_us(x.latency_ms),
		   coalesce(x.metadata, '{}'), x.checked_at
	FROM unnest(checks) AS x;
	GET DIAGNOSTICS stored = ROW_COUNT;
	RETURN stored;
END
$$;
COMMENT ON FUNCTION camera_health.store_checks(camera_health.check_record[]) IS
'For ingest: writes checks to check_recent (pack_history() packs them when their hour is over); returns how many.';

/* What pack_chunk() makes of a chunk's checks: check_history's columns. */
CREATE TYPE camera_health.packed_chunk AS (
	n integer,
	at_ms integer[],
	status "char"[],
	latency_us integer[],
	lateness_ms smallint[],
	duration_ms smallint[],
	metadata jsonb[],
	template jsonb
);
COMMENT ON TYPE camera_health.packed_chunk IS 'The arrays of a chunk of check_history, as pack_chunk() builds them.';

CREATE FUNCTION camera_health.pack_chunk_add(state internal, hour timestamptz, checked_at timestamptz,
											 status text, latency_us integer, metadata jsonb)
RETURNS internal
LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_pack_chunk_add';
COMMENT ON FUNCTION camera_health.pack_chunk_add(internal, timestamptz, timestamptz, text, integer, jsonb) IS
'Transition function of pack_chunk().';

CREATE FUNCTION camera_health.pack_chunk_final(state internal)
RETURNS camera_health.packed_chunk
LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_pack_chunk_final';
COMMENT ON FUNCTION camera_health.pack_chunk_final(internal) IS
'Final function of pack_chunk().';

/*
 * The checks of one chunk (camera, hour, check type), fed in time order,
 * as its arrays.  A healthy check whose metadata, without latency_ms,
 * lateness_ms and duration_ms, is the chunk's template (its first healthy
 * check's) and whose latency_us gives back its latency_ms to the three
 * decimals written keeps NULL; the prober's lateness_ms and duration_ms go
 * to their arrays when those give them back as written (whole numbers 0 to
 * 32767 without decimals); every other check keeps the rest of its
 * metadata.  In C: one pass over a check's keys instead of six jsonb
 * expressions and a window.
 */
CREATE AGGREGATE camera_health.pack_chunk(hour timestamptz, checked_at timestamptz, status text,
										  latency_us integer, metadata jsonb) (
	SFUNC = camera_health.pack_chunk_add,
	STYPE = internal,
	FINALFUNC = camera_health.pack_chunk_final
);
COMMENT ON AGGREGATE camera_health.pack_chunk(timestamptz, timestamptz, text, integer, jsonb) IS
'The checks of a chunk of check_history, in time order, packed into its arrays (see pack_checks).';

/*
 * Moves the checks of some cameras older than before from check_recent
 * into their chunks: one DELETE ... RETURNING feeding one INSERT ... ON
 * CONFLICT, one row per chunk, its arrays from pack_chunk().  A chunk
 * that exists already (checks that came late, after their hour was
 * packed) gets the batch's checks appended; if its template is another,
 * the batch's NULLs are spelled out, as they refer to the batch's
 * template.
 */
CREATE FUNCTION camera_health.pack_checks(camera_ids bigint[], before timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	packed bigint;
BEGIN
	WITH moved AS (
		DELETE FROM camera_health.check_recent r
		WHERE r.camera_id = ANY (camera_ids) AND r.checked_at < before
		RETURNING r.*
	), p AS MATERIALIZED (
		SELECT m.camera_id, m.hour, m.check_type,
			   camera_health.pack_chunk(m.hour, m.checked_at, m.status, m.latency_us, m.metadata) AS c
		-- in time order: the arrays are, and the first healthy check is the template
		FROM (SELECT r.*, date_trunc('hour', r.checked_at, 'UTC') AS hour FROM moved r
			  ORDER BY r.camera_id, hour, r.check_type, r.checked_at, r.id) m
		GROUP BY m.camera_id, m.hour, m.check_type
	), ins AS (
		INSERT INTO camera_health.check_history AS h (camera_id, hour, check_type, n, at_ms, status, latency_us,
													  lateness_ms, duration_ms, metadata, template)
		SELECT p.camera_id, p.hour, p.check_type, (p.c).n, (p.c).at_ms, (p.c).status, (p.c).latency_us,
			   (p.c).lateness_ms, (p.c).duration_ms, (p.c).metadata, (p.c).template
		FROM p
		ON CONFLICT (camera_id, hour, check_type) DO UPDATE
		SET n = h.n + excluded.n,
			at_ms = h.at_ms || excluded.at_ms,
			status = h.status || excluded.status,
			latency_us = h.latency_us || excluded.latency_us,
			lateness_ms = h.lateness_ms || excluded.lateness_ms,
			duration_ms = h.duration_ms || excluded.duration_ms,
			metadata = h.metadata || CASE WHEN excluded.template IS NULL OR h.template IS NULL
												   OR excluded.template = h.template
										  THEN excluded.metadata
										  -- spelt out: the template with the check's latency (see history_metadata)
										  ELSE ARRAY(SELECT coalesce(m, camera_health.history_metadata(NULL, excluded.template,
																									   lat, NULL, NULL))
													 FROM unnest(excluded.metadata, excluded.latency_us) WITH ORDINALITY u(m, lat, o)
													 ORDER BY o) END,
			template = coalesce(h.template, excluded.template)
	)
	-- (ins runs to completion: data-modifying CTEs always do)
	SELECT coalesce(sum((p.c).n), 0) INTO packed FROM p;
	RETURN packed;
END
$$;
COMMENT ON FUNCTION camera_health.pack_checks(bigint[], timestamptz) IS
'Moves the checks of the given cameras older than before from check_recent into their chunks of check_history; returns how many.';

CREATE FUNCTION camera_health.pack_history(
	after_camera bigint DEFAULT NULL,
	max_cameras integer DEFAULT NULL,
	before timestamptz DEFAULT date_trunc('hour', now(), 'UTC'))
RETURNS TABLE (last_camera bigint, packed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ids bigint[];
BEGIN
	IF max_cameras IS NOT NULL AND max_cameras < 1 THEN
		RAISE EXCEPTION 'invalid max_cameras: %', max_cameras
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Pack at least one camera, or NULL for all.';
	END IF;
	ids := ARRAY(SELECT c.id FROM camera_health.cameras c WHERE c.id > coalesce(after_camera, 0)
				 ORDER BY c.id LIMIT max_cameras);
	last_camera := ids[cardinality(ids)];
	packed := CASE WHEN last_camera IS NULL THEN 0
				   ELSE camera_health.pack_checks(ids, coalesce(before, date_trunc('hour', now(), 'UTC'))) END;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION camera_health.pack_history(bigint, integer, timestamptz) IS
'Packs the checks older than before (default: the start of the current UTC hour) of max_cameras cameras (default all) with ids after after_camera into check_history; returns the last camera it took (NULL: none left) and how many checks it packed.';

/* ---- 1.0's history, converted ------------------------------------------- */

-- no longer names the 1.0 tables (their DROP below would need it gone)
CREATE OR REPLACE FUNCTION camera_health.expired_partitions(horizon timestamptz)
RETURNS TABLE (partition regclass, parent text, ends timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass, p.relname::text,
		   (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_class p ON p.oid = i.inhparent
	WHERE p.oid = 'camera_health.check_history'::regclass
	  AND c.relname ~ '_p[0-9]{8}$'
	  AND (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= horizon
	ORDER BY 3, 2;
END;
COMMENT ON FUNCTION camera_health.expired_partitions(timestamptz) IS
'Daily partitions of check_history whose whole range is older than horizon (for the retention worker).';

CREATE FUNCTION camera_health.create_history_partition(day date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.check_history FOR VALUES FROM (%L) TO (%L)',
				   format('check_history_p%s', to_char(day, 'YYYYMMDD')),
				   day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
END
$$;
COMMENT ON FUNCTION camera_health.create_history_partition(date) IS
'Creates the partition of check_history for one UTC day.';

/*
 * 1.0's logs move into check_recent (each log with the latency sample
 * ingest wrote with it: same camera, check and time; a sample without its
 * log is not carried over), and those of past hours on into check_history,
 * in daily partitions like theirs; then the 1.0 tables go and views of the
 * same names and columns take their place.  (A fresh install runs this
 * too, on empty tables.)
 */
DO $$
DECLARE
	day date;
BEGIN
	-- a partition for each day 1.0 had one (the days ahead among them), not a member of the
	-- extension, as those the retention worker creates; the other days' go to the default
	FOR day IN SELECT to_date(right(c.relname, 8), 'YYYYMMDD') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			   WHERE i.inhparent = 'camera_health.health_logs'::regclass AND c.relname ~ '_p[0-9]{8}$' LOOP
		PERFORM camera_health.create_history_partition(day);
		EXECUTE format('ALTER EXTENSION camera_health DROP TABLE camera_health.%I',
					   format('check_history_p%s', to_char(day, 'YYYYMMDD')));
	END LOOP;
	INSERT INTO camera_health.check_recent (camera_id, check_type, status, latency_us, metadata, checked_at)
	SELECT l.camera_id, l.check_type, l.status, camera_health.latency_us(lat.latency), l.metadata, l.created_at
	FROM camera_health.health_logs l
	LEFT JOIN LATERAL (SELECT s.latency FROM camera_health.camera_latency s
					   WHERE s.camera_id = l.camera_id AND s.created_at = l.created_at
						 AND s.check_type = l.check_type LIMIT 1) lat ON true
	ORDER BY l.created_at, l.id;
	PERFORM camera_health.pack_history();
END
$$;
DROP TABLE camera_health.health_logs, camera_health.camera_latency;

/* ---- reading -------------------------------------------------------------- */

/* A chunk's arrays, a row per check (C: a day of a camera is thousands of checks). */
CREATE FUNCTION camera_health.unpack_chunk(hour timestamptz, at_ms integer[], status "char"[],
										   latency_us integer[], lateness_ms smallint[], duration_ms smallint[],
										   metadata jsonb[], template jsonb)
RETURNS TABLE (k integer, created_at timestamptz, status text, metadata jsonb, latency_us integer)
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 120
AS 'MODULE_PATHNAME', 'ch_unpack_chunk';
COMMENT ON FUNCTION camera_health.unpack_chunk(timestamptz, integer[], "char"[], integer[], smallint[], smallint[], jsonb[], jsonb) IS
'The checks of a chunk of check_history, in its order: place, time, status, metadata as written (see history_metadata), latency.';

/*
 * The checks of one chunk, as health_logs rows (and latency in
 * milliseconds).  Without SET search_path (see above) the planner inlines
 * it into the query that reads the chunks.
 */
CREATE FUNCTION camera_health.chunk_checks(chunk camera_health.check_history)
RETURNS TABLE (id bigint, camera_id bigint, check_type text, status text, metadata jsonb,
			   created_at timestamptz, latency_ms double precision)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT (chunk).id * 65536 + u.k, (chunk).camera_id, (chunk).check_type, u.status, u.metadata, u.created_at,
		   u.latency_us / 1000.0
	FROM camera_health.unpack_chunk((chunk).hour, (chunk).at_ms, (chunk).status, (chunk).latency_us,
									(chunk).lateness_ms, (chunk).duration_ms, (chunk).metadata, (chunk).template) u;
END;
COMMENT ON FUNCTION camera_health.chunk_checks(camera_health.check_history) IS
'The checks a check_history row holds, one row each, as health_logs shows them (plus latency_ms).';

-- camera_id and check_type of the chunk, so that conditions on them reach its index
CREATE VIEW camera_health.health_logs AS
SELECT x.id, h.camera_id, h.check_type, x.status, x.metadata, x.created_at
FROM camera_health.check_history h
CROSS JOIN LATERAL camera_health.chunk_checks(h) x
UNION ALL
SELECT r.id, r.camera_id, r.check_type, r.status, r.metadata, r.checked_at
FROM camera_health.check_recent r;
ALTER VIEW camera_health.health_logs ALTER COLUMN metadata SET DEFAULT '{}';
ALTER VIEW camera_health.health_logs ALTER COLUMN created_at SET DEFAULT now();
COMMENT ON VIEW camera_health.health_logs IS
'One row per check run: its outcome and measurements (1.0''s table, now a view of check_history and check_recent; camera_logs() reads one camera''s fast). INSERT adds a check.';
COMMENT ON COLUMN camera_health.health_logs.id IS 'Log id: for a packed check, its chunk''s id times 65536 plus its place in the chunk.';
COMMENT ON COLUMN camera_health.health_logs.camera_id IS 'The camera checked.';
COMMENT ON COLUMN camera_health.health_logs.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.health_logs.status IS 'ok, warning, critical, or error when the check itself could not run.';
COMMENT ON COLUMN camera_health.health_logs.metadata IS 'What the check measured: method, latency, error, image metrics (a packed healthy check: what its hour''s first healthy one said, with its own latency).';
COMMENT ON COLUMN camera_health.health_logs.created_at IS 'When the check ran (a packed one to the millisecond).';

CREATE VIEW camera_health.camera_latency AS
SELECT x.id, h.camera_id, h.check_type, x.latency_ms AS latency, x.created_at
FROM camera_health.check_history h
CROSS JOIN LATERAL camera_health.chunk_checks(h) x
WHERE h.check_type IN ('ip', 'port') AND x.latency_ms IS NOT NULL
UNION ALL
SELECT r.id, r.camera_id, r.check_type, r.latency_us / 1000.0, r.checked_at
FROM camera_health.check_recent r
WHERE r.check_type IN ('ip', 'port') AND r.latency_us IS NOT NULL;
COMMENT ON VIEW camera_health.camera_latency IS
'Round-trip times of successful network probes (1.0''s table, now a view of check_history and check_recent).';
COMMENT ON COLUMN camera_health.camera_latency.id IS 'Sample id: the id of the check''s log.';
COMMENT ON COLUMN camera_health.camera_latency.camera_id IS 'The camera probed.';
COMMENT ON COLUMN camera_health.camera_latency.check_type IS 'ip (ICMP echo or TCP handshake) or port (TCP connect).';
COMMENT ON COLUMN camera_health.camera_latency.latency IS 'Round-trip time in milliseconds (to the microsecond).';
COMMENT ON COLUMN camera_health.camera_latency.created_at IS 'When the probe ran.';

/* INSERT INTO health_logs: one check into check_recent, whose constraints are 1.0's. */
CREATE FUNCTION camera_health.health_logs_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO camera_health.check_recent (camera_id, check_type, status, latency_us, metadata, checked_at)
	VALUES (NEW.camera_id, NEW.check_type, NEW.status,
			CASE WHEN jsonb_typeof(NEW.metadata -> 'latency_ms') = 'number'
				 THEN camera_health.latency_us((NEW.metadata ->> 'latency_ms')::double precision) END,
			coalesce(NEW.metadata, '{}'), coalesce(NEW.created_at, now()))
	RETURNING id INTO NEW.id;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION camera_health.health_logs_insert() IS
'Trigger: INSERT INTO health_logs stores the check in check_recent (its latency from metadata.latency_ms).';
CREATE TRIGGER health_logs_insert
	INSTEAD OF INSERT ON camera_health.health_logs
	FOR EACH ROW EXECUTE FUNCTION camera_health.health_logs_insert();

/*
 * The newest checks of a camera across both tiers: the newest max_rows of
 * check_recent, and of check_history the newest hours until they hold
 * max_rows (a chunk's checks all fall in its hour); newest first.  With
 * only_latency, the checks with a latency (ip and port).  Callers validate.
 */
CREATE FUNCTION camera_health.camera_checks(
	camera bigint, kind text, since timestamptz, max_rows integer, only_latency boolean)
RETURNS TABLE (id bigint, camera_id bigint, check_type text, status text, metadata jsonb,
			   created_at timestamptz, latency_ms double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- each chunk is read once: a Memoize node over its arrays would only hash them
SET enable_memoize = off
-- one plan per session: planning the union over every partition cost more
-- than running it (partitions are pruned when it runs)
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
	oldest timestamptz;
	seen bigint := 0;
	c record;
BEGIN
	-- newest chunks first, in the key's order: the loop stops at the first
	-- hour it does not need, without reading the camera's older chunks
	FOR c IN SELECT h.hour, CASE WHEN only_latency THEN cardinality(array_remove(h.latency_us, NULL))
								 ELSE h.n END AS n
			 FROM camera_health.check_history h
			 WHERE h.camera_id = camera
			   AND (kind IS NULL OR h.check_type = kind)
			   AND (NOT only_latency OR h.check_type IN ('ip', 'port'))
			   AND (since IS NULL OR h.hour >= date_trunc('hour', since, 'UTC'))
			 ORDER BY h.hour DESC
	LOOP
		-- an hour is taken whole (its chunks' checks all fall in it)
		EXIT WHEN seen >= max_rows AND c.hour < oldest;
		oldest := c.hour;
		seen := seen + c.n;
	END LOOP;
	RETURN QUERY
		SELECT l.* FROM (
			(SELECT r.id, r.camera_id, r.check_type, r.status, r.metadata, r.checked_at,
					r.latency_us / 1000.0::double precision
			 FROM camera_health.check_recent r
			 WHERE r.camera_id = camera
			   AND (kind IS NULL OR r.check_type = kind)
			   AND (NOT only_latency OR (r.check_type IN ('ip', 'port') AND r.latency_us IS NOT NULL))
			   AND (since IS NULL OR r.checked_at >= since)
			 ORDER BY r.checked_at DESC, r.id DESC
			 LIMIT max_rows)
			UNION ALL
			SELECT x.id, h.camera_id, h.check_type, x.status, x.metadata, x.created_at, x.latency_ms
			FROM camera_health.check_history h
			CROSS JOIN LATERAL camera_health.chunk_checks(h) x
			WHERE oldest IS NOT NULL AND h.camera_id = camera AND h.hour >= oldest
			  AND (kind IS NULL OR h.check_type = kind)
			  AND (NOT only_latency OR (h.check_type IN ('ip', 'port') AND x.latency_ms IS NOT NULL))
			  AND (since IS NULL OR x.created_at >= since)
		) l
		ORDER BY 6 DESC, 1 DESC
		LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.camera_checks(bigint, text, timestamptz, integer, boolean) IS
'For camera_logs() and camera_latency(): the newest checks of a camera across check_recent and check_history, newest first.';

CREATE FUNCTION camera_health.camera_logs(
	camera_id bigint,
	check_type text DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.health_logs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF check_type IS NOT NULL AND check_type NOT IN ('ip', 'port', 'vision') THEN
		RAISE EXCEPTION 'invalid check_type: "%"', check_type
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Check types are ip, port and vision; NULL for all.';
	END IF;
	PERFORM camera_health.check_max_rows(max_rows);
	RETURN QUERY SELECT c.id, c.camera_id, c.check_type, c.status, c.metadata, c.created_at
				 FROM camera_health.camera_checks(camera_id, check_type, since, max_rows, false) c;
END
$$;
COMMENT ON FUNCTION camera_health.camera_logs(bigint, text, timestamptz, integer) IS
'Health logs of a camera, newest first: optionally of one check type (ip, port, vision) and since a time; at most max_rows (1 to 10000).';

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

/* ---- latency over the API ------------------------------------------------- */

/* The latency samples of a camera, newest first, read as camera_logs() reads the logs. */
CREATE FUNCTION camera_health.camera_latency(
	camera_id bigint,
	check_type text DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.camera_latency
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF check_type IS NOT NULL AND check_type NOT IN ('ip', 'port') THEN
		RAISE EXCEPTION 'invalid check_type: "%"', check_type
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Latency is measured by the ip and port checks; NULL for both.';
	END IF;
	PERFORM camera_health.check_max_rows(max_rows);
	RETURN QUERY SELECT c.id, c.camera_id, c.check_type, c.latency_ms, c.created_at
				 FROM camera_health.camera_checks(camera_id, check_type, since, max_rows, true) c;
END
$$;
COMMENT ON FUNCTION camera_health.camera_latency(bigint, text, timestamptz, integer) IS
'Latency samples (round trips in ms of answered ip and port probes) of a camera, newest first: optionally of one check type (ip, port) and since a time; at most max_rows (1 to 10000).';

CREATE FUNCTION camera_health_api.camera_latency(
	camera_id bigint,
	check_type text DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.camera_latency
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_latency(camera_id, check_type, since, max_rows);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_latency(bigint, text, timestamptz, integer) IS
'Latency samples (round trips in ms of answered ip and port probes) of a camera, newest first: optionally of one check type (ip, port) and since a time; at most max_rows (1 to 10000).';

/* ---- partitions and retention --------------------------------------------- */

CREATE OR REPLACE FUNCTION camera_health.create_partitions(days_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	day date;
	created integer := 0;
	part text;
	in_default boolean;
BEGIN
	IF days_ahead IS NULL OR days_ahead NOT BETWEEN 0 AND 60 THEN
		RAISE EXCEPTION 'invalid days_ahead: %', days_ahead
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Create 0 to 60 days ahead.';
	END IF;
	FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date,
									  (now() AT TIME ZONE 'UTC')::date + days_ahead, interval '1 day')::date
	LOOP
		part := format('check_history_p%s', to_char(day, 'YYYYMMDD'));
		CONTINUE WHEN to_regclass('camera_health.' || part) IS NOT NULL;
		SELECT EXISTS (SELECT FROM camera_health.check_history_default d
					   WHERE d.hour >= day::timestamp AT TIME ZONE 'UTC'
						 AND d.hour < (day + 1)::timestamp AT TIME ZONE 'UTC')
		INTO STRICT in_default;
		CONTINUE WHEN in_default;
		PERFORM camera_health.create_history_partition(day);
		created := created + 1;
	END LOOP;
	RETURN created;
END
$$;
COMMENT ON FUNCTION camera_health.create_partitions(integer) IS
'Creates the daily partitions of check_history up to days_ahead days ahead (the retention worker calls it); returns how many it created.';

COMMENT ON COLUMN camera_health.retention_runs.health_logs_deleted IS
'Checks removed (since 1.1 from check_history, a whole hour of a camera''s check at a time; for a dropped partition the checks it held).';
COMMENT ON COLUMN camera_health.retention_runs.camera_latency_deleted IS
'Latency samples removed with those checks.';

/* ---- ingest --------------------------------------------------------------- */

/*
 * result_observations() runs for every result of a batch: without a SET
 * clause the planner inlines it into record_results' query instead of
 * calling it per result.  Its body is SQL-standard (BEGIN ATOMIC), bound
 * when it was created, so no caller's search_path changes what it runs.
 */
ALTER FUNCTION camera_health.result_observations(text, text, jsonb, inet, integer) RESET search_path;

/*
 * A result of a batch as record_results has parsed and checked it once
 * (parse_results, joined with its enabled camera): every step of the batch
 * (history, trends, status, alerts) reads this array instead of parsing
 * and masking the JSON again.
 */
CREATE TYPE camera_health.batch_result AS (
	camera_id bigint,
	check_type text,
	status text,
	checked_at timestamptz,
	latency_ms double precision,
	metadata jsonb,
	round bigint,
	site text,
	ip_address inet,
	port integer,
	interval_s integer
);
COMMENT ON TYPE camera_health.batch_result IS
'A check result of a batch, parsed once by record_results, with what its steps need of its camera.';

CREATE OR REPLACE FUNCTION camera_health.record_results(results jsonb, open_after integer, resolve_after integer)
RETURNS TABLE (logged bigint, opened bigint, resolved bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	batch camera_health.batch_result[];
	rounds bigint;
	n_opened bigint;
	n_resolved bigint;
BEGIN
	IF jsonb_typeof(results) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'results must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF open_after IS NULL OR open_after < 1 OR resolve_after IS NULL OR resolve_after < 1 THEN
		RAISE EXCEPTION 'open_after and resolve_after must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	opened := 0;
	resolved := 0;

	-- parsed once: results of cameras deleted or disabled meanwhile are dropped
	batch := ARRAY(
		SELECT ROW(p.camera_id, p.check_type, p.status, p.checked_at, p.latency_ms, p.metadata, p.round,
				   c.site, c.ip_address, c.port,
				   CASE p.check_type WHEN 'ip' THEN c.interval_ip WHEN 'port' THEN c.interval_port
					   ELSE c.interval_vision END)::camera_health.batch_result
		FROM camera_health.parse_results(results) p
		JOIN camera_health.cameras c ON c.id = p.camera_id AND c.enabled);
	logged := camera_health.store_checks(ARRAY(
		SELECT ROW(p.camera_id, p.check_type, p.status, p.metadata, p.checked_at,
				   CASE WHEN p.check_type IN ('ip', 'port') THEN p.latency_ms END)::camera_health.check_record
		FROM unnest(batch) p));

	SELECT max(p.round) INTO rounds FROM unnest(batch) p;
	FOR rnd IN 1 .. coalesce(rounds, 0) LOOP
		PERFORM camera_health.record_trends(batch, rnd);
		INSERT INTO camera_health.camera_status AS s (camera_id, check_type, status, since, checked_at, streak, metadata)
		SELECT p.camera_id, p.check_type, p.status, p.checked_at, p.checked_at, 1, p.metadata
		FROM unnest(batch) p
		WHERE p.round = rnd
		ON CONFLICT (camera_id, check_type) DO UPDATE
		SET streak = CASE WHEN s.status = excluded.status THEN s.streak + 1 ELSE 1 END,
			since = CASE WHEN s.status = excluded.status THEN s.since ELSE excluded.since END,
			status = excluded.status, checked_at = excluded.checked_at, metadata = excluded.metadata
		WHERE s.checked_at <= excluded.checked_at;

		WITH obs AS (
			SELECT p.camera_id, o.alert_type, o.failing, o.severity, o.message, p.checked_at AS at
			FROM unnest(batch) p
			CROSS JOIN LATERAL camera_health.result_observations(p.check_type, p.status, p.metadata,
																 p.ip_address, p.port) o
			WHERE p.round = rnd
		), st AS (
			INSERT INTO camera_health.alert_state AS s (camera_id, alert_type, failing, streak, updated_at)
			SELECT o.camera_id, o.alert_type, o.failing, 1, o.at FROM obs o
			ON CONFLICT (camera_id, alert_type) DO UPDATE
			SET streak = CASE WHEN s.failing = excluded.failing THEN s.streak + 1 ELSE 1 END,
				failing = excluded.failing, updated_at = excluded.updated_at
			WHERE s.updated_at <= excluded.updated_at
			RETURNING s.camera_id, s.alert_type, s.failing, s.streak
		), touched AS (
			-- a failing condition with an open alert keeps that one row up to date
			UPDATE camera_health.alerts a
			SET last_seen_at = o.at, message = o.message
			FROM st JOIN obs o USING (camera_id, alert_type)
			WHERE st.failing AND a.camera_id = st.camera_id AND a.alert_type = st.alert_type
			  AND a.resolved_at IS NULL
			RETURNING a.id
		), new_alerts AS (
			INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message, created_at, last_seen_at)
			SELECT st.camera_id, st.alert_type, o.severity, o.message, o.at, o.at
			FROM st JOIN obs o USING (camera_id, alert_type)
			WHERE st.failing AND st.streak >= open_after
			ON CONFLICT (camera_id, alert_type) WHERE resolved_at IS NULL DO NOTHING
			RETURNING id
		), cleared AS (
			UPDATE camera_health.alerts a
			SET status = 'resolved', resolved_at = o.at
			FROM st JOIN obs o USING (camera_id, alert_type)
			WHERE NOT st.failing AND st.streak >= resolve_after
			  AND a.camera_id = st.camera_id AND a.alert_type = st.alert_type AND a.resolved_at IS NULL
			RETURNING a.id
		)
		-- (touched runs too: data-modifying CTEs always run to completion)
		SELECT (SELECT count(*) FROM new_alerts), (SELECT count(*) FROM cleared)
		INTO n_opened, n_resolved;
		opened := opened + n_opened;
		resolved := resolved + n_resolved;
	END LOOP;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION camera_health.record_results(jsonb, integer, integer) IS
'For the ingest worker: writes a batch of check results (history, latest status) and opens or resolves alerts with hysteresis.';
/* ---- privileges ----------------------------------------------------------- */

REVOKE ALL ON FUNCTION camera_health.status_name("char"),
	camera_health.latency_us(double precision),
	camera_health.pack_chunk_add(internal, timestamptz, timestamptz, text, integer, jsonb),
	camera_health.pack_chunk_final(internal),
	camera_health.pack_chunk(timestamptz, timestamptz, text, integer, jsonb),
	camera_health.history_metadata(jsonb, jsonb, integer, smallint, smallint),
	camera_health.unpack_chunk(timestamptz, integer[], "char"[], integer[], smallint[], smallint[], jsonb[], jsonb),
	camera_health.store_checks(camera_health.check_record[]), camera_health.pack_checks(bigint[], timestamptz),
	camera_health.pack_history(bigint, integer, timestamptz), camera_health.chunk_checks(camera_health.check_history),
	camera_health.health_logs_insert(), camera_health.camera_logs(bigint, text, timestamptz, integer),
	camera_health.create_history_partition(date), camera_health_api.camera_logs(bigint, text, timestamptz, integer),
	camera_health.camera_latency(bigint, text, timestamptz, integer),
	camera_health_api.camera_latency(bigint, text, timestamptz, integer),
	camera_health.camera_checks(bigint, text, timestamptz, integer, boolean)
	FROM PUBLIC;
-- camera_logs() runs as its caller and reads the chunks; the views read them as their owner
GRANT SELECT ON camera_health.check_history, camera_health.check_recent, camera_health.health_logs,
	camera_health.camera_latency TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.status_name("char"),
	camera_health.history_metadata(jsonb, jsonb, integer, smallint, smallint),
	camera_health.unpack_chunk(timestamptz, integer[], "char"[], integer[], smallint[], smallint[], jsonb[], jsonb),
	camera_health.chunk_checks(camera_health.check_history),
	camera_health.camera_checks(bigint, text, timestamptz, integer, boolean),
	camera_health.camera_logs(bigint, text, timestamptz, integer),
	camera_health_api.camera_logs(bigint, text, timestamptz, integer),
	camera_health.camera_latency(bigint, text, timestamptz, integer),
	camera_health_api.camera_latency(bigint, text, timestamptz, integer)
	TO camera_health_reader;

/* ------------------------------------------------------------------------
 * Hourly trends and uptime (issue 12)
 *
 * check_trends holds, per camera, check type and UTC hour, what the checks
 * of that hour said (counts by status, latency min / sum / max and a small
 * histogram for the p95) and how the hour was spent (seconds monitored,
 * down, blind, in maintenance).  Ingest maintains it in the same
 * transaction as the logs (record_results calls record_trends once per
 * round, before it updates camera_status); nothing ever rescans history.
 *
 * How time is attributed (the rule the COMMENTs and README refer to):
 *  - a check's status holds from that check until the next check of the same
 *    type, for at most 3 of the camera's intervals of that check; beyond, the
 *    time is unmonitored (counted neither up nor down).  So the time between
 *    two checks goes to the PREVIOUS status (camera_status before the update),
 *    split across hour boundaries, in whole seconds (check times floored to
 *    the second, so consecutive spans add up exactly);
 *  - ip and port: ok and warning are up, critical is down, error (the check
 *    itself failed) is unmonitored;
 *  - vision: error with a stage (the stream could not be had) is down and
 *    blind; any other error is unmonitored; warning or critical is blind
 *    (obstructed, blurred, frozen) unless displacement is the only condition
 *    detected (a moved camera still shows a picture); ok is up;
 *  - blind seconds of an ip row: ip down while the camera's latest vision
 *    state was neither down nor blind (or there is none): the ip and vision
 *    rows add up without counting a second twice (to within one ip interval
 *    around a vision transition);
 *  - a span that starts in a maintenance window of the camera
 *    (in_maintenance(camera, site, start)) counts as maintenance only: not
 *    monitored, not down, not blind.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.latency_hist_add(hist bytea, latency_ms double precision)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_add';
COMMENT ON FUNCTION camera_health.latency_hist_add(bytea, double precision) IS
'A latency histogram (see check_trends.latency_hist) with one more sample in milliseconds; NULL hist is empty, a NULL, negative or infinite latency is no sample.';

CREATE FUNCTION camera_health.latency_hist_merge(a bytea, b bytea)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_merge';
COMMENT ON FUNCTION camera_health.latency_hist_merge(bytea, bytea) IS
'The sum of two latency histograms (NULL is empty); a malformed one is refused with 22P03.';

CREATE FUNCTION camera_health.latency_hist_quantile(hist bytea, q double precision)
RETURNS double precision
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_quantile';
COMMENT ON FUNCTION camera_health.latency_hist_quantile(bytea, double precision) IS
'The q-th quantile (0 to 1, nearest rank) of a latency histogram in milliseconds, within 4%; NULL when it is empty.';

CREATE FUNCTION camera_health.latency_hist_count(hist bytea)
RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_count';
COMMENT ON FUNCTION camera_health.latency_hist_count(bytea) IS
'How many samples a latency histogram holds.';

CREATE AGGREGATE camera_health.latency_hist(double precision) (
	SFUNC = camera_health.latency_hist_add,
	STYPE = bytea,
	COMBINEFUNC = camera_health.latency_hist_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE camera_health.latency_hist(double precision) IS
'The latency histogram of a set of latencies in milliseconds (NULL when there is none).';

CREATE AGGREGATE camera_health.latency_hist_sum(bytea) (
	SFUNC = camera_health.latency_hist_merge,
	STYPE = bytea,
	COMBINEFUNC = camera_health.latency_hist_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE camera_health.latency_hist_sum(bytea) IS
'The sum of latency histograms, e.g. of several hours: latency_hist_quantile(latency_hist_sum(latency_hist), 0.95) is their p95.';

CREATE DOMAIN camera_health.check_kind AS text
	CHECK (VALUE IN ('ip', 'port', 'vision'));
COMMENT ON DOMAIN camera_health.check_kind IS 'A check type: ip, port or vision.';

/*
 * Small on purpose (10,000 cameras x 3 checks x 24 h x 400 days is 288
 * million rows): four-byte counts, two-byte seconds (an hour has 3,600),
 * latency min/max as real, the p95 as a histogram of a few bytes.  The mean
 * is latency_sum / latency_hist_count(latency_hist).  Partitioned by month
 * so that retention drops whole months; the default partition takes rows of
 * a month without one.
 */
CREATE TABLE camera_health.check_trends (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	hour timestamptz NOT NULL,
	latency_sum double precision,
	latency_min real,
	latency_max real,
	n_ok integer NOT NULL DEFAULT 0,
	n_warning integer NOT NULL DEFAULT 0,
	n_critical integer NOT NULL DEFAULT 0,
	n_error integer NOT NULL DEFAULT 0,
	monitored_s smallint NOT NULL DEFAULT 0 CHECK (monitored_s BETWEEN 0 AND 3600),
	down_s smallint NOT NULL DEFAULT 0 CHECK (down_s BETWEEN 0 AND 3600),
	blind_s smallint NOT NULL DEFAULT 0 CHECK (blind_s BETWEEN 0 AND 3600),
	maintenance_s smallint NOT NULL DEFAULT 0 CHECK (maintenance_s BETWEEN 0 AND 3600),
	check_type camera_health.check_kind NOT NULL,
	latency_hist bytea,
	PRIMARY KEY (camera_id, hour, check_type)
) PARTITION BY RANGE (hour);
CREATE TABLE camera_health.check_trends_default
	PARTITION OF camera_health.check_trends DEFAULT;
-- uptime over a range reads the hours at its ends across all cameras: ingest
-- writes hours in time order, so a BRIN index (a few pages a month) finds them
CREATE INDEX check_trends_hour_brin ON camera_health.check_trends USING brin (hour);
COMMENT ON TABLE camera_health.check_trends IS
'Hourly trends per camera and check, maintained by ingest (record_trends), kept for the trend retention (get_trend_retention); uptime and SLA functions read them.';
COMMENT ON COLUMN camera_health.check_trends.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.check_trends.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN camera_health.check_trends.latency_sum IS 'Sum of the latencies measured this hour, in milliseconds (mean: divide by latency_hist_count(latency_hist)).';
COMMENT ON COLUMN camera_health.check_trends.latency_min IS 'Smallest latency measured, in milliseconds.';
COMMENT ON COLUMN camera_health.check_trends.latency_max IS 'Largest latency measured, in milliseconds.';
COMMENT ON COLUMN camera_health.check_trends.n_ok IS 'Checks with status ok.';
COMMENT ON COLUMN camera_health.check_trends.n_warning IS 'Checks with status warning.';
COMMENT ON COLUMN camera_health.check_trends.n_critical IS 'Checks with status critical.';
COMMENT ON COLUMN camera_health.check_trends.n_error IS 'Checks that could not run (status error).';
COMMENT ON COLUMN camera_health.check_trends.monitored_s IS 'Seconds of the hour with a known state outside maintenance (a status holds until the next check, at most 3 intervals).';
COMMENT ON COLUMN camera_health.check_trends.down_s IS 'Monitored seconds down: ip or port critical, vision stream unavailable.';
COMMENT ON COLUMN camera_health.check_trends.blind_s IS 'Monitored seconds the picture was unusable: vision rows for stream unavailable, obstructed, blurred or frozen; ip rows for unreachable while the latest vision state was usable or absent.';
COMMENT ON COLUMN camera_health.check_trends.maintenance_s IS 'Seconds in a maintenance window (neither monitored nor down nor blind).';
COMMENT ON COLUMN camera_health.check_trends.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.check_trends.latency_hist IS 'Histogram of the latencies (logarithmic buckets, 4% wide): latency_hist_quantile(latency_hist, 0.95) is the p95.';

/*
 * The uptime figures of check_trends summed per camera and UTC day, kept
 * by record_trends beside the hours: uptime over a month or a year reads a
 * row per camera and day (and hours only for the partial days at the
 * ends), 30 times fewer rows than the hours of three checks.
 */
CREATE TABLE camera_health.uptime_daily (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	day timestamptz NOT NULL,
	ip_monitored_s integer NOT NULL DEFAULT 0,
	ip_down_s integer NOT NULL DEFAULT 0,
	stream_monitored_s integer NOT NULL DEFAULT 0,
	stream_down_s integer NOT NULL DEFAULT 0,
	blind_s integer NOT NULL DEFAULT 0,
	maintenance_s integer NOT NULL DEFAULT 0,
	PRIMARY KEY (camera_id, day)
) PARTITION BY RANGE (day);
CREATE TABLE camera_health.uptime_daily_default
	PARTITION OF camera_health.uptime_daily DEFAULT;
COMMENT ON TABLE camera_health.uptime_daily IS
'The uptime seconds of check_trends per camera and UTC day (ip and vision rows), kept with them by record_trends and under the same retention: what camera_uptime and fleet_uptime read for whole days.';
COMMENT ON COLUMN camera_health.uptime_daily.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.uptime_daily.day IS 'Start of the UTC day.';
COMMENT ON COLUMN camera_health.uptime_daily.ip_monitored_s IS 'Monitored seconds of the ip check (maintenance excluded).';
COMMENT ON COLUMN camera_health.uptime_daily.ip_down_s IS 'Seconds the ip check was down (critical).';
COMMENT ON COLUMN camera_health.uptime_daily.stream_monitored_s IS 'Monitored seconds of the vision check.';
COMMENT ON COLUMN camera_health.uptime_daily.stream_down_s IS 'Seconds the stream was unavailable.';
COMMENT ON COLUMN camera_health.uptime_daily.blind_s IS 'Blind seconds (ip and vision rows of check_trends together).';
COMMENT ON COLUMN camera_health.uptime_daily.maintenance_s IS 'Seconds of the ip check in a maintenance window.';

CREATE TABLE camera_health.trend_retention (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	retention interval NOT NULL CHECK (retention BETWEEN interval '1 day' AND interval '3650 days'),
	updated_at timestamptz DEFAULT now()
);
COMMENT ON TABLE camera_health.trend_retention IS 'Per-camera retention of hourly trends (check_trends).';
COMMENT ON COLUMN camera_health.trend_retention.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.trend_retention.retention IS 'How long its trends are kept, 1 day to 3650 days.';
COMMENT ON COLUMN camera_health.trend_retention.updated_at IS 'When the policy was set; NULL in get_trend_retention() means the default applies.';
SELECT pg_catalog.pg_extension_config_dump('camera_health.trend_retention', '');

ALTER TABLE camera_health.retention_runs ADD COLUMN check_trends_deleted bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN camera_health.retention_runs.check_trends_deleted IS
'check_trends rows removed (dropped monthly partitions by estimate, as for health_logs).';

CREATE FUNCTION camera_health.default_trend_retention()
RETURNS interval
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_default_trend_retention';
COMMENT ON FUNCTION camera_health.default_trend_retention() IS
'The retention of hourly trends for cameras without a policy of their own (GUC camera_health.default_trend_retention, 400 days by default).';

/* ---- recording ------------------------------------------------------------ */

/*
 * What a check's status says about the camera for the trends (see the rule
 * above).  No pinned search_path, on purpose: record_trends calls it twice
 * per result, and only a function without SET is inlined (a call of a SQL
 * function costs more than all the rest of a result's trend).  Its body is
 * SQL-standard (BEGIN ATOMIC): every name in it was bound when it was
 * created, so no caller's search_path can change what it runs.
 */
CREATE FUNCTION camera_health.trend_state(check_type text, status text, metadata jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE
		WHEN status IS NULL THEN NULL
		WHEN check_type IN ('ip', 'port') THEN
			CASE status WHEN 'critical' THEN 'down' WHEN 'error' THEN 'unmonitored' ELSE 'up' END
		WHEN status = 'ok' THEN 'up'
		WHEN status = 'error' THEN CASE WHEN metadata ? 'stage' THEN 'down' ELSE 'unmonitored' END
		-- a moved camera still shows a picture: displacement alone is not blind
		WHEN (metadata -> 'displacement' ->> 'detected') = 'true'
			 AND coalesce(metadata -> 'blur' ->> 'detected', 'false') <> 'true'
			 AND coalesce(metadata -> 'obstruction' ->> 'detected', 'false') <> 'true'
			 AND coalesce(metadata -> 'frozen' ->> 'detected', 'false') <> 'true' THEN 'up'
		ELSE 'blind' END;
END;
COMMENT ON FUNCTION camera_health.trend_state(text, text, jsonb) IS
'What a check result means for uptime: up, down, blind (vision: picture unusable) or unmonitored (the check itself failed).';

/*
 * Adds round rnd of a batch (see record_results) to check_trends: each
 * result counts in its own hour (status, latency), and the time since the
 * previous check of the same type goes to the previous status.  Called by
 * record_results before it updates camera_status for the round.
 */
CREATE FUNCTION camera_health.record_trends(batch camera_health.batch_result[], rnd bigint)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH r AS MATERIALIZED (
		-- the round's results
		SELECT p.camera_id, p.check_type, p.status, p.checked_at, p.site, p.interval_s,
			   CASE WHEN p.latency_ms >= 0 AND p.latency_ms < 'infinity' THEN p.latency_ms END AS latency_ms
		FROM unnest(batch) p
		WHERE p.round = rnd
	), spans AS (
		-- since the previous check (camera_status, not yet updated): whole
		-- seconds, at most 3 intervals, with the previous status (epochs as
		-- date_part's float8: extract's numeric costs a microsecond a call)
		SELECT r.camera_id, r.check_type,
			   floor(date_part('epoch', s.checked_at))::bigint AS a,
			   floor(date_part('epoch', least(r.checked_at,
											  s.checked_at + make_interval(secs => 3 * r.interval_s))))::bigint AS b,
			   camera_health.trend_state(s.check_type, s.status, s.metadata) AS state,
			   s.checked_at AS started, r.site
		FROM r
		JOIN camera_health.camera_status s ON s.camera_id = r.camera_id AND s.check_type = r.check_type
		WHERE s.checked_at < r.checked_at
	), judged AS MATERIALIZED (
		-- materialized: what each span counts as is decided once
		SELECT sp.camera_id, sp.check_type, sp.a, sp.b,
			   -- an ip outage is blind unless the picture was lost already:
			   -- the vision status is read for those spans only
			   CASE WHEN sp.check_type = 'ip' AND sp.state = 'down' THEN
					(SELECT camera_health.trend_state('vision', v.status, v.metadata)
					 FROM camera_health.camera_status v
					 WHERE v.camera_id = sp.camera_id AND v.check_type = 'vision') END AS vision_state,
			   -- in_maintenance(camera, site, start), written out: a subplan
			   -- costs a fraction of a call of that SQL function per result
			   CASE WHEN EXISTS (SELECT FROM camera_health.maintenance_windows w
								 WHERE w.starts_at <= sp.started AND w.ends_at > sp.started
								   AND (w.camera_id IS NULL OR w.camera_id = sp.camera_id)
								   AND (w.site IS NULL OR w.site = sp.site)) THEN 'maintenance'
					ELSE sp.state END AS kind
		FROM spans sp
		WHERE sp.b > sp.a AND sp.state <> 'unmonitored'
	), x AS MATERIALIZED (
		-- each result counts in its hour; each span's seconds, cut at hours
		SELECT r.camera_id, r.check_type, floor(date_part('epoch', r.checked_at) / 3600)::bigint * 3600 AS hour_s,
			   r.status, r.latency_ms,
			   NULL::integer AS seconds, false AS monitored, false AS down, false AS blind, false AS maintenance
		FROM r
		UNION ALL
		SELECT j.camera_id, j.check_type, h, NULL, NULL,
			   (least(j.b, h + 3600) - greatest(j.a, h))::integer,
			   j.kind IN ('up', 'down', 'blind'),
			   j.kind = 'down',
			   CASE j.check_type
				   WHEN 'vision' THEN j.kind IN ('down', 'blind')
				   WHEN 'ip' THEN j.kind = 'down' AND coalesce(j.vision_state NOT IN ('down', 'blind'), true)
				   ELSE false END,
			   j.kind = 'maintenance'
		FROM judged j
		CROSS JOIN LATERAL generate_series(floor(j.a::float8 / 3600)::bigint * 3600, j.b - 1, 3600) AS h
	), hourly AS (
		INSERT INTO camera_health.check_trends AS t
			(camera_id, hour, check_type, n_ok, n_warning, n_critical, n_error,
			 latency_sum, latency_min, latency_max, latency_hist, monitored_s, down_s, blind_s, maintenance_s)
		SELECT x.camera_id, to_timestamp(x.hour_s), x.check_type,
			   count(*) FILTER (WHERE x.status = 'ok'), count(*) FILTER (WHERE x.status = 'warning'),
			   count(*) FILTER (WHERE x.status = 'critical'), count(*) FILTER (WHERE x.status = 'error'),
			   sum(x.latency_ms), min(x.latency_ms), max(x.latency_ms), camera_health.latency_hist(x.latency_ms),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.monitored), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.down), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.blind), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.maintenance), 0))
		FROM x
		GROUP BY x.camera_id, x.check_type, x.hour_s
		ON CONFLICT (camera_id, hour, check_type) DO UPDATE
		SET n_ok = t.n_ok + excluded.n_ok,
			n_warning = t.n_warning + excluded.n_warning,
			n_critical = t.n_critical + excluded.n_critical,
			n_error = t.n_error + excluded.n_error,
			latency_sum = CASE WHEN excluded.latency_sum IS NULL THEN t.latency_sum
							  ELSE coalesce(t.latency_sum, 0) + excluded.latency_sum END,
			latency_min = least(t.latency_min, excluded.latency_min),
			latency_max = greatest(t.latency_max, excluded.latency_max),
			latency_hist = CASE WHEN excluded.latency_hist IS NULL THEN t.latency_hist
							   ELSE camera_health.latency_hist_merge(t.latency_hist, excluded.latency_hist) END,
			monitored_s = least(3600, t.monitored_s + excluded.monitored_s),
			down_s = least(3600, t.down_s + excluded.down_s),
			blind_s = least(3600, t.blind_s + excluded.blind_s),
			maintenance_s = least(3600, t.maintenance_s + excluded.maintenance_s)
	)
	INSERT INTO camera_health.uptime_daily AS d
		(camera_id, day, ip_monitored_s, ip_down_s, stream_monitored_s, stream_down_s, blind_s, maintenance_s)
	SELECT x.camera_id, to_timestamp(floor(x.hour_s::float8 / 86400) * 86400),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.monitored), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.down), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'vision' AND x.monitored), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'vision' AND x.down), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.blind), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.maintenance), 0)
	FROM x
	WHERE x.seconds > 0 AND x.check_type IN ('ip', 'vision')
	GROUP BY 1, 2
	ON CONFLICT (camera_id, day) DO UPDATE
	SET ip_monitored_s = d.ip_monitored_s + excluded.ip_monitored_s,
		ip_down_s = d.ip_down_s + excluded.ip_down_s,
		stream_monitored_s = d.stream_monitored_s + excluded.stream_monitored_s,
		stream_down_s = d.stream_down_s + excluded.stream_down_s,
		blind_s = d.blind_s + excluded.blind_s,
		maintenance_s = d.maintenance_s + excluded.maintenance_s;
END;
COMMENT ON FUNCTION camera_health.record_trends(camera_health.batch_result[], bigint) IS
'For record_results: adds round rnd of a batch of results to the hourly trends and their daily uptime sums (a status holds until the next check of its type, at most 3 intervals; the time since the previous check goes to the previous status; maintenance windows count apart).';

/* ---- reading: uptime ------------------------------------------------------ */

CREATE FUNCTION camera_health.check_uptime_range(since timestamptz, until timestamptz)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF until <= since THEN
		RAISE EXCEPTION 'invalid range: until (%) is not after since (%)', until, since
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give since < until, e.g. since => now() - interval ''30 days'', until => now().';
	END IF;
	IF since = '-infinity' OR until = 'infinity' THEN
		RAISE EXCEPTION 'invalid range: since and until must be finite'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_uptime_range(timestamptz, timestamptz) IS
'Raises null_value_not_allowed (22004) or invalid_parameter_value (22023) unless since < until, both finite.';

/*
 * The trend seconds of each camera (or of those of camera_ids) over
 * [since, until): whole
 * UTC days from uptime_daily, the hours of the partial days at either end
 * from check_trends, hours partly in the range pro rata (an hour a quarter
 * inside counts a quarter of its seconds).  Hours without trends (beyond
 * the trends' retention, before the camera's first check) are unmonitored.
 */
CREATE FUNCTION camera_health.uptime_seconds(since timestamptz, until timestamptz, camera_ids bigint[] DEFAULT NULL)
RETURNS TABLE (camera_id bigint, ip_monitored_s double precision, ip_down_s double precision,
			   maintenance_s double precision, stream_monitored_s double precision,
			   stream_down_s double precision, blind_s double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- the whole UTC days inside the range: [first_day, end_day)
	first_day timestamptz := to_timestamp(ceil(extract(epoch FROM since) / 86400) * 86400);
	end_day timestamptz := to_timestamp(floor(extract(epoch FROM until) / 86400) * 86400);
BEGIN
	IF first_day >= end_day THEN
		first_day := until;		-- no whole day: hours only
		end_day := until;
	END IF;
	-- one text for both cases; the camera filter is a constant in each plan
	RETURN QUERY EXECUTE format($q$
		SELECT s.camera_id, sum(s.ip_mon), sum(s.ip_down), sum(s.maint), sum(s.smon), sum(s.sdown), sum(s.blind)
		FROM (
			SELECT d.camera_id, d.ip_monitored_s::float8 AS ip_mon, d.ip_down_s::float8 AS ip_down,
				   d.maintenance_s::float8 AS maint, d.stream_monitored_s::float8 AS smon,
				   d.stream_down_s::float8 AS sdown, d.blind_s::float8 AS blind
			FROM camera_health.uptime_daily d
			WHERE d.day >= $3 AND d.day < $4 AND %1$s
			UNION ALL
			SELECT t.camera_id,
				   CASE WHEN t.check_type = 'ip' THEN t.monitored_s * f.f END,
				   CASE WHEN t.check_type = 'ip' THEN t.down_s * f.f END,
				   CASE WHEN t.check_type = 'ip' THEN t.maintenance_s * f.f END,
				   CASE WHEN t.check_type = 'vision' THEN t.monitored_s * f.f END,
				   CASE WHEN t.check_type = 'vision' THEN t.down_s * f.f END,
				   t.blind_s * f.f
			FROM camera_health.check_trends t
			CROSS JOIN LATERAL (SELECT CASE WHEN t.hour >= $1 AND t.hour + interval '1 hour' <= $2 THEN 1.0::float8
											ELSE greatest(0, extract(epoch FROM least($2, t.hour + interval '1 hour')
																	 - greatest($1, t.hour)))::float8 / 3600
									   END AS f) f
			WHERE ((t.hour > $1 - interval '1 hour' AND t.hour < $3) OR (t.hour >= $4 AND t.hour < $2))
			  AND t.check_type IN ('ip', 'vision') AND %2$s
		) s
		GROUP BY s.camera_id$q$,
		CASE WHEN camera_ids IS NULL THEN 'true' ELSE 'd.camera_id = ANY ($5)' END,
		CASE WHEN camera_ids IS NULL THEN 'true' ELSE 't.camera_id = ANY ($5)' END)
	USING since, until, first_day, end_day, camera_ids;
END
$$;
COMMENT ON FUNCTION camera_health.uptime_seconds(timestamptz, timestamptz, bigint[]) IS
'Per camera (or for those of camera_ids), the monitored, down, maintenance and blind seconds over [since, until): whole days from uptime_daily, the hours at the ends from check_trends (partly inside pro rata).';

CREATE FUNCTION camera_health.camera_uptime(camera_id bigint, since timestamptz, until timestamptz)
RETURNS TABLE (camera_id bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT camera_health.require_camera(camera_uptime.camera_id);
	SELECT camera_health.check_uptime_range(camera_uptime.since, camera_uptime.until);
	SELECT camera_uptime.camera_id, camera_uptime.since, camera_uptime.until,
		   1 - u.ip_down_s / nullif(u.ip_monitored_s, 0),
		   1 - u.stream_down_s / nullif(u.stream_monitored_s, 0),
		   coalesce(u.blind_s, 0) / 60, coalesce(u.ip_down_s, 0) / 60, coalesce(u.stream_down_s, 0) / 60,
		   coalesce(u.ip_monitored_s, 0) / 60, coalesce(u.stream_monitored_s, 0) / 60,
		   coalesce(u.maintenance_s, 0) / 60
	FROM (SELECT 1) AS one
	LEFT JOIN camera_health.uptime_seconds(camera_uptime.since, camera_uptime.until, ARRAY[camera_uptime.camera_id]) u ON true;
END;
COMMENT ON FUNCTION camera_health.camera_uptime(bigint, timestamptz, timestamptz) IS
'Uptime of one camera over [since, until), from the hourly trends (hours partly inside pro rata): availability = 1 - ip down / ip monitored time, stream_availability the same for the vision stream, blind_minutes when the picture was unusable (unreachable, stream unavailable, obstructed, blurred, frozen). Maintenance windows are excluded from all of them (maintenance_minutes says how much); unmonitored time (no check within 3 intervals, check errors, hours beyond the trend retention) counts neither way; availability is NULL without monitored time. Raises 22023 unless since < until.';

CREATE FUNCTION camera_health.fleet_uptime(since timestamptz, until timestamptz, site text DEFAULT NULL)
RETURNS TABLE (scope text, site text, cameras bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT camera_health.check_uptime_range(fleet_uptime.since, fleet_uptime.until);
	WITH per_camera AS (
		SELECT c.site, u.*
		FROM camera_health.cameras c
		-- one site: only its cameras' trends are read
		LEFT JOIN camera_health.uptime_seconds(fleet_uptime.since, fleet_uptime.until,
			CASE WHEN fleet_uptime.site IS NOT NULL THEN coalesce((SELECT array_agg(s.id) FROM camera_health.cameras s
																   WHERE s.site = fleet_uptime.site), '{}') END) u
			ON u.camera_id = c.id
		WHERE fleet_uptime.site IS NULL OR c.site = fleet_uptime.site
	), grouped AS (
		SELECT CASE WHEN grouping(p.site) = 1 THEN 'fleet' ELSE 'site' END AS scope, p.site,
			   count(*) AS cameras, sum(p.ip_monitored_s) AS mon, sum(p.ip_down_s) AS down,
			   sum(p.stream_monitored_s) AS smon, sum(p.stream_down_s) AS sdown,
			   sum(p.blind_s) AS blind, sum(p.maintenance_s) AS maint
		FROM per_camera p
		GROUP BY GROUPING SETS ((p.site), ())
	)
	SELECT g.scope, g.site, g.cameras, fleet_uptime.since, fleet_uptime.until,
		   1 - g.down / nullif(g.mon, 0), 1 - g.sdown / nullif(g.smon, 0),
		   coalesce(g.blind, 0) / 60, coalesce(g.down, 0) / 60, coalesce(g.sdown, 0) / 60,
		   coalesce(g.mon, 0) / 60, coalesce(g.smon, 0) / 60, coalesce(g.maint, 0) / 60
	FROM grouped g
	WHERE fleet_uptime.site IS NULL OR g.scope = 'site'
	ORDER BY g.scope DESC, g.site NULLS LAST;
END;
COMMENT ON FUNCTION camera_health.fleet_uptime(timestamptz, timestamptz, text) IS
'Uptime over [since, until) from the hourly trends, one row per site (scope site; site NULL: cameras without one) and, without a site argument, one for the whole fleet (scope fleet): availability and stream_availability weighted by monitored time, blind and down minutes summed over the cameras. Maintenance excluded as in camera_uptime. Raises 22023 unless since < until.';

/* ---- trend retention ------------------------------------------------------ */

CREATE FUNCTION camera_health.get_trend_retention(camera_id bigint)
RETURNS camera_health.trend_retention
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.trend_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT r.* INTO result FROM camera_health.trend_retention r WHERE r.camera_id = get_trend_retention.camera_id;
	IF NOT FOUND THEN
		result := ROW(camera_id, camera_health.default_trend_retention(), NULL);
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.get_trend_retention(bigint) IS
'How long the camera''s hourly trends are kept; updated_at is NULL when the default (camera_health.default_trend_retention) applies.';

CREATE FUNCTION camera_health.set_trend_retention(camera_id bigint, retention interval)
RETURNS camera_health.trend_retention
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.trend_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF retention IS NULL THEN
		RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF retention NOT BETWEEN interval '1 day' AND interval '3650 days' THEN
		RAISE EXCEPTION 'invalid trend retention: %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep trends for 1 day to 3650 days.';
	END IF;
	INSERT INTO camera_health.trend_retention AS r (camera_id, retention, updated_at)
	VALUES (camera_id, retention, now())
	ON CONFLICT ON CONSTRAINT trend_retention_pkey
	DO UPDATE SET retention = excluded.retention, updated_at = excluded.updated_at
	RETURNING r.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.set_trend_retention(bigint, interval) IS
'Sets how long the camera''s hourly trends are kept (1 day to 3650 days) and returns the policy; the retention worker enforces it.';

/*
 * Creates the monthly partitions of check_trends from this month (UTC) to
 * months_ahead months on; a month whose rows already went to the default
 * partition is left there (retention deletes them row by row).
 */
CREATE FUNCTION camera_health.create_trend_partitions(months_ahead integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parent record;
	month date;
	created integer := 0;
	part text;
	in_default boolean;
BEGIN
	IF months_ahead IS NULL OR months_ahead NOT BETWEEN 0 AND 24 THEN
		RAISE EXCEPTION 'invalid months_ahead: %', months_ahead
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Create 0 to 24 months ahead.';
	END IF;
	FOR parent IN SELECT * FROM (VALUES ('check_trends', 'hour'), ('uptime_daily', 'day')) AS v(name, col) LOOP
		FOR month IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
											date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead),
											interval '1 month')::date
		LOOP
			part := format('%s_p%s', parent.name, to_char(month, 'YYYYMM'));
			CONTINUE WHEN to_regclass('camera_health.' || part) IS NOT NULL;
			EXECUTE format('SELECT EXISTS (SELECT FROM camera_health.%I WHERE %I >= %L AND %I < %L)',
						   parent.name || '_default', parent.col, month::timestamp AT TIME ZONE 'UTC',
						   parent.col, (month + interval '1 month') AT TIME ZONE 'UTC')
			INTO STRICT in_default;
			CONTINUE WHEN in_default;
			EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.%I FOR VALUES FROM (%L) TO (%L)',
						   part, parent.name, month::timestamp AT TIME ZONE 'UTC',
						   (month + interval '1 month') AT TIME ZONE 'UTC');
			created := created + 1;
		END LOOP;
	END LOOP;
	RETURN created;
END
$$;
COMMENT ON FUNCTION camera_health.create_trend_partitions(integer) IS
'Creates the monthly partitions of check_trends and uptime_daily up to months_ahead months ahead (the retention worker calls it); returns how many it created.';

/* The longest trend retention of any camera: months older than this hold only expired rows. */
CREATE FUNCTION camera_health.longest_trend_retention()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT greatest(camera_health.default_trend_retention(),
					(SELECT max(retention) FROM camera_health.trend_retention));
END;
COMMENT ON FUNCTION camera_health.longest_trend_retention() IS
'The longest trend retention of any camera: the default or the longest policy.';

/* The monthly partitions of check_trends and uptime_daily that end at or before horizon. */
CREATE FUNCTION camera_health.expired_trend_partitions(horizon timestamptz)
RETURNS TABLE (partition regclass, ends timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass,
		   (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC'
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent IN ('camera_health.check_trends'::regclass, 'camera_health.uptime_daily'::regclass)
	  AND c.relname ~ '_p[0-9]{6}$'
	  AND (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC' <= horizon
	ORDER BY 2;
END;
COMMENT ON FUNCTION camera_health.expired_trend_partitions(timestamptz) IS
'Monthly partitions of check_trends and uptime_daily whose whole range is older than horizon (for the retention worker).';

/* The partitions of check_trends and uptime_daily that may hold rows past the shortest trend retention. */
CREATE FUNCTION camera_health.trend_partitions_to_prune()
RETURNS TABLE (partition regclass, time_column text, period interval)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass,
		   CASE WHEN i.inhparent = 'camera_health.check_trends'::regclass THEN 'hour' ELSE 'day' END,
		   CASE WHEN i.inhparent = 'camera_health.check_trends'::regclass THEN interval '1 hour' ELSE interval '1 day' END
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent IN ('camera_health.check_trends'::regclass, 'camera_health.uptime_daily'::regclass)
	  AND (c.relname !~ '_p[0-9]{6}$'
		   OR to_date(right(c.relname, 6), 'YYYYMM') AT TIME ZONE 'UTC'
			  < now() - least(camera_health.default_trend_retention(),
							  (SELECT min(r.retention) FROM camera_health.trend_retention r)))
	ORDER BY 1;
END;
COMMENT ON FUNCTION camera_health.trend_partitions_to_prune() IS
'The partitions of check_trends and uptime_daily that may hold expired rows (the default ones and the months that start before the shortest retention), with the column that dates a row and the period a row covers (for the retention worker).';

/* ---- health_summary(): uptime over the last day and month ------------------ */

/* fleet_uptime over a range as JSON: the fleet's figures and one entry per site. */
CREATE FUNCTION camera_health.uptime_summary(since timestamptz, until timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH f AS MATERIALIZED (SELECT * FROM camera_health.fleet_uptime(since, until))
	SELECT jsonb_build_object(
		'availability', fleet.availability, 'stream_availability', fleet.stream_availability,
		'blind_minutes', round(fleet.blind_minutes::numeric, 1),
		'maintenance_minutes', round(fleet.maintenance_minutes::numeric, 1),
		'sites', (SELECT coalesce(jsonb_agg(jsonb_build_object(
						 'site', f.site, 'availability', f.availability, 'stream_availability', f.stream_availability,
						 'blind_minutes', round(f.blind_minutes::numeric, 1),
						 'maintenance_minutes', round(f.maintenance_minutes::numeric, 1))
						 ORDER BY f.site NULLS LAST), '[]')
				  FROM f WHERE f.scope = 'site'))
	FROM f AS fleet WHERE fleet.scope = 'fleet';
END;
COMMENT ON FUNCTION camera_health.uptime_summary(timestamptz, timestamptz) IS
'For health_summary(): fleet_uptime over [since, until) as JSON (fleet availability, stream_availability, blind and maintenance minutes, and the same per site).';

-- health_summary() gains these figures in sql/16_dashboard.sql, where 1.1 defines it

/* ---- SLA of a month --------------------------------------------------------- */

CREATE FUNCTION camera_health.month_range(month text, OUT since timestamptz, OUT until timestamptz)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF month IS NULL THEN
		RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
		RAISE EXCEPTION 'invalid month: "%"', left(month, 40)
			USING ERRCODE = 'invalid_datetime_format', HINT = 'Give the month as YYYY-MM, e.g. 2026-11.';
	END IF;
	since := (month || '-01')::timestamp AT TIME ZONE 'UTC';
	until := ((month || '-01')::timestamp + interval '1 month') AT TIME ZONE 'UTC';
END
$$;
COMMENT ON FUNCTION camera_health.month_range(text) IS
'The UTC range of a month given as YYYY-MM; raises invalid_datetime_format (22007) otherwise.';

CREATE FUNCTION camera_health.camera_sla(month text)
RETURNS TABLE (scope text, site text, camera_id bigint, camera_name text, cameras bigint,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   maintenance_minutes double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH r AS (SELECT * FROM camera_health.month_range(month)),
	per_camera AS (
		SELECT c.id, c.name, c.site, u.*
		FROM camera_health.cameras c
		LEFT JOIN camera_health.uptime_seconds((SELECT r.since FROM r), (SELECT r.until FROM r)) u ON u.camera_id = c.id
	), grouped AS (
		SELECT CASE WHEN grouping(p.id) = 0 THEN 'camera' WHEN grouping(p.site) = 0 THEN 'site' ELSE 'fleet' END AS scope,
			   p.site, p.id, CASE WHEN grouping(p.id) = 0 THEN min(p.name) END AS name, count(*) AS cameras,
			   sum(p.ip_monitored_s) AS mon, sum(p.ip_down_s) AS down, sum(p.stream_monitored_s) AS smon,
			   sum(p.stream_down_s) AS sdown, sum(p.blind_s) AS blind, sum(p.maintenance_s) AS maint
		FROM per_camera p
		GROUP BY GROUPING SETS ((p.site, p.id), (p.site), ())
	)
	SELECT g.scope, g.site, g.id, g.name, g.cameras,
		   1 - g.down / nullif(g.mon, 0), 1 - g.sdown / nullif(g.smon, 0),
		   coalesce(g.blind, 0) / 60, coalesce(g.down, 0) / 60, coalesce(g.sdown, 0) / 60,
		   coalesce(g.mon, 0) / 60, coalesce(g.maint, 0) / 60
	FROM grouped g
	ORDER BY CASE g.scope WHEN 'camera' THEN 0 WHEN 'site' THEN 1 ELSE 2 END, g.site NULLS LAST, g.id;
END;
COMMENT ON FUNCTION camera_health.camera_sla(text) IS
'The SLA report of a month (YYYY-MM, UTC): one row per camera (scope camera), per site (scope site) and for the fleet (scope fleet), with the figures of camera_uptime over the month (maintenance excluded). Raises 22007 for a malformed month.';

/* ---- privileges ------------------------------------------------------------ */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;
-- trends hold no imagery and no credentials: readers may read them
GRANT SELECT ON camera_health.check_trends, camera_health.uptime_daily, camera_health.trend_retention TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.default_trend_retention(),
	camera_health.check_uptime_range(timestamptz, timestamptz),
	camera_health.uptime_seconds(timestamptz, timestamptz, bigint[]),
	camera_health.month_range(text),
	camera_health.get_trend_retention(bigint),
	camera_health.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health.fleet_uptime(timestamptz, timestamptz, text),
	camera_health.camera_sla(text),
	camera_health.latency_hist_quantile(bytea, double precision),
	camera_health.latency_hist_count(bytea),
	camera_health.latency_hist_merge(bytea, bytea),
	camera_health.latency_hist_sum(bytea)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION camera_health.set_trend_retention(bigint, interval) TO camera_health_writer;

/* ---- HTTP (PostgREST): GET /health/camera/{id}/uptime, /health/uptime, /health/sla */

-- the row of camera_uptime, named (a PL/pgSQL function cannot have a column named as an argument)
CREATE TYPE camera_health.uptime_report AS (
	camera_id bigint, since timestamptz, until timestamptz,
	availability double precision, stream_availability double precision,
	blind_minutes double precision, down_minutes double precision,
	stream_down_minutes double precision, monitored_minutes double precision,
	stream_monitored_minutes double precision, maintenance_minutes double precision);
COMMENT ON TYPE camera_health.uptime_report IS 'A row of camera_uptime(): a camera''s uptime over a range (see there).';

CREATE FUNCTION camera_health_api.camera_uptime(camera_id bigint, since timestamptz DEFAULT NULL,
												until timestamptz DEFAULT NULL)
RETURNS SETOF camera_health.uptime_report
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_uptime($1, coalesce($2, coalesce($3, now()) - interval '30 days'),
														   coalesce($3, now()));
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz) IS
'Uptime of a camera from the hourly trends (GET /health/camera/{id}/uptime?since=&until=; the last 30 days by default): availability (ip), stream_availability, blind, down, monitored and maintenance minutes; maintenance windows excluded, hours partly in the range pro rata. 400 unless since < until, 404 for an unknown camera.';

CREATE FUNCTION camera_health_api.fleet_uptime(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
											   site text DEFAULT NULL)
RETURNS TABLE (scope text, site text, cameras bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.fleet_uptime(coalesce(fleet_uptime.since, coalesce(fleet_uptime.until, now()) - interval '30 days'),
											 coalesce(fleet_uptime.until, now()), fleet_uptime.site);
END;
COMMENT ON FUNCTION camera_health_api.fleet_uptime(timestamptz, timestamptz, text) IS
'Uptime of the fleet from the hourly trends (GET /health/uptime?since=&until=&site=; the last 30 days by default): a row per site and one for the fleet (only the site''s row with site=), as camera_uptime. 400 unless since < until.';

CREATE FUNCTION camera_health_api.camera_sla(month text)
RETURNS TABLE (scope text, site text, camera_id bigint, camera_name text, cameras bigint,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.camera_sla(camera_sla.month);
END;
COMMENT ON FUNCTION camera_health_api.camera_sla(text) IS
'The SLA report of a month (GET /health/sla?month=YYYY-MM, UTC; JSON, or CSV with Accept: text/csv): a row per camera, per site and for the fleet; maintenance windows excluded. 400 for a malformed month.';

REVOKE ALL ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health_api.fleet_uptime(timestamptz, timestamptz, text),
	camera_health_api.camera_sla(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health_api.fleet_uptime(timestamptz, timestamptz, text),
	camera_health_api.camera_sla(text)
	TO camera_health_reader;

/* ------------------------------------------------------------------------
 * The operator's dashboard (issue 13): the reads its pages make
 *
 * The dashboard is static files talking to the HTTP API only.  Its fleet
 * page shows thousands of cameras and the open alerts, its camera page a
 * day of checks; each is one call here, a page at a time (keyset paging:
 * the next page starts after the last id of the one before, so a page
 * costs the same wherever it is and never holds the whole history):
 *  - camera_board(): a tile per camera, its health, the status of each
 *    check and since when, its open alerts, whether it has a snapshot;
 *  - open_alerts(): the open alerts of the fleet, newest first, with the
 *    key notifications group them by;
 *  - camera_heartbeat(): a camera's checks since a time (a day by default)
 *    as arrays, one row per check type, for its heartbeat bars and latency
 *    chart, read from the chunks' arrays without rebuilding any metadata.
 * A camera's health is that of health_summary(), through one function
 * (health_state), so that the counts of the board are the summary's.
 * ------------------------------------------------------------------------ */

/*
 * What a camera's tile says: disabled; in maintenance (a window covers it
 * now: what fails is planned work, and nothing is notified); unknown (no
 * check yet); healthy (every latest check ok); unhealthy.  An IMMUTABLE SQL
 * function without a SET clause (see sql/14_history.sql): the planner
 * inlines it, so it costs nothing per camera.
 */
CREATE FUNCTION camera_health.health_state(enabled boolean, in_maintenance boolean, checks bigint, not_ok bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN NOT enabled THEN 'disabled'
			WHEN in_maintenance THEN 'maintenance'
			WHEN coalesce(checks, 0) = 0 THEN 'unknown'
			WHEN coalesce(not_ok, 0) = 0 THEN 'healthy'
			ELSE 'unhealthy' END;
COMMENT ON FUNCTION camera_health.health_state(boolean, boolean, bigint, bigint) IS
'A camera''s health from whether it is enabled and in maintenance, how many latest checks it has and how many of them are not ok: disabled, maintenance, unknown, healthy or unhealthy (health_summary() and camera_board() count with it).';

/*
 * health_summary() of 1.1, its only definition in the install script (the
 * upgrade replaces 1.0's with it): 1.0's, with the dead letters and the
 * sites, uptime over the last 24 hours and 30 days (issue 12:
 * uptime_summary() in sql/15_trends.sql), and cameras in maintenance
 * counted apart ('maintenance', fleet-wide and per site): healthy,
 * unhealthy and unknown count the enabled cameras no window covers now, so
 * that enabled = healthy + unhealthy + unknown + maintenance, and an
 * outage during planned work does not show as unhealthy.  The windows of
 * now are read once (a handful of rows), not once per camera.
 */
CREATE OR REPLACE FUNCTION camera_health.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH win AS MATERIALIZED (
		SELECT w.camera_id, w.site FROM camera_health.maintenance_windows w
		WHERE w.starts_at <= now() AND w.ends_at > now()
	), per_camera AS (
		SELECT c.id, c.enabled, c.site,
			   camera_health.health_state(c.enabled,
										  EXISTS (SELECT FROM win
												  WHERE (win.camera_id IS NULL OR win.camera_id = c.id)
													AND (win.site IS NULL OR win.site = c.site)),
										  s.checks, s.not_ok) AS health
		FROM camera_health.cameras c
		LEFT JOIN (SELECT st.camera_id, count(*) AS checks, count(*) FILTER (WHERE st.status <> 'ok') AS not_ok
				   FROM camera_health.camera_status st GROUP BY st.camera_id) s ON s.camera_id = c.id
	), per_site AS (
		SELECT p.site, count(*) AS cameras, count(*) FILTER (WHERE p.enabled) AS enabled,
			   count(*) FILTER (WHERE p.health = 'healthy') AS healthy,
			   count(*) FILTER (WHERE p.health = 'unhealthy') AS unhealthy,
			   count(*) FILTER (WHERE p.health = 'unknown') AS unknown,
			   count(*) FILTER (WHERE p.health = 'maintenance') AS maintenance,
			   (SELECT count(*) FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
				WHERE a.resolved_at IS NULL AND c.site IS NOT DISTINCT FROM p.site) AS open_alerts
		FROM per_camera p
		GROUP BY p.site
	), per_check AS (
		SELECT t.check_type,
			   jsonb_build_object(
				   'ok', count(*) FILTER (WHERE s.status = 'ok'),
				   'warning', count(*) FILTER (WHERE s.status = 'warning'),
				   'critical', count(*) FILTER (WHERE s.status = 'critical'),
				   'error', count(*) FILTER (WHERE s.status = 'error')) AS counts
		FROM (VALUES ('ip'), ('port'), ('vision')) AS t(check_type)
		LEFT JOIN (camera_health.camera_status s
				   JOIN camera_health.cameras c ON c.id = s.camera_id AND c.enabled)
			   ON s.check_type = t.check_type
		GROUP BY t.check_type
	), open_alerts AS (
		SELECT count(*) AS total,
			   count(*) FILTER (WHERE a.severity = 'critical') AS critical,
			   count(*) FILTER (WHERE a.severity = 'warning') AS warning,
			   count(*) FILTER (WHERE a.status = 'acknowledged') AS acknowledged
		FROM camera_health.alerts a WHERE a.resolved_at IS NULL
	), open_by_type AS (
		SELECT coalesce(jsonb_object_agg(t.alert_type, t.n), '{}') AS by_type
		FROM (SELECT a.alert_type, count(*) AS n FROM camera_health.alerts a
			  WHERE a.resolved_at IS NULL GROUP BY a.alert_type) t
	), dead AS (
		SELECT count(*) AS total, max(d.created_at) AS last_at FROM camera_health.dead_letters d
	)
	SELECT jsonb_build_object(
		'cameras', (SELECT count(*) FROM per_camera),
		'enabled', (SELECT count(*) FROM per_camera WHERE enabled),
		'disabled', (SELECT count(*) FROM per_camera WHERE health = 'disabled'),
		'healthy', (SELECT count(*) FROM per_camera WHERE health = 'healthy'),
		'unhealthy', (SELECT count(*) FROM per_camera WHERE health = 'unhealthy'),
		'unknown', (SELECT count(*) FROM per_camera WHERE health = 'unknown'),
		'maintenance', (SELECT count(*) FROM per_camera WHERE health = 'maintenance'),
		'open_alerts', (SELECT jsonb_build_object('total', total, 'critical', critical,
												  'warning', warning, 'acknowledged', acknowledged,
												  'by_type', by_type)
						FROM open_alerts, open_by_type),
		'checks', (SELECT jsonb_object_agg(check_type, counts) FROM per_check),
		'dead_letters', (SELECT jsonb_build_object('total', total, 'last_at', last_at) FROM dead),
		'sites', (SELECT coalesce(jsonb_agg(jsonb_build_object('site', site, 'cameras', cameras, 'enabled', enabled,
															   'healthy', healthy, 'unhealthy', unhealthy,
															   'unknown', unknown, 'maintenance', maintenance,
															   'open_alerts', open_alerts)
											ORDER BY site NULLS LAST), '[]')
				  FROM per_site),
		'uptime', jsonb_build_object(
			'last_24h', camera_health.uptime_summary(now() - interval '24 hours', now()),
			'last_30d', camera_health.uptime_summary(now() - interval '30 days', now())),
		'generated_at', now());
END;
COMMENT ON FUNCTION camera_health.health_summary() IS
'Fleet health: cameras in all, enabled, disabled, healthy (every latest check ok), unhealthy, unknown (not checked yet), since 1.1 maintenance (enabled and covered by a maintenance window now: not counted as healthy, unhealthy or unknown; see health_state); open alerts by severity and type; latest statuses per check type; results set aside as dead letters (kept, and when the last was); the same counts and open alerts per site (site null: cameras without one); since 1.1 uptime over the last 24 hours and 30 days, fleet-wide and per site (see fleet_uptime; maintenance excluded).';

-- over HTTP: GET /health/summary (PostgREST's /rpc/health_summary)
CREATE OR REPLACE FUNCTION camera_health_api.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN camera_health.health_summary();
COMMENT ON FUNCTION camera_health_api.health_summary() IS
'Fleet health (GET /health/summary): camera_health.health_summary(): cameras (enabled, disabled, healthy, unhealthy, unknown, in maintenance), open alerts by severity and type, latest statuses per check type, dead letters, the same per site, uptime over 24 hours and 30 days.';

/* ---- the fleet's tiles ------------------------------------------------------ */

-- a row of camera_board() (a PL/pgSQL function cannot have a column named as an argument: site, status)
CREATE TYPE camera_health.camera_tile AS (
	id bigint, name text, site text, tags text[], ip_address text, enabled boolean, in_maintenance boolean,
	health text, ip_status text, ip_since timestamptz, port_status text, port_since timestamptz,
	vision_status text, vision_since timestamptz, open_alerts integer, worst_severity text,
	snapshot_at timestamptz);
COMMENT ON TYPE camera_health.camera_tile IS
'A camera''s tile on the dashboard, a row of camera_board(): the camera, its health (as health_summary() counts it), each check''s latest status and since when, its open alerts and their worst severity, when its snapshot was taken (NULL: none).';

/* A search text as an ILIKE pattern matching it anywhere: its own % _ and \ stand for themselves. */
CREATE FUNCTION camera_health.contains_pattern(search text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%';
COMMENT ON FUNCTION camera_health.contains_pattern(text) IS
'The ILIKE pattern that finds search anywhere in a text, with the %, _ and \ of search escaped.';

CREATE FUNCTION camera_health.check_page_rows(max_rows integer, paging text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'invalid max_rows: %', coalesce(max_rows::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Ask for 1 to 1000 rows; for the next page, pass %s the last id of this one.', paging);
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_page_rows(integer, text) IS
'Raises invalid_parameter_value (22023) unless max_rows is 1 to 1000 (a page of the dashboard); paging names the paging argument in the hint.';

/*
 * One pass over the cameras in id order (their primary key), the rest
 * joined by key: the three latest statuses, the snapshot's time (not the
 * picture), the open alerts counted once per call, the maintenance
 * windows of now read once.  No function that runs SQL is called per
 * camera.  SECURITY DEFINER: readers may not read the cameras table (it
 * holds credentials) nor the snapshots (imagery); no URL and no picture is
 * returned.
 */
CREATE FUNCTION camera_health.camera_board(
	search text DEFAULT NULL,
	site text DEFAULT NULL,
	status text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	after_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.camera_tile
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- '' searches for nothing: every camera
	pattern text := CASE WHEN search <> '' THEN camera_health.contains_pattern(search) END;
BEGIN
	PERFORM camera_health.check_page_rows(max_rows, 'after_id =');
	IF status NOT IN ('healthy', 'unhealthy', 'unknown', 'maintenance', 'disabled') THEN
		RAISE EXCEPTION 'invalid status: "%"', left(status, 40)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A camera is healthy, unhealthy, unknown, maintenance or disabled; NULL for all.';
	END IF;
	RETURN QUERY
	WITH win AS MATERIALIZED (
		SELECT w.camera_id, w.site FROM camera_health.maintenance_windows w
		WHERE w.starts_at <= now() AND w.ends_at > now()
	), alerts_open AS (
		SELECT a.camera_id, count(*)::integer AS n,
			   max(CASE a.severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 END) AS worst
		FROM camera_health.alerts a WHERE a.resolved_at IS NULL AND a.camera_id > coalesce(after_id, 0)
		GROUP BY a.camera_id
	)
	SELECT c.id, c.name, c.site, c.tags, host(c.ip_address), c.enabled, m.in_maintenance,
		   h.health, si.status, si.since, sp.status, sp.since, sv.status, sv.since,
		   coalesce(al.n, 0), CASE al.worst WHEN 2 THEN 'critical' WHEN 1 THEN 'warning' END, sn.taken_at
	-- (the page's lower bound on every table: a merge join then starts each index there, not at the first camera)
	FROM camera_health.cameras c
	LEFT JOIN camera_health.camera_status si
		   ON si.camera_id = c.id AND si.check_type = 'ip' AND si.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.camera_status sp
		   ON sp.camera_id = c.id AND sp.check_type = 'port' AND sp.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.camera_status sv
		   ON sv.camera_id = c.id AND sv.check_type = 'vision' AND sv.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.snapshots sn ON sn.camera_id = c.id AND sn.camera_id > coalesce(after_id, 0)
	LEFT JOIN alerts_open al ON al.camera_id = c.id
	CROSS JOIN LATERAL (SELECT EXISTS (SELECT FROM win
									   WHERE (win.camera_id IS NULL OR win.camera_id = c.id)
										 AND (win.site IS NULL OR win.site = c.site)) AS in_maintenance) m
	CROSS JOIN LATERAL (SELECT camera_health.health_state(
							c.enabled, m.in_maintenance, num_nonnulls(si.status, sp.status, sv.status),
							num_nonnulls(nullif(si.status, 'ok'), nullif(sp.status, 'ok'), nullif(sv.status, 'ok'))
						) AS health) h
	WHERE c.id > coalesce(after_id, 0)
	  AND (camera_board.site IS NULL OR c.site = camera_board.site)
	  AND (camera_board.status IS NULL OR h.health = camera_board.status)
	  AND (pattern IS NULL OR c.name ILIKE pattern OR host(c.ip_address) ILIKE pattern OR c.site ILIKE pattern
		   OR EXISTS (SELECT FROM unnest(c.tags) AS t(tag) WHERE t.tag ILIKE pattern))
	ORDER BY c.id
	LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.camera_board(text, text, text, integer, bigint) IS
'The dashboard''s camera tiles by id, a page of max_rows (1 to 1000; the next page: after_id => the last id): optionally those whose name, address, site or a tag contains search (case-insensitively, % and _ as themselves), of one site, of one health (healthy, unhealthy, unknown, maintenance, disabled, as health_summary() counts them). No credentials, no pictures.';

/* ---- the fleet's open alerts ------------------------------------------------- */

-- the open alerts by time, newest first, a page at a time (the index holds the open ones only)
CREATE INDEX alerts_open_created_idx ON camera_health.alerts (created_at, id) WHERE resolved_at IS NULL;

/*
 * How notifications group an alert: a notification tells one channel
 * about the alerts of one site (plan_notifications), and a channel only
 * filters which alerts it takes, so across channels the alerts of one site
 * go together.  'site:' and the site's name ('site:' alone for cameras
 * without a site, as a site has at least one character).
 */
CREATE FUNCTION camera_health.alert_group_key(site text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'site:' || coalesce(site, '');
COMMENT ON FUNCTION camera_health.alert_group_key(text) IS
'The key notifications group the alerts of a camera of this site by: site:NAME, or site: for cameras without a site.';

-- a row of open_alerts() (named, as camera_tile)
CREATE TYPE camera_health.open_alert AS (
	id bigint, camera_id bigint, camera_name text, site text, alert_type text, severity text, status text,
	message text, created_at timestamptz, last_seen_at timestamptz, acknowledged boolean,
	acknowledged_at timestamptz, has_evidence boolean, group_key text);
COMMENT ON TYPE camera_health.open_alert IS
'An open alert on the dashboard, a row of open_alerts(): the alert, its camera''s name and site, whether it was acknowledged (and when), whether it has evidence (alert_evidence()), and the key notifications group it by (alert_group_key).';

CREATE FUNCTION camera_health.open_alerts(
	site text DEFAULT NULL,
	alert_type text DEFAULT NULL,
	severity text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	before_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.open_alert
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	before_at timestamptz;
BEGIN
	PERFORM camera_health.check_page_rows(max_rows, 'before_id =');
	IF severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid severity: "%"', left(severity, 40)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Severities are warning and critical; NULL for both.';
	END IF;
	IF alert_type NOT IN ('camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable',
						  'blur', 'obstruction', 'displacement', 'frozen') THEN
		RAISE EXCEPTION 'invalid alert_type: "%"', left(alert_type, 40)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'camera_unreachable, port_unavailable, high_latency, stream_unavailable, blur, obstruction, displacement or frozen; NULL for all.';
	END IF;
	-- the page goes on after that alert, where it stood (it may have resolved since)
	IF before_id IS NOT NULL THEN
		SELECT a.created_at INTO before_at FROM camera_health.alerts a WHERE a.id = before_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'alert % does not exist', before_id
				USING ERRCODE = 'no_data_found', HINT = 'It was deleted with its camera: start again without before_id.';
		END IF;
	END IF;
	RETURN QUERY
	SELECT a.id, a.camera_id, c.name, c.site, a.alert_type, a.severity, a.status, a.message, a.created_at,
		   a.last_seen_at, a.acknowledged_at IS NOT NULL, a.acknowledged_at,
		   EXISTS (SELECT FROM camera_health.alert_evidence e WHERE e.camera_id = a.camera_id AND e.alert_id = a.id),
		   camera_health.alert_group_key(c.site)
	FROM camera_health.alerts a
	JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE a.resolved_at IS NULL
	  AND (before_id IS NULL OR (a.created_at, a.id) < (before_at, before_id))
	  AND (open_alerts.site IS NULL OR c.site = open_alerts.site)
	  AND (open_alerts.alert_type IS NULL OR a.alert_type = open_alerts.alert_type)
	  AND (open_alerts.severity IS NULL OR a.severity = open_alerts.severity)
	ORDER BY a.created_at DESC, a.id DESC
	LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.open_alerts(text, text, text, integer, bigint) IS
'The open (not resolved) alerts of the fleet, newest first, a page of max_rows (1 to 1000; the next page: before_id => the last id): optionally of one site, alert type and severity; with the camera''s name and site, acknowledged, has_evidence and group_key (how notifications group them: per site). Raises 22023 for a bad argument, P0002 for an unknown before_id.';

/* ---- a camera's day of checks -------------------------------------------------- */

/*
 * A camera's checks since a time, per check type, as arrays oldest first:
 * the times (epoch milliseconds), a status letter each (o ok, w warning,
 * c critical, e error), the latencies (ms, NULL without one).  The same
 * checks as camera_logs() (and camera_latency()) from the same two tiers,
 * in the reverse of their order; packed checks are read from their chunks'
 * arrays (unnest), without unpack_chunk()'s metadata, which a heartbeat
 * does not show: a day at the default intervals (4,608 checks) is 72
 * chunks and the newest hour's rows.
 */
CREATE FUNCTION camera_health.camera_heartbeat(camera_id bigint, since timestamptz DEFAULT now() - interval '24 hours')
RETURNS TABLE (check_type text, at_ms bigint[], status text, latency_ms real[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	from_at timestamptz := coalesce(since, now() - interval '24 hours');
	-- a packed check's time is whole milliseconds: at or after from_at is at or after this
	from_ms bigint := ceil(extract(epoch FROM from_at) * 1000)::bigint;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF from_at < now() - interval '31 days' THEN
		RAISE EXCEPTION 'since is more than 31 days back'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s.', from_at),
				  HINT = 'A heartbeat covers at most the last 31 days; camera_logs() pages through older history.';
	END IF;
	RETURN QUERY
	WITH chunks AS MATERIALIZED (
		-- the hour in epoch milliseconds once per chunk, so that a check costs an integer addition
		SELECT h.check_type, h.id, h.at_ms, h.status, h.latency_us, (extract(epoch FROM h.hour) * 1000)::bigint AS hour_ms
		FROM camera_health.check_history h
		WHERE h.camera_id = camera_heartbeat.camera_id AND h.hour >= date_trunc('hour', from_at, 'UTC')
	), checks AS (
		-- sort_us and log_id order the checks as camera_logs() does (by time, then log id)
		SELECT c.check_type AS kind, (c.hour_ms + u.ms) * 1000 AS sort_us, c.id * 65536 + u.k AS log_id,
			   c.hour_ms + u.ms AS epoch_ms, u.letter::text AS letter, u.lat AS lat_us
		FROM chunks c
		CROSS JOIN LATERAL unnest(c.at_ms, c.status, c.latency_us) WITH ORDINALITY AS u(ms, letter, lat, k)
		WHERE c.hour_ms + u.ms >= from_ms
		UNION ALL
		SELECT r.check_type, (extract(epoch FROM r.checked_at) * 1000000)::bigint, r.id,
			   round(extract(epoch FROM r.checked_at) * 1000)::bigint, left(r.status, 1), r.latency_us
		FROM camera_health.check_recent r
		WHERE r.camera_id = camera_heartbeat.camera_id AND r.checked_at >= from_at
	)
	-- latency as camera_latency() gives it (microseconds / 1000 in double precision), then real
	SELECT t.kind,
		   coalesce(array_agg(x.epoch_ms ORDER BY x.sort_us, x.log_id) FILTER (WHERE x.kind IS NOT NULL), '{}'),
		   coalesce(string_agg(x.letter, '' ORDER BY x.sort_us, x.log_id), ''),
		   coalesce(array_agg((x.lat_us::double precision / 1000)::real ORDER BY x.sort_us, x.log_id)
						FILTER (WHERE x.kind IS NOT NULL), '{}')
	FROM (VALUES ('ip'), ('port'), ('vision')) AS t(kind)
	LEFT JOIN checks x ON x.kind = t.kind
	GROUP BY t.kind
	ORDER BY t.kind;
END
$$;
COMMENT ON FUNCTION camera_health.camera_heartbeat(bigint, timestamptz) IS
'A camera''s checks since a time (default the last 24 hours, at most 31 days back), one row per check type (ip, port, vision, each also without checks): at_ms the times in epoch milliseconds, oldest first; status a letter per check in the same order (o ok, w warning, c critical, e error); latency_ms the round trips (NULL where none). Raises P0002 for an unknown camera, 22023 for since too far back.';

/* ---- over HTTP: GET /health/board, /health/alerts, /health/camera/{id}/heartbeat */

CREATE FUNCTION camera_health_api.camera_board(
	search text DEFAULT NULL,
	site text DEFAULT NULL,
	status text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	after_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.camera_tile
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.camera_board(camera_board.search, camera_board.site, camera_board.status,
											 camera_board.max_rows, camera_board.after_id);
END;
COMMENT ON FUNCTION camera_health_api.camera_board(text, text, text, integer, bigint) IS
'The dashboard''s camera tiles by id (GET /health/board?search=&site=&status=&max_rows=&after_id=): health (healthy, unhealthy, unknown, maintenance, disabled, as /health/summary counts them), each check''s status and since when, open alerts, worst severity, snapshot time; search finds name, address, site or tag; a page of max_rows (1 to 1000, default 200), the next after_id= the last id. 400 for a bad argument.';

CREATE FUNCTION camera_health_api.open_alerts(
	site text DEFAULT NULL,
	alert_type text DEFAULT NULL,
	severity text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	before_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.open_alert
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.open_alerts(site, alert_type, severity, max_rows, before_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.open_alerts(text, text, text, integer, bigint) IS
'The fleet''s open alerts, newest first (GET /health/alerts?site=&alert_type=&severity=&max_rows=&before_id=): with camera name and site, acknowledged, has_evidence and group_key (notifications group per site); a page of max_rows (1 to 1000, default 200), the next before_id= the last id. 400 for a bad argument, 404 for an unknown before_id.';

CREATE FUNCTION camera_health_api.camera_heartbeat(camera_id bigint,
												   since timestamptz DEFAULT now() - interval '24 hours')
RETURNS TABLE (check_type text, at_ms bigint[], status text, latency_ms real[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_heartbeat($1, $2);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_heartbeat(bigint, timestamptz) IS
'A camera''s checks since a time (GET /health/camera/{id}/heartbeat?since=; the last 24 hours by default, at most 31 days back), a row per check type: at_ms (epoch ms, oldest first), status (a letter per check: o ok, w warning, c critical, e error), latency_ms (NULL where none). 400 for since too far back, 404 for an unknown camera.';

/* ---- privileges ---------------------------------------------------------------- */

REVOKE ALL ON FUNCTION camera_health.health_state(boolean, boolean, bigint, bigint),
	camera_health.health_summary(),
	camera_health_api.health_summary(),
	camera_health.contains_pattern(text),
	camera_health.check_page_rows(integer, text),
	camera_health.camera_board(text, text, text, integer, bigint),
	camera_health.alert_group_key(text),
	camera_health.open_alerts(text, text, text, integer, bigint),
	camera_health.camera_heartbeat(bigint, timestamptz),
	camera_health_api.camera_board(text, text, text, integer, bigint),
	camera_health_api.open_alerts(text, text, text, integer, bigint),
	camera_health_api.camera_heartbeat(bigint, timestamptz)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health.health_state(boolean, boolean, bigint, bigint),
	camera_health.health_summary(),
	camera_health_api.health_summary(),
	camera_health.contains_pattern(text),
	camera_health.check_page_rows(integer, text),
	camera_health.camera_board(text, text, text, integer, bigint),
	camera_health.alert_group_key(text),
	camera_health.open_alerts(text, text, text, integer, bigint),
	camera_health.camera_heartbeat(bigint, timestamptz),
	camera_health_api.camera_board(text, text, text, integer, bigint),
	camera_health_api.open_alerts(text, text, text, integer, bigint),
	camera_health_api.camera_heartbeat(bigint, timestamptz)
	TO camera_health_reader;
