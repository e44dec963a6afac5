/* ------------------------------------------------------------------------
 * Notifications (issue 10): alert events, channels, maintenance windows,
 * the planning of notifications and their delivery log
 *
 * Every alert opened, acknowledged or resolved is an event: a row of
 * alert_events and a pg_notify on camera_health_alerts, written by a
 * trigger on alerts (record_results() is unchanged).  The notifier worker
 * (bgworker/notifier.c) calls plan_notifications() in short transactions:
 * it turns the state of alerts into notifications per channel (grouped by
 * site, deferred by maintenance windows), which the worker delivers with
 * libcurl outside any transaction, recording each attempt in deliveries.
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.severity_level AS text
	CHECK (VALUE IN ('warning', 'critical'));
COMMENT ON DOMAIN camera_health.severity_level IS 'An alert severity: warning or critical.';

CREATE DOMAIN camera_health.channel_kind AS text
	CHECK (VALUE IN ('webhook', 'slack', 'email'));
COMMENT ON DOMAIN camera_health.channel_kind IS 'How a channel delivers: webhook (JSON POST), slack (incoming-webhook {"text"}) or email (SMTP).';

CREATE DOMAIN camera_health.alert_event_kind AS text
	CHECK (VALUE IN ('opened', 'acknowledged', 'resolved'));
COMMENT ON DOMAIN camera_health.alert_event_kind IS 'What happened to an alert: opened, acknowledged or resolved.';

CREATE DOMAIN camera_health.notification_kind AS text
	CHECK (VALUE IN ('opened', 'resolved', 'reminder', 'test'));
COMMENT ON DOMAIN camera_health.notification_kind IS 'What a notification reports: opened, resolved, reminder (still open, unacknowledged) or test.';

CREATE FUNCTION camera_health.severity_rank(severity text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE severity WHEN 'warning' THEN 1 WHEN 'critical' THEN 2 END;
COMMENT ON FUNCTION camera_health.severity_rank(text) IS
'1 for warning, 2 for critical: the order of min_severity.';

/* The GUCs the planner reads (defaults when the library is not loaded). */
CREATE FUNCTION camera_health.notify_group_wait()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce(nullif(current_setting('camera_health.notify_group_wait', true), ''), '30s')::interval;
COMMENT ON FUNCTION camera_health.notify_group_wait() IS
'camera_health.notify_group_wait as an interval: how long alerts of one site are gathered into one notification.';

