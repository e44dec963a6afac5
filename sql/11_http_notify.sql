/* ------------------------------------------------------------------------
 * The HTTP API of notifications (issue 10): channels and maintenance
 * windows in camera_health_api, as thin wrappers over camera_health's
 * functions (see sql/09_http_api.sql for the conventions: P0002 is a 404,
 * a request body is a JSON object checked field by field; readers list,
 * writers change).
 * ------------------------------------------------------------------------ */

/* ---- channels ------------------------------------------------------------- */

CREATE FUNCTION camera_health_api.add_channel(jsonb)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := $1;
	args text := camera_health.http_call_args(body,
		ARRAY['kind', 'target', 'min_severity', 'sites', 'alert_types', 'tags', 'escalate_after', 'repeat_interval',
			  'secret', 'email_from', 'email_to', 'name', 'enabled'],
		ARRAY['text', 'text', 'text', 'text[]', 'text[]', 'text[]', 'interval', 'interval',
			  'text', 'text', 'text[]', 'text', 'boolean']);
	result camera_health.channel_list;
BEGIN
	IF NOT body ? 'kind' OR NOT body ? 'target' THEN
		RAISE EXCEPTION 'kind and target must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'A channel needs at least {"kind": "webhook", "target": "https://..."}.';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.add_channel(%s)', args) INTO result USING body;
	PERFORM set_config('response.status', '201', true);
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health_api.add_channel(jsonb) IS
'Adds a notification channel: the body is {"kind" (webhook, slack, email), "target" (URL), "min_severity" (warning), "sites", "alert_types", "tags" (arrays), "escalate_after", "repeat_interval" (intervals), "secret" (webhook HMAC key), "email_from", "email_to" (array), "name", "enabled"}. Answers 201 with the channel.';

CREATE FUNCTION camera_health_api.update_channel(channel_id bigint, changes jsonb)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := changes;
	args text := camera_health.http_call_args(body,
		ARRAY['target', 'min_severity', 'sites', 'alert_types', 'tags', 'escalate_after', 'repeat_interval',
			  'secret', 'email_from', 'email_to', 'name', 'enabled'],
		ARRAY['text', 'text', 'text[]', 'text[]', 'text[]', 'interval', 'interval',
			  'text', 'text', 'text[]', 'text', 'boolean']);
	result camera_health.channel_list;
	msg text; det text; hnt text;
BEGIN
	EXECUTE format('SELECT * FROM camera_health.update_channel(channel_id => $2%s)', ', ' || nullif(args, ''))
	INTO result USING body, channel_id;
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.update_channel(bigint, jsonb) IS
'Changes the fields of a channel given in changes (as for add_channel; a field left out is kept, "" clears name or secret, [] a filter, "0" an interval) and returns it.';

CREATE FUNCTION camera_health_api.delete_channel(channel_id bigint)
RETURNS camera_health.channel_list
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.delete_channel(channel_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.delete_channel(bigint) IS
'Deletes a channel with its queued notifications and delivery log, and returns it.';

CREATE FUNCTION camera_health_api.list_channels()
RETURNS SETOF camera_health.channel_list
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.list_channels();
END;
COMMENT ON FUNCTION camera_health_api.list_channels() IS
'All notification channels by id; targets and secrets masked for readers.';

CREATE FUNCTION camera_health_api.test_channel(channel_id bigint)
RETURNS camera_health.notifications
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.test_channel(channel_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.test_channel(bigint) IS
'Queues a test message to a channel and returns the notification; channel_deliveries shows how its delivery went.';

CREATE FUNCTION camera_health_api.channel_deliveries(channel_id bigint, max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.deliveries
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.channel_deliveries(channel_id, max_rows);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.channel_deliveries(bigint, integer) IS
'The delivery log of a channel, newest first (status, response code or error, duration); at most max_rows (1 to 10000).';

/* ---- maintenance windows -------------------------------------------------- */

CREATE FUNCTION camera_health_api.add_maintenance(jsonb)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	args text := camera_health.http_call_args($1,
		ARRAY['starts_at', 'ends_at', 'camera_id', 'site', 'reason'],
		ARRAY['timestamptz', 'timestamptz', 'bigint', 'text', 'text']);
	result camera_health.maintenance_windows;
	msg text; det text; hnt text;
BEGIN
	IF NOT $1 ? 'starts_at' OR NOT $1 ? 'ends_at' THEN
		RAISE EXCEPTION 'starts_at and ends_at must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE format('SELECT * FROM camera_health.add_maintenance(%s)', args) INTO result USING $1;
	PERFORM set_config('response.status', '201', true);
	RETURN result;
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.add_maintenance(jsonb) IS
'Adds a maintenance window: the body is {"starts_at", "ends_at", "camera_id", "site", "reason"} (neither camera_id nor site: the whole fleet). Answers 201 with the window.';

CREATE FUNCTION camera_health_api.list_maintenance(only_current boolean DEFAULT false)
RETURNS SETOF camera_health.maintenance_windows
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.list_maintenance(only_current);
END;
COMMENT ON FUNCTION camera_health_api.list_maintenance(boolean) IS
'Maintenance windows by start; only_current keeps those running or to come.';

CREATE FUNCTION camera_health_api.end_maintenance(maintenance_id bigint)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.end_maintenance(maintenance_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.end_maintenance(bigint) IS
'Ends a maintenance window now (what still fails is notified at once) and returns it.';

/* ---- privileges ----------------------------------------------------------- */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health_api.list_channels(),
	camera_health_api.channel_deliveries(bigint, integer),
	camera_health_api.list_maintenance(boolean)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health_api.add_channel(jsonb),
	camera_health_api.update_channel(bigint, jsonb),
	camera_health_api.delete_channel(bigint),
	camera_health_api.test_channel(bigint),
	camera_health_api.add_maintenance(jsonb),
	camera_health_api.end_maintenance(bigint)
	TO camera_health_writer;
