# $prefs_client_id, $prefs_user, $prefs_route and $prefs_profile_id: in a
# header (after authentication, and when it failed), in map, and as the key
# of limit_req_zone (the preaccess phase, before the module's content
# handler has authenticated anything): one account is refused 429 by nginx
# itself while another goes on.  The access log is t/206-variables-log.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('VarsCo');
our $Admin = api_user('VarsCo', 'admin', 'Administrators');
api_account('VarsOther');
api_user('VarsOther', 'admin', 'Administrators');

api_blocks();
run_tests();

__DATA__

=== TEST 1: after authentication: the account's clientId, the user's id, the route template
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Vars "c=$prefs_client_id u=$prefs_user r=$prefs_route p=$prefs_profile_id" always;
}
--- request
GET /Profiles/v4/VarsCo/Users
--- more_headers eval
PrefsTest::auth('VarsCo', 'admin')
--- error_code: 200
--- response_headers eval
"X-Vars: c=VarsCo u=$::Admin r=/Users p="
--- no_error_log
[error]
[alert]


=== TEST 2: a refused credential: the path's clientId and route, no user
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Vars "c=$prefs_client_id u=$prefs_user r=$prefs_route p=$prefs_profile_id" always;
}
--- request
GET /Profiles/v4/VarsCo/Profile/4711/Preferences
--- more_headers eval
PrefsTest::auth('VarsCo', 'admin', secret => 'wrong')
--- error_code: 401
--- response_headers
X-Vars: c=VarsCo u= r=/Profile/*/Preferences p=4711
--- no_error_log
[error]
[alert]


=== TEST 3: the profile id of every kind of route that has one, as the path has it (decoded)
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Vars "r=$prefs_route p=$prefs_profile_id" always;
}
location /api/3/ {
    prefs_api v3;
    add_header X-Vars "r=$prefs_route p=$prefs_profile_id" always;
}
--- request eval
["GET /Profiles/v4/VarsCo/Consents/p%2Dq", "GET /Profiles/v4/VarsCo/Events/Profile/12", "GET /api/3/VarsCo/Preferences/CID/C-9/Program", "GET /Profiles/v4/VarsCo/Profile/AlternateIdType/Email/AlternateId/a%40b"]
--- error_code eval
[401, 401, 401, 401]
--- response_headers eval
["X-Vars: r=/Consents/* p=p-q", "X-Vars: r=/Events/Profile/* p=12", "X-Vars: r=/Preferences/CID/*/Program p=C-9", "X-Vars: r=/Profile/AlternateIdType/*/AlternateId/* p="]
--- no_error_log
[error]
[alert]


=== TEST 4: the route the router takes for the method: a literal path for GET, the argument route for POST
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Vars "r=$prefs_route p=$prefs_profile_id" always;
}
--- request eval
["GET /Profiles/v4/VarsCo/Profile/Email", "POST /Profiles/v4/VarsCo/Profile/Email\n{}", "PATCH /Profiles/v4/VarsCo/Users\n{}"]
--- error_code eval
[401, 401, 401]
--- response_headers eval
["X-Vars: r=/Profile/Email p=", "X-Vars: r=/Profile/* p=Email", "X-Vars: r=/Users p="]
--- no_error_log
[error]
[alert]


=== TEST 5: no route, an invalid path, another location: empty
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Vars "c=$prefs_client_id r=$prefs_route" always;
}
location /plain/ {
    return 200 "c=$prefs_client_id r=$prefs_route u=$prefs_user p=$prefs_profile_id\n";
}
--- request eval
["GET /Profiles/v4/VarsCo/NoSuchThing", "GET /Profiles/v4/VarsCo/a%C0b", "GET /plain/VarsCo/Users"]
--- error_code eval
[401, 400, 200]
--- response_headers eval
["X-Vars: c=VarsCo r=", "X-Vars: c= r=", ""]
--- response_body_like eval
[qr/Message/, qr/invalid/, qr/^c= r= u= p=$/]
--- no_error_log
[error]
[alert]


=== TEST 6: map on the route template
--- http_config
map $prefs_route $prefs_test_kind {
    "/Users"    users;
    "~^/Profile" profile;
    default     other;
}
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Kind $prefs_test_kind always;
}
--- request eval
["GET /Profiles/v4/VarsCo/Users", "GET /Profiles/v4/VarsCo/Profile/1", "GET /Profiles/v4/VarsCo/Locales"]
--- more_headers eval
[PrefsTest::auth('VarsCo', 'admin'), "", ""]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["X-Kind: users", "X-Kind: profile", "X-Kind: other"]
--- no_error_log
[error]
[alert]


=== TEST 7: limit_req keyed on the account: nginx refuses one account 429 while another goes on
--- http_config
limit_req_zone $prefs_client_id zone=prefs_per_account:1m rate=1r/m;
--- config
location /Profiles/v4/ {
    prefs_api v4;
    limit_req zone=prefs_per_account;
    limit_req_status 429;
    limit_req_log_level warn;
}
--- request eval
["GET /Profiles/v4/VarsCo/Users", "GET /Profiles/v4/VarsCo/Users", "GET /Profiles/v4/VarsOther/Users", "GET /Profiles/v4/VarsOther/Users"]
--- more_headers eval
[PrefsTest::auth('VarsCo', 'admin'), PrefsTest::auth('VarsCo', 'admin'), PrefsTest::auth('VarsOther', 'admin'), PrefsTest::auth('VarsOther', 'admin')]
--- error_code eval
[200, 429, 200, 429]
--- response_body_like eval
[qr/"Users"/, qr/<title>429 Too Many Requests<\/title>/, qr/"Users"/, qr/<title>429 Too Many Requests<\/title>/]
--- no_error_log
[error]
[alert]


=== TEST 8: a request without a clientId is not limited (an empty key is not counted)
--- http_config
limit_req_zone $prefs_client_id zone=prefs_per_account:1m rate=1r/m;
--- config
location /Profiles/v4/ {
    prefs_api v4;
    limit_req zone=prefs_per_account;
    limit_req_status 429;
}
--- request eval
["GET /Profiles/v4/", "GET /Profiles/v4/"]
--- error_code eval
[404, 404]
--- response_body_like eval
[qr/needs a clientId/, qr/needs a clientId/]
--- no_error_log
[error]
[alert]
