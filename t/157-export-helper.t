# The export through the helper (issue 13): POST Export/Segment/{name} with a
# CallbackURL queues "prefs.export"; the helper of this suite's nginx runs
# it (the snapshot, Status Complete) and POSTs the callback through the
# webhook client to a receiver of the test's own: the export's status,
# signed (Standard Webhooks) with the secrets of the account's active
# webhook subscriptions (a paused one's is not used), and retried on the
# webhook schedule: the receiver answers 503 first, then 200; each attempt
# signed afresh.  A callback the destination policy refuses is given up at
# once.  A second run of a finished export does nothing (a job may run
# twice).  The snapshot in steps (prefs_export_run, a chunk of members a
# call, then a check): writes that commit between steps are wholly in the
# export; a second nginx's helper takes an export of several steps.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its jobs must be run by the helper of its own
#   nginx, with that nginx's destination policy (127.0.0.1 allowed)
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use MIME::Base64 ();
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $dir = tempdir(CLEANUP => 1);

# the receiver: records each request's body; answers 503 to the first
# request, 200 to the others
my $listen = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
    or die "listen: $!";
my $rport = $listen->sockport;
my $receiver = fork() // die "fork: $!";
if ($receiver == 0) {
    my $n = 0;
    while (my $c = $listen->accept) {
        my $raw = '';
        while ($raw !~ /\r\n\r\n/) { sysread($c, my $b, 65536) or last; $raw .= $b }
        my ($len) = $raw =~ /\r\nContent-Length:\s*(\d+)/i;
        my ($head, $body) = split /\r\n\r\n/, $raw, 2;
        while (length($body // '') < ($len // 0)) { sysread($c, my $b, 65536) or last; $body .= $b }
        open my $fh, '>>', "$dir/received" or die;
        print $fh encode_json({ head => $head, body => $body }), "\n";
        close $fh;
        print $c ($n++ ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                       : "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        close $c;
    }
    exit 0;
}
END { kill 'TERM', $receiver if $receiver }

my $client = make_account('exphelper');
my $secret = make_user($client, 'admin', 'Administrators');
my ($rc, $out) = prefsctl('config', 'import', $client, PrefsTest::top() . '/conf/demo-config.json');
is($rc, 0, 'configuration imported') or diag($out);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
for my $n (qw(Ann Bob)) {
    like(psql_value("SELECT outcome FROM prefs_profile_create(CAST(:'a' AS bigint), NULL, CAST(:'b' AS jsonb))",
                    a => $acct, b => qq({"CustomerName":{"FirstName":"$n","LastName":"Helper"},)
                        . qq("CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]})),
         qr/^created$/, "profile $n");
}
is(psql_value("SELECT outcome FROM prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
              a => $acct, b => '{"Name":"helpers","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"Helper"}]}'),
   'created', 'segment');

# the account's webhook subscriptions, as the Webhooks API leaves them: an
# active validated one (its secret signs the callback) and a paused one
# (its secret does not)
sub subscription {
    my ($state, $whsec) = @_;
    my $key = $ENV{TEST_NGINX_PREFS_KEY};
    my $sealed = `printf '%s' '$whsec' | '@{[ PrefsTest::top() ]}/build/prefs-secret' seal '$key'`;
    chomp $sealed;
    die "seal failed\n" unless $sealed;
    psql("INSERT INTO prefs_webhook_subscription (account_id, name, url, state, subscriptions, secret_sealed,"
         . " validated_at) VALUES (CAST(:'a' AS bigint), 's', 'https://example.com/h', :'st', '[]', :'se', now())",
         a => $acct, st => $state, se => $sealed);
}
my $whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $paused = 'whsec_' . MIME::Base64::encode_base64('p' x 32, '');
subscription('Active', $whsec);
subscription('Paused', $paused);

my $ng = PrefsTest::start_nginx(name => 'exphelper',
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;'
                   . ' prefs_webhook_retries 1s 1s;');

sub api {
    my ($method, $path, $body) = @_;
    my ($status, $h, $b) = $ng->request(method => $method, path => "/Profiles/v4/Async/$client/$path",
        body => $body, headers => { Authorization => pnauth($client, 'admin', $secret),
                                    $body ? ('Content-Type' => 'application/json') : () });
    return ($status, $b =~ /^\s*[\{\[]/ ? decode_json($b) : $b);
}

my ($status, $answer) = api('POST', 'Export/Segment/helpers',
                            qq({"CallbackURL":"http://127.0.0.1:$rport/export-done"}));
is($status, 200, 'export started') or diag(explain($answer));
my $tok = $answer->{AccessToken};
like($tok, qr/^\d+$/, 'an AccessToken');

my $st;
ok(PrefsTest::wait_until(sub { (undef, $st) = api('GET', "Status/Token/$tok"); ref $st && $st->{Status} ne 'Processing' }, 30),
   'the helper finished the export');
is($st->{Status}, 'Complete', 'Status Complete') or diag(explain($st));
is($st->{RowCount}, 2, 'RowCount 2');
sub received { map { decode_json($_) } split /\n/, (do { local (@ARGV, $/) = "$dir/received"; <> } // '') }
ok(PrefsTest::wait_until(sub { received() >= 2 }, 30), 'the callback arrived twice: refused with 503, then taken');
ok(PrefsTest::wait_until(sub { psql_value("SELECT state FROM prefs_job WHERE job_type = 'prefs.export'"
                                          . " AND payload->>'access_token' = :'t'", t => $tok) eq 'done' }, 10),
   'the job is done');
is(psql_value("SELECT (result->>'outcome') || ' ' || (result->>'callback') || ' ' || attempts FROM prefs_job"
              . " WHERE job_type = 'prefs.export' AND payload->>'access_token' = :'t'", t => $tok),
   'done delivered 2', 'the job ran again for the retry, and the callback was delivered');
is(psql_value("SELECT callback_done || ' ' || callback_attempts || ' ' || callback_result FROM prefs_export"
              . " WHERE access_token = CAST(:'t' AS bigint)", t => $tok),
   'true 2 Delivered: HTTP 200', 'the export records two attempts, the last delivered');
my @got = received();
is(scalar(@got), 2, 'no third attempt');
my %first = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () } split /\r\n/, $got[0]{head};
my $got = $got[1];
like($got->{head}, qr{^POST /export-done HTTP/1\.1}, 'POSTed to the CallbackURL');
my $cb = decode_json($got->{body});
my %hdr = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () } split /\r\n/, $got->{head};
is($hdr{'webhook-id'}, "export_$tok", 'webhook-id: export_<AccessToken>');
like($hdr{'webhook-timestamp'}, qr/^\d{10}$/, 'webhook-timestamp');
{
    require Digest::SHA;
    require MIME::Base64;
    (my $k = $whsec) =~ s/^whsec_//;
    my $want = MIME::Base64::encode_base64(Digest::SHA::hmac_sha256(
        "$hdr{'webhook-id'}.$hdr{'webhook-timestamp'}.$got->{body}", MIME::Base64::decode_base64($k)), '');
    is($hdr{'webhook-signature'}, "v1,$want",
       'webhook-signature: the body signed with the active subscription\'s secret (not the paused one\'s)');
    my $want1 = MIME::Base64::encode_base64(Digest::SHA::hmac_sha256(
        "$first{'webhook-id'}.$first{'webhook-timestamp'}.$got[0]{body}", MIME::Base64::decode_base64($k)), '');
    is($first{'webhook-signature'}, "v1,$want1", 'the first attempt was signed too');
    is($first{'webhook-id'}, $hdr{'webhook-id'}, 'with the same webhook-id');
    cmp_ok($hdr{'webhook-timestamp'}, '>=', $first{'webhook-timestamp'} + 1, 'and its own, later, timestamp');
}
is_deeply([ @$cb{qw(AccessToken Status RowCount)} ], [ $tok, 'Complete', 2 ], 'the callback is the status')
    or diag(explain($cb));

# a job run again (a killed helper's lease ran out) leaves a finished export
# alone, and does not queue its callback again
is(psql_value("SELECT outcome || ' ' || coalesce(url, 'no callback') FROM prefs_export_run(CAST(:'t' AS bigint))",
              t => $tok), 'done no callback', 'a second run does nothing');
is(psql_value("SELECT count(*) FROM prefs_job WHERE job_type = 'prefs.http_post' AND payload->>'url' = :'u'",
              u => "http://127.0.0.1:$rport/export-done"), 0, 'no prefs.http_post job: the export\'s job sends it');

# a CallbackURL the destination policy refuses (a link-local address): given
# up at once, not retried
my ($s2, $a2) = api('POST', 'Export/Segment/helpers', '{"CallbackURL":"http://169.254.169.254/latest"}');
is($s2, 200, 'an export with a refused CallbackURL') or diag(explain($a2));
ok(PrefsTest::wait_until(sub { psql_value("SELECT callback_done FROM prefs_export WHERE access_token = CAST(:'t' AS bigint)",
                                          t => $a2->{AccessToken}) eq 't' }, 30), 'its callback is done with');
like(psql_value("SELECT callback_attempts || ' ' || callback_result FROM prefs_export WHERE access_token = CAST(:'t' AS bigint)",
                t => $a2->{AccessToken}), qr/^1 Failed: refused by the destination policy/, 'refused at the first attempt');
is(psql_value("SELECT state || ' ' || (result->>'callback') FROM prefs_job WHERE job_type = 'prefs.export'"
              . " AND payload->>'access_token' = :'t'", t => $a2->{AccessToken}), 'done failed', 'the job is done');

($status, $answer) = api('GET', "Export/$tok");
is($status, 200, 'the page');
is_deeply([ map { $_->{CustomerName}{FirstName} } @{ $answer->{UserProfilePreferences} } ], ['Ann', 'Bob'],
          'the profiles, in ProfileId order');

# the NDJSON download to a client that stops reading for a while: 20,000
# documents of 1 KB (an export of the test's own, as the job would have
# left it), sent a range at a time as the client takes them
my $big = 4242424242 + $$;
psql("INSERT INTO prefs_export (access_token, account_id, source_kind, source_name, selection, status, row_count,"
     . " expires_at) VALUES (CAST(:'t' AS bigint), CAST(:'a' AS bigint), 'Segment', 'helpers', '{}', 'Complete',"
     . " 20000, now() + interval '1 hour');"
     . " INSERT INTO prefs_export_row (access_token, seq, profile_id, doc)"
     . " SELECT CAST(:'t' AS bigint), i, i, '{\"n\": ' || i || ', \"x\": \"' || repeat('y', 1000) || '\"}'"
     . " FROM generate_series(1, 20000) i", t => $big, a => $acct);
my @workers = $ng->children('worker process');
sub hwm { my $kb = 0; for my $p (@_) { my $s = do { local (@ARGV, $/) = "/proc/$p/status"; <> } // ''; $kb = $1 if $s =~ /VmHWM:\s+(\d+)/ && $1 > $kb } $kb }
my $before = hwm(@workers);
my $sock = PrefsTest::http_request(port => $ng->port, no_wait => 1, path => "/Profiles/v4/Async/$client/Export/$big",
    headers => { Authorization => pnauth($client, 'admin', $secret), Accept => 'application/x-ndjson' });
sleep 1;
my ($st2, $h2, $body2) = PrefsTest::read_response($sock, 60);
is($st2, 200, 'NDJSON: 200');
my @lines = split /\n/, ($h2->{'transfer-encoding'} // '') =~ /chunked/i ? dechunk($body2) : $body2;
is(scalar(@lines), 20000, 'NDJSON: 20,000 lines');
like($lines[-1], qr/^\{"n": 20000, /, 'NDJSON: in order, to the last');
my $after = hwm(@workers);
diag("workers' peak RSS before and after a 20 MB NDJSON download: $before kB, $after kB");
SKIP: {
    # ASan keeps freed memory in its quarantine (256 MB by default), so
    # under `make test SANITIZE=1` the peak RSS says nothing of the stream
    skip 'the peak RSS of an ASan build counts its quarantine', 1 if ($ENV{SANITIZE} // '') eq '1';
    cmp_ok($after - $before, '<', 8192, "a worker's peak RSS grew by less than 8 MB for 20 MB sent");
}

sub dechunk {
    my ($raw) = @_;
    my $out = '';
    while ($raw =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($raw, 0, $n, '');
        $raw =~ s/^\r\n//;
    }
    return $out;
}

# The snapshot in steps (prefs_export_run as the helper calls it: a
# session with a statement_timeout takes one step a call): a chunk of
# members a step (prefs.export_chunk: 1 here), then a check; writes that
# commit between the steps are wholly in the export, whatever chunk their
# profiles fell in: a write over two profiles (one copied already, one not
# yet), a profile that leaves the segment.
my @step_ids;
for my $n (qw(Ada Ben Cy Dee)) {
    is(psql_value("SELECT outcome FROM prefs_profile_create(CAST(:'a' AS bigint), NULL, CAST(:'b' AS jsonb))",
                  a => $acct, b => qq({"CustomerName":{"FirstName":"$n","LastName":"Stepper"},)
                      . qq("CustomFields":[{"Name":"FavoriteCategory","Value":"Toys"}]})),
       'created', "profile $n");
    push @step_ids, psql_value("SELECT max(profile_id) FROM prefs_profile WHERE account_id = CAST(:'a' AS bigint)",
                               a => $acct);
}
is(psql_value("SELECT outcome FROM prefs_seg_call(CAST(:'a' AS bigint), 'Segment', 'POST', NULL, CAST(:'b' AS jsonb))",
              a => $acct, b => '{"Name":"steppers","Criteria":[{"Field":"LastName","Operator":"Equals","Value":"Stepper"}]}'),
   'created', 'segment of four');
# (started as the API starts it, its job deleted in the same transaction:
# this suite's helper must not take it)
my $stok = psql_value("BEGIN;\n SELECT body::jsonb->>'AccessToken' AS t FROM prefs_export_start(CAST(:'a' AS bigint),"
                      . " NULL, 'Segment', 'steppers', NULL, 'v4') \\gset\n"
                      . " DELETE FROM prefs_job WHERE job_type = 'prefs.export' AND payload->>'access_token' = :'t';"
                      . " COMMIT; SELECT :'t';", a => $acct);
like($stok, qr/^\d+$/, 'an export of the steppers');
sub step { psql_value("SET statement_timeout = '60s'; SET prefs.export_chunk = 1;"
                      . " SELECT outcome FROM prefs_export_run(CAST(:'t' AS bigint))", t => $stok) }
is(step(), 'more', 'step 1: a chunk (Ada)');
is(step(), 'more', 'step 2: a chunk (Ben)');
psql("UPDATE prefs_profile SET first_name = first_name || '2', edited_at = now()"
     . " WHERE profile_id IN (CAST(:'x' AS bigint), CAST(:'y' AS bigint))", x => $step_ids[0], y => $step_ids[3]);
is(step(), 'more', 'step 3: a chunk (Cy)');
psql("UPDATE prefs_profile SET last_name = 'Gone', edited_at = now() WHERE profile_id = CAST(:'x' AS bigint)",
     x => $step_ids[1]);
is(step(), 'more', 'step 4: a chunk (Dee2)');
is(step(), 'more', 'step 5: the check finds Ben gone: taken again from him');
my $steps = 0;
$steps++ while $steps < 10 && step() eq 'more';
is(psql_value("SELECT status || ' ' || row_count || ' ' || snap_rounds || ' '"
              . " || (byte_count = (SELECT sum(octet_length(doc)) FROM prefs_export_row r"
              . " WHERE r.access_token = x.access_token))"
              . " FROM prefs_export x WHERE access_token = CAST(:'t' AS bigint)", t => $stok),
   'Complete 3 2 true', 'Complete after a second check: three rows, their byte count');
is(psql("SELECT seq || ' ' || (doc::jsonb->'CustomerName'->>'FirstName') FROM prefs_export_row"
        . " WHERE access_token = CAST(:'t' AS bigint) ORDER BY seq", t => $stok),
   "1 Ada2\n2 Cy\n3 Dee2\n",
   'the state after both writes: the write over two profiles wholly in, the one that left out, numbered 1..3');


unlike($ng->error_log, qr/\[(error|alert|crit)\]/, 'no error logged');
$ng->stop;

# the helper (of another nginx, alone now, whose connections take
# prefs.export_chunk 1) takes a snapshot of several steps, each a statement
# of its own within a 2 s prefs_db_query_timeout
my $dbname = psql_value('SELECT current_database()');
psql(qq(ALTER DATABASE "$dbname" SET prefs.export_chunk = 1));
my $ng2 = PrefsTest::start_nginx(name => 'exphelper2', http_config => 'prefs_db_query_timeout 2s;');
my ($s3, $h3, $b3) = $ng2->request(method => 'POST', path => "/Profiles/v4/Async/$client/Export/Segment/steppers",
    headers => { Authorization => pnauth($client, 'admin', $secret) });
psql(qq(ALTER DATABASE "$dbname" RESET prefs.export_chunk));
is($s3, 200, 'an export through the helper') or diag($b3);
my $htok = decode_json($b3)->{AccessToken};
ok(PrefsTest::wait_until(sub { psql_value("SELECT status FROM prefs_export WHERE access_token = CAST(:'t' AS bigint)",
                                          t => $htok) ne 'Processing' }, 30), 'finished');
is(psql_value("SELECT status || ' ' || row_count || ' ' || snap_steps FROM prefs_export"
              . " WHERE access_token = CAST(:'t' AS bigint)", t => $htok),
   'Complete 3 4', 'Complete: three rows in three chunks and a check, four calls of the job');
unlike($ng2->error_log, qr/\[(error|alert|crit)\]/, 'no error logged (the second nginx)');
$ng2->stop;
done_testing();
