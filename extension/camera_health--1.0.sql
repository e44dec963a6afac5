/* camera_health--1.0.sql */

\echo Use "CREATE EXTENSION camera_health" to load this file. \quit

/*
 * Roles.  They are cluster-wide, so they may already exist from an install
 * in another database.  camera_health_reader may read everything but camera
 * credentials; camera_health_writer (a member of reader) may also change
 * cameras, retention and alerts, and sees credentials in full.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'camera_health_reader') THEN
		CREATE ROLE camera_health_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'camera_health_writer') THEN
		CREATE ROLE camera_health_writer NOLOGIN IN ROLE camera_health_reader;
	END IF;
END
$roles$;

COMMENT ON SCHEMA camera_health IS 'Health monitoring of IP cameras: the camera_health extension.';
GRANT USAGE ON SCHEMA camera_health TO camera_health_reader;

/* ------------------------------------------------------------------------
 * C helpers
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.mask_url(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_mask_url';
COMMENT ON FUNCTION camera_health.mask_url(text) IS
'The URL with its credentials replaced by ***: the password of user:password@ and secret query parameters (password=, pwd=, token=, ...).';

CREATE FUNCTION camera_health.valid_camera_url(url text)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_valid_camera_url';
COMMENT ON FUNCTION camera_health.valid_camera_url(text) IS
'True for a URL a camera can be read from: rtsp, rtsps, http or https, with a host and at most 2048 bytes.';

CREATE FUNCTION camera_health.url_problem(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_url_problem';
COMMENT ON FUNCTION camera_health.url_problem(text) IS
'Why a camera URL is refused, or NULL when it is valid.';

CREATE FUNCTION camera_health.default_log_retention()
RETURNS interval
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_default_log_retention';
COMMENT ON FUNCTION camera_health.default_log_retention() IS
'The retention of health logs for cameras without a policy of their own (GUC camera_health.default_log_retention).';

CREATE FUNCTION camera_health.is_camera_address(address inet)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END
	AND host(address) NOT IN ('0.0.0.0', '255.255.255.255', '::')
	AND NOT address <<= inet '224.0.0.0/4'
	AND NOT address <<= inet 'ff00::/8';
COMMENT ON FUNCTION camera_health.is_camera_address(inet) IS
'True for a single unicast host address: no netmask, not unspecified, broadcast or multicast.';

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

CREATE TABLE camera_health.cameras (
	id bigserial PRIMARY KEY,
	name text CHECK (length(name) BETWEEN 1 AND 200),
	ip_address inet NOT NULL CHECK (camera_health.is_camera_address(ip_address)),
	port integer NOT NULL DEFAULT 554 CHECK (port BETWEEN 1 AND 65535),
	rtsp_url text CHECK (camera_health.valid_camera_url(rtsp_url)),
	interval_ip integer NOT NULL DEFAULT 30 CHECK (interval_ip BETWEEN 1 AND 86400),
	interval_port integer NOT NULL DEFAULT 60 CHECK (interval_port BETWEEN 1 AND 86400),
	interval_vision integer NOT NULL DEFAULT 300 CHECK (interval_vision BETWEEN 1 AND 86400),
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- One camera per stream: the same address, port and URL is the same camera.
CREATE UNIQUE INDEX cameras_endpoint_key
	ON camera_health.cameras (ip_address, port, (coalesce(rtsp_url, '')));
COMMENT ON TABLE camera_health.cameras IS 'The monitored cameras. Read it through camera_list, which masks credentials.';
COMMENT ON COLUMN camera_health.cameras.id IS 'Camera id.';
COMMENT ON COLUMN camera_health.cameras.name IS 'Optional display name.';
COMMENT ON COLUMN camera_health.cameras.ip_address IS 'Address probed by the ip (ICMP) and port (TCP) checks.';
COMMENT ON COLUMN camera_health.cameras.port IS 'TCP port probed by the port check, 1 to 65535.';
COMMENT ON COLUMN camera_health.cameras.rtsp_url IS 'Stream or snapshot URL (rtsp, rtsps, http, https) for vision checks; NULL for none.';
COMMENT ON COLUMN camera_health.cameras.interval_ip IS 'Seconds between ip checks.';
COMMENT ON COLUMN camera_health.cameras.interval_port IS 'Seconds between port checks.';
COMMENT ON COLUMN camera_health.cameras.interval_vision IS 'Seconds between vision checks.';
COMMENT ON COLUMN camera_health.cameras.enabled IS 'False stops all checks of the camera.';
COMMENT ON COLUMN camera_health.cameras.created_at IS 'When the camera was registered.';
COMMENT ON COLUMN camera_health.cameras.updated_at IS 'When the camera was last changed.';

/*
 * Check history.  Partitioned by time so that retention can drop whole
 * partitions; the default partition takes rows of any day without one.
 * The primary key (camera_id, created_at, id) serves "newest logs of a
 * camera" and "logs of a camera older than X"; camera_id leads every key so
 * that Citus can distribute the table by camera.
 */
