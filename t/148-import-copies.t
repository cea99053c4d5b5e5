#!/usr/bin/perl
# The rendered copies an import's batch writes (prefs_engine_create, the
# set-based path of new profiles, which renders the batch's copies at once
# with prefs_data_profiles_json) are, byte for byte, the text the Data
# API's renderer (prefs_data_profile_json, what GET Profile/{id} answers
# when it renders) gives for the same profiles: every field kind (name,
# locale, customer type, registration, alternate ids, emails, phones,
# addresses with their preferences and attributes, profile-level
# preferences resolved to a contact point, custom fields of each data type,
# groups, tags, consents with their filter links and the newest record of
# a type).  prefs_data_profiles_json also renders profiles with a history
# (updated, contact points removed, preferences archived, consents
# revoked, deactivated) as the renderer does, and never another account's.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of a migrated database (skipped
#                              when unset)

use strict;
use warnings;

use FindBin ();
use lib $FindBin::Bin;
use Test::More;

BEGIN {
    plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set'
        unless $ENV{TEST_NGINX_PREFS_DATABASE};
    $ENV{TEST_NGINX_PREFS_TOP} //= "$FindBin::Bin/..";
}

use JSON::PP ();
use PrefsTest;

my $J = JSON::PP->new->utf8->canonical;
my $T = JSON::PP::true;
sub acct { demo_account('copies') }

