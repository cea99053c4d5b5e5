# Changes to a profile beyond adding (sql/functions/profile.sql and consents.sql,
# src/http/api/ngx_prefs_profile_changes.c), over HTTP with the database checked:
# removing contact points, alternate ids, groups, tags and custom fields
# (UpdateProfile, the part routes, the DELETE part routes), the Preserve*
# flags, consents with a locale and a contact point, the consent
# associations, JSON Patch, and each with its events; a refused request
# changes nothing and records nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;
use POSIX ();

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $ng = PrefsTest::start_nginx(name => 'datachg', workers => 2);

my $acme = make_account('chg');
my $secret = make_user($acme, 'admin', 'Administrators');
my $reader = make_user($acme, 'reader', 'ReadOnly');
my $other = make_account('chgo');
my $osecret = make_user($other, 'admin', 'Administrators');

my ($rc, $out) = prefsctl('config', 'import', $acme, "$top/conf/demo-config.json");
is($rc, 0, 'the demo configuration is imported') or diag $out;
($rc, $out) = prefsctl('config', 'import', $other, "$top/conf/demo-config.json");
is($rc, 0, 'and in the other account') or diag $out;
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $acme);

my $J = JSON::PP->new->canonical;

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my $s = $client eq $acme ? ($user eq 'reader' ? $reader : $secret) : $osecret;
    my %h = (Authorization => pnauth($client, $user, $s));
    $h{'Content-Type'} = $o{type} // ($method eq 'PATCH' ? 'application/json-patch+json' : 'application/json')
        if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path", headers => \%h,
                                     body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $j, $b, $hd);
}

