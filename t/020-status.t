# prefs_api status: the pools of every worker, the helper, the job queue
# and the schema version.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;


repeat_each(2);
no_shuffle();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: status answers JSON with the schema version
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location = /prefs/status { prefs_api status; }
--- request
GET /prefs/status
--- error_code: 200
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body_like: ^\{"Database":\{"Reachable":true,"SchemaVersion":[1-9]\d*\},"Workers":\[\{"Pid":\d+,.*"Connections":\{"Open":[1-9]\d*,"Connecting":\d+,"Busy":\d+,"Idle":\d+\},"Waiting":\d+,"Queries":\d+,.*"Jobs":\{"Queued":\d+,"Running":\d+\},"Helper":\{"Running":true,"Pid":\d+,"Mode":"in-process",
--- no_error_log
[error]
[alert]


=== TEST 2: HEAD is answered without a body
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location = /prefs/status { prefs_api status; }
--- request
HEAD /prefs/status
--- error_code: 200
--- response_body
--- no_error_log
[error]
[alert]


=== TEST 3: other methods are 405
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
--- config
location = /prefs/status { prefs_api status; }
--- request
POST /prefs/status
{"a":1}
--- error_code: 405
--- no_error_log
[error]
[alert]


=== TEST 4: the helper can be switched off
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_helper off;
--- config
location = /prefs/status { prefs_api status; }
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like: "Helper":null
--- no_error_log
[error]
[alert]


=== TEST 5: a database that cannot be reached is 503 with Retry-After
--- http_config
prefs_database "host=/nonexistent-dir port=5432 dbname=prefs user=prefs";
--- config
location = /prefs/status { prefs_api status; }
--- request
GET /prefs/status
--- error_code: 503
--- response_headers
Retry-After: 5
Content-Type: application/json; charset=utf-8
--- response_body_like: "Reachable":false.*"Message":"The service is temporarily unavailable: its database cannot be reached"
--- error_log
prefs db: connect failed


=== TEST 6: the status location inherits the database from the server
--- config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
location = /prefs/status { prefs_api status; }
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like: "Reachable":true
--- no_error_log
[error]
[alert]
