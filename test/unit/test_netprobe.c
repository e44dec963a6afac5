/*
 * test_netprobe.c
 *	  Unit tests of common/netprobe.c, with real sockets on loopback.
 *
 * As root the test first moves into a network namespace of its own, so that
 * what it changes (net.ipv4.ping_group_range, firewall rules, forged
 * packets) cannot touch anything else on the machine; there it also probes
 * ::1.  If it cannot, it works in the current namespace, only towards
 * 127.0.0.0/8, and restores the sysctl and removes its rules when done.
 * Without root, the parts that need privileges print "skipped: ...".
 *
 * Exit status 0 when every check passed; one "FAIL" line per failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "netprobe.h"

#define PING_RANGE_PATH	"/proc/sys/net/ipv4/ping_group_range"
#define PERMISSIVE_RANGE "0 2147483647"

static int	checks = 0;
static int	failures = 0;

static bool private_netns = false;
static bool can_set_range = false;
static bool have_iptables = false;
static char saved_range[64] = "";
static bool range_changed = false;

/*
 * Addresses the firewall rules are about: one drops everything (a silent
 * host), one answers "host unreachable".  A third is a host that never
 * gets probed, for forged replies.
 */
#define SILENT_HOST		"127.77.0.1"
#define UNREACH_HOST	"127.77.0.2"
#define OTHER_HOST		"127.77.0.3"

static const char *const fw_rules[] = {
	"INPUT -d " SILENT_HOST "/32 -j DROP",
	"INPUT -d " UNREACH_HOST "/32 -j REJECT --reject-with icmp-host-unreachable",
};
static bool fw_added[2];

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) \
		{ \
			failures++; \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__); \
			putchar('\n'); \
			fflush(stdout); \
		} \
	} while (0)

static void
skipped(const char *fmt,...)
__attribute__((format(printf, 1, 2)));

static void
skipped(const char *fmt,...)
{
	va_list		ap;

	printf("skipped: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * Fault injection: the engine is linked into this program, so this
 * definition replaces the C library's sendto() for it.  Makes the next
 * inject_count sends fail with inject_errno.  (Without _GNU_SOURCE, which
 * would make the address argument a transparent union.)
 */
static int	inject_errno = 0;
static int	inject_count = 0;

ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
	   const struct sockaddr *addr, socklen_t addrlen)
{
	if (inject_count > 0)
	{
		inject_count--;
		errno = inject_errno;
		return -1;
	}
	return (ssize_t) syscall(SYS_sendto, fd, buf, len, flags, addr, addrlen);
}

static void
inject_send_errors(int err, int count)
{
	inject_errno = err;
	inject_count = count;
}

/* ---- environment ------------------------------------------------------- */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool
write_file(const char *path, const char *text)
{
	int			fd = open(path, O_WRONLY | O_CLOEXEC);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t) strlen(text);
	close(fd);
	return ok;
}

static bool
set_ping_range(const char *range)
{
	if (!write_file(PING_RANGE_PATH, range))
	{
		CHECK(false, "could not write %s: %s", PING_RANGE_PATH, strerror(errno));
		return false;
	}
	range_changed = true;
	return true;
}

static bool
firewall(bool add, int rule)
{
	char		cmd[256];

	snprintf(cmd, sizeof(cmd), "iptables -w %s %s >/dev/null 2>&1",
			 add ? "-I" : "-D", fw_rules[rule]);
	return system(cmd) == 0;
}

/* Put back what we changed outside our own namespace.  Also from signals. */
static void
cleanup(void)
{
	int			i;

	if (range_changed && saved_range[0] != '\0')
		write_file(PING_RANGE_PATH, saved_range);
	range_changed = false;
	for (i = 0; i < 2; i++)
		if (fw_added[i])
		{
			fw_added[i] = false;
			firewall(false, i);
		}
}

static void
on_signal(int signo)
{
	static const char msg[] = "FAIL: test_netprobe timed out or was interrupted\n";
	ssize_t		rc;

	(void) signo;
	rc = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void) rc;					/* nowhere to report a failure to */
	cleanup();
	_exit(1);
}

static bool
loopback_up(void)
{
	struct ifreq ifr;
	int			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool		ok;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	close(fd);
	return ok;
}

static void
setup_environment(void)
{
	struct rlimit rl;
	char		buf[64];
	int			fd;
	ssize_t		n;

	if (geteuid() == 0)
	{
		int			orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

		if (syscall(SYS_unshare, CLONE_NEWNET) == 0)
		{
			if (loopback_up())
				private_netns = true;
			else if (orig < 0 || syscall(SYS_setns, orig, CLONE_NEWNET) != 0)
			{
				printf("FAIL: stuck in a new network namespace without loopback\n");
				exit(1);
			}
		}
		if (orig >= 0)
			close(orig);
	}
	printf("note: %s\n", private_netns ? "running in a private network namespace" :
		   "running in the current network namespace");

	fd = open(PING_RANGE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
	{
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0)
		{
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(saved_range, sizeof(saved_range), "%s", buf);
		}
	}
	can_set_range = saved_range[0] != '\0' && access(PING_RANGE_PATH, W_OK) == 0 &&
		geteuid() == 0;
	have_iptables = geteuid() == 0 &&
		system("iptables -w -L INPUT -n >/dev/null 2>&1") == 0;

	/* thousands of TCP probes at once need as many fds */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- probing helpers ----------------------------------------------------- */

static ProbeRequest
request(ProbeKind kind, const char *host, int port, int timeout_ms, uint64_t tag)
{
	ProbeRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = kind;
	req.timeout_ms = timeout_ms;
	req.tag = tag;
	if (strchr(host, ':') != NULL)
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &req.addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			abort();
		req.addrlen = sizeof(*sin6);
	}
	else
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) &req.addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			abort();
		req.addrlen = sizeof(*sin);
	}
	return req;
}

