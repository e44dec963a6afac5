/*
 * latency_hist.c
 *	  A small sparse histogram of latencies with logarithmic buckets, kept
 *	  in each hourly trend row (check_trends.latency_hist) so that a p95 can
 *	  be maintained incrementally: adding a sample or merging two
 *	  histograms never needs the samples again.
 *
 * Buckets grow by GAMMA = 1.04 / 0.96 from 1 microsecond: bucket 0 holds
 * latencies below 1 us, bucket i (1..254) holds [BASE * GAMMA^(i-1),
 * BASE * GAMMA^i), bucket 255 everything from about 670 s on.  A quantile
 * is answered with its bucket's harmonic midpoint, within 4% of any value
 * in the bucket (the DDSketch argument).  Sub-millisecond to multi-second
 * probes span some 170 buckets, and an hour of a healthy camera touches a
 * handful of them.
 *
 * Encoding: the non-empty buckets in increasing order, each as one byte
 * (the bucket) and its count as an unsigned LEB128 varint (one byte up to
 * 127 samples, two up to 16383).  An hour of ip checks every 30 s that land
 * in 4 buckets takes 8 bytes.  Input bytea is checked: a histogram that is
 * not in this form is refused (SQLSTATE 22P03), never read past its end.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"

#define NBUCKETS 256
#define BASE_MS 0.001
#define GAMMA (1.04 / 0.96)
#define MAX_ENCODED (NBUCKETS * 10)
#define COUNT_LIMIT (UINT64CONST(1) << 62)

PG_FUNCTION_INFO_V1(ch_latency_hist_add);
PG_FUNCTION_INFO_V1(ch_latency_hist_merge);
PG_FUNCTION_INFO_V1(ch_latency_hist_quantile);
PG_FUNCTION_INFO_V1(ch_latency_hist_count);

typedef struct Hist
{
	uint64		counts[NBUCKETS];
} Hist;

static int
bucket_of(double ms)
{
	double		b;

	if (ms < BASE_MS)
		return 0;
	b = floor(log(ms / BASE_MS) / log(GAMMA)) + 1;
	return b >= NBUCKETS - 1 ? NBUCKETS - 1 : (int) b;
}

/* The value a bucket stands for: within 4% of anything it holds. */
static double
bucket_value(int i)
{
	double		lower;

	if (i == 0)
		return BASE_MS / 2;
	lower = BASE_MS * pow(GAMMA, i - 1);
	if (i == NBUCKETS - 1)
		return lower;
	return lower * 2 * GAMMA / (1 + GAMMA);
}

static void
decode(bytea *raw, Hist *h)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(raw);
	const uint8 *end = p + VARSIZE_ANY_EXHDR(raw);
	int			prev = -1;

	memset(h, 0, sizeof(*h));
	while (p < end)
	{
		int			bucket = *p++;
		uint64		count = 0;
		int			shift = 0;

		for (;;)
		{
			if (p >= end || shift > 56)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("malformed latency histogram"),
						 errdetail("A count is cut short or longer than 9 bytes.")));
			count |= (uint64) (*p & 0x7f) << shift;
			shift += 7;
			if ((*p++ & 0x80) == 0)
				break;
		}
		if (bucket <= prev || count == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("malformed latency histogram"),
					 errdetail("Buckets must be non-empty and in increasing order.")));
		h->counts[bucket] = count;
		prev = bucket;
	}
}

static bytea *
encode(const Hist *h)
{
	bytea	   *out = palloc(VARHDRSZ + MAX_ENCODED);
	uint8	   *p = (uint8 *) VARDATA(out);

	for (int i = 0; i < NBUCKETS; i++)
	{
		uint64		c = h->counts[i];

		if (c == 0)
			continue;
		*p++ = (uint8) i;
		while (c >= 0x80)
		{
			*p++ = (uint8) (c | 0x80);
			c >>= 7;
		}
		*p++ = (uint8) c;
	}
	SET_VARSIZE(out, p - (uint8 *) out);
	return out;
}

/*
 * latency_hist_add(hist bytea, latency_ms float8) RETURNS bytea: hist with
 * one more sample.  A NULL hist is empty; a NULL, negative or non-finite
 * latency is no sample (the histogram is returned as it was).  Not strict,
 * so that it serves as the transition function of latency_hist(float8).
 */
Datum
ch_latency_hist_add(PG_FUNCTION_ARGS)
{
	Hist		h;
	double		ms;

	if (PG_ARGISNULL(1) || isnan(ms = PG_GETARG_FLOAT8(1)) || isinf(ms) || ms < 0)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
		memset(&h, 0, sizeof(h));
	else
		decode(PG_GETARG_BYTEA_PP(0), &h);
	h.counts[bucket_of(ms)]++;
	PG_RETURN_BYTEA_P(encode(&h));
}

/* latency_hist_merge(a bytea, b bytea) RETURNS bytea: NULL is empty. */
Datum
ch_latency_hist_merge(PG_FUNCTION_ARGS)
{
	Hist		a;
	Hist		b;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
			PG_RETURN_NULL();
		decode(PG_GETARG_BYTEA_PP(PG_ARGISNULL(0) ? 1 : 0), &a);
		PG_RETURN_BYTEA_P(encode(&a));	/* re-encoded: checked as well */
	}
	decode(PG_GETARG_BYTEA_PP(0), &a);
	decode(PG_GETARG_BYTEA_PP(1), &b);
	for (int i = 0; i < NBUCKETS; i++)
	{
		/* at most 9 bytes a count: far beyond any real number of checks */
		if (b.counts[i] >= COUNT_LIMIT || a.counts[i] >= COUNT_LIMIT - b.counts[i])
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("latency histogram count out of range")));
		a.counts[i] += b.counts[i];
	}
	PG_RETURN_BYTEA_P(encode(&a));
}

/*
 * latency_hist_quantile(hist bytea, q float8) RETURNS float8: the q-th
 * quantile (nearest rank) in milliseconds, within 4%; NULL for an empty
 * histogram.
 */
Datum
ch_latency_hist_quantile(PG_FUNCTION_ARGS)
{
	Hist		h;
	double		q = PG_GETARG_FLOAT8(1);
	uint64		total = 0;
	uint64		rank;
	uint64		seen = 0;

	if (isnan(q) || q < 0 || q > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid quantile: %g", q),
				 errhint("A quantile is between 0 and 1, e.g. 0.95.")));
	decode(PG_GETARG_BYTEA_PP(0), &h);
	for (int i = 0; i < NBUCKETS; i++)
		total += h.counts[i];
	if (total == 0)
		PG_RETURN_NULL();
	rank = (uint64) ceil(q * (double) total);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < NBUCKETS; i++)
	{
		seen += h.counts[i];
		if (seen >= rank)
			PG_RETURN_FLOAT8(bucket_value(i));
	}
	PG_RETURN_FLOAT8(bucket_value(NBUCKETS - 1));
}

/* latency_hist_count(hist bytea) RETURNS bigint: how many samples. */
Datum
ch_latency_hist_count(PG_FUNCTION_ARGS)
{
	Hist		h;
	uint64		total = 0;

	decode(PG_GETARG_BYTEA_PP(0), &h);
	for (int i = 0; i < NBUCKETS; i++)
		total += h.counts[i];
	if (total > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("latency histogram count out of range")));
	PG_RETURN_INT64((int64) total);
}
