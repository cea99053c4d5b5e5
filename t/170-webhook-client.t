# The webhook client, end to end through the helper's job queue (job type
# prefs.http_post): what arrives at a receiver, status passthrough,
# Retry-After, chunked and capped responses, the timeout, keep-alive reuse
# and recovery from a closed idle connection, the destination policy
# (scheme, address ranges, names that resolve to refused addresses), and
# HTTPS with certificate and host name verification.
#
# Receivers are forked Perl servers on ports the system picks; a tiny UDP
# DNS server answers every A question (127.0.0.1, or 10.0.0.1 for "ten.*").
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its prefs.http_post jobs must be run by the
#   helper of its own nginx, with that nginx's destination policy
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use IO::Socket::INET;
use IO::Socket::IP;
use Socket qw(inet_aton);
use POSIX ();
use File::Temp qw(tempdir);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $have_ssl = eval { require IO::Socket::SSL; 1 }
    && system('openssl version >/dev/null 2>&1') == 0;

my $dir = tempdir(CLEANUP => 1);
my ($HTTP, $TLS, $TLS_OTHER, $DNS, $HTTP6);    # set by serve() below
my @servers;

END { kill 'TERM', -$_ for @servers }

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> }

sub append {
    my ($f, $s) = @_;
    open my $fh, '>>', $f or die "$f: $!";
    syswrite $fh, $s;
    close $fh;
}

sub accepts { my ($port) = @_; my $s = slurp("$dir/accepts-$port"); $s =~ tr/\n// }

sub requests {
    my ($port) = @_;
    return map { decode_json($_) } grep { length } split /\n/, slurp("$dir/requests-$port");
}

# --- certificates: a CA, a server certificate for hook.test and 127.0.0.1,
#     and the same from another CA


sub make_ca {
    my ($name) = @_;
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        . " -keyout $dir/$name.key -out $dir/$name.crt -days 2 -subj '/CN=$name'"
        . " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign"
        . " >/dev/null 2>&1") == 0 or die "cannot make CA $name";
}

sub make_cert {
    my ($name, $ca) = @_;
    open my $fh, '>', "$dir/$name.ext" or die;
    print $fh "subjectAltName=DNS:hook.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        . "extendedKeyUsage=serverAuth\n";
    close $fh;
    system("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        . " -keyout $dir/$name.key -out $dir/$name.csr -subj '/CN=hook.test' >/dev/null 2>&1"
        . " && openssl x509 -req -in $dir/$name.csr -CA $dir/$ca.crt -CAkey $dir/$ca.key"
        . " -CAcreateserial -out $dir/$name.crt -days 2 -extfile $dir/$name.ext >/dev/null 2>&1") == 0
        or die "cannot make certificate $name";
}

if ($have_ssl) {
    make_ca('ca');
    make_ca('otherca');
    make_cert('server', 'ca');
    make_cert('other', 'otherca');
}

# --- the receiver

sub respond {
    my ($c, $status, %o) = @_;
    my $body = $o{body} // '';
    my $head = "HTTP/1.1 $status X\r\n";
    $head .= "$_\r\n" for @{ $o{headers} || [] };
    if ($o{chunked}) {
        $head .= "Transfer-Encoding: chunked\r\n\r\n";
        $body = join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } @{ $o{chunks} }) . "0\r\n\r\n";
    } else {
        $head .= "Content-Length: " . length($body) . "\r\n\r\n";
    }
    my $out = $head . $body;
    while (length $out) {
        my $n = syswrite($c, $out);
        return 0 unless defined $n && $n > 0;
        substr($out, 0, $n) = '';
    }
    return 1;
}

