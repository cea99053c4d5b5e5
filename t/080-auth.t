# Authentication and authorization through HTTP, as a client sees them:
# PNAUTHINFO3 (the contract's vector, each 401, clock edges), OAuth client
# credentials (each RFC 6749 error) and the permission every route checks.
# What takes time or carries a value from one response to the next request
# (the auth cache time, rotation, throttling, tokens that are used, expire
# or die with their user, a steady stream costing no query) is
# t/081-auth-timing.t.
#
# Accounts, users and the OAuth client are made here; each request is
# signed just before its block runs (PrefsTest::auth), so the clock edges
# hold under either runner.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use Digest::SHA ();
use MIME::Base64 ();
use POSIX ();

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';

# --- the contract's test vector: its user, with the contract's secret
api_account('SanchezAssociates');
my $rick = psql_value("INSERT INTO prefs_user (account_id, user_name)"
    . " SELECT account_id, 'RickSanchez' FROM prefs_account WHERE client_id = 'SanchezAssociates'"
    . " RETURNING user_id");
psql("INSERT INTO prefs_user_group_member SELECT :'u', group_id FROM prefs_user_group"
    . " WHERE name = 'Administrators' AND account_id IS NULL", u => $rick);
my $sealed = `echo example-secret-key | '$top/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`;
chomp $sealed;
psql("SELECT prefs_user_secret_add(:'u', :'s', 2)", u => $rick, s => $sealed);
Test::More::unlike(psql_value("SELECT string_agg(sealed, ',') FROM prefs_user_secret WHERE user_id = :'u'", u => $rick),
                   qr/example-secret-key/, 'the secret is stored sealed');
# the vector itself: its signature is what the contract says
Test::More::like(pnauth('SanchezAssociates', 'RickSanchez', 'example-secret-key', ts => '2015-08-10T20:11:00'),
                 qr{Signature=aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED\+reLuY0=$},
                 'the test vector signs as the contract says');

# --- AuthCo and its users; AuthOther with an intruder
api_account('AuthCo');
api_user('AuthCo', 'admin', 'Administrators');
api_user('AuthCo', "user-$_", $_) for qw(ReadOnly Integration ConfigurationManagers);
api_user('AuthCo', 'nogroup');
api_account('AuthOther');
api_user('AuthOther', 'intruder', 'Administrators');
api_account('AuthShort');
api_user('AuthShort', 'admin', 'Administrators');
psql("UPDATE prefs_account SET auth_window_seconds = 120 WHERE client_id = 'AuthShort'");

# --- an OAuth client of AuthCo's user "integration"
my $uid = api_user('AuthCo', 'integration', 'Integration', 'Administrators');
our $key = substr('ck' . Digest::SHA::sha256_hex(rand()), 0, 48);
our $secret = 'cs' . Digest::SHA::sha256_hex(rand() . 'x');
psql("INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id) VALUES (:'k', :'h', :'u')",
     k => $key, h => Digest::SHA::sha256_hex($secret), u => $uid);

