/*
 * history_pack.c
 *	  Packing the checks of finished hours from check_recent into
 *	  check_history (see sql/14_history.sql).
 *
 * Ingest writes every check to check_recent, a narrow row each; once its
 * hour is over, camera_health.pack_history() moves a camera's checks of the
 * hour into one row per check type.  A pass goes over the cameras in id
 * order, PACK_CAMERAS per transaction, so that no transaction holds more
 * than a few seconds of the fleet's checks and ingest, which runs the
 * passes between its batches, never waits long.  A pass starts when a new
 * hour begins, and every PACK_SWEEP_MS anyway for checks that came late.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "history_pack.h"
#include "worker.h"

#define PACK_CAMERAS 100		/* cameras per transaction */
#define PACK_SWEEP_MS (10 * 60 * 1000)
#define HOUR_MS ((int64) 3600 * 1000)

static int64 pass_after = 0;	/* the last camera packed in the current pass */
static bool pass_running = false;
static int64 pass_hour = -1;	/* the hour (ms) the last pass started in */
static int64 pass_started_ms = 0;

/* Pack the next group; false when the pass has reached the last camera. */
static bool
pack_group(int64 *packed)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(pass_after), Int32GetDatum(PACK_CAMERAS)};
	bool		isnull;
	int64		last;
	bool		more;

	ch_spi_begin("camera_health: packing check history");
	if (SPI_execute_with_args("SELECT last_camera, packed FROM camera_health.pack_history($1, $2)",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "camera_health.pack_history failed");
	last = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	more = !isnull;
	*packed += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	ch_spi_commit();
	/* only once committed: a group that failed is packed again */
	pass_after = more ? last : 0;
	return more;
}

void
ch_pack_history_step(void)
{
	MemoryContext caller = CurrentMemoryContext;
	int64		now = ch_now_ms();
	int64		packed = 0;

	if (!pass_running)
	{
		if (now / HOUR_MS == pass_hour && now - pass_started_ms < PACK_SWEEP_MS)
			return;
		pass_running = true;
		pass_hour = now / HOUR_MS;
		pass_started_ms = now;
		pass_after = 0;
	}
	PG_TRY();
	{
		pass_running = pack_group(&packed);
	}
	PG_CATCH();
	{
		ErrorData  *edata = ch_recover_from_error(caller);
		static int64 last_logged = 0;

		if (now - last_logged >= 60000)
		{
			ereport(LOG,
					(errmsg("camera_health: packing check history failed: %s", edata->message),
					 errdetail("The checks stay in check_recent, readable; packing is tried again shortly. "
							   "(Logged at most once a minute.)")));
			last_logged = now;
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

int64
ch_pack_history_all(void)
{
	int64		packed = 0;

	pass_after = 0;
	while (pack_group(&packed))
		ch_worker_interrupts();
	pass_running = false;
	return packed;
}
