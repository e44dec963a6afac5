/*
 * displacement.c
 *	  Has the camera moved?  Image registration of the frame against the
 *	  reference: translation by phase correlation, rotation and zoom by the
 *	  Fourier-Mellin method, both on libavutil's FFT (av_tx).
 *
 * Phase correlation keeps only the phase of the cross-power spectrum, so a
 * change of brightness or contrast does not move its peak; a Gaussian
 * weight on the spectrum leaves out the finest frequencies, where sensor
 * noise, compression and blur live.  The height of the peak is the share
 * of the picture that agrees on one shift: people walking through the
 * scene lower it a little, a covered or unrelated picture leaves no peak
 * worth the name, and that is what the confidence reports.
 *
 * The magnitude of a spectrum does not change when the picture shifts, but
 * turns with it and shrinks as it is zoomed: resampled on log-radius x
 * angle axes, rotation and zoom become a shift that phase correlation
 * finds.  That estimate is kept only if, once undone, the translation
 * correlates clearly better than without it, so a doubtful rotation never
 * passes for a real one.
 *
 * All of it runs on the pictures halved (160 x 120): a quarter of the work,
 * and sub-pixel peak interpolation keeps the shift to a fraction of an
 * analysis pixel.  The verdict is on how far the picture moved: the root
 * mean square distance its points travelled, whatever mix of shift,
 * rotation and zoom moved them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/tx.h>

#include "metrics.h"

/* Verdict */
#define MOTION_THRESHOLD_PX 3.0		/* rms motion, analysis px: 1% of 320 */
#define MIN_CONFIDENCE 0.5

/*
 * Confidence: the lesser of two scales, each 0 at its LOW and 1 at its
 * HIGH: the peak-to-sidelobe ratio (is the peak distinct?) and the peak
 * itself (does enough of the picture agree?  Over a covered frame a tenth
 * of the picture can still make a distinct peak).
 */
#define PSR_LOW 6.0
#define PSR_HIGH 16.0
#define PSR_EXCLUDE 5			/* half-size of the peak area left out */
#define PEAK_LOW 0.10
#define PEAK_HIGH 0.25

/* Spectral weight of the translation correlation, cycles/px (halved). */
#define SPECTRUM_SIGMA 0.25

/* Log-polar resampling of the magnitude spectrum */
#define LP_ANGLES 128			/* over 180 degrees */
#define LP_RADII 64
#define LP_R_MIN 0.02			/* cycles/px */
#define LP_R_MAX 0.45
#define LP_SIGMA 0.25			/* spectral weight of its correlation */

/* A rotation/zoom estimate is tried from this size on ... */
#define FM_MIN_ANGLE (0.3 * M_PI / 180)
#define FM_MIN_SCALE 0.005
/* ... and kept if it raises the translation peak this much, to this level. */
#define FM_GAIN 1.15
#define FM_MIN_PEAK 0.15

typedef struct Fft2
{
	int			w;
	int			h;
	AVTXContext *row[2];		/* [0] forward, [1] inverse */
	AVTXContext *col[2];
	av_tx_fn	row_fn[2];
	av_tx_fn	col_fn[2];
	AVComplexFloat *in;			/* one row or column */
	AVComplexFloat *out;
} Fft2;

/* Everything one registration needs, allocated at once. */
typedef struct Workspace
{
	int			w;				/* the halved pictures */
	int			h;
	Fft2		fft;
	Fft2		lp;				/* LP_RADII x LP_ANGLES */
	float	   *window_x;		/* Hann window, separable */
	float	   *window_y;
	float	   *weight;			/* w x h spectral weight */
	float	   *lp_weight;
	AVComplexFloat *work;		/* w x h */
	AVComplexFloat *spec_ref;
	AVComplexFloat *spec_frame;
	float	   *magnitude;
	float	   *lp_ref;			/* log-polar maps */
	float	   *lp_frame;
	AVComplexFloat *lp_work;
	AVComplexFloat *lp_spec_ref;
	AVComplexFloat *lp_spec_frame;
} Workspace;

typedef struct Peak
{
	double		x;				/* sub-pixel position, wrapped to +-size/2 */
	double		y;
	double		value;			/* 1 for identical inputs */
	double		psr;			/* (peak - mean) / std of the rest */
} Peak;

static void
fft2_free(Fft2 *f)
{
	for (int i = 0; i < 2; i++)
	{
		av_tx_uninit(&f->row[i]);
		av_tx_uninit(&f->col[i]);
	}
	av_freep(&f->in);
	av_freep(&f->out);
}

