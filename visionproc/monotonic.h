/*
 * monotonic.h
 *	  Milliseconds on the monotonic clock, for visionproc's deadlines,
 *	  backoffs and stop grace periods (never the wall clock: it may jump).
 */
#ifndef VISIONPROC_MONOTONIC_H
#define VISIONPROC_MONOTONIC_H

#include <time.h>

static inline double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

#endif							/* VISIONPROC_MONOTONIC_H */
