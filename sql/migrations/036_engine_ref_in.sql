-- 036: prefs_engine_ref_ok (a query per reference checked) is replaced by
-- prefs_engine_ref_in, which prefs_engine_plain calls with each kind's
-- keys read once for the batch (sql/functions/engine.sql).
DROP FUNCTION IF EXISTS prefs_engine_ref_ok(bigint, text, jsonb);
