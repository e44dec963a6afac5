-- Notifications: the SQL API of channels and maintenance windows, masking,
-- and the planner on synthetic check results (no worker delivers here).
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

-- ---- channels: validation ----------------------------------------------------
SELECT add_channel('pager', 'https://example.org/hook');
\echo :SQLSTATE
SELECT add_channel('webhook', 'ftp://example.org/hook');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/ho ok');
\echo :SQLSTATE
SELECT add_channel('email', 'https://example.org/hook', email_from => 'a@example.org', email_to => '{b@example.org}');
\echo :SQLSTATE
SELECT add_channel('email', 'smtp://mail.example.org');
\echo :SQLSTATE
SELECT add_channel('email', 'smtp://mail.example.org', email_from => 'a@example.org', email_to => ARRAY[E'b@example.org\r\nBcc: x@evil.example']);
\echo :SQLSTATE
SELECT add_channel('slack', 'https://hooks.slack.com/services/T/B/X', secret => 'k');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/hook', min_severity => 'info');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/hook', alert_types => '{camera_unreachable,sunburn}');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/hook', sites => '{""}');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/hook', escalate_after => '-1 minute');
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/hook', repeat_interval => '10 ms');
\echo :SQLSTATE
SELECT update_channel(-1, min_severity => 'critical');
\echo :SQLSTATE
SELECT delete_channel(-1);
\echo :SQLSTATE
SELECT test_channel(-1);
\echo :SQLSTATE

-- ---- channels: what readers see ---------------------------------------------
SELECT id AS ch_hook FROM add_channel('webhook', 'https://user:hunter2@hooks.example.org/h?token=abc', secret => 'hmac-key',
	sites => '{rg-north}', name => 'rg hook') \gset
SELECT id AS ch_slack FROM add_channel('slack', 'https://hooks.slack.com/services/T000/B000/XXXXSECRET', sites => '{rg-none}') \gset
SELECT id AS ch_mail FROM add_channel('email', 'smtps://alerts:pa55@mail.example.org:465', sites => '{rg-none}',
	email_from => 'ch@example.org', email_to => '{ops@example.org}') \gset
SELECT kind, target, secret, min_severity, sites FROM list_channels() WHERE id IN (:ch_hook, :ch_slack, :ch_mail) ORDER BY id;
CREATE ROLE regress_notify_reader NOLOGIN IN ROLE camera_health_reader;
CREATE ROLE regress_notify_writer NOLOGIN IN ROLE camera_health_writer;
SET ROLE regress_notify_reader;
SELECT kind, target, secret FROM list_channels() WHERE id IN (:ch_hook, :ch_slack, :ch_mail) ORDER BY id;
SELECT count(*) FROM channels;
\echo :SQLSTATE
SELECT add_channel('webhook', 'https://example.org/x');
\echo :SQLSTATE
SELECT add_maintenance(now(), now() + interval '1 hour');
\echo :SQLSTATE
RESET ROLE;
SET ROLE regress_notify_writer;
SELECT name, min_severity, repeat_interval FROM update_channel(:ch_slack, min_severity => 'critical', repeat_interval => '1 hour', name => 'rg slack');
SELECT name, repeat_interval FROM update_channel(:ch_slack, repeat_interval => '0', name => '');
SELECT kind FROM delete_channel(:ch_mail);
RESET ROLE;

-- ---- maintenance: validation -------------------------------------------------
SELECT add_maintenance(NULL, now());
\echo :SQLSTATE
SELECT add_maintenance('2030-01-01 10:00+00', '2030-01-01 09:00+00');
\echo :SQLSTATE
SELECT add_maintenance('2030-01-01 09:00+00', '2030-01-01 10:00+00', camera_id => -1);
\echo :SQLSTATE
SELECT end_maintenance(-1);
\echo :SQLSTATE

-- ---- planning on synthetic results -------------------------------------------
-- 24 cameras at rg-north, 4 at rg-south, 2 at rg-rem
SELECT count(register_camera(('10.77.0.' || i)::inet, name => 'rg-north-' || i, site => 'rg-north')) FROM generate_series(1, 24) i;
SELECT count(register_camera(('10.77.1.' || i)::inet, name => 'rg-south-' || i, site => 'rg-south')) FROM generate_series(1, 4) i;
SELECT count(register_camera(('10.77.2.' || i)::inet, name => 'rg-rem-' || i, site => 'rg-rem')) FROM generate_series(1, 2) i;
CREATE FUNCTION pg_temp.feed(site_like text, status text, at timestamptz, rounds integer DEFAULT 3)
RETURNS text LANGUAGE sql AS $$
	SELECT opened || ' opened, ' || resolved || ' resolved' FROM camera_health.record_results((
		SELECT jsonb_agg(jsonb_build_object('camera_id', c.id, 'check_type', 'ip', 'status', status,
			'checked_ms', extract(epoch FROM at) * 1000 + r * 1000,
			'metadata', jsonb_build_object('method', 'icmp', 'detail', 'no reply')))
		FROM camera_health.cameras c, generate_series(0, rounds - 1) r WHERE c.name LIKE site_like), 3, 2)
