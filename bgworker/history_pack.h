/*
 * history_pack.h
 *	  Packing the checks of finished hours from check_recent into
 *	  check_history, for the ingest and retention workers.
 */
#ifndef CAMERA_HEALTH_HISTORY_PACK_H
#define CAMERA_HEALTH_HISTORY_PACK_H

/*
 * Between two ingest batches: packs the next group of cameras when a pass
 * is due (a new hour began, or some minutes went by since the last pass),
 * in a transaction of its own.  An error is logged (at most once a minute)
 * and the pass goes on later.
 */
extern void ch_pack_history_step(void);

/* A whole pass over every camera, a group per transaction (errors propagate). */
extern int64 ch_pack_history_all(void);

#endif							/* CAMERA_HEALTH_HISTORY_PACK_H */
