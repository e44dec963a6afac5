/*
 * pack_chunk.c
 *	  Packing checks into check_history's chunks (see sql/14_history.sql):
 *	  the aggregate pack_chunk(hour, checked_at, status, latency_us,
 *	  metadata) turns the checks of one camera, check type and hour, fed
 *	  in time order, into the chunk's arrays.
 *
 * The rules are those history_unpack.c reverses: a check keeps in its
 * metadata element only what the arrays and the chunk's template do not
 * give back as written.  Its lateness_ms and duration_ms go to their
 * arrays when they are whole milliseconds 0 to 32767 written without
 * decimals; a healthy check whose metadata, without latency_ms,
 * lateness_ms and duration_ms, is the template (the chunk's first healthy
 * check's) and whose latency_ms is latency_us to three decimals keeps
 * NULL.  In SQL that was six jsonb expressions and a window per check,
 * some 15 us; here one pass over each check's top-level keys.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(ch_pack_chunk_add);
PG_FUNCTION_INFO_V1(ch_pack_chunk_final);

/* The checks of one chunk so far, in the aggregate's memory. */
typedef struct PackState
{
	TimestampTz hour;
	int			n;
	int			cap;
	int32	   *at_ms;
	char	   *letter;
	int32	   *latency_us;
	bool	   *latency_null;
	Jsonb	  **metadata;
} PackState;

/* What one check's metadata says about the prober's fields. */
typedef struct CheckFields
{
	JsonbValue	latency;
	bool		has_latency;
	bool		has_lateness;
	bool		has_duration;
	int16		lateness;		/* valid when lateness_ok */
	int16		duration;
	bool		lateness_ok;
	bool		duration_ok;
} CheckFields;

static char
status_letter(text *status)
{
	const char *s = VARDATA_ANY(status);
	int			len = VARSIZE_ANY_EXHDR(status);

	if (len == 2 && memcmp(s, "ok", 2) == 0)
		return 'o';
	if (len == 7 && memcmp(s, "warning", 7) == 0)
		return 'w';
	if (len == 8 && memcmp(s, "critical", 8) == 0)
		return 'c';
	if (len == 5 && memcmp(s, "error", 5) == 0)
		return 'e';
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid check status \"%.*s\"", len, s),
			 errhint("A check's status is ok, warning, critical or error.")));
	return 0;					/* not reached */
}

Datum
ch_pack_chunk_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	PackState  *st;
	TimestampTz at;
	int64		us;
	Jsonb	   *arg;
	Jsonb	   *md;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "pack_chunk_add called in non-aggregate context");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pack_chunk needs an hour, a time, a status and metadata for every check")));
	if (PG_ARGISNULL(0))
	{
		st = MemoryContextAllocZero(aggcontext, sizeof(PackState));
		st->hour = PG_GETARG_TIMESTAMPTZ(1);
		st->cap = 64;
		st->at_ms = MemoryContextAlloc(aggcontext, st->cap * sizeof(int32));
		st->letter = MemoryContextAlloc(aggcontext, st->cap);
		st->latency_us = MemoryContextAlloc(aggcontext, st->cap * sizeof(int32));
		st->latency_null = MemoryContextAlloc(aggcontext, st->cap);
		st->metadata = MemoryContextAlloc(aggcontext, st->cap * sizeof(Jsonb *));
	}
	else
		st = (PackState *) PG_GETARG_POINTER(0);

	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->at_ms = repalloc(st->at_ms, st->cap * sizeof(int32));
		st->letter = repalloc(st->letter, st->cap);
		st->latency_us = repalloc(st->latency_us, st->cap * sizeof(int32));
		st->latency_null = repalloc(st->latency_null, st->cap);
		st->metadata = repalloc(st->metadata, st->cap * sizeof(Jsonb *));
	}

	/* milliseconds after the hour, rounded half away from zero (as numeric's cast does) */
	at = PG_GETARG_TIMESTAMPTZ(2);
	us = at - st->hour;
	if (us < 0 || us >= USECS_PER_HOUR)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a check at %s is not in its chunk's hour %s",
						timestamptz_to_str(at), timestamptz_to_str(st->hour))));
	st->at_ms[st->n] = (int32) ((us + 500) / 1000);
	st->letter[st->n] = status_letter(PG_GETARG_TEXT_PP(3));
	st->latency_null[st->n] = PG_ARGISNULL(4);
	st->latency_us[st->n] = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	arg = PG_GETARG_JSONB_P(5);
	md = MemoryContextAlloc(aggcontext, VARSIZE(arg));
	memcpy(md, arg, VARSIZE(arg));
	st->metadata[st->n] = md;
	st->n++;
	PG_RETURN_POINTER(st);
}

