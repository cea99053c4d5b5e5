# conf/edge.conf, the sample of docs/edge.md, is a configuration nginx
# takes: with this checkout's module, the test database and key, local
# paths and a free port, "nginx -t" accepts it, and the running nginx
# redirects a visitor without a token away from /offers/ to the
# preference-center page it serves.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = PrefsTest::top();
my $root = "$top/t/servroot-edge-conf";
remove_tree($root);
make_path("$root/conf", "$root/logs", "$root/spool");

open(my $in, '<', "$top/conf/edge.conf") or die "conf/edge.conf: $!";
my $conf = do { local $/; <$in> };
close $in;

my $port = free_port();
my ($module) = grep { /prefs/ } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
$module //= "$top/build/ngx_http_prefs_module.so";
my %swap = (
    'modules/ngx_http_prefs_module.so'                 => $module,
    '"host=/run/postgresql dbname=prefs user=prefs"'   => '"' . PrefsTest::db() . '"',
    '/etc/nginx/prefs-secret.key'                      => $ENV{TEST_NGINX_PREFS_KEY},
    '/var/lib/nginx/prefs'                             => "$root/spool",
    '/var/log/nginx/'                                  => "$root/logs/",
    '/usr/share/ngx-prefs/preference-center/'          => "$top/html/preference-center/",
    'listen       80;'                                 => "listen 127.0.0.1:$port;",
);
for my $from (sort keys %swap) {
    my $n = () = $conf =~ /\Q$from\E/g;
    ok($n, "conf/edge.conf has $from");
    $conf =~ s/\Q$from\E/$swap{$from}/g;
}
$conf =~ s/^(worker_processes.*)$/$1\npid $root\/logs\/nginx.pid;\n${\ ($> == 0 ? 'user root;' : '')}/m;
open(my $out, '>', "$root/conf/nginx.conf") or die $!;
print $out $conf;
close $out;

my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $t = `$bin -t -p $root/ -c conf/nginx.conf 2>&1`;
is($?, 0, 'nginx -t accepts conf/edge.conf') or diag $t;

system($bin, '-p', "$root/", '-c', 'conf/nginx.conf') == 0 or BAIL_OUT('nginx did not start');
ok(wait_until(sub { -s "$root/logs/nginx.pid" }, 10), 'nginx runs it');

my ($st, $h) = http_request(port => $port, path => '/offers/spring');
is($st, 302, 'an unknown visitor of /offers/ is redirected');
like($h->{location} // '', qr{^https://www\.example\.com/preferences/\?c=acme&consent=Marketing$},
     'to the preference center, with Marketing pre-selected');

($st) = http_request(port => $port, path => '/preferences/index.html');
is($st, 200, 'which nginx serves');

chomp(my $pid = `cat $root/logs/nginx.pid`);
kill 'QUIT', $pid if $pid;
wait_until(sub { !kill 0, $pid }, 10);
remove_tree($root) if Test::More->builder->is_passing;

done_testing;
