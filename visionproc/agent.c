/*
 * agent.c
 *	  visionproc's site agent: the ip and port checks of the sites it serves
 *	  (visionproc --sites east,west), run on a host at the site with the
 *	  prober's probe engine (common/netprobe.c) and posted to
 *	  results:network exactly as the prober posts them.
 *
 * One process, forked by the supervisor next to the vision workers (which
 * take the sites' vision tasks).  For each site it heartbeats agents:{site}
 * (a hash of agent name -> last beat, expired by Redis after
 * CH_AGENT_TTL_MS: the scheduler queues the site's tasks on
 * queue:network:site:{site} while it exists), reads that queue in the
 * consumer group "probers", and takes over with XAUTOCLAIM the tasks that
 * another agent of the site left pending (it died).  When the last agent
 * of a site is gone, the scheduler moves what is left in the site's
 * queues to the database's.  A task stays pending until its result is
 * posted, as with the prober.
 *
 * Everything read from Redis is checked (common/redis_reply.h): a task of
 * the wrong shape is acknowledged and dropped, never probed, never retried.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "monotonic.h"
#include "netprobe.h"
#include "redis_keys.h"
#include "redis_reply.h"
#include "vredis.h"

#define POLL_MS 20				/* how often an idle agent looks for tasks */
#define FETCH_BATCH 500
#define CLAIM_EVERY_MS 1000
#define CLAIM_MARGIN_MS 5000	/* beyond the longest probe timeout seen */
#define PRUNE_EVERY_MS 60000	/* dead agents' fields in agents:{site} */
#define PRUNE_AFTER_MS 60000
#define MAX_AGENT_FIELDS 1000
#define MIN_EXPIRY_MS 10000
#define RESULTS_MAXLEN "1000000"
#define RESULT_BATCH 256
#define ICMP_RETRY_MS 60000		/* ping_group_range may have changed */
#define EXPIRY_LOG_MS 60000
#define NUMBER_MAX 32
#define DEFAULT_IP_TIMEOUT_MS 1000	/* camera_health.ip_timeout's default */
#define DEFAULT_PORT_TIMEOUT_MS 2000	/* camera_health.port_timeout's */
#define DEFAULT_THRESHOLD_MS 500.0	/* camera_health.high_latency's */

typedef struct AgentSite
{
	const char *name;			/* as given on the command line */
	char		queue_key[VISION_KEY_MAX];
	char		agents_key[VISION_KEY_MAX];
	char		vision_key[VISION_KEY_MAX];
} AgentSite;

typedef struct Task
{
	bool		used;
	int			site;
	char		entry_id[CH_STREAM_ID_MAX + 1];
	int64_t		camera_id;
	bool		port_check;
	char		ip[64];
	int			port;
	int64_t		due_ms;
	int64_t		started_ms;
	double		threshold_ms;
	ProbeKind	kind;
	bool		claimed;		/* taken over from an agent that died */
} Task;

typedef struct Agent
{
	const VisionConfig *cfg;
	volatile sig_atomic_t *stop;
	VRedis		redis;
	NetProbe   *np;
	AgentSite  *sites;
	int			nsites;
	Task	   *tasks;
	int		   *free_slots;
	int			nfree;
	int			max_inflight;
	int			longest_timeout_ms; /* of the tasks seen: claims wait longer */
	char		results_key[VISION_KEY_MAX];
	bool		bad_reply_logged;
	int64_t		expired;
} Agent;

static void
bad_reply(Agent *a, const char *what)
{
	if (!a->bad_reply_logged)
		vlog("agent: dropping a malformed Redis reply or task (%s; further ones are not logged)", what);
	a->bad_reply_logged = true;
}

static void
run(Agent *a, int argc, const char **argv)
{
	redisReply *reply = vredis_cmdv(&a->redis, argc, argv, NULL);

	if (reply)
		freeReplyObject(reply);
}

