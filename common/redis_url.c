/*
 * redis_url.c
 *	  Parsing of Redis URLs (see redis_url.h).
 */
#include "redis_url.h"

#include <stdlib.h>
#include <string.h>

/* Copy [s, e) into dst of size cap; false when it does not fit. */
static bool
copy_part(char *dst, size_t cap, const char *s, const char *e)
{
	if ((size_t) (e - s) >= cap)
		return false;
	memcpy(dst, s, e - s);
	dst[e - s] = '\0';
	return true;
}

static bool
parse_number(const char *s, const char *e, int min, int max, int *out)
{
	long		v = 0;

	if (s == e || e - s > 9)
		return false;
	for (const char *c = s; c < e; c++)
	{
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (*c - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (int) v;
	return true;
}

bool
redis_url_parse(const char *url, RedisUrl *out, const char **reason)
{
	const char *p;
	const char *end;
	const char *at;
	const char *hostend;

	memset(out, 0, sizeof(*out));
	out->port = 6379;

	if (strncmp(url, "unix://", 7) == 0)
	{
		const char *q = strchr(url + 7, '?');

		out->unix_socket = true;
		end = q ? q : url + strlen(url);
		if (end == url + 7 || url[7] != '/')
		{
			*reason = "a unix:// URL needs an absolute socket path";
			return false;
		}
		if (!copy_part(out->host, sizeof(out->host), url + 7, end))
		{
			*reason = "the socket path is too long";
			return false;
		}
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
						  !parse_number(q + 4, q + strlen(q), 0, 1 << 20, &out->db)))
		{
			*reason = "the only query parameter of a unix:// URL is db=N";
			return false;
		}
		return true;
	}
	if (strncmp(url, "redis://", 8) != 0)
	{
		*reason = "the URL must start with redis:// or unix://";
		return false;
	}

	p = url + 8;
	end = p + strcspn(p, "/");
	at = NULL;
	for (const char *c = p; c < end; c++)
		if (*c == '@')
			at = c;
	if (at != NULL)
	{
		const char *colon = memchr(p, ':', at - p);

		if (colon == NULL)
		{
			*reason = "credentials must be written user:password@ or :password@";
			return false;
		}
		if (!copy_part(out->user, sizeof(out->user), p, colon) ||
			!copy_part(out->password, sizeof(out->password), colon + 1, at))
		{
			*reason = "the user or password is too long";
			return false;
		}
		p = at + 1;
	}

	if (*p == '[')
	{
		const char *rb = memchr(p, ']', end - p);

		if (rb == NULL)
		{
			*reason = "unterminated IPv6 address";
			return false;
		}
		if (!copy_part(out->host, sizeof(out->host), p + 1, rb))
		{
			*reason = "the host name is too long";
			return false;
		}
		hostend = rb + 1;
	}
	else
	{
		hostend = memchr(p, ':', end - p);
		if (hostend == NULL)
			hostend = end;
		if (!copy_part(out->host, sizeof(out->host), p, hostend))
		{
			*reason = "the host name is too long";
			return false;
		}
	}
	if (out->host[0] == '\0')
	{
		*reason = "the URL has no host";
		return false;
	}
	if (hostend < end)
	{
		if (*hostend != ':' || !parse_number(hostend + 1, end, 1, 65535, &out->port))
		{
			*reason = "the port must be a number from 1 to 65535";
			return false;
		}
	}
	if (*end == '/' && end[1] != '\0' &&
		!parse_number(end + 1, end + strlen(end), 0, 1 << 20, &out->db))
	{
		*reason = "the database must be a number, as in redis://host:6379/0";
		return false;
	}
	return true;
}
