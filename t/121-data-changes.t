# JSON Patch on a profile over HTTP (PATCH Profile/{id} and by alternate
# id, sql/functions/profile.sql, src/http/api/ngx_prefs_profile_changes.c):
# each change answered with the profile as it is now and recorded with its
# per-part events and profile.replaced; the refused patches (bad
# operations, pointers, indexes, read-only fields, another account, no
# permission, the wrong media type) change nothing and record nothing; and
# the parts' refused removals (DELETE part routes) likewise.  Every block
# starts from a profile of its own made in the preamble.  The changes that
# build on one another (removing contact points, Preserve* flags, consents
# with a locale and a contact point, the consent associations), the SQL
# pointer functions and the patches that race: t/122-data-changes-seq.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($pat, $pa1, $pa2, $pa3, $pa4, $pa6, $pa7, $del, $e0, $snapshot, $alt);

api_account('DataChgCo');
api_user('DataChgCo', 'admin', 'Administrators');
api_user('DataChgCo', 'reader', 'ReadOnly');
api_account('DataChgOther');
api_user('DataChgOther', 'admin', 'Administrators');
PrefsTest::api_config_import('DataChgCo');
PrefsTest::api_config_import('DataChgOther');

sub profile {
    my (%body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request('DataChgCo', 'admin', 'POST', 'Profile',
        { CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ], %body });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

$alt = "L-$$";
# read by the blocks that change nothing
$pat = profile(FirstName => 'Patricia', LastName => 'Chan', AlternateIds => [ { Type => 'LoyaltyNumber', Value => $alt } ],
    Emails => [ { Address => 'p3@example.com' } ], Tags => [ 'Do Not Call', 'Early Adopter' ],
    Consents => [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted' } ]);
$pa1 = profile(FirstName => 'Pat', LastName => 'Ch', Tags => [ 'VIP' ]);
$pa2 = profile(FirstName => 'Pat', Emails => [ { Address => 'p1@example.com' }, { Address => 'p2@example.com' } ],
    Tags => [ 'VIP', 'Early Adopter' ]);
$pa3 = profile(FirstName => 'Pat', Emails => [ { Address => 'p1@example.com' } ]);
$pa4 = profile(FirstName => 'Pat', Consents => [ { TypeName => 'Marketing', Version => '2.0', Status => 'Granted' } ]);
$pa6 = profile(FirstName => 'Pat', LastName => 'Ch', AlternateIds => [ { Type => 'LoyaltyNumber', Value => "$alt-6" } ]);
$pa7 = profile(FirstName => 'Pat', AlternateIds => [ { Type => 'LoyaltyNumber', Value => "$alt-7" } ],
    Tags => [ 'VIP', 'Early Adopter' ]);
$del = profile(FirstName => 'Del', Tags => [ 'Do Not Call' ], Groups => [ { Type => 'Household', Name => 'Does' } ]);
PrefsTest::api_prepared();

# the events recorded after the preamble
$e0 = PrefsTest::psql_value('SELECT coalesce(max(event_id), 0) FROM prefs_event');

# every row of the account's data, as a digest per table (and its row
# count, to read a failure): what a refused request must leave alone
$snapshot = join ' UNION ALL ', map {
    "(SELECT '$_', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $_ t"
    . " WHERE account_id = (SELECT account_id FROM prefs_account WHERE client_id = 'DataChgCo'))"
} qw(prefs_profile prefs_profile_email prefs_profile_phone prefs_profile_address prefs_profile_alternate_id
     prefs_profile_custom_field prefs_profile_group prefs_profile_tag prefs_preference prefs_consent
     prefs_consent_assoc prefs_event);

# a PATCH of the profile (or of the path under Profile/) with these operations
sub patch {
    my ($client, $path, $ops) = @_;
    return "PATCH /Profiles/v4/$client/Profile/$path\n" . (ref $ops ? encode_json($ops) : $ops);
}

# the types of the events a profile recorded after the preamble, in order
sub events {
    my ($p) = @_;
    return "SELECT string_agg(event_type, ' ' ORDER BY event_id) FROM prefs_event"
         . " WHERE profile_id = $p AND event_id > $e0";
}

api_blocks();
run_tests();

__DATA__

=== TEST 1: PATCH Profile/{id}: the profile as it is now, the per-part events and profile.replaced
--- request eval
main::patch('DataChgCo', $::pa1, [ { op => 'replace', path => '/FirstName', value => 'Patricia' },
                                   { op => 'add', path => '/Tags/-', value => 'Early Adopter' },
                                   { op => 'test', path => '/LastName', value => 'Ch' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pa1, FirstName => 'Patricia', Tags => [ 'Early Adopter', 'VIP' ] }
--- sql eval
"SELECT (" . main::events($::pa1) . "), data->>'FirstName', previous_data->>'FirstName' FROM prefs_event"
. " WHERE profile_id = $::pa1 AND event_id > $::e0 AND event_type = 'profile.replaced'"
--- sql_result
standardfield.firstname.updated tag.added profile.replaced|Patricia|Pat
--- no_error_log
[error]
[alert]


=== TEST 2: PATCH removes by index and adds at an index
--- request eval
main::patch('DataChgCo', $::pa2, [ { op => 'remove', path => '/Emails/1' },
                                   { op => 'add', path => '/Tags/0', value => 'Do Not Call' },
                                   { op => 'remove', path => '/Tags/2' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ Tags => [ 'Do Not Call', 'Early Adopter' ], Emails => [ { Address => 'p1@example.com' } ] }
--- sql eval
main::events($::pa2)
--- sql_result
contacts.email.deactivated tag.removed tag.added profile.replaced
--- no_error_log
[error]
[alert]


=== TEST 3: PATCH replaces an email's address: contacts.email.updated (matched by its EmailId)
--- request eval
main::patch('DataChgCo', $::pa3, [ { op => 'replace', path => '/Emails/0/Address', value => 'p3@example.com' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ Emails => [ { Address => 'p3@example.com' } ] }
--- sql eval
"SELECT (" . main::events($::pa3) . "), data->>'Address', previous_data->>'Address' FROM prefs_event"
. " WHERE profile_id = $::pa3 AND event_id > $::e0 AND event_type = 'contacts.email.updated'"
--- sql_result
contacts.email.updated profile.replaced|p3@example.com|p1@example.com
--- no_error_log
[error]
[alert]


=== TEST 4: PATCH replaces a consent's status: a new consent, consent.updated
--- request eval
main::patch('DataChgCo', $::pa4, [ { op => 'replace', path => '/Consents/0/Status', value => 'Revoked' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- sql eval
main::events($::pa4)
--- sql_result
consent.updated profile.replaced
--- no_error_log
[error]
[alert]


=== TEST 5: a patch of tests alone changes nothing and records nothing
--- request eval
main::patch('DataChgCo', $::pat, [ { op => 'test', path => '/FirstName', value => 'Patricia' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pat, FirstName => 'Patricia' }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 6: PATCH Profile/AlternateIdType/{type}/AlternateId/{id}
--- request eval
main::patch('DataChgCo', "AlternateIdType/LoyaltyNumber/AlternateId/$::alt-6",
            [ { op => 'replace', path => '/LastName', value => 'Chan' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pa6, LastName => 'Chan' }
--- sql eval
"SELECT last_name FROM prefs_profile WHERE profile_id = $::pa6"
--- sql_result
Chan
--- no_error_log
[error]
[alert]


=== TEST 7: escaped keys ("~1" is "/", "~0" is "~"): a new field through one is 400 (unknown field), unescaped
--- request eval
main::patch('DataChgCo', $::pat, [ { op => 'add', path => '/Foo~1Bar~0', value => 1 } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 400
--- response_json eval
{ Message => qr{Foo/Bar~ is not a known field} }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 8: tests on array elements and nested keys hold; application/json-patch+json with a charset
--- request eval
[ main::patch('DataChgCo', $::pat, [ { op => 'test', path => '/Emails/0/Address', value => 'p3@example.com' },
                                     { op => 'test', path => '/Tags/1', value => 'Early Adopter' } ]) ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json; charset=utf-8\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pat }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 9: refused patches: each its status, a Message saying why, nothing changed or recorded
--- request eval
my @c = (
    [ [ { op => 'replace', path => '/FirstName', value => 'X' }, { op => 'add', path => '/Tags/-', value => 'VIP' },
        { op => 'test', path => '/LastName', value => 'Nope' } ] ],                  # a failed test
    [ [ { op => 'test', path => '/Nope', value => 1 } ] ],                           # a test of a missing path
    [ [ { op => 'move', from => '/FirstName', path => '/LastName' } ] ],
    [ [ { op => 'copy', from => '/FirstName', path => '/LastName' } ] ],
    [ [ { op => 'merge', path => '/FirstName', value => 'x' } ] ],                   # an unknown op
    [ [ { path => '/FirstName', value => 'x' } ] ],                                  # no op
    [ [ { op => 'remove' } ] ],                                                      # no path
    [ [ { op => 'replace', path => '/FirstName' } ] ],                               # no value
    [ [ { op => 'replace', path => 'FirstName', value => 'x' } ] ],                  # a pointer without "/"
    [ [ { op => 'add', path => '/a~2b', value => 'x' } ] ],                          # a bad escape
    [ [ { op => 'remove', path => 5 } ] ],                                           # a path not a string
    [ [ { op => 'replace', path => '/Tags/x', value => 'VIP' } ] ],                  # a non-numeric index
    [ [ { op => 'replace', path => '/Tags/01', value => 'VIP' } ] ],                 # a leading zero
    [ [ { op => 'replace', path => '/Tags/9', value => 'VIP' } ] ],                  # out of range
    [ [ { op => 'replace', path => '/Tags/-', value => 'VIP' } ] ],                  # "-" with replace
    [ [ { op => 'remove', path => '/Nickname' } ] ],                                 # remove of a missing path
    [ [ { op => 'add', path => '/Nope/x', value => 1 } ] ],                          # a missing parent
    [ [ { op => 'remove', path => '' } ] ],                                          # the whole profile
    [ [ { op => 'replace', path => '/ProfileId', value => $::pat + 1 } ] ],          # a read-only field
    [ [ { op => 'replace', path => '/IsActive', value => JSON::PP::false() } ] ],    # IsActive
    [ [ { op => 'replace', path => '/DefaultLocale', value => 'xx-XX' } ] ],         # an invalid profile
    [ [ { op => 'replace', path => '/Emails', value => 'x' } ] ],                    # a list made a string
    [ [ { op => 'remove', path => '/Consents/0' } ] ],                               # losing a consent
    [ { op => 'remove', path => '/Tags/0' } ],                                       # not an array
    [ [ 'remove' ] ],                                                                # an operation not an object
    [ '[{"op":' ],                                                                   # malformed JSON
    [ '[{"op":"remove","op":"add","path":"/Tags/0"}]' ],                             # a duplicate key
    [ [ map { { op => 'test', path => '/FirstName', value => 'Patricia' } } 1 .. 1001 ] ],  # too many operations
    [ [ { op => 'remove', path => '/Tags/0' } ], '?PreserveConsents=maybe' ],        # a Preserve* flag not a boolean
);
[ (map { main::patch('DataChgCo', $::pat . ($_->[1] // ''), $_->[0]) } @c),
  main::patch('DataChgCo', 'abc', [ { op => 'remove', path => '/Tags/0' } ]) ]      # a hostile id
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code eval
[ 409, 409, (400) x 25, 413, 400, 404 ]
--- response_json_list eval
[ map { { Message => $_ } }
  qr/test of '\/LastName' failed/, qr/./, qr/not supported/, qr/not supported/, qr/./, qr/./, qr/./, qr/./,
  qr/JSON Pointer/, qr/JSON Pointer/, qr/./, qr/not an array index/, qr/./, qr/out of range/, qr/./,
  qr/does not exist/, qr/./, qr/./, qr/ProfileId is read-only/, qr/read-only/, qr/DefaultLocale/,
  qr/Emails must be an array/, qr/consents are a history/, qr/array of operations/, qr/./, qr/./, qr/./,
  qr/at most 1000/, qr/./, qr/./ ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 10: PATCH with application/json instead of application/json-patch+json: 415
--- request eval
main::patch('DataChgCo', $::pat, [ { op => 'remove', path => '/Tags/0' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 415
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 11: another account's profile and alternate id: PATCH is 404
--- request eval
[ main::patch('DataChgOther', $::pat, [ { op => 'remove', path => '/Tags/0' } ]),
  main::patch('DataChgOther', "AlternateIdType/LoyaltyNumber/AlternateId/$::alt", [ { op => 'remove', path => '/Tags/0' } ]) ]
--- more_headers eval
PrefsTest::auth('DataChgOther', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code eval
[ 404, 404 ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 12: without ProfileWrite, PATCH is 403
--- request eval
main::patch('DataChgCo', $::pat, [ { op => 'remove', path => '/Tags/0' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'reader') . "Content-Type: application/json-patch+json\n"
--- error_code: 403
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 13: another account's profile: DELETE of a part is 404
--- request eval
"DELETE /Profiles/v4/DataChgOther/Profile/$::del/Tags\n[\"Do Not Call\"]"
--- more_headers eval
PrefsTest::auth('DataChgOther', 'admin') . "Content-Type: application/json\n"
--- error_code: 404
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 14: without ProfileWrite, DELETE of a part is 403
--- request eval
"DELETE /Profiles/v4/DataChgCo/Profile/$::del/Tags\n[\"Do Not Call\"]"
--- more_headers eval
PrefsTest::auth('DataChgCo', 'reader') . "Content-Type: application/json\n"
--- error_code: 403
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 15: PATCH removes a whole list, the flags in the query string: each item with its event
--- request eval
main::patch('DataChgCo', "$::pa7?PreservePreferences=false", [ { op => 'remove', path => '/Tags' },
                                                               { op => 'remove', path => '/AlternateIds/0' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pa7, Tags => [] }
--- sql eval
"SELECT string_agg(event_type, ' ' ORDER BY event_type) FROM prefs_event WHERE profile_id = $::pa7 AND event_id > $::e0"
--- sql_result
contacts.alternateid.deactivated profile.replaced tag.removed tag.removed
--- no_error_log
[error]
[alert]


=== TEST 16: refused removals of parts: each a 4xx with a Message, nothing changed or recorded
--- request eval
my $p = "/Profiles/v4/DataChgCo/Profile/$::del";
[ "DELETE $p/CustomFields\n[\"FavoriteCategory\"]",                                      # a required custom field
  "POST $p/CustomFields\n[{\"Name\":\"FavoriteCategory\",\"IsActive\":false}]",           # ... by IsActive
  "DELETE $p/Tags\n[]",                                                                   # an empty list
  "DELETE $p/Tags\n[\"VIP\"",                                                             # malformed JSON
  "DELETE $p/Groups\n{\"Type\":\"Household\",\"Type\":\"Company\",\"Name\":\"x\"}",       # a duplicate key
  "DELETE $p/Groups\n[{\"Type\":\"Household\",\"Name\":\"x\",\"Colour\":\"red\"}]",       # an unknown field
  "DELETE $p/Groups\n[{\"Type\":\"Household\",\"Name\":42}]",                             # a wrong type
  "DELETE $p/Tags\n42",                                                                   # a number
  "DELETE $p/Tags\n[\"\xff\"]",                                                           # invalid UTF-8
  "POST $p/Tags\n[{\"Name\":\"Do Not Call\",\"IsActive\":\"no\"}]",                       # IsActive not a boolean
  "DELETE /Profiles/v4/DataChgCo/Profile/0$::del/Tags\n[\"Do Not Call\"]",                # a hostile id
  "POST /Profiles/v4/DataChgCo/Profile\n"                                                 # a removal in a create
  . '{"Emails":[{"Address":"x@example.com","IsActive":false}],'
  . '"CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]}' ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 10, 404, 400 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 11, { Message => qr/Emails\[0\]\.IsActive/ } ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 17: DELETE of a part with no body and no Content-Type: 415
--- request eval
"DELETE /Profiles/v4/DataChgCo/Profile/$::del/Tags"
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin')
--- error_code: 415
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 18: DELETE of a part with a body that is not JSON: 415
--- request eval
"DELETE /Profiles/v4/DataChgCo/Profile/$::del/Tags\n[\"Do Not Call\"]"
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 19: DELETE of a part with an empty body: 400 with a Message
--- request eval
"DELETE /Profiles/v4/DataChgCo/Profile/$::del/Tags\n"
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\nContent-Length: 0\n"
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]
