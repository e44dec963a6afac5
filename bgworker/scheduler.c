/*
 * scheduler.c
 *	  The scheduler worker: keeps Redis's time wheel in step with the
 *	  cameras table and hands due checks to the probers.
 *
 * Redis holds one sorted set per check type (schedule:ip, schedule:port,
 * schedule:vision) whose members are "<camera id>:<interval ms>" scored by
 * the next due time in ms.  Putting the interval in the member lets one Lua
 * script, touching one key, claim the due members and move each to its
 * next slot atomically: two schedulers never hand out the same check, and
 * the next due time is the previous one plus the interval, so it never
 * drifts; slots missed during an outage are skipped, not replayed.
 *
 * A camera of a site that has a live agent (agents:{site} exists: see
 * common/redis_keys.h) has its tasks queued on that site's queues, for the
 * agents there; every other camera's go to queue:network / queue:vision.
 * The scheduler looks at the sites' agents every second; when the last
 * agent of a site is gone (its heartbeats expired), the tasks left in the
 * site's queues, those the dead agents held included, are moved to the
 * database's queues, and the site's next checks go there too.
 *
 * The scheduler keeps every enabled camera in a local hash table (the
 * schedule members and the task fields come from it).  It learns about
 * changes from the cameras_changed trigger, which wakes it at commit, and
 * resynchronises everything at start, after Redis lost its data (the
 * meta:instance key is gone) and once a minute as a safety net.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "camera_mode.h"
#include "guc.h"
#include "redis.h"
#include "redis_keys.h"
#include "redis_reply.h"
#include "schedule.h"
#include "shmem.h"
#include "worker.h"

PGDLLEXPORT void ch_scheduler_main(Datum main_arg);

#define TICK_MS 100
#define RESYNC_EVERY_MS 60000
#define CLAIM_BATCH 2000
#define QUEUE_MAXLEN "200000"
#define REFERENCE_PAGE 50		/* reference frames read per transaction (~77 kB each) */
#define MAX_SCHEDULE_MEMBERS (1024 * 1024)	/* per ZRANGE of a schedule */
#define MEMBER_MAX 64			/* "<id>:<interval ms>" */
#define MAX_CLAIM_ROUNDS 50		/* of CLAIM_BATCH per check type and tick */
#define AGENTS_EVERY_MS CH_AGENT_HEARTBEAT_MS	/* how often the sites' agents are looked at */
#define AGENTS_BATCH 500		/* sites per EXISTS script */
#define MOVE_BATCH "5000"		/* entries moved per script run */

/* A site of some camera, and whether an agent serves it. */
typedef struct Site
{
	char		key[CH_SITE_KEY_MAX + 1];	/* hash key: the encoded name (redis_keys.h) */
	bool		live;			/* agents:{key} existed at the last look */
	bool		orphaned;		/* its last agent is gone: tasks to move */
} Site;

typedef struct Camera
{
	int64		id;				/* hash key */
	char		ip[64];
	int			port;
	char	   *rtsp_url;		/* in the table's context, NULL for none */
	char	   *name;
	int			interval_s[NUM_CHECKS];
	char	   *site_key;		/* encoded site, NULL for none (loaded: tick context) */
	Site	   *site;			/* in the table: its entry in sites */
} Camera;

/*
 * The camera table and the context that holds it and its strings: a full
 * resync builds a new pair and deletes the old context whole, so nothing of
 * a table outlives it and TopMemoryContext never holds camera data.
 */
static HTAB *cameras = NULL;
static HTAB *sites = NULL;		/* the sites of the cameras, in cameras_context too */
static bool new_sites = false;	/* sites added: look for their agents before dispatching */
static MemoryContext cameras_context = NULL;
static RedisLink *redis = NULL;
static MemoryContext tick_context = NULL;
static int64 *changes_buffer = NULL;	/* CH_MAX_PENDING_CHANGES ids */

/* A reference frame read from the database, to be mirrored into Redis. */
typedef struct Reference
{
	int64		camera_id;
	int			mode;			/* ChCameraMode; -1: a mode this build does not know */
	bytea	   *image;
} Reference;

/*
 * Claims up to ARGV[2] members due at ARGV[1] (ms) and moves each to its
 * next slot.  Returns member, due-score pairs.
 */
static const char *claim_script =
"local now = tonumber(ARGV[1])\n"
"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))\n"
"for i = 1, #due, 2 do\n"
"  local score = tonumber(due[i + 1])\n"
"  local interval = tonumber(string.match(due[i], ':(%d+)$'))\n"
"  local nxt = score + interval\n"
"  if nxt <= now then nxt = score + interval * (math.floor((now - score) / interval) + 1) end\n"
"  redis.call('ZADD', KEYS[1], nxt, due[i])\n"
"end\n"
"return due\n";

