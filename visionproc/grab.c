/*
 * grab.c
 *	  Frames from a camera (see grab.h).
 *
 * A camera that hangs, refuses or sends garbage must cost one worker a
 * bounded time: libavformat gets an interrupt callback that gives up at the
 * grab's deadline (or on SIGTERM), on top of its own socket I/O timeout, and
 * libcurl gets a total and a connect timeout.
 *
 * And it must reach nothing but the camera.  An RTSP URL is opened by the
 * RTSP demuxer alone (no probing) over TCP or TLS only (protocol_whitelist),
 * so a hostile server cannot make libavformat open file:, pipe:, concat:,
 * subfile: or anything else; an HTTP(S) URL is fetched by libcurl (http and
 * https, redirects too) and its body decoded as a still image only, with
 * nested opens refused (frame.c).  Local files are opened only when the
 * command line allows it (--allow-files, for tests).  Frames larger than
 * max_pixels are refused before their pixels are allocated.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>

#include "frame.h"
#include "grab.h"
#include "jpeg.h"
#include "metrics.h"
#include "monotonic.h"
#include "url.h"

#define SNAPSHOT_MAX_BYTES (16 * 1024 * 1024)


/*
 * What the RTSP demuxer may open: its control connection (tcp, or tls for
 * rtsps).  Media is interleaved on it (rtsp_transport tcp): no rtp or udp.
 */
#define RTSP_PROTOCOLS "tcp,tls"
#define FILE_PROTOCOLS "file"

typedef enum GrabKind
{
	GRAB_RTSP,
	GRAB_FILE
} GrabKind;

typedef struct Deadline
{
	double		at_ms;
	volatile sig_atomic_t *stop;
} Deadline;

static int
interrupted(void *arg)
{
	Deadline   *d = arg;

	return (d->stop && *d->stop) || now_ms() > d->at_ms;
}

/*
 * Set res->error to a message with any credential masked: the whole message
 * is formatted and masked first, then cut to fit (mask before you truncate).
 */
static void
fail(GrabResult *res, const char *stage, const char *fmt, const char *what)
{
	int			len = snprintf(NULL, 0, fmt, what);
	char	   *msg = malloc(len + 1);
	char	   *masked = malloc(MASK_SECRETS_BUFSIZE(len));

	if (msg == NULL || masked == NULL)
		snprintf(res->error, sizeof(res->error), "%s", "out of memory");
	else
	{
		snprintf(msg, len + 1, fmt, what);
		mask_secrets(msg, masked);
		snprintf(res->error, sizeof(res->error), "%s", masked);
	}
	free(msg);
	free(masked);
	res->stage = stage;
}

static void
fail_av(GrabResult *res, const char *stage, const char *doing, int averr, const Deadline *d)
{
	char		why[AV_ERROR_MAX_STRING_SIZE];
	char		msg[sizeof(res->error)];

	if (d->stop && *d->stop)
		snprintf(why, sizeof(why), "interrupted by shutdown");
	else if (averr == AVERROR_EXIT || now_ms() > d->at_ms)
		snprintf(why, sizeof(why), "no answer within the grab timeout");
	else
		av_strerror(averr, why, sizeof(why));
	snprintf(msg, sizeof(msg), "%s: %s", doing, why);
	fail(res, stage, "%s", msg);
}

/*
 * A frame after the first: kept when it is the next one later_gap_ms
 * apart.  Returns true when the grab has all it needs: nlater frames, or
 * a pair of frames that settles the frozen check by itself
 * (frozen_pair_conclusive).
 */
static bool
take_later(GrabResult *res, const AVFrame *frm, const GrabOptions *opt, int64_t pts,
		   int64_t first_pts, AVRational tb, double first_wall)
{
	double		gap = (pts != AV_NOPTS_VALUE && first_pts != AV_NOPTS_VALUE) ?
		(pts - first_pts) * av_q2d(tb) * 1000.0 : now_ms() - first_wall;
	GreyImage  *prev;

	if (res->nlater >= opt->nlater || res->conclusive)
		return true;
	if (gap < (double) opt->later_gap_ms * (res->nlater + 1))
		return false;
	prev = res->nlater > 0 ? res->later[res->nlater - 1] : res->frame;
	res->later[res->nlater++] = frame_to_grey(frm);
	res->later_gap_ms = gap;
	res->conclusive = res->nlater < opt->nlater && prev && res->later[res->nlater - 1] &&
		frozen_pair_conclusive(prev, res->later[res->nlater - 1]);
	return res->nlater >= opt->nlater || res->conclusive;
}

/*
 * RTSP streams and files.  The first decoded frame is kept, then decoding
 * goes on for nlater more frames, later_gap_ms apart (by the stream's own
 * timestamps, the wall clock only when it has none), for the frozen-video
 * check.
 */
