# The Integration API's paths: in a "prefs_api v4" location a first segment
# "Async" (in any case) is not a clientId; the clientId is the next segment
# and only the routes marked NGX_PREFS_API_IN_ASYNC match what follows.
# "Async" can never be a clientId (prefsctl account create refuses it).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use PrefsTest;

api_account('AsyncRouteCo');
api_user('AsyncRouteCo', 'admin', 'Administrators');

# prefsctl refuses "Async" as a ClientId, in any case, before the database
for my $c ('Async', 'ASYNC', 'async') {
    my ($rc, $out) = prefsctl('account', 'create', $c);
    is($rc, 1, "prefsctl account create $c fails");
    like($out, qr/'Async' cannot be a ClientId/, "prefsctl account create $c says why");
}
is(psql_value("SELECT count(*) FROM prefs_account WHERE lower(client_id) = 'async'"), 0,
   'no account is named Async');
my ($rc, $out) = prefsctl('account', 'create', 'AsyncRouteCo2');
ok($rc == 0 || $out =~ /already exists/, 'a clientId that starts with Async is fine') or diag($out);

api_blocks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: Async is not a clientId: the next segment is, and an unknown one is 404 as usual
--- request
POST /Profiles/v4/Async/NoSuchAsyncClient/Import
{}
--- more_headers
Content-Type: application/json
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"NoSuchAsyncClient\""}
--- no_error_log
[error]
[alert]


=== TEST 2: Async without a clientId
--- request
GET /Profiles/v4/Async
--- error_code: 404
--- response_body chomp
{"Message":"The route needs a clientId"}
--- no_error_log
[error]
[alert]


=== TEST 3: Async/{clientId} with a credential: the Data API's routes are not under Async
--- request
GET /Profiles/v4/Async/AsyncRouteCo/Profile/1
--- more_headers eval
PrefsTest::auth('AsyncRouteCo', 'admin')
--- error_code: 404
--- response_body chomp
{"Message":"No such route: GET /Profiles/v4/Async/AsyncRouteCo/Profile/1"}
--- no_error_log
[error]
[alert]


=== TEST 4: "async" in lower case is the same segment
--- request
GET /Profiles/v4/async/AsyncRouteCo/Programs
--- more_headers eval
PrefsTest::auth('AsyncRouteCo', 'admin')
--- error_code: 404
--- response_body chomp
{"Message":"No such route: GET /Profiles/v4/async/AsyncRouteCo/Programs"}
--- no_error_log
[error]
[alert]


=== TEST 5: the clientId must authenticate: Async does not skip the credential
--- request
GET /Profiles/v4/Async/AsyncRouteCo/Import/x/Status
--- error_code: 401
--- response_body chomp
{"Message":"Missing Authorization Header"}
--- no_error_log
[error]
[alert]


=== TEST 6: only v4 locations have the Integration API: in a v3 location Async is a clientId
--- request
GET /api/3/Async/Preferences
--- error_code: 404
--- response_body chomp
{"Message":"No account has the clientId \"Async\""}
--- no_error_log
[error]
[alert]


=== TEST 7: the routes of v4 still take their clientId first
--- request
GET /Profiles/v4/AsyncRouteCo/Locales
--- more_headers eval
PrefsTest::auth('AsyncRouteCo', 'admin')
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 8: $prefs_client_id is the clientId after Async
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Client $prefs_client_id always;
}
--- request
GET /Profiles/v4/Async/AsyncRouteCo/Nothing
--- error_code: 401
--- response_headers
X-Client: AsyncRouteCo
--- no_error_log
[error]
[alert]
