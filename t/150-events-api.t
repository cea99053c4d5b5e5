# The Events API over HTTP: the four routes, their filters, localized
# Name/Description, the window of prefs_event_history_days, another
# account's ids, permissions, bad input; the directive's range.  (Cursor
# paging while writers commit out of order: t/152-events-paging.t; the
# helper's partition upkeep: t/151-events-upkeep.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;
use JSON::PP;
use POSIX qw(strftime);

for my $c ('EventsCo', 'EventsOther', 'EventsPausedCo') {
    api_account($c);
    api_user($c, 'admin', 'Administrators');
    PrefsTest::api_config_import($c);
}
our $admin_id = api_user('EventsCo', 'lister', 'Administrators');
api_user('EventsCo', 'reader', 'ReadOnly');
api_user('EventsCo', 'cfg', 'ConfigurationManagers');

sub account_id { psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $_[0]) }

sub profile {
    my ($client, $first) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Profile',
        { CustomerName => { FirstName => $first }, CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

sub update {
    my ($id, $body) = @_;
    my ($st, undef, undef, $raw) = PrefsTest::api_request('EventsCo', 'admin', 'POST', "Profile/$id", $body);
    die "preparing an update: $st $raw\n" unless $st == 200;
}

# a webhook subscription row, as the Webhooks API leaves one
sub subscription {
    my ($client, $state) = @_;
    return psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state, subscriptions, secret_sealed)"
                      . " SELECT account_id, 's', 'https://example.com/h', :'st', :'subs', 'x' FROM prefs_account"
                      . " WHERE client_id = :'c' RETURNING subscription_id",
                      c => $client, st => $state, subs => encode_json([ { EventType => 'profile.created' } ]));
}

our ($acct, $p1, $p2, $op, $pp1, $pp2, $sub, $osub, $psub, $old, $recent, $one, $last_cursor, $ocursor, $forged,
     $past, $future);
$acct = account_id('EventsCo');
$p1 = profile('EventsCo', 'Ann');
$p2 = profile('EventsCo', 'Bob');
update($p1, { CustomerName => { FirstName => 'Anna' } });
update($p2, { CustomerName => { MiddleName => "M$_" } }) for 1 .. 7;
psql("SELECT prefs_event_add(:'a', NULL, 'tag.added', :'p', '{\"Name\":\"x\"}')", a => $acct, p => $p1);
$op = profile('EventsOther', 'Oscar');
$pp1 = profile('EventsPausedCo', 'Pia');
$pp2 = profile('EventsPausedCo', 'Paul');

# an event 11 days old (outside the window of 10) and one 9 days old
$old = psql_value("INSERT INTO prefs_event (account_id, event_type, entity, profile_id, recorded_date)"
                  . " VALUES (:'a', 'tag.added', 'Tags', :'p', now() - interval '11 days') RETURNING event_id",
                  a => $acct, p => $p1);
$recent = psql_value("INSERT INTO prefs_event (account_id, event_type, entity, profile_id, recorded_date)"
                     . " VALUES (:'a', 'tag.added', 'Tags', :'p', now() - interval '9 days') RETURNING event_id",
                     a => $acct, p => $p1);

# the events the lister records are of source group 7
psql("UPDATE prefs_user SET source_group_id = 7 WHERE user_id = :'u'", u => $admin_id);
psql("SELECT prefs_event_add(:'a', :'u', 'tag.added', :'p', '{\"Name\":\"listed\"}')", a => $acct, u => $admin_id, p => $p2);

$sub = subscription('EventsCo', 'Active');
$osub = subscription('EventsOther', 'Active');
$psub = subscription('EventsPausedCo', 'Paused');

$one = psql_value("SELECT event_id FROM prefs_event WHERE profile_id = :'p' AND event_type = 'profile.created'", p => $p1);
$last_cursor = (PrefsTest::api_request('EventsCo', 'admin', 'GET', 'Events?startAt=2000-01-01&limit=1000'))[2]{NextCursor};
$ocursor = (PrefsTest::api_request('EventsOther', 'admin', 'GET', 'Events?limit=1'))[2]{NextCursor};
($forged = $last_cursor) =~ s/^(.{5})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
PrefsTest::api_prepared();
# every event above is below the Events API's horizon before a block reads
PrefsTest::events_settled();

