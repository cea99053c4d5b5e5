# The Webhooks API (WebhookManage): subscriptions (create with a secret
# answered once and stored sealed, list, read, update, delete, rotate the
# secret), the one-Url-one-event rule, states as the delivery side leaves
# them, the account's settings; permissions, other accounts' ids, and bad
# input of every route changing nothing.  (Concurrent creates of one Url
# and event: t/162-webhooks-api-race.t.)
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;
use JSON::PP;

my $t = JSON::PP::true();
my $f = JSON::PP::false();

api_account('WebhooksCo');
api_user('WebhooksCo', 'admin', 'Administrators');
api_user('WebhooksCo', 'reader', 'ReadOnly');
api_user('WebhooksCo', 'integ', 'Integration');
PrefsTest::api_config_import('WebhooksCo');
for my $c ('WebhooksListCo', 'WebhooksSetCo', 'WebhooksBoundCo') {
    api_account($c);
    api_user($c, 'admin', 'Administrators');
    PrefsTest::api_config_import($c);
}
api_user('WebhooksSetCo', 'integ', 'Integration');
api_account('WebhooksOther');
api_user('WebhooksOther', 'admin', 'Administrators');

# the reference's example, as a client sends it
our %create = (
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

sub subscribe {
    my ($client, %body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Webhooks/Subscriptions', { %body });
    die "preparing a subscription: $st $raw\n" unless $st == 201;
    return $j->{Id};
}

sub prepare {
    my ($method, $path, $body) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request('WebhooksCo', 'admin', $method, $path, $body);
    die "preparing $method $path: $st $raw\n" unless $st =~ /^20/;
    return $j;
}

sub subscription_column {
    my ($id, $col) = @_;
    return psql_value("SELECT $col FROM prefs_webhook_subscription WHERE subscription_id = :'i'", i => $id);
}

# what a subscription's Url-and-event rows and paused state are set to by
# the delivery side
sub validate { psql("UPDATE prefs_webhook_subscription SET validated_at = now() WHERE subscription_id = :'i'", i => $_[0]) }
sub gone {
    psql("UPDATE prefs_webhook_subscription SET state = 'Paused', paused_reason = 'Gone', paused_at = now()"
         . " WHERE subscription_id = :'i'", i => $_[0]);
}

# the secret in clear, from its sealed form and the key
sub unseal {
    my ($sealed) = @_;
    my ($top, $key) = ($ENV{TEST_NGINX_PREFS_TOP} || '.', $ENV{TEST_NGINX_PREFS_KEY});
    my $plain = `printf '%s\\n' '$sealed' | '$top/build/prefs-secret' open '$key' 2>/dev/null`;
    chomp $plain;
    return $? == 0 ? $plain : undef;
}

# the answer's Secret is what its row holds, sealed (and not in clear)
sub sealed_is_answered {
    my ($j) = @_;
    my $sealed = subscription_column($j->{Id}, 'secret_sealed');
    return index($sealed, $j->{Secret}) < 0 && index($sealed, substr($j->{Secret}, 6)) < 0
        && (unseal($sealed) // '') eq $j->{Secret};
}

our ($full, $all_body, $ntypes, $l1, $l2, $l1_sealed, $l1_code, $val, $gone, $u1, $u1_code, $u2, $u3, $u4,
     $u4_code, $u5, $u6, $c1, $c3, $s1, $s1_sealed, $s2, $s2_sealed, $d1, $d2, $d3, $theirs);

$full = subscribe('WebhooksCo', %create, Url => 'https://full.example.com/');
$all_body = encode_json({ Name => 'all', Url => 'https://all.example.com/', Subscriptions => [
    map { my ($type, $entity) = split ' '; { Entity => $entity, EventType => $type } }
    split /\n/, psql("SELECT event_type || ' ' || prefs_event_entity(event_type) FROM prefs_event_type_text"
                     . " WHERE locale = 'en-US' AND event_type <> 'webhook.validation' ORDER BY 1") ] });
$ntypes = () = $all_body =~ /"EventType"/g;

$l1 = subscribe('WebhooksListCo', %create);
$l2 = subscribe('WebhooksListCo', Name => 'paused', Url => 'https://b.example.com/',
                Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);
($l1_sealed, $l1_code) = (subscription_column($l1, 'secret_sealed'), subscription_column($l1, 'validation_code'));

$val = subscribe('WebhooksCo', %create, Url => 'https://validated.example.com/');
validate($val);
$gone = subscribe('WebhooksCo', %create, Url => 'https://gone.example.com/');
validate($gone);
gone($gone);

$u1 = subscribe('WebhooksCo', %create, Url => 'https://u1.example.com/');
validate($u1);
gone($u1);
$u1_code = subscription_column($u1, 'validation_code');
$u2 = subscribe('WebhooksCo', %create, Url => 'https://u2.example.com/');
validate($u2);
gone($u2);
$u3 = subscribe('WebhooksCo', %create, Url => 'https://u3.example.com/');
validate($u3);
gone($u3);
prepare('PUT', "Webhooks/Subscriptions/$u3", { State => 'Active' });
$u4 = subscribe('WebhooksCo', %create, Url => 'https://u4.example.com/');
validate($u4);
$u4_code = subscription_column($u4, 'validation_code');
$u5 = subscribe('WebhooksCo', %create, Url => 'https://u5.example.com/');
$u6 = subscribe('WebhooksCo', %create, Url => 'https://u6.example.com/');

$c1 = subscribe('WebhooksCo', Name => 'first', Url => 'https://hooks.example.com/v2',
                Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added' } ]);
$c3 = subscribe('WebhooksCo', Name => 'third', Url => 'https://hooks.example.com/v3',
                Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added' } ]);

$s1 = subscribe('WebhooksCo', Name => 'rotate', Url => 'https://s1.example.com/',
                Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);
$s1_sealed = subscription_column($s1, 'secret_sealed');
$s2 = subscribe('WebhooksCo', Name => 'rotate twice', Url => 'https://s2.example.com/',
                Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);
prepare('POST', "Webhooks/Subscriptions/$s2/Secret");
$s2_sealed = subscription_column($s2, 'secret_sealed');

$d1 = subscribe('WebhooksCo', %create, Url => 'https://d1.example.com/');
$d2 = subscribe('WebhooksCo', Name => 'deleted', Url => 'https://d2.example.com/',
                Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);
prepare('DELETE', "Webhooks/Subscriptions/$d2");
$d3 = subscribe('WebhooksCo', Name => 'inactive', Url => 'https://d3.example.com/',
                Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);

$theirs = subscribe('WebhooksOther', Name => 'theirs', Url => 'https://theirs.example.com/',
                    Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ]);

PrefsTest::api_request('WebhooksSetCo', 'admin', 'PUT', 'Webhooks/Settings',
                       { Settings => { MaxConcurrentRequests => 5000, Duration => 300 } });
PrefsTest::api_prepared();

# a create body of the reference's example with what a case changes
# (undef: left out)
sub create_body {
    my %b = (%create, Url => 'https://bad.example.com/', @_);
    delete $b{$_} for grep { !defined $b{$_} } keys %b;
    return encode_json(\%b);
}
sub create_entry { create_body(Subscriptions => [ { @_ } ]) }

# POST bodies refused: (what, body, status, what the Message says)
our @bad_posts = (
    [ 'malformed JSON', '{"Name":', 400, qr/not valid JSON/ ],
    [ 'not an object', '["Name"]', 400, qr/must be a JSON object/ ],
    [ 'a duplicate key', '{"Name":"a","Name":"b"}', 400, qr/duplicate/ ],
    [ 'invalid UTF-8', "{\"Name\":\"\xff\xfe\",\"Url\":\"https://h/\"}", 400, qr/not valid JSON/ ],
    [ 'an unknown field', create_body(Colour => 'red'), 400, qr/Unknown field "Colour"/ ],
    [ 'Id is read-only', create_body(Id => 5), 400, qr/Id is read-only/ ],
    [ 'Secret is read-only', create_body(Secret => 'whsec_x'), 400, qr/Secret is read-only/ ],
    [ 'no Name', create_body(Name => undef), 400, qr/Name is required/ ],
    [ 'no Url', create_body(Url => undef), 400, qr/Url is required/ ],
    [ 'no Subscriptions', create_body(Subscriptions => undef), 400, qr/Subscriptions is required/ ],
    [ 'a number for Name', create_body(Name => 7), 400, qr/Name must be a string/ ],
    [ 'a long Name', create_body(Name => 'n' x 201), 400, qr/Name must be 1 to 200/ ],
    [ 'a string for a boolean', create_body(IsMinimized => 'false'), 400, qr/IsMinimized must be true or false/ ],
    [ 'an unknown State', create_body(State => 'Running'), 400, qr/State must be one of/ ],
    [ 'State PendingValidation', create_body(State => 'PendingValidation'), 400, qr/State must be one of/ ],
    [ 'IsActive false on create', create_body(IsActive => $f), 400, qr/IsActive false/ ],
    [ 'a relative Url', create_body(Url => '/hook'), 400, qr/absolute http or https/ ],
    [ 'an ftp Url', create_body(Url => 'ftp://h/x'), 400, qr/absolute http or https/ ],
    [ 'a Url with user information', create_body(Url => 'https://u:p@h.example.com/'), 400, qr/user information/ ],
    [ 'a Url with a fragment', create_body(Url => 'https://h.example.com/#x'), 400, qr/fragment/ ],
    [ 'a Url with a space', create_body(Url => 'https://h.example.com/a b'), 400, qr/printable ASCII/ ],
    [ 'a Url with a bad port', create_body(Url => 'https://h.example.com:99999/'), 400, qr/port/ ],
    [ 'a Url of 2049 characters', create_body(Url => 'https://h.example.com/' . ('a' x (2049 - 22))), 400, qr/Url must be 1 to 2048/ ],
    [ 'a plain-http Url', create_body(Url => 'http://h.example.com/'), 400, qr/https/ ],
    [ 'empty Subscriptions', create_body(Subscriptions => []), 400, qr/array of 1 to 100/ ],
    [ 'an unknown event type', create_entry(Entity => 'Tags', EventType => 'tag.exploded'), 400, qr/"tag\.exploded" is not an event type/ ],
    [ 'the handshake as event type', create_entry(Entity => 'Other', EventType => 'webhook.validation'), 400, qr/not an event type/ ],
    [ 'Entity and EventType disagree', create_entry(Entity => 'Tags', EventType => 'consent.added'), 400, qr/Entity must be "Consents"/ ],
    [ 'no Entity', create_entry(EventType => 'consent.added'), 400, qr/Entity is required/ ],
    [ 'a qualifier of another entity', create_entry(Entity => 'Consents', EventType => 'consent.added', Filters => ['AllFilters']), 400,
      qr/Filters does not apply to Consents events/ ],
    [ 'an unknown field in an entry', create_entry(Entity => 'Tags', EventType => 'tag.added', Tags => ['VIP']), 400, qr/unknown field "Tags"/ ],
    [ 'the same event type twice', create_body(Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' },
      { Entity => 'Tags', EventType => 'tag.added' } ]), 400, qr/listed twice/ ],
    [ 'a wildcard with names', create_entry(Entity => 'Preferences', EventType => 'preference.added',
      Filters => ['AllFilters', 'NewsletterEmail']), 400, qr/AllFilters stands alone/ ],
    [ 'an unknown filter', create_entry(Entity => 'Preferences', EventType => 'preference.added', Filters => ['NoSuchFilter']), 400,
      qr/Subscriptions\[0\]\.Filters\[0\] 'NoSuchFilter' is not an active filter/ ],
    [ 'an unknown consent type', create_entry(Entity => 'Consents', EventType => 'consent.updated', ConsentTypes => ['Nope']), 400,
      qr/not an active consent type/ ],
    [ 'a phone type for an email event', create_entry(Entity => 'Contacts', EventType => 'contacts.email.added',
      ContactTypes => ['Mobile']), 400, qr/'Mobile' is not an active email type/ ],
    [ 'an unknown group type', create_entry(Entity => 'Groups', EventType => 'group.added', Groups => ['Club']), 400,
      qr/not an active group type/ ],
    [ 'an unknown custom field', create_entry(Entity => 'CustomFields', EventType => 'customfield.added', CustomFields => ['Shoe']), 400,
      qr/not an active custom field/ ],
    [ 'a name for customertype events', create_entry(Entity => 'Contacts', EventType => 'contacts.customertype.updated',
      ContactTypes => ['Consumer']), 400, qr/must be AllContactTypes/ ],
    [ 'an unknown AlternateIdType', create_body(AlternateIdType => 'SSN'), 400, qr/'SSN' is not an active alternate id type/ ],
    [ 'a locale the account lacks', create_body(LocaleID => 'it-IT'), 400, qr/'it-IT' is not a locale of this account/ ],
    [ 'a malformed locale', create_body(LocaleID => 'en US'), 400, qr/not a language tag/ ],
    [ 'a conflicting Url and event', encode_json({ Name => 'c', Url => 'https://hooks.example.com/v2',
      Subscriptions => [ { Entity => 'Tags', EventType => 'tag.removed' }, { Entity => 'Consents', EventType => 'consent.added' } ] }),
      409, qr/already sends consent\.added/ ],
);
our $big_body = create_body(Description => 'd' x 20000);

# PUT Webhooks/Settings bodies refused: (body, what the Message says)
our @bad_settings = (
    [ '{"Settings":{"MaxConcurrentRequests":49}}', qr/MaxConcurrentRequests must be an integer from 50 to 5000/ ],
    [ '{"Settings":{"MaxConcurrentRequests":5001}}', qr/from 50 to 5000/ ],
    [ '{"Settings":{"Duration":0}}', qr/Duration must be an integer from 1 to 300/ ],
    [ '{"Settings":{"Duration":301}}', qr/from 1 to 300/ ],
    [ '{"Settings":{"Duration":"5"}}', qr/Duration must be an integer/ ],
    [ '{"Settings":{"Duration":1.5}}', qr/Duration must be an integer/ ],
    [ '{"Settings":{"Rate":5}}', qr/Unknown field "Rate"/ ],
    [ '{"Settings":{},"Mode":1}', qr/Unknown field "Mode"/ ],
    [ '{"Edited":{}}', qr/Settings is required/ ],
    [ '{"Settings":5}', qr/Settings must be a JSON object/ ],
    [ '{"Settings":', qr/not valid JSON/ ],
);

# what a refused request must leave as it was: the subscriptions, their
# event rows and the settings of this suite's accounts (but when the helper,
# running in the one nginx process, handled a resume of an earlier block)
our $mine = "account_id IN (SELECT account_id FROM prefs_account WHERE client_id IN"
    . " ('WebhooksCo', 'WebhooksListCo', 'WebhooksSetCo', 'WebhooksBoundCo', 'WebhooksOther'))";
our $subscriptions = "SELECT json_agg(to_jsonb(s) - 'resume_handled_at' ORDER BY subscription_id)"
    . " FROM prefs_webhook_subscription s WHERE $mine"
    . " UNION ALL SELECT json_agg(e ORDER BY subscription_id, event_type) FROM prefs_webhook_subscription_event e WHERE $mine";
our $settings = "SELECT json_agg(s ORDER BY account_id) FROM prefs_webhook_settings s WHERE $mine";

our $api = '/Profiles/v4/WebhooksCo/Webhooks';

api_blocks();
PrefsTest::api_checks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: POST Webhooks/Subscriptions: 201, the secret answered once, the rest normalized
--- request eval
"POST $::api/Subscriptions\n" . JSON::PP::encode_json(\%::create)
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_headers_like
Location: .*/Profiles/v4/WebhooksCo/Webhooks/Subscriptions/\d+
--- response_json eval
{ Id => qr/^\d+$/,
  Secret => qr{^whsec_[A-Za-z0-9+/]{43}=$},
  Url => 'https://hooks.example.com/in?src=prefs',
  LocaleId => 'en-US', AlternateIdType => 'CRMId', State => 'PendingValidation',
  IsActive => 1, CatchUpOnResume => 1, IsMinimized => 0,
  Subscriptions => [
    { Entity => 'Contacts', EventType => 'contacts.alternateid.added', ContactTypes => ['AllContactTypes'] },
    { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['AllConsents'] },
    { Entity => 'Preferences', EventType => 'preference.added', Filters => ['NewsletterEmail', 'PartnerOffersEmail'] },
    { Entity => 'Consents', EventType => 'consent.elementassociation.deactivated' },
    { Entity => 'Contacts', EventType => 'contacts.email.updated', ContactTypes => ['Work'] },
    { Entity => 'Groups', EventType => 'group.added', Groups => ['Household'] },
    { Entity => 'CustomFields', EventType => 'customfield.updated', CustomFields => ['Nickname'] } ] }
--- sql
SELECT s.state, s.locale, cardinality(s.event_types),
       (SELECT count(*) FROM prefs_webhook_subscription_event e WHERE e.subscription_id = s.subscription_id),
       (SELECT count(*) FROM prefs_webhook_subscription_event e WHERE e.subscription_id = s.subscription_id
          AND e.url = 'https://hooks.example.com/in?src=prefs'),
       s.validation_code ~ '^[A-Za-z0-9_-]{43}$', s.validated_at IS NULL, s.paused_at IS NULL,
       prefs_event_matches(s.subscriptions, 'consent.elementassocation.deactivated', '{}'),
       position(:'Secret' IN s.secret_sealed) = 0 AND position(substr(:'Secret', 7) IN s.secret_sealed) = 0
FROM prefs_webhook_subscription s WHERE s.subscription_id = :'Id'
--- sql_result
Active|en-US|7|7|7|t|t|t|t|t
--- no_error_log
[error]
[alert]


=== TEST 2: the secret answered is the one sealed with the key
--- request eval
"POST $::api/Subscriptions\n" . JSON::PP::encode_json({ %::create, Url => 'https://sealed.example.com/' })
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
PrefsTest::satisfies(\&main::sealed_is_answered, 'a Secret its row holds sealed')
--- no_error_log
[error]
[alert]


=== TEST 3: a minimal subscription: Paused by default, flags false, its own secret and code
--- request eval
"POST $::api/Subscriptions\n"
. '{"Name":"paused","Url":"https://b.example.com/","LocaleId":"de_de","Subscriptions":[{"Entity":"Tags","EventType":"TAG.ADDED"}]}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ State => 'Paused', LocaleId => 'de-DE', IsMinimized => 0, CatchUpOnResume => 0,
  AlternateIdType => undef, Description => undef,
  Subscriptions => [ { Entity => 'Tags', EventType => 'tag.added' } ],
  Secret => PrefsTest::satisfies(sub { $_[0] ne (main::unseal(main::subscription_column($::full, 'secret_sealed')) // '') },
                                 'another subscription\'s secret') }
--- sql eval
"SELECT s.paused_at IS NOT NULL, s.validation_code <> f.validation_code FROM prefs_webhook_subscription s,"
. " prefs_webhook_subscription f WHERE s.subscription_id = :'Id' AND f.subscription_id = $::full"
--- sql_result
t|t
--- no_error_log
[error]
[alert]


=== TEST 4: every event type the database knows (but the handshake's) can be subscribed to
--- request eval
"POST $::api/Subscriptions\n$::all_body"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- sql eval
"SELECT cardinality(event_types) = $::ntypes, $::ntypes >= 55 FROM prefs_webhook_subscription WHERE subscription_id = :'Id'"
--- sql_result
t|t
--- no_error_log
[error]
[alert]


=== TEST 5: GET Webhooks/Subscriptions: the account's subscriptions, paused ones too, never a secret or code
--- request
GET /Profiles/v4/WebhooksListCo/Webhooks/Subscriptions
--- more_headers eval
PrefsTest::auth('WebhooksListCo', 'admin')
--- error_code: 200
--- response_json eval
[ { Id => $::l1, State => 'PendingValidation',
    map { $_ => PrefsTest::present() } qw(Name Description LocaleId Url Subscriptions IsMinimized IsActive
                                          CatchUpOnResume AlternateIdType) },
  { Id => $::l2, State => 'Paused' } ]
--- response_body_unlike eval
qr/whsec_|Secret"|\Q$::l1_sealed\E|\Q$::l1_code\E/
--- no_error_log
[error]
[alert]


=== TEST 6: ?subscriptionId= lists that one
--- request eval
"GET /Profiles/v4/WebhooksListCo/Webhooks/Subscriptions?subscriptionId=$::l2"
--- more_headers eval
PrefsTest::auth('WebhooksListCo', 'admin')
--- error_code: 200
--- response_json eval
[ { Id => $::l2 } ]
--- no_error_log
[error]
[alert]


=== TEST 7: GET Webhooks/Subscriptions/{id}: the object itself
--- request eval
"GET /Profiles/v4/WebhooksListCo/Webhooks/Subscriptions/$::l1"
--- more_headers eval
PrefsTest::auth('WebhooksListCo', 'admin')
--- error_code: 200
--- response_json eval
{ Id => $::l1, Name => 'Consent and preference updates', Secret => PrefsTest::absent() }
--- no_error_log
[error]
[alert]


=== TEST 8: once validated: Active
--- request eval
"GET $::api/Subscriptions/$::val"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 200
--- response_json eval
{ Id => $::val, State => 'Active' }
--- no_error_log
[error]
[alert]


=== TEST 9: paused by the delivery side: Paused, with its PausedReason
--- request eval
"GET $::api/Subscriptions/$::gone"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 200
--- response_json eval
{ Id => $::gone, State => 'Paused', PausedReason => 'Gone' }
--- no_error_log
[error]
[alert]


=== TEST 10: PUT changes what is given (null clears Description) and leaves the rest, validation too
--- request eval
"PUT $::api/Subscriptions/$::u1\n" . '{"Name":"renamed","Description":null}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u1, Name => 'renamed', Description => undef, Url => 'https://u1.example.com/',
  State => 'Paused', PausedReason => 'Gone' }
--- sql eval
"SELECT validation_code = '$::u1_code', validated_at IS NOT NULL FROM prefs_webhook_subscription WHERE subscription_id = $::u1"
--- sql_result
t|t
--- no_error_log
[error]
[alert]


=== TEST 11: State Active resumes a validated subscription
--- request eval
"PUT $::api/Subscriptions/$::u2\n" . '{"State":"Active"}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u2, State => 'Active', PausedReason => undef }
--- sql eval
"SELECT resumed_at IS NOT NULL, paused_reason IS NULL FROM prefs_webhook_subscription WHERE subscription_id = $::u2"
--- sql_result
t|t
--- no_error_log
[error]
[alert]


=== TEST 12: State Inactive (the update page's word) pauses
--- request eval
"PUT $::api/Subscriptions/$::u3\n" . '{"State":"Inactive"}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u3, State => 'Paused' }
--- sql eval
"SELECT paused_at >= resumed_at FROM prefs_webhook_subscription WHERE subscription_id = $::u3"
--- sql_result
t
--- no_error_log
[error]
[alert]


=== TEST 13: a new Url: a new validation code, validation cleared, the event rows follow
--- request eval
"PUT $::api/Subscriptions/$::u4\n" . '{"Url":"https://u4.example.com/v2"}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u4, State => 'PendingValidation', Url => 'https://u4.example.com/v2' }
--- sql eval
"SELECT validation_code <> '$::u4_code', validated_at IS NULL,"
. " (SELECT count(*) FROM prefs_webhook_subscription_event e WHERE e.subscription_id = s.subscription_id"
. "  AND e.url = 'https://u4.example.com/v2')"
. " FROM prefs_webhook_subscription s WHERE subscription_id = $::u4"
--- sql_result
t|t|7
--- no_error_log
[error]
[alert]


=== TEST 14: new Subscriptions replace the list and the event rows
--- request eval
"PUT $::api/Subscriptions/$::u5\n"
. '{"Subscriptions":[{"Entity":"Consents","EventType":"consent.added","ConsentTypes":["Marketing"]}],"IsMinimized":true}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u5, IsMinimized => 1,
  Subscriptions => [ { Entity => 'Consents', EventType => 'consent.added', ConsentTypes => ['Marketing'] } ] }
--- sql eval
"SELECT count(*) FROM prefs_webhook_subscription_event WHERE subscription_id = $::u5"
--- sql_result
1
--- no_error_log
[error]
[alert]


=== TEST 15: AlternateIdType null clears it
--- request eval
"PUT $::api/Subscriptions/$::u6\n" . '{"AlternateIdType":null}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::u6, AlternateIdType => undef }
--- no_error_log
[error]
[alert]


=== TEST 16: LocaleId changed, in its canonical spelling; null is en-US again
--- request eval
[ "PUT $::api/Subscriptions/$::u6\n" . '{"LocaleId":"FR_fr"}', "PUT $::api/Subscriptions/$::u6\n" . '{"LocaleId":null}' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { LocaleId => 'fr-FR' }, { LocaleId => 'en-US' } ]
--- no_error_log
[error]
[alert]


=== TEST 17: the same Url (in any case of its host) and event in a second subscription: 409, nothing created
--- request eval
"POST $::api/Subscriptions\n"
. '{"Name":"dup","Url":"HTTPS://HOOKS.example.com/v2","Subscriptions":[{"Entity":"Consents","EventType":"consent.added"}]}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_json eval
{ Message => qr/Subscription $::c1 already sends consent\.added/ }
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 18: another Url for the same event is fine
--- request eval
"POST $::api/Subscriptions\n"
. '{"Name":"other path","Url":"https://hooks.example.com/v3b","Subscriptions":[{"Entity":"Consents","EventType":"consent.added"}]}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ Id => qr/^\d+$/ }
--- no_error_log
[error]
[alert]


=== TEST 19: moving a subscription onto another's Url and event: 409, unchanged
--- request eval
"PUT $::api/Subscriptions/$::c3\n" . '{"Url":"https://hooks.example.com/v2"}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 409
--- response_json eval
{ Message => qr/already sends consent\.added/ }
--- sql_unchanged eval
$::subscriptions
--- sql eval
"SELECT url FROM prefs_webhook_subscription WHERE subscription_id = $::c3"
--- sql_result
https://hooks.example.com/v3
--- no_error_log
[error]
[alert]


=== TEST 20: another account may use the same Url and event
--- request
POST /Profiles/v4/WebhooksOther/Webhooks/Subscriptions
{"Name":"x","Url":"https://hooks.example.com/v2","Subscriptions":[{"Entity":"Consents","EventType":"consent.added"}]}
--- more_headers eval
PrefsTest::auth('WebhooksOther', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 21: a subscription does not conflict with itself
--- request eval
"PUT $::api/Subscriptions/$::c1\n" . '{"Url":"https://hooks.example.com/v2","Name":"same"}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Id => $::c1, Name => 'same' }
--- no_error_log
[error]
[alert]


=== TEST 22: POST .../Secret rotates: a new secret answered once, the old one kept 24 hours
--- request eval
"POST $::api/Subscriptions/$::s1/Secret"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 200
--- response_json eval
{ PreviousSecretExpires => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
  Secret => PrefsTest::satisfies(sub { $_[0] =~ m{^whsec_[A-Za-z0-9+/]{43}=$}
                                       && (main::unseal(main::subscription_column($::s1, 'secret_sealed')) // '') eq $_[0] },
                                 'a whsec_ secret of 32 bytes, the one sealed in secret_sealed') }
--- sql eval
"SELECT secret_previous = '$::s1_sealed', round(extract(epoch FROM secret_previous_until - now()) / 3600)"
. " FROM prefs_webhook_subscription WHERE subscription_id = $::s1"
--- sql_result
t|24
--- no_error_log
[error]
[alert]


=== TEST 23: GET says until when both secrets are valid
--- request eval
"GET $::api/Subscriptions/$::s2"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 200
--- response_json eval
{ Id => $::s2, PreviousSecretExpires => qr/^\d{4}-/ }
--- no_error_log
[error]
[alert]


=== TEST 24: a body of {} is accepted; a second rotation keeps the one before it
--- request eval
"POST $::api/Subscriptions/$::s2/Secret\n{}"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- sql eval
"SELECT secret_previous = '$::s2_sealed' FROM prefs_webhook_subscription WHERE subscription_id = $::s2"
--- sql_result
t
--- no_error_log
[error]
[alert]


=== TEST 25: DELETE: 204 without a body; the subscription and its event rows are gone
--- request eval
"DELETE $::api/Subscriptions/$::d1"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 204
--- response_body chomp
--- sql eval
"SELECT (SELECT count(*) FROM prefs_webhook_subscription WHERE subscription_id = $::d1),"
. " (SELECT count(*) FROM prefs_webhook_subscription_event WHERE subscription_id = $::d1)"
--- sql_result
0|0
--- no_error_log
[error]
[alert]


=== TEST 26: a second DELETE: 404
--- request eval
"DELETE $::api/Subscriptions/$::d2"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 404
--- response_json eval
{ Message => qr/./ }
--- no_error_log
[error]
[alert]


=== TEST 27: PUT with IsActive false deletes: 204, and not found afterwards
--- request eval
[ "PUT $::api/Subscriptions/$::d3\n" . '{"IsActive":false}', "GET $::api/Subscriptions/$::d3" ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ 204, 404 ]
--- sql eval
"SELECT count(*) FROM prefs_webhook_subscription WHERE subscription_id = $::d3"
--- sql_result
0
--- no_error_log
[error]
[alert]


=== TEST 28: GET Webhooks/Settings: the defaults
--- request
GET /Profiles/v4/WebhooksOther/Webhooks/Settings
--- more_headers eval
PrefsTest::auth('WebhooksOther', 'admin')
--- error_code: 200
--- response_json eval
PrefsTest::satisfies(sub { PrefsTest::json_match($_[0], { Settings => { MaxConcurrentRequests => 500, Duration => 1 } }) eq ''
                           && keys %{ $_[0] } == 2 && keys %{ $_[0]{Settings} } == 2 && ref $_[0]{Edited} eq 'HASH'
                           && !%{ $_[0]{Edited} } }, 'the defaults, Edited empty')
--- no_error_log
[error]
[alert]


=== TEST 29: PUT Webhooks/Settings: the new settings, by whom and when
--- request
PUT /Profiles/v4/WebhooksCo/Webhooks/Settings
{"Settings":{"MaxConcurrentRequests":5000,"Duration":300},"Edited":{}}
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Settings => { MaxConcurrentRequests => 5000, Duration => 300 },
  Edited => { EditedBy => 'admin', EditedDate => qr/^\d{4}-.*Z$/ } }
--- no_error_log
[error]
[alert]


=== TEST 30: a partial PUT keeps the rest; the Integration group may manage webhooks
--- request
PUT /Profiles/v4/WebhooksSetCo/Webhooks/Settings
{"Settings":{"Duration":1}}
--- more_headers eval
PrefsTest::auth('WebhooksSetCo', 'integ') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Settings => { MaxConcurrentRequests => 5000, Duration => 1 }, Edited => { EditedBy => 'integ' } }
--- no_error_log
[error]
[alert]


=== TEST 31: the lower bound, stored
--- request
PUT /Profiles/v4/WebhooksBoundCo/Webhooks/Settings
{"Settings":{"MaxConcurrentRequests":50}}
--- more_headers eval
PrefsTest::auth('WebhooksBoundCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 200
--- response_json eval
{ Settings => { MaxConcurrentRequests => 50 } }
--- sql
SELECT max_concurrent_requests || '/' || duration FROM prefs_webhook_settings s
JOIN prefs_account a USING (account_id) WHERE a.client_id = 'WebhooksBoundCo'
--- sql_result
50/1
--- no_error_log
[error]
[alert]


=== TEST 32: a plain-http Url is refused by default, saying https is needed
--- request eval
"POST $::api/Subscriptions\n"
. '{"Name":"local","Url":"http://127.0.0.1:1999/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 400
--- response_json eval
{ Message => qr/https/ }
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 33: and accepted with prefs_webhook_allow_http on (and 127.0.0.0/8 allowed)
--- http_config
prefs_webhook_allow_http on;
prefs_webhook_allow_network 127.0.0.0/8;
--- request eval
"POST $::api/Subscriptions\n"
. '{"Name":"local","Url":"http://127.0.0.1:1999/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 201
--- response_json eval
{ Url => 'http://127.0.0.1:1999/hook' }
--- no_error_log
[error]
[alert]


=== TEST 34: every route without WebhookManage: 403 naming the permission
--- request eval
[ "GET $::api/Subscriptions", "POST $::api/Subscriptions\n{}", "GET $::api/Subscriptions/$::c1",
  "PUT $::api/Subscriptions/$::c1\n{}", "DELETE $::api/Subscriptions/$::c1", "POST $::api/Subscriptions/$::c1/Secret",
  "GET $::api/Settings", "PUT $::api/Settings\n" . '{"Settings":{}}' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'reader') . "Content-Type: application/json\n"
--- error_code eval
[ (403) x 8 ]
--- response_json_list eval
[ ({ Message => qr/WebhookManage/ }) x 8 ]
--- sql_unchanged eval
$::subscriptions . " UNION ALL $::settings"
--- no_error_log
[error]
[alert]


=== TEST 35: v4 only: not a v3 route
--- request
GET /api/3/WebhooksCo/Webhooks/Subscriptions
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 36: PATCH is not a method of the route
--- request eval
"PATCH $::api/Subscriptions/$::c1\n{}"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json-patch+json\n"
--- error_code: 405
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 37: another account's subscription: 404 on every route, and it is untouched
--- request eval
[ "GET $::api/Subscriptions/$::theirs", "GET $::api/Subscriptions?subscriptionId=$::theirs",
  "PUT $::api/Subscriptions/$::theirs\n" . '{"Name":"mine now"}', "PUT $::api/Subscriptions/$::theirs\n" . '{"IsActive":false}',
  "DELETE $::api/Subscriptions/$::theirs", "POST $::api/Subscriptions/$::theirs/Secret" ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (404) x 6 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 6 ]
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 38: POST with bad bodies: 4xx with a Message saying why, nothing changed
--- request eval
[ map { "POST $::api/Subscriptions\n$_->[1]" } @::bad_posts ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ map { $_->[2] } @::bad_posts ]
--- response_json_list eval
[ map { { Message => $_->[3] } } @::bad_posts ]
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 39: POST without application/json: 415
--- request eval
"POST $::api/Subscriptions\n" . main::create_body()
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 40: POST over prefs_max_body: 413
--- http_config
prefs_max_body 16k;
--- request eval
"POST $::api/Subscriptions\n$::big_body"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code: 413
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 41: POST without a body: 415
--- request eval
"POST $::api/Subscriptions"
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code: 415
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 42: PUT with bad bodies: 400 with a Message, nothing changed
--- request eval
[ map { "PUT $::api/Subscriptions/$::c1\n$_" } '{"Url":"https://u@h/"}', '{"IsActive":"false"}', '{"Nope":1}',
  main::create_entry(Entity => 'Preferences', EventType => 'preference.added', Filters => ['X']), '{', '{"Id":1}',
  '{"Subscriptions":[]}' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 7 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 7 ]
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 43: hostile subscription ids: 404 on every route, nothing changed
--- request eval
[ map { my $id = $_; ("GET $::api/Subscriptions/$id", "PUT $::api/Subscriptions/$id\n{\"Name\":\"x\"}",
                      "DELETE $::api/Subscriptions/$id", "POST $::api/Subscriptions/$id/Secret") }
  'abc', '0', '-1', '01', '1e3', '99999999999999999999', '1%3BDROP', "$::c1.0", '999999999' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (404) x 36 ]
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 44: a bad ?subscriptionId=: 400 saying so; one of no subscription: 404
--- request eval
[ map { "GET $::api/Subscriptions?subscriptionId=$_" } 'abc', '0', '-3', '', '1e3', '999999999' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin')
--- error_code eval
[ (400) x 5, 404 ]
--- response_json_list eval
[ ({ Message => qr/subscriptionId must be a positive integer/ }) x 5, { Message => qr/./ } ]
--- no_error_log
[error]
[alert]


=== TEST 45: POST .../Secret with a body other than {}: 400, nothing changed
--- request eval
[ map { "POST $::api/Subscriptions/$::c1/Secret\n$_" } '{"Name":"x"}', '[]', '{' ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x 3 ]
--- response_json_list eval
[ ({ Message => qr/./ }) x 3 ]
--- sql_unchanged eval
$::subscriptions
--- no_error_log
[error]
[alert]


=== TEST 46: PUT Webhooks/Settings with bad bodies: 400 with a Message saying why, the settings as they were
--- request eval
[ map { "PUT $::api/Settings\n$_->[0]" } @::bad_settings ]
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: application/json\n"
--- error_code eval
[ (400) x @::bad_settings ]
--- response_json_list eval
[ map { { Message => $_->[1] } } @::bad_settings ]
--- sql_unchanged eval
$::settings
--- no_error_log
[error]
[alert]


=== TEST 47: PUT Webhooks/Settings without application/json: 415
--- request eval
"PUT $::api/Settings\n" . '{"Settings":{}}'
--- more_headers eval
PrefsTest::auth('WebhooksCo', 'admin') . "Content-Type: text/plain\n"
--- error_code: 415
--- sql_unchanged eval
$::settings
--- no_error_log
[error]
[alert]
