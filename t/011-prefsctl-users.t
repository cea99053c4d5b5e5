#!/usr/bin/perl
# tools/prefsctl: users, HMAC secrets, OAuth clients and authentication
# windows; tools/pnauth.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of the database (skipped when unset)
#   TEST_NGINX_PREFS_KEY       the secret key file to use (default: a new one
#                              made with build/prefs-secret keygen)
#   PREFS_SECRET_TOOL          the sealing tool (default <repo>/build/prefs-secret)
#
# Uses unique ClientIds per run and deletes its accounts at the end, so it
# can be rerun on the same database.  Whether nginx accepts the secrets is
# for the HTTP suites; here the secrets are checked through tools/pnauth and
# the database functions.

use strict;
use warnings;
use utf8;

use Test::More;
use FindBin ();
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);
use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha384 hmac_sha512);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();
use POSIX ();
use Time::Local ();

my $REPO     = "$FindBin::Bin/..";
my $PREFSCTL = "$REPO/tools/prefsctl";
my $PNAUTH   = "$REPO/tools/pnauth";
my $JSON     = JSON::PP->new->utf8->canonical;
my $TAG      = sprintf 'u%d-%d', $$, time;   # unique per run
my $TMP      = tempdir('prefsctl-users-XXXXXX', TMPDIR => 1, CLEANUP => 1);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

