/*
 * grey_format.h
 *	  The serialised grey analysis image (reference frames): the format
 *	  visionproc writes and reads through Redis and the ingest worker stores
 *	  in camera_health.camera_references.  Plain C, no allocation.
 *
 *	  "GREY <width> <height>\n" then exactly width*height bytes, one per
 *	  pixel, row-major.  Sides are 1..CH_GREY_MAX_SIDE, decimal, no leading
 *	  zeros.
 */
#ifndef CAMERA_HEALTH_GREY_FORMAT_H
#define CAMERA_HEALTH_GREY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_GREY_MAX_SIDE 8192

/*
 * Is data[0..len) one well-formed image?  On true, *width, *height and
 * *pixels_at (the offset of the first pixel) are set.  Strict: data from
 * Redis or a table could be anything (another version, a truncated write,
 * a hostile writer).
 */
extern bool ch_grey_parse(const uint8_t *data, size_t len, int *width, int *height,
						  size_t *pixels_at);

#endif							/* CAMERA_HEALTH_GREY_FORMAT_H */
