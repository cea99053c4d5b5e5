# Throttling of failed PNAUTHINFO3 attempts (issue 16, finding 4), which
# needs several client addresses (127.0.0.x), floods and timing, so it is
# procedural: failures are counted per source and per user from a source,
# and a correct signature is never refused for others' failures; a locked
# name is not evicted by a flood of junk names; a full zone logs no [crit]
# line per request; refusals are answered late; a source that keeps failing
# costs no query; unknown names are remembered briefly (one query, not one
# a request) and a user created since works within the documented time.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use POSIX ();
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';

# a request from a client address of our choice (all of 127/8 is local)
sub req_from {
    my ($ng, $from, %a) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ng->port,
                                     LocalAddr => $from, Timeout => 10)
        or return (0, {}, "connect: $!");
    my $body = $a{body} // '';
    my $req = ($a{method} // 'GET') . " $a{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $req .= "$_: $a{headers}{$_}\r\n" for sort keys %{ $a{headers} || {} };
    $req .= "Content-Length: " . length($body) . "\r\n" if length $body;
    print $sock "$req\r\n$body";
    return PrefsTest::read_response($sock, 10);
}

sub users_from {
    my ($ng, $from, $client, $auth) = @_;
    my ($st, $h, $b) = req_from($ng, $from, path => "/Profiles/v4/$client/Users",
                                headers => { Authorization => $auth });
    return ($st, $h, eval { decode_json($b) } || {});
}

# now, to the millisecond, and never the same twice: each signature its
# own (a request can take less than a millisecond)
my $last_ts = '';
sub ts_ms {
    my $ts;
    while (1) {
        my $t = time;
        $ts = POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime int $t) . sprintf('.%03d', ($t - int $t) * 1000);
        last if $ts ne $last_ts;
        Time::HiRes::sleep(0.0005);
    }
    return $last_ts = $ts;
}

# the queries all workers have sent (each copies its counters every second)
sub queries {
    my ($ng) = @_;
    sleep 1.2;
    my (undef, undef, $b) = $ng->request(path => '/prefs/status');
    my $n = 0;
    $n += $_->{Queries} for @{ decode_json($b)->{Workers} };
    return $n;
}

# n junk-name requests from one address, four clients at a time
sub flood {
    my ($ng, $from, $client, $n, $tag) = @_;
    my @kids;
    for my $k (0 .. 3) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            for (my $i = $k; $i < $n; $i += 4) {
                my $name = sprintf('%s-%06d-', $tag, $i) . ('j' x 100);
                users_from($ng, $from, $client, pnauth($client, $name, 'junk'));
            }
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
}

my $acctA = make_account('thrA');
my $acctB = make_account('thrB');
my $secretA = make_user($acctA, 'admin', 'Administrators');
my $secretB = make_user($acctB, 'admin', 'Administrators');

# --- anyone could lock any user out: now only their own source -------------

{
    my $ng = PrefsTest::start_nginx(name => 'throttle-owner', workers => 2,
        http_config => 'prefs_auth_max_failures 10; prefs_auth_failure_window 60s;'
                     . ' prefs_auth_failure_delay 0;');

    # ten bad signatures for acctB/admin, made with acctA's secret
    my @codes = map { (users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', $secretA)))[0] } 1 .. 10;
    is_deeply(\@codes, [(401) x 9, 429], 'ten bad signatures: nine 401s, and the tenth locks');
    my ($st, $h, $j) = users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', $secretA));
    is($st, 429, 'the name is locked for that source: a bad signature is 429');
    ok($h->{'retry-after'} && $h->{'retry-after'} <= 60, "with Retry-After ($h->{'retry-after'})");
    like($j->{Message}, qr/Too many failed attempts for this user/, 'saying why');

    ($st) = users_from($ng, '127.0.0.1', $acctB, pnauth($acctB, 'admin', $secretB));
    is($st, 200, 'the real admin, from its own address, is served');
    ($st) = users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', $secretB));
    is($st, 200, 'and a correct signature is served even from the locked source');
    ($st) = users_from($ng, '127.0.0.3', $acctB, pnauth($acctB, 'admin', $secretA));
    is($st, 401, 'a bad signature from another source is a plain 401');
    ($st) = users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', $secretA));
    is($st, 429, 'the locked source is still locked');
    unlike($ng->error_log, qr/\[(crit|alert|emerg)\]/, 'nothing critical logged');
    $ng->stop;
}

# --- refusals are answered late; successes are not ----------------------------

{
    my $ng = PrefsTest::start_nginx(name => 'throttle-delay', workers => 1,
        http_config => 'prefs_auth_failure_delay 600ms;');
    users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'admin', $secretA));    # warm
    my $t0 = time;
    my ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'admin', $secretA));
    my $ok_s = time - $t0;
    is($st, 200, 'a correct signature');
    $t0 = time;
    ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'admin', 'wrong'));
    my $bad_s = time - $t0;
    is($st, 401, 'a wrong signature');
    ok($bad_s >= 0.55, sprintf('is answered after the delay (%.2f s)', $bad_s));
    ok($ok_s < 0.5, sprintf('a correct one is not delayed (%.2f s)', $ok_s));

    # a client that goes away during the delay costs nothing and logs nothing bad
    my $sock = PrefsTest::http_request(port => $ng->port, path => "/Profiles/v4/$acctA/Users",
        headers => { Authorization => pnauth($acctA, 'admin', 'wrong') }, no_wait => 1);
    close $sock;
    sleep 0.8;
    ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'admin', $secretA));
    is($st, 200, 'the worker serves on after a client left during a delay');
    unlike($ng->error_log, qr/\[(crit|alert|emerg)\]|signal \d+/, 'no crash, nothing critical');
    $ng->stop;
}

