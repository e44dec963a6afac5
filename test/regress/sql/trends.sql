-- Hourly trends, uptime and trend retention: what is refused (with its
-- SQLSTATE) and what a small constructed history gives.  No ids are printed.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;
SELECT id AS cam FROM register_camera('10.15.0.1', rtsp_url => 'rtsp://10.15.0.1/s', interval_ip => 60,
	interval_vision => 300, site => 'trends-site') \gset
SELECT id AS plain FROM register_camera('10.15.0.2', interval_ip => 60) \gset

-- r(camera, check, status, seconds after 2026-01-01 00:00 UTC, latency, metadata)
CREATE FUNCTION pg_temp.r(camera bigint, check_type text, status text, s integer,
						  latency double precision DEFAULT NULL, meta jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql
RETURN jsonb_build_object('camera_id', camera, 'check_type', check_type, 'status', status,
	'checked_ms', 1767225600000 + s::bigint * 1000, 'latency_ms', latency, 'metadata', meta);

-- the latency histogram
SELECT latency_hist_count(latency_hist(x)), round(latency_hist_quantile(latency_hist(x), 0.5)::numeric, 2) AS p50,
	   round(latency_hist_quantile(latency_hist(x), 0.95)::numeric, 2) AS p95
FROM generate_series(1, 100) x;
SELECT latency_hist_count(latency_hist_merge(latency_hist_add(NULL, 1), latency_hist_add(NULL, 2000)));
SELECT latency_hist_add(NULL, NULL) IS NULL AS no_sample, latency_hist_add(NULL, -1) IS NULL AS negative,
	   latency_hist_add(NULL, 'NaN') IS NULL AS nan, latency_hist_quantile('\x', 0.5) IS NULL AS empty;
SELECT latency_hist_quantile(latency_hist_add(NULL, 1), 1.5);
\echo :SQLSTATE
SELECT latency_hist_quantile('\x0a', 0.5);
\echo :SQLSTATE
SELECT latency_hist_quantile('\x0a8080808080808080808001', 0.5);
\echo :SQLSTATE
SELECT latency_hist_merge('\x0a010501', NULL);
\echo :SQLSTATE
SELECT latency_hist_count('\x0a00');
\echo :SQLSTATE

-- what a status means for the trends
SELECT check_type, status, metadata, trend_state(check_type, status, metadata)
FROM (VALUES ('ip', 'ok', '{}'::jsonb), ('ip', 'warning', '{}'), ('ip', 'critical', '{}'), ('ip', 'error', '{}'),
			 ('vision', 'error', '{"stage": "open"}'), ('vision', 'error', '{}'),
			 ('vision', 'warning', '{"displacement": {"detected": true}}'),
			 ('vision', 'warning', '{"displacement": {"detected": true}, "blur": {"detected": true}}'),
			 ('vision', 'critical', '{"frozen": {"detected": true}}')) v(check_type, status, metadata);

-- a small history: ip up, down 120 s, up; vision unavailable for one interval
SELECT logged FROM record_results(jsonb_build_array(
	pg_temp.r(:cam, 'ip', 'ok', 0, 0.5), pg_temp.r(:cam, 'vision', 'ok', 0)), 3, 2);
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'ok', 60, 0.7)), 3, 2);
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'critical', 120)), 3, 2);
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'critical', 180)), 3, 2);
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'ok', 240, 0.6),
	pg_temp.r(:cam, 'vision', 'error', 300, NULL, '{"stage": "open", "error": "refused"}')), 3, 2);
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'ok', 300, 0.6),
	pg_temp.r(:cam, 'vision', 'ok', 600)), 3, 2);
-- an older result than the latest adds its count, not time
SELECT logged FROM record_results(jsonb_build_array(pg_temp.r(:cam, 'ip', 'ok', 30, 0.6)), 3, 2);
SELECT hour AT TIME ZONE 'UTC' AS hour_utc, check_type, n_ok, n_warning, n_critical, n_error, latency_min, latency_max,
	   round(latency_sum::numeric, 3) AS latency_sum, latency_hist_count(latency_hist) AS samples,
	   monitored_s, down_s, blind_s, maintenance_s
