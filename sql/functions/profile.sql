-- Profiles: the write engine (create, update, patch, remove parts,
-- activate, erase), contact points, custom fields, groups, tags and
-- alternate ids, the profile's JSON and its rendered copy, and finding
-- profiles (tables: 005_data, 009_data_changes, 015_profile_doc).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- The reference's contact models (mypreferences-api.md 5.2): an
-- EmailPreference, and phones and addresses by the same pattern (v3's
-- ContactElement names); the ids are ours.  Given its preferences (a
-- JSON array) the contact point is as a profile shows it; without (NULL),
-- as the Data of its events carry it.
CREATE OR REPLACE FUNCTION prefs_data_email_json(e prefs_profile_email,
    p_prefs json DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_prefs IS NULL
        THEN json_build_object('EmailId', e.email_id,
            'EmailAddress', e.address, 'EmailAddressType', e.type,
            'IsDefault', e.is_default)
        ELSE json_build_object('EmailId', e.email_id,
            'EmailAddress', e.address, 'EmailAddressType', e.type,
            'IsDefault', e.is_default, 'EmailPreferences', p_prefs) END
$$;


CREATE OR REPLACE FUNCTION prefs_data_phone_json(p prefs_profile_phone,
    p_prefs json DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_prefs IS NULL
        THEN json_build_object('PhoneId', p.phone_id,
            'PhoneNumber', p.number, 'PhoneNumberType', p.type,
            'IsMobile', p.is_mobile, 'IsDefault', p.is_default)
        ELSE json_build_object('PhoneId', p.phone_id,
            'PhoneNumber', p.number, 'PhoneNumberType', p.type,
            'IsMobile', p.is_mobile, 'IsDefault', p.is_default,
            'PhonePreferences', p_prefs) END
$$;


CREATE OR REPLACE FUNCTION prefs_data_address_json(a prefs_profile_address,
    p_prefs json DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_prefs IS NULL
        THEN json_build_object('AddressId', a.address_id,
            'Address1', a.line1, 'Address2', a.line2, 'City', a.city,
            'StateProvince', a.state, 'PostalCode', a.postal_code,
            'CountryCode', a.country, 'AddressType', a.type,
            'IsDefault', a.is_default)
        ELSE json_build_object('AddressId', a.address_id,
            'Address1', a.line1, 'Address2', a.line2, 'City', a.city,
            'StateProvince', a.state, 'PostalCode', a.postal_code,
            'CountryCode', a.country, 'AddressType', a.type,
            'IsDefault', a.is_default, 'AddressPreferences', p_prefs) END
$$;


CREATE OR REPLACE FUNCTION prefs_data_status_name(s smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['Granted', 'Denied', 'Revoked', 'NotSet'])[s]
$$;


-- The profile as the reference's UserProfilePreference: contact points
-- carry their preferences (EmailPreferences, PhonePreferences,
-- AddressPreferences), ProfilePreferences holds those without one (a
-- channel without contact points, an erased profile's).  The preferences
-- of a removed contact point (archived with it, or kept by
-- PreservePreferences) are not shown: their contact point is gone; their
-- events tell their history.  The preferences are read once, grouped by
-- contact point.  What the create and UpdateProfile functions store as the
-- rendered copy (prefs_profile_doc_fill) and put in the Data of
-- profile.created / profile.updated.
CREATE OR REPLACE FUNCTION prefs_data_profile_json(p prefs_profile,
    p_include_history boolean)
RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN prefs_data_profile_from(p, p_include_history, NULL,
                                   prefs_data_pref_map(p.profile_id, NULL));
END
$$;


-- A profile's preferences as the rendering groups them: contact key
-- ('E<email_id>', 'P<phone_id>', 'A<address_id>'; '' for those without a
-- contact point) -> the preferences of that contact point in id order;
-- only the keys in p_keys (NULL: all of them).
CREATE OR REPLACE FUNCTION prefs_data_pref_map(p_profile_id bigint,
    p_keys text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(x.k, x.v), '{}')
      FROM (SELECT CASE WHEN pr.contact_key LIKE 'X%' THEN ''
                        ELSE pr.contact_key END AS k,
                   json_agg(prefs_data_pref_doc_json(pr, f.body ->> 'ProgramId')
                            ORDER BY pr.preference_id) AS v
              FROM prefs_preference pr
              LEFT JOIN prefs_config_item f
                ON f.account_id = pr.account_id AND f.kind = 'Filter'
               AND f.key = pr.filter_id
             WHERE pr.profile_id = p_profile_id
               AND (p_keys IS NULL
                    OR CASE WHEN pr.contact_key LIKE 'X%' THEN ''
                            ELSE pr.contact_key END = ANY (p_keys))
             GROUP BY 1) x);
END
$$;


-- The same map as a rendered copy (p_doc) shows it: what the rendering
-- took from prefs_data_pref_map, for every contact point the copy shows.
-- (PL/pgSQL: its plan is kept for the session.)
CREATE OR REPLACE FUNCTION prefs_data_doc_pref_map(p_doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(x.k, x.v), '{}')
      FROM (SELECT l.c || (e ->> l.id) AS k, e -> l.sub AS v
              FROM (VALUES ('Emails', 'EmailId', 'EmailPreferences', 'E'),
                           ('PhoneNumbers', 'PhoneId', 'PhonePreferences', 'P'),
                           ('Addresses', 'AddressId', 'AddressPreferences',
                            'A')) l(list, id, sub, c),
                   jsonb_array_elements(p_doc -> l.list) e
            UNION ALL
            SELECT '', p_doc -> 'ProfilePreferences') x
     WHERE jsonb_array_length(x.v) > 0);
END
$$;


-- The rendering, given the preference map (prefs_data_pref_map).  With
-- p_before (the profile's stored copy, as json) the parts no preference
-- write changes (alternate ids, custom fields, groups, tags, consents)
-- are taken from it verbatim, so that the write engine's update of
-- preferences (prefs_engine_update) changes the copy from the change and
-- leaves the same text a full rendering gives.
CREATE OR REPLACE FUNCTION prefs_data_profile_from(p prefs_profile,
    p_include_history boolean, p_before json, pm jsonb)
RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_alt   json;
    v_cf    json;
    v_grp   json;
    v_tags  json;
    v_cons  json;
BEGIN
    -- the parts a preference write leaves as they were: from p_before,
    -- else rendered (a statement of their own: a plan locks every table
    -- it names, and the short path of the write engine touches none of
    -- these)
    IF p_before IS NOT NULL THEN
        v_alt := p_before -> 'AlternateIds';
        v_cf := p_before -> 'CustomFields';
        v_grp := p_before -> 'Groups';
        v_tags := p_before -> 'Tags';
        v_cons := p_before -> 'Consents';
    ELSE
        SELECT coalesce((SELECT json_agg(json_build_object(
                           'Type', a.type, 'Value', a.value)
                           ORDER BY a.type, a.alternate_id_id)
                       FROM prefs_profile_alternate_id a
                       WHERE a.profile_id = p.profile_id AND a.is_active), '[]'),
               coalesce((SELECT json_agg(json_build_object(
                           'Name', cf.name, 'Value', cf.value) ORDER BY cf.name)
                       FROM prefs_profile_custom_field cf
                       WHERE cf.profile_id = p.profile_id), '[]'),
               coalesce((SELECT json_agg(json_build_object(
                           'Type', g.group_type, 'Name', g.group_name)
                           ORDER BY g.group_type, g.group_name)
                       FROM prefs_profile_group g
                       WHERE g.profile_id = p.profile_id), '[]'),
               coalesce((SELECT json_agg(t.tag ORDER BY t.tag)
                       FROM prefs_profile_tag t WHERE t.profile_id = p.profile_id), '[]'),
               coalesce((SELECT json_agg(prefs_data_consent_read_json(c)
                           ORDER BY c.type_name, c.version, c.recorded_at, c.consent_id)
                       FROM prefs_consent c
                       WHERE c.profile_id = p.profile_id
                         AND (p_include_history OR c.consent_id = (
                               SELECT max(c2.consent_id) FROM prefs_consent c2
                                WHERE c2.profile_id = p.profile_id
                                  AND c2.type_name = c.type_name))), '[]')
          INTO v_alt, v_cf, v_grp, v_tags, v_cons;
    END IF;
    RETURN json_build_object(
            'ProfileId', p.profile_id,
            'CustomerName', json_build_object('Prefix', p.prefix,
                'FirstName', p.first_name, 'MiddleName', p.middle_name,
                'LastName', p.last_name, 'Suffix', p.suffix),
            'DefaultLocale', p.default_locale,
            'CustomerType', p.customer_type,
            'RegistrationConfirmed', p.registration_confirmed,
            'IsActive', p.is_active,
            'ReasonCode', p.reason_code,
            'AlternateIds', v_alt,
            'Emails', coalesce((SELECT json_agg(prefs_data_email_json(e,
                    coalesce(pm -> ('E' || e.email_id), '[]')::json)
                    ORDER BY e.email_id)
                FROM prefs_profile_email e
                WHERE e.profile_id = p.profile_id AND e.is_active), '[]'),
            'PhoneNumbers', coalesce((SELECT json_agg(prefs_data_phone_json(ph,
                    coalesce(pm -> ('P' || ph.phone_id), '[]')::json)
                    ORDER BY ph.phone_id)
                FROM prefs_profile_phone ph
                WHERE ph.profile_id = p.profile_id AND ph.is_active), '[]'),
            'Addresses', coalesce((SELECT json_agg(prefs_data_address_json(ad,
                    coalesce(pm -> ('A' || ad.address_id), '[]')::json)
                    ORDER BY ad.address_id)
                FROM prefs_profile_address ad
                WHERE ad.profile_id = p.profile_id AND ad.is_active), '[]'),
            'CustomFields', v_cf,
            'Groups', v_grp,
            'Tags', v_tags,
            'ProfilePreferences', coalesce(pm -> '', '[]'),
            'Consents', v_cons,
            'Edited', json_build_object('By', p.edited_by,
                                        'Date', prefs_iso(p.edited_at)));
END
$$;


-- The rendered copies of the profiles p_ids at once, each the text
-- prefs_data_profile_json(x, false) gives (the same constructors over the
-- same rows, so the same text: t/148 compares them field kind by field
-- kind), with the row's xmin.  Each table is read once for the whole set
-- and grouped by profile, instead of eight statements and a call a
-- consent for each profile: the copies of an import's batch
-- (prefs_engine_create).  Profiles of other accounts than p_account_id
-- are not rendered.
CREATE OR REPLACE FUNCTION prefs_data_profiles_json(p_account_id bigint,
    p_ids bigint[])
RETURNS TABLE (profile_id bigint, src_xmin xid, doc text)
LANGUAGE plpgsql STABLE AS $f$
BEGIN
    -- (EXECUTE: planned for the ids given, each call; a generic plan of
    -- the statement, as a SQL function's, took seconds for a batch)
    RETURN QUERY EXECUTE $q$
    WITH pm AS (
        SELECT pr.profile_id,
               CASE WHEN pr.contact_key LIKE 'X%' THEN ''
                    ELSE pr.contact_key END AS k,
               json_agg(prefs_data_pref_doc_json(pr, f.body ->> 'ProgramId')
                        ORDER BY pr.preference_id)::jsonb AS v
          FROM prefs_preference pr
          LEFT JOIN prefs_config_item f
            ON f.account_id = pr.account_id AND f.kind = 'Filter'
           AND f.key = pr.filter_id
         WHERE pr.profile_id = ANY ($1) AND pr.account_id = $2
         GROUP BY 1, 2
    ), alt AS (
        SELECT a.profile_id, json_agg(json_build_object(
                   'Type', a.type, 'Value', a.value)
                   ORDER BY a.type, a.alternate_id_id) AS j
          FROM prefs_profile_alternate_id a
         WHERE a.profile_id = ANY ($1) AND a.is_active
         GROUP BY 1
    ), cf AS (
        SELECT c.profile_id, json_agg(json_build_object(
                   'Name', c.name, 'Value', c.value) ORDER BY c.name) AS j
          FROM prefs_profile_custom_field c
         WHERE c.profile_id = ANY ($1)
         GROUP BY 1
    ), grp AS (
        SELECT g.profile_id, json_agg(json_build_object(
                   'Type', g.group_type, 'Name', g.group_name)
                   ORDER BY g.group_type, g.group_name) AS j
          FROM prefs_profile_group g
         WHERE g.profile_id = ANY ($1)
         GROUP BY 1
    ), tg AS (
        SELECT t.profile_id, json_agg(t.tag ORDER BY t.tag) AS j
          FROM prefs_profile_tag t
         WHERE t.profile_id = ANY ($1)
         GROUP BY 1
    ), em AS (
        SELECT e.profile_id, json_agg(prefs_data_email_json(e,
                   coalesce(pm.v, '[]')::json) ORDER BY e.email_id) AS j
          FROM prefs_profile_email e
          LEFT JOIN pm ON pm.profile_id = e.profile_id
                      AND pm.k = 'E' || e.email_id
         WHERE e.profile_id = ANY ($1) AND e.is_active
         GROUP BY 1
    ), ph AS (
        SELECT p.profile_id, json_agg(prefs_data_phone_json(p,
                   coalesce(pm.v, '[]')::json) ORDER BY p.phone_id) AS j
          FROM prefs_profile_phone p
          LEFT JOIN pm ON pm.profile_id = p.profile_id
                      AND pm.k = 'P' || p.phone_id
         WHERE p.profile_id = ANY ($1) AND p.is_active
         GROUP BY 1
    ), ad AS (
        SELECT a.profile_id, json_agg(prefs_data_address_json(a,
                   coalesce(pm.v, '[]')::json) ORDER BY a.address_id) AS j
          FROM prefs_profile_address a
          LEFT JOIN pm ON pm.profile_id = a.profile_id
                      AND pm.k = 'A' || a.address_id
         WHERE a.profile_id = ANY ($1) AND a.is_active
         GROUP BY 1
    ), flt AS (
        -- the Filters of each consent (prefs_data_consent_read_json's)
        SELECT a.consent_id, jsonb_agg(prefs_data_consent_filter_json(
                   p.filter_id, p.channel_id, p.email_id, p.phone_id,
                   p.address_id, e.address, ph.number, a.status)
                   ORDER BY p.filter_id, p.contact_key) AS f
          FROM prefs_consent_assoc a
          JOIN prefs_preference p ON p.preference_id = a.preference_id
          LEFT JOIN prefs_profile_email e ON e.email_id = p.email_id
          LEFT JOIN prefs_profile_phone ph ON ph.phone_id = p.phone_id
         WHERE a.profile_id = ANY ($1) AND a.kind = 'F' AND a.is_active
         GROUP BY 1
    ), cs AS (
        -- each type's newest record
        SELECT s.profile_id, json_agg((prefs_data_consent_json(s.c)::jsonb
                   || jsonb_build_object('Filters', coalesce(flt.f, '[]')))::json
                   ORDER BY (s.c).type_name, (s.c).version, (s.c).recorded_at,
                            s.consent_id) AS j
          FROM (SELECT c, c.profile_id, c.consent_id,
                       max(c.consent_id) OVER (
                           PARTITION BY c.profile_id, c.type_name) AS newest
                  FROM prefs_consent c
                 WHERE c.profile_id = ANY ($1)) s
          LEFT JOIN flt ON flt.consent_id = s.consent_id
         WHERE s.consent_id = s.newest
         GROUP BY 1
    )
    SELECT x.profile_id, x.xmin, json_build_object(
            'ProfileId', x.profile_id,
            'CustomerName', json_build_object('Prefix', x.prefix,
                'FirstName', x.first_name, 'MiddleName', x.middle_name,
                'LastName', x.last_name, 'Suffix', x.suffix),
            'DefaultLocale', x.default_locale,
            'CustomerType', x.customer_type,
            'RegistrationConfirmed', x.registration_confirmed,
            'IsActive', x.is_active,
            'ReasonCode', x.reason_code,
            'AlternateIds', coalesce(alt.j, '[]'),
            'Emails', coalesce(em.j, '[]'),
            'PhoneNumbers', coalesce(ph.j, '[]'),
            'Addresses', coalesce(ad.j, '[]'),
            'CustomFields', coalesce(cf.j, '[]'),
            'Groups', coalesce(grp.j, '[]'),
            'Tags', coalesce(tg.j, '[]'),
            'ProfilePreferences', coalesce(pp.v, '[]'),
            'Consents', coalesce(cs.j, '[]'),
            'Edited', json_build_object('By', x.edited_by,
                                        'Date', prefs_iso(x.edited_at)))::text
      FROM prefs_profile x
      LEFT JOIN alt ON alt.profile_id = x.profile_id
      LEFT JOIN em ON em.profile_id = x.profile_id
      LEFT JOIN ph ON ph.profile_id = x.profile_id
      LEFT JOIN ad ON ad.profile_id = x.profile_id
      LEFT JOIN cf ON cf.profile_id = x.profile_id
      LEFT JOIN grp ON grp.profile_id = x.profile_id
      LEFT JOIN tg ON tg.profile_id = x.profile_id
      LEFT JOIN pm pp ON pp.profile_id = x.profile_id AND pp.k = ''
      LEFT JOIN cs ON cs.profile_id = x.profile_id
     WHERE x.profile_id = ANY ($1) AND x.account_id = $2$q$
    USING p_ids, p_account_id;
END
$f$;


-- The body of the account's active configuration item, or NULL.
-- (PL/pgSQL: a SQL function with a FROM is not inlined and is planned
-- again in every transaction; this one's plan is kept for the session.)
CREATE OR REPLACE FUNCTION prefs_data_item(p_account_id bigint, p_kind text,
    p_key text)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT i.body FROM prefs_config_item i
             WHERE i.account_id = p_account_id AND i.kind = p_kind
               AND i.key = p_key AND i.is_active);
END
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


-- A date the customer gave (the reference's CustomerDate rules, which
-- ConsentDate follows too): field p_field of o; absent (or "") is now; no
-- offset is US Eastern; a date alone is 00:00 ET, or 23:59:59 ET with
-- p_end_of_day.
CREATE OR REPLACE FUNCTION prefs_data_given_date(o jsonb, p_path text,
    p_field text, p_end_of_day boolean)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    v  jsonb := prefs_cfg_get(o, p_field);
BEGIN
    IF v IS NULL OR v = '""' THEN
        RETURN now();
    END IF;
    RETURN prefs_data_time(v, prefs_cfg_at(p_path, p_field),
        'America/New_York',
        CASE WHEN p_end_of_day THEN time '23:59:59' ELSE time '00:00' END);
END
$$;


-- CustomerDate: a date alone is 00:00 ET for an opt-in, 23:59:59 ET for an
-- opt-out.
CREATE OR REPLACE FUNCTION prefs_data_customer_date(o jsonb, p_path text,
    p_opt_out boolean)
RETURNS timestamptz
LANGUAGE sql AS $$
    SELECT prefs_data_given_date(o, p_path, 'CustomerDate', p_opt_out)
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
    cdate     timestamptz;
    days      bigint;
    aid       bigint;
    st        integer;
    ver       jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['ProfileId', 'CustomerName',
        'DefaultLocale', 'CustomerType', 'RegistrationConfirmed', 'IsActive',
        'ReasonCode', 'AlternateIds', 'Emails', 'PhoneNumbers', 'Addresses',
        'CustomFields', 'Groups', 'Tags', 'ProfilePreferences', 'Consents',
        'Edited']);
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

    -- Standard fields: CustomerName{Prefix, FirstName, MiddleName,
    -- LastName, Suffix}; a name left out is left alone
    v := prefs_cfg_get(b, 'CustomerName');
    IF v IS NOT NULL THEN
        PERFORM prefs_cfg_object(v, 'CustomerName', ARRAY['Prefix',
            'FirstName', 'MiddleName', 'LastName', 'Suffix']);
    END IF;
    FOREACH f IN ARRAY ARRAY['Prefix', 'FirstName', 'MiddleName', 'LastName',
                             'Suffix']
    LOOP
        CONTINUE WHEN v IS NULL OR NOT v ? f;
        nv := prefs_cfg_text(v, 'CustomerName', f, false, 50) #>> '{}';
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
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['EmailId', 'EmailAddress',
            'EmailAddressType', 'IsDefault', 'EmailPreferences', 'Edited']);
        nv := prefs_cfg_text(e.v, ep, 'EmailAddress', true, 256) #>> '{}';
        IF nv !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@.[:space:][:cntrl:]]+$'
        THEN
            PERFORM prefs_cfg_fail(ep || '.EmailAddress',
                'must be an email address such as name@example.com');
        END IF;
        seen := prefs_cfg_once(seen, lower(nv), ep || '.EmailAddress');
        t := prefs_data_ref(p_account_id, e.v, ep, 'EmailAddressType',
                            'EmailType', false);
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
            IF NOT prefs_cfg_get(e.v, 'EmailAddressType') IS NULL THEN
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
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['PhoneId', 'PhoneNumber',
            'PhoneNumberType', 'IsMobile', 'IsDefault', 'PhonePreferences',
            'Edited']);
        nv := prefs_cfg_text(e.v, ep, 'PhoneNumber', true, 30) #>> '{}';
        IF nv !~ '^\s*\+?[0-9 ().-]+$'
           OR length(prefs_data_phone_norm(nv)) NOT BETWEEN 3 AND 16 THEN
            PERFORM prefs_cfg_fail(ep || '.PhoneNumber', 'must be a phone '
                'number: an optional "+" and 3 to 15 digits');
        END IF;
        nv := prefs_data_phone_norm(nv);
        seen := prefs_cfg_once(seen, nv, ep || '.PhoneNumber');
        t := prefs_data_ref(p_account_id, e.v, ep, 'PhoneNumberType',
                            'PhoneType', false);
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
         WHERE x.profile_id = p_profile_id AND x.is_active
           AND ltrim(x.number, '+') = ltrim(nv, '+');
        IF FOUND THEN
            old_js := prefs_data_phone_json(ph)::jsonb;
            IF prefs_cfg_get(e.v, 'PhoneNumberType') IS NOT NULL THEN
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
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['AddressId', 'Address1',
            'Address2', 'City', 'StateProvince', 'PostalCode', 'CountryCode',
            'AddressType', 'IsDefault', 'AddressPreferences', 'Edited']);
        aid := (prefs_cfg_int(e.v, ep, 'AddressId', 1, 9223372036854775807,
                              NULL, true)) #>> '{}';
        ad := NULL;
        ad.line1 := prefs_cfg_text(e.v, ep, 'Address1', true, 100) #>> '{}';
        ad.line2 := prefs_cfg_text(e.v, ep, 'Address2', false, 100) #>> '{}';
        ad.city := prefs_cfg_text(e.v, ep, 'City', false, 50) #>> '{}';
        ad.state := prefs_cfg_text(e.v, ep, 'StateProvince', false, 50)
                    #>> '{}';
        ad.postal_code := prefs_cfg_text(e.v, ep, 'PostalCode', false, 20)
                          #>> '{}';
        ad.country := prefs_cfg_text(e.v, ep, 'CountryCode', false, 50)
                      #>> '{}';
        ad.type := prefs_data_ref(p_account_id, e.v, ep, 'AddressType',
                                  'AddressType', false);
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
                   type = CASE WHEN prefs_cfg_get(e.v, 'AddressType') IS NULL
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


