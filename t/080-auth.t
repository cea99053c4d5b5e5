# Authentication and authorization through HTTP, as a client sees them:
# PNAUTHINFO3 (the contract's vector, each 401, clock edges, rotation,
# deactivation after the cache time, throttling), OAuth client credentials
# (each RFC 6749 error, tokens that expire or die with their user), and the
# permission every route checks.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MIME::Base64;
use Digest::SHA qw(sha256_hex);
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';

my $ng = PrefsTest::start_nginx(name => 'auth', port => 1994, workers => 2,
    http_config => join(' ',
        'prefs_auth_cache_time 1s;',
        'prefs_auth_max_failures 4;',
        'prefs_auth_failure_window 3s;',
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

sub ts { strftime('%Y-%m-%dT%H:%M:%S', gmtime(time + ($_[0] // 0))) }

# --- the contract's test vector, served for real -------------------------

{
    my $client = 'SanchezAssociates' . $$;
    psql("INSERT INTO prefs_account (client_id) VALUES (:'c')", c => $client);
    my $uid = psql_value("INSERT INTO prefs_user (account_id, user_name)"
        . " SELECT account_id, 'RickSanchez' FROM prefs_account WHERE client_id = :'c'"
        . " RETURNING user_id", c => $client);
    psql("INSERT INTO prefs_user_group_member SELECT :'u', group_id FROM prefs_user_group"
        . " WHERE name = 'Administrators' AND account_id IS NULL", u => $uid);
    my $sealed = `echo example-secret-key | '$top/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`;
    chomp $sealed;
    psql("SELECT prefs_user_secret_add(:'u', :'s', 2)", u => $uid, s => $sealed);
    unlike(psql_value("SELECT string_agg(sealed, ',') FROM prefs_user_secret WHERE user_id = :'u'", u => $uid),
           qr/example-secret-key/, 'the secret is stored sealed');

    # the vector itself: its signature is what the contract says
    my $vec = pnauth('SanchezAssociates', 'RickSanchez', 'example-secret-key', ts => '2015-08-10T20:11:00');
    like($vec, qr{Signature=aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED\+reLuY0=$}, 'the test vector signs as the contract says');

    my ($st, $h, $j) = get_users($client, pnauth($client, 'RickSanchez', 'example-secret-key'));
    is($st, 200, 'a request signed the vector\'s way with a fresh timestamp is served');
    is($j->{Users}[0]{UserName}, 'RickSanchez', 'with the account\'s users');

    for my $alg (qw(SHA384 SHA512)) {
        ($st) = get_users($client, pnauth($client, 'RickSanchez', 'example-secret-key', alg => $alg));
        is($st, 200, "PNAUTHINFO3-HMAC-$alg is accepted");
    }

    (my $lower = pnauth($client, 'RickSanchez', 'example-secret-key')) =~ s/^PNAUTHINFO3-HMAC-SHA256/pnauthinfo3-hmac-sha256/;
    ($st) = get_users($client, $lower);
    is($st, 200, 'the scheme name is case-insensitive');

    ($st, $h, $j) = get_users($client, pnauth($client, 'RickSanchez', 'example-secret-key', ts => '2015-08-10T20:11:00'));
    is($st, 401, 'the vector\'s own 2015 timestamp is too old today');
    is($j->{Message}, 'The difference between the issued timestamp and the current time is too large', 'saying so');
}

# --- a steady stream of signed requests costs no query to authenticate -------

{
    my $client = make_account('steady');
    my $s = make_user($client, 'admin', 'Administrators');
    my $steady = PrefsTest::start_nginx(name => 'steady', port => 1999, workers => 2,
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
    my $before = $queries->();
    my @codes = map { $get->() } 1 .. 20;
    is_deeply([ sort { $a <=> $b } keys %{{ map { $_ => 1 } @codes }} ], [200], '20 signed requests served');
    my $after = $queries->();
    # 20 listings, 1 status, and at most one authentication per worker
    # that the warm-up happened to miss; 41 or more would mean one per request
    my $delta = $after - $before;
    ok($delta >= 21 && $delta <= 23, "20 listings cost $delta queries with the status: none per request to authenticate");
    $steady->stop;
}

# --- each 401 --------------------------------------------------------------

my $acme = make_account('acme');
my $admin = make_user($acme, 'admin', 'Administrators');
my $other = make_account('other');
my $intruder = make_user($other, 'intruder', 'Administrators');

my @cases = (
    [ 'no header', undef, 'Missing Authorization Header' ],
    [ 'an empty header', '', 'Missing Authorization Header' ],
    [ 'Basic credentials', 'Basic ' . encode_base64('admin:x', ''), 'The scheme is invalid' ],
    [ 'the un-keyed scheme', 'PNAUTHINFO3-SHA256 Credential=admin/' . ts() . ' Signature=abcd', 'The scheme is invalid' ],
    [ 'an unknown algorithm', 'PNAUTHINFO3-HMAC-MD5 Credential=admin/' . ts() . ' Signature=abcd', 'The scheme is invalid' ],
    [ 'a date that is not ISO 8601', 'PNAUTHINFO3-HMAC-SHA256 Credential=admin/29-11-2026 Signature=' . ('A' x 43) . '=', 'The specified date does not match an expected ISO 8601 format' ],
    [ 'no Signature', 'PNAUTHINFO3-HMAC-SHA256 Credential=admin/' . ts(), 'Unable to authenticate request' ],
    [ 'no Credential', 'PNAUTHINFO3-HMAC-SHA256 Signature=' . ('A' x 43) . '=', 'Unable to authenticate request' ],
    [ 'bad base64', 'PNAUTHINFO3-HMAC-SHA256 Credential=admin/' . ts() . ' Signature=!!!notbase64!!!', 'Unable to authenticate request' ],
    [ 'a huge header', 'PNAUTHINFO3-HMAC-SHA256 Credential=' . ('a' x 5000) . '/' . ts() . ' Signature=AAAA', 'Unable to authenticate request' ],
    [ 'a wrong signature', pnauth($acme, 'admin', 'not-the-secret'), 'Unable to authenticate request' ],
    [ 'an unknown user', pnauth($acme, 'nobody', $admin), 'Unable to authenticate request' ],
    [ 'a timestamp 16 minutes old', pnauth($acme, 'admin', $admin, skew => -16 * 60), 'The difference between the issued timestamp and the current time is too large' ],
    [ 'a timestamp 2 minutes ahead', pnauth($acme, 'admin', $admin, skew => 120), 'The difference between the issued timestamp and the current time is too large' ],
    [ 'another account\'s user', pnauth($acme, 'intruder', $intruder), 'Unable to authenticate request' ],
    [ 'another account\'s user signing for its own account', pnauth($other, 'intruder', $intruder), 'Unable to authenticate request' ],
    [ 'a bearer token nobody issued', 'Bearer ' . ('x' x 43), 'Unable to authenticate request' ],
);

for my $c (@cases) {
    my ($name, $auth, $msg) = @$c;
    my ($st, $h, $j, $raw) = get_users($acme, $auth);
    is($st, 401, "$name: 401");
    is($j->{Message}, $msg, "$name: \"$msg\"");
    is($h->{'www-authenticate'}, 'PNAUTHINFO3 realm="https://prefs.test"', "$name: WWW-Authenticate");
    unlike($raw, qr/intruder|Users/, "$name: nothing of the account is told");
}
# (the failures above were spread over user names, under the throttle)

# --- clock edges -------------------------------------------------------------

{
    my ($st) = get_users($acme, pnauth($acme, 'admin', $admin, skew => 55));
    is($st, 200, 'a timestamp 55 s ahead is within the skew');
    ($st) = get_users($acme, pnauth($acme, 'admin', $admin, skew => -14 * 60 - 50));
    is($st, 200, 'a timestamp 14 min 50 s old is within the window');
    ($st) = get_users($acme, pnauth($acme, 'admin', $admin, skew => -15 * 60 - 10));
    is($st, 401, 'a timestamp 15 min 10 s old is not');
    ($st) = get_users($acme, pnauth($acme, 'admin', $admin, skew => 70));
    is($st, 401, 'a timestamp 70 s ahead is not');

    my $short = make_account('short');
    my $s = make_user($short, 'admin', 'Administrators');
    psql("UPDATE prefs_account SET auth_window_seconds = 120 WHERE client_id = :'c'", c => $short);
    ($st) = get_users($short, pnauth($short, 'admin', $s, skew => -100));
    is($st, 200, 'a per-account window of 2 minutes accepts 100 s');
    ($st) = get_users($short, pnauth($short, 'admin', $s, skew => -150));
    is($st, 401, 'and refuses 150 s');
}

# --- permissions -------------------------------------------------------------

for my $group (qw(ReadOnly Integration ConfigurationManagers)) {
    my $s = make_user($acme, "user-$group", $group);
    my ($st, $h, $j) = get_users($acme, pnauth($acme, "user-$group", $s));
    is($st, 403, "$group cannot list users");
    is($j->{Message}, 'The user lacks the UserManage permission', 'the 403 names the permission');
}
{
    my $s = make_user($acme, 'nogroup');
    my ($st) = get_users($acme, pnauth($acme, 'nogroup', $s));
    is($st, 403, 'a user in no group has no permission');
}

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

{
    my $s = make_user($acme, 'target', 'Administrators');
    my @codes = map { (get_users($acme, pnauth($acme, 'target', 'wrong')))[0] } 1 .. 4;
    is_deeply(\@codes, [401, 401, 401, 401], 'four failures are 401s');
    my ($st, $h, $j) = get_users($acme, pnauth($acme, 'target', $s));
    is($st, 429, 'past the limit even the right secret is 429');
    ok($h->{'retry-after'} && $h->{'retry-after'} <= 3, "with Retry-After ($h->{'retry-after'})");
    like($j->{Message}, qr/Too many failed attempts/, 'saying why');
    ($st) = get_users($acme, pnauth($acme, 'admin', $admin));
    is($st, 200, 'another user of the account is not affected');
    ok(wait_until(sub { (get_users($acme, pnauth($acme, 'target', $s)))[0] == 200 }, 4.5),
       'the real user gets in once the window has passed');
}

# --- OAuth 2.0 client credentials --------------------------------------------------

sub token_req {
    my (%a) = @_;
    return req(method => 'POST', path => '/oauth/token',
               headers => { 'Content-Type' => 'application/x-www-form-urlencoded', %{ $a{headers} || {} } },
               body => $a{body});
}

{
    my ($s, $uid) = make_user($acme, 'integration', 'Integration', 'Administrators');
    my $key = 'ck' . sha256_hex(rand()) ;
    $key = substr($key, 0, 48);
    my $secret = 'cs' . sha256_hex(rand() . 'x');
    psql("INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id) VALUES (:'k', :'h', :'u')",
         k => $key, h => sha256_hex($secret), u => $uid);
    my $scope = "$acme/integration";

    my ($st, $h, $j) = token_req(body => "grant_type=client_credentials&client_id=$key&client_secret=$secret&scope=$scope");
    is($st, 200, 'a token is issued for credentials in the body');
    is($j->{token_type}, 'Bearer', 'token_type Bearer');
    is($j->{expires_in}, 2, 'expires_in is prefs_oauth_token_ttl');
    like($j->{access_token} // '', qr/^[A-Za-z0-9_-]{43,}$/, 'the token is at least 256 random bits');
    is($h->{'cache-control'}, 'no-store', 'Cache-Control: no-store');
    my $token = $j->{access_token};
    is(psql_value("SELECT count(*) FROM prefs_oauth_token WHERE token_hash = :'h'", h => sha256_hex($token)), 1,
       'only its hash is stored');

    ($st, $h, $j) = get_users($acme, "Bearer $token");
    is($st, 200, 'the token opens the account\'s routes');
    ($st, $h, $j) = get_users($other, "Bearer $token");
    is($st, 401, 'but not another account\'s');

    ($st, $h, $j) = token_req(headers => { Authorization => 'Basic ' . encode_base64("$key:$secret", '') },
                              body => "grant_type=client_credentials&scope=" . "$acme%2Fintegration");
    is($st, 200, 'HTTP Basic client authentication works too');

    my @errors = (
        [ 'a wrong secret', "grant_type=client_credentials&client_id=$key&client_secret=nope", 401, 'invalid_client' ],
        [ 'an unknown client', "grant_type=client_credentials&client_id=nobody1234567890&client_secret=x", 401, 'invalid_client' ],
        [ 'no credentials', "grant_type=client_credentials", 401, 'invalid_client' ],
        [ 'another grant', "grant_type=password&client_id=$key&client_secret=$secret", 400, 'unsupported_grant_type' ],
        [ 'no grant_type', "client_id=$key&client_secret=$secret", 400, 'invalid_request' ],
        [ 'a repeated parameter', "grant_type=client_credentials&grant_type=client_credentials&client_id=$key&client_secret=$secret", 400, 'invalid_request' ],
        [ 'a bad escape', "grant_type=client_credentials&client_id=%zz&client_secret=x", 400, 'invalid_request' ],
        [ 'a scope of another user', "grant_type=client_credentials&client_id=$key&client_secret=$secret&scope=$acme/admin", 400, 'invalid_scope' ],
        [ 'a scope of another account', "grant_type=client_credentials&client_id=$key&client_secret=$secret&scope=$other/integration", 400, 'invalid_scope' ],
        [ 'a malformed scope', "grant_type=client_credentials&client_id=$key&client_secret=$secret&scope=justone", 400, 'invalid_scope' ],
    );
    for my $e (@errors) {
        my ($name, $body, $code, $err) = @$e;
        ($st, $h, $j) = token_req(body => $body);
        is($st, $code, "$name: $code");
        is($j->{error}, $err, "$name: $err");
    }

    ($st, $h, $j) = token_req(headers => { Authorization => 'Basic ' . encode_base64("$key:$secret", '') },
                              body => "grant_type=client_credentials&client_id=$key&client_secret=$secret");
    is($j->{error}, 'invalid_request', 'credentials in both Basic and body: invalid_request');
    ($st, $h, $j) = token_req(headers => { Authorization => 'Basic ' . encode_base64("$key:wrong", '') },
                              body => "grant_type=client_credentials");
    is($st, 401, 'a wrong Basic secret is 401');
    like($h->{'www-authenticate'} // '', qr/^Basic realm=/, 'with a Basic challenge');
    ($st, $h, $j) = req(method => 'POST', path => '/oauth/token', headers => { 'Content-Type' => 'application/json' },
                        body => '{"grant_type":"client_credentials"}');
    is($j->{error}, 'invalid_request', 'a JSON body is invalid_request');
    ($st, $h, $j) = req(path => '/oauth/token');
    is($st, 405, 'GET is 405');

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
