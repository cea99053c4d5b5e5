# Link keys (issue 15; docs/preference-center.md): rotating an account's
# link key (POST Links/Key, prefsctl link rotate) signs new links with the
# new key; links of the key before keep working until they expire; a second
# rotation retires the oldest key, whose links are 401 "expired" (no
# guesses: they are not throttled).  And links made by
# prefsctl link create, which signs with the module's own code through
# prefs-secret: its token works on its profile and scopes only, and not
# for another account or profile.  Reaching every worker within a second:
# t/221-links-revocation.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use LinkTest qw(link_profile link_make);
use PrefsOpenAPI;
use JSON::PP;
use MIME::Base64 qw(decode_base64url);

our (%p, %acct, %link, %made, $other_p);

api_account($_) for qw(KeyCo KeyOther KeyTurn KeyCtl);
api_user($_, 'admin', 'Administrators') for qw(KeyCo KeyOther KeyTurn KeyCtl);
api_user('KeyTurn', 'reader', 'ReadOnly');
api_config_import($_) for qw(KeyCo KeyOther KeyCtl);
$acct{$_} = PrefsTest::psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_)
    for qw(KeyCo KeyOther KeyTurn KeyCtl);
PrefsTest::psql("DELETE FROM prefs_link_key WHERE account_id IN (:a1, :a2, :a3, :a4)",
                a1 => $acct{KeyCo}, a2 => $acct{KeyOther}, a3 => $acct{KeyTurn}, a4 => $acct{KeyCtl});

sub rotate_api {
    my ($client) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Links/Key');
    die "rotating: $st $raw\n" unless $st == 201;
    return $j;
}

sub ctl {
    my ($rc, $out) = PrefsTest::prefsctl(@_);
    die "prefsctl @_: $rc $out\n" if $rc;
    return decode_json($out);
}

# the key a token names
sub key_of { (split /\|/, decode_base64url((split /\./, $_[0])[1]))[5] }

$p{$_} = link_profile('KeyCo', "$_\@example.com") for qw(main peer);
$other_p = link_profile('KeyOther', 'other@example.com');
$p{ctl} = link_profile('KeyCtl', 'ctl@example.com');

# KeyCo: a link of key 1; a rotation through the API; a link of key 2; a
# rotation through prefsctl; a link of key 3
$link{k1} = link_make('KeyCo', $p{main});
$made{first} = rotate_api('KeyCo');
$link{k2} = link_make('KeyCo', $p{main});
$made{second} = ctl('link', 'rotate', 'KeyCo');
$link{k3} = link_make('KeyCo', $p{main});

# KeyOther: one rotation; the link before it keeps working
$link{o1} = link_make('KeyOther', $other_p);
rotate_api('KeyOther');
$link{o2} = link_make('KeyOther', $other_p);

# prefsctl link create: on KeyCtl, whose first link prefsctl makes (and so
# its first key), then on KeyCo, signed with KeyCo's newest key
$made{ctl} = ctl('link', 'create', 'KeyCtl', $p{ctl}, '--scope', 'preferences:read', '--scope', 'unsubscribe:NewsletterEmail',
                 '--lifetime', 3600, '--page', 'https://prefs.example/center/', '--api', 'https://api.example/Profiles/v4');
$made{ctl_co} = ctl('link', 'create', 'KeyCo', $p{peer}, '--user', 'admin');
$link{ctl} = $made{ctl}{Token};
$link{ctl_co} = $made{ctl_co}{Token};
PrefsTest::api_prepared();

sub bearer { "Authorization: Bearer $link{$_[0]}\n" }

api_blocks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: the rotations answered the new key and the one before; links name their key
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like eval
$::made{first}{KeyId} == 2 && $::made{first}{PreviousKeyId} == 1
&& $::made{second}{KeyId} == 3 && $::made{second}{PreviousKeyId} == 2
&& $::made{second}{ClientId} eq 'KeyCo'
&& main::key_of($::link{k1}) == 1 && main::key_of($::link{k2}) == 2 && main::key_of($::link{k3}) == 3
&& main::key_of($::link{ctl_co}) == 3 && main::key_of($::link{ctl}) == 1
? qr/./ : qr/^the keys are not as expected$/
--- no_error_log
[error]



