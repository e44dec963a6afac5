/*
 * imgmath.c
 *	  Image arithmetic shared by the metrics: float planes, downsampling,
 *	  derivative energies, noise estimation and geometric warps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

Plane *
plane_new(int width, int height)
{
	Plane	   *p;

	if (width <= 0 || height <= 0)
		return NULL;
	p = malloc(sizeof(Plane));
	if (p == NULL)
		return NULL;
	p->v = calloc((size_t) width * height, sizeof(float));
	if (p->v == NULL)
	{
		free(p);
		return NULL;
	}
	p->width = width;
	p->height = height;
	return p;
}

void
plane_free(Plane *p)
{
	if (p == NULL)
		return;
	free(p->v);
	free(p);
}

/* Average factor x factor cells (sizes rounded down). */
static Plane *
plane_downsample(const Plane *src, int factor)
{
	int			w = src->width / factor;
	int			h = src->height / factor;
	float		norm = 1.0f / (factor * factor);
	Plane	   *dst = plane_new(w, h);

	if (dst == NULL)
		return NULL;
	for (int y = 0; y < h * factor; y++)
	{
		const float *row = src->v + (size_t) y * src->width;
		float	   *out = dst->v + (size_t) (y / factor) * w;

		for (int x = 0; x < w; x++)
		{
			float		s = 0;

			for (int k = 0; k < factor; k++)
				s += row[x * factor + k];
			out[x] += s;
		}
	}
	for (size_t i = 0; i < (size_t) w * h; i++)
		dst->v[i] *= norm;
	return dst;
}

/* The 2 x 2 averages of a grey image, straight from its bytes. */
static Plane *
grey_halve(const GreyImage *img)
{
	int			w = img->width / 2;
	int			h = img->height / 2;
	Plane	   *dst = plane_new(w, h);

	if (dst == NULL)
		return NULL;
	for (int y = 0; y < h; y++)
	{
		const uint8_t *r0 = img->pixels + (size_t) (2 * y) * img->width;
		const uint8_t *r1 = r0 + img->width;
		float	   *out = dst->v + (size_t) y * w;

		for (int x = 0; x < w; x++)
			out[x] = (r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1]) * 0.25f;
	}
	return dst;
}

static double
plane_mean(const Plane *p)
{
	double		s = 0;
	size_t		n = (size_t) p->width * p->height;

	for (size_t i = 0; i < n; i++)
		s += p->v[i];
	return s / n;
}

/*
 * The mask 1 -2 1 / -2 4 -2 / 1 -2 1 is the second difference along x of
 * the second difference along y: two cheap passes.  Its response to white
 * noise of sigma s has sigma 6 s; |response| <= 16 * 255.  The median
 * comes from a histogram of every other row (tens of thousands of samples
 * are plenty), kept as four interleaved ones because runs of equal values
 * (flat areas) would otherwise stall on the same counter.
 */
double
noise_sigma(const GreyImage *img)
{
	enum
	{
		BINS = 16 * 255 + 1,
		WAYS = 4
	};
	int			w = img->width;
	int			h = img->height;
	int16_t    *dy;
	uint32_t   *hist;
	size_t		n = 0;
	size_t		seen = 0;
	int			median;

	if (w < 3 || h < 3)
		return 0;
	dy = malloc(w * sizeof(int16_t));
	hist = calloc((size_t) BINS * WAYS, sizeof(uint32_t));
	if (dy == NULL || hist == NULL)
	{
		free(dy);
		free(hist);
		return 0;
	}
	for (int y = 1; y < h - 1; y += 2)
	{
		const uint8_t *r = img->pixels + (size_t) y * w;

		for (int x = 0; x < w; x++)
			dy[x] = (int16_t) (r[x - w] - 2 * r[x] + r[x + w]);
		for (int x = 1; x < w - 1; x++)
		{
			int			v = abs(dy[x - 1] - 2 * dy[x] + dy[x + 1]);

			hist[(x % WAYS) * BINS + v]++;
		}
		n += w - 2;
	}
	for (median = 0; median < BINS - 1; median++)
	{
		size_t		count = 0;

		for (int k = 0; k < WAYS; k++)
			count += hist[k * BINS + median];
		if (seen + count > n / 2)
		{
			/* interpolate within the bin: |response| m stands for m +- 0.5 */
			double		lo = median > 0 ? median - 0.5 : 0;
			double		width = median > 0 ? 1 : 0.5;

			free(dy);
			free(hist);
			return 1.4826 * (lo + width * (n / 2.0 - seen) / count) / 6.0;
		}
		seen += count;
	}
	free(dy);
	free(hist);
	return 1.4826 * median / 6.0;
}

bool
picture_init(Picture *pic, const GreyImage *img)
{
	memset(pic, 0, sizeof(*pic));
	if (img == NULL)
		return false;
	pic->grey = img;
	pic->half = grey_halve(img);
	pic->quarter = pic->half ? plane_downsample(pic->half, 2) : NULL;
	pic->noise = noise_sigma(img);
	if (pic->quarter == NULL)
	{
		picture_free(pic);
		return false;
	}
	pic->mean = plane_mean(pic->half);
	return true;
}

