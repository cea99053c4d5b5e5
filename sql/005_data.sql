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


-- Creates the daily partitions from today (UTC) to p_days_ahead days
-- ahead, and drops those wholly older than p_keep_days days (and the
-- DEFAULT partition's rows that old).  Returns what it did:
-- ('created' | 'dropped', partition name).  Idempotent.
CREATE OR REPLACE FUNCTION prefs_event_partitions(p_days_ahead integer,
    p_keep_days integer)
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql AS $$
DECLARE
    today  date := (now() AT TIME ZONE 'UTC')::date;
    d      date;
    lo     timestamptz;
    hi     timestamptz;
    nm     text;
    r      record;
BEGIN
    IF p_days_ahead IS NULL OR p_days_ahead < 0 OR p_keep_days IS NULL
       OR p_keep_days < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'prefs_event_partitions: days ahead must be >= 0 and '
                      'days kept >= 1';
    END IF;
    -- serialize concurrent callers
    PERFORM pg_advisory_xact_lock(hashtext('prefs_event_partitions'));

    FOR i IN 0 .. p_days_ahead LOOP
        d := today + i;
        nm := 'prefs_event_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(nm) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        -- rows of that day already in DEFAULT go along
        EXECUTE format('CREATE TABLE %I (LIKE prefs_event INCLUDING DEFAULTS '
                       'INCLUDING CONSTRAINTS)', nm);
        EXECUTE format('WITH m AS (DELETE FROM prefs_event_default '
                       'WHERE recorded_date >= $1 AND recorded_date < $2 '
                       'RETURNING *) INSERT INTO %I SELECT * FROM m', nm)
            USING lo, hi;
        EXECUTE format('ALTER TABLE prefs_event ATTACH PARTITION %I '
                       'FOR VALUES FROM (%L) TO (%L)', nm, lo, hi);
        action := 'created';
        partition_name := nm;
        RETURN NEXT;
    END LOOP;

    FOR r IN SELECT c.relname
               FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'prefs_event'::regclass
                AND c.relname ~ '^prefs_event_p[0-9]{8}$'
              ORDER BY c.relname
    LOOP
        d := to_date(substr(r.relname, 14), 'YYYYMMDD');
        IF d + 1 <= today - p_keep_days THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            action := 'dropped';
            partition_name := r.relname;
            RETURN NEXT;
        END IF;
    END LOOP;
    DELETE FROM prefs_event_default
     WHERE recorded_date < (today - p_keep_days)::timestamp AT TIME ZONE 'UTC';
END
$$;

SELECT count(*) FROM prefs_event_partitions(7, 15);


-- --------------------------------------------------------------------------
-- Events

CREATE OR REPLACE FUNCTION prefs_event_entity(p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE split_part(p_type, '.', 1)
        WHEN 'profile' THEN 'ProfileActions'
        WHEN 'preference' THEN 'Preferences'
        WHEN 'consent' THEN 'Consents'
        WHEN 'contacts' THEN 'Contacts'
        WHEN 'standardfield' THEN 'StandardFields'
        WHEN 'customfield' THEN 'CustomFields'
        WHEN 'group' THEN 'Groups'
        WHEN 'tag' THEN 'Tags'
        ELSE 'Other' END
$$;

CREATE OR REPLACE FUNCTION prefs_event_add(p_account_id bigint,
    p_user_id bigint, p_type text, p_profile_id bigint, p_data jsonb,
    p_previous jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO prefs_event (account_id, event_type, entity, subject,
                             profile_id, data, previous_data, recorded_by)
    VALUES (p_account_id, p_type, prefs_event_entity(p_type),
            'Profile/' || p_profile_id, p_profile_id, p_data, p_previous,
            p_user_id)
    RETURNING event_id
$$;


-- --------------------------------------------------------------------------
-- JSON of the parts

CREATE OR REPLACE FUNCTION prefs_data_email_json(e prefs_profile_email)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('EmailId', e.email_id, 'Address', e.address,
        'Type', e.type, 'IsDefault', e.is_default)
$$;

CREATE OR REPLACE FUNCTION prefs_data_phone_json(p prefs_profile_phone)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('PhoneId', p.phone_id, 'Number', p.number,
        'Type', p.type, 'IsMobile', p.is_mobile, 'IsDefault', p.is_default)
$$;

CREATE OR REPLACE FUNCTION prefs_data_address_json(a prefs_profile_address)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('AddressId', a.address_id, 'Line1', a.line1,
        'Line2', a.line2, 'City', a.city, 'State', a.state,
        'PostalCode', a.postal_code, 'Country', a.country, 'Type', a.type,
        'IsDefault', a.is_default)
$$;

CREATE OR REPLACE FUNCTION prefs_data_pref_json(p prefs_preference)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('FilterId', p.filter_id,
        'ChannelId', p.channel_id,
        'ContactPoint', CASE
            WHEN p.email_id IS NOT NULL THEN to_json((SELECT e.address
                FROM prefs_profile_email e WHERE e.email_id = p.email_id))
            WHEN p.phone_id IS NOT NULL THEN to_json((SELECT ph.number
                FROM prefs_profile_phone ph WHERE ph.phone_id = p.phone_id))
            WHEN p.address_id IS NOT NULL THEN to_json(p.address_id)
            END,
        'PreferenceType', p.preference_type,
        'FrequencyId', p.frequency_id,
        'Attributes', p.attributes,
        'CustomerDate', prefs_iso(p.customer_date),
        'ExpirationDate', prefs_iso(p.expiration_date),
        'IsArchived', p.is_archived)
$$;

CREATE OR REPLACE FUNCTION prefs_data_status_name(s smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['Granted', 'Denied', 'Revoked', 'NotSet'])[s]
$$;

CREATE OR REPLACE FUNCTION prefs_data_consent_json(c prefs_consent)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('TypeName', c.type_name, 'Version', c.version,
        'Status', prefs_data_status_name(c.status),
        'RecordedDate', prefs_iso(c.recorded_at),
        'CustomerDate', prefs_iso(c.customer_date),
        'ExpirationDate', prefs_iso(c.expiration_date))
$$;

-- The profile as GET answers it (json keeps the field order).
CREATE OR REPLACE FUNCTION prefs_data_profile_json(p prefs_profile,
    p_include_history boolean)
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'ProfileId', p.profile_id,
        'Prefix', p.prefix, 'FirstName', p.first_name,
        'MiddleName', p.middle_name, 'LastName', p.last_name,
        'Suffix', p.suffix,
        'DefaultLocale', p.default_locale,
        'CustomerType', p.customer_type,
        'RegistrationConfirmed', p.registration_confirmed,
        'IsActive', p.is_active,
        'ReasonCode', p.reason_code,
        'AlternateIds', coalesce((SELECT json_agg(json_build_object(
                'Type', a.type, 'Value', a.value)
                ORDER BY a.type, a.alternate_id_id)
            FROM prefs_profile_alternate_id a
            WHERE a.profile_id = p.profile_id AND a.is_active), '[]'),
        'Emails', coalesce((SELECT json_agg(prefs_data_email_json(e)
                ORDER BY e.email_id)
            FROM prefs_profile_email e
            WHERE e.profile_id = p.profile_id AND e.is_active), '[]'),
        'PhoneNumbers', coalesce((SELECT json_agg(prefs_data_phone_json(ph)
                ORDER BY ph.phone_id)
            FROM prefs_profile_phone ph
            WHERE ph.profile_id = p.profile_id AND ph.is_active), '[]'),
        'Addresses', coalesce((SELECT json_agg(prefs_data_address_json(ad)
                ORDER BY ad.address_id)
            FROM prefs_profile_address ad
            WHERE ad.profile_id = p.profile_id AND ad.is_active), '[]'),
        'CustomFields', coalesce((SELECT json_agg(json_build_object(
                'Name', cf.name, 'Value', cf.value) ORDER BY cf.name)
            FROM prefs_profile_custom_field cf
            WHERE cf.profile_id = p.profile_id), '[]'),
        'Groups', coalesce((SELECT json_agg(json_build_object(
                'Type', g.group_type, 'Name', g.group_name)
                ORDER BY g.group_type, g.group_name)
            FROM prefs_profile_group g
            WHERE g.profile_id = p.profile_id), '[]'),
        'Tags', coalesce((SELECT json_agg(t.tag ORDER BY t.tag)
            FROM prefs_profile_tag t WHERE t.profile_id = p.profile_id), '[]'),
        'ProfilePreferences', coalesce((SELECT json_agg(prefs_data_pref_json(pr)
                ORDER BY pr.preference_id)
            FROM prefs_preference pr WHERE pr.profile_id = p.profile_id), '[]'),
        'Consents', coalesce((SELECT json_agg(prefs_data_consent_json(c)
                ORDER BY c.type_name, c.version, c.recorded_at, c.consent_id)
            FROM prefs_consent c
            WHERE c.profile_id = p.profile_id
              AND (p_include_history OR c.consent_id = (
                    SELECT max(c2.consent_id) FROM prefs_consent c2
                     WHERE c2.profile_id = p.profile_id
                       AND c2.type_name = c.type_name))), '[]'),
        'Edited', json_build_object('By', p.edited_by,
                                    'Date', prefs_iso(p.edited_at)))
$$;


-- --------------------------------------------------------------------------
-- Validation helpers (PF001 via prefs_cfg_fail, see 003)

-- The body of the account's active configuration item, or NULL.
CREATE OR REPLACE FUNCTION prefs_data_item(p_account_id bigint, p_kind text,
    p_key text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT i.body FROM prefs_config_item i
     WHERE i.account_id = p_account_id AND i.kind = p_kind AND i.key = p_key
       AND i.is_active
$$;

-- Optional reference to a configured item: NULL when absent, null or "".
CREATE OR REPLACE FUNCTION prefs_data_ref(p_account_id bigint, o jsonb,
    p_path text, p_field text, p_kind text, p_required boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v     text := prefs_cfg_text(o, p_path, p_field, p_required, 100) #>> '{}';
    noun  text;
BEGIN
    IF v = '' THEN
        RETURN NULL;
    END IF;
    IF prefs_data_item(p_account_id, p_kind, v) IS NULL THEN
        SELECT x.noun INTO noun FROM prefs_config_kinds() x
         WHERE x.kind = p_kind;
        PERFORM prefs_cfg_fail(prefs_cfg_at(p_path, p_field),
            format('%s is not an active %s', prefs_cfg_quote(v), noun));
    END IF;
    RETURN v;
END
$$;

-- Phone numbers: "+1 (555) 010-0100" -> "+15550100100".
CREATE OR REPLACE FUNCTION prefs_data_phone_norm(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p ~ '^\s*\+' THEN '+' ELSE '' END
           || regexp_replace(p, '[^0-9]', '', 'g')
$$;

-- A timestamp: ISO 8601; without an offset p_zone is assumed.  A date
-- alone is p_date_time (local) of that day.
CREATE OR REPLACE FUNCTION prefs_data_time(v jsonb, p_path text,
    p_zone text, p_date_time time)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    s  text;
BEGIN
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM prefs_cfg_fail(p_path, 'must be an ISO 8601 date');
    END IF;
    s := v #>> '{}';
    BEGIN
        IF s ~ '^\d{4}-\d{2}-\d{2}$' THEN
            RETURN (s::date + p_date_time) AT TIME ZONE p_zone;
        ELSIF s ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$' THEN
            RETURN s::timestamp AT TIME ZONE p_zone;
        ELSIF s ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?'
                  '(Z|z|[+-]\d{2}(:?\d{2})?)$' THEN
            RETURN s::timestamptz;
        END IF;
    EXCEPTION WHEN data_exception THEN
        NULL;
    END;
    PERFORM prefs_cfg_fail(p_path, 'must be an ISO 8601 date such as '
                                   '2026-01-31T12:00:00Z');
    RETURN NULL;
END
$$;

-- CustomerDate: absent is now; no offset is US Eastern; a date alone is
-- 00:00 ET for an opt-in, 23:59:59 ET for an opt-out.
CREATE OR REPLACE FUNCTION prefs_data_customer_date(o jsonb, p_path text,
    p_opt_out boolean)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    v  jsonb := prefs_cfg_get(o, 'CustomerDate');
BEGIN
    IF v IS NULL OR v = '""' THEN
        RETURN now();
    END IF;
    RETURN prefs_data_time(v, prefs_cfg_at(p_path, 'CustomerDate'),
        'America/New_York',
        CASE WHEN p_opt_out THEN time '23:59:59' ELSE time '00:00' END);
END
$$;

-- A custom field's value, checked against its DataType; stored as text.
CREATE OR REPLACE FUNCTION prefs_data_custom_value(cfg jsonb, v jsonb,
    p_path text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t  text := cfg ->> 'DataType';
    s  text;
BEGIN
    IF jsonb_typeof(v) = 'string' THEN
        s := v #>> '{}';
    ELSIF jsonb_typeof(v) IN ('number', 'boolean') THEN
        s := v::text;
    ELSE
        PERFORM prefs_cfg_fail(p_path, 'must be a string');
    END IF;
    IF t = 'String' THEN
        IF char_length(s) > 4000 THEN
            PERFORM prefs_cfg_fail(p_path, 'must be at most 4000 characters');
        END IF;
    ELSIF t = 'Number' THEN
        IF s !~ '^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$' THEN
            PERFORM prefs_cfg_fail(p_path, 'must be a number');
        END IF;
        s := btrim(s);
    ELSIF t = 'Boolean' THEN
        IF lower(s) NOT IN ('true', 'false') THEN
            PERFORM prefs_cfg_fail(p_path, 'must be true or false');
        END IF;
        s := lower(s);
    ELSIF t = 'Date' THEN
        BEGIN
            IF s !~ '^\d{4}-\d{2}-\d{2}$' OR s::date IS NULL THEN
                s := NULL;
            END IF;
        EXCEPTION WHEN data_exception THEN
            s := NULL;
        END;
        IF s IS NULL THEN
            PERFORM prefs_cfg_fail(p_path, 'must be a date (YYYY-MM-DD)');
        END IF;
    ELSIF t = 'DateTime' THEN
        s := prefs_iso(prefs_data_time(to_jsonb(s), p_path, 'UTC',
                                       time '00:00'));
    ELSIF t = 'List' THEN
        IF NOT (cfg -> 'AllowedValues') ? s THEN
            PERFORM prefs_cfg_fail(p_path, 'must be one of '
                || (SELECT string_agg(x, ', ') FROM
                    jsonb_array_elements_text(cfg -> 'AllowedValues') AS x));
        END IF;
    END IF;
    RETURN s;
END
$$;

CREATE OR REPLACE FUNCTION prefs_data_conflict(p_message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PF002', MESSAGE = p_message;
END
$$;


-- --------------------------------------------------------------------------
-- Applying a body: create (p_create) or UpdateProfile.  Raises PF001 /
-- PF002; the caller runs it in a subtransaction.

CREATE OR REPLACE FUNCTION prefs_data_apply(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, b jsonb, p_create boolean)
RETURNS boolean   -- whether anything changed
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pr        prefs_profile%ROWTYPE;
    changed   boolean := false;
    e         record;
    ep        text;
    f         text;
    col       text;
    nv        text;
    ov        text;
    v         jsonb;
    t         text;
    isdef     boolean;
    ismob     boolean;
    em        prefs_profile_email%ROWTYPE;
    ph        prefs_profile_phone%ROWTYPE;
    ad        prefs_profile_address%ROWTYPE;
    pf        prefs_preference%ROWTYPE;
    cs        prefs_consent%ROWTYPE;
    old_js    jsonb;
    cfg       jsonb;
    seen      jsonb;
    defseen   boolean;
    fid       text;
    chan      text;
    freq      text;
    ptype     integer;
    cdate     timestamptz;
    xdate     timestamptz;
    days      bigint;
    ckey      text;
    eid       bigint;
    pid       bigint;
    aid       bigint;
    attrs     jsonb;
    st        integer;
    ver       jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['ProfileId', 'Prefix', 'FirstName',
        'MiddleName', 'LastName', 'Suffix', 'DefaultLocale', 'CustomerType',
        'RegistrationConfirmed', 'IsActive', 'ReasonCode', 'AlternateIds',
        'Emails', 'PhoneNumbers', 'Addresses', 'CustomFields', 'Groups',
        'Tags', 'ProfilePreferences', 'Consents', 'Edited']);
    IF prefs_cfg_get(b, 'ProfileId') IS NOT NULL THEN
        IF p_create THEN
            PERFORM prefs_cfg_fail('ProfileId', 'is assigned by the server');
        END IF;
        IF jsonb_typeof(b -> 'ProfileId') <> 'number' THEN
            PERFORM prefs_cfg_fail('ProfileId', 'must be a number');
        END IF;
        IF (b ->> 'ProfileId')::numeric <> p_profile_id THEN
            PERFORM prefs_cfg_fail('ProfileId',
                'differs from the profile id of the path');
        END IF;
    END IF;
    PERFORM prefs_cfg_bool(b, '', 'IsActive', true);   -- read-only
    PERFORM prefs_cfg_text(b, '', 'ReasonCode', false, 256);  -- read-only

    SELECT * INTO pr FROM prefs_profile p
     WHERE p.profile_id = p_profile_id FOR UPDATE;

    -- Standard fields
    FOREACH f IN ARRAY ARRAY['Prefix', 'FirstName', 'MiddleName', 'LastName',
                             'Suffix']
    LOOP
        CONTINUE WHEN NOT b ? f;
        nv := prefs_cfg_text(b, '', f, false, 50) #>> '{}';
        col := CASE f WHEN 'FirstName' THEN 'first_name'
                      WHEN 'MiddleName' THEN 'middle_name'
                      WHEN 'LastName' THEN 'last_name' ELSE lower(f) END;
        ov := to_jsonb(pr) ->> col;
        CONTINUE WHEN nv = ov;
        EXECUTE format('UPDATE prefs_profile SET %I = $1 WHERE profile_id = $2',
                       col) USING nv, p_profile_id;
        changed := true;
        IF NOT p_create THEN
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'standardfield.' || lower(f) || '.'
                || CASE WHEN ov = '' THEN 'added' WHEN nv = '' THEN 'deleted'
                        ELSE 'updated' END,
                p_profile_id, jsonb_build_object(f, nv),
                CASE WHEN ov <> '' THEN jsonb_build_object(f, ov) END);
        END IF;
    END LOOP;

    IF b ? 'DefaultLocale' THEN
        v := prefs_cfg_get(b, 'DefaultLocale');
        IF v IS NOT NULL AND v <> '""' THEN
            IF jsonb_typeof(v) <> 'string' OR char_length(v #>> '{}') > 15 THEN
                PERFORM prefs_cfg_fail('DefaultLocale',
                    'must be a locale id of at most 15 characters');
            END IF;
            nv := prefs_locale_canonical(v #>> '{}');
            IF prefs_data_item(p_account_id, 'Locale', nv) IS NULL THEN
                PERFORM prefs_cfg_fail('DefaultLocale', format(
                    '%s is not an active locale', prefs_cfg_quote(nv)));
            END IF;
        ELSE
            nv := NULL;
        END IF;
        IF nv IS DISTINCT FROM pr.default_locale THEN
            UPDATE prefs_profile SET default_locale = nv
             WHERE profile_id = p_profile_id;
            changed := true;
            IF NOT p_create THEN
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'standardfield.defaultlocale.updated', p_profile_id,
                    jsonb_build_object('DefaultLocale', nv),
                    jsonb_build_object('DefaultLocale', pr.default_locale));
            END IF;
        END IF;
    END IF;

    IF b ? 'CustomerType' THEN
        nv := prefs_data_ref(p_account_id, b, '', 'CustomerType',
                             'CustomerType', false);
        IF nv IS DISTINCT FROM pr.customer_type THEN
            UPDATE prefs_profile SET customer_type = nv
             WHERE profile_id = p_profile_id;
            changed := true;
            IF NOT p_create THEN
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'contacts.customertype.updated', p_profile_id,
                    jsonb_build_object('CustomerType', nv),
                    jsonb_build_object('CustomerType', pr.customer_type));
            END IF;
        END IF;
    END IF;

    IF prefs_cfg_get(b, 'RegistrationConfirmed') IS NOT NULL THEN
        isdef := prefs_cfg_bool(b, '', 'RegistrationConfirmed', false)::text
                 ::boolean;
        IF isdef <> pr.registration_confirmed THEN
            UPDATE prefs_profile SET registration_confirmed = isdef
             WHERE profile_id = p_profile_id;
            changed := true;
            IF NOT p_create THEN
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'standardfield.registrationstatus.updated', p_profile_id,
                    jsonb_build_object('RegistrationConfirmed', isdef),
                    jsonb_build_object('RegistrationConfirmed',
                                       pr.registration_confirmed));
            END IF;
        END IF;
    END IF;

    -- Alternate ids: one per type and profile
    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'AlternateIds', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'AlternateIds[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['Type', 'Value']);
        t := prefs_data_ref(p_account_id, e.v, ep, 'Type', 'AlternateIdType',
                            true);
        seen := prefs_cfg_once(seen, t, ep || '.Type');
        nv := prefs_cfg_text(e.v, ep, 'Value', true, 100) #>> '{}';
        SELECT a.value INTO ov FROM prefs_profile_alternate_id a
         WHERE a.profile_id = p_profile_id AND a.type = t AND a.is_active;
        CONTINUE WHEN FOUND AND ov = nv;
        IF EXISTS (SELECT 1 FROM prefs_profile_alternate_id a
                    WHERE a.account_id = p_account_id AND a.type = t
                      AND a.value = nv AND a.is_active) THEN
            PERFORM prefs_data_conflict(format('%s.Value: alternate id %s %s '
                'belongs to another profile', ep, prefs_cfg_quote(t),
                prefs_cfg_quote(nv)));
        END IF;
        changed := true;
        IF ov IS NOT NULL THEN
            UPDATE prefs_profile_alternate_id a
               SET value = nv, updated_at = now()
             WHERE a.profile_id = p_profile_id AND a.type = t AND a.is_active;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.alternateid.updated', p_profile_id,
                jsonb_build_object('Type', t, 'Value', nv),
                jsonb_build_object('Type', t, 'Value', ov));
        ELSE
            INSERT INTO prefs_profile_alternate_id
                   (account_id, profile_id, type, value)
            VALUES (p_account_id, p_profile_id, t, nv);
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.alternateid.added', p_profile_id,
                jsonb_build_object('Type', t, 'Value', nv));
        END IF;
        ov := NULL;
    END LOOP;

    -- Emails, matched by address (case-insensitive)
    seen := '{}';
    defseen := false;
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Emails', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Emails[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['EmailId', 'Address', 'Type',
                                                'IsDefault']);
        nv := prefs_cfg_text(e.v, ep, 'Address', true, 254) #>> '{}';
        IF nv !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@.[:space:][:cntrl:]]+$'
        THEN
            PERFORM prefs_cfg_fail(ep || '.Address',
                'must be an email address such as name@example.com');
        END IF;
        seen := prefs_cfg_once(seen, lower(nv), ep || '.Address');
        t := prefs_data_ref(p_account_id, e.v, ep, 'Type', 'EmailType', false);
        isdef := (prefs_cfg_bool(e.v, ep, 'IsDefault', false))::text::boolean;
        IF isdef THEN
            IF defseen THEN
                PERFORM prefs_cfg_fail(ep || '.IsDefault',
                    'must be false: only one email can be the default');
            END IF;
            defseen := true;
        END IF;
        SELECT * INTO em FROM prefs_profile_email x
         WHERE x.profile_id = p_profile_id AND x.is_active
           AND lower(x.address) = lower(nv);
        IF FOUND THEN
            old_js := prefs_data_email_json(em)::jsonb;
            IF NOT prefs_cfg_get(e.v, 'Type') IS NULL THEN
                em.type := t;
            END IF;
            IF prefs_cfg_get(e.v, 'IsDefault') IS NOT NULL THEN
                em.is_default := isdef;
            END IF;
            em.address := nv;
        ELSE
            old_js := NULL;
            INSERT INTO prefs_profile_email (account_id, profile_id, address,
                                             type, is_default)
            VALUES (p_account_id, p_profile_id, nv, t, false)
            RETURNING * INTO em;
            em.is_default := isdef OR NOT EXISTS (
                SELECT 1 FROM prefs_profile_email x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.is_default);
        END IF;
        IF em.is_default THEN
            UPDATE prefs_profile_email x SET is_default = false
             WHERE x.profile_id = p_profile_id AND x.email_id <> em.email_id
               AND x.is_default;
        END IF;
        UPDATE prefs_profile_email x
           SET address = em.address, type = em.type,
               is_default = em.is_default, updated_at = now()
         WHERE x.email_id = em.email_id;
        IF old_js IS NULL THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.email.added', p_profile_id,
                prefs_data_email_json(em)::jsonb);
        ELSIF old_js <> prefs_data_email_json(em)::jsonb THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.email.updated', p_profile_id,
                prefs_data_email_json(em)::jsonb, old_js);
        END IF;
    END LOOP;

    -- Phone numbers, matched by the normalized number
    seen := '{}';
    defseen := false;
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'PhoneNumbers', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'PhoneNumbers[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['PhoneId', 'Number', 'Type',
                                                'IsMobile', 'IsDefault']);
        nv := prefs_cfg_text(e.v, ep, 'Number', true, 30) #>> '{}';
        IF nv !~ '^\s*\+?[0-9 ().-]+$'
           OR length(prefs_data_phone_norm(nv)) NOT BETWEEN 3 AND 16 THEN
            PERFORM prefs_cfg_fail(ep || '.Number', 'must be a phone number: '
                'an optional "+" and 3 to 15 digits');
        END IF;
        nv := prefs_data_phone_norm(nv);
        seen := prefs_cfg_once(seen, nv, ep || '.Number');
        t := prefs_data_ref(p_account_id, e.v, ep, 'Type', 'PhoneType', false);
        isdef := (prefs_cfg_bool(e.v, ep, 'IsDefault', false))::text::boolean;
        ismob := (prefs_cfg_bool(e.v, ep, 'IsMobile', false))::text::boolean;
        IF isdef THEN
            IF defseen THEN
                PERFORM prefs_cfg_fail(ep || '.IsDefault',
                    'must be false: only one phone number can be the default');
            END IF;
            defseen := true;
        END IF;
        SELECT * INTO ph FROM prefs_profile_phone x
         WHERE x.profile_id = p_profile_id AND x.is_active AND x.number = nv;
        IF FOUND THEN
            old_js := prefs_data_phone_json(ph)::jsonb;
            IF prefs_cfg_get(e.v, 'Type') IS NOT NULL THEN
                ph.type := t;
            END IF;
            IF prefs_cfg_get(e.v, 'IsDefault') IS NOT NULL THEN
                ph.is_default := isdef;
            END IF;
            IF prefs_cfg_get(e.v, 'IsMobile') IS NOT NULL THEN
                IF ph.is_mobile AND NOT ismob THEN
                    -- no longer mobile: its text preferences are archived
                    FOR pf IN UPDATE prefs_preference x
                                 SET is_archived = true, updated_at = now()
                               WHERE x.phone_id = ph.phone_id
                                 AND x.channel_id = 'Text'
                                 AND NOT x.is_archived
                              RETURNING *
                    LOOP
                        PERFORM prefs_event_add(p_account_id, p_user_id,
                            'preference.archived', p_profile_id,
                            prefs_data_pref_json(pf)::jsonb);
                    END LOOP;
                END IF;
                ph.is_mobile := ismob;
            END IF;
        ELSE
            old_js := NULL;
            INSERT INTO prefs_profile_phone (account_id, profile_id, number,
                                             type, is_mobile, is_default)
            VALUES (p_account_id, p_profile_id, nv, t, ismob, false)
            RETURNING * INTO ph;
            ph.is_default := isdef OR NOT EXISTS (
                SELECT 1 FROM prefs_profile_phone x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.is_default);
        END IF;
        IF ph.is_default THEN
            UPDATE prefs_profile_phone x SET is_default = false
             WHERE x.profile_id = p_profile_id AND x.phone_id <> ph.phone_id
               AND x.is_default;
        END IF;
        UPDATE prefs_profile_phone x
           SET type = ph.type, is_mobile = ph.is_mobile,
               is_default = ph.is_default, updated_at = now()
         WHERE x.phone_id = ph.phone_id;
        IF old_js IS NULL THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.phone.added', p_profile_id,
                prefs_data_phone_json(ph)::jsonb);
        ELSIF old_js <> prefs_data_phone_json(ph)::jsonb THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.phone.updated', p_profile_id,
                prefs_data_phone_json(ph)::jsonb, old_js);
        END IF;
    END LOOP;

    -- Addresses: matched by AddressId when given, else by Line1 + PostalCode
    defseen := false;
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Addresses', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Addresses[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['AddressId', 'Line1', 'Line2',
            'City', 'State', 'PostalCode', 'Country', 'Type', 'IsDefault']);
        aid := (prefs_cfg_int(e.v, ep, 'AddressId', 1, 9223372036854775807,
                              NULL, true)) #>> '{}';
        ad := NULL;
        ad.line1 := prefs_cfg_text(e.v, ep, 'Line1', true, 100) #>> '{}';
        ad.line2 := prefs_cfg_text(e.v, ep, 'Line2', false, 100) #>> '{}';
        ad.city := prefs_cfg_text(e.v, ep, 'City', false, 50) #>> '{}';
        ad.state := prefs_cfg_text(e.v, ep, 'State', false, 50) #>> '{}';
        ad.postal_code := prefs_cfg_text(e.v, ep, 'PostalCode', false, 20)
                          #>> '{}';
        ad.country := prefs_cfg_text(e.v, ep, 'Country', false, 50) #>> '{}';
        ad.type := prefs_data_ref(p_account_id, e.v, ep, 'Type', 'AddressType',
                                  false);
        isdef := (prefs_cfg_bool(e.v, ep, 'IsDefault', false))::text::boolean;
        IF isdef THEN
            IF defseen THEN
                PERFORM prefs_cfg_fail(ep || '.IsDefault',
                    'must be false: only one address can be the default');
            END IF;
            defseen := true;
        END IF;
        IF aid IS NOT NULL THEN
            SELECT a.address_id INTO ad.address_id
              FROM prefs_profile_address a
             WHERE a.profile_id = p_profile_id AND a.is_active
               AND a.address_id = aid;
            IF ad.address_id IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.AddressId', format(
                    'is not an address of this profile (%s)', aid));
            END IF;
        ELSE
            SELECT a.address_id INTO ad.address_id
              FROM prefs_profile_address a
             WHERE a.profile_id = p_profile_id AND a.is_active
               AND lower(a.line1) = lower(ad.line1)
               AND lower(a.postal_code) = lower(ad.postal_code)
             ORDER BY a.address_id LIMIT 1;
        END IF;
        IF ad.address_id IS NOT NULL THEN
            SELECT prefs_data_address_json(a)::jsonb INTO old_js
              FROM prefs_profile_address a WHERE a.address_id = ad.address_id;
            IF prefs_cfg_get(e.v, 'IsDefault') IS NULL THEN
                SELECT a.is_default INTO isdef FROM prefs_profile_address a
                 WHERE a.address_id = ad.address_id;
            END IF;
            UPDATE prefs_profile_address a
               SET line1 = ad.line1, line2 = ad.line2, city = ad.city,
                   state = ad.state, postal_code = ad.postal_code,
                   country = ad.country,
                   type = CASE WHEN prefs_cfg_get(e.v, 'Type') IS NULL
                               THEN a.type ELSE ad.type END,
                   is_default = isdef, updated_at = now()
             WHERE a.address_id = ad.address_id;
        ELSE
            old_js := NULL;
            isdef := isdef OR NOT EXISTS (
                SELECT 1 FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.is_default);
            INSERT INTO prefs_profile_address (account_id, profile_id, line1,
                line2, city, state, postal_code, country, type, is_default)
            VALUES (p_account_id, p_profile_id, ad.line1, ad.line2, ad.city,
                ad.state, ad.postal_code, ad.country, ad.type, isdef)
            RETURNING address_id INTO ad.address_id;
        END IF;
        IF isdef THEN
            UPDATE prefs_profile_address x SET is_default = false
             WHERE x.profile_id = p_profile_id
               AND x.address_id <> ad.address_id AND x.is_default;
        END IF;
        SELECT * INTO ad FROM prefs_profile_address a
         WHERE a.address_id = ad.address_id;
        IF old_js IS NULL THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.address.added', p_profile_id,
                prefs_data_address_json(ad)::jsonb);
        ELSIF old_js <> prefs_data_address_json(ad)::jsonb THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'contacts.address.updated', p_profile_id,
                prefs_data_address_json(ad)::jsonb, old_js);
        END IF;
    END LOOP;

    -- Custom fields
    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'CustomFields', 200))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'CustomFields[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['Name', 'Value']);
        f := prefs_cfg_text(e.v, ep, 'Name', true, 100) #>> '{}';
        cfg := prefs_data_item(p_account_id, 'CustomField', f);
        IF cfg IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.Name', format(
                '%s is not an active custom field', prefs_cfg_quote(f)));
        END IF;
        seen := prefs_cfg_once(seen, f, ep || '.Name');
        SELECT c.value INTO ov FROM prefs_profile_custom_field c
         WHERE c.profile_id = p_profile_id AND c.name = f;
        IF NOT FOUND THEN
            ov := NULL;
        END IF;
        v := prefs_cfg_get(e.v, 'Value');
        IF v IS NULL THEN
            IF p_create THEN
                PERFORM prefs_cfg_fail(ep || '.Value', 'is required');
            END IF;
            IF (cfg ->> 'IsRequired')::boolean THEN
                PERFORM prefs_cfg_fail(ep || '.Value',
                    'is required: the custom field cannot be removed');
            END IF;
            CONTINUE WHEN ov IS NULL;
            DELETE FROM prefs_profile_custom_field c
             WHERE c.profile_id = p_profile_id AND c.name = f;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'customfield.deleted', p_profile_id,
                jsonb_build_object('Name', f),
                jsonb_build_object('Name', f, 'Value', ov));
            CONTINUE;
        END IF;
        nv := prefs_data_custom_value(cfg, v, ep || '.Value');
        CONTINUE WHEN nv = ov;
        changed := true;
        INSERT INTO prefs_profile_custom_field AS c
               (account_id, profile_id, name, value)
        VALUES (p_account_id, p_profile_id, f, nv)
        ON CONFLICT (profile_id, name) DO UPDATE
           SET value = EXCLUDED.value, updated_at = now();
        PERFORM prefs_event_add(p_account_id, p_user_id,
            CASE WHEN ov IS NULL THEN 'customfield.added'
                 ELSE 'customfield.updated' END, p_profile_id,
            jsonb_build_object('Name', f, 'Value', nv),
            CASE WHEN ov IS NOT NULL
                 THEN jsonb_build_object('Name', f, 'Value', ov) END);
    END LOOP;
    IF p_create THEN
        SELECT i.key INTO f FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = 'CustomField'
           AND i.is_active AND i.body -> 'IsRequired' = 'true'
           AND NOT seen ? i.key
         ORDER BY i.key LIMIT 1;
        IF FOUND THEN
            PERFORM prefs_cfg_fail('CustomFields', format(
                'must include the required custom field %s',
                prefs_cfg_quote(f)));
        END IF;
    END IF;

    -- Groups
    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Groups', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Groups[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['Type', 'Name']);
        t := prefs_data_ref(p_account_id, e.v, ep, 'Type', 'GroupType', true);
        nv := prefs_cfg_text(e.v, ep, 'Name', true, 100) #>> '{}';
        seen := prefs_cfg_once(seen, t || '/' || nv, ep);
        INSERT INTO prefs_profile_group (account_id, profile_id, group_type,
                                         group_name)
        VALUES (p_account_id, p_profile_id, t, nv)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id, 'group.added',
                p_profile_id, jsonb_build_object('Type', t, 'Name', nv));
        END IF;
    END LOOP;

    -- Tags
    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Tags', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Tags[' || e.i || ']';
        IF jsonb_typeof(e.v) <> 'string' THEN
            PERFORM prefs_cfg_fail(ep, 'must be a string');
        END IF;
        nv := e.v #>> '{}';
        IF prefs_data_item(p_account_id, 'Tag', nv) IS NULL THEN
            PERFORM prefs_cfg_fail(ep, format('%s is not an active tag',
                                              prefs_cfg_quote(nv)));
        END IF;
        seen := prefs_cfg_once(seen, nv, ep);
        INSERT INTO prefs_profile_tag (account_id, profile_id, tag)
        VALUES (p_account_id, p_profile_id, nv)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id, 'tag.added',
                p_profile_id, jsonb_build_object('Tag', nv));
        END IF;
    END LOOP;

    -- Preferences, upserted by (FilterId, ContactPoint)
    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'ProfilePreferences', 500))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'ProfilePreferences[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['FilterId', 'ChannelId',
            'ContactPoint', 'PreferenceType', 'FrequencyId', 'Attributes',
            'CustomerDate', 'ExpirationDate', 'IsArchived']);
        fid := prefs_cfg_text(e.v, ep, 'FilterId', true, 50) #>> '{}';
        cfg := prefs_data_item(p_account_id, 'Filter', fid);
        IF cfg IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.FilterId', format(
                '%s is not an active filter', prefs_cfg_quote(fid)));
        END IF;
        chan := cfg ->> 'ChannelId';
        v := prefs_cfg_get(e.v, 'ChannelId');
        IF v IS NOT NULL AND v <> '""' AND v <> to_jsonb(chan) THEN
            PERFORM prefs_cfg_fail(ep || '.ChannelId', format(
                'must be %s, the channel of filter %s', prefs_cfg_quote(chan),
                prefs_cfg_quote(fid)));
        END IF;
        ptype := (prefs_cfg_int(e.v, ep, 'PreferenceType', 1, 2, NULL, false,
                  'must be 1 (opt-in) or 2 (opt-out)')) #>> '{}';
        freq := prefs_cfg_text(e.v, ep, 'FrequencyId', false, 20) #>> '{}';
        IF freq = '' THEN
            SELECT fr ->> 'FrequencyId' INTO freq
              FROM jsonb_array_elements(
                       cfg #> '{FrequencyLocales,0,Frequencies}') AS fr
             WHERE fr -> 'IsDefault' = 'true';
        ELSIF NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(
                         cfg #> '{FrequencyLocales,0,Frequencies}') AS fr
                 WHERE fr ->> 'FrequencyId' = freq) THEN
            PERFORM prefs_cfg_fail(ep || '.FrequencyId', format(
                '%s is not a frequency of filter %s', prefs_cfg_quote(freq),
                prefs_cfg_quote(fid)));
        END IF;
        attrs := prefs_cfg_pairs(e.v, ep, 'Attributes', 4000);
        PERFORM prefs_cfg_bool(e.v, ep, 'IsArchived', false);  -- read-only
        cdate := prefs_data_customer_date(e.v, ep, ptype = 2);
        days := (cfg ->> CASE WHEN ptype = 1
                              THEN 'OptInCustomerExpirationDays'
                              ELSE 'OptOutCustomerExpirationDays' END)::bigint;
        xdate := cdate + make_interval(days => days::integer);

        -- the contact point
        eid := NULL; pid := NULL; aid := NULL;
        v := prefs_cfg_get(e.v, 'ContactPoint');
        IF chan = 'Email' THEN
            IF v IS NULL OR jsonb_typeof(v) <> 'string' THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    'must be an email address of the profile (filter %s is '
                    'on the Email channel)', prefs_cfg_quote(fid)));
            END IF;
            SELECT x.email_id INTO eid FROM prefs_profile_email x
             WHERE x.profile_id = p_profile_id AND x.is_active
               AND lower(x.address) = lower(v #>> '{}');
            IF eid IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    '%s is not an email address of the profile',
                    prefs_cfg_quote(v #>> '{}')));
            END IF;
            ckey := 'E' || eid;
        ELSIF chan IN ('Phone', 'Text', 'Fax') THEN
            IF v IS NULL OR jsonb_typeof(v) <> 'string' THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    'must be a phone number of the profile (filter %s is on '
                    'the %s channel)', prefs_cfg_quote(fid), chan));
            END IF;
            SELECT x.phone_id, x.is_mobile INTO pid, ismob
              FROM prefs_profile_phone x
             WHERE x.profile_id = p_profile_id AND x.is_active
               AND x.number = prefs_data_phone_norm(v #>> '{}');
            IF pid IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    '%s is not a phone number of the profile',
                    prefs_cfg_quote(v #>> '{}')));
            END IF;
            IF chan = 'Text' AND NOT ismob THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    '%s is not a mobile number (filter %s is on the Text '
                    'channel)', prefs_cfg_quote(v #>> '{}'),
                    prefs_cfg_quote(fid)));
            END IF;
            ckey := 'P' || pid;
        ELSIF chan = 'Mail' THEN
            -- an AddressId; absent: the profile's default address
            IF v IS NULL THEN
                SELECT x.address_id INTO aid FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.is_default;
            ELSIF jsonb_typeof(v) = 'number'
                  OR (jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^[0-9]{1,18}$')
            THEN
                SELECT x.address_id INTO aid FROM prefs_profile_address x
                 WHERE x.profile_id = p_profile_id AND x.is_active
                   AND x.address_id::numeric = (v #>> '{}')::numeric;
            END IF;
            IF aid IS NULL THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint', format(
                    'must be the AddressId of an address of the profile '
                    '(filter %s is on the Mail channel)',
                    prefs_cfg_quote(fid)));
            END IF;
            ckey := 'A' || aid;
        ELSE
            IF v IS NOT NULL AND v <> '""' THEN
                PERFORM prefs_cfg_fail(ep || '.ContactPoint',
                    'must be absent: the filter''s channel has no contact point');
            END IF;
            ckey := '';
        END IF;
        seen := prefs_cfg_once(seen, fid || '/' || ckey, ep);

        SELECT * INTO pf FROM prefs_preference x
         WHERE x.profile_id = p_profile_id AND x.filter_id = fid
           AND x.contact_key = ckey FOR UPDATE;
        IF FOUND THEN
            old_js := prefs_data_pref_json(pf)::jsonb;
            UPDATE prefs_preference x
               SET preference_type = ptype, frequency_id = freq,
                   attributes = attrs, customer_date = cdate,
                   expiration_date = xdate, is_archived = false,
                   channel_id = chan, updated_at = now()
             WHERE x.preference_id = pf.preference_id
            RETURNING * INTO pf;
            -- a new CustomerDate alone (defaulted to now) is no change
            IF old_js - 'CustomerDate' - 'ExpirationDate'
               <> prefs_data_pref_json(pf)::jsonb - 'CustomerDate'
                  - 'ExpirationDate'
               OR prefs_cfg_get(e.v, 'CustomerDate') IS NOT NULL
                  AND old_js -> 'CustomerDate'
                      <> prefs_data_pref_json(pf)::jsonb -> 'CustomerDate'
            THEN
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'preference.updated', p_profile_id,
                    prefs_data_pref_json(pf)::jsonb, old_js);
            ELSE
                -- nothing changed: keep the row as it was
                UPDATE prefs_preference x
                   SET customer_date = (old_js ->> 'CustomerDate')::timestamptz,
                       expiration_date =
                           (old_js ->> 'ExpirationDate')::timestamptz
                 WHERE x.preference_id = pf.preference_id;
            END IF;
        ELSE
            INSERT INTO prefs_preference (account_id, profile_id, filter_id,
                channel_id, email_id, phone_id, address_id, contact_key,
                preference_type, frequency_id, attributes, customer_date,
                expiration_date)
            VALUES (p_account_id, p_profile_id, fid, chan, eid, pid, aid, ckey,
                ptype, freq, attrs, cdate, xdate)
            RETURNING * INTO pf;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id, 'preference.added',
                p_profile_id, prefs_data_pref_json(pf)::jsonb);
        END IF;
    END LOOP;

    -- Consents: appended
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(b, '', 'Consents', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Consents[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['TypeName', 'Version',
            'Status', 'CustomerDate', 'RecordedDate', 'ExpirationDate']);
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
        cdate := prefs_data_customer_date(e.v, ep, false);
        SELECT * INTO cs FROM prefs_consent c
         WHERE c.profile_id = p_profile_id AND c.type_name = t
         ORDER BY c.consent_id DESC LIMIT 1;
        old_js := CASE WHEN FOUND THEN prefs_data_consent_json(cs)::jsonb END;
        INSERT INTO prefs_consent (account_id, profile_id, type_name, version,
            status, recorded_by, customer_date, expiration_date)
        VALUES (p_account_id, p_profile_id, t, nv, st, p_user_id, cdate,
            cdate + make_interval(days =>
                        (ver ->> 'ExpirationInDays')::integer))
        RETURNING * INTO cs;
        changed := true;
        PERFORM prefs_event_add(p_account_id, p_user_id,
            CASE WHEN old_js IS NULL THEN 'consent.added'
                 ELSE 'consent.updated' END,
            p_profile_id, prefs_data_consent_json(cs)::jsonb, old_js);
    END LOOP;

    IF changed THEN
        UPDATE prefs_profile p
           SET updated_at = now(), edited_at = now(), edited_by = p_user_id
         WHERE p.profile_id = p_profile_id;
    END IF;
    RETURN changed;
END
$$;


-- --------------------------------------------------------------------------
-- The API

-- POST Profile.  Outcomes: created (profile_id), invalid (message: the
-- field path and why), conflict (an alternate id of another active
-- profile).
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
        PERFORM prefs_data_apply(p_account_id, p_user_id, pid, p_body, true);
        UPDATE prefs_event x
           SET data = (SELECT prefs_data_profile_json(p, false)::jsonb
                         FROM prefs_profile p WHERE p.profile_id = pid)
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

-- GET Profile/{id}: the profile's JSON, NULL when the account has no such
-- profile.  Erased profiles answer their de-identified remains.
CREATE OR REPLACE FUNCTION prefs_profile_get(p_account_id bigint,
    p_profile_id bigint, p_include_history boolean)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT prefs_data_profile_json(p, coalesce(p_include_history, false))::text
      FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
$$;

CREATE OR REPLACE FUNCTION prefs_profile_by_alternate_id(p_account_id bigint,
    p_type text, p_value text, p_include_history boolean)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT prefs_data_profile_json(p, coalesce(p_include_history, false))::text
      FROM prefs_profile_alternate_id a
      JOIN prefs_profile p ON p.profile_id = a.profile_id
     WHERE a.account_id = p_account_id AND a.type = p_type
       AND a.value = p_value AND a.is_active
     LIMIT 1
$$;

-- POST Profile/{id} (UpdateProfile).  Outcomes: updated, not_found,
-- invalid, conflict.
CREATE OR REPLACE FUNCTION prefs_profile_update(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    before  jsonb;
BEGIN
    SELECT prefs_data_profile_json(p, false)::jsonb INTO before
      FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text,
            'the body must be a JSON object'::text;
        RETURN;
    END IF;
    BEGIN
        IF prefs_data_apply(p_account_id, p_user_id, p_profile_id, p_body,
                            false) THEN
            PERFORM prefs_event_add(p_account_id, p_user_id,
                'profile.updated', p_profile_id,
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
        WHEN unique_violation THEN
            RETURN QUERY SELECT 'conflict'::text,
                'an alternate id of the profile belongs to another profile'
                ::text;
            RETURN;
    END;
    RETURN QUERY SELECT 'updated'::text, NULL::text;
END
$$;

-- DELETE Profile/{id}: outcomes deactivated (also when already inactive:
-- no event then), invalid (ReasonCode over 256 characters), not_found.
CREATE OR REPLACE FUNCTION prefs_profile_deactivate(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_reason text)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    act  boolean;
BEGIN
    SELECT p.is_active INTO act FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    IF char_length(p_reason) > 256 THEN
        RETURN QUERY SELECT 'invalid'::text,
            'ReasonCode must be at most 256 characters'::text;
        RETURN;
    END IF;
    IF act THEN
        UPDATE prefs_profile p
           SET is_active = false, reason_code = nullif(p_reason, ''),
               updated_at = now(), edited_at = now(), edited_by = p_user_id
         WHERE p.profile_id = p_profile_id;
        PERFORM prefs_event_add(p_account_id, p_user_id, 'profile.deactivated',
            p_profile_id, jsonb_build_object('ProfileId', p_profile_id,
                                             'ReasonCode', nullif(p_reason, '')));
    END IF;
    RETURN QUERY SELECT 'deactivated'::text, NULL::text;
END
$$;

-- POST Profile/{id}/Activate: reactivated (also when already active: no
-- event then), not_found.
CREATE OR REPLACE FUNCTION prefs_profile_activate(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    act  boolean;
BEGIN
    SELECT p.is_active INTO act FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    IF NOT act THEN
        BEGIN
            -- its alternate ids may have been taken meanwhile: they are
            -- unique among active rows, which a deactivated profile's
            -- still are, so nothing to check here.
            UPDATE prefs_profile p
               SET is_active = true, reason_code = NULL, updated_at = now(),
                   edited_at = now(), edited_by = p_user_id
             WHERE p.profile_id = p_profile_id;
        END;
        PERFORM prefs_event_add(p_account_id, p_user_id, 'profile.reactivated',
            p_profile_id, jsonb_build_object('ProfileId', p_profile_id));
    END IF;
    RETURN QUERY SELECT 'reactivated'::text, NULL::text;
END
$$;

-- Erasure ("right to be forgotten"): names, contact points, alternate ids,
-- custom fields, groups, tags and preference attributes go for good;
-- preferences stay archived without contact point or attributes, consents
-- stay (type, version, status, dates).  The personal data of the
-- profile's earlier events is removed too.  Outcomes: erased, not_found.
CREATE OR REPLACE FUNCTION prefs_profile_erase(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    UPDATE prefs_preference x
       SET attributes = '[]', email_id = NULL, phone_id = NULL,
           address_id = NULL, contact_key = 'X' || x.preference_id,
           is_archived = true, updated_at = now()
     WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_email x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_phone x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_address x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_alternate_id x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_custom_field x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_group x WHERE x.profile_id = p_profile_id;
    DELETE FROM prefs_profile_tag x WHERE x.profile_id = p_profile_id;
    UPDATE prefs_consent c SET recorded_by = NULL
     WHERE c.profile_id = p_profile_id;
    UPDATE prefs_profile p
       SET prefix = '', first_name = '', middle_name = '', last_name = '',
           suffix = '', default_locale = NULL, customer_type = NULL,
           reason_code = NULL, is_active = false, erased_at = now(),
           updated_at = now(), edited_at = now(), edited_by = p_user_id
     WHERE p.profile_id = p_profile_id;
    UPDATE prefs_event x
       SET data = '{"Erased": true}', previous_data = NULL
     WHERE x.account_id = p_account_id AND x.profile_id = p_profile_id;
    PERFORM prefs_event_add(p_account_id, p_user_id, 'profile.deleted',
        p_profile_id, jsonb_build_object('ProfileId', p_profile_id));
    RETURN QUERY SELECT 'erased'::text, NULL::text;
END
$$;


-- Lookups.  p_by / p_args:
--   email        {"emailAddress"}
--   phone        {"phoneNumber"}
--   address      {"address1" | "line1", "address2" | "line2", "city",
--                 "stateProvince" | "state", "postalCode", "country",
--                 "addressType"}: at least one; case-insensitive equality
--   customfields [{"Name","Value"}]: every pair (AND)
--   attributes   [{"Key","Value"}]: one preference carrying every pair
-- p_args may also be an object with "includeConsentHistory" (boolean) and
-- the array under "customFields" / "attributes".  Outcomes: ok (body: a
-- JSON array of profiles, erased ones left out), too_many (more than 50),
-- invalid (body: the message).
CREATE OR REPLACE FUNCTION prefs_profile_find(p_account_id bigint,
    p_by text, p_args jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ids    bigint[];
    hist   boolean := false;
    a      jsonb := p_args;
    arr    jsonb;
    s      text;
    k      text;
    conds  jsonb := '{}';
    e      record;
BEGIN
    IF jsonb_typeof(a) = 'object' THEN
        hist := coalesce(jsonb_typeof(a -> 'includeConsentHistory') = 'boolean'
                         AND (a ->> 'includeConsentHistory')::boolean, false);
    END IF;
    IF p_by = 'email' THEN
        s := a ->> 'emailAddress';
        IF s IS NULL OR s = '' THEN
            RETURN QUERY SELECT 'invalid'::text, 'emailAddress is required'::text;
            RETURN;
        END IF;
        SELECT array_agg(x.profile_id) INTO ids
          FROM (SELECT DISTINCT e2.profile_id FROM prefs_profile_email e2
                 WHERE e2.account_id = p_account_id AND e2.is_active
                   AND lower(e2.address) = lower(s) LIMIT 51) x;
    ELSIF p_by = 'phone' THEN
        s := prefs_data_phone_norm(coalesce(a ->> 'phoneNumber', ''));
        IF s IN ('', '+') THEN
            RETURN QUERY SELECT 'invalid'::text, 'phoneNumber is required'::text;
            RETURN;
        END IF;
        SELECT array_agg(x.profile_id) INTO ids
          FROM (SELECT DISTINCT ph.profile_id FROM prefs_profile_phone ph
                 WHERE ph.account_id = p_account_id AND ph.is_active
                   AND ph.number = s LIMIT 51) x;
    ELSIF p_by = 'address' THEN
        IF jsonb_typeof(a) <> 'object' THEN
            RETURN QUERY SELECT 'invalid'::text,
                'the address arguments must be an object'::text;
            RETURN;
        END IF;
        FOR k, s IN SELECT x.key, x.value FROM jsonb_each_text(a) AS x LOOP
            CONTINUE WHEN k = 'includeConsentHistory' OR s IS NULL OR s = '';
            k := CASE lower(k) WHEN 'address1' THEN 'line1'
                    WHEN 'line1' THEN 'line1' WHEN 'address2' THEN 'line2'
                    WHEN 'line2' THEN 'line2' WHEN 'city' THEN 'city'
                    WHEN 'stateprovince' THEN 'state' WHEN 'state' THEN 'state'
                    WHEN 'postalcode' THEN 'postal_code'
                    WHEN 'country' THEN 'country'
                    WHEN 'addresstype' THEN 'type' END;
            IF k IS NULL THEN
                RETURN QUERY SELECT 'invalid'::text, 'unknown address argument'::text;
                RETURN;
            END IF;
            conds := conds || jsonb_build_object(k, lower(s));
        END LOOP;
        IF conds = '{}' THEN
            RETURN QUERY SELECT 'invalid'::text,
                'at least one address field is required'::text;
            RETURN;
        END IF;
        SELECT array_agg(x.profile_id) INTO ids
          FROM (SELECT DISTINCT ad.profile_id FROM prefs_profile_address ad
                 WHERE ad.account_id = p_account_id AND ad.is_active
                   AND (NOT conds ? 'line1'
                        OR lower(ad.line1) = conds ->> 'line1')
                   AND (NOT conds ? 'line2'
                        OR lower(ad.line2) = conds ->> 'line2')
                   AND (NOT conds ? 'city' OR lower(ad.city) = conds ->> 'city')
                   AND (NOT conds ? 'state'
                        OR lower(ad.state) = conds ->> 'state')
                   AND (NOT conds ? 'postal_code'
                        OR lower(ad.postal_code) = conds ->> 'postal_code')
                   AND (NOT conds ? 'country'
                        OR lower(ad.country) = conds ->> 'country')
                   AND (NOT conds ? 'type'
                        OR lower(ad.type) = conds ->> 'type')
                 LIMIT 51) x;
    ELSIF p_by IN ('customfields', 'attributes') THEN
        arr := CASE WHEN jsonb_typeof(a) = 'array' THEN a
                    ELSE coalesce(a -> 'customFields', a -> 'attributes') END;
        IF arr IS NULL OR jsonb_typeof(arr) <> 'array'
           OR jsonb_array_length(arr) = 0 THEN
            RETURN QUERY SELECT 'invalid'::text, format(
                'at least one %s is required', CASE WHEN p_by = 'customfields'
                THEN 'custom field (Name, Value)' ELSE 'attribute (Key, Value)'
                END);
            RETURN;
        END IF;
        FOR e IN SELECT x.v, x.n - 1 AS i
                   FROM jsonb_array_elements(arr) WITH ORDINALITY AS x(v, n)
        LOOP
            IF jsonb_typeof(e.v) IS DISTINCT FROM 'object'
               OR jsonb_typeof(e.v -> CASE WHEN p_by = 'customfields'
                                           THEN 'Name' ELSE 'Key' END)
                  IS DISTINCT FROM 'string'
               OR jsonb_typeof(e.v -> 'Value') IS DISTINCT FROM 'string' THEN
                RETURN QUERY SELECT 'invalid'::text, format(
                    '%s[%s] must have a %s and a Value (strings)',
                    CASE WHEN p_by = 'customfields' THEN 'customFields'
                         ELSE 'attributes' END, e.i,
                    CASE WHEN p_by = 'customfields' THEN 'Name' ELSE 'Key' END);
                RETURN;
            END IF;
        END LOOP;
        IF p_by = 'customfields' THEN
            SELECT array_agg(x.profile_id) INTO ids FROM (
                SELECT cf.profile_id FROM prefs_profile_custom_field cf
                  JOIN jsonb_array_elements(arr) q
                    ON cf.name = q ->> 'Name' AND cf.value = q ->> 'Value'
                 WHERE cf.account_id = p_account_id
                 GROUP BY cf.profile_id
                HAVING count(DISTINCT q ->> 'Name') =
                       (SELECT count(DISTINCT q2 ->> 'Name')
                          FROM jsonb_array_elements(arr) q2)
                 LIMIT 51) x;
        ELSE
            SELECT array_agg(x.profile_id) INTO ids FROM (
                SELECT DISTINCT pr.profile_id FROM prefs_preference pr
                 WHERE pr.attributes @> (SELECT jsonb_agg(jsonb_build_object(
                           'Key', q ->> 'Key', 'Value', q ->> 'Value'))
                           FROM jsonb_array_elements(arr) q)
                   AND pr.account_id = p_account_id AND NOT pr.is_archived
                 LIMIT 51) x;
        END IF;
    ELSE
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown lookup %L', p_by);
    END IF;

    IF coalesce(array_length(ids, 1), 0) > 50 THEN
        RETURN QUERY SELECT 'too_many'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, coalesce((
        SELECT json_agg(prefs_data_profile_json(p, hist) ORDER BY p.profile_id)
          FROM prefs_profile p
         WHERE p.profile_id = ANY (ids) AND p.account_id = p_account_id
           AND p.erased_at IS NULL), '[]')::text;
END
$$;
