-- The write engine (issue 11 §2): a batch of UserProfilePreference items
-- (each exactly as POST Profiles/v4/{clientId}/Profile takes it, with
-- "ProfileId" to address an existing profile) validated and applied in
-- the caller's transaction: prefs_engine_validate and prefs_engine_apply
-- (docs/architecture.md, "The write engine").
--
-- The stages over the whole batch are one statement each: the options
-- and the items' shape and match keys (prefs_engine_plan), the match of
-- every item of a round against the profiles (by ProfileId or by the
-- MatchCriteria alternate id), and for new profiles the checks against
-- the configuration (prefs_engine_plain), one INSERT per table, the
-- rendered copies and the events (prefs_engine_create).  What those
-- checks do not pass (refused items, so that their errors are worded by
-- the Data API's functions; the rarer fields listed at prefs_engine_plain;
-- updates of existing profiles; deletes) is applied one item at a time by the per-profile functions
-- (prefs_data_apply_ex) in a subtransaction each, so that a refused item
-- writes nothing while the others are applied.
--
-- Items that address the same profile (the same ProfileId, or the same
-- MatchCriteria value, matched or to be created) are applied in rounds:
-- round n holds the n-th item of every such key, and is matched after
-- round n-1 has been applied, so duplicates behave as if applied in order.


-- The options (p_opts) of both functions, checked; PF001 for a bad one.
CREATE OR REPLACE FUNCTION prefs_engine_opts(p_account_id bigint, p_opts jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    o       jsonb := coalesce(p_opts, '{}');
    act     text;
    mc      text;
    r       jsonb := '{}';
    f       text;
BEGIN
    IF jsonb_typeof(o) <> 'object' THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON object');
    END IF;
    PERFORM prefs_cfg_object(o, '', ARRAY['ImportAction', 'MatchCriteria',
        'RefreshAlternateIds', 'RefreshContacts', 'RefreshCustomFields',
        'RefreshGroups', 'RefreshTags', 'AllowPriorConsents',
        'SuppressEvents', 'Source']);
    act := coalesce(nullif(prefs_cfg_text(o, '', 'ImportAction', false, 10)
                           #>> '{}', ''), 'Add');
    IF act NOT IN ('Add', 'Delete') THEN
        PERFORM prefs_cfg_fail('ImportAction', 'must be "Add" or "Delete"');
    END IF;
    mc := prefs_data_ref(p_account_id, o, '', 'MatchCriteria',
                         'AlternateIdType', false);
    FOREACH f IN ARRAY ARRAY['RefreshAlternateIds', 'RefreshContacts',
        'RefreshCustomFields', 'RefreshGroups', 'RefreshTags',
        'AllowPriorConsents', 'SuppressEvents']
    LOOP
        r := r || jsonb_build_object(f, prefs_cfg_bool(o, '', f, false));
    END LOOP;
    RETURN r || jsonb_build_object('Delete', act = 'Delete',
        'MatchCriteria', mc,
        'Source', nullif(prefs_cfg_text(o, '', 'Source', false, 200)
                         #>> '{}', ''));
END
$$;


-- One statement over the batch: each item's index, its match key (the
-- ProfileId, or the value of its MatchCriteria alternate id), its round
-- and the error that refuses it before any match (its shape, its key).
CREATE OR REPLACE FUNCTION prefs_engine_plan(p_items jsonb, p_match text)
RETURNS TABLE (item integer, key text, round integer, path text,
               message text)
LANGUAGE sql STABLE AS $$
    WITH x AS (
        SELECT (e.n - 1)::integer AS item, e.v,
               CASE WHEN jsonb_typeof(e.v) <> 'object' THEN NULL
                    WHEN p_match IS NULL THEN
                        CASE WHEN jsonb_typeof(e.v -> 'ProfileId') = 'number'
                             THEN e.v ->> 'ProfileId' END
                    ELSE (SELECT a ->> 'Value'
                            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(
                                     e.v -> 'AlternateIds') = 'array'
                                     THEN e.v -> 'AlternateIds' END) a
                           WHERE jsonb_typeof(a) = 'object'
                             AND a ->> 'Type' = p_match
                             AND jsonb_typeof(a -> 'Value') = 'string'
                           LIMIT 1) END AS key
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(v, n)
    ), y AS (
        SELECT x.item, x.key,
               CASE WHEN jsonb_typeof(x.v) <> 'object' THEN ''
                    WHEN p_match IS NULL
                         AND x.v ? 'ProfileId' AND x.v -> 'ProfileId' <> 'null'
                         AND x.key IS NULL THEN 'ProfileId'
                    WHEN p_match IS NOT NULL AND x.key IS NULL
                         THEN 'AlternateIds' END AS path,
               CASE WHEN jsonb_typeof(x.v) <> 'object'
                         THEN 'the item must be a JSON object'
                    WHEN p_match IS NULL
                         AND x.v ? 'ProfileId' AND x.v -> 'ProfileId' <> 'null'
                         AND x.key IS NULL THEN 'ProfileId must be a number'
                    WHEN p_match IS NOT NULL AND x.key IS NULL
                         THEN format('AlternateIds must hold the MatchCriteria '
                                     'alternate id %s', prefs_cfg_quote(p_match))
               END AS message
          FROM x
    )
    SELECT y.item, y.key,
           CASE WHEN y.key IS NULL OR y.message IS NOT NULL THEN 1
                ELSE row_number() OVER (PARTITION BY y.key, y.message IS NULL
                                        ORDER BY y.item)::integer END,
           y.path, y.message
      FROM y
     ORDER BY y.item
$$;


-- A PF001/PF002 message split into the field path it begins with (a
-- PascalCase name with its indexes and dotted parts) and the message.
CREATE OR REPLACE FUNCTION prefs_engine_path(p_message text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(substring(p_message from
        '^([A-Z][A-Za-z0-9]*(?:\[[0-9]+\])?(?:\.[A-Z][A-Za-z0-9]*(?:\[[0-9]+\])?)*)[ :]'),
        '')
$$;


-- For the Refresh* options: the item with a removal entry (IsActive
-- false, as a body may carry) for each active part of the profile of a
-- refreshed kind that the item does not carry.  Required custom fields
-- are kept (a body cannot remove them either).
CREATE OR REPLACE FUNCTION prefs_engine_refresh(p_account_id bigint,
    p_profile_id bigint, b jsonb, o jsonb)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH l AS (
        SELECT k, CASE WHEN jsonb_typeof(b -> k) = 'array' THEN b -> k
                       ELSE '[]' END AS v
          FROM unnest(ARRAY['AlternateIds', 'Emails', 'PhoneNumbers',
                            'Addresses', 'CustomFields', 'Groups', 'Tags']) k
    ), add AS (
        SELECT l.k, x
          FROM l, jsonb_array_elements(l.v) x
         WHERE NOT (jsonb_typeof(x) = 'object' AND x -> 'IsActive' = 'false')
    ), rm AS (
        SELECT 'AlternateIds' AS k, jsonb_build_object('Type', a.type,
                   'IsActive', false) AS v
          FROM prefs_profile_alternate_id a
         WHERE (o ->> 'RefreshAlternateIds')::boolean
           AND a.profile_id = p_profile_id AND a.is_active
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'AlternateIds'
                              AND add.x ->> 'Type' = a.type)
        UNION ALL
        SELECT 'Emails', jsonb_build_object('EmailId', e.email_id,
                   'IsActive', false)
          FROM prefs_profile_email e
         WHERE (o ->> 'RefreshContacts')::boolean
           AND e.profile_id = p_profile_id AND e.is_active
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'Emails'
                   AND (lower(add.x ->> 'EmailAddress') = lower(e.address)
                        OR add.x ->> 'EmailId' = e.email_id::text))
        UNION ALL
        SELECT 'PhoneNumbers', jsonb_build_object('PhoneId', p.phone_id,
                   'IsActive', false)
          FROM prefs_profile_phone p
         WHERE (o ->> 'RefreshContacts')::boolean
           AND p.profile_id = p_profile_id AND p.is_active
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'PhoneNumbers'
                   AND (prefs_data_phone_norm(add.x ->> 'PhoneNumber')
                            = p.number
                        OR add.x ->> 'PhoneId' = p.phone_id::text))
        UNION ALL
        SELECT 'Addresses', jsonb_build_object('AddressId', a.address_id,
                   'IsActive', false)
          FROM prefs_profile_address a
         WHERE (o ->> 'RefreshContacts')::boolean
           AND a.profile_id = p_profile_id AND a.is_active
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'Addresses'
                   AND ((lower(add.x ->> 'Address1') = lower(a.line1)
                         AND coalesce(add.x ->> 'PostalCode', '')
                             = a.postal_code)
                        OR add.x ->> 'AddressId' = a.address_id::text))
        UNION ALL
        SELECT 'CustomFields', jsonb_build_object('Name', c.name,
                   'IsActive', false)
          FROM prefs_profile_custom_field c
         WHERE (o ->> 'RefreshCustomFields')::boolean
           AND c.profile_id = p_profile_id
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'CustomFields'
                              AND add.x ->> 'Name' = c.name)
           AND NOT EXISTS (SELECT 1 FROM prefs_config_item i
                            WHERE i.account_id = p_account_id
                              AND i.kind = 'CustomField' AND i.key = c.name
                              AND i.body -> 'IsRequired' = 'true')
        UNION ALL
        SELECT 'Groups', jsonb_build_object('Type', g.group_type,
                   'Name', g.group_name, 'IsActive', false)
          FROM prefs_profile_group g
         WHERE (o ->> 'RefreshGroups')::boolean
           AND g.profile_id = p_profile_id
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'Groups'
                              AND add.x ->> 'Type' = g.group_type
                              AND add.x ->> 'Name' = g.group_name)
        UNION ALL
        SELECT 'Tags', jsonb_build_object('Name', t.tag, 'IsActive', false)
          FROM prefs_profile_tag t
         WHERE (o ->> 'RefreshTags')::boolean
           AND t.profile_id = p_profile_id
           AND NOT EXISTS (SELECT 1 FROM add WHERE add.k = 'Tags'
                              AND coalesce(add.x ->> 'Name', add.x #>> '{}')
                                  = t.tag)
    )
    SELECT b || coalesce((SELECT jsonb_object_agg(g.k, g.v)
                            FROM (SELECT rm.k, l.v || jsonb_agg(rm.v) AS v
                                    FROM rm JOIN l ON l.k = rm.k
                                   GROUP BY rm.k, l.v) g), '{}')
$$;


-- The set-based path of new profiles (issue 11 §2).  A new profile whose
-- body is "plain" (prefs_engine_plain: only the fields below, every value
-- valid by the checks the per-profile functions make, nothing in it that
-- depends on another item or on the order of its writes) is written by
-- prefs_engine_create together with every other plain new profile of the
-- round: one INSERT per table over the round, one statement for the
-- rendered copies and the events.  Any other item, a refused one
-- included, takes the per-profile path, which words its error.  (SET
-- prefs.engine_set_based = off sends every item that way: the tests
-- compare the two.  SET LOCAL prefs.engine_plain = '{i,...}' names the
-- items that pass the checks without running them: an import's Execute,
-- for records that passed them at stage time under the same
-- configuration generation; the other new profiles take the per-profile
-- path.)
--   top level   CustomerName, DefaultLocale, CustomerType,
--               RegistrationConfirmed, AlternateIds, Emails, PhoneNumbers,
--               Addresses, CustomFields, Groups, Tags, PreservePreferences,
--               PreserveConsents, ReasonCode
--   contacts    without EmailId/PhoneId/AddressId; IsDefault true only
--               on the first of its list; no two alike (address, number,
--               Address1 + PostalCode)
--   preferences ProfilePreferences and those of the contact points, with
--               FilterId, PreferenceType, FrequencyId, PreferenceAttributes
--               (no CustomerDate, no IsArchived), on a contact point the
--               item gives
--   consents    ConsentType, ConsentVersion (active), ConsentStatus,
--               ConsentDate (UTC, "Z", not later than now); no ContactPoint,
--               Locale, or revocation after a grant of the same type; their
--               links to the preferences (kind F) written as
--               prefs_data_assoc_sync does
--   alternate   no other profile has it, no other item of the batch
--   ids         carries it
--   custom      every required one; values of type String, Number,
--   fields      Boolean, List, and Date (days 1-28)

