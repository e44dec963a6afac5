/*
 * main.c
 *	  visionproc: camera_health's vision program.
 *
 *	  visionproc [--redis URL | --redis-url-file FILE] [--workers N] [--grabs N] [--key-prefix P]
 *	             [--grab-timeout MS] [--io-timeout MS] [--frozen-gap MS] [--frozen-frames N]
 *	             [--claim-idle MS] [--max-pixels N] [--max-memory MB] [--allow-files]
 *	             [--sites S1,S2 | --site S ...] [--agent-name NAME] [--agent-claim-idle MS]
 *	             [--max-probes N]
 *	  visionproc analyze --reference REF IMAGE [--later IMAGE]
 *
 * The Redis URL can hold a password, and a process's command line is
 * world-readable (/proc/PID/cmdline, ps): it is best given in a file
 * (--redis-url-file, mode 0600) or in $VISIONPROC_REDIS_URL (the
 * environment is readable by the owner only).  A password given with
 * --redis is accepted, but overwritten in argv at once, which the log says.
 *
 * With --sites (or --site), visionproc is the agent of those sites: its
 * workers take the sites' vision tasks (queue:vision:site:{site}), and an
 * agent process (agent.c) their ip and port checks; see redis_keys.h.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "redis_keys.h"
#include "frame.h"
#include "log.h"
#include "redis_url.h"
#include "url.h"
#include "vision.h"

#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379/0"
#define REDIS_URL_MAX 1024

/*
 * Each worker's address space (RLIMIT_AS), by default: WORKER_BASE_MB for
 * the worker itself and GRAB_MEMORY_MB for each grab in flight.  Measured:
 * an idle worker maps 191 MB (FFmpeg's libraries and their dependencies),
 * its malloc arenas (at most four, worker.c) and thread stacks up to 300 MB
 * more; grabbing an H.264 768x576 stream takes 8 MB.  The largest frame
 * allowed (--max-pixels, 2^25 pixels) is 50 MB in YUV 4:2:0, and the
 * H.264/HEVC levels bound the decoded picture buffer by its size in
 * macroblocks (level 5.1: five 4K frames, 62 MB): 64 MB a grab lets every
 * real camera through when they are not all 4K at once, and a runaway
 * decoder fails its own grab long before it hurts the host.
 * (AddressSanitizer builds need --max-memory 0: ASan reserves terabytes of
 * address space.)
 */
#define WORKER_BASE_MB 512
#define GRAB_MEMORY_MB 64

/*
 * Grabs in flight per core, by default.  A grab of a live stream holds its
 * slot for about a second and costs some 30 to 80 ms of CPU: a few dozen
 * in flight per core keep the core busy, the rest is waiting.
 */
#define GRABS_PER_CORE 48
/* The share of the host's memory all workers' grabs may take by default. */
#define MEMORY_SHARE 4
#define MAX_GRABS 1024

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: visionproc [options]         take vision tasks from camera_health's Redis\n"
			"       visionproc analyze --reference REF IMAGE [--later IMAGE]\n"
			"\n"
			"options:\n"
			"  --redis URL          Redis of camera_health (default $VISIONPROC_REDIS_URL, else\n"
			"                       " DEFAULT_REDIS_URL "); a password in it is hidden from ps\n"
			"  --redis-url-file F   read the Redis URL from the file F (keeps a password off the\n"
			"                       command line)\n"
			"  --key-prefix P       as camera_health.key_prefix (default empty)\n"
			"  --workers N          worker processes (default: the number of cores)\n"
			"  --grabs N            grabs in flight in each worker (default: %d per core in all,\n"
			"                       within a quarter of the host's memory at %d MB a grab)\n"
			"  --grab-timeout MS    the longest a grab may take, connect included (default 8000)\n"
			"  --io-timeout MS      the longest one socket operation may take (default 3000)\n"
			"  --frozen-gap MS      time between two frames compared for frozen video (default 1000)\n"
			"  --frozen-frames N    frames taken after the first, frozen-gap apart (default 2, at most 4)\n"
			"  --claim-idle MS      take over tasks pending this long in a dead worker (default 30000)\n"
			"  --max-pixels N       refuse frames of more than N pixels (width * height) before\n"
			"                       decoding them (default 33554432, just above 8K UHD)\n"
			"  --max-memory MB      each worker's address-space limit (RLIMIT_AS); a grab that\n"
			"                       needs more fails, the worker goes on; 0: none (default\n"
			"                       %d + %d per grab in flight)\n"
			"  --allow-files        task URLs may be absolute paths of local files (tests only)\n"
			"\n"
			"site agent (cameras the database host cannot reach):\n"
			"  --sites S1,S2,...    serve these sites (camera_health.cameras.site): their ip, port\n"
			"                       and vision checks, instead of the database's prober and\n"
			"                       queue:vision (up to %d sites)\n"
			"  --site S             one site, taken as it is (a name holding a comma); repeatable\n"
			"  --agent-name NAME    this agent's name in results and heartbeats (default\n"
			"                       HOST-PID); two agents of a site need two names\n"
			"  --agent-claim-idle MS  take over network tasks pending this long at an agent that\n"
			"                       died (default 10000; at least the longest probe timeout + 5 s)\n"
			"  --max-probes N       network probes at once (default 1024)\n",
			GRABS_PER_CORE, GRAB_MEMORY_MB, WORKER_BASE_MB, GRAB_MEMORY_MB, VISION_MAX_SITES);
}

