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
#include "utils/snapmgr.h"

#include "guc.h"
#include "schedule.h"
#include "worker.h"

const char *const check_names[NUM_CHECKS] = {"ip", "port", "vision"};

#define RESTART_SECONDS 5
#define EXTENSION_POLL_MS 5000

static const struct
{
	const char *name;
	const char *function;
}			workers[] = {
	{"scheduler", "ch_scheduler_main"},
	{"prober", "ch_prober_main"},
	{"ingest", "ch_ingest_main"},
	{"retention", "ch_retention_main"},
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

bool
ch_worker_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		return true;
	}
	return false;
}

bool
ch_worker_wait(long timeout_ms)
{
	WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return ch_worker_interrupts();
}

static bool
extension_exists(void)
{
	bool		exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = OidIsValid(get_extension_oid("camera_health", true));
	CommitTransactionCommand();
	return exists;
}

void
ch_worker_start(const char *name)
{
	bool		waiting_logged = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(camera_health_database, NULL, 0);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);

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

void
ch_spi_begin(const char *activity)
{
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
	pgstat_report_activity(STATE_IDLE, NULL);
	return edata;
}

int64
ch_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
