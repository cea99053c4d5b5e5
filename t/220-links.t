# Per-profile signed links (issue 15; docs/preference-center.md): POST
# Profile/{id}/Links makes a token and URLs; a link grants exactly its
# profile and scopes on the preference-center routes (every other route,
# another profile, a scope it lacks: 403); a tampered, expired, revoked,
# unknown-key or other-account link is 401 with a Message; failures from a
# source are throttled (429); one-click unsubscribe (RFC 8058) opts out
# once, with its event; CORS preflights are answered by the module.  The
# tests sign links themselves with a key of their own, sealed into the
# account as the module seals its keys.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use LinkTest qw(link_profile link_make);
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);

our (%p, %acct, $uid, $key, $e0, $other_p, $rev_p);

api_account('LinkCo');
$uid = api_user('LinkCo', 'admin', 'Administrators');
api_account('LinkOther');
api_user('LinkOther', 'admin', 'Administrators');
api_account('LinkGone');
api_user('LinkGone', 'admin', 'Administrators');
api_config_import($_) for qw(LinkCo LinkOther LinkGone);

$acct{$_} = PrefsTest::psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_)
    for qw(LinkCo LinkOther LinkGone);

# the accounts' link key: one the tests know, sealed with the suite's key
$key = '0123456789abcdef0123456789abcdef';
my $top = PrefsTest::top();
my $sealed = `echo $key | $top/build/prefs-secret seal $ENV{TEST_NGINX_PREFS_KEY}`;
chomp $sealed;
die "prefs-secret seal failed\n" unless $sealed =~ /^[A-Za-z0-9+\/=]+$/;
for my $c (qw(LinkCo LinkOther LinkGone)) {
    PrefsTest::psql("DELETE FROM prefs_link_revocation WHERE account_id = :'a'", a => $acct{$c});
    PrefsTest::psql("INSERT INTO prefs_link_key (account_id, key_id, sealed) VALUES (:'a', 1, :'s')"
                    . " ON CONFLICT (account_id, key_id) DO UPDATE SET sealed = EXCLUDED.sealed",
                    a => $acct{$c}, s => $sealed);
}

$p{$_} = link_profile('LinkCo', "$_\@example.com") for qw(main peer unsub revoked);
$other_p = link_profile('LinkOther', 'other@example.com');
$rev_p = link_profile('LinkGone', 'gone@example.com');

# revoked: the profile's links once, the account LinkGone's once
my ($st) = PrefsTest::api_request('LinkCo', 'admin', 'DELETE', "Profile/$p{revoked}/Links");
die "revoking: $st\n" unless $st == 204;
($st) = PrefsTest::api_request('LinkGone', 'admin', 'DELETE', 'Links');
die "revoking: $st\n" unless $st == 204;
PrefsTest::api_prepared();

$e0 = PrefsTest::psql_value('SELECT coalesce(max(event_id), 0) FROM prefs_event');

