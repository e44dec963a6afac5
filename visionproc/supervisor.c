/*
 * supervisor.c
 *	  visionproc's parent process: forks the workers (and, for a site
 *	  agent, the agent process of agent.c), restarts any that dies (a crash
 *	  in FFmpeg on a broken stream costs one task, which another worker
 *	  claims again), and stops them all on SIGTERM.
 *
 * The parent keeps SIGTERM, SIGINT and SIGCHLD blocked and takes them with
 * sigtimedwait(): a signal that arrives while it is busy (reaping,
 * forking, logging) stays pending until the next wait, so a SIGTERM can
 * never fall between a check of a flag and a blocking call.  A worker that
 * cannot be forked (EAGAIN: a process limit, memory) is tried again a
 * little later, as is one that died right after it started.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "monotonic.h"

#define STOP_GRACE_S 10
#define FAST_CRASH_MS 5000		/* a worker dying sooner than this is restarted after a pause */
#define RESTART_PAUSE_MS 1000
#define FORK_RETRY_MS 1000
#define IDLE_WAIT_MS 60000

/* Set by SIGTERM in a worker (the parent takes its signals synchronously). */
static volatile sig_atomic_t stop_requested = 0;

static void
on_stop(int sig)
{
	stop_requested = 1;
}

static void
on_child(int sig)
{
	/* only so that SIGCHLD is not discarded: taken by sigtimedwait */
}

/* Handlers for the workers; the signals blocked in the parent (*old: the mask before). */
static void
install_signals(sigset_t *waited, sigset_t *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: a worker's waits return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);

	sigemptyset(waited);
	sigaddset(waited, SIGTERM);
	sigaddset(waited, SIGINT);
	sigaddset(waited, SIGCHLD);
	sigprocmask(SIG_BLOCK, waited, old);
}

static pid_t
start_worker(const VisionConfig *cfg, const sigset_t *worker_mask, bool agent)
{
	pid_t		parent = getpid();
	pid_t		pid = fork();

	if (pid == 0)
	{
		struct sigaction sa;

		/* a worker takes SIGTERM through on_stop, into its own stop_requested */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		sigprocmask(SIG_SETMASK, worker_mask, NULL);
		if (agent)
		{
			/*
			 * An agent outliving its supervisor would heartbeat with no one
			 * to restart it: it dies with it, and the site's other agents
			 * (or the database) take its tasks over.
			 */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
				_exit(1);
			_exit(agent_main(cfg, &stop_requested));
		}
		_exit(worker_main(cfg, &stop_requested));
	}
	if (pid < 0)
		vlog("cannot fork a worker: %s; trying again in %d ms", strerror(errno), FORK_RETRY_MS);
	return pid;
}

static void
describe_exit(pid_t pid, int status, bool agent)
{
	const char *what = agent ? "agent" : "worker";

	if (WIFSIGNALED(status))
		vlog("%s %d was killed by signal %d (%s); restarting it", what, (int) pid,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		vlog("%s %d exited with code %d; restarting it", what, (int) pid, WEXITSTATUS(status));
}

typedef struct Slot
{
	pid_t		pid;			/* 0: to be started at start_at */
	double		started_ms;
	double		start_at_ms;
	bool		agent;			/* the site agent's slot (the last one) */
} Slot;

static void
stop_workers(Slot *slots, int n)
{
	time_t		deadline = time(NULL) + STOP_GRACE_S;
	int			alive = 0;

	for (int i = 0; i < n; i++)
		if (slots[i].pid > 0 && kill(slots[i].pid, SIGTERM) == 0)
			alive++;
	while (alive > 0 && time(NULL) < deadline)
	{
		pid_t		pid = waitpid(-1, NULL, WNOHANG);

		if (pid > 0)
		{
			for (int i = 0; i < n; i++)
				if (slots[i].pid == pid)
				{
					slots[i].pid = 0;
					alive--;
				}
		}
		else if (pid < 0 && errno == ECHILD)
			break;
		else
			usleep(50 * 1000);
	}
	for (int i = 0; i < n; i++)
		if (slots[i].pid > 0)
		{
			vlog("worker %d did not stop in %d s; killing it", (int) slots[i].pid, STOP_GRACE_S);
			kill(slots[i].pid, SIGKILL);
			waitpid(slots[i].pid, NULL, 0);
		}
}

/* Reap every worker that exited; its slot is started again later. */
static void
reap(Slot *slots, int n)
{
	int			status;
	pid_t		pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = 0; i < n; i++)
			if (slots[i].pid == pid)
			{
				describe_exit(pid, status, slots[i].agent);
				slots[i].pid = 0;
				slots[i].start_at_ms = now_ms() - slots[i].started_ms < FAST_CRASH_MS ?
					now_ms() + RESTART_PAUSE_MS : 0;
			}
}

/* Start the workers due; returns how long until the next one is (ms). */
static double
start_due(const VisionConfig *cfg, Slot *slots, int n, const sigset_t *worker_mask)
{
	double		wait = IDLE_WAIT_MS;

	for (int i = 0; i < n; i++)
	{
		if (slots[i].pid > 0)
			continue;
		if (now_ms() >= slots[i].start_at_ms)
		{
			pid_t		pid = start_worker(cfg, worker_mask, slots[i].agent);

			slots[i].pid = pid > 0 ? pid : 0;
			slots[i].started_ms = now_ms();
			slots[i].start_at_ms = pid > 0 ? 0 : now_ms() + FORK_RETRY_MS;
		}
		if (slots[i].pid == 0 && slots[i].start_at_ms - now_ms() < wait)
			wait = slots[i].start_at_ms - now_ms();
	}
	return wait < 1 ? 1 : wait;
}

int
supervise(const VisionConfig *cfg)
{
	int			nslots = cfg->workers + (cfg->nsites > 0);
	Slot	   *slots = calloc(nslots, sizeof(Slot));
	sigset_t	waited,
				worker_mask;
	int			running = 0;

	if (slots == NULL)
	{
		vlog("out of memory");
		return 1;
	}
	if (cfg->nsites > 0)
		slots[nslots - 1].agent = true;
	install_signals(&waited, &worker_mask);
	start_due(cfg, slots, nslots, &worker_mask);
	for (int i = 0; i < cfg->workers; i++)
		running += slots[i].pid > 0;
	vlog("started %d workers", running);
	if (cfg->nsites > 0)
		vlog("started the agent of %d sites (%s)", cfg->nsites, cfg->agent_name);

	for (;;)
	{
		double		wait_ms;
		struct timespec ts;
		int			sig;

		reap(slots, nslots);
		wait_ms = start_due(cfg, slots, nslots, &worker_mask);
		ts.tv_sec = (time_t) (wait_ms / 1000);
		ts.tv_nsec = (long) ((wait_ms - ts.tv_sec * 1000.0) * 1e6);
		sig = sigtimedwait(&waited, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	vlog("stopping");
	stop_workers(slots, nslots);
	free(slots);
	vlog("stopped");
	return 0;
}
