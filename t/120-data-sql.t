#!/usr/bin/perl
# The Data API in SQL (sql/functions/profile.sql): prefs_profile_create, _get,
# _by_alternate_id, _update, _deactivate, _activate, _erase, _find, the
# events each change appends to prefs_event, and prefs_event_partitions.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of a migrated database (skipped
#                              when unset)
#
# Every test works in accounts of its own (configured from
# conf/demo-config.json), so the file can be rerun on the same database.

use strict;
use warnings;
use utf8;

use FindBin ();
use lib $FindBin::Bin;
use Test::More;

BEGIN {
    plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set'
        unless $ENV{TEST_NGINX_PREFS_DATABASE};
    $ENV{TEST_NGINX_PREFS_TOP} //= "$FindBin::Bin/..";
}

use Encode ();
use JSON::PP ();
use PrefsTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $TOP = $ENV{TEST_NGINX_PREFS_TOP};
my $J   = JSON::PP->new->utf8->canonical;

sub enc { Encode::encode('UTF-8', $_[0]) }
sub js  { ref $_[0] ? $J->encode($_[0]) : enc($_[0]) }

sub slurp {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

my $DEMO = slurp("$TOP/conf/demo-config.json");

# A new account configured with the demo configuration: its account_id.
sub account {
    my $client = make_account($_[0] // 'data');
    my $id = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'",
                        c => $client);
    psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))",
         a => $id, d => $DEMO);
    return $id;
}

# psql's output without trailing white space (a NULL row is an empty line)
sub q1 { my $o = psql(@_); $o =~ s/\s+\z//; $o }

sub row_json {   # the single json row of a query, decoded (undef: none)
    my $out = q1(@_);
    return $out eq '' ? undef : $J->decode($out);
}

sub create {
    my ($acct, $body, $user) = @_;
    row_json(q{SELECT row_to_json(r) FROM prefs_profile_create(
        CAST(:'a' AS bigint), CAST(:'u' AS bigint), CAST(:'b' AS jsonb)) r},
        a => $acct, u => $user // 7, b => js($body));
}

sub update {
    my ($acct, $id, $body, $user) = @_;
    row_json(q{SELECT row_to_json(r) FROM prefs_profile_update(
        CAST(:'a' AS bigint), CAST(:'u' AS bigint), CAST(:'p' AS bigint),
        CAST(:'b' AS jsonb)) r},
        a => $acct, u => $user // 7, p => $id, b => js($body));
}

sub get {
    my ($acct, $id, $hist) = @_;
    my $out = q1(q{SELECT prefs_profile_get(CAST(:'a' AS bigint),
        CAST(:'p' AS bigint), CAST(:'h' AS boolean))},
        a => $acct, p => $id, h => $hist ? 'true' : 'false');
    return $out eq '' ? undef : $J->decode($out);
}

sub call3 {   # deactivate / activate / erase
    my ($fn, $acct, $id, @rest) = @_;
    my %v = (a => $acct, p => $id);
    my $args = "CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint)";
    if (@rest) { $v{r} = $rest[0]; $args .= ", :'r'" }
    row_json("SELECT row_to_json(r) FROM $fn($args) r", %v);
}

sub find {
    my ($acct, $by, $args) = @_;
    row_json(q{SELECT row_to_json(r) FROM prefs_profile_find(
        CAST(:'a' AS bigint), :'by', CAST(:'g' AS jsonb)) r},
        a => $acct, by => $by, g => js($args));
}

my @TABLES = qw(prefs_profile prefs_profile_email prefs_profile_phone
    prefs_profile_address prefs_profile_alternate_id prefs_profile_custom_field
    prefs_profile_group prefs_profile_tag prefs_preference prefs_consent
    prefs_event);

# Rows of the account in every data table and the outbox.
sub counts {
    my ($acct) = @_;
    my $sql = join ' UNION ALL ', map {
        "SELECT '$_', count(*) FROM $_ WHERE account_id = CAST(:'a' AS bigint)"
    } @TABLES;
    return { map { split /\|/ } split /\n/, psql($sql, a => $acct) };
}

sub last_event {
    psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)",
               a => $_[0]);
}

# The account's events after event id $after: [{type, entity, profile,
# data, prev, by}], in order.
sub events {
    my ($acct, $after) = @_;
    my $out = psql(q{SELECT coalesce(json_agg(json_build_object('type', event_type,
        'entity', entity, 'profile', profile_id, 'data', data, 'prev', previous_data,
        'by', recorded_by) ORDER BY event_id), '[]')
      FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)
       AND event_id > CAST(:'e' AS bigint)}, a => $acct, e => $after // 0);
    return $J->decode($out);
}

sub types { [map { $_->{type} } @{$_[0]}] }

# Every preference of a profile document, wherever it is nested, with the
# contact point it sits in as Contact (the email address, the phone number,
# the AddressId; undef for ProfilePreferences).
sub all_prefs {
    my ($p) = @_;
    my @all = map { { %$_, Contact => undef } } @{$p->{ProfilePreferences}};
    for my $e (@{$p->{Emails}}) {
        push @all, map { { %$_, Contact => $e->{EmailAddress} } } @{$e->{EmailPreferences}};
    }
    for my $ph (@{$p->{PhoneNumbers}}) {
        push @all, map { { %$_, Contact => $ph->{PhoneNumber} } } @{$ph->{PhonePreferences}};
    }
    for my $a (@{$p->{Addresses}}) {
        push @all, map { { %$_, Contact => $a->{AddressId} } } @{$a->{AddressPreferences}};
    }
    return \@all;
}

my $A = account('dataA');
my $B = account('dataB');

# A UserProfilePreference (mypreferences-api.md 5.2): the preferences of a
# contact point nested in it, the profile-level ones on the channel's default
# contact point.
my %FULL = (
    CustomerName => { Prefix => 'Dr', FirstName => 'Jane', LastName => 'Doe' },
    DefaultLocale => 'en_us', CustomerType => 'Consumer',
    RegistrationConfirmed => JSON::PP::true,
    AlternateIds => [{ Type => 'CRMId', Value => "C-$A" }],
    Emails => [{ EmailAddress => 'jane@example.com', EmailAddressType => 'Personal',
                 EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                     PreferenceAttributes => [{ Key => 'Topic', Value => 'garden' }], CustomerDate => '2026-01-05' }] },
               { EmailAddress => 'jd@work.example', EmailAddressType => 'Work', IsDefault => JSON::PP::true }],
    PhoneNumbers => [{ PhoneNumber => '+1 (555) 010-0100', PhoneNumberType => 'Mobile', IsMobile => JSON::PP::true,
                       PhonePreferences => [{ FilterId => 'NewsletterText', PreferenceType => 2,
                           FrequencyId => 'M', CustomerDate => '2026-01-05' }] }],
    Addresses => [{ Address1 => '1 Main St', City => 'Springfield', PostalCode => '12345', AddressType => 'Home' }],
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Garden' },
                     { Name => 'HouseholdSize', Value => 3 },
                     { Name => 'PaperlessBilling', Value => JSON::PP::true },
                     { Name => 'Birthday', Value => '1980-02-29' }],
    Groups => [{ Type => 'Household', Name => 'Does' }],
    Tags => ['VIP'],
    ProfilePreferences => [
        { FilterId => 'ProductUpdatesMail', PreferenceType => 2, CustomerDate => '2026-07-01T10:00:00' },
        { FilterId => 'PartnerOffersEmail', PreferenceType => 1,
          CustomerDate => '2026-03-01T12:00:00+02:00' } ],
    Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1,
                   ConsentDate => '2026-01-05T00:00:00Z' }],
);