=== TEST 2: after two rotations the account keeps its two newest keys
--- request
GET /prefs/status
--- error_code: 200
--- sql eval
"SELECT string_agg(key_id::text, ',' ORDER BY key_id) FROM prefs_link_key WHERE account_id = $::acct{KeyCo}"
--- sql_result
2,3
--- no_error_log
[error]



=== TEST 3: a link of the newest key works
--- request eval
"GET /Profiles/v4/KeyCo/Profile/$::p{main}/Preferences"
--- more_headers eval
main::bearer('k3')
--- error_code: 200
--- no_error_log
[error]



=== TEST 4: a link of the key before keeps working after a rotation
--- request eval
[ "GET /Profiles/v4/KeyCo/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/KeyOther/Profile/$::other_p/Preferences" ]
--- more_headers eval
[ main::bearer('k2'), main::bearer('o1') ]
--- error_code eval
[ 200, 200 ]
--- no_error_log
[error]



=== TEST 5: a second rotation retires the oldest key: its links are 401, expired, and are no guesses
--- http_config
prefs_auth_max_failures 3;
--- request eval
[ ("GET /Profiles/v4/KeyCo/Profile/$::p{main}/Preferences") x 5 ]
--- more_headers eval
main::bearer('k1')
--- error_code eval
[ (401) x 5 ]
--- response_json eval
{ Message => 'The link has expired' }
--- no_error_log
[error]



=== TEST 6: a link of the key made by the rotation works on its account only
--- request eval
[ "GET /Profiles/v4/KeyOther/Profile/$::other_p/Preferences",
  "GET /Profiles/v4/KeyCo/Profile/$::other_p/Preferences" ]
--- more_headers eval
[ main::bearer('o2'), main::bearer('o2') ]
--- error_code eval
[ 200, 401 ]
--- no_error_log
[error]



=== TEST 7: POST Links/Key answers the new key and the key before it
--- request
POST /Profiles/v4/KeyTurn/Links/Key
--- more_headers eval
PrefsTest::auth('KeyTurn', 'admin')
--- error_code: 201
--- response_json eval
{ KeyId => qr/^[1-9]\d*$/, PreviousKeyId => PrefsTest::satisfies(sub { !defined $_[0] || $_[0] =~ /^[1-9]\d*$/ }, 'null or a key') }
--- sql eval
"SELECT count(*) <= 2 AND max(key_id) = :'KeyId'::int FROM prefs_link_key WHERE account_id = $::acct{KeyTurn}"
--- sql_result
t
--- no_error_log
[error]



=== TEST 8: POST Links/Key takes an empty body, or {}
--- request
POST /Profiles/v4/KeyTurn/Links/Key
{}
--- more_headers eval
PrefsTest::auth('KeyTurn', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ KeyId => qr/^[1-9]\d*$/, PreviousKeyId => PrefsTest::present() }
--- no_error_log
[error]



=== TEST 9: POST Links/Key refuses bodies, and changes nothing
--- http_config
prefs_max_body 16k;
--- request eval
[ map { "POST /Profiles/v4/KeyTurn/Links/Key\n$_" }
  '{"KeyId": 7}', '[]', '{"a": ', "{\"\xff\": 1}", '"x"', '{"KeyId": "' . ('x' x 20000) . '"}' ]
--- more_headers eval
PrefsTest::auth('KeyTurn', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 400, 400, 400, 400, 400, 413 ]
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT string_agg(key_id || ':' || sealed, ',' ORDER BY key_id) FROM prefs_link_key WHERE account_id = $::acct{KeyTurn}"
--- no_error_log
[error]



=== TEST 10: POST Links/Key needs ProfileWrite, a credential of the account, no link; nothing changes
--- request eval
[ "POST /Profiles/v4/KeyTurn/Links/Key",
  "POST /Profiles/v4/KeyTurn/Links/Key",
  "POST /Profiles/v4/KeyCo/Links/Key",
  "GET /Profiles/v4/KeyTurn/Links/Key" ]
