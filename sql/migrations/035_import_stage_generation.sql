-- 035: (1) what a staged record's checks found, for Execute to trust while
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

-- (2) the Exceptions pages by number: exception_no is a record's place
-- among its import's exceptions in the order they were found (the
-- refusals of Stage in staging order, then those of Execute in staging
-- order), dense from 1, so that a page (limit, 1-based offset) is the
-- range offset .. offset + limit - 1 of an index: page N costs what page 1
-- does.  The exceptions already there are numbered in staging order (their
-- counters match: the next number is invalid + exceptions + not_honored +
-- 1).  The index of the pages by staging order goes.
ALTER TABLE prefs_import_record
    ADD COLUMN IF NOT EXISTS exception_no bigint;

UPDATE prefs_import_record r
   SET exception_no = x.n
  FROM (SELECT y.import_id, y.request_no, y.position,
               row_number() OVER (PARTITION BY y.import_id
                                  ORDER BY y.request_no, y.position) AS n
          FROM prefs_import_record y
         WHERE y.state IN ('invalid', 'failed', 'nothonored')) x
 WHERE r.import_id = x.import_id AND r.request_no = x.request_no
   AND r.position = x.position AND r.exception_no IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS prefs_import_record_exception_no
    ON prefs_import_record (import_id, exception_no)
    WHERE exception_no IS NOT NULL;

DROP INDEX IF EXISTS prefs_import_record_exceptions;
