-- check_history: every check packed is read back as it was written
SET search_path = camera_health, pg_catalog;
INSERT INTO cameras (ip_address, name) VALUES ('10.77.0.1', 'pack a'), ('10.77.0.2', 'pack b');
SELECT id AS a FROM cameras WHERE name = 'pack a' \gset
SELECT id AS b FROM cameras WHERE name = 'pack b' \gset
-- the hour every time below counts from, taken once: a run that crosses an
-- hour must not shift some of them and not others
SELECT date_trunc('hour', now()) AS t0 \gset
-- a day of checks at 30 s: healthy ones like the prober's, failures, changed
-- answers, a latency written otherwise (1.5), timings a smallint cannot hold
CREATE TEMP TABLE written AS
SELECT c.id AS camera_id, t.check_type, st.status,
	   :'t0'::timestamptz - interval '26 hours' + (n * 30001) * interval '1 millisecond' AS created_at,
	   CASE WHEN n % 17 = 0 THEN jsonb_build_object('method', 'icmp', 'outcome', 'down', 'detail', 'timeout',
													 'address', host(c.ip_address), 'threshold_ms', 200,
													 'lateness_ms', n % 5, 'duration_ms', 1000)
			WHEN n % 13 = 0 THEN jsonb_build_object('method', 'icmp', 'outcome', 'up', 'detail', 'echo reply',
													 'address', host(c.ip_address), 'latency_ms', 1.5,
													 'threshold_ms', 200, 'lateness_ms', 40000, 'duration_ms', 1)
			WHEN n % 11 = 0 THEN jsonb_build_object('method', 'tcp', 'outcome', 'up', 'detail', 'handshake',
													 'address', host(c.ip_address), 'latency_ms', (n % 7) + 0.125,
													 'threshold_ms', 200, 'lateness_ms', 3.5, 'duration_ms', 1)
			WHEN n % 7 = 0 THEN jsonb_build_object('blur', jsonb_build_object('detected', false, 'score', n),
													'frames', 2)
			ELSE jsonb_build_object('method', 'icmp', 'outcome', 'up', 'detail', 'echo reply',
									'address', host(c.ip_address), 'latency_ms', round((n % 9)::numeric / 7, 3),
									'threshold_ms', 200, 'lateness_ms', n % 50, 'duration_ms', 1) END AS metadata
FROM cameras c, (VALUES ('ip'), ('port'), ('vision')) t(check_type), generate_series(1, 3000) n,
	 LATERAL (SELECT CASE WHEN n % 17 = 0 THEN 'critical' WHEN n % 19 = 0 THEN 'warning' ELSE 'ok' END AS status) st