static void
ack(Agent *a, int site, const char *id)
{
	const char *xack[] = {"XACK", a->sites[site].queue_key, CH_GROUP_PROBERS, id};
	const char *xdel[] = {"XDEL", a->sites[site].queue_key, id};

	run(a, 4, xack);
	run(a, 3, xdel);
}

/* An optional number field: absent gives def; present must parse in range. */
static bool
optional_number(const redisReply *fields, const char *name, int64_t min, int64_t max,
				int64_t def, int64_t *out)
{
	const char *v = ch_stream_field(fields, name, NUMBER_MAX, NULL);

	if (v == NULL)
	{
		*out = def;
		return true;
	}
	return ch_parse_int64(v, min, max, out);
}

/*
 * A task's fields, parsed as strictly as the prober parses them, with the
 * probe timeout and latency threshold the scheduler adds for agents.
 */
static bool
parse_task(const redisReply *fields, Task *t, int64_t *interval_ms, int *timeout_ms)
{
	const char *camera_id = ch_stream_field(fields, "camera_id", NUMBER_MAX, NULL);
	const char *check = ch_stream_field(fields, "check", 16, NULL);
	size_t		ip_len = 0;
	const char *ip = ch_stream_field(fields, "ip", sizeof(t->ip) - 1, &ip_len);
	const char *port = ch_stream_field(fields, "port", 16, NULL);
	const char *due = ch_stream_field(fields, "due_ms", NUMBER_MAX, NULL);
	const char *interval = ch_stream_field(fields, "interval_ms", NUMBER_MAX, NULL);
	const char *threshold = ch_stream_field(fields, "threshold_ms", NUMBER_MAX, NULL);
	int64_t		v,
				timeout;
	char	   *end;

	if (!camera_id || !check || !ip || !port || !due || !interval)
		return false;
	if (strcmp(check, "ip") == 0)
		t->port_check = false;
	else if (strcmp(check, "port") == 0)
		t->port_check = true;
	else
		return false;
	if (!ch_parse_int64(camera_id, 1, INT64_MAX, &t->camera_id) ||
		!ch_parse_int64(port, 1, 65535, &v) ||
		!ch_parse_int64(due, 0, INT64_MAX / 2, &t->due_ms) ||
		!ch_parse_int64(interval, 1000, (int64_t) 86400 * 1000, interval_ms) ||
		!optional_number(fields, "timeout_ms", 10, 60000,
						 t->port_check ? DEFAULT_PORT_TIMEOUT_MS : DEFAULT_IP_TIMEOUT_MS, &timeout) ||
		ip_len == 0 || memchr(ip, '\0', ip_len) != NULL)
		return false;
	t->threshold_ms = DEFAULT_THRESHOLD_MS;
	if (threshold != NULL)
	{
		errno = 0;
		t->threshold_ms = strtod(threshold, &end);
		/* the range of camera_health.high_latency; NaN fails both */
		if (errno != 0 || *end != '\0' || end == threshold ||
			!(t->threshold_ms >= 0.001 && t->threshold_ms <= 60000))
			return false;
	}
	t->port = (int) v;
	*timeout_ms = (int) timeout;
	snprintf(t->ip, sizeof(t->ip), "%s", ip);
	return true;
}

