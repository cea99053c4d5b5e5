# The Webhooks API judges a subscription's Url with the webhook client's
# own parser (src/lib/prefs_url.c): a Url the client would refuse to call
# is refused when it is given, with a 400 that says why, and nothing is
# stored.  Before, the API's own checker let through hosts that some
# resolvers read as numbers (127.1, 0x7f.0.0.1, 2130706433), which the
# client then refused at every delivery.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;

# an account, an administrator and a bearer token of its own
my $token = 'webhooks-url-test-token';
psql("INSERT INTO prefs_account (client_id, name) VALUES ('WebhookUrlCo', 'Webhook Url')"
     . " ON CONFLICT (client_id) DO NOTHING");
psql("INSERT INTO prefs_user (account_id, user_name)"
     . " SELECT account_id, 'admin' FROM prefs_account WHERE client_id = 'WebhookUrlCo'"
     . " ON CONFLICT (account_id, user_name) DO NOTHING");
psql("INSERT INTO prefs_user_group_member (user_id, group_id)"
     . " SELECT u.user_id, g.group_id FROM prefs_user u JOIN prefs_account a USING (account_id),"
     . " prefs_user_group g WHERE a.client_id = 'WebhookUrlCo' AND u.user_name = 'admin'"
     . " AND g.name = 'Administrators' AND g.account_id IS NULL ON CONFLICT DO NOTHING");
psql("INSERT INTO prefs_oauth_token (token_hash, user_id, account_id, expires_at)"
     . " SELECT encode(sha256(convert_to(:'t', 'UTF8')), 'hex'), u.user_id, a.account_id,"
     . " now() + interval '1 day' FROM prefs_user u JOIN prefs_account a USING (account_id)"
     . " WHERE a.client_id = 'WebhookUrlCo' AND u.user_name = 'admin'"
     . " ON CONFLICT (token_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at", t => $token);

# every block: the v4 API (no helper: nothing here is delivered), the
# test's token, JSON bodies
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', qq{prefs_database "\$TEST_NGINX_PREFS_DATABASE";\n}
        . qq{prefs_secret_key \$TEST_NGINX_PREFS_KEY;\n}
        . qq{prefs_helper off;\n}) unless defined $block->http_config;
    $block->set_value('config', "location /Profiles/v4/ { prefs_api v4; }\n")
        unless defined $block->config;
    $block->set_value('more_headers', "Authorization: Bearer $token\n"
        . "Content-Type: application/json\n") unless defined $block->more_headers;
});

repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a host the client reads as a number (127.1) is refused
--- request
POST /Profiles/v4/WebhookUrlCo/Webhooks/Subscriptions
{"Name":"short","Url":"https://127.1/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}
--- error_code: 400
--- response_body chomp
{"Message":"Url is invalid: the URL's host reads as a number: write an address as a dotted quad"}
--- no_error_log
[error]
[alert]


=== TEST 2: a hexadecimal address is refused
--- request
POST /Profiles/v4/WebhookUrlCo/Webhooks/Subscriptions
{"Name":"hex","Url":"https://0x7f.0.0.1/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}
--- error_code: 400
--- response_body chomp
{"Message":"Url is invalid: the URL's host reads as a number: write an address as a dotted quad"}
--- no_error_log
[error]
[alert]


=== TEST 3: an address written as one number is refused, on update too
--- request
PUT /Profiles/v4/WebhookUrlCo/Webhooks/Subscriptions/1
{"Url":"https://2130706433/hook"}
--- error_code: 400
--- response_body chomp
{"Message":"Url is invalid: the URL's host reads as a number: write an address as a dotted quad"}
--- no_error_log
[error]
[alert]


=== TEST 4: the API's own rules keep their messages
--- request
POST /Profiles/v4/WebhookUrlCo/Webhooks/Subscriptions
{"Name":"under","Url":"https://h_x.example.com/hook","Subscriptions":[{"Entity":"Tags","EventType":"tag.removed"}]}
--- error_code: 400
--- response_body chomp
{"Message":"Url is invalid: a host name holds letters, digits, \"-\" and \".\" (IDNA names in their xn-- form)"}
--- no_error_log
[error]
[alert]


=== TEST 5: nothing was stored
--- request
GET /Profiles/v4/WebhookUrlCo/Webhooks/Subscriptions
--- more_headers
Authorization: Bearer webhooks-url-test-token
--- error_code: 200
--- response_body chomp
[]
--- no_error_log
[error]
[alert]
