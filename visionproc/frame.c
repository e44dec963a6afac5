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
 * stream of the same camera compare as equals.  The chroma is only looked
 * at, on a coarse grid, for the lighting mode of the picture (day or
 * infrared, GreyImage.mode): each mode has a reference of its own.
 *
 * Files and in-memory images are read through an AVIOContext of our own,
 * never through a URL: no protocol, no image2 file-name pattern is ever
 * interpreted, and a demuxer that would open another resource (an HLS
 * playlist naming file:///etc/passwd, a concat list) is refused by our
 * io_open callback.  Bytes from the network (HTTP snapshots) may only be
 * one of a few still-image formats, decoded by their own decoders.  The
 * size of a picture is checked before its pixels are allocated
 * (AVCodecContext.max_pixels, for the probing decoder too): a small PNG
 * can claim 30000x30000 pixels.  This library prints nothing; FFmpeg's own
 * log level is the caller's business.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "camera_mode.h"
#include "frame.h"
#include "jpeg.h"

#define IO_BUFFER_SIZE 65536

/*
 * Lighting mode (issue 11): the chroma of a picture is averaged over a
 * CHROMA_GRID_W x CHROMA_GRID_H grid of cells, and a picture whose cells
 * are (at the CHROMA_PERCENTILE) within CHROMA_IR_MAX, in 8-bit chroma
 * units, of neutral grey is infrared.  Averaging first matters: an
 * infrared picture is grey with noise in every plane, and its per-pixel
 * saturation is close to that of a colour scene (12 against 17 for
 * vtest.mp4 greyed with noise=alls=20), while over a cell (2,300 pixels of
 * a 768x576 frame) the noise cancels: 1.3 to 1.7 for that clip as H.264 or
 * JPEG, 2.6 with noise=alls=30 as a JPEG, against 29 for vtest.mp4, and
 * 6.7 or more for every scene and variant of the test data but a dull one
 * 90% covered (3.3).  A picture with no colour at all (black, a full grey
 * cover) is infrared too: analyse() in worker.c then judges it against the
 * day reference if it is unfit to be a reference.
 */
#define CHROMA_GRID_W 16
#define CHROMA_GRID_H 12
#define CHROMA_CELLS (CHROMA_GRID_W * CHROMA_GRID_H)
#define CHROMA_PERCENTILE 0.95
#define CHROMA_IR_MAX 4.5

/* What an HTTP snapshot may be: demuxers and decoders of still images only. */
#define SNAPSHOT_FORMATS "jpeg_pipe,png_pipe,bmp_pipe,webp_pipe,gif,pgm_pipe,ppm_pipe"
#define SNAPSHOT_CODECS "mjpeg,png,bmp,webp,gif,pgm,ppm"

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

/*
 * The mean chroma of each cell of the grid, straight from the planes of a
 * planar 8-bit YUV frame (yuv420p, yuvj420p, yuv422p...: what cameras
 * stream and JPEGs hold): exact means, at about the cost of a conversion by
 * swscale (0.4 ms for a 1080p frame).  False for any other layout.
 */
static bool
planar_chroma_cells(const AVFrame *frame, const AVPixFmtDescriptor *desc,
					double u[CHROMA_CELLS], double v[CHROMA_CELLS])
{
	int			cw,
				ch;
	int			x0[CHROMA_GRID_W + 1];
	uint64_t	sum[2][CHROMA_CELLS];

	if ((desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
						AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_FLOAT)) ||
		desc->nb_components < 3)
		return false;
	for (int c = 1; c <= 2; c++)
		if (desc->comp[c].plane != c || desc->comp[c].depth != 8 || desc->comp[c].step != 1 ||
			desc->comp[c].shift != 0 || desc->comp[c].offset != 0)
			return false;
	cw = AV_CEIL_RSHIFT(frame->width, desc->log2_chroma_w);
	ch = AV_CEIL_RSHIFT(frame->height, desc->log2_chroma_h);
	if (cw < CHROMA_GRID_W || ch < CHROMA_GRID_H)
		return false;
	for (int gx = 0; gx <= CHROMA_GRID_W; gx++)
		x0[gx] = (int) ((int64_t) gx * cw / CHROMA_GRID_W);
	memset(sum, 0, sizeof(sum));
	for (int y = 0; y < ch; y++)
	{
		int			row = (int) ((int64_t) y * CHROMA_GRID_H / ch) * CHROMA_GRID_W;

		for (int c = 0; c < 2; c++)
		{
			const uint8_t *p = frame->data[c + 1] + (ptrdiff_t) y * frame->linesize[c + 1];

			for (int gx = 0; gx < CHROMA_GRID_W; gx++)
			{
				uint32_t	s = 0;

				for (int x = x0[gx]; x < x0[gx + 1]; x++)
					s += p[x];
				sum[c][row + gx] += s;
			}
		}
	}
	for (int gy = 0; gy < CHROMA_GRID_H; gy++)
	{
		/* the rows of cell row gy: those y with y * GRID_H / ch == gy */
		int			y0 = (int) (((int64_t) gy * ch + CHROMA_GRID_H - 1) / CHROMA_GRID_H);
		int			y1 = (int) (((int64_t) (gy + 1) * ch + CHROMA_GRID_H - 1) / CHROMA_GRID_H);

		for (int gx = 0; gx < CHROMA_GRID_W; gx++)
		{
			double		n = (double) (y1 - y0) * (x0[gx + 1] - x0[gx]);
			int			i = gy * CHROMA_GRID_W + gx;

			u[i] = sum[0][i] / n;
			v[i] = sum[1][i] / n;
		}
	}
	return true;
}

