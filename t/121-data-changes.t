# Changes to a profile beyond adding (sql/functions/profile.sql and
# consents.sql, src/http/api/ngx_prefs_profile_changes.c), over HTTP with
# the database checked: removing contact points, alternate ids, groups, tags
# and custom fields (UpdateProfile, the part routes, the DELETE part
# routes), the Preserve* flags, consents with a locale and a contact point,
# the consent associations, JSON Patch, erasure, and each with its events;
# a refused request changes nothing and records nothing.  Every block starts
# from a profile of its own made in the preamble; where a change builds on
# earlier ones (a phone number changed, then deactivated, ...), the preamble
# makes that step's profile by sending it the steps before (@Steps).  Two
# patches racing, a patch waiting for a row lock and the JSON Pointer
# functions in SQL: t/122-data-patch-concurrent.t.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($pat, $pa1, $pa2, $pa3, $pa4, $pa6, $pa7, $del, $e0, $snapshot, $alt, @g, @q, $base, $Ibase, %P, %I);

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
$pat = profile(CustomerName => { FirstName => 'Patricia', LastName => 'Chan' }, AlternateIds => [ { Type => 'LoyaltyNumber', Value => $alt } ],
    Emails => [ { EmailAddress => 'p3@example.com' } ], Tags => [ 'Do Not Call', 'Early Adopter' ],
    Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ]);
$pa1 = profile(CustomerName => { FirstName => 'Pat', LastName => 'Ch' }, Tags => [ 'VIP' ]);
$pa2 = profile(CustomerName => { FirstName => 'Pat' }, Emails => [ { EmailAddress => 'p1@example.com' }, { EmailAddress => 'p2@example.com' } ],
    Tags => [ 'VIP', 'Early Adopter' ]);
$pa3 = profile(CustomerName => { FirstName => 'Pat' }, Emails => [ { EmailAddress => 'p1@example.com' } ]);
$pa4 = profile(CustomerName => { FirstName => 'Pat' }, Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 } ]);
$pa6 = profile(CustomerName => { FirstName => 'Pat', LastName => 'Ch' }, AlternateIds => [ { Type => 'LoyaltyNumber', Value => "$alt-6" } ]);
$pa7 = profile(CustomerName => { FirstName => 'Pat' }, AlternateIds => [ { Type => 'LoyaltyNumber', Value => "$alt-7" } ],
    Tags => [ 'VIP', 'Early Adopter' ]);
$del = profile(CustomerName => { FirstName => 'Del' }, Tags => [ 'Do Not Call' ], Groups => [ { Type => 'Household', Name => 'Does' } ]);

sub prepare {
    my ($method, $path, $body) = @_;
    my ($st, undef, undef, $raw) = PrefsTest::api_request('DataChgCo', 'admin', $method, $path, $body);
    die "preparing $method $path: $st $raw\n" unless $st =~ /^20/;
}

# groups, tags and custom fields: $g[n] has had the steps before step n
# ($g[4], all of them)
my @gsteps = (
    [ 'POST', 'Groups', [ { Type => 'Company', Name => 'Acme', IsActive => JSON::PP::false() } ] ],
    [ 'POST', '', { Tags => [ { Name => 'VIP', IsActive => JSON::PP::false() }, 'Do Not Call' ] } ],
    [ 'POST', 'CustomFields', { Name => 'Nickname', IsActive => JSON::PP::false() } ],
    [ 'DELETE', 'Tags', [ 'Early Adopter' ] ],
    [ 'DELETE', 'Groups', { Groups => [ { Type => 'Household', Name => 'Does' } ] } ],
    [ 'DELETE', 'CustomFields', [ 'HouseholdSize' ] ],
);
for my $n (0 .. 4) {
    $g[$n] = profile(CustomerName => { FirstName => 'Gil' }, Tags => [ 'VIP', 'Early Adopter' ],
        Groups => [ { Type => 'Household', Name => 'Does' }, { Type => 'Company', Name => 'Acme' } ],
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' }, { Name => 'Nickname', Value => 'JJ' },
                          { Name => 'HouseholdSize', Value => 3 } ]);
    prepare($_->[0], "Profile/$g[$n]" . ($_->[1] ne '' ? "/$_->[1]" : ''), $_->[2])
        for @gsteps[0 .. ($n == 4 ? 5 : $n - 1)];
}

