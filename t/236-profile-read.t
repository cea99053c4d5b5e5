#!/usr/bin/perl
# What GET Profile/{id} runs (sql/functions/profile.sql prefs_profile_read):
# the current copy from the statement itself (the function is inlined into
# the worker's prepared statement: no PL/pgSQL call), else what
# prefs_profile_get answers: a fresh rendering, kept; with the consent
# history a rendering each time; nothing for another account's profile, a
# missing one or an erased one's personal data.  t/125 tests the copy
# through prefs_profile_get and the writes.
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

# psql's answer without its trailing newline
sub q1 { my $o = psql(@_); chomp $o; $o }

# an account with the demo configuration (prefsctl config import): its id
sub account {
    my $client = make_account('profread');
    api_config_import($client);
    return psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
}
my $A = account();
my $B = account();

# prefs_profile_read as the worker's statement calls it (text parameters)
sub read_as {
    my ($acct, $pid, $hist) = @_;
    q1("SELECT coalesce((SELECT body FROM prefs_profile_read(CAST(:'a' AS bigint), CAST(:'p' AS bigint),"
       . " CAST(:'h' AS boolean))), 'NONE')", a => $acct, p => $pid, h => $hist // 'false');
}
sub fresh {
    q1("SELECT prefs_data_profile_json(x, CAST(:'h' AS boolean))::text FROM prefs_profile x"
       . " WHERE x.profile_id = CAST(:'p' AS bigint)", p => $_[0], h => $_[1] // 'false');
}
sub copies { q1("SELECT count(*) FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $_[0]) }

my $out = q1(q{SELECT row_to_json(r) FROM prefs_profile_create(CAST(:'a' AS bigint), 7, CAST(:'b' AS jsonb)) r},
             a => $A, b => $J->encode({
    CustomerName => { FirstName => 'Rea', LastName => 'Der' },
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Garden' }],
    Emails => [{ EmailAddress => 'rea@example.com', EmailAddressType => 'Personal',
                 EmailPreferences => [{ FilterId => 'NewsletterEmail', PreferenceType => 1 }] }],
    Consents => [{ ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 }] }));
my $P = $J->decode($out)->{profile_id};
ok($P, 'a profile') or diag $out;

# the statement runs no function for the copy: prefs_profile_read is
# inlined (its plan names the tables, not the function)
my $plan = q1("EXPLAIN (VERBOSE, COSTS OFF) SELECT body FROM prefs_profile_read(CAST(:'a' AS bigint),"
              . " CAST(:'p' AS bigint), false)", a => $A, p => $P);
like($plan, qr/prefs_profile_doc_pkey/, 'the plan reads the copy by its index');
unlike($plan, qr/Function Scan/, 'prefs_profile_read is inlined into the statement');

is(read_as($A, $P), fresh($P), 'the current copy: equal to a fresh rendering');
is(read_as($A, $P), q1("SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false)", a => $A, p => $P),
   'the same text as prefs_profile_get');

# a stale copy is not served: the read renders and keeps a new one
psql("UPDATE prefs_profile_doc SET doc = '{\"Stale\": true}' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
psql("UPDATE prefs_profile SET first_name = 'Reah' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
my $now = read_as($A, $P);
like($now, qr/"FirstName" *: *"Reah"/, 'after a change of the row: the change');
is($now, fresh($P), 'equal to a fresh rendering');

# no copy: rendered and kept
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
is(read_as($A, $P), fresh($P), 'without a copy: a fresh rendering');
is(copies($P), 1, 'and the copy is kept');
psql("UPDATE prefs_profile_doc SET doc = '{\"Marked\": true}' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
is(read_as($A, $P), '{"Marked": true}', 'the next read answers the copy itself');
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);

# the consent history: rendered each time, never the copy
read_as($A, $P);
psql("UPDATE prefs_profile_doc SET doc = '{\"Marked\": true}' WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
my $hist = read_as($A, $P, 'true');
is($hist, fresh($P, 'true'), 'with the history: a fresh rendering with history');
unlike($hist, qr/Marked/, 'not the copy');
is(read_as($A, $P, undef), '{"Marked": true}', 'history false: the copy');
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
read_as($A, $P);

# another account's id, a missing id: nothing, and no copy made
psql("DELETE FROM prefs_profile_doc WHERE profile_id = CAST(:'p' AS bigint)", p => $P);
is(read_as($B, $P), 'NONE', "another account's profile: nothing");
is(copies($P), 0, "another account's read makes no copy");
is(read_as($A, 0), 'NONE', 'no such profile: nothing');
is(read_as($A, '9223372036854775807'), 'NONE', 'the largest id: nothing');

# an erased profile: no personal data
q1("SELECT row_to_json(r) FROM prefs_profile_erase(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint)) r", a => $A, p => $P);
unlike(read_as($A, $P), qr/"Reah?"|"Der"|rea\@example/, 'erased: the read has no personal data');

done_testing();