/* The same for any other pixel format, converted to the grid by swscale. */
static bool
converted_chroma_cells(const AVFrame *frame, double u[CHROMA_CELLS], double v[CHROMA_CELLS])
{
	struct SwsContext *sws;
	uint8_t		cells[3][CHROMA_CELLS];
	uint8_t    *dst[4] = {cells[0], cells[1], cells[2], NULL};
	int			dst_stride[4] = {CHROMA_GRID_W, CHROMA_GRID_W, CHROMA_GRID_W, 0};
	int			ret;

	sws = sws_getContext(frame->width, frame->height, (enum AVPixelFormat) frame->format,
						 CHROMA_GRID_W, CHROMA_GRID_H, AV_PIX_FMT_YUV444P,
						 SWS_AREA, NULL, NULL, NULL);
	if (sws == NULL)
		return false;
	ret = sws_scale(sws, (const uint8_t *const *) frame->data, frame->linesize,
					0, frame->height, dst, dst_stride);
	sws_freeContext(sws);
	if (ret != CHROMA_GRID_H)
		return false;
	for (int i = 0; i < CHROMA_CELLS; i++)
	{
		u[i] = cells[1][i];
		v[i] = cells[2][i];
	}
	return true;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The colourfulness of a frame: how far from neutral (128, 128) the
 * chroma of the cells of a grid over it is (see CHROMA_GRID_W), at the
 * CHROMA_PERCENTILE of the cells: a colour scene mostly hidden by a grey
 * cover still shows colour in what is left.  0 for a grey-only pixel
 * format (GRAY8, YA8, a grey JPEG); -1 when it cannot be measured.
 */
static double
frame_chroma(const AVFrame *frame, const AVPixFmtDescriptor *desc)
{
	double		u[CHROMA_CELLS];
	double		v[CHROMA_CELLS];
	double		dist[CHROMA_CELLS];

	if (!(desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && desc->nb_components <= 2)
		return 0;
	if (!planar_chroma_cells(frame, desc, u, v) && !converted_chroma_cells(frame, u, v))
		return -1;
	for (int i = 0; i < CHROMA_CELLS; i++)
		dist[i] = sqrt((u[i] - 128.0) * (u[i] - 128.0) + (v[i] - 128.0) * (v[i] - 128.0));
	qsort(dist, CHROMA_CELLS, sizeof(double), cmp_double);
	return dist[(int) (CHROMA_CELLS * CHROMA_PERCENTILE)];
}

/*
 * Set img's lighting mode from the frame's colour: infrared when grey,
 * day when colourful or when the colour cannot be measured (the mode every
 * camera had before there were modes).
 */
static void
set_frame_mode(GreyImage *img, const AVFrame *frame, const AVPixFmtDescriptor *desc)
{
	double		chroma = frame_chroma(frame, desc);

	img->chroma = (float) chroma;
	img->mode = chroma >= 0 && chroma < CHROMA_IR_MAX ? CH_MODE_IR : CH_MODE_DAY;
}

/*
 * The focus map of the frame at its native resolution (focus.c), from its
 * luma plane as decoded, or from a grey copy of it at the same size when
 * it has none (RGB, palette).  Limited-range luma needs no stretching:
 * the map holds ratios, which a gain does not change.  Without a map
 * (out of memory, a tiny picture) the frame is judged on the analysis
 * image alone, as a reference from before 1.1 is.
 */
static void
attach_focus_map(GreyImage *img, const AVFrame *frame, int luma)
{
	struct SwsContext *sws;
	uint8_t    *dst[4] = {NULL};
	int			dst_stride[4] = {0};

	if (luma)
	{
		if (frame->linesize[0] >= frame->width)
			img->focus = focus_map_from_luma(frame->data[0], frame->linesize[0],
											 frame->width, frame->height);
		return;
	}
	sws = sws_getContext(frame->width, frame->height, (enum AVPixelFormat) frame->format,
						 frame->width, frame->height, AV_PIX_FMT_GRAY8,
						 SWS_POINT, NULL, NULL, NULL);
	dst[0] = sws ? malloc((size_t) frame->width * frame->height) : NULL;
	dst_stride[0] = frame->width;
	if (dst[0] && sws_scale(sws, (const uint8_t *const *) frame->data, frame->linesize,
							0, frame->height, dst, dst_stride) == frame->height)
		img->focus = focus_map_from_luma(dst[0], frame->width, frame->width, frame->height);
	free(dst[0]);
	sws_freeContext(sws);
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
	set_frame_mode(img, frame, desc);
	attach_focus_map(img, frame, luma);
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

/*
 * Refuse every resource a demuxer would open besides its input: no nested
 * opens at all, whatever the protocol.
 */
static int
refuse_nested_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
				   AVDictionary **options)
{
	(void) s;
	(void) pb;
	(void) url;
	(void) flags;
	(void) options;
	return AVERROR(EPERM);
}

int
frame_size_allowed(int width, int height, int64_t max_pixels, char *err, size_t errlen)
{
	if (width > 0 && height > 0 && (int64_t) width * height > max_pixels)
	{
		if (err && errlen)
			snprintf(err, errlen, "the picture is %dx%d, more than the limit of %lld pixels",
					 width, height, (long long) max_pixels);
		return 0;
	}
	return 1;
}

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t) p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[3] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[1] << 8 | p[0];
}

