/*
 * worker.c
 *	  A visionproc worker process: takes vision tasks from queue:vision
 *	  (consumer group "visionproc"), grabs frames, analyses them against
 *	  the camera's reference and posts the result to results:vision.
 *
 * A task stays pending until its result is posted.  A worker that dies
 * mid-task leaves it pending; any worker (of any visionproc on any host)
 * takes it over with XAUTOCLAIM once it has been idle for --claim-idle.
 * A task handed out MAX_DELIVERIES times without a result (its workers
 * died each time: FFmpeg crashing on that stream?) is given up with an
 * error result rather than crash workers forever.
 *
 * The first good frame of a camera becomes its reference: it is set in
 * Redis at once (reference:{id}, so that the next task compares with it)
 * and travels with the result to the ingest worker, which stores it in
 * PostgreSQL, the source of truth.  A reference in Redis that does not
 * parse (another version, a truncated write, a hostile writer) counts as
 * none: the next good frame replaces it (SET, not NX) and travels with the
 * result.
 *
 * Everything read from Redis is checked before use (common/redis_reply.h):
 * replies of the wrong type or size are dropped, and a task whose fields do
 * not parse, or whose URL is not a camera URL (camera_url_is_valid, the
 * check the database makes), is refused without opening anything:
 * acknowledged, logged and, when its camera id is valid, answered with an
 * error result (stage "refused").
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "grab.h"
#include "log.h"
#include "redis_reply.h"
#include "url.h"
#include "vision.h"
#include "vredis.h"

#define READ_BLOCK_MS "1000"
#define CLAIM_EVERY_MS 2000
#define MIN_EXPIRY_MS 60000
#define RESULTS_MAXLEN "100000"
#define MAX_ENTRIES 64			/* we ask for COUNT 1: more is a broken reply */
#define CAMERA_ID_MAX 64
#define NUMBER_MAX 32
#define MAX_DELIVERIES 3		/* a task whose workers died this often is given up */

typedef enum RefState
{
	REF_NONE,					/* no reference yet */
	REF_OK,
	REF_MALFORMED				/* a value that does not parse: replace it */
} RefState;

typedef struct Worker
{
	const VisionConfig *cfg;
	volatile sig_atomic_t *stop;
	VRedis		redis;
	char		consumer[128];
	char		queue_key[VISION_KEY_MAX];	/* the queue read now: cfg->vision_queues */
	char		results_key[256];
	bool		bad_reply_logged;	/* one log line per run for malformed replies */
} Worker;

/* A reply of an unexpected shape: logged once, then dropped silently. */
static void
bad_reply(Worker *w, const char *what)
{
	if (!w->bad_reply_logged)
		vlog("dropping a malformed Redis reply to %s (further ones are not logged)", what);
	w->bad_reply_logged = true;
}

static int64_t
epoch_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
run(Worker *w, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply = vredis_cmdv(&w->redis, argc, argv, lens);

	if (reply)
		freeReplyObject(reply);
}

/* Done with a task: acknowledge and delete it. */
static void
finish_task(Worker *w, const char *id)
{
	const char *ack[] = {"XACK", w->queue_key, "visionproc", id};
	const char *del[] = {"XDEL", w->queue_key, id};

	run(w, 4, ack, NULL);
	run(w, 3, del, NULL);
}

/*
 * The camera's reference from Redis into *ref: REF_OK, REF_NONE (none yet,
 * or Redis unavailable: the frame is judged against itself) or
 * REF_MALFORMED (a value that is not a reference: replaced by the next good
 * frame).
 */
static RefState
load_reference(Worker *w, const char *camera_id, GreyImage **ref)
{
	char		key[256];
	const char *argv[] = {"GET", vredis_key(&w->redis, key, sizeof(key), "reference:%s", camera_id)};
	redisReply *reply = vredis_cmdv(&w->redis, 2, argv, NULL);
	const char *bytes;
	size_t		len = 0;
	RefState	state = REF_NONE;

	*ref = NULL;
	if (reply == NULL || reply->type == REDIS_REPLY_NIL ||
		(reply->type == REDIS_REPLY_ERROR && !vredis_is_error(reply, "WRONGTYPE")))
		state = REF_NONE;		/* none, or Redis in trouble: nothing to replace */
	else if ((bytes = ch_reply_str(reply, SIZE_MAX, &len)) != NULL &&
			 reply->type == REDIS_REPLY_STRING &&
			 (*ref = grey_decode((const uint8_t *) bytes, len)) != NULL)
		state = REF_OK;
	else
	{
		vlog("reference:%s in Redis is malformed (%s, %zu bytes); the next good frame replaces it",
			 camera_id, reply->type == REDIS_REPLY_STRING ? "not a GREY image" : "not a string", len);
		state = REF_MALFORMED;
	}
	if (reply)
		freeReplyObject(reply);
	return state;
}

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
	}
	json_object_object_add(meta, "stream", stream);
}

