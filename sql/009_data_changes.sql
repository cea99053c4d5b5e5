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


-- Erasure (prefs_profile_erase, 005) clears what this migration adds of
-- personal data: the contact points of consents and the associations.
CREATE OR REPLACE FUNCTION prefs_data_erase_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE prefs_consent c SET contact_point = NULL, contact_key = ''
     WHERE c.profile_id = NEW.profile_id AND c.contact_point IS NOT NULL;
    DELETE FROM prefs_consent_assoc a WHERE a.profile_id = NEW.profile_id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS prefs_data_erase ON prefs_profile;
CREATE TRIGGER prefs_data_erase
    AFTER UPDATE OF erased_at ON prefs_profile
    FOR EACH ROW WHEN (NEW.erased_at IS NOT NULL AND OLD.erased_at IS NULL)
    EXECUTE FUNCTION prefs_data_erase_trigger();


-- --------------------------------------------------------------------------
-- JSON

CREATE OR REPLACE FUNCTION prefs_data_consent_json(c prefs_consent)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('TypeName', c.type_name, 'Version', c.version,
        'Status', prefs_data_status_name(c.status),
        'Locale', c.locale,
        'ContactPoint', CASE WHEN c.contact_key LIKE 'A%'
                             THEN to_json(c.contact_point::bigint)
                             ELSE to_json(c.contact_point) END,
        'IsActive', c.is_active,
        'RecordedDate', prefs_iso(c.recorded_at),
        'CustomerDate', prefs_iso(c.customer_date),
        'ExpirationDate', prefs_iso(c.expiration_date))
$$;

-- The contact point of a key as preferences show it: the email address,
-- the phone number, the AddressId; NULL for ''.
CREATE OR REPLACE FUNCTION prefs_data_contact_value(p_key text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE left(p_key, 1)
        WHEN 'E' THEN (SELECT to_jsonb(e.address) FROM prefs_profile_email e
                        WHERE e.email_id = substr(p_key, 2)::bigint)
        WHEN 'P' THEN (SELECT to_jsonb(p.number) FROM prefs_profile_phone p
                        WHERE p.phone_id = substr(p_key, 2)::bigint)
        WHEN 'A' THEN to_jsonb(substr(p_key, 2)::bigint)
        END
$$;

CREATE OR REPLACE FUNCTION prefs_data_contact_type(p_key text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE left(p_key, 1) WHEN 'E' THEN 'Email' WHEN 'P' THEN 'Phone'
                               WHEN 'A' THEN 'Address' END
$$;

-- An association's Data: the consent (type, version, locale), the
-- association's status, and what it links to.
CREATE OR REPLACE FUNCTION prefs_data_assoc_json(a prefs_consent_assoc)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('TypeName', a.type_name,
               'Version', c.version, 'Locale', c.locale,
               'Status', prefs_data_status_name(a.status))
           || CASE WHEN a.kind = 'F' THEN jsonb_build_object(
                  'FilterId', p.filter_id, 'ChannelId', p.channel_id,
                  'ContactPoint', prefs_data_contact_value(p.contact_key))
              ELSE jsonb_build_object(
                  'ContactType', prefs_data_contact_type(a.contact_key),
                  'ContactPoint', prefs_data_contact_value(a.contact_key))
              END
      FROM prefs_consent c
      LEFT JOIN prefs_preference p ON p.preference_id = a.preference_id
     WHERE c.consent_id = a.consent_id
$$;


-- --------------------------------------------------------------------------
-- What happens to a contact point's preferences and consents when it is
-- removed (p_removed) or changes its value: without PreservePreferences
-- its preferences are archived; without PreserveConsents its element
-- associations end, with it they follow the new value (.updated, the old
-- value in PreviousData).  Returns whether it recorded anything.

CREATE OR REPLACE FUNCTION prefs_data_contact_changed(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_key text, p_old_value jsonb,
    p_removed boolean, p_preserve_prefs boolean, p_preserve_consents boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    pf       prefs_preference%ROWTYPE;
    a        prefs_consent_assoc%ROWTYPE;
    changed  boolean := false;
BEGIN
    IF NOT p_preserve_prefs THEN
        FOR pf IN UPDATE prefs_preference x
                     SET is_archived = true, updated_at = now()
                   WHERE x.profile_id = p_profile_id AND x.contact_key = p_key
                     AND NOT x.is_archived
                  RETURNING *
        LOOP
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'preference.archived', p_profile_id,
                prefs_data_pref_json(pf)::jsonb);
        END LOOP;
    END IF;
    FOR a IN SELECT * FROM prefs_consent_assoc x
              WHERE x.profile_id = p_profile_id AND x.kind = 'E'
                AND x.contact_key = p_key AND x.is_active
              ORDER BY x.assoc_id
    LOOP
        IF NOT p_preserve_consents THEN
            changed := true;
            UPDATE prefs_consent_assoc x SET is_active = false,
                   updated_at = now()
             WHERE x.assoc_id = a.assoc_id;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'consent.elementassociation.deactivated', p_profile_id,
                prefs_data_assoc_json(a)
                || jsonb_build_object('ContactPoint', p_old_value));
        ELSIF NOT p_removed THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'consent.elementassociation.updated', p_profile_id,
                prefs_data_assoc_json(a),
                prefs_data_assoc_json(a)
                || jsonb_build_object('ContactPoint', p_old_value));
        END IF;
    END LOOP;
    RETURN changed;
END
$$;


-- --------------------------------------------------------------------------
-- Removals and value changes of the contact lists, before 005 applies the
-- rest.  Each returns the list left for 005 (removal items taken out) and
-- sets changed.

CREATE OR REPLACE FUNCTION prefs_data_flag(v jsonb, p_path text,
    p_create boolean)
RETURNS boolean   -- false: a removal item
LANGUAGE plpgsql AS $$
DECLARE
    f  boolean;
BEGIN
    IF jsonb_typeof(v) <> 'object' OR NOT v ? 'IsActive' THEN
        RETURN true;
    END IF;
    f := prefs_cfg_bool(v, p_path, 'IsActive', true)::text::boolean;
    IF NOT f AND p_create THEN
        PERFORM prefs_cfg_fail(p_path || '.IsActive',
            'must be true: a new profile has nothing to remove');
    END IF;
    RETURN f;
END
$$;

