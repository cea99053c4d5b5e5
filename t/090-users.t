# The User Management API (UserManage): create (and reactivate), read,
# list with paging, update, deactivate, groups; and every bad input is a 4xx
# with a Message that changes nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $ng = PrefsTest::start_nginx(name => 'users', port => 1995, workers => 1,
    http_config => 'prefs_max_body 4k;');

my $acme = make_account('uacme');
my $secret = make_user($acme, 'admin', 'Administrators');
my $other = make_account('uother');
my $osecret = make_user($other, 'admin', 'Administrators');

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my %h = (Authorization => pnauth($client, 'admin', $client eq $acme ? $secret : $osecret));
    $h{'Content-Type'} = $o{type} // 'application/json' if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$client/$path",
                                     headers => \%h, body => $body);
    my $j = eval { decode_json($b) };
    return ($st, $hd, $j, $b);
}

sub users_count { psql_value("SELECT count(*) FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme) }

# --- create, read, list -------------------------------------------------------

my ($st, $h, $j) = call('POST', 'Users', encode_json({
    UserName => 'jane.doe', FirstName => 'Jane', LastName => 'Doe', Email => 'jane@example.com',
    Phone => '+1 555 0100', Description => "Ops \x{e9}quipe", UserGroups => ['ReadOnly', 'Integration'],
    SourceGroupID => 7, DefaultLandingPage => 'ProfileSearch', IsSSO => JSON::PP::true }));
is($st, 201, 'POST Users creates: 201');
like($j->{UserId} // '', qr/^\d+$/, 'with a UserId');
like($j->{SubmittedTime} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'and a SubmittedTime');
my $jane = $j->{UserId};
like($h->{location} // '', qr{/Profiles/v4/$acme/Users/$jane$}, 'Location names the new user');

($st, $h, $j) = call('GET', "Users/$jane");
is($st, 200, 'GET Users/{id}');
is_deeply({ map { $_ => $j->{$_} } qw(UserName FirstName LastName Email Phone Description SourceGroupID DefaultLandingPage DefaultLandingPageTypeNbr) },
          { UserName => 'jane.doe', FirstName => 'Jane', LastName => 'Doe', Email => 'jane@example.com', Phone => '+1 555 0100',
            Description => "Ops \x{e9}quipe", SourceGroupID => 7, DefaultLandingPage => 'ProfileSearch', DefaultLandingPageTypeNbr => 2 },
          'every field as given');
is_deeply($j->{UserGroups}, ['Integration', 'ReadOnly'], 'its groups');
ok($j->{IsSSO} && $j->{IsActive}, 'IsSSO and IsActive');

($st, $h, $j) = call('POST', 'Users', encode_json({ UserName => 'jane.doe' }));
is($st, 409, 'a second active user of the same name is 409');

for my $n (1 .. 3) { call('POST', 'Users', encode_json({ UserName => "bulk$n" })) }
($st, $h, $j) = call('GET', 'Users?limit=2&offset=2');
is($st, 200, 'GET Users pages');
is($j->{Count}, 2, 'Count');
is($j->{Limit}, 2, 'Limit');
is($j->{Offset}, 2, 'Offset is 1-based');
is($j->{TotalResults}, 5, 'TotalResults');
ok($j->{HasMore}, 'HasMore');
is($j->{Users}[0]{UserName}, 'jane.doe', 'the second user first');

($st, $h, $j) = call('GET', 'UserGroups');
is($st, 200, 'GET UserGroups');
my %g = map { $_->{Name} => $_ } @$j;
ok($g{Administrators} && $g{ReadOnly} && $g{Integration}, 'the built-in groups');
is_deeply($g{ReadOnly}{Permissions}, ['ConfigurationRead', 'ProfileRead', 'EventDataView'], 'with their permissions');

# --- update, deactivate, reactivate ------------------------------------------------

($st, $h, $j) = call('PUT', "Users/$jane", encode_json({ LastName => 'Roe', UserGroups => ['ReadOnly'], DefaultLandingPageTypeNbr => 3 }));
is($st, 200, 'PUT Users/{id}');
is($j->{LastName}, 'Roe', 'changes what is given');
is($j->{FirstName}, 'Jane', 'and leaves the rest');
is_deeply($j->{UserGroups}, ['ReadOnly'], 'groups replaced');
is($j->{DefaultLandingPage}, 'DataExport', 'the landing page by number');

($st, $h, $j) = call('PUT', "Users/$jane", encode_json({ UserName => 'bulk1' }));
is($st, 409, 'renaming onto another user is 409');

($st, $h) = call('DELETE', "Users/$jane");
is($st, 204, 'DELETE deactivates: 204');
($st, $h, $j) = call('GET', "Users/$jane");
ok(!$j->{IsActive}, 'the user is inactive, not gone');

# a deleted user's name makes a new user (issue 16; t/091-users-delete.t)
($st, $h, $j) = call('POST', 'Users', encode_json({ UserName => 'jane.doe', FirstName => 'Janet' }));
is($st, 201, 'POST of a deleted user\'s name creates a user: 201');
isnt($j->{UserId}, $jane, 'a new UserId');
my $janet = $j->{UserId};
($st, $h, $j) = call('GET', "Users/$janet");
ok($j->{IsActive}, 'active');
is($j->{FirstName}, 'Janet', 'with the new fields');
$jane = $janet;

# --- other accounts -------------------------------------------------------------------

my $theirs = psql_value("SELECT user_id FROM prefs_user u JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $other);
for my $m (['GET', undef], ['PUT', '{"LastName":"x"}'], ['DELETE', undef]) {
    ($st, $h, $j) = call($m->[0], "Users/$theirs", $m->[1]);
    is($st, 404, "$m->[0] of another account's user is 404");
}
is(psql_value("SELECT last_name || is_active::text FROM prefs_user WHERE user_id = :'u'", u => $theirs), 'true',
   'and it is untouched');
($st, $h, $j) = call('GET', 'Users', undef, client => $other);
is($j->{TotalResults}, 1, 'an account lists only its own users');

# --- bad input: 4xx with a Message, nothing changed ---------------------------------------

my $before = users_count();
my @bad = (
    [ 'malformed JSON', '{"UserName":', 400, qr/not valid JSON/ ],
    [ 'not an object', '["UserName"]', 400, qr/must be a JSON object/ ],
    [ 'no UserName', '{"FirstName":"x"}', 400, qr/UserName is required/ ],
    [ 'a number for a string', '{"UserName":42}', 400, qr/UserName must be a string/ ],
    [ 'a string for a boolean', '{"UserName":"x1","IsActive":"yes"}', 400, qr/IsActive must be true or false/ ],
    [ 'an unknown field', '{"UserName":"x2","Password":"p"}', 400, qr/Unknown field "Password"/ ],
    [ 'a read-only field', '{"UserName":"x3","UserId":5}', 400, qr/UserId is read-only/ ],
    [ 'a duplicate key', '{"UserName":"x4","UserName":"x5"}', 400, qr/not valid JSON.*duplicate/ ],
    [ 'the same key in another case', '{"UserName":"x6","username":"x7"}', 400, qr/UserName is given twice/ ],
    [ 'an empty UserName', '{"UserName":""}', 400, qr/UserName must be 1 to 128/ ],
    [ 'a slash in UserName', '{"UserName":"a/b"}', 400, qr/UserName must not contain/ ],
    [ 'a space in UserName', '{"UserName":"a b"}', 400, qr/UserName must not contain/ ],
    [ 'a control character', '{"UserName":"a\u0001b"}', 400, qr/control characters/ ],
    [ 'a NUL character', '{"UserName":"a\u0000b"}', 400, qr/./ ],
    [ 'an overlong name', encode_json({ UserName => 'n' x 129 }), 400, qr/1 to 128/ ],
    [ 'an unknown landing page', '{"UserName":"x8","DefaultLandingPage":"Home"}', 400, qr/must be one of "Dashboard", "ProfileSearch", "DataExport"/ ],
    [ 'a landing page number out of range', '{"UserName":"x9","DefaultLandingPageTypeNbr":4}', 400, qr/from 1 to 3/ ],
    [ 'an unknown group', '{"UserName":"x10","UserGroups":["Wizards"]}', 400, qr/no group is named "Wizards"/ ],
    [ 'groups that are not strings', '{"UserName":"x11","UserGroups":[1]}', 400, qr/UserGroups/ ],
    [ 'invalid UTF-8', qq({"UserName":"x\xff"}), 400, qr/not valid JSON/ ],
    [ 'a huge body', encode_json({ UserName => 'x12', Description => 'd' x 5000 }), 413, qr/larger than 4096 bytes/ ],
);
for my $c (@bad) {
    my ($name, $body, $code, $re) = @$c;
    ($st, $h, $j) = call('POST', 'Users', $body);
    is($st, $code, "$name: $code");
    like($j->{Message} // '', $re, "$name: the Message says why");
}
($st, $h, $j) = call('POST', 'Users', '{"UserName":"x13"}', type => 'text/plain');
is($st, 415, 'a body that is not application/json is 415');
($st, $h, $j) = call('PUT', "Users/$jane", '{"IsSSO":true}');
is($st, 400, 'IsSSO can only be set at creation');
($st, $h, $j) = call('POST', 'Users', undef);
is($st, 415, 'POST without a body or type is 415');
($st, $h, $j) = call('POST', 'Users', '');
is($st, 400, 'an empty JSON body is 400');
like($j->{Message} // '', qr/needs a JSON body/, 'saying a body is needed');
is(users_count(), $before, 'none of them created or changed a user');

for my $id ('abc', '0', '-1', '007', '99999999999999999999', '1%27%20OR%201=1') {
    ($st, $h, $j) = call('GET', "Users/$id");
    is($st, 404, "a hostile id \"$id\" is 404");
    like($j->{Message} // '', qr/No (user|such user)/, 'with a Message');
}

($st, $h, $j) = call('PATCH', "Users/$jane", '{}');
is($st, 405, 'PATCH Users/{id} is 405');
is($h->{allow}, 'GET, HEAD, PUT, DELETE', 'Allow lists what the route takes');
($st, $h, $j) = call('GET', 'Users/1/2/3');
is($st, 404, 'an unknown route is 404');
($st, $h, $j) = call('GET', 'users?limit=0');
is($st, 400, 'limit=0 is 400 (routes match in any case)');
($st, $h, $j) = call('GET', 'Users?offset=abc');
is($st, 400, 'a non-numeric offset is 400');

my @errors = grep { /\[(error|alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@errors, [], 'no error was logged');
$ng->stop;

done_testing();