sub last_event { psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = :'a'", a => $acct) }

# the account's events after $after: [{type, data, prev}]
sub events {
    my ($after) = @_;
    return decode_json(psql(q{SELECT coalesce(json_agg(json_build_object('type', event_type,
        'data', data, 'prev', previous_data, 'profile', profile_id) ORDER BY event_id), '[]')
        FROM prefs_event WHERE account_id = :'a' AND event_id > :'e'}, a => $acct, e => $after));
}
sub types { [ map { $_->{type} } @{ events($_[0]) } ] }
sub of_type { my ($after, $t) = @_; [ grep { $_->{type} eq $t } @{ events($after) } ] }

my @TABLES = qw(prefs_profile prefs_profile_email prefs_profile_phone prefs_profile_address
    prefs_profile_alternate_id prefs_profile_custom_field prefs_profile_group prefs_profile_tag
    prefs_preference prefs_consent prefs_consent_assoc prefs_event);

# every row of the account's data, as a digest per table (and its row
# count, to read a failure): what a refused request must leave alone
sub snapshot {
    return join "\n", map {
        "$_ " . psql("SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                     . " FROM $_ t WHERE account_id = :'a'", a => $acct)
    } @TABLES;
}

sub get { my ($st, $j) = call('GET', "Profile/$_[0]"); return $j }

my $snap0;

# --------------------------------------------------------------------------
# a profile with something of everything

my %base = (
    FirstName => 'Jane', LastName => 'Doe',
    AlternateIds => [ { Type => 'CRMId', Value => "crm-$$" } ],
    Emails => [ { Address => 'a@example.com', Type => 'Personal', IsDefault => JSON::PP::true },
                { Address => 'b@example.com', Type => 'Work' },
                { Address => 'c@example.com' } ],
    PhoneNumbers => [ { Number => '+15550100100', Type => 'Mobile', IsMobile => JSON::PP::true },
                      { Number => '+15550100200', Type => 'Home' } ],
    Addresses => [ { Line1 => '1 Main St', City => 'Springfield', PostalCode => '12345', Type => 'Home' },
                   { Line1 => '2 Side St', PostalCode => '54321' } ],
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' }, { Name => 'Nickname', Value => 'JJ' },
                      { Name => 'HouseholdSize', Value => 3 } ],
    Groups => [ { Type => 'Household', Name => 'Does' }, { Type => 'Company', Name => 'Acme' } ],
    Tags => [ 'VIP', 'Early Adopter' ],
    ProfilePreferences => [
        { FilterId => 'NewsletterEmail', ContactPoint => 'a@example.com', PreferenceType => 1 },
        { FilterId => 'PartnerOffersEmail', ContactPoint => 'b@example.com', PreferenceType => 1 },
        { FilterId => 'ProductUpdatesEmail', ContactPoint => 'c@example.com', PreferenceType => 1 },
        { FilterId => 'NewsletterText', ContactPoint => '+15550100100', PreferenceType => 1 } ],
    Consents => [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted', Locale => 'en-US' },
                  { TypeName => 'DataSharing', Version => '1.0', Status => 'Granted' },
                  { TypeName => 'TextMessaging', Version => '2024-01', Status => 'Granted',
                    ContactPoint => '+1 555 010 0100' } ],
);

my $e0 = last_event();
my ($st, $j, $raw, $h) = call('POST', 'Profile', \%base);
is($st, 201, 'a profile with every part') or diag $raw;
my $P = $j->{ProfileId};
my $ev = events($e0);
my %n;
$n{$_->{type}}++ for @$ev;
is($n{'consent.elementassociation.created'}, 1, 'a consent given for a phone number: consent.elementassociation.created');
my ($el) = grep { $_->{type} eq 'consent.elementassociation.created' } @$ev;
is_deeply([ @{ $el->{data} }{qw(TypeName Version Status ContactType ContactPoint)} ],
          [ 'TextMessaging', '2024-01', 'Granted', 'Phone', '+15550100100' ], 'its Data');
# NewsletterEmail: Marketing; PartnerOffersEmail: Marketing, DataSharing;
# NewsletterText: Marketing, TextMessaging
is($n{'consent.filterassociation.created'}, 5, 'each consent a preference\'s filter requires: consent.filterassociation.created');
my ($fa) = grep { $_->{type} eq 'consent.filterassociation.created' } @$ev;
is_deeply([ @{ $fa->{data} }{qw(TypeName Version Status Locale FilterId ContactPoint)} ],
          [ 'Marketing', '2.0', 'Granted', 'en-US', 'NewsletterEmail', 'a@example.com' ], 'its Data');
is(psql_value("SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = :'p' AND is_active", p => $P), 6,
   'six associations in the database');
my $p = get($P);
my ($tm) = grep { $_->{TypeName} eq 'TextMessaging' } @{ $p->{Consents} };
is($tm->{ContactPoint}, '+15550100100', 'the consent shows its contact point');
my ($mk) = grep { $_->{TypeName} eq 'Marketing' } @{ $p->{Consents} };
is($mk->{Locale}, 'en-US', 'and its locale');
my %email = map { $_->{Address} => $_->{EmailId} } @{ $p->{Emails} };
my %phone = map { $_->{Number} => $_->{PhoneId} } @{ $p->{PhoneNumbers} };
my %addr = map { $_->{Line1} => $_->{AddressId} } @{ $p->{Addresses} };

# refused changes of value
$snap0 = snapshot();
for my $c ([ 'an invalid address', { Emails => [ { EmailId => $email{'a@example.com'}, Address => 'nope' } ] }, qr/Emails\[0\]\.Address must be an email address/ ],
           [ 'another email of the profile', { Emails => [ { EmailId => $email{'a@example.com'}, Address => 'B@example.com' } ] }, qr/is another email of this profile/ ],
           [ 'an invalid number', { PhoneNumbers => [ { PhoneId => $phone{'+15550100100'}, Number => 'abc' } ] }, qr/PhoneNumbers\[0\]\.Number must be a phone number/ ],
           [ 'another number of the profile', { PhoneNumbers => [ { PhoneId => $phone{'+15550100100'}, Number => '+15550100200' } ] }, qr/another phone number/ ]) {
    ($st, $j) = call('POST', "Profile/$P", $c->[1]);
    is($st, 400, "a change of value to $c->[0]: 400");
    like($j->{Message} // '', $c->[2], 'saying why');
}
is(snapshot(), $snap0, 'none changed anything');

# --------------------------------------------------------------------------
# removing contact points

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { Emails => [ { Address => 'c@example.com', IsActive => JSON::PP::false } ] });
is($st, 200, 'an email with "IsActive": false') or diag $raw;
is_deeply(types($e0), [ 'contacts.email.deactivated', 'profile.updated' ],
          'contacts.email.deactivated; PreservePreferences (default true) keeps its preferences');
is(events($e0)->[0]{data}{Address}, 'c@example.com', 'its Data is the email');
$p = get($P);
ok(!(grep { $_->{Address} eq 'c@example.com' } @{ $p->{Emails} }), 'the profile lacks it');
is(psql_value("SELECT is_active FROM prefs_profile_email WHERE email_id = :'e'", e => $email{'c@example.com'}), 'f',
   'the row is kept, inactive');
my ($pu) = grep { $_->{FilterId} eq 'ProductUpdatesEmail' } @{ $p->{ProfilePreferences} };
ok($pu && !$pu->{IsArchived}, 'its preference stays');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PreservePreferences => JSON::PP::false,
    Emails => [ { EmailId => $email{'b@example.com'}, IsActive => JSON::PP::false } ] });
is($st, 200, 'by EmailId, with PreservePreferences false') or diag $raw;
is_deeply(types($e0), [ 'contacts.email.deactivated', 'preference.archived',
    'consent.filterassociation.deactivated', 'consent.filterassociation.deactivated', 'profile.updated' ],
    'its preference is archived, and its consent associations end');
is(of_type($e0, 'preference.archived')->[0]{data}{FilterId}, 'PartnerOffersEmail', 'preference.archived: Data');

$e0 = last_event();
($st) = call('POST', "Profile/$P", { Emails => [ { Address => 'nobody@example.com', IsActive => JSON::PP::false } ] });
is($st, 200, 'removing an email the profile lacks');
is_deeply(types($e0), [], 'changes nothing');
($st, $j) = call('POST', "Profile/$P", { Emails => [ { EmailId => 999999999, IsActive => JSON::PP::false } ] });
is($st, 400, 'an EmailId the profile lacks is 400');
like($j->{Message}, qr/Emails\[0\]\.EmailId/, 'naming it');


