-- Consents: their JSON and history, and their associations with filters
-- and elements.
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- A consent record as the reference names it (create-consent body of
-- mypreferences-api.md 5.2: ConsentType, ConsentVersion, Locale,
-- ConsentStatus, ConsentDate) plus what the reference is silent on:
-- ContactPoint, IsActive, RecordedDate, ExpirationDate.  ConsentStatus is
-- the number of the reference's enum (1 Granted, 2 Denied, 3 Revoked,
-- 4 NotSet), as GET ConsentStatus lists it.  The Data of the consent.*
-- events of a record.
CREATE OR REPLACE FUNCTION prefs_data_consent_json(c prefs_consent)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('ConsentType', c.type_name,
        'ConsentVersion', c.version,
        'Locale', c.locale,
        'ConsentStatus', c.status,
        'ConsentDate', prefs_iso(c.customer_date),
        'ContactPoint', CASE WHEN c.contact_key LIKE 'A%'
                             THEN to_json(c.contact_point::bigint)
                             ELSE to_json(c.contact_point) END,
        'IsActive', c.is_active,
        'RecordedDate', prefs_iso(c.recorded_at),
        'ExpirationDate', prefs_iso(c.expiration_date))
$$;


-- A consent record as the reads answer it (GET Consents/{id}, the
-- profile's Consents, the history): the record, and Filters, the
-- preferences linked to it with the link's own status.  An opt-out turns
-- a Granted consent Revoked for that preference only, which is what the
-- consent.updated of the opt-out says (prefs_data_assoc_sync): the read
-- shows the same thing.
-- One element of a consent's Filters in a profile's copy: the filter, its
-- channel, the preference's contact point (the email address, the phone
-- number or the address's id) and the link's status.  One expression, so
-- inlined where it is called: prefs_data_consent_read_json for a profile,
-- prefs_data_profiles_json for a batch of them.
CREATE OR REPLACE FUNCTION prefs_data_consent_filter_json(p_filter_id text,
    p_channel_id text, p_email_id bigint, p_phone_id bigint,
    p_address_id bigint, p_email text, p_phone text, p_status integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('FilterId', p_filter_id,
               'ChannelId', p_channel_id,
               'ContactPoint', CASE
                   WHEN p_email_id IS NOT NULL THEN to_jsonb(p_email)
                   WHEN p_phone_id IS NOT NULL THEN to_jsonb(p_phone)
                   WHEN p_address_id IS NOT NULL THEN to_jsonb(p_address_id)
                   END,
               'ConsentStatus', p_status)
$$;


-- (PL/pgSQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again in every transaction that renders a profile;
-- the contact points are joined, as in prefs_data_profile_json, rather
-- than looked up one call per filter)
CREATE OR REPLACE FUNCTION prefs_data_consent_read_json(c prefs_consent)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (prefs_data_consent_json(c)::jsonb || jsonb_build_object(
        'Filters', coalesce((SELECT jsonb_agg(prefs_data_consent_filter_json(
                    p.filter_id, p.channel_id, p.email_id, p.phone_id,
                    p.address_id, e.address, ph.number, a.status)
                    ORDER BY p.filter_id, p.contact_key)
                FROM prefs_consent_assoc a
                JOIN prefs_preference p ON p.preference_id = a.preference_id
                LEFT JOIN prefs_profile_email e ON e.email_id = p.email_id
                LEFT JOIN prefs_profile_phone ph ON ph.phone_id = p.phone_id
               WHERE a.profile_id = c.profile_id AND a.kind = 'F'
                 AND a.consent_id = c.consent_id AND a.is_active), '[]')))::json;
END
$$;


-- An association's Data: the consent (type, version, locale), the
-- association's status, and what it links to.
CREATE OR REPLACE FUNCTION prefs_data_assoc_json(a prefs_consent_assoc)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('ConsentType', a.type_name,
               'ConsentVersion', c.version, 'Locale', c.locale,
               'ConsentStatus', a.status)
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


-- ConsentDate: when the customer gave, refused or withdrew the consent,
-- by the reference's CustomerDate rules (mypreferences-api.md 5.2):
-- absent (or "") is now; ISO 8601, without an offset US Eastern time; a
-- date alone is 00:00 ET for a Granted consent and 23:59:59 ET for any
-- other status (as for an opt-in and an opt-out), but never later than
-- now.  A date after now (beyond a minute of clock skew), or a day after
-- today in US Eastern time, is refused: a consent cannot be given later.
CREATE OR REPLACE FUNCTION prefs_data_consent_date(o jsonb, p_path text,
    p_status integer)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    d      timestamptz := prefs_data_given_date(o, p_path, 'ConsentDate',
                                                p_status <> 1);
    given  text := prefs_cfg_get(o, 'ConsentDate') #>> '{}';
    later  boolean;
BEGIN
    -- a date alone is later when its day is (23:59:59 of today is not)
    later := CASE WHEN given ~ '^\d{4}-\d{2}-\d{2}$'
                  THEN given::date
                       > (now() AT TIME ZONE 'America/New_York')::date
                  ELSE d > now() + interval '1 minute' END;
    IF later THEN
        PERFORM prefs_cfg_fail(prefs_cfg_at(p_path, 'ConsentDate'),
                               'must not be in the future');
    END IF;
    RETURN least(d, now());
END
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
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['ConsentType',
            'ConsentVersion', 'Locale', 'ConsentStatus', 'ConsentDate',
            'ContactPoint', 'IsActive', 'RecordedDate', 'ExpirationDate',
            'Filters']);
        t := prefs_cfg_text(e.v, ep, 'ConsentType', true, 50) #>> '{}';
        cfg := prefs_data_item(p_account_id, 'ConsentType', t);
        IF cfg IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.ConsentType', format(
                '%s is not an active consent type', prefs_cfg_quote(t)));
        END IF;
        nv := prefs_cfg_text(e.v, ep, 'ConsentVersion', true, 50) #>> '{}';
        -- (an import with AllowPriorConsents may record a prior version
        -- that is no longer active: prefs_engine_prior)
        SELECT x INTO ver FROM jsonb_array_elements(cfg -> 'Versions') AS x
         WHERE x ->> 'ConsentVersion' = nv
           AND (x -> 'IsActive' = 'true'
                OR current_setting('prefs.allow_prior_consents', true)
                   = 'on');
        IF ver IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.ConsentVersion', format(
                '%s is not an active version of consent type %s',
                prefs_cfg_quote(nv), prefs_cfg_quote(t)));
        END IF;
        v := prefs_cfg_get(e.v, 'ConsentStatus');
        st := NULL;
        IF jsonb_typeof(v) = 'string' THEN
            st := array_position(ARRAY['granted', 'denied', 'revoked',
                                       'notset'], lower(v #>> '{}'));
        ELSIF jsonb_typeof(v) = 'number' AND v::text IN ('1', '2', '3', '4')
        THEN
            st := v::text::integer;
        END IF;
        IF st IS NULL THEN
            PERFORM prefs_cfg_fail(ep || '.ConsentStatus', CASE WHEN v IS NULL
                THEN 'is required' ELSE 'must be 1 (Granted), 2 (Denied), '
                '3 (Revoked) or 4 (NotSet), or that name' END);
        END IF;
        -- read-only, accepted as a read answers them (JSON Patch)
        PERFORM prefs_cfg_bool(e.v, ep, 'IsActive', true);
        PERFORM prefs_cfg_array(e.v, ep, 'Filters');

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

        cdate := prefs_data_consent_date(e.v, ep, st);
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

-- The consent a preference of that contact point links to for a type:
-- the newest active record of the type for the contact point, else
-- without one.  (prefs_data_assoc_sync; the engine's set-based path.)
CREATE OR REPLACE FUNCTION prefs_data_assoc_consent(p_profile_id bigint,
    p_type text, p_contact_key text)
RETURNS TABLE (consent_id bigint, status smallint)
LANGUAGE sql STABLE AS $$
    SELECT c.consent_id, c.status FROM prefs_consent c
     WHERE c.profile_id = p_profile_id AND c.type_name = p_type
       AND c.is_active AND c.contact_key IN (p_contact_key, '')
     ORDER BY c.contact_key = p_contact_key DESC, c.consent_id DESC
     LIMIT 1
$$;


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
          JOIN LATERAL prefs_data_assoc_consent(pr.profile_id, rc.type_name,
                                                pr.contact_key) c ON true
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
        'Consents', coalesce((SELECT json_agg(
                prefs_data_consent_read_json(c)
                ORDER BY c.type_name, c.version, c.recorded_at, c.consent_id)
            FROM prefs_consent c WHERE c.profile_id = p.profile_id), '[]')
        )::text;
END
$$;
