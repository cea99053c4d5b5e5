# The preference center in a real browser (issue 15): t/browser/
# preference-center.mjs drives Debian's chromium with Playwright's core and
# reports what a visitor sees; this suite prepares the profile and its
# links, judges the report and checks what was saved.  A de-CH browser sees
# German; opting out of a filter and changing a frequency is saved (the
# API shows it, events are recorded); a reload shows it; a tampered or
# expired link and another profile's id show the error view and change
# nothing; an en-US browser sees English and reaches the first choice with
# Tab; one-click unsubscribe opts out.  A webhook subscriber of the
# account receives the preference events of the visitor's changes.  Screenshots go to build/browser/
# (docs/preference-center.md shows them).  Skipped, saying why, when
# chromium or playwright-core is missing.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its webhook
#   deliveries must be sent by its own nginx's helper, under its own
#   destination policy
use strict;
use warnings;
use utf8;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use PrefsTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $top = PrefsTest::top();
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
plan skip_all => "no chromium at $chromium (scripts/deps.sh installs Debian's chromium): the browser suite is skipped"
    unless -x $chromium;
plan skip_all => 'no node_modules/playwright-core (scripts/npm.sh installs it): the browser suite is skipped'
    unless -f "$top/node_modules/playwright-core/package.json";

# the webhook subscriber: answers the handshake, records every event
my $record = tempdir(CLEANUP => 1) . '/received.jsonl';
my ($rport, $receiver) = PrefsTest::webhook_receiver(record => $record);
END { kill 'KILL', $receiver if $receiver }

sub received {
    open my $f, '<', $record or return ();
    return grep { $_ } map { eval { decode_json($_)->{event} } } <$f>;
}

my $ng = PrefsTest::start_nginx(name => 'center', workers => 2,
    http_config => 'prefs_webhook_allow_http on; prefs_webhook_allow_network 127.0.0.0/8;'
                 . ' prefs_helper_poll_interval 1s;',
    config => "location /preference-center/ { alias $top/html/preference-center/;"
              . " types { text/html html; text/css css; text/javascript js; } }");

my $acme = make_account('center');
my $secret = make_user($acme, 'admin', 'Administrators');
api_config_import($acme);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $acme);
my $uid = psql_value("SELECT user_id FROM prefs_user WHERE account_id = :'a'", a => $acct);

# the account's link key: one the suite knows, to sign an expired link
my $key = '0123456789abcdef0123456789abcdef';
my $sealed = `echo $key | '$top/build/prefs-secret' seal '$ENV{TEST_NGINX_PREFS_KEY}'`;
chomp $sealed;
psql("INSERT INTO prefs_link_key (account_id, key_id, sealed) VALUES (:'a', 1, :'s')", a => $acct, s => $sealed);

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($acme, 'admin', $secret));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, $hd, $b) = $ng->request(method => $method, path => "/Profiles/v4/$acme/$path", headers => \%h,
                                     body => defined $body ? (ref $body ? encode_json($body) : $body) : undef);
    return ($st, eval { decode_json($b) }, $b);
}

sub profile {
    my ($email) = @_;
    my ($st, $j, $raw) = call('POST', 'Profile', {
        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
        Emails => [ { EmailAddress => $email, EmailAddressType => 'Personal', IsDefault => JSON::PP::true(),
                      EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1, FrequencyId => 'W' },
                                            { FilterId => 'ProductUpdatesEmail', PreferenceType => 1, FrequencyId => 'W' } ] } ] });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

ok(wait_until(sub {
    my ($s, $h, $b) = $ng->request(path => '/prefs/status');
    (eval { decode_json($b) } || {})->{Helper}{Listening};
}, 30), 'the helper listens');
my ($st, $j, $raw) = call('POST', 'Webhooks/Subscriptions', {
    Name => 'Preferences', Url => "http://127.0.0.1:$rport/hook", State => 'Active',
    Subscriptions => [ { Entity => 'Preferences', EventType => 'preference.updated' } ] });
is($st, 201, 'a webhook subscription') or diag $raw;
my $sid = $j->{Id};
ok(wait_until(sub { ((call('GET', "Webhooks/Subscriptions/$sid"))[1] || {})->{State} eq 'Active' }, 30),
   'the subscriber answered the handshake');

