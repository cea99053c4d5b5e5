# The Configuration (Experience) API over HTTP: writes (201 + Location,
# 409, 400 naming the field, DELETE deactivates), every read route in both
# spellings, localization (explicit, Accept-Language, default, none), ETags
# and 304s, another account's ids, and changes seen by every worker and by
# a second nginx on the same database within a second.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $v3loc = 'location /api/3/ { prefs_api v3; }';
my $ng = PrefsTest::start_nginx(name => 'config', port => 1996, workers => 2, config => $v3loc);

my $acme = make_account('cfg');
my $secret = make_user($acme, 'admin', 'Administrators');
my $other = make_account('cfgo');
my $osecret = make_user($other, 'admin', 'Administrators');
my $reader_secret = make_user($acme, 'reader', 'ReadOnly');

my $J = JSON::PP->new->canonical;

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my $s = $o{secret} // ($client eq $acme ? ($user eq 'reader' ? $reader_secret : $secret) : $osecret);
    my %h = (Authorization => pnauth($client, $user, $s), %{ $o{headers} || {} });
    $h{'Content-Type'} = 'application/json' if defined $body;
    my $prefix = $o{v3} ? '/api/3' : '/Profiles/v4';
    my $srv = $o{server} // $ng;
    my ($st, $hd, $b) = $srv->request(method => $method, path => "$prefix/$client/$path", headers => \%h,
                                      body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $hd, $j, $b);
}

# --- writes ----------------------------------------------------------------------

my @locales = (
    { LocaleId => 'en-US', Name => 'English', IsDefault => JSON::PP::true },
    { LocaleId => 'de-DE', Name => 'Deutsch' },
    { LocaleId => 'fr-FR', Name => 'Français' },
);
my ($st, $h, $j) = call('POST', 'Locales', { Locales => \@locales });
is($st, 201, 'POST Locales with the list form: 201') or diag explain $j;

($st, $h, $j) = call('POST', 'ProgramTypes', { ProgramTypeId => 'NEWS', Name => 'Newsletters' });
is($st, 201, 'POST ProgramTypes: 201');
like($h->{location} // '', qr{/Profiles/v4/$acme/ProgramTypes/NEWS$}, 'Location names the new item');

($st, $h, $j) = call('POST', 'ConsentTypes', { ConsentTypes => [ {
    TypeName => 'Marketing',
    Versions => [
        { ConsentVersion => '1.0', IsActive => JSON::PP::false, LocalizedFields => [
            { LocaleId => 'en-US', Name => 'Marketing', Description => 'Old', ConsentLanguage => 'I agree (v1)' } ] },
        { ConsentVersion => '2.0', IsActive => JSON::PP::true, ExpirationInDays => 365, LocalizedFields => [
            { LocaleId => 'en-US', Name => 'Marketing', Description => 'Offers', ConsentLanguage => 'I agree' },
            { LocaleId => 'de-DE', Name => 'Werbung', Description => 'Angebote', ConsentLanguage => 'Ich stimme zu' } ] } ] } ] });
is($st, 201, 'POST ConsentTypes (the reference\'s body): 201') or diag explain $j;

($st, $h, $j) = call('POST', 'Programs', {
    ProgramId => 'NEWSLETTERS', ProgramTypeId => 'NEWS', Name => 'Newsletters', DisplayOrder => 1,
    CustomProperties => [ { Key => 'Region', Value => 'EU' } ],
    Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Newsletters' } ] },
                 { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => 'Rundbriefe' } ] } ] });
is($st, 201, 'POST Programs: 201') or diag explain $j;
($st) = call('POST', 'Programs', { ProgramId => 'OFFERS', Name => 'Offers', DisplayOrder => 2 });
is($st, 201, 'a second program');

my %weekly = (LocaleId => 'en-US', Frequencies => [ { FrequencyId => 'W', DisplayName => 'Weekly', IsDefault => JSON::PP::true },
                                                   { FrequencyId => 'M', DisplayName => 'Monthly' } ]);