CREATE OR REPLACE FUNCTION prefs_data_remove_lists(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, b jsonb, p_create boolean,
    p_preserve_prefs boolean, p_preserve_consents boolean,
    INOUT rest jsonb, INOUT changed boolean, INOUT moved_addresses jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e       record;
    ep      text;
    lst     jsonb;
    v       jsonb;
    t       text;
    nv      text;
    id      bigint;
    em      prefs_profile_email%ROWTYPE;
    ph      prefs_profile_phone%ROWTYPE;
    ad      prefs_profile_address%ROWTYPE;
    pf      prefs_preference%ROWTYPE;
    old_js  jsonb;
    part    text;
BEGIN
    moved_addresses := '[]';

    -- AlternateIds: {"Type", "Value"?, "IsActive": false}
    IF jsonb_typeof(b -> 'AlternateIds') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'AlternateIds') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'AlternateIds[' || e.i || ']';
            IF prefs_data_flag(e.v, ep, p_create) THEN
                lst := lst || jsonb_build_array(CASE WHEN
                    jsonb_typeof(e.v) = 'object' THEN e.v - 'IsActive'
                    ELSE e.v END);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['Type', 'Value',
                                                    'IsActive']);
            t := prefs_cfg_text(e.v, ep, 'Type', true, 100) #>> '{}';
            nv := nullif(prefs_cfg_text(e.v, ep, 'Value', false, 100)
                         #>> '{}', '');
            FOR v IN UPDATE prefs_profile_alternate_id a
                        SET is_active = false, updated_at = now()
                      WHERE a.profile_id = p_profile_id AND a.type = t
                        AND a.is_active AND (nv IS NULL OR a.value = nv)
                     RETURNING jsonb_build_object('Type', a.type,
                                                  'Value', a.value)
            LOOP
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.alternateid.deactivated', p_profile_id, v);
            END LOOP;
        END LOOP;
        rest := jsonb_set(rest, '{AlternateIds}', lst);
    END IF;

    -- Emails: removal by EmailId or Address; an EmailId with another
    -- Address changes the address
    IF jsonb_typeof(b -> 'Emails') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Emails') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'Emails[' || e.i || ']';
            IF jsonb_typeof(e.v) <> 'object' THEN
                lst := lst || jsonb_build_array(e.v);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['EmailId', 'Address',
                'Type', 'IsDefault', 'IsActive']);
            id := (prefs_cfg_int(e.v, ep, 'EmailId', 1, 9223372036854775807,
                                 NULL, true)) #>> '{}';
            em := NULL;
            IF id IS NOT NULL THEN
                SELECT * INTO em FROM prefs_profile_email x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.email_id = id;
                IF em.email_id IS NULL THEN
                    PERFORM prefs_cfg_fail(ep || '.EmailId', format(
                        'is not an email of this profile (%s)', id));
                END IF;
            END IF;
            IF NOT prefs_data_flag(e.v, ep, p_create) THEN
                IF em.email_id IS NULL THEN
                    nv := prefs_cfg_text(e.v, ep, 'Address', true, 254)
                          #>> '{}';
                    SELECT * INTO em FROM prefs_profile_email x
                     WHERE x.profile_id = p_profile_id AND x.is_active
                       AND lower(x.address) = lower(nv);
                END IF;
                CONTINUE WHEN em.email_id IS NULL;
                UPDATE prefs_profile_email x
                   SET is_active = false, is_default = false,
                       updated_at = now()
                 WHERE x.email_id = em.email_id;
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.email.deactivated', p_profile_id,
                    prefs_data_email_json(em)::jsonb);
                PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
                    p_profile_id, 'E' || em.email_id, to_jsonb(em.address),
                    true, p_preserve_prefs, p_preserve_consents);
                CONTINUE;
            END IF;
            v := e.v - 'IsActive';
            nv := prefs_cfg_text(v, ep, 'Address', true, 254) #>> '{}';
            IF em.email_id IS NOT NULL AND lower(em.address) <> lower(nv)
            THEN
                -- the rule of 005
                IF nv !~ ('^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+'
                          '\.[^@.[:space:][:cntrl:]]+$')
                THEN
                    PERFORM prefs_cfg_fail(ep || '.Address',
                        'must be an email address such as name@example.com');
                END IF;
                IF EXISTS (SELECT 1 FROM prefs_profile_email x
                            WHERE x.profile_id = p_profile_id AND x.is_active
                              AND lower(x.address) = lower(nv)) THEN
                    PERFORM prefs_cfg_fail(ep || '.Address', format(
                        '%s is another email of this profile',
                        prefs_cfg_quote(nv)));
                END IF;
                old_js := prefs_data_email_json(em)::jsonb;
                UPDATE prefs_profile_email x SET address = nv,
                       updated_at = now()
                 WHERE x.email_id = em.email_id RETURNING * INTO em;
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.email.updated', p_profile_id,
                    prefs_data_email_json(em)::jsonb, old_js);
                PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
                    p_profile_id, 'E' || em.email_id, old_js -> 'Address',
                    false, p_preserve_prefs, p_preserve_consents);
            END IF;
            lst := lst || jsonb_build_array(v);
        END LOOP;
        rest := jsonb_set(rest, '{Emails}', lst);
    END IF;

    -- PhoneNumbers: the same by PhoneId or Number
    IF jsonb_typeof(b -> 'PhoneNumbers') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'PhoneNumbers') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'PhoneNumbers[' || e.i || ']';
            IF jsonb_typeof(e.v) <> 'object' THEN
                lst := lst || jsonb_build_array(e.v);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['PhoneId', 'Number',
                'Type', 'IsMobile', 'IsDefault', 'IsActive']);
            id := (prefs_cfg_int(e.v, ep, 'PhoneId', 1, 9223372036854775807,
                                 NULL, true)) #>> '{}';
            ph := NULL;
            IF id IS NOT NULL THEN
                SELECT * INTO ph FROM prefs_profile_phone x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.phone_id = id;
                IF ph.phone_id IS NULL THEN
                    PERFORM prefs_cfg_fail(ep || '.PhoneId', format(
                        'is not a phone number of this profile (%s)', id));
                END IF;
            END IF;
            IF NOT prefs_data_flag(e.v, ep, p_create) THEN
                IF ph.phone_id IS NULL THEN
                    nv := prefs_data_phone_norm(prefs_cfg_text(e.v, ep,
                              'Number', true, 30) #>> '{}');
                    SELECT * INTO ph FROM prefs_profile_phone x
                     WHERE x.profile_id = p_profile_id AND x.is_active
                       AND x.number = nv;
                END IF;
                CONTINUE WHEN ph.phone_id IS NULL;
                UPDATE prefs_profile_phone x
                   SET is_active = false, is_default = false,
                       updated_at = now()
                 WHERE x.phone_id = ph.phone_id;
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.phone.deactivated', p_profile_id,
                    prefs_data_phone_json(ph)::jsonb);
                PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
                    p_profile_id, 'P' || ph.phone_id, to_jsonb(ph.number),
                    true, p_preserve_prefs, p_preserve_consents);
                CONTINUE;
            END IF;
            v := e.v - 'IsActive';
            nv := prefs_cfg_text(v, ep, 'Number', true, 30) #>> '{}';
            IF ph.phone_id IS NOT NULL
               AND ph.number <> prefs_data_phone_norm(nv) THEN
                IF nv !~ '^\s*\+?[0-9 ().-]+$'
                   OR length(prefs_data_phone_norm(nv)) NOT BETWEEN 3 AND 16
                THEN
                    PERFORM prefs_cfg_fail(ep || '.Number', 'must be a phone '
                        'number: an optional "+" and 3 to 15 digits');
                END IF;
                nv := prefs_data_phone_norm(nv);
                IF EXISTS (SELECT 1 FROM prefs_profile_phone x
                            WHERE x.profile_id = p_profile_id AND x.is_active
                              AND x.number = nv) THEN
                    PERFORM prefs_cfg_fail(ep || '.Number', format(
                        '%s is another phone number of this profile',
                        prefs_cfg_quote(nv)));
                END IF;
                old_js := prefs_data_phone_json(ph)::jsonb;
                UPDATE prefs_profile_phone x SET number = nv,
                       updated_at = now()
                 WHERE x.phone_id = ph.phone_id RETURNING * INTO ph;
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.phone.updated', p_profile_id,
                    prefs_data_phone_json(ph)::jsonb, old_js);
                PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
                    p_profile_id, 'P' || ph.phone_id, old_js -> 'Number',
                    false, p_preserve_prefs, p_preserve_consents);
            END IF;
            lst := lst || jsonb_build_array(v);
        END LOOP;
        rest := jsonb_set(rest, '{PhoneNumbers}', lst);
    END IF;

    -- Addresses: removal by AddressId or Line1 + PostalCode; 005 changes
    -- the values of an AddressId item, noted here for afterwards
    IF jsonb_typeof(b -> 'Addresses') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Addresses') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'Addresses[' || e.i || ']';
            IF jsonb_typeof(e.v) <> 'object' THEN
                lst := lst || jsonb_build_array(e.v);
                CONTINUE;
            END IF;
            IF prefs_data_flag(e.v, ep, p_create) THEN
                v := e.v - 'IsActive';
                IF jsonb_typeof(v -> 'AddressId') = 'number' THEN
                    SELECT * INTO ad FROM prefs_profile_address x
                     WHERE x.profile_id = p_profile_id AND x.is_active
                       AND x.address_id::numeric = (v ->> 'AddressId')::numeric;
                    IF FOUND AND (lower(ad.line1), lower(ad.postal_code))
                       IS DISTINCT FROM
                       (lower(v ->> 'Line1'),
                        lower(coalesce(v ->> 'PostalCode', '')))
                    THEN
                        moved_addresses := moved_addresses
                            || jsonb_build_array(prefs_data_address_json(ad));
                    END IF;
                END IF;
                lst := lst || jsonb_build_array(v);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['AddressId', 'Line1',
                'Line2', 'City', 'State', 'PostalCode', 'Country', 'Type',
                'IsDefault', 'IsActive']);
            id := (prefs_cfg_int(e.v, ep, 'AddressId', 1, 9223372036854775807,
                                 NULL, true)) #>> '{}';
            ad := NULL;
            IF id IS NOT NULL THEN
                SELECT * INTO ad FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.address_id = id;
                IF ad.address_id IS NULL THEN
                    PERFORM prefs_cfg_fail(ep || '.AddressId', format(
                        'is not an address of this profile (%s)', id));
                END IF;
            ELSE
                nv := prefs_cfg_text(e.v, ep, 'Line1', true, 100) #>> '{}';
                SELECT * INTO ad FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND lower(x.line1) = lower(nv)
                   AND lower(x.postal_code) = lower(coalesce(
                       prefs_cfg_text(e.v, ep, 'PostalCode', false, 20)
                       #>> '{}', ''))
                 ORDER BY x.address_id LIMIT 1;
            END IF;
            CONTINUE WHEN ad.address_id IS NULL;
            UPDATE prefs_profile_address x
               SET is_active = false, is_default = false, updated_at = now()
             WHERE x.address_id = ad.address_id;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.address.deactivated', p_profile_id,
                prefs_data_address_json(ad)::jsonb);
            PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
                p_profile_id, 'A' || ad.address_id, to_jsonb(ad.address_id),
                true, p_preserve_prefs, p_preserve_consents);
        END LOOP;
        rest := jsonb_set(rest, '{Addresses}', lst);
    END IF;

    -- CustomFields: {"Name", "IsActive": false} is 005's {"Name"} (removal,
    -- refused for a required field)
    IF jsonb_typeof(b -> 'CustomFields') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'CustomFields') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'CustomFields[' || e.i || ']';
            IF prefs_data_flag(e.v, ep, p_create) THEN
                lst := lst || jsonb_build_array(CASE WHEN
                    jsonb_typeof(e.v) = 'object' THEN e.v - 'IsActive'
                    ELSE e.v END);
            ELSE
                PERFORM prefs_cfg_object(e.v, ep, ARRAY['Name', 'Value',
                                                        'IsActive']);
                lst := lst || jsonb_build_array(jsonb_build_object('Name',
                    prefs_cfg_text(e.v, ep, 'Name', true, 100)));
            END IF;
        END LOOP;
        rest := jsonb_set(rest, '{CustomFields}', lst);
    END IF;

    -- Groups: {"Type", "Name", "IsActive": false}
    IF jsonb_typeof(b -> 'Groups') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Groups') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'Groups[' || e.i || ']';
            IF prefs_data_flag(e.v, ep, p_create) THEN
                lst := lst || jsonb_build_array(CASE WHEN
                    jsonb_typeof(e.v) = 'object' THEN e.v - 'IsActive'
                    ELSE e.v END);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['Type', 'Name',
                                                    'IsActive']);
            t := prefs_cfg_text(e.v, ep, 'Type', true, 100) #>> '{}';
            nv := prefs_cfg_text(e.v, ep, 'Name', true, 100) #>> '{}';
            DELETE FROM prefs_profile_group g
             WHERE g.profile_id = p_profile_id AND g.group_type = t
               AND g.group_name = nv;
            IF FOUND THEN
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'group.removed', p_profile_id,
                    jsonb_build_object('Type', t, 'Name', nv));
            END IF;
        END LOOP;
        rest := jsonb_set(rest, '{Groups}', lst);
    END IF;

    -- Tags: a string adds; {"Name", "IsActive"} adds or removes
    IF jsonb_typeof(b -> 'Tags') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Tags') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'Tags[' || e.i || ']';
            IF jsonb_typeof(e.v) <> 'object' THEN
                lst := lst || jsonb_build_array(e.v);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['Name', 'IsActive']);
            nv := prefs_cfg_text(e.v, ep, 'Name', true, 100) #>> '{}';
            IF prefs_data_flag(e.v, ep, p_create) THEN
                lst := lst || jsonb_build_array(to_jsonb(nv));
                CONTINUE;
            END IF;
            DELETE FROM prefs_profile_tag g
             WHERE g.profile_id = p_profile_id AND g.tag = nv;
            IF FOUND THEN
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'tag.removed', p_profile_id,
                    jsonb_build_object('Tag', nv));
            END IF;
        END LOOP;
        rest := jsonb_set(rest, '{Tags}', lst);
    END IF;

    -- ProfilePreferences: "IsArchived": true archives the preference of
    -- that filter and contact point
    IF jsonb_typeof(b -> 'ProfilePreferences') = 'array' THEN
        lst := '[]';
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'ProfilePreferences') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'ProfilePreferences[' || e.i || ']';
            IF jsonb_typeof(e.v) <> 'object'
               OR prefs_cfg_get(e.v, 'IsArchived') IS NULL
               OR NOT prefs_cfg_bool(e.v, ep, 'IsArchived', false)
                      ::text::boolean
            THEN
                lst := lst || jsonb_build_array(e.v);
                CONTINUE;
            END IF;
            IF p_create THEN
                PERFORM prefs_cfg_fail(ep || '.IsArchived',
                    'must be false: a new profile has nothing to archive');
            END IF;
            nv := prefs_cfg_text(e.v, ep, 'FilterId', true, 50) #>> '{}';
            v := prefs_cfg_get(e.v, 'ContactPoint');
            FOR pf IN SELECT x.* FROM prefs_preference x
                       WHERE x.profile_id = p_profile_id
                         AND x.filter_id = nv AND NOT x.is_archived
                         AND coalesce(lower(prefs_data_contact_value(
                                 x.contact_key) #>> '{}'), '')
                             IN (coalesce(lower(v #>> '{}'), ''),
                                 prefs_data_phone_norm(coalesce(v #>> '{}',
                                                                '')))
            LOOP
                UPDATE prefs_preference x SET is_archived = true,
                       updated_at = now()
                 WHERE x.preference_id = pf.preference_id
                RETURNING * INTO pf;
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'preference.archived', p_profile_id,
                    prefs_data_pref_json(pf)::jsonb);
            END LOOP;
        END LOOP;
        rest := jsonb_set(rest, '{ProfilePreferences}', lst);
    END IF;
END
$$;


-- --------------------------------------------------------------------------
-- Consents: each item is appended as a record.  Returns whether anything
-- was recorded (always, for a non-empty list).

CREATE OR REPLACE FUNCTION prefs_data_consents(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, b jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e        record;
    ep       text;
    t        text;
    nv       text;
    loc      text;
    chan     text;
    ckey     text;
    cval     text;
    v        jsonb;
    cfg      jsonb;
    ver      jsonb;
    st       integer;
    cdate    timestamptz;
    cs       prefs_consent%ROWTYPE;
    prev     prefs_consent%ROWTYPE;
    a        prefs_consent_assoc%ROWTYPE;
    pf       prefs_preference%ROWTYPE;
    old_js   jsonb;
    changed  boolean := false;
BEGIN
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Consents', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Consents[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['TypeName', 'Version',
            'Status', 'Locale', 'ContactPoint', 'CustomerDate',
            'RecordedDate', 'ExpirationDate', 'IsActive']);
        t := prefs_cfg_text(e.v, ep, 'TypeName', true, 50) #>> '{}';
        cfg := prefs_data_item(p_account_id, 'ConsentType', t);
        IF cfg IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.TypeName', format(
                '%s is not an active consent type', prefs_cfg_quote(t)));
        END IF;
        nv := prefs_cfg_text(e.v, ep, 'Version', true, 50) #>> '{}';
        SELECT x INTO ver FROM jsonb_array_elements(cfg -> 'Versions') AS x
         WHERE x ->> 'ConsentVersion' = nv AND x -> 'IsActive' = 'true';
        IF ver IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.Version', format(
                '%s is not an active version of consent type %s',
                prefs_cfg_quote(nv), prefs_cfg_quote(t)));
        END IF;
        v := prefs_cfg_get(e.v, 'Status');
        st := NULL;
        IF jsonb_typeof(v) = 'string' THEN
            st := array_position(ARRAY['granted', 'denied', 'revoked',
                                       'notset'], lower(v #>> '{}'));
        ELSIF jsonb_typeof(v) = 'number' AND v::text IN ('1', '2', '3', '4')
        THEN
            st := v::text::integer;
        END IF;
        IF st IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.Status', CASE WHEN v IS NULL
                THEN 'is required' ELSE 'must be Granted, Denied, Revoked or '
                'NotSet' END);
        END IF;
        PERFORM prefs_cfg_bool(e.v, ep, 'IsActive', true);   -- read-only

        loc := nullif(prefs_cfg_text(e.v, ep, 'Locale', false, 15) #>> '{}',
                      '');
        IF loc IS NOT NULL THEN
            loc := prefs_locale_canonical(loc);
            IF prefs_data_item(p_account_id, 'Locale', loc) IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.Locale', format(
                    '%s is not an active locale', prefs_cfg_quote(loc)));
            END IF;
        END IF;

        -- the contact point: by the consent type's channel
        chan := cfg ->> 'ChannelId';
        v := prefs_cfg_get(e.v, 'ContactPoint');
        ckey := '';
        cval := NULL;
        IF v IS NOT NULL AND v <> '""' THEN
            IF chan IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    'must be absent: consent type %s has no channel',
                    prefs_cfg_quote(t)));
            ELSIF chan = 'Email' THEN
                SELECT 'E' || x.email_id, x.address INTO ckey, cval
                  FROM prefs_profile_email x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND jsonb_typeof(v) = 'string'
                   AND lower(x.address) = lower(v #>> '{}');
            ELSIF chan IN ('Phone', 'Text', 'Fax') THEN
                SELECT 'P' || x.phone_id, x.number INTO ckey, cval
                  FROM prefs_profile_phone x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND jsonb_typeof(v) = 'string'
                   AND x.number = prefs_data_phone_norm(v #>> '{}');
            ELSE
                SELECT 'A' || x.address_id, x.address_id::text
                  INTO ckey, cval
                  FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND jsonb_typeof(v) IN ('number', 'string')
                   AND v #>> '{}' ~ '^[0-9]{1,18}$'
                   AND x.address_id = (v #>> '{}')::bigint;
            END IF;
            IF cval IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    '%s is not a contact point of the profile on the %s '
                    'channel of consent type %s', prefs_cfg_quote(v #>> '{}'),
                    chan, prefs_cfg_quote(t)));
            END IF;
        END IF;

        cdate := prefs_data_customer_date(e.v, ep, false);
        prev := NULL;
        SELECT * INTO prev FROM prefs_consent c
         WHERE c.profile_id = p_profile_id AND c.type_name = t
           AND c.contact_key = ckey AND c.is_active
         ORDER BY c.consent_id DESC LIMIT 1;
        old_js := CASE WHEN prev.consent_id IS NOT NULL
                       THEN prefs_data_consent_json(prev)::jsonb END;
        -- the same version in another locale replaces the record
        IF prev.consent_id IS NOT NULL AND prev.version = nv
           AND prev.locale IS NOT NULL AND loc IS NOT NULL
           AND prev.locale <> loc
        THEN
            UPDATE prefs_consent c SET is_active = false
             WHERE c.consent_id = prev.consent_id RETURNING * INTO prev;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'consent.deactivated', p_profile_id,
                prefs_data_consent_json(prev)::jsonb, old_js);
            old_js := NULL;
        END IF;
        INSERT INTO prefs_consent (account_id, profile_id, type_name, version,
            status, recorded_by, customer_date, expiration_date, locale,
            contact_key, contact_point)
        VALUES (p_account_id, p_profile_id, t, nv, st, p_user_id, cdate,
            cdate + make_interval(days =>
                        (ver ->> 'ExpirationInDays')::integer),
            loc, ckey, cval)
        RETURNING * INTO cs;
        changed := true;
        PERFORM prefs_event_add(p_account_id, p_user_id,
            CASE WHEN old_js IS NULL THEN 'consent.added'
                 ELSE 'consent.updated' END,
            p_profile_id, prefs_data_consent_json(cs)::jsonb, old_js);

        -- a consent for a contact point is linked to it
        IF ckey <> '' THEN
            SELECT * INTO a FROM prefs_consent_assoc x
             WHERE x.profile_id = p_profile_id AND x.kind = 'E'
               AND x.type_name = t AND x.contact_key = ckey;
            IF a.assoc_id IS NULL THEN
                INSERT INTO prefs_consent_assoc (account_id, profile_id, kind,
                    type_name, contact_key, consent_id, status)
                VALUES (p_account_id, p_profile_id, 'E', t, ckey,
                        cs.consent_id, st)
                RETURNING * INTO a;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'consent.elementassociation.created', p_profile_id,
                    prefs_data_assoc_json(a));
            ELSE
                old_js := CASE WHEN a.is_active
                               THEN prefs_data_assoc_json(a) END;
                UPDATE prefs_consent_assoc x
                   SET consent_id = cs.consent_id, status = st,
                       is_active = true, updated_at = now()
                 WHERE x.assoc_id = a.assoc_id RETURNING * INTO a;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    CASE WHEN old_js IS NULL
                         THEN 'consent.elementassociation.created'
                         ELSE 'consent.elementassociation.updated' END,
                    p_profile_id, prefs_data_assoc_json(a), old_js);
            END IF;
            a := NULL;
        END IF;

        -- revoking a granted consent archives the preferences whose
        -- filters require it (of that contact point, if it has one)
        IF st = 3 AND prev.status = 1 THEN
            FOR pf IN UPDATE prefs_preference x
                         SET is_archived = true, updated_at = now()
                       WHERE x.profile_id = p_profile_id AND NOT x.is_archived
                         AND (ckey = '' OR x.contact_key = ckey)
                         AND coalesce(prefs_data_item(p_account_id, 'Filter',
                                 x.filter_id) -> 'RequiredPreferenceConsents',
                                 '[]')
                             @> jsonb_build_array(jsonb_build_object(
                                    'TypeName', t))
                      RETURNING *
            LOOP
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'preference.archived', p_profile_id,
                    prefs_data_pref_json(pf)::jsonb);
            END LOOP;
        END IF;
    END LOOP;
    RETURN changed;