void
picture_free(Picture *pic)
{
	plane_free(pic->half);
	plane_free(pic->quarter);
	pic->half = pic->quarter = NULL;
}

GreyImage *
grey_resample(const GreyImage *img, int width, int height)
{
	GreyImage  *out = grey_new(width, height);
	Plane	   *src;
	int			factor;

	if (out == NULL)
		return NULL;
	src = plane_new(img->width, img->height);
	if (src == NULL)
	{
		grey_free(out);
		return NULL;
	}
	for (size_t i = 0; i < (size_t) img->width * img->height; i++)
		src->v[i] = img->pixels[i];
	/* average first when shrinking a lot, so that bilinear does not alias */
	factor = img->width / width < img->height / height ? img->width / width : img->height / height;
	if (factor >= 2)
	{
		Plane	   *small = plane_downsample(src, factor);

		plane_free(src);
		if (small == NULL)
		{
			grey_free(out);
			return NULL;
		}
		src = small;
	}
	for (int y = 0; y < height; y++)
	{
		double		sy = (y + 0.5) * src->height / height - 0.5;
		int			y0 = sy < 0 ? 0 : (int) sy;
		int			y1 = y0 + 1 < src->height ? y0 + 1 : y0;
		double		fy = sy < 0 ? 0 : sy - y0;

		for (int x = 0; x < width; x++)
		{
			double		sx = (x + 0.5) * src->width / width - 0.5;
			int			x0 = sx < 0 ? 0 : (int) sx;
			int			x1 = x0 + 1 < src->width ? x0 + 1 : x0;
			double		fx = sx < 0 ? 0 : sx - x0;
			const float *r0 = src->v + (size_t) y0 * src->width;
			const float *r1 = src->v + (size_t) y1 * src->width;
			double		v = (r0[x0] * (1 - fx) + r0[x1] * fx) * (1 - fy) +
				(r1[x0] * (1 - fx) + r1[x1] * fx) * fy;

			out->pixels[(size_t) y * width + x] = (uint8_t) (v + 0.5);
		}
	}
	plane_free(src);
	return out;
}

bool
similarity_is_identity(const Similarity *t)
{
	return t->scale == 1 && t->angle == 0 && t->tx == 0 && t->ty == 0;
}

/*
 * The displacement field d(p) = (s R - I)(p - c) + t, averaged over a
 * w x h rectangle centred on c: E|p - c|^2 = (w^2 + h^2) / 12, the cross
 * term vanishes, and (s R - I) only scales lengths, by |s e^(i angle) - 1|.
 */
double
similarity_rms_motion(const Similarity *t, int width, int height)
{
	double		k2 = t->scale * t->scale - 2 * t->scale * cos(t->angle) + 1;

	return sqrt(t->tx * t->tx + t->ty * t->ty +
				k2 * ((double) width * width + (double) height * height) / 12.0);
}

Plane *
plane_warp(const Plane *src, const Similarity *t, bool to_frame, float fill, uint8_t *valid)
{
	int			w = src->width;
	int			h = src->height;
	double		cx = (w - 1) / 2.0;
	double		cy = (h - 1) / 2.0;
	double		a,
				b,
				ox,
				oy;
	Plane	   *out = plane_new(w, h);

	if (out == NULL)
		return NULL;

	/* source position = (a -b; b a) (q - c) + c + o */
	if (to_frame)
	{
		double		s = 1.0 / t->scale;

		a = s * cos(-t->angle);
		b = s * sin(-t->angle);
		ox = -(a * t->tx - b * t->ty);
		oy = -(b * t->tx + a * t->ty);
	}
	else
	{
		a = t->scale * cos(t->angle);
		b = t->scale * sin(t->angle);
		ox = t->tx;
		oy = t->ty;
	}

	for (int y = 0; y < h; y++)
	{
		double		ry = y - cy;
		/* the source position moves by (a, b) from one pixel to the next */
		double		sx = a * -cx - b * ry + cx + ox;
		double		sy = b * -cx + a * ry + cy + oy;
		float	   *row = out->v + (size_t) y * w;
		uint8_t    *vrow = valid ? valid + (size_t) y * w : NULL;

		for (int x = 0; x < w; x++, sx += a, sy += b)
		{
			float		px,
						py,
						fx,
						fy;
			int			x0,
						y0;
			const float *r0;

			if (sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5)
			{
				row[x] = fill;
				if (vrow)
					vrow[x] = 0;
				continue;
			}
			if (vrow)
				vrow[x] = 1;
			px = (float) (sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx);
			py = (float) (sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy);
			x0 = (int) px < w - 2 ? (int) px : w - 2;
			y0 = (int) py < h - 2 ? (int) py : h - 2;
			fx = px - x0;
			fy = py - y0;
			r0 = src->v + (size_t) y0 * w + x0;
			row[x] = (r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) +
				(r0[w] * (1 - fx) + r0[w + 1] * fx) * fy;
		}
	}
	return out;
}
