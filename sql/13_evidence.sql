/* ------------------------------------------------------------------------
 * Evidence: small JPEG pictures of what the vision checks saw
 *
 * visionproc sends, with each vision result that had a frame, a picture of
 * the analysed frame (about 320 pixels wide, in colour when the stream has
 * colour; field jpeg of results:vision).  The ingest worker stores it, in
 * the transaction of the result, through record_frame():
 *  - as the camera's snapshot: one row per camera, overwritten;
 *  - as its reference's picture when that frame became the reference;
 *  - as the evidence of each vision alert (blur, obstruction, displacement,
 *    frozen) that this very result opened.
 * Storage is bounded: one snapshot and one reference picture (per mode) per
 * camera, one picture per vision alert, each at most 64 kB (the domain
 * below; the ingest worker drops anything else before it gets here).  The
 * evidence is a row of its alert: deleted with it (ON DELETE CASCADE), so
 * retention removes both at once.
 *
 * The pictures are camera imagery: readers have no privilege on these
 * tables (nor on camera_references); they get one picture at a time through
 * the functions below, as SQL (bytea) or over HTTP (image/jpeg).
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.jpeg AS bytea
	CONSTRAINT jpeg_plausible CHECK (length(VALUE) BETWEEN 4 AND 65536
									 AND substr(VALUE, 1, 2) = '\xffd8'::bytea
									 AND substr(VALUE, length(VALUE) - 1, 2) = '\xffd9'::bytea);
COMMENT ON DOMAIN camera_health.jpeg IS
'One JPEG picture of at most 64 kB: starts with SOI (FF D8), ends with EOI (FF D9). The ingest worker makes the same check (common/jpeg_check.h).';

/*
 * Overwritten at every vision check of the camera: the row is small (the
 * picture lives in the TOAST table), and fillfactor leaves room on its page
 * for the new version, so that the update is HOT (no index entry).  JPEG
 * does not compress: EXTERNAL storage spares the attempt.
 */
CREATE TABLE camera_health.snapshots (
	camera_id bigint PRIMARY KEY REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL
) WITH (fillfactor = 50);
ALTER TABLE camera_health.snapshots ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.snapshots IS 'The picture of each camera''s latest analysed frame (read it with camera_snapshot()).';
COMMENT ON COLUMN camera_health.snapshots.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.snapshots.taken_at IS 'When the check that grabbed the frame ran.';
COMMENT ON COLUMN camera_health.snapshots.jpeg IS 'The frame, about 320 pixels wide, as JPEG.';

/*
 * The picture of each camera's reference frame, one per lighting mode as
 * the references themselves (camera_references.mode).  A reference dropped
 * (reset_reference) takes its picture with it (trigger
 * reference_pictures_follow); a new one brings its own.
 */
CREATE TABLE camera_health.reference_pictures (
	camera_id bigint NOT NULL REFERENCES camera_health.cameras (id) ON DELETE CASCADE,
	mode camera_health.camera_mode NOT NULL DEFAULT 'day',
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL,
	PRIMARY KEY (camera_id, mode)
);
ALTER TABLE camera_health.reference_pictures ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.reference_pictures IS 'The picture of each camera''s reference frame, per lighting mode (read it with reference_picture()).';
COMMENT ON COLUMN camera_health.reference_pictures.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.reference_pictures.mode IS 'The lighting mode of the reference: day (colour) or ir (infrared).';
COMMENT ON COLUMN camera_health.reference_pictures.taken_at IS 'When the reference frame was grabbed.';
COMMENT ON COLUMN camera_health.reference_pictures.jpeg IS 'The reference frame, about 320 pixels wide, as JPEG.';