END
$$;


-- --------------------------------------------------------------------------
-- Filter associations: every preference that is not archived is linked to
-- each consent its filter requires that the profile has (the newest active
-- record of that type for the preference's contact point, else without a
-- contact point).  The link's status is the consent's, except that a
-- Granted consent is Revoked for a preference opted out of.
--   no link yet             consent.filterassociation.created
--   another consent record  consent.filterassociation.updated
--   same record, status     consent.updated (Data: the link)
--   nothing to link any more (preference archived, consent gone, filter
--   no longer requiring it)  consent.filterassociation.deactivated
-- Returns whether it recorded anything.

CREATE OR REPLACE FUNCTION prefs_data_assoc_sync(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    d        record;
    a        prefs_consent_assoc%ROWTYPE;
    old_js   jsonb;
    kept     bigint[] := '{}';
    changed  boolean := false;
BEGIN
    FOR d IN
        SELECT pr.preference_id, rc.type_name, c.consent_id,
               CASE WHEN pr.preference_type = 2 AND c.status = 1 THEN 3
                    ELSE c.status END AS status
          FROM prefs_preference pr
          CROSS JOIN LATERAL (
              SELECT x ->> 'TypeName' AS type_name, x.n
                FROM jsonb_array_elements(coalesce(prefs_data_item(
                         p_account_id, 'Filter', pr.filter_id)
                         -> 'RequiredPreferenceConsents', '[]'))
                     WITH ORDINALITY AS x(x, n)) rc
          JOIN LATERAL (
              SELECT c.consent_id, c.status FROM prefs_consent c
               WHERE c.profile_id = pr.profile_id
                 AND c.type_name = rc.type_name AND c.is_active
                 AND c.contact_key IN (pr.contact_key, '')
               ORDER BY c.contact_key = pr.contact_key DESC,
                        c.consent_id DESC
               LIMIT 1) c ON true
         WHERE pr.profile_id = p_profile_id AND NOT pr.is_archived
         ORDER BY pr.preference_id, rc.n
    LOOP
        SELECT * INTO a FROM prefs_consent_assoc x
         WHERE x.kind = 'F' AND x.preference_id = d.preference_id
           AND x.type_name = d.type_name;
        IF a.assoc_id IS NULL THEN
            INSERT INTO prefs_consent_assoc (account_id, profile_id, kind,
                type_name, preference_id, consent_id, status)
            VALUES (p_account_id, p_profile_id, 'F', d.type_name,
                    d.preference_id, d.consent_id, d.status)
            RETURNING * INTO a;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'consent.filterassociation.created', p_profile_id,
                prefs_data_assoc_json(a));
        ELSIF NOT a.is_active OR a.consent_id <> d.consent_id
              OR a.status <> d.status THEN
            old_js := prefs_data_assoc_json(a);
            UPDATE prefs_consent_assoc x
               SET consent_id = d.consent_id, status = d.status,
                   is_active = true, updated_at = now()
             WHERE x.assoc_id = a.assoc_id;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                CASE WHEN NOT a.is_active
                     THEN 'consent.filterassociation.created'
                     WHEN a.consent_id <> d.consent_id
                     THEN 'consent.filterassociation.updated'
                     ELSE 'consent.updated' END,
                p_profile_id,
                (SELECT prefs_data_assoc_json(x) FROM prefs_consent_assoc x
                  WHERE x.assoc_id = a.assoc_id),
                CASE WHEN a.is_active THEN old_js END);
        END IF;
        kept := kept || a.assoc_id;
        a := NULL;
    END LOOP;

    FOR a IN UPDATE prefs_consent_assoc x
                SET is_active = false, updated_at = now()
              WHERE x.profile_id = p_profile_id AND x.kind = 'F'
                AND x.is_active AND NOT x.assoc_id = ANY (kept)
             RETURNING *
    LOOP
        changed := true;
        PERFORM prefs_event_add(p_account_id, p_user_id,
            'consent.filterassociation.deactivated', p_profile_id,
            prefs_data_assoc_json(a));
    END LOOP;
    RETURN changed;
