# An idle node costs the database close to nothing: with no delivery
# pending, the helper's webhook pump waits for NOTIFY (prefs_event,
# prefs_webhook) and claims once per prefs_helper_poll_interval for safety,
# where it claimed about twenty times a second (the claim said "due in
# 0 ms" when nothing was pending); an event written after an idle spell is
# still claimed and attempted at once (issue 16, finding 8).
# prefs-test: exclusive (scripts/test.sh runs it alone): a helper claims for
# the whole database, so an idle node can be measured only while no other
# suite works, and the subscriptions and jobs earlier suites leave are
# paused or parked here
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

# the suites before this one leave subscriptions with deliveries pending or
# on the wire: paused, they give this node nothing to do
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_reason = 'Gone', paused_at = now()"
     . " WHERE state = 'Active'");

# and the jobs they leave queued or running (an import's purge due later, an
# export, a retry) are work, not idleness: they are named here, then parked
# where no helper claims them
my $left = psql_value("SELECT coalesce(string_agg(format('%s %s x%s (attempts %s)', job_type, state, n, a), ', '), 'none')"
    . " FROM (SELECT job_type, state, count(*) AS n, max(attempts) AS a FROM prefs_job"
    . " WHERE state IN ('queued', 'running') GROUP BY 1, 2) j");
diag("jobs the earlier suites left: $left");
psql("UPDATE prefs_job SET state = 'failed', finished_at = now(), lease_until = NULL,"
     . " error = 'parked by t/186' WHERE state IN ('queued', 'running')");

my $ng = PrefsTest::start_nginx(name => 'webhook-idle', workers => 1,
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;');

sub status { eval { decode_json(($ng->request(path => '/prefs/status'))[2]) } || {} }

ok(wait_until(sub { status()->{Helper}{Listening} }, 10), 'the helper runs and listens');

# the default poll interval is 2 s: an idle helper sends its webhook claim
# and its job poll once per interval, about one query a second in all.
# Idle is a steady state: the start's own work (partitions, the first
# polls, the claims of what the earlier suites left) can outlast the first
# window on a slow or loaded machine, so up to three windows are measured
# and the quietest counts; a helper that claims many times a second (what
# this suite guards against) is busy in all three.  Each window says what
# the helper did meanwhile, so a failure shows its cause.
sub idle_rate {
    my ($what) = @_;
    sleep 4;
    my $best;
    for my $w (1 .. 3) {
        my $s0 = status()->{Helper} // {};
        my $t0 = time;
        sleep 10;
        my $s1 = status()->{Helper} // {};
        my $secs = time - $t0;
        my %d = map { $_ => ($s1->{$_} // 0) - ($s0->{$_} // 0) } qw(JobsDone JobsFailed JobsStale);
        my $n = ($s1->{Database}{Queries} // -1) - ($s0->{Database}{Queries} // -1);
        diag sprintf('idle helper, %s, window %d: %d queries in %.1f s, %.2f a second;'
            . ' jobs done %d, failed %d, stale %d; partitions upkeep at %s',
            $what, $w, $n, $secs, $n / $secs, @d{qw(JobsDone JobsFailed JobsStale)},
            $s1->{EventPartitions}{LastRun} // 'never');
        $best = $n if !defined $best || $n < $best;
        last if $n <= 15;
    }
    cmp_ok($best, '<=', 15, "$what: at most 15 queries in 10 s");
    cmp_ok($best, '>=', 4, "$what: but it still polls for safety");
}
idle_rate('no active subscription');

# a subscription with nothing pending is idle too
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => make_account('whidle'));
my $port = do { my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1); my $p = $s->sockport; close $s; $p };
my ($sealed) = `printf '%s' 'whsec_IDLEIDLEIDLEIDLEIDLEIDLEIDLEID' | '$ENV{TEST_NGINX_PREFS_TOP}/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`
    =~ /^(\S+)$/ or die "prefs-secret failed\n";
my $sub = psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state,"
    . " subscriptions, secret_sealed, validated_at) VALUES (:'a', 'idle', :'u', 'Active',"
    . " '[{\"EventType\": \"profile.created\"}]', :'s', now()) RETURNING subscription_id",
    a => $acct, u => "http://127.0.0.1:$port/hook", s => $sealed);
idle_rate('a subscription, nothing pending');

# after the idle spell an event is claimed and attempted at once (the
# receiver's port is closed: the attempt fails fast, and is recorded)
my $t0 = time;
psql("SELECT prefs_event_add(:'a', NULL, 'profile.created', 1, '{}')", a => $acct);
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_attempt WHERE subscription_id = :'s'", s => $sub) > 0 }, 5),
   'the event is attempted');
cmp_ok(time - $t0, '<', 1, 'within a second of being written, not at the next poll');

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');
$ng->stop;
done_testing();
