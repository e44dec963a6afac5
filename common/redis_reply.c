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

const char *
ch_reply_error(const redisReply *r, size_t max_len)
{
	if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL || r->len > max_len ||
		memchr(r->str, '\0', r->len) != NULL)
		return NULL;
	return r->str;
}

/*
 * Count an object of the reply being read against the limits; false (and
 * the reader fails with "Out of memory") when it does not fit.
 */
static bool
limits_take(const redisReadTask *task, size_t bytes)
{
	ChReplyLimits *lim = task->privdata;

	if (task->parent == NULL)
		lim->total = 0;			/* a new top-level reply */
	bytes += sizeof(redisReply);
	if (bytes > lim->max_total - lim->total)
	{
		lim->exceeded = true;
		return false;
	}
	lim->total += bytes;
	return true;
}

static void *
limited_string(const redisReadTask *task, char *str, size_t len)
{
	ChReplyLimits *lim = task->privdata;

	if (len > lim->max_str)
	{
		lim->exceeded = true;
		return NULL;
	}
	return limits_take(task, len) ? lim->orig->createString(task, str, len) : NULL;
}

/* hiredis 1.0 counts elements in a size_t, 0.14 in an int */
#if defined(HIREDIS_MAJOR) && HIREDIS_MAJOR >= 1
typedef size_t ArrayLen;
#else
typedef int ArrayLen;
#endif

static void *
limited_array(const redisReadTask *task, ArrayLen elements)
{
	ChReplyLimits *lim = task->privdata;

	if ((long long) elements < 0 || (size_t) elements > lim->max_elements)
	{
		lim->exceeded = true;
		return NULL;
	}
	return limits_take(task, (size_t) elements * sizeof(redisReply *)) ?
		lim->orig->createArray(task, elements) : NULL;
}

static void *
limited_integer(const redisReadTask *task, long long value)
{
	ChReplyLimits *lim = task->privdata;

	return limits_take(task, 0) ? lim->orig->createInteger(task, value) : NULL;
}

static void *
limited_nil(const redisReadTask *task)
{
	ChReplyLimits *lim = task->privdata;

	return limits_take(task, 0) ? lim->orig->createNil(task) : NULL;
}

void
ch_reply_limit_reader(redisReader *reader, ChReplyLimits *limits)
{
	limits->total = 0;
	limits->orig = reader->fn;
	/* what is not limited here (RESP3 doubles, booleans... in hiredis 1.x) stays hiredis's own */
	limits->fn = *reader->fn;
	limits->fn.createString = limited_string;
	limits->fn.createArray = limited_array;
	limits->fn.createInteger = limited_integer;
	limits->fn.createNil = limited_nil;
	limits->fn.freeObject = reader->fn->freeObject;
	reader->fn = &limits->fn;
	reader->privdata = limits;
}
