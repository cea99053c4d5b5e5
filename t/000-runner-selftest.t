# vim:set ft= ts=4 sw=4 et fdm=marker:
#
# Self-test of the bundled Test::Nginx::Socket-compatible runner
# (t/lib/Test/Nginx/{Socket,Util}.pm).  Only stock nginx modules are used.
#
#   prove -I t/lib t/000-runner-selftest.t
#
# Besides the blocks below (which must all pass), two tiny child test files
# are generated and run through prove with their own port and server root:
#   - one that MUST fail (nginx config error, wrong body, client timeout),
#     to check that the runner reports failures instead of hiding them;
#   - one with master_on() + workers(2) + a cache manager + "--- ONLY",
#     to check that no nginx process survives the test file.

BEGIN {
    # Other test files use the default port 1984 and t/servroot; so that
    # this self-test cannot collide with a concurrent run of them, it picks
    # a random free port and t/servroot_<port> (removed at exit) unless a
    # port or server root was chosen explicitly.
    if (!grep { defined $ENV{$_} } qw(TEST_NGINX_PORT TEST_NGINX_SERVER_PORT
                                      TEST_NGINX_SERVROOT))
    {
        $ENV{TEST_NGINX_RANDOMIZE} = 1 if !defined $ENV{TEST_NGINX_RANDOMIZE};
    }
}

use Test::Nginx::Socket;
use Test::Nginx::Util qw($ServerPort $ServRoot);
use File::Temp ();
use IO::Socket::INET ();
use Cwd ();


repeat_each(2);

# per repetition: sum of the sub-tests of the blocks below (status code +
# each response_headers line + body + each error_log/no_error_log pattern)
my $per_repeat = 82;
my $extra = 19;   # the Perl-level checks after run_tests()

plan tests => repeat_each() * $per_repeat + $extra;

no_shuffle();
no_long_string();
config_preamble("add_header X-Preamble yes;");

our $InitRuns = 0;

run_tests();

# ---------------------------------------------------------------------------
# exported variables
# ---------------------------------------------------------------------------

is($ServerPort, server_port(), '$ServerPort from Test::Nginx::Util');
is($ServRoot, server_root(), '$ServRoot from Test::Nginx::Util');

# ---------------------------------------------------------------------------
# child test files
# ---------------------------------------------------------------------------

