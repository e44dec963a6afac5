/*
 * image.c
 *	  The grey analysis image: allocation and the serialised form kept in
 *	  Redis and PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Generous bounds: a decoded reference is never larger than this. */
#define GREY_MAX_SIDE 8192

GreyImage *
grey_new(int width, int height)
{
	GreyImage  *img;

	if (width <= 0 || height <= 0 || width > GREY_MAX_SIDE || height > GREY_MAX_SIDE)
		return NULL;
	img = malloc(sizeof(GreyImage));
	if (img == NULL)
		return NULL;
	img->pixels = calloc((size_t) width * height, 1);
	if (img->pixels == NULL)
	{
		free(img);
		return NULL;
	}
	img->width = width;
	img->height = height;
	return img;
}

void
grey_free(GreyImage *img)
{
	if (img == NULL)
		return;
	free(img->pixels);
	free(img);
}

uint8_t *
grey_encode(const GreyImage *img, size_t *len)
{
	char		header[32];
	int			hlen;
	size_t		npix;
	uint8_t    *out;

	if (img == NULL || img->pixels == NULL || img->width <= 0 || img->height <= 0)
		return NULL;
	hlen = snprintf(header, sizeof(header), "GREY %d %d\n", img->width, img->height);
	npix = (size_t) img->width * img->height;
	out = malloc(hlen + npix);
	if (out == NULL)
		return NULL;
	memcpy(out, header, hlen);
	memcpy(out + hlen, img->pixels, npix);
	*len = hlen + npix;
	return out;
}

/* Parse a positive decimal number of at most five digits; returns chars used or 0. */
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
	if (n == 0 || (n > 1 && p[0] == '0') || v <= 0 || v > GREY_MAX_SIDE)
		return 0;
	*value = v;
	return n;
}

/*
 * Strict: exactly "GREY <w> <h>\n" followed by exactly w*h bytes.  Data
 * from Redis could be anything (another version, a truncated write).
 */
GreyImage *
grey_decode(const uint8_t *data, size_t len)
{
	size_t		pos = 5;
	size_t		n;
	int			w,
				h;
	GreyImage  *img;

	if (data == NULL || len < 5 || memcmp(data, "GREY ", 5) != 0)
		return NULL;
	if ((n = parse_side(data + pos, len - pos, &w)) == 0)
		return NULL;
	pos += n;
	if (pos >= len || data[pos++] != ' ')
		return NULL;
	if ((n = parse_side(data + pos, len - pos, &h)) == 0)
		return NULL;
	pos += n;
	if (pos >= len || data[pos++] != '\n')
		return NULL;
	if (len - pos != (size_t) w * h)
		return NULL;
	img = grey_new(w, h);
	if (img == NULL)
		return NULL;
	memcpy(img->pixels, data + pos, (size_t) w * h);
	return img;
}