/*
 * Analyse grabbed frames into meta; returns the status.  *new_ref is set
 * to the frame that becomes the camera's reference, if it had none (or a
 * malformed one: then *replace is set).
 */
static const char *
analyse(Worker *w, const char *camera_id, const GrabResult *g, json_object *meta,
		GreyImage **new_ref, bool *replace)
{
	GreyImage  *ref = NULL;
	RefState	state = load_reference(w, camera_id, &ref);
	VisionInput in;
	json_object *analysis;
	json_object *refinfo = json_object_new_object();
	const char *status;

	*new_ref = NULL;
	*replace = state == REF_MALFORMED;
	if (*replace)
		json_object_object_add(refinfo, "replaced_malformed", json_object_new_boolean(1));
	if (ref == NULL)
	{
		const char *reason = NULL;

		if (!vision_good_reference(g->frame, &reason))
		{
			json_object_object_add(refinfo, "taken", json_object_new_boolean(0));
			json_object_object_add(refinfo, "reason", json_object_new_string(reason ? reason : "unsuitable frame"));
			json_object_object_add(meta, "reference", refinfo);
			json_object_object_add(meta, "message",
								   json_object_new_string("no reference frame yet: the frames so far are unsuitable"));
			return "warning";
		}
		*new_ref = g->frame;
		json_object_object_add(refinfo, "taken", json_object_new_boolean(1));
	}
	json_object_object_add(meta, "reference", refinfo);

	in.reference = ref ? ref : g->frame;
	in.frame = g->frame;
	in.nlater = g->nlater;
	for (int i = 0; i < g->nlater; i++)
		in.later[i] = g->later[i];
	analysis = vision_analyze(&in);
	grey_free(ref);

	status = json_object_get_string(json_object_object_get(analysis, "status"));
	if (status == NULL || (strcmp(status, "ok") != 0 && strcmp(status, "warning") != 0 &&
						   strcmp(status, "critical") != 0))
		status = "error";		/* the analysis itself failed (out of memory...) */
	else
		status = strcmp(status, "critical") == 0 ? "critical" : strcmp(status, "warning") == 0 ? "warning" : "ok";
	json_object_object_foreach(analysis, key, val)
	{
		if (strcmp(key, "status") != 0)
			json_object_object_add(meta, key, json_object_get(val));
	}
	json_object_put(analysis);
	return status;
}

/*
 * Post the result (and a new reference) then release the task.  A new
 * reference is set with NX (the first one wins when two workers take one
 * at once) unless it replaces a malformed value.
 */
static void
post_result(Worker *w, const char *id, const char *camera_id, json_object *result,
			const GreyImage *new_ref, bool replace)
{
	const char *json = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
	const char *argv[12] = {"XADD", w->results_key, "MAXLEN", "~", RESULTS_MAXLEN, "*", "r", json};
	size_t		lens[12] = {4, strlen(w->results_key), 6, 1, strlen(RESULTS_MAXLEN), 1, 1, strlen(json)};
	int			argc = 8;
	uint8_t    *ref_bytes = NULL;
	size_t		ref_len = 0;
	redisReply *reply;

	if (new_ref)
	{
		char		key[256];
		const char *set[] = {"SET", vredis_key(&w->redis, key, sizeof(key), "reference:%s", camera_id),
		NULL, "NX"};
		size_t		setlens[4];

		ref_bytes = grey_encode(new_ref, &ref_len);
		if (ref_bytes == NULL)
		{
			vlog("task %s: out of memory encoding the reference", id);
			return;				/* stays pending: run again */
		}
		set[2] = (const char *) ref_bytes;
		setlens[0] = 3;
		setlens[1] = strlen(key);
		setlens[2] = ref_len;
		setlens[3] = 2;
		run(w, replace ? 3 : 4, set, setlens);
		argv[argc] = "camera_id";
		lens[argc++] = 9;
		argv[argc] = camera_id;
		lens[argc++] = strlen(camera_id);
		argv[argc] = "ref";
		lens[argc++] = 3;
		argv[argc] = (const char *) ref_bytes;
		lens[argc++] = ref_len;
	}
	reply = vredis_cmdv(&w->redis, argc, argv, lens);
	free(ref_bytes);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
	{
		const char *why = vredis_error_text(reply);

		/* the task stays pending: it is taken over and run again */
		vlog("posting the result of task %s failed%s%s", id, why ? ": " : "", why ? why : "");
		if (reply)
			freeReplyObject(reply);
		return;
	}
	freeReplyObject(reply);
	finish_task(w, id);
}

