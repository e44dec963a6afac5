/*
 * redis_url.h
 *	  Parsing of camera_health.redis_url / visionproc --redis.  Plain C.
 *
 *	  redis://[[user]:password@]host[:port][/db]
 *	  unix:///path/to/redis.sock[?db=N]
 */
#ifndef CAMERA_HEALTH_REDIS_URL_H
#define CAMERA_HEALTH_REDIS_URL_H

#include <stdbool.h>

typedef struct RedisUrl
{
	bool		unix_socket;
	char		host[256];		/* or the socket path */
	int			port;
	char		user[128];		/* empty: none (Redis 6 ACL user) */
	char		password[256];	/* empty: no AUTH */
	int			db;
} RedisUrl;

/* On false, *reason says what is wrong. */
extern bool redis_url_parse(const char *url, RedisUrl *out, const char **reason);

#endif							/* CAMERA_HEALTH_REDIS_URL_H */
