#!/usr/bin/perl
# One place where a profile changes (issue 11 §2): every SQL function a
# write route calls (the statement table, src/core/ngx_prefs_stmt.c) goes
# through the write engine, prefs_engine_run.  Each route's function runs
# in a transaction with track_functions = 'pl', and before it commits:
#   - pg_stat_xact_user_functions shows prefs_engine_run called (once a
#     profile), and the per-profile functions (prefs_data_apply,
#     prefs_data_prefs_apply, prefs_data_consents) called only as often as
#     the engine's prefs_data_apply_ex: a route calling them directly
#     shows here;
#   - every profile of the account has a current stored copy equal to a
#     fresh rendering (prefs_profile_doc.doc = prefs_data_profile_json):
#     the engine wrote it, not the commit's trigger (which has not run);
#   - the profile.* events are the engine's: Data is the new copy, and no
#     PreviousData (the reference gives it to none of them: docs/events.md).
# prefs_data_apply_ex called outside the engine raises; a v3 request whose
# second customer is refused writes nothing for the first either.
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
my $DEMO = do {
    open my $fh, '<:raw', "$ENV{TEST_NGINX_PREFS_TOP}/conf/demo-config.json" or die $!;
    local $/;
    <$fh>;
};

my $client = make_account('oneplace');
my $A = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))", a => $A, d => $DEMO);
psql(q{INSERT INTO prefs_config_item (account_id, kind, key, body)
       VALUES (CAST(:'a' AS bigint), 'AlternateIdType', 'CID', '{"Name": "CID"}')}, a => $A);
my $REQUIRED = [ { Name => 'FavoriteCategory', Value => 'Garden' } ];

sub copy_of {
    my $out = psql("SELECT doc FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $_[0]);
    return $out eq '' ? undef : $J->decode($out);
}

# Runs a route's SQL ($sql, with :a the account) in a transaction with
# function statistics on; returns what it answered and, from before the
# commit, the function calls, the copies and the profile.* events
sub route {
    my ($sql, %vars) = @_;
    my $last = psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)",
                          a => $A);
    my @out = split /\n/, psql(<<"SQL", a => $A, last => $last, %vars);
BEGIN;
SET LOCAL track_functions = 'pl';
SELECT coalesce(json_agg(r), '[]') FROM ($sql) r;
SELECT coalesce(json_object_agg(funcname, calls), '{}') FROM pg_stat_xact_user_functions;
SELECT coalesce(json_agg(json_build_object('p', p.profile_id,
           'current', d.src_xmin = p.xmin AND d.doc = prefs_data_profile_json(p, false)::text)
           ORDER BY p.profile_id), '[]')
  FROM prefs_profile p LEFT JOIN prefs_profile_doc d USING (profile_id)
 WHERE p.account_id = CAST(:'a' AS bigint) AND p.erased_at IS NULL;
SELECT coalesce(json_agg(json_build_object('type', e.event_type, 'p', e.profile_id,
           'data_is_copy', e.data = d.doc::jsonb, 'prev', e.previous_data) ORDER BY e.event_id), '[]')
  FROM prefs_event e LEFT JOIN prefs_profile_doc d USING (profile_id)
 WHERE e.account_id = CAST(:'a' AS bigint) AND e.event_id > CAST(:'last' AS bigint)
   AND e.event_type LIKE 'profile.%';
COMMIT;
SQL
    die "unexpected psql output: @out\n" unless @out == 4;
    my ($answer, $calls, $copies, $events) = map { $J->decode($_) } @out;
    return { answer => $answer, calls => $calls, copies => $copies, events => $events };
}