CREATE OR REPLACE FUNCTION prefs_profile_create(p_account_id bigint,
    p_user_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, profile_id bigint, message text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::bigint,
            'the body must be a JSON object'::text;
        RETURN;
    END IF;
    -- the write engine's batch of one (sql/functions/engine.sql)
    RETURN QUERY
    SELECT CASE WHEN r.outcome <> 'failed' THEN 'created'
                WHEN r.state = 'PF001' THEN 'invalid'
                ELSE 'conflict' END,
           r.profile_id::bigint, r.message
      FROM prefs_engine_run(p_account_id, p_user_id,
                            jsonb_build_array(p_body), NULL, 'create') r;
END
$$;


-- What GET Profile/{id} runs: the copy when it is current, else a fresh
-- rendering (kept for the next read).  With the consent history the
-- document is rendered each time.  (PL/pgSQL: its statements' plans are
-- kept for the session, where a SQL function's would be made per call.)
CREATE OR REPLACE FUNCTION prefs_profile_get(p_account_id bigint,
    p_profile_id bigint, p_include_history boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_doc  text;
BEGIN
    IF coalesce(p_include_history, false) THEN
        SELECT prefs_data_profile_json(x, true)::text INTO v_doc
          FROM prefs_profile x
         WHERE x.account_id = p_account_id AND x.profile_id = p_profile_id;
        RETURN v_doc;
    END IF;

    SELECT d.doc INTO v_doc
      FROM prefs_profile x
      JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin
     WHERE x.account_id = p_account_id AND x.profile_id = p_profile_id;

    IF FOUND THEN
        RETURN v_doc;
    END IF;

    RETURN prefs_profile_doc_fill(p_account_id, p_profile_id);
END
$$;


-- What GET Profile/{id} runs (src/core/ngx_prefs_stmt.c): prefs_profile_get
-- with its common case, the current copy, in the statement itself.  A
-- set-returning SQL function of one SELECT that is not volatile is inlined
-- into the calling statement, whose plan the worker's prepared statement
-- keeps: the copy is one index join, with no PL/pgSQL call (1.3 - 1.5
-- times prefs_profile_get's rate under pgbench).  STABLE for that, though
-- a missing copy is rendered and kept by prefs_profile_get, which writes.
CREATE OR REPLACE FUNCTION prefs_profile_read(p_account_id bigint,
    p_profile_id bigint, p_include_history boolean)
RETURNS TABLE (body text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT d.doc
                       FROM prefs_profile x
                       JOIN prefs_profile_doc d
                         ON d.profile_id = x.profile_id
                        AND d.src_xmin = x.xmin
                      WHERE x.account_id = p_account_id
                        AND x.profile_id = p_profile_id
                        AND NOT coalesce(p_include_history, false)),
                    prefs_profile_get(p_account_id, p_profile_id,
                                      p_include_history))
$$;


-- GET Profile/AlternateIdType/{type}/AlternateId/{id}: the same copy.
CREATE OR REPLACE FUNCTION prefs_profile_by_alternate_id(p_account_id bigint,
    p_type text, p_value text, p_include_history boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id  bigint;
BEGIN
    SELECT a.profile_id INTO v_id
      FROM prefs_profile_alternate_id a
     WHERE a.account_id = p_account_id AND a.type = p_type
       AND a.value = p_value AND a.is_active
     LIMIT 1;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    RETURN prefs_profile_get(p_account_id, v_id, p_include_history);
END
$$;


CREATE OR REPLACE FUNCTION prefs_profile_update(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        IF EXISTS (SELECT 1 FROM prefs_profile p
                    WHERE p.account_id = p_account_id
                      AND p.profile_id = p_profile_id
                      AND p.erased_at IS NULL) THEN
            RETURN QUERY SELECT 'invalid'::text,
                'the body must be a JSON object'::text;
        ELSE
            RETURN QUERY SELECT 'not_found'::text,
                format('there is no profile %s', p_profile_id);
        END IF;
        RETURN;
    END IF;
    -- the write engine's batch of one (sql/functions/engine.sql): the
    -- profile locked, the change, profile.updated (Data the new copy)
    RETURN QUERY
    SELECT CASE WHEN r.outcome <> 'failed' THEN 'updated'
                WHEN r.state = 'NOTFOUND' THEN 'not_found'
                WHEN r.state = 'PF001' THEN 'invalid'
                ELSE 'conflict' END,
           r.message
      FROM prefs_engine_run(p_account_id, p_user_id,
                            jsonb_build_array(p_body), NULL, 'update',
                            p_profile_id) r;
END
$$;


-- DELETE Profile/{id}, POST Profile/{id}/Activate and erasure: a batch of
-- one through the write engine (its modes 'deactivate', 'activate',
-- 'erase'; the changes themselves are prefs_engine_set_active and
-- prefs_engine_erase).  Outcomes: p_ok, invalid (a ReasonCode over 256
-- characters), not_found.
CREATE OR REPLACE FUNCTION prefs_profile_state(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_mode text, p_reason text,
    p_ok text)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    SELECT CASE WHEN r.outcome <> 'failed' THEN p_ok
                WHEN r.state = 'NOTFOUND' THEN 'not_found'
                ELSE 'invalid' END,
           CASE WHEN r.outcome <> 'failed' THEN NULL
                WHEN r.state = 'NOTFOUND'
                    THEN format('there is no profile %s', p_profile_id)
                ELSE r.message END
      FROM prefs_engine_run(p_account_id, p_user_id,
               jsonb_build_array(jsonb_build_object('ReasonCode', p_reason)),
               NULL, p_mode, p_profile_id) r;
END
$$;


-- DELETE Profile/{id}: outcomes deactivated (also when already inactive:
-- no event then), invalid (ReasonCode over 256 characters), not_found.
CREATE OR REPLACE FUNCTION prefs_profile_deactivate(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_reason text)
RETURNS TABLE (outcome text, message text)
LANGUAGE sql AS $$
    SELECT * FROM prefs_profile_state(p_account_id, p_user_id, p_profile_id,
                                      'deactivate', p_reason, 'deactivated')
$$;


-- POST Profile/{id}/Activate: reactivated (also when already active: no
-- event then), not_found.
CREATE OR REPLACE FUNCTION prefs_profile_activate(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE sql AS $$
    SELECT * FROM prefs_profile_state(p_account_id, p_user_id, p_profile_id,
                                      'activate', '', 'reactivated')
$$;


-- Erasure ("right to be forgotten", prefs_engine_erase): erased,
-- not_found.
CREATE OR REPLACE FUNCTION prefs_profile_erase(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE sql AS $$
    SELECT * FROM prefs_profile_state(p_account_id, p_user_id, p_profile_id,
                                      'erase', '', 'erased')
$$;


-- A phone number's digits: what a lookup compares, so that 15550100100
-- finds the stored +15550100100 (prefs_data_phone_norm keeps the "+" a
-- number was given with).
CREATE OR REPLACE FUNCTION prefs_data_phone_digits(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(p, '[^0-9]', '', 'g')
$$;


-- Group profiles: the given profiles and every profile that shares a group
-- (type and name) with one of them, at most 51 (the caller refuses more
-- than 50); erased ones are left out by the caller.
CREATE OR REPLACE FUNCTION prefs_data_group_profiles(p_account_id bigint,
    p_ids bigint[])
RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(x.profile_id) FROM (
        SELECT DISTINCT y.profile_id FROM (
            SELECT unnest(p_ids) AS profile_id
            UNION
            SELECT m.profile_id
              FROM prefs_profile_group g
              JOIN prefs_profile_group m
                ON m.account_id = g.account_id
               AND m.group_type = g.group_type
               AND m.group_name = g.group_name
             WHERE g.account_id = p_account_id
               AND g.profile_id = ANY (p_ids)) y
         ORDER BY y.profile_id LIMIT 51) x
$$;


-- Lookups.  p_by / p_args:
--   email        {"emailAddress"}
--   phone        {"phoneNumber"}: the same digits, with or without "+"
--                (prefs_data_phone_digits), whatever the spelling
--   address      {"address1", "address2", "city", "stateProvince",
--                 "postalCode", "countryCode", "addressType"}: at least
--                one; case-insensitive equality
--   group        {"profileId"}: the profile and the profiles that share a
--                group (Groups[]: Type and Name) with it; not_found when
--                there is no such profile
--   groupphone   {"phoneNumber"}: the profiles with that phone number
--                (as phone) and those that share a group with them
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
    ELSIF p_by IN ('phone', 'groupphone') THEN
        s := prefs_data_phone_digits(coalesce(a ->> 'phoneNumber', ''));
        IF s = '' THEN
            RETURN QUERY SELECT 'invalid'::text, 'phoneNumber is required'::text;
            RETURN;
        END IF;
        SELECT array_agg(x.profile_id) INTO ids
          FROM (SELECT DISTINCT ph.profile_id FROM prefs_profile_phone ph
                 WHERE ph.account_id = p_account_id AND ph.is_active
                   AND ph.number IN (s, '+' || s) LIMIT 51) x;
        IF p_by = 'groupphone' THEN
            ids := prefs_data_group_profiles(p_account_id, ids);
        END IF;
    ELSIF p_by = 'group' THEN
        s := a ->> 'profileId';
        IF s !~ '^[0-9]{1,18}$' OR NOT EXISTS (
                SELECT 1 FROM prefs_profile p
                 WHERE p.account_id = p_account_id
                   AND p.profile_id = s::bigint AND p.erased_at IS NULL) THEN
            RETURN QUERY SELECT 'not_found'::text,
                format('there is no profile %s', s);
            RETURN;
        END IF;
        ids := prefs_data_group_profiles(p_account_id, ARRAY[s::bigint]);
    ELSIF p_by = 'address' THEN
        IF jsonb_typeof(a) <> 'object' THEN
            RETURN QUERY SELECT 'invalid'::text,
                'the address arguments must be an object'::text;
            RETURN;
        END IF;
        FOR k, s IN SELECT x.key, x.value FROM jsonb_each_text(a) AS x LOOP
            CONTINUE WHEN k = 'includeConsentHistory' OR s IS NULL OR s = '';
            k := CASE lower(k) WHEN 'address1' THEN 'line1'
                    WHEN 'address2' THEN 'line2' WHEN 'city' THEN 'city'
                    WHEN 'stateprovince' THEN 'state'
                    WHEN 'postalcode' THEN 'postal_code'
                    WHEN 'countrycode' THEN 'country'
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


-- Erasure (prefs_profile_erase) also clears, through this trigger, the
-- personal data of 009_data_changes' columns and tables: the contact
-- points of consents and the associations.
CREATE OR REPLACE FUNCTION prefs_data_erase_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE prefs_consent c SET contact_point = NULL, contact_key = ''
     WHERE c.profile_id = NEW.profile_id AND c.contact_point IS NOT NULL;
    DELETE FROM prefs_consent_assoc a WHERE a.profile_id = NEW.profile_id;
    RETURN NULL;
END
$$;


CREATE OR REPLACE TRIGGER prefs_data_erase
    AFTER UPDATE OF erased_at ON prefs_profile
    FOR EACH ROW WHEN (NEW.erased_at IS NOT NULL AND OLD.erased_at IS NULL)
    EXECUTE FUNCTION prefs_data_erase_trigger();


-- The contact point of a key as preferences show it: the email address,
-- the phone number, the AddressId; NULL for ''.
-- (PL/pgSQL: see prefs_data_item)
CREATE OR REPLACE FUNCTION prefs_data_contact_value(p_key text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN CASE left(p_key, 1)
        WHEN 'E' THEN (SELECT to_jsonb(e.address) FROM prefs_profile_email e
                        WHERE e.email_id = substr(p_key, 2)::bigint)
        WHEN 'P' THEN (SELECT to_jsonb(p.number) FROM prefs_profile_phone p
                        WHERE p.phone_id = substr(p_key, 2)::bigint)
        WHEN 'A' THEN to_jsonb(substr(p_key, 2)::bigint)
        END;
END
$$;


CREATE OR REPLACE FUNCTION prefs_data_contact_type(p_key text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE left(p_key, 1) WHEN 'E' THEN 'Email' WHEN 'P' THEN 'Phone'
                               WHEN 'A' THEN 'Address' END
$$;


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


-- Removals and value changes of the contact lists, before prefs_data_apply
-- applies the rest.  Each returns the list left for prefs_data_apply
-- (removal items taken out) and sets changed.

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

    -- Emails: removal by EmailId or EmailAddress; an EmailId with another
    -- EmailAddress changes the address
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
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['EmailId', 'EmailAddress',
                'EmailAddressType', 'IsDefault', 'IsActive', 'EmailPreferences',
                'Edited']);
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
                    nv := prefs_cfg_text(e.v, ep, 'EmailAddress', true, 256)
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
            nv := prefs_cfg_text(v, ep, 'EmailAddress', true, 256) #>> '{}';
            IF em.email_id IS NOT NULL AND lower(em.address) <> lower(nv)
            THEN
                -- the rule of 005
                IF nv !~ ('^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+'
                          '\.[^@.[:space:][:cntrl:]]+$')
                THEN
                    PERFORM prefs_cfg_fail(ep || '.EmailAddress',
                        'must be an email address such as name@example.com');
                END IF;
                IF EXISTS (SELECT 1 FROM prefs_profile_email x
                            WHERE x.profile_id = p_profile_id AND x.is_active
                              AND lower(x.address) = lower(nv)) THEN
                    PERFORM prefs_cfg_fail(ep || '.EmailAddress', format(
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
                    p_profile_id, 'E' || em.email_id, old_js -> 'EmailAddress',
                    false, p_preserve_prefs, p_preserve_consents);
            END IF;
            lst := lst || jsonb_build_array(v);
        END LOOP;
        rest := jsonb_set(rest, '{Emails}', lst);
    END IF;

    -- PhoneNumbers: the same by PhoneId or PhoneNumber
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
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['PhoneId', 'PhoneNumber',
                'PhoneNumberType', 'IsMobile', 'IsDefault', 'IsActive',
                'PhonePreferences', 'Edited']);
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
                              'PhoneNumber', true, 30) #>> '{}');
                    SELECT * INTO ph FROM prefs_profile_phone x
                     WHERE x.profile_id = p_profile_id AND x.is_active
                       AND ltrim(x.number, '+') = ltrim(nv, '+');
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
            nv := prefs_cfg_text(v, ep, 'PhoneNumber', true, 30) #>> '{}';
            IF ph.phone_id IS NOT NULL
               AND ltrim(ph.number, '+')
                   <> prefs_data_phone_digits(nv) THEN
                IF nv !~ '^\s*\+?[0-9 ().-]+$'
                   OR length(prefs_data_phone_norm(nv)) NOT BETWEEN 3 AND 16
                THEN
                    PERFORM prefs_cfg_fail(ep || '.PhoneNumber', 'must be a phone '
                        'number: an optional "+" and 3 to 15 digits');
                END IF;
                nv := prefs_data_phone_norm(nv);
                IF EXISTS (SELECT 1 FROM prefs_profile_phone x
                            WHERE x.profile_id = p_profile_id AND x.is_active
                              AND ltrim(x.number, '+') = ltrim(nv, '+'))
                THEN
                    PERFORM prefs_cfg_fail(ep || '.PhoneNumber', format(
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
                    p_profile_id, 'P' || ph.phone_id, old_js -> 'PhoneNumber',
                    false, p_preserve_prefs, p_preserve_consents);
            END IF;
            lst := lst || jsonb_build_array(v);
        END LOOP;
        rest := jsonb_set(rest, '{PhoneNumbers}', lst);
    END IF;

    -- Addresses: removal by AddressId or Address1 + PostalCode; 005 changes
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
                       (lower(v ->> 'Address1'),
                        lower(coalesce(v ->> 'PostalCode', '')))
                    THEN
                        moved_addresses := moved_addresses
                            || jsonb_build_array(prefs_data_address_json(ad));
                    END IF;
                END IF;
                lst := lst || jsonb_build_array(v);
                CONTINUE;
            END IF;
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['AddressId', 'Address1',
                'Address2', 'City', 'StateProvince', 'PostalCode',
                'CountryCode', 'AddressType', 'IsDefault', 'IsActive',
                'AddressPreferences', 'Edited']);
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
                nv := prefs_cfg_text(e.v, ep, 'Address1', true, 100) #>> '{}';
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
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Groups') WITH ORDINALITY AS x(v, n)
        LOOP
            ep := 'Groups[' || e.i || ']';
            CONTINUE WHEN prefs_data_flag(e.v, ep, p_create);
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
        -- the items that add, for prefs_data_apply (checked above)
        rest := jsonb_set(rest, '{Groups}', (
            SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.v) = 'object'
                                           THEN x.v - 'IsActive' ELSE x.v END
                                      ORDER BY x.n), '[]')
              FROM jsonb_array_elements(b -> 'Groups')
                   WITH ORDINALITY AS x(v, n)
             WHERE prefs_data_flag(x.v, 'Groups', p_create)));
    END IF;

    -- Tags: a string adds; {"Name", "IsActive"} adds or removes
    IF jsonb_typeof(b -> 'Tags') = 'array' THEN
        FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                     b -> 'Tags') WITH ORDINALITY AS x(v, n)
            WHERE jsonb_typeof(x.v) = 'object'
        LOOP
            ep := 'Tags[' || e.i || ']';
            PERFORM prefs_cfg_object(e.v, ep, ARRAY['Name', 'IsActive']);
            nv := prefs_cfg_text(e.v, ep, 'Name', true, 100) #>> '{}';
            CONTINUE WHEN prefs_data_flag(e.v, ep, p_create);
            DELETE FROM prefs_profile_tag g
             WHERE g.profile_id = p_profile_id AND g.tag = nv;
            IF FOUND THEN
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'tag.removed', p_profile_id,
                    jsonb_build_object('Tag', nv));
            END IF;
        END LOOP;
        -- the items that add, as names, for prefs_data_apply
        rest := jsonb_set(rest, '{Tags}', (
            SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.v) = 'object'
                                           THEN x.v -> 'Name' ELSE x.v END
                                      ORDER BY x.n), '[]')
              FROM jsonb_array_elements(b -> 'Tags') WITH ORDINALITY AS x(v, n)
             WHERE prefs_data_flag(x.v, 'Tags', p_create)));
    END IF;

