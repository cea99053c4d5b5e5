-- Export callbacks (issue 13) are signed with the account's webhook
-- subscriptions' secrets and retried on the webhook retry schedule by the
-- export's own job (sql/functions/export.sql, prefs_export_callback): the
-- separate per-account export secret (026, prefsctl export-secret) goes,
-- and an export records its callback's attempts and last result.

DROP FUNCTION IF EXISTS prefs_ctl_export_secret(text, text);
DROP TABLE IF EXISTS prefs_export_secret;

-- the run's answer changes (the sealed secrets, a JSON array) and the
-- callback is no longer queued as a prefs.http_post job
DROP FUNCTION IF EXISTS prefs_export_run(bigint);
DROP FUNCTION IF EXISTS prefs_export_callback(bigint, jsonb);

-- callback_done: delivered, or given up (refused, or the schedule spent);
-- until then every run of the export's job tries it again
ALTER TABLE prefs_export RENAME COLUMN callback_queued TO callback_done;
ALTER TABLE prefs_export
    ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN callback_result   text;

-- v3 export schedules (reference section 7.1, /API/3/async/{clientId}/
-- export/Schedule/...): what a schedule exports, as the account's
-- configuration (the admin routes ExportSchedules, BulkExport).  A
-- schedule outputs the v3 Preference rows (with Operation) of the profiles
-- of its segment (NULL: every profile) changed between the startDate and
-- endDate of an export, with the fields it names only.
CREATE TABLE IF NOT EXISTS prefs_export_schedule (
    schedule_id  bigserial   PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES prefs_account
                             ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description  text        NOT NULL DEFAULT '',
    segment      text,
    fields       text[]      NOT NULL CHECK (cardinality(fields) > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- an export of a schedule
ALTER TABLE prefs_export DROP CONSTRAINT IF EXISTS prefs_export_source_kind_check;
ALTER TABLE prefs_export ADD CONSTRAINT prefs_export_source_kind_check
    CHECK (source_kind IN ('Segment', 'SegmentGroup', 'Schedule'));

-- the query string's arguments join the start (startDate, endDate)
DROP FUNCTION IF EXISTS prefs_export_start(bigint, bigint, text, text, jsonb,
                                           text);