# The checks every route's write must pass
sub through_engine {
    my ($name, $r, %o) = @_;
    my $c = $r->{calls};
    is($c->{prefs_engine_run} // 0, $o{runs} // 1, "$name: through prefs_engine_run");
    for my $f (qw(prefs_data_apply prefs_data_prefs_apply prefs_data_consents)) {
        is($c->{$f} // 0, $c->{prefs_data_apply_ex} // 0, "$name: $f only inside the engine");
    }
    my @stale = grep { !$_->{current} } @{ $r->{copies} };
    is_deeply(\@stale, [], "$name: every copy current before the commit");
    my @types = map { $_->{type} } @{ $r->{events} };
    is_deeply(\@types, $o{events}, "$name: the events " . join(',', @{ $o{events} }));
    for my $e (grep { $_->{type} =~ /^profile\.(?:created|updated|replaced)$/ } @{ $r->{events} }) {
        ok($e->{data_is_copy}, "$name: $e->{type}'s Data is the stored copy");
        is($e->{prev}, undef, "$name: $e->{type} carries no PreviousData");
    }
}

# --- a profile, through POST Profile -------------------------------------------------
my $body = { CustomerName => { FirstName => 'One', LastName => 'Place' }, CustomFields => $REQUIRED,
             AlternateIds => [ { Type => 'CRMId', Value => 'crm-one' } ],
             Emails => [ { EmailAddress => 'one@example.com', IsDefault => JSON::PP::true() } ],
             Groups => [ { Type => 'Household', Name => 'H1' } ], Tags => [ 'VIP', 'Early Adopter' ] };
my $r = route("SELECT * FROM prefs_profile_create(CAST(:'a' AS bigint), 7, CAST(:'b' AS jsonb))",
              b => $J->encode($body));
my $P = $r->{answer}[0]{profile_id};
like($P, qr/^\d+$/, "POST Profile: created") or BAIL_OUT("no profile: " . $J->encode($r->{answer}));
through_engine('POST Profile', $r, events => [ 'profile.created' ]);

# --- UpdateProfile --------------------------------------------------------------------
$r = route("SELECT * FROM prefs_profile_update(CAST(:'a' AS bigint), 7, $P, CAST(:'b' AS jsonb))",
           b => $J->encode({ CustomerName => { MiddleName => 'M' } }));
is($r->{answer}[0]{outcome}, 'updated', 'UpdateProfile: updated');
through_engine('UpdateProfile', $r, events => [ 'profile.updated' ]);

# --- the preference routes (the short path, by id and by alternate id) -----------------
for my $case ([ 'POST Profile/{id}/Preferences',
                "SELECT * FROM prefs_profile_preferences(CAST(:'a' AS bigint), 7, $P, CAST(:'b' AS jsonb))", 1 ],
              [ 'POST Profile/Preferences/AlternateIdType/{t}/AlternateId/{v}',
                "SELECT outcome, message FROM prefs_profile_preferences_by_alternate_id(CAST(:'a' AS bigint), 7,"
                . " 'CRMId', 'crm-one', CAST(:'b' AS jsonb))", 2 ]) {
    my ($name, $sql, $type) = @$case;
    $r = route($sql, b => $J->encode({ Emails => [ { EmailAddress => 'one@example.com',
        EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => $type } ] } ] }));
    is($r->{answer}[0]{outcome}, 'updated', "$name: updated");
    through_engine($name, $r, events => [ 'profile.updated' ]);
}

# --- the one-click unsubscribe --------------------------------------------------------
$r = route("SELECT * FROM prefs_link_unsubscribe(CAST(:'a' AS bigint), 7, $P, 'PartnerOffersEmail')");
is($r->{answer}[0]{outcome}, 'updated', 'Unsubscribe: updated');
through_engine('Unsubscribe', $r, events => [ 'profile.updated' ]);

# --- POST Consents/{id} (the part route: an UpdateProfile of the consents) --------------
$r = route("SELECT * FROM prefs_profile_update(CAST(:'a' AS bigint), 7, $P, CAST(:'b' AS jsonb))",
           b => $J->encode({ Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ] }));
is($r->{answer}[0]{outcome}, 'updated', 'POST Consents: updated');
through_engine('POST Consents', $r, events => [ 'profile.updated' ]);

# --- DELETE Profile/{id}/Groups, /Tags, /CustomFields ----------------------------------
for my $part ([ 'Groups', { Type => 'Household', Name => 'H1' } ], [ 'Tags', 'Early Adopter' ]) {
    $r = route("SELECT * FROM prefs_profile_remove_parts(CAST(:'a' AS bigint), 7, $P, '$part->[0]', CAST(:'b' AS jsonb))",
               b => $J->encode($part->[1]));
    is($r->{answer}[0]{outcome}, 'updated', "DELETE $part->[0]: updated");
    through_engine("DELETE $part->[0]", $r, events => [ 'profile.updated' ]);
}

