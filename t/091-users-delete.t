# DELETE Users/{id} revokes the user's credentials at once: its HMAC
# secrets, its OAuth clients and the bearer tokens they issued stop working
# within a second on every worker, however long prefs_auth_cache_time is;
# POST Users with the same name is a new user, with a new UserId and none
# of the old credentials (issue 16, finding 3).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = make_account('udelete');
my $admin = make_user($client, 'admin', 'Administrators');
my ($secret, $uid) = make_user($client, 'victim', 'Administrators');
my $key = substr('ck' . sha256_hex(rand()), 0, 48);
my $csecret = 'cs' . sha256_hex(rand() . 'x');
psql("INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id) VALUES (:'k', :'h', :'u')",
     k => $key, h => sha256_hex($csecret), u => $uid);

# two workers, credentials cached for a minute: only the revocation can
# make them stop within the second (and no throttling, no late refusals:
# every refusal here must be the revocation, and come at once)
my $ng = PrefsTest::start_nginx(name => 'users-delete', workers => 2,
    http_config => 'prefs_auth_cache_time 60s; prefs_auth_max_failures 1000;'
                 . ' prefs_auth_source_max_failures 0; prefs_auth_failure_delay 0;',
    config => 'location = /oauth/token { prefs_api oauth; }');

sub call {
    my ($auth, $method, $path, $body) = @_;
    my %h = (Authorization => $auth);
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, $hd, $raw) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path",
                                       headers => \%h, body => $body);
    return ($st, scalar eval { decode_json($raw) }, $raw);
}

sub token {
    my ($st, undef, $raw) = $ng->request(method => 'POST', path => '/oauth/token',
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
        body => "grant_type=client_credentials&client_id=$key&client_secret=$csecret&scope=$client/victim");
    return ($st, scalar eval { decode_json($raw) }, $raw);
}

# every worker has the credentials cached: 20 connections each
my ($st, $j, $raw) = token();
is($st, 200, 'the OAuth client issues a token') or diag $raw;
my $token = $j->{access_token} // '';
my %codes;
for (1 .. 20) {
    $codes{ (call(pnauth($client, 'victim', $secret), 'GET', 'Users'))[0] }++;
    $codes{ (call("Bearer $token", 'GET', 'Users'))[0] }++;
}
is_deeply(\%codes, { 200 => 40 }, 'the signature and the token work, on every worker');

($st) = call(pnauth($client, 'admin', $admin), 'DELETE', "Users/$uid");
is($st, 204, 'DELETE Users/{id}: 204');
my $t0 = time;

# within a second, every request with the old credentials is refused
my $refused = wait_began(sub {
    my %c;
    for (1 .. 10) {
        $c{ (call(pnauth($client, 'victim', $secret), 'GET', 'Users'))[0] }++;
        $c{ (call("Bearer $token", 'GET', 'Users'))[0] }++;
    }
    return ($c{401} // 0) == 20;
}, 1);
ok($refused, 'the old signature and token are refused on every worker within a second');
cmp_ok(($refused // time) - $t0, '<', 1.5, 'checked within the second (when the check that saw it began)');
%codes = ();
for (1 .. 20) {
    $codes{ (call(pnauth($client, 'victim', $secret), 'GET', 'Users'))[0] }++;
    $codes{ (call("Bearer $token", 'GET', 'Users'))[0] }++;
}
is_deeply(\%codes, { 401 => 40 }, 'and stay refused');
($st, $j) = token();
is($st, 401, 'the OAuth client issues no more tokens');
is($j->{error}, 'invalid_client', 'invalid_client');

# the database says the same
is(psql_value("SELECT count(*) FROM prefs_user_secret WHERE user_id = :'u' AND retired_at IS NULL", u => $uid),
   0, 'the secrets are retired');
is(psql_value("SELECT bool_or(is_active)::text FROM prefs_oauth_client WHERE user_id = :'u'", u => $uid),
   'false', 'the OAuth client is deactivated');
is(psql_value("SELECT count(*) FROM prefs_oauth_token WHERE user_id = :'u'", u => $uid), 0,
   'the tokens are gone');

($st, $j) = call(pnauth($client, 'admin', $admin), 'GET', "Users/$uid");
is($st, 200, 'the deleted user can still be read');
ok($j && !$j->{IsActive}, 'inactive');
($st) = call(pnauth($client, 'admin', $admin), 'PUT', "Users/$uid", '{"IsActive":true}');
is($st, 404, 'but not brought back by PUT');

# the name again: a new user
($st, $j, $raw) = call(pnauth($client, 'admin', $admin), 'POST', 'Users',
                       encode_json({ UserName => 'victim', UserGroups => ['ReadOnly'] }));
is($st, 201, 'POST Users with the deleted name: 201') or diag $raw;
my $new = $j->{UserId} // 0;
isnt($new, $uid, 'a new UserId');
is(psql_value("SELECT count(*) FROM prefs_user_secret WHERE user_id = :'u' AND retired_at IS NULL", u => $new),
   0, 'with no secret of the old one');
%codes = ();
for (1 .. 10) {
    $codes{ (call(pnauth($client, 'victim', $secret), 'GET', 'Users'))[0] }++;
    $codes{ (call("Bearer $token", 'GET', 'Users'))[0] }++;
}
is_deeply(\%codes, { 401 => 20 }, 'the old signature and token do not open the new user');
($st) = token();
is($st, 401, 'nor does the old OAuth client');
($st) = call(pnauth($client, 'admin', $admin), 'POST', 'Users', encode_json({ UserName => 'victim' }));
is($st, 409, 'the new user holds the name');

# a new secret for the new user works at once
my $nsecret = do {
    my ($s, $sealed) = split ' ', `'@{[PrefsTest::top()]}/build/prefs-secret' new '$ENV{TEST_NGINX_PREFS_KEY}'`;
    psql("SELECT prefs_user_secret_add(:'id', :'s', 2)", id => $new, s => $sealed);
    $s;
};
($st) = call(pnauth($client, 'victim', $nsecret), 'GET', 'Users');
is($st, 403, 'the new user\'s own secret authenticates it, with its own groups (ReadOnly: no UserManage)');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;
done_testing();