/* The frame that opened each vision alert: a part of the alert, deleted with it. */
CREATE TABLE camera_health.alert_evidence (
	camera_id bigint NOT NULL,
	alert_id bigint NOT NULL,
	taken_at timestamptz NOT NULL,
	jpeg camera_health.jpeg NOT NULL,
	PRIMARY KEY (camera_id, alert_id),
	FOREIGN KEY (camera_id, alert_id) REFERENCES camera_health.alerts (camera_id, id) ON DELETE CASCADE
);
ALTER TABLE camera_health.alert_evidence ALTER COLUMN jpeg SET STORAGE EXTERNAL;
COMMENT ON TABLE camera_health.alert_evidence IS 'The picture of the frame that opened each vision alert; deleted with its alert (retention, camera deletion). Read it with alert_evidence().';
COMMENT ON COLUMN camera_health.alert_evidence.camera_id IS 'The camera.';
COMMENT ON COLUMN camera_health.alert_evidence.alert_id IS 'The alert (blur, obstruction, displacement or frozen).';
COMMENT ON COLUMN camera_health.alert_evidence.taken_at IS 'When the check that opened the alert ran (the alert''s created_at).';
COMMENT ON COLUMN camera_health.alert_evidence.jpeg IS 'The frame, about 320 pixels wide, as JPEG.';

REVOKE ALL ON camera_health.snapshots, camera_health.reference_pictures, camera_health.alert_evidence FROM PUBLIC;

/* A dropped reference takes its picture along (the picture of the same mode). */
CREATE FUNCTION camera_health.reference_pictures_follow()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM camera_health.reference_pictures p WHERE p.camera_id = OLD.camera_id AND p.mode = OLD.mode;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION camera_health.reference_pictures_follow() IS
'Trigger: deletes the pictures of a camera''s reference when its reference frame is deleted (reset_reference).';
CREATE TRIGGER reference_pictures_follow
	AFTER DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.reference_pictures_follow();

/*
 * For the ingest worker, after record_results in the same transaction:
 * stores the picture of one vision result's analysed frame.  result is the
 * result as given to record_results (its camera_id and checked_ms say whose
 * frame and when, computed as record_results does, so that an alert opened
 * by this result has created_at equal to it); is_reference says that its
 * frame has just become the camera's reference.  Results of unknown or
 * disabled cameras are dropped, as record_results drops them; an older
 * result (a backlog) does not overwrite a newer snapshot.
 */
