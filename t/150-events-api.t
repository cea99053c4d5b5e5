# The Events API over HTTP: the four routes, their filters, localized
# Name/Description, cursor paging that neither skips nor repeats an event
# while writers commit out of order, another account's ids, bad input;
# and the helper's partition upkeep with prefs_event_history_days.
use strict;
use warnings;
use utf8;
use Test::More;
use JSON::PP;
use POSIX qw(strftime);
use IO::Handle;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';

# --- the directive's range ---------------------------------------------------------

my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
for my $bad (0, 3651, 'x') {
    # nginx says why on stderr: the check below reads it
    open(my $saved, '>&', \*STDERR) or die $!;
    open(STDERR, '>', '/dev/null') or die $!;
    my $ng = eval { PrefsTest::start_nginx(name => 'events-bad', port => 1995,
                                           http_config => "prefs_event_history_days $bad;") };
    open(STDERR, '>&', $saved) or die $!;
    ok(!$ng, "prefs_event_history_days $bad is refused");
    $ng->stop if $ng;
    my $out = `'$bin' -t -p '$top/t/servroot-events-bad/' -c conf/nginx.conf 2>&1`;
    like($out, qr/value must be between 1 and 3650|"prefs_event_history_days" directive invalid number/,
         '... naming the directive or its range');
}

# --- partition upkeep when the helper starts ---------------------------------------

my @day = map { strftime('%Y%m%d', gmtime(time + 86400 * $_)) } 0 .. 7;

