-- 008: webhook subscriptions and settings (the tables), and which events
-- a subscription selects.  The Webhooks API (writes), the Events API
-- (Events/Subscription/{id}, subscribedOnly) and the delivery pipeline
-- (fan-out) all read these.
--
-- A subscription's "Subscriptions" array is kept as given (normalized by
-- the API): [{"Entity": ..., "EventType": ..., "Filters": [...],
-- "ConsentTypes": [...], "ContactTypes": [...], "Groups": [...],
-- "CustomFields": [...]}, ...]; event_types is derived from it for
-- indexing and for the one-Url-one-event rule.

CREATE TABLE IF NOT EXISTS prefs_webhook_subscription (
    subscription_id     bigserial   PRIMARY KEY,
    account_id          bigint      NOT NULL REFERENCES prefs_account,
    name                text        NOT NULL,
    description         text,
    locale              text        NOT NULL DEFAULT 'en-US',
    url                 text        NOT NULL,
    -- what the user asked: Active | Paused; IsActive=false deletes
    state               text        NOT NULL DEFAULT 'Paused'
                        CHECK (state IN ('Active', 'Paused')),
    is_minimized        boolean     NOT NULL DEFAULT false,
    catch_up_on_resume  boolean     NOT NULL DEFAULT false,
    alternate_id_type   text,
    subscriptions       jsonb       NOT NULL DEFAULT '[]',
    event_types         text[]      NOT NULL DEFAULT '{}',
    -- signing secrets, sealed with prefs_secret_key (prefs_secret_seal);
    -- the previous one stays valid (both signatures sent) until
    -- secret_previous_until
    secret_sealed       text        NOT NULL,
    secret_previous     text,
    secret_previous_until timestamptz,
    -- the activation handshake: deliveries wait until validated_at
    validation_code     text,
    validated_at        timestamptz,
    -- set by the delivery side: why it stopped (e.g. 'Gone' on a 410),
    -- and when a pause or resume happened (CatchUpOnResume)
    paused_reason       text,
    paused_at           timestamptz,
    resumed_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          bigint,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          bigint
);

CREATE INDEX IF NOT EXISTS prefs_webhook_subscription_account
    ON prefs_webhook_subscription (account_id, subscription_id);

-- one Url, one event type, one subscription (409 otherwise)
CREATE TABLE IF NOT EXISTS prefs_webhook_subscription_event (
    account_id       bigint NOT NULL,
    url              text   NOT NULL,
    event_type       text   NOT NULL,
    subscription_id  bigint NOT NULL
                     REFERENCES prefs_webhook_subscription ON DELETE CASCADE,
    PRIMARY KEY (account_id, url, event_type)
);

CREATE TABLE IF NOT EXISTS prefs_webhook_settings (
    account_id               bigint      PRIMARY KEY REFERENCES prefs_account,
    max_concurrent_requests  integer     NOT NULL DEFAULT 500
                             CHECK (max_concurrent_requests BETWEEN 50 AND 5000),
    duration                 integer     NOT NULL DEFAULT 1
                             CHECK (duration BETWEEN 1 AND 300),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    updated_by               bigint
);


-- The reference's misspelled type is an alias of the right one.
CREATE OR REPLACE FUNCTION prefs_event_type_canonical(p_type text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_type
        WHEN 'consent.elementassocation.deactivated'
            THEN 'consent.elementassociation.deactivated'
        ELSE p_type END
$$;


-- Does a subscription's "Subscriptions" array select an event of this
-- type and data?  An entry matches when its EventType is the event's and
-- its qualifier list (by entity) is absent, holds the entity's wildcard,
-- or holds the event's qualifier value (compared without case).
CREATE OR REPLACE FUNCTION prefs_event_matches(p_subs jsonb, p_type text,
    p_data jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (
        SELECT 1
          FROM jsonb_array_elements(CASE jsonb_typeof(p_subs)
                   WHEN 'array' THEN p_subs ELSE '[]' END) s,
               LATERAL (SELECT CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN 'Filters'
                   WHEN 'consent' THEN 'ConsentTypes'
                   WHEN 'contacts' THEN 'ContactTypes'
                   WHEN 'group' THEN 'Groups'
                   WHEN 'customfield' THEN 'CustomFields'
                   END AS key,
                   CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN 'AllFilters'
                   WHEN 'consent' THEN 'AllConsents'
                   WHEN 'contacts' THEN 'AllContactTypes'
                   WHEN 'group' THEN 'AllGroups'
                   WHEN 'customfield' THEN 'AllCustomFields'
                   END AS wildcard,
                   CASE split_part(p_type, '.', 1)
                   WHEN 'preference' THEN p_data->>'FilterId'
                   WHEN 'consent' THEN p_data->>'TypeName'
                   WHEN 'contacts' THEN p_data->>'Type'
                   WHEN 'group' THEN coalesce(p_data->>'Type',
                                              p_data->>'Name')
                   WHEN 'customfield' THEN p_data->>'Name'
                   END AS value) q
         WHERE jsonb_typeof(s) = 'object'
           AND prefs_event_type_canonical(s->>'EventType')
               = prefs_event_type_canonical(p_type)
           AND (q.key IS NULL
                OR jsonb_typeof(s->q.key) IS DISTINCT FROM 'array'
                OR jsonb_array_length(s->q.key) = 0
                OR EXISTS (SELECT 1
                             FROM jsonb_array_elements_text(s->q.key) v
                            WHERE lower(v) = lower(q.wildcard)
                               OR lower(v) = lower(q.value)))
    )
$$;
