/* ------------------------------------------------------------------------
 * Day and night (issue 11): a reference frame per lighting mode
 *
 * A camera that switches to infrared at night sees a grey, noisier,
 * differently lit picture: judged against its colour reference it would
 * look blurred, covered or moved every evening.  So a camera keeps one
 * reference per mode; visionproc tells the mode of each frame from its
 * colour, judges it against the reference of that mode, and takes the
 * first good frame of a mode as that mode's reference.  The scheduler
 * mirrors every mode into Redis: reference:{id} for day (the key of 1.0),
 * reference:{id}:ir for infrared.  References of 1.0 become day ones.
 * ------------------------------------------------------------------------ */

CREATE DOMAIN camera_health.camera_mode AS text
	CHECK (VALUE IN ('day', 'ir'));
COMMENT ON DOMAIN camera_health.camera_mode IS
'A camera''s lighting mode: day (a colour picture) or ir (infrared, a grey picture: at night). Each mode has a reference frame of its own.';

ALTER TABLE camera_health.camera_references
	ADD COLUMN mode camera_health.camera_mode NOT NULL DEFAULT 'day';
ALTER TABLE camera_health.camera_references
	DROP CONSTRAINT camera_references_pkey,
	ADD CONSTRAINT camera_references_pkey PRIMARY KEY (camera_id, mode);
COMMENT ON TABLE camera_health.camera_references IS
'The reference frames of each camera, one per lighting mode, against which blur, obstruction and displacement of the frames of that mode are judged.';
COMMENT ON COLUMN camera_health.camera_references.mode IS
'The lighting mode the frame was taken in (day or ir); the references of version 1.0 are day ones.';

COMMENT ON FUNCTION camera_health.reset_reference(bigint) IS
'Drops the camera''s reference frames of every lighting mode (day and ir): the next good frame of each mode becomes its new one (after re-aiming or re-focusing a camera). True when there was at least one.';
COMMENT ON FUNCTION camera_health_api.reset_reference(bigint) IS
'Drops the camera''s reference frames of every lighting mode (day and ir), so that the next good frame of each mode becomes its new one (after re-aiming or re-focusing); reference_dropped says whether there was at least one.';
