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

INSERT INTO prefs_webhook_cursor (txid, event_id)
VALUES (prefs_event_horizon(), 0)
ON CONFLICT (one) DO NOTHING;

-- requests started per account in the current Duration window
CREATE TABLE IF NOT EXISTS prefs_webhook_rate (
    account_id    bigint      PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    started       integer     NOT NULL
);


-- --------------------------------------------------------------------------
-- Fan-out, handshakes and catch-up

-- New events below the horizon become deliveries for each validated
-- subscription of their account that selects them and was active when
-- they were recorded (a paused one gets them on resume); the cursor
-- moves in the same transaction.  Concurrent callers do not wait: the one
-- without the lock returns 0 and the holder does the work.  Returns the
-- number of events read (p_batch: there may be more).
CREATE OR REPLACE FUNCTION prefs_webhook_fanout(p_batch integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    h     xid8 := prefs_event_horizon();
    c     prefs_webhook_cursor;
    n     integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('prefs_webhook_fanout')) THEN
        RETURN 0;
    END IF;

    SELECT * INTO c FROM prefs_webhook_cursor WHERE one FOR UPDATE;

    WITH b AS MATERIALIZED (
        SELECT e.event_id, e.txid, e.account_id, e.event_type, e.data,
               e.recorded_date
          FROM prefs_event e
         WHERE (e.txid, e.event_id) > (c.txid, c.event_id)
           AND e.txid >= c.txid AND e.txid < h
         ORDER BY e.txid, e.event_id
         LIMIT p_batch),
    ins AS (
        INSERT INTO prefs_webhook_delivery (account_id, subscription_id,
                                            kind, event_id, event_recorded)
        SELECT b.account_id, s.subscription_id, 'event', b.event_id,
               b.recorded_date
          FROM b
          JOIN prefs_webhook_subscription s
            ON s.account_id = b.account_id
           AND s.validated_at IS NOT NULL
           AND b.recorded_date >= s.created_at
           -- what the subscription was when the event was recorded: an
           -- event from before a pause waits for the resume; one from
           -- during a pause goes only by the catch-up
           AND CASE s.state
               WHEN 'Active' THEN
                   s.resumed_at IS NULL OR s.paused_at IS NULL
                   OR s.catch_up_on_resume
                   OR NOT (b.recorded_date >= s.paused_at
                           AND b.recorded_date < s.resumed_at)
               ELSE s.paused_at IS NOT NULL AND b.recorded_date < s.paused_at
               END
         WHERE prefs_event_matches(s.subscriptions, b.event_type, b.data)
         ORDER BY b.txid, b.event_id
        ON CONFLICT DO NOTHING),
    last AS (
        SELECT b.txid, b.event_id FROM b
         ORDER BY b.txid DESC, b.event_id DESC
         LIMIT 1),
    up AS (
        UPDATE prefs_webhook_cursor x
           SET txid = last.txid, event_id = last.event_id, updated_at = now()
          FROM last
         WHERE x.one)
    SELECT count(*) INTO n FROM b;

    RETURN n;
END
$$;


