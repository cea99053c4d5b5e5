-- API users, their groups, HMAC secrets and OAuth tokens (tables:
-- 002_auth).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- The permissions of a user, from its groups: those of its own account and
-- the built-in ones.
-- DELETE Users/{id} (prefs_user_delete) keeps the row; a deleted user
-- is found by id, never by name.
CREATE OR REPLACE FUNCTION prefs_user_is_deleted(p_user_id bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM prefs_user_deleted d
                    WHERE d.user_id = p_user_id)
$$;


CREATE OR REPLACE FUNCTION prefs_user_permissions(p_user_id bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(DISTINCT p, ',' ORDER BY p), '')
      FROM prefs_user_group_member m
      JOIN prefs_user_group g ON g.group_id = m.group_id
      JOIN prefs_user u ON u.user_id = m.user_id
     CROSS JOIN LATERAL unnest(g.permissions) AS p
     WHERE m.user_id = p_user_id
       AND (g.account_id IS NULL OR g.account_id = u.account_id)
$$;


-- Adds a sealed secret and retires all but the newest p_keep.
CREATE OR REPLACE FUNCTION prefs_user_secret_add(p_user_id bigint,
    p_sealed text, p_keep integer DEFAULT 2)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    INSERT INTO prefs_user_secret (user_id, sealed)
    VALUES (p_user_id, p_sealed)
    RETURNING secret_id INTO id;

    UPDATE prefs_user_secret
       SET retired_at = now()
     WHERE user_id = p_user_id AND retired_at IS NULL
       AND secret_id NOT IN (
           SELECT secret_id FROM prefs_user_secret
            WHERE user_id = p_user_id AND retired_at IS NULL
            ORDER BY secret_id DESC LIMIT p_keep);

    RETURN id;
END
$$;


-- Issues a bearer token for an OAuth client, RFC 6749 §4.4.  Returns the
-- outcome: 'ok' with the lifetime, or the §5.2 error code.  Only hashes of
-- the random client secret and token reach the database.
CREATE OR REPLACE FUNCTION prefs_oauth_issue(p_client_key text,
    p_secret_hash text, p_scope_client text, p_scope_user text,
    p_token_hash text, p_ttl_seconds integer)
RETURNS TABLE (outcome text, expires_in integer)
LANGUAGE plpgsql AS $$
DECLARE
    c  record;
BEGIN
    SELECT oc.oauth_client_id, oc.secret_hash, oc.is_active AS client_active,
           u.user_id, u.user_name, u.is_active AS user_active,
           a.account_id, a.client_id, a.is_active AS account_active
      INTO c
      FROM prefs_oauth_client oc
      JOIN prefs_user u ON u.user_id = oc.user_id
      JOIN prefs_account a ON a.account_id = u.account_id
     WHERE oc.client_key = p_client_key;

    IF NOT FOUND OR c.secret_hash <> p_secret_hash OR NOT c.client_active
       OR NOT c.user_active OR NOT c.account_active
    THEN
        RETURN QUERY SELECT 'invalid_client'::text, 0;
        RETURN;
    END IF;

    IF p_scope_client IS NOT NULL
       AND (p_scope_client <> c.client_id OR p_scope_user <> c.user_name)
    THEN
        RETURN QUERY SELECT 'invalid_scope'::text, 0;
        RETURN;
    END IF;

    DELETE FROM prefs_oauth_token
     WHERE user_id = c.user_id AND expires_at < now();

    INSERT INTO prefs_oauth_token (token_hash, user_id, account_id,
                                   oauth_client_id, expires_at)
    VALUES (p_token_hash, c.user_id, c.account_id, c.oauth_client_id,
            now() + make_interval(secs => p_ttl_seconds));

    RETURN QUERY SELECT 'ok'::text, p_ttl_seconds;
END
$$;


-- A user as the User Management API answers it.
CREATE OR REPLACE FUNCTION prefs_user_json(u prefs_user) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'UserId', u.user_id,
        -- a deleted user by the name it had (prefs_user_delete)
        'UserName', coalesce((SELECT d.user_name FROM prefs_user_deleted d
                               WHERE d.user_id = u.user_id), u.user_name),
        'FirstName', u.first_name,
        'LastName', u.last_name,
        'Email', u.email,
        'Phone', u.phone,
        'Description', u.description,
        'UserGroups', coalesce((
            SELECT json_agg(g.name ORDER BY g.name)
              FROM prefs_user_group_member m
              JOIN prefs_user_group g ON g.group_id = m.group_id
             WHERE m.user_id = u.user_id), '[]'::json),
        'SourceGroupID', u.source_group_id,
        'DefaultLandingPage', u.default_landing_page,
        'DefaultLandingPageTypeNbr',
            array_position(ARRAY['Dashboard', 'ProfileSearch', 'DataExport'],
                           u.default_landing_page),
        'IsSSO', u.is_sso,
        'IsActive', u.is_active,
        'CreatedDate', prefs_iso(u.created_at),
        'UpdatedDate', prefs_iso(u.updated_at))
