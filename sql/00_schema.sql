
/*
 * Roles.  They are cluster-wide, so they may already exist from an install
 * in another database.  camera_health_reader may read everything but camera
 * credentials; camera_health_writer (a member of reader) may also change
 * cameras, retention and alerts, and sees credentials in full.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'camera_health_reader') THEN
		CREATE ROLE camera_health_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'camera_health_writer') THEN
		CREATE ROLE camera_health_writer NOLOGIN IN ROLE camera_health_reader;
	END IF;
END
$roles$;

COMMENT ON SCHEMA camera_health IS 'Health monitoring of IP cameras: the camera_health extension.';
GRANT USAGE ON SCHEMA camera_health TO camera_health_reader;