# a phone number changes its value: the consent given for it follows
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PhoneNumbers => [ { PhoneId => $phone{'+15550100100'}, Number => '+1 555 010 0101' } ] });
is($st, 200, 'a PhoneId with another Number changes the number') or diag $raw;
is_deeply(types($e0), [ 'contacts.phone.updated', 'consent.elementassociation.updated', 'profile.updated' ],
          'PreserveConsents (default true): consent.elementassociation.updated');
$ev = events($e0);
is_deeply([ $ev->[0]{data}{Number}, $ev->[0]{prev}{Number} ], [ '+15550100101', '+15550100100' ], 'phone.updated: Data, PreviousData');
is_deeply([ $ev->[1]{data}{ContactPoint}, $ev->[1]{prev}{ContactPoint} ], [ '+15550100101', '+15550100100' ],
          'elementassociation.updated: the new number, the old one before');
$p = get($P);
my ($nt) = grep { $_->{FilterId} eq 'NewsletterText' } @{ $p->{ProfilePreferences} };
is($nt->{ContactPoint}, '+15550100101', 'its preference follows the number');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PreserveConsents => JSON::PP::false,
    PhoneNumbers => [ { PhoneId => $phone{'+15550100100'}, Number => '+15550100102' } ] });
is($st, 200, 'again with PreserveConsents false') or diag $raw;
is_deeply(types($e0), [ 'contacts.phone.updated', 'consent.elementassociation.deactivated', 'profile.updated' ],
          'consent.elementassociation.deactivated');
is(events($e0)->[1]{data}{ContactPoint}, '+15550100101', 'naming the number it was given for');

# IsMobile true -> false archives its text preferences
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PhoneNumbers => [ { Number => '+15550100102', IsMobile => JSON::PP::false } ] });
is($st, 200, 'IsMobile false') or diag $raw;
is_deeply(types($e0), [ 'preference.archived', 'contacts.phone.updated',
    ('consent.filterassociation.deactivated') x 2, 'profile.updated' ], 'preference.archived (the Text preference)');

($st, $j, $raw) = call('POST', "Consents/$P", [ { TypeName => 'TextMessaging', Version => '2024-01', Status => 'Granted',
                                                   ContactPoint => '+15550100200' } ]);
is($st, 200, 'a consent for the home phone') or diag $raw;
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PhoneNumbers => [ { Number => '+1 555 010 0200', IsActive => JSON::PP::false } ] });
is($st, 200, 'a phone number with "IsActive": false') or diag $raw;
is_deeply(types($e0), [ 'contacts.phone.deactivated', 'profile.updated' ],
          'contacts.phone.deactivated; PreserveConsents (default true) keeps its consent\'s association');
is(psql_value("SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = :'p' AND kind = 'E' AND is_active", p => $P), 1,
   'still active in the database');
($st, $j, $raw) = call('POST', "Profile/$P", { PhoneNumbers => [ { Number => '+15550100300' } ] });
($st, $j, $raw) = call('POST', "Consents/$P", [ { TypeName => 'TextMessaging', Version => '2024-01', Status => 'Granted',
                                                   ContactPoint => '+15550100300' } ]);
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PreserveConsents => JSON::PP::false,
    PhoneNumbers => [ { Number => '+15550100300', IsActive => JSON::PP::false } ] });
is($st, 200, 'another with PreserveConsents false') or diag $raw;
is_deeply(types($e0), [ 'contacts.phone.deactivated', 'consent.elementassociation.deactivated', 'profile.updated' ],
          'consent.elementassociation.deactivated');

# an address moves (its AddressId with other lines): without
# PreservePreferences its mail preferences are archived
($st, $j, $raw) = call('POST', "Profile/$P/Preferences", { FilterId => 'ProductUpdatesMail', PreferenceType => 1,
                                                           ContactPoint => $addr{'1 Main St'} });
is($st, 200, 'a mail preference') or diag $raw;
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { Addresses => [ { AddressId => $addr{'1 Main St'}, Line1 => '9 New St',
                                                                PostalCode => '12345' } ] });
is($st, 200, 'an address moves, PreservePreferences by default') or diag $raw;
is_deeply(types($e0), [ 'contacts.address.updated', 'profile.updated' ], 'its preference stays');
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { PreservePreferences => JSON::PP::false,
    Addresses => [ { AddressId => $addr{'1 Main St'}, Line1 => '10 New St', PostalCode => '12345' } ] });
is($st, 200, 'and again with PreservePreferences false') or diag $raw;
is_deeply(types($e0), [ 'contacts.address.updated', 'preference.archived', 'profile.updated' ],
          'its preference is archived');
($st, $j) = call('POST', "Profile/$P", { PreservePreferences => 'no' });
is($st, 400, 'a Preserve* flag that is not a boolean: 400');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { Addresses => [ { AddressId => $addr{'2 Side St'}, IsActive => JSON::PP::false } ] });
is($st, 200, 'an address by AddressId') or diag $raw;
is_deeply(types($e0), [ 'contacts.address.deactivated', 'profile.updated' ], 'contacts.address.deactivated');
is(events($e0)->[0]{data}{Line1}, '2 Side St', 'its Data is the address');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { AlternateIds => [ { Type => 'CRMId', IsActive => JSON::PP::false } ] });
is($st, 200, 'an alternate id by type') or diag $raw;
is_deeply(types($e0), [ 'contacts.alternateid.deactivated', 'profile.updated' ], 'contacts.alternateid.deactivated');
is_deeply(events($e0)->[0]{data}, { Type => 'CRMId', Value => "crm-$$" }, 'its Data');
($st) = call('GET', "Profile/AlternateIdType/CRMId/AlternateId/crm-$$");
is($st, 404, 'the profile is not found by it any more');

