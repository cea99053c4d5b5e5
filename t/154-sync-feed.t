# Fairness first (issue 12's note): while account A's import batch (a
# transaction of seconds, held open here by a trigger) has its events
# uncommitted, account B's events committed after it began are served at
# once by the Events API and the Sync feed; A's own later events wait for
# the batch, as they must; an unscoped open transaction still holds every
# account back.
#
# Then the Sync feed under fire: a consumer walks GET Sync/Changes for the whole
# run, alternating between two nginx on one database, while writers update
# profiles through both, a writer holds its event uncommitted for a while
# (out-of-order commits), the helper runs an import and is SIGKILLed in the
# middle of it, nginx reloads and PostgreSQL restarts.  Afterwards: the
# pages tile the account's event stream (each page's profiles are exactly
# those its range of positions names, the positions only go forward, and
# the last cursor is the last event), so no change was missed and no
# position served twice; and each profile's last appearance is its final
# state.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): it restarts PostgreSQL, and its import must be
#   run by its own helpers (any nginx's helper claims any queued job)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use IO::Handle;
use POSIX ();
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = 'SyncFeedCo';
PrefsTest::api_account($client);
my $secret = (PrefsTest::make_user($client, 'admin', 'Administrators'))[0];
PrefsTest::api_config_import($client);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

my $http = 'prefs_job_lease 2s; prefs_helper_poll_interval 1s; prefs_import_batch 10;';
my $ga = PrefsTest::start_nginx(name => 'sync-feed-a', http_config => $http);
my $gb = PrefsTest::start_nginx(name => 'sync-feed-b', http_config => $http);
ok(wait_until(sub { $ga->helper_pid && $gb->helper_pid }, 5), 'two nginx, each with its helper');

sub call {
    my ($node, $method, $path, $body, $type) = @_;
    my %h = (Authorization => pnauth($client, 'admin', $secret));
    $h{'Content-Type'} = $type // 'application/json' if defined $body;
    my ($st, undef, $raw) = $node->request(method => $method, path => $path, headers => \%h,
                                           body => defined $body ? (ref $body ? encode_json($body) : $body) : undef,
                                           timeout => 30);
    return ($st, scalar(eval { decode_json($raw) }), $raw);
}

# --- fairness ------------------------------------------------------------------------------

sub acall {
    my ($c, $method, $path, $body, $type) = @_;
    my %h = (Authorization => pnauth($c, 'admin', PrefsTest::api_secret($c, 'admin')));
    $h{'Content-Type'} = $type // 'application/json' if defined $body;
    my ($st, undef, $raw) = $ga->request(method => $method, path => $path, headers => \%h,
                                         body => defined $body ? (ref $body ? encode_json($body) : $body) : undef,
                                         timeout => 30);
    return ($st, scalar(eval { decode_json($raw) }), $raw);
}
for my $c ('SyncFairACo', 'SyncFairBCo') {
    PrefsTest::api_account($c);
    PrefsTest::api_user($c, 'admin', 'Administrators');
    PrefsTest::api_config_import($c);
}
my $fa = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'SyncFairACo'");
my $fb = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'SyncFairBCo'");

