#!/usr/bin/env bash
# Poisoned results do not stop ingestion: a result 200,000 levels deep
# (54001), a result of 2 MB and one of 12 MB (too big to be a result; the
# second too big even for the worker's reader), a numeric overflow (22003)
# and a check violation (23514), each with good results behind it.  The
# good ones are written within seconds; the bad ones are dead letters
# (in the Redis stream dead:results, camera_health.dead_letters, the log
# and health_summary()), acknowledged; the worker is not restarted.
. "$(dirname "$0")/lib.sh"

cleanup() {
	q "ALTER SYSTEM RESET default_transaction_read_only" >/dev/null 2>&1 || true
	q "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
	q "DELETE FROM camera_health.cameras WHERE ip_address = '127.0.42.1'" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cam=$(q "SELECT id FROM camera_health.register_camera('127.0.42.1', 18720, interval_ip => 86400, interval_port => 86400, interval_vision => 86400)")
ingest=$(worker_pid ingest)
started=$(q "SELECT pg_postmaster_start_time()")
dead_before=$(q "SELECT (camera_health.health_summary() -> 'dead_letters' ->> 'total')::int")
log_from=$(($(stat -c %s "$PG_LOG") + 1))
marker="dl$$"

good() { # N: a good result, found again by its marker
	printf '{"camera_id":%s,"check_type":"port","status":"ok","checked_ms":%s,"latency_ms":1.5,"metadata":{"marker":"%s-%s"}}' \
		"$cam" "$(date +%s%3N)" "$marker" "$1"
}
xadd() { # VALUE on stdin: XADD results:network * r VALUE, prints the id
	rcli -x XADD results:network '*' r
}

ids=()
good 1 | xadd >/dev/null
ids+=("$(python3 -c 'import sys; sys.stdout.write("[" * 200000 + "]" * 200000)' | xadd)")
good 2 | xadd >/dev/null
ids+=("$(python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "x" * (2 * 1024 * 1024) + "\"}")' | xadd)")
good 3 | xadd >/dev/null
ids+=("$(printf '{"camera_id":%s,"check_type":"port","status":"ok","checked_ms":%s,"latency_ms":1e400}' "$cam" "$(date +%s%3N)" | xadd)")
good 4 | xadd >/dev/null
ids+=("$(printf '{"camera_id":%s,"check_type":"port","status":"bogus","checked_ms":%s,"metadata":{"url":"rtsp://viewer:hunter2secret@10.0.0.9/s"}}' "$cam" "$(date +%s%3N)" | xadd)")
good 5 | xadd >/dev/null
ids+=("$(python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "y" * (12 * 1024 * 1024) + "\"}")' | xadd)")
good 6 | xadd >/dev/null
t0=$SECONDS
note "posted 6 good and ${#ids[@]} bad results: ${ids[*]}"

wait_for 20 "the good results behind the bad ones written" \
	"SELECT count(*) = 6 FROM camera_health.health_logs WHERE camera_id = $cam AND metadata ->> 'marker' LIKE '$marker-%'"
note "good results written within $((SECONDS - t0)) s"

wait_for 20 "five dead letters" \
	"SELECT (camera_health.health_summary() -> 'dead_letters' ->> 'total')::int = $dead_before + 5"
dead_stream=$(rcli XRANGE dead:results - +)
new_log=$(tail -c +"$log_from" "$PG_LOG")
for id in "${ids[@]}"; do
	[ "$(q "SELECT count(*) FROM camera_health.dead_letters WHERE stream = 'results:network' AND entry_id = '$id'")" = 1 ] ||
		fail "no dead letter row for $id"
	grep -qx "$id" <<<"$dead_stream" || fail "$id is not in the dead-letter stream"
	grep -q "set result $id of results:network aside as a dead letter" <<<"$new_log" ||
		fail "no log line for dead letter $id"
	[ -z "$(rcli XRANGE results:network "$id" "$id")" ] || fail "$id is still in the results stream"
done
assert_eq "$(q "SELECT string_agg(sqlstate, ' ' ORDER BY id) FROM camera_health.dead_letters WHERE entry_id IN ('${ids[0]}', '${ids[1]}', '${ids[2]}', '${ids[3]}', '${ids[4]}')")" \
	"54001 54000 22003 23514 54000" "SQLSTATEs of the dead letters"
assert_eq "$(rcli XPENDING results:network ingest | head -1)" "0" "entries pending in results:network"
assert_eq "$(q "SELECT count(*) FROM camera_health.dead_letters WHERE payload LIKE '%hunter2%' OR message LIKE '%hunter2%'")" "0" \
	"dead letters holding the password"
assert_eq "$(q "SELECT max(length(payload)) <= 2000 FROM camera_health.dead_letters")" "t" "payloads truncated"
q "SELECT camera_health.health_summary() -> 'dead_letters' ->> 'last_at' IS NOT NULL" | grep -qx t ||
	fail "health_summary() has no dead_letters.last_at"
if psql -XAtq -c "SET ROLE camera_health_reader; SELECT count(*) FROM camera_health.dead_letters" 2>/dev/null; then
	fail "a reader can read camera_health.dead_letters"
fi
note "dead letters: in the stream, the table (masked, truncated, not for readers), the log and health_summary()"

assert_eq "$(worker_pid ingest)" "$ingest" "ingest worker pid"
assert_eq "$(q "SELECT pg_postmaster_start_time()")" "$started" "postmaster start time"

# a database that takes nothing (read-only here) is no reason to set results aside
q "ALTER SYSTEM SET default_transaction_read_only = on" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
dead_now=$(q "SELECT count(*) FROM camera_health.dead_letters")
good 7 | xadd >/dev/null
sleep 8
q "ALTER SYSTEM RESET default_transaction_read_only" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
assert_eq "$(q "SELECT count(*) FROM camera_health.dead_letters")" "$dead_now" "dead letters while the database took nothing"
wait_for 20 "the result held back while read-only written" \
	"SELECT count(*) = 1 FROM camera_health.health_logs WHERE camera_id = $cam AND metadata ->> 'marker' = '$marker-7'"
note "read-only database: the result waited, was not set aside, and was written afterwards"

# reference frames from visionproc: a malformed one is dropped (the result is
# written), a well-formed one stored; the table refuses malformed images
vision() { # N: a vision result
	printf '{"camera_id":%s,"check_type":"vision","status":"ok","checked_ms":%s,"metadata":{"marker":"%s-v%s"}}' \
		"$cam" "$(date +%s%3N)" "$marker" "$1"
}
printf 'GREY 4 4\nshort' | rcli -x XADD results:vision '*' r "$(vision 1)" camera_id "$cam" ref >/dev/null
wait_for 20 "the vision result with a malformed reference written" \
	"SELECT count(*) = 1 FROM camera_health.health_logs WHERE camera_id = $cam AND metadata ->> 'marker' = '$marker-v1'"
assert_eq "$(q "SELECT count(*) FROM camera_health.camera_references WHERE camera_id = $cam")" "0" \
	"references stored from a malformed frame"
printf 'GREY 4 4\naaaaaaaaaaaaaaaa' | rcli -x XADD results:vision '*' r "$(vision 2)" camera_id "$cam" ref >/dev/null
wait_for 20 "the well-formed reference stored" \
	"SELECT count(*) = 1 FROM camera_health.camera_references WHERE camera_id = $cam AND image = convert_to(E'GREY 4 4\\naaaaaaaaaaaaaaaa', 'SQL_ASCII')"
assert_eq "$(q "SELECT camera_health.valid_reference(convert_to(E'GREY 2 2\\nabcd', 'SQL_ASCII')), camera_health.valid_reference(convert_to(E'GREY 2 2\\nabc', 'SQL_ASCII'))")" \
	"t|f" "valid_reference() of a good and a short image"
if q "UPDATE camera_health.camera_references SET image = convert_to(E'GREY 2 2\\nabc', 'SQL_ASCII') WHERE camera_id = $cam" 2>/dev/null; then
	fail "camera_references took a malformed image"
fi
grep -q "malformed reference frame" "$PG_LOG" || fail "the malformed reference frame was not logged"
note "reference frames: a malformed one dropped and logged (its result kept), a good one stored; the table refuses malformed images"
# the lighting mode of a reference (ref_mode, issue 11): none is day, ir is
# stored next to it, a mode that is none drops the frame (the result is kept)
printf 'GREY 4 4\nbbbbbbbbbbbbbbbb' | rcli -x XADD results:vision '*' r "$(vision 3)" camera_id "$cam" ref_mode night ref >/dev/null
printf 'GREY 4 4\ncccccccccccccccc' | rcli -x XADD results:vision '*' r "$(vision 4)" camera_id "$cam" ref_mode ir ref >/dev/null
wait_for 20 "the ir reference stored" \
	"SELECT count(*) = 1 FROM camera_health.camera_references WHERE camera_id = $cam AND mode = 'ir'"
assert_eq "$(q "SELECT string_agg(mode || ':' || convert_from(substr(image, 10, 1), 'SQL_ASCII'), ',' ORDER BY mode) FROM camera_health.camera_references WHERE camera_id = $cam")" \
	"day:a,ir:c" "references by mode (the one of an unknown mode dropped)"
assert_eq "$(q "SELECT count(*) FROM camera_health.health_logs WHERE camera_id = $cam AND metadata ->> 'marker' IN ('$marker-v3', '$marker-v4')")" \
	"2" "results of the references with a mode"
note "reference modes: none is day, ir stored next to it, an unknown mode dropped (its result kept)"