($st, $h, $j) = call('POST', 'Filters', {
    FilterId => 'WEEKLY-NEWS', ProgramId => 'NEWSLETTERS', ChannelId => 'Email', Name => 'Weekly news',
    DefaultPreferenceValue => 1, OptInCustomerExpirationDays => 365,
    Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Weekly news' } ] },
                 { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => 'Wöchentliche Neuigkeiten' } ] } ],
    FrequencyLocales => [ \%weekly,
        { LocaleId => 'de-DE', Frequencies => [ { FrequencyId => 'W', DisplayName => 'Wöchentlich', IsDefault => JSON::PP::true },
                                                { FrequencyId => 'M', DisplayName => 'Monatlich' } ] } ],
    PreferenceAttributes => [ { AttributeId => 'topic', IsRequired => JSON::PP::false } ],
    RequiredPreferenceConsents => [ { TypeName => 'Marketing' } ],
    CustomProperties => [ { Key => 'Region', Value => 'EU' } ] });
is($st, 201, 'POST Filters with frequencies, attributes and a required consent: 201') or diag explain $j;
($st) = call('POST', 'Filters', { FilterId => 'SMS-OFFERS', ProgramId => 'OFFERS', ChannelId => 'Text', Name => 'Offers by SMS' });
is($st, 201, 'a filter on another channel');

($st, $h, $j) = call('POST', 'ProgramGroups', { ProgramGroupId => 'ALL', Name => 'Everything', ProgramIds => ['NEWSLETTERS', 'OFFERS'],
    DefaultPreferenceValues => [ { FilterId => 'WEEKLY-NEWS', PreferenceValue => 2 } ] });
is($st, 201, 'POST ProgramGroups: 201') or diag explain $j;
($st) = call('POST', 'ProgramGroups', { ProgramGroupId => 'SUB', Name => 'Sub', ParentProgramGroupId => 'ALL', ProgramIds => ['OFFERS'] });
is($st, 201, 'a nested group');

for my $c (['ContactTypes/Email', 'Work'], ['ContactTypes/Phone', 'Mobile'], ['ContactTypes/Address', 'Home'],
           ['AlternateIdTypes', 'CRMId'], ['CustomerTypes', 'Retail'], ['GroupTypes', 'Region'], ['Tags', 'VIP']) {
    ($st, $h, $j) = call('POST', $c->[0], { Name => $c->[1], Description => 'd' });
    is($st, 201, "POST $c->[0]: 201") or diag explain $j;
}
($st, $h, $j) = call('POST', 'CustomFields', { Name => 'Tier', DataType => 'List', AllowedValues => ['Gold', 'Silver'],
    Labels => [ { LocaleId => 'en-US', Label => 'Tier' }, { LocaleId => 'de-DE', Label => 'Stufe' } ] });
is($st, 201, 'POST CustomFields (a list): 201') or diag explain $j;

($st, $h, $j) = call('POST', 'Programs', { ProgramId => 'OFFERS', Name => 'again' });
is($st, 409, 'a duplicate is 409');

