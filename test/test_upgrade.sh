#!/usr/bin/env bash
# Upgrade: a 1.0 install with data of every kind, updated with
# ALTER EXTENSION camera_health UPDATE TO '1.1' (while the roles exist
# already), ends up with exactly the schema of a fresh 1.1 install: the same
# tables, columns, constraints, indexes, triggers, functions (bodies and
# proconfig), privileges, initial privileges, comments, extension members and
# pg_extension_config_dump settings.  Any difference fails with a diff.  The
# data survives, and the API works on the upgraded database.  Finally the
# comparison is shown to catch a change of each kind, so it cannot pass
# vacuously.
#
# Both databases live in the test stack's cluster (the workers run in
# camera_health.database only, so they leave these two alone).
. "$(dirname "$0")/lib.sh"

OLD=ch_upgrade_from_10
NEW=ch_upgrade_fresh
WORK=$(mktemp -d "$STACK_DIR/upgrade.XXXXXX")
chmod 755 "$WORK"

cleanup() {
	local db
	for db in "$OLD" "$NEW"; do
		psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	done
	[ -n "${KEEP_STACK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# qd DB SQL: like q, in database DB
qd() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# the same fixed-date partitions in both databases: names that depend on the
# day the test runs would differ between the two for no reason
make_partitions() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<-'SQL'
		CREATE TABLE camera_health.health_logs_p20200101 PARTITION OF camera_health.health_logs
			FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00');
		CREATE TABLE camera_health.health_logs_p20200102 PARTITION OF camera_health.health_logs
			FOR VALUES FROM ('2020-01-02 00:00+00') TO ('2020-01-03 00:00+00');
		CREATE TABLE camera_health.camera_latency_p20200101 PARTITION OF camera_health.camera_latency
			FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00');
	SQL
}
# 1.1's: check history in the days 1.0 had partitions for (as the update makes them)
make_partitions_11() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<-'SQL'
		SELECT camera_health.create_history_partition('2020-01-01'), camera_health.create_history_partition('2020-01-02');
	SQL
}

# ---- 1.0 with data of every kind --------------------------------------------

# the roles exist already (the stack's own database has the extension): the
# install and the update must cope with that, as on any second database
assert_eq "$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('camera_health_reader', 'camera_health_writer')")" "2" \
	"reader and writer roles exist before the install"

for db in "$OLD" "$NEW"; do
	PGOPTIONS="-c client_min_messages=warning" psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db TEMPLATE template0" >/dev/null
done
qd "$OLD" "CREATE EXTENSION camera_health VERSION '1.0'"
assert_eq "$(qd "$OLD" "SELECT extversion FROM pg_extension WHERE extname = 'camera_health'")" "1.0" "installed version"
make_partitions "$OLD"

psql -XAtq -v ON_ERROR_STOP=1 -d "$OLD" >/dev/null <<'SQL'
SET search_path = camera_health, pg_catalog;
-- cameras with and without URLs, one disabled
SELECT register_camera('10.9.0.1', rtsp_url => 'rtsp://viewer:s3cret@10.9.0.1/live?token=abc', name => 'with url');
SELECT register_camera('10.9.0.2', 8554, name => 'no url', interval_ip => 10);
SELECT register_camera('10.9.0.3', rtsp_url => 'http://10.9.0.3/snapshot.jpg');
SELECT set_camera_enabled(3, false);
-- results through the ingest path: logs and latency (default partition, as
-- there is no partition for today), status, alert state, an alert opened
SELECT * FROM record_results(jsonb_build_array(
	jsonb_build_object('camera_id', 1, 'check_type', 'ip', 'status', 'critical',
		'checked_ms', 1577836800000 + 1000, 'metadata', jsonb_build_object('method', 'icmp', 'detail', 'timeout')),
	jsonb_build_object('camera_id', 1, 'check_type', 'ip', 'status', 'critical',
		'checked_ms', 1577836800000 + 2000, 'metadata', jsonb_build_object('method', 'icmp', 'detail', 'timeout')),
	jsonb_build_object('camera_id', 1, 'check_type', 'ip', 'status', 'critical',
		'checked_ms', 1577836800000 + 3000, 'metadata', jsonb_build_object('method', 'icmp', 'detail', 'timeout')),
	jsonb_build_object('camera_id', 2, 'check_type', 'port', 'status', 'ok',
		'checked_ms', 1577923200000 + 5000, 'latency_ms', 0.25),
	jsonb_build_object('camera_id', 2, 'check_type', 'ip', 'status', 'ok',
		'checked_ms', (extract(epoch FROM now()) * 1000)::bigint, 'latency_ms', 0.5,
		'metadata', jsonb_build_object('method', 'tcp'))), 3, 2);
