/*
 * history_unpack.c
 *	  Reading check_history's chunks (see sql/14_history.sql):
 *	  unpack_chunk(...) gives a chunk's checks a row each, and
 *	  history_metadata(kept, template, latency_us, lateness, duration) one
 *	  packed check's metadata as it was written.
 *
 * camera_logs() builds one per check it returns, thousands for a day of a
 * camera, nearly all from the same template (a chunk's healthy checks):
 * in SQL (template || jsonb_strip_nulls(jsonb_build_object(...))) that is
 * four jsonb values built per check, some 6 us.  Here a flat object (every
 * value a scalar: the prober's metadata) is taken apart once and kept
 * between calls; a check costs its three numbers and one jsonb written.
 * Anything else (nested values, as vision metadata has) is copied through
 * the iterator.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(ch_history_metadata);
PG_FUNCTION_INFO_V1(ch_unpack_chunk);

#define EXTRA_KEYS 3

/* The last base object seen, taken apart (in the function's memory context). */
typedef struct BaseCache
{
	Jsonb	   *copy;			/* NULL: nothing cached */
	bool		flat;			/* every value a scalar: pairs is usable */
	bool		has_latency;
	int			npairs;
	JsonbPair  *pairs;			/* pointing into copy */
} BaseCache;

static JsonbValue
string_value(const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	return v;
}

/* jsonb's order of object keys: shorter first, then bytewise. */
static int
pair_cmp(const void *a, const void *b)
{
	const JsonbValue *ka = &((const JsonbPair *) a)->key;
	const JsonbValue *kb = &((const JsonbPair *) b)->key;

	if (ka->val.string.len != kb->val.string.len)
		return ka->val.string.len > kb->val.string.len ? 1 : -1;
	return memcmp(ka->val.string.val, kb->val.string.val, ka->val.string.len);
}

/* Take base apart into cache (its pairs point into base: keep base alive). */
static void
take_apart(BaseCache *cache, Jsonb *base, MemoryContext mcxt)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	cache->copy = base;
	cache->pairs = MemoryContextAlloc(mcxt, sizeof(JsonbPair) * (JB_ROOT_COUNT(base) + EXTRA_KEYS));
	cache->flat = true;
	cache->has_latency = false;

	it = JsonbIteratorInit(&base->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			cache->pairs[n].key = v;
			cache->pairs[n].order = n;
			if (v.val.string.len == 10 && memcmp(v.val.string.val, "latency_ms", 10) == 0)
				cache->has_latency = true;
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type == jbvBinary)
				cache->flat = false;
			cache->pairs[n++].value = v;
		}
	}
	cache->npairs = n;
}

/* The template, taken apart once while it stays the same (a copy in mcxt). */
static void
cache_template(BaseCache *cache, Jsonb *template, MemoryContext mcxt)
{
	Jsonb	   *copy;

	if (cache->copy && VARSIZE(cache->copy) == VARSIZE(template) &&
		memcmp(cache->copy, template, VARSIZE(template)) == 0)
		return;
	if (cache->copy)
		pfree(cache->copy);
	if (cache->pairs)
		pfree(cache->pairs);
	copy = MemoryContextAlloc(mcxt, VARSIZE(template));
	memcpy(copy, template, VARSIZE(template));
	take_apart(cache, copy, mcxt);
}

/* The base with extra pairs, through the iterator (any base object). */
static Jsonb *
merge_general(Jsonb *base, JsonbPair *extra, int nextra)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it = JsonbIteratorInit(&base->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		if (depth == 1 && tok == WJB_END_OBJECT)
			break;
		pushJsonbValue(&state, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
		if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
	}
	for (int i = 0; i < nextra; i++)
	{
		pushJsonbValue(&state, WJB_KEY, &extra[i].key);
		pushJsonbValue(&state, WJB_VALUE, &extra[i].value);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * The metadata of one check: kept (its own, or NULL for its chunk's
 * template), with the numbers its arrays hold (NULL pointers: none; the
 * latency only into the template, as kept metadata has its own).  The
 * template is cached in template_cache; a check's own metadata serves once.
 */
static Jsonb *
build_metadata(BaseCache *template_cache, MemoryContext mcxt, Jsonb *kept, Jsonb *template,
			   const int32 *latency_us, const int16 *lateness, const int16 *duration)
{
	Jsonb	   *base = kept ? kept : template;
	BaseCache	own = {0};
	BaseCache  *cache = &own;
	JsonbPair	extra[EXTRA_KEYS];
	int			nextra = 0;
	JsonbValue	obj;

	if (base != NULL && !JB_ROOT_IS_OBJECT(base))
		return base;			/* nothing to add keys to: as kept */
	if (base == NULL)
		base = JsonbValueToJsonb(&(JsonbValue) {.type = jbvObject});

	if (base == template)
	{
		cache_template(template_cache, template, mcxt);
		cache = template_cache;
	}
	else
		take_apart(&own, base, CurrentMemoryContext);

	/* a check's own metadata has its latency_ms as written, or had none */
	if (latency_us && kept == NULL && !cache->has_latency)
	{
		extra[nextra].key = string_value("latency_ms");
		extra[nextra].value.type = jbvNumeric;
		/* microseconds as milliseconds with three decimals, as the prober writes them */
		extra[nextra++].value.val.numeric = int64_div_fast_to_numeric(*latency_us, 3);
	}
	if (lateness)
	{
		extra[nextra].key = string_value("lateness_ms");
		extra[nextra].value.type = jbvNumeric;
		extra[nextra++].value.val.numeric = int64_to_numeric(*lateness);
	}
	if (duration)
	{
		extra[nextra].key = string_value("duration_ms");
		extra[nextra].value.type = jbvNumeric;
		extra[nextra++].value.val.numeric = int64_to_numeric(*duration);
	}
	if (!cache->flat)
		return merge_general(cache->copy, extra, nextra);

	/* a flat base: its pairs (sorted already) and the extra ones, sorted, unique */
	obj.type = jbvObject;
	obj.val.object.nPairs = cache->npairs + nextra;
	obj.val.object.pairs = palloc(sizeof(JsonbPair) * obj.val.object.nPairs);
	memcpy(obj.val.object.pairs, cache->pairs, sizeof(JsonbPair) * cache->npairs);
	memcpy(obj.val.object.pairs + cache->npairs, extra, sizeof(JsonbPair) * nextra);
	for (int i = 0; i < obj.val.object.nPairs; i++)
		obj.val.object.pairs[i].order = i;
	qsort(obj.val.object.pairs, obj.val.object.nPairs, sizeof(JsonbPair), pair_cmp);
	for (int i = 1; i < obj.val.object.nPairs; i++)
	{
		/* a key both in the base and the arrays (not expected: they hold what it lacks) */
		if (pair_cmp(&obj.val.object.pairs[i - 1], &obj.val.object.pairs[i]) == 0)
			return merge_general(cache->copy, extra, nextra);
	}
	return JsonbValueToJsonb(&obj);
}

static BaseCache *
get_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BaseCache));
	return fcinfo->flinfo->fn_extra;
}

