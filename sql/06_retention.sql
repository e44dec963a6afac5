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