# --------------------------------------------------------------------------
# groups, tags, custom fields: UpdateProfile, the part routes, DELETE

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P/Groups", [ { Type => 'Company', Name => 'Acme', IsActive => JSON::PP::false } ]);
is($st, 200, 'POST Profile/{id}/Groups with "IsActive": false') or diag $raw;
is_deeply(types($e0), [ 'group.removed', 'profile.updated' ], 'group.removed');
is_deeply(events($e0)->[0]{data}, { Type => 'Company', Name => 'Acme' }, 'its Data');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P", { Tags => [ { Name => 'VIP', IsActive => JSON::PP::false }, 'Do Not Call' ] });
is($st, 200, 'a tag as {"Name","IsActive":false} beside one added') or diag $raw;
is_deeply(types($e0), [ 'tag.removed', 'tag.added', 'profile.updated' ], 'tag.removed, tag.added');
is_deeply(events($e0)->[0]{data}, { Tag => 'VIP' }, 'tag.removed: Data');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P/CustomFields", { Name => 'Nickname', IsActive => JSON::PP::false });
is($st, 200, 'a custom field with "IsActive": false') or diag $raw;
is_deeply(types($e0), [ 'customfield.deleted', 'profile.updated' ], 'customfield.deleted');
is_deeply([ events($e0)->[0]{data}, events($e0)->[0]{prev} ], [ { Name => 'Nickname' }, { Name => 'Nickname', Value => 'JJ' } ],
          'its Data and PreviousData');

$e0 = last_event();
($st, $j, $raw) = call('DELETE', "Profile/$P/Tags", [ 'Early Adopter' ]);
is($st, 204, 'DELETE Profile/{id}/Tags') or diag $raw;
($st, $j, $raw) = call('DELETE', "Profile/$P/Groups", { Groups => [ { Type => 'Household', Name => 'Does' } ] });
is($st, 204, 'DELETE Profile/{id}/Groups') or diag $raw;
($st, $j, $raw) = call('DELETE', "Profile/$P/CustomFields", [ 'HouseholdSize' ]);
is($st, 204, 'DELETE Profile/{id}/CustomFields') or diag $raw;
is_deeply(types($e0), [ 'tag.removed', 'profile.updated', 'group.removed', 'profile.updated',
                        'customfield.deleted', 'profile.updated' ], 'each with its events');
$p = get($P);
is_deeply([ $p->{Tags}, $p->{Groups}, [ map { $_->{Name} } @{ $p->{CustomFields} } ] ],
          [ [ 'Do Not Call' ], [], [ 'FavoriteCategory' ] ], 'the profile lacks them');
$e0 = last_event();
($st) = call('DELETE', "Profile/$P/Groups", [ { Type => 'Household', Name => 'Does', IsActive => JSON::PP::true } ]);
is($st, 204, 'DELETE of a group with "IsActive": true still removes (here: nothing)');
($st) = call('DELETE', "Profile/$P/Tags", [ 'VIP' ]);
is($st, 204, 'removing a tag the profile lacks is 204');
is_deeply(types($e0), [], 'and records nothing');

# refused: each a 4xx that changes nothing
my $snap = snapshot();
for my $c (
    [ 'a required custom field', 'DELETE', 'CustomFields', [ 'FavoriteCategory' ], 400 ],
    [ 'a required custom field by IsActive', 'POST', 'CustomFields', [ { Name => 'FavoriteCategory', IsActive => JSON::PP::false } ], 400 ],
    [ 'an empty list', 'DELETE', 'Tags', [], 400 ],
    [ 'no body (no Content-Type either)', 'DELETE', 'Tags', undef, 415 ],
    [ 'an empty body', 'DELETE', 'Tags', '', 400 ],
    [ 'malformed JSON', 'DELETE', 'Tags', '["VIP"', 400 ],
    [ 'a duplicate key', 'DELETE', 'Groups', '{"Type":"Household","Type":"Company","Name":"x"}', 400 ],
    [ 'an unknown field', 'DELETE', 'Groups', [ { Type => 'Household', Name => 'x', Colour => 'red' } ], 400 ],
    [ 'a wrong type', 'DELETE', 'Groups', [ { Type => 'Household', Name => 42 } ], 400 ],
    [ 'a number', 'DELETE', 'Tags', '42', 400 ],
    [ 'invalid UTF-8', 'DELETE', 'Tags', qq(["\xff"]), 400 ],
    [ 'IsActive not a boolean', 'POST', 'Tags', [ { Name => 'Do Not Call', IsActive => 'no' } ], 400 ],
) {
    my ($name, $m, $part, $body, $want) = @$c;
    ($st, $j) = call($m, "Profile/$P/$part", $body);
    is($st, $want, "$name: $want");
    ok(length($j->{Message} // ''), "$name: with a Message");
}
($st, $j) = call('DELETE', "Profile/$P/Tags", [ 'Do Not Call' ], type => 'text/plain');
is($st, 415, 'DELETE with a body that is not JSON: 415');
($st) = call('DELETE', "Profile/$P/Tags", [ 'Do Not Call' ], client => $other);
is($st, 404, 'another account\'s profile: 404');
($st, $j) = call('DELETE', "Profile/$P/Tags", [ 'Do Not Call' ], user => 'reader');
is($st, 403, 'without ProfileWrite: 403');
($st) = call('DELETE', "Profile/0$P/Tags", [ 'Do Not Call' ]);
is($st, 404, 'a hostile id: 404');
($st, $j) = call('POST', 'Profile', { Emails => [ { Address => 'x@example.com', IsActive => JSON::PP::false } ],
                                      CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ] });
is($st, 400, 'a removal in a create: 400');
like($j->{Message} // '', qr/Emails\[0\]\.IsActive/, 'naming it');
is(snapshot(), $snap, 'none of them changed anything or recorded an event');

# a preference with "IsArchived": true is archived
$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$P/Preferences", { FilterId => 'ProductUpdatesEmail',
    ContactPoint => 'c@example.com', PreferenceType => 1, IsArchived => JSON::PP::true });
