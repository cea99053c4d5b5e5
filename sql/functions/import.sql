-- Bulk import (the Integration API, docs/bulk.md): initiate, stage,
-- execute, status, exceptions, and the helper's batches and purge.
-- Tables: sql/migrations/025_bulk_import.sql.  Records are validated and
-- applied by the engine (sql/functions/engine.sql: prefs_engine_validate,
-- prefs_engine_apply), never here: these functions are PL/pgSQL so that
-- they are created whatever the order of the files.
--
-- Every call from the API is scoped to the caller's account: another
-- account's access token, or an unknown one, is "unauthorized" (401).
-- Each answers (outcome, message, body); body is the BulkImportStatus.


-- at most this many records staged per access token
CREATE OR REPLACE FUNCTION prefs_import_max_records() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 10000000::bigint $$;


-- The exceptions of an import so far: refused at stage, failed or not
-- honored at execute.  The last one's exception_no.
CREATE OR REPLACE FUNCTION prefs_import_exceptions_so_far(i prefs_import)
RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT i.invalid + i.exceptions + i.not_honored
$$;


-- The BulkImportStatus of an import.
CREATE OR REPLACE FUNCTION prefs_import_status_doc(i prefs_import)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'AccessToken', i.access_token,
        'Name', i.name,
        'Status', i.status,
        'Expires', prefs_iso(i.expires),
        'DataStageDuration', i.data_stage_days,
        'ImportAction', coalesce(i.options ->> 'ImportAction', 'Add'),
        'MatchCriteria', i.options -> 'MatchCriteria',
        'MatchValue', i.options -> 'MatchValue',
        'RefreshAlternateIds', coalesce((i.options ->> 'RefreshAlternateIds')::boolean, false),
        'RefreshContacts', coalesce((i.options ->> 'RefreshContacts')::boolean, false),
        'RefreshCustomFields', coalesce((i.options ->> 'RefreshCustomFields')::boolean, false),
        'RefreshGroups', coalesce((i.options ->> 'RefreshGroups')::boolean, false),
        'RefreshTags', coalesce((i.options ->> 'RefreshTags')::boolean, false),
        'AllowPriorConsents', coalesce((i.options ->> 'AllowPriorConsents')::boolean, false),
        'SuppressEvents', coalesce((i.options ->> 'SuppressEvents')::boolean, false),
        'TotalRecordsReceived', i.received,
        'ValidationSuccessful', i.valid,
        'ValidationFailed', i.invalid,
        'Processed', i.processed,
        'Pending', CASE WHEN i.status IN ('Queued', 'Processing')
                        THEN i.valid - i.processed ELSE 0 END,
        'Exceptions', i.exceptions,
        'NotHonored', i.not_honored,
        'PercentComplete',
            CASE WHEN i.status = 'Completed' THEN 100
                 WHEN i.valid = 0 THEN 0
                 ELSE floor(100.0 * i.processed / i.valid)::integer END,
        'RecordsPerSecond',
            CASE WHEN i.started_at IS NULL THEN 0
                 ELSE round(i.processed / greatest(extract(epoch FROM
                          coalesce(i.completed_at, clock_timestamp())
                          - i.started_at), 0.001))::bigint END,
        'Error', i.error,
        'CreatedDate', prefs_iso(i.created_at),
        'StartedDate', prefs_iso(i.started_at),
        'CompletedDate', prefs_iso(i.completed_at))
$$;


-- The engine's options (engine-interface: p_opts) of an import.
CREATE OR REPLACE FUNCTION prefs_import_engine_opts(i prefs_import)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'ImportAction', coalesce(i.options ->> 'ImportAction', 'Add'),
        'MatchCriteria', CASE WHEN i.options ->> 'MatchCriteria' = 'AlternateIdType'
                              THEN i.options -> 'MatchValue' ELSE 'null'::jsonb END,
        'RefreshAlternateIds', coalesce((i.options ->> 'RefreshAlternateIds')::boolean, false),
        'RefreshContacts', coalesce((i.options ->> 'RefreshContacts')::boolean, false),
        'RefreshCustomFields', coalesce((i.options ->> 'RefreshCustomFields')::boolean, false),
        'RefreshGroups', coalesce((i.options ->> 'RefreshGroups')::boolean, false),
        'RefreshTags', coalesce((i.options ->> 'RefreshTags')::boolean, false),
        'AllowPriorConsents', coalesce((i.options ->> 'AllowPriorConsents')::boolean, false),
        'SuppressEvents', coalesce((i.options ->> 'SuppressEvents')::boolean, false),
        'Source', 'import:' || i.access_token)
$$;


