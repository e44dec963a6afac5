/*
 * netprobe.h
 *	  Thousands of concurrent network probes on one epoll set: ICMP echo
 *	  through an unprivileged ping socket, and non-blocking TCP connects.
 *
 * Plain C (no PostgreSQL), in common/: the prober worker drives it, and so
 * do visionproc's site agents (visionproc/agent.c), the unit test and the
 * benchmark against fping.  Nothing here blocks: the caller
 * waits on ch_netprobe_fd() (readable when a probe has news) with a timeout of
 * ch_netprobe_timeout_ms(), then calls ch_netprobe_collect().
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
extern NetProbe *ch_netprobe_create(int max_inflight, char *err, size_t errlen);
extern void ch_netprobe_destroy(NetProbe *np);

/* Can ICMP probes of this address family (AF_INET, AF_INET6) run? */
extern bool ch_netprobe_icmp_available(NetProbe *np, int family);

/* Try again to open the ping sockets (after ping_group_range changed). */
extern void ch_netprobe_retry_icmp(NetProbe *np);

/* An fd to wait on for readability: ready when ch_netprobe_collect() has work. */
extern int	ch_netprobe_fd(NetProbe *np);

/*
 * Start a probe.  Returns 0 when started (or when it failed at once: its
 * result is then waiting for ch_netprobe_collect()), -1 when max_inflight
 * probes are already running.
 */
extern int	ch_netprobe_start(NetProbe *np, const ProbeRequest *req);

/*
 * Finish what is ready without blocking: replies, connects, timeouts.
 * Writes up to max results; returns how many.
 */
extern int	ch_netprobe_collect(NetProbe *np, ProbeResult *out, int max);

/* Milliseconds until the earliest probe deadline; -1 when none runs. */
extern int	ch_netprobe_timeout_ms(NetProbe *np);

extern int	ch_netprobe_inflight(NetProbe *np);

extern const char *ch_probe_outcome_name(ProbeOutcome outcome);

/* An IPv4 or IPv6 address in text and a port into *ss; false when ip is neither. */
extern bool ch_probe_fill_address(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);

/*
 * The health-log status ("ok", "warning", "critical", "error") of a probe
 * of an ip check (port_check false: a refused TCP handshake proves the host
 * is up; a round trip above high_latency_ms warns) or of a port check: the
 * one rule of the prober and the site agents.
 */
extern const char *ch_probe_status(bool port_check, ProbeKind kind, const ProbeResult *r,
								   double high_latency_ms);

/* Raise the soft open-files limit to the hard one; returns the limit in force. */
extern int	ch_netprobe_raise_fd_limit(void);

#endif							/* CAMERA_HEALTH_NETPROBE_H */