# the migration made them: take the last away (it is empty) so that only the
# helper can bring it back; and an old partition, outside any window, with
# an event in it
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p$day[7]");
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p20200101");
psql("CREATE TABLE prefs_event_p20200101 (LIKE prefs_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
psql("ALTER TABLE prefs_event ATTACH PARTITION prefs_event_p20200101"
     . " FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')");
my $acme = make_account('events');
psql("INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)"
     . " SELECT account_id, 'tag.added', 'Tags', '2020-01-01 12:00+00' FROM prefs_account WHERE client_id = :'c'",
     c => $acme);
# and a row of the DEFAULT partition older than the window
psql("INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)"
     . " SELECT account_id, 'tag.added', 'Tags', now() - interval '40 days' FROM prefs_account WHERE client_id = :'c'",
     c => $acme);
is(psql_value("SELECT count(*) FROM prefs_event_default WHERE recorded_date < now() - interval '39 days'"), 1,
   'an old event sits in the DEFAULT partition');

my $ng = PrefsTest::start_nginx(name => 'events', port => 1994, workers => 2,
                                http_config => 'prefs_event_history_days 10;');

sub parts { psql_value("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       . " WHERE i.inhparent = 'prefs_event'::regclass AND c.relname = ANY (string_to_array(:'n', ','))",
                       n => join(',', map { "prefs_event_p$_" } @_)) }

ok(wait_until(sub { parts(@day) == 8 }, 15), 'partitions for today to 7 days ahead exist once nginx runs')
    or diag $ng->error_log;
ok(wait_until(sub { psql_value("SELECT to_regclass('prefs_event_p20200101') IS NULL") eq 't' }, 15),
   'a partition older than the window is dropped');
is(psql_value("SELECT count(*) FROM prefs_event_default WHERE recorded_date < now() - interval '39 days'"), 0,
   'and so are DEFAULT rows older than the window');
like($ng->error_log, qr/event partitions kept for 10 days: \d+ created, \d+ dropped/, 'the helper logs its run');

my ($st, $h, $raw) = $ng->request(path => '/prefs/status');
my $status = eval { decode_json($raw) } || {};
my $ep = $status->{Helper}{EventPartitions} || {};
like($ep->{LastRun} // '', qr/^\d{4}-\d\d-\d\dT/, 'the status shows the last upkeep run');
cmp_ok($ep->{Created} // 0, '>=', 1, '... what it created');
cmp_ok($ep->{Dropped} // 0, '>=', 1, '... and dropped');
ok(!$ep->{LastFailed}, '... and that it did not fail');

# a new helper (a reload, a crash) runs it again at its start
sub runs { scalar(() = $ng->error_log =~ /event partitions kept for/g) }
my $runs = runs();
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p$day[7]");
kill 'KILL', $ng->helper_pid;
ok(wait_until(sub { runs() > $runs && parts($day[7]) == 1 }, 15), 'a helper killed and respawned runs the upkeep again');
$runs = runs();
$ng->reload;
ok(wait_until(sub { runs() > $runs }, 15), 'so does a reload');

# --- accounts, users, profiles -------------------------------------------------------

my ($secret, $admin_id) = make_user($acme, 'admin', 'Administrators');
my $reader = make_user($acme, 'reader', 'ReadOnly');
my $config = make_user($acme, 'cfg', 'ConfigurationManagers');
my $other = make_account('eventso');
my $osecret = make_user($other, 'admin', 'Administrators');
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $acme);
my $oacct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $other);

for my $c ($acme, $other) {
    my ($rc, $out) = prefsctl('config', 'import', $c, "$top/conf/demo-config.json");
    is($rc, 0, 'the demo configuration is imported') or diag $out;
}
my $cfg = decode_json(scalar `'$top/tools/prefsctl' --db '@{[db()]}' config export $acme`);
my %sample = (String => 'x', Number => '1', Boolean => 'true', Date => '2020-01-31', DateTime => '2020-01-31T12:00:00Z');
my @required = map { { Name => $_->{Name}, Value => $_->{DataType} eq 'List' ? $_->{AllowedValues}[0] : $sample{$_->{DataType}} } }
               grep { $_->{IsRequired} && $_->{IsActive} } @{ $cfg->{CustomFields} };
my ($tag) = map { $_->{Name} } @{ $cfg->{Tags} || [] };

my %secrets = ("$acme/admin" => $secret, "$acme/reader" => $reader, "$acme/cfg" => $config, "$other/admin" => $osecret);

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my %hd = (Authorization => pnauth($client, $user, $secrets{"$client/$user"}), %{ $o{headers} || {} });
    $hd{'Content-Type'} = 'application/json' if defined $body;
    my ($s, $hh, $b) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path", headers => \%hd,
                                    body => defined $body ? encode_json($body) : undef);
    my $j = eval { decode_json($b) };
    return ($s, $hh, $j, $b);
}

sub create_profile {
    my ($first, %o) = @_;
    my ($s, undef, $j, $b) = call('POST', 'Profile', { FirstName => $first, CustomFields => \@required }, %o);
    is($s, 201, "profile $first created") or diag $b;
    return $j->{ProfileId};
}

my $p1 = create_profile('Ann');
my $p2 = create_profile('Bob');
my $op = create_profile('Oscar', client => $other);
my ($j);
($st, $h, $j, $raw) = call('POST', "Profile/$p1", { FirstName => 'Anna' });
is($st, 200, 'an update of Ann') or diag $raw;

sub db_ids {
    my ($account, $where) = @_;
    my $v = psql("SELECT event_id FROM prefs_event WHERE account_id = :'a' AND recorded_date > now() - interval '10 days'"
                 . ($where ? " AND $where" : '') . " ORDER BY event_id", a => $account);
    return [ grep { length } split /\n/, $v ];
}

# --- GET Events -------------------------------------------------------------------------

($st, $h, $j, $raw) = call('GET', 'Events');
is($st, 200, 'GET Events') or diag $raw;
is(ref $j->{Events}, 'ARRAY', 'with Events');
is($j->{Count}, scalar @{ $j->{Events} }, 'and their Count');
ok(exists $j->{NextCursor} && exists $j->{HasMore}, 'NextCursor and HasMore are there');
is_deeply([ sort { $a <=> $b } map { $_->{EventId} } @{ $j->{Events} } ], db_ids($acct),
          'every event of the account in the window, none of another');
