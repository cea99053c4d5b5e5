# Bulk export (issue 13): POST Export/Segment|SegmentGroup/{name} queues the
# job; the job's SQL (prefs_export_run, what the helper's "prefs.export"
# runs; t/157 runs it through the helper) takes the snapshot; Status/Token,
# pages with limit/offset/keepAlive, Commit, expiry; LastDateTime with the
# reference's millisecond rounding at every boundary; MatchCriteria; another
# account's token is 401; every kind of bad input changes nothing.  v3
# export schedules: their configuration (ExportSchedules), exports with the
# schedule's fields only, startDate/endDate, paging and Commit.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its exports queue
#   "prefs.export" jobs (and callbacks) that no other suite's helper may run
#   (any helper claims any queued job); this suite runs no helper and deletes
#   them
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('ExportCo');
api_user('ExportCo', 'admin', 'Administrators');
api_user('ExportCo', 'reader', 'ReadOnly');
api_account('ExportOtherCo');
api_user('ExportOtherCo', 'admin', 'Administrators');
api_config_import('ExportCo');
api_config_import('ExportOtherCo');

our $Acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo'");
our $Other = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'ExportOtherCo'");

sub profile {
    my ($acct, $first, $email, $edited, $prefs) = @_;
    my $r = psql_value("SELECT outcome || ' ' || coalesce(profile_id::text, message)"
        . " FROM prefs_profile_create(CAST(:'a' AS bigint), NULL, CAST(:'b' AS jsonb))",
        a => $acct, b => qq({"CustomerName":{"FirstName":"$first","LastName":"Export"},)
          . qq("CustomerType":"Consumer","Emails":[{"EmailAddress":"$email","EmailAddressType":"Personal")
          . ($prefs ? qq(,"EmailPreferences":$prefs) : '') . '}],'
          . qq("AlternateIds":[{"Type":"CRMId","Value":"exp-$first"}],)
          . qq("CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]}));
    die "profile: $r\n" unless $r =~ /^created (\d+)$/;
    # the time of its last change, to the millisecond, for LastDateTime
    psql("UPDATE prefs_profile SET edited_at = CAST(:'t' AS timestamptz) WHERE profile_id = CAST(:'p' AS bigint)",
         t => $edited, p => $1);
    return $1;
}

# changed at .003, .007 and .010 of the same second: the rounding's edges
our %Id = (
    Ann => profile($Acct, 'Ann', 'ann@example.com', '2026-01-01T00:00:00.003Z',
                   '[{"FilterId":"NewsletterEmail","PreferenceType":1},{"FilterId":"PartnerOffersEmail","PreferenceType":2}]'),
    Bob => profile($Acct, 'Bob', 'bob@example.com', '2026-01-01T00:00:00.007Z'),
    Cid => profile($Acct, 'Cid', 'cid@example.com', '2026-01-01T00:00:00.010Z'),
);
profile($Other, 'Dan', 'dan@example.com', '2026-01-01T00:00:00.000Z');

sub segment {
    my ($acct, $kind, $body) = @_;
    my $o = psql_value("SELECT outcome FROM prefs_seg_call(CAST(:'a' AS bigint), :'k', 'POST', NULL, CAST(:'b' AS jsonb))",
                       a => $acct, k => $kind, b => $body);
    die "segment: $o\n" unless $o eq 'created';
}
segment($Acct, 'Segment', '{"Name":"everyone","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"Export"}]}');
segment($Acct, 'Segment', '{"Name":"ann","Criteria":[{"Field":"FirstName","Operator":"Equals","Value":"Ann"}]}');
segment($Acct, 'SegmentGroup', '{"Name":"not ann","Operator":"Except","Segments":["everyone","ann"]}');
segment($Other, 'Segment', '{"Name":"everyone","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"Export"}]}');
# export schedules: of a segment with three fields, of every profile with one;
# another account's
segment($Acct, 'ExportSchedule', '{"Name":"weekly","Segment":"everyone","Fields":["CID","FilterID","PreferenceType"]}');
segment($Acct, 'ExportSchedule', '{"Name":"all","Description":"every profile","Fields":["FilterID"]}');
segment($Acct, 'ExportSchedule', '{"Name":"gone","Fields":["FilterID"]}');
segment($Other, 'ExportSchedule', '{"Name":"theirs","Fields":["FilterID"]}');
# Ann's two preferences last changed in January and in February
psql("UPDATE prefs_preference SET updated_at = CASE filter_id WHEN 'NewsletterEmail' THEN timestamptz '2026-01-10T10:00Z'"
     . " ELSE timestamptz '2026-02-10T10:00Z' END WHERE profile_id = CAST(:'p' AS bigint)", p => $Id{Ann});

# exports made and run as the helper runs them: the token of each.  One
# left Processing is made without a job: another suite's helper (any helper
# claims any queued job) must not finish it.
my $Next = 8000000000 + $$ * 1000;
sub export {
    my ($acct, $kind, $name, $body, %o) = @_;
    if ($o{processing}) {
        my $t = $Next++;
        psql("INSERT INTO prefs_export (access_token, account_id, source_kind, source_name, selection, expires_at)"
             . " VALUES (CAST(:'t' AS bigint), CAST(:'a' AS bigint), :'k', :'n', '{}', now() + interval '12 hours')",
             t => $t, a => $acct, k => $kind, n => $name);
        return $t;
    }
    my $b = psql_value("SELECT outcome || ' ' || body FROM prefs_export_start(CAST(:'a' AS bigint), NULL, :'k', :'n',"
                       . " CAST(:'b' AS jsonb), :'f', CAST(:'g' AS jsonb))",
                       a => $acct, k => $kind, n => $name, b => $body // '{}', f => $o{format} // 'v4',
                       g => $o{args} // '{}');
    die "export: $b\n" unless $b =~ /^created .*"AccessToken": (\d+)/;
    psql("SELECT prefs_export_run(CAST(:'t' AS bigint))", t => $1);
    return $1;
}
our %Tok = (
    status   => export($Acct, 'Segment', 'everyone'),
    pages    => export($Acct, 'Segment', 'everyone'),
    last     => export($Acct, 'Segment', 'everyone'),
    commit   => export($Acct, 'Segment', 'everyone'),
    group    => export($Acct, 'SegmentGroup', 'not ann'),
    running  => export($Acct, 'Segment', 'everyone', undef, processing => 1),
    expired  => export($Acct, 'Segment', 'everyone'),
    failed   => export($Acct, 'Segment', 'everyone'),
    other    => export($Other, 'Segment', 'everyone'),
    email    => export($Acct, 'Segment', 'everyone', '{"MatchCriteria":"EmailAddress","Values":["BOB@example.com"]}'),
    alt      => export($Acct, 'Segment', 'everyone', '{"MatchCriteria":"AlternateId","MatchType":"CRMId","Values":["exp-Cid","exp-Ann"]}'),
    ids      => export($Acct, 'Segment', 'everyone', qq({"MatchCriteria":"ProfileId","Values":[$Id{Bob}]})),
);
# MyPreferences 2.0's export: v3 Preferences
$Tok{v3} = export($Acct, 'Segment', 'everyone', undef, format => 'v3');
$Tok{v3commit} = export($Acct, 'Segment', 'everyone', undef, format => 'v3');
# schedules' exports: all of it, January's changes only, one to commit
$Tok{sched} = export($Acct, 'Schedule', 'weekly', undef, format => 'v3');
$Tok{january} = export($Acct, 'Schedule', 'weekly', undef, format => 'v3',
                       args => '{"startDate":"2026-01-01","endDate":"2026-01-31T00:00:00"}');
$Tok{schedall} = export($Acct, 'Schedule', 'all', undef, format => 'v3');
$Tok{schedcommit} = export($Acct, 'Schedule', 'weekly', undef, format => 'v3');
# LastDateTime at each edge of the rounding: (given, who is exported)
our @Since = (['000Z', 'Ann,Bob,Cid'], ['002', 'Ann,Bob,Cid'], ['003Z', 'Bob,Cid'], ['006', 'Bob,Cid'],
              ['007Z', 'Cid'], ['009', 'Cid']);
$Tok{"since$_->[0]"} = export($Acct, 'Segment', 'everyone', qq({"LastDateTime":"2026-01-01T00:00:00.$_->[0]"}))
    for @Since;
# exports of 2,500 rows (documents of their own, as the job would have
# copied them) for the NDJSON download, which asks for 1,000 at a time; the
# newline in each (whitespace) becomes a space: a document is one line
for my $k (qw(big bigkeep bigoffset bigpages bigend bigone)) {
    $Tok{$k} = export($Acct, 'Segment', 'everyone', undef, processing => 1);
    psql("INSERT INTO prefs_export_row (access_token, seq, profile_id, doc)"
         . " SELECT CAST(:'t' AS bigint), i, i, '{\"n\": ' || i || ',\n \"x\": \"' || repeat('y', 100) || '\"}'"
         . " FROM generate_series(1, 2500) i", t => $Tok{$k});
    psql("UPDATE prefs_export SET status = 'Complete', row_count = 2500 WHERE access_token = CAST(:'t' AS bigint)",
         t => $Tok{$k});
}
our $Lines = join('', map { qq({"n": $_,  "x": ") . ('y' x 100) . qq("}\n) } 1 .. 2500);
# a page of them as it must be, byte for byte: the documents as stored
our @Docs = map { qq({"n": $_,\n "x": ") . ('y' x 100) . '"}' } 1 .. 2500;
sub page {
    my ($limit, $offset) = @_;
    my $last = $offset + $limit - 1 < 2500 ? $offset + $limit - 1 : 2500;
    my $n = $last >= $offset ? $last - $offset + 1 : 0;
    return qq({"Count":$n,"HasMore":) . ($last < 2500 ? 'true' : 'false')
         . qq(,"Limit":$limit,"Offset":$offset,"TotalResults":2500,"UserProfilePreferences":[)
         . CORE::join(',', @Docs[$offset - 1 .. $last - 1]) . ']}';
}
# the jobs of the exports above are this preamble's to run: another
# suite's helper must not run them (the "running" export stays Processing)
psql("DELETE FROM prefs_job WHERE job_type = 'prefs.export' AND account_id IN (CAST(:'a' AS bigint), CAST(:'o' AS bigint))",
     a => $Acct, o => $Other);
psql("UPDATE prefs_export SET expires_at = now() - interval '1 second' WHERE access_token = CAST(:'t' AS bigint)",
     t => $Tok{expired});
psql("UPDATE prefs_export SET status = 'Error', error = 'boom' WHERE access_token = CAST(:'t' AS bigint)",
     t => $Tok{failed});

sub names {
    my ($tok) = @_;
    return "SELECT coalesce(string_agg(p.first_name, ',' ORDER BY r.seq), '(none)') FROM prefs_export_row r"
         . " JOIN prefs_profile p USING (profile_id) WHERE r.access_token = $tok";
}

api_blocks();
run_tests();

__DATA__

=== TEST 1: POST Export/Segment/{name}: an AccessToken, the job queued
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"CallbackURL":"https://callback.invalid/done","LastDateTime":"2026-01-01T00:00:00.000Z"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ AccessToken => qr/^[1-9]\d{9,15}$/ }
--- sql
SELECT j.job_type || ' ' || e.callback_url || ' ' || (e.selection->>'since')
  FROM prefs_job j JOIN prefs_export e ON e.access_token = CAST(j.payload->>'access_token' AS bigint)
 WHERE j.job_type = 'prefs.export' AND e.access_token = CAST(:'AccessToken' AS bigint);
-- no helper of another suite is to run it
DELETE FROM prefs_job WHERE job_type = 'prefs.export' AND payload->>'access_token' = :'AccessToken';
--- sql_result
prefs.export https://callback.invalid/done 2026-01-01T00:00:00.003Z
--- no_error_log
[error]


=== TEST 2: no body is a full export
--- request
POST /Profiles/v4/Async/ExportCo/Export/SegmentGroup/not%20ann
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ AccessToken => qr/^\d+$/ }
--- sql
DELETE FROM prefs_job WHERE job_type = 'prefs.export' AND payload->>'access_token' = :'AccessToken';
SELECT selection ? 'callback' FROM prefs_export WHERE access_token = CAST(:'AccessToken' AS bigint)
--- sql_result
f
--- no_error_log
[error]


=== TEST 3: an unknown segment, or another account's, is 404
--- request eval
["POST /Profiles/v4/Async/ExportCo/Export/Segment/nosuch", "POST /Profiles/v4/Async/ExportOtherCo/Export/SegmentGroup/not%20ann"]
--- more_headers eval
[PrefsTest::auth('ExportCo', 'admin'), PrefsTest::auth('ExportOtherCo', 'admin')]
--- error_code eval
[404, 404]
--- response_json_list eval
[ { Message => "No segment 'nosuch' in this account" }, { Message => "No segment group 'not ann' in this account" } ]
--- no_error_log
[error]


=== TEST 4: without BulkExport: 403
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
--- more_headers eval
PrefsTest::auth('ExportCo', 'reader')
--- error_code: 403
--- no_error_log
[error]


=== TEST 5: Status/Token of a finished export
--- request eval
"GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{status}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ AccessToken => $::Tok{status}, Status => 'Complete', RowCount => 3,
  ByteCount => PrefsTest::satisfies(sub { $_[0] > 300 }, 'the documents\' size'),
  Expires => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }
--- sql eval
main::names($::Tok{status})
--- sql_result
Ann,Bob,Cid
--- no_error_log
[error]


=== TEST 6: Status/Token of one still running
--- request eval
"GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{running}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ Status => 'Processing', RowCount => 0 }
--- no_error_log
[error]


=== TEST 7: another account's token is 401, on every route, and spends nothing
--- request eval
["GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{other}",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{other}",
 "POST /Profiles/v4/Async/ExportCo/Export/$::Tok{other}/Commit"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[401, 401, 401]
--- response_json eval
{ Message => "The access token is not valid: unknown, expired or another account's" }
--- sql_unchanged eval
"SELECT status, (SELECT count(*) FROM prefs_export_row r WHERE r.access_token = e.access_token) FROM prefs_export e WHERE access_token = $::Tok{other}"
--- no_error_log
[error]


=== TEST 8: a token that is not a number, or no export's, is 401
--- request eval
["GET /Profiles/v4/Async/ExportCo/Status/Token/abc", "GET /Profiles/v4/Async/ExportCo/Status/Token/99",
 "GET /Profiles/v4/Async/ExportCo/Export/-1", "GET /Profiles/v4/Async/ExportCo/Export/1%27%20OR%201=1"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[401, 401, 401, 401]
--- no_error_log
[error]


=== TEST 9: an expired export's token is 401
--- request eval
"GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{expired}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 401
--- no_error_log
[error]


=== TEST 10: pages with keepAlive, then Commit ends the export
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{pages}?limit=2&offset=1&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{pages}?limit=2&offset=3&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{pages}?limit=2&offset=3&keepAlive=TRUE",
 "POST /Profiles/v4/Async/ExportCo/Export/$::Tok{pages}/Commit",
 "GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{pages}"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 200, 200, 200, 401]
--- response_json_list eval
[ { Count => 2, HasMore => JSON::PP::true(), Limit => 2, Offset => 1, TotalResults => 3,
    UserProfilePreferences => [ { ProfileId => $::Id{Ann}, CustomerName => { FirstName => 'Ann' } },
                                { ProfileId => $::Id{Bob}, CustomerName => { FirstName => 'Bob' } } ] },
  { Count => 1, HasMore => JSON::PP::false(), Limit => 2, Offset => 3, TotalResults => 3,
    UserProfilePreferences => [ { ProfileId => $::Id{Cid}, Emails => [ { EmailAddress => 'cid@example.com' } ] } ] },
  { Count => 1 },
  { AccessToken => $::Tok{pages}, Status => 'Complete', RowCount => 3 },
  { Message => qr/not valid/ } ]
--- sql eval
"SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{pages}"
--- sql_result
0
--- no_error_log
[error]


=== TEST 11: the last page without keepAlive ends the export
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{last}", "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{last}"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 401]
--- response_json_list eval
[ { Count => 3, HasMore => JSON::PP::false(), Limit => 1000, Offset => 1, TotalResults => 3 },
  { Message => qr/not valid/ } ]
--- sql eval
"SELECT status || ' ' || (SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{last}) FROM prefs_export WHERE access_token = $::Tok{last}"
--- sql_result
Expired 0
--- no_error_log
[error]


=== TEST 12: a page has no-store; past the end is an empty page
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?offset=50&keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_headers
Cache-Control: no-store
--- response_body chomp
{"Count":0,"HasMore":false,"Limit":1000,"Offset":50,"TotalResults":3,"UserProfilePreferences":[]}
--- no_error_log
[error]


=== TEST 13: pages of an export still running, or failed, are 409
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{running}", "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{failed}",
 "POST /Profiles/v4/Async/ExportCo/Export/$::Tok{running}/Commit"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[409, 409, 409]
--- response_json_list eval
[ { Message => qr/^The export is still processing/ }, { Message => 'The export failed: boom' },
  { Message => qr/^The export is still processing/ } ]
--- no_error_log
[error]


=== TEST 14: bad paging arguments are 400
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?limit=0",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?limit=1001",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?offset=0",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?keepAlive=maybe",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{commit}?keepAlive[0]=true"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[400, 400, 400, 400, 400]
--- response_json_list eval
[ { Message => 'limit must be an integer from 1 to 1000' }, { Message => 'limit must be an integer from 1 to 1000' },
  { Message => 'offset must be an integer from 1' }, { Message => 'keepAlive must be true or false' },
  { Message => 'keepAlive must be true or false' } ]
--- no_error_log
[error]


=== TEST 15: a segment group's export: Except
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{group}?keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ TotalResults => 2, UserProfilePreferences => [ { CustomerName => { FirstName => 'Bob' } }, { CustomerName => { FirstName => 'Cid' } } ] }
--- no_error_log
[error]


=== TEST 16: MatchCriteria: EmailAddress, AlternateId, ProfileId
--- request eval
"GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{email}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- sql eval
my @k = qw(email alt ids);
'SELECT n FROM (' . CORE::join(' UNION ALL ', map { "SELECT $_ AS o, (" . main::names($::Tok{$k[$_]}) . ') AS n' } 0 .. $#k)
. ') x ORDER BY o'
--- sql_result
Bob
Ann,Cid
Bob
--- no_error_log
[error]


=== TEST 17: LastDateTime: the profiles changed at or after it, its milliseconds rounded (both formats)
--- request eval
"GET /Profiles/v4/Async/ExportCo/Status/Token/$::Tok{since000Z}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- sql eval
'SELECT n FROM (' . CORE::join(' UNION ALL ', map { "SELECT $_ AS o, '$::Since[$_][0] ' || ("
    . main::names($::Tok{"since$::Since[$_][0]"}) . ') AS n' } 0 .. $#::Since) . ') x ORDER BY o'
--- sql_result eval
CORE::join('', map { "$_->[0] $_->[1]\n" } @::Since)
--- no_error_log
[error]


=== TEST 18: bad input: malformed JSON
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"LastDateTime":
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^The body is not valid JSON: / }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 19: bad input: duplicate keys
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"CallbackURL":"https://a.example/","CallbackURL":"https://b.example/"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^The body is not valid JSON: duplicate/ }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 20: bad input: an unknown field
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"Bogus":true}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Bogus is not a field of this body' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 21: bad input: a body that is not an object
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
[1]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'The body must be a JSON object' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 22: bad input: LastDateTime without milliseconds
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"LastDateTime":"2026-01-01T00:00:00Z"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'LastDateTime must be a date and time as YYYY-MM-DDTHH:mm:ss.sssZ or YYYY-MM-DDTHH:mm:ss.sss' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 23: bad input: LastDateTime with an offset
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"LastDateTime":"2026-01-01T00:00:00.000+01:00"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^LastDateTime must be a date/ }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 24: bad input: LastDateTime that is no date
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"LastDateTime":"2026-02-30T00:00:00.000Z"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^LastDateTime must be a date/ }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 25: bad input: LastDateTime of the wrong type
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"LastDateTime":20260101}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^LastDateTime must be a date/ }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 26: bad input: a MatchCriteria it does not know
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"ShoeSize","Values":["9"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'MatchCriteria must be ProfileId, AlternateId, PhoneNumber or EmailAddress' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 27: bad input: AlternateId without MatchType
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"AlternateId","Values":["x"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'MatchType is required with MatchCriteria AlternateId: the AlternateIdType' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 28: bad input: a MatchType the configuration does not have
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"AlternateId","MatchType":"Shoe","Values":["x"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'MatchType names no AlternateIdType of this account: \'Shoe\'' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 29: bad input: Values without MatchCriteria
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"Values":["x"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'MatchCriteria is required with MatchType and Values' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 30: bad input: a ProfileId that is no id
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"ProfileId","Values":["1 OR 1=1"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Values[0] must be a ProfileId' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 31: bad input: too many Values
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"EmailAddress","Values":["a0@example.com","a1@example.com","a2@example.com","a3@example.com","a4@example.com","a5@example.com","a6@example.com","a7@example.com","a8@example.com","a9@example.com","a10@example.com","a11@example.com","a12@example.com","a13@example.com","a14@example.com","a15@example.com","a16@example.com","a17@example.com","a18@example.com","a19@example.com","a20@example.com","a21@example.com","a22@example.com","a23@example.com","a24@example.com","a25@example.com","a26@example.com","a27@example.com","a28@example.com","a29@example.com","a30@example.com","a31@example.com","a32@example.com","a33@example.com","a34@example.com","a35@example.com","a36@example.com","a37@example.com","a38@example.com","a39@example.com","a40@example.com","a41@example.com","a42@example.com","a43@example.com","a44@example.com","a45@example.com","a46@example.com","a47@example.com","a48@example.com","a49@example.com","a50@example.com","a51@example.com","a52@example.com","a53@example.com","a54@example.com","a55@example.com","a56@example.com","a57@example.com","a58@example.com","a59@example.com","a60@example.com","a61@example.com","a62@example.com","a63@example.com","a64@example.com","a65@example.com","a66@example.com","a67@example.com","a68@example.com","a69@example.com","a70@example.com","a71@example.com","a72@example.com","a73@example.com","a74@example.com","a75@example.com","a76@example.com","a77@example.com","a78@example.com","a79@example.com","a80@example.com","a81@example.com","a82@example.com","a83@example.com","a84@example.com","a85@example.com","a86@example.com","a87@example.com","a88@example.com","a89@example.com","a90@example.com","a91@example.com","a92@example.com","a93@example.com","a94@example.com","a95@example.com","a96@example.com","a97@example.com","a98@example.com","a99@example.com","a100@example.com","a101@example.com","a102@example.com","a103@example.com","a104@example.com","a105@example.com","a106@example.com","a107@example.com","a108@example.com","a109@example.com","a110@example.com","a111@example.com","a112@example.com","a113@example.com","a114@example.com","a115@example.com","a116@example.com","a117@example.com","a118@example.com","a119@example.com","a120@example.com","a121@example.com","a122@example.com","a123@example.com","a124@example.com","a125@example.com","a126@example.com","a127@example.com","a128@example.com","a129@example.com","a130@example.com","a131@example.com","a132@example.com","a133@example.com","a134@example.com","a135@example.com","a136@example.com","a137@example.com","a138@example.com","a139@example.com","a140@example.com","a141@example.com","a142@example.com","a143@example.com","a144@example.com","a145@example.com","a146@example.com","a147@example.com","a148@example.com","a149@example.com","a150@example.com","a151@example.com","a152@example.com","a153@example.com","a154@example.com","a155@example.com","a156@example.com","a157@example.com","a158@example.com","a159@example.com","a160@example.com","a161@example.com","a162@example.com","a163@example.com","a164@example.com","a165@example.com","a166@example.com","a167@example.com","a168@example.com","a169@example.com","a170@example.com","a171@example.com","a172@example.com","a173@example.com","a174@example.com","a175@example.com","a176@example.com","a177@example.com","a178@example.com","a179@example.com","a180@example.com","a181@example.com","a182@example.com","a183@example.com","a184@example.com","a185@example.com","a186@example.com","a187@example.com","a188@example.com","a189@example.com","a190@example.com","a191@example.com","a192@example.com","a193@example.com","a194@example.com","a195@example.com","a196@example.com","a197@example.com","a198@example.com","a199@example.com","a200@example.com","a201@example.com","a202@example.com","a203@example.com","a204@example.com","a205@example.com","a206@example.com","a207@example.com","a208@example.com","a209@example.com","a210@example.com","a211@example.com","a212@example.com","a213@example.com","a214@example.com","a215@example.com","a216@example.com","a217@example.com","a218@example.com","a219@example.com","a220@example.com","a221@example.com","a222@example.com","a223@example.com","a224@example.com","a225@example.com","a226@example.com","a227@example.com","a228@example.com","a229@example.com","a230@example.com","a231@example.com","a232@example.com","a233@example.com","a234@example.com","a235@example.com","a236@example.com","a237@example.com","a238@example.com","a239@example.com","a240@example.com","a241@example.com","a242@example.com","a243@example.com","a244@example.com","a245@example.com","a246@example.com","a247@example.com","a248@example.com","a249@example.com","a250@example.com","a251@example.com","a252@example.com","a253@example.com","a254@example.com","a255@example.com","a256@example.com","a257@example.com","a258@example.com","a259@example.com","a260@example.com","a261@example.com","a262@example.com","a263@example.com","a264@example.com","a265@example.com","a266@example.com","a267@example.com","a268@example.com","a269@example.com","a270@example.com","a271@example.com","a272@example.com","a273@example.com","a274@example.com","a275@example.com","a276@example.com","a277@example.com","a278@example.com","a279@example.com","a280@example.com","a281@example.com","a282@example.com","a283@example.com","a284@example.com","a285@example.com","a286@example.com","a287@example.com","a288@example.com","a289@example.com","a290@example.com","a291@example.com","a292@example.com","a293@example.com","a294@example.com","a295@example.com","a296@example.com","a297@example.com","a298@example.com","a299@example.com","a300@example.com","a301@example.com","a302@example.com","a303@example.com","a304@example.com","a305@example.com","a306@example.com","a307@example.com","a308@example.com","a309@example.com","a310@example.com","a311@example.com","a312@example.com","a313@example.com","a314@example.com","a315@example.com","a316@example.com","a317@example.com","a318@example.com","a319@example.com","a320@example.com","a321@example.com","a322@example.com","a323@example.com","a324@example.com","a325@example.com","a326@example.com","a327@example.com","a328@example.com","a329@example.com","a330@example.com","a331@example.com","a332@example.com","a333@example.com","a334@example.com","a335@example.com","a336@example.com","a337@example.com","a338@example.com","a339@example.com","a340@example.com","a341@example.com","a342@example.com","a343@example.com","a344@example.com","a345@example.com","a346@example.com","a347@example.com","a348@example.com","a349@example.com","a350@example.com","a351@example.com","a352@example.com","a353@example.com","a354@example.com","a355@example.com","a356@example.com","a357@example.com","a358@example.com","a359@example.com","a360@example.com","a361@example.com","a362@example.com","a363@example.com","a364@example.com","a365@example.com","a366@example.com","a367@example.com","a368@example.com","a369@example.com","a370@example.com","a371@example.com","a372@example.com","a373@example.com","a374@example.com","a375@example.com","a376@example.com","a377@example.com","a378@example.com","a379@example.com","a380@example.com","a381@example.com","a382@example.com","a383@example.com","a384@example.com","a385@example.com","a386@example.com","a387@example.com","a388@example.com","a389@example.com","a390@example.com","a391@example.com","a392@example.com","a393@example.com","a394@example.com","a395@example.com","a396@example.com","a397@example.com","a398@example.com","a399@example.com","a400@example.com","a401@example.com","a402@example.com","a403@example.com","a404@example.com","a405@example.com","a406@example.com","a407@example.com","a408@example.com","a409@example.com","a410@example.com","a411@example.com","a412@example.com","a413@example.com","a414@example.com","a415@example.com","a416@example.com","a417@example.com","a418@example.com","a419@example.com","a420@example.com","a421@example.com","a422@example.com","a423@example.com","a424@example.com","a425@example.com","a426@example.com","a427@example.com","a428@example.com","a429@example.com","a430@example.com","a431@example.com","a432@example.com","a433@example.com","a434@example.com","a435@example.com","a436@example.com","a437@example.com","a438@example.com","a439@example.com","a440@example.com","a441@example.com","a442@example.com","a443@example.com","a444@example.com","a445@example.com","a446@example.com","a447@example.com","a448@example.com","a449@example.com","a450@example.com","a451@example.com","a452@example.com","a453@example.com","a454@example.com","a455@example.com","a456@example.com","a457@example.com","a458@example.com","a459@example.com","a460@example.com","a461@example.com","a462@example.com","a463@example.com","a464@example.com","a465@example.com","a466@example.com","a467@example.com","a468@example.com","a469@example.com","a470@example.com","a471@example.com","a472@example.com","a473@example.com","a474@example.com","a475@example.com","a476@example.com","a477@example.com","a478@example.com","a479@example.com","a480@example.com","a481@example.com","a482@example.com","a483@example.com","a484@example.com","a485@example.com","a486@example.com","a487@example.com","a488@example.com","a489@example.com","a490@example.com","a491@example.com","a492@example.com","a493@example.com","a494@example.com","a495@example.com","a496@example.com","a497@example.com","a498@example.com","a499@example.com","a500@example.com","a501@example.com","a502@example.com","a503@example.com","a504@example.com","a505@example.com","a506@example.com","a507@example.com","a508@example.com","a509@example.com","a510@example.com","a511@example.com","a512@example.com","a513@example.com","a514@example.com","a515@example.com","a516@example.com","a517@example.com","a518@example.com","a519@example.com","a520@example.com","a521@example.com","a522@example.com","a523@example.com","a524@example.com","a525@example.com","a526@example.com","a527@example.com","a528@example.com","a529@example.com","a530@example.com","a531@example.com","a532@example.com","a533@example.com","a534@example.com","a535@example.com","a536@example.com","a537@example.com","a538@example.com","a539@example.com","a540@example.com","a541@example.com","a542@example.com","a543@example.com","a544@example.com","a545@example.com","a546@example.com","a547@example.com","a548@example.com","a549@example.com","a550@example.com","a551@example.com","a552@example.com","a553@example.com","a554@example.com","a555@example.com","a556@example.com","a557@example.com","a558@example.com","a559@example.com","a560@example.com","a561@example.com","a562@example.com","a563@example.com","a564@example.com","a565@example.com","a566@example.com","a567@example.com","a568@example.com","a569@example.com","a570@example.com","a571@example.com","a572@example.com","a573@example.com","a574@example.com","a575@example.com","a576@example.com","a577@example.com","a578@example.com","a579@example.com","a580@example.com","a581@example.com","a582@example.com","a583@example.com","a584@example.com","a585@example.com","a586@example.com","a587@example.com","a588@example.com","a589@example.com","a590@example.com","a591@example.com","a592@example.com","a593@example.com","a594@example.com","a595@example.com","a596@example.com","a597@example.com","a598@example.com","a599@example.com","a600@example.com","a601@example.com","a602@example.com","a603@example.com","a604@example.com","a605@example.com","a606@example.com","a607@example.com","a608@example.com","a609@example.com","a610@example.com","a611@example.com","a612@example.com","a613@example.com","a614@example.com","a615@example.com","a616@example.com","a617@example.com","a618@example.com","a619@example.com","a620@example.com","a621@example.com","a622@example.com","a623@example.com","a624@example.com","a625@example.com","a626@example.com","a627@example.com","a628@example.com","a629@example.com","a630@example.com","a631@example.com","a632@example.com","a633@example.com","a634@example.com","a635@example.com","a636@example.com","a637@example.com","a638@example.com","a639@example.com","a640@example.com","a641@example.com","a642@example.com","a643@example.com","a644@example.com","a645@example.com","a646@example.com","a647@example.com","a648@example.com","a649@example.com","a650@example.com","a651@example.com","a652@example.com","a653@example.com","a654@example.com","a655@example.com","a656@example.com","a657@example.com","a658@example.com","a659@example.com","a660@example.com","a661@example.com","a662@example.com","a663@example.com","a664@example.com","a665@example.com","a666@example.com","a667@example.com","a668@example.com","a669@example.com","a670@example.com","a671@example.com","a672@example.com","a673@example.com","a674@example.com","a675@example.com","a676@example.com","a677@example.com","a678@example.com","a679@example.com","a680@example.com","a681@example.com","a682@example.com","a683@example.com","a684@example.com","a685@example.com","a686@example.com","a687@example.com","a688@example.com","a689@example.com","a690@example.com","a691@example.com","a692@example.com","a693@example.com","a694@example.com","a695@example.com","a696@example.com","a697@example.com","a698@example.com","a699@example.com","a700@example.com","a701@example.com","a702@example.com","a703@example.com","a704@example.com","a705@example.com","a706@example.com","a707@example.com","a708@example.com","a709@example.com","a710@example.com","a711@example.com","a712@example.com","a713@example.com","a714@example.com","a715@example.com","a716@example.com","a717@example.com","a718@example.com","a719@example.com","a720@example.com","a721@example.com","a722@example.com","a723@example.com","a724@example.com","a725@example.com","a726@example.com","a727@example.com","a728@example.com","a729@example.com","a730@example.com","a731@example.com","a732@example.com","a733@example.com","a734@example.com","a735@example.com","a736@example.com","a737@example.com","a738@example.com","a739@example.com","a740@example.com","a741@example.com","a742@example.com","a743@example.com","a744@example.com","a745@example.com","a746@example.com","a747@example.com","a748@example.com","a749@example.com","a750@example.com","a751@example.com","a752@example.com","a753@example.com","a754@example.com","a755@example.com","a756@example.com","a757@example.com","a758@example.com","a759@example.com","a760@example.com","a761@example.com","a762@example.com","a763@example.com","a764@example.com","a765@example.com","a766@example.com","a767@example.com","a768@example.com","a769@example.com","a770@example.com","a771@example.com","a772@example.com","a773@example.com","a774@example.com","a775@example.com","a776@example.com","a777@example.com","a778@example.com","a779@example.com","a780@example.com","a781@example.com","a782@example.com","a783@example.com","a784@example.com","a785@example.com","a786@example.com","a787@example.com","a788@example.com","a789@example.com","a790@example.com","a791@example.com","a792@example.com","a793@example.com","a794@example.com","a795@example.com","a796@example.com","a797@example.com","a798@example.com","a799@example.com","a800@example.com","a801@example.com","a802@example.com","a803@example.com","a804@example.com","a805@example.com","a806@example.com","a807@example.com","a808@example.com","a809@example.com","a810@example.com","a811@example.com","a812@example.com","a813@example.com","a814@example.com","a815@example.com","a816@example.com","a817@example.com","a818@example.com","a819@example.com","a820@example.com","a821@example.com","a822@example.com","a823@example.com","a824@example.com","a825@example.com","a826@example.com","a827@example.com","a828@example.com","a829@example.com","a830@example.com","a831@example.com","a832@example.com","a833@example.com","a834@example.com","a835@example.com","a836@example.com","a837@example.com","a838@example.com","a839@example.com","a840@example.com","a841@example.com","a842@example.com","a843@example.com","a844@example.com","a845@example.com","a846@example.com","a847@example.com","a848@example.com","a849@example.com","a850@example.com","a851@example.com","a852@example.com","a853@example.com","a854@example.com","a855@example.com","a856@example.com","a857@example.com","a858@example.com","a859@example.com","a860@example.com","a861@example.com","a862@example.com","a863@example.com","a864@example.com","a865@example.com","a866@example.com","a867@example.com","a868@example.com","a869@example.com","a870@example.com","a871@example.com","a872@example.com","a873@example.com","a874@example.com","a875@example.com","a876@example.com","a877@example.com","a878@example.com","a879@example.com","a880@example.com","a881@example.com","a882@example.com","a883@example.com","a884@example.com","a885@example.com","a886@example.com","a887@example.com","a888@example.com","a889@example.com","a890@example.com","a891@example.com","a892@example.com","a893@example.com","a894@example.com","a895@example.com","a896@example.com","a897@example.com","a898@example.com","a899@example.com","a900@example.com","a901@example.com","a902@example.com","a903@example.com","a904@example.com","a905@example.com","a906@example.com","a907@example.com","a908@example.com","a909@example.com","a910@example.com","a911@example.com","a912@example.com","a913@example.com","a914@example.com","a915@example.com","a916@example.com","a917@example.com","a918@example.com","a919@example.com","a920@example.com","a921@example.com","a922@example.com","a923@example.com","a924@example.com","a925@example.com","a926@example.com","a927@example.com","a928@example.com","a929@example.com","a930@example.com","a931@example.com","a932@example.com","a933@example.com","a934@example.com","a935@example.com","a936@example.com","a937@example.com","a938@example.com","a939@example.com","a940@example.com","a941@example.com","a942@example.com","a943@example.com","a944@example.com","a945@example.com","a946@example.com","a947@example.com","a948@example.com","a949@example.com","a950@example.com","a951@example.com","a952@example.com","a953@example.com","a954@example.com","a955@example.com","a956@example.com","a957@example.com","a958@example.com","a959@example.com","a960@example.com","a961@example.com","a962@example.com","a963@example.com","a964@example.com","a965@example.com","a966@example.com","a967@example.com","a968@example.com","a969@example.com","a970@example.com","a971@example.com","a972@example.com","a973@example.com","a974@example.com","a975@example.com","a976@example.com","a977@example.com","a978@example.com","a979@example.com","a980@example.com","a981@example.com","a982@example.com","a983@example.com","a984@example.com","a985@example.com","a986@example.com","a987@example.com","a988@example.com","a989@example.com","a990@example.com","a991@example.com","a992@example.com","a993@example.com","a994@example.com","a995@example.com","a996@example.com","a997@example.com","a998@example.com","a999@example.com","a1000@example.com"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Values must be an array of 1 to 1000 values' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 32: bad input: a CallbackURL that is no URL
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"CallbackURL":"javascript:alert(1)"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'CallbackURL must be an http or https URL' }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 33: bad input: a value with a control character
--- request
POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone
{"MatchCriteria":"EmailAddress","Values":["a\u0000@example.com"]}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Values\[0\] must not hold control characters$|^The body is not valid JSON/ }
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]

=== TEST 34: bad input: invalid UTF-8, and a body that is not JSON's type
--- request eval
["POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone\n{\"CallbackURL\":\"https://a.example/\xff\"}",
 "POST /Profiles/v4/Async/ExportCo/Export/Segment/everyone\n{}"]
--- more_headers eval
[PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n", PrefsTest::auth('ExportCo', 'admin') . "Content-Type: text/plain\n"]
--- error_code eval
[400, 415]
--- sql_unchanged
SELECT count(*) FROM prefs_export WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
--- no_error_log
[error]


=== TEST 36: NDJSON: the whole export as one streamed answer, a document a line, then ended
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{big}"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Accept: application/x-ndjson\n"
--- error_code: 200
--- response_headers
Content-Type: application/x-ndjson
Cache-Control: no-store
--- response_body eval
$::Lines
--- sql eval
"SELECT status || ' ' || (SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{big}) FROM prefs_export WHERE access_token = $::Tok{big}"
--- sql_result
Expired 0
--- no_error_log
[error]


=== TEST 37: NDJSON from an offset, with keepAlive: the export stays
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigkeep}?offset=2001&keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Accept: application/json;q=0.5, application/x-ndjson\n"
--- error_code: 200
--- response_body eval
CORE::join('', (split /(?<=\n)/, $::Lines)[2000 .. 2499])
--- sql eval
"SELECT status || ' ' || (SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{bigkeep}) FROM prefs_export WHERE access_token = $::Tok{bigkeep}"
--- sql_result
Complete 2500
--- no_error_log
[error]


=== TEST 38: NDJSON of a token that is no export of the account's, or still running: the page's answers
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{other}", "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{running}",
 "GET /Profiles/v4/Async/ExportCo/Export/x"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Accept: application/x-ndjson\n"
--- error_code eval
[401, 409, 401]
--- no_error_log
[error]


=== TEST 39: NDJSON of an export of a segment: its profiles' documents
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{alt}?keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Accept: application/x-ndjson\n"
--- error_code: 200
--- response_body_like eval
qr/^\{"ProfileId" ?: ?$::Id{Ann},[^\n]*"FirstName" ?: ?"Ann"[^\n]*\}\n\{"ProfileId" ?: ?$::Id{Cid},[^\n]*\}\n\z/
--- no_error_log
[error]


=== TEST 40: v3 (MyPreferences 2.0): POST export/Segment/{name} exports v3 Preferences
--- request
POST /API/3/async/ExportCo/export/Segment/everyone
{"CallbackURL":"https://callback.invalid/v3","LastDateTime":"2026-01-01T00:00:00.000"}
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ AccessToken => qr/^\d+$/ }
--- sql
DELETE FROM prefs_job WHERE job_type = 'prefs.export' AND payload->>'access_token' = :'AccessToken';
SELECT (selection->>'format') || ' ' || callback_url FROM prefs_export WHERE access_token = CAST(:'AccessToken' AS bigint)
--- sql_result
v3 https://callback.invalid/v3
--- no_error_log
[error]


=== TEST 41: v3: a page of export/Segment/{accessToken}: Preferences with their Operation
--- request eval
"GET /API/3/async/ExportCo/export/Segment/$::Tok{v3}?limit=1&keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 1, HasMore => JSON::PP::true(), Limit => 1, Offset => 1, TotalResults => 2,
  Preferences => [ { Operation => 1, FilterID => 'NewsletterEmail', PreferenceType => 1, ChannelID => 'Email',
                     ProgramID => 'Newsletters', FirstName => 'Ann', ContactElement => { Email => 'ann@example.com' } } ],
  UserProfilePreferences => PrefsTest::absent() }
--- no_error_log
[error]


=== TEST 42: v3: status/Token, then export/Segment/Commit/{accessToken} ends it
--- request eval
["GET /API/3/async/ExportCo/status/Token/$::Tok{v3commit}",
 "POST /API/3/async/ExportCo/export/Segment/Commit/$::Tok{v3commit}",
 "GET /API/3/async/ExportCo/status/Token/$::Tok{v3commit}"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 200, 401]
--- response_json_list eval
[ { AccessToken => $::Tok{v3commit}, Status => 'Complete', RowCount => 2 },
  { Status => 'Complete' }, { Message => qr/not valid/ } ]
--- no_error_log
[error]


=== TEST 43: v3: an unknown segment is 404; the v4 routes are not under /API/3/async
--- request eval
["POST /API/3/async/ExportCo/export/Segment/nosuch", "GET /API/3/async/ExportCo/Export/$::Tok{v3}"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[404, 404]
--- no_error_log
[error]


=== TEST 44: export schedules: POST ExportSchedules makes one (201, Location), GET lists them, GET reads one
--- request eval
[ 'POST /Profiles/v4/ExportCo/ExportSchedules
{"Name":"daily","Description":"two fields","Segment":"ann","Fields":["FilterID","ContactElement"]}',
  'GET /Profiles/v4/ExportCo/ExportSchedules',
  'GET /Profiles/v4/ExportCo/ExportSchedules/daily' ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[201, 200, 200]
--- response_headers_like eval
[ 'Location: .*/Profiles/v4/ExportCo/ExportSchedules/daily', '', '' ]
--- response_json_list eval
[ { Name => 'daily', Description => 'two fields', Segment => 'ann', Fields => ['FilterID', 'ContactElement'],
    CreatedDate => qr/^\d{4}-/, UpdatedDate => qr/^\d{4}-/ },
  { ExportSchedules => [ { Name => 'all', Segment => undef, Fields => ['FilterID'] }, { Name => 'daily' },
                         { Name => 'gone' }, { Name => 'weekly', Segment => 'everyone',
                                               Fields => ['CID', 'FilterID', 'PreferenceType'] } ] },
  { Name => 'daily', Fields => ['FilterID', 'ContactElement'] } ]
--- sql
DELETE FROM prefs_export_schedule WHERE name = 'daily'
  AND account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo')
RETURNING segment || ' ' || array_to_string(fields, ',')
--- sql_result
ann FilterID,ContactElement
--- no_error_log
[error]


=== TEST 45: export schedules: PUT replaces one; PUT and DELETE of another account's are 404
--- request eval
[ 'PUT /Profiles/v4/ExportCo/ExportSchedules/gone
{"Segment":"ann","Fields":["CID"]}',
  'PUT /Profiles/v4/ExportCo/ExportSchedules/theirs
{"Fields":["CID"]}',
  'DELETE /Profiles/v4/ExportCo/ExportSchedules/theirs',
  'GET /Profiles/v4/ExportCo/ExportSchedules/gone' ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[200, 404, 404, 200]
--- response_json_list eval
[ { Name => 'gone', Segment => 'ann', Fields => ['CID'], Description => '' },
  { Message => "No export schedule 'theirs' in this account" }, { Message => qr/theirs/ },
  { Name => 'gone', Segment => 'ann', Fields => ['CID'] } ]
--- sql
SELECT count(*) FROM prefs_export_schedule s JOIN prefs_account a USING (account_id)
 WHERE a.client_id = 'ExportOtherCo' AND s.fields = '{FilterID}'
--- sql_result
1
--- no_error_log
[error]


=== TEST 53: export schedules: DELETE removes one (204), then GET is 404
--- request eval
[ 'DELETE /Profiles/v4/ExportCo/ExportSchedules/gone', 'GET /Profiles/v4/ExportCo/ExportSchedules/gone' ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[204, 404]
--- response_body_like eval
[ '^$', "No export schedule 'gone' in this account" ]
--- sql
INSERT INTO prefs_export_schedule (account_id, name, fields)
SELECT account_id, 'gone', '{FilterID}' FROM prefs_account WHERE client_id = 'ExportCo';
SELECT 1
--- sql_result
1
--- no_error_log
[error]


=== TEST 46: export schedules: every kind of bad body is 400 naming the field; a duplicate name 409; nothing changes
--- request eval
[ map { "POST /Profiles/v4/ExportCo/ExportSchedules\n$_" }
  ('{"Name":"x","Fields":[]}', '{"Name":"x"}', '{"Name":"x","Fields":["Email"]}', '{"Name":"x","Fields":["CID","CID"]}',
   '{"Name":"x","Fields":"CID"}', '{"Name":"x","Fields":[1]}', '{"Name":"x","Segment":"nosuch","Fields":["CID"]}',
   '{"Name":"x","Fields":["CID"],"Color":"red"}', '{"Name":"a/b","Fields":["CID"]}', '{"Fields":["CID"]}',
   '{"Name":"x","Fields":["CID"]', '["CID"]', '{"Name":"weekly","Fields":["CID"]}', '{"Name":"x","Segment":7,"Fields":["CID"]}') ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 12, 409, 400 ]
--- response_json_list eval
[ { Message => qr/^Fields must be a non-empty array of v3 Preference fields: CID, FilterID/ },
  { Message => qr/^Fields must be/ },
  { Message => "Fields[0] is no v3 Preference field: 'Email'" },
  { Message => "Fields[1] 'CID' is given twice" },
  { Message => qr/^Fields must be/ },
  { Message => qr/^Fields\[0\]/ },
  { Message => "Segment names no segment of this account: 'nosuch'" },
  { Message => qr/^Color is not a field of this body/ },
  { Message => qr/^Name must not hold/ },
  { Message => qr/^Name/ },
  { Message => qr/./ }, { Message => qr/./ },
  { Message => "Export schedule 'weekly' already exists" },
  { Message => qr/^Segment/ } ]
--- sql_unchanged
SELECT s.name, s.segment, s.fields, s.updated_at FROM prefs_export_schedule s JOIN prefs_account a USING (account_id)
 WHERE a.client_id = 'ExportCo' ORDER BY s.name
--- no_error_log
[error]


=== TEST 47: export schedules: without BulkExport 403; a segment a schedule uses cannot be deleted (409)
--- request eval
[ 'GET /Profiles/v4/ExportCo/ExportSchedules', 'DELETE /Profiles/v4/ExportCo/Segments/everyone' ]
--- more_headers eval
[ PrefsTest::auth('ExportCo', 'reader'), PrefsTest::auth('ExportCo', 'admin') ]
--- error_code eval
[403, 409]
--- response_json_list eval
[ { Message => qr/BulkExport/ }, { Message => qr/used by (segment group 'not ann'|export schedule 'weekly')/ } ]
--- sql_unchanged
SELECT count(*) FROM prefs_segment s JOIN prefs_account a USING (account_id) WHERE a.client_id = 'ExportCo'
--- no_error_log
[error]


=== TEST 48: v3: POST export/Schedule/{name}: an AccessToken, the schedule's fields and window in the export
--- request eval
[ 'POST /API/3/async/ExportCo/export/Schedule/weekly
{"CallbackURL":"https://callback.invalid/sched"}',
  'POST /API/3/async/ExportCo/export/Schedule/all?StartDate=2026-01-01T00:00:00&endDate=2026-02-01' ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[200, 200]
--- response_json_list eval
[ { AccessToken => qr/^\d+$/ }, { AccessToken => qr/^\d+$/ } ]
--- sql
SELECT string_agg(e.source_kind || ' ' || e.source_name || ' ' || (e.selection->>'format') || ' '
                  || (e.selection->'fields')::text || ' ' || coalesce(e.callback_url, '-') || ' '
                  || coalesce(e.selection->>'start', '-') || ' ' || coalesce(e.selection->>'end', '-'), '|'
                  ORDER BY e.created_at)
  FROM prefs_export e WHERE e.access_token IN (SELECT CAST(j.payload->>'access_token' AS bigint) FROM prefs_job j
       WHERE j.job_type = 'prefs.export' AND j.account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo'));
DELETE FROM prefs_job WHERE job_type = 'prefs.export'
   AND account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ExportCo');
--- sql_result
Schedule weekly v3 ["CID", "FilterID", "PreferenceType"] https://callback.invalid/sched - -|Schedule all v3 ["FilterID"] - 2026-01-01T00:00:00.000Z 2026-02-01T00:00:00.000Z
--- no_error_log
[error]


=== TEST 49: v3: bad export/Schedule requests are 400 (404 for an unknown schedule), and start nothing
--- request eval
[ map { "POST /API/3/async/ExportCo/export/Schedule/$_" }
  ('weekly?startDate=2026-01-01', 'weekly?endDate=2026-01-01', 'weekly?startDate=2026-02-01&endDate=2026-01-01',
   'weekly?startDate=yesterday&endDate=2026-01-01', 'weekly?limit=5', 'weekly?startDate=2026-01-01&endDate=2026-01-01',
   "weekly\n{\"LastDateTime\":\"2026-01-01T00:00:00.000Z\"}", "weekly\n{\"CallbackURL\":\"ftp://x\"}",
   'nosuch', 'theirs') ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 8, 404, 404 ]
--- response_json_list eval
[ { Message => 'startDate and endDate go together: both or neither' },
  { Message => 'startDate and endDate go together: both or neither' },
  { Message => 'startDate must precede endDate' },
  { Message => qr/^startDate must be an ISO 8601 date/ },
  { Message => qr/^limit is not a query parameter of export\/Schedule/ },
  { Message => 'startDate must precede endDate' },
  { Message => qr/^LastDateTime is not a field of this body: a schedule's export takes CallbackURL only/ },
  { Message => qr/^CallbackURL must be an http or https URL/ },
  { Message => "No export schedule 'nosuch' in this account" },
  { Message => "No export schedule 'theirs' in this account" } ]
--- sql_unchanged
SELECT count(*) FROM prefs_export e JOIN prefs_account a USING (account_id) WHERE a.client_id = 'ExportCo'
--- no_error_log
[error]


=== TEST 50: v3: a page of a schedule's export: Operation and the schedule's fields only
--- request eval
"GET /API/3/async/ExportCo/export/Schedule/$::Tok{sched}?limit=10&keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 2, HasMore => JSON::PP::false(), TotalResults => 2,
  Preferences => PrefsTest::satisfies(sub { CORE::join('|', map { CORE::join(',', sort keys %$_) . ':' . $_->{FilterID} } @{ $_[0] })
                                            eq 'CID,FilterID,Operation,PreferenceType:NewsletterEmail|'
                                             . 'CID,FilterID,Operation,PreferenceType:PartnerOffersEmail' },
                                      'Ann\'s two preferences, with Operation, CID, FilterID and PreferenceType only') }
--- no_error_log
[error]


=== TEST 51: v3: startDate and endDate: only the preferences changed in the window; a schedule without a segment
--- request eval
[ "GET /API/3/async/ExportCo/export/Schedule/$::Tok{january}?keepAlive=true",
  "GET /API/3/async/ExportCo/export/Schedule/$::Tok{schedall}?keepAlive=true" ]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 200]
--- response_json_list eval
[ { TotalResults => 1, Preferences => [ { Operation => 1, FilterID => 'NewsletterEmail', CID => undef, PreferenceType => 1 } ] },
  { TotalResults => 2, Preferences => [ { Operation => 1, FilterID => 'NewsletterEmail' },
                                        { Operation => 1, FilterID => 'PartnerOffersEmail' } ] } ]
--- no_error_log
[error]


=== TEST 52: v3: status/Token, then export/Schedule/Commit/{accessToken} ends it; another account's token is 401
--- request eval
["GET /API/3/async/ExportCo/status/Token/$::Tok{schedcommit}",
 "POST /API/3/async/ExportOtherCo/export/Schedule/Commit/$::Tok{schedcommit}",
 "POST /API/3/async/ExportCo/export/Schedule/Commit/$::Tok{schedcommit}",
 "GET /API/3/async/ExportCo/export/Schedule/$::Tok{schedcommit}"]
--- more_headers eval
[ PrefsTest::auth('ExportCo', 'admin'), PrefsTest::auth('ExportOtherCo', 'admin'), PrefsTest::auth('ExportCo', 'admin'),
  PrefsTest::auth('ExportCo', 'admin') ]
--- error_code eval
[200, 401, 200, 401]
--- response_json_list eval
[ { AccessToken => $::Tok{schedcommit}, Status => 'Complete', RowCount => 2 }, { Message => qr/not valid/ },
  { Status => 'Complete' }, { Message => qr/not valid/ } ]
--- no_error_log
[error]


=== TEST 54: pages of 1,000 (the largest limit): the first, one between, the last, byte for byte; keepAlive keeps the export
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigpages}?limit=1000&offset=1&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigpages}?limit=1000&offset=1001&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigpages}?offset=2001&keepAlive=true"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 200, 200]
--- response_body eval
[main::page(1000, 1), main::page(1000, 1001), main::page(1000, 2001)]
--- sql eval
"SELECT status || ' ' || (SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{bigpages}) FROM prefs_export WHERE access_token = $::Tok{bigpages}"
--- sql_result
Complete 2500
--- no_error_log
[error]


=== TEST 55: the last row alone, past the end (an empty page), then the last page without keepAlive ends the export
--- request eval
["GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigend}?limit=1&offset=2500&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigend}?offset=2501&keepAlive=true",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigend}?limit=1000&offset=1501",
 "GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigend}?limit=1000&offset=1501"]
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code eval
[200, 200, 200, 401]
--- response_body_like eval
[qr/\A\Q${\ main::page(1, 2500)}\E\z/,
 qr/\A\Q{"Count":0,"HasMore":false,"Limit":1000,"Offset":2501,"TotalResults":2500,"UserProfilePreferences":[]}\E\z/,
 qr/\A\Q${\ main::page(1000, 1501)}\E\z/, qr/not valid/]
--- sql eval
"SELECT status || ' ' || (SELECT count(*) FROM prefs_export_row WHERE access_token = $::Tok{bigend}) FROM prefs_export WHERE access_token = $::Tok{bigend}"
--- sql_result
Expired 0
--- no_error_log
[error]


=== TEST 56: a page's Content-Length is its body's
--- request eval
"GET /Profiles/v4/Async/ExportCo/Export/$::Tok{bigone}?limit=3&offset=7&keepAlive=true"
--- more_headers eval
PrefsTest::auth('ExportCo', 'admin')
--- error_code: 200
--- response_headers eval
"Content-Type: application/json; charset=utf-8\nContent-Length: " . length(main::page(3, 7))
--- response_body eval
main::page(3, 7)
--- no_error_log
[error]
