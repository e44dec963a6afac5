/*
 * obstruction.c
 *	  Is something in front of the lens (a cover, spray, a hand), or is the
 *	  picture dark?  Block by block, the frame's detail against the
 *	  reference's detail in the same place.
 *
 * The picture is cut into 16 x 12 blocks.  A block's detail is the
 * standard deviation left once a plane (its mean and linear shading) is
 * taken out: a smooth ramp, such as what remains of a scene behind spray or
 * a lit wall, is not detail; texture, edges and objects are.  It is
 * measured on the picture halved, and the sensor noise is subtracted (as
 * variance), so noise does not pass for detail.
 *
 * Only blocks with detail in the reference are judged (a patch of sky or a
 * blank wall has none to lose).  Such a block is lost when its detail fell
 * below LOST_RATIO of the reference's: a cover, spray or dark leaves next
 * to nothing (a few percent), while lighting and contrast changes, noise,
 * compression and even strong defocus keep far more (defocus spares the
 * larger structures that a block still holds).  The verdict is on the share
 * of lost blocks, so people walking by or a changed shadow do not count.
 *
 * A block that went black is not counted when the whole picture got
 * darker and the block was dark enough to sink to black with it: at night
 * or after an exposure change, shadows clip (and highlights, the other
 * way).  How much darker is taken from the blocks that kept their detail
 * (a cover does not change those), and only when enough of them are left
 * to tell.  A picture that is black nearly all over is reported as dark
 * in any case.
 *
 * If the camera moved, the reference is first brought into the frame's
 * geometry (by the displacement estimate), and blocks that show what the
 * reference never saw are left out: a camera that turned is not a covered
 * one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define GRID_X 16
#define GRID_Y 12
#define NBLOCKS (GRID_X * GRID_Y)
#define LOST_RATIO 0.25			/* detail below this share of the reference's */
#define MIN_DETAIL 2.0			/* grey levels: a reference block with less
								 * is not judged */
#define COVERED_THRESHOLD 0.4	/* share of judged blocks lost */
#define MIN_VALID 0.9			/* share of a block the aligned reference
								 * must cover */
#define DARK_LEVEL 24			/* a block darker than this (mean) is black,
								 * brighter than 255 - this, white */
#define CLIP_MARGIN 16			/* a block this close to black or white may
								 * clip */
#define MIN_KEPT 0.25			/* share of judged blocks that must keep their
								 * detail to estimate a change of brightness */
#define DARK_THRESHOLD 0.9		/* share of the frame that is black */
#define REF_DARK_LIMIT 0.5		/* ... unless the reference was that dark */

typedef struct BlockPair
{
	double		mean_ref;
	double		mean_frame;
	bool		lost;
} BlockPair;

/*
 * Detail (plane-fit residual std) of one block of p, noise variance
 * removed; the block's mean goes to *mean_out.
 */
static double
block_detail(const Plane *p, int x0, int y0, int bw, int bh, double noise_var, double *mean_out)
{
	double		s = 0,
				su = 0,
				sv = 0,
				s2 = 0;
	double		cu = (bw - 1) / 2.0;
	double		cv = (bh - 1) / 2.0;
	double		uu = 0,
				vv = 0;
	double		n = (double) bw * bh;
	double		mean,
				resid;

	for (int y = 0; y < bh; y++)
	{
		const float *row = p->v + (size_t) (y0 + y) * p->width + x0;
		double		v = y - cv;

		for (int x = 0; x < bw; x++)
		{
			double		u = x - cu;
			double		val = row[x];

			s += val;
			s2 += val * val;
			su += u * val;
			sv += v * val;
			uu += u * u;
			vv += v * v;
		}
	}
	/* u and v are orthogonal over the block: the fit separates */
	mean = s / n;
	*mean_out = mean;
	resid = s2 / n - mean * mean - (su * su / uu + sv * sv / vv) / n;
	resid -= noise_var;
	return resid > 0 ? sqrt(resid) : 0;
}

/* Share of the blocks of a half-size plane whose mean is black. */
static double
dark_share(const Plane *half)
{
	int			bw = half->width / GRID_X;
	int			bh = half->height / GRID_Y;
	int			dark = 0;

	for (int by = 0; by < GRID_Y; by++)
	{
		for (int bx = 0; bx < GRID_X; bx++)
		{
			double		s = 0;

			for (int y = by * bh; y < (by + 1) * bh; y++)
				for (int x = bx * bw; x < (bx + 1) * bw; x++)
					s += half->v[(size_t) y * half->width + x];
			dark += s < DARK_LEVEL * bw * bh;
		}
	}
	return (double) dark / NBLOCKS;
}

