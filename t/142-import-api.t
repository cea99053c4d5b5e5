# Bulk import over HTTP, the calls that need no helper: initiate (its
# checks, the quota), Stage in JSON and NDJSON (records validated by the
# engine as the Data API validates them: the refused ones are exceptions
# with their request and position), re-staging, Execute (queued, then
# refused twice), Status, Exceptions paging, another account's token and
# unknown ones (401), permissions, and the size limits of a Stage body
# (413 with a Message).  The helper's execution: t/143-import-execute.t.
# prefs-test: exclusive (scripts/test.sh runs it alone): TEST 14 reads its
# import Queued after Execute, and the helper of any suite running beside it
# (the database is shared) claims a queued prefs.import job within
# milliseconds of its NOTIFY (a fresh-clone run saw it Completed).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

api_account('ImportCo');
api_user('ImportCo', 'admin', 'Administrators');
api_user('ImportCo', 'reader', 'ReadOnly');
api_account('ImportOther');
api_user('ImportOther', 'admin', 'Administrators');
api_account('ImportQuotaCo');
api_user('ImportQuotaCo', 'admin', 'Administrators');
PrefsTest::api_config_import($_) for qw(ImportCo ImportOther ImportQuotaCo);

sub account_id { psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_[0]) }

# an import initiated by the SQL behind POST Import: its access token
sub import_token {
    my ($client, $body) = @_;
    my $j = psql_value("SELECT body FROM prefs_import_initiate(:'a', NULL, :'b', 1000)",
                       a => account_id($client), b => encode_json($body || { Name => 'prepared' }));
    return decode_json($j)->{AccessToken};
}

our %T = map { $_ => import_token('ImportCo') }
         qw(json ndjson bad restage exec exec_twice status other empty limit chunked malformed nul big_ndjson
            big_json exceptions types csv csv_bad_header csv_quote csv_prefs);

# bodies of several chunks (about 1 MB each): 1,500 records of about 2 KB
# (mostly whitespace inside the record: cheap to validate, so that the
# suite holds no long transaction beside the others), every 100th refused
our @big = map { $_ % 100 == 99 ? { %{ rec("Big$_") }, Emails => [ { EmailAddress => "nope$_" } ] }
                                : rec("Big$_") } 0 .. 1499;
sub padded { my $j = JSON::PP::encode_json($_[0]); $j =~ s/^\{/'{' . (' ' x 2000)/e; $j }
$T{other_account} = import_token('ImportOther');

# a valid record, and one the engine refuses (its email address)
sub rec { my ($first, %more) = @_;
          return { CustomerName => { FirstName => $first },
                   CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ], %more } }
our $bad_email = rec('Bad', Emails => [ { EmailAddress => 'not-an-address' } ]);

# Exceptions: 3 refused records of 5, staged in two requests
{
    my $acct = account_id('ImportCo');
    psql("SELECT prefs_import_stage_begin(:'a', :'t')", a => $acct, t => $T{exceptions}) for 1, 2;
    psql("SELECT prefs_import_stage(:'a', NULL, :'t', 1, 0, :'r', NULL)", a => $acct, t => $T{exceptions},
         r => encode_json([ rec('A'), $bad_email, { Bogus => 1 } ]));
    psql("SELECT prefs_import_stage(:'a', NULL, :'t', 2, 0, :'r', NULL)", a => $acct, t => $T{exceptions},
         r => encode_json([ 7, rec('B') ]));
    # Execute, then a second one
    psql("SELECT prefs_import_execute(:'a', :'t')", a => $acct, t => $T{exec_twice});
}

# quota 2: ImportQuotaCo has initiated 2 in the last 24 hours
import_token('ImportQuotaCo') for 1, 2;

our $api = '/Profiles/v4/Async/ImportCo/Import';
our $ct_json = "Content-Type: application/json\n";
our $ct_nd = "Content-Type: application/x-ndjson\n";

api_blocks();
run_tests();

__DATA__

=== TEST 1: POST Import initiates: the BulkImportStatus with a fresh AccessToken, Initiated
--- request eval
"POST $::api\n" . '{"Name":"nightly","DataStageDuration":2,"ImportAction":"Add","MatchCriteria":"AlternateIdType","MatchValue":"CRMId","RefreshTags":true,"SuppressEvents":true}'
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_json
--- error_code: 200
--- response_json eval
{ AccessToken => qr/^\d+$/, Name => 'nightly', Status => 'Initiated', DataStageDuration => 2,
  ImportAction => 'Add', MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId',
  RefreshTags => 1, RefreshGroups => 0, SuppressEvents => 1, AllowPriorConsents => 0,
  TotalRecordsReceived => 0, ValidationSuccessful => 0, ValidationFailed => 0,
  Processed => 0, Pending => 0, Exceptions => 0, NotHonored => 0,
  Expires => qr/^\d{4}-\d\d-\d\dT/ }