CREATE FUNCTION camera_health.record_frame(result jsonb, jpeg camera_health.jpeg, is_reference boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cam bigint;
	at timestamptz;
BEGIN
	IF jpeg IS NULL OR jsonb_typeof(result) IS DISTINCT FROM 'object' THEN
		RETURN;
	END IF;
	SELECT x.camera_id, to_timestamp(x.checked_ms / 1000.0) INTO cam, at
	FROM jsonb_to_record(result) AS x(camera_id bigint, check_type text, checked_ms double precision)
	WHERE x.check_type = 'vision';
	PERFORM FROM camera_health.cameras c WHERE c.id = cam AND c.enabled;
	IF NOT FOUND OR at IS NULL THEN
		RETURN;
	END IF;

	INSERT INTO camera_health.snapshots AS s (camera_id, taken_at, jpeg)
	VALUES (cam, at, jpeg)
	ON CONFLICT (camera_id) DO UPDATE SET taken_at = excluded.taken_at, jpeg = excluded.jpeg
	WHERE s.taken_at <= excluded.taken_at;

	IF is_reference THEN
		-- the mode the result's reference was taken in (visionproc says; anything else is day)
		INSERT INTO camera_health.reference_pictures AS p (camera_id, mode, taken_at, jpeg)
		VALUES (cam, CASE WHEN result #>> '{metadata,reference,mode}' = 'ir' THEN 'ir' ELSE 'day' END, at, jpeg)
		ON CONFLICT (camera_id, mode) DO UPDATE SET taken_at = excluded.taken_at, jpeg = excluded.jpeg;
	END IF;

	-- the vision alerts this result opened (an alert's created_at is the time of its opening result)
	INSERT INTO camera_health.alert_evidence (camera_id, alert_id, taken_at, jpeg)
	SELECT a.camera_id, a.id, at, jpeg
	FROM camera_health.alerts a
	WHERE a.camera_id = cam AND a.resolved_at IS NULL AND a.created_at = at
	  AND a.alert_type IN ('blur', 'obstruction', 'displacement', 'frozen')
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION camera_health.record_frame(jsonb, camera_health.jpeg, boolean) IS
'For the ingest worker: stores the picture of a vision result''s frame as the camera''s snapshot, as its reference''s picture (is_reference) and as the evidence of the vision alerts the result opened.';

/* ---- reading the pictures ------------------------------------------------ */

CREATE FUNCTION camera_health.camera_snapshot(camera_id bigint)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	SELECT s.jpeg INTO picture FROM camera_health.snapshots s WHERE s.camera_id = camera_snapshot.camera_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'camera % has no snapshot yet', camera_id
			USING ERRCODE = 'no_data_found',
				  HINT = 'A snapshot is taken by each vision check that gets a frame: the camera needs an rtsp_url and a check that succeeded.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.camera_snapshot(bigint) IS
'The picture (JPEG, about 320 pixels wide) of the camera''s latest analysed frame. Raises no_data_found (P0002) for an unknown camera or one without a snapshot yet.';

CREATE FUNCTION camera_health.reference_picture(camera_id bigint, mode text DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	IF mode IS NOT NULL AND mode NOT IN ('day', 'ir') THEN
		RAISE EXCEPTION 'invalid mode: %', mode
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The modes are day and ir; NULL for the newest reference.';
	END IF;
	SELECT p.jpeg INTO picture FROM camera_health.reference_pictures p
	WHERE p.camera_id = reference_picture.camera_id AND (reference_picture.mode IS NULL OR p.mode = reference_picture.mode)
	ORDER BY p.taken_at DESC
	LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'camera % has no reference picture%', camera_id, coalesce(' for mode ' || mode, '')
			USING ERRCODE = 'no_data_found',
				  HINT = 'The picture is taken with the reference frame: after reset_reference(), the next good frame brings both.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.reference_picture(bigint, text) IS
'The picture (JPEG) of the camera''s reference frame: of one mode (day, ir), or the newest when mode is NULL. Raises no_data_found (P0002) for an unknown camera or one without a reference picture.';

CREATE FUNCTION camera_health.alert_evidence(alert_id bigint, camera_id bigint DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	picture bytea;
BEGIN
	IF alert_id IS NULL THEN
		RAISE EXCEPTION 'alert_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF camera_id IS NOT NULL THEN
		PERFORM camera_health.require_camera(camera_id);
	END IF;
	PERFORM FROM camera_health.alerts a
	WHERE a.id = alert_evidence.alert_id AND (alert_evidence.camera_id IS NULL OR a.camera_id = alert_evidence.camera_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION '%', CASE WHEN camera_id IS NULL THEN format('alert %s does not exist', alert_id)
								  ELSE format('alert %s of camera %s does not exist', alert_id, camera_id) END
			USING ERRCODE = 'no_data_found', HINT = 'camera_alerts() shows the alerts of a camera.';
	END IF;
	SELECT e.jpeg INTO picture FROM camera_health.alert_evidence e
	JOIN camera_health.alerts a ON a.camera_id = e.camera_id AND a.id = e.alert_id
	WHERE a.id = alert_evidence.alert_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'alert % has no evidence', alert_id
			USING ERRCODE = 'no_data_found',
				  DETAIL = 'Only vision alerts (blur, obstruction, displacement, frozen) opened by a check that had a frame have one.';
	END IF;
	RETURN picture;
END
$$;
COMMENT ON FUNCTION camera_health.alert_evidence(bigint, bigint) IS
'The picture (JPEG) of the frame that opened a vision alert; with camera_id, only an alert of that camera. Raises no_data_found (P0002) for an unknown camera or alert, or an alert without evidence.';

/*
 * What pictures a camera has, without the pictures: for a list or a page
 * to know which URLs answer (and for measuring storage).
 */
CREATE FUNCTION camera_health.camera_pictures(camera_id bigint)
RETURNS TABLE (kind text, mode text, alert_id bigint, taken_at timestamptz, bytes integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM camera_health.require_camera(camera_id);
	RETURN QUERY
	SELECT 'snapshot', NULL::text, NULL::bigint, s.taken_at, length(s.jpeg)
	FROM camera_health.snapshots s WHERE s.camera_id = camera_pictures.camera_id
	UNION ALL
	SELECT 'reference', p.mode, NULL::bigint, p.taken_at, length(p.jpeg)
	FROM camera_health.reference_pictures p WHERE p.camera_id = camera_pictures.camera_id
	UNION ALL
	(SELECT 'evidence', NULL::text, e.alert_id, e.taken_at, length(e.jpeg)
	 FROM camera_health.alert_evidence e WHERE e.camera_id = camera_pictures.camera_id
	 ORDER BY e.alert_id);
END
$$;
COMMENT ON FUNCTION camera_health.camera_pictures(bigint) IS
'The pictures kept of a camera (kind snapshot, reference or evidence, with the mode or the alert, when taken and their size in bytes), without the pictures themselves.';

REVOKE ALL ON FUNCTION camera_health.reference_pictures_follow(),
	camera_health.record_frame(jsonb, camera_health.jpeg, boolean),
	camera_health.camera_snapshot(bigint),
	camera_health.reference_picture(bigint, text),
	camera_health.alert_evidence(bigint, bigint),
	camera_health.camera_pictures(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health.camera_snapshot(bigint),
	camera_health.reference_picture(bigint, text),
	camera_health.alert_evidence(bigint, bigint),
	camera_health.camera_pictures(bigint)
	TO camera_health_reader;

/* ---- over HTTP: image/jpeg ------------------------------------------------ */

/*
 * PostgREST (12) answers a function returning this domain with its body as
 * it is and Content-Type image/jpeg, for requests that accept image/jpeg
 * (nginx's /health/camera/{id}/snapshot and the like send that Accept).
 */
CREATE DOMAIN camera_health_api."image/jpeg" AS bytea;
COMMENT ON DOMAIN camera_health_api."image/jpeg" IS
'A JPEG picture as an HTTP body: PostgREST serves a function returning it as Content-Type image/jpeg.';

CREATE FUNCTION camera_health_api.camera_snapshot(camera_id bigint)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.camera_snapshot(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_snapshot(bigint) IS
'The picture of the camera''s latest analysed frame, as image/jpeg (GET /health/camera/{id}/snapshot); 404 when there is none.';

CREATE FUNCTION camera_health_api.reference_picture(camera_id bigint, mode text DEFAULT NULL)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.reference_picture(camera_id, mode);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.reference_picture(bigint, text) IS
'The picture of the camera''s reference frame (of one mode, or the newest), as image/jpeg (GET /health/camera/{id}/reference); 404 when there is none.';

CREATE FUNCTION camera_health_api.alert_evidence(alert_id bigint, camera_id bigint DEFAULT NULL)
RETURNS camera_health_api."image/jpeg"
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN camera_health.alert_evidence(alert_id, camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.alert_evidence(bigint, bigint) IS
'The picture of the frame that opened a vision alert, as image/jpeg (GET /health/camera/{id}/alerts/{alert_id}/evidence); 404 when there is none.';

CREATE FUNCTION camera_health_api.camera_pictures(camera_id bigint)
RETURNS TABLE (kind text, mode text, alert_id bigint, taken_at timestamptz, bytes integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	msg text; det text; hnt text;
BEGIN
	RETURN QUERY SELECT * FROM camera_health.camera_pictures(camera_id);
EXCEPTION WHEN no_data_found THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	PERFORM camera_health.http_not_found(msg, det, hnt);
END
$$;
COMMENT ON FUNCTION camera_health_api.camera_pictures(bigint) IS
'The pictures kept of a camera, without the pictures (GET /health/camera/{id}/pictures): kind, mode or alert, when taken, size.';

REVOKE ALL ON FUNCTION camera_health_api.camera_snapshot(bigint),
	camera_health_api.reference_picture(bigint, text),
	camera_health_api.alert_evidence(bigint, bigint),
	camera_health_api.camera_pictures(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	camera_health_api.camera_snapshot(bigint),
	camera_health_api.reference_picture(bigint, text),
	camera_health_api.alert_evidence(bigint, bigint),
	camera_health_api.camera_pictures(bigint)
	TO camera_health_reader;

-- pg_dump keeps an alert's evidence with the alert history.
SELECT pg_catalog.pg_extension_config_dump('camera_health.alert_evidence', '');
