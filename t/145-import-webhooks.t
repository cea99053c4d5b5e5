# The events of a bulk import reach webhook subscribers as the Data API's
# do: a profile.created delivery for every profile an import creates (the
# import's AccessToken as the events' source); none for an import with
# SuppressEvents.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its deliveries and its import must be run by
#   its own nginx's helper
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $dir = tempdir(CLEANUP => 1);
my $record = "$dir/received.jsonl";

# a receiver: echoes a handshake's code, 204 to events, one JSON line each
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
    or die "receiver: $!";
my $rport = $srv->sockport;
my $receiver = fork // die;
if (!$receiver) {
    open my $log, '>>', $record or die;
    $log->autoflush(1);
    while (my $c = $srv->accept) {
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) { sysread($c, $buf, 65536, length $buf) or last }
        my ($head, $body) = split /\r\n\r\n/, $buf, 2;
        my ($len) = ($head // '') =~ /^content-length:\s*(\d+)/im;
        $body //= '';
        while (length($body) < ($len // 0)) { sysread($c, $body, 65536, length $body) or last }
        my $ev = eval { decode_json($body) } || {};
        my $rb = defined $ev->{ValidationCode} ? encode_json({ ValidationResponse => $ev->{ValidationCode} }) : '';
        print $log encode_json($ev), "\n";
        print $c "HTTP/1.1 " . (length $rb ? 200 : 204) . " OK\r\nContent-Type: application/json\r\n"
            . "Content-Length: " . length($rb) . "\r\nConnection: close\r\n\r\n$rb";
        close $c;
    }
    exit 0;
}
close $srv;
END { kill 'KILL', $receiver if $receiver }

sub created_for {
    my ($prefix) = @_;
    open my $f, '<', $record or return 0;
    return scalar grep { ($_->{EventType} // '') eq 'profile.created'
                         && ($_->{Data} && encode_json($_->{Data}) =~ /"\Q$prefix\E\d+"/) }
                   map { eval { decode_json($_) } || () } <$f>;
}

my $client = 'ImportHookCo';
PrefsTest::api_account($client);
my $secret = (PrefsTest::make_user($client, 'admin', 'Administrators'))[0];
PrefsTest::api_config_import($client);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

my $ng = PrefsTest::start_nginx(name => 'import-hooks',
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;'
                 . ' prefs_helper_poll_interval 1s; prefs_job_lease 2s;');

sub call {
    my ($method, $path, $body, $async) = @_;
    my %h = (Authorization => pnauth($client, 'admin', $secret));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, undef, $raw) = $ng->request(method => $method, headers => \%h,
        path => '/Profiles/v4/' . ($async ? 'Async/' : '') . "$client/$path",
        body => defined $body ? encode_json($body) : undef);
    return ($st, scalar eval { decode_json($raw) });
}

my ($st, $sub) = call(POST => 'Webhooks/Subscriptions', {
    Name => 'imports', Url => "http://127.0.0.1:$rport/hook", State => 'Active',
    Subscriptions => [ { Entity => 'ProfileActions', EventType => 'profile.created' } ] });
is($st, 201, 'a subscription to profile.created');
ok(wait_until(sub { ((call(GET => "Webhooks/Subscriptions/$sub->{Id}"))[1] || {})->{State} eq 'Active' }, 15),
   'the receiver answered its handshake');

sub import_of {
    my ($prefix, $n, %o) = @_;
    my (undef, $i) = call(POST => 'Import', { Name => $prefix, %o }, 1);
    my $t = $i->{AccessToken};
    call(POST => "Import/$t/Stage", { UserProfilePreferences => [ map {
        { CustomerName => { FirstName => "$prefix$_" },
          CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] } } 1 .. $n ] }, 1);
    call(POST => "Import/$t/Execute", undef, 1);
    ok(wait_until(sub { ((call(GET => "Import/$t/Status", undef, 1))[1] || {})->{Status} eq 'Completed' }, 30),
       "the import $prefix completes");
    return $t;
}

my $quiet = import_of('Quiet', 2, SuppressEvents => JSON::PP::true);
my $loud = import_of('Loud', 3);
ok(wait_until(sub { created_for('Loud') == 3 }, 20), 'a profile.created delivery for each imported profile');
is(psql_value("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND source = :'s'"
              . " AND event_type = 'profile.created'",
              a => $acct, s => "import:$loud"), 3, 'its events name the import as their source');
is(created_for('Quiet'), 0, 'none for the import with SuppressEvents');

$ng->stop;
done_testing();