my $lib = Cwd::abs_path(-d 't/lib' ? 't/lib' : 'lib');
my $tmpdir = File::Temp::tempdir('runner-selftest-XXXXXX', TMPDIR => 1,
                                 CLEANUP => 1);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "cannot find a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub proc_alive {
    my $pid = shift;
    return 0 if !kill 0, $pid;
    if (open my $in, '<', "/proc/$pid/stat") {
        my $st = <$in>;
        return 0 if defined $st && $st =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub run_child {
    my ($name, $code) = @_;
    # (a literal __DATA__ line here would end the source filter of Test::Base)
    $code =~ s/^\@\@DATA\@\@$/__DATA__/m;
    my $file = "$tmpdir/$name.t";
    open my $out, '>', $file or die "$file: $!";
    print $out $code;
    close $out;

    my $port = free_port();
    my $servroot = "$tmpdir/$name-servroot";
    local $ENV{TEST_NGINX_PORT} = $port;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port;
    local $ENV{TEST_NGINX_SERVROOT} = $servroot;
    local $ENV{TEST_NGINX_SERVER_ROOT};
    local $ENV{TEST_NGINX_CLIENT_PORT};
    local $ENV{TEST_NGINX_RANDOMIZE};
    local $ENV{TEST_NGINX_NO_CLEAN};
    local $ENV{TEST_NGINX_MASTER_PROCESS};
    local $ENV{SELFTEST_PIDS} = "$tmpdir/$name.pids";
    delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;

    my $prove;
    for my $dir (split /:/, $ENV{PATH} || '') {
        if (-x "$dir/prove") { $prove = "$dir/prove"; last }
    }
    my $cmd = $prove ? "'$^X' '$prove' -v -I '$lib' '$file' 2>&1"
                     : "'$^X' -I '$lib' '$file' 2>&1";
    my $output = `$cmd`;
    my $rc = $? >> 8;
    return ($rc, $output, $servroot);
}

# --- child 1: failures must be reported --------------------------------------

{
    my ($rc, $out, $servroot) = run_child('must-fail', <<'_EOC_');
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
@@DATA@@

=== TEST 1: bad config
--- config
    location = /t {
        bogus_directive_xyz on;
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: wrong body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
goodbye



=== TEST 3: client timeout
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/dump;
    }
    location = /dump {
        return 200 "x";
    }
--- raw_request eval
"POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"
--- timeout: 0.2
--- response_body: x



=== TEST 4: fine
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
_EOC_

    isnt($rc, 0, "failing child test file exits with a non-zero code")
        or diag($out);
    like($out, qr/^not ok \d+ - \S+ TEST 1: bad config - nginx failed to start/m,
         "nginx start failure is reported as a test failure") or diag($out);
    like($out, qr/unknown directive "bogus_directive_xyz"/,
         "nginx's error message is shown") or diag($out);
    like($out, qr/^not ok \d+ - \S+ TEST 2: wrong body - response_body/m,
         "wrong response body is reported") or diag($out);
    like($out, qr/^not ok \d+ - ERROR: client socket timed out - \S+ TEST 3/m,
         "client timeout is reported") or diag($out);
    like($out, qr/^ok \d+ - \S+ TEST 4: fine - response_body/m,
         "the blocks after a failed nginx start still run") or diag($out);

    my $pid;
    if (open my $in, '<', "$servroot/logs/nginx.pid") {
        $pid = <$in>;
        chomp $pid if defined $pid;
    }
    ok(!$pid || !proc_alive($pid), "no nginx left running by the failing child");
}

# --- child 2: master + 2 workers + cache manager, ONLY ----------------------

{
    my ($rc, $out, $servroot) = run_child('master-on', <<'_EOC_');
use Test::Nginx::Socket;

master_on();
workers(2);
repeat_each(2);

plan tests => repeat_each() * (3 * blocks());

sub record_pids {
    open my $in, '<', $Test::Nginx::Util::PidFile or die "no pid file: $!";
    my $master = <$in>;
    close $in;
    chomp $master;
    my @kids;
    for (1 .. 300) {
        @kids = ();
        for my $stat (glob "/proc/[0-9]*/stat") {
            open my $fh, '<', $stat or next;
            my $line = <$fh>;
            next if !defined $line;
            if ($line =~ /^(\d+) .*\)\s+\S\s+(\d+)/s && $2 == $master) {
                push @kids, $1;
            }
        }
        last if @kids >= 4;
        select undef, undef, undef, 0.01;
    }
    open my $out, '>>', $ENV{SELFTEST_PIDS} or die $!;
    print $out join(" ", $master, @kids), "\n";
    close $out;
}

run_tests();

@@DATA@@

=== TEST 1: must not run (not ONLY)
--- config
    bogus_directive_xyz;
--- request
GET /t
--- response_body
x
--- no_error_log
[error]



=== TEST 2: master, 2 workers, cache manager and loader
--- ONLY
--- http_config
    proxy_cache_path $TEST_NGINX_SERVER_ROOT/selftest_cache keys_zone=selftest:1m;
--- config
    location = /t {
        return 200 "served\n";
    }
--- init
main::record_pids();
--- request
GET /t
--- response_body
served
--- no_error_log
[error]
_EOC_

    ok($rc == 0 && $out !~ /^not ok/m,
       "master_on/workers(2)/ONLY child test file passes") or diag($out);
    like($out, qr/I found ONLY/, "--- ONLY is honoured");

    my @pids;
    if (open my $in, '<', "$tmpdir/master-on.pids") {
        @pids = map { split ' ' } <$in>;
    }
    cmp_ok(scalar @pids, '>=', 4,
           "master + 2 workers + cache helper processes were running")
        or diag("pids: @pids");
    my @alive = grep { proc_alive($_) } @pids;
    is("@alive", "", "no nginx process (master, workers, cache manager) "
                     . "survives the test file");
}

# --- child 3: the server root is cleared like the real module does it --------
#
# Between blocks conf/, html/, logs/, cache/, *_cache and *_temp are removed
# and the server root itself with rmdir: anything else left there (say a
# directory a module creates under its prefix) bails out of the whole run.

{
    my ($rc, $out) = run_child('servroot-clean', <<'_EOC_');
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
@@DATA@@

=== TEST 1: leaves what the runner clears
--- config
    location = /t {
        return 200 "one\n";
    }
--- init
for my $d (qw(a_temp b_cache cache logs/sub)) {
    mkdir(Test::Nginx::Util::server_root() . "/$d") or die "$d: $!";
}
--- request
GET /t
--- response_body
one



=== TEST 2: runs on a clean server root
--- config
    location = /t {
        return 200 "two\n";
    }
--- init
my @left = grep { !m{/(conf|html|logs)$} }
           glob(Test::Nginx::Util::server_root() . "/*");
die "left over: @left\n" if @left;
--- request
GET /t
--- response_body
two
_EOC_

    ok($rc == 0 && $out =~ /^ok \d+ - \S+ TEST 2: runs on a clean server root/m
       && $out !~ /^not ok|Bail out/m,
       "conf, html, logs, cache, *_cache and *_temp are cleared between "
       . "blocks") or diag($out);
}

