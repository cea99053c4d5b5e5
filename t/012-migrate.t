#!/usr/bin/perl
# prefsctl migrate over sql/migrations and sql/functions: a database made by
# the files of before the split (schema version 15, made with that day's
# prefsctl, with data) upgrades with nothing lost and ends up with the same
# schema and functions as a new database; an edited migration is refused;
# a second migrate applies no migration and re-applies the functions; an
# edited function takes effect on the next migrate.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of the test cluster (keyword/value;
#                              skipped when unset); scratch databases are
#                              made next to it and dropped afterwards
#
# The old files come from git (commit $OLD): without the repository's
# history this test fails, it does not skip.

use strict;
use warnings;

use Test::More;
use FindBin ();
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Copy qw(copy);
use JSON::PP ();
use POSIX ();
use PrefsTest;

my $DB = $ENV{TEST_NGINX_PREFS_DATABASE};
plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set' unless defined $DB && length $DB;
plan skip_all => 'scratch databases need a keyword/value conninfo' if $DB =~ m{^postgres(?:ql)?://};

my $REPO = "$FindBin::Bin/..";
my $OLD  = '1d1b62b';      # the last commit of the sql/NNN_name.sql layout (version 15)
my $TAG  = "t012_$$";
my $TMP  = tempdir('migrate-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $J    = JSON::PP->new->utf8->canonical;

# run(\%env, PROG, @args): {rc, out, err}, without a shell
sub run {
    my ($env, $prog, @args) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete $ENV{PREFS_DATABASE};
        $ENV{$_} = $env->{$_} for keys %$env;
        open STDIN,  '<', '/dev/null'   or POSIX::_exit(126);
        open STDOUT, '>', "$TMP/out"    or POSIX::_exit(126);
        open STDERR, '>', "$TMP/err"    or POSIX::_exit(126);
        { no warnings 'exec'; exec { $prog } $prog, @args; }
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return { rc => $? >> 8, out => slurp("$TMP/out"), err => slurp("$TMP/err") };
}
sub slurp { open my $fh, '<:raw', $_[0] or return ''; local $/; scalar(<$fh>) // '' }
sub spit { open my $fh, '>:raw', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh or die }

# every psql of PrefsTest against another database
sub on { my ($db, $code) = @_; local $ENV{TEST_NGINX_PREFS_DATABASE} = $db; $code->() }
sub q1 { my ($db, @q) = @_; on($db, sub { psql_value(@q) }) }   # the first line
sub qall { my ($db, @q) = @_; on($db, sub { psql(@q) }) }       # all of it

sub migrate {
    my ($db, @more) = @_;
    return run({}, "$REPO/tools/prefsctl", '--db', $db, 'migrate', @more);
}

my @dbs;
sub scratch {
    my $name = "prefs_${TAG}_$_[0]";
    psql(qq{SET client_min_messages = warning; DROP DATABASE IF EXISTS "$name"});
    psql(qq{CREATE DATABASE "$name"});
    push @dbs, $name;
    return "$DB dbname=$name";
}
END { on($DB, sub { psql(qq{DROP DATABASE IF EXISTS "$_"}) for @dbs }) if @dbs }

# --------------------------------------------------------------------------
# the files of before the split, from git

my @old = grep { m{^sql/\d+_\w+\.sql$} }
          split /\n/, `git -C '$REPO' ls-tree --name-only $OLD sql/ 2>/dev/null`;
if ($? != 0 || !@old) {
    fail("the upgrade test needs the repository's git history (commit $OLD: the sql/NNN_name.sql files of "
         . "schema version 15 and that day's tools/prefsctl); run it from a full git clone (not a shallow one)");
    done_testing;
    exit;
}
make_path("$TMP/old/sql", "$TMP/old/tools", "$TMP/old/conf");
# and that day's demo configuration (its consent types say LocaleId, which
# 021 renames)
for my $f (@old, 'tools/prefsctl', 'conf/demo-config.json') {
    my $text = `git -C '$REPO' show '$OLD:$f'`;
    die "git show $OLD:$f failed\n" if $?;
    spit("$TMP/old/$f", $text);
}
chmod 0755, "$TMP/old/tools/prefsctl";
is scalar @old, 14, 'version 15 had 14 migration files (there never was a 014)';

# --------------------------------------------------------------------------
# catalogue and data snapshots

my $NS = q{n.nspname = current_schema()};
sub functions {      # name(args) => definition, every function, view and trigger
    my ($db) = @_;
    my %d = map { split /\x1f/, $_, 2 } split /\x1e/, qall($db, qq{
        SELECT string_agg(k || chr(31) || v, chr(30) ORDER BY k) FROM (
          SELECT 'function ' || p.oid::regprocedure::text AS k, pg_get_functiondef(p.oid) AS v
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE $NS AND p.prokind IN ('f', 'p')
          UNION ALL
          SELECT 'view ' || c.relname, pg_get_viewdef(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE $NS AND c.relkind IN ('v', 'm')
          UNION ALL
          SELECT 'trigger ' || t.tgname || ' on ' || c.relname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE $NS AND NOT t.tgisinternal) x});
    return \%d;
}

# pg_dump --schema-only, as a sorted list of its objects ("Name: ...; Type:
# ..." and the statements), without the daily event partitions (named after
# the day the database was made) and without the objects whose header
# matches one of @skip
sub schema {
    my ($db, @skip) = @_;
    my $r = run({}, 'pg_dump', '--schema-only', '--no-owner', '--no-privileges',
                '--exclude-table=prefs_event_p2*', '-d', $db);
    die "pg_dump: $r->{err}" if $r->{rc};
    my @objects = grep { !/^\\(?:un)?restrict /m } split /^--\n-- (?=Name: )/m, $r->{out};
    shift @objects;      # the preamble
    s/^SET \w+ = [^\n]*;$//mg, s/\s+\z// for @objects;    # settings between sections
    return [sort grep { my ($head) = /\A([^\n]*)/; !grep { $head =~ $_ } @skip } @objects];
}

# every table's rows: name => "count md5-of-the-sorted-rows"; over the
# columns of $cols (name => column list, from an earlier call) where given,
# so that a column a migration adds (with its default) is not a change of
# the data; also returns the column lists it used
sub tables {
    my ($db, $cols) = @_;
    my @t = split /\n/, qall($db, qq{
        SELECT string_agg(c.relname, E'\n' ORDER BY c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE $NS AND c.relkind IN ('r', 'p') AND NOT c.relispartition});
    my (%rows, %used);
    for my $t (@t) {
        my $c = $cols->{$t} // q1($db, qq{SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum)
                                            FROM pg_attribute WHERE attrelid = :'t'::regclass
                                             AND attnum > 0 AND NOT attisdropped}, t => $t);
        $used{$t} = $c;
        $rows{$t} = q1($db, qq{SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), '')
                               FROM (SELECT $c FROM "$t") x});
    }
    return wantarray ? (\%rows, \%used) : \%rows;
}

# --------------------------------------------------------------------------
# a version-15 database, made and filled as that day's code did

my $OLDDB = scratch('old');
my $KEY = $ENV{TEST_NGINX_PREFS_KEY} // $ENV{PREFS_SECRET_KEY};
my %oldenv = (PREFS_SECRET_TOOL => "$REPO/build/prefs-secret", ($KEY ? (PREFS_SECRET_KEY => $KEY) : ()));
sub oldctl { run(\%oldenv, "$TMP/old/tools/prefsctl", '--db', $OLDDB, @_) }

my $r = oldctl('migrate', '--sql-dir', "$TMP/old/sql");
is $r->{rc}, 0, 'the old prefsctl migrates the old files' or diag $r->{err};
is $J->decode($r->{out} || '{}')->{version}, 15, 'schema version 15';
is q1($OLDDB, q{SELECT count(*) FROM information_schema.columns
                 WHERE table_name = 'prefs_schema_version' AND column_name = 'checksum'}), 0,
   'no checksums recorded (made before they were kept)';

$r = oldctl('account', 'create', 'acme', '--name', 'Acme');
is $r->{rc}, 0, 'an account' or diag $r->{err};
my $A = $J->decode($r->{out})->{AccountId};
$r = oldctl('config', 'import', 'acme', "$TMP/old/conf/demo-config.json");
is $r->{rc}, 0, 'its configuration' or diag $r->{err};
SKIP: {
    skip 'no secret key (TEST_NGINX_PREFS_KEY) or prefs-secret: no user', 1
        unless $KEY && -x "$REPO/build/prefs-secret";
    $r = oldctl('user', 'create', 'acme', 'admin', '--group', 'Administrators');
    is $r->{rc}, 0, 'a user with a secret' or diag $r->{err};
}
my $U = q1($OLDDB, q{SELECT coalesce(max(user_id), 7) FROM prefs_user});
my $body = $J->encode({
    FirstName => 'Ann', LastName => 'Lee',
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Garden' }],
    Emails => [{ Address => 'ann@example.com', Type => 'Personal' }],
    AlternateIds => [{ Type => 'CRMId', Value => 'ANN-1' }],
    ProfilePreferences => [{ FilterId => 'NewsletterEmail', ContactPoint => 'ann@example.com',
                             PreferenceType => 1 }],
    Consents => [{ TypeName => 'Marketing', Version => '2.0', Status => 'Granted' }] });
my $P = q1($OLDDB, q{SELECT coalesce(profile_id::text, message) FROM prefs_profile_create(CAST(:'a' AS bigint), CAST(:'u' AS bigint),
                                                                 CAST(:'b' AS jsonb))},
           a => $A, u => $U, b => $body);
like $P, qr/^\d+$/, 'a profile, through prefs_profile_create';
is q1($OLDDB, q{SELECT outcome FROM prefs_profile_update(CAST(:'a' AS bigint), CAST(:'u' AS bigint),
                CAST(:'p' AS bigint), '{"MiddleName": "B"}')}, a => $A, u => $U, p => $P),
   'updated', 'and an update of it';
cmp_ok q1($OLDDB, q{SELECT count(*) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)}, a => $A),
       '>=', 2, 'with their events';
