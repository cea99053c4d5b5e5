-- 006: reading a profile fast.
--
-- prefs_profile_get is what GET Profile/{id} runs on every request.  As SQL
-- functions its big JSON query was planned again on each call (a SQL
-- function with sub-selects is neither inlined nor its plan kept across
-- queries), and prefs_iso, declared IMMUTABLE over the STABLE to_char,
-- could not be inlined either.  As PL/pgSQL the plan is kept for the
-- session (nginx keeps its connections), the preferences' contact points
-- come from joins instead of a sub-select per preference, and prefs_iso
-- is inlined.  The answer is byte for byte the same.

CREATE OR REPLACE FUNCTION prefs_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;


CREATE OR REPLACE FUNCTION prefs_data_profile_json(p prefs_profile,
    p_include_history boolean)
RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
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
            'ProfilePreferences', coalesce((SELECT json_agg(json_build_object(
                    'FilterId', pr.filter_id,
                    'ChannelId', pr.channel_id,
                    'ContactPoint', CASE
                        WHEN pr.email_id IS NOT NULL THEN to_json(e.address)
                        WHEN pr.phone_id IS NOT NULL THEN to_json(ph.number)
                        WHEN pr.address_id IS NOT NULL THEN to_json(pr.address_id)
                        END,
                    'PreferenceType', pr.preference_type,
                    'FrequencyId', pr.frequency_id,
                    'Attributes', pr.attributes,
                    'CustomerDate', prefs_iso(pr.customer_date),
                    'ExpirationDate', prefs_iso(pr.expiration_date),
                    'IsArchived', pr.is_archived)
                    ORDER BY pr.preference_id)
                FROM prefs_preference pr
                LEFT JOIN prefs_profile_email e ON e.email_id = pr.email_id
                LEFT JOIN prefs_profile_phone ph ON ph.phone_id = pr.phone_id
                WHERE pr.profile_id = p.profile_id), '[]'),
            'Consents', coalesce((SELECT json_agg(prefs_data_consent_json(c)
                    ORDER BY c.type_name, c.version, c.recorded_at, c.consent_id)
                FROM prefs_consent c
                WHERE c.profile_id = p.profile_id
                  AND (p_include_history OR c.consent_id = (
                        SELECT max(c2.consent_id) FROM prefs_consent c2
                         WHERE c2.profile_id = p.profile_id
                           AND c2.type_name = c.type_name))), '[]'),
            'Edited', json_build_object('By', p.edited_by,
                                        'Date', prefs_iso(p.edited_at)));
END
$$;


CREATE OR REPLACE FUNCTION prefs_profile_get(p_account_id bigint,
    p_profile_id bigint, p_include_history boolean)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p prefs_profile;
BEGIN
    SELECT * INTO p FROM prefs_profile x
     WHERE x.account_id = p_account_id AND x.profile_id = p_profile_id;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    RETURN prefs_data_profile_json(p, coalesce(p_include_history, false))::text;
END
$$;