# the Authorization line of a request whose credentials are wrong in a way
# the block names, for the `eval` sections
sub main::bad_auth { "Authorization: $_[0]\n" }
sub main::ts { POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime(time + ($_[0] // 0))) }
sub main::basic { 'Authorization: Basic ' . MIME::Base64::encode_base64($_[0], '') . "\n" }
sub main::form { "Content-Type: application/x-www-form-urlencoded\n" }

api_blocks();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(http_config => ($block->http_config // '')
        . "prefs_auth_cache_time 1s;\nprefs_auth_max_failures 4;\n"
        . "prefs_auth_failure_window 3s;\nprefs_oauth_token_ttl 2s;\n"
        . "prefs_auth_realm \"https://prefs.test\";\n");
});

run_tests();

__DATA__

=== TEST 1: a request signed the vector's way with a fresh timestamp is served, with the account's users
--- request
GET /Profiles/v4/SanchezAssociates/Users
--- more_headers eval
PrefsTest::auth('SanchezAssociates', 'RickSanchez', secret => 'example-secret-key')
--- error_code: 200
--- response_json eval
{ Users => [ { UserName => 'RickSanchez' } ] }
--- no_error_log
[error]
[alert]


=== TEST 2: PNAUTHINFO3-HMAC-SHA384 is accepted
--- request
GET /Profiles/v4/SanchezAssociates/Users
--- more_headers eval
PrefsTest::auth('SanchezAssociates', 'RickSanchez', secret => 'example-secret-key', alg => 'SHA384')
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 3: PNAUTHINFO3-HMAC-SHA512 is accepted
--- request
GET /Profiles/v4/SanchezAssociates/Users
--- more_headers eval
PrefsTest::auth('SanchezAssociates', 'RickSanchez', secret => 'example-secret-key', alg => 'SHA512')
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 4: the scheme name is case-insensitive
--- request
GET /Profiles/v4/SanchezAssociates/Users
--- more_headers eval
PrefsTest::auth('SanchezAssociates', 'RickSanchez', secret => 'example-secret-key', lc_scheme => 1)
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 5: the vector's own 2015 timestamp is too old today
--- request
GET /Profiles/v4/SanchezAssociates/Users
--- more_headers eval
PrefsTest::auth('SanchezAssociates', 'RickSanchez', secret => 'example-secret-key', ts => '2015-08-10T20:11:00')
--- error_code: 401
--- response_body chomp
{"Message":"The difference between the issued timestamp and the current time is too large"}
--- no_error_log
[error]
[alert]


=== TEST 6: no header: 401 "Missing Authorization Header", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
''
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Missing Authorization Header"}
--- no_error_log
[error]
[alert]


=== TEST 7: an empty header: 401 "Missing Authorization Header", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Missing Authorization Header"}
--- no_error_log
[error]
[alert]


=== TEST 8: Basic credentials: 401 "The scheme is invalid", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::basic('admin:x')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The scheme is invalid"}
--- no_error_log
[error]
[alert]


=== TEST 9: the un-keyed scheme: 401 "The scheme is invalid", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-SHA256 Credential=admin/' . main::ts() . ' Signature=abcd')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The scheme is invalid"}
--- no_error_log
[error]
[alert]


=== TEST 10: an unknown algorithm: 401 "The scheme is invalid", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-MD5 Credential=admin/' . main::ts() . ' Signature=abcd')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The scheme is invalid"}
--- no_error_log
[error]
[alert]


=== TEST 11: a date that is not ISO 8601: 401 "The specified date does not match an expected ISO 8601 format", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-SHA256 Credential=admin/29-11-2026 Signature=' . ('A' x 43) . '=')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The specified date does not match an expected ISO 8601 format"}
--- no_error_log
[error]
[alert]


=== TEST 12: no Signature: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-SHA256 Credential=admin/' . main::ts())
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 13: no Credential: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-SHA256 Signature=' . ('A' x 43) . '=')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 14: bad base64: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-SHA256 Credential=admin/' . main::ts() . ' Signature=!!!notbase64!!!')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 15: a huge header: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('PNAUTHINFO3-HMAC-SHA256 Credential=' . ('a' x 5000) . '/' . main::ts() . ' Signature=AAAA')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 16: a wrong signature: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', secret => 'not-the-secret')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 17: an unknown user: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'nobody', secret => PrefsTest::api_secret('AuthCo', 'admin'))
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 18: a timestamp 16 minutes old: 401 "The difference between the issued timestamp and the current time is too large", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => -16 * 60)
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The difference between the issued timestamp and the current time is too large"}
--- no_error_log
[error]
[alert]


=== TEST 19: a timestamp 2 minutes ahead: 401 "The difference between the issued timestamp and the current time is too large", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => 120)
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"The difference between the issued timestamp and the current time is too large"}
--- no_error_log
[error]
[alert]


=== TEST 20: another account's user: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'intruder', secret => PrefsTest::api_secret('AuthOther', 'intruder'))
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 21: another account's user signing for its own account: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthOther', 'intruder')
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 22: a bearer token nobody issued: 401 "Unable to authenticate request", WWW-Authenticate, nothing of the account told
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
main::bad_auth('Bearer ' . ('x' x 43))
--- error_code: 401
--- response_headers
WWW-Authenticate: PNAUTHINFO3 realm="https://prefs.test"
--- response_body chomp
{"Message":"Unable to authenticate request"}
--- no_error_log
[error]
[alert]


=== TEST 23: a timestamp 55 s ahead is within the skew
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => 55)
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 24: a timestamp 14 min 50 s old is within the window
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => -14 * 60 - 50)
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 25: a timestamp 15 min 10 s old is not
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => -15 * 60 - 10)
--- error_code: 401
--- no_error_log
[error]
[alert]


=== TEST 26: a timestamp 70 s ahead is not
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'admin', skew => 70)
--- error_code: 401
--- no_error_log
[error]
[alert]


=== TEST 27: a per-account window of 2 minutes accepts 100 s
--- request
GET /Profiles/v4/AuthShort/Users
--- more_headers eval
PrefsTest::auth('AuthShort', 'admin', skew => -100)
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 28: and refuses 150 s
--- request
GET /Profiles/v4/AuthShort/Users
--- more_headers eval
PrefsTest::auth('AuthShort', 'admin', skew => -150)
--- error_code: 401
--- no_error_log
[error]
[alert]


=== TEST 29: ReadOnly cannot list users: 403 naming the permission
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'user-ReadOnly')
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the UserManage permission"}
--- no_error_log
[error]
[alert]


