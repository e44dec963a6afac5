-- Per-camera retention of history.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

-- without a policy the default applies (updated_at NULL says so)
SHOW camera_health.default_log_retention;
SELECT camera_id, retention, updated_at FROM get_log_retention(1);
SELECT camera_id, retention, updated_at IS NOT NULL AS has_policy FROM set_log_retention(1, '14 days');
SELECT camera_id, retention, updated_at IS NOT NULL AS has_policy FROM get_log_retention(1);
-- setting again replaces the policy
SELECT camera_id, retention FROM set_log_retention(1, '36 hours');
SELECT camera_id, retention FROM set_log_retention(camera_id => 2, retention => '1 hour');
SELECT camera_id, retention FROM log_retention ORDER BY camera_id;
-- the default is server-wide (postgresql.conf), not per session
SET camera_health.default_log_retention = '7d';
\echo :SQLSTATE
SELECT setting, unit, context, min_val, max_val FROM pg_settings WHERE name = 'camera_health.default_log_retention';

-- passes run in the workers' database only, through the retention worker
-- (only the SQLSTATE: the message names camera_health.database, or says that
-- the worker is not running when that database does not exist)
\set VERBOSITY sqlstate
SELECT run_retention();
\set VERBOSITY default
-- partitions ahead: 0 to 60 days
SELECT create_partitions(-1);
\echo :SQLSTATE
SELECT create_partitions(61);
\echo :SQLSTATE
SELECT create_partitions(1) AS created, create_partitions(1) AS created_again;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'camera_health.check_history'::regclass;
SELECT count(*) AS expired FROM expired_partitions(now() + interval '10 days');
SELECT count(*) AS expired FROM expired_partitions(now() - interval '1 day');
-- an insert never fails for lack of a partition
INSERT INTO health_logs (camera_id, check_type, status, created_at) VALUES (1, 'ip', 'ok', now() - interval '3 years');
SELECT packed >= 1 AS packed FROM pack_history();
SELECT tableoid::regclass FROM check_history WHERE hour < now() - interval '2 years';
