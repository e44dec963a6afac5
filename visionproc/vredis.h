/*
 * vredis.h
 *	  visionproc's Redis connection: hiredis with timeouts, reconnection
 *	  with backoff and one log line per outage (as the server's workers).
 */
#ifndef VISIONPROC_VREDIS_H
#define VISIONPROC_VREDIS_H

#include <stdbool.h>
#include <hiredis/hiredis.h>

#include "redis_url.h"

typedef struct VRedis
{
	RedisUrl	url;
	char		display_url[1600];	/* masked, for the log */
	char		prefix[128];
	redisContext *ctx;
	int			backoff_ms;
	double		retry_at_ms;
	bool		outage_logged;
} VRedis;

/* false (and *reason) for a malformed URL */
extern bool vredis_init(VRedis *r, const char *url, const char *prefix, const char **reason);

/* Connected?  Connects when needed and the backoff allows. */
extern bool vredis_up(VRedis *r);

/* One command; NULL on a connection failure (then logged and closed). */
extern redisReply *vredis_cmdv(VRedis *r, int argc, const char **argv, const size_t *lens);

/* prefix + name in buf */
extern const char *vredis_key(const VRedis *r, char *buf, size_t size, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Is reply an error whose text starts with code (e.g. "NOGROUP")? */
extern bool vredis_is_error(const redisReply *reply, const char *code);

/* The text of an error reply (NUL-terminated, no NUL inside), else NULL. */
extern const char *vredis_error_text(const redisReply *reply);

#endif							/* VISIONPROC_VREDIS_H */