/* Wait on the engine's fd and collect, until want results or limit_ms. */
static int
run_until(NetProbe *np, ProbeResult *out, int want, int limit_ms)
{
	double		end = now_ms() + limit_ms;
	int			got = 0;

	while (got < want)
	{
		struct pollfd pfd = {ch_netprobe_fd(np), POLLIN, 0};
		int			wait = ch_netprobe_timeout_ms(np);
		int			left = (int) (end - now_ms());

		got += ch_netprobe_collect(np, out + got, want - got);
		if (got >= want || left <= 0)
			break;
		if (wait < 0 || wait > left)
			wait = left;
		(void) poll(&pfd, 1, wait);
	}
	return got;
}

/* Start one probe and wait for its result. */
static ProbeResult
probe_once(NetProbe *np, ProbeRequest req, int limit_ms)
{
	ProbeResult r;

	memset(&r, 0, sizeof(r));
	r.outcome = -1;
	CHECK(ch_netprobe_start(np, &req) == 0, "netprobe_start failed");
	CHECK(run_until(np, &r, 1, limit_ms) == 1, "no result within %d ms", limit_ms);
	return r;
}

static void
check_result(const ProbeResult *r, uint64_t tag, ProbeKind kind,
			 ProbeOutcome outcome, int error, const char *detail)
{
	CHECK(r->tag == tag, "tag %llu, want %llu",
		  (unsigned long long) r->tag, (unsigned long long) tag);
	CHECK(r->kind == kind, "tag %llu: kind %d, want %d",
		  (unsigned long long) tag, r->kind, kind);
	CHECK(r->outcome == outcome, "tag %llu: outcome %s (%s), want %s",
		  (unsigned long long) tag, ch_probe_outcome_name(r->outcome), r->detail,
		  ch_probe_outcome_name(outcome));
	CHECK(r->error == error, "tag %llu: error %d (%s), want %d",
		  (unsigned long long) tag, r->error, r->detail, error);
	if (detail != NULL)
		CHECK(strcmp(r->detail, detail) == 0, "tag %llu: detail \"%s\", want \"%s\"",
			  (unsigned long long) tag, r->detail, detail);
	if (outcome == PROBE_UP || outcome == PROBE_REFUSED)
		CHECK(r->rtt_ms >= 0 && r->rtt_ms < 1000, "tag %llu: rtt %.3f ms",
			  (unsigned long long) tag, r->rtt_ms);
}

static NetProbe *
create(int max_inflight)
{
	char		err[256] = "";
	NetProbe   *np = ch_netprobe_create(max_inflight, err, sizeof(err));

	if (np == NULL)
	{
		printf("FAIL: ch_netprobe_create(%d): %s\n", max_inflight, err);
		cleanup();
		exit(1);
	}
	return np;
}

/* A TCP socket on 127.0.0.1 (or ::1), port chosen by the kernel. */
static int
tcp_socket(const char *host, int *port)
{
	ProbeRequest req = request(PROBE_TCP_PORT, host, 0, 1, 0);
	socklen_t	len = req.addrlen;
	int			fd = socket(req.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *) &req.addr, len) != 0 ||
		getsockname(fd, (struct sockaddr *) &req.addr, &len) != 0)
	{
		printf("FAIL: could not bind a TCP socket on %s: %s\n", host, strerror(errno));
		cleanup();
		exit(1);
	}
	*port = ntohs(req.addr.ss_family == AF_INET ?
				  ((struct sockaddr_in *) &req.addr)->sin_port :
				  ((struct sockaddr_in6 *) &req.addr)->sin6_port);
	return fd;
}

/*
 * A listener that never answers: its accept queue is full, so the kernel
 * drops further SYNs (no RST), like a host that has gone quiet.
 */
static int
blackhole_listener(int *port, int *fillers)
{
	int			fd = tcp_socket("127.0.0.1", port);
	int			i;

	if (listen(fd, 0) != 0)
		abort();
	for (i = 0; i < 2; i++)
	{
		ProbeRequest req = request(PROBE_TCP_PORT, "127.0.0.1", *port, 1, 0);
		struct pollfd pfd;

		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		(void) connect(fillers[i], (struct sockaddr *) &req.addr, req.addrlen);
		pfd.fd = fillers[i];
		pfd.events = POLLOUT;
		(void) poll(&pfd, 1, 100);
	}
	return fd;
}

/*
 * The engine's ICMPv4 ping socket(s), found among our fds: tests that need
 * to reach behind the API (e.g. a small receive buffer) use this.
 */
