/*
 * vision.c
 *	  The vision analysis: runs the metrics on a frame against the camera's
 *	  reference and turns their verdicts into one JSON result.
 *
 * The metrics run in an order that lets one inform the next: the
 * displacement estimate first, so that obstruction compares the frame with
 * the reference where the reference's content now lies.  Then one cause is
 * reported once: when the lens is obstructed, what is left of the picture
 * says nothing reliable about focus or aim, so blur and displacement are
 * not raised (their measurements are still reported, with suppressed_by).
 * When the camera moved, the frame shows partly other content, resampled
 * if the view turned or zoomed: blur is then raised only on a clear loss
 * of detail (MOVED_SHARPNESS_THRESHOLD), not on the softening a resampled
 * view shows, so that a camera turned on its mount reads as moved, not as
 * moved and blurred.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "vision.h"

/* blur threshold while displacement is detected */
#define MOVED_SHARPNESS_THRESHOLD 0.5

/* vision_good_reference */
#define REF_MIN_BRIGHTNESS 20
#define REF_MAX_BRIGHTNESS 235
#define REF_MIN_DETAILED 0.15	/* share of blocks with detail */

/* A number with a fixed count of decimals (json-c would print 17 digits). */
static void
add_number(json_object *obj, const char *key, double value, int decimals)
{
	char		buf[64];

	if (!isfinite(value))
		value = 0;
	snprintf(buf, sizeof(buf), "%.*f", decimals, value);
	if (buf[0] == '-' && strtod(buf, NULL) == 0)
		memmove(buf, buf + 1, strlen(buf));
	json_object_object_add(obj, key, json_object_new_double_s(strtod(buf, NULL), buf));
}

static void
add_bool(json_object *obj, const char *key, bool value)
{
	json_object_object_add(obj, key, json_object_new_boolean(value));
}