/* A task's metadata of every result: who ran it, how late, how long. */
static void
add_task_facts(Worker *w, json_object *meta, const char *id, bool claimed, int64_t start, int64_t due)
{
	json_object_object_add(meta, "task_id", json_object_new_string(id));
	json_object_object_add(meta, "worker", json_object_new_string(w->consumer));
	if (w->cfg->agent_name)		/* a site agent's worker */
		json_object_object_add(meta, "agent", json_object_new_string(w->cfg->agent_name));
	if (claimed)
		json_object_object_add(meta, "claimed", json_object_new_boolean(1));
	json_object_object_add(meta, "lateness_ms", json_object_new_int64(start - due));
	json_object_object_add(meta, "duration_ms", json_object_new_int64(epoch_ms() - start));
}

static json_object *
new_result(int64_t camera_id, int64_t checked_ms)
{
	json_object *result = json_object_new_object();

	json_object_object_add(result, "camera_id", json_object_new_int64(camera_id));
	json_object_object_add(result, "check_type", json_object_new_string("vision"));
	json_object_object_add(result, "checked_ms", json_object_new_int64(checked_ms));
	return result;
}

/*
 * Answer a task with an error and no grab: the camera gets an error
 * result with this stage and message, and the task is done.
 */
static void
give_up_task(Worker *w, const char *id, int64_t camera, bool claimed, int64_t start,
			 int64_t due, const char *stage, const char *msg)
{
	json_object *result = new_result(camera, start);
	json_object *meta = json_object_new_object();

	vlog("task %s of camera %" PRId64 ": %s; nothing opened", id, camera, msg);
	json_object_object_add(meta, "stage", json_object_new_string(stage));
	json_object_object_add(meta, "error", json_object_new_string(msg));
	json_object_object_add(meta, "message", json_object_new_string(msg));
	add_task_facts(w, meta, id, claimed, start, due);
	json_object_object_add(result, "status", json_object_new_string("error"));
	json_object_object_add(result, "metadata", meta);
	post_result(w, id, NULL, result, NULL, false);
	json_object_put(result);
}

/*
 * How many times a pending task was handed out (XPENDING's delivery
 * count), or -1 when Redis does not say.
 */
static long long
deliveries(Worker *w, const char *id)
{
	const char *argv[] = {"XPENDING", w->queue_key, "visionproc", id, id, "1"};
	redisReply *reply = vredis_cmdv(&w->redis, 6, argv, NULL);
	const redisReply *entry = ch_reply_elem(reply, 0);
	long long	n = -1;

	/* [[id, consumer, idle ms, deliveries]] */
	if (!ch_reply_is_array(reply, 1, 1) || !ch_reply_is_array(entry, 4, 4) ||
		!ch_reply_int(ch_reply_elem(entry, 3), 0, LLONG_MAX, &n))
		n = -1;
	if (reply)
		freeReplyObject(reply);
	return n;
}