static int
grab_av(const char *url, const GrabOptions *opt, GrabResult *res, GrabKind kind)
{
	bool		is_rtsp = kind == GRAB_RTSP;
	const AVInputFormat *iformat = is_rtsp ? av_find_input_format("rtsp") : NULL;
	AVDictionary **probe_opts = NULL;
	unsigned	nprobe = 0;
	char		toobig[160];
	Deadline	deadline = {now_ms() + opt->timeout_ms, opt->stop};
	double		start = now_ms();
	AVFormatContext *fmt = avformat_alloc_context();
	AVDictionary *options = NULL;
	AVCodecContext *dec = NULL;
	AVPacket   *pkt = av_packet_alloc();
	AVFrame    *frm = av_frame_alloc();
	const AVCodec *codec = NULL;
	int			stream;
	int			ret;
	int64_t		first_pts = AV_NOPTS_VALUE;
	double		first_wall = 0;
	AVRational	tb;
	int			rc = -1;
	char		tmo[32];

	fmt->interrupt_callback.callback = interrupted;
	fmt->interrupt_callback.opaque = &deadline;
	if (is_rtsp)
	{
		if (iformat == NULL)
		{
			fail(res, "connect", "%s", "this FFmpeg has no RTSP demuxer");
			goto done;
		}
		snprintf(tmo, sizeof(tmo), "%lld", (long long) opt->io_timeout_ms * 1000);
		av_dict_set(&options, "rtsp_transport", "tcp", 0);
		av_dict_set(&options, "timeout", tmo, 0);
		av_dict_set(&options, "protocol_whitelist", RTSP_PROTOCOLS, 0);
		av_dict_set(&options, "format_whitelist", "rtsp", 0);
	}
	else
		av_dict_set(&options, "protocol_whitelist", FILE_PROTOCOLS, 0);
	/*
	 * Probing needs the codec's parameters, found in the first keyframe;
	 * it would go on to guess the frame rate from a second of stream, time
	 * during which the grab holds its slot for nothing.
	 */
	av_dict_set(&options, "analyzeduration", is_rtsp ? "100000" : "1000000", 0);
	av_dict_set(&options, "fpsprobesize", "0", 0);
	av_dict_set(&options, "probesize", "2000000", 0);

	ret = avformat_open_input(&fmt, url, iformat, &options);
	av_dict_free(&options);
	if (ret < 0)
	{
		fail_av(res, "connect", "cannot open the stream", ret, &deadline);
		goto done;
	}
	/* probing decodes frames: with the same size limit */
	nprobe = fmt->nb_streams;
	probe_opts = frame_probe_options(fmt, opt->max_pixels);
	ret = probe_opts ? avformat_find_stream_info(fmt, probe_opts) : AVERROR(ENOMEM);
	frame_free_probe_options(probe_opts, nprobe);
	if (ret < 0)
	{
		fail_av(res, "read", "cannot read the stream", ret, &deadline);
		goto done;
	}
	stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (stream < 0 || codec == NULL)
	{
		fail(res, "decode", "%s", "no decodable video stream");
		goto done;
	}
	for (unsigned i = 0; i < fmt->nb_streams; i++)
		if ((int) i != stream)
			fmt->streams[i]->discard = AVDISCARD_ALL;
	if (!frame_size_allowed(fmt->streams[stream]->codecpar->width, fmt->streams[stream]->codecpar->height,
							opt->max_pixels, toobig, sizeof(toobig)))
	{
		fail(res, "decode", "%s", toobig);
		goto done;
	}
	tb = fmt->streams[stream]->time_base;
	dec = avcodec_alloc_context3(codec);
	if (dec == NULL || avcodec_parameters_to_context(dec, fmt->streams[stream]->codecpar) < 0)
	{
		fail(res, "decode", "%s", "out of memory");
		goto done;
	}
	dec->thread_count = 1;
	dec->max_pixels = opt->max_pixels;
	/*
	 * Frames nothing refers to (most B-frames) are not decoded: we keep a
	 * few frames a fraction of a second apart, any decodable one will do.
	 */
	dec->skip_frame = AVDISCARD_NONREF;
	if ((ret = avcodec_open2(dec, codec, NULL)) < 0)
	{
		fail_av(res, "decode", "cannot open the decoder", ret, &deadline);
		goto done;
	}
	snprintf(res->codec, sizeof(res->codec), "%s", codec->name);

	while (res->nlater < opt->nlater && !res->conclusive)
	{
		ret = av_read_frame(fmt, pkt);
		if (ret == AVERROR_EOF && res->frame != NULL)
			break;				/* a short file: no second frame */
		if (ret < 0)
		{
			fail_av(res, "read", res->frame ? "the stream stopped" : "no frame from the stream", ret, &deadline);
			goto done;
		}
		if (pkt->stream_index != stream)
		{
			av_packet_unref(pkt);
			continue;
		}
		ret = avcodec_send_packet(dec, pkt);
		av_packet_unref(pkt);
		if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_INVALIDDATA)
		{
			fail_av(res, "decode", "cannot decode the stream", ret, &deadline);
			goto done;
		}
		while (avcodec_receive_frame(dec, frm) == 0)
		{
			int64_t		pts = frm->best_effort_timestamp;

			if (!frame_size_allowed(frm->width, frm->height, opt->max_pixels, toobig, sizeof(toobig)))
			{
				fail(res, "decode", "%s", toobig);
				goto done;
			}
			if (res->frame == NULL)
			{
				res->frame = frame_to_grey(frm);
				free(res->jpeg);	/* of a frame that failed to convert */
				res->jpeg = jpeg_from_frame(frm, &res->jpeg_len, res->jpeg_error, sizeof(res->jpeg_error));
				res->width = frm->width;
				res->height = frm->height;
				res->first_frame_ms = now_ms() - start;
				first_pts = pts;
				first_wall = now_ms();
			}
			else if (take_later(res, frm, opt, pts, first_pts, tb, first_wall))
				break;
			av_frame_unref(frm);
		}
	}
	rc = 0;