sub fair_profile {
    my ($c, $first) = @_;
    my ($st, $j, $raw) = acall($c, 'POST', "/Profiles/v4/$c/Profile",
        { CustomerName => { FirstName => $first }, CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
    die "profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}
my $bob = fair_profile('SyncFairBCo', 'Bob');
my $amy = fair_profile('SyncFairACo', 'Amy');
events_settled();
my $bcursor = (acall('SyncFairBCo', 'GET', '/Profiles/v4/SyncFairBCo/Sync/Changes'))[1]{NextCursor};
my $bev = (acall('SyncFairBCo', 'GET', '/Profiles/v4/SyncFairBCo/Events?limit=1000'))[1]{NextCursor};
my $acursor = (acall('SyncFairACo', 'GET', '/Profiles/v4/SyncFairACo/Sync/Changes'))[1]{NextCursor};

# A's batches take 6 s once their events are written (the progress update waits)
psql(qq{CREATE FUNCTION t154_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN PERFORM pg_sleep(6); RETURN NEW; END \$\$});
psql(qq{CREATE TRIGGER t154_slow BEFORE UPDATE OF processed ON prefs_import FOR EACH ROW
        WHEN (NEW.account_id = $fa AND NEW.processed > OLD.processed) EXECUTE FUNCTION t154_slow()});

my ($st, $j, $raw) = acall('SyncFairACo', 'POST', '/Profiles/v4/Async/SyncFairACo/Import', { Name => 'fair' });
die "initiate: $st $raw\n" unless $st == 200;
my $ftoken = $j->{AccessToken};
($st, $j, $raw) = acall('SyncFairACo', 'POST', "/Profiles/v4/Async/SyncFairACo/Import/$ftoken/Stage",
    { UserProfilePreferences => [ map { { CustomerName => { FirstName => "A$_" },
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ] } } 1 .. 5 ] });
die "stage: $st $raw\n" unless $st == 200;
($st, $j, $raw) = acall('SyncFairACo', 'POST', "/Profiles/v4/Async/SyncFairACo/Import/$ftoken/Execute");
die "execute: $st $raw\n" unless $st == 200;

my $batch_open = sub {
    psql_value("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%prefs_import_run%'"
               . " AND wait_event = 'PgSleep' AND backend_xid IS NOT NULL") > 0 };
ok(wait_until($batch_open, 20), "A's import batch is open, its events written and uncommitted");

# B writes while A's batch is open; so does A
($st, undef, $raw) = acall('SyncFairBCo', 'POST', "/Profiles/v4/SyncFairBCo/Profile/$bob",
                           { CustomerName => { FirstName => 'Bobby' } });
is($st, 200, "B changes a profile while A's batch is open") or diag $raw;
($st, undef, $raw) = acall('SyncFairACo', 'POST', "/Profiles/v4/SyncFairACo/Profile/$amy",
                           { CustomerName => { FirstName => 'Amelia' } });
is($st, 200, 'so does A') or diag $raw;

my ($bsync, $bevents);
ok(wait_until(sub {
    $bsync = (acall('SyncFairBCo', 'GET', "/Profiles/v4/SyncFairBCo/Sync/Changes?after=$bcursor"))[1];
    $bevents = (acall('SyncFairBCo', 'GET', "/Profiles/v4/SyncFairBCo/Events?after=$bev"))[1];
    $bsync->{Count} && $bevents->{Count} }, 4), "B's change is served while A's batch is still open");
my $async = (acall('SyncFairACo', 'GET', "/Profiles/v4/SyncFairACo/Sync/Changes?after=$acursor"))[1];
ok($batch_open->(), '(the batch was still open then)');
is($async->{Count}, 0, "A's own later change waits behind A's open batch (its horizon)");
is(join(',', map { $_->{ProfileId} } @{ $bsync->{Changes} || [] }), $bob, "B's Sync feed: Bob");
is($bsync->{Changes}[0]{Profile}{CustomerName}{FirstName}, 'Bobby', 'in his new state');
ok((grep { $_->{EventType} eq 'profile.updated' } @{ $bevents->{Events} || [] }), "B's Events: the update");

# an open transaction of no declared account holds every account back
{
    local $ENV{PGAPPNAME} = "t154-unscoped-$$";
    open(my $hold, '|-', 'psql', '-X', '-q', '-d', PrefsTest::db()) or die "psql: $!";
    $hold->autoflush(1);
    print $hold "BEGIN;\nSELECT pg_current_xact_id();\nSELECT pg_sleep(3);\nCOMMIT;\n";
    ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = :'n'"
                                   . " AND backend_xid IS NOT NULL", n => "t154-unscoped-$$") == 1 }, 5),
       'an unscoped transaction is open');
    my $c2 = $bsync->{NextCursor};
    ($st, undef, $raw) = acall('SyncFairBCo', 'POST', "/Profiles/v4/SyncFairBCo/Profile/$bob",
                               { CustomerName => { FirstName => 'Robert' } });
    is($st, 200, 'B changes Bob again') or diag $raw;
    is((acall('SyncFairBCo', 'GET', "/Profiles/v4/SyncFairBCo/Sync/Changes?after=$c2"))[1]{Count}, 0,
       'that change waits behind the unscoped transaction');
    close $hold;
    ok(wait_until(sub { (acall('SyncFairBCo', 'GET', "/Profiles/v4/SyncFairBCo/Sync/Changes?after=$c2"))[1]{Count}
                        == 1 }, 10), 'and comes once it ends');
}