static int
find_ping_sockets(int *fds, int max)
{
	DIR		   *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int			n = 0;

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL && n < max)
	{
		int			fd = atoi(de->d_name);
		int			type = 0,
					proto = 0,
					domain = 0;
		socklen_t	len = sizeof(int);

		if (de->d_name[0] == '.' || fd == dirfd(dir))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
			getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
			getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
			type == SOCK_DGRAM && proto == IPPROTO_ICMP && domain == AF_INET)
			fds[n++] = fd;
	}
	closedir(dir);
	return n;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_basics(void)
{
	char		err[256] = "";
	NetProbe   *np;
	ProbeResult r[4];

	CHECK(strcmp(ch_probe_outcome_name(PROBE_UP), "up") == 0, "name of PROBE_UP");
	CHECK(strcmp(ch_probe_outcome_name(PROBE_REFUSED), "refused") == 0, "name of PROBE_REFUSED");
	CHECK(strcmp(ch_probe_outcome_name(PROBE_DOWN), "down") == 0, "name of PROBE_DOWN");
	CHECK(strcmp(ch_probe_outcome_name(PROBE_ERROR), "error") == 0, "name of PROBE_ERROR");

	CHECK(ch_netprobe_create(0, err, sizeof(err)) == NULL && err[0] != '\0',
		  "max_inflight 0 accepted");
	err[0] = '\0';
	CHECK(ch_netprobe_create(65536, err, sizeof(err)) == NULL && err[0] != '\0',
		  "max_inflight 65536 accepted (ICMP sequence numbers are 16 bits)");

	np = create(65535);
	CHECK(ch_netprobe_fd(np) >= 0, "no fd");
	CHECK(ch_netprobe_timeout_ms(np) == -1, "idle timeout_ms %d, want -1",
		  ch_netprobe_timeout_ms(np));
	CHECK(ch_netprobe_inflight(np) == 0, "idle inflight %d", ch_netprobe_inflight(np));
	CHECK(ch_netprobe_collect(np, r, 4) == 0, "idle collect returned results");
	ch_netprobe_destroy(np);
	ch_netprobe_destroy(NULL);
}

/* Requests that cannot run give their result at once. */
static void
test_bad_requests(void)
{
	NetProbe   *np = create(8);
	ProbeRequest req;
	ProbeResult r[4];
	int			n;

	req = request(PROBE_TCP_PORT, "127.0.0.1", 9, 1000, 1);
	req.addr.ss_family = AF_UNIX;
	CHECK(ch_netprobe_start(np, &req) == 0, "start of a bad address");
	req = request(PROBE_TCP_PORT, "127.0.0.1", 9, 0, 2);
	CHECK(ch_netprobe_start(np, &req) == 0, "start with timeout 0");
	req = request(PROBE_TCP_PORT, "127.0.0.1", 9, 1000, 3);
	req.kind = (ProbeKind) 42;
	CHECK(ch_netprobe_start(np, &req) == 0, "start of an unknown kind");
	req = request(PROBE_TCP_PORT, "127.0.0.1", 9, 1000, 4);
	req.addrlen = 4;
	CHECK(ch_netprobe_start(np, &req) == 0, "start with a short addrlen");

	CHECK(ch_netprobe_inflight(np) == 4, "inflight %d, want 4", ch_netprobe_inflight(np));
	CHECK(ch_netprobe_timeout_ms(np) == 0, "timeout_ms %d with results waiting, want 0",
		  ch_netprobe_timeout_ms(np));
	n = ch_netprobe_collect(np, r, 4);
	CHECK(n == 4, "collected %d immediate results, want 4", n);
	if (n == 4)
	{
		check_result(&r[0], 1, PROBE_TCP_PORT, PROBE_ERROR, EAFNOSUPPORT, NULL);
		check_result(&r[1], 2, PROBE_TCP_PORT, PROBE_ERROR, EINVAL, "timeout must be positive");
		check_result(&r[2], 3, (ProbeKind) 42, PROBE_ERROR, EINVAL, "unknown probe kind");
		check_result(&r[3], 4, PROBE_TCP_PORT, PROBE_ERROR, EAFNOSUPPORT, NULL);
	}
	CHECK(ch_netprobe_inflight(np) == 0, "inflight %d after collect", ch_netprobe_inflight(np));
	CHECK(ch_netprobe_timeout_ms(np) == -1, "timeout_ms %d when idle again",
		  ch_netprobe_timeout_ms(np));
	ch_netprobe_destroy(np);
}

static void
test_tcp_up(const char *host)
{
	NetProbe   *np = create(8);
	int			port;
	int			lfd = tcp_socket(host, &port);
	ProbeResult r;
	int			afd;
	char		c;

	if (listen(lfd, 16) != 0)
		abort();
	r = probe_once(np, request(PROBE_TCP_PORT, host, port, 2000, 11), 3000);
	check_result(&r, 11, PROBE_TCP_PORT, PROBE_UP, 0, "connected");
	r = probe_once(np, request(PROBE_TCP_HOST, host, port, 2000, 12), 3000);
	check_result(&r, 12, PROBE_TCP_HOST, PROBE_UP, 0, "connected");

	/* the probe resets its connection: nothing lingers in TIME_WAIT */
	afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0, "accept: %s", strerror(errno));
	if (afd >= 0)
	{
		CHECK(recv(afd, &c, 1, 0) < 0 && errno == ECONNRESET,
			  "the probe's connection was not reset");
		close(afd);
	}
	close(lfd);
	CHECK(ch_netprobe_inflight(np) == 0, "inflight %d", ch_netprobe_inflight(np));
	ch_netprobe_destroy(np);
}

static void
test_tcp_refused(const char *host)
{
	NetProbe   *np = create(8);
	int			port;
	int			fd = tcp_socket(host, &port);	/* bound, not listening */
	ProbeResult r;

	r = probe_once(np, request(PROBE_TCP_PORT, host, port, 2000, 21), 3000);
	check_result(&r, 21, PROBE_TCP_PORT, PROBE_REFUSED, ECONNREFUSED, "connection refused");
	r = probe_once(np, request(PROBE_TCP_HOST, host, port, 2000, 22), 3000);
	check_result(&r, 22, PROBE_TCP_HOST, PROBE_REFUSED, ECONNREFUSED, "connection refused");
	close(fd);
	ch_netprobe_destroy(np);
}