$past = strftime('%Y-%m-%dT%H:%M:%S', gmtime(time - 3600));
$future = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 3600));

# the ids of an account's events in the window (and of $where), in order
sub db_ids {
    my ($client, $where) = @_;
    return join ',', split /\n/, psql("SELECT event_id FROM prefs_event e JOIN prefs_account a USING (account_id)"
        . " WHERE a.client_id = :'c' AND recorded_date > now() - interval '10 days'"
        . ($where ? " AND $where" : '') . " ORDER BY event_id", c => $client);
}

# an answer's Events are those of the account (and of $where)
sub events_are {
    my ($client, $where) = @_;
    return PrefsTest::satisfies(sub { join(',', sort { $a <=> $b } map { $_->{EventId} } @{ $_[0] }) eq db_ids($client, $where) },
                                "the events of $client" . ($where ? " where $where" : ''));
}

# the types among an answer's Events
sub types_are {
    my @want = @_;
    return PrefsTest::satisfies(sub { join(',', sort keys %{{ map { $_->{EventType} => 1 } @{ $_[0] } }}) eq join(',', @want) },
                                "events of the types @want");
}

# a window of 10 days for every block that does not set its own
add_block_preprocessor(sub {
    my ($block) = @_;
    my $http = $block->http_config // '';
    $block->set_value(http_config => "prefs_event_history_days 10;\n$http") unless $http =~ /prefs_event_history_days/;
});
# every block only reads: each runs twice, to catch state left between requests
repeat_each(2);
api_blocks();
PrefsTest::api_checks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: prefs_event_history_days 0 is refused, naming its range
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
prefs_event_history_days 0;
--- config
--- must_die
--- error_log
value must be between 1 and 3650


=== TEST 2: prefs_event_history_days 3651 is refused, naming its range
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
prefs_event_history_days 3651;
--- config
--- must_die
--- error_log
value must be between 1 and 3650


=== TEST 3: prefs_event_history_days x is refused, naming the directive
--- http_config
prefs_database "$TEST_NGINX_PREFS_DATABASE";
prefs_secret_key $TEST_NGINX_PREFS_KEY;
prefs_event_history_days x;
--- config
--- must_die
--- error_log
"prefs_event_history_days" directive invalid number


=== TEST 4: GET Events: every event of the account in the window, localized in en-US, with the paging fields
--- request
GET /Profiles/v4/EventsCo/Events
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_headers_like
Content-Language: en-US
Vary: .*Accept-Language.*
Content-Type: application/json.*
--- response_json eval
PrefsTest::satisfies(sub { my $j = shift; $j->{Count} == @{ $j->{Events} } && exists $j->{NextCursor} && exists $j->{HasMore}
                           && PrefsTest::json_match($j, {
    Events => PrefsTest::contains(
        { EventType => 'profile.created', ProfileId => $::p1, Name => 'Profile Created', Entity => 'ProfileActions',
          RecordedBy => 'admin', RecordedDate => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
          SubscriptionId => PrefsTest::absent() },
        { ProfileId => $::p1, PreviousData => PrefsTest::present() }) }) eq ''
                           && PrefsTest::json_match($j->{Events}, main::events_are('EventsCo')) eq '' },
                     'the account\'s events, with Count, NextCursor and HasMore; profile.created of Ann in en-US; an update with PreviousData')
--- no_error_log
[error]
[alert]


=== TEST 5: the other account sees only its own
--- request
GET /Profiles/v4/EventsOther/Events
--- more_headers eval
PrefsTest::auth('EventsOther', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::events_are('EventsOther') }
--- no_error_log
[error]
[alert]


=== TEST 6: limit=1: one event, HasMore
--- request
GET /Profiles/v4/EventsCo/Events?limit=1
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 1, HasMore => 1 }
--- no_error_log
[error]
[alert]


