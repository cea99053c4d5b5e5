# Webhook delivery from the helper process: the handshake, signed events
# (checked by a receiver that verifies every signature by the Standard
# Webhooks rules), filters, IsMinimized, AlternateIdType, retries and
# Retry-After, 410, dead letters and replay, CatchUpOnResume, a helper
# killed mid-batch, a burst of 1,000 events; the Deliveries and Replay
# routes with their bad-input cases.
#
# Subscriptions are written straight into the table (the Webhooks API is
# not this suite's); the client posts plain HTTP to 127.0.0.1, which the
# configuration allows.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): restarts the database; its deliveries must be
#   sent by its own helper
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(hmac_sha256_base64);
use File::Temp qw(tempdir);
use POSIX ();
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $json = JSON::PP->new->canonical;
my $t0;
my $dir = tempdir(CLEANUP => 1);
# the receiver's listening socket, made here so that its port is known
my $rsrv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1024) or die "receiver: $!";
my $rport = $rsrv->sockport;
my $control = "$dir/control.json";
my $record = "$dir/received.jsonl";

# --------------------------------------------------------------------------
# The receiver: one process, select-driven, answers each request as the
# control file says for its path and records what it got.

my %ctl = (secrets => {}, paths => {}, default => { status => 200 });
sub control { open my $f, '>', "$control.tmp" or die; print $f $json->encode(\%ctl); close $f;
              rename "$control.tmp", $control or die }
sub script { my ($path, %s) = @_; $ctl{paths}{$path} = \%s; control() }
control();

