# The Debian package (make deb, debian/) installed into this machine's
# stock nginx: dpkg -i (apt-get -f install for what is missing), the module
# enabled the Debian way, the installed prefsctl migrating a throwaway
# database from /usr/share/ngx-prefs/sql (prefsctl fixture), the stock
# /usr/sbin/nginx (own prefix and port, not the system service) loading the
# module through /etc/nginx/modules-enabled and answering a request signed
# by the installed Test::Nginx::Prefs; then a purge that leaves nothing.
#
# Runs only as root on a Debian system with dpkg-buildpackage and dh_nginx
# (make deps installs them), and only when the package is not installed
# already (an operator's installation is left alone); otherwise it skips,
# saying why.  Whatever fails, the package is purged and the nginx stopped
# on the way out.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): building the
# package keeps both cores busy for a minute, which the timing checks of
# the suites beside it would feel.
use strict;
use warnings;
use lib 't';
use Test::More;
use File::Path qw(make_path remove_tree);
use PrefsTest qw(free_port http_request wait_until);

my $PKG = 'libnginx-mod-http-prefs';
my $top = PrefsTest::top();

sub have { my $c = shift; system("command -v $c >/dev/null 2>&1") == 0 }

# dpkg knows the package in some state (installed, unpacked, config-files ...)
sub pkg_known {
    my $s = `dpkg-query -W -f='\${Status}' $PKG 2>/dev/null`;
    return $s ne '' && $s !~ /not-installed$/ ? $s : '';
}

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return scalar <$fh>;
}

plan skip_all => 'the package test installs into the system: it runs as root only (CI runs as root)'
    unless $> == 0;
plan skip_all => "the package test needs $_ (make deps installs it)"
    for grep { !have($_) } qw(dpkg dpkg-query dpkg-buildpackage dh_nginx);
# one package test on the machine at a time (two checkouts' make test): the
# second waits for the first to have purged the package
use Fcntl qw(:flock);
open(my $machine_lock, '>', '/var/lock/ngx-prefs-package-test.lock') or die "lock file: $!";
flock($machine_lock, LOCK_EX) or die "flock: $!";

plan skip_all => "$PKG is installed on this machine: the test would replace and purge it, so it leaves it alone"
    if pkg_known();
plan skip_all => '/usr/sbin/nginx (the stock nginx) is missing'
    unless -x '/usr/sbin/nginx';

my $root = "$top/t/servroot-package";
my ($nginx_pid, $installed, $fixture);

sub sh {    # (exit code, output and errors)
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

# dpkg allows one user at a time: wait (up to two minutes) for another
sub dpkg_locked {
    my ($cmd) = @_;
    my ($rc, $out);
    for (1 .. 60) {
        ($rc, $out) = sh($cmd);
        last unless $rc && $out =~ /lock/i && $out =~ /dpkg|frontend/i;
        sleep 2;
    }
    return ($rc, $out);
}

sub stop_nginx {
    return unless $nginx_pid;
    kill 'QUIT', $nginx_pid;
    wait_until(sub { !kill(0, $nginx_pid) }, 10) or kill 'KILL', $nginx_pid;
    $nginx_pid = undef;
}

sub purge {
    return unless $installed;
    $installed = 0;
    my ($rc, $out) = dpkg_locked("dpkg --purge $PKG");
    diag("dpkg --purge $PKG failed: $out") if $rc;
}

my $cleaning;
sub cleanup {
    return if $cleaning++;
    stop_nginx();
    if ($fixture && -d $fixture) {
        sh("/usr/bin/prefsctl fixture drop '$fixture'") if -x '/usr/bin/prefsctl';
        sh("'$top/tools/prefsctl' --db '$ENV{TEST_NGINX_PREFS_DATABASE}' fixture drop '$fixture'") if -d $fixture;
    }
    purge();
}
END { cleanup(); remove_tree($root) if Test::More->builder->is_passing }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };

remove_tree($root);
make_path("$root/logs", "$root/conf");

# --- the build ----------------------------------------------------------------

