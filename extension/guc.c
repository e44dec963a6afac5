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
int			camera_health_default_trend_retention = 400 * 86400;
int			camera_health_ip_timeout = 1000;
int			camera_health_port_timeout = 2000;
double		camera_health_high_latency = 500;
int			camera_health_max_probes = 4096;
int			camera_health_alert_open_after = 3;
int			camera_health_alert_resolve_after = 2;
int			camera_health_retention_interval = 300;
int			camera_health_retention_batch_size = 10000;
int			camera_health_retention_history = 7 * 86400;
int			camera_health_notify_group_wait = 30;
char	   *camera_health_notify_base_url = NULL;
int			camera_health_notify_timeout = 10000;
int			camera_health_notify_connect_timeout = 5000;
int			camera_health_notify_max_in_flight = 1;
int			camera_health_notify_retry_max = 60;
int			camera_health_notify_max_age = 86400;
int			camera_health_notify_log_retention = 7 * 86400;

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

/* The notifier's (bgworker/notifier.c); plan_notifications() reads group_wait and base_url. */
static void
define_notify_gucs(void)
{
	DefineCustomIntVariable("camera_health.notify_group_wait",
							"How long alerts of one channel and site are gathered into one notification.",
							"The first alert of a group waits this long; all that open meanwhile go out with it.",
							&camera_health_notify_group_wait,
							30, 0, 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("camera_health.notify_base_url",
							   "Prefix of the camera links in notifications, e.g. https://cameras.example.com.",
							   "Empty: links are relative (/health/camera/{id}).",
							   &camera_health_notify_base_url,
							   "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_timeout",
							"How long one delivery may take in all before it counts as failed.",
							NULL,
							&camera_health_notify_timeout,
							10000, 100, 300000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_connect_timeout",
							"How long a delivery waits for its connection.",
							NULL,
							&camera_health_notify_connect_timeout,
							5000, 100, 300000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_max_in_flight",
							"Deliveries to one channel at the same time.",
							"1 delivers a channel's notifications strictly one after the other, in order.",
							&camera_health_notify_max_in_flight,
							1, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_retry_max",
							"The longest wait between two attempts to deliver a notification (backoff 1 s, 2 s, 4 s, ...).",
							NULL,
							&camera_health_notify_retry_max,
							60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_max_age",
							"How long a notification is retried before it is set aside as failed.",
							NULL,
							&camera_health_notify_max_age,
							86400, 60, 30 * 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("camera_health.notify_log_retention",
							"How long the delivery log, delivered notifications and alert events are kept.",
							NULL,
							&camera_health_notify_log_retention,
							7 * 86400, MIN_RETENTION_S, MAX_RETENTION_S,
							PGC_SIGHUP, GUC_UNIT_S,
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

	DefineCustomIntVariable("camera_health.default_trend_retention",
							"How long hourly trends are kept for cameras without a trend retention policy.",
							NULL,
							&camera_health_default_trend_retention,
							400 * 86400,
							86400, MAX_RETENTION_S,
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

	define_notify_gucs();

	MarkGUCPrefixReserved("camera_health");
}