-- A text field: absent or null (unless required), or a string of at most
-- p_max characters (not blank when required).
CREATE OR REPLACE FUNCTION prefs_engine_str_ok(v jsonb, p_max integer,
    p_required boolean)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN NOT p_required
                WHEN jsonb_typeof(v) <> 'string' THEN false
                ELSE char_length(v #>> '{}') <= p_max
                     AND NOT (p_required AND (v #>> '{}') ~ '^\s*$') END
$$;


CREATE OR REPLACE FUNCTION prefs_engine_keys_ok(v jsonb, p_keys text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(v) = 'object' AND v - p_keys = '{}'::jsonb
$$;


-- An optional reference to the configuration (prefs_data_ref): absent,
-- null or "", or one of p_keys, the active items of that kind.  (SQL
-- without a sub-select, so that it is inlined: prefs_engine_plain reads
-- each kind's keys once for the batch, instead of a query a reference.)
CREATE OR REPLACE FUNCTION prefs_engine_ref_in(v jsonb, p_keys text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(v #>> '{}', '') = ''
        OR (prefs_engine_str_ok(v, 100, false)
            AND (v #>> '{}') = ANY (coalesce(p_keys, '{}')))
$$;


-- IsDefault of the n-th contact point of a new profile's list: absent,
-- null or a boolean, and true only on the first (the per-profile path
-- makes the first one the default anyway, and a later one would take
-- that over after the first one's event).
CREATE OR REPLACE FUNCTION prefs_engine_default_ok(v jsonb, n bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_typeof(v), 'null') IN ('boolean', 'null')
       AND (n = 1 OR v IS DISTINCT FROM 'true')
$$;


-- A custom field's value as prefs_data_custom_value stores it; NULL when
-- it would refuse it (or when the plain path leaves it to that function).
CREATE OR REPLACE FUNCTION prefs_engine_cf_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}'
                WHEN 'number' THEN v::text WHEN 'boolean' THEN v::text END
$$;


CREATE OR REPLACE FUNCTION prefs_engine_cf_value(cfg jsonb, v jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE cfg ->> 'DataType'
        WHEN 'String' THEN CASE WHEN char_length(prefs_engine_cf_text(v))
                                     <= 4000 THEN prefs_engine_cf_text(v) END
        WHEN 'Number' THEN CASE WHEN prefs_engine_cf_text(v) ~
            '^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$'
            THEN btrim(prefs_engine_cf_text(v)) END
        WHEN 'Boolean' THEN CASE WHEN lower(prefs_engine_cf_text(v))
                                      IN ('true', 'false')
                                 THEN lower(prefs_engine_cf_text(v)) END
        WHEN 'Date' THEN CASE WHEN prefs_engine_cf_text(v) ~
            '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$'
            THEN prefs_engine_cf_text(v) END
        WHEN 'List' THEN CASE WHEN (cfg -> 'AllowedValues')
                                   ? prefs_engine_cf_text(v)
                              THEN prefs_engine_cf_text(v) END
    END
$$;


-- The items p_idx of the batch (with their profile ids p_pid, or NULL)
-- as rows.  (The batch is read once, element by element: p_items -> i for
-- each item would read the whole batch each time.)
CREATE OR REPLACE FUNCTION prefs_engine_bodies(p_items jsonb,
    p_idx integer[], p_pid bigint[])
RETURNS TABLE (i integer, pid bigint, b jsonb)
LANGUAGE sql IMMUTABLE AS $$
    SELECT u.i, u.pid, e.v
      FROM jsonb_array_elements(p_items) WITH ORDINALITY e(v, n)
      JOIN unnest(p_idx, p_pid) u(i, pid) ON u.i = e.n - 1
$$;


-- The batch exploded: one row per element of the lists p_kinds of the
-- items p_idx (with their profile ids p_pid, or NULL), n its ordinal.
CREATE OR REPLACE FUNCTION prefs_engine_explode(p_items jsonb,
    p_idx integer[], p_pid bigint[], p_kinds text[])
RETURNS TABLE (i integer, pid bigint, k text, v jsonb, n bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d.i, d.pid, l.k, e.v, e.n
      FROM prefs_engine_bodies(p_items, p_idx, p_pid) d, unnest(p_kinds) l(k),
           jsonb_array_elements(CASE WHEN jsonb_typeof(d.b -> l.k) = 'array'
                                     THEN d.b -> l.k ELSE '[]' END)
               WITH ORDINALITY e(v, n)
$$;


-- The preferences of the items p_idx (profile ids p_pid), exploded:
-- ProfilePreferences (o 0) and the EmailPreferences, PhonePreferences,
-- AddressPreferences of the contact points (o 1, 2, 3), with the contact
-- point each applies to (clist, cn: its list and ordinal, c: the element),
-- a profile-level one resolved as prefs_data_pref_contact does for a new
-- profile (the first email, phone or address is the default; Text: the
-- first phone if mobile, else the first mobile one); NULL when there is
-- none.  chan is the filter's channel, cfg the filter (NULL: not active).
CREATE OR REPLACE FUNCTION prefs_engine_prefs(p_account_id bigint,
    p_items jsonb, p_idx integer[], p_pid bigint[])
RETURNS TABLE (i integer, pid bigint, o integer, pn bigint, v jsonb,
               cfg jsonb, chan text, clist text, cn bigint, c jsonb)
LANGUAGE sql STABLE AS $$
    WITH p AS (
        SELECT d.i, d.pid, d.b, q.o, q.ocn, q.list, q.oc, q.pn, q.v
          FROM prefs_engine_bodies(p_items, p_idx, p_pid) d
         CROSS JOIN LATERAL (
            SELECT 0 AS o, 0::bigint AS ocn, NULL::text AS list,
                   NULL::jsonb AS oc, x.n AS pn, x.v
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(
                       d.b -> 'ProfilePreferences') = 'array'
                       THEN d.b -> 'ProfilePreferences' ELSE '[]' END)
                   WITH ORDINALITY x(v, n)
            UNION ALL
            SELECT l.o, x.n, l.k, x.v, e.n, e.v
              FROM (VALUES ('Emails', 'EmailPreferences', 1),
                           ('PhoneNumbers', 'PhonePreferences', 2),
                           ('Addresses', 'AddressPreferences', 3)) l(k, sub, o),
                   jsonb_array_elements(CASE WHEN jsonb_typeof(d.b -> l.k)
                                                  = 'array'
                                             THEN d.b -> l.k ELSE '[]' END)
                       WITH ORDINALITY x(v, n),
                   jsonb_array_elements(CASE WHEN jsonb_typeof(x.v -> l.sub)
                                                  = 'array'
                                             THEN x.v -> l.sub ELSE '[]' END)
                       WITH ORDINALITY e(v, n)) q
    ), flt AS MATERIALIZED (
        SELECT i.key, i.body FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = 'Filter'
           AND i.is_active
    ), f AS (
        SELECT p.*, flt.body AS cfg, flt.body ->> 'ChannelId' AS chan
          FROM p
          LEFT JOIN flt ON flt.key = p.v ->> 'FilterId'
                       AND jsonb_typeof(p.v -> 'FilterId') = 'string'
    ), r AS (
        SELECT f.*,
               CASE WHEN f.list IS NOT NULL THEN f.list
                    WHEN f.chan = 'Email' THEN 'Emails'
                    WHEN f.chan IN ('Phone', 'Fax', 'Text') THEN 'PhoneNumbers'
                    WHEN f.chan = 'Mail' THEN 'Addresses' END AS clist,
               CASE WHEN f.list IS NOT NULL THEN f.ocn
                    WHEN f.chan = 'Text' THEN (
                        SELECT min(x.n) FROM jsonb_array_elements(
                            CASE WHEN jsonb_typeof(f.b -> 'PhoneNumbers')
                                      = 'array'
                                 THEN f.b -> 'PhoneNumbers' ELSE '[]' END)
                            WITH ORDINALITY x(v, n)
                         WHERE x.v -> 'IsMobile' = 'true')
                    WHEN f.chan IN ('Email', 'Phone', 'Fax', 'Mail') THEN 1
                    ELSE 0 END AS cn
          FROM f
    )
    SELECT r.i, r.pid, r.o, r.pn, r.v, r.cfg, r.chan, r.clist, r.cn,
           CASE WHEN r.list IS NOT NULL THEN r.oc
                WHEN r.clist IS NOT NULL
                THEN r.b -> r.clist -> (r.cn::integer - 1) END
      FROM r
$$;


-- PreferenceAttributes given (not null): an array of at most 1000
-- {"Key","Value"} pairs with distinct keys (prefs_engine_pref_ok, below).
CREATE OR REPLACE FUNCTION prefs_engine_attrs_ok(a jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN jsonb_typeof(a) = 'array'
           AND jsonb_array_length(a) <= 1000
           AND NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements(a) x
                WHERE NOT (prefs_engine_keys_ok(x, ARRAY['Key', 'Value'])
                           AND prefs_engine_str_ok(x -> 'Key', 100, true)
                           AND prefs_engine_str_ok(x -> 'Value', 4000,
                                                   false)))
           AND (SELECT count(*) = count(DISTINCT x ->> 'Key')
                  FROM jsonb_array_elements(a) x);
END
$$;


-- A preference item (ProfilePreferences[], EmailPreferences[] ...) of the
-- filter cfg (NULL: not an active filter) that the per-profile path takes
-- as it is and writes in a way that depends on the item alone: FilterId,
-- PreferenceType 1 or 2, FrequencyId one of the filter's (or none),
-- PreferenceAttributes {"Key","Value"} pairs with distinct keys, nothing
-- else (CustomerDate, IsArchived and the read-only fields take that path).
CREATE OR REPLACE FUNCTION prefs_engine_pref_ok(cfg jsonb, v jsonb)
RETURNS boolean
-- (SQL without a sub-select, so that it is inlined: a call a preference
-- was a fifth of a Stage chunk's checks; the filter's FrequencyIds are
-- strings, prefs_cfg_id's, so containment finds the one given; STABLE as
-- jsonb_build_object is, or it would not be inlined)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
               prefs_engine_keys_ok(v, ARRAY['FilterId', 'PreferenceType',
                   'FrequencyId', 'PreferenceAttributes'])
               AND cfg IS NOT NULL
               AND char_length(v ->> 'FilterId') <= 50
               AND jsonb_typeof(v -> 'PreferenceType') = 'number'
               AND (v ->> 'PreferenceType') IN ('1', '2')
               AND (coalesce(v ->> 'FrequencyId', '') = ''
                    OR (prefs_engine_str_ok(v -> 'FrequencyId', 20, false)
                        AND coalesce(cfg #> '{FrequencyLocales,0,Frequencies}',
                                     '[]')
                            @> jsonb_build_array(jsonb_build_object(
                                   'FrequencyId', v ->> 'FrequencyId'))))
               AND (coalesce(jsonb_typeof(v -> 'PreferenceAttributes'),
                             'null') = 'null'
                    OR prefs_engine_attrs_ok(v -> 'PreferenceAttributes')),
           false)
$$;




-- What prefs_data_prefs_apply stores for such an item: the FrequencyId
-- (the filter's default when none is given), the attributes, the days to
-- the expiration date of PreferenceType p_type.  (PL/pgSQL where the body
-- has a sub-select: such a SQL function is not inlined, and is planned
-- again in every statement that calls it; a PL/pgSQL function's plans are
-- kept for the session.)
CREATE OR REPLACE FUNCTION prefs_engine_pref_freq(cfg jsonb, v jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN coalesce(v ->> 'FrequencyId', '') = ''
                THEN (SELECT fr ->> 'FrequencyId' FROM jsonb_array_elements(
                          cfg #> '{FrequencyLocales,0,Frequencies}') fr
                       WHERE fr -> 'IsDefault' = 'true' LIMIT 1)
                ELSE v ->> 'FrequencyId' END;
END
$$;


CREATE OR REPLACE FUNCTION prefs_engine_pref_attrs(v jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN coalesce((SELECT jsonb_agg(jsonb_build_object('Key', a -> 'Key',
                         'Value', CASE WHEN coalesce(jsonb_typeof(a -> 'Value'),
                                                     'null') = 'null'
                                       THEN '""' ELSE a -> 'Value' END)
                         ORDER BY a.n)
                       FROM jsonb_array_elements(CASE WHEN jsonb_typeof(
                                v -> 'PreferenceAttributes') = 'array'
                                THEN v -> 'PreferenceAttributes'
                                ELSE '[]' END) WITH ORDINALITY a(a, n)), '[]');
END
$$;


CREATE OR REPLACE FUNCTION prefs_engine_pref_days(cfg jsonb, p_type integer)
RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
    SELECT make_interval(days => (cfg ->> CASE WHEN p_type = 1
                   THEN 'OptInCustomerExpirationDays'
                   ELSE 'OptOutCustomerExpirationDays' END)::integer)
$$;


-- A consent's ConsentStatus (1 Granted .. 4 NotSet, or that name), as
-- prefs_data_consents reads it; NULL when it would refuse it.
CREATE OR REPLACE FUNCTION prefs_engine_consent_status(v jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string'
                THEN array_position(ARRAY['granted', 'denied', 'revoked',
                                          'notset'], lower(v #>> '{}'))
                WHEN jsonb_typeof(v) = 'number' AND v::text IN ('1', '2', '3', '4')
                THEN v::text::integer END
$$;


-- The items of p_idx (new profiles) that the set-based path can write.
CREATE OR REPLACE FUNCTION prefs_engine_plain(p_account_id bigint,
    p_items jsonb, p_idx integer[])
RETURNS integer[]
LANGUAGE sql STABLE AS $$
    WITH c AS MATERIALIZED (
        SELECT d.i, d.b FROM prefs_engine_bodies(p_items, p_idx, NULL) d
    ), cfg AS MATERIALIZED (
        SELECT i.kind, i.key, i.body FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.is_active
           AND i.kind IN ('AlternateIdType', 'CustomField', 'GroupType',
                          'Tag', 'Locale', 'CustomerType', 'EmailType',
                          'PhoneType', 'AddressType')
    ), refs AS MATERIALIZED (
        SELECT cfg.kind, array_agg(cfg.key) AS keys FROM cfg GROUP BY 1
    ), el AS MATERIALIZED (
        SELECT x.i, x.k, x.v, x.n
          FROM prefs_engine_explode(p_items, p_idx, NULL, ARRAY['AlternateIds',
                   'Emails', 'PhoneNumbers', 'Addresses', 'CustomFields',
                   'Groups', 'Tags']) x
    ), pp AS MATERIALIZED (
        SELECT * FROM prefs_engine_prefs(p_account_id, p_items, p_idx, NULL)
    ), bad AS (
        -- (a check that comes out NULL counts as a refusal: the item
        -- then takes the per-profile path, which decides)
        SELECT c.i FROM c
         WHERE (NOT prefs_engine_keys_ok(c.b, ARRAY['CustomerName',
                   'DefaultLocale', 'CustomerType', 'RegistrationConfirmed',
                   'AlternateIds', 'Emails', 'PhoneNumbers', 'Addresses',
                   'CustomFields', 'Groups', 'Tags', 'PreservePreferences',
                   'PreserveConsents', 'ReasonCode', 'ProfilePreferences',
                   'Consents'])
            OR EXISTS (SELECT 1 FROM unnest(ARRAY['AlternateIds', 'Emails',
                           'PhoneNumbers', 'Addresses', 'CustomFields',
                           'Groups', 'Tags']) l(k)
                        WHERE jsonb_typeof(c.b -> l.k) NOT IN ('array', 'null')
                           OR jsonb_array_length(CASE WHEN jsonb_typeof(
                                  c.b -> l.k) = 'array' THEN c.b -> l.k
                                  ELSE '[]' END)
                              > CASE l.k WHEN 'CustomFields' THEN 200
                                         ELSE 100 END)
            OR NOT (c.b -> 'CustomerName' IS NULL
                    OR jsonb_typeof(c.b -> 'CustomerName') = 'null'
                    OR (prefs_engine_keys_ok(c.b -> 'CustomerName',
                            ARRAY['Prefix', 'FirstName', 'MiddleName',
                                  'LastName', 'Suffix'])
                        AND NOT EXISTS (
                            SELECT 1 FROM jsonb_each(c.b -> 'CustomerName') f
                             WHERE NOT prefs_engine_str_ok(f.value, 50,
                                                           false))))
            OR NOT (coalesce(c.b ->> 'DefaultLocale', '') = ''
                    OR (prefs_engine_str_ok(c.b -> 'DefaultLocale', 15, false)
                        AND EXISTS (SELECT 1 FROM cfg WHERE cfg.kind = 'Locale'
                                       AND cfg.key = prefs_locale_canonical(
                                           c.b ->> 'DefaultLocale'))))
            OR NOT prefs_engine_ref_in(c.b -> 'CustomerType',
                       (SELECT r.keys FROM refs r WHERE r.kind = 'CustomerType'))
            OR EXISTS (SELECT 1 FROM unnest(ARRAY['RegistrationConfirmed',
                           'PreservePreferences', 'PreserveConsents']) f
                        WHERE jsonb_typeof(c.b -> f) NOT IN ('boolean', 'null'))
            OR NOT prefs_engine_str_ok(c.b -> 'ReasonCode', 256, false)
            -- a required custom field missing
            OR EXISTS (SELECT 1 FROM cfg
                        WHERE cfg.kind = 'CustomField'
                          AND cfg.body -> 'IsRequired' = 'true'
                          AND NOT EXISTS (SELECT 1 FROM el
                                           WHERE el.i = c.i
                                             AND el.k = 'CustomFields'
                                             AND el.v ->> 'Name' = cfg.key)))
               IS NOT FALSE
        UNION ALL
        SELECT el.i FROM el
         WHERE NOT coalesce(CASE el.k
            WHEN 'AlternateIds' THEN
                prefs_engine_keys_ok(el.v, ARRAY['Type', 'Value'])
                AND prefs_engine_str_ok(el.v -> 'Type', 100, true)
                AND prefs_engine_str_ok(el.v -> 'Value', 100, true)
                AND EXISTS (SELECT 1 FROM cfg WHERE cfg.kind = 'AlternateIdType'
                               AND cfg.key = el.v ->> 'Type')
                AND NOT EXISTS (SELECT 1 FROM prefs_profile_alternate_id a
                                 WHERE a.account_id = p_account_id
                                   AND a.type = el.v ->> 'Type'
                                   AND a.value = el.v ->> 'Value'
                                   AND a.is_active)
            WHEN 'Emails' THEN
                prefs_engine_keys_ok(el.v, ARRAY['EmailAddress',
                    'EmailAddressType', 'IsDefault', 'EmailPreferences'])
                AND prefs_engine_str_ok(el.v -> 'EmailAddress', 256, true)
                AND (el.v ->> 'EmailAddress') ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@.[:space:][:cntrl:]]+$'
                AND prefs_engine_ref_in(el.v -> 'EmailAddressType',
                        (SELECT r.keys FROM refs r WHERE r.kind = 'EmailType'))
                AND prefs_engine_default_ok(el.v -> 'IsDefault', el.n)
            WHEN 'PhoneNumbers' THEN
                prefs_engine_keys_ok(el.v, ARRAY['PhoneNumber',
                    'PhoneNumberType', 'IsMobile', 'IsDefault',
                    'PhonePreferences'])
                AND prefs_engine_str_ok(el.v -> 'PhoneNumber', 30, true)
                AND (el.v ->> 'PhoneNumber') ~ '^\s*\+?[0-9 ().-]+$'
                AND length(prefs_data_phone_norm(el.v ->> 'PhoneNumber'))
                    BETWEEN 3 AND 16
                AND prefs_engine_ref_in(el.v -> 'PhoneNumberType',
                        (SELECT r.keys FROM refs r WHERE r.kind = 'PhoneType'))
                AND coalesce(jsonb_typeof(el.v -> 'IsMobile'), 'null')
                    IN ('boolean', 'null')
                AND prefs_engine_default_ok(el.v -> 'IsDefault', el.n)
            WHEN 'Addresses' THEN
                prefs_engine_keys_ok(el.v, ARRAY['Address1', 'Address2',
                    'City', 'StateProvince', 'PostalCode', 'CountryCode',
                    'AddressType', 'IsDefault', 'AddressPreferences'])
                AND prefs_engine_str_ok(el.v -> 'Address1', 100, true)
                AND prefs_engine_str_ok(el.v -> 'Address2', 100, false)
                AND prefs_engine_str_ok(el.v -> 'City', 50, false)
                AND prefs_engine_str_ok(el.v -> 'StateProvince', 50, false)
                AND prefs_engine_str_ok(el.v -> 'PostalCode', 20, false)
                AND prefs_engine_str_ok(el.v -> 'CountryCode', 50, false)
                AND prefs_engine_ref_in(el.v -> 'AddressType',
                        (SELECT r.keys FROM refs r WHERE r.kind = 'AddressType'))
                AND prefs_engine_default_ok(el.v -> 'IsDefault', el.n)
            WHEN 'CustomFields' THEN
                prefs_engine_keys_ok(el.v, ARRAY['Name', 'Value'])
                AND prefs_engine_str_ok(el.v -> 'Name', 100, true)
                AND EXISTS (SELECT 1 FROM cfg WHERE cfg.kind = 'CustomField'
                               AND cfg.key = el.v ->> 'Name'
                               AND prefs_engine_cf_value(cfg.body,
                                       el.v -> 'Value') IS NOT NULL)
            WHEN 'Groups' THEN
                prefs_engine_keys_ok(el.v, ARRAY['Type', 'Name'])
                AND prefs_engine_str_ok(el.v -> 'Type', 100, true)
                AND prefs_engine_str_ok(el.v -> 'Name', 100, true)
                AND EXISTS (SELECT 1 FROM cfg WHERE cfg.kind = 'GroupType'
                               AND cfg.key = el.v ->> 'Type')
            WHEN 'Tags' THEN
                jsonb_typeof(el.v) = 'string'
                AND EXISTS (SELECT 1 FROM cfg WHERE cfg.kind = 'Tag'
                               AND cfg.key = el.v #>> '{}')
            END, false)
        UNION ALL
        -- preferences: a list that is not one, or too many
        SELECT el.i FROM el
         WHERE el.k IN ('Emails', 'PhoneNumbers', 'Addresses')
           AND coalesce(jsonb_typeof(el.v -> (CASE el.k
                   WHEN 'Emails' THEN 'EmailPreferences'
                   WHEN 'PhoneNumbers' THEN 'PhonePreferences'
                   ELSE 'AddressPreferences' END)), 'null')
               NOT IN ('array', 'null')
        UNION ALL
        SELECT c.i FROM c
         WHERE coalesce(jsonb_typeof(c.b -> 'ProfilePreferences'), 'null')
               NOT IN ('array', 'null')
        UNION ALL
        SELECT p.i FROM pp p
         GROUP BY p.i HAVING count(*) > 500
        UNION ALL
        -- a preference the per-profile path would refuse, or write in a
        -- way that depends on more than the item (CustomerDate, IsArchived
        -- and the read-only fields take that path)
        SELECT p.i FROM pp p
         WHERE NOT coalesce((
               prefs_engine_pref_ok(p.cfg, p.v)
               AND p.c IS NOT NULL
               AND CASE p.o WHEN 0 THEN true
                            WHEN 1 THEN p.chan = 'Email'
                            WHEN 2 THEN p.chan IN ('Phone', 'Fax')
                                        OR p.chan = 'Text'
                                           AND p.c -> 'IsMobile' = 'true'
                            ELSE p.chan = 'Mail' END),
               false)
        UNION ALL
        SELECT p.i FROM pp p
         GROUP BY p.i, p.v ->> 'FilterId', p.clist, p.cn HAVING count(*) > 1
        UNION ALL
        -- consents: a type's active version, a status, a ConsentDate in
        -- UTC that is not later than now (or none), nothing else (a
        -- ContactPoint, a Locale or a revocation after a grant of the same
        -- type take the per-profile path)
        SELECT c.i FROM c
         WHERE coalesce(jsonb_typeof(c.b -> 'Consents'), 'null')
               NOT IN ('array', 'null')
            OR jsonb_array_length(CASE WHEN jsonb_typeof(c.b -> 'Consents')
                                            = 'array'
                                       THEN c.b -> 'Consents' ELSE '[]' END)
               > 100
        UNION ALL
        SELECT x.i FROM prefs_engine_explode(p_items, p_idx, NULL,
                            ARRAY['Consents']) x
         WHERE NOT coalesce((
               prefs_engine_keys_ok(x.v, ARRAY['ConsentType', 'ConsentVersion',
                   'ConsentStatus', 'ConsentDate'])
               AND prefs_engine_str_ok(x.v -> 'ConsentType', 50, true)
               AND prefs_engine_str_ok(x.v -> 'ConsentVersion', 50, true)
               AND EXISTS (SELECT 1 FROM prefs_config_item i,
                                jsonb_array_elements(i.body -> 'Versions') ver
                            WHERE i.account_id = p_account_id
                              AND i.kind = 'ConsentType' AND i.is_active
                              AND i.key = x.v ->> 'ConsentType'
                              AND ver ->> 'ConsentVersion'
                                  = x.v ->> 'ConsentVersion'
                              AND ver -> 'IsActive' = 'true')
               AND prefs_engine_consent_status(x.v -> 'ConsentStatus')
                   IS NOT NULL
               AND (coalesce(x.v ->> 'ConsentDate', '') = ''
                    OR (jsonb_typeof(x.v -> 'ConsentDate') = 'string'
                        AND (x.v ->> 'ConsentDate') ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$'
                        AND (x.v ->> 'ConsentDate')::timestamptz <= now()))
               AND NOT (prefs_engine_consent_status(x.v -> 'ConsentStatus') = 3
                        AND EXISTS (SELECT 1 FROM prefs_engine_explode(p_items,
                                        ARRAY[x.i], NULL, ARRAY['Consents']) y
                                     WHERE y.n <> x.n
                                       AND y.v ->> 'ConsentType'
                                           = x.v ->> 'ConsentType'))),
               false)
        UNION ALL
        -- two alike in one list
        SELECT el.i FROM el
         GROUP BY el.i, el.k, CASE el.k
             WHEN 'AlternateIds' THEN el.v ->> 'Type'
             WHEN 'Emails' THEN lower(el.v ->> 'EmailAddress')
             WHEN 'PhoneNumbers' THEN
                 ltrim(prefs_data_phone_norm(el.v ->> 'PhoneNumber'), '+')
             WHEN 'Addresses' THEN lower(el.v ->> 'Address1') || '/'
                                   || lower(coalesce(el.v ->> 'PostalCode', ''))
             WHEN 'CustomFields' THEN el.v ->> 'Name'
             WHEN 'Groups' THEN (el.v ->> 'Type') || '/' || (el.v ->> 'Name')
             ELSE el.v #>> '{}' END
        HAVING count(*) > 1
        UNION ALL
        -- an alternate id that another item of the batch carries too
        SELECT el.i FROM el
          JOIN (SELECT el.v ->> 'Type' AS t, el.v ->> 'Value' AS v
                  FROM el WHERE el.k = 'AlternateIds'
                 GROUP BY 1, 2 HAVING count(DISTINCT el.i) > 1) x
            ON el.k = 'AlternateIds' AND el.v ->> 'Type' = x.t
           AND el.v ->> 'Value' = x.v
    )
    -- (an array, not NOT IN: a hashed subplan is sized by the estimate,
    -- hundreds of thousands of rows here, and setting that up took 4 ms
    -- whatever the batch)
    SELECT coalesce(array_agg(c.i ORDER BY c.i), '{}') FROM c
     WHERE c.i <> ALL (ARRAY(SELECT bad.i FROM bad WHERE bad.i IS NOT NULL))
$$;


-- Writes the plain new profiles p_idx (prefs_engine_plain) set-based:
-- one INSERT per table, then the rendered copies and the events in one
-- statement.  Returns (item, profile_id).
CREATE OR REPLACE FUNCTION prefs_engine_create(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_idx integer[], p_quiet boolean)
RETURNS TABLE (item integer, profile_id bigint)
LANGUAGE plpgsql
-- the events of a batch are sorted with their Data (36,000 for 1,000
-- profiles of the import's shape: 18.7 MB, merged on disk under the
-- default 4 MB; 4.8 s instead of 5.5 - 8.1 s for that batch)
SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    v_i    integer[];
    v_pid  bigint[];
    n      bigint;
BEGIN
    SELECT array_agg(x.i ORDER BY x.i), array_agg(x.pid ORDER BY x.i)
      INTO v_i, v_pid
      FROM (SELECT s.i, nextval(pg_get_serial_sequence('prefs_profile',
                                                       'profile_id')) AS pid
              FROM (SELECT u.i FROM unnest(p_idx) u(i) ORDER BY u.i) s) x;
    IF v_i IS NULL THEN
        RETURN;
    END IF;

    WITH m AS (
        SELECT * FROM prefs_engine_bodies(p_items, v_i, v_pid)
    ), el AS (
        SELECT * FROM prefs_engine_explode(p_items, v_i, v_pid,
            ARRAY['AlternateIds', 'Emails', 'PhoneNumbers', 'Addresses',
                  'CustomFields', 'Groups', 'Tags'])
    ), ip AS (
        INSERT INTO prefs_profile (profile_id, account_id, prefix, first_name,
            middle_name, last_name, suffix, default_locale, customer_type,
            registration_confirmed, edited_by)
        SELECT m.pid, p_account_id,
               coalesce(m.b #>> '{CustomerName,Prefix}', ''),
               coalesce(m.b #>> '{CustomerName,FirstName}', ''),
               coalesce(m.b #>> '{CustomerName,MiddleName}', ''),
               coalesce(m.b #>> '{CustomerName,LastName}', ''),
               coalesce(m.b #>> '{CustomerName,Suffix}', ''),
               prefs_locale_canonical(nullif(m.b ->> 'DefaultLocale', '')),
               nullif(m.b ->> 'CustomerType', ''),
               coalesce((m.b ->> 'RegistrationConfirmed')::boolean, false),
               p_user_id
          FROM m ORDER BY m.i
        RETURNING 1
    ), ia AS (
        INSERT INTO prefs_profile_alternate_id (account_id, profile_id, type,
                                                value)
        SELECT p_account_id, el.pid, el.v ->> 'Type', el.v ->> 'Value'
          FROM el WHERE el.k = 'AlternateIds' ORDER BY el.i, el.n
        RETURNING 1
    ), ie AS (
        INSERT INTO prefs_profile_email (account_id, profile_id, address, type,
                                         is_default)
        SELECT p_account_id, el.pid, el.v ->> 'EmailAddress',
               nullif(el.v ->> 'EmailAddressType', ''), el.n = 1
          FROM el WHERE el.k = 'Emails' ORDER BY el.i, el.n
        RETURNING 1
    ), iph AS (
        INSERT INTO prefs_profile_phone (account_id, profile_id, number, type,
                                         is_mobile, is_default)
        SELECT p_account_id, el.pid,
               prefs_data_phone_norm(el.v ->> 'PhoneNumber'),
               nullif(el.v ->> 'PhoneNumberType', ''),
               coalesce((el.v ->> 'IsMobile')::boolean, false), el.n = 1
          FROM el WHERE el.k = 'PhoneNumbers' ORDER BY el.i, el.n
        RETURNING 1
    ), iad AS (
        INSERT INTO prefs_profile_address (account_id, profile_id, line1,
            line2, city, state, postal_code, country, type, is_default)
        SELECT p_account_id, el.pid, el.v ->> 'Address1',
               coalesce(el.v ->> 'Address2', ''), coalesce(el.v ->> 'City', ''),
               coalesce(el.v ->> 'StateProvince', ''),
               coalesce(el.v ->> 'PostalCode', ''),
               coalesce(el.v ->> 'CountryCode', ''),
               nullif(el.v ->> 'AddressType', ''), el.n = 1
          FROM el WHERE el.k = 'Addresses' ORDER BY el.i, el.n
        RETURNING 1
    ), icf AS (
        INSERT INTO prefs_profile_custom_field (account_id, profile_id, name,
                                                value)
        SELECT p_account_id, el.pid, el.v ->> 'Name',
               prefs_engine_cf_value(i.body, el.v -> 'Value')
          FROM el
          JOIN prefs_config_item i ON i.account_id = p_account_id
                                  AND i.kind = 'CustomField' AND i.is_active
                                  AND i.key = el.v ->> 'Name'
         WHERE el.k = 'CustomFields' ORDER BY el.i, el.n
        RETURNING 1
    ), ig AS (
        INSERT INTO prefs_profile_group (account_id, profile_id, group_type,
                                         group_name)
        SELECT p_account_id, el.pid, el.v ->> 'Type', el.v ->> 'Name'
          FROM el WHERE el.k = 'Groups' ORDER BY el.i, el.n
        RETURNING 1
    ), it AS (
        INSERT INTO prefs_profile_tag (account_id, profile_id, tag)
        SELECT p_account_id, el.pid, el.v #>> '{}'
          FROM el WHERE el.k = 'Tags' ORDER BY el.i, el.n
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ip) + (SELECT count(*) FROM ia)
           + (SELECT count(*) FROM ie) + (SELECT count(*) FROM iph)
           + (SELECT count(*) FROM iad) + (SELECT count(*) FROM icf)
           + (SELECT count(*) FROM ig) + (SELECT count(*) FROM it)
      INTO n;

    -- the preferences, after their contact points (in the order the
    -- per-profile path writes them); each one's contact point joined from
    -- the batch's (prefs_engine_plain leaves one match at most: it refuses
    -- two alike in a list), the filters' default frequencies read once,
    -- and the attributes built inline (as prefs_engine_pref_freq and
    -- prefs_engine_pref_attrs do, without a call a row)
    INSERT INTO prefs_preference (account_id, profile_id, filter_id,
        channel_id, email_id, phone_id, address_id, contact_key,
        preference_type, frequency_id, attributes, customer_date,
        expiration_date)
    SELECT p_account_id, p.pid, p.v ->> 'FilterId', p.chan, e.email_id,
           ph.phone_id, ad.address_id,
           coalesce('E' || e.email_id, 'P' || ph.phone_id,
                    'A' || ad.address_id, ''),
           (p.v ->> 'PreferenceType')::integer,
           CASE WHEN coalesce(p.v ->> 'FrequencyId', '') = '' THEN fd.freq
                ELSE p.v ->> 'FrequencyId' END,
           CASE WHEN jsonb_typeof(p.v -> 'PreferenceAttributes') = 'array'
                THEN coalesce((SELECT jsonb_agg(jsonb_build_object(
                         'Key', a -> 'Key',
                         'Value', CASE WHEN coalesce(jsonb_typeof(a -> 'Value'),
                                                     'null') = 'null'
                                       THEN '""' ELSE a -> 'Value' END)
                         ORDER BY a.n)
                       FROM jsonb_array_elements(p.v -> 'PreferenceAttributes')
                            WITH ORDINALITY a(a, n)), '[]')
                ELSE '[]' END,
           now(),
           now() + prefs_engine_pref_days(p.cfg,
                                          (p.v ->> 'PreferenceType')::integer)
      FROM prefs_engine_prefs(p_account_id, p_items, v_i, v_pid) p
      LEFT JOIN (SELECT i.key,
                        (SELECT fr ->> 'FrequencyId' FROM jsonb_array_elements(
                                i.body #> '{FrequencyLocales,0,Frequencies}') fr
                          WHERE fr -> 'IsDefault' = 'true' LIMIT 1) AS freq
                   FROM prefs_config_item i
                  WHERE i.account_id = p_account_id AND i.kind = 'Filter'
                    AND i.is_active) fd ON fd.key = p.v ->> 'FilterId'
      LEFT JOIN (SELECT x.profile_id, x.email_id, lower(x.address) AS a
                   FROM prefs_profile_email x
                  WHERE x.profile_id = ANY (v_pid)) e
        ON p.clist = 'Emails' AND e.profile_id = p.pid
       AND e.a = lower(p.c ->> 'EmailAddress')
      LEFT JOIN (SELECT x.profile_id, x.phone_id, x.number
                   FROM prefs_profile_phone x
                  WHERE x.profile_id = ANY (v_pid)) ph
        ON p.clist = 'PhoneNumbers' AND ph.profile_id = p.pid
       AND ph.number = prefs_data_phone_norm(p.c ->> 'PhoneNumber')
      LEFT JOIN (SELECT x.profile_id, x.address_id, lower(x.line1) AS l,
                        lower(x.postal_code) AS pc
                   FROM prefs_profile_address x
                  WHERE x.profile_id = ANY (v_pid)) ad
        ON p.clist = 'Addresses' AND ad.profile_id = p.pid
       AND ad.l = lower(p.c ->> 'Address1')
       AND ad.pc = lower(coalesce(p.c ->> 'PostalCode', ''))
     ORDER BY p.i, p.o, p.cn, p.pn;

    -- the consents, in body order, then the links of the preferences to
    -- the consents their filters require (prefs_data_assoc_sync's rule,
    -- prefs_data_assoc_consent's choice made for the batch at once: the
    -- newest active consent of the type for the preference's contact
    -- point, else without one; Granted is Revoked for an opt-out)
    INSERT INTO prefs_consent (account_id, profile_id, type_name, version,
        status, recorded_by, customer_date, expiration_date, locale,
        contact_key, contact_point)
    SELECT p_account_id, x.pid, x.v ->> 'ConsentType',
           x.v ->> 'ConsentVersion', t.st, p_user_id, t.cdate,
           t.cdate + make_interval(days => (
               SELECT (ver ->> 'ExpirationInDays')::integer
                 FROM prefs_config_item i,
                      jsonb_array_elements(i.body -> 'Versions') ver
                WHERE i.account_id = p_account_id AND i.kind = 'ConsentType'
                  AND i.is_active AND i.key = x.v ->> 'ConsentType'
                  AND ver ->> 'ConsentVersion' = x.v ->> 'ConsentVersion'
                  AND ver -> 'IsActive' = 'true'
                LIMIT 1)),
           NULL, '', NULL
      FROM prefs_engine_explode(p_items, v_i, v_pid, ARRAY['Consents']) x
     CROSS JOIN LATERAL (
           SELECT prefs_engine_consent_status(x.v -> 'ConsentStatus') AS st) s
     CROSS JOIN LATERAL (
           SELECT s.st, prefs_data_consent_date(x.v,
                      'Consents[' || x.n - 1 || ']', s.st) AS cdate) t
     ORDER BY x.i, x.n;

    -- (each table read once for the batch: the planner's estimates for
    -- jsonb_array_elements otherwise led it to scan a filter's
    -- preferences of every profile)
    WITH pr AS MATERIALIZED (
        SELECT pr.profile_id, pr.preference_id, pr.filter_id, pr.contact_key,
               pr.preference_type
          FROM prefs_preference pr
         WHERE pr.profile_id = ANY (v_pid) AND NOT pr.is_archived
    ), rc AS MATERIALIZED (
        SELECT i.key, x ->> 'TypeName' AS type_name, x.n
          FROM prefs_config_item i,
               jsonb_array_elements(coalesce(
                   i.body -> 'RequiredPreferenceConsents', '[]'))
                   WITH ORDINALITY AS x(x, n)
         WHERE i.account_id = p_account_id AND i.kind = 'Filter'
           AND i.is_active
    ), c AS MATERIALIZED (
        SELECT c.profile_id, c.type_name, c.contact_key, c.consent_id,
               c.status
          FROM prefs_consent c
         WHERE c.profile_id = ANY (v_pid) AND c.is_active
    )
    INSERT INTO prefs_consent_assoc (account_id, profile_id, kind, type_name,
                                     preference_id, consent_id, status)
    SELECT p_account_id, l.profile_id, 'F', l.type_name, l.preference_id,
           l.consent_id, l.status
      FROM (SELECT DISTINCT ON (pr.preference_id, rc.n)
                   pr.profile_id, pr.preference_id, rc.type_name, rc.n,
                   c.consent_id,
                   CASE WHEN pr.preference_type = 2 AND c.status = 1 THEN 3
                        ELSE c.status END AS status
              FROM pr
              JOIN rc ON rc.key = pr.filter_id
              JOIN c ON c.profile_id = pr.profile_id
                    AND c.type_name = rc.type_name
                    AND c.contact_key IN (pr.contact_key, '')
             ORDER BY pr.preference_id, rc.n,
                      c.contact_key = pr.contact_key DESC,
                      c.consent_id DESC) l
     ORDER BY l.profile_id, l.preference_id, l.n;

    -- the rendered copies, and the events in the order the per-profile
    -- functions write them: profile.created (its Data the copy), then
    -- alternate ids, emails, phones, addresses, custom fields, groups,
    -- tags, each list in body order
    WITH m AS (
        SELECT * FROM prefs_engine_bodies(p_items, v_i, v_pid)
    ), d AS (
        INSERT INTO prefs_profile_doc AS d (profile_id, src_xmin, doc)
        SELECT x.profile_id, x.src_xmin, x.doc
          FROM prefs_data_profiles_json(p_account_id, v_pid) x
        ON CONFLICT (profile_id) DO UPDATE
           SET src_xmin = EXCLUDED.src_xmin, doc = EXCLUDED.doc
        RETURNING d.profile_id, d.doc
    ), el AS (
        SELECT x.*, array_position(ARRAY['AlternateIds', '', '', '',
                   'CustomFields', 'Groups', 'Tags'], x.k) AS o
          FROM prefs_engine_explode(p_items, v_i, v_pid, ARRAY['AlternateIds',
                   'CustomFields', 'Groups', 'Tags']) x
    )
    INSERT INTO prefs_event (account_id, event_type, entity, subject,
                             profile_id, data, previous_data, recorded_by)
    SELECT p_account_id, ev.t, prefs_event_entity(ev.t), 'Profile/' || ev.pid,
           ev.pid, ev.data, ev.prev, p_user_id
      FROM (
        SELECT m.i, 0 AS o, 0::bigint AS n, m.pid, 'profile.created' AS t,
               d.doc::jsonb AS data, NULL::jsonb AS prev
          FROM m JOIN d ON d.profile_id = m.pid
        UNION ALL
        SELECT el.i, el.o, el.n, el.pid, CASE el.k
                   WHEN 'AlternateIds' THEN 'contacts.alternateid.added'
                   WHEN 'CustomFields' THEN 'customfield.added'
                   WHEN 'Groups' THEN 'group.added' ELSE 'tag.added' END,
               CASE el.k
                   WHEN 'AlternateIds' THEN jsonb_build_object(
                       'Type', el.v ->> 'Type', 'Value', el.v ->> 'Value')
                   WHEN 'CustomFields' THEN jsonb_build_object(
                       'Name', el.v ->> 'Name', 'Value', cf.value)
                   WHEN 'Groups' THEN jsonb_build_object(
                       'Type', el.v ->> 'Type', 'Name', el.v ->> 'Name')
                   ELSE jsonb_build_object('Tag', el.v #>> '{}') END,
               NULL
          FROM el
          LEFT JOIN prefs_profile_custom_field cf
            ON el.k = 'CustomFields' AND cf.profile_id = el.pid
           AND cf.name = el.v ->> 'Name'
        UNION ALL
        SELECT m.i, 2, x.email_id, m.pid, 'contacts.email.added',
               prefs_data_email_json(x)::jsonb, NULL
          FROM m JOIN prefs_profile_email x ON x.profile_id = m.pid
        UNION ALL
        SELECT m.i, 3, x.phone_id, m.pid, 'contacts.phone.added',
               prefs_data_phone_json(x)::jsonb, NULL
          FROM m JOIN prefs_profile_phone x ON x.profile_id = m.pid
        UNION ALL
        SELECT m.i, 4, x.address_id, m.pid, 'contacts.address.added',
               prefs_data_address_json(x)::jsonb, NULL
          FROM m JOIN prefs_profile_address x ON x.profile_id = m.pid
        UNION ALL
        SELECT m.i, 8, x.preference_id, m.pid, 'preference.added',
               prefs_data_pref_json(x)::jsonb, NULL
          FROM m JOIN prefs_preference x ON x.profile_id = m.pid
        UNION ALL
        SELECT m.i, 9, x.consent_id, m.pid,
               CASE WHEN x.prev IS NULL THEN 'consent.added'
                    ELSE 'consent.updated' END,
               x.data, x.prev
          FROM m JOIN (
               SELECT c.profile_id, c.consent_id,
                      prefs_data_consent_json(c)::jsonb AS data,
                      lag(prefs_data_consent_json(c)::jsonb) OVER (
                          PARTITION BY c.profile_id, c.type_name, c.contact_key
                          ORDER BY c.consent_id) AS prev
                 FROM prefs_consent c
                WHERE c.profile_id = ANY (v_pid)) x ON x.profile_id = m.pid
        UNION ALL
        SELECT m.i, 10, x.assoc_id, m.pid,
               'consent.filterassociation.created', prefs_data_assoc_json(x),
               NULL
          FROM m JOIN prefs_consent_assoc x ON x.profile_id = m.pid
      ) ev
     WHERE NOT p_quiet
     ORDER BY ev.i, ev.o, ev.n;
    GET DIAGNOSTICS n = ROW_COUNT;

    -- the wake-up prefs_event_add sends, once for the batch
    IF n > 0 THEN
        PERFORM prefs_event_wake(p_account_id);
    END IF;

    RETURN QUERY SELECT u.i, u.pid FROM unnest(v_i, v_pid) u(i, pid);
END
$$;


-- The items p_idx that address existing profiles (p_pid, distinct: one
-- round) and change only preferences, written set-based without the
-- per-profile functions: the short path of POST Profile/{id}/Preferences,
-- UpdateProfile and an import's update.  An item qualifies when the
-- per-profile path would accept it and write only preferences: its body
-- holds ProfilePreferences, and Emails / PhoneNumbers that name a contact
-- point the profile has, exactly as stored, with their EmailPreferences /
-- PhonePreferences, each preference one prefs_engine_pref_ok takes, its
-- contact point there (a Text filter's phone mobile), once per item (and
-- a ProfileId equal to the profile's).  Anything else (and so every
-- refused item) is left to the per-profile path, which words the error.
-- The same rows and events as that path: preference.added / .updated in
-- body order (unchanged ones untouched), the consent links kept
-- (prefs_data_assoc_sync, for profiles whose preferences were added or
-- changed type), the profile's row touched, profile.updated with the
-- new copy as Data (no PreviousData: docs/events.md).  The new copy is
-- the stored one with the preferences of the contact points written re-read
-- (prefs_data_profile_from); a profile whose consent links changed is
-- rendered in full.  Returns (item, profile_id, outcome) for the items it wrote:
-- updated, or unchanged when nothing differed.
CREATE OR REPLACE FUNCTION prefs_engine_update(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_idx integer[], p_pid bigint[],
    p_quiet boolean)
RETURNS TABLE (item integer, profile_id bigint, outcome text)
LANGUAGE plpgsql
-- the statements' plans made once a session: custom plans (PL/pgSQL's
-- choice here) planned the first statement anew in every call, 3 ms of a
-- single write
SET plan_cache_mode = force_generic_plan
-- groups by sorting: the hash aggregates that the generic plans chose (for
-- jsonb_array_elements' estimate of 100 rows a call) built and scanned
-- tables sized for thousands of groups, 7% of a single write's CPU (perf
-- on the backend); a batch of 1,000 updates takes as long either way
SET enable_hashagg = off
AS $$
#variable_conflict use_column
DECLARE
    v_rows  jsonb;
    v_i     integer[];
    v_pid   bigint[];
    v_ch    bigint[];
    v_full  bigint[] := '{}';
    v_bdoc  text[];
    v_bpid  bigint[];
    x       bigint;
    n       bigint;
BEGIN
    IF cardinality(p_idx) = 0 THEN
        RETURN;
    END IF;
    -- locked in id order, as the per-profile path locks each before it
    -- reads it
    PERFORM 1 FROM prefs_profile p
     WHERE p.profile_id = ANY (p_pid) AND p.account_id = p_account_id
       AND p.erased_at IS NULL
     ORDER BY p.profile_id FOR UPDATE;

    -- the qualifying items' preferences, with the row each one changes
    WITH d AS (
        SELECT b.* FROM prefs_engine_bodies(p_items, p_idx, p_pid) b
         WHERE (SELECT x.account_id = p_account_id AND x.erased_at IS NULL
                  FROM prefs_profile x WHERE x.profile_id = b.pid)
    ), el AS (
        SELECT d.i, d.pid, l.k, e.v, e.n
          FROM d, (VALUES ('Emails'), ('PhoneNumbers')) l(k),
               jsonb_array_elements(CASE WHEN jsonb_typeof(d.b -> l.k)
                                              = 'array'
                                         THEN d.b -> l.k ELSE '[]' END)
                   WITH ORDINALITY e(v, n)
    ), cp AS (
        SELECT el.*, CASE el.k
                   WHEN 'Emails' THEN (SELECT 'E' || e.email_id
                       FROM prefs_profile_email e
                      WHERE e.profile_id = el.pid AND e.is_active
                        AND e.address = el.v ->> 'EmailAddress')
                   ELSE (SELECT 'P' || ph.phone_id FROM prefs_profile_phone ph
                          WHERE ph.profile_id = el.pid AND ph.is_active
                            AND ph.number = el.v ->> 'PhoneNumber') END AS ckey
          FROM el
    ), p AS (
        SELECT q.*, coalesce(cp.ckey, CASE WHEN q.o = 0 THEN
                   prefs_data_pref_contact(q.pid, q.chan, NULL, NULL) END)
                   AS ckey
          FROM prefs_engine_prefs(p_account_id, p_items, p_idx, p_pid) q
          LEFT JOIN cp ON q.o > 0 AND cp.i = q.i
           AND cp.k = q.clist AND cp.n = q.cn
    ), bad AS (
        SELECT d.i FROM d
         WHERE NOT prefs_engine_keys_ok(d.b, ARRAY['ProfileId',
                   'ProfilePreferences', 'Emails', 'PhoneNumbers'])
            OR (d.b ? 'ProfileId' AND jsonb_typeof(d.b -> 'ProfileId')
                IS DISTINCT FROM 'number')
            OR (d.b ? 'ProfileId' AND (d.b ->> 'ProfileId')::numeric <> d.pid)
            OR coalesce(jsonb_typeof(d.b -> 'ProfilePreferences'), 'array')
               <> 'array'
            OR coalesce(jsonb_typeof(d.b -> 'Emails'), 'array') <> 'array'
            OR coalesce(jsonb_typeof(d.b -> 'PhoneNumbers'), 'array')
               <> 'array'
            OR jsonb_array_length(coalesce(d.b -> 'Emails', '[]')) > 100
            OR jsonb_array_length(coalesce(d.b -> 'PhoneNumbers', '[]')) > 100
        UNION ALL
        SELECT cp.i FROM cp
         WHERE cp.ckey IS NULL
            OR NOT prefs_engine_keys_ok(cp.v, CASE cp.k
                   WHEN 'Emails' THEN ARRAY['EmailAddress', 'EmailPreferences']
                   ELSE ARRAY['PhoneNumber', 'PhonePreferences'] END)
            OR coalesce(jsonb_typeof(cp.v -> (CASE cp.k
                   WHEN 'Emails' THEN 'EmailPreferences'
                   ELSE 'PhonePreferences' END)), 'array') <> 'array'
        UNION ALL
        SELECT cp.i FROM cp GROUP BY cp.i, cp.ckey HAVING count(*) > 1
        UNION ALL
        SELECT p.i FROM p
         WHERE NOT coalesce(prefs_engine_pref_ok(p.cfg, p.v)
                   AND p.ckey IS NOT NULL
                   AND CASE p.o WHEN 0 THEN true
                                WHEN 1 THEN p.chan = 'Email'
                                WHEN 2 THEN p.chan IN ('Phone', 'Fax', 'Text')
                                ELSE false END
                   AND (p.chan <> 'Text' OR p.o = 0
                        OR (SELECT ph.is_mobile FROM prefs_profile_phone ph
                             WHERE ph.phone_id = substr(p.ckey, 2)::bigint)),
                   false)
        UNION ALL
        SELECT p.i FROM p GROUP BY p.i HAVING count(*) > 500
        UNION ALL
        SELECT p.i FROM p
         GROUP BY p.i, p.v ->> 'FilterId', p.ckey HAVING count(*) > 1
    ), ok AS (
        SELECT d.i, d.pid FROM d
         WHERE d.i <> ALL (ARRAY(SELECT bad.i FROM bad
                                  WHERE bad.i IS NOT NULL))
    ), w AS (
        SELECT p.i, p.pid, p.o, p.cn, p.pn, p.v ->> 'FilterId' AS fid,
               p.chan, p.ckey, (p.v ->> 'PreferenceType')::integer AS ptype,
               prefs_engine_pref_freq(p.cfg, p.v) AS freq,
               prefs_engine_pref_attrs(p.v) AS attrs,
               prefs_engine_pref_days(p.cfg, (p.v ->> 'PreferenceType')
                                             ::integer) AS days
          FROM p JOIN ok ON ok.i = p.i
    )
    SELECT (SELECT array_agg(ok.i ORDER BY ok.i) FROM ok),
           (SELECT array_agg(ok.pid ORDER BY ok.i) FROM ok),
           (SELECT jsonb_agg(jsonb_build_object('i', w.i, 'pid', w.pid,
                'ord', row_number, 'fid', w.fid, 'chan', w.chan,
                'ckey', w.ckey, 'ptype', w.ptype, 'freq', w.freq,
                'attrs', w.attrs, 'days', w.days, 'old', op.preference_id,
                'old_js', CASE WHEN op.preference_id IS NOT NULL
                               THEN prefs_data_pref_json(op)::jsonb END,
                'links', op.preference_id IS NULL OR op.is_archived
                         OR op.preference_type <> w.ptype))
              FROM (SELECT w.*, row_number() OVER (ORDER BY w.i, w.o,
                           CASE WHEN w.o > 0 THEN w.cn END, w.pn)
                      FROM w) w
              LEFT JOIN LATERAL (SELECT op.* FROM prefs_preference op
                    WHERE op.profile_id = w.pid AND op.filter_id = w.fid
                      AND op.contact_key = w.ckey) op ON true
             WHERE op.preference_id IS NULL
                OR op.preference_type <> w.ptype
                OR op.frequency_id IS DISTINCT FROM w.freq
                OR op.attributes <> w.attrs OR op.is_archived
                OR op.channel_id <> w.chan)
      INTO v_i, v_pid, v_rows;

    IF v_i IS NULL THEN
        RETURN;
    END IF;
    v_ch := ARRAY(SELECT DISTINCT (r ->> 'pid')::bigint
                    FROM jsonb_array_elements(v_rows) r);
    -- the stored copies before the change (rendered when missing): what
    -- the new ones are made from
    SELECT array_agg(c.pid), array_agg(prefs_profile_get(p_account_id,
                                                         c.pid, false))
      INTO v_bpid, v_bdoc
      FROM unnest(v_ch) c(pid);

    -- the preferences written: changed ones updated, new ones added, in
    -- body order
    UPDATE prefs_preference x
       SET preference_type = r.ptype, frequency_id = r.freq,
           attributes = r.attrs, customer_date = now(),
           expiration_date = now() + r.days, is_archived = false,
           channel_id = r.chan, updated_at = now()
      FROM jsonb_to_recordset(v_rows) AS r(old bigint, ptype integer,
               freq text, attrs jsonb, days interval, chan text)
     WHERE x.preference_id = r.old;
    INSERT INTO prefs_preference (account_id, profile_id, filter_id,
        channel_id, email_id, phone_id, address_id, contact_key,
        preference_type, frequency_id, attributes, customer_date,
        expiration_date)
    SELECT p_account_id, r.pid, r.fid, r.chan,
           CASE WHEN left(r.ckey, 1) = 'E' THEN substr(r.ckey, 2)::bigint END,
           CASE WHEN left(r.ckey, 1) = 'P' THEN substr(r.ckey, 2)::bigint END,
           CASE WHEN left(r.ckey, 1) = 'A' THEN substr(r.ckey, 2)::bigint END,
           r.ckey, r.ptype, r.freq, r.attrs, now(), now() + r.days
      FROM jsonb_to_recordset(v_rows) AS r(old bigint, pid bigint, ord bigint,
               fid text, chan text, ckey text, ptype integer, freq text,
               attrs jsonb, days interval)
     WHERE r.old IS NULL
     ORDER BY r.ord;

    IF NOT p_quiet THEN
        INSERT INTO prefs_event (account_id, event_type, entity, subject,
                                 profile_id, data, previous_data, recorded_by)
        SELECT p_account_id, e.t, prefs_event_entity(e.t),
               'Profile/' || r.pid, r.pid, prefs_data_pref_json(x)::jsonb,
               r.old_js, p_user_id
          FROM jsonb_to_recordset(v_rows) AS r(pid bigint, ord bigint,
                   fid text, ckey text, old bigint, old_js jsonb)
          JOIN prefs_preference x ON x.profile_id = r.pid
           AND x.filter_id = r.fid AND x.contact_key = r.ckey
         CROSS JOIN LATERAL (SELECT CASE WHEN r.old IS NULL
                                 THEN 'preference.added'
                                 ELSE 'preference.updated' END AS t) e
         ORDER BY r.ord;
    END IF;

    -- the consent links of the preferences added, unarchived or turned
    FOR x IN SELECT DISTINCT (r ->> 'pid')::bigint AS pid
               FROM jsonb_array_elements(v_rows) r
              WHERE (r -> 'links')::boolean
              ORDER BY 1 LOOP
        IF prefs_data_assoc_sync(p_account_id, p_user_id, x) THEN
            v_full := v_full || x;
        END IF;
    END LOOP;

    UPDATE prefs_profile p
       SET updated_at = now(), edited_at = now(), edited_by = p_user_id
     WHERE p.profile_id = ANY (v_ch);

    -- the new copies, and profile.updated (Data the new copy)
    WITH b AS (
        SELECT u.pid, u.doc FROM unnest(v_bpid, v_bdoc) u(pid, doc)
    ), k AS (
        SELECT (r ->> 'pid')::bigint AS pid,
               array_agg(DISTINCT CASE WHEN r ->> 'ckey' LIKE 'X%' THEN ''
                                       ELSE r ->> 'ckey' END) AS keys
          FROM jsonb_array_elements(v_rows) r GROUP BY 1
    ), d AS (
        INSERT INTO prefs_profile_doc AS d (profile_id, src_xmin, doc)
        SELECT p.profile_id, p.xmin, CASE
                   WHEN p.profile_id = ANY (v_full) OR b.doc IS NULL
                   THEN prefs_data_profile_json(p, false)
                   ELSE prefs_data_profile_from(p, false, b.doc::json,
                            prefs_data_doc_pref_map(b.doc::jsonb)
                            || prefs_data_pref_map(p.profile_id, k.keys))
                   END::text
          FROM prefs_profile p JOIN k ON k.pid = p.profile_id
          LEFT JOIN b ON b.pid = p.profile_id
        ON CONFLICT (profile_id) DO UPDATE
           SET src_xmin = EXCLUDED.src_xmin, doc = EXCLUDED.doc
        RETURNING d.profile_id, d.doc
    )
    INSERT INTO prefs_event (account_id, event_type, entity, subject,
                             profile_id, data, recorded_by)
    SELECT p_account_id, 'profile.updated',
           prefs_event_entity('profile.updated'), 'Profile/' || d.profile_id,
           d.profile_id, d.doc::jsonb, p_user_id
      FROM d
     WHERE NOT p_quiet
     ORDER BY d.profile_id;
    GET DIAGNOSTICS n = ROW_COUNT;

    -- the wake-up prefs_event_add sends, once for the batch
    IF n > 0 THEN
        PERFORM prefs_event_wake(p_account_id);
    END IF;

    RETURN QUERY
    SELECT u.i, u.pid, CASE WHEN u.pid = ANY (v_ch) THEN 'updated'
                     ELSE 'unchanged' END
      FROM unnest(v_i, v_pid) u(i, pid);
END
$$;


-- AllowPriorConsents (the bulk import's option; reference section 6: "allow
-- adding an older consent version if no newer one exists", "stale
-- consent versions need AllowPriorConsents"): the items of p_idx
-- (profiles p_pid, NULL for new ones) that are not honored, with the
-- consent that makes it so (its path and a message naming it).  The
-- order of a type's versions is that of its Versions list; a version is
-- prior when a later one of the list is active.
--   p_allow false: an item with a consent of a prior version is not
--     honored (without the option only the newest active version is
--     taken);
--   p_allow true: a prior version is recorded, even one no longer
--     active, unless the profile holds a consent of that type of a later
--     version: then the item is not honored.
-- A not-honored item writes nothing; the import counts it as NotHonored.
CREATE OR REPLACE FUNCTION prefs_engine_prior(p_account_id bigint,
    p_items jsonb, p_idx integer[], p_pid bigint[], p_allow boolean)
RETURNS TABLE (i integer, path text, message text)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (x.i) x.i,
           'Consents[' || x.n - 1 || '].ConsentVersion',
           format('Consents[%s].ConsentVersion %s %s of consent type %s: '
                  'not honored', x.n - 1, prefs_cfg_quote(x.v ->> 'ConsentVersion'),
                  CASE WHEN p_allow
                       THEN 'is older than version '
                            || prefs_cfg_quote(h.version) || ', which the '
                            || 'profile holds,'
                       ELSE 'is a prior version (AllowPriorConsents is '
                            || 'false)' END,
                  prefs_cfg_quote(t.key))
      FROM prefs_engine_explode(p_items, p_idx, p_pid, ARRAY['Consents']) x
      JOIN prefs_config_item t ON t.account_id = p_account_id
       AND t.kind = 'ConsentType' AND t.is_active
       AND t.key = x.v ->> 'ConsentType'
     CROSS JOIN LATERAL (
           SELECT max(v.n) FILTER (WHERE v.v ->> 'ConsentVersion'
                                         = x.v ->> 'ConsentVersion') AS mine,
                  max(v.n) FILTER (WHERE v.v -> 'IsActive' = 'true')
                      AS newest
             FROM jsonb_array_elements(t.body -> 'Versions')
                  WITH ORDINALITY v(v, n)) o
      LEFT JOIN LATERAL (
           SELECT c.version, v.n
             FROM prefs_consent c
             JOIN jsonb_array_elements(t.body -> 'Versions')
                  WITH ORDINALITY v(v, n) ON v.v ->> 'ConsentVersion' = c.version
            WHERE p_allow AND c.profile_id = x.pid AND c.type_name = t.key
            ORDER BY v.n DESC LIMIT 1) h ON true
     WHERE jsonb_typeof(x.v) = 'object'
       AND CASE WHEN p_allow THEN h.n > o.mine ELSE o.mine < o.newest END
     ORDER BY x.i, x.n
$$;


-- A profile of the account, not erased, locked for the change: whether it
-- is active, NULL when there is no such profile (prefs_engine_set_active,
-- prefs_engine_erase).
CREATE OR REPLACE FUNCTION prefs_engine_lock(p_account_id bigint,
    p_profile_id bigint)
RETURNS boolean
LANGUAGE sql AS $$
    SELECT p.is_active FROM prefs_profile p
     WHERE p.account_id = p_account_id AND p.profile_id = p_profile_id
       AND p.erased_at IS NULL FOR UPDATE
$$;


-- The engine's deactivation (p_active false: ImportAction Delete, DELETE
-- Profile/{id}) and activation (p_active true: POST Profile/{id}/Activate):
-- outcomes deactivated / reactivated (also when the profile already was:
-- no event then), invalid (a ReasonCode over 256 characters), not_found.
-- An activated profile's alternate ids need no check: they are unique
-- among active rows, which a deactivated profile's still are.
CREATE OR REPLACE FUNCTION prefs_engine_set_active(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_active boolean, p_reason text)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    act  boolean := prefs_engine_lock(p_account_id, p_profile_id);
BEGIN
    IF act IS NULL THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;
    IF NOT p_active AND char_length(p_reason) > 256 THEN
        RETURN QUERY SELECT 'invalid'::text,
            'ReasonCode must be at most 256 characters'::text;
        RETURN;
    END IF;
    IF act <> p_active THEN
        UPDATE prefs_profile p
           SET is_active = p_active,
               reason_code = CASE WHEN NOT p_active
                                  THEN nullif(p_reason, '') END,
               updated_at = now(), edited_at = now(), edited_by = p_user_id
         WHERE p.profile_id = p_profile_id;
        PERFORM prefs_event_add(p_account_id, p_user_id,
            CASE WHEN p_active THEN 'profile.reactivated'
                 ELSE 'profile.deactivated' END, p_profile_id,
            jsonb_build_object('ProfileId', p_profile_id)
            || CASE WHEN p_active THEN '{}'::jsonb
                    ELSE jsonb_build_object('ReasonCode',
                                            nullif(p_reason, '')) END);
    END IF;
    RETURN QUERY SELECT CASE WHEN p_active THEN 'reactivated'
                             ELSE 'deactivated' END, NULL::text;
END
$$;


-- The engine's erasure ("right to be forgotten"): names, contact points,
-- alternate ids, custom fields, groups, tags and preference attributes go
-- for good; preferences stay archived without contact point or
-- attributes, consents stay (type, version, status, dates).  The personal
-- data of the profile's earlier events is removed too.  Outcomes: erased,
-- not_found.
CREATE OR REPLACE FUNCTION prefs_engine_erase(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    IF prefs_engine_lock(p_account_id, p_profile_id) IS NULL THEN
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


-- The engine's one body.  p_mode:
--   'apply'     prefs_engine_apply
--   'validate'  prefs_engine_validate: every item's subtransaction is
--               rolled back, so nothing is written and no lock is kept
--   'create'    POST Profile (prefs_profile_create): every item creates a
--               profile (a ProfileId in it is refused, as the API does)
--   'update'    UpdateProfile (prefs_profile_update): the batch's one item
--               is applied to p_profile_id (the path's); a ProfileId in
--               the body must be that one
--   'patch'     JSON Patch (prefs_profile_patch): as 'update', the item
--               being the UpdateProfile body the patch amounts to, never
--               by the short path, and its event profile.replaced
--   'deactivate', 'activate', 'erase'
--               DELETE Profile/{id}, POST Profile/{id}/Activate, erasure
--               (prefs_profile_state): the state of p_profile_id changed
--               (prefs_engine_set_active with the item's ReasonCode, as
--               ImportAction Delete does; prefs_engine_erase)
--   'create_v3' a v3 customer (prefs_v3_write): as 'create', per profile,
--               without the account's required custom fields (v3 has no
--               custom fields); its CustomerName (checked by the v3
--               route) goes into the new row, and so into profile.created
--               alone, as the v3 routes always wrote it
-- state: for a failed item, the SQLSTATE of its error (PF001 invalid,
-- PF002 or 23505 a conflict, NOTFOUND no such profile), for the Data
-- API's answers (400, 409, 404).
CREATE OR REPLACE FUNCTION prefs_engine_run(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_opts jsonb, p_mode text,
    p_profile_id bigint DEFAULT NULL)
RETURNS TABLE (item integer, profile_id text, outcome text, path text,
               message text, state text)
LANGUAGE plpgsql
-- The set-based statements' estimates (jsonb_array_elements: 100 rows a
-- call, nested) exceed jit_above_cost by far, and compiling them took
-- seconds a call, whatever the batch's size
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    o        jsonb;
    mc       text;
    del      boolean;
    quiet    boolean;
    refresh  boolean;
    rnd      integer := 0;
    last     integer;
    r        record;
    b        jsonb;
    pid      bigint;
    ev       bigint;
    res      text;
    msg      text;
    old_src  text := current_setting('prefs.event_source', true);
    old_sup  text := current_setting('prefs.suppress_events', true);
    p_dry    boolean := p_mode = 'validate';
    v_item   integer[];
    v_key    text[];
    v_round  integer[];
    r_i      integer[];
    r_k      text[];
    r_pid    bigint[];
    v_fast   integer[];
    v_bodies jsonb[];
    v_skip   integer[];
    d_i      integer[];
    d_pid    bigint[];
    apc      boolean;
    old_apc  text := current_setting('prefs.allow_prior_consents', true);
    old_eng  text := current_setting('prefs.engine', true);
    one      boolean := p_mode IN ('update', 'patch', 'deactivate',
                                   'activate', 'erase');
    body     boolean := p_mode NOT IN ('deactivate', 'activate', 'erase');
    mk       boolean := p_mode IN ('create', 'create_v3');
    -- (read once: the array a row would be parsed for every item)
    v_known  integer[] := nullif(current_setting('prefs.engine_plain', true),
                                 '')::integer[];
BEGIN
    -- the Data API's batch of one passes no options (NULL): their
    -- defaults, and no AllowPriorConsents check (every active version)
    o := CASE WHEN p_opts IS NULL THEN
             '{"RefreshAlternateIds": false, "RefreshContacts": false,
               "RefreshCustomFields": false, "RefreshGroups": false,
               "RefreshTags": false, "AllowPriorConsents": null,
               "SuppressEvents": false, "Delete": false,
               "MatchCriteria": null, "Source": null}'
         ELSE prefs_engine_opts(p_account_id, p_opts) END;
    IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON array of profiles');
    END IF;
    mc := o ->> 'MatchCriteria';
    apc := (o ->> 'AllowPriorConsents')::boolean;
    del := (o ->> 'Delete')::boolean OR p_mode = 'deactivate';
    quiet := (o ->> 'SuppressEvents')::boolean;
    refresh := (o ->> 'RefreshAlternateIds')::boolean
               OR (o ->> 'RefreshContacts')::boolean
               OR (o ->> 'RefreshCustomFields')::boolean
               OR (o ->> 'RefreshGroups')::boolean
               OR (o ->> 'RefreshTags')::boolean;

    -- the Data API's write to one profile (UpdateProfile, POST
    -- Profile/{id}/Preferences): the short path first, when the body is
    -- one it takes; the stages below only when it is not
    IF p_mode = 'update' AND p_opts IS NULL
       AND jsonb_array_length(p_items) = 1
       AND current_setting('prefs.engine_set_based', true)
           IS DISTINCT FROM 'off' THEN
        FOR r IN SELECT * FROM prefs_engine_update(p_account_id, p_user_id,
                     p_items, '{0}', ARRAY[p_profile_id], false) LOOP
            item := r.item; profile_id := r.profile_id::text;
            outcome := r.outcome; path := NULL; message := NULL;
            state := NULL;
            RETURN NEXT;
            RETURN;
        END LOOP;
    END IF;

    -- the per-profile functions (prefs_data_apply_ex) refuse to run
    -- outside the engine: a route that bypassed it would fail
    PERFORM set_config('prefs.engine', 'on', true);

    -- stage 1: shape, keys and rounds of the whole batch
    FOR r IN SELECT x.item,
                    CASE WHEN mk THEN NULL
                         WHEN one THEN p_profile_id::text
                         ELSE x.key END AS key,
                    x.round, x.path, x.message
               FROM prefs_engine_plan(p_items, mc) x LOOP
        IF r.message IS NOT NULL AND ((NOT mk AND NOT one)
                                      OR r.path = '') THEN
            item := r.item; profile_id := NULL; outcome := 'failed';
            path := r.path; message := r.message; state := 'PF001';
            RETURN NEXT;
        ELSE
            v_item := v_item || r.item;
            v_key := v_key || r.key;
            v_round := v_round || r.round;
        END IF;
    END LOOP;
    last := coalesce((SELECT max(x) FROM unnest(v_round) x), 0);
    -- the items as an array (p_items -> i would read the whole batch)
    v_bodies := ARRAY(SELECT e.v FROM jsonb_array_elements(p_items)
                                      WITH ORDINALITY e(v, n) ORDER BY e.n);

    PERFORM set_config('prefs.event_source', coalesce(o ->> 'Source', ''),
                       true);
    PERFORM set_config('prefs.suppress_events',
                       CASE WHEN quiet THEN 'on' ELSE '' END, true);
    PERFORM set_config('prefs.allow_prior_consents',
                       CASE WHEN apc THEN 'on' ELSE '' END, true);

    WHILE rnd < last LOOP
        rnd := rnd + 1;
        -- stage 2: the round's items matched in one statement
        SELECT array_agg(x.i ORDER BY x.i), array_agg(x.k ORDER BY x.i),
               array_agg(x.pid ORDER BY x.i)
          INTO r_i, r_k, r_pid
          FROM (SELECT u.i, u.k,
                   CASE WHEN u.k IS NULL THEN NULL
                        WHEN mc IS NULL THEN
                            (SELECT x.profile_id FROM prefs_profile x
                              WHERE x.account_id = p_account_id
                                AND u.k ~ '^[0-9]{1,18}$'
                                AND x.profile_id = u.k::bigint
                                AND x.erased_at IS NULL)
                        ELSE (SELECT a.profile_id
                                FROM prefs_profile_alternate_id a
                               WHERE a.account_id = p_account_id
                                 AND a.type = mc AND a.value = u.k
                                 AND a.is_active
                               LIMIT 1) END AS pid
              FROM unnest(v_item, v_key, v_round) AS u(i, k, rd)
                 WHERE u.rd = rnd) x;

        -- AllowPriorConsents (an import's; the Data API passes none):
        -- items not honored, for the others to skip
        v_skip := '{}';
        IF apc IS NOT NULL THEN
            FOR r IN SELECT * FROM prefs_engine_prior(p_account_id, p_items,
                         r_i, r_pid, apc) LOOP
                item := r.i;
                profile_id := (SELECT u.pid::text FROM unnest(r_i, r_pid)
                                                     u(i, pid)
                                WHERE u.i = r.i);
                outcome := 'nothonored'; path := r.path;
                message := r.message; state := 'NOTHONORED';
                RETURN NEXT;
                v_skip := v_skip || r.i;
            END LOOP;
        END IF;

        -- stage 3a: the plain new profiles of the round, set-based
        -- (prefs_engine_plain, prefs_engine_create)
        v_fast := v_skip;
        IF NOT del AND NOT one AND p_mode <> 'create_v3'
           AND current_setting('prefs.engine_set_based', true)
               IS DISTINCT FROM 'off' THEN
            v_fast := ARRAY(SELECT u.i FROM unnest(r_i, r_k, r_pid)
                                                u(i, k, pid)
                             WHERE u.pid IS NULL AND u.i <> ALL (v_skip)
                               AND (mc IS NOT NULL OR u.k IS NULL));
            -- the items the caller knows pass the checks (prefs.engine_plain:
            -- an import's records that passed them at stage time, under the
            -- configuration of now), else the checks
            IF v_known IS NOT NULL THEN
                v_fast := ARRAY(SELECT u.i FROM unnest(v_fast) u(i)
                                 WHERE u.i = ANY (v_known));
            ELSE
                v_fast := prefs_engine_plain(p_account_id, p_items, v_fast);
            END IF;
            IF p_dry THEN
                -- (state PLAIN: an import stores which records passed)
                FOR r IN SELECT u.i FROM unnest(v_fast) u(i) LOOP
                    item := r.i; profile_id := NULL; outcome := 'created';
                    path := NULL; message := NULL; state := 'PLAIN';
                    RETURN NEXT;
                END LOOP;
            ELSIF cardinality(v_fast) > 0 THEN
                BEGIN
                    FOR r IN SELECT * FROM prefs_engine_create(p_account_id,
                                 p_user_id, p_items, v_fast, quiet) c LOOP
                        item := r.item; profile_id := r.profile_id::text;
                        outcome := 'created'; path := NULL; message := NULL;
                        state := NULL;
                        RETURN NEXT;
                    END LOOP;
                EXCEPTION WHEN unique_violation THEN
                    -- an alternate id taken meanwhile by a concurrent
                    -- write: these items take the per-profile path, which
                    -- answers the conflict
                    v_fast := '{}';
                END;
            END IF;
            v_fast := v_fast || v_skip;
        END IF;

        -- stage 3b: existing profiles whose items change only their
        -- preferences, set-based (prefs_engine_update)
        IF NOT del AND NOT refresh AND NOT p_dry AND p_mode <> 'patch'
           AND body
           AND current_setting('prefs.engine_set_based', true)
               IS DISTINCT FROM 'off' THEN
            FOR r IN SELECT * FROM prefs_engine_update(p_account_id,
                         p_user_id, p_items,
                         ARRAY(SELECT u.i FROM unnest(r_i, r_pid) u(i, pid)
                                WHERE u.pid IS NOT NULL
                                  AND u.i <> ALL (v_fast) ORDER BY u.i),
                         ARRAY(SELECT u.pid FROM unnest(r_i, r_pid) u(i, pid)
                                WHERE u.pid IS NOT NULL
                                  AND u.i <> ALL (v_fast) ORDER BY u.i),
                         quiet) LOOP
                item := r.item; profile_id := r.profile_id::text;
                outcome := r.outcome; path := NULL; message := NULL;
                state := NULL;
                v_fast := v_fast || r.item;
                RETURN NEXT;
            END LOOP;
        END IF;

        -- stage 3d: ImportAction Delete of the round's matched profiles,
        -- set-based: locked in id order, deactivated in one UPDATE (a
        -- profile's first item gives its ReasonCode; one already inactive
        -- is left as it is, as prefs_engine_set_active leaves it), their
        -- profile.deactivated events in item order, the copies that are
        -- not current rendered at once.  A ReasonCode over 256 characters,
        -- or a profile gone meanwhile, is left to the per-item path, which
        -- words the error.  (validate: the same items pass, nothing done)
        IF del AND NOT one
           AND current_setting('prefs.engine_set_based', true)
               IS DISTINCT FROM 'off' THEN
            IF NOT p_dry THEN
                PERFORM 1 FROM prefs_profile p
                 WHERE p.account_id = p_account_id
                   AND p.profile_id = ANY (r_pid) AND p.erased_at IS NULL
                 ORDER BY p.profile_id
                   FOR UPDATE;
            END IF;
            SELECT array_agg(u.i ORDER BY u.i), array_agg(u.pid ORDER BY u.i)
              INTO d_i, d_pid
              FROM unnest(r_i, r_pid) u(i, pid)
             WHERE u.pid IS NOT NULL AND u.i <> ALL (v_fast)
               AND char_length(coalesce(v_bodies[u.i + 1] ->> 'ReasonCode',
                                        '')) <= 256
               AND EXISTS (SELECT 1 FROM prefs_profile p
                            WHERE p.account_id = p_account_id
                              AND p.profile_id = u.pid
                              AND p.erased_at IS NULL);
            IF d_i IS NOT NULL AND NOT p_dry THEN
                WITH f AS (
                    SELECT DISTINCT ON (u.pid) u.i, u.pid,
                           nullif(coalesce(v_bodies[u.i + 1] ->> 'ReasonCode',
                                           ''), '') AS reason
                      FROM unnest(d_i, d_pid) u(i, pid)
                     ORDER BY u.pid, u.i
                ), up AS (
                    UPDATE prefs_profile p
                       SET is_active = false, reason_code = f.reason,
                           updated_at = now(), edited_at = now(),
                           edited_by = p_user_id
                      FROM f
                     WHERE p.profile_id = f.pid AND p.is_active
                    RETURNING p.profile_id
                ), ins AS (
                    INSERT INTO prefs_event (account_id, event_type, entity,
                        subject, profile_id, data, previous_data, recorded_by)
                    SELECT p_account_id, 'profile.deactivated',
                           prefs_event_entity('profile.deactivated'),
                           'Profile/' || f.pid, f.pid,
                           jsonb_build_object('ProfileId', f.pid)
                           || jsonb_build_object('ReasonCode', f.reason),
                           NULL, p_user_id
                      FROM f JOIN up ON up.profile_id = f.pid
                     WHERE NOT quiet
                     ORDER BY f.i
                    RETURNING 1
                )
                SELECT count(*) INTO ev FROM ins;
                IF ev > 0 THEN
                    PERFORM prefs_event_wake(p_account_id);
                END IF;
                INSERT INTO prefs_profile_doc AS d (profile_id, src_xmin, doc)
                SELECT x.profile_id, x.src_xmin, x.doc
                  FROM prefs_data_profiles_json(p_account_id, ARRAY(
                           SELECT x.profile_id FROM prefs_profile x
                            WHERE x.profile_id = ANY (d_pid)
                              AND NOT EXISTS (
                                  SELECT 1 FROM prefs_profile_doc c
                                   WHERE c.profile_id = x.profile_id
                                     AND c.src_xmin = x.xmin))) x
                ON CONFLICT (profile_id) DO UPDATE
                   SET src_xmin = EXCLUDED.src_xmin, doc = EXCLUDED.doc;
            END IF;
            FOR r IN SELECT u.i, u.pid FROM unnest(d_i, d_pid) u(i, pid) LOOP
                item := r.i; profile_id := r.pid::text; outcome := 'deleted';
                path := NULL; message := NULL; state := NULL;
                RETURN NEXT;
            END LOOP;
            v_fast := v_fast || coalesce(d_i, '{}');
        END IF;

        -- stage 3c: every other item on its own
        FOR r IN
            SELECT u.i, u.k, u.pid
              FROM unnest(r_i, r_k, r_pid) AS u(i, k, pid)
             WHERE u.i <> ALL (v_fast)
             ORDER BY u.i
        LOOP
            b := v_bodies[r.i + 1];
            pid := r.pid;
            res := NULL;
            msg := NULL;
            IF pid IS NULL AND (del OR (mc IS NULL AND r.k IS NOT NULL)) THEN
                item := r.i; profile_id := NULL; outcome := 'failed';
                IF del THEN
                    path := CASE WHEN mc IS NULL THEN 'ProfileId'
                                 ELSE 'AlternateIds' END;
                    message := CASE
                        WHEN r.k IS NULL THEN
                            'No profile matches: the item has no ProfileId'
                        WHEN mc IS NULL THEN
                            format('No profile matches ProfileId %s', r.k)
                        ELSE format('No profile matches alternate id %s %s',
                                    prefs_cfg_quote(mc), prefs_cfg_quote(r.k))
                        END;
                ELSE
                    path := 'ProfileId';
                    message := format('there is no profile %s', r.k);
                END IF;
                state := CASE WHEN one THEN 'NOTFOUND' ELSE 'PF001' END;
                RETURN NEXT;
                CONTINUE;
            END IF;

            -- stage 3: the item merged, all or nothing
            BEGIN
                IF del THEN
                    SELECT d.outcome, d.message INTO res, msg
                      FROM prefs_engine_set_active(p_account_id, p_user_id,
                               pid, false, coalesce(b ->> 'ReasonCode', '')) d;
                    IF res <> 'deactivated' THEN
                        PERFORM prefs_cfg_fail('ReasonCode',
                            'must be at most 256 characters');
                    END IF;
                    -- the copy kept current (prefs_profile_get renders
                    -- it when the change made it stale)
                    PERFORM prefs_profile_get(p_account_id, pid, false);
                    res := 'deleted';
                ELSIF p_mode = 'activate' THEN
                    PERFORM prefs_engine_set_active(p_account_id, p_user_id,
                                                    pid, true, '');
                    PERFORM prefs_profile_get(p_account_id, pid, false);
                    res := 'updated';
                ELSIF p_mode = 'erase' THEN
                    PERFORM prefs_engine_erase(p_account_id, p_user_id, pid);
                    res := 'deleted';
                ELSIF pid IS NULL THEN
                    INSERT INTO prefs_profile AS p (account_id, edited_by)
                    VALUES (p_account_id, p_user_id)
                    RETURNING p.profile_id INTO pid;
                    IF p_mode = 'create_v3' THEN
                        UPDATE prefs_profile p
                           SET prefix = coalesce(b #>> '{CustomerName,Prefix}',
                                                 ''),
                               first_name = coalesce(
                                   b #>> '{CustomerName,FirstName}', ''),
                               middle_name = coalesce(
                                   b #>> '{CustomerName,MiddleName}', ''),
                               last_name = coalesce(
                                   b #>> '{CustomerName,LastName}', ''),
                               suffix = coalesce(b #>> '{CustomerName,Suffix}',
                                                 '')
                         WHERE p.profile_id = pid;
                        b := b - 'CustomerName';
                    END IF;
                    ev := prefs_event_add(p_account_id, p_user_id,
                                          'profile.created', pid, NULL);
                    PERFORM prefs_data_apply_ex(p_account_id, p_user_id, pid,
                                                b, p_mode <> 'create_v3');
                    IF ev IS NOT NULL THEN
                        UPDATE prefs_event x
                           SET data = prefs_profile_doc_fill(p_account_id,
                                                             pid)::jsonb
                         WHERE x.event_id = ev
                           AND x.account_id = p_account_id;
                    END IF;
                    res := 'created';
                ELSE
                    -- lock, then read (the profile may have been erased
                    -- while this waited)
                    PERFORM 1 FROM prefs_profile p
                     WHERE p.profile_id = pid AND p.erased_at IS NULL
                       FOR UPDATE;
                    IF NOT FOUND THEN
                        RAISE EXCEPTION USING ERRCODE = 'PF004',
                            MESSAGE = format('there is no profile %s', pid);
                    END IF;
                    IF refresh THEN
                        b := prefs_engine_refresh(p_account_id, pid, b, o);
                    END IF;
                    IF prefs_data_apply_ex(p_account_id, p_user_id, pid, b,
                                           false) THEN
                        IF NOT quiet THEN
                            PERFORM prefs_event_add(p_account_id, p_user_id,
                                CASE WHEN p_mode = 'patch'
                                     THEN 'profile.replaced'
                                     ELSE 'profile.updated' END, pid,
                                prefs_profile_doc_fill(p_account_id,
                                                       pid)::jsonb);
                        END IF;
                        res := 'updated';
                    ELSE
                        res := 'unchanged';
                    END IF;
                END IF;
                IF p_dry THEN
                    RAISE EXCEPTION USING ERRCODE = 'PF0DR';
                END IF;
            EXCEPTION
                WHEN SQLSTATE 'PF0DR' THEN
                    NULL;    -- validation: the item is valid, undone
                WHEN SQLSTATE 'PF001' OR SQLSTATE 'PF002' THEN
                    res := 'failed';
                    msg := SQLERRM;
                    state := SQLSTATE;
                WHEN SQLSTATE 'PF004' THEN
                    res := 'failed';
                    msg := SQLERRM;
                    state := CASE WHEN one THEN 'NOTFOUND' ELSE 'PF001' END;
                WHEN unique_violation THEN
                    res := 'failed';
                    msg := 'an alternate id of the profile belongs to '
                           'another profile';
                    state := SQLSTATE;
            END;
            item := r.i;
            outcome := res;
            IF res = 'failed' THEN
                profile_id := CASE WHEN r.pid IS NOT NULL
                                   THEN r.pid::text END;
                path := CASE WHEN msg LIKE 'there is no profile %'
                             THEN 'ProfileId' ELSE prefs_engine_path(msg) END;
                message := msg;
            ELSE
                profile_id := CASE WHEN NOT p_dry OR r.pid IS NOT NULL
                                   THEN pid::text END;
                path := NULL;
                message := NULL;
                state := NULL;
            END IF;
            RETURN NEXT;
        END LOOP;
    END LOOP;

    PERFORM set_config('prefs.event_source', coalesce(old_src, ''), true);
    PERFORM set_config('prefs.suppress_events', coalesce(old_sup, ''), true);
    PERFORM set_config('prefs.allow_prior_consents', coalesce(old_apc, ''),
                       true);
    PERFORM set_config('prefs.engine', coalesce(old_eng, ''), true);
END
$$;


-- Validation only: one row per refused item (its first error).
CREATE OR REPLACE FUNCTION prefs_engine_validate(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_opts jsonb)
RETURNS TABLE (item integer, path text, message text)
LANGUAGE sql AS $$
    SELECT r.item, r.path, r.message
      FROM prefs_engine_run(p_account_id, p_user_id, p_items, p_opts,
                            'validate') r
     WHERE r.outcome = 'failed'
     ORDER BY r.item
$$;


-- Validates and applies: one row per item, in item order.
CREATE OR REPLACE FUNCTION prefs_engine_apply(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_opts jsonb)
RETURNS TABLE (item integer, profile_id text, outcome text, path text,
               message text)
LANGUAGE sql AS $$
    SELECT r.item, r.profile_id, r.outcome, r.path, r.message
      FROM prefs_engine_run(p_account_id, p_user_id, p_items, p_opts,
                            'apply') r
     ORDER BY r.item
$$;
