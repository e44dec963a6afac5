/*
 * shmem.h
 *	  camera_health's shared memory: how backends tell the scheduler which
 *	  cameras changed.
 */
#ifndef CAMERA_HEALTH_SHMEM_H
#define CAMERA_HEALTH_SHMEM_H

#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

/* Changed camera ids waiting for the scheduler; beyond this, resync all. */
#define CH_MAX_PENDING_CHANGES 8192

/*
 * mutex (a spinlock) guards the few scalar fields below it, read or set
 * with a handful of instructions; changes_lock (an LWLock) guards the queue
 * of changes, which is copied in and out in bulk (up to 64 kB).  Nothing
 * allocates while holding either.
 */
typedef struct CameraHealthShared
{
	slock_t		mutex;
	Oid			database_oid;	/* the workers' database, once the scheduler runs */
	Latch	   *scheduler_latch;	/* NULL while no scheduler runs */

	LWLock	   *changes_lock;
	bool		resync_all;		/* changes were lost or a TRUNCATE happened */
	int			npending;
	int64		pending[CH_MAX_PENDING_CHANGES];

	/* run_retention() asks the retention worker for a pass and waits */
	Latch	   *retention_latch;	/* NULL while no retention worker runs */
	uint64		retention_requested;	/* passes asked for so far */
	uint64		retention_served;	/* requests answered by a finished pass */
	int64		retention_last_run; /* retention_runs.id of the latest pass */

	/* the alert triggers wake the notifier at commit */
	Latch	   *notifier_latch;	/* NULL while no notifier runs */
} CameraHealthShared;

/* NULL unless the library was preloaded. */
extern CameraHealthShared *ch_shared;

extern void ch_shmem_install_hooks(void);
extern void ch_publish_changes(const int64 *ids, int n, bool resync_all);

/*
 * For the scheduler: move the queued changes into ids (room for
 * CH_MAX_PENDING_CHANGES), set *all when everything must be resynchronised;
 * returns how many ids.
 */
extern int	ch_take_changes(int64 *ids, bool *all);

#endif							/* CAMERA_HEALTH_SHMEM_H */
