# Consents on the reference's model (issue 11; mypreferences-api.md 5.2,
# sql/functions/consents.sql): POST Consents/{profileId} takes the
# reference's create-consent body verbatim (ConsentType, ConsentVersion,
# Locale, ConsentStatus, ConsentDate) and the reads answer those names
# (GET Consents/{id}, the profile's Consents, the history by alternate id,
# the events' Data); ConsentDate's rules; what an opt-out of a preference
# linked to a consent does, told the same way by the read and by the Events
# API; ReasonCode up to 256 characters; and the refusals: every one a 400
# (or 404) with a Message, nothing recorded.  The configuration reads
# (GET ConsentStatus, ConsentTypes with LocalizedFields[].Locale) are in
# t/110-config-api.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our (%p, $other, $e0);

api_account('ConsentCo');
api_user('ConsentCo', 'admin', 'Administrators');
api_account('ConsentOther');
api_user('ConsentOther', 'admin', 'Administrators');

# the demo configuration, with Marketing 1.0 active too: the reference's
# own example records version 1.0
my $demo = do {
    open my $fh, '<', PrefsTest::top() . '/conf/demo-config.json' or die "demo-config.json: $!\n";
    local $/;
    JSON::PP->new->utf8->decode(<$fh>);
};
my ($mkt) = grep { $_->{TypeName} eq 'Marketing' } @{ $demo->{ConsentTypes} };
$_->{IsActive} = JSON::PP::true() for @{ $mkt->{Versions} };
api_config_import('ConsentCo', $demo);
api_config_import('ConsentOther');

sub request {
    my ($client, $method, $path, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', $method, $path, $body);
    return ($st, $j, $raw);
}

sub request_ok {
    my ($st, $j, $raw) = request(@_);
    die "preparing $_[1] $_[2]: $st $raw\n" unless $st =~ /^20/;
    return $j;
}

# A write of a profile in the reference's UserProfilePreference model
# (EmailAddress, Emails[].EmailPreferences[]).  Only the preparation
# depends on it: the blocks read consents.
sub profile_write {
    my ($client, $method, $path, $body) = @_;
    my ($st, $j, $raw) = request($client, $method, $path, $body);
    die "preparing $method $path: $st $raw\n" unless $st =~ /^20/;
    return $j;
}

# A profile with an email address (and an alternate id when asked).
sub profile {
    my ($client, %o) = @_;
    my $email = $o{email} // 'c@example.com';
    my %base = (CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ]);
    $base{AlternateIds} = [ { Type => 'CRMId', Value => $o{crm} } ] if $o{crm};
    return profile_write($client, 'POST', 'Profile',
        { %base, Emails => [ { EmailAddress => $email, EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ] })
        ->{ProfileId};
}

# A preference of the profile's email address.
sub preference {
    my ($pid, $email, $filter, $type) = @_;
    profile_write('ConsentCo', 'POST', "Profile/$pid",
        { Emails => [ { EmailAddress => $email, EmailPreferences => [ { FilterId => $filter, PreferenceType => $type } ] } ] });
}

$e0 = PrefsTest::psql_value('SELECT coalesce(max(event_id), 0) FROM prefs_event');
$p{$_} = profile('ConsentCo') for qw(verbatim reference dates now refused oldnames bad hostile reason reason_bad);
$other = profile('ConsentOther');
request_ok('ConsentOther', 'POST', "Consents/$other", { Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ] });

# the opt-out: a Granted Marketing consent, a preference of a filter that
# requires it (NewsletterEmail), then the preference opted out
$p{optout} = profile('ConsentCo', email => 'q@example.com', crm => "crm-$$");
request_ok('ConsentCo', 'POST', "Consents/$p{optout}", { Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0',
    Locale => 'en-US', ConsentStatus => 1, ConsentDate => '2024-01-01T00:00:00Z' } ] });
preference($p{optout}, 'q@example.com', 'NewsletterEmail', 1);
preference($p{optout}, 'q@example.com', 'NewsletterEmail', 2);

# the same opted out and in again
$p{optin} = profile('ConsentCo', email => 'r@example.com');
request_ok('ConsentCo', 'POST', "Consents/$p{optin}", { Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ] });
preference($p{optin}, 'r@example.com', 'NewsletterEmail', $_) for 1, 2, 1;

# a revocation: Granted, then Revoked
$p{revoked} = profile('ConsentCo');
request_ok('ConsentCo', 'POST', "Consents/$p{revoked}", { Consents => [ { ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => $_ } ] })
    for 1, 3;