=== TEST 7: after the last cursor: nothing more, the same cursor to ask again with
--- request eval
"GET /Profiles/v4/EventsCo/Events?after=$::last_cursor"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 0, NextCursor => $::last_cursor, HasMore => 0 }
--- no_error_log
[error]
[alert]


=== TEST 8: eventType=profile.created: only those
--- request
GET /Profiles/v4/EventsCo/Events?eventType=profile.created
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => [ ({ EventType => 'profile.created' }) x 2 ] }
--- no_error_log
[error]
[alert]


=== TEST 9: a comma list of event types
--- request
GET /Profiles/v4/EventsCo/Events?eventType=profile.created,standardfield.middlename.added
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::types_are('profile.created', 'standardfield.middlename.added') }
--- no_error_log
[error]
[alert]


=== TEST 10: the indexed form
--- request
GET /Profiles/v4/EventsCo/Events?eventType[0]=profile.created&eventType[1]=tag.added
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::types_are('profile.created', 'tag.added') }
--- no_error_log
[error]
[alert]


=== TEST 11: parameter names match without case
--- request
GET /Profiles/v4/EventsCo/Events?EVENTTYPE=tag.added
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::types_are('tag.added') }
--- no_error_log
[error]
[alert]


=== TEST 12: the reference's misspelled type is accepted as its alias (no such events here)
--- request
GET /Profiles/v4/EventsCo/Events?eventType=consent.elementassocation.deactivated
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 0 }
--- no_error_log
[error]
[alert]


=== TEST 13: startAt before the window is moved up to it
--- request
GET /Profiles/v4/EventsCo/Events?startAt=2000-01-01T00:00:00Z
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::events_are('EventsCo') }
--- no_error_log
[error]
[alert]


=== TEST 14: startAt in the future: none
--- request eval
"GET /Profiles/v4/EventsCo/Events?startAt=$::future"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 0 }
--- no_error_log
[error]
[alert]


=== TEST 15: endAt before the default startAt: 400
--- request
GET /Profiles/v4/EventsCo/Events?endAt=2000-01-01
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 16: startAt and endAt without an offset are UTC; with an offset too
--- request eval
[ "GET /Profiles/v4/EventsCo/Events?startAt=$::past&endAt=$::future&limit=1000",
  "GET /Profiles/v4/EventsCo/Events?startAt=$::past%2B00:00&limit=1000" ]
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ ({ Events => main::events_are('EventsCo', "recorded_date >= now() - interval '1 hour'") }) x 2 ]
--- no_error_log
[error]
[alert]


=== TEST 17: an event older than prefs_event_history_days is outside the window; one inside it is there
--- request eval
[ "GET /Profiles/v4/EventsCo/Events/$::old", "GET /Profiles/v4/EventsCo/Events/$::recent" ]
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code eval
[ 404, 200 ]
--- response_json_list eval
[ { Message => qr/./ }, { EventId => $::recent } ]
--- no_error_log
[error]
[alert]


=== TEST 18: the listing leaves the old one out and has the recent one
--- request
GET /Profiles/v4/EventsCo/Events?startAt=2000-01-01&limit=1000
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => PrefsTest::satisfies(sub { my %id = map { $_->{EventId} => 1 } @{ $_[0] }; !$id{$::old} && $id{$::recent} },
                                 'without the old event, with the recent one') }
--- no_error_log
[error]
[alert]


=== TEST 19: sourceGroupIds[0]=7: the events recorded by users of group 7
--- request
GET /Profiles/v4/EventsCo/Events?sourceGroupIds[0]=7&limit=1000
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 1, Events => main::events_are('EventsCo', "recorded_by = $::admin_id") }
--- no_error_log
[error]
[alert]


=== TEST 20: groups no user belongs to: none
--- request
GET /Profiles/v4/EventsCo/Events?sourceGroupIds[0]=8&sourceGroupIds[1]=9
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 0 }
--- no_error_log
[error]
[alert]


