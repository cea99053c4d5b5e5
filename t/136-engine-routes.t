# The routes that change a profile, through HTTP, each a batch of one
# through the write engine (issue 11 §2, docs/architecture.md "The write
# engine"): after the write the stored copy is current and equals a fresh
# rendering, and the route's profile event is the engine's (its Data the
# copy, no PreviousData: docs/events.md).  A refused write changes
# nothing.  (Each route's SQL function with its function-call statistics,
# before the commit: t/129-engine-one-place.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($pat, $vic, $deb, $untouched);

api_account('EngineRoutesCo');
api_user('EngineRoutesCo', 'admin', 'Administrators');
api_account('EngineRoutesOther');
api_user('EngineRoutesOther', 'admin', 'Administrators');
PrefsTest::api_config_import('EngineRoutesCo');
PrefsTest::api_config_import('EngineRoutesOther');

sub prepare {
    my ($method, $path, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request('EngineRoutesCo', 'admin', $method, $path, $body);
    $st =~ /^20/ or die "preparing $method $path: $st $raw\n";
    return $j;
}
my $cf = [ { Name => 'FavoriteCategory', Value => 'Garden' } ];
sub profile {
    my ($name, $crm) = @_;
    return prepare('POST', 'Profile', { CustomerName => { FirstName => $name }, CustomFields => $cf,
        AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
        Emails => [ { EmailAddress => "$crm\@example.com", IsDefault => JSON::PP::true() } ],
        Groups => [ { Type => 'Household', Name => 'H1' } ], Tags => [ 'VIP' ] })->{ProfileId};
}
$pat = profile('Pat', 'crm-pat');
$deb = profile('Deb', 'crm-deb');
prepare('POST', 'AlternateIdTypes', { Name => 'CID', Description => 'v3 customer id' });
prepare('POST', 'v3:Preferences', [ { CID => 'cid-vic', FirstName => 'Vic', FilterID => 'NewsletterEmail',
    PreferenceType => 1, ContactElement => { Email => 'vic@example.com' } } ]);
$vic = PrefsTest::psql_value("SELECT profile_id FROM prefs_profile_alternate_id WHERE type = 'CID' AND value = 'cid-vic'");
PrefsTest::api_prepared();

# the account's events and stored copies, which a refusal leaves as they are
$untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'EngineRoutesCo'), (SELECT string_agg(d.doc, '|' ORDER BY d.profile_id)"
    . " FROM prefs_profile_doc d JOIN prefs_profile p USING (profile_id) JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'EngineRoutesCo')";

# After a write of profile $p: whether its copy is current and equals a
# fresh rendering, and its last profile.* event with whether its Data is
# that copy and whether it carries no PreviousData (the reference gives
# PreviousData to none of the profile.* events)
sub after {
    my ($p) = @_;
    return "SELECT (SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d ON d.profile_id = x.profile_id"
        . " AND d.src_xmin = x.xmin WHERE x.profile_id = $p AND d.doc = prefs_data_profile_json(x, false)::text)"
        . " || ' ' || e.event_type || ' ' || (e.data = (SELECT doc::jsonb FROM prefs_profile_doc WHERE profile_id = $p))"
        . " || ' ' || (e.previous_data IS NULL)"
        . " FROM prefs_event e WHERE e.profile_id = $p AND e.event_type LIKE 'profile.%'"
        . " ORDER BY e.event_id DESC LIMIT 1";
}

api_blocks();
PrefsTest::api_checks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: PATCH Profile/{id}: the engine's profile.replaced, the copy current
--- request eval
"PATCH /Profiles/v4/EngineRoutesCo/Profile/$::pat\n"
. '[{"op":"replace","path":"/CustomerName/FirstName","value":"Patricia"},{"op":"add","path":"/Tags/-","value":"Do Not Call"}]'
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pat, CustomerName => { FirstName => 'Patricia' } }
--- sql eval
main::after($::pat)
--- sql_result
1 profile.replaced true true
--- no_error_log
[error]
[alert]


=== TEST 2: PATCH by alternate id: the same
--- request eval
"PATCH /Profiles/v4/EngineRoutesCo/Profile/AlternateIdType/CRMId/AlternateId/crm-pat\n"
. '[{"op":"replace","path":"/CustomerName/FirstName","value":"Pat"}]'
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- sql eval
main::after($::pat)
--- sql_result
1 profile.replaced true true
--- no_error_log
[error]
[alert]


=== TEST 3: a refused PATCH: 400 with the engine's path, nothing changed
--- request eval
"PATCH /Profiles/v4/EngineRoutesCo/Profile/$::pat\n"
. '[{"op":"add","path":"/Emails/-","value":{"EmailAddress":"not-an-email"}}]'
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Emails\[\d+\]\.EmailAddress/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 4: POST Consents/{id}: profile.updated from the engine
--- request eval
"POST /Profiles/v4/EngineRoutesCo/Consents/$::pat\n"
. '[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1}]'
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::after($::pat)
--- sql_result
1 profile.updated true true
--- no_error_log
[error]
[alert]


