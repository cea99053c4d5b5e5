# Segments and segment groups (issue 13): the admin routes, the checks of
# every criterion row against the configuration (400 naming the row and the
# field), each criterion kind's members (as the compiled query finds them),
# And / Or / Except, the plan of the compiled query for the common
# criteria, and every kind of bad input (nothing written).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('SegApiCo');
api_user('SegApiCo', 'admin', 'Administrators');
api_user('SegApiCo', 'reader', 'ReadOnly');
api_account('SegOtherCo');
api_user('SegOtherCo', 'admin', 'Administrators');
api_config_import('SegApiCo');
api_config_import('SegOtherCo');

our $Acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo'");
our $Other = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'SegOtherCo'");

sub profile {
    my ($acct, $body) = @_;
    my $r = psql_value("SELECT outcome || ' ' || coalesce(profile_id::text, message)"
                       . " FROM prefs_profile_create(CAST(:'a' AS bigint), NULL, CAST(:'b' AS jsonb))",
                       a => $acct, b => $body);
    die "profile: $r\n" unless $r =~ /^created (\d+)$/;
    return $1;
}

profile($Acct, '{"CustomerName":{"FirstName":"Rick","LastName":"Sanchez"},"CustomerType":"Consumer",'
  . '"DefaultLocale":"en-US","AlternateIds":[{"Type":"CRMId","Value":"seg-r1"}],'
  . '"Emails":[{"EmailAddress":"rick@example.com","EmailAddressType":"Personal",'
  . '"EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1}]}],'
  . '"PhoneNumbers":[{"PhoneNumber":"+1 555 010 0100","PhoneNumberType":"Mobile","IsMobile":true}],'
  . '"Addresses":[{"Address1":"1 Main St","City":"Springfield","StateProvince":"IL","PostalCode":"62701",'
  . '"CountryCode":"US","AddressType":"Home"}],'
  . '"Groups":[{"Type":"Household","Name":"Sanchez"}],"Tags":["VIP"],'
  . '"CustomFields":[{"Name":"FavoriteCategory","Value":"Garden"}],'
  . '"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"ConsentDate":"2024-01-01T00:00:00Z"}]}');
profile($Acct, '{"CustomerName":{"FirstName":"Morty","LastName":"Smith"},"CustomerType":"Business",'
  . '"AlternateIds":[{"Type":"CRMId","Value":"seg-m1"}],'
  . '"Emails":[{"EmailAddress":"morty@work.example","EmailAddressType":"Work",'
  . '"EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":2}]}],'
  . '"Groups":[{"Type":"Company","Name":"Smith Co"}],"Tags":["Early Adopter"],'
  . '"CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}],'
  . '"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":2,"ConsentDate":"2024-01-01T00:00:00Z"}]}');
profile($Acct, '{"CustomerName":{"FirstName":"Summer","LastName":"Smith"},"CustomerType":"Consumer",'
  . '"Addresses":[{"Address1":"9 Elm St","City":"Beverly Hills","StateProvince":"CA","PostalCode":"90210",'
  . '"CountryCode":"US","AddressType":"Shipping"}],'
  . '"CustomFields":[{"Name":"FavoriteCategory","Value":"Kitchen"}]}');
# another account's Smith: never a member of SegApiCo's segments
profile($Other, '{"CustomerName":{"FirstName":"Jerry","LastName":"Smith"},"CustomerType":"Consumer",'
  . '"CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]}');

# segments the blocks read (blocks run in any order: each writes its own)
for my $s (['smiths', '{"Name":"smiths","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"smith"}]}'],
           ['consumers', '{"Name":"consumers","Criteria":[{"Field":"CustomerType","Operator":"Equals","Value":"Consumer"}]}'],
           ['vips', '{"Name":"vips","Criteria":[{"Field":"Tag","Values":["VIP"]}]}'],
           ['kept', '{"Name":"kept","Description":"used by group held","Criteria":[{"Field":"Tag","Values":["VIP"]}]}'],
           ['to-delete', '{"Name":"to-delete","Criteria":[{"Field":"Tag","Values":["VIP"]}]}'],
           ['to-change', '{"Name":"to-change","Criteria":[{"Field":"Tag","Values":["VIP"]}]}']) {
    psql("SELECT prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
         a => $Acct, b => $s->[1]);
}
for my $s (['by mail', '{"Name":"by mail","Criteria":[{"Field":"EmailAddress","Operator":"Equals","Value":"rick@example.com"}]}'],
           ['by alternate id', '{"Name":"by alternate id","Criteria":[{"Field":"AlternateId","Operator":"Equals","Type":"CRMId","Value":"seg-r1"}]}'],
           ['by phone', '{"Name":"by phone","Criteria":[{"Field":"PhoneNumber","Operator":"Equals","Value":"+15550100100"}]}']) {
    psql("SELECT prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
         a => $Acct, b => $s->[1]);
}
psql("SELECT prefs_seg_call(CAST(:'a' AS bigint), 'SegmentGroup', 'POST', NULL, CAST(:'b' AS jsonb))",
     a => $Acct, b => '{"Name":"held","Operator":"Or","Segments":["kept","vips"]}');
