/*
 * fuzz_redis_reply.c
 *	  libFuzzer target for the checked reply access of common/redis_reply.h.
 *
 * The input is fed, as it would come from the socket, to hiredis's
 * redisReader; every reply it yields is walked with ch_reply_*(), and
 * every element of every array is also read as a stream reply (XREADGROUP
 * / XAUTOCLAIM shapes) with ch_stream_entry() and ch_stream_field(), the
 * way the workers and visionproc read them.  Checks what callers rely on:
 * returned strings are within the stated maximum and NUL-terminated,
 * C strings hold no NUL, integers are within the asked range, a stream id
 * is at most CH_STREAM_ID_MAX bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis_reply.h"

#define CHECK(cond, what) \
	do { if (!(cond)) { fprintf(stderr, "invariant broken: %s\n", what); abort(); } } while (0)

static const char *const field_names[] = {"camera_id", "task", "result", "type", "url", "id", "data", ""};

static void
check_str(const redisReply *r, size_t max)
{
	size_t		len = (size_t) -1;
	const char *s = ch_reply_str(r, max, &len);
	const char *c = ch_reply_cstr(r, max);

	if (s != NULL)
	{
		CHECK(len <= max, "ch_reply_str() length within max");
		CHECK(s[len] == '\0', "ch_reply_str() text is NUL-terminated");
	}
	if (c != NULL)
	{
		CHECK(s != NULL, "ch_reply_cstr() only where ch_reply_str() answers");
		CHECK(strlen(c) == len, "ch_reply_cstr() holds no NUL byte");
	}
}

static void
check_stream_entry(const redisReply *entry)
{
	const char *id = NULL;
	const redisReply *fields = NULL;
	bool		ok = ch_stream_entry(entry, &id, &fields);

	if (id != NULL)
		CHECK(strlen(id) <= CH_STREAM_ID_MAX, "stream id within CH_STREAM_ID_MAX");
	if (ok)
		CHECK(id != NULL, "a good stream entry has an id");
	if (ok && fields != NULL)
	{
		for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		{
			size_t		len = (size_t) -1;
			const char *v = ch_stream_field(fields, field_names[i], 64, &len);

			if (v != NULL)
				CHECK(len <= 64 && v[len] == '\0', "stream field within max, NUL-terminated");
			(void) ch_stream_field(fields, field_names[i], 1 << 20, NULL);
		}
	}
}

static void
walk(const redisReply *r, int depth)
{
	long long	v;

	check_str(r, 0);
	check_str(r, 7);
	check_str(r, 1 << 20);
	if (ch_reply_int(r, -5, 5, &v))
		CHECK(v >= -5 && v <= 5, "ch_reply_int() within range");
	(void) ch_reply_int(r, INT64_MIN, INT64_MAX, &v);
	(void) ch_reply_is_array(r, 0, 0);
	(void) ch_reply_is_array(r, 2, 2);
	(void) ch_reply_is_array(r, 1, (size_t) -1);
	check_stream_entry(r);
	CHECK(ch_reply_elem(r, (size_t) -1) == NULL, "no element SIZE_MAX");
	if (depth > 64)
		return;
	for (size_t i = 0;; i++)
	{
		const redisReply *e = ch_reply_elem(r, i);

		if (e == NULL)
			break;
		walk(e, depth + 1);
	}
}

/*
 * hiredis 0.14 allocates an array of the announced size before reading its
 * elements ("*2000000000\r\n" asks for 16 GB); that is hiredis's, not
 * ours, so inputs announcing big arrays are skipped.
 */
static bool
announces_big_array(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
	{
		long long	n = 0;
		size_t		j;

		if (data[i] != '*')
			continue;
		for (j = i + 1; j < size && j < i + 12 && data[j] >= '0' && data[j] <= '9'; j++)
			n = n * 10 + (data[j] - '0');
		if (n > 4096 || (j < size && j == i + 12))
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *reader;
	void	   *reply;
	int			n = 0;

	if (size > 1 << 16 || announces_big_array(data, size))
		return 0;
	reader = redisReaderCreate();
	if (redisReaderFeed(reader, (const char *) data, size) == REDIS_OK)
	{
		while (n++ < 1000 && redisReaderGetReply(reader, &reply) == REDIS_OK && reply != NULL)
		{
			const redisReply *r = reply;

			walk(r, 0);
			/* the stream functions on reply shapes of XREADGROUP: [[key, [entries]]] */
			for (size_t i = 0; ch_reply_elem(r, i) != NULL; i++)
				for (size_t j = 0; ch_reply_elem(ch_reply_elem(r, i), j) != NULL; j++)
					check_stream_entry(ch_reply_elem(ch_reply_elem(r, i), j));
			freeReplyObject(reply);
		}
	}
	redisReaderFree(reader);
	return 0;
}