# a profile with something of everything, its alternate id $crm: the body
# that makes it, and the profile made
sub base { profile(%{ base_doc($_[0]) }) }

sub base_doc {
    my ($crm) = @_;
    my $t = JSON::PP::true();
    return { CustomerName => { FirstName => 'Jane', LastName => 'Doe' },
        AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
        Emails => [ { EmailAddress => 'a@example.com', EmailAddressType => 'Personal', IsDefault => $t,
                      EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1 } ] },
                    { EmailAddress => 'b@example.com', EmailAddressType => 'Work',
                      EmailPreferences => [ { FilterId => 'PartnerOffersEmail', PreferenceType => 1 } ] },
                    { EmailAddress => 'c@example.com',
                      EmailPreferences => [ { FilterId => 'ProductUpdatesEmail', PreferenceType => 1 } ] } ],
        PhoneNumbers => [ { PhoneNumber => '+15550100100', PhoneNumberType => 'Mobile', IsMobile => $t,
                            PhonePreferences => [ { FilterId => 'NewsletterText', PreferenceType => 1 } ] },
                          { PhoneNumber => '+15550100200', PhoneNumberType => 'Home' } ],
        Addresses => [ { Address1 => '1 Main St', City => 'Springfield', PostalCode => '12345', AddressType => 'Home' },
                       { Address1 => '2 Side St', PostalCode => '54321' } ],
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' }, { Name => 'Nickname', Value => 'JJ' },
                          { Name => 'HouseholdSize', Value => 3 } ],
        Groups => [ { Type => 'Household', Name => 'Does' }, { Type => 'Company', Name => 'Acme' } ],
        Tags => [ 'VIP', 'Early Adopter' ],
        Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1, Locale => 'en-US' },
                      { ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 1 },
                      { ConsentType => 'TextMessaging', ConsentVersion => '2024-01', ConsentStatus => 1,
                        ContactPoint => '+1 555 010 0100' } ] };
}

# the ids of a profile's emails, phone numbers and addresses, by value
sub ids {
    my ($p) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request('DataChgCo', 'admin', 'GET', "Profile/$p");
    die "reading profile $p: $st $raw\n" unless $st == 200;
    return { email => { map { $_->{EmailAddress} => $_->{EmailId} } @{ $j->{Emails} } },
             phone => { map { $_->{PhoneNumber} => $_->{PhoneId} } @{ $j->{PhoneNumbers} } },
             addr => { map { $_->{Address1} => $_->{AddressId} } @{ $j->{Addresses} } } };
}

