/*
 * test_vision.c
 *	  Unit tests of visionproc's image analysis on synthetic pictures:
 *	  each metric, the serialised form, the FFmpeg conversions and the
 *	  JSON result.  Deterministic (a fixed pseudo-random generator).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/log.h>

#include "frame.h"
#include "grey_format.h"
#include "image.h"
#include "metrics.h"
#include "vision.h"

#define W ANALYSIS_WIDTH
#define H ANALYSIS_HEIGHT

static int	checks = 0;
static int	failures = 0;

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) \
		{ \
			failures++; \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* xorshift32: the same pictures on every run */
static uint32_t rng_state = 2463534242u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static double
rng_unit(void)
{
	return (rng() & 0xffffff) / (double) 0x1000000;
}

/* Approximately Gaussian noise of the given sigma (sum of uniforms). */
static double
rng_gauss(double sigma)
{
	double		s = 0;

	for (int i = 0; i < 12; i++)
		s += rng_unit();
	return (s - 6) * sigma;
}

static uint8_t
clamp8(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t) (v + 0.5);
}

/*
 * A scene: shaded background, a hundred sharp-edged rectangles of random
 * grey and fine random texture, w x h.
 */
static GreyImage *
make_scene(int w, int h, uint32_t seed)
{
	GreyImage  *img = grey_new(w, h);
	double	   *acc = calloc((size_t) w * h, sizeof(double));

	rng_state = seed;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			acc[(size_t) y * w + x] = 60 + 80.0 * x / w + 40.0 * y / h;
	for (int r = 0; r < 100; r++)
	{
		int			x0 = rng() % w,
					y0 = rng() % h;
		int			rw = 4 + rng() % (w / 6),
					rh = 4 + rng() % (h / 6);
		double		v = 20 + rng_unit() * 215;

		for (int y = y0; y < y0 + rh && y < h; y++)
			for (int x = x0; x < x0 + rw && x < w; x++)
				acc[(size_t) y * w + x] = v;
	}
	for (size_t i = 0; i < (size_t) w * h; i++)
		img->pixels[i] = clamp8(acc[i] + rng_gauss(6));
	free(acc);
	return img;
}

static GreyImage *
crop(const GreyImage *src, int x0, int y0, int w, int h)
{
	GreyImage  *img = grey_new(w, h);

	for (int y = 0; y < h; y++)
		memcpy(img->pixels + (size_t) y * w, src->pixels + (size_t) (y0 + y) * src->width + x0, w);
	return img;
}

static GreyImage *
copy(const GreyImage *src)
{
	return crop(src, 0, 0, src->width, src->height);
}

/* Box blur of radius r (clamped at the borders). */
static GreyImage *
box_blur(const GreyImage *src, int r)
{
	GreyImage  *img = grey_new(src->width, src->height);

	for (int y = 0; y < src->height; y++)
		for (int x = 0; x < src->width; x++)
		{
			int			s = 0,
						n = 0;

			for (int dy = -r; dy <= r; dy++)
				for (int dx = -r; dx <= r; dx++)
				{
					int			yy = y + dy,
								xx = x + dx;

					if (yy < 0 || yy >= src->height || xx < 0 || xx >= src->width)
						continue;
					s += src->pixels[(size_t) yy * src->width + xx];
					n++;
				}
			img->pixels[(size_t) y * src->width + x] = (uint8_t) ((s + n / 2) / n);
		}
	return img;
}

/* gain * v + offset, plus Gaussian noise of sigma. */
static GreyImage *
adjust(const GreyImage *src, double gain, double offset, double sigma)
{
	GreyImage  *img = copy(src);

	for (size_t i = 0; i < (size_t) src->width * src->height; i++)
		img->pixels[i] = clamp8(gain * src->pixels[i] + offset + (sigma > 0 ? rng_gauss(sigma) : 0));
	return img;
}

static GreyImage *
uniform(uint8_t v)
{
	GreyImage  *img = grey_new(W, H);

	memset(img->pixels, v, (size_t) W * H);
	return img;
}

