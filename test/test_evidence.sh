#!/usr/bin/env bash
# Evidence end to end, with the real stack: visionproc checking cameras of
# the test RTSP server (clips of test/data), the ingest worker, PostgREST
# and nginx.  After the checks, each camera's snapshot and reference are
# valid JPEGs about 320 pixels wide, in colour, readable by a reader in SQL
# and over HTTP without a token (image/jpeg, the very bytes), and the
# tables are not; a covered camera's obstruction alert has as evidence the
# frame that opened it, which retention deletes with the alert; unknown
# cameras and missing pictures are 404s in the API's JSON error shape; a
# hostile jpeg field (too big, not a JPEG) is dropped, logged once, and its
# result kept.  Then the storage: bytes per camera and per evidence, and
# whether the snapshot updates were HOT.
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/http.sh
. "$(dirname "$0")/../scripts/http.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
DIR="$STACK_DIR/evidence-mounts"
WORK=$(mktemp -d "$STACK_DIR/evidence.XXXXXX")
HTTP_DIR="$WORK/http"
export HTTP_DIR
mkdir -p "$DIR"
RTSP_PORT=$(free_port)
DEAD_PORT=$(free_port)
NCAMS=${EVIDENCE_CAMERAS:-8}
PIDS=()
log_from=$(($(stat -c %s "$PG_LOG") + 1))
new_log() { tail -c +"$log_from" "$PG_LOG"; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'evidence %'" >/dev/null || true
}
trap cleanup EXIT

# as_reader SQL: run SQL as the reader role (PostgREST's anonymous role reads as it)
as_reader() {
	psql -XAtq -v ON_ERROR_STOP=1 -c "SET ROLE camera_health_anon" -c "$1"
}

# save_sql FILE SQL: the bytea SQL returns (as a reader), into FILE
save_sql() {
	as_reader "SELECT encode($2, 'base64')" | base64 -d >"$1"
}

# check_jpeg FILE WHAT: a JPEG (SOI first, EOI last) that ffprobe decodes, 300 to 340 pixels wide, in colour
check_jpeg() {
	local file=$1 what=$2 size head tail probe
	size=$(stat -c %s "$file")
	[ "$size" -ge 100 ] && [ "$size" -le 65536 ] || fail "$what: $size bytes"
	head=$(head -c 2 "$file" | od -An -tx1 | tr -d ' \n')
	tail=$(tail -c 2 "$file" | od -An -tx1 | tr -d ' \n')
	assert_eq "$head$tail" "ffd8ffd9" "$what: JPEG markers"
	probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$file") ||
		fail "$what: ffprobe cannot read it"
	IFS=, read -r codec width height <<<"$probe"
	assert_eq "$codec" "mjpeg" "$what: codec"
	[ "$width" -ge 300 ] && [ "$width" -le 340 ] || fail "$what: $width pixels wide"
	# colour: the chroma planes of a colour scene are not flat
	local sat
	sat=$(ffmpeg -v error -i "$file" -vf signalstats,metadata=print:key=lavfi.signalstats.SATAVG:file=- -f null - |
		sed -n 's/.*SATAVG=//p')
	awk -v s="$sat" 'BEGIN { exit !(s > 5) }' || fail "$what: no colour (mean saturation $sat)"
	note "$what: JPEG ${width}x${height}, $size bytes, mean saturation $sat"
}

# psnr A B: PSNR in dB between two pictures of the same size
psnr() {
	ffmpeg -i "$1" -i "$2" -lavfi psnr -f null - 2>&1 | sed -n 's/.*average:\([0-9.inf]*\).*/\1/p'
}