my @invalid = (
    [ 'Filters', { FilterId => 'BAD1', ProgramId => 'NOPE', ChannelId => 'Email', Name => 'x' }, qr/ProgramId/ ],
    [ 'Filters', { FilterId => 'BAD2', ProgramId => 'OFFERS', ChannelId => 'Pigeon', Name => 'x' }, qr/ChannelId/ ],
    [ 'Filters', { FilterId => 'BAD3', ProgramId => 'OFFERS', ChannelId => 'Email', Name => 'x', Colour => 'red' }, qr/Colour/ ],
    [ 'Filters', { FilterId => 'BAD4', ProgramId => 'OFFERS', ChannelId => 'Email', Name => 'x',
                   Locales => [ { LocaleId => 'xx-XX', DisplayTags => [] } ] }, qr/xx-XX|LocaleId/ ],
    [ 'Filters', { FilterId => 'BAD5', ProgramId => 'OFFERS', ChannelId => 'Email', Name => 'x',
                   RequiredPreferenceConsents => [ { TypeName => 'Nope' } ] }, qr/TypeName|Nope/ ],
    [ 'CustomFields', { Name => 'NoValues', DataType => 'List' }, qr/AllowedValues/ ],
    [ 'CustomFields', { Name => 'Odd', DataType => 'Colour' }, qr/DataType/ ],
    [ 'ConsentTypes', { TypeName => 'NoVersions', Versions => [] }, qr/Versions/ ],
    [ 'ProgramGroups', { ProgramGroupId => 'LOOP', Name => 'x', ParentProgramGroupId => 'NOPE' }, qr/ParentProgramGroupId/ ],
    [ 'Programs', { ProgramId => 'bad id!', Name => 'x' }, qr/ProgramId/ ],
    [ 'Programs', { ProgramId => 'X', Name => 42 }, qr/Name/ ],
);
my $gen = psql_value("SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = :'c'", c => $acme);
for my $c (@invalid) {
    ($st, $h, $j) = call('POST', $c->[0], $c->[1]);
    is($st, 400, "invalid $c->[0]: 400");
    like($j->{Message} // '', $c->[2], "invalid $c->[0]: the Message names the field ($j->{Message})");
}
($st, $h, $j) = call('POST', 'Programs', { Programs => [ { ProgramId => 'OK1', Name => 'ok' }, { ProgramId => 'bad id!', Name => 'x' } ] });
is($st, 400, 'a list with one bad item is 400');
is(psql_value("SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = :'c'", c => $acme), $gen,
   'and no invalid write changed anything, not even the good item before the bad one');
($st, $h, $j) = call('POST', 'Programs', '{"ProgramId":"A","ProgramId":"B","Name":"x"}');
is($st, 400, 'duplicate keys are 400');
($st, $h, $j) = call('POST', 'Programs', { ProgramId => 'RO', Name => 'x' }, user => 'reader');
is($st, 403, 'ConfigurationWrite is needed to write');
is($j->{Message}, 'The user lacks the ConfigurationWrite permission', 'naming it');

# --- reads, v4 ---------------------------------------------------------------------

($st, $h, $j) = call('GET', 'Programs');
is($st, 200, 'GET Programs');
is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['NEWSLETTERS', 'OFFERS'], 'in display order');
is_deeply([ map { $_->{FilterId} } @{ $j->{Programs}[0]{Filters} } ], ['WEEKLY-NEWS'], 'each with its filters');
is($h->{vary}, 'Accept-Language', 'Vary: Accept-Language');
ok(!$h->{'content-language'}, 'no locale asked: no Content-Language');
is(scalar @{ $j->{Programs}[0]{Locales} }, 2, 'and every locale\'s text');

($st, $h, $j) = call('GET', 'Programs/NEWSLETTERS');
is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['NEWSLETTERS'], 'GET Programs/{id}');
($st) = call('GET', 'Programs/NOPE');
is($st, 404, 'an unknown program is 404');
($st, $h, $j) = call('GET', 'Filters/WEEKLY-NEWS');
is($j->{Filters}[0]{FilterId}, 'WEEKLY-NEWS', 'GET Filters/{id}: {"Filters":[...]}');
is($j->{Filters}[0]{RequiredPreferenceConsents}[0]{TypeName}, 'Marketing', 'with its required consents');
($st, $h, $j) = call('GET', 'Filters');
is(scalar @{ $j->{Filters} }, 2, 'GET Filters');
($st, $h, $j) = call('GET', 'ProgramGroups');
is_deeply([ map { $_->{ProgramGroupId} } @{ $j->{ProgramGroups} } ], ['ALL'], 'GET ProgramGroups: the top of the tree');
is($j->{ProgramGroups}[0]{ProgramGroups}[0]{ProgramGroupId}, 'SUB', 'with the nested group inside');
($st, $h, $j) = call('GET', 'ProgramGroups/SUB');
is($j->{ProgramGroups}[0]{ProgramGroupId}, 'SUB', 'GET ProgramGroups/{id}');
($st, $h, $j) = call('GET', 'ConsentTypes/Marketing');
is(scalar @{ $j->{ConsentTypes}[0]{Versions} }, 2, 'GET ConsentTypes/{typeName} with its versions');
($st, $h, $j) = call('GET', 'ConsentStatus');
is_deeply([ map { $_->{Name} } @{ $j->{ConsentStatus} } ], [qw(Granted Denied Revoked NotSet)], 'GET ConsentStatus');
for my $c (['ContactTypes/Email', 'EmailTypes', 'Work'], ['ContactTypes/Phone', 'PhoneTypes', 'Mobile'],
           ['ContactTypes/Address', 'AddressTypes', 'Home'], ['AlternateIdTypes', 'AlternateIdTypes', 'CRMId'],
           ['CustomerTypes', 'CustomerTypes', 'Retail'], ['GroupTypes', 'GroupTypes', 'Region'],
           ['CustomFields', 'CustomFields', 'Tier'], ['Tags', 'Tags', 'VIP']) {
    ($st, $h, $j) = call('GET', $c->[0]);
    is($j->{$c->[1]}[0]{Name}, $c->[2], "GET $c->[0]");
}
($st, $h, $j) = call('GET', 'Locales');
is($j->{DefaultLocale}, 'en-US', 'GET Locales: the default');
is(scalar @{ $j->{Locales} }, 3, 'and the three locales');

