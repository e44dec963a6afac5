/* camera_health--1.0--1.1.sql: upgrade a 1.0 install to 1.1 */

\echo Use "ALTER EXTENSION camera_health UPDATE TO '1.1'" to load this file. \quit

/*
 * Each change of 1.1 is one block below, headed by what it is for.  A fresh
 * 1.1 install (built from sql/) and a 1.0 install upgraded by this script
 * must end up with the same schema: test/test_upgrade.sh compares them.
 */

/* ---- Privileges: readers no longer see camera imagery (issue 8) ---------- */
-- 1.0 granted camera_health_reader SELECT on the reference frames
REVOKE SELECT ON camera_health.camera_references FROM camera_health_reader;

/* ---- search_path pinned in every SQL function (issue 8) ------------------- */
-- the two SQL functions of 1.0 without one; the rest had it already
ALTER FUNCTION camera_health.is_camera_address(inet) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION camera_health.may_see_secrets() SET search_path = pg_catalog, pg_temp;
-- pinned, may_see_secrets() is no longer inlined: camera_list calls it once
-- per query instead of once per row (as in sql/03_checks.sql)
CREATE OR REPLACE VIEW camera_health.camera_list AS
SELECT c.id, c.name, c.ip_address, c.port,
	   CASE WHEN (SELECT camera_health.may_see_secrets()) THEN c.rtsp_url
			ELSE camera_health.mask_url(c.rtsp_url) END AS rtsp_url,
	   c.interval_ip, c.interval_port, c.interval_vision, c.enabled,
	   c.created_at, c.updated_at
FROM camera_health.cameras c;
