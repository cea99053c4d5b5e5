# The Configuration API across processes and requests, which blocks cannot
# express: a change is seen by every worker and by a second nginx on the
# same database within a second; an ETag answers a later If-None-Match
# with 304; a deactivated item stops being served but is kept; the status
# reports the snapshots' memory.  The single requests are t/110-config-api.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $v3loc = 'location /api/3/ { prefs_api v3; }';
my $ng = PrefsTest::start_nginx(name => 'config', workers => 2, config => $v3loc);

my $acme = make_account('cfg');
my $secret = make_user($acme, 'admin', 'Administrators');

my $T = JSON::PP::true;
my %cfg = (
    Locales => [ { LocaleId => 'en-US', Name => 'English', IsDefault => $T },
                 { LocaleId => 'de-DE', Name => 'Deutsch' } ],
    Programs => [ { ProgramId => 'NEWSLETTERS', Name => 'Newsletters', DisplayOrder => 1 },
                  { ProgramId => 'OFFERS', Name => 'Offers', DisplayOrder => 2 } ],
    Filters => [
        { FilterId => 'WEEKLY-NEWS', ProgramId => 'NEWSLETTERS', ChannelId => 'Email', Name => 'Weekly news',
          Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Weekly news' } ] },
                       { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => 'Neuigkeiten' } ] } ] },
        { FilterId => 'SMS-OFFERS', ProgramId => 'OFFERS', ChannelId => 'Text', Name => 'Offers by SMS' } ],
);
api_config_import($acme, \%cfg);

sub call {
    my ($method, $path, $body, %o) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret), %{ $o{headers} || {} });
    $h{'Content-Type'} = 'application/json' if defined $body;
    my $prefix = $o{v3} ? '/api/3' : '/Profiles/v4';
    my $srv = $o{server} // $ng;
    my ($st, $hd, $b) = $srv->request(method => $method, path => "$prefix/$acme/$path", headers => \%h,
                                      body => defined $body ? encode_json($body) : undef);
    return ($st, $hd, eval { decode_json($b) }, $b);
}

# --- a v3 write reaches every worker ---------------------------------------------

my ($st, $h, $j) = call('POST', 'Config/Filters', { Filters => [ { ID => 'V3-FILTER', ProgramID => 'OFFERS',
    ChannelID => 'Mail', Name => 'By post', Link => 10, OptInPreferenceCount => 4,
    Locales => [ { ID => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'By post' } ] } ],
    FrequencyLocales => [ { ID => 'en-US', Frequencies => [ { ID => 'M', DisplayName => 'Monthly', IsDefault => $T } ] } ] } ] },
    v3 => 1);
is($st, 201, 'v3 POST Config/Filters with the reference\'s body') or diag explain $j;
# a write reaches the other worker's snapshot through the helper, within
# about a second (below): wait until both serve it, then read it
ok(wait_until(sub {
    for (1 .. 4) { my ($s) = call('GET', 'Filters/V3-FILTER'); return 0 unless $s == 200 }
    1;
}, 3), 'the v3 filter reaches every worker');
($st, $h, $j) = call('GET', 'Filters/V3-FILTER');
is($j->{Filters}[0]{ChannelId}, 'Mail', 'visible in v4 names');

# --- ETag and 304 -----------------------------------------------------------------------

($st, $h, $j) = call('GET', 'Filters?locale=en-US');
my $etag = $h->{etag};
like($etag // '', qr/^"[0-9a-f]{8}\d+"$/, 'an ETag');
($st, $h) = call('GET', 'Filters?locale=en-US', undef, headers => { 'If-None-Match' => $etag });
is($st, 304, 'If-None-Match with it: 304');
($st, $h) = call('GET', 'Filters?locale=de-DE', undef, headers => { 'If-None-Match' => $etag });
is($st, 200, 'another locale has another ETag');

# --- changes are visible at once, on every worker and every node ---------------------------------

my $ng2 = PrefsTest::start_nginx(name => 'config2', workers => 1, config => $v3loc);
($st, $h, $j) = call('GET', 'Programs/OFFERS', undef, server => $ng2);
is($j->{Programs}[0]{Name}, 'Offers', 'a second nginx on the same database serves the same configuration');
# warm both workers of the first
call('GET', 'Programs/OFFERS') for 1 .. 6;

($st, $h, $j) = call('PUT', 'Programs/OFFERS', { ProgramId => 'OFFERS', Name => 'Special offers', DisplayOrder => 2 });
is($st, 200, 'PUT Programs/{id}: 200') or diag explain $j;
my $t0 = time;
my $seen = wait_began(sub {
    for (1 .. 4) { my (undef, undef, $x) = call('GET', 'Programs/OFFERS'); return 0 unless ($x->{Programs}[0]{Name} // '') eq 'Special offers' }
    my (undef, undef, $y) = call('GET', 'Programs/OFFERS', undef, server => $ng2);
    return ($y->{Programs}[0]{Name} // '') eq 'Special offers';
}, 3);
ok($seen, sprintf('every worker of both nginx serve the change (the check that saw it began after %.2f s)',
                  ($seen // time) - $t0));
cmp_ok(($seen // time) - $t0, '<', 1.5, 'within about a second');

($st) = call('DELETE', 'Filters/SMS-OFFERS');
is($st, 204, 'DELETE deactivates: 204');
ok(wait_until(sub { my (undef, undef, $x) = call('GET', 'Filters'); !grep { $_->{FilterId} eq 'SMS-OFFERS' } @{ $x->{Filters} } }, 2),
   'a deactivated filter is no longer served');
is(psql_value("SELECT i.is_active FROM prefs_config_item i JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = :'c' AND kind = 'Filter' AND key = 'SMS-OFFERS'", c => $acme), 'f', 'but kept, inactive');

my ($s2, $h2, $b2) = $ng->request(path => '/prefs/status');
my $status = decode_json($b2);
my ($w) = grep { $_->{Configuration}{Accounts} } @{ $status->{Workers} };
ok($w && $w->{Configuration}{Bytes} > 0, "the status reports snapshot memory ($w->{Configuration}{Bytes} bytes)");

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log . $ng2->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng2->stop;
$ng->stop;

done_testing();