PrefsTest::api_prepared();
PrefsTest::events_settled();

sub main::writer { PrefsTest::auth($_[0] // 'ConsentCo', 'admin') . "Content-Type: application/json\n" }
sub main::consents_of { "SELECT count(*) FROM prefs_consent WHERE profile_id = $_[0];" }
sub main::events_of { "SELECT count(*) FROM prefs_event WHERE profile_id = $_[0] AND event_id > $::e0;" }

api_blocks();
run_tests();

__DATA__

=== TEST 1: POST Consents/{profileId} with the issue's body verbatim: 200; GET Consents/{profileId} answers the reference's names
--- request eval
[ "POST /Profiles/v4/ConsentCo/Consents/$::p{verbatim}\n"
  . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","Locale":"fr-FR","ConsentStatus":1,"ConsentDate":"2024-01-01T00:00:00Z"}]}',
  "GET /Profiles/v4/ConsentCo/Consents/$::p{verbatim}" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', Locale => 'fr-FR', ConsentStatus => 1,
    ConsentDate => '2024-01-01T00:00:00.000Z', ExpirationDate => '2025-12-31T00:00:00.000Z', IsActive => 1,
    RecordedDate => qr/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, ContactPoint => undef, Filters => [],
    TypeName => PrefsTest::absent(), Version => PrefsTest::absent(), Status => PrefsTest::absent(),
    CustomerDate => PrefsTest::absent() } ] }
--- sql eval
"SELECT event_type, data->>'ConsentType', data->>'ConsentVersion', data->>'Locale', data->>'ConsentStatus',
        data->>'ConsentDate', data ? 'TypeName'
   FROM prefs_event WHERE profile_id = $::p{verbatim} AND event_type LIKE 'consent.%'"
--- sql_result
consent.added|Marketing|2.0|fr-FR|1|2024-01-01T00:00:00.000Z|f
--- no_error_log
[error]
[alert]


=== TEST 2: the example of mypreferences-api.md 5.2 verbatim (version 1.0, en-US): 200, answered as sent
--- request eval
[ "POST /Profiles/v4/ConsentCo/Consents/$::p{reference}\n"
  . '{ "Consents": [ { "ConsentType": "Marketing", "ConsentVersion": "1.0", "Locale": "en-US",
                  "ConsentStatus": 1, "ConsentDate": "2024-01-01T00:00:00Z" } ] }',
  "GET /Profiles/v4/ConsentCo/Consents/$::p{reference}" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => [ { ConsentType => 'Marketing', ConsentVersion => '1.0', Locale => 'en-US', ConsentStatus => 1,
    ConsentDate => '2024-01-01T00:00:00.000Z' } ] }
--- no_error_log
[error]
[alert]


=== TEST 3: ConsentDate without an offset is US Eastern time; a date alone is 00:00 ET when Granted, 23:59:59 ET otherwise; a name for ConsentStatus is taken too
--- request eval
[ "POST /Profiles/v4/ConsentCo/Consents/$::p{dates}\n"
  . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":"Granted","ConsentDate":"2024-01-15"},'
  . '{"ConsentType":"DataSharing","ConsentVersion":"1.0","ConsentStatus":3,"ConsentDate":"2024-01-15"},'
  . '{"ConsentType":"TextMessaging","ConsentVersion":"2024-01","ConsentStatus":2,"ConsentDate":"2024-07-04T09:30:00"}]}',
  "GET /Profiles/v4/ConsentCo/Consents/$::p{dates}" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => [
    { ConsentType => 'DataSharing', ConsentStatus => 3, ConsentDate => '2024-01-16T04:59:59.000Z', ExpirationDate => '2025-01-15T04:59:59.000Z' },
    { ConsentType => 'Marketing', ConsentStatus => 1, ConsentDate => '2024-01-15T05:00:00.000Z' },
    { ConsentType => 'TextMessaging', ConsentStatus => 2, ConsentDate => '2024-07-04T13:30:00.000Z', ExpirationDate => undef } ] }
--- no_error_log
[error]
[alert]


