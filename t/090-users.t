# The User Management API (UserManage): create (and reactivate), read,
# list with paging, update, deactivate, groups; and every bad input is a 4xx
# with a Message that changes nothing.
#
# The users each block starts from are made here, by the SQL function
# behind POST Users, one account per kind of change: UsersCo is only read
# (a refused request must leave its users as they were), UsersNew gets
# the user POST creates, UsersEdit the updates and deactivations,
# UsersOther is the account whose user nobody else may reach.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;
use JSON::PP ();

api_account('UsersCo');
api_user('UsersCo', 'admin', 'Administrators');
our $jane = user_create('UsersCo', {
    UserName => 'jane.doe', FirstName => 'Jane', LastName => 'Doe',
    Email => 'jane@example.com', Phone => '+1 555 0100',
    Description => "Ops \x{e9}quipe", UserGroups => ['ReadOnly', 'Integration'],
    SourceGroupID => 7, DefaultLandingPage => 'ProfileSearch',
    IsSSO => JSON::PP::true() });
user_create('UsersCo', { UserName => "bulk$_" }) for 1 .. 3;

api_account('UsersNew');
api_user('UsersNew', 'admin', 'Administrators');

api_account('UsersEdit');
api_user('UsersEdit', 'admin', 'Administrators');
our $edit = user_create('UsersEdit', { UserName => 'edit.me', FirstName => 'Jane',
                                       LastName => 'Doe', UserGroups => ['Integration'] });
user_create('UsersEdit', { UserName => 'taken' });
our $leaving = user_create('UsersEdit', { UserName => 'leaving' });
our $returning = user_create('UsersEdit', { UserName => 'returning', FirstName => 'Jane',
                                            IsActive => JSON::PP::false() });

api_account('UsersOther');
our $theirs = api_user('UsersOther', 'admin', 'Administrators');

api_blocks();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(http_config => ($block->http_config // '') . "prefs_max_body 4k;\n");
});

openapi_responses();
run_tests();

__DATA__

=== TEST 1: POST Users creates: 201 with a UserId, a SubmittedTime and a Location; the user stored as given
--- request
POST /Profiles/v4/UsersNew/Users
{"UserName":"jane.doe","FirstName":"Jane","LastName":"Doe","Email":"jane@example.com","Phone":"+1 555 0100","Description":"Ops \u00e9quipe","UserGroups":["ReadOnly","Integration"],"SourceGroupID":7,"DefaultLandingPage":"ProfileSearch","IsSSO":true}
--- more_headers eval
PrefsTest::auth('UsersNew', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_headers_like
Location: .*/Profiles/v4/UsersNew/Users/\d+$
--- response_json eval
{ UserId => qr/^\d+$/, SubmittedTime => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }
--- sql
SELECT (prefs_user_json(u)::jsonb - 'UserId' - 'CreatedDate' - 'UpdatedDate')::text FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersNew' AND u.user_id = CAST(:'UserId' AS bigint)
--- sql_result
{"Email": "jane@example.com", "IsSSO": true, "Phone": "+1 555 0100", "IsActive": true, "LastName": "Doe", "UserName": "jane.doe", "FirstName": "Jane", "UserGroups": ["Integration", "ReadOnly"], "Description": "Ops équipe", "SourceGroupID": 7, "DefaultLandingPage": "ProfileSearch", "DefaultLandingPageTypeNbr": 2}
--- no_error_log
[error]
[alert]


=== TEST 2: GET Users/{id}: every field as given, its groups, IsSSO and IsActive
--- request eval
"GET /Profiles/v4/UsersCo/Users/$::jane"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 200
--- response_json eval
{ UserName => 'jane.doe', FirstName => 'Jane', LastName => 'Doe', Email => 'jane@example.com',
  Phone => '+1 555 0100', Description => "Ops \x{e9}quipe", SourceGroupID => 7,
  DefaultLandingPage => 'ProfileSearch', DefaultLandingPageTypeNbr => 2,
  UserGroups => ['Integration', 'ReadOnly'], IsSSO => 1, IsActive => 1 }
--- no_error_log
[error]
[alert]


=== TEST 3: a second active user of the same name is 409
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"jane.doe"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 4: GET Users pages: Count, Limit, 1-based Offset, TotalResults, HasMore, the second user first
--- request
GET /Profiles/v4/UsersCo/Users?limit=2&offset=2
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 2, Limit => 2, Offset => 2, TotalResults => 5, HasMore => 1,
  Users => [ { UserName => 'jane.doe' }, { UserName => 'bulk1' } ] }
