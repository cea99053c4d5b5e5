package Test::Nginx::Util;

# Engine of the bundled, Test::Nginx::Socket-compatible test runner.
#
# This is an independent implementation that follows the behaviour of
# OpenResty's Test::Nginx::Util / Test::Nginx::Socket (CPAN "Test::Nginx")
# so that test files written for the real module run unchanged here.  It is
# only used when the real module is not installed (see t/README.md).

use strict;
use warnings;

our $VERSION = '0.29_01';

use base 'Exporter';

use POSIX qw( SIGQUIT SIGKILL SIGTERM WNOHANG );
use Errno qw( EAGAIN EWOULDBLOCK EINTR EINPROGRESS );
use File::Spec ();
use File::Path qw( make_path remove_tree );
use List::Util qw( shuffle min );
use Time::HiRes qw( sleep time );
use IO::Socket::INET ();
use Socket qw( SOCK_STREAM );
use Test::More ();
use Test::LongString ();
use Carp qw( croak );
use Config ();

our $MainPid = $$;
our $InSubprocess;

# ---------------------------------------------------------------------------
# global settings (same names and defaults as the real module)
# ---------------------------------------------------------------------------

our $Verbose        = $ENV{TEST_NGINX_VERBOSE};
our $RepeatEach     = 1;
our $NoShuffle      = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString;
our $LoadModules    = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind    = $ENV{TEST_NGINX_USE_VALGRIND};
our $Timeout        = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ServerAddr     = '127.0.0.1';
our $ServerName     = 'localhost';
our $WorkerUser     = $ENV{TEST_NGINX_WORKER_USER};
our $EventType      = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $Randomize      = $ENV{TEST_NGINX_RANDOMIZE};

our $NginxBinary            = $ENV{TEST_NGINX_BINARY};
our $Workers                = 1;
our $WorkerConnections      = 64;
our $LogLevel               = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled   = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled          = 'on';
our $ServerPort             = $ENV{TEST_NGINX_SERVER_PORT}
                              || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient    = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation         = 0;
our $TestNginxSleep         = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $NoNginxManager         = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $ConfigPreamble         = '';
our $FilterHttpConfig;

our (@CleanupHandlers, @TestCleanupHandlers, @BlockPreprocessors,
     @EnvToNginx);
# what the real module exports for its HUP, leak-check, benchmark and
# SystemTap modes, none of which this copy has
our ($PcreVersion, $UseStap, $CheckLeak, $Benchmark, $BenchmarkWarmup) =
    (undef, 0, 0, 0, 0);
our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion);
our ($PrevConfig, $PrevBlock, $ErrLogFilePos, $ChildPid);

# set by Test::Nginx::Socket
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);

sub gen_rand_port (;$$);
sub bail_out (@);

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

if ($UseValgrind) {
    $DaemonEnabled = 'off';
}

srand($$ ^ time);

if ($Randomize) {
    $ServerPort = gen_rand_port(1000);
    if (!defined $ServerPort) {
        die "Cannot find an available listening port number.\n";
    }
    $ServerPortForClient = $ServerPort;
}

our $ServRoot;
if ($Randomize) {
    $ServRoot = File::Spec->rel2abs("t/servroot_$ServerPort");
} else {
    $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                ? File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT})
                : File::Spec->rel2abs('t/servroot');
}
$ServRoot =~ s{/+$}{};
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $CacheDir   = File::Spec->catfile($ServRoot, 'cache');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $StartOutFile = File::Spec->catfile($LogDir, 'nginx-start.out');

our @EXPORT = qw(
    env_to_nginx
    is_str
    check_accum_error_log
    is_running
    $NoLongString
    no_long_string
    $ServerAddr
    server_addr
    $ServerName
    server_name
    parse_time
    verbose
    sleep_time
    bail_out
    add_cleanup_handler
    access_log_data
    error_log_data
    setup_server_root
    write_config_file
    get_canon_version
    get_nginx_version
    trim
    show_all_chars
    parse_headers
    run_tests
    get_pid_from_pidfile
    $ServerPortForClient
    $ServerPort
    $NginxVersion
    $PidFile
    $ServRoot
    $ConfFile
    $RunTestHelper
    $CheckErrorLog
    $CheckShutdownErrorLog
    $FilterHttpConfig
    $NoNginxManager
    $RepeatEach
    add_block_preprocessor
    timeout
    worker_connections
    workers
    master_on
    master_off
    config_preamble
    repeat_each
    master_process_enabled
    log_level
    no_shuffle
    no_root_location
    html_dir
    server_root
    server_port
    server_port_for_client
    no_nginx_manager
    skip_or_fail
    expand_env_in_text
    add_test_cleanup_handler
    is_tcp_port_used
    is_udp_port_used
    use_hup
    $PcreVersion
    $UseStap
    $CheckLeak
    $Benchmark
    $BenchmarkWarmup
);