is($st, 200, 'a preference with "IsArchived": true') or diag $raw;
is_deeply(types($e0), [ 'preference.archived', 'profile.updated' ], 'preference.archived');

# --------------------------------------------------------------------------
# consents

($st, $j, $raw) = call('POST', 'Profile', { FirstName => 'Q', CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
    Emails => [ { Address => 'q@example.com' } ],
    ProfilePreferences => [ { FilterId => 'NewsletterEmail', ContactPoint => 'q@example.com', PreferenceType => 1 },
                            { FilterId => 'PartnerOffersEmail', ContactPoint => 'q@example.com', PreferenceType => 1 } ],
    Consents => [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted', Locale => 'en-US' },
                  { TypeName => 'DataSharing', Version => '1.0', Status => 'Granted' } ] });
is($st, 201, 'a second profile') or diag $raw;
my $Q = $j->{ProfileId};

$e0 = last_event();
($st, $j, $raw) = call('POST', "Consents/$Q", [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted', Locale => 'de_de' } ]);
is($st, 200, 'the same consent in another locale') or diag $raw;
is_deeply(types($e0), [ 'consent.deactivated', 'consent.added', ('consent.filterassociation.updated') x 2, 'profile.updated' ],
          'consent.deactivated, then consent.added; the associations move to the new record');
$ev = events($e0);
is_deeply([ $ev->[0]{data}{Locale}, $ev->[0]{data}{IsActive}, $ev->[1]{data}{Locale} ], [ 'en-US', JSON::PP::false, 'de-DE' ],
          'deactivated: the en-US record; added: the de-DE one');
is_deeply([ $ev->[2]{data}{Locale}, $ev->[2]{prev}{Locale} ], [ 'de-DE', 'en-US' ], 'filterassociation.updated: Data, PreviousData');
($st, $j) = call('GET', "Consents/$Q?includeConsentHistory=true");
is_deeply([ map { [ $_->{Locale}, $_->{IsActive} ? 1 : 0 ] } grep { $_->{TypeName} eq 'Marketing' } @{ $j->{Consents} } ],
          [ [ 'en-US', 0 ], [ 'de-DE', 1 ] ], 'the history keeps the deactivated record');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Profile/$Q/Preferences", { FilterId => 'NewsletterEmail', ContactPoint => 'q@example.com', PreferenceType => 2 });
is($st, 200, 'opting out of a preference linked to a consent') or diag $raw;
is_deeply(types($e0), [ 'preference.updated', 'consent.updated', 'profile.updated' ], 'consent.updated');
$ev = events($e0);
is_deeply([ $ev->[1]{data}{Status}, $ev->[1]{prev}{Status}, $ev->[1]{data}{FilterId}, $ev->[1]{data}{TypeName} ],
          [ 'Revoked', 'Granted', 'NewsletterEmail', 'Marketing' ], 'Granted -> Revoked for that preference');
($st, $j) = call('GET', "Consents/$Q");
my ($m) = grep { $_->{TypeName} eq 'Marketing' } @{ $j->{Consents} };
is($m->{Status}, 'Granted', 'the profile\'s consent stays Granted');

$e0 = last_event();
($st, $j, $raw) = call('POST', "Consents/$Q", { TypeName => 'DataSharing', Version => '1.0', Status => 'Revoked' });
is($st, 200, 'revoking a consent') or diag $raw;
is_deeply(types($e0), [ 'consent.updated', 'preference.archived', 'consent.filterassociation.deactivated',
                        'consent.filterassociation.deactivated', 'profile.updated' ],
          'archives the preferences whose filters require it; their associations end');
is(of_type($e0, 'preference.archived')->[0]{data}{FilterId}, 'PartnerOffersEmail', 'the partner offers');

$snap = snapshot();
for my $c (
    [ 'a contact point for a consent type without a channel', { TypeName => 'Marketing', Version => '2.0', Status => 1, ContactPoint => 'q@example.com' } ],
    [ 'a contact point the profile lacks', { TypeName => 'TextMessaging', Version => '2024-01', Status => 1, ContactPoint => '+15559999999' } ],
    [ 'a locale the account lacks', { TypeName => 'Marketing', Version => '2.0', Status => 1, Locale => 'xx-XX' } ],
    [ 'a wrong type of locale', { TypeName => 'Marketing', Version => '2.0', Status => 1, Locale => 5 } ],
) {
    ($st, $j) = call('POST', "Consents/$Q", $c->[1]);
    is($st, 400, "$c->[0]: 400");
    diag $j->{Message} if $st != 400;
}
is(snapshot(), $snap, 'none changed anything');

# --------------------------------------------------------------------------
# JSON Patch

($st, $j, $raw) = call('POST', 'Profile', { FirstName => 'Pat', LastName => 'Ch', CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
    AlternateIds => [ { Type => 'LoyaltyNumber', Value => "L-$$" } ],
    Emails => [ { Address => 'p1@example.com' }, { Address => 'p2@example.com' } ], Tags => [ 'VIP' ],
    Consents => [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted' } ] });
is($st, 201, 'a profile to patch') or diag $raw;
my $R = $j->{ProfileId};

$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'replace', path => '/FirstName', value => 'Patricia' },
                                              { op => 'add', path => '/Tags/-', value => 'Early Adopter' },
                                              { op => 'test', path => '/LastName', value => 'Ch' } ]);
is($st, 200, 'PATCH Profile/{id}') or diag $raw;
is($j->{FirstName}, 'Patricia', 'answers the profile as it is now');
is_deeply($j->{Tags}, [ 'Early Adopter', 'VIP' ], '"-" appends');
is_deeply(types($e0), [ 'standardfield.firstname.updated', 'tag.added', 'profile.replaced' ],
          'the per-part events and profile.replaced');
$ev = events($e0);
is_deeply([ $ev->[2]{data}{FirstName}, $ev->[2]{prev}{FirstName} ], [ 'Patricia', 'Pat' ], 'profile.replaced: after and before');

$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'remove', path => '/Emails/1' },
                                              { op => 'add', path => '/Tags/0', value => 'Do Not Call' },
                                              { op => 'remove', path => '/Tags/2' } ]);