/* Start the probe of one entry of a site's queue; false when it was dropped. */
static bool
start_task(Agent *a, int site, const char *id, const redisReply *fields, int64_t now, bool claimed)
{
	ProbeRequest req;
	Task		parsed;
	int64_t		interval_ms;
	int			timeout_ms;
	int			slot;
	Task	   *t;

	memset(&parsed, 0, sizeof(parsed));
	if (!parse_task(fields, &parsed, &interval_ms, &timeout_ms))
	{
		bad_reply(a, "a task with missing or invalid fields");
		ack(a, site, id);
		return false;
	}
	/* a newer task of this check is due already: this one is stale */
	if (now - parsed.due_ms > (interval_ms > MIN_EXPIRY_MS ? interval_ms : MIN_EXPIRY_MS))
	{
		a->expired++;
		ack(a, site, id);
		return false;
	}
	if (timeout_ms > a->longest_timeout_ms)
		a->longest_timeout_ms = timeout_ms;

	slot = a->free_slots[--a->nfree];
	t = &a->tasks[slot];
	*t = parsed;
	t->used = true;
	t->site = site;
	t->claimed = claimed;
	snprintf(t->entry_id, sizeof(t->entry_id), "%s", id);
	t->started_ms = now;

	memset(&req, 0, sizeof(req));
	req.tag = (uint64_t) slot;
	req.timeout_ms = timeout_ms;
	if (t->port_check)
		req.kind = PROBE_TCP_PORT;
	else
		req.kind = ch_netprobe_icmp_available(a->np, strchr(t->ip, ':') ? AF_INET6 : AF_INET) ?
			PROBE_ICMP : PROBE_TCP_HOST;
	t->kind = req.kind;
	if (!ch_probe_fill_address(t->ip, t->port, &req.addr, &req.addrlen))
		req.addrlen = 0;		/* the engine reports the bad address */
	if (ch_netprobe_start(a->np, &req) != 0)
	{
		t->used = false;		/* cannot happen: a slot was free */
		a->free_slots[a->nfree++] = slot;
		return false;
	}
	return true;
}

/* Start probes for an entry list (XREADGROUP, XAUTOCLAIM) of at most max entries. */
static int
start_entries(Agent *a, int site, const redisReply *entries, size_t max, bool claimed)
{
	int64_t		now = epoch_ms();
	int			started = 0;

	if (!ch_reply_is_array(entries, 0, max))
	{
		bad_reply(a, "not an array of up to COUNT entries");
		return 0;
	}
	for (size_t i = 0; i < entries->elements && a->nfree > 0; i++)
	{
		const redisReply *e = ch_reply_elem(entries, i);
		const char *id;
		const redisReply *fields;

		if (e != NULL && e->type == REDIS_REPLY_NIL)
			continue;			/* XAUTOCLAIM of Redis 6.2: deleted meanwhile */
		if (!ch_stream_entry(e, &id, &fields))
		{
			bad_reply(a, "an entry is not [id, [field, value, ...]]");
			if (id != NULL)
				ack(a, site, id);
			continue;
		}
		if (fields == NULL)
			ack(a, site, id);	/* trimmed while pending */
		else if (start_task(a, site, id, fields, now, claimed))
			started++;
	}
	return started;
}

static void
create_group(Agent *a, const char *key, const char *group)
{
	/* from 0: tasks queued before the group existed are served too */
	const char *argv[] = {"XGROUP", "CREATE", key, group, "0", "MKSTREAM"};
	redisReply *reply = vredis_cmdv(&a->redis, 6, argv, NULL);

	if (reply && reply->type == REDIS_REPLY_ERROR && !vredis_is_error(reply, "BUSYGROUP"))
		vlog("agent: creating the group of %s failed: %s", key,
			 vredis_error_text(reply) ? vredis_error_text(reply) : "an error");
	if (reply)
		freeReplyObject(reply);
}

