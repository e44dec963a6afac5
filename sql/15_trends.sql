/* ------------------------------------------------------------------------
 * Hourly trends and uptime (issue 12)
 *
 * check_trends holds, per camera, check type and UTC hour, what the checks
 * of that hour said (counts by status, latency min / sum / max and a small
 * histogram for the p95) and how the hour was spent (seconds monitored,
 * down, blind, in maintenance).  Ingest maintains it in the same
 * transaction as the logs (record_results calls record_trends once per
 * round, before it updates camera_status); nothing ever rescans history.
 *
 * How time is attributed (the rule the COMMENTs and README refer to):
 *  - a check's status holds from that check until the next check of the same
 *    type, for at most 3 of the camera's intervals of that check; beyond, the
 *    time is unmonitored (counted neither up nor down).  So the time between
 *    two checks goes to the PREVIOUS status (camera_status before the update),
 *    split across hour boundaries, in whole seconds (check times floored to
 *    the second, so consecutive spans add up exactly);
 *  - ip and port: ok and warning are up, critical is down, error (the check
 *    itself failed) is unmonitored;
 *  - vision: error with a stage (the stream could not be had) is down and
 *    blind; any other error is unmonitored; warning or critical is blind
 *    (obstructed, blurred, frozen) unless displacement is the only condition
 *    detected (a moved camera still shows a picture); ok is up;
 *  - blind seconds of an ip row: ip down while the camera's latest vision
 *    state was neither down nor blind (or there is none): the ip and vision
 *    rows add up without counting a second twice (to within one ip interval
 *    around a vision transition);
 *  - a span that starts in a maintenance window of the camera
 *    (in_maintenance(camera, site, start)) counts as maintenance only: not
 *    monitored, not down, not blind.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.latency_hist_add(hist bytea, latency_ms double precision)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_add';
COMMENT ON FUNCTION camera_health.latency_hist_add(bytea, double precision) IS
'A latency histogram (see check_trends.latency_hist) with one more sample in milliseconds; NULL hist is empty, a NULL, negative or infinite latency is no sample.';

CREATE FUNCTION camera_health.latency_hist_merge(a bytea, b bytea)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_merge';
COMMENT ON FUNCTION camera_health.latency_hist_merge(bytea, bytea) IS
'The sum of two latency histograms (NULL is empty); a malformed one is refused with 22P03.';

CREATE FUNCTION camera_health.latency_hist_quantile(hist bytea, q double precision)
RETURNS double precision
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_quantile';
COMMENT ON FUNCTION camera_health.latency_hist_quantile(bytea, double precision) IS
'The q-th quantile (0 to 1, nearest rank) of a latency histogram in milliseconds, within 4%; NULL when it is empty.';

CREATE FUNCTION camera_health.latency_hist_count(hist bytea)
RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_latency_hist_count';
COMMENT ON FUNCTION camera_health.latency_hist_count(bytea) IS
'How many samples a latency histogram holds.';

CREATE AGGREGATE camera_health.latency_hist(double precision) (
	SFUNC = camera_health.latency_hist_add,
	STYPE = bytea,
	COMBINEFUNC = camera_health.latency_hist_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE camera_health.latency_hist(double precision) IS
'The latency histogram of a set of latencies in milliseconds (NULL when there is none).';

CREATE AGGREGATE camera_health.latency_hist_sum(bytea) (
	SFUNC = camera_health.latency_hist_merge,
	STYPE = bytea,
	COMBINEFUNC = camera_health.latency_hist_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE camera_health.latency_hist_sum(bytea) IS
'The sum of latency histograms, e.g. of several hours: latency_hist_quantile(latency_hist_sum(latency_hist), 0.95) is their p95.';

CREATE DOMAIN camera_health.check_kind AS text
	CHECK (VALUE IN ('ip', 'port', 'vision'));
COMMENT ON DOMAIN camera_health.check_kind IS 'A check type: ip, port or vision.';

/*
 * Small on purpose (10,000 cameras x 3 checks x 24 h x 400 days is 288
 * million rows): four-byte counts, two-byte seconds (an hour has 3,600),
 * latency min/max as real, the p95 as a histogram of a few bytes.  The mean
 * is latency_sum / latency_hist_count(latency_hist).  Partitioned by month
 * so that retention drops whole months; the default partition takes rows of
 * a month without one.
 */
CREATE TABLE camera_health.check_trends (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	hour timestamptz NOT NULL,
	latency_sum double precision,
	latency_min real,
	latency_max real,
	n_ok integer NOT NULL DEFAULT 0,
	n_warning integer NOT NULL DEFAULT 0,
	n_critical integer NOT NULL DEFAULT 0,
	n_error integer NOT NULL DEFAULT 0,
	monitored_s smallint NOT NULL DEFAULT 0 CHECK (monitored_s BETWEEN 0 AND 3600),
	down_s smallint NOT NULL DEFAULT 0 CHECK (down_s BETWEEN 0 AND 3600),
	blind_s smallint NOT NULL DEFAULT 0 CHECK (blind_s BETWEEN 0 AND 3600),
	maintenance_s smallint NOT NULL DEFAULT 0 CHECK (maintenance_s BETWEEN 0 AND 3600),
	check_type camera_health.check_kind NOT NULL,
	latency_hist bytea,
	PRIMARY KEY (camera_id, hour, check_type)
) PARTITION BY RANGE (hour);
CREATE TABLE camera_health.check_trends_default
	PARTITION OF camera_health.check_trends DEFAULT;