is($st, 200, 'remove by index, add at an index') or diag $raw;
is_deeply($j->{Tags}, [ 'Do Not Call', 'Early Adopter' ], 'the tags as patched');
is_deeply([ map { $_->{Address} } @{ $j->{Emails} } ], [ 'p1@example.com' ], 'the email removed');
is_deeply(types($e0), [ 'contacts.email.deactivated', 'tag.removed', 'tag.added', 'profile.replaced' ],
          'contacts.email.deactivated, tag.removed, tag.added');

$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'replace', path => '/Emails/0/Address', value => 'p3@example.com' } ]);
is($st, 200, 'replacing an email\'s address') or diag $raw;
is_deeply(types($e0), [ 'contacts.email.updated', 'profile.replaced' ], 'contacts.email.updated (matched by its EmailId)');
is_deeply([ events($e0)->[0]{data}{Address}, events($e0)->[0]{prev}{Address} ], [ 'p3@example.com', 'p1@example.com' ],
          'Data, PreviousData');

$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'replace', path => '/Consents/0/Status', value => 'Revoked' } ]);
is($st, 200, 'replacing a consent\'s status') or diag $raw;
is_deeply(types($e0), [ 'consent.updated', 'profile.replaced' ], 'records a new consent: consent.updated');

$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'test', path => '/FirstName', value => 'Patricia' } ]);
is($st, 200, 'a patch of tests alone') or diag $raw;
is_deeply(types($e0), [], 'changes nothing, records nothing');

# by alternate id
$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/AlternateIdType/LoyaltyNumber/AlternateId/L-$$",
                       [ { op => 'replace', path => '/LastName', value => 'Chan' } ]);
is($st, 200, 'PATCH Profile/AlternateIdType/{type}/AlternateId/{id}') or diag $raw;
is($j->{LastName}, 'Chan', 'patched');
is($j->{ProfileId}, $R, 'that profile');