CREATE FUNCTION camera_health.notify_base_url()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN rtrim(coalesce(current_setting('camera_health.notify_base_url', true), ''), '/');
COMMENT ON FUNCTION camera_health.notify_base_url() IS
'camera_health.notify_base_url without a trailing slash: the prefix of the camera links in notifications ('''' for relative links).';

/* ---- maintenance windows -------------------------------------------------- */

CREATE TABLE camera_health.maintenance_windows (
	id bigserial PRIMARY KEY,
	starts_at timestamptz NOT NULL,
	ends_at timestamptz NOT NULL,
	camera_id bigint REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	site text CHECK (length(site) BETWEEN 1 AND 200),
	reason text CHECK (length(reason) <= 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	ended_early_at timestamptz,
	CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_windows_ends_idx ON camera_health.maintenance_windows (ends_at);
COMMENT ON TABLE camera_health.maintenance_windows IS
'Planned work: checks run and alerts are recorded (marked in_maintenance), but nothing is notified until the window ends.';
COMMENT ON COLUMN camera_health.maintenance_windows.id IS 'Window id.';
COMMENT ON COLUMN camera_health.maintenance_windows.starts_at IS 'When the window starts.';
COMMENT ON COLUMN camera_health.maintenance_windows.ends_at IS 'When it ends (now, if ended early).';
COMMENT ON COLUMN camera_health.maintenance_windows.camera_id IS 'The one camera it covers, or NULL.';
COMMENT ON COLUMN camera_health.maintenance_windows.site IS 'The site it covers, or NULL; with camera_id NULL too, the whole fleet.';
COMMENT ON COLUMN camera_health.maintenance_windows.reason IS 'Why, in words.';
COMMENT ON COLUMN camera_health.maintenance_windows.created_at IS 'When it was added.';
COMMENT ON COLUMN camera_health.maintenance_windows.ended_early_at IS 'When end_maintenance() ended it before its time.';

CREATE FUNCTION camera_health.in_maintenance(camera_id bigint, site text, at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT EXISTS (SELECT FROM camera_health.maintenance_windows w
				   WHERE w.starts_at <= at AND w.ends_at > at
					 AND (w.camera_id IS NULL OR w.camera_id = in_maintenance.camera_id)
					 AND (w.site IS NULL OR w.site = in_maintenance.site));
END;
COMMENT ON FUNCTION camera_health.in_maintenance(bigint, text, timestamptz) IS
'True when a maintenance window covers the camera (by id, by site, or the whole fleet) at the given time.';

-- an alert that opens during a window is marked so
ALTER TABLE camera_health.alerts ADD COLUMN in_maintenance boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN camera_health.alerts.in_maintenance IS 'True when the alert opened during a maintenance window of its camera.';

/* ---- alert events --------------------------------------------------------- */

CREATE TABLE camera_health.alert_events (
	id bigserial PRIMARY KEY,
	alert_id bigint NOT NULL,
	camera_id bigint NOT NULL,
	event camera_health.alert_event_kind NOT NULL,
	alert_type text NOT NULL,
	severity camera_health.severity_level NOT NULL,
	status text NOT NULL,
	in_maintenance boolean NOT NULL,
	at timestamptz NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	planned_at timestamptz
);
CREATE INDEX alert_events_unplanned_idx ON camera_health.alert_events (id) WHERE planned_at IS NULL;
COMMENT ON TABLE camera_health.alert_events IS
'Every alert opened, acknowledged and resolved, as also sent with pg_notify on camera_health_alerts; consumed by plan_notifications().';
COMMENT ON COLUMN camera_health.alert_events.id IS 'Event id, in commit order within a transaction.';
COMMENT ON COLUMN camera_health.alert_events.alert_id IS 'The alert.';
COMMENT ON COLUMN camera_health.alert_events.camera_id IS 'Its camera.';
COMMENT ON COLUMN camera_health.alert_events.event IS 'opened, acknowledged or resolved.';
COMMENT ON COLUMN camera_health.alert_events.alert_type IS 'The alert type.';
COMMENT ON COLUMN camera_health.alert_events.severity IS 'warning or critical.';
COMMENT ON COLUMN camera_health.alert_events.status IS 'The alert''s status after the event.';
COMMENT ON COLUMN camera_health.alert_events.in_maintenance IS 'True when a maintenance window covered the camera at the time of the event.';
COMMENT ON COLUMN camera_health.alert_events.at IS 'When it happened (the check''s time for opened and resolved).';
COMMENT ON COLUMN camera_health.alert_events.recorded_at IS 'When the event was written.';
COMMENT ON COLUMN camera_health.alert_events.planned_at IS 'When plan_notifications() consumed it.';

/* Wakes the notifier worker when the transaction commits (C: bgworker/notifier.c). */
CREATE FUNCTION camera_health.wake_notifier()
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'ch_wake_notifier';
COMMENT ON FUNCTION camera_health.wake_notifier() IS
'Wakes the notifier worker at commit (not before, not on abort); a no-op without preload.';

CREATE FUNCTION camera_health.alert_marked()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.in_maintenance := camera_health.in_maintenance(NEW.camera_id,
		(SELECT c.site FROM camera_health.cameras c WHERE c.id = NEW.camera_id), NEW.created_at);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION camera_health.alert_marked() IS
'Trigger: marks an alert that opens during a maintenance window of its camera.';

CREATE FUNCTION camera_health.alert_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ev text;
	at timestamptz;
	cam record;
	maint boolean;
	event_id bigint;
BEGIN
	IF TG_OP = 'INSERT' THEN
		ev := 'opened';
		at := NEW.created_at;
	ELSIF NEW.status = 'resolved' THEN
		ev := 'resolved';
		at := NEW.resolved_at;
	ELSIF NEW.status = 'acknowledged' THEN
		ev := 'acknowledged';
		at := NEW.acknowledged_at;
	ELSE
		RETURN NULL;
	END IF;
	SELECT c.name, c.site INTO cam FROM camera_health.cameras c WHERE c.id = NEW.camera_id;
	maint := camera_health.in_maintenance(NEW.camera_id, cam.site, at);
	INSERT INTO camera_health.alert_events (alert_id, camera_id, event, alert_type, severity, status, in_maintenance, at)
	VALUES (NEW.id, NEW.camera_id, ev, NEW.alert_type, NEW.severity, NEW.status, maint, at)
	RETURNING id INTO event_id;
	PERFORM pg_notify('camera_health_alerts', json_build_object(
		'event_id', event_id, 'event', ev, 'alert_id', NEW.id, 'camera_id', NEW.camera_id,
		'camera_name', cam.name, 'site', cam.site, 'type', NEW.alert_type, 'severity', NEW.severity,
		'status', NEW.status, 'in_maintenance', maint, 'message', left(NEW.message, 1000), 'at', at)::text);
	PERFORM camera_health.wake_notifier();
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION camera_health.alert_changed() IS
'Trigger: records an alert''s opening, acknowledgement or resolution in alert_events, sends it with pg_notify on camera_health_alerts and wakes the notifier.';

CREATE TRIGGER alerts_in_maintenance
	BEFORE INSERT ON camera_health.alerts
	FOR EACH ROW EXECUTE FUNCTION camera_health.alert_marked();
CREATE TRIGGER alerts_opened
	AFTER INSERT ON camera_health.alerts
	FOR EACH ROW EXECUTE FUNCTION camera_health.alert_changed();
CREATE TRIGGER alerts_status_changed
	AFTER UPDATE OF status ON camera_health.alerts
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION camera_health.alert_changed();

/* ---- channels ------------------------------------------------------------- */

CREATE TABLE camera_health.channels (
	id bigserial PRIMARY KEY,
	kind camera_health.channel_kind NOT NULL,
	target text NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
	name text CHECK (length(name) BETWEEN 1 AND 200),
	secret text CHECK (length(secret) BETWEEN 1 AND 1024),
	email_from text,
	email_to text[],
	min_severity camera_health.severity_level NOT NULL DEFAULT 'warning',
	alert_types text[],
	sites text[],
	tags text[],
	escalate_after interval CHECK (escalate_after > interval '0'),
	repeat_interval interval CHECK (repeat_interval >= interval '1 second'),
	enabled boolean NOT NULL DEFAULT true,
	last_sequence bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE camera_health.channels IS
'Where notifications go. Holds secrets: read it through channel_list or list_channels(), which mask them for readers.';
COMMENT ON COLUMN camera_health.channels.id IS 'Channel id.';
COMMENT ON COLUMN camera_health.channels.kind IS 'webhook, slack or email.';
COMMENT ON COLUMN camera_health.channels.target IS 'http(s) URL of the webhook, or smtp(s)://[user:password@]host[:port] for email.';
COMMENT ON COLUMN camera_health.channels.name IS 'Optional display name.';
COMMENT ON COLUMN camera_health.channels.secret IS 'Webhook only: key of the X-Camera-Health-Signature HMAC-SHA256 of the body.';
COMMENT ON COLUMN camera_health.channels.email_from IS 'Email only: the sender address.';
COMMENT ON COLUMN camera_health.channels.email_to IS 'Email only: the recipient addresses.';
COMMENT ON COLUMN camera_health.channels.min_severity IS 'The lowest severity it receives: warning (all) or critical.';
COMMENT ON COLUMN camera_health.channels.alert_types IS 'Only these alert types (NULL: all).';
COMMENT ON COLUMN camera_health.channels.sites IS 'Only cameras of these sites (NULL: all).';
COMMENT ON COLUMN camera_health.channels.tags IS 'Only cameras with at least one of these tags (NULL: all).';
COMMENT ON COLUMN camera_health.channels.escalate_after IS 'An escalation channel: only alerts still open and unacknowledged this long after they opened (NULL: all at once).';
COMMENT ON COLUMN camera_health.channels.repeat_interval IS 'Reminders of alerts still open and unacknowledged, this often (NULL: none).';
COMMENT ON COLUMN camera_health.channels.enabled IS 'False stops planning for it (what is queued is still delivered).';
COMMENT ON COLUMN camera_health.channels.last_sequence IS 'The sequence number of its latest notification.';
COMMENT ON COLUMN camera_health.channels.created_at IS 'When it was added.';
COMMENT ON COLUMN camera_health.channels.updated_at IS 'When it was last changed.';

/* What a reader sees of a target: no password, and no Slack webhook path (the path is the credential). */
CREATE FUNCTION camera_health.mask_channel_target(kind text, target text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN kind = 'slack' THEN camera_health.url_origin(target) || '/***'
			ELSE camera_health.mask_url(target) END;
COMMENT ON FUNCTION camera_health.mask_channel_target(text, text) IS
'A channel target with its credentials masked: the password and secret parameters of the URL, and the whole path of a Slack webhook.';

CREATE VIEW camera_health.channel_list AS
SELECT ch.id, ch.kind, ch.name,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN ch.target
			ELSE camera_health.mask_channel_target(ch.kind, ch.target) END AS target,
	   CASE WHEN ch.secret IS NULL THEN NULL WHEN (SELECT camera_health.may_see_secrets()) THEN ch.secret
			ELSE '***' END AS secret,
	   ch.email_from, ch.email_to, ch.min_severity, ch.alert_types, ch.sites, ch.tags,
	   ch.escalate_after, ch.repeat_interval, ch.enabled, ch.last_sequence, ch.created_at, ch.updated_at
FROM camera_health.channels ch;
COMMENT ON VIEW camera_health.channel_list IS 'The channels, with the target''s credentials and the webhook secret masked for readers.';

/* Checked before they are put into a channels row, whose domains would refuse them less helpfully. */
CREATE FUNCTION camera_health.check_channel_words(kind text, min_severity text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF kind IS NULL OR kind NOT IN ('webhook', 'slack', 'email') THEN
		RAISE EXCEPTION 'invalid channel kind: %', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A channel is a webhook, slack or email.';
	END IF;
	IF min_severity IS NULL OR min_severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid min_severity: %', coalesce(min_severity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'warning (everything) or critical.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_channel_words(text, text) IS
'Refuses an unknown channel kind or min_severity (SQLSTATE 22023).';

CREATE FUNCTION camera_health.check_channel(ch camera_health.channels)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bad text;
BEGIN
	IF ch.kind IS NULL OR ch.kind NOT IN ('webhook', 'slack', 'email') THEN
		RAISE EXCEPTION 'invalid channel kind: %', coalesce(ch.kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A channel is a webhook, slack or email.';
	END IF;
	IF ch.target IS NULL OR ch.target ~ '[[:space:][:cntrl:]]' OR length(ch.target) > 2048
	   OR (ch.kind <> 'email' AND ch.target !~* '^https?://[^/?#@]*[^/?#]+')
	   OR (ch.kind = 'email' AND ch.target !~* '^smtps?://[^/?#]+(/[^?#]*)?$') THEN
		RAISE EXCEPTION 'invalid target for a % channel', ch.kind
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Got %s.', coalesce(camera_health.url_origin(ch.target), 'no URL')),
				  HINT = CASE WHEN ch.kind = 'email' THEN 'An email channel needs smtp://[user:password@]host[:port] or smtps://...'
							  ELSE 'A webhook or slack channel needs an http:// or https:// URL.' END;
	END IF;
	IF ch.kind = 'email' THEN
		IF ch.email_from IS NULL OR ch.email_to IS NULL OR cardinality(ch.email_to) = 0 THEN
			RAISE EXCEPTION 'an email channel needs email_from and email_to'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		SELECT min(a) INTO bad FROM unnest(ch.email_to || ch.email_from) a
		WHERE a IS NULL OR a !~ '^[^[:space:][:cntrl:]<>@,;"]+@[^[:space:][:cntrl:]<>@,;"]+$' OR length(a) > 254;
		IF bad IS NOT NULL OR array_position(ch.email_to || ch.email_from, NULL) IS NOT NULL THEN
			RAISE EXCEPTION 'invalid email address: %', coalesce(regexp_replace(bad, '[[:cntrl:]]', '?', 'g'), 'NULL')
				USING ERRCODE = 'invalid_parameter_value', HINT = 'An address is user@host.';
		END IF;
	ELSIF ch.email_from IS NOT NULL OR ch.email_to IS NOT NULL THEN
		RAISE EXCEPTION 'email_from and email_to are for email channels only'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.secret IS NOT NULL AND ch.kind <> 'webhook' THEN
		RAISE EXCEPTION 'a secret signs webhook bodies only' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.min_severity IS NULL OR ch.min_severity NOT IN ('warning', 'critical') THEN
		RAISE EXCEPTION 'invalid min_severity: %', coalesce(ch.min_severity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'warning (everything) or critical.';
	END IF;
	SELECT min(coalesce(t, 'NULL')) INTO bad FROM unnest(ch.alert_types) t
	WHERE t IS NULL OR t NOT IN ('camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable',
								 'blur', 'obstruction', 'displacement', 'frozen');
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'invalid alert type: %', bad USING ERRCODE = 'invalid_parameter_value',
			HINT = 'camera_unreachable, port_unavailable, high_latency, stream_unavailable, blur, obstruction, displacement or frozen.';
	END IF;
	IF EXISTS (SELECT FROM unnest(ch.sites || ch.tags) s WHERE s IS NULL OR s = '' OR length(s) > 200) THEN
		RAISE EXCEPTION 'a site or tag filter must not hold an empty or NULL name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.escalate_after <= interval '0' THEN
		RAISE EXCEPTION 'escalate_after must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ch.repeat_interval < interval '1 second' THEN
		RAISE EXCEPTION 'repeat_interval must be at least 1 second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(ch.name) NOT BETWEEN 1 AND 200 OR length(ch.secret) NOT BETWEEN 1 AND 1024 THEN
		RAISE EXCEPTION 'name must be 1 to 200 characters and secret 1 to 1024' USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.check_channel(camera_health.channels) IS
'Refuses an invalid channel (SQLSTATE 22023, or 22004 for a missing email address) with the reason.';

CREATE FUNCTION camera_health.add_channel(
	kind text,
	target text,
	min_severity text DEFAULT 'warning',
	sites text[] DEFAULT NULL,
	alert_types text[] DEFAULT NULL,
	tags text[] DEFAULT NULL,
	escalate_after interval DEFAULT NULL,
	repeat_interval interval DEFAULT NULL,
	secret text DEFAULT NULL,
	email_from text DEFAULT NULL,
	email_to text[] DEFAULT NULL,
	name text DEFAULT NULL,
	enabled boolean DEFAULT true)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ch camera_health.channels;
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.check_channel_words(kind, coalesce(min_severity, 'warning'));
	ch.kind := kind; ch.target := target; ch.min_severity := coalesce(min_severity, 'warning');
	ch.sites := sites; ch.alert_types := alert_types; ch.tags := tags;
	ch.escalate_after := escalate_after; ch.repeat_interval := repeat_interval; ch.secret := secret;
	ch.email_from := email_from; ch.email_to := email_to; ch.name := name;
	PERFORM camera_health.check_channel(ch);
	INSERT INTO camera_health.channels AS c (kind, target, name, secret, email_from, email_to, min_severity,
		alert_types, sites, tags, escalate_after, repeat_interval, enabled)
	VALUES (ch.kind, ch.target, ch.name, ch.secret, ch.email_from, ch.email_to, ch.min_severity,
		ch.alert_types, ch.sites, ch.tags, ch.escalate_after, ch.repeat_interval, coalesce(enabled, true))
	RETURNING c.id INTO ch.id;
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = ch.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.add_channel(text, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean) IS
'Adds a notification channel and returns it: kind webhook, slack or email; target its URL; filters on min_severity, sites, alert_types and tags; escalate_after makes it an escalation channel; repeat_interval sends reminders.';

CREATE FUNCTION camera_health.require_channel(channel_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF channel_id IS NULL THEN
		RAISE EXCEPTION 'channel_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM camera_health.channels c WHERE c.id = channel_id) THEN
		RAISE EXCEPTION 'channel % does not exist', channel_id
			USING ERRCODE = 'no_data_found', HINT = 'list_channels() shows the channels.';
	END IF;
END
$$;
COMMENT ON FUNCTION camera_health.require_channel(bigint) IS
'Raises no_data_found (P0002) unless the channel exists.';

CREATE FUNCTION camera_health.update_channel(
	channel_id bigint,
	target text DEFAULT NULL,
	min_severity text DEFAULT NULL,
	sites text[] DEFAULT NULL,
	alert_types text[] DEFAULT NULL,
	tags text[] DEFAULT NULL,
	escalate_after interval DEFAULT NULL,
	repeat_interval interval DEFAULT NULL,
	secret text DEFAULT NULL,
	email_from text DEFAULT NULL,
	email_to text[] DEFAULT NULL,
	name text DEFAULT NULL,
	enabled boolean DEFAULT NULL)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ch camera_health.channels;
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	SELECT * INTO ch FROM camera_health.channels c WHERE c.id = update_channel.channel_id FOR UPDATE;
	PERFORM camera_health.check_channel_words(ch.kind, coalesce(min_severity, ch.min_severity));
	-- NULL keeps a field; '' (text), '{}' (filters) and interval '0' clear the optional ones
	ch.target := coalesce(target, ch.target);
	ch.min_severity := coalesce(min_severity, ch.min_severity);
	ch.sites := CASE WHEN sites = '{}' THEN NULL ELSE coalesce(sites, ch.sites) END;
	ch.alert_types := CASE WHEN alert_types = '{}' THEN NULL ELSE coalesce(alert_types, ch.alert_types) END;
	ch.tags := CASE WHEN tags = '{}' THEN NULL ELSE coalesce(tags, ch.tags) END;
	ch.escalate_after := CASE WHEN escalate_after = interval '0' THEN NULL ELSE coalesce(escalate_after, ch.escalate_after) END;
	ch.repeat_interval := CASE WHEN repeat_interval = interval '0' THEN NULL ELSE coalesce(repeat_interval, ch.repeat_interval) END;
	ch.secret := CASE WHEN secret = '' THEN NULL ELSE coalesce(secret, ch.secret) END;
	ch.email_from := coalesce(email_from, ch.email_from);
	ch.email_to := coalesce(email_to, ch.email_to);
	ch.name := CASE WHEN name = '' THEN NULL ELSE coalesce(name, ch.name) END;
	ch.enabled := coalesce(enabled, ch.enabled);
	PERFORM camera_health.check_channel(ch);
	UPDATE camera_health.channels c
	SET target = ch.target, min_severity = ch.min_severity, sites = ch.sites, alert_types = ch.alert_types,
		tags = ch.tags, escalate_after = ch.escalate_after, repeat_interval = ch.repeat_interval,
		secret = ch.secret, email_from = ch.email_from, email_to = ch.email_to, name = ch.name,
		enabled = ch.enabled, updated_at = now()
	WHERE c.id = ch.id;
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = ch.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.update_channel(bigint, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean) IS
'Changes the given fields of a channel (NULL keeps one; '''' clears name or secret, ''{}'' a filter, interval ''0'' escalate_after or repeat_interval) and returns it.';