sub read_request {
    my ($c, $buf) = @_;
    while ($$buf !~ /\r\n\r\n/) {
        my $n = sysread($c, my $chunk, 65536);
        return undef unless $n;
        $$buf .= $chunk;
        return { garbage => 1 } if $$buf =~ /^[^A-Z]/;     # a TLS ClientHello, say
    }
    $$buf =~ s/^(.*?)\r\n\r\n//s;
    my ($line, @lines) = split /\r\n/, $1;
    my ($method, $target) = split / /, $line;
    my %h;
    for (@lines) { my ($k, $v) = /^([^:]+):\s*(.*)$/; push @{ $h{lc $k} }, $v }
    my $len = $h{'content-length'} ? $h{'content-length'}[0] : 0;
    while (length($$buf) < $len) {
        my $n = sysread($c, my $chunk, 65536);
        return undef unless $n;
        $$buf .= $chunk;
    }
    my $body = substr($$buf, 0, $len, '');
    return { method => $method, target => $target, headers => \%h, body => $body };
}

sub handle {
    my ($c, $port, $conn, $resumed) = @_;
    my $buf = '';
    my $drop_next = 0;
    while (my $r = read_request($c, \$buf)) {
        exit 0 if $drop_next;               # a kept connection dies under the next request
        if ($r->{garbage}) { respond($c, 400, headers => ['Connection: close']); last }
        $r->{conn} = $conn;
        $r->{resumed} = $resumed ? 1 : 0;
        append("$dir/requests-$port", encode_json($r) . "\n");
        my $t = $r->{target};
        if ($t =~ m{^/status/(\d+)}) { respond($c, $1, body => "status $1") or last }
        elsif ($t eq '/retry') { respond($c, 503, headers => ['Retry-After: 120']) or last }
        elsif ($t eq '/retry-date') {
            my $date = POSIX::strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time + 60));
            respond($c, 429, headers => ["Retry-After: $date"]) or last;
        }
        elsif ($t eq '/redirect') {
            respond($c, 302, headers => ["Location: http://127.0.0.1:$port/redirected"]) or last;
        }
        elsif ($t eq '/chunked') { respond($c, 200, chunked => 1, chunks => ['hello', ' ', 'world']) or last }
        elsif ($t eq '/big') { respond($c, 200, body => 'x' x 10000) or last }
        elsif ($t eq '/slow') { sleep 4; respond($c, 200) or last }
        elsif ($t eq '/close-after') { respond($c, 200, body => 'bye'); last }
        elsif ($t eq '/drop-next') { respond($c, 200, body => 'ok') or last; $drop_next = 1 }
        else { respond($c, 200, body => '{"ok":true}') or last }
    }
}

# serve($cert, $host): a receiver on a free port of $host; its port, or 0
# when $host (an IPv6 loopback) cannot be listened on.
sub serve {
    my ($cert, $host) = @_;
    my $l = IO::Socket::IP->new(LocalHost => $host // '127.0.0.1', LocalPort => 0, Listen => 64);
    if (!$l) {
        die "listen: $!" unless $host;
        return 0;
    }
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid) { close $l; push @servers, $pid; return $port }
    setpgrp(0, 0);
    $SIG{CHLD} = 'IGNORE';
    my $conn = 0;
    # one context for all connections: its session ticket key lets clients resume
    my $ctx = $cert && IO::Socket::SSL::SSL_Context->new(SSL_server => 1,
        SSL_cert_file => "$dir/$cert.crt", SSL_key_file => "$dir/$cert.key")
        || ($cert && die "SSL context: " . IO::Socket::SSL::errstr());
    while (1) {
        my $c = $l->accept or next;
        $conn++;
        append("$dir/accepts-$port", "$conn\n");
        my $k = fork;
        if (!defined $k || $k) { close $c; next }
        close $l;
        my $resumed;
        if ($cert) {
            IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_reuse_ctx => $ctx) or POSIX::_exit(0);
            $resumed = $c->get_session_reused;
        }
        handle($c, $port, $conn, $resumed);
        POSIX::_exit(0);
    }
}