# escaped keys: "~1" is "/", "~0" is "~"
($st, $j) = call('PATCH', "Profile/$R", [ { op => 'add', path => '/Foo~1Bar~0', value => 1 } ]);
is($st, 400, 'a new field through an escaped key: 400 (unknown field)');
like($j->{Message} // '', qr{Foo/Bar~ is not a known field}, 'the key unescaped');
($st, $j) = call('PATCH', "Profile/$R", [ { op => 'test', path => '/Emails/0/Address', value => 'p3@example.com' },
                                          { op => 'test', path => '/Tags/1', value => 'Early Adopter' } ]);
is($st, 200, 'tests on array elements and nested keys hold');

# RFC 6901 and 6902 in SQL: the pointer's tokens, and operations on a plain document
for my $c ([ '""', '{}' ], [ '"/"', '{""}' ], [ '"/a~01b/~1/"', '{a~1b,/,""}' ], [ '"/~0~1"', '{~/}' ],
           [ '"/0/-"', '{0,-}' ]) {
    is(psql_value(q{SELECT prefs_jp_pointer(CAST(:'p' AS jsonb), 'x')::text}, p => $c->[0]), $c->[1],
       "pointer $c->[0] is $c->[1]");
}
for my $c (
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/1","value":9}', '{"a": [1, 9, 2]}' ],
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/2","value":[3]}', '{"a": [1, 2, [3]]}' ],
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/-","value":{"b":1}}', '{"a": [1, 2, {"b": 1}]}' ],
    [ '{"a":[1,2]}', '{"op":"remove","path":"/a/0"}', '{"a": [2]}' ],
    [ '{"a":[1,2]}', '{"op":"replace","path":"/a/1","value":null}', '{"a": [1, null]}' ],
    [ '{"a/b":{"~":1}}', '{"op":"replace","path":"/a~1b/~0","value":2}', '{"a/b": {"~": 2}}' ],
    [ '{"":1}', '{"op":"remove","path":"/"}', '{}' ],
    [ '{"a":1}', '{"op":"add","path":"","value":[1]}', '[1]' ],
    [ '{"a":{"b":1.0}}', '{"op":"test","path":"/a/b","value":1}', '{"a": {"b": 1.0}}' ],
) {
    is(psql_value(q{SELECT prefs_jp_op(CAST(:'d' AS jsonb), CAST(:'o' AS jsonb), 'x')::text}, d => $c->[0], o => $c->[1]),
       $c->[2], "$c->[1] on $c->[0]");
}

# refused patches change nothing
$snap = snapshot();
for my $c (
    [ 'a failed test', 409, [ { op => 'replace', path => '/FirstName', value => 'X' },
                              { op => 'add', path => '/Tags/-', value => 'VIP' },
                              { op => 'test', path => '/LastName', value => 'Nope' } ], qr/test of '\/LastName' failed/ ],
    [ 'a test of a missing path', 409, [ { op => 'test', path => '/Nope', value => 1 } ] ],
    [ 'move', 400, [ { op => 'move', from => '/FirstName', path => '/LastName' } ], qr/not supported/ ],
    [ 'copy', 400, [ { op => 'copy', from => '/FirstName', path => '/LastName' } ], qr/not supported/ ],
    [ 'an unknown op', 400, [ { op => 'merge', path => '/FirstName', value => 'x' } ] ],
    [ 'no op', 400, [ { path => '/FirstName', value => 'x' } ] ],
    [ 'no path', 400, [ { op => 'remove' } ] ],
    [ 'no value', 400, [ { op => 'replace', path => '/FirstName' } ] ],
    [ 'a pointer without "/"', 400, [ { op => 'replace', path => 'FirstName', value => 'x' } ], qr/JSON Pointer/ ],
    [ 'a bad escape', 400, [ { op => 'add', path => '/a~2b', value => 'x' } ], qr/JSON Pointer/ ],
    [ 'a path that is not a string', 400, [ { op => 'remove', path => 5 } ] ],
    [ 'a non-numeric index', 400, [ { op => 'replace', path => '/Tags/x', value => 'VIP' } ], qr/not an array index/ ],
    [ 'an index with a leading zero', 400, [ { op => 'replace', path => '/Tags/01', value => 'VIP' } ] ],
    [ 'an index out of range', 400, [ { op => 'replace', path => '/Tags/9', value => 'VIP' } ], qr/out of range/ ],
    [ '"-" with replace', 400, [ { op => 'replace', path => '/Tags/-', value => 'VIP' } ] ],
    [ 'remove of a missing path', 400, [ { op => 'remove', path => '/Nickname' } ], qr/does not exist/ ],
    [ 'a missing parent', 400, [ { op => 'add', path => '/Nope/x', value => 1 } ] ],
    [ 'removing the whole profile', 400, [ { op => 'remove', path => '' } ] ],
    [ 'a read-only field', 400, [ { op => 'replace', path => '/ProfileId', value => 1 } ], qr/ProfileId is read-only/ ],
    [ 'IsActive', 400, [ { op => 'replace', path => '/IsActive', value => JSON::PP::false } ], qr/read-only/ ],
    [ 'an invalid profile', 400, [ { op => 'replace', path => '/DefaultLocale', value => 'xx-XX' } ], qr/DefaultLocale/ ],
    [ 'a list made a string', 400, [ { op => 'replace', path => '/Emails', value => 'x' } ], qr/Emails must be an array/ ],
    [ 'losing a consent', 400, [ { op => 'remove', path => '/Consents/0' } ], qr/consents are a history/ ],
    [ 'not an array', 400, { op => 'remove', path => '/Tags/0' }, qr/array of operations/ ],
    [ 'an operation that is not an object', 400, [ 'remove' ] ],
    [ 'malformed JSON', 400, '[{"op":' ],
    [ 'a duplicate key', 400, '[{"op":"remove","op":"add","path":"/Tags/0"}]' ],
    [ 'too many operations', 413, [ map { { op => 'test', path => '/FirstName', value => 'Patricia' } } 1 .. 1001 ], qr/at most 1000/ ],
) {
    my ($name, $want, $body, $msg) = @$c;
    ($st, $j, $raw) = call('PATCH', "Profile/$R", $body);
    is($st, $want, "$name: $want") or diag $raw;
    like($j->{Message} // '', $msg // qr/./, "$name: the Message says why");
}
($st, $j) = call('PATCH', "Profile/$R", [ { op => 'remove', path => '/Tags/0' } ], type => 'application/json');
is($st, 415, 'application/json instead of application/json-patch+json: 415');
($st) = call('PATCH', "Profile/$R?PreserveConsents=maybe", [ { op => 'remove', path => '/Tags/0' } ]);
is($st, 400, 'a Preserve* flag that is not a boolean: 400');
($st) = call('PATCH', "Profile/$R", [ { op => 'remove', path => '/Tags/0' } ], client => $other);
is($st, 404, 'another account\'s profile: 404');
($st) = call('PATCH', "Profile/AlternateIdType/LoyaltyNumber/AlternateId/L-$$", [ { op => 'remove', path => '/Tags/0' } ], client => $other);
is($st, 404, 'another account\'s alternate id: 404');
($st) = call('PATCH', "Profile/$R", [ { op => 'remove', path => '/Tags/0' } ], user => 'reader');
is($st, 403, 'without ProfileWrite: 403');
($st) = call('PATCH', 'Profile/abc', [ { op => 'remove', path => '/Tags/0' } ]);
is($st, 404, 'a hostile id: 404');
is(snapshot(), $snap, 'no refused patch changed anything or recorded an event');

($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'test', path => '/FirstName', value => 'Patricia' } ],
                       type => 'application/json-patch+json; charset=utf-8');
