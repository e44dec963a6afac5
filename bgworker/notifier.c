/*
 * notifier.c
 *	  The notifier worker: plans notifications (plan_notifications(), see
 *	  sql/10_notify.sql) and delivers them with libcurl's multi interface,
 *	  webhooks and Slack by HTTP POST, email by SMTP.
 *
 * Each iteration, in short transactions of their own: plan and fetch what
 * may be sent now (next_notifications(): at most notify_max_in_flight per
 * channel, in sequence order), then, with no transaction open, drive the
 * transfers, then record each finished attempt (record_delivery(): sent,
 * retried after a backoff, or set aside).  A transfer is bounded by
 * notify_connect_timeout and notify_timeout, so a receiver that accepts
 * and never answers holds up only its own channel, and never a check or
 * ingest (other processes) nor another channel (the same multi handle).
 *
 * A notification is marked sent only once its receiver accepted it; until
 * then it stays pending, across restarts.  On SIGTERM no transfer is
 * started any more, the running ones finish (within their timeout) and
 * are recorded, and then the worker exits: after a clean shutdown nothing
 * is sent twice.  (After a crash, what was in flight is sent again: the
 * notification id in the body and header lets a receiver drop it.)
 *
 * The worker is woken by the alert triggers at commit
 * (extension/notifier_wake.c) and polls every second regardless, for
 * retries, reminders and the end of group waits and maintenance windows.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "url.h"
#include "shmem.h"
#include "worker.h"

PGDLLEXPORT void ch_notifier_main(Datum main_arg);

#define MAX_TRANSFERS 256		/* in flight, all channels together */
#define PLAN_EVERY_MS 1000		/* poll at least this often */
#define PRUNE_EVERY_MS 60000
#define BUSY_POLL_MS 50			/* while transfers run: latch checks */

typedef struct Transfer
{
	CURL	   *easy;
	int64		notification_id;
	int64		channel_id;
	int64		sequence;
	bool		email;
	char	   *target;
	char	   *signature;		/* the X-Camera-Health-Signature header, or NULL */
	char	   *email_from;
	char	   *email_to;
	char	   *payload;
	size_t		len;
	size_t		sent;			/* email: bytes handed to libcurl so far */
	struct curl_slist *headers;
	struct curl_slist *rcpt;
	TimestampTz started;
	bool		done;
	CURLcode	result;
	long		code;
	char		errbuf[CURL_ERROR_SIZE];
} Transfer;

static CURLM *multi = NULL;
static Transfer *inflight[MAX_TRANSFERS];
static int	ninflight = 0;
static MemoryContext transfer_context = NULL;

/* A receiver's answer is not read: only its status counts. */
static size_t
discard_response(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return size * nmemb;
}

/* libcurl reads the email message from here. */
static size_t
read_payload(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Transfer   *t = userdata;
	size_t		n = Min(size * nitems, t->len - t->sent);

	memcpy(buffer, t->payload + t->sent, n);
	t->sent += n;
	return n;
}

/* "sha256=<hex HMAC-SHA256 of body keyed by secret>", or NULL on failure. */
static char *
signature_header(const char *secret, const char *body, size_t len)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	bool		ok;

	if (ctx == NULL)
		return NULL;
	ok = pg_hmac_init(ctx, (const uint8 *) secret, strlen(secret)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) body, len) == 0 &&
		pg_hmac_final(ctx, mac, sizeof(mac)) == 0;
	pg_hmac_free(ctx);
	if (!ok)
		return NULL;
	hex_encode((const char *) mac, sizeof(mac), hex);
	hex[sizeof(hex) - 1] = '\0';
	return psprintf("X-Camera-Health-Signature: sha256=%s", hex);
}

