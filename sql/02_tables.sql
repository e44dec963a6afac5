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
	updated_at timestamptz NOT NULL DEFAULT now(),
	site text CHECK (length(site) BETWEEN 1 AND 200),
	tags text[] NOT NULL DEFAULT '{}' CHECK (camera_health.valid_tags(tags))
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
COMMENT ON COLUMN camera_health.cameras.site IS 'Optional site (building, area, customer) the camera belongs to: alerts and summaries are grouped by it.';
COMMENT ON COLUMN camera_health.cameras.tags IS 'Free labels (at most 32, each 1 to 64 characters): list_cameras(tag => ...) filters by one.';
CREATE INDEX cameras_site_idx ON camera_health.cameras (site);
CREATE INDEX cameras_tags_idx ON camera_health.cameras USING gin (tags);

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
CREATE FUNCTION camera_health.valid_reference(image bytea)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_valid_reference';
COMMENT ON FUNCTION camera_health.valid_reference(bytea) IS
'True for one well-formed grey analysis image ("GREY <width> <height>", a newline, width*height bytes; sides 1 to 8192), with or without the focus map that may follow the pixels (since 1.1: "FOCUS <source width> <source height> <grid x> <grid y>", a newline, 4 bytes a tile): the check of camera_references.image.';

CREATE TABLE camera_health.camera_references (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	image bytea NOT NULL CHECK (length(image) BETWEEN 16 AND 4194304),
	taken_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT camera_references_image_valid CHECK (camera_health.valid_reference(image))
);
COMMENT ON TABLE camera_health.camera_references IS 'The reference frame of each camera, against which blur, obstruction and displacement are judged.';
COMMENT ON COLUMN camera_health.camera_references.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.camera_references.image IS 'The grey analysis image: "GREY <width> <height>" and a newline, then one byte per pixel; since 1.1 usually followed by the focus map measured at the camera''s own resolution (see valid_reference).';
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

/*
 * Results the ingest worker could not write, whatever the reason (the
 * database refused them MAX_ATTEMPTS times while taking others, or they
 * were too big to be a result), set aside so that the results behind them
 * are written.  A copy of each is in the Redis stream dead:results.  The
 * ingest worker keeps the newest 10,000 rows; nobody reads the table but
 * health_summary(): the payload is masked, but it is camera data.
 */
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

-- pg_dump keeps the configuration and the alert history.
SELECT pg_catalog.pg_extension_config_dump('camera_health.cameras', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.cameras_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.log_retention', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('camera_health.alerts_id_seq', '');