# Removing contact points and changing them, one step after another as a
# client would: each step's block runs on a profile of its own that has had
# the steps before it ($P{step}, its ids $I{step}), made here.
my $f = JSON::PP::false();
our @Steps = (
    email_off => sub { ('POST', "Profile/$_[0]", { Emails => [ { EmailAddress => 'c@example.com', IsActive => $f } ] }) },
    email_id_off => sub { ('POST', "Profile/$_[0]", { PreservePreferences => $f,
        Emails => [ { EmailId => $_[1]{email}{'b@example.com'}, IsActive => $f } ] }) },
    phone_number => sub { ('POST', "Profile/$_[0]", { PhoneNumbers => [ { PhoneId => $_[1]{phone}{'+15550100100'},
        PhoneNumber => '+1 555 010 0101' } ] }) },
    phone_number_unkept => sub { ('POST', "Profile/$_[0]", { PreserveConsents => $f,
        PhoneNumbers => [ { PhoneId => $_[1]{phone}{'+15550100100'}, PhoneNumber => '+15550100102' } ] }) },
    not_mobile => sub { ('POST', "Profile/$_[0]", { PhoneNumbers => [ { PhoneNumber => '+15550100102', IsMobile => $f } ] }) },
    home_consent => sub { ('POST', "Consents/$_[0]", [ { ConsentType => 'TextMessaging', ConsentVersion => '2024-01',
        ConsentStatus => 1, ContactPoint => '+15550100200' } ]) },
    phone_off => sub { ('POST', "Profile/$_[0]", { PhoneNumbers => [ { PhoneNumber => '+1 555 010 0200', IsActive => $f } ] }) },
    third_phone => sub { ('POST', "Profile/$_[0]", { PhoneNumbers => [ { PhoneNumber => '+15550100300' } ] }) },
    third_consent => sub { ('POST', "Consents/$_[0]", [ { ConsentType => 'TextMessaging', ConsentVersion => '2024-01',
        ConsentStatus => 1, ContactPoint => '+15550100300' } ]) },
    phone_off_unkept => sub { ('POST', "Profile/$_[0]", { PreserveConsents => $f,
        PhoneNumbers => [ { PhoneNumber => '+15550100300', IsActive => $f } ] }) },
    # (profile-level: on the default address, 1 Main St)
    mail_pref => sub { ('POST', "Profile/$_[0]/Preferences", { FilterId => 'ProductUpdatesMail', PreferenceType => 1 }) },
    address_moves => sub { ('POST', "Profile/$_[0]", { Addresses => [ { AddressId => $_[1]{addr}{'1 Main St'},
        Address1 => '9 New St', PostalCode => '12345' } ] }) },
    address_moves_unkept => sub { ('POST', "Profile/$_[0]", { PreservePreferences => $f,
        Addresses => [ { AddressId => $_[1]{addr}{'1 Main St'}, Address1 => '10 New St', PostalCode => '12345' } ] }) },
    address_off => sub { ('POST', "Profile/$_[0]", { Addresses => [ { AddressId => $_[1]{addr}{'2 Side St'},
        IsActive => $f } ] }) },
    alternate_id_off => sub { ('POST', "Profile/$_[0]", { AlternateIds => [ { Type => 'CRMId', IsActive => $f } ] }) },
    # (the email of step email_off is gone: a preference of an active one)
    archived => sub { ('POST', "Profile/$_[0]/Preferences", { Emails => [ { EmailAddress => 'a@example.com',
        EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1,
                                IsArchived => JSON::PP::true() } ] } ] }) },
    erase => sub { ('DELETE', "Profile/$_[0]?erase=true") },
);
$base = base("crm-$$");
$Ibase = ids($base);
for (my $n = 0; $n < @Steps; $n += 2) {
    my $name = $Steps[$n];
    $P{$name} = base("crm-$$-$name");
    $I{$name} = ids($P{$name});
    for (my $k = 1; $k < $n; $k += 2) {
        prepare($Steps[$k]->($P{$name}, $I{$name}));
    }
}

# consents: $q[n] has had the steps before step n ($q[3], both)
my @qsteps = (
    [ 'POST', "Consents/%d", [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1, Locale => 'de_de' } ] ],
    [ 'POST', "Profile/%d/Preferences", { Emails => [ { EmailAddress => 'q@example.com',
        EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 2 } ] } ] } ],
);
for my $n (0 .. 3) {
    $q[$n] = profile(CustomerName => { FirstName => 'Q' }, Emails => [ { EmailAddress => 'q@example.com',
            EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1 },
                                  { FilterId => 'PartnerOffersEmail', PreferenceType => 1 } ] } ],
        Consents => [ { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1, Locale => 'en-US' },
                      { ConsentType => 'DataSharing', ConsentVersion => '1.0', ConsentStatus => 1 } ]);
    prepare($_->[0], sprintf($_->[1], $q[$n]), $_->[2]) for @qsteps[0 .. ($n == 3 ? 1 : $n - 1)];
}
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

# those types, then for each [type, expression] the expression on the
# profile's first event of that type after the preamble
sub facts {
    my ($p, @x) = @_;
    return "SELECT (" . events($p) . ")" . join '', map {
        ", (SELECT $_->[1] FROM prefs_event WHERE profile_id = $p AND event_id > $e0"
        . " AND event_type = '$_->[0]' ORDER BY event_id LIMIT 1)"
    } @x;
}

# the request of a step (above) on its own profile
sub step {
    my ($name) = @_;
    my %s = @Steps;
    my ($m, $path, $body) = $s{$name}->($P{$name}, $I{$name});
    return "$m /Profiles/v4/DataChgCo/$path" . (defined $body ? "\n" . encode_json($body) : '');
}

# a consent type's records in a list of consents: "locale:active" each
sub locales {
    my ($type, $consents) = @_;
    return join ' ', map { "$_->{Locale}:" . ($_->{IsActive} ? 1 : 0) } grep { $_->{ConsentType} eq $type } @$consents;
}

api_blocks();
run_tests();

__DATA__

