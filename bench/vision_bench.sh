#!/usr/bin/env bash
# Frame analysis against FFmpeg's own decode of the same frame (issue 4):
# a 1280x720 frame of the test data as a JPEG snapshot and as an H.264
# keyframe, each decoded, scaled and analysed N times on one core by
# bench/vision_bench.  Target: the analysis costs less than the decode it
# follows (ratio < 1).
#
# VISION_BENCH: the binary (default bench/vision_bench, built if missing);
# TESTDATA: the test data; N, ROUNDS: repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTDATA=${TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)/test/data}
BENCH=${VISION_BENCH:-bench/vision_bench}
N=${N:-200}
ROUNDS=${ROUNDS:-5}

if [ ! -x "$BENCH" ]; then
	pkgs="libavformat libavcodec libavutil libswscale json-c"
	# shellcheck disable=SC2046
	cc -O2 -Wall -Wextra -Werror -Ivisionproc -o "$BENCH" bench/vision_bench.c \
		visionproc/image.c visionproc/focus.c visionproc/frame.c visionproc/imgmath.c visionproc/blur.c \
		visionproc/obstruction.c visionproc/displacement.c visionproc/frozen.c visionproc/vision.c common/grey_format.c -Icommon \
		$(pkg-config --cflags --libs $pkgs) -lm
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the reference and a frame of the same camera that moved (the analysis
# then runs its longest path: rotation and zoom are looked for and undone)
ffmpeg -v error -y -i "$TESTDATA/refs/vtest.jpg" -vf scale=1280:720 -q:v 3 "$work/ref.jpg"
ffmpeg -v error -y -i "$TESTDATA/variants/vtest-shift-5.jpg" -vf scale=1280:720 -q:v 3 "$work/frame.jpg"
ffmpeg -v error -y -i "$TESTDATA/variants/vtest-shift-5.jpg" -vf scale=1280:720 -frames:v 1 \
	-c:v libx264 -preset medium -crf 23 -g 1 -bf 0 -pix_fmt yuv420p "$work/frame.mp4"

echo "== JPEG snapshot, 1280x720"
"$BENCH" -n "$N" -r "$ROUNDS" "$work/ref.jpg" "$work/frame.jpg"
echo "== H.264 keyframe, 1280x720"
"$BENCH" -n "$N" -r "$ROUNDS" "$work/ref.jpg" "$work/frame.mp4"