CREATE FUNCTION camera_health.delete_channel(channel_id bigint)
RETURNS camera_health.channel_list
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.channel_list;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	SELECT * INTO result FROM camera_health.channel_list l WHERE l.id = delete_channel.channel_id;
	DELETE FROM camera_health.channels c WHERE c.id = delete_channel.channel_id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.delete_channel(bigint) IS
'Deletes a channel with its queued notifications and delivery log, and returns it.';

CREATE FUNCTION camera_health.list_channels()
RETURNS SETOF camera_health.channel_list
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.channel_list ORDER BY id;
END;
COMMENT ON FUNCTION camera_health.list_channels() IS
'All channels by id; targets and secrets masked for readers.';

/* ---- notifications and their delivery ----------------------------------- */

CREATE TABLE camera_health.notifications (
	id bigserial PRIMARY KEY,
	channel_id bigint NOT NULL REFERENCES camera_health.channels (id) ON DELETE CASCADE,
	sequence bigint NOT NULL,
	kind camera_health.notification_kind NOT NULL,
	site text,
	summary text NOT NULL,
	body jsonb NOT NULL,
	text_body text NOT NULL,
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz,
	last_error text,
	UNIQUE (channel_id, sequence)
);
CREATE INDEX notifications_pending_idx ON camera_health.notifications (channel_id, sequence) WHERE state = 'pending';
CREATE INDEX notifications_created_idx ON camera_health.notifications (created_at);
COMMENT ON TABLE camera_health.notifications IS
'What is sent to each channel, in sequence: pending until delivered (sent), or set aside after a permanent refusal or camera_health.notify_max_age (failed).';
COMMENT ON COLUMN camera_health.notifications.id IS 'Notification id (X-Camera-Health-Notification): a receiver de-duplicates on it.';
COMMENT ON COLUMN camera_health.notifications.channel_id IS 'The channel.';
COMMENT ON COLUMN camera_health.notifications.sequence IS 'Its number in the channel (X-Camera-Health-Sequence), from 1 without gaps: a receiver orders by it.';
COMMENT ON COLUMN camera_health.notifications.kind IS 'opened, resolved, reminder or test.';
COMMENT ON COLUMN camera_health.notifications.site IS 'The site of the cameras it reports (NULL: cameras without a site).';
COMMENT ON COLUMN camera_health.notifications.summary IS 'One line: what happened, e.g. "site north: 20 of 24 cameras unreachable".';
COMMENT ON COLUMN camera_health.notifications.body IS 'The JSON a webhook receives.';
COMMENT ON COLUMN camera_health.notifications.text_body IS 'The text of a Slack message or an email.';
COMMENT ON COLUMN camera_health.notifications.state IS 'pending, sent or failed.';
COMMENT ON COLUMN camera_health.notifications.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN camera_health.notifications.next_attempt_at IS 'Not before this (exponential backoff after a failure).';
COMMENT ON COLUMN camera_health.notifications.created_at IS 'When it was planned.';
COMMENT ON COLUMN camera_health.notifications.sent_at IS 'When the receiver accepted it.';
COMMENT ON COLUMN camera_health.notifications.last_error IS 'The error of the latest failed attempt.';

