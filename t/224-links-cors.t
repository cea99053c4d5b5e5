# CORS origins per account (issue 15; docs/preference-center.md): an
# account's pages may call the API from the origins PUT Links/Origins (or
# prefsctl link origins) sets, as well as from a location's
# prefs_link_cors_origin: the module allows the union, answers the
# preflights itself and names the origin in its answers, refusals of a link
# included (the page shows their Message).  The origins of one account do
# nothing for another.  Reaching every worker within a second:
# t/221-links-revocation.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use LinkTest qw(link_profile link_make);
use PrefsOpenAPI;
use JSON::PP;

our (%p, %acct, %link);

api_account($_) for qw(CorsCo CorsNone CorsApi);
api_user($_, 'admin', 'Administrators') for qw(CorsCo CorsNone CorsApi);
api_user('CorsApi', 'reader', 'ReadOnly');
api_config_import($_) for qw(CorsCo CorsNone);
$acct{$_} = PrefsTest::psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_)
    for qw(CorsCo CorsNone CorsApi);

my ($rc, $out) = PrefsTest::prefsctl('link', 'origins', 'CorsCo', '--set', 'https://Shop.example', 'http://localhost:8080');
die "prefsctl link origins: $out\n" if $rc;
($rc, $out) = PrefsTest::prefsctl('link', 'origins', 'CorsNone', '--clear');
die "prefsctl link origins: $out\n" if $rc;

$p{$_} = link_profile('CorsCo', "$_\@example.com") for qw(main peer);
$p{none} = link_profile('CorsNone', 'none@example.com');
$link{main} = link_make('CorsCo', $p{main});
$link{none} = link_make('CorsNone', $p{none});
PrefsTest::api_prepared();

sub bearer { "Authorization: Bearer $link{$_[0]}\n" }

our $Preflight = "Access-Control-Allow-Methods: GET, POST\nAccess-Control-Allow-Headers: Authorization, Content-Type, Accept-Language\nVary: Origin";

api_blocks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: an origin of the account: its preflight is answered without a credential, its answers name it
--- openapi_skip
CORS preflights (OPTIONS) are answered before any route: no operation of the document
--- request eval
[ "OPTIONS /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences" ]
--- more_headers eval
[ "Origin: https://shop.example\nAccess-Control-Request-Method: POST\n",
  "Origin: https://shop.example\n" . main::bearer('main') ]
--- error_code eval
[ 204, 200 ]
--- response_headers eval
[ "Access-Control-Allow-Origin: https://shop.example\n$::Preflight",
  "Access-Control-Allow-Origin: https://shop.example\nVary: Origin" ]
--- no_error_log
[error]



=== TEST 2: another origin: its preflight is 403, its answers name no origin
--- openapi_skip
CORS preflights (OPTIONS) are answered before any route: no operation of the document
--- request eval
[ "OPTIONS /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences",
  "OPTIONS /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences" ]
--- more_headers eval
[ "Origin: https://evil.example\nAccess-Control-Request-Method: POST\n",
  "Origin: https://evil.example\n" . main::bearer('main'),
  "Origin: https://shop.example.evil.example\nAccess-Control-Request-Method: POST\n" ]
--- error_code eval
[ 403, 200, 403 ]
--- response_headers eval
[ "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin" ]
--- response_json eval
{ Message => 'The origin is not allowed' }
--- no_error_log
[error]



=== TEST 3: the union of the directive's origins and the account's
--- openapi_skip
CORS preflights (OPTIONS) are answered before any route: no operation of the document
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_cors_origin https://www.example.com; }
--- request eval
[ "OPTIONS /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences",
  "OPTIONS /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences",
  "OPTIONS /Profiles/v4/CorsNone/Profile/$::p{none}/Preferences",
  "OPTIONS /Profiles/v4/CorsNone/Profile/$::p{none}/Preferences" ]
--- more_headers eval
[ "Origin: https://www.example.com\nAccess-Control-Request-Method: POST\n",
  "Origin: http://localhost:8080\nAccess-Control-Request-Method: POST\n",
  "Origin: https://www.example.com\nAccess-Control-Request-Method: POST\n",
  "Origin: http://localhost:8080\nAccess-Control-Request-Method: POST\n" ]
--- error_code eval
[ 204, 204, 204, 403 ]
--- response_headers eval
[ "Access-Control-Allow-Origin: https://www.example.com\n$::Preflight",
  "Access-Control-Allow-Origin: http://localhost:8080\n$::Preflight",
  "Access-Control-Allow-Origin: https://www.example.com\n$::Preflight",
  "!Access-Control-Allow-Origin" ]
--- no_error_log
[error]



=== TEST 4: one account's origins do nothing for another, nor for a link of another account
--- openapi_skip
CORS preflights (OPTIONS) are answered before any route: no operation of the document
--- request eval
[ "OPTIONS /Profiles/v4/CorsNone/Profile/$::p{none}/Preferences",
  "GET /Profiles/v4/CorsNone/Profile/$::p{none}/Preferences",
  "OPTIONS /Profiles/v4/NoSuchCors/Profile/1/Preferences" ]
--- more_headers eval
[ "Origin: https://shop.example\nAccess-Control-Request-Method: POST\n",
  "Origin: https://shop.example\n" . main::bearer('none'),
  "Origin: https://shop.example\nAccess-Control-Request-Method: POST\n" ]
