# Consent at the edge across workers and nodes (issue 17; docs/edge.md): a
# consent or opt-in changed through the API is enforced by every worker of
# two nginx on the same database within a second.  The workers keep each
# visitor's state (no query on a warm cache, counted in the status); the
# change's NOTIFY prefs_edge is relayed by each nginx's helper to its
# workers through the shared zone.  A profile of an account served at the
# edge changed by another account is untouched.  The single requests are
# t/230-edge.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $acme = make_account('edgerelay');
my $secret = make_user($acme, 'admin', 'Administrators');
api_config_import($acme);

my $conf = <<"CONF";
location /echo { return 200 "\$http_x_marketing \$http_x_news"; }
location /app {
    prefs_edge $acme \$cookie_prefs;
    prefs_require_consent Marketing;
    proxy_set_header X-Marketing \$prefs_consent_Marketing;
    proxy_set_header X-News \$prefs_optin_NewsletterEmail;
    add_header X-Pid \$pid;
    proxy_pass http://127.0.0.1:\$server_port/echo;
}
CONF
my $ng = PrefsTest::start_nginx(name => 'edge-relay', workers => 2, config => $conf);
my $ng2 = PrefsTest::start_nginx(name => 'edge-relay2', workers => 2, config => $conf);

for my $srv ($ng, $ng2) {
    ok(wait_until(sub {
        my (undef, undef, $b) = $srv->request(path => '/prefs/status');
        (eval { decode_json($b) } || {})->{Helper}{Listening};
    }, 30), 'the helper listens');
}

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                     body => defined $body ? encode_json($body) : undef);
    return ($st, eval { decode_json($b) }, $b);
}

sub profile {
    my ($email) = @_;
    my ($st, $j, $raw) = call('POST', 'Profile', {
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
        Emails => [ { EmailAddress => $email, EmailAddressType => 'Personal', IsDefault => JSON::PP::true(),
                      EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] });
    is($st, 201, "a profile $email") or diag $raw;
    return $j->{ProfileId};
}

sub consent {
    my ($pid, $status) = @_;
    my ($st, undef, $raw) = call('POST', "Consents/$pid",
        [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => $status, Locale => 'en-US' } ]);
    ok($st =~ /^20/, "Marketing $status for $pid") or diag $raw;
}

sub token {
    my ($pid) = @_;
    my ($st, $j, $raw) = call('POST', "Profile/$pid/Links", { Scopes => ['edge'] });
    is($st, 201, 'an edge token') or diag $raw;
    return $j->{Token};
}

my $pid = profile('relay@example.com');
my $peer = profile('peer@example.com');
consent($_, 1) for $pid, $peer;
my $tok = token($pid);
my $peer_tok = token($peer);

# what every worker of both nginx answers: "status body" seen, and the pids
sub answers {
    my ($token) = @_;
    my (%seen, %pids);
    for my $srv ($ng, $ng2) {
        for (1 .. 12) {
            my ($st, $h, $b) = $srv->request(path => '/app', headers => { Cookie => "prefs=$token" });
            $seen{$st == 200 ? "200 $b" : $st}++;
            $pids{ $h->{'x-pid'} // '-' }++;
        }
    }
    return (join(',', sort keys %seen), scalar keys %pids);
}

my ($seen, $npids) = answers($tok);
is($seen, '200 Granted 1', 'granted and opted in: every worker lets the visitor through');
note "$npids workers answered";

# --- a warm cache asks nothing -----------------------------------------------------

sub queries {
    my ($srv) = @_;
    sleep 1.2;
    my (undef, undef, $b) = $srv->request(path => '/prefs/status');
    my $n = 0;
    $n += $_->{Queries} for @{ (eval { decode_json($b) } || {})->{Workers} || [] };
    return $n;
}

# (the quietest of up to three windows: PrefsTest::fewest)
my $visits = fewest(sub {
    my $q0 = queries($ng);
    $ng->request(path => '/app', headers => { Cookie => "prefs=$tok" }) for 1 .. 40;
    return queries($ng) - $q0;
}, 1, 'queries for 40 visits');
cmp_ok($visits, '<=', 1, "40 visits of a known visitor, no query but the status's own ($visits)");

# --- a change through the API, everywhere within a second --------------------------

# how long after $t0 the check that saw the change everywhere began
# (PrefsTest::seen_after: the check's own requests are not counted)
sub changed_after {
    my ($token, $want, $t0) = @_;
    return seen_after($t0, sub { (answers($token))[0] eq $want }, 5);
}

my $t0 = time;
consent($pid, 3);
my $took = changed_after($tok, '403', $t0);
ok(defined $took && $took < 1.2, 'the revoked consent is enforced by every worker of both nginx within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';
note sprintf 'revocation enforced everywhere after %.3f s', $took // -1;

is((answers($peer_tok))[0], '200 Granted 1', 'another profile is untouched');

# revoking Marketing opted the visitor out of its newsletter (the consent's
# associated preferences follow it): granted again, still opted out
$t0 = time;
consent($pid, 1);
$took = changed_after($tok, '200 Granted 0', $t0);
ok(defined $took && $took < 1.2, 'granted again: every worker lets the visitor through within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s: ' . (answers($tok))[0];

$t0 = time;
my ($st, undef, $raw) = call('POST', "Profile/$pid/Preferences", { FilterId => 'NewsletterEmail', PreferenceType => 1 });
ok($st =~ /^20/, 'opted in to the newsletter again') or diag $raw;
$took = changed_after($tok, '200 Granted 1', $t0);
ok(defined $took && $took < 1.2, 'the opt-in is seen by every worker within a second')
    or diag 'took ' . ($took // 'more than 5') . ' s';

# --- revoking the visitor's links makes an unknown visitor at once ----------------

$t0 = time;
($st) = call('DELETE', "Profile/$pid/Links");
is($st, 204, 'the profile\'s links revoked');
$took = changed_after($tok, '200  ', $t0);
ok(defined $took && $took < 1.2, 'an unknown visitor everywhere within a second (allowed: prefs_edge_unknown allow)')
    or diag 'took ' . ($took // 'more than 5') . ' s';

unlike($ng->error_log . $ng2->error_log, qr/\[(error|alert|crit|emerg)\]/, 'no error logged');

done_testing;