is q1($OLDDB, q{SELECT outcome FROM prefs_webhook_subscription_write(CAST(:'a' AS bigint), CAST(:'u' AS bigint),
                NULL, CAST(:'b' AS jsonb), 'c2VhbGVk', 'code-1')}, a => $A, u => $U,
       b => $J->encode({ Name => 'crm', Url => 'https://hooks.example.com/in', LocaleId => 'en-US',
                         Subscriptions => [{ Entity => 'ProfileActions', EventType => 'profile.created' }] })),
   'created', 'a webhook subscription';
$r = oldctl('job', 'enqueue', 'test.t012', '{"x":1}');
is $r->{rc}, 0, 'a job' or diag $r->{err};
my $doc_before = q1($OLDDB, q{SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false)},
                    a => $A, p => $P);

my ($rows_before, $cols_before) = tables($OLDDB);
# the configuration items, every column, with a consent type's
# LocalizedFields[].LocaleId renamed Locale when $rename (what 021 does)
sub config_items {
    my ($rename) = @_;
    my $body = $rename ? q{CASE WHEN i.kind = 'ConsentType' THEN replace(i.body::text, '"LocaleId"', '"Locale"')::jsonb
                                ELSE i.body END} : 'i.body';
    return qq{SELECT md5(string_agg(concat_ws('|', i.item_id, i.account_id, i.kind, i.key, ($body)::text, i.is_active,
                                            i.created_at, i.updated_at), E'\n' ORDER BY i.item_id))
                FROM prefs_config_item i};
}
my $cfg_before = q1($OLDDB, config_items(1));
my $fn_old = functions($OLDDB);
cmp_ok scalar(keys %$rows_before), '>=', 30, 'the tables of version 15';

