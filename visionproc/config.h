/*
 * config.h
 *	  visionproc's settings (command-line options).
 */
#ifndef VISIONPROC_CONFIG_H
#define VISIONPROC_CONFIG_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define VISION_MAX_SITES 64		/* --sites: served by one agent */
#define VISION_KEY_MAX 2600		/* a key: prefix + name + encoded site (redis_keys.h) */

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
	/* a site agent (--sites): its sites, its name, its network probes */
	const char *sites[VISION_MAX_SITES];
	int			nsites;
	const char *agent_name;		/* --agent-name: consumer and heartbeat name */
	int			agent_claim_idle_ms;	/* --agent-claim-idle: network tasks of a dead agent */
	int			max_probes;		/* --max-probes: network probes at once */
	/* the queues the vision workers read (no prefix): queue:vision, or the sites' */
	const char *vision_queues[VISION_MAX_SITES];
	int			nvision_queues;
} VisionConfig;

/* The worker process: takes vision tasks until *stop is set. */
extern int	worker_main(const VisionConfig *cfg, volatile sig_atomic_t *stop);

/* The site agent process (agent.c): the sites' ip and port checks until *stop is set. */
extern int	agent_main(const VisionConfig *cfg, volatile sig_atomic_t *stop);

/* Forks cfg->workers workers (and the agent, with --sites), restarts any that dies, stops on SIGTERM. */
extern int	supervise(const VisionConfig *cfg);

/* visionproc analyze --reference REF IMAGE [--later IMAGE] */
extern int	analyze_main(int argc, char **argv);

#endif							/* VISIONPROC_CONFIG_H */
