/*
 * grab.h
 *	  Frames from a camera: RTSP and files through libavformat, HTTP(S)
 *	  snapshots through libcurl.  Every step has a deadline.
 */
#ifndef VISIONPROC_GRAB_H
#define VISIONPROC_GRAB_H

#include <signal.h>

#include "image.h"
#include "vision.h"

typedef struct GrabOptions
{
	int			timeout_ms;		/* the whole grab, connect included */
	int			io_timeout_ms;	/* one socket read or write */
	int			later_gap_ms;	/* how far apart the frames of a stream are */
	int			nlater;			/* frames to take after the first (streams) */
	volatile sig_atomic_t *stop;	/* set by SIGTERM: give up at once */
} GrabOptions;

typedef struct GrabResult
{
	GreyImage  *frame;			/* the first decoded frame */
	GreyImage  *later[VISION_MAX_LATER];	/* frames later_gap_ms apart after it */
	int			nlater;			/* how many; 0 for snapshots */
	char		codec[32];
	int			width;
	int			height;
	double		first_frame_ms; /* from the start of the grab to the first frame */
	double		later_gap_ms;	/* actual time from the first frame to the last */
	const char *stage;			/* on failure: "connect", "read" or "decode" */
	char		error[256];		/* on failure: why, credentials masked */
} GrabResult;

/* 0 on success; -1 with stage and error set.  Free with grab_result_free. */
extern int	grab_frames(const char *url, const GrabOptions *opt, GrabResult *out);
extern void grab_result_free(GrabResult *res);

#endif							/* VISIONPROC_GRAB_H */
