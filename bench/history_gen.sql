/*
 * bench/history_gen.sql: the generated check history of bench/history.sh.
 *
 * A function of (camera, time) only: every cluster that loads this file
 * generates the same checks, whatever the layout it stores them in, and any
 * stretch of time can be generated on its own (an hour at a time, in the
 * order the ingest would write them).  Nothing random(): hashint8extended
 * gives the dice, so the old and the new layout get identical histories.
 *
 * The shape of each result is the one the real producers write (the prober,
 * bgworker/prober.c's append_result_json; visionproc, visionproc/task.c, as
 * captured from a visionproc run against the test RTSP server), with the
 * numbers that vary from check to check varying (latency, lateness, task id,
 * the image metrics).  Failures, per camera and day:
 *   - 0.5% of the cameras are down the whole time (awaiting repair);
 *   - 3% have an outage of 10 to 180 minutes: ip and port time out, the
 *     vision check cannot open the stream;
 *   - 2% flap for 1 to 3 hours: 30% of their checks fail (port refused);
 *   - 3% answer slowly for 30 minutes to 4 hours: ip 500 to 1500 ms (a
 *     warning above the 500 ms threshold), port 200 to 800 ms;
 *   - 2% have a picture problem for 1 to 8 hours: obstructed, blurred,
 *     frozen or displaced;
 *   - 0.05% of the network checks fail to run (status error), 0.3% of the
 *     vision checks lose the stream mid-grab.
 * Intervals are the defaults: ip 30 s, port 60 s, vision 300 s, each camera
 * and check at its own phase.
 */
CREATE SCHEMA bench;

/* A die: uniform in [0, 1), a function of its arguments only. */
CREATE FUNCTION bench.u(a bigint, b bigint, seed bigint)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(a * 1000003 + b, seed) & 2147483647)::double precision / 2147483648;