# get PATH FILE: GET over nginx without a token; sets STATUS and CTYPE, the body in FILE
get() {
	local out
	out=$(curl -sS -o "$2" -w '%{http_code} %{content_type}' "$HTTP_BASE$1")
	STATUS=${out%% *}
	CTYPE=${out#* }
}

for i in $(seq "$NCAMS"); do ln -sfn "$CLIPS/vtest.mp4" "$DIR/cam$i"; done
ln -sfn "$CLIPS/vtest.mp4" "$DIR/covered"
start_bg "$WORK/rtsp.log" "$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$DIR"
VISIONPROC_REDIS_URL="$REDIS_URL" "$ROOT/visionproc/visionproc" --workers 3 --grab-timeout 4000 \
	--io-timeout 2000 --claim-idle 5000 2>"$WORK/visionproc.log" &
PIDS+=($!)
http_start "$PGDATABASE"

# an HTTP snapshot camera: a 1280x720 colour PNG served by a local web server
WEB_PORT=$(free_port)
mkdir -p "$WORK/www"
ffmpeg -v error -f lavfi -i testsrc2=size=1280x720 -frames:v 1 "$WORK/www/snap.png"
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$WEB_PORT" >"$WORK/web.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$WEB_PORT/snap.png" && break; sleep 0.1; done

register() { # name url interval
	q "SELECT id FROM camera_health.register_camera('127.0.0.1', $RTSP_PORT, '$2', interval_ip => 60, interval_port => 60, interval_vision => $3, name => 'evidence $1')"
}
declare -A cam
for i in $(seq "$NCAMS"); do cam[cam$i]=$(register "cam$i" "rtsp://127.0.0.1:$RTSP_PORT/cam$i" 3); done
cam[covered]=$(register covered "rtsp://127.0.0.1:$RTSP_PORT/covered" 3)
cam[http]=$(register http "http://127.0.0.1:$WEB_PORT/snap.png" 3)
# a camera whose stream never answers: its own results are injected below
cam[hostile]=$(register hostile "rtsp://127.0.0.1:$DEAD_PORT/live" 86400)
cam[none]=$(q "SELECT id FROM camera_health.register_camera('127.0.0.2', name => 'evidence no stream')")
ALL="${cam[covered]}, ${cam[http]}$(for i in $(seq "$NCAMS"); do printf ', %s' "${cam[cam$i]}"; done)"

# ---- snapshots and references ---------------------------------------------
wait_for 90 "snapshots and reference pictures of $((NCAMS + 2)) cameras" \
	"SELECT (SELECT count(*) FROM camera_health.snapshots WHERE camera_id IN ($ALL)) = $((NCAMS + 2))
	    AND (SELECT count(*) FROM camera_health.reference_pictures WHERE camera_id IN ($ALL)) = $((NCAMS + 2))"
c=${cam[cam1]}
save_sql "$WORK/snapshot.jpg" "camera_health.camera_snapshot($c)"
save_sql "$WORK/reference.jpg" "camera_health.reference_picture($c)"
check_jpeg "$WORK/snapshot.jpg" "snapshot (SQL, reader)"
check_jpeg "$WORK/reference.jpg" "reference (SQL, reader)"
assert_eq "$(q "SELECT p.taken_at = r.taken_at OR abs(extract(epoch FROM p.taken_at - r.taken_at)) < 10 FROM camera_health.reference_pictures p JOIN camera_health.camera_references r USING (camera_id) WHERE camera_id = $c")" \
	"t" "the reference picture is of the reference frame's check"

# over HTTP, no token: the same bytes as image/jpeg; HEAD too
wait_for 30 "a second snapshot of camera $c" \
	"SELECT s.taken_at > p.taken_at FROM camera_health.snapshots s JOIN camera_health.reference_pictures p USING (camera_id) WHERE camera_id = $c"
save_sql "$WORK/snapshot.jpg" "camera_health.camera_snapshot($c)"
get "/health/camera/$c/snapshot" "$WORK/http-snapshot.jpg"
assert_eq "$STATUS $CTYPE" "200 image/jpeg" "GET /health/camera/$c/snapshot"
# a check may have overwritten it in between: then the next read matches
cmp -s "$WORK/snapshot.jpg" "$WORK/http-snapshot.jpg" || {
	save_sql "$WORK/snapshot.jpg" "camera_health.camera_snapshot($c)"
	cmp -s "$WORK/snapshot.jpg" "$WORK/http-snapshot.jpg"
} || note "(the snapshot changed while it was read)"
check_jpeg "$WORK/http-snapshot.jpg" "snapshot (HTTP)"
get "/health/camera/$c/reference" "$WORK/http-reference.jpg"
assert_eq "$STATUS $CTYPE" "200 image/jpeg" "GET /health/camera/$c/reference"
cmp "$WORK/reference.jpg" "$WORK/http-reference.jpg" || fail "the reference over HTTP is not the reference's bytes"
curl -sS -I -o "$WORK/head" "$HTTP_BASE/health/camera/$c/reference"
grep -qi '^content-type: image/jpeg' "$WORK/head" || fail "HEAD /reference: $(cat "$WORK/head")"
get "/health/camera/${cam[http]}/snapshot" "$WORK/http-camera.jpg"
assert_eq "$STATUS $CTYPE" "200 image/jpeg" "GET /health/camera/${cam[http]}/snapshot (an HTTP snapshot camera)"
check_jpeg "$WORK/http-camera.jpg" "snapshot of the HTTP snapshot camera (1280x720 PNG)"
note "snapshot vs reference of a healthy camera: PSNR $(psnr "$WORK/http-snapshot.jpg" "$WORK/reference.jpg") dB"

# 404s in the API's JSON shape: unknown camera, no snapshot, no reference, unknown alert
for path in "/health/camera/999999/snapshot" "/health/camera/999999/reference" "/health/camera/${cam[none]}/snapshot" \
	"/health/camera/${cam[none]}/reference" "/health/camera/$c/alerts/999999/evidence"; do
	get "$path" "$WORK/404"
	assert_eq "$STATUS" "404" "GET $path"
	case $CTYPE in application/json*) ;; *) fail "GET $path: Content-Type $CTYPE" ;; esac
	assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/404")" "P0002" "GET $path: code"
