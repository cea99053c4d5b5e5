package PrefsTest;

# What the ngx_prefs suites share beyond Test::Nginx: the throwaway database
# (psql with bound variables, stopping and starting it), and an nginx of our
# own for the scenarios a block cannot express (a database that goes away
# and comes back, a helper killed mid-job, a reload, concurrent clients).

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempfile);
use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Scalar::Util ();
use Test::Builder;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(events_settled free_port db psql psql_on psql_value pg_stop pg_start prefsctl wait_until wait_began seen_after fewest
                 pg_standby_start pg_standby_stop pg_standby_destroy
                 start_nginx http_request make_account demo_account make_user pnauth
                 api_account api_user api_blocks
                 user_create api_config_import);

sub db { $ENV{TEST_NGINX_PREFS_DATABASE} or die "TEST_NGINX_PREFS_DATABASE is not set\n" }

sub top { $ENV{TEST_NGINX_PREFS_TOP} || '.' }

# psql("SELECT ... :'name' ...", name => $value): values are psql variables,
# quoted by psql itself, never pasted into the text.
sub psql { psql_on(db(), @_) }

# psql_on($conninfo, $sql, %vars): the same, on another database (a
# standby of the test's own)
sub psql_on {
    my ($conninfo, $sql, %vars) = @_;
    my @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $conninfo);
    push @cmd, '-v', "$_=$vars{$_}" for sort keys %vars;
    my ($tmp, $file) = tempfile(UNLINK => 1);
    print $tmp $sql;
    close $tmp;
    open(my $out, '-|', @cmd, '-f', $file) or die "psql: $!";
    local $/;
    my $res = <$out> // '';
    close $out;
    die "psql failed ($?) on: $sql\n" if $?;
    chomp $res;
    return $res;
}

sub psql_value { my $v = psql(@_); $v =~ s/\n.*//s; $v }

# prefsctl(@args): (exit code, stdout and stderr together)
sub prefsctl {
    my @args = @_;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT);
        exec(top() . '/tools/prefsctl', '--db', db(), @args) or exit 127;
    }
    local $/;
    my $res = <$out> // '';
    close $out;
    return ($? >> 8, $res);
}

# pg_standby_start($dir) / pg_standby_stop($dir): a streaming standby of
# the test database (scripts/pg.sh --standby-of), made by pg_basebackup on
# its first start; its conninfo.  pg_standby_destroy($dir) removes it.
sub pg_standby_start {
    my ($dir) = @_;
    system(top() . '/scripts/pg.sh', 'start', $dir, '--fast', '--standby-of', $ENV{TEST_NGINX_PREFS_PGDIR}) == 0
        or die "pg standby start failed\n";
    open my $fh, '<', "$dir/conninfo" or die "$dir/conninfo: $!";
    my $conninfo = <$fh>;
    chomp $conninfo;
    return $conninfo;
}
sub pg_standby_stop    { system(top() . '/scripts/pg.sh', 'stop', $_[0]) == 0 or die "pg standby stop failed\n" }
sub pg_standby_destroy { system(top() . '/scripts/pg.sh', 'destroy', $_[0]) == 0 or die "pg standby destroy failed\n" }

# promtool_check($metrics_text, $dir): `promtool check metrics` on a
# scrape, (exit status, output); () when promtool is not installed (Debian
# package prometheus)
sub promtool_check {
    my ($text, $dir) = @_;
    my $promtool = `command -v promtool 2>/dev/null`;
    chomp $promtool;
    return () unless $promtool;
    my $file = "$dir/metrics.txt";
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
    my $out = `'$promtool' check metrics < '$file' 2>&1`;
    return ($? >> 8, $out);
}

sub pg_stop  { system(top() . '/scripts/pg.sh', 'stop', $ENV{TEST_NGINX_PREFS_PGDIR}) == 0 or die "pg stop failed\n" }
sub pg_start { system(top() . '/scripts/pg.sh', 'start', $ENV{TEST_NGINX_PREFS_PGDIR}, '--fast') == 0 or die "pg start failed\n" }