static bool
fft2_init(Fft2 *f, int w, int h)
{
	float		scale = 1.0f;
	int			n = w > h ? w : h;

	memset(f, 0, sizeof(*f));
	f->w = w;
	f->h = h;
	for (int i = 0; i < 2; i++)
	{
		if (av_tx_init(&f->row[i], &f->row_fn[i], AV_TX_FLOAT_FFT, i, w, &scale, 0) < 0 ||
			av_tx_init(&f->col[i], &f->col_fn[i], AV_TX_FLOAT_FFT, i, h, &scale, 0) < 0)
			return false;
	}
	f->in = av_malloc(n * sizeof(AVComplexFloat));
	f->out = av_malloc(n * sizeof(AVComplexFloat));
	return f->in != NULL && f->out != NULL;
}

/* In-place 2-D transform of w x h complex values (unnormalised). */
static void
fft2_run(Fft2 *f, AVComplexFloat *data, int inverse)
{
	int			w = f->w;
	int			h = f->h;

	for (int y = 0; y < h; y++)
	{
		AVComplexFloat *row = data + (size_t) y * w;

		memcpy(f->in, row, w * sizeof(AVComplexFloat));
		f->row_fn[inverse] (f->row[inverse], f->out, f->in, sizeof(AVComplexFloat));
		memcpy(row, f->out, w * sizeof(AVComplexFloat));
	}
	for (int x = 0; x < w; x++)
	{
		for (int y = 0; y < h; y++)
			f->in[y] = data[(size_t) y * w + x];
		f->col_fn[inverse] (f->col[inverse], f->out, f->in, sizeof(AVComplexFloat));
		for (int y = 0; y < h; y++)
			data[(size_t) y * w + x] = f->out[y];
	}
}

/* Signed frequency of FFT bin k of n, in cycles per sample. */
static inline double
bin_freq(int k, int n)
{
	return (k <= n / 2 ? k : k - n) / (double) n;
}

/* Gaussian low-pass over a w x h spectrum, zero at DC (separable). */
static float *
spectral_weight(int w, int h, double sigma)
{
	float	   *wt = malloc((size_t) w * h * sizeof(float));
	float	   *gx = malloc(w * sizeof(float));

	if (wt == NULL || gx == NULL)
	{
		free(wt);
		free(gx);
		return NULL;
	}
	for (int x = 0; x < w; x++)
		gx[x] = (float) exp(-pow(bin_freq(x, w), 2) / (2 * sigma * sigma));
	for (int y = 0; y < h; y++)
	{
		float		gy = (float) exp(-pow(bin_freq(y, h), 2) / (2 * sigma * sigma));

		for (int x = 0; x < w; x++)
			wt[(size_t) y * w + x] = gx[x] * gy;
	}
	wt[0] = 0;
	free(gx);
	return wt;
}

static float *
hann(int n)
{
	float	   *win = malloc(n * sizeof(float));

	if (win == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		win[i] = (float) (0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / n));
	return win;
}

static void
workspace_free(Workspace *ws)
{
	fft2_free(&ws->fft);
	fft2_free(&ws->lp);
	free(ws->window_x);
	free(ws->window_y);
	free(ws->weight);
	free(ws->lp_weight);
	av_free(ws->work);
	av_free(ws->spec_ref);
	av_free(ws->spec_frame);
	free(ws->magnitude);
	free(ws->lp_ref);
	free(ws->lp_frame);
	av_free(ws->lp_work);
	av_free(ws->lp_spec_ref);
	av_free(ws->lp_spec_frame);
}

static bool
workspace_init(Workspace *ws, int w, int h)
{
	size_t		n = (size_t) w * h;
	size_t		nlp = (size_t) LP_RADII * LP_ANGLES;
	bool		fft_ok,
				lp_ok;

	memset(ws, 0, sizeof(*ws));
	ws->w = w;
	ws->h = h;
	fft_ok = fft2_init(&ws->fft, w, h);
	lp_ok = fft2_init(&ws->lp, LP_RADII, LP_ANGLES);
	ws->window_x = hann(w);
	ws->window_y = hann(h);
	ws->weight = spectral_weight(w, h, SPECTRUM_SIGMA);
	ws->lp_weight = spectral_weight(LP_RADII, LP_ANGLES, LP_SIGMA);
	ws->work = av_malloc(n * sizeof(AVComplexFloat));
	ws->spec_ref = av_malloc(n * sizeof(AVComplexFloat));
	ws->spec_frame = av_malloc(n * sizeof(AVComplexFloat));
	ws->magnitude = malloc(n * sizeof(float));
	ws->lp_ref = malloc(nlp * sizeof(float));
	ws->lp_frame = malloc(nlp * sizeof(float));
	ws->lp_work = av_malloc(nlp * sizeof(AVComplexFloat));
	ws->lp_spec_ref = av_malloc(nlp * sizeof(AVComplexFloat));
	ws->lp_spec_frame = av_malloc(nlp * sizeof(AVComplexFloat));
	if (fft_ok && lp_ok && ws->window_x && ws->window_y && ws->weight && ws->lp_weight &&
		ws->work && ws->spec_ref && ws->spec_frame && ws->magnitude && ws->lp_ref &&
		ws->lp_frame && ws->lp_work && ws->lp_spec_ref && ws->lp_spec_frame)
		return true;
	workspace_free(ws);
	return false;
}

