# prefs_api metrics: the Prometheus text format (OpenMetrics when asked),
# every request of a prefs_api location counted once by API, route
# template, method and status class; refused credentials by reason; 429s;
# the database's part (jobs by type and state) and what is left when the
# database cannot be read.  Every block starts its own nginx, so the
# counters start at zero.  promtool checks a real scrape in
# t/201-metrics-promtool.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

api_account('MetricsCo');
api_user('MetricsCo', 'admin', 'Administrators');
api_account('MetricsOther');
api_user('MetricsOther', 'admin', 'Administrators');
my $uid = api_user('MetricsCo', 'jane', 'ReadOnly');

# a job type of this suite's own, failed for good: no helper claims it
psql("INSERT INTO prefs_job (account_id, job_type, state)"
     . " SELECT account_id, 'metrics.test', 'failed' FROM prefs_account"
     . " WHERE client_id = 'MetricsCo'"
     . " AND NOT EXISTS (SELECT 1 FROM prefs_job WHERE job_type = 'metrics.test')");

our $Loc = $PrefsTest::ApiLocations . "location = /prefs/metrics { prefs_api metrics; }\n";
our $Uid = $uid;

api_blocks();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(config => $main::Loc) unless defined $block->config;
    $block->set_value(http_config => ($block->http_config // '')
        . "prefs_auth_max_failures 2;\nprefs_auth_failure_window 60s;\n")
        unless ($block->http_config // '') =~ /prefs_database/;
});

run_tests();

__DATA__

=== TEST 1: a request is counted once, by API, route template, method and status class
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin'), ""]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: application/json; charset=utf-8", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
[qr/"Users"/,
 qr/^# HELP prefs_http_requests_total .*\n# TYPE prefs_http_requests_total counter\nprefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="2xx"\} 1\n(?!prefs_http_requests_total\{api="v4")/m]
--- no_error_log
[error]
[alert]


=== TEST 2: its latency lands in one bucket of the route's histogram
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin'), ""]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"Users"/,
 qr/prefs_http_request_duration_seconds_bucket\{api="v4",route="\/Users",le="\+Inf"\} 1\nprefs_http_request_duration_seconds_sum\{api="v4",route="\/Users"\} \d+\.\d{3}\nprefs_http_request_duration_seconds_count\{api="v4",route="\/Users"\} 1\n/]
--- no_error_log
[error]
[alert]