sub serve_dns {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
        or die "udp: $!";
    my $port = $s->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid) { close $s; push @servers, $pid; return $port }
    setpgrp(0, 0);
    while (1) {
        my $peer = $s->recv(my $q, 512) or next;
        next if length $q < 17;
        my ($id) = unpack('n', $q);
        my $off = 12;
        my @labels;
        while ($off < length $q) {
            my $len = ord substr($q, $off++, 1);
            last if $len == 0;
            push @labels, substr($q, $off, $len);
            $off += $len;
        }
        my ($qtype) = unpack('n', substr($q, $off, 2));
        my $question = substr($q, 12, $off + 4 - 12);
        my $name = lc join '.', @labels;
        my $ip = $name =~ /^ten\./ ? '10.0.0.1' : $name =~ /^nx\./ ? undef : '127.0.0.1';
        my $answer = ($qtype == 1 && defined $ip)
            ? pack('n n n N n', 0xc00c, 1, 1, 60, 4) . inet_aton($ip) : '';
        $s->send(pack('n n n n n n', $id, 0x8180 | (defined $ip ? 0 : 3), 1, $answer ? 1 : 0, 0, 0)
            . $question . $answer, 0, $peer);
    }
}

$HTTP = serve();
if ($have_ssl) {
    $TLS = serve('server');
    $TLS_OTHER = serve('other');
}
$DNS = serve_dns();
$HTTP6 = serve(undef, '::1');
my $have_ipv6 = $HTTP6 != 0;

# --- jobs

sub post {
    my ($payload) = @_;
    my $id = psql_value("INSERT INTO prefs_job (job_type, payload, max_attempts)"
        . " VALUES ('prefs.http_post', :'p', 1) RETURNING job_id", p => encode_json($payload));
    my $t0 = time;
    wait_until(sub { psql_value("SELECT state FROM prefs_job WHERE job_id = :'id'", id => $id) =~ /^(done|failed)$/ }, 30)
        or return { state => 'timeout' };
    my $row = psql("SELECT state, coalesce(result::text, 'null'), coalesce(error, '') FROM prefs_job"
        . " WHERE job_id = :'id'", id => $id);
    my ($state, $result, $error) = split /\|/, $row, 3;
    my $r = decode_json($result) // {};
    $r->{job_state} = $state;
    $r->{job_error} = $error;
    $r->{took} = time - $t0;
    return $r;
}

my $resolver = "prefs_webhook_resolver 127.0.0.1:$DNS ipv6=off valid=1s;";
my $ca = $have_ssl ? "prefs_webhook_ca_file $dir/ca.crt;" : '';

# ---------------------------------------------------------------------------
# 1. a strict configuration: no plain HTTP, global addresses only

my $ng = PrefsTest::start_nginx(name => 'whclient',
    http_config => "$resolver $ca");
ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');

my $r = post({ url => "http://127.0.0.1:$HTTP/ok" });
is($r->{job_state}, 'done', 'a refused post is a job done');
ok($r->{refused}, 'http:// is refused without prefs_webhook_allow_http');
like($r->{error}, qr/prefs_webhook_allow_http/, 'and the error names the directive');
is($r->{status}, 0, 'no status');

for my $case (["https://127.0.0.1:$TLS/ok", 'loopback'],
              ['https://10.0.0.1/ok', 'a private address'],
              ['https://[::1]/ok', 'IPv6 loopback'],
              ['https://[::ffff:127.0.0.1]/ok', 'IPv4-mapped loopback'],
              ['https://169.254.169.254/latest/meta-data', 'link local (cloud metadata)'],
              ["https://loop.test:$TLS/ok", 'a name resolving to 127.0.0.1'],
              ['https://ten.test/ok', 'a name resolving to 10.0.0.1']) {
    $r = post({ url => $case->[0] });
    ok($r->{refused}, "$case->[1] is refused ($case->[0])");
    like($r->{error}, qr/not a global address/, '  as not global') or diag explain $r;
}

for my $case (['https://user:pw@example.com/', 'userinfo'],
              ['https://example.com/#x', 'a fragment'],
              ['https://127.1/', 'a numeric name'],
              ['ftp://example.com/', 'another scheme'],
              ["https://example.com/a\r\nX: y", 'CRLF in the path']) {
    $r = post({ url => $case->[0] });
    ok($r->{refused}, "a URL with $case->[1] is refused");
}