# --- JSON Patch, by id and by alternate id ----------------------------------------------
$r = route("SELECT * FROM prefs_profile_patch(CAST(:'a' AS bigint), 7, $P, CAST(:'b' AS jsonb), NULL)",
           b => $J->encode([ { op => 'replace', path => '/CustomerName/FirstName', value => 'Patched' },
                             { op => 'add', path => '/Tags/-', value => 'Do Not Call' } ]));
is($r->{answer}[0]{outcome}, 'patched', 'PATCH Profile/{id}: patched');
is_deeply($J->decode($r->{answer}[0]{body}), copy_of($P), 'PATCH Profile/{id}: the answer is the stored copy');
through_engine('PATCH Profile/{id}', $r, events => [ 'profile.replaced' ]);

$r = route("SELECT * FROM prefs_profile_patch_alternate(CAST(:'a' AS bigint), 7, 'CRMId', 'crm-one',"
           . " CAST(:'b' AS jsonb), '{\"PreserveConsents\": true}')",
           b => $J->encode([ { op => 'remove', path => '/CustomerName/MiddleName' } ]));
is($r->{answer}[0]{outcome}, 'patched', 'PATCH by alternate id: patched');
through_engine('PATCH by alternate id', $r, events => [ 'profile.replaced' ]);

# a refused patch: nothing written, no event, the engine's message
my $count = psql_value("SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)", a => $A);
$r = route("SELECT * FROM prefs_profile_patch(CAST(:'a' AS bigint), 7, $P, CAST(:'b' AS jsonb), NULL)",
           b => $J->encode([ { op => 'add', path => '/Emails/-', value => { EmailAddress => 'not-an-email' } } ]));
is($r->{answer}[0]{outcome}, 'invalid', 'a refused patch: invalid');
like($r->{answer}[0]{body}, qr/^Emails\[\d+\]\.EmailAddress/, 'a refused patch: the path of the field');
is($r->{calls}{prefs_engine_run}, 1, 'a refused patch: refused by the engine');
is(psql_value("SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)", a => $A), $count,
   'a refused patch: no event');

# --- v3 POST Preferences: a new customer and a known one, one engine call each ---------
$r = route("SELECT * FROM prefs_v3_preferences_write(CAST(:'a' AS bigint), 7, 'list', NULL, CAST(:'b' AS jsonb))",
           b => $J->encode([
               { CID => 'v3-new', FirstName => 'Vera', FilterID => 'NewsletterEmail', PreferenceType => 1,
                 ContactElement => { Email => 'v3-new@example.com' } },
               { CID => 'v3-new', FilterID => 'PartnerOffersEmail', PreferenceType => 2,
                 ContactElement => { Email => 'v3-new@example.com' } },
               { FilterID => 'NewsletterEmail', PreferenceType => 2, ContactElement => { Email => 'ONE@example.com' } } ]));
is($r->{answer}[0]{outcome}, 'ok', 'v3 POST Preferences: ok');
is(scalar @{ $J->decode($r->{answer}[0]{body})->{Preferences} }, 3, 'v3 POST Preferences: three preferences written');
through_engine('v3 POST Preferences', $r, runs => 2, events => [ 'profile.created', 'profile.updated' ]);
my $V = psql_value("SELECT profile_id FROM prefs_profile_alternate_id WHERE account_id = CAST(:'a' AS bigint)"
                   . " AND type = 'CID' AND value = 'v3-new'", a => $A);
is(psql_value("SELECT string_agg(event_type, ',' ORDER BY event_id) FROM prefs_event WHERE profile_id = $V"),
   'profile.created,contacts.alternateid.added,contacts.email.added,preference.added,preference.added',
   'v3: the new customer\'s events, one profile.created with both preferences');

