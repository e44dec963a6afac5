/*
 * blur.c
 *	  Is the camera out of focus?  The frame's fine detail against the
 *	  reference's, block by block, each normalised by its own coarse
 *	  contrast.
 *
 * Fine detail is the energy of second differences of the picture halved
 * (what defocus takes away first); coarse contrast is the energy of first
 * differences of the picture quartered (what defocus leaves).  Their ratio
 * does not change with brightness or contrast, and it is compared with the
 * same ratio of the reference in the same block, so a dull scene (few
 * edges, soft texture) is judged against its own dullness, not against a
 * universal idea of sharpness.  Taking the ratio block by block (8 x 6
 * blocks) and then the median of the blocks' ratios keeps a shadow falling
 * over part of the scene, or people walking by, from tipping it.
 *
 * Both are taken along x and along y apart, and the direction that lost
 * more decides: a shaking camera or a slow shutter smears one way only,
 * and would hide behind the direction it spares.
 *
 * Why halved: sensor noise raises differences at full size most of all,
 * enough to make a blurred frame look sharp; averaging 2 x 2 pixels
 * divides its variance by 4 while defocus of a pixel or more still wipes
 * out that band.  What noise is left is estimated (noise_sigma, over the
 * whole picture) and its expected share, 6 sigma^2 for a second difference
 * of white noise, is taken out; in a block darker than the picture's mean
 * less of it, in proportion (squared) to its brightness, as noise shrinks
 * in the dark (shot noise), and so that a darkened corner is not emptied
 * of detail by subtracting more noise than it holds.
 *
 * The analysis image is a few times smaller than the camera's picture, and
 * a slight defocus (a Gaussian of a pixel or two at the source) is all but
 * gone from it.  So when the frame and its reference both carry a focus
 * map of the same source size (focus.c: fine detail over coarse contrast
 * per tile, at the native resolution), it judges too: the contrast-
 * weighted median of the tiles' ratios over the reference's more textured
 * half, where a slight defocus shows best and a dull tile's compression
 * noise matters least.  Either measure below its threshold is blur.  A
 * reference from before 1.1 has no map and is judged as it always was.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grey_format.h"
#include "metrics.h"

/* detected when the frame keeps less than this share of the detail (amplitude) */
#define SHARPNESS_THRESHOLD 0.68
#define GRID_X 8
#define GRID_Y 6
/* coarse energy (per axis) below which a block is too flat to judge */
#define MIN_COARSE_ENERGY 0.25
/* blocks that must be judged for a verdict */
#define MIN_BLOCKS 6

/* the same at the native resolution (focus maps, focus.c) */
#define FOCUS_SHARPNESS_THRESHOLD 0.70
#define FOCUS_MIN_TILES 24
/* the share of the reference's tiles, the most contrasted, that are judged */
#define FOCUS_TEXTURED_SHARE 0.5

typedef struct WeightedRatio
{
	double		ratio;
	double		weight;
} WeightedRatio;

static int
cmp_ratio(const void *a, const void *b)
{
	double		x = ((const WeightedRatio *) a)->ratio;
	double		y = ((const WeightedRatio *) b)->ratio;

	return x < y ? -1 : x > y;
}

/* The weighted median of n ratios whose weights add up to total (n > 0). */
static double
weighted_median(WeightedRatio *q, int n, double total)
{
	double		acc = 0;

	qsort(q, n, sizeof(WeightedRatio), cmp_ratio);
	for (int i = 0; i < n; i++)
	{
		acc += q[i].weight;
		if (acc >= total / 2)
			return q[i].ratio;
	}
	return q[n - 1].ratio;
}

static double
block_mean(const Plane *p, int x0, int y0, int bw, int bh)
{
	double		s = 0;

	for (int y = y0; y < y0 + bh; y++)
		for (int x = x0; x < x0 + bw; x++)
			s += p->v[(size_t) y * p->width + x];
	return s / (bw * bh);
}

/*
 * Mean squared difference along x or y over the block (x0, y0, bw, bh) of
 * p: second (1 -2 1) or first (central).  The plane's border is skipped.
 */
static double
difference_energy(const Plane *p, int x0, int y0, int bw, int bh, bool along_x, bool second)
{
	int			w = p->width;
	int			step = along_x ? 1 : w;
	double		s = 0;
	int			n = 0;

	for (int y = y0 > 0 ? y0 : 1; y < y0 + bh && y < p->height - 1; y++)
	{
		const float *r = p->v + (size_t) y * w;

		for (int x = x0 > 0 ? x0 : 1; x < x0 + bw && x < w - 1; x++)
		{
			float		d = second ? r[x - step] - 2 * r[x] + r[x + step] :
				(r[x + step] - r[x - step]) * 0.5f;

			s += d * d;
			n++;
		}
	}
	return n ? s / n : 0;
}

/*
 * Per block, fine detail over coarse contrast along one axis (-1: too
 * flat) and the coarse contrast itself.
 */
static void
block_detail(const Picture *pic, bool along_x, double *out, double *contrast)
{
	int			hw = pic->half->width / GRID_X;
	int			hh = pic->half->height / GRID_Y;
	int			qw = pic->quarter->width / GRID_X;
	int			qh = pic->quarter->height / GRID_Y;
	/* white noise: variance / 4 once halved, times 1 + 4 + 1 */
	double		noise = 1.5 * pic->noise * pic->noise;
	double		mean = pic->mean + 1;

	for (int by = 0; by < GRID_Y; by++)
	{
		for (int bx = 0; bx < GRID_X; bx++)
		{
			double		local = (block_mean(pic->half, bx * hw, by * hh, hw, hh) + 1) / mean;
			double		fine = difference_energy(pic->half, bx * hw, by * hh, hw, hh, along_x, true) -
				noise * (local < 1 ? local * local : 1);
			double		coarse = difference_energy(pic->quarter, bx * qw, by * qh, qw, qh, along_x, false);

			out[by * GRID_X + bx] = coarse < MIN_COARSE_ENERGY ? -1 : (fine > 0 ? fine : 0) / coarse;
			contrast[by * GRID_X + bx] = coarse;
		}
	}
}

