# The reference's profile model on the wire (mypreferences-api.md 5.2, the
# parts marked [V]): a UserProfilePreference written with every field the
# reference names (UserProfile, EmailPreference and phones and addresses by
# the same pattern, CreateProfilePreference) is taken as it is, and every
# answer (the profile, its preferences, lookups, the events' Data) carries
# the reference's names: CustomerName, Emails[].EmailAddress,
# PhoneNumbers[].PhoneNumber, Addresses[].Address1 ... (v3's ContactElement
# names), the read ProfilePreference nested in its contact point.  The flat
# dialect of before is refused, naming the field with its path.  Also: phone
# lookups by the digits, and the group-profile routes.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($ref, $ref_alt, $ref_patch, $plain, $plain_last, $other, $untouched, $group_a, $group_b, $lone, $outsider, $crowd);

api_account('RefModelCo');
api_user('RefModelCo', 'admin', 'Administrators');
api_user('RefModelCo', 'reader', 'ReadOnly');
api_account('RefModelOther');
api_user('RefModelOther', 'admin', 'Administrators');
PrefsTest::api_config_import('RefModelCo');
PrefsTest::api_config_import('RefModelOther');

sub profile {
    my ($client, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Profile',
                                                       ref $body ? encode_json($body) : $body);
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

# A UserProfilePreference with every field of the reference's models
# (5.2): UserProfile, EmailPreference (EmailPreferences[] of
# CreateProfilePreference), phones (PhonePreferences[]) and addresses
# (AddressPreferences[], v3's ContactElement names), ProfilePreferences[]
our $REFERENCE_BODY = <<'JSON';
{
  "CustomerName": { "Prefix": "Dr", "FirstName": "Rick", "MiddleName": "C",
                    "LastName": "Sanchez", "Suffix": "Sr" },
  "DefaultLocale": "en-US",
  "CustomerType": "Consumer",
  "RegistrationConfirmed": true,
  "PreserveConsents": true,
  "PreservePreferences": true,
  "ReasonCode": "web sign-up",
  "AlternateIds": [ { "Type": "CRMId", "Value": "ref-rick" } ],
  "Emails": [
    { "EmailAddress": "rick@example.com", "EmailAddressType": "Personal", "IsDefault": true,
      "EmailPreferences": [
        { "FilterId": "NewsletterEmail", "PreferenceType": 1, "FrequencyId": "W",
          "PreferenceAttributes": [ { "Key": "Topic", "Value": "science" } ],
          "CustomerDate": "2024-01-01T00:00:00Z" } ] },
    { "EmailAddress": "rick@citadel.example", "EmailAddressType": "Work", "IsDefault": false,
      "EmailPreferences": [ { "FilterId": "PartnerOffersEmail", "PreferenceType": 2 } ] } ],
  "PhoneNumbers": [
    { "PhoneNumber": "+1 (555) 010-0100", "PhoneNumberType": "Mobile", "IsMobile": true, "IsDefault": true,
      "PhonePreferences": [ { "FilterId": "NewsletterText", "PreferenceType": 1, "FrequencyId": "M" } ] } ],
  "Addresses": [
    { "Address1": "1 Main St", "Address2": "Apt 2", "City": "Springfield", "StateProvince": "IL",
      "PostalCode": "62701", "CountryCode": "US", "AddressType": "Home", "IsDefault": true,
      "AddressPreferences": [ { "FilterId": "ProductUpdatesMail", "PreferenceType": 1 } ] } ],
  "CustomFields": [ { "Name": "FavoriteCategory", "Value": "Garden" } ],
  "Groups": [ { "Type": "Household", "Name": "Sanchez" } ],
  "Tags": [ "VIP" ],
  "ProfilePreferences": [ { "FilterId": "ProductUpdatesEmail", "PreferenceType": 1 } ]
}
JSON

$ref = profile('RefModelCo', $REFERENCE_BODY);
# the same body for the blocks that change a profile (blocks run in any
# order): its own alternate id and phone number, in no group
for my $n (1, 2) {
    my $b = decode_json($REFERENCE_BODY);
    $b->{AlternateIds}[0]{Value} = "ref-rick-$n";
    $b->{PhoneNumbers}[0]{PhoneNumber} = "+1555010010$n";
    delete $b->{Groups};
    ($n == 1 ? $ref_alt : $ref_patch) = profile('RefModelCo', $b);
}
$plain = profile('RefModelCo', { CustomerName => { FirstName => 'Plain' },
                                 CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
                                 Emails => [ { EmailAddress => 'plain@example.com', IsDefault => JSON::PP::true() } ],
                                 PhoneNumbers => [ { PhoneNumber => '+15550100300', IsMobile => JSON::PP::false() } ] });
$other = profile('RefModelOther', { CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
                                    PhoneNumbers => [ { PhoneNumber => '+15550100100' } ],
                                    Groups => [ { Type => 'Household', Name => 'Sanchez' } ] });

# group profiles: the Sanchez household ($ref, $group_a, $group_b), a
# profile in a Company group of the same name ($outsider), one in none
my %cf = (CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ]);
$group_a = profile('RefModelCo', { %cf, CustomerName => { FirstName => 'Morty' },
                                   PhoneNumbers => [ { PhoneNumber => '+15550100201' } ],
                                   Groups => [ { Type => 'Household', Name => 'Sanchez' } ] });
