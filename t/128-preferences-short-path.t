# The write engine's short path through HTTP (issue 11): POST
# Profile/{id}/Preferences, the route by alternate id and an UpdateProfile
# that change only preferences are written by prefs_engine_update (no
# subtransaction: the profile's row is of the request's own transaction,
# as its profile.updated event records it), leave a stored copy equal to
# a full rendering, and answer as before; bad bodies, hostile ids and
# another account's profile are refused with a Message and change nothing.
# (The rows, events and copies against the per-profile path, change by
# change: t/127-engine-sql.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($pam, $other, $untouched, $short, $current);

api_account('ShortPathCo');
api_user('ShortPathCo', 'admin', 'Administrators');
api_account('ShortPathOther');
api_user('ShortPathOther', 'admin', 'Administrators');
PrefsTest::api_config_import('ShortPathCo');
PrefsTest::api_config_import('ShortPathOther');

# the two profiles, made through the API (with the demo's required custom field)
my $cf = [ { Name => 'FavoriteCategory', Value => 'Garden' } ];
for my $p ([ \$pam, 'ShortPathCo', { CustomerName => { FirstName => 'Pam' }, CustomFields => $cf,
               AlternateIds => [ { Type => 'CRMId', Value => 'crm-pam' } ],
               Emails => [ { EmailAddress => 'pam@example.com', EmailAddressType => 'Personal',
                             IsDefault => JSON::PP::true(), EmailPreferences => [
                                 { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ],
               PhoneNumbers => [ { PhoneNumber => '+15550107000', PhoneNumberType => 'Mobile',
                                   IsMobile => JSON::PP::true() } ] } ],
           [ \$other, 'ShortPathOther', { CustomerName => { FirstName => 'Otto' }, CustomFields => $cf,
               Emails => [ { EmailAddress => 'otto@example.com', EmailAddressType => 'Personal' } ] } ]) {
    my ($st, undef, $j, $raw) = PrefsTest::api_request($p->[1], 'admin', 'POST', 'Profile', $p->[2]);
    $st == 201 or die "preparing a profile of $p->[1]: $st $raw\n";
    ${ $p->[0] } = $j->{ProfileId};
}
PrefsTest::api_prepared();

# the account's events and profiles, and its preference rows as they are
$untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'ShortPathCo'), (SELECT count(*) FROM prefs_profile p JOIN prefs_account a"
    . " USING (account_id) WHERE a.client_id = 'ShortPathCo'), (SELECT string_agg(preference_type || frequency_id"
    . " || attributes::text, ',' ORDER BY preference_id) FROM prefs_preference WHERE profile_id = $pam)";
# the last write of the profile was the short path's: its row is of the
# transaction that recorded its last profile.updated
$short = "SELECT count(*) FROM prefs_profile x WHERE x.profile_id = $pam AND x.xmin::text = (SELECT e.txid::text"
    . " FROM prefs_event e WHERE e.profile_id = $pam AND e.event_type = 'profile.updated'"
    . " ORDER BY e.event_id DESC LIMIT 1)";
# its stored copy is current and equals a full rendering
$current = "SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d ON d.profile_id = x.profile_id"
    . " AND d.src_xmin = x.xmin WHERE x.profile_id = $pam AND d.doc = prefs_data_profile_json(x, false)::text";

api_blocks();
PrefsTest::api_checks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: POST Profile/{id}/Preferences of an email's preference: the short path, the copy current, the change read
--- request eval
[ "POST /Profiles/v4/ShortPathCo/Profile/$::pam/Preferences\n"
  . '{"Emails":[{"EmailAddress":"pam@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail",'
  . '"PreferenceType":1,"FrequencyId":"M","PreferenceAttributes":[{"Key":"Topic","Value":"Recipes"}]}]}]}',
  "GET /Profiles/v4/ShortPathCo/Profile/$::pam" ]
--- more_headers eval
PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ ProfileId => $::pam, Emails => [ { EmailAddress => 'pam@example.com', EmailPreferences => [
    { FilterId => 'NewsletterEmail', FrequencyId => 'M', PreferenceAttributes => [ { Key => 'Topic', Value => 'Recipes' } ] } ] } ] }
--- sql eval
"SELECT ($::short) || ' ' || ($::current) || ' ' || (SELECT string_agg(event_type, ',' ORDER BY event_id)"
. " FROM (SELECT * FROM prefs_event WHERE profile_id = $::pam ORDER BY event_id DESC LIMIT 2) e)"
--- sql_result
1 1 preference.updated,profile.updated
--- no_error_log
[error]
[alert]


=== TEST 2: the same body again: 200, nothing written
--- request eval
"POST /Profiles/v4/ShortPathCo/Profile/$::pam/Preferences\n"
. '{"Emails":[{"EmailAddress":"pam@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail",'
. '"PreferenceType":1,"FrequencyId":"M","PreferenceAttributes":[{"Key":"Topic","Value":"Recipes"}]}]}]}'
--- more_headers eval
PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 3: a profile-level preference of the Text channel goes to the mobile phone; by alternate id
--- request eval
[ "POST /Profiles/v4/ShortPathCo/Profile/Preferences/AlternateIdType/CRMId/AlternateId/crm-pam\n"
  . '{"ProfilePreferences":[{"FilterId":"NewsletterText","PreferenceType":2}]}',
  "GET /Profiles/v4/ShortPathCo/Profile/$::pam" ]
--- more_headers eval
PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ ProfileId => $::pam, PhoneNumbers => [ { PhoneNumber => '+15550107000', PhonePreferences => [
    { FilterId => 'NewsletterText', PreferenceType => 2 } ] } ] }
--- sql eval
"SELECT ($::short) || ' ' || ($::current)"
--- sql_result
1 1
--- no_error_log
[error]
[alert]


=== TEST 4: an UpdateProfile of preferences only takes the short path too
--- request eval
"POST /Profiles/v4/ShortPathCo/Profile/$::pam\n"
. '{"ProfilePreferences":[{"FilterId":"ProductUpdatesEmail","PreferenceType":1}]}'
--- more_headers eval
PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT ($::short) || ' ' || ($::current) || ' ' || (SELECT count(*) FROM prefs_preference"
. " WHERE profile_id = $::pam AND filter_id = 'ProductUpdatesEmail')"
--- sql_result
1 1 1
--- no_error_log
[error]
[alert]


=== TEST 5: bad bodies: each 400 with a Message, nothing written
--- request eval
[ map { "POST /Profiles/v4/ShortPathCo/Profile/$::pam/Preferences\n$_" }
  '{"Emails":[{"EmailAddress":"pam@example.com",',                                       # malformed JSON
  '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":"one"}]}',        # a wrong type
  '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1,"Colour":1}]}', # an unknown field
  '{"ProfilePreferences":[{"FilterId":"NoSuchFilter","PreferenceType":1}]}',              # an unknown filter
  '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":3}]}',           # out of range
  '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1},'
  . '{"FilterId":"NewsletterEmail","PreferenceType":2}]}',                                 # the same one twice
  "{\"ProfilePreferences\":[{\"FilterId\":\"Newsletter\xffEmail\",\"PreferenceType\":1}]}", # invalid UTF-8
  '{"ProfilePreferences":[' . CORE::join(',', ('{"FilterId":"NewsletterEmail","PreferenceType":1}') x 501) . ']}', # too many
  '{"ProfileId":1,"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1}]}' ] # not a preference
--- more_headers eval
PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 9 ]
--- response_body_like eval
[ qr/^\{"Message":".+"\}$/,
  qr/^\{"Message":".*PreferenceType.*"\}$/,
  qr/^\{"Message":".*Colour.*"\}$/,
  qr/^\{"Message":".*FilterId.*NoSuchFilter.*"\}$/,
  qr/^\{"Message":".*PreferenceType.*"\}$/,
  qr/^\{"Message":".*NewsletterEmail.*more than once.*"\}$/,
  qr/^\{"Message":".+"\}$/,
  qr/^\{"Message":".*500.*"\}$/,
  qr/^\{"Message":".*ProfileId.*"\}$/ ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 6: hostile ids and another account's profile: 404, nothing written
--- request eval
[ (map { "POST /Profiles/v4/ShortPathCo/Profile/$_/Preferences\n"
         . '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":2}]}' }
       'abc', '0', '-1', '99999999999999999999', "1%27%20OR%201=1", $::other),
  "POST /Profiles/v4/ShortPathOther/Profile/$::pam/Preferences\n"
  . '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":2}]}' ]
--- more_headers eval
[ (PrefsTest::auth('ShortPathCo', 'admin') . "Content-Type: application/json\n") x 6,
  PrefsTest::auth('ShortPathOther', 'admin') . "Content-Type: application/json\n" ]
--- error_code eval
[ (404) x 7 ]
--- response_body_like eval
[ (qr/^\{"Message":".+"\}$/) x 7 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]