FROM check_trends WHERE camera_id = :cam ORDER BY hour, check_type;
SELECT round(availability::numeric, 4) AS availability, round(stream_availability::numeric, 4) AS stream_availability,
	   blind_minutes, down_minutes, stream_down_minutes, monitored_minutes, stream_monitored_minutes, maintenance_minutes
FROM camera_uptime(:cam, '2026-01-01 00:00+00', '2026-01-01 01:00+00');
-- a camera without trends: nothing monitored, availability unknown
SELECT availability IS NULL AS unknown, monitored_minutes FROM camera_uptime(:plain, '2026-01-01', '2026-01-02');
SELECT scope, site, cameras, round(availability::numeric, 4) AS availability, blind_minutes
FROM fleet_uptime('2026-01-01 00:00+00', '2026-01-01 01:00+00', 'trends-site');
SELECT scope, site, camera_name, round(availability::numeric, 4) AS availability, blind_minutes
FROM camera_sla('2026-01') WHERE site = 'trends-site' ORDER BY scope;

-- bad ranges and months
SELECT * FROM camera_uptime(:cam, '2026-01-02', '2026-01-01');
\echo :SQLSTATE
SELECT * FROM camera_uptime(:cam, '2026-01-01', '2026-01-01');
\echo :SQLSTATE
SELECT * FROM camera_uptime(:cam, NULL, '2026-01-01');
\echo :SQLSTATE
SELECT * FROM camera_uptime(:cam, '-infinity', '2026-01-01');
\echo :SQLSTATE
SELECT * FROM camera_uptime(-1, '2026-01-01', '2026-01-02');
\echo :SQLSTATE
SELECT * FROM camera_uptime(NULL, '2026-01-01', '2026-01-02');
\echo :SQLSTATE
SELECT * FROM fleet_uptime('2026-01-02', '2026-01-01');
\echo :SQLSTATE
SELECT * FROM camera_sla('2026-13');
\echo :SQLSTATE
SELECT * FROM camera_sla('January');
\echo :SQLSTATE
SELECT * FROM camera_sla(NULL);
\echo :SQLSTATE

-- trend retention
SELECT retention, updated_at IS NULL AS is_default FROM get_trend_retention(:cam);
SELECT retention, updated_at IS NOT NULL AS is_set FROM set_trend_retention(:cam, '90 days');
SELECT retention FROM get_trend_retention(:cam);
SELECT set_trend_retention(:cam, '1 hour');
\echo :SQLSTATE
SELECT set_trend_retention(:cam, '3651 days');
\echo :SQLSTATE
SELECT set_trend_retention(:cam, NULL);
\echo :SQLSTATE
SELECT set_trend_retention(-1, '30 days');
\echo :SQLSTATE
SELECT get_trend_retention(-1);
\echo :SQLSTATE
SELECT create_trend_partitions(25);
\echo :SQLSTATE
SELECT default_trend_retention();

-- readers read uptime, and may not set a retention
SET ROLE camera_health_reader;
SELECT count(*) FROM camera_uptime(:cam, '2026-01-01', '2026-01-02');
SELECT set_trend_retention(:cam, '30 days');
\echo :SQLSTATE
RESET ROLE;

-- health_summary() has the uptime of the last day and month, keys only
SELECT jsonb_object_keys(health_summary() -> 'uptime') AS period ORDER BY 1;
SELECT jsonb_object_keys(health_summary() -> 'uptime' -> 'last_24h') AS key ORDER BY 1;

SELECT count(*) AS deleted FROM (SELECT delete_camera(:cam), delete_camera(:plain)) d;
SELECT count(*) AS trends_left FROM check_trends WHERE camera_id IN (:cam, :plain);
