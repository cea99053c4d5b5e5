# The Webhooks API (WebhookManage): subscriptions (create with a secret
# answered once and stored sealed, list, read, update, delete, rotate the
# secret), the one-Url-one-event rule, states as the delivery side leaves
# them, the account's settings; permissions, other accounts' ids, and bad
# input of every route changing nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $key = $ENV{TEST_NGINX_PREFS_KEY};
my $ng = PrefsTest::start_nginx(name => 'webhooks', port => 1995, workers => 1,
    http_config => 'prefs_max_body 16k;',
    config => 'location /api/3/ { prefs_api v3; }');
my $ng_http = PrefsTest::start_nginx(name => 'webhooks-http', port => 1996, workers => 1,
    http_config => 'prefs_webhook_allow_http on;');

my $acme = make_account('wh');
my $secret = make_user($acme, 'admin', 'Administrators');
my $reader = make_user($acme, 'reader', 'ReadOnly');
my $integ = make_user($acme, 'integ', 'Integration');
my $other = make_account('who');
my $osecret = make_user($other, 'admin', 'Administrators');

my ($rc, $out) = prefsctl('config', 'import', $acme, "$top/conf/demo-config.json");
is($rc, 0, 'the demo configuration is imported') or diag $out;

my %secrets = ("$acme/admin" => $secret, "$acme/reader" => $reader, "$acme/integ" => $integ,
               "$other/admin" => $osecret);

