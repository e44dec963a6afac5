/* ------------------------------------------------------------------------
 * The operator's dashboard (issue 13): the reads its pages make
 *
 * The dashboard is static files talking to the HTTP API only.  Its fleet
 * page shows thousands of cameras and the open alerts, its camera page a
 * day of checks; each is one call here, a page at a time (keyset paging:
 * the next page starts after the last id of the one before, so a page
 * costs the same wherever it is and never holds the whole history):
 *  - camera_board(): a tile per camera, its health, the status of each
 *    check and since when, its open alerts, whether it has a snapshot;
 *  - open_alerts(): the open alerts of the fleet, newest first, with the
 *    key notifications group them by;
 *  - camera_heartbeat(): a camera's checks since a time (a day by default)
 *    as arrays, one row per check type, for its heartbeat bars and latency
 *    chart, read from the chunks' arrays without rebuilding any metadata.
 * A camera's health is that of health_summary(), through one function
 * (health_state), so that the counts of the board are the summary's.
 * ------------------------------------------------------------------------ */

/*
 * What a camera's tile says: disabled; in maintenance (a window covers it
 * now: what fails is planned work, and nothing is notified); unknown (no
 * check yet); healthy (every latest check ok); unhealthy.  An IMMUTABLE SQL
 * function without a SET clause (see sql/14_history.sql): the planner
 * inlines it, so it costs nothing per camera.
 */
