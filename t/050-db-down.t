# The database goes away and comes back: 503 with Retry-After and a Message
# within the connect timeout, then service resumes without touching nginx.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): stops the database every suite shares
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = make_account('down');
my $secret = make_user($client, 'ops', 'Administrators');
sub auth { { Authorization => pnauth($client, 'ops', $secret) } }

my $ng = PrefsTest::start_nginx(name => 'dbdown',
    http_config => 'prefs_db_connect_timeout 2s; prefs_db_connections 4;');

my ($st, $h, $body) = $ng->request(path => '/prefs/status');
is($st, 200, 'status is 200 with the database up');

($st, $h, $body) = $ng->request(path => "/Profiles/v4/$client/Users", headers => auth());
is($st, 200, 'an authenticated request is served while the database is up');

pg_stop();

for my $path ('/prefs/status', "/Profiles/v4/$client/Users") {
    my $t0 = time;
    ($st, $h, $body) = $ng->request(path => $path, headers => auth());
    my $took = time - $t0;
    is($st, 503, "$path: 503 with the database down");
    ok($h->{'retry-after'}, "$path: Retry-After is set");
    like($h->{'content-type'} // '', qr{^application/json}, "$path: JSON body");
    my $j = eval { decode_json($body) } || {};
    like($j->{Message} // '', qr/database/i, "$path: the Message says why");
    cmp_ok($took, '<', 2.5, "$path: answered within the connect timeout");
}

pg_start();

my $ok = wait_until(sub {
    my ($s) = $ng->request(path => "/Profiles/v4/$client/Users", headers => auth());
    $s == 200;
}, 15);
ok($ok, 'service resumes by itself once the database is back');

($st, $h, $body) = $ng->request(path => '/prefs/status');
is($st, 200, 'status is 200 again');
my $j = eval { decode_json($body) } || {};
ok($j->{Database}{Reachable}, 'the database is reachable again');

# the helper's LISTEN connection comes back too: a job runs at once
my $id = psql_value("INSERT INTO prefs_job (job_type, payload) VALUES ('prefs.echo', '{\"value\":1}') RETURNING job_id");
ok(wait_until(sub { psql_value("SELECT state FROM prefs_job WHERE job_id = :'id'", id => $id) eq 'done' }, 5),
   'the helper runs jobs again after the database came back');

my $log = $ng->error_log;
unlike($log, qr/\[(alert|crit|emerg)\]/, 'nothing worse than an error was logged');
$ng->stop;

done_testing();