$$;
CREATE FUNCTION pg_temp.sent(ch bigint)
RETURNS TABLE (seq bigint, kind text, site text, summary text, cameras bigint, alerts text)
LANGUAGE sql AS $$
	SELECT n.sequence, n.kind, n.site, n.summary, (n.body ->> 'cameras')::bigint,
		   (SELECT string_agg(x ->> 'camera_name' || ':' || (x ->> 'type'), ' ' ORDER BY x ->> 'camera_name')
			FROM jsonb_array_elements(n.body -> 'alerts') x)
	FROM camera_health.notifications n WHERE n.channel_id = ch ORDER BY n.sequence
$$;

-- 20 of the 24 fail together, in two batches 10 s apart: one notification
-- once the group wait (30 s) of the first has passed
SELECT pg_temp.feed('rg-north-_', 'critical', '2030-01-01 00:00:00+00');
SELECT pg_temp.feed('rg-north-1_', 'critical', '2030-01-01 00:00:10+00');
SELECT pg_temp.feed('rg-north-20', 'critical', '2030-01-01 00:00:10+00');
SELECT count(*) FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE c.site = 'rg-north' AND a.resolved_at IS NULL;
SELECT plan_notifications('2030-01-01 00:00:25+00', '30 s');
SELECT * FROM pg_temp.sent(:ch_hook);
SELECT plan_notifications('2030-01-01 00:00:33+00', '30 s');
SELECT seq, kind, site, summary, cameras FROM pg_temp.sent(:ch_hook);
-- each alert: camera, name, site, type, severity, message, since, link
SELECT x ->> 'camera_name' AS camera, x ->> 'site' AS site, x ->> 'type' AS type, x ->> 'severity' AS severity,
	   x ->> 'message' LIKE '10.77.0.% does not answer icmp probes: no reply' AS message, x ->> 'since' AS since,
	   x ->> 'link' = '/health/camera/' || (x ->> 'camera_id') AS link, (x ->> 'alert_id')::bigint IS NOT NULL AS has_id
FROM notifications n, jsonb_array_elements(n.body -> 'alerts') x WHERE n.channel_id = :ch_hook AND x ->> 'camera_name' IN ('rg-north-1', 'rg-north-20')
ORDER BY 1;
SELECT body -> 'correlation' AS correlation, body ->> 'sequence' AS seq, (body ->> 'notification_id')::bigint = id AS id_in_body
FROM notifications WHERE channel_id = :ch_hook;
SELECT split_part(text_body, E'\n', 1) AS first_line, array_length(string_to_array(text_body, E'\n'), 1) AS lines
FROM notifications WHERE channel_id = :ch_hook;
-- the same again: nothing new
SELECT plan_notifications('2030-01-01 00:00:40+00', '30 s');
-- one more camera of the site fails later: its own notification (no correlation: 1 camera)
SELECT pg_temp.feed('rg-north-21', 'critical', '2030-01-01 00:01:00+00');
SELECT plan_notifications('2030-01-01 00:01:40+00', '30 s');
SELECT seq, kind, summary FROM pg_temp.sent(:ch_hook) WHERE seq > 1;
-- they come back: the resolution of the 20 is one notification, the 21st another
-- that resolves within the wait is grouped with them
SELECT pg_temp.feed('rg-north-%', 'ok', '2030-01-01 00:02:00+00', 2);
SELECT plan_notifications('2030-01-01 00:02:20+00', '30 s');
SELECT plan_notifications('2030-01-01 00:02:40+00', '30 s');
SELECT seq, kind, summary, cameras FROM pg_temp.sent(:ch_hook) WHERE seq > 2;

-- the webhook payload the worker sends, and the email one
SELECT kind, payload::jsonb ->> 'summary' AS summary FROM next_notifications('{}', 1, 100) WHERE channel_id = :ch_hook;
SELECT count(*) FROM next_notifications('{}', 3, 100) WHERE channel_id = :ch_hook;
SELECT count(*) FROM next_notifications((SELECT array_agg(id) FROM notifications WHERE channel_id = :ch_hook AND sequence <= 2), 3, 100) WHERE channel_id = :ch_hook;

