/*
 * task.h
 *	  One vision task: what the worker's main thread read from Redis, and
 *	  what a grab thread made of it (the result to post, a new reference).
 *
 * The split is the thread boundary: everything that talks to Redis happens
 * on the worker's main thread before task_run (the task's fields, the
 * camera's reference) and after it (posting the result); task_run itself
 * opens nothing but the camera.
 */
#ifndef VISIONPROC_TASK_H
#define VISIONPROC_TASK_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "camera_mode.h"
#include "config.h"

#define TASK_ID_MAX 64			/* a stream entry id: "<ms>-<seq>" */
#define TASK_CAMERA_ID_MAX 64

typedef struct VisionTask
{
	/* from the task entry (checked by the worker) */
	char		id[TASK_ID_MAX + 1];
	char		camera_id[TASK_CAMERA_ID_MAX + 1];
	int64_t		camera;
	int64_t		due_ms;
	char	   *url;			/* malloc'd */
	int			queue;			/* which of the worker's queues it came from */
	bool		claimed;		/* taken over from a worker that died */
	const char *consumer;		/* the worker's name, for the result */
	const char *agent;			/* the site agent's name (--agent-name), or NULL */

	/* the camera's references, one per lighting mode, as Redis holds them */
	uint8_t    *ref_bytes[CH_MODE_COUNT];	/* malloc'd copy of the value, or NULL */
	size_t		ref_len[CH_MODE_COUNT];
	bool		ref_unreadable[CH_MODE_COUNT];	/* a value that is not a string */

	/* set by task_run */
	int64_t		start_ms;		/* when the grab started */
	struct json_object *result; /* NULL: leave the task pending (shutdown) */
	uint8_t    *new_ref;		/* GREY bytes of a frame that becomes the reference */
	size_t		new_ref_len;
	int			new_ref_mode;	/* ... of this mode */
	bool		replace_ref;	/* it replaces a malformed value (SET, not SET NX) */
	uint8_t    *jpeg;			/* the analysed frame's picture (jpeg.h), or NULL */
	size_t		jpeg_len;
} VisionTask;

/* Grab and analyse: fills result and new_ref.  Thread-safe. */
extern void task_run(VisionTask *t, const VisionConfig *cfg, volatile sig_atomic_t *stop);

/* An error result for a task answered without a grab (refused, abandoned). */
extern struct json_object *task_error_result(const VisionTask *t, int64_t start_ms,
											 const char *stage, const char *msg);

extern void task_free(VisionTask *t);

#endif							/* VISIONPROC_TASK_H */