# --------------------------------------------------------------------------
# 1. create

my $before = counts($A);
my $e0 = last_event($A);
my $r = create($A, \%FULL);
is($r->{outcome}, 'created', 'create: created') or diag explain $r;
my $P = $r->{profile_id};
ok($P, 'create: a profile id');

my $p = get($A, $P);
is($p->{ProfileId}, $P, 'get: ProfileId');
is_deeply([@{$p->{CustomerName}}{qw(Prefix FirstName MiddleName LastName Suffix)}, @$p{qw(DefaultLocale CustomerType)}],
          ['Dr', 'Jane', '', 'Doe', '', 'en-US', 'Consumer'], 'get: CustomerName, canonical locale');
ok($p->{RegistrationConfirmed} && $p->{IsActive}, 'get: RegistrationConfirmed, IsActive');
is_deeply($p->{AlternateIds}, [{ Type => 'CRMId', Value => "C-$A" }], 'get: AlternateIds');
is_deeply([map { [$_->{EmailAddress}, $_->{EmailAddressType}, $_->{IsDefault} ? 1 : 0] } @{$p->{Emails}}],
          [['jane@example.com', 'Personal', 0], ['jd@work.example', 'Work', 1]],
          'get: Emails, one default');
is($p->{PhoneNumbers}[0]{PhoneNumber}, '+15550100100', 'get: phone number normalized');
is($p->{PhoneNumbers}[0]{PhoneNumberType}, 'Mobile', 'get: PhoneNumberType');
ok($p->{PhoneNumbers}[0]{IsMobile} && $p->{PhoneNumbers}[0]{IsDefault}, 'get: phone IsMobile, default');
is_deeply([@{$p->{Addresses}[0]}{qw(Address1 Address2 City StateProvince PostalCode CountryCode AddressType)}],
          ['1 Main St', '', 'Springfield', '', '12345', '', 'Home'], 'get: address, v3 ContactElement names');
is_deeply($p->{CustomFields}, [{ Name => 'Birthday', Value => '1980-02-29' },
    { Name => 'FavoriteCategory', Value => 'Garden' }, { Name => 'HouseholdSize', Value => '3' },
    { Name => 'PaperlessBilling', Value => 'true' }], 'get: CustomFields');
is_deeply($p->{Groups}, [{ Type => 'Household', Name => 'Does' }], 'get: Groups');
is_deeply($p->{Tags}, ['VIP'], 'get: Tags');
my %pref = map { $_->{FilterId} => $_ } @{all_prefs($p)};
is($pref{NewsletterEmail}{CustomerDate}, '2026-01-05T05:00:00.000Z',
   'CustomerDate: a date alone is 00:00 US Eastern for an opt-in');
is($pref{NewsletterText}{CustomerDate}, '2026-01-06T04:59:59.000Z',
   'CustomerDate: a date alone is 23:59:59 US Eastern for an opt-out');
is($pref{ProductUpdatesMail}{CustomerDate}, '2026-07-01T14:00:00.000Z',
   'CustomerDate: no offset is US Eastern (summer time)');
is($pref{PartnerOffersEmail}{CustomerDate}, '2026-03-01T10:00:00.000Z',
   'CustomerDate: an offset is honoured');
is($pref{PartnerOffersEmail}{ExpirationDate}, '2027-03-01T10:00:00.000Z',
   'ExpirationDate: OptInCustomerExpirationDays (365)');
is($pref{ProductUpdatesMail}{ExpirationDate}, '2031-06-30T14:00:00.000Z',
   'ExpirationDate: OptOutCustomerExpirationDays (1825)');
is($pref{NewsletterEmail}{ExpirationDate}, undef, 'ExpirationDate: none when the filter sets none');
is($pref{NewsletterEmail}{FrequencyId}, 'W', 'FrequencyId: the filter\'s default');
is($pref{NewsletterText}{FrequencyId}, 'M', 'FrequencyId: as given');
is($pref{NewsletterEmail}{Contact}, 'jane@example.com', 'EmailPreferences: on their email');
is($pref{NewsletterText}{Contact}, '+15550100100', 'PhonePreferences: on their phone');
is($pref{PartnerOffersEmail}{Contact}, 'jd@work.example',
   'a profile-level Email preference: on the default email');
is($pref{ProductUpdatesMail}{Contact}, $p->{Addresses}[0]{AddressId},
   'a profile-level Mail preference: on the default address');
is_deeply($p->{ProfilePreferences}, [], 'ProfilePreferences: none without a contact point');
is_deeply($pref{NewsletterEmail}{PreferenceAttributes}, [{ Key => 'Topic', Value => 'garden' }], 'PreferenceAttributes');
is_deeply([@{$pref{NewsletterText}}{qw(ProgramId ChannelId IsArchived)}], ['Newsletters', 'Text', JSON::PP::false],
          'read ProfilePreference: ProgramId, ChannelId');
like($pref{NewsletterText}{LastModifiedDate}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'read ProfilePreference: LastModifiedDate');
is(scalar @{$p->{Consents}}, 1, 'Consents: one');
is_deeply([@{$p->{Consents}[0]}{qw(ConsentType ConsentVersion ConsentStatus ConsentDate ExpirationDate)}],
          ['Marketing', '2.0', 1, '2026-01-05T00:00:00.000Z', '2028-01-05T00:00:00.000Z'],
          'Consents: type, version, status, dates (ExpirationInDays 730)');
