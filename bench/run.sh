#!/usr/bin/env bash
# make bench: every benchmark, each printing ratios against a peer measured
# in the same run (or absolute figures where the target is absolute).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
. scripts/testdata.sh
echo "== network probes vs fping"
bench/probe_vs_fping.sh
echo "== scheduling lateness at 10,000 cameras"
bench/lateness.sh
echo "== vision analysis vs FFmpeg decode"
bench/vision_bench.sh
echo "== check history: today's layout (663e927) against the compact one"
# a day: bytes per check do not depend on the length beyond one (the month,
# the script's default, is 276 million checks a layout)
bench/history.sh 2000 1
echo "== retention: partition drops vs batched DELETE"
bench/retention.sh
echo "== uptime from the hourly trends: one camera over a year, 10,000 cameras over 30 days"
bench/uptime.sh
echo "== bulk import of 10,000 cameras"
bench/import.sh
echo "== the dashboard's reads at 10,000 cameras"
bench/dashboard.sh
echo "== vision at fleet scale: grabs in flight against today's visionproc and naive ffmpeg"
bench/vision_scale.sh