static struct curl_slist *
must_append(struct curl_slist *list, const char *s)
{
	struct curl_slist *l = curl_slist_append(list, s);

	if (l == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return l;
}

/* Set up the easy handle of t; false (with t->errbuf) when it cannot start. */
static bool
prepare_transfer(Transfer *t)
{
	CURL	   *e = curl_easy_init();

	if (e == NULL)
	{
		strlcpy(t->errbuf, "curl_easy_init failed", sizeof(t->errbuf));
		return false;
	}
	t->easy = e;
	/* libcurl ends the authority at the first '/', '?' or '#', even in a password */
	{
		char	   *url = palloc(MASK_SECRETS_BUFSIZE(strlen(t->target)));

		url_for_client(t->target, url);
		curl_easy_setopt(e, CURLOPT_URL, url);	/* (copied by libcurl) */
		explicit_bzero(url, strlen(url));
		pfree(url);
	}
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) camera_health_notify_connect_timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) camera_health_notify_timeout);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_response);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (t->email)
	{
		char	   *to = t->email_to;
		char	   *next;

		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, t->email_from);
		for (; to != NULL && *to; to = next)
		{
			next = strchr(to, '\n');
			if (next)
				*next++ = '\0';
			t->rcpt = must_append(t->rcpt, to);
		}
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_payload);
		curl_easy_setopt(e, CURLOPT_READDATA, t);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t) t->len);
	}
	else
	{
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		t->headers = must_append(t->headers, "Content-Type: application/json");
		t->headers = must_append(t->headers, "User-Agent: camera_health");
		t->headers = must_append(t->headers, "Expect:");
		t->headers = must_append(t->headers, psprintf("X-Camera-Health-Notification: " INT64_FORMAT, t->notification_id));
		t->headers = must_append(t->headers, psprintf("X-Camera-Health-Sequence: " INT64_FORMAT, t->sequence));
		if (t->signature != NULL)
			t->headers = must_append(t->headers, t->signature);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->payload);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) t->len);
	}
	return true;
}

static char *
copy_value(HeapTuple tuple, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tuple, desc, col);

	return v ? MemoryContextStrdup(transfer_context, v) : NULL;
}

