# Configuration mistakes are caught when nginx starts, with a clear message.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;


no_shuffle();
run_tests();

__DATA__

=== TEST 1: prefs_api needs a database
--- http_config
prefs_secret_key $TEST_NGINX_PREFS_KEY;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- must_die
--- error_log
needs "prefs_database"


=== TEST 2: an unknown API
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location /x { prefs_api v5; }
--- must_die
--- error_log
invalid value "v5", it must be one of "status", "v4", "v3", "v3_async", "oauth" or "metrics"


=== TEST 3: a malformed conninfo
--- http_config
prefs_database "host=/tmp dbname";
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
invalid prefs_database conninfo


=== TEST 4: pool size out of range
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_connections 0;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
value must be between 1 and 64


=== TEST 5: a lease shorter than a second
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_job_lease 500ms;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_job_lease" directive must be at least 1s


=== TEST 6: prefs_api twice in one location
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location /x { prefs_api status; prefs_api v4; }
--- must_die
--- error_log
"prefs_api" directive is duplicate


=== TEST 7: settings are inherited and may differ per location
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_connections 2;
prefs_helper off;
--- config
prefs_db_wait_timeout 1s;
location = /a { prefs_api status; }
location = /b { prefs_db_connections 3; prefs_api status; }
--- request
GET /b
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 8: the API needs a prefix location to find the clientId
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location ~ ^/re/v4/ { prefs_api v4; }
--- must_die
--- error_log
"prefs_api" directive cannot be used in a regex location: use a prefix location


=== TEST 9: a zero timeout is refused
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_query_timeout 0;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_db_query_timeout" directive must be more than 0


=== TEST 10: the API needs the key that seals secrets
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location /Profiles/v4/ { prefs_api v4; }
--- must_die
--- error_log
"prefs_api" v4, v3 and v3_async need "prefs_secret_key"


=== TEST 11: a key file that cannot be read stops nginx
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key /nonexistent/secret.key;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- must_die
--- error_log
prefs_secret_key "/nonexistent/secret.key":


=== TEST 12: a key file of the wrong length stops nginx
--- user_files
>>> short.key
00112233
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key ../html/short.key;
--- config
location /Profiles/v4/ { prefs_api v4; }
--- must_die
--- error_log
must hold 32 bytes


=== TEST 13: a realm that would break the WWW-Authenticate header
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_auth_realm 'a"b';
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_auth_realm" directive must not hold quotes, backslashes or control characters


=== TEST 14: tokens that would expire at once
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_oauth_token_ttl 0;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_oauth_token_ttl" directive must be at least 1s



=== TEST 15: a webhook lease that the exchange could outlast
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_webhook_timeout 30s;
prefs_webhook_lease 20s;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_webhook_lease" (20000 ms) must be longer than "prefs_webhook_timeout" (30000 ms)
