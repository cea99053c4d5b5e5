#!/usr/bin/perl
# tools/prefsctl against a throwaway, migrated database.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of the database (skipped when unset)
#   PREFS_TEST_SQL_DIR         SQL to use (default: <repo>/sql: migrations/ and
#                              functions/)
#
# Uses unique ClientIds and a scratch schema per run, so it can be rerun on
# the same database.
# prefs-test: exclusive (scripts/test.sh runs it alone): it counts every
# account in the database ("nothing created", "the list has every
# account"), which suites creating accounts beside it would change

use strict;
use warnings;
use utf8;

use Test::More;
use FindBin ();
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP ();
use POSIX ();

my $DB = $ENV{TEST_NGINX_PREFS_DATABASE};
plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set' unless defined $DB && length $DB;

my $REPO     = "$FindBin::Bin/..";
my $PREFSCTL = "$REPO/tools/prefsctl";
my $SQL_DIR  = $ENV{PREFS_TEST_SQL_DIR} || "$REPO/sql";
my $JSON     = JSON::PP->new->utf8->canonical;
my $TAG      = sprintf 't%d-%d', $$, time;   # unique per run
my $TMP      = tempdir('prefsctl-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

# run(\%env, @args) or run(@args): runs prefsctl (or $env{PROG}) without a
# shell, returns {rc, out, err} (out/err as bytes).
sub run {
    my %env = ref $_[0] eq 'HASH' ? %{ shift @_ } : ();
    my @args = @_;
    my $prog = delete $env{PROG} // $PREFSCTL;
    my ($out, $err) = ("$TMP/out.$$", "$TMP/err.$$");
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete $ENV{PREFS_DATABASE};
        for my $k (keys %env) {
            if (defined $env{$k}) { $ENV{$k} = $env{$k} } else { delete $ENV{$k} }
        }
        open STDIN,  '<', '/dev/null' or POSIX::_exit(126);
        open STDOUT, '>', $out        or POSIX::_exit(126);
        open STDERR, '>', $err        or POSIX::_exit(126);
        { no warnings 'exec'; exec { $prog } $prog, @args; }
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
    return { rc => $rc, out => slurp($out), err => slurp($err) };
}

sub slurp {
    open my $fh, '<:raw', $_[0] or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub ctl { run({}, '--db', $DB, @_) }

sub decode_out {
    my ($r) = @_;
    my $v = eval { $JSON->decode($r->{out}) };
    diag("not JSON: $r->{out} / $r->{err}") unless defined $v;
    return $v;
}

# psql_value($db, $sql): first column of the first row, decoded.
sub psql_value {
    my ($db, $sql) = @_;
    local $ENV{PGCLIENTENCODING} = 'UTF8';
    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
    open my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-c', $sql
        or die "psql: $!";
    local $/;
    my $v = <$fh>;
    close $fh or die "psql failed for: $sql\n";
    $v //= '';
    $v =~ s/\n\z//;
    utf8::decode($v);
    return $v;
}

# Values go to psql as variables here too.
sub psql_var_value {
    my ($db, $sql, %vars) = @_;
    local $ENV{PGCLIENTENCODING} = 'UTF8';
    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
    my @v = map { ('-v', "$_=$vars{$_}") } sort keys %vars;
    my $in = "$TMP/in.sql";
    open my $w, '>', $in or die;
    print $w "$sql\n";
    close $w;
    open my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', @v, '-d', $db, '-f', $in
        or die "psql: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "psql failed for: $sql\n";
    $out //= '';
    $out =~ s/\n\z//;
    utf8::decode($out);
    return $out;
}

sub count { psql_value($DB, "SELECT count(*) FROM $_[0]") }

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

# ---------------------------------------------------------------------------
subtest 'usage' => sub {
    my $r = run('help');
    is $r->{rc}, 0, 'help exits 0';
    like $r->{out}, qr/^Usage: prefsctl/m, 'help prints usage on stdout';

    $r = run();
    is $r->{rc}, 1, 'no arguments: exit 1';
    is $r->{out}, '', 'no arguments: nothing on stdout';
    like $r->{err}, qr/^Usage: prefsctl/m, 'no arguments: usage on stderr';

    $r = ctl('frobnicate');
    is $r->{rc}, 1, 'unknown command: exit 1';
    is $r->{err}, "prefsctl: unknown command 'frobnicate'\n", 'unknown command: message';
    is $r->{out}, '', 'unknown command: nothing on stdout';

    for my $args (['account'], ['account', 'create'], ['account', 'frob'],
                  ['job'], ['job', 'show'], ['job', 'enqueue'],
                  ['account', 'create', "x$TAG", '--name'],
                  ['job', 'show', '1', '2'], ['version', 'x'],
                  ['migrate', '--sql-dir'], ['--db']) {
        my $r = ctl(@$args);
        is $r->{rc}, 1, "'@$args': exit 1";
        like $r->{err}, qr/^prefsctl: /, "'@$args': prefsctl: message";
        is $r->{out}, '', "'@$args': nothing on stdout";
    }
};

# ---------------------------------------------------------------------------
subtest 'migrate and version' => sub {
    my $r = ctl('migrate', '--sql-dir', $SQL_DIR);
    is $r->{rc}, 0, 'migrate exits 0' or diag $r->{err};
    my $first = decode_out($r);
    is ref $first->{applied}, 'ARRAY', 'applied is an array';
    cmp_ok $first->{version}, '>=', 1, 'version >= 1';

    $r = ctl('migrate', '--sql-dir', $SQL_DIR);
    is $r->{rc}, 0, 'second migrate exits 0';
    is_deeply decode_out($r), { applied => [], version => $first->{version} },
        'second migrate applies nothing';

    $r = ctl('version');
    is $r->{rc}, 0, 'version exits 0';
    is_deeply decode_out($r), { SchemaVersion => $first->{version} }, 'version output';

    $r = ctl('migrate', '--sql-dir', "$TMP/does-not-exist");
    is $r->{rc}, 1, 'missing sql dir: exit 1';
};

# Migrations into scratch schemas (search_path set in the conninfo).
my @schemas;
sub scratch_db {
    my ($name) = @_;
    my $schema = "prefsctl_${name}_$TAG";
    $schema =~ tr/-/_/;
    psql_value($DB, qq{CREATE SCHEMA "$schema"});
    push @schemas, $schema;
    return ("$DB options=-csearch_path=$schema", $schema);
}
END {
    psql_value($DB, qq{DROP SCHEMA IF EXISTS "$_" CASCADE}) for @schemas;
}

SKIP: {
    skip 'scratch-schema tests need a keyword/value conninfo', 2 if $DB =~ m{^postgres(?:ql)?://};

    subtest 'migrate from scratch' => sub {
        my ($db, $schema) = scratch_db('real');
        # sql/migrations (and sql/functions), or a flat directory of migrations
        my $mig_dir = -d "$SQL_DIR/migrations" ? "$SQL_DIR/migrations" : $SQL_DIR;
        opendir my $dh, $mig_dir or die "$mig_dir: $!";
        my @want = map { s/\.sql$//r }
                   sort { ($a =~ /^(\d+)/)[0] <=> ($b =~ /^(\d+)/)[0] }
                   grep { /^\d+_.*\.sql$/ } readdir $dh;

        my $r = run({}, '--db', $db, 'migrate', '--sql-dir', $SQL_DIR);
        is $r->{rc}, 0, 'migrate exits 0' or diag $r->{err};
        my $v = decode_out($r);
        is_deeply $v->{applied}, \@want, 'applies every file, in order';

        is psql_value($db, "SELECT to_regclass('$schema.prefs_account') IS NOT NULL"), 't',
            'tables created in the scratch schema';

        $r = run({}, '--db', $db, 'migrate', '--sql-dir', $SQL_DIR);
        is_deeply decode_out($r), { applied => [], version => $v->{version} },
            'second run applies nothing';

        # Re-running a file by hand changes nothing (the files promise to be idempotent).
        my $f = "$mig_dir/$want[0].sql";
        ok eval { psql_var_value($db, "SET client_min_messages = warning;\n\\i :f", f => $f); 1 },
            "$want[0] re-applied by hand without error";

        # A job claimed and finished through the schema's functions shows its
        # runs.  (Done here: claiming in the shared schema could steal jobs.)
        my $r2 = run({}, '--db', $db, 'job', 'enqueue', 'test.claim', '{"x":1}');
        is $r2->{rc}, 0, 'enqueue in the scratch schema' or diag $r2->{err};
        my $jid = decode_out($r2)->{JobId};
        my $token = psql_var_value($db,
            "SELECT lease_token FROM prefs_job_claim('test-owner', '1 minute', 10) WHERE job_id = :'j'",
            j => $jid);
        like $token, qr/^\d+$/, 'claimed with prefs_job_claim';
        my $j = decode_out(run({}, '--db', $db, 'job', 'show', $jid));
        is $j->{State}, 'running', 'State running';
        is $j->{Attempts}, 1, 'Attempts 1';
        is $j->{LeaseOwner}, 'test-owner', 'LeaseOwner';
        like $j->{LeaseUntil}, $ISO, 'LeaseUntil';
        like $j->{StartedAt}, $ISO, 'StartedAt';
        is psql_var_value($db, q{SELECT prefs_job_finish(:'j', :'t', 'test-owner', 1, '{"ok":true}', NULL, '1 second')},
            j => $jid, t => $token), 't', 'finished with prefs_job_finish';
        $j = decode_out(run({}, '--db', $db, 'job', 'show', $jid));
        is $j->{State}, 'done', 'State done';
        is_deeply $j->{Result}, { ok => JSON::PP::true }, 'Result';
        is scalar @{ $j->{Runs} }, 1, 'one run';
        is $j->{Runs}[0]{LeaseOwner}, 'test-owner', 'run owner';
        is $j->{Runs}[0]{Attempt}, 1, 'run attempt';
        ok $j->{Runs}[0]{Accepted}, 'run accepted';
        like $j->{Runs}[0]{RecordedAt}, $ISO, 'run RecordedAt';
        like $j->{FinishedAt}, $ISO, 'FinishedAt';
    };

    subtest 'migrate: ordering, failure, concurrency' => sub {
        my ($db, $schema) = scratch_db('mig');
        my $dir = "$TMP/sql dir with 'quote'";
        make_path($dir);
        my $put = sub { open my $fh, '>', "$dir/$_[0]" or die; print $fh $_[1]; close $fh };
        $put->('010_ten.sql', "CREATE TABLE ten (x int);\n");
        $put->('2_two.sql',   "CREATE TABLE two (x int);\nSELECT 'noise on stdout';\n");
        $put->('README',      "not a migration\n");

        my $r = run({}, '--db', $db, 'migrate', '--sql-dir', $dir);
        is $r->{rc}, 0, 'migrate exits 0' or diag $r->{err};
        is_deeply decode_out($r), { applied => ['2_two', '010_ten'], version => 10 },
            'numeric order, output clean';

        $put->('011_bad.sql', "CREATE TABLE eleven (x int);\n\nSELECT * FROM no_such_table;\n");
        $r = run({}, '--db', $db, 'migrate', '--sql-dir', $dir);
        is $r->{rc}, 2, 'failing migration: exit 2';
        like $r->{err}, qr/^prefsctl: migrate: 011_bad\.sql failed at line 3 .*no_such_table/,
            'error names the file' or diag $r->{err};
        is $r->{out}, '', 'nothing on stdout';
        is psql_value($db, "SELECT to_regclass('$schema.eleven') IS NULL"), 't',
            'failed file rolled back';
        is decode_out(run({}, '--db', $db, 'version'))->{SchemaVersion}, 10, 'version unchanged';

        $put->('011_bad.sql', "CREATE TABLE eleven (x int);\n");
        $put->('012_slow.sql', "SELECT pg_sleep(0.5);\nCREATE TABLE twelve (x int);\n");
        # Two migrators at once: the advisory lock serialises them.
        my @pids;
        for my $i (1, 2) {
            my $pid = fork // die;
            if (!$pid) {
                my $r = run({}, '--db', $db, 'migrate', '--sql-dir', $dir);
                open my $fh, '>', "$TMP/conc$i" or die;
                print $fh "$r->{rc}\n$r->{out}";
                close $fh;
                POSIX::_exit(0);
            }
            push @pids, $pid;
        }
        waitpid $_, 0 for @pids;
        my @res = map { my ($rc, $out) = split /\n/, slurp("$TMP/conc$_"), 2; [$rc, $out] } 1, 2;
        is_deeply [map { $_->[0] } @res], [0, 0], 'both concurrent migrators succeed';
        my @applied = sort map { join ',', @{ (eval { $JSON->decode($_->[1]) } || { applied => ['?'] })->{applied} } } @res;
        is_deeply \@applied, ['', '011_bad,012_slow'], 'exactly one of them applied the files';
        is psql_value($db, 'SELECT count(*) FROM prefs_schema_version'), 4, 'four versions recorded';
    };
}

# ---------------------------------------------------------------------------
subtest 'accounts' => sub {
    my $id = "acct-$TAG";
    my $before = count('prefs_account');

    my $r = ctl('account', 'create', $id, '--name', 'First name');
    is $r->{rc}, 0, 'create exits 0' or diag $r->{err};
    my $a = decode_out($r);
    is $a->{ClientId}, $id, 'ClientId';
    is $a->{Name}, 'First name', 'Name';
    like $a->{AccountId}, qr/^\d+$/, 'AccountId';
    like $a->{CreatedAt}, $ISO, 'CreatedAt is ISO 8601 UTC with milliseconds';
    is_deeply [sort keys %$a], [qw(AccountId ClientId CreatedAt Name)], 'exactly these keys';
    is count('prefs_account'), $before + 1, 'one row more';

    $r = ctl('account', 'list');
    is $r->{rc}, 0, 'list exits 0';
    my $list = decode_out($r);
    is ref $list, 'ARRAY', 'list is an array';
    my ($found) = grep { $_->{ClientId} eq $id } @$list;
    ok $found, 'new account listed';
    is $found->{AccountId}, $a->{AccountId}, 'same AccountId in the list';
    is scalar(@$list), count('prefs_account'), 'list has every account';

    # duplicate
    $before = count('prefs_account');
    $r = ctl('account', 'create', $id, '--name', 'Other name');
    is $r->{rc}, 1, 'duplicate: exit 1';
    is $r->{err}, "prefsctl: account $id already exists\n", 'duplicate: message';
    is $r->{out}, '', 'duplicate: nothing on stdout';
    is count('prefs_account'), $before, 'duplicate: no row added';
    is psql_var_value($DB, "SELECT name FROM prefs_account WHERE client_id = :'c'", c => $id),
        'First name', 'duplicate: existing row unchanged';

    # --name=VALUE form and no name
    $r = ctl('account', 'create', "$id-2");
    is decode_out($r)->{Name}, '', 'name defaults to empty';
    $r = ctl('account', 'create', "--name=eq form", "$id-3");
    is decode_out($r)->{Name}, 'eq form', '--name=VALUE before the ClientId';

    # 64 characters is the limit
    my $long = substr("L$TAG" . ('x' x 64), 0, 64);
    is ctl('account', 'create', $long)->{rc}, 0, '64-character ClientId accepted';
    $before = count('prefs_account');
    for my $bad ('', '-leading-dash', '.dot', '_under', 'has space', "tab\there",
                 "nl\nx", 'slash/x', 'ünïcode', "${long}y",
                 "a'; DROP TABLE prefs_account; --", '$(touch /tmp/pwned)', ":'x'") {
        my $r = ctl('account', 'create', $bad);
        is $r->{rc}, 1, "bad ClientId '$bad': exit 1";
        like $r->{err}, qr/^prefsctl: invalid ClientId/, "bad ClientId '$bad': message";
    }
    is count('prefs_account'), $before, 'bad ClientIds: nothing created';
    is psql_value($DB, "SELECT to_regclass('prefs_account') IS NOT NULL"), 't',
        'prefs_account still there';

    # names are stored verbatim
    my $i = 0;
    for my $name (q{O'Brien "the \\ quoted" café – 日本語 🎉},
                  "x'); DROP TABLE prefs_account; --",
                  "\\! touch $TMP/pwned\n:name :'name' :\"name\" \\q",
                  "tab\tnewline\nend", ' leading and trailing ') {
        $i++;
        my $cid = "name$i-$TAG";
        my $bytes = $name;
        utf8::encode($bytes);
        my $r = ctl('account', 'create', $cid, '--name', $bytes);
        is $r->{rc}, 0, "name $i: create exits 0" or diag $r->{err};
        is decode_out($r)->{Name}, $name, "name $i: JSON output verbatim";
        is psql_var_value($DB, "SELECT name FROM prefs_account WHERE client_id = :'c'", c => $cid),
            $name, "name $i: stored verbatim";
    }
    ok !-e "$TMP/pwned", 'no psql meta-command ran';

    $before = count('prefs_account');
    $r = ctl('account', 'create', "long-$TAG", '--name', 'n' x 201);
    is $r->{rc}, 1, 'name over 200 characters: exit 1';
    like $r->{err}, qr/^prefsctl: .*200/, 'name too long: message';
    $r = ctl('account', 'create', "utf-$TAG", '--name', "bad \xff\xfe bytes");
    is $r->{rc}, 1, 'invalid UTF-8 name: exit 1';
    like $r->{err}, qr/UTF-8/, 'invalid UTF-8: message';
    is count('prefs_account'), $before, 'rejected names: nothing created';
};

# ---------------------------------------------------------------------------
my $JDB = $DB =~ m{^postgres(?:ql)?://} ? $DB : (scratch_db('jobs'))[0];
my @shared_jobs;
sub jctl {
    my $r = run({}, '--db', $JDB, @_);
    push @shared_jobs, $1 if $JDB eq $DB && $_[0] eq 'job' && $_[1] eq 'enqueue'
                             && $r->{rc} == 0 && $r->{out} =~ /"JobId"\s*:\s*(\d+)/;
    return $r;
}
END {
    psql_value($DB, "DELETE FROM prefs_job WHERE job_id IN (" . join(',', @shared_jobs) . ")")
        if @shared_jobs;
}

subtest 'jobs' => sub {
    # Jobs go to a scratch schema when possible: queued rows in the shared
    # schema would be picked up by the job helper of other test files.
    if ($JDB ne $DB) {
        my $r = run({}, '--db', $JDB, 'migrate', '--sql-dir', $SQL_DIR);
        is $r->{rc}, 0, 'scratch schema for jobs migrated' or diag $r->{err};
    }
    my $id = "jobs-$TAG";
    is jctl('account', 'create', $id)->{rc}, 0, 'account for jobs';

    my $payload = { to => "user\@example.com", n => 3, list => [1, 'two', undef], 'ü' => "'" };
    my $r = jctl('job', 'enqueue', 'mail.send', $JSON->encode($payload),
                '--account', $id, '--max-attempts', '3');
    is $r->{rc}, 0, 'enqueue exits 0' or diag $r->{err};
    my $job = decode_out($r);
    like $job->{JobId}, qr/^\d+$/, 'JobId';

    $r = jctl('job', 'show', $job->{JobId});
    is $r->{rc}, 0, 'show exits 0';
    my $j = decode_out($r);
    is $j->{JobId}, $job->{JobId}, 'JobId';
    is $j->{Type}, 'mail.send', 'Type';
    is $j->{ClientId}, $id, 'ClientId';
    is_deeply $j->{Payload}, $payload, 'Payload round-trips';
    is $j->{State}, 'queued', 'State queued';
    is $j->{Attempts}, 0, 'Attempts 0';
    is $j->{MaxAttempts}, 3, 'MaxAttempts';
    like $j->{CreatedAt}, $ISO, 'CreatedAt';
    like $j->{RunAt}, $ISO, 'RunAt';
    ok !defined $j->{FinishedAt}, 'FinishedAt null';
    ok !defined $j->{Result}, 'Result null';
    is_deeply $j->{Runs}, [], 'no runs yet';

    $r = jctl('job', 'enqueue', 'noop');
    is $r->{rc}, 0, 'enqueue without payload';
    $j = decode_out(jctl('job', 'show', decode_out($r)->{JobId}));
    is_deeply $j->{Payload}, {}, 'payload defaults to {}';
    ok !defined $j->{AccountId}, 'no account';
    is $j->{MaxAttempts}, 5, 'default max attempts from the schema';

    $r = jctl('job', 'enqueue', 'noop', '--', '-1');
    is $r->{rc}, 0, 'a payload that looks like an option, after --';

    my $before = psql_value($JDB, 'SELECT count(*) FROM prefs_job');
    for my $bad ('{bad', '', '{"a":1', "{'a':1}", 'undefined', '"\u0000"', "\"\xff\"") {
        my $r = jctl('job', 'enqueue', 'mail.send', $bad);
        is $r->{rc}, 1, "bad payload '$bad': exit 1";
        like $r->{err}, qr/^prefsctl: .*payload is not valid JSON/, "bad payload '$bad': message";
        is $r->{out}, '', "bad payload '$bad': nothing on stdout";
    }
    for my $case ([['Bad.Type'], qr/invalid job type/],
                  [['ok', '{}', '--account', "nobody-$TAG"], qr/account nobody-\Q$TAG\E not found/],
                  [['ok', '{}', '--account', "bad id"], qr/invalid ClientId/],
                  [['ok', '{}', '--max-attempts', '0'], qr/max-attempts/],
                  [['ok', '{}', '--max-attempts', '2147483648'], qr/max-attempts/],
                  [['ok', '{}', '--max-attempts', 'x'], qr/max-attempts/],
                  [['ok', '{}', 'extra'], qr/unexpected argument/]) {
        my ($args, $re) = @$case;
        my $r = jctl('job', 'enqueue', @$args);
        is $r->{rc}, 1, "enqueue @$args: exit 1";
        like $r->{err}, $re, "enqueue @$args: message";
    }
    is psql_value($JDB, 'SELECT count(*) FROM prefs_job'), $before, 'rejected jobs: no row created';

    $r = jctl('job', 'show', '999999999999');
    is $r->{rc}, 1, 'unknown job: exit 1';
    is $r->{err}, "prefsctl: job 999999999999 not found\n", 'unknown job: message';
    for my $bad ('0', '-1', 'abc', '1.5', '99999999999999999999') {
        is jctl('job', 'show', $bad)->{rc}, 1, "job show '$bad': exit 1";
    }
};

# ---------------------------------------------------------------------------
subtest 'connection' => sub {
    my $r = run({}, '--db', 'host=/nonexistent dbname=x', 'account', 'list');
    is $r->{rc}, 2, 'unreachable database: exit 2';
    like $r->{err}, qr/^prefsctl: cannot connect to the database: .*nonexistent/,
        'unreachable database: message';
    is $r->{out}, '', 'unreachable database: nothing on stdout';

    # validation happens before connecting
    $r = run({}, '--db', 'host=/nonexistent dbname=x', 'account', 'create', 'bad id');
    is $r->{rc}, 1, 'bad input is reported before connecting';

    $r = run({ PREFS_DATABASE => $DB }, 'version');
    is $r->{rc}, 0, '$PREFS_DATABASE is used';
    $r = run({ PREFS_DATABASE => 'host=/nonexistent dbname=x' }, '--db', $DB, 'version');
    is $r->{rc}, 0, '--db wins over $PREFS_DATABASE';
    $r = run({ PREFS_DATABASE => 'host=/nonexistent dbname=x' }, 'version');
    is $r->{rc}, 2, 'bad $PREFS_DATABASE: exit 2';

    # <repo>/var/prefs.conninfo, found through symlinks
    my $repo = "$TMP/repo";
    make_path("$repo/tools", "$TMP/bin");
    copy($PREFSCTL, "$repo/tools/prefsctl") or die;
    chmod 0755, "$repo/tools/prefsctl";
    symlink "$repo/tools/prefsctl", "$TMP/bin/prefsctl" or die;
    $r = run({ PROG => "$TMP/bin/prefsctl" }, 'version');
    is $r->{rc}, 2, 'no database configured: exit 2';
    like $r->{err}, qr/^prefsctl: no database configured/, 'no database configured: message';
    make_path("$repo/var");
    open my $fh, '>', "$repo/var/prefs.conninfo" or die;
    print $fh "# comment\n\n  $DB  \n";
    close $fh;
    $r = run({ PROG => "$TMP/bin/prefsctl" }, 'version');
    is $r->{rc}, 0, '<repo>/var/prefs.conninfo is used (script reached through a symlink)'
        or diag $r->{err};
};

done_testing;
