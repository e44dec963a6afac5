#!/usr/bin/env bash
# Site agents (issue 11): cameras of sites "east" and "west wing/β" are
# checked by visionproc agents started for them (visionproc --sites east,
# visionproc --site 'west wing/β'), the cameras of site "nowhere" (no
# agent) by the database's prober; each camera has a real TCP listener on
# a loopback address, and a few per site are silent (iptables DROP) so that
# an agent always holds tasks in flight.  Then:
#  - a second agent of east starts; the first is killed (SIGKILL of its
#    process group) while it holds tasks: the second takes them over
#    (results marked claimed), and no camera of east goes without a check
#    for longer than the takeover bound;
#  - the only agent of west is killed: within the heartbeat TTL its
#    cameras go back to the database's prober, and the tasks it held are
#    moved to the database's queue and run there;
#  - the last agent of east stops (SIGTERM): its heartbeat goes at once,
#    and so do east's checks, back to the database's prober.
# One camera of east has a stream (test RTSP server): its vision checks
# are the agent's too.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIPS=${TESTDATA:-$ROOT/test/data}/clips
PORT=$(free_port)
RTSP_PORT=$(free_port)
A=127.0.91 B=127.0.92 C=127.0.93   # live cameras .1-.4 of each site; silent .50-
SITE_A=east SITE_B='west wing/β' SITE_C=nowhere
CLAIM_BOUND_S=10                   # --agent-claim-idle floor (port timeout 2 s + 5 s) + a claim round + slack
PIDS=()

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
KA=$(enc "$SITE_A") KB=$(enc "$SITE_B")
assert_eq "$KB" "west%20wing%2F%CE%B2" "the key-safe form of site B"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		{ kill -KILL -- "-$p" || kill -KILL "$p"; wait "$p"; } 2>/dev/null || true
	done
	cleanup_network
	q "DELETE FROM camera_health.cameras WHERE site IN ('$SITE_A', '$SITE_B', '$SITE_C')" >/dev/null 2>&1 || true
	rcli DEL "agents:$KA" "agents:$KB" "queue:network:site:$KA" "queue:network:site:$KB" \
		"queue:vision:site:$KA" "queue:vision:site:$KB" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# agent NAME LOG ARGS...: a visionproc in a process group of its own; its pid in AGENT
agent() {
	local log=$2
	shift 2
	VISIONPROC_REDIS_URL="$REDIS_URL" setsid "$ROOT/visionproc/visionproc" --workers 1 --agent-claim-idle 3000 \
		--grab-timeout 4000 "$@" 2>"$STACK_DIR/$log" &
	AGENT=$!
	PIDS+=("$AGENT")
	sleep 0.3
	# killing the group kills the whole visionproc, as when its host dies
	[ "$(awk '{print $5}' "/proc/$AGENT/stat")" = "$AGENT" ] || fail "$1 is not in a process group of its own"
}

set_ping_range "0 2147483647"
restart_worker prober
addrs=()
for n in $A $B $C; do for i in 1 2 3 4; do addrs+=("$n.$i"); done; done
listen "$PORT" "${addrs[@]}"
for i in $(seq 50 57); do drop_traffic "$A.$i/32"; done
for i in $(seq 50 53); do drop_traffic "$B.$i/32"; done
mkdir -p "$STACK_DIR/agents_rtsp"
ln -sfn "$CLIPS/vtest.mp4" "$STACK_DIR/agents_rtsp/cam"
"$ROOT/test/bin/rtsp_server" --port "$RTSP_PORT" --dir "$STACK_DIR/agents_rtsp" >"$STACK_DIR/agents_rtsp.log" 2>&1 &
PIDS+=($!)

agent east-1 agents_east1.log --sites "$SITE_A" --agent-name east-1
EAST1=$AGENT
agent west-1 agents_west1.log --site "$SITE_B" --agent-name west-1
WEST1=$AGENT
for k in "$KA" "$KB"; do
	for _ in $(seq 50); do [ "$(rcli EXISTS "agents:$k")" = 1 ] && break; sleep 0.2; done
	assert_eq "$(rcli EXISTS "agents:$k")" 1 "the heartbeat of site $k"
done
note "agents east-1 (site $SITE_A) and west-1 (site $SITE_B) beat: agents:$KA, agents:$KB"
sleep 1.5   # the scheduler looks at the sites' agents every second

