-- 013: webhook delivery.  Every event a subscription selects becomes a
-- delivery row; the helper claims due rows with a lease, POSTs them signed,
-- and reports each outcome.  Work lives here, not in the helper: a helper
-- killed mid-batch leaves leased rows that fall due again when their lease
-- runs out, and the fan-out cursor moves in the transaction that writes
-- the deliveries, so nothing is lost and a repeat carries the same
-- webhook-id (at least once).
--
--   prefs_webhook_claim(owner, lease, limit, per_subscription, window)
--       expires old leases, sends handshakes, fans new events out, then
--       claims due deliveries fairly: rows to POST, with their bodies
--   prefs_webhook_result(owner, outcomes jsonb, schedule)
--       delivered, retried later, dead, or the subscription paused (410)
--   prefs_webhook_cleanup(window)      delivered rows and attempts expire
--   prefs_webhook_replay(account, subscription, body)
--   prefs_webhook_deliveries(account, subscription, state, limit, after)
--
-- The retry schedule is the helper's (directive prefs_webhook_retries),
-- passed with each result: by default 5s 30s 2m 10m 30m 1h 2h 4h 8h 8h,
-- ten retries over about 24 h (23 h 43 m) after the first attempt, each delay
-- stretched by a random 0..20 % so that retries of a burst spread out.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).


-- --------------------------------------------------------------------------
-- Tables

-- a resume already acted upon (catch-up done, or not wanted)
ALTER TABLE prefs_webhook_subscription
    ADD COLUMN IF NOT EXISTS resume_handled_at timestamptz;

CREATE TABLE IF NOT EXISTS prefs_webhook_delivery (
    delivery_id      bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL,
    subscription_id  bigint      NOT NULL
                     REFERENCES prefs_webhook_subscription ON DELETE CASCADE,
    -- 'event': event_id and its recorded_date (the partition key);
    -- 'validation': the handshake of validation_code
    kind             text        NOT NULL DEFAULT 'event'
                     CHECK (kind IN ('event', 'validation')),
    event_id         bigint,
    event_recorded   timestamptz,
    validation_code  text,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'delivered',
                                      'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    lease_owner      text,
    lease_until      timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    dead_at          timestamptz,
    CHECK ((kind = 'event') = (event_id IS NOT NULL))
);

-- one delivery per event and subscription; a replay re-queues that row
CREATE UNIQUE INDEX IF NOT EXISTS prefs_webhook_delivery_event
    ON prefs_webhook_delivery (subscription_id, event_id)
    WHERE kind = 'event';
CREATE INDEX IF NOT EXISTS prefs_webhook_delivery_due
    ON prefs_webhook_delivery (subscription_id, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS prefs_webhook_delivery_validation
    ON prefs_webhook_delivery (subscription_id)
    WHERE kind = 'validation';
CREATE INDEX IF NOT EXISTS prefs_webhook_delivery_sending
    ON prefs_webhook_delivery (subscription_id, lease_until)
    WHERE state = 'sending';
CREATE INDEX IF NOT EXISTS prefs_webhook_delivery_list
    ON prefs_webhook_delivery (subscription_id, delivery_id);
CREATE INDEX IF NOT EXISTS prefs_webhook_delivery_old
    ON prefs_webhook_delivery (created_at)
    WHERE state IN ('delivered', 'dead');

-- every attempt, whatever became of it
CREATE TABLE IF NOT EXISTS prefs_webhook_attempt (
    attempt_id       bigserial   PRIMARY KEY,
    delivery_id      bigint      NOT NULL,
    account_id       bigint      NOT NULL,
    subscription_id  bigint      NOT NULL,
    event_id         bigint,
    attempt          integer     NOT NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL DEFAULT now(),
    status           integer,
    error            text,
    -- delivered | retry | dead | paused | expired
    outcome          text        NOT NULL,
    next_attempt_at  timestamptz
);

CREATE INDEX IF NOT EXISTS prefs_webhook_attempt_delivery
    ON prefs_webhook_attempt (delivery_id, attempt_id);
CREATE INDEX IF NOT EXISTS prefs_webhook_attempt_time
    ON prefs_webhook_attempt (finished_at);

-- the fan-out's position: every event up to (txid, event_id) has its
-- deliveries.  Starts at the horizon of its creation: events older than
-- the pipeline are not sent.
CREATE TABLE IF NOT EXISTS prefs_webhook_cursor (
    one         boolean     PRIMARY KEY DEFAULT true CHECK (one),
    txid        xid8        NOT NULL,
    event_id    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- (the horizon written out: migrations call no function of sql/functions)
INSERT INTO prefs_webhook_cursor (txid, event_id)
VALUES (pg_snapshot_xmin(pg_current_snapshot()), 0)
ON CONFLICT (one) DO NOTHING;

-- requests started per account in the current Duration window
CREATE TABLE IF NOT EXISTS prefs_webhook_rate (
    account_id    bigint      PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    started       integer     NOT NULL
);