-- A subscription waiting for its handshake gets one validation delivery
-- per code; a handshake of a code since replaced is dropped.  Resumed
-- subscriptions get what they missed (CatchUpOnResume) once.
CREATE OR REPLACE FUNCTION prefs_webhook_prepare(p_window interval)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r  prefs_webhook_subscription;
BEGIN
    UPDATE prefs_webhook_delivery d
       SET state = 'dead', dead_at = now(),
           last_error = 'superseded by a newer validation code'
      FROM prefs_webhook_subscription s
     WHERE d.kind = 'validation'
       AND d.state = 'pending'
       AND s.subscription_id = d.subscription_id
       AND d.validation_code IS DISTINCT FROM s.validation_code;

    INSERT INTO prefs_webhook_delivery (account_id, subscription_id, kind,
                                        validation_code)
    SELECT s.account_id, s.subscription_id, 'validation', s.validation_code
      FROM prefs_webhook_subscription s
     WHERE s.validation_code IS NOT NULL
       AND s.validated_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM prefs_webhook_delivery d
                        WHERE d.subscription_id = s.subscription_id
                          AND d.kind = 'validation'
                          AND d.validation_code = s.validation_code);

    FOR r IN SELECT * FROM prefs_webhook_subscription x
              WHERE x.resumed_at IS NOT NULL
                AND x.state = 'Active'
                AND (x.resume_handled_at IS NULL
                     OR x.resume_handled_at < x.resumed_at)
              FOR UPDATE SKIP LOCKED
    LOOP
        IF r.catch_up_on_resume AND r.paused_at IS NOT NULL
           AND r.validated_at IS NOT NULL
        THEN
            INSERT INTO prefs_webhook_delivery (account_id, subscription_id,
                                                kind, event_id,
                                                event_recorded)
            SELECT e.account_id, r.subscription_id, 'event', e.event_id,
                   e.recorded_date
              FROM prefs_event e
             WHERE e.account_id = r.account_id
               AND e.recorded_date >= greatest(r.paused_at,
                                               now() - p_window,
                                               r.created_at)
               AND e.recorded_date <= r.resumed_at
               AND prefs_event_matches(r.subscriptions, e.event_type, e.data)
             ORDER BY e.txid, e.event_id
            ON CONFLICT DO NOTHING;
        END IF;

        UPDATE prefs_webhook_subscription
           SET resume_handled_at = now()
         WHERE subscription_id = r.subscription_id;
    END LOOP;
END
$$;


-- --------------------------------------------------------------------------
-- Claiming

-- The envelope of contract section 7 (008's prefs_event_envelope) split in
-- two: the JSON built from values looked up beforehand, a plain expression
-- that the planner inlines, and the lookups.  A claim renders hundreds of
-- bodies in one statement with the names looked up once per type and
-- locale (a dozen times faster than the envelope function per row); the
-- Events API's prefs_event_envelope keeps its signature and output and
-- now builds through the same expression, so both render alike.
CREATE OR REPLACE FUNCTION prefs_event_envelope_build(e prefs_event,
    p_name text, p_description text, p_subscription_id bigint,
    p_alternate_id_type text, p_alternate_id text, p_recorded_by text,
    p_minimized boolean)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'EventId', e.event_id::text,
               'EventType', e.event_type,
               'Entity', e.entity,
               'Subject', e.subject,
               'SubscriptionId', p_subscription_id,
               'Name', p_name,
               'Description', p_description,
               'EventDate', prefs_iso(e.event_date),
               'QueuedDate', prefs_iso(e.queued_date),
               'RecordedDate', prefs_iso(e.recorded_date),
               'RecordedBy', p_recorded_by))
           || jsonb_build_object('ProfileId',
                  CASE WHEN p_alternate_id_type IS NULL
                       THEN to_jsonb(e.profile_id)
                       ELSE to_jsonb(p_alternate_id) END)
           || CASE WHEN p_alternate_id_type IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('AlternateIdType',
                                           p_alternate_id_type) END
           || CASE WHEN p_minimized THEN '{}'::jsonb
                   ELSE jsonb_build_object('Data', e.data)
                        || CASE WHEN e.previous_data IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('PreviousData',
                                                        e.previous_data) END
              END
$$;