my ($rc, $out) = sh("'$top/scripts/deb.sh' '$root/deb'");
unless (is($rc, 0, 'make deb builds the package')) {
    diag("deb.sh: $out");
    done_testing();
    exit 1;
}
my ($deb) = $out =~ m{^built (\S+\.deb)$}m;
ok($deb && -f $deb, "the package file: $out");
like($deb, qr{/${PKG}_[0-9][^_]*_[a-z0-9]+\.deb$}, 'named libnginx-mod-http-prefs_<version>_<arch>.deb');
my $depends = `dpkg-deb -f '$deb' Depends`;
like($depends, qr/\bnginx-abi-[0-9.]+-\d+\b/, 'it depends on the nginx ABI it was built for');
like($depends, qr/\blibpq5\b/, 'on libpq5 (shlibs)');
like($depends, qr/\blibjansson4\b/, 'on libjansson4 (shlibs)');

# --- installing --------------------------------------------------------------------

my ($stock_ok) = sh('/usr/sbin/nginx -t -q');
$installed = 1;
($rc, $out) = dpkg_locked("dpkg -i '$deb'");
if ($rc) {
    diag("dpkg -i: $out; apt-get -f install");
    ($rc, $out) = sh('DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q -o DPkg::Lock::Timeout=120');
}
is($rc, 0, 'dpkg -i installs it') or diag($out);
is(pkg_known(), 'install ok installed', 'dpkg says installed');

ok(-f '/usr/lib/nginx/modules/ngx_http_prefs_module.so', 'the module is in /usr/lib/nginx/modules');
my $conf = '/usr/share/nginx/modules-available/mod-http-prefs.conf';
like(slurp($conf), qr/^load_module modules\/ngx_http_prefs_module\.so;$/m,
     "$conf loads it");
my $enabled = '/etc/nginx/modules-enabled/50-mod-http-prefs.conf';
is(readlink($enabled), $conf, "enabled the Debian way: $enabled -> $conf");
ok(-x "/usr/bin/$_", "/usr/bin/$_") for qw(prefsctl prefs-secret);
ok(-f '/usr/share/ngx-prefs/sql/migrations/001_foundation.sql', 'the migrations in /usr/share/ngx-prefs/sql');
ok(-f '/usr/share/ngx-prefs/sql/functions/manifest', 'the functions in /usr/share/ngx-prefs/sql');
ok(-f '/usr/share/ngx-prefs/preference-center/app.js', 'the preference center in /usr/share/ngx-prefs');
ok(-f "/usr/share/doc/$PKG/examples/production.conf", 'the sample configuration');
is(`perl -MTest::Nginx::Prefs -e 'print \$INC{"Test/Nginx/Prefs.pm"}'`, '/usr/share/perl5/Test/Nginx/Prefs.pm',
   'Test::Nginx::Prefs is on perl\'s path from /usr/share/perl5');
if ($stock_ok == 0) {
    my ($t, $o) = sh('/usr/sbin/nginx -t -q');
    is($t, 0, "the machine's nginx configuration still passes nginx -t, the module loaded") or diag($o);
}

# --- a database migrated by the installed prefsctl ---------------------------------

delete local $ENV{PREFS_SECRET_TOOL};
my $fx_dir = "$root/fixture";
($rc, $out) = sh("/usr/bin/prefsctl --db '$ENV{TEST_NGINX_PREFS_DATABASE}' fixture create --dir '$fx_dir'");
$fixture = $fx_dir if -d $fx_dir;
is($rc, 0, 'the installed prefsctl makes a fixture (migrate, account, user) from /usr/share/ngx-prefs') or diag($out);
my %env = $out =~ /^export (\w+)='([^']*)'$/mg;
is($env{TEST_NGINX_LOAD_MODULES}, '/usr/lib/nginx/modules/ngx_http_prefs_module.so', 'it names the packaged module');

($rc, $out) = sh("/usr/bin/prefsctl --db '$env{PREFS_DATABASE}' migrate");
my @versions = map { /^(\d+)_/ ? $1 + 0 : () } map { s{.*/}{}r } glob("$top/sql/migrations/*.sql");
my ($latest) = sort { $b <=> $a } @versions;
like($out, qr/^\{"applied" *: *\[\], *"version" *: *$latest\}$/, "prefsctl migrate again: nothing to apply, version $latest")
    or diag("exit $rc: $out");

# --- the stock nginx with the packaged module -----------------------------------------

