-- tools/prefsctl: what each command does in the database, one function a
-- command.  prefsctl checks its arguments, calls one of these with the
-- values as psql variables, and prints the JSON it returns (NULL: not
-- found, worded by prefsctl).  Errors meant for the user are raised as
-- "prefsctl:<code>" (SQLSTATE P0001) with an optional DETAIL, and worded
-- by prefsctl; anything raised rolls the whole command back.
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


CREATE OR REPLACE FUNCTION prefs_ctl_fail(p_code text, p_detail text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'prefsctl:' || p_code;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'prefsctl:' || p_code,
        DETAIL = p_detail;
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_account(p_client text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    SELECT account_id INTO id FROM prefs_account WHERE client_id = p_client;
    IF NOT FOUND THEN
        PERFORM prefs_ctl_fail('no-account');
    END IF;
    RETURN id;
END
$$;


-- The user, locked for the rest of the transaction.
CREATE OR REPLACE FUNCTION prefs_ctl_user(p_client text, p_user text)
RETURNS prefs_user LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
    u    prefs_user;
BEGIN
    acct := prefs_ctl_account(p_client);
    SELECT * INTO u FROM prefs_user
     WHERE account_id = acct AND user_name = p_user
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM prefs_ctl_fail('no-user');
    END IF;
    RETURN u;
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_groups(p_user_id bigint)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(g.name ORDER BY g.name), '[]'::json)
      FROM prefs_user_group_member m
      JOIN prefs_user_group g ON g.group_id = m.group_id
     WHERE m.user_id = p_user_id
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_live(p_user_id bigint)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM prefs_user_secret
     WHERE user_id = p_user_id AND retired_at IS NULL
$$;


-- account create: NULL when the ClientId is taken.  Without a window the
-- account gets the column's default and the answer has no
-- AuthWindowSeconds (as before the column existed).
CREATE OR REPLACE FUNCTION prefs_ctl_account_create(p_client text,
    p_name text, p_window integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    a prefs_account;
BEGIN
    IF p_window IS NULL THEN
        INSERT INTO prefs_account (client_id, name) VALUES (p_client, p_name)
        ON CONFLICT (client_id) DO NOTHING
        RETURNING * INTO a;
    ELSE
        INSERT INTO prefs_account (client_id, name, auth_window_seconds)
        VALUES (p_client, p_name, p_window)
        ON CONFLICT (client_id) DO NOTHING
        RETURNING * INTO a;
    END IF;
    IF a.account_id IS NULL THEN
        RETURN NULL;
    ELSIF p_window IS NULL THEN
        RETURN json_build_object(
            'AccountId', a.account_id,
            'ClientId',  a.client_id,
            'Name',      a.name,
            'CreatedAt', prefs_iso(a.created_at));
    END IF;
    RETURN json_build_object(
        'AccountId', a.account_id,
        'ClientId',  a.client_id,
        'Name',      a.name,
        'CreatedAt', prefs_iso(a.created_at),
        'AuthWindowSeconds', a.auth_window_seconds);
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_account_list() RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object(
        'AccountId', account_id,
        'ClientId',  client_id,
        'Name',      name,
        'IsActive',  is_active,
        'AuthWindowSeconds', to_jsonb(a) -> 'auth_window_seconds',
        'CreatedAt', prefs_iso(created_at))
        ORDER BY account_id), '[]'::json)
    FROM prefs_account a
$$;


-- account set-auth-window: NULL when there is no such account
CREATE OR REPLACE FUNCTION prefs_ctl_account_set_auth_window(p_client text,
    p_window integer)
RETURNS json LANGUAGE sql AS $$
    UPDATE prefs_account
       SET auth_window_seconds = p_window
     WHERE client_id = p_client
    RETURNING json_build_object(
        'ClientId', client_id,
        'AuthWindowSeconds', auth_window_seconds)
$$;