# ---------------------------------------------------------------------------
# small configuration API
# ---------------------------------------------------------------------------

sub verbose ()    { $Verbose }
sub sleep_time () { $TestNginxSleep }
sub html_dir ()   { $HtmlDir }
sub server_root () { $ServRoot }

sub no_long_string ()    { $NoLongString = 1 }
sub no_shuffle ()        { $NoShuffle = 1 }
sub no_root_location ()  { $NoRootLocation = 1 }
sub no_nginx_manager ()  { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()         { $MasterProcessEnabled = 'on' }
sub master_off ()        { $MasterProcessEnabled = 'off' }
sub config_preamble ($)  { $ConfigPreamble = shift }

sub _getset {
    my $ref = shift;
    if (@_) { $$ref = shift; return $$ref }
    return $$ref;
}

sub server_addr (@)        { _getset(\$ServerAddr, @_) }
sub server_name (@)        { _getset(\$ServerName, @_) }
sub timeout (@)            { _getset(\$Timeout, @_) }
sub worker_connections (@) { _getset(\$WorkerConnections, @_) }
sub workers (@)            { _getset(\$Workers, @_) }
sub log_level (@)          { _getset(\$LogLevel, @_) }
sub repeat_each (@)        { _getset(\$RepeatEach, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }

sub server_port (@) {
    if (@_) {
        $ServerPort = shift;
        $ServerPortForClient = $ServerPort;
    }
    return $ServerPort;
}

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
    }
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" if !@_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

# run after each block, with the block
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub use_hup () {
    warn "WARNING: use_hup() is not supported by the bundled "
         . "Test::Nginx::Socket (t/lib); nginx is restarted instead\n";
}

sub _port_in_proc_net ($$) {
    my ($port, $file) = @_;
    open my $fh, '<', $file or die "Could not open $file: $!";
    while (my $line = <$fh>) {
        if ($line =~ /^ *\d+: [0-9A-F]+:([0-9A-F]+) / && hex($1) == $port) {
            return 1;
        }
    }
    return 0;
}

sub is_tcp_port_used ($) { _port_in_proc_net(shift, '/proc/net/tcp') }
sub is_udp_port_used ($) { _port_in_proc_net(shift, '/proc/net/udp') }

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub parse_time ($) {
    my $tm = shift;
    return undef if !defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm = $tm / 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    $s;
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        # Test::Base::is prints a Text::Diff for multi-line values
        # unless no_diff() was called
        return Test::Base::is($got, $expected, $desc);
    }
    return Test::LongString::is_string($got, $expected, $desc);
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;
    $tries ||= 1000;
    $used ||= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr,
            LocalPort => $port,
            Proto     => 'tcp',
        );
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

# ---------------------------------------------------------------------------
# process helpers
# ---------------------------------------------------------------------------

sub _proc_stat ($) {
    my $pid = shift;
    open my $in, '<', "/proc/$pid/stat" or return;
    my $line = <$in>;
    close $in;
    return unless defined $line;
    # pid (comm) state ppid ...
    if ($line =~ /\)\s+(\S)\s+(\d+)/) {
        return ($1, $2);
    }
    return;
}

# true if the process exists and is not a zombie
sub is_running ($) {
    my $pid = shift;
    return 0 if !defined $pid || $pid !~ /^\d+$/ || $pid <= 1;
    if (defined $ChildPid && $pid == $ChildPid) {
        # our own child (valgrind mode): reap it if it exited
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            undef $ChildPid;
            return 0;
        }
    }
    return 0 if !kill(0, $pid);
    if (-d "/proc/$pid") {
        my ($state) = _proc_stat($pid);
        return 0 if !defined $state || $state eq 'Z' || $state eq 'X';
    }
    return 1;
}

sub _child_pids ($) {
    my $ppid = shift;
    my @kids;
    opendir my $dh, '/proc' or return;
    while (my $e = readdir $dh) {
        next if $e !~ /^\d+$/;
        my ($state, $pp) = _proc_stat($e);
        next if !defined $pp;
        push @kids, $e if $pp == $ppid;
    }
    closedir $dh;
    return @kids;
}