-- older history straight into the tables: a day with a partition, one without
INSERT INTO health_logs (camera_id, check_type, status, metadata, created_at) VALUES
	(2, 'vision', 'warning', '{"blur": {"detected": true}}', '2020-01-01 12:00+00'),
	(2, 'ip', 'ok', '{"method": "icmp", "latency_ms": 1.5}', '2020-01-01 12:00+00'),
	(2, 'ip', 'ok', '{}', '2019-06-01 12:00+00');
INSERT INTO camera_latency (camera_id, check_type, latency, created_at) VALUES
	(2, 'ip', 1.5, '2020-01-01 12:00+00'), (2, 'ip', 2.5, '2019-06-01 12:00+00');
-- alerts: the open one above, one acknowledged, one resolved
INSERT INTO alerts (camera_id, alert_type, severity, message, created_at) VALUES
	(2, 'high_latency', 'warning', 'slow', '2020-01-02 00:00+00');
SELECT acknowledge_alert(id) FROM alerts WHERE alert_type = 'high_latency';
INSERT INTO alerts (camera_id, alert_type, severity, status, message, created_at, resolved_at) VALUES
	(2, 'port_unavailable', 'critical', 'resolved', 'was down', '2020-01-01 00:00+00', '2020-01-01 01:00+00');
SELECT set_log_retention(1, '14 days');
SELECT set_log_retention(2, '90 days');
INSERT INTO camera_references (camera_id, image)
	VALUES (1, convert_to('GREY 4 4' || chr(10), 'UTF8') || '\x00112233445566778899aabbccddeeff'::bytea);
INSERT INTO retention_runs (started_at, finished_at, requested_by, partitions_dropped, health_logs_deleted)
	VALUES ('2020-01-05 00:00+00', '2020-01-05 00:00:01+00', 'schedule', 2, 1234);
INSERT INTO ingest_progress (stream, last_ms, last_seq) VALUES ('results:network', 1577836805000, 7);
SQL

# what the data looks like, table by table: counts, partitions and key
# columns (the columns 1.0 has; an upgrade may add others)
fingerprint() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" <<-'SQL'
		SET search_path = camera_health, pg_catalog;
		SELECT 'cameras', count(*), string_agg(concat_ws('|', id, name, ip_address, port, rtsp_url, interval_ip,
			interval_port, interval_vision, enabled), ';' ORDER BY id) FROM cameras;
		-- every log and sample as written (1.1 packs them: other ids, other tables)
		SELECT 'health_logs', count(*), string_agg(concat_ws('|', camera_id, check_type, status, metadata,
			created_at), ';' ORDER BY created_at, camera_id, check_type) FROM health_logs;
		SELECT 'camera_latency', count(*), string_agg(concat_ws('|', camera_id, check_type, latency,
			created_at), ';' ORDER BY created_at, camera_id, check_type) FROM camera_latency;
		SELECT 'camera_status', string_agg(concat_ws('|', camera_id, check_type, status, streak, since), ';'
			ORDER BY camera_id, check_type) FROM camera_status;
		SELECT 'alerts', string_agg(concat_ws('|', id, camera_id, alert_type, severity, status, message,
			acknowledged_at IS NOT NULL, resolved_at), ';' ORDER BY id) FROM alerts;
		SELECT 'alert_state', string_agg(concat_ws('|', camera_id, alert_type, failing, streak), ';'
			ORDER BY camera_id, alert_type) FROM alert_state;
		SELECT 'log_retention', string_agg(concat_ws('|', camera_id, retention), ';' ORDER BY camera_id) FROM log_retention;
		SELECT 'camera_references', string_agg(concat_ws('|', camera_id, md5(image)), ';') FROM camera_references;
		SELECT 'retention_runs', string_agg(concat_ws('|', id, requested_by, partitions_dropped, health_logs_deleted),
			';' ORDER BY id) FROM retention_runs;
		SELECT 'ingest_progress', string_agg(concat_ws('|', stream, last_ms, last_seq), ';') FROM ingest_progress;
	SQL
}
fingerprint "$OLD" >"$WORK/data.before"
assert_eq "$(qd "$OLD" "SELECT count(*) FROM camera_health.alerts WHERE status = 'open'")" "1" "an alert opened by record_results"
assert_eq "$(qd "$OLD" "SELECT count(DISTINCT tableoid) FROM camera_health.health_logs")" "3" "logs in two partitions and the default one"