CREATE TABLE camera_health.deliveries (
	id bigserial PRIMARY KEY,
	notification_id bigint NOT NULL REFERENCES camera_health.notifications (id) ON DELETE CASCADE,
	channel_id bigint NOT NULL,
	attempt integer NOT NULL,
	started_at timestamptz NOT NULL,
	duration_ms double precision NOT NULL,
	status text NOT NULL CHECK (status IN ('ok', 'error')),
	response_code integer,
	error text
);
CREATE INDEX deliveries_notification_idx ON camera_health.deliveries (notification_id);
CREATE INDEX deliveries_started_idx ON camera_health.deliveries (started_at);
COMMENT ON TABLE camera_health.deliveries IS
'The delivery log: each attempt to send a notification, kept for camera_health.notify_log_retention.';
COMMENT ON COLUMN camera_health.deliveries.id IS 'Attempt id.';
COMMENT ON COLUMN camera_health.deliveries.notification_id IS 'The notification.';
COMMENT ON COLUMN camera_health.deliveries.channel_id IS 'Its channel.';
COMMENT ON COLUMN camera_health.deliveries.attempt IS '1 for the first attempt, then 2, 3, ...';
COMMENT ON COLUMN camera_health.deliveries.started_at IS 'When the transfer started.';
COMMENT ON COLUMN camera_health.deliveries.duration_ms IS 'How long it took.';
COMMENT ON COLUMN camera_health.deliveries.status IS 'ok (accepted) or error.';
COMMENT ON COLUMN camera_health.deliveries.response_code IS 'The HTTP status or SMTP reply code, when there was one.';
COMMENT ON COLUMN camera_health.deliveries.error IS 'What went wrong (libcurl''s error, or the refusing status).';

