#!/usr/bin/perl
# The write engine in SQL (sql/functions/engine.sql): prefs_engine_apply
# and prefs_engine_validate over batches of UserProfilePreference items.
# The same body gives the same rows, events and rendered copy as the Data
# API's functions (prefs_profile_create / prefs_profile_update); a refused
# item is reported with its index and field path and writes nothing while
# the batch's other items are applied; the options (MatchCriteria,
# Refresh*, ImportAction Delete, SuppressEvents, Source); items of one
# batch that address the same profile are applied in order.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of a migrated database (skipped
#                              when unset)
#
# Every test works in accounts of its own (configured from
# conf/demo-config.json), so the file can be rerun on the same database.

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

use File::Temp ();
use JSON::PP ();
use PrefsTest;

my $J = JSON::PP->new->utf8->canonical;
my $DEMO = do {
    open my $fh, '<:raw', "$ENV{TEST_NGINX_PREFS_TOP}/conf/demo-config.json" or die $!;
    local $/;
    <$fh>;
};

sub acct {
    my $client = make_account('engine');
    my $id = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
    psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))", a => $id, d => $DEMO);
    return $id;
}

# prefs_engine_apply / _validate: their rows as hashes
# ($per_item: SET prefs.engine_set_based = off, every item through the
# per-profile functions)
sub engine {
    my ($fn, $acct, $items, $opts, $per_item) = @_;
    my $out = psql(($per_item ? "SET prefs.engine_set_based = off;\n" : '')
        . "SELECT coalesce(json_agg(row_to_json(r)), '[]') FROM prefs_engine_$fn("
        . "CAST(:'a' AS bigint), 7, CAST(:'i' AS jsonb), CAST(:'o' AS jsonb)) r",
        a => $acct, i => $J->encode($items), o => $J->encode($opts // {}));
    return $J->decode($out);
}
sub apply    { engine('apply', @_) }
sub validate { engine('validate', @_) }
sub apply_per_item { engine('apply', @_[0 .. 2], 1) }

# how many transaction ids the profiles were written under (the per-profile
# path gives each item a subtransaction of its own, the set-based one none)
sub xmins {
    psql_value(q{SELECT count(DISTINCT xmin::text) FROM prefs_profile
        WHERE profile_id = ANY (CAST(:'p' AS bigint[]))}, p => '{' . join(',', @_) . '}');
}

# An error of the options: the exception's message
sub opts_error {
    my ($acct, $opts) = @_;
    my ($tmp, $file) = File::Temp::tempfile(UNLINK => 1);
    print $tmp "SELECT * FROM prefs_engine_apply($acct, 7, '[]', CAST(:'o' AS jsonb));\n";
    close $tmp;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT);
        exec('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $ENV{TEST_NGINX_PREFS_DATABASE},
             '-v', "o=" . $J->encode($opts), '-f', $file) or exit 127;
    }
    local $/;
    my $err = <$out> // '';
    close $out;
    return $err =~ /ERROR:\s+(.*)/ ? $1 : "no error: $err";
}

sub doc {
    my $out = psql("SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false)",
                   a => $_[0], p => $_[1]);
    return $out eq '' ? undef : $J->decode($out);
}

# The account's events after event id $after: [{type, data, prev, source}]
sub events {
    my ($acct, $after) = @_;
    $J->decode(psql(q{SELECT coalesce(json_agg(json_build_object('type', event_type,
        'profile', profile_id, 'data', data, 'prev', previous_data, 'source', source)
        ORDER BY event_id), '[]') FROM prefs_event
        WHERE account_id = CAST(:'a' AS bigint) AND event_id > CAST(:'e' AS bigint)},
        a => $acct, e => $after // 0));
}
sub last_event {
    psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)",
               a => $_[0]);
}

# Rows of the account in every data table, counted
my @TABLES = qw(prefs_profile prefs_profile_email prefs_profile_phone prefs_profile_address
    prefs_profile_alternate_id prefs_profile_custom_field prefs_profile_group prefs_profile_tag
    prefs_preference prefs_consent prefs_event);
sub counts {
    my ($acct) = @_;
    return { map { split /\|/ } split /\n/, psql(join(' UNION ALL ', map {
        "SELECT '$_', count(*) FROM $_ WHERE account_id = CAST(:'a' AS bigint)" } @TABLES),
        a => $acct) };
}

# What differs between two accounts' renderings of the same data: ids,
# times and the profile's own id, replaced by placeholders.
sub norm {
    my ($v, $k) = @_;
    if (ref $v eq 'HASH') { return { map { $_ => norm($v->{$_}, $_) } keys %$v } }
    if (ref $v eq 'ARRAY') { return [map { norm($_, $k) } @$v] }
    return 'ID' if defined $k && $k =~ /(?:Id|By)$/ && defined $v && $v =~ /^\d+$/;
    return 'TIME' if defined $v && $v =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
    return 'SUBJECT' if defined $v && $v =~ m{^Profile/\d+$};
    return $v;
}
sub evnorm { [map { norm({type => $_->{type}, data => $_->{data}, prev => $_->{prev}}) } @{$_[0]}] }

