#!/usr/bin/env python3
"""reap.py CMD...: run CMD (one test) so that nothing it starts outlives it.

scripts/test.sh runs every integration test through this.  It
- starts a session of its own (so Ctrl-C in the terminal never reaches the
  test, and test.sh can signal the test's whole process group),
- makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER): whatever
  the test starts and leaves behind is re-parented to this process instead
  of init, even what daemonized or called setsid (a pg_ctl-started
  postmaster, redis-server --daemonize, a `setsid cmd &`), which a signal
  to the process group would miss,
- runs CMD, and survives the SIGTERM that test.sh sends the group on a
  timeout or an interrupt (CMD gets it and its EXIT trap runs),
- when CMD has exited, names every process still left and stops it:
  SIGTERM to it and its process group, SIGKILL after TEST_KILL_GRACE
  seconds (default 15),
- spares the servers named by the pid files in $REAP_SPARE_PIDFILES
  (colon-separated; the first line of each is a pid): the shared stack's
  PostgreSQL and redis-server, which a test may stop and start again
  (test_shutdown, test_redis_outage) and which must outlive it,
- exits with CMD's status (128 + the signal when a signal ended it).
Linux only (prctl); Python standard library only.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children(me):
    """Pids whose parent is this process (not yet reaped ones included)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            out.append(int(entry))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def signal_tree(pid, sig, own_pgid):
    try:
        pgid = os.getpgid(pid)
        if pgid != own_pgid:
            os.killpg(pgid, sig)
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spared():
    """Pids of the servers the pid files of $REAP_SPARE_PIDFILES name."""
    pids = set()
    for path in filter(None, os.environ.get("REAP_SPARE_PIDFILES", "").split(":")):
        try:
            with open(path) as f:
                pids.add(int(f.readline().strip()))
        except (OSError, ValueError):
            pass
    return pids


def stop_leftovers(name, grace):
    me = os.getpid()
    own_pgid = os.getpgid(0)
    keep = spared()
    left = [p for p in children(me) if p not in keep]
    if not left:
        return
    print(f"-- {name} left processes running; stopping them:", flush=True)
    for pid in left:
        print(f"   {pid} {cmdline(pid)}", flush=True)
    deadline = time.monotonic() + grace
    sig = signal.SIGTERM
    while left:
        for pid in left:
            signal_tree(pid, sig, own_pgid)
        time.sleep(0.1)
        reap_all()
        left = [p for p in children(me) if p not in keep]
        if time.monotonic() > deadline:
            sig = signal.SIGKILL


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: reap.py CMD...")
    grace = float(os.environ.get("TEST_KILL_GRACE", "15"))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("reap.py: prctl(PR_SET_CHILD_SUBREAPER) failed")
    os.setsid()
    # the test gets the group's SIGTERM; this process outlives it to clean up
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGHUP, lambda *_: None)
    test = os.fork()
    if test == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.execvp(sys.argv[1], sys.argv[1:])
    status = None
    while status is None:
        try:
            pid, st = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if pid == test:
            status = st
    stop_leftovers(" ".join(sys.argv[1:]), grace)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