# A new account of the test's own: its clientId.
sub make_account {
    my ($prefix) = @_;
    my $client = ($prefix // 'acct') . $$ . int(rand(1e6));
    psql("INSERT INTO prefs_account (client_id, name) VALUES (:'c', 'test')", c => $client);
    return $client;
}

# A new account of the test's own with the demo configuration
# (conf/demo-config.json): its account_id (the SQL-level suites').
sub demo_account {
    my ($prefix) = @_;
    open my $fh, '<:raw', top() . '/conf/demo-config.json' or die "demo-config.json: $!\n";
    my $demo = do { local $/; <$fh> };
    my $client = make_account($prefix);
    my $id = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
    psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))", a => $id, d => $demo);
    return $id;
}

# make_user($client, $user, @groups): a user with a fresh secret, sealed by
# build/prefs-secret under the test key; returns the secret.
sub make_user {
    my ($client, $user, @groups) = @_;
    my $key = $ENV{TEST_NGINX_PREFS_KEY} or die "TEST_NGINX_PREFS_KEY is not set\n";
    my ($secret, $sealed) = split ' ', `'@{[top()]}/build/prefs-secret' new '$key'`;
    die "prefs-secret failed\n" unless $sealed;
    my $uid = psql_value("INSERT INTO prefs_user (account_id, user_name)"
        . " SELECT account_id, :'u' FROM prefs_account WHERE client_id = :'c'"
        . " RETURNING user_id", c => $client, u => $user);
    for my $g (@groups) {
        psql("INSERT INTO prefs_user_group_member (user_id, group_id)"
            . " SELECT :'id', group_id FROM prefs_user_group WHERE name = :'g'"
            . " AND account_id IS NULL", id => $uid, g => $g);
    }
    psql("SELECT prefs_user_secret_add(:'id', :'s', 2)", id => $uid, s => $sealed);
    return wantarray ? ($secret, $uid) : $secret;
}

# The Authorization header value for PNAUTHINFO3-HMAC-<alg>.
sub pnauth {
    my ($client, $user, $secret, %o) = @_;
    require Digest::SHA;
    require POSIX;
    my $ts = $o{ts} // POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime(time + ($o{skew} // 0)));
    my $alg = $o{alg} // 'SHA256';
    my $f = { SHA256 => \&Digest::SHA::hmac_sha256_base64, SHA384 => \&Digest::SHA::hmac_sha384_base64,
              SHA512 => \&Digest::SHA::hmac_sha512_base64 }->{$alg};
    # request => [METHOD, TARGET, BODY]: the request-bound form (ours)
    my ($string, $binding) = ("$client:$user:$ts", '');
    if (my $rq = $o{request}) {
        $string .= "\n$rq->[0]\n$rq->[1]\n" . Digest::SHA::sha256_hex($rq->[2] // '');
        $binding = ' Binding=request';
    }
    my $sig = $f->($string, $secret);
    $sig .= '=' while length($sig) % 4;
    return "PNAUTHINFO3-HMAC-$alg Credential=$user/$ts$binding Signature=$sig";
}

# wait_until(sub { ... }, $seconds): polls every 50 ms; the last value.
sub wait_until {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        my $v = $cond->();
        return $v if $v || time > $deadline;
        sleep 0.05;
    }
}

# wait_began(sub { ... }, $seconds): wait_until, answering the time at
# which the check that succeeded began (undef when none did).  A bound on
# how soon a change took effect ("within a second") compares that time, not
# the end of the check: a check of several requests can itself take most of
# a second on a loaded machine, which says nothing of the server.
sub wait_began {
    my ($cond, $timeout) = @_;
    my $began;
    wait_until(sub { $began = time; $cond->() }, $timeout) or return undef;
    return $began;
}