($st, $h, $j) = call('GET', 'Configuration/Profile?locale=de-DE');
is($st, 200, 'GET Configuration/Profile');
ok($j->{ContactTypes}{Email} && $j->{CustomFields} && $j->{AlternateIdTypes} && $j->{Tags}, 'holds the profile configuration');
is($j->{CustomFields}[0]{Labels}[0]{Label}, 'Stufe', 'in the locale asked');
($st, $h, $j) = call('GET', 'Configuration/Preference');
ok($j->{Programs} && $j->{ProgramGroups} && $j->{ConsentTypes}, 'GET Configuration/Preference holds programs, groups, consents');
is($j->{Programs}[0]{Filters}[0]{FilterId}, 'WEEKLY-NEWS', 'programs with their filters');

($st, $h, $j) = call('GET', 'Programs/ProgramTypes/NEWS');
is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['NEWSLETTERS'], 'Programs of a program type');
($st, $h, $j) = call('GET', 'Programs/NEWSLETTERS/ALL');
is($j->{Programs}[0]{Filters}[0]{DefaultPreferenceValue}, 2, 'a program within a group takes the group\'s defaults');
($st) = call('GET', 'Programs/NEWSLETTERS/SUB');
is($st, 404, 'a program not in the group is 404');
($st, $h, $j) = call('GET', 'Programs/IncludeMatching?customProperties[0].Key=Region&customProperties[0].Value=EU');
is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['NEWSLETTERS'], 'IncludeMatching by custom property');
($st, $h, $j) = call('GET', 'Programs/IncludeAll?customProperties%5B0%5D.Key=Region&customProperties%5B0%5D.Value=EU');
is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['NEWSLETTERS'], 'IncludeAll, with escaped brackets');
($st, $h, $j) = call('GET', 'Programs/IncludeMatching?customProperties[0].Key=%zz');
is($st, 400, 'bad criteria are 400');

# --- localization ------------------------------------------------------------------

sub label { my ($j) = @_; my $t = $j->{Programs}[0]{Locales}; return join ',', map { $_->{LocaleId} . ':' . $_->{DisplayTags}[0]{Value} } @$t }

my @neg = (
    [ 'de-DE', 'de-DE' ], [ 'de-CH', 'de-DE' ], [ 'de', 'de-DE' ], [ 'en_us', 'en-US' ], [ 'DE-de', 'de-DE' ],
    [ 'fr-CA;q=0.5, de;q=0.9', 'de-DE' ], [ 'de;q=0, *', 'en-US' ], [ 'ja, *;q=0.1', 'en-US' ],
    [ 'fr-FR;q=0, de-DE;q=0.2, en;q=0.1', 'de-DE' ], [ 'xx-YY', 'en-US' ], [ ';;;q=abc,,', 'en-US' ],
);
for my $n (@neg) {
    ($st, $h, $j) = call('GET', 'Programs', undef, headers => { 'Accept-Language' => $n->[0] });
    is($h->{'content-language'}, $n->[1], "Accept-Language: $n->[0] gives $n->[1]");
    is($h->{vary}, 'Accept-Language', "  and Vary");
}
($st, $h, $j) = call('GET', 'Programs', undef, headers => { 'Accept-Language' => 'de-DE' });
is(label($j), 'de-DE:Rundbriefe', 'only the negotiated locale\'s text');
($st, $h, $j) = call('GET', 'Programs?locale=en-US', undef, headers => { 'Accept-Language' => 'de-DE' });
is($h->{'content-language'}, 'en-US', 'an explicit locale overrides the header');
ok(!$h->{vary}, 'and then nothing varies');
is(label($j), 'en-US:Newsletters', 'its text');
($st, $h, $j) = call('GET', 'Programs?locale=xx-XX');
is($st, 400, 'an explicit locale the account lacks is 400');
like($j->{Message}, qr/xx-XX/, 'naming it');

# --- v3 spelling --------------------------------------------------------------------