# ---- the update, and a fresh 1.1 -------------------------------------------

qd "$OLD" "ALTER EXTENSION camera_health UPDATE TO '1.1'" || fail "ALTER EXTENSION camera_health UPDATE TO '1.1' failed"
assert_eq "$(qd "$OLD" "SELECT extversion FROM pg_extension WHERE extname = 'camera_health'")" "1.1" "version after the update"
qd "$NEW" "CREATE EXTENSION camera_health"
assert_eq "$(qd "$NEW" "SELECT extversion FROM pg_extension WHERE extname = 'camera_health'")" "1.1" "default version"
make_partitions_11 "$NEW"
note "1.0 with data updated to 1.1; 1.1 installed fresh"

# ---- the data survived, the API works ---------------------------------------

fingerprint "$OLD" >"$WORK/data.after"
diff -u "$WORK/data.before" "$WORK/data.after" >"$WORK/data.diff" || {
	cat "$WORK/data.diff" >&2
	fail "the update changed the data (diff above: before, after)"
}
note "data unchanged: $(wc -l <"$WORK/data.before") table fingerprints"
# 1.0's history packed: the days with a partition in theirs, the others in the
# default one; this hour's check not yet (the ingest worker packs it later)
assert_eq "$(qd "$OLD" "SELECT string_agg(tableoid::regclass || ':' || n, ',' ORDER BY tableoid::regclass::text, n)
	FROM (SELECT tableoid, sum(n) n FROM camera_health.check_history WHERE hour < '2021-01-01' GROUP BY tableoid) x")" \
	"camera_health.check_history_default:1,camera_health.check_history_p20200101:5,camera_health.check_history_p20200102:1" \
	"1.0's logs packed into the partitions of their days"
# (this hour's check is in check_recent, or packed if the hour ended during the update)
assert_eq "$(qd "$OLD" "SELECT (SELECT count(*) FROM camera_health.check_recent)
	+ (SELECT coalesce(sum(n), 0) FROM camera_health.check_history WHERE hour >= '2021-01-01')")" "1" "the check of this hour"
assert_eq "$(qd "$OLD" "SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'camera_health') AND c.relname LIKE 'check_history_p%'")" \
	"0" "the daily partitions are not members of the extension"

assert_eq "$(qd "$OLD" "SELECT id FROM camera_health.register_camera('10.9.0.4', name => 'after update')")" "4" \
	"a camera registered after the update (the sequence continues)"
assert_eq "$(qd "$OLD" "SELECT string_agg(status || '@' || created_at::date, ',') FROM camera_health.camera_logs(2, check_type => 'vision')")" \
	"warning@2020-01-01" "camera_logs() on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT count(*) FROM camera_health.camera_logs(1)")" "3" "camera_logs() of camera 1"
