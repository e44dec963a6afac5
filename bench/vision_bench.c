/*
 * vision_bench.c
 *	  The cost of analysing a frame, against the cost of FFmpeg decoding the
 *	  same frame, in one process on one core.
 *
 *	  vision_bench [-n N] [-r ROUNDS] REFERENCE FRAME
 *
 * FRAME is one encoded picture (a JPEG, or a video file whose first
 * packet is a keyframe).  Each round times, N times over: decoding FRAME's
 * packet with libavcodec (one thread); frame_to_grey on the decoded frame
 * (scaling to the analysis size); vision_analyze against REFERENCE; and
 * the full path (decode, scale, analyse).  Times are the thread's CPU
 * time, so other load on the machine matters little; the medians of the
 * rounds are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>

#include "frame.h"
#include "vision.h"

#define MAX_ROUNDS 51

typedef struct Decoder
{
	AVCodecContext *ctx;
	AVPacket   *pkt;
	AVFrame    *frame;
} Decoder;

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "vision_bench: %s\n", what);
	exit(2);
}

/* The first video packet of path, and a one-thread decoder for it. */
static void
decoder_open(Decoder *d, const char *path)
{
	AVFormatContext *fmt = NULL;
	const AVCodec *codec = NULL;
	int			stream;

	if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
		die("cannot open the frame file");
	stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (stream < 0 || codec == NULL)
		die("no video in the frame file");
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	d->ctx = avcodec_alloc_context3(codec);
	if (!d->pkt || !d->frame || !d->ctx)
		die("out of memory");
	avcodec_parameters_to_context(d->ctx, fmt->streams[stream]->codecpar);
	d->ctx->thread_count = 1;
	if (avcodec_open2(d->ctx, codec, NULL) < 0)
		die("cannot open the decoder");
	while (av_read_frame(fmt, d->pkt) >= 0)
	{
		if (d->pkt->stream_index == stream)
			break;
		av_packet_unref(d->pkt);
	}
	if (d->pkt->size == 0)
		die("no packet in the frame file");
	avformat_close_input(&fmt);
}

/* Decode the packet into d->frame, from a clean decoder state. */
static void
decode_once(Decoder *d)
{
	int			ret;

	av_frame_unref(d->frame);
	if (avcodec_send_packet(d->ctx, d->pkt) < 0)
		die("decode failed");
	ret = avcodec_receive_frame(d->ctx, d->frame);
	if (ret == AVERROR(EAGAIN))
	{
		/* a decoder that holds frames back: drain it */
		avcodec_send_packet(d->ctx, NULL);
		ret = avcodec_receive_frame(d->ctx, d->frame);
	}
	if (ret < 0)
		die("decode failed");
	avcodec_flush_buffers(d->ctx);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int			n = 200;
	int			rounds = 5;
	int			opt;
	char		err[256];
	GreyImage  *ref;
	Decoder		d = {0};
	double		t_decode[MAX_ROUNDS],
				t_scale[MAX_ROUNDS],
				t_metrics[MAX_ROUNDS],
				t_full[MAX_ROUNDS];
	double		decode,
				scale,
				metrics,
				full,
				analysis;

	while ((opt = getopt(argc, argv, "n:r:")) != -1)
	{
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			die("usage: vision_bench [-n N] [-r ROUNDS] REFERENCE FRAME");
	}
	if (argc - optind != 2 || n < 1 || rounds < 1 || rounds > MAX_ROUNDS)
		die("usage: vision_bench [-n N] [-r ROUNDS] REFERENCE FRAME");
	av_log_set_level(AV_LOG_QUIET);
	ref = grey_from_file(argv[optind], err, sizeof(err));
	if (ref == NULL)
		die(err);
	decoder_open(&d, argv[optind + 1]);
	decode_once(&d);
	printf("frame: %s, %dx%d %s, %d x %d rounds\n", d.ctx->codec->name, d.frame->width,
		   d.frame->height, av_get_pix_fmt_name(d.frame->format), n, rounds);

	for (int r = 0; r < rounds; r++)
	{
		double		t0;
		GreyImage  *grey = NULL;
		VisionInput in = {ref, NULL, {NULL}, 0};

		t0 = cpu_ms();
		for (int i = 0; i < n; i++)
			decode_once(&d);
		t_decode[r] = (cpu_ms() - t0) / n;

		t0 = cpu_ms();
		for (int i = 0; i < n; i++)
		{
			grey_free(grey);
			grey = frame_to_grey(d.frame);
		}
		t_scale[r] = (cpu_ms() - t0) / n;

		in.frame = grey;
		t0 = cpu_ms();
		for (int i = 0; i < n; i++)
			json_object_put(vision_analyze(&in));
		t_metrics[r] = (cpu_ms() - t0) / n;
		grey_free(grey);

		t0 = cpu_ms();
		for (int i = 0; i < n; i++)
		{
			decode_once(&d);
			grey = frame_to_grey(d.frame);
			in.frame = grey;
			json_object_put(vision_analyze(&in));
			grey_free(grey);
		}
		t_full[r] = (cpu_ms() - t0) / n;
	}
	decode = median(t_decode, rounds);
	scale = median(t_scale, rounds);
	metrics = median(t_metrics, rounds);
	full = median(t_full, rounds);
	analysis = scale + metrics;
	printf("decode %.3f ms/frame, analysis %.3f ms/frame (scale %.3f + metrics %.3f), "
		   "ratio analysis/decode %.2f, frames analysed per second per core %.0f\n",
		   decode, analysis, scale, metrics, analysis / decode, 1000.0 / full);
	printf("full path measured: %.3f ms/frame (decode + scale + analyse)\n", full);

	av_packet_free(&d.pkt);
	av_frame_free(&d.frame);
	avcodec_free_context(&d.ctx);
	grey_free(ref);
	return 0;
}