-- uptime over a range reads the hours at its ends across all cameras: ingest
-- writes hours in time order, so a BRIN index (a few pages a month) finds them
CREATE INDEX check_trends_hour_brin ON camera_health.check_trends USING brin (hour);
COMMENT ON TABLE camera_health.check_trends IS
'Hourly trends per camera and check, maintained by ingest (record_trends), kept for the trend retention (get_trend_retention); uptime and SLA functions read them.';
COMMENT ON COLUMN camera_health.check_trends.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.check_trends.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN camera_health.check_trends.latency_sum IS 'Sum of the latencies measured this hour, in milliseconds (mean: divide by latency_hist_count(latency_hist)).';
COMMENT ON COLUMN camera_health.check_trends.latency_min IS 'Smallest latency measured, in milliseconds.';
COMMENT ON COLUMN camera_health.check_trends.latency_max IS 'Largest latency measured, in milliseconds.';
COMMENT ON COLUMN camera_health.check_trends.n_ok IS 'Checks with status ok.';
COMMENT ON COLUMN camera_health.check_trends.n_warning IS 'Checks with status warning.';
COMMENT ON COLUMN camera_health.check_trends.n_critical IS 'Checks with status critical.';
COMMENT ON COLUMN camera_health.check_trends.n_error IS 'Checks that could not run (status error).';
COMMENT ON COLUMN camera_health.check_trends.monitored_s IS 'Seconds of the hour with a known state outside maintenance (a status holds until the next check, at most 3 intervals).';
COMMENT ON COLUMN camera_health.check_trends.down_s IS 'Monitored seconds down: ip or port critical, vision stream unavailable.';
COMMENT ON COLUMN camera_health.check_trends.blind_s IS 'Monitored seconds the picture was unusable: vision rows for stream unavailable, obstructed, blurred or frozen; ip rows for unreachable while the latest vision state was usable or absent.';
COMMENT ON COLUMN camera_health.check_trends.maintenance_s IS 'Seconds in a maintenance window (neither monitored nor down nor blind).';
COMMENT ON COLUMN camera_health.check_trends.check_type IS 'ip, port or vision.';
COMMENT ON COLUMN camera_health.check_trends.latency_hist IS 'Histogram of the latencies (logarithmic buckets, 4% wide): latency_hist_quantile(latency_hist, 0.95) is the p95.';

/*
 * The uptime figures of check_trends summed per camera and UTC day, kept
 * by record_trends beside the hours: uptime over a month or a year reads a
 * row per camera and day (and hours only for the partial days at the
 * ends), 30 times fewer rows than the hours of three checks.
 */
CREATE TABLE camera_health.uptime_daily (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	day timestamptz NOT NULL,
	ip_monitored_s integer NOT NULL DEFAULT 0,
	ip_down_s integer NOT NULL DEFAULT 0,
	stream_monitored_s integer NOT NULL DEFAULT 0,
	stream_down_s integer NOT NULL DEFAULT 0,
	blind_s integer NOT NULL DEFAULT 0,
	maintenance_s integer NOT NULL DEFAULT 0,
	PRIMARY KEY (camera_id, day)
) PARTITION BY RANGE (day);
CREATE TABLE camera_health.uptime_daily_default
	PARTITION OF camera_health.uptime_daily DEFAULT;
COMMENT ON TABLE camera_health.uptime_daily IS
'The uptime seconds of check_trends per camera and UTC day (ip and vision rows), kept with them by record_trends and under the same retention: what camera_uptime and fleet_uptime read for whole days.';
COMMENT ON COLUMN camera_health.uptime_daily.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.uptime_daily.day IS 'Start of the UTC day.';
COMMENT ON COLUMN camera_health.uptime_daily.ip_monitored_s IS 'Monitored seconds of the ip check (maintenance excluded).';
COMMENT ON COLUMN camera_health.uptime_daily.ip_down_s IS 'Seconds the ip check was down (critical).';
COMMENT ON COLUMN camera_health.uptime_daily.stream_monitored_s IS 'Monitored seconds of the vision check.';
COMMENT ON COLUMN camera_health.uptime_daily.stream_down_s IS 'Seconds the stream was unavailable.';
COMMENT ON COLUMN camera_health.uptime_daily.blind_s IS 'Blind seconds (ip and vision rows of check_trends together).';
COMMENT ON COLUMN camera_health.uptime_daily.maintenance_s IS 'Seconds of the ip check in a maintenance window.';

CREATE TABLE camera_health.trend_retention (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	retention interval NOT NULL CHECK (retention BETWEEN interval '1 day' AND interval '3650 days'),
	updated_at timestamptz DEFAULT now()
);
COMMENT ON TABLE camera_health.trend_retention IS 'Per-camera retention of hourly trends (check_trends).';
COMMENT ON COLUMN camera_health.trend_retention.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.trend_retention.retention IS 'How long its trends are kept, 1 day to 3650 days.';
COMMENT ON COLUMN camera_health.trend_retention.updated_at IS 'When the policy was set; NULL in get_trend_retention() means the default applies.';
SELECT pg_catalog.pg_extension_config_dump('camera_health.trend_retention', '');

ALTER TABLE camera_health.retention_runs ADD COLUMN check_trends_deleted bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN camera_health.retention_runs.check_trends_deleted IS
'check_trends rows removed (dropped monthly partitions by estimate, as for health_logs).';

