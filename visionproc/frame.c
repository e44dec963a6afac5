/*
 * frame.c
 *	  From decoded video frames and image files to analysis images, with
 *	  FFmpeg's libraries.
 *
 * Only luma matters to the analysis, so a YUV frame is scaled from its Y
 * plane alone (a third to a half of the work of a full conversion), with
 * swscale's area averaging: it is cheap and, unlike point sampling or a
 * fast bilinear, does not alias fine detail into the sharpness measures.
 * Limited-range luma (16..235, most video) is stretched to full range so
 * that a reference taken from a JPEG snapshot and a frame from an H.264
 * stream of the same camera compare as equals.
 *
 * Files and in-memory images are read through an AVIOContext of our own,
 * never through a URL: no protocol, no image2 file-name pattern is ever
 * interpreted.  This library prints nothing; FFmpeg's own log level is the
 * caller's business.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "frame.h"

#define IO_BUFFER_SIZE 65536

/* Where an AVIOContext of ours reads from: a buffer or an open file. */
typedef struct Source
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	FILE	   *file;
} Source;

static int
source_read(void *opaque, uint8_t *buf, int size)
{
	Source	   *src = opaque;
	size_t		n;

	if (src->file)
	{
		n = fread(buf, 1, size, src->file);
		if (n == 0)
			return ferror(src->file) ? AVERROR(EIO) : AVERROR_EOF;
		return (int) n;
	}
	if (src->pos >= src->len)
		return AVERROR_EOF;
	n = src->len - src->pos;
	if (n > (size_t) size)
		n = size;
	memcpy(buf, src->data + src->pos, n);
	src->pos += n;
	return (int) n;
}

static int64_t
source_seek(void *opaque, int64_t offset, int whence)
{
	Source	   *src = opaque;
	int64_t		size;
	int64_t		target;

	if (src->file)
	{
		long		here = ftell(src->file);

		if (fseek(src->file, 0, SEEK_END) != 0)
			return AVERROR(errno);
		size = ftell(src->file);
		if (fseek(src->file, here, SEEK_SET) != 0)
			return AVERROR(errno);
	}
	else
		size = (int64_t) src->len;

	whence &= ~AVSEEK_FORCE;
	if (whence == AVSEEK_SIZE)
		return size;
	if (whence == SEEK_SET)
		target = offset;
	else if (whence == SEEK_CUR)
		target = (src->file ? ftell(src->file) : (int64_t) src->pos) + offset;
	else if (whence == SEEK_END)
		target = size + offset;
	else
		return AVERROR(EINVAL);
	if (target < 0 || target > size)
		return AVERROR(EINVAL);
	if (src->file)
	{
		if (fseek(src->file, (long) target, SEEK_SET) != 0)
			return AVERROR(errno);
	}
	else
		src->pos = (size_t) target;
	return target;
}

/* Can the grey picture be taken straight from plane 0 (8-bit luma)? */
static int
has_luma_plane(const AVPixFmtDescriptor *desc)
{
	if (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL |
					   AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM |
					   AV_PIX_FMT_FLAG_FLOAT))
		return 0;
	return desc->comp[0].plane == 0 && desc->comp[0].depth == 8 &&
		desc->comp[0].step == 1 && desc->comp[0].shift == 0 &&
		desc->comp[0].offset == 0;
}

/*
 * Is this luma limited range (16..235)?  Unless the frame says otherwise,
 * YUV is (the video convention) and YUVJ and plain grey are not.
 */
static int
limited_range(const AVFrame *frame, const AVPixFmtDescriptor *desc)
{
	if (frame->color_range == AVCOL_RANGE_JPEG)
		return 0;
	if (frame->color_range == AVCOL_RANGE_MPEG)
		return 1;
	if (strncmp(desc->name, "yuvj", 4) == 0 || desc->nb_components <= 2)
		return 0;
	return 1;
}

static void
stretch_limited_range(GreyImage *img)
{
	uint8_t		lut[256];
	size_t		n = (size_t) img->width * img->height;

	for (int v = 0; v < 256; v++)
	{
		int			s = ((v - 16) * 255 + 109) / 219;

		lut[v] = s < 0 ? 0 : s > 255 ? 255 : s;
	}
	for (size_t i = 0; i < n; i++)
		img->pixels[i] = lut[img->pixels[i]];
}

GreyImage *
frame_to_grey(const AVFrame *frame)
{
	const AVPixFmtDescriptor *desc;
	struct SwsContext *sws;
	GreyImage  *img;
	int			luma;
	uint8_t    *dst[4];
	int			dst_stride[4];

	if (frame == NULL || frame->width <= 0 || frame->height <= 0)
		return NULL;
	desc = av_pix_fmt_desc_get(frame->format);
	if (desc == NULL)
		return NULL;
	luma = has_luma_plane(desc);
	sws = sws_getContext(frame->width, frame->height,
						 luma ? AV_PIX_FMT_GRAY8 : (enum AVPixelFormat) frame->format,
						 ANALYSIS_WIDTH, ANALYSIS_HEIGHT, AV_PIX_FMT_GRAY8,
						 SWS_AREA, NULL, NULL, NULL);
	if (sws == NULL)
		return NULL;
	img = grey_new(ANALYSIS_WIDTH, ANALYSIS_HEIGHT);
	if (img == NULL)
	{
		sws_freeContext(sws);
		return NULL;
	}
	memset(dst, 0, sizeof(dst));
	memset(dst_stride, 0, sizeof(dst_stride));
	dst[0] = img->pixels;
	dst_stride[0] = img->width;
	if (sws_scale(sws, (const uint8_t *const *) frame->data, frame->linesize,
				  0, frame->height, dst, dst_stride) != ANALYSIS_HEIGHT)
	{
		sws_freeContext(sws);
		grey_free(img);
		return NULL;
	}
	sws_freeContext(sws);
	if (luma && limited_range(frame, desc))
		stretch_limited_range(img);
	return img;
}