END
$$;


-- The preferences of a UserProfilePreference body, parsed apart from the
-- rest: ProfilePreferences[] (profile-level) and the EmailPreferences[],
-- PhonePreferences[] and AddressPreferences[] nested in the contact points
-- (a removal item, IsActive false, brings none).  Returns
-- [{"v": the CreateProfilePreference, "at": its path, "list": "Emails" |
-- "PhoneNumbers" | "Addresses" | null, "c": the contact item}], in body
-- order; PF001 past 500 preferences in all, or for a list that is not one.
CREATE OR REPLACE FUNCTION prefs_data_pref_items(b jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    items  jsonb := '[]';
    l      record;
    c      record;
    lst    jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('v', x.v,
               'at', 'ProfilePreferences[' || x.n - 1 || ']', 'list', NULL,
               'c', NULL) ORDER BY x.n), '[]')
      INTO items
      FROM jsonb_array_elements(prefs_cfg_array(b, '', 'ProfilePreferences',
                                                500))
           WITH ORDINALITY AS x(v, n);
    FOR l IN SELECT * FROM (VALUES ('Emails', 'EmailPreferences', 1),
                                   ('PhoneNumbers', 'PhonePreferences', 2),
                                   ('Addresses', 'AddressPreferences', 3))
                        AS t(list, sub, o) ORDER BY t.o
    LOOP
        CONTINUE WHEN jsonb_typeof(b -> l.list) IS DISTINCT FROM 'array';
        FOR c IN SELECT x.v, x.n - 1 AS i
                   FROM jsonb_array_elements(b -> l.list)
                        WITH ORDINALITY AS x(v, n)
                  WHERE jsonb_typeof(x.v) = 'object'
                    AND x.v -> 'IsActive' IS DISTINCT FROM 'false'
        LOOP
            lst := prefs_cfg_array(c.v, l.list || '[' || c.i || ']', l.sub,
                                   500);
            items := items || coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'v', x.v,
                    'at', format('%s[%s].%s[%s]', l.list, c.i, l.sub, x.n - 1),
                    'list', l.list, 'c', c.v - l.sub) ORDER BY x.n)
                FROM jsonb_array_elements(lst) WITH ORDINALITY AS x(v, n)),
                '[]');
        END LOOP;
    END LOOP;
    IF jsonb_array_length(items) > 500 THEN
        PERFORM prefs_cfg_fail('ProfilePreferences', 'with the preferences '
            'of the contact points must be at most 500 preferences');
    END IF;
    RETURN items;
