# Authentication over time and across requests, which blocks cannot
# express: a steady stream of signed requests costs no query to
# authenticate; deactivation and rotation take effect within the auth cache
# time; repeated failures are throttled for a window; an issued OAuth token
# opens its account's routes, expires, and dies with its user.  The single
# requests are t/080-auth.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';

my $ng = PrefsTest::start_nginx(name => 'auth', workers => 2,
    http_config => join(' ',
        'prefs_auth_cache_time 1s;',
        'prefs_auth_max_failures 4;',
        'prefs_auth_failure_window 3s;',
        'prefs_auth_failure_delay 0;',
        'prefs_oauth_token_ttl 2s;',
        'prefs_auth_realm "https://prefs.test";'),
    config => 'location = /oauth/token { prefs_api oauth; }');

sub req {
    my (%a) = @_;
    my ($st, $h, $b) = $ng->request(%a);
    my $j = eval { decode_json($b) };
    return ($st, $h, $j, $b);
}

sub get_users {
    my ($client, $auth) = @_;
    return req(path => "/Profiles/v4/$client/Users",
               headers => defined $auth ? { Authorization => $auth } : {});
}

# --- a steady stream of signed requests costs no query to authenticate -------

{
    my $client = make_account('steady');
    my $s = make_user($client, 'admin', 'Administrators');
    my $steady = PrefsTest::start_nginx(name => 'steady', workers => 2,
                                        http_config => 'prefs_auth_cache_time 60s;');
    my $get = sub { my ($st) = $steady->request(path => "/Profiles/v4/$client/Users",
                        headers => { Authorization => pnauth($client, 'admin', $s) }); $st };
    my $queries = sub {
        sleep 1.2;    # every worker copies its counters each second
        my (undef, undef, $b) = $steady->request(path => '/prefs/status');
        my $j = decode_json($b);
        my $n = 0;
        $n += $_->{Queries} for @{ $j->{Workers} };
        return $n;
    };
    $get->() for 1 .. 20;    # warm both workers, most likely
    # 20 listings, 1 status, and at most one authentication per worker
    # that the warm-up happened to miss; 41 or more would mean one per
    # request (the quietest of up to three windows: PrefsTest::fewest)
    my @codes;
    my $delta = fewest(sub {
        my $before = $queries->();
        push @codes, map { $get->() } 1 .. 20;
        return $queries->() - $before;
    }, 23, 'queries for 20 listings and a status');
    is_deeply([ sort { $a <=> $b } keys %{{ map { $_ => 1 } @codes }} ], [200], 'the signed requests served');
    ok($delta >= 21 && $delta <= 23, "20 listings cost $delta queries with the status: none per request to authenticate");
    $steady->stop;
}

my $acme = make_account('acme');
my $admin = make_user($acme, 'admin', 'Administrators');
my $other = make_account('other');

# --- deactivation and rotation take effect within the cache time --------------

{
    my ($s, $uid) = make_user($acme, 'leaver', 'Administrators');
    my ($st) = get_users($acme, pnauth($acme, 'leaver', $s));
    is($st, 200, 'an active user is served');
    psql("UPDATE prefs_user SET is_active = false WHERE user_id = :'u'", u => $uid);
    ok(wait_until(sub { (get_users($acme, pnauth($acme, 'leaver', $s)))[0] == 401 }, 1.8),
       'a deactivated user is refused within the cache time (1 s)');

    my ($old, $ruid) = make_user($acme, 'rotator', 'Administrators');
    ($st) = get_users($acme, pnauth($acme, 'rotator', $old));
    is($st, 200, 'the first secret works');
    my ($new, $sealed) = split ' ', `'$top/build/prefs-secret' new '$ENV{TEST_NGINX_PREFS_KEY}'`;
    psql("SELECT prefs_user_secret_add(:'u', :'s', 2)", u => $ruid, s => $sealed);
    ok(wait_until(sub { (get_users($acme, pnauth($acme, 'rotator', $new)))[0] == 200 }, 1.8),
       'after rotation the new secret works');
    ($st) = get_users($acme, pnauth($acme, 'rotator', $old));
    is($st, 200, 'and so does the old one, while both are live');
    psql("UPDATE prefs_user_secret SET retired_at = now() WHERE user_id = :'u' AND sealed <> :'s'",
         u => $ruid, s => $sealed);
    ok(wait_until(sub { (get_users($acme, pnauth($acme, 'rotator', $old)))[0] == 401 }, 1.8),
       'once retired, the old secret stops within the cache time');
    ($st) = get_users($acme, pnauth($acme, 'rotator', $new));
    is($st, 200, 'the new one still works');
}