$r = post({ url => 'https://nx.test/ok' });
ok(!$r->{refused} && $r->{status} == 0, 'an unknown name fails, not refused');
like($r->{error}, qr/cannot resolve/, '  cannot resolve');

is(accepts($HTTP) + ($have_ssl ? accepts($TLS) : 0), 0, 'no receiver saw a connection');

# a bad payload fails the job itself
$r = post({ url => 1 });
is($r->{job_state}, 'failed', 'a url that is not a string fails the job');
$r = post({ url => "https://127.0.0.1/", headers => { Host => 'evil' } });
like($r->{job_error}, qr/reserved/, 'a reserved header fails the job');
$r = post({ url => "https://127.0.0.1/", headers => { 'X-A' => "a\r\nX-B: b" } });
like($r->{job_error}, qr/control/, 'a header value with CRLF fails the job');
$r = post({ url => "https://127.0.0.1/", headers => { 'X A' => 'a' } });
like($r->{job_error}, qr/token/, 'a header name that is not a token fails the job');

$ng->stop;

# ---------------------------------------------------------------------------
# 2. plain HTTP and 127.0.0.0/8 allowed, as a developer would have it

$ng = PrefsTest::start_nginx(name => 'whclient-open',
    http_config => "$resolver $ca prefs_webhook_allow_http on;"
        . " prefs_webhook_allow_network 127.0.0.0/8 fd00::/8 ::1;"
        . " prefs_webhook_response_max 1k; prefs_webhook_keepalive_timeout 30s;");
ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');

$r = post({ url => "http://127.0.0.1:$HTTP/ok?x=1", body => { a => 1 },
            headers => { 'webhook-id' => 'msg_1', 'X-Test' => 'a b' } });
is($r->{status}, 200, 'allowed by prefs_webhook_allow_network 127.0.0.0/8');
is($r->{response}, '{"ok":true}', 'the response body is returned');
is($r->{retry_after}, -1, 'no Retry-After');
ok(!$r->{refused} && !defined $r->{error}, 'no error');

my ($req) = grep { $_->{target} eq '/ok?x=1' } requests($HTTP);
ok($req, 'the receiver got the request');
is($req->{method}, 'POST', 'a POST');
is($req->{body}, '{"a":1}', 'with the body');
is($req->{headers}{host}[0], "127.0.0.1:$HTTP", 'Host with the port');
is($req->{headers}{'content-type'}[0], 'application/json', 'Content-Type');
is($req->{headers}{'content-length'}[0], 7, 'Content-Length');
is($req->{headers}{'user-agent'}[0], 'ngx_prefs', 'User-Agent');
is($req->{headers}{'webhook-id'}[0], 'msg_1', "the caller's header");
is($req->{headers}{'x-test'}[0], 'a b', 'another');

$r = post({ url => "http://127.0.0.1:$HTTP/ok", body => 'plain text' });
($req) = grep { $_->{body} eq 'plain text' } requests($HTTP);
ok($req, 'a string body is sent as it is');

for my $s (500, 410, 204, 404) {
    $r = post({ url => "http://127.0.0.1:$HTTP/status/$s" });
    is($r->{status}, $s, "status $s passes through");
}

$r = post({ url => "http://127.0.0.1:$HTTP/redirect" });
is($r->{status}, 302, 'a redirect is just its status');
ok(!grep({ $_->{target} eq '/redirected' } requests($HTTP)), 'and is not followed');

$r = post({ url => "http://127.0.0.1:$HTTP/retry" });
is($r->{status}, 503, 'status 503');
is($r->{retry_after}, 120, 'Retry-After in seconds');
$r = post({ url => "http://127.0.0.1:$HTTP/retry-date" });
is($r->{status}, 429, 'status 429');
ok($r->{retry_after} >= 50 && $r->{retry_after} <= 61, "Retry-After as an HTTP-date ($r->{retry_after} s)");

$r = post({ url => "http://127.0.0.1:$HTTP/chunked" });
is($r->{status}, 200, 'a chunked response');
is($r->{response}, 'hello world', 'is decoded');