/* A TCP probe that gets no answer, and what ch_netprobe_timeout_ms() says. */
static void
test_tcp_timeout(void)
{
	NetProbe   *np = create(8);
	int			port;
	int			fillers[2];
	int			lfd = blackhole_listener(&port, fillers);
	ProbeRequest req = request(PROBE_TCP_PORT, "127.0.0.1", port, 300, 31);
	ProbeResult r;
	double		t0 = now_ms();
	int			wait;

	CHECK(ch_netprobe_start(np, &req) == 0, "start");
	wait = ch_netprobe_timeout_ms(np);
	CHECK(wait > 200 && wait <= 300, "timeout_ms %d just after start, want ~300", wait);
	CHECK(ch_netprobe_collect(np, &r, 1) == 0, "a result before the deadline: %s", r.detail);
	sleep_ms(320);
	CHECK(ch_netprobe_timeout_ms(np) == 0, "timeout_ms %d past the deadline, want 0",
		  ch_netprobe_timeout_ms(np));
	CHECK(ch_netprobe_collect(np, &r, 1) == 1, "no result past the deadline");
	check_result(&r, 31, PROBE_TCP_PORT, PROBE_DOWN, 0, "timeout after 300 ms");
	CHECK(now_ms() - t0 >= 300, "timed out after %.0f ms, before 300", now_ms() - t0);
	CHECK(ch_netprobe_timeout_ms(np) == -1, "timeout_ms %d when idle",
		  ch_netprobe_timeout_ms(np));

	/* same, driven by the poll loop */
	t0 = now_ms();
	r = probe_once(np, request(PROBE_TCP_HOST, "127.0.0.1", port, 250, 32), 2000);
	check_result(&r, 32, PROBE_TCP_HOST, PROBE_DOWN, 0, "timeout after 250 ms");
	CHECK(now_ms() - t0 >= 250 && now_ms() - t0 < 1000,
		  "timed out after %.0f ms, want 250", now_ms() - t0);

	close(fillers[0]);
	close(fillers[1]);
	close(lfd);
	ch_netprobe_destroy(np);
}

static void
test_capacity(void)
{
	NetProbe   *np = create(3);
	int			port;
	int			fillers[2];
	int			lfd = blackhole_listener(&port, fillers);
	ProbeRequest req;
	ProbeResult r[4];
	int			i;

	for (i = 0; i < 3; i++)
	{
		req = request(PROBE_TCP_PORT, "127.0.0.1", port, 150, 40 + i);
		CHECK(ch_netprobe_start(np, &req) == 0, "start %d of 3", i + 1);
	}
	req = request(PROBE_TCP_PORT, "127.0.0.1", port, 150, 43);
	CHECK(ch_netprobe_start(np, &req) == -1, "start beyond max_inflight accepted");
	CHECK(ch_netprobe_inflight(np) == 3, "inflight %d, want 3", ch_netprobe_inflight(np));
	CHECK(run_until(np, r, 3, 2000) == 3, "the three probes did not time out");
	CHECK(ch_netprobe_start(np, &req) == 0, "no room again after collecting");
	CHECK(run_until(np, r, 1, 2000) == 1 && r[0].tag == 43, "the fourth probe");

	/* a result waiting to be collected holds its slot too */
	req = request(PROBE_TCP_PORT, "127.0.0.1", port, 0, 44);
	for (i = 0; i < 3; i++)
		CHECK(ch_netprobe_start(np, &req) == 0, "start %d of 3 immediate errors", i + 1);
	CHECK(ch_netprobe_start(np, &req) == -1, "uncollected results do not hold their slots");
	CHECK(ch_netprobe_collect(np, r, 2) == 2, "collect 2 of 3");
	CHECK(ch_netprobe_inflight(np) == 1, "inflight %d, want 1", ch_netprobe_inflight(np));
	CHECK(ch_netprobe_collect(np, r, 4) == 1, "collect the last one");

	close(fillers[0]);
	close(fillers[1]);
	close(lfd);
	ch_netprobe_destroy(np);
}

/*
 * Timeouts of all lengths, with refused probes leaving the deadline heap from
 * the middle: the silent ones must expire in deadline order.
 */
static void
test_deadline_order(void)
{
	enum
	{
		COUNT = 300
	};
	static double deadline[COUNT];
	static ProbeResult r[COUNT];
	NetProbe   *np = create(COUNT);
	int			port;
	int			fillers[2];
	int			lfd = blackhole_listener(&port, fillers);
	int			closed_port;
	int			cfd = tcp_socket("127.0.0.1", &closed_port);
	double		last = 0;
	int			inversions = 0;
	int			n;
	int			i;

	srand(42);
	for (i = 0; i < COUNT; i++)
	{
		int			timeout = 20 + rand() % 400;
		ProbeRequest req = request(PROBE_TCP_PORT, "127.0.0.1",
								   i % 3 ? port : closed_port, timeout, i);

		deadline[i] = now_ms() + timeout;
		CHECK(ch_netprobe_start(np, &req) == 0, "start %d", i);
	}
	n = run_until(np, r, COUNT, 3000);
	CHECK(n == COUNT, "%d results of %d", n, COUNT);
	for (i = 0; i < n; i++)
	{
		int			tag = (int) r[i].tag;

		CHECK(r[i].outcome == (tag % 3 ? PROBE_DOWN : PROBE_REFUSED),
			  "tag %d: %s %s", tag, ch_probe_outcome_name(r[i].outcome), r[i].detail);
		if (r[i].outcome != PROBE_DOWN)
			continue;
		/* a millisecond of slack: our clock reads are not the engine's */
		if (deadline[tag] < last - 1)
			inversions++;
		if (deadline[tag] > last)
			last = deadline[tag];
	}
	CHECK(inversions == 0, "%d probes expired out of deadline order", inversions);

	close(cfd);
	close(fillers[0]);
	close(fillers[1]);
	close(lfd);
	ch_netprobe_destroy(np);
}

