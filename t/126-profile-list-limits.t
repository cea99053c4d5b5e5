# Every list of a profile body is counted before any per-item work: a huge
# list costs one quick 400 naming the limit, whatever route carries it
# (UpdateProfile, the part routes, a create), instead of minutes of
# database time holding the profile's row lock (issue 16, finding 2).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use JSON::PP;

our ($pid, $untouched, $huge_tags);

api_account('ListLimitCo');
api_user('ListLimitCo', 'admin', 'Administrators');
PrefsTest::api_config_import('ListLimitCo');
{
    my ($st, undef, $j, $raw) = PrefsTest::api_request('ListLimitCo', 'admin', 'POST', 'Profile',
        { CustomerName => { FirstName => 'Lim' }, CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    $pid = $j->{ProfileId};
}
PrefsTest::api_prepared();

# 100,000 tags, about 800 KB: under prefs_max_body, far over any list limit
$huge_tags = encode_json([ map { "$_" } 1 .. 100_000 ]);

# a refused write leaves the account's events and profiles as they were
$untouched = "SELECT (SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = 'ListLimitCo'), (SELECT md5(string_agg(p::text, ',' ORDER BY profile_id))"
    . " FROM prefs_profile p JOIN prefs_account a USING (account_id) WHERE a.client_id = 'ListLimitCo')";

sub ::items {
    my ($list, $n) = @_;
    my %item = (AlternateIds => { Type => 'CRMId', IsActive => JSON::PP::false() },
                Emails => { EmailAddress => 'x@example.com', IsActive => JSON::PP::false() },
                PhoneNumbers => { PhoneNumber => '+15550100100', IsActive => JSON::PP::false() },
                Addresses => { AddressId => 1, IsActive => JSON::PP::false() },
                CustomFields => { Name => 'Nickname', IsActive => JSON::PP::false() },
                Groups => { Type => 'Household', Name => 'Does', IsActive => JSON::PP::false() },
                Tags => { Name => 'VIP', IsActive => JSON::PP::false() },
                ProfilePreferences => { FilterId => 'NewsletterEmail', IsArchived => JSON::PP::true() },
                Consents => { ConsentType => 'Marketing', ConsentVersion => '2.0', ConsentStatus => 1 });
    return encode_json({ $list => [ ($item{$list}) x $n ] });
}

our @lists = qw(AlternateIds Emails PhoneNumbers Addresses CustomFields Groups Tags ProfilePreferences Consents);

api_blocks();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 100,000 tags to the Tags part route: a quick 400 naming the limit
--- timeout: 10
--- request eval
"POST /Profiles/v4/ListLimitCo/Profile/$::pid/Tags\n$::huge_tags"
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like chomp
^\{"Message":"Tags must have at most 1000 elements"\}$
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 2: the same list wrapped as in the profile, and in UpdateProfile
--- timeout: 10
--- request eval
[ "POST /Profiles/v4/ListLimitCo/Profile/$::pid/Tags\n{\"Tags\":$::huge_tags}",
  "POST /Profiles/v4/ListLimitCo/Profile/$::pid\n{\"Tags\":$::huge_tags}" ]
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 400, 400 ]
--- response_body_like eval
[ (qr/^\{"Message":"Tags must have at most 1000 elements"\}$/) x 2 ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 3: the DELETE part route, which has its own limit
--- timeout: 10
--- request eval
"DELETE /Profiles/v4/ListLimitCo/Profile/$::pid/Tags\n$::huge_tags"
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_body_like chomp
^\{"Message":"Tags must have at most 200 elements"\}$
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 4: JSON Patch adding the list
--- timeout: 10
--- request eval
"PATCH /Profiles/v4/ListLimitCo/Profile/$::pid\n[{\"op\":\"add\",\"path\":\"/Tags\",\"value\":$::huge_tags}]"
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 400
--- response_body_like chomp
^\{"Message":".*Tags must have at most 1000 elements"\}$
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 5: every list of UpdateProfile, 1001 removal items each: 400 naming the list and the limit
--- request eval
[ map { "POST /Profiles/v4/ListLimitCo/Profile/$::pid\n" . ::items($_, 1001) } @::lists ]
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x @::lists ]
--- response_body_like eval
[ map { qr/^\{"Message":"$_ must have at most 1000 elements"\}$/ } @::lists ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 6: the part routes of Groups, CustomFields, Preferences and Consents, and a create
--- request eval
[ "POST /Profiles/v4/ListLimitCo/Profile/$::pid/Groups\n" . ::items('Groups', 1001),
  "POST /Profiles/v4/ListLimitCo/Profile/$::pid/CustomFields\n" . ::items('CustomFields', 1001),
  "POST /Profiles/v4/ListLimitCo/Profile/$::pid/Preferences\n" . ::items('ProfilePreferences', 1001),
  "POST /Profiles/v4/ListLimitCo/Consents/$::pid\n" . ::items('Consents', 1001),
  "POST /Profiles/v4/ListLimitCo/Profile\n" . ::items('Emails', 1001) ]
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 5 ]
--- response_body_like eval
[ map { qr/^\{"Message":"$_ must have at most 1000 elements"\}$/ }
  qw(Groups CustomFields ProfilePreferences Consents Emails) ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]


=== TEST 7: below the size check each list keeps its own limit, after it
--- request eval
[ "POST /Profiles/v4/ListLimitCo/Profile/$::pid\n" . ::items('Tags', 150),
  "POST /Profiles/v4/ListLimitCo/Profile/$::pid\n{\"Tags\":[" . CORE::join(',', map { "\"t$_\"" } 1 .. 101) . "]}" ]
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 400 ]
--- response_body_like eval
[ qr/./, qr/^\{"Message":"Tags must have at most 100 elements"\}$/ ]
--- no_error_log
[error]
[alert]


=== TEST 8: the preference lists nested in contact points: at most 500 each, and 500 preferences in a body
--- request eval
my $p = { FilterId => 'NewsletterEmail', PreferenceType => 1 };
[ "POST /Profiles/v4/ListLimitCo/Profile/$::pid\n" . JSON::PP::encode_json({ Emails => [
      { EmailAddress => 'x@example.com', EmailPreferences => [ ($p) x 501 ] } ] }),
  "POST /Profiles/v4/ListLimitCo/Profile/$::pid/Preferences\n" . JSON::PP::encode_json({ Emails => [
      { EmailAddress => 'x@example.com', EmailPreferences => [ ($p) x 300 ] },
      { EmailAddress => 'y@example.com', EmailPreferences => [ ($p) x 300 ] } ] }) ]
--- more_headers eval
PrefsTest::auth('ListLimitCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 400, 400 ]
--- response_body_like eval
[ qr/^\{"Message":"Emails\[0\]\.EmailPreferences must have at most 500 elements"\}$/,
  qr/^\{"Message":"ProfilePreferences with the preferences of the contact points must be at most 500 preferences"\}$/ ]
--- sql_unchanged eval
$::untouched
--- no_error_log
[error]
[alert]
