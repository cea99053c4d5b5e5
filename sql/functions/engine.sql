-- The write engine (issue 11 §2): a batch of UserProfilePreference items
-- (each exactly as POST Profiles/v4/{clientId}/Profile takes it, with
-- "ProfileId" to address an existing profile) validated and applied in
-- the caller's transaction.  The interface is
-- /work/briefs/s4/engine-interface.md's and docs/architecture.md's "The
-- write engine": prefs_engine_validate and prefs_engine_apply.
--
-- The stages over the whole batch are one statement each: the options
-- and the items' shape and match keys (prefs_engine_plan), the match of
-- every item of a round against the profiles (by ProfileId or by the
-- MatchCriteria alternate id), the contents a Refresh* option removes.
-- The merge of one item into the tables is still the Data API's
-- per-profile function (prefs_data_apply_ex), run in a subtransaction
-- per item so that a refused item writes nothing while the others are
-- applied: this is the part the engine has yet to take over.
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


-- Both functions: p_dry (validation) rolls every item's subtransaction
-- back, so nothing is written and no lock is kept.
CREATE OR REPLACE FUNCTION prefs_engine_run(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_opts jsonb, p_dry boolean)
RETURNS TABLE (item integer, profile_id text, outcome text, path text,
               message text)
LANGUAGE plpgsql AS $$
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
    before   jsonb;
    res      text;
    msg      text;
    old_src  text := current_setting('prefs.event_source', true);
    old_sup  text := current_setting('prefs.suppress_events', true);
    v_item   integer[];
    v_key    text[];
    v_round  integer[];
BEGIN
    o := prefs_engine_opts(p_account_id, p_opts);
    IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
        PERFORM prefs_cfg_fail('', 'must be a JSON array of profiles');
    END IF;
    mc := o ->> 'MatchCriteria';
    del := (o ->> 'Delete')::boolean;
    quiet := (o ->> 'SuppressEvents')::boolean;
    refresh := (o ->> 'RefreshAlternateIds')::boolean
               OR (o ->> 'RefreshContacts')::boolean
               OR (o ->> 'RefreshCustomFields')::boolean
               OR (o ->> 'RefreshGroups')::boolean
               OR (o ->> 'RefreshTags')::boolean;

    -- stage 1: shape, keys and rounds of the whole batch
    FOR r IN SELECT * FROM prefs_engine_plan(p_items, mc) x LOOP
        IF r.message IS NOT NULL THEN
            item := r.item; profile_id := NULL; outcome := 'failed';
            path := r.path; message := r.message;
            RETURN NEXT;
        ELSE
            v_item := v_item || r.item;
            v_key := v_key || r.key;
            v_round := v_round || r.round;
        END IF;
    END LOOP;
    last := coalesce((SELECT max(x) FROM unnest(v_round) x), 0);

    PERFORM set_config('prefs.event_source', coalesce(o ->> 'Source', ''),
                       true);
    PERFORM set_config('prefs.suppress_events',
                       CASE WHEN quiet THEN 'on' ELSE '' END, true);

    WHILE rnd < last LOOP
        rnd := rnd + 1;
        -- stage 2: the round's items matched in one statement
        FOR r IN
            SELECT u.i, u.k,
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
             WHERE u.rd = rnd
             ORDER BY u.i
        LOOP
            b := p_items -> r.i;
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
                RETURN NEXT;
                CONTINUE;
            END IF;

            -- stage 3: the item merged, all or nothing
            BEGIN
                IF del THEN
                    SELECT d.outcome, d.message INTO res, msg
                      FROM prefs_profile_deactivate(p_account_id, p_user_id,
                               pid, coalesce(b ->> 'ReasonCode', '')) d;
                    IF res <> 'deactivated' THEN
                        PERFORM prefs_cfg_fail('ReasonCode',
                            'must be at most 256 characters');
                    END IF;
                    res := 'deleted';
                ELSIF pid IS NULL THEN
                    INSERT INTO prefs_profile AS p (account_id, edited_by)
                    VALUES (p_account_id, p_user_id)
                    RETURNING p.profile_id INTO pid;
                    ev := prefs_event_add(p_account_id, p_user_id,
                                          'profile.created', pid, NULL);
                    PERFORM prefs_data_apply_ex(p_account_id, p_user_id, pid,
                                                b, true);
                    IF ev IS NOT NULL THEN
                        UPDATE prefs_event x
                           SET data = prefs_profile_doc_fill(p_account_id,
                                                             pid)::jsonb
                         WHERE x.event_id = ev
                           AND x.account_id = p_account_id;
                    END IF;
                    res := 'created';
                ELSE
                    PERFORM 1 FROM prefs_profile p
                     WHERE p.profile_id = pid FOR UPDATE;
                    IF NOT quiet THEN
                        before := prefs_profile_get(p_account_id, pid,
                                                    false)::jsonb;
                    END IF;
                    IF refresh THEN
                        b := prefs_engine_refresh(p_account_id, pid, b, o);
                    END IF;
                    IF prefs_data_apply_ex(p_account_id, p_user_id, pid, b,
                                           false) THEN
                        IF NOT quiet THEN
                            PERFORM prefs_event_add(p_account_id, p_user_id,
                                'profile.updated', pid,
                                prefs_profile_doc_fill(p_account_id,
                                                       pid)::jsonb,
                                before);
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
                WHEN unique_violation THEN
                    res := 'failed';
                    msg := 'an alternate id of the profile belongs to '
                           'another profile';
            END;
            item := r.i;
            outcome := res;
            IF res = 'failed' THEN
                profile_id := CASE WHEN r.pid IS NOT NULL
                                   THEN r.pid::text END;
                path := prefs_engine_path(msg);
                message := msg;
            ELSE
                profile_id := CASE WHEN NOT p_dry OR r.pid IS NOT NULL
                                   THEN pid::text END;
                path := NULL;
                message := NULL;
            END IF;
            RETURN NEXT;
        END LOOP;
    END LOOP;

    PERFORM set_config('prefs.event_source', coalesce(old_src, ''), true);
    PERFORM set_config('prefs.suppress_events', coalesce(old_sup, ''), true);
END
$$;


-- Validation only: one row per refused item (its first error).
CREATE OR REPLACE FUNCTION prefs_engine_validate(p_account_id bigint,
    p_user_id bigint, p_items jsonb, p_opts jsonb)
RETURNS TABLE (item integer, path text, message text)
LANGUAGE sql AS $$
    SELECT r.item, r.path, r.message
      FROM prefs_engine_run(p_account_id, p_user_id, p_items, p_opts, true) r
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
      FROM prefs_engine_run(p_account_id, p_user_id, p_items, p_opts, false) r
     ORDER BY r.item
$$;
