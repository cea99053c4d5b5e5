# Consent at the edge with the database away (issue 17; docs/edge.md): what
# a worker keeps of a visitor serves for prefs_edge_stale_time after it was
# read, then the visitor is unknown and prefs_edge_unknown decides; no
# request fails for it, and the visitor is known again once the database
# is back.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): stops the database every suite shares
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $acme = make_account('edgedown');
my $secret = make_user($acme, 'admin', 'Administrators');
api_config_import($acme);

my $conf = <<"CONF";
location /echo { return 200 "\$http_x_marketing"; }
location /app {
    prefs_edge $acme \$cookie_prefs;
    prefs_edge_unknown deny;
    prefs_require_consent Marketing;
    proxy_set_header X-Marketing \$prefs_consent_Marketing;
    proxy_pass http://127.0.0.1:\$server_port/echo;
}
CONF
my $ng = PrefsTest::start_nginx(name => 'edge-down', workers => 1, config => $conf,
    http_config => 'prefs_edge_stale_time 4s; prefs_db_connect_timeout 1s;');

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json');
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                     body => defined $body ? encode_json($body) : undef);
    return ($st, eval { decode_json($b) }, $b);
}

my ($st, $j, $raw) = call('POST', 'Profile', {
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
    Emails => [ { EmailAddress => 'down@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ] });
is($st, 201, 'a profile') or diag $raw;
my $pid = $j->{ProfileId};
($st, undef, $raw) = call('POST', "Consents/$pid",
    [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1, Locale => 'en-US' } ]);
ok($st =~ /^20/, 'Marketing granted') or diag $raw;
($st, $j, $raw) = call('POST', "Profile/$pid/Links", { Scopes => ['edge'] });
is($st, 201, 'an edge token') or diag $raw;
my $tok = $j->{Token};

sub visit {
    my ($st, undef, $b) = $ng->request(path => '/app', headers => { Cookie => "prefs=$tok" });
    return "$st $b";
}

is(visit(), '200 Granted', 'the visitor is let through');
my $read = time;

pg_stop();

my $t = time;
is(visit(), '200 Granted', 'the database away: the kept state serves');
cmp_ok(time - $t, '<', 1.5, 'without waiting for the database');
sleep 1.2;
is(visit(), '200 Granted', 'still after the worker tried the database (the state is no longer current)');

sleep 4.2 - (time - $read) if time - $read < 4.2;
my $late = visit();
like($late, qr/^403 \{"Message":"This requires a known visitor"\}/,
     'past prefs_edge_stale_time: an unknown visitor, denied by prefs_edge_unknown');

pg_start();

ok(wait_until(sub { visit() eq '200 Granted' }, 15), 'known again once the database is back');

my $log = $ng->error_log;
like($log, qr/prefs edge: the database did not answer: profile $pid as kept \d+ ms ago/, 'the stale answer is logged');
like($log, qr/nothing recent is kept of profile $pid: unknown visitor/, 'and the fallback');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'nothing worse than an error was logged');
$ng->stop;

done_testing();
