# Hot standby: on a streaming replica the camera_health workers do not run,
# schedule nothing, write nothing and do not talk to Redis; after
# pg_promote() they take over within seconds, and nothing is checked or
# written twice.
#
# A primary with the extension preloaded, a redis-server and TCP listeners
# on 127.0.0.1/127.0.0.2 (all started here, on free ports), two cameras
# checked every second; a streaming standby of it.  Run by scripts/test.sh
# with the private server copy first in PATH (see scripts/pgprefix.sh).
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $testdir = dirname(abs_path(__FILE__));
my @cleanup;
END { $_->() for reverse @cleanup; }

# ---- redis-server and the listeners the cameras are checked against --------

my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_dir = PostgreSQL::Test::Utils::tempdir('redis');
my $redis = IPC::Run::start(
	[
		'redis-server', '--port', $redis_port, '--bind', '127.0.0.1',
		'--save', '', '--appendonly', 'no', '--dir', $redis_dir,
		'--enable-debug-command', 'local', '--logfile', "$redis_dir/redis.log"
	]);
push @cleanup, sub { $redis->kill_kill; };

sub rcli
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'redis-cli', '-p', $redis_port, @_ ], '>', \$out, '2>', \$err);
	chomp $out;
	return $out;
}
for (1 .. 100) { last if rcli('ping') eq 'PONG'; sleep 0.1; }
is(rcli('ping'), 'PONG', 'redis-server is up');

# the whole keyspace as one digest, and the clients other than the asking one
sub redis_digest { return rcli('debug', 'digest'); }
sub redis_clients
{
	return scalar grep { !/cmd=client\|list/ } split /\n/, rcli('client', 'list');
}

my $listen_port = PostgreSQL::Test::Cluster::get_free_port();
my $listen_out = '';
my $listener = IPC::Run::start([ 'python3', "$testdir/../listen.py", $listen_port, '127.0.0.1', '127.0.0.2' ],
	'>', \$listen_out, IPC::Run::timeout(30));
$listener->pump until $listen_out =~ /ready/;
push @cleanup, sub { $listener->kill_kill; };

# ---- primary and standby ----------------------------------------------------

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'camera_health'
camera_health.database = 'camera_health'
camera_health.redis_url = 'redis://127.0.0.1:$redis_port/0'
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE DATABASE camera_health');
$primary->safe_psql('camera_health', 'CREATE EXTENSION camera_health');

my $workers_sql = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'camera_health %'};
ok($primary->poll_query_until('camera_health', "SELECT ($workers_sql) = 5"), 'the five workers run on the primary');

my $cams = $primary->safe_psql('camera_health', qq{
	SELECT string_agg(id::text, ',' ORDER BY id) FROM (
		SELECT (camera_health.register_camera(a::inet, $listen_port, interval_ip => 1, interval_port => 1,
											  name => 'standby test')).id
		FROM unnest(ARRAY['127.0.0.1', '127.0.0.2']) a) x});
my $checked_sql = qq{SELECT count(*) = 4 FROM (SELECT DISTINCT camera_id, check_type FROM camera_health.health_logs
	WHERE camera_id IN ($cams) AND status = 'ok') x};
ok($primary->poll_query_until('camera_health', $checked_sql), "cameras $cams checked on the primary (ip and port ok)");

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
my $clients_before = redis_clients();
$standby->start;
$primary->wait_for_catchup($standby, 'replay');

# ---- the standby, while the primary runs ------------------------------------