done
note "404 (P0002, JSON): $(cat "$WORK/404")"
get "/health/camera/$c/pictures" "$WORK/pictures"
assert_eq "$STATUS" "200" "GET /health/camera/$c/pictures"
note "GET /health/camera/$c/pictures: $(cat "$WORK/pictures")"

# readers see no table of pictures, nor the references
for t in snapshots reference_pictures alert_evidence camera_references; do
	! as_reader "SELECT count(*) FROM camera_health.$t" 2>/dev/null || fail "a reader can read camera_health.$t"
	get "/$t" "$WORK/t"
	[ "$STATUS" = 404 ] || [ "$STATUS" = 401 ] || fail "GET /$t over PostgREST: $STATUS"
done
! as_reader "SELECT camera_health.record_frame('{}', NULL, false)" 2>/dev/null || fail "a reader can call record_frame"

# ---- evidence: the covered camera's obstruction alert ----------------------
ln -sfn "$CLIPS/vtest-covered.mp4" "$DIR/covered"
wait_for 60 "the obstruction alert of the covered camera" \
	"SELECT count(*) = 1 FROM camera_health.alerts WHERE camera_id = ${cam[covered]} AND alert_type = 'obstruction' AND resolved_at IS NULL"
alert=$(q "SELECT id FROM camera_health.alerts WHERE camera_id = ${cam[covered]} AND alert_type = 'obstruction'")
assert_eq "$(q "SELECT e.taken_at = a.created_at FROM camera_health.alert_evidence e JOIN camera_health.alerts a ON (a.camera_id, a.id) = (e.camera_id, e.alert_id) WHERE e.alert_id = $alert")" \
	"t" "evidence of alert $alert taken by the check that opened it"
assert_eq "$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = ${cam[covered]} AND check_type = 'vision' AND created_at = (SELECT created_at FROM camera_health.alerts WHERE id = $alert) AND (metadata -> 'obstruction' ->> 'detected')::boolean")" \
	"1" "the opening check saw the obstruction"
get "/health/camera/${cam[covered]}/alerts/$alert/evidence" "$WORK/evidence.jpg"
assert_eq "$STATUS $CTYPE" "200 image/jpeg" "GET /health/camera/${cam[covered]}/alerts/$alert/evidence"
save_sql "$WORK/evidence-sql.jpg" "camera_health.alert_evidence($alert)"
cmp "$WORK/evidence.jpg" "$WORK/evidence-sql.jpg" || fail "the evidence over HTTP is not the SQL function's"
ffprobe -v error "$WORK/evidence.jpg" || fail "the evidence does not decode"
save_sql "$WORK/covered-reference.jpg" "camera_health.reference_picture(${cam[covered]})"
p=$(psnr "$WORK/evidence.jpg" "$WORK/covered-reference.jpg")
awk -v p="$p" 'BEGIN { exit !(p < 16) }' || fail "the evidence looks like the reference (PSNR $p dB): not the covered frame"
note "evidence of obstruction alert $alert: $(stat -c %s "$WORK/evidence.jpg") bytes, PSNR $p dB against the reference (the cover)"
get "/health/camera/$c/alerts/$alert/evidence" "$WORK/404"
assert_eq "$STATUS" "404" "the evidence under another camera's path"

