# prefsctl import CLIENTID FILE: a bulk import of an NDJSON file from a shell,
# executed by the helper of a running nginx; its final status on stdout,
# its exceptions (one JSON a line) in a file; bad arguments refused.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its import must be run by its own helper (any
#   nginx's helper claims any queued job)
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = 'CtlImportCo';
PrefsTest::api_account($client);
PrefsTest::api_config_import($client);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

my $ng = PrefsTest::start_nginx(name => 'ctl-import',
    http_config => 'prefs_job_lease 2s; prefs_helper_poll_interval 1s; prefs_import_batch 7;');
ok(wait_until(sub { $ng->helper_pid }, 5), 'an nginx with its helper runs');

my $dir = tempdir(CLEANUP => 1);
my $file = "$dir/profiles.ndjson";
open my $fh, '>', $file or die $!;
for my $i (1 .. 30) {
    my $rec = { CustomerName => { FirstName => "Ctl$i" }, AlternateIds => [ { Type => 'CRMId', Value => "ctl$i" } ],
                CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] };
    $rec->{Emails} = [ { EmailAddress => 'not-an-address' } ] if $i == 10;
    print $fh encode_json($rec), "\n";
    print $fh "\n" if $i == 5;
    print $fh "{\"CustomerName\":\n" if $i == 20;
}
close $fh;

my ($rc, $out) = prefsctl('import', $client, $file, '--chunk', '8',
                          '--options', '{"MatchCriteria":"AlternateIdType","MatchValue":"CRMId"}');
is($rc, 0, 'prefsctl import succeeds') or diag($out);
my $st = eval { decode_json($out) } || {};
is_deeply([ @$st{qw(Status TotalRecordsReceived ValidationSuccessful ValidationFailed Processed Exceptions
                    MatchCriteria MatchValue)} ],
          [ 'Completed', 31, 29, 2, 29, 0, 'AlternateIdType', 'CRMId' ], 'its final status, exact');
is(psql_value("SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = :'a' AND type = 'CRMId'"
              . " AND value LIKE 'ctl%' AND is_active", a => $acct), 29, 'the profiles are there');

open my $ex, '<', "$file.exceptions" or die "no exceptions file: $!";
my @ex = map { decode_json($_) } <$ex>;
close $ex;
is_deeply([ map { "$_->{Position} $_->{Path}" } @ex ], [ '9 Emails[0].EmailAddress', '20 ' ],
          'the exceptions file: one JSON a line, at their positions (blank lines do not count)');
is($ex[1]{Message}, 'The record is not valid JSON', 'a line that is not JSON');

# the same file again, matched on CRMId: updates, no new profile
($rc, $out) = prefsctl('import', $client, $file, '--name', 'again', '--exceptions', "$dir/again.txt",
                       '--options', '{"MatchCriteria":"AlternateIdType","MatchValue":"CRMId"}');
is($rc, 0, 'a second import of the same file');
is(psql_value("SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = :'a' AND type = 'CRMId'"
              . " AND value LIKE 'ctl%'", a => $acct), 29, 'matched: no profile added');
ok(-s "$dir/again.txt", '--exceptions names the file');

# refusals, before anything is made
my $before = psql_value("SELECT count(*) FROM prefs_import WHERE account_id = :'a'", a => $acct);
for my $case ([ [ 'NoSuchCtlCo', $file ], qr/account NoSuchCtlCo not found/ ],
              [ [ $client, "$dir/missing" ], qr/no such file/ ],
              [ [ $client, $file, '--options', '{"Colour":1}' ], qr/Unknown field Colour/ ],
              [ [ $client, $file, '--options', '[1]' ], qr/must be a JSON object/ ],
              [ [ $client, $file, '--chunk', '0' ], qr/--chunk must be an integer/ ],
              [ [ $client ], qr/missing <file>/ ]) {
    my ($args, $why) = @$case;
    ($rc, $out) = prefsctl('import', @$args);
    is($rc, 1, "prefsctl import @$args: exit 1");
    like($out, $why, '... saying why');
}
open $fh, '>', "$dir/latin1.ndjson" or die $!;
print $fh "{\"CustomerName\":{\"FirstName\":\"\xe9\"}}\n";
close $fh;
($rc, $out) = prefsctl('import', $client, "$dir/latin1.ndjson");
is($rc, 1, 'a file that is not UTF-8: exit 1');
like($out, qr/not valid UTF-8/, '... saying so');
is(psql_value("SELECT count(*) FROM prefs_import WHERE account_id = :'a'", a => $acct), $before,
   'no import was initiated by the refused commands');

$ng->stop;
done_testing();
