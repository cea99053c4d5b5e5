-- Consent at the edge (docs/edge.md, src/http/ngx_prefs_edge.c): what a
-- worker keeps of a visitor's profile, and the notification that makes
-- every worker drop it when the profile changes.


-- A visitor of a prefs_edge location, by the profile its token names
-- (the token is checked by the worker against link_keys and link_gens,
-- the account's link state as prefs_link_state answers it).  state:
--   locale "\n" type:status,... "\n" filter:0|1,...
-- names lowercased, only those nginx variables can name ([a-z0-9_]); a
-- consent type's latest record (NotSet, 4, once expired); a filter 1 when
-- the profile has an opt-in for it that is neither archived nor expired.
-- No state: no such profile (or erased).  No row: no active account.
-- The account is marked as served at the edge from its first visitor on.
CREATE OR REPLACE FUNCTION prefs_edge_state(p_client_id text,
    p_profile_id bigint)
RETURNS TABLE (account_id bigint, link_keys text, link_gens text,
               state text)
LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    SELECT a.account_id INTO acct FROM prefs_account a
     WHERE a.client_id = p_client_id AND a.is_active;
    IF acct IS NULL THEN
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM prefs_edge_account e
                    WHERE e.account_id = acct) THEN
        INSERT INTO prefs_edge_account (account_id) VALUES (acct)
        ON CONFLICT DO NOTHING;
    END IF;

    RETURN QUERY
    SELECT s.account_id, s.link_keys, s.link_gens,
           (SELECT coalesce(p.default_locale, '') || E'\n' ||
                   coalesce((SELECT string_agg(c.name || ':' || c.status, ','
                                               ORDER BY c.name)
                               FROM (SELECT DISTINCT ON (lower(x.type_name))
                                            lower(x.type_name) AS name,
                                            CASE WHEN x.expiration_date <= now()
                                                 THEN 4 ELSE x.status END
                                            AS status
                                       FROM prefs_consent x
                                      WHERE x.account_id = acct
                                        AND x.profile_id = p.profile_id
                                        AND x.type_name ~ '^[A-Za-z0-9_]{1,64}$'
                                      ORDER BY lower(x.type_name),
                                               x.consent_id DESC) c), '')
                   || E'\n' ||
                   coalesce((SELECT string_agg(f.name || ':' || f.optin, ','
                                               ORDER BY f.name)
                               FROM (SELECT lower(x.filter_id) AS name,
                                            max(CASE WHEN x.preference_type = 1
                                                      AND NOT x.is_archived
                                                      AND (x.expiration_date
                                                           IS NULL
                                                           OR x.expiration_date
                                                              > now())
                                                     THEN 1 ELSE 0 END)
                                            AS optin
                                       FROM prefs_preference x
                                      WHERE x.account_id = acct
                                        AND x.profile_id = p.profile_id
                                        AND x.filter_id ~ '^[A-Za-z0-9_]{1,64}$'
                                      GROUP BY lower(x.filter_id)) f), '')
              FROM prefs_profile p
             WHERE p.account_id = acct AND p.profile_id = p_profile_id
               AND p.erased_at IS NULL)
      FROM prefs_link_state(p_client_id) s;
END
$$;


-- Every change of a profile updates its prefs_profile row (015): for the
-- accounts served at the edge, the changed profiles are notified on
-- prefs_edge as "account:profile,profile,..." (the helper relays them to
-- the workers, src/helper/ngx_prefs_config_relay.c), or "account:*" past
-- 100 profiles in one statement (a bulk write: the account's whole cache
-- goes).  One notification per account and statement.
CREATE OR REPLACE FUNCTION prefs_edge_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n record;
BEGIN
    -- no account served at the edge: nothing to look at
    IF NOT EXISTS (SELECT 1 FROM prefs_edge_account) THEN
        RETURN NULL;
    END IF;
    FOR n IN
        SELECT c.account_id,
               CASE WHEN count(DISTINCT c.profile_id) > 100 THEN '*'
                    ELSE string_agg(DISTINCT c.profile_id::text, ',') END
               AS profiles
          FROM prefs_edge_changed c
          JOIN prefs_edge_account e ON e.account_id = c.account_id
         GROUP BY c.account_id
    LOOP
        PERFORM pg_notify('prefs_edge', n.account_id || ':' || n.profiles);
    END LOOP;
    RETURN NULL;
END
$$;


CREATE OR REPLACE TRIGGER prefs_edge_updated
    AFTER UPDATE ON prefs_profile
    REFERENCING OLD TABLE AS prefs_edge_changed
    FOR EACH STATEMENT EXECUTE FUNCTION prefs_edge_changed();

CREATE OR REPLACE TRIGGER prefs_edge_deleted
    AFTER DELETE ON prefs_profile
    REFERENCING OLD TABLE AS prefs_edge_changed
    FOR EACH STATEMENT EXECUTE FUNCTION prefs_edge_changed();