-- delivery outcomes: retried with backoff, sent, refused for good
SELECT id AS n1 FROM notifications WHERE channel_id = :ch_hook AND sequence = 1 \gset
SELECT id AS n2 FROM notifications WHERE channel_id = :ch_hook AND sequence = 2 \gset
SELECT record_delivery(:n1, now(), 5, false, NULL, 'Failed to connect to https://user:hunter2@hooks.example.org/', '60 s', '1 day');
SELECT state, attempts, next_attempt_at > now() AS backoff, last_error FROM notifications WHERE id = :n1;
SELECT count(*) FROM next_notifications('{}', 3, 100) WHERE channel_id = :ch_hook;
SELECT record_delivery(:n1, now(), 5, true, 200, NULL, '60 s', '1 day');
SELECT record_delivery(:n2, now(), 5, false, 410, 'HTTP status 410', '60 s', '1 day');
SELECT sequence, state, attempts, last_error FROM notifications WHERE id IN (:n1, :n2) ORDER BY sequence;
SELECT attempt, status, response_code, error FROM channel_deliveries(:ch_hook) ORDER BY id;

-- maintenance: rg-south fails during a window; one camera recovers within it
SELECT id AS win FROM add_maintenance('2030-01-01 01:00+00', '2030-01-01 02:00+00', site => 'rg-south', reason => 'switch swap') \gset
SELECT id AS ch_south FROM add_channel('webhook', 'https://example.org/south', sites => '{rg-south}') \gset
SELECT pg_temp.feed('rg-south-%', 'critical', '2030-01-01 01:10+00');
SELECT pg_temp.feed('rg-south-4', 'ok', '2030-01-01 01:20+00', 2);
SELECT count(*) FILTER (WHERE a.in_maintenance) AS marked, count(*) AS alerts FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE c.site = 'rg-south';
SELECT plan_notifications('2030-01-01 01:30+00', '30 s');
SELECT plan_notifications('2030-01-01 01:59+00', '30 s');
SELECT * FROM pg_temp.sent(:ch_south);
SELECT plan_notifications('2030-01-01 02:00+00', '30 s');
SELECT * FROM pg_temp.sent(:ch_south);
SELECT count(*) FROM list_maintenance() WHERE id = :win;
SELECT id AS win2 FROM add_maintenance(now() - interval '1 hour', now() + interval '1 hour', camera_id => (SELECT id FROM cameras WHERE name = 'rg-south-1')) \gset
SELECT count(*) FROM list_maintenance(only_current => true) WHERE id = :win2;
SELECT ends_at <= now() AS ended, ended_early_at IS NOT NULL AS early FROM end_maintenance(:win2);
SELECT count(*) FROM list_maintenance(only_current => true) WHERE id = :win2;
-- an email channel's message: headers, then the text
SELECT id AS ch_mail2 FROM add_channel('email', 'smtp://mail.example.org', sites => '{rg-south}', email_from => 'ch@example.org', email_to => '{ops@example.org,oncall@example.org}') \gset
SELECT pg_temp.feed('rg-south-4', 'critical', '2030-01-01 02:10+00');
SELECT plan_notifications('2030-01-01 02:11+00', '30 s');
SELECT regexp_replace(regexp_replace(regexp_replace(payload, '(Date|Message-ID|X-Camera-Health-Notification|X-Camera-Health-Sequence): [^\r]*', '\1: ...', 'g'), 'camera [0-9]+', 'camera N', 'g'), '(/health/camera/|notification )[0-9]+', '\1N', 'g') AS message, email_to
FROM next_notifications('{}', 1, 100) WHERE channel_id = :ch_mail2;

-- reminders and escalation: rg-rem-1 is acknowledged, rg-rem-2 is not
SELECT id AS ch_rem FROM add_channel('webhook', 'https://example.org/rem', sites => '{rg-rem}', repeat_interval => '10 min') \gset
SELECT id AS ch_esc FROM add_channel('webhook', 'https://example.org/esc', sites => '{rg-rem}', escalate_after => '15 min', min_severity => 'critical') \gset
SELECT pg_temp.feed('rg-rem-%', 'critical', '2030-01-01 03:00+00');
SELECT (acknowledge_alert(a.id)).status FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE c.name = 'rg-rem-1';
SELECT plan_notifications('2030-01-01 03:01+00', '30 s');
SELECT plan_notifications('2030-01-01 03:05+00', '30 s');
SELECT plan_notifications('2030-01-01 03:11+00', '30 s');
SELECT plan_notifications('2030-01-01 03:16+00', '30 s');
SELECT plan_notifications('2030-01-01 03:21+00', '30 s');
SELECT * FROM pg_temp.sent(:ch_rem);
SELECT * FROM pg_temp.sent(:ch_esc);
-- acknowledged after the reminders: no more of them
SELECT (acknowledge_alert(a.id)).status FROM alerts a JOIN cameras c ON c.id = a.camera_id WHERE c.name = 'rg-rem-2';
SELECT plan_notifications('2030-01-01 03:40+00', '30 s');
SELECT count(*) AS reminders FROM notifications WHERE channel_id = :ch_rem AND kind = 'reminder';