ok(wait_until(sub { psql_value("SELECT status FROM prefs_import WHERE access_token = :'t'", t => $ftoken)
                    eq 'Completed' }, 30), "A's import completes");
psql("DROP TRIGGER t154_slow ON prefs_import");
psql("DROP FUNCTION t154_slow()");
ok(wait_until(sub { (acall('SyncFairACo', 'GET', "/Profiles/v4/SyncFairACo/Sync/Changes?after=$acursor&limit=1000"))[1]{Count}
                    == 6 }, 10), "A's feed then has the 5 imported profiles and Amy");

# a transaction scoped to one account cannot add another's event
like(psql_err("BEGIN; SELECT prefs_event_scope($fa); SELECT prefs_event_add($fb, NULL, 'tag.added', $bob, '{}'); COMMIT;"),
     qr/adds events of account $fa only/, 'a scoped transaction refuses another account\'s event');
like(psql_err("BEGIN; SELECT prefs_event_scope($fa); SELECT prefs_event_scope($fb); COMMIT;"),
     qr/adds events of account $fa only/, 'and a second scope');

sub psql_err {
    my ($sql) = @_;
    my $out = `psql -X -q -d '@{[ PrefsTest::db() ]}' -c "$sql" 2>&1`;
    return $out;
}

# the profiles the writers change
my @ids;
for my $i (1 .. 12) {
    my ($st, $j, $raw) = call($ga, 'POST', "/Profiles/v4/$client/Profile",
        { CustomerName => { FirstName => "P$i", MiddleName => 'v0' },
          CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
    die "profile: $st $raw\n" unless $st == 201;
    push @ids, $j->{ProfileId};
}

# an import of 600 profiles staged now, executed during the run
my ($ist, $ij, $iraw) = call($ga, 'POST', "/Profiles/v4/Async/$client/Import", { Name => 'sync-feed' });
die "initiate: $ist $iraw\n" unless $ist == 200;
my $token = $ij->{AccessToken};
my $ndjson = join '', map { encode_json({ CustomerName => { FirstName => "I$_" },
    AlternateIds => [ { Type => 'CRMId', Value => "sync-$_" } ],
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ] }) . "\n" } 1 .. 600;
($ist, $ij, $iraw) = call($ga, 'POST', "/Profiles/v4/Async/$client/Import/$token/Stage", $ndjson,
                          'application/x-ndjson');
die "stage: $ist $iraw\n" unless $ist == 200 && $ij->{ValidationSuccessful} == 600;

# --- the writers -------------------------------------------------------------------------

my $stop = "/tmp/prefs-sync-feed-stop-$$";
unlink $stop;
my @writers;
for my $w (1 .. 2) {
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        srand($$);
        my $n = 0;
        until (-e $stop) {
            my $id = $ids[int rand @ids];
            my $node = (++$n % 2) ? $ga : $gb;
            # a refused or failed write (PostgreSQL restarting) is simply not a change
            call($node, 'POST', "/Profiles/v4/$client/Profile/$id", { CustomerName => { MiddleName => "w$w-$n" } });
            sleep 0.02;
        }
        POSIX::_exit(0);
    }
    push @writers, $pid;
}