--- sql
SELECT i.status, i.name, i.data_stage_days, i.expires > now() + interval '47 hours',
       (SELECT count(*) FROM prefs_job j WHERE j.payload ->> 'import_id' = i.import_id::text
          AND j.payload ->> 'purge' = 'true' AND j.run_at = i.expires)
  FROM prefs_import i WHERE i.access_token = :'AccessToken'
--- sql_result
Initiated|nightly|2|t|1
--- no_error_log
[error]
[alert]


=== TEST 2: initiate refuses bad bodies, naming the field; nothing is made
--- request eval
[ "POST $::api\n" . '{"Name":"x","Colour":1}',
  "POST $::api\n" . '{"DataStageDuration":3}',
  "POST $::api\n" . '{"Name":"x","DataStageDuration":11}',
  "POST $::api\n" . '{"Name":"x","ImportAction":"Merge"}',
  "POST $::api\n" . '{"Name":"x","MatchCriteria":"AlternateIdType"}',
  "POST $::api\n" . '{"Name":"x","MatchCriteria":"AlternateIdType","MatchValue":"NoSuchType"}',
  "POST $::api\n" . '{"Name":"x","RefreshContacts":"yes"}',
  "POST $::api\n" . '{"Name":"x",',
  "POST $::api\n" . '[1]' ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . $::ct_json } 1 .. 9 ]
--- error_code eval
[ (400) x 9 ]
--- response_json_list eval
[ { Message => 'Unknown field Colour' },
  { Message => 'Name must be a string of 1 to 100 characters' },
  { Message => 'DataStageDuration must be an integer from 0 to 10' },
  { Message => 'ImportAction must be Add or Delete' },
  { Message => 'MatchValue must name the AlternateIdType to match on' },
  { Message => qr/NoSuchType/ },
  { Message => 'RefreshContacts must be true or false' },
  { Message => qr/^The body is not valid JSON/ },
  { Message => 'The body must be a JSON object' } ]
--- sql_unchanged
SELECT count(*) FROM prefs_import WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ImportCo')
--- no_error_log
[error]
[alert]


=== TEST 3: the rolling-24-hour quota: 429 with a Message
--- http_config
prefs_import_quota 2;
--- request
POST /Profiles/v4/Async/ImportQuotaCo/Import
{"Name":"third"}
--- more_headers eval
PrefsTest::auth('ImportQuotaCo', 'admin') . $::ct_json
--- error_code: 429
--- response_json eval
{ Message => 'The account initiated 2 imports in the last 24 hours, its quota' }
--- no_error_log
[error]
[alert]


=== TEST 4: a user without BulkImport is 403 on every import route
--- request eval
[ "POST $::api\n{\"Name\":\"x\"}", "GET $::api/$::T{status}/Status", "POST $::api/$::T{status}/Stage\n{}",
  "POST $::api/$::T{status}/Execute", "GET $::api/$::T{status}/Exceptions" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'reader') . $::ct_json } 1 .. 5 ]
--- error_code eval
[ (403) x 5 ]
--- response_json eval
{ Message => 'The user lacks the BulkImport permission' }
--- no_error_log
[error]
[alert]


=== TEST 5: Stage a JSON body: valid records wait, a refused one is an exception at once
--- request eval
"POST $::api/$::T{json}/Stage\n"
. JSON::PP::encode_json({ UserProfilePreferences => [ main::rec('Ann'), $::bad_email, main::rec('Bob') ] })
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_json
--- error_code: 200
--- response_json eval
{ AccessToken => $::T{json}, Status => 'Staging', TotalRecordsReceived => 3, ValidationSuccessful => 2,
  ValidationFailed => 1, Processed => 0, Pending => 0 }
--- sql eval
"SELECT request_no, position, state, coalesce(path, ''), coalesce(message, '')
   FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token = $::T{json} ORDER BY request_no, position"
--- sql_result
1|0|valid||
1|1|invalid|Emails[0].EmailAddress|Emails[0].EmailAddress must be an email address such as name@example.com
1|2|valid||
--- no_error_log
[error]
[alert]