# sign_link(%claims): a link signed with the tests' key
sub sign_link {
    my (%c) = @_;
    my $payload = join '|', 1, $c{account} // $acct{LinkCo}, $c{profile} // $p{main}, $uid,
        $c{expires} // time + 3600, $c{key_id} // 1, $c{agen} // 0, $c{pgen} // 0,
        join(',', @{ $c{scopes} // ['preferences:read'] });
    my $t = 'pl1.' . encode_base64url($payload);
    return $t . '.' . encode_base64url(hmac_sha256($t, $c{key} // $key));
}

sub bearer { "Authorization: Bearer " . main::sign_link(@_) . "\n" }

# the same payload under the first link's signature
sub tampered {
    my $good = main::sign_link();
    my $forged = main::sign_link(profile => $p{peer});
    (my $sig = $good) =~ s/^.*\.//;
    (my $body = $forged) =~ s/\.[^.]*$//;
    return "Authorization: Bearer $body.$sig\n";
}

api_blocks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: POST Links answers a token, the page's URL and the one-click URLs
--- http_config
prefs_public_url https://api.example;
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_page https://prefs.example/center/; }
--- request eval
"POST /Profiles/v4/LinkCo/Profile/$::p{main}/Links
" . '{"Scopes": ["preferences:read", "preferences:write", "unsubscribe:NewsletterEmail"], "Lifetime": 3600}'
--- more_headers eval
PrefsTest::auth('LinkCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ Token => qr/^pl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/,
  ExpiresAt => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  Scopes => ['preferences:read', 'preferences:write', 'unsubscribe:NewsletterEmail'],
  Url => qr{^https://prefs\.example/center/\?c=LinkCo&p=$::p{main}#t=pl1\.},
  UnsubscribeUrls => [ { FilterId => 'NewsletterEmail',
                         Url => qr{^https://api\.example/Profiles/v4/LinkCo/Profile/$::p{main}/Unsubscribe/NewsletterEmail/pl1\.[^/]+$} } ] }
--- no_error_log
[error]



=== TEST 2: a link made by the API is the tests' own format, under the account's key
--- request eval
"POST /Profiles/v4/LinkCo/Profile/$::p{main}/Links
" . '{"Scopes": ["preferences:read"]}'
--- more_headers eval
PrefsTest::auth('LinkCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ Token => PrefsTest::satisfies(sub {
      my ($payload, $sig) = $_[0] =~ /^pl1\.([^.]+)\.([^.]+)$/ or return 0;
      my $t = "pl1.$payload";
      return 0 unless MIME::Base64::encode_base64url(Digest::SHA::hmac_sha256($t, $::key)) eq $sig;
      my @f = split /\|/, MIME::Base64::decode_base64url($payload);
      my $days = ($f[4] - time) / 86400;
      return "@f[0..3,5..8]" eq "1 $::acct{LinkCo} $::p{main} $::uid 1 0 0 preferences:read"
             && $days > 29.9 && $days <= 30;
  }, 'signed with the key: version, account, profile, user, key, generations, scopes, 30 days') }
--- no_error_log
[error]



=== TEST 3: POST Links refuses bad bodies and other profiles, and changes nothing
--- request eval
[ map { "POST /Profiles/v4/LinkCo/Profile/$_->[0]/Links\n$_->[1]" }
  [ $::p{main}, '{"Scopes": ["admin"]}' ],
  [ $::p{main}, '{"Scopes": ["Preferences:Read"]}' ],
  [ $::p{main}, '{"Scopes": ["unsubscribe:a/b"]}' ],
  [ $::p{main}, '{"Scopes": []}' ],
  [ $::p{main}, '{"Scopes": "preferences:read"}' ],
  [ $::p{main}, '{"Scopes": [1]}' ],
  [ $::p{main}, '{"Scopes": ["preferences:read"], "Lifetime": 7776001}' ],
  [ $::p{main}, '{"Scopes": ["preferences:read"], "Lifetime": 59}' ],
  [ $::p{main}, '{"Scopes": ["preferences:read"], "Lifetime": "3600"}' ],
  [ $::p{main}, '{"Scopes": ["preferences:read"], "Profile": 1}' ],
  [ $::p{main}, '{"Scopes": ["preferences:read"' ],
  [ $::p{main}, "{\"Scopes\": [\"unsubscribe:\xff\"]}" ],
  [ $::p{main}, '{"Scopes": [' . CORE::join(',', map { "\"unsubscribe:F$_\"" } 1 .. 9) . ']}' ],
  [ $::other_p, '{"Scopes": ["preferences:read"]}' ],
  [ '0042', '{"Scopes": ["preferences:read"]}' ],
  [ '1%3B1', '{"Scopes": ["preferences:read"]}' ] ]
--- more_headers eval
PrefsTest::auth('LinkCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 13, 404, 404, 404 ]
--- response_body_like eval
[ (qr/"Message":"[^"]+"/) x 16 ]
--- sql_unchanged
SELECT count(*), max(sealed), (SELECT count(*) FROM prefs_link_revocation r WHERE r.account_id = k.account_id) FROM prefs_link_key k WHERE k.account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'LinkCo') GROUP BY k.account_id
--- no_error_log
[error]



=== TEST 4: a read link reads its profile's preferences, the profile and the configuration
--- request eval
[ "GET /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/LinkCo/Profile/$::p{main}",
  "GET /Profiles/v4/LinkCo/Consents/$::p{main}",
  "GET /Profiles/v4/LinkCo/Configuration/Preference" ]
--- more_headers eval
main::bearer()
--- error_code eval
[ 200, 200, 200, 200 ]
--- no_error_log
[error]



=== TEST 5: every route outside the link's profile and scopes is 403, and nothing changes
--- request eval
[ "POST /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences\n{\"FilterId\": \"NewsletterEmail\", \"PreferenceType\": 2}",
  "POST /Profiles/v4/LinkCo/Consents/$::p{main}\n{}",
  "GET /Profiles/v4/LinkCo/Profile/$::p{peer}",
  "GET /Profiles/v4/LinkCo/Profile/$::p{peer}/Preferences",
  "GET /Profiles/v4/LinkCo/Profile/0$::p{main}",
  "GET /Profiles/v4/LinkCo/Profile/$::other_p",
  "POST /Profiles/v4/LinkCo/Profile/$::p{main}/Links\n{\"Scopes\": [\"preferences:write\"]}",
  "DELETE /Profiles/v4/LinkCo/Profile/$::p{main}/Links",
  "DELETE /Profiles/v4/LinkCo/Links",
  "POST /Profiles/v4/LinkCo/Profile/$::p{main}/Unsubscribe/NewsletterEmail/x\nList-Unsubscribe=One-Click",
  "POST /Profiles/v4/LinkCo/Profile\n{}",
  "PATCH /Profiles/v4/LinkCo/Profile/$::p{main}\n[]",
  "DELETE /Profiles/v4/LinkCo/Profile/$::p{main}",
  "GET /Profiles/v4/LinkCo/Profile/$::p{main}/Group",
  "GET /Profiles/v4/LinkCo/Profile/Email?EmailAddress=main\@example.com",
  "GET /Profiles/v4/LinkCo/Users",
  "GET /Profiles/v4/LinkCo/Events",
  "GET /Profiles/v4/LinkCo/Webhooks/Subscriptions",
  "GET /Profiles/v4/LinkCo/Programs",
  "POST /Profiles/v4/LinkCo/Programs\n{}",
  "GET /Profiles/v4/LinkCo/Configuration/Profile",
  "GET /Profiles/v4/LinkCo/NoSuchRoute" ]
--- more_headers eval
main::bearer() . "Content-Type: application/json\n"
--- error_code eval
[ (403) x 9, 401, (403) x 12 ]
--- response_body_like eval
[ (qr/"Message":"[^"]+"/) x 22 ]
--- sql_unchanged
SELECT count(*) FROM prefs_event WHERE profile_id IN (SELECT profile_id FROM prefs_profile WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'LinkCo'))
--- no_error_log
[error]



=== TEST 6: a tampered, expired, unknown-key, wrongly signed or malformed link is 401
--- request eval
[ ("GET /Profiles/v4/LinkCo/Profile/$::p{peer}/Preferences") x 6 ]
--- more_headers eval
[ main::tampered(),
  main::bearer(profile => $::p{peer}, expires => time - 1),
  main::bearer(profile => $::p{peer}, key_id => 2),
  main::bearer(profile => $::p{peer}, key => 'x' x 32),
  "Authorization: Bearer pl1.AAAA.bbbb\n",
  main::bearer(profile => $::p{peer}, scopes => ['preferences:read', 'root']) ]
--- error_code eval
[ (401) x 6 ]
--- response_body_like eval
[ qr/^\{"Message":"The link is not valid"\}/, qr/^\{"Message":"The link has expired"\}/,
  (qr/^\{"Message":"The link is not valid"\}/) x 4 ]
--- no_error_log
[error]



=== TEST 7: a link is bound to its account: another account's, or at another clientId, is 401
--- request eval
[ "GET /Profiles/v4/LinkCo/Profile/$::other_p/Preferences",
  "GET /Profiles/v4/LinkOther/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/NoSuchClient/Profile/$::p{main}/Preferences" ]
--- more_headers eval
[ main::bearer(account => $::acct{LinkOther}, profile => $::other_p),
  main::bearer(),
  main::bearer() ]
--- error_code eval
[ 401, 401, 404 ]
--- response_body_like eval
[ qr/"Message":"The link is not valid"/, qr/"Message":"The link is not valid"/,
  qr/"Message":"No account has the clientId/ ]
--- no_error_log
[error]



=== TEST 8: revoked links: a profile's, an account's; links made since work
--- request eval
[ "GET /Profiles/v4/LinkCo/Profile/$::p{revoked}/Preferences",
  "GET /Profiles/v4/LinkCo/Profile/$::p{revoked}/Preferences",
  "GET /Profiles/v4/LinkGone/Profile/$::rev_p/Preferences",
  "GET /Profiles/v4/LinkGone/Profile/$::rev_p/Preferences" ]
--- more_headers eval
[ main::bearer(profile => $::p{revoked}),
  main::bearer(profile => $::p{revoked}, pgen => 1),
  main::bearer(account => $::acct{LinkGone}, profile => $::rev_p),
  main::bearer(account => $::acct{LinkGone}, profile => $::rev_p, agen => 1) ]
--- error_code eval
[ 401, 200, 401, 200 ]
--- response_body_like eval
[ qr/"Message":"The link has been revoked"/, qr/\{/, qr/"Message":"The link has been revoked"/, qr/\{/ ]
--- no_error_log
[error]



=== TEST 9: failures from a source are throttled: 429 with Retry-After; a good link still works
--- http_config
prefs_auth_max_failures 3;
--- request eval
[ ("GET /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences") x 5 ]
--- more_headers eval
[ (main::tampered()) x 4, main::bearer() ]
--- error_code eval
[ 401, 401, 429, 429, 200 ]
--- response_body_like eval
[ (qr/"Message":"The link is not valid"/) x 2, (qr/"Message":"Too many failed attempts/) x 2, qr/\{/ ]
--- no_error_log
[error]



=== TEST 10: one-click unsubscribe opts out once, with one event; again changes nothing
--- request eval
[ ("POST /Profiles/v4/LinkCo/Profile/$::p{unsub}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=One-Click") x 2 ]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[ 200, 200 ]
--- response_body eval
[ '', '' ]
--- sql eval
"SELECT string_agg(e.event_type || ' ' || coalesce(e.data->>'PreferenceType',
                                                 e.data#>>'{Emails,0,EmailPreferences,0,PreferenceType}'), ', '
                   ORDER BY e.event_id)
   FROM prefs_event e WHERE e.profile_id = $::p{unsub} AND e.event_id > $::e0"
--- sql_result
preference.added 2, profile.updated 2
--- no_error_log
[error]



=== TEST 11: one-click refusals: a filter the link lacks is 403, a body that is not RFC 8058's 400
--- request eval
[ "POST /Profiles/v4/LinkCo/Profile/$::p{unsub}/Unsubscribe/NewsletterText/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=One-Click",
  "POST /Profiles/v4/LinkCo/Profile/$::p{peer}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=One-Click",
  "POST /Profiles/v4/LinkCo/Profile/$::p{unsub}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=Yes" ]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[ 403, 403, 400 ]
--- response_body_like eval
[ qr/"Message":"The link does not grant this request"/, qr/"Message":"The link does not grant this request"/,
  qr/"Message":"The body must be List-Unsubscribe=One-Click"/ ]
--- sql_unchanged
SELECT count(*) FROM prefs_event WHERE profile_id IN (SELECT profile_id FROM prefs_profile WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'LinkCo'))
--- no_error_log
[error]



=== TEST 12: GET of the one-click URL shows the page with the filter chosen (303, the token in the fragment)
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_page /preference-center/; }
--- request eval
"GET /Profiles/v4/LinkCo/Profile/$::p{unsub}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['unsubscribe:NewsletterEmail'])
--- error_code: 303
--- response_headers_like eval
"Location: ^/preference-center/\\?c=LinkCo&p=$::p{unsub}&f=NewsletterEmail#t=pl1\\.[^.]+\\.[A-Za-z0-9_-]{43}\$"
--- no_error_log
[error]



=== TEST 13: CORS: an allowed origin's preflight is answered without a credential; its answers name it
--- config
location /Profiles/v4/ {
    prefs_api v4;
    prefs_link_cors_origin https://www.example.com;
    prefs_link_cors_origin https://shop.example.com;
}
--- request eval
[ "OPTIONS /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences" ]
--- more_headers eval
"Origin: https://shop.example.com\nAccess-Control-Request-Method: POST\n" . main::bearer()
--- error_code eval
[ 204, 200 ]
--- response_headers eval
[ "Access-Control-Allow-Origin: https://shop.example.com\nAccess-Control-Allow-Methods: GET, POST\nAccess-Control-Allow-Headers: Authorization, Content-Type, Accept-Language\nVary: Origin",
  "Access-Control-Allow-Origin: https://shop.example.com\nVary: Origin" ]
--- no_error_log
[error]



=== TEST 14: CORS: another origin's preflight is 403, and its answers name no origin
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_cors_origin https://www.example.com; }
--- request eval
[ "OPTIONS /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences" ]
--- more_headers eval
"Origin: https://evil.example\nAccess-Control-Request-Method: POST\n" . main::bearer()
--- error_code eval
[ 403, 200 ]
--- response_headers eval
[ "!Access-Control-Allow-Origin", "!Access-Control-Allow-Origin" ]
--- no_error_log
[error]



=== TEST 15: without prefs_link_cors_origin, nor origins of the account, a preflight is 403 and names no origin
--- request eval
"OPTIONS /Profiles/v4/LinkCo/Profile/$::p{main}/Preferences"
--- more_headers
Origin: https://www.example.com
Access-Control-Request-Method: POST
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- no_error_log
[error]



=== TEST 16: revoking refuses hostile ids and other accounts' profiles, and changes nothing
--- request eval
[ "DELETE /Profiles/v4/LinkCo/Profile/$::other_p/Links",
  "DELETE /Profiles/v4/LinkCo/Profile/0/Links",
  "DELETE /Profiles/v4/LinkCo/Profile/abc/Links",
  "DELETE /Profiles/v4/LinkCo/Profile/99999999999999999999/Links",
  "DELETE /Profiles/v4/LinkCo/Profile/1%27%3B--/Links" ]
--- more_headers eval
PrefsTest::auth('LinkCo', 'admin')
--- error_code eval
[ 404, 404, 404, 404, 404 ]
--- response_body_like eval
[ (qr/"Message":"No such profile in this account"/) x 5 ]
--- sql_unchanged
SELECT count(*), coalesce(sum(generation), 0) FROM prefs_link_revocation WHERE account_id IN (SELECT account_id FROM prefs_account WHERE client_id IN ('LinkCo', 'LinkOther'))
--- no_error_log
[error]



=== TEST 17: links at clientIds that do not exist count as guesses: the source is throttled, without a query
--- http_config
prefs_auth_max_failures 3;
--- request eval
[ map { "GET /Profiles/v4/NoSuchClient$_/Configuration/Preference" } 1 .. 4 ]
--- more_headers eval
main::bearer()
--- error_code eval
[ 404, 404, 404, 429 ]
--- response_body_like eval
[ (qr/"Message":"No account has the clientId/) x 3, qr/"Message":"Too many failed attempts/ ]
--- no_error_log
[error]



=== TEST 18: GET of a one-click URL escapes the filter it names into the page's query
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_page https://prefs.example/center/?brand=acme; }
--- request eval
"GET /Profiles/v4/LinkCo/Profile/$::p{unsub}/Unsubscribe/A%26p%3D1%23x/"
   . main::sign_link(profile => $::p{unsub}, scopes => ['preferences:write'])
--- error_code: 303
--- response_headers_like eval
"Location: ^https://prefs\\.example/center/\\?brand=acme&c=LinkCo&p=$::p{unsub}&f=A%26p(=|%3D)1%23x#t=pl1\\.[^.]+\\.[A-Za-z0-9_-]{43}\$"
--- no_error_log
[error]



=== TEST 19: prefs_link_page must be a URL or a path that a header can carry
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_page 'https://x.example/a b'; }
--- must_die
--- error_log
must be a URL without spaces, quotes, "#" or control characters
--- no_error_log
[error]



=== TEST 20: prefs_link_page is refused when it is no http or https URL
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_page javascript:alert(1); }
--- must_die
--- error_log
must be an http or https URL, or a path
--- no_error_log
[error]



=== TEST 21: prefs_link_cors_origin is an origin: no path
--- config
location /Profiles/v4/ { prefs_api v4; prefs_link_cors_origin https://www.example.com/page; }
--- must_die
--- error_log
must be only a scheme, a host and a port, without a path
--- no_error_log
[error]



=== TEST 22: oversized and non-JSON bodies are refused before anything is made
--- http_config
prefs_max_body 1k;
--- request eval
[ "POST /Profiles/v4/LinkCo/Profile/$::p{main}/Links\n{\"Scopes\": [\"preferences:read\"], \"x\": \"" . ('a' x 2000) . "\"}",
  "POST /Profiles/v4/LinkCo/Profile/$::p{main}/Links\nScopes=preferences:read" ]
--- more_headers eval
[ PrefsTest::auth('LinkCo', 'admin') . "Content-Type: application/json\n",
  PrefsTest::auth('LinkCo', 'admin') . "Content-Type: application/x-www-form-urlencoded\n" ]
--- error_code eval
[ 413, 415 ]
--- response_body_like eval
[ qr/"Message":"The body is larger than 1024 bytes"/, qr/"Message":"[^"]+"/ ]
--- sql_unchanged
SELECT count(*), max(sealed) FROM prefs_link_key WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'LinkCo')
--- no_error_log
[error]



=== TEST 23: one-click: an oversized body is 413, one that is not UTF-8 is 400; nothing changes
--- http_config
prefs_max_body 1k;
--- request eval
[ "POST /Profiles/v4/LinkCo/Profile/$::p{peer}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{peer}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=One-Click" . ('&x=1' x 400),
  "POST /Profiles/v4/LinkCo/Profile/$::p{peer}/Unsubscribe/NewsletterEmail/"
   . main::sign_link(profile => $::p{peer}, scopes => ['unsubscribe:NewsletterEmail'])
   . "\nList-Unsubscribe=One-Click\xff" ]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[ 413, 400 ]
--- response_body_like eval
[ qr/"Message":"The body is larger than 1024 bytes"/, qr/"Message":"The body must be List-Unsubscribe=One-Click"/ ]
--- sql_unchanged
SELECT count(*) FROM prefs_event WHERE profile_id IN (SELECT profile_id FROM prefs_profile WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'LinkCo'))
--- no_error_log
[error]
