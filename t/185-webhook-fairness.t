# Fair webhook claiming across accounts (issue 16, finding 1): one tenant
# whose twelve subscriptions post to a receiver that accepts and never
# answers, with a backlog of hundreds of deliveries, does not delay another
# tenant's deliveries.  The helper has 8 slots (prefs_webhook_in_flight 8)
# and holds a hanging request 8 s (prefs_webhook_timeout 8s).
#
# The bound: while the hanging tenant holds every slot it may (three
# quarters of them), the other tenant's events are all delivered within
# BOUND seconds of being recorded: at the next claim, milliseconds on an
# idle machine, the rest being margin for a loaded one.  The bound is below
# the hold, so a claim order that waits for a hanging request to time out
# fails it.
#
# Procedural: receivers that hang, and timing.  Both receivers listen on
# ports the kernel chooses.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its deliveries must
#   be claimed by its own helper, and its bound is a timing one
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use File::Temp qw(tempdir);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

use constant { SLOTS => 8, SHARE => 6, HOLD => 8, BOUND => 4 };

my $record = tempdir(CLEANUP => 1) . '/received';

# --------------------------------------------------------------------------
# The receivers, in one child: "hang" accepts, reads and never answers;
# "ok" answers 200 at once.  Each request is a line of the record.

my $hang = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1024)
    or die "hang receiver: $!";
my $ok = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1024)
    or die "ok receiver: $!";
my ($hang_url, $ok_url) = map { 'http://127.0.0.1:' . $_->sockport . '/in' } $hang, $ok;

# the webhook-id of a whole request, or undef while more is to come
sub whole_request {
    my ($req) = @_;
    my $at = index($req, "\r\n\r\n");
    return undef if $at < 0;
    my $head = substr($req, 0, $at);
    my $len = $head =~ /^content-length:\s*(\d+)/im ? $1 : 0;
    return undef if length($req) < $at + 4 + $len;
    return $head =~ /^webhook-id:\s*(\S+)/im ? $1 : '-';
}

my $receiver = fork // die "fork: $!";
if (!$receiver) {
    open my $log, '>>', $record or die;
    $log->autoflush(1);
    my $sel = IO::Select->new($hang, $ok);
    my %conn;    # fileno => [socket, kind, what came so far]
    while (1) {
        for my $fh ($sel->can_read(1)) {
            my $c = $conn{fileno $fh};
            if (!$c) {
                my $s = $fh->accept or next;
                $sel->add($s);
                $conn{fileno $s} = [$s, $fh == $hang ? 'hang' : 'ok', ''];
                next;
            }
            if (!sysread($fh, $c->[2], 65536, length $c->[2])) {
                $sel->remove($fh);
                delete $conn{fileno $fh};
                close $fh;
                next;
            }
            my $id = whole_request($c->[2]) // next;
            print $log "$c->[1] ", time, " $id\n";
            $c->[2] = '';
            # the hanging receiver keeps the connection and never answers
            syswrite($fh, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") if $c->[1] eq 'ok';
        }
    }
}
close $_ for $hang, $ok;
END { kill 'KILL', $receiver if $receiver }

# [time, webhook-id] of each request one receiver got
sub received {
    my ($kind) = @_;
    open my $f, '<', $record or return ();
    return map { my @w = split; $w[0] eq $kind ? [@w[1, 2]] : () } <$f>;
}

# --------------------------------------------------------------------------
# Two accounts: A with twelve subscriptions to the hanging receiver, made
# first (the lower subscription ids), B with one to the healthy one.

my %acct = map { $_ => psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'",
                                  c => make_account("fair$_")) } qw(A B);

sub subscribe {
    my ($account, $url) = @_;
    my $secret = 'whsec_' . join('', map { ('A' .. 'Z')[rand 26] } 1 .. 32);
    my ($sealed) = `printf '%s' '$secret' | '$ENV{TEST_NGINX_PREFS_TOP}/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`
        =~ /^(\S+)$/ or die "prefs-secret failed\n";
    return psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state,"
        . " subscriptions, secret_sealed, validated_at) VALUES (:'a', 'fair', :'u', 'Active',"
        . " '[{\"EventType\": \"profile.created\"}]', :'s', now()) RETURNING subscription_id",
        a => $account, u => $url, s => $sealed);
}