=== TEST 1: PATCH Profile/{id}: the profile as it is now, the per-part events and profile.replaced
--- request eval
main::patch('DataChgCo', $::pa1, [ { op => 'replace', path => '/CustomerName/FirstName', value => 'Patricia' },
                                   { op => 'add', path => '/Tags/-', value => 'Early Adopter' },
                                   { op => 'test', path => '/CustomerName/LastName', value => 'Ch' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pa1, CustomerName => { FirstName => 'Patricia', LastName => 'Ch' }, Tags => [ 'Early Adopter', 'VIP' ] }
--- sql eval
"SELECT (" . main::events($::pa1) . "), data#>>'{CustomerName,FirstName}', previous_data#>>'{CustomerName,FirstName}' FROM prefs_event"
. " WHERE profile_id = $::pa1 AND event_id > $::e0 AND event_type = 'profile.replaced'"
--- sql_result
standardfield.firstname.updated tag.added profile.replaced|Patricia|
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
{ Tags => [ 'Do Not Call', 'Early Adopter' ], Emails => [ { EmailAddress => 'p1@example.com' } ] }
--- sql eval
main::events($::pa2)
--- sql_result
contacts.email.deactivated tag.removed tag.added profile.replaced
--- no_error_log
[error]
[alert]


=== TEST 3: PATCH replaces an email's address: contacts.email.updated (matched by its EmailId)
--- request eval
main::patch('DataChgCo', $::pa3, [ { op => 'replace', path => '/Emails/0/EmailAddress', value => 'p3@example.com' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ Emails => [ { EmailAddress => 'p3@example.com' } ] }
--- sql eval
"SELECT (" . main::events($::pa3) . "), data->>'EmailAddress', previous_data->>'EmailAddress' FROM prefs_event"
. " WHERE profile_id = $::pa3 AND event_id > $::e0 AND event_type = 'contacts.email.updated'"
--- sql_result
contacts.email.updated profile.replaced|p3@example.com|p1@example.com
--- no_error_log
[error]
[alert]


=== TEST 4: PATCH replaces a consent's status: a new consent, consent.updated
--- request eval
main::patch('DataChgCo', $::pa4, [ { op => 'replace', path => '/Consents/0/ConsentStatus', value => 3 } ])
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
main::patch('DataChgCo', $::pat, [ { op => 'test', path => '/CustomerName/FirstName', value => 'Patricia' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pat, CustomerName => { FirstName => 'Patricia', LastName => 'Chan' } }
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 6: PATCH Profile/AlternateIdType/{type}/AlternateId/{id}
--- request eval
main::patch('DataChgCo', "AlternateIdType/LoyaltyNumber/AlternateId/$::alt-6",
            [ { op => 'replace', path => '/CustomerName/LastName', value => 'Chan' } ])
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 200
--- response_json eval
{ ProfileId => $::pa6, CustomerName => { FirstName => 'Pat', LastName => 'Chan' } }
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
[ main::patch('DataChgCo', $::pat, [ { op => 'test', path => '/Emails/0/EmailAddress', value => 'p3@example.com' },
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
    [ [ { op => 'replace', path => '/CustomerName/FirstName', value => 'X' }, { op => 'add', path => '/Tags/-', value => 'VIP' },
        { op => 'test', path => '/CustomerName/LastName', value => 'Nope' } ] ],                  # a failed test
    [ [ { op => 'test', path => '/Nope', value => 1 } ] ],                           # a test of a missing path
    [ [ { op => 'move', from => '/CustomerName/FirstName', path => '/CustomerName/LastName' } ] ],
    [ [ { op => 'copy', from => '/CustomerName/FirstName', path => '/CustomerName/LastName' } ] ],
    [ [ { op => 'merge', path => '/CustomerName/FirstName', value => 'x' } ] ],                   # an unknown op
    [ [ { path => '/CustomerName/FirstName', value => 'x' } ] ],                                  # no op
    [ [ { op => 'remove' } ] ],                                                      # no path
    [ [ { op => 'replace', path => '/CustomerName/FirstName' } ] ],                               # no value
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
    [ [ map { { op => 'test', path => '/CustomerName/FirstName', value => 'Patricia' } } 1 .. 1001 ] ],  # too many operations
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
  qr/test of '\/CustomerName\/LastName' failed/, qr/./, qr/not supported/, qr/not supported/, qr/./, qr/./, qr/./, qr/./,
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
  . '{"Emails":[{"EmailAddress":"x@example.com","IsActive":false}],'
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


=== TEST 20: POST Profile/{id}/Groups with "IsActive": false: group.removed
--- request eval
"POST /Profiles/v4/DataChgCo/Profile/$::g[0]/Groups\n" . '[{"Type":"Company","Name":"Acme","IsActive":false}]'
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::g[0], [ 'group.removed', 'data::text' ])
--- sql_result
group.removed profile.updated|{"Name": "Acme", "Type": "Company"}
--- no_error_log
[error]
[alert]


=== TEST 21: a tag as {"Name","IsActive":false} beside one added: tag.removed, tag.added
--- request eval
"POST /Profiles/v4/DataChgCo/Profile/$::g[1]\n" . '{"Tags":[{"Name":"VIP","IsActive":false},"Do Not Call"]}'
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::g[1], [ 'tag.removed', 'data::text' ])
--- sql_result
tag.removed tag.added profile.updated|{"Tag": "VIP"}
--- no_error_log
[error]
[alert]


=== TEST 22: a custom field with "IsActive": false: customfield.deleted, with its Data and PreviousData
--- request eval
"POST /Profiles/v4/DataChgCo/Profile/$::g[2]/CustomFields\n" . '{"Name":"Nickname","IsActive":false}'
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::g[2], [ 'customfield.deleted', 'data::text' ], [ 'customfield.deleted', 'previous_data::text' ])
--- sql_result
customfield.deleted profile.updated|{"Name": "Nickname"}|{"Name": "Nickname", "Value": "JJ"}
--- no_error_log
[error]
[alert]


=== TEST 23: DELETE Profile/{id}/Tags, /Groups, /CustomFields: each with its events, the profile lacks them
--- request eval
my $p = "/Profiles/v4/DataChgCo/Profile/$::g[3]";
[ "DELETE $p/Tags\n" . '["Early Adopter"]',
  "DELETE $p/Groups\n" . '{"Groups":[{"Type":"Household","Name":"Does"}]}',
  "DELETE $p/CustomFields\n" . '["HouseholdSize"]',
  "GET $p" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 204, 204, 204, 200 ]
--- response_json eval
{ Tags => [ 'Do Not Call' ], Groups => [], CustomFields => [ { Name => 'FavoriteCategory' } ] }
--- sql eval
main::events($::g[3])
--- sql_result
tag.removed profile.updated group.removed profile.updated customfield.deleted profile.updated
--- no_error_log
[error]
[alert]


=== TEST 24: DELETE of a group with "IsActive": true still removes (here: nothing); a tag the profile lacks: 204, nothing recorded
--- request eval
my $p = "/Profiles/v4/DataChgCo/Profile/$::g[4]";
[ "DELETE $p/Groups\n" . '[{"Type":"Household","Name":"Does","IsActive":true}]',
  "DELETE $p/Tags\n" . '["VIP"]' ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 204, 204 ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 25: the same consent in another locale: consent.deactivated, consent.added; the associations move to the new record; the history keeps the old one
--- request eval
[ "POST /Profiles/v4/DataChgCo/Consents/$::q[0]\n" . '[{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"Locale":"de_de"}]',
  "GET /Profiles/v4/DataChgCo/Consents/$::q[0]?includeConsentHistory=true" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => PrefsTest::satisfies(sub { main::locales('Marketing', $_[0]) eq 'en-US:0 de-DE:1' },
                                    'the Marketing records en-US (inactive), then de-DE') }
--- sql eval
main::facts($::q[0], [ 'consent.deactivated', "data->>'Locale'" ], [ 'consent.deactivated', "data->>'IsActive'" ],
            [ 'consent.added', "data->>'Locale'" ], [ 'consent.filterassociation.updated', "data->>'Locale'" ],
            [ 'consent.filterassociation.updated', "previous_data->>'Locale'" ])
--- sql_result
consent.deactivated consent.added consent.filterassociation.updated consent.filterassociation.updated profile.updated|en-US|false|de-DE|de-DE|en-US
--- no_error_log
[error]
[alert]


=== TEST 26: opting out of a preference linked to a consent: consent.updated, Granted -> Revoked for that preference; the profile's consent stays Granted and lists the preference as Revoked
--- request eval
[ "POST /Profiles/v4/DataChgCo/Profile/$::q[1]/Preferences\n"
  . '{"Emails":[{"EmailAddress":"q@example.com",'
  . '"EmailPreferences":[{"FilterId":"NewsletterEmail","PreferenceType":2}]}]}',
  "GET /Profiles/v4/DataChgCo/Consents/$::q[1]" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Consents => PrefsTest::contains({ ConsentType => 'Marketing', ConsentStatus => 1,
    Filters => PrefsTest::contains({ FilterId => 'NewsletterEmail', ConsentStatus => 3 }) }) }
--- sql eval
main::facts($::q[1], map { [ 'consent.updated', $_ ] }
            "data->>'ConsentStatus'", "previous_data->>'ConsentStatus'", "data->>'FilterId'", "data->>'ConsentType'")
--- sql_result
preference.updated consent.updated profile.updated|3|1|NewsletterEmail|Marketing
--- no_error_log
[error]
[alert]


=== TEST 27: revoking a consent archives the preferences whose filters require it; their associations end
--- request eval
"POST /Profiles/v4/DataChgCo/Consents/$::q[2]\n" . '{"ConsentType":"DataSharing","ConsentVersion":"1.0","ConsentStatus":3}'
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::q[2], [ 'preference.archived', "data->>'FilterId'" ])
--- sql_result
consent.updated preference.archived consent.filterassociation.deactivated consent.filterassociation.deactivated profile.updated|PartnerOffersEmail
--- no_error_log
[error]
[alert]


=== TEST 28: refused consents: each 400, nothing changed or recorded
--- request eval
my $c = "POST /Profiles/v4/DataChgCo/Consents/$::q[3]\n";
[ $c . '{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"ContactPoint":"q@example.com"}',    # a type without a channel
  $c . '{"ConsentType":"TextMessaging","ConsentVersion":"2024-01","ConsentStatus":1,"ContactPoint":"+15559999999"}', # a contact point the profile lacks
  $c . '{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"Locale":"xx-XX"}',                    # a locale the account lacks
  $c . '{"ConsentType":"Marketing","ConsentVersion":"2.0","ConsentStatus":1,"Locale":5}' ]                         # a wrong type of locale
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 4 ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 29: a profile with every part: a consent given for a phone number and each consent a preference's filter requires are associated, with their events
--- request eval
"POST /Profiles/v4/DataChgCo/Profile\n" . JSON::PP::encode_json(main::base_doc("crm-$$-new"))
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ ProfileId => qr/^\d+$/ }
--- sql
SELECT (SELECT count(*) FROM prefs_event WHERE profile_id = :'ProfileId' AND event_type = 'consent.elementassociation.created'),
       (SELECT concat_ws('/', data->>'ConsentType', data->>'ConsentVersion', data->>'ConsentStatus', data->>'ContactType', data->>'ContactPoint')
        FROM prefs_event WHERE profile_id = :'ProfileId' AND event_type = 'consent.elementassociation.created'),
       (SELECT count(*) FROM prefs_event WHERE profile_id = :'ProfileId' AND event_type = 'consent.filterassociation.created'),
       (SELECT concat_ws('/', data->>'ConsentType', data->>'ConsentVersion', data->>'ConsentStatus', data->>'Locale', data->>'FilterId',
                         data->>'ContactPoint')
        FROM prefs_event WHERE profile_id = :'ProfileId' AND event_type = 'consent.filterassociation.created'
        ORDER BY event_id LIMIT 1),
       (SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = :'ProfileId' AND is_active)
--- sql_result
1|TextMessaging/2024-01/1/Phone/+15550100100|5|Marketing/2.0/1/en-US/NewsletterEmail/a@example.com|6
--- no_error_log
[error]
[alert]


=== TEST 30: the consents show their contact point and locale
--- request eval
"GET /Profiles/v4/DataChgCo/Profile/$::base"
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin')
--- error_code: 200
--- response_json eval
{ Consents => PrefsTest::contains({ ConsentType => 'TextMessaging', ContactPoint => '+15550100100' },
                                  { ConsentType => 'Marketing', Locale => 'en-US' }) }
--- no_error_log
[error]
[alert]


=== TEST 31: refused changes of value, and a Preserve* flag that is not a boolean: each 400 saying why, nothing changed or recorded
--- request eval
my $p = "POST /Profiles/v4/DataChgCo/Profile/$::base\n";
my $i = $::Ibase;
[ map { $p . JSON::PP::encode_json($_) }
  { Emails => [ { EmailId => $i->{email}{'a@example.com'}, EmailAddress => 'nope' } ] },               # an invalid address
  { Emails => [ { EmailId => $i->{email}{'a@example.com'}, EmailAddress => 'B@example.com' } ] },      # another email of the profile
  { PhoneNumbers => [ { PhoneId => $i->{phone}{'+15550100100'}, PhoneNumber => 'abc' } ] },            # an invalid number
  { PhoneNumbers => [ { PhoneId => $i->{phone}{'+15550100100'}, PhoneNumber => '+15550100200' } ] },  # another number of the profile
  { PreservePreferences => 'no' } ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 5 ]
--- response_json_list eval
[ map { { Message => $_ } } qr/Emails\[0\]\.EmailAddress must be an email address/, qr/is another email of this profile/,
  qr/PhoneNumbers\[0\]\.PhoneNumber must be a phone number/, qr/another phone number/, qr/./ ]
--- sql_unchanged eval
$::snapshot
--- no_error_log
[error]
[alert]


=== TEST 32: an email with "IsActive": false: contacts.email.deactivated; the row kept, inactive; PreservePreferences (default true) keeps its preference (not shown: its contact point is gone)
--- request eval
[ main::step('email_off'), "GET /Profiles/v4/DataChgCo/Profile/$::P{email_off}" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ Emails => PrefsTest::satisfies(sub { !grep { $_->{EmailAddress} eq 'c@example.com' } @{ $_[0] } }, 'without c@example.com'),
  ProfilePreferences => [] }
--- sql eval
main::facts($::P{email_off}, [ 'contacts.email.deactivated', "data->>'EmailAddress'" ])
. ", (SELECT is_active FROM prefs_profile_email WHERE email_id = $::I{email_off}{email}{'c@example.com'})"
. ", (SELECT string_agg(filter_id || ':' || is_archived, ',') FROM prefs_preference"
. "   WHERE email_id = $::I{email_off}{email}{'c@example.com'})"
--- sql_result
contacts.email.deactivated profile.updated|c@example.com|f|ProductUpdatesEmail:false
--- no_error_log
[error]
[alert]


=== TEST 33: an email by EmailId with PreservePreferences false: its preference is archived, its consent associations end
--- request eval
main::step('email_id_off')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::P{email_id_off}, [ 'preference.archived', "data->>'FilterId'" ])
--- sql_result
contacts.email.deactivated preference.archived consent.filterassociation.deactivated consent.filterassociation.deactivated profile.updated|PartnerOffersEmail
--- no_error_log
[error]
[alert]


=== TEST 34: removing an email the profile lacks changes nothing; an EmailId the profile lacks is 400 naming it
--- request eval
my $p = "POST /Profiles/v4/DataChgCo/Profile/$::base\n";
[ $p . '{"Emails":[{"EmailAddress":"nobody@example.com","IsActive":false}]}',
  $p . '{"Emails":[{"EmailId":999999999,"IsActive":false}]}' ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 400 ]
--- response_json eval
{ Message => qr/Emails\[0\]\.EmailId/ }
--- sql_unchanged eval
"SELECT count(*) FROM prefs_event WHERE profile_id = $::base"
--- no_error_log
[error]
[alert]


=== TEST 35: a PhoneId with another Number: PreserveConsents (default true) moves the consent given for it, and its preference follows
--- request eval
[ main::step('phone_number'), "GET /Profiles/v4/DataChgCo/Profile/$::P{phone_number}" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json eval
{ PhoneNumbers => PrefsTest::contains({ PhoneNumber => '+15550100101',
                                        PhonePreferences => [ { FilterId => 'NewsletterText' } ] }) }
--- sql eval
main::facts($::P{phone_number}, [ 'contacts.phone.updated', "data->>'PhoneNumber'" ],
            [ 'contacts.phone.updated', "previous_data->>'PhoneNumber'" ],
            [ 'consent.elementassociation.updated', "data->>'ContactPoint'" ],
            [ 'consent.elementassociation.updated', "previous_data->>'ContactPoint'" ])
--- sql_result
contacts.phone.updated consent.elementassociation.updated profile.updated|+15550100101|+15550100100|+15550100101|+15550100100
--- no_error_log
[error]
[alert]


=== TEST 36: again with PreserveConsents false: consent.elementassociation.deactivated naming the number it was given for
--- request eval
main::step('phone_number_unkept')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::P{phone_number_unkept}, [ 'consent.elementassociation.deactivated', "data->>'ContactPoint'" ])
--- sql_result
contacts.phone.updated consent.elementassociation.deactivated profile.updated|+15550100101
--- no_error_log
[error]
[alert]


=== TEST 37: IsMobile false archives the text preference
--- request eval
main::step('not_mobile')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::events($::P{not_mobile})
--- sql_result
preference.archived contacts.phone.updated consent.filterassociation.deactivated consent.filterassociation.deactivated profile.updated
--- no_error_log
[error]
[alert]


=== TEST 38: a consent for the home phone
--- request eval
main::step('home_consent')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = $::P{home_consent} AND kind = 'E' AND is_active"
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 39: a phone number with "IsActive": false: contacts.phone.deactivated; PreserveConsents (default true) keeps its consent's association
--- request eval
main::step('phone_off')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT (" . main::events($::P{phone_off}) . "), (SELECT count(*) FROM prefs_consent_assoc"
. " WHERE profile_id = $::P{phone_off} AND kind = 'E' AND is_active)"
--- sql_result
contacts.phone.deactivated profile.updated|1
--- no_error_log
[error]
[alert]


=== TEST 40: another with PreserveConsents false: consent.elementassociation.deactivated
--- request eval
main::step('phone_off_unkept')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::events($::P{phone_off_unkept})
--- sql_result
contacts.phone.deactivated consent.elementassociation.deactivated profile.updated
--- no_error_log
[error]
[alert]


=== TEST 41: a mail preference for an address
--- request eval
main::step('mail_pref')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- no_error_log
[error]
[alert]


=== TEST 42: an address moves (its AddressId with other lines), PreservePreferences by default: its preference stays
--- request eval
main::step('address_moves')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::events($::P{address_moves})
--- sql_result
contacts.address.updated profile.updated
--- no_error_log
[error]
[alert]


=== TEST 43: and again with PreservePreferences false: its mail preference is archived
--- request eval
main::step('address_moves_unkept')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::events($::P{address_moves_unkept})
--- sql_result
contacts.address.updated preference.archived profile.updated
--- no_error_log
[error]
[alert]


=== TEST 44: an address by AddressId with "IsActive": false: contacts.address.deactivated, its Data the address
--- request eval
main::step('address_off')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::facts($::P{address_off}, [ 'contacts.address.deactivated', "data->>'Address1'" ])
--- sql_result
contacts.address.deactivated profile.updated|2 Side St
--- no_error_log
[error]
[alert]


=== TEST 45: an alternate id by type with "IsActive": false: contacts.alternateid.deactivated; the profile is not found by it any more
--- request eval
[ main::step('alternate_id_off'), "GET /Profiles/v4/DataChgCo/Profile/AlternateIdType/CRMId/AlternateId/crm-$$-alternate_id_off" ]
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 404 ]
--- sql eval
main::facts($::P{alternate_id_off}, [ 'contacts.alternateid.deactivated',
    "data = jsonb_build_object('Type', 'CRMId', 'Value', 'crm-$$-alternate_id_off')" ])
--- sql_result
contacts.alternateid.deactivated profile.updated|t
--- no_error_log
[error]
[alert]


=== TEST 46: a preference with "IsArchived": true is archived (nested in its email), its Marketing association ends
--- request eval
main::step('archived')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
main::events($::P{archived})
--- sql_result
preference.archived consent.filterassociation.deactivated profile.updated
--- no_error_log
[error]
[alert]


=== TEST 47: erasure takes the contact points of consents and the associations too
--- request eval
main::step('erase')
--- more_headers eval
PrefsTest::auth('DataChgCo', 'admin')
--- error_code: 204
--- sql eval
"SELECT (SELECT count(*) FROM prefs_consent WHERE profile_id = $::P{erase} AND (contact_point IS NOT NULL OR contact_key <> '')),"
. " (SELECT count(*) FROM prefs_consent_assoc WHERE profile_id = $::P{erase})"
--- sql_result
0|0
--- no_error_log
[error]
[alert]