# --- throttling of repeated failures --------------------------------------------
# (by source and by user from a source; the owner of the secret is never
# refused: t/082-auth-throttle.t)

{
    my $s = make_user($acme, 'target', 'Administrators');
    my @codes = map { (get_users($acme, pnauth($acme, 'target', 'wrong')))[0] } 1 .. 4;
    is_deeply(\@codes, [401, 401, 401, 429], 'three failures are 401s, the fourth locks the name for this source');
    my ($st, $h, $j) = get_users($acme, pnauth($acme, 'target', 'wrong'));
    is($st, 429, 'past the limit a wrong secret is 429');
    ok($h->{'retry-after'} && $h->{'retry-after'} <= 3, "with Retry-After ($h->{'retry-after'})");
    like($j->{Message}, qr/Too many failed attempts/, 'saying why');
    ($st) = get_users($acme, pnauth($acme, 'target', $s));
    is($st, 200, 'the right secret is never refused');
    ($st) = get_users($acme, pnauth($acme, 'admin', $admin));
    is($st, 200, 'another user of the account is not affected');
    ok(wait_until(sub { (get_users($acme, pnauth($acme, 'target', 'wrong')))[0] == 401 }, 4.5),
       'once the window has passed a wrong secret is 401 again');
}

# --- OAuth 2.0 tokens in use -------------------------------------------------------

sub token_req {
    my (%a) = @_;
    return req(method => 'POST', path => '/oauth/token',
               headers => { 'Content-Type' => 'application/x-www-form-urlencoded' }, body => $a{body});
}

{
    my ($s, $uid) = make_user($acme, 'integration', 'Integration', 'Administrators');
    my $key = substr('ck' . sha256_hex(rand()), 0, 48);
    my $secret = 'cs' . sha256_hex(rand() . 'x');
    psql("INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id) VALUES (:'k', :'h', :'u')",
         k => $key, h => sha256_hex($secret), u => $uid);

    my ($st, $h, $j) = token_req(body => "grant_type=client_credentials&client_id=$key&client_secret=$secret"
                                         . "&scope=$acme/integration");
    is($st, 200, 'a token is issued');
    my $token = $j->{access_token};
    ($st) = get_users($acme, "Bearer $token");
    is($st, 200, 'the token opens the account\'s routes');
    ($st) = get_users($other, "Bearer $token");
    is($st, 401, 'but not another account\'s');

    ok(wait_until(sub { (get_users($acme, "Bearer $token"))[0] == 401 }, 4), 'the token expires (2 s here)');

    ($st, $h, $j) = token_req(body => "grant_type=client_credentials&client_id=$key&client_secret=$secret");
    my $t2 = $j->{access_token};
    ($st) = get_users($acme, "Bearer $t2");
    is($st, 200, 'a new token works');
    psql("UPDATE prefs_user SET is_active = false WHERE user_id = :'u'", u => $uid);
    ok(wait_until(sub { (get_users($acme, "Bearer $t2"))[0] == 401 }, 1.8), 'it dies with its user within the cache time');
    ($st, $h, $j) = token_req(body => "grant_type=client_credentials&client_id=$key&client_secret=$secret");
    is($j->{error}, 'invalid_client', 'and a deactivated user gets no new token');
}

my @bad = grep { /\[(alert|crit|emerg)\]/ || /\[error\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged for any of it');
$ng->stop;

done_testing();
