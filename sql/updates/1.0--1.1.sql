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
-- pinned, may_see_secrets() is no longer inlined: camera_list calls it once
-- per query instead of once per row (as in sql/03_checks.sql)
CREATE OR REPLACE VIEW camera_health.camera_list AS
SELECT c.id, c.name, c.ip_address, c.port,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN c.rtsp_url
			ELSE camera_health.mask_url(c.rtsp_url) END AS rtsp_url,
	   c.interval_ip, c.interval_port, c.interval_vision, c.enabled,
	   c.created_at, c.updated_at
FROM camera_health.cameras c;
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

CREATE OR REPLACE FUNCTION camera_health.check_camera_fields(
	ip_address inet, port integer, rtsp_url text,
	interval_ip integer, interval_port integer, interval_vision integer, name text)
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
END
$$;

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
'True for one well-formed grey analysis image ("GREY <width> <height>", a newline, width*height bytes; sides 1 to 8192): the check of camera_references.image.';
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

CREATE OR REPLACE FUNCTION camera_health.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH per_camera AS (
		SELECT c.id, c.enabled, count(s.status) AS checks,
			   bool_and(s.status = 'ok') AS all_ok
		FROM camera_health.cameras c
		LEFT JOIN camera_health.camera_status s ON s.camera_id = c.id
		GROUP BY c.id, c.enabled
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
		'disabled', (SELECT count(*) FROM per_camera WHERE NOT enabled),
		'healthy', (SELECT count(*) FROM per_camera WHERE enabled AND checks > 0 AND all_ok),
		'unhealthy', (SELECT count(*) FROM per_camera WHERE enabled AND checks > 0 AND NOT all_ok),
		'unknown', (SELECT count(*) FROM per_camera WHERE enabled AND checks = 0),
		'open_alerts', (SELECT jsonb_build_object('total', total, 'critical', critical,
												  'warning', warning, 'acknowledged', acknowledged,
												  'by_type', by_type)
						FROM open_alerts, open_by_type),
		'checks', (SELECT jsonb_object_agg(check_type, counts) FROM per_check),
		'dead_letters', (SELECT jsonb_build_object('total', total, 'last_at', last_at) FROM dead),
		'generated_at', now());
END;
COMMENT ON FUNCTION camera_health.health_summary() IS
'Fleet health: cameras in all, enabled, disabled, healthy (every latest check ok), unhealthy, unknown (not checked yet); open alerts by severity and type; latest statuses per check type; results set aside as dead letters (kept, and when the last was).';


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


CREATE OR REPLACE FUNCTION camera_health.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH per_camera AS (
		SELECT c.id, c.enabled, c.site, count(s.status) AS checks,
			   bool_and(s.status = 'ok') AS all_ok
		FROM camera_health.cameras c
		LEFT JOIN camera_health.camera_status s ON s.camera_id = c.id
		GROUP BY c.id, c.enabled, c.site
	), per_site AS (
		SELECT p.site, count(*) AS cameras, count(*) FILTER (WHERE p.enabled) AS enabled,
			   count(*) FILTER (WHERE p.enabled AND p.checks > 0 AND p.all_ok) AS healthy,
			   count(*) FILTER (WHERE p.enabled AND p.checks > 0 AND NOT p.all_ok) AS unhealthy,
			   count(*) FILTER (WHERE p.enabled AND p.checks = 0) AS unknown,
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
		'disabled', (SELECT count(*) FROM per_camera WHERE NOT enabled),
		'healthy', (SELECT count(*) FROM per_camera WHERE enabled AND checks > 0 AND all_ok),
		'unhealthy', (SELECT count(*) FROM per_camera WHERE enabled AND checks > 0 AND NOT all_ok),
		'unknown', (SELECT count(*) FROM per_camera WHERE enabled AND checks = 0),
		'open_alerts', (SELECT jsonb_build_object('total', total, 'critical', critical,
												  'warning', warning, 'acknowledged', acknowledged,
												  'by_type', by_type)
						FROM open_alerts, open_by_type),
		'checks', (SELECT jsonb_object_agg(check_type, counts) FROM per_check),
		'dead_letters', (SELECT jsonb_build_object('total', total, 'last_at', last_at) FROM dead),
		'sites', (SELECT coalesce(jsonb_agg(jsonb_build_object('site', site, 'cameras', cameras, 'enabled', enabled,
															   'healthy', healthy, 'unhealthy', unhealthy,
															   'unknown', unknown, 'open_alerts', open_alerts)
											ORDER BY site NULLS LAST), '[]')
				  FROM per_site),
		'generated_at', now());
END;
COMMENT ON FUNCTION camera_health.health_summary() IS
'Fleet health: cameras in all, enabled, disabled, healthy (every latest check ok), unhealthy, unknown (not checked yet); open alerts by severity and type; latest statuses per check type; results set aside as dead letters (kept, and when the last was); the same counts and open alerts per site (site null: cameras without one).';


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

CREATE FUNCTION camera_health_api.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN camera_health.health_summary();
COMMENT ON FUNCTION camera_health_api.health_summary() IS
'Fleet health: cameras (enabled, disabled, healthy, unhealthy, unknown), open alerts by severity and type, latest statuses per check type, dead letters.';

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
	camera_health_api.health_summary(),
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