symlink('/usr/lib/nginx/modules', "$root/modules") or die "symlink: $!";
my $port = free_port();
open my $fh, '>', "$root/conf/nginx.conf" or die $!;
print $fh <<"CONF";
include $enabled;
user root;
daemon on;
master_process on;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    include $env{TEST_NGINX_PREFS_HTTP_CONF};
    prefs_helper off;
    server {
        listen 127.0.0.1:$port;
        location = /prefs/status { prefs_api status; }
        location /Profiles/v4/ { prefs_api v4; }
    }
}
CONF
close $fh;
($rc, $out) = sh("/usr/sbin/nginx -p '$root/' -c conf/nginx.conf -e logs/error.log");
is($rc, 0, 'the stock /usr/sbin/nginx starts with the packaged module') or diag($out);
wait_until(sub { -s "$root/logs/nginx.pid" }, 10);
($nginx_pid) = slurp("$root/logs/nginx.pid") =~ /(\d+)/;
wait_until(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) }, 10);

my ($st, $h, $body) = http_request(port => $port, path => '/prefs/status');
is($st, 200, 'GET /prefs/status: 200');
like($body, qr/"Reachable":true,"SchemaVersion":$latest\b/, 'the database reachable, at the packaged schema version');

my $path = "/Profiles/v4/$env{TEST_NGINX_PREFS_CLIENT_ID}/Programs";
($st) = http_request(port => $port, path => $path);
is($st, 401, 'unsigned: 401');

# the signature by the installed Perl module, in a perl of its own (only
# /usr/share/perl5 on its path, the fixture's environment)
my $auth = do {
    local @ENV{keys %env} = values %env;
    delete local $ENV{PERL5LIB};
    `perl -MTest::Nginx::Prefs -e 'print Test::Nginx::Prefs::sign()'`;
};
like($auth, qr/^PNAUTHINFO3-HMAC-SHA256 Credential=\S+ Signature=\S+$/, 'Test::Nginx::Prefs::sign() signs');
($st, $h, $body) = http_request(port => $port, path => $path,
                                headers => { Authorization => $auth, 'Accept-Language' => 'de-DE' });
is($st, 200, 'signed by Test::Nginx::Prefs: 200') or diag($body);
is($h->{'content-language'}, 'de-DE', 'localized');
like($body, qr/"Programs":\[/, 'the programs of the demo configuration');

my $log = slurp("$root/logs/error.log");
unlike($log, qr/\[(error|alert|crit|emerg)\]/, 'nothing in the error log');
stop_nginx();

# a user's suite as docs/testing.md runs it: the packaged example, the
# packaged bundled runner, the packaged module, the fixture's environment
{
    my $user = "$root/user";
    make_path("$user/t");
    my $example = "/usr/share/doc/$PKG/examples/t/prefs-example.t";
    system('cp', $example, "$user/t/") == 0 or die "cp $example: $?";
    local @ENV{keys %env} = values %env;
    local $ENV{TEST_NGINX_BINARY} = '/usr/sbin/nginx';
    delete local @ENV{qw(PERL5LIB TEST_NGINX_SERVROOT)};
    local $ENV{TEST_NGINX_RANDOMIZE} = 1;
    my ($r, $o) = sh("cd '$user' && prove -I /usr/share/ngx-prefs/test-lib t/");
    is($r, 0, 'the packaged example suite passes with the packaged runner and module') or diag($o);
}

# --- purging ----------------------------------------------------------------------

($rc, $out) = sh("/usr/bin/prefsctl fixture drop '$fx_dir'");
is($rc, 0, 'the installed prefsctl drops the fixture') or diag($out);
ok(!-e $fx_dir, 'the fixture directory is gone');

$installed = 0;
($rc, $out) = dpkg_locked("dpkg --purge $PKG");
is($rc, 0, 'dpkg --purge') or diag($out);
is(pkg_known(), '', 'dpkg knows it no more');
ok(!-e $_ && !-l $_, "$_ is gone")
    for '/usr/lib/nginx/modules/ngx_http_prefs_module.so', $conf, $enabled, "$enabled.removed",
        '/usr/bin/prefsctl', '/usr/bin/prefs-secret', '/usr/share/ngx-prefs',
        '/usr/share/perl5/Test/Nginx/Prefs.pm', "/usr/share/doc/$PKG";
if ($stock_ok == 0) {
    my ($t, $o) = sh('/usr/sbin/nginx -t -q');
    is($t, 0, "the machine's nginx configuration passes nginx -t after the purge") or diag($o);
}

done_testing();
