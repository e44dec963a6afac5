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
#include "redis_reply.h"
#include "redis_url.h"

#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/*
 * What one reply may hold (ch_reply_limit_reader): the largest legitimate
 * ones are a full ZRANGE of a schedule (one member per camera) and a batch
 * of vision results carrying reference frames of up to 4 MB each.
 */
#define REPLY_MAX_ELEMENTS (1024 * 1024)
#define REPLY_MAX_STR (8 * 1024 * 1024)
#define REPLY_MAX_TOTAL ((size_t) 256 * 1024 * 1024)
/* (their values are spelled out in note_failure's log line too) */

#define MALFORMED_LOG_EVERY_MS 60000
#define MALFORMED_KINDS 16

struct RedisLink
{
	const char *who;			/* the worker, for log lines */
	redisContext *ctx;			/* NULL while disconnected */
	char	   *url;			/* camera_health.redis_url when ctx connected */
	int			backoff_ms;
	TimestampTz retry_at;
	bool		outage_logged;
	ChReplyLimits limits;		/* of the current connection's reader */
	bool		limit_hit;		/* a reply was refused since last asked */
	/* malformed replies, logged once per kind and minute */
	const char *malformed_kind[MALFORMED_KINDS];
	int64		malformed_count[MALFORMED_KINDS];
	TimestampTz malformed_logged[MALFORMED_KINDS];
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

/*
 * Close the connection and log the outage (once).  why may point into the
 * context (its errstr), so it is copied before the context is freed.
 */
static void
note_failure(RedisLink *link, const char *why)
{
	char		reason[256];

	strlcpy(reason, why ? why : "unknown error", sizeof(reason));
	if (link->ctx != NULL && (link->limits.exceeded || link->ctx->err == REDIS_ERR_PROTOCOL))
	{
		/*
		 * Not an outage but a reply we will not read: logged as malformed
		 * (rate-limited), and the connection closed, for there is no
		 * telling where the next reply starts.
		 */
		redis_malformed(link, link->limits.exceeded ?
						"a reply exceeded the size limits (1048576 elements per array, "
						"8 MB per string, 256 MB in all); the connection was closed" :
						"a reply that is not RESP (protocol error); the connection was closed");
		link->limit_hit = link->limits.exceeded;
		link->limits.exceeded = false;
		redisFree(link->ctx);
		link->ctx = NULL;
		link->backoff_ms = link->backoff_ms == 0 ? BACKOFF_MIN_MS :
			Min(link->backoff_ms * 2, BACKOFF_MAX_MS);
		link->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), link->backoff_ms);
		return;
	}
	if (link->ctx != NULL)
	{
		redisFree(link->ctx);
		link->ctx = NULL;
	}
	if (!link->outage_logged)
	{
		ereport(LOG,
				(errmsg("camera_health %s: Redis at %s is unavailable: %s",
						link->who, scrub_url(camera_health_redis_url), reason),
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
			note_failure(link, reply ? (ch_reply_error(reply, 200) ? ch_reply_error(reply, 200) : "SELECT failed")
						 : link->ctx->errstr);
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

	/*
	 * A changed camera_health.redis_url takes effect here, whichever way
	 * the worker handled the SIGHUP.
	 */
	if (link->ctx != NULL && link->url != NULL && strcmp(link->url, camera_health_redis_url) != 0)
		redis_link_reset(link);
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
	link->limits.max_elements = REPLY_MAX_ELEMENTS;
	link->limits.max_str = REPLY_MAX_STR;
	link->limits.max_total = REPLY_MAX_TOTAL;
	link->limits.exceeded = false;
	ch_reply_limit_reader(link->ctx->reader, &link->limits);
	tv = ms_to_timeval(COMMAND_TIMEOUT_MS);
	if (redisSetTimeout(link->ctx, tv) != REDIS_OK)
	{
		note_failure(link, "cannot set the command timeout");
		return false;
	}
	if (!prepare_connection(link, &url))
		return false;
	if (link->url != NULL)
		pfree(link->url);
	link->url = MemoryContextStrdup(TopMemoryContext, camera_health_redis_url);

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
			const char *msg = ch_reply_error(reply, 1000);

			ereport(LOG, (errmsg("camera_health %s: Redis error: %s", link->who,
								 msg ? msg : "(unprintable)")));
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
	size_t		len = strlen(code);

	return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
		reply->len >= len && strncmp(reply->str, code, len) == 0;
}

void
redis_malformed(RedisLink *link, const char *kind)
{
	TimestampTz now = GetCurrentTimestamp();
	int			k;

	for (k = 0; k < MALFORMED_KINDS && link->malformed_kind[k] != NULL; k++)
		if (strcmp(link->malformed_kind[k], kind) == 0)
			break;
	if (k == MALFORMED_KINDS)
		k = MALFORMED_KINDS - 1;	/* more kinds than slots: they share the last */
	else if (link->malformed_kind[k] == NULL)
		link->malformed_kind[k] = kind;
	link->malformed_count[k]++;
	if (link->malformed_logged[k] != 0 &&
		!TimestampDifferenceExceeds(link->malformed_logged[k], now, MALFORMED_LOG_EVERY_MS))
		return;
	ereport(LOG,
			(errmsg("camera_health %s: dropped " INT64_FORMAT " malformed Redis replies: %s",
					link->who, link->malformed_count[k], kind),
			 errdetail("A reply was not of the type or size expected; it was ignored."),
			 errhint("Check that camera_health.redis_url names the Redis of this cluster, and that nothing else writes its keys.")));
	link->malformed_count[k] = 0;
	link->malformed_logged[k] = now;
}

bool
redis_link_limit_hit(RedisLink *link)
{
	bool		hit = link->limit_hit;

	link->limit_hit = false;
	return hit;
}