/* New tasks of one site ('>'), or our own pending ones after a restart ('0'). */
static int
fetch_tasks(Agent *a, int site, const char *from)
{
	char		count[16];
	int			n = a->nfree < FETCH_BATCH ? a->nfree : FETCH_BATCH;
	const char *argv[] = {"XREADGROUP", "GROUP", CH_GROUP_PROBERS, a->cfg->agent_name, "COUNT", count,
	"STREAMS", a->sites[site].queue_key, from};
	redisReply *reply;
	int			started = 0;

	if (n == 0)
		return 0;
	snprintf(count, sizeof(count), "%d", n);
	reply = vredis_cmdv(&a->redis, 9, argv, NULL);
	if (vredis_is_error(reply, "NOGROUP"))
	{
		/* Redis lost its data, or the stream was deleted */
		create_group(a, a->sites[site].queue_key, CH_GROUP_PROBERS);
		create_group(a, a->sites[site].vision_key, CH_GROUP_VISION);
	}
	else if (reply == NULL || reply->type == REDIS_REPLY_NIL || reply->type == REDIS_REPLY_ERROR)
		;						/* nothing, or logged by vredis */
	else if (ch_reply_is_array(reply, 1, 1) && ch_reply_is_array(ch_reply_elem(reply, 0), 2, 2))
		started = start_entries(a, site, ch_reply_elem(ch_reply_elem(reply, 0), 1), (size_t) n, false);
	else
		bad_reply(a, "XREADGROUP");
	if (reply)
		freeReplyObject(reply);
	return started;
}

/* Take over the tasks another agent of the site left pending (it died). */
static void
autoclaim(Agent *a, int site)
{
	char		idle[16],
				count[16];
	int			n = a->nfree < FETCH_BATCH ? a->nfree : FETCH_BATCH;
	int			idle_ms = a->cfg->agent_claim_idle_ms;
	const char *argv[] = {"XAUTOCLAIM", a->sites[site].queue_key, CH_GROUP_PROBERS, a->cfg->agent_name,
	idle, "0-0", "COUNT", count};
	redisReply *reply;

	if (n == 0)
		return;
	/* never a task whose probe may still be running at its agent */
	if (idle_ms < a->longest_timeout_ms + CLAIM_MARGIN_MS)
		idle_ms = a->longest_timeout_ms + CLAIM_MARGIN_MS;
	snprintf(idle, sizeof(idle), "%d", idle_ms);
	snprintf(count, sizeof(count), "%d", n);
	reply = vredis_cmdv(&a->redis, 8, argv, NULL);
	/* [cursor, entries] (Redis 6.2), [cursor, entries, deleted ids] (7.0) */
	if (ch_reply_is_array(reply, 2, 3))
	{
		int			started = start_entries(a, site, ch_reply_elem(reply, 1), (size_t) n, true);

		if (started > 0)
			vlog("agent: took over %d tasks of site %s left by a dead agent", started, a->sites[site].name);
	}
	else if (reply && reply->type != REDIS_REPLY_ERROR)
		bad_reply(a, "XAUTOCLAIM");
	if (reply)
		freeReplyObject(reply);
}

/* agents:{site}: our field, and the hash's life extended by one TTL. */
static void
heartbeat(Agent *a)
{
	char		now[NUMBER_MAX],
				ttl[NUMBER_MAX];

	snprintf(now, sizeof(now), "%" PRId64, epoch_ms());
	snprintf(ttl, sizeof(ttl), "%d", CH_AGENT_TTL_MS);
	for (int i = 0; i < a->nsites; i++)
	{
		const char *hset[] = {"HSET", a->sites[i].agents_key, a->cfg->agent_name, now};
		const char *expire[] = {"PEXPIRE", a->sites[i].agents_key, ttl};

		run(a, 4, hset);
		run(a, 3, expire);
	}
}

/*
 * Forget the fields of agents that stopped beating long ago (killed: a
 * clean stop removes its own), so agents:{site} lists the live ones.  A
 * hash too big, or a value that is not a time, is dealt with the same way.
 */
