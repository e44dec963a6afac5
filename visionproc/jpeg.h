/*
 * jpeg.h
 *	  Small JPEG pictures of decoded frames (snapshots, references and
 *	  alert evidence), with libavcodec's MJPEG encoder and libswscale.
 */
#ifndef VISIONPROC_JPEG_H
#define VISIONPROC_JPEG_H

#include <stddef.h>
#include <stdint.h>

struct AVFrame;

/* The width of the pictures; the height follows the frame's display aspect. */
#define JPEG_WIDTH 320

/*
 * frame scaled to JPEG_WIDTH pixels wide (never enlarged), in colour when
 * it has colour, encoded as one baseline JPEG of at most CH_JPEG_MAX_BYTES
 * (jpeg_check.h): coarser quantisers, then half and quarter sizes are
 * tried until it fits.  Returns a
 * malloc'd buffer and its length in *len, or NULL with the reason in err.
 * Thread-safe: every context is the call's own.
 */
extern uint8_t *jpeg_from_frame(const struct AVFrame *frame, size_t *len, char *err, size_t errlen);

#endif							/* VISIONPROC_JPEG_H */
