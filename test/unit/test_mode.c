/*
 * test_mode.c
 *	  Unit tests of the lighting mode of a frame (issue 11): frame_to_grey
 *	  tells a colour picture (day) from a grey one (infrared) in every kind
 *	  of pixel format, noise in the chroma planes does not pass for colour,
 *	  a colour scene mostly hidden by a grey cover stays a day one; and the
 *	  mode names and Redis key suffixes of common/camera_mode.c.
 *	  Deterministic (a fixed pseudo-random generator).
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/log.h>

#include "camera_mode.h"
#include "frame.h"
#include "image.h"

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

static uint32_t rng_state = 2463534242u;

static int
rnd(int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (int) (rng_state % (uint32_t) n);
}

static uint8_t
clamp(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

static AVFrame *
new_frame(enum AVPixelFormat fmt, int w, int h)
{
	AVFrame    *f = av_frame_alloc();

	f->format = fmt;
	f->width = w;
	f->height = h;
	if (av_frame_get_buffer(f, 0) < 0)
	{
		printf("cannot allocate a frame\n");
		exit(1);
	}
	return f;
}

/*
 * A planar YUV 4:2:0 frame: textured luma; chroma neutral plus noise of
 * +-noise, and (u, v) in the rows from colour_from (a fraction of the
 * height) down.
 */
static AVFrame *
yuv_frame(enum AVPixelFormat fmt, int noise, double colour_from, int u, int v)
{
	AVFrame    *f = new_frame(fmt, 640, 480);

	for (int y = 0; y < 480; y++)
		for (int x = 0; x < 640; x++)
			f->data[0][y * f->linesize[0] + x] = clamp(40 + (x / 16 + y / 16) % 2 * 120 + rnd(21) - 10);
	for (int y = 0; y < 240; y++)
		for (int x = 0; x < 320; x++)
		{
			int			coloured = y >= 240 * colour_from;
			int			n1 = noise ? rnd(2 * noise + 1) - noise : 0;
			int			n2 = noise ? rnd(2 * noise + 1) - noise : 0;

			f->data[1][y * f->linesize[1] + x] = clamp((coloured ? u : 128) + n1);
			f->data[2][y * f->linesize[2] + x] = clamp((coloured ? v : 128) + n2);
		}
	return f;
}

static void
expect_mode(AVFrame *f, int want, const char *what)
{
	GreyImage  *img = frame_to_grey(f);

	CHECK(img != NULL, "%s: no image", what);
	if (img)
		CHECK(img->mode == want, "%s: mode %s (chroma %.2f), want %s", what,
			  ch_mode_name(img->mode), img->chroma, ch_mode_name(want));
	grey_free(img);
	av_frame_free(&f);
}

static void
test_yuv(void)
{
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 0, 0.0, 100, 160), CH_MODE_DAY, "colour");
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 0, 0.0, 118, 136), CH_MODE_DAY, "pale colour");
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 0, 2.0, 0, 0), CH_MODE_IR, "grey");
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 20, 2.0, 0, 0), CH_MODE_IR, "grey with strong chroma noise");
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 3, 2.0, 0, 0), CH_MODE_IR, "grey with light chroma noise");
	expect_mode(yuv_frame(AV_PIX_FMT_YUV420P, 0, 0.9, 100, 160), CH_MODE_DAY, "colour 90% under a grey cover");
	expect_mode(yuv_frame(AV_PIX_FMT_YUVJ420P, 0, 0.0, 90, 170), CH_MODE_DAY, "colour JPEG (full range)");
	expect_mode(yuv_frame(AV_PIX_FMT_YUVJ420P, 10, 2.0, 0, 0), CH_MODE_IR, "grey JPEG (full range) with noise");
}

