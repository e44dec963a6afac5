#!/usr/bin/env python3
"""soak_report.py SAMPLES.tsv WARMUP_S: the growth of each process in a soak.

Reads the samples bench/soak.sh writes (t_s, process, pid, rss_anon_kb,
contexts_used_bytes) and prints, per process, over the samples taken after
WARMUP_S: the first and last values, the range, the least-squares slope per
hour, and the difference between the means of the last and the first third
(less sensitive than the slope to a single high or low sample in a short
run).  The target is that no worker grows: both near zero, within the range
the samples wander in.
"""
import collections
import sys


def slope_per_hour(points):
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return float("nan")
    return sum((t - mx) * (v - my) for t, v in points) / sxx * 3600


def thirds_delta(points):
    k = len(points) // 3
    if k == 0:
        return float("nan")
    first = sum(v for _, v in points[:k]) / k
    last = sum(v for _, v in points[-k:]) / k
    return last - first


def describe(points):
    if not points:
        return "%30s" % "-"
    vals = [v for _, v in points]
    return "%5.2f->%5.2f [%5.2f..%5.2f] %+7.2f/h %+6.2f" % (
        vals[0], vals[-1], min(vals), max(vals), slope_per_hour(points), thirds_delta(points))


def main():
    path, warmup = sys.argv[1], int(sys.argv[2])
    series = collections.OrderedDict()
    with open(path) as f:
        next(f)
        for line in f:
            t, proc, pid, rss, ctx = line.rstrip("\n").split("\t")
            series.setdefault((proc, pid), []).append((int(t), int(rss or 0), int(ctx) if ctx else None))
    print("MB after warm-up: first->last [min..max], least-squares slope per hour, "
          "last third's mean - first third's")
    print("%-18s %7s %3s  %-46s  %s" % ("process", "pid", "n", "RssAnon", "memory contexts in use"))
    for (proc, pid), pts in series.items():
        late = [p for p in pts if p[0] >= warmup]
        rss = [(t, r / 1024) for t, r, _ in late]
        ctx = [(t, c / 1048576) for t, _, c in late if c is not None]
        print("%-18s %7s %3d  %-46s  %s" % (proc, pid, len(late), describe(rss), describe(ctx)))


if __name__ == "__main__":
    main()
