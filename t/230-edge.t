# Consent at the edge (issue 17; docs/edge.md): in a prefs_edge location
# the visitor is the profile of a signed link token (scope "edge" or
# "preferences:read") carried in a cookie, header or argument; its
# consents, opt-ins, id and locale are variables that proxy_set_header,
# map, if and log_format use.  Each variable for a granted, denied,
# revoked, not set and unknown visitor, through a local upstream (a
# second location that echoes the headers it receives); a tampered,
# expired, revoked, other-account or wrong-scope token is an unknown
# visitor, never another profile.  Tokens are minted through the API
# (POST Profile/{id}/Links with the "edge" scope) or signed by the tests
# with the account's key, which they know.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);

our (%p, %acct, %tok, $uid, $key);

api_account('EdgeCo');
$uid = api_user('EdgeCo', 'admin', 'Administrators');
api_account('EdgeOther');
api_user('EdgeOther', 'admin', 'Administrators');
api_config_import($_) for qw(EdgeCo EdgeOther);

$acct{$_} = PrefsTest::psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_)
    for qw(EdgeCo EdgeOther);

# the accounts' link key: one the tests know, sealed with the suite's key
$key = 'edge0123456789abcdef0123456789ab';
my $top = PrefsTest::top();
my $sealed = `echo $key | $top/build/prefs-secret seal $ENV{TEST_NGINX_PREFS_KEY}`;
chomp $sealed;
die "prefs-secret seal failed\n" unless $sealed =~ /^[A-Za-z0-9+\/=]+$/;
for my $c (qw(EdgeCo EdgeOther)) {
    PrefsTest::psql("DELETE FROM prefs_link_revocation WHERE account_id = :'a'", a => $acct{$c});
    PrefsTest::psql("INSERT INTO prefs_link_key (account_id, key_id, sealed) VALUES (:'a', 1, :'s')"
                    . " ON CONFLICT (account_id, key_id) DO UPDATE SET sealed = EXCLUDED.sealed",
                    a => $acct{$c}, s => $sealed);
}