assert_eq "$(qd "$OLD" "SELECT logged FROM camera_health.record_results('[{\"camera_id\": 4, \"check_type\": \"port\", \"status\": \"ok\", \"checked_ms\": 1577836900000, \"latency_ms\": 1}]', 3, 2)")" \
	"1" "record_results() on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT (camera_health.health_summary() -> 'open_alerts' ->> 'total')")" "2" "health_summary() open alerts"
got=$(qd "$OLD" "SET ROLE camera_health_reader; SELECT rtsp_url FROM camera_health.get_camera(1)")
case "$got" in *s3cret* | *abc* | '') fail "a reader's view of a URL with credentials: '$got'" ;; esac
# sites and tags (new in 1.1): the old cameras have none, and take them
assert_eq "$(qd "$OLD" "SELECT string_agg(coalesce(site, '-') || ':' || tags::text, ',' ORDER BY id) FROM camera_health.cameras")" \
	"-:{},-:{},-:{},-:{}" "sites and tags of the cameras from 1.0"
assert_eq "$(qd "$OLD" "SELECT site || ':' || tags::text FROM camera_health.update_camera(1, site => 'north', tags => '{ptz}')")" \
	"north:{ptz}" "update_camera() sets a site and tags on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT count(*) FROM camera_health.register_cameras('[{\"ip_address\": \"10.9.0.5\", \"site\": \"north\"}]')")" \
	"1" "register_cameras() on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT s->>'cameras' FROM jsonb_array_elements(camera_health.health_summary()->'sites') s WHERE s->>'site' = 'north'")" \
	"2" "health_summary() per site on the upgraded database"

# reference frames per lighting mode (new in 1.1, issue 11): the 1.0 one is day
assert_eq "$(qd "$OLD" "SELECT string_agg(camera_id || ':' || mode, ',') FROM camera_health.camera_references")" \
	"1:day" "the reference frame of 1.0 is a day one"
qd "$OLD" "INSERT INTO camera_health.camera_references (camera_id, mode, image) SELECT camera_id, 'ir', image FROM camera_health.camera_references" ||
	fail "an ir reference next to the day one on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT camera_health.reset_reference(1)")" "t" "reset_reference() on the upgraded database"
assert_eq "$(qd "$OLD" "SELECT count(*) FROM camera_health.camera_references")" "0" "reset_reference() dropped both modes"

# the HTTP API (new in 1.1) on the old data, as PostgREST's roles call it
got=$(qd "$OLD" "SET ROLE camera_health_anon; SELECT rtsp_url FROM camera_health_api.get_camera(1)")
assert_eq "$got" "rtsp://viewer:***@10.9.0.1/live?token=***" "camera_health_api.get_camera() for the anonymous role"
assert_eq "$(qd "$OLD" "SET ROLE camera_health_anon; SELECT string_agg(alert_type || ':' || status, ',' ORDER BY id) FROM camera_health_api.open_alerts")" \
	"camera_unreachable:open,high_latency:acknowledged" "camera_health_api.open_alerts on the upgraded database"
assert_eq "$(qd "$OLD" "SET ROLE camera_health_writer; SELECT retention FROM camera_health_api.set_log_retention(2, '{\"retention\": \"60 days\"}')")" \
	"60 days" "camera_health_api.set_log_retention() on the upgraded database"
note "API works on the upgraded database"

# ---- the two schemas --------------------------------------------------------