($st, $h, $j) = call('GET', 'Programs', undef, v3 => 1);
is($st, 200, 'v3 GET Programs');
is($j->{Programs}[0]{ProgramID}, 'NEWSLETTERS', 'with ID names');
is($j->{Programs}[0]{Filters}[0]{FilterID}, 'WEEKLY-NEWS', 'all the way down');
($st, $h, $j) = call('GET', 'Programs/Locale/de-DE', undef, v3 => 1);
is($h->{'content-language'}, 'de-DE', 'v3 Programs/Locale/{locale}');
is($j->{Programs}[0]{Locales}[0]{LocaleID}, 'de-DE', 'one locale');
($st, $h, $j) = call('GET', 'Programs/NEWSLETTERS/Locale/de_de', undef, v3 => 1);
is($h->{'content-language'}, 'de-DE', 'v3 Programs/{id}/Locale/{locale}, any case and separator');
($st) = call('GET', 'Programs/Locale/xx-XX', undef, v3 => 1);
is($st, 400, 'v3 unknown locale is 400');
($st, $h, $j) = call('GET', 'Programs/NEWSLETTERS/ALL/Locale/en-US', undef, v3 => 1);
is($j->{Programs}[0]{Filters}[0]{DefaultPreferenceValue}, 2, 'v3 Programs/{id}/{groupId}/Locale/{locale}');
($st, $h, $j) = call('GET', 'Programs/ProgramTypes/NEWS/Locale/en-US', undef, v3 => 1);
is(scalar @{ $j->{Programs} }, 1, 'v3 Programs/ProgramTypes/{id}/Locale/{locale}');
($st, $h, $j) = call('GET', 'Programs/IncludeAll/Locale/en-US?customProperties[0].Key=Region', undef, v3 => 1);
is(scalar @{ $j->{Programs} }, 1, 'v3 IncludeAll/Locale/{locale}');
($st, $h, $j) = call('POST', 'Config/Filters', { Filters => [ { ID => 'V3-FILTER', ProgramID => 'OFFERS', ChannelID => 'Mail',
    Name => 'By post', Link => 10, OptInPreferenceCount => 4,
    Locales => [ { ID => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'By post' } ] } ],
    FrequencyLocales => [ { ID => 'en-US', Frequencies => [ { ID => 'M', DisplayName => 'Monthly', IsDefault => JSON::PP::true } ] } ] } ] }, v3 => 1);
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

# --- other accounts ---------------------------------------------------------------------

($st, $h, $j) = call('GET', 'Programs/NEWSLETTERS', undef, client => $other);
is($st, 404, 'another account\'s program is 404');
($st, $h, $j) = call('PUT', 'Programs/NEWSLETTERS', { Name => 'hijack' }, client => $other);
is($st, 404, 'and cannot be written');
($st, $h, $j) = call('DELETE', 'Filters/WEEKLY-NEWS', undef, client => $other);
is($st, 404, 'nor deactivated');
($st, $h, $j) = call('GET', 'Programs', undef, client => $other);
is_deeply($j->{Programs}, [], 'an account sees only its own configuration');

# --- changes are visible at once, on every worker and every node ---------------------------------

my $ng2 = PrefsTest::start_nginx(name => 'config2', port => 1998, workers => 1, config => $v3loc);
($st, $h, $j) = call('GET', 'Programs/OFFERS', undef, server => $ng2);
is($j->{Programs}[0]{Name}, 'Offers', 'a second nginx on the same database serves the same configuration');
# warm both workers of the first
call('GET', 'Programs/OFFERS') for 1 .. 6;

($st, $h, $j) = call('PUT', 'Programs/OFFERS', { ProgramId => 'OFFERS', Name => 'Special offers', DisplayOrder => 2 });
is($st, 200, 'PUT Programs/{id}: 200') or diag explain $j;
my $t0 = time;
my $seen = wait_until(sub {
    for (1 .. 4) { my (undef, undef, $x) = call('GET', 'Programs/OFFERS'); return 0 unless ($x->{Programs}[0]{Name} // '') eq 'Special offers' }
    my (undef, undef, $y) = call('GET', 'Programs/OFFERS', undef, server => $ng2);
    return ($y->{Programs}[0]{Name} // '') eq 'Special offers';
}, 3);
ok($seen, sprintf('every worker of both nginx serve the change (after %.2f s)', time - $t0));
cmp_ok(time - $t0, '<', 1.5, 'within about a second');

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