sub call {
    my ($client, $method, $path, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', $method, $path, $body);
    die "$method $path: $st $raw\n" unless $st =~ /^20/;
    return $j;
}

sub profile {
    my ($client, $email, $news, $updates) = @_;
    return call($client, 'POST', 'Profile', {
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
        Emails => [ { EmailAddress => $email, EmailAddressType => 'Personal', IsDefault => JSON::PP::true(),
                      EmailPreferences => [
                          ($news ? { FilterId => 'NewsletterEmail', PreferenceType => $news, FrequencyId => 'W' } : ()),
                          ($updates ? { FilterId => 'ProductUpdatesEmail', PreferenceType => $updates, FrequencyId => 'W' } : ()) ] } ] })
        ->{ProfileId};
}

sub consent {
    my ($client, $pid, $type, $version, $status) = @_;
    call($client, 'POST', "Consents/$pid",
         [ { ConsentType => $type, ConsentVersion => $version, ConsentStatus => $status, Locale => 'en-US' } ]);
}

# granted: Marketing granted, DataSharing denied, the newsletter opted in,
# product updates opted out, locale fr-FR; revoked: Marketing granted then
# revoked; unset: nothing chosen; gone: links revoked
$p{granted} = profile('EdgeCo', 'granted@example.com', 1, 2);
consent('EdgeCo', $p{granted}, 'Marketing', '2.0', 1);
consent('EdgeCo', $p{granted}, 'DataSharing', '1.0', 2);
$p{revoked} = profile('EdgeCo', 'revoked@example.com', 2);
consent('EdgeCo', $p{revoked}, 'Marketing', '2.0', 1);
consent('EdgeCo', $p{revoked}, 'Marketing', '2.0', 3);
$p{unset} = profile('EdgeCo', 'unset@example.com');
$p{gone} = profile('EdgeCo', 'gone@example.com', 1);
consent('EdgeCo', $p{gone}, 'Marketing', '2.0', 1);
$p{other} = profile('EdgeOther', 'other@example.com', 1);
consent('EdgeOther', $p{other}, 'Marketing', '2.0', 1);
PrefsTest::psql("UPDATE prefs_profile SET default_locale = 'fr-FR' WHERE profile_id = :'p'", p => $p{granted});

# tokens minted by the account's backend through the API, scope "edge"
$tok{$_} = call('EdgeCo', 'POST', "Profile/$p{$_}/Links", { Scopes => ['edge'], Lifetime => 3600 })->{Token}
    for qw(granted revoked unset gone);
$tok{read} = call('EdgeCo', 'POST', "Profile/$p{granted}/Links", { Scopes => ['preferences:read'] })->{Token};
$tok{unsub} = call('EdgeCo', 'POST', "Profile/$p{granted}/Links", { Scopes => ['unsubscribe:NewsletterEmail'] })->{Token};
$tok{other} = call('EdgeOther', 'POST', "Profile/$p{other}/Links", { Scopes => ['edge'] })->{Token};
call('EdgeCo', 'DELETE', "Profile/$p{gone}/Links");
PrefsTest::api_prepared();

# sign(%claims): a token signed with the accounts' key
sub sign {
    my (%c) = @_;
    my $payload = join '|', 1, $c{account} // $acct{EdgeCo}, $c{profile} // $p{granted}, $uid,
        $c{expires} // time + 3600, 1, 0, 0, join(',', @{ $c{scopes} // ['edge'] });
    my $t = 'pl1.' . encode_base64url($payload);
    return $t . '.' . encode_base64url(hmac_sha256($t, $c{key} // $key));
}

# the granted profile's claims under another profile's signature
sub tampered {
    (my $sig = sign(profile => $p{unset})) =~ s/^.*\.//;
    (my $body = sign()) =~ s/\.[^.]*$//;
    return "$body.$sig";
}

sub cookie { "Cookie: theme=dark; prefs=$_[0]; lang=en\n" }

# a genuine token, and its text under another token's signature
our $genuine = sign();
our $forged = do {
    (my $sig = sign(profile => $p{unset})) =~ s/^.*\.//;
    (my $body = $genuine) =~ s/\.[^.]*$//;
    "$body.$sig";
};

our $Echo = <<'CONF';
    location /echo {
        return 200 "m=$http_x_consent_marketing d=$http_x_consent_datasharing t=$http_x_consent_textmessaging n=$http_x_optin_news u=$http_x_optin_updates id=$http_x_profile l=$http_x_locale\n";
    }
CONF

our $Ok = <<'CONF';
    location /ok {
        return 200 "allowed\n";
    }
CONF

our $Headers = <<'CONF';
        proxy_set_header X-Consent-Marketing $prefs_consent_Marketing;
        proxy_set_header X-Consent-DataSharing $prefs_consent_DataSharing;
        proxy_set_header X-Consent-TextMessaging $prefs_consent_textmessaging;
        proxy_set_header X-Optin-News $prefs_optin_NewsletterEmail;
        proxy_set_header X-Optin-Updates $prefs_optin_ProductUpdatesEmail;
        proxy_set_header X-Profile $prefs_profile_id;
        proxy_set_header X-Locale $prefs_profile_locale;
CONF

our $App = $Echo . <<"CONF";
    location /app {
        prefs_edge EdgeCo \$cookie_prefs;
$Headers
        proxy_pass http://127.0.0.1:\$server_port/echo;
    }
CONF

api_blocks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a visitor with choices: each variable, through the upstream
--- config eval
$::App
--- request
GET /app
--- more_headers eval
main::cookie($::tok{granted})
--- error_code: 200
--- response_body eval
"m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n"
--- no_error_log
[error]



=== TEST 2: a revoked consent is Revoked: the latest record of a type counts
--- config eval
$::App
--- request
GET /app
--- more_headers eval
main::cookie($::tok{revoked})
--- error_code: 200
--- response_body eval
"m=Revoked d=NotSet t=NotSet n=0 u=0 id=$::p{revoked} l=\n"
--- no_error_log
[error]



=== TEST 3: a visitor who chose nothing: NotSet and 0, no locale
--- config eval
$::App
--- request
GET /app
--- more_headers eval
main::cookie($::tok{unset})
--- error_code: 200
--- response_body eval
"m=NotSet d=NotSet t=NotSet n=0 u=0 id=$::p{unset} l=\n"
--- no_error_log
[error]



=== TEST 4: no token, an empty one, junk: an unknown visitor, every variable empty
--- config eval
$::App
--- request eval
[ "GET /app", "GET /app", "GET /app", "GET /app", "GET /app" ]
--- more_headers eval
[ "", "Cookie: prefs=\n", main::cookie("junk"), main::cookie("pl1.junk.junk"),
  main::cookie("pl1." . ("A" x 3000) . ".x") ]
--- error_code eval
[ (200) x 5 ]
--- response_body eval
[ ("m= d= t= n= u= id= l=\n") x 5 ]
--- no_error_log
[error]



=== TEST 5: a tampered, expired, other-key or other-account token is an unknown visitor, never another profile
--- config eval
$::App
--- request eval
[ ("GET /app") x 6 ]
--- more_headers eval
[ main::cookie(main::tampered()),
  main::cookie(main::sign(expires => time - 10)),
  main::cookie(main::sign(key => 'x' x 32)),
  main::cookie($::tok{other}),
  main::cookie(main::sign(account => $::acct{EdgeOther}, profile => $::p{other})),
  main::cookie(main::sign(profile => $::p{other})) ]
--- error_code eval
[ (200) x 6 ]
--- response_body eval
[ ("m= d= t= n= u= id= l=\n") x 6 ]
--- no_error_log
[error]



=== TEST 6: a revoked token, and one without the edge or preferences:read scope, are unknown visitors
--- config eval
$::App
--- request eval
[ "GET /app", "GET /app", "GET /app" ]
--- more_headers eval
[ main::cookie($::tok{gone}), main::cookie($::tok{unsub}), main::cookie($::tok{read}) ]
--- error_code eval
[ 200, 200, 200 ]
--- response_body eval
[ "m= d= t= n= u= id= l=\n", "m= d= t= n= u= id= l=\n",
  "m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n" ]
--- no_error_log
[error]



=== TEST 7: the token from a header or an argument, as the directive names it
--- config eval
$::Echo . <<"CONF"
    location /h {
        prefs_edge EdgeCo \$http_x_prefs_session;
$::Headers
        proxy_pass http://127.0.0.1:\$server_port/echo;
    }
    location /a {
        prefs_edge EdgeCo \$arg_t;
$::Headers
        proxy_pass http://127.0.0.1:\$server_port/echo;
    }
CONF
--- request eval
[ "GET /h", "GET /a?x=1&t=$::tok{revoked}", "GET /h" ]
--- more_headers eval
[ "X-Prefs-Session: $::tok{granted}\n", main::cookie($::tok{granted}), main::cookie($::tok{granted}) ]
--- error_code eval
[ 200, 200, 200 ]
--- response_body eval
[ "m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n",
  "m=Revoked d=NotSet t=NotSet n=0 u=0 id=$::p{revoked} l=\n",
  "m= d= t= n= u= id= l=\n" ]
--- no_error_log
[error]



=== TEST 8: the variables in map, if and log_format, and a location's raw profile id argument is never trusted
--- http_config
map $prefs_consent_marketing $ads_backend {
    Granted  ads;
    default  none;
}
log_format consent '$request_uri consent=$prefs_consent_Marketing optin=$prefs_optin_NewsletterEmail profile=$prefs_profile_id';
--- config eval
$::Echo . <<"CONF"
    location /app {
        prefs_edge EdgeCo \$cookie_prefs;
        access_log logs/consent.log consent;
        if (\$prefs_optin_NewsletterEmail = 1) {
            return 200 "newsletter \$ads_backend \$prefs_profile_id\n";
        }
        return 200 "none \$ads_backend [\$prefs_profile_id]\n";
    }
CONF
--- request eval
[ "GET /app", "GET /app?profile=$::p{unset}", "GET /app?profile=$::p{granted}" ]
--- more_headers eval
[ main::cookie($::tok{granted}), main::cookie($::tok{revoked}), "" ]
--- error_code eval
[ 200, 200, 200 ]
--- response_body eval
[ "newsletter ads $::p{granted}\n", "none none [$::p{revoked}]\n", "none none []\n" ]
--- no_error_log
[error]



=== TEST 9: the log line has the consent state
--- http_config
log_format consent 'consent=$prefs_consent_Marketing optin=$prefs_optin_NewsletterEmail profile=$prefs_profile_id';
--- config eval
<<"CONF"
    location /app {
        prefs_edge EdgeCo \$cookie_prefs;
        access_log logs/consent.log consent;
        return 204;
    }
    location /log {
        alias logs/consent.log;
    }
CONF
--- request eval
[ "GET /app", "GET /app", "GET /log" ]
--- more_headers eval
[ main::cookie($::tok{granted}), "", "" ]
--- error_code eval
[ 204, 204, 200 ]
--- response_body_like eval
[ qr/^$/, qr/^$/, qr/\Aconsent=Granted optin=1 profile=$::p{granted}\nconsent=- optin=- profile=-\n/ ]
--- no_error_log
[error]



=== TEST 10: an API location's variables are the API's: prefs_profile_id is the path's there
--- config
location /Profiles/v4/ {
    prefs_api v4;
    add_header X-Profile "[$prefs_profile_id][$prefs_consent_Marketing]" always;
}
--- request eval
"GET /Profiles/v4/EdgeCo/Profile/$::p{granted}"
--- more_headers eval
main::cookie($::tok{granted}) . PrefsTest::auth('EdgeCo', 'admin')
--- error_code: 200
--- response_headers eval
"X-Profile: [$::p{granted}][]"
--- no_error_log
[error]



=== TEST 11: prefs_edge wants a clientId, a database, no API location; prefs_require_* want prefs_edge
--- config
location /x { prefs_edge "bad id" $cookie_prefs; }
--- must_die
--- error_log
takes a clientId of [A-Za-z0-9_.-] first



=== TEST 12: prefs_edge is refused in an API location
--- config
location /Profiles/v4/ { prefs_api v4; prefs_edge EdgeCo $cookie_prefs; }
--- must_die
--- error_log
"prefs_edge" is for proxied locations, not an API's



=== TEST 13: prefs_require_consent without prefs_edge, and a bad status, are refused
--- config
location /x { prefs_require_consent Marketing; return 204; }
--- must_die
--- error_log
"prefs_require_consent" and "prefs_require_optin" need "prefs_edge"



=== TEST 14: a consent status that is none
--- config
location /x { prefs_edge EdgeCo $cookie_prefs; prefs_require_consent Marketing Yes; return 204; }
--- must_die
--- error_log
invalid consent status "Yes": Granted, Denied, Revoked or NotSet



=== TEST 15: prefs_require_consent lets a granted visitor through, and answers 403 with a Message to the others
--- config eval
$::Echo . <<"CONF"
    location /app {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_require_consent Marketing;
$::Headers
        proxy_pass http://127.0.0.1:\$server_port/echo;
    }
CONF
--- request eval
[ ("GET /app") x 4, "POST /app\n{\"x\": 1}" ]
--- more_headers eval
[ main::cookie($::tok{granted}), main::cookie($::tok{revoked}), main::cookie($::tok{unset}), "",
  main::cookie($::tok{revoked}) . "Content-Type: application/json\n" ]
--- error_code eval
[ 200, 403, 403, 200, 403 ]
--- response_body eval
[ "m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n",
  qq({"Message":"This requires the consent \\"Marketing\\""}),
  qq({"Message":"This requires the consent \\"Marketing\\""}),
  "m= d= t= n= u= id= l=\n",
  qq({"Message":"This requires the consent \\"Marketing\\""}) ]
--- no_error_log
[error]



=== TEST 16: the statuses a requirement accepts, several requirements, and an opt-in
--- config eval
$::Ok . <<"CONF"
    location /sharing-echo {
        return 200 "sharing \$http_x_consent_datasharing\n";
    }
    location /sharing {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_require_consent DataSharing Denied NotSet;
        proxy_set_header X-Consent-DataSharing \$prefs_consent_DataSharing;
        proxy_pass http://127.0.0.1:\$server_port/sharing-echo;
    }
    location /news {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_require_consent Marketing Granted;
        prefs_require_optin NewsletterEmail;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
    location /updates {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_require_optin ProductUpdatesEmail;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
CONF
--- request eval
[ "GET /sharing", "GET /sharing", "GET /news", "GET /news", "GET /updates" ]
--- more_headers eval
[ main::cookie($::tok{granted}), main::cookie($::tok{unset}), main::cookie($::tok{granted}),
  main::cookie($::tok{revoked}), main::cookie($::tok{granted}) ]
--- error_code eval
[ 200, 200, 200, 403, 403 ]
--- response_body eval
[ "sharing Denied\n", "sharing NotSet\n", "allowed\n",
  qq({"Message":"This requires the consent \\"Marketing\\""}),
  qq({"Message":"This requires the opt-in \\"ProductUpdatesEmail\\""}) ]
--- no_error_log
[error]



=== TEST 17: unknown visitors per prefs_edge_unknown: allow, deny, redirect
--- config eval
$::Ok . <<"CONF"
    location /allow {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_require_consent Marketing;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
    location /deny {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_edge_unknown deny;
        prefs_require_consent Marketing;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
    location /redirect {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_edge_unknown redirect;
        prefs_edge_redirect https://prefs.example/center/;
        prefs_require_optin NewsletterEmail;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
CONF
--- request eval
[ "GET /allow", "GET /deny", "GET /redirect", "GET /deny" ]
--- more_headers eval
[ "", main::cookie(main::tampered()), "", main::cookie($::tok{granted}) ]
--- error_code eval
[ 200, 403, 302, 200 ]
--- response_headers_like eval
[ "", "", "Location: https://prefs\\.example/center/\\?c=EdgeCo&optin=NewsletterEmail", "" ]
--- response_body_like eval
[ qr/^allowed/, qr/^\{"Message":"This requires a known visitor"\}$/, qr/./, qr/^allowed/ ]
--- no_error_log
[error]



=== TEST 18: a refusal redirects to the preference-center page with the missing choice pre-selected
--- config eval
$::Ok . <<"CONF"
    location /offers {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_edge_redirect "https://prefs.example/center/?from=edge";
        prefs_require_consent Marketing;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
    location /news {
        prefs_edge EdgeCo \$cookie_prefs;
        prefs_edge_redirect /center/;
        prefs_require_optin ProductUpdatesEmail;
        proxy_pass http://127.0.0.1:\$server_port/ok;
    }
CONF
--- request eval
[ "GET /offers", "GET /news" ]
--- more_headers eval
[ main::cookie($::tok{revoked}), main::cookie($::tok{granted}) ]
--- error_code eval
[ 302, 302 ]
--- response_headers_like eval
[ "Location: https://prefs\\.example/center/\\?from=edge&c=EdgeCo&p=$::p{revoked}&consent=Marketing",
  "Location: (?:http://localhost:\\d+)?/center/\\?c=EdgeCo&p=$::p{granted}&optin=ProductUpdatesEmail" ]
--- no_error_log
[error]



=== TEST 19: prefs_edge_unknown redirect needs prefs_edge_redirect
--- config
location /x { prefs_edge EdgeCo $cookie_prefs; prefs_edge_unknown redirect; prefs_require_consent Marketing; return 204; }
--- must_die
--- error_log
"prefs_edge_unknown redirect" needs "prefs_edge_redirect"



=== TEST 20: prefs_edge of a server: its proxied locations have the visitor, its API location stays an API location
--- config eval
"prefs_edge EdgeCo \$cookie_prefs;\n" . $::Echo . <<"CONF"
    location /app {
$::Headers
        proxy_pass http://127.0.0.1:\$server_port/echo;
    }
    location /Profiles/v4/ {
        prefs_api v4;
    }
CONF
--- request eval
[ "GET /app", "GET /Profiles/v4/EdgeCo/Profile/$::p{granted}" ]
--- more_headers eval
[ main::cookie($::tok{granted}), "Authorization: Bearer $::tok{read}\n" ]
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ qr/^m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n\z/, qr/"ProfileId" ?: ?$::p{granted}\b/ ]
--- no_error_log
[error]



=== TEST 21: a worker that verified a token once still refuses its text under another signature
--- config eval
$::App
--- request eval
[ "GET /app", "GET /app", "GET /app", "GET /app" ]
--- more_headers eval
[ main::cookie($::genuine), main::cookie($::forged), main::cookie($::genuine . "x"), main::cookie($::genuine) ]
--- error_code eval
[ 200, 200, 200, 200 ]
--- response_body eval
[ "m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n", "m= d= t= n= u= id= l=\n",
  "m= d= t= n= u= id= l=\n", "m=Granted d=Denied t=NotSet n=1 u=0 id=$::p{granted} l=fr-FR\n" ]
--- no_error_log
[error]