END
$$;


-- The contact point a preference applies to, as prefs_preference keys it
-- ('E<email_id>', 'P<phone_id>', 'A<address_id>', '' for a channel
-- without one), or NULL when the profile has none that fits (the caller
-- words the refusal).  Nested in a contact (p_list, p_contact): that
-- contact; profile-level: the default contact point of the channel (for
-- Text, the default phone number when it is a mobile one, else the first
-- mobile one).
CREATE OR REPLACE FUNCTION prefs_data_pref_contact(p_profile_id bigint,
    p_chan text, p_list text, p_contact jsonb)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    id  bigint;
BEGIN
    IF p_list = 'Emails' THEN
        SELECT x.email_id INTO id FROM prefs_profile_email x
         WHERE x.profile_id = p_profile_id AND x.is_active
           AND lower(x.address) = lower(p_contact ->> 'EmailAddress');
        RETURN 'E' || id;
    ELSIF p_list = 'PhoneNumbers' THEN
        SELECT x.phone_id INTO id FROM prefs_profile_phone x
         WHERE x.profile_id = p_profile_id AND x.is_active
           AND ltrim(x.number, '+')
               = prefs_data_phone_digits(p_contact ->> 'PhoneNumber');
        RETURN 'P' || id;
    ELSIF p_list = 'Addresses' THEN
        IF jsonb_typeof(p_contact -> 'AddressId') = 'number' THEN
            SELECT x.address_id INTO id FROM prefs_profile_address x
             WHERE x.profile_id = p_profile_id AND x.is_active
               AND x.address_id::numeric
                   = (p_contact ->> 'AddressId')::numeric;
        ELSE
            SELECT x.address_id INTO id FROM prefs_profile_address x
             WHERE x.profile_id = p_profile_id AND x.is_active
               AND lower(x.line1) = lower(p_contact ->> 'Address1')
               AND lower(x.postal_code)
                   = lower(coalesce(p_contact ->> 'PostalCode', ''))
             ORDER BY x.address_id LIMIT 1;
        END IF;
        RETURN 'A' || id;
    ELSIF p_chan = 'Email' THEN
        SELECT x.email_id INTO id FROM prefs_profile_email x
         WHERE x.profile_id = p_profile_id AND x.is_active AND x.is_default;
        RETURN 'E' || id;
    ELSIF p_chan IN ('Phone', 'Fax') THEN
        SELECT x.phone_id INTO id FROM prefs_profile_phone x
         WHERE x.profile_id = p_profile_id AND x.is_active AND x.is_default;
        RETURN 'P' || id;
    ELSIF p_chan = 'Text' THEN
        SELECT x.phone_id INTO id FROM prefs_profile_phone x
         WHERE x.profile_id = p_profile_id AND x.is_active AND x.is_mobile
         ORDER BY x.is_default DESC, x.phone_id LIMIT 1;
        RETURN 'P' || id;
    ELSIF p_chan = 'Mail' THEN
        SELECT x.address_id INTO id FROM prefs_profile_address x
         WHERE x.profile_id = p_profile_id AND x.is_active AND x.is_default;
        RETURN 'A' || id;
    END IF;
    RETURN '';