sub _looks_like_nginx ($) {
    my $pid = shift;
    open my $in, '<', "/proc/$pid/cmdline" or return 1;   # no procfs: trust
    my $cmd = do { local $/; <$in> };
    close $in;
    return 1 if !defined $cmd || $cmd eq '';
    return 1 if index($cmd, $ServRoot) >= 0;
    return $cmd =~ /nginx|openresty|valgrind|memcheck/i;
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef if !defined $pid;
    $pid =~ s/\s+//g;
    return undef if $pid !~ /^\d+$/;
    return $pid;
}

sub _wait_gone ($$) {
    my ($pid, $secs) = @_;
    my $step = 0.005;
    my $deadline = time + $secs;
    while (is_running($pid)) {
        return 0 if time > $deadline;
        sleep $step;
        $step *= 1.5;
        $step = 0.05 if $step > 0.05;
    }
    return 1;
}

# Stop an nginx master (or single) process and everything it spawned.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;

    return if !is_running($pid);

    my @kids = _child_pids($pid);

    if ($Verbose) {
        warn "$name - sending QUIT to $pid (children: @kids)\n";
    }

    kill SIGQUIT, $pid;
    my $gone = _wait_gone($pid, $wait ? timeout() : 0.5);

    if (!$gone) {
        warn "$name - WARNING: timeout when waiting for the process $pid "
             . "to exit, sending TERM\n";
        push @kids, _child_pids($pid);
        kill SIGTERM, $pid;
        $gone = _wait_gone($pid, 1);
    }

    if (!$gone) {
        warn "$name - WARNING: killing the process $pid with force\n";
        push @kids, _child_pids($pid);
        kill SIGKILL, $pid;
        _wait_gone($pid, 1);
    }

    # workers / cache manager normally leave together with the master;
    # make sure none of them survived (e.g. the master was SIGKILLed)
    my %seen;
    my @left = grep { !$seen{$_}++ && is_running($_) && _looks_like_nginx($_) } @kids;
    if (@left) {
        _wait_gone($_, 0.5) for @left;
        @left = grep { is_running($_) } @left;
        if (@left) {
            warn "$name - WARNING: killing left-over nginx processes @left\n";
            kill SIGKILL, @left;
            _wait_gone($_, 1) for @left;
        }
    }
}

sub stop_nginx ($) {
    my $name = shift;
    my $pid = get_pid_from_pidfile($name);
    if (!defined $pid && defined $ChildPid) {
        $pid = $ChildPid;
    }
    if (defined $pid) {
        if (is_running($pid) && _looks_like_nginx($pid)) {
            kill_process($pid, 1, $name);
        }
    }
    if (defined $ChildPid) {
        if (is_running($ChildPid)) {
            kill_process($ChildPid, 1, $name);
        }
        waitpid($ChildPid, WNOHANG);
        undef $ChildPid;
    }
    if (-f $PidFile) {
        unlink $PidFile;
    }
}

sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, "cleanup");
        undef $ChildPid;
    }
}

# ---------------------------------------------------------------------------
# nginx version
# ---------------------------------------------------------------------------