# live cameras every second; silent ones every 11-18 s (a task held 1-2 s, not
# stale yet when claimed; intervals apart, so that both agents of east get some)
q "SELECT count(*) FROM camera_health.register_cameras((SELECT jsonb_agg(c) FROM (
	SELECT jsonb_build_object('ip_address', n || '.' || i, 'port', $PORT, 'interval_ip', 1, 'interval_port', 1,
		'name', format('agents %s %s', s, i), 'site', s) c
	FROM (VALUES ('$A', '$SITE_A'), ('$B', '$SITE_B'), ('$C', '$SITE_C')) v(n, s), generate_series(1, 4) i
	UNION ALL
	SELECT jsonb_build_object('ip_address', '$A.' || i, 'port', $PORT, 'interval_ip', i - 39, 'interval_port', i - 39,
		'name', format('agents silent %s', i), 'site', '$SITE_A') FROM generate_series(50, 57) i
	UNION ALL
	SELECT jsonb_build_object('ip_address', '$B.' || i, 'port', $PORT, 'interval_ip', i - 39, 'interval_port', i - 39,
		'name', format('agents silent %s', i), 'site', '$SITE_B') FROM generate_series(50, 53) i
	UNION ALL
	SELECT jsonb_build_object('ip_address', '127.0.0.1', 'port', $RTSP_PORT, 'rtsp_url', 'rtsp://127.0.0.1:$RTSP_PORT/cam',
		'interval_ip', 5, 'interval_port', 5, 'interval_vision', 3, 'name', 'agents vision', 'site', '$SITE_A')) x))" >/dev/null
START=$(q "SELECT now()")

live="c.name LIKE 'agents % _' AND c.name NOT LIKE 'agents silent%'"
# by site: who ran the live cameras' network checks from 3 s after registration
by_runner() { # SINCE -> "site runner count, ..."
	q "SELECT string_agg(format('%s %s', site, runner), ', ' ORDER BY site, runner) FROM (
		SELECT DISTINCT c.site, coalesce(l.metadata ->> 'agent', CASE WHEN l.metadata ->> 'worker' LIKE 'pg-%-prober' THEN 'prober' ELSE 'unknown' END) runner
		FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
		WHERE $live AND l.check_type IN ('ip', 'port') AND l.created_at > $1) x"
}
wait_for 40 "every live camera checked 5 times by ip and by port" \
	"SELECT count(*) = 24 FROM (SELECT 1 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
		WHERE $live AND l.check_type IN ('ip', 'port') AND l.created_at > '$START'::timestamptz + interval '3 s'
		GROUP BY l.camera_id, l.check_type HAVING count(*) >= 5) x"