my @hanging = map { subscribe($acct{A}, $hang_url) } 1 .. 12;
my $healthy = subscribe($acct{B}, $ok_url);

sub events {
    my ($tenant, $n) = @_;
    return split /\n/, psql("SELECT prefs_event_add(:'a', NULL, 'profile.created', g, '{}')"
                            . " FROM generate_series(1, :'n') g", a => $acct{$tenant}, n => $n);
}

sub in_flight {
    my ($tenant) = @_;
    return psql_value("SELECT count(*) || ' ' || count(DISTINCT subscription_id)"
        . " FROM prefs_webhook_delivery WHERE account_id = :'a' AND state = 'sending'", a => $acct{$tenant});
}

# B's events all at the healthy receiver, each once: the seconds it took
sub delivered_within {
    my ($t0, @ids) = @_;
    my %want = map { $_ => 1 } @ids;
    wait_until(sub { (grep { $want{$_->[1]} } received('ok')) >= @ids }, 3 * HOLD);
    my %at;
    for (received('ok')) { $at{$_->[1]} //= $_->[0] if $want{$_->[1]} }
    return (scalar(keys %at), (sort { $b <=> $a } map { $_ - $t0 } values %at)[0] // 999);
}

my $ng = PrefsTest::start_nginx(name => 'fairness', workers => 1,
    http_config => 'prefs_webhook_in_flight ' . SLOTS . '; prefs_webhook_subscription_in_flight ' . SLOTS . ';'
        . ' prefs_webhook_timeout ' . HOLD . 's; prefs_webhook_lease ' . (HOLD + 6) . 's;'
        . ' prefs_webhook_retries 1s 1s 1s; prefs_helper_poll_interval 1s;'
        . ' prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;');
ok(wait_until(sub { (eval { decode_json(($ng->request(path => '/prefs/status'))[2]) } || {})->{Helper}{Listening} }, 10),
   'the helper runs and listens');

# --------------------------------------------------------------------------
# 1. A's backlog takes what it may of the slots, and hangs there

my $t_a = time;
events(A => 30);    # 360 deliveries
ok(wait_until(sub { (split ' ', in_flight('A'))[0] >= SHARE && received('hang') >= SHARE }, 10),
   'the hanging tenant\'s deliveries are on the wire');
is(in_flight('A'), SHARE . ' ' . SHARE, 'three quarters of the slots, one subscription each');

# --------------------------------------------------------------------------
# 2. B's events go out while A's requests hang

my $t0 = time;
my @b1 = events(B => 10);
my ($n, $took) = delivered_within($t0, @b1);
is($n, 10, 'every event of the other tenant is delivered');
cmp_ok($took, '<', BOUND, 'within ' . BOUND . ' s of being recorded (took ' . sprintf('%.2f', $took) . ' s)');
cmp_ok(time - $t_a, '<', HOLD, 'while the hanging requests are still held');
is(scalar(grep { $_->[0] < $t0 + BOUND } received('hang')), SHARE, 'and none of them was let go');

# --------------------------------------------------------------------------
# 3. Once A's requests time out, freed slots are contended: B still first

ok(wait_until(sub { psql_value("SELECT count(*) FROM prefs_webhook_attempt WHERE account_id = :'a'"
                               . " AND outcome = 'retry'", a => $acct{A}) >= SHARE }, 3 * HOLD),
   'the hanging requests time out and are retried');
ok(wait_until(sub { (split ' ', in_flight('A'))[0] >= SHARE }, 10), 'A takes its share again');
$t0 = time;
my @b2 = events(B => 10);
($n, $took) = delivered_within($t0, @b2);
is($n, 10, 'the other tenant\'s next events are delivered');
cmp_ok($took, '<', BOUND, 'within ' . BOUND . ' s again (took ' . sprintf('%.2f', $took) . ' s)');
is(psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
              . " AND state <> 'delivered'", s => $healthy), 0, 'all of B\'s deliveries are done');
cmp_ok((split ' ', in_flight('A'))[0], '<=', SHARE, 'A never holds more than its share');

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');
$ng->stop;

done_testing();