=== TEST 4: no ConsentDate (or an empty one): the consent is dated when it is recorded
--- request eval
"POST /Profiles/v4/ConsentCo/Consents/$::p{now}\n"
. '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1},'
. '{"ConsentType":"DataSharing","ConsentVersion":"1.0","ConsentStatus":1,"ConsentDate":""}]}'
--- more_headers eval
main::writer()
--- error_code: 200
--- sql eval
"SELECT count(*), bool_and(abs(extract(epoch FROM customer_date - recorded_at)) < 60) FROM prefs_consent WHERE profile_id = $::p{now}"
--- sql_result
2|t
--- no_error_log
[error]
[alert]


=== TEST 5: refused ConsentDates: in the future, not a date, not a string: 400 naming the field, nothing recorded
--- request eval
my $c = "POST /Profiles/v4/ConsentCo/Consents/$::p{refused}\n";
my $item = sub { $c . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"ConsentDate":' . $_[0] . '}]}' };
[ $item->('"2999-01-01T00:00:00Z"'), $item->('"2999-12-31"'), $item->('"2024-02-30"'), $item->('20240101'),
  $item->('"2024-01-01T25:00:00Z"'), $item->('"yesterday"') ]
--- more_headers eval
main::writer()
--- error_code eval
[ (400) x 6 ]
--- response_json_list eval
[ { Message => 'Consents[0].ConsentDate must not be in the future' },
  { Message => 'Consents[0].ConsentDate must not be in the future' },
  ({ Message => qr/^Consents\[0\]\.ConsentDate must be an ISO 8601 date/ }) x 4 ]
--- sql_unchanged eval
main::consents_of($::p{refused}) . main::events_of($::p{refused})
--- no_error_log
[error]
[alert]


=== TEST 6: the names of the old dialect (TypeName, Version, Status, CustomerDate) are refused: 400 naming the field
--- request eval
my $c = "POST /Profiles/v4/ConsentCo/Consents/$::p{oldnames}\n";
[ $c . '{"Consents":[{"TypeName":"Marketing","Version":"2.0","Status":"Granted"}]}',
  $c . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"CustomerDate":"2024-01-01"}]}',
  $c . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","consentStatus":1}]}' ]
--- more_headers eval
main::writer()
--- error_code eval
[ 400, 400, 400 ]
--- response_json_list eval
[ { Message => 'Consents[0].Status is not a known field' },
  { Message => 'Consents[0].CustomerDate is not a known field' },
  { Message => 'Consents[0].consentStatus is not a known field (field names are case-sensitive: ConsentStatus)' } ]
--- sql_unchanged eval
main::consents_of($::p{oldnames}) . main::events_of($::p{oldnames})
--- no_error_log
[error]
[alert]


=== TEST 7: bad consents: wrong types and values, unknown configuration, oversized, malformed JSON, invalid UTF-8: each 400, nothing recorded
--- request eval
my $c = "POST /Profiles/v4/ConsentCo/Consents/$::p{bad}\n";
my $item = sub { $c . '{"Consents":[{' . $_[0] . '}]}' };
my $ok = '"ConsentType":"Marketing","ConsentVersion":"2.0"';
[ $item->("$ok,\"ConsentStatus\":5"),
  $item->("$ok,\"ConsentStatus\":\"Maybe\""),
  $item->("$ok,\"ConsentStatus\":true"),
  $item->($ok),
  $item->('"ConsentType":"Nope","ConsentVersion":"2.0","ConsentStatus":1'),
  $item->('"ConsentType":"Marketing","ConsentVersion":"9.9","ConsentStatus":1'),
  $item->("$ok,\"ConsentStatus\":1,\"Locale\":\"xx-XX\""),
  $item->('"ConsentType":"' . ('M' x 51) . '","ConsentVersion":"2.0","ConsentStatus":1'),
  $item->('"ConsentType":7,"ConsentVersion":"2.0","ConsentStatus":1'),
  $c . '{"Consents":[' . CORE::join(',', ('{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1}') x 101) . ']}',
  $c . '{"Consents":[{"ConsentType":"Marketing"',
  $c . "{\"Consents\":[{\"ConsentType\":\"Mark\xffeting\",\"ConsentVersion\":\"2.0\",\"ConsentStatus\":1}]}",
  $c . '{"Consents":[{"ConsentType":"Marketing","ConsentType":"DataSharing","ConsentVersion":"1.0","ConsentStatus":1}]}' ]