my $BODY = {
    CustomerName => {Prefix => 'Dr', FirstName => 'Rick', LastName => 'Sanchez'},
    DefaultLocale => 'en-US', CustomerType => 'Consumer', RegistrationConfirmed => JSON::PP::true,
    AlternateIds => [{Type => 'CRMId', Value => 'crm-1'}],
    Emails => [
        {EmailAddress => 'rick@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true,
         EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W'}]},
        {EmailAddress => 'rick@work.example', EmailAddressType => 'Work',
         EmailPreferences => [{FilterId => 'PartnerOffersEmail', PreferenceType => 2}]}],
    PhoneNumbers => [{PhoneNumber => '+1 (555) 010-0100', PhoneNumberType => 'Mobile',
                      IsMobile => JSON::PP::true, IsDefault => JSON::PP::true,
                      PhonePreferences => [{FilterId => 'NewsletterText', PreferenceType => 1}]}],
    Addresses => [{Address1 => '1 Main St', City => 'Springfield', PostalCode => '62701',
                   CountryCode => 'US', AddressType => 'Home', IsDefault => JSON::PP::true}],
    CustomFields => [{Name => 'FavoriteCategory', Value => 'Garden'}, {Name => 'Nickname', Value => 'R'}],
    Groups => [{Type => 'Household', Name => 'Sanchez'}],
    Tags => ['VIP', 'Early Adopter'],
    ProfilePreferences => [{FilterId => 'ProductUpdatesEmail', PreferenceType => 1}],
    Consents => [{ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 1,
                  ConsentDate => '2024-01-01T00:00:00Z'}],
};
sub body { my %o = @_; my $b = $J->decode($J->encode($BODY)); $b->{$_} = $o{$_} for keys %o; $b }

# --- equivalence with the Data API's functions --------------------------

{
    my ($A, $B) = (acct(), acct());
    my ($ea, $eb) = (last_event($A), last_event($B));
    my $api = $J->decode(psql(q{SELECT row_to_json(r) FROM prefs_profile_create(
        CAST(:'a' AS bigint), 7, CAST(:'b' AS jsonb)) r}, a => $A, b => $J->encode($BODY)));
    is($api->{outcome}, 'created', 'API create') or diag explain $api;
    my $r = apply($B, [$BODY]);
    is_deeply([map { [$_->{item}, $_->{outcome}] } @$r], [[0, 'created']], 'engine create: one row, created');
    like($r->[0]{profile_id}, qr/^\d+$/, 'engine create: its ProfileId');
    is_deeply(norm(doc($B, $r->[0]{profile_id})), norm(doc($A, $api->{profile_id})),
              'create: the same rendered copy as the API');
    is_deeply(evnorm(events($B, $eb)), evnorm(events($A, $ea)), 'create: the same events');
    is_deeply(counts($B), counts($A), 'create: the same rows in every table');
    is(psql_value(q{SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin WHERE x.profile_id = CAST(:'p' AS bigint)},
        p => $r->[0]{profile_id}), 1, 'create: the copy is current');

    # update: the same change through prefs_profile_update and the engine
    my $chg = {CustomerName => {FirstName => 'Richard'}, Tags => ['Do Not Call'],
               Emails => [{EmailAddress => 'rick@example.com', EmailPreferences => [
                   {FilterId => 'NewsletterEmail', PreferenceType => 2}]}],
               Consents => [{ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 3,
                             ConsentDate => '2024-02-01T00:00:00Z'}]};
    ($ea, $eb) = (last_event($A), last_event($B));
    my $u = $J->decode(psql(q{SELECT row_to_json(r) FROM prefs_profile_update(CAST(:'a' AS bigint), 7,
        CAST(:'p' AS bigint), CAST(:'b' AS jsonb)) r}, a => $A, p => $api->{profile_id}, b => $J->encode($chg)));
    is($u->{outcome}, 'updated', 'API update');
    $r = apply($B, [{%$chg, ProfileId => 0 + $r->[0]{profile_id}}]);
    is($r->[0]{outcome}, 'updated', 'engine update by ProfileId: updated');
    is_deeply(norm(doc($B, $r->[0]{profile_id})), norm(doc($A, $api->{profile_id})),
              'update: the same rendered copy');
    my $evb = events($B, $eb);
    is_deeply(evnorm($evb), evnorm(events($A, $ea)), 'update: the same events');
    is($evb->[-1]{type}, 'profile.updated', 'update: profile.updated last');
    is($evb->[-1]{data}{CustomerName}{FirstName}, 'Richard', 'update: its Data is the profile after');
    ok(!defined $evb->[-1]{prev}, 'update: no PreviousData');
    is_deeply(counts($B), counts($A), 'update: the same rows in every table');

    # the same again changes nothing
    $eb = last_event($B);
    $r = apply($B, [{CustomerName => {FirstName => 'Richard'}, ProfileId => 0 + $r->[0]{profile_id}}]);
    is($r->[0]{outcome}, 'unchanged', 'a body that changes nothing: unchanged');
    is_deeply(events($B, $eb), [], 'unchanged: no event');
}

# --- the set-based path of new profiles: the same as the per-profile one --

{
    my ($A, $B) = (acct(), acct());
    # plain bodies (prefs_engine_plain), consents and their links included
    my @plain = map {
        my $b = body(AlternateIds => [{Type => 'CRMId', Value => "plain-$_"}],
                     PhoneNumbers => [{PhoneNumber => "555 030 00$_",
                                       PhonePreferences => [{FilterId => 'PartnerOffersPhone', PreferenceType => 2}]},
                                      {PhoneNumber => "+1 (555) 020-00$_", PhoneNumberType => 'Mobile',
                                       IsMobile => JSON::PP::true,
                                       PhonePreferences => [{FilterId => 'NewsletterText', PreferenceType => 1,
                                           PreferenceAttributes => [{Key => 'Topic', Value => 'x'}, {Key => 'K2'}]}]}],
                     Addresses => [{Address1 => "$_ Elm St", PostalCode => '10001', AddressType => 'Home',
                                    IsDefault => JSON::PP::true,
                                    AddressPreferences => [{FilterId => 'ProductUpdatesMail', PreferenceType => 1}]},
                                   {Address1 => "$_ Oak Ave", City => 'Fairview'}],
                     ProfilePreferences => [{FilterId => 'ProductUpdatesEmail', PreferenceType => 1},
                                            {FilterId => 'AccountAlertsText', PreferenceType => 1.0,
                                             FrequencyId => ''}],
                     CustomFields => [{Name => 'FavoriteCategory', Value => 'Garden'},
                                      {Name => 'HouseholdSize', Value => " 4 "},
                                      {Name => 'PaperlessBilling', Value => JSON::PP::true},
                                      {Name => 'Birthday', Value => '1980-02-28'}],
                     Groups => [{Type => 'Household', Name => "H$_"}, {Type => 'Company', Name => 'Acme'}],
                     DefaultLocale => 'de_de', CustomerName => {FirstName => "P$_", Suffix => undef},
                     PreservePreferences => JSON::PP::false);
        push @{$b->{Consents}}, {ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 'Denied',
                                 ConsentDate => '2024-02-03T04:05:06Z'},
                                {ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1},
                                {ConsentType => 'TextMessaging', ConsentVersion => '2024-01', ConsentStatus => 4};
        $b->{Emails}[1]{EmailAddress} = "p$_\@work.example";
        $b->{Emails}[0]{EmailAddress} = "p$_\@example.com";
        $b;
    } 1 .. 3;
    my ($ea, $eb) = (last_event($A), last_event($B));
    my $ra = apply_per_item($A, \@plain);
    my $rb = apply($B, \@plain);
    is_deeply([map { $_->{outcome} } @$rb], [qw(created created created)], 'plain new profiles: created');
    is_deeply([map { $_->{outcome} } @$ra], [qw(created created created)], 'the same per profile');
    is(xmins(map { $_->{profile_id} } @$rb), 1, 'set-based: one statement per table, no subtransaction per item');
    is(xmins(map { $_->{profile_id} } @$ra), 3, 'per profile: a subtransaction each');
    is_deeply([map { norm(doc($B, $_->{profile_id})) } @$rb], [map { norm(doc($A, $_->{profile_id})) } @$ra],
              'set-based: the same rendered copies');
    is_deeply(evnorm(events($B, $eb)), evnorm(events($A, $ea)), 'set-based: the same events, in the same order');
    is_deeply(counts($B), counts($A), 'set-based: the same rows in every table');
    is(psql_value(q{SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin WHERE x.profile_id = ANY (CAST(:'p' AS bigint[]))},
        p => '{' . join(',', map { $_->{profile_id} } @$rb) . '}'), 3, 'set-based: the copies are current');

    # a batch mixing plain items, items for the per-profile path and refused ones
    my ($C, $D) = (acct(), acct());
    my @mixed = ($plain[0], $BODY, {%{$plain[1]}, Tags => ['Nope']}, $plain[2],
                 {%{$plain[1]}, AlternateIds => [{Type => 'CRMId', Value => 'plain-1'}]});
    ($ea, $eb) = (last_event($C), last_event($D));
    $ra = apply_per_item($C, \@mixed);
    $rb = apply($D, \@mixed);
    my $shape = sub { [map { [$_->{item}, $_->{outcome}, $_->{path}, $_->{message}] } @{$_[0]}] };
    is_deeply($shape->($rb), $shape->($ra), 'a mixed batch: the same outcomes and errors');
    is_deeply([map { $_->{outcome} } @$rb], [qw(created created failed created failed)], 'a mixed batch: outcomes');
    is_deeply([sort map { $J->encode(norm(doc($D, $_->{profile_id}))) } grep { $_->{profile_id} } @$rb],
              [sort map { $J->encode(norm(doc($C, $_->{profile_id}))) } grep { $_->{profile_id} } @$ra],
              'a mixed batch: the same profiles');
    is_deeply(counts($D), counts($C), 'a mixed batch: the same rows');
    is_deeply([sort map { $J->encode($_) } @{evnorm(events($D, $eb))}],
              [sort map { $J->encode($_) } @{evnorm(events($C, $ea))}], 'a mixed batch: the same events');
    my $E = acct();
    is_deeply(validate($E, [$plain[0], {%{$plain[1]}, Tags => ['Nope']}]),
              [{item => 1, path => 'Tags[0]', message => q{Tags[0] 'Nope' is not an active tag}}],
              'validate: the plain item is valid, the other refused');
    is(psql_value(q{SELECT count(*) FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint)}, a => $E), 0,
       'validate wrote nothing');
}