# v3 by program and by program group (optional items skipped)
for my $case ([ 'program', 'Newsletters', { CID => 'v3-new', GlobalPreferenceType => 1,
                  ChannelContactPreference => [ { ChannelID => 'Text', ContactElement => { PFT => '+1 555 010 0177' } } ] } ],
              [ 'group', 'MarketingCommunications', { CID => 'v3-new', GlobalPreferenceType => 2, UpdateNestedGroups => 0 } ]) {
    $r = route("SELECT * FROM prefs_v3_preferences_write(CAST(:'a' AS bigint), 7, '$case->[0]', '$case->[1]',"
               . " CAST(:'b' AS jsonb))", b => $J->encode($case->[2]));
    is($r->{answer}[0]{outcome}, 'ok', "v3 $case->[0]: ok");
    through_engine("v3 $case->[0]", $r, events => [ 'profile.updated' ]);
}

# all or nothing across customers: the second customer refused, the first
# (applied by its own engine call) is undone with it
$count = psql_value("SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)", a => $A);
my $profiles = psql_value("SELECT count(*) FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint)", a => $A);
$r = route("SELECT * FROM prefs_v3_preferences_write(CAST(:'a' AS bigint), 7, 'list', NULL, CAST(:'b' AS jsonb))",
           b => $J->encode([
               { CID => 'v3-first', FilterID => 'NewsletterEmail', PreferenceType => 1,
                 ContactElement => { Email => 'v3-first@example.com' } },
               { CID => 'v3-second', FilterID => 'NewsletterEmail', PreferenceType => 1, FrequencyID => 'Y',
                 ContactElement => { Email => 'v3-second@example.com' } } ]));
is($r->{answer}[0]{outcome}, 'invalid', 'v3, the second customer refused: invalid');
like($r->{answer}[0]{body}, qr/^Preferences\[1\]\.FrequencyID 'Y'/, 'v3: the message in the v3 spelling');
is(psql_value("SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)", a => $A), $count,
   'v3, the second customer refused: no event');
is(psql_value("SELECT count(*) FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint)", a => $A), $profiles,
   'v3, the second customer refused: no profile');

# --- deactivate, activate, erase ---------------------------------------------------------
for my $case ([ 'DELETE Profile/{id}', "prefs_profile_deactivate(CAST(:'a' AS bigint), 7, $P, 'moved')",
                'deactivated', 'profile.deactivated' ],
              [ 'POST Profile/{id}/Activate', "prefs_profile_activate(CAST(:'a' AS bigint), 7, $P)",
                'reactivated', 'profile.reactivated' ],
              [ 'erasure', "prefs_profile_erase(CAST(:'a' AS bigint), 7, $V)", 'erased', 'profile.deleted' ]) {
    my ($name, $call, $outcome, $event) = @$case;
    $r = route("SELECT * FROM $call");
    is($r->{answer}[0]{outcome}, $outcome, "$name: $outcome");
    through_engine($name, $r, events => [ $event ]);
}
is(copy_of($V), undef, 'erasure: no copy left');
is_deeply(route("SELECT * FROM prefs_profile_erase(CAST(:'a' AS bigint), 7, $V)")->{answer},
          [ { outcome => 'not_found', message => "there is no profile $V" } ], 'erasure again: not found');
is_deeply(route("SELECT * FROM prefs_profile_deactivate(CAST(:'a' AS bigint), 7, $P, CAST(:'r' AS text))",
                r => 'x' x 257)->{answer},
          [ { outcome => 'invalid', message => 'ReasonCode must be at most 256 characters' } ],
          'DELETE Profile/{id} with a long ReasonCode: invalid');
my $other = make_account('oneplace');
my $O = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $other);
is_deeply($J->decode(psql("SELECT json_agg(r) FROM prefs_profile_activate($O, 7, $P) r")),
          [ { outcome => 'not_found', message => "there is no profile $P" } ],
          'another account\'s profile: not found');

# --- outside the engine ------------------------------------------------------------------
my $err = `psql -X -q -A -t -d '$ENV{TEST_NGINX_PREFS_DATABASE}' -c "SELECT prefs_data_apply_ex($A, 7, $P, '{}', false)" 2>&1`;
like($err, qr/prefs_data_apply_ex runs only inside the write engine/,
     'prefs_data_apply_ex called outside the engine: refused');

done_testing();
