/*
 * pool.h
 *	  The grab threads of one worker process: many grabs in flight at once.
 *
 * A grab mostly waits (for the camera to answer, for the next frame of a
 * live stream); its CPU cost is a few tens of milliseconds.  So one worker
 * keeps many grabs in flight, each on a thread of its own that blocks in
 * libavformat or libcurl under that grab's deadlines, while the worker's
 * main thread alone talks to Redis (hiredis is not thread-safe).  A crash
 * in FFmpeg still costs only this process: its tasks stay pending in Redis
 * and another worker claims them.
 */
#ifndef VISIONPROC_POOL_H
#define VISIONPROC_POOL_H

#include <stdbool.h>

typedef struct Pool Pool;

/* What a thread does with a job; runs without any lock held. */
typedef void (*PoolRunFn) (void *job, void *arg);

/*
 * A pool of nthreads threads, each with a stack of stack_kb kB, running
 * run(job, arg).  NULL (and errno) when no thread could be started.
 */
extern Pool *pool_create(int nthreads, int stack_kb, PoolRunFn run, void *arg);

/* Hand a job to a free thread; false when all are busy (never queues). */
extern bool pool_submit(Pool *pool, void *job);

/* Jobs handed out and not yet taken back with pool_take_done. */
extern int	pool_in_flight(const Pool *pool);
extern int	pool_size(const Pool *pool);

/* A finished job, or NULL when none is. */
extern void *pool_take_done(Pool *pool);

/*
 * Wait up to timeout_ms for a job to finish (returns at once when one
 * has); true when one is done.
 */
extern bool pool_wait_done(Pool *pool, int timeout_ms);

/*
 * Let the jobs handed out end, then stop the threads.  Take the finished
 * jobs back first: those still in the pool are not freed.
 */
extern void pool_destroy(Pool *pool);

#endif							/* VISIONPROC_POOL_H */
