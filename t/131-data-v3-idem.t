# Idempotency-Key on creates (POST Profile, POST Users): replays, 422 for
# another request, bad keys, keys per account and user, concurrent
# duplicates, expiry; the v4 routes by alternate id (preferences, consent
# history); the v3 Preferences routes over the same data (both ways), with
# bad input, other accounts and permissions.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $ng = PrefsTest::start_nginx(name => 'datav3', port => 1992, workers => 2,
                                config => 'location /api/3/ { prefs_api v3; }');

my $acme = make_account('dv3');
my $secret = make_user($acme, 'admin', 'Administrators');
my $secret2 = make_user($acme, 'admin2', 'Administrators');
my $reader = make_user($acme, 'reader', 'ReadOnly');
my $other = make_account('dv3o');
my $osecret = make_user($other, 'admin', 'Administrators');

for my $c ($acme, $other) {
    my ($rc, $out) = prefsctl('config', 'import', $c, "$top/conf/demo-config.json");
    is($rc, 0, "the demo configuration is imported into $c") or diag $out;
}

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my $s = $client ne $acme ? $osecret : { admin => $secret, admin2 => $secret2, reader => $reader }->{$user};
    my %h = (Authorization => pnauth($client, $user, $s), %{ $o{headers} || {} });
    $h{'Content-Type'} //= 'application/json' if defined $body;
    my $prefix = $o{v3} ? '/api/3' : '/Profiles/v4';
    my ($st, $hd, $b) = $ng->request(method => $method, path => "$prefix/$client/$path", headers => \%h,
                                     body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $hd, $j, $b);
}

