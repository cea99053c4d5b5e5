# Cursor paging of the Events API, which a Test::Nginx block cannot chain:
# walking every page gives every event once, even while writers commit out
# of order (one holds its transaction open while a later one commits), and
# through the many events of one transaction.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Handle;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $acme = api_account('EventsPagingCo');
api_user($acme, 'admin', 'Administrators');
PrefsTest::api_config_import($acme);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $acme);

my $ng = PrefsTest::start_nginx(name => 'events-paging', workers => 2,
                           http_config => 'prefs_event_history_days 10;');

sub call {
    my ($method, $path, $body) = @_;
    my %hd = (Authorization => pnauth($acme, 'admin', PrefsTest::api_secret($acme, 'admin')));
    $hd{'Content-Type'} = 'application/json' if defined $body;
    my ($s, $hh, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%hd,
                                    body => defined $body ? encode_json($body) : undef);
    return ($s, $hh, scalar eval { decode_json($b) }, $b);
}

sub create_profile {
    my ($first) = @_;
    my ($s, undef, $j, $b) = call('POST', 'Profile', { CustomerName => { FirstName => $first },
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] });
    is($s, 201, "profile $first created") or diag $b;
    return $j->{ProfileId};
}

sub db_ids {
    my ($account, $where) = @_;
    my $v = psql("SELECT event_id FROM prefs_event WHERE account_id = :'a' AND recorded_date > now() - interval '10 days'"
                 . ($where ? " AND $where" : '') . " ORDER BY event_id", a => $account);
    return [ grep { length } split /\n/, $v ];
}

my ($st, $h, $j, $raw);
my $p1 = create_profile('Ann');
my $p2 = create_profile('Bob');
($st, undef, undef, $raw) = call('POST', "Profile/$p1", { CustomerName => { FirstName => 'Anna' } });
is($st, 200, 'an update of Ann') or diag $raw;
for my $i (1 .. 7) {
    ($st, undef, undef, $raw) = call('POST', "Profile/$p2", { CustomerName => { MiddleName => "M$i" } });
    is($st, 200, "update $i") or diag $raw;
}

sub walk {
    my ($path, $limit, %o) = @_;
    my ($cursor, @ids, $pages) = ($o{after});
    while (1) {
        my $sep = $path =~ /\?/ ? '&' : '?';
        my ($s, undef, $jj, $b) = call('GET', "$path${sep}limit=$limit" . (defined $cursor ? "&after=$cursor" : ''));
        die "walk: $s $b" unless $s == 200;
        push @ids, map { $_->{EventId} } @{ $jj->{Events} };
        $pages++;
        $cursor = $jj->{NextCursor} if defined $jj->{NextCursor};
        last unless $jj->{HasMore};
        die "walk: too many pages" if $pages > 1000;
    }
    return (\@ids, $cursor, $pages);
}

# another suite's open transaction must not hide these events from the walk
events_settled();
my ($ids, $cursor, $pages) = walk('Events', 2);
is_deeply([ sort { $a <=> $b } @$ids ], db_ids($acct), 'walking 2 by 2 gives every event');
my %seen;
is(scalar(grep { $seen{$_}++ } @$ids), 0, 'none twice');
cmp_ok($pages, '>=', 5, "over several pages ($pages)");

($st, $h, $j) = call('GET', "Events?limit=1");
is($j->{Count}, 1, 'limit=1: one event');
ok($j->{HasMore}, 'HasMore');
($st, $h, $j) = call('GET', "Events?after=$cursor");
is($st, 200, 'after the last cursor');
is($j->{Count}, 0, 'nothing more');
is($j->{NextCursor}, $cursor, 'and the same cursor to ask again with');
ok(!$j->{HasMore}, 'HasMore false');

# --- out-of-order commits --------------------------------------------------------------

{
    local $ENV{PGAPPNAME} = "events-hold-$$";
    open(my $hold, '|-', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db()) or die "psql: $!";
    $hold->autoflush(1);
    print $hold "BEGIN;\nSELECT prefs_event_add($acct, NULL, 'tag.added', $p1, '{\"Name\":\"held\"}');\n";
    ok(wait_until(sub {
        psql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = :'n'"
                   . " AND state = 'idle in transaction' AND backend_xid IS NOT NULL", n => "events-hold-$$") == 1
    }, 10), 'a writer holds an event uncommitted');

    my $later = psql_value("SELECT prefs_event_add($acct, NULL, 'tag.added', $p1, '{\"Name\":\"later\"}')");
    my $held = psql_value("SELECT max(event_id) FROM prefs_event WHERE account_id = :'a' AND data->>'Name' = 'held'", a => $acct);
    is($held, '', 'the held event is not visible yet');
    cmp_ok($later, '>', 0, 'another writer committed after it');

    ($st, $h, $j) = call('GET', "Events?after=$cursor");
    is($st, 200, 'a read while the first writer holds');
    my @first = map { $_->{EventId} } @{ $j->{Events} };
    ok(!(grep { $_ eq $later } @first), 'the later commit waits behind the open transaction');
    my $c2 = $j->{NextCursor};

    print $hold "COMMIT;\n";
    close $hold;
    is($?, 0, 'the first writer commits');

    events_settled();
    my ($rest) = walk('Events', 1, after => $c2);
    my @all = (@first, @$rest);
    my @new = grep { my $x = $_; !grep { $_ eq $x } @$ids } @{ db_ids($acct) };
    is_deeply([ sort { $a <=> $b } @all ], [ sort { $a <=> $b } @new ], 'both events, the held one and the later one');
    my %once;
    is(scalar(grep { $once{$_}++ } @all), 0, 'each once');
}

# --- one transaction with many events, walked a few at a time -------------------------

{
    my ($before) = walk('Events', 1000);
    psql("SELECT prefs_event_add(:'a', NULL, 'tag.added', :'p', jsonb_build_object('Name', 'bulk' || g))"
         . " FROM generate_series(1, 25) g", a => $acct, p => $p2);
    # (another suite's open transaction would hide them from the walk)
    events_settled();
    my ($all) = walk('Events', 4);
    my %old = map { $_ => 1 } @$before;
    my @bulk = grep { !$old{$_} } @$all;
    is(scalar @bulk, 25, 'the 25 events of one transaction, 4 by 4');
    is_deeply(\@bulk, [ sort { $a <=> $b } @bulk ], 'in their order');
    my %once;
    is(scalar(grep { $once{$_}++ } @$all), 0, 'none twice');
}


my @bad = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
