-- 015: GET Profile/{id} from a rendered copy of the profile.
--
-- Rendering a profile (its contact points, preferences, consents, custom
-- fields, groups and tags) takes a dozen index scans and JSON building;
-- profiles are read far more often than they change.  prefs_profile_doc
-- keeps the rendered document (without consent history) with the xmin of
-- the prefs_profile row it was rendered from.
--
-- Why that is enough: every write that changes any part of a profile also
-- updates its prefs_profile row (the Edited fields), in the same
-- transaction, so the row's xmin names the last change.  A copy whose
-- src_xmin is not the row's current xmin is stale and is never served.  A
-- reader that rendered from an older snapshot stores the old xmin, so it
-- cannot plant a stale copy either; and it stores nothing at all unless
-- the row still has that xmin, checked under FOR SHARE, so a copy never
-- outlives an erasure (an update of the row deletes its copy, below).
--
-- The table is UNLOGGED: a cache, emptied by a crash, rebuilt on reads.

CREATE UNLOGGED TABLE IF NOT EXISTS prefs_profile_doc (
    profile_id  bigint PRIMARY KEY,
    src_xmin    xid    NOT NULL,
    doc         text   NOT NULL
);

-- documents of a few KB: kept in the row, compressed with lz4 (cheap to
-- open) rather than moved out to TOAST
ALTER TABLE prefs_profile_doc ALTER COLUMN doc SET STORAGE MAIN;
ALTER TABLE prefs_profile_doc ALTER COLUMN doc SET COMPRESSION lz4;

-- an updated or deleted profile loses its copy at once (personal data
-- must not linger after an erasure; and the space comes back)
CREATE OR REPLACE FUNCTION prefs_profile_doc_drop() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM prefs_profile_doc d WHERE d.profile_id = OLD.profile_id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS prefs_profile_doc_drop ON prefs_profile;
CREATE TRIGGER prefs_profile_doc_drop
    AFTER UPDATE OR DELETE ON prefs_profile
    FOR EACH ROW EXECUTE FUNCTION prefs_profile_doc_drop();


-- Renders the profile and keeps the copy; NULL when there is no such
-- profile in the account.  Reads call it when the copy is not current;
-- writes (prefs_profile_create, prefs_profile_update in sql/009) call it
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
