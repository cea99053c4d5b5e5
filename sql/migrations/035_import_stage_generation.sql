-- 035: what a staged record's checks found, for Execute to trust while
-- the configuration they ran against is unchanged.  config_generation is
-- the account's configuration generation (prefs_config_version) when the
-- record was staged; plain says that the engine's set-based checks
-- (prefs_engine_plain, sql/functions/engine.sql) took the record as a new
-- profile then.  Execute skips those checks for a batch whose records were
-- all staged under the current generation, and runs them again otherwise
-- (sql/functions/import.sql, prefs_import_run).  Records staged before
-- this migration have no generation: they are checked again, as before.
-- rechecked counts the records of an import whose batch was checked again
-- (docs/bulk.md).

ALTER TABLE prefs_import_record
    ADD COLUMN IF NOT EXISTS config_generation bigint,
    ADD COLUMN IF NOT EXISTS plain boolean NOT NULL DEFAULT false;

ALTER TABLE prefs_import
    ADD COLUMN IF NOT EXISTS rechecked bigint NOT NULL DEFAULT 0;
