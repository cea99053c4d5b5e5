-- 012: the Webhooks API: subscriptions and account settings (the writes
-- and what GET answers), over the tables of 008.
--
-- The worker checks a body's shape first (src/lib/prefs_whsub.c: types,
-- lengths, the URL, event types and entities, qualifier keys, wildcards)
-- and hands over the normalized body; the functions here check it against
-- the account's configuration (LocaleId, AlternateIdType, the names in
-- Filters / ConsentTypes / ContactTypes / Groups / CustomFields), apply
-- the one-Url-one-event rule, and write, in one transaction.  A refusal
-- changes nothing.  Invalid input raises PF001 (prefs_cfg_fail of 003),
-- caught here and returned as the outcome 'invalid' with its message.
--
-- Every change of a subscription sends NOTIFY prefs_webhook_subscription
-- with the subscription id as payload (at commit), for the delivery side.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

CREATE INDEX IF NOT EXISTS prefs_webhook_subscription_event_sub
    ON prefs_webhook_subscription_event (subscription_id);

COMMENT ON COLUMN prefs_webhook_subscription.secret_sealed IS
    'The signing secret as the client got it, "whsec_" followed by the '
    'base64 of 32 random bytes (the HMAC key is those 32 bytes), sealed '
    'with prefs_secret_seal under prefs_secret_key.';
COMMENT ON COLUMN prefs_webhook_subscription.secret_previous IS
    'After a rotation (POST .../Secret): the secret before it, sealed like '
    'secret_sealed; deliveries sign with both until secret_previous_until.';
COMMENT ON COLUMN prefs_webhook_subscription.validation_code IS
    'Set afresh (and validated_at cleared) at creation and whenever the '
    'Url changes; the delivery side sends it in the webhook.validation '
    'event and sets validated_at when the endpoint echoes it.';
COMMENT ON COLUMN prefs_webhook_subscription.state IS
    'What the user asked: Active | Paused.  The API shows Active as '
    'PendingValidation while validated_at is null.  The delivery side may '
    'set Paused with a paused_reason (e.g. Gone on a 410).';
