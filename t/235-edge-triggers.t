#!/usr/bin/perl
# The edge relay's triggers on prefs_profile (sql/functions/edge.sql): a
# change of a profile of an account served at the edge notifies
# prefs_edge in its transaction ("account:profile", and "account:*" once
# past 100 changes of the account in one transaction); a write of an
# account that is not served at the edge fires no trigger function and
# notifies nothing.  The HTTP side (the helper's relay, the workers'
# copies) is t/230-t/234.
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

use PrefsTest;

sub account {
    my $client = make_account('edgetrig');
    my $id = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
    return ($client, $id);
}

# n profiles of account a: their ids
sub profiles {
    my ($a, $n) = @_;
    return split /\n/, psql("INSERT INTO prefs_profile (account_id) SELECT CAST(:'a' AS bigint)"
                            . " FROM generate_series(1, CAST(:'n' AS integer)) RETURNING profile_id",
                            a => $a, n => $n);
}

# what one session LISTENing on prefs_edge receives from its own
# statements: the payloads, in order
sub notified {
    my ($sql, %vars) = @_;
    my $out = psql("LISTEN prefs_edge;\n$sql;\nSELECT 'done';", %vars);
    return [ $out =~ /notification "prefs_edge" with payload "([^"]*)"/g ];
}

# the calls of the trigger function that the statements of $sql make (in
# one transaction, rolled back)
sub trigger_calls {
    my ($sql, %vars) = @_;
    my $out = psql("BEGIN;\nSET LOCAL track_functions = 'all';\n$sql;\n"
                   . "SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions"
                   . " WHERE funcname = 'prefs_edge_changed'), 0);\nROLLBACK;", %vars);
    return (split /\n/, $out)[-1];
}

my ($edge_client, $edge) = account();
my ($plain_client, $plain) = account();
my @e = profiles($edge, 102);
my @p = profiles($plain, 2);

# nothing is served at the edge yet for these accounts: their writes
# notify nothing
is_deeply(notified("UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p'", p => $e[0]),
          [], 'an account before its first visitor: no notification');

# the first visitor marks the account as served at the edge
is(psql_value("SELECT count(*) FROM prefs_edge_state(:'c', CAST(:'p' AS bigint))", c => $edge_client, p => $e[0]),
   1, 'prefs_edge_state answers the first visitor');
is(psql_value("SELECT count(*) FROM prefs_edge_account WHERE account_id = CAST(:'a' AS bigint)", a => $edge),
   1, 'the account is marked as served at the edge');

my $defs = psql("SELECT string_agg(pg_get_triggerdef(t.oid), E'\\n' ORDER BY t.tgname) FROM pg_trigger t"
                . " WHERE t.tgrelid = 'prefs_profile'::regclass AND t.tgname LIKE 'prefs_edge_%'");
like($defs, qr/prefs_edge_deleted AFTER DELETE .*FOR EACH ROW WHEN \(\(old\.account_id (?:= $edge\)|= ANY \(ARRAY\[[^\]]*\b$edge\b)/,
     'the delete trigger is a row trigger that names the account');
like($defs, qr/prefs_edge_updated AFTER UPDATE .*FOR EACH ROW WHEN \(\(old\.account_id (?:= $edge\)|= ANY \(ARRAY\[[^\]]*\b$edge\b)/,
     'the update trigger is a row trigger that names the account');
unlike($defs, qr/\b$plain\b/, 'the triggers do not name the account without edge');
unlike($defs, qr/REFERENCING/, 'no transition table is kept');

# the other account's writes: no trigger function runs, nothing notified
is(trigger_calls("UPDATE prefs_profile SET updated_at = now() WHERE account_id = :'a'", a => $plain),
   0, 'an update of an account without edge runs no trigger function');
is(trigger_calls("DELETE FROM prefs_profile WHERE profile_id = :'p'", p => $p[1]),
   0, 'a delete of an account without edge runs no trigger function');
is_deeply(notified("UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p'", p => $p[0]),
          [], 'an update of an account without edge notifies nothing');

# the edge account's changes: notified in their transaction
is(trigger_calls("UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p'", p => $e[1]),
   1, 'an update of an edge account runs the trigger function once a row');
is_deeply(notified("UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p'", p => $e[1]),
          ["$edge:$e[1]"], 'an update of an edge account notifies its profile');
is_deeply(notified("BEGIN;\nUPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p';\n"
                   . "UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'q';\n"
                   . "UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p';\nCOMMIT",
                   p => $e[2], q => $e[3]),
          ["$edge:$e[2]", "$edge:$e[3]"], 'a transaction notifies each changed profile once, at its commit');
is_deeply(notified("BEGIN;\nUPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p';\nROLLBACK",
                   p => $e[2]),
          [], 'a rolled back change notifies nothing');
is_deeply(notified("UPDATE prefs_profile SET updated_at = now()"
                   . " WHERE profile_id IN (CAST(:'p' AS bigint), CAST(:'q' AS bigint))",
                   p => $e[4], q => $p[0]),
          ["$edge:$e[4]"], 'a statement over both accounts notifies only the edge account\'s profile');

# a bulk write: the first 100 profiles, then the whole account
my $bulk = notified("UPDATE prefs_profile SET updated_at = now() WHERE account_id = :'a'", a => $edge);
is(scalar(@$bulk), 101, 'past 100 changed profiles: 101 notifications');
is($bulk->[-1], "$edge:*", 'the last one names the whole account');
is(scalar(grep { /^$edge:\d+$/ } @$bulk), 100, 'the others name one profile each');
is_deeply(notified("UPDATE prefs_profile SET updated_at = now() WHERE profile_id = :'p'", p => $e[5]),
          ["$edge:$e[5]"], 'the count starts again in the next transaction');

is_deeply(notified("DELETE FROM prefs_profile WHERE profile_id = :'p'", p => $e[6]),
          ["$edge:$e[6]"], 'a delete of an edge account\'s profile notifies it');

# a migrate makes the triggers again from prefs_edge_account (other
# suites may mark accounts meanwhile: the account is named, as before)
psql("SELECT prefs_edge_triggers()");
like(psql("SELECT string_agg(pg_get_triggerdef(t.oid), E'\\n' ORDER BY t.tgname) FROM pg_trigger t"
          . " WHERE t.tgrelid = 'prefs_profile'::regclass AND t.tgname LIKE 'prefs_edge_%'"),
     qr/^CREATE TRIGGER prefs_edge_deleted AFTER DELETE .*FOR EACH ROW WHEN \(\(old\.account_id (?:= $edge\)|= ANY \(ARRAY\[[^\]]*\b$edge\b).*\n.*prefs_edge_updated AFTER UPDATE .*FOR EACH ROW .*\b$edge\b/,
     'prefs_edge_triggers again: the same row triggers, naming the account');

done_testing();
