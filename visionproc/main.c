/*
 * main.c
 *	  visionproc: camera_health's vision program.
 *
 *	  visionproc [--redis URL] [--workers N] [--key-prefix P] [--grab-timeout MS]
 *	             [--io-timeout MS] [--frozen-gap MS] [--frozen-frames N] [--claim-idle MS]
 *	  visionproc analyze --reference REF IMAGE [--later IMAGE]
 */
#include <curl/curl.h>
#include <getopt.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "redis_url.h"
#include "vision.h"

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: visionproc [options]         take vision tasks from camera_health's Redis\n"
			"       visionproc analyze --reference REF IMAGE [--later IMAGE]\n"
			"\n"
			"options:\n"
			"  --redis URL          Redis of camera_health (default redis://127.0.0.1:6379/0)\n"
			"  --key-prefix P       as camera_health.key_prefix (default empty)\n"
			"  --workers N          worker processes (default: the number of cores)\n"
			"  --grab-timeout MS    the longest a grab may take, connect included (default 8000)\n"
			"  --io-timeout MS      the longest one socket operation may take (default 3000)\n"
			"  --frozen-gap MS      time between two frames compared for frozen video (default 1000)\n"
			"  --frozen-frames N    frames taken after the first, frozen-gap apart (default 2, at most 4)\n"
			"  --claim-idle MS      take over tasks pending this long in a dead worker (default 30000)\n");
}

static int
positive(const char *opt, const char *arg)
{
	char	   *end;
	long		v = strtol(arg, &end, 10);

	if (*end != '\0' || v < 1 || v > 3600000)
	{
		fprintf(stderr, "visionproc: %s must be a positive number, not \"%s\"\n", opt, arg);
		exit(2);
	}
	return (int) v;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"redis", required_argument, NULL, 'r'},
		{"key-prefix", required_argument, NULL, 'k'},
		{"workers", required_argument, NULL, 'w'},
		{"grab-timeout", required_argument, NULL, 'g'},
		{"io-timeout", required_argument, NULL, 'i'},
		{"frozen-gap", required_argument, NULL, 'f'},
		{"frozen-frames", required_argument, NULL, 'n'},
		{"claim-idle", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	VisionConfig cfg = {"redis://127.0.0.1:6379/0", "", 0, 8000, 3000, 1000, 2, 30000};
	RedisUrl	parsed;
	const char *reason;
	int			c;

	if (argc > 1 && strcmp(argv[1], "analyze") == 0)
		return analyze_main(argc - 1, argv + 1);

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'r':
				cfg.redis_url = optarg;
				break;
			case 'k':
				cfg.key_prefix = optarg;
				break;
			case 'w':
				cfg.workers = positive("--workers", optarg);
				break;
			case 'g':
				cfg.grab_timeout_ms = positive("--grab-timeout", optarg);
				break;
			case 'i':
				cfg.io_timeout_ms = positive("--io-timeout", optarg);
				break;
			case 'f':
				cfg.frozen_gap_ms = positive("--frozen-gap", optarg);
				break;
			case 'n':
				cfg.frozen_frames = positive("--frozen-frames", optarg);
				if (cfg.frozen_frames > VISION_MAX_LATER)
				{
					fprintf(stderr, "visionproc: --frozen-frames is at most %d\n", VISION_MAX_LATER);
					return 2;
				}
				break;
			case 'c':
				cfg.claim_idle_ms = positive("--claim-idle", optarg);
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
	{
		usage(stderr);
		return 2;
	}
	if (!redis_url_parse(cfg.redis_url, &parsed, &reason))
	{
		fprintf(stderr, "visionproc: invalid --redis URL: %s\n", reason);
		return 2;
	}
	if (cfg.workers == 0)
		cfg.workers = (int) sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg.workers < 1)
		cfg.workers = 1;

	/* once, before fork: both keep global state */
	avformat_network_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	vlog_capture_ffmpeg();
	return supervise(&cfg);
}
