/*
 * netprobe_bench.c
 *	  Probe every host once with the netprobe engine, as fast as it goes, and
 *	  say how long it took.  bench/probe_vs_fping.sh sets it against fping.
 *
 *	  netprobe_bench [--icmp | --tcp-port PORT] [--timeout MS]
 *					 [--max-inflight N] [-v] [-f FILE] [HOST...]
 *
 * Hosts are numeric IPv4 or IPv6 addresses, on the command line or one per
 * line in FILE.  Prints
 *	  probed N hosts in X.XXX s: UP u, REFUSED r, DOWN d, ERROR e
 * and with -v one line per host before it.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "netprobe.h"

typedef struct Targets
{
	ProbeRequest *reqs;
	char	  **names;
	int			n;
	int			cap;
} Targets;

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: netprobe_bench [--icmp | --tcp-port PORT] [--timeout MS]\n"
			"                      [--max-inflight N] [-v] [-f FILE] [HOST...]\n");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
parse_int(const char *s, const char *what, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "netprobe_bench: invalid %s \"%s\" (%d..%d)\n", what, s, min, max);
		exit(2);
	}
	return (int) v;
}

static void
add_target(Targets *t, const char *host)
{
	struct addrinfo hints;
	struct addrinfo *ai;
	ProbeRequest *req;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0)
	{
		fprintf(stderr, "netprobe_bench: \"%s\": %s\n", host, gai_strerror(rc));
		exit(2);
	}
	if (t->n == t->cap)
	{
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->reqs = realloc(t->reqs, t->cap * sizeof(ProbeRequest));
		t->names = realloc(t->names, t->cap * sizeof(char *));
		if (t->reqs == NULL || t->names == NULL)
		{
			fprintf(stderr, "netprobe_bench: out of memory\n");
			exit(1);
		}
	}
	req = &t->reqs[t->n];
	memset(req, 0, sizeof(*req));
	memcpy(&req->addr, ai->ai_addr, ai->ai_addrlen);
	req->addrlen = ai->ai_addrlen;
	req->tag = (uint64_t) t->n;
	t->names[t->n] = strdup(host);
	t->n++;
	freeaddrinfo(ai);
}

static void
read_targets(Targets *t, const char *path)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char		line[256];

	if (f == NULL)
	{
		fprintf(stderr, "netprobe_bench: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *host = line + strspn(line, " \t");

		host[strcspn(host, " \t\r\n#")] = '\0';
		if (*host != '\0')
			add_target(t, host);
	}
	if (f != stdin)
		fclose(f);
}

/* TCP probes hold an fd each: take what the hard limit allows. */
static int
fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
		(void) getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 65535 ? 65535 : (int) rl.rlim_cur;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"icmp", no_argument, NULL, 'i'},
		{"tcp-port", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"max-inflight", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Targets		t = {0};
	ProbeKind	kind = PROBE_ICMP;
	int			port = 0;
	int			timeout_ms = 1000;
	int			max_inflight = 4096;
	bool		verbose = false;
	int			counts[4] = {0};
	char		first_error[160] = "";
	char		err[256];
	ProbeResult results[256];
	NetProbe   *np;
	int			started = 0;
	int			finished = 0;
	double		t0;
	double		elapsed;
	int			c;
	int			i;

	while ((c = getopt_long(argc, argv, "f:vh", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'i':
				kind = PROBE_ICMP;
				break;
			case 'p':
				kind = PROBE_TCP_PORT;
				port = parse_int(optarg, "port", 1, 65535);
				break;
			case 't':
				timeout_ms = parse_int(optarg, "timeout", 1, 3600 * 1000);
				break;
			case 'm':
				max_inflight = parse_int(optarg, "max-inflight", 1, 65535);
				break;
			case 'f':
				read_targets(&t, optarg);
				break;
			case 'v':
				verbose = true;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	for (i = optind; i < argc; i++)
		add_target(&t, argv[i]);
	if (t.n == 0)
	{
		usage(stderr);
		return 2;
	}

	for (i = 0; i < t.n; i++)
	{
		ProbeRequest *req = &t.reqs[i];

		req->kind = kind;
		req->timeout_ms = timeout_ms;
		if (req->addr.ss_family == AF_INET)
			((struct sockaddr_in *) &req->addr)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *) &req->addr)->sin6_port = htons(port);
	}
	if (kind != PROBE_ICMP)
	{
		/* leave a few fds for stdio and the engine's own */
		int			fds = fd_budget() - 16;

		if (max_inflight > fds)
			max_inflight = fds > 1 ? fds : 1;
	}
	if (max_inflight > t.n)
		max_inflight = t.n;

	np = ch_netprobe_create(max_inflight, err, sizeof(err));
	if (np == NULL)
	{
		fprintf(stderr, "netprobe_bench: %s\n", err);
		return 1;
	}

	t0 = now_s();
	while (finished < t.n)
	{
		int			n;

		while (started < t.n && ch_netprobe_start(np, &t.reqs[started]) == 0)
			started++;
		n = ch_netprobe_collect(np, results, 256);
		if (n == 0)
		{
			struct pollfd pfd = {ch_netprobe_fd(np), POLLIN, 0};

			(void) poll(&pfd, 1, ch_netprobe_timeout_ms(np));
			continue;
		}
		for (i = 0; i < n; i++)
		{
			ProbeResult *r = &results[i];

			counts[r->outcome]++;
			if (r->outcome == PROBE_ERROR && first_error[0] == '\0')
				snprintf(first_error, sizeof(first_error), "%s: %s",
						 t.names[r->tag], r->detail);
			if (verbose)
				printf("%s %s %.3f ms %s\n", t.names[r->tag],
					   ch_probe_outcome_name(r->outcome), r->rtt_ms, r->detail);
		}
		finished += n;
	}
	elapsed = now_s() - t0;

	printf("probed %d hosts in %.3f s: UP %d, REFUSED %d, DOWN %d, ERROR %d\n",
		   t.n, elapsed, counts[PROBE_UP], counts[PROBE_REFUSED],
		   counts[PROBE_DOWN], counts[PROBE_ERROR]);
	if (first_error[0] != '\0')
		fprintf(stderr, "netprobe_bench: first error: %s\n", first_error);

	ch_netprobe_destroy(np);
	for (i = 0; i < t.n; i++)
		free(t.names[i]);
	free(t.names);
	free(t.reqs);
	return 0;
}
