-- Webhooks: subscriptions and account settings (the Webhooks API), and
-- delivery: fan-out, claims with leases and per-account rate, results
-- with backoff, replay and clean-up (tables: 008_webhook_base,
-- 012_webhooks_api, 013_webhook_delivery).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- The configuration kind that names the qualifier values of an event type
-- (what prefs_event_matches compares them with), or NULL.
CREATE OR REPLACE FUNCTION prefs_webhook_qualifier_kind(p_type text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_type LIKE 'preference.%' THEN 'Filter'
        WHEN p_type LIKE 'consent.%' THEN 'ConsentType'
        WHEN p_type LIKE 'contacts.email.%' THEN 'EmailType'
        WHEN p_type LIKE 'contacts.phone.%' THEN 'PhoneType'
        WHEN p_type LIKE 'contacts.address.%' THEN 'AddressType'
        WHEN p_type LIKE 'contacts.alternateid.%' THEN 'AlternateIdType'
        WHEN p_type LIKE 'group.%' THEN 'GroupType'
        WHEN p_type LIKE 'customfield.%' THEN 'CustomField'
        END
$$;


-- An active configuration item of a kind, by key without regard to case:
-- its key as configured, or NULL.
CREATE OR REPLACE FUNCTION prefs_webhook_config_key(p_account_id bigint,
    p_kind text, p_key text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT i.key FROM prefs_config_item i
     WHERE i.account_id = p_account_id AND i.kind = p_kind AND i.is_active
       AND lower(i.key) = lower(p_key)
     ORDER BY i.key = p_key DESC, i.key
     LIMIT 1
$$;


-- LocaleId: en-US (the language of the built-in event texts) or an active
-- locale of the account; its canonical spelling.
CREATE OR REPLACE FUNCTION prefs_webhook_locale(p_account_id bigint,
    p_locale text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    c  text;
    k  text;
BEGIN
    IF p_locale IS NULL THEN
        RETURN 'en-US';
    END IF;
    IF p_locale !~ '^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$' THEN
        PERFORM prefs_cfg_fail('LocaleId', format('%s is not a language tag',
                                                  prefs_cfg_quote(p_locale)));
    END IF;
    c := prefs_locale_canonical(p_locale);
    k := prefs_webhook_config_key(p_account_id, 'Locale', c);
    IF k IS NOT NULL THEN
        RETURN k;
    END IF;
    IF c = 'en-US' THEN
        RETURN c;
    END IF;
    PERFORM prefs_cfg_fail('LocaleId', format('%s is not a locale of this '
                                              'account', prefs_cfg_quote(c)));
    RETURN NULL;
END
$$;


-- The "Subscriptions" array, shape-checked by the worker: each entry's
-- event type and entity once more, and the names of its qualifier list
-- against the configuration (replaced by their configured spelling).
CREATE OR REPLACE FUNCTION prefs_webhook_subs_check(p_account_id bigint,
    p_subs jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    e      record;
    n      record;
    t      text;
    q_kind text;
    qkey   text;
    wild   text;
    k      text;
    at     text;
    names  jsonb;
    res    jsonb := '[]';
    item   jsonb;
BEGIN
    IF jsonb_typeof(p_subs) IS DISTINCT FROM 'array'
       OR jsonb_array_length(p_subs) = 0
    THEN
        PERFORM prefs_cfg_fail('Subscriptions',
                               'must be an array of 1 to 100 objects');
    END IF;

    FOR e IN SELECT x.v, x.i - 1 AS i
               FROM jsonb_array_elements(p_subs) WITH ORDINALITY x(v, i)
    LOOP
        at := format('Subscriptions[%s]', e.i);
        t := prefs_event_type_canonical(e.v ->> 'EventType');
        IF t IS NULL OR t = 'webhook.validation'
           OR NOT EXISTS (SELECT 1 FROM prefs_event_type_text x
                           WHERE x.event_type = t)
        THEN
            PERFORM prefs_cfg_fail(at || '.EventType',
                format('%s is not an event type',
                       prefs_cfg_quote(coalesce(t, ''))));
        END IF;
        IF (e.v ->> 'Entity') IS DISTINCT FROM prefs_event_entity(t) THEN
            PERFORM prefs_cfg_fail(at || '.Entity',
                format('must be %s for %s',
                       prefs_cfg_quote(prefs_event_entity(t)), t));
        END IF;

        SELECT q.key, q.wildcard INTO qkey, wild
          FROM (VALUES ('Preferences', 'Filters', 'AllFilters'),
                       ('Consents', 'ConsentTypes', 'AllConsents'),
                       ('Contacts', 'ContactTypes', 'AllContactTypes'),
                       ('Groups', 'Groups', 'AllGroups'),
                       ('CustomFields', 'CustomFields', 'AllCustomFields'))
               AS q(entity, key, wildcard)
         WHERE q.entity = prefs_event_entity(t);

        item := jsonb_build_object('Entity', prefs_event_entity(t),
                                   'EventType', t);

        FOR k IN SELECT jsonb_object_keys(e.v) LOOP
            CONTINUE WHEN k IN ('Entity', 'EventType');
            IF k IS DISTINCT FROM qkey THEN
                PERFORM prefs_cfg_fail(at || '.' || k,
                    format('does not apply to %s events',
                           prefs_event_entity(t)));
            END IF;
        END LOOP;

        IF qkey IS NOT NULL AND jsonb_typeof(e.v -> qkey) = 'array' THEN
            names := '[]';
            q_kind := prefs_webhook_qualifier_kind(t);
            FOR n IN SELECT y.v, y.i - 1 AS i
                       FROM jsonb_array_elements_text(e.v -> qkey)
                            WITH ORDINALITY y(v, i)
            LOOP
                IF lower(n.v) = lower(wild) THEN
                    names := names || to_jsonb(wild);
                    CONTINUE;
                END IF;
                IF q_kind IS NULL THEN
                    PERFORM prefs_cfg_fail(format('%s.%s[%s]', at, qkey, n.i),
                        format('must be %s: %s events carry no contact type',
                               wild, t));
                END IF;
                k := prefs_webhook_config_key(p_account_id, q_kind, n.v);
                IF k IS NULL THEN
                    PERFORM prefs_cfg_fail(format('%s.%s[%s]', at, qkey, n.i),
                        format('%s is not an active %s', prefs_cfg_quote(n.v),
                               (SELECT x.noun FROM prefs_config_kinds() x
                                 WHERE x.kind = q_kind)));
                END IF;
                names := names || to_jsonb(k);
            END LOOP;
            item := item || jsonb_build_object(qkey, names);
        END IF;

        res := res || jsonb_build_array(item);
    END LOOP;

    RETURN res;
END
$$;


CREATE OR REPLACE FUNCTION prefs_webhook_state_shown(
    s prefs_webhook_subscription)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN s.state = 'Paused' THEN 'Paused'
                WHEN s.validated_at IS NULL THEN 'PendingValidation'
                ELSE 'Active' END
$$;


-- The Subscriptions array with each entry's fields in a reader's order
-- (jsonb sorts them): Entity, EventType, then the qualifier list.
CREATE OR REPLACE FUNCTION prefs_webhook_subs_json(p_subs jsonb)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(json_agg((SELECT json_object_agg(k, a.x -> k
                                         ORDER BY k <> 'Entity',
                                                  k <> 'EventType', k)
                                FROM jsonb_object_keys(a.x) k)
                             ORDER BY a.n), '[]'::json)
      FROM jsonb_array_elements(p_subs) WITH ORDINALITY a(x, n)
$$;


-- json keeps the order of the fields; never the secrets.
CREATE OR REPLACE FUNCTION prefs_webhook_subscription_json(
    s prefs_webhook_subscription)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'Id', s.subscription_id,
        'Name', s.name,
        'Description', s.description,
        'LocaleId', s.locale,
        'Url', s.url,
        'Subscriptions', prefs_webhook_subs_json(s.subscriptions),
        'State', prefs_webhook_state_shown(s),
        'PausedReason', CASE WHEN s.state = 'Paused'
                             THEN s.paused_reason END,
        'IsMinimized', s.is_minimized,
        'IsActive', true,
        'CatchUpOnResume', s.catch_up_on_resume,
        'AlternateIdType', s.alternate_id_type,
        'ValidatedDate', prefs_iso(s.validated_at),
        'PreviousSecretExpires', CASE WHEN s.secret_previous_until > now()
                                      THEN prefs_iso(s.secret_previous_until)
                                      END,
        'CreatedDate', prefs_iso(s.created_at),
        'UpdatedDate', prefs_iso(s.updated_at))
$$;


-- All of an account's subscriptions, or the one asked for: how many, and
-- the JSON array.
CREATE OR REPLACE FUNCTION prefs_webhook_subscription_list(
    p_account_id bigint, p_subscription_id bigint,
    OUT total bigint, OUT body json)
LANGUAGE sql STABLE AS $$
    SELECT count(*),
           coalesce(json_agg(prefs_webhook_subscription_json(s)
                             ORDER BY s.subscription_id), '[]'::json)
      FROM prefs_webhook_subscription s
     WHERE s.account_id = p_account_id
       AND (p_subscription_id IS NULL
            OR s.subscription_id = p_subscription_id)
$$;


-- Create (p_subscription_id NULL) or update a subscription from a body
-- normalized by the worker.  Fields absent from an update keep their
-- value; "IsActive": false deletes.  p_secret_sealed is used on create
-- only; p_validation_code on create and when the Url changes.
-- Outcomes: created, updated, deleted, not_found, invalid, conflict.
CREATE OR REPLACE FUNCTION prefs_webhook_subscription_write(
    p_account_id bigint, p_user_id bigint, p_subscription_id bigint,
    p_body jsonb, p_secret_sealed text, p_validation_code text,
    OUT outcome text, OUT subscription_id bigint, OUT message text,
    OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    cur        prefs_webhook_subscription;
    s          prefs_webhook_subscription;
    new_state  text;
    other      bigint;
    other_type text;
BEGIN
    IF p_subscription_id IS NOT NULL THEN
        SELECT * INTO cur FROM prefs_webhook_subscription w
         WHERE w.account_id = p_account_id
           AND w.subscription_id = p_subscription_id
           FOR UPDATE;
        IF NOT FOUND THEN
            outcome := 'not_found';
            RETURN;
        END IF;
        subscription_id := cur.subscription_id;
        IF p_body -> 'IsActive' = 'false'::jsonb THEN
            DELETE FROM prefs_webhook_subscription w
             WHERE w.subscription_id = cur.subscription_id;
            PERFORM pg_notify('prefs_webhook_subscription',
                              cur.subscription_id::text);
            outcome := 'deleted';
            RETURN;
        END IF;
        s := cur;
    ELSE
        s.account_id := p_account_id;
        s.state := 'Paused';
        s.locale := 'en-US';
        s.is_minimized := false;
        s.catch_up_on_resume := false;
        s.subscriptions := '[]';
        s.created_by := p_user_id;
        IF p_secret_sealed IS NULL OR p_validation_code IS NULL THEN
            RAISE EXCEPTION 'a new subscription needs its secret and code';
        END IF;
    END IF;

    BEGIN
        IF p_body ? 'Name' THEN
            s.name := p_body ->> 'Name';
        END IF;
        IF p_body ? 'Description' THEN
            s.description := p_body ->> 'Description';
        END IF;
        IF p_body ? 'LocaleId' THEN
            s.locale := prefs_webhook_locale(p_account_id,
                                             p_body ->> 'LocaleId');
        END IF;
        IF p_body ? 'Url' THEN
            s.url := p_body ->> 'Url';
        END IF;
        IF p_body ? 'IsMinimized' THEN
            s.is_minimized := (p_body ->> 'IsMinimized')::boolean;
        END IF;
        IF p_body ? 'CatchUpOnResume' THEN
            s.catch_up_on_resume := (p_body ->> 'CatchUpOnResume')::boolean;
        END IF;
        IF p_body ? 'AlternateIdType' THEN
            s.alternate_id_type := NULL;
            IF (p_body ->> 'AlternateIdType') IS NOT NULL THEN
                s.alternate_id_type := prefs_webhook_config_key(p_account_id,
                    'AlternateIdType', p_body ->> 'AlternateIdType');
                IF s.alternate_id_type IS NULL THEN
                    PERFORM prefs_cfg_fail('AlternateIdType',
                        format('%s is not an active alternate id type',
                               prefs_cfg_quote(p_body ->> 'AlternateIdType')));
                END IF;
            END IF;
        END IF;
        IF p_body ? 'Subscriptions' THEN
            s.subscriptions := prefs_webhook_subs_check(p_account_id,
                                   p_body -> 'Subscriptions');
        END IF;
        IF s.name IS NULL OR s.url IS NULL
           OR jsonb_array_length(s.subscriptions) = 0
        THEN
            PERFORM prefs_cfg_fail('', 'needs Name, Url and Subscriptions');
        END IF;
        s.event_types := ARRAY(SELECT DISTINCT x ->> 'EventType'
                                 FROM jsonb_array_elements(s.subscriptions) x
                                ORDER BY 1);

        new_state := coalesce(p_body ->> 'State', s.state);
        IF p_subscription_id IS NULL THEN
            s.state := new_state;
            IF new_state = 'Paused' THEN
                s.paused_at := now();
            END IF;
        ELSIF new_state IS DISTINCT FROM cur.state THEN
            s.state := new_state;
            s.paused_reason := NULL;
            IF new_state = 'Paused' THEN
                s.paused_at := now();
            ELSE
                s.resumed_at := now();
            END IF;
        END IF;

        IF p_subscription_id IS NULL OR s.url IS DISTINCT FROM cur.url THEN
            s.validation_code := p_validation_code;
            s.validated_at := NULL;
        END IF;

        -- the one-Url-one-event rule, with a message that names the other
        SELECT e.subscription_id, e.event_type INTO other, other_type
          FROM prefs_webhook_subscription_event e
         WHERE e.account_id = p_account_id AND e.url = s.url
           AND e.event_type = ANY (s.event_types)
           AND e.subscription_id IS DISTINCT FROM p_subscription_id
         ORDER BY e.subscription_id, e.event_type
         LIMIT 1;
        IF FOUND THEN
            outcome := 'conflict';
            message := format('Subscription %s already sends %s events to '
                              'this Url', other, other_type);
            subscription_id := p_subscription_id;
            RETURN;
        END IF;

        s.updated_at := now();
        s.updated_by := p_user_id;

        IF p_subscription_id IS NULL THEN
            INSERT INTO prefs_webhook_subscription AS w
                   (account_id, name, description, locale, url, state,
                    is_minimized, catch_up_on_resume, alternate_id_type,
                    subscriptions, event_types, secret_sealed,
                    validation_code, validated_at, paused_reason, paused_at,
                    resumed_at, created_by, updated_by)
            VALUES (s.account_id, s.name, s.description, s.locale, s.url,
                    s.state, s.is_minimized, s.catch_up_on_resume,
                    s.alternate_id_type, s.subscriptions, s.event_types,
                    p_secret_sealed, s.validation_code, NULL, NULL,
                    s.paused_at, NULL, p_user_id, p_user_id)
            RETURNING w.* INTO s;
            outcome := 'created';
        ELSE
            UPDATE prefs_webhook_subscription w
               SET name = s.name, description = s.description,
                   locale = s.locale, url = s.url, state = s.state,
                   is_minimized = s.is_minimized,
                   catch_up_on_resume = s.catch_up_on_resume,
                   alternate_id_type = s.alternate_id_type,
                   subscriptions = s.subscriptions,
                   event_types = s.event_types,
                   validation_code = s.validation_code,
                   validated_at = s.validated_at,
                   paused_reason = s.paused_reason,
                   paused_at = s.paused_at, resumed_at = s.resumed_at,
                   updated_at = s.updated_at, updated_by = s.updated_by
             WHERE w.subscription_id = cur.subscription_id
            RETURNING w.* INTO s;
            DELETE FROM prefs_webhook_subscription_event e
             WHERE e.subscription_id = s.subscription_id;
            outcome := 'updated';
        END IF;

        INSERT INTO prefs_webhook_subscription_event
               (account_id, url, event_type, subscription_id)
        SELECT p_account_id, s.url, t, s.subscription_id
          FROM unnest(s.event_types) t;

    EXCEPTION
        WHEN SQLSTATE 'PF001' THEN
            outcome := 'invalid';
            message := SQLERRM;
            subscription_id := p_subscription_id;
            RETURN;
        WHEN unique_violation THEN
            -- a concurrent write took the Url and event first
            outcome := 'conflict';
            message := 'Another subscription already sends one of these '
                       'events to this Url';
            subscription_id := p_subscription_id;
            RETURN;
    END;

    PERFORM pg_notify('prefs_webhook_subscription', s.subscription_id::text);
    subscription_id := s.subscription_id;
    body := prefs_webhook_subscription_json(s);
END
$$;


CREATE OR REPLACE FUNCTION prefs_webhook_subscription_delete(
    p_account_id bigint, p_subscription_id bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    DELETE FROM prefs_webhook_subscription w
     WHERE w.account_id = p_account_id
       AND w.subscription_id = p_subscription_id
    RETURNING w.subscription_id INTO id;
    IF id IS NOT NULL THEN
        PERFORM pg_notify('prefs_webhook_subscription', id::text);
    END IF;
    RETURN id;
END
$$;


-- A new signing secret; the one it replaces stays valid for 24 hours (a
-- second rotation within them drops the oldest).
CREATE OR REPLACE FUNCTION prefs_webhook_secret_rotate(p_account_id bigint,
    p_user_id bigint, p_subscription_id bigint, p_secret_sealed text,
    OUT subscription_id bigint, OUT previous_until text)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE prefs_webhook_subscription w
       SET secret_previous = w.secret_sealed,
           secret_previous_until = now() + interval '24 hours',
           secret_sealed = p_secret_sealed,
           updated_at = now(), updated_by = p_user_id
     WHERE w.account_id = p_account_id
       AND w.subscription_id = p_subscription_id
    RETURNING w.subscription_id, prefs_iso(w.secret_previous_until)
         INTO subscription_id, previous_until;
    IF subscription_id IS NOT NULL THEN
        PERFORM pg_notify('prefs_webhook_subscription',
                          subscription_id::text);
    END IF;
END
$$;


CREATE OR REPLACE FUNCTION prefs_webhook_settings_json(p_account_id bigint)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'Settings', json_build_object(
            'MaxConcurrentRequests', coalesce(s.max_concurrent_requests, 500),
            'Duration', coalesce(s.duration, 1)),
        'Edited', CASE WHEN s.account_id IS NULL THEN '{}'::json
                  ELSE json_build_object(
                      'EditedDate', prefs_iso(s.updated_at),
                      'EditedBy', (SELECT u.user_name FROM prefs_user u
                                    WHERE u.user_id = s.updated_by)) END)
      FROM (SELECT 1) one
      LEFT JOIN prefs_webhook_settings s ON s.account_id = p_account_id
$$;


-- NULL keeps a setting as it is (or its default).
CREATE OR REPLACE FUNCTION prefs_webhook_settings_put(p_account_id bigint,
    p_user_id bigint, p_max_concurrent integer, p_duration integer)
RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO prefs_webhook_settings AS s
           (account_id, max_concurrent_requests, duration, updated_at,
            updated_by)
    VALUES (p_account_id, coalesce(p_max_concurrent, 500),
            coalesce(p_duration, 1), now(), p_user_id)
    ON CONFLICT (account_id) DO UPDATE
       SET max_concurrent_requests = coalesce(p_max_concurrent,
                                              s.max_concurrent_requests),
           duration = coalesce(p_duration, s.duration),
           updated_at = now(), updated_by = p_user_id;
    RETURN prefs_webhook_settings_json(p_account_id);
END
$$;


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
-- Fair across accounts and subscriptions, so that one tenant's slow,
-- failing or hanging endpoints never hold back another tenant's delivery:
--
--   - an account holds at most three quarters of this helper's slots
--     (p_limit free now plus those p_owner holds, i.e.
--     prefs_webhook_in_flight; at least 1), so a quarter is always left
--     for the other accounts;
--   - a subscription has at most p_per_sub deliveries in flight (counted
--     over every helper);
--   - the free slots are shared out level by level (max-min): each goes to
--     the account that would then hold the fewest of this helper's slots,
--     and within it to the subscription that would then have the fewest
--     deliveries in flight; ties go to the delivery that has waited
--     longest (so no account or subscription is passed over for good),
--     and a subscription's deliveries go oldest first;
--   - an account starts at most MaxConcurrentRequests requests per
--     Duration seconds (prefs_webhook_settings; 500 per second by default).
--
-- Rows: delivery, attempt (its lease token), url, webhook-id,
-- webhook-timestamp, body, the sealed secret and the previous one while a
-- rotation lasts, and in every row (also in a lone row with a null
-- delivery when nothing is due) the milliseconds until the next pending
-- delivery falls due that a claim could take (null: none; one held back
-- by a full subscription or account waits for a slot to free, and an
-- outcome reported claims again anyway).
CREATE OR REPLACE FUNCTION prefs_webhook_claim(p_owner text,
    p_lease interval, p_limit integer, p_per_sub integer,
    p_window interval DEFAULT '15 days')
RETURNS TABLE (delivery_id bigint, attempt integer, url text,
               msg_id text, msg_ts bigint, body text, secret text,
               secret_previous text, next_due_ms bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids    bigint[];
    due    bigint;
    share  bigint;
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

    -- the most one account may hold of this helper's slots
    SELECT greatest(1, (p_limit + count(*)) * 3 / 4)
      INTO share
      FROM prefs_webhook_delivery f
     WHERE f.state = 'sending' AND f.lease_owner = p_owner;

    WITH inflight AS (
        -- deliveries on the wire, and how many of them are this helper's
        SELECT f.subscription_id, f.account_id, count(*) AS busy,
               count(*) FILTER (WHERE f.lease_owner = p_owner) AS mine
          FROM prefs_webhook_delivery f
         WHERE f.state = 'sending'
         GROUP BY f.subscription_id, f.account_id),
    subs AS (
        SELECT s.subscription_id, s.account_id,
               s.state = 'Active' AND s.validated_at IS NOT NULL AS open,
               coalesce(i.busy, 0) AS busy
          FROM prefs_webhook_subscription s
          LEFT JOIN inflight i USING (subscription_id)
         WHERE EXISTS (SELECT 1 FROM prefs_webhook_delivery p
                        WHERE p.subscription_id = s.subscription_id
                          AND p.state = 'pending'
                          AND p.next_attempt_at <= now())),
    cand AS (
        -- each subscription's oldest due deliveries, up to its room; level:
        -- its deliveries in flight once this one is claimed too
        SELECT c.delivery_id, c.account_id, c.subscription_id, c.waited,
               subs.busy + c.rn AS level
          FROM subs,
               LATERAL (
                   SELECT d.delivery_id, d.account_id, d.subscription_id,
                          d.next_attempt_at AS waited,
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
    accounts AS (
        -- what each account may still take: its share of this helper's
        -- slots and its request rate, whichever is less
        SELECT a.account_id, coalesce(h.mine, 0) AS mine,
               least(share - coalesce(h.mine, 0),
                     coalesce(st.max_concurrent_requests, 500)
                     - CASE WHEN r.window_start > now()
                                 - make_interval(secs =>
                                                 coalesce(st.duration, 1))
                            THEN r.started ELSE 0 END) AS room
          FROM (SELECT DISTINCT account_id FROM cand) a
          LEFT JOIN (SELECT i.account_id, sum(i.mine) AS mine
                       FROM inflight i GROUP BY i.account_id) h
                 USING (account_id)
          LEFT JOIN prefs_webhook_settings st USING (account_id)
          LEFT JOIN prefs_webhook_rate r USING (account_id)),
    ranked AS (
        -- within an account, round-robin over its subscriptions by level;
        -- across accounts, by the account's slots held once this is claimed
        SELECT cand.delivery_id, cand.waited, accounts.mine, accounts.room,
               row_number() OVER (PARTITION BY cand.account_id
                                  ORDER BY cand.level, cand.waited,
                                           cand.subscription_id,
                                           cand.delivery_id) AS arn
          FROM cand JOIN accounts USING (account_id))
    SELECT array_agg(t.delivery_id ORDER BY t.mine + t.arn, t.waited,
                     t.delivery_id)
      INTO ids
      FROM (SELECT * FROM ranked
             WHERE ranked.arn <= ranked.room
             ORDER BY ranked.mine + ranked.arn, ranked.waited,
                      ranked.delivery_id
             LIMIT p_limit) t;

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

    -- each subscription's next, through the per-subscription index, but
    -- for subscriptions and accounts that are full now
    WITH inflight AS (
        SELECT f.subscription_id, f.account_id,
               f.lease_owner = p_owner AS mine
          FROM prefs_webhook_delivery f
         WHERE f.state = 'sending')
    -- (null when nothing is pending: greatest() would make it 0, and an
    -- idle helper claim as fast as it may)
    SELECT CASE WHEN min(n.at) IS NOT NULL
                THEN greatest(0, ceil(extract(epoch FROM min(n.at) - now())
                                      * 1000))::bigint END
      INTO due
      FROM prefs_webhook_subscription s,
           LATERAL (SELECT p.next_attempt_at AS at
                      FROM prefs_webhook_delivery p
                     WHERE p.subscription_id = s.subscription_id
                       AND p.state = 'pending'
                       -- what the claim above could take: a paused or
                       -- unvalidated subscription's events are not due
                       AND (s.state = 'Active' AND s.validated_at IS NOT NULL
                            OR p.kind = 'validation')
                     ORDER BY p.next_attempt_at
                     LIMIT 1) n
     WHERE s.subscription_id NOT IN (SELECT i.subscription_id
                                       FROM inflight i
                                      GROUP BY i.subscription_id
                                     HAVING count(*) >= p_per_sub)
       AND s.account_id NOT IN (SELECT i.account_id
                                  FROM inflight i
                                 WHERE i.mine
                                 GROUP BY i.account_id
                                HAVING count(*) >= share);

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