--- more_headers eval
main::writer()
--- error_code eval
[ (400) x 13 ]
--- response_json_list eval
[ { Message => 'Consents[0].ConsentStatus must be 1 (Granted), 2 (Denied), 3 (Revoked) or 4 (NotSet), or that name' },
  { Message => qr/^Consents\[0\]\.ConsentStatus must be 1 \(Granted\)/ },
  { Message => qr/^Consents\[0\]\.ConsentStatus must be 1 \(Granted\)/ },
  { Message => 'Consents[0].ConsentStatus is required' },
  { Message => q{Consents[0].ConsentType 'Nope' is not an active consent type} },
  { Message => q{Consents[0].ConsentVersion '9.9' is not an active version of consent type 'Marketing'} },
  { Message => q{Consents[0].Locale 'xx-XX' is not an active locale} },
  { Message => 'Consents[0].ConsentType must be at most 50 characters' },
  { Message => 'Consents[0].ConsentType must be a string' },
  { Message => 'Consents must have at most 100 elements' },
  ({ Message => qr/./ }) x 3 ]
--- sql_unchanged eval
main::consents_of($::p{bad}) . main::events_of($::p{bad})
--- no_error_log
[error]
[alert]


=== TEST 8: hostile and unknown profile ids, another account's profile: 4xx with a Message, nothing recorded
--- request eval
my $b = "\n" . '{"Consents":[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1}]}';
[ "POST /Profiles/v4/ConsentCo/Consents/$::other$b",
  "GET /Profiles/v4/ConsentCo/Consents/$::other",
  "POST /Profiles/v4/ConsentCo/Consents/99999999999999999999$b",
  "POST /Profiles/v4/ConsentCo/Consents/-1$b",
  "POST /Profiles/v4/ConsentCo/Consents/1%27%20OR%201=1$b",
  "POST /Profiles/v4/ConsentCo/Consents/0$b" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 404, 404, (404) x 4 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 6 ]
--- sql_unchanged eval
main::consents_of($::other) . " SELECT count(*) FROM prefs_consent c JOIN prefs_account a USING (account_id) WHERE a.client_id = 'ConsentCo'"
--- no_error_log
[error]
[alert]


=== TEST 9: after an opt-out of a preference linked to a Granted consent, GET Consents/{id} shows it: the consent stays Granted for the profile and is Revoked for that preference
--- request eval
"GET /Profiles/v4/ConsentCo/Consents/$::p{optout}"
--- more_headers eval
main::writer()
--- error_code: 200
--- response_json eval
{ Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', Locale => 'en-US', ConsentStatus => 1,
    Filters => [ { FilterId => 'NewsletterEmail', ChannelId => 'Email', ContactPoint => 'q@example.com', ConsentStatus => 3 } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 10: ... and the Events API tells the same: consent.updated for that preference, Granted (1) to Revoked (3)
--- request eval
"GET /Profiles/v4/ConsentCo/Events/Profile/$::p{optout}?subscribedOnly=false&eventType=consent.updated"
--- more_headers eval
main::writer()
--- error_code: 200
--- response_json eval
{ Events => [ { EventType => 'consent.updated', ProfileId => $::p{optout},
    Data => { ConsentType => 'Marketing', ConsentVersion => '2.0', Locale => 'en-US', ConsentStatus => 3,
              FilterId => 'NewsletterEmail', ChannelId => 'Email', ContactPoint => 'q@example.com' },
    PreviousData => { ConsentType => 'Marketing', ConsentStatus => 1, FilterId => 'NewsletterEmail' } } ] }
--- no_error_log
[error]
[alert]


=== TEST 11: ... and so do the profile's Consents and the consent history by alternate id (with the reference's CustomerName)
--- request eval
[ "GET /Profiles/v4/ConsentCo/Profile/$::p{optout}",
  "GET /Profiles/v4/ConsentCo/Profile/Consents/History?alternateIdType=CRMId&alternateId=crm-$$" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Consents => [ { ConsentType => 'Marketing', ConsentStatus => 1,
      Filters => [ { FilterId => 'NewsletterEmail', ConsentStatus => 3 } ] } ] },
  { ProfileId => $::p{optout}, CustomerName => PrefsTest::present(),
    Consents => [ { ConsentType => 'Marketing', ConsentStatus => 1, ConsentDate => '2024-01-01T00:00:00.000Z',
      Filters => [ { FilterId => 'NewsletterEmail', ConsentStatus => 3 } ] } ] } ]
--- no_error_log
[error]
[alert]


