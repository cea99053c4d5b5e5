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
