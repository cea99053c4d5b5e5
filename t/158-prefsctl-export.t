# prefsctl export (issue 13): a segment's (or a group's) profiles as NDJSON,
# all or changed since a LastDateTime, on stdout or in a file; refusals
# worded as the API's, exit 1, nothing left behind.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = make_account('pctlexp');
my ($rc, $out) = prefsctl('config', 'import', $client, PrefsTest::top() . '/conf/demo-config.json');
is($rc, 0, 'configuration imported') or diag($out);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
my %id;
for my $n (qw(Ann Bob Cid)) {
    ($id{$n}) = psql_value("SELECT outcome || ' ' || profile_id FROM prefs_profile_create(CAST(:'a' AS bigint), NULL, CAST(:'b' AS jsonb))",
        a => $acct, b => qq({"CustomerName":{"FirstName":"$n","LastName":"Ctl"},)
                       . qq("CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]})) =~ /^created (\d+)$/;
    ok($id{$n}, "profile $n");
}
psql("UPDATE prefs_profile SET edited_at = '2026-01-01T00:00:00.010Z' WHERE profile_id = CAST(:'p' AS bigint)", p => $id{Ann});
psql("UPDATE prefs_profile SET edited_at = '2026-02-01T00:00:00Z' WHERE profile_id IN (CAST(:'b' AS bigint), CAST(:'c' AS bigint))",
     b => $id{Bob}, c => $id{Cid});
for my $b ('{"Name":"ctl","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"ctl"}]}',
           '{"Name":"bob","Criteria":[{"Field":"FirstName","Operator":"Equals","Value":"bob"}]}') {
    is(psql_value("SELECT outcome FROM prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
                  a => $acct, b => $b), 'created', 'segment');
}
is(psql_value("SELECT outcome FROM prefs_seg_call(CAST(:'a' AS bigint), 'SegmentGroup', 'POST', NULL, CAST(:'b' AS jsonb))",
              a => $acct, b => '{"Name":"ctl but bob","Operator":"Except","Segments":["ctl","bob"]}'), 'created', 'group');

# the documents (stderr, merged, has the export's status too)
sub firsts { join ',', map { decode_json($_)->{CustomerName}{FirstName} } grep { /^\{"ProfileId"/ } split /\n/, $_[0] }

($rc, $out) = prefsctl('export', $client, 'ctl');
is($rc, 0, 'export: exit 0') or diag($out);
is(firsts($out), 'Ann,Bob,Cid', 'export: every profile, a line each, in ProfileId order');

($rc, $out) = prefsctl('export', $client, 'ctl', '--since', '2026-01-01T00:00:00.007Z');
is($rc, 0, 'export --since: exit 0') or diag($out);
is(firsts($out), 'Ann,Bob,Cid', '--since .007 rounds to .010: Ann is in');
($rc, $out) = prefsctl('export', $client, 'ctl', '--since', '2026-01-01T00:00:00.010');
is(firsts($out), 'Bob,Cid', '--since .010 rounds to .013: Ann is out');

my $dir = tempdir(CLEANUP => 1);
($rc, $out) = prefsctl('export', $client, 'ctl but bob', '--group', '--output', "$dir/out.ndjson");
is($rc, 0, 'export --group --output: exit 0') or diag($out);
is(firsts(do { local (@ARGV, $/) = "$dir/out.ndjson"; <> }), 'Ann,Cid', '--group: the group\'s profiles, in the file');

($rc, $out) = prefsctl('export', $client, 'nosuch');
is($rc, 1, 'an unknown segment: exit 1');
like($out, qr/No segment 'nosuch' in this account/, 'an unknown segment: said as the API says it');
($rc, $out) = prefsctl('export', $client, 'ctl', '--since', 'yesterday');
is($rc, 1, 'a bad --since: exit 1');
like($out, qr/LastDateTime must be a date and time/, 'a bad --since: why');
($rc, $out) = prefsctl('export', $client);
is($rc, 1, 'no segment: exit 1');

is(psql_value("SELECT count(*) FROM prefs_export e JOIN prefs_export_row r USING (access_token)"
              . " WHERE e.account_id = CAST(:'a' AS bigint)", a => $acct), 0, 'no export rows are left behind');
is(psql_value("SELECT string_agg(DISTINCT status, ',') FROM prefs_export WHERE account_id = CAST(:'a' AS bigint)",
              a => $acct), 'Expired', 'every export ended');

done_testing();