is($p->{Edited}{By}, 7, 'Edited.By: the user');
like($p->{Edited}{Date}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'Edited.Date: ISO with ms');

my $ev = events($A, $e0);
is_deeply(types($ev), ['profile.created', 'contacts.alternateid.added',
    'contacts.email.added', 'contacts.email.added', 'contacts.phone.added',
    'contacts.address.added', ('customfield.added') x 4, 'group.added', 'tag.added',
    ('preference.added') x 4, 'consent.added',
    # Marketing, required by three of the filters (sql/functions/consents.sql)
    ('consent.filterassociation.created') x 3], 'create: its events');
is($ev->[0]{entity}, 'ProfileActions', 'profile.created: entity');
is($ev->[0]{profile}, $P, 'profile.created: profile id');
is($ev->[0]{by}, 7, 'profile.created: recorded by the user');
is($ev->[0]{data}{CustomerName}{FirstName}, 'Jane', 'profile.created: Data is the profile');
is_deeply($ev->[0]{data}{Emails}, $p->{Emails}, 'profile.created: Data has the emails');
is_deeply($ev->[2]{data}, { EmailId => $p->{Emails}[0]{EmailId}, EmailAddress => 'jane@example.com',
          EmailAddressType => 'Personal', IsDefault => JSON::PP::true },
          'contacts.email.added: Data (the first email is the default until the one marked IsDefault comes)');
is($ev->[2]{entity}, 'Contacts', 'contacts.email.added: entity');
is_deeply($ev->[10]{data}, { Type => 'Household', Name => 'Does' }, 'group.added: Data');
is_deeply($ev->[11]{data}, { Tag => 'VIP' }, 'tag.added: Data');
is_deeply([@{$ev->[12]{data}}{qw(FilterId AddressId)}], ['ProductUpdatesMail', $p->{Addresses}[0]{AddressId}],
          'preference.added: Data, with the contact point');
is_deeply([@{$ev->[14]{data}}{qw(FilterId EmailAddress)}], ['NewsletterEmail', 'jane@example.com'],
          'preference.added: Data, with the email');
is($ev->[16]{data}{ConsentStatus}, 1, 'consent.added: Data');
ok(!grep({ defined $_->{prev} } @$ev), 'create: no PreviousData');
my $after = counts($A);
is($after->{prefs_profile} - $before->{prefs_profile}, 1, 'create: one profile row');
is($after->{prefs_event} - $before->{prefs_event}, 20, 'create: 20 events');

# a minimal profile
$r = create($A, { CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] });
is($r->{outcome}, 'created', 'create: minimal profile');
my $P2 = $r->{profile_id};

# --------------------------------------------------------------------------
# validation: invalid, the field named, nothing left behind

psql(q{SELECT prefs_config_write(CAST(:'a' AS bigint), 'Filter', 'PartnerOffersPhone',
       NULL, 'deactivate')}, a => $A);

