/*
 * retention.c
 *	  The retention worker: keeps the check history (check_history) and
 *	  resolved alerts within each camera's retention, every
 *	  camera_health.retention_interval, or at once for run_retention().
 *
 * A pass, each step in transactions of its own:
 *	0. packs the checks of finished hours still in check_recent (ingest
 *	   packs them too, a group of cameras between its batches);
 *	1. creates the daily partitions of the next days;
 *	2. drops whole daily partitions older than the longest retention of any
 *	   camera: cheap however big they are (no row-by-row DELETE, no WAL per
 *	   row, nothing for vacuum).  The drop needs a brief ACCESS EXCLUSIVE
 *	   lock on the parent, asked for with a 50 ms lock_timeout: API calls
 *	   that queue behind the request wait no longer than that; on timeout
 *	   it retries, then leaves the partition for the next pass;
 *	3. deletes the remaining expired chunks (a camera's hour of a check,
 *	   once all of it has expired) in batches of
 *	   camera_health.retention_batch_size, one transaction each, partition
 *	   by partition (only those old enough to hold any): cameras on the
 *	   default retention together, cameras with a policy grouped by their
 *	   retention;
 *	4. deletes resolved alerts past their camera's retention (open ones
 *	   never), and prunes its own history, retention_runs.
 *	5. does the same for the hourly trends (check_trends) under their own
 *	   retention (trend_retention, camera_health.default_trend_retention):
 *	   creates next month's partition, drops whole months, deletes hours.
 * Each pass is recorded in retention_runs with what it removed, the longest
 * transaction it ran and any error.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "history_pack.h"
#include "shmem.h"
#include "worker.h"

PGDLLEXPORT void ch_retention_main(Datum main_arg);

#define DAYS_AHEAD 3
#define DROP_LOCK_TIMEOUT "50ms"
#define DROP_ATTEMPTS 5
#define DROP_RETRY_MS 500
#define DROP_GROUP 10			/* partitions dropped in one transaction */

typedef struct RunStats
{
	int64		run_id;
	int			created;
	int			dropped;
	int64		logs;
	int64		latency;
	int64		alerts;
	double		longest_ms;
	double		drop_ms;		/* time spent dropping partitions */
	double		delete_ms;		/* time spent deleting rows */
	char	   *error;			/* the first error, in TopMemoryContext */
} RunStats;

/* A step of a pass: runs in its own transaction(s), may fail. */
typedef void (*StepFn) (RunStats *st);

static TimestampTz txn_started;

static double
ms_since(TimestampTz start)
{
	return (GetCurrentTimestamp() - start) / 1000.0;
}

static void
begin(const char *activity)
{
	ch_spi_begin(activity);
	txn_started = GetCurrentTimestamp();
}

/* The commit counts: a dropped table's locks are held until it is done. */
static void
commit(RunStats *st)
{
	ch_spi_commit();
	st->longest_ms = Max(st->longest_ms, ms_since(txn_started));
}

static int64
exec_count(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (ret < 0)
		elog(ERROR, "retention query failed: %s", SPI_result_code_string(ret));
	return (int64) SPI_processed;
}