my $pid = profile('visitor@example.com');
my $other = profile('someone@example.com');

($st, $j, $raw) = call('POST', "Profile/$pid/Links",
    { Scopes => ['preferences:read', 'preferences:write', 'consents:write', 'unsubscribe:NewsletterEmail'] });
is($st, 201, 'a link for the visitor') or diag $raw;
my $token = $j->{Token};
my $unsubscribe = $j->{UnsubscribeUrls}[0]{Url};

my $expired = do {
    my $t = 'pl1.' . encode_base64url(join '|', 1, $acct, $pid, $uid, time - 60, 1, 0, 0,
                                      'preferences:read,preferences:write');
    $t . '.' . encode_base64url(hmac_sha256($t, $key));
};
(my $tampered = $token) =~ s/\.([^.]*)$/'.' . (substr($1, 0, 1) eq 'A' ? 'B' : 'A') . substr($1, 1)/e;

my $base = 'http://127.0.0.1:' . $ng->port . "/preference-center/?c=$acme";
my $e0 = psql_value('SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE profile_id = :p', p => $pid);
my $before_other = (call('GET', "Profile/$other/Preferences"))[2];

my $shots = "$top/build/browser";
make_path($shots);
local $ENV{PC_URL} = "$base&p=$pid#t=$token";
local $ENV{PC_TAMPERED} = "$base&p=$pid#t=$tampered";
local $ENV{PC_EXPIRED} = "$base&p=$pid#t=$expired";
local $ENV{PC_OTHER} = "$base&p=$other#t=$token";
local $ENV{PC_CHOSEN} = "$base&p=$pid&f=NewsletterEmail#t=$token";
local $ENV{PC_ASKED_OPTIN} = "$base&p=$pid&optin=ProductUpdatesEmail#t=$token";
local $ENV{PC_ASKED_CONSENT} = "$base&p=$pid&consent=Marketing#t=$token";
local $ENV{PC_SHOTS} = $shots;
local $ENV{CHROMIUM} = $chromium;
local $ENV{NODE_PATH} = "$top/node_modules";
my $out = `cd '$top' && timeout 600 node t/browser/preference-center.mjs 2>&1`;
my $seen = eval { decode_json((grep { /^\{/ } split /\n/, $out)[-1] // '') };
ok($seen && !$seen->{failure}, 'the browser ran every scenario') or diag $seen ? $seen->{failure} : $out;
$seen ||= {};

# --- German for a de-CH browser -----------------------------------------------------

is($seen->{de}{lang}, 'de', 'de-CH: the page is German');
is($seen->{de}{title}, 'Kommunikationseinstellungen', 'de-CH: the title');
ok((grep { $_ eq 'Newsletter' } @{ $seen->{de}{legends} || [] }), 'de-CH: the program in German (Configuration/Preference)')
    or diag explain $seen->{de}{legends};
like($seen->{de}{labels}{'filter-NewsletterEmail'}{label} // '', qr/^Newsletter per E-Mail/, 'de-CH: the filter in German');
ok($seen->{de}{labels}{'filter-ProductUpdatesEmail'}{checked}, 'the current choice is shown');
is($seen->{de}{frequencies}{'filter-NewsletterEmail-freq'}, 'W', 'the current frequency is shown');
is($seen->{de}{save}, 'Speichern', 'de-CH: the button');

# --- the change is saved -----------------------------------------------------------------

is($seen->{saved}{status}, 'Ihre Auswahl wurde gespeichert.', 'saved, said in German')
    or diag explain $seen->{saved};
($st, $j) = call('GET', "Profile/$pid/Preferences");
my %now = map { $_->{FilterId} => $_ } @{ $j->{Emails}[0]{EmailPreferences} || [] };
is($now{ProductUpdatesEmail}{PreferenceType}, 2, 'the API shows the opt-out');
is($now{NewsletterEmail}{FrequencyId}, 'M', 'the API shows the new frequency');
is($now{NewsletterEmail}{PreferenceType}, 1, 'and the other choice kept');
my $events = psql("SELECT string_agg(event_type, ',' ORDER BY event_id) FROM prefs_event"
                  . " WHERE profile_id = :p AND event_id > :e", p => $pid, e => $e0);
like($events, qr/preference\./, "events recorded ($events)");

ok(wait_until(sub {
    my %got = map { (($_->{Data} || {})->{FilterId} // '') => 1 }
              grep { ($_->{EventType} // '') eq 'preference.updated' && ($_->{ProfileId} // 0) == $pid } received();
    $got{ProductUpdatesEmail} && $got{NewsletterEmail};
}, 30), 'the webhook subscriber received both preference.updated events')
    or diag explain [ received() ];

ok(!$seen->{reloaded}{labels}{'filter-ProductUpdatesEmail'}{checked}, 'reload: the opt-out is shown');
is($seen->{reloaded}{frequencies}{'filter-NewsletterEmail-freq'}, 'M', 'reload: the frequency is shown');

# --- bad links: the error view, nothing changed -------------------------------------------

is($seen->{tampered}{error}, 'Dieser Link ist ungültig.', 'a tampered link: the error view, in German');
ok(!$seen->{tampered}{form}, 'a tampered link: no form');
is($seen->{expired}{error}, 'Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.', 'an expired link: said so');
ok(!$seen->{expired}{form}, 'an expired link: no form');
is($seen->{other}{error}, 'Dieser Link erlaubt diese Änderung nicht.', "another profile's id: refused");
ok(!$seen->{other}{form}, "another profile's id: no form");
is((call('GET', "Profile/$other/Preferences"))[2], $before_other, "the other profile is unchanged");

# --- English, and the keyboard --------------------------------------------------------------

is($seen->{en}{title}, 'Communication preferences', 'en-US: English');
like($seen->{en}{labels}{'filter-NewsletterEmail'}{label} // '', qr/^Email newsletter/, 'en-US: the filter in English');
is($seen->{en}{firstTab}, 'filter-NewsletterEmail', 'Tab from the heading reaches the first choice');
ok(-s "$shots/preference-center-$_.png", "a screenshot ($_)") for qw(de-DE en-US);

# --- the page a one-click URL's GET opens ------------------------------------------------------

ok(!$seen->{chosen}{labels}{'filter-NewsletterEmail'}{checked}, "one-click page: the filter's opt-out is chosen");
ok($seen->{chosen}{labels}{'filter-ProductUpdatesEmail'}{checked} == 0
   && $seen->{chosen}{frequencies}{'filter-NewsletterEmail-freq'} eq 'M', 'one-click page: the rest as saved');
is($seen->{chosen}{focused}, 'filter-NewsletterEmail', 'one-click page: the filter has the focus');
is_deeply($seen->{chosen}{highlighted}, ['filter-NewsletterEmail-row'], 'one-click page: and is highlighted');

# --- the page a refusal at the edge opens (docs/edge.md) -------------------------------------

is($seen->{asked_optin}{focused}, 'filter-ProductUpdatesEmail', 'edge refusal: the opt-in asked for has the focus');
is_deeply($seen->{asked_optin}{highlighted}, ['filter-ProductUpdatesEmail-row'], 'edge refusal: and is highlighted');
is($seen->{asked_optin}{labels}{'filter-ProductUpdatesEmail'}{checked}, $seen->{chosen}{labels}{'filter-ProductUpdatesEmail'}{checked},
   'edge refusal: its box as saved, not ticked for the visitor');
is($seen->{asked_consent}{focused}, 'consent-Marketing', 'edge refusal: the consent asked for has the focus');
is_deeply($seen->{asked_consent}{highlighted}, ['consent-Marketing-row'], 'edge refusal: and is highlighted');

# --- one-click unsubscribe --------------------------------------------------------------------

(my $path = $unsubscribe // '') =~ s{^https?://[^/]+}{};
($st) = $ng->request(method => 'POST', path => $path, body => 'List-Unsubscribe=One-Click',
                     headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($st, 200, 'one-click unsubscribe: 200');
($st, $j) = call('GET', "Profile/$pid/Preferences");
%now = map { $_->{FilterId} => $_ } @{ $j->{Emails}[0]{EmailPreferences} || [] };
is($now{NewsletterEmail}{PreferenceType}, 2, 'one-click unsubscribe: opted out');

unlike($ng->error_log, qr/\[(error|alert|crit|emerg)\]/, 'no error logged');

done_testing;
