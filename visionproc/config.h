/*
 * config.h
 *	  visionproc's settings (command-line options).
 */
#ifndef VISIONPROC_CONFIG_H
#define VISIONPROC_CONFIG_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VisionConfig
{
	const char *redis_url;		/* --redis, --redis-url-file or $VISIONPROC_REDIS_URL */
	const char *key_prefix;		/* --key-prefix, as camera_health.key_prefix */
	int			workers;		/* --workers */
	int			grabs;			/* --grabs: grabs in flight per worker */
	int			grab_timeout_ms;	/* --grab-timeout: a whole grab */
	int			io_timeout_ms;	/* --io-timeout: one socket operation */
	int			frozen_gap_ms;	/* --frozen-gap: between two frames compared */
	int			frozen_frames;	/* --frozen-frames: frames after the first */
	int			claim_idle_ms;	/* --claim-idle: a task pending this long is taken over */
	int64_t		max_pixels;		/* --max-pixels: the largest frame decoded */
	int			max_memory_mb;	/* --max-memory: each worker's address space (RLIMIT_AS); 0 none */
	bool		allow_files;	/* --allow-files: task URLs may be local paths (tests) */
} VisionConfig;

/* The worker process: takes vision tasks until *stop is set. */
extern int	worker_main(const VisionConfig *cfg, volatile sig_atomic_t *stop);

/* Forks cfg->workers workers, restarts any that dies, stops on SIGTERM. */
extern int	supervise(const VisionConfig *cfg);

/* visionproc analyze --reference REF IMAGE [--later IMAGE] */
extern int	analyze_main(int argc, char **argv);

#endif							/* VISIONPROC_CONFIG_H */