static void
step_create_partitions(RunStats *st)
{
	bool		isnull;

	begin("camera_health retention: creating partitions");
	if (SPI_execute("SELECT camera_health.create_partitions(" CppAsString2(DAYS_AHEAD) ")", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "create_partitions failed");
	st->created += DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	commit(st);
}

/* What one chunk of check_history holds: checks, and latency samples among them. */
#define CHUNK_WEIGHTS "l.n, pg_catalog.cardinality(pg_catalog.array_remove(l.latency_us, NULL))"

/*
 * How many checks and latency samples an expired partition holds: the
 * planner's count of its chunks times what a sample of 1 % of its pages
 * holds per chunk, as counting would read the whole partition, the very
 * work dropping it saves; a partition never analysed (small, or brand new)
 * is counted.
 */
static void
partition_checks(const char *partition, int64 *checks, int64 *latency)
{
	bool		isnull;
	double		chunks;
	const char *sample = "";

	SPI_execute(psprintf("SELECT c.reltuples FROM pg_catalog.pg_class c "
						 "WHERE c.oid = %s::pg_catalog.regclass", quote_literal_cstr(partition)), true, 0);
	chunks = DatumGetFloat4(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (chunks >= 0)
		sample = " TABLESAMPLE SYSTEM (1)";
	SPI_execute(psprintf("SELECT pg_catalog.count(*)::float8, coalesce(pg_catalog.sum(w.n), 0)::float8, "
						 "coalesce(pg_catalog.sum(w.latency), 0)::float8 "
						 "FROM (SELECT " CHUNK_WEIGHTS " FROM ONLY %s l%s) w(n, latency)",
						 partition, sample), true, 0);
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		double		seen = DatumGetFloat8(SPI_getbinval(row, desc, 1, &isnull));
		double		scale = (chunks >= 0 && seen > 0) ? chunks / seen : 1.0;

		*checks += (int64) (DatumGetFloat8(SPI_getbinval(row, desc, 2, &isnull)) * scale);
		*latency += (int64) (DatumGetFloat8(SPI_getbinval(row, desc, 3, &isnull)) * scale);
	}
}

/*
 * DROP TABLE names (one or more, comma-separated) in a transaction of its
 * own, waiting at most DROP_LOCK_TIMEOUT for the lock: false when it could
 * not be had (the caller tries again later); any other error propagates.
 */
static bool
drop_tables(RunStats *st, const char *names)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool dropped = false;

	PG_TRY();
	{
		begin("camera_health retention: dropping expired partitions");
		SPI_execute("SET LOCAL lock_timeout = '" DROP_LOCK_TIMEOUT "'", false, 0);
		SPI_execute(psprintf("DROP TABLE %s", names), false, 0);
		commit(st);
		dropped = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FreeErrorData(edata);
		FreeErrorData(ch_recover_from_error(caller));
	}
	PG_END_TRY();
	return dropped;
}

/*
 * Drop some expired partitions of one parent in one transaction (one lock,
 * one commit); false when the lock could not be had in time.
 */
static bool
drop_partitions(RunStats *st, List *partitions)
{
	StringInfoData names;
	ListCell   *lc;
	int64		counted[2] = {0, 0};	/* checks, latency samples */
	bool		dropped;
	TimestampTz start = GetCurrentTimestamp();

	initStringInfo(&names);
	begin("camera_health retention: sizing expired partitions");
	foreach(lc, partitions)
	{
		appendStringInfo(&names, "%s%s", names.len ? ", " : "", (char *) lfirst(lc));
		partition_checks(lfirst(lc), &counted[0], &counted[1]);
	}
	commit(st);

	dropped = drop_tables(st, names.data);

	st->drop_ms += ms_since(start);
	if (dropped)
	{
		st->dropped += list_length(partitions);
		st->logs += counted[0];
		st->latency += counted[1];
	}
	return dropped;
}

/* Pack what ingest has not packed yet, so that the pass sees whole hours. */
static void
step_pack_history(RunStats *st)
{
	(void) st;
	ch_pack_history_all();
}