my ($created) = grep { $_->{EventType} eq 'profile.created' && $_->{ProfileId} == $p1 } @{ $j->{Events} };
ok($created, 'profile.created of Ann is among them');
is($created->{Name}, 'Profile Created', 'Name in en-US by default');
is($created->{Entity}, 'ProfileActions', 'Entity');
is($created->{RecordedBy}, 'admin', 'RecordedBy');
like($created->{RecordedDate} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'dates in ISO 8601 UTC');
ok(!exists $created->{SubscriptionId}, 'no SubscriptionId outside a subscription');
is($h->{'content-language'}, 'en-US', 'Content-Language: en-US');
like($h->{vary} // '', qr/Accept-Language/, 'Vary: Accept-Language');
like($h->{'content-type'} // '', qr{^application/json}, 'JSON');
my ($update) = grep { $_->{ProfileId} == $p1 && exists $_->{PreviousData} } @{ $j->{Events} };
ok($update, 'an update carries PreviousData');

($st, $h, $j) = call('GET', 'Events', undef, client => $other);
is_deeply([ sort { $a <=> $b } map { $_->{EventId} } @{ $j->{Events} } ], db_ids($oacct),
          'the other account sees only its own');

# --- paging: every event once ---------------------------------------------------------

for my $i (1 .. 7) {
    ($st, undef, undef, $raw) = call('POST', "Profile/$p2", { MiddleName => "M$i" });
    is($st, 200, "update $i") or diag $raw;
}

sub walk {
    my ($path, $limit, %o) = @_;
    my ($cursor, @ids, $pages) = ($o{after});
    while (1) {
        my $sep = $path =~ /\?/ ? '&' : '?';
        my ($s, undef, $jj, $b) = call('GET', "$path${sep}limit=$limit" . (defined $cursor ? "&after=$cursor" : ''));
        die "walk: $s $b" unless $s == 200;
        push @ids, map { $_->{EventId} } @{ $jj->{Events} };
        $pages++;
        $cursor = $jj->{NextCursor} if defined $jj->{NextCursor};
        last unless $jj->{HasMore};
        die "walk: too many pages" if $pages > 1000;
    }
    return (\@ids, $cursor, $pages);
}

my ($ids, $cursor, $pages) = walk('Events', 2);
is_deeply([ sort { $a <=> $b } @$ids ], db_ids($acct), 'walking 2 by 2 gives every event');
my %seen;
is(scalar(grep { $seen{$_}++ } @$ids), 0, 'none twice');
cmp_ok($pages, '>=', 5, "over several pages ($pages)");

($st, $h, $j) = call('GET', "Events?limit=1");
is($j->{Count}, 1, 'limit=1: one event');
ok($j->{HasMore}, 'HasMore');
($st, $h, $j) = call('GET', "Events?after=$cursor");
is($st, 200, 'after the last cursor');
is($j->{Count}, 0, 'nothing more');
is($j->{NextCursor}, $cursor, 'and the same cursor to ask again with');
ok(!$j->{HasMore}, 'HasMore false');

# --- out-of-order commits --------------------------------------------------------------

{
    local $ENV{PGAPPNAME} = "events-hold-$$";
    open(my $hold, '|-', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db()) or die "psql: $!";
    $hold->autoflush(1);
    print $hold "BEGIN;\nSELECT prefs_event_add($acct, NULL, 'tag.added', $p1, '{\"Name\":\"held\"}');\n";
    ok(wait_until(sub {
        psql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = :'n'"
                   . " AND state = 'idle in transaction' AND backend_xid IS NOT NULL", n => "events-hold-$$") == 1
    }, 10), 'a writer holds an event uncommitted');

    my $later = psql_value("SELECT prefs_event_add($acct, NULL, 'tag.added', $p1, '{\"Name\":\"later\"}')");
    my $held = psql_value("SELECT max(event_id) FROM prefs_event WHERE account_id = :'a' AND data->>'Name' = 'held'", a => $acct);
    is($held, '', 'the held event is not visible yet');
    cmp_ok($later, '>', 0, 'another writer committed after it');

    ($st, $h, $j) = call('GET', "Events?after=$cursor");
    is($st, 200, 'a read while the first writer holds');
    my @first = map { $_->{EventId} } @{ $j->{Events} };
    ok(!(grep { $_ eq $later } @first), 'the later commit waits behind the open transaction');
    my $c2 = $j->{NextCursor};

    print $hold "COMMIT;\n";
    close $hold;
    is($?, 0, 'the first writer commits');

    my ($rest) = walk('Events', 1, after => $c2);
    my @all = (@first, @$rest);
    my @new = grep { my $x = $_; !grep { $_ eq $x } @$ids } @{ db_ids($acct) };
    is_deeply([ sort { $a <=> $b } @all ], [ sort { $a <=> $b } @new ], 'both events, the held one and the later one');
    my %once;
    is(scalar(grep { $once{$_}++ } @all), 0, 'each once');
}

# --- one transaction with many events, walked a few at a time -------------------------

{
    my ($before) = walk('Events', 1000);
    psql("SELECT prefs_event_add(:'a', NULL, 'tag.added', :'p', jsonb_build_object('Name', 'bulk' || g))"
         . " FROM generate_series(1, 25) g", a => $acct, p => $p2);
    my ($all) = walk('Events', 4);
    my %old = map { $_ => 1 } @$before;
    my @bulk = grep { !$old{$_} } @$all;
    is(scalar @bulk, 25, 'the 25 events of one transaction, 4 by 4');
    is_deeply(\@bulk, [ sort { $a <=> $b } @bulk ], 'in their order');
    my %once;
    is(scalar(grep { $once{$_}++ } @$all), 0, 'none twice');
}

# --- filters -------------------------------------------------------------------------------

($st, $h, $j, $raw) = call('GET', 'Events?eventType=profile.created');
is($st, 200, 'eventType=profile.created') or diag $raw;
is_deeply([ sort map { $_->{EventType} } @{ $j->{Events} } ], [ ('profile.created') x 2 ], 'only those');

($st, $h, $j) = call('GET', 'Events?eventType=profile.created,standardfield.middlename.added');
is_deeply([ sort keys %{{ map { $_->{EventType} => 1 } @{ $j->{Events} } }} ],
          [ 'profile.created', 'standardfield.middlename.added' ], 'a comma list');
($st, $h, $j) = call('GET', 'Events?eventType[0]=profile.created&eventType[1]=tag.added');
is_deeply([ sort keys %{{ map { $_->{EventType} => 1 } @{ $j->{Events} } }} ],
          [ 'profile.created', 'tag.added' ], 'the indexed form');
($st, $h, $j) = call('GET', 'Events?EVENTTYPE=tag.added');
is($st, 200, 'names match without case');
($st, $h, $j) = call('GET', 'Events?eventType=consent.elementassocation.deactivated');
is($st, 200, "the reference's misspelled type is accepted");
is($j->{Count}, 0, '... as its alias (no such events here)');

($st, $h, $j) = call('GET', 'Events?startAt=2000-01-01T00:00:00Z');
is($st, 200, 'startAt before the window is moved up to it');
is($j->{Count}, scalar @{ db_ids($acct) }, "... the window's events");
my $future = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 3600));
($st, $h, $j) = call('GET', "Events?startAt=$future");
is($j->{Count}, 0, 'startAt in the future: none');
($st, $h, $j) = call('GET', "Events?endAt=2000-01-01");
is($st, 400, 'endAt before the default startAt: 400');
my $past = strftime('%Y-%m-%dT%H:%M:%S', gmtime(time - 3600));
($st, $h, $j) = call('GET', "Events?startAt=$past&endAt=$future&limit=1000");
is($j->{Count}, scalar @{ db_ids($acct, "recorded_date >= now() - interval '1 hour'") }, 'startAt and endAt without an offset: UTC');
($st, $h, $j) = call('GET', "Events?startAt=$past%2B00:00&limit=1000");
is($st, 200, 'with an offset');

