# Partition upkeep beside a reader: attaching a new partition locks the
# DEFAULT partition, and dropping an old one then locks prefs_event, while a
# reader (the webhook claim, the Events API) locks prefs_event and then each
# partition.  Upkeep takes prefs_event first, so the reader goes first
# instead of deadlocking with it.  (Two
# sessions interleaved at given points: no Test::Nginx block can.)
use strict;
use warnings;
use Test::More;
use IO::Handle;
use File::Temp;
use POSIX qw(strftime);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

# a database of its own: partitions come and go here
(my $own = db()) =~ s/dbname=\S+/dbname=prefs_upkeep_lock/ or die "no dbname in the conninfo\n";
psql("SET client_min_messages = warning; DROP DATABASE IF EXISTS prefs_upkeep_lock");
psql("CREATE DATABASE prefs_upkeep_lock");
$ENV{TEST_NGINX_PREFS_DATABASE} = $own;
my ($rc, $out) = prefsctl('migrate');
is($rc, 0, 'a database of its own, migrated') or BAIL_OUT($out);

# a partition to make (the last of the week ahead) and an old one, outside
# the window, to drop
my $ahead = 'prefs_event_p' . strftime('%Y%m%d', gmtime(time + 7 * 86400));
psql("DROP TABLE $ahead");
psql("CREATE TABLE prefs_event_p20200101 (LIKE prefs_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
psql("ALTER TABLE prefs_event ATTACH PARTITION prefs_event_p20200101"
     . " FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')");

sub session {
    my ($mode, @sql) = @_;
    my @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $own);
    my $pid = open(my $fh, $mode, @cmd, map { ('-c', $_) } @sql) // die "psql: $!";
    return $fh;
}

# the reader: holds prefs_event, will want the old partition next
my $reader_out = File::Temp->new;
my $pid = open(my $reader, '|-', "psql -X -q -A -t -v ON_ERROR_STOP=1 -d '$own' > '$reader_out' 2>&1") // die "psql: $!";
$reader->autoflush(1);
print $reader "BEGIN;\nLOCK TABLE ONLY prefs_event IN ACCESS SHARE MODE;\nSELECT 'locked';\n";
ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                               . " WHERE c.relname = 'prefs_event' AND l.mode = 'AccessShareLock' AND l.granted") > 0 }, 10),
   'a reader holds prefs_event');

# the upkeep, with the reader in its way
my $upkeep = session('-|', 'SET deadlock_timeout = 100',
                     "SELECT action || ' ' || partition_name FROM prefs_event_partitions(7, 15)");
ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_stat_activity WHERE datname = 'prefs_upkeep_lock'"
                               . " AND wait_event_type = 'Lock' AND query ~ 'prefs_event_partitions'") > 0 }, 10),
   'the upkeep waits for the reader');

# now the reader goes on to the partitions, and ends
print $reader "SET deadlock_timeout = 100;\nSELECT count(*) FROM prefs_event_default;\n"
    . "SELECT count(*) FROM prefs_event_p20200101;\nCOMMIT;\n\\q\n";
close $reader;
my $rdone = $?;
my $rtext = do { local (@ARGV, $/) = ("$reader_out"); <> } // '';
is($rdone, 0, 'the reader ends well') or diag $rtext;
unlike($rtext, qr/deadlock/, 'no deadlock for the reader');

my $utext = do { local $/; <$upkeep> } // '';
close $upkeep;
is($?, 0, 'the upkeep ends well') or diag $utext;
like($utext, qr/^created $ahead$/m, 'and makes the new partition after the reader');
like($utext, qr/^dropped prefs_event_p20200101$/m, 'and drops the old one');

# with nothing to make or drop, the upkeep takes no lock on prefs_event: a
# reader holding it does not hold it up
open(my $holder, '|-', "psql -X -q -d '$own' > /dev/null 2>&1") // die "psql: $!";
$holder->autoflush(1);
print $holder "BEGIN;\nLOCK TABLE ONLY prefs_event IN ACCESS SHARE MODE;\nSELECT pg_sleep(30);\n";
ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                               . " WHERE c.relname = 'prefs_event' AND l.granted AND l.pid <> pg_backend_pid()") > 0 }, 10),
   'another reader holds prefs_event');
is(psql_value("SET lock_timeout = '3s'; SELECT count(*) FROM prefs_event_partitions(7, 15)"), 0,
   'an upkeep with nothing to do passes it by');
psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'prefs_upkeep_lock'"
     . " AND pid <> pg_backend_pid()");
close $holder;

done_testing();