my $long = 'x' x 51;
my @bad = (
    [{ Nickname => 'x' }, qr/^Nickname is not a known field/],
    [{ customerName => {} }, qr/^customerName is not a known field \(field names are case-sensitive: CustomerName\)/],
    [{ ProfileId => 5 }, qr/^ProfileId is assigned by the server/],
    [{ CustomerName => { FirstName => $long } }, qr/^CustomerName\.FirstName must be at most 50 characters/],
    [{ CustomerName => { LastName => 5 } }, qr/^CustomerName\.LastName must be a string/],
    [{ DefaultLocale => 'es-ES' }, qr/^DefaultLocale 'es-ES' is not an active locale/],
    [{ DefaultLocale => 'en-US-x-aaaaaaaaaaaa' }, qr/^DefaultLocale must be a locale id of at most 15/],
    [{ CustomerType => 'Alien' }, qr/^CustomerType 'Alien' is not an active customer type/],
    [{ RegistrationConfirmed => 'yes' }, qr/^RegistrationConfirmed must be true or false/],
    [{ AlternateIds => [{ Type => 'SSN', Value => '1' }] }, qr/^AlternateIds\[0\]\.Type 'SSN' is not an active alternate id type/],
    [{ AlternateIds => [{ Type => 'CRMId' }] }, qr/^AlternateIds\[0\]\.Value is required/],
    [{ AlternateIds => {} }, qr/^AlternateIds must be an array/],
    [{ Emails => [{ EmailAddress => 'a@b.example', Bogus => 1 }] }, qr/^Emails\[0\]\.Bogus is not a known field/],
    [{ Emails => [{ EmailAddress => 'not-an-email' }] }, qr/^Emails\[0\]\.EmailAddress must be an email address/],
    [{ Emails => [{ EmailAddress => ('a' x 250) . '@b.example' }] }, qr/^Emails\[0\]\.EmailAddress must be at most 256 characters/],
    [{ Emails => [{ EmailAddress => 'a@b.example', EmailAddressType => 'Secret' }] }, qr/^Emails\[0\]\.EmailAddressType 'Secret' is not an active email type/],
    [{ Emails => [{ EmailAddress => 'a@b.example' }, { EmailAddress => 'A@b.example' }] }, qr/^Emails\[1\]\.EmailAddress 'a\@b\.example' appears more than once/],
    [{ Emails => [{ EmailAddress => 'a@b.example', IsDefault => JSON::PP::true }, { EmailAddress => 'c@b.example', IsDefault => JSON::PP::true }] },
     qr/^Emails\[1\]\.IsDefault must be false/],
    [{ PhoneNumbers => [{ PhoneNumber => 'call me' }] }, qr/^PhoneNumbers\[0\]\.PhoneNumber must be a phone number/],
    [{ PhoneNumbers => [{ PhoneNumber => '555', PhoneNumberType => 'Pager' }] }, qr/^PhoneNumbers\[0\]\.PhoneNumberType 'Pager' is not an active phone type/],
    [{ Addresses => [{ City => 'X' }] }, qr/^Addresses\[0\]\.Address1 is required/],
    [{ Addresses => [{ Address1 => 'x', AddressType => 'Castle' }] }, qr/^Addresses\[0\]\.AddressType 'Castle' is not an active address type/],
    [{ CustomFields => [{ Name => 'ShoeSize', Value => '9' }] }, qr/^CustomFields\[0\]\.Name 'ShoeSize' is not an active custom field/],
    [{ CustomFields => [{ Name => 'HouseholdSize', Value => 'three' }] }, qr/^CustomFields\[0\]\.Value must be a number/],
    [{ CustomFields => [{ Name => 'PaperlessBilling', Value => 'yes' }] }, qr/^CustomFields\[0\]\.Value must be true or false/],
    [{ CustomFields => [{ Name => 'Birthday', Value => '2026-02-30' }] }, qr/^CustomFields\[0\]\.Value must be a date \(YYYY-MM-DD\)/],
    [{ CustomFields => [{ Name => 'LastStoreVisit', Value => 'yesterday' }] }, qr/^CustomFields\[0\]\.Value must be an ISO 8601 date/],
    [{ CustomFields => [{ Name => 'FavoriteCategory', Value => 'Cars' }] }, qr/^CustomFields\[0\]\.Value must be one of Electronics, Garden/],
    [{ CustomFields => [{ Name => 'Nickname', Value => 'x' x 4001 }] }, qr/^CustomFields\[0\]\.Value must be at most 4000 characters/],
    [{ CustomFields => [{ Name => 'Nickname', Value => 'Jay' }] }, qr/^CustomFields must include the required custom field 'FavoriteCategory'/],
    [{ Groups => [{ Type => 'Club', Name => 'x' }] }, qr/^Groups\[0\]\.Type 'Club' is not an active group type/],
    [{ Tags => ['Nobody'] }, qr/^Tags\[0\] 'Nobody' is not an active tag/],
    [{ Tags => [1] }, qr/^Tags\[0\] must be a string/],
    [{ ProfilePreferences => [{ FilterId => 'Nope', PreferenceType => 1 }] }, qr/^ProfilePreferences\[0\]\.FilterId 'Nope' is not an active filter/],
    [{ PhoneNumbers => [{ PhoneNumber => '5550100',
                          PhonePreferences => [{ FilterId => 'PartnerOffersPhone', PreferenceType => 1 }] }] },
     qr/^PhoneNumbers\[0\]\.PhonePreferences\[0\]\.FilterId 'PartnerOffersPhone' is not an active filter/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 3 }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.PreferenceType must be 1 \(opt-in\) or 2 \(opt-out\)/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'Y' }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.FrequencyId 'Y' is not a frequency of filter 'NewsletterEmail'/],
    [{ PhoneNumbers => [{ PhoneNumber => '5550100',
                          PhonePreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 }] }] },
     qr/^PhoneNumbers\[0\]\.PhonePreferences\[0\]\.FilterId 'NewsletterEmail' is a filter of the Email channel: the preferences of PhoneNumbers\[0\] must be on the Phone, Text or Fax channel/],
    [{ ProfilePreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 }] },
     qr/^ProfilePreferences\[0\]\.FilterId 'NewsletterEmail' is on the Email channel and the profile has no default email address: give the preference in Emails\[\]\.EmailPreferences/],
    [{ PhoneNumbers => [{ PhoneNumber => '5550100',
                          PhonePreferences => [{ FilterId => 'NewsletterText', PreferenceType => 1 }] }] },
     qr/^PhoneNumbers\[0\]\.PhonePreferences\[0\]\.FilterId 'NewsletterText' is on the Text channel: PhoneNumbers\[0\] must be a mobile number/],
    [{ ProfilePreferences => [{ FilterId => 'ProductUpdatesMail', PreferenceType => 1 }] },
     qr/^ProfilePreferences\[0\]\.FilterId 'ProductUpdatesMail' is on the Mail channel and the profile has no default address/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1, ChannelId => 'Mail' }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.ChannelId must be 'Email'/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                                           PreferenceAttributes => [{ Value => 'x' }] }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.PreferenceAttributes\[0\]\.Key is required/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                                           PreferenceAttributes => [{ Key => 'k', Value => 'x', Link => 1 }] }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.PreferenceAttributes\[0\]\.Link is not a known field/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                                           CustomerDate => '05/01/2026' }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.CustomerDate must be an ISO 8601 date/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 },
                                         { FilterId => 'NewsletterEmail', PreferenceType => 2 }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[1\] '.*' appears more than once/],
    [{ Consents => [{ ConsentType => 'Nope', ConsentVersion => '1', ConsentStatus => 1 }] }, qr/^Consents\[0\]\.ConsentType 'Nope' is not an active consent type/],
    [{ Consents => [{ ConsentType => 'Marketing', ConsentVersion => '1.0', ConsentStatus => 1 }] },
     qr/^Consents\[0\]\.ConsentVersion '1\.0' is not an active version of consent type 'Marketing'/],
    [{ Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 'Maybe' }] }, qr/^Consents\[0\]\.ConsentStatus must be 1 \(Granted\), 2 \(Denied\), 3 \(Revoked\) or 4 \(NotSet\)/],
    [{ Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0' }] }, qr/^Consents\[0\]\.ConsentStatus is required/],
    # the reference's names only: the flat dialect is gone
    [{ FirstName => 'Jane' }, qr/^FirstName is not a known field/],
    [{ CustomerName => 'Jane' }, qr/^CustomerName must be a JSON object/],
    [{ CustomerName => { Nickname => 'J' } }, qr/^CustomerName\.Nickname is not a known field/],
    [{ Emails => [{ Address => 'a@b.example' }] }, qr/^Emails\[0\]\.Address is not a known field/],
    [{ Emails => [{ EmailAddress => 'a@b.example' }, { EmailAddress => 'c@b.example', Type => 'Work' }] },
     qr/^Emails\[1\]\.Type is not a known field/],
    [{ PhoneNumbers => [{ Number => '5550100' }] }, qr/^PhoneNumbers\[0\]\.Number is not a known field/],
    [{ Addresses => [{ Line1 => '1 Main St' }] }, qr/^Addresses\[0\]\.Line1 is not a known field/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                                           ContactPoint => 'a@b.example' }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.ContactPoint is not a known field/],
    [{ Emails => [{ EmailAddress => 'a@b.example', EmailPreferences => {} }] },
     qr/^Emails\[0\]\.EmailPreferences must be an array/],
    [{ Emails => [{ EmailAddress => 'a@b.example',
                    EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                                           Attributes => [] }] }] },
     qr/^Emails\[0\]\.EmailPreferences\[0\]\.Attributes is not a known field/],
);
for my $case (@bad) {
    my ($body, $re) = @$case;
    # every case carries the required custom field unless it is the point
    my %b = (%$body);
    $b{CustomFields} //= [{ Name => 'FavoriteCategory', Value => 'Toys' }];
    my $c0 = counts($A);
    my $r = create($A, \%b);
    my $name = substr(js($body), 0, 90);
    is($r->{outcome}, 'invalid', "create invalid: $name");
    like($r->{message} // '', $re, "create message: $name");
    ok(!defined $r->{profile_id}, "create: no id: $name");
    is_deeply(counts($A), $c0, "create: nothing left behind: $name");
}

# the same rules on update, nothing left behind
for my $case (@bad[0, 3, 13, 23, 33, 38, 46]) {
    my ($body, $re) = @$case;
    my $c0 = counts($A);
    my $r = update($A, $P2, { CustomerName => { FirstName => 'Changed' }, %$body });
    my $name = substr(js($body), 0, 90);
    is($r->{outcome}, 'invalid', "update invalid: $name");
    like($r->{message} // '', $re, "update message: $name");
    is_deeply(counts($A), $c0, "update: nothing left behind: $name");
}
is(get($A, $P2)->{CustomerName}{FirstName}, '', 'update: an invalid update changes nothing');

is(create($A, '[1]')->{outcome}, 'invalid', 'create: a body that is not an object');

# conflict: an alternate id of another active profile
{
    my $c0 = counts($A);
    my $r = create($A, { AlternateIds => [{ Type => 'CRMId', Value => "C-$A" }],
                         Emails => [{ EmailAddress => 'x@y.example' }],
                         CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] });
    is($r->{outcome}, 'conflict', 'create: alternate id used by another profile: conflict');
    like($r->{message}, qr/AlternateIds\[0\]\.Value: alternate id 'CRMId' 'C-$A' belongs to another profile/,
         'conflict message');
    is_deeply(counts($A), $c0, 'conflict: nothing left behind');
    # the same value in another account is fine
    $r = create($B, { AlternateIds => [{ Type => 'CRMId', Value => "C-$A" }],
                      CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] });
    is($r->{outcome}, 'created', 'the same alternate id in another account');
    $r = update($A, $P2, { AlternateIds => [{ Type => 'CRMId', Value => "C-$A" }] });
    is($r->{outcome}, 'conflict', 'update: alternate id of another profile: conflict');
    is_deeply(counts($A), $c0, 'update conflict: nothing left behind');
}