$r = post({ url => "http://127.0.0.1:$HTTP/big" });
is($r->{status}, 200, 'a large response');
is(length($r->{response}), 1024, 'is capped at prefs_webhook_response_max');

$r = post({ url => "http://127.0.0.1:$HTTP/slow", timeout_ms => 1000 });
is($r->{status}, 0, 'a slow receiver times out');
like($r->{error}, qr/timeout/, '  with a timeout error');
ok(!$r->{refused}, '  not refused');
cmp_ok($r->{took}, '<', 3.5, '  before the receiver answers');

$r = post({ url => "http://localhost.test:$HTTP/ok" });
is($r->{status}, 200, 'a name resolving to an allowed address works');

$r = post({ url => "http://127.0.0.1:" . free_port() . "/ok" });
is($r->{status}, 0, 'nothing listening');
like($r->{error}, qr/cannot connect|refused|unreachable/, '  is a connection error');

$r = post({ url => 'http://10.0.0.1/ok' });
ok($r->{refused}, '10.0.0.1 is still refused');
$r = post({ url => 'http://[::2]/ok' });
ok($r->{refused}, '::2 is refused (::1 is allowed, not ::/96)');

SKIP: {
    skip 'no IPv6 loopback', 3 unless $have_ipv6;
    $r = post({ url => "http://[::1]:$HTTP6/ok6" });
    is($r->{status}, 200, 'an IPv6 literal inside an allowed range');
    ($req) = grep { $_->{target} eq '/ok6' } requests($HTTP6);
    ok($req, 'reaches the IPv6 receiver');
    is($req && $req->{headers}{host}[0], "[::1]:$HTTP6", 'with the Host in brackets');
}

# keep-alive: several posts, one connection
my $before = accepts($HTTP);
my @st = map { post({ url => "http://127.0.0.1:$HTTP/ok?n=$_" })->{status} } 1 .. 5;
is_deeply(\@st, [200, 200, 200, 200, 200], 'five posts in a row');
cmp_ok(accepts($HTTP) - $before, '<=', 1, 'over one connection at most ('
    . (accepts($HTTP) - $before) . ' new)');

# the receiver closes a kept connection: the next post still goes through
$r = post({ url => "http://127.0.0.1:$HTTP/close-after" });
is($r->{status}, 200, 'a receiver that closes after answering');
sleep 0.3;
$before = accepts($HTTP);
$r = post({ url => "http://127.0.0.1:$HTTP/ok?after-close" });
is($r->{status}, 200, 'the next post goes over a new connection');
is(accepts($HTTP) - $before, 1, '  one new connection');

# a kept connection dies under the next request: retried once on a new one
$r = post({ url => "http://127.0.0.1:$HTTP/drop-next" });
is($r->{status}, 200, 'a receiver that will drop the next request');
$before = accepts($HTTP);
$r = post({ url => "http://127.0.0.1:$HTTP/ok?after-drop" });
is($r->{status}, 200, 'the request is sent again on a new connection');
is(accepts($HTTP) - $before, 1, '  one new connection');
like($ng->error_log, qr/kept connection .* failed .* retrying on a new one/,
     '  the retry is logged');

