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

