/*
 * redis_keys.c
 *	  The key-safe encoding of site names (see redis_keys.h).
 *
 * Plain C: the scheduler (in PostgreSQL) and visionproc's agents encode the
 * same name to the same key, byte for byte.
 */
#include "redis_keys.h"

#include <string.h>

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

bool
ch_site_encode(const char *site, size_t len, char *out, size_t outsize)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		o = 0;

	if (len == 0 || len > CH_SITE_MAX_BYTES || memchr(site, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) site[i];

		if (o + 4 > outsize)
			return false;
		if (unreserved(c))
			out[o++] = (char) c;
		else
		{
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return true;
}

static bool
upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool
ch_site_key_valid(const char *s, size_t len)
{
	size_t		bytes = 0;

	if (len == 0 || len > CH_SITE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; bytes++)
	{
		if (unreserved((unsigned char) s[i]))
			i++;
		else if (s[i] == '%' && i + 2 < len && upper_hex(s[i + 1]) && upper_hex(s[i + 2]))
		{
			int			v = ((s[i + 1] <= '9' ? s[i + 1] - '0' : s[i + 1] - 'A' + 10) << 4) |
				(s[i + 2] <= '9' ? s[i + 2] - '0' : s[i + 2] - 'A' + 10);

			/* a NUL, or an unreserved byte spelt %XX, is not an encoding */
			if (v == 0 || unreserved((unsigned char) v))
				return false;
			i += 3;
		}
		else
			return false;
	}
	return bytes <= CH_SITE_MAX_BYTES;
}