END
$$;


-- The preferences of a body (prefs_data_pref_items' list), upserted by
-- (FilterId, contact point) after the contact points are in place; an item
-- with IsArchived true archives that preference instead.  Raises PF001
-- naming the item's path.  Returns whether anything changed.  Called by
-- prefs_data_apply_ex alone, so only inside the write engine.
CREATE OR REPLACE FUNCTION prefs_data_prefs_apply(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_items jsonb, p_create boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    changed  boolean := false;
    it       jsonb;
    v        jsonb;
    ep       text;
    cfg      jsonb;
    seen     jsonb := '{}';
    fid      text;
    chan     text;
    freq     text;
    ptype    integer;
    cdate    timestamptz;
    xdate    timestamptz;
    days     bigint;
    ckey     text;
    attrs    jsonb;
    lst      text;
    ismob    boolean;
    old_js   jsonb;
    ou       timestamptz;
    pf       prefs_preference%ROWTYPE;
    want     text;
BEGIN
    FOR it IN SELECT x FROM jsonb_array_elements(p_items) x LOOP
        v := it -> 'v';
        ep := it ->> 'at';
        lst := it ->> 'list';
        PERFORM prefs_cfg_object(v, ep, ARRAY['FilterId', 'PreferenceType',
            'FrequencyId', 'PreferenceAttributes', 'CustomerDate',
            'IsArchived',
            -- read-only (the read ProfilePreference): accepted, ignored
            'ProgramId', 'ChannelId', 'ExpirationDate', 'LastModifiedDate']);
        fid := prefs_cfg_text(v, ep, 'FilterId', true, 50) #>> '{}';
        cfg := prefs_data_item(p_account_id, 'Filter', fid);
        IF cfg IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.FilterId', format(
                '%s is not an active filter', prefs_cfg_quote(fid)));
        END IF;
        chan := cfg ->> 'ChannelId';
        IF prefs_cfg_get(v, 'ChannelId') IS NOT NULL
           AND v -> 'ChannelId' NOT IN ('""', to_jsonb(chan)) THEN
            PERFORM prefs_cfg_fail(ep || '.ChannelId', format(
                'must be %s, the channel of filter %s', prefs_cfg_quote(chan),
                prefs_cfg_quote(fid)));
        END IF;
        want := CASE lst WHEN 'Emails' THEN 'the Email channel'
                         WHEN 'PhoneNumbers' THEN 'the Phone, Text or Fax channel'
                         WHEN 'Addresses' THEN 'the Mail channel' END;
        IF lst = 'Emails' AND chan <> 'Email'
           OR lst = 'PhoneNumbers' AND chan NOT IN ('Phone', 'Text', 'Fax')
           OR lst = 'Addresses' AND chan <> 'Mail' THEN
            PERFORM prefs_cfg_fail(ep || '.FilterId', format(
                '%s is a filter of the %s channel: the preferences of %s '
                'must be on %s', prefs_cfg_quote(fid), chan,
                regexp_replace(ep, '\.[A-Za-z]+\[\d+\]$', ''), want));
        END IF;
        ckey := prefs_data_pref_contact(p_profile_id, chan, lst, it -> 'c');

        IF prefs_cfg_get(v, 'IsArchived') IS NOT NULL
           AND prefs_cfg_bool(v, ep, 'IsArchived', false)::text::boolean THEN
            IF p_create THEN
                PERFORM prefs_cfg_fail(ep || '.IsArchived',
                    'must be false: a new profile has nothing to archive');
            END IF;
            FOR pf IN UPDATE prefs_preference x
                         SET is_archived = true, updated_at = now()
                       WHERE x.profile_id = p_profile_id AND x.filter_id = fid
                         AND x.contact_key = ckey AND NOT x.is_archived
                      RETURNING *
            LOOP
                changed := true;
                PERFORM prefs_event_add(p_account_id, p_user_id,
                    'preference.archived', p_profile_id,
                    prefs_data_pref_json(pf)::jsonb);
            END LOOP;
            CONTINUE;
        END IF;

        IF ckey IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.FilterId', format(
                '%s is on the %s channel and the profile has no %s: give '
                'the preference in %s', prefs_cfg_quote(fid), chan,
                CASE chan WHEN 'Email' THEN 'default email address'
                          WHEN 'Text' THEN 'mobile phone number'
                          WHEN 'Mail' THEN 'default address'
                          ELSE 'default phone number' END,
                CASE chan WHEN 'Email' THEN 'Emails[].EmailPreferences'
                          WHEN 'Mail' THEN 'Addresses[].AddressPreferences'
                          ELSE 'PhoneNumbers[].PhonePreferences' END));
        END IF;
        IF chan = 'Text' AND lst = 'PhoneNumbers' THEN
            SELECT x.is_mobile INTO ismob FROM prefs_profile_phone x
             WHERE x.phone_id = substr(ckey, 2)::bigint;
            IF NOT ismob THEN
                PERFORM prefs_cfg_fail(ep || '.FilterId', format(
                    '%s is on the Text channel: %s must be a mobile number '
                    '(IsMobile)', prefs_cfg_quote(fid),
                    regexp_replace(ep, '\.[A-Za-z]+\[\d+\]$', '')));
            END IF;
        END IF;

        ptype := (prefs_cfg_int(v, ep, 'PreferenceType', 1, 2, NULL, false,
                  'must be 1 (opt-in) or 2 (opt-out)')) #>> '{}';
        freq := prefs_cfg_text(v, ep, 'FrequencyId', false, 20) #>> '{}';
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
        attrs := prefs_cfg_pairs(v, ep, 'PreferenceAttributes', 4000);
        cdate := prefs_data_customer_date(v, ep, ptype = 2);
        days := (cfg ->> CASE WHEN ptype = 1
                              THEN 'OptInCustomerExpirationDays'
                              ELSE 'OptOutCustomerExpirationDays' END)::bigint;
        xdate := cdate + make_interval(days => days::integer);
        seen := prefs_cfg_once(seen, fid || '/' || ckey, ep);

        SELECT * INTO pf FROM prefs_preference x
         WHERE x.profile_id = p_profile_id AND x.filter_id = fid
           AND x.contact_key = ckey FOR UPDATE;
        IF FOUND THEN
            old_js := prefs_data_pref_json(pf)::jsonb;
            ou := pf.updated_at;
            UPDATE prefs_preference x
               SET preference_type = ptype, frequency_id = freq,
                   attributes = attrs, customer_date = cdate,
                   expiration_date = xdate, is_archived = false,
                   channel_id = chan, updated_at = now()
             WHERE x.preference_id = pf.preference_id
            RETURNING * INTO pf;
            -- a new CustomerDate alone (defaulted to now) is no change
            IF old_js - 'CustomerDate' - 'ExpirationDate' - 'LastModifiedDate'
               <> prefs_data_pref_json(pf)::jsonb - 'CustomerDate'
                  - 'ExpirationDate' - 'LastModifiedDate'
               OR prefs_cfg_get(v, 'CustomerDate') IS NOT NULL
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
                           (old_js ->> 'ExpirationDate')::timestamptz,
                       updated_at = ou
                 WHERE x.preference_id = pf.preference_id;
            END IF;
        ELSE
            INSERT INTO prefs_preference (account_id, profile_id, filter_id,
                channel_id, email_id, phone_id, address_id, contact_key,
                preference_type, frequency_id, attributes, customer_date,
                expiration_date)
            VALUES (p_account_id, p_profile_id, fid, chan,
                CASE WHEN left(ckey, 1) = 'E' THEN substr(ckey, 2)::bigint END,
                CASE WHEN left(ckey, 1) = 'P' THEN substr(ckey, 2)::bigint END,
                CASE WHEN left(ckey, 1) = 'A' THEN substr(ckey, 2)::bigint END,
                ckey, ptype, freq, attrs, cdate, xdate)
            RETURNING * INTO pf;
            changed := true;
            PERFORM prefs_event_add(p_account_id, p_user_id, 'preference.added',
                p_profile_id, prefs_data_pref_json(pf)::jsonb);
        END IF;
    END LOOP;
    -- a change of the profile is a change of its row (its rendered copy,
    -- prefs_profile_doc, is current only for the row's xmin)
    IF changed THEN
        UPDATE prefs_profile p
           SET updated_at = now(), edited_at = now(), edited_by = p_user_id
         WHERE p.profile_id = p_profile_id;
    END IF;
    RETURN changed;
END
$$;



-- Every list of a profile body (or document) counted before any per-item
-- work, so that a huge list costs one refusal (PF001 naming the list and
-- the limit); each list's own, smaller limit is checked where it is read.
CREATE OR REPLACE FUNCTION prefs_data_list_sizes(b jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM prefs_cfg_array(b, '', l, 1000)
       FROM unnest(ARRAY['AlternateIds', 'Emails', 'PhoneNumbers',
                         'Addresses', 'CustomFields', 'Groups', 'Tags',
                         'ProfilePreferences', 'Consents']) AS l
      WHERE jsonb_typeof(b -> l) = 'array';
END
$$;


-- The per-profile path of the write engine (prefs_engine_run, stage 3c):
-- one body applied to one profile.  Raises PF001 / PF002; the engine runs
-- it in a subtransaction.  It runs only inside the engine, which is the
-- one place where a profile changes: called from anywhere else it raises
-- (XX000), so that a route writing around the engine fails its tests.
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
    items    jsonb;
BEGIN
    IF current_setting('prefs.engine', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION USING ERRCODE = 'XX000',
            MESSAGE = 'prefs_data_apply_ex runs only inside the write '
                      'engine (prefs_engine_run)';
    END IF;
    IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON object');
    END IF;
    PERFORM prefs_data_list_sizes(b);
    items := prefs_data_pref_items(b);
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
                        rest - 'Consents' - 'ProfilePreferences', p_create)
    THEN
        changed := true;
    END IF;
    IF prefs_data_prefs_apply(p_account_id, p_user_id, p_profile_id, items,
                              p_create) THEN
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
    lst    jsonb;
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
    SELECT jsonb_agg(CASE
               WHEN jsonb_typeof(x.it) = 'string'
                    AND p_part IN ('Tags', 'CustomFields')
                   THEN jsonb_build_object('Name', x.it, 'IsActive', false)
               WHEN jsonb_typeof(x.it) = 'object'
                   THEN x.it || '{"IsActive": false}'
               ELSE x.it END ORDER BY x.n)
      INTO lst
      FROM jsonb_array_elements(items) WITH ORDINALITY AS x(it, n);
    RETURN QUERY SELECT * FROM prefs_profile_update(p_account_id, p_user_id,
        p_profile_id, jsonb_build_object(p_part, lst));
END
$$;


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
                                 'v:' || lower(it ->> 'EmailAddress')]
        WHEN 'PhoneNumbers' THEN ARRAY['id:' || (it ->> 'PhoneId'),
                                 'v:' || ltrim(prefs_data_phone_norm(
                                             it ->> 'PhoneNumber'), '+')]
        WHEN 'Addresses' THEN ARRAY['id:' || (it ->> 'AddressId'),
                                 'v:' || lower(it ->> 'Address1') || '|'
                                 || lower(coalesce(it ->> 'PostalCode', ''))]
        WHEN 'CustomFields' THEN ARRAY[it ->> 'Name']
        WHEN 'Groups' THEN ARRAY[(it ->> 'Type') || '|' || (it ->> 'Name')]
        WHEN 'Tags' THEN ARRAY[it #>> '{}']
        WHEN 'ProfilePreferences' THEN ARRAY[it ->> 'FilterId']
        WHEN 'Consents' THEN ARRAY[(it ->> 'ConsentType') || '|'
                                 || coalesce(lower(it ->> 'ContactPoint'), '')]
        END, NULL)
$$;


-- The preferences of one list (ProfilePreferences, or those nested in a
-- contact point) an UpdateProfile must send to turn p_before into p_after:
-- the new and changed ones (a changed one whose CustomerDate was left as it
-- was is dated now), and the ones gone, archived.
CREATE OR REPLACE FUNCTION prefs_jp_prefs(p_before jsonb, p_after jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    lst  jsonb := '[]';
    it   jsonb;
    old  jsonb;
BEGIN
    p_before := coalesce(p_before, '[]');
    IF jsonb_typeof(p_after) IS DISTINCT FROM 'array' THEN
        RETURN p_after;          -- not a list: the write refuses it
    END IF;
    FOR it IN SELECT x FROM jsonb_array_elements(p_after) x LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(p_before) y
                               WHERE y = it);
        IF jsonb_typeof(it) = 'object' THEN
            SELECT y INTO old FROM jsonb_array_elements(p_before) y
             WHERE y ->> 'FilterId' = it ->> 'FilterId' LIMIT 1;
            IF old -> 'CustomerDate' = it -> 'CustomerDate' THEN
                it := it - 'CustomerDate';
            END IF;
            old := NULL;
        END IF;
        lst := lst || jsonb_build_array(it);
    END LOOP;
    FOR it IN SELECT y FROM jsonb_array_elements(p_before) y
               WHERE (y -> 'IsArchived') IS DISTINCT FROM 'true'
                 AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_after) x
                                  WHERE x ->> 'FilterId' = y ->> 'FilterId')
    LOOP
        lst := jsonb_build_array(jsonb_build_object('FilterId',
                   it -> 'FilterId', 'IsArchived', true)) || lst;
    END LOOP;
    RETURN lst;