# prefs_engine_apply with an import's options; $plain: the items' indexes
# the import passes as checked at stage time (prefs.engine_plain), as
# prefs_import_run does; undef: the engine checks them
sub import_batch {
    my ($acct, $items, $plain) = @_;
    my $set = defined $plain
        ? "SET prefs.engine_plain TO :'k';\n" : '';
    my $out = psql($set . "SELECT coalesce(json_agg(row_to_json(r) ORDER BY r.item), '[]') FROM prefs_engine_apply("
        . "CAST(:'a' AS bigint), 7, CAST(:'i' AS jsonb), CAST(:'o' AS jsonb)) r",
        a => $acct, i => $J->encode($items), k => '{' . join(',', @{$plain // []}) . '}',
        o => $J->encode({ImportAction => 'Add', SuppressEvents => JSON::PP::false,
                         Source => 'import:148'}));
    return $J->decode($out);
}

sub ids { '{' . join(',', @_) . '}' }

# profile id -> [stored copy, current?, the renderer's text, md5 of the copy]
sub copies {
    my ($acct, @pids) = @_;
    my %c;
    for (split /\n/, psql(q{SELECT json_build_array(x.profile_id, d.doc, d.src_xmin = x.xmin,
            prefs_data_profile_json(x, false)::text, md5(d.doc))
          FROM prefs_profile x LEFT JOIN prefs_profile_doc d USING (profile_id)
         WHERE x.account_id = CAST(:'a' AS bigint) AND x.profile_id = ANY (CAST(:'p' AS bigint[]))},
            a => $acct, p => ids(@pids))) {
        my $r = $J->decode($_);
        $c{$r->[0]} = [@$r[1 .. 4]];
    }
    return \%c;
}

# every profile of the account: the set-based rendering and the renderer's
sub both_renderings {
    my ($acct) = @_;
    my @rows = map { $J->decode($_) } split /\n/, psql(q{SELECT json_build_array(x.profile_id,
            prefs_data_profile_json(x, false)::text, s.doc, s.src_xmin = x.xmin)
          FROM prefs_profile x
          LEFT JOIN prefs_data_profiles_json(CAST(:'a' AS bigint),
                    ARRAY(SELECT profile_id FROM prefs_profile
                           WHERE account_id = CAST(:'a' AS bigint))) s USING (profile_id)
         WHERE x.account_id = CAST(:'a' AS bigint) ORDER BY x.profile_id}, a => $acct);
    return \@rows;
}

my @KINDS = ('CustomerName', 'DefaultLocale', 'CustomerType', 'RegistrationConfirmed', 'AlternateIds',
             'Emails', 'PhoneNumbers', 'Addresses', 'CustomFields', 'Groups', 'Tags',
             'ProfilePreferences', 'Consents');

# bodies with every field kind, several values of each
sub body {
    my ($n) = @_;
    return {
        CustomerName => {Prefix => 'Dr', FirstName => "F\x{e9}lix $n", MiddleName => 'Q',
                         LastName => "O'Brien \"$n\"", Suffix => 'Jr'},
        DefaultLocale => $n % 2 ? 'de_de' : 'en-US', CustomerType => 'Business',
        RegistrationConfirmed => $n % 2 ? $T : JSON::PP::false,
        AlternateIds => [{Type => 'LoyaltyNumber', Value => "L-$n"}, {Type => 'CRMId', Value => "c148-$n"}],
        Emails => [
            {EmailAddress => "e$n\@example.com", EmailAddressType => 'Personal', IsDefault => $T,
             EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W',
                                   PreferenceAttributes => [{Key => 'Topic', Value => "T\\$n"}, {Key => 'Empty'}]},
                                  {FilterId => 'PartnerOffersEmail', PreferenceType => 2}]},
            {EmailAddress => "W$n\@Work.Example", EmailAddressType => 'Work',
             EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2}]}],
        PhoneNumbers => [
            {PhoneNumber => "555 030 00$n", PhoneNumberType => 'Home',
             PhonePreferences => [{FilterId => 'PartnerOffersPhone', PreferenceType => 1}]},
            {PhoneNumber => "+1 (555) 020-00$n", PhoneNumberType => 'Mobile', IsMobile => $T,
             PhonePreferences => [{FilterId => 'NewsletterText', PreferenceType => 1}]}],
        Addresses => [
            {Address1 => "$n Elm St", Address2 => 'Apt 2', City => 'Springfield', StateProvince => 'IL',
             PostalCode => '62701', CountryCode => 'US', AddressType => 'Home', IsDefault => $T,
             AddressPreferences => [{FilterId => 'ProductUpdatesMail', PreferenceType => 2}]},
            {Address1 => "$n Oak Ave", City => 'Fairview'}],
        CustomFields => [{Name => 'FavoriteCategory', Value => 'Garden'}, {Name => 'Nickname', Value => "N\x{fc}$n"},
                         {Name => 'HouseholdSize', Value => ' 4 '}, {Name => 'PaperlessBilling', Value => $T},
                         {Name => 'Birthday', Value => '1980-02-28'}],
        Groups => [{Type => 'Household', Name => "H$n"}, {Type => 'Company', Name => 'Acme'}],
        Tags => ['VIP', 'Early Adopter', 'Trade Show 2025'],
        # the Text filter: the first mobile phone; the Email filter: the first email
        ProfilePreferences => [{FilterId => 'ProductUpdatesEmail', PreferenceType => 1},
                               {FilterId => 'AccountAlertsText', PreferenceType => 1}],
        Consents => [
            {ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 1,
             ConsentDate => '2024-01-02T00:00:00Z'},
            {ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 'Denied',
             ConsentDate => '2024-02-03T04:05:06Z'},
            {ConsentType => 'TextMessaging', ConsentVersion => '2024-01', ConsentStatus => 4},
            {ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 2,
             ConsentDate => '2024-03-01T00:00:00Z'}],
    };
}

my $A = acct();
my @items = map { body($_) } 1 .. 6;
is_deeply([grep { !exists $items[0]{$_} } @KINDS], [], 'the bodies carry every field kind');

# a batch as the import runs it (checked at stage time), and one the
# engine checks itself
my $r1 = import_batch($A, [@items[0 .. 2]], [0, 1, 2]);
my $r2 = import_batch($A, [@items[3 .. 5]]);
is_deeply([map { $_->{outcome} } @$r1, @$r2], [('created') x 6], 'six profiles created')
    or diag explain [$r1, $r2];