sub can_run ($) {
    my ($cmd) = @_;
    return undef if !defined $cmd || $cmd eq '';
    if ($cmd =~ m{/}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir ((split /\Q$Config::Config{path_sep}\E/, $ENV{PATH} || ''),
                 '/usr/local/sbin', '/usr/sbin', '/sbin')
    {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub _find_nginx () {
    my $bin = $NginxBinary;
    if (!defined $bin || $bin eq '') {
        $bin = 'nginx';
    }
    my $path = can_run($bin);
    if (!defined $path) {
        bail_out("Cannot find the nginx executable \"$bin\" (set "
                 . "TEST_NGINX_BINARY or PATH)");
    }
    $NginxBinary = $path;
    return $path;
}

sub get_nginx_version () {
    my $bin = _find_nginx();
    my $out = `'$bin' -V 2>&1`;
    if (!defined $out || $? != 0) {
        $out //= '';
        bail_out("Failed to get the version of the nginx \"$bin\": $out");
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)}s) {
        $OpenSSLVersion = get_canon_version($1, $2, $3);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# ---------------------------------------------------------------------------
# server root, user files, nginx.conf
# ---------------------------------------------------------------------------

sub setup_server_root (;$) {
    if (-d $ServRoot) {
        # only remove what we create ourselves, so that a mis-used
        # TEST_NGINX_SERVROOT cannot wipe real data; anything else left in
        # the server root stops the whole run, as in the real module
        remove_tree($ConfDir, $HtmlDir, $LogDir, $CacheDir,
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }

    make_path($ServRoot) or bail_out("Failed to do mkdir $ServRoot\n");

    for my $d ($LogDir, $HtmlDir, $ConfDir) {
        mkdir $d or bail_out("Failed to do mkdir $d: $!\n");
    }

    my $index_file = "$HtmlDir/index.html";
    open my $out, '>', $index_file
        or bail_out("Can't open $index_file for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub expand_env_in_text ($$;$) {
    my ($text, $name) = @_;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        if (!defined $ENV{$1}) {
            bail_out("$name - No environment $1 defined.\n");
        }
        $ENV{$1};
    }eg;
    return $text;
}

sub _expand_env_deep ($$);
sub _expand_env_deep ($$) {
    my ($v, $name) = @_;
    return $v if !defined $v;
    if (!ref $v) {
        return expand_env_in_text($v, $name);
    }
    if (ref $v eq 'ARRAY') {
        return [ map { _expand_env_deep($_, $name) } @$v ];
    }
    if (ref $v eq 'HASH') {
        return { map { $_ => _expand_env_deep($v->{$_}, $name) } keys %$v };
    }
    return $v;   # Regexp, CODE, ...
}

sub write_user_files ($) {
    my ($block) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return if !$files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if defined $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if defined $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' if !defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            if (!-d $dir) {
                make_path($dir)
                    or bail_out("$name - Cannot create directory $dir");
            }
        }
        $body = expand_env_in_text($body, $name);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' '$path'";
            system($cmd) == 0
                or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

sub write_config_file ($$) {
    my ($block, $config) = @_;

    my $name = $block->name;
    my $http_config = $block->http_config;
    my $main_config = $block->main_config;
    my $post_main_config = $block->post_main_config;
    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name = $block->server_name;
    $server_name = $ServerName if !defined $server_name;

    $config = '' if !defined $config;
    $http_config = '' if !defined $http_config;
    $main_config = '' if !defined $main_config;
    $post_main_config = '' if !defined $post_main_config;

    $http_config = expand_env_in_text($http_config, $name);
    $main_config = expand_env_in_text($main_config, $name);
    $post_main_config = expand_env_in_text($post_main_config, $name);

    if ($FilterHttpConfig) {
        $http_config = $FilterHttpConfig->($http_config);
    }

    my $extra_http_config = '';
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        if ($PostponeOutput !~ /^\d+$/) {
            bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput\n");
        }
        $extra_http_config = "    postpone_output $PostponeOutput;\n";
    }

    my $load_modules = '';
    if ($LoadModules) {
        for my $m (grep { length } split /\s+/, $LoadModules) {
            $m = File::Spec->rel2abs($m) if $m !~ m{^/};
            $load_modules .= "load_module $m;\n";
        }
    }

    my $env = '';
    for my $v (qw( MOCKEAGAIN_VERBOSE MOCKEAGAIN
                   MOCKEAGAIN_WRITE_TIMEOUT_PATTERN LD_PRELOAD
                   LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES
                   DYLD_FORCE_FLAT_NAMESPACE ), @EnvToNginx)
    {
        my $e = $v;
        $e = "'$e'" if $e =~ /\s/;
        $env .= "env $e;\n";
    }

    (my $quoted_server_name = $server_name) =~ s/\\/\\\\/g;
    $quoted_server_name =~ s/'/\\'/g;

    my $root_location = '';
    if (!$NoRootLocation) {
        $root_location = <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    my $events_extra = $EventType ? "    use $EventType;\n" : '';

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        # workers must be able to read/write what root created
        $user = "user root;\n";
    }

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");

    print $out <<_EOC_;
${load_modules}worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;
$extra_http_config
$http_config

    server {
        listen          $ServerPort;
        server_name     '$quoted_server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
$events_extra}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
_EOC_

    close $out;
}


# ---------------------------------------------------------------------------
# response headers helpers
# ---------------------------------------------------------------------------

# "Name: value" lines -> list of [name, value]; "!Name" gives [name, undef]
sub parse_headers_ordered ($) {
    my $s = shift;
    my @list;
    return @list if !defined $s;
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            push @list, [$line, undef];
            next;
        }
        my ($key, $val) = split /\s*:\s*/, $line, 2;
        $val = '' if !defined $val;
        push @list, [$key, $val];
    }
    # a repeated name: the last value wins (like the real module's hash)
    my %last;
    $last{lc $list[$_][0]} = $_ for 0 .. $#list;
    return map { $list[$_] } grep { $last{lc $list[$_][0]} == $_ } 0 .. $#list;
}