double
detailed_share(const Picture *pic)
{
	double		noise_var = pic->noise * pic->noise / 4;
	int			bw = pic->half->width / GRID_X;
	int			bh = pic->half->height / GRID_Y;
	int			detailed = 0;
	double		mean;

	for (int by = 0; by < GRID_Y; by++)
		for (int bx = 0; bx < GRID_X; bx++)
			detailed += block_detail(pic->half, bx * bw, by * bh, bw, bh, noise_var, &mean) >= MIN_DETAIL;
	return (double) detailed / NBLOCKS;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/*
 * Lost blocks, less those that only clipped with the whole picture: went
 * black as it got darker, or white as it got brighter.
 */
static int
count_lost(const BlockPair *blocks, int n, int *clipped)
{
	double		shifts[NBLOCKS];
	int			kept = 0;
	int			lost = 0;
	double		shift;

	*clipped = 0;
	for (int i = 0; i < n; i++)
	{
		if (blocks[i].lost)
			lost++;
		else
			shifts[kept++] = blocks[i].mean_frame - blocks[i].mean_ref;
	}
	if (kept == 0 || kept < MIN_KEPT * n)
		return lost;
	qsort(shifts, kept, sizeof(double), cmp_double);
	shift = shifts[kept / 2];
	for (int i = 0; i < n; i++)
	{
		double		expected = blocks[i].mean_ref + shift;

		if (blocks[i].lost &&
			((blocks[i].mean_frame < DARK_LEVEL && expected < DARK_LEVEL + CLIP_MARGIN) ||
			 (blocks[i].mean_frame > 255 - DARK_LEVEL && expected > 255 - DARK_LEVEL - CLIP_MARGIN)))
		{
			(*clipped)++;
			lost--;
		}
	}
	return lost;
}

void
obstruction_measure(const Picture *ref, const Picture *frame,
					const Similarity *align, ObstructionResult *res)
{
	const Plane *href = ref->half;
	const Plane *hframe = frame->half;
	Plane	   *aligned = NULL;
	uint8_t    *valid = NULL;
	BlockPair	blocks[NBLOCKS];
	/* averaging 2 x 2 pixels divides white noise variance by 4 */
	double		ref_noise_var = ref->noise * ref->noise / 4;
	double		frame_noise_var = frame->noise * frame->noise / 4;
	int			w = hframe->width;
	int			bw = w / GRID_X;
	int			bh = hframe->height / GRID_Y;
	int			judged = 0,
				lost,
				clipped;

	memset(res, 0, sizeof(*res));
	res->threshold = COVERED_THRESHOLD;
	res->dark_threshold = DARK_THRESHOLD;
	res->brightness = frame->mean;
	res->reference_brightness = ref->mean;
	res->dark = dark_share(hframe);
	res->reference_dark = dark_share(href);

	if (align && !similarity_is_identity(align))
	{
		/* the same transform on the halved pictures */
		Similarity	half = {align->scale, align->angle, align->tx / 2, align->ty / 2};

		valid = malloc((size_t) w * hframe->height);
		aligned = valid ? plane_warp(href, &half, true, 0, valid) : NULL;
		if (aligned == NULL)
			goto done;
		href = aligned;
	}

	for (int by = 0; by < GRID_Y; by++)
	{
		for (int bx = 0; bx < GRID_X; bx++)
		{
			BlockPair  *b = &blocks[judged];
			double		dref,
						dframe;

			if (valid)
			{
				int			inside = 0;

				for (int y = by * bh; y < (by + 1) * bh; y++)
					for (int x = bx * bw; x < (bx + 1) * bw; x++)
						inside += valid[(size_t) y * w + x];
				if (inside < MIN_VALID * bw * bh)
					continue;
			}
			dref = block_detail(href, bx * bw, by * bh, bw, bh, ref_noise_var, &b->mean_ref);
			if (dref < MIN_DETAIL)
				continue;
			dframe = block_detail(hframe, bx * bw, by * bh, bw, bh, frame_noise_var, &b->mean_frame);
			b->lost = dframe < LOST_RATIO * dref;
			judged++;
		}
	}
	lost = count_lost(blocks, judged, &clipped);
	res->blocks = judged;
	res->covered = judged ? (double) lost / judged : 0;
	res->clipped = judged ? (double) clipped / judged : 0;
	res->detected = (judged > 0 && res->covered >= COVERED_THRESHOLD) ||
		(res->dark >= DARK_THRESHOLD && res->reference_dark < REF_DARK_LIMIT);

done:
	plane_free(aligned);
	free(valid);
}
