-- 025: bulk import (the Integration API, docs/bulk.md): an import job per
-- access token and its staged records.
--
-- An import is initiated, staged (records validated as they come: the
-- invalid ones are exceptions at once), executed by the helper in batches
-- (each batch one transaction that applies its records, stores their
-- outcomes and advances the counters), and purged after its
-- DataStageDuration.  The functions are in sql/functions/import.sql.

CREATE TABLE IF NOT EXISTS prefs_import (
    import_id        bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES prefs_account ON DELETE CASCADE,
    -- the AccessToken: an integer (reference section 6), unique per account
    access_token     bigint      NOT NULL CHECK (access_token > 0),
    -- the API user who initiated it: stage validation checks its permissions
    user_id          bigint,
    name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- the initiate body's options, as given (ImportAction, MatchCriteria, ...)
    options          jsonb       NOT NULL DEFAULT '{}',
    status           text        NOT NULL DEFAULT 'Initiated'
                     CHECK (status IN ('Initiated', 'Staging', 'Queued',
                                       'Processing', 'Completed', 'Failed')),
    data_stage_days  integer     NOT NULL DEFAULT 3 CHECK (data_stage_days BETWEEN 0 AND 10),
    received         bigint      NOT NULL DEFAULT 0,
    valid            bigint      NOT NULL DEFAULT 0,
    invalid          bigint      NOT NULL DEFAULT 0,
    processed        bigint      NOT NULL DEFAULT 0,
    exceptions       bigint      NOT NULL DEFAULT 0,   -- failed at execute
    requests         integer     NOT NULL DEFAULT 0,   -- Stage requests begun
    job_id           bigint,
    error            text,
    expires          timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    queued_at        timestamptz,
    started_at       timestamptz,
    completed_at     timestamptz,
    UNIQUE (account_id, access_token)
);

-- the rolling-24-hour quota and "one import of an account processing"
CREATE INDEX IF NOT EXISTS prefs_import_account
    ON prefs_import (account_id, created_at);
CREATE INDEX IF NOT EXISTS prefs_import_processing
    ON prefs_import (account_id) WHERE status IN ('Queued', 'Processing');
-- the purge
CREATE INDEX IF NOT EXISTS prefs_import_expires ON prefs_import (expires);


-- One staged record: its Stage request and position (0-based) in it, the
-- record (NULL once applied: only exceptions keep theirs), and its state:
--   valid    staged, waiting for Execute
--   invalid  refused at stage time (path, message)
--   applied  applied by Execute (outcome: created, updated, ...)
--   failed   refused at execute time (path, message)
CREATE TABLE IF NOT EXISTS prefs_import_record (
    import_id    bigint  NOT NULL REFERENCES prefs_import ON DELETE CASCADE,
    request_no   integer NOT NULL,
    position     integer NOT NULL,
    state        text    NOT NULL
                 CHECK (state IN ('valid', 'invalid', 'applied', 'failed')),
    record       jsonb,
    outcome      text,
    profile_id   text,
    path         text,
    message      text,
    PRIMARY KEY (import_id, request_no, position)
);

-- Execute takes the next batch of valid records in staging order
CREATE INDEX IF NOT EXISTS prefs_import_record_valid
    ON prefs_import_record (import_id, request_no, position)
    WHERE state = 'valid';
-- the Exceptions pages
CREATE INDEX IF NOT EXISTS prefs_import_record_exceptions
    ON prefs_import_record (import_id, request_no, position)
    WHERE state IN ('invalid', 'failed');


-- /Profiles/v4/Async/{clientId}/ is the Integration API: "Async" (in any
-- case) can never be a clientId.  NOT VALID: an existing account of that
-- name (made before this check) does not stop the migration.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conname = 'prefs_account_client_id_not_async') THEN
        ALTER TABLE prefs_account ADD CONSTRAINT prefs_account_client_id_not_async
            CHECK (lower(client_id) <> 'async') NOT VALID;
    END IF;
END $$;