is($standby->safe_psql('camera_health', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
# longer than a worker's restart delay and the extension poll
sleep 6;
is($standby->safe_psql('camera_health', $workers_sql), '0', 'no camera_health worker on the standby');
my $children = `ps -o args= --ppid $standby->{_pid}`;
unlike($children, qr/camera_health|visionproc/, 'no camera_health process among the standby postmaster\'s children');
is(redis_clients(), $clients_before, 'the standby opened no Redis connection (client count unchanged)');
$primary->wait_for_catchup($standby, 'replay');
my $logs_sql = "SELECT count(*) FROM camera_health.health_logs WHERE camera_id IN ($cams)";
ok($standby->safe_psql('camera_health', $logs_sql) > 0, 'the primary\'s logs reach the standby');

# ---- the standby alone: not one Redis command, not one change ---------------

$primary->stop('fast');
my $logs_at_stop = $standby->safe_psql('camera_health', $logs_sql);
my $progress_at_stop = $standby->safe_psql('camera_health',
	'SELECT string_agg(stream || \'=\' || last_ms || \'-\' || last_seq, \',\' ORDER BY stream) FROM camera_health.ingest_progress');
# per camera and check: the newest log and how many there are up to it
my $upto_sql = "SELECT camera_id, check_type, max(created_at), count(*) FROM camera_health.health_logs
	WHERE camera_id IN ($cams) GROUP BY 1, 2 ORDER BY 1, 2";
my @upto_at_stop = map { [ split /\|/ ] } split /\n/, $standby->safe_psql('camera_health', $upto_sql);
sleep 1;
my $digest = redis_digest();
is(redis_clients(), 0, 'with the primary stopped, nothing is connected to Redis');
my $monitor_out = '';
my $monitor = IPC::Run::start([ 'redis-cli', '-p', $redis_port, 'monitor' ], '>', \$monitor_out);
sleep 5;
$monitor->kill_kill;
my @commands = grep { $_ ne 'OK' && $_ ne '' } split /\n/, $monitor_out;
is(scalar @commands, 0, 'the standby sent Redis no command in 5 s (MONITOR)')
  or diag("commands seen:\n" . join("\n", @commands[ 0 .. ($#commands < 9 ? $#commands : 9) ]));
is(redis_digest(), $digest, 'schedules, queues and streams in Redis untouched (DEBUG DIGEST)');
is($standby->safe_psql('camera_health', $workers_sql), '0', 'still no worker on the standby');
ok($progress_at_stop ne '', "ingest progress replicated: $progress_at_stop");

# ---- promotion ----------------------------------------------------------------

my $t0 = time;
is($standby->safe_psql('camera_health', 'SELECT pg_promote(true, 60)'), 't', 'pg_promote()');
my $promoted_at = $standby->safe_psql('camera_health', 'SELECT now()');
ok($standby->poll_query_until('camera_health', "SELECT ($workers_sql) = 5"), 'the five workers run after promotion');
my $t_workers = time - $t0;
ok($standby->poll_query_until('camera_health', qq{SELECT count(*) = 4 FROM (SELECT DISTINCT camera_id, check_type
	FROM camera_health.health_logs WHERE camera_id IN ($cams) AND status = 'ok' AND created_at > '$promoted_at') x}),
	'new ip and port logs of both cameras after promotion');
my $t_logs = time - $t0;
diag(sprintf('after pg_promote(): workers running in %.1f s, new logs of every check in %.1f s', $t_workers, $t_logs));

# a few more rounds, then: no log written twice, nothing re-ingested
sleep 4;
is($standby->safe_psql('camera_health', qq{SELECT count(*) FROM (SELECT FROM camera_health.health_logs
	WHERE camera_id IN ($cams) GROUP BY camera_id, check_type, created_at HAVING count(*) > 1) d}),
	'0', 'no health log twice (same camera, check and time)');
is($standby->safe_psql('camera_health', qq{SELECT count(*) FROM (SELECT FROM camera_health.camera_latency
	WHERE camera_id IN ($cams) GROUP BY camera_id, check_type, created_at HAVING count(*) > 1) d}),
	'0', 'no latency sample twice');
# results the old primary had written are not written again by the new one
my $rewritten = 0;
for my $row (@upto_at_stop)
{
	my ($cam, $check, $max_at, $n) = @$row;
	$rewritten += $standby->safe_psql('camera_health', qq{SELECT count(*) FROM camera_health.health_logs
		WHERE camera_id = $cam AND check_type = '$check' AND created_at <= '$max_at'}) - $n;
}
is(scalar @upto_at_stop, 4, 'logs of 2 cameras x 2 checks at the switchover');
is($rewritten, 0, 'no result of before the switchover written again after it');
my $progress_now = $standby->safe_psql('camera_health',
	'SELECT string_agg(stream || \'=\' || last_ms || \'-\' || last_seq, \',\' ORDER BY stream) FROM camera_health.ingest_progress');
isnt($progress_now, $progress_at_stop, "ingest progress moves on after promotion: $progress_now");
ok($standby->safe_psql('camera_health', $logs_sql) > $logs_at_stop, 'more logs than at the switchover');

done_testing();