/* Rotate (degrees, clockwise) and zoom about the centre. */
static GreyImage *
turn(const GreyImage *src, double degrees, double scale)
{
	Plane	   *p = plane_new(src->width, src->height);
	Similarity	t = {scale, degrees * M_PI / 180, 0, 0};
	Plane	   *out;
	GreyImage  *img = grey_new(src->width, src->height);

	for (size_t i = 0; i < (size_t) src->width * src->height; i++)
		p->v[i] = src->pixels[i];
	out = plane_warp(p, &t, true, 128, NULL);
	for (size_t i = 0; i < (size_t) src->width * src->height; i++)
		img->pixels[i] = clamp8(out->v[i]);
	plane_free(p);
	plane_free(out);
	return img;
}

/* ---- image.c -------------------------------------------------------- */

static void
test_encode_decode(void)
{
	GreyImage  *img = make_scene(37, 23, 1);
	size_t		len = 0;
	uint8_t    *data = grey_encode(img, &len);
	GreyImage  *back = grey_decode(data, len);
	const char *bad[] = {"", "GREY", "GREY 2 2\n", "GREY 2 2\nabc", "GREY 2 2\nabcde",
		"GRAY 2 2\nabcd", "GREY 02 2\nabcd", "GREY -2 2\nabcd", "GREY 0 2\n",
	"GREY 2 2 abcd", "GREY 2  2\nabcd", "GREY 99999 2\nab"};

	CHECK(data != NULL && len == strlen("GREY 37 23\n") + 37 * 23, "encode length %zu", len);
	CHECK(back != NULL && back->width == 37 && back->height == 23 &&
		  memcmp(back->pixels, img->pixels, 37 * 23) == 0, "round trip");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		GreyImage  *g = grey_decode((const uint8_t *) bad[i], strlen(bad[i]));

		CHECK(g == NULL, "decode accepted malformed \"%s\"", bad[i]);
		grey_free(g);
	}
	{
		GreyImage  *g = grey_decode((const uint8_t *) "GREY 2 2\nabcd", 13);

		CHECK(g && g->width == 2 && g->height == 2 && memcmp(g->pixels, "abcd", 4) == 0,
			  "decode of a valid 2x2");
		grey_free(g);
	}
	CHECK(grey_decode(NULL, 0) == NULL, "decode NULL");
	CHECK(grey_new(0, 5) == NULL && grey_new(5, -1) == NULL, "grey_new refuses empty sizes");
	CHECK(back->focus == NULL, "an image without a focus map decodes without one");
	free(data);
	grey_free(img);
	grey_free(back);
}

/* The focus map after the pixels: round trip, and the old form still read. */
static void
test_focus_format(void)
{
	GreyImage  *img = make_scene(200, 150, 3);
	GreyImage  *back;
	uint8_t    *data;
	size_t		len = 0;
	ChGreyLayout l;
	const char *bad[] = {"GREY 2 2\nabcdF", "GREY 2 2\nabcdFOCUS 4 4 1 1\n", "GREY 2 2\nabcdFOCUS 4 4 1 1\nabc",
		"GREY 2 2\nabcdFOCUS 4 4 1 1\nabcde", "GREY 2 2\nabcdFOCUS 4 4 0 1\n",
		"GREY 2 2\nabcdFOCUS 4 4 65 1\n", "GREY 2 2\nabcdFOCUS 04 4 1 1\nabcd",
	"GREY 2 2\nabcdFOCUS 4 4 1\nabcd", "GREY 2 2\nabcdFOCUS 4 4 1 1 \nabcd", "GREY 2 2\nabcd\nFOCUS 4 4 1 1\nabcd"};

	img->focus = focus_map_from_luma(img->pixels, img->width, img->width, img->height);
	CHECK(img->focus && img->focus->grid_x == FOCUS_GRID_X && img->focus->source_width == 200,
		  "a focus map of a 200x150 plane");
	data = grey_encode(img, &len);
	CHECK(data && ch_grey_parse_layout(data, len, &l) && l.has_focus && l.grid_y == FOCUS_GRID_Y &&
		  l.source_height == 150, "the encoded map parses");
	back = grey_decode(data, len);
	CHECK(back && back->focus && memcmp(back->focus->detail, img->focus->detail,
										FOCUS_GRID_X * FOCUS_GRID_Y * sizeof(uint16_t)) == 0 &&
		  memcmp(back->focus->contrast, img->focus->contrast,
				 FOCUS_GRID_X * FOCUS_GRID_Y * sizeof(uint16_t)) == 0 &&
		  memcmp(back->pixels, img->pixels, 200 * 150) == 0, "the map survives a round trip");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		GreyImage  *g = grey_decode((const uint8_t *) bad[i], strlen(bad[i]));

		CHECK(g == NULL, "decode accepted malformed \"%s\"", bad[i]);
		grey_free(g);
	}
	{
		const char *ok = "GREY 2 2\nabcdFOCUS 4 4 1 1\n\x10\x00\x20\x00";
		GreyImage  *g = grey_decode((const uint8_t *) ok, 13 + 14 + 4);

		CHECK(g && g->focus && g->focus->detail[0] == 0x1000 && g->focus->contrast[0] == 0x2000,
			  "decode of a 2x2 with a 1x1 map");
		grey_free(g);
	}
	CHECK(focus_value(focus_code(0.37)) > 0.369 && focus_value(focus_code(0.37)) < 0.371 &&
		  focus_code(0) == 0 && focus_code(-1) == 0, "focus codes");
	CHECK(focus_map_from_luma(img->pixels, img->width, 40, 40) == NULL, "no map of a tiny plane");
	free(data);
	grey_free(img);
	grey_free(back);
}

