/*
 * worker.c
 *	  A visionproc worker process: takes vision tasks from queue:vision
 *	  (consumer group "visionproc"), runs many of them at once on its grab
 *	  threads (pool.h, task.h) and posts each result to results:vision.
 *
 * This file is the worker's main thread, the only one that talks to Redis:
 * it reads as many tasks as it has idle grab threads, hands each one its
 * camera's reference, and posts the results as the threads finish them.
 *
 * A task stays pending until its result is posted.  A worker that dies
 * mid-task (a crash in FFmpeg takes all its in-flight tasks with it) leaves
 * them pending; any worker (of any visionproc on any host) takes them over
 * with XAUTOCLAIM once they have been idle for --claim-idle.  A task handed
 * out MAX_DELIVERIES times without a result (its workers died each time:
 * FFmpeg crashing on that stream?) is given up with an error result rather
 * than crash workers forever.
 *
 * The first good frame of a camera becomes its reference: it is set in
 * Redis at once (reference:{id}, so that the next task compares with it)
 * and travels with the result to the ingest worker, which stores it in
 * PostgreSQL, the source of truth.  There is one reference per lighting
 * mode (common/camera_mode.h): a frame is judged against the reference of
 * its own mode (frame.c tells colour from infrared), and the first good
 * frame of a mode becomes that mode's (reference:{id}:ir, field ref_mode of
 * the result).  Both are fetched before the grab, since the mode is known
 * only after it.
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
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "grab.h"
#include "log.h"
#include "monotonic.h"
#include "pool.h"
#include "redis_reply.h"
#include "task.h"
#include "url.h"
#include "vredis.h"

#define READ_BLOCK_MS 1000		/* waiting for tasks with nothing in flight */
#define BUSY_BLOCK_MS 100		/* ... and with grabs running, whose results wait */
#define CLAIM_EVERY_MS 2000
#define MIN_EXPIRY_MS 60000
#define RESULTS_MAXLEN "100000"
#define MAX_READ 256			/* the most tasks asked for at once */
#define NUMBER_MAX 32
#define MAX_DELIVERIES 3		/* a task whose workers died this often is given up */
#define THREAD_STACK_KB 2048	/* FFmpeg's decoders need far less; a little margin */