# retention: the alert resolves, expires, and its evidence goes with it
ln -sfn "$CLIPS/vtest.mp4" "$DIR/covered"
wait_for 60 "the obstruction alert resolved" "SELECT resolved_at IS NOT NULL FROM camera_health.alerts WHERE id = $alert"
q "SELECT camera_health.set_log_retention(${cam[covered]}, '1 hour')" >/dev/null
q "UPDATE camera_health.alerts SET resolved_at = now() - interval '2 hours' WHERE id = $alert"
deleted=$(q "SELECT alerts_deleted FROM camera_health.run_retention()")
[ "$deleted" -ge 1 ] || fail "retention deleted $deleted alerts"
assert_eq "$(q "SELECT count(*) FROM camera_health.alerts WHERE id = $alert")|$(q "SELECT count(*) FROM camera_health.alert_evidence WHERE alert_id = $alert")" \
	"0|0" "alert $alert and its evidence after retention"
get "/health/camera/${cam[covered]}/alerts/$alert/evidence" "$WORK/404"
assert_eq "$STATUS" "404" "the evidence of a deleted alert"
note "retention deleted alert $alert and its evidence"

# ---- hostile pictures: dropped, logged once, the result kept ---------------
h=${cam[hostile]}
inject() { # TAG: XADD a result of the hostile camera with the jpeg field from stdin
	local json
	json=$(printf '{"camera_id": %s, "check_type": "vision", "status": "ok", "checked_ms": %s, "metadata": {"message": "%s"}}' \
		"$h" "$(date +%s%3N)" "$1")
	rcli -x XADD results:vision '*' r "$json" jpeg >/dev/null
}
{ printf '\xff\xd8'; head -c 100000 /dev/urandom; printf '\xff\xd9'; } | inject "hostile too big"
printf 'not a jpeg at all' | inject "hostile not a jpeg"
{ printf '\xff\xd8'; head -c 1000 /dev/urandom; } | inject "hostile no end marker"
{ printf '\xff\xd8'; head -c 1000000 /dev/zero; printf '\xff\xd9'; } | inject "hostile one megabyte"
wait_for 30 "the four hostile results" \
	"SELECT count(*) = 4 FROM camera_health.health_logs WHERE camera_id = $h AND metadata ->> 'message' LIKE 'hostile %'"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_pictures($h)")" "0" "pictures kept of the hostile results"
logged=$(new_log | grep -c "a picture (field jpeg) that is not a JPEG" || true)
assert_eq "$logged" "1" "log lines about the dropped pictures"
# a good picture in the same way is kept
inject "a good picture" <"$WORK/reference.jpg"
wait_for 30 "the good injected picture" "SELECT count(*) = 1 FROM camera_health.snapshots WHERE camera_id = $h"
save_sql "$WORK/injected.jpg" "camera_health.camera_snapshot($h)"
cmp "$WORK/injected.jpg" "$WORK/reference.jpg" || fail "the injected picture was not stored as it is"
assert_eq "$(q "SELECT count(*) FROM camera_health.dead_letters WHERE payload LIKE '%hostile%'")" "0" "dead letters of the hostile results"
note "hostile pictures (100 kB, not a JPEG, no EOI, 1 MB): dropped, one log line, results kept; a good one stored"

# ---- storage ---------------------------------------------------------------
# each camera checked at least 6 times since its first snapshot
wait_for 120 "six vision checks of each of the $NCAMS cameras" \
	"SELECT min(n) >= 6 FROM (SELECT count(*) n FROM camera_health.health_logs WHERE camera_id IN ($ALL) AND check_type = 'vision' AND status <> 'error' GROUP BY camera_id) x"
