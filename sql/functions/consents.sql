-- Consents: their JSON and history, and their associations with filters
-- and elements.
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


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


-- GET Profile/Consents/History?alternateIdType=&alternateId=: the profile's
-- names and alternate ids with its whole consent history, by type, version
-- and date.  p_args: the query string as an object (names in any case).
-- Outcomes: ok (body), not_found, invalid (body: the message).
CREATE OR REPLACE FUNCTION prefs_profile_consent_history(p_account_id bigint,
    p_args jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t    text;
    v    text;
    pid  bigint;
    p    prefs_profile;
BEGIN
    SELECT x.value INTO t FROM jsonb_each_text(p_args) x
     WHERE lower(x.key) = 'alternateidtype' LIMIT 1;
    SELECT x.value INTO v FROM jsonb_each_text(p_args) x
     WHERE lower(x.key) = 'alternateid' LIMIT 1;
    IF coalesce(t, '') = '' OR coalesce(v, '') = '' THEN
        RETURN QUERY SELECT 'invalid'::text,
            'alternateIdType and alternateId are required'::text;
        RETURN;
    END IF;
    pid := prefs_data_alternate_profile(p_account_id, t, v);
    SELECT * INTO p FROM prefs_profile x
     WHERE x.account_id = p_account_id AND x.profile_id = pid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, json_build_object(
        'ProfileId', p.profile_id,
        'CustomerName', json_build_object('Prefix', p.prefix,
            'FirstName', p.first_name, 'MiddleName', p.middle_name,
            'LastName', p.last_name, 'Suffix', p.suffix),
        'IsActive', p.is_active,
        'AlternateIds', coalesce((SELECT json_agg(json_build_object(
                'Type', a.type, 'Value', a.value)
                ORDER BY a.type, a.alternate_id_id)
            FROM prefs_profile_alternate_id a
            WHERE a.profile_id = p.profile_id AND a.is_active), '[]'),
        'Consents', coalesce((SELECT json_agg(prefs_data_consent_json(c)
                ORDER BY c.type_name, c.version, c.recorded_at, c.consent_id)
            FROM prefs_consent c WHERE c.profile_id = p.profile_id), '[]')
        )::text;
END
$$;
