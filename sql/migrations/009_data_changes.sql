-- 009: changes to a profile's data beyond adding and updating:
--
--   removing parts      an item with "IsActive": false removes an email,
--                       phone number, address, alternate id, group, tag or
--                       custom field (UpdateProfile, the part routes, the
--                       DELETE part routes, JSON Patch); a preference item
--                       with "IsArchived": true archives it
--   PreserveConsents,   request flags (default true): whether the
--   PreservePreferences consents and preferences of a contact point that
--                       is removed or changes its value stay with it
--   consents            a Locale and a ContactPoint per record; the same
--                       version in another locale deactivates the record
--                       it replaces; revoking archives the preferences
--                       that require the consent
--   associations        prefs_consent_assoc: a consent required by a
--                       filter linked to the preferences of that filter
--                       (kind 'F'), a consent given for a contact point
--                       linked to it (kind 'E'), each with its events
--   JSON Patch          prefs_profile_patch: RFC 6902 (add, replace,
--                       remove, test) on the profile as GET renders it,
--                       the result replacing the profile
--
-- prefs_data_apply (005) is kept as it is and wrapped: prefs_data_apply_ex
-- takes out what 005 does not know (removals, flags, consents), lets 005
-- apply the rest, then records consents and brings the associations up to
-- date.  prefs_profile_create and prefs_profile_update call the wrapper.
-- Event types and payloads: docs/events.md.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).


-- --------------------------------------------------------------------------
-- Tables

ALTER TABLE prefs_consent
    ADD COLUMN IF NOT EXISTS locale text,
    ADD COLUMN IF NOT EXISTS contact_key text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS contact_point text,
    ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true;

-- A consent linked to what it governs.  kind 'F': the consent of type
-- type_name that a preference's filter requires (preference_id);
-- kind 'E': a consent given for a contact point (contact_key 'E<id>',
-- 'P<id>', 'A<id>').  consent_id is the consent record linked now, status
-- the association's own status (a Granted consent is Revoked for a
-- preference the customer opted out of).
CREATE TABLE IF NOT EXISTS prefs_consent_assoc (
    assoc_id       bigserial   PRIMARY KEY,
    account_id     bigint      NOT NULL,
    profile_id     bigint      NOT NULL REFERENCES prefs_profile
                               ON DELETE CASCADE,
    kind           char(1)     NOT NULL CHECK (kind IN ('F', 'E')),
    type_name      text        NOT NULL,
    preference_id  bigint      REFERENCES prefs_preference ON DELETE CASCADE,
    contact_key    text        NOT NULL DEFAULT '',
    consent_id     bigint      NOT NULL REFERENCES prefs_consent
                               ON DELETE CASCADE,
    status         smallint    NOT NULL,
    is_active      boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS prefs_consent_assoc_filter
    ON prefs_consent_assoc (preference_id, type_name) WHERE kind = 'F';
CREATE UNIQUE INDEX IF NOT EXISTS prefs_consent_assoc_element
    ON prefs_consent_assoc (profile_id, type_name, contact_key)
    WHERE kind = 'E';
CREATE INDEX IF NOT EXISTS prefs_consent_assoc_profile
    ON prefs_consent_assoc (profile_id, kind);
