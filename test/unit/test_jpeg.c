/*
 * test_jpeg.c
 *	  Unit tests of visionproc/jpeg.c and common/jpeg_check.c: pictures of
 *	  frames of every shape (colour, grey, RGB, tiny, very tall, anamorphic,
 *	  full-range, noise that needs coarser quantisers) are plausible JPEGs of
 *	  at most 64 kB, about 320 pixels wide, that decode again; encoding in
 *	  many threads at once gives the very bytes of encoding one at a time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>

#include "frame.h"
#include "jpeg.h"
#include "jpeg_check.h"

static int	failures = 0;
static int	checks = 0;

#define CHECK(cond) \
	do { \
		checks++; \
		if (!(cond)) \
		{ \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

/* xorshift: noise that is the same on every run */
static uint32_t
next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* A frame of w x h in fmt: gradients (or noise), colour in its chroma or RGB. */
static AVFrame *
make_frame(int w, int h, enum AVPixelFormat fmt, int noise)
{
	AVFrame    *f = av_frame_alloc();
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
	uint32_t	seed = 12345;

	f->format = fmt;
	f->width = w;
	f->height = h;
	if (av_frame_get_buffer(f, 0) < 0)
		abort();
	for (int p = 0; p < 4 && f->data[p]; p++)
	{
		int			pw = p == 0 || (desc->flags & AV_PIX_FMT_FLAG_RGB) ? w : AV_CEIL_RSHIFT(w, desc->log2_chroma_w);
		int			ph = p == 0 || (desc->flags & AV_PIX_FMT_FLAG_RGB) ? h : AV_CEIL_RSHIFT(h, desc->log2_chroma_h);
		int			bytes = fmt == AV_PIX_FMT_RGB24 ? 3 * pw : pw;

		for (int y = 0; y < ph; y++)
			for (int x = 0; x < bytes; x++)
				f->data[p][y * f->linesize[p] + x] = noise ? (uint8_t) next_random(&seed) :
					(uint8_t) (p == 0 ? x * 255 / bytes : p == 1 ? y * 255 / ph : 255 - x * 255 / bytes);
	}
	return f;
}

/* The picture of f: plausible, width and height as expected, and it decodes again. */
static void
check_picture(const char *what, AVFrame *f, int want_w, int want_h)
{
	size_t		len = 0;
	char		err[96] = "";
	uint8_t    *jpeg = jpeg_from_frame(f, &len, err, sizeof(err));
	uint8_t    *again = NULL;
	size_t		again_len = 0;
	char		again_err[96] = "";
	char		derr[160] = "";
	GreyImage  *grey;

	if (jpeg == NULL)
		printf("  %s: no picture: %s\n", what, err);
	CHECK(jpeg != NULL);
	if (jpeg == NULL)
		return;
	CHECK(ch_jpeg_plausible(jpeg, len));
	CHECK(len <= CH_JPEG_MAX_BYTES);
	/* decoded as a snapshot would be; its own picture has the same size */
	grey = grey_from_snapshot_jpeg(jpeg, len, FRAME_DEFAULT_MAX_PIXELS, &again, &again_len,
								   again_err, sizeof(again_err), derr, sizeof(derr));
	CHECK(grey != NULL);
	CHECK(again != NULL);
	if (again)
	{
		/* the width and height of the picture, from its SOF0 */
		for (size_t i = 2; i + 8 < again_len; i++)
			if (again[i] == 0xFF && again[i + 1] == 0xC0)
			{
				int			h = again[i + 5] << 8 | again[i + 6];
				int			w = again[i + 7] << 8 | again[i + 8];

				if (w != want_w || h != want_h)
					printf("  %s: %dx%d, want %dx%d\n", what, w, h, want_w, want_h);
				CHECK(w == want_w && h == want_h);
				break;
			}
	}
	printf("  %s: %dx%d %s -> %zu bytes\n", what, f->width, f->height,
		   av_get_pix_fmt_name(f->format), len);
	grey_free(grey);
	free(again);
	free(jpeg);
}

typedef struct Job
{
	AVFrame    *frame;
	uint8_t    *jpeg;
	size_t		len;
} Job;

static void *
encode_job(void *arg)
{
	Job		   *job = arg;
	char		err[96];

	for (int i = 0; i < 20; i++)
	{
		free(job->jpeg);
		job->jpeg = jpeg_from_frame(job->frame, &job->len, err, sizeof(err));
	}
	return NULL;
}

