# Query strings are decoded once, for every route, by the router
# (src/lib/prefs_query.c): percent-decoding on every route (a locale of the
# Configuration API included), a bad escape, a control byte or bytes that
# are not UTF-8 refused with 400 before anything runs, a name given twice
# in any letter case refused with 400 naming it, names matched without
# regard to case, and messages that quote the request escaped.  Also
# "Accept-Language: null": no preference, as without the header.  And
# names as they enter (user names, configuration keys): taken in NFC,
# refused with a format character (U+200B, U+202E, ...) or a space that is
# not U+0020 (user names: no white space at all).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP ();

my ($T, $F) = (JSON::PP::true(), JSON::PP::false());

api_account('QueryCo');
api_user('QueryCo', 'admin', 'Administrators');
api_user('QueryCo', 'jane', 'ReadOnly');
api_user('QueryCo', 'john', 'ReadOnly');
our $jane_id = psql_value("SELECT user_id FROM prefs_user JOIN prefs_account USING (account_id)"
                          . " WHERE client_id = 'QueryCo' AND user_name = 'jane'");
our $users = "SELECT count(*) || ' ' || string_agg(user_name, ',' ORDER BY user_id) FROM prefs_user"
           . " JOIN prefs_account USING (account_id) WHERE client_id = 'QueryCo'";
our $tags = "SELECT count(*) || ' ' || coalesce(string_agg(key, ',' ORDER BY item_id), '') FROM prefs_config_item"
          . " JOIN prefs_account USING (account_id) WHERE client_id = 'QueryCo' AND kind = 'Tag'";
PrefsTest::api_config_import('QueryCo', {
    Locales => [ { LocaleId => 'en-US', Name => 'English', IsDefault => $T },
                 { LocaleId => 'de-DE', Name => 'Deutsch' },
                 { LocaleId => 'fr-FR', Name => 'French' } ],
    ProgramTypes => [ { ProgramTypeId => 'NEWS', Name => 'Newsletters' } ],
    Programs => [
        { ProgramId => 'NEWSLETTERS', ProgramTypeId => 'NEWS', Name => 'Newsletters', DisplayOrder => 1,
          CustomProperties => [ { Key => 'Region', Value => 'EU' } ],
          Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Newsletters' } ] },
                       { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => 'Rundbriefe' } ] },
                       { LocaleId => 'fr-FR', DisplayTags => [ { Key => 'Label', Value => 'Lettres' } ] } ] },
        { ProgramId => 'OFFERS', Name => 'Offers', DisplayOrder => 2 } ] });

sub main::reader { PrefsTest::auth('QueryCo', 'admin') . join '', map { "$_\n" } @_ }
sub main::writer { PrefsTest::auth('QueryCo', 'admin') . "Content-Type: application/json\n" }

api_blocks();
run_tests();

__DATA__