{
    my ($rc, $out) = run_child('servroot-leftover', <<'_EOC_');
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
@@DATA@@

=== TEST 1: leaves a directory the runner does not own
--- config
    location = /t {
        return 200 "one\n";
    }
--- init
mkdir(Test::Nginx::Util::server_root() . "/prefs_spool") or die $!;
--- request
GET /t
--- response_body
one



=== TEST 2: never runs
--- config
    location = /t {
        return 200 "two\n";
    }
--- request
GET /t
--- response_body
two
_EOC_

    isnt($rc, 0, "a leftover directory in the server root fails the run")
        or diag($out);
    like($out, qr/Bail ?out.*Can't remove \S+ \(not empty\?\)/i,
         "... by bailing out, as the real module does") or diag($out);
    unlike($out, qr/TEST 2: never runs/, "... before the next block")
        or diag($out);
}

# --- child 4: exports are the real module's ---------------------------------
#
# $ServerPort, $ServRoot, ... come from Test::Nginx::Util only: a file that
# uses them after "use Test::Nginx::Socket" alone does not compile under
# the real module, so it must not under this one either.

{
    my ($rc, $out) = run_child('exports', <<'_EOC_');
use strict;
use Test::Nginx::Socket 'no_plan';
my $port = $ServerPort;
run_tests();
@@DATA@@

=== TEST 1: unreachable
--- config
--- request
GET /
--- error_code: 200
_EOC_

    like($out, qr/Global symbol "\$ServerPort" requires explicit package/,
         'Test::Nginx::Socket does not export $ServerPort') or diag($out);

    ($rc, $out) = run_child('exports-util', <<'_EOC_');
use strict;
use Test::Nginx::Socket 'no_plan';
use Test::Nginx::Util qw($ServerPort $ServRoot expand_env_in_text
                         add_test_cleanup_handler);
my $cleaned = 0;
add_test_cleanup_handler(sub { $cleaned++ });
run_tests();
is($ServRoot, server_root(), '$ServRoot from Test::Nginx::Util');
is($ServerPort, $ENV{TEST_NGINX_PORT}, '$ServerPort from Test::Nginx::Util');
is($cleaned, 1, 'add_test_cleanup_handler runs after each block');
@@DATA@@

=== TEST 1: served
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
_EOC_

    ok($rc == 0 && $out !~ /^not ok/m,
       'Test::Nginx::Util exports $ServerPort, $ServRoot, '
       . 'expand_env_in_text, add_test_cleanup_handler') or diag($out);
}

__DATA__

=== TEST 1: sanity
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- error_code: 200
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: response_headers (exact, absent, empty, case-insensitive)
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-Foo: bar
content-type: text/plain
!X-Missing
X-Empty:
--- response_body
ok



=== TEST 3: response_headers_like + response_body_like
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers_like
Server: nginx(/[\d.]+)?
Content-Length: \d+
--- response_body_like
^hel+o$



=== TEST 4: response_body chomp filter
--- config
    location = /t {
        return 200 "no newline";
    }
--- request
GET /t
--- response_body chomp
no newline



=== TEST 5: response_body_unlike
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body_unlike
goodbye



=== TEST 6: error_code
--- config
    location = /t {
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 7: request body gets Content-Length; $TEST_NGINX_* in config and response_body, more_headers eval
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/dump;
        proxy_set_header X-Body $request_body;
    }
    location = /dump {
        return 200 "body=[$http_x_body] len=$http_content_length port=$http_x_port\n";
    }
--- more_headers eval
"X-Port: $Test::Nginx::Util::ServerPort"
--- request
POST /echo
hello world
--- response_body
body=[hello world] len=11 port=$TEST_NGINX_SERVER_PORT



=== TEST 7b: $TEST_NGINX_* is not expanded in more_headers, $ServerPort is in response_body
--- config
    location = /t {
        return 200 "raw=[$http_x_raw] port=$server_port\n";
    }
--- more_headers
X-Raw: $TEST_NGINX_SERVER_PORT
--- request
GET /t
--- response_body_like
^raw=\[\$TEST_NGINX_SERVER_PORT\] port=$ServerPort$



=== TEST 8: more_headers overrides Host
--- config
    location = /t {
        return 200 "host=$host foo=$http_x_foo conn=$http_connection\n";
    }
--- more_headers
Host: example.com
X-Foo: 1
--- request
GET /t
--- response_body
host=example.com foo=1 conn=close



=== TEST 9: request eval with several requests
--- config
    location = /a {
        return 200 "a\n";
    }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 404]
