/*
 * camera_mode.h
 *	  A camera's lighting modes (issue 11, day and night): a camera that
 *	  switches to infrared at night sees a grey, noisier, differently lit
 *	  picture, so it keeps one reference frame per mode and each frame is
 *	  judged against the reference of its own mode.  Plain C, shared by
 *	  visionproc (Redis keys, results), the ingest worker (results) and the
 *	  scheduler (mirroring camera_references into Redis).
 *
 *	  The names are those of the SQL domain camera_health.camera_mode.
 *	  Redis keys: reference:{id} for day (the key of 1.0, so existing
 *	  references stay valid), reference:{id}:<mode> for the others.
 */
#ifndef CAMERA_HEALTH_CAMERA_MODE_H
#define CAMERA_HEALTH_CAMERA_MODE_H

#include <stddef.h>

typedef enum ChCameraMode
{
	CH_MODE_DAY = 0,			/* colour */
	CH_MODE_IR = 1,				/* infrared: grey */
} ChCameraMode;

#define CH_MODE_COUNT 2
#define CH_MODE_NAME_MAX 8		/* the longest name, with room to spare */

/* "day", "ir"; NULL for a value that is no mode. */
extern const char *ch_mode_name(int mode);

/* The mode named by s[0..len), exactly; -1 for anything else. */
extern int	ch_mode_parse(const char *s, size_t len);

/* What follows "reference:{id}" in the mode's Redis key: "" or ":ir". */
extern const char *ch_mode_key_suffix(int mode);

#endif							/* CAMERA_HEALTH_CAMERA_MODE_H */
