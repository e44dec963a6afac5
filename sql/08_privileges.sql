/* ------------------------------------------------------------------------
 * Privileges: nothing for PUBLIC; readers read, writers write through the API
 * ------------------------------------------------------------------------ */

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA camera_health FROM PUBLIC;

-- not camera_references: the reference frames are camera imagery, which
-- readers (PostgREST's anonymous role) must not see
GRANT SELECT ON camera_health.camera_list, camera_health.health_logs, camera_health.camera_latency,
	camera_health.camera_status, camera_health.alerts, camera_health.log_retention
	TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.mask_url(text),
	camera_health.may_see_secrets(),
	camera_health.default_log_retention(),
	camera_health.require_camera(bigint),
	camera_health.check_max_rows(integer),
	camera_health.get_camera(bigint),
	camera_health.list_cameras(text, text),
	camera_health.export_cameras(),
	camera_health.camera_defaults(),
	camera_health.camera_logs(bigint, text, timestamptz, integer),
	camera_health.camera_alerts(bigint, boolean, integer),
	camera_health.get_log_retention(bigint)
	TO camera_health_reader;
GRANT SELECT ON camera_health.retention_runs TO camera_health_reader;
GRANT EXECUTE ON FUNCTION
	camera_health.register_camera(inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.register_cameras(jsonb),
	camera_health.cameras_from_csv(text),
	camera_health.update_camera(bigint, inet, integer, text, integer, integer, integer, text, text, text[]),
	camera_health.delete_camera(bigint),
	camera_health.set_camera_enabled(bigint, boolean),
	camera_health.acknowledge_alert(bigint),
	camera_health.set_log_retention(bigint, interval),
	camera_health.reset_reference(bigint)
	TO camera_health_writer;

-- dead letters: read by health_summary() (SECURITY DEFINER) only
REVOKE ALL ON camera_health.dead_letters, camera_health.dead_letters_id_seq FROM PUBLIC;