sub parse_headers ($) {
    my %headers = map { @$_ } parse_headers_ordered(shift);
    return \%headers;
}

# ---------------------------------------------------------------------------
# error / access log
# ---------------------------------------------------------------------------

sub error_log_data () {
    # leave time for log-phase messages written after the response
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return [];
    if (!$CheckAccumErrLog && $ErrLogFilePos && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    if (!$CheckAccumErrLog) {
        $ErrLogFilePos = tell($in);
    }
    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub _tail_file ($$) {
    my ($file, $n) = @_;
    open my $in, '<', $file or return '';
    my @lines = <$in>;
    close $in;
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join '', @lines;
}

sub _slurp ($) {
    my $file = shift;
    open my $in, '<', $file or return '';
    local $/;
    my $s = <$in>;
    close $in;
    return defined $s ? $s : '';
}

sub check_if_missing_directives ($) {
    my $extra = shift;
    for my $text (_slurp($ErrLogFile), $extra) {
        next if !defined $text;
        if ($text =~ /\[emerg\] \S+?: unknown directive "([^"]+)"/) {
            return $1;
        }
    }
    return 0;
}

# ---------------------------------------------------------------------------
# starting nginx
# ---------------------------------------------------------------------------

# returns (1) on success or (0, $message) on failure
sub start_nginx ($) {
    my ($name) = @_;

    my $bin = $NginxBinary;
    my @args = ('-p', "$ServRoot/", '-c', $ConfFile);

    if (defined $NginxVersion && $NginxVersion >= 1.019005) {
        # send the messages logged before nginx.conf is parsed (e.g.
        # "[emerg] unknown directive") to our error.log too, whatever the
        # build's default error log is (Debian's is stderr)
        push @args, '-e', $ErrLogFile;
    }

    if ($UseValgrind) {
        my @vg;
        if ($UseValgrind =~ /^\d+$/) {
            @vg = ('valgrind', '--num-callers=100', '-q', '--tool=memcheck',
                   '--leak-check=full', '--show-possibly-lost=no',
                   '--gen-suppressions=all');
            push @vg, '--suppressions=valgrind.suppress'
                if -f 'valgrind.suppress';
        } else {
            @vg = ('valgrind', '-q', split(/\s+/, $UseValgrind));
        }
        warn "$name\n";

        my $pid = fork();
        if (!defined $pid) {
            bail_out("$name - fork() failed: $!");
        }
        if ($pid == 0) {
            $InSubprocess = 1;
            setpgrp(0, 0);
            open STDOUT, '>', '/dev/null';
            exec @vg, $bin, @args
                or do { warn "exec valgrind failed: $!\n"; POSIX::_exit(127) };
        }
        $ChildPid = $pid;

        # valgrind is slow to start: wait for the pid file
        my $deadline = time + 30;
        while (time < $deadline) {
            if (!is_running($pid)) {
                return (0, "nginx (under valgrind) exited during startup");
            }
            last if defined get_pid_from_pidfile($name);
            sleep 0.05;
        }
        sleep $TestNginxSleep;
        return (1);
    }

    my $cmd = join ' ', map { "'$_'" } $bin, @args;

    # stderr goes to a file: with "daemon on" the daemonized process keeps
    # stderr open until it has switched to error.log, so a pipe would block
    my $rc = system("$cmd >'$StartOutFile' 2>&1");
    my $status = $?;
    my $out = _slurp($StartOutFile);

    if ($rc == -1) {
        return (0, "failed to execute \"$cmd\": $!");
    }

    if ($status == 0) {
        if ($out =~ /\S/) {
            # nginx warnings: show them like the real module does
            print STDERR $out;
        }

        # with "daemon on" the pid file is written by the daemon shortly
        # after the launcher exits
        my $deadline = time + 5;
        while (!defined get_pid_from_pidfile($name)) {
            if (time > $deadline) {
                return (0, "nginx launched but $PidFile did not show up "
                           . "within 5 sec", $out);
            }
            sleep 0.005;
        }
        sleep $TestNginxSleep;
        return (1);
    }

    # no retry on "Address already in use": nginx itself retries bind()
    # for a few seconds before giving up
    my $msg = "nginx failed to start (exit code " . ($status >> 8) . ")";
    $out = "command: $cmd\n$out";
    if ($out =~ /Address already in use/) {
        $out .= "port $ServerPort is busy; set TEST_NGINX_PORT (or "
                . "TEST_NGINX_RANDOMIZE=1) to use another one\n";
    }
    return (0, $msg, $out);
}

