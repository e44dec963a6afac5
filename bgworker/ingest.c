/*
 * ingest.c
 *	  The ingest worker: moves check results from the Redis streams
 *	  results:network and results:vision into the database, in batches of
 *	  one transaction each, and mirrors the fleet summary into Redis.
 *
 * A result leaves Redis (XACK + XDEL) only after the transaction holding it
 * has committed, so none is lost when the worker, the server or Redis
 * fails in between.  The same transaction records the last entry id per
 * stream (ingest_progress), so an entry delivered twice after a crash
 * between COMMIT and XACK is recognised and written once.
 *
 * A batch that fails is retried entry by entry: an entry the database
 * refuses as bad data is logged and dropped; any other failure (the
 * database is shutting down, the extension was dropped...) leaves the
 * entries pending, to be read again after a pause.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "guc.h"
#include "log_scrub.h"
#include "redis.h"
#include "worker.h"

PGDLLEXPORT void ch_ingest_main(Datum main_arg);

#define READ_COUNT 2000
#define READ_BLOCK_MS "200"
#define RETRY_PAUSE_MS 2000
#define SUMMARY_EVERY_MS 1000
#define NUM_STREAMS 2

static const char *const stream_names[NUM_STREAMS] = {"results:network", "results:vision"};

typedef struct EntryId
{
	int64		ms;
	int64		seq;
} EntryId;

typedef struct Entry
{
	int			stream;
	char	   *id;
	EntryId		parsed;
	const char *json;			/* NULL: nothing to write, only to acknowledge */
	int64		ref_camera;		/* a new reference frame from visionproc, */
	bytea	   *ref;			/* or NULL */
} Entry;

static RedisLink *redis;
static char *consumer;
static EntryId progress[NUM_STREAMS];

static EntryId
parse_entry_id(const char *id)
{
	EntryId		e;
	char	   *dash;

	e.ms = strtoi64(id, &dash, 10);
	e.seq = *dash == '-' ? strtoi64(dash + 1, NULL, 10) : 0;
	return e;
}

static bool
entry_after(EntryId a, EntryId b)
{
	return a.ms > b.ms || (a.ms == b.ms && a.seq > b.seq);
}

