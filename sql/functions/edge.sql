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
        IF FOUND THEN
            PERFORM prefs_edge_triggers();
        END IF;
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
-- accounts served at the edge, each changed profile is notified on
-- prefs_edge as "account:profile" (the helper relays them to the workers,
-- src/helper/ngx_prefs_config_relay.c; PostgreSQL sends a payload once a
-- transaction however often it is notified), and past 100 changes of one
-- account in one transaction (a bulk write) "account:*" once instead: the
-- account's whole cache goes.  A row trigger, fired only for those
-- accounts (prefs_edge_triggers).
CREATE OR REPLACE FUNCTION prefs_edge_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k  text := 'prefs.edge_changed_' || OLD.account_id;
    n  integer := coalesce(nullif(current_setting(k, true), ''), '0')::integer
                  + 1;
BEGIN
    PERFORM set_config(k, n::text, true);
    IF n <= 100 THEN
        PERFORM pg_notify('prefs_edge', OLD.account_id || ':'
                                        || OLD.profile_id);
    ELSIF n = 101 THEN
        PERFORM pg_notify('prefs_edge', OLD.account_id || ':*');
    END IF;
    RETURN NULL;
END
$$;


-- The triggers that call prefs_edge_changed, made anew whenever the set of
-- accounts served at the edge grows (prefs_edge_state) and on every
-- migrate (sql/after_migrate.sql): row triggers whose WHEN names those
-- accounts, so that a write of any other account queues no trigger event
-- and runs no function (no trigger at all while no account is served at
-- the edge).  Statement triggers with transition tables would copy every
-- changed row of every account.  Making them takes a SHARE ROW EXCLUSIVE
-- lock on prefs_profile, which waits for the writes under way and holds
-- new ones until the commit: once in an account's life.  The accounts are
-- read after the lock, so that two accounts made served at once are both
-- named.
CREATE OR REPLACE FUNCTION prefs_edge_triggers() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ids  text;
    t    record;
BEGIN
    LOCK TABLE prefs_profile IN SHARE ROW EXCLUSIVE MODE;
    SELECT string_agg(e.account_id::text, ', ' ORDER BY e.account_id)
      INTO ids FROM prefs_edge_account e;
    FOR t IN SELECT * FROM (VALUES ('prefs_edge_updated', 'UPDATE'),
                                   ('prefs_edge_deleted', 'DELETE')) v(name, op)
    LOOP
        IF EXISTS (SELECT 1 FROM pg_trigger g
                    WHERE g.tgrelid = 'prefs_profile'::regclass
                      AND g.tgname = t.name) THEN
            EXECUTE format('DROP TRIGGER %I ON prefs_profile', t.name);
        END IF;
        IF ids IS NOT NULL THEN
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON prefs_profile'
                           ' FOR EACH ROW WHEN (OLD.account_id IN (%s))'
                           ' EXECUTE FUNCTION prefs_edge_changed()',
                           t.name, t.op, ids);
        END IF;
    END LOOP;
END
$$;
