#!/usr/bin/perl
# The rendered copy of a profile (sql/functions/profile.sql, table in sql/migrations/015_profile_doc.sql): GET
# Profile/{id} answers the copy only while it is current.  After every kind
# of write the answer must equal a fresh rendering; a copy with a stale
# xmin is never served; an erased profile leaves no copy behind.  Every
# write leaves a current copy (no read renders), missing copies are built
# in one statement, and only writes an active webhook subscription waits
# for send NOTIFY prefs_event.
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

my $TOP = $ENV{TEST_NGINX_PREFS_TOP};
my $J   = JSON::PP->new->utf8->canonical;

sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; scalar <$fh> }
sub q1 { my $o = psql(@_); $o =~ s/\s+\z//; $o }

my $client = make_account('profdoc');
my $A = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))",
     a => $A, d => slurp("$TOP/conf/demo-config.json"));

sub write_fn {   # a write function of sql/functions/profile.sql that takes (account, user, profile, body)
    my ($fn, $id, $body) = @_;
    q1("SELECT row_to_json(r) FROM $fn(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint), CAST(:'b' AS jsonb)) r",
       a => $A, p => $id, b => $J->encode($body));
}

sub served { q1("SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false)", a => $A, p => $_[0]) }
sub fresh {
    q1("SELECT prefs_data_profile_json(x, false)::text FROM prefs_profile x WHERE x.profile_id = CAST(:'p' AS bigint)",
       p => $_[0]);
}
# the copy as the write left it, before any read: only when it is current
sub kept {
    q1(q{SELECT d.doc FROM prefs_profile_doc d JOIN prefs_profile x USING (profile_id)
          WHERE x.profile_id = CAST(:'p' AS bigint) AND d.src_xmin = x.xmin}, p => $_[0]);
}
sub copies { psql_value("SELECT count(*) FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $_[0]) }

my $out = q1(q{SELECT row_to_json(r) FROM prefs_profile_create(CAST(:'a' AS bigint), 7, CAST(:'b' AS jsonb)) r},
             a => $A, b => $J->encode({
    CustomerName => { FirstName => 'Ann', LastName => 'Lee' },
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Garden' }],
    AlternateIds => [{ Type => 'CRMId', Value => "DOC-$A" }],
    Emails => [{ EmailAddress => 'ann@example.com', EmailAddressType => 'Personal',
                 EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 }] }],
    PhoneNumbers => [{ PhoneNumber => '+15550100200', PhoneNumberType => 'Mobile', IsMobile => JSON::PP::true }],
    Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 }] }));
my $P = $J->decode($out)->{profile_id};
ok($P, 'a profile') or diag $out;

is(copies($P), 1, 'the create kept a copy');
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
my $first = served($P);
is($first, fresh($P), 'without a copy, the first read renders');
is(copies($P), 1, 'and keeps a copy');
is(served($P), $first, 'the second read answers the copy');

# every kind of change: the next read equals a fresh rendering
my @changes = (
    [ 'names', 'prefs_profile_update', { CustomerName => { FirstName => 'Anna', MiddleName => 'B' } } ],
    [ 'an email', 'prefs_profile_update', { Emails => [{ EmailAddress => 'anna@work.example', EmailAddressType => 'Work' }] } ],
    [ 'a phone', 'prefs_profile_update', { PhoneNumbers => [{ PhoneNumber => '+15550100200', PhoneNumberType => 'Mobile', IsMobile => JSON::PP::false }] } ],
    [ 'a preference', 'prefs_profile_update', { Emails => [{ EmailAddress => 'ann@example.com',
        EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 2 }] }] } ],
    [ 'a profile-level preference', 'prefs_profile_update', { ProfilePreferences => [{ FilterId => 'NewsletterEmail',
        PreferenceType => 1 }] } ],
    [ 'a consent', 'prefs_profile_update', { Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 3 }] } ],
    [ 'custom fields', 'prefs_profile_update', { CustomFields => [{ Name => 'FavoriteCategory', Value => 'Kitchen' }] } ],
    [ 'groups and tags', 'prefs_profile_update', { Groups => [{ Type => 'Household', Name => 'Lees' }], Tags => ['VIP'] } ],
);
for my $c (@changes) {
    my ($what, $fn, $body) = @$c;
    my $before = served($P);
    my $r = write_fn($fn, $P, $body);
    like($r, qr/"(?:outcome|status)"\s*:\s*"(?:updated|ok|unchanged)"/, "$what: written") or diag $r;
    is(kept($P), fresh($P), "$what: the write left a current copy");
    my $now = served($P);
    is($now, fresh($P), "$what: the next read equals a fresh rendering");
    isnt($now, $before, "$what: and shows the change");
    is(served($P), $now, "$what: then the copy is served");
}