/* Which alerts each channel was told about, and when: the planner's state. */
CREATE TABLE camera_health.channel_alerts (
	channel_id bigint NOT NULL REFERENCES camera_health.channels (id) ON DELETE CASCADE,
	alert_id bigint NOT NULL,
	camera_id bigint NOT NULL,
	opened_notification bigint NOT NULL,
	notified_at timestamptz NOT NULL,
	last_reminder_at timestamptz,
	resolved_notification bigint,
	PRIMARY KEY (channel_id, alert_id),
	FOREIGN KEY (camera_id, alert_id) REFERENCES camera_health.alerts (camera_id, id) ON DELETE CASCADE
);
CREATE INDEX channel_alerts_open_idx ON camera_health.channel_alerts (channel_id) WHERE resolved_notification IS NULL;
CREATE INDEX channel_alerts_alert_idx ON camera_health.channel_alerts (camera_id, alert_id);
COMMENT ON TABLE camera_health.channel_alerts IS
'The alerts a channel was notified of: when it opened, the latest reminder, and the notification of its resolution.';
COMMENT ON COLUMN camera_health.channel_alerts.channel_id IS 'The channel.';
COMMENT ON COLUMN camera_health.channel_alerts.alert_id IS 'The alert.';
COMMENT ON COLUMN camera_health.channel_alerts.camera_id IS 'Its camera.';
COMMENT ON COLUMN camera_health.channel_alerts.opened_notification IS 'The notification that reported it open.';
COMMENT ON COLUMN camera_health.channel_alerts.notified_at IS 'When that was planned.';
COMMENT ON COLUMN camera_health.channel_alerts.last_reminder_at IS 'When the latest reminder was planned.';
COMMENT ON COLUMN camera_health.channel_alerts.resolved_notification IS 'The notification that reported it resolved.';

/*
 * One notification of a channel about some alerts of one site.  It names
 * every camera and alert; when most cameras of the site are unreachable
 * together, its summary says so ("site north: 20 of 24 cameras
 * unreachable").  Returns its id.
 */
