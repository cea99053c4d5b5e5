-- 002: users, groups and permissions, HMAC secrets, OAuth clients and
-- tokens.
--
-- HMAC secrets are stored sealed (AES-256-GCM, with a key only nginx and
-- prefsctl hold); OAuth client secrets and bearer tokens only as SHA-256
-- hashes of random values.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

ALTER TABLE prefs_account
    ADD COLUMN IF NOT EXISTS auth_window_seconds integer NOT NULL DEFAULT 900;

DO $$
BEGIN
    ALTER TABLE prefs_account ADD CONSTRAINT prefs_account_auth_window
        CHECK (auth_window_seconds BETWEEN 60 AND 86400);
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;


CREATE TABLE IF NOT EXISTS prefs_user_group (
    group_id     bigserial   PRIMARY KEY,
    -- NULL: a built-in group, offered to every account
    account_id   bigint      REFERENCES prefs_account ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text        NOT NULL DEFAULT '',
    permissions  text[]      NOT NULL
                 CHECK (permissions <@ ARRAY['ConfigurationRead',
                     'ConfigurationWrite', 'ProfileRead', 'ProfileWrite',
                     'EventDataView', 'WebhookManage', 'BulkImport',
                     'BulkExport', 'UserManage']),
    UNIQUE NULLS NOT DISTINCT (account_id, name)
);

INSERT INTO prefs_user_group (account_id, name, description, permissions)
VALUES
    (NULL, 'Administrators', 'Every permission',
     ARRAY['ConfigurationRead', 'ConfigurationWrite', 'ProfileRead',
           'ProfileWrite', 'EventDataView', 'WebhookManage', 'BulkImport',
           'BulkExport', 'UserManage']),
    (NULL, 'ReadOnly', 'Reads configuration, profiles and events',
     ARRAY['ConfigurationRead', 'ProfileRead', 'EventDataView']),
    (NULL, 'Integration', 'What a system integration needs: no user or '
     'configuration management',
     ARRAY['ConfigurationRead', 'ProfileRead', 'ProfileWrite',
           'EventDataView', 'WebhookManage', 'BulkImport', 'BulkExport']),
    (NULL, 'ConfigurationManagers', 'Reads and writes configuration',
     ARRAY['ConfigurationRead', 'ConfigurationWrite'])
ON CONFLICT (account_id, name) DO NOTHING;


CREATE TABLE IF NOT EXISTS prefs_user (
    user_id        bigserial   PRIMARY KEY,
    account_id     bigint      NOT NULL REFERENCES prefs_account
                               ON DELETE CASCADE,
    -- what PNAUTHINFO3 can carry: no "/", white space, "," or controls
    user_name      text        NOT NULL
                   CHECK (user_name ~ '^[^/[:space:],[:cntrl:]]{1,128}$'),
    first_name     text        NOT NULL DEFAULT ''
                   CHECK (length(first_name) <= 100),
    last_name      text        NOT NULL DEFAULT ''
                   CHECK (length(last_name) <= 100),
    email          text        NOT NULL DEFAULT ''
                   CHECK (length(email) <= 254),
    phone          text        NOT NULL DEFAULT ''
                   CHECK (length(phone) <= 40),
    description    text        NOT NULL DEFAULT ''
                   CHECK (length(description) <= 1000),
    source_group_id bigint,
    default_landing_page text  NOT NULL DEFAULT 'Dashboard'
                   CHECK (default_landing_page IN ('Dashboard',
                          'ProfileSearch', 'DataExport')),
    is_sso         boolean     NOT NULL DEFAULT false,
    is_active      boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, user_name)
);


CREATE TABLE IF NOT EXISTS prefs_user_group_member (
    user_id   bigint NOT NULL REFERENCES prefs_user ON DELETE CASCADE,
    group_id  bigint NOT NULL REFERENCES prefs_user_group ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);


-- A user holds at most two live secrets: the new one and, while clients
-- move over, the one before it.
CREATE TABLE IF NOT EXISTS prefs_user_secret (
    secret_id    bigserial   PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES prefs_user ON DELETE CASCADE,
    sealed       text        NOT NULL CHECK (sealed ~ '^[A-Za-z0-9+/=]+$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);

CREATE INDEX IF NOT EXISTS prefs_user_secret_live
    ON prefs_user_secret (user_id) WHERE retired_at IS NULL;


CREATE TABLE IF NOT EXISTS prefs_oauth_client (
    oauth_client_id  bigserial   PRIMARY KEY,
    client_key       text        NOT NULL UNIQUE
                     CHECK (client_key ~ '^[A-Za-z0-9_-]{16,128}$'),
    secret_hash      text        NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    user_id          bigint      NOT NULL REFERENCES prefs_user
                                 ON DELETE CASCADE,
    is_active        boolean     NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);


CREATE TABLE IF NOT EXISTS prefs_oauth_token (
    token_hash       text        PRIMARY KEY
                     CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id          bigint      NOT NULL REFERENCES prefs_user
                                 ON DELETE CASCADE,
    account_id       bigint      NOT NULL REFERENCES prefs_account
                                 ON DELETE CASCADE,
    oauth_client_id  bigint      REFERENCES prefs_oauth_client
                                 ON DELETE CASCADE,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS prefs_oauth_token_expiry
    ON prefs_oauth_token (expires_at);