/*
 * How many grabs each worker keeps in flight, unless --grabs says: enough
 * to keep every core busy (GRABS_PER_CORE in all), within a share of the
 * host's memory.  Logged, with how it was reached.
 */
static void
size_grabs(VisionConfig *cfg, bool memory_given)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);
	long long	mem_mb = (long long) sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1024 * 1024);
	long long	by_memory = mem_mb / MEMORY_SHARE / GRAB_MEMORY_MB / cfg->workers;
	long long	by_cores = (cores > 0 ? cores : 1) * GRABS_PER_CORE / cfg->workers;
	bool		given = cfg->grabs > 0;

	if (!given)
		cfg->grabs = (int) (by_cores < by_memory ? by_cores : by_memory);
	if (cfg->grabs < 1)
		cfg->grabs = 1;
	if (!memory_given)
		cfg->max_memory_mb = WORKER_BASE_MB + cfg->grabs * GRAB_MEMORY_MB;
	if (given)
		vlog("%d workers, %d grabs in flight each (--grabs); address space %d MB each",
			 cfg->workers, cfg->grabs, cfg->max_memory_mb);
	else
		vlog("%d workers, %d grabs in flight each (%ld cores x %d; memory allows %lld: "
			 "a quarter of %lld MB at %d MB a grab); address space %d MB each",
			 cfg->workers, cfg->grabs, cores, GRABS_PER_CORE, by_memory, mem_mb, GRAB_MEMORY_MB,
			 cfg->max_memory_mb);
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

/* The first line of a file (the Redis URL), or exit. */
static char *
read_url_file(const char *path)
{
	static char buf[REDIS_URL_MAX + 2];
	FILE	   *f = fopen(path, "r");
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "visionproc: cannot read --redis-url-file %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	if (n > REDIS_URL_MAX)
	{
		fprintf(stderr, "visionproc: the URL in %s is too long\n", path);
		exit(2);
	}
	buf[n] = '\0';
	return buf;
}

/*
 * A password given on the command line: keep a copy, and overwrite the
 * argument in place (what /proc/PID/cmdline shows) with its masked form,
 * padded with NULs; if that is longer, every byte of the credentials
 * becomes '*'.  Workers forked later inherit the overwritten memory.
 */
static const char *
hide_password(char *arg)
{
	char	   *copy = strdup(arg);
	char		masked[MASK_SECRETS_BUFSIZE(REDIS_URL_MAX)];
	size_t		len = strlen(arg);

	if (copy == NULL)
	{
		fprintf(stderr, "visionproc: out of memory\n");
		exit(1);
	}
	if (!mask_secrets(copy, masked) || strlen(masked) > len)
	{
		char	   *from = strstr(arg, "://");
		char	   *at = strrchr(arg, '@');

		if (from && at && at > from)
			memset(from + 3, '*', at - from - 3);
		else
			memset(arg, '*', len);
	}
	else
	{
		memset(arg, 0, len);
		memcpy(arg, masked, strlen(masked));
	}
	return copy;
}

