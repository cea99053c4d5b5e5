-- Per-profile signed links (docs/preference-center.md).  The worker makes
-- and checks the tokens; the database keeps the accounts' sealed signing
-- keys and revocation generations (sql/migrations/027_links.sql).  Every
-- change notifies prefs_config with the account's id, so that every
-- worker's copy of the account's link state is stale at once
-- (src/http/ngx_prefs_link.c).


-- The keys of an account as "key_id:sealed" (newest first, at most two),
-- and its generations as "account;profile:generation,...".
CREATE OR REPLACE FUNCTION prefs_link_keys(p_account_id bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(k.key_id || ':' || k.sealed, ','
                               ORDER BY k.key_id DESC), '')
      FROM (SELECT key_id, sealed FROM prefs_link_key
             WHERE account_id = p_account_id
             ORDER BY key_id DESC LIMIT 2) k
$$;


-- POST Profile/{id}/Links: the key to sign with (p_sealed, made and
-- sealed by the worker, is kept when the account has none yet) and the
-- generations the link carries.  Outcomes: created, not_found.
CREATE OR REPLACE FUNCTION prefs_link_issue(p_account_id bigint,
    p_profile_id bigint, p_sealed text)
RETURNS TABLE (outcome text, message text, link_keys text, link_gens text)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM prefs_profile p
                    WHERE p.account_id = p_account_id
                      AND p.profile_id = p_profile_id
                      AND p.erased_at IS NULL) THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id), NULL::text,
            NULL::text;
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM prefs_link_key k
                    WHERE k.account_id = p_account_id) THEN
        -- the account's first key: after a rotation that may be making one
        -- (prefs_link_rotate takes the same lock)
        PERFORM 1 FROM prefs_account a WHERE a.account_id = p_account_id
            FOR NO KEY UPDATE;

        INSERT INTO prefs_link_key (account_id, key_id, sealed)
        SELECT p_account_id, 1, p_sealed
         WHERE NOT EXISTS (SELECT 1 FROM prefs_link_key k
                            WHERE k.account_id = p_account_id)
        ON CONFLICT DO NOTHING;

        IF FOUND THEN
            PERFORM pg_notify('prefs_config', p_account_id::text);
        END IF;
    END IF;

    RETURN QUERY
    SELECT 'created'::text, NULL::text,
           (SELECT k.key_id || ':' || k.sealed FROM prefs_link_key k
             WHERE k.account_id = p_account_id
             ORDER BY k.key_id DESC LIMIT 1),
           coalesce((SELECT r.generation FROM prefs_link_revocation r
                      WHERE r.account_id = p_account_id
                        AND r.profile_id = 0), 0)
           || ':' ||
           coalesce((SELECT r.generation FROM prefs_link_revocation r
                      WHERE r.account_id = p_account_id
                        AND r.profile_id = p_profile_id), 0);
END
$$;


-- What a worker keeps of an account to check its links without asking:
-- the account, its keys and its generations, then the origins its pages
-- may call from (CORS, beside prefs_link_cors_origin), space-separated:
-- "account;profile:generation,...;origin origin...".  No row: no active
-- account.
CREATE OR REPLACE FUNCTION prefs_link_state(p_client_id text)
RETURNS TABLE (account_id bigint, link_keys text, link_gens text)
LANGUAGE sql STABLE AS $$
    SELECT a.account_id, prefs_link_keys(a.account_id),
           coalesce((SELECT r.generation FROM prefs_link_revocation r
                      WHERE r.account_id = a.account_id
                        AND r.profile_id = 0), 0)
           || ';' ||
           coalesce((SELECT string_agg(r.profile_id || ':' || r.generation,
                                       ',' ORDER BY r.profile_id)
                       FROM prefs_link_revocation r
                      WHERE r.account_id = a.account_id
                        AND r.profile_id > 0), '')
           || ';' ||
           coalesce((SELECT string_agg(o.origin, ' ' ORDER BY o.origin)
                       FROM prefs_link_origin o
                      WHERE o.account_id = a.account_id), '')
      FROM prefs_account a
     WHERE a.client_id = p_client_id AND a.is_active
$$;


-- POST Links/Key (and prefsctl link rotate): a new signing key for the
-- account's links (p_sealed, made and sealed by the caller).  New links
-- are signed with it; links of the key before keep verifying until they
-- expire; older keys are deleted, and their links refused, by every worker
-- within a second.  Outcome: created, with {"KeyId", "PreviousKeyId"}.
CREATE OR REPLACE FUNCTION prefs_link_rotate(p_account_id bigint,
    p_sealed text)