is($st, 200, 'application/json-patch+json with a charset') or diag $raw;

# two clients patch at once, each testing the name the other replaces: the
# row lock serializes them, so exactly one wins and the other's test fails
$e0 = last_event();
my @socks = map {
    my $to = $_;
    $ng->request(method => 'PATCH', path => "/Profiles/v4/$acme/Profile/$R",
        headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json-patch+json' },
        body => encode_json([ { op => 'test', path => '/FirstName', value => 'Patricia' },
                              { op => 'replace', path => '/FirstName', value => $to } ]), no_wait => 1)
} qw(Ann Bea);
my @codes = sort map { (PrefsTest::read_response($_, 10))[0] } @socks;
is_deeply(\@codes, [ 200, 409 ], 'concurrent patches: one 200, one 409');
is(scalar @{ of_type($e0, 'profile.replaced') }, 1, 'one profile.replaced');
like(get($R)->{FirstName}, qr/^(Ann|Bea)$/, 'the winner\'s name');
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'replace', path => '/FirstName', value => 'Patricia' } ]);
is($st, 200, 'the name back') or diag $raw;

# a patch waiting for the row lock applies to the profile as the writer
# holding it left it: here another transaction removes the first email
# while the patch waits
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'add', path => '/Emails/-', value => { Address => 'p4@example.com' } } ]);
is($st, 200, 'a second email') or diag $raw;
my ($first, $second) = map { $_->{EmailId} } @{ $j->{Emails} };
my $pid = fork // die "fork: $!";
if (!$pid) {
    psql(q{BEGIN;
           SELECT 1 FROM prefs_profile WHERE profile_id = CAST(:'p' AS bigint) FOR UPDATE;
           UPDATE prefs_profile_email SET is_active = false WHERE email_id = CAST(:'e' AS bigint);
           SELECT pg_sleep(2);
           COMMIT;}, p => $R, e => $first);
    POSIX::_exit(0);
}
select(undef, undef, undef, 0.7);
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'test', path => '/Emails/0/EmailId', value => $second },
                                              { op => 'replace', path => '/MiddleName', value => 'Q' } ]);
waitpid($pid, 0);
is($st, 200, 'the patch saw the email list as the other transaction committed it') or diag $raw;
is_deeply([ map { $_->{EmailId} } @{ $j->{Emails} } ], [ $second ], 'one email left');

# remove a whole list, with the flags in the query string
$e0 = last_event();
($st, $j, $raw) = call('PATCH', "Profile/$R?PreservePreferences=false", [ { op => 'remove', path => '/Tags' },
                                                                          { op => 'remove', path => '/AlternateIds/0' } ]);
is($st, 200, 'removing a whole list') or diag $raw;
is_deeply([ sort @{ types($e0) } ], [ sort 'contacts.alternateid.deactivated', 'tag.removed', 'tag.removed', 'profile.replaced' ],
          'each item removed with its event');
is_deeply($j->{Tags}, [], 'no tags left');

# erasure takes the contact points of consents and the associations too
($st) = call('DELETE', "Profile/$P?erase=true");
is($st, 204, 'erasing the first profile');
is(psql_value("SELECT count(*) FROM prefs_consent WHERE profile_id = :'p' AND (contact_point IS NOT NULL OR contact_key <> '')",
              p => $P), 0, 'no contact point left in its consents');
is(psql_value("SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = :'p'", p => $P), 0, 'nor associations');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
