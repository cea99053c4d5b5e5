# The helper process and its job queue: a job runs within a second of being
# enqueued; a helper killed mid-job is respawned and the job completes once
# after its lease expires; a reload during a stream of jobs loses none and
# completes none twice.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its jobs must be run by its own helper (any
#   nginx's helper claims any queued job)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

sub enqueue {
    my ($payload, %o) = @_;
    return psql_value("INSERT INTO prefs_job (job_type, payload, max_attempts)"
        . " VALUES ('prefs.echo', :'p', :'m') RETURNING job_id",
        p => encode_json($payload), m => $o{max_attempts} // 5);
}

sub job { my ($id) = @_;
    my $row = psql("SELECT state, attempts, coalesce(result::text, ''),"
        . " extract(epoch FROM finished_at - created_at) FROM prefs_job WHERE job_id = :'id'", id => $id);
    my ($state, $attempts, $result, $took) = split /\|/, $row;
    return { state => $state, attempts => $attempts, result => $result, took => $took };
}

sub accepted_runs { psql_value("SELECT count(*) FROM prefs_job_run WHERE job_id = :'id' AND accepted", id => $_[0]) }

my $ng = PrefsTest::start_nginx(name => 'helper',
    http_config => 'prefs_job_lease 2s; prefs_helper_poll_interval 5s;');

ok(wait_until(sub { $ng->helper_pid }, 5), 'the master started a helper process');
my $helper = $ng->helper_pid;

# wait until the helper listens, so the timing below measures NOTIFY
ok(wait_until(sub {
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    my $j = eval { decode_json($b) } || {};
    $j->{Helper}{Listening};
}, 5), 'the helper listens for new jobs');

# 1. enqueue -> runs within a second -> result recorded
my $id = enqueue({ value => 'hello' });
ok(wait_until(sub { job($id)->{state} eq 'done' }, 3), 'the job ran');
my $j = job($id);
cmp_ok($j->{took}, '<', 1, "it finished within a second of being enqueued ($j->{took} s), "
    . "though the poll interval is 5 s");
my $res = eval { decode_json($j->{result}) } || {};
is($res->{value}, 'hello', 'its result is recorded');
is(accepted_runs($id), 1, 'it completed once');

# a failing job is retried, then succeeds
$id = enqueue({ value => 2, fail_attempts => 1 });
my $t_retry = time;
ok(wait_until(sub { job($id)->{state} eq 'done' }, 4), 'a job that fails once is retried');
cmp_ok(time - $t_retry, '<', 4, 'after its 1 s retry delay, not a 5 s poll interval later');
is(job($id)->{attempts}, 2, 'on its second attempt');

# a job of an unknown type fails for good at once
my $bad = psql_value("INSERT INTO prefs_job (job_type) VALUES ('no.such.type') RETURNING job_id");
ok(wait_until(sub { job($bad)->{state} eq 'failed' }, 3), 'an unknown job type fails');
is(job($bad)->{attempts}, 1, 'without being retried');

# a job longer than its lease keeps it while its helper lives
$id = enqueue({ value => 'long', sleep_ms => 3500 });
ok(wait_until(sub { job($id)->{state} eq 'done' }, 8), 'a job longer than the lease completes');
is(job($id)->{attempts}, 1, 'on its first attempt: the helper renewed its lease');
is(accepted_runs($id), 1, 'once');

# 2. SIGKILL mid-job
$id = enqueue({ value => 'survivor', sleep_ms => 1500 });
ok(wait_until(sub { job($id)->{state} eq 'running' }, 3), 'a long job is running');
ok(kill('KILL', $helper), 'the helper is killed mid-job');
ok(wait_until(sub { my $p = $ng->helper_pid; $p && $p != $helper }, 5),
   'the master respawned the helper');
ok(wait_until(sub { job($id)->{state} eq 'done' }, 10), 'the job completed after its lease expired');
$j = job($id);
is($j->{attempts}, 2, 'on a second attempt');
is(accepted_runs($id), 1, 'exactly once');
$helper = $ng->helper_pid;

# 3. a reload during a stream of jobs
my @ids;
my $t0 = time;
my $reloaded = 0;
for my $n (1 .. 60) {
    push @ids, enqueue({ value => $n, sleep_ms => 50 });
    if ($n == 20) { $ng->reload; $reloaded = 1 }
    sleep 0.02;
}
ok($reloaded, 'nginx was reloaded during the stream');
my $in = join(',', @ids);
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_job WHERE job_id IN ($in) AND state = 'done'") == @ids }, 20),
   'every job of the stream was done');
is(psql_value("SELECT count(*) FROM prefs_job_run WHERE job_id IN ($in) AND accepted"), scalar @ids,
   'none was completed twice');
is(psql_value("SELECT count(*) FROM prefs_job WHERE job_id IN ($in) AND state <> 'done'"), 0, 'none was lost');
ok(wait_until(sub { my $p = $ng->helper_pid; $p && $p != $helper }, 5), 'a new helper serves after the reload');

my ($s, $h, $b) = $ng->request(path => '/prefs/status');
my $st = eval { decode_json($b) } || {};
is($st->{Helper}{Mode}, 'process', 'status shows the helper process');
ok($st->{Helper}{Running}, 'and that it runs');

my @bad = grep { /\[(alert|crit|emerg)\]/ && !/cache manager process \d+ exited on signal 9/ }
    split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged but the kill');
$ng->stop;

done_testing();
