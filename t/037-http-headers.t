# What the answers' headers say, and what the Webhooks API refuses at once
# (issue 16, finding 7):
# - Location is built from the server's name (server_name) or
#   prefs_public_url, never from the request's Host header;
# - answers with personal data (profiles, users, events, webhook
#   subscriptions and deliveries) carry Cache-Control: no-store, the
#   configuration's keep their caching (ETag, no Cache-Control);
# - the OAuth token endpoint's 429 carries Retry-After, as documented;
# - a subscription's Url whose host is an address the delivery client's
#   policy refuses (169.254.169.254, 127.0.0.1, [::1] under the default,
#   production policy) is 400 at create and update, and nothing changes.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use Digest::SHA ();

api_account('HeadersCo');
our $admin_id = api_user('HeadersCo', 'admin', 'Administrators');
PrefsTest::api_config_import('HeadersCo');

# an OAuth client of the administrator
our $okey = substr('ck' . Digest::SHA::sha256_hex(rand()), 0, 48);
psql("INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id) VALUES (:'k', :'h', :'u')",
     k => $okey, h => Digest::SHA::sha256_hex('cs-right'), u => $admin_id);

# a subscription to a global address, made over HTTP
our ($sub) = do {
    my ($st, undef, $j, $raw) = PrefsTest::api_request('HeadersCo', 'admin', 'POST', 'Webhooks/Subscriptions',
        { Name => 'hook', Url => 'https://hooks.example.com/in',
          Subscriptions => [ { Entity => 'Tags', EventType => 'tag.removed' } ] });
    die "preparing a subscription: $st $raw\n" unless $st == 201;
    $j->{Id};
};
PrefsTest::api_prepared();

our $subs = "SELECT count(*) || ' ' || string_agg(url, ',') FROM prefs_webhook_subscription"
          . " JOIN prefs_account USING (account_id) WHERE client_id = 'HeadersCo'";

sub main::writer { PrefsTest::auth('HeadersCo', 'admin') . "Content-Type: application/json\n" . join '', map { "$_\n" } @_ }
sub main::reader { PrefsTest::auth('HeadersCo', 'admin') . join '', map { "$_\n" } @_ }
sub main::form { "Content-Type: application/x-www-form-urlencoded\n" }

api_blocks();
run_tests();

__DATA__

=== TEST 1: Location is built from server_name, not from the request's Host
--- request
POST /Profiles/v4/HeadersCo/Users
{"UserName":"loc.one"}
--- more_headers eval
main::writer('Host: evil.example.net')
--- error_code: 201
--- response_headers_like
Location: ^http://localhost:\d+/Profiles/v4/HeadersCo/Users/\d+$
--- no_error_log
[error]
[alert]


=== TEST 2: with prefs_public_url, Location is built from it
--- http_config
prefs_public_url https://prefs.example.com/;
--- request
POST /Profiles/v4/HeadersCo/ProgramTypes
{"ProgramTypeId":"LOC-TWO","Name":"Two"}
--- more_headers eval
main::writer('Host: evil.example.net:8443')
--- error_code: 201
--- response_headers
Location: https://prefs.example.com/Profiles/v4/HeadersCo/ProgramTypes/LOC-TWO
--- no_error_log
[error]
[alert]


=== TEST 3: a server without a name gives the path alone, never the Host
--- server_name: _
--- request
POST /Profiles/v4/HeadersCo/Users
{"UserName":"loc.three"}
--- more_headers eval
main::writer('Host: evil.example.net')
--- error_code: 201
--- response_headers_like
Location: ^/Profiles/v4/HeadersCo/Users/\d+$
--- no_error_log
[error]
[alert]


=== TEST 4: prefs_public_url must be a scheme, a host and a port
--- http_config
prefs_public_url https://prefs.example.com/base;
--- must_die
--- error_log
must be only a scheme, a host and a port, without a path


=== TEST 5: answers with personal data carry Cache-Control: no-store
--- request eval
[ "GET /Profiles/v4/HeadersCo/Users", "GET /Profiles/v4/HeadersCo/Events?limit=1",
  "GET /Profiles/v4/HeadersCo/Webhooks/Subscriptions/$::sub", "GET /Profiles/v4/HeadersCo/Webhooks/Subscriptions/$::sub/Deliveries",
  "POST /Profiles/v4/HeadersCo/Webhooks/Subscriptions/$::sub/Secret", "GET /Profiles/v4/HeadersCo/Profile/999999999",
  "GET /Profiles/v4/HeadersCo/Profile/Email?emailAddress=nobody%40example.com", "GET /Profiles/v4/HeadersCo/Users/$::admin_id" ]
