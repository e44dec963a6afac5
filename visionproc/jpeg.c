/*
 * jpeg.c
 *	  Small JPEG pictures of decoded frames (see jpeg.h).
 *
 * The analysis works on a 320x240 grey image; people looking at a camera's
 * snapshot want its colours and its shape, so the picture is made from the
 * decoded frame itself: scaled (area averaging, as frame.c) to 320 pixels
 * wide at the frame's display aspect ratio, converted to full-range YUV
 * 4:2:0 (baseline JPEG, what every decoder reads; a grey stream gets
 * neutral chroma)
 * and encoded at a fixed quantiser.  A picture that does not fit the
 * storage cap (noise compresses badly) is encoded again, coarser, and at
 * worst at half or a quarter of the size.
 *
 * Nothing here is global: the scaler, the encoder and the frame are made
 * and freed by each call, so that grabs in many threads may encode at once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "jpeg.h"
#include "jpeg_check.h"

#define JPEG_MIN_HEIGHT 16
#define JPEG_MAX_HEIGHT (4 * JPEG_WIDTH)	/* a very tall frame is clipped in aspect */

/* Quantisers tried in turn (2 is best, 31 coarsest): 5 gives 8-20 kB at 320x240. */
static const int quantisers[] = {5, 10, 20, 31};

/* The picture's size: JPEG_WIDTH wide (or the frame's width), even sides. */
static void
picture_size(const AVFrame *frame, int *w, int *h)
{
	double		aspect = (double) frame->width / frame->height;
	int			height;

	if (frame->sample_aspect_ratio.num > 0 && frame->sample_aspect_ratio.den > 0)
		aspect *= av_q2d(frame->sample_aspect_ratio);
	*w = frame->width < JPEG_WIDTH ? frame->width & ~1 : JPEG_WIDTH;
	if (*w < 2)
		*w = 2;
	height = (int) (*w / aspect + 0.5);
	height &= ~1;
	*h = height < JPEG_MIN_HEIGHT ? JPEG_MIN_HEIGHT : height > JPEG_MAX_HEIGHT ? JPEG_MAX_HEIGHT : height;
}

