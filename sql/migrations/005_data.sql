-- 005: the Data API: profiles, their contact points, alternate ids, custom
-- fields, groups, tags, preferences and consents, and the event outbox.
--
-- The C side calls only the prefs_profile_* functions below (bodies as
-- jsonb, the v4 spelling).  A body is validated against the account's
-- active configuration (prefs_config_item) while it is applied, inside a
-- subtransaction: an invalid body or a conflict rolls back every row and
-- every event it had written.  Invalid input raises SQLSTATE PF001 with a
-- message naming the field path (the helpers of 003: prefs_cfg_fail and
-- friends), a conflict PF002; the API functions turn them into the
-- outcomes 'invalid' and 'conflict'.
--
-- Every change appends its events to prefs_event in the same transaction.
-- Event types and their Data / PreviousData (jsonb objects):
--
--   profile.created        Data: the whole profile (as prefs_profile_get)
--   profile.updated        Data: the whole profile after the update,
--                          PreviousData: the whole profile before it; only
--                          when the update changed something
--   profile.deactivated    Data: {ProfileId, ReasonCode}
--   profile.reactivated    Data: {ProfileId}
--   profile.deleted        Data: {ProfileId} (no personal data); the Data
--                          and PreviousData of the profile's earlier events
--                          are replaced by {"Erased": true} / NULL
--   contacts.email.added   Data: {EmailId, Address, Type, IsDefault}
--   contacts.email.updated Data / PreviousData: the same, after / before
--   contacts.phone.added / .updated
--                          {PhoneId, Number, Type, IsMobile, IsDefault}
--   contacts.address.added / .updated
--                          {AddressId, Line1, Line2, City, State,
--                           PostalCode, Country, Type, IsDefault}
--   contacts.alternateid.added    Data: {Type, Value}
--   contacts.alternateid.updated  Data / PreviousData: {Type, Value}
--                          (one alternate id per type and profile)
--   contacts.customertype.updated {CustomerType}
--   standardfield.{prefix,firstname,middlename,lastname,suffix}.added /
--     .updated / .deleted  {Prefix} ... {Suffix} (deleted: the new value
--                          is ""); updated also PreviousData
--   standardfield.defaultlocale.updated       {DefaultLocale}
--   standardfield.registrationstatus.updated  {RegistrationConfirmed}
--   preference.added       Data: the preference (as in ProfilePreferences)
--   preference.updated     Data / PreviousData: after / before
--   consent.added          Data: the consent (first of its type)
--   consent.updated        Data: the new consent, PreviousData: the
--                          type's current one before it
--   customfield.added      {Name, Value}
--   customfield.updated    {Name, Value}, PreviousData {Name, Value}
--   customfield.deleted    Data {Name}, PreviousData {Name, Value}
--                          (UpdateProfile with "Value": null)
--   group.added            {Type, Name}
--   tag.added              {Tag}
-- On create, standard fields, customer type, locale and registration
-- status are part of profile.created and have no events of their own.
-- RecordedBy is the user id of the caller.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

-- --------------------------------------------------------------------------
-- Tables