/* EXISTS of each key: the sites' agents in one round trip. */
static const char *exists_script =
"local r = {}\n"
"for i, k in ipairs(KEYS) do r[i] = redis.call('EXISTS', k) end\n"
"return r\n";

/*
 * Moves up to ARGV[1] tasks of a site's queue (KEYS[1]), pending or not,
 * to the database's queue (KEYS[2], MAXLEN ~ ARGV[2]): the site has no
 * agent any more.  An entry of another shape is dropped.  Returns how many
 * entries were looked at.
 */
static const char *move_script =
"local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[1]))\n"
"for _, e in ipairs(entries) do\n"
"  local f = e[2]\n"
"  if type(f) == 'table' and #f > 0 and #f <= 64 and #f % 2 == 0 then\n"
"    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(f))\n"
"  end\n"
"  redis.call('XDEL', KEYS[1], e[1])\n"
"end\n"
"return #entries\n";

static void
scheduler_detach(int code, Datum arg)
{
	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->scheduler_latch = NULL;
	SpinLockRelease(&ch_shared->mutex);
}

static void
free_camera_strings(Camera *cam)
{
	if (cam->rtsp_url)
		pfree(cam->rtsp_url);
	if (cam->name)
		pfree(cam->name);
	cam->rtsp_url = cam->name = NULL;
}

/* The entry of a site in a site table, added (no agent yet) when new. */
static Site *
site_entry(HTAB *table, const char *key)
{
	bool		found;
	Site	   *site = hash_search(table, key, HASH_ENTER, &found);

	if (!found)
	{
		site->live = false;
		site->orphaned = false;
		new_sites = true;
	}
	return site;
}

/* Copy a camera loaded this tick into an entry of a camera table. */
static void
keep_camera(Camera *entry, const Camera *cam, HTAB *site_table, MemoryContext table_context)
{
	*entry = *cam;
	entry->rtsp_url = cam->rtsp_url ? MemoryContextStrdup(table_context, cam->rtsp_url) : NULL;
	entry->name = cam->name ? MemoryContextStrdup(table_context, cam->name) : NULL;
	entry->site = cam->site_key ? site_entry(site_table, cam->site_key) : NULL;
	entry->site_key = entry->site ? entry->site->key : NULL;
}