=== TEST 6: Stage NDJSON: one record a line, blank lines skipped, a line that is not JSON is an exception
--- request eval
"POST $::api/$::T{ndjson}/Stage\n"
. JSON::PP::encode_json(main::rec('One')) . "\n\n"
. "{\"CustomerName\": \n"
. JSON::PP::encode_json(main::rec('Two')) . "\r\n"
. "[\"\x{01}\"]\n"
. JSON::PP::encode_json(main::rec('Three'))
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_nd
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 5, ValidationSuccessful => 3, ValidationFailed => 2 }
--- sql eval
"SELECT position, state, coalesce(message, ''), record IS NULL
   FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token = $::T{ndjson} ORDER BY request_no, position"
--- sql_result
0|valid||f
1|invalid|The record is not valid JSON: it ends inside a value|t
2|valid||f
3|invalid|The record is not valid JSON: a string holds a control character|t
4|valid||f
--- no_error_log
[error]
[alert]


=== TEST 7: a fixed record re-staged: a second request, numbered 2, positions from 0
--- request eval
[ "POST $::api/$::T{restage}/Stage\n" . JSON::PP::encode_json({ UserProfilePreferences => [ $::bad_email ] }),
  "POST $::api/$::T{restage}/Stage\n" . JSON::PP::encode_json({ UserProfilePreferences =>
      [ main::rec('Bad', Emails => [ { EmailAddress => 'fixed@example.com' } ]) ] }) ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . $::ct_json } 1, 2 ]
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { TotalRecordsReceived => 1, ValidationSuccessful => 0, ValidationFailed => 1 },
  { TotalRecordsReceived => 2, ValidationSuccessful => 1, ValidationFailed => 1 } ]
--- sql eval
"SELECT request_no, position, state FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token = $::T{restage} ORDER BY request_no, position"
--- sql_result
1|0|invalid
2|0|valid
--- no_error_log
[error]
[alert]


=== TEST 8: a malformed JSON body stages nothing: 400 naming what is wrong
--- request eval
[ "POST $::api/$::T{malformed}/Stage\n" . '{"UserProfilePreferences":[{"a":1},{"b":2]}',
  "POST $::api/$::T{malformed}/Stage\n" . '{"Records":[]}',
  "POST $::api/$::T{malformed}/Stage\n" . '{"UserProfilePreferences":[{"a":1}]} trailing',
  "POST $::api/$::T{malformed}/Stage\n" . "{\"UserProfilePreferences\":[{\"a\":\"\xff\"}]}",
  "POST $::api/$::T{malformed}/Stage\n" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . $::ct_json } 1 .. 5 ]
--- error_code eval
[ (400) x 5 ]
--- response_json_list eval
[ { Message => 'The body is not valid: a value must be followed by , or the end of its object or array' },
  { Message => 'The body is not valid: The body must be {"UserProfilePreferences": [...]}' },
  { Message => 'The body is not valid: The body goes on after its end' },
  { Message => 'The body is not valid: a string is not UTF-8' },
  { Message => 'The body is not valid: The body is empty' } ]
--- sql eval
"SELECT status, received, requests FROM prefs_import WHERE access_token = $::T{malformed}"
--- sql_result
Initiated|0|0
--- no_error_log
[error]
[alert]


=== TEST 9: an escaped NUL (which jsonb refuses) is an exception of its line, not a failed request
--- request eval
"POST $::api/$::T{nul}/Stage\n" . "{\"a\":\"\\u0000\"}\n" . JSON::PP::encode_json(main::rec('Ok'))
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_nd
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 2, ValidationSuccessful => 1, ValidationFailed => 1 }
--- no_error_log
[error]
[alert]


=== TEST 10: a Stage body's type must be JSON or NDJSON: 415
--- request eval
"POST $::api/$::T{types}/Stage\nProfileId\n1\n"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- response_json eval
{ Message => 'The body must be application/json, application/x-ndjson or text/csv' }
--- no_error_log
[error]
[alert]


=== TEST 11: prefs_import_max_body: a larger Stage body is 413 with a Message, by its length or once read (chunked)
--- http_config
prefs_import_max_body 2k;
--- request eval
[ "POST $::api/$::T{limit}/Stage\n" . ('x' x 3000),
  "POST $::api/$::T{limit}/Stage\n" . JSON::PP::encode_json({ UserProfilePreferences => [ main::rec('Small') ] }) ]