=== TEST 1: a percent-encoded locale on a configuration route is decoded (fr%2DFR is fr-FR)
--- request
GET /Profiles/v4/QueryCo/Programs?locale=fr%2DFR
--- more_headers eval
main::reader()
--- error_code: 200
--- response_headers
Content-Language: fr-FR
--- response_json eval
{ Programs => [ { Locales => [ { LocaleId => 'fr-FR', DisplayTags => [ { Value => 'Lettres' } ] } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 2: the name too, in any case: %4Cocale=de-DE
--- request
GET /Profiles/v4/QueryCo/Programs?%4Cocale=de%2dDE
--- more_headers eval
main::reader()
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- no_error_log
[error]
[alert]


=== TEST 3: an unknown locale is named decoded, never as sent
--- request
GET /Profiles/v4/QueryCo/Programs?locale=xx%2DXX
--- more_headers eval
main::reader()
--- error_code: 400
--- response_json eval
{ Message => 'The locale "xx-XX" is not configured for this account' }
--- no_error_log
[error]
[alert]


=== TEST 4: what a message quotes is escaped: U+202E and other non-ASCII as %XX
--- request
GET /Profiles/v4/QueryCo/Programs?locale=%E2%80%AEx%22y
--- more_headers eval
main::reader()
--- error_code: 400
--- response_json eval
{ Message => 'The locale "%E2%80%AEx"y" is not configured for this account' }
--- no_error_log
[error]
[alert]


=== TEST 5: a control byte (%00, %0A) in a value is 400, on every route
--- request eval
[ "GET /Profiles/v4/QueryCo/Programs?locale=en%00", "GET /Profiles/v4/QueryCo/Users?limit=1%0A",
  "GET /Profiles/v4/QueryCo/Events?eventType=a%0D%0AX:%20y", "GET /api/3/QueryCo/Programs?x=%00" ]
--- more_headers eval
[ main::reader(), main::reader(), main::reader(), main::reader() ]
--- error_code eval
[ 400, 400, 400, 400 ]
--- response_body_like eval
[ qr/^\{"Message":"The query string is invalid: the value of locale is badly encoded/,
  qr/^\{"Message":"The query string is invalid: the value of limit is badly encoded/,
  qr/^\{"Message":"The query string is invalid: the value of eventType is badly encoded/,
  qr/^\{"Message":"The query string is invalid: the value of x is badly encoded/ ]
--- no_error_log
[error]
[alert]


=== TEST 6: bytes that are not UTF-8, and a bad escape, are 400 on every route
--- request eval
[ "GET /Profiles/v4/QueryCo/Programs?locale=%FF", "GET /Profiles/v4/QueryCo/Users?offset=%C3",
  "GET /Profiles/v4/QueryCo/Webhooks/Subscriptions?subscriptionId=%zz", "GET /Profiles/v4/QueryCo/Users?%FF=1" ]
--- more_headers eval
[ main::reader(), main::reader(), main::reader(), main::reader() ]
--- error_code eval
[ 400, 400, 400, 400 ]
--- response_body_like eval
[ qr/badly encoded/, qr/badly encoded/, qr/badly encoded/, qr/^\{"Message":"The query string is invalid: a parameter name is badly encoded/ ]
--- no_error_log
[error]
[alert]


=== TEST 7: a parameter given twice in another case is 400 naming it, on every route
--- request eval
[ "GET /Profiles/v4/QueryCo/Users?limit=1&LIMIT=2", "GET /Profiles/v4/QueryCo/Events?limit=1&Limit=2",
  "GET /Profiles/v4/QueryCo/Programs?locale=en-US&LOCALE=de-DE", "GET /Profiles/v4/QueryCo/Webhooks/Subscriptions?subscriptionId=1&subscriptionid=2",
  "GET /Profiles/v4/QueryCo/Users?limit=1&limit=1" ]
--- more_headers eval
[ main::reader(), main::reader(), main::reader(), main::reader(), main::reader() ]
--- error_code eval
[ 400, 400, 400, 400, 400 ]
--- response_body eval
[ '{"Message":"The query string is invalid: LIMIT is given twice"}',
  '{"Message":"The query string is invalid: Limit is given twice"}',
  '{"Message":"The query string is invalid: LOCALE is given twice"}',
  '{"Message":"The query string is invalid: subscriptionid is given twice"}',
  '{"Message":"The query string is invalid: limit is given twice"}' ]
--- no_error_log
[error]
[alert]


=== TEST 8: names are matched without regard to case (LIMIT=1 is limit=1)
--- request
GET /Profiles/v4/QueryCo/Users?LIMIT=1&Offset=2
--- more_headers eval
main::reader()
--- error_code: 200
--- response_json eval
{ Users => [ PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 9: an indexed list spelled in two cases is one list; an index given twice is 400
--- request eval
[ "GET /Profiles/v4/QueryCo/Programs/IncludeMatching?customProperties[0].Key=Region&CustomProperties[0].value=EU",
  "GET /Profiles/v4/QueryCo/Programs/IncludeMatching?customProperties[0].Key=Region&CustomProperties[0].key=EU" ]
--- more_headers eval
[ main::reader(), main::reader() ]
--- error_code eval
[ 200, 400 ]
--- response_body_like eval
[ qr/"ProgramId":"NEWSLETTERS"/, qr/^\{"Message":"The query string is invalid: CustomProperties\[0\]\.key is given twice"\}$/ ]
--- no_error_log
[error]
[alert]


=== TEST 10: "+" is a space and %2B a plus in a value
--- request
GET /Profiles/v4/QueryCo/Programs?locale=fr+FR%2B
--- more_headers eval
main::reader()
--- error_code: 400
--- response_json eval
{ Message => 'The locale "fr FR+" is not configured for this account' }
--- no_error_log
[error]
[alert]


=== TEST 11: a list where a value is expected is 400
--- request eval
[ "GET /Profiles/v4/QueryCo/Users?limit[0]=1", "GET /Profiles/v4/QueryCo/Programs?locale[0]=en-US" ]
--- more_headers eval
[ main::reader(), main::reader() ]
--- error_code eval
[ 400, 400 ]
--- response_body_like eval
[ qr/limit must be/, qr/The locale \\"\\" is not configured/ ]
--- no_error_log
[error]
[alert]


=== TEST 12: Events keeps decoding its query (locale=de%2DDE)
--- request
GET /Profiles/v4/QueryCo/Events?locale=de%2DDE&limit=1
--- more_headers eval
main::reader()
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 13: Accept-Language: null is no preference: every locale's text, as without the header
--- request
GET /Profiles/v4/QueryCo/Programs
--- more_headers eval
main::reader('Accept-Language: null')
--- error_code: 200
--- response_headers
Vary: Accept-Language
!Content-Language
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS', Locales => [ { LocaleId => 'en-US' }, { LocaleId => 'de-DE' }, { LocaleId => 'fr-FR' } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 13b: Accept-Language: NULL, in another case and with spaces, too
--- request
GET /Profiles/v4/QueryCo/Programs
--- more_headers eval
main::reader('Accept-Language:  NULL ')
--- error_code: 200
--- response_headers
!Content-Language
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS', Locales => [ {}, {}, {} ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 14: a real Accept-Language still negotiates
--- request
GET /Profiles/v4/QueryCo/Programs
--- more_headers eval
main::reader('Accept-Language: de-DE')
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- no_error_log
[error]
[alert]


=== TEST 15: a user name with a format character or a space other than U+0020 is 400; nothing is written
--- request eval
[ map { "POST /Profiles/v4/QueryCo/Users\n{\"UserName\":\"$_\"}" }
  'admin\u200b', 'adm\u00a0in', '\u202eadmin', 'admin\u2060', 'admin\ufeff', 'ad\u3000min', 'admin\u00ad' ]
--- more_headers eval
[ map { main::writer() } 1 .. 7 ]
--- error_code eval
[ (400) x 7 ]
--- response_body_like eval
[ (qr/^\{"Message":"A value is invalid: UserName must not hold invisible format or control characters/) x 1,
  qr/UserName must not hold white space/, qr/UserName must not hold invisible/, qr/UserName must not hold invisible/,
  qr/UserName must not hold invisible/, qr/UserName must not hold white space/, qr/UserName must not hold invisible/ ]
--- sql_unchanged eval
$::users
--- no_error_log
[error]
[alert]


=== TEST 16: and at PUT Users/{id}
--- request eval
"PUT /Profiles/v4/QueryCo/Users/$::jane_id\n" . '{"UserName":"jane\u200b"}'
--- more_headers eval
main::writer()
--- error_code: 400
--- response_json eval
{ Message => qr/UserName must not hold invisible format/ }
--- sql_unchanged eval
$::users
--- no_error_log
[error]
[alert]


=== TEST 17: a user name is stored in NFC: a decomposed name is its composed form, and then taken
--- request eval
[ "POST /Profiles/v4/QueryCo/Users\n" . '{"UserName":"rene\u0301.nfc"}',
  "POST /Profiles/v4/QueryCo/Users\n" . '{"UserName":"ren\u00e9.nfc"}' ]
--- more_headers eval
[ main::writer(), main::writer() ]
--- error_code eval
[ 201, 409 ]
--- sql
SELECT user_name = E'ren\u00e9.nfc', user_name IS NFC NORMALIZED FROM prefs_user JOIN prefs_account USING (account_id)
 WHERE client_id = 'QueryCo' AND user_name LIKE 'ren%.nfc'
--- sql_result
t|t
--- no_error_log
[error]
[alert]


=== TEST 18: a configuration key with a format character or a non-ASCII space is 400; nothing is written
--- request eval
[ map { "POST /Profiles/v4/QueryCo/Tags\n{\"Name\":\"$_\"}" } 'Early\u00a0Adopter', 'VIP\u200b', '\u202eVIP', 'V\u2028IP' ]
--- more_headers eval
[ map { main::writer() } 1 .. 4 ]
--- error_code eval
[ (400) x 4 ]
--- response_body_like eval
[ qr/Name must not hold spaces other than U\+0020/, qr/Name must not hold invisible format/,
  qr/Name must not hold invisible format/, qr/Name must not hold spaces other than U\+0020/ ]
--- sql_unchanged eval
$::tags
--- no_error_log
[error]
[alert]


=== TEST 19: a configuration key is stored in NFC; U+0020 inside stays allowed
--- request eval
[ "POST /Profiles/v4/QueryCo/Tags\n" . '{"Name":"Cafe\u0301 Club"}', "POST /Profiles/v4/QueryCo/Tags\n" . '{"Name":"Caf\u00e9 Club"}' ]
--- more_headers eval
[ main::writer(), main::writer() ]
--- error_code eval
[ 201, 409 ]
--- sql
SELECT key = E'Caf\u00e9 Club' FROM prefs_config_item JOIN prefs_account USING (account_id)
 WHERE client_id = 'QueryCo' AND kind = 'Tag' AND key LIKE 'Caf%'
--- sql_result
t
--- no_error_log
[error]
[alert]