# catalog_report DB: one line per fact about the extension and everything in
# its schemas (camera_health and the HTTP API's camera_health_api), sorted; OIDs never appear, dropped columns are skipped
catalog_report() {
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" <<-'SQL' | LC_ALL=C sort
		CREATE TEMP VIEW ch_objects AS
			SELECT c.oid, c.relname, c.relkind FROM pg_class c
			WHERE c.relnamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace);
		CREATE FUNCTION pg_temp.acl(a aclitem[]) RETURNS text LANGUAGE sql IMMUTABLE
			RETURN coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a) x), '(default)');
		-- an ACL that is NULL means the built-in default: a REVOKE of the only
		-- grant leaves that default spelt out, which is the same privileges
		CREATE FUNCTION pg_temp.acl(a aclitem[], kind "char", owner oid) RETURNS text LANGUAGE sql STABLE
			RETURN pg_temp.acl(coalesce(a, acldefault(kind, owner)));
		CREATE TEMP VIEW ch_default_acl AS
			SELECT 'pg_class'::regclass AS classoid, c.oid AS objoid,
				   pg_temp.acl(NULL::aclitem[], CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner) AS acl
			FROM pg_class c
			UNION ALL
			SELECT 'pg_proc'::regclass, p.oid, pg_temp.acl(NULL::aclitem[], 'f', p.proowner) FROM pg_proc p
			UNION ALL
			SELECT 'pg_namespace'::regclass, n.oid, pg_temp.acl(NULL::aclitem[], 'n', n.nspowner) FROM pg_namespace n
			UNION ALL
			SELECT 'pg_type'::regclass, t.oid, pg_temp.acl(NULL::aclitem[], 'T', t.typowner) FROM pg_type t;

		SELECT format('extension %s version %s relocatable %s schema %s', extname, extversion, extrelocatable,
					  extnamespace::regnamespace)
		FROM pg_extension WHERE extname = 'camera_health';
		SELECT format('member %s', pg_describe_object(d.classid, d.objid, d.objsubid))
		FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
		WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'camera_health' AND d.deptype = 'e';
		SELECT format('config_dump %s condition %L', u.tab::regclass, u.cond)
		FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(tab, cond) WHERE e.extname = 'camera_health';

		SELECT format('schema %s owner %s acl %s', nspname, nspowner::regrole, pg_temp.acl(nspacl, 'n', nspowner))
		FROM pg_namespace WHERE nspname IN ('camera_health', 'camera_health_api');
		SELECT format('relation %s kind %s owner %s acl %s persistence %s options %s rls %s/%s partkey %s bound %s',
					  c.oid::regclass, c.relkind, c.relowner::regrole,
					  pg_temp.acl(c.relacl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner), c.relpersistence,
					  c.reloptions, c.relrowsecurity, c.relforcerowsecurity, pg_get_partkeydef(c.oid),
					  pg_get_expr(c.relpartbound, c.oid))
		FROM pg_class c WHERE c.relnamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace) AND c.relkind <> 'i';
		-- columns in order, numbered without dropped ones
		SELECT format('column %s #%s %s %s notnull %s default %s identity %s generated %s collation %s acl %s',
					  a.attrelid::regclass, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
					  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
					  a.attidentity, a.attgenerated, a.attcollation::regcollation, pg_temp.acl(a.attacl))
		FROM pg_attribute a JOIN ch_objects o ON o.oid = a.attrelid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped;
		SELECT format('constraint %s %s %s deferrable %s/%s validated %s local %s inherited %s',
					  CASE WHEN con.conrelid <> 0 THEN con.conrelid::regclass::text ELSE con.contypid::regtype::text END, con.conname,
					  pg_get_constraintdef(con.oid), con.condeferrable, con.condeferred, con.convalidated,
					  con.conislocal, con.coninhcount)
		FROM pg_constraint con WHERE con.connamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace);
		SELECT format('index %s valid %s', pg_get_indexdef(i.indexrelid), i.indisvalid)
		FROM pg_index i JOIN ch_objects o ON o.oid = i.indexrelid;
		SELECT format('trigger %s enabled %s', pg_get_triggerdef(t.oid), t.tgenabled)
		FROM pg_trigger t JOIN ch_objects o ON o.oid = t.tgrelid WHERE NOT t.tgisinternal;
		SELECT format('policy %s %s %s %s using %s check %s', p.polrelid::regclass, p.polname, p.polcmd, p.polroles::regrole[],
					  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
		FROM pg_policy p JOIN ch_objects o ON o.oid = p.polrelid;
		SELECT format('sequence %s type %s start %s increment %s min %s max %s cache %s cycle %s',
					  s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
					  s.seqcache, s.seqcycle)
		FROM pg_sequence s JOIN ch_objects o ON o.oid = s.seqrelid;
		SELECT format('view %s: %s', c.oid::regclass, regexp_replace(pg_get_viewdef(c.oid), '\s+', ' ', 'g'))
		FROM ch_objects c WHERE c.relkind IN ('v', 'm');
		SELECT format('type %s type %s owner %s acl %s%s', t.oid::regtype, t.typtype, t.typowner::regrole, pg_temp.acl(t.typacl, 'T', t.typowner),
					  (SELECT ' labels ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
					   WHERE e.enumtypid = t.oid))
		FROM pg_type t WHERE t.typnamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace);
		SELECT format('function %s kind %s lang %s returns %s secdef %s volatility %s parallel %s strict %s leakproof %s cost %s rows %s config %s owner %s acl %s',
					  p.oid::regprocedure, p.prokind, l.lanname, pg_get_function_result(p.oid), p.prosecdef, p.provolatile,
					  p.proparallel, p.proisstrict, p.proleakproof, p.procost, p.prorows, p.proconfig,
					  p.proowner::regrole, pg_temp.acl(p.proacl, 'f', p.proowner))
		FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
		WHERE p.pronamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace);
		SELECT format('function_body %s: %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)))
		FROM pg_proc p WHERE p.pronamespace IN ('camera_health'::regnamespace, 'camera_health_api'::regnamespace) AND p.prokind IN ('f', 'p');
		-- what pg_dump treats as the extension's own privileges
		SELECT format('init_privs %s %s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype,
					  pg_temp.acl(ip.initprivs))
		FROM pg_init_privs ip
		CROSS JOIN pg_identify_object(ip.classoid, ip.objoid, ip.objsubid) io
		LEFT JOIN ch_default_acl d ON d.classoid = ip.classoid AND d.objoid = ip.objoid AND ip.objsubid = 0
		WHERE (io.schema IN ('camera_health', 'camera_health_api') OR (ip.classoid = 'pg_namespace'::regclass AND io.identity IN ('camera_health', 'camera_health_api')))
		  AND pg_temp.acl(ip.initprivs) IS DISTINCT FROM d.acl;
		SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
		FROM pg_description d, pg_identify_object(d.classoid, d.objoid, d.objsubid) io
		WHERE io.schema IN ('camera_health', 'camera_health_api') OR (d.classoid IN ('pg_namespace'::regclass, 'pg_extension'::regclass)
											  AND io.identity IN ('camera_health', 'camera_health_api'));
	SQL
}