END
$$;


-- --------------------------------------------------------------------------
-- The wrapper of prefs_data_apply (005).  Raises PF001 / PF002; the caller
-- runs it in a subtransaction.

CREATE OR REPLACE FUNCTION prefs_data_apply_ex(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, b jsonb, p_create boolean)
RETURNS boolean   -- whether anything changed
LANGUAGE plpgsql AS $$
DECLARE
    pp       boolean;
    pc       boolean;
    rest     jsonb;
    changed  boolean := false;
    moved    jsonb;
    m        jsonb;
BEGIN
    IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON object');
    END IF;
    pp := prefs_cfg_bool(b, '', 'PreservePreferences', true)::text::boolean;
    pc := prefs_cfg_bool(b, '', 'PreserveConsents', true)::text::boolean;
    rest := b - 'PreservePreferences' - 'PreserveConsents';

    -- 005 locks the row too; the removals come first
    PERFORM 1 FROM prefs_profile p WHERE p.profile_id = p_profile_id
       FOR UPDATE;
    SELECT x.rest, x.changed, x.moved_addresses INTO rest, changed, moved
      FROM prefs_data_remove_lists(p_account_id, p_user_id, p_profile_id, b,
               p_create, pp, pc, rest, false, '[]') x;

    IF prefs_data_apply(p_account_id, p_user_id, p_profile_id,
                        rest - 'Consents', p_create) THEN
        changed := true;
    END IF;

    -- addresses whose AddressId item changed their place
    FOR m IN SELECT x FROM jsonb_array_elements(moved) x LOOP
        PERFORM prefs_data_contact_changed(p_account_id, p_user_id,
            p_profile_id, 'A' || (m ->> 'AddressId'), m -> 'AddressId',
            false, pp, pc);
    END LOOP;

    IF prefs_data_consents(p_account_id, p_user_id, p_profile_id, rest) THEN
        changed := true;
    END IF;
    IF prefs_data_assoc_sync(p_account_id, p_user_id, p_profile_id) THEN
        changed := true;
    END IF;

    IF changed THEN
        UPDATE prefs_profile p
           SET updated_at = now(), edited_at = now(), edited_by = p_user_id
         WHERE p.profile_id = p_profile_id;
    END IF;
    RETURN changed;