--- no_error_log
[error]
[alert]


=== TEST 5: GET UserGroups: the built-in groups with their permissions
--- request
GET /Profiles/v4/UsersCo/UserGroups
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 200
--- response_json eval
PrefsTest::contains({ Name => 'Administrators' }, { Name => 'Integration' },
    { Name => 'ReadOnly', Permissions => ['ConfigurationRead', 'ProfileRead', 'EventDataView'] })
--- no_error_log
[error]
[alert]


=== TEST 6: PUT Users/{id} changes what is given, leaves the rest, replaces the groups, takes the landing page by number
--- request eval
"PUT /Profiles/v4/UsersEdit/Users/$::edit\n" . '{"LastName":"Roe","UserGroups":["ReadOnly"],"DefaultLandingPageTypeNbr":3}'
--- more_headers eval
PrefsTest::auth('UsersEdit', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ LastName => 'Roe', FirstName => 'Jane', UserGroups => ['ReadOnly'], DefaultLandingPage => 'DataExport' }
--- no_error_log
[error]
[alert]


=== TEST 7: renaming onto another user is 409, the user keeps its name
--- request eval
"PUT /Profiles/v4/UsersEdit/Users/$::edit\n" . '{"UserName":"taken"}'
--- more_headers eval
PrefsTest::auth('UsersEdit', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT user_name FROM prefs_user WHERE user_id = $::edit"
--- no_error_log
[error]
[alert]


=== TEST 8: DELETE deactivates: 204, and the user is inactive, not gone
--- request eval
["DELETE /Profiles/v4/UsersEdit/Users/$::leaving", "GET /Profiles/v4/UsersEdit/Users/$::leaving"]
--- more_headers eval
[PrefsTest::auth('UsersEdit', 'admin'), PrefsTest::auth('UsersEdit', 'admin')]
--- error_code eval
[204, 200]
--- response_json eval
{ UserName => 'leaving', IsActive => 0 }
--- no_error_log
[error]
[alert]


=== TEST 9: POST of an inactive user's name reactivates it: 201, the same UserId, active with the new fields
--- request eval
["POST /Profiles/v4/UsersEdit/Users\n" . '{"UserName":"returning","FirstName":"Janet"}', "GET /Profiles/v4/UsersEdit/Users/$::returning"]
--- more_headers eval
[PrefsTest::auth('UsersEdit', 'admin') . "Content-Type: application/json\n", PrefsTest::auth('UsersEdit', 'admin')]
--- error_code eval
[201, 200]
--- response_json_list eval
[ { UserId => $::returning }, { IsActive => 1, FirstName => 'Janet' } ]
--- no_error_log
[error]
[alert]


=== TEST 10: GET of another account's user is 404, and it is untouched
--- request eval
"GET /Profiles/v4/UsersCo/Users/$::theirs"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT last_name, is_active, updated_at FROM prefs_user WHERE user_id = $::theirs"
--- no_error_log
[error]
[alert]


=== TEST 11: PUT of another account's user is 404, and it is untouched
--- request eval
"PUT /Profiles/v4/UsersCo/Users/$::theirs\n{\"LastName\":\"x\"}"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT last_name, is_active, updated_at FROM prefs_user WHERE user_id = $::theirs"
--- no_error_log
[error]
[alert]


=== TEST 12: DELETE of another account's user is 404, and it is untouched
--- request eval
"DELETE /Profiles/v4/UsersCo/Users/$::theirs"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT last_name, is_active, updated_at FROM prefs_user WHERE user_id = $::theirs"
--- no_error_log
[error]
[alert]


=== TEST 13: an account lists only its own users
--- request
GET /Profiles/v4/UsersOther/Users
--- more_headers eval
PrefsTest::auth('UsersOther', 'admin')
--- error_code: 200
--- response_json eval
{ TotalResults => 1 }
--- no_error_log
[error]
[alert]


=== TEST 14: malformed JSON: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/not valid JSON/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 15: not an object: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
["UserName"]
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/must be a JSON object/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 16: no UserName: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"FirstName":"x"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName is required/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 17: a number for a string: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":42}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName must be a string/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 18: a string for a boolean: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x1","IsActive":"yes"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/IsActive must be true or false/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 19: an unknown field: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x2","Password":"p"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Unknown field "Password"/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 20: a read-only field: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x3","UserId":5}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserId is read-only/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 21: a duplicate key: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x4","UserName":"x5"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/not valid JSON.*duplicate/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 22: the same key in another case: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x6","username":"x7"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName is given twice/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 23: an empty UserName: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":""}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName must be 1 to 128/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 24: a slash in UserName: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"a/b"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName must not contain/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 25: a space in UserName: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"a b"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserName must not contain/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 26: a control character: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"a\u0001b"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/control characters/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 27: a NUL character: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"a\u0000b"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 28: an unknown landing page: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x8","DefaultLandingPage":"Home"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/must be one of "Dashboard", "ProfileSearch", "DataExport"/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 29: a landing page number out of range: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x9","DefaultLandingPageTypeNbr":4}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/from 1 to 3/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 30: an unknown group: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x10","UserGroups":["Wizards"]}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/no group is named "Wizards"/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 31: groups that are not strings: 400, the Message says why, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x11","UserGroups":[1]}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/UserGroups/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 32: an overlong name: 400, nothing changed
--- request eval
"POST /Profiles/v4/UsersCo/Users\n" . '{"UserName":"' . ('n' x 129) . '"}'
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/1 to 128/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 33: invalid UTF-8: 400, nothing changed
--- request eval
"POST /Profiles/v4/UsersCo/Users\n{\"UserName\":\"x\xff\"}"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/not valid JSON/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 34: a huge body: 413, nothing changed
--- request eval
"POST /Profiles/v4/UsersCo/Users\n" . '{"UserName":"x12","Description":"' . ('d' x 5000) . '"}'
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 413
--- response_json eval
{ Message => qr/larger than 4096 bytes/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 35: a body that is not application/json is 415, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
{"UserName":"x13"}
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 36: IsSSO can only be set at creation
--- request eval
"PUT /Profiles/v4/UsersCo/Users/$::jane\n" . '{"IsSSO":true}'
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 37: POST without a body or type is 415, nothing changed
--- request
POST /Profiles/v4/UsersCo/Users
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 415
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 38: an empty JSON body is 400, saying a body is needed
--- request
POST /Profiles/v4/UsersCo/Users
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/needs a JSON body/ }
--- sql_unchanged
SELECT u.user_id, u.user_name, u.is_active, u.updated_at FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = 'UsersCo' ORDER BY u.user_id
--- no_error_log
[error]
[alert]


