/*
 * focus.c
 *	  The focus map: fine detail against coarse contrast, tile by tile, on
 *	  a picture's luma plane at its native resolution.
 *
 * The analysis image (320 x 240) is two to six times smaller than what
 * cameras stream, and the slight defocus of a lens knocked or drifting
 * (a Gaussian of a pixel or two at the source) has all but vanished from
 * it; at the native size it has taken the finest band away.  So at grab or
 * decode time, while the decoded plane is at hand, each tile of a grid
 * keeps two numbers, and the rest of the analysis never needs the large
 * picture:
 *   - detail: the energy of second differences (along x plus along y) of
 *     the plane as decoded, the band a defocus of a pixel or two empties
 *     first, over
 *   - contrast: the energy of first differences of the plane binned 8 x 8,
 *     what such a defocus leaves.
 * (The plane binned 2 x 2 for the detail was tried: it halves what sensor
 * noise adds, but a dull scene heavily compressed then loses as much of
 * its detail as a sigma-2 blur takes, and looks blurred.)  Noise raises
 * the detail, so it never fakes blur; it can hide a slight one, which the
 * analysis image's own measure (blur.c) then still judges.
 * Their ratio does not change with brightness or contrast (a gain cancels,
 * an offset does not enter differences), so a frame is compared with its
 * reference tile by tile (blur.c) as a share of the detail kept.  The
 * numbers are kept as 16-bit codes of their base-2 logarithms, as the
 * serialised form stores them, so that a map survives Redis and the
 * database bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grey_format.h"
#include "image.h"

/* contrast energy (grey levels^2 per sample) below which a tile is too flat */
#define FOCUS_MIN_CONTRAST 1.0
/* rows of the plane the detail is taken on: one in this many */
#define FOCUS_ROW_STEP 2
/* smallest plane a map is made of: a few binned samples per tile */
#define FOCUS_MIN_SIDE 64

uint16_t
focus_code(double v)
{
	double		c;

	if (!(v > 0))
		return 0;
	c = (log2(v) + 32) * 1024;
	return c < 1 ? 1 : c > 65535 ? 65535 : (uint16_t) lround(c);
}

double
focus_value(uint16_t code)
{
	return code ? exp2(code / 1024.0 - 32) : 0;
}

/*
 * The detail loop is worth vectorising (three times faster: it runs over
 * every grabbed frame at its full size), which GCC's -O2 cost model
 * declines for loops of unknown length; clang does it at -O2 anyway.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORISE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define VECTORISE
#endif

/*
 * Per tile, the mean of (second difference along x)^2 + (along y)^2 of
 * the plane as decoded, in integers over the bytes themselves (no copy:
 * this runs on every grabbed frame at its full size), on every
 * FOCUS_ROW_STEP-th row: a tile has thousands of pixels, and half of its
 * rows judge it as well as all of them for half the time.  The plane's border
 * rows and columns are skipped; a tile spans [t * w / grid, (t + 1) * w /
 * grid).
 */
static void VECTORISE
tile_detail(const uint8_t *luma, int stride, int w, int h, int gx, int gy, double *out)
{
	for (int ty = 0; ty < gy; ty++)
	{
		int			y0 = ty * h / gy,
					y1 = (ty + 1) * h / gy;

		if (y0 < 1)
			y0 = 1;
		if (y1 > h - 1)
			y1 = h - 1;
		for (int tx = 0; tx < gx; tx++)
		{
			int			x0 = tx * w / gx,
						x1 = (tx + 1) * w / gx;
			uint64_t	s = 0;
			int			rows = 0;

			if (x0 < 1)
				x0 = 1;
			if (x1 > w - 1)
				x1 = w - 1;
			for (int y = y0; y < y1; y += FOCUS_ROW_STEP, rows++)
			{
				const uint8_t *c = luma + (size_t) y * stride;
				const uint8_t *u = c - stride;
				const uint8_t *d = c + stride;
				/* 32-bit sums over runs short enough not to overflow: 2 * 1020^2 a pixel */
				for (int xs = x0; xs < x1; xs += 1024)
				{
					int			xe = xs + 1024 < x1 ? xs + 1024 : x1;
					uint32_t	run = 0;

					for (int x = xs; x < xe; x++)
					{
						int			lx = c[x - 1] + c[x + 1] - 2 * c[x];
						int			ly = u[x] + d[x] - 2 * c[x];

						run += (uint32_t) (lx * lx + ly * ly);
					}
					s += run;
				}
			}
			out[ty * gx + tx] = rows && x1 > x0 ? (double) s / ((double) rows * (x1 - x0)) : 0;
		}
	}
}