/* The number's text, as jsonb writes it (a numeric keeps its scale). */
static char *
numeric_text(const JsonbValue *v)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* A whole number 0 to 32767 written without decimals or leading zeros (history_ms()). */
static bool
small_ms(const JsonbValue *v, int16 *out)
{
	char	   *s;
	int			len;
	long		val;

	if (v->type != jbvNumeric)
		return false;
	s = numeric_text(v);
	len = strlen(s);
	if (len < 1 || len > 5 || (len > 1 && s[0] == '0'))
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	val = strtol(s, NULL, 10);
	if (val > PG_INT16_MAX)
		return false;
	*out = (int16) val;
	return true;
}

static bool
key_is(const JsonbValue *k, const char *name)
{
	return k->val.string.len == (int) strlen(name) &&
		memcmp(k->val.string.val, name, k->val.string.len) == 0;
}

/* Reads an object's latency_ms, lateness_ms and duration_ms. */
static void
read_fields(Jsonb *md, CheckFields *f)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	memset(f, 0, sizeof(*f));
	it = JsonbIteratorInit(&md->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		if (key_is(&k, "latency_ms"))
		{
			f->has_latency = true;
			f->latency = v;
		}
		else if (key_is(&k, "lateness_ms"))
		{
			f->has_lateness = true;
			f->lateness_ok = small_ms(&v, &f->lateness);
		}
		else if (key_is(&k, "duration_ms"))
		{
			f->has_duration = true;
			f->duration_ok = small_ms(&v, &f->duration);
		}
	}
}

/* md without the keys drop says to drop (md itself when none is there). */
static Jsonb *
without_keys(Jsonb *md, bool drop_latency, bool drop_lateness, bool drop_duration)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbIteratorToken tok;
	bool		dropped = false;

	it = JsonbIteratorInit(&md->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			tok = JsonbIteratorNext(&it, &v, true);
			if ((drop_latency && key_is(&k, "latency_ms")) ||
				(drop_lateness && key_is(&k, "lateness_ms")) ||
				(drop_duration && key_is(&k, "duration_ms")))
			{
				dropped = true;
				continue;
			}
			pushJsonbValue(&state, WJB_KEY, &k);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
		else
			res = pushJsonbValue(&state, tok, NULL);
	}
	return dropped ? JsonbValueToJsonb(res) : md;
}

/* The chunk's template, and its top-level pairs taken apart once. */
typedef struct Template
{
	Jsonb	   *jsonb;			/* NULL: none yet */
	int			npairs;
	JsonbPair  *pairs;
} Template;

static void
set_template(Template *t, Jsonb *core)
{
	JsonbIterator *it = JsonbIteratorInit(&core->root);
	JsonbValue	v;
	JsonbIteratorToken tok;

	t->jsonb = core;
	t->npairs = 0;
	t->pairs = palloc(sizeof(JsonbPair) * Max(JB_ROOT_COUNT(core), 1));
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			t->pairs[t->npairs].key = v;
		else if (tok == WJB_VALUE)
			t->pairs[t->npairs++].value = v;
	}
}

/* Byte for byte the same value (stricter than jsonb's =, which takes 1.0 for 1.00). */
static bool
same_value(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvNumeric:
			return VARSIZE_ANY(a->val.numeric) == VARSIZE_ANY(b->val.numeric) &&
				memcmp(a->val.numeric, b->val.numeric, VARSIZE_ANY(a->val.numeric)) == 0;
		case jbvBinary:
			return a->val.binary.len == b->val.binary.len &&
				memcmp(a->val.binary.data, b->val.binary.data, a->val.binary.len) == 0;
		default:
			return false;
	}
}

/*
 * Whether md without latency_ms, lateness_ms and duration_ms is the
 * template, without building that jsonb: both objects' keys are sorted,
 * so one walk over md's keys compares them pair by pair.
 */
static bool
core_is_template(Jsonb *md, const Template *t)
{
	JsonbIterator *it = JsonbIteratorInit(&md->root);
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			i = 0;

	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		if (key_is(&k, "latency_ms") || key_is(&k, "lateness_ms") || key_is(&k, "duration_ms"))
			continue;
		if (i == t->npairs || !same_value(&k, &t->pairs[i].key) || !same_value(&v, &t->pairs[i].value))
			return false;
		i++;
	}
	return i == t->npairs;
}