/* Out of fds: the probe reports an error, it does not disappear. */
static void
test_emfile(void)
{
	NetProbe   *np = create(4);
	struct rlimit saved;
	struct rlimit rl;
	int			lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ProbeRequest req = request(PROBE_TCP_PORT, "127.0.0.1", 9, 1000, 51);
	ProbeResult r;

	close(lowest);
	getrlimit(RLIMIT_NOFILE, &saved);
	rl = saved;
	rl.rlim_cur = lowest;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
	{
		skipped("EMFILE: cannot lower RLIMIT_NOFILE");
		ch_netprobe_destroy(np);
		return;
	}
	CHECK(ch_netprobe_start(np, &req) == 0, "start");
	CHECK(ch_netprobe_collect(np, &r, 1) == 1, "no immediate result");
	check_result(&r, 51, PROBE_TCP_PORT, PROBE_ERROR, EMFILE, NULL);
	CHECK(strstr(r.detail, "too many open files") != NULL, "detail \"%s\"", r.detail);
	setrlimit(RLIMIT_NOFILE, &saved);
	ch_netprobe_destroy(np);
}

/*
 * ICMP refused by ping_group_range, then allowed: ch_netprobe_retry_icmp() picks
 * it up.  Leaves ICMP permitted when it can.
 */
static void
test_icmp_permission(void)
{
	NetProbe   *np;
	ProbeResult r;

	if (!can_set_range)
	{
		skipped("changing %s needs root", PING_RANGE_PATH);
		np = create(4);
		r = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 61), 2000);
		if (ch_netprobe_icmp_available(np, AF_INET))
			check_result(&r, 61, PROBE_ICMP, PROBE_UP, 0, "echo reply");
		else
			CHECK(r.outcome == PROBE_ERROR && strstr(r.detail, "not permitted") != NULL,
				  "ICMP unavailable, result %s: %s", ch_probe_outcome_name(r.outcome), r.detail);
		ch_netprobe_destroy(np);
		return;
	}

	if (!set_ping_range("1 0"))
		return;
	np = create(4);
	CHECK(!ch_netprobe_icmp_available(np, AF_INET), "ICMP available against ping_group_range");
	CHECK(!ch_netprobe_icmp_available(np, AF_INET6), "ICMPv6 available against ping_group_range");
	r = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 62), 100);
	check_result(&r, 62, PROBE_ICMP, PROBE_ERROR, EACCES,
				 "ICMP not permitted: net.ipv4.ping_group_range excludes this group");
	ch_netprobe_retry_icmp(np);
	CHECK(!ch_netprobe_icmp_available(np, AF_INET), "retry succeeded without permission");

	if (!set_ping_range(PERMISSIVE_RANGE))
		return;
	CHECK(!ch_netprobe_icmp_available(np, AF_INET), "ICMP available before retry");
	ch_netprobe_retry_icmp(np);
	CHECK(ch_netprobe_icmp_available(np, AF_INET), "ICMP not available after retry");
	r = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 63), 2000);
	check_result(&r, 63, PROBE_ICMP, PROBE_UP, 0, "echo reply");
	r = probe_once(np, request(PROBE_ICMP, "127.1.2.3", 0, 1000, 64), 2000);
	check_result(&r, 64, PROBE_ICMP, PROBE_UP, 0, "echo reply");
	if (private_netns)
	{
		CHECK(ch_netprobe_icmp_available(np, AF_INET6), "ICMPv6 not available after retry");
		r = probe_once(np, request(PROBE_ICMP, "::1", 0, 1000, 65), 2000);
		check_result(&r, 65, PROBE_ICMP, PROBE_UP, 0, "echo reply");
	}
	ch_netprobe_destroy(np);
}

/* Sends that fail: would block (queued, sent later), or for good. */
static void
test_icmp_send_errors(void)
{
	NetProbe   *np = create(16);
	ProbeRequest req;
	ProbeResult r[16];
	int			i;
	int			n;

	/* no room in the send buffer: probes wait for EPOLLOUT, in order */
	inject_send_errors(EAGAIN, 3);
	for (i = 0; i < 10; i++)
	{
		char		host[32];

		snprintf(host, sizeof(host), "127.0.1.%d", i + 1);
		req = request(PROBE_ICMP, host, 0, 2000, 70 + i);
		CHECK(ch_netprobe_start(np, &req) == 0, "start %d", i);
	}
	n = run_until(np, r, 10, 3000);
	CHECK(n == 10, "%d of 10 results after EAGAIN", n);
	for (i = 0; i < n; i++)
		check_result(&r[i], 70 + i, PROBE_ICMP, PROBE_UP, 0, "echo reply");

	inject_send_errors(ENOBUFS, 2);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 2000, 80), 3000);
	check_result(&r[0], 80, PROBE_ICMP, PROBE_UP, 0, "echo reply");

	/* a queued echo that never gets out times out like any other */
	inject_send_errors(EAGAIN, 1000000);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 100, 81), 2000);
	check_result(&r[0], 81, PROBE_ICMP, PROBE_DOWN, 0, "timeout after 100 ms");
	inject_send_errors(0, 0);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 82), 2000);
	check_result(&r[0], 82, PROBE_ICMP, PROBE_UP, 0, "echo reply");

	/*
	 * One failure may be a pending error left by an ICMP error about another
	 * probe: sent again.  Two are for real.
	 */
	inject_send_errors(EHOSTUNREACH, 1);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 83), 2000);
	check_result(&r[0], 83, PROBE_ICMP, PROBE_UP, 0, "echo reply");
	inject_send_errors(EHOSTUNREACH, 2);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 84), 100);
	check_result(&r[0], 84, PROBE_ICMP, PROBE_DOWN, EHOSTUNREACH, "host unreachable");
	inject_send_errors(EPERM, 2);
	r[0] = probe_once(np, request(PROBE_ICMP, "127.0.0.1", 0, 1000, 85), 100);
	check_result(&r[0], 85, PROBE_ICMP, PROBE_ERROR, EPERM, NULL);
	inject_send_errors(0, 0);

	CHECK(ch_netprobe_inflight(np) == 0, "inflight %d", ch_netprobe_inflight(np));
	ch_netprobe_destroy(np);
}

