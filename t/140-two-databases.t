# One nginx, two databases (production and sandbox, as conf/production.conf
# has it): the same clientId, account id and user name in both must never
# let a credential, a cached answer or a configuration cross over.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $prod = db();
(my $sandbox = $prod) =~ s/dbname=\S+/dbname=prefs_sandbox/;

psql("DROP DATABASE IF EXISTS prefs_sandbox");
psql("CREATE DATABASE prefs_sandbox");
is(system("'$top/tools/prefsctl' --db '$sandbox' migrate >/dev/null") >> 8, 0, 'a second database, migrated');

sub psql_in {
    my ($conninfo, $sql) = @_;
    my $v = `psql -X -q -A -t -v ON_ERROR_STOP=1 -d '$conninfo' -c "$sql"`;
    chomp $v;
    return $v;
}

# the same clientId with the same account id in both, a user "admin" in each
my $client = 'twin' . $$;
my $id = psql_value("INSERT INTO prefs_account (client_id) VALUES (:'c') RETURNING account_id", c => $client);
psql_in($sandbox, "INSERT INTO prefs_account (account_id, client_id) VALUES ($id, '$client')");
my $prod_secret = make_user($client, 'admin', 'Administrators');
my ($sb_secret, $sealed) = split ' ', `'$top/build/prefs-secret' new '$ENV{TEST_NGINX_PREFS_KEY}'`;
my $sb_uid = psql_in($sandbox, "INSERT INTO prefs_user (account_id, user_name) VALUES ($id, 'admin') RETURNING user_id");
psql_in($sandbox, "INSERT INTO prefs_user_group_member SELECT $sb_uid, group_id FROM prefs_user_group WHERE name = 'Administrators' AND account_id IS NULL");
psql_in($sandbox, "SELECT prefs_user_secret_add($sb_uid, '$sealed', 2)");

psql("SELECT prefs_config_write(:'a', 'Program', NULL, :'b', 'create')", a => $id,
     b => encode_json({ ProgramId => 'PROD-ONLY', Name => 'Production program' }));

my $sandbox_port = free_port();
my $ng = PrefsTest::start_nginx(name => 'twodb', workers => 2, http_config => qq{
    server {
        listen 127.0.0.1:$sandbox_port;
        prefs_database "$sandbox";
        location /Profiles/v4/ { prefs_api v4; }
    }
});

sub get {
    my ($port, $secret, $path) = @_;
    my ($st, $h, $b) = http_request(port => $port, path => "/Profiles/v4/$client/$path",
                                    headers => { Authorization => pnauth($client, 'admin', $secret) });
    return ($st, eval { decode_json($b) });
}

for my $round (1, 2) {    # the second round is served from the caches
    my ($st, $j) = get($ng->port, $prod_secret, 'Programs');
    is($st, 200, "round $round: production accepts its own user");
    is_deeply([ map { $_->{ProgramId} } @{ $j->{Programs} } ], ['PROD-ONLY'], "round $round: with its configuration");

    ($st, $j) = get($sandbox_port, $prod_secret, 'Programs');
    is($st, 401, "round $round: the sandbox refuses production's secret");

    ($st, $j) = get($sandbox_port, $sb_secret, 'Programs');
    is($st, 200, "round $round: the sandbox accepts its own user");
    is_deeply($j->{Programs}, [], "round $round: with its own (empty) configuration, not production's");

    ($st, $j) = get($ng->port, $sb_secret, 'Programs');
    is($st, 401, "round $round: production refuses the sandbox's secret");
}

$ng->stop;
psql("DROP DATABASE IF EXISTS prefs_sandbox");

done_testing();