sub count { psql_value(shift, @_) }
sub events { count("SELECT count(*) FROM prefs_event e JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => shift // $acme) }
sub profiles { count("SELECT count(*) FROM prefs_profile p JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => shift // $acme) }
sub named { count("SELECT count(*) FROM prefs_profile p JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c' AND p.first_name = :'n'", c => $_[1] // $acme, n => $_[0]) }

my @required = ({ Name => 'FavoriteCategory', Value => 'Garden' });

# --- Idempotency-Key: POST Profile ------------------------------------------------

my $k1 = "key-one-$$";
my %create = (FirstName => "Idem$$", CustomFields => \@required);
my ($st, $h, $j, $raw) = call('POST', 'Profile', \%create, headers => { 'Idempotency-Key' => $k1 });
is($st, 201, 'POST Profile with an Idempotency-Key: 201') or diag $raw;
my ($id1, $loc1, $raw1) = ($j->{ProfileId}, $h->{location}, $raw);
like($loc1 // '', qr{/Profile/$id1$}, 'with its Location');
ok(!exists $h->{'idempotent-replayed'}, 'not a replay');
my ($p0, $e0) = (profiles(), events());

($st, $h, $j, $raw) = call('POST', 'Profile', \%create, headers => { 'Idempotency-Key' => $k1 });
is($st, 201, 'the retry: the same status');
is($raw, $raw1, 'the same body');
is($h->{location}, $loc1, 'the same Location');
is($h->{'idempotent-replayed'}, 'true', 'Idempotent-Replayed: true');
is(profiles(), $p0, 'no second profile');
is(events(), $e0, 'no event either');
is(named("Idem$$"), 1, 'one profile of that body in the database');
is(count("SELECT count(*) FROM prefs_idempotency i JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c' AND i.idem_key = :'k'",
         c => $acme, k => $k1), 1, 'and one row of the key, with its answer');
is(count("SELECT i.answer->>'profile_id' FROM prefs_idempotency i JOIN prefs_user u USING (user_id)"
         . " JOIN prefs_account a ON a.account_id = i.account_id"
         . " WHERE a.client_id = :'c' AND u.user_name = 'admin' AND i.idem_key = :'k'", c => $acme, k => $k1), $id1,
   'the answer stored is the create\'s');

($st, $h, $j) = call('POST', 'Profile', { %create, LastName => 'Other' }, headers => { 'Idempotency-Key' => $k1 });
is($st, 422, 'the same key with another body: 422');
like($j->{Message} // '', qr/Idempotency-Key/, 'with a Message naming the key');
is(profiles(), $p0, 'nothing created');

($st, $h, $j) = call('POST', 'Users', { UserName => "u$$" }, headers => { 'Idempotency-Key' => $k1 });
is($st, 422, 'the same key on another route: 422');
is(count("SELECT count(*) FROM prefs_user WHERE user_name = :'u'", u => "u$$"), 0, 'no user created');

# keys are per account and per user
($st, $h, $j) = call('POST', 'Profile', \%create, client => $other, headers => { 'Idempotency-Key' => $k1 });
is($st, 201, 'another account with the same key: a create of its own');
ok(!exists $h->{'idempotent-replayed'}, 'not a replay');
is(named("Idem$$", $other), 1, 'in that account');
isnt($j->{ProfileId}, $id1, 'another profile');
($st, $h, $j) = call('POST', 'Profile', \%create, user => 'admin2', headers => { 'Idempotency-Key' => $k1 });
is($st, 201, 'another user of the account with the same key: a create of its own');
ok(!exists $h->{'idempotent-replayed'}, 'not a replay either');
is(named("Idem$$"), 2, 'a second profile');

# bad keys
($p0, $e0) = (profiles(), events());
for my $c ([ 'an empty key', { 'Idempotency-Key' => '' } ],
           [ 'a key of 256 characters', { 'Idempotency-Key' => 'k' x 256 } ],
           [ 'a key that is not ASCII', { 'Idempotency-Key' => "caf\xc3\xa9" } ],
           [ 'a key with a control character', { 'Idempotency-Key' => "a\x01b" } ],
           [ 'a bad sf-string', { 'Idempotency-Key' => '"a\\b"' } ],
           [ 'two keys', { 'Idempotency-Key' => 'a', 'idempotency-key' => 'b' } ]) {
    ($st, $h, $j) = call('POST', 'Profile', \%create, headers => $c->[1]);
    is($st, 400, "$c->[0]: 400");
    like($j->{Message} // '', qr/Idempotency-Key/, "$c->[0]: the Message says why");
}
($st) = call('POST', 'Profile', \%create, headers => { 'Idempotency-Key' => 'k' x 255 });
is($st, 201, 'a key of 255 characters is fine');
($st, $h) = call('POST', 'Profile', \%create, headers => { 'Idempotency-Key' => '"' . ('k' x 255) . '"' });
is($h->{'idempotent-replayed'}, 'true', 'and its sf-string form is the same key');
is(profiles(), $p0 + 1, 'only that one created');

# a refused create keeps no key: the corrected request may use it
my $k3 = "key-three-$$";
($st, $h, $j) = call('POST', 'Profile', { FirstName => "Fix$$" }, headers => { 'Idempotency-Key' => $k3 });
is($st, 400, 'a create refused (a required custom field is missing): 400');
is(count("SELECT count(*) FROM prefs_idempotency WHERE idem_key = :'k'", k => $k3), 0, 'its key is not kept');
($st, $h, $j, $raw) = call('POST', 'Profile', { FirstName => "Fix$$", CustomFields => \@required },
                           headers => { 'Idempotency-Key' => $k3 });
is($st, 201, 'the corrected request with the same key creates') or diag $raw;
ok(!exists $h->{'idempotent-replayed'}, 'as a first request');
is(count("SELECT count(*) FROM prefs_idempotency WHERE idem_key = :'k'", k => $k3), 1, 'and its key is kept now');

# concurrent duplicates: one profile, the same answer for all
my $k2 = "key-two-$$";
my @socks;
my $dup = encode_json({ FirstName => "Conc$$", CustomFields => \@required });   # one key order
for (1 .. 6) {
    push @socks, $ng->request(method => 'POST', path => "/Profiles/v4/$acme/Profile",
        headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json',
                     'Idempotency-Key' => $k2 },
        body => $dup, no_wait => 1);
}
my @answers = map { [ PrefsTest::read_response($_, 20) ] } @socks;
is_deeply([ map { $_->[0] } @answers ], [ (201) x 6 ], 'six concurrent duplicates: all 201');
is(scalar(keys %{ { map { $_->[2] => 1 } @answers } }), 1, 'with one body');
is(scalar(grep { ($_->[1]{'idempotent-replayed'} // '') eq 'true' } @answers), 5, 'five of them replays');
is(named("Conc$$"), 1, 'and one profile in the database');

# keys are kept 24 hours
psql("UPDATE prefs_idempotency SET created_at = now() - interval '25 hours' WHERE idem_key = :'k'", k => $k1);
psql("INSERT INTO prefs_idempotency (account_id, user_id, idem_key, fingerprint, operation, answer, created_at)"
     . " SELECT account_id, 0, :'k', 'x', 'profile.create', '{}', now() - interval '3 days'"
     . " FROM prefs_account WHERE client_id = :'c'", k => "stale-$$", c => $acme);
($st, $h, $j) = call('POST', 'Profile', \%create, headers => { 'Idempotency-Key' => $k1 });
is($st, 201, 'an expired key: the create runs again');
ok(!exists $h->{'idempotent-replayed'}, 'not a replay');
isnt($j->{ProfileId}, $id1, 'a new profile');
is(count("SELECT count(*) FROM prefs_idempotency WHERE idem_key = :'k'", k => "stale-$$"), 0,
   'expired keys are deleted as keys are used');

# POST Users opts in the same way
my %user = (UserName => "idem.user.$$", FirstName => 'I');
($st, $h, $j, $raw) = call('POST', 'Users', \%user, headers => { 'Idempotency-Key' => "user-$$" });
is($st, 201, 'POST Users with a key: 201') or diag $raw;
my ($uraw, $uloc) = ($raw, $h->{location});
($st, $h, $j, $raw) = call('POST', 'Users', \%user, headers => { 'Idempotency-Key' => "user-$$" });
is($st, 201, 'its retry: 201 (not 409)');
is($raw, $uraw, 'the same body, SubmittedTime included');
is($h->{location}, $uloc, 'the same Location');
is($h->{'idempotent-replayed'}, 'true', 'a replay');
($st) = call('POST', 'Users', \%user);
is($st, 409, 'without the key the same user is a conflict, as before');

# --- v4 routes by alternate id ------------------------------------------------------------

my $crm = "crm-$$";
($st, $h, $j, $raw) = call('POST', 'Profile', { FirstName => 'Alt', CustomFields => \@required,
    AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
    Emails => [ { Address => "alt$$\@example.com", IsDefault => JSON::PP::true } ] });
is($st, 201, 'a profile with an alternate id') or diag $raw;
my $alt = $j->{ProfileId};
my $apath = "Profile/Preferences/AlternateIdType/CRMId/AlternateId/$crm";

$e0 = events();
($st, $h, $j, $raw) = call('POST', $apath, { FilterId => 'NewsletterEmail', ContactPoint => "alt$$\@example.com",
                                             PreferenceType => 1, FrequencyId => 'W' });
is($st, 200, 'POST Profile/Preferences/AlternateIdType/{type}/AlternateId/{id}') or diag $raw;
is_deeply($j, { ProfileId => $alt }, 'answers the profile id');
is(count("SELECT count(*) FROM prefs_event WHERE profile_id = :'p' AND event_type = 'preference.added'", p => $alt), 1,
   'preference.added recorded');
($st, $h, $j, $raw) = call('GET', $apath);
is($st, 200, 'GET Profile/Preferences/AlternateIdType/{type}/AlternateId/{id}') or diag $raw;
is($j->{ProfileId}, $alt, 'not taken by another route: the profile named by the alternate id');
is_deeply([ map { $_->{FilterId} } @{ $j->{ProfilePreferences} || [] } ], [ 'NewsletterEmail' ], 'its preferences');
my ($st4, $h4, $j4) = call('GET', "Profile/$alt/Preferences");
is_deeply($j, $j4, 'the same as GET Profile/{id}/Preferences');
($st, $h, $j) = call('GET', "profile/preferences/alternateidtype/CRMId/alternateid/$crm");
is($j->{ProfileId}, $alt, 'route names in any case');
($st, $h, $j) = call('POST', $apath, [ { FilterId => 'PartnerOffersEmail', ContactPoint => "alt$$\@example.com", PreferenceType => 2 } ]);
is($st, 200, 'a list of preferences');
($st, $h, $j) = call('POST', $apath, { ProfilePreferences => [ { FilterId => 'NewsletterEmail', ContactPoint => "alt$$\@example.com", PreferenceType => 2 } ] });
is($st, 200, 'the wrapped list');
($st, $h, $j) = call('GET', "Profile/$alt/Preferences");
is_deeply([ map { "$_->{FilterId}:$_->{PreferenceType}" } @{ $j->{ProfilePreferences} } ],
          [ 'NewsletterEmail:2', 'PartnerOffersEmail:2' ], 'both written, v4 reads them');

$e0 = events();
for my $c ([ 'an unknown alternate id', 'GET', "Profile/Preferences/AlternateIdType/CRMId/AlternateId/nobody-$$", undef, 404 ],
           [ 'an unknown alternate id type', 'GET', "Profile/Preferences/AlternateIdType/Nope/AlternateId/$crm", undef, 404 ],
           [ 'a write to an unknown alternate id', 'POST', "Profile/Preferences/AlternateIdType/CRMId/AlternateId/nobody-$$",
             { FilterId => 'NewsletterEmail', PreferenceType => 1 }, 404 ],
           [ 'malformed JSON', 'POST', $apath, '{"FilterId":', 400 ],
           [ 'an unknown field', 'POST', $apath, { FilterId => 'NewsletterEmail', Colour => 'red' }, 400 ],
           [ 'an unknown filter', 'POST', $apath, { FilterId => 'Nope', PreferenceType => 1 }, 400 ],
           [ 'a wrong type', 'POST', $apath, { FilterId => 'NewsletterEmail', ContactPoint => "alt$$\@example.com", PreferenceType => 'yes' }, 400 ],
           [ 'invalid UTF-8', 'POST', $apath, qq({"FilterId":"\xff"}), 400 ]) {
    ($st, $h, $j) = call($c->[1], $c->[2], $c->[3]);
    is($st, $c->[4], "$c->[0]: $c->[4]");
    ok(length($j->{Message} // ''), "$c->[0]: with a Message");
}
($st) = call('POST', $apath, '{}', headers => { 'Content-Type' => 'text/plain' });
is($st, 415, 'a body that is not JSON: 415');
($st) = call('GET', $apath, undef, client => $other);
is($st, 404, 'another account cannot read it');
($st) = call('POST', $apath, { FilterId => 'NewsletterEmail', PreferenceType => 1 }, client => $other);
is($st, 404, 'nor write it');
($st, $h, $j) = call('POST', $apath, { FilterId => 'NewsletterEmail', PreferenceType => 1 }, user => 'reader');
is($st, 403, 'ReadOnly cannot write');
is(events(), $e0, 'none of them recorded an event');

# consent history by alternate id
for my $s ('Granted', 'Revoked') {
    ($st) = call('POST', "Consents/$alt", [ { TypeName => 'Marketing', Version => '2.0', Status => $s } ]);
    is($st, 200, "a consent $s");
}
($st, $h, $j, $raw) = call('GET', "Profile/Consents/History?alternateIdType=CRMId&alternateId=$crm");
is($st, 200, 'GET Profile/Consents/History') or diag $raw;
is($j->{ProfileId}, $alt, 'the profile');
is($j->{FirstName}, 'Alt', 'with its names');
is_deeply([ map { $_->{Status} } @{ $j->{Consents} } ], [ 'Granted', 'Revoked' ], 'and the whole history in order');
($st, $h, $j) = call('GET', "profile/consents/history?AlternateIdType=CRMId&ALTERNATEID=$crm");
is($j->{ProfileId}, $alt, 'names in any case');
($st, $h, $j) = call('GET', 'Profile/Consents/History?alternateIdType=CRMId');
is($st, 400, 'without alternateId: 400');
like($j->{Message} // '', qr/alternateId/, 'naming it');
($st) = call('GET', 'Profile/Consents/History?alternateIdType=CRMId&alternateId=%zz');
is($st, 400, 'a badly encoded query: 400');
($st) = call('GET', "Profile/Consents/History?alternateIdType=CRMId&alternateId=nobody-$$");
is($st, 404, 'an unknown alternate id: 404');
($st) = call('GET', "Profile/Consents/History?alternateIdType=CRMId&alternateId=$crm", undef, client => $other);
is($st, 404, 'another account: 404');

# --- v3 Preferences ---------------------------------------------------------------------

($st, $h, $j, $raw) = call('POST', 'AlternateIdTypes', { Name => 'CID', Description => 'v3 customer id' });
is($st, 201, 'the account gets an alternate id type CID') or diag $raw;

my $cid = "C-$$";
my $mail = "cid$$\@example.com";
$e0 = events();
($st, $h, $j, $raw) = call('POST', 'Preferences', [ {
    CID => $cid, Prefix => '', FirstName => 'Vera', LastName => 'Three', FilterID => 'NewsletterEmail',
    PreferenceType => 1, FrequencyID => 'W', ContactElement => { Email => $mail, PFT => '' },
    PreferenceAttributes => [ { Link => 1, Key => 'Topic', Value => 'garden' } ] } ], v3 => 1);
is($st, 200, 'v3 POST Preferences: 200') or diag $raw;
my $p3 = $j->{Preferences}[0] || {};
is($p3->{FilterID}, 'NewsletterEmail', 'answers the preference written, v3 names: FilterID');
is($p3->{ProgramID}, 'Newsletters', 'ProgramID');
is($p3->{ChannelID}, 'Email', 'ChannelID');
is($p3->{CID}, $cid, 'CID');
is($p3->{ContactElement}{Email}, $mail, 'ContactElement.Email');
is_deeply($p3->{PreferenceAttributes}, [ { Key => 'Topic', Value => 'garden' } ], 'PreferenceAttributes');

($st, $h, $j, $raw) = call('GET', "Profile/AlternateIdType/CID/AlternateId/$cid");
is($st, 200, 'v4 finds the customer by the alternate id CID') or diag $raw;
my $vid = $j->{ProfileId};
is($j->{FirstName}, 'Vera', 'with the names of the v3 request');
is($j->{Emails}[0]{Address}, $mail, 'and its email');
is_deeply([ map { "$_->{FilterId}:$_->{PreferenceType}:$_->{FrequencyId}:$_->{ContactPoint}" } @{ $j->{ProfilePreferences} } ],
          [ "NewsletterEmail:1:W:$mail" ], 'v4 reads the preference v3 wrote');
is_deeply([ split /,/, psql_value("SELECT string_agg(event_type, ',' ORDER BY event_id) FROM prefs_event WHERE profile_id = :'p'", p => $vid) ],
          [ 'profile.created', 'contacts.alternateid.added', 'contacts.email.added', 'preference.added' ],
          'the events of a v4 create');
is(count("SELECT count(*) FROM prefs_event WHERE profile_id = :'p' AND event_type = 'profile.created' AND data->>'FirstName' = 'Vera'", p => $vid), 1,
   'profile.created carries the profile');

# v4 writes, v3 reads
($st, $h, $j, $raw) = call('POST', "Profile/$vid/Preferences", { FilterId => 'PartnerOffersEmail', ContactPoint => $mail, PreferenceType => 1 });
is($st, 200, 'v4 adds a preference') or diag $raw;
($st, $h, $j, $raw) = call('GET', "Preferences/CID/$cid/Program", undef, v3 => 1);
is($st, 200, 'v3 GET Preferences/CID/{CID}/Program') or diag $raw;
is_deeply([ map { $_->{FilterID} } @{ $j->{Preferences} } ], [ 'NewsletterEmail', 'PartnerOffersEmail' ], 'both preferences');
($st, $h, $j) = call('GET', "Preferences/CID/$cid/Program?ProgramIds[0]=PartnerOffers", undef, v3 => 1);
is_deeply([ map { $_->{FilterID} } @{ $j->{Preferences} } ], [ 'PartnerOffersEmail' ], 'ProgramIds[0] selects a program');
($st, $h, $j) = call('GET', "preferences/cid/$cid/program?programIds[0]=Newsletters&programIds[1]=PartnerOffers", undef, v3 => 1);
is(scalar @{ $j->{Preferences} || [] }, 2, 'route and parameter names in any case, two programs');
($st, $h, $j) = call('GET', "Preferences/Program/Newsletters?CID=$cid", undef, v3 => 1);
is_deeply([ map { $_->{FilterID} } @{ $j->{Preferences} } ], [ 'NewsletterEmail' ], 'GET Preferences/Program/{programId}?CID=');

($st, $h, $j, $raw) = call('GET', 'Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden', undef, v3 => 1);
is($st, 200, 'GET Preferences/Attributes') or diag $raw;
is_deeply([ map { "$_->{CID}:$_->{FilterID}" } @{ $j->{Preferences} } ], [ "$cid:NewsletterEmail" ], 'finds the preference by its attribute');
($st, $h, $j) = call('GET', 'Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden&channels[0]=Mail', undef, v3 => 1);
is_deeply($j->{Preferences}, [], 'channels[0] narrows it');
($st, $h, $j) = call('GET', 'Preferences/Attributes', undef, v3 => 1);
is($st, 400, 'no attribute: 400');
($st, $h, $j) = call('GET', 'Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden&channels[0]=Pigeon', undef, v3 => 1);
is($st, 400, 'an unknown channel: 400');

# an update through v3: the same events as v4's
my $last = psql_value("SELECT max(event_id) FROM prefs_event WHERE profile_id = :'p'", p => $vid);
($st, $h, $j, $raw) = call('POST', 'Preferences', { Preferences => [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 2,
    ContactElement => { Email => $mail } } ] }, v3 => 1);
is($st, 200, 'an opt-out through v3 (the wrapped list)') or diag $raw;
is_deeply([ split /,/, psql_value("SELECT string_agg(event_type, ',' ORDER BY event_id) FROM prefs_event WHERE profile_id = :'p' AND event_id > :'e'",
                                  p => $vid, e => $last) ],
          [ 'preference.updated', 'profile.updated' ], 'preference.updated and profile.updated');
($st, $h, $j) = call('GET', "Profile/$vid/Preferences");
is((grep { $_->{FilterId} eq 'NewsletterEmail' } @{ $j->{ProfilePreferences} })[0]{PreferenceType}, 2, 'v4 sees the opt-out');

# a program, one channel with its contact element
($st, $h, $j, $raw) = call('POST', 'Preferences/Program/Newsletters', { CID => $cid, GlobalPreferenceType => 1,
    ChannelContactPreference => [ { ChannelID => 'Text', ContactElement => { PFT => '+1 555 010 0199' } } ] }, v3 => 1);
is($st, 200, 'POST Preferences/Program/{programId}') or diag $raw;
is_deeply([ map { "$_->{FilterID}:$_->{PreferenceType}:$_->{ContactElement}{PFT}" } @{ $j->{Preferences} } ],
          [ 'NewsletterText:1:+15550100199' ], 'only the filters of that channel, with the number');
($st, $h, $j) = call('GET', "Profile/$vid");
ok((grep { $_->{Number} eq '+15550100199' && $_->{IsMobile} } @{ $j->{PhoneNumbers} }), 'the number was added as a mobile');

# a program group with its nested groups
($st, $h, $j, $raw) = call('POST', 'Preferences/ProgramGroup/MarketingCommunications',
    { CID => $cid, GlobalPreferenceType => 2, UpdateNestedGroups => 0, FrequencyID => 'M' }, v3 => 1);
is($st, 200, 'POST Preferences/ProgramGroup/{programGroupId}') or diag $raw;
is_deeply([ sort map { "$_->{FilterID}:$_->{PreferenceType}" } @{ $j->{Preferences} } ],
          [ 'NewsletterEmail:2', 'NewsletterText:2', 'PartnerOffersEmail:2', 'PartnerOffersPhone:2' ],
          'every filter of its programs that the customer has a contact point for');
($st, $h, $j) = call('GET', "Preferences/ProgramGroup/AllCommunications?CID=$cid", undef, v3 => 1);
is($st, 200, 'GET Preferences/ProgramGroup/{programGroupId}');
is(scalar @{ $j->{Preferences} || [] }, 4, 'nested groups included');

# a new customer by contact element alone; all or nothing
my $newmail = "new$$\@example.com";
$e0 = events();
my $p1 = profiles();
($st, $h, $j, $raw) = call('POST', 'Preferences', [
    { FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => $newmail } },
    { FilterID => 'NoSuchFilter', PreferenceType => 1, CID => "C2-$$" } ], v3 => 1);
is($st, 400, 'one bad item of two: 400');
like($j->{Message} // '', qr/^Preferences\[1\]\.FilterID 'NoSuchFilter' is not an active filter/, 'naming it in the v3 spelling');
is(events(), $e0, 'no event');
is(profiles(), $p1, 'no profile');
($st, $h, $j, $raw) = call('POST', 'Preferences', { FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => $newmail } }, v3 => 1);
is($st, 200, 'a customer without CID, by email') or diag $raw;
is($j->{Preferences}[0]{CID}, undef, 'has no CID');
is(profiles(), $p1 + 1, 'a new profile');
($st) = call('POST', 'Preferences', { FilterID => 'NewsletterEmail', PreferenceType => 2, ContactElement => { Email => uc $newmail } }, v3 => 1);
is(profiles(), $p1 + 1, 'found by its email the second time');

$e0 = events();
for my $c ([ 'malformed JSON', '[{"FilterID":' ],
           [ 'no FilterID', [ { CID => $cid, PreferenceType => 1 } ], qr/Preferences\[0\]\.FilterID is required/ ],
           [ 'a bad PreferenceType', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 3 } ], qr/PreferenceType/ ],
           [ 'an unknown field', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 1, Colour => 1 } ], qr/Colour/ ],
           [ 'a v4 name', [ { CID => $cid, FilterId => 'NewsletterEmail', PreferenceType => 1 } ], qr/FilterId is not a known field/ ],
           [ 'no CID and no contact', [ { FilterID => 'NewsletterEmail', PreferenceType => 1 } ], qr/CID/ ],
           [ 'a bad email', [ { CID => "C3-$$", FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => 'nope' } } ],
             qr/^Preferences\[0\]\.ContactElement\.Email must be an email address/ ],
           [ 'a frequency the filter lacks', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 1, FrequencyID => 'Y' } ],
             qr/^Preferences\[0\]\.FrequencyID 'Y' is not a frequency/ ],
           [ 'a bad ContactElement field', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Fax => 1 } } ],
             qr/ContactElement\.Fax/ ],
           [ 'an empty list', [] ],
           [ 'invalid UTF-8', qq([{"CID":"\xff"}]) ]) {
    ($st, $h, $j) = call('POST', 'Preferences', $c->[1], v3 => 1);
    is($st, 400, "v3 $c->[0]: 400");
    like($j->{Message} // '', $c->[2] // qr/./, "v3 $c->[0]: the Message");
}
($st, $h, $j) = call('POST', 'Preferences/ProgramGroup/MarketingCommunications', { CID => $cid, GlobalPreferenceType => 1 }, v3 => 1);
is($st, 400, 'a group without UpdateNestedGroups: 400');
like($j->{Message} // '', qr/UpdateNestedGroups is required/, 'naming it');
($st, $h, $j) = call('POST', 'Preferences/Program/Newsletters', { CID => $cid }, v3 => 1);
is($st, 400, 'a program without GlobalPreferenceType: 400');
($st) = call('POST', 'Preferences/Program/NoSuchProgram', { CID => $cid, GlobalPreferenceType => 1 }, v3 => 1);
is($st, 404, 'an unknown program: 404');
($st) = call('POST', 'Preferences/ProgramGroup/NoSuchGroup', { CID => $cid, GlobalPreferenceType => 1, UpdateNestedGroups => 1 }, v3 => 1);
is($st, 404, 'an unknown group: 404');
($st) = call('POST', 'Preferences', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 1 } ], v3 => 1, user => 'reader');
is($st, 403, 'ReadOnly cannot write through v3');
is(events(), $e0, 'none of them recorded an event');

($st, $h, $j) = call('GET', "Preferences/CID/nobody-$$/Program", undef, v3 => 1);
is($st, 404, 'an unknown CID: 404');
($st, $h, $j) = call('GET', "Preferences/CID/$cid/Program", undef, v3 => 1, client => $other);
is($st, 404, 'another account\'s CID: 404');
($st, $h, $j) = call('GET', 'Preferences/Attributes?attributes[0].Key=Topic&attributes[0].Value=garden', undef, v3 => 1, client => $other);
is_deeply($j->{Preferences}, [], 'another account finds none of them by attribute');
($st) = call('GET', 'Preferences/Program/Newsletters', undef, v3 => 1);
is($st, 400, 'GET Preferences/Program/{programId} without CID: 400');
($st) = call('GET', "Preferences/Program/Nope?CID=$cid", undef, v3 => 1);
is($st, 404, 'an unknown program: 404');
($st) = call('GET', "Preferences/CID/$cid/Program?ProgramIds[1]=x", undef, v3 => 1);
is($st, 400, 'a bad indexed parameter: 400');
($st) = call('POST', 'Preferences', [ { CID => $cid, FilterID => 'NewsletterEmail', PreferenceType => 1 } ]);
is($st, 404, 'the v3 routes are not on the v4 location');

# the Mail and Phone channels
($st, $h, $j, $raw) = call('POST', 'Preferences', [ { CID => $cid, FilterID => 'ProductUpdatesMail', PreferenceType => 1,
    ContactElement => { Address1 => '1 Elm St', Address2 => 'Apt 2', City => 'Springfield', StateProvince => 'IL',
                        PostalCode => '62701', CountryCode => 'US' } } ], v3 => 1);
is($st, 200, 'a Mail preference with its address') or diag $raw;
is($j->{Preferences}[0]{ContactElement}{City}, 'Springfield', 'answered with the address');
($st, $h, $j) = call('GET', "Profile/$vid");
my ($addr) = grep { $_->{Line1} eq '1 Elm St' } @{ $j->{Addresses} };
ok($addr && $addr->{State} eq 'IL' && $addr->{Country} eq 'US', 'the address is on the profile (StateProvince, CountryCode)');
my ($mpref) = grep { $_->{FilterId} eq 'ProductUpdatesMail' } @{ $j->{ProfilePreferences} };
is($mpref->{ContactPoint}, $addr->{AddressId}, 'the v4 preference names its AddressId');
my $phone = '+15550100777';
($st, $h, $j, $raw) = call('POST', 'Preferences', { FilterID => 'PartnerOffersPhone', PreferenceType => 1, FirstName => 'Phil',
    ContactElement => { PFT => '+1 (555) 010-0777' } }, v3 => 1);
is($st, 200, 'a new customer by phone number') or diag $raw;
is($j->{Preferences}[0]{ContactElement}{PFT}, $phone, 'the number, normalized');
($st, $h, $j) = call('GET', "Profile/Phone?phoneNumber=%2B15550100777");
is(scalar @$j, 1, 'v4 finds the new profile by its phone');
is($j->[0]{FirstName}, 'Phil', 'with its name');

# two writers of one new customer at once: one customer
my $ccid = "CC-$$";
my $cbody = encode_json([ { CID => $ccid, FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => "cc$$\@example.com" } } ]);
my @cs = map { $ng->request(method => 'POST', path => "/api/3/$acme/Preferences",
    headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json' },
    body => $cbody, no_wait => 1) } 1 .. 4;
my @cst = map { (PrefsTest::read_response($_, 20))[0] } @cs;
is_deeply(\@cst, [ (200) x 4 ], 'concurrent writers of a new CID: all 200 (the second waits for the first)');
is(count("SELECT count(*) FROM prefs_profile_alternate_id a JOIN prefs_account c USING (account_id) WHERE c.client_id = :'c' AND a.type = 'CID' AND a.value = :'v'",
         c => $acme, v => $ccid), 1, 'one customer has the CID');

my $nmail = "nc$$\@example.com";
my $nbody = encode_json({ FilterID => 'NewsletterEmail', PreferenceType => 1, ContactElement => { Email => $nmail } });
@cs = map { $ng->request(method => 'POST', path => "/api/3/$acme/Preferences",
    headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json' },
    body => $nbody, no_wait => 1) } 1 .. 4;
@cst = map { (PrefsTest::read_response($_, 20))[0] } @cs;
is_deeply(\@cst, [ (200) x 4 ], 'concurrent writers of a new customer by email: all 200');
is(count("SELECT count(*) FROM prefs_profile_email e JOIN prefs_account c USING (account_id) WHERE c.client_id = :'c' AND e.address = :'v'",
         c => $acme, v => $nmail), 1, 'one customer has the email');

# more refusals
my $op = profiles($other);
($st, $h, $j) = call('POST', 'Preferences', [ { CID => "C9-$$", FilterID => 'NewsletterEmail', PreferenceType => 1,
    ContactElement => { Email => "x$$\@example.com" } } ], v3 => 1, client => $other);
is($st, 400, 'an account without the alternate id type CID cannot write with a CID');
like($j->{Message} // '', qr/Preferences\[0\]\.CID needs an active alternate id type named 'CID'/, 'and says so');
is(profiles($other), $op, 'nothing written there');
($st) = call('POST', 'Preferences', '[' . join(',', ('{"CID":"x","FilterID":"NewsletterEmail","PreferenceType":1}') x 30000) . ']', v3 => 1);
is($st, 413, 'an oversized body: 413');
($st, $h, $j) = call('GET', "Preferences/CID/@{['z' x 300]}/Program", undef, v3 => 1);
is($st, 404, 'a hostile CID: 404');
($st, $h, $j, $raw) = call('HEAD', "Preferences/CID/$cid/Program", undef, v3 => 1);
is($st, 200, 'HEAD on a v3 read');
is($raw, '', 'without a body');
($st, $h) = call('PUT', $apath, {});
is($st, 405, 'PUT on the alternate-id preferences route: 405');
is($h->{allow}, 'GET, HEAD, POST', 'Allow lists its methods');
($st, $h, $j) = call('GET', 'Profile/Preferences');
is($st, 404, 'GET Profile/Preferences (no alternate id) is no route of ours');

# (nginx logs the oversized body itself, at error level)
my @bad = grep { /\[(error|alert|crit|emerg)\]/ && !/client intended to send too large body/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'no error was logged');
$ng->stop;

done_testing();
