/*
 * vision.h
 *	  The vision analysis: blur, obstruction, displacement and frozen video,
 *	  judged against the camera's own reference frame.  Plain C.
 */
#ifndef VISIONPROC_VISION_H
#define VISIONPROC_VISION_H

#include <json-c/json.h>

#include "image.h"

/* Frames after the judged one, for frozen video (1 s apart by default). */
#define VISION_MAX_LATER 4

typedef struct VisionInput
{
	const GreyImage *reference; /* the camera's reference frame */
	const GreyImage *frame;		/* the frame to judge */
	const GreyImage *later[VISION_MAX_LATER];	/* frames about a second apart
												 * after it, for frozen video */
	int			nlater;			/* 0 when there are none (a snapshot URL, a
								 * still image) */
} VisionInput;

/*
 * Analyse a frame.  Returns a new JSON object:
 *   {"blur": {"detected": bool, ...measurements...},
 *    "obstruction": {"detected": bool, ...},
 *    "displacement": {"detected": bool, "dx": px, "dy": px, "shift": fraction of the frame,
 *                     "confidence": 0..1, ...},
 *    "frozen": {"detected": bool, ...}         (only when nlater > 0)
 *    "status": "ok" | "warning" | "critical"}
 * status: critical when obstruction or frozen video is detected, warning for
 * blur or displacement, else ok; "error" (with an "error" string and no
 * metrics) only when the input is unusable (no frame, out of memory).  Each "detected" object may carry a
 * "message" in words for operators (e.g. "image sharpness 12% of the
 * reference").
 */
extern struct json_object *vision_analyze(const VisionInput *in);

/*
 * Is this frame fit to become a camera's reference?  (Not black, not
 * uniform, not unreadable.)  On false, *reason says why.
 */
extern int	vision_good_reference(const GreyImage *frame, const char **reason);

#endif							/* VISIONPROC_VISION_H */
