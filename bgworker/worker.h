/*
 * worker.h
 *	  What every camera_health background worker shares: registration,
 *	  start-up, waiting, and transactions around SPI.
 */
#ifndef CAMERA_HEALTH_WORKER_H
#define CAMERA_HEALTH_WORKER_H

#include "storage/latch.h"
#include "utils/palloc.h"

extern void ch_register_workers(void);

/*
 * Signal handlers, database connection, and a wait until the extension
 * exists in camera_health.database.
 */
extern void ch_worker_start(const char *name);

/*
 * Sleep on the latch for at most timeout_ms; then handle SIGTERM and
 * SIGHUP.  Returns true when the configuration was reloaded since the last
 * ch_worker_interrupts() (which reports the same reload again).
 */
extern bool ch_worker_wait(long timeout_ms);

/*
 * Handle pending SIGTERM/SIGHUP without waiting; true when the
 * configuration was reloaded since the last call (here or while waiting).
 */
extern bool ch_worker_interrupts(void);

/*
 * Start/finish a transaction with an SPI connection and a snapshot.  Not
 * nested.  Between the two, CurrentMemoryContext is SPI's procedure context
 * (freed by ch_spi_commit: copy results out into the caller's context);
 * after ch_spi_commit the caller is back in the context it was in before
 * ch_spi_begin.  Never wait on a socket between the two.
 */
extern void ch_spi_begin(const char *activity);
extern void ch_spi_commit(void);

/*
 * In a PG_CATCH block: back to the caller's memory context, the error
 * copied out, the transaction rolled back.  The caller logs and frees it.
 */
extern ErrorData *ch_recover_from_error(MemoryContext caller);

/*
 * Call at the end of every iteration of a worker's main loop, while its
 * loop context (the one reset each iteration) is still current: warns
 * (rate-limited) when it is not, or when TopMemoryContext grew after
 * warm-up.
 */
extern void ch_worker_check_memory(MemoryContext loop_context);

/* Milliseconds since the Unix epoch. */
extern int64 ch_now_ms(void);

#endif							/* CAMERA_HEALTH_WORKER_H */
