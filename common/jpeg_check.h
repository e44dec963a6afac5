/*
 * jpeg_check.h
 *	  What a JPEG picture (snapshot, reference or alert evidence) must look
 *	  like to be stored: the check the ingest worker makes on the jpeg field
 *	  of results:vision and the CHECK constraints of the evidence tables
 *	  (sql/12_evidence.sql) make, kept equal.  Plain C, no allocation.
 */
#ifndef CAMERA_HEALTH_JPEG_CHECK_H
#define CAMERA_HEALTH_JPEG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The largest picture stored: a 320-pixel-wide frame is 5 to 25 kB at the
 * quality visionproc encodes it; anything bigger is not one of ours
 * (visionproc re-encodes coarser to stay below it).
 */
#define CH_JPEG_MAX_BYTES (64 * 1024)
#define CH_JPEG_MIN_BYTES 4

/*
 * Is data[0..len) plausibly one JPEG picture of at most CH_JPEG_MAX_BYTES:
 * SOI (FF D8) first, EOI (FF D9) last?  Not a decoder: readers get the
 * bytes as they are, as image/jpeg, and their decoder is the judge.
 */
extern bool ch_jpeg_plausible(const uint8_t *data, size_t len);

#endif							/* CAMERA_HEALTH_JPEG_CHECK_H */