/*
 * Add a site to serve: 1 to 200 characters (as camera_health.cameras.site),
 * encodable as a key; a site given twice is served once.
 */
static void
add_site(VisionConfig *cfg, const char *site)
{
	char		enc[CH_SITE_KEY_MAX + 1];
	size_t		chars = 0;

	for (const unsigned char *p = (const unsigned char *) site; *p; p++)
		chars += (*p & 0xC0) != 0x80;	/* UTF-8: count the lead bytes */
	if (chars < 1 || chars > 200 || !ch_site_encode(site, strlen(site), enc, sizeof(enc)))
	{
		fprintf(stderr, "visionproc: a site is 1 to 200 characters, not \"%s\"\n", site);
		exit(2);
	}
	for (int i = 0; i < cfg->nsites; i++)
		if (strcmp(cfg->sites[i], site) == 0)
			return;
	if (cfg->nsites == VISION_MAX_SITES)
	{
		fprintf(stderr, "visionproc: at most %d sites per agent\n", VISION_MAX_SITES);
		exit(2);
	}
	cfg->sites[cfg->nsites++] = site;
}

/* --sites S1,S2: names separated by commas (a name with a comma: --site) */
static void
add_sites(VisionConfig *cfg, char *list)
{
	char	   *save = NULL;

	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save))
		add_site(cfg, s);
}

/* The agent's name, and the queues its vision workers read. */
static void
set_up_agent(VisionConfig *cfg)
{
	static char default_name[128];
	char		host[64];

	if (cfg->nsites == 0)
	{
		cfg->vision_queues[0] = CH_KEY_QUEUE_VISION;
		cfg->nvision_queues = 1;
		return;
	}
	if (cfg->agent_name == NULL)
	{
		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(default_name, sizeof(default_name), "%s-%d", host, (int) getpid());
		cfg->agent_name = default_name;
	}
	for (int i = 0; i < cfg->nsites; i++)
	{
		char		enc[CH_SITE_KEY_MAX + 1];
		char	   *key = malloc(VISION_KEY_MAX);

		if (key == NULL)
		{
			fprintf(stderr, "visionproc: out of memory\n");
			exit(1);
		}
		ch_site_encode(cfg->sites[i], strlen(cfg->sites[i]), enc, sizeof(enc));
		snprintf(key, VISION_KEY_MAX, CH_KEY_SITE_QUEUE_VISION, enc);
		cfg->vision_queues[i] = key;
	}
	cfg->nvision_queues = cfg->nsites;
}

static int64_t
parse_max_pixels(const char *arg)
{
	char	   *end;
	long long	v = strtoll(arg, &end, 10);

	/* at least a VGA frame, at most what av_image_check_size lets through */
	if (*end != '\0' || v < 640 * 480 || v > (1LL << 28))
	{
		fprintf(stderr, "visionproc: --max-pixels must be a number from %d to %lld, not \"%s\"\n",
				640 * 480, 1LL << 28, arg);
		exit(2);
	}
	return v;
}