/* A slight blur at the source size: the focus map sees it, brightness does not fool it. */
static void
test_focus_blur(void)
{
	GreyImage  *ref = make_scene(640, 480, 5);
	GreyImage  *soft = grey_new(640, 480);
	GreyImage  *dim = grey_new(640, 480);
	GreyImage  *ref_a = grey_resample(ref, ANALYSIS_WIDTH, ANALYSIS_HEIGHT);
	GreyImage  *soft_a,
			   *dim_a;
	Picture		a,
				b,
				c;
	BlurResult	r;

	/* a 3-tap binomial blur twice (sigma about 1), and the scene at 60 % brightness */
	for (int pass = 0; pass < 2; pass++)
		for (int y = 0; y < 480; y++)
			for (int x = 0; x < 640; x++)
			{
				const GreyImage *src = pass ? soft : ref;
				int			xl = x > 0 ? x - 1 : x,
							xr = x < 639 ? x + 1 : x,
							yu = y > 0 ? y - 1 : y,
							yd = y < 479 ? y + 1 : y;
				const uint8_t *p = src->pixels;
				int			v = 4 * p[y * 640 + x] + 2 * (p[y * 640 + xl] + p[y * 640 + xr] +
														  p[yu * 640 + x] + p[yd * 640 + x]) +
					p[yu * 640 + xl] + p[yu * 640 + xr] + p[yd * 640 + xl] + p[yd * 640 + xr];

				(pass ? dim : soft)->pixels[y * 640 + x] = (v + 8) / 16;
			}
	memcpy(soft->pixels, dim->pixels, 640 * 480);
	for (int i = 0; i < 640 * 480; i++)
		dim->pixels[i] = ref->pixels[i] * 6 / 10;
	ref->focus = focus_map_from_luma(ref->pixels, 640, 640, 480);
	soft->focus = focus_map_from_luma(soft->pixels, 640, 640, 480);
	dim->focus = focus_map_from_luma(dim->pixels, 640, 640, 480);
	soft_a = grey_resample(soft, ANALYSIS_WIDTH, ANALYSIS_HEIGHT);
	dim_a = grey_resample(dim, ANALYSIS_WIDTH, ANALYSIS_HEIGHT);
	picture_init(&a, ref_a);
	picture_init(&b, soft_a);
	picture_init(&c, dim_a);
	blur_measure(&a, &b, ref->focus, soft->focus, &r);
	CHECK(r.focus_measurable && r.detected && r.focus_sharpness < r.focus_threshold,
		  "slight blur: focus sharpness %.2f, sharpness %.2f", r.focus_sharpness, r.sharpness);
	blur_measure(&a, &c, ref->focus, dim->focus, &r);
	CHECK(r.focus_measurable && !r.detected && fabs(r.focus_sharpness - 1) < 0.1,
		  "dimmer: focus sharpness %.2f", r.focus_sharpness);
	blur_measure(&a, &b, NULL, soft->focus, &r);
	CHECK(!r.focus_measurable, "no map on the reference: judged the old way");
	picture_free(&a);
	picture_free(&b);
	picture_free(&c);
	grey_free(ref);
	grey_free(soft);
	grey_free(dim);
	grey_free(ref_a);
	grey_free(soft_a);
	grey_free(dim_a);
}

/* ---- frame.c -------------------------------------------------------- */