# seen_after($t0, sub { ... }, $seconds): how long after $t0 the check
# that succeeded began (wait_began), undef when none did within $seconds
sub seen_after {
    my ($t0, $cond, $timeout) = @_;
    my $began = wait_began($cond, $timeout);
    return defined $began ? $began - $t0 : undef;
}

# fewest(sub { ... }, $enough[, $label]): the least of up to three counts
# the sub answers (queries one window of requests cost, say), stopping at
# the first that is at most $enough.  Suites share the database, and a
# worker reloads its configuration snapshot (a query) whenever any of them
# changes one, which can fall in any single window; a cost paid by every
# request shows in every window.  With a label, a window above $enough is
# reported (diag).
sub fewest {
    my ($count, $enough, $label) = @_;
    my $least;
    for my $window (1 .. 3) {
        my $n = $count->();
        Test::More::diag("$label, window $window: $n") if defined $label && $n > $enough;
        $least = $n if !defined $least || $n < $least;
        last if $least <= $enough;
    }
    return $least;
}

# events_settled([$seconds]): waits until every transaction running now has
# ended.  The Events API and webhook fan-out show events only below the
# oldest running transaction of the whole cluster (pg_snapshot_xmin), so a
# transaction another suite holds open (a row lock, a held reader) hides
# events committed after it began; a suite that expects all of its events
# waits for this once, after writing them.
sub events_settled {
    my ($timeout) = @_;
    my $now = psql_value("SELECT pg_current_xact_id()");
    my $ok = wait_until(sub {
        psql_value("SELECT pg_snapshot_xmin(pg_current_snapshot()) > :'x'::xid8", x => $now) eq 't'
    }, $timeout // 60);
    die "events_settled: a transaction older than this one is still running\n" unless $ok;
    return $ok;
}

# One HTTP/1.1 exchange on a fresh connection: (status, {headers}, body).
sub http_request {
    my (%a) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $a{port},
                                     Timeout => $a{timeout} // 10)
        or return (0, {}, "connect: $!");
    my $body = $a{body} // '';
    my $req = ($a{method} // 'GET') . " $a{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $req .= "$_: $a{headers}{$_}\r\n" for sort keys %{ $a{headers} || {} };
    $req .= "Content-Length: " . length($body) . "\r\n" if length $body;
    $req .= "\r\n$body";
    print $sock $req;
    return $sock if $a{no_wait};
    return read_response($sock, $a{timeout} // 10);
}

sub read_response {
    my ($sock, $timeout) = @_;
    my $sel = IO::Select->new($sock);
    my $raw = '';
    my $deadline = time + $timeout;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
        $raw .= $buf;
    }
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    return (0, {}, '') unless defined $head;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return ($status // 0, \%h, $body // '');
}


# A TCP port nothing listens on now, for a server of the test's own (a
# listener that can bind port 0 itself and read sockport is better still).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# webhook_receiver(record => FILE[, secrets => FILE]): a webhook endpoint
# in a process of its own, one request at a time, listening before it
# returns (port, pid) on a port the system chose: it echoes a handshake's
# ValidationCode, answers every event 204, and appends to the record a JSON
# line per request: {id, sig_ok, nsig, fresh, event}; sig_ok says whether
# a signature is right for one of the secrets in the secrets file (read at
# each request, one a line).  The caller kills it (KILL) when done.
sub webhook_receiver {
    my (%o) = @_;
    require JSON::PP;
    require MIME::Base64;
    require Digest::SHA;
    my $json = JSON::PP->new->canonical;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
        or die "receiver: $!";
    my $port = $srv->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $srv;
        return ($port, $pid);
    }
    open my $log, '>>', $o{record} or die "$o{record}: $!";
    $log->autoflush(1);
    while (my $c = $srv->accept) {
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) { sysread($c, $buf, 65536, length $buf) or last }
        my ($head, $body) = split /\r\n\r\n/, $buf, 2;
        $body //= '';
        my ($len) = ($head // '') =~ /^content-length:\s*(\d+)/im;
        while (length($body) < ($len // 0)) { sysread($c, $body, 65536, length $body) or last }
        my %h;
        for (split /\r\n/, $head // '') { $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
        my ($id, $ts, $sigs) = @h{qw(webhook-id webhook-timestamp webhook-signature)};
        my @keys;
        if ($o{secrets} && open(my $f, '<', $o{secrets})) {
            @keys = map { chomp; $_ } grep { /\S/ } <$f>;
        }
        my $ok = 0;
        for my $s (@keys) {
            (my $k = $s) =~ s/^whsec_//;
            my $want = Digest::SHA::hmac_sha256_base64("$id.$ts.$body", MIME::Base64::decode_base64($k));
            $want .= '=' while length($want) % 4;
            $ok = 1 if grep { $_ eq "v1,$want" } split / /, $sigs // '';
        }
        my $ev = eval { JSON::PP::decode_json($body) } || {};
        my $rb = defined $ev->{ValidationCode}
            ? $json->encode({ ValidationResponse => $ev->{ValidationCode} }) : '';
        print $log $json->encode({ id => $id, sig_ok => $ok, nsig => scalar(split / /, $sigs // ''),
                                   fresh => (defined $ts && abs(time - $ts) < 300) ? 1 : 0,
                                   event => $ev }), "\n";
        print $c "HTTP/1.1 " . (length $rb ? 200 : 204) . " OK\r\nContent-Type: application/json\r\n"
            . "Content-Length: " . length($rb) . "\r\nConnection: close\r\n\r\n$rb";
        close $c;
    }
    POSIX::_exit(0);
}

# An nginx of the test's own, master on, in t/servroot-<name>, listening on
# a free port ($ng->port); the server root is removed when the object goes
# away, unless a test failed or TEST_NGINX_NO_CLEAN is set.
my %Started;    # server root => the nginx started there (weak)

sub start_nginx {
    my (%o) = @_;
    my $last;
    for my $try (1 .. 5) {
        my $ng = eval { start_nginx_on(free_port(), %o) };
        return $ng if $ng;
        $last = $@;
        # another process took the port between free_port() and nginx
        die $last unless $last =~ /Address already in use/;
    }
    die $last;
}

sub start_nginx_on {
    my ($port, %o) = @_;
    my $name = $o{name} or die "name";
    my $root = top() . "/t/servroot-$name";
    remove_tree($root);
    make_path("$root/conf", "$root/logs", "$root/spool");
    my $workers = $o{workers} // 2;
    my $master = exists $o{master} ? ($o{master} ? 'on' : 'off') : 'on';
    my $user = $> == 0 ? 'user root;' : '';
    my $db = db();
    my $http = $o{http_config} // '';
    my $loc = $o{config} // '';
    my $modules = join '', map { "load_module $_;\n" } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    open my $fh, '>', "$root/conf/nginx.conf" or die $!;
    print $fh <<"CONF";
$modules
worker_processes $workers;
daemon on;
master_process $master;
$user
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    prefs_database "$db";
    prefs_spool spool;
    prefs_secret_key $ENV{TEST_NGINX_PREFS_KEY};
    $http
    server {
        listen 127.0.0.1:$port;
        location = /prefs/status { prefs_api status; }
        location /Profiles/v4/ { prefs_api v4; }
        $loc
    }
}
CONF
    close $fh;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $self = bless { root => $root, port => $port, bin => $bin }, __PACKAGE__;
    system($bin, '-p', "$root/", '-c', 'conf/nginx.conf') == 0
        or die "nginx failed to start: " . $self->error_log;
    wait_until(sub { -s "$root/logs/nginx.pid" && IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) }, 10)
        or die "nginx did not come up: " . $self->error_log;
    # a root whose nginx never came up is left for the test to look at
    Scalar::Util::weaken($Started{$root} = $self);
    return $self;
}

sub port { $_[0]{port} }

sub master_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{root}/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# pids of the master's children whose title matches
sub children {
    my ($self, $title) = @_;
    my $master = $self->master_pid or return;
    my @pids;
    for my $line (`ps -o pid=,ppid=,args= -e`) {
        my ($pid, $ppid, $args) = $line =~ /^\s*(\d+)\s+(\d+)\s+(.*)$/ or next;
        push @pids, $pid if $ppid == $master && $args =~ /$title/;
    }
    return @pids;
}

sub helper_pid { ($_[0]->children('cache manager process'))[0] }

sub request { my $self = shift; http_request(port => $self->{port}, @_) }

sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{root}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

sub reload {
    my ($self) = @_;
    system("'$self->{bin}' -p '$self->{root}/' -c conf/nginx.conf -s reload 2>/dev/null") == 0
        or die "reload failed";
    # nginx -s says "signal process started" on stderr: that is all
}

sub stop {
    my ($self) = @_;
    return if $self->{stopped};
    my $pid = $self->master_pid or return;
    kill 'QUIT', $pid;
    my $ok = wait_until(sub { !kill(0, $pid) }, 10);
    if (!$ok) {
        kill 'KILL', $pid;
        wait_until(sub { !kill(0, $pid) }, 5);
    }
    # no worker or helper outlives its master
    wait_until(sub { !grep { /nginx: (worker|cache manager)/ && /\Q$self->{root}\E/ } `ps -e -o args=` }, 5);
    $self->{stopped} = 1 unless -e "$self->{root}/logs/nginx.pid";
}

sub DESTROY {
    my $self = shift;
    $self->stop if $self->{root};
}

# The server roots of the nginx started here go at the end of the file
# (before global destruction, while Test::Builder still knows whether the
# file passed), unless a test failed or TEST_NGINX_NO_CLEAN is set.

END {
    my $keep = $ENV{TEST_NGINX_NO_CLEAN} || !Test::Builder->new->is_passing;
    for my $root (keys %Started) {
        $Started{$root}->stop if $Started{$root};
        remove_tree($root) unless $keep;
    }
}

# --- Test::Nginx block suites -------------------------------------------------
#
# A block suite makes its accounts and users once, before run_tests(), under
# fixed clientIds of its own (the database is new for every `make test`), and
# signs each request when the block runs:
#
#     use lib 't';
#     use Test::Nginx::Socket 'no_plan';
#     use PrefsTest;
#
#     api_account('UsersCo');
#     api_user('UsersCo', 'admin', 'Administrators');
#     api_blocks();
#     run_tests();
#     __DATA__
#     === TEST 1: ...
#     --- request
#     GET /Profiles/v4/UsersCo/Users
#     --- more_headers eval
#     PrefsTest::auth('UsersCo', 'admin')
#
# `eval` sections run in Test::Base's package under the real runner, so they
# name PrefsTest's functions (and the suite's variables, `$::name`) in full.

my %Secrets;

# api_account($clientId[, $name]): the account, made unless it exists.
sub api_account {
    my ($client, $name) = @_;
    psql("INSERT INTO prefs_account (client_id, name) VALUES (:'c', :'n')"
         . " ON CONFLICT (client_id) DO NOTHING", c => $client, n => $name // $client);
    return $client;
}

# api_user($clientId, $user, @groups): a user with a fresh secret, kept for
# auth(); the user's id.
sub api_user {
    my ($client, $user, @groups) = @_;
    my ($secret, $uid) = make_user($client, $user, @groups);
    $Secrets{$client}{$user} = $secret;
    return $uid;
}

sub api_secret {
    my ($client, $user) = @_;
    return $Secrets{$client}{$user} // die "no secret for $user of $client: call api_user first\n";
}

# auth($clientId, $user, %options): a more_headers line signing the request
# when its block runs.  Both runners evaluate every block's `eval` sections
# when run_tests() starts, so the line holds a mark that a block
# preprocessor replaces with a signature made just before the block's
# requests: a timestamp some seconds from the edge of the window stays so
# however long the suite runs.  Options: pnauth's (ts, skew, alg), secret
# (instead of the one api_user made), lc_scheme (the scheme in lower case).
my @Deferred;
my $Signing;

sub auth {
    my ($client, $user, %o) = @_;
    $o{secret} //= api_secret($client, $user);
    push @Deferred, [$client, $user, %o];
    if (!$Signing++) {
        Test::Nginx::Util::add_block_preprocessor(\&sign_block);
    }
    return "Authorization: <<prefs-auth $#Deferred>>\n";
}

sub sign_block {
    my ($block) = @_;
    my $h = $block->more_headers;
    return unless defined $h;
    my $sign = sub {
        my ($client, $user, %o) = @{ $Deferred[$_[0]] };
        my $v = pnauth($client, $user, delete $o{secret}, %o);
        $v =~ s/^(\S+)/\L$1/ if $o{lc_scheme};
        return $v;
    };
    my @h = map { my $x = $_; $x =~ s/<<prefs-auth (\d+)>>/$sign->($1)/ge; $x }
            ref $h eq 'ARRAY' ? @$h : ($h);
    $block->set_value(more_headers => ref $h eq 'ARRAY' ? \@h : $h[0]);
}

# The module's directives and API locations for every block that does not
# bring its own: a block's `--- http_config` is added to the defaults unless
# it names prefs_database itself; a block's `--- config` replaces the default
# locations.
our $ApiLocations = <<'LOC';
location /Profiles/v4/ { prefs_api v4; }
location /api/3/ { prefs_api v3; }
location /API/3/async/ { prefs_api v3_async; }
location = /oauth/token { prefs_api oauth; }
location = /prefs/status { prefs_api status; }
LOC

sub api_http_config {
    return qq{prefs_database "$ENV{TEST_NGINX_PREFS_DATABASE}";\n}
         . "prefs_secret_key $ENV{TEST_NGINX_PREFS_KEY};\n";
}

# api_blocks() also installs the checks of api_checks() (below).
#
# Their nginx runs no helper unless a block names prefs_helper: any helper
# claims any account's queued jobs and deliveries, so one in every block's
# nginx would run, under its own policy, the work of the suites running
# beside it.
sub api_blocks {
    api_checks();
    Test::Nginx::Util::add_block_preprocessor(sub {
        my ($block) = @_;
        my $http = $block->http_config // '';
        $block->set_value(http_config => api_http_config()
                                         . ($http =~ /\bprefs_helper\b/ ? '' : "prefs_helper off;\n")
                                         . $http)
            unless $http =~ /\bprefs_database\b/;
        $block->set_value(config => $ApiLocations) unless defined $block->config;
    });
}


# --- what a block suite checks beyond the answer ---------------------------------
#
# api_checks() adds these sections to the blocks of a suite that called
# api_blocks():
#
#     --- response_json eval      the answer, decoded, matches this (json_match);
#                                 the last answer, when the block sends several
#     --- response_json_list eval one such structure per request of the block
#     --- sql                     a query run after the block's (last) request,
#     --- sql_result              whose `psql -A -t` output is this,
#     --- sql_result_like         or matches this
#     --- sql_unchanged           a query answering the same after every request
#                                 of the block as just before the block
#
# The queries name the answer's top-level JSON values as psql variables
# (:'ProfileId'), so that a block can check what it created.

our $Absent = bless {}, 'PrefsTest::Absent';

# absent(): in a response_json, the field is not there at all.
sub absent { $Absent }

# contains(@wanted): in a response_json, an array with, for each wanted
# item, an element matching it (in any order, others allowed).
sub contains { return bless [ @_ ], 'PrefsTest::Contains' }

# satisfies(sub { ... }, $what): the value makes the sub true.
sub satisfies { return bless { code => $_[0], what => $_[1] // 'a condition' }, 'PrefsTest::Satisfies' }

# present(): in a response_json, the field is there, whatever its value.
sub present { satisfies(sub { 1 }, 'there') }

# json_match($got, $want): '' when $got has everything $want says, else
# where and why not.  A hash names the fields that must be there (others
# may be); an array is the whole array; a qr// matches a string; undef is
# null; a JSON boolean is matched by 1 or 0.
sub json_match {
    my ($got, $want, $at) = @_;
    $at //= '$';
    my $show = sub { my $v = shift; defined $v ? (ref $v ? JSON::PP->new->canonical->allow_nonref->encode($v) : "\"$v\"") : 'null' };
    if (ref $want eq 'PrefsTest::Satisfies') {
        return $want->{code}->($got) ? '' : "$at: " . $show->($got) . " is not $want->{what}";
    }
    if (ref $want eq 'PrefsTest::Contains') {
        return "$at: not an array but " . $show->($got) if ref $got ne 'ARRAY';
        for my $i (0 .. $#$want) {
            return "$at: no element matches " . $show->($want->[$i])
                unless grep { json_match($_, $want->[$i]) eq '' } @$got;
        }
        return '';
    }
    if (ref $want eq 'HASH') {
        return "$at: not an object but " . $show->($got) if ref $got ne 'HASH';
        for my $k (sort keys %$want) {
            if (ref $want->{$k} eq 'PrefsTest::Absent') {
                return "$at.$k is there" if exists $got->{$k};
                next;
            }
            return "$at.$k is missing" unless exists $got->{$k};
            my $why = json_match($got->{$k}, $want->{$k}, "$at.$k");
            return $why if $why ne '';
        }
        return '';
    }
    if (ref $want eq 'ARRAY') {
        return "$at: not an array but " . $show->($got) if ref $got ne 'ARRAY';
        return "$at: " . @$got . " elements, not " . @$want . ": " . $show->($got) if @$got != @$want;
        for my $i (0 .. $#$want) {
            my $why = json_match($got->[$i], $want->[$i], "$at\[$i]");
            return $why if $why ne '';
        }
        return '';
    }
    if (ref $want eq 'Regexp') {
        return defined $got && !ref $got && $got =~ $want ? '' : "$at: " . $show->($got) . " does not match $want";
    }
    if (!defined $want) {
        return defined $got ? "$at: " . $show->($got) . ", not null" : '';
    }
    return "$at: " . $show->($got) . ", not \"$want\""
        if !defined $got || (ref $got && !JSON::PP::is_bool($got)) || "$got" ne "$want";
    return '';
}

sub section {
    my ($block, $name) = @_;
    return $block->can($name) ? $block->$name : undef;
}

# api_checks(): installed by api_blocks(); calling it again does nothing.
my $Checking;

sub api_checks {
    return if $Checking++;
    require JSON::PP;
    require Test::More;
    Test::Nginx::Util::add_block_preprocessor(sub {
        my ($block) = @_;
        my $sql = section($block, 'sql_unchanged');
        $block->set_value(sql_before => psql($sql)) if defined $sql;
    });
    Test::Nginx::Socket::add_response_body_check(sub {
        my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
        return if $dry_run;
        my $name = $block->name;
        my $json = eval { JSON::PP->new->utf8->allow_nonref->decode($body // '') };
        my $req = section($block, 'request');
        my $last = $req_idx == (ref $req eq 'ARRAY' ? $#$req : 0);
        my $want = section($block, 'response_json');
        if (defined $want && $last) {
            my $why = defined $json ? json_match($json, $want) : "not JSON: " . ($body // '');
            Test::More::is($why, '', "$name - response_json");
        }
        my $list = section($block, 'response_json_list');
        if (defined $list) {
            my $why = defined $json ? json_match($json, $list->[$req_idx]) : "not JSON: " . ($body // '');
            Test::More::is($why, '', "$name - response_json_list [$req_idx]");
        }
        # psql takes its variables as UTF-8, as the body came
        my %vars = map { my $v = $json->{$_}; utf8::encode($v); ($_ => $v) }
                   grep { defined $json->{$_} && !ref $json->{$_} }
                   keys %{ ref $json eq 'HASH' ? $json : {} };
        my $sql = section($block, 'sql');
        if (defined $sql && $last) {
            my $got = eval { psql($sql, %vars) } // "psql failed: $@";
            $got =~ s/\s+\z//;
            my $like = section($block, 'sql_result_like');
            if (defined $like) {
                Test::More::like($got, ref $like ? $like : qr/$like/, "$name - sql_result_like");
            } else {
                my $exp = section($block, 'sql_result') // '';
                $exp =~ s/\s+\z//;
                Test::More::is($got, $exp, "$name - sql_result");
            }
        }
        my $unchanged = section($block, 'sql_unchanged');
        if (defined $unchanged) {
            Test::More::is(psql($unchanged), section($block, 'sql_before'), "$name - sql_unchanged");
        }
    });
}

# api_request($client, $user, $method, $path[, $body[, \%headers]]): a
# request made while a suite prepares its data, before run_tests(), to an
# nginx of the suite's own (started on first use, stopped by api_prepared()
# or at exit): (status, {headers}, decoded JSON or undef, raw body).
my $Preparer;

sub api_request {
    my ($client, $user, $method, $path, $body, $headers) = @_;
    require JSON::PP;
    if (!$Preparer) {
        (my $name = $0) =~ s{.*/|\.t$}{}g;
        $Preparer = start_nginx(name => "prepare-$name", workers => 1,
                                config => 'location /api/3/ { prefs_api v3; }');
    }
    my %h = (Authorization => pnauth($client, $user, api_secret($client, $user)), %{ $headers || {} });
    $h{'Content-Type'} //= 'application/json' if defined $body;
    my $prefix = $path =~ s{^v3:}{} ? '/api/3' : '/Profiles/v4';
    my ($st, $hd, $raw) = $Preparer->request(method => $method, path => "$prefix/$client/$path", headers => \%h,
        body => defined $body ? (ref $body ? JSON::PP::encode_json($body) : $body) : undef);
    return ($st, $hd, scalar eval { JSON::PP::decode_json($raw) }, $raw);
}

# api_prepared(): the preparation is over; its nginx stops, and must have
# logged no error.
sub api_prepared {
    return unless $Preparer;
    my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $Preparer->error_log;
    $Preparer->stop;
    $Preparer = undef;
    die "the preparation's nginx logged:\n@bad\n" if @bad;
}

# api_config_import($clientId[, \%doc]): the account's configuration
# replaced by prefsctl config import: the document given (as the item
# bodies the API takes: {Programs => [...], ...}), else the demo
# configuration (conf/demo-config.json); the account's configuration
# generation after it.
sub api_config_import {
    my ($client, $doc) = @_;
    require JSON::PP;
    my $file = top() . '/conf/demo-config.json';
    if ($doc) {
        (my $fh, $file) = tempfile(UNLINK => 1);
        print $fh JSON::PP->new->utf8->canonical->encode($doc);
        close $fh;
    }
    my ($rc, $out) = prefsctl('config', 'import', $client, $file);
    die "config import into $client failed: $out\n" if $rc;
    return JSON::PP::decode_json($out)->{Generation};
}

# user_create($clientId, {UserName => ..., ...}): a user made by the SQL
# function behind POST Users, as a block's starting point; its id.
sub user_create {
    my ($client, $fields) = @_;
    require JSON::PP;
    my $row = psql("SELECT outcome || ' ' || user_id FROM prefs_user_create("
        . "(SELECT account_id FROM prefs_account WHERE client_id = :'c'), :'j')",
        c => $client, j => JSON::PP->new->utf8->canonical->encode($fields));
    my ($outcome, $id) = split ' ', $row;
    die "user_create $fields->{UserName}: $row\n" unless $outcome eq 'created';
    return $id;
}

1;
