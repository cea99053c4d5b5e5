-- Preferences: their JSON, and the v3 Preferences routes and the v4 routes
-- by alternate id over the v4 data.
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- A preference as the reference's read ProfilePreference (nested in its
-- contact point in a profile): FilterId, ProgramId (its filter's, given:
-- the caller reads the filters once), ChannelId, PreferenceType,
-- FrequencyId, PreferenceAttributes, CustomerDate, ExpirationDate,
-- LastModifiedDate; IsArchived is ours.
CREATE OR REPLACE FUNCTION prefs_data_pref_doc_json(p prefs_preference,
    p_program text)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('FilterId', p.filter_id,
        'ProgramId', p_program,
        'ChannelId', p.channel_id,
        'PreferenceType', p.preference_type,
        'FrequencyId', p.frequency_id,
        'PreferenceAttributes', p.attributes,
        'CustomerDate', prefs_iso(p.customer_date),
        'ExpirationDate', prefs_iso(p.expiration_date),
        'LastModifiedDate', prefs_iso(p.updated_at),
        'IsArchived', p.is_archived)
$$;


-- A preference standing alone (the Data of preference.* events): the read
-- ProfilePreference and the contact point it applies to, by the name the
-- contact's model gives it (EmailAddress, PhoneNumber, AddressId).
-- (PL/pgSQL, not SQL: its sub-selects keep a SQL function from being
-- inlined, and a SQL function that is not is parsed and planned again in
-- every transaction that calls it; a PL/pgSQL function's plans are kept
-- for the session.)
CREATE OR REPLACE FUNCTION prefs_data_pref_json(p prefs_preference)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (prefs_data_pref_doc_json(p, (SELECT i.body ->> 'ProgramId'
                FROM prefs_config_item i
               WHERE i.account_id = p.account_id AND i.kind = 'Filter'
                 AND i.key = p.filter_id))::jsonb || CASE
            WHEN p.email_id IS NOT NULL THEN jsonb_build_object(
                'EmailAddress', (SELECT e.address FROM prefs_profile_email e
                                  WHERE e.email_id = p.email_id))
            WHEN p.phone_id IS NOT NULL THEN jsonb_build_object(
                'PhoneNumber', (SELECT ph.number FROM prefs_profile_phone ph
                                 WHERE ph.phone_id = p.phone_id))
            WHEN p.address_id IS NOT NULL THEN jsonb_build_object(
                'AddressId', p.address_id)
            ELSE '{}' END)::json;
END
$$;