END
$$;


-- --------------------------------------------------------------------------
-- The API functions of 005 that apply a body, on the wrapper

CREATE OR REPLACE FUNCTION prefs_profile_create(p_account_id bigint,
    p_user_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, profile_id bigint, message text)
LANGUAGE plpgsql AS $$
DECLARE
    pid  bigint;
    ev   bigint;
BEGIN
    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::bigint,
            'the body must be a JSON object'::text;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO prefs_profile AS p (account_id, edited_by)
        VALUES (p_account_id, p_user_id)
        RETURNING p.profile_id INTO pid;
        ev := prefs_event_add(p_account_id, p_user_id, 'profile.created', pid,
                              NULL);
        PERFORM prefs_data_apply_ex(p_account_id, p_user_id, pid, p_body,
                                    true);
        -- the rendering is also kept as the profile's copy (sql/015)
        UPDATE prefs_event x
           SET data = prefs_profile_doc_fill(p_account_id, pid)::jsonb
         WHERE x.event_id = ev AND x.account_id = p_account_id;
    EXCEPTION
        WHEN SQLSTATE 'PF001' THEN
            RETURN QUERY SELECT 'invalid'::text, NULL::bigint, SQLERRM;
            RETURN;
        WHEN SQLSTATE 'PF002' THEN
            RETURN QUERY SELECT 'conflict'::text, NULL::bigint, SQLERRM;
            RETURN;
        WHEN unique_violation THEN
            RETURN QUERY SELECT 'conflict'::text, NULL::bigint,
                'an alternate id of the profile belongs to another profile'
                ::text;
            RETURN;
    END;
    RETURN QUERY SELECT 'created'::text, pid, NULL::text;