# schema_dump DB: pg_dump --schema-only after the extension's members were
# released from it (pg_dump leaves members out), cut into its TOC entries,
# which are sorted; what must differ between two databases is dropped: the
# dump header, psql's per-dump \restrict key
schema_dump() {
	local db=$1
	qd "$db" "SELECT format('ALTER EXTENSION camera_health DROP %s %s;',
			CASE io.type WHEN 'composite type' THEN 'type' ELSE io.type END, io.identity)
		FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) io
		WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'camera_health')" >"$WORK/$db.release.sql"
	psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -f "$WORK/$db.release.sql" >/dev/null || fail "could not release the members in $db"
	"$PG_BINDIR/pg_dump" --schema-only -d "$db" >"$WORK/$db.dump" || fail "pg_dump $db"
	python3 - "$WORK/$db.dump" <<-'PY'
		import re, sys
		text = open(sys.argv[1]).read()
		lines = [l for l in text.splitlines()
		         if not re.match(r'^-- Dumped (from|by) ', l) and not re.match(r'^\\(un)?restrict ', l)]
		entries, cur = [], []
		for l in lines:
		    if l.startswith('-- Name: ') or l.startswith('-- Data for Name: '):
		        if cur and cur[-1] == '--':
		            cur.pop()
		        entries.append(cur)
		        cur = ['--', l]
		    else:
		        cur.append(l)
		entries.append(cur)
		head, body = entries[0], entries[1:]
		out = ['\n'.join(head).strip()] + sorted('\n'.join(e).strip() for e in body)
		print('\n\n'.join(out))
	PY
}

