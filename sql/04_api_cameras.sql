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

