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

/* plane binned k x k (its sides rounded down), as floats */
static float *
bin_plane(const uint8_t *luma, int stride, int width, int height, int k, int *bw, int *bh)
{
	int			w = width / k;
	int			h = height / k;
	float	   *out = malloc((size_t) w * h * sizeof(float));
	float		norm = 1.0f / (k * k);

	if (out == NULL)
		return NULL;
	for (int y = 0; y < h; y++)
	{
		float	   *o = out + (size_t) y * w;

		memset(o, 0, w * sizeof(float));
		for (int j = 0; j < k; j++)
		{
			const uint8_t *r = luma + (size_t) (y * k + j) * stride;

			for (int x = 0; x < w; x++)
			{
				unsigned	s = 0;

				for (int i = 0; i < k; i++)
					s += r[x * k + i];
				o[x] += s;
			}
		}
		for (int x = 0; x < w; x++)
			o[x] *= norm;
	}
	*bw = w;
	*bh = h;
	return out;
}

/*
 * Per tile, the mean squared difference of p (w x h): second (1 -2 1) or
 * first (central, halved) along x plus along y.  The plane's border is
 * skipped; a tile spans [t * w / grid, (t + 1) * w / grid).
 */
static void
tile_energy(const float *p, int w, int h, int gx, int gy, bool second, double *out)
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
					float		dx,
								dy;

					if (second)
					{
						dx = r[x - 1] - 2 * r[x] + r[x + 1];
						dy = r[x - w] - 2 * r[x] + r[x + w];
					}
					else
					{
						dx = (r[x + 1] - r[x - 1]) * 0.5f;
						dy = (r[x + w] - r[x - w]) * 0.5f;
					}
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
	float	   *fine = NULL,
			   *coarse = NULL;
	int			fw,
				fh,
				cw,
				ch;
	double		detail[FOCUS_GRID_X * FOCUS_GRID_Y];
	double		contrast[FOCUS_GRID_X * FOCUS_GRID_Y];

	if (luma == NULL || width < FOCUS_MIN_SIDE || height < FOCUS_MIN_SIDE || stride < width)
		return NULL;
	map = focus_map_new(width, height, FOCUS_GRID_X, FOCUS_GRID_Y);
	fine = bin_plane(luma, stride, width, height, 1, &fw, &fh);	/* as floats */
	coarse = bin_plane(luma, stride, width, height, 8, &cw, &ch);
	if (map == NULL || fine == NULL || coarse == NULL)
	{
		focus_map_free(map);
		map = NULL;
		goto done;
	}
	tile_energy(fine, fw, fh, FOCUS_GRID_X, FOCUS_GRID_Y, true, detail);
	tile_energy(coarse, cw, ch, FOCUS_GRID_X, FOCUS_GRID_Y, false, contrast);
	for (int i = 0; i < FOCUS_GRID_X * FOCUS_GRID_Y; i++)
	{
		bool		flat = contrast[i] < FOCUS_MIN_CONTRAST || detail[i] <= 0;

		map->detail[i] = flat ? 0 : focus_code(detail[i] / contrast[i]);
		map->contrast[i] = flat ? 0 : focus_code(contrast[i]);
	}

done:
	free(fine);
	free(coarse);
	return map;
}