-- user create: what POST Users does (create, or reactivate an inactive
-- user), with the groups checked first (the DETAIL of unknown-group is the
-- position of the first unknown one) and the new sealed secret.
CREATE OR REPLACE FUNCTION prefs_ctl_user_create(p_client text, p_user text,
    p_fields jsonb, p_groups jsonb, p_sealed text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    acct        bigint;
    u           prefs_user;
    reactivate  boolean;
    bad         bigint;
    r           record;
BEGIN
    acct := prefs_ctl_account(p_client);
    p_user := prefs_user_name(jsonb_build_object('UserName', p_user))
              ->>'UserName';

    SELECT * INTO u FROM prefs_user
     WHERE account_id = acct AND user_name = p_user
       FOR UPDATE;
    reactivate := FOUND;
    IF reactivate AND u.is_active THEN
        PERFORM prefs_ctl_fail('user-exists');
    END IF;

    SELECT g.i INTO bad
      FROM jsonb_array_elements_text(p_groups) WITH ORDINALITY AS g(name, i)
     WHERE NOT EXISTS (
           SELECT 1 FROM prefs_user_group x
            WHERE x.name = g.name
              AND (x.account_id IS NULL OR x.account_id = acct))
     ORDER BY g.i LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM prefs_ctl_fail('unknown-group', bad::text);
    END IF;

    SELECT * INTO r FROM prefs_user_create(acct,
        p_fields || jsonb_build_object('UserName', p_user,
                                       'UserGroups', p_groups,
                                       'IsActive', true));
    IF r.outcome <> 'created' THEN
        PERFORM prefs_ctl_fail('user-exists');
    END IF;

    -- A reactivated user starts over with this one secret only.
    PERFORM prefs_user_secret_add(r.user_id, p_sealed,
                                  CASE WHEN reactivate THEN 1 ELSE 2 END);

    RETURN (SELECT json_build_object(
                'UserId',   x.user_id,
                'ClientId', p_client,
                'UserName', x.user_name,
                'Groups',   prefs_ctl_groups(x.user_id),
                'Secret',   NULL)
              FROM prefs_user x WHERE x.user_id = r.user_id);
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_user_list(p_client text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    acct := prefs_ctl_account(p_client);
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'UserId',      u.user_id,
                'UserName',    u.user_name,
                'FirstName',   u.first_name,
                'LastName',    u.last_name,
                'Email',       u.email,
                'Groups',      prefs_ctl_groups(u.user_id),
                'IsActive',    u.is_active,
                'LiveSecrets', prefs_ctl_live(u.user_id),
                'CreatedAt',   prefs_iso(u.created_at))
              ORDER BY u.user_id), '[]'::json)
              FROM prefs_user u WHERE u.account_id = acct);
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_user_set_active(p_client text,
    p_user text, p_active boolean)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    u prefs_user;
BEGIN
    u := prefs_ctl_user(p_client, p_user);
    UPDATE prefs_user SET is_active = p_active, updated_at = now()
     WHERE user_id = u.user_id AND is_active <> p_active;
    RETURN json_build_object(
        'UserId',   u.user_id,
        'ClientId', p_client,
        'UserName', u.user_name,
        'IsActive', p_active,
        'Changed',  u.is_active <> p_active);
END
$$;


