/*
 * frame.h
 *	  From decoded video frames and image files to analysis images, with
 *	  FFmpeg's libraries (libavcodec, libavformat, libswscale).
 */
#ifndef VISIONPROC_FRAME_H
#define VISIONPROC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

struct AVFrame;

/* Scale and convert any decoded frame to an ANALYSIS_WIDTH x ANALYSIS_HEIGHT grey image. */
extern GreyImage *frame_to_grey(const struct AVFrame *frame);

/*
 * Decode an encoded still image (JPEG, PNG, ... as an HTTP snapshot URL
 * returns it) held in memory.  NULL on failure, with the reason in err.
 */
extern GreyImage *grey_from_image_bytes(const uint8_t *data, size_t len, char *err, size_t errlen);

/* Read and decode an image file (or the first frame of a video file). */
extern GreyImage *grey_from_file(const char *path, char *err, size_t errlen);

#endif							/* VISIONPROC_FRAME_H */
