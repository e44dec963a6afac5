/*
 * guc.c
 *	  Definitions of camera_health's GUCs.
 *
 * What the workers need to find each other is PGC_POSTMASTER; what an
 * operator tunes while running is PGC_SIGHUP.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "guc.h"
#include "redis_url.h"

char	   *camera_health_database = NULL;
char	   *camera_health_redis_url = NULL;
char	   *camera_health_key_prefix = NULL;
int			camera_health_default_log_retention = 30 * 86400;
int			camera_health_ip_timeout = 1000;
int			camera_health_port_timeout = 2000;
double		camera_health_high_latency = 500;
int			camera_health_max_probes = 4096;
int			camera_health_alert_open_after = 3;
int			camera_health_alert_resolve_after = 2;
int			camera_health_retention_interval = 300;
int			camera_health_retention_batch_size = 10000;
int			camera_health_retention_history = 7 * 86400;

/* Retention bounds in seconds; the SQL API and the log_retention table agree. */
#define MIN_RETENTION_S 3600
#define MAX_RETENTION_S (3650 * 86400)

static bool
check_redis_url(char **newval, void **extra, GucSource source)
{
	RedisUrl	parsed;
	const char *reason;

	if (!redis_url_parse(*newval, &parsed, &reason))
	{
		GUC_check_errdetail("camera_health.redis_url: %s.", reason);
		GUC_check_errhint("For example redis://127.0.0.1:6379/0 or unix:///run/redis/redis.sock.");
		return false;
	}
	return true;
}

static void
define_postmaster_gucs(void)
{
	DefineCustomStringVariable("camera_health.database",
							   "Database in which the camera_health workers run.",
							   "The extension must be created in this database.",
							   &camera_health_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("camera_health.key_prefix",
							   "Prefix of every Redis key camera_health uses.",
							   "Lets several clusters share one Redis.",
							   &camera_health_key_prefix,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.max_probes",
							"Network probes the prober runs at the same time.",
							"Each TCP probe holds a file descriptor; the prober raises its limit as far as the system allows.",
							&camera_health_max_probes,
							4096, 16, 65535,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

void
camera_health_define_gucs(void)
{
	/*
	 * PGC_POSTMASTER parameters can only be defined while preloading; without
	 * preload there are no workers to use them.
	 */
	if (process_shared_preload_libraries_in_progress)
		define_postmaster_gucs();

	/* may hold a Redis password: only superusers may read it */
	DefineCustomStringVariable("camera_health.redis_url",
							   "Redis server the workers and visionproc share.",
							   "redis://[:password@]host[:port][/db] or unix:///path/to/socket.",
							   &camera_health_redis_url,
							   "redis://127.0.0.1:6379/0",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_redis_url, NULL, NULL);

	DefineCustomIntVariable("camera_health.default_log_retention",
							"How long health logs are kept for cameras without a retention policy.",
							NULL,
							&camera_health_default_log_retention,
							30 * 86400,
							MIN_RETENTION_S, MAX_RETENTION_S,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.ip_timeout",
							"How long the ip check waits for an echo reply (or TCP handshake).",
							NULL,
							&camera_health_ip_timeout,
							1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.port_timeout",
							"How long the port check waits for a TCP connection.",
							NULL,
							&camera_health_port_timeout,
							2000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("camera_health.high_latency",
							 "Round-trip time above which the ip check warns (alert high_latency).",
							 NULL,
							 &camera_health_high_latency,
							 500, 0.001, 60000,
							 PGC_SIGHUP, GUC_UNIT_MS,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.alert_open_after",
							"Failing checks in a row that open an alert.",
							NULL,
							&camera_health_alert_open_after,
							3, 1, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.alert_resolve_after",
							"Passing checks in a row that resolve an open alert.",
							NULL,
							&camera_health_alert_resolve_after,
							2, 1, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.retention_interval",
							"Time between two passes of the retention worker.",
							NULL,
							&camera_health_retention_interval,
							300, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.retention_batch_size",
							"Rows the retention worker deletes per transaction.",
							"Small batches keep transactions, locks and WAL bursts short.",
							&camera_health_retention_batch_size,
							10000, 100, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.retention_history",
							"How long camera_health.retention_runs keeps the record of a pass.",
							NULL,
							&camera_health_retention_history,
							7 * 86400, 3600, 3650 * 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("camera_health");
}
