#!/usr/bin/env bash
# pg_ctl stop -m fast with the workers busy (probes in flight to hosts that
# never answer) takes under 5 seconds; a worker that is terminated is
# restarted by the postmaster without taking the server down.
. "$(dirname "$0")/lib.sh"

trap 'cleanup_network; q "DELETE FROM camera_health.cameras WHERE ip_address << '"'"'127.0.50.0/24'"'"'" >/dev/null || true' EXIT
drop_traffic 127.0.50.0/24
q "ALTER SYSTEM SET camera_health.port_timeout = '30s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
q "SELECT count(camera_health.register_camera(('127.0.50.' || i)::inet, 554, interval_ip => 1, interval_port => 1)) FROM generate_series(1, 200) i" >/dev/null
sleep 3

restart_worker ingest
note "a terminated worker is restarted; the server stays up"

start=$(date +%s%N)
pg_stop fast
ms=$(( ($(date +%s%N) - start) / 1000000 ))
note "pg_ctl stop -m fast with 200 probes in flight: $ms ms"
[ "$ms" -lt 5000 ] || fail "fast shutdown took $ms ms"
grep -E "PANIC|server process .* was terminated by signal" "$PG_LOG" && fail "unclean shutdown"
pg_start
q "ALTER SYSTEM RESET camera_health.port_timeout" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for 15 "workers back after the restart" "SELECT count(*) = 5 FROM pg_stat_activity WHERE backend_type LIKE 'camera_health %'"
