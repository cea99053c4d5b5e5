# Idempotency-Key on creates (POST Profile, POST Users): replays, 422 for
# another request, bad keys, keys per account and user, expiry; the v4
# routes by alternate id (preferences, consent history); the v3 Preferences
# routes over the same data (both ways), with bad input, other accounts and
# permissions.  (Concurrent duplicates and concurrent writers of one new
# customer: t/133-data-v3-idem-concurrent.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

for my $c ('IdemCo', 'IdemOther', 'IdemTypeCo') {
    api_account($c);
    api_user($c, 'admin', 'Administrators');
    PrefsTest::api_config_import($c);
}
api_user('IdemCo', 'admin2', 'Administrators');
api_user('IdemCo', 'reader', 'ReadOnly');

our @required = ({ Name => 'FavoriteCategory', Value => 'Garden' });

# a request made while preparing, which must succeed: its decoded answer
sub prepare {
    my ($method, $path, $body, %o) = @_;
    my ($st, $h, $j, $raw) = PrefsTest::api_request($o{client} // 'IdemCo', 'admin', $method, $path, $body, $o{headers});
    die "preparing $method $path: $st $raw\n" unless $st =~ /^20/;
    return wantarray ? ($j, $raw, $h) : $j;
}

sub profile_by_cid { prepare('GET', "Profile/AlternateIdType/CID/AlternateId/$_[0]")->{ProfileId} }

# a v3 customer's profile id, while the blocks run
sub profile_id { psql_value("SELECT profile_id FROM prefs_profile_alternate_id WHERE type = 'CID' AND value = :'v'", v => $_[0]) }

our ($id1, $raw1, $exp_id, $uraw, $alt_a, $alt_r, $alt_r_prefs, $alt_l, $alt_c, $cid_w, $cid_u, $cid_u_last, $cid_p,
     $cid_p_id, $cid_m_id, $op);

# --- Idempotency-Key ----------------------------------------------------------------
our $create = JSON::PP->new->canonical->encode({ CustomerName => { FirstName => 'Idem' }, CustomFields => \@required });
(undef, $raw1) = prepare('POST', 'Profile', $create, headers => { 'Idempotency-Key' => 'key-one' });
$id1 = decode_json($raw1)->{ProfileId};
prepare('POST', 'Profile', $create, headers => { 'Idempotency-Key' => 'k' x 255 });
$exp_id = prepare('POST', 'Profile', $create, headers => { 'Idempotency-Key' => 'key-expired' })->{ProfileId};
psql("UPDATE prefs_idempotency SET created_at = now() - interval '25 hours' WHERE idem_key = 'key-expired'");
psql("INSERT INTO prefs_idempotency (account_id, user_id, idem_key, fingerprint, operation, answer, created_at)"
     . " SELECT account_id, 0, 'key-stale', 'x', 'profile.create', '{}', now() - interval '3 days'"
     . " FROM prefs_account WHERE client_id = 'IdemCo'");
our $user = '{"UserName":"idem.user","FirstName":"I"}';
(undef, $uraw) = prepare('POST', 'Users', $user, headers => { 'Idempotency-Key' => 'user-key' });

# --- v4 routes by alternate id ------------------------------------------------------------
sub alt_profile {
    my ($crm) = @_;
    return prepare('POST', 'Profile', { CustomerName => { FirstName => 'Alt' }, CustomFields => \@required,
        AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
        Emails => [ { EmailAddress => "$crm\@example.com", IsDefault => JSON::PP::true() } ] })->{ProfileId};
}
$alt_a = alt_profile('crm-a');
$alt_r = alt_profile('crm-r');
prepare('POST', 'Profile/Preferences/AlternateIdType/CRMId/AlternateId/crm-r',
        { Emails => [ { EmailAddress => 'crm-r@example.com', EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] });
$alt_r_prefs = prepare('GET', "Profile/$alt_r/Preferences");
$alt_l = alt_profile('crm-l');
prepare('POST', 'Profile/Preferences/AlternateIdType/CRMId/AlternateId/crm-l',
        { Emails => [ { EmailAddress => 'crm-l@example.com', EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] });
$alt_c = alt_profile('crm-c');
prepare('POST', "Consents/$alt_c", [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => $_ } ]) for 1, 3;

# --- v3 Preferences -----------------------------------------------------------------------
prepare('POST', 'AlternateIdTypes', { Name => 'CID', Description => 'v3 customer id' });

# a customer made through v3: (CID, email) with a NewsletterEmail preference
sub v3_customer {
    my ($cid, %extra) = @_;
    prepare('POST', 'v3:Preferences', [ { CID => $cid, FirstName => 'Vera', LastName => 'Three', FilterID => 'NewsletterEmail',
        PreferenceType => 1, FrequencyID => 'W', ContactElement => { Email => "$cid\@example.com" }, %extra } ]);
    return $cid;
}
v3_customer('cid-r');
$cid_w = v3_customer('cid-w');
v3_customer('cid-r2');
prepare('POST', 'Profile/' . profile_by_cid('cid-r2') . '/Preferences',
        { Emails => [ { EmailAddress => 'cid-r2@example.com', EmailPreferences => [ { FilterId => 'PartnerOffersEmail', PreferenceType => 1 } ] } ] });
v3_customer('cid-a', PreferenceAttributes => [ { Link => 1, Key => 'Topic', Value => 'garden' } ]);
$cid_u = v3_customer('cid-u');
$cid_u_last = psql_value("SELECT max(event_id) FROM prefs_event WHERE profile_id = :'p'", p => profile_by_cid('cid-u'));
$cid_p = v3_customer('cid-p');
$cid_p_id = profile_by_cid('cid-p');
for my $cid ('cid-g', 'cid-n') {
    v3_customer($cid);
    prepare('POST', 'v3:Preferences/Program/Newsletters', { CID => $cid, GlobalPreferenceType => 1,
        ChannelContactPreference => [ { ChannelID => 'Text', ContactElement => { PFT => '+1 555 010 0199' } } ] });
}
prepare('POST', 'v3:Preferences/ProgramGroup/MarketingCommunications',
        { CID => 'cid-n', GlobalPreferenceType => 2, UpdateNestedGroups => 0, FrequencyID => 'M' });
v3_customer('cid-m');
$cid_m_id = profile_by_cid('cid-m');
prepare('POST', 'v3:Preferences', { FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => 'again@example.com' } });
$op = prepare('POST', 'Profile', { CustomerName => { FirstName => 'Oscar' }, CustomFields => \@required }, client => 'IdemOther')->{ProfileId};
PrefsTest::api_prepared();

# what a refused request must leave as it was: the account's events and profiles
our $untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'IdemCo'), (SELECT count(*) FROM prefs_profile p JOIN prefs_account a"
    . " USING (account_id) WHERE a.client_id = 'IdemCo')";
our $others = $untouched =~ s/IdemCo/IdemOther/gr;

our $apath = '/Profiles/v4/IdemCo/Profile/Preferences/AlternateIdType/CRMId/AlternateId';

api_blocks();
PrefsTest::api_checks();
run_tests();

__DATA__

=== TEST 1: POST Profile with an Idempotency-Key: 201 with its Location, not a replay; the key kept with its answer
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-first\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- response_headers_like
Location: .*/Profiles/v4/IdemCo/Profile/\d+
--- response_json eval
{ ProfileId => qr/^\d+$/ }
--- sql
SELECT count(*), min(i.answer->>'profile_id') = :'ProfileId' FROM prefs_idempotency i JOIN prefs_user u USING (user_id)
JOIN prefs_account a ON a.account_id = i.account_id
WHERE a.client_id = 'IdemCo' AND u.user_name = 'admin' AND i.idem_key = 'key-first'
--- sql_result
1|t
--- no_error_log
[error]
[alert]


=== TEST 2: the retry: the same status, body and profile, Idempotent-Replayed, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-one\n"
--- error_code: 201
--- response_headers_like eval
"Location: .*/Profiles/v4/IdemCo/Profile/$::id1\nIdempotent-Replayed: true"
--- response_body eval
$::raw1
--- sql_unchanged eval
$::untouched
--- sql
SELECT count(*) FROM prefs_idempotency i JOIN prefs_account a USING (account_id) JOIN prefs_user u USING (user_id)
WHERE a.client_id = 'IdemCo' AND u.user_name = 'admin' AND i.idem_key = 'key-one'
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 3: the same key with another body: 422 naming the key, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n" . JSON::PP::encode_json({ CustomerName => { FirstName => 'Idem', LastName => 'Other' }, CustomFields => \@::required })
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-one\n"
--- error_code: 422
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 4: the same key on another route: 422, no user created
--- request
POST /Profiles/v4/IdemCo/Users
{"UserName":"u-other-route"}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-one\n"
--- error_code: 422
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql
SELECT count(*) FROM prefs_user WHERE user_name = 'u-other-route'
--- sql_result
0
--- no_error_log
[error]
[alert]


=== TEST 5: another account with the same key: a create of its own, in that account
--- request eval
"POST /Profiles/v4/IdemOther/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-one\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- response_json eval
{ ProfileId => PrefsTest::satisfies(sub { $_[0] != $::id1 }, 'another profile') }
--- sql
SELECT a.client_id FROM prefs_profile p JOIN prefs_account a USING (account_id) WHERE p.profile_id = :'ProfileId'
--- sql_result
IdemOther
--- no_error_log
[error]
[alert]


=== TEST 6: another user of the account with the same key: a create of its own
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin2') . "Content-Type: application/json\nIdempotency-Key: key-one\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- response_json eval
{ ProfileId => PrefsTest::satisfies(sub { $_[0] != $::id1 }, 'another profile') }
--- no_error_log
[error]
[alert]


=== TEST 7: an empty key: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: \n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 8: a key of 256 characters: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: " . ("k" x 256) . "\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 9: a key that is not ASCII: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: caf\xc3\xa9\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 10: a key with a control character: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: a\x01b\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 11: a bad sf-string: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: \"a\\b\"\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 12: two keys: 400, the Message says why, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n" . "Idempotency-Key: a\nidempotency-key: b\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Idempotency-Key/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 13: a key of 255 characters is fine
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: " . ('j' x 255) . "\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- no_error_log
[error]
[alert]


=== TEST 14: the sf-string form of a key is the same key: a replay, nothing created
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: \"" . ('k' x 255) . "\"\n"
--- error_code: 201
--- response_headers
Idempotent-Replayed: true
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 15: a create refused (a required custom field is missing) keeps no key
--- request
POST /Profiles/v4/IdemCo/Profile
{"CustomerName":{"FirstName":"Fix"}}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-refused\n"
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
$::untouched
--- sql
SELECT count(*) FROM prefs_idempotency WHERE idem_key = 'key-refused'
--- sql_result
0
--- no_error_log
[error]
[alert]


=== TEST 16: the corrected request with the key of a refused one creates, as a first request, and the key is kept now
--- request eval
[ "POST /Profiles/v4/IdemCo/Profile\n" . '{"CustomerName":{"FirstName":"Fix"}}',
  "POST /Profiles/v4/IdemCo/Profile\n" . JSON::PP::encode_json({ CustomerName => { FirstName => 'Fix' }, CustomFields => \@::required }) ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-corrected\n"
--- error_code eval
[ 400, 201 ]
--- response_headers eval
[ ("!Idempotent-Replayed") x 2 ]
--- sql
SELECT count(*) FROM prefs_idempotency WHERE idem_key = 'key-corrected'
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 17: an expired key (kept 24 hours): the create runs again; expired keys are deleted as keys are used
--- request eval
"POST /Profiles/v4/IdemCo/Profile\n$::create"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: key-expired\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- response_json eval
{ ProfileId => PrefsTest::satisfies(sub { $_[0] != $::exp_id }, 'a new profile') }
--- sql
SELECT count(*) FROM prefs_idempotency WHERE idem_key = 'key-stale'
--- sql_result
0
--- no_error_log
[error]
[alert]


=== TEST 18: POST Users with a key: 201 as a first request
--- request
POST /Profiles/v4/IdemCo/Users
{"UserName":"idem.first","FirstName":"I"}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: user-first\n"
--- error_code: 201
--- response_headers
!Idempotent-Replayed
--- no_error_log
[error]
[alert]


=== TEST 19: its retry: 201 (not 409), the same body, SubmittedTime included, a replay
--- request eval
"POST /Profiles/v4/IdemCo/Users\n$::user"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\nIdempotency-Key: user-key\n"
--- error_code: 201
--- response_headers_like
Location: .*/Profiles/v4/IdemCo/Users/.+
Idempotent-Replayed: true
--- response_body eval
$::uraw
--- no_error_log
[error]
[alert]


=== TEST 20: without the key the same user is a conflict, as before
--- request eval
"POST /Profiles/v4/IdemCo/Users\n$::user"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 21: POST Profile/Preferences/AlternateIdType/{type}/AlternateId/{id}: the profile id, preference.added recorded
--- request eval
"POST $::apath/crm-a\n" . '{"Emails":[{"EmailAddress":"crm-a@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":1,"FrequencyId":"W"}]}]}'
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_body eval
qq({"ProfileId":$::alt_a})
--- sql eval
"SELECT count(*) FROM prefs_event WHERE profile_id = $::alt_a AND event_type = 'preference.added'"
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 22: GET Profile/Preferences/AlternateIdType/{type}/AlternateId/{id}: the same as GET Profile/{id}/Preferences
--- request eval
"GET $::apath/crm-r"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
PrefsTest::satisfies(sub { $_[0]{ProfileId} == $::alt_r && JSON::PP->new->canonical->encode($_[0])
                           eq JSON::PP->new->canonical->encode($::alt_r_prefs)
                           && PrefsTest::json_match($_[0], { Emails => [ { EmailPreferences => [ { FilterId => 'NewsletterEmail' } ] } ] })
                              eq '' },
                     'the profile named by the alternate id, with its NewsletterEmail preference, as GET Profile/{id}/Preferences')
--- no_error_log
[error]
[alert]


=== TEST 23: route names in any case
--- request
GET /Profiles/v4/IdemCo/profile/preferences/alternateidtype/CRMId/alternateid/crm-r
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::alt_r }
--- no_error_log
[error]
[alert]


=== TEST 24: a list of preferences, the wrapped list: both written, v4 reads them
--- request eval
[ "POST $::apath/crm-l\n" . '[{"FilterId":"PartnerOffersEmail","PreferenceType":2}]',
  "POST $::apath/crm-l\n" . '{"ProfilePreferences":[{"FilterId":"NewsletterEmail","PreferenceType":2}]}',
  "GET /Profiles/v4/IdemCo/Profile/$::alt_l/Preferences" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200, 200 ]
--- response_json eval
# (profile-level: on the default email, crm-l@example.com)
{ ProfilePreferences => [],
  Emails => [ { EmailAddress => 'crm-l@example.com',
                EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 2 },
                                      { FilterId => 'PartnerOffersEmail', PreferenceType => 2 } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 25: unknown alternate ids and bad bodies: 404 or 400 with a Message, no event
--- request eval
[ "GET $::apath/nobody", "GET /Profiles/v4/IdemCo/Profile/Preferences/AlternateIdType/Nope/AlternateId/crm-a",
  "POST $::apath/nobody\n" . '{"FilterId":"NewsletterEmail","PreferenceType":1}',
  "POST $::apath/crm-a\n" . '{"FilterId":',
  "POST $::apath/crm-a\n" . '{"FilterId":"NewsletterEmail","Colour":"red"}',
  "POST $::apath/crm-a\n" . '{"FilterId":"Nope","PreferenceType":1}',
  "POST $::apath/crm-a\n" . '{"Emails":[{"EmailAddress":"crm-a@example.com","EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":"yes"}]}]}',
  "POST $::apath/crm-a\n" . "{\"FilterId\":\"\xff\"}" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 404, 404, 404, (400) x 5 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 8 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 26: a body that is not JSON: 415
--- request eval
"POST $::apath/crm-a\n{}"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 27: another account can neither read nor write by the alternate id
--- request eval
[ "GET /Profiles/v4/IdemOther/Profile/Preferences/AlternateIdType/CRMId/AlternateId/crm-a",
  "POST /Profiles/v4/IdemOther/Profile/Preferences/AlternateIdType/CRMId/AlternateId/crm-a\n"
  . '{"FilterId":"NewsletterEmail","PreferenceType":1}' ]
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 404, 404 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 28: ReadOnly cannot write by the alternate id
--- request eval
"POST $::apath/crm-a\n" . '{"FilterId":"NewsletterEmail","PreferenceType":1}'
--- more_headers eval
PrefsTest::auth('IdemCo', 'reader') . "Content-Type: application/json\n"
--- error_code: 403
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 29: GET Profile/Consents/History: the profile with its names and the whole history in order
--- request
GET /Profiles/v4/IdemCo/Profile/Consents/History?alternateIdType=CRMId&alternateId=crm-c
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::alt_c, CustomerName => { FirstName => 'Alt' }, Consents => [ { ConsentStatus => 1 }, { ConsentStatus => 3 } ] }
--- no_error_log
[error]
[alert]


=== TEST 30: consent history: names in any case
--- request
GET /Profiles/v4/IdemCo/profile/consents/history?AlternateIdType=CRMId&ALTERNATEID=crm-c
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ ProfileId => $::alt_c }
--- no_error_log
[error]
[alert]


=== TEST 31: consent history without alternateId: 400 naming it; a badly encoded query: 400; an unknown alternate id: 404
--- request eval
[ 'GET /Profiles/v4/IdemCo/Profile/Consents/History?alternateIdType=CRMId',
  'GET /Profiles/v4/IdemCo/Profile/Consents/History?alternateIdType=CRMId&alternateId=%zz',
  'GET /Profiles/v4/IdemCo/Profile/Consents/History?alternateIdType=CRMId&alternateId=nobody' ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code eval
[ 400, 400, 404 ]
--- response_json_list eval
[ { Message => qr/alternateId/ }, { Message => qr/./ }, { Message => qr/./ } ]
--- no_error_log
[error]
[alert]


=== TEST 32: consent history of another account: 404
--- request
GET /Profiles/v4/IdemOther/Profile/Consents/History?alternateIdType=CRMId&alternateId=crm-c
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 33: the account gets an alternate id type CID
--- request
POST /Profiles/v4/IdemTypeCo/AlternateIdTypes
{"Name":"CID","Description":"v3 customer id"}
--- more_headers eval
PrefsTest::auth('IdemTypeCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 34: v3 POST Preferences: the preference written in v3 names; the events of a v4 create
--- request
POST /api/3/IdemCo/Preferences
[{"CID":"cid-v1","Prefix":"","FirstName":"Vera","LastName":"Three","FilterID":"NewsletterEmail","PreferenceType":1,
  "FrequencyID":"W","ContactElement":{"Email":"cid-v1@example.com","PFT":""},
  "PreferenceAttributes":[{"Link":1,"Key":"Topic","Value":"garden-v1"}]}]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Preferences => [ { FilterID => 'NewsletterEmail', ProgramID => 'Newsletters', ChannelID => 'Email', CID => 'cid-v1',
                     ContactElement => { Email => 'cid-v1@example.com' },
                     PreferenceAttributes => [ { Key => 'Topic', Value => 'garden-v1' } ] } ] }
--- sql
SELECT string_agg(event_type, ',' ORDER BY event_id),
       count(*) FILTER (WHERE event_type = 'profile.created' AND data#>>'{CustomerName,FirstName}' = 'Vera')
FROM prefs_event WHERE profile_id = (SELECT profile_id FROM prefs_profile_alternate_id WHERE type = 'CID' AND value = 'cid-v1')
--- sql_result
profile.created,contacts.alternateid.added,contacts.email.added,preference.added|1
--- no_error_log
[error]
[alert]


=== TEST 35: v4 finds the v3 customer by the alternate id CID, with its names, email and the preference v3 wrote
--- request
GET /Profiles/v4/IdemCo/Profile/AlternateIdType/CID/AlternateId/cid-r
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ CustomerName => { FirstName => 'Vera' }, ProfilePreferences => [],
  Emails => [ { EmailAddress => 'cid-r@example.com',
                EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 36: v4 adds a preference, v3 GET Preferences/CID/{CID}/Program reads both
--- request eval
[ "POST /Profiles/v4/IdemCo/Profile/" . main::profile_id('cid-w') . "/Preferences\n"
  . '{"Emails":[{"EmailAddress":"cid-w@example.com","EmailPreferences":[{"FilterId":"PartnerOffersEmail","PreferenceType":1}]}]}',
  "GET /api/3/IdemCo/Preferences/CID/cid-w/Program" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Preferences => [ { FilterID => 'NewsletterEmail' }, { FilterID => 'PartnerOffersEmail' } ] }
--- no_error_log
[error]
[alert]


=== TEST 37: ProgramIds[0] selects a program
--- request
GET /api/3/IdemCo/Preferences/CID/cid-r2/Program?ProgramIds[0]=PartnerOffers
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [ { FilterID => 'PartnerOffersEmail' } ] }
--- no_error_log
[error]
[alert]


=== TEST 38: route and parameter names in any case, two programs
--- request
GET /api/3/IdemCo/preferences/cid/cid-r2/program?programIds[0]=Newsletters&programIds[1]=PartnerOffers
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [ PrefsTest::present(), PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 39: GET Preferences/Program/{programId}?CID=
--- request
GET /api/3/IdemCo/Preferences/Program/Newsletters?CID=cid-r2
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [ { FilterID => 'NewsletterEmail' } ] }
--- no_error_log
[error]
[alert]


=== TEST 40: GET Preferences/Attributes finds the preference by its attribute
--- request
GET /api/3/IdemCo/Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [ { CID => 'cid-a', FilterID => 'NewsletterEmail' } ] }
--- no_error_log
[error]
[alert]


=== TEST 41: channels[0] narrows it
--- request
GET /api/3/IdemCo/Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden&channels[0]=Mail
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [] }
--- no_error_log
[error]
[alert]


=== TEST 42: Preferences/Attributes without an attribute, or with an unknown channel: 400
--- request eval
[ 'GET /api/3/IdemCo/Preferences/Attributes',
  'GET /api/3/IdemCo/Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden&channels[0]=Pigeon' ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code eval
[ 400, 400 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 2 ]
--- no_error_log
[error]
[alert]


=== TEST 43: another account finds none of them by attribute
--- request
GET /api/3/IdemOther/Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [] }
--- no_error_log
[error]
[alert]


=== TEST 44: an opt-out through v3 (the wrapped list): preference.updated and profile.updated; v4 sees it
--- request eval
[ "POST /api/3/IdemCo/Preferences\n"
  . '{"Preferences":[{"CID":"cid-u","FilterID":"NewsletterEmail","PreferenceType":2,"ContactElement":{"Email":"cid-u@example.com"}}]}',
  "GET /Profiles/v4/IdemCo/Profile/" . main::profile_id('cid-u') . "/Preferences" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Emails => PrefsTest::satisfies(sub { grep { $_->{FilterId} eq 'NewsletterEmail' && $_->{PreferenceType} == 2 }
                                         map { @{ $_->{EmailPreferences} } } @{ $_[0] } },
                                  'an email with NewsletterEmail opted out') }
--- sql eval
"SELECT string_agg(event_type, ',' ORDER BY event_id) FROM prefs_event WHERE profile_id = " . main::profile_id('cid-u')
. " AND event_id > $::cid_u_last"
--- sql_result
preference.updated,profile.updated
--- no_error_log
[error]
[alert]


=== TEST 45: POST Preferences/Program/{programId}: only the filters of that channel, the number added as a mobile
--- request eval
[ "POST /api/3/IdemCo/Preferences/Program/Newsletters\n"
  . '{"CID":"cid-p","GlobalPreferenceType":1,"ChannelContactPreference":[{"ChannelID":"Text","ContactElement":{"PFT":"+1 555 010 0199"}}]}',
  "GET /Profiles/v4/IdemCo/Profile/$::cid_p_id" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Preferences => [ { FilterID => 'NewsletterText', PreferenceType => 1, ContactElement => { PFT => '+15550100199' } } ] },
  { PhoneNumbers => PrefsTest::contains({ PhoneNumber => '+15550100199', IsMobile => 1 }) } ]
--- no_error_log
[error]
[alert]


=== TEST 46: POST Preferences/ProgramGroup/{programGroupId}: every filter of its programs the customer has a contact point for
--- request
POST /api/3/IdemCo/Preferences/ProgramGroup/MarketingCommunications
{"CID":"cid-g","GlobalPreferenceType":2,"UpdateNestedGroups":0,"FrequencyID":"M"}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Preferences => PrefsTest::satisfies(sub { CORE::join(',', sort map { "$_->{FilterID}:$_->{PreferenceType}" } @{ $_[0] })
                                            eq 'NewsletterEmail:2,NewsletterText:2,PartnerOffersEmail:2,PartnerOffersPhone:2' },
                                      'NewsletterEmail, NewsletterText, PartnerOffersEmail and PartnerOffersPhone, opted out') }
--- no_error_log
[error]
[alert]


=== TEST 47: GET Preferences/ProgramGroup/{programGroupId}: nested groups included
--- request
GET /api/3/IdemCo/Preferences/ProgramGroup/AllCommunications?CID=cid-n
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_json eval
{ Preferences => [ (PrefsTest::present()) x 4 ] }
--- no_error_log
[error]
[alert]


=== TEST 48: one bad item of two: 400 naming it in the v3 spelling; no event, no profile
--- request
POST /api/3/IdemCo/Preferences
[{"FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Email":"allornothing@example.com"}},
 {"FilterID":"NoSuchFilter","PreferenceType":1,"CID":"C2"}]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/^Preferences\[1\]\.FilterID 'NoSuchFilter' is not an active filter/ }
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 49: a customer without CID, by email: a new profile without CID
--- request
POST /api/3/IdemCo/Preferences
{"FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Email":"new@example.com"}}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Preferences => [ { CID => undef } ] }
--- sql
SELECT count(*) FROM prefs_profile_email e JOIN prefs_account c USING (account_id)
WHERE c.client_id = 'IdemCo' AND e.address = 'new@example.com'
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 50: found by its email the second time: no new profile
--- request
POST /api/3/IdemCo/Preferences
{"FilterID":"NewsletterEmail","PreferenceType":2,"ContactElement":{"Email":"AGAIN@EXAMPLE.COM"}}
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql
SELECT count(*) FROM prefs_profile p JOIN prefs_account c USING (account_id)
WHERE c.client_id = 'IdemCo' AND p.profile_id IN (SELECT profile_id FROM prefs_profile_email WHERE lower(address) = 'again@example.com')
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 51: v3 bad bodies: 400 with the Message, no event
--- request eval
[ map { "POST /api/3/IdemCo/Preferences\n$_" }
  '[{"FilterID":',                                                                            # malformed JSON
  '[{"CID":"cid-r","PreferenceType":1}]',                                                     # no FilterID
  '[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":3}]',                        # a bad PreferenceType
  '[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":1,"Colour":1}]',             # an unknown field
  '[{"CID":"cid-r","FilterId":"NewsletterEmail","PreferenceType":1}]',                        # a v4 name
  '[{"FilterID":"NewsletterEmail","PreferenceType":1}]',                                      # no CID and no contact
  '[{"CID":"C3","FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Email":"nope"}}]',   # a bad email
  '[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":1,"FrequencyID":"Y"}]',      # a frequency the filter lacks
  '[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Fax":1}}]',       # a bad ContactElement field
  '[]',                                                                                       # an empty list
  "[{\"CID\":\"\xff\"}]" ]                                                                    # invalid UTF-8
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 11 ]
--- response_json_list eval
[ map { { Message => $_ } } qr/./, qr/Preferences\[0\]\.FilterID is required/, qr/PreferenceType/, qr/Colour/,
  qr/FilterId is not a known field/, qr/CID/, qr/^Preferences\[0\]\.ContactElement\.Email must be an email address/,
  qr/^Preferences\[0\]\.FrequencyID 'Y' is not a frequency/, qr/ContactElement\.Fax/, qr/./, qr/./ ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 52: a group without UpdateNestedGroups, a program without GlobalPreferenceType: 400; unknown ones: 404; no event
--- request eval
[ "POST /api/3/IdemCo/Preferences/ProgramGroup/MarketingCommunications\n" . '{"CID":"cid-r","GlobalPreferenceType":1}',
  "POST /api/3/IdemCo/Preferences/Program/Newsletters\n" . '{"CID":"cid-r"}',
  "POST /api/3/IdemCo/Preferences/Program/NoSuchProgram\n" . '{"CID":"cid-r","GlobalPreferenceType":1}',
  "POST /api/3/IdemCo/Preferences/ProgramGroup/NoSuchGroup\n" . '{"CID":"cid-r","GlobalPreferenceType":1,"UpdateNestedGroups":1}' ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 400, 400, 404, 404 ]
--- response_json_list eval
[ { Message => qr/UpdateNestedGroups is required/ }, ({ Message => qr/./ }) x 3 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 53: ReadOnly cannot write through v3
--- request
POST /api/3/IdemCo/Preferences
[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":1}]
--- more_headers eval
PrefsTest::auth('IdemCo', 'reader') . "Content-Type: application/json\n"
--- error_code: 403
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 54: v3 reads: an unknown or hostile CID, an unknown program: 404; no CID, a bad indexed parameter: 400
--- request eval
[ 'GET /api/3/IdemCo/Preferences/CID/nobody/Program', 'GET /api/3/IdemCo/Preferences/CID/' . ('z' x 300) . '/Program',
  'GET /api/3/IdemCo/Preferences/Program/Nope?CID=cid-r', 'GET /api/3/IdemCo/Preferences/Program/Newsletters',
  'GET /api/3/IdemCo/Preferences/CID/cid-r/Program?ProgramIds[1]=x' ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code eval
[ 404, 404, 404, 400, 400 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 5 ]
--- no_error_log
[error]
[alert]


=== TEST 55: another account's CID: 404
--- request
GET /api/3/IdemOther/Preferences/CID/cid-r/Program
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 56: the v3 routes are not on the v4 location
--- request
POST /Profiles/v4/IdemCo/Preferences
[{"CID":"cid-r","FilterID":"NewsletterEmail","PreferenceType":1}]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 404
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 57: a Mail preference with its address: on the profile (StateProvince, CountryCode), the v4 preference nested in it
--- request eval
[ "POST /api/3/IdemCo/Preferences\n"
  . '[{"CID":"cid-m","FilterID":"ProductUpdatesMail","PreferenceType":1,"ContactElement":{"Address1":"1 Elm St","Address2":"Apt 2",'
  . '"City":"Springfield","StateProvince":"IL","PostalCode":"62701","CountryCode":"US"}}]',
  "GET /Profiles/v4/IdemCo/Profile/$::cid_m_id" ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Preferences => [ { ContactElement => { City => 'Springfield' } } ] },
  PrefsTest::satisfies(sub { my ($addr) = grep { $_->{Address1} eq '1 Elm St' } @{ $_[0]{Addresses} };
                             my ($pref) = grep { $_->{FilterId} eq 'ProductUpdatesMail' }
                                          @{ $addr ? $addr->{AddressPreferences} : [] };
                             $addr && $addr->{StateProvince} eq 'IL' && $addr->{CountryCode} eq 'US'
                             && $addr->{Address2} eq 'Apt 2' && $pref },
                       'the address on the profile, the preference nested in it') ]
--- no_error_log
[error]
[alert]


=== TEST 58: a new customer by phone number, normalized; v4 finds the new profile by its phone
--- request eval
[ "POST /api/3/IdemCo/Preferences\n"
  . '{"FilterID":"PartnerOffersPhone","PreferenceType":1,"FirstName":"Phil","ContactElement":{"PFT":"+1 (555) 010-0777"}}',
  'GET /Profiles/v4/IdemCo/Profile/Phone?phoneNumber=%2B15550100777' ]
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Preferences => [ { ContactElement => { PFT => '+15550100777' } } ] }, [ { CustomerName => { FirstName => 'Phil' } } ] ]
--- no_error_log
[error]
[alert]


=== TEST 59: an account without the alternate id type CID cannot write with a CID, and says so
--- request
POST /api/3/IdemOther/Preferences
[{"CID":"C9","FilterID":"NewsletterEmail","PreferenceType":1,"ContactElement":{"Email":"x@example.com"}}]
--- more_headers eval
PrefsTest::auth('IdemOther', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/Preferences\[0\]\.CID needs an active alternate id type named 'CID'/ }
--- sql_unchanged eval
$::others
--- no_error_log
[error]
[alert]


=== TEST 60: an oversized body: 413
--- request eval
"POST /api/3/IdemCo/Preferences\n[" . CORE::join(',', ('{"CID":"x","FilterID":"NewsletterEmail","PreferenceType":1}') x 30000) . ']'
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 413
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 61: HEAD on a v3 read: 200 without a body
--- request
HEAD /api/3/IdemCo/Preferences/CID/cid-r/Program
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 200
--- response_body chomp
--- no_error_log
[error]
[alert]


=== TEST 62: PUT on the alternate-id preferences route: 405, Allow lists its methods
--- request eval
"PUT $::apath/crm-a\n{}"
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST
--- no_error_log
[error]
[alert]


=== TEST 63: GET Profile/Preferences (no alternate id) is no route of ours
--- request
GET /Profiles/v4/IdemCo/Profile/Preferences
--- more_headers eval
PrefsTest::auth('IdemCo', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]