=== TEST 5: DELETE Profile/{id}/Groups: profile.updated from the engine
--- request eval
"DELETE /Profiles/v4/EngineRoutesCo/Profile/$::pat/Groups\n" . '{"Type":"Household","Name":"H1"}'
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 204
--- sql eval
main::after($::pat)
--- sql_result
1 profile.updated true true
--- no_error_log
[error]
[alert]


=== TEST 6: v3 POST Preferences of a known customer: profile.updated from the engine, the copy current
--- request
POST /api/3/EngineRoutesCo/Preferences
[{"CID":"cid-vic","FilterID":"NewsletterEmail","PreferenceType":2,"ContactElement":{"Email":"vic@example.com"}}]
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Preferences => [ { CID => 'cid-vic', FilterID => 'NewsletterEmail', PreferenceType => 2 } ] }
--- sql eval
main::after($::vic)
--- sql_result
1 profile.updated true true
--- no_error_log
[error]
[alert]


=== TEST 7: v3 POST Preferences/Program/{id} with a new phone: the same
--- request
POST /api/3/EngineRoutesCo/Preferences/Program/Newsletters
{"CID":"cid-vic","GlobalPreferenceType":1,"ChannelContactPreference":[{"ChannelID":"Text","ContactElement":{"PFT":"+1 555 010 0166"}}]}
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::after($::vic)
--- sql_result
1 profile.updated true true
--- no_error_log
[error]
[alert]


=== TEST 8: a v3 request whose second customer is refused: 400 in the v3 spelling, nothing written for the first
--- request
POST /api/3/EngineRoutesCo/Preferences
[{"CID":"cid-first","FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Email":"first@example.com"}},
 {"CID":"cid-second","FilterID":"NewsletterEmail","PreferenceType":1,"FrequencyID":"Y","ContactElement":{"Email":"second@example.com"}}]
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Preferences\[1\]\.FrequencyID 'Y'/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 9: DELETE Profile/{id}: profile.deactivated, the copy current (inactive)
--- request eval
[ "DELETE /Profiles/v4/EngineRoutesCo/Profile/$::deb?ReasonCode=moved", "GET /Profiles/v4/EngineRoutesCo/Profile/$::deb" ]
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin')
--- error_code eval
[ 204, 200 ]
--- response_json eval
{ ProfileId => $::deb, IsActive => 0, ReasonCode => 'moved' }
--- sql eval
"SELECT split_part((" . main::after($::deb) . "), ' ', 1) || ' ' || split_part((" . main::after($::deb) . "), ' ', 2)"
--- sql_result
1 profile.deactivated
--- no_error_log
[error]
[alert]


=== TEST 10: POST Profile/{id}/Activate: profile.reactivated, the copy current (active)
--- request eval
"POST /Profiles/v4/EngineRoutesCo/Profile/$::deb/Activate"
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin')
--- error_code: 204
--- sql eval
"SELECT split_part((" . main::after($::deb) . "), ' ', 1) || ' ' || split_part((" . main::after($::deb) . "), ' ', 2)"
. " || ' ' || (SELECT doc::jsonb->>'IsActive' FROM prefs_profile_doc WHERE profile_id = $::deb)"
--- sql_result
1 profile.reactivated true
--- no_error_log
[error]
[alert]


=== TEST 11: another account's profile: 404 for every route, nothing changed
--- request eval
[ "PATCH /Profiles/v4/EngineRoutesOther/Profile/$::pat\n" . '[{"op":"replace","path":"/CustomerName/FirstName","value":"X"}]',
  "DELETE /Profiles/v4/EngineRoutesOther/Profile/$::pat",
  "POST /Profiles/v4/EngineRoutesOther/Profile/$::pat/Activate",
  "DELETE /Profiles/v4/EngineRoutesOther/Profile/$::pat?erase=true" ]
--- more_headers eval
PrefsTest::auth('EngineRoutesOther', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code eval
[ 404, 404, 404, 404 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 4 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 12: erasure (DELETE ?erase=true): profile.deleted, no copy left
--- request eval
"DELETE /Profiles/v4/EngineRoutesCo/Profile/$::deb?erase=true"
--- more_headers eval
PrefsTest::auth('EngineRoutesCo', 'admin')
--- error_code: 204
--- sql eval
"SELECT (SELECT event_type FROM prefs_event WHERE profile_id = $::deb ORDER BY event_id DESC LIMIT 1)"
. " || ' ' || (SELECT count(*) FROM prefs_profile_doc WHERE profile_id = $::deb)"
--- sql_result
profile.deleted 0
--- no_error_log
[error]
[alert]