=== TEST 3: a route's arguments never reach a label: the template does
--- request eval
["GET /Profiles/v4/MetricsCo/Users/$::Uid", "DELETE /Profiles/v4/MetricsCo/Users/987654321", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin'), PrefsTest::auth('MetricsCo', 'admin'), ""]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
[qr/"UserName" ?: ?"jane"/, qr/Message/,
 qr/prefs_http_requests_total\{api="v4",route="\/Users\/\*",method="GET",status="2xx"\} 1\nprefs_http_requests_total\{api="v4",route="\/Users\/\*",method="DELETE",status="4xx"\} 1\n(?![^#]*987654321)/]
--- no_error_log
[error]
[alert]


=== TEST 4: a bad signature is a failure counted by its reason, and a 4xx of its route
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin', secret => 'not-the-secret'), ""]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/Unable to authenticate request/,
 qr/prefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="4xx"\} 1\n(?s:.*)prefs_auth_failures_total\{reason="header"\} 0\n(?s:.*)prefs_auth_failures_total\{reason="signature"\} 1\n/]
--- no_error_log
[error]
[alert]


=== TEST 5: no Authorization header, an unknown user, an unknown account: each its reason
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /Profiles/v4/MetricsCo/Users", "GET /Profiles/v4/NoSuchMetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
["", PrefsTest::auth('MetricsCo', 'nobody', secret => 'x'), PrefsTest::auth('MetricsCo', 'admin'), ""]
--- error_code eval
[401, 401, 404, 200]
--- response_body_like eval
[qr/Message/, qr/Message/, qr/No account/,
 qr/prefs_auth_failures_total\{reason="header"\} 1\nprefs_auth_failures_total\{reason="unknown_account"\} 1\nprefs_auth_failures_total\{reason="timestamp"\} 0\nprefs_auth_failures_total\{reason="unknown_user"\} 1\nprefs_auth_failures_total\{reason="signature"\} 0\n/]
--- no_error_log
[error]
[alert]


=== TEST 6: a timestamp outside the window is its own reason
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin', skew => -3600), ""]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/Message/, qr/prefs_auth_failures_total\{reason="timestamp"\} 1\n/]
--- no_error_log
[error]
[alert]


=== TEST 7: a user name throttled after repeated failures: 429 counted, and its reason
The second failure locks the name for this address (a 429 counted as a
signature failure), the third is refused as throttled; the right secret is
still served (docs/authentication.md).
--- request eval
["GET /Profiles/v4/MetricsOther/Users", "GET /Profiles/v4/MetricsOther/Users", "GET /Profiles/v4/MetricsOther/Users", "GET /Profiles/v4/MetricsOther/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsOther', 'admin', secret => 'wrong'), PrefsTest::auth('MetricsOther', 'admin', secret => 'wrong'), PrefsTest::auth('MetricsOther', 'admin', secret => 'wrong'), PrefsTest::auth('MetricsOther', 'admin'), ""]
--- error_code eval
[401, 429, 429, 200, 200]
--- response_body_like eval
[qr/Message/, qr/Too many failed attempts/, qr/Too many failed attempts/, qr/"Users"/,
 qr/prefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="4xx"\} 3\n(?s:.*)prefs_http_throttled_total\{api="v4"\} 2\n(?s:.*)prefs_auth_failures_total\{reason="signature"\} 2\nprefs_auth_failures_total\{reason="token"\} 0\nprefs_auth_failures_total\{reason="throttled"\} 1\n/]
--- no_error_log
[error]
[alert]


=== TEST 8: OpenMetrics when the Accept header prefers it
--- request
GET /prefs/metrics
--- more_headers
Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2
--- error_code: 200
--- response_headers
Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8
--- response_body_like eval
qr/^# HELP prefs_http_requests .*\n# TYPE prefs_http_requests counter\n(?s:.*)# TYPE prefs_auth_failures counter\nprefs_auth_failures_total\{reason="header"\} 0\n(?s:.*)\n# EOF\n\z/
--- no_error_log
[error]
[alert]


=== TEST 9: the database's part: jobs by type and state, deliveries, lags
--- request
GET /prefs/metrics
--- error_code: 200
--- response_body_like eval
qr/prefs_database_up 1\n(?s:.*)# TYPE prefs_jobs gauge\n(?:prefs_jobs\{[^\n]*\n)*prefs_jobs\{type="metrics\.test",state="failed"\} 1\n(?s:.*)# TYPE prefs_webhook_deliveries gauge\n(?s:.*)prefs_webhook_pending_lag_seconds [0-9.e+-]+\n(?s:.*)prefs_webhook_delivered_lag_seconds [0-9.e+-]+\n/
--- no_error_log
[error]
[alert]


=== TEST 10: the database out of reach: the rest is answered, and says so
--- http_config
prefs_database "host=/nonexistent-dir port=5432 dbname=prefs user=prefs";
prefs_helper off;
--- config
location = /prefs/metrics { prefs_api metrics; }
--- request
GET /prefs/metrics
--- error_code: 200
--- response_body_like eval
qr/prefs_db_queries_total\{outcome="unavailable"\} 1\n(?s:.*)prefs_db_connect_failures_total [1-9]\d*\n(?s:.*)prefs_database_up 0\n\z/
--- error_log
prefs db: connect failed
--- no_error_log
[alert]


=== TEST 11: the pool, the configuration snapshots and the helper are there
--- request
GET /prefs/metrics
--- error_code: 200
--- response_body_like eval
qr/prefs_db_query_duration_seconds_count [1-9]\d*\n(?s:.*)\nprefs_workers 1\n(?s:.*)\nprefs_db_connections_open [1-9]\d*\n(?s:.*)prefs_db_connections_busy \d+\n(?s:.*)prefs_db_queries_waiting 0\n(?s:.*)prefs_config_snapshot_accounts \d+\n(?s:.*)prefs_helper_up 0\n(?s:.*)prefs_webhook_attempts_total 0\n(?s:.*)prefs_bulk_records_total\{state="staged"\} 0\n/
--- no_error_log
[error]
[alert]


=== TEST 12: HEAD has no body; other methods are 405
--- request eval
["HEAD /prefs/metrics", "POST /prefs/metrics\n{}"]
--- error_code eval
[200, 405]
--- response_body eval
["", qr/405/]
--- no_error_log
[error]
[alert]


=== TEST 13: without a metrics location (no counting) the API and the variables work as before
--- config
location /Profiles/v4/ { prefs_api v4; add_header X-Route $prefs_route; }
--- request
GET /Profiles/v4/MetricsCo/Users
--- more_headers eval
PrefsTest::auth('MetricsCo', 'admin')
--- error_code: 200
--- response_headers
X-Route: /Users
--- no_error_log
[error]
[alert]


=== TEST 14: a garbled or hostile Accept header gets the text format
--- request eval
["GET /prefs/metrics", "GET /prefs/metrics", "GET /prefs/metrics"]
--- more_headers eval
["Accept: application/openmetrics-text;q=;;;,,,;q=0\n", "Accept: " . ("application/openmetrics-text;q=0," x 200) . "\n", "Accept: \x01\xff;q=1.5\n"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["Content-Type: text/plain; version=0.0.4; charset=utf-8", "Content-Type: text/plain; version=0.0.4; charset=utf-8", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
[qr/^# HELP prefs_http_requests_total /, qr/^# HELP prefs_http_requests_total /, qr/(?<!# EOF\n)\z/]
--- no_error_log
[error]
[alert]


=== TEST 15: a 429 of limit_req is counted too, under the route it addressed
--- config
location /Profiles/v4/ {
    prefs_api v4;
    limit_req zone=prefs_metrics_test;
    limit_req_status 429;
    limit_req_log_level warn;
}
location = /prefs/metrics { prefs_api metrics; }
--- http_config
limit_req_zone $prefs_client_id zone=prefs_metrics_test:1m rate=1r/m;
--- request eval
["GET /Profiles/v4/MetricsCo/Users", "GET /Profiles/v4/MetricsCo/Users", "GET /prefs/metrics"]
--- more_headers eval
[PrefsTest::auth('MetricsCo', 'admin'), PrefsTest::auth('MetricsCo', 'admin'), ""]
--- error_code eval
[200, 429, 200]
--- response_body_like eval
[qr/"Users"/, qr/429 Too Many Requests/,
 qr/prefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="2xx"\} 1\nprefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="4xx"\} 1\n(?s:.*)prefs_http_throttled_total\{api="v4"\} 1\n(?s:.*)prefs_auth_failures_total\{reason="throttled"\} 0\n/]
--- no_error_log
[error]
[alert]
