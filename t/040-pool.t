# The per-worker pool under pressure: more concurrent requests than
# connections all complete; a request that cannot get a connection in time
# is 503; a query past its timeout is 503; a client that goes away mid-query
# leaves the connection reusable.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): locks prefs_user, which every other suite's
#   requests read
use strict;
use warnings;
use Test::More;
use IO::Handle;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

# An authenticated GET Users costs one query once the credential is cached.
my $client = make_account('pool');
my $secret = make_user($client, 'ops', 'Administrators');
my $path = "/Profiles/v4/$client/Users";
sub auth { { Authorization => pnauth($client, 'ops', $secret) } }

sub status_of { my ($ng) = @_;
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    return eval { decode_json($b) } || {};
}

# Holds an exclusive lock on prefs_user, so listing users waits.
sub lock_accounts {
    open(my $fh, '|-', 'psql', '-X', '-q', '-d', db()) or die "psql: $!";
    $fh->autoflush(1);
    print $fh "BEGIN; LOCK TABLE prefs_user IN ACCESS EXCLUSIVE MODE;\n";
    wait_until(sub { psql_value("SELECT count(*) FROM pg_locks WHERE relation = 'prefs_user'::regclass"
        . " AND mode = 'AccessExclusiveLock' AND granted") == 1 }, 5) or die "no lock";
    return $fh;
}

sub unlock_accounts { my ($fh) = @_; print $fh "ROLLBACK;\n\\q\n"; close $fh; }

# 1. many clients, few connections
{
    my $ng = PrefsTest::start_nginx(name => 'pool', workers => 1,
        http_config => 'prefs_db_connections 2;');
    my @socks = map { $ng->request(path => $path, headers => auth(), no_wait => 1) } 1 .. 40;
    my %codes;
    for my $s (@socks) {
        my ($st) = PrefsTest::read_response($s, 10);
        $codes{$st}++;
    }
    is_deeply(\%codes, { 200 => 40 }, '40 concurrent requests over 2 connections all completed');
    my $st = status_of($ng);
    my $w = $st->{Workers}[0] || {};
    cmp_ok($w->{Connections}{Open} // 99, '<=', 2, 'no more connections than the pool size were opened');
    is($w->{Rejected}, 0, 'none was rejected');
    $ng->stop;
}

# 2. the wait bound and the query timeout
{
    my $ng = PrefsTest::start_nginx(name => 'pool', workers => 1,
        http_config => 'prefs_db_connections 1; prefs_db_wait_timeout 300ms; prefs_db_query_timeout 1500ms;');
    my ($st) = $ng->request(path => $path, headers => auth());
    is($st, 200, 'the single connection is open');

    my $lock = lock_accounts();
    my $t0 = time;
    my $first = $ng->request(path => $path, headers => auth(), no_wait => 1);
    sleep 0.1;
    my ($st2, $h2, $b2) = $ng->request(path => $path, headers => auth());
    my $took2 = time - $t0;
    is($st2, 503, 'a request that gets no connection within the wait bound is 503');
    like(eval { decode_json($b2)->{Message} } // '', qr/busy/, 'saying the connections are busy');
    is($h2->{'retry-after'}, '1', 'with Retry-After');
    cmp_ok($took2, '<', 1.2, 'after about the wait bound');

    my ($st1, $h1, $b1) = PrefsTest::read_response($first, 5);
    my $took1 = time - $t0;
    is($st1, 503, 'a query past its timeout is 503');
    like(eval { decode_json($b1)->{Message} } // '', qr/timed out/, 'saying it timed out');
    cmp_ok($took1, '>=', 1.4, 'not before the query timeout');
    cmp_ok($took1, '<', 3, 'nor long after it');
    unlock_accounts($lock);

    ($st) = $ng->request(path => $path, headers => auth());
    is($st, 200, 'the pool serves again once the lock is gone');
    like($ng->error_log, qr/query prefs_users_list timed out/, 'the timeout was logged');
    $ng->stop;
}

# 3. a client that disconnects mid-query
{
    my $ng = PrefsTest::start_nginx(name => 'pool', workers => 1,
        http_config => 'prefs_db_connections 1;');
    my ($st) = $ng->request(path => $path, headers => auth());
    is($st, 200, 'the single connection is open');

    my $lock = lock_accounts();
    my $sock = $ng->request(path => $path, headers => auth(), no_wait => 1);
    sleep 0.2;
    close $sock;
    ok(wait_until(sub { $ng->error_log =~ /client prematurely closed connection, its database query is dropped/ }, 3),
       'nginx noticed the client went away');
    unlock_accounts($lock);

    ($st) = $ng->request(path => $path, headers => auth());
    is($st, 200, 'the next request is served');
    my $w = status_of($ng)->{Workers}[0] || {};
    is($w->{Connections}{Open}, 1, 'on the same single connection, not wedged');
    is($w->{ConnectFailures}, 0, 'without reconnecting');
    $ng->stop;
}

done_testing();
