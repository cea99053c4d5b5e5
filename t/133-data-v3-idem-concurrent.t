# What a Test::Nginx block cannot say about Idempotency-Key and the v3
# Preferences routes: clients sending the same thing at the same moment.
# Six duplicates of one keyed create make one profile and one answer; four
# writers of one new customer (by CID, by email) make one customer.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

api_account('IdemConcCo');
api_user('IdemConcCo', 'admin', 'Administrators');
PrefsTest::api_config_import('IdemConcCo');

my $ng = PrefsTest::start_nginx(name => 'idem-conc', workers => 2,
                           config => 'location /api/3/ { prefs_api v3; }');

# $n copies of one request at once: their (status, headers, body)
sub at_once {
    my ($n, $path, $body, %headers) = @_;
    my @socks = map {
        $ng->request(method => 'POST', path => $path, body => $body, no_wait => 1,
            headers => { Authorization => pnauth('IdemConcCo', 'admin', PrefsTest::api_secret('IdemConcCo', 'admin')),
                         'Content-Type' => 'application/json', %headers })
    } 1 .. $n;
    return map { [ PrefsTest::read_response($_, 20) ] } @socks;
}

sub count { psql_value(@_) }

my $dup = encode_json({ CustomerName => { FirstName => 'Conc' }, CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
my @answers = at_once(6, '/Profiles/v4/IdemConcCo/Profile', $dup, 'Idempotency-Key' => 'key-two');
is_deeply([ map { $_->[0] } @answers ], [ (201) x 6 ], 'six concurrent duplicates: all 201');
is(scalar(keys %{ { map { $_->[2] => 1 } @answers } }), 1, 'with one body');
is(scalar(keys %{ { map { $_->[1]{location} // '' => 1 } @answers } }), 1, 'and one Location');
is(scalar(grep { ($_->[1]{'idempotent-replayed'} // '') eq 'true' } @answers), 5, 'five of them replays');
is(count("SELECT count(*) FROM prefs_profile p JOIN prefs_account a USING (account_id)"
         . " WHERE a.client_id = 'IdemConcCo' AND p.first_name = 'Conc'"), 1, 'and one profile in the database');

my ($st, undef, $raw) = $ng->request(method => 'POST', path => '/Profiles/v4/IdemConcCo/AlternateIdTypes',
    body => encode_json({ Name => 'CID', Description => 'v3 customer id' }),
    headers => { Authorization => pnauth('IdemConcCo', 'admin', PrefsTest::api_secret('IdemConcCo', 'admin')),
                 'Content-Type' => 'application/json' });
is($st, 201, 'the account gets an alternate id type CID') or diag $raw;

my @cst = map { $_->[0] } at_once(4, '/api/3/IdemConcCo/Preferences', encode_json([ { CID => 'CC-1',
    FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => 'cc@example.com' } } ]));
is_deeply(\@cst, [ (200) x 4 ], 'concurrent writers of a new CID: all 200 (the second waits for the first)');
is(count("SELECT count(*) FROM prefs_profile_alternate_id a JOIN prefs_account c USING (account_id)"
         . " WHERE c.client_id = 'IdemConcCo' AND a.type = 'CID' AND a.value = 'CC-1'"), 1, 'one customer has the CID');

@cst = map { $_->[0] } at_once(4, '/api/3/IdemConcCo/Preferences', encode_json({ FilterID => 'NewsletterEmail',
    PreferenceType => 1, ContactElement => { Email => 'nc@example.com' } }));
is_deeply(\@cst, [ (200) x 4 ], 'concurrent writers of a new customer by email: all 200');
is(count("SELECT count(*) FROM prefs_profile_email e JOIN prefs_account c USING (account_id)"
         . " WHERE c.client_id = 'IdemConcCo' AND e.address = 'nc\@example.com'"), 1, 'one customer has the email');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