static void
test_frames(void)
{
	AVFrame    *f = av_frame_alloc();
	GreyImage  *g;
	char		err[128] = "";
	uint8_t		pgm[32 + W * H];
	int			hlen;
	GreyImage  *scene = make_scene(W, H, 2);

	/* limited-range YUV: luma 16..235 becomes 0..255 */
	f->format = AV_PIX_FMT_YUV420P;
	f->width = 1280;
	f->height = 720;
	av_frame_get_buffer(f, 0);
	for (int y = 0; y < 720; y++)
		memset(f->data[0] + (size_t) y * f->linesize[0], y < 360 ? 16 : 235, 1280);
	for (int y = 0; y < 360; y++)
	{
		memset(f->data[1] + (size_t) y * f->linesize[1], 128, 640);
		memset(f->data[2] + (size_t) y * f->linesize[2], 128, 640);
	}
	g = frame_to_grey(f);
	CHECK(g && g->width == W && g->height == H, "frame_to_grey size");
	CHECK(g && g->pixels[10 * W + 5] == 0 && g->pixels[200 * W + 300] == 255,
		  "limited range stretched: %d %d", g ? g->pixels[10 * W + 5] : -1, g ? g->pixels[200 * W + 300] : -1);
	grey_free(g);
	av_frame_free(&f);

	/* RGB goes through swscale's own conversion */
	f = av_frame_alloc();
	f->format = AV_PIX_FMT_RGB24;
	f->width = 640;
	f->height = 480;
	av_frame_get_buffer(f, 0);
	for (int y = 0; y < 480; y++)
		memset(f->data[0] + (size_t) y * f->linesize[0], y < 240 ? 0 : 255, 640 * 3);
	g = frame_to_grey(f);
	CHECK(g && g->pixels[5 * W + 5] < 3 && g->pixels[230 * W + 5] > 252,
		  "rgb to grey: %d %d", g ? g->pixels[5 * W + 5] : -1, g ? g->pixels[230 * W + 5] : -1);
	grey_free(g);
	av_frame_free(&f);

	/* an encoded image in memory (PGM), at the analysis size: unchanged */
	hlen = snprintf((char *) pgm, 32, "P5\n%d %d\n255\n", W, H);
	memcpy(pgm + hlen, scene->pixels, (size_t) W * H);
	g = grey_from_image_bytes(pgm, hlen + (size_t) W * H, err, sizeof(err));
	CHECK(g && memcmp(g->pixels, scene->pixels, (size_t) W * H) == 0, "pgm bytes decoded: %s", err);
	grey_free(g);

	g = grey_from_image_bytes((const uint8_t *) "<html>404</html>", 16, err, sizeof(err));
	CHECK(g == NULL && err[0] != '\0', "garbage refused with a reason");
	grey_free(g);
	err[0] = '\0';
	g = grey_from_file("/nonexistent/picture.jpg", err, sizeof(err));
	CHECK(g == NULL && strstr(err, "nonexistent") != NULL, "missing file: %s", err);
	grey_free(g);
	grey_free(scene);
}

/*
 * Snapshot bytes are still images only, of bounded size: a playlist is not
 * followed, and a picture too large is refused from its header.
 */
static void
test_snapshot_limits(void)
{
	static const char hls[] = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
		"file:///etc/hostname\n#EXT-X-ENDLIST\n";
	/* SOI, APP0 (JFIF), SOF0 of 20000x20000: nothing after it is needed */
	static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0,
		0, 1, 0, 1, 0, 0, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x4E, 0x20, 0x4E, 0x20, 3,
	1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
	/* signature and IHDR of a 16000x16000 grey PNG */
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
	0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80, 8, 0, 0, 0, 0, 0, 0, 0, 0};
	char		err[256] = "";
	GreyImage  *g;

	g = grey_from_image_bytes((const uint8_t *) hls, sizeof(hls) - 1, err, sizeof(err));
	CHECK(g == NULL && strstr(err, "not a still image") != NULL, "HLS playlist as a snapshot: %s", err);
	grey_free(g);
	g = grey_from_image_bytes(jpeg, sizeof(jpeg), err, sizeof(err));
	CHECK(g == NULL && strstr(err, "20000x20000, more than the limit") != NULL, "huge JPEG: %s", err);
	grey_free(g);
	g = grey_from_image_bytes(png, sizeof(png), err, sizeof(err));
	CHECK(g == NULL && strstr(err, "16000x16000, more than the limit") != NULL, "huge PNG: %s", err);
	grey_free(g);
	g = grey_from_snapshot(png, sizeof(png), 16000 * 16000, err, sizeof(err));
	CHECK(g == NULL && strstr(err, "more than the limit") == NULL, "huge PNG within a raised limit is tried: %s", err);
	grey_free(g);
	CHECK(!frame_size_allowed(8193, 4096, FRAME_DEFAULT_MAX_PIXELS, err, sizeof(err)) &&
		  frame_size_allowed(7680, 4320, FRAME_DEFAULT_MAX_PIXELS, NULL, 0), "8K UHD allowed, more refused");
}