# writes keep the copy themselves (through prefs_profile_doc_fill): current before any read
{
    my $r = write_fn('prefs_profile_update', $P, { CustomerName => { FirstName => 'Annie' } });
    like($r, qr/"updated"/, 'an update');
    is(q1(q{SELECT d.doc FROM prefs_profile_doc d JOIN prefs_profile x USING (profile_id)
             WHERE x.profile_id = CAST(:'p' AS bigint) AND d.src_xmin = x.xmin}, p => $P), fresh($P),
       'the update left a current copy, equal to a fresh rendering');
    my $ev = q1(q{SELECT data::text || '|' || coalesce(previous_data::text, 'none') FROM prefs_event
                   WHERE profile_id = CAST(:'p' AS bigint) AND event_type = 'profile.updated'
                   ORDER BY event_id DESC LIMIT 1}, p => $P);
    like($ev, qr/"FirstName": "Annie".*\|none$/, 'profile.updated: Data after, no PreviousData');
    my $c = q1(q{SELECT row_to_json(r) FROM prefs_profile_create(CAST(:'a' AS bigint), 7, CAST(:'b' AS jsonb)) r},
               a => $A, b => $J->encode({ CustomerName => { FirstName => 'New' },
                   CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] }));
    my $np = $J->decode($c)->{profile_id};
    is(copies($np), 1, 'a create leaves a copy');
    is(served($np), fresh($np), 'which is current');
}

# removals: through UpdateProfile, the DELETE part routes' function,
# and JSON Patch
my @more = (
    [ 'an email removed', sub { write_fn('prefs_profile_update', $P,
        { Emails => [{ EmailAddress => 'anna@work.example', IsActive => JSON::PP::false }] }) } ],
    [ 'a tag removed', sub { q1("SELECT row_to_json(r) FROM prefs_profile_remove_parts(CAST(:'a' AS bigint), 7,
        CAST(:'p' AS bigint), 'Tags', CAST(:'b' AS jsonb)) r", a => $A, p => $P, b => '["VIP"]') } ],
    [ 'a JSON Patch', sub { q1("SELECT row_to_json(r) FROM prefs_profile_patch(CAST(:'a' AS bigint), 7,
        CAST(:'p' AS bigint), CAST(:'b' AS jsonb), '{}') r", a => $A, p => $P,
        b => '[{"op":"replace","path":"/CustomerName/LastName","value":"Li"}]') } ],
);
for my $c (@more) {
    my ($what, $do) = @$c;
    my $before = served($P);
    my $r = $do->();
    unlike($r, qr/invalid|not_found|conflict/, "$what: done") or diag $r;
    is(kept($P), fresh($P), "$what: the write left a current copy");
    my $now = served($P);
    is($now, fresh($P), "$what: the next read equals a fresh rendering");
    isnt($now, $before, "$what: and shows the change");
}

for my $fn (qw(prefs_profile_deactivate prefs_profile_activate)) {
    my $before = served($P);
    my $extra = $fn =~ /deactivate/ ? ", 'Moved'" : '';
    q1("SELECT row_to_json(r) FROM $fn(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint)$extra) r", a => $A, p => $P);
    is(kept($P), fresh($P), "$fn: the write left a current copy");
    my $now = served($P);
    is($now, fresh($P), "$fn: the next read equals a fresh rendering");
    isnt($now, $before, "$fn: and shows the change");
}

# by alternate id: the same copy, current
is(q1("SELECT prefs_profile_by_alternate_id(CAST(:'a' AS bigint), 'CRMId', :'v', false)", a => $A, v => "DOC-$A"),
   fresh($P), 'by alternate id: the current document');
is(q1("SELECT prefs_profile_by_alternate_id(CAST(:'a' AS bigint), 'CRMId', 'DOC-none', false) IS NULL", a => $A), 't',
   'by an unknown alternate id: nothing');

# a write that fails leaves the copy as it was
{
    my $before = kept($P);
    my $r = write_fn('prefs_profile_update', $P, { CustomerName => { FirstName => 'Ada' }, NoSuchField => 1 });
    like($r, qr/"invalid"/, 'a refused write') or diag $r;
    is(kept($P), $before, 'leaves the copy current and unchanged');
}

# copies missing (a load straight into the tables): built in one statement
{
    my @ids = split /\n/, psql("SELECT profile_id FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint)"
                               . " AND erased_at IS NULL ORDER BY 1", a => $A);
    psql("DELETE FROM prefs_profile_doc WHERE profile_id IN"
         . " (SELECT profile_id FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint))", a => $A);
    is(q1("SELECT prefs_profile_doc_build(CAST(:'a' AS bigint))", a => $A), scalar(@ids),
       'prefs_profile_doc_build: one copy per profile of the account');
    is(kept($_), fresh($_), "profile $_: its copy is current") for @ids;
    is(q1("SELECT prefs_profile_doc_build(CAST(:'a' AS bigint))", a => $A), 0, 'built again: nothing to do');
    psql("UPDATE prefs_profile_doc SET src_xmin = '3' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
    is(q1("SELECT prefs_profile_doc_build(CAST(:'a' AS bigint))", a => $A), 1, 'a stale copy is rebuilt');
    is(kept($P), fresh($P), 'and current');

    # what prefsctl migrate runs after the functions' transaction: every
    # account, in batches that commit as they go (each batch's copies are
    # another transaction's rows)
    psql("DELETE FROM prefs_profile_doc WHERE profile_id IN"
         . " (SELECT profile_id FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint))", a => $A);
    psql("CALL prefs_profile_doc_build_batches(2)");
    is(q1("SELECT count(*) FROM prefs_profile_doc d JOIN prefs_profile x USING (profile_id)"
          . " WHERE x.account_id = CAST(:'a' AS bigint) AND d.src_xmin = x.xmin", a => $A), scalar(@ids),
       'prefs_profile_doc_build_batches: every profile has its current copy');
    is(kept($_), fresh($_), "profile $_: its copy is current") for @ids;
    my $batches = int((scalar(@ids) + 1) / 2);
    cmp_ok(q1("SELECT count(DISTINCT d.xmin::text) FROM prefs_profile_doc d JOIN prefs_profile x USING (profile_id)"
              . " WHERE x.account_id = CAST(:'a' AS bigint)", a => $A), '>=', $batches,
           "in batches of 2: at least $batches transactions for " . scalar(@ids) . ' profiles');
    is(q1("SELECT count(*) FROM prefs_profile_doc_stale(NULL, 0, NULL) s"
          . " WHERE s.account_id = CAST(:'a' AS bigint)", a => $A), 0, 'nothing stale is left');
}

# NOTIFY prefs_event (it wakes the webhook pump, and serializes notifying
# commits database-wide): only from an account with a subscription that
# takes events now.  psql shows the notifications its own session sent.
sub notified {
    my $out = psql("LISTEN prefs_event;\nSELECT 'pid=' || pg_backend_pid();\n"
                   . "SELECT outcome FROM prefs_profile_update(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint),"
                   . " CAST(:'b' AS jsonb));\n",
                   a => $A, p => $P, b => $J->encode({ CustomerName => { FirstName => $_[0] } }));
    like($out, qr/^updated$/m, "write $_[0]: updated") or diag $out;
    my ($pid) = $out =~ /pid=(\d+)/;
    return $out =~ /Asynchronous notification "prefs_event" received from server process with PID $pid\b/ ? 1 : 0;
}
is(notified('Nora'), 0, 'no subscription: the write sends no NOTIFY');
my $S = psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state, subscriptions, secret_sealed)"
                   . " VALUES (CAST(:'a' AS bigint), 's', 'https://example.com/h', 'Active', :'subs', 'x')"
                   . " RETURNING subscription_id", a => $A, subs => '[{"EventType":"profile.updated"}]');