END
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
    sub   text;
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
    -- a name the patch removed is emptied
    IF jsonb_typeof(b -> 'CustomerName') = 'object' OR NOT b ? 'CustomerName'
       OR b -> 'CustomerName' = 'null' THEN
        a := coalesce(prefs_cfg_get(b, 'CustomerName'), '{}');
        FOREACH f IN ARRAY ARRAY['Prefix', 'FirstName', 'MiddleName',
                                 'LastName', 'Suffix']
        LOOP
            IF NOT a ? f THEN
                a := a || jsonb_build_object(f, '');
            END IF;
        END LOOP;
        b := b || jsonb_build_object('CustomerName', a);
    END IF;
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
            IF l = 'ProfilePreferences' THEN
                CONTINUE;        -- the whole list below
            END IF;
            -- a contact point's preferences: what changed in them
            sub := CASE l WHEN 'Emails' THEN 'EmailPreferences'
                          WHEN 'PhoneNumbers' THEN 'PhonePreferences'
                          WHEN 'Addresses' THEN 'AddressPreferences' END;
            IF sub IS NOT NULL AND jsonb_typeof(it) = 'object'
               AND it ? sub THEN
                SELECT y INTO old FROM jsonb_array_elements(bl) y
                 WHERE prefs_jp_keys(l, y) && prefs_jp_keys(l, it) LIMIT 1;
                it := jsonb_set(it, ARRAY[sub],
                                prefs_jp_prefs(old -> sub, it -> sub));
                old := NULL;
            END IF;
            -- a changed consent whose ConsentDate was left as it was is
            -- dated now
            IF l = 'Consents' AND jsonb_typeof(it) = 'object' THEN
                SELECT y INTO old FROM jsonb_array_elements(bl) y
                 WHERE prefs_jp_keys(l, y) && prefs_jp_keys(l, it) LIMIT 1;
                IF old -> 'ConsentDate' = it -> 'ConsentDate' THEN
                    it := it - 'ConsentDate';
                END IF;
                it := it - 'IsActive';
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
                    prefs_cfg_quote(it ->> 'ConsentType')));
            END IF;
            CONTINUE WHEN l = 'ProfilePreferences';
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
                END) || lst;
        END LOOP;
        IF l = 'ProfilePreferences' THEN
            lst := prefs_jp_prefs(bl, a);
        END IF;
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
    res     text;
    st      text;
    msg     text;
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
    -- rendered from the tables, not the stored copy: the patch's tests
    -- check the data as the previous writer committed it
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
        PERFORM prefs_data_list_sizes(doc);
        b := prefs_jp_body(before, doc);
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
    END;
    IF jsonb_typeof(p_flags) = 'object' THEN
        b := b || p_flags;
    END IF;
    -- the body the patch amounts to, a batch of one through the write
    -- engine (its mode 'patch': the change, the copy, profile.replaced
    -- with the copy before as PreviousData); the answer is the new copy
    SELECT r.outcome, r.state, r.message INTO res, st, msg
      FROM prefs_engine_run(p_account_id, p_user_id, jsonb_build_array(b),
                            NULL, 'patch', p_profile_id) r;
    IF res = 'failed' THEN
        RETURN QUERY SELECT CASE WHEN st = 'NOTFOUND' THEN 'not_found'
                                 WHEN st = 'PF001' THEN 'invalid'
                                 ELSE 'conflict' END, msg;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'patched'::text,
        prefs_profile_get(p_account_id, p_profile_id, false);
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


