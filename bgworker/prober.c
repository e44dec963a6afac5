/*
 * prober.c
 *	  The network prober worker: takes ip and port tasks from queue:network,
 *	  runs thousands of probes at once (common/netprobe.c), and posts each
 *	  result to results:network for the ingest worker.  The cameras of a
 *	  site served by agents are probed there (visionproc/agent.c, with the
 *	  same engine and rules), not here.
 *
 * The prober never touches the database: it needs only Redis, so more of
 * them could run anywhere.  It waits on one WaitEventSet holding its latch
 * and the probe engine's epoll fd, so a flood of probes never delays
 * SIGTERM, and SIGTERM never waits for a probe.
 *
 * A task stays pending in the consumer group until its result is posted:
 * if the prober dies mid-probe, the task is claimed again (XAUTOCLAIM)
 * unless a newer check of the camera has come due meanwhile.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#include "access/xlog.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "guc.h"
#include "netprobe.h"
#include "redis.h"
#include "schedule.h"
#include "redis_keys.h"
#include "redis_reply.h"
#include "worker.h"

PGDLLEXPORT void ch_prober_main(Datum main_arg);

#define POLL_MS 20				/* how often an idle prober looks for tasks */
#define FETCH_BATCH 1000
#define AUTOCLAIM_EVERY_MS 10000
#define AUTOCLAIM_IDLE_MS "120000"	/* longer than any probe can take */
#define ICMP_RETRY_MS 60000
#define RESULTS_MAXLEN "1000000"
#define MIN_EXPIRY_MS 10000

typedef struct Task
{
	bool		used;
	char		entry_id[48];	/* in queue:network, for XACK */
	int64		camera_id;
	CheckType	check;
	char		ip[64];
	int			port;
	int64		due_ms;
	int64		started_ms;
	ProbeKind	kind;
} Task;

static RedisLink *redis;
static NetProbe *np;
static Task *tasks;
static int *free_slots;
static int	nfree;
static int	max_inflight;
static char *consumer;
static int64 expired_since_log = 0;
static int64 last_expiry_log = 0;

/* Acknowledge and delete one task: the stream holds only open tasks. */
static void
ack(const char *entry_id)
{
	redisReply *reply = redis_run(redis, "XACK %s probers %s", redis_key(CH_KEY_QUEUE_NETWORK), entry_id);

	if (reply)
		freeReplyObject(reply);
	reply = redis_run(redis, "XDEL %s %s", redis_key(CH_KEY_QUEUE_NETWORK), entry_id);
	if (reply)
		freeReplyObject(reply);
}

/*
 * The numbers of a task, parsed strictly: a task from Redis may hold
 * anything, and a port of 70000 or "554abc" must not become a probe of
 * some other port.  False when any is missing or out of range.
 */
static bool
parse_task(const redisReply *fields, Task *t, int64 *interval_ms)
{
	const char *camera_id = ch_stream_field(fields, "camera_id", 32, NULL);
	const char *check = ch_stream_field(fields, "check", 16, NULL);
	size_t		ip_len = 0;
	const char *ip = ch_stream_field(fields, "ip", sizeof(t->ip) - 1, &ip_len);
	const char *port = ch_stream_field(fields, "port", 16, NULL);
	const char *due = ch_stream_field(fields, "due_ms", 32, NULL);
	const char *interval = ch_stream_field(fields, "interval_ms", 32, NULL);
	int64		v;

	if (!camera_id || !check || !ip || !port || !due || !interval)
		return false;
	if (strcmp(check, "ip") == 0)
		t->check = CHECK_IP;
	else if (strcmp(check, "port") == 0)
		t->check = CHECK_PORT;
	else
		return false;
	if (!ch_parse_int64(camera_id, 1, PG_INT64_MAX, &t->camera_id) ||
		!ch_parse_int64(port, 1, 65535, &v) ||
		!ch_parse_int64(due, 0, PG_INT64_MAX / 2, &t->due_ms) ||
		!ch_parse_int64(interval, 1000, (int64) 86400 * 1000, interval_ms) ||
		ip_len == 0 || memchr(ip, '\0', ip_len) != NULL)
		return false;
	t->port = (int) v;
	strlcpy(t->ip, ip, sizeof(t->ip));
	return true;
}

