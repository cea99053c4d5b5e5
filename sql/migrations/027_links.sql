-- 027: per-profile signed links (the preference-center page, one-click
-- unsubscribe).  A link is a token the worker signs and verifies itself
-- (src/lib/prefs_link.c): nothing of a link is stored.  What is stored is
-- each account's signing keys, sealed like the HMAC secrets (AES-256-GCM
-- under prefs_secret_key), and its revocation generations: a link carries
-- the account's generation and its profile's as they were when it was
-- made, and is refused once either has moved.

CREATE TABLE IF NOT EXISTS prefs_link_key (
    account_id   bigint      NOT NULL
                 REFERENCES prefs_account (account_id) ON DELETE CASCADE,
    key_id       integer     NOT NULL CHECK (key_id > 0),
    sealed       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key_id)
);

-- profile_id 0: every link of the account
CREATE TABLE IF NOT EXISTS prefs_link_revocation (
    account_id   bigint      NOT NULL
                 REFERENCES prefs_account (account_id) ON DELETE CASCADE,
    profile_id   bigint      NOT NULL CHECK (profile_id >= 0),
    generation   integer     NOT NULL CHECK (generation > 0),
    revoked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, profile_id)
);