CREATE FUNCTION camera_health.health_state(enabled boolean, in_maintenance boolean, checks bigint, not_ok bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN NOT enabled THEN 'disabled'
			WHEN in_maintenance THEN 'maintenance'
			WHEN coalesce(checks, 0) = 0 THEN 'unknown'
			WHEN coalesce(not_ok, 0) = 0 THEN 'healthy'
			ELSE 'unhealthy' END;
COMMENT ON FUNCTION camera_health.health_state(boolean, boolean, bigint, bigint) IS
'A camera''s health from whether it is enabled and in maintenance, how many latest checks it has and how many of them are not ok: disabled, maintenance, unknown, healthy or unhealthy (health_summary() and camera_board() count with it).';

/*
 * health_summary() of 1.1, its only definition in the install script (the
 * upgrade replaces 1.0's with it): 1.0's, with the dead letters and the
 * sites, uptime over the last 24 hours and 30 days (issue 12:
 * uptime_summary() in sql/15_trends.sql), and cameras in maintenance
 * counted apart ('maintenance', fleet-wide and per site): healthy,
 * unhealthy and unknown count the enabled cameras no window covers now, so
 * that enabled = healthy + unhealthy + unknown + maintenance, and an
 * outage during planned work does not show as unhealthy.  The windows of
 * now are read once (a handful of rows), not once per camera.
 */
CREATE OR REPLACE FUNCTION camera_health.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH win AS MATERIALIZED (
		SELECT w.camera_id, w.site FROM camera_health.maintenance_windows w
		WHERE w.starts_at <= now() AND w.ends_at > now()
	), per_camera AS (
		SELECT c.id, c.enabled, c.site,
			   camera_health.health_state(c.enabled,
										  EXISTS (SELECT FROM win
												  WHERE (win.camera_id IS NULL OR win.camera_id = c.id)
													AND (win.site IS NULL OR win.site = c.site)),
										  s.checks, s.not_ok) AS health
		FROM camera_health.cameras c
		LEFT JOIN (SELECT st.camera_id, count(*) AS checks, count(*) FILTER (WHERE st.status <> 'ok') AS not_ok
				   FROM camera_health.camera_status st GROUP BY st.camera_id) s ON s.camera_id = c.id
	), per_site AS (
		SELECT p.site, count(*) AS cameras, count(*) FILTER (WHERE p.enabled) AS enabled,
			   count(*) FILTER (WHERE p.health = 'healthy') AS healthy,
			   count(*) FILTER (WHERE p.health = 'unhealthy') AS unhealthy,
			   count(*) FILTER (WHERE p.health = 'unknown') AS unknown,
			   count(*) FILTER (WHERE p.health = 'maintenance') AS maintenance,
			   (SELECT count(*) FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
				WHERE a.resolved_at IS NULL AND c.site IS NOT DISTINCT FROM p.site) AS open_alerts
		FROM per_camera p
		GROUP BY p.site
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
		'disabled', (SELECT count(*) FROM per_camera WHERE health = 'disabled'),
		'healthy', (SELECT count(*) FROM per_camera WHERE health = 'healthy'),
		'unhealthy', (SELECT count(*) FROM per_camera WHERE health = 'unhealthy'),
		'unknown', (SELECT count(*) FROM per_camera WHERE health = 'unknown'),
		'maintenance', (SELECT count(*) FROM per_camera WHERE health = 'maintenance'),
		'open_alerts', (SELECT jsonb_build_object('total', total, 'critical', critical,
												  'warning', warning, 'acknowledged', acknowledged,
												  'by_type', by_type)
						FROM open_alerts, open_by_type),
		'checks', (SELECT jsonb_object_agg(check_type, counts) FROM per_check),
		'dead_letters', (SELECT jsonb_build_object('total', total, 'last_at', last_at) FROM dead),
		'sites', (SELECT coalesce(jsonb_agg(jsonb_build_object('site', site, 'cameras', cameras, 'enabled', enabled,
															   'healthy', healthy, 'unhealthy', unhealthy,
															   'unknown', unknown, 'maintenance', maintenance,
															   'open_alerts', open_alerts)
											ORDER BY site NULLS LAST), '[]')
				  FROM per_site),
		'uptime', jsonb_build_object(
			'last_24h', camera_health.uptime_summary(now() - interval '24 hours', now()),
			'last_30d', camera_health.uptime_summary(now() - interval '30 days', now())),
		'generated_at', now());
END;
COMMENT ON FUNCTION camera_health.health_summary() IS
'Fleet health: cameras in all, enabled, disabled, healthy (every latest check ok), unhealthy, unknown (not checked yet), since 1.1 maintenance (enabled and covered by a maintenance window now: not counted as healthy, unhealthy or unknown; see health_state); open alerts by severity and type; latest statuses per check type; results set aside as dead letters (kept, and when the last was); the same counts and open alerts per site (site null: cameras without one); since 1.1 uptime over the last 24 hours and 30 days, fleet-wide and per site (see fleet_uptime; maintenance excluded).';

-- over HTTP: GET /health/summary (PostgREST's /rpc/health_summary)
CREATE OR REPLACE FUNCTION camera_health_api.health_summary()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN camera_health.health_summary();
COMMENT ON FUNCTION camera_health_api.health_summary() IS
'Fleet health (GET /health/summary): camera_health.health_summary(): cameras (enabled, disabled, healthy, unhealthy, unknown, in maintenance), open alerts by severity and type, latest statuses per check type, dead letters, the same per site, uptime over 24 hours and 30 days.';

/* ---- the fleet's tiles ------------------------------------------------------ */

-- a row of camera_board() (a PL/pgSQL function cannot have a column named as an argument: site, status)
CREATE TYPE camera_health.camera_tile AS (
	id bigint, name text, site text, tags text[], ip_address text, enabled boolean, in_maintenance boolean,
	health text, ip_status text, ip_since timestamptz, port_status text, port_since timestamptz,
	vision_status text, vision_since timestamptz, open_alerts integer, worst_severity text,
	snapshot_at timestamptz);
COMMENT ON TYPE camera_health.camera_tile IS
'A camera''s tile on the dashboard, a row of camera_board(): the camera, its health (as health_summary() counts it), each check''s latest status and since when, its open alerts and their worst severity, when its snapshot was taken (NULL: none).';

/* A search text as an ILIKE pattern matching it anywhere: its own % _ and \ stand for themselves. */
CREATE FUNCTION camera_health.contains_pattern(search text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%';
COMMENT ON FUNCTION camera_health.contains_pattern(text) IS
'The ILIKE pattern that finds search anywhere in a text, with the %, _ and \ of search escaped.';

CREATE FUNCTION camera_health.check_page_rows(max_rows integer, paging text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'invalid max_rows: %', coalesce(max_rows::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Ask for 1 to 1000 rows; for the next page, pass %s the last id of this one.', paging);
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_page_rows(integer, text) IS
'Raises invalid_parameter_value (22023) unless max_rows is 1 to 1000 (a page of the dashboard); paging names the paging argument in the hint.';

/*
 * One pass over the cameras in id order (their primary key), the rest
 * joined by key: the three latest statuses, the snapshot's time (not the
 * picture), the open alerts counted once per call, the maintenance
 * windows of now read once.  No function that runs SQL is called per
 * camera.  SECURITY DEFINER: readers may not read the cameras table (it
 * holds credentials) nor the snapshots (imagery); no URL and no picture is
 * returned.
 */
CREATE FUNCTION camera_health.camera_board(
	search text DEFAULT NULL,
	site text DEFAULT NULL,
	status text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	after_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.camera_tile
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- '' searches for nothing: every camera
	pattern text := CASE WHEN search <> '' THEN camera_health.contains_pattern(search) END;
BEGIN
	PERFORM camera_health.check_page_rows(max_rows, 'after_id =');
	IF status NOT IN ('healthy', 'unhealthy', 'unknown', 'maintenance', 'disabled') THEN
		RAISE EXCEPTION 'invalid status: "%"', left(status, 40)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A camera is healthy, unhealthy, unknown, maintenance or disabled; NULL for all.';
	END IF;
	RETURN QUERY
	WITH win AS MATERIALIZED (
		SELECT w.camera_id, w.site FROM camera_health.maintenance_windows w
		WHERE w.starts_at <= now() AND w.ends_at > now()
	), alerts_open AS (
		SELECT a.camera_id, count(*)::integer AS n,
			   max(CASE a.severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 END) AS worst
		FROM camera_health.alerts a WHERE a.resolved_at IS NULL AND a.camera_id > coalesce(after_id, 0)
		GROUP BY a.camera_id
	)
	SELECT c.id, c.name, c.site, c.tags, host(c.ip_address), c.enabled, m.in_maintenance,
		   h.health, si.status, si.since, sp.status, sp.since, sv.status, sv.since,
		   coalesce(al.n, 0), CASE al.worst WHEN 2 THEN 'critical' WHEN 1 THEN 'warning' END, sn.taken_at
	-- (the page's lower bound on every table: a merge join then starts each index there, not at the first camera)
	FROM camera_health.cameras c
	LEFT JOIN camera_health.camera_status si
		   ON si.camera_id = c.id AND si.check_type = 'ip' AND si.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.camera_status sp
		   ON sp.camera_id = c.id AND sp.check_type = 'port' AND sp.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.camera_status sv
		   ON sv.camera_id = c.id AND sv.check_type = 'vision' AND sv.camera_id > coalesce(after_id, 0)
	LEFT JOIN camera_health.snapshots sn ON sn.camera_id = c.id AND sn.camera_id > coalesce(after_id, 0)
	LEFT JOIN alerts_open al ON al.camera_id = c.id
	CROSS JOIN LATERAL (SELECT EXISTS (SELECT FROM win
									   WHERE (win.camera_id IS NULL OR win.camera_id = c.id)
										 AND (win.site IS NULL OR win.site = c.site)) AS in_maintenance) m
	CROSS JOIN LATERAL (SELECT camera_health.health_state(
							c.enabled, m.in_maintenance, num_nonnulls(si.status, sp.status, sv.status),
							num_nonnulls(nullif(si.status, 'ok'), nullif(sp.status, 'ok'), nullif(sv.status, 'ok'))
						) AS health) h
	WHERE c.id > coalesce(after_id, 0)
	  AND (camera_board.site IS NULL OR c.site = camera_board.site)
	  AND (camera_board.status IS NULL OR h.health = camera_board.status)
	  AND (pattern IS NULL OR c.name ILIKE pattern OR host(c.ip_address) ILIKE pattern OR c.site ILIKE pattern
		   OR EXISTS (SELECT FROM unnest(c.tags) AS t(tag) WHERE t.tag ILIKE pattern))
	ORDER BY c.id
	LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.camera_board(text, text, text, integer, bigint) IS
'The dashboard''s camera tiles by id, a page of max_rows (1 to 1000; the next page: after_id => the last id): optionally those whose name, address, site or a tag contains search (case-insensitively, % and _ as themselves), of one site, of one health (healthy, unhealthy, unknown, maintenance, disabled, as health_summary() counts them). No credentials, no pictures.';

/* ---- the fleet's open alerts ------------------------------------------------- */

-- the open alerts by time, newest first, a page at a time (the index holds the open ones only)
CREATE INDEX alerts_open_created_idx ON camera_health.alerts (created_at, id) WHERE resolved_at IS NULL;

/*
 * How notifications group an alert: a notification tells one channel
 * about the alerts of one site (plan_notifications), and a channel only
 * filters which alerts it takes, so across channels the alerts of one site
 * go together.  'site:' and the site's name ('site:' alone for cameras
 * without a site, as a site has at least one character).
 */
CREATE FUNCTION camera_health.alert_group_key(site text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'site:' || coalesce(site, '');
COMMENT ON FUNCTION camera_health.alert_group_key(text) IS
'The key notifications group the alerts of a camera of this site by: site:NAME, or site: for cameras without a site.';

-- a row of open_alerts() (named, as camera_tile)
CREATE TYPE camera_health.open_alert AS (
	id bigint, camera_id bigint, camera_name text, site text, alert_type text, severity text, status text,
	message text, created_at timestamptz, last_seen_at timestamptz, acknowledged boolean,
	acknowledged_at timestamptz, has_evidence boolean, group_key text);
COMMENT ON TYPE camera_health.open_alert IS
'An open alert on the dashboard, a row of open_alerts(): the alert, its camera''s name and site, whether it was acknowledged (and when), whether it has evidence (alert_evidence()), and the key notifications group it by (alert_group_key).';

CREATE FUNCTION camera_health.open_alerts(
	site text DEFAULT NULL,
	alert_type text DEFAULT NULL,
	severity text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	before_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.open_alert
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	before_at timestamptz;
BEGIN
	PERFORM camera_health.check_page_rows(max_rows, 'before_id =');
	IF severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid severity: "%"', left(severity, 40)
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Severities are warning and critical; NULL for both.';
	END IF;
	IF alert_type NOT IN ('camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable',
						  'blur', 'obstruction', 'displacement', 'frozen') THEN
		RAISE EXCEPTION 'invalid alert_type: "%"', left(alert_type, 40)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'camera_unreachable, port_unavailable, high_latency, stream_unavailable, blur, obstruction, displacement or frozen; NULL for all.';
	END IF;
	-- the page goes on after that alert, where it stood (it may have resolved since)
	IF before_id IS NOT NULL THEN
		SELECT a.created_at INTO before_at FROM camera_health.alerts a WHERE a.id = before_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'alert % does not exist', before_id
				USING ERRCODE = 'no_data_found', HINT = 'It was deleted with its camera: start again without before_id.';
		END IF;
	END IF;
	RETURN QUERY
	SELECT a.id, a.camera_id, c.name, c.site, a.alert_type, a.severity, a.status, a.message, a.created_at,
		   a.last_seen_at, a.acknowledged_at IS NOT NULL, a.acknowledged_at,
		   EXISTS (SELECT FROM camera_health.alert_evidence e WHERE e.camera_id = a.camera_id AND e.alert_id = a.id),
		   camera_health.alert_group_key(c.site)
	FROM camera_health.alerts a
	JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE a.resolved_at IS NULL
	  AND (before_id IS NULL OR (a.created_at, a.id) < (before_at, before_id))
	  AND (open_alerts.site IS NULL OR c.site = open_alerts.site)
	  AND (open_alerts.alert_type IS NULL OR a.alert_type = open_alerts.alert_type)
	  AND (open_alerts.severity IS NULL OR a.severity = open_alerts.severity)
	ORDER BY a.created_at DESC, a.id DESC
	LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.open_alerts(text, text, text, integer, bigint) IS
'The open (not resolved) alerts of the fleet, newest first, a page of max_rows (1 to 1000; the next page: before_id => the last id): optionally of one site, alert type and severity; with the camera''s name and site, acknowledged, has_evidence and group_key (how notifications group them: per site). Raises 22023 for a bad argument, P0002 for an unknown before_id.';

/* ---- a camera's day of checks -------------------------------------------------- */

/*
 * A camera's checks since a time, per check type, as arrays oldest first:
 * the times (epoch milliseconds), a status letter each (o ok, w warning,
 * c critical, e error), the latencies (ms, NULL without one).  The same
 * checks as camera_logs() (and camera_latency()) from the same two tiers,
 * in the reverse of their order; packed checks are read from their chunks'
 * arrays (unnest), without unpack_chunk()'s metadata, which a heartbeat
 * does not show: a day at the default intervals (4,608 checks) is 72
 * chunks and the newest hour's rows.
 */
CREATE FUNCTION camera_health.camera_heartbeat(camera_id bigint, since timestamptz DEFAULT now() - interval '24 hours')
RETURNS TABLE (check_type text, at_ms bigint[], status text, latency_ms real[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	from_at timestamptz := coalesce(since, now() - interval '24 hours');
	-- a packed check's time is whole milliseconds: at or after from_at is at or after this
	from_ms bigint := ceil(extract(epoch FROM from_at) * 1000)::bigint;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF from_at < now() - interval '31 days' THEN
		RAISE EXCEPTION 'since is more than 31 days back'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('since is %s.', from_at),
				  HINT = 'A heartbeat covers at most the last 31 days; camera_logs() pages through older history.';
	END IF;
	RETURN QUERY
	WITH chunks AS MATERIALIZED (
		-- the hour in epoch milliseconds once per chunk, so that a check costs an integer addition
		SELECT h.check_type, h.id, h.at_ms, h.status, h.latency_us, (extract(epoch FROM h.hour) * 1000)::bigint AS hour_ms
		FROM camera_health.check_history h
		WHERE h.camera_id = camera_heartbeat.camera_id AND h.hour >= date_trunc('hour', from_at, 'UTC')
	), checks AS (
		-- sort_us and log_id order the checks as camera_logs() does (by time, then log id)
		SELECT c.check_type AS kind, (c.hour_ms + u.ms) * 1000 AS sort_us, c.id * 65536 + u.k AS log_id,
			   c.hour_ms + u.ms AS epoch_ms, u.letter::text AS letter, u.lat AS lat_us
		FROM chunks c
		CROSS JOIN LATERAL unnest(c.at_ms, c.status, c.latency_us) WITH ORDINALITY AS u(ms, letter, lat, k)
		WHERE c.hour_ms + u.ms >= from_ms
		UNION ALL
		SELECT r.check_type, (extract(epoch FROM r.checked_at) * 1000000)::bigint, r.id,
			   round(extract(epoch FROM r.checked_at) * 1000)::bigint, left(r.status, 1), r.latency_us
		FROM camera_health.check_recent r
		WHERE r.camera_id = camera_heartbeat.camera_id AND r.checked_at >= from_at
	)
	-- latency as camera_latency() gives it (microseconds / 1000 in double precision), then real
	SELECT t.kind,
		   coalesce(array_agg(x.epoch_ms ORDER BY x.sort_us, x.log_id) FILTER (WHERE x.kind IS NOT NULL), '{}'),
		   coalesce(string_agg(x.letter, '' ORDER BY x.sort_us, x.log_id), ''),
		   coalesce(array_agg((x.lat_us::double precision / 1000)::real ORDER BY x.sort_us, x.log_id)
						FILTER (WHERE x.kind IS NOT NULL), '{}')
	FROM (VALUES ('ip'), ('port'), ('vision')) AS t(kind)
	LEFT JOIN checks x ON x.kind = t.kind
	GROUP BY t.kind
	ORDER BY t.kind;
END
$$;
COMMENT ON FUNCTION camera_health.camera_heartbeat(bigint, timestamptz) IS
'A camera''s checks since a time (default the last 24 hours, at most 31 days back), one row per check type (ip, port, vision, each also without checks): at_ms the times in epoch milliseconds, oldest first; status a letter per check in the same order (o ok, w warning, c critical, e error); latency_ms the round trips (NULL where none). Raises P0002 for an unknown camera, 22023 for since too far back.';

/* ---- over HTTP: GET /health/board, /health/alerts, /health/camera/{id}/heartbeat */

CREATE FUNCTION camera_health_api.camera_board(
	search text DEFAULT NULL,
	site text DEFAULT NULL,
	status text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	after_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.camera_tile
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.camera_board(camera_board.search, camera_board.site, camera_board.status,
											 camera_board.max_rows, camera_board.after_id);
END;
COMMENT ON FUNCTION camera_health_api.camera_board(text, text, text, integer, bigint) IS
'The dashboard''s camera tiles by id (GET /health/board?search=&site=&status=&max_rows=&after_id=): health (healthy, unhealthy, unknown, maintenance, disabled, as /health/summary counts them), each check''s status and since when, open alerts, worst severity, snapshot time; search finds name, address, site or tag; a page of max_rows (1 to 1000, default 200), the next after_id= the last id. 400 for a bad argument.';

CREATE FUNCTION camera_health_api.open_alerts(
	site text DEFAULT NULL,
	alert_type text DEFAULT NULL,
	severity text DEFAULT NULL,
	max_rows integer DEFAULT 200,
	before_id bigint DEFAULT NULL)
RETURNS SETOF camera_health.open_alert
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.open_alerts(site, alert_type, severity, max_rows, before_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.open_alerts(text, text, text, integer, bigint) IS
'The fleet''s open alerts, newest first (GET /health/alerts?site=&alert_type=&severity=&max_rows=&before_id=): with camera name and site, acknowledged, has_evidence and group_key (notifications group per site); a page of max_rows (1 to 1000, default 200), the next before_id= the last id. 400 for a bad argument, 404 for an unknown before_id.';

CREATE FUNCTION camera_health_api.camera_heartbeat(camera_id bigint,
												   since timestamptz DEFAULT now() - interval '24 hours')
RETURNS TABLE (check_type text, at_ms bigint[], status text, latency_ms real[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_heartbeat($1, $2);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_heartbeat(bigint, timestamptz) IS
'A camera''s checks since a time (GET /health/camera/{id}/heartbeat?since=; the last 24 hours by default, at most 31 days back), a row per check type: at_ms (epoch ms, oldest first), status (a letter per check: o ok, w warning, c critical, e error), latency_ms (NULL where none). 400 for since too far back, 404 for an unknown camera.';

/* ---- privileges ---------------------------------------------------------------- */

REVOKE ALL ON FUNCTION camera_health.health_state(boolean, boolean, bigint, bigint),
	camera_health.health_summary(),
	camera_health_api.health_summary(),
	camera_health.contains_pattern(text),
	camera_health.check_page_rows(integer, text),
	camera_health.camera_board(text, text, text, integer, bigint),
	camera_health.alert_group_key(text),
	camera_health.open_alerts(text, text, text, integer, bigint),
	camera_health.camera_heartbeat(bigint, timestamptz),
	camera_health_api.camera_board(text, text, text, integer, bigint),
	camera_health_api.open_alerts(text, text, text, integer, bigint),
	camera_health_api.camera_heartbeat(bigint, timestamptz)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health.health_state(boolean, boolean, bigint, bigint),
	camera_health.health_summary(),
	camera_health_api.health_summary(),
	camera_health.contains_pattern(text),
	camera_health.check_page_rows(integer, text),
	camera_health.camera_board(text, text, text, integer, bigint),
	camera_health.alert_group_key(text),
	camera_health.open_alerts(text, text, text, integer, bigint),
	camera_health.camera_heartbeat(bigint, timestamptz),
	camera_health_api.camera_board(text, text, text, integer, bigint),
	camera_health_api.open_alerts(text, text, text, integer, bigint),
	camera_health_api.camera_heartbeat(bigint, timestamptz)
	TO camera_health_reader;