sub _start_failure_details ($) {
    my $out = shift;
    my $s = '';
    if (defined $out && $out =~ /\S/) {
        $s .= "nginx output:\n$out";
        $s .= "\n" if $s !~ /\n\z/;
    }
    my $tail = _tail_file($ErrLogFile, 20);
    if ($tail =~ /\S/) {
        $s .= "tail of $ErrLogFile:\n$tail";
    }
    $s .= "config file: $ConfFile\n";
    return $s;
}

# ---------------------------------------------------------------------------
# pending failure (nginx could not be started): the first sub-test of the
# block becomes a failure, the others are skipped, so that the number of
# sub-tests stays the same as for a successful run
# ---------------------------------------------------------------------------

our $PendingFailure;
our $PendingFailureDiag;

sub skip_or_fail ($$) {
    my ($desc, $reason) = @_;
    my $tb = Test::More->builder;
    if (defined $PendingFailure) {
        my $msg = $PendingFailure;
        undef $PendingFailure;
        $tb->ok(0, $msg);
        if (defined $PendingFailureDiag) {
            $tb->diag($PendingFailureDiag);
            undef $PendingFailureDiag;
        }
        return;
    }
    $tb->skip("$desc - tests skipped due to $reason");
}

sub flush_pending_failure () {
    if (defined $PendingFailure) {
        my $tb = Test::More->builder;
        $tb->ok(0, $PendingFailure);
        $tb->diag($PendingFailureDiag) if defined $PendingFailureDiag;
        undef $PendingFailure;
        undef $PendingFailureDiag;
    }
}

# ---------------------------------------------------------------------------
# main loop
# ---------------------------------------------------------------------------

# $TEST_NGINX_* in sections other than the nginx configuration: the real
# module expands them in these two (and in response_body, see Socket.pm),
# nowhere else; a suite that relied on more would break under it.
our @ExtraExpandSections = qw(pipelined_requests grep_error_log_out);

sub _install_signal_handlers () {
    for my $sig (qw(INT TERM HUP)) {
        next if defined $SIG{$sig} && $SIG{$sig} ne '' && $SIG{$sig} ne 'DEFAULT';
        $SIG{$sig} = sub {
            return if $$ != $MainPid;
            warn "caught SIG$sig, stopping nginx...\n";
            stop_nginx("SIG$sig") unless $ENV{TEST_NGINX_NO_CLEAN};
            cleanup();
            POSIX::_exit(128 + ($sig eq 'INT' ? 2 : $sig eq 'HUP' ? 1 : 15));
        };
    }
}

sub run_tests () {
    $NginxVersion = get_nginx_version();

    if (!defined $ENV{TEST_NGINX_SERVER_PORT}) {
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    }

    _install_signal_handlers();

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks if !$NoShuffle;

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);

        $PrevBlock = $block;
    }

    cleanup();
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;
    return if !defined $block;
    return if !defined $block->shutdown_error_log
              && !defined $block->no_shutdown_error_log;
    return if $block->{_shutdown_checked};
    $block->{_shutdown_checked} = 1;
    my $dry_run = $ENV{TEST_NGINX_NO_CLEAN} ? 'TEST_NGINX_NO_CLEAN' : 0;
    $CheckShutdownErrorLog->($block, $dry_run) if $CheckShutdownErrorLog;
}