/* Is camera c, at t_ms, inside its episode of kind seed today (probability p, lasting min to max minutes)? */
CREATE FUNCTION bench.episode(c bigint, t_ms bigint, seed bigint, p double precision, min_m integer, max_m integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bench.u(c, t_ms / 86400000, seed) < p
	AND ((t_ms / 60000) % 1440) - floor(bench.u(c, t_ms / 86400000, seed + 1) * 1440)
		BETWEEN 0 AND min_m + floor(bench.u(c, t_ms / 86400000, seed + 2) * (max_m - min_m));

CREATE FUNCTION bench.address(c bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('127.8.%s.%s', c / 250, c % 250 + 1);

/*
 * The camera's state at a check, as the failure model says: one expression
 * each, so that the planner inlines them (a function call per check would
 * cost more than the rest of the generator).
 */
CREATE FUNCTION bench.down(c bigint, t_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bench.u(c, 0, 21) < 0.005 OR bench.episode(c, t_ms, 22, 0.03, 10, 180);

CREATE FUNCTION bench.flap_fail(c bigint, kn integer, t_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bench.episode(c, t_ms, 25, 0.02, 60, 180) AND bench.u(c, t_ms, 28 + kn) < 0.3;

CREATE FUNCTION bench.failed_to_run(c bigint, kn integer, t_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN kn < 2 THEN bench.u(c, t_ms, 36) < 0.0005 ELSE bench.u(c, t_ms, 37) < 0.003 END;

CREATE FUNCTION bench.slow(c bigint, t_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bench.episode(c, t_ms, 40, 0.03, 30, 240);

/* The picture problem, if any: 0 obstructed, 1 blurred, 2 frozen, 3 displaced. */
CREATE FUNCTION bench.picture(c bigint, t_ms bigint)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN bench.episode(c, t_ms, 45, 0.02, 60, 480) THEN floor(bench.u(c, t_ms / 86400000, 48) * 4)::integer END;

CREATE FUNCTION bench.vision_ok(c bigint, t_ms bigint, late integer, picture integer)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object(
		'url', format('rtsp://%s:554/Streaming/Channels/101', bench.address(c)),
		'blur', jsonb_build_object('noise', round((0.05 + 1.5 * bench.u(c, 0, 60))::numeric, 2), 'blocks', 48,
			'detected', picture = 1, 'sharpness', CASE WHEN picture = 1 THEN round((0.3 + 0.3 * bench.u(c, t_ms, 61))::numeric, 3)
				ELSE round((0.9 + 0.1 * bench.u(c, t_ms, 61))::numeric, 3) END,
			'threshold', 0.680, 'measurable', true, 'focus_tiles', 96, 'sharpness_x', round((0.9 + 0.1 * bench.u(c, t_ms, 62))::numeric, 3),
			'sharpness_y', round((0.9 + 0.1 * bench.u(c, t_ms, 63))::numeric, 3), 'focus_sharpness', round((0.9 + 0.1 * bench.u(c, t_ms, 64))::numeric, 3),
			'focus_threshold', 0.700, 'reference_noise', round((0.05 + 1.5 * bench.u(c, 0, 60))::numeric, 2), 'focus_measurable', true)
			|| CASE WHEN picture = 1 THEN jsonb_build_object('message', 'the picture is blurred: sharpness 0.41 of the reference''s') ELSE '{}' END,
		'mode', 'day',
		'chroma', 20 + 15 * bench.u(c, t_ms, 65),
		'frozen', jsonb_build_object('pairs', 1, 'changed', round((CASE WHEN picture = 2 THEN 0.02 ELSE 0.1 + 0.2 * bench.u(c, t_ms, 66) END)::numeric, 4),
			'detected', picture = 2, 'textured', round((0.3 + 0.5 * bench.u(c, 0, 67))::numeric, 3), 'threshold', 0.0750, 'measurable', true,
			'noise_floor', 2.0, 'min_textured', 0.150, 'mean_difference', round((3 + 5 * bench.u(c, t_ms, 68))::numeric, 3))
			|| CASE WHEN picture = 2 THEN jsonb_build_object('message', 'the picture is frozen: at most 2.4% of its detail changed between frames a second apart') ELSE '{}' END,
		'stream', jsonb_build_object('codec', 'h264', 'width', 1920, 'height', 1080, 'later_frames', 1, 'settled_early', true,
			'first_frame_ms', 200 + 300 * bench.u(c, t_ms, 69), 'frames_span_ms', 1150 + 100 * bench.u(c, t_ms, 70)),
		'worker', 'vm-' || (20000 + c % 4),
		'task_id', (t_ms - late) || '-0',
		'reference', jsonb_build_object('mode', 'day'),
		'duration_ms', 1400 + floor(200 * bench.u(c, t_ms, 71))::integer,
		'lateness_ms', late,
		'obstruction', jsonb_build_object('dark', 0.000, 'blocks', 191, 'clipped', 0.000,
			'covered', CASE WHEN picture = 0 THEN 0.620 ELSE 0.000 END, 'detected', picture = 0, 'threshold', 0.400,
			'brightness', round((80 + 60 * bench.u(c, t_ms, 72))::numeric, 1), 'dark_threshold', 0.900, 'reference_dark', 0.000,
			'reference_brightness', round((80 + 60 * bench.u(c, 0, 72))::numeric, 1))
			|| CASE WHEN picture = 0 THEN jsonb_build_object('message', 'the picture is obstructed: 62% of it is covered') ELSE '{}' END,
		'displacement', jsonb_build_object('dx', round(((CASE WHEN picture = 3 THEN 14 ELSE 0 END) + 0.4 * bench.u(c, t_ms, 73) - 0.2)::numeric, 2),
			'dy', round((0.4 * bench.u(c, t_ms, 74) - 0.2)::numeric, 2), 'peak', round((0.9 + 0.1 * bench.u(c, t_ms, 75))::numeric, 3),
			'scale', 1.0000, 'shift', round((CASE WHEN picture = 3 THEN 14 ELSE 0.2 * bench.u(c, t_ms, 76) END)::numeric, 4),
			'detected', picture = 3, 'rotation', 0.00, 'motion_px', round((0.5 * bench.u(c, t_ms, 77))::numeric, 2),
			'confidence', round((0.9 + 0.1 * bench.u(c, t_ms, 78))::numeric, 3), 'threshold_px', 3.00, 'min_confidence', 0.500)
			|| CASE WHEN picture = 3 THEN jsonb_build_object('message', 'the view moved by 14 px') ELSE '{}' END);

/*
 * The checks of cameras 1..n_cameras that ran in [since, until), as
 * record_results takes them (latency_ms beside the metadata).
 */
CREATE FUNCTION bench.checks(n_cameras integer, since timestamptz, until timestamptz)
RETURNS TABLE (camera_id bigint, check_type text, status text, checked_at timestamptz,
			   latency_ms double precision, metadata jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
	WITH b AS (
		SELECT (extract(epoch FROM since) * 1000)::bigint AS s, (extract(epoch FROM until) * 1000)::bigint AS e
	), due AS MATERIALIZED (
		-- every check due in the range: camera c's check k at its phase ph
		SELECT c, k.kn, k.check_type, j * k.iv * 1000 + ph AS due_ms
		FROM b, generate_series(1, n_cameras) c,
			 (VALUES (0, 'ip', 30), (1, 'port', 60), (2, 'vision', 300)) AS k(kn, check_type, iv),
			 LATERAL (SELECT floor(bench.u(c, k.kn, 11) * k.iv * 1000)::bigint AS ph) p,
			 LATERAL generate_series(ceil((b.s - ph) / (k.iv * 1000.0))::bigint, ceil((b.e - ph) / (k.iv * 1000.0))::bigint - 1) j
	), d AS MATERIALIZED (
		SELECT due.*, due_ms + late AS t_ms, late,
			   bench.down(c, due_ms) AS down, bench.flap_fail(c, kn, due_ms) AS flap_fail,
			   bench.failed_to_run(c, kn, due_ms) AS failed_to_run, bench.slow(c, due_ms) AS slow,
			   CASE WHEN kn = 2 THEN bench.picture(c, due_ms) END AS picture,
			   -- the camera's usual round trip (mostly well under a millisecond to a few), then this check's
			   (0.15 + 4.85 * bench.u(c, 0, 38) ^ 3) * (0.8 + 0.4 * bench.u(c, due_ms, 39)) AS rtt
		FROM due,
			 LATERAL (SELECT floor(40 * bench.u(c, due_ms, 12) ^ 2)::integer AS late) l
	), r AS MATERIALIZED (
		SELECT d.*,
			   CASE check_type
				   WHEN 'ip' THEN CASE WHEN failed_to_run THEN 'error' WHEN down OR flap_fail THEN 'critical'
									   WHEN slow THEN 'warning' ELSE 'ok' END
				   WHEN 'port' THEN CASE WHEN failed_to_run THEN 'error' WHEN down OR flap_fail THEN 'critical' ELSE 'ok' END
				   ELSE CASE WHEN down OR flap_fail OR failed_to_run THEN 'error'
							 WHEN picture IN (0, 2) THEN 'critical' WHEN picture IN (1, 3) THEN 'warning' ELSE 'ok' END
			   END AS status,
			   CASE check_type
				   WHEN 'ip' THEN CASE WHEN failed_to_run OR down OR flap_fail THEN NULL
									   WHEN slow THEN round((500 + 1000 * bench.u(c, due_ms, 41))::numeric, 3)
									   ELSE round(rtt::numeric, 3) END
				   WHEN 'port' THEN CASE WHEN failed_to_run OR down THEN NULL
										 WHEN slow AND NOT flap_fail THEN round((200 + 600 * bench.u(c, due_ms, 41))::numeric, 3)
										 ELSE round((1.3 * rtt)::numeric, 3) END
			   END::double precision AS lat
		FROM d
	)
	SELECT c, check_type, status, to_timestamp(t_ms / 1000.0), lat,
		   CASE check_type
			   WHEN 'vision' THEN
				   CASE WHEN status = 'error' THEN jsonb_build_object(
						'url', format('rtsp://%s:554/Streaming/Channels/101', bench.address(c)),
						'error', CASE WHEN failed_to_run AND NOT (down OR flap_fail) THEN 'no frame within 10000 ms' ELSE 'cannot open the stream: Connection timed out' END,
						'stage', CASE WHEN failed_to_run AND NOT (down OR flap_fail) THEN 'read' ELSE 'connect' END,
						'worker', 'vm-' || (20000 + c % 4),
						'message', CASE WHEN failed_to_run AND NOT (down OR flap_fail) THEN 'no frame within 10000 ms' ELSE 'cannot open the stream: Connection timed out' END,
						'task_id', (t_ms - late) || '-0', 'duration_ms', 10000, 'lateness_ms', late)
				   ELSE bench.vision_ok(c, t_ms, late, picture) END
			   ELSE jsonb_build_object(
					'detail', CASE WHEN status = 'error' THEN 'socket: Too many open files'
								   WHEN lat IS NULL THEN 'timeout after 1000 ms'
								   WHEN status = 'critical' THEN 'connection refused'
								   WHEN check_type = 'ip' THEN 'echo reply' ELSE 'connected' END,
					'method', CASE check_type WHEN 'ip' THEN 'icmp' ELSE 'tcp' END,
					'worker', 'pg-7714600006781086024-prober',
					'address', bench.address(c),
					'outcome', CASE WHEN status = 'error' THEN 'error' WHEN lat IS NULL THEN 'down'
									WHEN status = 'critical' THEN 'refused' ELSE 'up' END,
					'duration_ms', CASE WHEN lat IS NULL AND status <> 'error' THEN 1000 ELSE floor(lat / 1000)::integer END,
					'lateness_ms', late)
				|| CASE WHEN check_type = 'port' THEN jsonb_build_object('port', 554) ELSE jsonb_build_object('threshold_ms', 500) END
				|| CASE WHEN lat IS NOT NULL THEN jsonb_build_object('latency_ms', lat) ELSE '{}' END
				|| CASE WHEN status = 'error' THEN jsonb_build_object('errno', 24)
						WHEN status = 'critical' AND lat IS NOT NULL THEN jsonb_build_object('errno', 111) ELSE '{}' END
		   END
	FROM r;
END;

/* A batch of results as the ingest worker hands it to record_results. */
CREATE FUNCTION bench.batch(n_cameras integer, since timestamptz, until timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
		'camera_id', camera_id, 'check_type', check_type, 'status', status,
		'checked_ms', (extract(epoch FROM checked_at) * 1000)::bigint, 'latency_ms', latency_ms))
		|| jsonb_build_object('metadata', metadata) ORDER BY checked_at), '[]')
	FROM bench.checks(n_cameras, since, until);
END;
