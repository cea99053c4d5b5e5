# An example suite for an nginx that serves ngx_prefs: the one of
# docs/testing.md.  It runs under the real Test::Nginx::Socket and under the
# runner bundled with ngx_prefs, in the environment that
#
#     eval "$(prefsctl --db CONNINFO fixture create)"
#
# prints (a database of its own with account "acme", the demo configuration
# and user "tester"; `prefsctl fixture drop` removes it):
#
#     prove examples/t/
use Test::Nginx::Socket 'no_plan';
use Test::Nginx::Prefs;

# the same configuration for every block: the fixture's database and key,
# and the locations of the nginx under test
our $HttpConfig = <<'HTTP';
include $TEST_NGINX_PREFS_HTTP_CONF;
HTTP

our $Locations = <<'LOC';
location = /prefs/status { prefs_api status; }
location /Profiles/v4/ { prefs_api v4; }
location = /oauth/token { prefs_api oauth; }
LOC

our $Client = $ENV{TEST_NGINX_PREFS_CLIENT_ID};
# an address of this run's own, to find its event among the others
our $Email = sprintf 'ada.%d.%d@example.com', time, $$;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the status endpoint answers, the database reachable
--- http_config eval: $::HttpConfig
--- config eval: $::Locations
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like: ^\{"Database":\{"Reachable":true,"SchemaVersion":\d+\}
--- no_error_log
[error]
[alert]


=== TEST 2: an unsigned request is refused with 401 and a Message
--- http_config eval: $::HttpConfig
--- config eval: $::Locations
--- request eval
"GET /Profiles/v4/$::Client/Programs"
--- error_code: 401
--- response_body_like: ^\{"Message":".+"\}$
--- no_error_log
[error]
[alert]


=== TEST 3: a signed GET, localized by Accept-Language
--- http_config eval: $::HttpConfig
--- config eval: $::Locations
--- request eval
"GET /Profiles/v4/$::Client/Programs"
--- more_headers eval
Test::Nginx::Prefs::auth() . "Accept-Language: fr-FR\n"
--- error_code: 200
--- response_headers
Content-Language: fr-FR
--- response_body_like: "Lettres d'information"
--- no_error_log
[error]
[alert]


=== TEST 4: a write, then its event
--- http_config eval: $::HttpConfig
--- config eval: $::Locations
--- request eval
[ "POST /Profiles/v4/$::Client/Profile\n"
  . qq({"CustomerName":{"FirstName":"Ada"},"CustomFields":[{"Name":"FavoriteCategory","Value":"Garden"}],)
  . qq("Emails":[{"EmailAddress":"$::Email","EmailAddressType":"Personal","IsDefault":true}]}),
  "GET /Profiles/v4/$::Client/Events?eventType=contacts.email.added&limit=1000" ]
--- more_headers eval
[ Test::Nginx::Prefs::auth() . "Content-Type: application/json\n",
  Test::Nginx::Prefs::auth() ]
--- error_code eval
[201, 200]
--- response_body_like eval
[ qr/"ProfileId":\d+/, qr/"EmailAddress": ?"\Q$::Email\E"/ ]
--- no_error_log
[error]
[alert]


=== TEST 5: an OAuth bearer token works like a signature
--- http_config eval: $::HttpConfig
--- config eval: $::Locations
--- request eval
"GET /Profiles/v4/$::Client/Programs/Newsletters"
--- more_headers eval
Test::Nginx::Prefs::bearer()
--- error_code: 200
--- response_body_like: "ProgramId":"Newsletters"
--- no_error_log
[error]
[alert]