sub _parse_skip_spec ($$) {
    my ($block, $name) = @_;

    my ($tests_to_skip, $should_skip, $skip_reason);

    if (defined(my $skip_eval = $block->skip_eval)) {
        if ($skip_eval =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            $tests_to_skip = $1;
            $skip_reason = "skip_eval";
            my $code = $2;
            $should_skip = eval "package main; $code";
            if ($@) {
                bail_out("$name - skip_eval - failed to eval the Perl code "
                         . "\"$code\": $@");
            }
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                       (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $skip_reason = $6 || "nginx version $op $3.$4.$5";
            if (eval "$NginxVersion $op $ver") {
                $should_skip = 1;
            }
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $spec");
        }

    } elsif (defined(my $spec2 = $block->skip_nginx2)) {
        if ($spec2 =~ m{^\s*(\d+)\s*:\s*
                        ([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)\s*
                        ([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                        (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($opa, $vera) = ($2, get_canon_version($3, $4, $5));
            my $opx = $6;
            my ($opb, $verb) = ($7, get_canon_version($8, $9, $10));
            $skip_reason = $11;
            my $ca = eval "$NginxVersion $opa $vera";
            my $cb = eval "$NginxVersion $opb $verb";
            if ($opx eq "or" ? ($ca || $cb) : ($ca && $cb)) {
                $should_skip = 1;
            }
        } else {
            bail_out("$name - Invalid --- skip_nginx2 spec: $spec2");
        }
    }

    if (defined(my $spec = $block->skip_openssl)) {
        if ($spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)[a-z]?
                       (?:\s*:\s*(.*))?\s*$}x)
        {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $skip_reason = $6 || (defined $OpenSSLVersion
                                  ? "OpenSSL version $op $3.$4.$5"
                                  : "Not built with OpenSSL");
            if (!defined $OpenSSLVersion
                || eval "$OpenSSLVersion $op $ver")
            {
                $should_skip = 1;
            }
        } else {
            bail_out("$name - Invalid --- skip_openssl spec: $spec");
        }
    }

    $skip_reason = "various reasons" if !defined $skip_reason;

    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        if ($todo =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            $should_todo = 1;
            $tests_to_skip = $1;
            $todo_reason = $2;
        } else {
            bail_out("$name - Invalid --- todo spec: $todo");
        }
    }
    $todo_reason = "various reasons" if !defined $todo_reason;

    return ($tests_to_skip, $should_skip, $skip_reason,
            $should_todo, $todo_reason);
}

sub run_test ($) {
    my $block = shift;

    return if defined $block->SKIP;

    my $name = $block->name;

    for my $sec (qw(tcp_listen udp_listen stap http2 http3 curl
                    reload_fails))
    {
        if (defined $block->$sec) {
            warn "WARNING: $name - section --- $sec is not supported by "
                 . "the bundled Test::Nginx::Socket (t/lib); ignored\n";
        }
    }

    # $TEST_NGINX_* expansion in the request/response sections
    for my $sec (@ExtraExpandSections) {
        my $v = $block->$sec;
        next if !defined $v;
        my $nv = _expand_env_deep($v, $name);
        $block->set_value($sec, $nv);
    }

    my $config = $block->config;
    $config = expand_env_in_text($config, $name);

    local $LogLevel = $LogLevel;
    if ($block->log_level) {
        $LogLevel = $block->log_level;
        $LogLevel =~ s/^\s+|\s+$//g;
    }

    my $dry_run = 0;
    my $should_restart = 1;

    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        # keep using the nginx started for the previous block
        $should_restart = 0;

    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        $should_restart = 0;
    }

    my ($tests_to_skip, $should_skip, $skip_reason,
        $should_todo, $todo_reason) = _parse_skip_spec($block, $name);

    my $must_die = $block->must_die;

    undef $PendingFailure;
    undef $PendingFailureDiag;

    if (defined $must_die) {
        stop_nginx($name);
        check_prev_block_shutdown_error_log();
        $PrevConfig = $config;
        for my $i (0 .. $RepeatEach - 1) {
            setup_server_root();
            write_user_files($block);
            write_config_file($block, $config);
            $ErrLogFilePos = 0;
            my ($ok, $msg, $out) = start_nginx($name);
            if ($ok) {
                Test::More::fail("$name - nginx must die but it does not");
                stop_nginx($name);
            } else {
                my $code;
                if ($msg =~ /exit code (\d+)/) {
                    $code = $1;
                }
                if ($must_die =~ /^\s*(\d+)\s*$/) {
                    Test::More::is($code, $1,
                                   "$name - die with the expected exit code");
                } else {
                    Test::More::ok(1, "$name - die as expected");
                }
            }
            $CheckErrorLog->($block, undef, 0, $i, 0);
        }
        return;
    }

    if (!$NoNginxManager && !$should_skip && $should_restart) {
        $PrevConfig = $config;

        stop_nginx($name);
        check_prev_block_shutdown_error_log();

        setup_server_root();
        write_user_files($block);
        write_config_file($block, $config);

        $ErrLogFilePos = 0;
        my ($ok, $msg, $out) = start_nginx($name);
        if (!$ok) {
            my $directive;
            if ($ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES}
                and $directive = check_if_missing_directives($out))
            {
                $dry_run = "the lack of directive $directive";
            } else {
                $dry_run = "nginx failed to start";
                $PendingFailure = "$name - $msg";
                $PendingFailureDiag = _start_failure_details($out);
            }
        }
    }

    if ($block->init && !$dry_run) {
        my $code = $block->init;
        eval "package main;\n#line 1 \"--- init\"\n$code\n;1"
            or bail_out("$name - init failed: $@");
    }

    my $i = 0;
    $ErrLogFilePos = 0;
    while ($i++ < $RepeatEach) {
        if ($Verbose) {
            warn "Run the test block $name ...\n";
        }

        if ($i > 1 && !$dry_run && !$should_skip) {
            write_user_files($block);
        }

        my $tb = Test::More->builder;

        if ($should_skip && defined $tests_to_skip) {
            for (1 .. $tests_to_skip) {
                $tb->skip("$name - $skip_reason");
            }

        } elsif ($should_todo) {
            for (1 .. $tests_to_skip) {
                $tb->todo_skip("$name - $todo_reason");
            }

        } elsif ($should_skip) {
            # skip condition without a count: nothing we can do but run it
            $RunTestHelper->($block, $dry_run, $i - 1);

        } else {
            $RunTestHelper->($block, $dry_run, $i - 1);
        }
    }

    flush_pending_failure();

    if (my $total_errlog = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile) {
            if (open my $out, '>>', $total_errlog) {
                print $out "\n=== $0 $name\n", _slurp($ErrLogFile);
                close $out;
            }
        }
    }

    for my $hdl (@TestCleanupHandlers) {
        $hdl->($block);
    }
}