/* The plane binned 8 x 8 (its sides rounded down), as floats. */
static float *
bin8(const uint8_t *luma, int stride, int width, int height, int *bw, int *bh)
{
	int			w = width / 8;
	int			h = height / 8;
	float	   *out = malloc((size_t) (w > 0 ? w : 1) * (h > 0 ? h : 1) * sizeof(float));
	uint32_t   *acc = malloc((size_t) (w > 0 ? w : 1) * sizeof(uint32_t));

	if (out == NULL || acc == NULL)
	{
		free(out);
		free(acc);
		return NULL;
	}
	for (int y = 0; y < h; y++)
	{
		memset(acc, 0, w * sizeof(uint32_t));
		for (int j = 0; j < 8; j += 2)
		{
			const uint8_t *r = luma + (size_t) (y * 8 + j) * stride;

			for (int x = 0; x < w; x++)
			{
				const uint8_t *q = r + x * 8;

				acc[x] += q[0] + q[1] + q[2] + q[3] + q[4] + q[5] + q[6] + q[7];
			}
		}
		for (int x = 0; x < w; x++)
			out[(size_t) y * w + x] = acc[x] / 32.0f;
	}
	free(acc);
	*bw = w;
	*bh = h;
	return out;
}

/*
 * Per tile, the mean of (central difference along x)^2 + (along y)^2,
 * halved, of p (w x h floats); borders skipped, tiles as above.
 */
static void
tile_contrast(const float *p, int w, int h, int gx, int gy, double *out)
{
	for (int ty = 0; ty < gy; ty++)
	{
		int			y0 = ty * h / gy,
					y1 = (ty + 1) * h / gy;

		for (int tx = 0; tx < gx; tx++)
		{
			int			x0 = tx * w / gx,
						x1 = (tx + 1) * w / gx;
			double		s = 0;
			int			n = 0;

			for (int y = y0 > 0 ? y0 : 1; y < y1 && y < h - 1; y++)
			{
				const float *r = p + (size_t) y * w;

				for (int x = x0 > 0 ? x0 : 1; x < x1 && x < w - 1; x++)
				{
					float		dx = (r[x + 1] - r[x - 1]) * 0.5f;
					float		dy = (r[x + w] - r[x - w]) * 0.5f;

					s += dx * dx + dy * dy;
					n++;
				}
			}
			out[ty * gx + tx] = n ? s / n : 0;
		}
	}
}

FocusMap *
focus_map_from_luma(const uint8_t *luma, int stride, int width, int height)
{
	FocusMap   *map;
	float	   *coarse;
	int			cw,
				ch;
	double		detail[FOCUS_GRID_X * FOCUS_GRID_Y];
	double		contrast[FOCUS_GRID_X * FOCUS_GRID_Y];

	if (luma == NULL || width < FOCUS_MIN_SIDE || height < FOCUS_MIN_SIDE || stride < width)
		return NULL;
	map = focus_map_new(width, height, FOCUS_GRID_X, FOCUS_GRID_Y);
	coarse = bin8(luma, stride, width, height, &cw, &ch);
	if (map == NULL || coarse == NULL)
	{
		focus_map_free(map);
		free(coarse);
		return NULL;
	}
	tile_detail(luma, stride, width, height, FOCUS_GRID_X, FOCUS_GRID_Y, detail);
	tile_contrast(coarse, cw, ch, FOCUS_GRID_X, FOCUS_GRID_Y, contrast);
	free(coarse);
	for (int i = 0; i < FOCUS_GRID_X * FOCUS_GRID_Y; i++)
	{
		bool		flat = contrast[i] < FOCUS_MIN_CONTRAST || detail[i] <= 0;

		map->detail[i] = flat ? 0 : focus_code(detail[i] / contrast[i]);
		map->contrast[i] = flat ? 0 : focus_code(contrast[i]);
	}
	return map;
}