-- an alert that opened and resolved while no planner ran, open longer than
-- the wait: reported opened, then resolved; one shorter than the wait: not at all
SELECT id AS ch_late FROM add_channel('webhook', 'https://example.org/late', sites => '{rg-north}') \gset
SELECT plan_notifications('2030-01-01 04:00+00', '30 s');
SELECT pg_temp.feed('rg-north-22', 'critical', '2030-01-01 04:01+00');
SELECT pg_temp.feed('rg-north-22', 'ok', '2030-01-01 04:05+00', 2);
SELECT pg_temp.feed('rg-north-23', 'critical', '2030-01-01 04:01+00');
SELECT pg_temp.feed('rg-north-23', 'ok', '2030-01-01 04:01:10+00', 2);
SELECT plan_notifications('2030-01-01 04:10+00', '30 s');
SELECT * FROM pg_temp.sent(:ch_late);

-- events: every opening, acknowledgement and resolution
SELECT event, count(*) FROM alert_events e JOIN cameras c ON c.id = e.camera_id WHERE c.site LIKE 'rg-%' GROUP BY event ORDER BY event;
SELECT count(*) FROM alert_events e JOIN cameras c ON c.id = e.camera_id WHERE c.site LIKE 'rg-%' AND planned_at IS NULL;

-- the test message
SELECT kind, summary, sequence FROM test_channel(:ch_south);

-- over HTTP: JSON bodies checked by field, arrays for the filters, 404 for an unknown id
SELECT camera_health_api.add_channel('{"kind": "webhook", "target": "https://example.org/h", "colour": "red"}');
\echo :SQLSTATE
SELECT camera_health_api.add_channel('{"kind": "webhook"}');
\echo :SQLSTATE
SELECT kind, sites, alert_types, repeat_interval FROM camera_health_api.add_channel(
	'{"kind": "webhook", "target": "https://example.org/h", "sites": ["rg-a", "rg b,\"c\""], "alert_types": ["frozen"], "repeat_interval": "5 min"}');
SELECT id AS ch_http FROM channels WHERE target = 'https://example.org/h' \gset
SELECT sites, repeat_interval FROM camera_health_api.update_channel(:ch_http, '{"sites": [], "repeat_interval": "0"}');
SELECT camera_health_api.update_channel(-1, '{}');
\echo :SQLSTATE
SELECT camera_health_api.test_channel(-1);
\echo :SQLSTATE
SELECT site, reason FROM camera_health_api.add_maintenance('{"starts_at": "2030-02-01 00:00+00", "ends_at": "2030-02-01 01:00+00", "site": "rg-x", "reason": "http"}');
SELECT camera_health_api.add_maintenance('{"starts_at": "2030-02-01 00:00+00", "ends_at": "2030-02-01 01:00+00", "camera_id": -1}');
\echo :SQLSTATE
SELECT camera_health_api.end_maintenance(-1);
\echo :SQLSTATE
SELECT count(*) FROM camera_health_api.list_maintenance() WHERE site = 'rg-x';
DELETE FROM maintenance_windows WHERE site = 'rg-x';
SELECT kind FROM camera_health_api.delete_channel(:ch_http);

-- the delivery log's retention: attempts and delivered notifications older than keep
SELECT count(*) > 0 AS some FROM deliveries WHERE channel_id = :ch_hook;
SELECT prune_notifications('1 day') >= 0 AS pruned;
SELECT count(*) > 0 AS kept FROM deliveries WHERE channel_id = :ch_hook;

SELECT prune_notifications('0 s') > 0 AS pruned;
SELECT (SELECT count(*) FROM deliveries WHERE channel_id = :ch_hook) AS deliveries,
	   (SELECT count(*) FROM notifications WHERE channel_id = :ch_hook AND state <> 'pending') AS done,
	   (SELECT count(*) FROM notifications WHERE channel_id = :ch_hook AND state = 'pending') AS pending;

-- cleanup
SELECT count(delete_channel(id)) FROM channels WHERE id IN (:ch_hook, :ch_slack, :ch_south, :ch_rem, :ch_esc, :ch_late, :ch_mail2);
DELETE FROM maintenance_windows WHERE id IN (:win, :win2);
DELETE FROM cameras WHERE site LIKE 'rg-%';
DROP ROLE regress_notify_reader, regress_notify_writer;
