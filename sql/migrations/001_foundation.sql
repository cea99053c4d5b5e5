-- 001: accounts and the background job queue.
--
-- Every migration is idempotent: `prefsctl migrate` runs each file once and
-- records it in prefs_schema_version, and a file applied twice by hand still
-- changes nothing.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

CREATE TABLE IF NOT EXISTS prefs_account (
    account_id   bigserial   PRIMARY KEY,
    client_id    text        NOT NULL UNIQUE
                 CHECK (client_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name         text        NOT NULL DEFAULT ''
                 CHECK (length(name) <= 200),
    is_active    boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);


-- Background work lives here, not in nginx memory.  The helper process claims
-- rows with FOR UPDATE SKIP LOCKED and an expiring lease: a killed helper, a
-- reload (old and new helpers overlap) or a second nginx node never loses a
-- job, and only the holder of the current lease token may complete it.

CREATE SEQUENCE IF NOT EXISTS prefs_job_lease_seq;

CREATE TABLE IF NOT EXISTS prefs_job (
    job_id        bigserial   PRIMARY KEY,
    account_id    bigint      REFERENCES prefs_account ON DELETE CASCADE,
    job_type      text        NOT NULL CHECK (job_type ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload       jsonb       NOT NULL DEFAULT '{}',
    state         text        NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at        timestamptz NOT NULL DEFAULT now(),
    attempts      integer     NOT NULL DEFAULT 0,
    max_attempts  integer     NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    lease_owner   text,
    lease_token   bigint,
    lease_until   timestamptz,
    result        jsonb,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);

CREATE INDEX IF NOT EXISTS prefs_job_ready
    ON prefs_job (run_at, job_id) WHERE state IN ('queued', 'running');

CREATE INDEX IF NOT EXISTS prefs_job_account ON prefs_job (account_id);


-- One row per completion attempt, accepted or refused as stale: what lets a
-- test (or an operator) see that a job ran to completion exactly once even
-- when an earlier holder of its lease came back late.

CREATE TABLE IF NOT EXISTS prefs_job_run (
    job_id       bigint      NOT NULL REFERENCES prefs_job ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    lease_owner  text        NOT NULL,
    lease_token  bigint      NOT NULL,
    accepted     boolean     NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS prefs_job_run_job ON prefs_job_run (job_id);