# one writer at a time holds an event of the account uncommitted for a
# second, while the others commit after it
my $holder = fork() // die "fork: $!";
if (!$holder) {
    my $n = 0;
    until (-e $stop) {
        my $id = $ids[$n++ % @ids];
        system('psql', '-X', '-q', '-d', PrefsTest::db(), '-c',
               "BEGIN; SELECT prefs_event_add($acct, NULL, 'tag.added', $id, '{\"Name\":\"held$n\"}');"
               . " SELECT pg_sleep(1); COMMIT;");
        sleep 0.2;
    }
    POSIX::_exit(0);
}

# --- the consumer, and what happens meanwhile -------------------------------------------

# a cursor's position: base64url(0x01 | txid | event_id | MAC), read without the key
sub position {
    my ($c) = @_;
    return [0, 0] unless defined $c;
    (my $b = $c) =~ tr{-_}{+/};
    my $raw = decode_base64($b);
    return [ unpack('Q>', substr($raw, 1, 8)), unpack('q>', substr($raw, 9, 8)) ];
}

sub after { my ($x, $y) = @_; $x->[0] > $y->[0] || ($x->[0] == $y->[0] && $x->[1] > $y->[1]) }

my ($cursor, @pages, $errors, $requests) = (undef);
my %last;            # profile id -> its last entry seen
my $dup_in_page = 0;

sub consume_once {
    my $node = ($requests++ % 2) ? $gb : $ga;
    my ($st, $j, $raw) = call($node, 'GET', "/Profiles/v4/$client/Sync/Changes?limit=7"
                                            . (defined $cursor ? "&after=$cursor" : ''));
    if ($st != 200) {
        $errors++;
        diag("consumer: $st $raw") unless $st == 503 || $st == 0 || $st == 502;
        sleep 0.1;
        return 1;
    }
    my %seen;
    $dup_in_page += grep { $seen{$_->{ProfileId}}++ } @{ $j->{Changes} };
    if ($j->{Count}) {
        push @pages, { from => position($cursor), to => position($j->{NextCursor}),
                       ids => [ sort { $a <=> $b } map { $_->{ProfileId} } @{ $j->{Changes} } ] };
        $last{ $_->{ProfileId} } = $_ for @{ $j->{Changes} };
    }
    $cursor = $j->{NextCursor} if defined $j->{NextCursor};
    return $j->{HasMore};
}

my $t0 = time;
my %done;
my $restarter;
my @schedule = (
    [ 1.5, 'import executed', sub {
          my ($st, undef, $raw) = call($ga, 'POST', "/Profiles/v4/Async/$client/Import/$token/Execute");
          is($st, 200, 'the import is queued') or diag $raw } ],
    [ 1.6, 'helper killed', sub {
          my $n;
          wait_until(sub { $n = psql_value("SELECT processed FROM prefs_import WHERE access_token = :'t'",
                                           t => $token); $n > 0 }, 20);
          ok($n > 0 && $n < 600, "the helpers are killed in the middle of the import ($n of 600 applied)");
          for my $ng ($ga, $gb) {
              my $h = $ng->helper_pid;
              ok($h && kill('KILL', $h), 'a helper is SIGKILLed');
          } } ],
    [ 4.0, 'reload', sub { $gb->reload; pass('nginx b reloads') } ],
    # while the consumer goes on asking
    [ 5.5, 'PostgreSQL restart', sub {
          $restarter = fork() // die "fork: $!";
          if (!$restarter) { pg_stop(); sleep 1.5; pg_start(); POSIX::_exit(0) } } ],
    [ 10.0, 'writers stop', sub { open(my $fh, '>', $stop) or die $!; close $fh;
                                  waitpid($_, 0) for @writers, $holder;
                                  waitpid($restarter, 0);
                                  is($?, 0, 'PostgreSQL restarted');
                                  pass('the writers stop') } ],
);