# --- a source that keeps failing costs no query ------------------------------

{
    my $ng = PrefsTest::start_nginx(name => 'throttle-source', workers => 1,
        http_config => 'prefs_auth_source_max_failures 5; prefs_auth_max_failures 100;'
                     . ' prefs_auth_failure_delay 0; prefs_auth_cache_time 60s;');
    my ($st) = users_from($ng, '127.0.0.5', $acctA, pnauth($acctA, 'admin', $secretA));
    is($st, 200, 'the owner is served (and cached)');
    my @codes = map { (users_from($ng, '127.0.0.5', $acctA, pnauth($acctA, "junk$_", 'x')))[0] } 1 .. 5;
    is_deeply(\@codes, [(401) x 4, 429], 'five junk names from one source: the fifth locks the source');
    my ($st2, $h, $j);
    @codes = ();
    my $cost = fewest(sub {
        my $before = queries($ng);
        push @codes, map { (users_from($ng, '127.0.0.5', $acctA, pnauth($acctA, "more$_", 'x')))[0] } 1 .. 20;
        return queries($ng) - $before;
    }, 1, 'queries for 20 junk names');
    is_deeply([ sort { $a <=> $b } keys %{{ map { $_ => 1 } @codes }} ], [429], 'twenty more junk names are 429');
    ok($cost <= 1, "and cost no query ($cost: the first status request)");
    ($st2, $h, $j) = users_from($ng, '127.0.0.5', $acctA, pnauth($acctA, 'more', 'x'));
    like($j->{Message}, qr/from this address/, 'the 429 says the address is locked');
    ($st) = users_from($ng, '127.0.0.5', $acctA, pnauth($acctA, 'admin', $secretA));
    is($st, 200, 'the owner of a cached secret is still served from that source');
    ($st) = users_from($ng, '127.0.0.6', $acctA, pnauth($acctA, 'junk1', 'x'));
    is($st, 401, 'another source is not locked');

    # stale timestamps say nothing of a name, but count for the source
    @codes = map { (users_from($ng, '127.0.0.7', $acctA, pnauth($acctA, "stale$_", 'x', ts => '2020-01-01T00:00:00')))[0] } 1 .. 5;
    is_deeply(\@codes, [(401) x 5], 'five junk names with stale timestamps are 401s');
    ($st) = users_from($ng, '127.0.0.7', $acctA, pnauth($acctA, 'stale6', 'x'));
    is($st, 429, 'and lock their source: no more queries for its junk names');
    $ng->stop;
}

# --- unknown names: remembered briefly, one query, not one a request ---------