CREATE FUNCTION camera_health.default_trend_retention()
RETURNS interval
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_default_trend_retention';
COMMENT ON FUNCTION camera_health.default_trend_retention() IS
'The retention of hourly trends for cameras without a policy of their own (GUC camera_health.default_trend_retention, 400 days by default).';

/* ---- recording ------------------------------------------------------------ */

/*
 * What a check's status says about the camera for the trends (see the rule
 * above).  No pinned search_path, on purpose: record_trends calls it twice
 * per result, and only a function without SET is inlined (a call of a SQL
 * function costs more than all the rest of a result's trend).  Its body is
 * SQL-standard (BEGIN ATOMIC): every name in it was bound when it was
 * created, so no caller's search_path can change what it runs.
 */
CREATE FUNCTION camera_health.trend_state(check_type text, status text, metadata jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE
		WHEN status IS NULL THEN NULL
		WHEN check_type IN ('ip', 'port') THEN
			CASE status WHEN 'critical' THEN 'down' WHEN 'error' THEN 'unmonitored' ELSE 'up' END
		WHEN status = 'ok' THEN 'up'
		WHEN status = 'error' THEN CASE WHEN metadata ? 'stage' THEN 'down' ELSE 'unmonitored' END
		-- a moved camera still shows a picture: displacement alone is not blind
		WHEN (metadata -> 'displacement' ->> 'detected') = 'true'
			 AND coalesce(metadata -> 'blur' ->> 'detected', 'false') <> 'true'
			 AND coalesce(metadata -> 'obstruction' ->> 'detected', 'false') <> 'true'
			 AND coalesce(metadata -> 'frozen' ->> 'detected', 'false') <> 'true' THEN 'up'
		ELSE 'blind' END;
END;
COMMENT ON FUNCTION camera_health.trend_state(text, text, jsonb) IS
'What a check result means for uptime: up, down, blind (vision: picture unusable) or unmonitored (the check itself failed).';

/*
 * Adds round rnd of a batch (see record_results) to check_trends: each
 * result counts in its own hour (status, latency), and the time since the
 * previous check of the same type goes to the previous status.  Called by
 * record_results before it updates camera_status for the round.
 */
CREATE FUNCTION camera_health.record_trends(batch camera_health.batch_result[], rnd bigint)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH r AS MATERIALIZED (
		-- the round's results
		SELECT p.camera_id, p.check_type, p.status, p.checked_at, p.site, p.interval_s,
			   CASE WHEN p.latency_ms >= 0 AND p.latency_ms < 'infinity' THEN p.latency_ms END AS latency_ms
		FROM unnest(batch) p
		WHERE p.round = rnd
	), spans AS (
		-- since the previous check (camera_status, not yet updated): whole
		-- seconds, at most 3 intervals, with the previous status (epochs as
		-- date_part's float8: extract's numeric costs a microsecond a call)
		SELECT r.camera_id, r.check_type,
			   floor(date_part('epoch', s.checked_at))::bigint AS a,
			   floor(date_part('epoch', least(r.checked_at,
											  s.checked_at + make_interval(secs => 3 * r.interval_s))))::bigint AS b,
			   camera_health.trend_state(s.check_type, s.status, s.metadata) AS state,
			   s.checked_at AS started, r.site
		FROM r
		JOIN camera_health.camera_status s ON s.camera_id = r.camera_id AND s.check_type = r.check_type
		WHERE s.checked_at < r.checked_at
	), judged AS MATERIALIZED (
		-- materialized: what each span counts as is decided once
		SELECT sp.camera_id, sp.check_type, sp.a, sp.b,
			   -- an ip outage is blind unless the picture was lost already:
			   -- the vision status is read for those spans only
			   CASE WHEN sp.check_type = 'ip' AND sp.state = 'down' THEN
					(SELECT camera_health.trend_state('vision', v.status, v.metadata)
					 FROM camera_health.camera_status v
					 WHERE v.camera_id = sp.camera_id AND v.check_type = 'vision') END AS vision_state,
			   -- in_maintenance(camera, site, start), written out: a subplan
			   -- costs a fraction of a call of that SQL function per result
			   CASE WHEN EXISTS (SELECT FROM camera_health.maintenance_windows w
								 WHERE w.starts_at <= sp.started AND w.ends_at > sp.started
								   AND (w.camera_id IS NULL OR w.camera_id = sp.camera_id)
								   AND (w.site IS NULL OR w.site = sp.site)) THEN 'maintenance'
					ELSE sp.state END AS kind
		FROM spans sp
		WHERE sp.b > sp.a AND sp.state <> 'unmonitored'
	), x AS MATERIALIZED (
		-- each result counts in its hour; each span's seconds, cut at hours
		SELECT r.camera_id, r.check_type, floor(date_part('epoch', r.checked_at) / 3600)::bigint * 3600 AS hour_s,
			   r.status, r.latency_ms,
			   NULL::integer AS seconds, false AS monitored, false AS down, false AS blind, false AS maintenance
		FROM r
		UNION ALL
		SELECT j.camera_id, j.check_type, h, NULL, NULL,
			   (least(j.b, h + 3600) - greatest(j.a, h))::integer,
			   j.kind IN ('up', 'down', 'blind'),
			   j.kind = 'down',
			   CASE j.check_type
				   WHEN 'vision' THEN j.kind IN ('down', 'blind')
				   WHEN 'ip' THEN j.kind = 'down' AND coalesce(j.vision_state NOT IN ('down', 'blind'), true)
				   ELSE false END,
			   j.kind = 'maintenance'
		FROM judged j
		CROSS JOIN LATERAL generate_series(floor(j.a::float8 / 3600)::bigint * 3600, j.b - 1, 3600) AS h
	), hourly AS (
		INSERT INTO camera_health.check_trends AS t
			(camera_id, hour, check_type, n_ok, n_warning, n_critical, n_error,
			 latency_sum, latency_min, latency_max, latency_hist, monitored_s, down_s, blind_s, maintenance_s)
		SELECT x.camera_id, to_timestamp(x.hour_s), x.check_type,
			   count(*) FILTER (WHERE x.status = 'ok'), count(*) FILTER (WHERE x.status = 'warning'),
			   count(*) FILTER (WHERE x.status = 'critical'), count(*) FILTER (WHERE x.status = 'error'),
			   sum(x.latency_ms), min(x.latency_ms), max(x.latency_ms), camera_health.latency_hist(x.latency_ms),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.monitored), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.down), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.blind), 0)),
			   least(3600, coalesce(sum(x.seconds) FILTER (WHERE x.maintenance), 0))
		FROM x
		GROUP BY x.camera_id, x.check_type, x.hour_s
		ON CONFLICT (camera_id, hour, check_type) DO UPDATE
		SET n_ok = t.n_ok + excluded.n_ok,
			n_warning = t.n_warning + excluded.n_warning,
			n_critical = t.n_critical + excluded.n_critical,
			n_error = t.n_error + excluded.n_error,
			latency_sum = CASE WHEN excluded.latency_sum IS NULL THEN t.latency_sum
							  ELSE coalesce(t.latency_sum, 0) + excluded.latency_sum END,
			latency_min = least(t.latency_min, excluded.latency_min),
			latency_max = greatest(t.latency_max, excluded.latency_max),
			latency_hist = CASE WHEN excluded.latency_hist IS NULL THEN t.latency_hist
							   ELSE camera_health.latency_hist_merge(t.latency_hist, excluded.latency_hist) END,
			monitored_s = least(3600, t.monitored_s + excluded.monitored_s),
			down_s = least(3600, t.down_s + excluded.down_s),
			blind_s = least(3600, t.blind_s + excluded.blind_s),
			maintenance_s = least(3600, t.maintenance_s + excluded.maintenance_s)
	)
	INSERT INTO camera_health.uptime_daily AS d
		(camera_id, day, ip_monitored_s, ip_down_s, stream_monitored_s, stream_down_s, blind_s, maintenance_s)
	SELECT x.camera_id, to_timestamp(floor(x.hour_s::float8 / 86400) * 86400),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.monitored), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.down), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'vision' AND x.monitored), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'vision' AND x.down), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.blind), 0),
		   coalesce(sum(x.seconds) FILTER (WHERE x.check_type = 'ip' AND x.maintenance), 0)
	FROM x
	WHERE x.seconds > 0 AND x.check_type IN ('ip', 'vision')
	GROUP BY 1, 2
	ON CONFLICT (camera_id, day) DO UPDATE
	SET ip_monitored_s = d.ip_monitored_s + excluded.ip_monitored_s,
		ip_down_s = d.ip_down_s + excluded.ip_down_s,
		stream_monitored_s = d.stream_monitored_s + excluded.stream_monitored_s,
		stream_down_s = d.stream_down_s + excluded.stream_down_s,
		blind_s = d.blind_s + excluded.blind_s,
		maintenance_s = d.maintenance_s + excluded.maintenance_s;
