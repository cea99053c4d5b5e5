-- 010: Idempotency-Key on creates, the profile routes by alternate id
-- (preferences, consent history), and the v3 (MyPreferences 2.0)
-- Preferences routes over the v4 data.
--
-- Idempotency.  A create sent with an Idempotency-Key runs inside
-- prefs_idempotent(), which records the key and the create's answer in
-- the same transaction as the create itself:
--
--   INSERT the key (account, user, key)   a concurrent request with the
--     ON CONFLICT DO NOTHING              same key waits here on the
--                                         unique index until the first
--                                         commits, then finds its answer
--   run the operation (its SQL text is registered in
--     prefs_idempotent_operation)
--   keep its answer when its outcome is one of the operation's "kept"
--     outcomes (a create that happened); otherwise drop the key, so that
--     a refused request (400, 409) leaves nothing and may be corrected and
--     sent again with the same key
--
-- A key seen before answers the stored answer ('replayed'), or 'mismatch'
-- when the request's fingerprint (method, route, SHA-256 of the body)
-- differs.  Keys are kept 24 hours: each call deletes up to 16 expired
-- keys (of any account, oldest first), and an expired key found in place is
-- taken over as if it were new.
--
-- A route opts in with (1) a row of prefs_idempotent_operation, (2) a
-- statement that calls prefs_idempotent and answers the columns of the
-- route's plain statement plus "idempotency", (3) ngx_prefs_idem_apply()
-- and ngx_prefs_idem_check() in its C handler (src/ngx_prefs_idem.h).
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

CREATE TABLE IF NOT EXISTS prefs_idempotency (
    account_id   bigint      NOT NULL REFERENCES prefs_account
                             ON DELETE CASCADE,
    user_id      bigint      NOT NULL,
    idem_key     text        NOT NULL,
    fingerprint  text        NOT NULL,
    operation    text        NOT NULL,
    answer       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, idem_key)
);
CREATE INDEX IF NOT EXISTS prefs_idempotency_age
    ON prefs_idempotency (created_at);

-- call: SQL run with $1 the account (bigint), $2 the user (bigint), $3 the
-- operation's arguments (a jsonb array); it returns one row of one jsonb
-- column, the operation's answer, whose "outcome" decides whether the key
-- is kept.
CREATE TABLE IF NOT EXISTS prefs_idempotent_operation (
    operation  text    PRIMARY KEY,
    call       text    NOT NULL,
    kept       text[]  NOT NULL
);

INSERT INTO prefs_idempotent_operation (operation, call, kept) VALUES
    ('profile.create',
     'SELECT to_jsonb(x) FROM prefs_profile_create($1, ($3 ->> 0)::bigint, '
     '$3 -> 1) x', '{created}'),
    ('user.create',
     'SELECT to_jsonb(x) FROM prefs_user_create($1, $3 -> 0) x', '{created}')
ON CONFLICT (operation) DO UPDATE
    SET call = EXCLUDED.call, kept = EXCLUDED.kept;
