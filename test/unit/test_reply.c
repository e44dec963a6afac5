/*
 * test_reply.c
 *	  Unit tests of common/redis_reply.c, fed with replies that hiredis's own
 *	  reader parsed from raw RESP bytes: the shapes a hostile or broken
 *	  Redis can send, not hand-built structs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_reply.h"

static int	failures = 0;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

/* Parse one reply from RESP bytes (NULL when the reader refuses them). */
/* a RESP literal and its length (which may include NUL bytes of its own) */
#define RESP(s) (s), sizeof(s) - 1

static redisReply *
parse_limited(const char *resp, size_t len, ChReplyLimits *limits)
{
	redisReader *reader = redisReaderCreate();
	void	   *reply = NULL;

	if (limits)
		ch_reply_limit_reader(reader, limits);
	if (redisReaderFeed(reader, resp, len) != REDIS_OK ||
		redisReaderGetReply(reader, &reply) != REDIS_OK)
		reply = NULL;
	redisReaderFree(reader);
	return reply;
}

static redisReply *
parse(const char *resp)
{
	redisReply *r = parse_limited(resp, strlen(resp), NULL);

	if (r == NULL)
	{
		printf("FAIL: hiredis refused %s\n", resp);
		exit(1);
	}
	return r;
}

static void
test_arrays_and_strings(void)
{
	redisReply *r = parse("*3\r\n$3\r\nabc\r\n:42\r\n$-1\r\n");
	size_t		len = 0;
	long long	v = 0;

	CHECK(ch_reply_is_array(r, 3, 3));
	CHECK(!ch_reply_is_array(r, 4, 10));
	CHECK(!ch_reply_is_array(r, 0, 2));
	CHECK(ch_reply_elem(r, 3) == NULL);
	CHECK(ch_reply_elem(r, (size_t) -1) == NULL);
	CHECK(strcmp(ch_reply_str(ch_reply_elem(r, 0), 3, &len), "abc") == 0 && len == 3);
	CHECK(ch_reply_str(ch_reply_elem(r, 0), 2, NULL) == NULL);	/* too long */
	CHECK(ch_reply_str(ch_reply_elem(r, 1), 100, NULL) == NULL);	/* an integer */
	CHECK(ch_reply_str(ch_reply_elem(r, 2), 100, NULL) == NULL);	/* nil */
	CHECK(ch_reply_int(ch_reply_elem(r, 1), 0, 100, &v) && v == 42);
	CHECK(!ch_reply_int(ch_reply_elem(r, 1), 0, 41, &v));
	CHECK(!ch_reply_int(ch_reply_elem(r, 0), 0, 1000, &v));	/* "abc" is no integer */
	CHECK(!ch_reply_int(NULL, 0, 1, &v));
	CHECK(ch_reply_elem(ch_reply_elem(r, 0), 0) == NULL);	/* a string has no elements */
	freeReplyObject(r);

	r = parse_limited(RESP("$5\r\na\0bcd\r\n"), NULL);
	CHECK(r != NULL);
	CHECK(ch_reply_str(r, 10, &len) != NULL && len == 5);
	CHECK(ch_reply_cstr(r, 10) == NULL);	/* NUL inside */
	freeReplyObject(r);

	r = parse("+OK\r\n");
	CHECK(ch_reply_cstr(r, 10) != NULL && strcmp(ch_reply_cstr(r, 10), "OK") == 0);
	CHECK(!ch_reply_is_array(r, 0, 10));
	CHECK(ch_reply_error(r, 100) == NULL);
	freeReplyObject(r);

	r = parse("-NOGROUP no such key\r\n");
	CHECK(ch_reply_str(r, 100, NULL) == NULL);	/* an error is not a value */
	CHECK(ch_reply_error(r, 100) != NULL && strncmp(ch_reply_error(r, 100), "NOGROUP", 7) == 0);
	CHECK(ch_reply_error(r, 5) == NULL);
	freeReplyObject(r);

	r = parse("*-1\r\n");		/* nil array */
	CHECK(!ch_reply_is_array(r, 0, 10));
	CHECK(ch_reply_elem(r, 0) == NULL);
	freeReplyObject(r);

	r = parse("*0\r\n");
	CHECK(ch_reply_is_array(r, 0, 0));
	CHECK(ch_reply_elem(r, 0) == NULL);
	freeReplyObject(r);
}

static void
test_parse_int64(void)
{
	int64_t		v = 0;

	CHECK(ch_parse_int64("554", 1, 65535, &v) && v == 554);
	CHECK(ch_parse_int64("-5", -10, 10, &v) && v == -5);
	CHECK(!ch_parse_int64("65536", 1, 65535, &v));
	CHECK(!ch_parse_int64("0", 1, 65535, &v));
	CHECK(!ch_parse_int64("12abc", 0, 100000, &v));
	CHECK(!ch_parse_int64(" 12", 0, 100, &v));
	CHECK(!ch_parse_int64("+12", 0, 100, &v));
	CHECK(!ch_parse_int64("", 0, 100, &v));
	CHECK(!ch_parse_int64("-", -100, 100, &v));
	CHECK(!ch_parse_int64("99999999999999999999", 0, INT64_MAX, &v));
	CHECK(!ch_parse_int64(NULL, 0, 100, &v));
	CHECK(ch_parse_int64("9223372036854775807", 0, INT64_MAX, &v) && v == INT64_MAX);
}

