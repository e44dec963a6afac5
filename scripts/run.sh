#!/usr/bin/env bash
# `make run`: the whole stack on a private cluster, in the foreground, until
# Ctrl-C.  Installs packages and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh

. scripts/stack.sh
trap 'echo; echo "stopping..."; stack_stop; exit 0' INT TERM
trap stack_stop EXIT
stack_start

# demo cameras on loopback: this cluster's own port is open, port 9 is closed
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT camera_health.register_camera('127.0.0.1', $PGPORT, name => 'demo: an open port', interval_ip => 5, interval_port => 5);
SELECT camera_health.register_camera('127.0.0.1', 9, name => 'demo: a closed port', interval_ip => 5, interval_port => 5);
SQL

cat <<INFO

camera_health is running.

  PostgreSQL  psql -h $PGHOST -p $PGPORT -U postgres camera_health
              (TCP: host=127.0.0.1 port=$PGPORT user=postgres dbname=camera_health)
  Redis       redis-cli -p $REDIS_PORT
  Server log  $PG_LOG

Try:
  SELECT * FROM camera_health.list_cameras();
  SELECT camera_health.health_summary();
  SELECT * FROM camera_health.camera_logs(1);

Ctrl-C stops everything.
INFO
tail -n 0 -F "$PG_LOG" &
wait
