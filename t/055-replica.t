# Read replicas (prefs_db_replica, issue 13): a streaming standby of the test
# database, made with pg_basebackup, answers the Events API and export pages
# while it is within max_lag of the primary; a standby that stopped
# replaying is found late once the primary moves on, one that is stopped is
# found down, and in both cases the reads go to the primary; when it is back
# the reads go to it again, without a connect per request meanwhile.  What
# the standby has not replayed yet (a profile or an export token made a
# moment ago) is answered by the primary, not with 404 or 401.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): measures a lag, so
#   the cluster must not be busy with other suites' writes at the wrong time
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $dir = PrefsTest::top() . "/var/test-standby-$$";
PrefsTest::pg_standby_destroy($dir) if -e $dir;
my $standby = pg_standby_start($dir);
END { PrefsTest::pg_standby_destroy($dir) if $dir && -e $dir }

like(psql_on($standby, 'SELECT pg_is_in_recovery()'), qr/^t$/m, 'the standby is in recovery');

my $client = make_account('replica');
my $secret = make_user($client, 'ops', 'Administrators');
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

sub profile {
    my ($name) = @_;
    my $row = psql_value("SELECT outcome || ' ' || profile_id FROM prefs_profile_create(CAST(:'a' AS bigint),"
                         . " NULL, CAST(:'b' AS jsonb))",
                         a => $acct, b => qq({"CustomerName":{"FirstName":"$name","LastName":"Replica"},)
                              . qq("CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]}));
    my ($outcome, $id) = split ' ', $row;
    is($outcome, 'created', "profile $name created on the primary");
    return $id;
}

api_config_import($client);
my $first = profile('Ann');
my $client2 = make_account('replica2');
my $secret2 = make_user($client2, 'ops', 'Administrators');
api_config_import($client2);
events_settled();

# max_lag 5 s (the steps that expect the paused standby still in use take
# well under that, even on a busy machine): probes every second
my ($max_lag, $probe) = (5000, 1.0);
my $ng = PrefsTest::start_nginx(name => 'replica', workers => 1,
    http_config => qq(prefs_db_replica "$standby" max_lag=${max_lag}ms;),
    config => 'location = /prefs/metrics { prefs_api metrics; }');

sub api {
    my ($path, $method, $body) = @_;
    my ($st, $h, $b) = $ng->request(path => "/Profiles/v4/$path", method => $method // 'GET',
                                    body => defined $body ? encode_json($body) : undef,
                                    headers => { Authorization => pnauth($client, 'ops', $secret),
                                                 defined $body ? ('Content-Type' => 'application/json') : () });
    return ($st, scalar eval { decode_json($b) } // $b);
}

sub standby_status {
    my ($st, $h, $b) = $ng->request(path => '/prefs/status');
    my $j = eval { decode_json($b) } || {};
    return $j->{Database}{Standby} || {};
}

sub event_ids { my ($j) = @_; [ map { $_->{ProfileId} // () } @{ ref $j eq 'HASH' ? $j->{Events} // [] : [] } ] }

ok(wait_until(sub { (standby_status()->{State} // '') eq 'Ready' }, 10), 'the standby is found ready')
    or diag(explain(standby_status()));

# reads go there: the counter of the worker, and a session on the standby
my $before = standby_status()->{Queries};
my ($st, $j) = api("$client/Events");
is($st, 200, 'Events: 200');
ok(grep({ $_ == $first } @{ event_ids($j) }), 'Events: the profile\'s event');
cmp_ok(standby_status()->{Queries}, '>', $before, 'the standby answered it');
cmp_ok(psql_on($standby, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                         . " AND pid <> pg_backend_pid()"), '>=', 1, 'nginx holds a connection to the standby');
{
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    my $doc = eval { decode_json($b) } || {};
    ok($doc->{Helper}{Running} && !exists $doc->{Helper}{Database}{Standby},
       'the helper has no standby (its jobs read and write the primary)');
}

# idle: no write for more than twice max_lag, and the standby is still
# current (src/lib/prefs_lag's unit test: a minute)
sleep 12;
my $s = standby_status();
is($s->{State}, 'Ready', 'an idle standby does not look late');
cmp_ok($s->{LagMs} // 1e9, '<', $max_lag, 'its lag is within max_lag') or diag(explain($s));

# replay paused: what is written now is not on the standby
psql_on($standby, 'SELECT pg_wal_replay_pause()');
my $second = profile('Bob');
events_settled();

($st, $j) = api("$client/Events");
is($st, 200, 'Events while the standby lags within max_lag: 200');
ok(!grep({ $_ == $second } @{ event_ids($j) }), 'the standby answered: the new event is not there yet')
    or diag(explain(standby_status()));

# a profile the standby does not have yet: the primary answers, not 404
$before = standby_status()->{Fallbacks};
($st, $j) = api("$client/Events/Profile/$second?subscribedOnly=false");
is($st, 200, 'Events/Profile of a profile the standby lacks: 200 (from the primary)') or diag(explain($j));
ok(grep({ $_ == $second } @{ event_ids($j) }), 'its event');
cmp_ok(standby_status()->{Fallbacks}, '>', $before, 'counted as a fallback');

# its cursor, from the primary, is past what the standby holds: the standby
# answers an empty page with the same cursor, never an older one
my $cursor = ref $j eq 'HASH' ? $j->{NextCursor} : undef;
ok($cursor, 'the primary\'s answer has a cursor');
$before = standby_status()->{Queries};
($st, $j) = api("$client/Events?after=$cursor");
is($st, 200, 'Events after that cursor, from the standby: 200') or diag(explain($j));
is(ref $j eq 'HASH' ? $j->{Count} : undef, 0, 'nothing after it yet');
is(ref $j eq 'HASH' ? $j->{NextCursor} : undef, $cursor, 'the cursor given, not an older one');
cmp_ok(standby_status()->{Queries}, '>', $before, 'the standby answered');

# an export made now: its token is unknown to the standby, not invalid
my $tok = 5151515151 + $$;
psql("INSERT INTO prefs_export (access_token, account_id, source_kind, source_name, selection, status, row_count,"
     . " expires_at) VALUES (CAST(:'t' AS bigint), CAST(:'a' AS bigint), 'Segment', 'replica', '{}', 'Complete',"
     . " 2, now() + interval '1 hour');"
     . " INSERT INTO prefs_export_row (access_token, seq, profile_id, doc)"
     . " SELECT CAST(:'t' AS bigint), i, i, '{\"n\": ' || i || '}' FROM generate_series(1, 2) i",
     t => $tok, a => $acct);
($st, $j) = api("Async/$client/Export/$tok?keepAlive=true");
is($st, 200, 'an export page of a token the standby lacks: 200, not 401') or diag(explain($j));
is(ref $j eq 'HASH' ? $j->{TotalResults} : undef, 2, 'the whole export');

# the primary moved on and the standby did not: late after max_lag
ok(wait_until(sub { (standby_status()->{State} // '') eq 'Late' }, $max_lag / 1000 + 5),
   'the paused standby is found late')
    or diag(explain(standby_status()));
cmp_ok(standby_status()->{LagMs}, '>', $max_lag, 'its lag is past max_lag');
$before = standby_status()->{Queries};
($st, $j) = api("$client/Events");
is($st, 200, 'Events with the standby late: 200');
ok(grep({ $_ == $second } @{ event_ids($j) }), 'the primary answered: the new event is there');
is(standby_status()->{Queries}, $before, 'the standby was not asked');
($st, $j) = api("$client/Events?after=$cursor");
is(ref $j eq 'HASH' ? $j->{Count} : undef, 0, 'after that cursor, from the primary: nothing repeated');

# replay resumed: back to the standby
psql_on($standby, 'SELECT pg_wal_replay_resume()');
ok(wait_until(sub { (standby_status()->{State} // '') eq 'Ready' }, 10), 'the standby is ready again');
$before = standby_status()->{Queries};
($st, $j) = api("$client/Events");
ok(grep({ $_ == $second } @{ event_ids($j) }), 'the standby has the new event');
cmp_ok(standby_status()->{Queries}, '>', $before, 'and answered');

# configuration: snapshots are loaded from the standby.  After a change the
# primary's generation is asked first, and a standby that has not replayed
# it is not used; a first load (nothing to compare with) from a lagging
# standby serves what the standby has and is confirmed against the primary
# a second later.  Both well before the standby is found late.
sub program_name {
    my ($c) = @_;
    my ($st, $h, $b) = $ng->request(path => "/Profiles/v4/$c/Programs/Newsletters",
                                    headers => { Authorization => pnauth($c, 'ops', $c eq $client ? $secret : $secret2) });
    my $j = eval { decode_json($b) };
    return ref $j eq 'HASH' ? $j->{Programs}[0]{Name} // '' : '';
}
sub rename_program {
    my ($c, $name) = @_;
    my ($st, $h, $b) = $ng->request(path => "/Profiles/v4/$c/Programs/Newsletters", method => 'PUT',
        body => encode_json({ ProgramId => 'Newsletters', Name => $name, DisplayOrder => 1 }),
        headers => { Authorization => pnauth($c, 'ops', $c eq $client ? $secret : $secret2),
                     'Content-Type' => 'application/json' });
    is($st, 200, "$c: PUT Programs/Newsletters '$name' (on the primary)") or diag($b);
}
$before = standby_status()->{Queries};
is(program_name($client), 'Newsletters', 'a configuration read');
cmp_ok(standby_status()->{Queries}, '>', $before, 'its snapshot was loaded from the standby');

psql_on($standby, 'SELECT pg_wal_replay_pause()');
rename_program($client, 'Weekly letters');
my $t1 = time;
ok(wait_until(sub { program_name($client) eq 'Weekly letters' }, 1.5),
   'a change the standby lacks is served at once (the primary\'s generation is newer)');
is(standby_status()->{State}, 'Ready', 'with the standby still in use');

rename_program($client2, 'Letters');
# the change's NOTIFY reaches the workers first: only the confirmation can
# then find out that the standby's document is old
sleep 0.5;
my $t2 = time;
is(program_name($client2), 'Newsletters', 'a first load from the paused standby serves what it has');
ok(wait_until(sub { program_name($client2) eq 'Letters' }, 2), 'confirmed against the primary within about a second');
is(standby_status()->{State}, 'Ready', 'before the standby is found late');
diag(sprintf('confirmed %.2f s after the first load', time - $t2));
psql_on($standby, 'SELECT pg_wal_replay_resume()');
ok(wait_until(sub { (standby_status()->{State} // '') eq 'Ready' }, 10), 'the standby is ready again');

# an export page that ends the export writes: the standby refuses it, the
# primary answers; a page with keepAlive is the standby's
($st, $j) = api("Async/$client/Export/$tok?keepAlive=true");
is($st, 200, 'a keepAlive page: 200');
$before = standby_status();
($st, $j) = api("Async/$client/Export/$tok");
is($st, 200, 'the last page (which ends the export): 200') or diag(explain($j));
is(ref $j eq 'HASH' ? $j->{Count} : undef, 2, 'its rows');
cmp_ok(standby_status()->{Fallbacks}, '>', $before->{Fallbacks}, 'the primary wrote it');
is(psql_value("SELECT status FROM prefs_export WHERE access_token = CAST(:'t' AS bigint)", t => $tok), 'Expired',
   'the export ended on the primary');

# the standby stopped: down, reads on the primary, one connect per probe
my $failed = sub { my ($s, $h, $b) = $ng->request(path => '/prefs/status');
                   (eval { decode_json($b) } || {})->{Workers}[0]{ConnectFailures} // 0 };
PrefsTest::pg_standby_stop($dir);
my $t0 = time;
my $f0 = $failed->();
my $ok = 0;
for (1 .. 40) {
    ($st, $j) = api("$client/Events");
    $ok++ if $st == 200;
    sleep 0.05;
}
is($ok, 40, 'Events with the standby down: all 200');
my $took = time - $t0;
ok(wait_until(sub { (standby_status()->{State} // '') eq 'Down' }, 5), 'the standby is found down');
my $connects = $failed->() - $f0;
cmp_ok($connects, '<=', 2 + int($took / $probe) + 2, "no storm of connects: $connects in ${\ sprintf('%.1f', $took)} s");

# back
PrefsTest::pg_standby_start($dir);
ok(wait_until(sub { (standby_status()->{State} // '') eq 'Ready' }, 15), 'the restarted standby is ready again');
$before = standby_status()->{Queries};
($st, $j) = api("$client/Events");
is($st, 200, 'Events: 200');
cmp_ok(standby_status()->{Queries}, '>', $before, 'the standby answers again');

# the figures are in the metrics too
my ($ms, $mh, $metrics) = $ng->request(path => '/prefs/metrics');
SKIP: {
    skip 'no metrics location', 3 unless $ms == 200;
    like($metrics, qr/^prefs_db_standby_ready 1$/m, 'metrics: prefs_db_standby_ready');
    like($metrics, qr/^prefs_db_standby_queries(?:_total)? [1-9]/m, 'metrics: prefs_db_standby_queries');
    like($metrics, qr/^prefs_db_standby_lag_seconds \d+\.\d{3}$/m, 'metrics: prefs_db_standby_lag_seconds');
}
SKIP: {
    my ($rc, $out) = PrefsTest::promtool_check($metrics, "$ng->{root}/logs");
    skip 'promtool is not installed (Debian package prometheus)', 2 unless defined $rc && $ms == 200;
    is($rc, 0, 'promtool check metrics passes with the standby\'s metrics') or diag($out);
    is($out, '', 'with nothing to say');
}

my $log = $ng->error_log;
like($log, qr/the standby cannot be used/, 'the standby\'s loss was logged');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'nothing worse than an error was logged');
$ng->stop;

done_testing();