WHERE c.name LIKE 'pack %';
-- odd metadata, kept as written: a healthy check whose latency_ms is JSON
-- null (not its template's), an array, a string
INSERT INTO written VALUES
	(:b, 'ip', 'ok', :'t0'::timestamptz - interval '26 hours' + interval '1023.25 seconds',
	 '{"method": "icmp", "outcome": "up", "detail": "echo reply", "address": "10.77.0.2", "latency_ms": null, "threshold_ms": 200, "lateness_ms": 3, "duration_ms": 1}'),
	(:b, 'ip', 'ok', :'t0'::timestamptz - interval '26 hours' + interval '1100.5 seconds', '[1, "two"]'),
	(:b, 'port', 'critical', :'t0'::timestamptz - interval '26 hours' + interval '1200.75 seconds', '"refused"');
INSERT INTO health_logs (camera_id, check_type, status, metadata, created_at)
SELECT camera_id, check_type, status, metadata, created_at FROM written ORDER BY created_at;
SELECT packed FROM pack_history(before => :'t0'::timestamptz - interval '2 hours');
-- a chunk's checks are in time order (camera b has no late ones)
SELECT count(*) AS out_of_order FROM check_history h
WHERE h.camera_id = :b AND h.at_ms <> ARRAY(SELECT x FROM unnest(h.at_ms) x ORDER BY x);
-- checks that come late for an hour packed already: with the same answers,
-- and with another one (the chunk's template differs from theirs)
CREATE TEMP TABLE late AS
SELECT :a::bigint AS camera_id, 'ip'::text AS check_type, 'ok'::text AS status,
	   :'t0'::timestamptz - interval '20 hours' + n * interval '7 seconds' AS created_at,
	   jsonb_strip_nulls(jsonb_build_object('method', 'icmp', 'outcome', 'up', 'detail', 'echo reply',
											'address', '10.77.0.1', 'latency_ms', round(0.25 + n, 3), 'threshold_ms', 200,
											'lateness_ms', n, 'duration_ms', 1,
											'worker', CASE WHEN n > 3 THEN 'another' END)) AS metadata
FROM generate_series(1, 6) n;
INSERT INTO written SELECT * FROM late;
CREATE FUNCTION pg_temp.results(only_worker boolean) RETURNS jsonb LANGUAGE sql
RETURN (SELECT jsonb_agg(jsonb_build_object('camera_id', camera_id, 'check_type', check_type, 'status', status,
											'checked_ms', extract(epoch FROM created_at) * 1000,
											'latency_ms', (metadata ->> 'latency_ms')::float8, 'metadata', metadata))
		FROM pg_temp.late WHERE (metadata ? 'worker') = only_worker);
SELECT logged FROM record_results(pg_temp.results(false), 3, 2);
SELECT packed FROM pack_history(before => :'t0'::timestamptz - interval '2 hours');
SELECT logged FROM record_results(pg_temp.results(true), 3, 2);
SELECT packed FROM pack_history(before => :'t0'::timestamptz - interval '2 hours');
SELECT count(*) AS checks_recent FROM check_recent WHERE camera_id IN (:a, :b);
SELECT count(*) AS chunks, sum(n) AS checks FROM check_history WHERE camera_id IN (:a, :b);
-- every check as written: status, time, metadata text
SELECT count(*) AS differ FROM written w
LEFT JOIN health_logs l ON l.camera_id = w.camera_id AND l.check_type = w.check_type AND l.created_at = w.created_at
WHERE l.metadata::text IS DISTINCT FROM w.metadata::text OR l.status IS DISTINCT FROM w.status;
SELECT count(*) AS logs FROM health_logs WHERE camera_id IN (:a, :b);
-- latency samples: those with a latency_ms that came through ingest's top-level field
SELECT count(*) AS samples FROM camera_latency WHERE camera_id IN (:a, :b);
-- camera_logs(): newest first across both tiers, the same rows as the view
SELECT count(*) AS differ FROM (
	(SELECT id, created_at, metadata::text FROM camera_logs(:a, max_rows => 500)
	 EXCEPT ALL
	 SELECT id, created_at, metadata::text FROM (SELECT * FROM health_logs WHERE camera_id = :a
												  ORDER BY created_at DESC, id DESC LIMIT 500) x)) d;
SELECT count(*) AS day FROM camera_logs(:a, since => :'t0'::timestamptz - interval '24 hours', max_rows => 10000);
-- healthy checks of a template keep NULL: most of them
SELECT count(*) FILTER (WHERE m IS NULL) > count(*) / 2 AS mostly_template
FROM check_history h, unnest(h.metadata) m WHERE h.camera_id IN (:a, :b) AND h.check_type = 'ip';
-- a chunk whose arrays disagree is refused, not misread
\set VERBOSITY sqlstate
UPDATE check_history SET at_ms = at_ms[1:2] WHERE camera_id = :a AND check_type = 'port'
	AND hour = (SELECT min(hour) FROM check_history WHERE camera_id = :a);
\echo :SQLSTATE
SELECT count(*) FROM unpack_chunk(now(), '{1,2}', '{o}', '{1,2}', '{NULL,NULL}', '{NULL,NULL}', '{NULL,NULL}', NULL);
\echo :SQLSTATE
-- pack_history() arguments
SELECT * FROM pack_history(max_cameras => 0);
\echo :SQLSTATE
\set VERBOSITY default
DELETE FROM cameras WHERE name LIKE 'pack %';
SELECT count(*) AS left_behind FROM check_history WHERE camera_id IN (:a, :b);
