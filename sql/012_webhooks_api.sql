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


-- --------------------------------------------------------------------------
-- What GET answers

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


-- --------------------------------------------------------------------------
-- Writes

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


-- --------------------------------------------------------------------------
-- Settings: the defaults until an account sets its own

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
