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