/* ---- imgmath.c ------------------------------------------------------ */

static void
test_noise(void)
{
	GreyImage  *flat = uniform(120);
	GreyImage  *noisy;
	GreyImage  *scene = make_scene(W, H, 3);
	double		s;

	CHECK(noise_sigma(flat) < 0.1, "flat picture: noise %.2f", noise_sigma(flat));
	noisy = adjust(flat, 1, 0, 4);
	s = noise_sigma(noisy);
	CHECK(fabs(s - 4) < 0.6, "noise 4 estimated as %.2f", s);
	grey_free(noisy);
	noisy = adjust(scene, 1, 0, 8);
	s = noise_sigma(noisy);
	/* the scene's own texture is noise of sigma 6: sqrt(36 + 64) = 10 */
	CHECK(fabs(s - 10) < 1.5, "noise 8 on a textured scene estimated as %.2f", s);
	grey_free(noisy);
	grey_free(flat);
	grey_free(scene);
}

/* ---- blur.c --------------------------------------------------------- */

static void
check_blur(const GreyImage *ref, const GreyImage *img, bool want, const char *what)
{
	Picture		a,
				b;
	BlurResult	r;

	picture_init(&a, ref);
	picture_init(&b, img);
	blur_measure(&a, &b, NULL, NULL, &r);
	CHECK(r.detected == want, "blur %s: sharpness %.2f (threshold %.2f)", what, r.sharpness, r.threshold);
	picture_free(&a);
	picture_free(&b);
}

static void
test_blur(void)
{
	GreyImage  *board = grey_new(W, H);
	GreyImage  *scene = make_scene(W, H, 4);
	GreyImage  *img;

	/* a sharp checkerboard of 8-pixel squares against its box-blurred copy */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			board->pixels[y * W + x] = ((x / 8 + y / 8) & 1) ? 200 : 50;
	check_blur(board, board, false, "checkerboard itself");
	img = box_blur(board, 2);
	check_blur(board, img, true, "checkerboard box-blurred");
	grey_free(img);

	check_blur(scene, scene, false, "scene itself");
	img = box_blur(scene, 2);
	check_blur(scene, img, true, "scene box-blurred (5x5)");
	grey_free(img);
	img = adjust(scene, 0.5, 40, 0);
	check_blur(scene, img, false, "half the contrast");
	grey_free(img);
	img = adjust(scene, 1, 0, 10);
	check_blur(scene, img, false, "heavy noise on a sharp frame");
	grey_free(img);
	{
		GreyImage  *blurred = box_blur(scene, 2);

		img = adjust(blurred, 1, 0, 6);
		check_blur(scene, img, true, "noise on a blurred frame");
		grey_free(blurred);
		grey_free(img);
	}
	grey_free(board);
	grey_free(scene);
}

/* ---- displacement.c ------------------------------------------------- */

static void
measure_move(const GreyImage *ref, const GreyImage *img, DisplacementResult *d)
{
	Picture		a,
				b;

	picture_init(&a, ref);
	picture_init(&b, img);
	displacement_measure(&a, &b, d);
	picture_free(&a);
	picture_free(&b);
}

