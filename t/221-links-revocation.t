# Links are verified in the worker without a query, and revoking links
# reaches every worker of every nginx within a second (issue 15): links are verified from each worker's copy of the account's
# link state, which the prefs_config notification of a revocation makes
# stale, as it does configuration snapshots.  Two nginx (two workers, one
# worker) on the same database: a profile's revocation, then an account's;
# a link made after a revocation works at once everywhere.  The single
# requests are t/220-links.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $http = 'prefs_auth_failure_delay 0;';
my $ng = PrefsTest::start_nginx(name => 'links', workers => 2, http_config => $http);
my $ng2 = PrefsTest::start_nginx(name => 'links2', workers => 1, http_config => $http);

my $acme = make_account('links');
my $secret = make_user($acme, 'admin', 'Administrators');
api_config_import($acme);

sub call {
    my ($srv, $method, $path, %o) = @_;
    my %h = $o{link} ? (Authorization => "Bearer $o{link}")
                     : (Authorization => pnauth($acme, 'admin', $secret));
    $h{'Content-Type'} = 'application/json' if defined $o{body};
    my ($st, $hd, $b) = $srv->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                      body => defined $o{body} ? encode_json($o{body}) : undef);
    return ($st, eval { decode_json($b) }, $b);
}

my ($st, $j, $raw) = call($ng, 'POST', 'Profile', body => {
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
    Emails => [ { EmailAddress => 'r@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ] });
is($st, 201, 'a profile') or diag $raw;
my $pid = $j->{ProfileId};

sub make_link {
    my ($st, $j, $raw) = call($ng, 'POST', "Profile/$pid/Links", body => { Scopes => ['preferences:read'] });
    is($st, 201, 'a link') or diag $raw;
    return $j->{Token};
}

# every worker of both nginx: several connections each (a new one each
# request, so the listening workers share them)
sub statuses {
    my ($link) = @_;
    my %seen;
    for my $srv ($ng, $ng2) {
        for (1 .. 8) {
            my ($st) = call($srv, 'GET', "Profile/$pid/Preferences", link => $link);
            $seen{$st}++;
        }
    }
    return join ',', sort keys %seen;
}

# how long until every worker refuses the link, in seconds (undef: never
# within 5 s), to when the check that saw it began (PrefsTest::seen_after)
sub refused_after {
    my ($link, $t0) = @_;
    return seen_after($t0, sub { statuses($link) eq '401' }, 5);
}

my $link = make_link();
is(statuses($link), '200', 'the link is served by every worker of both nginx');

# --- no query to verify a link -------------------------------------------------------
#
# Configuration/Preference is answered from the worker's snapshot: once the
# workers know the account, a request with a link sends no query at all.
# The workers copy their counters to the status each second; the status
# request itself runs one statement.

sub queries {
    my ($srv) = @_;
    sleep 1.2;
    my (undef, undef, $b) = $srv->request(path => '/prefs/status');
    my $n = 0;
    $n += $_->{Queries} for @{ (eval { decode_json($b) } || {})->{Workers} || [] };
    return $n;
}

#
# Other suites share the database, and their writes can make a worker reload
# a snapshot now and then (one query, whatever the link requests do).  A
# link verified by a query would cost 40 queries in every window, so the
# quietest of up to three windows counts.
for (1 .. 8) { call($ng, 'GET', 'Configuration/Preference', link => $link) }
my %got;
my $fewest = fewest(sub {
    my $q0 = queries($ng);
    $got{ (call($ng, 'GET', 'Configuration/Preference', link => $link))[0] }++ for 1 .. 40;
    return queries($ng) - $q0;
}, 1, 'queries for 40 link requests');
is(join(',', keys %got), '200', '40 requests with the link, in each window');
cmp_ok($fewest, '<=', 1, "and no query but the status's own ($fewest)");

# --- a profile's links -------------------------------------------------------------

my $t0 = time;
($st) = call($ng2, 'DELETE', "Profile/$pid/Links");
is($st, 204, "DELETE Profile/{id}/Links");
my $took = refused_after($link, $t0);
ok(defined $took && $took < 1.2, 'every worker refuses the profile\'s link within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';
note sprintf 'profile revocation seen everywhere after %.3f s', $took // -1;

my $again = make_link();
is(statuses($again), '200', 'a link made since is served at once everywhere');

# --- an account's links ---------------------------------------------------------------

$t0 = time;
($st) = call($ng, 'DELETE', 'Links');
is($st, 204, 'DELETE Links');
$took = refused_after($again, $t0);
ok(defined $took && $took < 1.2, 'every worker refuses the account\'s links within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';
note sprintf 'account revocation seen everywhere after %.3f s', $took // -1;
is(statuses(make_link()), '200', 'a link made since is served at once everywhere');

# --- prefsctl link revoke --------------------------------------------------------------

my $third = make_link();
is(statuses($third), '200', 'a new link is served everywhere');
my ($rc, $out) = prefsctl('link', 'revoke', $acme, $pid);
is($rc, 0, 'prefsctl link revoke CLIENTID PROFILEID') or diag $out;
like($out, qr/"Revoked" *: *"Profile"/, 'says what it revoked');
$took = refused_after($third, time);
ok(defined $took && $took < 1.2, 'every worker refuses the link within a second');
($rc, $out) = prefsctl('link', 'revoke', $acme, '999999999');
is($rc, 1, 'an unknown profile: exit 1');
like($out, qr/profile 999999999 not found/, 'saying so');
($rc, $out) = prefsctl('link', 'revoke', $acme, '0x1');
is($rc, 1, 'a ProfileId that is no number: exit 1');
($rc, $out) = prefsctl('link', 'revoke', $acme);
is($rc, 0, 'prefsctl link revoke CLIENTID: the whole account') or diag $out;
like($out, qr/"Revoked" *: *"Account"/, 'says so');

# --- key rotation ------------------------------------------------------------------------
#
# A link of the key made by a rotation is served at once by every worker
# (each knows the new key), the key before keeps working, and the next
# rotation retires it everywhere within a second.

my $before = make_link();
is(statuses($before), '200', 'a link of the current key is served everywhere');
($st, $j, $raw) = call($ng2, 'POST', 'Links/Key');
is($st, 201, 'POST Links/Key') or diag $raw;
my $rotated = make_link();
is(statuses($rotated), '200', 'a link of the new key is served at once by every worker');
is(statuses($before), '200', 'and the link of the key before still is');
$t0 = time;
($st, $j, $raw) = call($ng, 'POST', 'Links/Key');
is($st, 201, 'POST Links/Key again') or diag $raw;
$took = refused_after($before, $t0);
ok(defined $took && $took < 1.2, 'every worker refuses the links of the retired key within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';
note sprintf 'key retirement seen everywhere after %.3f s', $took // -1;
is(statuses($rotated), '200', 'the key before the newest still works everywhere');
($rc, $out) = prefsctl('link', 'rotate', $acme);
is($rc, 0, 'prefsctl link rotate') or diag $out;
like($out, qr/"KeyId" *: *\d+/, 'says the new key');
$took = refused_after($rotated, time);
ok(defined $took && $took < 1.2, 'and every worker refuses the key it retired within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s: ' . statuses($rotated) . ' ' . PrefsTest::psql("SELECT string_agg(key_id::text, ',') FROM prefs_link_key k JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme);
($rc, $out) = prefsctl('link', 'rotate', 'NoSuchAccount');
is($rc, 1, 'prefsctl link rotate: an unknown account is exit 1');
like($out, qr/account NoSuchAccount not found/, 'saying so');
($rc, $out) = prefsctl('link', 'rotate');
is($rc, 1, 'prefsctl link rotate without a ClientId: exit 1');

# --- CORS origins of the account ------------------------------------------------------------

sub preflights {
    my ($origin) = @_;
    my %seen;
    for my $srv ($ng, $ng2) {
        for (1 .. 8) {
            my ($st) = $srv->request(method => 'OPTIONS', path => "/Profiles/v4/$acme/Profile/$pid/Preferences",
                                     headers => { Origin => $origin, 'Access-Control-Request-Method' => 'POST' });
            $seen{$st}++;
        }
    }
    return join ',', sort keys %seen;
}

is(preflights('https://pages.example'), '403', 'an origin the account has not named: 403 everywhere');
$t0 = time;
($st, $j, $raw) = call($ng2, 'PUT', 'Links/Origins', body => { Origins => ['https://pages.example'] });
is($st, 200, 'PUT Links/Origins') or diag $raw;
$took = seen_after($t0, sub { preflights('https://pages.example') eq '204' }, 5);
ok(defined $took && $took < 1.2, 'every worker answers its preflights within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';
note sprintf 'origins seen everywhere after %.3f s', $took // -1;
($rc, $out) = prefsctl('link', 'origins', $acme, '--clear');
is($rc, 0, 'prefsctl link origins --clear') or diag $out;
$t0 = time;
$took = seen_after($t0, sub { preflights('https://pages.example') eq '403' }, 5);
ok(defined $took && $took < 1.2, 'and every worker refuses the origin again within a second');
($rc, $out) = prefsctl('link', 'origins', $acme, '--set', 'https://pages.example', 'HTTP://LOCALHOST:8080');
is($rc, 0, 'prefsctl link origins --set') or diag $out;
like($out, qr/"Origins" *: *\["http:\/\/localhost:8080", "https:\/\/pages\.example"\]/, 'says the origins, lowercased');
ok(wait_until(sub { preflights('http://localhost:8080') eq '204' }, 5), 'and every worker answers their preflights');
($rc, $out) = prefsctl('link', 'origins', $acme, '--clear');
like($out, qr/"Origins" *: *\[\]/, '--clear removes them all') or diag $out;
for my $bad ([ 'https://pages.example/x' ], [ 'javascript:alert(1)' ], [ "https://a.example\nhttps://b.example" ]) {
    ($rc, $out) = prefsctl('link', 'origins', $acme, '--set', @$bad);
    is($rc, 1, "prefsctl link origins refuses '$bad->[0]'") or diag $out;
}
($rc, $out) = prefsctl('link', 'origins', $acme);
like($out, qr/"Origins" *: *\[\]/, 'and changed nothing');

# --- prefsctl link create ----------------------------------------------------------------

($rc, $out) = prefsctl('link', 'create', $acme, $pid, '--scope', 'preferences:read');
is($rc, 0, 'prefsctl link create') or diag $out;
my $made = eval { decode_json($out) } || {};
is(statuses($made->{Token} // 'none'), '200', 'its link is served by every worker');
($rc, $out) = prefsctl('link', 'create', $acme, '999999999');
is($rc, 1, 'an unknown profile: exit 1');
like($out, qr/profile 999999999 not found/, 'saying so');
($rc, $out) = prefsctl('link', 'create', 'NoSuchAccount', $pid);
is($rc, 1, 'an unknown account: exit 1');
for my $bad ([ '--scope', 'admin' ], [ '--scope', 'unsubscribe:' ], [ '--scope', 'preferences:read,edge' ],
             [ '--lifetime', 59 ], [ '--lifetime', 7776001 ], [ '--user', 'nobody' ],
             [ '--page', 'javascript:alert(1)' ], [ '--api', 'https://api.example/v4#x' ]) {
    my $keys = PrefsTest::psql_value("SELECT string_agg(key_id::text, ',') FROM prefs_link_key k JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme);
    ($rc, $out) = prefsctl('link', 'create', $acme, $pid, @$bad);
    is($rc, 1, "prefsctl link create refuses @$bad") or diag $out;
    is(PrefsTest::psql_value("SELECT string_agg(key_id::text, ',') FROM prefs_link_key k JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme),
       $keys, '... and changes nothing');
}

unlike($ng->error_log . $ng2->error_log, qr/\[(error|alert|crit|emerg)\]/, 'no error logged');

done_testing;
