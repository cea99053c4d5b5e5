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
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

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