-- The active profile id of an alternate id, NULL when none.
CREATE OR REPLACE FUNCTION prefs_data_alternate_profile(p_account_id bigint,
    p_type text, p_value text)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT a.profile_id FROM prefs_profile_alternate_id a
     WHERE a.account_id = p_account_id AND a.type = p_type
       AND a.value = p_value AND a.is_active
     ORDER BY a.alternate_id_id LIMIT 1
$$;


-- an updated or deleted profile loses its copy at once (personal data
-- must not linger after an erasure; and the space comes back)
CREATE OR REPLACE FUNCTION prefs_profile_doc_drop() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM prefs_profile_doc d WHERE d.profile_id = OLD.profile_id;
    RETURN NULL;
END
$$;


CREATE OR REPLACE TRIGGER prefs_profile_doc_drop
    AFTER UPDATE OR DELETE ON prefs_profile
    FOR EACH ROW EXECUTE FUNCTION prefs_profile_doc_drop();


-- Builds every missing or stale copy (of one account, or of all when
-- p_account_id is NULL) in one statement; returns how many it stored.
-- Run by every migrate (sql/after_migrate.sql) and after loads that write
-- the tables directly.  The profiles to build are chosen set-based; each
-- is rendered and stored by prefs_profile_doc_fill (the row's xmin checked
-- under FOR SHARE, as for a read).  (Rendering all of them inside one
-- INSERT ... SELECT was several times slower at 30,000 profiles: the
-- renderer's statements then ran with plans that scanned whole tables.)
-- The profiles of an account (NULL: every account) whose copy is missing
-- or stale, in id order after p_after, at most p_limit (NULL: all).
CREATE OR REPLACE FUNCTION prefs_profile_doc_stale(p_account_id bigint,
    p_after bigint, p_limit bigint)
RETURNS TABLE (account_id bigint, profile_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.account_id, x.profile_id
      FROM prefs_profile x
     WHERE (p_account_id IS NULL OR x.account_id = p_account_id)
       AND x.profile_id > p_after
       AND x.erased_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM prefs_profile_doc d
                        WHERE d.profile_id = x.profile_id
                          AND d.src_xmin = x.xmin)
     ORDER BY x.profile_id
     LIMIT p_limit
$$;


CREATE OR REPLACE FUNCTION prefs_profile_doc_build(p_account_id bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(prefs_profile_doc_fill(s.account_id, s.profile_id))
              FROM prefs_profile_doc_stale(p_account_id, 0, NULL) s);
END
$$;


-- The same for every account, in batches that commit as they go (CALL it
-- outside a transaction block): `prefsctl migrate` runs it after the
-- functions' transaction (sql/after_migrate_batches.sql), so that
-- rendering the copies of a large database (after a migration that
-- dropped them) never holds that transaction's locks, nor row locks on
-- more than a batch of profiles at a time.  One pass in id order: a copy
-- that a concurrent write makes stale again is that write's to keep.
CREATE OR REPLACE PROCEDURE prefs_profile_doc_build_batches(
    p_batch integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    v_last  bigint := 0;
    v_n     bigint;
    v_max   bigint;
BEGIN
    LOOP
        SELECT count(*), max(b.profile_id) INTO v_n, v_max
          FROM (SELECT s.profile_id,
                       prefs_profile_doc_fill(s.account_id, s.profile_id)
                  FROM prefs_profile_doc_stale(NULL, v_last, p_batch) s) b;
        EXIT WHEN v_n = 0;
        v_last := v_max;
        COMMIT;
    END LOOP;
END
$$;


-- Every write keeps the copy current, whatever function made it: at
-- commit, a profile whose row this transaction updated and whose copy is
-- not of the row as it now is gets a fresh one (the write engine, behind
-- every route, has made it already: the check finds it current; this
-- keeps the copy of a write outside the engine).  An erased profile gets
-- none.  INSERT is
-- not watched: a new profile's parts come after its row, and the
-- functions that create one keep its copy themselves.
CREATE OR REPLACE FUNCTION prefs_profile_doc_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM prefs_profile x
                WHERE x.profile_id = NEW.profile_id AND x.erased_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM prefs_profile_doc d
                                   WHERE d.profile_id = x.profile_id
                                     AND d.src_xmin = x.xmin)) THEN
        PERFORM prefs_profile_doc_fill(NEW.account_id, NEW.profile_id);
    END IF;
    RETURN NULL;