$group_b = profile('RefModelCo', { %cf, CustomerName => { FirstName => 'Summer' },
                                   Groups => [ { Type => 'Household', Name => 'Sanchez' },
                                               { Type => 'Company', Name => 'Smith' } ] });
$outsider = profile('RefModelCo', { %cf, CustomerName => { FirstName => 'Jerry' },
                                    Groups => [ { Type => 'Company', Name => 'Sanchez' } ] });
$lone = profile('RefModelCo', { %cf, PhoneNumbers => [ { PhoneNumber => '+15550100202' } ] });
# 51 profiles in one group: too many for a lookup
for my $n (1 .. 51) {
    $crowd = profile('RefModelCo', { %cf, Groups => [ { Type => 'Company', Name => 'Crowd' } ] });
}
PrefsTest::api_prepared();
# the last event of $plain before the blocks (only TEST 6 changes it)
$plain_last = PrefsTest::psql_value("SELECT max(event_id) FROM prefs_event WHERE profile_id = $plain");

# what a refused request must leave as it was
$untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'RefModelCo'), (SELECT md5(string_agg(t::text, '|' ORDER BY t::text))"
    . " FROM (SELECT p::text FROM prefs_profile p JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'RefModelCo' UNION ALL SELECT x::text FROM prefs_preference x"
    . " JOIN prefs_account a USING (account_id) WHERE a.client_id = 'RefModelCo') t)";

api_blocks();
PrefsTest::api_checks();
run_tests();

__DATA__

=== TEST 1: the reference's UserProfilePreference: GET answers every field by the reference's name
--- request eval
"GET /Profiles/v4/RefModelCo/Profile/$::ref"
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::ref, IsActive => 1, Edited => PrefsTest::present(), Consents => [],
  CustomerName => { Prefix => 'Dr', FirstName => 'Rick', MiddleName => 'C', LastName => 'Sanchez', Suffix => 'Sr' },
  DefaultLocale => 'en-US', CustomerType => 'Consumer', RegistrationConfirmed => 1,
  AlternateIds => [ { Type => 'CRMId', Value => 'ref-rick' } ],
  Emails => [ { EmailId => qr/^\d+$/, EmailAddress => 'rick@example.com', EmailAddressType => 'Personal', IsDefault => 1,
                EmailPreferences => [ # profile-level (written first), on the channel's default contact point
                                      { FilterId => 'ProductUpdatesEmail', ChannelId => 'Email' },
                                      { FilterId => 'NewsletterEmail', ProgramId => 'Newsletters', ChannelId => 'Email',
                                        PreferenceType => 1, FrequencyId => 'W',
                                        PreferenceAttributes => [ { Key => 'Topic', Value => 'science' } ],
                                        CustomerDate => '2024-01-01T00:00:00.000Z', ExpirationDate => undef,
                                        LastModifiedDate => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
                                        IsArchived => 0 } ] },
              { EmailAddress => 'rick@citadel.example', EmailAddressType => 'Work', IsDefault => 0,
                EmailPreferences => [ { FilterId => 'PartnerOffersEmail', ProgramId => 'PartnerOffers',
                                        PreferenceType => 2 } ] } ],
  PhoneNumbers => [ { PhoneId => qr/^\d+$/, PhoneNumber => '+15550100100', PhoneNumberType => 'Mobile', IsMobile => 1,
                      IsDefault => 1,
                      PhonePreferences => [ { FilterId => 'NewsletterText', ChannelId => 'Text', FrequencyId => 'M' } ] } ],
  Addresses => [ { AddressId => qr/^\d+$/, Address1 => '1 Main St', Address2 => 'Apt 2', City => 'Springfield',
                   StateProvince => 'IL', PostalCode => '62701', CountryCode => 'US', AddressType => 'Home',
                   IsDefault => 1,
                   AddressPreferences => [ { FilterId => 'ProductUpdatesMail', ChannelId => 'Mail' } ] } ],
  CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ],
  Groups => [ { Type => 'Household', Name => 'Sanchez' } ],
  Tags => [ 'VIP' ],
  ProfilePreferences => [],
  FirstName => PrefsTest::absent(), ContactPoint => PrefsTest::absent() }
