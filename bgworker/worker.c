/*
 * worker.c
 *	  Registration and the shared plumbing of the background workers.
 *
 * All workers are registered statically in _PG_init, start once recovery
 * has finished (nothing runs on a standby) and are restarted by the
 * postmaster a few seconds after a crash.  They wait on their latch, reload
 * on SIGHUP and leave promptly on SIGTERM or postmaster death.
 */
#include "postgres.h"

#include <sys/time.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "schedule.h"
#include "worker.h"

const char *const check_names[NUM_CHECKS] = {"ip", "port", "vision"};

#define RESTART_SECONDS 5
#define EXTENSION_POLL_MS 5000

/*
 * The memory guard (ch_worker_check_memory): TopMemoryContext's own blocks
 * are measured once the worker has run WARMUP_ITERATIONS iterations; more
 * than GROWTH_LIMIT beyond that is a leak, warned about at most once per
 * WARN_EVERY_MS.
 */
#define WARMUP_ITERATIONS 200
#define GROWTH_LIMIT (1024 * 1024)
#define WARN_EVERY_MS (3600 * 1000)

static const char *worker_name = "worker";

/* The caller's memory context while a transaction of ch_spi_begin runs. */
static MemoryContext spi_caller = NULL;

static const struct
{
	const char *name;
	const char *function;
}			workers[] = {
	{"scheduler", "ch_scheduler_main"},
	{"prober", "ch_prober_main"},
	{"ingest", "ch_ingest_main"},
	{"retention", "ch_retention_main"},
	{"notifier", "ch_notifier_main"},
};

void
ch_register_workers(void)
{
	for (int i = 0; i < lengthof(workers); i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = RESTART_SECONDS;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "camera_health");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", workers[i].function);
		snprintf(worker.bgw_name, BGW_MAXLEN, "camera_health %s", workers[i].name);
		snprintf(worker.bgw_type, BGW_MAXLEN, "camera_health %s", workers[i].name);
		RegisterBackgroundWorker(&worker);
	}
}

/*
 * A reload not yet reported by ch_worker_interrupts.  ch_worker_wait reports
 * it too but leaves it set: a worker that ignores what ch_worker_wait
 * returns (the scheduler, ingest) still learns of it at the top of its
 * next iteration and reconnects to a changed camera_health.redis_url.
 */
static bool reload_unreported = false;

static void
process_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		reload_unreported = true;
	}
}

bool
ch_worker_interrupts(void)
{
	bool		reloaded;

	process_interrupts();
	reloaded = reload_unreported;
	reload_unreported = false;
	return reloaded;
}

bool
ch_worker_wait(long timeout_ms)
{
	WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	process_interrupts();
	return reload_unreported;
}

static bool
extension_exists(void)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = OidIsValid(get_extension_oid("camera_health", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return exists;
}

void
ch_worker_start(const char *name)
{
	bool		waiting_logged = false;

	worker_name = name;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(camera_health_database, NULL, 0);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);

	/*
	 * The workers run as the bootstrap superuser: a function or operator a
	 * user created in public must never be picked instead of the built-in
	 * one.  Set before the first query, for the life of the process, at
	 * the priority of a server-side SET that no configuration overrides.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	while (!extension_exists())
	{
		if (!waiting_logged)
		{
			ereport(LOG,
					(errmsg("camera_health %s: the extension is not installed in database \"%s\"; waiting",
							name, camera_health_database),
					 errhint("Run CREATE EXTENSION camera_health in database \"%s\".",
							 camera_health_database)));
			waiting_logged = true;
		}
		pgstat_report_activity(STATE_IDLE, "waiting for CREATE EXTENSION camera_health");
		ch_worker_wait(EXTENSION_POLL_MS);
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * The transaction functions of PostgreSQL leave CurrentMemoryContext in
 * TopMemoryContext when a transaction ends (commit or abort), where
 * anything allocated afterwards lives as long as the process.  These
 * helpers put the caller back into the context it was in, so that a
 * worker's per-iteration allocations stay in its loop context, which it
 * resets: whatever comes after the first commit of an iteration too.
 */
void
ch_spi_begin(const char *activity)
{
	/* (not nested: one transaction at a time) */
	spi_caller = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
ch_spi_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	Assert(spi_caller != NULL);
	MemoryContextSwitchTo(spi_caller);
	spi_caller = NULL;
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

ErrorData *
ch_recover_from_error(MemoryContext caller)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(caller);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	/* the abort, too, leaves us in TopMemoryContext */
	MemoryContextSwitchTo(caller);
	spi_caller = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
	return edata;
}

/*
 * The end of an iteration of a worker's main loop: loop_context must be
 * current (an iteration that ends elsewhere left its allocations outside
 * the context that is reset), and TopMemoryContext itself must not grow
 * once the worker is warm: per-iteration memory belongs in loop_context,
 * long-lived state in a child context of its own.  Either is a leak in
 * the making; it is logged, at most once an hour, naming the worker, and
 * the worker goes on (a WARNING, not an ERROR: a leak is slow, a restart
 * loop is not).
 */
void
ch_worker_check_memory(MemoryContext loop_context)
{
	static uint64 iterations = 0;
	static Size baseline = 0;
	static int64 last_warning = 0;
	Size		now_allocated;
	int64		now_ms;
	const char *problem = NULL;

	iterations++;
	now_allocated = MemoryContextMemAllocated(TopMemoryContext, false);
	if (iterations == WARMUP_ITERATIONS)
		baseline = now_allocated;

	if (CurrentMemoryContext != loop_context)
		problem = "an iteration ended outside its loop memory context";
	else if (iterations > WARMUP_ITERATIONS && now_allocated > baseline + GROWTH_LIMIT)
		problem = "TopMemoryContext grew after warm-up";
	if (problem == NULL)
		return;

	now_ms = ch_now_ms();
	if (last_warning != 0 && now_ms - last_warning < WARN_EVERY_MS)
		return;
	last_warning = now_ms;
	ereport(WARNING,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("camera_health %s: memory leak: %s", worker_name, problem),
			 iterations >= WARMUP_ITERATIONS ?
			 errdetail("The current context is \"%s\"; TopMemoryContext holds %zu bytes, %zu after warm-up.",
					   CurrentMemoryContext->name, now_allocated, baseline) :
			 errdetail("The current context is \"%s\"; TopMemoryContext holds %zu bytes.",
					   CurrentMemoryContext->name, now_allocated),
			 errhint("This is a bug in camera_health; restarting the worker returns the memory.")));
}

int64
ch_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