{
    my $ng = PrefsTest::start_nginx(name => 'throttle-unknown', workers => 1,
        http_config => 'prefs_auth_source_max_failures 0; prefs_auth_max_failures 0;'
                     . ' prefs_auth_failure_delay 0; prefs_auth_cache_time 60s;'
                     . ' prefs_auth_unknown_user_time 8s;');
    my @codes;
    my $cost = fewest(sub {
        my $before = queries($ng);
        push @codes, map { (users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'nosuchuser', 'x')))[0] } 1 .. 30;
        return queries($ng) - $before;
    }, 3, 'queries for 30 requests of an unknown name');
    is_deeply([ sort { $a <=> $b } keys %{{ map { $_ => 1 } @codes }} ], [401], 'thirty requests of an unknown name are 401');
    ok($cost <= 3, "and cost one query, not thirty ($cost with the first status request)");

    # created behind the module's back (no notification): within the time
    my ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'late', 'x'));
    is($st, 401, 'an unknown name is remembered');
    my $late = make_user($acctA, 'late', 'Administrators');
    my $t0 = time;
    ok(wait_until(sub { (users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'late', $late)))[0] == 200 }, 10),
       sprintf('a user created since is served within prefs_auth_unknown_user_time (%.1f s)', time - $t0));

    # created by prefsctl (POST Users alike): the workers are told at once
    ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'prompt', 'x'));
    is($st, 401, 'another unknown name is remembered');
    my ($rc, $out) = prefsctl('--key', $ENV{TEST_NGINX_PREFS_KEY}, 'user', 'create', $acctA, 'prompt',
                              '--group', 'Administrators');
    is($rc, 0, 'prefsctl user create');
    my $prompt = eval { decode_json($out)->{Secret} } // '';
    $t0 = time;
    my $served = wait_began(sub { (users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'prompt', $prompt)))[0] == 200 }, 4);
    ok($served && $served - $t0 < 4,
       sprintf('a user created through the API functions is served before the negative entry ends (%.1f s)',
               ($served // time) - $t0));
    $ng->stop;
}

# --- a flood of junk names does not lift a lock; a full zone does not flood the log

{
    my $ng = PrefsTest::start_nginx(name => 'throttle-flood', workers => 2,
        http_config => 'prefs_auth_max_failures 3; prefs_auth_source_max_failures 0;'
                     . ' prefs_auth_failure_window 600s; prefs_auth_failure_delay 0;'
                     . ' prefs_auth_unknown_user_time 1s;');
    my @codes = map { (users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', 'wrong')))[0] } 1 .. 3;
    is_deeply(\@codes, [401, 401, 429], 'acctB/admin is locked for 127.0.0.2');

    flood($ng, '127.0.0.3', $acctB, 6000, 'a');

    my ($st) = users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', 'wrong'));
    is($st, 429, 'after 6,000 junk names the lock holds');
    ($st) = users_from($ng, '127.0.0.2', $acctB, pnauth($acctB, 'admin', $secretB));
    is($st, 200, 'and the owner is served');
    my $log = $ng->error_log;
    my $crit = () = $log =~ /\[crit\]/g;
    is($crit, 0, 'no [crit] line (the slab does not log every failed allocation)');
    $ng->stop;
}

# --- a zone full of live locks: logged once a minute, once-only accounts fail closed

{
    my $once = make_account('thrOnce');
    my $secretO = make_user($once, 'admin', 'Administrators');
    psql("UPDATE prefs_account SET auth_once = true WHERE client_id = :'c'", c => $once);
    my $ng = PrefsTest::start_nginx(name => 'throttle-full', workers => 2,
        http_config => 'prefs_auth_max_failures 1; prefs_auth_source_max_failures 0;'
                     . ' prefs_auth_failure_window 600s; prefs_auth_failure_delay 0;'
                     . ' prefs_auth_unknown_user_time 1s;');
    my ($st) = users_from($ng, '127.0.0.1', $once, pnauth($once, 'admin', $secretO));
    is($st, 200, 'a once-only account is served while there is room');

    flood($ng, '127.0.0.4', $acctB, 7000, 'b');

    my $log = $ng->error_log;
    my $crit = () = $log =~ /\[crit\]/g;
    my $full = () = $log =~ /shared zone "ngx_http_prefs" is full/g;
    is($crit, 0, 'no [crit] line for a full zone');
    ok($full >= 1 && $full <= 2, "the full zone is logged once a worker ($full)");

    # the last free slots of the zone's smallest pages go first
    my (@codes, @sent, $body);
    for (1 .. 200) {
        my $auth = pnauth($once, 'admin', $secretO, ts => ts_ms());
        my ($c, undef, $b) = req_from($ng, '127.0.0.1', path => "/Profiles/v4/$once/Users",
            headers => { Authorization => $auth });
        push @codes, $c;
        push @sent, $auth;
        $body = $b;
        last if $c != 200;
    }
    is($codes[-1], 503, 'a once-only account fails closed when the replay cache has no room (after '
                        . (@codes - 1) . ' more)')
        or diag join("\n", @sent[-3 .. -1], grep { /thrOnce/ } split /^/, $ng->error_log);
    like($body, qr/replay cache is full/, 'saying why');
    my ($st2) = req_from($ng, '127.0.0.1', path => "/Profiles/v4/$once/Users",
        headers => { Authorization => pnauth($once, 'admin', $secretO, ts => ts_ms()) });
    is($st2, 503, 'and stays closed while the zone is full');
    ($st) = users_from($ng, '127.0.0.1', $acctA, pnauth($acctA, 'admin', $secretA));
    is($st, 200, 'an account without the option is served');
    $ng->stop;
}

done_testing;
