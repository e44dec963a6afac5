/*
 * netprobe.c
 *	  The probe engine declared in netprobe.h: a fixed pool of probe slots,
 *	  one epoll set and a binary min-heap of deadlines.
 *
 * ICMP probes share one unprivileged ping socket per address family.  The
 * kernel chooses the echo identifier of a ping socket, so a reply is matched
 * to its probe by the sequence number (the slot index), a cookie in the
 * payload that is new for every start of a slot, and the source address: a
 * late reply to a probe that timed out never counts for the next probe of
 * the same slot.  ICMP errors about our echoes (unreachable...) are read
 * from the socket's error queue; an echo that finds the send buffer full
 * waits for EPOLLOUT.  TCP probes each own a non-blocking socket; the
 * connect completes, or fails, as EPOLLOUT.
 *
 * A probe that finishes keeps its slot, result filled in, on a FIFO "done"
 * list until ch_netprobe_collect() hands it out.  So nothing is allocated after
 * ch_netprobe_create(), and a probe that fails at once (a refused connect on
 * loopback, EMFILE...) is reported the same way as any other.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "netprobe.h"

/* ICMP probes use their slot index as the 16-bit echo sequence number. */
#define NETPROBE_MAX_INFLIGHT	65535

#define NS_PER_MS	UINT64_C(1000000)

/* epoll keys of the two ping sockets; a TCP socket's key is its slot index */
#define KEY_ICMP4	(~UINT64_C(0))
#define KEY_ICMP6	(~UINT64_C(1))

/*
 * While a burst of echo requests is being sent, read the replies already
 * back every this many sends.  On loopback and fast LANs the replies arrive
 * while we are still sending, and a ping socket whose receive queue is full
 * drops them silently: thousands of hosts would then time out.
 */
#define SENDS_PER_DRAIN		32

/* Receive buffer asked for each ping socket, per slot (capped by rmem_max). */
#define RCVBUF_PER_SLOT		1024

typedef enum SlotState
{
	SLOT_FREE,					/* on the free list */
	SLOT_UNSENT,				/* echo request waiting for room in the send
								 * buffer of the ping socket */
	SLOT_RUNNING,
	SLOT_DONE					/* result ready, on the done list */
} SlotState;

typedef union ProbeAddr
{
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} ProbeAddr;

typedef struct ProbeSlot
{
	ProbeResult result;			/* tag and kind at start, the rest when done */
	SlotState	state;
	int			fd;				/* TCP socket, or -1 */
	int			next;			/* free list or done list link */
	int			heap_pos;		/* index in the deadline heap, or -1 */
	int			timeout_ms;
	uint32_t	cookie;			/* echo payload of this start of the slot */
	uint64_t	sent_ns;
	uint64_t	deadline_ns;
	ProbeAddr	addr;
} ProbeSlot;

typedef struct IcmpSocket
{
	int			fd;				/* -1 when it could not be opened */
	int			open_errno;		/* why it could not */
	int			unsent;			/* its slots in SLOT_UNSENT */
	int			sends_since_drain;
	bool		want_out;		/* is EPOLLOUT armed? */
} IcmpSocket;

struct NetProbe
{
	int			epfd;
	int			max_inflight;
	int			inflight;		/* slots not free */
	int			free_head;
	int			done_head;
	int			done_tail;
	uint32_t	next_cookie;
	IcmpSocket	icmp[2];		/* by family_index() */
	ProbeSlot  *slots;
	int		   *heap;			/* slot indexes, earliest deadline first */
	int			heap_len;
	struct epoll_event *events;
	int			max_events;
};

/* An echo request or reply as a ping socket sends and receives it. */
typedef struct EchoPacket
{
	uint8_t		type;
	uint8_t		code;
	uint16_t	checksum;		/* computed by the kernel */
	uint16_t	id;				/* chosen by the kernel */
	uint16_t	seq;			/* slot index, network order */
	uint32_t	cookie;
} EchoPacket;

/* Big enough for anything sane arriving on a ping socket. */
typedef union EchoBuffer
{
	EchoPacket	pkt;
	char		bytes[512];
} EchoBuffer;

#define ECHO_HEADER_LEN		8