got=$(by_runner "'$START'::timestamptz + interval '3 s'")
assert_eq "$got" "east east-1, nowhere prober, $SITE_B west-1" "who ran the checks, by site"
got=$(q "SELECT string_agg(DISTINCT format('%s %s %s', l.check_type, l.status, l.metadata ->> 'site'), ', ')
	FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	WHERE $live AND c.site <> '$SITE_C' AND l.created_at > '$START'::timestamptz + interval '3 s'")
assert_eq "$got" "ip ok east, ip ok $SITE_B, port ok east, port ok $SITE_B" "the agents' results (check, status, site)"
note "checks by site: $(by_runner "'$START'::timestamptz + interval '3 s'")"
wait_for 30 "the silent cameras' checks failed, run by their agents" \
	"SELECT count(DISTINCT c.id) = 12 AND bool_and(l.status = 'critical' AND l.metadata ? 'agent')
	 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id WHERE c.name LIKE 'agents silent%'"
wait_for 40 "vision checks of the east camera, by its agent" \
	"SELECT count(*) >= 2 AND bool_and(l.metadata ->> 'agent' = 'east-1') FROM camera_health.health_logs l
	 JOIN camera_health.cameras c ON c.id = l.camera_id WHERE c.name = 'agents vision' AND l.check_type = 'vision'"
note "vision of the east camera: $(q "SELECT string_agg(DISTINCT l.status || ' by ' || (l.metadata ->> 'agent'), ', ') FROM camera_health.health_logs l
	JOIN camera_health.cameras c ON c.id = l.camera_id WHERE c.name = 'agents vision' AND l.check_type = 'vision'")"
assert_eq "$(rcli XRANGE queue:vision - + | grep -c "^rtsp://127.0.0.1:$RTSP_PORT/cam\$" || true)" "0" \
	"tasks of the east camera on the database's vision queue"

# ---- hostile tasks on east's queue: each dropped (acknowledged, deleted), none probed
now_ms=$(date +%s%3N)
bad=()
while read -r fields; do
	# shellcheck disable=SC2086  # the fields are words on purpose
	bad+=("$(rcli XADD "queue:network:site:$KA" '*' $fields)")
done <<EOF
camera_id 999999 check port ip $A.1 port 70000 due_ms $now_ms interval_ms 1000
camera_id 999999 check port ip $A.1 port 554abc due_ms $now_ms interval_ms 1000
camera_id 999999 check port ip $A.1 port $PORT due_ms $now_ms interval_ms 1000 timeout_ms 0
camera_id 999999 check ip ip $A.1 port $PORT due_ms $now_ms interval_ms 1000 threshold_ms nan
camera_id 999999 check vision ip $A.1 port $PORT due_ms $now_ms interval_ms 1000
camera_id -5 check ip ip $A.1 port $PORT due_ms $now_ms interval_ms 1000
camera_id 999999 check ip ip $A.1 port $PORT interval_ms 1000
EOF
for _ in $(seq 50); do
	left=$(for id in "${bad[@]}"; do rcli XRANGE "queue:network:site:$KA" "$id" "$id"; done | grep -c . || true)
	[ "$left" = 0 ] && break
	sleep 0.1
done
assert_eq "$left" 0 "lines of hostile tasks left in east's queue"
grep -q "dropping a malformed Redis reply or task" "$STACK_DIR/agents_east1.log" || fail "east-1 did not log the malformed tasks"
kill -0 "$EAST1" || fail "east-1 died of hostile tasks"
note "${#bad[@]} hostile tasks (port 70000, 554abc, timeout 0, threshold nan, check vision, camera -5, no due time): dropped"

# ---- takeover: a second agent of east, then the first killed while it holds tasks
agent east-2 agents_east2.log --sites "$SITE_A" --agent-name east-2
EAST2=$AGENT
for _ in $(seq 50); do [ "$(rcli HLEN "agents:$KA")" = 2 ] && break; sleep 0.2; done
assert_eq "$(rcli HLEN "agents:$KA")" 2 "agents of east"
held_by() { # CONSUMER SITEKEY -> pending entry ids
	rcli XPENDING "queue:network:site:$2" probers - + 100 "$1" | paste - - - - | awk '{print $1}'
}
# silent_held CONSUMER SITEKEY NET: tasks of the silent cameras (NET.5x) the
# consumer took less than 300 ms ago: their probes run for 700 ms more at least
silent_held() {
	local id
	for id in $(rcli XPENDING "queue:network:site:$2" probers - + 100 "$1" | paste - - - - | awk '$3 < 300 {print $1}'); do
		rcli XRANGE "queue:network:site:$2" "$id" "$id" | grep -q "^$3\.5" && echo "$id"
	done
	return 0
}
held=""
for _ in $(seq 600); do
	held=$(silent_held east-1 "$KA" "$A")
	[ -n "$held" ] && break
	sleep 0.1
done
[ -n "$held" ] || fail "east-1 never held a task: $(rcli XPENDING "queue:network:site:$KA" probers | tr '\n' ' ')"
{ kill -KILL -- "-$EAST1"; wait "$EAST1"; } 2>/dev/null || true
KILLED=$(q "SELECT now()")
held=$(held_by east-1 "$KA")   # what it held when it died
[ -n "$held" ] || fail "east-1 held no task when killed"
note "east-1 killed (SIGKILL, process group) holding $(echo "$held" | wc -l) tasks: $(echo "$held" | tr '\n' ' ')"

for _ in $(seq $((CLAIM_BOUND_S * 10))); do
	still=$(comm -12 <(echo "$held" | sort) <(held_by east-1 "$KA" | sort))
	[ -z "$still" ] && break
	sleep 0.1
done
[ -z "$still" ] || fail "tasks still pending at the dead east-1 after ${CLAIM_BOUND_S}s: $still"
grep -q "took over" "$STACK_DIR/agents_east2.log" || fail "east-2 did not say it took tasks over"
wait_for 10 "a claimed task's result, by east-2" \
	"SELECT count(*) > 0 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	 WHERE c.site = '$SITE_A' AND l.metadata ->> 'agent' = 'east-2' AND (l.metadata ->> 'claimed')::boolean"
sleep $((CLAIM_BOUND_S + 2))
# every live camera of east: checked all along, the longest gap within the bound, by east-2 since
gaps=$(q "SELECT string_agg(DISTINCT runner, ',') || ' ' || round(max(gap))::int FROM (
	SELECT coalesce(l.metadata ->> 'agent', 'prober') runner,
		   extract(epoch FROM l.created_at - lag(l.created_at) OVER (PARTITION BY l.camera_id, l.check_type ORDER BY l.created_at)) gap
	FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	WHERE $live AND c.site = '$SITE_A' AND l.check_type IN ('ip', 'port')
	  AND l.created_at BETWEEN '$KILLED'::timestamptz - interval '2 s' AND now() - interval '1 s') x")
runners=${gaps% *} gap=${gaps##* }
assert_eq "$runners" "east-1,east-2" "east's runners around the kill"
[ "$gap" -le "$CLAIM_BOUND_S" ] || fail "a camera of east went ${gap}s without a check (bound ${CLAIM_BOUND_S}s)"
got=$(q "SELECT string_agg(DISTINCT l.metadata ->> 'agent', ',') FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	WHERE $live AND c.site = '$SITE_A' AND l.check_type IN ('ip', 'port') AND l.created_at > '$KILLED'::timestamptz + interval '1 s'")
assert_eq "$got" "east-2" "east's runner after the kill"
note "takeover: east-1's tasks claimed by east-2; the longest gap of a live camera of east: ${gap}s (bound ${CLAIM_BOUND_S}s)"

# ---- the only agent of west killed: back to the database's prober, its held tasks moved
held=""
for _ in $(seq 300); do
	held=$(silent_held west-1 "$KB" "$B")
	[ -n "$held" ] && break
	sleep 0.1
done
[ -n "$held" ] || fail "west-1 never held a task of a silent camera"
{ kill -KILL -- "-$WEST1"; wait "$WEST1"; } 2>/dev/null || true
KILLED=$(q "SELECT now()")
note "west-1 killed (SIGKILL, process group) holding $(echo "$held" | wc -l) tasks of silent cameras"
wait_for 20 "west's cameras checked by the database's prober" \
	"SELECT count(DISTINCT l.camera_id) = 4 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	 WHERE $live AND c.site = '$SITE_B' AND l.metadata ->> 'worker' LIKE 'pg-%-prober' AND l.created_at > '$KILLED'"
back=$(q "SELECT round(extract(epoch FROM min(l.created_at) - '$KILLED'::timestamptz))::int FROM camera_health.health_logs l
	JOIN camera_health.cameras c ON c.id = l.camera_id WHERE c.site = '$SITE_B' AND l.metadata ->> 'worker' LIKE 'pg-%-prober' AND l.created_at > '$KILLED'")
[ "$back" -le 8 ] || fail "west's checks went back to the prober after ${back}s (TTL 5 s + 1 s)"
for _ in $(seq 50); do [ "$(rcli XLEN "queue:network:site:$KB")" = 0 ] && break; sleep 0.2; done
assert_eq "$(rcli XLEN "queue:network:site:$KB")" 0 "tasks left in west's queue"
assert_eq "$(rcli EXISTS "agents:$KB")" 0 "west's heartbeat"
# the tasks west-1 held (silent cameras) were run by the prober, late by about the TTL
wait_for 10 "west-1's held tasks run by the prober" \
	"SELECT count(*) > 0 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	 WHERE c.site = '$SITE_B' AND c.name LIKE 'agents silent%' AND l.metadata ->> 'worker' LIKE 'pg-%-prober'
	   AND (l.metadata ->> 'lateness_ms')::int >= 4000"
grep -q "site \"west%20wing%2F%CE%B2\" has no live agent any more" "$PG_LOG" || fail "the scheduler did not log west's last agent going"
note "west without agents: its checks by the database's prober ${back}s after the kill; the held tasks moved and run there"

# ---- the last agent of east stops cleanly: its heartbeat goes at once
kill -TERM "$EAST2"
for _ in $(seq 100); do kill -0 "$EAST2" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$EAST2" 2>/dev/null || fail "east-2 did not stop on SIGTERM"
assert_eq "$(rcli EXISTS "agents:$KA")" 0 "east's heartbeat after its last agent stopped"
STOPPED=$(q "SELECT now()")
wait_for 10 "east's cameras checked by the database's prober" \
	"SELECT count(DISTINCT l.camera_id) = 4 FROM camera_health.health_logs l JOIN camera_health.cameras c ON c.id = l.camera_id
	 WHERE $live AND c.site = '$SITE_A' AND l.metadata ->> 'worker' LIKE 'pg-%-prober' AND l.created_at > '$STOPPED'"
sleep 4
got=$(by_runner "'$STOPPED'::timestamptz + interval '2 s'")
assert_eq "$got" "east prober, nowhere prober, $SITE_B prober" "who runs the checks with no agent left"
note "all agents gone: every site's checks by the database's prober ($got)"