--- more_headers eval
[ PrefsTest::auth('ImportCo', 'admin') . $::ct_json, PrefsTest::auth('ImportCo', 'admin') . $::ct_json ]
--- error_code eval
[ 413, 200 ]
--- response_json_list eval
[ { Message => 'The body is larger than 2048 bytes' }, { TotalRecordsReceived => 1 } ]
--- no_error_log
[error]
[alert]


=== TEST 12: a chunked Stage body larger than prefs_import_max_body is 413 once read
--- http_config
prefs_import_max_body 2k;
--- raw_request eval
my $body = 'x' x 3000;
"POST $::api/$::T{chunked}/Stage HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. 'Authorization: ' . PrefsTest::pnauth('ImportCo', 'admin', PrefsTest::api_secret('ImportCo', 'admin')) . "\r\n"
. "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body)
--- error_code: 413
--- response_json eval
{ Message => 'The body is larger than 2048 bytes' }
--- no_error_log
[error]
[alert]


=== TEST 13: prefs_import_max_body above the reference's hard maximum (28m) is refused
--- http_config
prefs_import_max_body 29m;
--- config
--- must_die
--- error_log
must be from 1k to 28m


=== TEST 14: Execute: Queued, with a prefs.import job for the helper; staging is over
--- request eval
[ "POST $::api/$::T{exec}/Stage\n" . JSON::PP::encode_json({ UserProfilePreferences => [ main::rec('E') ] }),
  "POST $::api/$::T{exec}/Execute", "POST $::api/$::T{exec}/Stage\n{\"UserProfilePreferences\":[]}" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . $::ct_json } 1 .. 3 ]
--- error_code eval
[ 200, 200, 409 ]
--- response_json_list eval
[ { Status => 'Staging' }, { Status => 'Queued', Pending => 1, ValidationSuccessful => 1 },
  { Message => 'The import is Queued: staging is over' } ]
--- sql eval
"SELECT i.status, j.job_type, j.state, j.payload ->> 'import_id' = i.import_id::text
   FROM prefs_import i JOIN prefs_job j ON j.job_id = i.job_id WHERE i.access_token = $::T{exec}"
--- sql_result
Queued|prefs.import|queued|t
--- no_error_log
[error]
[alert]


=== TEST 15: a second Execute is 409
--- request eval
"POST $::api/$::T{exec_twice}/Execute"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin')
--- error_code: 409
--- response_json eval
{ Message => 'The import is Completed: it was executed already' }
--- no_error_log
[error]
[alert]


=== TEST 16: GET Status
--- request eval
"GET $::api/$::T{status}/Status"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin')
--- error_code: 200
--- response_json eval
{ AccessToken => $::T{status}, Name => 'prepared', Status => 'Initiated', PercentComplete => 0,
  RecordsPerSecond => 0, StartedDate => undef, CompletedDate => undef }
--- no_error_log
[error]
[alert]


=== TEST 17: another account's token, an unknown one, a hostile one: 401 on every route, nothing changed
--- request eval
[ map { ("GET $::api/$_/Status", "POST $::api/$_/Stage\n{\"UserProfilePreferences\":[{}]}",
         "POST $::api/$_/Execute", "GET $::api/$_/Exceptions") }
  $::T{other_account}, '123', "1%27%3B--", '99999999999999999999999' ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . $::ct_json } 1 .. 16 ]
--- error_code eval
[ (401) x 16 ]
--- response_json eval
{ Message => 'The access token is not valid' }
--- sql_unchanged
SELECT status, received, requests FROM prefs_import WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'ImportOther')
--- no_error_log
[error]
[alert]


=== TEST 18: Exceptions: every refused record in staging order, with its request, position, path and message
--- request eval
"GET $::api/$::T{exceptions}/Exceptions"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 3, TotalResults => 3, Limit => 1000, Offset => 1, HasMore => 0,
  Exceptions => [
    { StageRequest => 1, Position => 1, Stage => 'Validation', Path => 'Emails[0].EmailAddress',
      Message => 'Emails[0].EmailAddress must be an email address such as name@example.com' },
    { StageRequest => 1, Position => 2, Stage => 'Validation', Path => 'Bogus', Message => 'Bogus is not a known field' },
    { StageRequest => 2, Position => 0, Stage => 'Validation', Path => '', Message => 'the item must be a JSON object' } ] }
--- no_error_log
[error]
[alert]


