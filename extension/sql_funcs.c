/*
 * sql_funcs.c
 *	  Small SQL-callable helpers used by the install script.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "log_scrub.h"
#include "url.h"

PG_FUNCTION_INFO_V1(ch_mask_url);
PG_FUNCTION_INFO_V1(ch_valid_camera_url);
PG_FUNCTION_INFO_V1(ch_url_problem);
PG_FUNCTION_INFO_V1(ch_default_log_retention);

/* mask_url(url text) RETURNS text: the URL with its credentials masked */
Datum
ch_mask_url(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text(scrub_secrets(url)));
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
