/*
 * notifier_wake.c
 *	  camera_health.wake_notifier(): called by the alert triggers, sets the
 *	  notifier worker's latch when, and only if, the transaction commits,
 *	  so that a new alert is planned and delivered at once rather than at
 *	  the notifier's next one-second poll.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"

#include "shmem.h"

PG_FUNCTION_INFO_V1(ch_wake_notifier);

static bool wake_at_commit = false;
static bool callback_registered = false;

static void
wake_xact_callback(XactEvent event, void *arg)
{
	Latch	   *latch = NULL;
	Oid			database_oid;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_at_commit && ch_shared != NULL)
			{
				SpinLockAcquire(&ch_shared->mutex);
				latch = ch_shared->notifier_latch;
				database_oid = ch_shared->database_oid;
				SpinLockRelease(&ch_shared->mutex);
				/* alerts of other databases are none of its business */
				if (latch != NULL && (database_oid == InvalidOid || database_oid == MyDatabaseId))
					SetLatch(latch);
			}
			/* fall through */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

Datum
ch_wake_notifier(PG_FUNCTION_ARGS)
{
	if (ch_shared == NULL)
		PG_RETURN_VOID();
	if (!callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		callback_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_VOID();
}