/*
 * The blocks' ratios of frame to reference detail, weighted by their
 * contrast (the lesser of the two): the median of that weighted
 * distribution, -1 when too few blocks can be judged.  The weight keeps
 * blocks that have little left to judge (a darkened corner) from counting
 * as much as the ones that show the scene.
 */
static double
median_ratio(const Picture *ref, const Picture *frame, bool along_x, int *blocks)
{
	double		r[GRID_X * GRID_Y],
				f[GRID_X * GRID_Y],
				cr[GRID_X * GRID_Y],
				cf[GRID_X * GRID_Y];
	WeightedRatio q[GRID_X * GRID_Y];
	int			n = 0;
	double		total = 0;

	block_detail(ref, along_x, r, cr);
	block_detail(frame, along_x, f, cf);
	for (int i = 0; i < GRID_X * GRID_Y; i++)
	{
		if (r[i] > 0 && f[i] >= 0)
		{
			q[n].ratio = f[i] / r[i];
			q[n].weight = cr[i] < cf[i] ? cr[i] : cf[i];
			total += q[n].weight;
			n++;
		}
	}
	*blocks = n;
	if (n < MIN_BLOCKS)
		return -1;
	return weighted_median(q, n, total);
}

static int
cmp_code(const void *a, const void *b)
{
	return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

/*
 * The reference's contrast code that its more textured tiles reach:
 * the FOCUS_TEXTURED_SHARE quantile of its judged tiles.
 */
static uint16_t
textured_floor(const FocusMap *ref)
{
	uint16_t	c[CH_FOCUS_MAX_GRID * CH_FOCUS_MAX_GRID];
	int			n = 0;

	for (int i = 0; i < ref->grid_x * ref->grid_y; i++)
		if (ref->contrast[i])
			c[n++] = ref->contrast[i];
	if (n == 0)
		return 0;
	qsort(c, n, sizeof(uint16_t), cmp_code);
	return c[(int) (n * (1 - FOCUS_TEXTURED_SHARE))];
}

/*
 * The frame's detail over the reference's at the native resolution, tile
 * by tile, as blocks are compared above: the contrast-weighted median of
 * the tiles both can judge, -1 when too few can (or the maps are not of
 * the same picture size: a reference from a snapshot, frames from a
 * stream of another resolution).  A tile in the frame gone flat (covered,
 * a person's plain coat) is not judged; the median keeps a few tiles that
 * people walk through from tipping it.
 */
static double
focus_ratio(const FocusMap *ref, const FocusMap *frame, int *tiles)
{
	WeightedRatio q[CH_FOCUS_MAX_GRID * CH_FOCUS_MAX_GRID];
	int			n = 0;
	double		total = 0;

	uint16_t	floor_code = 0;

	*tiles = 0;
	if (ref == NULL || frame == NULL || ref->source_width != frame->source_width ||
		ref->source_height != frame->source_height || ref->grid_x != frame->grid_x ||
		ref->grid_y != frame->grid_y)
		return -1;
	floor_code = textured_floor(ref);
	for (int i = 0; i < ref->grid_x * ref->grid_y; i++)
	{
		if (ref->detail[i] == 0 || frame->detail[i] == 0 || ref->contrast[i] < floor_code)
			continue;
		/* codes are base-2 logarithms: their difference is the ratio's */
		q[n].ratio = exp2((frame->detail[i] - (int) ref->detail[i]) / 1024.0);
		q[n].weight = focus_value(ref->contrast[i] < frame->contrast[i] ?
								  ref->contrast[i] : frame->contrast[i]);
		total += q[n].weight;
		n++;
	}
	*tiles = n;
	if (n < FOCUS_MIN_TILES)
		return -1;
	return weighted_median(q, n, total);
}

void
blur_measure(const Picture *ref, const Picture *frame, const FocusMap *ref_focus,
			 const FocusMap *frame_focus, BlurResult *res)
{
	double		qf;

	double		qx,
				qy;
	int			nx,
				ny;

	memset(res, 0, sizeof(*res));
	res->threshold = SHARPNESS_THRESHOLD;
	res->reference_noise = ref->noise;
	res->frame_noise = frame->noise;
	qx = median_ratio(ref, frame, true, &nx);
	qy = median_ratio(ref, frame, false, &ny);
	/* amplitudes, not energies: 0.5 reads as half the detail */
	res->sharpness_x = qx >= 0 ? sqrt(qx) : 1;
	res->sharpness_y = qy >= 0 ? sqrt(qy) : 1;
	res->blocks = nx < ny ? nx : ny;
	res->measurable = qx >= 0 || qy >= 0;
	res->sharpness = res->sharpness_x < res->sharpness_y ? res->sharpness_x : res->sharpness_y;
	res->detected = res->measurable && res->sharpness < SHARPNESS_THRESHOLD;

	res->focus_threshold = FOCUS_SHARPNESS_THRESHOLD;
	qf = focus_ratio(ref_focus, frame_focus, &res->focus_tiles);
	res->focus_measurable = qf >= 0;
	res->focus_sharpness = qf >= 0 ? sqrt(qf) : 1;
	if (res->focus_measurable && res->focus_sharpness < FOCUS_SHARPNESS_THRESHOLD)
		res->detected = true;
}