# --------------------------------------------------------------------------
# a new database, from the new layout

my $NEWDB = scratch('new');
$r = migrate($NEWDB);
is $r->{rc}, 0, 'a new database migrates' or diag $r->{err};
my $new = $J->decode($r->{out} || '{}');
opendir my $dh, "$REPO/sql/migrations" or die;
my @files = sort map { s/\.sql$//r } grep { /^\d+_\w+\.sql$/ } readdir $dh;
is_deeply $new->{applied}, \@files, 'every file of sql/migrations, in order';
is $r->{err}, '', 'nothing on stderr (no baseline for a new database)';
is q1($NEWDB, q{SELECT count(*) FROM prefs_schema_version WHERE checksum ~ '^[0-9a-f]{64}$'}), scalar @files,
   'each with its checksum';
my $fn_new = functions($NEWDB);

# When the layout was split (b2d5d43) a new database had exactly the old
# files' last definitions, but for prefsctl's new prefs_ctl_ functions;
# since then functions change in place, so what holds for good is checked
# below: an upgraded database ends up equal to a new one, functions and
# schema.
cmp_ok scalar(grep { /\bprefs_ctl_\w+\(/ } keys %$fn_new), '>=', 10, "prefsctl's functions are there";
cmp_ok scalar(keys %$fn_new), '>=', scalar(keys %$fn_old), 'and at least as many functions as version 15 had';

# --------------------------------------------------------------------------
# the upgrade

# functions of files edited or withdrawn after they landed, which an older
# database still has (017 drops them)
my @dead = ('prefs_webhook_body(prefs_webhook_delivery,prefs_webhook_subscription)',
            'prefs_profile_doc_current(bigint)', 'prefs_profile_doc_keep(bigint)');
q1($OLDDB, q{CREATE FUNCTION prefs_webhook_body(d prefs_webhook_delivery, s prefs_webhook_subscription)
             RETURNS text LANGUAGE sql STABLE AS $$ SELECT d.kind $$});
q1($OLDDB, q{CREATE FUNCTION prefs_profile_doc_current(p_profile_id bigint) RETURNS text
             LANGUAGE sql STABLE AS $$ SELECT NULL::text $$});
q1($OLDDB, q{CREATE FUNCTION prefs_profile_doc_keep(p_profile_id bigint) RETURNS jsonb
             LANGUAGE sql AS $$ SELECT NULL::jsonb $$});

$r = migrate($OLDDB);
is $r->{rc}, 0, 'the version-15 database migrates' or diag $r->{err};
my @after_15 = grep { /^(\d+)_/ && $1 > 15 } @files;
my ($last) = $files[-1] =~ /^(\d+)_/;
is_deeply $J->decode($r->{out} || '{}'), { applied => \@after_15, version => 0 + $last },
    'only the migrations after version 15 are applied';
like $r->{err}, qr/^prefsctl: migrate: recorded the checksums of 14 migrations applied before checksums were kept \(baseline\)/,
    'and the checksums of the applied ones are recorded once (baseline), saying so';
is q1($OLDDB, q{SELECT count(*) FROM prefs_schema_version WHERE checksum IS NULL}), 0, 'every version has its checksum';

my $rows_after = tables($OLDDB, $cols_before);
my @changed = grep { ($rows_after->{$_} // '') ne $rows_before->{$_} } sort keys %$rows_before;
# the data changes later migrations make on purpose: 019 empties the
# rendered copies (the reference's profile model); 021 renames a consent
# type's LocalizedFields[].LocaleId (Locale) and drops the rendered copies
# of profiles with consents (their consents are answered under new names)
is_deeply \@changed, ['prefs_config_item', 'prefs_config_version', 'prefs_profile_doc', 'prefs_schema_version'],
    'no data changed but the version table and what 019 and 021 change (rows and contents; a new configuration generation)';
is q1($OLDDB, q{SELECT count(*) FROM prefs_profile x LEFT JOIN prefs_profile_doc d USING (profile_id)
                 WHERE x.erased_at IS NULL AND (d.doc IS NULL OR d.src_xmin <> x.xmin
                       OR d.doc <> prefs_data_profile_json(x, false)::text)}), 0,
   '019 emptied the copies rendered in the old model; after_migrate.sql rendered them again in the new one';
is q1($OLDDB, q{SELECT count(*) FROM prefs_config_item i, jsonb_array_elements(i.body -> 'Versions') v,
                       jsonb_array_elements(v -> 'LocalizedFields') f
                 WHERE i.kind = 'ConsentType' AND (f ? 'LocaleId' OR NOT f ? 'Locale')}), 0,
   '021: every LocalizedFields entry names its Locale';
is q1($OLDDB, config_items(0)), $cfg_before, '021: and nothing else of the items changed';
{
    my ($before, $after) = map { $J->decode($_) } $doc_before,
        q1($OLDDB, q{SELECT prefs_profile_get(CAST(:'a' AS bigint), CAST(:'p' AS bigint), false)}, a => $A, p => $P);
    my ($cb, $ca) = (delete $before->{Consents}, delete $after->{Consents});
    is_deeply [$after->{ProfileId}, @{$after->{CustomerName}}{qw(FirstName MiddleName LastName)},
               $after->{Emails}[0]{EmailAddress}, $after->{Emails}[0]{EmailPreferences}[0]{FilterId}],
              [$before->{ProfileId}, @$before{qw(FirstName MiddleName LastName)},
               $before->{Emails}[0]{Address}, $before->{ProfilePreferences}[0]{FilterId}],
              'the profile reads the same, in the reference\'s model (019)';
    is_deeply [ map { [ @$_{qw(ConsentType ConsentVersion ConsentStatus ConsentDate RecordedDate)} ] } @$ca ],
              [ map { [ $_->{TypeName}, $_->{Version}, { Granted => 1, Denied => 2, Revoked => 3, NotSet => 4 }->{$_->{Status}},
                        @$_{qw(CustomerDate RecordedDate)} ] } @$cb ],
              'and its consents are the same records under the reference\'s names (021)';
}
is q1($OLDDB, 'SELECT count(*) FROM unnest(CAST(:\'d\' AS text[])) f WHERE to_regprocedure(f) IS NOT NULL',
      d => '{' . join(',', map { qq{"$_"} } @dead) . '}'), 0, 'the dead functions are dropped';
is_deeply functions($OLDDB), $fn_new, 'functions, views and triggers now equal a new database\'s';
is_deeply schema($OLDDB), schema($NEWDB), 'and so does the whole schema (pg_dump)';

# --------------------------------------------------------------------------
# migrate again: no migration, the functions again

q1($OLDDB, 'DROP FUNCTION prefs_event_horizon()');
$r = migrate($OLDDB);
is $r->{rc}, 0, 'a second migrate' or diag $r->{err};
is_deeply $J->decode($r->{out} || '{}'), { applied => [], version => 0 + $last }, 'applies no migration';
is $r->{err}, '', 'no second baseline';
is q1($OLDDB, q{SELECT to_regprocedure('prefs_event_horizon()') IS NOT NULL}), 't',
   're-applies the functions (a dropped one is back)';

# --------------------------------------------------------------------------
# a copy of sql/ to edit

sub copy_sql {
    my ($to) = @_;
    for my $sub ('', '/migrations', '/functions') {
        make_path("$to$sub");
        opendir my $d, "$REPO/sql$sub" or die;
        -f "$REPO/sql$sub/$_" and copy("$REPO/sql$sub/$_", "$to$sub/$_") || die "copy $_: $!" for readdir $d;
    }
}
my $EDIT = "$TMP/sql";
copy_sql($EDIT);

# a function edited in sql/functions takes effect on the next migrate
my $probe = "\nCREATE OR REPLACE FUNCTION prefs_t012_probe() RETURNS text\nLANGUAGE sql AS \$\$ SELECT 'one' \$\$;\n";
spit("$EDIT/functions/common.sql", slurp("$REPO/sql/functions/common.sql") . $probe);
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is $r->{rc}, 0, 'migrate with a new function' or diag $r->{err};
is q1($OLDDB, 'SELECT prefs_t012_probe()'), 'one', 'the function exists';
spit("$EDIT/functions/common.sql", slurp("$REPO/sql/functions/common.sql") . ($probe =~ s/'one'/'two'/r));
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is_deeply [$r->{rc}, $J->decode($r->{out} || '{}')], [0, { applied => [], version => 0 + $last }],
    'migrate after editing it' or diag $r->{err};
is q1($OLDDB, 'SELECT prefs_t012_probe()'), 'two', 'the edit took effect';

# a failing functions file: the functions transaction is rolled back whole
spit("$EDIT/functions/webhooks.sql", slurp("$REPO/sql/functions/webhooks.sql") . "\nSELECT no_such_function();\n");
spit("$EDIT/functions/common.sql", slurp("$REPO/sql/functions/common.sql") . ($probe =~ s/'one'/'three'/r));
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is $r->{rc}, 2, 'a failing functions file: exit 2';
like $r->{err}, qr{^prefsctl: migrate: functions/webhooks\.sql failed at line \d+ and was rolled back: .*no_such_function},
    'names the file' or diag $r->{err};
is q1($OLDDB, 'SELECT prefs_t012_probe()'), 'two', 'the earlier files of that migrate were rolled back too';
copy("$REPO/sql/functions/webhooks.sql", "$EDIT/functions/webhooks.sql") or die;

# a functions file the manifest does not list
spit("$EDIT/functions/zz_extra.sql", "SELECT 1;\n");
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is $r->{rc}, 1, 'a functions file outside the manifest: exit 1';
like $r->{err}, qr{functions/zz_extra\.sql is not listed in .*manifest}, 'names it' or diag $r->{err};
unlink "$EDIT/functions/zz_extra.sql";

# an applied migration edited: refused, nothing applied
spit("$EDIT/migrations/003_config.sql", slurp("$REPO/sql/migrations/003_config.sql") . "-- an afterthought\n");
spit("$EDIT/migrations/099_later.sql", "CREATE TABLE prefs_t012_later (x int);\n");
spit("$EDIT/functions/common.sql", slurp("$REPO/sql/functions/common.sql") . ($probe =~ s/'one'/'four'/r));
my $versions = q1($OLDDB, q{SELECT string_agg(version || ' ' || checksum, ',' ORDER BY version) FROM prefs_schema_version});
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is $r->{rc}, 1, 'an edited migration: exit 1';
is $r->{out}, '', 'nothing on stdout';
like $r->{err}, qr/^prefsctl: migrate: refused: 003_config\.sql changed after it was applied .*nothing was applied/,
    'the refusal names the file' or diag $r->{err};
is q1($OLDDB, q{SELECT to_regclass('prefs_t012_later') IS NULL}), 't', 'a later migration was not applied';
is q1($OLDDB, 'SELECT prefs_t012_probe()'), 'two', 'nor were the functions';
is q1($OLDDB, q{SELECT string_agg(version || ' ' || checksum, ',' ORDER BY version) FROM prefs_schema_version}),
   $versions, 'the recorded versions are unchanged';

# a renamed one is refused as well
copy("$REPO/sql/migrations/003_config.sql", "$EDIT/migrations/003_config.sql") or die;
rename "$EDIT/migrations/003_config.sql", "$EDIT/migrations/003_configuration.sql" or die;
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is $r->{rc}, 1, 'a renamed migration: exit 1';
like $r->{err}, qr/refused: 003_configuration\.sql changed after it was applied/, 'names it' or diag $r->{err};
rename "$EDIT/migrations/003_configuration.sql", "$EDIT/migrations/003_config.sql" or die;

# restored: the later migration and the functions go in
$r = migrate($OLDDB, '--sql-dir', $EDIT);
is_deeply [$r->{rc}, $J->decode($r->{out} || '{}')], [0, { applied => ['099_later'], version => 99 }],
    'once restored, the new migration is applied' or diag $r->{err};
is q1($OLDDB, 'SELECT prefs_t012_probe()'), 'four', 'and the functions';

done_testing;
