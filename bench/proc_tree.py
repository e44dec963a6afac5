#!/usr/bin/env python3
"""CPU seconds and memory of a process and its descendants, from /proc.

    proc_tree.py cpu PID     prints the CPU seconds (user + system) of PID and
                             every live descendant, threads included
    proc_tree.py mem PID     prints one line per child of PID: its pid, VmRSS
                             and VmHWM in kB (the workers of a supervisor)
"""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # the command name is in parentheses and may hold spaces
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def tree(root):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = stat(int(name))
            except (OSError, ValueError):
                pass
    keep = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in parents.items():
            if ppid in keep and pid not in keep:
                keep.add(pid)
                grew = True
    return {pid: parents[pid] for pid in keep if pid in parents}


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    what, root = sys.argv[1], int(sys.argv[2])
    procs = tree(root)
    if what == "cpu":
        print(f"{sum(cpu for _, cpu in procs.values()):.2f}")
    else:
        for pid, (ppid, _) in sorted(procs.items()):
            if ppid == root:
                print(pid, status(pid, "VmRSS"), status(pid, "VmHWM"))


if __name__ == "__main__":
    main()