--- response_body eval
["a\n", qr/404 Not Found/]
--- no_error_log
[alert]



=== TEST 10: raw_request
--- config
    location = /proto {
        return 200 "$server_protocol\n";
    }
--- raw_request eval
"GET /proto HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
HTTP/1.0



=== TEST 11: HTTP/1.0 in the request line
--- config
    location = /proto {
        return 200 "$server_protocol\n";
    }
--- request
GET /proto HTTP/1.0
--- response_body
HTTP/1.0



=== TEST 12: pipelined_requests
--- config
    location /p {
        return 200 "uri=$uri\n";
    }
--- pipelined_requests eval
["GET /p1", "GET /p2"]
--- response_body eval
["uri=/p1\n", "uri=/p2\n"]



=== TEST 13: chunked response
--- config
    location = /c {
        ssi on;
        ssi_types text/plain;
        return 200 "chunky\n";
    }
--- request
GET /c
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
chunky



=== TEST 14: error_log (bad upstream)
--- config
    location = /bad {
        proxy_pass http://127.0.0.1:1;
    }
--- request
GET /bad
--- error_code: 502
--- error_log
connect() failed (111: Connection refused)
[error]



=== TEST 15: error_log eval, no_error_log eval, grep_error_log
--- config
    location = /bad {
        proxy_pass http://127.0.0.1:1;
    }
--- request
GET /bad
--- error_code: 502
--- error_log eval
[qr/connect\(\) failed \(\d+: Connection refused\)/, "while connecting to upstream"]
--- no_error_log eval
[qr/\[alert\]/, "[emerg]"]
--- grep_error_log eval
qr/connect\(\) failed \(\d+: [^)]+\)/
--- grep_error_log_out
connect() failed (111: Connection refused)



=== TEST 16: user_files with a timestamp and a sub-directory
--- user_files
>>> sub/foo.txt 199801171935.33
foo
--- request
GET /sub/foo.txt
--- config
--- response_headers
Last-Modified: Sat, 17 Jan 1998 19:35:33 GMT
--- response_body
foo



=== TEST 17: main_config and http_config
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    map $uri $mapped {
        default "mapped-ok";
    }
--- config
    location = /t {
        return 200 "$mapped\n";
    }
--- request
GET /t
--- response_body
mapped-ok



=== TEST 18: init runs once, after the server root is set up
--- config
--- init
$main::InitRuns++;
open my $fh, '>', html_dir() . "/init.txt" or die $!;
print $fh "init-ran $main::InitRuns\n";
close $fh;
--- request
GET /init.txt
--- response_body
init-ran 1



=== TEST 19: timeout + abort + ignore_response + wait
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/dump;
    }
    location = /dump {
        return 200 "x";
    }
--- raw_request eval
"POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"
--- timeout: 300ms
--- abort
--- ignore_response
--- wait: 0.05
--- no_error_log
[alert]



=== TEST 20: skip_nginx (not skipped)
--- config
    location = /t {
        return 200 "hello\n";
    }
--- skip_nginx: 2: < 0.8.0
--- request
GET /t
--- response_body
hello



=== TEST 21: skip_nginx (skipped; nginx would not start)
--- config
    location = /t {
        bogus_directive_xyz;
    }
--- skip_nginx: 3: > 0.8.0
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 22: must_die
--- config
    location = /t {
        bogus_directive_xyz;
    }
--- must_die
--- request
GET /t
--- error_log
[emerg]
unknown directive "bogus_directive_xyz"



=== TEST 23: HEAD request
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body



=== TEST 24: per-block log_level
--- config
    location = /t {
        return 200 "hello\n";
    }
--- log_level: warn
--- request
GET /t
--- response_body
hello
--- no_error_log
[debug]



=== TEST 25: default log level is debug (skip_eval for non-debug builds)
--- config
    location = /t {
        return 200 "hello\n";
    }
--- skip_eval
3: qx{$Test::Nginx::Util::NginxBinary -V 2>&1} !~ /--with-debug/
--- request
GET /t
--- response_body
hello
--- error_log
[debug]



=== TEST 26: response_body_filters and response_body eval
--- config
    location = /t {
        return 200 "a\tb\n";
    }
--- request
GET /t
--- response_body_filters
uc
--- response_body eval
"A\tB\n"



=== TEST 27: SKIP block is never run
--- SKIP
--- config
    bogus_directive_xyz;
--- request
GET /t
--- response_body
never



=== TEST 28: config_preamble, LAST
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Preamble: yes
--- response_body
hello
--- LAST



=== TEST 29: after LAST, never run
--- config
    bogus_directive_xyz;
--- request
GET /t
--- response_body
never