CREATE FUNCTION camera_health.make_notification(channel_id bigint, kind text, site text, alert_ids bigint[],
												at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	nid bigint := nextval('camera_health.notifications_id_seq');
	seq bigint;
	items jsonb;
	lines text;
	n_alerts integer;
	n_cameras integer;
	n_unreachable integer;
	site_cameras integer;
	correlated boolean;
	summary text;
	body jsonb;
	base text := camera_health.notify_base_url();
BEGIN
	UPDATE camera_health.channels c SET last_sequence = c.last_sequence + 1
	WHERE c.id = make_notification.channel_id RETURNING c.last_sequence INTO seq;
	SELECT jsonb_agg(jsonb_build_object(
			   'alert_id', a.id, 'camera_id', a.camera_id, 'camera_name', c.name, 'site', c.site,
			   'type', a.alert_type, 'severity', a.severity, 'status', a.status, 'message', a.message,
			   'since', a.created_at, 'resolved_at', a.resolved_at, 'in_maintenance', a.in_maintenance,
			   'link', base || '/health/camera/' || a.camera_id) ORDER BY a.camera_id, a.id),
		   string_agg(format('- [%s] camera %s%s%s: %s: %s (since %s) %s', a.severity, a.camera_id,
							 ' "' || c.name || '"', ' (site ' || c.site || ')', a.alert_type,
							 regexp_replace(a.message, '[[:cntrl:]]+', ' ', 'g'),
							 to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
							 base || '/health/camera/' || a.camera_id), E'\n' ORDER BY a.camera_id, a.id),
		   count(*), count(DISTINCT a.camera_id),
		   count(DISTINCT a.camera_id) FILTER (WHERE a.alert_type = 'camera_unreachable')
	INTO items, lines, n_alerts, n_cameras, n_unreachable
	FROM camera_health.alerts a JOIN camera_health.cameras c ON c.id = a.camera_id
	WHERE a.id = ANY (alert_ids);
	IF site IS NOT NULL THEN
		SELECT count(*) INTO site_cameras FROM camera_health.cameras c WHERE c.site = make_notification.site AND c.enabled;
	END IF;
	correlated := site IS NOT NULL AND n_unreachable >= 2 AND n_unreachable * 2 > site_cameras;
	summary := CASE
		WHEN kind = 'test' THEN 'test message from camera_health'
		WHEN correlated THEN format('site %s: %s of %s cameras %s', site, n_unreachable, site_cameras,
									CASE kind WHEN 'opened' THEN 'unreachable' WHEN 'resolved' THEN 'reachable again'
										 ELSE 'still unreachable' END)
		ELSE format('%s %s %s%s', n_alerts, CASE WHEN n_alerts = 1 THEN 'alert' ELSE 'alerts' END,
					CASE kind WHEN 'opened' THEN 'opened' WHEN 'resolved' THEN 'resolved'
						 ELSE 'still open (reminder)' END,
					coalesce(' at site ' || site, '')) END;
	summary := regexp_replace(summary, '[[:cntrl:]]+', ' ', 'g');
	body := jsonb_build_object('notification_id', nid, 'channel_id', channel_id, 'sequence', seq,
							   'event', kind, 'site', site, 'summary', summary, 'created_at', at,
							   'correlation', CASE WHEN correlated THEN jsonb_build_object(
								   'site', site, 'cameras', site_cameras, 'unreachable', n_unreachable) END,
							   'cameras', coalesce(n_cameras, 0), 'alerts', coalesce(items, '[]'));
	INSERT INTO camera_health.notifications (id, channel_id, sequence, kind, site, summary, body, text_body, created_at)
	VALUES (nid, channel_id, seq, kind, site, summary, body,
			format('[camera_health] %s: %s', kind, summary) || coalesce(E'\n' || lines, '')
			|| format(E'\n(notification %s, sequence %s)', nid, seq), at);
	RETURN nid;
END
$$;
COMMENT ON FUNCTION camera_health.make_notification(bigint, text, text, bigint[], timestamptz) IS
'For the planner: queues one notification of a channel about some alerts of one site, with the next sequence number; returns its id.';

/* Does channel ch take alerts of this type and severity from this camera? */
CREATE FUNCTION camera_health.channel_accepts(ch camera_health.channels, alert_type text, severity text,
											  site text, tags text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN ch.enabled
	AND camera_health.severity_rank(severity) >= camera_health.severity_rank(ch.min_severity)
	AND (ch.alert_types IS NULL OR alert_type = ANY (ch.alert_types))
	AND (ch.sites IS NULL OR coalesce(site = ANY (ch.sites), false))
	AND (ch.tags IS NULL OR coalesce(tags && ch.tags, false));
COMMENT ON FUNCTION camera_health.channel_accepts(camera_health.channels, text, text, text, text[]) IS
'True when a channel''s filters (enabled, min_severity, alert_types, sites, tags) let an alert through.';

/*
 * The planner, called by the notifier in a short transaction (now and
 * group_wait are parameters for tests).  For each channel:
 *  - opened: alerts open and unacknowledged that it was not told about,
 *    past escalate_after for an escalation channel, whose camera is in no
 *    maintenance window now; one notification per site once the earliest
 *    of them has waited group_wait (so an alert that opens and resolves
 *    within group_wait is never notified; one that resolved after being
 *    open longer than that before the planner saw it is);
 *  - resolved: alerts it was told about that resolved, grouped the same way;
 *  - reminder: alerts it was told about, still open and unacknowledged,
 *    not reminded of for repeat_interval, one notification per site.
 * Cameras in maintenance are left for after the window: what still fails
 * then is notified then.  Consumes alert_events; returns how many
 * notifications it queued.
 */
CREATE FUNCTION camera_health.plan_notifications(now timestamptz DEFAULT now(), group_wait interval DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	wait interval := coalesce(group_wait, camera_health.notify_group_wait());
	g record;
	nid bigint;
	queued integer := 0;
	late bigint[];
BEGIN
	-- alerts that resolved since the last run (from the events: each is
	-- looked at once); one that was open for longer than group_wait while
	-- no notifier ran (a restart, a long transaction) is still reported,
	-- opened and then resolved
	SELECT coalesce(array_agg(DISTINCT e.alert_id), '{}') INTO late
	FROM camera_health.alert_events e WHERE e.planned_at IS NULL AND e.event = 'resolved';
	UPDATE camera_health.alert_events e SET planned_at = now WHERE e.planned_at IS NULL;

	FOR g IN
		SELECT ch.id AS channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channels ch
		CROSS JOIN (SELECT o.* FROM camera_health.alerts o WHERE o.resolved_at IS NULL AND o.status = 'open'
					UNION ALL
					SELECT r.* FROM camera_health.alerts r
					WHERE r.id = ANY (late) AND r.resolved_at IS NOT NULL AND r.acknowledged_at IS NULL) a
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ch.enabled
		  AND camera_health.channel_accepts(ch, a.alert_type, a.severity, c.site, c.tags)
		  AND a.created_at + coalesce(ch.escalate_after, interval '0') <= now
		  AND (a.resolved_at IS NULL OR a.resolved_at >= a.created_at + coalesce(ch.escalate_after, interval '0') + wait)
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		  AND NOT EXISTS (SELECT FROM camera_health.channel_alerts ca WHERE ca.channel_id = ch.id AND ca.alert_id = a.id)
		GROUP BY ch.id, c.site
		HAVING min(a.created_at + coalesce(ch.escalate_after, interval '0')) <= now - wait
		ORDER BY ch.id, c.site
	LOOP
		nid := camera_health.make_notification(g.channel_id, 'opened', g.site, g.alert_ids, now);
		INSERT INTO camera_health.channel_alerts (channel_id, alert_id, camera_id, opened_notification, notified_at)
		SELECT g.channel_id, a.id, a.camera_id, nid, now FROM camera_health.alerts a WHERE a.id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;

	FOR g IN
		SELECT ca.channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channel_alerts ca
		JOIN camera_health.channels ch ON ch.id = ca.channel_id
		JOIN camera_health.alerts a ON a.camera_id = ca.camera_id AND a.id = ca.alert_id
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ca.resolved_notification IS NULL AND a.resolved_at IS NOT NULL AND ch.enabled
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		GROUP BY ca.channel_id, c.site
		HAVING min(a.resolved_at) <= now - wait
		ORDER BY ca.channel_id, c.site
	LOOP
		nid := camera_health.make_notification(g.channel_id, 'resolved', g.site, g.alert_ids, now);
		UPDATE camera_health.channel_alerts ca SET resolved_notification = nid
		WHERE ca.channel_id = g.channel_id AND ca.alert_id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;

	FOR g IN
		SELECT ca.channel_id, c.site, array_agg(a.id ORDER BY a.id) AS alert_ids
		FROM camera_health.channel_alerts ca
		JOIN camera_health.channels ch ON ch.id = ca.channel_id AND ch.repeat_interval IS NOT NULL AND ch.enabled
		JOIN camera_health.alerts a ON a.camera_id = ca.camera_id AND a.id = ca.alert_id AND a.status = 'open'
		JOIN camera_health.cameras c ON c.id = a.camera_id
		WHERE ca.resolved_notification IS NULL
		  AND coalesce(ca.last_reminder_at, ca.notified_at) <= now - ch.repeat_interval
		  AND NOT camera_health.in_maintenance(a.camera_id, c.site, now)
		GROUP BY ca.channel_id, c.site
		ORDER BY ca.channel_id, c.site
	LOOP
		PERFORM camera_health.make_notification(g.channel_id, 'reminder', g.site, g.alert_ids, now);
		UPDATE camera_health.channel_alerts ca SET last_reminder_at = now
		WHERE ca.channel_id = g.channel_id AND ca.alert_id = ANY (g.alert_ids);
		queued := queued + 1;
	END LOOP;
	RETURN queued;
END
$$;
COMMENT ON FUNCTION camera_health.plan_notifications(timestamptz, interval) IS
'For the notifier worker: queues the notifications due at now (opened, resolved, reminder; grouped per channel and site after group_wait, default camera_health.notify_group_wait; nothing for cameras in maintenance); returns how many.';

CREATE FUNCTION camera_health.test_channel(channel_id bigint)
RETURNS camera_health.notifications
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.notifications;
	nid bigint;
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	nid := camera_health.make_notification(test_channel.channel_id, 'test', NULL, '{}', now());
	SELECT * INTO result FROM camera_health.notifications n WHERE n.id = nid;
	PERFORM camera_health.wake_notifier();
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.test_channel(bigint) IS
'Queues a test message to a channel (delivered by the notifier within a second) and returns the notification; its delivery shows in channel_deliveries().';

CREATE FUNCTION camera_health.channel_deliveries(channel_id bigint, max_rows integer DEFAULT 100)
RETURNS SETOF camera_health.deliveries
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_channel(channel_id);
	PERFORM camera_health.check_max_rows(max_rows);
	RETURN QUERY SELECT d.* FROM camera_health.deliveries d WHERE d.channel_id = channel_deliveries.channel_id
		ORDER BY d.id DESC LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION camera_health.channel_deliveries(bigint, integer) IS
'The delivery log of a channel, newest first: each attempt with its status, response code or error, and duration; at most max_rows (1 to 10000).';

/*
 * For the notifier: what may be sent now.  Per channel, the lowest
 * max_in_flight pending sequence numbers, in order, once the channel's
 * first pending one is due (a notification in backoff holds back the ones
 * after it: a channel's notifications arrive in order); without those
 * already in flight (exclude).  The payload is ready to send.
 */
CREATE FUNCTION camera_health.next_notifications(exclude bigint[], max_in_flight integer, max_rows integer)
RETURNS TABLE (notification_id bigint, channel_id bigint, sequence bigint, kind text, target text,
			   secret text, email_from text, email_to text, payload text, attempts integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT p.id, p.channel_id, p.sequence, ch.kind, ch.target, ch.secret, ch.email_from,
		   array_to_string(ch.email_to, E'\n'),
		   CASE ch.kind
			   WHEN 'webhook' THEN p.body::text
			   WHEN 'slack' THEN jsonb_build_object('text', p.text_body)::text
			   ELSE concat_ws(E'\r\n',
					'From: ' || ch.email_from,
					'To: ' || array_to_string(ch.email_to, ', '),
					'Subject: [camera_health] ' || regexp_replace(p.summary, '[[:cntrl:]]+', ' ', 'g'),
					'Date: ' || to_char(p.created_at AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000',
					'Message-ID: <camera-health-' || p.id || '@camera-health.invalid>',
					'X-Camera-Health-Notification: ' || p.id,
					'X-Camera-Health-Sequence: ' || p.sequence,
					'MIME-Version: 1.0',
					'Content-Type: text/plain; charset=utf-8',
					'',
					replace(p.text_body, E'\n', E'\r\n'), '') END,
		   p.attempts
	-- (per channel, a few rows of the pending index: not all that is queued)
	FROM camera_health.channels ch
	CROSS JOIN LATERAL (SELECT n.* FROM camera_health.notifications n
						WHERE n.channel_id = ch.id AND n.state = 'pending'
						ORDER BY n.sequence LIMIT max_in_flight) p
	WHERE (SELECT h.next_attempt_at FROM camera_health.notifications h
		   WHERE h.channel_id = ch.id AND h.state = 'pending' ORDER BY h.sequence LIMIT 1) <= now()
	  AND p.next_attempt_at <= now() AND p.id <> ALL (coalesce(exclude, '{}'))
	ORDER BY p.channel_id, p.sequence
	LIMIT max_rows;
END;
COMMENT ON FUNCTION camera_health.next_notifications(bigint[], integer, integer) IS
'For the notifier worker: the pending notifications to start now, with their payload, at most max_in_flight per channel, in sequence order.';

/*
 * For the notifier: one attempt's outcome.  Accepted: sent.  Refused for
 * good (an HTTP 4xx other than 408 and 429), or pending for longer than
 * max_age: failed, set aside.  Otherwise retried after 1 s, 2 s, 4 s, ...
 * up to retry_max.
 */
CREATE FUNCTION camera_health.record_delivery(notification_id bigint, started_at timestamptz, duration_ms double precision,
											  ok boolean, response_code integer, error text,
											  retry_max interval, max_age interval)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n camera_health.notifications;
	permanent boolean := NOT ok AND response_code BETWEEN 400 AND 499 AND response_code NOT IN (408, 429);
BEGIN
	UPDATE camera_health.notifications x SET attempts = x.attempts + 1
	WHERE x.id = record_delivery.notification_id AND x.state = 'pending'
	RETURNING x.* INTO n;
	IF NOT FOUND THEN
		RETURN NULL;			-- deleted with its channel meanwhile
	END IF;
	INSERT INTO camera_health.deliveries (notification_id, channel_id, attempt, started_at, duration_ms, status, response_code, error)
	VALUES (n.id, n.channel_id, n.attempts, started_at, duration_ms, CASE WHEN ok THEN 'ok' ELSE 'error' END,
			response_code, left(camera_health.mask_text(error), 1000));
	IF ok THEN
		UPDATE camera_health.notifications x SET state = 'sent', sent_at = clock_timestamp(), last_error = NULL WHERE x.id = n.id;
		RETURN 'sent';
	ELSIF permanent OR n.created_at < clock_timestamp() - max_age THEN
		UPDATE camera_health.notifications x SET state = 'failed', last_error = left(camera_health.mask_text(error), 1000)
		WHERE x.id = n.id;
		RETURN 'failed';
	END IF;
	UPDATE camera_health.notifications x
	SET next_attempt_at = clock_timestamp() + least(retry_max, interval '1 second' * power(2, least(n.attempts - 1, 20))),
		last_error = left(camera_health.mask_text(error), 1000)
	WHERE x.id = n.id;
	RETURN 'retry';
END
$$;
COMMENT ON FUNCTION camera_health.record_delivery(bigint, timestamptz, double precision, boolean, integer, text, interval, interval) IS
'For the notifier worker: logs one delivery attempt and marks the notification sent, failed (refused for good, or too old) or due again after an exponential backoff; returns which.';

/* For the notifier: the delivery log's retention. */
CREATE FUNCTION camera_health.prune_notifications(keep interval)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	total bigint := 0;
BEGIN
	DELETE FROM camera_health.deliveries d WHERE d.started_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.notifications x WHERE x.state <> 'pending' AND x.created_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.alert_events e WHERE e.planned_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM camera_health.maintenance_windows w WHERE w.ends_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	RETURN total;
END
$$;
COMMENT ON FUNCTION camera_health.prune_notifications(interval) IS
'For the notifier worker: deletes delivery attempts, delivered or failed notifications, planned alert events and maintenance windows older than keep; returns how many rows.';

/* ---- maintenance API ------------------------------------------------------ */

CREATE FUNCTION camera_health.add_maintenance(
	starts_at timestamptz,
	ends_at timestamptz,
	camera_id bigint DEFAULT NULL,
	site text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.maintenance_windows;
BEGIN
	IF starts_at IS NULL OR ends_at IS NULL THEN
		RAISE EXCEPTION 'starts_at and ends_at must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF ends_at <= starts_at OR NOT isfinite(starts_at) OR NOT isfinite(ends_at) THEN
		RAISE EXCEPTION 'a maintenance window must end after it starts'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('From %s to %s.', starts_at, ends_at);
	END IF;
	IF camera_id IS NOT NULL THEN
		PERFORM camera_health.require_camera(camera_id);
	END IF;
	IF site = '' OR length(site) > 200 OR length(reason) > 1000 THEN
		RAISE EXCEPTION 'site must be 1 to 200 characters and reason at most 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO camera_health.maintenance_windows AS w (starts_at, ends_at, camera_id, site, reason)
	VALUES (starts_at, ends_at, camera_id, site, reason)
	RETURNING w.* INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.add_maintenance(timestamptz, timestamptz, bigint, text, text) IS
'Adds a maintenance window for one camera, one site, or (both NULL) the whole fleet: checks run and alerts are recorded, nothing is notified until it ends; returns it.';

CREATE FUNCTION camera_health.list_maintenance(only_current boolean DEFAULT false)
RETURNS SETOF camera_health.maintenance_windows
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM camera_health.maintenance_windows w
	WHERE NOT coalesce(only_current, false) OR w.ends_at > now()
	ORDER BY w.starts_at, w.id;
END;
COMMENT ON FUNCTION camera_health.list_maintenance(boolean) IS
'Maintenance windows by start; only_current keeps those not yet over (running or to come).';

CREATE FUNCTION camera_health.end_maintenance(maintenance_id bigint)
RETURNS camera_health.maintenance_windows
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result camera_health.maintenance_windows;
BEGIN
	IF maintenance_id IS NULL THEN
		RAISE EXCEPTION 'maintenance_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a window not yet started is shortened to nothing: it ends where it starts
	UPDATE camera_health.maintenance_windows w
	SET ends_at = greatest(least(w.ends_at, now()), w.starts_at + interval '1 microsecond'),
		ended_early_at = CASE WHEN w.ends_at > now() THEN now() ELSE w.ended_early_at END
	WHERE w.id = maintenance_id
	RETURNING w.* INTO result;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'maintenance window % does not exist', maintenance_id
			USING ERRCODE = 'no_data_found', HINT = 'list_maintenance() shows the windows.';
	END IF;
	PERFORM camera_health.wake_notifier();
	RETURN result;
END
$$;
COMMENT ON FUNCTION camera_health.end_maintenance(bigint) IS
'Ends a maintenance window now (what still fails is notified at once) and returns it; a window already over is returned unchanged.';

/* ---- privileges ----------------------------------------------------------- */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;
REVOKE ALL ON camera_health.channels, camera_health.channels_id_seq FROM PUBLIC;
GRANT SELECT ON camera_health.channel_list, camera_health.maintenance_windows, camera_health.alert_events,
	camera_health.notifications, camera_health.deliveries TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.list_channels(),
	camera_health.mask_channel_target(text, text),
	camera_health.url_origin(text),
	camera_health.require_channel(bigint),
	camera_health.channel_deliveries(bigint, integer),
	camera_health.list_maintenance(boolean),
	camera_health.in_maintenance(bigint, text, timestamptz),
	camera_health.severity_rank(text)
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.add_channel(text, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean),
	camera_health.update_channel(bigint, text, text, text[], text[], text[], interval, interval, text, text, text[], text, boolean),
	camera_health.delete_channel(bigint),
	camera_health.test_channel(bigint),
	camera_health.add_maintenance(timestamptz, timestamptz, bigint, text, text),
	camera_health.end_maintenance(bigint)
	TO camera_health_writer;