$$;


-- Sets the groups of a user by name; returns the first unknown name.
CREATE OR REPLACE FUNCTION prefs_user_set_groups(p_user_id bigint,
    p_account_id bigint, p_groups jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT n INTO missing
      FROM jsonb_array_elements_text(p_groups) AS n
     WHERE NOT EXISTS (
           SELECT 1 FROM prefs_user_group g
            WHERE g.name = n
              AND (g.account_id IS NULL OR g.account_id = p_account_id))
     LIMIT 1;

    IF missing IS NOT NULL THEN
        RETURN missing;
    END IF;

    DELETE FROM prefs_user_group_member WHERE user_id = p_user_id;

    INSERT INTO prefs_user_group_member (user_id, group_id)
    SELECT DISTINCT p_user_id, g.group_id
      FROM jsonb_array_elements_text(p_groups) AS n
      JOIN prefs_user_group g ON g.name = n
       AND (g.account_id IS NULL OR g.account_id = p_account_id);

    RETURN NULL;
END
$$;


-- Writes the fields given in p (already validated, canonical names) to a
-- user row.  Fields absent from p are left as they are.
CREATE OR REPLACE FUNCTION prefs_user_apply(p_user_id bigint, p jsonb)
RETURNS void
LANGUAGE sql AS $$
    UPDATE prefs_user u SET
        user_name = coalesce(p->>'UserName', u.user_name),
        first_name = CASE WHEN p ? 'FirstName'
                     THEN coalesce(p->>'FirstName', '') ELSE u.first_name END,
        last_name = CASE WHEN p ? 'LastName'
                    THEN coalesce(p->>'LastName', '') ELSE u.last_name END,
        email = CASE WHEN p ? 'Email'
                THEN coalesce(p->>'Email', '') ELSE u.email END,
        phone = CASE WHEN p ? 'Phone'
                THEN coalesce(p->>'Phone', '') ELSE u.phone END,
        description = CASE WHEN p ? 'Description'
                      THEN coalesce(p->>'Description', '')
                      ELSE u.description END,
        source_group_id = CASE WHEN p ? 'SourceGroupID'
                          THEN (p->>'SourceGroupID')::bigint
                          ELSE u.source_group_id END,
        default_landing_page = coalesce(p->>'DefaultLandingPage',
            (ARRAY['Dashboard', 'ProfileSearch', 'DataExport'])
                [(p->>'DefaultLandingPageTypeNbr')::integer],
            u.default_landing_page),
        is_sso = coalesce((p->>'IsSSO')::boolean, u.is_sso),
        is_active = coalesce((p->>'IsActive')::boolean, u.is_active),
        updated_at = now()
     WHERE u.user_id = p_user_id
$$;


-- p with its UserName, if it has one, in NFC; a name with a format
-- character or white space is refused (SQLSTATE 22023: a 400 naming it).
-- Every user name enters through here (POST and PUT Users, prefsctl).
CREATE OR REPLACE FUNCTION prefs_user_name(p jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_name   text := prefs_name_nfc(p->>'UserName');
    problem  text := prefs_name_problem(v_name, false);
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'UserName ' || problem;
    END IF;
    RETURN CASE WHEN v_name IS NULL THEN p
                ELSE p || jsonb_build_object('UserName', v_name) END;
END
$$;


-- POST Users: creates the user, or reactivates an inactive one of the same
-- name; an active one of that name is a conflict.  (A deleted user no
-- longer has its name: prefs_user_delete.)  The workers may remember that
-- the name did not exist (src/http/ngx_prefs_auth.c): prefs_config tells
-- them it does now.
CREATE OR REPLACE FUNCTION prefs_user_create(p_account_id bigint, p jsonb)
RETURNS TABLE (outcome text, user_id bigint, submitted text)
LANGUAGE plpgsql AS $$
DECLARE
    u        prefs_user%ROWTYPE;
    missing  text;
BEGIN
    p := prefs_user_name(p);

    SELECT * INTO u FROM prefs_user x
     WHERE x.account_id = p_account_id AND x.user_name = p->>'UserName'
       FOR UPDATE;

    IF FOUND AND u.is_active THEN
        RETURN QUERY SELECT 'exists'::text, u.user_id, NULL::text;
        RETURN;
    END IF;

    IF NOT FOUND THEN
        INSERT INTO prefs_user (account_id, user_name)
        VALUES (p_account_id, p->>'UserName')
        RETURNING * INTO u;
    END IF;

    PERFORM prefs_user_apply(u.user_id,
                             p || jsonb_build_object('IsActive',
                                  coalesce((p->>'IsActive')::boolean, true)));

    IF p ? 'UserGroups' AND jsonb_typeof(p->'UserGroups') = 'array' THEN
        missing := prefs_user_set_groups(u.user_id, p_account_id,
                                         p->'UserGroups');
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0002',
                MESSAGE = 'unknown user group', DETAIL = missing;
        END IF;
    END IF;

    PERFORM pg_notify('prefs_config', p_account_id::text);

    RETURN QUERY SELECT 'created'::text, u.user_id, prefs_iso(now());
END
$$;


-- PUT Users/{id}: the fields given; 'not_found', 'exists' (the new
-- UserName is taken) or 'ok' with the user as JSON.
CREATE OR REPLACE FUNCTION prefs_user_update(p_account_id bigint,
    p_user_id bigint, p jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    u        prefs_user%ROWTYPE;
    missing  text;
BEGIN
    SELECT * INTO u FROM prefs_user x
     WHERE x.account_id = p_account_id AND x.user_id = p_user_id
       FOR UPDATE;

    -- a deleted user stays readable, never writable: its name may be
    -- another user's now
    IF NOT FOUND OR prefs_user_is_deleted(u.user_id) THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::text;
        RETURN;
    END IF;

    p := prefs_user_name(p);

    IF p ? 'UserName' AND p->>'UserName' <> u.user_name
       AND EXISTS (SELECT 1 FROM prefs_user x
                    WHERE x.account_id = p_account_id
                      AND x.user_name = p->>'UserName')
    THEN
        RETURN QUERY SELECT 'exists'::text, NULL::text;
        RETURN;
    END IF;

    PERFORM prefs_user_apply(u.user_id, p);

    IF p ? 'UserGroups' AND jsonb_typeof(p->'UserGroups') = 'array' THEN
        missing := prefs_user_set_groups(u.user_id, p_account_id,
                                         p->'UserGroups');
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0002',
                MESSAGE = 'unknown user group', DETAIL = missing;
        END IF;
    END IF;

    RETURN QUERY
        SELECT 'ok'::text, prefs_user_json(x)::text
          FROM prefs_user x WHERE x.user_id = u.user_id;
END
$$;


-- DELETE Users/{id}: the user is deleted at once with every credential it
-- had: its secrets are retired, its OAuth clients deactivated, its tokens
-- dropped, and the workers' credential caches are told (prefs_config, see
-- src/http/ngx_prefs_auth.c).  The row stays, inactive, so that GET
-- Users/{id} and the events still find it, renamed deleted.<id>.<name>
-- (at most 128 characters) so that its name is free for a new user; the
-- name it had is kept in prefs_user_deleted.  No row: no such user in the
-- account.
CREATE OR REPLACE FUNCTION prefs_user_delete(p_account_id bigint,
    p_user_id bigint)
RETURNS TABLE (user_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    u  prefs_user%ROWTYPE;
BEGIN
    SELECT * INTO u FROM prefs_user x
     WHERE x.account_id = p_account_id AND x.user_id = p_user_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF NOT prefs_user_is_deleted(u.user_id) THEN
        INSERT INTO prefs_user_deleted (user_id, user_name)
        VALUES (u.user_id, u.user_name);
        UPDATE prefs_user x
           SET is_active = false, updated_at = now(),
               user_name = 'deleted.' || u.user_id || '.'
                           || left(u.user_name, 100)
         WHERE x.user_id = u.user_id;
    END IF;

    UPDATE prefs_user_secret s SET retired_at = now()
     WHERE s.user_id = u.user_id AND s.retired_at IS NULL;
    UPDATE prefs_oauth_client c SET is_active = false
     WHERE c.user_id = u.user_id AND c.is_active;
    DELETE FROM prefs_oauth_token t WHERE t.user_id = u.user_id;

    PERFORM pg_notify('prefs_config', p_account_id::text);

    RETURN QUERY SELECT u.user_id;
END
$$;


-- prefsctl account set-auth-options: the account's PNAUTHINFO3 options
-- (022_auth_binding, docs/authentication.md); a NULL leaves one as it is.
-- The workers' credential caches are told (prefs_config), so a change
-- holds at once.  NULL when there is no such account.
CREATE OR REPLACE FUNCTION prefs_account_set_auth_options(p_client text,
    p_bind_request boolean, p_once boolean)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    a  prefs_account;
BEGIN
    UPDATE prefs_account
       SET auth_bind_request = coalesce(p_bind_request, auth_bind_request),
           auth_once = coalesce(p_once, auth_once)
     WHERE client_id = p_client
    RETURNING * INTO a;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    PERFORM pg_notify('prefs_config', a.account_id::text);

    RETURN json_build_object(
        'ClientId', a.client_id,
        'AuthBindRequest', a.auth_bind_request,
        'AuthOnce', a.auth_once);
END
$$;
