-- 031: an import's NotHonored counter (the reference's BulkImportStatus).
-- A record is not honored when the engine declines it as a whole without
-- refusing it: a consent of a prior version while the import does not
-- AllowPriorConsents (sql/functions/engine.sql, prefs_engine_prior).  Such
-- a record writes nothing; it keeps its message, and the Exceptions pages
-- list it beside the refused ones.

ALTER TABLE prefs_import
    ADD COLUMN IF NOT EXISTS not_honored bigint NOT NULL DEFAULT 0;

ALTER TABLE prefs_import_record
    DROP CONSTRAINT IF EXISTS prefs_import_record_state_check;
ALTER TABLE prefs_import_record
    ADD CONSTRAINT prefs_import_record_state_check
    CHECK (state IN ('valid', 'invalid', 'applied', 'failed', 'nothonored'));

DROP INDEX IF EXISTS prefs_import_record_exceptions;
CREATE INDEX IF NOT EXISTS prefs_import_record_exceptions
    ON prefs_import_record (import_id, request_no, position)
    WHERE state IN ('invalid', 'failed', 'nothonored');
