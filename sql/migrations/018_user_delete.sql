-- DELETE Users/{id} deletes a user: its row stays (events and GET
-- Users/{id} still name it, inactive), a row here says it is deleted, and
-- its name is free for a new user with a new UserId and new credentials.
-- A user name is therefore unique among the active users; the functions
-- keep it unique among those not deleted (a deactivated user's name comes
-- back with it).
CREATE TABLE IF NOT EXISTS prefs_user_deleted (
    user_id     bigint      PRIMARY KEY REFERENCES prefs_user
                            ON DELETE CASCADE,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE prefs_user DROP CONSTRAINT IF EXISTS prefs_user_account_id_user_name_key;

CREATE UNIQUE INDEX IF NOT EXISTS prefs_user_name_active
    ON prefs_user (account_id, user_name) WHERE is_active;

CREATE INDEX IF NOT EXISTS prefs_user_name
    ON prefs_user (account_id, user_name);