static void
test_other_formats(void)
{
	AVFrame    *f;

	f = new_frame(AV_PIX_FMT_GRAY8, 320, 240);
	for (int y = 0; y < 240; y++)
		memset(f->data[0] + y * f->linesize[0], y, 320);
	{
		GreyImage  *img = frame_to_grey(f);

		CHECK(img && img->mode == CH_MODE_IR && img->chroma == 0, "GRAY8: mode %d chroma %.2f",
			  img ? img->mode : -1, img ? img->chroma : -1);
		grey_free(img);
		av_frame_free(&f);
	}

	/* RGB: grey (r = g = b) and colourful */
	for (int colour = 0; colour <= 1; colour++)
	{
		f = new_frame(AV_PIX_FMT_RGB24, 320, 240);
		for (int y = 0; y < 240; y++)
			for (int x = 0; x < 320; x++)
			{
				uint8_t    *p = f->data[0] + y * f->linesize[0] + 3 * x;
				int			l = (x + y) % 256;

				p[0] = l;
				p[1] = colour ? clamp(l / 2) : l;
				p[2] = colour ? clamp(255 - l) : l;
			}
		expect_mode(f, colour ? CH_MODE_DAY : CH_MODE_IR, colour ? "colourful RGB" : "grey RGB");
	}
}

/* NV12 (interleaved chroma) and a picture smaller than the grid: swscale's way */
static void
test_converted(void)
{
	for (int colour = 0; colour <= 1; colour++)
	{
		AVFrame    *f = new_frame(AV_PIX_FMT_NV12, 320, 240);

		for (int y = 0; y < 240; y++)
			for (int x = 0; x < 320; x++)
				f->data[0][y * f->linesize[0] + x] = (x * 7 + y * 3) % 200 + 20;
		for (int y = 0; y < 120; y++)
			for (int x = 0; x < 160; x++)
			{
				f->data[1][y * f->linesize[1] + 2 * x] = clamp((colour ? 90 : 128) + rnd(11) - 5);
				f->data[1][y * f->linesize[1] + 2 * x + 1] = clamp((colour ? 170 : 128) + rnd(11) - 5);
			}
		expect_mode(f, colour ? CH_MODE_DAY : CH_MODE_IR, colour ? "colour NV12" : "grey NV12");
	}
	for (int colour = 0; colour <= 1; colour++)
	{
		AVFrame    *f = new_frame(AV_PIX_FMT_YUV420P, 24, 16);

		for (int y = 0; y < 16; y++)
			memset(f->data[0] + y * f->linesize[0], 100 + y, 24);
		for (int y = 0; y < 8; y++)
		{
			memset(f->data[1] + y * f->linesize[1], colour ? 80 : 128, 12);
			memset(f->data[2] + y * f->linesize[2], colour ? 180 : 128, 12);
		}
		expect_mode(f, colour ? CH_MODE_DAY : CH_MODE_IR, colour ? "tiny colour frame" : "tiny grey frame");
	}
}

static void
test_names(void)
{
	CHECK(strcmp(ch_mode_name(CH_MODE_DAY), "day") == 0, "day name");
	CHECK(strcmp(ch_mode_name(CH_MODE_IR), "ir") == 0, "ir name");
	CHECK(ch_mode_name(-1) == NULL && ch_mode_name(CH_MODE_COUNT) == NULL, "no name out of range");
	CHECK(ch_mode_parse("day", 3) == CH_MODE_DAY, "parse day");
	CHECK(ch_mode_parse("ir", 2) == CH_MODE_IR, "parse ir");
	CHECK(ch_mode_parse("IR", 2) == -1, "parse is exact (case)");
	CHECK(ch_mode_parse("irx", 2) == CH_MODE_IR && ch_mode_parse("irx", 3) == -1, "parse takes the length");
	CHECK(ch_mode_parse("ir\0x", 4) == -1, "a NUL inside is no mode");
	CHECK(ch_mode_parse("", 0) == -1 && ch_mode_parse(NULL, 0) == -1, "empty or NULL");
	CHECK(strcmp(ch_mode_key_suffix(CH_MODE_DAY), "") == 0, "day keeps the 1.0 key");
	CHECK(strcmp(ch_mode_key_suffix(CH_MODE_IR), ":ir") == 0, "ir key suffix");
	for (int m = 0; m < CH_MODE_COUNT; m++)
		CHECK(strlen(ch_mode_name(m)) <= CH_MODE_NAME_MAX, "name fits CH_MODE_NAME_MAX");
	{
		GreyImage  *img = grey_new(4, 4);

		CHECK(img && img->mode == CH_MODE_DAY && img->chroma < 0, "a new image is day, not measured");
		grey_free(img);
	}
}

int
main(void)
{
	av_log_set_level(AV_LOG_QUIET);
	test_yuv();
	test_other_formats();
	test_converted();
	test_names();
	printf("test_mode: %d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