my @pids = map { $_->{profile_id} } @$r1, @$r2;
is(psql_value(q{SELECT count(DISTINCT xmin::text) FROM prefs_profile
    WHERE profile_id = ANY (CAST(:'p' AS bigint[]))}, p => ids(@pids[0 .. 2])), 1,
   'the batch took the set-based path (one transaction id, no subtransaction per item)');

my $c = copies($A, @pids);
for my $p (@pids) {
    ok($c->{$p}[1], "profile $p: its copy is current");
    is($c->{$p}[0], $c->{$p}[2], "profile $p: the import's copy is the renderer's text");
}
my $d = JSON::PP->new->decode($c->{$pids[0]}[0]);
is(scalar @{$d->{Consents}}, 3, 'a type consented twice shows its newest record');
is(scalar @{$d->{ProfilePreferences}}, 0, 'profile-level preferences went to their contact points');
ok((grep { @{$_->{Filters}} } @{$d->{Consents}}), 'consents carry their filter links');
my ($nl) = grep { $_->{FilterId} eq 'NewsletterEmail' } @{$d->{Emails}[0]{EmailPreferences}};
is_deeply($nl->{PreferenceAttributes}, [{Key => 'Topic', Value => 'T\\1'}, {Key => 'Empty', Value => ''}],
          'attributes, one without a Value');

# the Data API's read: the copy dropped, GET renders it again, the same text
psql(q{DELETE FROM prefs_profile_doc WHERE profile_id = ANY (CAST(:'p' AS bigint[]))}, p => ids(@pids));
for my $p (@pids) {
    is(psql_value(q{SELECT md5(prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false))},
                  a => $A, p => $p), $c->{$p}[3], "profile $p: GET renders the import's copy again");
}

# profiles with a history: the set-based rendering is the renderer's
my $u = sub {
    my ($p, $b) = @_;
    psql_value(q{SELECT outcome FROM prefs_profile_update(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint),
        CAST(:'b' AS jsonb))}, a => $A, p => $p, b => $J->encode($b));
};
is($u->($pids[0], {Consents => [{ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 3,
                                 ConsentDate => '2024-04-01T00:00:00Z'}],
                   Emails => [{EmailAddress => 'e1@example.com', EmailPreferences => [
                       {FilterId => 'NewsletterEmail', PreferenceType => 2}]}]}),
   'updated', 'a consent revoked, a preference changed');
is(psql_value(q{SELECT outcome FROM prefs_profile_remove_parts(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint),
    'Tags', '["VIP"]')}, a => $A, p => $pids[1]), 'updated', 'a tag removed');
is(psql_value(q{SELECT outcome FROM prefs_profile_deactivate(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint),
    'moved')}, a => $A, p => $pids[2]), 'deactivated', 'a profile deactivated');
is($u->($pids[3], {Emails => [], PhoneNumbers => [], Addresses => [], AlternateIds => [],
                   CustomFields => [{Name => 'FavoriteCategory', Value => 'Toys'}]}),
   'updated', 'contact points and alternate ids removed');
is($u->($pids[4], {PhoneNumbers => [{PhoneNumber => '+1 555 777 0000', IsMobile => $T,
                                     PhonePreferences => [{FilterId => 'AccountAlertsText', PreferenceType => 2}]}]}),
   'updated', 'a phone added with a preference');
psql(q{INSERT INTO prefs_profile (account_id, edited_by) VALUES (CAST(:'a' AS bigint), 7)}, a => $A);

my $rows = both_renderings($A);
is(scalar @$rows, 7, 'every profile of the account rendered');
for my $row (@$rows) {
    is($row->[2], $row->[1], "profile $row->[0]: prefs_data_profiles_json is the renderer's text");
    ok($row->[3], "profile $row->[0]: with the row's xmin");
}

# another account's profiles are not rendered
my $B = acct();
is(psql_value(q{SELECT count(*) FROM prefs_data_profiles_json(CAST(:'b' AS bigint), CAST(:'p' AS bigint[]))},
              b => $B, p => ids(@pids)), 0, "another account's ids: nothing rendered");

done_testing();