/*
 * Thousands at once, then thousands through a small pool.  TCP to a closed
 * port on 127.2.x.y, ICMP to 127.3.x.y, interleaved.
 */
static void
test_many(bool icmp)
{
	enum
	{
		TOTAL = 6000
	};
	static ProbeResult results[TOTAL];
	static int	seen[TOTAL];
	int			port;
	int			cfd = tcp_socket("0.0.0.0", &port);	/* bound: nobody listens there */
	struct rlimit rl;
	int			fds;
	int			round;

	/* every TCP probe holds an fd: stay within the limit */
	getrlimit(RLIMIT_NOFILE, &rl);
	fds = rl.rlim_cur > 100000 ? 100000 : (int) rl.rlim_cur - 64;

	for (round = 0; round < 2; round++)
	{
		int			max_inflight = round == 0 ? TOTAL : 500;
		NetProbe   *np;
		int			pingfds[4];
		int			started = 0;
		int			got = 0;
		int			wrong = 0;
		int			dup = 0;
		double		t0 = now_ms();
		int			i;

		if (max_inflight > (icmp ? 2 * fds : fds))
		{
			max_inflight = icmp ? 2 * fds : fds;
			printf("note: RLIMIT_NOFILE allows only %d probes at once\n", max_inflight);
		}
		np = create(max_inflight);
		if (icmp && round == 0)
		{
			/*
			 * A receive buffer for a hundred replies or so: the burst then
			 * relies on the engine reading replies while it sends.
			 */
			int			small = 64 * 1024;

			CHECK(find_ping_sockets(pingfds, 4) == 1, "cannot find the ping socket");
			CHECK(setsockopt(pingfds[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0,
				  "SO_RCVBUF");
		}
		memset(seen, 0, sizeof(seen));
		while (got < TOTAL && now_ms() - t0 < 20000)
		{
			struct pollfd pfd = {ch_netprobe_fd(np), POLLIN, 0};
			int			n;

			while (started < TOTAL)
			{
				char		host[32];
				bool		is_icmp = icmp && started % 2 == 1;
				ProbeRequest req;

				snprintf(host, sizeof(host), "127.%d.%d.%d", is_icmp ? 3 : 2,
						 started / 250, started % 250 + 1);
				req = request(is_icmp ? PROBE_ICMP : PROBE_TCP_PORT, host,
							  port, 3000, started);
				if (ch_netprobe_start(np, &req) != 0)
					break;
				started++;
			}
			if (got == 0)
				CHECK(started == max_inflight, "only %d started at once", started);
			n = ch_netprobe_collect(np, results, TOTAL);
			for (i = 0; i < n; i++)
			{
				ProbeResult *r = &results[i];
				bool		is_icmp = icmp && r->tag % 2 == 1;

				if (r->tag >= TOTAL || seen[r->tag]++)
				{
					dup++;
					continue;
				}
				if (r->outcome != (is_icmp ? PROBE_UP : PROBE_REFUSED))
				{
					if (wrong++ < 5)
						printf("FAIL test_many: tag %llu: %s %s\n",
							   (unsigned long long) r->tag,
							   ch_probe_outcome_name(r->outcome), r->detail);
				}
			}
			got += n;
			if (n == 0)
				(void) poll(&pfd, 1, ch_netprobe_timeout_ms(np));
		}
		CHECK(got == TOTAL, "round %d: %d results of %d", round, got, TOTAL);
		CHECK(wrong == 0, "round %d: %d wrong outcomes", round, wrong);
		CHECK(dup == 0, "round %d: %d duplicate or unknown tags", round, dup);
		CHECK(ch_netprobe_inflight(np) == 0, "round %d: inflight %d at the end",
			  round, ch_netprobe_inflight(np));
		printf("note: %d probes (%s) with max_inflight %d in %.0f ms\n", TOTAL,
			   icmp ? "TCP and ICMP" : "TCP", max_inflight, now_ms() - t0);
		ch_netprobe_destroy(np);
	}
	close(cfd);
}

/* Hosts behind firewall rules: one silent, one answering "unreachable". */
static void
test_firewall(bool icmp)
{
	NetProbe   *np = create(64);
	ProbeResult r[64];
	double		t0;
	int			n;
	int			i;
	int			unreach = 0;

	if (icmp)
	{
		r[0] = probe_once(np, request(PROBE_ICMP, SILENT_HOST, 0, 200, 91), 2000);
		check_result(&r[0], 91, PROBE_ICMP, PROBE_DOWN, 0, "timeout after 200 ms");
		t0 = now_ms();
		r[0] = probe_once(np, request(PROBE_ICMP, UNREACH_HOST, 0, 2000, 92), 3000);
		check_result(&r[0], 92, PROBE_ICMP, PROBE_DOWN, EHOSTUNREACH, "host unreachable");
		CHECK(now_ms() - t0 < 1000, "unreachable took %.0f ms", now_ms() - t0);

		/*
		 * ICMP errors also leave a pending error on the shared socket: echoes
		 * sent right after one must go out all the same.  (The kernel rate-
		 * limits ICMP errors: some of the unreachable ones may time out.)
		 */
		for (i = 0; i < 40; i++)
		{
			ProbeRequest req = request(PROBE_ICMP, i % 2 ? "127.0.0.1" : UNREACH_HOST,
									   0, 300, 100 + i);

			CHECK(ch_netprobe_start(np, &req) == 0, "start %d", i);
		}
		n = run_until(np, r, 40, 2000);
		CHECK(n == 40, "%d results of 40", n);
		for (i = 0; i < n; i++)
		{
			if (r[i].tag % 2)
				CHECK(r[i].outcome == PROBE_UP, "tag %llu: %s %s",
					  (unsigned long long) r[i].tag,
					  ch_probe_outcome_name(r[i].outcome), r[i].detail);
			else
			{
				CHECK(r[i].outcome == PROBE_DOWN, "tag %llu: %s %s",
					  (unsigned long long) r[i].tag,
					  ch_probe_outcome_name(r[i].outcome), r[i].detail);
				unreach += r[i].error == EHOSTUNREACH;
			}
		}
		CHECK(unreach > 0, "no \"host unreachable\" among 20 echoes");
	}
	else
		skipped("ICMP behind firewall rules: ICMP not available");

	r[0] = probe_once(np, request(PROBE_TCP_PORT, SILENT_HOST, 80, 200, 93), 2000);
	check_result(&r[0], 93, PROBE_TCP_PORT, PROBE_DOWN, 0, "timeout after 200 ms");
	/* the first ICMP error comes while connect() holds the socket: ~1 s */
	r[0] = probe_once(np, request(PROBE_TCP_HOST, UNREACH_HOST, 80, 5000, 94), 6000);
	check_result(&r[0], 94, PROBE_TCP_HOST, PROBE_DOWN, EHOSTUNREACH, "host unreachable");
	ch_netprobe_destroy(np);
}

/*
 * ICMPv6 errors come through the error queue too.  Only in our own network
 * namespace: the rule turns away echoes to ::1.
 */
static void
test_icmp6_unreachable(void)
{
	static const char rule[] = "INPUT -d ::1/128 -p ipv6-icmp --icmpv6-type echo-request "
		"-j REJECT --reject-with icmp6-addr-unreachable";
	char		cmd[256];
	NetProbe   *np;
	ProbeResult r;

	snprintf(cmd, sizeof(cmd), "ip6tables -w -I %s >/dev/null 2>&1", rule);
	if (system(cmd) != 0)
	{
		skipped("ICMPv6 unreachable: ip6tables does not work here");
		return;
	}
	np = create(4);
	r = probe_once(np, request(PROBE_ICMP, "::1", 0, 2000, 111), 3000);
	check_result(&r, 111, PROBE_ICMP, PROBE_DOWN, EHOSTUNREACH, "host unreachable");
	snprintf(cmd, sizeof(cmd), "ip6tables -w -D %s >/dev/null 2>&1", rule);
	CHECK(system(cmd) == 0, "could not remove the ip6tables rule");
	r = probe_once(np, request(PROBE_ICMP, "::1", 0, 2000, 112), 3000);
	check_result(&r, 112, PROBE_ICMP, PROBE_UP, 0, "echo reply");
	ch_netprobe_destroy(np);
}

/* ---- late replies ------------------------------------------------------ */

typedef struct Echo
{
	struct in_addr src;			/* who sent the request */
	uint16_t	id;				/* network order, as on the wire */
	uint16_t	seq;
	unsigned char payload[64];
	int			payload_len;
} Echo;

/* The next echo request towards dst seen on lo, within a second. */
static bool
sniff_echo(int sniffer, struct in_addr dst, Echo *echo)
{
	double		end = now_ms() + 1000;

	while (now_ms() < end)
	{
		unsigned char pkt[256];
		struct pollfd pfd = {sniffer, POLLIN, 0};
		ssize_t		n;
		int			ihl;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(sniffer, pkt, sizeof(pkt), 0);
		if (n < 20)
			continue;
		ihl = (pkt[0] & 0x0f) * 4;
		if (pkt[9] != IPPROTO_ICMP || memcmp(pkt + 16, &dst, 4) != 0 ||
			n < ihl + 8 || pkt[ihl] != 8)
			continue;
		memcpy(&echo->src, pkt + 12, 4);
		memcpy(&echo->id, pkt + ihl + 4, 2);
		memcpy(&echo->seq, pkt + ihl + 6, 2);
		echo->payload_len = (int) n - ihl - 8;
		if (echo->payload_len > (int) sizeof(echo->payload))
			echo->payload_len = sizeof(echo->payload);
		memcpy(echo->payload, pkt + ihl + 8, echo->payload_len);
		/* whatever else is queued (a copy on its way in, say) is old news */
		while (recv(sniffer, pkt, sizeof(pkt), MSG_DONTWAIT) > 0)
			;
		return true;
	}
	return false;
}

static uint16_t
inet_checksum(const unsigned char *p, int len)
{
	uint32_t	sum = 0;
	int			i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t) (p[i] << 8 | p[i + 1]);
	if (len % 2)
		sum += (uint32_t) p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t) ~sum);
}