=== TEST 21: GET Events/Subscription/{id}: the events it selects, and no other, each with its SubscriptionId
--- request eval
"GET /Profiles/v4/EventsCo/Events/Subscription/$::sub"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => PrefsTest::satisfies(sub { CORE::join(',', sort map { $_->{ProfileId} } @{ $_[0] }) eq CORE::join(',', sort $::p1, $::p2)
                                       && !grep { $_->{EventType} ne 'profile.created'
                                                  || ($_->{SubscriptionId} // 0) != $::sub } @{ $_[0] } },
                                 'profile.created of Ann and Bob, each with the SubscriptionId') }
--- no_error_log
[error]
[alert]


=== TEST 22: another account's subscription is 404, with a Message; so is an unknown one
--- request eval
[ "GET /Profiles/v4/EventsCo/Events/Subscription/$::osub", "GET /Profiles/v4/EventsCo/Events/Subscription/999999999" ]
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code eval
[ 404, 404 ]
--- response_json_list eval
[ { Message => qr/subscription/ }, { Message => qr/./ } ]
--- no_error_log
[error]
[alert]


=== TEST 23: Events/Profile/{id}?subscribedOnly=false: all of the profile's events
--- request eval
"GET /Profiles/v4/EventsCo/Events/Profile/$::p2?subscribedOnly=false&limit=1000"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::events_are('EventsCo', "profile_id = $::p2") }
--- no_error_log
[error]
[alert]


=== TEST 24: subscribedOnly by default: only what an active subscription selects
--- request eval
"GET /Profiles/v4/EventsCo/Events/Profile/$::p2"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => [ { EventType => 'profile.created', ProfileId => $::p2 } ] }
--- no_error_log
[error]
[alert]


=== TEST 25: a paused subscription selects nothing for a profile, but its own listing still answers
--- request eval
[ "GET /Profiles/v4/EventsPausedCo/Events/Profile/$::pp2?subscribedOnly=true",
  "GET /Profiles/v4/EventsPausedCo/Events/Subscription/$::psub" ]
--- more_headers eval
PrefsTest::auth('EventsPausedCo', 'admin')
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Count => 0 }, { Count => PrefsTest::satisfies(sub { $_[0] >= 2 }, 'at least 2') } ]
--- no_error_log
[error]
[alert]


=== TEST 26: another account's profile is 404
--- request eval
"GET /Profiles/v4/EventsCo/Events/Profile/$::op"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 27: which its own account reads
--- request eval
"GET /Profiles/v4/EventsOther/Events/Profile/$::op?subscribedOnly=false"
--- more_headers eval
PrefsTest::auth('EventsOther', 'admin')
--- error_code: 200
--- response_json eval
{ Events => main::events_are('EventsOther', "profile_id = $::op") }
--- no_error_log
[error]
[alert]


=== TEST 28: GET Events/{eventId}: that event, without SubscriptionId
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ EventId => $::one, EventType => 'profile.created', SubscriptionId => PrefsTest::absent() }
--- no_error_log
[error]
[alert]


