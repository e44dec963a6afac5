/*
 * redis_reply.h
 *	  Checked access to hiredis replies, shared by the extension's workers
 *	  and visionproc.  Plain C: no PostgreSQL, no allocation.
 *
 * A reply comes from the network: a Redis of another version, a
 * misconfigured shared instance, a man in the middle or a bug elsewhere
 * can send any shape.  Code never dereferences reply->element[i] or
 * reply->str directly; it asks these functions, which answer NULL/false
 * for anything not of the expected type and size, and the caller drops
 * what does not fit.
 */
#ifndef CAMERA_HEALTH_REDIS_REPLY_H
#define CAMERA_HEALTH_REDIS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

/* Is r an array of at least min_elems and at most max_elems elements? */
extern bool ch_reply_is_array(const redisReply *r, size_t min_elems, size_t max_elems);

/*
 * Element i of an array reply, or NULL when r is not an array or has no
 * element i.
 */
extern const redisReply *ch_reply_elem(const redisReply *r, size_t i);

/*
 * The text of a string reply (bulk or status) of at most
 * max_len bytes, else NULL.  *len (if not NULL) receives its length; the
 * text is NUL-terminated by hiredis but may hold NUL bytes of its own:
 * callers that need a C string use ch_reply_cstr().
 */
extern const char *ch_reply_str(const redisReply *r, size_t max_len, size_t *len);

/* Like ch_reply_str, and NULL too when the text holds a NUL byte. */
extern const char *ch_reply_cstr(const redisReply *r, size_t max_len);

/* An integer reply's value in [min, max] (into *out), else false. */
extern bool ch_reply_int(const redisReply *r, long long min, long long max, long long *out);

/*
 * Parse a whole string as a decimal integer in [min, max]: no sign but a
 * leading '-', no spaces, no trailing characters, no overflow.
 */
extern bool ch_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * One entry of a stream reply (XREADGROUP, XAUTOCLAIM, XRANGE): an array
 * [id, [field, value, ...]].  On true, *id is the entry id (a C string of
 * at most CH_STREAM_ID_MAX bytes) and *fields the field array, or NULL for
 * an entry trimmed from the stream while pending (nil fields).  False for
 * anything else, with *id set when at least the id could be read (so the
 * caller can acknowledge and drop the entry), else NULL.
 */
#define CH_STREAM_ID_MAX 41		/* two 20-digit numbers and a dash */
extern bool ch_stream_entry(const redisReply *entry, const char **id, const redisReply **fields);

/*
 * The value of one field of a stream entry's field array, a string of at
 * most max_len bytes (its length into *len when not NULL), or NULL when
 * the entry has no such field or its value is of another type or size.
 * Field names that are not strings are skipped.
 */
extern const char *ch_stream_field(const redisReply *fields, const char *name,
								   size_t max_len, size_t *len);

/* The text of an error reply of at most max_len bytes (no NUL inside), else NULL. */
extern const char *ch_reply_error(const redisReply *r, size_t max_len);

/*
 * Limits on what a hiredis reader builds, checked as it parses: a peer
 * that announces an array of a billion elements or sends a string of
 * hundreds of megabytes makes the reader fail (the caller drops the
 * connection) instead of allocating it.  Install once per reader (after
 * each connect, on ctx->reader); the struct must outlive the reader.
 * hiredis buffers a bulk string before handing it over, so max_str bounds
 * what is kept, not what is received.
 */
typedef struct ChReplyLimits
{
	size_t		max_elements;	/* per array */
	size_t		max_str;		/* bytes per string, status or error */
	size_t		max_total;		/* bytes of strings plus objects, per top-level reply */
	/* filled in by ch_reply_limit_reader */
	size_t		total;			/* of the reply being read */
	bool		exceeded;		/* a limit was hit (sticky; the caller resets it) */
	redisReplyObjectFunctions fn;
	redisReplyObjectFunctions *orig;
} ChReplyLimits;

extern void ch_reply_limit_reader(redisReader *reader, ChReplyLimits *limits);

#endif							/* CAMERA_HEALTH_REDIS_REPLY_H */
