/*
 * redis.h
 *	  The workers' Redis connection: hiredis with timeouts, reconnection
 *	  with backoff, one log line per outage.
 */
#ifndef CAMERA_HEALTH_REDIS_H
#define CAMERA_HEALTH_REDIS_H

#include <hiredis/hiredis.h>

typedef struct RedisLink RedisLink;

extern RedisLink *redis_link_create(const char *who);

/*
 * Connected?  Connects when needed, at most as often as the backoff allows
 * (100 ms doubling to 5 s).  Never blocks longer than the connect timeout.
 */
extern bool redis_link_up(RedisLink *link);

/* Drop the connection (after camera_health.redis_url changed). */
extern void redis_link_reset(RedisLink *link);

/*
 * Run one command.  NULL when the connection failed (it is then closed and
 * the outage logged); an error reply is returned as such.
 */
extern redisReply *redis_run(RedisLink *link, const char *fmt,...);
extern redisReply *redis_runv(RedisLink *link, int argc, const char **argv, const size_t *argvlen);

/* Pipelining: queue commands with redis_queuev, then read their replies with redis_drain. */
extern void redis_queuev(RedisLink *link, int argc, const char **argv, const size_t *argvlen);

/*
 * Read and free n queued replies.  Error replies are logged, but for those
 * starting with expected_error (e.g. "BUSYGROUP"; NULL for none).  Returns
 * how many errors were logged, or -1 when the connection failed.
 */
extern int	redis_drain(RedisLink *link, int n, const char *expected_error);

/* A key with camera_health.key_prefix in front (palloc'd). */
extern char *redis_key(const char *fmt,...) pg_attribute_printf(1, 2);

/* Is this an error reply starting with the given code (e.g. "NOGROUP")? */
extern bool redis_is_error(const redisReply *reply, const char *code);

/*
 * A reply (or part of one) was not of the expected shape: count it and log
 * it at most once a minute per kind (a static string naming what was
 * wrong, e.g. "XREADGROUP: an entry is not [id, fields]").  The caller
 * drops what does not fit and carries on.
 */
extern void redis_malformed(RedisLink *link, const char *kind);

/*
 * Was a reply refused by the reader's size limits (and the connection
 * dropped) since the last call?  Clears the flag.
 */
extern bool redis_link_limit_hit(RedisLink *link);

#endif							/* CAMERA_HEALTH_REDIS_H */