static void
prune_agents(Agent *a, int site, int64_t older_than_ms)
{
	const char *hlen[] = {"HLEN", a->sites[site].agents_key};
	const char *hgetall[] = {"HGETALL", a->sites[site].agents_key};
	redisReply *reply = vredis_cmdv(&a->redis, 2, hlen, NULL);
	long long	n = 0;
	int64_t		now = epoch_ms();

	if (!ch_reply_int(reply, 0, MAX_AGENT_FIELDS, &n))
	{
		if (reply && reply->type == REDIS_REPLY_INTEGER)
			vlog("agent: %s holds more than %d agents; not pruned", a->sites[site].agents_key, MAX_AGENT_FIELDS);
		n = 0;
	}
	if (reply)
		freeReplyObject(reply);
	if (n == 0 || (reply = vredis_cmdv(&a->redis, 2, hgetall, NULL)) == NULL)
		return;
	if (ch_reply_is_array(reply, 0, 2 * MAX_AGENT_FIELDS) && reply->elements % 2 == 0)
	{
		for (size_t i = 0; i + 1 < reply->elements; i += 2)
		{
			size_t		flen = 0;
			const char *field = ch_reply_str(ch_reply_elem(reply, i), 1024, &flen);
			const char *value = ch_reply_cstr(ch_reply_elem(reply, i + 1), NUMBER_MAX);
			int64_t		beat;

			if (field == NULL || strcmp(field, a->cfg->agent_name) == 0)
				continue;
			if (value == NULL || !ch_parse_int64(value, 0, INT64_MAX, &beat) || now - beat > older_than_ms)
			{
				const char *hdel[] = {"HDEL", a->sites[site].agents_key, field};
				size_t		lens[] = {4, strlen(hdel[1]), flen};
				redisReply *r = vredis_cmdv(&a->redis, 3, hdel, lens);

				if (r)
					freeReplyObject(r);
			}
		}
	}
	else
		bad_reply(a, "HGETALL");
	freeReplyObject(reply);
}

/* The result of a probe, as the prober writes it (bgworker/prober.c), and who ran it. */
static json_object *
result_json(Agent *a, const Task *t, const ProbeResult *r, int64_t now)
{
	const char *status = ch_probe_status(t->port_check, t->kind, r, t->threshold_ms);
	bool		has_latency = strcmp(status, "ok") == 0 || strcmp(status, "warning") == 0 ||
		(t->port_check && r->outcome == PROBE_REFUSED);
	json_object *res = json_object_new_object();
	json_object *meta = json_object_new_object();
	char		num[NUMBER_MAX];

	snprintf(num, sizeof(num), "%.3f", r->rtt_ms);
	json_object_object_add(res, "camera_id", json_object_new_int64(t->camera_id));
	json_object_object_add(res, "check_type", json_object_new_string(t->port_check ? "port" : "ip"));
	json_object_object_add(res, "status", json_object_new_string(status));
	json_object_object_add(res, "checked_ms", json_object_new_int64(t->started_ms));
	if (has_latency)
		json_object_object_add(res, "latency_ms", json_object_new_double_s(r->rtt_ms, num));
	json_object_object_add(meta, "method", json_object_new_string(t->kind == PROBE_ICMP ? "icmp" : "tcp"));
	json_object_object_add(meta, "outcome", json_object_new_string(ch_probe_outcome_name(r->outcome)));
	json_object_object_add(meta, "detail", json_object_new_string(r->detail));
	json_object_object_add(meta, "address", json_object_new_string(t->ip));
	if (t->kind != PROBE_ICMP)
		json_object_object_add(meta, "port", json_object_new_int(t->port));
	if (has_latency)
		json_object_object_add(meta, "latency_ms", json_object_new_double_s(r->rtt_ms, num));
	if (!t->port_check)
	{
		snprintf(num, sizeof(num), "%g", t->threshold_ms);
		json_object_object_add(meta, "threshold_ms", json_object_new_double_s(t->threshold_ms, num));
	}
	if (r->error != 0)
		json_object_object_add(meta, "errno", json_object_new_int(r->error));
	json_object_object_add(meta, "worker", json_object_new_string(a->cfg->agent_name));
	json_object_object_add(meta, "agent", json_object_new_string(a->cfg->agent_name));
	json_object_object_add(meta, "site", json_object_new_string(a->sites[t->site].name));
	if (t->claimed)
		json_object_object_add(meta, "claimed", json_object_new_boolean(1));
	json_object_object_add(meta, "lateness_ms", json_object_new_int64(t->started_ms - t->due_ms));
	json_object_object_add(meta, "duration_ms", json_object_new_int64(now - t->started_ms));
	json_object_object_add(res, "metadata", meta);
	return res;
}

