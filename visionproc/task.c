/*
 * task.c
 *	  One vision task on a grab thread: grab the camera's frames, judge them
 *	  against its reference, build the result (see task.h).
 *
 * The first good frame of a camera becomes its reference; a reference in
 * Redis that does not parse (another version, a truncated write, a hostile
 * writer) counts as none, and the next good frame replaces it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grab.h"
#include "image.h"
#include "log.h"
#include "monotonic.h"
#include "task.h"
#include "url.h"
#include "vision.h"

static void
add_stream_facts(json_object *meta, const GrabResult *g)
{
	json_object *stream = json_object_new_object();

	json_object_object_add(stream, "codec", json_object_new_string(g->codec));
	json_object_object_add(stream, "width", json_object_new_int(g->width));
	json_object_object_add(stream, "height", json_object_new_int(g->height));
	json_object_object_add(stream, "first_frame_ms", json_object_new_double(g->first_frame_ms));
	if (g->nlater > 0)
	{
		json_object_object_add(stream, "later_frames", json_object_new_int(g->nlater));
		json_object_object_add(stream, "frames_span_ms", json_object_new_double(g->later_gap_ms));
		if (g->conclusive)
			json_object_object_add(stream, "settled_early", json_object_new_boolean(1));
	}
	json_object_object_add(meta, "stream", stream);
}

/*
 * The camera's reference of a lighting mode from what Redis held: NULL
 * when it had none, or one that does not parse (then *malformed).
 */
static GreyImage *
decode_reference(const VisionTask *t, int mode, bool *malformed)
{
	GreyImage  *ref = NULL;

	*malformed = false;
	if (t->ref_unreadable[mode])
		*malformed = true;
	else if (t->ref_bytes[mode] && (ref = grey_decode(t->ref_bytes[mode], t->ref_len[mode])) == NULL)
		*malformed = true;
	if (*malformed)
		vlog("reference:%s%s in Redis is malformed (%s, %zu bytes); the next good frame replaces it",
			 t->camera_id, ch_mode_key_suffix(mode), t->ref_unreadable[mode] ? "not a string" : "not a GREY image",
			 t->ref_len[mode]);
	if (ref)
		ref->mode = mode;
	return ref;
}

/* The analysis's status, one of ours whatever it says. */
static const char *
known_status(json_object *analysis)
{
	const char *status = json_object_get_string(json_object_object_get(analysis, "status"));

	if (status == NULL)
		return "error";			/* the analysis itself failed (out of memory...) */
	if (strcmp(status, "critical") == 0)
		return "critical";
	if (strcmp(status, "warning") == 0)
		return "warning";
	if (strcmp(status, "ok") == 0)
		return "ok";
	return "error";
}

/*
 * A camera without a reference of the frame's mode: a good frame becomes
 * it (judged against itself: a switch to night raises nothing); an unfit
 * one is judged against the other mode's reference, if any.  Returns the
 * reference to judge against, NULL when there is none (the frame is
 * unfit and the camera has no other).
 */
static GreyImage *
no_reference_yet(VisionTask *t, const GrabResult *g, json_object *refinfo, bool *taken)
{
	int			mode = g->frame->mode;
	const char *reason = NULL;
	bool		malformed;
	GreyImage  *other;

	*taken = false;
	if (vision_good_reference(g->frame, &reason))
	{
		t->new_ref = grey_encode(g->frame, &t->new_ref_len);
		t->new_ref_mode = mode;
		if (t->new_ref == NULL)
			vlog("task %s: out of memory encoding the reference", t->id);
		*taken = t->new_ref != NULL;
		json_object_object_add(refinfo, "taken", json_object_new_boolean(*taken));
		json_object_object_add(refinfo, "message", json_object_new_string(mode == CH_MODE_IR ?
																		  "a new ir reference frame was taken" :
																		  "a new day reference frame was taken"));
		return NULL;
	}
	json_object_object_add(refinfo, "taken", json_object_new_boolean(0));
	json_object_object_add(refinfo, "reason", json_object_new_string(reason ? reason : "unsuitable frame"));

	/*
	 * A black or uniformly covered picture has no colour: it looks infrared
	 * whatever the camera's mode.  Judged against the other mode's
	 * reference, a covered camera is still one.
	 */
	other = decode_reference(t, mode == CH_MODE_IR ? CH_MODE_DAY : CH_MODE_IR, &malformed);
	if (other)
		json_object_object_add(refinfo, "judged_against", json_object_new_string(ch_mode_name(other->mode)));
	return other;
}

/*
 * Analyse grabbed frames into meta; returns the status.  The frame is
 * judged against the reference of its own lighting mode (day, infrared);
 * a frame that becomes that mode's reference (it had none, or a malformed
 * one) is put in t->new_ref.
 */
