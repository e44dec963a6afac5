/* ------------------------------------------------------------------------
 * Reading cameras: credentials are masked unless the reader may write
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.may_see_secrets()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role(current_user, 'camera_health_writer', 'USAGE');
COMMENT ON FUNCTION camera_health.may_see_secrets() IS
'True when the current role sees camera credentials: superusers and members of camera_health_writer.';

/*
 * Not security_invoker on purpose: readers have no privilege on the cameras
 * table (it holds credentials); the view reads it with its owner's rights,
 * while current_user inside it is still the reader, so masking applies.
 * may_see_secrets() in a subquery runs once per query, not once per row: with
 * its search_path pinned it is no longer inlined, and per row it tripled the
 * time of reading 10,000 cameras.
 */
CREATE VIEW camera_health.camera_list AS
SELECT c.id, c.name, c.ip_address, c.port,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN c.rtsp_url
			ELSE camera_health.mask_url(c.rtsp_url) END AS rtsp_url,
	   c.interval_ip, c.interval_port, c.interval_vision, c.enabled,
	   c.created_at, c.updated_at, c.site, c.tags
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