-- the profile's active alternate id of a type (the newest)
CREATE OR REPLACE FUNCTION prefs_event_alternate_id(p_account_id bigint,
    p_profile_id bigint, p_type text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT a.value
      FROM prefs_profile_alternate_id a
     WHERE a.account_id = p_account_id
       AND a.profile_id = p_profile_id
       AND a.type = p_type
       AND a.is_active
     ORDER BY a.alternate_id_id DESC
     LIMIT 1
$$;

CREATE OR REPLACE FUNCTION prefs_event_envelope(e prefs_event,
    p_locale text DEFAULT 'en-US', p_subscription_id bigint DEFAULT NULL,
    p_alternate_id_type text DEFAULT NULL, p_minimized boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT prefs_event_envelope_build(e, n.name, n.description,
               p_subscription_id, p_alternate_id_type,
               CASE WHEN p_alternate_id_type IS NOT NULL
                    THEN prefs_event_alternate_id(e.account_id, e.profile_id,
                                                  p_alternate_id_type) END,
               (SELECT u.user_name FROM prefs_user u
                 WHERE u.user_id = e.recorded_by),
               p_minimized)
      FROM prefs_event_type_name(e.event_type, p_locale) n
$$;


-- The body of a handshake delivery.
CREATE OR REPLACE FUNCTION prefs_webhook_validation_body(
    d prefs_webhook_delivery, p_locale text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'EventId', 'validation-' || d.delivery_id,
               'EventType', 'webhook.validation',
               'Entity', 'Webhook',
               'Subject', 'Webhooks/Subscriptions/' || d.subscription_id,
               'SubscriptionId', d.subscription_id,
               'Name', n.name,
               'Description', n.description,
               'EventDate', prefs_iso(d.created_at),
               'QueuedDate', prefs_iso(d.created_at),
               'RecordedDate', prefs_iso(d.created_at),
               'ValidationCode', d.validation_code)::text
      FROM prefs_event_type_name('webhook.validation', p_locale) n
$$;


-- Claims up to p_limit due deliveries for p_owner, with a lease.
--
-- Fair: a subscription has at most p_per_sub deliveries in flight, and the
-- claimed rows alternate between subscriptions (each one's oldest first),
-- so a slow or failing endpoint never holds back the others.  An account
-- starts at most MaxConcurrentRequests requests per Duration seconds
-- (prefs_webhook_settings; 500 per second by default).
--
-- Rows: delivery, attempt (its lease token), url, webhook-id,
-- webhook-timestamp, body, the sealed secret and the previous one while a
-- rotation lasts, and in every row (also in a lone row with a null
-- delivery when nothing is due) the milliseconds until the next pending
-- delivery falls due (null: none).
CREATE OR REPLACE FUNCTION prefs_webhook_claim(p_owner text,
    p_lease interval, p_limit integer, p_per_sub integer,
    p_window interval DEFAULT '15 days')
RETURNS TABLE (delivery_id bigint, attempt integer, url text,
               msg_id text, msg_ts bigint, body text, secret text,
               secret_previous text, next_due_ms bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids   bigint[];
    due   bigint;
BEGIN
    -- a killed helper's deliveries: due again
    WITH x AS (
        UPDATE prefs_webhook_delivery d
           SET state = 'pending', next_attempt_at = now(),
               lease_owner = NULL, lease_until = NULL
         WHERE d.state = 'sending' AND d.lease_until < now()
        RETURNING d.*)
    INSERT INTO prefs_webhook_attempt (delivery_id, account_id,
        subscription_id, event_id, attempt, started_at, error, outcome,
        next_attempt_at)
    SELECT x.delivery_id, x.account_id, x.subscription_id, x.event_id,
           x.attempts, x.claimed_at, 'lease expired: no outcome reported',
           'expired', x.next_attempt_at
      FROM x;

    PERFORM prefs_webhook_prepare(p_window);
    PERFORM prefs_webhook_fanout(greatest(p_limit, 1000));

    WITH subs AS (
        SELECT s.subscription_id, s.account_id,
               s.state = 'Active' AND s.validated_at IS NOT NULL AS open,
               (SELECT count(*) FROM prefs_webhook_delivery f
                 WHERE f.subscription_id = s.subscription_id
                   AND f.state = 'sending') AS busy
          FROM prefs_webhook_subscription s
         WHERE EXISTS (SELECT 1 FROM prefs_webhook_delivery p
                        WHERE p.subscription_id = s.subscription_id
                          AND p.state = 'pending'
                          AND p.next_attempt_at <= now())),
    cand AS (
        SELECT c.delivery_id, c.account_id, c.rn, c.subscription_id
          FROM subs,
               LATERAL (
                   SELECT d.delivery_id, d.account_id, d.subscription_id,
                          row_number() OVER (ORDER BY d.next_attempt_at,
                                                      d.delivery_id) AS rn
                     FROM prefs_webhook_delivery d
                    WHERE d.subscription_id = subs.subscription_id
                      AND d.state = 'pending'
                      AND d.next_attempt_at <= now()
                      -- a paused or unvalidated subscription: handshakes only
                      AND (subs.open OR d.kind = 'validation')
                    ORDER BY d.next_attempt_at, d.delivery_id
                    LIMIT greatest(p_per_sub - subs.busy, 0)) c),
    allowance AS (
        SELECT a.account_id,
               coalesce(st.max_concurrent_requests, 500)
               - CASE WHEN r.window_start > now()
                            - make_interval(secs => coalesce(st.duration, 1))
                      THEN r.started ELSE 0 END AS left_
          FROM (SELECT DISTINCT account_id FROM cand) a
          LEFT JOIN prefs_webhook_settings st USING (account_id)
          LEFT JOIN prefs_webhook_rate r USING (account_id)),
    ranked AS (
        SELECT cand.delivery_id, cand.rn, cand.subscription_id,
               row_number() OVER (PARTITION BY cand.account_id
                                  ORDER BY cand.rn, cand.subscription_id)
               AS arn,
               allowance.left_
          FROM cand JOIN allowance USING (account_id))
    SELECT array_agg(ranked.delivery_id ORDER BY ranked.rn,
                     ranked.subscription_id)
      INTO ids
      FROM (SELECT * FROM ranked
             WHERE ranked.arn <= ranked.left_
             ORDER BY ranked.rn, ranked.subscription_id
             LIMIT p_limit) ranked;

    IF ids IS NOT NULL THEN
        UPDATE prefs_webhook_delivery d
           SET state = 'sending', attempts = d.attempts + 1,
               claimed_at = now(), lease_owner = p_owner,
               lease_until = now() + p_lease
         WHERE d.delivery_id = ANY (ids) AND d.state = 'pending';

        -- the requests this claim starts count against their accounts
        INSERT INTO prefs_webhook_rate AS r (account_id, window_start, started)
        SELECT d.account_id, now(), count(*)
          FROM prefs_webhook_delivery d
         WHERE d.delivery_id = ANY (ids)
         GROUP BY d.account_id
        ON CONFLICT (account_id) DO UPDATE
           SET window_start = CASE WHEN r.window_start > now()
                   - make_interval(secs => coalesce((SELECT st.duration
                         FROM prefs_webhook_settings st
                        WHERE st.account_id = r.account_id), 1))
                   THEN r.window_start ELSE now() END,
               started = CASE WHEN r.window_start > now()
                   - make_interval(secs => coalesce((SELECT st.duration
                         FROM prefs_webhook_settings st
                        WHERE st.account_id = r.account_id), 1))
                   THEN r.started + EXCLUDED.started
                   ELSE EXCLUDED.started END;
    END IF;

    -- each subscription's next, through the per-subscription index
    SELECT greatest(0, ceil(extract(epoch FROM min(n.at) - now())
                            * 1000))::bigint
      INTO due
      FROM prefs_webhook_subscription s,
           LATERAL (SELECT p.next_attempt_at AS at
                      FROM prefs_webhook_delivery p
                     WHERE p.subscription_id = s.subscription_id
                       AND p.state = 'pending'
                     ORDER BY p.next_attempt_at
                     LIMIT 1) n;

    RETURN QUERY
    WITH c AS MATERIALIZED (
        SELECT d, s.url, s.locale, s.alternate_id_type, s.is_minimized,
               s.secret_sealed,
               CASE WHEN s.secret_previous_until > now()
                    THEN s.secret_previous END AS secret_previous
          FROM prefs_webhook_delivery d
          JOIN prefs_webhook_subscription s USING (subscription_id)
         WHERE d.delivery_id = ANY (coalesce(ids, '{}'))
           AND d.state = 'sending' AND d.lease_owner = p_owner),
    names AS (
        SELECT t.event_type, t.locale, n.name, n.description
          FROM (SELECT DISTINCT e.event_type, c.locale
                  FROM c JOIN prefs_event e
                    ON e.event_id = (c.d).event_id
                   AND e.recorded_date = (c.d).event_recorded) t,
               LATERAL prefs_event_type_name(t.event_type, t.locale) n)
    SELECT (c.d).delivery_id, (c.d).attempts, c.url,
           CASE (c.d).kind WHEN 'validation'
                THEN 'validation-' || (c.d).delivery_id
                ELSE (c.d).event_id::text END,
           extract(epoch FROM now())::bigint,
           CASE (c.d).kind WHEN 'validation'
                THEN prefs_webhook_validation_body(c.d, c.locale)
                ELSE prefs_event_envelope_build(e, names.name,
                         names.description, (c.d).subscription_id,
                         c.alternate_id_type,
                         CASE WHEN c.alternate_id_type IS NOT NULL
                              THEN prefs_event_alternate_id(e.account_id,
                                       e.profile_id, c.alternate_id_type)
                              END,
                         u.user_name, c.is_minimized)::text END,
           c.secret_sealed, c.secret_previous, due
      FROM c
      LEFT JOIN prefs_event e
        ON e.event_id = (c.d).event_id
       AND e.recorded_date = (c.d).event_recorded
      LEFT JOIN names
        ON names.event_type = e.event_type AND names.locale = c.locale
      LEFT JOIN prefs_user u ON u.user_id = e.recorded_by
     ORDER BY array_position(ids, (c.d).delivery_id);

    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::integer, NULL::text,
            NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::text,
            due;
    END IF;
END
$$;


-- --------------------------------------------------------------------------
-- Outcomes

CREATE OR REPLACE FUNCTION prefs_webhook_json(p_text text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN p_text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;


-- The delay after failed attempt p_attempt (1-based): the schedule's, 20 %
-- of jitter, never before Retry-After (capped at 8 hours); null when the
-- schedule is spent.
CREATE OR REPLACE FUNCTION prefs_webhook_backoff(p_attempt integer,
    p_schedule integer[], p_retry_after integer)
RETURNS interval
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN p_attempt > coalesce(array_length(p_schedule, 1), 0)
                THEN NULL
           ELSE make_interval(secs => greatest(
                    p_schedule[p_attempt] * (1 + random() * 0.2),
                    least(greatest(coalesce(p_retry_after, 0), 0), 28800)))
           END
$$;


-- p_outcomes: [{"id": delivery, "attempt": n, "status": http status or 0,
-- "retry_after": seconds or null, "error": text or null, "refused": bool,
-- "response": the first bytes of the answer}, ...].  An outcome whose
-- lease is no longer p_owner's (expired, claimed again) is ignored.
--
--   2xx                      delivered (a handshake: only with the echo)
--   410                      the subscription pauses (Paused, 'Gone'); the
--                            delivery waits for a resume, not counted
--   408, 429, 5xx, no answer retried per the schedule, then dead
--   3xx, other 4xx           dead at once: redirects are not followed, and
--                            a request the endpoint refuses stays refused
--   refused by the client    dead at once (destination policy)
--
-- A handshake is retried on any failure but a refusal; spent, it is dead
-- and the subscription stays PendingValidation.  Returns the number of
-- outcomes recorded.
CREATE OR REPLACE FUNCTION prefs_webhook_result(p_owner text,
    p_outcomes jsonb, p_schedule integer[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n          integer;
    validated  bigint[];
    codes      text[];
    gone       bigint[];
BEGIN
    -- set-based: one statement for the whole batch
    WITH o AS (
        SELECT x.id, x.attempt, coalesce(x.status, 0) AS status,
               x.retry_after, nullif(x.error, '') AS error,
               coalesce(x.refused, false) AS refused, x.response
          FROM jsonb_to_recordset(p_outcomes) AS x(id bigint,
               attempt integer, status integer, retry_after integer,
               error text, refused boolean, response text)),
    d AS (
        SELECT d.delivery_id, d.account_id, d.subscription_id, d.event_id,
               d.kind, d.validation_code, d.attempts, d.claimed_at,
               o.status, o.retry_after, o.error, o.refused, o.response
          FROM prefs_webhook_delivery d
          JOIN o ON o.id = d.delivery_id
         WHERE d.state = 'sending' AND d.lease_owner = p_owner
           AND d.attempts = o.attempt
         FOR UPDATE OF d),
    v AS (
        SELECT d.*,
               CASE
               WHEN d.refused THEN 'dead'
               WHEN d.kind = 'validation' THEN
                   CASE WHEN d.status BETWEEN 200 AND 299
                             AND prefs_webhook_json(d.response)
                                 ->> 'ValidationResponse' = d.validation_code
                        THEN 'delivered' ELSE 'retry' END
               WHEN d.status BETWEEN 200 AND 299 THEN 'delivered'
               WHEN d.status = 410 THEN 'paused'
               WHEN d.status = 0 OR d.status IN (408, 429)
                    OR d.status >= 500 THEN 'retry'
               ELSE 'dead' END AS verdict0
          FROM d),
    w AS (
        SELECT v.*,
               CASE WHEN v.verdict0 = 'retry'
                    THEN prefs_webhook_backoff(v.attempts, p_schedule,
                                               v.retry_after) END AS wait
          FROM v),
    f AS (
        SELECT w.*,
               CASE WHEN w.verdict0 = 'retry' AND w.wait IS NULL THEN 'dead'
                    ELSE w.verdict0 END AS verdict,
               concat_ws('; ',
                   coalesce(w.error,
                       CASE WHEN w.kind = 'validation'
                                 AND w.status BETWEEN 200 AND 299
                                 AND w.verdict0 = 'retry'
                            THEN 'the answer did not echo the ValidationCode'
                                 ' as {"ValidationResponse": ...}'
                            WHEN w.verdict0 = 'dead' AND NOT w.refused
                            THEN 'HTTP ' || w.status || ': not retried'
                                 ' (only 408, 429, 5xx and failures to'
                                 ' answer are)'
                            WHEN w.verdict0 = 'paused'
                            THEN 'HTTP 410: subscription paused' END),
                   CASE WHEN w.verdict0 = 'retry' AND w.wait IS NULL
                        THEN 'last attempt failed: dead letter' END)
               AS message
          FROM w),
    ins AS (
        INSERT INTO prefs_webhook_attempt (delivery_id, account_id,
            subscription_id, event_id, attempt, started_at, status, error,
            outcome, next_attempt_at)
        SELECT f.delivery_id, f.account_id, f.subscription_id, f.event_id,
               f.attempts, f.claimed_at, nullif(f.status, 0),
               nullif(f.message, ''), f.verdict,
               CASE f.verdict WHEN 'retry' THEN now() + f.wait END
          FROM f),
    upd AS (
        UPDATE prefs_webhook_delivery x
           SET state = CASE f.verdict WHEN 'delivered' THEN 'delivered'
                                      WHEN 'dead' THEN 'dead'
                                      ELSE 'pending' END,
               next_attempt_at = CASE f.verdict
                                 WHEN 'retry' THEN now() + f.wait
                                 WHEN 'paused' THEN now()
                                 ELSE x.next_attempt_at END,
               -- a 410 is not the endpoint's failure: not counted
               attempts = CASE f.verdict WHEN 'paused' THEN x.attempts - 1
                               ELSE x.attempts END,
               delivered_at = CASE f.verdict WHEN 'delivered' THEN now()
                                  ELSE x.delivered_at END,
               dead_at = CASE f.verdict WHEN 'dead' THEN now()
                             ELSE x.dead_at END,
               last_status = nullif(f.status, 0),
               last_error = nullif(f.message, ''),
               lease_owner = NULL, lease_until = NULL
          FROM f
         WHERE x.delivery_id = f.delivery_id
        RETURNING f.subscription_id, f.verdict, f.kind, f.validation_code)
    SELECT count(*),
           array_agg(upd.subscription_id)
               FILTER (WHERE upd.verdict = 'delivered'
                         AND upd.kind = 'validation'),
           array_agg(upd.validation_code)
               FILTER (WHERE upd.verdict = 'delivered'
                         AND upd.kind = 'validation'),
           array_agg(DISTINCT upd.subscription_id)
               FILTER (WHERE upd.verdict = 'paused')
      INTO n, validated, codes, gone
      FROM upd;

    IF validated IS NOT NULL THEN
        UPDATE prefs_webhook_subscription s
           SET validated_at = now()
          FROM unnest(validated, codes) AS v(id, code)
         WHERE s.subscription_id = v.id AND s.validation_code = v.code
           AND s.validated_at IS NULL;
    END IF;

    IF gone IS NOT NULL THEN
        UPDATE prefs_webhook_subscription
           SET state = 'Paused', paused_reason = 'Gone',
               paused_at = now(), updated_at = now()
         WHERE subscription_id = ANY (gone) AND state = 'Active';
    END IF;

    RETURN n;
END
$$;


-- Delivered rows and attempts older than the window go; dead letters stay
-- as long (replayable), then go too.
CREATE OR REPLACE FUNCTION prefs_webhook_cleanup(p_window interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n  integer;
BEGIN
    DELETE FROM prefs_webhook_delivery
     WHERE state IN ('delivered', 'dead')
       AND created_at < now() - p_window;
    GET DIAGNOSTICS n = ROW_COUNT;

    DELETE FROM prefs_webhook_attempt
     WHERE finished_at < now() - p_window;

    RETURN n;
END
$$;


-- --------------------------------------------------------------------------
-- Routes: Webhooks/Subscriptions/{id}/Replay and .../Deliveries

-- p_body (checked by the caller for shape): {"EventIds": [...]},
-- {"StartAt": iso, "EndAt": iso} or {"DeadLetters": true}.  Events the
-- subscription selects, within the window, are queued again (a delivered
-- or dead row becomes pending with its attempts reset; a pending one
-- stays).  outcome: 'ok' with the count, 'not_found', or 'invalid' with a
-- message.
CREATE OR REPLACE FUNCTION prefs_webhook_replay(p_account_id bigint,
    p_subscription_id bigint, p_body jsonb,
    p_window interval DEFAULT '15 days')
RETURNS TABLE (outcome text, count integer, message text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s      prefs_webhook_subscription;
    lo     timestamptz;
    hi     timestamptz;
    n      integer := 0;
    ids    bigint[];
BEGIN
    SELECT * INTO s FROM prefs_webhook_subscription x
     WHERE x.subscription_id = p_subscription_id
       AND x.account_id = p_account_id;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', 0, NULL::text;
        RETURN;
    END IF;

    IF p_body ? 'DeadLetters' THEN
        UPDATE prefs_webhook_delivery d
           SET state = 'pending', attempts = 0, next_attempt_at = now(),
               dead_at = NULL, last_error = NULL
         WHERE d.subscription_id = s.subscription_id
           AND d.state = 'dead';
        GET DIAGNOSTICS n = ROW_COUNT;

    ELSE
        IF p_body ? 'EventIds' THEN
            BEGIN
                SELECT array_agg(v::bigint) INTO ids
                  FROM jsonb_array_elements_text(p_body->'EventIds') v;
            EXCEPTION WHEN others THEN
                RETURN QUERY SELECT 'invalid', 0,
                    'EventIds must hold event ids'::text;
                RETURN;
            END;
            lo := now() - p_window;
            hi := now();
        ELSE
            BEGIN
                lo := (p_body->>'StartAt')::timestamptz;
                hi := (p_body->>'EndAt')::timestamptz;
            EXCEPTION WHEN others THEN
                RETURN QUERY SELECT 'invalid', 0,
                    'StartAt and EndAt must be ISO 8601 dates'::text;
                RETURN;
            END;
            IF lo IS NULL OR hi IS NULL OR hi < lo THEN
                RETURN QUERY SELECT 'invalid', 0,
                    'StartAt and EndAt must both be given, StartAt first'::text;
                RETURN;
            END IF;
            lo := greatest(lo, now() - p_window);
        END IF;

        WITH ev AS (
            SELECT e.event_id, e.recorded_date
              FROM prefs_event e
             WHERE e.account_id = s.account_id
               AND e.recorded_date >= lo AND e.recorded_date <= hi
               AND (ids IS NULL OR e.event_id = ANY (ids))
               AND prefs_event_matches(s.subscriptions, e.event_type, e.data)),
        up AS (
            INSERT INTO prefs_webhook_delivery AS d (account_id,
                subscription_id, kind, event_id, event_recorded)
            SELECT s.account_id, s.subscription_id, 'event', ev.event_id,
                   ev.recorded_date
              FROM ev
            ON CONFLICT (subscription_id, event_id) WHERE kind = 'event'
            DO UPDATE SET state = 'pending', attempts = 0,
                          next_attempt_at = now(), dead_at = NULL,
                          delivered_at = NULL, last_error = NULL
                    WHERE d.state IN ('delivered', 'dead')
            RETURNING 1)
        SELECT count(*) INTO n FROM up;
    END IF;

    IF n > 0 THEN
        PERFORM pg_notify('prefs_webhook', '');
    END IF;

    RETURN QUERY SELECT 'ok', n, NULL::text;
END
$$;


-- The subscription's deliveries, newest first, each with its attempts:
-- {"Deliveries": [...], "NextCursor": "..."} or null when the subscription
-- is not the account's.  p_state: pending | sending | delivered | dead.
CREATE OR REPLACE FUNCTION prefs_webhook_deliveries(p_account_id bigint,
    p_subscription_id bigint, p_state text, p_limit integer, p_after bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    WITH page AS (
        SELECT d.*
          FROM prefs_webhook_delivery d
         WHERE d.subscription_id = p_subscription_id
           AND d.account_id = p_account_id
           AND (p_state IS NULL OR d.state = p_state)
           AND (p_after IS NULL OR d.delivery_id < p_after)
         ORDER BY d.delivery_id DESC
         LIMIT p_limit + 1),
    rows_ AS (
        SELECT p.*, row_number() OVER (ORDER BY p.delivery_id DESC) AS rn
          FROM page p)
    SELECT jsonb_build_object(
        'Deliveries', coalesce((
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                'DeliveryId', r.delivery_id,
                'EventId', CASE r.kind WHEN 'validation'
                               THEN 'validation-' || r.delivery_id
                               ELSE r.event_id::text END,
                'Kind', CASE r.kind WHEN 'validation' THEN 'Validation'
                                    ELSE 'Event' END,
                'State', initcap(r.state),
                'IsDeadLetter', r.state = 'dead',
                'Attempts', r.attempts,
                'NextAttemptAt', CASE WHEN r.state = 'pending'
                                      THEN prefs_iso(r.next_attempt_at) END,
                'LastStatus', r.last_status,
                'LastError', r.last_error,
                'CreatedDate', prefs_iso(r.created_at),
                'DeliveredDate', prefs_iso(r.delivered_at),
                'DeadDate', prefs_iso(r.dead_at),
                'AttemptLog', coalesce((
                    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                        'Attempt', a.attempt,
                        'StartedAt', prefs_iso(a.started_at),
                        'FinishedAt', prefs_iso(a.finished_at),
                        'Status', a.status,
                        'Error', a.error,
                        'Outcome', initcap(a.outcome),
                        'NextAttemptAt', prefs_iso(a.next_attempt_at)))
                        ORDER BY a.attempt_id)
                      FROM prefs_webhook_attempt a
                     WHERE a.delivery_id = r.delivery_id), '[]')))
                ORDER BY r.delivery_id DESC)
              FROM rows_ r WHERE r.rn <= p_limit), '[]'),
        'NextCursor', (SELECT r.delivery_id::text FROM rows_ r
                        WHERE r.rn = p_limit
                          AND EXISTS (SELECT 1 FROM rows_ x
                                       WHERE x.rn > p_limit)))::text
     WHERE EXISTS (SELECT 1 FROM prefs_webhook_subscription s
                    WHERE s.subscription_id = p_subscription_id
                      AND s.account_id = p_account_id)
$$;
