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

char	   *camera_health_database = NULL;
char	   *camera_health_redis_url = NULL;
char	   *camera_health_key_prefix = NULL;
int			camera_health_default_log_retention = 30 * 86400;

/* Retention bounds in seconds; the SQL API and the log_retention table agree. */
#define MIN_RETENTION_S 3600
#define MAX_RETENTION_S (3650 * 86400)

static bool
check_redis_url(char **newval, void **extra, GucSource source)
{
	if (strncmp(*newval, "redis://", 8) != 0 && strncmp(*newval, "unix://", 7) != 0)
	{
		GUC_check_errdetail("camera_health.redis_url must start with redis:// or unix://.");
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

	MarkGUCPrefixReserved("camera_health");
}