SKIP: {
    skip 'no IO::Socket::SSL or openssl', 14 unless $have_ssl;

    $r = post({ url => "https://127.0.0.1:$TLS/ok" });
    is($r->{status}, 200, 'HTTPS to an address in the certificate') or diag explain $r;
    $r = post({ url => "https://hook.test:$TLS/ok" });
    is($r->{status}, 200, 'HTTPS to a name in the certificate') or diag explain $r;
    $before = accepts($TLS);
    @st = map { post({ url => "https://hook.test:$TLS/ok?n=$_" })->{status} } 1 .. 3;
    is_deeply(\@st, [200, 200, 200], 'three HTTPS posts');
    cmp_ok(accepts($TLS) - $before, '<=', 1, '  over one connection at most');

    # a new connection to the same receiver resumes the TLS session
    $r = post({ url => "https://hook.test:$TLS/close-after" });
    is($r->{status}, 200, 'the receiver closes the connection');
    $r = post({ url => "https://hook.test:$TLS/ok?resume" });
    is($r->{status}, 200, 'the next HTTPS post');
    ($req) = grep { $_->{target} eq '/ok?resume' } requests($TLS);
    ok($req && $req->{resumed}, '  resumed the TLS session on its new connection');
    ($req) = grep { $_->{target} eq '/ok' } requests($TLS);
    ok($req && !$req->{resumed}, '  the first connection did not');

    $r = post({ url => "https://wrong.test:$TLS/ok" });
    is($r->{status}, 0, 'a name not in the certificate fails');
    like($r->{error}, qr/certificate/i, '  as a TLS certificate error') or diag explain $r;

    $r = post({ url => "https://127.0.0.1:$TLS_OTHER/ok" });
    is($r->{status}, 0, 'a certificate from another CA fails');
    like($r->{error}, qr/certificate/i, '  as a TLS certificate error') or diag explain $r;

    $r = post({ url => "https://127.0.0.1:$HTTP/ok", timeout_ms => 5000 });
    is($r->{status}, 0, 'https:// to a plain HTTP receiver fails');
    like($r->{error}, qr/TLS handshake/, '  in the TLS handshake') or diag explain $r;
}

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');
$ng->stop;

# ---------------------------------------------------------------------------
# 3. without a resolver, names fail clearly; in-process under master_process off

$ng = PrefsTest::start_nginx(name => 'whclient-single', master => 0,
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;');
$r = post({ url => "http://hook.test:$HTTP/ok" });
is($r->{status}, 0, 'a name without prefs_webhook_resolver fails');
like($r->{error}, qr/no prefs_webhook_resolver/, '  and says why');
$r = post({ url => "http://127.0.0.1:$HTTP/ok?single" });
is($r->{status}, 200, 'an address works without a resolver, in the single process');
$ng->stop;

# ---------------------------------------------------------------------------
# 4. directives that are wrong stop nginx from starting

sub conf_test {
    my ($http) = @_;
    my $root = "$dir/conftest";
    mkdir $root;
    mkdir "$root/logs";
    my $modules = join '', map { "load_module $_;\n" } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    open my $fh, '>', "$root/nginx.conf" or die $!;
    print $fh "$modules\nerror_log $root/logs/error.log;\npid $root/logs/nginx.pid;\nevents {}\n"
        . "http { prefs_database \"$ENV{TEST_NGINX_PREFS_DATABASE}\"; prefs_spool $root/spool;"
        . " prefs_secret_key $ENV{TEST_NGINX_PREFS_KEY}; $http"
        . " server { listen 127.0.0.1:" . free_port() . "; location = /s { prefs_api status; } } }\n";
    close $fh;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    return scalar `'$bin' -t -p '$root/' -c '$root/nginx.conf' 2>&1`;
}

like(conf_test('prefs_webhook_allow_network 127.0.0.0/8;'), qr/test is successful/,
     'a valid configuration passes nginx -t');
like(conf_test('prefs_webhook_allow_network 10.0.0.0/33;'), qr/invalid network "10.0.0.0\/33"/,
     'a prefix too long is refused');
like(conf_test('prefs_webhook_allow_network localhost;'), qr/invalid network "localhost"/,
     'a name is refused as a network');
like(conf_test("prefs_webhook_ca_file $dir/no-such-ca.pem;"), qr/no-such-ca\.pem/,
     'a CA file that cannot be loaded is refused');
like(conf_test('prefs_webhook_response_max 2m;'), qr/must be at most 1m/,
     'prefs_webhook_response_max is bounded');
like(conf_test('prefs_webhook_resolver 127.0.0.1 127.0.0.1; prefs_webhook_resolver 127.0.0.1;'),
     qr/is duplicate/, 'prefs_webhook_resolver twice is refused');
like(conf_test('prefs_webhook_timeout 0;'), qr/must be more than 0/,
     'a zero timeout is refused');

done_testing();