=== TEST 19: Exceptions paged: limit and a 1-based offset; bad values are 400
--- request eval
[ "GET $::api/$::T{exceptions}/Exceptions?limit=1&offset=2", "GET $::api/$::T{exceptions}/Exceptions?limit=0",
  "GET $::api/$::T{exceptions}/Exceptions?offset=0", "GET $::api/$::T{exceptions}/Exceptions?limit=x" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') } 1 .. 4 ]
--- error_code eval
[ 200, 400, 400, 400 ]
--- response_json_list eval
[ { Count => 1, TotalResults => 3, Limit => 1, Offset => 2, HasMore => 1,
    Exceptions => [ { StageRequest => 1, Position => 2, Path => 'Bogus' } ] },
  { Message => 'limit must be an integer from 1 to 10000' },
  { Message => 'offset must be an integer from 1 to 100000000' },
  { Message => 'limit must be an integer from 1 to 10000' } ]
--- no_error_log
[error]
[alert]


=== TEST 20: an empty record list stages nothing and answers the status
--- request eval
"POST $::api/$::T{empty}/Stage\n{\"UserProfilePreferences\" : [ ]}"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_json
--- error_code: 200
--- response_json eval
{ Status => 'Staging', TotalRecordsReceived => 0 }
--- no_error_log
[error]
[alert]


=== TEST 21: a JSON Stage body of several chunks: every record staged once, in order, the refused ones where they were
--- config
location /Profiles/v4/ { prefs_api v4; client_max_body_size 30m; }
--- request eval
"POST $::api/$::T{big_json}/Stage\n{\"UserProfilePreferences\":[" . CORE::join(',', map { main::padded($_) } @::big) . ']}'
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_json
--- timeout: 60
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 1500, ValidationSuccessful => 1485, ValidationFailed => 15 }
--- sql eval
"SELECT count(*), count(DISTINCT position), min(position), max(position),
        count(*) FILTER (WHERE state = 'invalid' AND position % 100 = 99),
        count(*) FILTER (WHERE record -> 'CustomerName' ->> 'FirstName' = 'Big' || position)
   FROM prefs_import_record r JOIN prefs_import i USING (import_id) WHERE i.access_token = $::T{big_json}"
--- sql_result
1500|1500|0|1499|15|1500
--- no_error_log
[error]
[alert]


=== TEST 22: an NDJSON Stage body of several chunks, the same
--- config
location /Profiles/v4/ { prefs_api v4; client_max_body_size 30m; }
--- request eval
"POST $::api/$::T{big_ndjson}/Stage\n" . CORE::join("\n", map { main::padded($_) } @::big)
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . $::ct_nd
--- timeout: 60
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 1500, ValidationSuccessful => 1485, ValidationFailed => 15 }
--- sql eval
"SELECT count(*), count(DISTINCT position), min(position), max(position),
        count(*) FILTER (WHERE state = 'invalid' AND position % 100 = 99),
        count(*) FILTER (WHERE record -> 'CustomerName' ->> 'FirstName' = 'Big' || position)
   FROM prefs_import_record r JOIN prefs_import i USING (import_id) WHERE i.access_token = $::T{big_ndjson}"
--- sql_result
1500|1500|0|1499|15|1500
--- no_error_log
[error]
[alert]


=== TEST 23: Stage CSV: the header names the fields (in any case), a row a record; bad rows are exceptions
--- request eval
"POST $::api/$::T{csv}/Stage\n"
. "\xef\xbb\xbfFirstName,lastname,Email,AlternateId:CRMId,CustomField:FavoriteCategory,Tags,Phone,IsMobile\r\n"
. "Ann,\"O'Neil, Jr\",ann\@example.com,csv-1,Garden,VIP;Early Adopter,,\r\n"
. "\r\n"
. "Bob,Two,not-an-address,csv-2,Garden,,,\r\n"
. "Cy,\"multi\nline\",cy\@example.com,csv-3,Garden,,+1 555 0100,true\r\n"
. "short,row\r\n"
. "\"Di\"x,y,d\@example.com,csv-4,Garden,,,\r\n"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . "Content-Type: text/csv; charset=utf-8\n"
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 5, ValidationSuccessful => 2, ValidationFailed => 3 }
--- sql eval
"SELECT position, state, coalesce(message, ''), coalesce(record::text, '')
   FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token = $::T{csv} ORDER BY request_no, position"