/* Eight threads encoding different frames at once get what one thread gets. */
static void
check_threads(void)
{
	enum
	{
	NJOBS = 8};
	Job			jobs[NJOBS];
	pthread_t	threads[NJOBS];
	int			same = 0;

	for (int i = 0; i < NJOBS; i++)
	{
		char		err[96];

		jobs[i].frame = make_frame(640 + 32 * i, 360 + 16 * i, AV_PIX_FMT_YUV420P, i % 2);
		jobs[i].jpeg = jpeg_from_frame(jobs[i].frame, &jobs[i].len, err, sizeof(err));
	}
	{
		uint8_t    *alone[NJOBS];
		size_t		alone_len[NJOBS];

		for (int i = 0; i < NJOBS; i++)
		{
			alone[i] = jobs[i].jpeg;
			alone_len[i] = jobs[i].len;
			jobs[i].jpeg = NULL;
		}
		for (int i = 0; i < NJOBS; i++)
			CHECK(pthread_create(&threads[i], NULL, encode_job, &jobs[i]) == 0);
		for (int i = 0; i < NJOBS; i++)
			pthread_join(threads[i], NULL);
		for (int i = 0; i < NJOBS; i++)
		{
			if (jobs[i].jpeg && alone[i] && jobs[i].len == alone_len[i] &&
				memcmp(jobs[i].jpeg, alone[i], alone_len[i]) == 0)
				same++;
			free(alone[i]);
			free(jobs[i].jpeg);
			av_frame_free(&jobs[i].frame);
		}
	}
	CHECK(same == NJOBS);
	printf("  %d threads x 20 pictures each: the bytes of one thread's\n", NJOBS);
}

static void
check_plausible(void)
{
	uint8_t		ok[] = {0xFF, 0xD8, 0x00, 0xFF, 0xD9};
	uint8_t		no_eoi[] = {0xFF, 0xD8, 0x00, 0x00, 0x00};
	uint8_t		png[] = {0x89, 'P', 'N', 'G', 0xFF, 0xD9};
	uint8_t    *big = calloc(CH_JPEG_MAX_BYTES + 1, 1);

	CHECK(ch_jpeg_plausible(ok, sizeof(ok)));
	CHECK(ch_jpeg_plausible(ok, 4) == false);	/* FF D8 00 FF: no EOI */
	CHECK(ch_jpeg_plausible((const uint8_t *) "\xff\xd8\xff\xd9", 4));
	CHECK(!ch_jpeg_plausible(ok, 3));
	CHECK(!ch_jpeg_plausible(no_eoi, sizeof(no_eoi)));
	CHECK(!ch_jpeg_plausible(png, sizeof(png)));
	CHECK(!ch_jpeg_plausible(NULL, 10));
	big[0] = 0xFF, big[1] = 0xD8, big[CH_JPEG_MAX_BYTES - 2] = 0xFF, big[CH_JPEG_MAX_BYTES - 1] = 0xD9;
	CHECK(ch_jpeg_plausible(big, CH_JPEG_MAX_BYTES));
	big[CH_JPEG_MAX_BYTES - 1] = 0, big[CH_JPEG_MAX_BYTES - 0] = 0xD9, big[CH_JPEG_MAX_BYTES - 1] = 0xFF;
	CHECK(!ch_jpeg_plausible(big, CH_JPEG_MAX_BYTES + 1));
	free(big);
}

int
main(void)
{
	AVFrame    *f;
	char		err[96];
	size_t		len = 99;

	av_log_set_level(AV_LOG_ERROR);
	check_plausible();

	f = make_frame(1920, 1080, AV_PIX_FMT_YUV420P, 0);
	check_picture("HD colour", f, 320, 180);
	av_frame_free(&f);
	f = make_frame(768, 576, AV_PIX_FMT_YUV420P, 0);
	f->sample_aspect_ratio = (AVRational) {16, 11};	/* PAL 16:9 anamorphic */
	check_picture("anamorphic", f, 320, 164);
	av_frame_free(&f);
	f = make_frame(640, 480, AV_PIX_FMT_YUVJ422P, 0);
	f->color_range = AVCOL_RANGE_JPEG;
	check_picture("full-range 4:2:2", f, 320, 240);
	av_frame_free(&f);
	f = make_frame(800, 600, AV_PIX_FMT_GRAY8, 0);
	check_picture("grey", f, 320, 240);
	av_frame_free(&f);
	f = make_frame(500, 300, AV_PIX_FMT_RGB24, 0);
	check_picture("RGB", f, 320, 192);
	av_frame_free(&f);
	f = make_frame(7, 5, AV_PIX_FMT_YUV420P, 0);
	check_picture("tiny (not enlarged)", f, 6, 16);
	av_frame_free(&f);
	f = make_frame(100, 4000, AV_PIX_FMT_YUV420P, 0);
	check_picture("very tall (clipped)", f, 100, 1280);
	av_frame_free(&f);
	/* noise fits coarser; at 320 x 1280 only at half the size */
	f = make_frame(640, 480, AV_PIX_FMT_YUV420P, 1);
	check_picture("noise", f, 320, 240);
	av_frame_free(&f);
	f = make_frame(320, 1280, AV_PIX_FMT_YUV420P, 1);
	check_picture("noise, tall (halved)", f, 160, 640);
	av_frame_free(&f);

	CHECK(jpeg_from_frame(NULL, &len, err, sizeof(err)) == NULL && len == 0);
	check_threads();

	if (failures)
	{
		printf("test_jpeg: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	printf("test_jpeg: all %d checks passed\n", checks);
	return 0;
}