static void
test_displacement(void)
{
	GreyImage  *world = make_scene(W + 120, H + 90, 5);
	GreyImage  *ref = crop(world, 60, 45, W, H);
	const int	moves[][2] = {{7, -4}, {-23, 11}, {40, 30}, {-3, 0}, {1, 1}, {0, 0}};
	DisplacementResult d;
	GreyImage  *img;

	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
	{
		int			dx = moves[i][0],
					dy = moves[i][1];
		bool		big = hypot(dx, dy) >= 5;

		/* the picture moves by (dx, dy): the view moves the other way */
		img = crop(world, 60 - dx, 45 - dy, W, H);
		measure_move(ref, img, &d);
		CHECK(fabs(d.dx - dx) <= 1 && fabs(d.dy - dy) <= 1,
			  "shift (%d, %d) measured as (%.2f, %.2f)", dx, dy, d.dx, d.dy);
		CHECK(d.detected == big && d.reliable, "shift (%d, %d): detected %d, confidence %.2f",
			  dx, dy, d.detected, d.confidence);
		grey_free(img);
	}

	img = turn(ref, 8, 1);
	measure_move(ref, img, &d);
	CHECK(fabs(d.rotation - 8) < 1 && fabs(d.scale - 1) < 0.02 && d.detected,
		  "rotation 8 measured as %.2f (scale %.3f)", d.rotation, d.scale);
	grey_free(img);
	img = turn(ref, -5, 1.15);
	measure_move(ref, img, &d);
	CHECK(fabs(d.rotation + 5) < 1 && fabs(d.scale - 1.15) < 0.02 && d.detected,
		  "rotation -5, zoom 1.15 measured as %.2f, %.3f", d.rotation, d.scale);
	grey_free(img);

	/* lighting and noise do not move the picture */
	img = adjust(ref, 0.6, 50, 8);
	measure_move(ref, img, &d);
	CHECK(!d.detected && d.motion < 1, "lighting and noise: motion %.2f", d.motion);
	grey_free(img);

	/* nothing to register: not reliable, not detected */
	img = uniform(40);
	measure_move(ref, img, &d);
	CHECK(!d.detected && !d.reliable, "uniform frame: confidence %.2f", d.confidence);
	grey_free(img);
	grey_free(ref);
	grey_free(world);
}

/* ---- obstruction.c -------------------------------------------------- */

static void
check_obstruction(const GreyImage *ref, const GreyImage *img, bool want, const char *what)
{
	Picture		a,
				b;
	ObstructionResult r;

	picture_init(&a, ref);
	picture_init(&b, img);
	obstruction_measure(&a, &b, NULL, &r);
	CHECK(r.detected == want, "obstruction %s: covered %.2f, dark %.2f", what, r.covered, r.dark);
	picture_free(&a);
	picture_free(&b);
}

static void
test_obstruction(void)
{
	GreyImage  *scene = make_scene(W, H, 6);
	GreyImage  *img;

	check_obstruction(scene, scene, false, "scene itself");
	img = uniform(90);
	check_obstruction(scene, img, true, "uniform grey");
	grey_free(img);
	img = uniform(3);
	check_obstruction(scene, img, true, "black");
	grey_free(img);
	img = adjust(scene, 1, 0, 0);
	memset(img->pixels + (size_t) W * (H * 3 / 10), 50, (size_t) W * (H * 7 / 10));
	check_obstruction(scene, img, true, "bottom 70% covered");
	grey_free(img);
	img = adjust(scene, 1, 0, 0);
	memset(img->pixels, 50, (size_t) W * (H / 5));
	check_obstruction(scene, img, false, "top 20% covered");
	grey_free(img);
	img = adjust(scene, 0.6, -30, 3);
	check_obstruction(scene, img, false, "darker, less contrast, noisier");
	grey_free(img);
	{
		GreyImage  *smeared = box_blur(scene, 12);

		check_obstruction(scene, smeared, true, "sprayed (25-pixel smear)");
		grey_free(smeared);
	}
	grey_free(scene);
}

/* ---- frozen.c ------------------------------------------------------- */

static void
test_frozen(void)
{
	GreyImage  *scene = make_scene(W, H, 7);
	GreyImage  *img;
	FrozenResult r;

	frozen_measure(scene, scene, &r);
	CHECK(r.detected && r.changed == 0, "identical frames: changed %.4f", r.changed);
	/* re-encoding noise: a grey level or so */
	img = copy(scene);
	for (size_t i = 0; i < (size_t) W * H; i++)
		img->pixels[i] = clamp8(img->pixels[i] + (int) (rng() % 3) - 1);
	frozen_measure(scene, img, &r);
	CHECK(r.detected, "frames within a grey level: changed %.4f", r.changed);
	grey_free(img);
	/* sensor noise: a live still scene */
	img = adjust(scene, 1, 0, 3);
	frozen_measure(scene, img, &r);
	CHECK(!r.detected, "sensor noise 3: changed %.4f", r.changed);
	grey_free(img);
	/* something moved */
	img = copy(scene);
	memset(img->pixels + (size_t) W * 100, 250, (size_t) W * 40);
	frozen_measure(scene, img, &r);
	CHECK(!r.detected, "a moving object: changed %.4f", r.changed);
	grey_free(img);
	/* a flat picture cannot tell */
	img = uniform(70);
	frozen_measure(img, img, &r);
	CHECK(!r.measurable && !r.detected, "flat frames are not judged");
	grey_free(img);
	grey_free(scene);
}