static void
add_string(json_object *obj, const char *key, const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

static json_object *
blur_json(const BlurResult *b, const char *suppressed_by)
{
	json_object *o = json_object_new_object();
	char		msg[128];

	add_bool(o, "detected", b->detected && !suppressed_by);
	add_bool(o, "measurable", b->measurable);
	add_number(o, "sharpness", b->sharpness, 3);
	add_number(o, "threshold", b->threshold, 3);
	add_number(o, "sharpness_x", b->sharpness_x, 3);
	add_number(o, "sharpness_y", b->sharpness_y, 3);
	json_object_object_add(o, "blocks", json_object_new_int(b->blocks));
	add_number(o, "noise", b->frame_noise, 2);
	add_number(o, "reference_noise", b->reference_noise, 2);
	add_bool(o, "focus_measurable", b->focus_measurable);
	add_number(o, "focus_sharpness", b->focus_sharpness, 3);
	add_number(o, "focus_threshold", b->focus_threshold, 3);
	json_object_object_add(o, "focus_tiles", json_object_new_int(b->focus_tiles));
	if (b->detected && suppressed_by)
	{
		add_string(o, "suppressed_by", suppressed_by);
		if (strcmp(suppressed_by, "displacement") == 0)
			add_number(o, "threshold_when_moved", MOVED_SHARPNESS_THRESHOLD, 3);
	}
	else if (b->detected && !(b->measurable && b->sharpness < b->threshold))
	{
		/* only the focus map saw it: a slight defocus */
		snprintf(msg, sizeof(msg),
				 "the picture is slightly out of focus: fine detail at the camera's resolution %.0f%% of the reference",
				 100 * b->focus_sharpness);
		add_string(o, "message", msg);
	}
	else if (b->detected)
	{
		snprintf(msg, sizeof(msg), "the picture is out of focus: sharpness %.0f%% of the reference",
				 100 * b->sharpness);
		add_string(o, "message", msg);
	}
	return o;
}

static json_object *
obstruction_json(const ObstructionResult *r)
{
	json_object *o = json_object_new_object();
	char		msg[160];

	add_bool(o, "detected", r->detected);
	add_number(o, "covered", r->covered, 3);
	add_number(o, "threshold", r->threshold, 3);
	add_number(o, "clipped", r->clipped, 3);
	add_number(o, "dark", r->dark, 3);
	add_number(o, "dark_threshold", r->dark_threshold, 3);
	add_number(o, "reference_dark", r->reference_dark, 3);
	add_number(o, "brightness", r->brightness, 1);
	add_number(o, "reference_brightness", r->reference_brightness, 1);
	json_object_object_add(o, "blocks", json_object_new_int(r->blocks));
	if (r->detected)
	{
		if (r->covered < r->threshold)
			snprintf(msg, sizeof(msg), "the picture is dark: %.0f%% of it is near black",
					 100 * r->dark);
		else
			snprintf(msg, sizeof(msg),
					 "the view is obstructed: %.0f%% of the reference's detail is gone (covered, sprayed or dark)",
					 100 * r->covered);
		add_string(o, "message", msg);
	}
	return o;
}

static json_object *
displacement_json(const DisplacementResult *d, bool suppressed)
{
	json_object *o = json_object_new_object();
	char		msg[256];
	int			len;

	add_bool(o, "detected", d->detected && !suppressed);
	add_number(o, "dx", d->dx, 2);
	add_number(o, "dy", d->dy, 2);
	add_number(o, "shift", d->shift, 4);
	add_number(o, "rotation", d->rotation, 2);
	add_number(o, "scale", d->scale, 4);
	add_number(o, "motion_px", d->motion, 2);
	add_number(o, "threshold_px", d->threshold, 2);
	add_number(o, "confidence", d->confidence, 3);
	add_number(o, "min_confidence", d->min_confidence, 3);
	add_number(o, "peak", d->peak, 3);
	if (!d->reliable)
		add_string(o, "note", "the frame does not match the reference well enough to measure a move");
	if (d->detected && suppressed)
		add_string(o, "suppressed_by", "obstruction");
	else if (d->detected)
	{
		len = snprintf(msg, sizeof(msg), "the camera moved");
		if (hypot(d->dx, d->dy) >= 1)
			len += snprintf(msg + len, sizeof(msg) - len, ", the picture shifted %.0f px %s and %.0f px %s",
							fabs(d->dx), d->dx < 0 ? "left" : "right",
							fabs(d->dy), d->dy < 0 ? "up" : "down");
		if (fabs(d->rotation) >= 0.5)
			len += snprintf(msg + len, sizeof(msg) - len, ", turned %.1f degrees %s",
							fabs(d->rotation), d->rotation < 0 ? "anticlockwise" : "clockwise");
		if (fabs(d->scale - 1) >= 0.01)
			len += snprintf(msg + len, sizeof(msg) - len, ", zoomed %s %.2fx",
							d->scale > 1 ? "in" : "out", d->scale);
		snprintf(msg + len, sizeof(msg) - len, " (%.0f px on average)", d->motion);
		add_string(o, "message", msg);
	}
	return o;
}

static json_object *
frozen_json(const FrozenResult *f)
{
	json_object *o = json_object_new_object();
	char		msg[160];

	add_bool(o, "detected", f->detected);
	add_bool(o, "measurable", f->measurable);
	add_number(o, "changed", f->changed, 4);
	add_number(o, "threshold", f->threshold, 4);
	add_number(o, "mean_difference", f->mean_difference, 3);
	add_number(o, "noise_floor", f->noise_floor, 1);
	add_number(o, "textured", f->textured, 3);
	add_number(o, "min_textured", f->min_textured, 3);
	json_object_object_add(o, "pairs", json_object_new_int(f->pairs));
	if (f->detected)
	{
		snprintf(msg, sizeof(msg),
				 "the picture is frozen: at most %.1f%% of its detail changed between frames a second apart",
				 100 * f->changed);
		add_string(o, "message", msg);
	}
	return o;
}

/* img at the analysis size: img itself, or a resampled copy in *owned. */
static const GreyImage *
at_analysis_size(const GreyImage *img, GreyImage **owned)
{
	*owned = NULL;
	if (img->width == ANALYSIS_WIDTH && img->height == ANALYSIS_HEIGHT)
		return img;
	*owned = grey_resample(img, ANALYSIS_WIDTH, ANALYSIS_HEIGHT);
	return *owned;
}

static json_object *
error_result(const char *why)
{
	json_object *o = json_object_new_object();

	add_string(o, "error", why);
	add_string(o, "status", "error");
	return o;
}

/*
 * Frozen video over a sequence of frames: the least change between two
 * consecutive ones.  A live scene changes by sensor noise between any two
 * frames; a frozen picture re-encoded differs only by compression noise,
 * which comes and goes with the encoder's keyframes, so some pair of a few
 * is (nearly) the same even at coarse quality.
 */
static bool
frozen_over(const GreyImage *first, const VisionInput *in, GreyImage **own, FrozenResult *best)
{
	const GreyImage *prev = first;
	int			pairs = 0;

	for (int i = 0; i < in->nlater && i < VISION_MAX_LATER; i++)
	{
		const GreyImage *next;
		FrozenResult r;

		if (in->later[i] == NULL || in->later[i]->pixels == NULL)
			continue;
		if ((next = at_analysis_size(in->later[i], &own[i])) == NULL)
			return false;
		frozen_measure(prev, next, &r);
		if (pairs++ == 0 || (r.measurable && (!best->measurable || r.changed < best->changed)))
			*best = r;
		prev = next;
	}
	best->pairs = pairs;
	return true;
}

json_object *
vision_analyze(const VisionInput *in)
{
	GreyImage  *own_ref = NULL,
			   *own_frame = NULL,
			   *own_later[VISION_MAX_LATER] = {NULL};
	Picture		ref = {0},
				frame = {0};
	DisplacementResult disp;
	ObstructionResult obst;
	BlurResult	blur;
	FrozenResult frozen = {0};
	const char *blur_suppressed_by = NULL;
	json_object *result = NULL;
	bool		critical,
				warning;

	if (in == NULL || in->reference == NULL || in->frame == NULL ||
		in->reference->pixels == NULL || in->frame->pixels == NULL)
		return error_result("no frame or no reference to analyse");
	if (!picture_init(&ref, at_analysis_size(in->reference, &own_ref)) ||
		!picture_init(&frame, at_analysis_size(in->frame, &own_frame)) ||
		!displacement_measure(&ref, &frame, &disp) ||
		!frozen_over(frame.grey, in, own_later, &frozen))
		goto oom;

	obstruction_measure(&ref, &frame, disp.reliable ? &disp.transform : NULL, &obst);
	blur_measure(&ref, &frame, in->reference->focus, in->frame->focus, &blur);
	if (blur.detected && obst.detected)
		blur_suppressed_by = "obstruction";
	else if (blur.detected && disp.detected && blur.sharpness >= MOVED_SHARPNESS_THRESHOLD)
		blur_suppressed_by = "displacement";

	result = json_object_new_object();
	json_object_object_add(result, "blur", blur_json(&blur, blur_suppressed_by));
	json_object_object_add(result, "obstruction", obstruction_json(&obst));
	json_object_object_add(result, "displacement", displacement_json(&disp, obst.detected));
	if (frozen.pairs > 0)
		json_object_object_add(result, "frozen", frozen_json(&frozen));

	critical = obst.detected || (frozen.pairs > 0 && frozen.detected);
	warning = !obst.detected && (disp.detected || (blur.detected && !blur_suppressed_by));
	add_string(result, "status", critical ? "critical" : warning ? "warning" : "ok");

oom:
	picture_free(&ref);
	picture_free(&frame);
	grey_free(own_ref);
	grey_free(own_frame);
	for (int i = 0; i < VISION_MAX_LATER; i++)
		grey_free(own_later[i]);
	return result ? result : error_result("out of memory");
}

int
vision_good_reference(const GreyImage *frame, const char **reason)
{
	GreyImage  *own = NULL;
	Picture		pic = {0};
	double		mean;
	int			ok = 0;

	*reason = NULL;
	if (frame == NULL || frame->pixels == NULL || frame->width <= 0 || frame->height <= 0)
	{
		*reason = "no picture";
		return 0;
	}
	if (!picture_init(&pic, at_analysis_size(frame, &own)))
	{
		grey_free(own);
		*reason = "out of memory";
		return 0;
	}
	mean = pic.mean;
	if (mean < REF_MIN_BRIGHTNESS)
		*reason = "the picture is too dark";
	else if (mean > REF_MAX_BRIGHTNESS)
		*reason = "the picture is washed out (overexposed)";
	else if (detailed_share(&pic) < REF_MIN_DETAILED)
		*reason = "the picture has too little detail (uniform, covered or out of focus)";
	else
		ok = 1;
	picture_free(&pic);
	grey_free(own);
	return ok;
}
