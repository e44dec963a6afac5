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
struct AVFormatContext;
struct AVDictionary;

/*
 * The most pixels a decoded picture may have, unless --max-pixels says
 * otherwise: 2^25, just above 8K UHD (7680x4320 = 33,177,600), the largest
 * picture any camera streams.  A frame of that size is 50 MB in YUV 4:2:0
 * and 128 MB as RGBA (a PNG snapshot), which the default per-worker
 * address-space limit allows; anything larger is refused before its
 * pixels are allocated.
 */
#define FRAME_DEFAULT_MAX_PIXELS ((int64_t) 1 << 25)

/* Is width x height within max_pixels?  If not, false with the reason in err. */
extern int	frame_size_allowed(int width, int height, int64_t max_pixels, char *err, size_t errlen);

/* Options for avformat_find_stream_info: max_pixels for each stream's probing decoder. */
extern struct AVDictionary **frame_probe_options(struct AVFormatContext *fmt, int64_t max_pixels);
extern void frame_free_probe_options(struct AVDictionary **opts, unsigned n);

/*
 * Scale and convert any decoded frame to an ANALYSIS_WIDTH x ANALYSIS_HEIGHT
 * grey image, with its lighting mode (mode, chroma) measured from the
 * frame's colour: CH_MODE_IR for a grey picture, else CH_MODE_DAY.
 */
extern GreyImage *frame_to_grey(const struct AVFrame *frame);

/*
 * Decode an encoded still image (JPEG, PNG, BMP, WebP, GIF, PGM/PPM, as an
 * HTTP snapshot URL returns it) held in memory, of at most max_pixels
 * pixels.  Anything else (a playlist, a video container) is refused, and
 * nothing else is ever opened.  NULL on failure, with the reason in err.
 */
extern GreyImage *grey_from_snapshot(const uint8_t *data, size_t len, int64_t max_pixels,
									 char *err, size_t errlen);

/*
 * grey_from_snapshot that also makes the picture's small JPEG (jpeg.h) into
 * *jpeg (malloc'd; NULL with the reason in jpeg_err when it cannot be made).
 */
extern GreyImage *grey_from_snapshot_jpeg(const uint8_t *data, size_t len, int64_t max_pixels,
										  uint8_t **jpeg, size_t *jpeg_len,
										  char *jpeg_err, size_t jpeg_errlen,
										  char *err, size_t errlen);

/* grey_from_snapshot with FRAME_DEFAULT_MAX_PIXELS */
extern GreyImage *grey_from_image_bytes(const uint8_t *data, size_t len, char *err, size_t errlen);

/*
 * Read and decode an image file (or the first frame of a video file), any
 * format; nothing but the file itself is opened.
 */
extern GreyImage *grey_from_file(const char *path, char *err, size_t errlen);

#endif							/* VISIONPROC_FRAME_H */
