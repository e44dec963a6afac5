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

/*
 * Focus at the picture's native resolution, where fine detail still is
 * (the analysis image is too small to show a slight defocus): per tile of
 * a grid over the decoded luma plane, its fine detail over its coarse
 * contrast and the coarse contrast (see focus.c), as the 16-bit codes of
 * the serialised form (common/grey_format.h; 0: too flat to judge).
 */
#define FOCUS_GRID_X 16
#define FOCUS_GRID_Y 12

typedef struct FocusMap
{
	int			source_width;	/* the decoded picture's size */
	int			source_height;
	int			grid_x;			/* 1..CH_FOCUS_MAX_GRID */
	int			grid_y;
	uint16_t   *detail;			/* grid_x * grid_y codes, row-major */
	uint16_t   *contrast;
} FocusMap;

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
	FocusMap   *focus;			/* NULL: none (a reference from before
								 * 1.1, or a picture without a luma plane
								 * that could not be converted) */
} GreyImage;

/*
 * The focus map of a luma plane (width x height bytes, rows stride bytes
 * apart); NULL when it is too small to have one or out of memory.
 * focus_code and focus_value: a positive number to its 16-bit code and
 * back (0 for "none").
 */
extern FocusMap *focus_map_from_luma(const uint8_t *luma, int stride, int width, int height);
extern uint16_t focus_code(double v);
extern double focus_value(uint16_t code);

extern GreyImage *grey_new(int width, int height);
extern void grey_free(GreyImage *img);

extern FocusMap *focus_map_new(int source_width, int source_height, int grid_x, int grid_y);
extern void focus_map_free(FocusMap *map);

/*
 * Serialised form for Redis and PostgreSQL: "GREY <w> <h>\n" then w*h
 * bytes, then the focus map if there is one (common/grey_format.h).
 * grey_decode returns NULL for anything malformed; an image without a map
 * decodes with focus NULL.
 */
extern uint8_t *grey_encode(const GreyImage *img, size_t *len);
extern GreyImage *grey_decode(const uint8_t *data, size_t len);

#endif							/* VISIONPROC_IMAGE_H */
