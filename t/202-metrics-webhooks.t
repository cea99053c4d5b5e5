# prefs_api metrics and webhook delivery: the helper's attempts, their
# failures by reason (an endpoint answering 503, a port where nothing
# listens), and the dead letters the database then holds.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its deliveries
#   must be sent by its own helper, and the subscriptions earlier suites
#   leave are paused here
use strict;
use warnings;
use lib 't';
use Test::More;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

# an endpoint that answers every request 503
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64)
    or die "endpoint: $!";
my $port = $srv->sockport;
my $endpoint = fork // die;
if (!$endpoint) {
    while (my $c = $srv->accept) {
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) { sysread($c, $buf, 4096, length $buf) or last }
        my ($len) = $buf =~ /^content-length:\s*(\d+)/im;
        my ($head, $body) = split /\r\n\r\n/, $buf, 2;
        $body //= '';
        while (length($body) < ($len // 0)) { sysread($c, $body, 4096, length $body) or last }
        syswrite($c, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        close $c;
    }
    exit 0;
}
close $srv;
END { kill 'KILL', $endpoint if $endpoint }
my $nothing = free_port();

# the subscriptions earlier suites leave would give this helper attempts of
# their own to count: paused, they give it nothing
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_reason = 'Gone', paused_at = now()"
     . " WHERE state = 'Active'");
# and a paused subscription's handshake is still sent: the handshakes
# earlier suites left pending (or not yet queued) would be attempts too.
# Ended rather than deleted: the helper queues a handshake again for a code
# that has no delivery
psql("UPDATE prefs_webhook_subscription SET validation_code = NULL WHERE validated_at IS NULL");
psql("UPDATE prefs_webhook_delivery SET state = 'dead', dead_at = now(), last_error = 'ended by t/202'"
     . " WHERE state IN ('pending', 'sending')");

my $client = make_account('whm');
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

sub subscription {
    my ($url) = @_;
    my $secret = 'whsec_' . encode_base64(join('', map { chr int rand 256 } 1 .. 24), '');
    my $sealed = `printf '%s' '$secret' | '$ENV{TEST_NGINX_PREFS_TOP}/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`;
    chomp $sealed;
    # a validation code: the helper sends the handshake first
    return psql_value("INSERT INTO prefs_webhook_subscription (account_id, name, url, state,"
        . " subscriptions, secret_sealed, validation_code)"
        . " VALUES (:'a', :'u', :'u', 'Active', '[{\"EventType\":\"profile.created\"}]', :'s', 'code')"
        . " RETURNING subscription_id", a => $acct, u => $url, s => $sealed);
}

my $ng = PrefsTest::start_nginx(name => "metrics-wh-$$",
    http_config => 'prefs_webhook_retries 1s 1s; prefs_webhook_lease 3s; prefs_webhook_timeout 2s;'
        . ' prefs_helper_poll_interval 1s; prefs_webhook_allow_http on;'
        . ' prefs_webhook_allow_network 127.0.0.0/8;',
    config => 'location = /prefs/metrics { prefs_api metrics; }');
ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');

my $busy = subscription("http://127.0.0.1:$port/hook");
my $gone = subscription("http://127.0.0.1:$nothing/hook");

sub dead {
    my ($sub) = @_;
    psql_value("SELECT state FROM prefs_webhook_delivery WHERE subscription_id = :'s'"
        . " AND kind = 'validation'", s => $sub) eq 'dead';
}
ok(wait_until(sub { dead($busy) && dead($gone) }, 30), 'both handshakes end as dead letters');

my ($code, $h, $body) = $ng->request(path => '/prefs/metrics');
is($code, 200, 'scraped');
like($body, qr/^prefs_webhook_attempts_total 6$/m, 'three attempts each (1 + 2 retries)');
like($body, qr/^prefs_webhook_successes_total 0$/m, 'none succeeded');
like($body, qr/^prefs_webhook_failures_total\{reason="http_5xx"\} 3$/m, '503: http_5xx');
like($body, qr/^prefs_webhook_failures_total\{reason="connection"\} 3$/m, 'nothing listening: connection');
like($body, qr/^prefs_webhook_deliveries\{kind="validation",state="dead"\} (?:[2-9]|[1-9]\d+)$/m,
     'the dead letters, from the database');
like($body, qr/^prefs_helper_up 1$/m, 'the helper is up');

unlike($ng->error_log, qr/\[(alert|crit|emerg)\]/, 'nothing went badly wrong');

done_testing();
