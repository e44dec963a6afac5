/*
 * fuzz_redis_url.c
 *	  libFuzzer target for redis_url_parse() (common/redis_url.h), which
 *	  reads camera_health.redis_url and visionproc --redis.
 *
 * Checks: on success the fields are NUL-terminated strings within their
 * arrays, the host (or socket path) is not empty, the port is 1..65535 and
 * the database number not negative; on failure there is a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"

#define CHECK(cond, what) \
	do { if (!(cond)) { fprintf(stderr, "invariant broken: %s\n", what); abort(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *url;
	RedisUrl	u;
	const char *reason = NULL;

	if (size > 4096)
		return 0;
	url = malloc(size + 1);
	memcpy(url, data, size);
	url[size] = '\0';

	if (redis_url_parse(url, &u, &reason))
	{
		CHECK(memchr(u.host, '\0', sizeof(u.host)) != NULL, "host is NUL-terminated");
		CHECK(memchr(u.user, '\0', sizeof(u.user)) != NULL, "user is NUL-terminated");
		CHECK(memchr(u.password, '\0', sizeof(u.password)) != NULL, "password is NUL-terminated");
		CHECK(u.host[0] != '\0', "a parsed URL has a host or socket path");
		CHECK(u.unix_socket || (u.port >= 1 && u.port <= 65535), "port in 1..65535");
		CHECK(u.db >= 0, "database number not negative");
	}
	else
		CHECK(reason != NULL && reason[0] != '\0', "a refused URL comes with a reason");

	free(url);
	return 0;
}