CREATE TABLE IF NOT EXISTS prefs_profile (
    profile_id              bigserial   PRIMARY KEY,
    account_id              bigint      NOT NULL REFERENCES prefs_account
                                        ON DELETE CASCADE,
    prefix                  text        NOT NULL DEFAULT '',
    first_name              text        NOT NULL DEFAULT '',
    middle_name             text        NOT NULL DEFAULT '',
    last_name               text        NOT NULL DEFAULT '',
    suffix                  text        NOT NULL DEFAULT '',
    default_locale          text,
    customer_type           text,
    registration_confirmed  boolean     NOT NULL DEFAULT false,
    is_active               boolean     NOT NULL DEFAULT true,
    reason_code             text,
    erased_at               timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    edited_by               bigint,
    edited_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS prefs_profile_account
    ON prefs_profile (account_id, profile_id);

CREATE TABLE IF NOT EXISTS prefs_profile_email (
    email_id    bigserial   PRIMARY KEY,
    account_id  bigint      NOT NULL,
    profile_id  bigint      NOT NULL REFERENCES prefs_profile
                            ON DELETE CASCADE,
    address     text        NOT NULL,
    type        text,
    is_default  boolean     NOT NULL DEFAULT false,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS prefs_profile_email_profile
    ON prefs_profile_email (profile_id);
CREATE INDEX IF NOT EXISTS prefs_profile_email_find
    ON prefs_profile_email (account_id, lower(address)) WHERE is_active;

CREATE TABLE IF NOT EXISTS prefs_profile_phone (
    phone_id    bigserial   PRIMARY KEY,
    account_id  bigint      NOT NULL,
    profile_id  bigint      NOT NULL REFERENCES prefs_profile
                            ON DELETE CASCADE,
    number      text        NOT NULL,   -- normalized: digits, leading "+"
    type        text,
    is_mobile   boolean     NOT NULL DEFAULT false,
    is_default  boolean     NOT NULL DEFAULT false,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS prefs_profile_phone_profile
    ON prefs_profile_phone (profile_id);
CREATE INDEX IF NOT EXISTS prefs_profile_phone_find
    ON prefs_profile_phone (account_id, number) WHERE is_active;

CREATE TABLE IF NOT EXISTS prefs_profile_address (
    address_id   bigserial   PRIMARY KEY,
    account_id   bigint      NOT NULL,
    profile_id   bigint      NOT NULL REFERENCES prefs_profile
                             ON DELETE CASCADE,
    line1        text        NOT NULL,
    line2        text        NOT NULL DEFAULT '',
    city         text        NOT NULL DEFAULT '',
    state        text        NOT NULL DEFAULT '',
    postal_code  text        NOT NULL DEFAULT '',
    country      text        NOT NULL DEFAULT '',
    type         text,
    is_default   boolean     NOT NULL DEFAULT false,
    is_active    boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS prefs_profile_address_profile
    ON prefs_profile_address (profile_id);
CREATE INDEX IF NOT EXISTS prefs_profile_address_find
    ON prefs_profile_address (account_id, lower(line1), postal_code)
    WHERE is_active;
CREATE INDEX IF NOT EXISTS prefs_profile_address_find_postal
    ON prefs_profile_address (account_id, lower(postal_code)) WHERE is_active;

CREATE TABLE IF NOT EXISTS prefs_profile_alternate_id (
    alternate_id_id  bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL,
    profile_id       bigint      NOT NULL REFERENCES prefs_profile
                                 ON DELETE CASCADE,
    type             text        NOT NULL,
    value            text        NOT NULL,
    is_active        boolean     NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS prefs_profile_alternate_id_unique
    ON prefs_profile_alternate_id (account_id, type, value) WHERE is_active;
CREATE INDEX IF NOT EXISTS prefs_profile_alternate_id_profile
    ON prefs_profile_alternate_id (profile_id);

CREATE TABLE IF NOT EXISTS prefs_profile_custom_field (
    account_id  bigint      NOT NULL,
    profile_id  bigint      NOT NULL REFERENCES prefs_profile
                            ON DELETE CASCADE,
    name        text        NOT NULL,
    value       text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, name)
);
CREATE INDEX IF NOT EXISTS prefs_profile_custom_field_find
    ON prefs_profile_custom_field (account_id, name, value);

CREATE TABLE IF NOT EXISTS prefs_profile_group (
    account_id  bigint      NOT NULL,
    profile_id  bigint      NOT NULL REFERENCES prefs_profile
                            ON DELETE CASCADE,
    group_type  text        NOT NULL,
    group_name  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, group_type, group_name)
);
CREATE INDEX IF NOT EXISTS prefs_profile_group_find
    ON prefs_profile_group (account_id, group_type, group_name);

CREATE TABLE IF NOT EXISTS prefs_profile_tag (
    account_id  bigint      NOT NULL,
    profile_id  bigint      NOT NULL REFERENCES prefs_profile
                            ON DELETE CASCADE,
    tag         text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, tag)
);

CREATE TABLE IF NOT EXISTS prefs_preference (
    preference_id    bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL,
    profile_id       bigint      NOT NULL REFERENCES prefs_profile
                                 ON DELETE CASCADE,
    filter_id        text        NOT NULL,
    channel_id       text        NOT NULL,
    email_id         bigint      REFERENCES prefs_profile_email
                                 ON DELETE SET NULL,
    phone_id         bigint      REFERENCES prefs_profile_phone
                                 ON DELETE SET NULL,
    address_id       bigint      REFERENCES prefs_profile_address
                                 ON DELETE SET NULL,
    -- the upsert key besides the filter: 'E<email_id>', 'P<phone_id>',
    -- 'A<address_id>', '' for a profile-level preference
    contact_key      text        NOT NULL DEFAULT '',
    preference_type  smallint    NOT NULL CHECK (preference_type IN (1, 2)),
    frequency_id     text,
    attributes       jsonb       NOT NULL DEFAULT '[]',
    customer_date    timestamptz NOT NULL,
    expiration_date  timestamptz,
    is_archived      boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (profile_id, filter_id, contact_key)
);
CREATE INDEX IF NOT EXISTS prefs_preference_attributes
    ON prefs_preference USING gin (attributes jsonb_path_ops);
CREATE INDEX IF NOT EXISTS prefs_preference_account
    ON prefs_preference (account_id, filter_id);

CREATE TABLE IF NOT EXISTS prefs_consent (
    consent_id       bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL,
    profile_id       bigint      NOT NULL REFERENCES prefs_profile
                                 ON DELETE CASCADE,
    type_name        text        NOT NULL,
    version          text        NOT NULL,
    status           smallint    NOT NULL CHECK (status BETWEEN 1 AND 4),
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    recorded_by      bigint,
    customer_date    timestamptz NOT NULL,
    expiration_date  timestamptz
);
CREATE INDEX IF NOT EXISTS prefs_consent_profile
    ON prefs_consent (profile_id, type_name, consent_id);


-- The outbox, partitioned by day (UTC) on recorded_date.  The DEFAULT
-- partition takes what no daily partition covers, so an insert never
-- fails for want of a partition; prefs_event_partitions moves such rows
-- into the daily partition when it creates it.
-- The daily partitions are made after the functions, by
-- sql/after_migrate.sql, and then by the helper process.
CREATE TABLE IF NOT EXISTS prefs_event (
    event_id       bigserial   NOT NULL,
    account_id     bigint      NOT NULL,
    event_type     text        NOT NULL,
    entity         text        NOT NULL,
    subject        text,
    profile_id     bigint,
    data           jsonb,
    previous_data  jsonb,
    recorded_by    bigint,
    event_date     timestamptz NOT NULL DEFAULT now(),
    recorded_date  timestamptz NOT NULL DEFAULT now(),
    queued_date    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recorded_date)
) PARTITION BY RANGE (recorded_date);

CREATE TABLE IF NOT EXISTS prefs_event_default PARTITION OF prefs_event
    DEFAULT;
CREATE INDEX IF NOT EXISTS prefs_event_account
    ON prefs_event (account_id, event_id);
CREATE INDEX IF NOT EXISTS prefs_event_profile
    ON prefs_event (account_id, profile_id, event_id);
CREATE INDEX IF NOT EXISTS prefs_event_type
    ON prefs_event (account_id, event_type, recorded_date);