/* Whether latency_us gives back the latency_ms written (history_latency_exact()). */
static bool
latency_exact(const CheckFields *f, bool latency_null, int32 latency_us)
{
	char		buf[32];

	if (latency_null)
		return !f->has_latency;
	if (!f->has_latency || f->latency.type != jbvNumeric || latency_us < 0)
		return false;
	snprintf(buf, sizeof(buf), "%d.%03d", latency_us / 1000, latency_us % 1000);
	return strcmp(numeric_text(&f->latency), buf) == 0;
}

static ArrayType *
int_array(const int32 *values, const bool *nulls, int n, Oid type)
{
	int16		len = type == INT2OID ? 2 : 4;
	Datum	   *d = palloc(sizeof(Datum) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
		d[i] = type == INT2OID ? Int16GetDatum((int16) values[i]) : Int32GetDatum(values[i]);
	return construct_md_array(d, (bool *) nulls, 1, dims, lbs, type, len, true, type == INT2OID ? TYPALIGN_SHORT : TYPALIGN_INT);
}

Datum
ch_pack_chunk_final(PG_FUNCTION_ARGS)
{
	PackState  *st = PG_ARGISNULL(0) ? NULL : (PackState *) PG_GETARG_POINTER(0);
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};
	Template	template = {0};
	bool		template_used = false;
	int32	   *late;
	int32	   *dur;
	bool	   *late_null;
	bool	   *dur_null;
	Datum	   *kept;
	bool	   *kept_null;
	Datum	   *letters;
	int			dims[1];
	int			lbs[1] = {1};

	if (st == NULL)
		PG_RETURN_NULL();
	if (get_func_result_type(fcinfo->flinfo->fn_oid, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pack_chunk_final must return a composite type");
	dims[0] = st->n;
	late = palloc(sizeof(int32) * st->n);
	dur = palloc(sizeof(int32) * st->n);
	late_null = palloc(st->n);
	dur_null = palloc(st->n);
	kept = palloc(sizeof(Datum) * st->n);
	kept_null = palloc(st->n);
	letters = palloc(sizeof(Datum) * st->n);

	for (int i = 0; i < st->n; i++)
	{
		Jsonb	   *md = st->metadata[i];
		CheckFields f;

		letters[i] = CharGetDatum(st->letter[i]);
		kept_null[i] = false;
		late_null[i] = dur_null[i] = true;
		late[i] = dur[i] = 0;
		if (!JB_ROOT_IS_OBJECT(md) || JB_ROOT_IS_SCALAR(md))
		{
			kept[i] = JsonbPGetDatum(md);	/* no keys to take out: as written */
			continue;
		}
		read_fields(md, &f);
		late_null[i] = !f.lateness_ok;
		late[i] = f.lateness;
		dur_null[i] = !f.duration_ok;
		dur[i] = f.duration;
		/* the template: the first healthy check's metadata, without the three */
		if (st->letter[i] == 'o' && template.jsonb == NULL)
			set_template(&template, without_keys(md, true, true, true));
		/* NULL: the template and the arrays give back all the check says */
		if (st->letter[i] == 'o' && latency_exact(&f, st->latency_null[i], st->latency_us[i]) &&
			(f.lateness_ok || !f.has_lateness) && (f.duration_ok || !f.has_duration) &&
			core_is_template(md, &template))
		{
			kept_null[i] = true;
			template_used = true;
			continue;
		}
		kept[i] = JsonbPGetDatum(without_keys(md, false, f.lateness_ok, f.duration_ok));
	}

	values[0] = Int32GetDatum(st->n);
	values[1] = PointerGetDatum(int_array(st->at_ms, NULL, st->n, INT4OID));
	values[2] = PointerGetDatum(construct_md_array(letters, NULL, 1, dims, lbs, CHAROID, 1, true, TYPALIGN_CHAR));
	values[3] = PointerGetDatum(int_array(st->latency_us, st->latency_null, st->n, INT4OID));
	values[4] = PointerGetDatum(int_array(late, late_null, st->n, INT2OID));
	values[5] = PointerGetDatum(int_array(dur, dur_null, st->n, INT2OID));
	values[6] = PointerGetDatum(construct_md_array(kept, kept_null, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	/* the template only where a check refers to it (a chunk of failures keeps none) */
	values[7] = template_used ? JsonbPGetDatum(template.jsonb) : (Datum) 0;
	nulls[7] = !template_used;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
