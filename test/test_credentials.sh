#!/usr/bin/env bash
# Camera passwords never reach the server log, an error message, a reader,
# a health log, an alert or visionproc's log, even with log_statement =
# 'all' and passwords holding the characters that used to end a URL (quotes,
# '<', '>', backticks), '#', '?', '@', '/', percent-encodings and query
# separators.  Readers see URLs masked, writers in full.
#
# Every password is HEAD + its character + TAIL + a number: any output that
# holds HEAD or TAIL shows a piece of a password.  Problems are collected and
# reported together, so that a run on old code lists every leak.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HEAD=Hd7q
TAIL=Tl3z
OUT="$STACK_DIR/credentials"
mkdir -p "$OUT"
DEAD_PORT=$(free_port)
PIDS=()
problems=()

problem() {
	problems+=("$*")
	echo "  problem: $*" >&2
}

# passed WHAT: note WHAT when this section added no problem
section=0
passed() {
	[ ${#problems[@]} -gt "$section" ] || note "$*"
	section=${#problems[@]}
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'cred %'" >/dev/null || true
	q "ALTER SYSTEM RESET log_statement" >/dev/null || true
	q "SELECT pg_reload_conf()" >/dev/null || true
}
trap cleanup EXIT

q "ALTER SYSTEM SET log_statement = 'all'"
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

# sqlv OUTFILE VAR=VALUE... <<SQL: SQL from stdin with psql variables
# (:'var' quotes a value as a literal, as a client library would)
sqlv() {
	local out=$1 args=(-v "DEAD_PORT=$DEAD_PORT")
	shift
	for a in "$@"; do args+=(-v "$a"); done
	psql -XAtq "${args[@]}" >>"$out" 2>&1
}

# leaks FILE...: the lines of FILE that hold a piece of a password
leaks() {
	grep -h -e "$HEAD" -e "$TAIL" "$@" 2>/dev/null | head -5 || true
}

chars=("'" '"' '<' '>' '`' '#' '?' '@' '/' '%41' ';' '&' '=' '!' '$' '(' ')' '*' '+' ',' ':' '~' '%' '%G')
declare -a url id
for i in "${!chars[@]}"; do
	url[i]="rtsp://admin:${HEAD}${chars[i]}${TAIL}$i@127.0.0.1:$DEAD_PORT/cam$i"
done
n=${#chars[@]}
url[n]="http://127.0.0.1:$DEAD_PORT/snap.jpg?user=admin&pwd=${HEAD}x${TAIL}$n&ch=1"
want_masked[n]="http://127.0.0.1:$DEAD_PORT/snap.jpg?user=admin&pwd=***&ch=1"
for i in "${!chars[@]}"; do want_masked[i]="rtsp://admin:***@127.0.0.1:$DEAD_PORT/cam$i"; done

# register them: each is a valid URL (the host follows the last '@')
for i in "${!url[@]}"; do
	: >"$OUT/reg.$i"
	sqlv "$OUT/reg.$i" url="${url[i]}" name="cred $i" <<-'SQL'
		SELECT id FROM camera_health.register_camera('127.0.0.1', :DEAD_PORT, :'url',
			interval_ip => 60, interval_port => 60, interval_vision => 3, name => :'name');
	SQL
	id[i]=$(grep -E '^[0-9]+$' "$OUT/reg.$i" || true)
	[ -n "${id[i]}" ] || problem "camera $i (${chars[i]:-query}) was refused: $(sed "s/$HEAD.*$TAIL/<pw>/" "$OUT/reg.$i")"
done
passed "registered ${#url[@]} cameras with passwords holding: ${chars[*]} and a pwd= parameter"

# readers see every URL masked, exactly; writers see it in full
: >"$OUT/reader"
for i in "${!url[@]}"; do
	[ -n "${id[i]}" ] || continue
	for sql in "SELECT rtsp_url FROM camera_health.camera_list WHERE id = ${id[i]}" \
		"SELECT rtsp_url FROM camera_health.list_cameras() WHERE id = ${id[i]}" \
		"SELECT rtsp_url FROM camera_health.get_camera(${id[i]})"; do
		got=$(psql -XAtq -c "SET ROLE camera_health_reader" -c "$sql" 2>&1 | tee -a "$OUT/reader")
		[ "$got" = "${want_masked[i]}" ] || problem "reader: $sql gives '$got', want '${want_masked[i]}'"
	done
	got=$(psql -XAtq -c "SET ROLE camera_health_writer" -c "SELECT rtsp_url FROM camera_health.get_camera(${id[i]})")
	[ "$got" = "${url[i]}" ] || problem "writer sees '$got' for camera $i, want the full URL"
done
[ -z "$(leaks "$OUT/reader")" ] || problem "a reader sees a password: $(leaks "$OUT/reader")"
passed "readers see every URL masked (camera_list, list_cameras, get_camera), writers in full"

# errors whose statement, message, detail or context would hold a password
: >"$OUT/errors"
for i in "${!url[@]}"; do
	u=${url[i]}
	bad_ftp="ftp${u#rtsp}"
	bad_port="${u/:$DEAD_PORT\//:99999/}"
	sqlv "$OUT/errors" url="$u" ftp="$bad_ftp" port="$bad_port" spaced="${u/$TAIL/ $TAIL}" \
		cid="${id[0]:-1}" <<-'SQL'
		DEALLOCATE ALL;
		SELECT camera_health.register_camera('127.0.0.1', :DEAD_PORT, :'url');
		SELECT camera_health.register_camera('127.0.0.2', rtsp_url => :'ftp');
		SELECT camera_health.register_camera('127.0.0.2', rtsp_url => :'port');
		SELECT camera_health.register_camera('127.0.0.2', rtsp_url => :'spaced');
		SELECT camera_health.update_camera(:cid, rtsp_url => :'ftp', interval_ip => 5);
		INSERT INTO camera_health.cameras (ip_address, port, rtsp_url) VALUES ('127.0.0.3', 0, :'url');
		INSERT INTO camera_health.cameras (ip_address, port, rtsp_url) VALUES ('127.0.0.1', :DEAD_PORT, :'url');
		SELECT 1/0 AS fail_with, :'url' AS url;
		PREPARE reg(text) AS SELECT camera_health.register_camera('127.0.0.1', :DEAD_PORT, $1);
		EXECUTE reg(:'url');
	SQL
done
want_errors=$(( ${#url[@]} * 9 ))
got_errors=$(grep -c '^ERROR' "$OUT/errors" || true)
[ "$got_errors" -eq "$want_errors" ] || problem "$got_errors errors, want $want_errors: $(grep -v '^ERROR' "$OUT/errors" | head -3)"
grep -q 'invalid rtsp_url "ftp://127.0.0.1"' "$OUT/errors" || problem "no 'invalid rtsp_url \"ftp://127.0.0.1\"' error"
grep -q 'camera already registered' "$OUT/errors" || problem "no duplicate error"
[ -z "$(leaks "$OUT/errors")" ] || problem "an error shows a password: $(leaks "$OUT/errors")"
passed "$got_errors errors (duplicates, refused URLs, constraint violations, a division by zero): no password"

# a failing check whose error names the URL: visionproc, then ingest
"$ROOT/visionproc/visionproc" --redis "$REDIS_URL" --workers 2 --grab-timeout 2000 \
	--io-timeout 1000 2>"$OUT/visionproc.log" &
PIDS+=($!)
ids=$(IFS=,; echo "${id[*]}" | sed 's/,,*/,/g; s/^,//; s/,$//')
[ -n "$ids" ] || fail "no camera was registered: ${problems[*]}"
wait_for 90 "a failed vision check of each camera" \
	"SELECT count(DISTINCT camera_id) = $(echo "$ids" | tr ',' '\n' | wc -l) FROM camera_health.health_logs
	 WHERE camera_id IN ($ids) AND check_type = 'vision' AND status = 'error'"
sleep 4	# a few more results, and alerts
psql -XAtq -c "SET ROLE camera_health_reader" \
	-c "SELECT metadata FROM camera_health.health_logs WHERE camera_id IN ($ids)" \
	-c "SELECT metadata FROM camera_health.camera_status WHERE camera_id IN ($ids)" \
	-c "SELECT message FROM camera_health.alerts WHERE camera_id IN ($ids)" \
	-c "SELECT l.* FROM unnest(ARRAY[$ids]) c, camera_health.camera_logs(c) l" \
	-c "SELECT a.* FROM unnest(ARRAY[$ids]) c, camera_health.camera_alerts(c) a" \
	-c "SELECT camera_health.health_summary()" >"$OUT/history" 2>&1
grep -q "127.0.0.1:$DEAD_PORT" "$OUT/history" || problem "the health logs do not name the URL: $(head -c 300 "$OUT/history")"
[ -z "$(leaks "$OUT/history")" ] || problem "a health log, status or alert shows a password: $(leaks "$OUT/history")"
[ -z "$(leaks "$OUT/visionproc.log")" ] || problem "visionproc's log shows a password: $(leaks "$OUT/visionproc.log")"
passed "failed vision checks: health logs, statuses, alerts and visionproc's log masked"

# a result that bypasses visionproc's masking is masked on the way in
sqlv "$OUT/record" cid="${id[0]}" u1="${url[1]}" u2="${url[2]}" <<-'SQL'
	SELECT camera_health.record_results(jsonb_build_array(jsonb_build_object('camera_id', :cid,
		'check_type', 'vision', 'status', 'error', 'checked_ms', 1000 * extract(epoch FROM now()),
		'metadata', jsonb_build_object('stage', 'connect', 'url', :'u1',
			'error', 'could not open ' || :'u2' || ': refused'))), 1, 1);
SQL
got=$(psql -XAtq -c "SET ROLE camera_health_reader" -c "SELECT metadata ->> 'url', metadata ->> 'error' FROM camera_health.health_logs WHERE camera_id = ${id[0]} AND metadata ->> 'stage' = 'connect' AND NOT metadata ? 'task_id'")
[ -n "$got" ] || problem "the unmasked result was not stored"
! grep -q -e "$HEAD" -e "$TAIL" <<<"$got" || problem "an unmasked result is stored as it came: $got"
passed "results are masked again when they are recorded"

# the server log: statements were logged (masked), passwords never
sleep 0.5
grep -q "statement: SELECT 1/0 AS fail_with" "$PG_LOG" || problem "the statements are not in the server log"
grep -q "register_camera('127.0.0.1', $DEAD_PORT, 'rtsp://admin:\*\*\*@127.0.0.1:$DEAD_PORT/cam0'," "$PG_LOG" \
	|| problem "the masked statement is not in the server log"
grep -q "pwd=\*\*\*&ch=1" "$PG_LOG" || problem "the masked query parameter is not in the server log"
[ -z "$(leaks "$PG_LOG")" ] || problem "the server log shows a password: $(leaks "$PG_LOG")"
passed "server log: statements masked"

# and every output this test collected (the writer's reads are not kept)
[ -z "$(leaks "$OUT"/*)" ] || problem "an output shows a password: $(leaks "$OUT"/*)"
passed "no output of this test shows a password"

if [ ${#problems[@]} -gt 0 ]; then
	fail "${#problems[@]} problem(s): ${problems[*]}"
fi