/* A new, empty site table in the context of a camera table. */
static HTAB *
create_site_table(MemoryContext table_context)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = CH_SITE_KEY_MAX + 1;
	ctl.entrysize = sizeof(Site);
	ctl.hcxt = table_context;
	return hash_create("camera_health sites", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * The key-safe form of a site name (redis_keys.h), palloc'd; sites are
 * encoded as UTF-8, as agents encode the names they are given.
 */
static char *
encode_site(const char *site)
{
	char	   *utf8 = pg_server_to_any(site, strlen(site), PG_UTF8);
	char	   *key = palloc(CH_SITE_KEY_MAX + 1);

	if (!ch_site_encode(utf8, strlen(utf8), key, CH_SITE_KEY_MAX + 1))
		elog(ERROR, "camera_health scheduler: a site name of %zu bytes cannot be encoded", strlen(utf8));
	return key;
}

/* A new, empty camera table in a new context of its own. */
static HTAB *
create_camera_table(long size, MemoryContext *table_context)
{
	HASHCTL		ctl;

	*table_context = AllocSetContextCreate(TopMemoryContext, "camera_health scheduler cameras",
										   ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(Camera);
	ctl.hcxt = *table_context;
	return hash_create("camera_health cameras", Max(size, 64), &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Is check c scheduled for this camera? (vision needs a URL) */
static bool
camera_has_check(const Camera *cam, CheckType c)
{
	return cam != NULL && (c != CHECK_VISION || cam->rtsp_url != NULL);
}

static char *
member_of(const Camera *cam, CheckType c)
{
	return psprintf(INT64_FORMAT ":%d", cam->id, cam->interval_s[c] * 1000);
}

/* The camera id of a schedule member "<id>:<interval ms>"; false for another shape. */
static bool
member_camera_id(const char *member, int64 *id)
{
	char		digits[32];
	const char *colon = strchr(member, ':');
	int64		interval;

	if (colon == NULL || colon - member >= (ptrdiff_t) sizeof(digits))
		return false;
	memcpy(digits, member, colon - member);
	digits[colon - member] = '\0';
	return ch_parse_int64(digits, 1, PG_INT64_MAX, id) &&
		ch_parse_int64(colon + 1, 1, PG_INT32_MAX, &interval);
}

static char *
int64_str(int64 v)
{
	return psprintf(INT64_FORMAT, v);
}

static Datum
int8_array(const int64 *ids, int n)
{
	Datum	   *elems = palloc(Max(n, 1) * sizeof(Datum));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Load the enabled cameras with the given ids (all when ids is NULL) from
 * the database into a list of palloc'd Camera structs.
 */
static List *
load_cameras(const int64 *ids, int nids)
{
	List	   *result = NIL;
	int			ret;

	ch_spi_begin("camera_health scheduler: loading cameras");
	if (ids == NULL)
		ret = SPI_execute("SELECT id, pg_catalog.host(ip_address), port, rtsp_url, name, interval_ip, interval_port, "
						  "interval_vision, site FROM camera_health.cameras WHERE enabled", true, 0);
	else
	{
		Oid			argtypes[1] = {INT8ARRAYOID};
		Datum		values[1] = {int8_array(ids, nids)};

		ret = SPI_execute_with_args("SELECT id, pg_catalog.host(ip_address), port, rtsp_url, name, interval_ip, "
									"interval_port, interval_vision, site FROM camera_health.cameras "
									"WHERE enabled AND id = ANY($1)",
									1, argtypes, values, NULL, true, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "loading cameras failed: %s", SPI_result_code_string(ret));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Camera	   *cam;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(tick_context);

		cam = palloc0(sizeof(Camera));
		cam->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		strlcpy(cam->ip, SPI_getvalue(tup, desc, 2), sizeof(cam->ip));
		cam->port = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		cam->rtsp_url = SPI_getvalue(tup, desc, 4);
		cam->name = SPI_getvalue(tup, desc, 5);
		for (int c = 0; c < NUM_CHECKS; c++)
			cam->interval_s[c] = DatumGetInt32(SPI_getbinval(tup, desc, 6 + c, &isnull));
		{
			char	   *site = SPI_getvalue(tup, desc, 6 + NUM_CHECKS);

			cam->site_key = site ? encode_site(site) : NULL;
		}
		result = lappend(result, cam);
		MemoryContextSwitchTo(old);
	}
	ch_spi_commit();
	return result;
}

/* Queue HSET camera:{id} with the camera's runtime copy. */
static void
queue_camera_hash(const Camera *cam)
{
	const char *argv[20];
	int			n = 0;

	argv[n++] = "HSET";
	argv[n++] = redis_key("camera:" INT64_FORMAT, cam->id);
	argv[n++] = "ip";
	argv[n++] = cam->ip;
	argv[n++] = "port";
	argv[n++] = psprintf("%d", cam->port);
	for (int c = 0; c < NUM_CHECKS; c++)
	{
		argv[n++] = psprintf("interval_%s", check_names[c]);
		argv[n++] = psprintf("%d", cam->interval_s[c]);
	}
	argv[n++] = "rtsp_url";
	argv[n++] = cam->rtsp_url ? cam->rtsp_url : "";
	argv[n++] = "name";
	argv[n++] = cam->name ? cam->name : "";
	redis_queuev(redis, n, argv, NULL);
}

static void
queue_command(int argc, const char **argv)
{
	redis_queuev(redis, argc, argv, NULL);
}

/* Read n queued replies; false on any failure (a group that exists is none). */
static bool
drain_replies(int n)
{
	return redis_drain(redis, n, "BUSYGROUP") == 0;
}

/* Redis key of a camera's reference of a mode: reference:{id}, reference:{id}:ir... */
static char *
reference_key(int64 camera_id, int mode)
{
	return redis_key("reference:" INT64_FORMAT "%s", camera_id, ch_mode_key_suffix(mode));
}

/* Queue SET reference:{id}[:mode] with the image of a reference frame. */
static void
queue_reference(const Reference *ref)
{
	const char *argv[3] = {"SET", reference_key(ref->camera_id, ref->mode), VARDATA_ANY(ref->image)};
	size_t		lens[3] = {3, strlen(argv[1]), VARSIZE_ANY_EXHDR(ref->image)};

	redis_queuev(redis, 3, argv, lens);
}

/* keyset paging on the primary key (camera_id, mode) */
#define REFERENCES_PAGE_QUERY \
	"SELECT r.camera_id, r.mode::pg_catalog.text, r.image FROM camera_health.camera_references r " \
	"JOIN camera_health.cameras c ON c.id = r.camera_id AND c.enabled " \
	"WHERE (r.camera_id, r.mode::pg_catalog.text) > ($1, $3) " \
	"AND ($2::pg_catalog.int8[] IS NULL OR r.camera_id = ANY ($2)) " \
	"ORDER BY r.camera_id, r.mode::pg_catalog.text LIMIT " CppAsString2(REFERENCE_PAGE)

/*
 * Read the next page of reference frames, those after (after_id,
 * after_mode) in (camera, mode) order (of the cameras in id_array, or of
 * all when it is NULL), in a short transaction of its own; the frames and
 * the last mode name (into after_mode, CH_MODE_NAME_MAX + 1 bytes) are
 * copied for the caller.  Returns how many were read, at most
 * REFERENCE_PAGE.
 */
static int
load_reference_page(int64 after_id, char *after_mode, ArrayType *id_array, Reference *page)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[3] = {INT8OID, INT8ARRAYOID, TEXTOID};
	Datum		values[3] = {Int64GetDatum(after_id), PointerGetDatum(id_array),
	CStringGetTextDatum(after_mode)};
	char		nulls[3] = {' ', id_array ? ' ' : 'n', ' '};
	int			n;

	ch_spi_begin("camera_health scheduler: reading reference frames");
	if (SPI_execute_with_args(REFERENCES_PAGE_QUERY, 3, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "loading reference frames failed");
	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *mode = SPI_getvalue(tup, desc, 2);
		Datum		image = SPI_getbinval(tup, desc, 3, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		page[i].camera_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		page[i].mode = ch_mode_parse(mode, strlen(mode));
		page[i].image = DatumGetByteaPCopy(image);
		if (i == n - 1)
			strlcpy(after_mode, mode, CH_MODE_NAME_MAX + 1);
		MemoryContextSwitchTo(old);
	}
	ch_spi_commit();
	return n;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Mirror reference frames into Redis: those of the given cameras (SET the
 * ones in the database, DEL the keys of the other lighting modes and
 * cameras), or, when ids is NULL, all of them.  A page at a time, by
 * camera id and mode: each page is read in a transaction that
 * is committed before anything is sent, so no transaction or snapshot is
 * ever held while waiting on Redis (a full mirror after a Redis flush sends
 * gigabytes), and only one page is in memory.
 */
static bool
mirror_references(const int64 *ids, int nids)
{
	MemoryContext page_context = AllocSetContextCreate(CurrentMemoryContext,
													   "camera_health scheduler reference page",
													   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Reference	page[REFERENCE_PAGE];
	int64	   *wanted = NULL;
	uint32	   *found = NULL;		/* of each wanted camera: a bit per mode */
	ArrayType  *id_array = NULL;
	int64		after = PG_INT64_MIN;
	char		after_mode[CH_MODE_NAME_MAX + 1] = "";
	int			n;
	bool		ok = true;

	if (ids != NULL)
	{
		wanted = palloc(Max(nids, 1) * sizeof(int64));
		memcpy(wanted, ids, nids * sizeof(int64));
		qsort(wanted, nids, sizeof(int64), cmp_int64);
		found = palloc0(Max(nids, 1) * sizeof(uint32));
		id_array = DatumGetArrayTypeP(int8_array(wanted, nids));
	}

	old = MemoryContextSwitchTo(page_context);
	do
	{
		int			nqueued = 0;

		MemoryContextReset(page_context);
		n = load_reference_page(after, after_mode, id_array, page);
		for (int i = 0; i < n; i++)
		{
			if (page[i].mode < 0)
				continue;		/* a mode of a newer version: not ours to mirror */
			queue_reference(&page[i]);
			nqueued++;
			if (wanted != NULL)
			{
				int64	   *hit = bsearch(&page[i].camera_id, wanted, nids, sizeof(int64), cmp_int64);

				if (hit != NULL)
					found[hit - wanted] |= (uint32) 1 << page[i].mode;
			}
		}
		ok = drain_replies(nqueued);
		if (n > 0)
			after = page[n - 1].camera_id;
	} while (ok && n == REFERENCE_PAGE);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(page_context);

	/* the given cameras' modes without a reference (or disabled): none in Redis */
	if (ok && wanted != NULL)
	{
		int			nqueued = 0;

		for (int i = 0; i < nids; i++)
		{
			if (i > 0 && wanted[i] == wanted[i - 1])
				continue;
			for (int m = 0; m < CH_MODE_COUNT; m++)
			{
				const char *argv[2];

				if (found[i] & ((uint32) 1 << m))
					continue;
				argv[0] = "DEL";
				argv[1] = reference_key(wanted[i], m);
				redis_queuev(redis, 2, argv, NULL);
				nqueued++;
			}
		}
		ok = drain_replies(nqueued);
	}
	return ok;
}

/* A deterministic offset within the interval, spreading a rebuilt wheel. */
static int64
spread_ms(int64 id, int interval_s)
{
	return (int64) (((uint64) id * UINT64CONST(2654435761)) % ((uint64) interval_s * 1000));
}

static void
ensure_groups(int *nqueued)
{
	const char *groups[][2] = {
		{CH_KEY_QUEUE_NETWORK, CH_GROUP_PROBERS},
		{CH_KEY_QUEUE_VISION, CH_GROUP_VISION},
		{CH_KEY_RESULTS_NETWORK, "ingest"},
		{CH_KEY_RESULTS_VISION, "ingest"},
	};

	for (int i = 0; i < lengthof(groups); i++)
	{
		const char *argv[] = {"XGROUP", "CREATE", redis_key("%s", groups[i][0]), groups[i][1], "$", "MKSTREAM"};

		queue_command(lengthof(argv), argv);
		(*nqueued)++;
	}
}

/*
 * Move the tasks left in the queues of sites without an agent to the
 * database's queues: of the sites whose last agent just went (orphaned),
 * or of every site without one (at a full resync: after a restart, tasks
 * of an agent that died meanwhile are found there).  One pipelined round
 * of MOVE_BATCH entries per queue; what is left, the next resync moves.
 */
static bool
move_orphaned_tasks(bool only_orphaned)
{
	HASH_SEQ_STATUS seq;
	Site	   *site;
	int			nqueued = 0;

	hash_seq_init(&seq, sites);
	while ((site = hash_seq_search(&seq)) != NULL)
	{
		if (site->live || (only_orphaned && !site->orphaned))
			continue;
		site->orphaned = false;
		for (int v = 0; v < 2; v++)
		{
			const char *argv[] = {"EVAL", move_script, "2",
				redis_key(v ? CH_KEY_SITE_QUEUE_VISION : CH_KEY_SITE_QUEUE_NETWORK, site->key),
				redis_key(v ? CH_KEY_QUEUE_VISION : CH_KEY_QUEUE_NETWORK), MOVE_BATCH, QUEUE_MAXLEN};

			queue_command(lengthof(argv), argv);
			nqueued++;
		}
	}
	return drain_replies(nqueued);
}

/* Note the sites whose agents came or went; false on Redis failure. */
static bool
note_agents(Site **list, int n, const redisReply *reply)
{
	if (!ch_reply_is_array(reply, n, n))
	{
		const char *error = ch_reply_error(reply, 1000);

		if (error)
			ereport(LOG, (errmsg("camera_health scheduler: looking for site agents failed: %s", error)));
		else
			redis_malformed(redis, "EVAL (agents): not one integer per site");
		return false;
	}
	for (int i = 0; i < n; i++)
	{
		long long	exists = 0;
		bool		live;

		/* anything but 1 is no agent: the database's prober is the safe side */
		if (!ch_reply_int(ch_reply_elem(reply, i), 0, 1, &exists))
			redis_malformed(redis, "EVAL (agents): not 0 or 1");
		live = exists == 1;
		if (live != list[i]->live)
			ereport(LOG,
					(errmsg(live ? "camera_health scheduler: site \"%s\" is served by its agents now" :
							"camera_health scheduler: site \"%s\" has no live agent any more; the database's prober takes its checks",
							list[i]->key),
					 errdetail("The site is named by its key-safe encoding.")));
		if (list[i]->live && !live)
			list[i]->orphaned = true;
		list[i]->live = live;
	}
	return true;
}

/*
 * Which sites have a live agent (agents:{site} exists)?  A batch of sites
 * per round trip; then the tasks of sites that lost their last agent go to
 * the database's queues.
 */
static bool
refresh_agents(void)
{
	long		n = hash_get_num_entries(sites);
	Site	  **list = palloc(Max(n, 1) * sizeof(Site *));
	HASH_SEQ_STATUS seq;
	Site	   *site;
	long		i = 0;

	hash_seq_init(&seq, sites);
	while ((site = hash_seq_search(&seq)) != NULL)
		list[i++] = site;
	for (long from = 0; from < n; from += AGENTS_BATCH)
	{
		int			nkeys = (int) Min(AGENTS_BATCH, n - from);
		const char **argv = palloc((3 + nkeys) * sizeof(char *));
		redisReply *reply;
		bool		ok;

		argv[0] = "EVAL";
		argv[1] = exists_script;
		argv[2] = psprintf("%d", nkeys);
		for (int k = 0; k < nkeys; k++)
			argv[3 + k] = redis_key(CH_KEY_SITE_AGENTS, list[from + k]->key);
		reply = redis_runv(redis, 3 + nkeys, argv, NULL);
		if (reply == NULL)
			return false;
		ok = note_agents(list + from, nkeys, reply);
		freeReplyObject(reply);
		if (!ok)
			return false;
	}
	return move_orphaned_tasks(true);
}

/*
 * Make Redis agree with the database: every enabled camera in its
 * schedules (keeping the due time of members already there), nothing else.
 */
static bool
full_sync(bool redis_lost_data)
{
	List	   *list = load_cameras(NULL, 0);
	MemoryContext fresh_context;
	HTAB	   *fresh;
	HTAB	   *fresh_sites;
	ListCell   *lc;
	int64		now = ch_now_ms();
	int			nqueued = 0;
	HASH_SEQ_STATUS seq;
	Camera	   *old;
	redisReply *members[NUM_CHECKS] = {NULL};

	pgstat_report_activity(STATE_RUNNING, "camera_health scheduler: resynchronising Redis");

	fresh = create_camera_table(list_length(list), &fresh_context);
	fresh_sites = create_site_table(fresh_context);
	foreach(lc, list)
	{
		Camera	   *cam = lfirst(lc);

		keep_camera(hash_search(fresh, &cam->id, HASH_ENTER, NULL), cam, fresh_sites, fresh_context);
	}
	/* what was known of the sites' agents stays known */
	if (sites != NULL)
	{
		Site	   *site;

		hash_seq_init(&seq, fresh_sites);
		while ((site = hash_seq_search(&seq)) != NULL)
		{
			Site	   *was = hash_search(sites, site->key, HASH_FIND, NULL);

			site->live = was != NULL && was->live;
		}
	}

	/*
	 * Members to remove: in Redis but not wanted (or with an old interval).
	 * All three are read before anything is queued: a pipelined command
	 * would otherwise take the reply meant for the next ZRANGE.
	 */
	for (int c = 0; c < NUM_CHECKS; c++)
	{
		members[c] = redis_run(redis, "ZRANGE %s 0 -1", redis_key("schedule:%s", check_names[c]));
		if (members[c] == NULL)
			goto failed;
		if (!ch_reply_is_array(members[c], 0, MAX_SCHEDULE_MEMBERS))
		{
			redis_malformed(redis, "ZRANGE of a schedule: not an array of members");
			goto failed;
		}
	}
	for (int c = 0; c < NUM_CHECKS; c++)
	{
		for (size_t i = 0; i < members[c]->elements; i++)
		{
			size_t		mlen;
			const char *m = ch_reply_str(ch_reply_elem(members[c], i), 4096, &mlen);
			int64		id = 0;
			bool		well_formed;
			Camera	   *cam;

			if (m == NULL)
			{
				redis_malformed(redis, "ZRANGE of a schedule: a member that is not a string of at most 4096 bytes");
				continue;
			}
			/* a member of another shape is removed: no camera has it */
			well_formed = mlen <= MEMBER_MAX && memchr(m, '\0', mlen) == NULL && member_camera_id(m, &id);
			cam = well_formed ? hash_search(fresh, &id, HASH_FIND, NULL) : NULL;

			if (!camera_has_check(cam, c) || strcmp(m, member_of(cam, c)) != 0)
			{
				const char *argv[] = {"ZREM", redis_key("schedule:%s", check_names[c]), m};
				size_t		lens[] = {4, strlen(argv[1]), mlen};

				redis_queuev(redis, 3, argv, lens);
				nqueued++;
				if (cam == NULL && well_formed)
				{
					const char *del[] = {"DEL", redis_key("camera:" INT64_FORMAT, id)};

					queue_command(2, del);
					nqueued++;
				}
			}
		}
	}

	/* wanted members: added where missing, due within one interval */
	hash_seq_init(&seq, fresh);
	while ((old = hash_seq_search(&seq)) != NULL)
	{
		queue_camera_hash(old);
		nqueued++;
		for (int c = 0; c < NUM_CHECKS; c++)
		{
			const char *argv[5];

			if (!camera_has_check(old, c))
				continue;
			argv[0] = "ZADD";
			argv[1] = redis_key("schedule:%s", check_names[c]);
			argv[2] = "NX";
			argv[3] = int64_str(now + spread_ms(old->id, old->interval_s[c]));
			argv[4] = member_of(old, c);
			queue_command(5, argv);
			nqueued++;
		}
	}
	ensure_groups(&nqueued);
	{
		const char *argv[] = {"SET", redis_key("meta:instance"), int64_str(now)};

		queue_command(3, argv);
		nqueued++;
	}
	if (!drain_replies(nqueued))
		goto failed;
	for (int c = 0; c < NUM_CHECKS; c++)
		freeReplyObject(members[c]);

	/* the new table replaces the old one */
	if (cameras_context != NULL)
		MemoryContextDelete(cameras_context);
	cameras = fresh;
	sites = fresh_sites;
	cameras_context = fresh_context;
	elog(DEBUG1, "camera_health scheduler: %ld cameras scheduled", hash_get_num_entries(cameras));
	/* tasks left in the queues of sites without an agent (a restart, an outage) */
	if (!move_orphaned_tasks(false))
		return false;
	/* references change rarely and are big: copied only when Redis lost them */
	return !redis_lost_data || mirror_references(NULL, 0);

failed:
	for (int c = 0; c < NUM_CHECKS; c++)
		if (members[c] != NULL)
			freeReplyObject(members[c]);
	MemoryContextDelete(fresh_context);
	return false;
}

/*
 * Apply the changes to a few cameras: new or changed checks are due now,
 * dropped ones leave the schedule, the camera hash follows.
 */
static bool
sync_cameras(const int64 *ids, int nids)
{
	List	   *list = load_cameras(ids, nids);
	int64		now = ch_now_ms();
	int			nqueued = 0;

	for (int i = 0; i < nids; i++)
	{
		Camera	   *want = NULL;
		Camera	   *have = hash_search(cameras, &ids[i], HASH_FIND, NULL);
		ListCell   *lc;

		foreach(lc, list)
			if (((Camera *) lfirst(lc))->id == ids[i])
				want = lfirst(lc);

		for (int c = 0; c < NUM_CHECKS; c++)
		{
			char	   *old_member = camera_has_check(have, c) ? member_of(have, c) : NULL;
			char	   *new_member = camera_has_check(want, c) ? member_of(want, c) : NULL;

			if (old_member && new_member && strcmp(old_member, new_member) == 0)
				continue;
			if (old_member)
			{
				const char *argv[] = {"ZREM", redis_key("schedule:%s", check_names[c]), old_member};

				queue_command(3, argv);
				nqueued++;
			}
			if (new_member)
			{
				const char *argv[] = {"ZADD", redis_key("schedule:%s", check_names[c]), int64_str(now), new_member};

				queue_command(4, argv);
				nqueued++;
			}
		}
		if (want)
		{
			queue_camera_hash(want);
			if (have)
				free_camera_strings(have);
			else
				have = hash_search(cameras, &ids[i], HASH_ENTER, NULL);
			keep_camera(have, want, sites, cameras_context);
		}
		else
		{
			const char *argv[] = {"DEL", redis_key("camera:" INT64_FORMAT, ids[i])};

			queue_command(2, argv);
			if (have)
			{
				free_camera_strings(have);
				hash_search(cameras, &ids[i], HASH_REMOVE, NULL);
			}
		}
		nqueued++;
	}
	return drain_replies(nqueued) && mirror_references(ids, nids);
}

/*
 * Queue one task on the stream of its check type: the site's, when an
 * agent serves the camera's site, else the database's.
 */
static void
queue_task(const Camera *cam, CheckType c, const char *due)
{
	const char *argv[28];
	int			n = 0;
	bool		at_site = cam->site != NULL && cam->site->live;

	argv[n++] = "XADD";
	if (at_site)
		argv[n++] = redis_key(c == CHECK_VISION ? CH_KEY_SITE_QUEUE_VISION : CH_KEY_SITE_QUEUE_NETWORK,
							  cam->site_key);
	else
		argv[n++] = redis_key("%s", c == CHECK_VISION ? CH_KEY_QUEUE_VISION : CH_KEY_QUEUE_NETWORK);
	argv[n++] = "MAXLEN";
	argv[n++] = "~";
	argv[n++] = QUEUE_MAXLEN;
	argv[n++] = "*";
	argv[n++] = "camera_id";
	argv[n++] = int64_str(cam->id);
	argv[n++] = "check";
	argv[n++] = check_names[c];
	argv[n++] = "ip";
	argv[n++] = cam->ip;
	argv[n++] = "port";
	argv[n++] = psprintf("%d", cam->port);
	argv[n++] = "due_ms";
	argv[n++] = due;
	argv[n++] = "interval_ms";
	argv[n++] = psprintf("%d", cam->interval_s[c] * 1000);
	if (c == CHECK_VISION)
	{
		argv[n++] = "url";
		argv[n++] = cam->rtsp_url;
	}
	else if (at_site)
	{
		/* an agent probes with the database's settings */
		argv[n++] = "timeout_ms";
		argv[n++] = psprintf("%d", c == CHECK_IP ? camera_health_ip_timeout : camera_health_port_timeout);
		argv[n++] = "threshold_ms";
		argv[n++] = psprintf("%g", camera_health_high_latency);
	}
	redis_queuev(redis, n, argv, NULL);
}

/* Claim every due check of one type and queue it; false on Redis failure. */
static bool
dispatch_due(CheckType c)
{
	/* bounded, so that a Redis that always answers a full batch cannot keep us from signals */
	for (int round = 0; round < MAX_CLAIM_ROUNDS; round++)
	{
		const char *argv[] = {"EVAL", claim_script, "1", redis_key("schedule:%s", check_names[c]),
		int64_str(ch_now_ms()), CppAsString2(CLAIM_BATCH)};
		redisReply *due = redis_runv(redis, lengthof(argv), argv, NULL);
		int			nqueued = 0;
		size_t		nclaimed;

		if (due == NULL)
			return false;
		if (!ch_reply_is_array(due, 0, 2 * CLAIM_BATCH) || due->elements % 2 != 0)
		{
			const char *error = ch_reply_error(due, 1000);

			if (error)
				ereport(LOG, (errmsg("camera_health scheduler: claiming due checks failed: %s", error)));
			else
				redis_malformed(redis, "EVAL (claim): not member, score pairs");
			freeReplyObject(due);
			return false;
		}
		for (size_t i = 0; i + 1 < due->elements; i += 2)
		{
			const char *m = ch_reply_cstr(ch_reply_elem(due, i), MEMBER_MAX);
			const char *score = ch_reply_cstr(ch_reply_elem(due, i + 1), 32);
			int64		id;
			int64		due_ms;
			Camera	   *cam;

			if (m == NULL || score == NULL || !member_camera_id(m, &id) ||
				!ch_parse_int64(score, 0, PG_INT64_MAX / 2, &due_ms))
			{
				redis_malformed(redis, "EVAL (claim): a member or score of the wrong form");
				continue;
			}
			cam = hash_search(cameras, &id, HASH_FIND, NULL);
			/* a member the next resync removes */
			if (!camera_has_check(cam, c))
				continue;
			queue_task(cam, c, score);
			nqueued++;
		}
		nclaimed = due->elements / 2;
		freeReplyObject(due);
		if (!drain_replies(nqueued))
			return false;
		if (nclaimed < CLAIM_BATCH)
			return true;
	}
	return true;				/* the rest next tick */
}

static bool
redis_lost_data(void)
{
	redisReply *reply = redis_run(redis, "EXISTS %s", redis_key("meta:instance"));
	bool		lost;
	long long	exists = 0;

	if (reply == NULL)
		return true;
	/* anything but 1 is taken as lost: a full resync sets everything right */
	if (!ch_reply_int(reply, 0, 1, &exists))
		redis_malformed(redis, "EXISTS: not 0 or 1");
	lost = exists != 1;
	freeReplyObject(reply);
	return lost;
}

void
ch_scheduler_main(Datum main_arg)
{
	bool		need_resync = true;
	bool		first_sync = true;
	int64		last_resync = 0;
	int64		next_agents = 0;

	ch_worker_start("scheduler");

	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->database_oid = MyDatabaseId;
	ch_shared->scheduler_latch = MyLatch;
	SpinLockRelease(&ch_shared->mutex);
	before_shmem_exit(scheduler_detach, 0);

	redis = redis_link_create("scheduler");
	tick_context = AllocSetContextCreate(TopMemoryContext, "camera_health scheduler tick",
										 ALLOCSET_DEFAULT_SIZES);
	changes_buffer = MemoryContextAlloc(TopMemoryContext, CH_MAX_PENDING_CHANGES * sizeof(int64));

	for (;;)
	{
		MemoryContext old;

		if (ch_worker_interrupts())
		{
			redis_link_reset(redis);
			need_resync = true;
		}

		old = MemoryContextSwitchTo(tick_context);
		if (redis_link_up(redis))
		{
			int64	   *ids = changes_buffer;
			bool		all;
			int			n = ch_take_changes(ids, &all);
			bool		ok = true;
			bool		lost = redis_lost_data();

			if (all || lost || ch_now_ms() - last_resync >= RESYNC_EVERY_MS)
				need_resync = true;
			if (need_resync)
			{
				ok = full_sync(lost || first_sync);
				first_sync = false;
				if (ok)
				{
					need_resync = false;
					last_resync = ch_now_ms();
				}
			}
			else if (n > 0)
				ok = sync_cameras(ids, n);
			if (ok && sites != NULL && (new_sites || ch_now_ms() >= next_agents))
			{
				new_sites = false;
				ok = refresh_agents();
				next_agents = ch_now_ms() + AGENTS_EVERY_MS;
			}

			for (int c = 0; ok && c < NUM_CHECKS; c++)
				ok = dispatch_due(c);
			/* whatever failed half-way, the next resync sets right */
			if (!ok)
				need_resync = true;
			pgstat_report_activity(STATE_IDLE, NULL);
		}
		ch_worker_check_memory(tick_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_context);

		ch_worker_wait(TICK_MS);
	}
}