END;
COMMENT ON FUNCTION camera_health.record_trends(camera_health.batch_result[], bigint) IS
'For record_results: adds round rnd of a batch of results to the hourly trends and their daily uptime sums (a status holds until the next check of its type, at most 3 intervals; the time since the previous check goes to the previous status; maintenance windows count apart).';

/* ---- reading: uptime ------------------------------------------------------ */

CREATE FUNCTION camera_health.check_uptime_range(since timestamptz, until timestamptz)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF until <= since THEN
		RAISE EXCEPTION 'invalid range: until (%) is not after since (%)', until, since
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give since < until, e.g. since => now() - interval ''30 days'', until => now().';
	END IF;
	IF since = '-infinity' OR until = 'infinity' THEN
		RAISE EXCEPTION 'invalid range: since and until must be finite'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_uptime_range(timestamptz, timestamptz) IS
'Raises null_value_not_allowed (22004) or invalid_parameter_value (22023) unless since < until, both finite.';

/*
 * The trend seconds of each camera (or of those of camera_ids) over
 * [since, until): whole
 * UTC days from uptime_daily, the hours of the partial days at either end
 * from check_trends, hours partly in the range pro rata (an hour a quarter
 * inside counts a quarter of its seconds).  Hours without trends (beyond
 * the trends' retention, before the camera's first check) are unmonitored.
 */