END
$$;


-- (a constraint trigger has no CREATE OR REPLACE: made once)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = 'prefs_profile'::regclass
                      AND tgname = 'prefs_profile_doc_keep') THEN
        CREATE CONSTRAINT TRIGGER prefs_profile_doc_keep
            AFTER UPDATE ON prefs_profile
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION prefs_profile_doc_keep();
    END IF;
END
$$;


-- Renders the profile and keeps the copy; NULL when there is no such
-- profile in the account.  Reads call it when the copy is not current;
-- writes (prefs_profile_create, prefs_profile_update) call it
-- after their last change, for the Data of their event, so the first read
-- after a change finds a current copy.  In a write the row's xmin is the
-- writing transaction's (or subtransaction's) id, which is what readers
-- see once it commits; the FOR SHARE below is then on a row the writer
-- already holds, and a rollback takes the copy with it.
CREATE OR REPLACE FUNCTION prefs_profile_doc_fill(p_account_id bigint,
    p_profile_id bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_xmin  xid;
    v_doc   text;
BEGIN
    -- one statement: the row's xmin and the document from one snapshot
    SELECT x.xmin, prefs_data_profile_json(x, false)::text
      INTO v_xmin, v_doc
      FROM prefs_profile x
     WHERE x.account_id = p_account_id AND x.profile_id = p_profile_id;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    INSERT INTO prefs_profile_doc AS d (profile_id, src_xmin, doc)
    SELECT x.profile_id, v_xmin, v_doc
      FROM prefs_profile x
     WHERE x.profile_id = p_profile_id AND x.xmin = v_xmin
       FOR SHARE OF x
    ON CONFLICT (profile_id) DO UPDATE
       SET src_xmin = EXCLUDED.src_xmin, doc = EXCLUDED.doc;

    RETURN v_doc;
END
$$;
