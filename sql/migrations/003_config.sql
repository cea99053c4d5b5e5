-- 003: configuration, the Experience API: locales, program types, programs,
-- program groups, filters, consent types and the profile field definitions
-- (contact types, alternate id types, customer types, group types, custom
-- fields, tags).
--
-- One table of items, one JSON body each (the v4 spelling, PascalCase),
-- validated and normalized here by prefs_config_write -- the single place
-- that knows the shape of a configuration item; prefs_config_import runs the
-- same validation over a whole document.  Readers load the account's whole
-- configuration with prefs_config_document (one query) and keep it in
-- memory; every change bumps the account's generation and NOTIFYs
-- "prefs_config" with the account id, so that they know when to reload.
--
-- Nothing is ever deleted by the API: DELETE deactivates, and an import
-- deactivates what its document leaves out.  Readers skip inactive items.
--
-- Invalid input is reported with SQLSTATE PF001 and a message naming the
-- field, e.g. "FrequencyLocales[0].Frequencies[1].IsDefault must be true or
-- false"; prefs_config_write turns it into the outcome 'invalid'.
--
-- Schema and data only: the functions this version brought live in
-- sql/functions/ (see sql/README.md).

CREATE TABLE IF NOT EXISTS prefs_config_item (
    item_id     bigserial   PRIMARY KEY,
    account_id  bigint      NOT NULL REFERENCES prefs_account
                            ON DELETE CASCADE,
    kind        text        NOT NULL
                CHECK (kind IN ('Locale', 'ProgramType', 'Program',
                    'ProgramGroup', 'Filter', 'ConsentType', 'EmailType',
                    'PhoneType', 'AddressType', 'AlternateIdType',
                    'CustomerType', 'GroupType', 'CustomField', 'Tag')),
    key         text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 100),
    body        jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, kind, key)
);


-- The generation of an account's configuration: bumped by every change to
-- its items, in the same transaction.  A reader that loaded generation n
-- needs to reload only when it sees a larger one.  The row is also the lock
-- that serializes configuration writes of one account (prefs_cfg_lock).
CREATE TABLE IF NOT EXISTS prefs_config_version (
    account_id  bigint      PRIMARY KEY REFERENCES prefs_account
                            ON DELETE CASCADE,
    generation  bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
