/*
 * grey_format.h
 *	  The serialised grey analysis image (reference frames): the format
 *	  visionproc writes and reads through Redis and the ingest worker stores
 *	  in camera_health.camera_references.  Plain C, no allocation.
 *
 *	  "GREY <width> <height>\n" then exactly width*height bytes, one per
 *	  pixel, row-major.  Sides are 1..CH_GREY_MAX_SIDE, decimal, no leading
 *	  zeros.
 *
 *	  Optionally followed by a focus map (images written since 1.1; older
 *	  ones have none and are judged without it):
 *	  "FOCUS <source width> <source height> <grid x> <grid y>\n" then
 *	  grid x * grid y tiles of CH_FOCUS_TILE_BYTES bytes each, row-major:
 *	  two big-endian 16-bit codes, the tile's fine detail over its coarse
 *	  contrast and its coarse contrast, measured on the picture at its
 *	  native resolution (0: too flat to judge).  Source sides are
 *	  1..CH_FOCUS_MAX_SOURCE_SIDE and the grid 1..CH_FOCUS_MAX_GRID a side,
 *	  written as the sides are.
 */
#ifndef CAMERA_HEALTH_GREY_FORMAT_H
#define CAMERA_HEALTH_GREY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_GREY_MAX_SIDE 8192
#define CH_FOCUS_MAX_SOURCE_SIDE 65535
#define CH_FOCUS_MAX_GRID 64
#define CH_FOCUS_TILE_BYTES 4

/* Where the parts of a well-formed image lie (ch_grey_parse_layout). */
typedef struct ChGreyLayout
{
	int			width;
	int			height;
	size_t		pixels_at;		/* offset of the first pixel */
	bool		has_focus;		/* a focus map follows the pixels */
	int			source_width;	/* the focus map's, when has_focus */
	int			source_height;
	int			grid_x;
	int			grid_y;
	size_t		focus_at;		/* offset of its first tile */
} ChGreyLayout;

/*
 * Is data[0..len) one well-formed image?  On true, *width, *height and
 * *pixels_at (the offset of the first pixel) are set.  Strict: data from
 * Redis or a table could be anything (another version, a truncated write,
 * a hostile writer).
 */
extern bool ch_grey_parse(const uint8_t *data, size_t len, int *width, int *height,
						  size_t *pixels_at);

/* The same check, with the whole layout (the focus map too) in *layout. */
extern bool ch_grey_parse_layout(const uint8_t *data, size_t len, ChGreyLayout *layout);

#endif							/* CAMERA_HEALTH_GREY_FORMAT_H */
