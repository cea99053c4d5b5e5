# The Sync feed under fire: a consumer walks GET Sync/Changes for the whole
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
