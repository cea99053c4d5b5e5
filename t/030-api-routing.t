# API locations: the clientId is resolved first; the raw path is decoded
# strictly; every answer is JSON with a Message.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

psql("INSERT INTO prefs_account (client_id, name) VALUES ('RoutingCo', 'Routing')"
     . " ON CONFLICT (client_id) DO NOTHING");

repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an unknown clientId is 404
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/NoSuchClient/Programs
--- error_code: 404
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"Message":"No account has the clientId \"NoSuchClient\""}
--- no_error_log
[error]
[alert]


=== TEST 2: a known clientId without credentials is 401
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
prefs_auth_realm "https://prefs.example.com";
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/RoutingCo/Nothing/Here
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.example.com"
Cache-Control: no-cache
--- response_body chomp
{"Message":"Missing Authorization Header"}
--- no_error_log
[error]
[alert]


=== TEST 3: no clientId
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/
--- error_code: 404
--- response_body chomp
{"Message":"The route needs a clientId"}
--- no_error_log
[error]
[alert]


=== TEST 4: a hostile clientId is only ever a parameter
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/x'%3B%20DROP%20TABLE%20prefs_account%3B--/Programs
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"x'; DROP TABLE prefs_account;--\""}
--- no_error_log
[error]
[alert]


=== TEST 5: a path that is not UTF-8 is 400
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/Routing%FFCo/Programs
--- error_code: 400
--- response_body chomp
{"Message":"The request path is invalid: the path is not valid UTF-8"}
--- no_error_log
[error]
[alert]


=== TEST 6: dot segments are 400, not resolved
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/Other/../RoutingCo/Programs
--- error_code: 400
--- response_body chomp
{"Message":"The request path is invalid: the path has a \".\" or \"..\" segment"}
--- no_error_log
[error]
[alert]


=== TEST 7: an encoded control character is 400
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/Routing%0ACo/Programs
--- error_code: 400
--- response_body chomp
{"Message":"The request path is invalid: a control character is encoded in the path"}
--- no_error_log
[error]
[alert]


=== TEST 8: the v3 spelling resolves the account the same way
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /api/3/ { prefs_api v3; }
--- request
GET /api/3/NoSuchClient/Programs
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"NoSuchClient\""}
--- no_error_log
[error]
[alert]


=== TEST 9: the query string does not reach the path
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/NoSuchClient?x=a/../%2e%2e
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"NoSuchClient\""}
--- no_error_log
[error]
[alert]


=== TEST 10: a very long clientId is an unknown account, not an error
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request eval
"GET /Profiles/v4/" . ("A" x 3000) . "/Programs"
--- error_code: 404
--- response_body_like: ^\{"Message":"No account has the clientId \\"A+
--- no_error_log
[error]
[alert]


=== TEST 11: a database that cannot be reached is 503 with Retry-After
--- http_config
prefs_database "host=/nonexistent-dir dbname=prefs user=prefs";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/RoutingCo/Programs
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body chomp
{"Message":"The service is temporarily unavailable: its database cannot be reached"}


=== TEST 12: a bare "?" ends the path
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- request
GET /Profiles/v4/NoSuchClient?
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"NoSuchClient\""}
--- no_error_log
[error]
[alert]


=== TEST 13: after a rewrite the new path is routed, with its new arguments
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
location /old/ {
    rewrite ^/old/(.*)$ /Profiles/v4/$1?added=1 last;
}
--- request
GET /old/Other%2520Co/Programs?x=1
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"Other%20Co\""}
--- no_error_log
[error]
[alert]