sub call {
    my ($method, $path, $body, %o) = @_;
    my $client = $o{client} // $acme;
    my $user = $o{user} // 'admin';
    my %h = (Authorization => pnauth($client, $user, $secrets{"$client/$user"}));
    $h{'Content-Type'} = $o{type} // 'application/json' if defined $body;
    my $prefix = $o{prefix} // '/Profiles/v4';
    my ($st, $hd, $b) = ($o{server} // $ng)->request(method => $method, path => "$prefix/$client/$path",
        headers => \%h, body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    my $j = eval { decode_json($b) };
    return ($st, $hd, $j, $b);
}

sub subs_count {
    psql_value("SELECT count(*) FROM prefs_webhook_subscription s JOIN prefs_account a USING (account_id)"
        . " WHERE a.client_id = :'c'", c => $_[0] // $acme);
}

sub events_count {
    psql_value("SELECT count(*) FROM prefs_webhook_subscription_event e JOIN prefs_account a USING (account_id)"
        . " WHERE a.client_id = :'c'", c => $_[0] // $acme);
}

sub row {
    my ($id) = @_;
    my $r = psql("SELECT row_to_json(s) FROM prefs_webhook_subscription s WHERE subscription_id = :'i'", i => $id);
    return $r eq '' ? undef : decode_json($r);
}

sub unseal {
    my ($sealed) = @_;
    my $plain = `printf '%s\\n' '$sealed' | '$top/build/prefs-secret' open '$key' 2>/dev/null`;
    chomp $plain;
    return $? == 0 ? $plain : undef;
}

my $t = JSON::PP::true;
my $f = JSON::PP::false;

# --- create ------------------------------------------------------------------

my %create = (
    Name => 'Consent and preference updates', Description => 'consent and preference data updates',
    LocaleID => 'en_US', Url => 'https://Hooks.Example.COM/in?src=prefs', State => 'Active',
    IsMinimized => $f, IsActive => $t, CatchUpOnResume => $t, AlternateIdType => 'crmid',
    Subscriptions => [
        { Entity => 'Contacts', EventType => 'contacts.alternateid.added', ContactTypes => ['AllContactTypes'] },
        { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['AllConsents'] },
        { Entity => 'Preferences', EventType => 'preference.added', Filters => ['newsletteremail', 'PartnerOffersEmail'] },
        { Entity => 'Consents', EventType => 'consent.elementassocation.deactivated' },
        { Entity => 'Contacts', EventType => 'contacts.email.updated', ContactTypes => ['Work'] },
        { Entity => 'Groups', EventType => 'group.added', Groups => ['Household'] },
        { Entity => 'CustomFields', EventType => 'customfield.updated', CustomFields => ['Nickname'] },
    ]);

my ($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', \%create);
is($st, 201, 'POST Webhooks/Subscriptions: 201') or diag $raw;
my $id = $j->{Id};
like($id // '', qr/^\d+$/, 'with an Id');
like($h->{location} // '', qr{/Profiles/v4/$acme/Webhooks/Subscriptions/$id$}, 'Location names it');
like($j->{Secret} // '', qr{^whsec_[A-Za-z0-9+/]{43}=$}, 'the signing secret is answered: whsec_ and base64 of 32 bytes');
my $whsec = $j->{Secret};
is($j->{Url}, 'https://hooks.example.com/in?src=prefs', 'Url: scheme and host in lower case, the rest as sent');
is($j->{LocaleId}, 'en-US', 'LocaleID en_US is LocaleId en-US');
is($j->{AlternateIdType}, 'CRMId', 'AlternateIdType in its configured spelling');
is($j->{State}, 'PendingValidation', 'Active but not validated yet: PendingValidation');
ok($j->{IsActive} && $j->{CatchUpOnResume} && !$j->{IsMinimized}, 'the flags as sent');
is_deeply($j->{Subscriptions}, [
    { Entity => 'Contacts', EventType => 'contacts.alternateid.added', ContactTypes => ['AllContactTypes'] },
    { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['AllConsents'] },
    { Entity => 'Preferences', EventType => 'preference.added', Filters => ['NewsletterEmail', 'PartnerOffersEmail'] },
    { Entity => 'Consents', EventType => 'consent.elementassociation.deactivated' },
    { Entity => 'Contacts', EventType => 'contacts.email.updated', ContactTypes => ['Work'] },
    { Entity => 'Groups', EventType => 'group.added', Groups => ['Household'] },
    { Entity => 'CustomFields', EventType => 'customfield.updated', CustomFields => ['Nickname'] },
], 'Subscriptions normalized: the alias stored right, names in their configured spelling');

my $r = row($id);
ok($r, 'the row is in prefs_webhook_subscription');
is($r->{state}, 'Active', 'state Active');
is($r->{locale}, 'en-US', 'locale');
is(scalar @{ $r->{event_types} }, 7, 'event_types derived');
is(events_count(), 7, 'one prefs_webhook_subscription_event row per event type');
is(psql_value("SELECT count(*) FROM prefs_webhook_subscription_event WHERE subscription_id = :'i'"
    . " AND url = 'https://hooks.example.com/in?src=prefs'", i => $id), 7, 'under the normalized Url');
unlike($r->{secret_sealed}, qr/\Q$whsec\E|\Q@{[substr($whsec, 6)]}\E/, 'the secret is not stored in plain text');
is(unseal($r->{secret_sealed}), $whsec, 'the sealed secret opens with the key to the one answered');
like($r->{validation_code} // '', qr/^[A-Za-z0-9_-]{43}$/, 'a validation code is set');
ok(!defined $r->{validated_at}, 'and the subscription is not validated');
ok(!defined $r->{paused_at}, 'created Active: not paused');
is(psql_value("SELECT prefs_event_matches(:'s'::jsonb, 'consent.elementassocation.deactivated', '{}')::text",
    s => encode_json($r->{subscriptions})), 'true', 'what is stored selects events as prefs_event_matches reads it');

($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', {
    Name => 'paused', Url => 'https://b.example.com/', LocaleId => 'de_de',
    Subscriptions => [ { Entity => 'Tags', EventType => 'TAG.ADDED' } ] });
is($st, 201, 'a minimal subscription') or diag $raw;
my $id2 = $j->{Id};
is($j->{State}, 'Paused', 'State defaults to Paused');
is($j->{LocaleId}, 'de-DE', 'an account locale, canonical');
ok(!$j->{IsMinimized} && !$j->{CatchUpOnResume}, 'flags default to false');
ok(!defined $j->{AlternateIdType} && !defined $j->{Description}, 'no AlternateIdType, no Description');
ok(defined row($id2)->{paused_at}, 'paused_at is set');
isnt($j->{Secret}, $whsec, 'each subscription has its own secret');
isnt(row($id2)->{validation_code}, $r->{validation_code}, 'and its own validation code');

# every event type the database knows (but the handshake's) can be subscribed to
{
    my @types = split /\n/, psql("SELECT event_type || ' ' || prefs_event_entity(event_type) FROM prefs_event_type_text"
        . " WHERE locale = 'en-US' AND event_type <> 'webhook.validation' ORDER BY 1");
    cmp_ok(scalar @types, '>=', 55, 'the event types of contract section 7');
    ($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', { Name => 'all', Url => 'https://all.example.com/',
        Subscriptions => [ map { my ($t, $e) = split ' '; { Entity => $e, EventType => $t } } @types ] });
    is($st, 201, 'a subscription to every one of them') or diag $raw;
    is(psql_value("SELECT cardinality(event_types) FROM prefs_webhook_subscription WHERE subscription_id = :'i'", i => $j->{Id}),
       scalar @types, 'all stored');
    call('DELETE', "Webhooks/Subscriptions/$j->{Id}");
}

# --- read ------------------------------------------------------------------------

($st, $h, $j, $raw) = call('GET', 'Webhooks/Subscriptions');
is($st, 200, 'GET Webhooks/Subscriptions');
is(ref $j, 'ARRAY', 'an array');
is_deeply([ map { $_->{Id} } @$j ], [ $id, $id2 ], 'of the account\'s subscriptions, paused ones too');
is_deeply([ grep { !exists $j->[0]{$_} } qw(Id Name Description LocaleId Url Subscriptions State IsMinimized IsActive
    CatchUpOnResume AlternateIdType) ], [], 'with the reference\'s fields');
unlike($raw, qr/whsec_|Secret"|\Q$r->{secret_sealed}\E|\Q$r->{validation_code}\E/, 'never the secret, sealed or not, nor the code');

($st, $h, $j) = call('GET', "Webhooks/Subscriptions?subscriptionId=$id2");
is($st, 200, '?subscriptionId=');
is_deeply([ map { $_->{Id} } @$j ], [ $id2 ], 'that one');
($st, $h, $j) = call('GET', "Webhooks/Subscriptions/$id");
is($st, 200, 'GET Webhooks/Subscriptions/{id}');
is($j->{Id}, $id, 'the object itself');
is($j->{Name}, 'Consent and preference updates', 'with its fields');

psql("UPDATE prefs_webhook_subscription SET validated_at = now() WHERE subscription_id = :'i'", i => $id);
($st, $h, $j) = call('GET', "Webhooks/Subscriptions/$id");
is($j->{State}, 'Active', 'once validated: Active');
psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_reason = 'Gone', paused_at = now()"
    . " WHERE subscription_id = :'i'", i => $id);
($st, $h, $j) = call('GET', "Webhooks/Subscriptions/$id");
is($j->{State}, 'Paused', 'paused by the delivery side: Paused');
is($j->{PausedReason}, 'Gone', 'with its PausedReason');

# --- update -------------------------------------------------------------------------

my $code = row($id)->{validation_code};
($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id", { Name => 'renamed', Description => undef });
is($st, 200, 'PUT Webhooks/Subscriptions/{id}') or diag $raw;
is($j->{Name}, 'renamed', 'changes what is given');
ok(!defined $j->{Description}, 'null clears Description');
is($j->{Url}, 'https://hooks.example.com/in?src=prefs', 'and leaves the rest');
is($j->{State}, 'Paused', 'still paused');
is($j->{PausedReason}, 'Gone', 'for the same reason');
is(row($id)->{validation_code}, $code, 'the validation code stays while the Url does');
ok(defined row($id)->{validated_at}, 'and so does the validation');

($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id", { State => 'Active' });
is($st, 200, 'resume');
is($j->{State}, 'Active', 'Active again (validated before)');
ok(!defined $j->{PausedReason}, 'no PausedReason');
$r = row($id);
ok(defined $r->{resumed_at}, 'resumed_at is set');
ok(!defined $r->{paused_reason}, 'paused_reason cleared');

($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id", { State => 'Inactive' });
is($j->{State}, 'Paused', 'State Inactive (the update page\'s word) pauses');
ok(row($id)->{paused_at} ge $r->{resumed_at}, 'paused_at moved');
call('PUT', "Webhooks/Subscriptions/$id", { State => 'Active' });

($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id", { Url => 'https://hooks.example.com/v2' });
is($st, 200, 'a new Url') or diag $raw;
$r = row($id);
isnt($r->{validation_code}, $code, 'a new validation code');
ok(!defined $r->{validated_at}, 'validation cleared');
is($j->{State}, 'PendingValidation', 'PendingValidation again');
is(psql_value("SELECT count(*) FROM prefs_webhook_subscription_event WHERE subscription_id = :'i'"
    . " AND url = 'https://hooks.example.com/v2'", i => $id), 7, 'the event rows follow the Url');

($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id", { Subscriptions => [
    { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['Marketing'] } ], IsMinimized => $t });
is($st, 200, 'new Subscriptions') or diag $raw;
is_deeply($j->{Subscriptions}, [ { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['Marketing'] } ],
          'replace the list');
ok($j->{IsMinimized}, 'IsMinimized');
is(events_count(), 2, 'and the event rows');

($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id", { AlternateIdType => undef });
ok(!defined $j->{AlternateIdType}, 'AlternateIdType null clears it');
($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id", { LocaleId => 'FR_fr' });
is($j->{LocaleId}, 'fr-FR', 'LocaleId changed, in its canonical spelling');
($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id", { LocaleId => undef });
is($j->{LocaleId}, 'en-US', 'LocaleId null: back to en-US');

# --- one Url, one event ------------------------------------------------------------------

my $n = subs_count();
($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', { Name => 'dup', Url => 'HTTPS://HOOKS.example.com/v2',
    Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added' } ] });
is($st, 409, 'the same Url (in any case of its host) and event in a second subscription: 409');
like($j->{Message} // '', qr/Subscription $id already sends consent\.added/, 'naming the other subscription');
is(subs_count(), $n, 'nothing created');
($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', { Name => 'other path', Url => 'https://hooks.example.com/v3',
    Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added' } ] });
is($st, 201, 'another Url for the same event is fine') or diag $raw;
my $id3 = $j->{Id};
($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id3", { Url => 'https://hooks.example.com/v2' });
is($st, 409, 'moving it onto the first one\'s Url: 409');
is(row($id3)->{url}, 'https://hooks.example.com/v3', 'unchanged');
($st, $h, $j) = call('POST', 'Webhooks/Subscriptions', { Name => 'x', Url => 'https://hooks.example.com/v2',
    Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added' } ] }, client => $other);
is($st, 201, 'another account may use the same Url and event');
($st, $h, $j) = call('PUT', "Webhooks/Subscriptions/$id", { Url => 'https://hooks.example.com/v2', Name => 'same' });
is($st, 200, 'a subscription does not conflict with itself');

# concurrent creates of the same Url and event: one wins, the others are 409
{
    my $body = encode_json({ Name => 'race', Url => 'https://race.example.com/',
                             Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ] });
    my @socks = map {
        PrefsTest::http_request(port => $ng->port, method => 'POST', path => "/Profiles/v4/$acme/Webhooks/Subscriptions",
            headers => { Authorization => pnauth($acme, 'admin', $secret), 'Content-Type' => 'application/json' },
            body => $body, no_wait => 1)
    } 1 .. 8;
    my @st = sort map { (PrefsTest::read_response($_, 10))[0] } @socks;
    is_deeply(\@st, [ 201, (409) x 7 ], 'eight concurrent creates of one Url and event: one 201, seven 409');
    is(psql_value("SELECT count(*) FROM prefs_webhook_subscription WHERE url = 'https://race.example.com/'"), 1,
       'and one subscription');
    psql("DELETE FROM prefs_webhook_subscription WHERE url = 'https://race.example.com/'");
}

# --- secret rotation -----------------------------------------------------------------------------

my $old_sealed = row($id2)->{secret_sealed};
($st, $h, $j, $raw) = call('POST', "Webhooks/Subscriptions/$id2/Secret");
is($st, 200, 'POST .../Secret rotates') or diag $raw;
my $new = $j->{Secret};
like($new // '', qr{^whsec_[A-Za-z0-9+/]{43}=$}, 'a new secret, answered once');
like($j->{PreviousSecretExpires} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'and when the old one stops');
$r = row($id2);
is($r->{secret_previous}, $old_sealed, 'the old secret is kept as secret_previous');
is(unseal($r->{secret_sealed}), $new, 'the new one is sealed in secret_sealed');
is(psql_value("SELECT round(extract(epoch FROM secret_previous_until - now()) / 3600)::text"
    . " FROM prefs_webhook_subscription WHERE subscription_id = :'i'", i => $id2), '24', 'for 24 hours');
($st, $h, $j) = call('GET', "Webhooks/Subscriptions/$id2");
ok($j->{PreviousSecretExpires}, 'GET says until when both secrets are valid');
($st, $h, $j) = call('POST', "Webhooks/Subscriptions/$id2/Secret", '{}');
is($st, 200, 'a body of {} is accepted');
is(row($id2)->{secret_previous}, $r->{secret_sealed}, 'a second rotation keeps the one before it');

# --- delete ---------------------------------------------------------------------------------------

($st, $h, $j, $raw) = call('DELETE', "Webhooks/Subscriptions/$id3");
is($st, 204, 'DELETE: 204');
is($raw, '', 'no body');
ok(!row($id3), 'the subscription is gone');
is(psql_value("SELECT count(*) FROM prefs_webhook_subscription_event WHERE subscription_id = :'i'", i => $id3), 0,
   'its event rows too');
($st) = call('DELETE', "Webhooks/Subscriptions/$id3");
is($st, 404, 'a second DELETE: 404');
($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id2", { IsActive => $f });
is($st, 204, 'PUT with IsActive false deletes: 204') or diag $raw;
ok(!row($id2), 'gone');
($st) = call('GET', "Webhooks/Subscriptions/$id2");
is($st, 404, 'and not found afterwards');

# --- settings --------------------------------------------------------------------------------------

($st, $h, $j) = call('GET', 'Webhooks/Settings');
is($st, 200, 'GET Webhooks/Settings');
is_deeply($j, { Settings => { MaxConcurrentRequests => 500, Duration => 1 }, Edited => {} }, 'the defaults');
($st, $h, $j, $raw) = call('PUT', 'Webhooks/Settings', { Settings => { MaxConcurrentRequests => 5000, Duration => 300 },
                                                         Edited => {} });
is($st, 200, 'PUT Webhooks/Settings') or diag $raw;
is_deeply($j->{Settings}, { MaxConcurrentRequests => 5000, Duration => 300 }, 'the new settings');
is($j->{Edited}{EditedBy}, 'admin', 'Edited: by whom');
like($j->{Edited}{EditedDate} // '', qr/^\d{4}-.*Z$/, 'and when');
($st, $h, $j) = call('PUT', 'Webhooks/Settings', { Settings => { Duration => 1 } }, user => 'integ');
is_deeply($j->{Settings}, { MaxConcurrentRequests => 5000, Duration => 1 }, 'a partial PUT keeps the rest');
is($j->{Edited}{EditedBy}, 'integ', 'the Integration group may manage webhooks');
($st, $h, $j) = call('PUT', 'Webhooks/Settings', { Settings => { MaxConcurrentRequests => 50 } });
is($j->{Settings}{MaxConcurrentRequests}, 50, 'the lower bound');
is(psql_value("SELECT max_concurrent_requests || '/' || duration FROM prefs_webhook_settings s"
    . " JOIN prefs_account a USING (account_id) WHERE a.client_id = :'c'", c => $acme), '50/1', 'stored');
($st, $h, $j) = call('GET', 'Webhooks/Settings', undef, client => $other);
is_deeply($j->{Settings}, { MaxConcurrentRequests => 500, Duration => 1 }, 'another account keeps its defaults');

# --- plain http ------------------------------------------------------------------------------------

my %plain = (Name => 'local', Url => 'http://127.0.0.1:1999/hook', Subscriptions => [ { Entity => 'Tags', EventType => 'tag.removed' } ]);
($st, $h, $j) = call('POST', 'Webhooks/Subscriptions', \%plain);
is($st, 400, 'a plain-http Url is refused by default');
like($j->{Message} // '', qr/https/, 'saying https is needed');
($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', \%plain, server => $ng_http);
is($st, 201, 'and accepted with prefs_webhook_allow_http on') or diag $raw;

# --- permissions, APIs, other accounts ------------------------------------------------------------------

for my $c (['GET', 'Webhooks/Subscriptions'], ['POST', 'Webhooks/Subscriptions', '{}'], ['GET', "Webhooks/Subscriptions/$id"],
           ['PUT', "Webhooks/Subscriptions/$id", '{}'], ['DELETE', "Webhooks/Subscriptions/$id"],
           ['POST', "Webhooks/Subscriptions/$id/Secret"], ['GET', 'Webhooks/Settings'],
           ['PUT', 'Webhooks/Settings', '{"Settings":{}}']) {
    ($st, $h, $j) = call($c->[0], $c->[1], $c->[2], user => 'reader');
    is($st, 403, "$c->[0] $c->[1] without WebhookManage: 403");
}
like($j->{Message} // '', qr/WebhookManage/, 'naming the permission');
($st) = call('GET', 'Webhooks/Subscriptions', undef, prefix => '/api/3');
is($st, 404, 'v4 only: not a v3 route');
($st, $h) = call('PATCH', "Webhooks/Subscriptions/$id", '{}', type => 'application/json-patch+json');
is($st, 405, 'PATCH is not a method of the route');

my $theirs = psql_value("SELECT subscription_id FROM prefs_webhook_subscription s JOIN prefs_account a USING (account_id)"
    . " WHERE a.client_id = :'c'", c => $other);
my $their_row = row($theirs);
for my $c (['GET', "Webhooks/Subscriptions/$theirs"], ['GET', "Webhooks/Subscriptions?subscriptionId=$theirs"],
           ['PUT', "Webhooks/Subscriptions/$theirs", { Name => 'mine now' }],
           ['PUT', "Webhooks/Subscriptions/$theirs", { IsActive => $f }],
           ['DELETE', "Webhooks/Subscriptions/$theirs"], ['POST', "Webhooks/Subscriptions/$theirs/Secret"]) {
    ($st, $h, $j) = call($c->[0], $c->[1], $c->[2]);
    is($st, 404, "$c->[0] $c->[1] of another account's subscription: 404");
}
is_deeply(row($theirs), $their_row, 'and it is untouched');

# --- bad input: 4xx with a Message, nothing changed -----------------------------------------------------

sub body { my %b = (%create, Url => 'https://bad.example.com/', @_); delete $b{$_} for grep { !defined $b{$_} } keys %b; encode_json(\%b) }
sub entry { body(Subscriptions => [ { @_ } ]) }

my $snapshot = psql("SELECT json_agg(s ORDER BY subscription_id) FROM prefs_webhook_subscription s");
my $events_snapshot = psql("SELECT json_agg(e ORDER BY subscription_id, event_type) FROM prefs_webhook_subscription_event e");
$n = subs_count();
my @bad = (
    [ 'malformed JSON', '{"Name":', 400, qr/not valid JSON/ ],
    [ 'not an object', '["Name"]', 400, qr/must be a JSON object/ ],
    [ 'a duplicate key', '{"Name":"a","Name":"b"}', 400, qr/duplicate/ ],
    [ 'invalid UTF-8', "{\"Name\":\"\xff\xfe\",\"Url\":\"https://h/\"}", 400, qr/not valid JSON/ ],
    [ 'an unknown field', body(Colour => 'red'), 400, qr/Unknown field "Colour"/ ],
    [ 'Id is read-only', body(Id => 5), 400, qr/Id is read-only/ ],
    [ 'Secret is read-only', body(Secret => 'whsec_x'), 400, qr/Secret is read-only/ ],
    [ 'no Name', body(Name => undef), 400, qr/Name is required/ ],
    [ 'no Url', body(Url => undef), 400, qr/Url is required/ ],
    [ 'no Subscriptions', body(Subscriptions => undef), 400, qr/Subscriptions is required/ ],
    [ 'a number for Name', body(Name => 7), 400, qr/Name must be a string/ ],
    [ 'a long Name', body(Name => 'n' x 201), 400, qr/Name must be 1 to 200/ ],
    [ 'a string for a boolean', body(IsMinimized => 'false'), 400, qr/IsMinimized must be true or false/ ],
    [ 'an unknown State', body(State => 'Running'), 400, qr/State must be one of/ ],
    [ 'State PendingValidation', body(State => 'PendingValidation'), 400, qr/State must be one of/ ],
    [ 'IsActive false on create', body(IsActive => $f), 400, qr/IsActive false/ ],
    [ 'a relative Url', body(Url => '/hook'), 400, qr/absolute http or https/ ],
    [ 'an ftp Url', body(Url => 'ftp://h/x'), 400, qr/absolute http or https/ ],
    [ 'a Url with user information', body(Url => 'https://u:p@h.example.com/'), 400, qr/user information/ ],
    [ 'a Url with a fragment', body(Url => 'https://h.example.com/#x'), 400, qr/fragment/ ],
    [ 'a Url with a space', body(Url => 'https://h.example.com/a b'), 400, qr/printable ASCII/ ],
    [ 'a Url with a bad port', body(Url => 'https://h.example.com:99999/'), 400, qr/port/ ],
    [ 'a Url of 2049 characters', body(Url => 'https://h.example.com/' . ('a' x (2049 - 22))), 400, qr/Url must be 1 to 2048/ ],
    [ 'a plain-http Url', body(Url => 'http://h.example.com/'), 400, qr/https/ ],
    [ 'empty Subscriptions', body(Subscriptions => []), 400, qr/array of 1 to 100/ ],
    [ 'an unknown event type', entry(Entity => 'Tags', EventType => 'tag.exploded'), 400, qr/"tag\.exploded" is not an event type/ ],
    [ 'the handshake as event type', entry(Entity => 'Other', EventType => 'webhook.validation'), 400, qr/not an event type/ ],
    [ 'Entity and EventType disagree', entry(Entity => 'Tags', EventType => 'consent.added'), 400, qr/Entity must be "Consents"/ ],
    [ 'no Entity', entry(EventType => 'consent.added'), 400, qr/Entity is required/ ],
    [ 'a qualifier of another entity', entry(Entity => 'Consents', EventType => 'consent.added', Filters => ['AllFilters']), 400,
      qr/Filters does not apply to Consents events/ ],
    [ 'an unknown field in an entry', entry(Entity => 'Tags', EventType => 'tag.added', Tags => ['VIP']), 400, qr/unknown field "Tags"/ ],
    [ 'the same event type twice', body(Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' }, { Entity => 'Tags', EventType => 'tag.added' } ]),
      400, qr/listed twice/ ],
    [ 'a wildcard with names', entry(Entity => 'Preferences', EventType => 'preference.added', Filters => ['AllFilters', 'NewsletterEmail']),
      400, qr/AllFilters stands alone/ ],
    [ 'an unknown filter', entry(Entity => 'Preferences', EventType => 'preference.added', Filters => ['NoSuchFilter']), 400,
      qr/Subscriptions\[0\]\.Filters\[0\] 'NoSuchFilter' is not an active filter/ ],
    [ 'an unknown consent type', entry(Entity => 'Consents', EventType => 'consent.updated', ConsentTypes => ['Nope']), 400,
      qr/not an active consent type/ ],
    [ 'a phone type for an email event', entry(Entity => 'Contacts', EventType => 'contacts.email.added', ContactTypes => ['Mobile']), 400,
      qr/'Mobile' is not an active email type/ ],
    [ 'an unknown group type', entry(Entity => 'Groups', EventType => 'group.added', Groups => ['Club']), 400, qr/not an active group type/ ],
    [ 'an unknown custom field', entry(Entity => 'CustomFields', EventType => 'customfield.added', CustomFields => ['Shoe']), 400,
      qr/not an active custom field/ ],
    [ 'a name for customertype events', entry(Entity => 'Contacts', EventType => 'contacts.customertype.updated', ContactTypes => ['Consumer']),
      400, qr/must be AllContactTypes/ ],
    [ 'an unknown AlternateIdType', body(AlternateIdType => 'SSN'), 400, qr/'SSN' is not an active alternate id type/ ],
    [ 'a locale the account lacks', body(LocaleID => 'it-IT'), 400, qr/'it-IT' is not a locale of this account/ ],
    [ 'a malformed locale', body(LocaleID => 'en US'), 400, qr/not a language tag/ ],
    [ 'a conflicting Url and event', encode_json({ Name => 'c', Url => 'https://hooks.example.com/v2',
      Subscriptions => [ { Entity => 'Tags', EventType => 'tag.removed' }, { Entity => 'Consents', EventType => 'consent.added' } ] }),
      409, qr/already sends consent\.added/ ],
);
for my $b (@bad) {
    ($st, $h, $j, $raw) = call('POST', 'Webhooks/Subscriptions', $b->[1]);
    is($st, $b->[2], "POST with $b->[0]: $b->[2]") or diag $raw;
    like($j->{Message} // '', $b->[3], '  with a Message saying why');
}
($st, $h, $j) = call('POST', 'Webhooks/Subscriptions', body(), type => 'text/plain');
is($st, 415, 'POST without application/json: 415');
($st, $h, $j) = call('POST', 'Webhooks/Subscriptions', body(Description => 'd' x 20000));
is($st, 413, 'POST over prefs_max_body: 413');
($st, $h, $j) = call('POST', 'Webhooks/Subscriptions');
is($st, 415, 'POST without a body: 415');

for my $b (['a bad Url', '{"Url":"https://u@h/"}', 400], ['IsActive as a string', '{"IsActive":"false"}', 400],
           ['an unknown field', '{"Nope":1}', 400], ['an unknown filter', entry(Entity => 'Preferences', EventType => 'preference.added',
           Filters => ['X']), 400], ['malformed JSON', '{', 400], ['a read-only Id', '{"Id":1}', 400],
           ['empty Subscriptions', '{"Subscriptions":[]}', 400]) {
    ($st, $h, $j, $raw) = call('PUT', "Webhooks/Subscriptions/$id", $b->[1]);
    is($st, $b->[2], "PUT with $b->[0]: $b->[2]") or diag $raw;
    ok(defined $j->{Message}, '  with a Message');
}
for my $bad_id ('abc', '0', '-1', '01', '1e3', '99999999999999999999', '1%3BDROP', "$id.0") {
    for my $c (['GET', "Webhooks/Subscriptions/$bad_id"], ['PUT', "Webhooks/Subscriptions/$bad_id", '{"Name":"x"}'],
               ['DELETE', "Webhooks/Subscriptions/$bad_id"], ['POST', "Webhooks/Subscriptions/$bad_id/Secret"]) {
        ($st, $h, $j) = call(@$c);
        is($st, 404, "$c->[0] $c->[1]: 404");
    }
}
($st, $h, $j) = call('GET', 'Webhooks/Subscriptions/999999999');
is($st, 404, 'an id nobody has: 404');
for my $q ('abc', '0', '-3', '', '1e3') {
    ($st, $h, $j) = call('GET', "Webhooks/Subscriptions?subscriptionId=$q");
    is($st, 400, "?subscriptionId=$q: 400");
    like($j->{Message} // '', qr/subscriptionId must be a positive integer/, '  saying so');
}
($st) = call('GET', 'Webhooks/Subscriptions?subscriptionId=999999999');
is($st, 404, '?subscriptionId= of no subscription: 404');
for my $b (['{"Name":"x"}', 400], ['[]', 400], ['{', 400]) {
    ($st, $h, $j) = call('POST', "Webhooks/Subscriptions/$id/Secret", $b->[0]);
    is($st, $b->[1], "POST .../Secret with $b->[0]: $b->[1]");
}

is(psql("SELECT json_agg(s ORDER BY subscription_id) FROM prefs_webhook_subscription s"), $snapshot,
   'after every refusal the subscriptions are as they were');
is(psql("SELECT json_agg(e ORDER BY subscription_id, event_type) FROM prefs_webhook_subscription_event e"), $events_snapshot,
   'and so are their event rows');

my $settings = psql("SELECT json_agg(s ORDER BY account_id) FROM prefs_webhook_settings s");
for my $b (['MaxConcurrentRequests 49', { Settings => { MaxConcurrentRequests => 49 } }, qr/MaxConcurrentRequests must be an integer from 50 to 5000/],
           ['MaxConcurrentRequests 5001', { Settings => { MaxConcurrentRequests => 5001 } }, qr/from 50 to 5000/],
           ['Duration 0', { Settings => { Duration => 0 } }, qr/Duration must be an integer from 1 to 300/],
           ['Duration 301', { Settings => { Duration => 301 } }, qr/from 1 to 300/],
           ['Duration as a string', { Settings => { Duration => '5' } }, qr/Duration must be an integer/],
           ['Duration 1.5', '{"Settings":{"Duration":1.5}}', qr/Duration must be an integer/],
           ['an unknown setting', { Settings => { Rate => 5 } }, qr/Unknown field "Rate"/],
           ['an unknown field', { Settings => {}, Mode => 1 }, qr/Unknown field "Mode"/],
           ['no Settings', { Edited => {} }, qr/Settings is required/],
           ['Settings not an object', { Settings => 5 }, qr/Settings must be a JSON object/],
           ['malformed JSON', '{"Settings":', qr/not valid JSON/]) {
    ($st, $h, $j) = call('PUT', 'Webhooks/Settings', $b->[1]);
    is($st, 400, "PUT Webhooks/Settings with $b->[0]: 400");
    like($j->{Message} // '', $b->[2], '  with a Message saying why');
}
($st) = call('PUT', 'Webhooks/Settings', '{"Settings":{}}', type => 'text/plain');
is($st, 415, 'PUT Webhooks/Settings without application/json: 415');
is(psql("SELECT json_agg(s ORDER BY account_id) FROM prefs_webhook_settings s"), $settings, 'the settings are as they were');

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alerts in the error log');
unlike($ng->error_log, qr/\[error\].*webhooks/, 'nor webhook errors');

done_testing();
