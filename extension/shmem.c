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

#define LWLOCK_TRANCHE "camera_health"

CameraHealthShared *ch_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
ch_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CameraHealthShared)));
	RequestNamedLWLockTranche(LWLOCK_TRANCHE, 1);
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
		ch_shared->changes_lock = &(GetNamedLWLockTranche(LWLOCK_TRANCHE))->lock;
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
	Oid			database_oid;
	Latch	   *latch;

	if (ch_shared == NULL)
		return;

	SpinLockAcquire(&ch_shared->mutex);
	database_oid = ch_shared->database_oid;
	latch = ch_shared->scheduler_latch;
	SpinLockRelease(&ch_shared->mutex);
	if (database_oid != MyDatabaseId)
		return;

	LWLockAcquire(ch_shared->changes_lock, LW_EXCLUSIVE);
	if (resync_all || n > CH_MAX_PENDING_CHANGES - ch_shared->npending)
		ch_shared->resync_all = true;
	else
	{
		memcpy(&ch_shared->pending[ch_shared->npending], ids, n * sizeof(int64));
		ch_shared->npending += n;
	}
	LWLockRelease(ch_shared->changes_lock);

	if (latch != NULL)
		SetLatch(latch);
}

int
ch_take_changes(int64 *ids, bool *all)
{
	int			n;

	LWLockAcquire(ch_shared->changes_lock, LW_EXCLUSIVE);
	n = ch_shared->npending;
	memcpy(ids, ch_shared->pending, n * sizeof(int64));
	*all = ch_shared->resync_all;
	ch_shared->npending = 0;
	ch_shared->resync_all = false;
	LWLockRelease(ch_shared->changes_lock);
	return n;
}
