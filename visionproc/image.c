/*
 * image.c
 *	  The grey analysis image: allocation and the serialised form kept in
 *	  Redis and PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera_mode.h"
#include "grey_format.h"
#include "image.h"

GreyImage *
grey_new(int width, int height)
{
	GreyImage  *img;

	if (width <= 0 || height <= 0 || width > CH_GREY_MAX_SIDE || height > CH_GREY_MAX_SIDE)
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
	img->mode = CH_MODE_DAY;	/* unless frame_to_grey says otherwise */
	img->chroma = -1;
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

GreyImage *
grey_decode(const uint8_t *data, size_t len)
{
	int			w,
				h;
	size_t		at;
	GreyImage  *img;

	if (!ch_grey_parse(data, len, &w, &h, &at))
		return NULL;
	img = grey_new(w, h);
	if (img == NULL)
		return NULL;
	memcpy(img->pixels, data + at, (size_t) w * h);
	return img;
}