typedef struct Worker
{
	const VisionConfig *cfg;
	volatile sig_atomic_t *stop;
	VRedis		redis;
	Pool	   *pool;
	char		consumer[128];
	/* the queues read: queue:vision, or a site agent's sites' (cfg->vision_queues) */
	char		queue_keys[VISION_MAX_SITES][VISION_KEY_MAX];
	int			nqueues;
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

static void
run(Worker *w, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply = vredis_cmdv(&w->redis, argc, argv, lens);

	if (reply)
		freeReplyObject(reply);
}

/* Done with a task of queue q: acknowledge and delete it. */
static void
finish_task(Worker *w, int q, const char *id)
{
	const char *ack[] = {"XACK", w->queue_keys[q], "visionproc", id};
	const char *del[] = {"XDEL", w->queue_keys[q], id};

	run(w, 4, ack, NULL);
	run(w, 3, del, NULL);
}

/*
 * The camera's reference of a lighting mode, as Redis holds it, into the
 * task: a copy of the bytes (decoded on the grab thread), nothing when
 * there is none or Redis is in trouble (the frame is then judged against
 * itself), or ref_unreadable for a value that is not a string (replaced by
 * the next good frame).
 */
static void
fetch_reference(Worker *w, VisionTask *t, int mode)
{
	char		key[256];
	const char *argv[] = {"GET", vredis_key(&w->redis, key, sizeof(key), "reference:%s%s", t->camera_id,
											ch_mode_key_suffix(mode))};
	redisReply *reply = vredis_cmdv(&w->redis, 2, argv, NULL);
	const char *bytes;
	size_t		len = 0;

	if (reply == NULL || reply->type == REDIS_REPLY_NIL ||
		(reply->type == REDIS_REPLY_ERROR && !vredis_is_error(reply, "WRONGTYPE")))
		;						/* none, or Redis in trouble: nothing to replace */
	else if (reply->type == REDIS_REPLY_STRING &&
			 (bytes = ch_reply_str(reply, SIZE_MAX, &len)) != NULL &&
			 (t->ref_bytes[mode] = malloc(len ? len : 1)) != NULL)
	{
		memcpy(t->ref_bytes[mode], bytes, len);
		t->ref_len[mode] = len;
	}
	else
		t->ref_unreadable[mode] = reply->type != REDIS_REPLY_STRING;
	if (reply)
		freeReplyObject(reply);
}

/*
 * SET the new reference of its mode: NX (the first wins) unless it
 * replaces a malformed one.
 */
static void
set_reference(Worker *w, const VisionTask *t)
{
	char		key[256];
	const char *set[] = {"SET", vredis_key(&w->redis, key, sizeof(key), "reference:%s%s", t->camera_id,
										   ch_mode_key_suffix(t->new_ref_mode)),
	(const char *) t->new_ref, "NX"};
	size_t		lens[] = {3, strlen(key), t->new_ref_len, 2};

	run(w, t->replace_ref ? 3 : 4, set, lens);
}

/*
 * Post a task's result (and its new reference) then release the task.  On
 * failure the task stays pending: it is taken over and run again.
 */
static void
post_result(Worker *w, const VisionTask *t, json_object *result)
{
	const char *json = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
	const char *argv[16] = {"XADD", w->results_key, "MAXLEN", "~", RESULTS_MAXLEN, "*", "r", json};
	size_t		lens[16] = {4, strlen(w->results_key), 6, 1, strlen(RESULTS_MAXLEN), 1, 1, strlen(json)};
	int			argc = 8;
	redisReply *reply;

	if (t->new_ref)
	{
		set_reference(w, t);
		argv[argc] = "camera_id";
		lens[argc++] = 9;
		argv[argc] = t->camera_id;
		lens[argc++] = strlen(t->camera_id);
		argv[argc] = "ref";
		lens[argc++] = 3;
		argv[argc] = (const char *) t->new_ref;
		lens[argc++] = t->new_ref_len;
		argv[argc] = "ref_mode";
		lens[argc++] = 8;
		argv[argc] = ch_mode_name(t->new_ref_mode);
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	/* the analysed frame's picture: the snapshot, and the reference's when ref is there */
	if (t->jpeg)
	{
		argv[argc] = "jpeg";
		lens[argc++] = 4;
		argv[argc] = (const char *) t->jpeg;
		lens[argc++] = t->jpeg_len;
	}
	reply = vredis_cmdv(&w->redis, argc, argv, lens);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
	{
		const char *why = vredis_error_text(reply);

		vlog("posting the result of task %s failed%s%s", t->id, why ? ": " : "", why ? why : "");
		if (reply)
			freeReplyObject(reply);
		return;
	}
	freeReplyObject(reply);
	finish_task(w, t->queue, t->id);
}

/* Answer a task with an error and no grab: the camera gets an error result. */
static void
give_up_task(Worker *w, VisionTask *t, const char *stage, const char *msg)
{
	json_object *result = task_error_result(t, epoch_ms(), stage, msg);

	vlog("task %s of camera %" PRId64 ": %s; nothing opened", t->id, t->camera, msg);
	post_result(w, t, result);
	json_object_put(result);
}

/*
 * How many times a pending task was handed out (XPENDING's delivery
 * count), or -1 when Redis does not say.
 */
static long long
deliveries(Worker *w, int q, const char *id)
{
	const char *argv[] = {"XPENDING", w->queue_keys[q], "visionproc", id, id, "1"};
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

/*
 * A task from its entry's fields, checked; NULL (the task is finished
 * unanswered) when they do not parse.  hiredis NUL-terminates values: one
 * with a NUL of its own is refused.
 */
static VisionTask *
parse_task(Worker *w, int q, const char *id, const redisReply *fields, bool claimed)
{
	const char *camera_id = ch_stream_field(fields, "camera_id", TASK_CAMERA_ID_MAX, NULL);
	size_t		url_len = 0;
	const char *url = ch_stream_field(fields, "url", CAMERA_URL_MAX_LEN, &url_len);
	const char *due_s = ch_stream_field(fields, "due_ms", NUMBER_MAX, NULL);
	const char *interval_s = ch_stream_field(fields, "interval_ms", NUMBER_MAX, NULL);
	VisionTask *t;
	int64_t		interval;

	if (strlen(id) > TASK_ID_MAX || (t = calloc(1, sizeof(VisionTask))) == NULL)
		return NULL;
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->queue = q;
	t->claimed = claimed;
	t->consumer = w->consumer;
	t->agent = w->cfg->agent_name;
	if (!camera_id || !url || !due_s || !interval_s || strlen(url) != url_len ||
		!ch_parse_int64(camera_id, 1, INT64_MAX, &t->camera) ||
		!ch_parse_int64(due_s, 0, INT64_MAX / 2, &t->due_ms) ||
		!ch_parse_int64(interval_s, 0, INT64_MAX / 2, &interval) ||
		(t->url = strdup(url)) == NULL)
	{
		vlog("dropping malformed task %s", id);
		task_free(t);
		return NULL;
	}
	snprintf(t->camera_id, sizeof(t->camera_id), "%s", camera_id);
	/* a newer task of this camera is due already: this one is done */
	if (epoch_ms() - t->due_ms > (interval > MIN_EXPIRY_MS ? interval : MIN_EXPIRY_MS))
	{
		task_free(t);
		return NULL;
	}
	return t;
}

/*
 * Start a task on a grab thread, or answer it at once when it must not
 * run (a refused URL, a task that keeps killing its workers).
 */
static void
start_task(Worker *w, int q, const char *id, const redisReply *fields, bool claimed)
{
	VisionTask *t = parse_task(w, q, id, fields, claimed);
	const char *reason = NULL;
	char		msg[256];

	if (t == NULL)
	{
		finish_task(w, q, id);
		return;
	}
	if (!grab_url_allowed(t->url, w->cfg->allow_files, &reason))
	{
		snprintf(msg, sizeof(msg), "refused URL: %s", reason ? reason : "not a camera URL");
		give_up_task(w, t, "refused", msg);
	}
	else if (claimed && deliveries(w, q, id) > MAX_DELIVERIES)
	{
		snprintf(msg, sizeof(msg), "given up: the task was run %d times and each time its worker died",
				 MAX_DELIVERIES);
		give_up_task(w, t, "abandoned", msg);
	}
	else
	{
		for (int mode = 0; mode < CH_MODE_COUNT; mode++)
			fetch_reference(w, t, mode);
		if (pool_submit(w->pool, t))
			return;
		/* cannot happen (we read no more than there are idle threads): run it later */
		vlog("task %s: no idle grab thread; left pending", id);
	}
	task_free(t);
}

/* Start the tasks of an entry list of queue q: [[id, [field, value...]], ...] */
static void
start_entries(Worker *w, int q, const redisReply *entries, bool claimed)
{
	if (!ch_reply_is_array(entries, 0, MAX_READ))
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
				finish_task(w, q, id);	/* unreadable: never retried */
			continue;
		}
		if (fields == NULL)
			finish_task(w, q, id);	/* trimmed while pending */
		else
			start_task(w, q, id, fields, claimed);
	}
}

/* Idle grab threads: how many tasks to ask for. */
static int
idle_slots(Worker *w)
{
	int			n = pool_size(w->pool) - pool_in_flight(w->pool);

	return n > MAX_READ ? MAX_READ : n;
}

/* Take over tasks of each queue left pending too long by a worker that died. */
static void
claim_stale(Worker *w)
{
	char		idle[16];
	char		count[16];

	snprintf(idle, sizeof(idle), "%d", w->cfg->claim_idle_ms);
	for (int q = 0; q < w->nqueues && idle_slots(w) > 0 && !*w->stop; q++)
	{
		const char *argv[] = {"XAUTOCLAIM", w->queue_keys[q], "visionproc", w->consumer, idle, "0-0",
		"COUNT", count};
		redisReply *reply;

		snprintf(count, sizeof(count), "%d", idle_slots(w));
		reply = vredis_cmdv(&w->redis, 8, argv, NULL);
		/* [next id, entries] and, since Redis 7, [deleted ids] */
		if (ch_reply_is_array(reply, 2, 3))
			start_entries(w, q, ch_reply_elem(reply, 1), true);
		else if (reply && reply->type != REDIS_REPLY_ERROR)
			bad_reply(w, "XAUTOCLAIM");
		if (reply)
			freeReplyObject(reply);
	}
}

/* Which of our queues a stream read names; -1 for none of them. */
static int
queue_of(Worker *w, const redisReply *name)
{
	size_t		len;
	const char *key = ch_reply_str(name, VISION_KEY_MAX, &len);

	for (int q = 0; key && q < w->nqueues; q++)
		if (strlen(w->queue_keys[q]) == len && memcmp(w->queue_keys[q], key, len) == 0)
			return q;
	return -1;
}

static void
create_groups(Worker *w)
{
	for (int q = 0; q < w->nqueues; q++)
	{
		const char *create[] = {"XGROUP", "CREATE", w->queue_keys[q], "visionproc", "$", "MKSTREAM"};

		run(w, 6, create, NULL);	/* BUSYGROUP for those that have it */
	}
}

/*
 * Read new tasks from all queues at once.  COUNT holds for each stream:
 * with several queues, each is asked for its share of the idle threads.
 */
static void
read_new(Worker *w)
{
	char		count[16];
	char		block[16];
	const char *argv[8 + 2 * VISION_MAX_SITES] = {"XREADGROUP", "GROUP", "visionproc", w->consumer, "COUNT", count,
	"BLOCK", block, "STREAMS"};
	int			argc = 9;
	int			share = idle_slots(w) / w->nqueues;
	redisReply *reply;

	for (int q = 0; q < w->nqueues; q++)
		argv[argc++] = w->queue_keys[q];
	for (int q = 0; q < w->nqueues; q++)
		argv[argc++] = ">";
	snprintf(count, sizeof(count), "%d", share > 0 ? share : 1);
	snprintf(block, sizeof(block), "%d", pool_in_flight(w->pool) > 0 ? BUSY_BLOCK_MS : READ_BLOCK_MS);
	reply = vredis_cmdv(&w->redis, argc, argv, NULL);
	if (vredis_is_error(reply, "NOGROUP"))
		create_groups(w);
	else if (reply == NULL || reply->type == REDIS_REPLY_NIL || reply->type == REDIS_REPLY_ERROR)
		;						/* nothing new, or logged by vredis */
	else if (ch_reply_is_array(reply, 1, w->nqueues))
	{
		for (size_t i = 0; i < reply->elements; i++)
		{
			const redisReply *stream = ch_reply_elem(reply, i);
			int			q = ch_reply_is_array(stream, 2, 2) ? queue_of(w, ch_reply_elem(stream, 0)) : -1;

			if (q < 0)
				bad_reply(w, "XREADGROUP");
			else
				start_entries(w, q, ch_reply_elem(stream, 1), false);
		}
	}
	else
		bad_reply(w, "XREADGROUP");
	if (reply)
		freeReplyObject(reply);
}

/*
 * Post what the grab threads finished.  A task without a result (the grab
 * was cut short by shutdown) stays pending for another worker, as does
 * everything when Redis is down: it is claimed again later.
 */
static void
post_finished(Worker *w)
{
	VisionTask *t;

	while ((t = pool_take_done(w->pool)) != NULL)
	{
		if (t->result && vredis_up(&w->redis))
			post_result(w, t, t->result);
		task_free(t);
	}
}

/*
 * On a clean exit, leave the consumer group if we hold no task (a pending
 * task must stay, to be claimed by another worker).  Consumers of workers
 * that were killed remain listed, idle and empty; they cost nothing.
 */
static void
forget_consumer(Worker *w)
{
	for (int q = 0; q < w->nqueues; q++)
	{
		const char *pending[] = {"XPENDING", w->queue_keys[q], "visionproc", "-", "+", "1", w->consumer};
		redisReply *reply = vredis_cmdv(&w->redis, 7, pending, NULL);

		if (ch_reply_is_array(reply, 0, 0))
		{
			const char *del[] = {"XGROUP", "DELCONSUMER", w->queue_keys[q], "visionproc", w->consumer};

			run(w, 5, del, NULL);
		}
		if (reply)
			freeReplyObject(reply);
	}
}

/*
 * Bound this worker's address space: a decoder that runs away (a hostile
 * stream, a bug in FFmpeg) gets NULL from malloc and fails its grab; it
 * cannot take the host's memory.  Few malloc arenas: glibc would reserve
 * 64 MB of address space for each of up to eight per core, which counts
 * against the limit although it is never used.
 */
static void
limit_memory(const VisionConfig *cfg)
{
	struct rlimit rl;

	mallopt(M_ARENA_MAX, 4);
	if (cfg->max_memory_mb <= 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t) cfg->max_memory_mb * 1024 * 1024;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		vlog("cannot limit the worker's memory to %d MB: %s", cfg->max_memory_mb, strerror(errno));
}

static void
run_task(void *job, void *arg)
{
	Worker	   *w = arg;

	task_run(job, w->cfg, w->stop);
}

/* The main loop: read as many tasks as threads are idle, post what they finished. */
static void
serve(Worker *w)
{
	int64_t		next_claim = 0;

	while (!*w->stop)
	{
		post_finished(w);
		if (!vredis_up(&w->redis))
		{
			pool_wait_done(w->pool, 100);
			continue;
		}
		if (idle_slots(w) == 0)
		{
			pool_wait_done(w->pool, READ_BLOCK_MS);
			continue;
		}
		if (epoch_ms() >= next_claim)
		{
			claim_stale(w);
			next_claim = epoch_ms() + CLAIM_EVERY_MS;
		}
		if (idle_slots(w) > 0 && !*w->stop)
			read_new(w);
	}
	/* the grabs in flight give up at once (their interrupt callbacks see stop) */
	while (pool_in_flight(w->pool) > 0)
	{
		pool_wait_done(w->pool, 100);
		post_finished(w);
	}
}

int
worker_main(const VisionConfig *cfg, volatile sig_atomic_t *stop)
{
	static Worker w;			/* large (the queue names): not on the stack */
	const char *reason;
	char		host[64];

	memset(&w, 0, sizeof(w));
	limit_memory(cfg);
	w.cfg = cfg;
	w.stop = stop;
	if (!vredis_init(&w.redis, cfg->redis_url, cfg->key_prefix, &reason))
	{
		vlog("invalid Redis URL: %s", reason);
		return 2;
	}
	w.pool = pool_create(cfg->grabs, THREAD_STACK_KB, run_task, &w);
	if (w.pool == NULL)
	{
		vlog("cannot start grab threads: %s", strerror(errno));
		return 1;
	}
	if (pool_size(w.pool) < cfg->grabs)
		vlog("started %d of %d grab threads", pool_size(w.pool), cfg->grabs);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(w.consumer, sizeof(w.consumer), "%s-%d", host, (int) getpid());
	for (int q = 0; q < cfg->nvision_queues && q < VISION_MAX_SITES; q++)
		vredis_key(&w.redis, w.queue_keys[w.nqueues++], VISION_KEY_MAX, "%s", cfg->vision_queues[q]);
	vredis_key(&w.redis, w.results_key, sizeof(w.results_key), "results:vision");

	serve(&w);
	forget_consumer(&w);
	pool_destroy(w.pool);
	if (w.redis.ctx)
		redisFree(w.redis.ctx);
	return 0;
}