# an event 11 days old (outside the window of 10) and one 9 days old, in DEFAULT
my $old = psql_value("INSERT INTO prefs_event (account_id, event_type, entity, profile_id, recorded_date)"
                     . " VALUES (:'a', 'tag.added', 'Tags', :'p', now() - interval '11 days') RETURNING event_id",
                     a => $acct, p => $p1);
my $recent = psql_value("INSERT INTO prefs_event (account_id, event_type, entity, profile_id, recorded_date)"
                        . " VALUES (:'a', 'tag.added', 'Tags', :'p', now() - interval '9 days') RETURNING event_id",
                        a => $acct, p => $p1);
($st) = call('GET', "Events/$old");
is($st, 404, 'an event older than prefs_event_history_days is outside the window');
($st) = call('GET', "Events/$recent");
is($st, 200, 'one inside it is there');
($st, $h, $j) = call('GET', 'Events?startAt=2000-01-01&limit=1000');
ok(!(grep { $_->{EventId} eq $old } @{ $j->{Events} }), 'the listing leaves the old one out');
ok((grep { $_->{EventId} eq $recent } @{ $j->{Events} }), 'and has the recent one');

# sourceGroupIds: the recording user's source group
psql("UPDATE prefs_user SET source_group_id = 7 WHERE user_id = :'u'", u => $admin_id);
($st, $h, $j, $raw) = call('GET', 'Events?sourceGroupIds[0]=7&limit=1000');
is($st, 200, 'sourceGroupIds[0]=7') or diag $raw;
is_deeply([ sort { $a <=> $b } map { $_->{EventId} } @{ $j->{Events} } ],
          db_ids($acct, "recorded_by = $admin_id"), 'the events recorded by users of group 7');