CREATE SEQUENCE camera_health.health_logs_id_seq;
CREATE TABLE camera_health.health_logs (
	id bigint NOT NULL DEFAULT nextval('camera_health.health_logs_id_seq'),
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	check_type text NOT NULL CHECK (check_type IN ('ip', 'port', 'vision')),
	status text NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'error')),
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (camera_id, created_at, id)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE camera_health.health_logs_id_seq OWNED BY camera_health.health_logs.id;
CREATE INDEX health_logs_camera_check_idx
	ON camera_health.health_logs (camera_id, check_type, created_at);
-- retention deletes by time across all cameras: a BRIN index is tiny for append-only time data
CREATE INDEX health_logs_created_brin ON camera_health.health_logs USING brin (created_at);
CREATE TABLE camera_health.health_logs_default
	PARTITION OF camera_health.health_logs DEFAULT;
COMMENT ON TABLE camera_health.health_logs IS 'One row per check run: its outcome and measurements.';
COMMENT ON COLUMN camera_health.health_logs.id IS 'Log id.';
COMMENT ON COLUMN camera_health.health_logs.camera_id IS 'The camera checked.';
COMMENT ON COLUMN camera_health.health_logs.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.health_logs.status IS 'ok, warning, critical, or error when the check itself could not run.';
COMMENT ON COLUMN camera_health.health_logs.metadata IS 'What the check measured: method, latency, error, image metrics.';
COMMENT ON COLUMN camera_health.health_logs.created_at IS 'When the check ran.';

CREATE SEQUENCE camera_health.camera_latency_id_seq;
CREATE TABLE camera_health.camera_latency (
	id bigint NOT NULL DEFAULT nextval('camera_health.camera_latency_id_seq'),
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	check_type text NOT NULL CHECK (check_type IN ('ip', 'port')),
	latency double precision NOT NULL CHECK (latency >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (camera_id, created_at, id)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE camera_health.camera_latency_id_seq OWNED BY camera_health.camera_latency.id;
CREATE INDEX camera_latency_created_brin ON camera_health.camera_latency USING brin (created_at);
CREATE TABLE camera_health.camera_latency_default
	PARTITION OF camera_health.camera_latency DEFAULT;
COMMENT ON TABLE camera_health.camera_latency IS 'Round-trip times of successful network probes.';
COMMENT ON COLUMN camera_health.camera_latency.id IS 'Sample id.';
COMMENT ON COLUMN camera_health.camera_latency.camera_id IS 'The camera probed.';
COMMENT ON COLUMN camera_health.camera_latency.check_type IS 'ip (ICMP echo or TCP handshake) or port (TCP connect).';
COMMENT ON COLUMN camera_health.camera_latency.latency IS 'Round-trip time in milliseconds.';
COMMENT ON COLUMN camera_health.camera_latency.created_at IS 'When the probe ran.';

/* The latest outcome of each check of each camera: keeps summaries cheap. */
CREATE TABLE camera_health.camera_status (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	check_type text NOT NULL CHECK (check_type IN ('ip', 'port', 'vision')),
	status text NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'error')),
	since timestamptz NOT NULL DEFAULT now(),
	checked_at timestamptz NOT NULL DEFAULT now(),
	streak integer NOT NULL DEFAULT 1 CHECK (streak >= 1),
	metadata jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (camera_id, check_type)
);
COMMENT ON TABLE camera_health.camera_status IS 'The latest outcome of each check of each camera.';
COMMENT ON COLUMN camera_health.camera_status.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.camera_status.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.camera_status.status IS 'Status of the latest check.';
COMMENT ON COLUMN camera_health.camera_status.since IS 'Since when the check has had this status.';
COMMENT ON COLUMN camera_health.camera_status.checked_at IS 'When the check last ran.';
COMMENT ON COLUMN camera_health.camera_status.streak IS 'How many checks in a row had this status.';
COMMENT ON COLUMN camera_health.camera_status.metadata IS 'Measurements of the latest check.';