END
$$;

CREATE OR REPLACE FUNCTION prefs_profile_update(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    before  jsonb;
BEGIN
    -- lock first, then read: the statement that waited for the lock sees
    -- the row as the other writer left it, but its sub-selects (the
    -- profile's parts) would see them as they were when it started
    PERFORM 1 FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    -- the profile's copy (sql/015), rendered only when it is not current
    before := prefs_profile_get(p_account_id, p_profile_id, false)::jsonb;
    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text,
            'the body must be a JSON object'::text;
        RETURN;
    END IF;
    BEGIN
        IF prefs_data_apply_ex(p_account_id, p_user_id, p_profile_id, p_body,
                               false) THEN
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'profile.updated', p_profile_id,
                prefs_profile_doc_fill(p_account_id, p_profile_id)::jsonb,
                before);
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'PF001' THEN
            RETURN QUERY SELECT 'invalid'::text, SQLERRM;
            RETURN;
        WHEN SQLSTATE 'PF002' THEN
            RETURN QUERY SELECT 'conflict'::text, SQLERRM;
            RETURN;
        WHEN unique_violation THEN
            RETURN QUERY SELECT 'conflict'::text,
                'an alternate id of the profile belongs to another profile'
                ::text;
            RETURN;
    END;
    RETURN QUERY SELECT 'updated'::text, NULL::text;
END
$$;


-- DELETE Profile/{id}/Groups, /Tags, /CustomFields: the body lists what to
-- remove (the part's list, {"<Part>": [...]}, or one item); an item is
-- what the part's list holds ({"Type","Name"}; "VIP"; {"Name"} or "Name").
-- Outcomes as prefs_profile_update.
CREATE OR REPLACE FUNCTION prefs_profile_remove_parts(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_part text, p_body jsonb)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    items  jsonb;
    lst    jsonb := '[]';
    it     jsonb;
BEGIN
    IF p_part NOT IN ('Groups', 'Tags', 'CustomFields') THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown part %L', p_part);
    END IF;
    items := CASE
        WHEN jsonb_typeof(p_body) = 'array' THEN p_body
        WHEN jsonb_typeof(p_body) = 'object' AND p_body ? p_part
             AND (SELECT count(*) FROM jsonb_object_keys(p_body)) = 1
             AND jsonb_typeof(p_body -> p_part) = 'array'
            THEN p_body -> p_part
        ELSE jsonb_build_array(p_body) END;
    IF jsonb_array_length(items) = 0 THEN
        RETURN QUERY SELECT 'invalid'::text,
            format('%s: the body names nothing to remove', p_part);
        RETURN;
    END IF;
    IF jsonb_array_length(items) > 200 THEN
        RETURN QUERY SELECT 'invalid'::text,
            format('%s must have at most 200 elements', p_part);
        RETURN;
    END IF;
    FOR it IN SELECT x FROM jsonb_array_elements(items) x LOOP
        lst := lst || jsonb_build_array(CASE
            WHEN jsonb_typeof(it) = 'string' AND p_part = 'Tags'
                THEN jsonb_build_object('Name', it, 'IsActive', false)
            WHEN jsonb_typeof(it) = 'string' AND p_part = 'CustomFields'
                THEN jsonb_build_object('Name', it, 'IsActive', false)
            WHEN jsonb_typeof(it) = 'object'
                THEN it || '{"IsActive": false}'
            ELSE it END);
    END LOOP;
    RETURN QUERY SELECT * FROM prefs_profile_update(p_account_id, p_user_id,
        p_profile_id, jsonb_build_object(p_part, lst));
END
$$;


-- --------------------------------------------------------------------------
-- JSON Patch (RFC 6902, RFC 6901 pointers)

-- A pointer's reference tokens; PF001 naming p_where when it is not one.
CREATE OR REPLACE FUNCTION prefs_jp_pointer(p jsonb, p_where text)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    s     text;
    toks  text[];
    i     integer;
BEGIN
    IF jsonb_typeof(p) IS DISTINCT FROM 'string' THEN
        PERFORM prefs_cfg_fail(p_where, 'must be a JSON Pointer (a string)');
    END IF;
    s := p #>> '{}';
    IF s = '' THEN
        RETURN '{}';
    END IF;
    IF left(s, 1) <> '/' THEN
        PERFORM prefs_cfg_fail(p_where, format(
            '%s is not a JSON Pointer: it must be empty or start with "/"',
            prefs_cfg_quote(s)));
    END IF;
    IF s ~ '~([^01]|$)' THEN
        PERFORM prefs_cfg_fail(p_where, format(
            '%s is not a JSON Pointer: "~" must be followed by 0 or 1',
            prefs_cfg_quote(s)));
    END IF;
    toks := CASE WHEN s = '/' THEN ARRAY['']
                 ELSE string_to_array(substr(s, 2), '/') END;
    FOR i IN 1 .. array_length(toks, 1) LOOP
        toks[i] := replace(replace(toks[i], '~1', '/'), '~0', '~');
    END LOOP;
    RETURN toks;
END
$$;

-- The value at toks, or NULL when there is none.
CREATE OR REPLACE FUNCTION prefs_jp_get(doc jsonb, toks text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v  jsonb := doc;
    i  integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(toks, 1), 0) LOOP
        IF jsonb_typeof(v) = 'object' THEN
            IF NOT v ? toks[i] THEN
                RETURN NULL;
            END IF;
            v := v -> toks[i];
        ELSIF jsonb_typeof(v) = 'array' THEN
            IF toks[i] !~ '^(0|[1-9][0-9]{0,8})$'
               OR toks[i]::integer >= jsonb_array_length(v) THEN
                RETURN NULL;
            END IF;
            v := v -> toks[i]::integer;
        ELSE
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN v;
END
$$;

-- One operation on doc.  PF001: a bad operation or pointer, a path that
-- is not there; PF003: a test that does not hold.
CREATE OR REPLACE FUNCTION prefs_jp_op(doc jsonb, op jsonb, p_where text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    kind    text;
    toks    text[];
    n       integer;
    ppath   text[];
    parent  jsonb;
    last    text;
    idx     integer;
    val     jsonb;
    shown   text;
BEGIN
    IF jsonb_typeof(op) IS DISTINCT FROM 'object' THEN
        PERFORM prefs_cfg_fail(p_where, 'must be an operation object');
    END IF;
    IF jsonb_typeof(op -> 'op') IS DISTINCT FROM 'string' THEN
        PERFORM prefs_cfg_fail(p_where || '.op', 'is required (a string)');
    END IF;
    kind := op ->> 'op';
    IF kind IN ('move', 'copy') THEN
        PERFORM prefs_cfg_fail(p_where || '.op', format(
            '%s is not supported: only add, replace, remove and test',
            prefs_cfg_quote(kind)));
    ELSIF kind NOT IN ('add', 'replace', 'remove', 'test') THEN
        PERFORM prefs_cfg_fail(p_where || '.op', format(
            '%s is not an operation: add, replace, remove or test',
            prefs_cfg_quote(kind)));
    END IF;
    IF NOT op ? 'path' THEN
        PERFORM prefs_cfg_fail(p_where || '.path', 'is required');
    END IF;
    toks := prefs_jp_pointer(op -> 'path', p_where || '.path');
    shown := prefs_cfg_quote(op ->> 'path');
    IF kind <> 'remove' THEN
        IF NOT op ? 'value' THEN
            PERFORM prefs_cfg_fail(p_where || '.value', 'is required');
        END IF;
        val := op -> 'value';
    END IF;

    IF kind = 'test' THEN
        IF prefs_jp_get(doc, toks) IS DISTINCT FROM val THEN
            RAISE EXCEPTION USING ERRCODE = 'PF003', MESSAGE = format(
                '%s: the test of %s failed', p_where, shown);
        END IF;
        RETURN doc;
    END IF;

    n := coalesce(array_length(toks, 1), 0);
    IF n = 0 THEN
        IF kind = 'remove' THEN
            PERFORM prefs_cfg_fail(p_where || '.path',
                'cannot remove the whole profile');
        END IF;
        RETURN val;
    END IF;
    ppath := toks[1:n - 1];
    last := toks[n];
    parent := prefs_jp_get(doc, ppath);
    IF parent IS NULL OR jsonb_typeof(parent) NOT IN ('object', 'array') THEN
        PERFORM prefs_cfg_fail(p_where || '.path', format(
            '%s: there is no object or array to hold %s', shown,
            prefs_cfg_quote(last)));
    END IF;

    IF jsonb_typeof(parent) = 'object' THEN
        IF kind <> 'add' AND NOT parent ? last THEN
            PERFORM prefs_cfg_fail(p_where || '.path', format(
                '%s does not exist', shown));
        END IF;
        parent := CASE WHEN kind = 'remove' THEN parent - last
                       ELSE parent || jsonb_build_object(last, val) END;
    ELSE
        IF kind = 'add' AND last = '-' THEN
            idx := jsonb_array_length(parent);
        ELSIF last ~ '^(0|[1-9][0-9]{0,8})$' THEN
            idx := last::integer;
        ELSE
            PERFORM prefs_cfg_fail(p_where || '.path', format(
                '%s: %s is not an array index', shown,
                prefs_cfg_quote(last)));
        END IF;
        IF idx > jsonb_array_length(parent)
           OR (kind <> 'add' AND idx = jsonb_array_length(parent)) THEN
            PERFORM prefs_cfg_fail(p_where || '.path', format(
                '%s: index %s is out of range', shown, idx));
        END IF;
        parent := coalesce((SELECT jsonb_agg(x.v ORDER BY x.n)
                              FROM jsonb_array_elements(parent)
                                   WITH ORDINALITY AS x(v, n)
                             WHERE x.n <= idx), '[]')
               || CASE WHEN kind = 'remove' THEN '[]'::jsonb
                       ELSE jsonb_build_array(val) END
               || coalesce((SELECT jsonb_agg(x.v ORDER BY x.n)
                              FROM jsonb_array_elements(parent)
                                   WITH ORDINALITY AS x(v, n)
                             WHERE x.n > idx + CASE WHEN kind = 'add'
                                                    THEN 0 ELSE 1 END), '[]');
    END IF;
    IF n = 1 THEN
        RETURN parent;
    END IF;
    RETURN jsonb_set(doc, ppath, parent);
END
$$;

-- Identity keys of an item of a profile list: an item of the patched list
-- keeps an item of the old one when they share a key.
CREATE OR REPLACE FUNCTION prefs_jp_keys(p_list text, it jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_remove(CASE p_list
        WHEN 'AlternateIds' THEN ARRAY[it ->> 'Type']
        WHEN 'Emails' THEN ARRAY['id:' || (it ->> 'EmailId'),
                                 'v:' || lower(it ->> 'Address')]
        WHEN 'PhoneNumbers' THEN ARRAY['id:' || (it ->> 'PhoneId'),
                                 'v:' || prefs_data_phone_norm(it ->> 'Number')]
        WHEN 'Addresses' THEN ARRAY['id:' || (it ->> 'AddressId'),
                                 'v:' || lower(it ->> 'Line1') || '|'
                                 || lower(coalesce(it ->> 'PostalCode', ''))]
        WHEN 'CustomFields' THEN ARRAY[it ->> 'Name']
        WHEN 'Groups' THEN ARRAY[(it ->> 'Type') || '|' || (it ->> 'Name')]
        WHEN 'Tags' THEN ARRAY[it #>> '{}']
        WHEN 'ProfilePreferences' THEN ARRAY[(it ->> 'FilterId') || '|'
                                 || coalesce(lower(it ->> 'ContactPoint'), '')]
        WHEN 'Consents' THEN ARRAY[(it ->> 'TypeName') || '|'
                                 || coalesce(lower(it ->> 'ContactPoint'), '')]
        END, NULL)
$$;

-- The UpdateProfile body that turns profile p_before into p_after (the
-- patched document): every field set, changed or new list items given,
-- items gone given as removals.  PF001 for read-only changes.
CREATE OR REPLACE FUNCTION prefs_jp_body(p_before jsonb, p_after jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    b     jsonb;
    f     text;
    l     text;
    a     jsonb;
    bl    jsonb;
    lst   jsonb;
    it    jsonb;
    old   jsonb;
    keys  text[];
BEGIN
    IF jsonb_typeof(p_after) IS DISTINCT FROM 'object' THEN
        PERFORM prefs_cfg_fail('the patched profile', 'must be an object');
    END IF;
    FOREACH f IN ARRAY ARRAY['ProfileId', 'IsActive', 'ReasonCode', 'Edited']
    LOOP
        IF p_after ? f AND p_after -> f IS DISTINCT FROM p_before -> f THEN
            PERFORM prefs_cfg_fail(f, 'is read-only: a patch cannot change it');
        END IF;
    END LOOP;
    b := p_after - 'ProfileId' - 'IsActive' - 'ReasonCode' - 'Edited';
    FOREACH f IN ARRAY ARRAY['Prefix', 'FirstName', 'MiddleName', 'LastName',
                             'Suffix']
    LOOP
        IF NOT b ? f THEN
            b := b || jsonb_build_object(f, '');
        END IF;
    END LOOP;
    IF NOT b ? 'DefaultLocale' THEN
        b := b || '{"DefaultLocale": null}';
    END IF;
    IF NOT b ? 'CustomerType' THEN
        b := b || '{"CustomerType": null}';
    END IF;
    IF NOT b ? 'RegistrationConfirmed' THEN
        b := b || '{"RegistrationConfirmed": false}';
    END IF;

    FOREACH l IN ARRAY ARRAY['AlternateIds', 'Emails', 'PhoneNumbers',
        'Addresses', 'CustomFields', 'Groups', 'Tags', 'ProfilePreferences',
        'Consents']
    LOOP
        a := coalesce(prefs_cfg_get(p_after, l), '[]');
        IF jsonb_typeof(a) <> 'array' THEN
            PERFORM prefs_cfg_fail(l, 'must be an array');
        END IF;
        bl := p_before -> l;
        lst := '[]';
        keys := '{}';
        FOR it IN SELECT x FROM jsonb_array_elements(a) x LOOP
            keys := keys || prefs_jp_keys(l, it);
            CONTINUE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(bl) y
                                   WHERE y = it);
            -- a changed preference or consent whose CustomerDate was left
            -- as it was is dated now
            IF l IN ('ProfilePreferences', 'Consents')
               AND jsonb_typeof(it) = 'object' THEN
                SELECT y INTO old FROM jsonb_array_elements(bl) y
                 WHERE prefs_jp_keys(l, y) && prefs_jp_keys(l, it) LIMIT 1;
                IF old -> 'CustomerDate' = it -> 'CustomerDate' THEN
                    it := it - 'CustomerDate';
                END IF;
                IF l = 'Consents' THEN
                    it := it - 'IsActive';
                END IF;
                old := NULL;
            END IF;
            lst := lst || jsonb_build_array(it);
        END LOOP;
        FOR it IN SELECT y FROM jsonb_array_elements(bl) y
                   WHERE NOT prefs_jp_keys(l, y) && keys
        LOOP
            IF l = 'Consents' THEN
                PERFORM prefs_cfg_fail('Consents', format(
                    'cannot lose the consent %s: consents are a history; '
                    'record a Revoked consent instead',
                    prefs_cfg_quote(it ->> 'TypeName')));
            END IF;
            CONTINUE WHEN l = 'ProfilePreferences'
                          AND (it -> 'IsArchived') = 'true';
            lst := jsonb_build_array(CASE l
                WHEN 'AlternateIds' THEN jsonb_build_object('Type',
                    it -> 'Type', 'Value', it -> 'Value', 'IsActive', false)
                WHEN 'Emails' THEN jsonb_build_object('EmailId',
                    it -> 'EmailId', 'IsActive', false)
                WHEN 'PhoneNumbers' THEN jsonb_build_object('PhoneId',
                    it -> 'PhoneId', 'IsActive', false)
                WHEN 'Addresses' THEN jsonb_build_object('AddressId',
                    it -> 'AddressId', 'IsActive', false)
                WHEN 'CustomFields' THEN jsonb_build_object('Name',
                    it -> 'Name', 'IsActive', false)
                WHEN 'Groups' THEN jsonb_build_object('Type', it -> 'Type',
                    'Name', it -> 'Name', 'IsActive', false)
                WHEN 'Tags' THEN jsonb_build_object('Name', it,
                    'IsActive', false)
                WHEN 'ProfilePreferences' THEN jsonb_build_object(
                    'FilterId', it -> 'FilterId',
                    'ContactPoint', it -> 'ContactPoint', 'IsArchived', true)
                END) || lst;
        END LOOP;
        b := b || jsonb_build_object(l, lst);
    END LOOP;
    RETURN b;
END
$$;

-- PATCH Profile/{id}: the patch (a JSON array of operations, at most
-- 1000) is applied to the profile as GET renders it, in order, all or
-- nothing; the result replaces the profile.  p_flags: {"PreserveConsents",
-- "PreservePreferences"} (booleans, default true).  Outcomes: patched
-- (body: the profile after), not_found, invalid, conflict (an alternate
-- id of another profile), test_failed, too_large (body: the message).
CREATE OR REPLACE FUNCTION prefs_profile_patch(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_patch jsonb, p_flags jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    before  jsonb;
    doc     jsonb;
    op      record;
    b       jsonb;
BEGIN
    -- lock, then read the document in a statement of its own (see
    -- prefs_profile_update): a patch applies to the profile as the
    -- previous writer left it
    PERFORM 1 FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    SELECT prefs_data_profile_json(p, false)::jsonb INTO before
      FROM prefs_profile p WHERE p.profile_id = p_profile_id;
    IF jsonb_typeof(p_patch) IS DISTINCT FROM 'array' THEN
        RETURN QUERY SELECT 'invalid'::text,
            'a JSON Patch must be an array of operations'::text;
        RETURN;
    END IF;
    IF jsonb_array_length(p_patch) > 1000 THEN
        RETURN QUERY SELECT 'too_large'::text,
            'a JSON Patch may have at most 1000 operations'::text;
        RETURN;
    END IF;
    BEGIN
        doc := before;
        FOR op IN SELECT x.v, x.n - 1 AS i
                    FROM jsonb_array_elements(p_patch)
                         WITH ORDINALITY AS x(v, n)
        LOOP
            doc := prefs_jp_op(doc, op.v, '[' || op.i || ']');
        END LOOP;
        b := prefs_jp_body(before, doc);
        IF jsonb_typeof(p_flags) = 'object' THEN
            b := b || p_flags;
        END IF;
        IF prefs_data_apply_ex(p_account_id, p_user_id, p_profile_id, b,
                               false) THEN
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'profile.replaced', p_profile_id,
                (SELECT prefs_data_profile_json(p, false)::jsonb
                   FROM prefs_profile p WHERE p.profile_id = p_profile_id),
                before);
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'PF001' THEN
            RETURN QUERY SELECT 'invalid'::text, SQLERRM;
            RETURN;
        WHEN SQLSTATE 'PF002' THEN
            RETURN QUERY SELECT 'conflict'::text, SQLERRM;
            RETURN;
        WHEN SQLSTATE 'PF003' THEN
            RETURN QUERY SELECT 'test_failed'::text, SQLERRM;
            RETURN;
        WHEN unique_violation THEN
            RETURN QUERY SELECT 'conflict'::text,
                'an alternate id of the profile belongs to another profile'
                ::text;
            RETURN;
    END;
    RETURN QUERY SELECT 'patched'::text,
        (SELECT prefs_data_profile_json(p, false)::text
           FROM prefs_profile p WHERE p.profile_id = p_profile_id);
END
$$;

-- PATCH Profile/AlternateIdType/{type}/AlternateId/{value}
CREATE OR REPLACE FUNCTION prefs_profile_patch_alternate(p_account_id bigint,
    p_user_id bigint, p_type text, p_value text, p_patch jsonb,
    p_flags jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    pid  bigint;
BEGIN
    SELECT a.profile_id INTO pid FROM prefs_profile_alternate_id a
     WHERE a.account_id = p_account_id AND a.type = p_type
       AND a.value = p_value AND a.is_active
     LIMIT 1;
    IF pid IS NULL THEN
        RETURN QUERY SELECT 'not_found'::text,
            'no profile has that alternate id'::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM prefs_profile_patch(p_account_id, p_user_id,
        pid, p_patch, p_flags);
END
$$;
