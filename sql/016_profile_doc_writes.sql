-- 016: writes keep the rendered copy of the profile (015) current.
--
-- prefs_profile_create and prefs_profile_update render the whole profile
-- anyway, for the Data of profile.created and profile.updated: they now
-- keep that rendering as the profile's copy, so that the first read after
-- a change is a copy read rather than a rendering; and UpdateProfile takes
-- its PreviousData ("before") from the copy when it is current instead of
-- rendering it.  The two functions are 009's with those lines changed.

-- The copy of a profile when it is current (the row's xmin is the one it
-- was rendered from), else NULL.
CREATE OR REPLACE FUNCTION prefs_profile_doc_current(p_profile_id bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT d.doc
      FROM prefs_profile x
      JOIN prefs_profile_doc d
        ON d.profile_id = x.profile_id AND d.src_xmin = x.xmin
     WHERE x.profile_id = p_profile_id
$$;

-- Inside a write, after its last change to the profile: renders it, keeps
-- the rendering as its copy with the row's xmin as this transaction left
-- it (a subtransaction's id when the change was made in one: what readers
-- will see), and returns it for the event.  The writer holds the row, so
-- no reader can store another copy meanwhile; if the transaction rolls
-- back, so does the copy.
CREATE OR REPLACE FUNCTION prefs_profile_doc_keep(p_profile_id bigint)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_xmin  xid;
    v_doc   text;
BEGIN
    SELECT x.xmin, prefs_data_profile_json(x, false)::text
      INTO v_xmin, v_doc
      FROM prefs_profile x
     WHERE x.profile_id = p_profile_id;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    INSERT INTO prefs_profile_doc AS d (profile_id, src_xmin, doc)
    VALUES (p_profile_id, v_xmin, v_doc)
    ON CONFLICT (profile_id) DO UPDATE
       SET src_xmin = EXCLUDED.src_xmin, doc = EXCLUDED.doc;

    RETURN v_doc::jsonb;
END
$$;

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
        UPDATE prefs_event x
           SET data = prefs_profile_doc_keep(pid)
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
    before := coalesce(prefs_profile_doc_current(p_profile_id)::jsonb,
        (SELECT prefs_data_profile_json(p, false)::jsonb
           FROM prefs_profile p WHERE p.profile_id = p_profile_id));
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
                prefs_profile_doc_keep(p_profile_id), before);
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
