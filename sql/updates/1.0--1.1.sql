/* camera_health--1.0--1.1.sql: upgrade a 1.0 install to 1.1 */

\echo Use "ALTER EXTENSION camera_health UPDATE TO '1.1'" to load this file. \quit

/*
 * Each change of 1.1 is one block below, headed by what it is for.  A fresh
 * 1.1 install (built from sql/) and a 1.0 install upgraded by this script
 * must end up with the same schema: test/test_upgrade.sh compares them.
 */

/*
 * mem (issue 8, 7c): the cameras_changed trigger names the camera id column
 * in its argument instead of assuming the first column is "id" (it is
 * camera_id in camera_references).
 */
DROP TRIGGER cameras_changed ON camera_health.cameras;
CREATE TRIGGER cameras_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.cameras
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('id');
DROP TRIGGER camera_references_changed ON camera_health.camera_references;
CREATE TRIGGER camera_references_changed
	AFTER INSERT OR UPDATE OR DELETE ON camera_health.camera_references
	FOR EACH ROW EXECUTE FUNCTION camera_health.cameras_changed('camera_id');
COMMENT ON FUNCTION camera_health.cameras_changed() IS
'Trigger: tells the scheduler, at commit, which cameras changed (the argument names the bigint column holding the camera id; without one, the first column).';