checks=$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id IN ($ALL) AND check_type = 'vision' AND status <> 'error'")
relsize() { q "SELECT pg_total_relation_size('camera_health.$1')"; }
q "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
sleep 1
read -r upd hot <<<"$(q "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'camera_health.snapshots'::regclass" | tr '|' ' ')"
snaps=$(q "SELECT count(*) FROM camera_health.snapshots")
snap_bytes=$(relsize snapshots)
ref_bytes=$(relsize reference_pictures)
refs=$(q "SELECT count(*) FROM camera_health.reference_pictures")
jpeg_avg=$(q "SELECT round(avg(length(jpeg))) FROM camera_health.snapshots")
q "VACUUM camera_health.snapshots" >/dev/null
snap_vac=$(relsize snapshots)
ev=$(q "SELECT count(*), coalesce(round(avg(length(jpeg))), 0) FROM camera_health.alert_evidence")
note "storage after $checks vision checks of $snaps cameras: snapshots $snap_bytes bytes ($((snap_bytes / snaps)) per camera; $snap_vac after VACUUM, $((snap_vac / snaps)) per camera), pictures $jpeg_avg bytes on average"
note "  snapshot updates: $upd, of which HOT $hot; reference pictures: $ref_bytes bytes for $refs ($((ref_bytes / refs)) per camera); evidence rows, mean picture bytes: $ev"

# ... and at scale, in a database of its own (no worker runs there): N
# cameras, R rounds of record_frame with the real pictures above, VACUUM
# after each round as autovacuum would between two checks (300 s apart by
# default); then one vision alert per camera with its evidence.
SDB=ch_evidence_storage
N=${EVIDENCE_STORAGE_CAMERAS:-1000}
R=5
sq() { psql -XAtq -v ON_ERROR_STOP=1 -d "$SDB" "$@"; }
PGOPTIONS="-c client_min_messages=warning" psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $SDB WITH (FORCE)"
psql -XAtq -d postgres -c "CREATE DATABASE $SDB TEMPLATE template0" >/dev/null
trap 'cleanup; psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $SDB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
sq -c "CREATE EXTENSION camera_health" -c "ALTER TABLE camera_health.snapshots SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)"
sq -c "SELECT count(camera_health.register_camera(('10.77.' || (i / 250) || '.' || (i % 250 + 1))::inet)) FROM generate_series(0, $N - 1) i" >/dev/null
snap64=$(base64 -w0 "$WORK/snapshot.jpg")
ev64=$(base64 -w0 "$WORK/evidence.jpg")
sizes=""
for r in $(seq $R); do
	sq -v pic="$snap64" -v r="$r" >/dev/null <<-'SQL'
		SELECT count(camera_health.record_frame(jsonb_build_object('camera_id', id, 'check_type', 'vision',
			'checked_ms', 1767261600000 + :r * 300000), decode(:'pic', 'base64')::camera_health.jpeg, :r = 1))
		FROM camera_health.cameras;
	SQL
	sizes="$sizes $(sq -c "SELECT pg_total_relation_size('camera_health.snapshots')")"
	sq -c "VACUUM camera_health.snapshots"
done
read -r s_total s_heap s_toast upd hot <<<"$(sq -c "SELECT pg_total_relation_size('camera_health.snapshots'),
	pg_relation_size('camera_health.snapshots'), pg_total_relation_size(reltoastrelid), n_tup_upd, n_tup_hot_upd
	FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'camera_health.snapshots'::regclass" | tr '|' ' ')"
r_total=$(sq -c "SELECT pg_total_relation_size('camera_health.reference_pictures')")
sq -v pic="$ev64" >/dev/null <<-'SQL'
	INSERT INTO camera_health.alerts (camera_id, alert_type, severity, message) SELECT id, 'obstruction', 'critical', 'covered' FROM camera_health.cameras;
	INSERT INTO camera_health.alert_evidence (camera_id, alert_id, taken_at, jpeg)
	SELECT camera_id, id, created_at, decode(:'pic', 'base64')::camera_health.jpeg FROM camera_health.alerts;
SQL
e_total=$(sq -c "SELECT pg_total_relation_size('camera_health.alert_evidence')")
pic=$(stat -c %s "$WORK/snapshot.jpg")
evpic=$(stat -c %s "$WORK/evidence.jpg")
note "storage at scale: $N cameras, $R rounds of snapshots of $pic bytes (VACUUM after each):"
note "  snapshots: $s_total bytes = $((s_total / N)) per camera (heap $s_heap, TOAST with its index $s_toast); after each round before VACUUM:$sizes"
note "  updates $upd, HOT $hot; reference pictures: $r_total bytes = $((r_total / N)) per camera"
note "  evidence of $N alerts, pictures of $evpic bytes: $e_total bytes = $((e_total / N)) per alert"