/* ---- vision.c ------------------------------------------------------- */

static const char *
status_of(json_object *o)
{
	json_object *s = json_object_object_get(o, "status");

	return s ? json_object_get_string(s) : "";
}

static bool
detected(json_object *o, const char *metric)
{
	json_object *m = json_object_object_get(o, metric);

	return m && json_object_get_boolean(json_object_object_get(m, "detected"));
}

static void
test_vision(void)
{
	GreyImage  *scene = make_scene(W, H, 8);
	GreyImage  *small = make_scene(160, 100, 9);
	GreyImage  *img;
	VisionInput in = {scene, scene, {NULL}, 0};
	json_object *o;
	const char *reason;

	o = vision_analyze(&in);
	CHECK(strcmp(status_of(o), "ok") == 0 && !detected(o, "blur") && !detected(o, "obstruction") &&
		  !detected(o, "displacement") && json_object_object_get(o, "frozen") == NULL,
		  "same frame: %s", json_object_to_json_string(o));
	CHECK(json_object_object_get(json_object_object_get(o, "displacement"), "dx") != NULL &&
		  json_object_object_get(json_object_object_get(o, "displacement"), "confidence") != NULL,
		  "displacement reports dx and confidence");
	json_object_put(o);

	in.later[0] = scene;
	in.nlater = 1;
	o = vision_analyze(&in);
	CHECK(strcmp(status_of(o), "critical") == 0 && detected(o, "frozen"), "frozen: %s", status_of(o));
	json_object_put(o);

	img = uniform(20);
	in.frame = img;
	in.nlater = 0;
	o = vision_analyze(&in);
	CHECK(strcmp(status_of(o), "critical") == 0 && detected(o, "obstruction") &&
		  !detected(o, "blur") && !detected(o, "displacement"),
		  "covered: one cause only: %s", json_object_to_json_string(o));
	CHECK(json_object_object_get(json_object_object_get(o, "obstruction"), "message") != NULL,
		  "a detection has a message");
	json_object_put(o);
	grey_free(img);

	img = box_blur(scene, 3);
	in.frame = img;
	o = vision_analyze(&in);
	CHECK(strcmp(status_of(o), "warning") == 0 && detected(o, "blur") && !detected(o, "obstruction"),
		  "blurred: %s", json_object_to_json_string(o));
	json_object_put(o);
	grey_free(img);

	/* a reference of another size is brought to the analysis size */
	in.reference = small;
	in.frame = scene;
	o = vision_analyze(&in);
	CHECK(o && strcmp(status_of(o), "error") != 0, "reference of another size");
	json_object_put(o);

	in.frame = NULL;
	o = vision_analyze(&in);
	CHECK(strcmp(status_of(o), "error") == 0, "no frame: %s", status_of(o));
	json_object_put(o);

	CHECK(vision_good_reference(scene, &reason) && reason == NULL, "a good reference");
	img = uniform(128);
	CHECK(!vision_good_reference(img, &reason) && reason != NULL, "uniform reference refused");
	grey_free(img);
	img = adjust(scene, 0.05, 0, 0);
	CHECK(!vision_good_reference(img, &reason) && reason != NULL, "dark reference refused");
	grey_free(img);
	CHECK(!vision_good_reference(NULL, &reason) && reason != NULL, "no reference refused");
	grey_free(scene);
	grey_free(small);
}

int
main(void)
{
	av_log_set_level(AV_LOG_QUIET);
	test_encode_decode();
	test_focus_format();
	test_frames();
	test_snapshot_limits();
	test_noise();
	test_blur();
	test_focus_blur();
	test_displacement();
	test_obstruction();
	test_frozen();
	test_vision();
	printf("test_vision: %d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
