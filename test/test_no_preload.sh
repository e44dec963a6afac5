#!/usr/bin/env bash
# Without shared_preload_libraries the SQL API works and the missing workers
# are reported clearly.
. "$(dirname "$0")/lib.sh"

dir="$STACK_DIR/nopreload"
port=$(free_port)
rm -rf "$dir"
stack_as_owner mkdir -p "$dir"
stack_as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust --no-instructions >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$PGHOST'
fsync = off
CONF
stack_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
trap 'stack_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null; rm -rf "$dir"' EXIT

out=$(psql -X -p "$port" -d postgres -v ON_ERROR_STOP=1 2>&1 <<'SQL'
CREATE EXTENSION camera_health;
SELECT ip_address FROM camera_health.register_camera('127.0.0.1');
SELECT ip_address FROM camera_health.get_camera(1);
SQL
) || fail "the SQL API failed without preload: $out"
echo "$out" | grep -q "WARNING:  camera_health is not in shared_preload_libraries" \
	|| fail "no warning about the missing workers: $out"
[ "$(echo "$out" | grep -c 127.0.0.1)" -eq 2 ] || fail "camera not registered and read back: $out"
note "SQL API works without preload; warning given"
