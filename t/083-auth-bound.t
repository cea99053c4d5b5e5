# Request-bound signatures and once-only signatures (issue 16, finding 5):
# a captured PNAUTHINFO3 header was replayable for the whole window on any
# route.  An account may require the bound form (Binding=request: method,
# path and query, body SHA-256) and accept each signature once; both are
# set with `prefsctl account set-auth-options`, take effect at once, and an
# account without them keeps the reference scheme (and accepts the bound
# form too).  Procedural: each header is signed for, then replayed on,
# another request, and options change between requests.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $ng = PrefsTest::start_nginx(name => 'bound', workers => 2,
    http_config => 'prefs_auth_failure_delay 0; prefs_auth_cache_time 60s;');

my $acct = make_account('bound');
my $secret = make_user($acct, 'admin', 'Administrators');

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

sub call {
    my ($method, $target, $auth, $body) = @_;
    my ($st, $h, $b) = $ng->request(method => $method, path => $target, body => $body,
        headers => { Authorization => $auth,
                     (defined $body ? ('Content-Type' => 'application/json') : ()) });
    return ($st, eval { decode_json($b) } || { raw => $b });
}

sub bound {
    my ($method, $target, $body, %o) = @_;
    return pnauth($acct, 'admin', $o{secret} // $secret, ts => ts_ms(),
                  request => [$method, $target, $body // '']);
}

sub options {
    my (@args) = @_;
    my ($rc, $out) = prefsctl('account', 'set-auth-options', $acct, @args);
    is($rc, 0, "prefsctl account set-auth-options @args") or diag $out;
    return eval { decode_json($out) } || {};
}

sub users_named { psql_value("SELECT count(*) FROM prefs_user u JOIN prefs_account a USING (account_id)"
                             . " WHERE a.client_id = :'c' AND u.user_name = :'n'", c => $acct, n => $_[0]) }

my $users = "/Profiles/v4/$acct/Users";
my $new_user = '{"UserName":"made-by-replay","UserGroups":["Administrators"]}';

# --- without the options: the reference scheme, and the bound form too ----------

my ($st, $j) = call(GET => $users, pnauth($acct, 'admin', $secret));
is($st, 200, 'a reference signature is served');
($st) = call(GET => $users, bound(GET => $users));
is($st, 200, 'so is a bound one');
($st) = call(GET => "$users?x=1", bound(GET => $users));
is($st, 401, 'a bound signature for another target is refused, option or not');

# --- the attack: a header captured from a GET, replayed on a POST -------------------

my $captured = pnauth($acct, 'admin', $secret);
($st) = call(GET => $users, $captured);
is($st, 200, 'the victim\'s GET');
($st) = call(POST => $users, $captured, $new_user);
is($st, 201, 'today the reference form can be replayed on a POST (why the option exists)');
psql("UPDATE prefs_user SET user_name = 'replayed-' || user_id WHERE user_name = 'made-by-replay'");

# --- bound signatures required -----------------------------------------------------

my $o = options('--bind-request', 'on');
is_deeply([$o->{AuthBindRequest}, $o->{AuthOnce}], [JSON::PP::true, JSON::PP::false], 'prefsctl shows the options');
ok(wait_until(sub { (call(GET => $users, pnauth($acct, 'admin', $secret)))[0] == 401 }, 3),
   'the option holds at once (the workers are told)');
($st, $j) = call(GET => $users, pnauth($acct, 'admin', $secret));
is($st, 401, 'a reference signature is refused');
like($j->{Message}, qr/only request-bound signatures/, 'saying what the account needs');

my $get = bound(GET => $users);
($st) = call(GET => $users, $get);
is($st, 200, 'a bound GET is served');
($st) = call(POST => $users, $get, $new_user);
is($st, 401, 'its header replayed on a POST is refused');
is(users_named('made-by-replay'), 0, 'and nothing was created');

my $post = bound(POST => $users, $new_user);
($st) = call(POST => $users, $post, '{"UserName":"made-by-replay","UserGroups":["ReadOnly"]}');
is($st, 401, 'a bound POST with another body is refused');
($st) = call(POST => "$users?a=1", $post, $new_user);
is($st, 401, 'with another query too');
($st) = call(PUT => $users, $post, $new_user);
is($st, 401, 'with another method too');
is(users_named('made-by-replay'), 0, 'nothing was created');
($st) = call(POST => $users, $post, $new_user);
is($st, 201, 'the bound POST as signed is served');

my $del = bound(DELETE => "$users/0");
($st, $j) = call(DELETE => "$users/0", $del);
isnt($st, 401, "a bound DELETE without a body is authenticated ($st)");

# header syntax
($st, $j) = call(GET => $users, bound(GET => $users) =~ s/Binding=request/Binding=body/r);
is($st, 401, 'an unknown Binding is refused');
is($j->{Message}, 'Unable to authenticate request', 'with the contract\'s message');

# --- once-only signatures ----------------------------------------------------------

options('--once', 'on');
ok(wait_until(sub { my $a = bound(GET => $users); (call(GET => $users, $a))[0] == 200
                    && (call(GET => $users, $a))[0] == 401 }, 3),
   'with --once on, a bound header is served once');
$get = bound(GET => $users);
($st) = call(GET => $users, $get);
is($st, 200, 'the first use');
($st, $j) = call(GET => $users, $get);
is($st, 401, 'the second use is refused');
is($j->{Message}, 'This signature has already been used', 'saying why');

options('--bind-request', 'off');
ok(wait_until(sub { (call(GET => $users, pnauth($acct, 'admin', $secret, ts => ts_ms())))[0] == 200 }, 3),
   'with only --once on, a reference header is served');
my $ref = pnauth($acct, 'admin', $secret, ts => ts_ms());
($st) = call(GET => $users, $ref);
is($st, 200, 'once');
($st) = call(POST => $users, $ref, '{"UserName":"made-by-replay2","UserGroups":["Administrators"]}');
is($st, 401, 'and not again, on any route');
is(users_named('made-by-replay2'), 0, 'nothing was created');

options('--once', 'off');
ok(wait_until(sub { my $a = pnauth($acct, 'admin', $secret, ts => ts_ms());
                    (call(GET => $users, $a))[0] == 200 && (call(GET => $users, $a))[0] == 200 }, 3),
   'with both off, the reference scheme is back');

# --- prefsctl's refusals ---------------------------------------------------------------

my ($rc, $out) = prefsctl('account', 'set-auth-options', $acct, '--once', 'maybe');
is($rc, 1, 'prefsctl refuses a value other than on or off');
like($out, qr/needs on or off/, 'saying so');
($rc, $out) = prefsctl('account', 'set-auth-options', "nosuch$$", '--once', 'on');
is($rc, 1, 'and an unknown account');
($rc, $out) = prefsctl('account', 'set-auth-options', $acct, '--both', 'on');
is($rc, 1, 'and an unknown option');

unlike($ng->error_log, qr/\[(crit|alert|emerg)\]/, 'nothing critical logged');
$ng->stop;

done_testing;
