# A query that runs past prefs_db_query_timeout stops in PostgreSQL, not
# only in the module: the module starts every pool connection with
# statement_timeout just under the query timeout, so that a request held
# by a lock answers 503 and leaves no backend behind still waiting for the
# lock, to take it and write once it is free (issue 16, finding 2).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = api_account('QueryTimeoutCo');
api_user($client, 'admin', 'Administrators');

my $ng = PrefsTest::start_nginx(name => 'query-timeout', workers => 1,
    http_config => 'prefs_db_query_timeout 1s;');
my %auth = (Authorization => pnauth($client, 'admin', PrefsTest::api_secret($client, 'admin')),
            'Content-Type' => 'application/json');

sub update {
    my ($id, $name) = @_;
    my $t0 = time;
    my ($st, $h, $raw) = $ng->request(method => 'POST', path => "/Profiles/v4/$client/Profile/$id",
                                      headers => \%auth, body => encode_json({ CustomerName => { FirstName => $name } }));
    return ($st, $h, $raw, time - $t0);
}

my ($st, $h, $raw) = $ng->request(method => 'POST', path => "/Profiles/v4/$client/Profile",
                                  headers => \%auth, body => encode_json({ CustomerName => { FirstName => 'Before' } }));
is($st, 201, 'a profile') or diag $raw;
my $id = (eval { decode_json($raw) } || {})->{ProfileId} // '';
like($id, qr/^\d+$/, 'with a ProfileId');

# another session holds the profile's row lock
my $app = "t041-holder-$$";
local $ENV{PGAPPNAME} = $app;
open(my $holder, '|-', 'psql', '-X', '-q', '-o', '/dev/null', PrefsTest::db()) or die "psql: $!";
$holder->autoflush(1);
print $holder "BEGIN;\nSELECT 1 FROM prefs_profile WHERE profile_id = $id FOR UPDATE;\n";
ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = :'a'"
                               . " AND state = 'idle in transaction'", a => $app) == 1 }, 10),
   'another session holds the profile row lock');

my $took;
($st, $h, $raw, $took) = update($id, 'Blocked');
is($st, 503, 'a write held by the lock past the query timeout is 503') or diag $raw;
like((eval { decode_json($raw) } || {})->{Message} // '', qr/timed out/, 'saying the query timed out');
ok($h->{'retry-after'}, 'with Retry-After');
cmp_ok($took, '<', 2, 'within the query timeout');

# the timed-out write, had it kept running, would still wait for the
# holder's lock: count the backends the holder blocks (not every backend
# waiting for a lock or writing a profile, which other suites sharing the
# database do at any time)
my $waiting = "SELECT count(*) FROM pg_stat_activity w, pg_stat_activity h"
            . " WHERE h.application_name = :'a' AND w.pid <> h.pid"
            . " AND h.pid = ANY (pg_blocking_pids(w.pid))";
ok(wait_until(sub { psql_value($waiting, a => $app) == 0 }, 1),
   'no backend is left running or waiting for the lock within a second')
    or diag psql("SELECT pid, state, wait_event_type, query FROM pg_stat_activity WHERE datname = current_database()");

# the server side ended too: once the lock is free nothing writes behind it
print $holder "COMMIT;\n";
close $holder;
sleep 0.5;
is(psql_value("SELECT first_name FROM prefs_profile WHERE profile_id = :'id'", id => $id), 'Before',
   'the timed-out write did not happen after the lock was released');

($st, $h, $raw) = update($id, 'After');
is($st, 200, 'the next write to the profile succeeds at once') or diag $raw;
is(psql_value("SELECT first_name FROM prefs_profile WHERE profile_id = :'id'", id => $id), 'After',
   'and lands');

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');
like($ng->error_log, qr/timed out/, 'the timeout was logged');
$ng->stop;
done_testing();