-- POST Import: the initiate body checked, the quota (imports initiated by
-- the account in the last 24 hours, p_quota) kept; a new access token.
-- The import's purge is queued at once, due when it expires.
CREATE OR REPLACE FUNCTION prefs_import_initiate(p_account_id bigint,
    p_user_id bigint, p_body jsonb, p_quota integer,
    OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    k       text;
    v_days  integer;
    v_imp   prefs_import;
    v_try   integer;
    v_bools text[] := ARRAY['RefreshAlternateIds', 'RefreshContacts',
                            'RefreshCustomFields', 'RefreshGroups',
                            'RefreshTags', 'AllowPriorConsents',
                            'SuppressEvents'];
BEGIN
    outcome := 'invalid';

    IF jsonb_typeof(p_body) IS DISTINCT FROM 'object' THEN
        message := 'The body must be a JSON object';
        RETURN;
    END IF;

    SELECT key INTO k FROM jsonb_object_keys(p_body) key
     WHERE key <> ALL (v_bools || ARRAY['Name', 'DataStageDuration',
                                        'ImportAction', 'MatchCriteria',
                                        'MatchValue'])
     LIMIT 1;
    IF k IS NOT NULL THEN
        message := format('Unknown field %s', k);
        RETURN;
    END IF;

    IF jsonb_typeof(p_body -> 'Name') IS DISTINCT FROM 'string'
       OR char_length(p_body ->> 'Name') NOT BETWEEN 1 AND 100
    THEN
        message := 'Name must be a string of 1 to 100 characters';
        RETURN;
    END IF;

    IF p_body ? 'DataStageDuration'
       AND jsonb_typeof(p_body -> 'DataStageDuration') <> 'null'
    THEN
        IF jsonb_typeof(p_body -> 'DataStageDuration') <> 'number'
           OR (p_body ->> 'DataStageDuration') !~ '^[0-9]{1,2}$'
           OR (p_body ->> 'DataStageDuration')::integer > 10
        THEN
            message := 'DataStageDuration must be an integer from 0 to 10';
            RETURN;
        END IF;
        v_days := (p_body ->> 'DataStageDuration')::integer;
    ELSE
        v_days := 3;
    END IF;

    IF coalesce(p_body ->> 'ImportAction', 'Add') NOT IN ('Add', 'Delete')
       OR jsonb_typeof(coalesce(p_body -> 'ImportAction', '"Add"')) NOT IN ('string', 'null')
    THEN
        message := 'ImportAction must be Add or Delete';
        RETURN;
    END IF;

    IF jsonb_typeof(p_body -> 'MatchCriteria') NOT IN ('string', 'null')
       OR coalesce(p_body ->> 'MatchCriteria', 'ProfileId')
          NOT IN ('AlternateIdType', 'ProfileId')
    THEN
        message := 'MatchCriteria must be AlternateIdType, ProfileId or null';
        RETURN;
    END IF;

    IF p_body ->> 'MatchCriteria' = 'AlternateIdType'
       AND (jsonb_typeof(p_body -> 'MatchValue') IS DISTINCT FROM 'string'
            OR char_length(p_body ->> 'MatchValue') NOT BETWEEN 1 AND 100)
    THEN
        message := 'MatchValue must name the AlternateIdType to match on';
        RETURN;
    END IF;

    IF jsonb_typeof(p_body -> 'MatchValue') NOT IN ('string', 'null') THEN
        message := 'MatchValue must be a string';
        RETURN;
    END IF;

    SELECT b INTO k FROM unnest(v_bools) b
     WHERE jsonb_typeof(p_body -> b) NOT IN ('boolean', 'null')
     LIMIT 1;
    IF k IS NOT NULL THEN
        message := format('%s must be true or false', k);
        RETURN;
    END IF;

    -- the options as the engine takes them (an unknown MatchValue type):
    -- a refusal of the engine here, not of every Stage request later
    BEGIN
        PERFORM 1 FROM prefs_engine_validate(p_account_id, p_user_id, '[]',
            jsonb_build_object(
                'ImportAction', coalesce(p_body ->> 'ImportAction', 'Add'),
                'MatchCriteria',
                CASE WHEN p_body ->> 'MatchCriteria' = 'AlternateIdType'
                     THEN p_body -> 'MatchValue' ELSE 'null'::jsonb END));
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        message := SQLERRM;
        RETURN;
    END;

    -- one initiation at a time per account: the quota is counted exactly
    PERFORM 1 FROM prefs_account WHERE account_id = p_account_id FOR UPDATE;

    IF (SELECT count(*) FROM prefs_import
         WHERE account_id = p_account_id
           AND created_at > now() - interval '24 hours') >= p_quota
    THEN
        outcome := 'quota';
        message := format('The account initiated %s imports in the last 24 hours, its quota', p_quota);
        RETURN;
    END IF;

    FOR v_try IN 1 .. 5 LOOP
        INSERT INTO prefs_import (account_id, access_token, user_id, name,
                                  options, data_stage_days, expires)
        VALUES (p_account_id,
                1 + floor(random() * 9007199254740990)::bigint,
                p_user_id, p_body ->> 'Name',
                jsonb_strip_nulls(p_body - 'Name' - 'DataStageDuration'),
                v_days,
                now() + CASE WHEN v_days = 0 THEN interval '12 hours'
                             ELSE make_interval(days => v_days) END)
        ON CONFLICT (account_id, access_token) DO NOTHING
        RETURNING * INTO v_imp;
        EXIT WHEN v_imp.import_id IS NOT NULL;
    END LOOP;

    INSERT INTO prefs_job (account_id, job_type, payload, run_at, max_attempts)
    VALUES (p_account_id, 'prefs.import',
            jsonb_build_object('import_id', v_imp.import_id, 'purge', true),
            v_imp.expires, 100);

    outcome := 'ok';
    body := prefs_import_status_doc(v_imp)::text;
END
$$;


-- The import of an access token, locked; NULL for an unknown token,
-- another account's, or an expired one.
CREATE OR REPLACE FUNCTION prefs_import_lock(p_account_id bigint,
    p_token text)
RETURNS prefs_import
LANGUAGE plpgsql AS $$
DECLARE
    v_imp prefs_import;
BEGIN
    IF p_token !~ '^[0-9]{1,18}$' THEN
        RETURN NULL;
    END IF;

    SELECT * INTO v_imp FROM prefs_import
     WHERE account_id = p_account_id AND access_token = p_token::bigint
       AND expires > now()
       FOR UPDATE;

    RETURN v_imp;
END
$$;


-- The import of an access token, locked, while it may still be staged or
-- executed; otherwise outcome says why ("unauthorized", or "conflict"
-- with p_over in the message) and imp is NULL.
CREATE OR REPLACE FUNCTION prefs_import_open(p_account_id bigint,
    p_token text, p_over text,
    OUT imp prefs_import, OUT outcome text, OUT message text)
LANGUAGE plpgsql AS $$
BEGIN
    imp := prefs_import_lock(p_account_id, p_token);

    IF imp.import_id IS NULL THEN
        outcome := 'unauthorized';
        imp := NULL;
    ELSIF imp.status NOT IN ('Initiated', 'Staging') THEN
        outcome := 'conflict';
        message := format('The import is %s: %s', imp.status, p_over);
        imp := NULL;
    END IF;
END
$$;


-- A Stage request begins: its number (body) within the import.
CREATE OR REPLACE FUNCTION prefs_import_stage_begin(p_account_id bigint,
    p_token text, OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_imp  prefs_import;
    v_open record;
BEGIN
    SELECT * INTO v_open
      FROM prefs_import_open(p_account_id, p_token, 'staging is over');

    IF v_open.outcome IS NOT NULL THEN
        outcome := v_open.outcome;
        message := v_open.message;
        RETURN;
    END IF;

    v_imp := v_open.imp;

    UPDATE prefs_import SET status = 'Staging', requests = requests + 1
     WHERE import_id = v_imp.import_id
    RETURNING requests::text INTO body;

    outcome := 'ok';
END
$$;


-- Records of a Stage request, p_first the position of the first:
-- p_records a JSON array of them, p_bad {"<index>": "message"} for those
-- the worker could not read (their element is a placeholder).  Each
-- record is validated by the engine as the Data API would (with the
-- permissions of the user staging them); the refused ones are exceptions
-- at once.  Body: the records staged so far.
CREATE OR REPLACE FUNCTION prefs_import_stage(p_account_id bigint,
    p_user_id bigint, p_token text, p_request integer, p_first integer,
    p_records jsonb, p_bad jsonb,
    OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_imp   prefs_import;
    v_n     integer;
    v_valid integer;
    v_gen   bigint;
BEGIN
    -- a chunk is a transaction of seconds that adds no event: other
    -- accounts' Events API and Sync feed do not wait for it
    PERFORM prefs_event_scope(p_account_id);
    v_imp := prefs_import_lock(p_account_id, p_token);

    IF v_imp.import_id IS NULL THEN
        outcome := 'unauthorized';
        RETURN;
    END IF;

    IF v_imp.status <> 'Staging' OR p_request NOT BETWEEN 1 AND v_imp.requests
    THEN
        outcome := 'conflict';
        message := format('The import is %s: staging is over', v_imp.status);
        RETURN;
    END IF;

    IF jsonb_typeof(p_records) IS DISTINCT FROM 'array' THEN
        outcome := 'invalid';
        message := 'The records must be a JSON array';
        RETURN;
    END IF;

    v_n := jsonb_array_length(p_records);
    -- (read before the checks: a change of the configuration during them
    -- leaves the records stamped with the generation before it)
    v_gen := prefs_config_generation(p_account_id);

    IF v_imp.received + v_n > prefs_import_max_records() THEN
        outcome := 'too_large';
        message := format('An import holds at most %s records',
                          prefs_import_max_records());
        RETURN;
    END IF;

    -- the engine's findings (prefs_engine_run in validate mode): the
    -- refused items, and those its set-based checks took as new profiles
    -- (PLAIN), which Execute does not check again while the configuration
    -- generation stamped here is the account's (prefs_import_run)
    WITH v AS MATERIALIZED (
        SELECT v.item, v.outcome, v.path, v.message, v.state
          FROM prefs_engine_run(p_account_id, p_user_id, p_records,
                                prefs_import_engine_opts(v_imp),
                                'validate') v
         WHERE v.outcome = 'failed' OR v.state = 'PLAIN'),
    refused AS (
        SELECT DISTINCT ON (v.item) v.item, v.path, v.message
          FROM v WHERE v.outcome = 'failed' ORDER BY v.item),
    bad AS (
        SELECT key::integer AS item, value #>> '{}' AS message
          FROM jsonb_each(coalesce(p_bad, '{}'))),
    ins AS (
        INSERT INTO prefs_import_record (import_id, request_no, position,
                                         state, record, path, message,
                                         config_generation, plain,
                                         exception_no)
        SELECT v_imp.import_id, p_request, p_first + (e.ord - 1)::integer,
               CASE WHEN x.refused THEN 'invalid' ELSE 'valid' END,
               CASE WHEN b.item IS NULL THEN e.rec END,
               CASE WHEN b.item IS NOT NULL THEN '' ELSE r.path END,
               coalesce(b.message, r.message),
               v_gen,
               NOT x.refused
               AND EXISTS (SELECT 1 FROM v WHERE v.item = e.ord - 1
                                              AND v.state = 'PLAIN'),
               -- the next numbers of the import's exceptions
               CASE WHEN x.refused THEN prefs_import_exceptions_so_far(v_imp)
                    + count(*) FILTER (WHERE x.refused)
                          OVER (ORDER BY e.ord) END
          FROM jsonb_array_elements(p_records) WITH ORDINALITY e(rec, ord)
          LEFT JOIN bad b ON b.item = e.ord - 1
          LEFT JOIN refused r ON r.item = e.ord - 1
         CROSS JOIN LATERAL (SELECT b.item IS NOT NULL OR r.item IS NOT NULL
                                    AS refused) x
        RETURNING state)
    SELECT count(*) FILTER (WHERE state = 'valid') INTO v_valid FROM ins;

    UPDATE prefs_import
       SET received = received + v_n, valid = valid + v_valid,
           invalid = invalid + (v_n - v_valid)
     WHERE import_id = v_imp.import_id
    RETURNING received::text INTO body;

    outcome := 'ok';
END
$$;


-- GET Import/{token}/Status, and the end of a Stage request.
CREATE OR REPLACE FUNCTION prefs_import_status(p_account_id bigint,
    p_token text, OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_token ~ '^[0-9]{1,18}$' THEN
        SELECT prefs_import_status_doc(i)::text INTO body
          FROM prefs_import i
         WHERE i.account_id = p_account_id
           AND i.access_token = p_token::bigint
           AND i.expires > now();
    END IF;

    outcome := CASE WHEN body IS NULL THEN 'unauthorized' ELSE 'ok' END;
END
$$;


-- POST Import/{token}/Execute: the import is queued for the helper (a job
-- "prefs.import"); staging is over.
CREATE OR REPLACE FUNCTION prefs_import_execute(p_account_id bigint,
    p_token text, OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_imp prefs_import;
    v_job  bigint;
    v_open record;
BEGIN
    SELECT * INTO v_open
      FROM prefs_import_open(p_account_id, p_token, 'it was executed already');

    IF v_open.outcome IS NOT NULL THEN
        outcome := v_open.outcome;
        message := v_open.message;
        RETURN;
    END IF;

    v_imp := v_open.imp;

    -- a job that waits for the account's other imports takes attempts
    INSERT INTO prefs_job (account_id, job_type, payload, max_attempts)
    VALUES (p_account_id, 'prefs.import',
            jsonb_build_object('import_id', v_imp.import_id), 100000)
    RETURNING job_id INTO v_job;

    UPDATE prefs_import
       SET status = CASE WHEN valid = 0 THEN 'Completed' ELSE 'Queued' END,
           queued_at = now(), job_id = v_job,
           completed_at = CASE WHEN valid = 0 THEN now() END
     WHERE import_id = v_imp.import_id
    RETURNING * INTO v_imp;

    outcome := 'ok';
    body := prefs_import_status_doc(v_imp)::text;
END
$$;


-- GET Import/{token}/Exceptions?limit=&offset= (offset 1-based): the
-- refused records, stage-time and execute-time, and those executed but
-- not honored, in the order they were found (exception_no: those of Stage
-- in staging order, then those of Execute in staging order).
CREATE OR REPLACE FUNCTION prefs_import_exceptions(p_account_id bigint,
    p_token text, p_limit integer, p_offset integer,
    OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_imp prefs_import;
BEGIN
    IF p_token ~ '^[0-9]{1,18}$' THEN
        SELECT * INTO v_imp FROM prefs_import
         WHERE account_id = p_account_id AND access_token = p_token::bigint
           AND expires > now();
    END IF;

    IF v_imp.import_id IS NULL THEN
        outcome := 'unauthorized';
        RETURN;
    END IF;

    -- a range of exception numbers, read by index: page N costs what page
    -- 1 does (no OFFSET)
    WITH page AS (
        SELECT r.*
          FROM prefs_import_record r
         WHERE r.import_id = v_imp.import_id
           AND r.exception_no >= p_offset
           AND r.exception_no < p_offset::bigint + p_limit
         ORDER BY r.exception_no)
    SELECT jsonb_build_object(
        'Count', (SELECT count(*) FROM page),
        'TotalResults', prefs_import_exceptions_so_far(v_imp),
        'Limit', p_limit,
        'Offset', p_offset,
        'HasMore', p_offset - 1 + (SELECT count(*) FROM page)
                   < prefs_import_exceptions_so_far(v_imp),
        'Exceptions', coalesce((
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                'StageRequest', p.request_no,
                'Position', p.position,
                'Stage', CASE p.state WHEN 'invalid' THEN 'Validation'
                                      WHEN 'nothonored' THEN 'NotHonored'
                                      ELSE 'Execution' END,
                'ProfileId', coalesce(p.profile_id, p.record ->> 'ProfileId'),
                'AlternateIds', CASE WHEN jsonb_typeof(p.record) = 'object'
                                     THEN p.record -> 'AlternateIds' END,
                'Path', p.path,
                'Message', p.message))
                ORDER BY p.exception_no)
              FROM page p), '[]'))::text
      INTO body;

    outcome := 'ok';
END
$$;


-- One batch of an import, as the helper runs it (job p_job_id, holding
-- lease p_lease): the next p_batch valid records in staging order applied
-- by the engine, their outcomes stored and the counters advanced, all in
-- the caller's one transaction: a batch is applied whole or not at all,
-- and the next call resumes after the last committed batch.  The import's
-- row lock makes a late batch of an earlier holder finish before a new
-- holder's starts.  Outcome:
--   more      a batch was applied; call again
--   done      nothing left (the import is Completed, or was not queued)
--   busy      another import of the account is processing: try later
--   stale     the job's lease passed to another holder: stop
CREATE OR REPLACE FUNCTION prefs_import_run(p_import_id bigint,
    p_job_id bigint, p_lease bigint, p_batch integer,
    OUT outcome text, OUT processed bigint, OUT remaining bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_imp     prefs_import;
    v_items   jsonb;
    v_applied jsonb;
    v_keys    integer[][];
    v_n       integer;
    v_failed  integer;
    v_declined integer;
    v_gen     bigint;
    v_same    boolean;
    v_plain   integer[];
BEGIN
    SELECT * INTO v_imp FROM prefs_import WHERE import_id = p_import_id
       FOR UPDATE;

    -- a batch adds events of its account only: other accounts' Events API
    -- and Sync feed do not wait for it (prefs_event_horizon_for)
    IF v_imp.import_id IS NOT NULL THEN
        PERFORM prefs_event_scope(v_imp.account_id);
    END IF;

    PERFORM 1 FROM prefs_job
     WHERE job_id = p_job_id AND state = 'running' AND lease_token = p_lease;
    IF NOT FOUND THEN
        outcome := 'stale';
        RETURN;
    END IF;

    IF v_imp.import_id IS NULL
       OR v_imp.status NOT IN ('Queued', 'Processing')
    THEN
        outcome := 'done';
        processed := coalesce(v_imp.processed, 0);
        remaining := 0;
        RETURN;
    END IF;

    IF v_imp.status = 'Queued' THEN
        -- one import of an account processes at a time, in queue order
        PERFORM 1 FROM prefs_import o
         WHERE o.account_id = v_imp.account_id
           AND o.import_id <> v_imp.import_id
           AND (o.status = 'Processing'
                OR (o.status = 'Queued' AND o.queued_at < v_imp.queued_at));
        IF FOUND THEN
            outcome := 'busy';
            processed := v_imp.processed;
            remaining := v_imp.valid - v_imp.processed;
            RETURN;
        END IF;

        UPDATE prefs_import SET status = 'Processing',
               started_at = clock_timestamp()
         WHERE import_id = v_imp.import_id;
    END IF;

    -- the batch, whether its records were all staged under the account's
    -- configuration generation of now, and which of them (their indexes in
    -- the batch) the engine's set-based checks took then
    v_gen := prefs_config_generation(v_imp.account_id);
    SELECT jsonb_agg(b.record ORDER BY b.n),
           array_agg(ARRAY[b.request_no, b.position] ORDER BY b.n),
           count(*),
           bool_and(b.config_generation IS NOT DISTINCT FROM v_gen),
           array_agg(b.n - 1 ORDER BY b.n) FILTER (WHERE b.plain)
      INTO v_items, v_keys, v_n, v_same, v_plain
      FROM (SELECT x.*, row_number() OVER (ORDER BY x.request_no,
                                           x.position) AS n
              FROM (SELECT r.request_no, r.position, r.record,
                           r.config_generation, r.plain
                      FROM prefs_import_record r
                     WHERE r.import_id = v_imp.import_id
                       AND r.state = 'valid'
                     ORDER BY r.request_no, r.position
                     LIMIT p_batch
                       FOR UPDATE) x) b;

    IF v_n = 0 THEN
        UPDATE prefs_import SET status = 'Completed',
               completed_at = clock_timestamp()
         WHERE import_id = v_imp.import_id;
        outcome := 'done';
        processed := v_imp.processed;
        remaining := 0;
        RETURN;
    END IF;

    -- Records staged under the configuration of now: the engine's
    -- set-based checks took them as new profiles then (plain) or sent
    -- them to the per-profile path, and would again; their rerun was a
    -- quarter of a batch's time, so prefs.engine_plain passes the finding
    -- on.  Any other batch is checked as the Data API's writes are.  When
    -- the generation moved while the batch ran (a statement of it may have
    -- read the new configuration), the batch is undone and run again with
    -- the checks.
    -- The engine refuses the import's options as a whole (PF001: e.g. its
    -- MatchValue type was deactivated since): no batch can succeed, the
    -- import has Failed.  Any other error rolls the batch back for a retry.
    LOOP
        BEGIN
            PERFORM set_config('prefs.engine_plain',
                               CASE WHEN v_same
                                    THEN coalesce(v_plain, '{}')::text
                                    ELSE '' END, true);
            SELECT jsonb_agg(to_jsonb(a)) INTO v_applied
              FROM prefs_engine_apply(v_imp.account_id, v_imp.user_id,
                                      v_items,
                                      prefs_import_engine_opts(v_imp)) a;
            PERFORM set_config('prefs.engine_plain', '', true);
            IF v_same AND prefs_config_generation(v_imp.account_id) <> v_gen
            THEN
                RAISE EXCEPTION USING ERRCODE = 'PF0CG',
                    MESSAGE = 'the configuration changed during the batch';
            END IF;
            EXIT;
        EXCEPTION
            WHEN SQLSTATE 'PF0CG' THEN
                v_same := false;
            WHEN SQLSTATE 'PF001' THEN
                UPDATE prefs_import SET status = 'Failed', error = SQLERRM,
                       completed_at = clock_timestamp()
                 WHERE import_id = v_imp.import_id;
                outcome := 'done';
                processed := v_imp.processed;
                remaining := v_imp.valid - v_imp.processed;
                RETURN;
        END;
    END LOOP;

    WITH applied AS (
        SELECT a.*,
               -- the next numbers of the import's exceptions
               CASE WHEN a.outcome IN ('failed', 'nothonored')
                    THEN prefs_import_exceptions_so_far(v_imp)
                         + count(*) FILTER (WHERE a.outcome IN ('failed',
                                                  'nothonored'))
                               OVER (ORDER BY a.item) END AS exception_no
          FROM jsonb_to_recordset(v_applied)
            AS a(item integer, profile_id text, outcome text, path text,
                 message text)),
    upd AS (
        UPDATE prefs_import_record r
           SET state = CASE WHEN a.outcome IN ('failed', 'nothonored')
                            THEN a.outcome ELSE 'applied' END,
               exception_no = a.exception_no,
               outcome = a.outcome, profile_id = a.profile_id,
               path = a.path, message = a.message,
               record = CASE WHEN a.outcome IN ('failed', 'nothonored')
                             THEN r.record END
          FROM applied a
         WHERE r.import_id = v_imp.import_id
           AND r.request_no = v_keys[a.item + 1][1]
           AND r.position = v_keys[a.item + 1][2]
        RETURNING r.state)
    SELECT count(*) FILTER (WHERE state = 'failed'),
           count(*) FILTER (WHERE state = 'nothonored')
      INTO v_failed, v_declined FROM upd;

    UPDATE prefs_import
       SET processed = prefs_import.processed + v_n,
           rechecked = rechecked + CASE WHEN v_same THEN 0 ELSE v_n END,
           exceptions = exceptions + v_failed,
           not_honored = not_honored + v_declined
     WHERE import_id = v_imp.import_id
    RETURNING prefs_import.processed, valid - prefs_import.processed
      INTO processed, remaining;

    outcome := 'more';
END
$$;


-- The purge of an expired import (the job "prefs.import" with "purge"):
-- up to p_limit of its records deleted a call, then the import itself.
-- Outcome: more, done, or wait (it is still queued or processing: its
-- data is kept until it ends; the caller tries again later).
CREATE OR REPLACE FUNCTION prefs_import_purge(p_import_id bigint,
    p_limit integer, OUT outcome text, OUT deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_imp prefs_import;
BEGIN
    SELECT * INTO v_imp FROM prefs_import WHERE import_id = p_import_id;

    deleted := 0;

    IF v_imp.import_id IS NULL THEN
        outcome := 'done';
        RETURN;
    END IF;

    IF v_imp.expires > now() OR v_imp.status IN ('Queued', 'Processing') THEN
        outcome := 'wait';
        RETURN;
    END IF;

    WITH gone AS (
        DELETE FROM prefs_import_record r
         WHERE (r.import_id, r.request_no, r.position) IN (
               SELECT x.import_id, x.request_no, x.position
                 FROM prefs_import_record x
                WHERE x.import_id = p_import_id
                LIMIT p_limit)
        RETURNING 1)
    SELECT count(*) INTO deleted FROM gone;

    IF deleted < p_limit THEN
        DELETE FROM prefs_import WHERE import_id = p_import_id;
        outcome := 'done';
    ELSE
        outcome := 'more';
    END IF;
END
$$;


-- A JSON value from text, or NULL when it is not one (a subtransaction
-- each: only for the lines of a chunk that failed as a whole).
CREATE OR REPLACE FUNCTION prefs_import_try_jsonb(p_text text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN p_text::jsonb;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;


-- Stage from lines of text, one record a line (prefsctl import, NDJSON):
-- the lines cast as one set; if one is not JSON, each is tried, and those
-- that are not are exceptions of their own.  Then as prefs_import_stage.
CREATE OR REPLACE FUNCTION prefs_import_stage_lines(p_account_id bigint,
    p_user_id bigint, p_token text, p_request integer, p_first integer,
    p_lines text[], OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_records jsonb;
    v_bad     jsonb;
BEGIN
    BEGIN
        SELECT coalesce(jsonb_agg(u.l::jsonb ORDER BY u.o), '[]')
          INTO v_records
          FROM unnest(p_lines) WITH ORDINALITY u(l, o);
    EXCEPTION WHEN data_exception THEN
        SELECT jsonb_agg(coalesce(t.j, '{}') ORDER BY t.o),
               jsonb_object_agg(t.o - 1, 'The record is not valid JSON')
                   FILTER (WHERE t.j IS NULL)
          INTO v_records, v_bad
          FROM (SELECT u.o, prefs_import_try_jsonb(u.l) AS j
                  FROM unnest(p_lines) WITH ORDINALITY u(l, o)) t;
    END;

    SELECT s.outcome, s.message, s.body INTO outcome, message, body
      FROM prefs_import_stage(p_account_id, p_user_id, p_token, p_request,
                              p_first, v_records, v_bad) s;
END
$$;


-- A CSV cell of a coded field: its digits as a number, or a word of
-- p_words (in any case, spaces ignored) as its code; anything else as the
-- text it is, which the engine refuses naming the field.
CREATE OR REPLACE FUNCTION prefs_import_csv_code(p_value text, p_words jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_value ~ '^[0-9]{1,9}$' THEN to_jsonb(p_value::integer)
                ELSE coalesce(p_words -> lower(replace(p_value, ' ', '')),
                              to_jsonb(p_value))
           END
$$;


-- CSV Stage bodies (docs/bulk.md, "CSV"): the rows, each a JSON array of
-- its fields, as records by the header's column names (in any case):
--   ProfileId, Prefix, FirstName, MiddleName, LastName, Suffix,
--   DefaultLocale, CustomerType, Email, EmailType, Phone, PhoneType,
--   IsMobile, Address1, Address2, City, StateProvince, PostalCode,
--   CountryCode, AddressType, Tags (separated by ";"),
--   AlternateId:<type>, CustomField:<name>, Preference:<FilterId> (its
--   PreferenceType: 1 or OptIn, 2 or OptOut) with Frequency:<FilterId>,
--   Consent:<ConsentType> (its ConsentStatus: 1-4 or Granted, Denied,
--   Revoked, NotSet) with ConsentVersion:<ConsentType> and
--   ConsentDate:<ConsentType>.  A value not in those words is passed as it
--   is, for the engine to refuse with its message.
-- An empty field is an absent one.  bad: {"<index>": "why"} for the rows
-- whose number of fields is not the header's.  An unknown column raises
-- PF002 with its name.
CREATE OR REPLACE FUNCTION prefs_import_csv_records(p_header jsonb,
    p_rows jsonb, OUT records jsonb, OUT bad jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_unknown text;
BEGIN
    SELECT h INTO v_unknown
      FROM jsonb_array_elements_text(p_header) h
     WHERE lower(h) NOT IN ('profileid', 'prefix', 'firstname', 'middlename',
               'lastname', 'suffix', 'defaultlocale', 'customertype', 'email',
               'emailtype', 'phone', 'phonetype', 'ismobile', 'address1',
               'address2', 'city', 'stateprovince', 'postalcode',
               'countrycode', 'addresstype', 'tags')
       AND lower(h) !~ ('^(alternateid|customfield|preference|frequency'
                        '|consent|consentversion|consentdate):.+')
     LIMIT 1;

    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PF002',
            MESSAGE = format('Unknown CSV column %s', v_unknown);
    END IF;

    WITH rows_ AS (
        SELECT r.row_, r.o
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY r(row_, o)),
    cells AS (
        SELECT r.o, h.i, lower(h.name) AS k, split_part(h.name, ':', 2) AS sub,
               nullif(r.row_ ->> (h.i - 1)::integer, '') AS v
          FROM rows_ r,
               jsonb_array_elements_text(p_header) WITH ORDINALITY h(name, i)
         WHERE jsonb_array_length(r.row_) = jsonb_array_length(p_header)),
    recs AS (
        SELECT c.o, jsonb_strip_nulls(jsonb_build_object(
            'ProfileId', max(v) FILTER (WHERE k = 'profileid'),
            'CustomerName', nullif(jsonb_strip_nulls(jsonb_build_object(
                'Prefix', max(v) FILTER (WHERE k = 'prefix'),
                'FirstName', max(v) FILTER (WHERE k = 'firstname'),
                'MiddleName', max(v) FILTER (WHERE k = 'middlename'),
                'LastName', max(v) FILTER (WHERE k = 'lastname'),
                'Suffix', max(v) FILTER (WHERE k = 'suffix'))), '{}'),
            'DefaultLocale', max(v) FILTER (WHERE k = 'defaultlocale'),
            'CustomerType', max(v) FILTER (WHERE k = 'customertype'),
            'Emails', CASE WHEN bool_or(k = 'email' AND v IS NOT NULL) THEN
                jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                    'EmailAddress', max(v) FILTER (WHERE k = 'email'),
                    'EmailAddressType', max(v) FILTER (WHERE k = 'emailtype'))))
                END,
            'PhoneNumbers', CASE WHEN bool_or(k = 'phone' AND v IS NOT NULL) THEN
                jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                    'PhoneNumber', max(v) FILTER (WHERE k = 'phone'),
                    'PhoneNumberType', max(v) FILTER (WHERE k = 'phonetype'),
                    'IsMobile', CASE lower(max(v) FILTER (WHERE k = 'ismobile'))
                                    WHEN 'true' THEN true WHEN 'false' THEN false
                                END)))
                END,
            'Addresses', CASE WHEN bool_or(k = 'address1' AND v IS NOT NULL) THEN
                jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                    'Address1', max(v) FILTER (WHERE k = 'address1'),
                    'Address2', max(v) FILTER (WHERE k = 'address2'),
                    'City', max(v) FILTER (WHERE k = 'city'),
                    'StateProvince', max(v) FILTER (WHERE k = 'stateprovince'),
                    'PostalCode', max(v) FILTER (WHERE k = 'postalcode'),
                    'CountryCode', max(v) FILTER (WHERE k = 'countrycode'),
                    'AddressType', max(v) FILTER (WHERE k = 'addresstype'))))
                END,
            'AlternateIds', jsonb_agg(jsonb_build_object('Type', sub, 'Value', v))
                FILTER (WHERE k LIKE 'alternateid:%' AND v IS NOT NULL),
            'CustomFields', jsonb_agg(jsonb_build_object('Name', sub, 'Value', v))
                FILTER (WHERE k LIKE 'customfield:%' AND v IS NOT NULL),
            'ProfilePreferences', (
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'FilterId', p.sub,
                           'PreferenceType', prefs_import_csv_code(p.v,
                               '{"optin": 1, "optout": 2}'),
                           'FrequencyId', f.v)) ORDER BY p.i)
                  FROM cells p LEFT JOIN cells f
                    ON f.o = p.o AND f.k = 'frequency:' || lower(p.sub)
                 WHERE p.o = c.o AND p.k LIKE 'preference:%'
                   AND p.v IS NOT NULL),
            'Consents', (
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'ConsentType', s.sub,
                           'ConsentStatus', prefs_import_csv_code(s.v,
                               '{"granted": 1, "denied": 2, "revoked": 3,'
                               ' "notset": 4}'),
                           'ConsentVersion', ver.v,
                           'ConsentDate', dt.v)) ORDER BY s.i)
                  FROM cells s
                  LEFT JOIN cells ver
                    ON ver.o = s.o AND ver.k = 'consentversion:' || lower(s.sub)
                  LEFT JOIN cells dt
                    ON dt.o = s.o AND dt.k = 'consentdate:' || lower(s.sub)
                 WHERE s.o = c.o AND s.k LIKE 'consent:%' AND s.v IS NOT NULL),
            'Tags', (SELECT jsonb_agg(btrim(t))
                       FROM regexp_split_to_table(max(v) FILTER (WHERE k = 'tags'),
                                                  ';') t
                      WHERE btrim(t) <> ''))) AS rec
          FROM cells c
         GROUP BY c.o)
    SELECT coalesce(jsonb_agg(coalesce(x.rec, '{}') ORDER BY r.o), '[]'),
           jsonb_object_agg(r.o - 1, format('The row has %s fields, the header %s',
                                            jsonb_array_length(r.row_),
                                            jsonb_array_length(p_header)))
               FILTER (WHERE jsonb_array_length(r.row_)
                             <> jsonb_array_length(p_header))
      INTO records, bad
      FROM rows_ r LEFT JOIN recs x ON x.o = r.o;