/*
 * Split the transform z of a + i b (a, b real) into the transforms of a
 * and b: A(k) = (Z(k) + conj Z(-k)) / 2, B(k) = (Z(k) - conj Z(-k)) / 2i.
 */
static void
split_spectra(const AVComplexFloat *z, int w, int h, AVComplexFloat *fa, AVComplexFloat *fb)
{
	for (int y = 0; y < h; y++)
	{
		int			ny = y == 0 ? 0 : h - y;

		for (int x = 0; x < w; x++)
		{
			int			nx = x == 0 ? 0 : w - x;
			AVComplexFloat p = z[(size_t) y * w + x];
			AVComplexFloat q = z[(size_t) ny * w + nx];
			size_t		i = (size_t) y * w + x;

			fa[i].re = (p.re + q.re) * 0.5f;
			fa[i].im = (p.im - q.im) * 0.5f;
			fb[i].re = (p.im + q.im) * 0.5f;
			fb[i].im = (q.re - p.re) * 0.5f;
		}
	}
}

/*
 * Transforms of two real pictures of the workspace's size, mean removed and
 * tapered by the window, both in one complex FFT.  a may be NULL when only
 * b's transform is wanted (fa is then unused).
 */
static void
windowed_spectra(Workspace *ws, const float *a, const float *b,
				 AVComplexFloat *fa, AVComplexFloat *fb)
{
	int			w = ws->w;
	int			h = ws->h;
	size_t		n = (size_t) w * h;
	double		ma = 0,
				mb = 0;

	for (size_t i = 0; i < n; i++)
	{
		ma += a ? a[i] : 0;
		mb += b[i];
	}
	ma /= n;
	mb /= n;
	for (int y = 0; y < h; y++)
	{
		for (int x = 0; x < w; x++)
		{
			float		win = ws->window_y[y] * ws->window_x[x];
			size_t		i = (size_t) y * w + x;

			ws->work[i].re = (float) (b[i] - mb) * win;
			ws->work[i].im = a ? (float) (a[i] - ma) * win : 0;
		}
	}
	fft2_run(&ws->fft, ws->work, 0);
	if (a)
		split_spectra(ws->work, w, h, fb, fa);
	else
		memcpy(fb, ws->work, n * sizeof(AVComplexFloat));
}

/* Parabolic interpolation of a peak from its two neighbours. */
static inline double
subpixel(double left, double mid, double right)
{
	double		d = left - 2 * mid + right;

	if (d >= 0)
		return 0;
	d = 0.5 * (left - right) / d;
	return d < -0.5 ? -0.5 : d > 0.5 ? 0.5 : d;
}

/*
 * Phase correlation of spectra fa (reference) and fb (frame): the peak is
 * at d where frame(x) = reference(x - d).
 */