/* Start the probe of one stream entry; false when it was dropped. */
static bool
start_task(const char *entry_id, const redisReply *fields, int64 now)
{
	ProbeRequest req;
	Task		parsed;
	Task	   *t;
	int64		interval_ms;
	int			slot;

	memset(&parsed, 0, sizeof(parsed));
	if (!parse_task(fields, &parsed, &interval_ms))
	{
		redis_malformed(redis, "queue:network: a task with missing or invalid fields (dropped)");
		ack(entry_id);
		return false;
	}
	/* a newer task of this check is due already: this one is stale */
	if (now - parsed.due_ms > Max(interval_ms, MIN_EXPIRY_MS))
	{
		expired_since_log++;
		ack(entry_id);
		return false;
	}

	slot = free_slots[--nfree];
	t = &tasks[slot];
	*t = parsed;
	t->used = true;
	strlcpy(t->entry_id, entry_id, sizeof(t->entry_id));
	t->started_ms = now;

	memset(&req, 0, sizeof(req));
	req.tag = slot;
	if (t->check == CHECK_PORT)
	{
		req.kind = PROBE_TCP_PORT;
		req.timeout_ms = camera_health_port_timeout;
	}
	else
	{
		req.timeout_ms = camera_health_ip_timeout;
		req.kind = PROBE_ICMP;
		if (!ch_netprobe_icmp_available(np, strchr(t->ip, ':') ? AF_INET6 : AF_INET))
			req.kind = PROBE_TCP_HOST;
	}
	t->kind = req.kind;
	if (!ch_probe_fill_address(t->ip, t->port, &req.addr, &req.addrlen))
		req.addrlen = 0;		/* netprobe reports the bad address */
	if (ch_netprobe_start(np, &req) != 0)
	{
		/* cannot happen: a slot was free */
		t->used = false;
		free_slots[nfree++] = slot;
		return false;
	}
	return true;
}

/* Start probes for the entries of an XREADGROUP/XAUTOCLAIM entry list of at most max. */
static int
start_entries(const redisReply *entries, size_t max)
{
	int64		now = ch_now_ms();
	int			started = 0;

	if (!ch_reply_is_array(entries, 0, max))
	{
		redis_malformed(redis, "queue:network: not an array of up to COUNT entries");
		return 0;
	}
	for (size_t i = 0; i < entries->elements && nfree > 0; i++)
	{
		const redisReply *e = ch_reply_elem(entries, i);
		const char *id;
		const redisReply *fields;

		if (e != NULL && e->type == REDIS_REPLY_NIL)
			continue;			/* XAUTOCLAIM of Redis 6.2: an entry deleted meanwhile */
		if (!ch_stream_entry(e, &id, &fields))
		{
			redis_malformed(redis, "queue:network: an entry is not [id, [field, value, ...]]");
			if (id != NULL)
				ack(id);
			continue;
		}
		/* an entry trimmed from the stream while pending has no fields */
		if (fields == NULL)
		{
			ack(id);
			continue;
		}
		if (start_task(id, fields, now))
			started++;
	}
	return started;
}

/* Read up to nfree tasks; "0" re-reads our own pending ones, ">" new ones. */
static int
fetch_tasks(const char *from)
{
	redisReply *reply;
	int			started = 0;
	int			count = Min(nfree, FETCH_BATCH);
	const char *error;

	if (nfree == 0)
		return 0;
	reply = redis_run(redis, "XREADGROUP GROUP probers %s COUNT %d STREAMS %s %s",
					  consumer, count, redis_key(CH_KEY_QUEUE_NETWORK), from);
	if (reply == NULL)
		return 0;
	if (redis_is_error(reply, "NOGROUP"))
	{
		/* Redis lost its data; the scheduler is rebuilding */
		freeReplyObject(reply);
		reply = redis_run(redis, "XGROUP CREATE %s probers $ MKSTREAM", redis_key(CH_KEY_QUEUE_NETWORK));
		if (reply)
			freeReplyObject(reply);
		return 0;
	}
	if (reply->type == REDIS_REPLY_NIL)
		;						/* no tasks */
	else if ((error = ch_reply_error(reply, 1000)) != NULL)
		ereport(LOG, (errmsg("camera_health prober: reading tasks failed: %s", error)));
	else if (!ch_reply_is_array(reply, 1, 1) || !ch_reply_is_array(ch_reply_elem(reply, 0), 2, 2))
		redis_malformed(redis, "XREADGROUP: not [[stream, entries]]");
	else
		started = start_entries(ch_reply_elem(ch_reply_elem(reply, 0), 1), count);
	freeReplyObject(reply);
	return started;
}

