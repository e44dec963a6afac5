/*
 * supervisor.c
 *	  visionproc's parent process: forks the workers, restarts any that
 *	  dies (a crash in FFmpeg on a broken stream costs one task, which
 *	  another worker claims again), and stops them all on SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define STOP_GRACE_S 10
#define FAST_CRASH_S 5			/* a worker dying sooner than this is restarted after a pause */

static volatile sig_atomic_t stop_requested = 0;

static void
on_stop(int sig)
{
	stop_requested = 1;
}

static void
install_stop_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: waitpid and sleeps return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static pid_t
start_worker(const VisionConfig *cfg)
{
	pid_t		pid = fork();

	if (pid == 0)
	{
		/* the child has its own copy of stop_requested and the handler */
		_exit(worker_main(cfg, &stop_requested));
	}
	if (pid < 0)
		vlog("cannot fork a worker: %s", strerror(errno));
	return pid;
}

static void
describe_exit(pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		vlog("worker %d was killed by signal %d (%s); restarting it", (int) pid,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		vlog("worker %d exited with code %d; restarting it", (int) pid, WEXITSTATUS(status));
}

static void
stop_workers(pid_t *pids, int n)
{
	time_t		deadline = time(NULL) + STOP_GRACE_S;
	int			alive = 0;

	for (int i = 0; i < n; i++)
		if (pids[i] > 0 && kill(pids[i], SIGTERM) == 0)
			alive++;
	while (alive > 0 && time(NULL) < deadline)
	{
		pid_t		pid = waitpid(-1, NULL, WNOHANG);

		if (pid > 0)
		{
			for (int i = 0; i < n; i++)
				if (pids[i] == pid)
					pids[i] = 0;
			alive--;
		}
		else if (pid < 0 && errno == ECHILD)
			break;
		else
			usleep(50 * 1000);
	}
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
		{
			vlog("worker %d did not stop in %d s; killing it", (int) pids[i], STOP_GRACE_S);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

int
supervise(const VisionConfig *cfg)
{
	pid_t	   *pids = calloc(cfg->workers, sizeof(pid_t));
	time_t	   *started = calloc(cfg->workers, sizeof(time_t));

	install_stop_handler();
	for (int i = 0; i < cfg->workers; i++)
	{
		pids[i] = start_worker(cfg);
		started[i] = time(NULL);
	}
	vlog("started %d workers", cfg->workers);

	while (!stop_requested)
	{
		int			status;
		pid_t		pid = waitpid(-1, &status, 0);

		if (pid < 0)
		{
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		for (int i = 0; i < cfg->workers; i++)
		{
			if (pids[i] != pid)
				continue;
			describe_exit(pid, status);
			if (time(NULL) - started[i] < FAST_CRASH_S)
				sleep(1);
			if (stop_requested)
				break;
			pids[i] = start_worker(cfg);
			started[i] = time(NULL);
		}
	}
	vlog("stopping");
	stop_workers(pids, cfg->workers);
	free(pids);
	free(started);
	vlog("stopped");
	return 0;
}
