/*
 * sql_funcs.c
 *	  Small SQL-callable helpers used by the install script.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "guc.h"
#include "log_scrub.h"
#include "shmem.h"
#include "url.h"

PG_FUNCTION_INFO_V1(ch_mask_url);
PG_FUNCTION_INFO_V1(ch_mask_text);
PG_FUNCTION_INFO_V1(ch_url_origin);
PG_FUNCTION_INFO_V1(ch_valid_camera_url);
PG_FUNCTION_INFO_V1(ch_url_problem);
PG_FUNCTION_INFO_V1(ch_default_log_retention);
PG_FUNCTION_INFO_V1(ch_default_trend_retention);
PG_FUNCTION_INFO_V1(ch_request_retention_run);

/* mask_url(url text) RETURNS text: one whole URL with its credentials masked */
Datum
ch_mask_url(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text(scrub_url(url)));
}

/* mask_text(t text) RETURNS text: every URL's credentials in free text masked */
Datum
ch_mask_text(PG_FUNCTION_ARGS)
{
	char	   *t = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text(scrub_secrets(t)));
}

/*
 * url_origin(url text) RETURNS text: "scheme://host" of a URL, or NULL
 * without a plausible scheme; what an error about a refused URL may show.
 */
Datum
ch_url_origin(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		origin[300];

	if (url_origin(url, origin, sizeof(origin)) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(origin));
}

/* valid_camera_url(url text) RETURNS boolean: used by a CHECK constraint */
Datum
ch_valid_camera_url(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(camera_url_is_valid(url, NULL));
}

/* url_problem(url text) RETURNS text: why the URL is refused, or NULL */
Datum
ch_url_problem(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *reason;

	if (camera_url_is_valid(url, &reason))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}

/* default_log_retention() RETURNS interval: camera_health.default_log_retention */
Datum
ch_default_log_retention(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->day = camera_health_default_log_retention / SECS_PER_DAY;
	result->time = (int64) (camera_health_default_log_retention % SECS_PER_DAY) * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}

/* default_trend_retention() RETURNS interval: camera_health.default_trend_retention */
Datum
ch_default_trend_retention(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->day = camera_health_default_trend_retention / SECS_PER_DAY;
	result->time = (int64) (camera_health_default_trend_retention % SECS_PER_DAY) * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}

/*
 * request_retention_run() RETURNS bigint: asks the retention worker for a
 * pass and waits for it to finish (cancellable), so that a DBA's pass runs
 * in the same short transactions as the scheduled ones.
 */
Datum
ch_request_retention_run(PG_FUNCTION_ARGS)
{
	uint64		target = 0;
	Latch	   *latch;
	int64		run_id;

	if (ch_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the camera_health retention worker is not running"),
				 errhint("Add camera_health to shared_preload_libraries and restart the server.")));

	SpinLockAcquire(&ch_shared->mutex);
	latch = ch_shared->retention_latch;
	if (latch != NULL && ch_shared->database_oid == MyDatabaseId)
		target = ++ch_shared->retention_requested;
	SpinLockRelease(&ch_shared->mutex);
	if (latch == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the camera_health retention worker is not running"),
				 errhint("It starts with the server; see the server log.")));
	if (ch_shared->database_oid != MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("retention runs in database \"%s\", not here", camera_health_database),
				 errhint("Call run_retention() in the database named by camera_health.database.")));
	SetLatch(latch);

	for (;;)
	{
		bool		done;

		SpinLockAcquire(&ch_shared->mutex);
		done = ch_shared->retention_served >= target;
		run_id = ch_shared->retention_last_run;
		SpinLockRelease(&ch_shared->mutex);
		if (done)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_INT64(run_id);
}
