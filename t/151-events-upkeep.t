# The helper's partition upkeep with prefs_event_history_days: partitions
# made ahead, old ones dropped (and DEFAULT rows older than the window), the
# run shown by /prefs/status; a helper killed and respawned, and a reload,
# run it again.  (A killed helper and a reload: no Test::Nginx block can.)
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(strftime);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

# A database of its own: the suite drops and attaches partitions of
# prefs_event, which the upkeep of the other suites' nginx (run beside it by
# prove -j) must not meet.
(my $own = db()) =~ s/dbname=\S+/dbname=prefs_upkeep/ or die "no dbname in the conninfo\n";
psql("SET client_min_messages = warning; DROP DATABASE IF EXISTS prefs_upkeep");
psql("CREATE DATABASE prefs_upkeep");
$ENV{TEST_NGINX_PREFS_DATABASE} = $own;
my ($rc, $out) = prefsctl('migrate');
is($rc, 0, 'a database of its own, migrated') or BAIL_OUT($out);

# --- partition upkeep when the helper starts ---------------------------------------

my @day = map { strftime('%Y%m%d', gmtime(time + 86400 * $_)) } 0 .. 7;

# the migration made them: take the last away (it is empty) so that only the
# helper can bring it back; and an old partition, outside any window, with
# an event in it
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p$day[7]");
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p20200101");
psql("CREATE TABLE prefs_event_p20200101 (LIKE prefs_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
psql("ALTER TABLE prefs_event ATTACH PARTITION prefs_event_p20200101"
     . " FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')");
my $acme = api_account('EventsUpkeepCo');
psql("INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)"
     . " SELECT account_id, 'tag.added', 'Tags', '2020-01-01 12:00+00' FROM prefs_account WHERE client_id = :'c'",
     c => $acme);
# and a row of the DEFAULT partition older than the window
psql("INSERT INTO prefs_event (account_id, event_type, entity, recorded_date)"
     . " SELECT account_id, 'tag.added', 'Tags', now() - interval '40 days' FROM prefs_account WHERE client_id = :'c'",
     c => $acme);
is(psql_value("SELECT count(*) FROM prefs_event_default WHERE recorded_date < now() - interval '39 days'"), 1,
   'an old event sits in the DEFAULT partition');

my $ng = PrefsTest::start_nginx(name => 'events', workers => 2,
                           http_config => 'prefs_event_history_days 10;');

sub parts { psql_value("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       . " WHERE i.inhparent = 'prefs_event'::regclass AND c.relname = ANY (string_to_array(:'n', ','))",
                       n => join(',', map { "prefs_event_p$_" } @_)) }

ok(wait_until(sub { parts(@day) == 8 }, 15), 'partitions for today to 7 days ahead exist once nginx runs')
    or diag $ng->error_log;
ok(wait_until(sub { psql_value("SELECT to_regclass('prefs_event_p20200101') IS NULL") eq 't' }, 15),
   'a partition older than the window is dropped');
is(psql_value("SELECT count(*) FROM prefs_event_default WHERE recorded_date < now() - interval '39 days'"), 0,
   'and so are DEFAULT rows older than the window');
like($ng->error_log, qr/event partitions kept for 10 days: \d+ created, \d+ dropped/, 'the helper logs its run');

my ($st, $h, $raw) = $ng->request(path => '/prefs/status');
my $status = eval { decode_json($raw) } || {};
my $ep = $status->{Helper}{EventPartitions} || {};
like($ep->{LastRun} // '', qr/^\d{4}-\d\d-\d\dT/, 'the status shows the last upkeep run');
cmp_ok($ep->{Created} // 0, '>=', 1, '... what it created');
cmp_ok($ep->{Dropped} // 0, '>=', 1, '... and dropped');
ok(!$ep->{LastFailed}, '... and that it did not fail');

# a new helper (a reload, a crash) runs it again at its start
sub runs { scalar(() = $ng->error_log =~ /event partitions kept for/g) }
my $runs = runs();
psql("SET client_min_messages = warning; DROP TABLE IF EXISTS prefs_event_p$day[7]");
kill 'KILL', $ng->helper_pid;
ok(wait_until(sub { runs() > $runs && parts($day[7]) == 1 }, 15), 'a helper killed and respawned runs the upkeep again');
$runs = runs();
$ng->reload;
ok(wait_until(sub { runs() > $runs }, 15), 'so does a reload');


# the helper killed on purpose above is the only alert, and nothing else
# failed (the upkeep once deadlocked with the webhook pump's claim: t/153)
is(join('', grep { /\[(error|alert|crit|emerg)\]/ && !/cache manager process \d+ exited on signal 9/ }
            split /^/, $ng->error_log), '', 'no error or other alert in the error log');
$ng->stop;

done_testing();