/*
 * Post finished probes and release their tasks.  A task whose result could
 * not be posted stays pending: another agent (or this one, restarted)
 * takes it over.
 */
static int
post_results(Agent *a)
{
	ProbeResult results[RESULT_BATCH];
	int			n;
	int			total = 0;

	while ((n = ch_netprobe_collect(a->np, results, RESULT_BATCH)) > 0)
	{
		int64_t		now = epoch_ms();

		for (int i = 0; i < n; i++)
		{
			Task	   *t = &a->tasks[results[i].tag];
			json_object *res = result_json(a, t, &results[i], now);
			const char *json = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN);
			const char *xadd[] = {"XADD", a->results_key, "MAXLEN", "~", RESULTS_MAXLEN, "*", "r", json};
			redisReply *reply = vredis_cmdv(&a->redis, 8, xadd, NULL);

			if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
				ack(a, t->site, t->entry_id);
			if (reply)
				freeReplyObject(reply);
			json_object_put(res);
			t->used = false;
			a->free_slots[a->nfree++] = (int) results[i].tag;
		}
		total += n;
	}
	return total;
}

/*
 * A clean stop: our heartbeat fields go, and those of agents that have not
 * beaten for a TTL (they died); the last field takes agents:{site} with it,
 * and the site's checks go back to the database at once.  Our consumer
 * entry goes too when we hold no task.  Probes in flight are abandoned:
 * their tasks stay pending for another agent or the scheduler.
 */
static void
leave(Agent *a)
{
	for (int i = 0; i < a->nsites; i++)
	{
		const char *hdel[] = {"HDEL", a->sites[i].agents_key, a->cfg->agent_name};
		const char *pending[] = {"XPENDING", a->sites[i].queue_key, CH_GROUP_PROBERS, "-", "+", "1",
		a->cfg->agent_name};
		redisReply *reply;

		run(a, 3, hdel);
		prune_agents(a, i, CH_AGENT_TTL_MS);
		reply = vredis_cmdv(&a->redis, 7, pending, NULL);
		if (ch_reply_is_array(reply, 0, 0))
		{
			const char *del[] = {"XGROUP", "DELCONSUMER", a->sites[i].queue_key, CH_GROUP_PROBERS,
			a->cfg->agent_name};

			run(a, 5, del);
		}
		if (reply)
			freeReplyObject(reply);
	}
}

static bool
agent_init(Agent *a, const VisionConfig *cfg, volatile sig_atomic_t *stop)
{
	char		err[256];
	const char *reason;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->stop = stop;
	if (!vredis_init(&a->redis, cfg->redis_url, cfg->key_prefix, &reason))
	{
		vlog("agent: invalid Redis URL: %s", reason);
		return false;
	}
	a->max_inflight = ch_netprobe_raise_fd_limit() - 64;
	if (a->max_inflight > cfg->max_probes)
		a->max_inflight = cfg->max_probes;
	if (a->max_inflight < 16)
	{
		vlog("agent: too few file descriptors for network probes; raise the open files limit (ulimit -n)");
		return false;
	}
	a->np = ch_netprobe_create(a->max_inflight, err, sizeof(err));
	a->sites = calloc(cfg->nsites, sizeof(AgentSite));
	a->tasks = calloc(a->max_inflight, sizeof(Task));
	a->free_slots = calloc(a->max_inflight, sizeof(int));
	if (a->np == NULL || a->sites == NULL || a->tasks == NULL || a->free_slots == NULL)
	{
		vlog("agent: cannot start the probe engine: %s", a->np ? "out of memory" : err);
		return false;
	}
	for (int i = 0; i < a->max_inflight; i++)
		a->free_slots[i] = a->max_inflight - 1 - i;
	a->nfree = a->max_inflight;
	a->nsites = cfg->nsites;
	for (int i = 0; i < cfg->nsites; i++)
	{
		char		enc[CH_SITE_KEY_MAX + 1];

		/* main.c checked that every site encodes */
		ch_site_encode(cfg->sites[i], strlen(cfg->sites[i]), enc, sizeof(enc));
		a->sites[i].name = cfg->sites[i];
		vredis_key(&a->redis, a->sites[i].queue_key, VISION_KEY_MAX, CH_KEY_SITE_QUEUE_NETWORK, enc);
		vredis_key(&a->redis, a->sites[i].vision_key, VISION_KEY_MAX, CH_KEY_SITE_QUEUE_VISION, enc);
		vredis_key(&a->redis, a->sites[i].agents_key, VISION_KEY_MAX, CH_KEY_SITE_AGENTS, enc);
	}
	vredis_key(&a->redis, a->results_key, sizeof(a->results_key), CH_KEY_RESULTS_NETWORK);
	vlog("agent %s: serving the ip and port checks of %d sites, up to %d probes at once (ICMP %s)",
		 cfg->agent_name, cfg->nsites, a->max_inflight,
		 ch_netprobe_icmp_available(a->np, AF_INET) ? "available" : "not permitted: TCP handshakes instead");
	return true;
}

