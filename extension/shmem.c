/*
 * shmem.c
 *	  camera_health's shared memory (PostgreSQL 15 hooks).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "shmem.h"

CameraHealthShared *ch_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
ch_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CameraHealthShared)));
}

static void
ch_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ch_shared = ShmemInitStruct("camera_health", sizeof(CameraHealthShared), &found);
	if (!found)
	{
		memset(ch_shared, 0, sizeof(CameraHealthShared));
		SpinLockInit(&ch_shared->mutex);
		ch_shared->database_oid = InvalidOid;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
ch_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ch_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ch_shmem_startup;
}

/*
 * Queue camera ids for the scheduler and wake it.  Called at commit, so it
 * must not fail: when the queue is full the scheduler resyncs everything.
 * Changes in databases other than the workers' are of no interest.
 */
void
ch_publish_changes(const int64 *ids, int n, bool resync_all)
{
	Latch	   *latch;

	if (ch_shared == NULL)
		return;

	SpinLockAcquire(&ch_shared->mutex);
	if (ch_shared->database_oid != MyDatabaseId)
	{
		SpinLockRelease(&ch_shared->mutex);
		return;
	}
	if (resync_all || ch_shared->npending + n > CH_MAX_PENDING_CHANGES)
		ch_shared->resync_all = true;
	else
	{
		memcpy(&ch_shared->pending[ch_shared->npending], ids, n * sizeof(int64));
		ch_shared->npending += n;
	}
	latch = ch_shared->scheduler_latch;
	SpinLockRelease(&ch_shared->mutex);

	if (latch != NULL)
		SetLatch(latch);
}
