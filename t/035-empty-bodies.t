# An empty body (Content-Length: 0) on every method to every kind of API
# location: nginx hands the module a buffer with no memory behind it, which
# must be read as an empty body, never copied from.  Under
# `make test SANITIZE=1` a copy from it is undefined behaviour that UBSan
# reports and the worker dies of (issue 16, finding 6).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('EmptyCo');
api_user('EmptyCo', 'admin', 'Administrators');
api_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: v4, POST with an empty body
--- request
POST /Profiles/v4/EmptyCo/Users/999999
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept POST
--- no_error_log
[alert]
[crit]


=== TEST 2: v4, PUT with an empty body
--- request
PUT /Profiles/v4/EmptyCo/Users/999999
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 400
--- response_body_like chomp
needs a JSON body
--- no_error_log
[alert]
[crit]


=== TEST 3: v4, PATCH with an empty body
--- request
PATCH /Profiles/v4/EmptyCo/Users/999999
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept PATCH
--- no_error_log
[alert]
[crit]


=== TEST 4: v4, DELETE with an empty body
--- request
DELETE /Profiles/v4/EmptyCo/Users/999999
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such user
--- no_error_log
[alert]
[crit]


=== TEST 5: v4, GET with an empty body
--- request
GET /Profiles/v4/EmptyCo/Users/999999
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such user
--- no_error_log
[alert]
[crit]


=== TEST 6: v3, POST with an empty body
--- request
POST /api/3/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 400
--- response_body_like chomp
needs a JSON body
--- no_error_log
[alert]
[crit]


=== TEST 7: v3, PUT with an empty body
--- request
PUT /api/3/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept PUT
--- no_error_log
[alert]
[crit]


=== TEST 8: v3, PATCH with an empty body
--- request
PATCH /api/3/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept PATCH
--- no_error_log
[alert]
[crit]


=== TEST 9: v3, DELETE with an empty body
--- request
DELETE /api/3/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept DELETE
--- no_error_log
[alert]
[crit]


=== TEST 10: v3, GET with an empty body
--- request
GET /api/3/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
does not accept GET
--- no_error_log
[alert]
[crit]


=== TEST 11: v3_async, POST with an empty body
--- request
POST /API/3/async/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such route: POST
--- no_error_log
[alert]
[crit]


=== TEST 12: v3_async, PUT with an empty body
--- request
PUT /API/3/async/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such route: PUT
--- no_error_log
[alert]
[crit]


=== TEST 13: v3_async, PATCH with an empty body
--- request
PATCH /API/3/async/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such route: PATCH
--- no_error_log
[alert]
[crit]


=== TEST 14: v3_async, DELETE with an empty body
--- request
DELETE /API/3/async/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such route: DELETE
--- no_error_log
[alert]
[crit]


=== TEST 15: v3_async, GET with an empty body
--- request
GET /API/3/async/EmptyCo/Preferences
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
No such route: GET
--- no_error_log
[alert]
[crit]


=== TEST 16: oauth, POST with an empty body
--- request
POST /oauth/token
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\nContent-Length: 0\n"
--- error_code: 400
--- response_body_like chomp
grant_type is missing
--- no_error_log
[alert]
[crit]


=== TEST 17: oauth, PUT with an empty body
--- request
PUT /oauth/token
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
takes POST
--- no_error_log
[alert]
[crit]


=== TEST 18: oauth, PATCH with an empty body
--- request
PATCH /oauth/token
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
takes POST
--- no_error_log
[alert]
[crit]


=== TEST 19: oauth, DELETE with an empty body
--- request
DELETE /oauth/token
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
takes POST
--- no_error_log
[alert]
[crit]


=== TEST 20: oauth, GET with an empty body
--- request
GET /oauth/token
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
takes POST
--- no_error_log
[alert]
[crit]


=== TEST 21: status, POST with an empty body
--- request
POST /prefs/status
--- more_headers eval
"Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
.
--- no_error_log
[alert]
[crit]


=== TEST 22: status, PUT with an empty body
--- request
PUT /prefs/status
--- more_headers eval
"Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
.
--- no_error_log
[alert]
[crit]


=== TEST 23: status, PATCH with an empty body
--- request
PATCH /prefs/status
--- more_headers eval
"Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
.
--- no_error_log
[alert]
[crit]


=== TEST 24: status, DELETE with an empty body
--- request
DELETE /prefs/status
--- more_headers eval
"Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 405
--- response_body_like chomp
.
--- no_error_log
[alert]
[crit]


=== TEST 25: status, GET with an empty body
--- request
GET /prefs/status
--- more_headers eval
"Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 200
--- response_body_like chomp
"Reachable":true
--- no_error_log
[alert]
[crit]


=== TEST 26: v4, POST with an empty body to a route that takes one
--- request
POST /Profiles/v4/EmptyCo/Users
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 400
--- response_body_like chomp
needs a JSON body
--- no_error_log
[alert]
[crit]


=== TEST 27: v4, DELETE with an empty body on a part route
--- request
DELETE /Profiles/v4/EmptyCo/Profile/NoSuchProfile/Tags
--- more_headers eval
PrefsTest::auth("EmptyCo", "admin") . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 404
--- response_body_like chomp
"Message"
--- no_error_log
[alert]
[crit]


=== TEST 28: an unsigned POST with an empty body: the body is read before authentication
--- request
POST /Profiles/v4/EmptyCo/Users
--- more_headers
Content-Type: application/json
Content-Length: 0
--- error_code: 401
--- response_body_like chomp
Missing Authorization Header
--- no_error_log
[alert]
[crit]
