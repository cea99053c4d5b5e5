-- 032: prefs_export_rows answers a page's or a range's documents as rows
-- (the worker joins them) instead of one string aggregated in SQL; its
-- arguments changed (p_sep, p_end became p_lines), so the old signature is
-- a different function, which nothing calls any more: dropped where an
-- older database still has it.  A database made from the current files
-- never had it: the statement then does nothing.

DROP FUNCTION IF EXISTS prefs_export_rows(bigint, bigint, integer, bigint,
    boolean, text, text);
