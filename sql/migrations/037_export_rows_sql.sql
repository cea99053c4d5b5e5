-- 037: the statements of a page and of the NDJSON download call
-- prefs_export_rows (now one SQL statement) themselves; the PL/pgSQL
-- wrappers prefs_export_page and prefs_export_lines, which copied its rows
-- into a result of their own, are called by nothing any more: dropped
-- where a database still has them.
DROP FUNCTION IF EXISTS prefs_export_page(bigint, bigint, integer, bigint,
    boolean);
DROP FUNCTION IF EXISTS prefs_export_lines(bigint, bigint, integer, bigint,
    boolean);