static void
set_error(char *err, size_t errlen, const char *what, int averr)
{
	char		reason[AV_ERROR_MAX_STRING_SIZE];

	if (err == NULL || errlen == 0)
		return;
	if (averr == 0)
	{
		snprintf(err, errlen, "%s", what);
		return;
	}
	av_strerror(averr, reason, sizeof(reason));
	snprintf(err, errlen, "%s: %s", what, reason);
}

/* Decode the first picture of an opened input. */
static GreyImage *
decode_first_frame(AVFormatContext *fmt, char *err, size_t errlen)
{
	const AVCodec *codec = NULL;
	AVCodecContext *dec = NULL;
	AVPacket   *pkt = NULL;
	AVFrame    *frm = NULL;
	GreyImage  *img = NULL;
	int			stream;
	int			ret;
	int			flushing = 0;

	ret = avformat_find_stream_info(fmt, NULL);
	if (ret < 0)
	{
		set_error(err, errlen, "cannot read the image", ret);
		return NULL;
	}
	stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (stream < 0 || codec == NULL)
	{
		set_error(err, errlen, "no picture in the data", 0);
		return NULL;
	}
	dec = avcodec_alloc_context3(codec);
	pkt = av_packet_alloc();
	frm = av_frame_alloc();
	if (dec == NULL || pkt == NULL || frm == NULL)
	{
		set_error(err, errlen, "out of memory", 0);
		goto done;
	}
	if ((ret = avcodec_parameters_to_context(dec, fmt->streams[stream]->codecpar)) < 0 ||
		(dec->thread_count = 1, ret = avcodec_open2(dec, codec, NULL)) < 0)
	{
		set_error(err, errlen, "cannot open the decoder", ret);
		goto done;
	}

	while (img == NULL)
	{
		if (!flushing)
		{
			ret = av_read_frame(fmt, pkt);
			if (ret == AVERROR_EOF)
			{
				flushing = 1;
				ret = avcodec_send_packet(dec, NULL);
			}
			else if (ret < 0)
			{
				set_error(err, errlen, "cannot read the image", ret);
				goto done;
			}
			else if (pkt->stream_index != stream)
			{
				av_packet_unref(pkt);
				continue;
			}
			else
			{
				ret = avcodec_send_packet(dec, pkt);
				av_packet_unref(pkt);
			}
			if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_INVALIDDATA)
			{
				set_error(err, errlen, "cannot decode the image", ret);
				goto done;
			}
		}
		ret = avcodec_receive_frame(dec, frm);
		if (ret == 0)
		{
			img = frame_to_grey(frm);
			if (img == NULL)
				set_error(err, errlen, "cannot convert the picture", 0);
			break;
		}
		if (ret == AVERROR_EOF || (flushing && ret == AVERROR(EAGAIN)))
		{
			set_error(err, errlen, "no picture could be decoded", 0);
			break;
		}
		if (ret != AVERROR(EAGAIN))
		{
			set_error(err, errlen, "cannot decode the image", ret);
			break;
		}
	}

done:
	av_frame_free(&frm);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	return img;
}

/* Open src through an AVIOContext of ours and decode its first picture. */
static GreyImage *
decode_source(Source *src, const char *name, char *err, size_t errlen)
{
	AVFormatContext *fmt = NULL;
	AVIOContext *avio = NULL;
	uint8_t    *buffer;
	GreyImage  *img = NULL;
	int			ret;

	buffer = av_malloc(IO_BUFFER_SIZE);
	if (buffer == NULL)
	{
		set_error(err, errlen, "out of memory", 0);
		return NULL;
	}
	avio = avio_alloc_context(buffer, IO_BUFFER_SIZE, 0, src, source_read, NULL, source_seek);
	fmt = avformat_alloc_context();
	if (avio == NULL || fmt == NULL)
	{
		if (avio == NULL)
			av_free(buffer);
		set_error(err, errlen, "out of memory", 0);
		goto done;
	}
	fmt->pb = avio;
	fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	/* The name only hints the probe (by extension); nothing is opened by it. */
	ret = avformat_open_input(&fmt, name, NULL, NULL);
	if (ret < 0)
	{
		/* avformat_open_input frees fmt on failure */
		set_error(err, errlen, "not a recognised image", ret);
		goto done;
	}
	img = decode_first_frame(fmt, err, errlen);

done:
	avformat_close_input(&fmt);
	if (avio)
	{
		av_freep(&avio->buffer);
		avio_context_free(&avio);
	}
	return img;
}

GreyImage *
grey_from_image_bytes(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	Source		src = {data, len, 0, NULL};

	if (data == NULL || len == 0)
	{
		set_error(err, errlen, "empty image", 0);
		return NULL;
	}
	return decode_source(&src, "", err, errlen);
}

GreyImage *
grey_from_file(const char *path, char *err, size_t errlen)
{
	Source		src = {NULL, 0, 0, NULL};
	GreyImage  *img;

	src.file = fopen(path, "rb");
	if (src.file == NULL)
	{
		if (err && errlen)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	img = decode_source(&src, path, err, errlen);
	fclose(src.file);
	return img;
}
