# The Data API's profile routes over HTTP: create (201 + Location), read by
# id and by alternate id, UpdateProfile, lookups, deactivate / activate /
# erase, every change with its events, another account's ids, permissions,
# and bad input changing nothing.  (Two writers at once, and Location
# naming the very profile created: t/132-data-api-concurrent.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($jane, $upd, $deact, $inactive, $erase, $max, $cons1, $cons2, $cons3, $other);

api_account('DataApiCo');
api_user('DataApiCo', 'admin', 'Administrators');
api_user('DataApiCo', 'reader', 'ReadOnly');
api_account('DataApiOther');
api_user('DataApiOther', 'admin', 'Administrators');
PrefsTest::api_config_import('DataApiCo');
PrefsTest::api_config_import('DataApiOther');

sub profile {
    my ($client, %body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Profile',
        { CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ], %body });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

sub prepare {
    my ($method, $path, $body) = @_;
    my ($st, undef, undef, $raw) = PrefsTest::api_request('DataApiCo', 'admin', $method, $path, $body);
    die "preparing $method $path: $st $raw\n" unless $st =~ /^20/;
}

$jane = profile('DataApiCo', CustomerName => { FirstName => 'Jane', LastName => 'Doe' }, DefaultLocale => 'de-DE',
    Emails => [ { EmailAddress => 'jane@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ],
    AlternateIds => [ { Type => 'CRMId', Value => 'crm-jane' } ]);
$upd = profile('DataApiCo', CustomerName => { FirstName => 'Una', LastName => 'Doe' });
$deact = profile('DataApiCo', CustomerName => { FirstName => 'Dee' });
$inactive = profile('DataApiCo', CustomerName => { FirstName => 'Ina' });
prepare('DELETE', "Profile/$inactive");
$erase = profile('DataApiCo', CustomerName => { FirstName => 'Eric', LastName => 'Erased' },
    Emails => [ { EmailAddress => 'eric@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ]);
$max = profile('DataApiCo', CustomerName => { FirstName => 'Max' },
    Emails => [ { EmailAddress => 'max@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ]);
$cons1 = profile('DataApiCo', CustomerName => { FirstName => 'Connie' });
$cons2 = profile('DataApiCo', CustomerName => { FirstName => 'Conrad' },
    Emails => [ { EmailAddress => 'conrad@example.com', EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ]);
prepare('POST', "Consents/$cons2", [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ]);
prepare('POST', "Consents/$cons2", [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 3 } ]);
$cons3 = profile('DataApiCo', CustomerName => { FirstName => 'Conan' });
prepare('POST', "Consents/$cons3", [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ]);
$other = profile('DataApiOther', CustomerName => { FirstName => 'Otto' });
PrefsTest::api_prepared();

# what a refused write must leave as it was: the account's events and profiles
our $untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'DataApiCo'), (SELECT count(*) FROM prefs_profile p JOIN prefs_account a"
    . " USING (account_id) WHERE a.client_id = 'DataApiCo')";

api_blocks();
PrefsTest::api_checks();
run_tests();

__DATA__

=== TEST 1: POST Profile creates, with its events
--- request
POST /Profiles/v4/DataApiCo/Profile
{"CustomerName":{"FirstName":"Cleo","LastName":"Create"},"DefaultLocale":"de-DE","CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}],
 "Emails":[{"EmailAddress":"cleo@example.com","EmailAddressType":"Personal","IsDefault":true}]}
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_headers_like
Location: .*/Profiles/v4/DataApiCo/Profile/\d+
--- response_json eval
{ ProfileId => qr/^\d+$/ }
--- sql
SELECT count(*) >= 2, count(*) FILTER (WHERE event_type = 'profile.created')
FROM prefs_event WHERE profile_id = :'ProfileId'
--- sql_result
t|1
--- no_error_log
[error]
[alert]


=== TEST 2: GET Profile/{id}: the profile as written, with its email
--- request eval
"GET /Profiles/v4/DataApiCo/Profile/$::jane"
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::jane, CustomerName => { FirstName => 'Jane', LastName => 'Doe' },
  Emails => [ { EmailAddress => 'jane@example.com', EmailAddressType => 'Personal', IsDefault => 1 } ] }
--- no_error_log
[error]
[alert]


=== TEST 3: GET Profile/AlternateIdType/{type}/AlternateId/{id}
--- request
GET /Profiles/v4/DataApiCo/Profile/AlternateIdType/CRMId/AlternateId/crm-jane
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::jane, CustomerName => { FirstName => 'Jane' } }
--- no_error_log
[error]
[alert]


=== TEST 4: POST Profile/{id} updates the part given and leaves the rest
--- request eval
[ "POST /Profiles/v4/DataApiCo/Profile/$::upd\n{\"CustomerName\":{\"LastName\":\"Roe\"}}",
  "GET /Profiles/v4/DataApiCo/Profile/$::upd" ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ ProfileId => $::upd, CustomerName => { LastName => 'Roe', FirstName => 'Una' } }
--- sql eval
"SELECT count(*) > 0 FROM prefs_event WHERE profile_id = $::upd AND previous_data IS NOT NULL"
--- sql_result
t
--- no_error_log
[error]
[alert]


=== TEST 5: GET Profile/Email finds her
--- request
GET /Profiles/v4/DataApiCo/Profile/Email?emailAddress=jane%40example.com
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 200
--- response_json eval
PrefsTest::contains({ ProfileId => $::jane, CustomerName => { FirstName => 'Jane' } })
--- no_error_log
[error]
[alert]


=== TEST 6: a badly encoded lookup is 400
--- request
GET /Profiles/v4/DataApiCo/Profile/Email?emailAddress=%zz
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 400
--- response_body_like: ^\{"Message":".+"\}$
--- no_error_log
[error]
[alert]


=== TEST 7: POST Profile with bad bodies: each 400 with a Message, nothing written
--- request eval
[ map { "POST /Profiles/v4/DataApiCo/Profile\n$_" }
  '{"CustomerName":',                                                   # malformed JSON
  '{"CustomerName":{"FirstName":"a","FirstName":"b"}}',                 # a duplicate key
  '{"Nickname":"x"}',                                                   # an unknown field
  '{"CustomerName":{"FirstName":42}}',                                  # a wrong type
  '{"Emails":[{"EmailAddress":"x@example.com","EmailAddressType":"NoSuchType"}]}',       # an unknown email type
  '{"DefaultLocale":"xx-XX"}',                                          # an unknown locale
  "{\"CustomerName\":{\"FirstName\":\"\xff\"}}",                          # invalid UTF-8
  '{"FirstName":"Flat"}' ]                                              # the flat dialect is gone
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 8 ]
--- response_body_like eval
[ (qr/^\{"Message":".+"\}$/) x 7, qr/^\{"Message":"FirstName is not a known field"\}$/ ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 8: hostile profile ids are 404
--- request eval
[ map { "GET /Profiles/v4/DataApiCo/Profile/$_" } 'abc', '0', '-1', '99999999999999999999' ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code eval
[ (404) x 4 ]
--- response_body_like eval
[ (qr/^\{"Message":".+"\}$/) x 4 ]
--- no_error_log
[error]
[alert]


=== TEST 9: another account can neither read, write nor deactivate a profile: 404
--- request eval
[ "GET /Profiles/v4/DataApiOther/Profile/$::jane",
  "POST /Profiles/v4/DataApiOther/Profile/$::jane\n{\"CustomerName\":{\"LastName\":\"X\"}}",
  "DELETE /Profiles/v4/DataApiOther/Profile/$::jane" ]
--- more_headers eval
PrefsTest::auth('DataApiOther', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (404) x 3 ]
--- response_body_like eval
[ (qr/^\{"Message":".+"\}$/) x 3 ]
--- sql_unchanged eval
"SELECT p, (SELECT count(*) FROM prefs_event WHERE profile_id = $::jane) FROM prefs_profile p WHERE profile_id = $::jane"
--- no_error_log
[error]
[alert]


=== TEST 10: ReadOnly cannot create: 403 naming ProfileWrite
--- request
POST /Profiles/v4/DataApiCo/Profile
{"CustomerName":{"FirstName":"R"}}
--- more_headers eval
PrefsTest::auth('DataApiCo', 'reader') . "Content-Type: application/json\n"
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the ProfileWrite permission"}
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 11: ReadOnly can read
--- request eval
"GET /Profiles/v4/DataApiCo/Profile/$::jane"
--- more_headers eval
PrefsTest::auth('DataApiCo', 'reader')
--- error_code: 200
--- response_json eval
{ ProfileId => $::jane }
--- no_error_log
[error]
[alert]


=== TEST 12: DELETE deactivates
--- request eval
[ "DELETE /Profiles/v4/DataApiCo/Profile/$::deact?ReasonCode=moved", "GET /Profiles/v4/DataApiCo/Profile/$::deact" ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code eval
[ 204, 200 ]
--- response_json eval
{ ProfileId => $::deact, IsActive => 0, ReasonCode => 'moved' }
--- no_error_log
[error]
[alert]


=== TEST 13: Activate reverses it
--- request eval
[ "POST /Profiles/v4/DataApiCo/Profile/$::inactive/Activate", "GET /Profiles/v4/DataApiCo/Profile/$::inactive" ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code eval
[ 204, 200 ]
--- response_json eval
{ ProfileId => $::inactive, IsActive => 1 }
--- no_error_log
[error]
[alert]


=== TEST 14: erase=true erases: emails and names gone, profile.deleted recorded without personal data
--- request eval
"DELETE /Profiles/v4/DataApiCo/Profile/$::erase?erase=true"
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 204
--- response_body chomp
--- sql eval
"SELECT (SELECT count(*) FROM prefs_profile_email WHERE profile_id = $::erase),"
. " (SELECT count(*) FROM prefs_profile WHERE profile_id = $::erase AND (first_name <> '' OR last_name <> '')),"
. " (SELECT count(*) FROM prefs_event WHERE profile_id = $::erase AND event_type = 'profile.deleted'),"
. " (SELECT coalesce(string_agg(data::text, ' '), '') !~* 'eric|erased' FROM prefs_event"
. "  WHERE profile_id = $::erase AND event_type = 'profile.deleted')"
--- sql_result
0|0|1|t
--- no_error_log
[error]
[alert]


=== TEST 15: POST Consents/{profileId}, then GET Consents/{profileId}
--- request eval
[ "POST /Profiles/v4/DataApiCo/Consents/$::cons1\n[{\"ConsentType\":\"Marketing\",\"ConsentVersion\":\"2.0\",\"ConsentStatus\":1}]",
  "GET /Profiles/v4/DataApiCo/Consents/$::cons1" ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => [ { ConsentStatus => 1 } ] }
--- no_error_log
[error]
[alert]


=== TEST 16: a second consent of the same type
--- request eval
"POST /Profiles/v4/DataApiCo/Consents/$::cons3\n[{\"ConsentType\":\"Marketing\",\"ConsentVersion\":\"2.0\",\"ConsentStatus\":3}]"
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT count(*) >= 2 FROM prefs_event WHERE profile_id = $::cons3 AND event_type LIKE 'consent.%'"
--- sql_result
t
--- no_error_log
[error]
[alert]


=== TEST 17: a lookup shows the current consent
--- request
GET /Profiles/v4/DataApiCo/Profile/Email?emailAddress=conrad%40example.com
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 200
--- response_json eval
[ { ProfileId => $::cons2, Consents => [ { ConsentStatus => 3 } ] } ]
--- no_error_log
[error]
[alert]


=== TEST 18: and the history with includeConsentHistory=true
--- request
GET /Profiles/v4/DataApiCo/Profile/Email?emailAddress=conrad%40example.com&includeConsentHistory=true
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin')
--- error_code: 200
--- response_json eval
[ { ProfileId => $::cons2, Consents => [ { ConsentStatus => 1 }, { ConsentStatus => 3 } ] } ]
--- no_error_log
[error]
[alert]


=== TEST 19: POST Profile/{id}/Preferences
--- request eval
"POST /Profiles/v4/DataApiCo/Profile/$::max/Preferences\n"
. '{"Emails":[{"EmailAddress":"max@example.com",'
. '"EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1,"FrequencyId":"W"}]}]}'
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT count(*) FROM prefs_event WHERE profile_id = $::max AND event_type LIKE 'preference.%'"
--- sql_result_like: ^[1-9]
--- no_error_log
[error]
[alert]


=== TEST 20: a frequency the filter lacks is 400, naming FrequencyId
--- request eval
"POST /Profiles/v4/DataApiCo/Profile/$::max/Preferences\n"
. '{"FilterId":"NewsletterEmail","PreferenceType":1,"FrequencyId":"Y"}'
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like: ^\{"Message":".*FrequencyId.*"\}$
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 21: POST Profile/{id}/Tags with a configured tag: the profile has it
--- request eval
[ "POST /Profiles/v4/DataApiCo/Profile/$::max/Tags\n[\"VIP\"]", "GET /Profiles/v4/DataApiCo/Profile/$::max" ]
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ ProfileId => $::max, Tags => [ 'VIP' ] }
--- no_error_log
[error]
[alert]


=== TEST 22: a tag the account lacks is 400
--- request eval
"POST /Profiles/v4/DataApiCo/Profile/$::max/Tags\n[\"NoSuchTag\"]"
--- more_headers eval
PrefsTest::auth('DataApiCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like: ^\{"Message":".+"\}$
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]
