/*
 * netprobe.h
 *	  Thousands of concurrent network probes on one epoll set: ICMP echo
 *	  through an unprivileged ping socket, and non-blocking TCP connects.
 *
 * Plain C (no PostgreSQL): the prober worker drives it, and so do the unit
 * test and the benchmark against fping.  Nothing here blocks: the caller
 * waits on netprobe_fd() (readable when a probe has news) with a timeout of
 * netprobe_timeout_ms(), then calls netprobe_collect().
 */
#ifndef CAMERA_HEALTH_NETPROBE_H
#define CAMERA_HEALTH_NETPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum ProbeKind
{
	PROBE_ICMP,					/* ICMP echo; needs net.ipv4.ping_group_range */
	PROBE_TCP_HOST,				/* TCP handshake: an answer, even a refusal, proves the host is up */
	PROBE_TCP_PORT				/* TCP connect: is the port accepting connections? */
} ProbeKind;

typedef enum ProbeOutcome
{
	PROBE_UP,					/* echo reply, or connection accepted */
	PROBE_REFUSED,				/* TCP RST: host up, port closed */
	PROBE_DOWN,					/* timeout, host/net unreachable */
	PROBE_ERROR					/* the probe could not run (no socket, bad address...) */
} ProbeOutcome;

typedef struct ProbeRequest
{
	ProbeKind	kind;
	struct sockaddr_storage addr;	/* IPv4 or IPv6; the port matters for TCP only */
	socklen_t	addrlen;
	int			timeout_ms;
	uint64_t	tag;			/* the caller's cookie, handed back in the result */
} ProbeRequest;

typedef struct ProbeResult
{
	uint64_t	tag;
	ProbeKind	kind;
	ProbeOutcome outcome;
	double		rtt_ms;			/* for PROBE_UP and PROBE_REFUSED */
	int			error;			/* errno behind DOWN/ERROR, 0 for a timeout */
	char		detail[96];		/* "timeout after 1000 ms", "connection refused", ... */
} ProbeResult;

typedef struct NetProbe NetProbe;

/* NULL on failure, with the reason in err. */
extern NetProbe *netprobe_create(int max_inflight, char *err, size_t errlen);
extern void netprobe_destroy(NetProbe *np);

/* Can ICMP probes of this address family (AF_INET, AF_INET6) run? */
extern bool netprobe_icmp_available(NetProbe *np, int family);

/* Try again to open the ping sockets (after ping_group_range changed). */
extern void netprobe_retry_icmp(NetProbe *np);

/* An fd to wait on for readability: ready when netprobe_collect() has work. */
extern int	netprobe_fd(NetProbe *np);

/*
 * Start a probe.  Returns 0 when started (or when it failed at once: its
 * result is then waiting for netprobe_collect()), -1 when max_inflight
 * probes are already running.
 */
extern int	netprobe_start(NetProbe *np, const ProbeRequest *req);

/*
 * Finish what is ready without blocking: replies, connects, timeouts.
 * Writes up to max results; returns how many.
 */
extern int	netprobe_collect(NetProbe *np, ProbeResult *out, int max);

/* Milliseconds until the earliest probe deadline; -1 when none runs. */
extern int	netprobe_timeout_ms(NetProbe *np);

extern int	netprobe_inflight(NetProbe *np);

extern const char *probe_outcome_name(ProbeOutcome outcome);

#endif							/* CAMERA_HEALTH_NETPROBE_H */
