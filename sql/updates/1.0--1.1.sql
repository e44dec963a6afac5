/* camera_health--1.0--1.1.sql: upgrade a 1.0 install to 1.1 */

\echo Use "ALTER EXTENSION camera_health UPDATE TO '1.1'" to load this file. \quit

/*
 * Each change of 1.1 is one block below, headed by what it is for.  A fresh
 * 1.1 install (built from sql/) and a 1.0 install upgraded by this script
 * must end up with the same schema: test/test_upgrade.sh compares them.
 */

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

