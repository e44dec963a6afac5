/*
 * monotonic.h
 *	  Milliseconds on the monotonic clock, for visionproc's deadlines,
 *	  backoffs and stop grace periods (never the wall clock: it may jump);
 *	  and on the wall clock, only for what must agree with other hosts:
 *	  due times, check times, heartbeats.
 */
#ifndef VISIONPROC_MONOTONIC_H
#define VISIONPROC_MONOTONIC_H

#include <stdint.h>
#include <time.h>

static inline double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Milliseconds since the epoch (wall clock): due_ms and checked_ms are. */
static inline int64_t
epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif							/* VISIONPROC_MONOTONIC_H */