psql("SELECT prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
     a => $Other, b => '{"Name":"theirs","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"smith"}]}');

api_blocks();
run_tests();

__DATA__

=== TEST 1: POST Segments creates one: 201, Location, values normalized
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"rick by mail","Description":"d","Criteria":[{"Field":"EmailAddress","Operator":"Equals","Value":"Rick@Example.COM"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_headers_like
Location: http://[^/]+/Profiles/v4/SegApiCo/Segments/rick%20by%20mail
--- response_json eval
{ Name => 'rick by mail', Description => 'd',
  Criteria => [ { Field => 'EmailAddress', Operator => 'Equals', Values => ['rick@example.com'] } ],
  CreatedDate => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }
--- sql
SELECT string_agg(p.first_name, ',' ORDER BY p.first_name) FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'rick by mail')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 2: GET Segments lists the account's own, never another account's
--- request
GET /Profiles/v4/SegApiCo/Segments
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 200
--- response_json eval
{ Segments => PrefsTest::contains({ Name => 'smiths' }, { Name => 'consumers' }) }
--- response_body_unlike
theirs
--- no_error_log
[error]


=== TEST 3: GET Segments/{name}
--- request
GET /Profiles/v4/SegApiCo/Segments/smiths
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 200
--- response_json eval
{ Name => 'smiths', Criteria => [ { Field => 'LastName', Operator => 'Equals', Values => ['smith'] } ] }
--- no_error_log
[error]


=== TEST 4: another account's segment is not found
--- request
GET /Profiles/v4/SegApiCo/Segments/theirs
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 404
--- response_body chomp
{"Message":"No segment 'theirs' in this account"}
--- no_error_log
[error]


=== TEST 5: PUT Segments/{name} replaces the criteria
--- request
PUT /Profiles/v4/SegApiCo/Segments/to-change
{"Description":"now Morty","Criteria":[{"Field":"Tag","Values":["Early Adopter"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Name => 'to-change', Description => 'now Morty' }
--- sql
SELECT string_agg(p.first_name, ',' ORDER BY p.first_name) FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'to-change')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 6: PUT with another Name than the path's is 400
--- request
PUT /Profiles/v4/SegApiCo/Segments/smiths
{"Name":"other","Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body chomp
{"Message":"Name must be the name in the path"}
--- sql_unchanged
SELECT criteria FROM prefs_segment WHERE name = 'smiths' ORDER BY account_id
--- no_error_log
[error]


=== TEST 7: DELETE Segments/{name}: 204, then 404
--- request eval
["DELETE /Profiles/v4/SegApiCo/Segments/to-delete", "DELETE /Profiles/v4/SegApiCo/Segments/to-delete"]
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code eval
[204, 404]
--- no_error_log
[error]


=== TEST 8: a segment a group uses cannot be deleted
--- request
DELETE /Profiles/v4/SegApiCo/Segments/kept
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 409
--- response_body chomp
{"Message":"Segment 'kept' is used by segment group 'held': change or delete the group first"}
--- sql_unchanged
SELECT count(*) FROM prefs_segment WHERE name = 'kept' AND account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 9: a name taken is 409
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"smiths","Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_body chomp
{"Message":"Segment 'smiths' already exists"}
--- no_error_log
[error]


=== TEST 10: without BulkExport: 403
--- request
GET /Profiles/v4/SegApiCo/Segments
--- more_headers eval
PrefsTest::auth('SegApiCo', 'reader')
--- error_code: 403
--- no_error_log
[error]


=== TEST 11: segment groups: And
--- request
POST /Profiles/v4/SegApiCo/SegmentGroups
{"Name":"consumer smiths","Operator":"And","Segments":["smiths","consumers"]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_headers_like
Location: http://[^/]+/Profiles/v4/SegApiCo/SegmentGroups/consumer%20smiths
--- response_json eval
{ Name => 'consumer smiths', Operator => 'And', Segments => ['smiths', 'consumers'] }
--- sql
SELECT string_agg(p.first_name, ',' ORDER BY p.first_name) FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'SegmentGroup', 'consumer smiths')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Summer
--- no_error_log
[error]


=== TEST 12: segment groups: Or
--- request
POST /Profiles/v4/SegApiCo/SegmentGroups
{"Name":"smiths or vips","Operator":"Or","Segments":["smiths","vips"]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT string_agg(p.first_name, ',' ORDER BY p.first_name) FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'SegmentGroup', 'smiths or vips')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Rick,Summer
--- no_error_log
[error]


=== TEST 13: segment groups: Except
--- request
POST /Profiles/v4/SegApiCo/SegmentGroups
{"Name":"consumers not smiths","Operator":"Except","Segments":["consumers","smiths"]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT string_agg(p.first_name, ',' ORDER BY p.first_name) FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'SegmentGroup', 'consumers not smiths')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 14: a group naming an unknown segment (or another account's) is 400
--- request
POST /Profiles/v4/SegApiCo/SegmentGroups
{"Name":"bad group","Operator":"Or","Segments":["smiths","theirs"]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body chomp
{"Message":"Segments[1] names no segment of this account: 'theirs'"}
--- sql_unchanged
SELECT count(*) FROM prefs_segment_group WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 15: a group with a bad Operator is 400
--- request
POST /Profiles/v4/SegApiCo/SegmentGroups
{"Name":"bad op","Operator":"Xor","Segments":["smiths","vips"]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body chomp
{"Message":"Operator must be And, Or or Except"}
--- no_error_log
[error]


=== TEST 16: GET, PUT and DELETE of a group
--- request eval
["GET /Profiles/v4/SegApiCo/SegmentGroups/held",
 "PUT /Profiles/v4/SegApiCo/SegmentGroups/nosuch\n{\"Operator\":\"Or\",\"Segments\":[\"smiths\",\"vips\"]}",
 "GET /Profiles/v4/SegApiCo/SegmentGroups"]
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[200, 404, 200]
--- response_json_list eval
[ { Name => 'held', Operator => 'Or', Segments => ['kept', 'vips'] },
  { Message => "No segment group 'nosuch' in this account" },
  { SegmentGroups => PrefsTest::contains({ Name => 'held' }) } ]
--- no_error_log
[error]


=== TEST 17: criterion: FirstName StartsWith, without case
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 1","Criteria":[{"Field":"FirstName","Operator":"StartsWith","Value":"RI"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 1')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 18: criterion: CustomerType In
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 2","Criteria":[{"Field":"CustomerType","Operator":"In","Values":["Business"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 2')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 19: criterion: DefaultLocale Equals
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 3","Criteria":[{"Field":"DefaultLocale","Operator":"Equals","Value":"en-US"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 3')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 20: criterion: DefaultLocale NotExists
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 4","Criteria":[{"Field":"DefaultLocale","Operator":"NotExists"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 4')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Summer
--- no_error_log
[error]


=== TEST 21: criterion: IsActive
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 5","Criteria":[{"Field":"IsActive","Operator":"Equals","Value":true}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 5')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Rick,Summer
--- no_error_log
[error]


=== TEST 22: criterion: CreatedDate OnOrAfter and UpdatedDate Before
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 6","Criteria":[{"Field":"CreatedDate","Operator":"OnOrAfter","Value":"2000-01-01"},{"Field":"UpdatedDate","Operator":"Before","Value":"2000-01-01T00:00:00Z"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 6')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
(none)
--- no_error_log
[error]


=== TEST 23: criterion: CreatedDate Between
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 7","Criteria":[{"Field":"CreatedDate","Operator":"Between","Values":["2000-01-01","2999-01-01T00:00:00+01:00"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 7')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Rick,Summer
--- no_error_log
[error]


=== TEST 24: criterion: EmailAddress EndsWith
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 8","Criteria":[{"Field":"EmailAddress","Operator":"EndsWith","Value":"@WORK.example"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 8')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 25: criterion: EmailAddress Exists of a Type
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 9","Criteria":[{"Field":"EmailAddress","Operator":"Exists","Type":"Personal"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 9')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 26: criterion: PhoneNumber Equals, normalized
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 10","Criteria":[{"Field":"PhoneNumber","Operator":"Equals","Value":"+1 (555) 010-0100","IsMobile":true}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 10')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 27: criterion: PostalCode StartsWith
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 11","Criteria":[{"Field":"PostalCode","Operator":"StartsWith","Value":"902"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 11')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Summer
--- no_error_log
[error]


=== TEST 28: criterion: CountryCode Equals, without case
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 12","Criteria":[{"Field":"CountryCode","Operator":"Equals","Value":"us"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 12')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick,Summer
--- no_error_log
[error]


=== TEST 29: criterion: StateProvince In of a Type
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 13","Criteria":[{"Field":"StateProvince","Operator":"In","Values":["IL","CA"],"Type":"Home"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 13')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 30: criterion: Address NotExists
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 14","Criteria":[{"Field":"Address","Operator":"NotExists"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 14')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 31: criterion: AlternateId Equals
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 15","Criteria":[{"Field":"AlternateId","Operator":"Equals","Type":"CRMId","Value":"seg-m1"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 15')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 32: criterion: Preference of a filter, opted out
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 16","Criteria":[{"Field":"Preference","FilterId":"NewsletterEmail","PreferenceType":"OptOut"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 16')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 33: criterion: Preference of a program and channel
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 17","Criteria":[{"Field":"Preference","ProgramId":"Newsletters","ChannelId":"Email","Status":"Active"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 17')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Rick
--- no_error_log
[error]


=== TEST 34: criterion: Preference archived
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 18","Criteria":[{"Field":"Preference","Status":"Archived"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 18')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
(none)
--- no_error_log
[error]


=== TEST 35: criterion: Consent Granted
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 19","Criteria":[{"Field":"Consent","ConsentType":"Marketing","ConsentStatus":"Granted"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 19')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 36: criterion: Consent of a version, Denied
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 20","Criteria":[{"Field":"Consent","ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":"Denied"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 20')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty
--- no_error_log
[error]


=== TEST 37: criterion: Group of a type
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 21","Criteria":[{"Field":"Group","GroupType":"Household"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 21')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 38: criterion: Group NotExists of a type and name
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 22","Criteria":[{"Field":"Group","Operator":"NotExists","GroupType":"Company","GroupName":"Smith Co"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 22')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick,Summer
--- no_error_log
[error]


=== TEST 39: criterion: Tag: any of
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 23","Criteria":[{"Field":"Tag","Values":["VIP","Early Adopter"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 23')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Rick
--- no_error_log
[error]


=== TEST 40: criterion: Tag NotExists
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 24","Criteria":[{"Field":"Tag","Operator":"NotExists","Value":"VIP"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 24')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Summer
--- no_error_log
[error]


=== TEST 41: criterion: CustomField In
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 25","Criteria":[{"Field":"CustomField","Name":"FavoriteCategory","Operator":"In","Values":["Toys","Kitchen"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 25')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Morty,Summer
--- no_error_log
[error]


=== TEST 42: criterion: CustomField StartsWith
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 26","Criteria":[{"Field":"CustomField","Name":"FavoriteCategory","Operator":"StartsWith","Value":"Gar"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 26')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick
--- no_error_log
[error]


=== TEST 43: criterion: rows are combined with And
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 27","Criteria":[{"Field":"CustomerType","Operator":"Equals","Value":"Consumer"},{"Field":"Address","Operator":"Exists"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 27')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
Rick,Summer
--- no_error_log
[error]


=== TEST 44: criterion: a hostile value is a value
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"kind 28","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"x'); DELETE FROM prefs_segment; --"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql
SELECT coalesce(string_agg(p.first_name, ',' ORDER BY p.first_name), '(none)') FROM prefs_profile p
 WHERE p.profile_id IN (SELECT prefs_seg_members(a.account_id, 'Segment', 'kind 28')
                          FROM prefs_account a WHERE a.client_id = 'SegApiCo')
--- sql_result
(none)
--- no_error_log
[error]


=== TEST 45: bad input: malformed JSON
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b1","Criteria":[
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like eval
qr/^\{"Message":"The body is not valid JSON: .*"\}$/
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 46: bad input: duplicate keys
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b2","Name":"b3","Criteria":[]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like eval
qr/^\{"Message":"The body is not valid JSON: duplicate object key.*"\}$/
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 47: bad input: invalid UTF-8
--- request eval
"POST /Profiles/v4/SegApiCo/Segments\n{\"Name\":\"b\xff\",\"Criteria\":[]}"
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like eval
qr/^\{"Message":"The body is not valid JSON: .*"\}$/
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 48: bad input: Criteria of the wrong type
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b4","Criteria":"Tag"}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria must be an array' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 49: bad input: no Criteria rows
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b4","Criteria":[]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria must hold 1 to 50 rows' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 50: bad input: an unknown field of the body
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b5","Bogus":1,"Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Bogus is not a field of this body' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 51: bad input: an unknown field of a row
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b6","Criteria":[{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"],"Color":"red"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[1].Color is not a field of a Tag criterion' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 52: bad input: an unknown Field
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b7","Criteria":[{"Field":"Shoe","Value":"x"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Criteria\[0\]\.Field must be one of FirstName, / }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 53: bad input: an operator the field does not take
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b8","Criteria":[{"Field":"Tag","Operator":"StartsWith","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Operator must be one of Exists, NotExists for Tag' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 54: bad input: a filter the configuration does not have
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b9","Criteria":[{"Field":"Tag","Values":["VIP"]},{"Field":"Preference","FilterId":"Nope"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[1].FilterId names no Filter of this account: \'Nope\'' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 55: bad input: a consent version the type does not have
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b10","Criteria":[{"Field":"Consent","ConsentType":"Marketing","ConsentVersion":"9"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].ConsentVersion is not a version of consent type \'Marketing\'' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 56: bad input: a required qualifier missing
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b11","Criteria":[{"Field":"AlternateId","Operator":"Exists"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Type is required' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 57: bad input: a value of the wrong type
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b12","Criteria":[{"Field":"FirstName","Operator":"Equals","Value":7}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Value must be a string' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 58: bad input: a bad date
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b13","Criteria":[{"Field":"CreatedDate","Operator":"Before","Value":"2024-13-45"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Value must be an ISO 8601 date' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 59: bad input: Between with one date
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b14","Criteria":[{"Field":"CreatedDate","Operator":"Between","Values":["2024-01-01"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Values must hold two dates, from and before' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 60: bad input: an enum value it does not know
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b15","Criteria":[{"Field":"Preference","PreferenceType":"Maybe"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].PreferenceType must be one of OptIn, OptOut' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 61: bad input: too many values
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b16","Criteria":[{"Field":"FirstName","Operator":"In","Values":["n0","n1","n2","n3","n4","n5","n6","n7","n8","n9","n10","n11","n12","n13","n14","n15","n16","n17","n18","n19","n20","n21","n22","n23","n24","n25","n26","n27","n28","n29","n30","n31","n32","n33","n34","n35","n36","n37","n38","n39","n40","n41","n42","n43","n44","n45","n46","n47","n48","n49","n50","n51","n52","n53","n54","n55","n56","n57","n58","n59","n60","n61","n62","n63","n64","n65","n66","n67","n68","n69","n70","n71","n72","n73","n74","n75","n76","n77","n78","n79","n80","n81","n82","n83","n84","n85","n86","n87","n88","n89","n90","n91","n92","n93","n94","n95","n96","n97","n98","n99","n100","n101","n102","n103","n104","n105","n106","n107","n108","n109","n110","n111","n112","n113","n114","n115","n116","n117","n118","n119","n120","n121","n122","n123","n124","n125","n126","n127","n128","n129","n130","n131","n132","n133","n134","n135","n136","n137","n138","n139","n140","n141","n142","n143","n144","n145","n146","n147","n148","n149","n150","n151","n152","n153","n154","n155","n156","n157","n158","n159","n160","n161","n162","n163","n164","n165","n166","n167","n168","n169","n170","n171","n172","n173","n174","n175","n176","n177","n178","n179","n180","n181","n182","n183","n184","n185","n186","n187","n188","n189","n190","n191","n192","n193","n194","n195","n196","n197","n198","n199","n200","n201","n202","n203","n204","n205","n206","n207","n208","n209","n210","n211","n212","n213","n214","n215","n216","n217","n218","n219","n220","n221","n222","n223","n224","n225","n226","n227","n228","n229","n230","n231","n232","n233","n234","n235","n236","n237","n238","n239","n240","n241","n242","n243","n244","n245","n246","n247","n248","n249","n250","n251","n252","n253","n254","n255","n256","n257","n258","n259","n260","n261","n262","n263","n264","n265","n266","n267","n268","n269","n270","n271","n272","n273","n274","n275","n276","n277","n278","n279","n280","n281","n282","n283","n284","n285","n286","n287","n288","n289","n290","n291","n292","n293","n294","n295","n296","n297","n298","n299","n300","n301","n302","n303","n304","n305","n306","n307","n308","n309","n310","n311","n312","n313","n314","n315","n316","n317","n318","n319","n320","n321","n322","n323","n324","n325","n326","n327","n328","n329","n330","n331","n332","n333","n334","n335","n336","n337","n338","n339","n340","n341","n342","n343","n344","n345","n346","n347","n348","n349","n350","n351","n352","n353","n354","n355","n356","n357","n358","n359","n360","n361","n362","n363","n364","n365","n366","n367","n368","n369","n370","n371","n372","n373","n374","n375","n376","n377","n378","n379","n380","n381","n382","n383","n384","n385","n386","n387","n388","n389","n390","n391","n392","n393","n394","n395","n396","n397","n398","n399","n400","n401","n402","n403","n404","n405","n406","n407","n408","n409","n410","n411","n412","n413","n414","n415","n416","n417","n418","n419","n420","n421","n422","n423","n424","n425","n426","n427","n428","n429","n430","n431","n432","n433","n434","n435","n436","n437","n438","n439","n440","n441","n442","n443","n444","n445","n446","n447","n448","n449","n450","n451","n452","n453","n454","n455","n456","n457","n458","n459","n460","n461","n462","n463","n464","n465","n466","n467","n468","n469","n470","n471","n472","n473","n474","n475","n476","n477","n478","n479","n480","n481","n482","n483","n484","n485","n486","n487","n488","n489","n490","n491","n492","n493","n494","n495","n496","n497","n498","n499","n500","n501","n502","n503","n504","n505","n506","n507","n508","n509","n510","n511","n512","n513","n514","n515","n516","n517","n518","n519","n520","n521","n522","n523","n524","n525","n526","n527","n528","n529","n530","n531","n532","n533","n534","n535","n536","n537","n538","n539","n540","n541","n542","n543","n544","n545","n546","n547","n548","n549","n550","n551","n552","n553","n554","n555","n556","n557","n558","n559","n560","n561","n562","n563","n564","n565","n566","n567","n568","n569","n570","n571","n572","n573","n574","n575","n576","n577","n578","n579","n580","n581","n582","n583","n584","n585","n586","n587","n588","n589","n590","n591","n592","n593","n594","n595","n596","n597","n598","n599","n600","n601","n602","n603","n604","n605","n606","n607","n608","n609","n610","n611","n612","n613","n614","n615","n616","n617","n618","n619","n620","n621","n622","n623","n624","n625","n626","n627","n628","n629","n630","n631","n632","n633","n634","n635","n636","n637","n638","n639","n640","n641","n642","n643","n644","n645","n646","n647","n648","n649","n650","n651","n652","n653","n654","n655","n656","n657","n658","n659","n660","n661","n662","n663","n664","n665","n666","n667","n668","n669","n670","n671","n672","n673","n674","n675","n676","n677","n678","n679","n680","n681","n682","n683","n684","n685","n686","n687","n688","n689","n690","n691","n692","n693","n694","n695","n696","n697","n698","n699","n700","n701","n702","n703","n704","n705","n706","n707","n708","n709","n710","n711","n712","n713","n714","n715","n716","n717","n718","n719","n720","n721","n722","n723","n724","n725","n726","n727","n728","n729","n730","n731","n732","n733","n734","n735","n736","n737","n738","n739","n740","n741","n742","n743","n744","n745","n746","n747","n748","n749","n750","n751","n752","n753","n754","n755","n756","n757","n758","n759","n760","n761","n762","n763","n764","n765","n766","n767","n768","n769","n770","n771","n772","n773","n774","n775","n776","n777","n778","n779","n780","n781","n782","n783","n784","n785","n786","n787","n788","n789","n790","n791","n792","n793","n794","n795","n796","n797","n798","n799","n800","n801","n802","n803","n804","n805","n806","n807","n808","n809","n810","n811","n812","n813","n814","n815","n816","n817","n818","n819","n820","n821","n822","n823","n824","n825","n826","n827","n828","n829","n830","n831","n832","n833","n834","n835","n836","n837","n838","n839","n840","n841","n842","n843","n844","n845","n846","n847","n848","n849","n850","n851","n852","n853","n854","n855","n856","n857","n858","n859","n860","n861","n862","n863","n864","n865","n866","n867","n868","n869","n870","n871","n872","n873","n874","n875","n876","n877","n878","n879","n880","n881","n882","n883","n884","n885","n886","n887","n888","n889","n890","n891","n892","n893","n894","n895","n896","n897","n898","n899","n900","n901","n902","n903","n904","n905","n906","n907","n908","n909","n910","n911","n912","n913","n914","n915","n916","n917","n918","n919","n920","n921","n922","n923","n924","n925","n926","n927","n928","n929","n930","n931","n932","n933","n934","n935","n936","n937","n938","n939","n940","n941","n942","n943","n944","n945","n946","n947","n948","n949","n950","n951","n952","n953","n954","n955","n956","n957","n958","n959","n960","n961","n962","n963","n964","n965","n966","n967","n968","n969","n970","n971","n972","n973","n974","n975","n976","n977","n978","n979","n980","n981","n982","n983","n984","n985","n986","n987","n988","n989","n990","n991","n992","n993","n994","n995","n996","n997","n998","n999","n1000"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Values must hold 1 to 1000 values' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 62: bad input: too many rows
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b17","Criteria":[{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]},{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria must hold 1 to 50 rows' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 63: bad input: a name with a slash
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"a/b","Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Name must not hold/ }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 64: bad input: a name with a control character
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"a\u0001b","Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Name must not hold control characters' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 65: bad input: a value too long
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b18","Criteria":[{"Field":"FirstName","Operator":"Equals","Value":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => 'Criteria[0].Value must be 1 to 256 characters long' }
--- sql_unchanged
SELECT count(*), max(updated_at) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 66: bad input: no Content-Type is 415
--- request
POST /Profiles/v4/SegApiCo/Segments
{"Name":"b20","Criteria":[{"Field":"Tag","Values":["VIP"]}]}
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 415
--- sql_unchanged
SELECT count(*) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 67: bad input: a body over prefs_max_body is 413
--- http_config
prefs_max_body 1k;
--- request eval
"POST /Profiles/v4/SegApiCo/Segments\n" . '{"Name":"b21","Description":"' . ('x' x 2000) . '","Criteria":[{"Field":"Tag","Values":["VIP"]}]}'
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 413
--- sql_unchanged
SELECT count(*) FROM prefs_segment WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'SegApiCo')
--- no_error_log
[error]


=== TEST 68: bad input: a hostile name in the path is a name no segment has
--- request
GET /Profiles/v4/SegApiCo/Segments/x'%3B%20DROP%20TABLE%20prefs_segment
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 404
--- response_body chomp
{"Message":"No segment 'x'; DROP TABLE prefs_segment' in this account"}
--- no_error_log
[error]


=== TEST 69: the compiled query of common criteria can use their indexes (the suite's tables are too small for the planner to prefer one: seq scans off; bench/export.sh shows a plan at size)
--- request
GET /Profiles/v4/SegApiCo/Segments/smiths
--- more_headers eval
PrefsTest::auth('SegApiCo', 'admin')
--- error_code: 200
--- sql
SET enable_seqscan = off;
SELECT string_agg(x, E'\n') FROM (
  SELECT prefs_seg_explain(a.account_id, 'Segment', 'by mail') x FROM prefs_account a WHERE a.client_id = 'SegApiCo'
  UNION ALL
  SELECT prefs_seg_explain(a.account_id, 'Segment', 'by alternate id') FROM prefs_account a WHERE a.client_id = 'SegApiCo'
  UNION ALL
  SELECT prefs_seg_explain(a.account_id, 'Segment', 'by phone') FROM prefs_account a WHERE a.client_id = 'SegApiCo') s
--- sql_result_like: (?s)Index Scan using prefs_profile_email_find on prefs_profile_email.*Index (Only )?Scan using prefs_profile_alternate_id_unique.*Index (Only )?Scan using prefs_profile_phone_find
--- no_error_log
[error]