static void
load_progress(void)
{
	ch_spi_begin("camera_health ingest: loading progress");
	if (SPI_execute("SELECT stream, last_ms, last_seq FROM camera_health.ingest_progress", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading camera_health.ingest_progress failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *stream = SPI_getvalue(tup, desc, 1);
		bool		isnull;

		for (int s = 0; s < NUM_STREAMS; s++)
			if (strcmp(stream, stream_names[s]) == 0)
			{
				progress[s].ms = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
				progress[s].seq = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			}
	}
	ch_spi_commit();
}

/*
 * The first reference frame of a camera wins; the scheduler mirrors it
 * into Redis when the transaction commits (trigger camera_references_changed).
 */
static void
store_reference(int64 camera_id, bytea *image)
{
	Oid			argtypes[2] = {INT8OID, BYTEAOID};
	Datum		values[2] = {Int64GetDatum(camera_id), PointerGetDatum(image)};

	if (SPI_execute_with_args("INSERT INTO camera_health.camera_references (camera_id, image) "
							  "SELECT $1, $2 WHERE EXISTS (SELECT FROM camera_health.cameras WHERE id = $1) "
							  "ON CONFLICT (camera_id) DO NOTHING",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing a reference frame failed");
}

/*
 * Write some entries in one transaction.  On failure returns false with
 * the error's SQLSTATE in *sqlerrcode, having rolled back and logged.
 */
static bool
write_entries(Entry *entries, int n, int *sqlerrcode)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;
	StringInfoData batch;
	int			nwritten = 0;

	initStringInfo(&batch);
	appendStringInfoChar(&batch, '[');
	for (int i = 0; i < n; i++)
	{
		if (entries[i].json == NULL)
			continue;
		if (nwritten++ > 0)
			appendStringInfoChar(&batch, ',');
		appendStringInfoString(&batch, entries[i].json);
	}
	appendStringInfoChar(&batch, ']');
	if (nwritten == 0)
		return true;

	PG_TRY();
	{
		Oid			argtypes[3] = {TEXTOID, INT4OID, INT4OID};
		Datum		values[3];
		EntryId		last[NUM_STREAMS];

		ch_spi_begin(psprintf("camera_health ingest: writing %d results", nwritten));
		values[0] = CStringGetTextDatum(batch.data);
		values[1] = Int32GetDatum(camera_health_alert_open_after);
		values[2] = Int32GetDatum(camera_health_alert_resolve_after);
		if (SPI_execute_with_args("SELECT * FROM camera_health.record_results($1::jsonb, $2, $3)",
								  3, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "camera_health.record_results failed");

		for (int i = 0; i < n; i++)
			if (entries[i].json != NULL && entries[i].ref != NULL)
				store_reference(entries[i].ref_camera, entries[i].ref);

		memcpy(last, progress, sizeof(last));
		for (int i = 0; i < n; i++)
			if (entry_after(entries[i].parsed, last[entries[i].stream]))
				last[entries[i].stream] = entries[i].parsed;
		for (int s = 0; s < NUM_STREAMS; s++)
		{
			Oid			ptypes[3] = {TEXTOID, INT8OID, INT8OID};
			Datum		pvalues[3];

			if (!entry_after(last[s], progress[s]))
				continue;
			pvalues[0] = CStringGetTextDatum(stream_names[s]);
			pvalues[1] = Int64GetDatum(last[s].ms);
			pvalues[2] = Int64GetDatum(last[s].seq);
			if (SPI_execute_with_args("INSERT INTO camera_health.ingest_progress AS p (stream, last_ms, last_seq) "
									  "VALUES ($1, $2, $3) ON CONFLICT (stream) DO UPDATE "
									  "SET last_ms = excluded.last_ms, last_seq = excluded.last_seq, updated_at = now()",
									  3, ptypes, pvalues, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "updating camera_health.ingest_progress failed");
		}
		ch_spi_commit();
		memcpy(progress, last, sizeof(last));
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);

		*sqlerrcode = edata->sqlerrcode;
		ereport(LOG,
				(errmsg("camera_health ingest: writing %d results failed: %s", nwritten, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* Bad data, as opposed to a database that cannot take any data now. */
static bool
is_data_error(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

/* XACK and XDEL the given entries of each stream in one pipeline. */
static void
release_entries(Entry *entries, int n)
{
	int			nqueued = 0;

	for (int s = 0; s < NUM_STREAMS; s++)
	{
		const char **ack = palloc((n + 3) * sizeof(char *));
		const char **del = palloc((n + 2) * sizeof(char *));
		int			nids = 0;

		for (int i = 0; i < n; i++)
			if (entries[i].stream == s)
			{
				ack[3 + nids] = entries[i].id;
				del[2 + nids] = entries[i].id;
				nids++;
			}
		if (nids == 0)
			continue;
		ack[0] = "XACK";
		ack[1] = redis_key("%s", stream_names[s]);
		ack[2] = "ingest";
		del[0] = "XDEL";
		del[1] = ack[1];
		redis_queuev(redis, 3 + nids, ack, NULL);
		redis_queuev(redis, 2 + nids, del, NULL);
		nqueued += 2;
	}
	redis_drain(redis, nqueued, NULL);
}

/*
 * Write entries and release those that are done.  Returns false when the
 * database could not take them: they stay pending.
 */
static bool
ingest_entries(Entry *entries, int n)
{
	int			sqlerrcode;
	int			done = 0;

	if (write_entries(entries, n, &sqlerrcode))
	{
		release_entries(entries, n);
		return true;
	}
	/* one by one, to find the bad ones */
	for (; done < n; done++)
	{
		if (write_entries(&entries[done], 1, &sqlerrcode))
			continue;
		if (!is_data_error(sqlerrcode))
			break;
		ereport(LOG,
				(errmsg("camera_health ingest: dropped result %s of %s",
						entries[done].id, stream_names[entries[done].stream]),
				 errdetail("The result was: %s", scrub_secrets(entries[done].json))));
	}
	release_entries(entries, done);
	return done == n;
}

/* Collect the entries of an XREADGROUP reply; those already written are marked. */
static int
collect_entries(const redisReply *reply, Entry *out)
{
	int			n = 0;

	for (size_t s = 0; s < reply->elements; s++)
	{
		const redisReply *stream = reply->element[s];
		const redisReply *entries = stream->element[1];
		int			si = -1;

		for (int k = 0; k < NUM_STREAMS; k++)
			if (strcmp(stream->element[0]->str, redis_key("%s", stream_names[k])) == 0)
				si = k;
		if (si < 0)
			continue;
		for (size_t i = 0; i < entries->elements; i++)
		{
			const redisReply *e = entries->element[i];
			const redisReply *fields = e->element[1];
			Entry	   *entry = &out[n++];

			entry->stream = si;
			entry->id = pstrdup(e->element[0]->str);
			entry->parsed = parse_entry_id(entry->id);
			entry->json = NULL;
			entry->ref = NULL;
			if (fields->type != REDIS_REPLY_ARRAY || !entry_after(entry->parsed, progress[si]))
				continue;
			for (size_t f = 0; f + 1 < fields->elements; f += 2)
			{
				const char *name = fields->element[f]->str;
				const redisReply *value = fields->element[f + 1];

				if (strcmp(name, "r") == 0)
					entry->json = pstrdup(value->str);
				else if (strcmp(name, "camera_id") == 0)
					entry->ref_camera = strtoi64(value->str, NULL, 10);
				else if (strcmp(name, "ref") == 0)
				{
					entry->ref = palloc(VARHDRSZ + value->len);
					SET_VARSIZE(entry->ref, VARHDRSZ + value->len);
					memcpy(VARDATA(entry->ref), value->str, value->len);
				}
			}
		}
	}
	return n;
}

static void
create_groups(void)
{
	for (int s = 0; s < NUM_STREAMS; s++)
	{
		/* from 0: results posted before the group existed are kept */
		redisReply *reply = redis_run(redis, "XGROUP CREATE %s ingest 0 MKSTREAM",
									  redis_key("%s", stream_names[s]));

		if (reply)
			freeReplyObject(reply);
	}
}

/*
 * Read and write one batch.  from is "0" for our own pending entries, ">"
 * for new ones.  Returns the number of entries read, or -1 when they could
 * not be written.
 */
static int
ingest_batch(const char *from)
{
	redisReply *reply;
	Entry	   *entries;
	int			n;
	bool		ok;

	/* BLOCK matters only for new entries: pending ones come back at once */
	reply = redis_run(redis, "XREADGROUP GROUP ingest %s COUNT %d BLOCK %s STREAMS %s %s %s %s",
					  consumer, READ_COUNT, READ_BLOCK_MS,
					  redis_key("%s", stream_names[0]), redis_key("%s", stream_names[1]), from, from);
	if (reply == NULL)
		return 0;
	if (redis_is_error(reply, "NOGROUP"))
	{
		freeReplyObject(reply);
		create_groups();
		return 0;
	}
	if (reply->type != REDIS_REPLY_ARRAY)
	{
		if (reply->type == REDIS_REPLY_ERROR)
			ereport(LOG, (errmsg("camera_health ingest: reading results failed: %s", reply->str)));
		freeReplyObject(reply);
		return 0;
	}
	entries = palloc(NUM_STREAMS * READ_COUNT * sizeof(Entry));
	n = collect_entries(reply, entries);
	freeReplyObject(reply);
	if (n == 0)
		return 0;
	ok = ingest_entries(entries, n);
	return ok ? n : -1;
}

/* Mirror health_summary() into the Redis hash health:summary. */
static void
publish_summary(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *json;
	redisReply *reply;

	ch_spi_begin("camera_health ingest: summary");
	if (SPI_execute("SELECT camera_health.health_summary()::text", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "camera_health.health_summary() failed");
	json = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	ch_spi_commit();

	reply = redis_run(redis, "HSET %s json %s updated_ms %lld", redis_key("health:summary"),
					  json, (long long) ch_now_ms());
	if (reply)
		freeReplyObject(reply);
}

void
ch_ingest_main(Datum main_arg)
{
	MemoryContext loop_context;
	bool		reread_pending = true;
	int64		last_summary = 0;
	bool		wrote_since_summary = true;

	ch_worker_start("ingest");
	load_progress();
	redis = redis_link_create("ingest");
	consumer = MemoryContextStrdup(TopMemoryContext,
								   psprintf("pg-" UINT64_FORMAT "-ingest", GetSystemIdentifier()));
	loop_context = AllocSetContextCreate(TopMemoryContext, "camera_health ingest loop",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		MemoryContext old;
		long		pause = 0;

		if (ch_worker_interrupts())
			redis_link_reset(redis);

		old = MemoryContextSwitchTo(loop_context);
		if (!redis_link_up(redis))
		{
			reread_pending = true;
			pause = 200;
		}
		else
		{
			int			n;

			if (reread_pending)
			{
				/* what we read but could not write, until none is left */
				while ((n = ingest_batch("0")) > 0)
					wrote_since_summary = true;
				reread_pending = n < 0;
			}
			if (!reread_pending)
			{
				n = ingest_batch(">");
				if (n > 0)
					wrote_since_summary = true;
				reread_pending = n < 0;
			}
			if (reread_pending)
				pause = RETRY_PAUSE_MS;

			if (wrote_since_summary && ch_now_ms() - last_summary >= SUMMARY_EVERY_MS)
			{
				publish_summary();
				last_summary = ch_now_ms();
				wrote_since_summary = false;
			}
		}
		ch_worker_check_memory(loop_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);

		if (pause > 0)
			ch_worker_wait(pause);
	}
}