static const int icmp_families[2] = {AF_INET, AF_INET6};

static void finish(NetProbe *np, ProbeSlot *slot, ProbeOutcome outcome,
				   int error, const char *detail);

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static void
set_error(char *err, size_t errlen, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static void
set_error(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* 0 for AF_INET, 1 for AF_INET6, -1 for anything else */
static int
family_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static int
slot_index(NetProbe *np, ProbeSlot *slot)
{
	return (int) (slot - np->slots);
}

static socklen_t
addr_len(const ProbeAddr *addr)
{
	return addr->sa.sa_family == AF_INET ?
		sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static bool
same_host(const ProbeAddr *a, const ProbeAddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
				  sizeof(struct in6_addr)) == 0;
}

/* Short wording for the errors probes meet; strerror() for the rest. */
static const char *
errno_text(int err)
{
	switch (err)
	{
		case ECONNREFUSED:
			return "connection refused";
		case EHOSTUNREACH:
			return "host unreachable";
		case ENETUNREACH:
			return "network unreachable";
		case ETIMEDOUT:
			return "connection timed out";
		case EHOSTDOWN:
			return "host down";
		case ENETDOWN:
			return "network down";
		case EMFILE:
			return "too many open files in this process";
		case ENFILE:
			return "too many open files in the system";
		case EADDRNOTAVAIL:
			return "no local address or port available";
		case ENOBUFS:
		case ENOMEM:
			return "out of socket memory";
		case EPERM:
		case EACCES:
			/* sendto/connect on a socket that exists: a local firewall rule */
			return "not permitted by a local firewall rule";
	}
	return strerror(err);
}

/* Errors saying the target cannot be reached (not that the probe cannot run) */
static bool
is_unreachable(int err)
{
	return err == EHOSTUNREACH || err == ENETUNREACH || err == ETIMEDOUT ||
		err == EHOSTDOWN || err == ENETDOWN;
}

/* The outcome of a TCP connect that ended with this errno (0: connected). */
static ProbeOutcome
connect_outcome(int err)
{
	if (err == 0)
		return PROBE_UP;
	if (err == ECONNREFUSED)
		return PROBE_REFUSED;
	return is_unreachable(err) ? PROBE_DOWN : PROBE_ERROR;
}

/* Does sendto() want us to wait for room in the send buffer? */
static bool
send_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

/* ---- the deadline heap ------------------------------------------------- */

static void
heap_place(NetProbe *np, int pos, int idx)
{
	np->heap[pos] = idx;
	np->slots[idx].heap_pos = pos;
}

static void
heap_sift_up(NetProbe *np, int pos)
{
	int			idx = np->heap[pos];
	uint64_t	deadline = np->slots[idx].deadline_ns;

	while (pos > 0)
	{
		int			parent = (pos - 1) / 2;

		if (np->slots[np->heap[parent]].deadline_ns <= deadline)
			break;
		heap_place(np, pos, np->heap[parent]);
		pos = parent;
	}
	heap_place(np, pos, idx);
}

static void
heap_sift_down(NetProbe *np, int pos)
{
	int			idx = np->heap[pos];
	uint64_t	deadline = np->slots[idx].deadline_ns;

	for (;;)
	{
		int			child = 2 * pos + 1;

		if (child >= np->heap_len)
			break;
		if (child + 1 < np->heap_len &&
			np->slots[np->heap[child + 1]].deadline_ns <
			np->slots[np->heap[child]].deadline_ns)
			child++;
		if (deadline <= np->slots[np->heap[child]].deadline_ns)
			break;
		heap_place(np, pos, np->heap[child]);
		pos = child;
	}
	heap_place(np, pos, idx);
}

static void
heap_push(NetProbe *np, ProbeSlot *slot)
{
	int			pos = np->heap_len++;

	heap_place(np, pos, slot_index(np, slot));
	heap_sift_up(np, pos);
}

static void
heap_remove(NetProbe *np, ProbeSlot *slot)
{
	int			pos = slot->heap_pos;
	int			last = np->heap[--np->heap_len];

	slot->heap_pos = -1;
	if (pos == np->heap_len)
		return;
	heap_place(np, pos, last);
	heap_sift_up(np, pos);
	heap_sift_down(np, np->slots[last].heap_pos);
}

/* ---- ICMP ---------------------------------------------------------------- */

static void
open_icmp(NetProbe *np, int fi)
{
	IcmpSocket *is = &np->icmp[fi];
	int			on = 1;
	int			rcvbuf = np->max_inflight * RCVBUF_PER_SLOT;
	struct epoll_event ev;
	int			fd;

	fd = socket(icmp_families[fi], SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				fi == 0 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
	{
		is->open_errno = errno;
		return;
	}

	/*
	 * ICMP errors about our echoes (host unreachable...) then come through
	 * the error queue, with the echo header that lets us find the probe.
	 */
	if (fi == 0)
		(void) setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	else
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = fi == 0 ? KEY_ICMP4 : KEY_ICMP6;
	if (epoll_ctl(np->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
	{
		is->open_errno = errno;
		close(fd);
		return;
	}
	is->fd = fd;
	is->open_errno = 0;
	is->unsent = 0;
	is->sends_since_drain = 0;
	is->want_out = false;
}

static void
want_writable(NetProbe *np, int fi, bool want)
{
	IcmpSocket *is = &np->icmp[fi];
	struct epoll_event ev;

	if (is->want_out == want)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.u64 = fi == 0 ? KEY_ICMP4 : KEY_ICMP6;
	if (epoll_ctl(np->epfd, EPOLL_CTL_MOD, is->fd, &ev) == 0)
		is->want_out = want;
}

/*
 * The running echo probe that this echo header, about this address, belongs
 * to; NULL if none.  An ICMP error may quote only the first 8 bytes of our
 * request (RFC 792): then the cookie cannot be checked.
 */
static ProbeSlot *
match_echo(NetProbe *np, int fi, const EchoPacket *pkt, size_t len,
		   const ProbeAddr *peer)
{
	int			seq = ntohs(pkt->seq);
	ProbeSlot  *slot;

	if (seq >= np->max_inflight)
		return NULL;
	slot = &np->slots[seq];
	if (slot->state != SLOT_RUNNING || slot->result.kind != PROBE_ICMP ||
		family_index(slot->addr.sa.sa_family) != fi ||
		!same_host(&slot->addr, peer))
		return NULL;
	if (len >= sizeof(EchoPacket) && pkt->cookie != slot->cookie)
		return NULL;
	return slot;
}

/* Read every echo reply waiting on a ping socket. */
static void
drain_replies(NetProbe *np, int fi)
{
	IcmpSocket *is = &np->icmp[fi];
	uint8_t		reply_type = fi == 0 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	int			budget;

	is->sends_since_drain = 0;

	/*
	 * Bounded, so that a flood of stray replies cannot keep us here: what is
	 * left keeps the socket readable for the next call.
	 */
	for (budget = np->max_inflight + 64; budget > 0; budget--)
	{
		EchoBuffer	buf;
		ProbeAddr	peer;
		socklen_t	peerlen = sizeof(peer);
		ssize_t		n;
		ProbeSlot  *slot;

		n = recvfrom(is->fd, &buf, sizeof(buf), 0, &peer.sa, &peerlen);
		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;

			/*
			 * The socket reports a pending ICMP error once, in place of data;
			 * the error queue says which probe it was about.
			 */
			continue;
		}
		if ((size_t) n < sizeof(EchoPacket) || buf.pkt.type != reply_type)
			continue;
		slot = match_echo(np, fi, &buf.pkt, (size_t) n, &peer);
		if (slot != NULL)
			finish(np, slot, PROBE_UP, 0, "echo reply");
	}
}

/* Read the ICMP errors (unreachable...) about our echo requests. */
static void
drain_errors(NetProbe *np, int fi)
{
	IcmpSocket *is = &np->icmp[fi];
	uint8_t		request_type = fi == 0 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	int			budget;
	int			pending;
	socklen_t	pendinglen = sizeof(pending);

	for (budget = np->max_inflight + 64; budget > 0; budget--)
	{
		EchoBuffer	buf;
		ProbeAddr	dest;
		union
		{
			struct cmsghdr align;
			char		bytes[CMSG_SPACE(sizeof(struct sock_extended_err) +
										 sizeof(ProbeAddr))];
		}			control;
		struct iovec iov;
		struct msghdr msg;
		struct cmsghdr *cmsg;
		struct sock_extended_err ee;
		bool		found = false;
		ssize_t		n;
		ProbeSlot  *slot;

		iov.iov_base = &buf;
		iov.iov_len = sizeof(buf);
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &dest;
		msg.msg_namelen = sizeof(dest);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &control;
		msg.msg_controllen = sizeof(control);

		n = recvmsg(is->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0)
			break;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg))
		{
			if ((cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_RECVERR) ||
				(cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_RECVERR))
			{
				memcpy(&ee, CMSG_DATA(cmsg), sizeof(ee));
				found = true;
			}
		}
		if (!found ||
			(ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) ||
			n < ECHO_HEADER_LEN || buf.pkt.type != request_type)
			continue;
		slot = match_echo(np, fi, &buf.pkt, (size_t) n, &dest);
		if (slot != NULL)
			finish(np, slot, PROBE_DOWN, (int) ee.ee_errno, NULL);
	}

	/*
	 * An error the kernel could not queue (the queue was full) still sets the
	 * socket's pending error, which would keep it in EPOLLERR for ever.
	 */
	(void) getsockopt(is->fd, SOL_SOCKET, SO_ERROR, &pending, &pendinglen);
}

/*
 * Send the echo request of a slot; 0 or an errno.  The caller has made the
 * slot SLOT_RUNNING, so that a reply read here (see SENDS_PER_DRAIN) counts.
 */
static int
send_echo(NetProbe *np, ProbeSlot *slot)
{
	int			fi = family_index(slot->addr.sa.sa_family);
	IcmpSocket *is = &np->icmp[fi];
	EchoPacket	pkt;
	int			attempt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = fi == 0 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt.seq = htons((uint16_t) slot_index(np, slot));
	pkt.cookie = slot->cookie;

	/*
	 * An ICMP error about an earlier echo leaves an error pending on the
	 * shared socket, and the next send fails with it instead of sending; so
	 * a first failure may not be ours.
	 */
	for (attempt = 0;; attempt++)
	{
		slot->sent_ns = now_ns();
		if (sendto(is->fd, &pkt, sizeof(pkt), 0, &slot->addr.sa,
				   addr_len(&slot->addr)) >= 0)
			break;
		if (attempt == 1 || send_would_block(errno))
			return errno;
	}
	if (++is->sends_since_drain >= SENDS_PER_DRAIN)
		drain_replies(np, fi);
	return 0;
}

/* An echo request could not be sent (nor queued): finish its probe. */
static void
echo_failed(NetProbe *np, ProbeSlot *slot, int err)
{
	finish(np, slot, is_unreachable(err) ? PROBE_DOWN : PROBE_ERROR, err, NULL);
}

static void
park_echo(NetProbe *np, ProbeSlot *slot, int fi)
{
	slot->state = SLOT_UNSENT;
	np->icmp[fi].unsent++;
	want_writable(np, fi, true);
}

/* The ping socket has room again: send the echo requests waiting for it. */
static void
flush_unsent(NetProbe *np, int fi)
{
	IcmpSocket *is = &np->icmp[fi];
	int			i;

	/*
	 * A scan of the pool, in slot order: this only happens after the send
	 * buffer filled up, and a list would cost every slot two more links.
	 */
	for (i = 0; i < np->max_inflight && is->unsent > 0; i++)
	{
		ProbeSlot  *slot = &np->slots[i];
		int			err;

		if (slot->state != SLOT_UNSENT ||
			family_index(slot->addr.sa.sa_family) != fi)
			continue;
		slot->state = SLOT_RUNNING;
		is->unsent--;
		err = send_echo(np, slot);
		if (send_would_block(err))
		{
			slot->state = SLOT_UNSENT;
			is->unsent++;
			return;
		}
		if (err != 0)
			echo_failed(np, slot, err);
	}
	want_writable(np, fi, false);
}

static void
start_icmp(NetProbe *np, ProbeSlot *slot)
{
	int			fi = family_index(slot->addr.sa.sa_family);
	IcmpSocket *is = &np->icmp[fi];
	int			err;

	if (is->fd < 0)
	{
		char		detail[sizeof(slot->result.detail)];

		if (is->open_errno == EACCES || is->open_errno == EPERM)
			snprintf(detail, sizeof(detail),
					 "ICMP not permitted: net.ipv4.ping_group_range excludes this group");
		else
			snprintf(detail, sizeof(detail), "no %s ping socket: %s",
					 fi == 0 ? "ICMP" : "ICMPv6", errno_text(is->open_errno));
		finish(np, slot, PROBE_ERROR, is->open_errno, detail);
		return;
	}

	slot->cookie = np->next_cookie++;
	heap_push(np, slot);
	if (is->unsent > 0)
	{
		/* keep the order: the queue goes first */
		park_echo(np, slot, fi);
		return;
	}
	err = send_echo(np, slot);
	if (send_would_block(err))
		park_echo(np, slot, fi);
	else if (err != 0)
		echo_failed(np, slot, err);
}

/* ---- TCP ----------------------------------------------------------------- */

static void
start_tcp(NetProbe *np, ProbeSlot *slot)
{
	/* close() then resets: no TIME_WAIT pile-up after thousands of probes */
	static const struct linger reset_on_close = {1, 0};
	struct epoll_event ev;
	int			fd;
	int			err;

	fd = socket(slot->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		finish(np, slot, PROBE_ERROR, errno, NULL);
		return;
	}
	slot->fd = fd;
	(void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close,
					  sizeof(reset_on_close));

	if (connect(fd, &slot->addr.sa, addr_len(&slot->addr)) == 0)
	{
		finish(np, slot, PROBE_UP, 0, "connected");
		return;
	}
	if (errno != EINPROGRESS)
	{
		err = errno;
		finish(np, slot, connect_outcome(err), err, NULL);
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t) slot_index(np, slot);
	if (epoll_ctl(np->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
	{
		finish(np, slot, PROBE_ERROR, errno, NULL);
		return;
	}
	heap_push(np, slot);
}

/* The connect of a TCP probe has completed or failed. */
static void
finish_tcp(NetProbe *np, ProbeSlot *slot)
{
	int			err = 0;
	socklen_t	errlen = sizeof(err);

	if (getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	finish(np, slot, connect_outcome(err), err, err == 0 ? "connected" : NULL);
}

/* ---- slots ----------------------------------------------------------------- */

/*
 * Record the result of a probe, release what it holds, and queue it for
 * ch_netprobe_collect().  With no detail, one is made from the outcome and
 * error.
 */
static void
finish(NetProbe *np, ProbeSlot *slot, ProbeOutcome outcome, int error,
	   const char *detail)
{
	ProbeResult *r = &slot->result;
	int			idx = slot_index(np, slot);

	if (slot->heap_pos >= 0)
		heap_remove(np, slot);
	if (slot->fd >= 0)
	{
		/* closing also takes it out of the epoll set */
		close(slot->fd);
		slot->fd = -1;
	}
	if (slot->state == SLOT_UNSENT)
		np->icmp[family_index(slot->addr.sa.sa_family)].unsent--;

	r->outcome = outcome;
	r->error = error;
	r->rtt_ms = 0;
	if (outcome == PROBE_UP || outcome == PROBE_REFUSED)
		r->rtt_ms = (double) (now_ns() - slot->sent_ns) / (double) NS_PER_MS;
	if (detail != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", detail);
	else if (outcome == PROBE_DOWN && error == 0)
		snprintf(r->detail, sizeof(r->detail), "timeout after %d ms",
				 slot->timeout_ms);
	else
		snprintf(r->detail, sizeof(r->detail), "%s", errno_text(error));

	slot->state = SLOT_DONE;
	slot->next = -1;
	if (np->done_tail >= 0)
		np->slots[np->done_tail].next = idx;
	else
		np->done_head = idx;
	np->done_tail = idx;
}

/* ---- API ----------------------------------------------------------------- */

NetProbe *
ch_netprobe_create(int max_inflight, char *err, size_t errlen)
{
	NetProbe   *np;
	int			i;

	if (max_inflight < 1 || max_inflight > NETPROBE_MAX_INFLIGHT)
	{
		set_error(err, errlen, "max_inflight must be between 1 and %d, not %d",
				  NETPROBE_MAX_INFLIGHT, max_inflight);
		return NULL;
	}

	np = calloc(1, sizeof(NetProbe));
	if (np == NULL)
	{
		set_error(err, errlen, "out of memory");
		return NULL;
	}
	np->epfd = -1;
	np->icmp[0].fd = np->icmp[1].fd = -1;
	np->max_inflight = max_inflight;
	np->max_events = max_inflight + 2;
	np->slots = calloc(max_inflight, sizeof(ProbeSlot));
	np->heap = calloc(max_inflight, sizeof(int));
	np->events = calloc(np->max_events, sizeof(struct epoll_event));
	if (np->slots == NULL || np->heap == NULL || np->events == NULL)
	{
		set_error(err, errlen, "out of memory for %d probe slots", max_inflight);
		ch_netprobe_destroy(np);
		return NULL;
	}
	np->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (np->epfd < 0)
	{
		set_error(err, errlen, "could not create an epoll set: %s", strerror(errno));
		ch_netprobe_destroy(np);
		return NULL;
	}

	for (i = 0; i < max_inflight; i++)
	{
		np->slots[i].state = SLOT_FREE;
		np->slots[i].fd = -1;
		np->slots[i].heap_pos = -1;
		np->slots[i].next = i + 1 < max_inflight ? i + 1 : -1;
	}
	np->free_head = 0;
	np->done_head = np->done_tail = -1;

	/*
	 * Not from 0: the kernel may give a new ping socket the echo identifier
	 * of one a previous incarnation of our worker used, and late replies to
	 * that one must not match.
	 */
	np->next_cookie = (uint32_t) now_ns() ^ ((uint32_t) getpid() * 2654435761u);

	/* no ICMP is not an error here: ch_netprobe_start() reports it per probe */
	open_icmp(np, 0);
	open_icmp(np, 1);
	return np;
}

void
ch_netprobe_destroy(NetProbe *np)
{
	int			i;

	if (np == NULL)
		return;
	if (np->slots != NULL)
	{
		for (i = 0; i < np->max_inflight; i++)
			if (np->slots[i].fd >= 0)
				close(np->slots[i].fd);
	}
	for (i = 0; i < 2; i++)
		if (np->icmp[i].fd >= 0)
			close(np->icmp[i].fd);
	if (np->epfd >= 0)
		close(np->epfd);
	free(np->slots);
	free(np->heap);
	free(np->events);
	free(np);
}

bool
ch_netprobe_icmp_available(NetProbe *np, int family)
{
	int			fi = family_index(family);

	return fi >= 0 && np->icmp[fi].fd >= 0;
}

void
ch_netprobe_retry_icmp(NetProbe *np)
{
	int			fi;

	for (fi = 0; fi < 2; fi++)
		if (np->icmp[fi].fd < 0)
			open_icmp(np, fi);
}

int
ch_netprobe_fd(NetProbe *np)
{
	return np->epfd;
}

int
ch_netprobe_start(NetProbe *np, const ProbeRequest *req)
{
	ProbeSlot  *slot;
	int			family = req->addr.ss_family;

	if (np->free_head < 0)
		return -1;
	slot = &np->slots[np->free_head];
	np->free_head = slot->next;
	np->inflight++;

	memset(&slot->result, 0, sizeof(slot->result));
	slot->result.tag = req->tag;
	slot->result.kind = req->kind;
	slot->state = SLOT_RUNNING;
	slot->next = -1;
	slot->timeout_ms = req->timeout_ms;
	slot->sent_ns = now_ns();
	memset(&slot->addr, 0, sizeof(slot->addr));

	if ((family == AF_INET && req->addrlen >= sizeof(struct sockaddr_in)) ||
		(family == AF_INET6 && req->addrlen >= sizeof(struct sockaddr_in6)))
		memcpy(&slot->addr, &req->addr,
			   family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	else
	{
		finish(np, slot, PROBE_ERROR, EAFNOSUPPORT,
			   "not an IPv4 or IPv6 address");
		return 0;
	}
	if (req->timeout_ms <= 0)
	{
		finish(np, slot, PROBE_ERROR, EINVAL, "timeout must be positive");
		return 0;
	}
	slot->deadline_ns = slot->sent_ns + (uint64_t) req->timeout_ms * NS_PER_MS;

	switch (req->kind)
	{
		case PROBE_ICMP:
			start_icmp(np, slot);
			break;
		case PROBE_TCP_HOST:
		case PROBE_TCP_PORT:
			start_tcp(np, slot);
			break;
		default:
			finish(np, slot, PROBE_ERROR, EINVAL, "unknown probe kind");
			break;
	}
	return 0;
}

int
ch_netprobe_collect(NetProbe *np, ProbeResult *out, int max)
{
	int			nev;
	int			i;
	int			n = 0;
	uint64_t	now;

	/* the events array has room for every fd in the set: one call sees all */
	nev = epoll_wait(np->epfd, np->events, np->max_events, 0);
	for (i = 0; i < nev; i++)
	{
		uint64_t	key = np->events[i].data.u64;
		uint32_t	what = np->events[i].events;

		if (key == KEY_ICMP4 || key == KEY_ICMP6)
		{
			int			fi = key == KEY_ICMP4 ? 0 : 1;

			if (what & EPOLLERR)
				drain_errors(np, fi);
			if (what & EPOLLOUT)
				flush_unsent(np, fi);
			if (what & EPOLLIN)
				drain_replies(np, fi);
		}
		else if (key < (uint64_t) np->max_inflight &&
				 np->slots[key].state == SLOT_RUNNING && np->slots[key].fd >= 0)
			finish_tcp(np, &np->slots[key]);
	}

	now = now_ns();
	while (np->heap_len > 0 && np->slots[np->heap[0]].deadline_ns <= now)
		finish(np, &np->slots[np->heap[0]], PROBE_DOWN, 0, NULL);

	while (n < max && np->done_head >= 0)
	{
		int			idx = np->done_head;
		ProbeSlot  *slot = &np->slots[idx];

		out[n++] = slot->result;
		np->done_head = slot->next;
		slot->state = SLOT_FREE;
		slot->next = np->free_head;
		np->free_head = idx;
		np->inflight--;
	}
	if (np->done_head < 0)
		np->done_tail = -1;
	return n;
}

int
ch_netprobe_timeout_ms(NetProbe *np)
{
	uint64_t	now;
	uint64_t	deadline;
	uint64_t	wait_ms;

	if (np->done_head >= 0)
		return 0;
	if (np->heap_len == 0)
		return -1;
	deadline = np->slots[np->heap[0]].deadline_ns;
	now = now_ns();
	if (deadline <= now)
		return 0;
	/* rounded up: waking before the deadline would only spin */
	wait_ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
	return wait_ms > INT_MAX ? INT_MAX : (int) wait_ms;
}

int
ch_netprobe_inflight(NetProbe *np)
{
	return np->inflight;
}

const char *
ch_probe_outcome_name(ProbeOutcome outcome)
{
	switch (outcome)
	{
		case PROBE_UP:
			return "up";
		case PROBE_REFUSED:
			return "refused";
		case PROBE_DOWN:
			return "down";
		case PROBE_ERROR:
			return "error";
	}
	return "unknown";
}

bool
ch_probe_fill_address(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
	{
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
	{
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

const char *
ch_probe_status(bool port_check, ProbeKind kind, const ProbeResult *r, double high_latency_ms)
{
	bool		up;

	if (r->outcome == PROBE_ERROR)
		return "error";
	if (port_check)
		return r->outcome == PROBE_UP ? "ok" : "critical";
	/* a refused TCP handshake still proves the host is up */
	up = r->outcome == PROBE_UP || (kind == PROBE_TCP_HOST && r->outcome == PROBE_REFUSED);
	if (!up)
		return "critical";
	return r->rtt_ms > high_latency_ms ? "warning" : "ok";
}

/*
 * Every probe in flight holds a socket: the soft open-files limit is
 * raised to the hard one.  Returns the limit now in force.
 */
int
ch_netprobe_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > INT_MAX ? INT_MAX : (int) rl.rlim_cur;
}
