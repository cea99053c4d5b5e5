-- 024: events record where a change came from (the write engine's
-- "Source" option: "api", "import:<accessToken>", ...).  The default reads
-- the transaction's setting prefs.event_source, which prefs_engine_run
-- sets for its batch and resets after it; empty or unset: NULL.  A
-- default that is not volatile is evaluated once for the rows already
-- there (NULL), so adding the column rewrites nothing.
ALTER TABLE prefs_event ADD COLUMN IF NOT EXISTS source text
    DEFAULT nullif(current_setting('prefs.event_source', true), '');