END {
    return if $InSubprocess || !defined $MainPid || $$ != $MainPid;

    my $saved = $?;

    cleanup();

    if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
        stop_nginx("END");
    }

    check_prev_block_shutdown_error_log();

    if ($Randomize && defined $ServRoot && -d $ServRoot
        && $ServRoot =~ m{/t/servroot_\d+$})
    {
        remove_tree($ServRoot);
    }

    $? = $saved;
}

1;

# ---------------------------------------------------------------------------
# minimal HTTP response object (subset of HTTP::Response used by the tests)
# ---------------------------------------------------------------------------

package Test::Nginx::Util::Response;

sub new {
    my ($class, $code, $msg, $headers, $content) = @_;
    return bless {
        code => $code, message => $msg,
        headers => $headers || [], content => $content,
    }, $class;
}

sub parse {
    my ($class, $raw) = @_;
    $raw = '' if !defined $raw;

    my ($head, $body);
    if ($raw =~ /\A(.*?)\r?\n\r?\n(.*)\z/s) {
        ($head, $body) = ($1, $2);
    } else {
        ($head, $body) = ($raw, '');
    }

    my @lines = split /\r?\n/, $head;
    my $status = @lines ? shift @lines : '';
    my ($proto, $code, $msg);
    if ($status =~ m{^(HTTP/\d+(?:\.\d+)?)[ \t]+(\d+)(?:[ \t]+(.*))?$}) {
        ($proto, $code, $msg) = ($1, $2, $3);
    }

    my @headers;
    for my $line (@lines) {
        if ($line =~ /^[ \t]+(.*)/ && @headers) {
            $headers[-1][1] .= " $1";   # obsolete line folding
            next;
        }
        if ($line =~ /^([^:]+?)[ \t]*:[ \t]*(.*?)[ \t]*$/) {
            push @headers, [$1, $2];
        }
    }

    my $self = $class->new($code, $msg, \@headers, $body);
    $self->{protocol} = $proto;
    $self->{status_line} = $status;
    return $self;
}

sub code {
    my $self = shift;
    $self->{code} = shift if @_;
    return $self->{code};
}

sub message { $_[0]{message} }
sub protocol { $_[0]{protocol} }
sub status_line { $_[0]{status_line} }
sub is_success { my $c = $_[0]{code}; defined $c && $c =~ /^2/ }

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

sub decoded_content { $_[0]{content} }

# header values of the same name are joined with ", " (HTTP::Headers style)
sub header {
    my ($self, $name) = @_;
    my @vals = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $self->{headers} };
    return wantarray ? @vals : undef if !@vals;
    return wantarray ? @vals : join(', ', @vals);
}

sub headers_list { @{ $_[0]{headers} } }

1;
