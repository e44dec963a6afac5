/*
 * init.c
 *	  Module load: GUCs, the log scrubber and (when preloaded) the workers.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "guc.h"
#include "log_scrub.h"
#include "shmem.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	camera_health_define_gucs();
	log_scrub_install();

	if (!process_shared_preload_libraries_in_progress)
	{
		ereport(WARNING,
				(errmsg("camera_health is not in shared_preload_libraries: its background workers are not running"),
				 errdetail("The SQL API works, but no camera is checked."),
				 errhint("Add camera_health to shared_preload_libraries in postgresql.conf and restart the server.")));
		return;
	}
	ch_shmem_install_hooks();
	ch_register_workers();
}
