#!/usr/bin/env bash
# Bulk import of a fleet: 10,000 cameras (address, URL with credentials,
# name, site, tags) registered in one call, measured side by side with its
# peer, the same 10,000 register_camera() calls in one statement (the same
# checks and duplicate test, row by row), and through HTTP (nginx and
# PostgREST: a JSON array, and CSV).  Into the workers' database, as an
# operator would: the cameras are scheduled at once (127.3.0.0/16, on
# loopback, so their checks stay on this host).  Each run starts from an
# empty cameras table; median of RUNS.
#
#   bench/import.sh [CAMERAS [RUNS]]     (defaults 10000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${1:-10000}
RUNS=${2:-3}

. scripts/stack.sh
. scripts/http.sh
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	stack_stop
}
trap cleanup EXIT
stack_start
http_start camera_health
WRITER=$(http_token camera_health_writer 3600)
WORK="$STACK_DIR/import"
mkdir -p "$WORK"

psql -XAtq -v ON_ERROR_STOP=1 -c "COPY (SELECT jsonb_agg(jsonb_build_object(
		'ip_address', '127.3.' || (i / 250) || '.' || (i % 250 + 1), 'port', 554,
		'rtsp_url', 'rtsp://viewer:pw' || i || '@127.3.' || (i / 250) || '.' || (i % 250 + 1) || '/live',
		'name', 'camera ' || i, 'site', 'site ' || (i % 25), 'tags', jsonb_build_array('t' || (i % 4), 'fleet')))
	FROM generate_series(0, $CAMERAS - 1) i) TO STDOUT" >"$WORK/cameras.json"
python3 - "$WORK/cameras.json" "$WORK/cameras.csv" <<'PY'
import csv, json, sys
rows = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["ip_address", "port", "rtsp_url", "name", "site", "tags"])
    for r in rows:
        w.writerow([r["ip_address"], r["port"], r["rtsp_url"], r["name"], r["site"], "{" + ",".join(r["tags"]) + "}"])
PY

empty() { psql -XAtq -v ON_ERROR_STOP=1 -c "DELETE FROM camera_health.cameras" >/dev/null; }
timed() { # CMD...: wall time in ms
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
[ "$(id -u)" -ne 0 ] || chown -R postgres: "$WORK"
run_bulk() {
	psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(*)
		FROM camera_health.register_cameras(pg_read_file('$WORK/cameras.json')::jsonb)"
}
run_single() {
	psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT count(camera_health.register_camera(
		(e->>'ip_address')::inet, (e->>'port')::int, e->>'rtsp_url', name => e->>'name', site => e->>'site',
		tags => ARRAY(SELECT jsonb_array_elements_text(e->'tags'))))
		FROM jsonb_array_elements(pg_read_file('$WORK/cameras.json')::jsonb) e"
}
run_http_json() {
	curl -sf -o /dev/null -X POST -H "Authorization: Bearer $WRITER" -H 'Content-Type: application/json' \
		--data-binary "@$WORK/cameras.json" "$HTTP_BASE/health/cameras"
}
run_http_csv() {
	curl -sf -o /dev/null -X POST -H "Authorization: Bearer $WRITER" -H 'Content-Type: text/csv' \
		--data-binary "@$WORK/cameras.csv" "$HTTP_BASE/health/cameras"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A result
for what in bulk single http_json http_csv; do
	for _ in $(seq "$RUNS"); do
		empty
		timed "run_$what"
		[ "$(psql -XAtq -c "SELECT count(*) FROM camera_health.cameras")" = "$CAMERAS" ] || {
			echo "$what did not register $CAMERAS cameras" >&2
			exit 1
		}
	done | median >"$WORK/$what"
	result[$what]=$(cat "$WORK/$what")
done
empty
echo "import of $CAMERAS cameras, median of $RUNS runs (wall time, ms):"
echo "  register_cameras(jsonb), one call           ${result[bulk]}"
echo "  peer: $CAMERAS register_camera() in one statement ${result[single]}"
echo "  POST /health/cameras, JSON array             ${result[http_json]}"
echo "  POST /health/cameras, CSV                    ${result[http_csv]}"
awk -v b="${result[bulk]}" -v s="${result[single]}" 'BEGIN { printf "  ratio register_cameras / peer: %.2f\n", b / s }'
