# The Data API's profile routes over HTTP: create (201 + Location), read by
# id and by alternate id, UpdateProfile, lookups (and the 50-match limit),
# deactivate / activate / erase, every change with its events, another
# account's ids, permissions, and bad input changing nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $ng = PrefsTest::start_nginx(name => 'data', port => 1993, workers => 2);

my $acme = make_account('data');
my $secret = make_user($acme, 'admin', 'Administrators');
my $reader = make_user($acme, 'reader', 'ReadOnly');
my $other = make_account('datao');
my $osecret = make_user($other, 'admin', 'Administrators');

my ($rc, $out) = prefsctl('config', 'import', $acme, "$top/conf/demo-config.json");
is($rc, 0, 'the demo configuration is imported') or diag $out;
my $cfg = decode_json(scalar `'$top/tools/prefsctl' --db '@{[db()]}' config export $acme`);

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my $s = $client eq $acme ? ($user eq 'reader' ? $reader : $secret) : $osecret;
    my %h = (Authorization => pnauth($client, $user, $s));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path", headers => \%h,
                                     body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $hd, $j, $b);
}

sub events { psql_value("SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme) }
sub profiles { psql_value("SELECT count(*) FROM prefs_profile p JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme) }

my ($email_type) = map { $_->{Name} } @{ $cfg->{ContactTypes}{Email} };
my %sample = (String => 'x', Number => '1', Boolean => 'true', Date => '2020-01-31', DateTime => '2020-01-31T12:00:00Z');
my @required = map { { Name => $_->{Name}, Value => $_->{DataType} eq 'List' ? $_->{AllowedValues}[0] : $sample{$_->{DataType}} } }
               grep { $_->{IsRequired} && $_->{IsActive} } @{ $cfg->{CustomFields} };
my ($alt_type) = map { $_->{Name} } @{ $cfg->{AlternateIdTypes} };

my ($st, $h, $j, $raw) = call('POST', 'Profile', {
    FirstName => 'Jane', LastName => 'Doe', DefaultLocale => 'de-DE',
    Emails => [ { Address => 'jane@example.com', Type => $email_type, IsDefault => JSON::PP::true } ],
    AlternateIds => [ { Type => $alt_type, Value => "crm-$$" } ], CustomFields => \@required });
is($st, 201, 'POST Profile: 201') or diag $raw;
my $id = $j->{ProfileId};
like($id // '', qr/^\d+$/, 'with a ProfileId');
like($h->{location} // '', qr{/Profile/$id$}, 'Location names it');
cmp_ok(events(), '>=', 2, 'its events were recorded with it');
is(psql_value("SELECT count(*) FROM prefs_event WHERE profile_id = :'p' AND event_type = 'profile.created'", p => $id), 1,
   'profile.created among them');

($st, $h, $j) = call('GET', "Profile/$id");
is($st, 200, 'GET Profile/{id}');
is($j->{FirstName}, 'Jane', 'the profile as written');
is($j->{Emails}[0]{Address}, 'jane@example.com', 'with its email');

($st, $h, $j) = call('GET', "Profile/AlternateIdType/$alt_type/AlternateId/crm-$$");
is($j->{ProfileId}, $id, 'GET Profile/AlternateIdType/{type}/AlternateId/{id}');

($st, $h, $j, $raw) = call('POST', "Profile/$id", { LastName => 'Roe' });
is($st, 200, 'POST Profile/{id} updates') or diag $raw;
($st, $h, $j) = call('GET', "Profile/$id");
is($j->{LastName}, 'Roe', 'the part given');
is($j->{FirstName}, 'Jane', 'the rest left as it was');
is(psql_value("SELECT count(*) FROM prefs_event WHERE profile_id = :'p' AND previous_data IS NOT NULL", p => $id) > 0 ? 1 : 0, 1,
   'an update event carries PreviousData');

($st, $h, $j, $raw) = call('GET', 'Profile/Email?emailAddress=jane%40example.com');
is($st, 200, 'GET Profile/Email') or diag $raw;
ok((grep { $_->{ProfileId} == $id } @{ ref $j eq 'ARRAY' ? $j : [] }), 'finds her');
($st, $h, $j) = call('GET', 'Profile/Email?emailAddress=%zz');
is($st, 400, 'a badly encoded lookup is 400');

# --- bad input changes nothing ---------------------------------------------------

my ($e0, $p0) = (events(), profiles());
for my $c (
    [ 'malformed JSON', '{"FirstName":' ],
    [ 'a duplicate key', '{"FirstName":"a","FirstName":"b"}' ],
    [ 'an unknown field', { Nickname => 'x' } ],
    [ 'a wrong type', { FirstName => 42 } ],
    [ 'an unknown email type', { Emails => [ { Address => 'x@example.com', Type => 'NoSuchType' } ] } ],
    [ 'an unknown locale', { DefaultLocale => 'xx-XX' } ],
    [ 'invalid UTF-8', qq({"FirstName":"\xff"}) ],
) {
    ($st, $h, $j) = call('POST', 'Profile', $c->[1]);
    is($st, 400, "$c->[0]: 400");
    ok(length($j->{Message} // ''), "$c->[0]: with a Message");
}
is(events(), $e0, 'no event from any of them');
is(profiles(), $p0, 'no profile either');

for my $bad ('abc', '0', '-1', '99999999999999999999') {
    ($st) = call('GET', "Profile/$bad");
    is($st, 404, "a hostile id \"$bad\" is 404");
}

# --- other accounts, permissions ------------------------------------------------------

($st) = call('GET', "Profile/$id", undef, client => $other);
is($st, 404, 'another account cannot read it');
($st) = call('POST', "Profile/$id", { LastName => 'X' }, client => $other);
is($st, 404, 'nor write it');
($st) = call('DELETE', "Profile/$id", undef, client => $other);
is($st, 404, 'nor deactivate it');
($st, $h, $j) = call('POST', 'Profile', { FirstName => 'R' }, user => 'reader');
is($st, 403, 'ReadOnly cannot create');
is($j->{Message}, 'The user lacks the ProfileWrite permission', 'naming ProfileWrite');
($st) = call('GET', "Profile/$id", undef, user => 'reader');
is($st, 200, 'but can read');

# --- deactivate, activate, erase -----------------------------------------------------------

($st) = call('DELETE', "Profile/$id?ReasonCode=moved");
is($st, 204, 'DELETE deactivates');
($st, $h, $j) = call('GET', "Profile/$id");
ok(!$j->{IsActive}, 'inactive now');
($st) = call('POST', "Profile/$id/Activate", undef);
is($st, 204, 'Activate reverses it');
($st, $h, $j) = call('GET', "Profile/$id");
ok($j->{IsActive}, 'active again');

($st) = call('DELETE', "Profile/$id?erase=true");
is($st, 204, 'erase=true erases');
is(psql_value("SELECT count(*) FROM prefs_profile_email WHERE profile_id = :'p'", p => $id), 0, 'her emails are gone from the database');
is(psql_value("SELECT count(*) FROM prefs_profile WHERE profile_id = :'p' AND (first_name <> '' OR last_name <> '')", p => $id), 0,
   'so are the names');
is(psql_value("SELECT count(*) FROM prefs_event WHERE profile_id = :'p' AND event_type = 'profile.deleted'", p => $id), 1,
   'profile.deleted was recorded');
unlike(psql_value("SELECT coalesce(string_agg(data::text, ' '), '') FROM prefs_event WHERE profile_id = :'p' AND event_type = 'profile.deleted'", p => $id),
       qr/jane|Doe|Roe/i, 'without personal data in it');

# --- the parts of a profile; two writers at once both land -------------------

($st, $h, $j, $raw) = call('POST', 'Profile', { FirstName => 'Max', CustomFields => \@required,
    Emails => [ { Address => 'max@example.com', Type => $email_type, IsDefault => JSON::PP::true } ] });
is($st, 201, 'a second profile') or diag $raw;
my $max = $j->{ProfileId};

($st, $h, $j, $raw) = call('POST', "Consents/$max", [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted' } ]);
is($st, 200, 'POST Consents/{profileId}') or diag $raw;
($st, $h, $j) = call('GET', "Consents/$max");
is($j->{Consents}[0]{Status}, 'Granted', 'GET Consents/{profileId}');
($st) = call('POST', "Consents/$max", [ { TypeName => 'Marketing', Version => '2.0', Status => 'Revoked' } ]);
is($st, 200, 'a second consent of the same type');
($st, $h, $j) = call('GET', 'Profile/Email?emailAddress=max%40example.com');
is_deeply([ map { $_->{Status} } @{ $j->[0]{Consents} } ], ['Revoked'], 'a lookup shows the current consent');
($st, $h, $j) = call('GET', 'Profile/Email?emailAddress=max%40example.com&includeConsentHistory=true');
is_deeply([ map { $_->{Status} } @{ $j->[0]{Consents} } ], ['Granted', 'Revoked'], 'and the history with includeConsentHistory=true');

($st, $h, $j, $raw) = call('POST', "Profile/$max/Preferences", { ProfilePreferences => [
    { FilterId => 'NewsletterEmail', ContactPoint => 'max@example.com', PreferenceType => 1, FrequencyId => 'W' } ] });
is($st, 200, 'POST Profile/{id}/Preferences') or diag $raw;
($st, $h, $j, $raw) = call('POST', "Profile/$max/Preferences", { FilterId => 'NewsletterEmail',
    ContactPoint => 'max@example.com', PreferenceType => 1, FrequencyId => 'Y' });
is($st, 400, 'a frequency the filter lacks is 400') or diag $raw;
like($j->{Message} // '', qr/FrequencyId/, 'naming FrequencyId');

# two clients add different preferences at the same moment
my @socks;
for my $pref ([ 'ProductUpdatesEmail', 'M' ], [ 'PartnerOffersEmail', 'W' ]) {
    push @socks, $ng->request(method => 'POST', path => "/Profiles/v4/$acme/Profile/$max/Preferences",
        headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json' },
        body => encode_json({ FilterId => $pref->[0], ContactPoint => 'max@example.com', PreferenceType => 1,
                              FrequencyId => $pref->[1] }), no_wait => 1);
}
my @codes = map { (PrefsTest::read_response($_, 10))[0] } @socks;
is_deeply(\@codes, [200, 200], 'both concurrent writes succeed');
($st, $h, $j) = call('GET', "Profile/$max/Preferences");
is_deeply([ sort map { $_->{FilterId} } @{ $j->{ProfilePreferences} } ],
          [ 'NewsletterEmail', 'PartnerOffersEmail', 'ProductUpdatesEmail' ], 'and both landed, with the first');

my $tag = $cfg->{Tags}[0]{Name};
($st, $h, $j, $raw) = call('POST', "Profile/$max/Tags", [ $tag ]);
is($st, 200, "POST Profile/{id}/Tags with the configured tag \"$tag\"") or diag $raw;
($st, $h, $j) = call('GET', "Profile/$max");
is_deeply($j->{Tags}, [ $tag ], 'the profile has it');
($st, $h, $j) = call('POST', "Profile/$max/Tags", [ 'NoSuchTag' ]);
is($st, 400, 'a tag the account lacks is 400');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