static int
parse_max_memory(const char *arg)
{
	char	   *end;
	long		v = strtol(arg, &end, 10);

	if (*end != '\0' || (v != 0 && (v < 256 || v > 1024 * 1024)))
	{
		fprintf(stderr, "visionproc: --max-memory must be 0 or 256 to 1048576 (MB), not \"%s\"\n", arg);
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
		{"grabs", required_argument, NULL, 'G'},
		{"grab-timeout", required_argument, NULL, 'g'},
		{"io-timeout", required_argument, NULL, 'i'},
		{"frozen-gap", required_argument, NULL, 'f'},
		{"frozen-frames", required_argument, NULL, 'n'},
		{"claim-idle", required_argument, NULL, 'c'},
		{"redis-url-file", required_argument, NULL, 'R'},
		{"max-pixels", required_argument, NULL, 'p'},
		{"max-memory", required_argument, NULL, 'm'},
		{"allow-files", no_argument, NULL, 'a'},
		{"sites", required_argument, NULL, 'S'},
		{"site", required_argument, NULL, 's'},
		{"agent-name", required_argument, NULL, 'A'},
		{"agent-claim-idle", required_argument, NULL, 'C'},
		{"max-probes", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	VisionConfig cfg = {.redis_url = NULL, .key_prefix = "", .workers = 0, .grabs = 0, .grab_timeout_ms = 8000,
		.io_timeout_ms = 3000, .frozen_gap_ms = 1000, .frozen_frames = 2, .claim_idle_ms = 30000,
	.max_pixels = FRAME_DEFAULT_MAX_PIXELS, .max_memory_mb = 0};
	bool		memory_given = false;
	RedisUrl	parsed;
	const char *reason;
	const char *url_file = NULL;
	char	   *url_arg = NULL;
	int			c;

	if (argc > 1 && strcmp(argv[1], "analyze") == 0)
		return analyze_main(argc - 1, argv + 1);

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'r':
				url_arg = optarg;	/* points into argv */
				break;
			case 'R':
				url_file = optarg;
				break;
			case 'p':
				cfg.max_pixels = parse_max_pixels(optarg);
				break;
			case 'm':
				cfg.max_memory_mb = parse_max_memory(optarg);
				memory_given = true;
				break;
			case 'a':
				cfg.allow_files = true;
				break;
			case 'S':
				add_sites(&cfg, optarg);
				break;
			case 's':
				add_site(&cfg, optarg);
				break;
			case 'A':
				if (optarg[0] == '\0' || strlen(optarg) > 100)
				{
					fprintf(stderr, "visionproc: --agent-name is 1 to 100 bytes\n");
					return 2;
				}
				cfg.agent_name = optarg;
				break;
			case 'C':
				cfg.agent_claim_idle_ms = positive("--agent-claim-idle", optarg);
				break;
			case 'P':
				cfg.max_probes = positive("--max-probes", optarg);
				break;
			case 'k':
				cfg.key_prefix = optarg;
				break;
			case 'w':
				cfg.workers = positive("--workers", optarg);
				break;
			case 'G':
				cfg.grabs = positive("--grabs", optarg);
				if (cfg.grabs > MAX_GRABS)
				{
					fprintf(stderr, "visionproc: --grabs is at most %d\n", MAX_GRABS);
					return 2;
				}
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
	if (url_arg && url_file)
	{
		fprintf(stderr, "visionproc: give --redis or --redis-url-file, not both\n");
		return 2;
	}
	if (url_arg)
		cfg.redis_url = url_arg;
	else if (url_file)
		cfg.redis_url = read_url_file(url_file);
	else if (getenv("VISIONPROC_REDIS_URL") && getenv("VISIONPROC_REDIS_URL")[0])
		cfg.redis_url = getenv("VISIONPROC_REDIS_URL");
	else
		cfg.redis_url = DEFAULT_REDIS_URL;
	if (strlen(cfg.redis_url) > REDIS_URL_MAX || !redis_url_parse(cfg.redis_url, &parsed, &reason))
	{
		if (url_arg)
			hide_password(url_arg);
		fprintf(stderr, "visionproc: invalid Redis URL: %s\n",
				strlen(cfg.redis_url) > REDIS_URL_MAX ? "too long" : reason);
		return 2;
	}
	if (url_arg && parsed.password[0])
	{
		cfg.redis_url = hide_password(url_arg);
		vlog("the Redis password given with --redis (%s) is now hidden from the process list; "
			 "--redis-url-file or $VISIONPROC_REDIS_URL keep it off the command line from the start",
			 url_arg);
	}
	if (cfg.workers == 0)
		cfg.workers = (int) sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg.workers < 1)
		cfg.workers = 1;
	size_grabs(&cfg, memory_given);
	if (cfg.agent_claim_idle_ms == 0)
		cfg.agent_claim_idle_ms = 10000;
	if (cfg.max_probes == 0)
		cfg.max_probes = 1024;
	set_up_agent(&cfg);

	/* once, before fork: both keep global state */
	avformat_network_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	vlog_capture_ffmpeg();
	return supervise(&cfg);
}
