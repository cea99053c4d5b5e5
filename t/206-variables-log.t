# The module's variables in a log_format: what the access log says of an
# authenticated request, of a refused one and of an invalid path.
# Procedural: the access log is read back from the server root.
use strict;
use warnings;
use lib 't';
use Test::More;
use PrefsTest;

my $client = make_account('vars');
my ($secret, $uid) = make_user($client, 'admin', 'Administrators');

my $ng = PrefsTest::start_nginx(
    name => "vars-log-$$",
    workers => 1,
    http_config => 'prefs_helper off;'
        . ' log_format prefs "$status $prefs_client_id|$prefs_user|$prefs_route|$prefs_profile_id";',
    config => 'access_log logs/prefs.log prefs;',
);

my ($st) = $ng->request(path => "/Profiles/v4/$client/Users",
                        headers => { Authorization => pnauth($client, 'admin', $secret) });
is($st, 200, 'a signed request');
($st) = $ng->request(path => "/Profiles/v4/$client/Profile/8128/Preferences");
is($st, 401, 'an unsigned one');
($st) = $ng->request(path => "/Profiles/v4/$client/x%C0y");
is($st, 400, 'an invalid path');

my $log = "$ng->{root}/logs/prefs.log";
ok(wait_until(sub { (() = do { open my $fh, '<', $log or return 0; <$fh> }) >= 3 }, 5),
   'three lines logged');
open my $fh, '<', $log or die "$log: $!";
my @lines = <$fh>;
chomp @lines;
is_deeply(\@lines, [
    "200 $client|$uid|/Users|-",
    "401 $client|-|/Profile/*/Preferences|8128",
    "400 -|-|-|-",
], 'clientId, user, route template and profile id, "-" where there is none');

unlike($ng->error_log, qr/\[(error|alert|crit|emerg)\]/, 'nothing went wrong');

done_testing();
