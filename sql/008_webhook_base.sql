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


-- --------------------------------------------------------------------------
-- The event envelope, as the Events API answers it and webhooks deliver
-- it.  Name and Description are static text per type and locale; a locale
-- without its own text falls back to its language, then to en-US.

CREATE TABLE IF NOT EXISTS prefs_event_type_text (
    event_type   text NOT NULL,
    locale       text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL,
    PRIMARY KEY (event_type, locale)
);

INSERT INTO prefs_event_type_text (event_type, locale, name, description)
VALUES
 ('profile.created', 'en-US', 'Profile Created', 'A profile was created.'),
 ('profile.updated', 'en-US', 'Profile Updated', 'A profile was updated.'),
 ('profile.replaced', 'en-US', 'Profile Replaced', 'A profile was replaced as a whole.'),
 ('profile.deactivated', 'en-US', 'Profile Deactivated', 'A profile was deactivated.'),
 ('profile.reactivated', 'en-US', 'Profile Reactivated', 'A deactivated profile was activated again.'),
 ('profile.deleted', 'en-US', 'Profile Deleted', 'A profile''s personal data was erased.'),
 ('preference.added', 'en-US', 'Preference Added', 'A preference was added to a profile.'),
 ('preference.updated', 'en-US', 'Preference Updated', 'A preference of a profile was updated.'),
 ('preference.archived', 'en-US', 'Preference Archived', 'A preference of a profile was archived.'),
 ('consent.added', 'en-US', 'Consent Added', 'A consent was recorded for a profile.'),
 ('consent.updated', 'en-US', 'Consent Updated', 'A consent of a profile changed.'),
 ('consent.deactivated', 'en-US', 'Consent Deactivated', 'A consent of a profile was deactivated.'),
 ('consent.elementassociation.created', 'en-US', 'Consent Element Association Created', 'A consent was associated with a contact point.'),
 ('consent.elementassociation.updated', 'en-US', 'Consent Element Association Updated', 'A consent''s association with a contact point changed.'),
 ('consent.elementassociation.deactivated', 'en-US', 'Consent Element Association Deactivated', 'A consent''s association with a contact point ended.'),
 ('consent.filterassociation.created', 'en-US', 'Consent Filter Association Created', 'A consent was associated with a preference filter.'),
 ('consent.filterassociation.updated', 'en-US', 'Consent Filter Association Updated', 'A consent''s association with a preference filter changed.'),
 ('consent.filterassociation.deactivated', 'en-US', 'Consent Filter Association Deactivated', 'A consent''s association with a preference filter ended.'),
 ('contacts.email.added', 'en-US', 'Email Added', 'An email address was added to a profile.'),
 ('contacts.email.updated', 'en-US', 'Email Updated', 'An email address of a profile was updated.'),
 ('contacts.email.deactivated', 'en-US', 'Email Deactivated', 'An email address of a profile was removed.'),
 ('contacts.phone.added', 'en-US', 'Phone Added', 'A phone number was added to a profile.'),
 ('contacts.phone.updated', 'en-US', 'Phone Updated', 'A phone number of a profile was updated.'),
 ('contacts.phone.deactivated', 'en-US', 'Phone Deactivated', 'A phone number of a profile was removed.'),
 ('contacts.address.added', 'en-US', 'Address Added', 'A postal address was added to a profile.'),
 ('contacts.address.updated', 'en-US', 'Address Updated', 'A postal address of a profile was updated.'),
 ('contacts.address.deactivated', 'en-US', 'Address Deactivated', 'A postal address of a profile was removed.'),
 ('contacts.alternateid.added', 'en-US', 'Alternate Id Added', 'An alternate id was added to a profile.'),
 ('contacts.alternateid.updated', 'en-US', 'Alternate Id Updated', 'An alternate id of a profile was updated.'),
 ('contacts.alternateid.deactivated', 'en-US', 'Alternate Id Deactivated', 'An alternate id of a profile was removed.'),
 ('contacts.customertype.updated', 'en-US', 'Customer Type Updated', 'The customer type of a profile changed.'),
 ('standardfield.prefix.added', 'en-US', 'Prefix Added', 'A name prefix was added to a profile.'),
 ('standardfield.prefix.updated', 'en-US', 'Prefix Updated', 'The name prefix of a profile was updated.'),
 ('standardfield.prefix.deleted', 'en-US', 'Prefix Deleted', 'The name prefix of a profile was deleted.'),
 ('standardfield.firstname.added', 'en-US', 'First Name Added', 'A first name was added to a profile.'),
 ('standardfield.firstname.updated', 'en-US', 'First Name Updated', 'The first name of a profile was updated.'),
 ('standardfield.firstname.deleted', 'en-US', 'First Name Deleted', 'The first name of a profile was deleted.'),
 ('standardfield.middlename.added', 'en-US', 'Middle Name Added', 'A middle name was added to a profile.'),
 ('standardfield.middlename.updated', 'en-US', 'Middle Name Updated', 'The middle name of a profile was updated.'),
 ('standardfield.middlename.deleted', 'en-US', 'Middle Name Deleted', 'The middle name of a profile was deleted.'),
 ('standardfield.lastname.added', 'en-US', 'Last Name Added', 'A last name was added to a profile.'),
 ('standardfield.lastname.updated', 'en-US', 'Last Name Updated', 'The last name of a profile was updated.'),
 ('standardfield.lastname.deleted', 'en-US', 'Last Name Deleted', 'The last name of a profile was deleted.'),
 ('standardfield.suffix.added', 'en-US', 'Suffix Added', 'A name suffix was added to a profile.'),
 ('standardfield.suffix.updated', 'en-US', 'Suffix Updated', 'The name suffix of a profile was updated.'),
 ('standardfield.suffix.deleted', 'en-US', 'Suffix Deleted', 'The name suffix of a profile was deleted.'),
 ('standardfield.defaultlocale.updated', 'en-US', 'Default Locale Updated', 'The default locale of a profile changed.'),
 ('standardfield.registrationstatus.updated', 'en-US', 'Registration Status Updated', 'The registration status of a profile changed.'),
 ('customfield.added', 'en-US', 'Custom Field Added', 'A custom field value was added to a profile.'),
 ('customfield.updated', 'en-US', 'Custom Field Updated', 'A custom field value of a profile was updated.'),
 ('customfield.deleted', 'en-US', 'Custom Field Deleted', 'A custom field value of a profile was deleted.'),
 ('group.added', 'en-US', 'Group Added', 'A profile was added to a group.'),
 ('group.removed', 'en-US', 'Group Removed', 'A profile was removed from a group.'),
 ('tag.added', 'en-US', 'Tag Added', 'A tag was added to a profile.'),
 ('tag.removed', 'en-US', 'Tag Removed', 'A tag was removed from a profile.'),
 ('webhook.validation', 'en-US', 'Webhook Validation', 'Confirms that the endpoint accepts this subscription''s events.')