-- user rotate-secret: the new secret and the one before it stay live
CREATE OR REPLACE FUNCTION prefs_ctl_user_rotate(p_client text, p_user text,
    p_sealed text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    u   prefs_user;
    id  bigint;
BEGIN
    u := prefs_ctl_user(p_client, p_user);
    id := prefs_user_secret_add(u.user_id, p_sealed, 2);
    RETURN json_build_object(
        'ClientId',    p_client,
        'UserName',    u.user_name,
        'SecretId',    id,
        'Secret',      NULL,
        'LiveSecrets', prefs_ctl_live(u.user_id));
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_user_retire(p_client text, p_user text,
    p_keep integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    u  prefs_user;
    n  bigint;
BEGIN
    u := prefs_ctl_user(p_client, p_user);
    UPDATE prefs_user_secret
       SET retired_at = now()
     WHERE user_id = u.user_id AND retired_at IS NULL
       AND secret_id NOT IN (
           SELECT secret_id FROM prefs_user_secret
            WHERE user_id = u.user_id AND retired_at IS NULL
            ORDER BY secret_id DESC LIMIT p_keep);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN json_build_object(
        'Retired',     n,
        'LiveSecrets', prefs_ctl_live(u.user_id));
END
$$;


-- oauth-client create: p_hash is the SHA-256 of the client secret, which
-- never reaches the database
CREATE OR REPLACE FUNCTION prefs_ctl_oauth_create(p_client text, p_user text,
    p_key text, p_hash text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    u prefs_user;
BEGIN
    u := prefs_ctl_user(p_client, p_user);
    IF NOT u.is_active THEN
        PERFORM prefs_ctl_fail('user-inactive');
    END IF;
    INSERT INTO prefs_oauth_client (client_key, secret_hash, user_id)
    VALUES (p_key, p_hash, u.user_id);
    RETURN json_build_object(
        'client_id',     p_key,
        'client_secret', NULL,
        'scope',         p_client || '/' || u.user_name);
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_oauth_list(p_client text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    acct := prefs_ctl_account(p_client);
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'client_id',    c.client_key,
                'scope',        p_client || '/' || u.user_name,
                'UserName',     u.user_name,
                'IsActive',     c.is_active,
                'UserIsActive', u.is_active,
                'LiveTokens',   (SELECT count(*) FROM prefs_oauth_token t
                                  WHERE t.oauth_client_id = c.oauth_client_id
                                    AND t.expires_at > now()),
                'CreatedAt',    prefs_iso(c.created_at))
              ORDER BY c.oauth_client_id), '[]'::json)
              FROM prefs_oauth_client c
              JOIN prefs_user u ON u.user_id = c.user_id
             WHERE u.account_id = acct);
END
$$;


