# What a Test::Nginx block cannot say about the Data API's profile routes:
# the Location of a create names the very profile it answers, and two
# clients writing preferences of one profile at the same moment both land.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

api_account('DataConcCo');
api_user('DataConcCo', 'admin', 'Administrators');
PrefsTest::api_config_import('DataConcCo');

my $ng = PrefsTest::start_nginx(name => 'data-conc', workers => 2);
my %auth = (Authorization => pnauth('DataConcCo', 'admin', PrefsTest::api_secret('DataConcCo', 'admin')),
            'Content-Type' => 'application/json');

my ($st, $h, $raw) = $ng->request(method => 'POST', path => '/Profiles/v4/DataConcCo/Profile', headers => \%auth,
    body => encode_json({ CustomerName => { FirstName => 'Max' }, CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ],
                          Emails => [ { EmailAddress => 'max@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true } ] }));
is($st, 201, 'POST Profile: 201') or diag $raw;
my $max = (eval { decode_json($raw) } || {})->{ProfileId} // '';
like($max, qr/^\d+$/, 'with a ProfileId');
like($h->{location} // '', qr{/Profiles/v4/DataConcCo/Profile/$max$}, 'Location names it');

($st, undef, $raw) = $ng->request(method => 'POST', path => "/Profiles/v4/DataConcCo/Profile/$max/Preferences",
    headers => \%auth, body => encode_json({ Emails => [ { EmailAddress => 'max@example.com',
        EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] }));
is($st, 200, 'a first preference') or diag $raw;

# two clients add different preferences at the same moment
my @socks;
for my $pref ([ 'ProductUpdatesEmail', 'M' ], [ 'PartnerOffersEmail', 'W' ]) {
    push @socks, $ng->request(method => 'POST', path => "/Profiles/v4/DataConcCo/Profile/$max/Preferences",
        headers => \%auth, no_wait => 1,
        # profile-level: on the default email, max@example.com
        body => encode_json({ FilterId => $pref->[0], PreferenceType => 1, FrequencyId => $pref->[1] }));
}
my @codes = map { (PrefsTest::read_response($_, 10))[0] } @socks;
is_deeply(\@codes, [200, 200], 'both concurrent writes succeed');
($st, undef, $raw) = $ng->request(path => "/Profiles/v4/DataConcCo/Profile/$max/Preferences", headers => \%auth);
my $j = eval { decode_json($raw) } || {};
is_deeply([ sort map { $_->{FilterId} } @{ $j->{Emails}[0]{EmailPreferences} || [] } ],
          [ 'NewsletterEmail', 'PartnerOffersEmail', 'ProductUpdatesEmail' ], 'and both landed, with the first');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
