# The Sync feed over HTTP (GET Sync/Changes, docs/bulk.md "Sync"): the
# profiles changed after a cursor, each once a page in its current state
# (the stored copy, or a fresh rendering when the copy is stale), ordered
# by their last change, erased profiles as tombstones; limit and the cursor
# chain; a position no longer kept is 410; permissions, another account's
# cursor, every kind of bad parameter.  (Writers, a killed helper, a
# PostgreSQL restart and two nginx: t/154-sync-feed.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;

for my $c ('SyncCo', 'SyncOtherCo', 'SyncGoneCo') {
    api_account($c);
    api_user($c, 'admin', 'Administrators');
    PrefsTest::api_config_import($c);
}
api_user('SyncCo', 'reader', 'ReadOnly');
api_user('SyncCo', 'integration', 'Integration');

sub call {
    my ($client, $method, $path, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', $method, $path, $body);
    die "preparing: $method $path: $st $raw\n" unless $st =~ /^2/;
    return $j;
}

sub create { call($_[0], 'POST', 'Profile', { CustomerName => { FirstName => $_[1] },
                                              Emails => [ { EmailAddress => lc($_[1]) . '@example.com' } ],
                                              CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] })->{ProfileId} }

# Ann, Bob, Cid created in that order; Ann renamed; Cid erased: their last
# changes come in the order Bob, Ann, Cid
our $ann = create('SyncCo', 'Ann');
our $bob = create('SyncCo', 'Bob');
our $cid = create('SyncCo', 'Cid');
call('SyncCo', 'POST', "Profile/$ann", { CustomerName => { FirstName => 'Anna' } });
call('SyncCo', 'DELETE', "Profile/$cid?erase=true");
our $oscar = create('SyncOtherCo', 'Oscar');
our $gone = create('SyncGoneCo', 'Gil');
PrefsTest::events_settled();

# cursors: after the first page of 2 (Ann, Bob), after everything, another
# account's, an altered one, and one whose event is no longer kept
our $c2 = call('SyncCo', 'GET', 'Sync/Changes?limit=2')->{NextCursor};
our $end = call('SyncCo', 'GET', 'Sync/Changes')->{NextCursor};
our $other = call('SyncOtherCo', 'GET', 'Sync/Changes')->{NextCursor};
our $forged = $end;
$forged =~ s/^(.{5})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
our $dropped = call('SyncGoneCo', 'GET', 'Sync/Changes?limit=1')->{NextCursor};
PrefsTest::api_prepared();
# the day's partition dropped, as the helper's upkeep does past the history
psql("DELETE FROM prefs_event e USING prefs_account a WHERE a.account_id = e.account_id AND a.client_id = 'SyncGoneCo'");

# Bob's stored copy made stale (as a load straight into the tables leaves
# it): the feed renders him afresh and stores nothing
psql("UPDATE prefs_profile_doc SET src_xmin = '1', doc = '{\"Stale\":true}' WHERE profile_id = CAST(:'p' AS bigint)",
     p => $bob);

# the ProfileIds of an answer's Changes, in order
sub changes_are {
    my @want = @_;
    return PrefsTest::satisfies(sub { join(',', map { $_->{ProfileId} } @{ $_[0] }) eq join(',', @want) },
                                "the profiles @want in that order");
}

repeat_each(2);
api_blocks();
PrefsTest::api_checks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: every changed profile once, ordered by its last change, in its current state; the erased one a tombstone
--- request
GET /Profiles/v4/SyncCo/Sync/Changes
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => main::changes_are($::bob, $::ann, $::cid), Count => 3, HasMore => JSON::PP::false(), NextCursor => $::end }
--- no_error_log
[error]
[alert]


=== TEST 2: the entries: the reference's UserProfilePreference, a fresh rendering for a stale copy, the tombstone's shape
--- request
GET /Profiles/v4/SyncCo/Sync/Changes
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => [
    { ProfileId => $::bob, Erased => JSON::PP::false(), ChangedDate => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      Profile => { ProfileId => $::bob, CustomerName => { FirstName => 'Bob' }, Stale => PrefsTest::absent(),
                   Emails => PrefsTest::contains({ EmailAddress => 'bob@example.com' }) } },
    { ProfileId => $::ann, Erased => JSON::PP::false(), ChangedDate => PrefsTest::present(),
      Profile => { ProfileId => $::ann, CustomerName => { FirstName => 'Anna' } } },
    { ProfileId => $::cid, Erased => JSON::PP::true(), ChangedDate => PrefsTest::present(), Profile => undef } ] }
--- sql_unchanged
SELECT profile_id, src_xmin::text, doc FROM prefs_profile_doc d JOIN prefs_profile p USING (profile_id)
 JOIN prefs_account a USING (account_id) WHERE a.client_id = 'SyncCo' ORDER BY 1, 2
--- no_error_log
[error]
[alert]


