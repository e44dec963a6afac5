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
	img->focus = NULL;
	return img;
}

void
grey_free(GreyImage *img)
{
	if (img == NULL)
		return;
	focus_map_free(img->focus);
	free(img->pixels);
	free(img);
}

FocusMap *
focus_map_new(int source_width, int source_height, int grid_x, int grid_y)
{
	FocusMap   *map;
	size_t		n;

	if (source_width <= 0 || source_height <= 0 || source_width > CH_FOCUS_MAX_SOURCE_SIDE ||
		source_height > CH_FOCUS_MAX_SOURCE_SIDE || grid_x <= 0 || grid_y <= 0 ||
		grid_x > CH_FOCUS_MAX_GRID || grid_y > CH_FOCUS_MAX_GRID)
		return NULL;
	n = (size_t) grid_x * grid_y;
	map = malloc(sizeof(FocusMap));
	if (map == NULL)
		return NULL;
	map->detail = calloc(n, sizeof(uint16_t));
	map->contrast = calloc(n, sizeof(uint16_t));
	if (map->detail == NULL || map->contrast == NULL)
	{
		focus_map_free(map);
		return NULL;
	}
	map->source_width = source_width;
	map->source_height = source_height;
	map->grid_x = grid_x;
	map->grid_y = grid_y;
	return map;
}

void
focus_map_free(FocusMap *map)
{
	if (map == NULL)
		return;
	free(map->detail);
	free(map->contrast);
	free(map);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t) (p[0] << 8 | p[1]);
}

uint8_t *
grey_encode(const GreyImage *img, size_t *len)
{
	const FocusMap *map;
	char		header[32];
	char		focus[64];
	int			hlen;
	int			flen = 0;
	size_t		npix;
	size_t		ntiles = 0;
	uint8_t    *out;
	uint8_t    *p;

	if (img == NULL || img->pixels == NULL || img->width <= 0 || img->height <= 0)
		return NULL;
	map = img->focus;
	hlen = snprintf(header, sizeof(header), "GREY %d %d\n", img->width, img->height);
	if (map)
	{
		flen = snprintf(focus, sizeof(focus), "FOCUS %d %d %d %d\n", map->source_width,
						map->source_height, map->grid_x, map->grid_y);
		ntiles = (size_t) map->grid_x * map->grid_y;
	}
	npix = (size_t) img->width * img->height;
	out = malloc(hlen + npix + flen + ntiles * CH_FOCUS_TILE_BYTES);
	if (out == NULL)
		return NULL;
	memcpy(out, header, hlen);
	memcpy(out + hlen, img->pixels, npix);
	p = out + hlen + npix;
	if (map)
	{
		memcpy(p, focus, flen);
		p += flen;
		for (size_t i = 0; i < ntiles; i++, p += CH_FOCUS_TILE_BYTES)
		{
			put_be16(p, map->detail[i]);
			put_be16(p + 2, map->contrast[i]);
		}
	}
	*len = p - out;
	return out;
}

GreyImage *
grey_decode(const uint8_t *data, size_t len)
{
	ChGreyLayout l;
	GreyImage  *img;
	FocusMap   *map;

	if (!ch_grey_parse_layout(data, len, &l))
		return NULL;
	img = grey_new(l.width, l.height);
	if (img == NULL)
		return NULL;
	memcpy(img->pixels, data + l.pixels_at, (size_t) l.width * l.height);
	if (!l.has_focus)
		return img;
	map = focus_map_new(l.source_width, l.source_height, l.grid_x, l.grid_y);
	if (map == NULL)
	{
		grey_free(img);
		return NULL;
	}
	for (size_t i = 0; i < (size_t) l.grid_x * l.grid_y; i++)
	{
		const uint8_t *t = data + l.focus_at + i * CH_FOCUS_TILE_BYTES;

		map->detail[i] = get_be16(t);
		map->contrast[i] = get_be16(t + 2);
	}
	img->focus = map;
	return img;
}