# ---------------------------------------------------------------------------
# run(\%env, @args) or run(@args): runs prefsctl (or $env{PROG}) without a
# shell, returns {rc, out, err} (out/err as bytes).  The secret-related
# variables are cleared unless given.
sub run {
    my %env = ref $_[0] eq 'HASH' ? %{ shift @_ } : ();
    my @args = @_;
    my $prog = delete $env{PROG} // $PREFSCTL;
    my ($out, $err) = ("$TMP/out.$$", "$TMP/err.$$");
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        delete @ENV{qw(PREFS_DATABASE PREFS_SECRET_KEY PNAUTH_SECRET)};
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

sub spew {
    my ($path, $content, $mode) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh or die;
    chmod $mode, $path if defined $mode;
}

# ---------------------------------------------------------------------------
# what the tests need

my $DB = $ENV{TEST_NGINX_PREFS_DATABASE};
plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set' unless defined $DB && length $DB;

my $TOOL = $ENV{PREFS_SECRET_TOOL} || "$REPO/build/prefs-secret";
plan skip_all => "$TOOL is missing: run make" unless -x $TOOL;
$ENV{PREFS_SECRET_TOOL} = $TOOL;   # for every run() unless it says otherwise

my $KEY = $ENV{TEST_NGINX_PREFS_KEY};
unless (defined $KEY && length $KEY) {
    $KEY = "$TMP/secret.key";
    my $hex = `'$TOOL' keygen`;
    die "prefs-secret keygen failed\n" unless $? == 0 && $hex =~ /\A[0-9a-f]{64}\n\z/;
    spew($KEY, $hex, 0600);
}

sub ctl { run({}, '--db', $DB, '--key', $KEY, @_) }

sub decode_out {
    my ($r) = @_;
    my $v = eval { $JSON->decode($r->{out}) };
    diag("not JSON: $r->{out} / $r->{err}") unless defined $v;
    return $v;
}

# psql_var_value($sql, %vars): values go to psql as variables.
sub psql_var_value {
    my ($sql, %vars) = @_;
    local $ENV{PGCLIENTENCODING} = 'UTF8';
    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
    my @v = map {
        my $val = $vars{$_};
        utf8::encode($val) if utf8::is_utf8($val);
        ('-v', "$_=$val")
    } sort keys %vars;
    my $in = "$TMP/in.sql";
    spew($in, "$sql\n");
    open my $fh, '-|', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', @v, '-d', $DB, '-f', $in
        or die "psql: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "psql failed for: $sql\n";
    $out //= '';
    $out =~ s/\n\z//;
    utf8::decode($out);
    return $out;
}

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my $B64URL_SECRET = qr/^[A-Za-z0-9_-]{43}$/;

my @accounts;
sub new_account {
    my ($name, @opts) = @_;
    my $id = "$name-$TAG";
    my $r = ctl('account', 'create', $id, @opts);
    die "account create $id: $r->{err}" unless $r->{rc} == 0;
    push @accounts, $id;
    return $id;
}
END {
    if (@accounts && defined $DB) {
        my %v = map { ("a$_" => $accounts[$_]) } 0 .. $#accounts;
        eval {
            psql_var_value('DELETE FROM prefs_account WHERE client_id IN ('
                           . join(', ', map { ":'a$_'" } 0 .. $#accounts) . ')', %v);
        };
    }
}

# rows of an account: users, secrets, live secrets, group memberships, OAuth clients
sub rows {
    my ($client) = @_;
    my $v = psql_var_value(q{
SELECT json_build_object(
  'users',   (SELECT count(*) FROM prefs_user u JOIN prefs_account a USING (account_id)
               WHERE a.client_id = :'c'),
  'secrets', (SELECT count(*) FROM prefs_user_secret s JOIN prefs_user u USING (user_id)
               JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'),
  'members', (SELECT count(*) FROM prefs_user_group_member m JOIN prefs_user u USING (user_id)
               JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'),
  'oauth',   (SELECT count(*) FROM prefs_oauth_client o JOIN prefs_user u USING (user_id)
               JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'))},
        c => $client);
    return JSON::PP->new->decode($v);
}

sub user_row {
    my ($client, $user) = @_;
    my $v = psql_var_value(q{
SELECT row_to_json(u) FROM prefs_user u JOIN prefs_account a USING (account_id)
 WHERE a.client_id = :'c' AND u.user_name = :'u'}, c => $client, u => $user);
    return length $v ? JSON::PP->new->decode($v) : undef;
}

# secrets of a user, oldest first: [{secret_id, sealed, live}]
sub secrets {
    my ($client, $user) = @_;
    my $v = psql_var_value(q{
SELECT coalesce(json_agg(json_build_object('secret_id', s.secret_id, 'sealed', s.sealed,
                                           'live', s.retired_at IS NULL) ORDER BY s.secret_id), '[]')
  FROM prefs_user_secret s JOIN prefs_user u USING (user_id) JOIN prefs_account a USING (account_id)
 WHERE a.client_id = :'c' AND u.user_name = :'u'}, c => $client, u => $user);
    return JSON::PP->new->decode($v);
}

sub pnauth {
    my ($env, @args) = ref $_[0] eq 'HASH' ? @_ : ({}, @_);
    return run({ %$env, PROG => $PNAUTH }, @args);
}

# The header value pnauth must print, computed here independently.
sub expected_header {
    my ($alg, $client, $user, $secret, $stamp) = @_;
    my %f = (SHA256 => \&hmac_sha256, SHA384 => \&hmac_sha384, SHA512 => \&hmac_sha512);
    my $sig = encode_base64($f{$alg}->("$client:$user:$stamp", $secret), '');
    return "PNAUTHINFO3-HMAC-$alg Credential=$user/$stamp Signature=$sig\n";
}

# The schema (idempotent; another test file may run it too).
{
    my $r = run({}, '--db', $DB, 'migrate');
    BAIL_OUT("migrate failed: $r->{err}") unless $r->{rc} == 0;
}

# ---------------------------------------------------------------------------
subtest 'usage' => sub {
    my $r = run('help');
    is $r->{rc}, 0, 'help exits 0';
    like $r->{out}, qr/^  user create CLIENTID USERNAME/m, 'help lists user create';
    like $r->{out}, qr/^  oauth-client create CLIENTID USERNAME/m, 'help lists oauth-client create';
    like $r->{out}, qr/^  account set-auth-window CLIENTID SECONDS/m, 'help lists account set-auth-window';
    like $r->{out}, qr/--key FILE/, 'help explains --key';

    my $acct = "usage-$TAG";
    for my $args (['user'], ['user', 'frob'], ['user', 'create'], ['user', 'create', $acct],
                  ['user', 'create', $acct, 'u', 'extra'], ['user', 'create', $acct, 'u', '--group'],
                  ['user', 'create', $acct, 'u', '--bogus', 'x'], ['user', 'list'],
                  ['user', 'list', $acct, 'x'], ['user', 'deactivate', $acct],
                  ['user', 'activate'], ['user', 'rotate-secret', $acct],
                  ['user', 'retire-secrets', $acct], ['user', 'retire-secrets', $acct, 'u', '--keep'],
                  ['oauth-client'], ['oauth-client', 'frob'], ['oauth-client', 'create', $acct],
                  ['oauth-client', 'list'], ['oauth-client', 'revoke'],
                  ['oauth-client', 'revoke', 'a' x 20, 'b'],
                  ['account', 'set-auth-window'], ['account', 'set-auth-window', $acct],
                  ['account', 'set-auth-window', $acct, 60, 61],
                  ['account', 'create', $acct, '--auth-window'], ['--key']) {
        my $r = ctl(@$args);
        is $r->{rc}, 1, "'@$args': exit 1";
        like $r->{err}, qr/^prefsctl: /, "'@$args': prefsctl: message";
        is $r->{out}, '', "'@$args': nothing on stdout";
    }
};

# ---------------------------------------------------------------------------
subtest 'account authentication window' => sub {
    my $id = "win-$TAG";
    my $r = ctl('account', 'create', $id, '--auth-window', '300');
    is $r->{rc}, 0, 'create with --auth-window exits 0' or diag $r->{err};
    push @accounts, $id;
    my $a = decode_out($r);
    is $a->{AuthWindowSeconds}, 300, 'AuthWindowSeconds in the output';
    is_deeply [sort keys %$a], [qw(AccountId AuthWindowSeconds ClientId CreatedAt Name)], 'keys';
    is psql_var_value("SELECT auth_window_seconds FROM prefs_account WHERE client_id = :'c'", c => $id),
        300, 'stored';

    my $plain = new_account('win2');
    is psql_var_value("SELECT auth_window_seconds FROM prefs_account WHERE client_id = :'c'", c => $plain),
        900, 'default 900';
    $r = ctl('account', 'create', "win3-$TAG");
    push @accounts, "win3-$TAG";
    is_deeply [sort keys %{ decode_out($r) }], [qw(AccountId ClientId CreatedAt Name)],
        'without --auth-window: the output is as before';
    $r = ctl('account', 'create', "--auth-window=86400", "win4-$TAG");
    push @accounts, "win4-$TAG";
    is decode_out($r)->{AuthWindowSeconds}, 86400, '--auth-window=SECONDS, upper limit';

    $r = ctl('account', 'set-auth-window', $plain, '60');
    is $r->{rc}, 0, 'set-auth-window exits 0' or diag $r->{err};
    is_deeply decode_out($r), { ClientId => $plain, AuthWindowSeconds => 60 }, 'set-auth-window output';
    is psql_var_value("SELECT auth_window_seconds FROM prefs_account WHERE client_id = :'c'", c => $plain),
        60, 'set-auth-window stored';

    my ($listed) = grep { $_->{ClientId} eq $id } @{ decode_out(ctl('account', 'list')) };
    is $listed->{AuthWindowSeconds}, 300, 'account list shows AuthWindowSeconds';

    for my $bad ('59', '86401', '0', '-60', 'abc', '', '1e3', '0300', '300 ', "300\n",
                 '99999999999999999999', "60'; UPDATE prefs_account SET is_active = false; --") {
        (my $show = $bad) =~ s/\n/\\n/g;
        my $r = ctl('account', 'set-auth-window', $plain, $bad);
        is $r->{rc}, 1, "set-auth-window '$show': exit 1";
        like $r->{err}, qr/^prefsctl: invalid authentication window/, "set-auth-window '$show': message";
        $r = ctl('account', 'create', "bad-$TAG", '--auth-window', $bad);
        is $r->{rc}, 1, "create --auth-window '$show': exit 1";
    }
    is psql_var_value("SELECT count(*) FROM prefs_account WHERE client_id = :'c'", c => "bad-$TAG"), 0,
        'bad windows: no account created';
    is psql_var_value("SELECT auth_window_seconds FROM prefs_account WHERE client_id = :'c'", c => $plain),
        60, 'bad windows: unchanged';

    $r = ctl('account', 'set-auth-window', "nobody-$TAG", '120');
    is $r->{rc}, 1, 'unknown account: exit 1';
    is $r->{err}, "prefsctl: account nobody-$TAG not found\n", 'unknown account: message';
    is $r->{out}, '', 'unknown account: nothing on stdout';
};

# ---------------------------------------------------------------------------
my $A = new_account('users');
my $B = new_account('other');
my %secret;   # user => the plaintext secret last printed

subtest 'user create' => sub {
    my $before = rows($A);
    my $r = ctl('user', 'create', $A, 'alice', '--group', 'ReadOnly', '--group', 'Administrators',
                '--first-name', 'Alice', '--last-name', 'Liddell', '--email', 'alice@example.com');
    is $r->{rc}, 0, 'create exits 0' or diag $r->{err};
    is $r->{err}, '', 'nothing on stderr';
    my $u = decode_out($r);
    is_deeply [sort keys %$u], [qw(ClientId Groups Secret UserId UserName)], 'exactly these keys';
    like $u->{UserId}, qr/^\d+$/, 'UserId';
    is $u->{ClientId}, $A, 'ClientId';
    is $u->{UserName}, 'alice', 'UserName';
    is_deeply $u->{Groups}, ['Administrators', 'ReadOnly'], 'Groups, sorted';
    like $u->{Secret}, $B64URL_SECRET, 'Secret: 32 random bytes, base64url';
    $secret{alice} = $u->{Secret};

    my $row = user_row($A, 'alice');
    is $row->{user_id}, $u->{UserId}, 'row: user_id';
    is $row->{first_name}, 'Alice', 'row: first name';
    is $row->{last_name}, 'Liddell', 'row: last name';
    is $row->{email}, 'alice@example.com', 'row: email';
    ok $row->{is_active}, 'row: active';
    is psql_var_value("SELECT prefs_user_permissions(:'u')", u => $u->{UserId}),
        'BulkExport,BulkImport,ConfigurationRead,ConfigurationWrite,EventDataView,ProfileRead,ProfileWrite,UserManage,WebhookManage',
        'permissions from the groups';

    my $s = secrets($A, 'alice');
    is scalar @$s, 1, 'one secret stored';
    ok $s->[0]{live}, 'and live';
    like $s->[0]{sealed}, qr{^[A-Za-z0-9+/=]+$}, 'stored sealed (base64)';
    unlike $s->[0]{sealed}, qr/\Q$u->{Secret}\E/, 'the sealed form does not contain the secret';
    cmp_ok length $s->[0]{sealed}, '>', length $u->{Secret}, 'sealed is longer than the secret (nonce, tag)';
    is psql_var_value(q{SELECT count(*) FROM prefs_user_secret s
                        WHERE strpos(row_to_json(s)::text, :'x') > 0}, x => $u->{Secret}),
        0, 'no secret row anywhere contains the plaintext';
    my $after = rows($A);
    is_deeply $after, { users => $before->{users} + 1, secrets => $before->{secrets} + 1,
                        members => $before->{members} + 2, oauth => $before->{oauth} }, 'rows added';

    # The plaintext signs requests: pnauth gives what HMAC-SHA256 gives.
    $r = pnauth({ PNAUTH_SECRET => $u->{Secret} }, $A, 'alice', '-', '--time', '2024-02-29T12:00:00Z');
    is $r->{rc}, 0, 'pnauth with the new secret';
    is $r->{out}, expected_header('SHA256', $A, 'alice', $u->{Secret}, '2024-02-29T12:00:00'),
        'pnauth header for the new user';

    # no groups, no names
    $r = ctl('user', 'create', $A, 'bob');
    is $r->{rc}, 0, 'create without options' or diag $r->{err};
    is_deeply decode_out($r)->{Groups}, [], 'no groups';
    is user_row($A, 'bob')->{first_name}, '', 'first name defaults to empty';
    $secret{bob} = decode_out($r)->{Secret};
    isnt $secret{bob}, $secret{alice}, 'each user gets its own secret';

    # --opt=value forms, a repeated group, options after --
    $r = ctl('user', 'create', "--group=ConfigurationManagers", '--email=c@example.com', $A, 'carol',
             '--group', 'ConfigurationManagers', '--first-name=', '--', '--last-name');
    is $r->{rc}, 1, 'a third positional after --: exit 1';
    $r = ctl('user', 'create', "--group=ConfigurationManagers", '--email=c@example.com', $A,
             '--group', 'ConfigurationManagers', '--', '-carol');
    is $r->{rc}, 0, '--opt=value, a repeated group, a name after --' or diag $r->{err};
    is_deeply decode_out($r)->{Groups}, ['ConfigurationManagers'], 'a repeated group counts once';
    is user_row($A, '-carol')->{email}, 'c@example.com', '--email=value stored';
};

subtest 'user create: refused' => sub {
    my $before = rows($A);
    my $r = ctl('user', 'create', $A, 'alice', '--group', 'ReadOnly');
    is $r->{rc}, 1, 'duplicate active user: exit 1';
    is $r->{err}, "prefsctl: user alice already exists in $A\n", 'duplicate: message';
    is $r->{out}, '', 'duplicate: nothing on stdout';
    is_deeply rows($A), $before, 'duplicate: nothing changed';
    is scalar @{ secrets($A, 'alice') }, 1, 'duplicate: no secret added';

    $r = ctl('user', 'create', $A, 'dora', '--group', 'ReadOnly', '--group', 'NoSuchGroup');
    is $r->{rc}, 1, 'unknown group: exit 1';
    like $r->{err}, qr/^prefsctl: user create: unknown group 'NoSuchGroup'/, 'unknown group: message';
    is $r->{out}, '', 'unknown group: nothing on stdout';
    is user_row($A, 'dora'), undef, 'unknown group: no user';
    is_deeply rows($A), $before, 'unknown group: no row anywhere';

    # a group of another account is unknown here
    psql_var_value(q{INSERT INTO prefs_user_group (account_id, name, permissions)
                     SELECT account_id, 'Auditors', ARRAY['EventDataView'] FROM prefs_account
                      WHERE client_id = :'c'}, c => $B);
    $r = ctl('user', 'create', $A, 'dora', '--group', 'Auditors');
    is $r->{rc}, 1, "another account's group: exit 1";
    like $r->{err}, qr/unknown group 'Auditors'/, "another account's group: message";
    is_deeply rows($A), $before, "another account's group: nothing created";
    $r = ctl('user', 'create', $B, 'dora', '--group', 'Auditors', '--group', 'ReadOnly');
    is $r->{rc}, 0, "the account's own group" or diag $r->{err};
    is_deeply decode_out($r)->{Groups}, ['Auditors', 'ReadOnly'], "own and built-in groups";
    is psql_var_value("SELECT prefs_user_permissions(:'u')", u => decode_out($r)->{UserId}),
        'ConfigurationRead,EventDataView,ProfileRead', 'permissions of both';

    $r = ctl('user', 'create', "nobody-$TAG", 'alice');
    is $r->{rc}, 1, 'unknown account: exit 1';
    is $r->{err}, "prefsctl: account nobody-$TAG not found\n", 'unknown account: message';
    is $r->{out}, '', 'unknown account: nothing on stdout';

    $r = ctl('user', 'create', $A, 'erin', '--first-name', 'x' x 101);
    is $r->{rc}, 1, 'first name over 100 characters: exit 1';
    like $r->{err}, qr/^prefsctl: user create: the first name is longer than 100 characters/, 'message';
    $r = ctl('user', 'create', $A, 'erin', '--email', ('x' x 250) . '@x.io');
    is $r->{rc}, 1, 'email over 254 characters: exit 1';
    $r = ctl('user', 'create', $A, 'erin', '--last-name', "\xff\xfe");
    is $r->{rc}, 1, 'last name not UTF-8: exit 1';
    like $r->{err}, qr/UTF-8/, 'message';
    $r = ctl('user', 'create', $A, 'erin', map { ('--group', "G$_") } 1 .. 21);
    is $r->{rc}, 1, 'more than 20 groups: exit 1';
    is_deeply rows($A), $before, 'refused: nothing created';
};

subtest 'user names' => sub {
    my $before = rows($A);
    for my $bad ('', 'a b', 'a/b', 'a,b', "a\tb", "a\nb", "a\rb", "a\x01b", "a\x7f", "\e[31mred",
                 'x' x 129, "bad\xff", "\xc3", "a\xc2\xa0b", "a\xc2\x85b", "a\xe2\x80\x83b",
                 "a\xe3\x80\x80b", "a\xe2\x80\xa8b", "x'; DROP TABLE prefs_user; --",
                 "\\! touch $TMP/pwned", 'ClientId/UserName') {
        (my $show = $bad) =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
        my $r = ctl('user', 'create', $A, $bad);
        is $r->{rc}, 1, "bad UserName '$show': exit 1";
        like $r->{err}, qr/^prefsctl: invalid UserName /, "bad UserName '$show': message";
        unlike $r->{err}, qr/[\x00-\x09\x0b-\x1f\x7f]/, "bad UserName '$show': no control characters in the message";
        is $r->{out}, '', "bad UserName '$show': nothing on stdout";
    }
    is_deeply rows($A), $before, 'bad UserNames: nothing created';
    ok !-e "$TMP/pwned", 'no psql meta-command ran';

    # checked before connecting, and before the key is looked at
    my $r = run({}, '--db', 'host=/nonexistent dbname=x', '--key', "$TMP/none", 'user', 'create', $A, 'a b');
    is $r->{rc}, 1, 'bad UserName is reported before anything else';
    like $r->{err}, qr/invalid UserName/, '...as a bad UserName';

    # odd but valid names are stored verbatim
    my @odd = (q{O'Brien"the\quoted"}, q{:'user_name'}, q{:"user_name":user_name}, q{\!touch},
               q{x');DELETE_FROM_prefs_user;--}, q{$(touch_pwned)`id`}, q{%s%n%x}, q{a=b&c;d|e<f>g},
               'café-日本語-🎉', 'é' x 128, 'x' x 128, q{@}, q{--}, q{*});
    my $i = 0;
    for my $name (@odd) {
        $i++;
        my $bytes = $name;
        utf8::encode($bytes);
        my $r = ctl('user', 'create', $A, '--', $bytes);
        is $r->{rc}, 0, "odd name $i: create exits 0" or diag $r->{err};
        my $u = decode_out($r) or next;
        is $u->{UserName}, $name, "odd name $i: JSON output verbatim";
        ok user_row($A, $name), "odd name $i: stored verbatim";
        $r = ctl('user', 'rotate-secret', $A, $bytes);
        is $r->{rc}, 0, "odd name $i: found again by name" or diag $r->{err};
    }
    ok !-e "$TMP/pwned" && !-e 'touch_pwned', 'nothing ran';
    is rows($A)->{users}, $before->{users} + @odd, 'one user per odd name';
};

subtest 'user list' => sub {
    my $r = ctl('user', 'list', $A);
    is $r->{rc}, 0, 'list exits 0' or diag $r->{err};
    my $list = decode_out($r);
    is ref $list, 'ARRAY', 'an array';
    is scalar @$list, rows($A)->{users}, 'every user of the account';
    my ($alice) = grep { $_->{UserName} eq 'alice' } @$list;
    is_deeply [sort keys %$alice],
        [qw(CreatedAt Email FirstName Groups IsActive LastName LiveSecrets UserId UserName)], 'keys';
    is $alice->{FirstName}, 'Alice', 'FirstName';
    is $alice->{LastName}, 'Liddell', 'LastName';
    is $alice->{Email}, 'alice@example.com', 'Email';
    is_deeply $alice->{Groups}, ['Administrators', 'ReadOnly'], 'Groups';
    ok $alice->{IsActive}, 'IsActive';
    is $alice->{LiveSecrets}, 1, 'LiveSecrets';
    like $alice->{CreatedAt}, $ISO, 'CreatedAt';
    ok !grep({ $_->{UserName} eq 'dora' } @$list), "another account's user is not listed";
    my @ids = map { $_->{UserId} } @$list;
    is_deeply \@ids, [sort { $a <=> $b } @ids], 'ordered by UserId';
    unlike $r->{out}, qr/\Q$secret{alice}\E/, 'no secret in the list';

    my $empty = new_account('empty');
    is_deeply decode_out(ctl('user', 'list', $empty)), [], 'an account without users: []';

    $r = ctl('user', 'list', "nobody-$TAG");
    is $r->{rc}, 1, 'unknown account: exit 1';
    is $r->{err}, "prefsctl: account nobody-$TAG not found\n", 'unknown account: message';
    $r = run({}, '--db', $DB, '--key', "$TMP/none", 'user', 'list', $A);
    is $r->{rc}, 0, 'list needs no key file';
};

subtest 'user deactivate, activate, reactivation' => sub {
    my $r = ctl('user', 'deactivate', $A, 'alice');
    is $r->{rc}, 0, 'deactivate exits 0' or diag $r->{err};
    my $u = decode_out($r);
    is_deeply [sort keys %$u], [qw(Changed ClientId IsActive UserId UserName)], 'keys';
    is $u->{UserName}, 'alice', 'UserName';
    ok !$u->{IsActive}, 'IsActive false';
    ok $u->{Changed}, 'Changed';
    ok !user_row($A, 'alice')->{is_active}, 'stored';
    $r = ctl('user', 'deactivate', $A, 'alice');
    is $r->{rc}, 0, 'deactivating again exits 0';
    ok !decode_out($r)->{Changed}, '...and changes nothing';

    $r = ctl('user', 'activate', $A, 'alice');
    is $r->{rc}, 0, 'activate exits 0' or diag $r->{err};
    ok decode_out($r)->{IsActive}, 'IsActive true';
    ok decode_out($r)->{Changed}, 'Changed';
    ok user_row($A, 'alice')->{is_active}, 'stored';
    is_deeply decode_out(ctl('user', 'list', $A))->[0]{Groups}, ['Administrators', 'ReadOnly'],
        'groups kept';

    for my $cmd ('activate', 'deactivate') {
        $r = ctl('user', $cmd, $A, 'nobody');
        is $r->{rc}, 1, "$cmd unknown user: exit 1";
        is $r->{err}, "prefsctl: user nobody not found in $A\n", "$cmd unknown user: message";
        $r = ctl('user', $cmd, "nobody-$TAG", 'alice');
        is $r->{rc}, 1, "$cmd unknown account: exit 1";
        is $r->{err}, "prefsctl: account nobody-$TAG not found\n", "$cmd unknown account: message";
        $r = ctl('user', $cmd, $A, 'a b');
        is $r->{rc}, 1, "$cmd bad name: exit 1";
    }
    $r = ctl('user', 'deactivate', $B, 'alice');
    is $r->{rc}, 1, "a user of another account is not found";

    # create over an inactive user reactivates it, with the given groups and
    # only the new secret
    my $id = user_row($A, 'bob')->{user_id};
    is ctl('user', 'rotate-secret', $A, 'bob')->{rc}, 0, 'bob has two live secrets';
    is ctl('user', 'deactivate', $A, 'bob')->{rc}, 0, 'bob deactivated';
    my $before = rows($A);
    $r = ctl('user', 'create', $A, 'bob', '--group', 'Integration', '--first-name', 'Robert');
    is $r->{rc}, 0, 'create reactivates an inactive user' or diag $r->{err};
    $u = decode_out($r);
    is $u->{UserId}, $id, 'same UserId';
    is_deeply $u->{Groups}, ['Integration'], 'groups replaced';
    my $row = user_row($A, 'bob');
    ok $row->{is_active}, 'active again';
    is $row->{first_name}, 'Robert', 'first name set';
    my $s = secrets($A, 'bob');
    is scalar(grep { $_->{live} } @$s), 1, 'only one live secret';
    ok $s->[-1]{live}, '...the new one';
    is rows($A)->{users}, $before->{users}, 'no user added';
    $secret{bob} = $u->{Secret};
};

subtest 'user rotate-secret and retire-secrets' => sub {
    my $r = ctl('user', 'create', $A, 'frank');
    is $r->{rc}, 0, 'user for rotation';
    my @plain = (decode_out($r)->{Secret});

    $r = ctl('user', 'rotate-secret', $A, 'frank');
    is $r->{rc}, 0, 'rotate exits 0' or diag $r->{err};
    my $o = decode_out($r);
    is_deeply [sort keys %$o], [qw(ClientId LiveSecrets Secret SecretId UserName)], 'keys';
    is $o->{UserName}, 'frank', 'UserName';
    like $o->{Secret}, $B64URL_SECRET, 'Secret';
    isnt $o->{Secret}, $plain[0], 'a new secret';
    is $o->{LiveSecrets}, 2, 'LiveSecrets 2: the previous one stays live';
    my $s = secrets($A, 'frank');
    is $o->{SecretId}, $s->[-1]{secret_id}, 'SecretId is the newest row';
    is scalar(grep { $_->{live} } @$s), 2, 'two live rows';
    push @plain, $o->{Secret};

    $r = ctl('user', 'rotate-secret', $A, 'frank');
    $o = decode_out($r);
    is $o->{LiveSecrets}, 2, 'a third secret: still at most 2 live';
    push @plain, $o->{Secret};
    $s = secrets($A, 'frank');
    is_deeply [map { $_->{live} ? 1 : 0 } @$s], [0, 1, 1], 'the oldest was retired';

    my %seen;
    $seen{$_->{sealed}}++ for @$s;
    is scalar keys %seen, 3, 'every sealed form differs';
    for my $p (@plain) {
        ok !grep({ index($_->{sealed}, $p) >= 0 } @$s), 'no sealed form contains a plaintext';
    }
    is pnauth({ PNAUTH_SECRET => $plain[-1] }, $A, 'frank', '-', '--time', '2030-01-02T03:04:05')->{out},
        expected_header('SHA256', $A, 'frank', $plain[-1], '2030-01-02T03:04:05'),
        'pnauth header with the rotated secret';

    $r = ctl('user', 'retire-secrets', $A, 'frank');
    is $r->{rc}, 0, 'retire exits 0' or diag $r->{err};
    is_deeply decode_out($r), { Retired => 1, LiveSecrets => 1 }, 'retire: 1 retired, 1 live';
    $s = secrets($A, 'frank');
    is_deeply [map { $_->{live} ? 1 : 0 } @$s], [0, 0, 1], 'the newest stays';
    is_deeply decode_out(ctl('user', 'retire-secrets', $A, 'frank')), { Retired => 0, LiveSecrets => 1 },
        'retire again: nothing to do';
    my ($frank) = grep { $_->{UserName} eq 'frank' } @{ decode_out(ctl('user', 'list', $A)) };
    is $frank->{LiveSecrets}, 1, 'list shows LiveSecrets';

    ctl('user', 'rotate-secret', $A, 'frank');
    is_deeply decode_out(ctl('user', 'retire-secrets', $A, 'frank', '--keep', '2')),
        { Retired => 0, LiveSecrets => 2 }, '--keep 2 keeps both';
    is_deeply decode_out(ctl('user', 'retire-secrets', $A, 'frank', '--keep=0')),
        { Retired => 2, LiveSecrets => 0 }, '--keep=0 retires all';
    is scalar @{ secrets($A, 'frank') }, 4, 'retired rows stay: four secret rows';

    for my $bad ('-1', 'x', '', '1.5', '99999999999') {
        my $r = ctl('user', 'retire-secrets', $A, 'frank', '--keep', $bad);
        is $r->{rc}, 1, "--keep '$bad': exit 1";
        like $r->{err}, qr/^prefsctl: invalid --keep/, "--keep '$bad': message";
    }
    for my $cmd ('rotate-secret', 'retire-secrets') {
        $r = ctl('user', $cmd, $A, 'nobody');
        is $r->{rc}, 1, "$cmd unknown user: exit 1";
        is $r->{err}, "prefsctl: user nobody not found in $A\n", "$cmd unknown user: message";
        $r = ctl('user', $cmd, "nobody-$TAG", 'frank');
        is $r->{rc}, 1, "$cmd unknown account: exit 1";
        is $r->{err}, "prefsctl: account nobody-$TAG not found\n", "$cmd unknown account: message";
    }
};

subtest 'key file and sealing tool' => sub {
    my $before = rows($A);
    my $r = run({}, '--db', $DB, '--key', "$TMP/no-such.key", 'user', 'create', $A, 'gina');
    is $r->{rc}, 1, 'missing --key file: exit 1';
    like $r->{err}, qr{^prefsctl: the secret key file \Q$TMP\E/no-such\.key \(--key\) does not exist}, 'message';
    is $r->{out}, '', 'nothing on stdout';
    $r = run({ PREFS_SECRET_KEY => "$TMP/no-such.key" }, '--db', $DB, 'user', 'rotate-secret', $A, 'alice');
    is $r->{rc}, 1, 'missing $PREFS_SECRET_KEY file: exit 1';
    like $r->{err}, qr/PREFS_SECRET_KEY\) does not exist/, 'message';
    $r = run({}, '--db', $DB, '--key', $TMP, 'user', 'create', $A, 'gina');
    is $r->{rc}, 1, 'a directory as key: exit 1';
    like $r->{err}, qr/not a regular file/, 'message';

    my %bad = ('short'      => ["not a key\n", qr/must hold 32 bytes/],
               'not hex'    => [('g' x 64) . "\n", qr/not valid hex/],
               'empty'      => ['', qr/must hold 32 bytes/],
               'bad base64' => [('*' x 44) . "\n", qr/not valid base64/]);
    for my $k (sort keys %bad) {
        spew("$TMP/bad.key", $bad{$k}[0], 0600);
        my $r = run({}, '--db', $DB, '--key', "$TMP/bad.key", 'user', 'create', $A, 'gina');
        is $r->{rc}, 1, "key file $k: exit 1";
        like $r->{err}, qr/^prefsctl: cannot seal a new secret with \Q$TMP\E\/bad\.key: .*$bad{$k}[1]/,
            "key file $k: message" or diag $r->{err};
        is $r->{out}, '', "key file $k: nothing on stdout";
        $r = run({}, '--db', $DB, '--key', "$TMP/bad.key", 'user', 'rotate-secret', $A, 'alice');
        is $r->{rc}, 1, "key file $k: rotate-secret exit 1";
    }

    for my $cmd (['user', 'create', $A, 'gina'], ['user', 'rotate-secret', $A, 'alice'],
                 ['oauth-client', 'create', $A, 'alice']) {
        my $r = run({ PREFS_SECRET_TOOL => '/nonexistent' }, '--db', $DB, '--key', $KEY, @$cmd);
        is $r->{rc}, 1, "'@$cmd' without prefs-secret: exit 1";
        like $r->{err}, qr{^prefsctl: the sealing tool /nonexistent is missing.*run make}, "'@$cmd': message";
        is $r->{out}, '', "'@$cmd': nothing on stdout";
    }
    is_deeply rows($A), $before, 'no key, bad key, no tool: nothing changed';

    # the key from $PREFS_SECRET_KEY; a loose mode is only a warning
    spew("$TMP/loose.key", slurp($KEY), 0644);
    $r = run({ PREFS_SECRET_KEY => "$TMP/loose.key" }, '--db', $DB, 'user', 'create', $A, 'gina');
    is $r->{rc}, 0, '$PREFS_SECRET_KEY is used' or diag $r->{err};
    like $r->{err}, qr/^prefsctl: warning: the secret key file \S+ is accessible by group or others \(mode 644\)/, 'warning for mode 0644';
    like decode_out($r)->{Secret}, $B64URL_SECRET, 'secret printed';
    $r = run({ PREFS_SECRET_KEY => "$TMP/no-such.key" }, '--db', $DB, '--key', $KEY,
             'user', 'rotate-secret', $A, 'gina');
    is $r->{rc}, 0, '--key wins over $PREFS_SECRET_KEY' or diag $r->{err};

    # <repo>/var/secret.key and <repo>/build/prefs-secret, found through symlinks
    my $repo = "$TMP/repo";
    make_path("$repo/tools", "$TMP/bin");
    copy($PREFSCTL, "$repo/tools/prefsctl") or die;
    chmod 0755, "$repo/tools/prefsctl";
    symlink "$repo/tools/prefsctl", "$TMP/bin/prefsctl" or die;
    my %e = (PROG => "$TMP/bin/prefsctl");
    $r = run({ %e, PREFS_SECRET_TOOL => undef }, '--db', $DB, 'user', 'create', $A, 'hank');
    is $r->{rc}, 1, 'no <repo>/build/prefs-secret: exit 1';
    like $r->{err}, qr{^prefsctl: the sealing tool \Q$repo\E/build/prefs-secret is missing .*run make},
        'message names <repo>/build/prefs-secret';
    make_path("$repo/build");
    symlink $TOOL, "$repo/build/prefs-secret" or die;
    $r = run({ %e, PREFS_SECRET_TOOL => undef }, '--db', $DB, 'user', 'create', $A, 'hank');
    is $r->{rc}, 1, 'no <repo>/var/secret.key: exit 1';
    like $r->{err}, qr{^prefsctl: no secret key file: \Q$repo\E/var/secret\.key does not exist; use --key FILE or set PREFS_SECRET_KEY},
        'message names <repo>/var/secret.key, --key and PREFS_SECRET_KEY';
    make_path("$repo/var");
    spew("$repo/var/secret.key", slurp($KEY), 0600);
    $r = run({ %e, PREFS_SECRET_TOOL => undef }, '--db', $DB, 'user', 'create', $A, 'hank');
    is $r->{rc}, 0, '<repo>/var/secret.key and <repo>/build/prefs-secret are used' or diag $r->{err};
    is $r->{err}, '', 'no warning for mode 0600';
    is rows($A)->{users}, $before->{users} + 2, 'gina and hank created';
};

subtest 'secrets stay off command lines' => sub {
    # psql and prefs-secret wrapped: their arguments and psql's script are logged
    my $psql = (grep { -x "$_/psql" } split /:/, $ENV{PATH})[0] or die 'no psql';
    spew("$TMP/psql-wrap", <<"EOF", 0755);
#!/bin/sh
for a in "\$@"; do printf '%s\\n' "\$a"; done >>'$TMP/psql-args'
tee -a '$TMP/psql-stdin' | '$psql/psql' "\$@"
EOF
    spew("$TMP/tool-wrap", <<"EOF", 0755);
#!/bin/sh
for a in "\$@"; do printf '%s\\n' "\$a"; done >>'$TMP/tool-args'
exec '$TOOL' "\$@"
EOF
    my %e = (PREFSCTL_PSQL => "$TMP/psql-wrap", PREFS_SECRET_TOOL => "$TMP/tool-wrap");
    my @plain;
    my $r = run(\%e, '--db', $DB, '--key', $KEY, 'user', 'create', $A, 'ivan', '--group', 'ReadOnly');
    is $r->{rc}, 0, 'create through the wrappers' or diag $r->{err};
    push @plain, decode_out($r)->{Secret};
    $r = run(\%e, '--db', $DB, '--key', $KEY, 'user', 'rotate-secret', $A, 'ivan');
    is $r->{rc}, 0, 'rotate through the wrappers' or diag $r->{err};
    push @plain, decode_out($r)->{Secret};
    $r = run(\%e, '--db', $DB, '--key', $KEY, 'oauth-client', 'create', $A, 'ivan');
    is $r->{rc}, 0, 'oauth-client create through the wrappers' or diag $r->{err};
    my $oc = decode_out($r);
    push @plain, $oc->{client_secret};

    my $args = slurp("$TMP/psql-args") . slurp("$TMP/tool-args");
    my $stdin = slurp("$TMP/psql-stdin");
    ok length $args && length $stdin, 'the wrappers ran';
    for my $i (0 .. $#plain) {
        unlike $args, qr/\Q$plain[$i]\E/, "secret $i is on no command line";
        unlike $stdin, qr/\Q$plain[$i]\E/, "secret $i is not in psql's input";
    }
    my $sealed = secrets($A, 'ivan')->[-1]{sealed};
    like $args, qr/^sealed=\Q$sealed\E$/m, 'the sealed form is what psql was given';
    like $args, qr/^secret_hash=\Q${\ sha256_hex($oc->{client_secret})}\E$/m,
        'the OAuth client secret reached psql as its SHA-256 only';
    like slurp("$TMP/tool-args"), qr/^new\n\Q$KEY\E\ntoken\n36\ntoken\n48\n\z/m,
        'prefs-secret was asked for: new KEY, token 36, token 48';
};

subtest 'oauth-client' => sub {
    my $before = rows($A);
    my $r = ctl('oauth-client', 'create', $A, 'alice');
    is $r->{rc}, 0, 'create exits 0' or diag $r->{err};
    my $c = decode_out($r);
    is_deeply [sort keys %$c], [qw(client_id client_secret scope)], 'keys';
    like $c->{client_id}, qr/^[A-Za-z0-9_-]{48}$/, 'client_id: 48 characters';
    like $c->{client_secret}, qr/^[A-Za-z0-9_-]{64}$/, 'client_secret: 64 characters';
    is $c->{scope}, "$A/alice", 'scope';
    like $r->{out}, qr/^\{"client_id" : "[^"]+", "client_secret" : "[^"]+", "scope" : /, 'in that order';

    my $row = JSON::PP->new->decode(psql_var_value(
        q{SELECT row_to_json(o) FROM prefs_oauth_client o WHERE client_key = :'k'}, k => $c->{client_id}));
    is $row->{secret_hash}, sha256_hex($c->{client_secret}), 'stored: the SHA-256 hex of the secret';
    ok $row->{is_active}, 'active';
    is $row->{user_id}, user_row($A, 'alice')->{user_id}, "alice's";
    is psql_var_value(q{SELECT count(*) FROM prefs_oauth_client o WHERE strpos(row_to_json(o)::text, :'s') > 0},
                      s => $c->{client_secret}), 0, 'the plaintext secret is stored nowhere';
    is rows($A)->{oauth}, $before->{oauth} + 1, 'one client row';

    # the stored hash is what the token endpoint's function expects
    my $tok = sha256_hex("token-$TAG");
    is psql_var_value(q{SELECT outcome FROM prefs_oauth_issue(:'k', :'h', :'c', 'alice', :'t', 600)},
                      k => $c->{client_id}, h => sha256_hex($c->{client_secret}), c => $A, t => $tok),
        'ok', 'prefs_oauth_issue accepts the client_secret';
    is psql_var_value(q{SELECT outcome FROM prefs_oauth_issue(:'k', :'h', NULL, NULL, :'t', 600)},
                      k => $c->{client_id}, h => sha256_hex('wrong'), t => sha256_hex("x-$TAG")),
        'invalid_client', '...and refuses another secret';

    my $r2 = ctl('oauth-client', 'create', $A, 'alice');
    my $c2 = decode_out($r2);
    isnt $c2->{client_id}, $c->{client_id}, 'a second client: another client_id';
    isnt $c2->{client_secret}, $c->{client_secret}, '...and secret';

    $r = ctl('oauth-client', 'list', $A);
    is $r->{rc}, 0, 'list exits 0' or diag $r->{err};
    my $list = decode_out($r);
    my ($l) = grep { $_->{client_id} eq $c->{client_id} } @$list;
    is_deeply [sort keys %$l], [qw(CreatedAt IsActive LiveTokens UserIsActive UserName client_id scope)], 'list keys';
    is $l->{UserName}, 'alice', 'UserName';
    is $l->{scope}, "$A/alice", 'scope';
    ok $l->{IsActive}, 'IsActive';
    is $l->{LiveTokens}, 1, 'LiveTokens';
    like $l->{CreatedAt}, $ISO, 'CreatedAt';
    is scalar @$list, rows($A)->{oauth}, "all of the account's clients";
    unlike $r->{out}, qr/\Q$c->{client_secret}\E|\Q$row->{secret_hash}\E/, 'no secret or hash in the list';
    is_deeply decode_out(ctl('oauth-client', 'list', $B)), [], 'another account: []';

    $r = ctl('oauth-client', 'revoke', $c->{client_id});
    is $r->{rc}, 0, 'revoke exits 0' or diag $r->{err};
    is_deeply decode_out($r), { client_id => $c->{client_id}, IsActive => JSON::PP::false, TokensRevoked => 1 },
        'revoke output';
    is psql_var_value(q{SELECT is_active FROM prefs_oauth_client WHERE client_key = :'k'}, k => $c->{client_id}),
        'f', 'stored inactive';
    is psql_var_value(q{SELECT count(*) FROM prefs_oauth_token WHERE token_hash = :'t'}, t => $tok),
        0, 'its tokens are deleted';
    is psql_var_value(q{SELECT outcome FROM prefs_oauth_issue(:'k', :'h', NULL, NULL, :'t', 600)},
                      k => $c->{client_id}, h => sha256_hex($c->{client_secret}), t => sha256_hex("y-$TAG")),
        'invalid_client', 'a revoked client gets no token';
    ($l) = grep { $_->{client_id} eq $c->{client_id} } @{ decode_out(ctl('oauth-client', 'list', $A)) };
    ok !$l->{IsActive}, 'listed as inactive';
    is decode_out(ctl('oauth-client', 'revoke', $c->{client_id}))->{TokensRevoked}, 0,
        'revoking again is harmless';

    $before = rows($A);
    ctl('user', 'deactivate', $A, 'bob');
    $r = ctl('oauth-client', 'create', $A, 'bob');
    is $r->{rc}, 1, 'inactive user: exit 1';
    like $r->{err}, qr/^prefsctl: oauth-client create: user bob of \Q$A\E is not active/, 'inactive user: message';
    is $r->{out}, '', 'inactive user: nothing on stdout';
    $r = ctl('oauth-client', 'create', $A, 'nobody');
    is $r->{rc}, 1, 'unknown user: exit 1';
    is $r->{err}, "prefsctl: user nobody not found in $A\n", 'unknown user: message';
    $r = ctl('oauth-client', 'create', "nobody-$TAG", 'alice');
    is $r->{rc}, 1, 'unknown account: exit 1';
    $r = ctl('oauth-client', 'list', "nobody-$TAG");
    is $r->{rc}, 1, 'list, unknown account: exit 1';
    is $r->{err}, "prefsctl: account nobody-$TAG not found\n", 'list, unknown account: message';
    is_deeply rows($A), $before, 'refused: nothing created';
    $r = run({}, '--db', $DB, '--key', "$TMP/none", 'oauth-client', 'create', $A, 'alice');
    is $r->{rc}, 0, 'oauth-client create needs no key file' or diag $r->{err};

    $r = ctl('oauth-client', 'revoke', 'A' x 48);
    is $r->{rc}, 1, 'revoke unknown: exit 1';
    is $r->{err}, 'prefsctl: OAuth client ' . ('A' x 48) . " not found\n", 'revoke unknown: message';
    for my $bad ('short', 'x' x 129, 'has space in it 123', "abc'def0123456789", 'a/b0123456789abcdef') {
        my $r = ctl('oauth-client', 'revoke', $bad);
        is $r->{rc}, 1, "revoke '$bad': exit 1";
        like $r->{err}, qr/^prefsctl: invalid OAuth client_id/, "revoke '$bad': message";
    }
};

subtest 'pnauth' => sub {
    my $r = pnauth('SanchezAssociates', 'RickSanchez', 'example-secret-key', '--time', '2015-08-10T20:11:00');
    is $r->{rc}, 0, 'exits 0';
    is $r->{out}, "PNAUTHINFO3-HMAC-SHA256 Credential=RickSanchez/2015-08-10T20:11:00 Signature=aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED+reLuY0=\n",
        'the contract test vector';
    is $r->{err}, '', 'nothing on stderr';
    $r = pnauth({ PNAUTH_SECRET => 'example-secret-key' }, 'SanchezAssociates', 'RickSanchez', '-',
                '--time=2015-08-10T20:11:00Z');
    like $r->{out}, qr/Signature=aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED\+reLuY0=$/, 'secret from PNAUTH_SECRET';
    for my $t ('2015-08-10T22:11:00+02:00', '2015-08-10T19:41:00-0030', '2015-08-10 20:11:00.999Z') {
        is pnauth('SanchezAssociates', 'RickSanchez', 'example-secret-key', '--time', $t)->{out},
            $r->{out}, "--time $t is the same UTC second";
    }
    for my $alg ('SHA384', 'SHA512', 'sha512') {
        is pnauth('C1', 'u@x', 'k', '--alg', $alg, '--time', '2020-12-31T23:59:59')->{out},
            expected_header(uc $alg, 'C1', 'u@x', 'k', '2020-12-31T23:59:59'), "--alg $alg";
    }
    is pnauth('C1', "caf\xc3\xa9", 'k', '--time', '2016-02-29T00:00:00')->{out},
        expected_header('SHA256', 'C1', "caf\xc3\xa9", 'k', '2016-02-29T00:00:00'),
        'UTF-8 user names are signed as their bytes';

    my $t0 = time;
    $r = pnauth('C1', 'u', 'k');
    my ($stamp) = $r->{out} =~ m{Credential=u/(\S+) };
    ok defined $stamp, 'without --time: a timestamp' or diag $r->{out};
    my @p = ($stamp // '') =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/;
    my $t = @p ? Time::Local::timegm($p[5], $p[4], $p[3], $p[2], $p[1] - 1, $p[0]) : 0;
    cmp_ok abs($t - $t0), '<=', 5, '...now, in UTC';
    is $r->{out}, expected_header('SHA256', 'C1', 'u', 'k', $stamp // ''), '...signed';

    for my $case ([[], qr/missing CLIENTID/], [['C'], qr/missing USERNAME/], [['C', 'u'], qr/missing SECRET/],
                  [['C', 'u', 'k', 'x'], qr/unexpected argument/],
                  [['C', 'u', 'k', '--alg', 'MD5'], qr/unknown --alg/],
                  [['C', 'u', 'k', '--alg'], qr/needs a value/],
                  [['C', 'u', 'k', '--bogus'], qr/unknown option/],
                  [['C', 'u', 'k', '--time', 'yesterday'], qr/not an ISO 8601/],
                  [['C', 'u', 'k', '--time', '2015-02-29T00:00:00'], qr/no such date/],
                  [['C', 'u', 'k', '--time', '2015-01-01T24:00:00'], qr/no such date/],
                  [['C', 'a b', 'k'], qr/invalid UserName/], [['C', 'a/b', 'k'], qr/invalid UserName/],
                  [['C', "a\nb", 'k'], qr/invalid UserName/], [['C', "a\xc2\xa0b", 'k'], qr/invalid UserName/],
                  [['C', "a\xff", 'k'], qr/invalid UserName/], [['C', '', 'k'], qr/invalid UserName/],
                  [['C:x', 'u', 'k'], qr/invalid ClientId/], [['', 'u', 'k'], qr/invalid ClientId/],
                  [['C', 'u', ''], qr/empty SECRET/], [['C', 'u', '-'], qr/PNAUTH_SECRET is not set/]) {
        my ($args, $re) = @$case;
        my $r = pnauth(@$args);
        (my $show = "@$args") =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
        is $r->{rc}, 1, "pnauth $show: exit 1";
        like $r->{err}, qr/^pnauth: .*$re/, "pnauth $show: message";
        is $r->{out}, '', "pnauth $show: nothing on stdout";
    }
    $r = pnauth('--help');
    is $r->{rc}, 0, '--help exits 0';
    like $r->{out}, qr/^Usage: pnauth/, '--help prints usage';
};

done_testing;
