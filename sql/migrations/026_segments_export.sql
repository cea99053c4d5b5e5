-- 026: segments, segment groups and bulk exports (issue 13).
--
-- A segment is a list of criteria rows (all must hold) over a profile and
-- its parts; a segment group combines segments with And, Or or Except.
-- Both are checked against the account's configuration when written and
-- compiled to one parameterized query when used (sql/functions/segments.sql).
--
-- An export is a snapshot: the job "prefs.export" copies the matching
-- profiles' rendered documents into prefs_export_row in one statement (one
-- transaction's view), numbered from 1 so that a page is a range scan of
-- the primary key.  The rows go when the export ends (last page without
-- keepAlive, Commit, or expiry).
--
-- Schema and data only: the functions live in sql/functions/segments.sql
-- and sql/functions/export.sql.

CREATE TABLE IF NOT EXISTS prefs_segment (
    segment_id   bigserial   PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES prefs_account
                             ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description  text        NOT NULL DEFAULT '',
    criteria     jsonb       NOT NULL CHECK (jsonb_typeof(criteria) = 'array'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS prefs_segment_group (
    group_id     bigserial   PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES prefs_account
                             ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description  text        NOT NULL DEFAULT '',
    operator     text        NOT NULL CHECK (operator IN ('And', 'Or', 'Except')),
    segments     text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS prefs_export (
    access_token  bigint      PRIMARY KEY,
    account_id    bigint      NOT NULL REFERENCES prefs_account
                              ON DELETE CASCADE,
    source_kind   text        NOT NULL CHECK (source_kind IN ('Segment',
                                                              'SegmentGroup')),
    source_name   text        NOT NULL,
    -- the compiled selection as it was when the export was asked for:
    -- {"sql": predicate, "values": [...], "since": ..., "match": ...}
    selection     jsonb       NOT NULL,
    callback_url  text,
    -- the callback has been queued (prefs_export_callback): a rerun of the
    -- job does not queue it twice
    callback_queued boolean   NOT NULL DEFAULT false,
    status        text        NOT NULL DEFAULT 'Processing'
                  CHECK (status IN ('Processing', 'Complete', 'Error',
                                    'Expired')),
    row_count     bigint      NOT NULL DEFAULT 0,
    byte_count    bigint      NOT NULL DEFAULT 0,
    error         text,
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS prefs_export_account
    ON prefs_export (account_id, created_at);
CREATE INDEX IF NOT EXISTS prefs_export_expiry
    ON prefs_export (expires_at) WHERE status <> 'Expired';

CREATE TABLE IF NOT EXISTS prefs_export_row (
    access_token  bigint  NOT NULL REFERENCES prefs_export ON DELETE CASCADE,
    seq           bigint  NOT NULL,
    profile_id    bigint  NOT NULL,
    doc           text    NOT NULL,
    PRIMARY KEY (access_token, seq)
);
ALTER TABLE prefs_export_row ALTER COLUMN doc SET STORAGE MAIN;
ALTER TABLE prefs_export_row ALTER COLUMN doc SET COMPRESSION lz4;

-- The secret an account's export callbacks are signed with (Standard
-- Webhooks, as deliveries are): "whsec_..." sealed with prefs_secret_key by
-- prefsctl export-secret, which prints it once.
CREATE TABLE IF NOT EXISTS prefs_export_secret (
    account_id     bigint      PRIMARY KEY REFERENCES prefs_account
                               ON DELETE CASCADE,
    secret_sealed  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- incremental exports (LastDateTime): the profiles changed since a time
CREATE INDEX IF NOT EXISTS prefs_profile_account_edited
    ON prefs_profile (account_id, edited_at);
-- segments over tags and consents by type
CREATE INDEX IF NOT EXISTS prefs_profile_tag_find
    ON prefs_profile_tag (account_id, tag);
CREATE INDEX IF NOT EXISTS prefs_consent_account_type
    ON prefs_consent (account_id, type_name);
