-- 033: the origins an account's own pages may call the API from with its
-- per-profile links (CORS), beside the prefs_link_cors_origin directive of
-- a location: the module allows the union.  An origin is a scheme, a host
-- and an optional port, lowercased, as a browser sends it in Origin.

CREATE TABLE IF NOT EXISTS prefs_link_origin (
    account_id   bigint      NOT NULL
                 REFERENCES prefs_account (account_id) ON DELETE CASCADE,
    origin       text        NOT NULL
                 CHECK (origin ~ '^https?://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$'
                        AND length(origin) <= 255),
    PRIMARY KEY (account_id, origin)
);
