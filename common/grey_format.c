/*
 * grey_format.c
 *	  Parsing of serialised grey images (see grey_format.h).
 */
#include "grey_format.h"

#include <string.h>

/* A positive decimal of at most five digits, no leading zero, <= max; chars used or 0. */
static size_t
parse_number(const uint8_t *p, size_t avail, int max, int *value)
{
	size_t		n = 0;
	int			v = 0;

	while (n < avail && n < 5 && p[n] >= '0' && p[n] <= '9')
	{
		v = v * 10 + (p[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && p[0] == '0') || v <= 0 || v > max)
		return 0;
	*value = v;
	return n;
}

/*
 * Numbers separated by single spaces after a tag, then a newline, from
 * data[*pos]; *pos moves past the newline.  False if anything differs.
 */
static bool
parse_line(const uint8_t *data, size_t len, size_t *pos, const char *tag,
		   int count, const int *max, int *values)
{
	size_t		taglen = strlen(tag);
	size_t		at = *pos;

	if (len - at < taglen || memcmp(data + at, tag, taglen) != 0)
		return false;
	at += taglen;
	for (int i = 0; i < count; i++)
	{
		size_t		n = parse_number(data + at, len - at, max[i], &values[i]);

		if (n == 0)
			return false;
		at += n;
		if (at >= len || data[at++] != (i + 1 < count ? ' ' : '\n'))
			return false;
	}
	*pos = at;
	return true;
}

bool
ch_grey_parse_layout(const uint8_t *data, size_t len, ChGreyLayout *layout)
{
	static const int side_max[2] = {CH_GREY_MAX_SIDE, CH_GREY_MAX_SIDE};
	static const int focus_max[4] = {CH_FOCUS_MAX_SOURCE_SIDE, CH_FOCUS_MAX_SOURCE_SIDE,
	CH_FOCUS_MAX_GRID, CH_FOCUS_MAX_GRID};
	size_t		pos = 0;
	size_t		npix;
	int			side[2];
	int			focus[4];

	memset(layout, 0, sizeof(*layout));
	if (data == NULL || !parse_line(data, len, &pos, "GREY ", 2, side_max, side))
		return false;
	npix = (size_t) side[0] * side[1];
	if (len - pos < npix)
		return false;
	layout->width = side[0];
	layout->height = side[1];
	layout->pixels_at = pos;
	pos += npix;
	if (pos == len)
		return true;			/* no focus map (written before 1.1) */
	if (!parse_line(data, len, &pos, "FOCUS ", 4, focus_max, focus) ||
		len - pos != (size_t) focus[2] * focus[3] * CH_FOCUS_TILE_BYTES)
		return false;
	layout->has_focus = true;
	layout->source_width = focus[0];
	layout->source_height = focus[1];
	layout->grid_x = focus[2];
	layout->grid_y = focus[3];
	layout->focus_at = pos;
	return true;
}

bool
ch_grey_parse(const uint8_t *data, size_t len, int *width, int *height, size_t *pixels_at)
{
	ChGreyLayout layout;

	if (!ch_grey_parse_layout(data, len, &layout))
		return false;
	*width = layout.width;
	*height = layout.height;
	*pixels_at = layout.pixels_at;
	return true;
}