/* Take over tasks left pending by probers that died. */
static void
autoclaim(void)
{
	redisReply *reply = redis_run(redis, "XAUTOCLAIM %s probers %s %s 0-0 COUNT %d",
								  redis_key(CH_KEY_QUEUE_NETWORK), consumer, AUTOCLAIM_IDLE_MS,
								  Min(Max(nfree, 1), FETCH_BATCH));

	if (reply == NULL)
		return;
	/* [cursor, entries] (Redis 6.2), [cursor, entries, deleted ids] (7.0) */
	if (ch_reply_is_array(reply, 2, 3))
		start_entries(ch_reply_elem(reply, 1), Min(Max(nfree, 1), FETCH_BATCH));
	else if (!redis_is_error(reply, "NOGROUP"))
		redis_malformed(redis, "XAUTOCLAIM: not [cursor, entries]");
	freeReplyObject(reply);
}

/* The health-log status of a probe outcome (the rule the site agents share). */
static const char *
status_of(const Task *t, const ProbeResult *r)
{
	return ch_probe_status(t->check == CHECK_PORT, t->kind, r, camera_health_high_latency);
}

static void
append_result_json(StringInfo buf, const Task *t, const ProbeResult *r, int64 now)
{
	const char *status = status_of(t, r);
	bool		has_latency = strcmp(status, "ok") == 0 || strcmp(status, "warning") == 0 ||
		(t->check == CHECK_PORT && r->outcome == PROBE_REFUSED);

	appendStringInfo(buf, "{\"camera_id\":" INT64_FORMAT ",\"check_type\":\"%s\",\"status\":\"%s\","
					 "\"checked_ms\":" INT64_FORMAT,
					 t->camera_id, check_names[t->check], status, t->started_ms);
	if (has_latency)
		appendStringInfo(buf, ",\"latency_ms\":%.3f", r->rtt_ms);
	appendStringInfo(buf, ",\"metadata\":{\"method\":\"%s\",\"outcome\":\"%s\",\"detail\":",
					 t->kind == PROBE_ICMP ? "icmp" : "tcp", ch_probe_outcome_name(r->outcome));
	escape_json(buf, r->detail);
	appendStringInfoString(buf, ",\"address\":");
	escape_json(buf, t->ip);
	if (t->kind != PROBE_ICMP)
		appendStringInfo(buf, ",\"port\":%d", t->port);
	if (has_latency)
		appendStringInfo(buf, ",\"latency_ms\":%.3f", r->rtt_ms);
	if (t->check == CHECK_IP)
		appendStringInfo(buf, ",\"threshold_ms\":%g", camera_health_high_latency);
	if (r->error != 0)
		appendStringInfo(buf, ",\"errno\":%d", r->error);
	/* who ran it: the database's prober (a site agent names itself) */
	appendStringInfoString(buf, ",\"worker\":");
	escape_json(buf, consumer);
	appendStringInfo(buf, ",\"lateness_ms\":" INT64_FORMAT ",\"duration_ms\":" INT64_FORMAT "}}",
					 t->started_ms - t->due_ms, now - t->started_ms);
}

/*
 * Post finished probes: one XADD per result and one XACK for all, in one
 * pipeline.  If Redis fails now, the tasks stay pending and run again.
 */
static int
post_results(void)
{
	ProbeResult results[256];
	int			n;
	int			total = 0;

	while ((n = ch_netprobe_collect(np, results, lengthof(results))) > 0)
	{
		const char **ack_argv = palloc((n + 3) * sizeof(char *));
		int			nack = 3;
		int64		now = ch_now_ms();
		int			nqueued = 0;

		ack_argv[0] = "XACK";
		ack_argv[1] = redis_key(CH_KEY_QUEUE_NETWORK);
		ack_argv[2] = "probers";
		for (int i = 0; i < n; i++)
		{
			Task	   *t = &tasks[results[i].tag];
			StringInfoData json;
			const char *argv[8];

			initStringInfo(&json);
			append_result_json(&json, t, &results[i], now);
			argv[0] = "XADD";
			argv[1] = redis_key(CH_KEY_RESULTS_NETWORK);
			argv[2] = "MAXLEN";
			argv[3] = "~";
			argv[4] = RESULTS_MAXLEN;
			argv[5] = "*";
			argv[6] = "r";
			argv[7] = json.data;
			redis_queuev(redis, 8, argv, NULL);
			nqueued++;
			ack_argv[nack++] = pstrdup(t->entry_id);

			t->used = false;
			free_slots[nfree++] = (int) results[i].tag;
		}
		redis_queuev(redis, nack, ack_argv, NULL);
		/* XDEL takes the same ids: the stream holds only open tasks */
		ack_argv[1] = "XDEL";
		ack_argv[2] = redis_key(CH_KEY_QUEUE_NETWORK);
		redis_queuev(redis, nack - 1, ack_argv + 1, NULL);
		nqueued += 2;
		redis_drain(redis, nqueued, NULL);
		total += n;
	}
	return total;
}