done:
	av_frame_free(&frm);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	if (rc == 0 && res->frame == NULL)
	{
		fail(res, "decode", "%s", "no frame could be decoded");
		rc = -1;
	}
	return rc;
}

typedef struct Body
{
	unsigned char *data;
	size_t		len;
} Body;

static size_t
collect_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	Body	   *b = arg;
	size_t		n = size * nmemb;
	unsigned char *grown;

	if (b->len + n > SNAPSHOT_MAX_BYTES)
		return 0;				/* makes curl fail: not a snapshot */
	grown = realloc(b->data, b->len + n);
	if (grown == NULL)
		return 0;
	memcpy(grown + b->len, ptr, n);
	b->data = grown;
	b->len += n;
	return n;
}

static int
curl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	Deadline   *d = arg;

	return d->stop && *d->stop;
}

/* HTTP(S) snapshot URLs: one JPEG (or PNG) per request. */
static int
grab_snapshot(const char *url, const GrabOptions *opt, GrabResult *res)
{
	Deadline	deadline = {0, opt->stop};
	double		start = now_ms();
	CURL	   *curl = curl_easy_init();
	Body		body = {NULL, 0};
	CURLcode	cc;
	long		status = 0;
	char		err[CURL_ERROR_SIZE] = "";
	int			rc = -1;

	if (curl == NULL)
	{
		fail(res, "connect", "%s", "cannot start libcurl");
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) opt->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) opt->io_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_ANY);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, curl_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &deadline);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "camera_health visionproc");

	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK)
		fail(res, "connect", "snapshot request failed: %s", err[0] ? err : curl_easy_strerror(cc));
	else if (status != 200)
	{
		char		code[16];

		snprintf(code, sizeof(code), "%ld", status);
		fail(res, "connect", "snapshot request answered HTTP %s", code);
	}
	else
	{
		char		derr[160];

		res->frame = grey_from_snapshot_jpeg(body.data, body.len, opt->max_pixels, &res->jpeg,
											 &res->jpeg_len, res->jpeg_error, sizeof(res->jpeg_error),
											 derr, sizeof(derr));
		if (res->frame == NULL)
			fail(res, "decode", "the snapshot is not an image: %s", derr);
		else
		{
			snprintf(res->codec, sizeof(res->codec), "snapshot");
			res->width = res->frame->width;
			res->height = res->frame->height;
			res->first_frame_ms = now_ms() - start;
			rc = 0;
		}
	}
	free(body.data);
	curl_easy_cleanup(curl);
	return rc;
}

bool
grab_url_allowed(const char *url, bool allow_files, const char **reason)
{
	if (allow_files && url[0] == '/')
	{
		*reason = NULL;
		return strlen(url) < 4096;
	}
	return camera_url_is_valid(url, reason);
}

int
grab_frames(const char *url, const GrabOptions *opt, GrabResult *out)
{
	const char *reason = NULL;
	char		client_url[MASK_SECRETS_BUFSIZE(CAMERA_URL_MAX_LEN)];

	memset(out, 0, sizeof(*out));
	if (!grab_url_allowed(url, opt->allow_files, &reason))
	{
		fail(out, "refused", "refused URL: %s", reason ? reason : "not a camera URL");
		return -1;
	}
	if (url[0] == '/')
		return grab_av(url, opt, out, GRAB_FILE);

	/*
	 * FFmpeg and libcurl end the authority at the first '/', '?' or '#': a
	 * password holding one would send the request to another host.  They
	 * are given the userinfo percent-encoded, which both decode again.
	 */
	if (strlen(url) > CAMERA_URL_MAX_LEN)
	{
		fail(out, "refused", "refused URL: %s", "longer than the longest camera URL");
		return -1;
	}
	url_for_client(url, client_url);
	if (strncasecmp(client_url, "http://", 7) == 0 || strncasecmp(client_url, "https://", 8) == 0)
		return grab_snapshot(client_url, opt, out);
	return grab_av(client_url, opt, out, GRAB_RTSP);
}

void
grab_result_free(GrabResult *res)
{
	grey_free(res->frame);
	res->frame = NULL;
	free(res->jpeg);
	res->jpeg = NULL;
	res->jpeg_len = 0;
	for (int i = 0; i < res->nlater; i++)
		grey_free(res->later[i]);
	res->nlater = 0;
}