compare() { # -> 0 when equal; the diffs are in $WORK/*.diff
	local rc=0
	diff -u --label "1.0 updated to 1.1 ($OLD)" --label "fresh 1.1 ($NEW)" \
		"$WORK/$OLD.catalog" "$WORK/$NEW.catalog" >"$WORK/catalog.diff" || rc=1
	diff -u --label "1.0 updated to 1.1 ($OLD)" --label "fresh 1.1 ($NEW)" \
		"$WORK/$OLD.schema" "$WORK/$NEW.schema" >"$WORK/schema.diff" || rc=1
	return $rc
}

for db in "$OLD" "$NEW"; do
	catalog_report "$db" >"$WORK/$db.catalog" || fail "the catalog report of $db failed"
done
for db in "$OLD" "$NEW"; do
	schema_dump "$db" >"$WORK/$db.schema"
done
[ "$(grep -c '^member ' "$WORK/$NEW.catalog")" -ge 40 ] || fail "the catalog report lists too few extension members"
[ "$(grep -c '^-- Name: ' "$WORK/$NEW.schema")" -gt 100 ] || fail "the schema dump has too few entries"

if ! compare; then
	echo "--- catalog facts that differ (- updated from 1.0, + fresh 1.1):" >&2
	head -150 "$WORK/catalog.diff" >&2
	echo "--- pg_dump --schema-only entries that differ:" >&2
	head -150 "$WORK/schema.diff" >&2
	fail "1.0 updated to 1.1 differs from a fresh 1.1: the upgrade script sql/updates/1.0--1.1.sql misses a change of sql/*.sql (or has one too many)"
fi
note "schemas identical: $(wc -l <"$WORK/$NEW.catalog") catalog facts, $(grep -c '^-- Name: ' "$WORK/$NEW.schema") pg_dump entries"

# ---- the comparison sees a change of each kind --------------------------------

# (both have their members released by now, which also clears their config
# dump settings and initial privileges: the baseline is taken again)
catalog_report "$OLD" >"$WORK/$OLD.catalog" || fail "the catalog report of $OLD failed"
psql -XAtq -v ON_ERROR_STOP=1 -d "$NEW" >/dev/null <<'SQL'
COMMENT ON TABLE camera_health.alerts IS 'changed';
GRANT SELECT ON camera_health.cameras TO camera_health_reader;
ALTER FUNCTION camera_health.get_camera(bigint) RESET search_path;
CREATE INDEX upgrade_probe_idx ON camera_health.retention_runs (finished_at);
ALTER TABLE camera_health.ingest_progress ADD CONSTRAINT upgrade_probe_check CHECK (last_seq >= 0);
ALTER TABLE camera_health.log_retention ALTER COLUMN updated_at SET NOT NULL;
CREATE OR REPLACE FUNCTION camera_health.check_max_rows(max_rows integer) RETURNS void
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ BEGIN END $$;
SQL
catalog_report "$NEW" >"$WORK/$NEW.catalog" || fail "the catalog report of $NEW failed"
schema_dump "$NEW" >"$WORK/$NEW.schema"
compare && fail "the comparison missed seven deliberate changes"
for probe in "COMMENT ON TABLE camera_health.alerts IS 'changed'" "camera_health_reader=r/postgres" \
	"get_camera(bigint) kind f" "upgrade_probe_idx" "upgrade_probe_check" "log_retention #3 updated_at timestamp with time zone notnull t " \
	"function_body camera_health.check_max_rows(integer)"; do
	grep -h '^[-+]' "$WORK/catalog.diff" "$WORK/schema.diff" | grep -qF -- "$probe" || fail "the comparison did not show: $probe"
done
note "the comparison shows a changed comment, grant, proconfig, index, constraint, column and function body"
