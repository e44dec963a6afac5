#!/usr/bin/env bash
# The workers run as the bootstrap superuser.  A role that may create
# objects in public (the default in databases created before PostgreSQL 15,
# or wherever it was granted) defines public.right(name, integer) and
# public.make_interval(secs integer): better matches for the workers'
# right(c.relname, 8) and make_interval(secs => $1) than the built-ins
# (which need a cast), so with the default search_path a retention pass
# would run them as superuser.  The trap is shown to work in an ordinary
# session; then neither run_retention() nor a scheduled pass may call it.
. "$(dirname "$0")/lib.sh"

TRAPPER=ch_search_path_trapper

cleanup() {
	q "ALTER SYSTEM RESET camera_health.retention_interval" >/dev/null || true
	q "SELECT pg_reload_conf()" >/dev/null || true
	q "SET client_min_messages = warning;
	   DROP FUNCTION IF EXISTS public.right(name, integer), public.make_interval(integer);
	   DROP TABLE IF EXISTS public.trap_calls" >/dev/null || true
	q "DELETE FROM camera_health.cameras WHERE name LIKE 'search_path %'" >/dev/null || true
	if [ "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$TRAPPER'")" = "1" ]; then
		q "REVOKE CREATE ON SCHEMA public FROM $TRAPPER; DROP ROLE $TRAPPER" >/dev/null || true
	fi
}
trap cleanup EXIT
cleanup

q "CREATE ROLE $TRAPPER LOGIN; GRANT CREATE ON SCHEMA public TO $TRAPPER" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -U "$TRAPPER" >/dev/null <<'SQL'
CREATE TABLE public.trap_calls (fn text, caller name DEFAULT current_user, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT ON public.trap_calls TO PUBLIC;
CREATE FUNCTION public.right(name, integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.trap_calls (fn) VALUES ('right');
	RAISE LOG 'search_path trap: public.right called by %', current_user;
	RETURN pg_catalog.right($1::text, $2);
END $$;
CREATE FUNCTION public.make_interval(secs integer) RETURNS interval LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.trap_calls (fn) VALUES ('make_interval');
	RAISE LOG 'search_path trap: public.make_interval called by %', current_user;
	RETURN pg_catalog.make_interval(secs => secs::double precision);
END $$;
SQL
note "role $TRAPPER defined public.right(name, integer) and public.make_interval(secs integer)"

# the trap works: with the default search_path both calls find it
q "SELECT right(relname, 8), make_interval(secs => 60) FROM pg_class WHERE relname = 'pg_class'" >/dev/null
assert_eq "$(q "SELECT string_agg(fn, ',' ORDER BY fn) FROM public.trap_calls")" "make_interval,right" \
	"trap calls from a session with the default search_path"
q "TRUNCATE public.trap_calls" >/dev/null
note "the trap catches right() and make_interval() in a session with the default search_path"

# something for every step of a pass to do: two cameras (disabled in the
# transaction that registers them, never checked), one on the default
# retention (30 days), one on a 2-day policy, with history 3 and 40 days old
# and an alert resolved 40 days ago
ids=$(psql -XAtq -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SELECT string_agg(id::text, ' ' ORDER BY id) FROM (
	SELECT (camera_health.set_camera_enabled((camera_health.register_camera(('127.0.76.' || i)::inet, 18760,
		name => 'search_path ' || i)).id, false)).id FROM generate_series(1, 2) i) x;
COMMIT;
SQL
)
read -r a b <<<"$ids"
q "SELECT camera_health.set_log_retention($b, '2 days')" >/dev/null
q "INSERT INTO camera_health.health_logs (camera_id, check_type, status, metadata, created_at)
	SELECT cam, 'ip', 'ok', '{\"latency_ms\": 1.000}', now() - age::interval FROM unnest(ARRAY[$a, $b]) cam, unnest(ARRAY['3 days', '40 days']) age;
   INSERT INTO camera_health.alerts (camera_id, alert_type, severity, status, message, created_at, resolved_at)
	VALUES ($a, 'camera_unreachable', 'critical', 'resolved', 'old', now() - interval '41 days', now() - interval '40 days')" >/dev/null

# run_retention(): a pass by the retention worker, on request
run=$(q "SELECT id FROM camera_health.run_retention()")
[ -n "$run" ] || fail "run_retention() returned nothing"
assert_eq "$(q "SELECT finished_at IS NOT NULL AND error IS NULL FROM camera_health.retention_runs WHERE id = $run")" "t" \
	"retention pass $run finished without error"
# it did its work: what is left is camera a's 3-day-old history
assert_eq "$(q "SELECT (SELECT string_agg(camera_id || ' ' || extract(day FROM now() - created_at), ',') FROM camera_health.health_logs WHERE camera_id IN ($a, $b))
	|| ';' || (SELECT string_agg(camera_id || ' ' || extract(day FROM now() - created_at), ',') FROM camera_health.camera_latency WHERE camera_id IN ($a, $b))
	|| ';' || (SELECT count(*) FROM camera_health.alerts WHERE camera_id = $a)")" "$a 3;$a 3;0" \
	"history left after the pass (logs;latency;alerts)"

# a scheduled pass
last=$(q "SELECT coalesce(max(id), 0) FROM camera_health.retention_runs")
q "ALTER SYSTEM SET camera_health.retention_interval = 1" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for 30 "a scheduled retention pass" \
	"SELECT count(*) > 0 FROM camera_health.retention_runs WHERE id > $last AND requested_by = 'schedule' AND finished_at IS NOT NULL"
assert_eq "$(q "SELECT count(*) FROM camera_health.retention_runs WHERE id > $last AND error IS NOT NULL")" "0" \
	"scheduled passes with an error"

got=$(q "SELECT coalesce(string_agg(fn || ' by ' || caller, ', '), 'none') FROM public.trap_calls")
assert_eq "$got" "none" "trap functions called by the workers"
note "run_retention() (pass $run) and a scheduled pass called neither trap"