while (1) {
    my $el = time - $t0;
    for my $s (@schedule) {
        next if $done{ $s->[1] } || $el < $s->[0];
        $done{ $s->[1] } = 1;
        $s->[2]->();
    }
    last if keys %done == @schedule;
    consume_once();
    sleep 0.05;
}

my $imported = wait_until(sub {
    psql_value("SELECT status FROM prefs_import WHERE access_token = :'t'", t => $token) eq 'Completed' }, 90);
ok($imported, 'the import completes despite the kill and the restart');
events_settled();
my $guard = 0;
while (consume_once() || $guard++ < 2) { last if $guard > 2000 }

cmp_ok(scalar(@pages), '>=', 20, scalar(@pages) . " pages read ($requests requests, "
       . ($errors // 0) . ' refused while PostgreSQL restarted)');
ok($errors, 'some requests failed during the restart and were asked again');
is($dup_in_page, 0, 'no profile twice in a page');

# --- the pages tile the stream ------------------------------------------------------------

my ($backwards, $gaps, $mismatch) = (0, 0, 0);
my $prev = [0, 0];
for my $p (@pages) {
    $backwards++ unless after($p->{to}, $p->{from});
    $gaps++ unless $p->{from}[0] == $prev->[0] && $p->{from}[1] == $prev->[1];
    $prev = $p->{to};
    my $want = psql("SELECT DISTINCT profile_id FROM prefs_event WHERE account_id = :'a'"
        . " AND (txid, event_id) > (CAST(:'t1' AS xid8), CAST(:'e1' AS bigint))"
        . " AND (txid, event_id) <= (CAST(:'t2' AS xid8), CAST(:'e2' AS bigint)) ORDER BY 1",
        a => $acct, t1 => $p->{from}[0], e1 => $p->{from}[1], t2 => $p->{to}[0], e2 => $p->{to}[1]);
    my $got = join("\n", @{ $p->{ids} }) . "\n";
    if ($want ne $got) {
        $mismatch++;
        diag("page ($p->{from}[0],$p->{from}[1]] .. ($p->{to}[0],$p->{to}[1]]: got @{ $p->{ids} }, the events name "
             . join(' ', split /\n/, $want));
    }
}
is($backwards, 0, 'every page moves the position forward');
is($gaps, 0, 'each page starts where the last ended');
is($mismatch, 0, 'each page holds exactly the profiles its positions name: none missed, none extra');
my $end = psql_value("SELECT txid::text || ',' || event_id FROM prefs_event WHERE account_id = :'a'"
                     . " ORDER BY txid DESC, event_id DESC LIMIT 1", a => $acct);
is("$prev->[0],$prev->[1]", $end, 'the last cursor is the account\'s last event');
my $held = psql_value("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND event_type = 'tag.added'", a => $acct);
cmp_ok($held, '>=', 3, "$held events were held uncommitted while later ones committed");

# --- the final state ------------------------------------------------------------------------

my $stale = 0;
for my $id (@ids) {
    my $mid = psql_value("SELECT middle_name FROM prefs_profile WHERE profile_id = :'p'", p => $id);
    my $seen = $last{$id} && $last{$id}{Profile}{CustomerName}{MiddleName} // '';
    $stale++, diag("profile $id: the feed last showed '$seen', the database has '$mid'") unless $seen eq $mid;
}
is($stale, 0, 'each written profile\'s last appearance is its final state');
my $imp = grep { ($_->{Profile}{CustomerName}{FirstName} // '') =~ /^I\d+$/ } values %last;
is($imp, 600, 'every imported profile came through the feed');
my $writes = psql_value("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND event_type <> 'tag.added'"
                        . " AND source IS DISTINCT FROM :'s'", a => $acct, s => "import:$token");
diag("events: $writes from the writers and creations, $held held, the import's "
     . psql_value("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND source = :'s'",
                  a => $acct, s => "import:$token"));

unlink $stop;
$_->stop for $ga, $gb;
done_testing();
