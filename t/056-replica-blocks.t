# prefs_db_replica as configured: its mistakes are caught when nginx
# starts; a standby that cannot be used (unreachable, or a primary named as
# one) is said so once in the log, and the routes it would serve are
# answered by the primary.  (A real standby, lag and fallback:
# t/055-replica.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('ReplicaCo');
api_user('ReplicaCo', 'admin', 'Administrators');
our $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'ReplicaCo'");
our $profile = psql_value("SELECT profile_id FROM prefs_profile_create(CAST(:'a' AS bigint), NULL,"
                          . " '{\"CustomerName\":{\"FirstName\":\"Ann\"}}')", a => $acct);
events_settled();
api_blocks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an empty conninfo
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "";
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_db_replica" directive is empty


=== TEST 2: a malformed conninfo
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "host=/tmp dbname";
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
invalid prefs_db_replica conninfo


=== TEST 3: max_lag that is not a time
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "$TEST_NGINX_PREFS_DATABASE" max_lag=soon;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
invalid max_lag "soon"


=== TEST 4: max_lag of zero
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "$TEST_NGINX_PREFS_DATABASE" max_lag=0;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
invalid max_lag "0"


=== TEST 5: an unknown parameter
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "$TEST_NGINX_PREFS_DATABASE" lag=2s;
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
invalid parameter "lag=2s"


=== TEST 6: given twice
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "$TEST_NGINX_PREFS_DATABASE";
prefs_db_replica "$TEST_NGINX_PREFS_DATABASE";
--- config
location /x { prefs_api status; }
--- must_die
--- error_log
"prefs_db_replica" directive is duplicate


=== TEST 7: an unreachable standby: the primary answers the Events API
--- http_config eval
PrefsTest::api_http_config() . "prefs_helper off;\nprefs_db_replica \"host=/nonexistent/prefs-standby dbname=prefs\" max_lag=1s;\n"
--- request eval
"GET /Profiles/v4/ReplicaCo/Events/Profile/$::profile?subscribedOnly=false"
--- more_headers eval
PrefsTest::auth('ReplicaCo', 'admin')
--- error_code: 200
--- response_body_like: "EventType": ?"profile\.created"
--- error_log
the standby cannot be used
--- no_error_log
[alert]
[crit]


=== TEST 8: a primary named as the standby is not used
--- http_config eval
PrefsTest::api_http_config() . "prefs_helper off;\nprefs_db_replica \"$ENV{TEST_NGINX_PREFS_DATABASE}\";\n"
--- request eval
"GET /Profiles/v4/ReplicaCo/Events/Profile/$::profile?subscribedOnly=false"
--- more_headers eval
PrefsTest::auth('ReplicaCo', 'admin')
--- error_code: 200
--- response_body_like: "EventType": ?"profile\.created"
--- error_log
it is not in recovery
--- no_error_log
[alert]
[crit]


=== TEST 9: the status names the standby's state
--- http_config eval
PrefsTest::api_http_config() . "prefs_helper off;\nprefs_db_replica \"host=/nonexistent/prefs-standby dbname=prefs\";\n"
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like: "Standby":\{"State":"(Unknown|Down)","LagMs":null,"Queries":0,"Fallbacks":0\}
--- no_error_log
[alert]
[crit]