--- sql_result
0|valid||{"Tags": ["VIP", "Early Adopter"], "Emails": [{"EmailAddress": "ann@example.com"}], "AlternateIds": [{"Type": "CRMId", "Value": "csv-1"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "CustomerName": {"LastName": "O'Neil, Jr", "FirstName": "Ann"}}
1|invalid|Emails[0].EmailAddress must be an email address such as name@example.com|{"Emails": [{"EmailAddress": "not-an-address"}], "AlternateIds": [{"Type": "CRMId", "Value": "csv-2"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "CustomerName": {"LastName": "Two", "FirstName": "Bob"}}
2|valid||{"Emails": [{"EmailAddress": "cy@example.com"}], "AlternateIds": [{"Type": "CRMId", "Value": "csv-3"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "CustomerName": {"LastName": "multi\nline", "FirstName": "Cy"}, "PhoneNumbers": [{"IsMobile": true, "PhoneNumber": "+1 555 0100"}]}
3|invalid|The row has 2 fields, the header 8|
4|invalid|The row is not valid CSV: a quoted field is followed by something else than ,|
--- no_error_log
[error]
[alert]


=== TEST 24: a CSV header with an unknown column, or a quoted field left open: 400
--- request eval
[ "POST $::api/$::T{csv_bad_header}/Stage\nFirstName,Colour\nAnn,red\n",
  "POST $::api/$::T{csv_quote}/Stage\nFirstName\n\"Ann\n" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportCo', 'admin') . "Content-Type: text/csv\n" } 1, 2 ]
--- error_code eval
[ 400, 400 ]
--- response_json_list eval
[ { Message => 'Unknown CSV column Colour' }, { Message => 'The body is not valid: The body ends inside a quoted field' } ]
--- sql eval
"SELECT count(*) FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token IN ($::T{csv_bad_header}, $::T{csv_quote})"
--- sql_result
0
--- no_error_log
[error]
[alert]



=== TEST 25: Stage CSV with preferences and consents: Preference:/Frequency: per filter, Consent:/ConsentVersion:/ConsentDate: per consent type, codes or their words; a value outside them is the engine's exception
--- request eval
"POST $::api/$::T{csv_prefs}/Stage\n"
. "Email,CustomField:FavoriteCategory,Preference:NewsletterEmail,Frequency:NewsletterEmail,Preference:PartnerOffersEmail,Consent:DataSharing,ConsentVersion:DataSharing,ConsentDate:DataSharing\n"
. "p1\@example.com,Garden,OptIn,W,2,Granted,1.0,2024-01-01T00:00:00Z\n"
. "p2\@example.com,Garden,1,,,4,1.0,\n"
. "p3\@example.com,Garden,maybe,,,,,\n"
. "p4\@example.com,Garden,,,,Sure,1.0,\n"
--- more_headers eval
PrefsTest::auth('ImportCo', 'admin') . "Content-Type: text/csv\n"
--- error_code: 200
--- response_json eval
{ TotalRecordsReceived => 4, ValidationSuccessful => 2, ValidationFailed => 2 }
--- sql eval
"SELECT position, state, coalesce(message, ''), coalesce(record::text, '')
   FROM prefs_import_record r JOIN prefs_import i USING (import_id)
  WHERE i.access_token = $::T{csv_prefs} ORDER BY request_no, position"
--- sql_result
0|valid||{"Emails": [{"EmailAddress": "p1@example.com"}], "Consents": [{"ConsentDate": "2024-01-01T00:00:00Z", "ConsentType": "DataSharing", "ConsentStatus": 1, "ConsentVersion": "1.0"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "ProfilePreferences": [{"FilterId": "NewsletterEmail", "FrequencyId": "W", "PreferenceType": 1}, {"FilterId": "PartnerOffersEmail", "PreferenceType": 2}]}
1|valid||{"Emails": [{"EmailAddress": "p2@example.com"}], "Consents": [{"ConsentType": "DataSharing", "ConsentStatus": 4, "ConsentVersion": "1.0"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "ProfilePreferences": [{"FilterId": "NewsletterEmail", "PreferenceType": 1}]}
2|invalid|ProfilePreferences[0].PreferenceType must be 1 (opt-in) or 2 (opt-out)|{"Emails": [{"EmailAddress": "p3@example.com"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}], "ProfilePreferences": [{"FilterId": "NewsletterEmail", "PreferenceType": "maybe"}]}
3|invalid|Consents[0].ConsentStatus must be 1 (Granted), 2 (Denied), 3 (Revoked) or 4 (NotSet), or that name|{"Emails": [{"EmailAddress": "p4@example.com"}], "Consents": [{"ConsentType": "DataSharing", "ConsentStatus": "Sure", "ConsentVersion": "1.0"}], "CustomFields": [{"Name": "FavoriteCategory", "Value": "Garden"}]}
--- no_error_log
[error]
[alert]