-- oauth-client revoke: deactivated, its bearer tokens deleted
CREATE OR REPLACE FUNCTION prefs_ctl_oauth_revoke(p_key text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c  prefs_oauth_client;
    n  bigint;
BEGIN
    SELECT * INTO c FROM prefs_oauth_client WHERE client_key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM prefs_ctl_fail('no-oauth-client');
    END IF;
    UPDATE prefs_oauth_client SET is_active = false
     WHERE oauth_client_id = c.oauth_client_id;
    DELETE FROM prefs_oauth_token WHERE oauth_client_id = c.oauth_client_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN json_build_object(
        'client_id',     c.client_key,
        'IsActive',      false,
        'TokensRevoked', n);
END
$$;


-- link revoke: every link of the account (p_profile NULL) or of one of
-- its profiles made so far is refused from now on (prefs_link_revoke)
CREATE OR REPLACE FUNCTION prefs_ctl_link_revoke(p_client text,
    p_profile bigint)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    a  bigint;
    r  record;
BEGIN
    a := prefs_ctl_account(p_client);
    SELECT * INTO r FROM prefs_link_revoke(a, p_profile);
    IF r.outcome <> 'deleted' THEN
        PERFORM prefs_ctl_fail('no-profile');
    END IF;
    RETURN json_build_object(
        'ClientId',  p_client,
        'ProfileId', p_profile,
        'Revoked',   CASE WHEN p_profile IS NULL THEN 'Account'
                          ELSE 'Profile' END);
END
$$;


-- link rotate: a new signing key for the account's links (p_sealed, made
-- by prefs-secret link-key); prefs_link_rotate
CREATE OR REPLACE FUNCTION prefs_ctl_link_rotate(p_client text,
    p_sealed text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    r  record;
BEGIN
    SELECT * INTO r FROM prefs_link_rotate(prefs_ctl_account(p_client),
                                           p_sealed);
    RETURN json_build_object('ClientId', p_client)::jsonb
           || r.body::jsonb;
END
$$;


-- link origins: the account's origins (CORS), replaced by p_origins (a
-- JSON array) unless NULL; prefs_link_origins_put
CREATE OR REPLACE FUNCTION prefs_ctl_link_origins(p_client text,
    p_origins jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    a  bigint;
    r  record;
BEGIN
    a := prefs_ctl_account(p_client);
    IF p_origins IS NULL THEN
        RETURN json_build_object('ClientId', p_client)::jsonb
               || prefs_link_origins_json(a)::jsonb;
    END IF;
    SELECT * INTO r FROM prefs_link_origins_put(a,
        jsonb_build_object('Origins', p_origins));
    IF r.outcome <> 'updated' THEN
        PERFORM prefs_ctl_fail('bad-origin', r.message);
    END IF;
    RETURN json_build_object('ClientId', p_client)::jsonb || r.body::jsonb;
END
$$;


-- link create, first half: what prefs-secret link signs, as one line
-- "key_id:sealed account profile user account_gen profile_gen": the
-- account's newest key (p_sealed, made by prefs-secret link-key, is kept
-- when it has none), the link's user (p_user, else the account's first
-- active user) and the generations (prefs_link_issue)
CREATE OR REPLACE FUNCTION prefs_ctl_link_claims(p_client text,
    p_profile bigint, p_user text, p_sealed text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a    bigint;
    u    bigint;
    r    record;
BEGIN
    a := prefs_ctl_account(p_client);
    IF p_user IS NULL THEN
        SELECT min(x.user_id) INTO u FROM prefs_user x
         WHERE x.account_id = a AND x.is_active;
        IF u IS NULL THEN
            PERFORM prefs_ctl_fail('no-active-user');
        END IF;
    ELSE
        u := (prefs_ctl_user(p_client, p_user)).user_id;
        IF NOT EXISTS (SELECT 1 FROM prefs_user x
                        WHERE x.user_id = u AND x.is_active) THEN
            PERFORM prefs_ctl_fail('user-inactive');
        END IF;
    END IF;
    SELECT * INTO r FROM prefs_link_issue(a, p_profile, p_sealed);
    IF r.outcome <> 'created' THEN
        PERFORM prefs_ctl_fail('no-profile');
    END IF;
    RETURN r.link_keys || ' ' || a || ' ' || p_profile || ' ' || u || ' '
           || replace(r.link_gens, ':', ' ');
END
$$;


-- link create, second half: the answer of POST Profile/{id}/Links for the
-- token prefs-secret link signed; the page's URL when p_page is given
-- (prefs_link_page), the one-click URLs when p_api is (the API location's
-- URL, as https://api.example/Profiles/v4)
CREATE OR REPLACE FUNCTION prefs_ctl_link_answer(p_client text,
    p_profile bigint, p_token text, p_expires bigint, p_scopes text[],
    p_page text, p_api text)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'ClientId',  p_client,
        'ProfileId', p_profile,
        'Token',     p_token,
        'ExpiresAt', to_char(to_timestamp(p_expires) AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'Scopes',    to_json(p_scopes),
        'Url',       CASE WHEN p_page IS NOT NULL THEN
                         p_page || CASE WHEN strpos(p_page, '?') > 0
                                        THEN '&' ELSE '?' END
                         || 'c=' || p_client || '&p=' || p_profile
                         || '#t=' || p_token END,
        'UnsubscribeUrls', coalesce((
            SELECT json_agg(json_build_object(
                       'FilterId', substr(s, 13),
                       'Url', CASE WHEN p_api IS NOT NULL THEN
                                  rtrim(p_api, '/') || '/' || p_client
                                  || '/Profile/' || p_profile
                                  || '/Unsubscribe/' || substr(s, 13)
                                  || '/' || p_token END)
                       ORDER BY n)
              FROM unnest(p_scopes) WITH ORDINALITY AS x(s, n)
             WHERE s LIKE 'unsubscribe:%'), '[]'::json))
$$;


-- job enqueue: NULL when p_client ('' for none) names no account; without
-- p_max_attempts the column's default
CREATE OR REPLACE FUNCTION prefs_ctl_job_enqueue(p_type text, p_payload jsonb,
    p_client text, p_max_attempts integer)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    acct  bigint;
    id    bigint;
BEGIN
    IF p_client <> '' THEN
        SELECT account_id INTO acct FROM prefs_account WHERE client_id = p_client;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    IF p_max_attempts IS NULL THEN
        INSERT INTO prefs_job (account_id, job_type, payload)
        VALUES (acct, p_type, p_payload)
        RETURNING job_id INTO id;
    ELSE
        INSERT INTO prefs_job (account_id, job_type, payload, max_attempts)
        VALUES (acct, p_type, p_payload, p_max_attempts)
        RETURNING job_id INTO id;
    END IF;
    RETURN json_build_object('JobId', id);
END
$$;


CREATE OR REPLACE FUNCTION prefs_ctl_job_show(p_job_id bigint)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'JobId',       j.job_id,
        'AccountId',   j.account_id,
        'ClientId',    a.client_id,
        'Type',        j.job_type,
        'Payload',     j.payload,
        'State',       j.state,
        'Attempts',    j.attempts,
        'MaxAttempts', j.max_attempts,
        'RunAt',       prefs_iso(j.run_at),
        'LeaseOwner',  j.lease_owner,
        'LeaseToken',  j.lease_token,
        'LeaseUntil',  prefs_iso(j.lease_until),
        'Result',      j.result,
        'Error',       j.error,
        'CreatedAt',   prefs_iso(j.created_at),
        'StartedAt',   prefs_iso(j.started_at),
        'FinishedAt',  prefs_iso(j.finished_at),
        'Runs', coalesce((
            SELECT json_agg(json_build_object(
                       'Attempt',    r.attempt,
                       'LeaseOwner', r.lease_owner,
                       'Accepted',   r.accepted,
                       'RecordedAt', prefs_iso(r.recorded_at))
                     ORDER BY r.recorded_at, r.attempt)
              FROM prefs_job_run r
             WHERE r.job_id = j.job_id), '[]'::json))
      FROM prefs_job j
      LEFT JOIN prefs_account a ON a.account_id = j.account_id
     WHERE j.job_id = p_job_id
$$;


-- JSON text indented two spaces a level, keys in their order.
CREATE OR REPLACE FUNCTION prefs_ctl_config_pretty(j json, ind text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    sub    text := ind || '  ';
    parts  text[];
BEGIN
    IF json_typeof(j) = 'object' THEN
        SELECT array_agg(sub || to_json(e.k)::text || ': '
                         || prefs_ctl_config_pretty(e.v, sub) ORDER BY e.n)
          INTO parts FROM json_each(j) WITH ORDINALITY AS e(k, v, n);
        IF parts IS NULL THEN
            RETURN '{}';
        END IF;
        RETURN '{' || chr(10) || array_to_string(parts, ',' || chr(10))
               || chr(10) || ind || '}';
    ELSIF json_typeof(j) = 'array' THEN
        SELECT array_agg(sub || prefs_ctl_config_pretty(e.v, sub) ORDER BY e.n)
          INTO parts FROM json_array_elements(j) WITH ORDINALITY AS e(v, n);
        IF parts IS NULL THEN
            RETURN '[]';
        END IF;
        RETURN '[' || chr(10) || array_to_string(parts, ',' || chr(10))
               || chr(10) || ind || ']';
    END IF;
    RETURN j::text;
END
$$;


-- The path of the first key that occurs twice in one object, or NULL
-- (jsonb would silently keep the last one).
CREATE OR REPLACE FUNCTION prefs_ctl_config_dup(j json, p_path text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r  record;
    d  text;
BEGIN
    IF json_typeof(j) = 'object' THEN
        SELECT e.key INTO d FROM json_each(j) AS e
         GROUP BY e.key HAVING count(*) > 1
         ORDER BY min(e.key) LIMIT 1;
        IF d IS NOT NULL THEN
            RETURN p_path || CASE WHEN p_path = '' THEN '' ELSE '.' END || d;
        END IF;
        FOR r IN SELECT e.key, e.value FROM json_each(j) AS e
                  WHERE json_typeof(e.value) IN ('object', 'array') LOOP
            d := prefs_ctl_config_dup(r.value, p_path
                     || CASE WHEN p_path = '' THEN '' ELSE '.' END || r.key);
            IF d IS NOT NULL THEN
                RETURN d;
            END IF;
        END LOOP;
    ELSIF json_typeof(j) = 'array' THEN
        FOR r IN SELECT e.value, e.n - 1 AS i
                   FROM json_array_elements(j) WITH ORDINALITY AS e(value, n)
                  WHERE json_typeof(e.value) IN ('object', 'array') LOOP
            d := prefs_ctl_config_dup(r.value, p_path || '[' || r.i || ']');
            IF d IS NOT NULL THEN
                RETURN d;
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;


-- config export: the account's configuration, inactive items included,
-- as the document config import takes
CREATE OR REPLACE FUNCTION prefs_ctl_config_export(p_client text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN prefs_ctl_config_pretty(
        CAST(prefs_config_document(prefs_ctl_account(p_client), true) AS json),
        '');
END
$$;


-- config import: p_text as read from the file; not JSON (bad-json), a key
-- twice in one object (dup-key), or a document prefs_config_import refuses
-- (PF001) changes nothing
CREATE OR REPLACE FUNCTION prefs_ctl_config_import(p_client text, p_text text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    acct  bigint;
    doc   json;
    d     text;
    msg   text;
    det   text;
    ctx   text;
BEGIN
    acct := prefs_ctl_account(p_client);
    -- not JSON, but some editors write one
    IF left(p_text, 1) = chr(65279) THEN
        p_text := substr(p_text, 2);
    END IF;
    BEGIN
        doc := p_text::json;
        PERFORM doc::jsonb;      -- what json lets through: \u0000
    EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                ctx = PG_EXCEPTION_CONTEXT;
        d := substring(ctx FROM 'JSON data, (line [0-9]+)');
        PERFORM prefs_ctl_fail('bad-json',
            regexp_replace(coalesce(nullif(det, ''), msg)
                           || coalesce(' (' || d || ')', ''),
                           '[\u0001-\u001f\u007f-\u009f]', ' ', 'g'));
    END;
    d := prefs_ctl_config_dup(doc, '');
    IF d IS NOT NULL THEN
        PERFORM prefs_ctl_fail('dup-key',
            regexp_replace(d, '[\u0001-\u001f\u007f-\u009f]', '?', 'g'));
    END IF;
    RETURN prefs_config_import(acct, doc::jsonb);
END
$$;


-- export: what POST Export/Segment|SegmentGroup/{name} does, then the
-- snapshot at once (in prefsctl's session, which has no statement timeout)
-- rather than by the helper (its job is deleted in the same transaction).  Refusals
-- raise PF001 with the API's message.  "<AccessToken> <RowCount> <Status>
-- <the status as Status/Token answers it>"
CREATE OR REPLACE FUNCTION prefs_ctl_export(p_client text, p_kind text,
    p_name text, p_body jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    acct  bigint := prefs_ctl_account(p_client);
    r     record;
    tok   bigint;
BEGIN
    SELECT * INTO r FROM prefs_export_start(acct, NULL, p_kind, p_name,
                                            p_body, 'v4');
    IF r.outcome <> 'created' THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001', MESSAGE = r.body;
    END IF;
    tok := CAST(r.body::jsonb ->> 'AccessToken' AS bigint);
    -- the snapshot is taken here: the job never becomes visible
    DELETE FROM prefs_job j WHERE j.job_type = 'prefs.export'
       AND j.payload ->> 'access_token' = tok::text AND j.state = 'queued';
    PERFORM prefs_export_run(tok);
    RETURN (SELECT concat_ws(' ', e.access_token, e.row_count, e.status,
                             prefs_export_status_json(e))
              FROM prefs_export e WHERE e.access_token = tok);
END
$$;