sub receiver {
    my $srv = $rsrv;
    my $pid = fork // die;
    if ($pid) { close $srv; return $pid }
    $srv->blocking(0);
    my $sel = IO::Select->new($srv);
    my (%buf, $c, $mtime);
    open my $log, '>>', $record or die;
    $log->autoflush(1);
    while (1) {
        for my $fh ($sel->can_read(1)) {
            if ($fh == $srv) {
                while (my $cl = $srv->accept) { $cl->blocking(0); $sel->add($cl); $buf{fileno $cl} = '' }
                next;
            }
            my $n = sysread($fh, my $chunk, 65536);
            if (!$n) { $sel->remove($fh); delete $buf{fileno $fh}; close $fh; next }
            $buf{fileno $fh} .= $chunk;
            my ($head, $body) = split /\r\n\r\n/, $buf{fileno $fh}, 2;
            next unless defined $body;
            my ($len) = $head =~ /^content-length:\s*(\d+)/im;
            next if length($body) < ($len // 0);
            my $m = (stat $control)[9] // 0;
            if (!$c || $m != $mtime || time - $m < 2) { $c = eval { local $/; open my $f, '<', $control; decode_json(<$f>) }; $mtime = $m }
            my ($path) = $head =~ m{^POST (\S+) HTTP/1\.1}
                or do { $sel->remove($fh); close $fh; next };
            my %h;
            for (split /\r\n/, $head) { $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
            my ($id, $ts, $sigs) = @h{qw(webhook-id webhook-timestamp webhook-signature)};
            my $matched = 0;
            for my $secret (@{ $c->{secrets}{$path} || [] }) {
                (my $k = $secret) =~ s/^whsec_//;
                my $want = hmac_sha256_base64("$id.$ts.$body", decode_base64($k));
                $want .= '=' while length($want) % 4;
                $matched++ if grep { $_ eq "v1,$want" } split / /, $sigs // '';
            }
            my $ok = $matched > 0 && defined $ts && abs(time - $ts) < 300;
            my $s = $c->{paths}{$path} || $c->{default};
            my $ev = eval { decode_json($body) } || {};
            my $status = $s->{status} // 200;
            my $rb = '';
            if (defined $ev->{ValidationCode}) {
                my $v = $s->{validation} // 'echo';
                $rb = $v eq 'echo' ? $json->encode({ ValidationResponse => $ev->{ValidationCode} })
                    : $v eq 'wrong' ? '{"ValidationResponse":"nope"}' : '';
            }
            print $log $json->encode({ t => time, path => $path, id => $id, ts => $ts, sig_ok => $ok ? 1 : 0, matched => $matched,
                                       nsig => scalar(split / /, $sigs // ''), status => $status, event => $ev }), "\n";
            my $resp = "HTTP/1.1 $status X\r\nContent-Type: application/json\r\nContent-Length: "
                . length($rb) . "\r\nConnection: close\r\n";
            $resp .= "Retry-After: $s->{retry_after}\r\n" if defined $s->{retry_after};
            $resp .= "\r\n$rb";
            $fh->blocking(1);
            syswrite($fh, $resp);
            $sel->remove($fh); delete $buf{fileno $fh}; close $fh;
        }
    }
}

sub received {
    my ($path) = @_;
    open my $f, '<', $record or return ();
    my @r;
    while (<$f>) { my $r = eval { decode_json($_) } or next; push @r, $r if !defined $path || $r->{path} eq $path }
    return @r;
}
sub events_at { grep { !defined $_->{event}{ValidationCode} } received(@_) }

my $receiver = receiver();
END { kill 'KILL', $receiver if $receiver }

# --------------------------------------------------------------------------
# Subscriptions and events, straight in SQL

my $client = make_account('wh');
my $admin = make_user($client, 'admin', 'Administrators');
my $other = make_account('whother');
my $oadmin = make_user($other, 'admin', 'Administrators');
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
my $oacct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $other);

sub new_secret {
    my $secret = 'whsec_' . encode_base64(join('', map { chr int rand 256 } 1 .. 24), '');
    my $sealed = `printf '%s' '$secret' | '$ENV{TEST_NGINX_PREFS_TOP}/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`;
    chomp $sealed;
    die "seal failed" unless $sealed;
    return ($secret, $sealed);
}

sub make_sub {
    my ($path, %o) = @_;
    my ($secret, $sealed) = new_secret();
    push @{ $ctl{secrets}{$path} }, $secret;
    control();
    my $id = psql_value(
        "INSERT INTO prefs_webhook_subscription (account_id, name, url, state, subscriptions,"
        . " secret_sealed, validation_code, validated_at, is_minimized, alternate_id_type,"
        . " catch_up_on_resume, locale)"
        . " VALUES (:'a', :'n', :'u', 'Active', :'s', :'sealed', nullif(:'code', ''),"
        . " CASE WHEN :'code' = '' THEN now() END, :'min', nullif(:'alt', ''), :'cu', :'loc')"
        . " RETURNING subscription_id",
        a => $o{account} // $acct, n => "sub $path", u => $o{url} // "http://127.0.0.1:$rport$path",
        s => $json->encode($o{subs} // [{ EventType => 'profile.created' }]),
        sealed => $sealed, code => $o{code} // '', min => $o{minimized} ? 'true' : 'false',
        alt => $o{alt} // '', cu => $o{catch_up} ? 'true' : 'false', loc => $o{locale} // 'en-US');
    return wantarray ? ($id, $secret) : $id;
}

sub event {
    my ($type, $data, %o) = @_;
    return psql_value("SELECT prefs_event_add(:'a', NULL, :'t', :'p', :'d')",
                      a => $o{account} // $acct, t => $type, p => $o{profile} // 1, d => $json->encode($data // {}));
}

sub dstate {
    my ($sub, $event) = @_;
    return psql_value("SELECT state || ':' || attempts FROM prefs_webhook_delivery"
        . " WHERE subscription_id = :'s' AND event_id = :'e'", s => $sub, e => $event);
}

my $ng;    # started below; api() talks to it

sub api {
    my ($method, $path, %o) = @_;
    my %h = (Authorization => pnauth($o{client} // $client, 'admin', $o{secret} // $admin));
    $h{'Content-Type'} = $o{type} // 'application/json' if defined $o{body};
    my ($s, $hd, $b) = http_request(port => $ng->port, method => $method,
        path => "/Profiles/v4/" . ($o{client} // $client) . "/$path", headers => \%h, body => $o{body});
    return ($s, (eval { decode_json($b) } || { raw => $b }));
}

$ng = PrefsTest::start_nginx(name => 'pipeline',
    http_config => 'prefs_webhook_retries 1s 1s 1s; prefs_webhook_lease 3s; prefs_webhook_timeout 2s; prefs_helper_poll_interval 1s; prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;');

ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');
ok(wait_until(sub {
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    (eval { decode_json($b) } || {})->{Helper}{Listening};
}, 5), 'and listens');

# --------------------------------------------------------------------------
# 1. The handshake

my $subs_a = [{ EventType => 'profile.created' },
              { EventType => 'preference.added', Filters => ['7'] },
              { EventType => 'consent.added', ConsentTypes => ['AllConsents'] },
              { EventType => 'consent.elementassocation.deactivated' }];
my $A = make_sub('/a', code => 'code-a', subs => $subs_a);
script('/w', validation => 'wrong');
my $W = make_sub('/w', code => 'code-w');

ok(wait_until(sub { psql_value("SELECT validated_at IS NOT NULL FROM prefs_webhook_subscription"
    . " WHERE subscription_id = :'s'", s => $A) eq 't' }, 10), 'a subscription is validated by the echo');
my ($hs) = received('/a');
is($hs->{event}{EventType}, 'webhook.validation', 'the handshake is a webhook.validation event');
is($hs->{event}{ValidationCode}, 'code-a', 'carrying the ValidationCode');
is($hs->{event}{SubscriptionId}, $A, 'and the SubscriptionId');
ok($hs->{sig_ok}, 'signed');

ok(wait_until(sub { psql_value("SELECT state FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
    . " AND kind = 'validation'", s => $W) eq 'dead' }, 15), 'a wrong echo is retried until the last attempt');
is(scalar(received('/w')), 4, 'four attempts (1 + the 3 retries of the test schedule)');
is(psql_value("SELECT validated_at IS NULL FROM prefs_webhook_subscription WHERE subscription_id = :'s'",
    s => $W), 't', 'the subscription stays PendingValidation');
my $ev_w = event('profile.created', { n => 'w' });

# --------------------------------------------------------------------------
# 2. Events, filters and wildcards, signatures

my $e1 = event('profile.created', { FirstName => 'Ann' });
my $e2 = event('preference.added', { FilterId => 7 });
my $e3 = event('preference.added', { FilterId => 8 });
my $e4 = event('consent.added', { TypeName => 'Email Marketing' });
my $e5 = event('group.added', { Name => 'VIP' });
my $e6 = event('consent.elementassociation.deactivated', { TypeName => 'x' });
my $e7 = event('profile.created', { FirstName => 'Other' }, account => $oacct);

ok(wait_until(sub { events_at('/a') >= 5 }, 10), 'the selected events arrive');
sleep 0.5;
my @got = events_at('/a');
is_deeply([sort { $a <=> $b } map { $_->{id} } @got], [sort { $a <=> $b } $ev_w, $e1, $e2, $e4, $e6],
          'exactly the selected ones: filter, wildcard, the misspelled alias; not another account\'s');
is(scalar(grep { $_->{sig_ok} } @got), scalar(@got), 'every signature verifies');
is(scalar(grep { $_->{id} eq $_->{event}{EventId} } @got), scalar(@got), 'webhook-id is the EventId');
is(scalar(grep { ($_->{event}{SubscriptionId} // 0) == $A } @got), scalar(@got), 'SubscriptionId is set');
my ($g1) = grep { $_->{id} == $e1 } @got;
is($g1->{event}{Data}{FirstName}, 'Ann', 'the envelope carries Data');
is($g1->{event}{Name}, 'Profile Created', 'and its Name');
is(scalar(events_at('/w')), 0, 'a subscription pending validation gets no event');

# --------------------------------------------------------------------------
# 3. IsMinimized, AlternateIdType, locale

my $M = make_sub('/m', minimized => 1);
my $pid = psql_value("INSERT INTO prefs_profile (account_id) VALUES (:'a') RETURNING profile_id", a => $acct);
psql("INSERT INTO prefs_profile_alternate_id (account_id, profile_id, type, value) VALUES (:'a', :'p', 'CRM', 'crm-77')",
     a => $acct, p => $pid);
my $ALT = make_sub('/alt', alt => 'CRM');
my $e8 = event('profile.created', { FirstName => 'Min' }, profile => $pid);
ok(wait_until(sub { events_at('/m') >= 1 && events_at('/alt') >= 1 }, 10), 'events reach the minimized and alternate-id subscriptions');
my ($gm) = events_at('/m');
ok(!exists $gm->{event}{Data}, 'IsMinimized: no Data');
is($gm->{event}{ProfileId}, $pid, 'but the ProfileId');
my ($ga) = events_at('/alt');
is($ga->{event}{ProfileId}, 'crm-77', 'AlternateIdType: the ProfileId is the alternate id');
is($ga->{event}{AlternateIdType}, 'CRM', 'named');
ok($gm->{sig_ok} && $ga->{sig_ok}, 'both signed');

# --------------------------------------------------------------------------
# 4. Retries: fails, then recovers; nothing before its time

script('/r', status => 503);
my $R = make_sub('/r');
my $er = event('profile.created', { n => 'retry' });
ok(wait_until(sub { received('/r') >= 2 }, 10), 'a failing endpoint is tried again');
script('/r', status => 200);
ok(wait_until(sub { dstate($R, $er) =~ /^delivered/ }, 10), 'and the event is delivered once it recovers');
my @rr = received('/r');
is(scalar(grep { $_->{id} eq $er } @rr), scalar(@rr), 'the same webhook-id on every attempt');
my $early = psql_value("SELECT count(*) FROM prefs_webhook_attempt a JOIN prefs_webhook_attempt b"
    . " ON b.delivery_id = a.delivery_id AND b.attempt = a.attempt + 1"
    . " WHERE a.subscription_id = :'s' AND b.started_at < a.next_attempt_at", s => $R);
is($early, 0, 'no attempt started before its next_attempt_at');
my $sched = psql("SELECT extract(epoch FROM next_attempt_at) FROM prefs_webhook_attempt"
    . " WHERE subscription_id = :'s' AND outcome = 'retry' ORDER BY attempt", s => $R);
my @next = split /\n/, $sched;
my $late = 0;
for my $i (0 .. $#next) { $late++ if $rr[$i + 1] && $rr[$i + 1]{t} < $next[$i] - 0.05 }
is($late, 0, 'the receiver saw no retry before its time');

# Retry-After
script('/ra', status => 503, retry_after => 3);
my $RA = make_sub('/ra');
my $era = event('profile.created', { n => 'ra' });
ok(wait_until(sub { received('/ra') >= 1 }, 10), 'a 503 with Retry-After');
script('/ra', status => 200);
ok(wait_until(sub { received('/ra') >= 2 }, 10), 'is retried');
my @ra = received('/ra');
cmp_ok($ra[1]{t} - $ra[0]{t}, '>=', 2.8, 'not before Retry-After (3 s, the schedule says 1 s)');

# --------------------------------------------------------------------------
# 5. 410 pauses; the delivery waits for a resume

script('/g', status => 410);
my $G = make_sub('/g');
my $eg = event('profile.created', { n => 'gone' });
ok(wait_until(sub { psql_value("SELECT state || ':' || coalesce(paused_reason, '') FROM prefs_webhook_subscription"
    . " WHERE subscription_id = :'s'", s => $G) eq 'Paused:Gone' }, 10), '410 pauses the subscription (Gone)');
like(dstate($G, $eg), qr/^pending/, 'its delivery is kept');
my $eg2 = event('profile.created', { n => 'gone2' });
sleep 1.5;
is(scalar(received('/g')), 1, 'nothing more is sent while paused');
script('/g', status => 200);
psql("UPDATE prefs_webhook_subscription SET state = 'Active', paused_reason = NULL, resumed_at = now()"
    . " WHERE subscription_id = :'s'", s => $G);
ok(wait_until(sub { dstate($G, $eg) =~ /^delivered/ }, 10), 'resumed, the kept delivery goes out');

# --------------------------------------------------------------------------
# 6. Dead letters, the Deliveries route, Replay

script('/d', status => 500);
my $D = make_sub('/d');
my $ed = event('profile.created', { n => 'dead' });
ok(wait_until(sub { dstate($D, $ed) eq 'dead:4' }, 15), 'dead after the last attempt');
script('/x404', status => 404);
my $X = make_sub('/x404');
my $ex = event('profile.created', { n => 'x' });
ok(wait_until(sub { dstate($X, $ex) eq 'dead:1' }, 10), 'a 404 is dead at once');

my ($s, $r) = api(GET => "Webhooks/Subscriptions/$D/Deliveries?state=Dead");
is($s, 200, 'GET Deliveries');
is(scalar(@{ $r->{Deliveries} || [] }), 1, 'one dead letter');
is($r->{Deliveries}[0]{EventId}, $ed, 'the event');
ok($r->{Deliveries}[0]{IsDeadLetter}, 'marked as a dead letter');
is(scalar(@{ $r->{Deliveries}[0]{AttemptLog} || [] }), 4, 'with its four attempts');
is($r->{Deliveries}[0]{AttemptLog}[0]{Status}, 500, 'and their status');

($s, $r) = api(GET => "Webhooks/Subscriptions/$A/Deliveries?limit=2");
is($s, 200, 'paging');
is(scalar(@{ $r->{Deliveries} }), 2, 'limit');
ok($r->{NextCursor}, 'NextCursor');
my ($s2, $r2) = api(GET => "Webhooks/Subscriptions/$A/Deliveries?limit=2&after=$r->{NextCursor}");
is($s2, 200, 'the next page');
ok($r2->{Deliveries}[0]{DeliveryId} < $r->{Deliveries}[1]{DeliveryId}, 'goes on from the cursor');

script('/d', status => 200);
($s, $r) = api(POST => "Webhooks/Subscriptions/$D/Replay", body => '{"DeadLetters": true}');
is($s, 202, 'Replay DeadLetters: 202');
is($r->{Count}, 1, 'one re-queued');
ok(wait_until(sub { dstate($D, $ed) =~ /^delivered/ }, 10), 'the dead letter is delivered');

my $before = grep { $_->{id} == $e1 } events_at('/a');
($s, $r) = api(POST => "Webhooks/Subscriptions/$A/Replay", body => $json->encode({ EventIds => ["$e1", $e3] }));
is($s, 202, 'Replay EventIds');
is($r->{Count}, 1, 'only the events the subscription selects');
ok(wait_until(sub { (grep { $_->{id} == $e1 } events_at('/a')) > $before }, 10), 'the event is delivered again');

($s, $r) = api(POST => "Webhooks/Subscriptions/$A/Replay", body => $json->encode({
    StartAt => POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 3600)),
    EndAt => POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 60)) }));
is($s, 202, 'Replay StartAt/EndAt');
cmp_ok($r->{Count}, '>=', 4, 'the range\'s events');

# bad input
for my $case (
    ['not JSON', '{', 400], ['unknown field', '{"Foo": 1}', 400], ['an array', '[]', 400],
    ['DeadLetters false', '{"DeadLetters": false}', 400], ['bad ids', '{"EventIds": ["x"]}', 400],
    ['empty ids', '{"EventIds": []}', 400], ['two forms', '{"EventIds": [1], "DeadLetters": true}', 400],
    ['bad dates', '{"StartAt": "soon", "EndAt": "later"}', 400],
    ['reversed dates', '{"StartAt": "2026-01-02T00:00:00Z", "EndAt": "2026-01-01T00:00:00Z"}', 400],
    ['invalid UTF-8', qq({"EventIds": ["\xff"]}), 400],
) {
    my ($name, $body, $want) = @$case;
    my ($st, $bb) = api(POST => "Webhooks/Subscriptions/$A/Replay", body => $body);
    is($st, $want, "Replay, $name: $want");
    ok($bb->{Message}, 'with a Message');
}
($s, $r) = api(POST => "Webhooks/Subscriptions/$A/Replay", body => '{"DeadLetters": true}', type => 'text/plain');
is($s, 415, 'Replay without application/json: 415');
($s, $r) = api(GET => "Webhooks/Subscriptions/$A/Deliveries?state=lost");
is($s, 400, 'a bad state: 400');
($s, $r) = api(GET => "Webhooks/Subscriptions/$A/Deliveries?limit=0");
is($s, 400, 'a bad limit: 400');
($s, $r) = api(GET => "Webhooks/Subscriptions/$A/Deliveries?after=x");
is($s, 400, 'a bad cursor: 400');
($s, $r) = api(GET => "Webhooks/Subscriptions/abc/Deliveries");
is($s, 404, 'a hostile id: 404');
($s, $r) = api(GET => "Webhooks/Subscriptions/99999999/Deliveries");
is($s, 404, 'an unknown subscription: 404');
($s, $r) = api(GET => "Webhooks/Subscriptions/$A/Deliveries", client => $other, secret => $oadmin);
is($s, 404, 'another account\'s subscription: 404');
($s, $r) = api(POST => "Webhooks/Subscriptions/$D/Replay", client => $other, secret => $oadmin,
               body => '{"DeadLetters": true}');
is($s, 404, 'another account\'s replay: 404');
my $reader = make_user($client, 'reader', 'ReadOnly');
my ($rs) = http_request(port => $ng->port, path => "/Profiles/v4/$client/Webhooks/Subscriptions/$A/Deliveries",
    headers => { Authorization => pnauth($client, 'reader', $reader) });
is($rs, 403, 'without WebhookManage: 403');

# --------------------------------------------------------------------------
# 7. CatchUpOnResume

my $C1 = make_sub('/c1', catch_up => 1);
my $C2 = make_sub('/c2');
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_at = now()"
    . " WHERE subscription_id IN (:'a', :'b')", a => $C1, b => $C2);
my @missed = map { event('profile.created', { n => "missed$_" }) } 1 .. 3;
sleep 1;
psql("UPDATE prefs_webhook_subscription SET state = 'Active', resumed_at = now()"
    . " WHERE subscription_id IN (:'a', :'b')", a => $C1, b => $C2);
my $after = event('profile.created', { n => 'after' });
ok(wait_until(sub { events_at('/c1') >= 4 && events_at('/c2') >= 1 }, 10), 'resumed subscriptions get events');
sleep 1;
is_deeply([sort { $a <=> $b } map { $_->{id} } events_at('/c1')], [sort { $a <=> $b } @missed, $after],
          'CatchUpOnResume: what was missed, then the new');
is_deeply([map { $_->{id} } events_at('/c2')], [$after], 'without it: only the new');


# an event recorded before a pause but fanned out after it (the fan-out was
# held back by a long transaction) waits for the resume; one recorded
# during the pause is not sent without CatchUpOnResume
my $LAG = make_sub('/lag');
open(my $holder, '|-', "psql -X -q -d '$ENV{TEST_NGINX_PREFS_DATABASE}' >/dev/null 2>&1") or die;
$holder->autoflush(1);
print $holder "BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(60);\n";
sleep 0.5;
my $before_pause = event('profile.created', { n => 'before pause' });
sleep 0.5;
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_at = now() WHERE subscription_id = :'s'", s => $LAG);
my $during_pause = event('profile.created', { n => 'during pause' });
sleep 0.5;
is(scalar(events_at('/lag')), 0, 'nothing is fanned out past a running transaction');
psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()");
close $holder;
ok(wait_until(sub { dstate($LAG, $before_pause) ne '' }, 10), 'once it ends, the event from before the pause is fanned out');
like(dstate($LAG, $before_pause), qr/^pending/, 'and waits, the subscription being paused');
is(dstate($LAG, $during_pause), '', 'the event from during the pause is not');
psql("UPDATE prefs_webhook_subscription SET state = 'Active', resumed_at = now() WHERE subscription_id = :'s'", s => $LAG);
my $after_lag = event('profile.created', { n => 'after resume' });
ok(wait_until(sub { events_at('/lag') >= 2 }, 10), 'resumed, it gets the kept one and the new one');
sleep 0.5;
is_deeply([sort { $a <=> $b } map { $_->{id} } events_at('/lag')], [sort { $a <=> $b } $before_pause, $after_lag],
          'and only those');

# --------------------------------------------------------------------------
# 8. A hanging endpoint does not hold back the others

my $hang = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1024)
    or die "hang listener: $!";
my $H = make_sub('/h', url => 'http://127.0.0.1:' . $hang->sockport . '/h',
                 subs => [{ EventType => 'customfield.added' }]);
my $F = make_sub('/f', subs => [{ EventType => 'customfield.added' }]);
$t0 = time;
psql("SELECT prefs_event_add(:'a', NULL, 'customfield.added', g, jsonb_build_object('Name', 'f' || g))"
    . " FROM generate_series(1, 200) g", a => $acct);
ok(wait_until(sub { events_at('/f') >= 200 }, 8), 'a healthy subscription gets its 200 events while another hangs');
cmp_ok(time - $t0, '<', 8, 'before the hanging requests even time out');
cmp_ok(psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s' AND state = 'sending'",
    s => $H), '<=', 64, 'the hanging one holds at most its 64 slots');
psql("UPDATE prefs_webhook_subscription SET state = 'Paused' WHERE subscription_id = :'s'", s => $H);

# --------------------------------------------------------------------------
# 9. Secret rotation: both signatures

my $ROT = make_sub('/rot', subs => [{ EventType => 'customfield.updated' }]);
my ($new, $newsealed) = new_secret();
psql("UPDATE prefs_webhook_subscription SET secret_previous = secret_sealed, secret_sealed = :'n',"
    . " secret_previous_until = now() + interval '1 hour' WHERE subscription_id = :'s'", s => $ROT, n => $newsealed);
push @{ $ctl{secrets}{'/rot'} }, $new;
control();
my $erot = event('customfield.updated', { Name => 'rot' });
ok(wait_until(sub { events_at('/rot') >= 1 }, 10), 'an event during a rotation');
my ($grot) = events_at('/rot');
is($grot->{nsig}, 2, 'carries two signatures');
is($grot->{matched}, 2, 'one by each secret');
psql("UPDATE prefs_webhook_subscription SET secret_previous_until = now() WHERE subscription_id = :'s'", s => $ROT);
$ctl{secrets}{'/rot'} = [$new];
control();
event('customfield.updated', { Name => 'rot2' });
ok(wait_until(sub { events_at('/rot') >= 2 }, 10), 'after the rotation');
is((events_at('/rot'))[1]{nsig}, 1, 'one signature');
ok((events_at('/rot'))[1]{sig_ok}, 'by the new secret');

# --------------------------------------------------------------------------
# 10. The account's rate: MaxConcurrentRequests per Duration

psql("INSERT INTO prefs_webhook_settings (account_id, max_concurrent_requests, duration) VALUES (:'a', 50, 2)",
     a => $oacct);
my $RATE = make_sub('/rate', account => $oacct, subs => [{ EventType => 'customfield.deleted' }]);
psql("SELECT prefs_event_add(:'a', NULL, 'customfield.deleted', g, jsonb_build_object('Name', 'r' || g))"
    . " FROM generate_series(1, 150) g", a => $oacct);
ok(wait_until(sub { events_at('/rate') >= 150 }, 20), '150 events at 50 per 2 s');
my @rt = sort { $a <=> $b } map { $_->{t} } events_at('/rate');
cmp_ok($rt[-1] - $rt[0], '>=', 3.5, sprintf('took at least two more windows (%.1f s)', $rt[-1] - $rt[0]));
is(scalar(grep { $_ < $rt[0] + 1.9 } @rt), 50, 'the first window started 50');

# --------------------------------------------------------------------------
# 11. nginx -s reload and PostgreSQL restarting, mid-stream

my $RL = make_sub('/rl', subs => [{ EventType => 'group.removed' }]);
psql("SELECT prefs_event_add(:'a', NULL, 'group.removed', g, jsonb_build_object('Name', 'g' || g))"
    . " FROM generate_series(1, 300) g", a => $acct);
ok(wait_until(sub { events_at('/rl') >= 1 }, 10), 'a stream is being delivered');
$ng->reload;
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
    . " AND state = 'delivered'", s => $RL) == 300 }, 20), 'a reload mid-stream loses nothing');
my %rl = map { $_->{id} => 1 } events_at('/rl');
is(scalar(keys %rl), 300, 'all 300 reached the receiver');

my $PG = make_sub('/pg', subs => [{ EventType => 'group.added' }]);
psql("SELECT prefs_event_add(:'a', NULL, 'group.added', g, jsonb_build_object('Name', 'p' || g))"
    . " FROM generate_series(1, 300) g", a => $acct);
ok(wait_until(sub { events_at('/pg') >= 1 }, 10), 'another stream is being delivered');
pg_stop();
sleep 1;
pg_start();
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
    . " AND state = 'delivered'", s => $PG) == 300 }, 30), 'PostgreSQL restarting mid-stream loses nothing');
my %pg = map { $_->{id} => 1 } events_at('/pg');
is(scalar(keys %pg), 300, 'all 300 reached the receiver');

# --------------------------------------------------------------------------
# 12. The helper killed mid-batch

my $K = make_sub('/k', subs => [{ EventType => 'tag.added', Tags => [] }]);
my $helper = $ng->helper_pid;
psql("SELECT prefs_event_add(:'a', NULL, 'tag.added', g, jsonb_build_object('k', g))"
    . " FROM generate_series(1, 300) g", a => $acct);
ok(wait_until(sub { events_at('/k') >= 1 }, 10), 'a batch is being delivered');
ok(kill('KILL', $helper), 'the helper is killed mid-batch');
ok(wait_until(sub { my $p = $ng->helper_pid; $p && $p != $helper }, 5), 'and respawned');
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
    . " AND state = 'delivered'", s => $K) == 300 }, 20), 'every delivery of the batch is done');
