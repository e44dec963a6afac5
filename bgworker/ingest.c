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
 * Every reply is checked for shape and size (common/redis_reply.h); what
 * does not fit is logged (once a minute per kind) and dropped.
 *
 * A batch that fails is retried entry by entry.  An entry that fails
 * alone, whatever its SQLSTATE, while the database takes an empty batch
 * (so it is the entry, not the database), is tried MAX_ATTEMPTS times and
 * then set aside as a dead letter: a copy goes to the Redis stream
 * dead:results, a row (masked, truncated) to camera_health.dead_letters,
 * a line to the server log, and the entry is acknowledged, so the results
 * behind it are written at once.  An entry too big to be a result is a
 * dead letter as soon as it is read.  When the database takes nothing
 * (shutting down, read-only, the extension dropped...), the entries stay
 * pending and are read again after a pause.
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

#include "mb/pg_wchar.h"

#include "camera_mode.h"
#include "grey_format.h"
#include "jpeg_check.h"
#include "guc.h"
#include "history_pack.h"
#include "log_scrub.h"
#include "redis.h"
#include "redis_reply.h"
#include "worker.h"

PGDLLEXPORT void ch_ingest_main(Datum main_arg);

#define READ_COUNT 2000
#define READ_BLOCK_MS "200"
#define RETRY_PAUSE_MS 2000
#define SUMMARY_EVERY_MS 1000
#define SUMMARY_SHARE 20		/* the summary waits 20 times what it took: 5 % of the worker */
#define NUM_STREAMS 2
#define CAREFUL_READ_COUNT 16	/* after a reply was too big for the reader */
#define MAX_PENDING_BATCHES 50	/* per loop, so that signals are seen */

/* What one entry may hold; a bigger one is a dead letter without being parsed. */
#define MAX_RESULT_BYTES (1024 * 1024)
#define MAX_REF_BYTES (4 * 1024 * 1024)	/* camera_references.image's CHECK */
#define BATCH_BYTES (16 * 1024 * 1024)	/* results per transaction */
#define MAX_ID_AHEAD_MS ((int64) 86400 * 1000)	/* entry ids are Redis's clock in ms */
#define MAX_ATTEMPTS 3			/* of an entry written alone, before it is set aside */
#define MAX_MESSAGE_BYTES 1000

/* Redis keys (before camera_health.key_prefix) */
static const char *const stream_names[NUM_STREAMS] = {"results:network", "results:vision"};
#define DEAD_LETTER_STREAM "dead:results"
#define DEAD_LETTER_MAXLEN "1000"	/* entries, approximately (MAXLEN ~) */
#define DEAD_LETTER_STREAM_BYTES (64 * 1024)	/* of the payload kept in the stream */
#define DEAD_LETTER_ROWS 10000	/* kept in camera_health.dead_letters */
#define DEAD_LETTER_ROW_BYTES 2000	/* of the payload kept in a row */

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
	size_t		json_len;
	int64		ref_camera;		/* a new reference frame from visionproc, */
	bytea	   *ref;			/* or NULL */
	bytea	   *jpeg;			/* the analysed frame's picture (checked), or NULL */
	int			ref_mode;		/* its lighting mode (ChCameraMode) */
	const char *dead_reason;	/* set aside on reading: why, else NULL */
	char	   *payload;		/* for a dead letter: the start of the entry */
	size_t		payload_len;
} Entry;

static RedisLink *redis;
static char *consumer;
static EntryId progress[NUM_STREAMS];

static int	read_count = READ_COUNT;	/* CAREFUL_READ_COUNT after a refused reply */
static bool sweep_needed = false;	/* a reply was too big for the reader */
static int64 last_batch_failure_log = 0;