# --------------------------------------------------------------------------
# 2. get, by alternate id

is(get($B, $P), undef, 'get: another account\'s profile is NULL');
is(get($A, 999999999), undef, 'get: no such profile is NULL');
my $by = psql(q{SELECT prefs_profile_by_alternate_id(CAST(:'a' AS bigint), 'CRMId', :'v', false)},
              a => $A, v => "C-$A");
is($J->decode($by)->{ProfileId}, $P, 'by alternate id');
is(q1(q{SELECT prefs_profile_by_alternate_id(CAST(:'a' AS bigint), 'LoyaltyNumber', :'v', false)},
        a => $A, v => "C-$A"), '', 'by alternate id: wrong type is NULL');

# --------------------------------------------------------------------------
# 3. update

$e0 = last_event($A);
$r = update($A, $P, {
    CustomerName => { FirstName => 'Janet', MiddleName => 'Q', Prefix => '' },
    CustomerType => 'Business', DefaultLocale => 'de-DE',
    RegistrationConfirmed => JSON::PP::false,
    Emails => [{ EmailAddress => 'JANE@example.com', EmailAddressType => 'Work',
                 EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 2,
                                        CustomerDate => '2026-02-01' }] },
               { EmailAddress => 'new@example.com',
                 EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 }] }],
    PhoneNumbers => [{ PhoneNumber => '15550100200', PhoneNumberType => 'Home' }],
    CustomFields => [{ Name => 'HouseholdSize', Value => '4' }, { Name => 'Nickname', Value => 'JJ' },
                     { Name => 'Birthday', Value => undef }],
    Groups => [{ Type => 'Household', Name => 'Does' }, { Type => 'Company', Name => 'Acme' }],
    Tags => ['VIP', 'Early Adopter'],
    AlternateIds => [{ Type => 'CRMId', Value => "C2-$A" }],
    Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 'Revoked' },
                 { ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 2 }],
});
is($r->{outcome}, 'updated', 'update: updated') or diag explain $r;
$ev = events($A, $e0);
is_deeply(types($ev), [
    'standardfield.prefix.deleted', 'standardfield.firstname.updated',
    'standardfield.middlename.added', 'standardfield.defaultlocale.updated',
    'contacts.customertype.updated', 'standardfield.registrationstatus.updated',
    'contacts.alternateid.updated',
    'contacts.email.updated', 'contacts.email.added', 'contacts.phone.added',
    'customfield.updated', 'customfield.added', 'customfield.deleted',
    'group.added', 'tag.added', 'preference.updated', 'preference.added',
    # revoking Marketing archives the preferences that require it (sql/functions/consents.sql)
    'consent.updated', ('preference.archived') x 4, 'consent.added',
    ('consent.filterassociation.deactivated') x 3, 'profile.updated'], 'update: its events');
my %e = map { $_->{type} => $_ } @$ev;
is_deeply([$e{'standardfield.firstname.updated'}{data}, $e{'standardfield.firstname.updated'}{prev}],
          [{ FirstName => 'Janet' }, { FirstName => 'Jane' }], 'firstname.updated: Data, PreviousData');
is($e{'standardfield.firstname.updated'}{entity}, 'StandardFields', 'standardfield entity');
is_deeply([$e{'standardfield.prefix.deleted'}{data}, $e{'standardfield.prefix.deleted'}{prev}],
          [{ Prefix => '' }, { Prefix => 'Dr' }], 'prefix.deleted: Data, PreviousData');
is_deeply([$e{'standardfield.middlename.added'}{data}, $e{'standardfield.middlename.added'}{prev}],
          [{ MiddleName => 'Q' }, undef], 'middlename.added: Data only');
is_deeply([$e{'standardfield.defaultlocale.updated'}{data}, $e{'standardfield.defaultlocale.updated'}{prev}],
          [{ DefaultLocale => 'de-DE' }, { DefaultLocale => 'en-US' }], 'defaultlocale.updated');
is_deeply([$e{'contacts.customertype.updated'}{data}, $e{'contacts.customertype.updated'}{prev}],
          [{ CustomerType => 'Business' }, { CustomerType => 'Consumer' }], 'customertype.updated');
is_deeply($e{'standardfield.registrationstatus.updated'}{prev}, { RegistrationConfirmed => JSON::PP::true },
          'registrationstatus.updated: PreviousData');
