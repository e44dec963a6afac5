/*
 * pool.c
 *	  The grab threads of one worker process (see pool.h).
 *
 * Jobs are never queued behind busy threads: the worker reads from Redis
 * only as many tasks as it has free threads, so that no task sits here
 * unstarted while Redis counts it as in progress (another worker would
 * claim it after --claim-idle and run it twice).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

typedef struct Link
{
	void	   *job;
	struct Link *next;
} Link;

struct Pool
{
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was submitted, or stopping */
	pthread_cond_t done;		/* a job finished */
	PoolRunFn	run;
	void	   *arg;
	Link	   *todo;			/* submitted, not yet started (at most one per idle thread) */
	Link	   *finished;		/* finished, not yet taken */
	Link	  **finished_tail;
	int			nthreads;
	int			in_flight;		/* submitted and not taken back */
	bool		stopping;
	pthread_t  *threads;
};

static void *
thread_main(void *p)
{
	Pool	   *pool = p;

	pthread_mutex_lock(&pool->lock);
	for (;;)
	{
		Link	   *link;

		while (pool->todo == NULL && !pool->stopping)
			pthread_cond_wait(&pool->work, &pool->lock);
		if (pool->todo == NULL)
			break;				/* stopping, and nothing left to start */
		link = pool->todo;
		pool->todo = link->next;
		pthread_mutex_unlock(&pool->lock);

		pool->run(link->job, pool->arg);

		pthread_mutex_lock(&pool->lock);
		link->next = NULL;
		*pool->finished_tail = link;
		pool->finished_tail = &link->next;
		pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

Pool *
pool_create(int nthreads, int stack_kb, PoolRunFn run, void *arg)
{
	Pool	   *pool = calloc(1, sizeof(Pool));
	pthread_attr_t attr;
	pthread_condattr_t cattr;
	sigset_t	all,
				old;

	if (pool == NULL || (pool->threads = calloc(nthreads, sizeof(pthread_t))) == NULL)
	{
		free(pool);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	/* waits for results are timed: against a clock that never jumps */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->done, &cattr);
	pthread_condattr_destroy(&cattr);
	pool->run = run;
	pool->arg = arg;
	pool->finished_tail = &pool->finished;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t) stack_kb * 1024);

	/* signals (SIGTERM) go to the main thread, whose waits they cut short */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < nthreads; i++)
	{
		if (pthread_create(&pool->threads[pool->nthreads], &attr, thread_main, pool) != 0)
			break;
		pool->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (pool->nthreads == 0)
	{
		free(pool->threads);
		free(pool);
		errno = EAGAIN;
		return NULL;
	}
	return pool;
}

bool
pool_submit(Pool *pool, void *job)
{
	Link	   *link;
	Link	  **tail;

	if (pool->in_flight >= pool->nthreads || (link = malloc(sizeof(Link))) == NULL)
		return false;
	link->job = job;
	link->next = NULL;
	pthread_mutex_lock(&pool->lock);
	for (tail = &pool->todo; *tail; tail = &(*tail)->next)
		;
	*tail = link;
	pool->in_flight++;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	return true;
}

int
pool_in_flight(const Pool *pool)
{
	return pool->in_flight;		/* changed by the owning thread only */
}

int
pool_size(const Pool *pool)
{
	return pool->nthreads;
}

void *
pool_take_done(Pool *pool)
{
	Link	   *link;
	void	   *job = NULL;

	pthread_mutex_lock(&pool->lock);
	if ((link = pool->finished) != NULL)
	{
		pool->finished = link->next;
		if (pool->finished == NULL)
			pool->finished_tail = &pool->finished;
		pool->in_flight--;
	}
	pthread_mutex_unlock(&pool->lock);
	if (link)
	{
		job = link->job;
		free(link);
	}
	return job;
}

bool
pool_wait_done(Pool *pool, int timeout_ms)
{
	struct timespec until;
	bool		any;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool->lock);
	while (pool->finished == NULL)
		if (pthread_cond_timedwait(&pool->done, &pool->lock, &until) != 0)
			break;
	any = pool->finished != NULL;
	pthread_mutex_unlock(&pool->lock);
	return any;
}

void
pool_destroy(Pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while (pool->finished)
	{
		Link	   *next = pool->finished->next;

		free(pool->finished);
		pool->finished = next;
	}
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->done);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}
