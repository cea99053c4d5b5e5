# tools/prefsctl fixture create / drop: a throwaway database for a user's
# Test::Nginx suite (docs/testing.md), what it prints, what it refuses, and
# that a failed create and a drop leave nothing behind; Test::Nginx::Prefs
# (tools/perl) in that fixture.  The example suite
# that runs in such a fixture is examples/t/ (scripts/test.sh runs it).
use strict;
use warnings;
use lib 't';
use Test::More;
use Cwd ();
use File::Temp qw(tempdir);
use PrefsTest qw(db psql_value);

my $top = PrefsTest::top();
my $tmp = tempdir('prefs-fixture-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# prefsctl(@args): (exit code, stdout, stderr), with the database of --db
# only (no PREFS_* from the environment)
sub prefsctl {
    my @args = @_;
    local @ENV{qw(PREFS_DATABASE PREFS_SECRET_KEY PREFS_FIXTURE_DIR)};
    delete @ENV{qw(PREFS_DATABASE PREFS_SECRET_KEY PREFS_FIXTURE_DIR)};
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', "$tmp/err" or die $!;
        exec("$top/tools/prefsctl", @args) or exit 127;
    }
    local $/;
    my $o = <$out> // '';
    close $out;
    my $rc = $? >> 8;
    open my $e, '<', "$tmp/err" or die $!;
    return ($rc, $o, scalar <$e> // '');
}

sub fixture_dbs {
    return psql_value("SELECT count(*) FROM pg_database WHERE datname LIKE 'prefs\\_fixture\\_%' AND datname = ANY (string_to_array(:'names', ','))",
                      names => join ',', @_);
}

sub exports { my %e = $_[0] =~ /^export (\w+)='([^']*)'$/mg; return \%e }

# --- create ------------------------------------------------------------------

my $dir = "$tmp/fx";
# a test that dies halfway still drops its fixture
END { prefsctl('fixture', 'drop', $dir) if $dir && -d $dir }
my ($rc, $out, $err) = prefsctl('--db', db(), 'fixture', 'create', '--dir', $dir,
                                '--client-id', 'FixCo', '--user', 'fixer', '--group', 'ReadOnly');
is($rc, 0, 'fixture create') or diag($err);
my $env = exports($out);
is_deeply([ sort keys %$env ],
          [ sort qw(PREFS_FIXTURE_DIR PREFS_DATABASE PREFS_SECRET_KEY TEST_NGINX_PREFS_DATABASE
                    TEST_NGINX_PREFS_KEY TEST_NGINX_PREFS_HTTP_CONF TEST_NGINX_PREFS_CLIENT_ID
                    TEST_NGINX_PREFS_USER TEST_NGINX_PREFS_SECRET TEST_NGINX_PREFS_OAUTH_CLIENT_ID
                    TEST_NGINX_PREFS_OAUTH_CLIENT_SECRET TEST_NGINX_LOAD_MODULES) ],
          'it prints the environment of a suite, as export lines') or diag($out);