static void
step_drop_partitions(RunStats *st)
{
	List	   *expired = NIL;
	MemoryContext caller = CurrentMemoryContext;

	begin("camera_health retention: finding expired partitions");
	if (SPI_execute("SELECT partition::text FROM camera_health.expired_partitions("
					"pg_catalog.now() - camera_health.longest_retention())", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "expired_partitions failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		expired = lappend(expired, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(old);
	}
	commit(st);

	/* a few at a time: one lock and one commit for several, held briefly */
	for (int from = 0; from < list_length(expired); from += DROP_GROUP)
	{
		List	   *group = list_copy_head(list_copy_tail(expired, from), DROP_GROUP);

		for (int attempt = 1; !drop_partitions(st, group); attempt++)
		{
			if (attempt == DROP_ATTEMPTS)
			{
				ereport(LOG,
						(errmsg("camera_health retention: partitions of check_history are busy; dropping them on the next pass")));
				break;
			}
			ch_worker_wait(DROP_RETRY_MS);
		}
		ch_worker_interrupts();
	}
}

/*
 * Delete, a batch per transaction, the rows of one table (a partition or
 * the alerts table) selected by cond (a condition on alias l, with $1 = the
 * batch size and $2 = an int8[] of camera ids, or NULL) until none is left;
 * adds to removed[0] and removed[1] the sums of the two weights (SQL over
 * the deleted row l) of the rows deleted.  Rows are picked and deleted by
 * ctid within the one table, so a batch costs an index or BRIN scan plus a
 * TID scan, whatever the table's size.
 */
static void
delete_batches(RunStats *st, const char *table, const char *cond, ArrayType *ids,
			   const char *weights, int64 removed[2])
{
	char	   *sql = psprintf("WITH d (w1, w2) AS (DELETE FROM ONLY %s l WHERE l.ctid = ANY (ARRAY("
							   "SELECT l.ctid FROM ONLY %s l WHERE %s LIMIT $1)) RETURNING %s) "
							   "SELECT pg_catalog.count(*), coalesce(pg_catalog.sum(d.w1), 0)::int8, "
							   "coalesce(pg_catalog.sum(d.w2), 0)::int8 FROM d",
							   table, table, cond, weights);
	Oid			types[2] = {INT4OID, INT8ARRAYOID};
	Datum		values[2] = {Int32GetDatum(camera_health_retention_batch_size), PointerGetDatum(ids)};
	char		nulls[2] = {' ', ids ? ' ' : 'n'};
	int64		n;
	bool		isnull;
	TimestampTz start = GetCurrentTimestamp();

	do
	{
		begin(psprintf("camera_health retention: deleting from %s", table));
		if (SPI_execute_with_args(sql, 2, types, values, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "retention delete from %s failed", table);
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		removed[0] += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		removed[1] += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		commit(st);
		ch_worker_interrupts();
	} while (n >= camera_health_retention_batch_size);
	st->delete_ms += ms_since(start);
}

/*
 * The partitions of parent that may hold rows older than the oldest cutoff
 * (now() - shortest retention): the default one, and the daily ones that
 * start before it.  Daily partitions wholly newer cannot hold expired rows.
 */
static List *
candidate_partitions(const char *parent)
{
	List	   *result = NIL;
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(parent)};

	ch_spi_begin("camera_health retention: listing partitions");
	if (SPI_execute_with_args("SELECT c.oid::pg_catalog.regclass::pg_catalog.text "
							  "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
							  "WHERE i.inhparent = ('camera_health.' || $1)::pg_catalog.regclass "
							  "AND (c.relname !~ '_p[0-9]{8}$' "
							  "OR pg_catalog.to_date(pg_catalog.right(c.relname::pg_catalog.text, 8), 'YYYYMMDD') "
							  "< (pg_catalog.now() - least(camera_health.default_log_retention(), "
							  "(SELECT pg_catalog.min(r.retention) FROM camera_health.log_retention r))) "
							  "AT TIME ZONE 'UTC')",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "listing the partitions of %s failed", parent);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = lappend(result, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(old);
	}
	ch_spi_commit();
	return result;
}

static void
step_delete_rows(RunStats *st)
{
	int64		removed[2] = {0, 0};
	List	   *retentions = NIL;
	List	   *id_arrays = NIL;
	ListCell   *lc1;
	ListCell   *lc2;
	ListCell   *lp;
	MemoryContext caller = CurrentMemoryContext;
	bool		any_default;
	bool		isnull;

	/* the cameras with a policy, grouped by retention */
	begin("camera_health retention: reading policies");
	if (SPI_execute("SELECT EXISTS (SELECT FROM camera_health.cameras c WHERE NOT EXISTS "
					"(SELECT FROM camera_health.log_retention r WHERE r.camera_id = c.id))", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading log_retention failed");
	any_default = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (SPI_execute("SELECT retention::pg_catalog.text, pg_catalog.array_agg(camera_id) "
					"FROM camera_health.log_retention GROUP BY retention", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading log_retention failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		ids = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		retentions = lappend(retentions, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		id_arrays = lappend(id_arrays, DatumGetArrayTypePCopy(ids));
		MemoryContextSwitchTo(old);
	}
	commit(st);

	/* whole chunks: a camera's hour of a check goes when all of it has expired */
	foreach(lp, candidate_partitions("check_history"))
	{
		/* cameras on the default retention (if any: the scan is not free) */
		if (any_default)
			delete_batches(st, lfirst(lp),
						   "l.hour + interval '1 hour' <= pg_catalog.now() - camera_health.default_log_retention() "
						   "AND NOT EXISTS (SELECT FROM camera_health.log_retention r "
						   "WHERE r.camera_id = l.camera_id)",
						   NULL, CHUNK_WEIGHTS, removed);
		/* cameras with a policy, a group per retention */
		forboth(lc1, retentions, lc2, id_arrays)
		{
			delete_batches(st, lfirst(lp),
						   psprintf("l.camera_id = ANY ($2) AND l.hour + interval '1 hour' <= "
									"pg_catalog.now() - %s::pg_catalog.interval",
									quote_literal_cstr(lfirst(lc1))),
						   lfirst(lc2), CHUNK_WEIGHTS, removed);
		}
	}
	st->logs += removed[0];
	st->latency += removed[1];
}

static void
step_delete_alerts(RunStats *st)
{
	int64		removed[2] = {0, 0};

	delete_batches(st, "camera_health.alerts",
				   "l.resolved_at < pg_catalog.now() - coalesce((SELECT r.retention FROM camera_health.log_retention r "
				   "WHERE r.camera_id = l.camera_id), camera_health.default_log_retention())",
				   NULL, "1, 0", removed);
	st->alerts += removed[0];
}

static void
step_prune_history(RunStats *st)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(camera_health_retention_history)};

	begin("camera_health retention: pruning retention_runs");
	exec_count("DELETE FROM camera_health.retention_runs "
			   "WHERE started_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1)",
			   1, types, values, NULL);
	commit(st);
}

/* ---- hourly trends (check_trends): monthly partitions, a retention of their own */

#define TREND_MONTHS_AHEAD 1

/*
 * Drop one expired monthly partition of check_trends, counting its rows by
 * the planner's estimate first (as for the history); false when its lock
 * could not be had within DROP_LOCK_TIMEOUT.
 */
static bool
drop_trend_partition(RunStats *st, const char *partition, int64 *removed)
{
	bool		dropped;
	int64		rows;
	bool		isnull;
	TimestampTz start = GetCurrentTimestamp();

	begin("camera_health retention: sizing an expired trend partition");
	SPI_execute(psprintf("SELECT greatest(c.reltuples, 0)::pg_catalog.int8 FROM pg_catalog.pg_class c "
						 "WHERE c.oid = %s::pg_catalog.regclass", quote_literal_cstr(partition)), true, 0);
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	commit(st);

	dropped = drop_tables(st, partition);

	st->drop_ms += ms_since(start);
	if (dropped)
		*removed += rows;
	return dropped;
}

/* The text values of column 1 of query, copied into the caller's context. */
static List *
query_list(const char *activity, const char *query)
{
	List	   *result = NIL;
	MemoryContext caller = CurrentMemoryContext;

	ch_spi_begin(activity);
	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "%s failed", activity);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = lappend(result, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(old);
	}
	ch_spi_commit();
	return result;
}

static void
drop_expired_trend_partitions(RunStats *st, int64 *removed)
{
	ListCell   *lc;

	foreach(lc, query_list("camera_health retention: finding expired trend partitions",
						   "SELECT partition::pg_catalog.text FROM camera_health.expired_trend_partitions("
						   "pg_catalog.now() - camera_health.longest_trend_retention())"))
	{
		for (int attempt = 1; !drop_trend_partition(st, lfirst(lc), removed); attempt++)
		{
			if (attempt == DROP_ATTEMPTS)
			{
				ereport(LOG,
						(errmsg("camera_health retention: trend partition %s is busy; dropping it on the next pass",
								(char *) lfirst(lc))));
				break;
			}
			ch_worker_wait(DROP_RETRY_MS);
		}
		ch_worker_interrupts();
	}
}

/*
 * Delete the trend hours and days past each camera's trend retention (a row
 * once all of its period has expired), in batches, in the partitions that
 * may hold some: cameras on the default together, the others a group per
 * retention.
 */
static void
delete_expired_trends(RunStats *st, int64 *removed)
{
	List	   *retentions = NIL;
	List	   *id_arrays = NIL;
	ListCell   *lp;
	ListCell   *lc1;
	ListCell   *lc2;
	MemoryContext caller = CurrentMemoryContext;
	bool		isnull;

	begin("camera_health retention: reading trend policies");
	if (SPI_execute("SELECT retention::pg_catalog.text, pg_catalog.array_agg(camera_id) "
					"FROM camera_health.trend_retention GROUP BY retention", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading trend_retention failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		ids = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		retentions = lappend(retentions, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		id_arrays = lappend(id_arrays, DatumGetArrayTypePCopy(ids));
		MemoryContextSwitchTo(old);
	}
	commit(st);

	foreach(lp, query_list("camera_health retention: listing trend partitions",
						   "SELECT pg_catalog.format('%s|%s|%s', p.partition, p.time_column, p.period) "
						   "FROM camera_health.trend_partitions_to_prune() p"))
	{
		char	   *partition = pstrdup(lfirst(lp));
		char	   *column = strchr(partition, '|');
		char	   *period = column ? strchr(column + 1, '|') : NULL;
		int64		counted[2] = {0, 0};

		if (period == NULL)
			elog(ERROR, "trend_partitions_to_prune returned \"%s\"", partition);
		*column++ = '\0';
		*period++ = '\0';

		/* a row (an hour, or a day) goes once all of it has expired */
		delete_batches(st, partition,
					   psprintf("l.%s <= pg_catalog.now() - camera_health.default_trend_retention() - %s::pg_catalog.interval "
								"AND NOT EXISTS (SELECT FROM camera_health.trend_retention r WHERE r.camera_id = l.camera_id)",
								quote_identifier(column), quote_literal_cstr(period)),
					   NULL, "1, 0", counted);
		forboth(lc1, retentions, lc2, id_arrays)
		{
			delete_batches(st, partition,
						   psprintf("l.camera_id = ANY ($2) AND l.%s <= pg_catalog.now() - %s::pg_catalog.interval "
									"- %s::pg_catalog.interval",
									quote_identifier(column), quote_literal_cstr(lfirst(lc1)),
									quote_literal_cstr(period)),
						   lfirst(lc2), "1, 0", counted);
		}
		*removed += counted[0];
	}
}

/*
 * The trends' part of a pass: create the coming months' partitions, drop
 * months past every camera's trend retention, delete the remaining expired
 * hours; what it removed goes to retention_runs.check_trends_deleted (not
 * after an error: the pass's error column says so).
 */
static void
step_trends(RunStats *st)
{
	int64		removed = 0;
	bool		isnull;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];

	begin("camera_health retention: creating trend partitions");
	if (SPI_execute("SELECT camera_health.create_trend_partitions(" CppAsString2(TREND_MONTHS_AHEAD) ")",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "create_trend_partitions failed");
	st->created += DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	commit(st);

	drop_expired_trend_partitions(st, &removed);
	delete_expired_trends(st, &removed);

	values[0] = Int64GetDatum(st->run_id);
	values[1] = Int64GetDatum(removed);
	begin("camera_health retention: recording trends removed");
	exec_count("UPDATE camera_health.retention_runs SET check_trends_deleted = $2 WHERE id = $1",
			   2, types, values, NULL);
	commit(st);
}

/* Run a step; an error is recorded (the first one) and the pass goes on. */
static void
run_step(RunStats *st, StepFn step)
{
	MemoryContext caller = CurrentMemoryContext;

	PG_TRY();
	{
		step(st);
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);

		ereport(LOG, (errmsg("camera_health retention: %s", edata->message)));
		if (st->error == NULL)
			st->error = MemoryContextStrdup(TopMemoryContext, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

static int64
start_run(const char *requested_by)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(requested_by)};
	bool		isnull;
	int64		id;

	ch_spi_begin("camera_health retention: starting a pass");
	if (SPI_execute_with_args("INSERT INTO camera_health.retention_runs (requested_by) VALUES ($1) RETURNING id",
							  1, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "recording a retention pass failed");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ch_spi_commit();
	return id;
}

static void
finish_run(const RunStats *st)
{
	Oid			types[10] = {INT8OID, INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, TEXTOID};
	Datum		values[10];
	char		nulls[10];

	memset(nulls, ' ', sizeof(nulls));
	nulls[9] = st->error ? ' ' : 'n';
	values[0] = Int64GetDatum(st->run_id);
	values[1] = Int32GetDatum(st->created);
	values[2] = Int32GetDatum(st->dropped);
	values[3] = Int64GetDatum(st->logs);
	values[4] = Int64GetDatum(st->latency);
	values[5] = Int64GetDatum(st->alerts);
	values[6] = Float8GetDatum(st->longest_ms);
	values[7] = Float8GetDatum(st->drop_ms);
	values[8] = Float8GetDatum(st->delete_ms);
	values[9] = st->error ? CStringGetTextDatum(st->error) : (Datum) 0;
	ch_spi_begin("camera_health retention: recording the pass");
	if (SPI_execute_with_args("UPDATE camera_health.retention_runs SET finished_at = pg_catalog.clock_timestamp(), "
							  "partitions_created = $2, partitions_dropped = $3, health_logs_deleted = $4, "
							  "camera_latency_deleted = $5, alerts_deleted = $6, longest_transaction_ms = $7, "
							  "drop_ms = $8, delete_ms = $9, error = $10 WHERE id = $1",
							  10, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "recording a retention pass failed");
	ch_spi_commit();
}

static int64
run_pass(const char *requested_by)
{
	RunStats	st;
	MemoryContext pass_context = AllocSetContextCreate(CurrentMemoryContext, "camera_health retention pass",
													   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(pass_context);

	memset(&st, 0, sizeof(st));
	st.run_id = start_run(requested_by);
	run_step(&st, step_create_partitions);
	run_step(&st, step_pack_history);
	run_step(&st, step_drop_partitions);
	run_step(&st, step_delete_rows);
	run_step(&st, step_delete_alerts);
	run_step(&st, step_trends);
	run_step(&st, step_prune_history);
	finish_run(&st);
	if (st.error)
		pfree(st.error);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(pass_context);
	return st.run_id;
}

static void
retention_detach(int code, Datum arg)
{
	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->retention_latch = NULL;
	SpinLockRelease(&ch_shared->mutex);
}

void
ch_retention_main(Datum main_arg)
{
	TimestampTz last_pass;
	TimestampTz next_pass;
	MemoryContext loop_context;

	ch_worker_start("retention");
	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->retention_latch = MyLatch;
	SpinLockRelease(&ch_shared->mutex);
	before_shmem_exit(retention_detach, 0);
	loop_context = AllocSetContextCreate(TopMemoryContext, "camera_health retention loop",
										 ALLOCSET_DEFAULT_SIZES);

	last_pass = next_pass = GetCurrentTimestamp();
	for (;;)
	{
		uint64		requested;
		uint64		served;
		TimestampTz now;
		MemoryContext old;
		bool		passed = false;

		/* a new retention_interval counts from the end of the last pass */
		if (ch_worker_interrupts())
			next_pass = TimestampTzPlusMilliseconds(last_pass, camera_health_retention_interval * 1000L);
		SpinLockAcquire(&ch_shared->mutex);
		requested = ch_shared->retention_requested;
		served = ch_shared->retention_served;
		SpinLockRelease(&ch_shared->mutex);

		now = GetCurrentTimestamp();
		old = MemoryContextSwitchTo(loop_context);
		if (requested > served || now >= next_pass)
		{
			/* a request that arrives during this pass gets the next one */
			int64		run_id = run_pass(requested > served ? "run_retention" : "schedule");

			SpinLockAcquire(&ch_shared->mutex);
			ch_shared->retention_served = requested;
			ch_shared->retention_last_run = run_id;
			SpinLockRelease(&ch_shared->mutex);
			last_pass = GetCurrentTimestamp();
			next_pass = TimestampTzPlusMilliseconds(last_pass, camera_health_retention_interval * 1000L);
			passed = true;
		}
		ch_worker_check_memory(loop_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);
		if (passed)
			continue;
		if (ch_worker_wait(Min((next_pass - now) / 1000 + 1, 1000)))
			next_pass = TimestampTzPlusMilliseconds(last_pass, camera_health_retention_interval * 1000L);
	}
}