is_deeply([$e{'contacts.alternateid.updated'}{data}, $e{'contacts.alternateid.updated'}{prev}],
          [{ Type => 'CRMId', Value => "C2-$A" }, { Type => 'CRMId', Value => "C-$A" }], 'alternateid.updated');
is_deeply([$e{'contacts.email.updated'}{data}{EmailAddressType}, $e{'contacts.email.updated'}{prev}{EmailAddressType}],
          ['Work', 'Personal'], 'email.updated: matched by address, Type Data/PreviousData');
is($e{'contacts.email.updated'}{data}{EmailAddress}, 'JANE@example.com', 'email.updated: the spelling given');
is($e{'contacts.phone.added'}{data}{PhoneNumber}, '15550100200', 'phone.added');
is_deeply([$e{'customfield.updated'}{data}, $e{'customfield.updated'}{prev}],
          [{ Name => 'HouseholdSize', Value => '4' }, { Name => 'HouseholdSize', Value => '3' }], 'customfield.updated');
is_deeply([$e{'customfield.deleted'}{data}, $e{'customfield.deleted'}{prev}],
          [{ Name => 'Birthday' }, { Name => 'Birthday', Value => '1980-02-29' }], 'customfield.deleted');
is_deeply($e{'group.added'}{data}, { Type => 'Company', Name => 'Acme' }, 'group.added: only the new group');
is_deeply($e{'tag.added'}{data}, { Tag => 'Early Adopter' }, 'tag.added: only the new tag');
is_deeply([$e{'preference.updated'}{data}{PreferenceType}, $e{'preference.updated'}{prev}{PreferenceType}],
          [2, 1], 'preference.updated: Data, PreviousData');
is($e{'preference.updated'}{data}{CustomerDate}, '2026-02-02T04:59:59.000Z', 'preference.updated: opt-out date');
is($e{'preference.added'}{data}{EmailAddress}, 'new@example.com', 'preference.added: the new contact point');
is($e{'preference.updated'}{data}{EmailAddress}, 'JANE@example.com', 'preference.updated: its contact point');
is_deeply([$e{'consent.updated'}{data}{ConsentStatus}, $e{'consent.updated'}{prev}{ConsentStatus}],
          [3, 1], 'consent.updated: Data, PreviousData');
is($e{'consent.added'}{data}{ConsentStatus}, 2, 'consent.added: status by number');
is_deeply([$e{'profile.updated'}{data}{CustomerName}{FirstName}, $e{'profile.updated'}{prev}],
          ['Janet', undef], 'profile.updated: Data is the profile after, no PreviousData');

$p = get($A, $P);
is($p->{CustomerName}{FirstName}, 'Janet', 'update: FirstName replaced');
is($p->{CustomerName}{LastName}, 'Doe', 'update: LastName left alone');
is(scalar @{$p->{Emails}}, 3, 'update: emails upserted (3)');
is(scalar @{$p->{PhoneNumbers}}, 2, 'update: phones upserted (2)');
is(scalar @{all_prefs($p)}, 5, 'update: preferences upserted (5)');
is_deeply([map { $_->{FilterId} } @{$p->{Emails}[2]{EmailPreferences}}], ['NewsletterEmail'],
          'update: the new email\'s preference nested in it');
is(scalar @{$p->{Consents}}, 2, 'get: current consents only');
is(scalar @{get($A, $P, 1)->{Consents}}, 3, 'get: with history, every consent');
ok(!(grep { $_->{Name} eq 'Birthday' } @{$p->{CustomFields}}), 'update: custom field removed');

# a repeated update changes nothing and appends nothing
$e0 = last_event($A);
$r = update($A, $P, { CustomerName => { FirstName => 'Janet' }, Emails => [{ EmailAddress => 'new@example.com' }],
                      Tags => ['VIP'], Groups => [{ Type => 'Company', Name => 'Acme' }],
                      # (NewsletterEmail was archived with the Marketing consent)
                      ProfilePreferences => [{ FilterId => 'ProductUpdatesMail', PreferenceType => 2 }] });
is($r->{outcome}, 'updated', 'no-op update: updated');
is_deeply(events($A, $e0), [], 'no-op update: no events');

# IsMobile true -> false archives the phone's text preferences
$e0 = last_event($A);
$r = update($A, $P, { PhoneNumbers => [{ PhoneNumber => '+15550100100', IsMobile => JSON::PP::false }] });
is($r->{outcome}, 'updated', 'update: IsMobile false');
# (its text preference was archived with the Marketing consent: see t/121)
is_deeply(types(events($A, $e0)), ['contacts.phone.updated', 'profile.updated'],
          'IsMobile false: contacts.phone.updated');

is(update($B, $P, { CustomerName => { FirstName => 'X' } })->{outcome}, 'not_found', 'update: another account\'s profile: not_found');
is(update($A, 999999999, { CustomerName => { FirstName => 'X' } })->{outcome}, 'not_found', 'update: no such profile');
is(update($A, $P, { ProfileId => $P + 1 })->{outcome}, 'invalid', 'update: ProfileId differing from the path');
is(update($A, $P, { ProfileId => $P })->{outcome}, 'updated', 'update: ProfileId equal to the path');

# --------------------------------------------------------------------------
# deactivate, activate, erase

is(call3('prefs_profile_deactivate', $B, $P, 'x')->{outcome}, 'not_found', 'deactivate: other account');
$e0 = last_event($A);
is(call3('prefs_profile_deactivate', $A, $P2, 'Customer request')->{outcome}, 'deactivated', 'deactivate');
is(call3('prefs_profile_deactivate', $A, $P2, 'again')->{outcome}, 'deactivated', 'deactivate again');
$ev = events($A, $e0);
is_deeply(types($ev), ['profile.deactivated'], 'deactivate: one event');
is_deeply($ev->[0]{data}, { ProfileId => $P2, ReasonCode => 'Customer request' }, 'profile.deactivated: Data');
$p = get($A, $P2);
ok(!$p->{IsActive}, 'deactivated: IsActive false');
is($p->{ReasonCode}, 'Customer request', 'deactivated: ReasonCode');
is(call3('prefs_profile_deactivate', $A, $P2, 'x' x 257)->{outcome}, 'invalid', 'deactivate: ReasonCode too long');
is(call3('prefs_profile_activate', $B, $P2)->{outcome}, 'not_found', 'activate: other account');
$e0 = last_event($A);
is(call3('prefs_profile_activate', $A, $P2)->{outcome}, 'reactivated', 'activate');
is(call3('prefs_profile_activate', $A, $P2)->{outcome}, 'reactivated', 'activate again');
is_deeply(types(events($A, $e0)), ['profile.reactivated'], 'activate: one event');
ok(get($A, $P2)->{IsActive}, 'reactivated: IsActive');