=== TEST 12: a new record of a consent: consent.updated with the record in Data and the one before in PreviousData, both under the reference's names
--- request eval
"GET /Profiles/v4/ConsentCo/Consents/$::p{revoked}?includeConsentHistory=true"
--- more_headers eval
main::writer()
--- error_code: 200
--- response_json eval
{ Consents => [ { ConsentType => 'DataSharing', ConsentStatus => 1 }, { ConsentType => 'DataSharing', ConsentStatus => 3 } ] }
--- sql eval
"SELECT event_type, data->>'ConsentType', data->>'ConsentStatus', previous_data->>'ConsentStatus'
   FROM prefs_event WHERE profile_id = $::p{revoked} AND event_type LIKE 'consent.%' ORDER BY event_id"
--- sql_result
consent.added|DataSharing|1|
consent.updated|DataSharing|3|1
--- no_error_log
[error]
[alert]


=== TEST 13: a webhook subscription's ConsentTypes select consent events by the ConsentType of their Data (and by the TypeName of events recorded before)
--- request
GET /Profiles/v4/ConsentCo/ConsentStatus
--- more_headers eval
main::writer()
--- error_code: 200
--- sql
SELECT prefs_event_matches('[{"EventType":"consent.updated","ConsentTypes":["marketing"]}]', 'consent.updated', '{"ConsentType":"Marketing"}'),
       prefs_event_matches('[{"EventType":"consent.updated","ConsentTypes":["Marketing"]}]', 'consent.updated', '{"ConsentType":"DataSharing"}'),
       prefs_event_matches('[{"EventType":"consent.updated","ConsentTypes":["Marketing"]}]', 'consent.updated', '{"TypeName":"Marketing"}')
--- sql_result
t|f|t
--- no_error_log
[error]
[alert]


=== TEST 14: DELETE Profile/{id}?ReasonCode= takes 256 characters (the reference's limit), not only 100
--- request eval
[ "DELETE /Profiles/v4/ConsentCo/Profile/$::p{reason}?ReasonCode=" . ('%C3%A9' x 255) . 'x',
  "GET /Profiles/v4/ConsentCo/Profile/$::p{reason}" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 204, 200 ]
--- response_json eval
{ IsActive => 0, ReasonCode => ("\x{e9}" x 255) . 'x' }
--- no_error_log
[error]
[alert]


=== TEST 15: a ReasonCode of 257 characters, one that is not UTF-8, one with a NUL: 400, the profile stays active
--- request eval
[ "DELETE /Profiles/v4/ConsentCo/Profile/$::p{reason_bad}?ReasonCode=" . ('x' x 257),
  "DELETE /Profiles/v4/ConsentCo/Profile/$::p{reason_bad}?ReasonCode=" . ('%C3%A9' x 257),
  "DELETE /Profiles/v4/ConsentCo/Profile/$::p{reason_bad}?ReasonCode=moved%FF",
  "DELETE /Profiles/v4/ConsentCo/Profile/$::p{reason_bad}?ReasonCode=moved%00out" ]
--- more_headers eval
main::writer()
--- error_code eval
[ (400) x 4 ]
--- response_json_list eval
[ ({ Message => qr/^ReasonCode must be (0 to )?(at most )?256 characters/ }) x 2,
  ({ Message => qr/^The query string is invalid: the value of ReasonCode is badly encoded/ }) x 2 ]
--- sql_unchanged eval
"SELECT is_active, reason_code FROM prefs_profile WHERE profile_id = $::p{reason_bad}; " . main::events_of($::p{reason_bad})
--- no_error_log
[error]
[alert]


=== TEST 16: opted out and in again: the preference's link is Granted again, in the read and in the events (two consent.updated, 3 then 1)
--- request eval
[ "GET /Profiles/v4/ConsentCo/Consents/$::p{optin}",
  "GET /Profiles/v4/ConsentCo/Events/Profile/$::p{optin}?subscribedOnly=false&eventType=consent.updated" ]
--- more_headers eval
main::writer()
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Consents => [ { ConsentType => 'Marketing', ConsentStatus => 1,
      Filters => [ { FilterId => 'NewsletterEmail', ConsentStatus => 1 } ] } ] },
  { Events => [ { Data => { FilterId => 'NewsletterEmail', ConsentStatus => 3 }, PreviousData => { ConsentStatus => 1 } },
                { Data => { FilterId => 'NewsletterEmail', ConsentStatus => 1 }, PreviousData => { ConsentStatus => 3 } } ] } ]
--- no_error_log
[error]
[alert]