=== TEST 29: another account's event is 404
--- request eval
"GET /Profiles/v4/EventsOther/Events/$::one"
--- more_headers eval
PrefsTest::auth('EventsOther', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 30: Events/{eventId} takes no other parameter
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one?limit=3"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 31: locale=de-DE: German; an explicit locale does not vary
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one?locale=de-DE"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- raw_response_headers_unlike
(?i)vary:[^\r\n]*accept-language
--- response_json eval
{ Name => 'Profil erstellt' }
--- no_error_log
[error]
[alert]


=== TEST 32: locale=fr: French (fr-FR)
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one?locale=fr"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_headers
Content-Language: fr-FR
--- response_json eval
{ Name => "Profil cr\x{e9}\x{e9}" }
--- no_error_log
[error]
[alert]


=== TEST 33: Accept-Language: es-ES: Spanish, Description too, and Vary: Accept-Language
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin') . "Accept-Language: es-ES\n"
--- error_code: 200
--- response_headers_like
Vary: .*Accept-Language.*
--- response_json eval
{ Name => 'Perfil creado', Description => "Se cre\x{f3} un perfil." }
--- no_error_log
[error]
[alert]


=== TEST 34: Accept-Language de-CH falls back to de-DE
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin') . "Accept-Language: it-IT, de-CH;q=0.8, en;q=0.5\n"
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- no_error_log
[error]
[alert]


=== TEST 35: a header matching nothing: en-US
--- request eval
"GET /Profiles/v4/EventsCo/Events/$::one"
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin') . "Accept-Language: ja-JP\n"
--- error_code: 200
--- response_headers
Content-Language: en-US
--- no_error_log
[error]
[alert]


=== TEST 36: a listing in es_es
--- request
GET /Profiles/v4/EventsCo/Events?eventType=profile.created&locale=es_es
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_json eval
{ Events => [ ({ Name => 'Perfil creado' }) x 2 ] }
--- no_error_log
[error]
[alert]


=== TEST 37: a locale without texts is 400
--- request
GET /Profiles/v4/EventsCo/Events?locale=it-IT
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 400
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 38: ReadOnly has EventDataView
--- request
GET /Profiles/v4/EventsCo/Events
--- more_headers eval
PrefsTest::auth('EventsCo', 'reader')
--- error_code: 200
--- response_json eval
{ Events => main::events_are('EventsCo') }
--- no_error_log
[error]
[alert]


=== TEST 39: without EventDataView: 403 naming it
--- request
GET /Profiles/v4/EventsCo/Events
--- more_headers eval
PrefsTest::auth('EventsCo', 'cfg')
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the EventDataView permission"}
--- no_error_log
[error]
[alert]


=== TEST 40: bad parameters: 400 with a Message each
--- request eval
[ map { "GET /Profiles/v4/EventsCo/$_" }
  'Events?startAt=yesterday',                       # a malformed date
  'Events?startAt=2026-02-30',                      # a date that does not exist
  'Events?startAt=2026-01-02&endAt=2026-01-01',     # endAt before startAt
  'Events?startAt=2026-01-02&endAt=2026-01-02',     # startAt equal to endAt
  'Events?limit=0', 'Events?limit=1001', 'Events?limit=-1', 'Events?limit=abc', 'Events?limit=01',
  'Events?after=garbage',                           # a garbled cursor
  "Events?after=$::forged",                         # a forged cursor
  "Events?after=$::ocursor",                        # another account's cursor
  'Events?eventType=profile.exploded',              # an unknown event type
  'Events?eventType=',                              # an empty event type
  'Events?sourceGroupIds[0]=abc',                   # a bad source group
  'Events?sourceGroupIds[1]=3',                     # a gap in the indexes
  'Events?subscribedOnly=false',                    # subscribedOnly on Events
  "Events/Profile/$::p1?subscribedOnly=maybe",
  'Events?starAt=2026-01-01',                       # an unknown parameter
  'Events?limit=1&limit=2',                         # a parameter twice
  'Events?eventType=%zz',                           # a bad escape
  'Events?eventType=%ff',                           # invalid UTF-8
  'Events?locale=%21%21' ]                          # a locale that is no tag
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code eval
[ (400) x 23 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 23 ]
--- no_error_log
[error]
[alert]


=== TEST 41: hostile event, profile and subscription ids: 4xx
--- request eval
[ map { ("GET /Profiles/v4/EventsCo/Events/$_", "GET /Profiles/v4/EventsCo/Events/Profile/$_",
         "GET /Profiles/v4/EventsCo/Events/Subscription/$_") }
  'abc', '0', '-1', '01', '99999999999999999999', '1%00', '..' ]
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code_like eval
[ (qr/^40[04]$/) x 21 ]
--- no_error_log
[error]
[alert]


=== TEST 42: POST Events: 405
--- request
POST /Profiles/v4/EventsCo/Events
{}
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 405
--- no_error_log
[error]
[alert]


=== TEST 43: HEAD Events: 200 without a body
--- request
HEAD /Profiles/v4/EventsCo/Events?limit=1
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 200
--- response_body chomp
--- no_error_log
[error]
[alert]


=== TEST 44: Events/Subscription without an id: 404
--- request
GET /Profiles/v4/EventsCo/Events/Subscription
--- more_headers eval
PrefsTest::auth('EventsCo', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]