my ($name) = ($env->{PREFS_DATABASE} // '') =~ /dbname=(prefs_fixture_[0-9a-f]{16})\b/;
ok($name, "a database of its own: $name");
is(fixture_dbs($name), 1, 'which exists');
is($env->{TEST_NGINX_PREFS_CLIENT_ID}, 'FixCo', 'the account asked for');
is($env->{TEST_NGINX_PREFS_USER}, 'fixer', 'the user asked for');
like($env->{TEST_NGINX_PREFS_SECRET}, qr/^[A-Za-z0-9_-]{43,}$/, 'its secret');
is($env->{TEST_NGINX_LOAD_MODULES}, Cwd::abs_path($top) . "/build/ngx_http_prefs_module.so", 'in a source tree: the module make builds');
is(-s "$dir/env", length $out, 'the same lines in DIR/env');
is((stat "$dir/$_")[2] & 077, 0, "DIR/$_ is for its owner only") for qw(. env secret.key admin.conninfo);

{
    local $ENV{TEST_NGINX_PREFS_DATABASE} = $env->{PREFS_DATABASE};
    is(psql_value("SELECT max(version) FROM prefs_schema_version"),
       (sort { $b <=> $a } map { m{/(\d+)_[^/]*$} ? $1 + 0 : () } glob("$top/sql/migrations/*.sql"))[0],
       'migrated to the newest version');
    is(psql_value("SELECT string_agg(g.name, ',') FROM prefs_user u JOIN prefs_account a USING (account_id)"
                  . " JOIN prefs_user_group_member m USING (user_id) JOIN prefs_user_group g USING (group_id)"
                  . " WHERE a.client_id = 'FixCo' AND u.user_name = 'fixer'"), 'ReadOnly', 'the user in the group asked for');
    ok(psql_value("SELECT count(*) FROM prefs_config_item p JOIN prefs_account a USING (account_id) WHERE a.client_id = 'FixCo'") > 0,
       'the demo configuration imported');
    is(psql_value("SELECT count(*) FROM prefs_oauth_client"), 1, 'an OAuth client');
}
my $conf = do { local (@ARGV, $/) = "$dir/prefs-http.conf"; <> };
like($conf, qr/^prefs_database "\Q$env->{PREFS_DATABASE}\E";$/m, 'prefs-http.conf names the database');
like($conf, qr/^prefs_secret_key \Q$dir\E\/secret\.key;$/m, 'and the key file');

# the secret signs for the fixture's key: pnauth + the database's check is
# t/011's business; here the sealed secret must open with the fixture's key
{
    local $ENV{TEST_NGINX_PREFS_DATABASE} = $env->{PREFS_DATABASE};
    is(psql_value("SELECT count(*) FROM prefs_user_secret s JOIN prefs_user u USING (user_id) WHERE u.user_name = 'fixer'"),
       1, 'the user has one secret');
}

# --- Test::Nginx::Prefs in the fixture's environment ---------------------------------

{
    require lib;
    lib->import("$top/tools/perl");
    require Test::Nginx::Prefs;
    my $module = $ENV{TEST_NGINX_LOAD_MODULES};    # make test SANITIZE=1's, say
    local @ENV{keys %$env} = values %$env;
    local $ENV{TEST_NGINX_LOAD_MODULES} = $module if $module;
    local $ENV{TEST_NGINX_BINARY} = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    require Time::Local;
    my $t = Time::Local::timegm(0, 0, 0, 6, 11, 2026);    # 2026-12-06T00:00:00Z
    for my $alg (qw(SHA256 SHA384 SHA512)) {
        local $ENV{PNAUTH_SECRET} = $env->{TEST_NGINX_PREFS_SECRET};
        my $pn = `'$top/tools/pnauth' FixCo fixer - --alg $alg --time 2026-12-06T00:00:00Z 2>&1` =~ s/\n\z//r;
        is(Test::Nginx::Prefs::sign(time => $t, alg => $alg), $pn, "sign() agrees with tools/pnauth ($alg)");
    }
    like(Test::Nginx::Prefs::sign(time => $t, skew => -60), qr{Credential=fixer/2026-12-05T23:59:00 },
         'skew moves the timestamp');
    ok(!eval { Test::Nginx::Prefs::sign(alg => 'MD5'); 1 }, 'an unknown alg dies');
    {
        delete local $ENV{TEST_NGINX_PREFS_SECRET};
        ok(!eval { Test::Nginx::Prefs::sign(); 1 }, 'without the fixture\'s secret, sign() dies');
        like($@, qr/TEST_NGINX_PREFS_SECRET is not set/, 'naming the variable');
    }
    like(Test::Nginx::Prefs::oauth_token(), qr/^[A-Za-z0-9_-]{43,}$/,
         'oauth_token(): a token from an nginx of its own');
    ok(!eval { Test::Nginx::Prefs::oauth_token(client_secret => 'wrong'); 1 }, 'a wrong client secret dies');
    like($@, qr/invalid_client/, 'with the server\'s answer');
}

# --- refusals: nothing made ------------------------------------------------------

# argument errors come before any database work: with a server that cannot
# be reached, they still exit 1 (a connection failure is exit 2)
my @nodb = ('--db', 'host=/nonexistent-socket-dir dbname=x');
($rc, undef, $err) = prefsctl('--db', db(), 'fixture', 'create', '--dir', $dir);
is($rc, 1, 'a --dir that is not empty: exit 1');
like($err, qr/exists and is not an empty directory/, 'named');
($rc, undef, $err) = prefsctl(@nodb, 'fixture', 'create', '--dir', "$tmp/bad", '--client-id', "x y'; DROP");
is($rc, 1, 'a bad ClientId: exit 1, before any database work');
like($err, qr/invalid ClientId/, 'named');
ok(!-e "$tmp/bad", 'no directory made');
($rc, undef, $err) = prefsctl(@nodb, 'fixture', 'create', '--dir', "$tmp/bad", '--user', "a/b");
is($rc, 1, 'a bad UserName: exit 1');
($rc, undef, $err) = prefsctl(@nodb, 'fixture', 'create', '--dir', "$tmp/bad", '--bogus');
is($rc, 1, 'an unknown option: exit 1');
($rc, undef, $err) = prefsctl(@nodb, 'fixture', 'create', '--config', "$tmp/none.json", '--dir', "$tmp/bad");
is($rc, 1, 'a missing configuration file: exit 1');
ok(!-e "$tmp/bad", 'no directory made by the refusals');

# a create that fails halfway (the configuration document is refused by
# config import, after the database was made) leaves nothing behind
open my $fh, '>', "$tmp/broken.json" or die $!;
print $fh '{"Programs": [ {"ProgramId": 42} ]}';
close $fh;
($rc, $out, $err) = prefsctl('--db', db(), 'fixture', 'create', '--dir', "$tmp/half", '--config', "$tmp/broken.json");
isnt($rc, 0, 'a configuration that config import refuses: the create fails') or diag($out);
like($err, qr/'config import' failed/, 'saying where');
my ($half) = $err =~ /the database (prefs_fixture_[0-9a-f]{16}) is dropped again/;
ok($half, 'naming the database it had made') or diag($err);
is($out, '', 'and prints no environment');
ok(!-e "$tmp/half", 'its directory is gone');
is(fixture_dbs($half // 'none'), 0, 'its database is gone');

# a conninfo the server refuses
($rc, undef, $err) = prefsctl('--db', 'host=/nonexistent-socket-dir dbname=x', 'fixture', 'create', '--dir', "$tmp/nodb");
is($rc, 2, 'an unreachable server: exit 2');
ok(!-e "$tmp/nodb", 'and nothing left');

# --- drop ----------------------------------------------------------------------------

mkdir "$tmp/plain" or die $!;
open $fh, '>', "$tmp/plain/keep" or die $!;
close $fh;
($rc, undef, $err) = prefsctl('fixture', 'drop', "$tmp/plain");
is($rc, 1, 'drop of a directory that is no fixture: exit 1');
ok(-e "$tmp/plain/keep", 'and it is left alone');
open $fh, '>', "$tmp/plain/fixture.state" or die $!;
print $fh "database=postgres\n";
close $fh;
($rc, undef, $err) = prefsctl('--db', db(), 'fixture', 'drop', "$tmp/plain");
is($rc, 1, 'a state file naming another database: exit 1');
like($err, qr/names no fixture database/, 'named');
is(psql_value("SELECT count(*) FROM pg_database WHERE datname = 'postgres'"), 1, 'that database is untouched');

{
    # after `eval "$(prefsctl fixture create)"`, PREFS_DATABASE is the
    # fixture's own database: drop still goes to the server it came from
    local $ENV{PREFS_FIXTURE_DIR} = $dir;
    my $pid = open(my $o, '-|') // die;
    if (!$pid) {
        $ENV{PREFS_DATABASE} = $env->{PREFS_DATABASE};
        open STDERR, '>&', \*STDOUT;
        exec("$top/tools/prefsctl", 'fixture', 'drop') or exit 127;
    }
    local $/;
    $out = <$o>;
    close $o;
    is($? >> 8, 0, 'fixture drop (the directory from PREFS_FIXTURE_DIR, in the environment create printed)') or diag($out);
}
like($out, qr/"Dropped": "\Q$name\E"/, 'it names the database');
is(fixture_dbs($name), 0, 'the database is gone');
ok(!-e $dir, 'the directory is gone');

# --- docs/testing.md shows the example suite that make test runs ----------------------

{
    my $doc = do { local (@ARGV, $/) = "$top/docs/testing.md"; <> };
    my $suite = do { local (@ARGV, $/) = "$top/examples/t/prefs-example.t"; <> };
    my ($shown) = $doc =~ /<!-- example suite: begin -->\n```perl\n(.*?)```\n<!-- example suite: end -->/s;
    ok(defined $shown && $shown eq $suite, 'docs/testing.md shows examples/t/prefs-example.t as it is');
}

done_testing();
