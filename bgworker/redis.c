/*
 * redis.c
 *	  The workers' Redis connection (see redis.h).
 *
 * Every call has a timeout: a Redis that hangs costs a worker at most a few
 * seconds, and a Redis that is down costs one log line per outage while the
 * workers carry on (and keep answering SIGTERM).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "log_scrub.h"
#include "redis.h"
#include "redis_url.h"

#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct RedisLink
{
	const char *who;			/* the worker, for log lines */
	redisContext *ctx;			/* NULL while disconnected */
	int			backoff_ms;
	TimestampTz retry_at;
	bool		outage_logged;
};

RedisLink *
redis_link_create(const char *who)
{
	RedisLink  *link = MemoryContextAllocZero(TopMemoryContext, sizeof(RedisLink));

	link->who = who;
	return link;
}

static struct timeval
ms_to_timeval(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

static void
note_failure(RedisLink *link, const char *why)
{
	if (link->ctx != NULL)
	{
		redisFree(link->ctx);
		link->ctx = NULL;
	}
	if (!link->outage_logged)
	{
		ereport(LOG,
				(errmsg("camera_health %s: Redis at %s is unavailable: %s",
						link->who, scrub_url(camera_health_redis_url), why),
				 errdetail("Retrying with backoff; checks are delayed until Redis is back.")));
		link->outage_logged = true;
	}
	link->backoff_ms = link->backoff_ms == 0 ? BACKOFF_MIN_MS :
		Min(link->backoff_ms * 2, BACKOFF_MAX_MS);
	link->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), link->backoff_ms);
}

/* AUTH and SELECT on a fresh connection; false (and logged) on failure. */
static bool
prepare_connection(RedisLink *link, const RedisUrl *url)
{
	redisReply *reply = NULL;

	if (url->password[0] != '\0')
	{
		if (url->user[0] != '\0')
			reply = redisCommand(link->ctx, "AUTH %s %s", url->user, url->password);
		else
			reply = redisCommand(link->ctx, "AUTH %s", url->password);
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		{
			note_failure(link, reply ? "authentication failed" : link->ctx->errstr);
			if (reply)
				freeReplyObject(reply);
			return false;
		}
		freeReplyObject(reply);
	}
	if (url->db != 0)
	{
		reply = redisCommand(link->ctx, "SELECT %d", url->db);
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		{
			note_failure(link, reply ? reply->str : link->ctx->errstr);
			if (reply)
				freeReplyObject(reply);
			return false;
		}
		freeReplyObject(reply);
	}
	return true;
}

bool
redis_link_up(RedisLink *link)
{
	RedisUrl	url;
	const char *reason;
	struct timeval tv = ms_to_timeval(CONNECT_TIMEOUT_MS);

	if (link->ctx != NULL)
		return true;
	if (GetCurrentTimestamp() < link->retry_at)
		return false;

	/* the GUC check hook has validated it */
	if (!redis_url_parse(camera_health_redis_url, &url, &reason))
	{
		note_failure(link, reason);
		return false;
	}
	if (url.unix_socket)
		link->ctx = redisConnectUnixWithTimeout(url.host, tv);
	else
		link->ctx = redisConnectWithTimeout(url.host, url.port, tv);
	if (link->ctx == NULL || link->ctx->err)
	{
		note_failure(link, link->ctx ? link->ctx->errstr : "out of memory");
		return false;
	}
	tv = ms_to_timeval(COMMAND_TIMEOUT_MS);
	if (redisSetTimeout(link->ctx, tv) != REDIS_OK)
	{
		note_failure(link, "cannot set the command timeout");
		return false;
	}
	if (!prepare_connection(link, &url))
		return false;

	if (link->outage_logged)
		ereport(LOG, (errmsg("camera_health %s: connected to Redis again", link->who)));
	link->outage_logged = false;
	link->backoff_ms = 0;
	return true;
}

void
redis_link_reset(RedisLink *link)
{
	if (link->ctx != NULL)
		redisFree(link->ctx);
	link->ctx = NULL;
	link->retry_at = 0;
}

redisReply *
redis_run(RedisLink *link, const char *fmt,...)
{
	va_list		ap;
	redisReply *reply;

	if (!redis_link_up(link))
		return NULL;
	va_start(ap, fmt);
	reply = redisvCommand(link->ctx, fmt, ap);
	va_end(ap);
	if (reply == NULL)
		note_failure(link, link->ctx->errstr);
	return reply;
}

redisReply *
redis_runv(RedisLink *link, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *reply;

	if (!redis_link_up(link))
		return NULL;
	reply = redisCommandArgv(link->ctx, argc, argv, argvlen);
	if (reply == NULL)
		note_failure(link, link->ctx->errstr);
	return reply;
}

void
redis_queuev(RedisLink *link, int argc, const char **argv, const size_t *argvlen)
{
	if (link->ctx != NULL)
		redisAppendCommandArgv(link->ctx, argc, argv, argvlen);
}

static redisReply *
redis_next_reply(RedisLink *link)
{
	void	   *reply = NULL;

	if (link->ctx == NULL)
		return NULL;
	if (redisGetReply(link->ctx, &reply) != REDIS_OK)
	{
		note_failure(link, link->ctx->errstr);
		return NULL;
	}
	return reply;
}

int
redis_drain(RedisLink *link, int n, const char *expected_error)
{
	int			errors = 0;

	for (int i = 0; i < n; i++)
	{
		redisReply *reply = redis_next_reply(link);

		if (reply == NULL)
			return -1;
		if (reply->type == REDIS_REPLY_ERROR &&
			!(expected_error && redis_is_error(reply, expected_error)))
		{
			ereport(LOG, (errmsg("camera_health %s: Redis error: %s", link->who, reply->str)));
			errors++;
		}
		freeReplyObject(reply);
	}
	return errors;
}

char *
redis_key(const char *fmt,...)
{
	va_list		ap;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, camera_health_key_prefix);
	for (;;)
	{
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	return buf.data;
}

bool
redis_is_error(const redisReply *reply, const char *code)
{
	return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
		strncmp(reply->str, code, strlen(code)) == 0;
}