=== TEST 39: a hostile id "abc" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/abc
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 40: a hostile id "0" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/0
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 41: a hostile id "-1" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/-1
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 42: a hostile id "007" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/007
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 43: a hostile id "99999999999999999999" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/99999999999999999999
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 44: a hostile id "1%27%20OR%201=1" is 404 with a Message
--- request
GET /Profiles/v4/UsersCo/Users/1%27%20OR%201=1
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/No (user|such user)/ }
--- no_error_log
[error]
[alert]


=== TEST 45: PATCH Users/{id} is 405, Allow lists what the route takes
--- request eval
"PATCH /Profiles/v4/UsersCo/Users/$::jane\n{}"
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 405
--- response_headers
Allow: GET, HEAD, PUT, DELETE
--- no_error_log
[error]
[alert]


=== TEST 46: an unknown route is 404
--- request
GET /Profiles/v4/UsersCo/Users/1/2/3
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 47: limit=0 is 400 (routes match in any case)
--- request
GET /Profiles/v4/UsersCo/users?limit=0
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 400
--- no_error_log
[error]
[alert]


=== TEST 48: a non-numeric offset is 400
--- request
GET /Profiles/v4/UsersCo/Users?offset=abc
--- more_headers eval
PrefsTest::auth('UsersCo', 'admin')
--- error_code: 400
--- no_error_log
[error]
[alert]
