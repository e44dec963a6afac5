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