# --- the set-based path of preference updates: the same as per profile ---

{
    # the same profiles in two accounts; every change applied to A per
    # profile (prefs.engine_set_based off) and to B by the engine's short
    # path (prefs_engine_update), then compared
    my ($A, $B) = (acct(), acct());
    my @ids = map {
        my $acct = $_;
        [map { apply($acct, [body(AlternateIds => [{Type => 'CRMId', Value => "pu-$_"}],
                                  Emails => [{%{$BODY->{Emails}[0]}, EmailAddress => "pu$_\@example.com"},
                                             {%{$BODY->{Emails}[1]}, EmailAddress => "pu$_\@work.example"}],
                                  PhoneNumbers => [{%{$BODY->{PhoneNumbers}[0]},
                                                    PhoneNumber => "+1 (555) 040-00$_"}])])->[0]{profile_id} } 1 .. 2]
    } ($A, $B);
    my $stored = psql_value(q{SELECT number FROM prefs_profile_phone WHERE profile_id = CAST(:'p' AS bigint)},
                            p => $ids[1][0]);
    # how the profile was last written: by the short path, the profile's
    # row is of the transaction itself (the per-profile path writes it in
    # a subtransaction of its own)
    my $short = sub {
        psql_value(q{SELECT count(*) FROM prefs_profile x JOIN prefs_event e ON e.profile_id = x.profile_id
            WHERE x.profile_id = CAST(:'p' AS bigint) AND e.event_type = 'profile.updated'
              AND e.txid::text = x.xmin::text}, p => $_[0]);
    };
    my $current = sub {
        psql_value(q{SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d
            ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin
            WHERE x.profile_id = ANY (CAST(:'p' AS bigint[])) AND d.doc = prefs_data_profile_json(x, false)::text},
            p => '{' . join(',', @_) . '}');
    };
    my @changes = (
        [ 'an email preference turned', 'updated', 1, [{Emails => [{EmailAddress => 'pu1@example.com',
            EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2}]}]}] ],
        [ 'the same again', 'unchanged', 0, [{Emails => [{EmailAddress => 'pu1@example.com',
            EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2}]}]}] ],
        [ 'a frequency and attributes', 'updated', 1, [{Emails => [{EmailAddress => 'pu1@example.com',
            EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2, FrequencyId => 'M',
                PreferenceAttributes => [{Key => 'Topic', Value => 'Recipes'}, {Key => 'Empty'}]}]}]}] ],
        [ 'a new preference on the second email, and one on the first', 'updated', 1,
          [{Emails => [{EmailAddress => 'pu1@work.example', EmailPreferences => [
                           {FilterId => 'ProductUpdatesEmail', PreferenceType => 1, FrequencyId => ''}]},
                       {EmailAddress => 'pu1@example.com', EmailPreferences => [
                           {FilterId => 'PartnerOffersEmail', PreferenceType => 1}]}]}] ],
        [ 'profile-level preferences (default email, mobile phone)', 'updated', 1,
          [{ProfilePreferences => [{FilterId => 'NewsletterText', PreferenceType => 2},
                                   {FilterId => 'ProductUpdatesEmail', PreferenceType => 2}]}] ],
        [ 'a phone preference by the number as stored, ProfileId given', 'updated', 1,
          [{ProfileId => 'PID', PhoneNumbers => [{PhoneNumber => $stored, PhonePreferences => [
              {FilterId => 'PartnerOffersPhone', PreferenceType => 1}]}]}] ],
        [ 'two profiles in one batch', 'updated updated', 1,
          [{ProfileId => 'PID', ProfilePreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1}]},
           {ProfileId => 'PID2', ProfilePreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2}]}] ],
        # what the short path leaves to the per-profile path
        [ 'an address (per profile)', 'updated', 0, [{Addresses => [{Address1 => '1 Main St', PostalCode => '62701',
            AddressPreferences => [{FilterId => 'ProductUpdatesMail', PreferenceType => 2}]}]}] ],
        [ 'an email written otherwise (per profile)', 'updated', 0, [{Emails => [{EmailAddress => 'PU1@example.com',
            EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1}]}]}] ],
        [ 'a name and a preference (per profile)', 'updated', 0, [{CustomerName => {FirstName => 'Pu'},
            ProfilePreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 2}]}] ],
        [ 'a preference archived (per profile)', 'updated', 0, [{ProfilePreferences => [
            {FilterId => 'NewsletterEmail', IsArchived => JSON::PP::true}]}] ],
        [ 'and brought back', 'updated', 1, [{ProfilePreferences => [{FilterId => 'NewsletterEmail',
            PreferenceType => 2}]}] ],
        [ 'a refused preference', 'failed', 0, [{ProfilePreferences => [{FilterId => 'NewsletterEmail',
            PreferenceType => 3}]}] ],
        [ 'an unknown filter', 'failed', 0, [{Emails => [{EmailAddress => 'pu1@example.com',
            EmailPreferences => [{FilterId => 'Nope', PreferenceType => 1}]}]}] ],
        [ 'the same preference twice', 'failed', 0, [{ProfilePreferences => [
            {FilterId => 'PartnerOffersEmail', PreferenceType => 2},
            {FilterId => 'PartnerOffersEmail', PreferenceType => 1}]}] ],
        [ 'an email the profile lacks (per profile)', 'updated', 0, [{Emails => [{EmailAddress => 'new@example.com',
            EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1}]}]}] ],
    );
    for my $c (@changes) {
        my ($what, $want, $fast, $items) = @$c;
        my @ab = map {
            my $k = $_;
            [map { my %i = %$_;
                   $i{ProfileId} = 0 + ($i{ProfileId} eq 'PID2' ? $ids[$k][1] : $ids[$k][0])
                       if defined $i{ProfileId};
                   $i{ProfileId} //= 0 + $ids[$k][0];
                   \%i } @$items]
        } 0, 1;
        my ($ca, $cb) = (counts($A), counts($B));
        my ($ea, $eb) = (last_event($A), last_event($B));
        my $ra = apply_per_item($A, $ab[0]);
        my $rb = apply($B, $ab[1]);
        is(join(' ', map { $_->{outcome} } @$rb), $want, "$what: $want");
        # (a message may name a contact point by its key: E<id>)
        my $shape = sub { [map { [$_->{item}, $_->{outcome}, $_->{path},
                                  defined $_->{message} ? $_->{message} =~ s/\b([EPA])\d+\b/$1#/gr : undef] }
                           @{$_[0]}] };
        is_deeply($shape->($rb), $shape->($ra), "$what: the same outcomes and errors as per profile");
        is_deeply([map { norm(doc($B, $_)) } @{$ids[1]}], [map { norm(doc($A, $_)) } @{$ids[0]}],
                  "$what: the same rendered copies");
        # each profile's events in the per-profile path's order (a batch
        # writes them stage by stage: its profiles' events interleave)
        my $byprof = sub {
            my ($ev, $k) = @_;
            my %at = map { $ids[$k][$_] => $_ } 0 .. $#{$ids[$k]};
            evnorm([sort { $at{$a->{profile}} <=> $at{$b->{profile}} } @$ev]);
        };
        is_deeply($byprof->(events($B, $eb), 1), $byprof->(events($A, $ea), 0),
                  "$what: the same events, each profile's in the same order");
        is_deeply(counts($B), counts($A), "$what: the same rows in every table");
        is($current->(@{$ids[1]}), 2, "$what: the copies are current and equal a fresh rendering");
        is($short->($ids[1][0]), $fast, "$what: " . ($fast ? 'the short path' : 'not the short path'))
            if $want ne 'unchanged' && $want ne 'failed';
        is_deeply(counts($B), $cb, "$what: nothing written") if $want eq 'failed';
    }

    # SuppressEvents: no event, the copy kept
    my $eb = last_event($B);
    my $r = apply($B, [{ProfileId => 0 + $ids[1][1], ProfilePreferences => [
        {FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'M'}]}], {SuppressEvents => JSON::PP::true});
    is($r->[0]{outcome}, 'updated', 'SuppressEvents: updated');
    is_deeply(events($B, $eb), [], 'SuppressEvents: no event');
    is($current->($ids[1][1]), 1, 'SuppressEvents: the copy is current');
    is(doc($B, $ids[1][1])->{Emails}[0]{EmailPreferences}[0]{FrequencyId}, 'M', 'SuppressEvents: and shows the change');

    # the API's route: POST Profile/{id}/Preferences takes the short path
    $eb = last_event($B);
    my $out = psql(q{SELECT row_to_json(r) FROM prefs_profile_preferences(CAST(:'a' AS bigint), 7,
        CAST(:'p' AS bigint), CAST(:'b' AS jsonb)) r}, a => $B, p => $ids[1][1],
        b => $J->encode({Emails => [{EmailAddress => 'pu2@example.com', EmailPreferences => [
            {FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W'}]}]}));
    is($J->decode($out)->{outcome}, 'updated', 'POST Profile/{id}/Preferences: updated');
    is_deeply([map { $_->{type} } @{events($B, $eb)}], ['preference.updated', 'profile.updated'],
              'POST Profile/{id}/Preferences: its events');
    is($short->($ids[1][1]), 1, 'POST Profile/{id}/Preferences: the short path');
}

# --- per-item errors, nothing written for a refused item ----------------

{
    my $A = acct();
    my $other = acct();
    my $theirs = apply($other, [body(AlternateIds => [])])->[0]{profile_id};
    my $before_other = doc($other, $theirs);
    my $items = [
        body(AlternateIds => [{Type => 'CRMId', Value => 'ok-0'}]),
        body(AlternateIds => [{Type => 'CRMId', Value => 'bad-1'}],
             Emails => [{EmailAddress => 'a@example.com'}, {EmailAddress => 'not an email'}]),
        'a string',
        {ProfileId => 'x'},
        {ProfileId => 0 + $theirs, Tags => ['Do Not Call']},
        body(AlternateIds => [{Type => 'CRMId', Value => 'bad-5'}], CustomFields => []),
        body(AlternateIds => [{Type => 'CRMId', Value => 'bad-6'}], Emails => [{EmailAddres => 'x@example.com'}]),
        body(AlternateIds => [{Type => 'CRMId', Value => 'ok-7'}]),
    ];
    my $c0 = counts($A);
    my $e0 = last_event($A);
    my $v = validate($A, $items);
    is_deeply(counts($A), $c0, 'validate writes nothing');
    my @want = (
        [1, 'Emails[1].EmailAddress', 'Emails[1].EmailAddress must be an email address such as name@example.com'],
        [2, '', 'the item must be a JSON object'],
        [3, 'ProfileId', 'ProfileId must be a number'],
        [4, 'ProfileId', "there is no profile $theirs"],
        [5, 'CustomFields', q{CustomFields must include the required custom field 'FavoriteCategory'}],
        [6, 'Emails[0].EmailAddres', 'Emails[0].EmailAddres is not a known field'],
    );
    is_deeply([map { [$_->{item}, $_->{path}, $_->{message}] } @$v], \@want,
              'validate: one row per refused item: index, path, the API\'s message');

    my $r = apply($A, $items);
    is_deeply([map { [$_->{item}, $_->{outcome}] } @$r],
              [[0, 'created'], [1, 'failed'], [2, 'failed'], [3, 'failed'], [4, 'failed'],
               [5, 'failed'], [6, 'failed'], [7, 'created']], 'apply: every item\'s outcome, in order');
    is_deeply([map { [$_->{item}, $_->{path}, $_->{message}] } grep { $_->{outcome} eq 'failed' } @$r],
              \@want, 'apply: the same errors as validate');
    ok(!defined $r->[1]{profile_id}, 'a refused new profile has no ProfileId');
    my $c = counts($A);
    is($c->{prefs_profile} - $c0->{prefs_profile}, 2, 'two profiles written, the refused ones none');
    is(psql_value(q{SELECT string_agg(value, ',' ORDER BY value) FROM prefs_profile_alternate_id
        WHERE account_id = CAST(:'a' AS bigint)}, a => $A), 'ok-0,ok-7', 'only the valid items\' rows');
    is(psql_value(q{SELECT count(DISTINCT profile_id) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)
        AND event_id > CAST(:'e' AS bigint)}, a => $A, e => $e0), 2, 'events of the valid items only');
    is(psql_value(q{SELECT count(*) FROM prefs_profile_email WHERE account_id = CAST(:'a' AS bigint)
        AND address = 'a@example.com'}, a => $A), 0, 'the refused item\'s valid part left no row');
    is_deeply(doc($other, $theirs), $before_other, 'another account\'s profile is untouched');
}

# --- MatchCriteria, duplicates in one batch -----------------------------

{
    my $A = acct();
    my $mc = {MatchCriteria => 'CRMId'};
    my $r = apply($A, [
        body(AlternateIds => [{Type => 'CRMId', Value => 'm-1'}]),
        {AlternateIds => [{Type => 'CRMId', Value => 'm-1'}], CustomerName => {FirstName => 'Second'}},
        {AlternateIds => [{Type => 'LoyaltyNumber', Value => 'L1'}]},
        {AlternateIds => [{Type => 'CRMId', Value => 'm-1'}], CustomerName => {FirstName => 'Third'}, Tags => ['Do Not Call']},
        body(AlternateIds => [{Type => 'CRMId', Value => 'm-2'}]),
    ], $mc);
    is_deeply([map { $_->{outcome} } @$r], [qw(created updated failed updated created)],
              'MatchCriteria: the first item of a key creates, the next ones update it, in order');
    is($r->[1]{profile_id}, $r->[0]{profile_id}, 'the second item updated the profile the first created');
    is($r->[3]{profile_id}, $r->[0]{profile_id}, 'and so did the third');
    isnt($r->[4]{profile_id}, $r->[0]{profile_id}, 'another key: another profile');
    is_deeply([$r->[2]{path}, $r->[2]{message}],
              ['AlternateIds', q{AlternateIds must hold the MatchCriteria alternate id 'CRMId'}],
              'an item without the MatchCriteria alternate id is refused');
    my $d = doc($A, $r->[0]{profile_id});
    is($d->{CustomerName}{FirstName}, 'Third', 'the last item of the batch wins');
    is_deeply([sort @{$d->{Tags}}], ['Do Not Call', 'Early Adopter', 'VIP'], 'merged, not replaced');

    $r = apply($A, [{AlternateIds => [{Type => 'CRMId', Value => 'm-2'}], CustomerName => {LastName => 'Later'}}], $mc);
    is_deeply([$r->[0]{outcome}, doc($A, $r->[0]{profile_id})->{CustomerName}{LastName}], ['updated', 'Later'],
              'a later batch matches by the alternate id');

    # by ProfileId: two items of one profile in one batch, in order
    my $p = 0 + $r->[0]{profile_id};
    $r = apply($A, [{ProfileId => $p, CustomerName => {MiddleName => 'A'}},
                    {ProfileId => $p, CustomerName => {MiddleName => 'B'}}]);
    is_deeply([map { $_->{outcome} } @$r], [qw(updated updated)], 'two items of one ProfileId: both applied');
    is(doc($A, $p)->{CustomerName}{MiddleName}, 'B', 'in order');

    like(opts_error($A, {MatchCriteria => 'Nope'}), qr/^MatchCriteria 'Nope' is not an active alternate id type/,
         'an unknown MatchCriteria is refused');
    like(opts_error($A, {Bogus => 1}), qr/^Bogus is not a known field/, 'an unknown option is refused');
    like(opts_error($A, {ImportAction => 'Merge'}), qr/^ImportAction must be "Add" or "Delete"/,
         'an unknown ImportAction is refused');
}

# --- Refresh* ------------------------------------------------------------

{
    my $A = acct();
    my $p = apply($A, [body()])->[0]{profile_id};
    my $item = {ProfileId => 0 + $p, AlternateIds => [], Emails => [{EmailAddress => 'rick@example.com'}],
                PhoneNumbers => [], Addresses => [], CustomFields => [{Name => 'FavoriteCategory', Value => 'Garden'}],
                Groups => [], Tags => ['VIP']};
    my $r = apply($A, [$item]);
    is($r->[0]{outcome}, 'unchanged', 'without Refresh*: merged, nothing to change');
    my $d = doc($A, $p);
    is(scalar @{$d->{Emails}}, 2, 'without RefreshContacts the other email stays');
    $r = apply($A, [$item], {RefreshContacts => JSON::PP::true, RefreshTags => JSON::PP::true,
                             RefreshCustomFields => JSON::PP::true});
    is($r->[0]{outcome}, 'updated', 'with Refresh*: updated');
    $d = doc($A, $p);
    is_deeply([map { $_->{EmailAddress} } @{$d->{Emails}}], ['rick@example.com'],
              'RefreshContacts: the email the item lacks is deactivated');
    is_deeply([$d->{PhoneNumbers} // [], $d->{Addresses} // []], [[], []], 'and the phone and the address');
    is_deeply($d->{Tags}, ['VIP'], 'RefreshTags: the tag the item lacks is removed');
    is_deeply([map { $_->{Name} } @{$d->{CustomFields}}], ['FavoriteCategory'],
              'RefreshCustomFields: the custom field the item lacks is removed');
    is_deeply([map { $_->{Type} } @{$d->{AlternateIds}}], ['CRMId'], 'no RefreshAlternateIds: alternate ids kept');
    is(scalar @{$d->{Groups}}, 1, 'no RefreshGroups: groups kept');
    $r = apply($A, [$item], {RefreshAlternateIds => JSON::PP::true, RefreshGroups => JSON::PP::true});
    $d = doc($A, $p);
    is_deeply([$d->{AlternateIds} // [], $d->{Groups} // []], [[], []], 'RefreshAlternateIds, RefreshGroups');
}

# --- Delete, SuppressEvents, Source --------------------------------------

{
    my $A = acct();
    my $e0 = last_event($A);
    my $r = apply($A, [body(AlternateIds => [{Type => 'CRMId', Value => 'q-1'}])],
                  {SuppressEvents => JSON::PP::true});
    is($r->[0]{outcome}, 'created', 'SuppressEvents: created');
    is_deeply(events($A, $e0), [], 'SuppressEvents: no event');
    is(doc($A, $r->[0]{profile_id})->{CustomerName}{FirstName}, 'Rick', 'SuppressEvents: the profile reads');
    is(psql_value(q{SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin WHERE x.profile_id = CAST(:'p' AS bigint)},
        p => $r->[0]{profile_id}), 1, 'SuppressEvents: the copy was kept at commit');

    $r = apply($A, [{AlternateIds => [{Type => 'CRMId', Value => 'q-1'}], Tags => ['Do Not Call']}],
               {MatchCriteria => 'CRMId', Source => 'import:42'});
    my $ev = events($A, $e0);
    ok(@$ev && !grep({ ($_->{source} // '') ne 'import:42' } @$ev), 'Source: recorded with every event');
    my $e1 = last_event($A);
    psql("SELECT 1");
    is(psql_value(q{SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint) AND source IS NOT NULL
        AND event_id > CAST(:'e' AS bigint)}, a => $A, e => $e1), 0, 'later writes carry no source');

    $e0 = last_event($A);
    $r = apply($A, [{AlternateIds => [{Type => 'CRMId', Value => 'q-1'}], ReasonCode => 'gone'},
                    {AlternateIds => [{Type => 'CRMId', Value => 'q-none'}]}],
               {MatchCriteria => 'CRMId', ImportAction => 'Delete'});
    is_deeply([map { $_->{outcome} } @$r], [qw(deleted failed)], 'Delete: matched deleted, unmatched failed');
    is($r->[1]{message}, q{No profile matches alternate id 'CRMId' 'q-none'}, 'Delete: the unmatched item\'s message');
    is(psql_value(q{SELECT is_active FROM prefs_profile WHERE profile_id = CAST(:'p' AS bigint)},
        p => $r->[0]{profile_id}), 'f', 'Delete: the profile is inactive');
    is_deeply([map { [$_->{type}, $_->{data}{ReasonCode}] } @{events($A, $e0)}],
              [['profile.deactivated', 'gone']], 'Delete: the Data API\'s deactivate event');
    $r = apply($A, [{ProfileId => 99999999999}], {ImportAction => 'Delete'});
    is($r->[0]{message}, 'No profile matches ProfileId 99999999999', 'Delete by ProfileId: unmatched');
}

# --- AllowPriorConsents ---------------------------------------------------

{
    # the demo's Marketing: versions 1.0 (no longer active) and 2.0
    my $A = acct();
    my $mk = sub { {ConsentType => 'Marketing', ConsentVersion => $_[0], ConsentStatus => 1,
                    ConsentDate => '2024-01-01T00:00:00Z'} };
    my $item = sub { my ($v, %o) = @_; body(AlternateIds => [], Consents => [$mk->($v)], %o) };
    my $held = sub {
        psql_value(q{SELECT string_agg(version, ',' ORDER BY consent_id) FROM prefs_consent
            WHERE profile_id = CAST(:'p' AS bigint) AND type_name = 'Marketing'}, p => $_[0]);
    };

    my $c0 = counts($A);
    my $r = apply($A, [$item->('1.0'), $item->('2.0')]);
    is_deeply([map { [$_->{outcome}, $_->{path}, $_->{message}] } @$r],
        [['nothonored', 'Consents[0].ConsentVersion', q{Consents[0].ConsentVersion '1.0' is a prior version }
              . q{(AllowPriorConsents is false) of consent type 'Marketing': not honored}],
         ['created', undef, undef]],
        'without AllowPriorConsents a prior version is not honored; the newest is taken');
    is(counts($A)->{prefs_profile}, $c0->{prefs_profile} + 1, 'the item not honored wrote nothing');

    $r = apply($A, [$item->('1.0')], {AllowPriorConsents => JSON::PP::true});
    is($r->[0]{outcome}, 'created', 'AllowPriorConsents: a prior version, even one no longer active, is recorded');
    my $p = $r->[0]{profile_id};
    is($held->($p), '1.0', 'AllowPriorConsents: the consent of version 1.0');
    $r = apply($A, [$item->('2.0', ProfileId => 0 + $p)], {AllowPriorConsents => JSON::PP::true});
    is($r->[0]{outcome}, 'updated', 'then the newer version');
    my $c1 = counts($A);
    my $e1 = last_event($A);
    $r = apply($A, [$item->('1.0', ProfileId => 0 + $p)], {AllowPriorConsents => JSON::PP::true});
    is_deeply([map { [$_->{outcome}, $_->{profile_id}, $_->{message}] } @$r],
        [['nothonored', $p, q{Consents[0].ConsentVersion '1.0' is older than version '2.0', which the profile }
                            . q{holds, of consent type 'Marketing': not honored}]],
        'AllowPriorConsents: not when the profile holds a newer version');
    is_deeply([counts($A), events($A, $e1)], [$c1, []], 'and nothing is written');
    is($held->($p), '1.0,2.0', 'the profile keeps its consents');

    # a prior version that is still active
    psql(q{UPDATE prefs_config_item SET body = jsonb_set(body, '{Versions,0,IsActive}', 'true')
            WHERE account_id = CAST(:'a' AS bigint) AND kind = 'ConsentType' AND key = 'Marketing'}, a => $A);
    is(apply($A, [$item->('1.0')])->[0]{outcome}, 'nothonored', 'an active prior version: not honored without the option');
    is(apply($A, [$item->('1.0')], {AllowPriorConsents => JSON::PP::true})->[0]{outcome}, 'created',
       'and taken with it');

    # the Data API passes no options: every active version, as before
    my $api = $J->decode(psql(q{SELECT row_to_json(r) FROM prefs_profile_create(CAST(:'a' AS bigint), 7,
        CAST(:'b' AS jsonb)) r}, a => $A, b => $J->encode($item->('1.0'))));
    is($api->{outcome}, 'created', 'the Data API: an active version is taken whatever its place');
}

# --- JSON Patch keeps the copy it renders ---------------------------------

{
    my $A = acct();
    my $p = apply($A, [body(AlternateIds => [])])->[0]{profile_id};
    my $e0 = last_event($A);
    my $out = psql(q{SELECT row_to_json(r) FROM prefs_profile_patch(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint),
        CAST(:'b' AS jsonb), NULL) r}, a => $A, p => $p,
        b => $J->encode([{op => 'replace', path => '/CustomerName/FirstName', value => 'Patched'}]));
    my $r = $J->decode($out);
    is($r->{outcome}, 'patched', 'PATCH: patched');
    my $kept = psql_value(q{SELECT d.doc FROM prefs_profile x JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin WHERE x.profile_id = CAST(:'p' AS bigint)}, p => $p);
    is($kept, psql_value(q{SELECT prefs_data_profile_json(x, false)::text FROM prefs_profile x
        WHERE x.profile_id = CAST(:'p' AS bigint)}, p => $p), 'PATCH: the copy is current, a full rendering');
    is($r->{body}, $kept, 'PATCH: the answer is that copy');
    my $ev = events($A, $e0);
    is_deeply([map { $_->{type} } @$ev], ['standardfield.firstname.updated', 'profile.replaced'],
              'PATCH: the change\'s event, then profile.replaced');
    is_deeply($ev->[-1]{data}, $J->decode($kept), 'PATCH: its Data is the copy');
    is($ev->[-1]{prev}, undef, 'PATCH: no PreviousData (as profile.updated)');
    is($ev->[0]{prev}{FirstName}, 'Rick', 'PATCH: the name\'s event carries the value before');
}

done_testing();
