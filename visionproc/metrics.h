/*
 * metrics.h
 *	  The image metrics behind vision_analyze (one file per metric) and the
 *	  image arithmetic they share (imgmath.c).  Internal to visionproc.
 *
 * Every metric compares a frame with the camera's reference frame, both
 * grey and of the same size, and fills a result struct with what it
 * measured, the thresholds it used and its verdict.  None keeps state
 * between calls.
 */
#ifndef VISIONPROC_METRICS_H
#define VISIONPROC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

/* ---- imgmath.c ---------------------------------------------------------- */

/* A float image, row-major, stride == width. */
typedef struct Plane
{
	int			width;
	int			height;
	float	   *v;
} Plane;

extern Plane *plane_new(int width, int height);
extern void plane_free(Plane *p);

/*
 * Standard deviation of white sensor noise, estimated from the median
 * response to a mask that cancels locally planar signal (Immerkaer's);
 * the median keeps edges and texture from passing for noise.
 */
extern double noise_sigma(const GreyImage *img);

/* An image of another size resampled (bilinear) to width x height. */
extern GreyImage *grey_resample(const GreyImage *img, int width, int height);

/*
 * A picture as the metrics use it, prepared once per analysis: the grey
 * image, its halved and quartered versions (2 x 2 and 4 x 4 averages), its
 * mean and its noise level.
 */
typedef struct Picture
{
	const GreyImage *grey;
	Plane	   *half;
	Plane	   *quarter;
	double		mean;			/* mean grey level */
	double		noise;			/* noise_sigma(grey) */
} Picture;

extern bool picture_init(Picture *pic, const GreyImage *img);
extern void picture_free(Picture *pic);

/*
 * Where the reference's content lies in the frame: a point p of the
 * reference appears at c + scale * R(angle) * (p - c) + (tx, ty), c being
 * the image centre and angle in radians (positive: clockwise on screen, as
 * y points down).
 */
typedef struct Similarity
{
	double		scale;
	double		angle;
	double		tx;
	double		ty;
} Similarity;

extern bool similarity_is_identity(const Similarity *t);
/* Root mean square distance moved by the points of a width x height frame. */
extern double similarity_rms_motion(const Similarity *t, int width, int height);

/*
 * Resample src into the geometry of the other image of the pair: with
 * to_frame, a reference as the frame sees it (out(q) = src(T^-1 q)),
 * else a frame brought back onto the reference (out(p) = src(T p)).
 * Pixels that fall outside src get fill, and 0 in valid (1 elsewhere) if
 * valid is given.
 */
extern Plane *plane_warp(const Plane *src, const Similarity *t, bool to_frame,
						 float fill, uint8_t *valid);

/* ---- blur.c ------------------------------------------------------------- */

typedef struct BlurResult
{
	bool		measurable;		/* enough structure in both to compare */
	bool		detected;
	double		sharpness;		/* frame's fine detail relative to the
								 * reference's, as an amplitude (1 = as
								 * sharp): the lesser of the two axes */
	double		sharpness_x;	/* along x (horizontal smear lowers it) */
	double		sharpness_y;
	int			blocks;			/* blocks compared */
	double		frame_noise;	/* noise sigma, grey levels */
	double		reference_noise;
	double		threshold;		/* detected when sharpness < threshold */
	/* at the native resolution, when both have a comparable focus map */
	bool		focus_measurable;
	double		focus_sharpness;	/* as sharpness, over the map's tiles */
	int			focus_tiles;	/* tiles compared */
	double		focus_threshold;	/* detected when focus_sharpness < it */
} BlurResult;

/*
 * ref_focus, frame_focus: the pictures' focus maps (image.h), or NULL;
 * with both, of the same source size, the native-resolution measure
 * judges too.
 */
extern void blur_measure(const Picture *ref, const Picture *frame, const FocusMap *ref_focus,
						 const FocusMap *frame_focus, BlurResult *res);

/* ---- obstruction.c ------------------------------------------------------ */

typedef struct ObstructionResult
{
	bool		detected;
	double		covered;		/* share of the reference's detailed blocks
								 * whose detail is gone */
	double		clipped;		/* share that went black or white with the
								 * whole picture's brightness (not counted) */
	double		dark;			/* share of the frame's blocks that are black */
	double		reference_dark;
	double		brightness;		/* mean grey level of the frame */
	double		reference_brightness;
	int			blocks;			/* detailed reference blocks compared */
	double		threshold;		/* detected when covered >= threshold */
	double		dark_threshold; /* or dark >= dark_threshold */
} ObstructionResult;

/*
 * align: where the reference lies in the frame (from displacement), so
 * that a camera that moved is not taken for a covered one; NULL for none.
 */
extern void obstruction_measure(const Picture *ref, const Picture *frame,
								const Similarity *align, ObstructionResult *res);

/* Share of a picture's blocks that hold detail (for choosing a reference). */
extern double detailed_share(const Picture *pic);

/* ---- displacement.c ----------------------------------------------------- */

typedef struct DisplacementResult
{
	bool		detected;
	bool		reliable;		/* confidence >= min_confidence */
	Similarity	transform;		/* reference -> frame, analysis pixels */
	double		dx;				/* translation of the picture centre, px */
	double		dy;
	double		shift;			/* hypot(dx / width, dy / height) */
	double		rotation;		/* degrees, positive clockwise */
	double		scale;			/* > 1: zoomed in */
	double		motion;			/* rms distance moved by the picture, px */
	double		confidence;		/* 0..1, from the correlation peak */
	double		peak;			/* phase correlation peak, 0..1 */
	double		threshold;		/* detected when motion >= threshold px */
	double		min_confidence;
} DisplacementResult;

/* Returns false if the FFT could not be set up (out of memory). */
extern bool displacement_measure(const Picture *ref, const Picture *frame,
								 DisplacementResult *res);

/* ---- frozen.c ----------------------------------------------------------- */

typedef struct FrozenResult
{
	bool		measurable;		/* enough texture to see a change */
	bool		detected;
	double		mean_difference;	/* mean |later - frame|, grey levels */
	double		changed;		/* share of textured pixels that changed
								 * beyond the noise floor */
	double		textured;		/* share of the frame with texture */
	double		noise_floor;	/* grey levels */
	double		threshold;		/* detected when changed < threshold */
	double		min_textured;
	int			pairs;			/* frame pairs compared (set by vision.c) */
} FrozenResult;

extern void frozen_measure(const GreyImage *frame, const GreyImage *later, FrozenResult *res);

/*
 * Does this pair of frames settle the frozen check on its own (hardly any
 * change, or plainly more than the threshold, or too little texture to
 * judge)?  Then the grab needs no further frame.
 */
extern bool frozen_pair_conclusive(const GreyImage *frame, const GreyImage *later);

#endif							/* VISIONPROC_METRICS_H */