is(notified('Nina'), 0, 'a subscription waiting for its handshake: none either');
psql("UPDATE prefs_webhook_subscription SET validated_at = now() WHERE subscription_id = CAST(:'s' AS bigint)", s => $S);
is(notified('Nell'), 1, 'a validated active subscription: the write notifies');
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_at = now() WHERE subscription_id = CAST(:'s' AS bigint)",
     s => $S);
is(notified('Noor'), 0, 'paused: none');
psql("DELETE FROM prefs_webhook_subscription WHERE subscription_id = CAST(:'s' AS bigint)", s => $S);

# a copy from another version of the row is never served
psql("UPDATE prefs_profile_doc SET doc = '{\"stale\":true}', src_xmin = '3' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
is(served($P), fresh($P), 'a copy with another xmin is not served');
is(q1("SELECT doc FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P), fresh($P),
   'and is replaced by the fresh rendering');

# the history variant is rendered each time, never from the copy
my $hist = q1("SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), true)", a => $A, p => $P);
is(scalar(@{ $J->decode($hist)->{Consents} }), 2, 'with history: both consent records');

# another account's id: nothing, and no copy made
my $other = make_account('profdoc2');
my $B = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $other);
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
is(q1("SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false) IS NULL", a => $B, p => $P), 't',
   "another account's read: nothing");
is(copies($P), 0, "another account's read makes no copy");

# erasure: no copy of the personal data survives
served($P);
is(copies($P), 1, 'a copy before the erasure');
q1("SELECT row_to_json(r) FROM prefs_profile_erase(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint)) r", a => $A, p => $P);
is(copies($P), 0, 'the erasure deletes the copy');
unlike(served($P), qr/Ann|Anna|Lee|example\.com|5550100200/, 'the read after the erasure has no personal data');
is(q1(q{SELECT count(*) FROM prefs_profile_doc d JOIN prefs_profile x USING (profile_id)
          WHERE x.account_id = CAST(:'a' AS bigint) AND d.doc ~ 'Anna|ann@example|5550100200'}, a => $A), 0,
   'no copy anywhere holds them');

done_testing();