static void
test_stream_entries(void)
{
	const char *id;
	const redisReply *fields;
	size_t		len;
	redisReply *r;

	/* [id, [camera_id, 7, port, 554]] */
	r = parse("*2\r\n$3\r\n1-1\r\n*4\r\n$9\r\ncamera_id\r\n$1\r\n7\r\n$4\r\nport\r\n$3\r\n554\r\n");
	CHECK(ch_stream_entry(r, &id, &fields) && strcmp(id, "1-1") == 0 && fields != NULL);
	CHECK(strcmp(ch_stream_field(fields, "port", 10, &len), "554") == 0 && len == 3);
	CHECK(ch_stream_field(fields, "port", 2, NULL) == NULL);
	CHECK(ch_stream_field(fields, "ip", 100, NULL) == NULL);
	CHECK(ch_stream_field(fields, "camera", 100, NULL) == NULL);	/* prefix only */
	freeReplyObject(r);

	/* trimmed while pending: nil fields */
	r = parse("*2\r\n$3\r\n1-2\r\n*-1\r\n");
	CHECK(ch_stream_entry(r, &id, &fields) && strcmp(id, "1-2") == 0 && fields == NULL);
	freeReplyObject(r);

	/* an odd number of fields: the id is still known, to drop the entry */
	r = parse("*2\r\n$3\r\n1-3\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields) && id != NULL && strcmp(id, "1-3") == 0);
	freeReplyObject(r);

	/* id of the wrong type, too long, entries of the wrong length */
	r = parse("*2\r\n:5\r\n*0\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields) && id == NULL);
	freeReplyObject(r);
	r = parse("*2\r\n$45\r\n123456789012345678901234567890123456789012345\r\n*0\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields) && id == NULL);
	freeReplyObject(r);
	r = parse("*3\r\n$3\r\n1-4\r\n*0\r\n*0\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields));
	freeReplyObject(r);
	r = parse("*1\r\n$3\r\n1-4\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields));
	freeReplyObject(r);
	r = parse("$3\r\n1-4\r\n");
	CHECK(!ch_stream_entry(r, &id, &fields) && id == NULL);
	freeReplyObject(r);
	r = parse("*2\r\n$3\r\n1-5\r\n:7\r\n");	/* fields an integer */
	CHECK(!ch_stream_entry(r, &id, &fields) && strcmp(id, "1-5") == 0);
	freeReplyObject(r);

	/* field names that are not strings are skipped; values of the wrong type refused */
	r = parse("*4\r\n:1\r\n$1\r\nx\r\n$4\r\nport\r\n*1\r\n:5\r\n");
	CHECK(ch_stream_field(r, "port", 100, NULL) == NULL);
	CHECK(ch_stream_field(r, "x", 100, NULL) == NULL);
	freeReplyObject(r);
	CHECK(ch_stream_field(NULL, "port", 100, NULL) == NULL);
}

static void
test_limits(void)
{
	ChReplyLimits lim = {.max_elements = 4, .max_str = 8, .max_total = 4096};
	redisReply *r;
	char	   *big;

	r = parse_limited(RESP("*4\r\n$1\r\na\r\n$8\r\n12345678\r\n:1\r\n$-1\r\n"), &lim);
	CHECK(r != NULL && !lim.exceeded && ch_reply_is_array(r, 4, 4));
	freeReplyObject(r);

	/* an array announced bigger than the limit: refused before allocation */
	r = parse_limited(RESP("*1000000000\r\n"), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;
	r = parse_limited(RESP("*5\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n"), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;

	/* a string too long, also nested and as an error */
	r = parse_limited(RESP("$9\r\n123456789\r\n"), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;
	r = parse_limited(RESP("*1\r\n*1\r\n$9\r\n123456789\r\n"), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;
	r = parse_limited(RESP("-ERR 123456789\r\n"), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;

	/* the total of one reply, and a fresh total for the next reply */
	lim.max_elements = 1000;
	lim.max_total = 1000;
	big = malloc(1000 * 4 + 16);
	strcpy(big, "*200\r\n");
	for (int i = 0; i < 200; i++)
		strcat(big, ":1\r\n");
	r = parse_limited(big, strlen(big), &lim);
	CHECK(r == NULL && lim.exceeded);
	lim.exceeded = false;
	{
		redisReader *reader = redisReaderCreate();
		void	   *reply;

		ch_reply_limit_reader(reader, &lim);
		for (int i = 0; i < 100; i++)
		{
			reply = NULL;
			redisReaderFeed(reader, "*2\r\n:1\r\n:2\r\n", 12);
			CHECK(redisReaderGetReply(reader, &reply) == REDIS_OK && reply != NULL);
			if (reply)
				freeReplyObject(reply);
		}
		CHECK(!lim.exceeded);
		redisReaderFree(reader);
	}
	free(big);

	/* nesting deeper than hiredis supports is a protocol error, not a crash */
	r = parse_limited(RESP("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), NULL);
	CHECK(r == NULL);
}

int
main(void)
{
	test_arrays_and_strings();
	test_parse_int64();
	test_stream_entries();
	test_limits();
	if (failures > 0)
	{
		printf("test_reply: %d failures\n", failures);
		return 1;
	}
	printf("test_reply: all passed\n");
	return 0;
}