--- no_error_log
[error]
[alert]


=== TEST 2: the events of that create carry the reference's names too
--- request eval
"GET /Profiles/v4/RefModelCo/Profile/$::ref"
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin')
--- error_code: 200
--- sql eval
"SELECT string_agg(concat_ws(':', event_type, coalesce(data#>>'{CustomerName,LastName}', data->>'EmailAddress',
                   data->>'PhoneNumber', data->>'Address1', '')), ' ' ORDER BY event_id)
   FROM prefs_event WHERE profile_id = $::ref AND event_type IN ('profile.created', 'contacts.email.added',
                   'contacts.phone.added', 'contacts.address.added')"
--- sql_result
profile.created:Sanchez contacts.email.added:rick@example.com contacts.email.added:rick@citadel.example contacts.phone.added:+15550100100 contacts.address.added:1 Main St
--- no_error_log
[error]
[alert]


=== TEST 3: a preference's event names its contact point by the contact's field (EmailAddress, PhoneNumber, AddressId)
--- request eval
"GET /Profiles/v4/RefModelCo/Profile/$::ref"
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin')
--- error_code: 200
--- sql eval
"SELECT string_agg(concat_ws(':', data->>'FilterId', data->>'EmailAddress', data->>'PhoneNumber',
                   (data->>'AddressId') IS NOT NULL), ' ' ORDER BY data->>'FilterId')
   FROM prefs_event WHERE profile_id = $::ref AND event_type = 'preference.added'"
--- sql_result
NewsletterEmail:rick@example.com:f NewsletterText:+15550100100:f PartnerOffersEmail:rick@citadel.example:f ProductUpdatesEmail:rick@example.com:f ProductUpdatesMail:t
--- no_error_log
[error]
[alert]


=== TEST 4: the flat dialect and unknown fields: 400 naming the field with its path, nothing written
--- request eval
[ map { "POST /Profiles/v4/RefModelCo/Profile/$::plain\n$_" }
  '{"FirstName":"Flat"}',
  '{"CustomerName":{"First":"x"}}',
  '{"Emails":[{"EmailAddress":"a@example.com"},{"Address":"b@example.com"}]}',
  '{"Emails":[{"EmailAddress":"a@example.com","Type":"Work"}]}',
  '{"PhoneNumbers":[{"Number":"+15550100999"}]}',
  '{"Addresses":[{"Address1":"1 Elm St","Line2":"x"}]}',
  '{"Addresses":[{"Address1":"1 Elm St","State":"IL"}]}',
  '{"Emails":[{"EmailAddress":"a@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1,"ContactPoint":"a@example.com"}]}]}',
  '{"PhoneNumbers":[{"PhoneNumber":"+15550100999","PhonePreferences":[{"FilterId":"NewsletterText","Attributes":[]}]}]}',
  '{"ProfilePreferences":[{"FilterId":"ProductUpdatesEmail","PreferenceType":1,"Colour":"red"}]}' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 10 ]
