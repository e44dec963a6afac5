/*
 * log_scrub.c
 *	  An emit_log_hook that masks camera credentials in every message.
 *
 * register_camera('10.0.0.5', 554, 'rtsp://admin:secret@10.0.0.5/') puts a
 * password in the statement text, and PostgreSQL copies statement text into
 * the server log (log_statement, log_min_duration_statement, the STATEMENT
 * line of an error) and into error details ("Failing row contains ...").
 * Masking at the one place every message passes through covers all of them,
 * including messages we do not write ourselves.  The fields are masked whole
 * (PostgreSQL does not shorten them); the free-text rules of common/url.c
 * also mask what others cut short, such as bind parameters shortened by
 * log_parameter_max_length.
 */
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"

#include "log_scrub.h"
#include "url.h"

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * A palloc'd copy of free text with its secrets masked.  Callers that
 * shorten a text shorten the result, never the input: mask, then truncate.
 */
char *
scrub_secrets(const char *text)
{
	char	   *out = palloc(MASK_SECRETS_BUFSIZE(strlen(text)));

	mask_secrets(text, out);
	return out;
}

/* A palloc'd copy of one whole URL (e.g. a stored rtsp_url) masked. */
char *
scrub_url(const char *url)
{
	char	   *out = palloc(MASK_SECRETS_BUFSIZE(strlen(url)));

	mask_url_secrets(url, out);
	return out;
}

static void
scrub_field(char **field)
{
	if (*field != NULL && has_secrets(*field))
		*field = scrub_secrets(*field);
}

static void
camera_health_emit_log(ErrorData *edata)
{
	scrub_field(&edata->message);
	scrub_field(&edata->detail);
	scrub_field(&edata->detail_log);
	scrub_field(&edata->hint);
	scrub_field(&edata->context);
	scrub_field(&edata->internalquery);

	/*
	 * The STATEMENT line is printed from debug_query_string, which a hook
	 * cannot rewrite: leave it out when it holds a credential.
	 */
	if (!edata->hide_stmt && debug_query_string != NULL &&
		has_secrets(debug_query_string))
		edata->hide_stmt = true;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
log_scrub_install(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = camera_health_emit_log;
}