/* Send the echo reply to this request, as if from host. */
static void
forge_reply(const Echo *echo, const char *host)
{
	unsigned char pkt[8 + sizeof(echo->payload)];
	struct sockaddr_in from = {0};
	struct sockaddr_in to = {0};
	uint16_t	sum;
	int			fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);

	from.sin_family = to.sin_family = AF_INET;
	inet_pton(AF_INET, host, &from.sin_addr);
	to.sin_addr = echo->src;
	memset(pkt, 0, 8);
	memcpy(pkt + 4, &echo->id, 2);
	memcpy(pkt + 6, &echo->seq, 2);
	memcpy(pkt + 8, echo->payload, echo->payload_len);
	sum = inet_checksum(pkt, 8 + echo->payload_len);
	memcpy(pkt + 2, &sum, 2);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *) &from, sizeof(from)) == 0 &&
		  sendto(fd, pkt, 8 + echo->payload_len, 0, (struct sockaddr *) &to, sizeof(to)) > 0,
		  "could not forge a reply from %s: %s", host, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * A reply that comes after its probe timed out must not count for the next
 * probe of the same slot (one slot here, so the same sequence number), nor
 * must the right reply from the wrong host.  The replies are forged from
 * the requests seen on lo; the silent host drops the real requests.
 */
