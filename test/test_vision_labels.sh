#!/usr/bin/env bash
# The vision analysis against the labelled test data (test/data):
# every row of labels.tsv through `visionproc analyze`, then the clips
# (frames decoded from H.264, and frames a second apart for frozen
# video).
#
# Rules, for every row:
#   - every case must be detected as its label says, mild ones too (the
#     slight defocus of blur-s2 is judged on the focus map kept at the
#     source resolution);
#   - healthy ones must raise nothing;
#   - no row may raise anything else than its own label, whatever its
#     severity (a blurred picture called displaced is a false alarm).
#     A covered or sprayed frame also looks blurred, and its registration
#     is meaningless: visionproc reports the one cause, obstruction, and
#     marks the others "suppressed_by", so here too no extra flag is
#     accepted.
#
# Besides the labelled rows, slight moves of every reference made here with
# ffmpeg (in the style of make_variants.sh): a 3 % pan and a 3 degree turn,
# each to be found by displacement only.
#
# VISIONPROC: the binary (default visionproc/visionproc); TESTDATA: the data.
set -euo pipefail
cd "$(dirname "$0")/.."
VISIONPROC=${VISIONPROC:-visionproc/visionproc}
TESTDATA=${TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)/test/data}

[ -x "$VISIONPROC" ] || { echo "no executable $VISIONPROC (build it, or set VISIONPROC)" >&2; exit 1; }
[ -f "$TESTDATA/labels.tsv" ] || { echo "no $TESTDATA/labels.tsv (set TESTDATA)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "ffmpeg is needed (scripts/setup.sh installs it)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Frames a second apart, decoded losslessly to grey PNG, as the worker takes
# them: a first frame and two more (visionproc --frozen-frames 2).
sequences=()
for spec in vtest-frozen:0,1,2:frozen vtest-frozen:3,4,5:frozen vtest-frozen:5.5,6.5,7.5:frozen \
	building:0,1,2:live building:3,4,5:live building:5.5,6.5,7.5:live \
	vtest:0,1,2:live vtest:4,5,6:live tree:0,1,2:live tree:5,6,7:live; do
	IFS=: read -r clip times want <<<"$spec"
	for t in ${times//,/ }; do
		ffmpeg -v error -y -ss "$t" -i "$TESTDATA/clips/$clip.mp4" -frames:v 1 -pix_fmt gray \
			"$work/$clip-$t.png"
	done
	sequences+=("$clip $times $want")
done

# The slight moves: NAME FILTER for every reference (not the later frames).
moves=()
for ref in "$TESTDATA"/refs/*.jpg; do
	scene=$(basename "$ref" .jpg)
	case $scene in later-*) continue ;; esac
	for spec in "shift-3|crop=iw*0.97:ih*0.97:iw*0.03:0,scale=iw/0.97:ih/0.97" \
		"rot-3|rotate=3*PI/180:fillcolor=black"; do
		name=${spec%%|*}
		ffmpeg -v error -y -i "$ref" -vf "${spec#*|}" -q:v 3 "$work/$scene-$name.jpg"
		moves+=("$scene-$name.jpg|refs/$scene.jpg|${spec#*|}")
	done
done

python3 - "$VISIONPROC" "$TESTDATA" "$work" "${#sequences[@]}" "${sequences[@]}" "${moves[@]}" <<'EOF'
import json, os, subprocess, sys

visionproc, data, work = sys.argv[1:4]
nseq = int(sys.argv[4])
sequences = sys.argv[5:5 + nseq]
moves = sys.argv[5 + nseq:]
KINDS = ("blur", "obstruction", "displacement", "frozen")
EXPECT = {"healthy": None, "blurred": "blur", "obstructed": "obstruction", "displaced": "displacement"}

def analyze(ref, image, later=()):
    cmd = [visionproc, "analyze", "--reference", ref, image]
    for frame in later:
        cmd += ["--later", frame]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("visionproc failed (%d) on %s: %s" % (p.returncode, image, p.stderr.strip()))
    return json.loads(p.stdout)

def found(r):
    return [k for k in KINDS if k in r and r[k]["detected"]]

def measures(r):
    b, o, d = r["blur"], r["obstruction"], r["displacement"]
    s = "sharp %.2f focus %.2f  cover %.2f dark %.2f  move %5.1fpx conf %.2f" % (
        b["sharpness"], b["focus_sharpness"], o["covered"], o["dark"], d["motion_px"], d["confidence"])
    if "frozen" in r:
        s += "  changed %.4f" % r["frozen"]["changed"]
    return s

failures = []
summary = {}
print("%-28s %-10s %-8s %-24s %-64s %s" % ("file", "label", "severity", "detected", "measurements", "verdict"))

def judge(name, label, severity, r, want):
    got = found(r)
    other = [k for k in got if k != want]
    if other:
        verdict = "FAIL: false alarm (%s)" % ",".join(other)
    elif want and want not in got:
        verdict = "FAIL: missed"
    elif want:
        verdict = "ok: found"
    else:
        verdict = "ok: clean"
    if verdict.startswith("FAIL"):
        failures.append("%s: %s" % (name, verdict))
    key = (label, severity)
    hit = want in got if want else not got
    summary.setdefault(key, [0, 0])
    summary[key][0] += hit and not other
    summary[key][1] += 1
    print("%-28s %-10s %-8s %-24s %-64s %s" % (name, label, severity, ",".join(got) or "-", measures(r), verdict))

with open(os.path.join(data, "labels.tsv")) as f:
    rows = [l.rstrip("\n").split("\t") for l in f][1:]
for file, ref, label, severity, _ in rows:
    r = analyze(os.path.join(data, ref), os.path.join(data, file))
    judge(os.path.basename(file), label, severity, r, EXPECT[label])

# The slight moves made above.
for move in moves:
    file, ref, _ = move.split("|", 2)
    r = analyze(os.path.join(data, ref), os.path.join(work, file))
    judge(file, "displaced", "mild", r, "displacement")

# The clips against the reference (vtest.jpg is the clips' moment 1 s in;
# their first frame, at 0 s, is decoded from H.264 by visionproc itself).
for clip, label, severity in (("vtest", "healthy", "none"), ("vtest-blurred", "blurred", "severe"),
                              ("vtest-covered", "obstructed", "severe"),
                              ("vtest-shifted", "displaced", "severe")):
    r = analyze(os.path.join(data, "refs/vtest.jpg"), os.path.join(data, "clips", clip + ".mp4"))
    judge("clips/%s.mp4" % clip, label, severity, r, EXPECT[label])

# Frozen video: the same picture re-encoded must be frozen, a still scene
# with sensor noise and live video must not.
for seq in sequences:
    clip, times, want = seq.split()
    frames = [os.path.join(work, "%s-%s.png" % (clip, t)) for t in times.split(",")]
    r = analyze(frames[0], frames[0], frames[1:])
    judge("%s %ss" % (clip, times.replace(",", "/")), "frozen" if want == "frozen" else "live",
          "severe" if want == "frozen" else "none", r, "frozen" if want == "frozen" else None)

print()
print("summary (found or clean / cases):")
for (label, severity), (ok, n) in sorted(summary.items()):
    print("  %-10s %-8s %3d / %-3d" % (label, severity, ok, n))
total = sum(n for _, n in summary.values())
print("%d passed, %d failed" % (total - len(failures), len(failures)))
for f in failures:
    print("  " + f)
sys.exit(1 if failures else 0)
EOF