static void
correlate(Fft2 *f, const AVComplexFloat *fa, const AVComplexFloat *fb,
		  const float *weight, AVComplexFloat *work, Peak *peak)
{
	int			w = f->w;
	int			h = f->h;
	size_t		n = (size_t) w * h;
	double		wsum = 0;
	size_t		best = 0;
	double		sum = 0,
				sum2 = 0;
	size_t		count;
	int			px,
				py;
	double		mid,
				mean,
				sd;

	for (size_t i = 0; i < n; i++)
	{
		float		re = fb[i].re * fa[i].re + fb[i].im * fa[i].im;
		float		im = fb[i].im * fa[i].re - fb[i].re * fa[i].im;
		float		mag = sqrtf(re * re + im * im);
		float		g = mag > 1e-6f ? weight[i] / mag : 0;

		work[i].re = re * g;
		work[i].im = im * g;
		wsum += weight[i];
	}
	fft2_run(f, work, 1);
	for (size_t i = 1; i < n; i++)
		if (work[i].re > work[best].re)
			best = i;
	px = (int) (best % w);
	py = (int) (best / w);

	/* the rest of the surface, for the peak-to-sidelobe ratio */
	for (size_t i = 0; i < n; i++)
	{
		sum += work[i].re;
		sum2 += (double) work[i].re * work[i].re;
	}
	for (int dy = -PSR_EXCLUDE; dy <= PSR_EXCLUDE; dy++)
	{
		for (int dx = -PSR_EXCLUDE; dx <= PSR_EXCLUDE; dx++)
		{
			double		v = work[(size_t) ((py + dy + h) % h) * w + (px + dx + w) % w].re;

			sum -= v;
			sum2 -= v * v;
		}
	}
	count = n - (2 * PSR_EXCLUDE + 1) * (2 * PSR_EXCLUDE + 1);
	mid = work[best].re;
	mean = sum / count;
	sd = sqrt(fmax(sum2 / count - mean * mean, 1e-20));
	peak->x = (px > w / 2 ? px - w : px) +
		subpixel(work[(size_t) py * w + (px + w - 1) % w].re, mid,
				 work[(size_t) py * w + (px + 1) % w].re);
	peak->y = (py > h / 2 ? py - h : py) +
		subpixel(work[(size_t) ((py + h - 1) % h) * w + px].re, mid,
				 work[(size_t) ((py + 1) % h) * w + px].re);
	peak->value = wsum > 0 ? mid / wsum : 0;
	peak->psr = (mid - mean) / sd;
}

/*
 * The magnitude spectrum on log-radius (x, LP_RADII) by angle (y,
 * LP_ANGLES over half a turn: the magnitude of a real picture's spectrum
 * is symmetric) axes, in cycles per pixel on both axes of the picture so
 * that a turn of the picture is a turn of its spectrum.  Whitened by the
 * radius (natural images fall off as 1/f) and tapered along the radius,
 * which does not wrap around.
 */
static void
log_polar(Workspace *ws, const AVComplexFloat *spec, float *out)
{
	int			w = ws->w;
	int			h = ws->h;
	float	   *mag = ws->magnitude;
	double		step = log(LP_R_MAX / LP_R_MIN) / LP_RADII;
	double		radius[LP_RADII];
	double		gain[LP_RADII];

	for (size_t i = 0; i < (size_t) w * h; i++)
		mag[i] = sqrtf(spec[i].re * spec[i].re + spec[i].im * spec[i].im);
	for (int j = 0; j < LP_RADII; j++)
	{
		radius[j] = LP_R_MIN * exp(j * step);
		gain[j] = radius[j] * (0.5 - 0.5 * cos(2 * M_PI * (j + 0.5) / LP_RADII));
	}

	for (int a = 0; a < LP_ANGLES; a++)
	{
		double		c = cos(M_PI * a / LP_ANGLES) * w;
		double		s = sin(M_PI * a / LP_ANGLES) * h;
		float	   *row = out + (size_t) a * LP_RADII;

		for (int j = 0; j < LP_RADII; j++)
		{
			/* bin coordinates; negative frequencies wrap to the end */
			double		kx = radius[j] * c;
			double		ky = radius[j] * s;
			int			x0 = (int) floor(kx);
			int			y0 = (int) floor(ky);
			double		fx = kx - x0;
			double		fy = ky - y0;
			int			x1,
						y1;
			const float *m0,
					   *m1;

			x0 = x0 < 0 ? x0 + w : x0;
			y0 = y0 < 0 ? y0 + h : y0;
			x1 = x0 + 1 < w ? x0 + 1 : 0;
			y1 = y0 + 1 < h ? y0 + 1 : 0;
			m0 = mag + (size_t) y0 * w;
			m1 = mag + (size_t) y1 * w;
			row[j] = (float) (gain[j] * ((m0[x0] * (1 - fx) + m0[x1] * fx) * (1 - fy) +
										 (m1[x0] * (1 - fx) + m1[x1] * fx) * fy));
		}
	}
}