--- response_json_list eval
[ map { { Message => qr/^\Q$_\E is not a known field/ } }
  'FirstName', 'CustomerName.First', 'Emails[1].Address', 'Emails[0].Type', 'PhoneNumbers[0].Number',
  'Addresses[0].Line2', 'Addresses[0].State', 'Emails[0].EmailPreferences[0].ContactPoint',
  'PhoneNumbers[0].PhonePreferences[0].Attributes', 'ProfilePreferences[0].Colour' ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 5: bad nested preferences: a filter of another channel, a Text preference on a landline, the wrong types; each 400 with its path
--- request eval
[ map { "POST /Profiles/v4/RefModelCo/Profile/$::plain\n$_" }
  '{"Emails":[{"EmailAddress":"plain@example.com","EmailPreferences":[{"FilterId":"ProductUpdatesMail","PreferenceType":1}]}]}',
  '{"PhoneNumbers":[{"PhoneNumber":"+15550100300","PhonePreferences":[{"FilterId":"NewsletterText","PreferenceType":1}]}]}',
  '{"Emails":[{"EmailAddress":"plain@example.com","EmailPreferences":{"FilterId":"NewsletterEmail"}}]}',
  '{"Emails":[{"EmailAddress":"plain@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":"1"}]}]}',
  '{"Addresses":[{"Address1":"1 Elm St","AddressPreferences":[{"FilterId":"ProductUpdatesMail","PreferenceType":1,"CustomerDate":"yesterday"}]}]}',
  '{"ProfilePreferences":[{"FilterId":"ProductUpdatesMail","PreferenceType":1}]}',
  '{"ReasonCode":"' . ('x' x 257) . '"}' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 7 ]
--- response_json_list eval
[ map { { Message => $_ } }
  qr/^Emails\[0\]\.EmailPreferences\[0\]\.FilterId 'ProductUpdatesMail' is a filter of the Mail channel/,
  qr/^PhoneNumbers\[0\]\.PhonePreferences\[0\]\.FilterId 'NewsletterText' is on the Text channel: PhoneNumbers\[0\] must be a mobile number/,
  qr/^Emails\[0\]\.EmailPreferences must be an array/,
  qr/^Emails\[0\]\.EmailPreferences\[0\]\.PreferenceType must be/,
  qr/^Addresses\[0\]\.AddressPreferences\[0\]\.CustomerDate must be an ISO 8601 date/,
  qr/^ProfilePreferences\[0\]\.FilterId 'ProductUpdatesMail' is on the Mail channel and the profile has no default address/,
  qr/^ReasonCode must be at most 256 characters/ ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 6: UpdateProfile in the reference's model: a name of CustomerName alone, a new email with its preference
--- request eval
[ "POST /Profiles/v4/RefModelCo/Profile/$::plain\n"
  . '{"CustomerName":{"LastName":"Doe"},"Emails":[{"EmailAddress":"plain@work.example","EmailAddressType":"Work",'
  . '"EmailPreferences":[{"FilterId":"PartnerOffersEmail","PreferenceType":1}]}]}',
  "GET /Profiles/v4/RefModelCo/Profile/$::plain" ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ CustomerName => { FirstName => 'Plain', LastName => 'Doe' },
  Emails => [ { EmailAddress => 'plain@example.com', IsDefault => 1, EmailPreferences => [] },
              { EmailAddress => 'plain@work.example', EmailAddressType => 'Work', IsDefault => 0,
                EmailPreferences => [ { FilterId => 'PartnerOffersEmail', PreferenceType => 1 } ] } ] }
--- sql eval
"SELECT string_agg(event_type || ':' || coalesce(data->>'LastName', data->>'EmailAddress', ''), ' ' ORDER BY event_id)"
. " FROM prefs_event WHERE profile_id = $::plain AND event_id > $::plain_last"
--- sql_result
standardfield.lastname.added:Doe contacts.email.added:plain@work.example preference.added:plain@work.example profile.updated:
--- no_error_log
[error]
[alert]


=== TEST 7: GET Profile/{id}/Preferences: the preferences as the reference nests them
--- request eval
"GET /Profiles/v4/RefModelCo/Profile/$::ref/Preferences"
--- more_headers eval
PrefsTest::auth('RefModelCo', 'reader')
--- error_code: 200
--- response_json eval
{ ProfileId => $::ref, ProfilePreferences => [],
  Emails => [ { EmailAddress => 'rick@example.com',
                EmailPreferences => [ { FilterId => 'ProductUpdatesEmail' }, { FilterId => 'NewsletterEmail' } ] },
              { EmailAddress => 'rick@citadel.example', EmailPreferences => [ { FilterId => 'PartnerOffersEmail' } ] } ],
  PhoneNumbers => [ { PhoneNumber => '+15550100100', PhonePreferences => [ { FilterId => 'NewsletterText' } ] } ],
  Addresses => [ { Address1 => '1 Main St', AddressPreferences => [ { FilterId => 'ProductUpdatesMail' } ] } ],
  CustomerName => PrefsTest::absent(), Tags => PrefsTest::absent() }
--- no_error_log
[error]
[alert]


=== TEST 8: POST Profile/Preferences by alternate id: a phone the profile lacks is added with its preference
--- request eval
[ "POST /Profiles/v4/RefModelCo/Profile/Preferences/AlternateIdType/CRMId/AlternateId/ref-rick-1\n"
  . '{"PhoneNumbers":[{"PhoneNumber":"+1 555 010 0199","IsMobile":true,'
  . '"PhonePreferences":[{"FilterId":"AccountAlertsText","PreferenceType":1}]}]}',
  "GET /Profiles/v4/RefModelCo/Profile/Preferences/AlternateIdType/CRMId/AlternateId/ref-rick-1" ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { ProfileId => $::ref_alt },
  { ProfileId => $::ref_alt,
    PhoneNumbers => [ { PhoneNumber => '+15550100101' },
                      { PhoneNumber => '+15550100199', IsMobile => 1,
                        PhonePreferences => [ { FilterId => 'AccountAlertsText', ChannelId => 'Text' } ] } ] } ]
--- no_error_log
[error]
[alert]


=== TEST 9: a preferences write takes only the preference part: anything else is 400 naming it, nothing written
--- request eval
[ map { "POST /Profiles/v4/RefModelCo/Profile/$::plain/Preferences\n$_" }
  '{"CustomerName":{"FirstName":"x"}}',
  '{"Tags":["VIP"],"ProfilePreferences":[]}',
  '"NewsletterEmail"',
  '[{"FilterId":"NewsletterEmail","ContactPoint":"plain@example.com","PreferenceType":1}]' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 4 ]
--- response_json_list eval
[ { Message => qr/^CustomerName is not a known field/ }, { Message => qr/^Tags is not a known field/ },
  { Message => qr/not valid JSON/ },
  { Message => qr/^ProfilePreferences\[0\]\.ContactPoint is not a known field/ } ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 10: a preferences write to another account's profile or a hostile id: 404, nothing written
--- request eval
[ "POST /Profiles/v4/RefModelCo/Profile/$::other/Preferences\n" . '{"FilterId":"NewsletterEmail","PreferenceType":1}',
  "POST /Profiles/v4/RefModelCo/Profile/$::other/Preferences\n" . '{"Bogus":1}',
  "POST /Profiles/v4/RefModelCo/Profile/1e3/Preferences\n" . '{"FilterId":"NewsletterEmail","PreferenceType":1}' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 404, 404, 404 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 11: Profile/Phone?phoneNumber= finds a stored +15550100100 by its digits, in any spelling; not another account's
--- request eval
[ map { "GET /Profiles/v4/RefModelCo/Profile/Phone?phoneNumber=$_" }
  '15550100100', '%2B15550100100', '1%20(555)%20010-0100', '5550100100', '' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'reader')
--- error_code eval
[ 200, 200, 200, 200, 400 ]
--- response_json_list eval
[ ([ { ProfileId => $::ref, PhoneNumbers => PrefsTest::contains({ PhoneNumber => '+15550100100' }) } ]) x 3, [],
  { Message => qr/phoneNumber is required/ } ]
--- no_error_log
[error]
[alert]


=== TEST 12: GET Profile/{id}/Group: the profile and those sharing a group with it (type and name)
--- request eval
[ "GET /Profiles/v4/RefModelCo/Profile/$::ref/Group", "GET /Profiles/v4/RefModelCo/Profile/$::outsider/Group",
  "GET /Profiles/v4/RefModelCo/Profile/$::lone/Group" ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'reader')
--- error_code eval
[ 200, 200, 200 ]
--- response_json_list eval
[ [ { ProfileId => $::ref, CustomerName => { LastName => 'Sanchez' } }, { ProfileId => $::group_a },
    { ProfileId => $::group_b } ],
  [ { ProfileId => $::outsider } ],
  [ { ProfileId => $::lone, Groups => [] } ] ]
--- no_error_log
[error]
[alert]


=== TEST 13: GET Profile/Group/Phone?phoneNumber=: the profiles of the number and their groups
--- request eval
[ map { "GET /Profiles/v4/RefModelCo/Profile/Group/Phone?phoneNumber=$_" } '15550100201', '%2B15550100202', '15550100777' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'reader')
--- error_code eval
[ 200, 200, 200 ]
--- response_json_list eval
[ [ { ProfileId => $::ref }, { ProfileId => $::group_a }, { ProfileId => $::group_b } ],
  [ { ProfileId => $::lone } ],
  [] ]
--- no_error_log
[error]
[alert]


=== TEST 14: group routes refused: no such profile, another account's, a hostile id, no phone number, more than 50 profiles, no ProfileRead
--- request eval
[ "GET /Profiles/v4/RefModelCo/Profile/999999999/Group", "GET /Profiles/v4/RefModelCo/Profile/$::other/Group",
  "GET /Profiles/v4/RefModelCo/Profile/x'1/Group", "GET /Profiles/v4/RefModelCo/Profile/Group/Phone",
  "GET /Profiles/v4/RefModelCo/Profile/$::crowd/Group" ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'reader')
--- error_code eval
[ 404, 404, 404, 400, 403 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 4, { Message => qr/More than 50 profiles match/ } ]
--- no_error_log
[error]
[alert]


=== TEST 15: JSON Patch with the reference's paths: a name, an email's type, a nested preference changed, another removed (archived)
--- request eval
[ "PATCH /Profiles/v4/RefModelCo/Profile/$::ref_patch\n" . JSON::PP::encode_json([
    { op => 'test', path => '/Emails/0/EmailPreferences/1/FilterId', value => 'NewsletterEmail' },
    { op => 'replace', path => '/CustomerName/Suffix', value => 'Jr' },
    { op => 'replace', path => '/Emails/1/EmailAddressType', value => 'Personal' },
    { op => 'replace', path => '/Emails/0/EmailPreferences/1/PreferenceType', value => 2 },
    { op => 'remove', path => '/Emails/1/EmailPreferences/0' } ]) ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ CustomerName => { Suffix => 'Jr' },
  Emails => [ { EmailPreferences => [ { FilterId => 'ProductUpdatesEmail', PreferenceType => 1 },
                                      { FilterId => 'NewsletterEmail', PreferenceType => 2 } ] },
              { EmailAddressType => 'Personal',
                EmailPreferences => [ { FilterId => 'PartnerOffersEmail', IsArchived => 1 } ] } ] }
--- sql eval
"SELECT string_agg(event_type, ' ' ORDER BY event_id) FROM prefs_event WHERE profile_id = $::ref_patch"
. " AND event_type IN ('standardfield.suffix.updated', 'contacts.email.updated', 'preference.updated',"
. " 'preference.archived', 'profile.replaced')"
--- sql_result
standardfield.suffix.updated contacts.email.updated preference.updated preference.archived profile.replaced
--- no_error_log
[error]
[alert]


=== TEST 16: JSON Patch with the flat paths of before: 409 (a test) or 400, nothing changed
--- request eval
[ "PATCH /Profiles/v4/RefModelCo/Profile/$::plain\n" . '[{"op":"test","path":"/FirstName","value":"Plain"}]',
  "PATCH /Profiles/v4/RefModelCo/Profile/$::plain\n" . '[{"op":"add","path":"/FirstName","value":"Flat"}]',
  "PATCH /Profiles/v4/RefModelCo/Profile/$::plain\n" . '[{"op":"replace","path":"/Emails/0/Address","value":"x@example.com"}]' ]
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code eval
[ 409, 400, 400 ]
--- response_json_list eval
[ { Message => qr/./ }, { Message => qr/FirstName is not a known field/ }, { Message => qr/does not exist/ } ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 17: a webhook subscription's ContactTypes selects contact events by the type their model names (EmailAddressType, PhoneNumberType, AddressType)
--- request eval
"GET /Profiles/v4/RefModelCo/Profile/$::ref"
--- more_headers eval
PrefsTest::auth('RefModelCo', 'admin')
--- error_code: 200
--- sql eval
"SELECT string_agg(concat_ws('/', event_type,"
. " prefs_event_matches(jsonb_build_array(jsonb_build_object('EventType', event_type,"
. "     'ContactTypes', jsonb_build_array('Work', 'mobile', 'Home'))), event_type, data),"
. " prefs_event_matches(jsonb_build_array(jsonb_build_object('EventType', event_type,"
. "     'ContactTypes', jsonb_build_array('Billing'))), event_type, data)),"
. " ' ' ORDER BY event_id) FROM prefs_event WHERE profile_id = $::ref AND event_type LIKE 'contacts.%.added'"
--- sql_result
contacts.alternateid.added/f/f contacts.email.added/f/f contacts.email.added/t/f contacts.phone.added/t/f contacts.address.added/t/f
--- no_error_log
[error]
[alert]
