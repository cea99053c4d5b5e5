# Consent at the edge: the cache of visitors is bounded by
# prefs_edge_cache_size and drops the least recently seen first (issue 17;
# docs/edge.md).  One worker keeping two visitors: the queries it sends, as
# its status counts them, are the misses of an LRU of two, not of a larger
# cache nor of a first-in-first-out one.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $acme = make_account('edgecache');
my $secret = make_user($acme, 'admin', 'Administrators');
api_config_import($acme);

my $conf = <<"CONF";
location /app {
    prefs_edge $acme \$cookie_prefs;
    return 200 "\$prefs_profile_id \$prefs_consent_Marketing";
}
CONF
my $ng = PrefsTest::start_nginx(name => 'edge-cache', workers => 1, config => $conf,
                                http_config => 'prefs_edge_cache_size 2;');

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json');
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                     body => defined $body ? encode_json($body) : undef);
    return ($st, eval { decode_json($b) }, $b);
}

my (%pid, %tok);
for my $v (qw(a b c)) {
    my ($st, $j, $raw) = call('POST', 'Profile', {
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
        Emails => [ { EmailAddress => "$v\@example.com", EmailAddressType => 'Personal',
                      IsDefault => JSON::PP::true() } ] });
    is($st, 201, "profile $v") or diag $raw;
    $pid{$v} = $j->{ProfileId};
    ($st, $j, $raw) = call('POST', "Profile/$pid{$v}/Links", { Scopes => ['edge'] });
    is($st, 201, "its edge token") or diag $raw;
    $tok{$v} = $j->{Token};
}

sub queries {
    sleep 1.2;     # the worker copies its counters each second
    my (undef, undef, $b) = $ng->request(path => '/prefs/status');
    my $n = 0;
    $n += $_->{Queries} for @{ (eval { decode_json($b) } || {})->{Workers} || [] };
    return $n;
}

sub visit {
    my ($v) = @_;
    my ($st, undef, $b) = $ng->request(path => '/app', headers => { Cookie => "prefs=$tok{$v}" });
    return "$st $b";
}

my $q0 = queries();
my @seen = map { visit($_) } qw(a b a c b a);
my $q1 = queries();

is_deeply(\@seen, [ map { "200 $pid{$_} NotSet" } qw(a b a c b a) ], 'every visitor known');
# a, b: misses; a: kept; c: b goes (a was seen since); b: a goes; a: c goes
is($q1 - $q0 - 1, 5, 'five misses: an LRU of two visitors (FIFO would miss 4, a larger cache 3)');

unlike($ng->error_log, qr/\[(error|alert|crit|emerg)\]/, 'no error logged');

done_testing;