--- more_headers eval
[ map { main::reader() } 1 .. 8 ]
--- error_code eval
[ 200, 200, 200, 200, 200, 404, 200, 200 ]
--- response_headers eval
[ map { "Cache-Control: no-store" } 1 .. 8 ]
--- no_error_log
[error]
[alert]


=== TEST 6: configuration answers keep their caching: an ETag, no Cache-Control
--- request eval
[ "GET /Profiles/v4/HeadersCo/Programs", "GET /api/3/HeadersCo/Programs" ]
--- more_headers eval
[ main::reader(), main::reader() ]
--- error_code eval
[ 200, 200 ]
--- response_headers eval
[ "!Cache-Control", "!Cache-Control" ]
--- response_headers_like eval
[ 'ETag: ^"\w+"$', 'ETag: ^"\w+"$' ]
--- no_error_log
[error]
[alert]


=== TEST 7: the OAuth token endpoint's 429 carries Retry-After (the seconds left in the window)
--- http_config
prefs_auth_max_failures 2;
prefs_auth_failure_window 60s;
--- request eval
[ map { "POST /oauth/token\ngrant_type=client_credentials&client_id=$::okey&client_secret=wrong" } 1 .. 3 ]
--- more_headers eval
[ map { main::form() } 1 .. 3 ]
--- error_code eval
[ 401, 401, 429 ]
--- response_headers_like eval
[ 'Cache-Control: ^no-store$', 'Cache-Control: ^no-store$', 'Retry-After: ^([1-9]|[1-5][0-9]|60)$' ]
--- response_body_like eval
[ qr/invalid_client/, qr/invalid_client/, qr/"Too many failed attempts: try again later"/ ]
--- no_error_log
[error]
[alert]


=== TEST 8: a Url whose host is an address the client refuses is 400 at create, naming it; nothing is stored
--- request eval
[ map { "POST /Profiles/v4/HeadersCo/Webhooks/Subscriptions\n"
        . qq{{"Name":"bad","Url":"$_","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}} }
  'https://169.254.169.254/latest/meta-data', 'https://127.0.0.1:8443/hook', 'https://[::1]/hook',
  'https://[::ffff:169.254.169.254]/x', 'https://10.0.0.7/hook', 'https://0.0.0.0/hook' ]
--- more_headers eval
[ map { main::writer() } 1 .. 6 ]
--- error_code eval
[ (400) x 6 ]
--- response_body_like eval
[ qr/Url is refused: 169\.254\.169\.254 is not a global address/, qr/127\.0\.0\.1 is not a global address/,
  qr/::1 is not a global address/, qr/is not a global address/, qr/10\.0\.0\.7 is not/, qr/0\.0\.0\.0 is not/ ]
--- sql_unchanged eval
$::subs
--- no_error_log
[error]
[alert]


=== TEST 9: and at update; a name is judged at delivery, once resolved
--- request eval
[ "PUT /Profiles/v4/HeadersCo/Webhooks/Subscriptions/$::sub\n" . '{"Url":"https://169.254.169.254/x"}',
  "PUT /Profiles/v4/HeadersCo/Webhooks/Subscriptions/$::sub\n" . '{"Url":"https://127.1/x"}' ]
--- more_headers eval
[ main::writer(), main::writer() ]
--- error_code eval
[ 400, 400 ]
--- response_body_like eval
[ qr/169\.254\.169\.254 is not a global address/, qr/reads as a number/ ]
--- sql_unchanged eval
$::subs
--- no_error_log
[error]
[alert]


=== TEST 10: an address inside prefs_webhook_allow_network is accepted
--- http_config
prefs_webhook_allow_network 10.0.0.0/8;
--- request
POST /Profiles/v4/HeadersCo/Webhooks/Subscriptions
{"Name":"internal","Url":"https://10.0.0.7/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}
--- more_headers eval
main::writer()
--- error_code: 201
--- response_headers
Cache-Control: no-store
--- response_json eval
{ Url => 'https://10.0.0.7/hook' }
--- no_error_log
[error]
[alert]
