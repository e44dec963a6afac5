#!/usr/bin/env bash
# A test that hangs, for test/test_interrupt.sh only (never in the default
# list: it lives below test/interrupt/).  Run as
# TESTS=interrupt/test_hang with HANG_DIR set, it starts what a test may
# start: a background sleep, a TCP listener on a free port, a child that
# ignores SIGTERM and one in a session of its own (as a daemon is), writes
# their pids to $HANG_DIR/pids and the port to $HANG_DIR/port, says
# "ready" and hangs.
set -euo pipefail
: "${HANG_DIR:?HANG_DIR must name a directory}"
sleep 1000 &
echo $! >>"$HANG_DIR/pids"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(1000)' "$port" &
echo $! >>"$HANG_DIR/pids"
echo "$port" >"$HANG_DIR/port"
bash -c 'trap "" TERM; while :; do sleep 1; done' &
echo $! >>"$HANG_DIR/pids"
# in a session of its own, as a daemon would be: no signal to the test's
# process group reaches it
setsid sleep 1000 &
echo $! >>"$HANG_DIR/pids"
echo $$ >>"$HANG_DIR/pids"
# the listener is up before "ready"
until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; do
	sleep 0.1
done
touch "$HANG_DIR/ready"
sleep 1000
