/*
 * notify.c
 *	  The cameras_changed trigger: remembers which cameras a transaction
 *	  changed and tells the scheduler when, and only if, it commits.
 *
 * A camera registered in a transaction that rolls back must never be
 * scheduled, and a committed one should be within a second; so nothing
 * reaches the scheduler before XACT_EVENT_COMMIT, which runs once the
 * changes are visible to other sessions.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "shmem.h"

PG_FUNCTION_INFO_V1(ch_cameras_changed);

static int64 *changed_ids = NULL;	/* in TopTransactionContext */
static int	nchanged = 0;
static int	changed_cap = 0;
static bool changed_all = false;
static bool callback_registered = false;

static void
cameras_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (nchanged > 0 || changed_all)
				ch_publish_changes(changed_ids, nchanged, changed_all);
			/* fall through */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* memory goes with TopTransactionContext */
			changed_ids = NULL;
			nchanged = changed_cap = 0;
			changed_all = false;
			break;
		default:
			break;
	}
}

static void
remember_change(int64 camera_id)
{
	if (nchanged == changed_cap)
	{
		if (changed_ids == NULL)
		{
			changed_cap = 64;
			changed_ids = MemoryContextAlloc(TopTransactionContext, changed_cap * sizeof(int64));
		}
		else if (changed_cap >= CH_MAX_PENDING_CHANGES)
		{
			/* more than the scheduler's queue holds: it resyncs everything */
			changed_all = true;
			return;
		}
		else
		{
			changed_cap *= 2;
			changed_ids = repalloc(changed_ids, changed_cap * sizeof(int64));
		}
	}
	changed_ids[nchanged++] = camera_id;
}

/*
 * The column that holds the camera id: the one the trigger's argument
 * names (CREATE TRIGGER ... EXECUTE FUNCTION cameras_changed('camera_id')),
 * or, for triggers created without one (1.0), the first column.  It must be
 * a bigint: anything else is a mistake in the trigger's definition.
 */
static AttrNumber
camera_id_column(Relation rel, Trigger *trigger)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	attnum = 1;

	if (trigger->tgnargs > 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cameras_changed() takes at most one argument, the name of the camera id column")));
	if (trigger->tgnargs == 1)
	{
		attnum = InvalidAttrNumber;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), trigger->tgargs[0]) == 0)
				attnum = att->attnum;
		}
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("cameras_changed(): table \"%s\" has no column \"%s\"",
							RelationGetRelationName(rel), trigger->tgargs[0])));
	}
	if (desc->natts < attnum || TupleDescAttr(desc, attnum - 1)->atttypid != INT8OID ||
		TupleDescAttr(desc, attnum - 1)->attisdropped)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cameras_changed(): the camera id column of table \"%s\" must be a bigint",
						RelationGetRelationName(rel)),
				 errhint("Name the column in the trigger's argument.")));
	return attnum;
}

static int64
camera_id_of(Relation rel, AttrNumber attnum, HeapTuple tuple)
{
	bool		isnull;
	Datum		id = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);

	return isnull ? 0 : DatumGetInt64(id);
}

Datum
ch_cameras_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cameras_changed() may only be called as a trigger")));

	/* without preload there is no scheduler to tell */
	if (ch_shared == NULL)
		return PointerGetDatum(NULL);

	if (!callback_registered)
	{
		RegisterXactCallback(cameras_xact_callback, NULL);
		callback_registered = true;
	}

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		changed_all = true;
	else
	{
		AttrNumber	attnum = camera_id_column(trigdata->tg_relation, trigdata->tg_trigger);

		remember_change(camera_id_of(trigdata->tg_relation, attnum, trigdata->tg_trigtuple));
		/* an update may change the id itself */
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		{
			int64		new_id = camera_id_of(trigdata->tg_relation, attnum, trigdata->tg_newtuple);

			if (new_id != changed_ids[nchanged - 1])
				remember_change(new_id);
		}
	}
	return PointerGetDatum(NULL);
}
