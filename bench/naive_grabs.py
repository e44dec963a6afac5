#!/usr/bin/env python3
"""The naive way to check cameras, for bench/vision_scale.sh to compare with.

    naive_grabs.py PARALLEL SECONDS URL...

Runs `ffmpeg -rtsp_transport tcp -i URL -frames:v 1` per check, PARALLEL at
a time, cycling through the URLs for SECONDS; prints the checks done, the
failures, the CPU seconds of all ffmpeg processes (from wait4's rusage)
and the seconds it took.
"""
import os
import subprocess
import sys
import time


def main():
    parallel, seconds, urls = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    start = time.monotonic()
    end = start + seconds
    running = {}
    done = failed = 0
    cpu = 0.0
    nxt = 0
    while True:
        while len(running) < parallel and time.monotonic() < end:
            url = urls[nxt % len(urls)]
            nxt += 1
            p = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp",
                                  "-i", url, "-frames:v", "1", "-f", "image2", "-c:v", "mjpeg", "-y",
                                  "/dev/null"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running[p.pid] = p
        if not running:
            break
        pid, status, usage = os.wait4(-1, 0)
        if pid in running:
            del running[pid]
            cpu += usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) == 0:
                done += 1
            else:
                failed += 1
    print(done, failed, f"{cpu:.2f}", f"{time.monotonic() - start:.2f}")


if __name__ == "__main__":
    main()