/*
 * The size a PNG, JPEG, GIF or BMP says it has, read from its header
 * before anything is decoded (for a clear refusal; the decoders' own
 * max_pixels stays the guard for every format).  False when unknown.
 */
static int
header_size(const uint8_t *d, size_t len, int64_t *w, int64_t *h)
{
	if (len >= 24 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0)
	{
		*w = be32(d + 16);
		*h = be32(d + 20);
		return 1;
	}
	if (len >= 10 && memcmp(d, "GIF8", 4) == 0)
	{
		*w = d[6] | d[7] << 8;
		*h = d[8] | d[9] << 8;
		return 1;
	}
	if (len >= 26 && d[0] == 'B' && d[1] == 'M')
	{
		*w = llabs((int64_t) (int32_t) le32(d + 18));
		*h = llabs((int64_t) (int32_t) le32(d + 22));
		return 1;
	}
	if (len >= 4 && d[0] == 0xFF && d[1] == 0xD8)
	{
		/* walk the markers to the first SOFn (C0..CF but C4, C8, CC) */
		for (size_t at = 2; at + 9 <= len;)
		{
			uint8_t		m;

			if (d[at] != 0xFF)
				return 0;
			m = d[at + 1];
			if (m == 0xFF)
			{
				at++;
				continue;
			}
			if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
			{
				*h = be16(d + at + 5);
				*w = be16(d + at + 7);
				return 1;
			}
			if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01)
				at += 2;
			else
				at += 2 + be16(d + at + 2);
		}
	}
	return 0;
}

/* One dictionary per stream with max_pixels, for avformat_find_stream_info. */
AVDictionary **
frame_probe_options(AVFormatContext *fmt, int64_t max_pixels)
{
	AVDictionary **opts = av_calloc(fmt->nb_streams ? fmt->nb_streams : 1, sizeof(*opts));

	for (unsigned i = 0; opts && i < fmt->nb_streams; i++)
		av_dict_set_int(&opts[i], "max_pixels", max_pixels, 0);
	return opts;
}

void
frame_free_probe_options(AVDictionary **opts, unsigned n)
{
	for (unsigned i = 0; opts && i < n; i++)
		av_dict_free(&opts[i]);
	av_free(opts);
}

/* Where the first picture's JPEG goes (jpeg.h), when one is wanted. */
typedef struct JpegOut
{
	uint8_t   **data;
	size_t	   *len;
	char	   *err;
	size_t		errlen;
} JpegOut;