($st, $h, $j) = call('GET', 'Events?sourceGroupIds[0]=8&sourceGroupIds[1]=9');
is($j->{Count}, 0, 'groups no user belongs to: none');

# --- subscriptions ---------------------------------------------------------------------------

sub subscription {
    my ($account, $subs, $state, $alt) = @_;
    return psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state, subscriptions,"
                      . " secret_sealed, alternate_id_type) VALUES (:'a', 's', 'https://example.com/h', :'st', :'subs',"
                      . " 'x', NULLIF(:'alt', '')) RETURNING subscription_id",
                      a => $account, subs => encode_json($subs), st => $state, alt => $alt // '');
}

my $sub = subscription($acct, [ { EventType => 'profile.created' } ], 'Active');
my $osub = subscription($oacct, [ { EventType => 'profile.created' } ], 'Active');

($st, $h, $j, $raw) = call('GET', "Events/Subscription/$sub");
is($st, 200, 'GET Events/Subscription/{id}') or diag $raw;
is_deeply([ sort map { $_->{ProfileId} } @{ $j->{Events} } ], [ sort $p1, $p2 ], 'the events it selects');
ok(!(grep { $_->{EventType} ne 'profile.created' } @{ $j->{Events} }), 'and no other');
ok(!(grep { ($_->{SubscriptionId} // 0) != $sub } @{ $j->{Events} }), 'each with its SubscriptionId');

($st, $h, $j) = call('GET', "Events/Subscription/$osub");
is($st, 404, "another account's subscription is 404");
like($j->{Message} // '', qr/subscription/, 'with a Message');
($st) = call('GET', 'Events/Subscription/999999999');
is($st, 404, 'an unknown subscription is 404');

# --- a profile's events -------------------------------------------------------------------------

($st, $h, $j, $raw) = call('GET', "Events/Profile/$p2?subscribedOnly=false&limit=1000");
is($st, 200, 'Events/Profile/{id}?subscribedOnly=false') or diag $raw;
is_deeply([ sort { $a <=> $b } map { $_->{EventId} } @{ $j->{Events} } ], db_ids($acct, "profile_id = $p2"),
          "all of the profile's events");
($st, $h, $j) = call('GET', "Events/Profile/$p2");
is_deeply([ map { $_->{EventType} } @{ $j->{Events} } ], [ 'profile.created' ],
          'subscribedOnly by default: only what an active subscription selects');
psql("UPDATE prefs_webhook_subscription SET state = 'Paused' WHERE subscription_id = :'s'", s => $sub);
($st, $h, $j) = call('GET', "Events/Profile/$p2?subscribedOnly=true");
is($j->{Count}, 0, 'a paused subscription selects nothing for it');
($st, $h, $j) = call('GET', "Events/Subscription/$sub");
cmp_ok($j->{Count}, '>=', 2, 'but its own listing still answers');
($st) = call('GET', "Events/Profile/$op");
is($st, 404, "another account's profile is 404");
($st) = call('GET', "Events/Profile/$op?subscribedOnly=false", undef, client => $other);
is($st, 200, 'which its own account reads');

# --- one event ---------------------------------------------------------------------------------------

my ($one) = @{ db_ids($acct, "profile_id = $p1 AND event_type = 'profile.created'") };
($st, $h, $j, $raw) = call('GET', "Events/$one");
is($st, 200, 'GET Events/{eventId}') or diag $raw;
is($j->{EventId}, $one, 'that event');
is($j->{EventType}, 'profile.created', 'its type');
ok(!exists $j->{SubscriptionId}, 'without SubscriptionId');
($st, $h, $j) = call('GET', "Events/$one", undef, client => $other);
is($st, 404, "another account's event is 404");
($st, $h, $j) = call('GET', "Events/$one?limit=3");
is($st, 400, 'Events/{eventId} takes no other parameter');

# --- locales ---------------------------------------------------------------------------------------

($st, $h, $j) = call('GET', "Events/$one?locale=de-DE");
is($j->{Name}, 'Profil erstellt', 'locale=de-DE: German');
is($h->{'content-language'}, 'de-DE', 'Content-Language: de-DE');
ok(($h->{vary} // '') !~ /Accept-Language/, 'an explicit locale does not vary');
($st, $h, $j) = call('GET', "Events/$one?locale=fr");
is($j->{Name}, 'Profil créé', 'locale=fr: French (fr-FR)');
is($h->{'content-language'}, 'fr-FR', '... Content-Language fr-FR');
($st, $h, $j) = call('GET', "Events/$one", undef, headers => { 'Accept-Language' => 'es-ES' });
is($j->{Name}, 'Perfil creado', 'Accept-Language: es-ES: Spanish');
is($j->{Description}, 'Se creó un perfil.', '... Description too');
like($h->{vary} // '', qr/Accept-Language/, '... Vary: Accept-Language');
($st, $h, $j) = call('GET', "Events/$one", undef, headers => { 'Accept-Language' => 'it-IT, de-CH;q=0.8, en;q=0.5' });
is($h->{'content-language'}, 'de-DE', 'Accept-Language de-CH falls back to de-DE');
($st, $h, $j) = call('GET', "Events/$one", undef, headers => { 'Accept-Language' => 'ja-JP' });
is($h->{'content-language'}, 'en-US', 'a header matching nothing: en-US');
($st, $h, $j) = call('GET', "Events?eventType=profile.created&locale=es_es");
is($j->{Events}[0]{Name}, 'Perfil creado', 'a listing in es_es');
($st, $h, $j) = call('GET', "Events?locale=it-IT");
is($st, 400, 'a locale without texts is 400');

# --- permissions -----------------------------------------------------------------------------------

($st) = call('GET', 'Events', undef, user => 'reader');
is($st, 200, 'ReadOnly has EventDataView');
($st, $h, $j) = call('GET', 'Events', undef, user => 'cfg');
is($st, 403, 'without EventDataView: 403');
is($j->{Message}, 'The user lacks the EventDataView permission', 'naming it');

# --- bad input -------------------------------------------------------------------------------------

my $ocursor = do { my ($s, undef, $jj) = call('GET', 'Events?limit=1', undef, client => $other); $jj->{NextCursor} };
my $forged = $cursor;
substr($forged, 5, 1) = substr($forged, 5, 1) eq 'A' ? 'B' : 'A';

for my $c (
    [ 'a malformed date', 'Events?startAt=yesterday' ],
    [ 'a date that does not exist', 'Events?startAt=2026-02-30' ],
    [ 'endAt before startAt', 'Events?startAt=2026-01-02&endAt=2026-01-01' ],
    [ 'startAt equal to endAt', 'Events?startAt=2026-01-02&endAt=2026-01-02' ],
    [ 'limit 0', 'Events?limit=0' ],
    [ 'limit 1001', 'Events?limit=1001' ],
    [ 'limit -1', 'Events?limit=-1' ],
    [ 'limit abc', 'Events?limit=abc' ],
    [ 'limit 01', 'Events?limit=01' ],
    [ 'a garbled cursor', 'Events?after=garbage' ],
    [ 'a forged cursor', "Events?after=$forged" ],
    [ "another account's cursor", "Events?after=$ocursor" ],
    [ 'an unknown event type', 'Events?eventType=profile.exploded' ],
    [ 'an empty event type', 'Events?eventType=' ],
    [ 'a bad source group', 'Events?sourceGroupIds[0]=abc' ],
    [ 'a gap in the indexes', 'Events?sourceGroupIds[1]=3' ],
    [ 'subscribedOnly on Events', 'Events?subscribedOnly=false' ],
    [ 'subscribedOnly=maybe', "Events/Profile/$p1?subscribedOnly=maybe" ],
    [ 'an unknown parameter', 'Events?starAt=2026-01-01' ],
    [ 'a parameter twice', 'Events?limit=1&limit=2' ],
    [ 'a bad escape', 'Events?eventType=%zz' ],
    [ 'invalid UTF-8', 'Events?eventType=%ff' ],
    [ 'a locale that is no tag', 'Events?locale=%21%21' ],
) {
    ($st, $h, $j, $raw) = call('GET', $c->[1]);
    is($st, 400, "$c->[0]: 400") or diag $raw;
    ok(length($j->{Message} // ''), "$c->[0]: with a Message");
}

for my $bad ('abc', '0', '-1', '01', '99999999999999999999', '1%00', '..') {
    ($st, $h, $j) = call('GET', "Events/$bad");
    ok($st == 404 || $st == 400, "a hostile event id \"$bad\" is 4xx ($st)");
    ($st) = call('GET', "Events/Profile/$bad");
    ok($st == 404 || $st == 400, "a hostile profile id \"$bad\" is 4xx ($st)");
    ($st) = call('GET', "Events/Subscription/$bad");
    ok($st == 404 || $st == 400, "a hostile subscription id \"$bad\" is 4xx ($st)");
}
($st, $h, $j) = call('POST', 'Events', {});
is($st, 405, 'POST Events: 405');
($st, $h, $j, $raw) = call('HEAD', 'Events?limit=1');
is($st, 200, 'HEAD Events: 200');
is($raw, '', '... without a body');
($st) = call('GET', 'Events/Subscription');
is($st, 404, 'Events/Subscription without an id: 404');

# the helper killed on purpose above is the only alert
is(join('', grep { /\[(alert|crit|emerg)\]/ && !/cache manager process \d+ exited on signal 9/ }
            split /^/, $ng->error_log), '', 'no other alert in the error log');
$ng->stop;

done_testing();