is(call3('prefs_profile_erase', $B, $P)->{outcome}, 'not_found', 'erase: other account');
$e0 = last_event($A);
is(call3('prefs_profile_erase', $A, $P)->{outcome}, 'erased', 'erase');
$ev = events($A, $e0);
is_deeply(types($ev), ['profile.deleted'], 'erase: profile.deleted');
is_deeply($ev->[0]{data}, { ProfileId => $P }, 'profile.deleted: no personal data');
$p = get($A, $P, 1);
is_deeply([@{$p->{CustomerName}}{qw(FirstName LastName)}, $p->{IsActive}], ['', '', JSON::PP::false],
          'erased: no names, inactive');
is_deeply([map { scalar @{$p->{$_}} } qw(Emails PhoneNumbers Addresses AlternateIds CustomFields Groups Tags)],
          [0, 0, 0, 0, 0, 0, 0], 'erased: no contact points, ids, custom fields, groups, tags');
is_deeply([map { [scalar @{$_->{PreferenceAttributes}}, $_->{IsArchived}] } @{$p->{ProfilePreferences}}],
          [([0, JSON::PP::true]) x 5],
          'erased: the preferences archived, without attributes or contact points (profile-level)');
is(scalar @{$p->{Consents}}, 3, 'erased: consent history kept');
my $leak = q1(q{SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)
    AND profile_id = CAST(:'p' AS bigint) AND (data::text ~ 'Jan|example' OR previous_data::text ~ 'Jan|example')},
    a => $A, p => $P);
is($leak, 0, 'erased: no personal data left in its events');
is(update($A, $P, { CustomerName => { FirstName => 'X' } })->{outcome}, 'not_found', 'erased: cannot be updated');
is(call3('prefs_profile_erase', $A, $P)->{outcome}, 'not_found', 'erase twice: not_found');
is(q1(q{SELECT prefs_profile_by_alternate_id(CAST(:'a' AS bigint), 'CRMId', :'v', false)},
        a => $A, v => "C2-$A"), '', 'erased: its alternate id is gone');

# --------------------------------------------------------------------------
# 4. find

my $F = account('dataF');
my $q = create($F, { CustomerName => { FirstName => 'Q' },
                     Emails => [{ EmailAddress => 'q@find.example',
                         EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1,
                             PreferenceAttributes => [{ Key => 'Topic', Value => 'tea' },
                                                      { Key => 'HomeStore', Value => 'Soho' }] }] }],
                     PhoneNumbers => [{ PhoneNumber => '+44 20 7946 0000', IsMobile => JSON::PP::true }],
                     Addresses => [{ Address1 => '10 Downing St', City => 'London', PostalCode => 'SW1A 2AA' }],
                     CustomFields => [{ Name => 'FavoriteCategory', Value => 'Kitchen' },
                                      { Name => 'Nickname', Value => 'Q' }],
                   });
is($q->{outcome}, 'created', 'find: a profile');
my $Q = $q->{profile_id};
sub found_ids {
    my $r = find(@_);
    return $r->{outcome} eq 'ok' ? [map { $_->{ProfileId} } @{$J->decode($r->{body})}] : $r->{outcome};
}
is_deeply(found_ids($F, 'email', { emailAddress => 'Q@FIND.example' }), [$Q], 'find by email (any case)');
is_deeply(found_ids($F, 'email', { emailAddress => 'nobody@find.example' }), [], 'find by email: none');
is_deeply(found_ids($B, 'email', { emailAddress => 'q@find.example' }), [], 'find by email: not in another account');
is_deeply(found_ids($F, 'phone', { phoneNumber => '+442079460000' }), [$Q], 'find by phone (normalized)');
is_deeply(found_ids($F, 'phone', { phoneNumber => '442079460000' }), [$Q], 'find by phone: the digits without "+"');
is_deeply(found_ids($F, 'phone', { phoneNumber => '+44 (20) 7946-0000' }), [$Q], 'find by phone: any spelling');
is_deeply(found_ids($F, 'phone', { phoneNumber => '2079460000' }), [], 'find by phone: other digits find nothing');
is(find($F, 'phone', { phoneNumber => '+' })->{outcome}, 'invalid', 'find by phone: no digits is invalid');
is_deeply(found_ids($F, 'address', { address1 => '10 downing st', postalCode => 'sw1a 2aa' }), [$Q], 'find by address');
is_deeply(found_ids($F, 'address', { address1 => '10 Downing St', city => 'Paris' }), [], 'find by address: every field must match');
is(find($F, 'address', { line1 => '10 Downing St' })->{outcome}, 'invalid', 'find by address: the reference\'s names only');
is(find($F, 'address', {})->{outcome}, 'invalid', 'find by address: nothing to match is invalid');
is_deeply(found_ids($F, 'customfields', [{ Name => 'Nickname', Value => 'Q' }, { Name => 'FavoriteCategory', Value => 'Kitchen' }]),
          [$Q], 'find by custom fields (all)');
is_deeply(found_ids($F, 'customfields', [{ Name => 'Nickname', Value => 'Q' }, { Name => 'FavoriteCategory', Value => 'Toys' }]),
          [], 'find by custom fields: all must match');
is_deeply(found_ids($F, 'attributes', [{ Key => 'Topic', Value => 'tea' }]), [$Q], 'find by attributes');
is_deeply(found_ids($F, 'attributes', [{ Key => 'Topic', Value => 'tea' }, { Key => 'HomeStore', Value => 'Soho' }]),
          [$Q], 'find by attributes (two)');
is_deeply(found_ids($F, 'attributes', [{ Key => 'Topic', Value => 'coffee' }]), [], 'find by attributes: none');
is(find($F, 'attributes', [{ Key => 'Topic' }])->{outcome}, 'invalid', 'find by attributes: malformed');
# group profiles: the profile and those sharing a group (type and name) with it
my @G = map { create($F, { CustomerName => { LastName => "G$_" },
                           PhoneNumbers => [{ PhoneNumber => "+1 555 0177 00$_" }],
                           CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }],
                           Groups => $_ == 3 ? [{ Type => 'Company', Name => 'Smiths' }]
                                             : [{ Type => 'Household', Name => 'Smiths' }] })->{profile_id} } 1 .. 3;