-- The UpdateProfile body of a preferences write (POST Profile/{id}/
-- Preferences and by alternate id): the preference part of a
-- UserProfilePreference (ProfilePreferences, and Emails, PhoneNumbers,
-- Addresses with their EmailPreferences, PhonePreferences,
-- AddressPreferences: a contact point the profile lacks is added), a
-- list of CreateProfilePreference, or one.  PF001 for anything else.
CREATE OR REPLACE FUNCTION prefs_data_prefs_body(p_body jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(p_body) = 'array' THEN
        RETURN jsonb_build_object('ProfilePreferences', p_body);
    ELSIF jsonb_typeof(p_body) <> 'object' OR p_body IS NULL THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON object or array');
    ELSIF p_body ? 'FilterId' THEN
        RETURN jsonb_build_object('ProfilePreferences',
                                  jsonb_build_array(p_body));
    END IF;
    PERFORM prefs_cfg_object(p_body, '', ARRAY['ProfilePreferences', 'Emails',
        'PhoneNumbers', 'Addresses', 'PreservePreferences',
        'PreserveConsents']);
    RETURN p_body;
END
$$;


-- POST Profile/{id}/Preferences: an UpdateProfile of the preferences alone
-- (prefs_data_prefs_body), with its rules and events.  Outcomes as
-- prefs_profile_update.
CREATE OR REPLACE FUNCTION prefs_profile_preferences(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_body jsonb)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    b  jsonb;
BEGIN
    BEGIN
        b := prefs_data_prefs_body(p_body);
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        IF EXISTS (SELECT 1 FROM prefs_profile p
                    WHERE p.account_id = p_account_id
                      AND p.profile_id = p_profile_id
                      AND p.erased_at IS NULL) THEN
            RETURN QUERY SELECT 'invalid'::text, SQLERRM;
        ELSE
            RETURN QUERY SELECT 'not_found'::text,
                format('there is no profile %s', p_profile_id);
        END IF;
        RETURN;
    END;
    RETURN QUERY SELECT * FROM prefs_profile_update(p_account_id, p_user_id,
        p_profile_id, b);
END
$$;


-- POST Profile/Preferences/AlternateIdType/{type}/AlternateId/{value}: the
-- body of POST Profile/{id}/Preferences (prefs_data_prefs_body).
-- Outcomes: updated, not_found, invalid, conflict.
CREATE OR REPLACE FUNCTION prefs_profile_preferences_by_alternate_id(
    p_account_id bigint, p_user_id bigint, p_type text, p_value text,
    p_body jsonb)
RETURNS TABLE (outcome text, profile_id bigint, message text)
LANGUAGE plpgsql AS $$
DECLARE
    pid    bigint;
    r      record;
BEGIN
    pid := prefs_data_alternate_profile(p_account_id, p_type, p_value);
    IF pid IS NULL THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO r FROM prefs_profile_preferences(p_account_id, p_user_id,
        pid, p_body) x;
    RETURN QUERY SELECT r.outcome, pid, r.message;
END
$$;


-- v3 Preferences (MyPreferences 2.0): one model, the v3 spelling.
--
-- The CID (customer id) of v3 is the profile's alternate id of type "CID"
-- (the account configures an alternate id type of that name).  A v3
-- Preference is one row of prefs_preference, read with its profile's
-- names, CID and contact point:
--
--   v3 Preference            v4
--   CID                      AlternateIds[Type = "CID"].Value
--   Prefix .. Suffix         the profile's Prefix .. Suffix
--   FilterID                 the preference's FilterId
--   ProgramID, ChannelID     the filter's ProgramId, ChannelId
--   PreferenceType           PreferenceType
--   FrequencyID              FrequencyId
--   PreferenceAttributes     Attributes ({"Key","Value"}; Link dropped)
--   CustomerDate             CustomerDate
--   ContactElement.Email     the email address (Email channel)
--   ContactElement.PFT       the phone number (Phone, Text, Fax)
--   ContactElement.Address1, Address2, City, StateProvince, PostalCode,
--     CountryCode            the address (Mail): the same names
--   CustomProperties         the filter's CustomProperties
--   LastModifiedDate         when the preference last changed
--   UserID, SourceID         null (not kept per preference)

CREATE OR REPLACE FUNCTION prefs_v3_pref_json(pr prefs_preference,
    p prefs_profile, p_cid text, p_filter jsonb, e prefs_profile_email,
    ph prefs_profile_phone, ad prefs_profile_address)
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'ProgramID', p_filter ->> 'ProgramId',
        'ChannelID', pr.channel_id,
        'UserID', NULL,
        'SourceID', NULL,
        'LastModifiedDate', prefs_iso(pr.updated_at),
        'FilterID', pr.filter_id,
        'CustomProperties', coalesce(p_filter -> 'CustomProperties', '[]'),
        'CID', p_cid,
        'Prefix', p.prefix, 'FirstName', p.first_name,
        'MiddleName', p.middle_name, 'LastName', p.last_name,
        'Suffix', p.suffix,
        'PreferenceType', pr.preference_type,
        'ContactElement', json_build_object(
            'Email', coalesce(e.address, ''),
            'PFT', coalesce(ph.number, ''),
            'Address1', coalesce(ad.line1, ''),
            'Address2', coalesce(ad.line2, ''),
            'City', coalesce(ad.city, ''),
            'StateProvince', coalesce(ad.state, ''),
            'CountryCode', coalesce(ad.country, ''),
            'PostalCode', coalesce(ad.postal_code, '')),
        'FrequencyID', pr.frequency_id,
        'PreferenceAttributes', pr.attributes,
        'CustomerDate', prefs_iso(pr.customer_date),
        'ExpirationDate', prefs_iso(pr.expiration_date))
$$;


-- The v3 Preferences of the given preference rows, in the order given.
CREATE OR REPLACE FUNCTION prefs_v3_prefs(p_account_id bigint,
    p_ids bigint[])
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(prefs_v3_pref_json(pr, p,
               (SELECT a.value FROM prefs_profile_alternate_id a
                 WHERE a.profile_id = p.profile_id AND a.type = 'CID'
                   AND a.is_active ORDER BY a.alternate_id_id LIMIT 1),
               f.body, e, ph, ad) ORDER BY o.n), '[]')
      FROM unnest(p_ids) WITH ORDINALITY AS o(id, n)
      JOIN prefs_preference pr ON pr.preference_id = o.id
      JOIN prefs_profile p ON p.profile_id = pr.profile_id
      LEFT JOIN prefs_config_item f
             ON f.account_id = pr.account_id AND f.kind = 'Filter'
            AND f.key = pr.filter_id
      LEFT JOIN prefs_profile_email e ON e.email_id = pr.email_id
      LEFT JOIN prefs_profile_phone ph ON ph.phone_id = pr.phone_id
      LEFT JOIN prefs_profile_address ad ON ad.address_id = pr.address_id
     WHERE pr.account_id = p_account_id
$$;


-- The programs of a program group, with those of its nested groups when
-- p_nested; NULL when the account has no such group.
CREATE OR REPLACE FUNCTION prefs_v3_group_programs(p_account_id bigint,
    p_group text, p_nested boolean, p_active boolean)
RETURNS text[]
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE g(key, body, depth) AS (
        SELECT i.key, i.body, 0 FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = 'ProgramGroup'
           AND i.key = p_group AND (i.is_active OR NOT p_active)
        UNION
        SELECT i.key, i.body, g.depth + 1 FROM prefs_config_item i
          JOIN g ON i.body ->> 'ParentProgramGroupId' = g.key
         WHERE p_nested AND i.account_id = p_account_id
           AND i.kind = 'ProgramGroup' AND (i.is_active OR NOT p_active)
           AND g.depth < 32)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM g) THEN coalesce(
        (SELECT array_agg(DISTINCT x) FROM g,
                jsonb_array_elements_text(g.body -> 'ProgramIds') AS x),
        '{}') END