/* Rotation and zoom of the frame against the reference, from their spectra. */
static void
fourier_mellin(Workspace *ws, double *angle, double *scale)
{
	double		step = log(LP_R_MAX / LP_R_MIN) / LP_RADII;
	size_t		nlp = (size_t) LP_RADII * LP_ANGLES;
	Peak		peak;

	log_polar(ws, ws->spec_ref, ws->lp_ref);
	log_polar(ws, ws->spec_frame, ws->lp_frame);
	/* no window across angles: they wrap around */
	for (size_t i = 0; i < nlp; i++)
	{
		ws->lp_work[i].re = ws->lp_ref[i];
		ws->lp_work[i].im = ws->lp_frame[i];
	}
	fft2_run(&ws->lp, ws->lp_work, 0);
	split_spectra(ws->lp_work, LP_RADII, LP_ANGLES, ws->lp_spec_ref, ws->lp_spec_frame);
	correlate(&ws->lp, ws->lp_spec_ref, ws->lp_spec_frame, ws->lp_weight, ws->lp_work, &peak);
	/* the spectrum turns with the picture and shrinks as it is zoomed in */
	*angle = peak.y * M_PI / LP_ANGLES;
	*scale = exp(-peak.x * step);
}

static double
confidence(const Peak *p)
{
	double		c1 = (p->psr - PSR_LOW) / (PSR_HIGH - PSR_LOW);
	double		c2 = (p->value - PEAK_LOW) / (PEAK_HIGH - PEAK_LOW);
	double		c = c1 < c2 ? c1 : c2;

	return c < 0 ? 0 : c > 1 ? 1 : c;
}

/*
 * Undo rotation and zoom on the frame and correlate again: true, with
 * the translation in *peak, if that is clearly better than plain.
 */
static bool
try_rotation(Workspace *ws, const Picture *frame, double angle, double scale,
			 const Peak *plain, Peak *peak)
{
	Similarity	rs = {scale, angle, 0, 0};
	Plane	   *warped = plane_warp(frame->half, &rs, false, (float) frame->mean, NULL);

	if (warped == NULL)
		return false;
	/* spec_frame is free again: the rotation was found from it */
	windowed_spectra(ws, NULL, warped->v, NULL, ws->spec_frame);
	plane_free(warped);
	correlate(&ws->fft, ws->spec_ref, ws->spec_frame, ws->weight, ws->work, peak);
	return peak->value > plain->value * FM_GAIN && peak->value >= FM_MIN_PEAK &&
		peak->psr > plain->psr;
}

bool
displacement_measure(const Picture *ref, const Picture *frame, DisplacementResult *res)
{
	Workspace	ws;
	Peak		plain,
				corrected;
	double		angle,
				scale;
	Similarity	t = {1, 0, 0, 0};
	int			w = ref->grey->width;
	int			h = ref->grey->height;
	/* the halved pictures' pixels are twice the size */
	double		unit = (double) w / ref->half->width;

	memset(res, 0, sizeof(*res));
	res->threshold = MOTION_THRESHOLD_PX;
	res->min_confidence = MIN_CONFIDENCE;
	res->transform = t;
	res->scale = 1;
	if (!workspace_init(&ws, ref->half->width, ref->half->height))
		return false;

	windowed_spectra(&ws, ref->half->v, frame->half->v, ws.spec_ref, ws.spec_frame);
	correlate(&ws.fft, ws.spec_ref, ws.spec_frame, ws.weight, ws.work, &plain);
	t.tx = plain.x;
	t.ty = plain.y;
	res->peak = plain.value;
	res->confidence = confidence(&plain);

	fourier_mellin(&ws, &angle, &scale);
	if ((fabs(angle) >= FM_MIN_ANGLE || fabs(scale - 1) >= FM_MIN_SCALE) &&
		try_rotation(&ws, frame, angle, scale, &plain, &corrected))
	{
		/* frame(c + sR(p - c)) = ref(p - d)  =>  t = s R d */
		t.scale = scale;
		t.angle = angle;
		t.tx = scale * (cos(angle) * corrected.x - sin(angle) * corrected.y);
		t.ty = scale * (sin(angle) * corrected.x + cos(angle) * corrected.y);
		res->peak = corrected.value;
		res->confidence = confidence(&corrected);
	}
	workspace_free(&ws);

	t.tx *= unit;
	t.ty *= unit;
	res->transform = t;
	res->dx = t.tx;
	res->dy = t.ty;
	res->shift = hypot(t.tx / w, t.ty / h);
	res->rotation = t.angle * 180 / M_PI;
	res->scale = t.scale;
	res->motion = similarity_rms_motion(&t, w, h);
	res->reliable = res->confidence >= MIN_CONFIDENCE;
	res->detected = res->reliable && res->motion >= MOTION_THRESHOLD_PX;
	return true;
}