ON CONFLICT (event_type, locale) DO UPDATE
    SET name = EXCLUDED.name, description = EXCLUDED.description;


-- (name, description) of a type in a locale: the locale, its language,
-- en-US, or the type itself.
CREATE OR REPLACE FUNCTION prefs_event_type_name(p_type text, p_locale text,
    OUT name text, OUT description text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(t.name, p_type), coalesce(t.description, '')
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (
          SELECT x.name, x.description
            FROM prefs_event_type_text x
           WHERE x.event_type = prefs_event_type_canonical(p_type)
             AND (lower(x.locale) = lower(replace(p_locale, '_', '-'))
                  OR lower(split_part(x.locale, '-', 1))
                     = lower(split_part(replace(p_locale, '_', '-'), '-', 1))
                  OR x.locale = 'en-US')
           ORDER BY lower(x.locale) = lower(replace(p_locale, '_', '-')) DESC,
                    lower(split_part(x.locale, '-', 1))
                    = lower(split_part(replace(p_locale, '_', '-'), '-', 1))
                    DESC
           LIMIT 1) t ON true
$$;


-- The envelope of contract section 7.  With p_alternate_id_type the
-- ProfileId is the profile's active alternate id of that type (null when
-- it has none); minimized leaves out Data and PreviousData; a subscription
-- id is set on deliveries only.
CREATE OR REPLACE FUNCTION prefs_event_envelope(e prefs_event,
    p_locale text DEFAULT 'en-US', p_subscription_id bigint DEFAULT NULL,
    p_alternate_id_type text DEFAULT NULL, p_minimized boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'EventId', e.event_id::text,
               'EventType', e.event_type,
               'Entity', e.entity,
               'Subject', e.subject,
               'SubscriptionId', p_subscription_id,
               'Name', n.name,
               'Description', n.description,
               'EventDate', prefs_iso(e.event_date),
               'QueuedDate', prefs_iso(e.queued_date),
               'RecordedDate', prefs_iso(e.recorded_date),
               'RecordedBy', (SELECT u.user_name FROM prefs_user u
                               WHERE u.user_id = e.recorded_by)))
           || jsonb_build_object('ProfileId',
                  CASE WHEN p_alternate_id_type IS NULL THEN to_jsonb(e.profile_id)
                       ELSE to_jsonb((SELECT a.value
                                        FROM prefs_profile_alternate_id a
                                       WHERE a.account_id = e.account_id
                                         AND a.profile_id = e.profile_id
                                         AND a.type = p_alternate_id_type
                                         AND a.is_active
                                       ORDER BY a.alternate_id_id DESC
                                       LIMIT 1)) END)
           || CASE WHEN p_alternate_id_type IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('AlternateIdType', p_alternate_id_type) END
           || CASE WHEN p_minimized THEN '{}'::jsonb
                   ELSE jsonb_build_object('Data', e.data)
                        || CASE WHEN e.previous_data IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('PreviousData',
                                                        e.previous_data) END
              END
      FROM prefs_event_type_name(e.event_type, p_locale) n
$$;
