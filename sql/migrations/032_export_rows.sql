-- 032: prefs_export_rows answers a page's or a range's documents as rows
-- (the worker joins them) instead of one string aggregated in SQL; its
-- arguments changed (p_sep, p_end became p_lines), so the old signature is
-- a different function, which nothing calls any more: dropped where an
-- older database still has it.  A database made from the current files
-- never had it: the statement then does nothing.

DROP FUNCTION IF EXISTS prefs_export_rows(bigint, bigint, integer, bigint,
    boolean, text, text);

-- The snapshot in steps (prefs_export_run): each call of the helper's job
-- copies the next chunk of members, after snap_after (the last profile id
-- copied); a final check compares the members with what was copied (the
-- profile's xmin, src_xmin) and takes again from the first that differs
-- (snap_rounds counts those checks); snap_steps counts the calls.
ALTER TABLE prefs_export
    ADD COLUMN IF NOT EXISTS snap_after  bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS snap_steps  integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS snap_rounds integer NOT NULL DEFAULT 0;
ALTER TABLE prefs_export_row ADD COLUMN IF NOT EXISTS src_xmin bigint;