Datum
ch_history_metadata(PG_FUNCTION_ARGS)
{
	int32		lat = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	int16		late = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT16(3);
	int16		dur = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT16(4);

	PG_RETURN_JSONB_P(build_metadata(get_cache(fcinfo), fcinfo->flinfo->fn_mcxt,
									 PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0),
									 PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
									 PG_ARGISNULL(2) ? NULL : &lat,
									 PG_ARGISNULL(3) ? NULL : &late,
									 PG_ARGISNULL(4) ? NULL : &dur));
}

/* One array argument, taken apart; every one must have n elements. */
static void
take_array(FunctionCallInfo fcinfo, int argno, Oid elemtype, int n, Datum **values, bool **nulls)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(argno);
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	int			count;

	if (ARR_ELEMTYPE(a) != elemtype)
		elog(ERROR, "unpack_chunk: argument %d has the wrong element type", argno + 1);
	get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
	deconstruct_array(a, elemtype, elmlen, elmbyval, elmalign, values, nulls, &count);
	if (count != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("a chunk of check_history has arrays of different lengths"),
				 errdetail("at_ms has %d elements, argument %d has %d.", n, argno + 1, count)));
}

/*
 * unpack_chunk(hour, at_ms, status, latency_us, lateness_ms, duration_ms,
 * metadata, template): one row per check, (k, created_at, status,
 * metadata, latency_us), in the chunk's order.
 */
Datum
ch_unpack_chunk(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {INT4OID, CHAROID, INT4OID, INT2OID, INT2OID, JSONBOID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BaseCache  *cache = get_cache(fcinfo);
	TimestampTz hour;
	Jsonb	   *template;
	Datum	   *v[6];
	bool	   *isnull[6];
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			return (Datum) 0;	/* a chunk always has them: nothing to unpack */
	hour = PG_GETARG_TIMESTAMPTZ(0);
	template = PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7);
	n = ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(1)), ARR_DIMS(PG_GETARG_ARRAYTYPE_P(1)));
	for (int a = 0; a < 6; a++)
		take_array(fcinfo, a + 1, types[a], n, &v[a], &isnull[a]);

	for (int k = 0; k < n; k++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int32		lat = isnull[2][k] ? 0 : DatumGetInt32(v[2][k]);
		int16		late = isnull[3][k] ? 0 : DatumGetInt16(v[3][k]);
		int16		dur = isnull[4][k] ? 0 : DatumGetInt16(v[4][k]);
		const char *status;

		if (isnull[0][k] || isnull[1][k])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a chunk of check_history has a check without a time or a status")));
		switch (DatumGetChar(v[1][k]))
		{
			case 'o': status = "ok"; break;
			case 'w': status = "warning"; break;
			case 'c': status = "critical"; break;
			case 'e': status = "error"; break;
			default: status = NULL; break;
		}
		values[0] = Int32GetDatum(k + 1);
		values[1] = TimestampTzGetDatum(hour + (TimestampTz) DatumGetInt32(v[0][k]) * 1000);
		values[2] = status ? CStringGetTextDatum(status) : (Datum) 0;
		nulls[2] = status == NULL;
		values[3] = JsonbPGetDatum(build_metadata(cache, fcinfo->flinfo->fn_mcxt,
												  isnull[5][k] ? NULL : DatumGetJsonbP(v[5][k]), template,
												  isnull[2][k] ? NULL : &lat,
												  isnull[3][k] ? NULL : &late,
												  isnull[4][k] ? NULL : &dur));
		values[4] = v[2][k];
		nulls[4] = isnull[2][k];
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