my $lone = create($F, { CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }],
                        PhoneNumbers => [{ PhoneNumber => '+1 555 0177 009' }] })->{profile_id};
is_deeply(found_ids($F, 'group', { profileId => "$G[0]" }), [@G[0, 1]], 'group: the members of its groups, itself included');
is_deeply(found_ids($F, 'group', { profileId => "$G[2]" }), [$G[2]], 'group: same name, another group type is another group');
is_deeply(found_ids($F, 'group', { profileId => "$lone" }), [$lone], 'group: a profile in no group is alone');
is(find($F, 'group', { profileId => '999999999' })->{outcome}, 'not_found', 'group: no such profile');
is(find($B, 'group', { profileId => "$G[0]" })->{outcome}, 'not_found', 'group: another account\'s profile');
is(find($F, 'group', { profileId => 'x' })->{outcome}, 'not_found', 'group: not an id');
is_deeply(found_ids($F, 'groupphone', { phoneNumber => '15550177002' }), [@G[0, 1]],
          'group by phone: the profile of the number and its group');
is_deeply(found_ids($F, 'groupphone', { phoneNumber => '15550177009' }), [$lone], 'group by phone: no group');
is_deeply(found_ids($F, 'groupphone', { phoneNumber => '15550177555' }), [], 'group by phone: nobody');

my $body = $J->decode(find($F, 'email', { emailAddress => 'q@find.example' })->{body});
is($body->[0]{Emails}[0]{EmailAddress}, 'q@find.example', 'find: the body holds whole profiles');

psql(q{SELECT prefs_profile_create(CAST(:'a' AS bigint), 7,
    jsonb_build_object('CustomFields', jsonb_build_array(
        '{"Name":"FavoriteCategory","Value":"Outdoor"}'::jsonb),
        'Emails', jsonb_build_array(jsonb_build_object('EmailAddress', 'many@find.example'))))
    FROM generate_series(1, 51)}, a => $F);
is(find($F, 'customfields', [{ Name => 'FavoriteCategory', Value => 'Outdoor' }])->{outcome}, 'too_many',
   'find: 51 matches: too_many');
is(find($F, 'email', { emailAddress => 'many@find.example' })->{outcome}, 'too_many', 'find by email: too_many');
ok(!defined find($F, 'email', { emailAddress => 'many@find.example' })->{body}, 'too_many: no body');
psql(q{UPDATE prefs_profile_email SET is_active = false WHERE account_id = CAST(:'a' AS bigint)
       AND address = 'many@find.example' AND email_id = (SELECT max(email_id) FROM prefs_profile_email
       WHERE account_id = CAST(:'a' AS bigint))}, a => $F);
is(scalar @{found_ids($F, 'email', { emailAddress => 'many@find.example' })}, 50, 'find: 50 matches are fine');

# --------------------------------------------------------------------------
# 5. event partitions

my $today = psql_value(q{SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')});
my $in7   = psql_value(q{SELECT to_char((now() AT TIME ZONE 'UTC')::date + 7, 'YYYYMMDD')});
ok(psql_value("SELECT to_regclass('prefs_event_p$today') IS NOT NULL") eq 't', 'partition: today');
ok(psql_value("SELECT to_regclass('prefs_event_p$in7') IS NOT NULL") eq 't', 'partition: 7 days ahead');
is(psql_value(q{SELECT count(*) FROM prefs_event e WHERE e.tableoid = 'prefs_event_default'::regclass
                 AND e.account_id = CAST(:'a' AS bigint)}, a => $A), 0, 'events land in the daily partition');

# an event beyond the partitions goes to DEFAULT, and moves when its day comes
# (the first day ahead without a partition, so that the file can be rerun)
my $ahead = psql_value(q{SELECT min(n) FROM generate_series(8, 400) n
    WHERE to_regclass('prefs_event_p' || to_char((now() AT TIME ZONE 'UTC')::date + n, 'YYYYMMDD')) IS NULL});
my $far = psql_value(q{SELECT to_char((now() AT TIME ZONE 'UTC')::date + CAST(:'n' AS int), 'YYYYMMDD')}, n => $ahead);
psql(q{INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)
       VALUES (CAST(:'a' AS bigint), 'test.far', 'Other', now() + make_interval(days => CAST(:'n' AS int)))},
     a => $A, n => $ahead);
is(psql_value(q{SELECT e.tableoid::regclass FROM prefs_event e WHERE e.account_id = CAST(:'a' AS bigint)
                 AND e.event_type = 'test.far'}, a => $A), 'prefs_event_default', 'a missing partition: DEFAULT');
my $made = q1(q{SELECT string_agg(partition_name, ',') FROM prefs_event_partitions(CAST(:'n' AS int), 15) WHERE action = 'created'},
              n => $ahead);
like($made, qr/prefs_event_p$far/, 'prefs_event_partitions: creates the days ahead');
is(psql_value(q{SELECT e.tableoid::regclass FROM prefs_event e WHERE e.account_id = CAST(:'a' AS bigint)
                 AND e.event_type = 'test.far'}, a => $A), "prefs_event_p$far", 'its DEFAULT rows move in');
is(q1(q{SELECT count(*) FROM prefs_event_partitions(CAST(:'n' AS int), 15) WHERE action = 'created'}, n => $ahead), 0,
   'prefs_event_partitions: idempotent');

# old partitions and old DEFAULT rows go
psql(q{CREATE TABLE IF NOT EXISTS prefs_event_p20000101 PARTITION OF prefs_event
       FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-01-02 00:00+00')});
psql(q{INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)
       VALUES (CAST(:'a' AS bigint), 'test.old', 'Other', '2000-01-01 12:00+00'),
              (CAST(:'a' AS bigint), 'test.older', 'Other', '1999-06-01 12:00+00')}, a => $A);
my $dropped = psql(q{SELECT string_agg(partition_name, ',') FROM prefs_event_partitions(7, 15) WHERE action = 'dropped'});
like($dropped, qr/prefs_event_p20000101/, 'prefs_event_partitions: drops old partitions');
is(psql_value(q{SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)
                 AND event_type IN ('test.old', 'test.older')}, a => $A), 0, 'old events are gone');
ok(psql_value("SELECT to_regclass('prefs_event_p$today') IS NOT NULL") eq 't', 'today\'s partition stays');
psql(q{DELETE FROM prefs_event WHERE account_id = CAST(:'a' AS bigint) AND event_type LIKE 'test.%'}, a => $A);

done_testing();