$$;


-- GET routes.  p_by / p_args (the query string as an object, plus the
-- path's values):
--   cid         {CID, ProgramIds?: [...]}
--   program     {CID, ProgramId}
--   group       {CID, ProgramGroupId}   (nested groups included)
--   attributes  {attributes: [{Key, Value}], channels?: [...]}
-- Outcomes: ok (body {"Preferences": [...]}), not_found (body: what),
-- invalid (body: the message), too_many (over 50 profiles).
CREATE OR REPLACE FUNCTION prefs_v3_preferences_read(p_account_id bigint,
    p_by text, p_args jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cid       text;
    pid       bigint;
    programs  text[];
    arr       jsonb;
    chans     text[];
    ids       bigint[];
    pids      bigint[];
    e         record;
BEGIN
    IF jsonb_typeof(p_args) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text, 'bad arguments'::text;
        RETURN;
    END IF;

    IF p_by = 'attributes' THEN
        arr := p_args -> 'attributes';
        IF jsonb_typeof(arr) IS DISTINCT FROM 'array'
           OR jsonb_array_length(arr) = 0 THEN
            RETURN QUERY SELECT 'invalid'::text,
                'at least one attribute (attributes[0].Key, '
                'attributes[0].Value) is required'::text;
            RETURN;
        END IF;
        FOR e IN SELECT x.v, x.n - 1 AS i
                   FROM jsonb_array_elements(arr) WITH ORDINALITY AS x(v, n)
        LOOP
            IF jsonb_typeof(e.v) IS DISTINCT FROM 'object'
               OR jsonb_typeof(e.v -> 'Key') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e.v -> 'Value') IS DISTINCT FROM 'string' THEN
                RETURN QUERY SELECT 'invalid'::text, format(
                    'attributes[%s] must have a Key and a Value', e.i);
                RETURN;
            END IF;
        END LOOP;
        IF p_args ? 'channels' THEN
            IF jsonb_typeof(p_args -> 'channels') <> 'array' OR EXISTS (
                   SELECT 1 FROM jsonb_array_elements(p_args -> 'channels') c
                    WHERE jsonb_typeof(c) <> 'string'
                       OR NOT (c #>> '{}') = ANY (prefs_cfg_channels())) THEN
                RETURN QUERY SELECT 'invalid'::text,
                    'channels[n] must be channels: Email, Phone, Text, Fax '
                    'or Mail'::text;
                RETURN;
            END IF;
            SELECT array_agg(c) INTO chans
              FROM jsonb_array_elements_text(p_args -> 'channels') c;
        END IF;
        SELECT array_agg(DISTINCT pr.profile_id) INTO pids FROM (
            SELECT DISTINCT pr.profile_id FROM prefs_preference pr
              JOIN prefs_profile p ON p.profile_id = pr.profile_id
             WHERE pr.account_id = p_account_id AND NOT pr.is_archived
               AND p.erased_at IS NULL
               AND pr.attributes @> (SELECT jsonb_agg(jsonb_build_object(
                       'Key', q ->> 'Key', 'Value', q ->> 'Value'))
                       FROM jsonb_array_elements(arr) q)
               AND (chans IS NULL OR pr.channel_id = ANY (chans))
             LIMIT 51) pr;
        IF coalesce(array_length(pids, 1), 0) > 50 THEN
            RETURN QUERY SELECT 'too_many'::text, NULL::text;
            RETURN;
        END IF;
        SELECT array_agg(pr.preference_id
                         ORDER BY pr.profile_id, pr.preference_id) INTO ids
          FROM prefs_preference pr
         WHERE pr.account_id = p_account_id AND pr.profile_id = ANY (pids)
           AND NOT pr.is_archived
           AND pr.attributes @> (SELECT jsonb_agg(jsonb_build_object(
                   'Key', q ->> 'Key', 'Value', q ->> 'Value'))
                   FROM jsonb_array_elements(arr) q)
           AND (chans IS NULL OR pr.channel_id = ANY (chans));
        RETURN QUERY SELECT 'ok'::text, json_build_object('Preferences',
            prefs_v3_prefs(p_account_id, coalesce(ids, '{}')))::text;
        RETURN;
    END IF;

    cid := p_args ->> 'CID';
    IF jsonb_typeof(p_args -> 'CID') IS DISTINCT FROM 'string' OR cid = '' THEN
        RETURN QUERY SELECT 'invalid'::text, 'CID is required'::text;
        RETURN;
    END IF;

    IF p_by = 'cid' THEN
        IF p_args ? 'ProgramIds' THEN
            IF jsonb_typeof(p_args -> 'ProgramIds') <> 'array' OR EXISTS (
                   SELECT 1 FROM jsonb_array_elements(p_args -> 'ProgramIds') x
                    WHERE jsonb_typeof(x) <> 'string') THEN
                RETURN QUERY SELECT 'invalid'::text,
                    'ProgramIds must be ProgramIds[0]=..&ProgramIds[1]=..'
                    ::text;
                RETURN;
            END IF;
            SELECT array_agg(x) INTO programs
              FROM jsonb_array_elements_text(p_args -> 'ProgramIds') x;
        END IF;
    ELSIF p_by = 'program' THEN
        IF NOT EXISTS (SELECT 1 FROM prefs_config_item i
                        WHERE i.account_id = p_account_id
                          AND i.kind = 'Program'
                          AND i.key = p_args ->> 'ProgramId') THEN
            RETURN QUERY SELECT 'not_found'::text, format(
                'No program has the id "%s"', p_args ->> 'ProgramId');
            RETURN;
        END IF;
        programs := ARRAY[p_args ->> 'ProgramId'];
    ELSIF p_by = 'group' THEN
        programs := prefs_v3_group_programs(p_account_id,
                                            p_args ->> 'ProgramGroupId',
                                            true, false);
        IF programs IS NULL THEN
            RETURN QUERY SELECT 'not_found'::text, format(
                'No program group has the id "%s"',
                p_args ->> 'ProgramGroupId');
            RETURN;
        END IF;
    ELSE
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown v3 read %L', p_by);
    END IF;

    pid := prefs_data_alternate_profile(p_account_id, 'CID', cid);
    IF pid IS NULL THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('No customer has the CID "%s"', prefs_cfg_shown(cid));
        RETURN;
    END IF;

    SELECT array_agg(pr.preference_id ORDER BY pr.preference_id) INTO ids
      FROM prefs_preference pr
      LEFT JOIN prefs_config_item f
             ON f.account_id = pr.account_id AND f.kind = 'Filter'
            AND f.key = pr.filter_id
     WHERE pr.account_id = p_account_id AND pr.profile_id = pid
       AND NOT pr.is_archived
       AND (programs IS NULL OR f.body ->> 'ProgramId' = ANY (programs));
    RETURN QUERY SELECT 'ok'::text, json_build_object('Preferences',
        prefs_v3_prefs(p_account_id, coalesce(ids, '{}')))::text;
END
$$;


-- A refusal of the v4 functions, in the v3 spelling: the v4 field path of
-- the body prefs_v3_apply built becomes the v3 path of the request.
CREATE OR REPLACE FUNCTION prefs_v3_message(p_msg text, p_at text,
    p_cat text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m  record;
BEGIN
    FOR m IN SELECT * FROM (VALUES
        ('ProfilePreferences[0].FilterId', false, 'FilterID'),
        ('ProfilePreferences[0].FrequencyId', false, 'FrequencyID'),
        ('ProfilePreferences[0].PreferenceType', false, 'PreferenceType'),
        ('ProfilePreferences[0].PreferenceAttributes', false,
         'PreferenceAttributes'),
        ('ProfilePreferences[0].CustomerDate', false, 'CustomerDate'),
        ('ProfilePreferences[0]', false, ''),
        ('Emails[0].EmailAddress', true, 'ContactElement.Email'),
        ('PhoneNumbers[0].PhoneNumber', true, 'ContactElement.PFT'),
        ('Addresses[0].Address1', true, 'ContactElement.Address1'),
        ('Addresses[0].Address2', true, 'ContactElement.Address2'),
        ('Addresses[0].City', true, 'ContactElement.City'),
        ('Addresses[0].StateProvince', true, 'ContactElement.StateProvince'),
        ('Addresses[0].PostalCode', true, 'ContactElement.PostalCode'),
        ('Addresses[0].CountryCode', true, 'ContactElement.CountryCode'),
        ('AlternateIds[0].Value', false, 'CID'),
        ('AlternateIds[0]', false, 'CID')) AS t(v4, contact, v3)
    LOOP
        IF left(p_msg, char_length(m.v4)) = m.v4 THEN
            RETURN concat_ws('.', nullif(CASE WHEN m.contact THEN p_cat
                                              ELSE p_at END, ''),
                                  nullif(m.v3, ''))
                   || substr(p_msg, char_length(m.v4) + 1);
        END IF;
    END LOOP;
    RETURN p_msg;
END
$$;


-- A v3 ContactElement: an object of strings.
CREATE OR REPLACE FUNCTION prefs_v3_contact(o jsonb, p_path text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v  jsonb := prefs_cfg_get(o, 'ContactElement');
    f  text;
    r  jsonb := '{}';
BEGIN
    IF v IS NULL THEN
        RETURN r;
    END IF;
    PERFORM prefs_cfg_object(v, prefs_cfg_at(p_path, 'ContactElement'),
        ARRAY['Email', 'PFT', 'Address1', 'Address2', 'City',
              'StateProvince', 'CountryCode', 'PostalCode']);
    FOREACH f IN ARRAY ARRAY['Email', 'PFT', 'Address1', 'Address2', 'City',
                             'StateProvince', 'CountryCode', 'PostalCode']
    LOOP
        r := r || jsonb_build_object(f, prefs_cfg_text(v,
                 prefs_cfg_at(p_path, 'ContactElement'), f, false, 256));
    END LOOP;
    RETURN r;
END
$$;


-- v3 PreferenceAttributes [{"Link","Key","Value"}] -> [{"Key","Value"}].
CREATE OR REPLACE FUNCTION prefs_v3_attributes(o jsonb, p_path text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e    record;
    ep   text;
    res  jsonb := '[]';
BEGIN
    FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                 prefs_cfg_array(o, p_path, 'PreferenceAttributes', 100))
                 WITH ORDINALITY AS x(v, n)
    LOOP
        ep := prefs_cfg_at(p_path, 'PreferenceAttributes') || '[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['Link', 'Key', 'Value']);
        res := res || jsonb_build_array(e.v - 'Link');
    END LOOP;
    RETURN res;
END
$$;


-- One v3 preference item, normalized (see prefs_v3_preferences_write):
--   {CID, Names: {...}, FilterID, PreferenceType, FrequencyID, Attributes,
--    CustomerDate, Contact: {...}, Optional, At, ContactAt}
-- applied to its profile.  Raises PF001 (v3 paths) / PF002.  p_state
-- carries, per profile id, the profile before the request ("before") or
-- that it was created ("created"); returns it, with the id of the
-- preference written (or none: skipped) under "last".
CREATE OR REPLACE FUNCTION prefs_v3_apply(p_account_id bigint,
    p_user_id bigint, it jsonb, p_state jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st     jsonb := p_state - 'last';
    at     text := it ->> 'At';
    cat    text := it ->> 'ContactAt';
    cid    text := it ->> 'CID';
    fid    text := it ->> 'FilterID';
    ce     jsonb := it -> 'Contact';
    cfg    jsonb;
    chan   text;
    pid    bigint;
    body   jsonb;
    cp     jsonb;
    ckey   text;
    cval   text;
    id     bigint;
    prid   bigint;
    f      text;
    ev     bigint;
BEGIN
    cfg := prefs_data_item(p_account_id, 'Filter', fid);
    IF cfg IS NULL THEN
        PERFORM prefs_cfg_fail(concat_ws('.', nullif(at, ''), 'FilterID'),
            format('%s is not an active filter', prefs_cfg_quote(fid)));
    END IF;
    chan := cfg ->> 'ChannelId';
    cval := CASE WHEN chan = 'Email' THEN ce ->> 'Email'
                 WHEN chan IN ('Phone', 'Text', 'Fax') THEN ce ->> 'PFT'
                 WHEN chan = 'Mail' THEN ce ->> 'Address1' END;

    -- the profile: by CID, else by the contact element.  Two requests for
    -- one new customer are serialized here, so that the second finds the
    -- profile the first created.
    PERFORM pg_advisory_xact_lock(hashtextextended(format('prefs_v3/%s/%s',
        p_account_id, CASE WHEN cid <> '' THEN 'CID/' || cid
                           WHEN chan IN ('Phone', 'Text', 'Fax')
                           THEN 'P/' || prefs_data_phone_norm(cval)
                           ELSE chan || '/' || lower(coalesce(cval, '')) END),
        0));
    IF cid <> '' THEN
        IF prefs_data_item(p_account_id, 'AlternateIdType', 'CID') IS NULL
        THEN
            PERFORM prefs_cfg_fail(concat_ws('.', nullif(at, ''), 'CID'),
                'needs an active alternate id type named ''CID'' in the '
                'account''s configuration');
        END IF;
        pid := prefs_data_alternate_profile(p_account_id, 'CID', cid);
    ELSIF coalesce(cval, '') = '' THEN
        PERFORM prefs_cfg_fail(concat_ws('.', nullif(at, ''), 'CID'),
            format('is required unless the ContactElement names the %s '
                   'contact of filter %s', chan, prefs_cfg_quote(fid)));
    ELSIF chan = 'Email' THEN
        SELECT min(x.profile_id) INTO pid FROM prefs_profile_email x
         WHERE x.account_id = p_account_id AND x.is_active
           AND lower(x.address) = lower(cval);
    ELSIF chan IN ('Phone', 'Text', 'Fax') THEN
        SELECT min(x.profile_id) INTO pid FROM prefs_profile_phone x
         WHERE x.account_id = p_account_id AND x.is_active
           AND x.number IN (prefs_data_phone_digits(cval),
                            '+' || prefs_data_phone_digits(cval));
    ELSIF chan = 'Mail' THEN
        SELECT min(x.profile_id) INTO pid FROM prefs_profile_address x
         WHERE x.account_id = p_account_id AND x.is_active
           AND lower(x.line1) = lower(cval)
           AND lower(x.postal_code) = lower(coalesce(ce ->> 'PostalCode', ''));
    END IF;

    IF pid IS NOT NULL THEN
        PERFORM 1 FROM prefs_profile p
         WHERE p.profile_id = pid AND p.erased_at IS NULL FOR UPDATE;
        IF NOT (st ? pid::text) THEN
            -- the stored copy (rendered when it is not current)
            st := st || jsonb_build_object(pid::text, jsonb_build_object(
                'before', prefs_profile_get(p_account_id, pid,
                                            false)::jsonb));
        END IF;
        body := CASE WHEN it -> 'Names' <> '{}'
                     THEN jsonb_build_object('CustomerName', it -> 'Names')
                     ELSE '{}' END;
    ELSE
        -- a new customer: the names go into profile.created
        INSERT INTO prefs_profile AS p (account_id, edited_by, prefix,
            first_name, middle_name, last_name, suffix)
        VALUES (p_account_id, p_user_id,
            coalesce(it #>> '{Names,Prefix}', ''),
            coalesce(it #>> '{Names,FirstName}', ''),
            coalesce(it #>> '{Names,MiddleName}', ''),
            coalesce(it #>> '{Names,LastName}', ''),
            coalesce(it #>> '{Names,Suffix}', ''))
        RETURNING p.profile_id INTO pid;
        ev := prefs_event_add(p_account_id, p_user_id, 'profile.created', pid,
                              NULL);
        st := st || jsonb_build_object(pid::text,
                                       jsonb_build_object('created', ev));
        body := '{}';
        IF cid <> '' THEN
            body := jsonb_build_object('AlternateIds', jsonb_build_array(
                jsonb_build_object('Type', 'CID', 'Value', cid)));
        END IF;
    END IF;

    -- the contact point of the filter's channel, added or updated
    IF coalesce(cval, '') <> '' THEN
        IF chan = 'Email' THEN
            body := body || jsonb_build_object('Emails', jsonb_build_array(
                jsonb_build_object('EmailAddress', cval)));
        ELSIF chan IN ('Phone', 'Text', 'Fax') THEN
            body := body || jsonb_build_object('PhoneNumbers',
                jsonb_build_array(jsonb_build_object('PhoneNumber', cval)
                    || CASE WHEN chan = 'Text'
                            THEN '{"IsMobile": true}'::jsonb
                            ELSE '{}' END));
        ELSIF chan = 'Mail' THEN
            body := body || jsonb_build_object('Addresses', jsonb_build_array(
                jsonb_build_object('Address1', cval,
                    'Address2', ce ->> 'Address2', 'City', ce ->> 'City',
                    'StateProvince', ce ->> 'StateProvince',
                    'PostalCode', ce ->> 'PostalCode',
                    'CountryCode', ce ->> 'CountryCode')));
        END IF;
    END IF;
    BEGIN
        PERFORM prefs_data_apply(p_account_id, p_user_id, pid, body, false);
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = prefs_v3_message(SQLERRM, at, cat);
    END;

    -- the contact point: given, else the profile's default of the channel
    IF chan = 'Email' THEN
        SELECT x.email_id, to_jsonb(x.address) INTO id, cp
          FROM prefs_profile_email x
         WHERE x.profile_id = pid AND x.is_active
           AND CASE WHEN coalesce(cval, '') <> ''
                    THEN lower(x.address) = lower(cval) ELSE x.is_default END
         ORDER BY x.email_id LIMIT 1;
        ckey := 'E' || id;
    ELSIF chan IN ('Phone', 'Text', 'Fax') THEN
        SELECT x.phone_id, to_jsonb(x.number) INTO id, cp
          FROM prefs_profile_phone x
         WHERE x.profile_id = pid AND x.is_active
           AND CASE WHEN coalesce(cval, '') <> ''
                    THEN ltrim(x.number, '+')
                         = prefs_data_phone_digits(cval)
                    WHEN chan = 'Text' THEN x.is_mobile
                    ELSE x.is_default END
         ORDER BY x.is_default DESC, x.phone_id LIMIT 1;
        ckey := 'P' || id;
    ELSIF chan = 'Mail' THEN
        SELECT x.address_id, to_jsonb(x.address_id) INTO id, cp
          FROM prefs_profile_address x
         WHERE x.profile_id = pid AND x.is_active
           AND CASE WHEN coalesce(cval, '') <> ''
                    THEN lower(x.line1) = lower(cval)
                         AND lower(x.postal_code)
                             = lower(coalesce(ce ->> 'PostalCode', ''))
                    ELSE x.is_default END
         ORDER BY x.address_id LIMIT 1;
        ckey := 'A' || id;
    ELSE
        id := 0;
        ckey := '';
    END IF;
    IF id IS NULL THEN
        IF (it ->> 'Optional')::boolean THEN
            RETURN st;               -- no contact point: skipped
        END IF;
        PERFORM prefs_cfg_fail(concat_ws('.', nullif(cat, ''),
                                         'ContactElement'),
            format('must give the %s of the customer (filter %s is on the '
                   '%s channel)', CASE chan WHEN 'Email' THEN 'Email'
                   WHEN 'Mail' THEN 'address (Address1, PostalCode)'
                   ELSE 'phone number (PFT)' END, prefs_cfg_quote(fid), chan));
    END IF;

    -- the preference, on the contact point found above
    body := jsonb_build_object('FilterId', fid,
        'PreferenceType', it -> 'PreferenceType',
        'FrequencyId', it -> 'FrequencyID',
        'PreferenceAttributes', it -> 'Attributes',
        'CustomerDate', it -> 'CustomerDate');
    BEGIN
        PERFORM prefs_data_prefs_apply(p_account_id, p_user_id, pid,
            jsonb_build_array(jsonb_build_object('v', body,
                'at', 'ProfilePreferences[0]', 'key', ckey)), false);
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = prefs_v3_message(SQLERRM, at, cat);
    END;
    SELECT x.preference_id INTO prid FROM prefs_preference x
     WHERE x.profile_id = pid AND x.filter_id = fid AND x.contact_key = ckey;
    RETURN st || jsonb_build_object('last', prid);
END
$$;


-- A v3 item of the request, checked and normalized for prefs_v3_apply.
CREATE OR REPLACE FUNCTION prefs_v3_item(o jsonb, p_at text, p_cat text,
    p_contact jsonb, p_filter text, p_type jsonb, p_optional boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    names  jsonb := '{}';
    f      text;
    v      text;
BEGIN
    FOREACH f IN ARRAY ARRAY['Prefix', 'FirstName', 'MiddleName', 'LastName',
                             'Suffix']
    LOOP
        v := prefs_cfg_text(o, p_at, f, false, 50) #>> '{}';
        IF v <> '' THEN
            names := names || jsonb_build_object(f, v);
        END IF;
    END LOOP;
    RETURN jsonb_build_object(
        'CID', prefs_cfg_text(o, p_at, 'CID', false, 50),
        'Names', names,
        'FilterID', p_filter,
        'PreferenceType', p_type,
        'FrequencyID', prefs_cfg_get(o, 'FrequencyID'),
        'Attributes', prefs_v3_attributes(o, p_at),
        'CustomerDate', prefs_cfg_get(o, 'CustomerDate'),
        'Contact', p_contact,
        'Optional', p_optional,
        'At', p_at,
        'ContactAt', p_cat);
END
$$;


-- POST Preferences (p_mode 'list': a list of v3 Preferences, as an array,
-- {"Preferences": [...]} or one object), POST Preferences/Program/{id}
-- ('program') and Preferences/ProgramGroup/{id} ('group': a
-- ProgramGroupPreference for every active filter of the program(s)).
-- All or nothing.  Outcomes: ok (body {"Preferences": [the preferences
-- written, v3]}), not_found (body: what), invalid (body: the message),
-- conflict.
CREATE OR REPLACE FUNCTION prefs_v3_preferences_write(p_account_id bigint,
    p_user_id bigint, p_mode text, p_key text, p_body jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    items     jsonb := '[]';
    it        jsonb;
    e         record;
    c         record;
    ep        text;
    programs  text[];
    gtype     jsonb;
    chans     jsonb := '{}';
    st        jsonb := '{}';
    written   bigint[] := '{}';
    k         text;
    v         jsonb;
    ch        text;
    freq      jsonb;
BEGIN
    BEGIN
        IF p_mode = 'list' THEN
            v := CASE
                WHEN jsonb_typeof(p_body) = 'array' THEN p_body
                WHEN jsonb_typeof(p_body) = 'object'
                     AND (SELECT count(*) FROM jsonb_object_keys(p_body)) = 1
                     AND jsonb_typeof(p_body -> 'Preferences') = 'array'
                THEN p_body -> 'Preferences'
                ELSE jsonb_build_array(p_body) END;
            IF jsonb_array_length(v) = 0 OR jsonb_array_length(v) > 500 THEN
                PERFORM prefs_cfg_fail('Preferences',
                                       'must have 1 to 500 preferences');
            END IF;
            FOR e IN SELECT x.v, x.n - 1 AS i
                       FROM jsonb_array_elements(v) WITH ORDINALITY AS x(v, n)
            LOOP
                ep := 'Preferences[' || e.i || ']';
                PERFORM prefs_cfg_object(e.v, ep, ARRAY['FilterID', 'CID',
                    'Prefix', 'FirstName', 'MiddleName', 'LastName',
                    'Suffix', 'PreferenceType', 'ContactElement',
                    'FrequencyID', 'PreferenceAttributes', 'CustomerDate',
                    -- read-only: accepted and ignored
                    'ProgramID', 'ChannelID', 'UserID', 'SourceID',
                    'LastModifiedDate', 'CustomProperties',
                    'ExpirationDate']);
                items := items || jsonb_build_array(prefs_v3_item(e.v, ep, ep,
                    prefs_v3_contact(e.v, ep),
                    prefs_cfg_text(e.v, ep, 'FilterID', true, 50) #>> '{}',
                    prefs_cfg_int(e.v, ep, 'PreferenceType', 1, 2, NULL, false,
                                  'must be 1 (opt-in) or 2 (opt-out)'),
                    false));
            END LOOP;
        ELSE
            IF jsonb_typeof(p_body) IS DISTINCT FROM 'object' THEN
                PERFORM prefs_cfg_fail('', 'must be a JSON object '
                                           '(a ProgramGroupPreference)');
            END IF;
            PERFORM prefs_cfg_object(p_body, '', ARRAY['CID', 'Prefix',
                'FirstName', 'MiddleName', 'LastName', 'Suffix',
                'GlobalPreferenceType', 'UpdateNestedGroups',
                'ChannelContactPreference', 'FrequencyID',
                'PreferenceAttributes', 'CustomerDate']);
            gtype := prefs_cfg_int(p_body, '', 'GlobalPreferenceType', 1, 2,
                NULL, false, 'must be 1 (opt-in) or 2 (opt-out)');
            v := prefs_cfg_get(p_body, 'UpdateNestedGroups');
            IF v IS NULL AND p_mode = 'group' THEN
                PERFORM prefs_cfg_fail('UpdateNestedGroups', 'is required');
            END IF;
            IF v IS NOT NULL AND v NOT IN ('0', '1', 'true', 'false') THEN
                PERFORM prefs_cfg_fail('UpdateNestedGroups',
                                       'must be 1 or 0');
            END IF;
            IF p_mode = 'program' THEN
                IF prefs_data_item(p_account_id, 'Program', p_key) IS NULL
                THEN
                    RETURN QUERY SELECT 'not_found'::text, format(
                        'No active program has the id "%s"', p_key);
                    RETURN;
                END IF;
                programs := ARRAY[p_key];
            ELSE
                programs := prefs_v3_group_programs(p_account_id, p_key,
                    v IN ('1', 'true'), true);
                IF programs IS NULL THEN
                    RETURN QUERY SELECT 'not_found'::text, format(
                        'No active program group has the id "%s"', p_key);
                    RETURN;
                END IF;
            END IF;
            -- channel overrides: [{ChannelID, PreferenceType, ContactElement}]
            FOR e IN SELECT x.v, x.n - 1 AS i FROM jsonb_array_elements(
                         prefs_cfg_array(p_body, '', 'ChannelContactPreference',
                                         5)) WITH ORDINALITY AS x(v, n)
            LOOP
                ep := 'ChannelContactPreference[' || e.i || ']';
                PERFORM prefs_cfg_object(e.v, ep, ARRAY['ChannelID',
                    'PreferenceType', 'ContactElement']);
                ch := prefs_cfg_enum(e.v, ep, 'ChannelID', prefs_cfg_channels(),
                                     true) #>> '{}';
                IF chans ? ch THEN
                    PERFORM prefs_cfg_fail(ep || '.ChannelID', format(
                        '%s appears more than once', prefs_cfg_quote(ch)));
                END IF;
                chans := chans || jsonb_build_object(ch, jsonb_build_object(
                    'At', ep,
                    'Type', coalesce(prefs_cfg_int(e.v, ep, 'PreferenceType',
                        1, 2, NULL, true, 'must be 1 (opt-in) or 2 (opt-out)'),
                        gtype),
                    'Contact', prefs_v3_contact(e.v, ep)));
            END LOOP;
            freq := prefs_cfg_get(p_body, 'FrequencyID');
            FOR c IN SELECT i.key, i.body FROM prefs_config_item i
                      WHERE i.account_id = p_account_id AND i.kind = 'Filter'
                        AND i.is_active
                        AND i.body ->> 'ProgramId' = ANY (programs)
                        AND (chans = '{}' OR chans ? (i.body ->> 'ChannelId'))
                      ORDER BY i.body ->> 'ProgramId',
                               (i.body ->> 'DisplayOrder')::numeric NULLS LAST,
                               i.key
            LOOP
                v := chans -> (c.body ->> 'ChannelId');
                it := prefs_v3_item(p_body, '', coalesce(v ->> 'At', ''),
                    coalesce(v -> 'Contact', '{}'), c.key,
                    coalesce(v -> 'Type', gtype), true);
                -- a frequency the filter lacks leaves the filter's default
                IF freq IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM jsonb_array_elements(
                                c.body #> '{FrequencyLocales,0,Frequencies}') fr
                        WHERE fr -> 'FrequencyId' = freq) THEN
                    it := it || '{"FrequencyID": null}';
                END IF;
                items := items || jsonb_build_array(it);
            END LOOP;
            IF items = '[]' THEN
                PERFORM prefs_cfg_fail('', format('sets no preference: no '
                    'active filter of %s matches', CASE p_mode
                    WHEN 'program' THEN 'the program' ELSE 'the group' END));
            END IF;
        END IF;

        FOR it IN SELECT x FROM jsonb_array_elements(items) x LOOP
            st := prefs_v3_apply(p_account_id, p_user_id, it, st);
            IF st ? 'last' THEN
                written := written || (st ->> 'last')::bigint;
            END IF;
        END LOOP;
        IF written = '{}' THEN
            PERFORM prefs_cfg_fail('', 'sets no preference: the customer '
                'has no contact point for the filters; give '
                'ChannelContactPreference with a ContactElement');
        END IF;

        -- one profile event per customer, its Data the new copy (kept:
        -- the commit finds it current)
        FOR k, v IN SELECT x.key, x.value FROM jsonb_each(st - 'last') x LOOP
            it := prefs_profile_doc_fill(p_account_id, k::bigint)::jsonb;
            IF v ? 'created' THEN
                UPDATE prefs_event x
                   SET data = it
                 WHERE x.event_id = (v ->> 'created')::bigint
                   AND x.account_id = p_account_id;
            ELSE
                IF it - 'Edited' <> (v -> 'before') - 'Edited' THEN
                    PERFORM prefs_event_add(p_account_id, p_user_id,
                        'profile.updated', k::bigint, it);
                END IF;
            END IF;
        END LOOP;
    EXCEPTION
        WHEN SQLSTATE 'PF001' THEN
            RETURN QUERY SELECT 'invalid'::text, SQLERRM;
            RETURN;
        WHEN SQLSTATE 'PF002' THEN
            RETURN QUERY SELECT 'conflict'::text, SQLERRM;
            RETURN;
        WHEN unique_violation OR deadlock_detected THEN
            RETURN QUERY SELECT 'conflict'::text,
                'another request wrote the same customers at the same time: '
                'send it again'::text;
            RETURN;
    END;
    RETURN QUERY SELECT 'ok'::text, json_build_object('Preferences',
        prefs_v3_prefs(p_account_id, written))::text;
END
$$;
