/*
 * grab.h
 *	  Frames from a camera: RTSP through libavformat, HTTP(S) snapshots
 *	  through libcurl, and local files (tests only, allow_files).  Every step
 *	  has a deadline; nothing but what the URL names is ever opened.
 */
#ifndef VISIONPROC_GRAB_H
#define VISIONPROC_GRAB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "vision.h"

typedef struct GrabOptions
{
	int			timeout_ms;		/* the whole grab, connect included */
	int			io_timeout_ms;	/* one socket read or write */
	int			later_gap_ms;	/* how far apart the frames of a stream are */
	int			nlater;			/* frames to take after the first (streams) */
	volatile sig_atomic_t *stop;	/* set by SIGTERM: give up at once */
	int64_t		max_pixels;		/* the largest frame decoded (width * height) */
	bool		allow_files;	/* an absolute path is a URL too (--allow-files, tests) */
} GrabOptions;

typedef struct GrabResult
{
	GreyImage  *frame;			/* the first decoded frame */
	GreyImage  *later[VISION_MAX_LATER];	/* frames later_gap_ms apart after it */
	uint8_t    *jpeg;			/* the first frame as a small JPEG (jpeg.h), or NULL */
	size_t		jpeg_len;
	char		jpeg_error[96];	/* why there is none, when the frame is there */
	int			nlater;			/* how many; 0 for snapshots */
	char		codec[32];
	int			width;
	int			height;
	double		first_frame_ms; /* from the start of the grab to the first frame */
	double		later_gap_ms;	/* actual time from the first frame to the last */
	bool		conclusive;		/* fewer than nlater frames: a pair settled it */
	const char *stage;			/* on failure: "refused", "connect", "read" or "decode" */
	char		error[256];		/* on failure: why, credentials masked */
} GrabResult;

/*
 * Is url one grab_frames() may open?  A camera URL (camera_url_is_valid,
 * as the database checks it), or with allow_files an absolute path.  On
 * false, *reason says why.
 */
extern bool grab_url_allowed(const char *url, bool allow_files, const char **reason);

/*
 * 0 on success; -1 with stage and error set (stage "refused" for a URL
 * grab_url_allowed refuses).  Free with grab_result_free.
 */
extern int	grab_frames(const char *url, const GrabOptions *opt, GrabResult *out);
extern void grab_result_free(GrabResult *res);

#endif							/* VISIONPROC_GRAB_H */
