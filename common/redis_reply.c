/*
 * redis_reply.c
 *	  Checked access to hiredis replies (see redis_reply.h).
 */
#include "redis_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool
ch_reply_is_array(const redisReply *r, size_t min_elems, size_t max_elems)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY &&
		r->elements >= min_elems && r->elements <= max_elems &&
		(r->elements == 0 || r->element != NULL);
}

const redisReply *
ch_reply_elem(const redisReply *r, size_t i)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->element == NULL || i >= r->elements)
		return NULL;
	return r->element[i];
}

const char *
ch_reply_str(const redisReply *r, size_t max_len, size_t *len)
{
	if (r == NULL || r->str == NULL || r->len > max_len)
		return NULL;
	if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
		return NULL;
	if (len != NULL)
		*len = r->len;
	return r->str;
}

const char *
ch_reply_cstr(const redisReply *r, size_t max_len)
{
	size_t		len;
	const char *s = ch_reply_str(r, max_len, &len);

	if (s == NULL || memchr(s, '\0', len) != NULL)
		return NULL;
	return s;
}

bool
ch_reply_int(const redisReply *r, long long min, long long max, long long *out)
{
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer < min || r->integer > max)
		return false;
	*out = r->integer;
	return true;
}

bool
ch_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = (int64_t) v;
	return true;
}

bool
ch_stream_entry(const redisReply *entry, const char **id, const redisReply **fields)
{
	const redisReply *f;

	*id = NULL;
	*fields = NULL;
	if (!ch_reply_is_array(entry, 2, 2))
		return false;
	*id = ch_reply_cstr(entry->element[0], CH_STREAM_ID_MAX);
	if (*id == NULL)
		return false;
	f = entry->element[1];
	if (f == NULL)
		return false;
	if (f->type == REDIS_REPLY_NIL)
		return true;
	/* name/value pairs: an even count */
	if (!ch_reply_is_array(f, 0, SIZE_MAX) || f->elements % 2 != 0)
		return false;
	*fields = f;
	return true;
}

const char *
ch_stream_field(const redisReply *fields, const char *name, size_t max_len, size_t *len)
{
	size_t		name_len = strlen(name);

	if (!ch_reply_is_array(fields, 0, SIZE_MAX))
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
	{
		size_t		flen;
		const char *f = ch_reply_str(fields->element[i], name_len, &flen);

		if (f != NULL && flen == name_len && memcmp(f, name, name_len) == 0)
			return ch_reply_str(fields->element[i + 1], max_len, len);
	}
	return NULL;
}