int
agent_main(const VisionConfig *cfg, volatile sig_atomic_t *stop)
{
	Agent		a;
	bool		ready = false;
	int64_t		next_beat = 0,
				next_claim = 0,
				next_prune = 0,
				next_icmp_retry = epoch_ms() + ICMP_RETRY_MS,
				last_expiry_log = 0;

	if (!agent_init(&a, cfg, stop))
		return 2;
	while (!*stop)
	{
		struct pollfd pfd = {ch_netprobe_fd(a.np), POLLIN, 0};
		int			started = 0;
		int			timeout;
		int64_t		now = epoch_ms();

		if (vredis_up(&a.redis))
		{
			if (!ready)
			{
				/* the groups first: the scheduler routes here once we beat */
				for (int i = 0; i < a.nsites; i++)
				{
					create_group(&a, a.sites[i].queue_key, CH_GROUP_PROBERS);
					create_group(&a, a.sites[i].vision_key, CH_GROUP_VISION);
					fetch_tasks(&a, i, "0");
				}
				ready = a.redis.ctx != NULL;
			}
			if (now >= next_beat)
			{
				heartbeat(&a);
				next_beat = now + CH_AGENT_HEARTBEAT_MS;
			}
			for (int i = 0; i < a.nsites; i++)
			{
				if (now >= next_claim)
					autoclaim(&a, i);
				if (now >= next_prune)
					prune_agents(&a, i, PRUNE_AFTER_MS);
				started += fetch_tasks(&a, i, ">");
			}
			if (now >= next_claim)
				next_claim = now + CLAIM_EVERY_MS;
			if (now >= next_prune)
				next_prune = now + PRUNE_EVERY_MS;
			post_results(&a);
		}
		if (a.expired > 0 && now - last_expiry_log >= EXPIRY_LOG_MS)
		{
			vlog("agent: skipped %" PRId64 " stale tasks (a newer check was already due: the agent is behind)",
				 a.expired);
			a.expired = 0;
			last_expiry_log = now;
		}
		if (now >= next_icmp_retry)
		{
			ch_netprobe_retry_icmp(a.np);
			next_icmp_retry = now + ICMP_RETRY_MS;
		}
		timeout = ch_netprobe_timeout_ms(a.np);
		timeout = started >= FETCH_BATCH && a.nfree > 0 ? 0 :
			(timeout >= 0 && timeout < POLL_MS ? timeout : POLL_MS);
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			usleep(POLL_MS * 1000);
	}
	if (vredis_up(&a.redis))
		leave(&a);
	vlog("agent %s: stopped", cfg->agent_name);
	return 0;
}