END
$$;


-- Stage CSV rows (each a JSON array of its fields) under their header: as
-- prefs_import_stage once they are records; an unknown column refuses the
-- request ("invalid").
CREATE OR REPLACE FUNCTION prefs_import_stage_csv(p_account_id bigint,
    p_user_id bigint, p_token text, p_request integer, p_first integer,
    p_header jsonb, p_rows jsonb, p_bad jsonb,
    OUT outcome text, OUT message text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_csv record;
BEGIN
    IF jsonb_typeof(p_header) IS DISTINCT FROM 'array'
       OR jsonb_typeof(p_rows) IS DISTINCT FROM 'array'
    THEN
        outcome := 'invalid';
        message := 'A CSV body needs a header row';
        RETURN;
    END IF;

    -- a byte order mark before the first column's name
    p_header := jsonb_set(p_header, '{0}',
                          to_jsonb(ltrim(p_header ->> 0, U&'\FEFF')));

    BEGIN
        SELECT * INTO v_csv FROM prefs_import_csv_records(p_header, p_rows);
    EXCEPTION WHEN SQLSTATE 'PF002' THEN
        outcome := 'invalid';
        message := SQLERRM;
        RETURN;
    END;

    SELECT s.outcome, s.message, s.body INTO outcome, message, body
      FROM prefs_import_stage(p_account_id, p_user_id, p_token, p_request,
                              p_first, v_csv.records,
                              nullif(coalesce(v_csv.bad, '{}')
                                     || coalesce(p_bad, '{}'), '{}')) s;
END
$$;
