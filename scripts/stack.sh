# shellcheck shell=bash
# Private PostgreSQL cluster + redis-server for `make test` and `make run`.
# Source this file, then call stack_start; stack_stop stops what it started.
#
# After stack_start these are exported:
#   STACK_DIR      where everything lives (data, sockets, logs)
#   PGHOST PGPORT PGUSER PGDATABASE   for psql and pg_regress
#   REDIS_PORT REDIS_URL              for redis-cli and visionproc
#   PG_LOG         the server log
# STACK_TMPDIR (default /tmp) is where STACK_DIR is made.
# PostgreSQL refuses to run as root: as root, the cluster runs as the
# unprivileged user "postgres".  The server is the private copy that
# scripts/build.sh installed the extension into (scripts/pgprefix.sh).

# shellcheck source=scripts/pgprefix.sh
. "$(dirname "${BASH_SOURCE[0]}")/pgprefix.sh"

stack_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stack_start [extra postgresql.conf lines...]
stack_start() {
	STACK_DIR=$(mktemp -d "${STACK_TMPDIR:-/tmp}/camera_health.XXXXXX")
	chmod 755 "$STACK_DIR"
	mkdir -p "$STACK_DIR/run" "$STACK_DIR/log" "$STACK_DIR/redis"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$STACK_DIR"
	export STACK_DIR
	PGPORT=$(free_port)
	REDIS_PORT=$(free_port)
	export PGHOST="$STACK_DIR/run" PGPORT PGUSER=postgres PGDATABASE=camera_health REDIS_PORT
	export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	export PG_LOG="$STACK_DIR/log/postgresql.log"

	# stack_stop must find a server that is still starting when an
	# interrupt ends stack_start: these mark that one was launched
	: >"$STACK_DIR/redis.launched"
	redis_start

	stack_as_owner "$PG_BINDIR/initdb" -D "$STACK_DIR/pgdata" -U postgres --auth=trust \
		--no-instructions -E UTF8 >"$STACK_DIR/log/initdb.log"
	cat >>"$STACK_DIR/pgdata/postgresql.conf" <<-CONF
		port = $PGPORT
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$PGHOST'
		shared_preload_libraries = 'camera_health'
		camera_health.database = 'camera_health'
		camera_health.redis_url = '$REDIS_URL'
		fsync = off
		log_line_prefix = '%m [%p] %q%a '
	CONF
	local line
	for line in "$@"; do
		echo "$line" >>"$STACK_DIR/pgdata/postgresql.conf"
	done
	# the database and the extension exist before the first start, so the
	# workers find them at once instead of retrying
	echo "CREATE DATABASE camera_health" | pg_single template1
	echo "CREATE EXTENSION camera_health" | pg_single camera_health
	pg_start
	stack_wait_workers
}

# pg_single DB: run the statements on stdin (one per line) in single-user mode
pg_single() {
	stack_as_owner "$PG_BINDIR/postgres" --single -D "$STACK_DIR/pgdata" "$1" \
		>>"$STACK_DIR/log/single-user.log" 2>&1 || {
		cat "$STACK_DIR/log/single-user.log" >&2
		return 1
	}
	! grep -q "ERROR:" "$STACK_DIR/log/single-user.log" || {
		cat "$STACK_DIR/log/single-user.log" >&2
		return 1
	}
}

# wait until the five camera_health workers run
stack_wait_workers() {
	for _ in $(seq 150); do
		[ "$("$PG_BINDIR/psql" -XAtq -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'camera_health %'")" = 5 ] && return 0
		sleep 0.2
	done
	echo "the camera_health workers did not start; see $PG_LOG" >&2
	return 1
}

pg_start() {
	: >"$STACK_DIR/pg.launched"
	stack_as_owner "$PG_BINDIR/pg_ctl" -D "$STACK_DIR/pgdata" -l "$PG_LOG" -w -t 60 start >/dev/null
}

pg_stop() {
	stack_as_owner "$PG_BINDIR/pg_ctl" -D "$STACK_DIR/pgdata" -m "${1:-fast}" -w -t 60 stop >/dev/null
}

redis_start() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize yes --dir "$STACK_DIR/redis" --pidfile "$STACK_DIR/redis/redis.pid" \
		--logfile "$STACK_DIR/log/redis.log"
	for _ in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "redis-server did not start" >&2
	return 1
}

redis_stop() {
	local pidfile="$STACK_DIR/redis/redis.pid" pid=""
	# interrupted while daemonizing: its pid file comes a moment later
	[ -s "$pidfile" ] || [ ! -f "$STACK_DIR/redis.launched" ] || sleep 0.5
	pid=$(cat "$pidfile" 2>/dev/null) || true
	redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	for _ in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || break
		sleep 0.1
	done
	# not answering yet (still starting) or not stopping
	[ -z "$pid" ] || stop_pid "$pid" 5
}

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS (PID is not our child)
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

# proc_running PID: does PID exist and is not a zombie?
proc_running() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

# group_running PGID: does any process of the process group PGID still run?
group_running() {
	local p
	for p in $(pgrep -g "$1" 2>/dev/null); do
		proc_running "$p" && return 0
	done
	return 1
}

# stop_group PGID SECONDS: SIGTERM to the whole process group, SIGKILL to
# what is left after SECONDS; reaps the leader when it is our child.
stop_group() {
	local deadline=$((SECONDS + $2))
	kill -TERM -- "-$1" 2>/dev/null || true
	while group_running "$1" && [ $SECONDS -lt "$deadline" ]; do
		sleep 0.1
	done
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# pg_stop_any: stop the cluster, also one that is still starting
pg_stop_any() {
	local pid
	[ -f "$STACK_DIR/pg.launched" ] || return 0
	for _ in $(seq 50); do
		[ -f "$STACK_DIR/pgdata/postmaster.pid" ] && break
		sleep 0.1
	done
	[ -f "$STACK_DIR/pgdata/postmaster.pid" ] || return 0
	pid=$(head -1 "$STACK_DIR/pgdata/postmaster.pid")
	pg_stop fast || pg_stop immediate || true
	# pg_ctl gives up on a postmaster that has not finished starting
	[ -z "$pid" ] || stop_pid "$pid" 30
}

# stack_stop: stop what stack_start started (also when it was interrupted
# halfway) and remove the stack directory.  A second Ctrl-C must not leave
# servers behind: SIGINT, SIGTERM and SIGHUP are ignored from here on (the
# caller is exiting anyway), and so inherited by pg_ctl and redis-cli.
stack_stop() {
	trap '' INT TERM HUP QUIT
	[ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR" ] || return 0
	pg_stop_any
	redis_stop
	if [ -n "${KEEP_STACK:-}" ]; then
		echo "stack kept in $STACK_DIR"
	else
		rm -rf "$STACK_DIR"
	fi
}
