/*
 * grey_format.c
 *	  Parsing of serialised grey images (see grey_format.h).
 */
#include "grey_format.h"

#include <string.h>

/* A positive decimal of at most five digits, no leading zero; chars used or 0. */
static size_t
parse_side(const uint8_t *p, size_t avail, int *value)
{
	size_t		n = 0;
	int			v = 0;

	while (n < avail && n < 5 && p[n] >= '0' && p[n] <= '9')
	{
		v = v * 10 + (p[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && p[0] == '0') || v <= 0 || v > CH_GREY_MAX_SIDE)
		return 0;
	*value = v;
	return n;
}

bool
ch_grey_parse(const uint8_t *data, size_t len, int *width, int *height, size_t *pixels_at)
{
	size_t		pos = 5;
	size_t		n;
	int			w,
				h;

	if (data == NULL || len < 5 || memcmp(data, "GREY ", 5) != 0)
		return false;
	if ((n = parse_side(data + pos, len - pos, &w)) == 0)
		return false;
	pos += n;
	if (pos >= len || data[pos++] != ' ')
		return false;
	if ((n = parse_side(data + pos, len - pos, &h)) == 0)
		return false;
	pos += n;
	if (pos >= len || data[pos++] != '\n')
		return false;
	if (len - pos != (size_t) w * h)
		return false;
	*width = w;
	*height = h;
	*pixels_at = pos;
	return true;
}