static void
report_icmp(bool *was_available)
{
	bool		now_available = ch_netprobe_icmp_available(np, AF_INET);

	if (now_available == *was_available)
		return;
	if (now_available)
		ereport(LOG, (errmsg("camera_health prober: ICMP echo is available; the ip check uses it")));
	else
		ereport(LOG,
				(errmsg("camera_health prober: ICMP echo is not permitted; the ip check uses TCP handshakes"),
				 errdetail("Unprivileged ping sockets need the server's group in net.ipv4.ping_group_range."),
				 errhint("Run sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" (or the postgres group id) as root.")));
	*was_available = now_available;
}

void
ch_prober_main(Datum main_arg)
{
	char		err[256];
	WaitEventSet *wes;
	MemoryContext loop_context;
	int64		next_autoclaim = 0;
	int64		next_icmp_retry;
	int64		last_activity = 0;
	bool		first_connection = true;
	bool		icmp_available = true;

	ch_worker_start("prober");

	max_inflight = Min(camera_health_max_probes, ch_netprobe_raise_fd_limit() - 256);
	if (max_inflight < 16)
		ereport(ERROR,
				(errmsg("camera_health prober: too few file descriptors for network probes"),
				 errhint("Raise the open files limit (ulimit -n) of the PostgreSQL server.")));
	np = ch_netprobe_create(max_inflight, err, sizeof(err));
	if (np == NULL)
		ereport(ERROR, (errmsg("camera_health prober: cannot start the probe engine: %s", err)));
	tasks = MemoryContextAllocZero(TopMemoryContext, max_inflight * sizeof(Task));
	free_slots = MemoryContextAlloc(TopMemoryContext, max_inflight * sizeof(int));
	for (int i = 0; i < max_inflight; i++)
		free_slots[i] = max_inflight - 1 - i;
	nfree = max_inflight;
	/* stable across restarts, so our own pending tasks are found again */
	consumer = MemoryContextStrdup(TopMemoryContext,
								   psprintf("pg-" UINT64_FORMAT "-prober", GetSystemIdentifier()));
	report_icmp(&icmp_available);
	next_icmp_retry = ch_now_ms() + ICMP_RETRY_MS;

	redis = redis_link_create("prober");
	wes = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wes, WL_SOCKET_READABLE, ch_netprobe_fd(np), NULL, NULL);
	loop_context = AllocSetContextCreate(TopMemoryContext, "camera_health prober loop",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		WaitEvent	events[3];
		int			started = 0;
		long		timeout;
		int64		now;
		MemoryContext old;

		if (ch_worker_interrupts())
			redis_link_reset(redis);

		old = MemoryContextSwitchTo(loop_context);
		now = ch_now_ms();
		if (now >= next_icmp_retry)
		{
			ch_netprobe_retry_icmp(np);
			report_icmp(&icmp_available);
			next_icmp_retry = now + ICMP_RETRY_MS;
		}
		if (redis_link_up(redis))
		{
			if (first_connection)
			{
				fetch_tasks("0");
				first_connection = false;
			}
			if (now >= next_autoclaim)
			{
				autoclaim();
				next_autoclaim = now + AUTOCLAIM_EVERY_MS;
			}
			started = fetch_tasks(">");
		}
		post_results();

		if (expired_since_log > 0 && now - last_expiry_log > 60000)
		{
			ereport(LOG,
					(errmsg("camera_health prober: skipped " INT64_FORMAT " stale tasks", expired_since_log),
					 errdetail("A newer check of the same camera was already due; the prober is behind.")));
			expired_since_log = 0;
			last_expiry_log = now;
		}
		if (now - last_activity >= 1000)
		{
			int			inflight = ch_netprobe_inflight(np);

			if (inflight > 0)
				pgstat_report_activity(STATE_RUNNING, psprintf("probing: %d in flight", inflight));
			else
				pgstat_report_activity(STATE_IDLE, NULL);
			last_activity = now;
		}
		ch_worker_check_memory(loop_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);

		/* more tasks may be waiting when a batch filled up */
		if (started == FETCH_BATCH && nfree > 0)
			timeout = 0;
		else
		{
			int			deadline = ch_netprobe_timeout_ms(np);

			timeout = deadline >= 0 ? Min(deadline, POLL_MS) : POLL_MS;
		}
		if (WaitEventSetWait(wes, timeout, events, lengthof(events), PG_WAIT_EXTENSION) > 0)
			ResetLatch(MyLatch);
	}
}
