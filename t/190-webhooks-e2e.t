#!/usr/bin/perl
# Webhooks end to end, as a client uses them (procedural: a receiver of its
# own, and waiting for the helper to deliver): a subscription made through
# the Webhooks API, the handshake answered by a receiver, a profile created
# through the Data API, its event delivered and signed with the secret the
# API answered (checked by the Standard Webhooks rules), the same event in
# the Events API and in the subscription's Deliveries; a rotated secret
# signs at once; a deleted subscription gets nothing more.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its deliveries must
#   be sent by its own nginx's helper, under its own destination policy
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use File::Temp qw(tempdir);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $json = JSON::PP->new->canonical;
my $dir = tempdir(CLEANUP => 1);
my $secrets = "$dir/secrets";
my $record = "$dir/received.jsonl";

sub set_secrets { open my $f, '>', "$secrets.tmp" or die; print $f join("\n", @_); close $f;
                  rename "$secrets.tmp", $secrets or die }
set_secrets();

# The receiver (PrefsTest::webhook_receiver): answers the handshake, every
# event with 204, and records whether one of its signatures is right for
# one of the secrets in the file.
my ($rport, $receiver) = PrefsTest::webhook_receiver(record => $record, secrets => $secrets);
END { kill 'KILL', $receiver if $receiver }

sub received {
    open my $f, '<', $record or return ();
    return grep { $_ } map { eval { decode_json($_) } } <$f>;
}
sub deliveries_of {
    my ($type) = @_;
    return grep { ($_->{event}{EventType} // '') eq $type } received();
}

# an account with the demo configuration, and its administrator
my $client = make_account('e2e');
my $admin = make_user($client, 'admin', 'Administrators');
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
my $demo = do { local $/; open my $f, '<', "$ENV{TEST_NGINX_PREFS_TOP}/conf/demo-config.json" or die; <$f> };
psql("SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))", a => $acct, d => $demo);

my $ng = PrefsTest::start_nginx(name => 'whe2e', workers => 2,
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;'
                 . ' prefs_helper_poll_interval 1s;');

sub api {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($client, 'admin', $admin));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($s, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path",
        headers => \%h, body => defined $body ? $json->encode($body) : undef);
    return ($s, (eval { decode_json($b) } // $b));
}

ok(wait_until(sub {
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    (eval { decode_json($b) } || {})->{Helper}{Listening};
}, 10), 'the helper listens');

# 1. subscribe through the API
my ($st, $sub) = api(POST => 'Webhooks/Subscriptions', {
    Name => 'Profiles', Url => "http://127.0.0.1:$rport/hook", State => 'Active',
    Subscriptions => [{ Entity => 'ProfileActions', EventType => 'profile.created' }] });
is($st, 201, 'subscription created') or diag explain $sub;
my ($sid, $secret) = ($sub->{Id}, $sub->{Secret});
like($secret // '', qr/^whsec_[A-Za-z0-9+\/]+=*$/, 'with its secret, once');
set_secrets($secret);

# 2. the handshake
ok(wait_until(sub { (api(GET => "Webhooks/Subscriptions/$sid"))[1]{State} eq 'Active' }, 10),
   'the receiver echoed the validation code: the subscription is Active');
my ($hs) = grep { defined $_->{event}{ValidationCode} } received();
ok($hs && $hs->{sig_ok}, 'the handshake was signed with the secret the API answered');

# 3. a profile created through the Data API is delivered
($st, my $p) = api(POST => 'Profile', { CustomerName => { FirstName => 'Ada' },
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Garden' }] });
is($st, 201, 'a profile created') or diag explain $p;
ok(wait_until(sub { deliveries_of('profile.created') }, 10), 'its profile.created event was delivered');
my ($d) = deliveries_of('profile.created');
is($d->{event}{ProfileId}, $p->{ProfileId}, 'for that profile');
ok($d->{sig_ok} && $d->{fresh}, 'signed with the secret, with a current timestamp');
is($d->{id}, $d->{event}{EventId}, 'webhook-id is the EventId');
is($d->{event}{SubscriptionId}, $sid, 'the envelope names the subscription');

# 4. the same event through the Events API and the Deliveries route
($st, my $ev) = api(GET => "Events/$d->{id}");
is($st, 200, 'Events/{eventId} has it');
is($ev->{EventType}, 'profile.created', 'of that type');
is($ev->{ProfileId}, $p->{ProfileId}, 'and that profile');
($st, my $page) = api(GET => "Events/Subscription/$sid");
is($st, 200, 'Events/Subscription/{id}');
ok((grep { $_->{EventId} eq $d->{id} } @{ $page->{Events} || [] }), 'lists it');
($st, my $dl) = api(GET => "Webhooks/Subscriptions/$sid/Deliveries?state=Delivered");
is($st, 200, 'Deliveries');
my $eid = $d->{id};
like($json->encode($dl), qr/"\Q$eid\E"|:\Q$eid\E[,}]/, 'shows it delivered');

# 5. a rotated secret signs at once (both signatures during the rotation)
($st, my $rot) = api(POST => "Webhooks/Subscriptions/$sid/Secret", {});
is($st, 200, 'secret rotated') or diag explain $rot;
isnt($rot->{Secret}, $secret, 'a new secret');
set_secrets($rot->{Secret});
($st, my $p2) = api(POST => 'Profile', { CustomerName => { FirstName => 'Bob' },
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] });
is($st, 201, 'another profile');
ok(wait_until(sub { grep { $_->{event}{ProfileId} == $p2->{ProfileId} } deliveries_of('profile.created') }, 10),
   'its event was delivered');
my ($d2) = grep { $_->{event}{ProfileId} == $p2->{ProfileId} } deliveries_of('profile.created');
ok($d2->{sig_ok}, 'a receiver that knows only the new secret accepts it');
is($d2->{nsig}, 2, 'two signatures while the old secret lasts');

# 6. a deleted subscription gets nothing more
($st) = api(DELETE => "Webhooks/Subscriptions/$sid");
is($st, 204, 'subscription deleted');
my $before = () = received();
($st, my $p3) = api(POST => 'Profile', { CustomerName => { FirstName => 'Cy' },
    CustomFields => [{ Name => 'FavoriteCategory', Value => 'Toys' }] });
is($st, 201, 'a third profile');
sleep 2;
is(scalar(() = received()), $before, 'nothing delivered after the delete');
is(psql_value("SELECT count(*) FROM prefs_webhook_delivery WHERE subscription_id = :'s'", s => $sid), 0,
   'and no delivery rows are left for it');

# 7. a destination the policy refuses (a private address; only
# 127.0.0.0/8 is allowed here) is refused by the API at once, with the
# reason, by the client's own policy, and nothing is stored (the client's
# refusal of such an address at delivery, for names that resolve to one:
# t/170-webhook-client.t)
my $subs = psql_value("SELECT count(*) FROM prefs_webhook_subscription WHERE account_id = :'a'", a => $acct);
($st, my $priv) = api(POST => 'Webhooks/Subscriptions', {
    Name => 'Private', Url => 'http://10.1.2.3/hook', State => 'Active',
    Subscriptions => [{ Entity => 'ProfileActions', EventType => 'profile.created' }] });
is($st, 400, 'a subscription to a private address is refused by the API');
like($priv->{Message} // '', qr/10\.1\.2\.3 is not a global address/, 'naming the address');
is(psql_value("SELECT count(*) FROM prefs_webhook_subscription WHERE account_id = :'a'", a => $acct), $subs,
   'and nothing is stored');

unlike($ng->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts in the error log');

done_testing();