CREATE TABLE camera_health.alerts (
	id bigserial,
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	alert_type text NOT NULL CHECK (alert_type IN ('camera_unreachable', 'port_unavailable', 'high_latency',
		'stream_unavailable', 'blur', 'obstruction', 'displacement', 'frozen')),
	severity text NOT NULL CHECK (severity IN ('warning', 'critical')),
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
	message text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	acknowledged_at timestamptz,
	resolved_at timestamptz,
	PRIMARY KEY (camera_id, id),
	CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
	CHECK (status <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
-- A failing condition is one row while it lasts.
CREATE UNIQUE INDEX alerts_one_open_key
	ON camera_health.alerts (camera_id, alert_type) WHERE resolved_at IS NULL;
CREATE INDEX alerts_camera_created_idx ON camera_health.alerts (camera_id, created_at);
CREATE INDEX alerts_id_idx ON camera_health.alerts (id);
CREATE INDEX alerts_resolved_idx ON camera_health.alerts (resolved_at) WHERE resolved_at IS NOT NULL;
COMMENT ON TABLE camera_health.alerts IS 'Failing conditions: opened after repeated failures, resolved after repeated successes.';
COMMENT ON COLUMN camera_health.alerts.id IS 'Alert id.';
COMMENT ON COLUMN camera_health.alerts.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.alerts.alert_type IS 'camera_unreachable, port_unavailable, high_latency, stream_unavailable, blur, obstruction, displacement or frozen.';
COMMENT ON COLUMN camera_health.alerts.severity IS 'warning or critical.';
COMMENT ON COLUMN camera_health.alerts.status IS 'open, acknowledged (by an operator, still failing) or resolved.';
COMMENT ON COLUMN camera_health.alerts.message IS 'What is wrong, in words.';
COMMENT ON COLUMN camera_health.alerts.created_at IS 'When the alert opened.';
COMMENT ON COLUMN camera_health.alerts.last_seen_at IS 'When the condition was last observed.';
COMMENT ON COLUMN camera_health.alerts.acknowledged_at IS 'When an operator acknowledged it.';
COMMENT ON COLUMN camera_health.alerts.resolved_at IS 'When the condition cleared.';

CREATE TABLE camera_health.log_retention (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	retention interval NOT NULL CHECK (retention BETWEEN interval '1 hour' AND interval '3650 days'),
	updated_at timestamptz DEFAULT now()
);
COMMENT ON TABLE camera_health.log_retention IS 'Per-camera retention of health logs, latency samples and resolved alerts.';
COMMENT ON COLUMN camera_health.log_retention.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.log_retention.retention IS 'How long its history is kept, 1 hour to 3650 days.';
COMMENT ON COLUMN camera_health.log_retention.updated_at IS 'When the policy was set; NULL in get_log_retention() means the default applies.';

/*
 * Each camera's reference frame: the first good frame visionproc saw, as
 * the 8-bit grey analysis image it compares later frames with.  The source
 * of truth; the scheduler mirrors it into Redis (reference:{id}).
 */
CREATE TABLE camera_health.camera_references (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	image bytea NOT NULL CHECK (length(image) BETWEEN 16 AND 4194304),
	taken_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE camera_health.camera_references IS 'The reference frame of each camera, against which blur, obstruction and displacement are judged.';
COMMENT ON COLUMN camera_health.camera_references.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.camera_references.image IS 'The grey analysis image: "GREY <width> <height>" and a newline, then one byte per pixel.';
COMMENT ON COLUMN camera_health.camera_references.taken_at IS 'When the frame was grabbed.';

/* What each retention pass did (pg_cron's job_run_details, but pruned). */
CREATE TABLE camera_health.retention_runs (
	id bigserial PRIMARY KEY,
	started_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	requested_by text NOT NULL CHECK (requested_by IN ('schedule', 'run_retention')),
	partitions_created integer NOT NULL DEFAULT 0,
	partitions_dropped integer NOT NULL DEFAULT 0,
	health_logs_deleted bigint NOT NULL DEFAULT 0,
	camera_latency_deleted bigint NOT NULL DEFAULT 0,
	alerts_deleted bigint NOT NULL DEFAULT 0,
	longest_transaction_ms double precision NOT NULL DEFAULT 0,
	drop_ms double precision NOT NULL DEFAULT 0,
	delete_ms double precision NOT NULL DEFAULT 0,
	error text
);
COMMENT ON TABLE camera_health.retention_runs IS 'One row per retention pass; rows older than camera_health.retention_history are pruned.';
COMMENT ON COLUMN camera_health.retention_runs.id IS 'Run id.';
COMMENT ON COLUMN camera_health.retention_runs.started_at IS 'When the pass started.';
COMMENT ON COLUMN camera_health.retention_runs.finished_at IS 'When it ended; NULL while it runs (or if it was interrupted).';
COMMENT ON COLUMN camera_health.retention_runs.requested_by IS 'schedule (every camera_health.retention_interval) or run_retention.';
COMMENT ON COLUMN camera_health.retention_runs.partitions_created IS 'Daily partitions created ahead.';
COMMENT ON COLUMN camera_health.retention_runs.partitions_dropped IS 'Daily partitions dropped whole (older than every camera''s retention).';
COMMENT ON COLUMN camera_health.retention_runs.health_logs_deleted IS 'health_logs rows removed; for a dropped partition the planner''s estimate of its rows (pg_class.reltuples), as counting would read it all.';
COMMENT ON COLUMN camera_health.retention_runs.camera_latency_deleted IS 'camera_latency rows removed (dropped partitions by estimate, as above).';
COMMENT ON COLUMN camera_health.retention_runs.alerts_deleted IS 'Resolved alerts removed.';
COMMENT ON COLUMN camera_health.retention_runs.longest_transaction_ms IS 'The longest transaction of the pass: no lock was held longer.';
COMMENT ON COLUMN camera_health.retention_runs.drop_ms IS 'Time spent dropping expired partitions.';
COMMENT ON COLUMN camera_health.retention_runs.delete_ms IS 'Time spent deleting expired rows and alerts in batches.';
COMMENT ON COLUMN camera_health.retention_runs.error IS 'Why the pass stopped early, if it did.';

/*
 * Hysteresis of alerts: for each camera and condition, whether the latest
 * observations were failing and how many in a row.  An alert opens after
 * camera_health.alert_open_after failing observations in a row and resolves
 * after camera_health.alert_resolve_after passing ones.
 */
CREATE TABLE camera_health.alert_state (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	alert_type text NOT NULL CHECK (alert_type IN ('camera_unreachable', 'port_unavailable', 'high_latency',
		'stream_unavailable', 'blur', 'obstruction', 'displacement', 'frozen')),
	failing boolean NOT NULL,
	streak integer NOT NULL CHECK (streak >= 1),
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (camera_id, alert_type)
);
COMMENT ON TABLE camera_health.alert_state IS 'Per camera and condition: failing or not, and for how many observations in a row (alert hysteresis).';
COMMENT ON COLUMN camera_health.alert_state.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.alert_state.alert_type IS 'The condition, named as the alert it raises.';
COMMENT ON COLUMN camera_health.alert_state.failing IS 'Whether the latest observation showed the condition.';
COMMENT ON COLUMN camera_health.alert_state.streak IS 'How many observations in a row agreed with failing.';
COMMENT ON COLUMN camera_health.alert_state.updated_at IS 'Time of the latest observation.';

/*
 * The last Redis stream entry the ingest worker wrote, per stream, updated
 * in the same transaction as the rows: an entry delivered again after a
 * crash between COMMIT and XACK is recognised and skipped.
 */
CREATE TABLE camera_health.ingest_progress (
	stream text PRIMARY KEY,
	last_ms bigint NOT NULL,
	last_seq bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE camera_health.ingest_progress IS 'The last result stream entry written to the database, per stream (ingest worker).';
COMMENT ON COLUMN camera_health.ingest_progress.stream IS 'Redis stream name, without the key prefix.';
COMMENT ON COLUMN camera_health.ingest_progress.last_ms IS 'Milliseconds part of the last entry id.';
COMMENT ON COLUMN camera_health.ingest_progress.last_seq IS 'Sequence part of the last entry id.';
COMMENT ON COLUMN camera_health.ingest_progress.updated_at IS 'When it was written.';

-- pg_dump keeps the configuration and the alert history.
SELECT pg_catalog.pg_extension_config_dump('camera_health.cameras', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.cameras_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.log_retention', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.alerts_id_seq', '');

/* ------------------------------------------------------------------------
 * Reading cameras: credentials are masked unless the reader may write
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.may_see_secrets()
RETURNS boolean
LANGUAGE sql STABLE
RETURN pg_catalog.pg_has_role(current_user, 'camera_health_writer', 'USAGE');
COMMENT ON FUNCTION camera_health.may_see_secrets() IS
'True when the current role sees camera credentials: superusers and members of camera_health_writer.';

/*
 * Not security_invoker on purpose: readers have no privilege on the cameras
 * table (it holds credentials); the view reads it with its owner's rights,
 * while current_user inside it is still the reader, so masking applies.
 */
CREATE VIEW camera_health.camera_list AS
SELECT c.id, c.name, c.ip_address, c.port,
	   CASE WHEN camera_health.may_see_secrets() THEN c.rtsp_url
			ELSE camera_health.mask_url(c.rtsp_url) END AS rtsp_url,
	   c.interval_ip, c.interval_port, c.interval_vision, c.enabled,
	   c.created_at, c.updated_at
FROM camera_health.cameras c;
COMMENT ON VIEW camera_health.camera_list IS 'The cameras, with credentials in rtsp_url masked for readers.';

/* ------------------------------------------------------------------------
 * Argument checks shared by the API functions
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.require_camera(camera_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF camera_id IS NULL THEN
		RAISE EXCEPTION 'camera_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM FROM camera_health.cameras c WHERE c.id = require_camera.camera_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'camera % does not exist', camera_id
			USING ERRCODE = 'no_data_found',
				  HINT = 'list_cameras() shows the registered cameras.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.require_camera(bigint) IS
'Raises no_data_found (P0002) unless the camera exists.';

CREATE FUNCTION camera_health.check_camera_fields(
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
		-- never echo the URL itself: it may hold a password
		RAISE EXCEPTION 'invalid rtsp_url: "%"', camera_health.mask_url(left(rtsp_url, 200))
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = problem,
				  HINT = 'For example rtsp://10.0.0.5:554/stream1 or http://10.0.0.5/snapshot.jpg, with user:password@ before the host if the camera needs it.';
	END IF;
	IF length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid name: length %', length(name)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Names are 1 to 200 characters; NULL for none.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_camera_fields(inet, integer, text, integer, integer, integer, text) IS
'Raises invalid_parameter_value (22023) or null_value_not_allowed (22004) for a camera field the cameras table would refuse.';

CREATE FUNCTION camera_health.check_not_duplicate(
	camera_id bigint, ip_address inet, port integer, rtsp_url text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	other bigint;
BEGIN
	SELECT c.id INTO other FROM camera_health.cameras c
	WHERE c.ip_address = check_not_duplicate.ip_address
	  AND c.port = check_not_duplicate.port
	  AND coalesce(c.rtsp_url, '') = coalesce(check_not_duplicate.rtsp_url, '')
	  AND c.id IS DISTINCT FROM check_not_duplicate.camera_id;
	IF FOUND THEN
		RAISE EXCEPTION 'camera already registered'
			USING ERRCODE = 'unique_violation',
				  DETAIL = format('Camera %s has address %s, port %s and the same URL.', other, host(ip_address), port),
				  HINT = 'Update that camera with update_camera() instead.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_not_duplicate(bigint, inet, integer, text) IS
'Raises unique_violation (23505) when another camera has the same address, port and URL.';

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
	name text DEFAULT NULL)
RETURNS camera_health.cameras
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.cameras;
BEGIN
	PERFORM camera_health.check_camera_fields(ip_address, port, rtsp_url,
											  interval_ip, interval_port, interval_vision, name);
	PERFORM camera_health.check_not_duplicate(NULL, ip_address, port, rtsp_url);
	INSERT INTO camera_health.cameras AS c
		(ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name)
	VALUES (ip_address, port, rtsp_url, interval_ip, interval_port, interval_vision, name)
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.register_camera(inet, integer, text, integer, integer, integer, text) IS
'Registers a camera and returns it; checks start within a second of the commit. Intervals are in seconds.';

CREATE FUNCTION camera_health.update_camera(
	camera_id bigint,
	ip_address inet DEFAULT NULL,
	port integer DEFAULT NULL,
	rtsp_url text DEFAULT NULL,
	interval_ip integer DEFAULT NULL,
	interval_port integer DEFAULT NULL,
	interval_vision integer DEFAULT NULL,
	name text DEFAULT NULL)
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
	PERFORM camera_health.check_camera_fields(cur.ip_address, cur.port, cur.rtsp_url,
											  cur.interval_ip, cur.interval_port, cur.interval_vision, cur.name);
	PERFORM camera_health.check_not_duplicate(cur.id, cur.ip_address, cur.port, cur.rtsp_url);
	UPDATE camera_health.cameras AS c
	SET ip_address = cur.ip_address, port = cur.port, rtsp_url = cur.rtsp_url,
		interval_ip = cur.interval_ip, interval_port = cur.interval_port,
		interval_vision = cur.interval_vision, name = cur.name, updated_at = now()
	WHERE c.id = cur.id
	RETURNING c.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text) IS
'Changes the given fields of a camera (NULL keeps a field, an empty string clears rtsp_url or name) and returns it.';

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

CREATE FUNCTION camera_health.list_cameras()
RETURNS SETOF camera_health.cameras
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.id, c.name, c.ip_address, c.port, c.rtsp_url, c.interval_ip, c.interval_port,
		   c.interval_vision, c.enabled, c.created_at, c.updated_at
	FROM camera_health.camera_list c ORDER BY c.id;
END;
COMMENT ON FUNCTION camera_health.list_cameras() IS
'All cameras by id; credentials masked for readers.';

/* ------------------------------------------------------------------------
 * The SQL API: history and alerts
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.check_max_rows(max_rows integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'invalid max_rows: %', coalesce(max_rows::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Ask for 1 to 10000 rows; page with since.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_max_rows(integer) IS
'Raises invalid_parameter_value (22023) unless max_rows is 1 to 10000.';

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
	RETURN QUERY
		SELECT l.* FROM camera_health.health_logs l
		WHERE l.camera_id = camera_logs.camera_id
		  AND (camera_logs.check_type IS NULL OR l.check_type = camera_logs.check_type)
		  AND (camera_logs.since IS NULL OR l.created_at >= camera_logs.since)
		ORDER BY l.created_at DESC, l.id DESC
		LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.camera_logs(bigint, text, timestamptz, integer) IS
'Health logs of a camera, newest first: optionally of one check type (ip, port, vision) and since a time; at most max_rows (1 to 10000).';

CREATE FUNCTION camera_health.camera_alerts(
	camera_id bigint,
	only_open boolean DEFAULT false,
	max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.alerts
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	PERFORM camera_health.check_max_rows(max_rows);
	RETURN QUERY
		SELECT a.* FROM camera_health.alerts a
		WHERE a.camera_id = camera_alerts.camera_id
		  AND (NOT coalesce(only_open, false) OR a.resolved_at IS NULL)
		ORDER BY a.created_at DESC, a.id DESC
		LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.camera_alerts(bigint, boolean, integer) IS
'Alerts of a camera, newest first; only_open keeps those not yet resolved; at most max_rows (1 to 10000).';

CREATE FUNCTION camera_health.acknowledge_alert(alert_id bigint)
RETURNS camera_health.alerts
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.alerts;
BEGIN
	IF alert_id IS NULL THEN
		RAISE EXCEPTION 'alert_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE camera_health.alerts AS a
	SET acknowledged_at = coalesce(a.acknowledged_at, now()),
		status = CASE WHEN a.status = 'open' THEN 'acknowledged' ELSE a.status END
	WHERE a.id = acknowledge_alert.alert_id
	RETURNING a.* INTO result;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'alert % does not exist', alert_id
			USING ERRCODE = 'no_data_found', HINT = 'camera_alerts() shows the alerts of a camera.';
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.acknowledge_alert(bigint) IS
'Marks an alert as seen by an operator (status acknowledged while it lasts) and returns it; acknowledging twice keeps the first time.';

CREATE FUNCTION camera_health.health_summary()
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
		'generated_at', now());
END;
COMMENT ON FUNCTION camera_health.health_summary() IS
'Fleet health: cameras in all, enabled, disabled, healthy (every latest check ok), unhealthy, unknown (not checked yet); open alerts by severity and type; latest statuses per check type.';

/* ------------------------------------------------------------------------
 * The SQL API: log retention
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.get_log_retention(camera_id bigint)
RETURNS camera_health.log_retention
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.log_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT r.* INTO result FROM camera_health.log_retention r WHERE r.camera_id = get_log_retention.camera_id;
	IF NOT FOUND THEN
		result := ROW(camera_id, camera_health.default_log_retention(), NULL);
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.get_log_retention(bigint) IS
'How long the camera''s history is kept; updated_at is NULL when the default (camera_health.default_log_retention) applies.';

CREATE FUNCTION camera_health.set_log_retention(camera_id bigint, retention interval)
RETURNS camera_health.log_retention
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.log_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF retention IS NULL THEN
		RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF retention NOT BETWEEN interval '1 hour' AND interval '3650 days' THEN
		RAISE EXCEPTION 'invalid retention: %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep history for 1 hour to 3650 days.';
	END IF;
	INSERT INTO camera_health.log_retention AS r (camera_id, retention, updated_at)
	VALUES (camera_id, retention, now())
	ON CONFLICT ON CONSTRAINT log_retention_pkey
	DO UPDATE SET retention = excluded.retention, updated_at = excluded.updated_at
	RETURNING r.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.set_log_retention(bigint, interval) IS
'Sets how long the camera''s health logs, latency samples and resolved alerts are kept (1 hour to 3650 days) and returns the policy.';

CREATE FUNCTION camera_health.reset_reference(camera_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	DELETE FROM camera_health.camera_references r WHERE r.camera_id = reset_reference.camera_id;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION camera_health.reset_reference(bigint) IS
'Drops the camera''s reference frame: the next good frame of its next vision check becomes the new one (after re-aiming or re-focusing a camera). True when there was one.';

/* ------------------------------------------------------------------------
 * Retention
 * ------------------------------------------------------------------------ */

/*
 * Creates the daily partitions of health_logs and camera_latency from today
 * (UTC) to days_ahead days on.  A day whose rows already went to the
 * default partition (the worker was down) is left there: retention deletes
 * them row by row.  Returns how many partitions it created.
 */
CREATE FUNCTION camera_health.create_partitions(days_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parent text;
	day date;
	created integer := 0;
	part text;
	in_default boolean;
BEGIN
	IF days_ahead IS NULL OR days_ahead NOT BETWEEN 0 AND 60 THEN
		RAISE EXCEPTION 'invalid days_ahead: %', days_ahead
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Create 0 to 60 days ahead.';
	END IF;
	FOREACH parent IN ARRAY ARRAY['health_logs', 'camera_latency'] LOOP
		FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date,
										  (now() AT TIME ZONE 'UTC')::date + days_ahead, interval '1 day')::date
		LOOP
			part := format('%s_p%s', parent, to_char(day, 'YYYYMMDD'));
			CONTINUE WHEN to_regclass('camera_health.' || part) IS NOT NULL;
			EXECUTE format('SELECT EXISTS (SELECT FROM camera_health.%I WHERE created_at >= %L AND created_at < %L)',
						   parent || '_default', day::timestamp AT TIME ZONE 'UTC',
						   (day + 1)::timestamp AT TIME ZONE 'UTC')
			INTO STRICT in_default;
			CONTINUE WHEN in_default;
			EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.%I FOR VALUES FROM (%L) TO (%L)',
						   part, parent, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
			created := created + 1;
		END LOOP;
	END LOOP;
	RETURN created;
END
$$;
COMMENT ON FUNCTION camera_health.create_partitions(integer) IS
'Creates the daily partitions of health_logs and camera_latency up to days_ahead days ahead (the retention worker calls it); returns how many it created.';

/* The daily partitions that end at or before horizon: every row in them has expired. */
CREATE FUNCTION camera_health.expired_partitions(horizon timestamptz)
RETURNS TABLE (partition regclass, parent text, ends timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass, p.relname::text,
		   (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_class p ON p.oid = i.inhparent
	WHERE p.oid IN ('camera_health.health_logs'::regclass, 'camera_health.camera_latency'::regclass)
	  AND c.relname ~ '_p[0-9]{8}$'
	  AND (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= horizon
	ORDER BY 3, 2;
END;
COMMENT ON FUNCTION camera_health.expired_partitions(timestamptz) IS
'Daily partitions whose whole range is older than horizon (for the retention worker).';

/* The longest retention of any camera: partitions older than this hold only expired rows. */
CREATE FUNCTION camera_health.longest_retention()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT greatest(camera_health.default_log_retention(),
					(SELECT max(retention) FROM camera_health.log_retention));
END;
COMMENT ON FUNCTION camera_health.longest_retention() IS
'The longest retention of any camera: the default or the longest policy.';

CREATE FUNCTION camera_health.request_retention_run()
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'ch_request_retention_run';
COMMENT ON FUNCTION camera_health.request_retention_run() IS
'Asks the retention worker for a pass now and waits for it; returns the id of its retention_runs row.';

CREATE FUNCTION camera_health.run_retention()
RETURNS camera_health.retention_runs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	run_id bigint := camera_health.request_retention_run();
	run camera_health.retention_runs;
BEGIN
	SELECT * INTO run FROM camera_health.retention_runs r WHERE r.id = run_id;
	RETURN run;
END
$$;
COMMENT ON FUNCTION camera_health.run_retention() IS
'Runs one retention pass now (through the retention worker, in short transactions) and returns what it did per table.';

/* ------------------------------------------------------------------------
 * For the workers
 * ------------------------------------------------------------------------ */

/* Wakes the scheduler once the transaction commits (not before, not on abort). */
CREATE FUNCTION camera_health.cameras_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ch_cameras_changed';
COMMENT ON FUNCTION camera_health.cameras_changed() IS
'Trigger: tells the scheduler, at commit, which cameras changed (the first column of the row is the camera id).';

CREATE TRIGGER cameras_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.cameras
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed();
CREATE TRIGGER cameras_truncated
	AFTER TRUNCATE ON camera_health.cameras
	FOR EACH STATEMENT EXECUTE FUNCTION camera_health.cameras_changed();
-- a new or dropped reference is mirrored into Redis by the scheduler
CREATE TRIGGER camera_references_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed();

/* A batch of results as rows; round numbers a camera's results per check, oldest first. */
CREATE FUNCTION camera_health.parse_results(results jsonb)
RETURNS TABLE (camera_id bigint, check_type text, status text, checked_at timestamptz,
			   latency_ms double precision, metadata jsonb, round bigint)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT x.camera_id, x.check_type, x.status, to_timestamp(x.checked_ms / 1000.0),
		   x.latency_ms, coalesce(x.metadata, '{}'),
		   row_number() OVER (PARTITION BY x.camera_id, x.check_type ORDER BY x.checked_ms)
	FROM jsonb_to_recordset(results) AS x(camera_id bigint, check_type text, status text,
										  checked_ms double precision, latency_ms double precision,
										  metadata jsonb);
END;
COMMENT ON FUNCTION camera_health.parse_results(jsonb) IS
'The check results of a JSON batch as rows (see record_results).';

/*
 * What one result says about each alert condition: failing or not.  A
 * result that could not be obtained (status error) says nothing about the
 * camera, and an unreachable camera says nothing about its latency.
 */
CREATE FUNCTION camera_health.result_observations(
	check_type text, status text, metadata jsonb, ip_address inet, port integer)
RETURNS TABLE (alert_type text, failing boolean, severity text, message text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT 'camera_unreachable', status = 'critical', 'critical',
		   format('%s does not answer %s probes: %s', host(ip_address), metadata ->> 'method', metadata ->> 'detail')
	WHERE check_type = 'ip' AND status <> 'error'
	UNION ALL
	SELECT 'high_latency', status = 'warning', 'warning',
		   format('round trip to %s takes %s ms (threshold %s ms)', host(ip_address),
				  metadata ->> 'latency_ms', metadata ->> 'threshold_ms')
	WHERE check_type = 'ip' AND status IN ('ok', 'warning')
	UNION ALL
	SELECT 'port_unavailable', status = 'critical', 'critical',
		   format('port %s of %s is unavailable: %s', port, host(ip_address), metadata ->> 'detail')
	WHERE check_type = 'port' AND status <> 'error'
	UNION ALL
	-- vision: the stream itself, then each image condition the analysis judged
	SELECT 'stream_unavailable', status = 'error', 'critical',
		   format('stream of %s unavailable: %s', host(ip_address), metadata ->> 'error')
	WHERE check_type = 'vision' AND (status <> 'error' OR metadata ? 'stage')
	UNION ALL
	SELECT c.alert_type, coalesce((metadata -> c.alert_type ->> 'detected')::boolean, false), c.severity,
		   coalesce(metadata -> c.alert_type ->> 'message', c.alert_type || ' detected')
	FROM (VALUES ('blur', 'warning'), ('obstruction', 'critical'), ('displacement', 'warning'),
				 ('frozen', 'critical')) AS c(alert_type, severity)
	WHERE check_type = 'vision' AND status <> 'error' AND metadata ? c.alert_type;
END;
COMMENT ON FUNCTION camera_health.result_observations(text, text, jsonb, inet, integer) IS
'The alert conditions one check result observes, failing or not.';

/*
 * Writes a batch of check results: health logs, latency samples, the latest
 * status per check, and alerts with hysteresis.  Called by the ingest worker
 * with up to a few thousand results; results of cameras deleted or disabled
 * meanwhile are dropped.  Each element of results:
 *   {"camera_id": 1, "check_type": "ip", "status": "ok", "checked_ms": 1764000000000,
 *    "latency_ms": 0.4, "metadata": {...}}
 * A batch may hold several results of one camera and check (a backlog after
 * an outage): they are applied in rounds, oldest first, so that streaks
 * count every result.
 */
CREATE FUNCTION camera_health.record_results(results jsonb, open_after integer, resolve_after integer)
RETURNS TABLE (logged bigint, opened bigint, resolved bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
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

	WITH r AS (
		SELECT p.* FROM camera_health.parse_results(results) p
		JOIN camera_health.cameras c ON c.id = p.camera_id AND c.enabled
	), latency AS (
		INSERT INTO camera_health.camera_latency (camera_id, check_type, latency, created_at)
		SELECT r.camera_id, r.check_type, r.latency_ms, r.checked_at FROM r
		WHERE r.latency_ms IS NOT NULL AND r.check_type IN ('ip', 'port')
	)
	INSERT INTO camera_health.health_logs (camera_id, check_type, status, metadata, created_at)
	SELECT r.camera_id, r.check_type, r.status, r.metadata, r.checked_at FROM r;
	GET DIAGNOSTICS logged = ROW_COUNT;

	SELECT max(p.round) INTO rounds FROM camera_health.parse_results(results) p;
	FOR rnd IN 1 .. coalesce(rounds, 0) LOOP
		INSERT INTO camera_health.camera_status AS s (camera_id, check_type, status, since, checked_at, streak, metadata)
		SELECT p.camera_id, p.check_type, p.status, p.checked_at, p.checked_at, 1, p.metadata
		FROM camera_health.parse_results(results) p
		JOIN camera_health.cameras c ON c.id = p.camera_id AND c.enabled
		WHERE p.round = rnd
		ON CONFLICT (camera_id, check_type) DO UPDATE
		SET streak = CASE WHEN s.status = excluded.status THEN s.streak + 1 ELSE 1 END,
			since = CASE WHEN s.status = excluded.status THEN s.since ELSE excluded.since END,
			status = excluded.status, checked_at = excluded.checked_at, metadata = excluded.metadata
		WHERE s.checked_at <= excluded.checked_at;

		WITH obs AS (
			SELECT p.camera_id, o.alert_type, o.failing, o.severity, o.message, p.checked_at AS at
			FROM camera_health.parse_results(results) p
			JOIN camera_health.cameras c ON c.id = p.camera_id AND c.enabled
			CROSS JOIN LATERAL camera_health.result_observations(p.check_type, p.status, p.metadata,
																 c.ip_address, c.port) o
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
'For the ingest worker: writes a batch of check results (logs, latency, latest status) and opens or resolves alerts with hysteresis.';

/* ------------------------------------------------------------------------
 * Privileges: nothing for PUBLIC; readers read, writers write through the API
 * ------------------------------------------------------------------------ */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;

GRANT SELECT ON camera_health.camera_list, camera_health.health_logs, camera_health.camera_latency,
	camera_health.camera_status, camera_health.alerts, camera_health.log_retention,
	camera_health.camera_references
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.mask_url(text),
	camera_health.may_see_secrets(),
	camera_health.default_log_retention(),
	camera_health.require_camera(bigint),
	camera_health.check_max_rows(integer),
	camera_health.get_camera(bigint),
	camera_health.list_cameras(),
	camera_health.camera_logs(bigint, text, timestamptz, integer),
	camera_health.camera_alerts(bigint, boolean, integer),
	camera_health.health_summary(),
	camera_health.get_log_retention(bigint)
	TO camera_health_reader;
GRANT SELECT ON camera_health.retention_runs TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.register_camera(inet, integer, text, integer, integer, integer, text),
	camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text),
	camera_health.delete_camera(bigint),
	camera_health.set_camera_enabled(bigint, boolean),
	camera_health.acknowledge_alert(bigint),
	camera_health.set_log_retention(bigint, interval),
	camera_health.reset_reference(bigint)
	TO camera_health_writer;