=== TEST 30: Integration cannot list users: 403 naming the permission
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'user-Integration')
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the UserManage permission"}
--- no_error_log
[error]
[alert]


=== TEST 31: ConfigurationManagers cannot list users: 403 naming the permission
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'user-ConfigurationManagers')
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the UserManage permission"}
--- no_error_log
[error]
[alert]


=== TEST 32: a user in no group has no permission
--- request
GET /Profiles/v4/AuthCo/Users
--- more_headers eval
PrefsTest::auth('AuthCo', 'nogroup')
--- error_code: 403
--- no_error_log
[error]
[alert]


=== TEST 33: a token is issued for credentials in the body: Bearer, expires_in, 256 random bits, no-store, only its hash stored
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=$::secret&scope=AuthCo/integration"
--- more_headers eval
main::form()
--- error_code: 200
--- response_headers
Cache-Control: no-store
--- response_json eval
{ token_type => 'Bearer', expires_in => 2, access_token => qr/^[A-Za-z0-9_-]{43,}$/ }
--- sql
SELECT count(*) FROM prefs_oauth_token WHERE token_hash = encode(sha256(convert_to(:'access_token', 'UTF8')), 'hex')
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 34: HTTP Basic client authentication works too
--- request
POST /oauth/token
grant_type=client_credentials&scope=AuthCo%2Fintegration
--- more_headers eval
main::form() . main::basic("$::key:$::secret")
--- error_code: 200
--- response_json eval
{ token_type => 'Bearer' }
--- no_error_log
[error]
[alert]


=== TEST 35: a wrong secret: 401 invalid_client
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=nope"
--- more_headers eval
main::form()
--- error_code: 401
--- response_json eval
{ error => 'invalid_client' }
--- no_error_log
[error]
[alert]


=== TEST 36: an unknown client: 401 invalid_client
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=nobody1234567890&client_secret=x"
--- more_headers eval
main::form()
--- error_code: 401
--- response_json eval
{ error => 'invalid_client' }
--- no_error_log
[error]
[alert]


=== TEST 37: no credentials: 401 invalid_client
--- request eval
"POST /oauth/token\ngrant_type=client_credentials"
--- more_headers eval
main::form()
--- error_code: 401
--- response_json eval
{ error => 'invalid_client' }
--- no_error_log
[error]
[alert]


=== TEST 38: another grant: 400 unsupported_grant_type
--- request eval
"POST /oauth/token\ngrant_type=password&client_id=$::key&client_secret=$::secret"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'unsupported_grant_type' }
--- no_error_log
[error]
[alert]


=== TEST 39: no grant_type: 400 invalid_request
--- request eval
"POST /oauth/token\nclient_id=$::key&client_secret=$::secret"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_request' }
--- no_error_log
[error]
[alert]


=== TEST 40: a repeated parameter: 400 invalid_request
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&grant_type=client_credentials&client_id=$::key&client_secret=$::secret"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_request' }
--- no_error_log
[error]
[alert]


=== TEST 41: a bad escape: 400 invalid_request
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=%zz&client_secret=x"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_request' }
--- no_error_log
[error]
[alert]


=== TEST 42: a scope of another user: 400 invalid_scope
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=$::secret&scope=AuthCo/admin"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_scope' }
--- no_error_log
[error]
[alert]


=== TEST 43: a scope of another account: 400 invalid_scope
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=$::secret&scope=AuthOther/integration"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_scope' }
--- no_error_log
[error]
[alert]


=== TEST 44: a malformed scope: 400 invalid_scope
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=$::secret&scope=justone"
--- more_headers eval
main::form()
--- error_code: 400
--- response_json eval
{ error => 'invalid_scope' }
--- no_error_log
[error]
[alert]


=== TEST 45: credentials in both Basic and body: invalid_request
--- request eval
"POST /oauth/token\ngrant_type=client_credentials&client_id=$::key&client_secret=$::secret"
--- more_headers eval
main::form() . main::basic("$::key:$::secret")
--- error_code: 400
--- response_json eval
{ error => 'invalid_request' }
--- no_error_log
[error]
[alert]


=== TEST 46: a wrong Basic secret is 401, with a Basic challenge
--- request
POST /oauth/token
grant_type=client_credentials
--- more_headers eval
main::form() . main::basic("$::key:wrong")
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Basic realm=.*
--- no_error_log
[error]
[alert]


=== TEST 47: a JSON body is invalid_request
--- request
POST /oauth/token
{"grant_type":"client_credentials"}
--- more_headers eval
"Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ error => 'invalid_request' }
--- no_error_log
[error]
[alert]


=== TEST 48: GET is 405
--- request
GET /oauth/token
--- more_headers eval
''
--- error_code: 405
--- no_error_log
[error]
[alert]