--- error_code eval
[ 403, 200, 403 ]
--- response_headers eval
[ "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin" ]
--- no_error_log
[error]



=== TEST 5: a link's refusal names the account's origin: the page can read its Message
--- request eval
[ "GET /Profiles/v4/CorsCo/Profile/$::p{peer}/Preferences",
  "GET /Profiles/v4/CorsCo/Profile/$::p{main}/Preferences" ]
--- more_headers eval
[ "Origin: https://shop.example\n" . main::bearer('main'),
  "Origin: https://shop.example\n" . main::bearer('none') ]
--- error_code eval
[ 403, 401 ]
--- response_headers eval
[ "Access-Control-Allow-Origin: https://shop.example",
  "Access-Control-Allow-Origin: https://shop.example" ]
--- response_json eval
{ Message => 'The link is not valid' }
--- no_error_log
[error]



=== TEST 6: GET Links/Origins: the account's origins, lowercased
--- request
GET /Profiles/v4/CorsCo/Links/Origins
--- more_headers eval
PrefsTest::auth('CorsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Origins => ['http://localhost:8080', 'https://shop.example'] }
--- no_error_log
[error]



=== TEST 7: PUT Links/Origins replaces them, lowercased, once each
--- request
PUT /Profiles/v4/CorsApi/Links/Origins
{"Origins": ["https://A.example", "https://a.example", "http://[::1]:8080", "https://b.example:8443"]}
--- more_headers eval
PrefsTest::auth('CorsApi', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Origins => ['http://[::1]:8080', 'https://a.example', 'https://b.example:8443'] }
--- sql eval
"SELECT string_agg(origin, ' ' ORDER BY origin) FROM prefs_link_origin WHERE account_id = $::acct{CorsApi}"
--- sql_result
http://[::1]:8080 https://a.example https://b.example:8443
--- no_error_log
[error]



=== TEST 8: PUT Links/Origins refuses what is no list of origins, and changes nothing
--- http_config
prefs_max_body 16k;
--- request eval
[ map { "PUT /Profiles/v4/CorsApi/Links/Origins\n$_" }
  '{"Origins": ["https://a.example/"]}',
  '{"Origins": ["https://a.example/path"]}',
  '{"Origins": ["ftp://a.example"]}',
  '{"Origins": ["https://a.example?x"]}',
  '{"Origins": ["https://user@a.example"]}',
  '{"Origins": ["https://a.example:123456"]}',
  '{"Origins": ["null"]}',
  '{"Origins": ["*"]}',
  '{"Origins": [" https://a.example"]}',
  '{"Origins": [7]}',
  '{"Origins": "https://a.example"}',
  '{"Origins": ["https://a.example"], "Extra": 1}',
  '{}',
  '[]',
  '{"Origins": [',
  "{\"Origins\": [\"https://\xff.example\"]}",
  '{"Origins": ["https://' . ('a' x 300) . '.example"]}',
  '{"Origins": [' . CORE::join(',', map { "\"https://h$_.example\"" } 1 .. 33) . ']}',
  '{"Origins": ["' . ('a' x 20000) . '"]}' ]
--- more_headers eval
PrefsTest::auth('CorsApi', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 18, 413 ]
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT string_agg(origin, ' ' ORDER BY origin) FROM prefs_link_origin WHERE account_id = $::acct{CorsApi}"
--- no_error_log
[error]



=== TEST 9: Links/Origins needs ProfileWrite and the account's own credential, no link; nothing changes
--- request eval
[ "PUT /Profiles/v4/CorsApi/Links/Origins\n{\"Origins\": [\"https://x.example\"]}",
  "GET /Profiles/v4/CorsApi/Links/Origins",
  "PUT /Profiles/v4/CorsCo/Links/Origins\n{\"Origins\": [\"https://x.example\"]}",
  "PUT /Profiles/v4/CorsCo/Links/Origins\n{\"Origins\": [\"https://x.example\"]}",
  "DELETE /Profiles/v4/CorsCo/Links/Origins" ]
--- more_headers eval
[ PrefsTest::auth('CorsApi', 'reader') . "Content-Type: application/json\n",
  PrefsTest::auth('CorsApi', 'reader'),
  PrefsTest::auth('CorsApi', 'admin') . "Content-Type: application/json\n",
  main::bearer('main') . "Content-Type: application/json\n",
  PrefsTest::auth('CorsCo', 'admin') ]
--- error_code eval
[ 403, 403, 401, 403, 405 ]
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT string_agg(account_id || origin, ' ' ORDER BY account_id, origin) FROM prefs_link_origin WHERE account_id IN ($::acct{CorsApi}, $::acct{CorsCo})"
--- no_error_log
[error]



=== TEST 10: preflights at clientIds that do not exist count as guesses: a flood ends throttled
--- openapi_skip
CORS preflights (OPTIONS) are answered before any route: no operation of the document
--- http_config
prefs_auth_max_failures 3;
prefs_auth_failure_delay 0;
--- request eval
[ map { "OPTIONS /Profiles/v4/NoSuchCors$_/Profile/1/Preferences" } 1 .. 5 ]
--- more_headers
Origin: https://shop.example
Access-Control-Request-Method: POST
--- error_code eval
[ 403, 403, 403, 429, 429 ]
--- response_headers eval
[ ("!Access-Control-Allow-Origin") x 5 ]
--- no_error_log
[error]
