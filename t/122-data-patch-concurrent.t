# JSON Patch where blocks cannot say it (the requests that stand alone,
# and the rest of the profile changes, are blocks in t/121-data-changes.t):
# two patches of one profile at once, a patch waiting for the row lock
# another transaction holds (timing, a forked psql), and the JSON Pointer
# and Patch functions of sql/functions/profile.sql on plain documents.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;
use POSIX ();

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $ng = PrefsTest::start_nginx(name => 'datachg', workers => 2);

my $acme = make_account('chg');
my $secret = make_user($acme, 'admin', 'Administrators');

my ($rc, $out) = prefsctl('config', 'import', $acme, "$top/conf/demo-config.json");
is($rc, 0, 'the demo configuration is imported') or diag $out;
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $acme);

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret));
    $h{'Content-Type'} = $method eq 'PATCH' ? 'application/json-patch+json' : 'application/json'
        if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                     body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $j, $b, $hd);
}

sub last_event { psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = :'a'", a => $acct) }

# the account's events after $after: [{type, data, prev}]
sub events {
    my ($after) = @_;
    return decode_json(psql(q{SELECT coalesce(json_agg(json_build_object('type', event_type,
        'data', data, 'prev', previous_data, 'profile', profile_id) ORDER BY event_id), '[]')
        FROM prefs_event WHERE account_id = :'a' AND event_id > :'e'}, a => $acct, e => $after));
}
sub of_type { my ($after, $t) = @_; [ grep { $_->{type} eq $t } @{ events($after) } ] }

sub get { my ($st, $j) = call('GET', "Profile/$_[0]"); return $j }

my ($st, $j, $raw) = call('POST', 'Profile', { CustomerName => { FirstName => 'Patricia', LastName => 'Chan' },
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ], Emails => [ { EmailAddress => 'p3@example.com' } ] });
is($st, 201, 'a profile to patch') or diag $raw;
my $R = $j->{ProfileId};
my $e0;

# RFC 6901 and 6902 in SQL: the pointer's tokens, and operations on a plain document
for my $c ([ '""', '{}' ], [ '"/"', '{""}' ], [ '"/a~01b/~1/"', '{a~1b,/,""}' ], [ '"/~0~1"', '{~/}' ],
           [ '"/0/-"', '{0,-}' ]) {
    is(psql_value(q{SELECT prefs_jp_pointer(CAST(:'p' AS jsonb), 'x')::text}, p => $c->[0]), $c->[1],
       "pointer $c->[0] is $c->[1]");
}
for my $c (
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/1","value":9}', '{"a": [1, 9, 2]}' ],
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/2","value":[3]}', '{"a": [1, 2, [3]]}' ],
    [ '{"a":[1,2]}', '{"op":"add","path":"/a/-","value":{"b":1}}', '{"a": [1, 2, {"b": 1}]}' ],
    [ '{"a":[1,2]}', '{"op":"remove","path":"/a/0"}', '{"a": [2]}' ],
    [ '{"a":[1,2]}', '{"op":"replace","path":"/a/1","value":null}', '{"a": [1, null]}' ],
    [ '{"a/b":{"~":1}}', '{"op":"replace","path":"/a~1b/~0","value":2}', '{"a/b": {"~": 2}}' ],
    [ '{"":1}', '{"op":"remove","path":"/"}', '{}' ],
    [ '{"a":1}', '{"op":"add","path":"","value":[1]}', '[1]' ],
    [ '{"a":{"b":1.0}}', '{"op":"test","path":"/a/b","value":1}', '{"a": {"b": 1.0}}' ],
) {
    is(psql_value(q{SELECT prefs_jp_op(CAST(:'d' AS jsonb), CAST(:'o' AS jsonb), 'x')::text}, d => $c->[0], o => $c->[1]),
       $c->[2], "$c->[1] on $c->[0]");
}

# two clients patch at once, each testing the name the other replaces: the
# row lock serializes them, so exactly one wins and the other's test fails
$e0 = last_event();
my @socks = map {
    my $to = $_;
    $ng->request(method => 'PATCH', path => "/Profiles/v4/$acme/Profile/$R",
        headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json-patch+json' },
        body => encode_json([ { op => 'test', path => '/CustomerName/FirstName', value => 'Patricia' },
                              { op => 'replace', path => '/CustomerName/FirstName', value => $to } ]), no_wait => 1)
} qw(Ann Bea);
my @codes = sort map { (PrefsTest::read_response($_, 10))[0] } @socks;
is_deeply(\@codes, [ 200, 409 ], 'concurrent patches: one 200, one 409');
is(scalar @{ of_type($e0, 'profile.replaced') }, 1, 'one profile.replaced');
like(get($R)->{CustomerName}{FirstName}, qr/^(Ann|Bea)$/, 'the winner\'s name');
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'replace', path => '/CustomerName/FirstName', value => 'Patricia' } ]);
is($st, 200, 'the name back') or diag $raw;

# a patch waiting for the row lock applies to the profile as the writer
# holding it left it: here another transaction removes the first email
# while the patch waits
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'add', path => '/Emails/-', value => { EmailAddress => 'p4@example.com' } } ]);
is($st, 200, 'a second email') or diag $raw;
my ($first, $second) = map { $_->{EmailId} } @{ $j->{Emails} };
my $pid = fork // die "fork: $!";
if (!$pid) {
    psql(q{BEGIN;
           SELECT 1 FROM prefs_profile WHERE profile_id = CAST(:'p' AS bigint) FOR UPDATE;
           UPDATE prefs_profile_email SET is_active = false WHERE email_id = CAST(:'e' AS bigint);
           SELECT pg_sleep(2);
           COMMIT;}, p => $R, e => $first);
    POSIX::_exit(0);
}
select(undef, undef, undef, 0.7);
($st, $j, $raw) = call('PATCH', "Profile/$R", [ { op => 'test', path => '/Emails/0/EmailId', value => $second },
                                              { op => 'replace', path => '/CustomerName/MiddleName', value => 'Q' } ]);
waitpid($pid, 0);
is($st, 200, 'the patch saw the email list as the other transaction committed it') or diag $raw;
is_deeply([ map { $_->{EmailId} } @{ $j->{Emails} } ], [ $second ], 'one email left');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