--- more_headers eval
[ PrefsTest::auth('KeyTurn', 'reader'),
  "Authorization: Bearer $::link{k3}\n",
  "Authorization: Bearer $::link{k3}\n",
  PrefsTest::auth('KeyTurn', 'admin') ]
--- error_code eval
[ 403, 401, 403, 405 ]
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
"SELECT string_agg(account_id || ':' || key_id || ':' || sealed, ',' ORDER BY account_id, key_id) FROM prefs_link_key WHERE account_id IN ($::acct{KeyTurn}, $::acct{KeyCo})"
--- no_error_log
[error]



=== TEST 11: prefsctl link create: the token, the page's URL and the one-click URLs
--- request
GET /prefs/status
--- error_code: 200
--- response_body_like eval
my $m = $::made{ctl};
my $t = quotemeta $m->{Token};
$m->{ClientId} eq 'KeyCtl' && $m->{ProfileId} == $::p{ctl}
&& $m->{Token} =~ /^pl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/
&& "@{ $m->{Scopes} }" eq 'preferences:read unsubscribe:NewsletterEmail'
&& $m->{Url} =~ m{^https://prefs\.example/center/\?c=KeyCtl&p=$::p{ctl}#t=$t$}
&& @{ $m->{UnsubscribeUrls} } == 1
&& $m->{UnsubscribeUrls}[0]{FilterId} eq 'NewsletterEmail'
&& $m->{UnsubscribeUrls}[0]{Url} =~ m{^https://api\.example/Profiles/v4/KeyCtl/Profile/$::p{ctl}/Unsubscribe/NewsletterEmail/$t$}
&& $m->{ExpiresAt} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
&& "@{ $::made{ctl_co}{Scopes} }" eq 'preferences:read preferences:write'
? qr/./ : qr/^prefsctl link create did not answer as expected$/
--- no_error_log
[error]



=== TEST 12: a link of prefsctl link create works with its scopes, on its profile
--- request eval
[ "GET /Profiles/v4/KeyCtl/Profile/$::p{ctl}/Preferences",
  "GET /Profiles/v4/KeyCtl/Configuration/Preference",
  "GET /Profiles/v4/KeyCo/Profile/$::p{peer}/Preferences",
  "POST /Profiles/v4/KeyCo/Profile/$::p{peer}/Preferences
{\"FilterId\": \"NewsletterEmail\", \"PreferenceType\": 1}" ]
--- more_headers eval
[ main::bearer('ctl'), main::bearer('ctl'), main::bearer('ctl_co'),
  main::bearer('ctl_co') . "Content-Type: application/json\n" ]
--- error_code eval
[ 200, 200, 200, 200 ]
--- no_error_log
[error]



=== TEST 13: a link of prefsctl link create: not for another profile, account or scope
--- request eval
[ "GET /Profiles/v4/KeyCtl/Profile/$::p{main}/Preferences",
  "GET /Profiles/v4/KeyCo/Profile/$::p{ctl}/Preferences",
  "POST /Profiles/v4/KeyCtl/Profile/$::p{ctl}/Preferences
{\"FilterId\": \"NewsletterEmail\", \"PreferenceType\": 1}",
  "GET /Profiles/v4/KeyCtl/Profile/$::p{ctl}" ]
--- more_headers eval
[ main::bearer('ctl'), main::bearer('ctl'),
  main::bearer('ctl') . "Content-Type: application/json\n", main::bearer('ctl') ]
--- error_code eval
[ 403, 401, 403, 200 ]
--- response_json eval
{ ProfileId => $::p{ctl} }
--- no_error_log
[error]



=== TEST 14: the one-click URL of prefsctl link create opts the profile out
--- request eval
"POST /Profiles/v4/KeyCtl/Profile/$::p{ctl}/Unsubscribe/NewsletterEmail/$::link{ctl}
List-Unsubscribe=One-Click"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- sql eval
"SELECT preference_type FROM prefs_preference WHERE account_id = $::acct{KeyCtl} AND profile_id = $::p{ctl} AND filter_id = 'NewsletterEmail' AND NOT is_archived"
--- sql_result
2
--- no_error_log
[error]
