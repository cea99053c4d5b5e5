# What a Test::Nginx block cannot say about the Webhooks API: eight clients
# creating a subscription of one Url and event at the same moment; one
# wins, the others are 409.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

api_account('WebhooksRaceCo');
api_user('WebhooksRaceCo', 'admin', 'Administrators');

my $ng = PrefsTest::start_nginx(name => 'webhooks-race', workers => 2);

my $body = encode_json({ Name => 'race', Url => 'https://race.example.com/',
                         Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ] });
my @socks = map {
    $ng->request(method => 'POST', path => '/Profiles/v4/WebhooksRaceCo/Webhooks/Subscriptions', no_wait => 1,
        headers => { Authorization => pnauth('WebhooksRaceCo', 'admin', PrefsTest::api_secret('WebhooksRaceCo', 'admin')),
                     'Content-Type' => 'application/json' },
        body => $body)
} 1 .. 8;
my @st = sort map { (PrefsTest::read_response($_, 10))[0] } @socks;
is_deeply(\@st, [ 201, (409) x 7 ], 'eight concurrent creates of one Url and event: one 201, seven 409');
is(psql_value("SELECT count(*) FROM prefs_webhook_subscription WHERE url = 'https://race.example.com/'"), 1,
   'and one subscription');

my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