=== TEST 3: limit=2: the first two profiles of the stream, HasMore
--- request
GET /Profiles/v4/SyncCo/Sync/Changes?limit=2
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => main::changes_are($::ann, $::bob), Count => 2, HasMore => JSON::PP::true(), NextCursor => $::c2 }
--- no_error_log
[error]
[alert]


=== TEST 4: after that page: Ann again (renamed after it) and Cid; a position is never served twice
--- request eval
"GET /Profiles/v4/SyncCo/Sync/Changes?limit=2&after=$::c2"
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => main::changes_are($::ann, $::cid), Count => 2, HasMore => JSON::PP::false(), NextCursor => $::end }
--- no_error_log
[error]
[alert]


=== TEST 5: after the last change: nothing, and the same cursor to ask again with (parameter names in any case)
--- request eval
"GET /Profiles/v4/SyncCo/Sync/Changes?AFTER=$::end&Limit=5"
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => [], Count => 0, HasMore => JSON::PP::false(), NextCursor => $::end }
--- no_error_log
[error]
[alert]


=== TEST 6: the Integration group may read the feed
--- request
GET /Profiles/v4/SyncCo/Sync/Changes?limit=1
--- more_headers eval
PrefsTest::auth('SyncCo', 'integration')
--- error_code: 200
--- response_json eval
{ Count => 1 }
--- no_error_log
[error]
[alert]


=== TEST 7: the other account sees only its own
--- request
GET /Profiles/v4/SyncOtherCo/Sync/Changes
--- more_headers eval
PrefsTest::auth('SyncOtherCo', 'admin')
--- error_code: 200
--- response_json eval
{ Changes => main::changes_are($::oscar), NextCursor => $::other }
--- no_error_log
[error]
[alert]


=== TEST 8: without BulkExport (ReadOnly, which reads events): 403
--- request
GET /Profiles/v4/SyncCo/Sync/Changes
--- more_headers eval
PrefsTest::auth('SyncCo', 'reader')
--- error_code: 403
--- response_json eval
{ Message => qr/BulkExport/ }
--- no_error_log
[error]
[alert]


=== TEST 9: another account's cursor is refused: 400, nothing of either account shown
--- request eval
"GET /Profiles/v4/SyncCo/Sync/Changes?after=$::other"
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 400
--- response_json eval
{ Message => qr/^after is not a cursor of this account's changes/, Changes => PrefsTest::absent() }
--- no_error_log
[error]
[alert]


=== TEST 10: an altered cursor: 400
--- request eval
"GET /Profiles/v4/SyncCo/Sync/Changes?after=$::forged"
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 400
--- response_json eval
{ Message => qr/^after is not a cursor/ }
--- no_error_log
[error]
[alert]


=== TEST 11: cursor garbage: 400 for each
--- request eval
[ map { "GET /Profiles/v4/SyncCo/Sync/Changes?after=$_" }
  ('', 'x', '%00', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'A' x 5000, '%C3%28', '1:2', '-1') ]
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code eval
[ (400) x 8 ]
--- response_body_like eval
[ ('"Message":"after is not a cursor') x 2, '"Message":"The query string is invalid: the value of after is badly encoded',
  '"Message":"after is not a cursor', '"Message":"The query string is invalid: the value of after is longer than 4000 bytes',
  '"Message":"The query string is invalid: the value of after is badly encoded', ('"Message":"after is not a cursor') x 2 ]
--- no_error_log
[error]
[alert]


=== TEST 12: limit out of bounds or not a number: 400 naming the range
--- request eval
[ map { "GET /Profiles/v4/SyncCo/Sync/Changes?limit=$_" } ('0', '1001', '-1', 'abc', '', '1.5', '01', '99999999999999999999') ]
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code eval
[ (400) x 8 ]
--- response_body_like eval
[ ('"Message":"limit must be a whole number from 1 to 1000"') x 8 ]
--- no_error_log
[error]
[alert]


=== TEST 13: an unknown parameter, or one given twice: 400
--- request eval
[ 'GET /Profiles/v4/SyncCo/Sync/Changes?since=2026-01-01', 'GET /Profiles/v4/SyncCo/Sync/Changes?limit=1&limit=2' ]
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code eval
[ 400, 400 ]
--- response_body_like eval
[ '"Message":"unknown query parameter .{1,2}since', '"Message":"The query string is invalid: limit is given twice' ]
--- no_error_log
[error]
[alert]


=== TEST 14: a position whose event is no longer kept: 410, start again
--- request eval
"GET /Profiles/v4/SyncGoneCo/Sync/Changes?after=$::dropped"
--- more_headers eval
PrefsTest::auth('SyncGoneCo', 'admin')
--- error_code: 410
--- response_json eval
{ Message => qr/older than the events kept/ }
--- no_error_log
[error]
[alert]


=== TEST 15: other methods: 405
--- request
POST /Profiles/v4/SyncCo/Sync/Changes
{}
--- more_headers eval
PrefsTest::auth('SyncCo', 'admin')
--- error_code: 405
--- no_error_log
[error]
[alert]