/* "<ms>-<seq>", both decimal; false for anything else. */
static bool
parse_entry_id(const char *id, EntryId *e)
{
	char		ms[CH_STREAM_ID_MAX + 1];
	const char *dash = strchr(id, '-');

	if (dash == NULL || dash - id > CH_STREAM_ID_MAX || id[0] == '-' || dash[1] == '-')
		return false;
	memcpy(ms, id, dash - id);
	ms[dash - id] = '\0';
	return ch_parse_int64(ms, 0, PG_INT64_MAX, &e->ms) &&
		ch_parse_int64(dash + 1, 0, PG_INT64_MAX, &e->seq);
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
 * The first reference frame of a camera in a lighting mode wins; the
 * scheduler mirrors it into Redis when the transaction commits (trigger
 * camera_references_changed).  Only well-formed images of a known mode get
 * here (collect_entries), and the CHECK constraint of
 * camera_references.image and the domain of its mode refuse any other.
 */
static bool
store_reference(int64 camera_id, int mode, bytea *image)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, BYTEAOID};
	Datum		values[3] = {Int64GetDatum(camera_id), CStringGetTextDatum(ch_mode_name(mode)),
	PointerGetDatum(image)};

	if (SPI_execute_with_args("INSERT INTO camera_health.camera_references (camera_id, mode, image) "
							  "SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM camera_health.cameras WHERE id = $1) "
							  "ON CONFLICT (camera_id, mode) DO NOTHING",
							  3, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing a reference frame failed");
	return SPI_processed == 1;
}

/*
 * The picture of a vision result's analysed frame: the camera's snapshot,
 * the evidence of a vision alert the result opened, and the reference's
 * picture when its frame became the reference (is_reference: stored just
 * now).  Only plausible JPEGs get here (take_jpeg); record_frame finds the
 * camera and the time in the result itself.
 */
static void
store_frame(const Entry *entry, bool is_reference)
{
	Oid			argtypes[3] = {TEXTOID, BYTEAOID, BOOLOID};
	Datum		values[3] = {PointerGetDatum(cstring_to_text_with_len(entry->json, entry->json_len)),
		PointerGetDatum(entry->jpeg), BoolGetDatum(is_reference)};

	if (SPI_execute_with_args("SELECT camera_health.record_frame($1::jsonb, $2, $3)",
							  3, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "storing a picture failed");
}

/*
 * In a transaction: record the last entry id of each stream among these
 * entries in ingest_progress; *last receives the new progress, adopted by
 * the caller once the transaction has committed.
 */
static void
save_progress(const Entry *entries, int n, EntryId *last)
{
	memcpy(last, progress, sizeof(EntryId) * NUM_STREAMS);
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
}

/* At most max bytes of s, cut at a character boundary (server encoding). */
static char *
clip_text(const char *s, size_t max)
{
	size_t		len = strlen(s);

	if (len <= max)
		return pstrdup(s);
	return pnstrdup(s, pg_mbcliplen(s, len, max));
}

/*
 * Printable text of at most max bytes from untrusted bytes: characters
 * invalid in the server encoding, control characters and NULs become '?'.
 */
static char *
printable_text(const char *data, size_t len, size_t max)
{
	StringInfoData out;
	int			encoding = GetDatabaseEncoding();
	size_t		i = 0;

	initStringInfo(&out);
	while (i < len && (size_t) out.len < max)
	{
		unsigned char c = (unsigned char) data[i];
		int			l;

		if (c >= 0x20 && c < 0x7f)
		{
			appendStringInfoChar(&out, c);
			i++;
		}
		else if (c >= 0x80 && (l = pg_encoding_verifymbchar(encoding, data + i, len - i)) > 0)
		{
			appendBinaryStringInfo(&out, data + i, l);
			i += l;
		}
		else
		{
			appendStringInfoChar(&out, '?');
			i++;
		}
	}
	return out.data;
}

/*
 * Write some entries in one transaction.  On failure returns false with
 * the error's SQLSTATE in *sqlerrcode and its message in *message (when
 * not NULL; palloc'd), having rolled back, and logged unless message is
 * asked for (the caller then logs what becomes of the entry).
 */
static bool
write_entries(Entry *entries, int n, int *sqlerrcode, char **message)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;
	volatile int nwritten = 0;

	for (int i = 0; i < n; i++)
		if (entries[i].json != NULL)
			nwritten++;
	if (nwritten == 0)
		return true;

	PG_TRY();
	{
		Oid			argtypes[3] = {TEXTOID, INT4OID, INT4OID};
		Datum		values[3];
		EntryId		last[NUM_STREAMS];
		StringInfoData batch;
		int			k = 0;

		/* built in here: even a batch too big for one allocation is an error caught */
		initStringInfo(&batch);
		appendStringInfoChar(&batch, '[');
		for (int i = 0; i < n; i++)
		{
			if (entries[i].json == NULL)
				continue;
			if (k++ > 0)
				appendStringInfoChar(&batch, ',');
			appendBinaryStringInfo(&batch, entries[i].json, entries[i].json_len);
		}
		appendStringInfoChar(&batch, ']');

		ch_spi_begin(psprintf("camera_health ingest: writing %d results", nwritten));
		values[0] = PointerGetDatum(cstring_to_text_with_len(batch.data, batch.len));
		values[1] = Int32GetDatum(camera_health_alert_open_after);
		values[2] = Int32GetDatum(camera_health_alert_resolve_after);
		if (SPI_execute_with_args("SELECT * FROM camera_health.record_results($1::jsonb, $2, $3)",
								  3, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "camera_health.record_results failed");

		for (int i = 0; i < n; i++)
		{
			bool		new_reference = false;

			if (entries[i].json != NULL && entries[i].ref != NULL)
				new_reference = store_reference(entries[i].ref_camera, entries[i].ref_mode, entries[i].ref);
			if (entries[i].json != NULL && entries[i].jpeg != NULL)
				store_frame(&entries[i], new_reference);
		}

		save_progress(entries, n, last);
		ch_spi_commit();
		MemoryContextSwitchTo(caller);
		memcpy(progress, last, sizeof(last));
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);
		char	   *msg = scrub_secrets(clip_text(edata->message, MAX_MESSAGE_BYTES));

		*sqlerrcode = edata->sqlerrcode;
		if (message)
			*message = msg;
		else if (ch_now_ms() - last_batch_failure_log >= 60000)
		{
			last_batch_failure_log = ch_now_ms();
			ereport(LOG,
					(errmsg("camera_health ingest: writing %d results failed: %s", nwritten, msg),
					 edata->detail ? errdetail("%s", scrub_secrets(clip_text(edata->detail, MAX_MESSAGE_BYTES))) : 0,
					 errhint("The results are written one by one; those that fail alone are set aside. "
							 "(Logged at most once a minute.)")));
		}
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * Does the database take results at all?  An empty batch and a write to
 * ingest_progress, in one transaction: when even that fails, an entry that
 * failed is not to blame and must not be set aside.
 */
static bool
database_takes_data(void)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		Oid			argtypes[3] = {TEXTOID, INT8OID, INT8OID};
		Datum		values[3] = {CStringGetTextDatum(stream_names[0]),
			Int64GetDatum(progress[0].ms), Int64GetDatum(progress[0].seq)};

		ch_spi_begin("camera_health ingest: probing the database");
		if (SPI_execute("SELECT * FROM camera_health.record_results('[]', 1, 1)", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "camera_health.record_results failed");
		if (SPI_execute_with_args("INSERT INTO camera_health.ingest_progress (stream, last_ms, last_seq) "
								  "VALUES ($1, $2, $3) ON CONFLICT (stream) DO UPDATE SET updated_at = now()",
								  3, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "updating camera_health.ingest_progress failed");
		ch_spi_commit();
		MemoryContextSwitchTo(caller);
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);
		static int64 last_logged = 0;

		/* once a minute: a read-only or full database may last */
		if (ch_now_ms() - last_logged >= 60000)
		{
			ereport(LOG,
					(errmsg("camera_health ingest: the database takes no results now: %s",
							clip_text(edata->message, MAX_MESSAGE_BYTES)),
					 errdetail("The results stay in Redis and are read again every %d ms.", RETRY_PAUSE_MS)));
			last_logged = ch_now_ms();
		}
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* XADD a copy of a dead letter to the dead-letter stream; false on failure. */
static bool
post_dead_letter(const Entry *e, const char *sqlstate, const char *message)
{
	size_t		plen = Min(e->payload_len, DEAD_LETTER_STREAM_BYTES);
	const char *argv[16] = {"XADD", redis_key(DEAD_LETTER_STREAM), "MAXLEN", "~", DEAD_LETTER_MAXLEN, "*",
		"stream", stream_names[e->stream], "id", e->id, "sqlstate", sqlstate, "message", message,
	"r", e->payload ? e->payload : ""};
	size_t		lens[16];
	redisReply *reply;
	bool		ok;

	for (int i = 0; i < 15; i++)
		lens[i] = strlen(argv[i]);
	lens[15] = e->payload ? plen : 0;
	reply = redis_runv(redis, 16, argv, lens);
	if (reply == NULL)
		return false;
	ok = reply->type != REDIS_REPLY_ERROR;
	if (!ok)
		redis_malformed(redis, "XADD " DEAD_LETTER_STREAM ": an error reply");
	freeReplyObject(reply);
	return ok;
}

/*
 * Set one entry aside: a copy in the dead-letter stream, a row in
 * camera_health.dead_letters (the oldest beyond DEAD_LETTER_ROWS go), the
 * entry counted as written in ingest_progress (when count_as_written: all
 * entries before it are), a line in the log.  The
 * caller acknowledges it.  False when Redis or the database failed: the
 * entry stays pending.
 */
static bool
dead_letter(Entry *e, int sqlerrcode, const char *message, bool count_as_written)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;
	const char *sqlstate = unpack_sql_state(sqlerrcode);
	char	   *masked = scrub_secrets(printable_text(e->payload ? e->payload : "",
												  e->payload_len, 4 * DEAD_LETTER_ROW_BYTES));
	char	   *row_payload = clip_text(masked, DEAD_LETTER_ROW_BYTES);

	if (!post_dead_letter(e, sqlstate, message))
		return false;
	PG_TRY();
	{
		Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[5] = {CStringGetTextDatum(stream_names[e->stream]), CStringGetTextDatum(e->id),
			CStringGetTextDatum(sqlstate), CStringGetTextDatum(message), CStringGetTextDatum(row_payload)};
		EntryId		last[NUM_STREAMS];

		ch_spi_begin("camera_health ingest: setting a result aside");
		if (SPI_execute_with_args("WITH d AS (INSERT INTO camera_health.dead_letters "
								  "(stream, entry_id, sqlstate, message, payload) "
								  "VALUES ($1, $2, $3, $4, $5) RETURNING id) "
								  "DELETE FROM camera_health.dead_letters WHERE id <= (SELECT id FROM d) - "
								  CppAsString2(DEAD_LETTER_ROWS),
								  5, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "writing camera_health.dead_letters failed");
		if (count_as_written)
			save_progress(e, 1, last);
		ch_spi_commit();
		MemoryContextSwitchTo(caller);
		if (count_as_written)
			memcpy(progress, last, sizeof(last));
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);

		ereport(LOG, (errmsg("camera_health ingest: recording dead letter %s failed: %s",
							 e->id, clip_text(edata->message, MAX_MESSAGE_BYTES))));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	if (!ok)
		return false;
	ereport(LOG,
			(errmsg("camera_health ingest: set result %s of %s aside as a dead letter (SQLSTATE %s): %s",
					e->id, stream_names[e->stream], sqlstate, message),
			 errdetail("It begins: %s", clip_text(masked, 200)),
			 errhint("It is kept in the Redis stream %s and in camera_health.dead_letters.",
					 DEAD_LETTER_STREAM)));
	e->json = NULL;				/* done: only to acknowledge */
	return true;
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
 * Write one chunk of entries, in order, setting aside those that cannot be
 * written.  Returns how many of the first entries are done (all n, unless
 * the database or Redis failed).  In order, because the progress recorded
 * is the last entry id: an entry is counted as done only when all before
 * it are.
 */
static int
write_chunk(Entry *entries, int n)
{
	int			sqlerrcode;

	/* set aside on reading: a chunk of its own (see ingest_entries) */
	if (entries[0].dead_reason != NULL)
		return dead_letter(&entries[0], ERRCODE_PROGRAM_LIMIT_EXCEEDED, entries[0].dead_reason, true) ? 1 : 0;
	if (write_entries(entries, n, &sqlerrcode, NULL))
		return n;
	/* one by one, to find the bad ones */
	for (int done = 0; done < n; done++)
	{
		for (int attempt = 1;; attempt++)
		{
			char	   *message;

			if (write_entries(&entries[done], 1, &sqlerrcode, &message))
				break;
			if (!database_takes_data())
				return done;
			if (attempt >= MAX_ATTEMPTS)
			{
				if (!dead_letter(&entries[done], sqlerrcode, message, true))
					return done;
				break;
			}
		}
	}
	return n;
}

/*
 * Write entries and release those that are done, in chunks: runs of at
 * most BATCH_BYTES, and each entry set aside on reading alone.  Returns
 * false when the database could not take them: the rest stay pending.
 */
static bool
ingest_entries(Entry *entries, int n)
{
	int			start = 0;

	while (start < n)
	{
		int			end = start + 1;
		size_t		bytes = entries[start].json_len;
		int			done;

		if (entries[start].dead_reason == NULL)
			while (end < n && entries[end].dead_reason == NULL &&
				   bytes + entries[end].json_len <= BATCH_BYTES)
				bytes += entries[end++].json_len;
		done = write_chunk(&entries[start], end - start);
		if (done < end - start)
		{
			release_entries(entries, start + done);
			return false;
		}
		start = end;
	}
	release_entries(entries, n);
	return true;
}

/* Keep the start of an entry's result for its dead letter. */
static void
keep_payload(Entry *entry, const char *data, size_t len)
{
	entry->payload_len = Min(len, DEAD_LETTER_STREAM_BYTES);
	entry->payload = palloc(entry->payload_len + 1);
	memcpy(entry->payload, data, entry->payload_len);
	entry->payload[entry->payload_len] = '\0';
}

/*
 * A reference frame of a vision result, when it carries one: kept only
 * when well-formed, of a camera id and of a known lighting mode (field
 * ref_mode; none is day, as visionproc before issue 11 sent); a malformed
 * one is dropped (the result itself is written).
 */
static void
take_reference(Entry *entry, const redisReply *fields)
{
	const char *camera_id = ch_stream_field(fields, "camera_id", 32, NULL);
	size_t		len;
	const char *image = ch_stream_field(fields, "ref", MAX_REF_BYTES, &len);
	size_t		mode_len = 0;
	const char *mode = ch_stream_field(fields, "ref_mode", CH_MODE_NAME_MAX, &mode_len);
	int			width,
				height;
	size_t		pixels_at;

	if (ch_stream_field(fields, "ref", SIZE_MAX, NULL) == NULL && camera_id == NULL)
		return;					/* none */
	entry->ref_mode = mode ? ch_mode_parse(mode, mode_len) : CH_MODE_DAY;
	if (image == NULL || camera_id == NULL ||
		(mode == NULL && ch_stream_field(fields, "ref_mode", SIZE_MAX, NULL) != NULL) ||
		entry->ref_mode < 0 ||
		!ch_parse_int64(camera_id, 1, PG_INT64_MAX, &entry->ref_camera) ||
		!ch_grey_parse((const uint8_t *) image, len, &width, &height, &pixels_at))
	{
		redis_malformed(redis, "results:vision: a malformed reference frame (the result is kept)");
		return;
	}
	entry->ref = palloc(VARHDRSZ + len);
	SET_VARSIZE(entry->ref, VARHDRSZ + len);
	memcpy(VARDATA(entry->ref), image, len);
}

/*
 * The picture of a vision result (field jpeg), when it carries one: kept
 * only when it is plausibly one JPEG of at most CH_JPEG_MAX_BYTES (what the
 * tables' CHECKs take); anything else is dropped and logged, the result
 * itself is written.
 */
static void
take_jpeg(Entry *entry, const redisReply *fields)
{
	size_t		len = 0;
	const char *image;

	if (ch_stream_field(fields, "jpeg", SIZE_MAX, &len) == NULL)
		return;					/* none */
	image = ch_stream_field(fields, "jpeg", CH_JPEG_MAX_BYTES, &len);
	if (image == NULL || !ch_jpeg_plausible((const uint8_t *) image, len))
	{
		redis_malformed(redis, "results:vision: a picture (field jpeg) that is not a JPEG of at most 64 kB "
						"(the picture is dropped, the result kept)");
		return;
	}
	entry->jpeg = palloc(VARHDRSZ + len);
	SET_VARSIZE(entry->jpeg, VARHDRSZ + len);
	memcpy(VARDATA(entry->jpeg), image, len);
}

/* Fill in one entry from its fields (NULL: trimmed while pending, only to acknowledge). */
static void
take_fields(Entry *entry, const redisReply *fields)
{
	size_t		len;
	const char *json;

	if (fields == NULL || !entry_after(entry->parsed, progress[entry->stream]))
		return;
	json = ch_stream_field(fields, "r", SIZE_MAX, &len);
	if (json == NULL)
	{
		entry->dead_reason = "the entry holds no result (field r)";
		keep_payload(entry, "", 0);
		return;
	}
	if (len > MAX_RESULT_BYTES)
		entry->dead_reason = psprintf("the result is %zu bytes, more than the %d a result may have",
									  len, MAX_RESULT_BYTES);
	else if (memchr(json, '\0', len) != NULL)
		entry->dead_reason = "the result holds a NUL byte";
	if (entry->dead_reason != NULL)
		keep_payload(entry, json, len);
	else
	{
		/* one copy: the payload of its dead letter, should it become one */
		entry->json = pnstrdup(json, len);
		entry->json_len = len;
		entry->payload = (char *) entry->json;
		entry->payload_len = len;
		if (entry->stream == 1)
		{
			take_reference(entry, fields);
			take_jpeg(entry, fields);
		}
	}
}

/*
 * Collect the entries of an XREADGROUP reply into out (room for max);
 * those already written are marked.  Anything not of the shape of a real
 * reply is dropped and logged.
 */
static int
collect_entries(const redisReply *reply, Entry *out, int max)
{
	int			n = 0;

	if (!ch_reply_is_array(reply, 1, NUM_STREAMS))
	{
		redis_malformed(redis, "XREADGROUP: not an array of one or two streams");
		return 0;
	}
	for (size_t s = 0; s < reply->elements; s++)
	{
		const redisReply *stream = ch_reply_elem(reply, s);
		const char *name = ch_reply_cstr(ch_reply_elem(stream, 0), 1024);
		const redisReply *entries = ch_reply_elem(stream, 1);
		int			si = -1;

		for (int k = 0; name != NULL && k < NUM_STREAMS; k++)
			if (strcmp(name, redis_key("%s", stream_names[k])) == 0)
				si = k;
		if (!ch_reply_is_array(stream, 2, 2) || si < 0 || !ch_reply_is_array(entries, 0, read_count) ||
			n + entries->elements > (size_t) max)
		{
			redis_malformed(redis, "XREADGROUP: a stream is not [name, up to COUNT entries]");
			continue;
		}
		for (size_t i = 0; i < entries->elements; i++)
		{
			const char *id;
			const redisReply *fields;
			Entry	   *entry = &out[n];
			bool		whole = ch_stream_entry(ch_reply_elem(entries, i), &id, &fields);

			memset(entry, 0, sizeof(*entry));
			if (id == NULL || !parse_entry_id(id, &entry->parsed))
			{
				redis_malformed(redis, "XREADGROUP: an entry without a valid id");
				continue;
			}
			/* written, it would move the progress past every real result to come */
			if (entry->parsed.ms > ch_now_ms() + MAX_ID_AHEAD_MS)
			{
				redis_malformed(redis, "XREADGROUP: an entry id more than a day ahead of this clock");
				continue;
			}
			entry->stream = si;
			entry->id = pstrdup(id);
			n++;
			if (!whole)
			{
				/* a readable id but not [id, fields]: set aside, never retried */
				redis_malformed(redis, "XREADGROUP: an entry is not [id, [field, value, ...]]");
				if (entry_after(entry->parsed, progress[si]))
				{
					entry->dead_reason = "the entry is not [id, [field, value, ...]]";
					keep_payload(entry, "", 0);
				}
				continue;
			}
			take_fields(entry, fields);
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
 * Our pending entries too big for the reader (which refused the whole
 * reply and dropped the connection), found inside Redis: ids and sizes of
 * those whose fields total more than ARGV[3] bytes, with the start of
 * their result.  Without this they would be read again and refused for
 * ever.
 */
static const char *oversized_script =
"local out = {}\n"
"local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[4]), ARGV[2])\n"
"for _, e in ipairs(p) do\n"
"  local r = redis.call('XRANGE', KEYS[1], e[1], e[1])\n"
"  if r[1] then\n"
"    local size, head = 0, ''\n"
"    for i = 2, #r[1][2], 2 do\n"
"      size = size + #r[1][2][i]\n"
"      if r[1][2][i - 1] == 'r' then head = string.sub(r[1][2][i], 1, tonumber(ARGV[5])) end\n"
"    end\n"
"    if size > tonumber(ARGV[3]) then\n"
"      out[#out + 1] = e[1]; out[#out + 1] = tostring(size); out[#out + 1] = head\n"
"    end\n"
"  end\n"
"end\n"
"return out\n";

/* Set aside the pending entries too big to be read (see oversized_script). */
static void
sweep_oversized(void)
{
	for (int s = 0; s < NUM_STREAMS; s++)
	{
		char		limit[32];
		char		head_bytes[32];
		const char *argv[] = {"EVAL", oversized_script, "1", redis_key("%s", stream_names[s]),
		"ingest", consumer, limit, CppAsString2(READ_COUNT), head_bytes};
		redisReply *reply;

		/* numbers as digits: Lua's tonumber() of "(64 * 1024)" is nil */
		snprintf(limit, sizeof(limit), "%d", MAX_RESULT_BYTES + MAX_REF_BYTES + CH_JPEG_MAX_BYTES + 4096);
		snprintf(head_bytes, sizeof(head_bytes), "%d", DEAD_LETTER_STREAM_BYTES);
		reply = redis_runv(redis, lengthof(argv), argv, NULL);
		if (reply == NULL)
			return;
		if (!ch_reply_is_array(reply, 0, 3 * READ_COUNT) || reply->elements % 3 != 0)
			redis_malformed(redis, "EVAL (oversized entries): not id, size, head triples");
		else
			for (size_t i = 0; i < reply->elements; i += 3)
			{
				const char *id = ch_reply_cstr(ch_reply_elem(reply, i), CH_STREAM_ID_MAX);
				const char *size = ch_reply_cstr(ch_reply_elem(reply, i + 1), 32);
				size_t		hlen;
				const char *head = ch_reply_str(ch_reply_elem(reply, i + 2), DEAD_LETTER_STREAM_BYTES, &hlen);
				Entry		e;

				memset(&e, 0, sizeof(e));
				if (id == NULL || size == NULL || head == NULL || !parse_entry_id(id, &e.parsed))
				{
					redis_malformed(redis, "EVAL (oversized entries): a malformed triple");
					continue;
				}
				e.stream = s;
				e.id = pstrdup(id);
				keep_payload(&e, head, hlen);
				/*
				 * Not counted as written: the entries before it may not be
				 * yet.  (Swept twice after a crash, it is set aside twice.)
				 */
				if (!dead_letter(&e, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
								 psprintf("the entry is %s bytes, too big to be read", size), false))
					break;
				release_entries(&e, 1);
			}
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
	const char *error;

	/* BLOCK matters only for new entries: pending ones come back at once */
	reply = redis_run(redis, "XREADGROUP GROUP ingest %s COUNT %d BLOCK %s STREAMS %s %s %s %s",
					  consumer, read_count, READ_BLOCK_MS,
					  redis_key("%s", stream_names[0]), redis_key("%s", stream_names[1]), from, from);
	if (reply == NULL)
	{
		if (!redis_link_limit_hit(redis))
			return 0;
		sweep_needed = true;
		return -1;
	}
	if (redis_is_error(reply, "NOGROUP"))
	{
		freeReplyObject(reply);
		create_groups();
		return 0;
	}
	if (reply->type == REDIS_REPLY_NIL)
	{
		freeReplyObject(reply);
		return 0;				/* nothing new within BLOCK */
	}
	if ((error = ch_reply_error(reply, 1000)) != NULL)
	{
		ereport(LOG, (errmsg("camera_health ingest: reading results failed: %s", error)));
		freeReplyObject(reply);
		return 0;
	}
	entries = palloc(NUM_STREAMS * read_count * sizeof(Entry));
	n = collect_entries(reply, entries, NUM_STREAMS * read_count);
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
	int64		summary_pause = SUMMARY_EVERY_MS;
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

			bool		failed = false;

			if (reread_pending)
			{
				if (sweep_needed)
				{
					/* what the reader refused is set aside; then read a few at a time */
					sweep_oversized();
					sweep_needed = false;
					read_count = CAREFUL_READ_COUNT;
				}
				/* what we read but could not write, until none is left */
				n = 0;
				for (int b = 0; b < MAX_PENDING_BATCHES && (n = ingest_batch("0")) > 0; b++)
					wrote_since_summary = true;
				reread_pending = n != 0;
				failed = n < 0;
				if (n == 0)
					read_count = READ_COUNT;
			}
			if (!reread_pending)
			{
				n = ingest_batch(">");
				if (n > 0)
					wrote_since_summary = true;
				reread_pending = failed = n < 0;
			}
			if (failed)
				pause = RETRY_PAUSE_MS;

			/*
			 * Every second; less often when the summary takes long (its uptime
			 * reads a day of every camera's trends), so that it never costs
			 * ingest more than a twentieth of its time.
			 */
			if (wrote_since_summary && ch_now_ms() - last_summary >= summary_pause)
			{
				int64		start = ch_now_ms();

				publish_summary();
				last_summary = ch_now_ms();
				summary_pause = Max(SUMMARY_EVERY_MS, (last_summary - start) * SUMMARY_SHARE);
				wrote_since_summary = false;
			}
		}
		/* finished hours of check history, a group of cameras between batches */
		ch_pack_history_step();

		ch_worker_check_memory(loop_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);

		if (pause > 0)
			ch_worker_wait(pause);
	}
}