my %seen = map { $_->{id} => 1 } events_at('/k');
is(scalar(keys %seen), 300, 'each of the 300 events reached the receiver at least once');

# --------------------------------------------------------------------------
# 13. A burst of 1,000 events

my $B = make_sub('/burst', subs => [{ EventType => 'tag.removed' }]);
$t0 = time;
psql("SELECT prefs_event_add(:'a', NULL, 'tag.removed', g, jsonb_build_object('b', g))"
    . " FROM generate_series(1, 1000) g", a => $acct);
ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
    . " AND state = 'delivered'", s => $B) == 1000 }, 30), 'a burst of 1,000 events is delivered');
my %bseen = map { $_->{id} => 1 } events_at('/burst');
is(scalar(keys %bseen), 1000, 'each at least once, none zero times');
diag(sprintf('burst: 1,000 deliveries in %.2f s', time - $t0));
is(scalar(grep { !$_->{sig_ok} } received()), 0, 'no request the receiver saw had a bad signature');

# the retried subscription's events never went to the paused-validation one
is(dstate($W, $ev_w), '', 'nothing was fanned out to the unvalidated subscription');

my @bad = grep { /\[(alert|crit|emerg)\]/ && !/cache manager process \d+ exited on signal 9/ }
    split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged but the kill');
$ng->stop;

done_testing();
