-- DELETE Users/{id} deletes a user: its row stays, inactive and renamed
-- "deleted.<user_id>.<name>" (events and GET Users/{id} still find it),
-- so that its name is free for a new user with a new UserId and new
-- credentials.  A row here says the user is deleted, under which name.
CREATE TABLE IF NOT EXISTS prefs_user_deleted (
    user_id     bigint      PRIMARY KEY REFERENCES prefs_user
                            ON DELETE CASCADE,
    user_name   text        NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