static void
test_late_reply(void)
{
	NetProbe   *np = create(1);
	int			sniffer = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	struct sockaddr_ll sll = {0};
	struct in_addr silent;
	Echo		first;
	Echo		second;
	ProbeRequest req;
	ProbeResult r;

	inet_pton(AF_INET, SILENT_HOST, &silent);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = if_nametoindex("lo");
	if (sniffer < 0 || bind(sniffer, (struct sockaddr *) &sll, sizeof(sll)) != 0)
	{
		skipped("late replies: no packet socket: %s", strerror(errno));
		ch_netprobe_destroy(np);
		return;
	}

	r = probe_once(np, request(PROBE_ICMP, SILENT_HOST, 0, 100, 1), 2000);
	check_result(&r, 1, PROBE_ICMP, PROBE_DOWN, 0, "timeout after 100 ms");
	if (!sniff_echo(sniffer, silent, &first))
	{
		CHECK(false, "first echo request not seen on lo");
		goto out;
	}

	req = request(PROBE_ICMP, SILENT_HOST, 0, 2000, 2);
	CHECK(ch_netprobe_start(np, &req) == 0, "start");
	if (!sniff_echo(sniffer, silent, &second))
	{
		CHECK(false, "second echo request not seen on lo");
		goto out;
	}
	CHECK(first.seq == second.seq, "one slot, two sequence numbers");
	CHECK(first.payload_len != second.payload_len ||
		  memcmp(first.payload, second.payload, first.payload_len) != 0,
		  "the same payload for two starts of a slot");

	forge_reply(&first, SILENT_HOST);
	forge_reply(&second, OTHER_HOST);
	CHECK(run_until(np, &r, 1, 200) == 0, "credited with a late or foreign reply: %s %s",
		  ch_probe_outcome_name(r.outcome), r.detail);
	CHECK(ch_netprobe_inflight(np) == 1, "inflight %d", ch_netprobe_inflight(np));

	/* and the forged replies do reach the engine: */
	forge_reply(&second, SILENT_HOST);
	CHECK(run_until(np, &r, 1, 1000) == 1, "no result for the right reply");
	check_result(&r, 2, PROBE_ICMP, PROBE_UP, 0, "echo reply");

out:
	close(sniffer);
	ch_netprobe_destroy(np);
}

int
main(void)
{
	bool		icmp;
	NetProbe   *np;
	int			i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	alarm(120);

	setup_environment();

	test_basics();
	test_bad_requests();
	test_tcp_up("127.0.0.1");
	test_tcp_refused("127.0.0.1");
	if (private_netns)
	{
		test_tcp_up("::1");
		test_tcp_refused("::1");
	}
	test_tcp_timeout();
	test_capacity();
	test_deadline_order();
	test_emfile();
	test_icmp_permission();

	np = create(1);
	icmp = ch_netprobe_icmp_available(np, AF_INET);
	ch_netprobe_destroy(np);
	if (icmp)
		test_icmp_send_errors();
	else
		skipped("ICMP send errors: ICMP not permitted here");
	test_many(icmp);
	if (!icmp)
		skipped("ICMP in the many-probes test: ICMP not permitted here");

	if (have_iptables)
	{
		bool		ok = true;

		for (i = 0; i < 2; i++)
		{
			fw_added[i] = firewall(true, i);
			ok = ok && fw_added[i];
		}
		CHECK(ok, "could not add the iptables rules");
		if (ok)
		{
			test_firewall(icmp);
			if (icmp && private_netns)
				test_icmp6_unreachable();
			if (icmp)
				test_late_reply();
			else
				skipped("late replies: ICMP not available");
		}
	}
	else
		skipped("silent and unreachable hosts, late replies: iptables needs root");

	cleanup();
	if (failures > 0)
	{
		printf("test_netprobe: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	printf("test_netprobe: all %d checks passed\n", checks);
	return 0;
}