/* Decode the first picture of an opened input (and its JPEG, if jpeg). */
static GreyImage *
decode_first_frame(AVFormatContext *fmt, int64_t max_pixels, const JpegOut *jpeg,
				   char *err, size_t errlen)
{
	AVDictionary **probe_opts;
	unsigned	nprobe;
	AVCodecParameters *par;
	const AVCodec *codec = NULL;
	AVCodecContext *dec = NULL;
	AVPacket   *pkt = NULL;
	AVFrame    *frm = NULL;
	GreyImage  *img = NULL;
	int			stream;
	int			ret;
	int			flushing = 0;

	/* probing decodes a picture: with the same limit */
	nprobe = fmt->nb_streams;
	probe_opts = frame_probe_options(fmt, max_pixels);
	if (probe_opts == NULL)
	{
		set_error(err, errlen, "out of memory", 0);
		return NULL;
	}
	ret = avformat_find_stream_info(fmt, probe_opts);
	frame_free_probe_options(probe_opts, nprobe);
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
	par = fmt->streams[stream]->codecpar;
	if (!frame_size_allowed(par->width, par->height, max_pixels, err, errlen))
		return NULL;
	if (fmt->codec_whitelist && av_match_list(codec->name, fmt->codec_whitelist, ',') <= 0)
	{
		set_error(err, errlen, "not an image format allowed here", 0);
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
	if ((ret = avcodec_parameters_to_context(dec, par)) < 0 ||
		(dec->thread_count = 1, dec->max_pixels = max_pixels,
		 ret = avcodec_open2(dec, codec, NULL)) < 0)
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
			if (!frame_size_allowed(frm->width, frm->height, max_pixels, err, errlen))
				break;
			img = frame_to_grey(frm);
			if (img == NULL)
				set_error(err, errlen, "cannot convert the picture", 0);
			else if (jpeg)
				*jpeg->data = jpeg_from_frame(frm, jpeg->len, jpeg->err, jpeg->errlen);
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

/*
 * Open src through an AVIOContext of ours and decode its first picture.
 * formats/codecs: whitelists (NULL: any); nested opens are always refused.
 */
static GreyImage *
decode_source(Source *src, const char *name, const char *formats, const char *codecs,
			  int64_t max_pixels, const JpegOut *jpeg, char *err, size_t errlen)
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
	fmt->io_open = refuse_nested_open;
	fmt->protocol_whitelist = av_strdup("none");
	fmt->format_whitelist = formats ? av_strdup(formats) : NULL;
	fmt->codec_whitelist = codecs ? av_strdup(codecs) : NULL;
	/* The name only hints the probe (by extension); nothing is opened by it. */
	ret = avformat_open_input(&fmt, name, NULL, NULL);
	if (ret < 0)
	{
		/* avformat_open_input frees fmt on failure */
		if (formats && ret == AVERROR(EINVAL))
			set_error(err, errlen, "not a still image (JPEG, PNG, BMP, WebP, GIF, PGM or PPM)", 0);
		else
			set_error(err, errlen, "not a recognised image", ret);
		goto done;
	}
	img = decode_first_frame(fmt, max_pixels, jpeg, err, errlen);

done:
	avformat_close_input(&fmt);
	if (avio)
	{
		av_freep(&avio->buffer);
		avio_context_free(&avio);
	}
	return img;
}

static GreyImage *
snapshot_decode(const uint8_t *data, size_t len, int64_t max_pixels, const JpegOut *jpeg,
				char *err, size_t errlen)
{
	Source		src = {data, len, 0, NULL};
	int64_t		w,
				h;

	if (data == NULL || len == 0)
	{
		set_error(err, errlen, "empty image", 0);
		return NULL;
	}
	if (header_size(data, len, &w, &h) && w > 0 && h > 0 && w * h > max_pixels)
	{
		if (err && errlen)
			snprintf(err, errlen, "the picture is %lldx%lld, more than the limit of %lld pixels",
					 (long long) w, (long long) h, (long long) max_pixels);
		return NULL;
	}
	return decode_source(&src, "", SNAPSHOT_FORMATS, SNAPSHOT_CODECS, max_pixels, jpeg, err, errlen);
}

GreyImage *
grey_from_snapshot(const uint8_t *data, size_t len, int64_t max_pixels, char *err, size_t errlen)
{
	return snapshot_decode(data, len, max_pixels, NULL, err, errlen);
}

GreyImage *
grey_from_snapshot_jpeg(const uint8_t *data, size_t len, int64_t max_pixels, uint8_t **jpeg,
						size_t *jpeg_len, char *jpeg_err, size_t jpeg_errlen, char *err, size_t errlen)
{
	JpegOut		out = {jpeg, jpeg_len, jpeg_err, jpeg_errlen};

	*jpeg = NULL;
	*jpeg_len = 0;
	return snapshot_decode(data, len, max_pixels, &out, err, errlen);
}

GreyImage *
grey_from_image_bytes(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	return grey_from_snapshot(data, len, FRAME_DEFAULT_MAX_PIXELS, err, errlen);
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
	img = decode_source(&src, path, NULL, NULL, FRAME_DEFAULT_MAX_PIXELS, NULL, err, errlen);
	fclose(src.file);
	return img;
}
