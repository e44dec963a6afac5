/*
 * image.h
 *	  The grey analysis image every vision metric works on.  Plain C.
 */
#ifndef VISIONPROC_IMAGE_H
#define VISIONPROC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every frame is converted to 8-bit grey at one fixed analysis size (the
 * aspect ratio is not kept: a reference and a frame of the same camera are
 * always comparable pixel for pixel).
 */
#define ANALYSIS_WIDTH 320
#define ANALYSIS_HEIGHT 240

typedef struct GreyImage
{
	int			width;
	int			height;
	uint8_t    *pixels;			/* row-major, stride == width */
	/*
	 * The lighting mode the picture was taken in (ChCameraMode of
	 * common/camera_mode.h: CH_MODE_DAY or CH_MODE_IR), from its
	 * colourfulness (frame_to_grey); not part of the serialised form, where
	 * the mode is that of the key or row holding it.  chroma: the measure
	 * (frame.c), -1 when not measured.
	 */
	int			mode;
	float		chroma;
} GreyImage;

extern GreyImage *grey_new(int width, int height);
extern void grey_free(GreyImage *img);

/*
 * Serialised form for Redis and PostgreSQL: "GREY <w> <h>\n" then w*h
 * bytes.  grey_decode returns NULL for anything malformed.
 */
extern uint8_t *grey_encode(const GreyImage *img, size_t *len);
extern GreyImage *grey_decode(const uint8_t *data, size_t len);

#endif							/* VISIONPROC_IMAGE_H */