static void
process_task(Worker *w, const char *id, const redisReply *fields, bool claimed)
{
	const char *camera_id = ch_stream_field(fields, "camera_id", CAMERA_ID_MAX, NULL);
	size_t		url_len = 0;
	const char *url = ch_stream_field(fields, "url", CAMERA_URL_MAX_LEN, &url_len);
	const char *due_s = ch_stream_field(fields, "due_ms", NUMBER_MAX, NULL);
	const char *interval_s = ch_stream_field(fields, "interval_ms", NUMBER_MAX, NULL);
	int64_t		start = epoch_ms();
	int64_t		camera,
				due,
				interval;
	GrabOptions opt = {w->cfg->grab_timeout_ms, w->cfg->io_timeout_ms, w->cfg->frozen_gap_ms,
	w->cfg->frozen_frames, w->stop, w->cfg->max_pixels, w->cfg->allow_files};
	GrabResult	g;
	json_object *result;
	json_object *meta;
	const char *status;
	const char *reason = NULL;
	GreyImage  *new_ref = NULL;
	bool		replace = false;
	char		masked[MASK_SECRETS_BUFSIZE(CAMERA_URL_MAX_LEN)];

	/* hiredis NUL-terminates values; one with a NUL of its own is refused */
	if (!camera_id || !url || !due_s || !interval_s ||
		strlen(url) != url_len ||
		!ch_parse_int64(camera_id, 1, INT64_MAX, &camera) ||
		!ch_parse_int64(due_s, 0, INT64_MAX / 2, &due) ||
		!ch_parse_int64(interval_s, 0, INT64_MAX / 2, &interval))
	{
		vlog("dropping malformed task %s", id);
		finish_task(w, id);
		return;
	}
	/* a newer task of this camera is due already */
	if (start - due > (interval > MIN_EXPIRY_MS ? interval : MIN_EXPIRY_MS))
	{
		finish_task(w, id);
		return;
	}
	if (!grab_url_allowed(url, w->cfg->allow_files, &reason))
	{
		char		msg[256];

		snprintf(msg, sizeof(msg), "refused URL: %s", reason ? reason : "not a camera URL");
		give_up_task(w, id, camera, claimed, start, due, "refused", msg);
		return;
	}
	/* a task whose workers keep dying (a crash on this stream) is not run forever */
	if (claimed && deliveries(w, id) > MAX_DELIVERIES)
	{
		char		msg[256];

		snprintf(msg, sizeof(msg), "given up: the task was run %d times and each time its worker died",
				 MAX_DELIVERIES);
		give_up_task(w, id, camera, claimed, start, due, "abandoned", msg);
		return;
	}

	result = new_result(camera, start);
	meta = json_object_new_object();
	mask_url_secrets(url, masked);
	json_object_object_add(meta, "url", json_object_new_string(masked));

	if (grab_frames(url, &opt, &g) != 0)
	{
		if (*w->stop)
		{
			/* shutting down: leave the task pending for another worker */
			grab_result_free(&g);
			json_object_put(result);
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
		status = analyse(w, camera_id, &g, meta, &new_ref, &replace);
	}
	add_task_facts(w, meta, id, claimed, start, due);
	json_object_object_add(result, "status", json_object_new_string(status));
	json_object_object_add(result, "metadata", meta);

	post_result(w, id, camera_id, result, new_ref, replace);
	json_object_put(result);
	grab_result_free(&g);
}

/* Run the tasks of an entry list: [[id, [field, value...]], ...] */
static void
process_entries(Worker *w, const redisReply *entries, bool claimed)
{
	if (!ch_reply_is_array(entries, 0, MAX_ENTRIES))
	{
		bad_reply(w, "a stream read (entries)");
		return;
	}
	for (size_t i = 0; i < entries->elements && !*w->stop; i++)
	{
		const char *id;
		const redisReply *fields;

		if (!ch_stream_entry(ch_reply_elem(entries, i), &id, &fields))
		{
			bad_reply(w, "a stream read (entry)");
			if (id)
				finish_task(w, id); /* unreadable: never retried */
			continue;
		}
		if (fields == NULL)
			finish_task(w, id); /* trimmed while pending */
		else
			process_task(w, id, fields, claimed);
	}
}

/* Take over one task left pending too long by a worker that died. */
static void
claim_stale(Worker *w)
{
	char		idle[16];
	const char *argv[] = {"XAUTOCLAIM", w->queue_key, "visionproc", w->consumer, idle, "0-0", "COUNT", "1"};
	redisReply *reply;

	snprintf(idle, sizeof(idle), "%d", w->cfg->claim_idle_ms);
	reply = vredis_cmdv(&w->redis, 8, argv, NULL);
	/* [next id, entries] and, since Redis 7, [deleted ids] */
	if (ch_reply_is_array(reply, 2, 3))
		process_entries(w, ch_reply_elem(reply, 1), true);
	else if (reply && reply->type != REDIS_REPLY_ERROR)
		bad_reply(w, "XAUTOCLAIM");
	if (reply)
		freeReplyObject(reply);
}

static void
read_new(Worker *w)
{
	const char *argv[] = {"XREADGROUP", "GROUP", "visionproc", w->consumer, "COUNT", "1",
	"BLOCK", READ_BLOCK_MS, "STREAMS", w->queue_key, ">"};
	redisReply *reply = vredis_cmdv(&w->redis, 11, argv, NULL);

	if (vredis_is_error(reply, "NOGROUP"))
	{
		const char *create[] = {"XGROUP", "CREATE", w->queue_key, "visionproc", "$", "MKSTREAM"};

		run(w, 6, create, NULL);
	}
	else if (reply == NULL || reply->type == REDIS_REPLY_NIL || reply->type == REDIS_REPLY_ERROR)
		;						/* nothing new, or logged by vredis */
	else if (ch_reply_is_array(reply, 1, 1) && ch_reply_is_array(ch_reply_elem(reply, 0), 2, 2))
		process_entries(w, ch_reply_elem(ch_reply_elem(reply, 0), 1), false);
	else
		bad_reply(w, "XREADGROUP");
	if (reply)
		freeReplyObject(reply);
}

/*
 * On a clean exit, leave the consumer group if we hold no task (a pending
 * task must stay, to be claimed by another worker).  Consumers of workers
 * that were killed remain listed, idle and empty; they cost nothing.
 */
static void
forget_consumer(Worker *w)
{
	const char *pending[] = {"XPENDING", w->queue_key, "visionproc", "-", "+", "1", w->consumer};
	redisReply *reply = vredis_cmdv(&w->redis, 7, pending, NULL);

	if (ch_reply_is_array(reply, 0, 0))
	{
		const char *del[] = {"XGROUP", "DELCONSUMER", w->queue_key, "visionproc", w->consumer};

		run(w, 5, del, NULL);
	}
	if (reply)
		freeReplyObject(reply);
}

/*
 * Bound this worker's address space: a decoder that runs away (a hostile
 * stream, a bug in FFmpeg) gets NULL from malloc and fails its grab; it
 * cannot take the host's memory.
 */
static void
limit_memory(const VisionConfig *cfg)
{
	struct rlimit rl;

	if (cfg->max_memory_mb <= 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t) cfg->max_memory_mb * 1024 * 1024;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		vlog("cannot limit the worker's memory to %d MB: %s", cfg->max_memory_mb, strerror(errno));
}

int
worker_main(const VisionConfig *cfg, volatile sig_atomic_t *stop)
{
	Worker		w;
	const char *reason;
	char		host[64];
	int64_t		next_claim = 0;
	int			turn = 0;

	memset(&w, 0, sizeof(w));
	limit_memory(cfg);
	w.cfg = cfg;
	w.stop = stop;
	if (!vredis_init(&w.redis, cfg->redis_url, cfg->key_prefix, &reason))
	{
		vlog("invalid Redis URL: %s", reason);
		return 2;
	}
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(w.consumer, sizeof(w.consumer), "%s-%d", host, (int) getpid());
	vredis_key(&w.redis, w.results_key, sizeof(w.results_key), "results:vision");

	while (!*stop)
	{
		if (!vredis_up(&w.redis))
		{
			usleep(100 * 1000);
			continue;
		}
		/* the queues in turn (one, or a site agent's sites): each is claimed from */
		vredis_key(&w.redis, w.queue_key, sizeof(w.queue_key), "%s", cfg->vision_queues[turn]);
		turn = (turn + 1) % cfg->nvision_queues;
		if (epoch_ms() >= next_claim || cfg->nvision_queues > 1)
		{
			claim_stale(&w);
			next_claim = epoch_ms() + CLAIM_EVERY_MS;
		}
		read_new(&w);
	}
	for (int q = 0; q < cfg->nvision_queues; q++)
	{
		vredis_key(&w.redis, w.queue_key, sizeof(w.queue_key), "%s", cfg->vision_queues[q]);
		forget_consumer(&w);
	}
	if (w.redis.ctx)
		redisFree(w.redis.ctx);
	return 0;
}
