/* ------------------------------------------------------------------------
 * For the workers
 * ------------------------------------------------------------------------ */

/* Wakes the scheduler once the transaction commits (not before, not on abort). */
CREATE FUNCTION camera_health.cameras_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ch_cameras_changed';
COMMENT ON FUNCTION camera_health.cameras_changed() IS
'Trigger: tells the scheduler, at commit, which cameras changed (the argument names the bigint column holding the camera id; without one, the first column).';

CREATE TRIGGER cameras_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.cameras
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('id');
CREATE TRIGGER cameras_truncated
	AFTER TRUNCATE ON camera_health.cameras
	FOR EACH STATEMENT EXECUTE FUNCTION camera_health.cameras_changed();
-- a new or dropped reference is mirrored into Redis by the scheduler
CREATE TRIGGER camera_references_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('camera_id');

/*
 * Defence in depth for health logs, statuses and alert messages: the text
 * fields of a result's metadata that may quote a camera URL are masked
 * again (visionproc masks them already).  Only string fields holding "://"
 * cost a call; nested objects (the vision conditions) hold no URL.
 */
CREATE FUNCTION camera_health.mask_result_metadata(metadata jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(metadata) = 'object' THEN
		metadata || coalesce((SELECT jsonb_object_agg(k.key,
									 CASE k.key WHEN 'url' THEN camera_health.mask_url(metadata ->> k.key)
										 ELSE camera_health.mask_text(metadata ->> k.key) END)
							  FROM unnest(ARRAY['url', 'error', 'message', 'detail']) AS k(key)
							  WHERE jsonb_typeof(metadata -> k.key) = 'string'
								AND strpos(metadata ->> k.key, '://') > 0), '{}')
		ELSE metadata END;
END;
COMMENT ON FUNCTION camera_health.mask_result_metadata(jsonb) IS
'A result''s metadata with credentials masked in its url, error, message and detail fields.';

/* A batch of results as rows; round numbers a camera's results per check, oldest first. */
CREATE FUNCTION camera_health.parse_results(results jsonb)
RETURNS TABLE (camera_id bigint, check_type text, status text, checked_at timestamptz,
			   latency_ms double precision, metadata jsonb, round bigint)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT x.camera_id, x.check_type, x.status, to_timestamp(x.checked_ms / 1000.0),
		   x.latency_ms,
		   -- most results quote no URL: only those that do pay for masking
		   coalesce(CASE WHEN strpos(concat(x.metadata ->> 'url', x.metadata ->> 'error',
											x.metadata ->> 'message', x.metadata ->> 'detail'), '://') > 0
						 THEN camera_health.mask_result_metadata(x.metadata) ELSE x.metadata END, '{}'),
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