static const char *
analyse(VisionTask *t, const GrabResult *g, json_object *meta)
{
	int			mode = g->frame->mode;
	bool		malformed;
	bool		taken = false;
	GreyImage  *ref = decode_reference(t, mode, &malformed);
	VisionInput in;
	json_object *analysis;
	json_object *refinfo = json_object_new_object();
	const char *status;

	t->replace_ref = malformed;
	json_object_object_add(meta, "mode", json_object_new_string(ch_mode_name(mode)));
	if (g->frame->chroma >= 0)
		json_object_object_add(meta, "chroma", json_object_new_double(g->frame->chroma));
	json_object_object_add(refinfo, "mode", json_object_new_string(ch_mode_name(mode)));
	if (malformed)
		json_object_object_add(refinfo, "replaced_malformed", json_object_new_boolean(1));
	if (ref == NULL && (ref = no_reference_yet(t, g, refinfo, &taken)) == NULL && !taken)
	{
		json_object_object_add(meta, "reference", refinfo);
		json_object_object_add(meta, "message",
							   json_object_new_string("no reference frame yet: the frames so far are unsuitable"));
		return "warning";
	}
	json_object_object_add(meta, "reference", refinfo);

	in.reference = ref ? ref : g->frame;
	in.frame = g->frame;
	in.nlater = g->nlater;
	for (int i = 0; i < g->nlater; i++)
		in.later[i] = g->later[i];
	analysis = vision_analyze(&in);
	grey_free(ref);

	status = known_status(analysis);
	json_object_object_foreach(analysis, key, val)
	{
		if (strcmp(key, "status") != 0)
			json_object_object_add(meta, key, json_object_get(val));
	}
	json_object_put(analysis);
	if (taken && json_object_object_get(meta, "message") == NULL)
		json_object_object_add(meta, "message", json_object_get(json_object_object_get(refinfo, "message")));
	return status;
}

/* A task's metadata of every result: who ran it, how late, how long. */
static void
add_task_facts(const VisionTask *t, json_object *meta, int64_t start)
{
	json_object_object_add(meta, "task_id", json_object_new_string(t->id));
	json_object_object_add(meta, "worker", json_object_new_string(t->consumer));
	if (t->agent)				/* a site agent's worker */
		json_object_object_add(meta, "agent", json_object_new_string(t->agent));
	if (t->claimed)
		json_object_object_add(meta, "claimed", json_object_new_boolean(1));
	json_object_object_add(meta, "lateness_ms", json_object_new_int64(start - t->due_ms));
	json_object_object_add(meta, "duration_ms", json_object_new_int64(epoch_ms() - start));
}

static json_object *
new_result(int64_t camera_id, int64_t checked_ms, const char *status, json_object *meta)
{
	json_object *result = json_object_new_object();

	json_object_object_add(result, "camera_id", json_object_new_int64(camera_id));
	json_object_object_add(result, "check_type", json_object_new_string("vision"));
	json_object_object_add(result, "checked_ms", json_object_new_int64(checked_ms));
	json_object_object_add(result, "status", json_object_new_string(status));
	json_object_object_add(result, "metadata", meta);
	return result;
}

json_object *
task_error_result(const VisionTask *t, int64_t start_ms, const char *stage, const char *msg)
{
	json_object *meta = json_object_new_object();

	json_object_object_add(meta, "stage", json_object_new_string(stage));
	json_object_object_add(meta, "error", json_object_new_string(msg));
	json_object_object_add(meta, "message", json_object_new_string(msg));
	add_task_facts(t, meta, start_ms);
	return new_result(t->camera, start_ms, "error", meta);
}

void
task_run(VisionTask *t, const VisionConfig *cfg, volatile sig_atomic_t *stop)
{
	GrabOptions opt = {cfg->grab_timeout_ms, cfg->io_timeout_ms, cfg->frozen_gap_ms,
	cfg->frozen_frames, stop, cfg->max_pixels, cfg->allow_files};
	GrabResult	g;
	json_object *meta = json_object_new_object();
	const char *status;
	char		masked[MASK_SECRETS_BUFSIZE(CAMERA_URL_MAX_LEN)];

	t->start_ms = epoch_ms();
	mask_url_secrets(t->url, masked);
	json_object_object_add(meta, "url", json_object_new_string(masked));
	if (grab_frames(t->url, &opt, &g) != 0)
	{
		if (*stop)
		{
			/* shutting down: leave the task pending for another worker */
			grab_result_free(&g);
			json_object_put(meta);
			return;
		}
		status = "error";
		json_object_object_add(meta, "stage", json_object_new_string(g.stage));
		json_object_object_add(meta, "error", json_object_new_string(g.error));
		json_object_object_add(meta, "message", json_object_new_string(g.error));
	}
	else
	{
		add_stream_facts(meta, &g);
		if (g.jpeg == NULL)
			json_object_object_add(meta, "picture_error", json_object_new_string(g.jpeg_error));
		status = analyse(t, &g, meta);
		/* the picture goes with the result */
		t->jpeg = g.jpeg;
		t->jpeg_len = g.jpeg_len;
		g.jpeg = NULL;
	}
	add_task_facts(t, meta, t->start_ms);
	t->result = new_result(t->camera, t->start_ms, status, meta);
	grab_result_free(&g);
}

void
task_free(VisionTask *t)
{
	if (t == NULL)
		return;
	free(t->url);
	for (int m = 0; m < CH_MODE_COUNT; m++)
		free(t->ref_bytes[m]);
	free(t->new_ref);
	free(t->jpeg);
	if (t->result)
		json_object_put(t->result);
	free(t);
}