RETURNS TABLE (outcome text, message text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    prev  integer;
BEGIN
    -- one rotation of an account at a time (a lock that lets rows that
    -- refer to the account be written meanwhile)
    PERFORM 1 FROM prefs_account a WHERE a.account_id = p_account_id
        FOR NO KEY UPDATE;

    SELECT max(k.key_id) INTO prev FROM prefs_link_key k
     WHERE k.account_id = p_account_id;

    INSERT INTO prefs_link_key (account_id, key_id, sealed)
    VALUES (p_account_id, coalesce(prev, 0) + 1, p_sealed);

    DELETE FROM prefs_link_key k
     WHERE k.account_id = p_account_id AND k.key_id < prev;

    PERFORM pg_notify('prefs_config', p_account_id::text);

    RETURN QUERY SELECT 'created'::text, NULL::text,
        json_build_object('KeyId', coalesce(prev, 0) + 1,
                          'PreviousKeyId', prev)::text;
END
$$;


-- The origins of an account's pages (CORS), as {"Origins": [...]}.
CREATE OR REPLACE FUNCTION prefs_link_origins_json(p_account_id bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('Origins',
               coalesce((SELECT json_agg(o.origin ORDER BY o.origin)
                           FROM prefs_link_origin o
                          WHERE o.account_id = p_account_id),
                        '[]'::json))::text
$$;


-- GET Links/Origins.  Outcome: ok.
CREATE OR REPLACE FUNCTION prefs_link_origins_get(p_account_id bigint)
RETURNS TABLE (outcome text, message text, body text)
LANGUAGE sql STABLE AS $$
    SELECT 'ok'::text, NULL::text, prefs_link_origins_json(p_account_id)
$$;


-- PUT Links/Origins (and prefsctl link origins): p_body {"Origins":
-- [origin, ...]} replaces the account's origins, lowercased; at most 32,
-- each a scheme (http, https), a host and an optional port, nothing more.
-- Every worker sees them within a second.  Outcomes: updated, invalid.
CREATE OR REPLACE FUNCTION prefs_link_origins_put(p_account_id bigint,
    p_body jsonb)
RETURNS TABLE (outcome text, message text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    o      jsonb;
    i      integer := 0;
    bad    text;
BEGIN
    IF jsonb_typeof(p_body) IS DISTINCT FROM 'object'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(p_body) k
                   WHERE k <> 'Origins')
       OR jsonb_typeof(p_body -> 'Origins') IS DISTINCT FROM 'array'
    THEN
        RETURN QUERY SELECT 'invalid'::text,
            'The body must be {"Origins": [origin, ...]}'::text, NULL::text;
        RETURN;
    END IF;

    IF jsonb_array_length(p_body -> 'Origins') > 32 THEN
        RETURN QUERY SELECT 'invalid'::text,
            'An account has at most 32 origins'::text, NULL::text;
        RETURN;
    END IF;

    FOR o IN SELECT * FROM jsonb_array_elements(p_body -> 'Origins') LOOP
        IF jsonb_typeof(o) IS DISTINCT FROM 'string'
           OR length(o #>> '{}') > 255
           OR lower(o #>> '{}') !~ ('^https?://([a-z0-9]([a-z0-9-]{0,61}'
                 || '[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*'
                 || '|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$')
        THEN
            bad := format('Origins[%s] is not an origin: a scheme (http or '
                          'https), a host and an optional port, as '
                          '"https://shop.example"', i);
            RETURN QUERY SELECT 'invalid'::text, bad, NULL::text;
            RETURN;
        END IF;
        i := i + 1;
    END LOOP;

    DELETE FROM prefs_link_origin x WHERE x.account_id = p_account_id;

    INSERT INTO prefs_link_origin (account_id, origin)
    SELECT DISTINCT p_account_id, lower(e)
      FROM jsonb_array_elements_text(p_body -> 'Origins') e;

    PERFORM pg_notify('prefs_config', p_account_id::text);

    RETURN QUERY SELECT 'updated'::text, NULL::text,
                        prefs_link_origins_json(p_account_id);
END
$$;


-- DELETE Profile/{id}/Links (p_profile_id) or DELETE Links (NULL): every
-- link made so far for the profile, or for the account, is refused from
-- now on, by every worker within a second.  Outcomes: deleted, not_found.
CREATE OR REPLACE FUNCTION prefs_link_revoke(p_account_id bigint,
    p_profile_id bigint)
RETURNS TABLE (outcome text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_profile_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM prefs_profile p
                        WHERE p.account_id = p_account_id
                          AND p.profile_id = p_profile_id)
    THEN
        RETURN QUERY SELECT 'not_found'::text,
            format('there is no profile %s', p_profile_id);
        RETURN;
    END IF;

    INSERT INTO prefs_link_revocation AS r (account_id, profile_id,
                                            generation)
    VALUES (p_account_id, coalesce(p_profile_id, 0), 1)
    ON CONFLICT (account_id, profile_id) DO UPDATE
       SET generation = r.generation + 1, revoked_at = now();

    PERFORM pg_notify('prefs_config', p_account_id::text);

    RETURN QUERY SELECT 'deleted'::text, NULL::text;
END
$$;


-- POST Profile/{id}/Unsubscribe/{filterId}/{token} (RFC 8058 one-click):
-- the profile opts out of the filter, as POST Profile/{id}/Preferences
-- with {"FilterId": ..., "PreferenceType": 2} would, with its events; an
-- opt-out already recorded is not recorded again.  Outcomes as
-- prefs_profile_update.
CREATE OR REPLACE FUNCTION prefs_link_unsubscribe(p_account_id bigint,
    p_user_id bigint, p_profile_id bigint, p_filter_id text)
RETURNS TABLE (outcome text, message text)
LANGUAGE sql AS $$
    SELECT * FROM prefs_profile_preferences(p_account_id, p_user_id,
        p_profile_id, jsonb_build_object('FilterId', p_filter_id,
                                         'PreferenceType', 2))
$$;