CREATE FUNCTION camera_health.uptime_seconds(since timestamptz, until timestamptz, camera_ids bigint[] DEFAULT NULL)
RETURNS TABLE (camera_id bigint, ip_monitored_s double precision, ip_down_s double precision,
			   maintenance_s double precision, stream_monitored_s double precision,
			   stream_down_s double precision, blind_s double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- the whole UTC days inside the range: [first_day, end_day)
	first_day timestamptz := to_timestamp(ceil(extract(epoch FROM since) / 86400) * 86400);
	end_day timestamptz := to_timestamp(floor(extract(epoch FROM until) / 86400) * 86400);
BEGIN
	IF first_day >= end_day THEN
		first_day := until;		-- no whole day: hours only
		end_day := until;
	END IF;
	-- one text for both cases; the camera filter is a constant in each plan
	RETURN QUERY EXECUTE format($q$
		SELECT s.camera_id, sum(s.ip_mon), sum(s.ip_down), sum(s.maint), sum(s.smon), sum(s.sdown), sum(s.blind)
		FROM (
			SELECT d.camera_id, d.ip_monitored_s::float8 AS ip_mon, d.ip_down_s::float8 AS ip_down,
				   d.maintenance_s::float8 AS maint, d.stream_monitored_s::float8 AS smon,
				   d.stream_down_s::float8 AS sdown, d.blind_s::float8 AS blind
			FROM camera_health.uptime_daily d
			WHERE d.day >= $3 AND d.day < $4 AND %1$s
			UNION ALL
			SELECT t.camera_id,
				   CASE WHEN t.check_type = 'ip' THEN t.monitored_s * f.f END,
				   CASE WHEN t.check_type = 'ip' THEN t.down_s * f.f END,
				   CASE WHEN t.check_type = 'ip' THEN t.maintenance_s * f.f END,
				   CASE WHEN t.check_type = 'vision' THEN t.monitored_s * f.f END,
				   CASE WHEN t.check_type = 'vision' THEN t.down_s * f.f END,
				   t.blind_s * f.f
			FROM camera_health.check_trends t
			CROSS JOIN LATERAL (SELECT CASE WHEN t.hour >= $1 AND t.hour + interval '1 hour' <= $2 THEN 1.0::float8
											ELSE greatest(0, extract(epoch FROM least($2, t.hour + interval '1 hour')
																	 - greatest($1, t.hour)))::float8 / 3600
									   END AS f) f
			WHERE ((t.hour > $1 - interval '1 hour' AND t.hour < $3) OR (t.hour >= $4 AND t.hour < $2))
			  AND t.check_type IN ('ip', 'vision') AND %2$s
		) s
		GROUP BY s.camera_id$q$,
		CASE WHEN camera_ids IS NULL THEN 'true' ELSE 'd.camera_id = ANY ($5)' END,
		CASE WHEN camera_ids IS NULL THEN 'true' ELSE 't.camera_id = ANY ($5)' END)
	USING since, until, first_day, end_day, camera_ids;
END
$$;
COMMENT ON FUNCTION camera_health.uptime_seconds(timestamptz, timestamptz, bigint[]) IS
'Per camera (or for those of camera_ids), the monitored, down, maintenance and blind seconds over [since, until): whole days from uptime_daily, the hours at the ends from check_trends (partly inside pro rata).';

CREATE FUNCTION camera_health.camera_uptime(camera_id bigint, since timestamptz, until timestamptz)
RETURNS TABLE (camera_id bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT camera_health.require_camera(camera_uptime.camera_id);
	SELECT camera_health.check_uptime_range(camera_uptime.since, camera_uptime.until);
	SELECT camera_uptime.camera_id, camera_uptime.since, camera_uptime.until,
		   1 - u.ip_down_s / nullif(u.ip_monitored_s, 0),
		   1 - u.stream_down_s / nullif(u.stream_monitored_s, 0),
		   coalesce(u.blind_s, 0) / 60, coalesce(u.ip_down_s, 0) / 60, coalesce(u.stream_down_s, 0) / 60,
		   coalesce(u.ip_monitored_s, 0) / 60, coalesce(u.stream_monitored_s, 0) / 60,
		   coalesce(u.maintenance_s, 0) / 60
	FROM (SELECT 1) AS one
	LEFT JOIN camera_health.uptime_seconds(camera_uptime.since, camera_uptime.until, ARRAY[camera_uptime.camera_id]) u ON true;
END;
COMMENT ON FUNCTION camera_health.camera_uptime(bigint, timestamptz, timestamptz) IS
'Uptime of one camera over [since, until), from the hourly trends (hours partly inside pro rata): availability = 1 - ip down / ip monitored time, stream_availability the same for the vision stream, blind_minutes when the picture was unusable (unreachable, stream unavailable, obstructed, blurred, frozen). Maintenance windows are excluded from all of them (maintenance_minutes says how much); unmonitored time (no check within 3 intervals, check errors, hours beyond the trend retention) counts neither way; availability is NULL without monitored time. Raises 22023 unless since < until.';

CREATE FUNCTION camera_health.fleet_uptime(since timestamptz, until timestamptz, site text DEFAULT NULL)
RETURNS TABLE (scope text, site text, cameras bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT camera_health.check_uptime_range(fleet_uptime.since, fleet_uptime.until);
	WITH per_camera AS (
		SELECT c.site, u.*
		FROM camera_health.cameras c
		-- one site: only its cameras' trends are read
		LEFT JOIN camera_health.uptime_seconds(fleet_uptime.since, fleet_uptime.until,
			CASE WHEN fleet_uptime.site IS NOT NULL THEN coalesce((SELECT array_agg(s.id) FROM camera_health.cameras s
																   WHERE s.site = fleet_uptime.site), '{}') END) u
			ON u.camera_id = c.id
		WHERE fleet_uptime.site IS NULL OR c.site = fleet_uptime.site
	), grouped AS (
		SELECT CASE WHEN grouping(p.site) = 1 THEN 'fleet' ELSE 'site' END AS scope, p.site,
			   count(*) AS cameras, sum(p.ip_monitored_s) AS mon, sum(p.ip_down_s) AS down,
			   sum(p.stream_monitored_s) AS smon, sum(p.stream_down_s) AS sdown,
			   sum(p.blind_s) AS blind, sum(p.maintenance_s) AS maint
		FROM per_camera p
		GROUP BY GROUPING SETS ((p.site), ())
	)
	SELECT g.scope, g.site, g.cameras, fleet_uptime.since, fleet_uptime.until,
		   1 - g.down / nullif(g.mon, 0), 1 - g.sdown / nullif(g.smon, 0),
		   coalesce(g.blind, 0) / 60, coalesce(g.down, 0) / 60, coalesce(g.sdown, 0) / 60,
		   coalesce(g.mon, 0) / 60, coalesce(g.smon, 0) / 60, coalesce(g.maint, 0) / 60
	FROM grouped g
	WHERE fleet_uptime.site IS NULL OR g.scope = 'site'
	ORDER BY g.scope DESC, g.site NULLS LAST;
END;
COMMENT ON FUNCTION camera_health.fleet_uptime(timestamptz, timestamptz, text) IS
'Uptime over [since, until) from the hourly trends, one row per site (scope site; site NULL: cameras without one) and, without a site argument, one for the whole fleet (scope fleet): availability and stream_availability weighted by monitored time, blind and down minutes summed over the cameras. Maintenance excluded as in camera_uptime. Raises 22023 unless since < until.';

/* ---- trend retention ------------------------------------------------------ */

CREATE FUNCTION camera_health.get_trend_retention(camera_id bigint)
RETURNS camera_health.trend_retention
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.trend_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT r.* INTO result FROM camera_health.trend_retention r WHERE r.camera_id = get_trend_retention.camera_id;
	IF NOT FOUND THEN
		result := ROW(camera_id, camera_health.default_trend_retention(), NULL);
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.get_trend_retention(bigint) IS
'How long the camera''s hourly trends are kept; updated_at is NULL when the default (camera_health.default_trend_retention) applies.';

CREATE FUNCTION camera_health.set_trend_retention(camera_id bigint, retention interval)
RETURNS camera_health.trend_retention
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.trend_retention;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF retention IS NULL THEN
		RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF retention NOT BETWEEN interval '1 day' AND interval '3650 days' THEN
		RAISE EXCEPTION 'invalid trend retention: %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep trends for 1 day to 3650 days.';
	END IF;
	INSERT INTO camera_health.trend_retention AS r (camera_id, retention, updated_at)
	VALUES (camera_id, retention, now())
	ON CONFLICT ON CONSTRAINT trend_retention_pkey
	DO UPDATE SET retention = excluded.retention, updated_at = excluded.updated_at
	RETURNING r.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.set_trend_retention(bigint, interval) IS
'Sets how long the camera''s hourly trends are kept (1 day to 3650 days) and returns the policy; the retention worker enforces it.';

/*
 * Creates the monthly partitions of check_trends from this month (UTC) to
 * months_ahead months on; a month whose rows already went to the default
 * partition is left there (retention deletes them row by row).
 */
CREATE FUNCTION camera_health.create_trend_partitions(months_ahead integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parent record;
	month date;
	created integer := 0;
	part text;
	in_default boolean;
BEGIN
	IF months_ahead IS NULL OR months_ahead NOT BETWEEN 0 AND 24 THEN
		RAISE EXCEPTION 'invalid months_ahead: %', months_ahead
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Create 0 to 24 months ahead.';
	END IF;
	FOR parent IN SELECT * FROM (VALUES ('check_trends', 'hour'), ('uptime_daily', 'day')) AS v(name, col) LOOP
		FOR month IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
											date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead),
											interval '1 month')::date
		LOOP
			part := format('%s_p%s', parent.name, to_char(month, 'YYYYMM'));
			CONTINUE WHEN to_regclass('camera_health.' || part) IS NOT NULL;
			EXECUTE format('SELECT EXISTS (SELECT FROM camera_health.%I WHERE %I >= %L AND %I < %L)',
						   parent.name || '_default', parent.col, month::timestamp AT TIME ZONE 'UTC',
						   parent.col, (month + interval '1 month') AT TIME ZONE 'UTC')
			INTO STRICT in_default;
			CONTINUE WHEN in_default;
			EXECUTE format('CREATE TABLE camera_health.%I PARTITION OF camera_health.%I FOR VALUES FROM (%L) TO (%L)',
						   part, parent.name, month::timestamp AT TIME ZONE 'UTC',
						   (month + interval '1 month') AT TIME ZONE 'UTC');
			created := created + 1;
		END LOOP;
	END LOOP;
	RETURN created;
END
$$;
COMMENT ON FUNCTION camera_health.create_trend_partitions(integer) IS
'Creates the monthly partitions of check_trends and uptime_daily up to months_ahead months ahead (the retention worker calls it); returns how many it created.';

/* The longest trend retention of any camera: months older than this hold only expired rows. */
CREATE FUNCTION camera_health.longest_trend_retention()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT greatest(camera_health.default_trend_retention(),
					(SELECT max(retention) FROM camera_health.trend_retention));
END;
COMMENT ON FUNCTION camera_health.longest_trend_retention() IS
'The longest trend retention of any camera: the default or the longest policy.';

/* The monthly partitions of check_trends and uptime_daily that end at or before horizon. */
CREATE FUNCTION camera_health.expired_trend_partitions(horizon timestamptz)
RETURNS TABLE (partition regclass, ends timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass,
		   (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC'
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent IN ('camera_health.check_trends'::regclass, 'camera_health.uptime_daily'::regclass)
	  AND c.relname ~ '_p[0-9]{6}$'
	  AND (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC' <= horizon
	ORDER BY 2;
END;
COMMENT ON FUNCTION camera_health.expired_trend_partitions(timestamptz) IS
'Monthly partitions of check_trends and uptime_daily whose whole range is older than horizon (for the retention worker).';

/* The partitions of check_trends and uptime_daily that may hold rows past the shortest trend retention. */
CREATE FUNCTION camera_health.trend_partitions_to_prune()
RETURNS TABLE (partition regclass, time_column text, period interval)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.oid::regclass,
		   CASE WHEN i.inhparent = 'camera_health.check_trends'::regclass THEN 'hour' ELSE 'day' END,
		   CASE WHEN i.inhparent = 'camera_health.check_trends'::regclass THEN interval '1 hour' ELSE interval '1 day' END
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent IN ('camera_health.check_trends'::regclass, 'camera_health.uptime_daily'::regclass)
	  AND (c.relname !~ '_p[0-9]{6}$'
		   OR to_date(right(c.relname, 6), 'YYYYMM') AT TIME ZONE 'UTC'
			  < now() - least(camera_health.default_trend_retention(),
							  (SELECT min(r.retention) FROM camera_health.trend_retention r)))
	ORDER BY 1;
END;
COMMENT ON FUNCTION camera_health.trend_partitions_to_prune() IS
'The partitions of check_trends and uptime_daily that may hold expired rows (the default ones and the months that start before the shortest retention), with the column that dates a row and the period a row covers (for the retention worker).';

/* ---- health_summary(): uptime over the last day and month ------------------ */

/* fleet_uptime over a range as JSON: the fleet's figures and one entry per site. */
CREATE FUNCTION camera_health.uptime_summary(since timestamptz, until timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH f AS MATERIALIZED (SELECT * FROM camera_health.fleet_uptime(since, until))
	SELECT jsonb_build_object(
		'availability', fleet.availability, 'stream_availability', fleet.stream_availability,
		'blind_minutes', round(fleet.blind_minutes::numeric, 1),
		'maintenance_minutes', round(fleet.maintenance_minutes::numeric, 1),
		'sites', (SELECT coalesce(jsonb_agg(jsonb_build_object(
						 'site', f.site, 'availability', f.availability, 'stream_availability', f.stream_availability,
						 'blind_minutes', round(f.blind_minutes::numeric, 1),
						 'maintenance_minutes', round(f.maintenance_minutes::numeric, 1))
						 ORDER BY f.site NULLS LAST), '[]')
				  FROM f WHERE f.scope = 'site'))
	FROM f AS fleet WHERE fleet.scope = 'fleet';
END;
COMMENT ON FUNCTION camera_health.uptime_summary(timestamptz, timestamptz) IS
'For health_summary(): fleet_uptime over [since, until) as JSON (fleet availability, stream_availability, blind and maintenance minutes, and the same per site).';

-- health_summary() gains these figures in sql/16_dashboard.sql, where 1.1 defines it

/* ---- SLA of a month --------------------------------------------------------- */

CREATE FUNCTION camera_health.month_range(month text, OUT since timestamptz, OUT until timestamptz)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF month IS NULL THEN
		RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
		RAISE EXCEPTION 'invalid month: "%"', left(month, 40)
			USING ERRCODE = 'invalid_datetime_format', HINT = 'Give the month as YYYY-MM, e.g. 2026-11.';
	END IF;
	since := (month || '-01')::timestamp AT TIME ZONE 'UTC';
	until := ((month || '-01')::timestamp + interval '1 month') AT TIME ZONE 'UTC';
END
$$;
COMMENT ON FUNCTION camera_health.month_range(text) IS
'The UTC range of a month given as YYYY-MM; raises invalid_datetime_format (22007) otherwise.';

CREATE FUNCTION camera_health.camera_sla(month text)
RETURNS TABLE (scope text, site text, camera_id bigint, camera_name text, cameras bigint,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   maintenance_minutes double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH r AS (SELECT * FROM camera_health.month_range(month)),
	per_camera AS (
		SELECT c.id, c.name, c.site, u.*
		FROM camera_health.cameras c
		LEFT JOIN camera_health.uptime_seconds((SELECT r.since FROM r), (SELECT r.until FROM r)) u ON u.camera_id = c.id
	), grouped AS (
		SELECT CASE WHEN grouping(p.id) = 0 THEN 'camera' WHEN grouping(p.site) = 0 THEN 'site' ELSE 'fleet' END AS scope,
			   p.site, p.id, CASE WHEN grouping(p.id) = 0 THEN min(p.name) END AS name, count(*) AS cameras,
			   sum(p.ip_monitored_s) AS mon, sum(p.ip_down_s) AS down, sum(p.stream_monitored_s) AS smon,
			   sum(p.stream_down_s) AS sdown, sum(p.blind_s) AS blind, sum(p.maintenance_s) AS maint
		FROM per_camera p
		GROUP BY GROUPING SETS ((p.site, p.id), (p.site), ())
	)
	SELECT g.scope, g.site, g.id, g.name, g.cameras,
		   1 - g.down / nullif(g.mon, 0), 1 - g.sdown / nullif(g.smon, 0),
		   coalesce(g.blind, 0) / 60, coalesce(g.down, 0) / 60, coalesce(g.sdown, 0) / 60,
		   coalesce(g.mon, 0) / 60, coalesce(g.maint, 0) / 60
	FROM grouped g
	ORDER BY CASE g.scope WHEN 'camera' THEN 0 WHEN 'site' THEN 1 ELSE 2 END, g.site NULLS LAST, g.id;
END;
COMMENT ON FUNCTION camera_health.camera_sla(text) IS
'The SLA report of a month (YYYY-MM, UTC): one row per camera (scope camera), per site (scope site) and for the fleet (scope fleet), with the figures of camera_uptime over the month (maintenance excluded). Raises 22007 for a malformed month.';

/* ---- privileges ------------------------------------------------------------ */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;
-- trends hold no imagery and no credentials: readers may read them
GRANT SELECT ON camera_health.check_trends, camera_health.uptime_daily, camera_health.trend_retention TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.default_trend_retention(),
	camera_health.check_uptime_range(timestamptz, timestamptz),
	camera_health.uptime_seconds(timestamptz, timestamptz, bigint[]),
	camera_health.month_range(text),
	camera_health.get_trend_retention(bigint),
	camera_health.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health.fleet_uptime(timestamptz, timestamptz, text),
	camera_health.camera_sla(text),
	camera_health.latency_hist_quantile(bytea, double precision),
	camera_health.latency_hist_count(bytea),
	camera_health.latency_hist_merge(bytea, bytea),
	camera_health.latency_hist_sum(bytea)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION camera_health.set_trend_retention(bigint, interval) TO camera_health_writer;

/* ---- HTTP (PostgREST): GET /health/camera/{id}/uptime, /health/uptime, /health/sla */

-- the row of camera_uptime, named (a PL/pgSQL function cannot have a column named as an argument)
CREATE TYPE camera_health.uptime_report AS (
	camera_id bigint, since timestamptz, until timestamptz,
	availability double precision, stream_availability double precision,
	blind_minutes double precision, down_minutes double precision,
	stream_down_minutes double precision, monitored_minutes double precision,
	stream_monitored_minutes double precision, maintenance_minutes double precision);
COMMENT ON TYPE camera_health.uptime_report IS 'A row of camera_uptime(): a camera''s uptime over a range (see there).';

CREATE FUNCTION camera_health_api.camera_uptime(camera_id bigint, since timestamptz DEFAULT NULL,
												until timestamptz DEFAULT NULL)
RETURNS SETOF camera_health.uptime_report
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_uptime($1, coalesce($2, coalesce($3, now()) - interval '30 days'),
														   coalesce($3, now()));
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz) IS
'Uptime of a camera from the hourly trends (GET /health/camera/{id}/uptime?since=&until=; the last 30 days by default): availability (ip), stream_availability, blind, down, monitored and maintenance minutes; maintenance windows excluded, hours partly in the range pro rata. 400 unless since < until, 404 for an unknown camera.';

CREATE FUNCTION camera_health_api.fleet_uptime(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
											   site text DEFAULT NULL)
RETURNS TABLE (scope text, site text, cameras bigint, since timestamptz, until timestamptz,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   stream_monitored_minutes double precision, maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.fleet_uptime(coalesce(fleet_uptime.since, coalesce(fleet_uptime.until, now()) - interval '30 days'),
											 coalesce(fleet_uptime.until, now()), fleet_uptime.site);
END;
COMMENT ON FUNCTION camera_health_api.fleet_uptime(timestamptz, timestamptz, text) IS
'Uptime of the fleet from the hourly trends (GET /health/uptime?since=&until=&site=; the last 30 days by default): a row per site and one for the fleet (only the site''s row with site=), as camera_uptime. 400 unless since < until.';

CREATE FUNCTION camera_health_api.camera_sla(month text)
RETURNS TABLE (scope text, site text, camera_id bigint, camera_name text, cameras bigint,
			   availability double precision, stream_availability double precision,
			   blind_minutes double precision, down_minutes double precision,
			   stream_down_minutes double precision, monitored_minutes double precision,
			   maintenance_minutes double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.camera_sla(camera_sla.month);
END;
COMMENT ON FUNCTION camera_health_api.camera_sla(text) IS
'The SLA report of a month (GET /health/sla?month=YYYY-MM, UTC; JSON, or CSV with Accept: text/csv): a row per camera, per site and for the fleet; maintenance windows excluded. 400 for a malformed month.';

REVOKE ALL ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health_api.fleet_uptime(timestamptz, timestamptz, text),
	camera_health_api.camera_sla(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION camera_health_api.camera_uptime(bigint, timestamptz, timestamptz),
	camera_health_api.fleet_uptime(timestamptz, timestamptz, text),
	camera_health_api.camera_sla(text)
	TO camera_health_reader;
