/*
 * vredis.c
 *	  visionproc's Redis connection (see vredis.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "monotonic.h"
#include "url.h"
#include "vredis.h"

#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

bool
vredis_init(VRedis *r, const char *url, const char *prefix, const char **reason)
{
	char		masked[MASK_SECRETS_BUFSIZE(512)];

	memset(r, 0, sizeof(*r));
	if (strlen(url) >= 512 || strlen(prefix) >= sizeof(r->prefix))
	{
		*reason = "too long";
		return false;
	}
	if (!redis_url_parse(url, &r->url, reason))
		return false;
	mask_url_secrets(url, masked);
	snprintf(r->display_url, sizeof(r->display_url), "%s", masked);
	snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
	return true;
}

/*
 * The connection failed: close it, log the outage once, back off.  why may
 * point into r->ctx (its errstr) or a reply: it is copied before the
 * context is freed.
 */
static void
note_failure(VRedis *r, const char *why)
{
	char		reason[256];

	snprintf(reason, sizeof(reason), "%s", why ? why : "unknown error");
	if (r->ctx)
	{
		redisFree(r->ctx);
		r->ctx = NULL;
	}
	if (!r->outage_logged)
	{
		vlog("Redis at %s is unavailable: %s; retrying", r->display_url, reason);
		r->outage_logged = true;
	}
	r->backoff_ms = r->backoff_ms ? (r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2)
		: BACKOFF_MIN_MS;
	r->retry_at_ms = now_ms() + r->backoff_ms;
}

static bool
simple_command(VRedis *r, const char *fmt, const char *a, const char *b)
{
	redisReply *reply = b ? redisCommand(r->ctx, fmt, a, b) : redisCommand(r->ctx, fmt, a);
	bool		ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

	if (!ok)
	{
		const char *why = vredis_error_text(reply);

		note_failure(r, reply ? (why ? why : "an unexpected reply") : r->ctx->errstr);
	}
	if (reply)
		freeReplyObject(reply);
	return ok;
}

bool
vredis_up(VRedis *r)
{
	struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
	struct timeval cmd = {COMMAND_TIMEOUT_MS / 1000, (COMMAND_TIMEOUT_MS % 1000) * 1000};
	char		db[16];

	if (r->ctx)
		return true;
	if (now_ms() < r->retry_at_ms)
		return false;
	r->ctx = r->url.unix_socket ? redisConnectUnixWithTimeout(r->url.host, tv)
		: redisConnectWithTimeout(r->url.host, r->url.port, tv);
	if (r->ctx == NULL || r->ctx->err)
	{
		note_failure(r, r->ctx ? r->ctx->errstr : "out of memory");
		return false;
	}
	redisSetTimeout(r->ctx, cmd);
	if (r->url.password[0])
	{
		if (r->url.user[0] ? !simple_command(r, "AUTH %s %s", r->url.user, r->url.password)
			: !simple_command(r, "AUTH %s", r->url.password, NULL))
			return false;
	}
	snprintf(db, sizeof(db), "%d", r->url.db);
	if (r->url.db != 0 && !simple_command(r, "SELECT %s", db, NULL))
		return false;
	if (r->outage_logged)
		vlog("connected to Redis again");
	r->outage_logged = false;
	r->backoff_ms = 0;
	return true;
}

redisReply *
vredis_cmdv(VRedis *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply;

	if (!vredis_up(r))
		return NULL;
	reply = redisCommandArgv(r->ctx, argc, argv, lens);
	if (reply == NULL)
		note_failure(r, r->ctx->errstr);
	return reply;
}

const char *
vredis_key(const VRedis *r, char *buf, size_t size, const char *fmt,...)
{
	va_list		ap;
	size_t		n = snprintf(buf, size, "%s", r->prefix);

	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	return buf;
}

bool
vredis_is_error(const redisReply *reply, const char *code)
{
	const char *text = vredis_error_text(reply);

	return text != NULL && strncmp(text, code, strlen(code)) == 0;
}

const char *
vredis_error_text(const redisReply *reply)
{
	/* ch_reply_str takes strings and statuses only: errors are read here */
	if (reply == NULL || reply->type != REDIS_REPLY_ERROR || reply->str == NULL ||
		memchr(reply->str, '\0', reply->len) != NULL)
		return NULL;
	return reply->str;
}