/* frame scaled and converted into a new full-range YUV 4:2:0 frame of w x h */
static AVFrame *
scaled_frame(const AVFrame *frame, int w, int h, char *err, size_t errlen)
{
	struct SwsContext *sws;
	AVFrame    *out = av_frame_alloc();
	int		   *inv_table,
			   *table;
	int			src_range,
				dst_range,
				brightness,
				contrast,
				saturation;

	if (out == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	out->format = AV_PIX_FMT_YUV420P;
	out->width = w;
	out->height = h;
	out->color_range = AVCOL_RANGE_JPEG;
	if (av_frame_get_buffer(out, 0) < 0)
	{
		snprintf(err, errlen, "out of memory");
		av_frame_free(&out);
		return NULL;
	}
	sws = sws_getContext(frame->width, frame->height, (enum AVPixelFormat) frame->format,
						 w, h, AV_PIX_FMT_YUV420P, SWS_AREA, NULL, NULL, NULL);
	if (sws == NULL)
	{
		snprintf(err, errlen, "cannot scale %s frames", av_get_pix_fmt_name(frame->format) ?
				 av_get_pix_fmt_name(frame->format) : "these");
		av_frame_free(&out);
		return NULL;
	}
	/*
	 * Full range out (JPEG's own), not the deprecated YUVJ formats; a frame
	 * that says its range overrides what its pixel format implies.
	 */
	if (sws_getColorspaceDetails(sws, &inv_table, &src_range, &table, &dst_range,
								 &brightness, &contrast, &saturation) >= 0)
	{
		if (frame->color_range != AVCOL_RANGE_UNSPECIFIED)
			src_range = frame->color_range == AVCOL_RANGE_JPEG;
		sws_setColorspaceDetails(sws, inv_table, src_range, table, 1, brightness, contrast, saturation);
	}
	if (sws_scale(sws, (const uint8_t *const *) frame->data, frame->linesize, 0, frame->height,
				  out->data, out->linesize) != h)
	{
		snprintf(err, errlen, "cannot scale the frame");
		av_frame_free(&out);
	}
	sws_freeContext(sws);
	return out;
}

/* One encoding of pic at quantiser q into a malloc'd buffer, or NULL. */
static uint8_t *
encode(AVCodecContext *enc, AVFrame *pic, int q, size_t *len, char *err, size_t errlen)
{
	AVPacket   *pkt = av_packet_alloc();
	uint8_t    *out = NULL;
	int			ret;

	if (pkt == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pic->quality = FF_QP2LAMBDA * q;
	pic->pts++;
	if ((ret = avcodec_send_frame(enc, pic)) < 0 || (ret = avcodec_receive_packet(enc, pkt)) < 0)
	{
		av_strerror(ret, err, errlen);
		av_packet_free(&pkt);
		return NULL;
	}
	out = malloc(pkt->size);
	if (out == NULL)
		snprintf(err, errlen, "out of memory");
	else
	{
		memcpy(out, pkt->data, pkt->size);
		*len = pkt->size;
	}
	av_packet_free(&pkt);
	return out;
}

/*
 * frame as a w x h picture at the first quantiser that fits the cap; NULL
 * with *too_big set when even the coarsest does not, NULL with the reason
 * in err on failure.
 */
static uint8_t *
picture_at(const AVFrame *frame, const AVCodec *codec, int w, int h, size_t *len, bool *too_big,
		   char *err, size_t errlen)
{
	AVCodecContext *enc = NULL;
	AVFrame    *pic = NULL;
	uint8_t    *out = NULL;

	*too_big = false;
	if ((pic = scaled_frame(frame, w, h, err, errlen)) == NULL)
		return NULL;
	enc = avcodec_alloc_context3(codec);
	if (enc == NULL)
	{
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	enc->width = w;
	enc->height = h;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->color_range = AVCOL_RANGE_JPEG;
	enc->time_base = (AVRational) {1, 25};
	enc->flags |= AV_CODEC_FLAG_QSCALE;
	enc->thread_count = 1;
	if (avcodec_open2(enc, codec, NULL) < 0)
	{
		snprintf(err, errlen, "cannot open the MJPEG encoder");
		goto done;
	}
	pic->pts = 0;
	for (size_t i = 0; i < sizeof(quantisers) / sizeof(quantisers[0]); i++)
	{
		free(out);
		out = encode(enc, pic, quantisers[i], len, err, errlen);
		if (out == NULL || ch_jpeg_plausible(out, *len))
			break;
	}
	if (out != NULL && !ch_jpeg_plausible(out, *len))
	{
		snprintf(err, errlen, "the picture is %zu bytes even at the coarsest quantiser (at most %d)",
				 *len, CH_JPEG_MAX_BYTES);
		free(out);
		out = NULL;
		*len = 0;
		*too_big = true;
	}

done:
	avcodec_free_context(&enc);
	av_frame_free(&pic);
	return out;
}

uint8_t *
jpeg_from_frame(const AVFrame *frame, size_t *len, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	uint8_t    *out = NULL;
	bool		too_big = true;
	int			w,
				h;

	*len = 0;
	if (frame == NULL || frame->width <= 0 || frame->height <= 0)
	{
		snprintf(err, errlen, "no frame");
		return NULL;
	}
	if (codec == NULL)
	{
		snprintf(err, errlen, "this FFmpeg has no MJPEG encoder");
		return NULL;
	}
	picture_size(frame, &w, &h);
	/* pure noise may not fit even coarsely: then a smaller picture, rather than none */
	for (int shrink = 1; out == NULL && too_big && shrink <= 4; shrink *= 2)
		out = picture_at(frame, codec, (w / shrink + 1) & ~1, (h / shrink + 1) & ~1, len, &too_big, err, errlen);
	return out;
}