/* In a transaction: plan (when asked to), then take what may start now (copied out). */
static int
plan_and_fetch(Transfer **fresh, int room, bool plan)
{
	Datum	   *ids = palloc(sizeof(Datum) * (ninflight + 1));
	Oid			types[3] = {INT8ARRAYOID, INT4OID, INT4OID};
	Datum		values[3];
	int			n = 0;

	for (int i = 0; i < ninflight; i++)
		ids[i] = Int64GetDatum(inflight[i]->notification_id);
	values[0] = PointerGetDatum(construct_array(ids, ninflight, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = Int32GetDatum(camera_health_notify_max_in_flight);
	values[2] = Int32GetDatum(room);

	ch_spi_begin(plan ? "camera_health notifier: planning" : "camera_health notifier: fetching");
	if (plan && SPI_execute("SELECT camera_health.plan_notifications()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "plan_notifications failed");
	if (SPI_execute_with_args("SELECT notification_id, channel_id, sequence, kind, target, secret, "
							  "email_from, email_to, payload FROM camera_health.next_notifications($1, $2, $3)",
							  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "next_notifications failed");
	for (uint64 r = 0; r < SPI_processed && n < room; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Transfer   *t = MemoryContextAllocZero(transfer_context, sizeof(Transfer));
		char	   *kind = SPI_getvalue(tup, desc, 4);

		t->notification_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->channel_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		t->sequence = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		t->email = strcmp(kind, "email") == 0;
		t->target = copy_value(tup, desc, 5);
		t->email_from = copy_value(tup, desc, 7);
		t->email_to = copy_value(tup, desc, 8);
		t->payload = copy_value(tup, desc, 9);
		t->len = strlen(t->payload);

		/*
		 * Signed here, in the transaction: the backend's HMAC (OpenSSL) needs
		 * a resource owner.
		 */
		if (!t->email)
		{
			char	   *secret = SPI_getvalue(tup, desc, 6);

			if (secret != NULL)
			{
				char	   *sig = signature_header(secret, t->payload, t->len);

				explicit_bzero(secret, strlen(secret));
				if (sig == NULL)
					elog(ERROR, "computing the HMAC-SHA256 signature failed");
				t->signature = MemoryContextStrdup(transfer_context, sig);
			}
		}
		fresh[n++] = t;
	}
	ch_spi_commit();
	return n;
}

static void
free_transfer(Transfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->headers);
	curl_slist_free_all(t->rcpt);
	if (t->signature)
		pfree(t->signature);
	pfree(t->target);
	pfree(t->payload);
	if (t->email_from)
		pfree(t->email_from);
	if (t->email_to)
		pfree(t->email_to);
	pfree(t);
}

static bool plan_next = true;

/*
 * Plan (when plan_next: woken by an alert, or a second since the last
 * plan), fetch and start what is due; transfers that cannot start count as
 * failed attempts.
 */
static void
start_due(void)
{
	Transfer   *fresh[MAX_TRANSFERS];
	int			n;

	if (ninflight >= MAX_TRANSFERS)
		return;
	n = plan_and_fetch(fresh, MAX_TRANSFERS - ninflight, plan_next);
	for (int i = 0; i < n; i++)
	{
		Transfer   *t = fresh[i];

		/* (header strings go to the loop context: libcurl copies them) */
		t->started = GetCurrentTimestamp();
		if (!prepare_transfer(t) || curl_multi_add_handle(multi, t->easy) != CURLM_OK)
		{
			t->done = true;
			t->result = CURLE_FAILED_INIT;
			if (t->errbuf[0] == '\0')
				strlcpy(t->errbuf, "the transfer could not be started", sizeof(t->errbuf));
		}
		inflight[ninflight++] = t;
	}
}

/* Mark the transfers libcurl finished; true when any did. */
static bool
collect_finished(void)
{
	CURLMsg    *msg;
	int			left;
	bool		any = false;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		Transfer   *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t == NULL)
			continue;
		t->done = true;
		t->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &t->code);
		any = true;
	}
	for (int i = 0; i < ninflight; i++)
		any |= inflight[i]->done;
	return any;
}

/* One transaction records every finished attempt; they leave inflight[]. */
static void
record_finished(void)
{
	Oid			types[8] = {INT8OID, TIMESTAMPTZOID, FLOAT8OID, BOOLOID, INT4OID, TEXTOID, FLOAT8OID, FLOAT8OID};
	int			kept = 0;
	TimestampTz now = GetCurrentTimestamp();

	ch_spi_begin("camera_health notifier: recording deliveries");
	for (int i = 0; i < ninflight; i++)
	{
		Transfer   *t = inflight[i];
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		bool		ok;
		char	   *error = NULL;
		char	   *outcome;

		if (!t->done)
			continue;
		ok = t->result == CURLE_OK && (t->email || (t->code >= 200 && t->code < 300));
		if (!ok)
			error = t->result != CURLE_OK ?
				psprintf("%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->result)) :
				psprintf("HTTP status %ld", t->code);
		values[0] = Int64GetDatum(t->notification_id);
		values[1] = TimestampTzGetDatum(t->started);
		values[2] = Float8GetDatum((now - t->started) / 1000.0);
		values[3] = BoolGetDatum(ok);
		values[4] = Int32GetDatum((int32) t->code);
		nulls[4] = t->code ? ' ' : 'n';
		values[5] = error ? CStringGetTextDatum(error) : (Datum) 0;
		nulls[5] = error ? ' ' : 'n';
		values[6] = Float8GetDatum((double) camera_health_notify_retry_max);
		values[7] = Float8GetDatum((double) camera_health_notify_max_age);
		if (SPI_execute_with_args("SELECT camera_health.record_delivery($1, $2, $3, $4, $5, $6, "
								  "$7 * interval '1 second', $8 * interval '1 second')",
								  8, types, values, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "record_delivery failed");
		outcome = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (!ok)
		{
			/*
			 * scheme://host only: no userinfo, no path (a Slack URL's path is
			 * its secret); last, as the log scrubber takes "scheme://host:"
			 * followed by text for a password cut short
			 */
			char		origin[256];

			if (url_origin(t->target, origin, sizeof(origin)) == 0)
				strlcpy(origin, "(the channel's target)", sizeof(origin));
			ereport(LOG,
					(errmsg("camera_health notifier: notification " INT64_FORMAT " (channel " INT64_FORMAT
							", sequence " INT64_FORMAT ") not delivered: %s; %s (target %s)",
							t->notification_id, t->channel_id, t->sequence, error,
							outcome == NULL ? "its channel is gone" :
							strcmp(outcome, "failed") == 0 ? "set aside as failed" : "retrying later",
							origin)));
		}
	}
	ch_spi_commit();

	for (int i = 0; i < ninflight; i++)
	{
		if (inflight[i]->done)
			free_transfer(inflight[i]);
		else
			inflight[kept++] = inflight[i];
	}
	ninflight = kept;
}

static void
prune(void)
{
	Oid			types[1] = {FLOAT8OID};
	Datum		values[1] = {Float8GetDatum((double) camera_health_notify_log_retention)};

	ch_spi_begin("camera_health notifier: pruning the delivery log");
	if (SPI_execute_with_args("SELECT camera_health.prune_notifications($1 * interval '1 second')",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "prune_notifications failed");
	ch_spi_commit();
}

/* Run a step; an error is logged and the worker goes on (the step is retried next time). */
static bool
run_step(void (*step) (void), const char *what)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		step();
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);

		ereport(LOG, (errmsg("camera_health notifier: %s: %s", what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

static void
notifier_detach(int code, Datum arg)
{
	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->notifier_latch = NULL;
	SpinLockRelease(&ch_shared->mutex);
}

/* Sleep until the latch, activity on a transfer, or timeout_ms; true when the latch was set. */
static bool
wait_for_work(long timeout_ms)
{
	int			rc;

	if (ninflight > 0)
	{
		int			numfds;

		curl_multi_poll(multi, NULL, 0, Min(timeout_ms, BUSY_POLL_MS), &numfds);
		if (!PostmasterIsAlive())
			proc_exit(1);
		timeout_ms = 0;
	}
	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
		ResetLatch(MyLatch);
	return (rc & WL_LATCH_SET) != 0;
}

void
ch_notifier_main(Datum main_arg)
{
	MemoryContext loop_context;
	int64		last_plan = 0;
	int64		last_prune = 0;
	bool		wake = true;		/* plan now: an alert changed */
	bool		fetch = false;	/* a transfer finished: start the next */

	ch_worker_start("notifier");
	/* SIGTERM: finish and record what is in flight, then exit (not die()) */
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	SpinLockAcquire(&ch_shared->mutex);
	ch_shared->notifier_latch = MyLatch;
	SpinLockRelease(&ch_shared->mutex);
	before_shmem_exit(notifier_detach, 0);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (multi = curl_multi_init()) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("camera_health notifier: libcurl could not be initialised")));
	loop_context = AllocSetContextCreate(TopMemoryContext, "camera_health notifier loop",
										 ALLOCSET_DEFAULT_SIZES);
	transfer_context = AllocSetContextCreate(TopMemoryContext, "camera_health notifier transfers",
											 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		bool		stopping = ShutdownRequestPending;
		int64		now;
		MemoryContext old;

		if (stopping && ninflight == 0)
			break;
		ch_worker_interrupts();
		old = MemoryContextSwitchTo(loop_context);
		now = ch_now_ms();
		if (!stopping && (wake || fetch || now - last_plan >= PLAN_EVERY_MS))
		{
			/* a finished transfer only frees a slot: no planning for that */
			plan_next = wake || now - last_plan >= PLAN_EVERY_MS;
			run_step(start_due, "planning");
			if (plan_next)
				last_plan = now;
			wake = fetch = false;
		}
		if (ninflight > 0)
		{
			int			running;

			curl_multi_perform(multi, &running);
			if (collect_finished())
			{
				/* (on failure they stay pending and are sent again) */
				if (!run_step(record_finished, "recording deliveries"))
				{
					int			kept = 0;

					for (int i = 0; i < ninflight; i++)
					{
						if (inflight[i]->done)
							free_transfer(inflight[i]);
						else
							inflight[kept++] = inflight[i];
					}
					ninflight = kept;
				}
				fetch = true;	/* the next notification of that channel */
			}
		}
		if (!stopping && now - last_prune >= PRUNE_EVERY_MS)
		{
			run_step(prune, "pruning");
			last_prune = now;
		}
		ch_worker_check_memory(loop_context);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);
		if ((wake || fetch) && !stopping)
			continue;
		if (wait_for_work(Max(1, PLAN_EVERY_MS - (ch_now_ms() - last_plan))))
			wake = true;
	}
	curl_multi_cleanup(multi);
	proc_exit(0);
}
