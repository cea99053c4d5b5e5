-- Bulk export (issue 13; tables in 026_segments_export.sql and
-- 030_export_callback_schedule.sql).
--
-- POST Export/Segment/{name} (or SegmentGroup) -> prefs_export_start: the
-- body checked, the segment's selection compiled and kept with the export
-- (a later change of the segment does not change an export under way), a
-- "prefs.export" job queued.  The helper calls prefs_export_run, a step a
-- call (prefs_export_step: a chunk of members' rendered documents
-- (prefs_profile_doc, rendered now where missing or stale) copied into
-- prefs_export_row, numbered in profile id order; then a check that makes
-- the rows one snapshot's state), so no statement outgrows the query
-- timeout, and the helper holds nothing of it in memory.  Pages are range
-- scans of (access_token, seq), answered as rows the worker joins.


-- LastDateTime: "YYYY-MM-DDTHH:mm:ss.sss" with or without "Z", UTC; its
-- milliseconds rounded as the reference says (x000-x002 -> x003,
-- x003-x006 -> x007, x007-x009 -> the next x000).  NULL when malformed.
CREATE OR REPLACE FUNCTION prefs_export_since(s text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    ms  integer;
    t   timestamptz;
BEGIN
    IF s !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z?$' THEN
        RETURN NULL;
    END IF;
    BEGIN
        t := left(s, 19)::timestamp AT TIME ZONE 'UTC';
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    ms := substr(s, 21, 3)::integer;
    RETURN t + make_interval(secs => (ms - ms % 10
        + CASE WHEN ms % 10 <= 2 THEN 3 WHEN ms % 10 <= 6 THEN 7 ELSE 10 END)
        / 1000.0);
END
$$;


CREATE OR REPLACE FUNCTION prefs_export_status_json(e prefs_export)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('AccessToken', e.access_token,
                              'Expires', prefs_iso(e.expires_at),
                              'Status', e.status,
                              'RowCount', e.row_count,
                              'ByteCount', e.byte_count)::text
$$;


-- The body of POST Export/...: {CallbackURL, LastDateTime, MatchCriteria,
-- MatchType, Values}, checked; the part of the selection it adds.
CREATE OR REPLACE FUNCTION prefs_export_body(p_account_id bigint, b jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k      text;
    out_   jsonb := '{}';
    mc     text;
    mt     text;
    vals   jsonb;
    i      integer;
    v      text;
BEGIN
    IF b IS NULL THEN
        RETURN out_;
    END IF;
    IF jsonb_typeof(b) <> 'object' THEN
        PERFORM prefs_cfg_fail('The body', 'must be a JSON object');
    END IF;
    FOR k IN SELECT jsonb_object_keys(b) LOOP
        IF NOT k = ANY ('{CallbackURL,LastDateTime,MatchCriteria,MatchType,Values}')
        THEN
            PERFORM prefs_cfg_fail(k, 'is not a field of this body');
        END IF;
    END LOOP;

    IF prefs_cfg_get(b, 'CallbackURL') IS NOT NULL THEN
        IF jsonb_typeof(b -> 'CallbackURL') <> 'string'
           OR (b ->> 'CallbackURL') !~ '^https?://[^\s/?#]+([/?#]\S*)?$'
           OR char_length(b ->> 'CallbackURL') > 2048 THEN
            PERFORM prefs_cfg_fail('CallbackURL',
                                   'must be an http or https URL');
        END IF;
        out_ := out_ || jsonb_build_object('callback', b ->> 'CallbackURL');
    END IF;

    IF prefs_cfg_get(b, 'LastDateTime') IS NOT NULL THEN
        IF jsonb_typeof(b -> 'LastDateTime') <> 'string'
           OR prefs_export_since(b ->> 'LastDateTime') IS NULL THEN
            PERFORM prefs_cfg_fail('LastDateTime', 'must be a date and time '
                'as YYYY-MM-DDTHH:mm:ss.sssZ or YYYY-MM-DDTHH:mm:ss.sss');
        END IF;
        out_ := out_ || jsonb_build_object('since',
            prefs_iso(prefs_export_since(b ->> 'LastDateTime')));
    END IF;

    IF prefs_cfg_get(b, 'MatchCriteria') IS NULL THEN
        IF prefs_cfg_get(b, 'MatchType') IS NOT NULL
           OR prefs_cfg_get(b, 'Values') IS NOT NULL THEN
            PERFORM prefs_cfg_fail('MatchCriteria',
                                   'is required with MatchType and Values');
        END IF;
        RETURN out_;
    END IF;

    mc := b ->> 'MatchCriteria';
    IF jsonb_typeof(b -> 'MatchCriteria') <> 'string'
       OR NOT mc = ANY ('{ProfileId,AlternateId,PhoneNumber,EmailAddress}') THEN
        PERFORM prefs_cfg_fail('MatchCriteria', 'must be ProfileId, '
                               'AlternateId, PhoneNumber or EmailAddress');
    END IF;
    IF prefs_cfg_get(b, 'MatchType') IS NOT NULL THEN
        mt := prefs_seg_string('MatchType', b -> 'MatchType');
        IF mc = 'ProfileId' THEN
            PERFORM prefs_cfg_fail('MatchType',
                                   'is not taken with MatchCriteria ProfileId');
        END IF;
        k := CASE mc WHEN 'AlternateId' THEN 'AlternateIdType'
                     WHEN 'PhoneNumber' THEN 'PhoneType' ELSE 'EmailType' END;
        IF NOT prefs_seg_cfg_has(p_account_id, k, mt) THEN
            PERFORM prefs_cfg_fail('MatchType', format(
                'names no %s of this account: %s', k, prefs_cfg_quote(mt)));
        END IF;
    ELSIF mc = 'AlternateId' THEN
        PERFORM prefs_cfg_fail('MatchType', 'is required with MatchCriteria '
                               'AlternateId: the AlternateIdType');
    END IF;
    IF jsonb_typeof(b -> 'Values') IS DISTINCT FROM 'array'
       OR jsonb_array_length(b -> 'Values') NOT BETWEEN 1 AND 1000 THEN
        PERFORM prefs_cfg_fail('Values', 'must be an array of 1 to 1000 values');
    END IF;
    vals := '[]';
    FOR i IN 0 .. jsonb_array_length(b -> 'Values') - 1 LOOP
        IF mc = 'ProfileId' AND jsonb_typeof(b -> 'Values' -> i) = 'number' THEN
            v := b -> 'Values' ->> i;
        ELSE
            v := prefs_seg_string(format('Values[%s]', i), b -> 'Values' -> i);
        END IF;
        IF mc = 'ProfileId' AND v !~ '^[1-9][0-9]{0,17}$' THEN
            PERFORM prefs_cfg_fail(format('Values[%s]', i),
                                   'must be a ProfileId');
        END IF;
        vals := vals || to_jsonb(CASE mc
            WHEN 'EmailAddress' THEN lower(v)
            WHEN 'PhoneNumber' THEN CASE WHEN v ~ '^\s*\+' THEN '+' ELSE '' END
                                    || regexp_replace(v, '[^0-9]', '', 'g')
            ELSE v END);
    END LOOP;

    RETURN out_ || jsonb_build_object('match', mc, 'match_type', mt,
                                      'match_values', vals);
END
$$;


-- POST Export/Segment/{name}, Export/SegmentGroup/{name} (p_format 'v4');
-- v3's export/Segment/{name} (p_format 'v3': rows of v3 Preferences) and
-- export/Schedule/{name} (p_kind 'Schedule': a schedule's rows, p_args the
-- query string's startDate and endDate).  outcome: created (body
-- {"AccessToken"}), not_found, invalid.
CREATE OR REPLACE FUNCTION prefs_export_start(p_account_id bigint,
    p_user_id bigint, p_kind text, p_name text, p_body jsonb,
    p_format text, p_args jsonb DEFAULT NULL)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    sel    jsonb;
    opts   jsonb;
    tok    bigint;
    sch    prefs_export_schedule;
BEGIN
    BEGIN
        IF p_kind = 'Schedule' THEN
            opts := prefs_export_schedule_args(p_body, p_args);
        ELSE
            opts := prefs_export_body(p_account_id, p_body);
        END IF;
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT 'invalid', SQLERRM;
        RETURN;
    END;

    IF p_kind = 'Schedule' THEN
        SELECT * INTO sch FROM prefs_export_schedule x
         WHERE x.account_id = p_account_id AND x.name = p_name;
        IF FOUND THEN
            sel := CASE WHEN sch.segment IS NULL
                        THEN jsonb_build_object('sql', 'true', 'values', '[]')
                        ELSE prefs_seg_selection(p_account_id, 'Segment',
                                                 sch.segment) END
                   || jsonb_build_object('fields', to_jsonb(sch.fields));
        END IF;
    ELSE
        sel := prefs_seg_selection(p_account_id, p_kind, p_name);
    END IF;
    IF sel IS NULL THEN
        RETURN QUERY SELECT 'not_found', format('No %s %s in this account',
            CASE p_kind WHEN 'Segment' THEN 'segment'
                        WHEN 'Schedule' THEN 'export schedule'
                        ELSE 'segment group' END,
            prefs_cfg_quote(p_name));
        RETURN;
    END IF;

    PERFORM prefs_export_expire(p_account_id);

    LOOP
        -- an integer as the reference's, not guessable, below 2^53
        tok := 1000000000 + floor(random() * 9000000000000000)::bigint;
        INSERT INTO prefs_export (access_token, account_id, source_kind,
                                  source_name, selection, callback_url,
                                  created_by, expires_at)
        VALUES (tok, p_account_id, p_kind, p_name,
                sel || opts || jsonb_build_object('format', p_format),
                opts ->> 'callback', p_user_id, now() + interval '12 hours')
        ON CONFLICT (access_token) DO NOTHING;
        EXIT WHEN FOUND;
    END LOOP;

    -- attempts enough for the callback's retry schedule (at most 30
    -- delays, prefs_webhook_retries) on top of the snapshot's own
    INSERT INTO prefs_job (account_id, job_type, payload, max_attempts)
    VALUES (p_account_id, 'prefs.export',
            jsonb_build_object('access_token', tok::text), 40);

    RETURN QUERY SELECT 'created', jsonb_build_object('AccessToken', tok)::text;
END
$$;


-- The body and query string of POST export/Schedule/{name}: the body
-- holds CallbackURL only; startDate and endDate (in any case) both or
-- neither, each an ISO 8601 date or date and time (UTC without an
-- offset), startDate before endDate.  The part of the selection they add:
-- {"callback", "start", "end"}.
CREATE OR REPLACE FUNCTION prefs_export_schedule_args(b jsonb, a jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k      text;
    v      jsonb;
    out_   jsonb := '{}';
    t0     timestamptz;
    t1     timestamptz;
BEGIN
    IF b IS NOT NULL THEN
        IF jsonb_typeof(b) <> 'object' THEN
            PERFORM prefs_cfg_fail('The body', 'must be a JSON object');
        END IF;
        FOR k IN SELECT jsonb_object_keys(b) LOOP
            IF k <> 'CallbackURL' THEN
                PERFORM prefs_cfg_fail(k, 'is not a field of this body: '
                                       'a schedule''s export takes '
                                       'CallbackURL only');
            END IF;
        END LOOP;
        out_ := prefs_export_body(NULL, b);
    END IF;

    FOR k, v IN SELECT * FROM jsonb_each(coalesce(a, '{}')) LOOP
        IF lower(k) NOT IN ('startdate', 'enddate') THEN
            PERFORM prefs_cfg_fail(left(k, 64), 'is not a query parameter '
                                   'of export/Schedule: startDate and '
                                   'endDate');
        END IF;
        IF jsonb_typeof(v) <> 'string' THEN
            PERFORM prefs_cfg_fail(k, 'is given twice');
        END IF;
        BEGIN
            IF lower(k) = 'startdate' THEN
                t0 := prefs_events_time(v, k);
            ELSE
                t1 := prefs_events_time(v, k);
            END IF;
        EXCEPTION WHEN SQLSTATE '22023' THEN
            PERFORM prefs_cfg_fail(k, 'must be an ISO 8601 date such as '
                                   '2026-01-31 or 2026-01-31T12:00:00Z');
        END;
    END LOOP;

    IF (t0 IS NULL) <> (t1 IS NULL) THEN
        PERFORM prefs_cfg_fail('startDate', 'and endDate go together: '
                               'both or neither');
    END IF;
    IF t0 >= t1 THEN
        PERFORM prefs_cfg_fail('startDate', 'must precede endDate');
    END IF;
    IF t0 IS NOT NULL THEN
        out_ := out_ || jsonb_build_object('start', prefs_iso(t0),
                                           'end', prefs_iso(t1));
    END IF;
    RETURN out_;
END
$$;


-- The v3 Preference fields a schedule may output (Operation always is).
CREATE OR REPLACE FUNCTION prefs_export_schedule_fields() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT '{CID,FilterID,ProgramID,ChannelID,PreferenceType,ContactElement,
             FrequencyID,PreferenceAttributes,CustomProperties,Prefix,
             FirstName,MiddleName,LastName,Suffix,CustomerDate,
             ExpirationDate,LastModifiedDate,UserID,SourceID}'::text[]
$$;


-- A row of a schedule's export: Operation and the schedule's fields.
CREATE OR REPLACE FUNCTION prefs_export_fields(d jsonb, p_fields jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
      FROM jsonb_each(d) e
     WHERE e.key = 'Operation' OR p_fields ? e.key
$$;


CREATE OR REPLACE FUNCTION prefs_export_schedule_json(x prefs_export_schedule)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('Name', x.name, 'Description', x.description,
                              'Segment', x.segment,
                              'Fields', to_jsonb(x.fields),
                              'CreatedDate', prefs_iso(x.created_at),
                              'UpdatedDate', prefs_iso(x.updated_at))
$$;


-- The admin routes of export schedules (prefs_seg_call's kind
-- 'ExportSchedule': GET ExportSchedules, POST ExportSchedules, GET, PUT,
-- DELETE ExportSchedules/{name}).  A body: Name, Description, Segment (a
-- segment of the account, or null: every profile) and Fields (1 to 19
-- distinct names of prefs_export_schedule_fields()).  Outcomes as
-- prefs_seg_call's.
CREATE OR REPLACE FUNCTION prefs_export_schedule_call(p_account_id bigint,
    p_method text, p_name text, p_body jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    x      prefs_export_schedule;
    nm     record;
    seg    text;
    flds   text[];
    i      integer;
    f      text;
BEGIN
    IF p_method = 'GET' AND p_name IS NULL THEN
        RETURN QUERY SELECT 'ok', jsonb_build_object('ExportSchedules',
            coalesce(jsonb_agg(prefs_export_schedule_json(s) ORDER BY s.name),
                     '[]'))::text
          FROM prefs_export_schedule s WHERE s.account_id = p_account_id;
        RETURN;
    END IF;

    IF p_method IN ('GET', 'DELETE', 'PUT') THEN
        SELECT * INTO x FROM prefs_export_schedule s
         WHERE s.account_id = p_account_id AND s.name = p_name FOR UPDATE;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'not_found', format(
                'No export schedule %s in this account',
                prefs_cfg_quote(p_name));
            RETURN;
        END IF;
    END IF;

    IF p_method = 'GET' THEN
        RETURN QUERY SELECT 'ok', prefs_export_schedule_json(x)::text;
        RETURN;
    END IF;

    IF p_method = 'DELETE' THEN
        DELETE FROM prefs_export_schedule s
         WHERE s.schedule_id = x.schedule_id;
        RETURN QUERY SELECT 'deleted', '';
        RETURN;
    END IF;

    -- POST (p_name NULL) or PUT
    BEGIN
        nm := prefs_seg_name(p_body, p_name,
                             '{Name,Description,Segment,Fields}');
        IF prefs_cfg_get(p_body, 'Segment') IS NOT NULL THEN
            seg := prefs_seg_string('Segment', p_body -> 'Segment');
            IF NOT EXISTS (SELECT 1 FROM prefs_segment s
                            WHERE s.account_id = p_account_id
                              AND s.name = seg) THEN
                PERFORM prefs_cfg_fail('Segment', format(
                    'names no segment of this account: %s',
                    prefs_cfg_quote(seg)));
            END IF;
        END IF;
        IF jsonb_typeof(p_body -> 'Fields') IS DISTINCT FROM 'array'
           OR jsonb_array_length(p_body -> 'Fields') = 0 THEN
            PERFORM prefs_cfg_fail('Fields', 'must be a non-empty array of '
                'v3 Preference fields: '
                || array_to_string(prefs_export_schedule_fields(), ', '));
        END IF;
        flds := '{}';
        FOR i IN 0 .. jsonb_array_length(p_body -> 'Fields') - 1 LOOP
            f := prefs_seg_string(format('Fields[%s]', i),
                                  p_body -> 'Fields' -> i);
            IF NOT f = ANY (prefs_export_schedule_fields()) THEN
                PERFORM prefs_cfg_fail(format('Fields[%s]', i), format(
                    'is no v3 Preference field: %s', prefs_cfg_quote(f)));
            END IF;
            IF f = ANY (flds) THEN
                PERFORM prefs_cfg_fail(format('Fields[%s]', i), format(
                    '%s is given twice', prefs_cfg_quote(f)));
            END IF;
            flds := flds || f;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT 'invalid', SQLERRM;
        RETURN;
    END;

    IF p_method = 'POST' THEN
        INSERT INTO prefs_export_schedule AS s (account_id, name, description,
                                                segment, fields)
        VALUES (p_account_id, nm.name, nm.description, seg, flds)
        ON CONFLICT (account_id, name) DO NOTHING
        RETURNING * INTO x;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'exists', format(
                'Export schedule %s already exists', prefs_cfg_quote(nm.name));
            RETURN;
        END IF;
        RETURN QUERY SELECT 'created', prefs_export_schedule_json(x)::text;
        RETURN;
    END IF;

    UPDATE prefs_export_schedule s SET description = nm.description,
           segment = seg, fields = flds, updated_at = now()
     WHERE s.schedule_id = x.schedule_id RETURNING * INTO x;
    RETURN QUERY SELECT 'ok', prefs_export_schedule_json(x)::text;
END
$$;


-- The rows of an export, as a query over its selection ($1 the account,
-- $2 the selection's values, $4 since, $5 and $6 the match; a schedule's:
-- $7 its fields, $8 and $9 its start and end): profile_id, k
-- (the order within a profile) and doc, the row's text.  v4: a row per
-- member, its rendered copy (rendered now when missing or stale); v3: a
-- row per preference of the members.
CREATE OR REPLACE FUNCTION prefs_export_query(sel jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    q  text;
BEGIN
    -- the members: the profiles of the selection
    q := ' FROM prefs_profile p'
      || ' WHERE p.account_id = $1 AND p.erased_at IS NULL AND '
      || (sel ->> 'sql')
      || CASE WHEN sel ? 'since'
              THEN ' AND p.edited_at >= ($4)::timestamptz' ELSE '' END
      || CASE sel ->> 'match'
         WHEN 'ProfileId' THEN ' AND p.profile_id = ANY (ARRAY(SELECT'
              || ' jsonb_array_elements_text($5)::bigint))'
         WHEN 'AlternateId' THEN ' AND EXISTS (SELECT 1 FROM'
              || ' prefs_profile_alternate_id a WHERE a.account_id = $1'
              || ' AND a.profile_id = p.profile_id AND a.is_active'
              || ' AND a.type = $6 AND a.value = ANY (ARRAY(SELECT'
              || ' jsonb_array_elements_text($5))))'
         WHEN 'PhoneNumber' THEN ' AND EXISTS (SELECT 1 FROM'
              || ' prefs_profile_phone a WHERE a.account_id = $1'
              || ' AND a.profile_id = p.profile_id AND a.is_active'
              || ' AND ($6 IS NULL OR a.type = $6) AND a.number = ANY'
              || ' (ARRAY(SELECT jsonb_array_elements_text($5))))'
         WHEN 'EmailAddress' THEN ' AND EXISTS (SELECT 1 FROM'
              || ' prefs_profile_email a WHERE a.account_id = $1'
              || ' AND a.profile_id = p.profile_id AND a.is_active'
              || ' AND ($6 IS NULL OR a.type = $6)'
              || ' AND lower(a.address) = ANY'
              || ' (ARRAY(SELECT jsonb_array_elements_text($5))))'
         ELSE '' END;

    IF sel ->> 'format' = 'v3' THEN
        -- v3 (MyPreferences 2.0): a row per preference of the members,
        -- the v3 Preference with its Operation (1 current, 2 archived)
        -- a schedule's: only its fields ($7), only the preferences
        -- changed from its start ($8) to its end ($9)
        q := 'SELECT p.profile_id, pr.preference_id AS k,'
          || CASE WHEN sel ? 'fields' THEN ' prefs_export_fields(' ELSE ' '
             END
          || '(jsonb_build_object(''Operation'', CASE WHEN'
          || ' pr.is_archived THEN 2 ELSE 1 END)'
          || ' || prefs_v3_pref_json(pr, p, (SELECT c.value FROM'
          || ' prefs_profile_alternate_id c WHERE c.profile_id ='
          || ' p.profile_id AND c.type = ''CID'' AND c.is_active'
          || ' ORDER BY c.alternate_id_id LIMIT 1), f.body, em, ph,'
          || ' ad)::jsonb)'
          || CASE WHEN sel ? 'fields' THEN ', $7)' ELSE '' END
          || '::text AS doc'
          || replace(q, ' WHERE p.account_id = $1',
             ' JOIN prefs_preference pr ON pr.profile_id = p.profile_id'
             || ' LEFT JOIN prefs_config_item f ON f.account_id = $1'
             || ' AND f.kind = ''Filter'' AND f.key = pr.filter_id'
             || ' LEFT JOIN prefs_profile_email em'
             || ' ON em.email_id = pr.email_id'
             || ' LEFT JOIN prefs_profile_phone ph'
             || ' ON ph.phone_id = pr.phone_id'
             || ' LEFT JOIN prefs_profile_address ad'
             || ' ON ad.address_id = pr.address_id'
             || ' WHERE p.account_id = $1')
          || CASE WHEN sel ? 'start'
                  THEN ' AND pr.updated_at >= ($8)::timestamptz'
                       || ' AND pr.updated_at < ($9)::timestamptz'
                  ELSE '' END;
    ELSE
        -- v4: a row per member, its rendered copy
        q := 'SELECT p.profile_id, 0::bigint AS k,'
          || ' CASE WHEN d.src_xmin = p.xmin THEN d.doc'
          || ' ELSE prefs_profile_doc_fill($1, p.profile_id) END AS doc'
          || replace(q, ' WHERE p.account_id = $1',
             ' LEFT JOIN prefs_profile_doc d'
             || ' ON d.profile_id = p.profile_id'
             || ' WHERE p.account_id = $1');
    END IF;

    RETURN q;
END
$$;


-- The plan of an export's query (operators, bench/export.sh).
CREATE OR REPLACE FUNCTION prefs_export_explain(p_access_token bigint)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    e  prefs_export;
BEGIN
    SELECT * INTO e FROM prefs_export x WHERE x.access_token = p_access_token;
    IF FOUND THEN
        RETURN QUERY EXECUTE 'EXPLAIN ' || prefs_export_query(e.selection)
            USING e.account_id, e.selection -> 'values', e.access_token,
                  e.selection ->> 'since', e.selection -> 'match_values',
                  e.selection ->> 'match_type', e.selection -> 'fields',
                  e.selection ->> 'start', e.selection ->> 'end';
    END IF;
END
$$;


-- The members of a selection, without their documents: (profile_id, x),
-- x the profile row's xmin (every write of any part of a profile writes
-- its row), the query of prefs_export_query with another select list (v3
-- has a row per preference: DISTINCT).
CREATE OR REPLACE FUNCTION prefs_export_members_query(sel jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT ' || CASE WHEN sel ->> 'format' = 'v3'
                             THEN 'DISTINCT ' ELSE '' END
           || 'p.profile_id, p.xmin::text::bigint AS x'
           || substr(q, strpos(q, ' FROM prefs_profile p'))
      FROM prefs_export_query(sel) q
$$;


-- One step of an export's snapshot; outcome 'more' (call again), or the
-- export is Complete (or Error: e.error).  A step copies the next chunk
-- of members (prefs.export_chunk, 10,000 by default), the profiles after
-- e.snap_after, in one statement.  After the last chunk a check, one
-- statement, compares the members now (profile ids and xmins) with the
-- copied rows: the same, the export is Complete, and it is the state of
-- that statement's snapshot (every member's copy is of its version then;
-- a write that committed during the export, even over several profiles,
-- is wholly in it).  A member changed since its copy is copied again in
-- that statement (v4: its one row, in place); a profile that joined or
-- left the members (or, v3, changed: its rows are a number of
-- preferences) makes the rows from it on go, to be taken again by the
-- next steps (at most 20 checks: then Error).
CREATE OR REPLACE FUNCTION prefs_export_step(e prefs_export)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    sel    jsonb := e.selection;
    chunk  bigint := coalesce(nullif(current_setting('prefs.export_chunk',
                                                     true), '')::bigint,
                              10000);
    upto   bigint;
    first  bigint;
    n      bigint;
    b      bigint;
BEGIN
    -- the chunk's last member (NULL: no member after snap_after)
    EXECUTE 'SELECT max(m.profile_id) FROM (SELECT s.profile_id FROM ('
         || prefs_export_members_query(sel) || ') s'
         || ' WHERE s.profile_id > $10 ORDER BY s.profile_id LIMIT $11) m'
        INTO upto
        USING e.account_id, sel -> 'values', e.access_token,
              sel ->> 'since', sel -> 'match_values', sel ->> 'match_type',
              sel -> 'fields', sel ->> 'start', sel ->> 'end',
              e.snap_after, chunk;

    IF upto IS NOT NULL THEN
        EXECUTE 'WITH ins AS (INSERT INTO prefs_export_row'
             || ' (access_token, seq, profile_id, doc, src_xmin)'
             || ' SELECT $3, $12 + row_number() OVER (ORDER BY s.profile_id,'
             || ' s.k), s.profile_id, s.doc, s.x FROM ('
             || replace(prefs_export_query(sel), ' AS doc',
                        ' AS doc, p.xmin::text::bigint AS x')
             || ' AND p.profile_id > $10 AND p.profile_id <= $11) s'
             || ' WHERE s.doc IS NOT NULL'
             || ' RETURNING octet_length(doc) AS bytes)'
             || ' SELECT count(*), coalesce(sum(bytes), 0) FROM ins'
            INTO n, b
            USING e.account_id, sel -> 'values', e.access_token,
                  sel ->> 'since', sel -> 'match_values',
                  sel ->> 'match_type', sel -> 'fields', sel ->> 'start',
                  sel ->> 'end', e.snap_after, upto, e.row_count;
        UPDATE prefs_export x SET snap_after = upto,
               row_count = x.row_count + n, byte_count = x.byte_count + b
         WHERE x.access_token = e.access_token;
        RETURN 'more';
    END IF;

    -- the check: the first profile that joined or left the members, or
    -- (v3: a row per preference) whose copy is not of its version now.  A
    -- v4 member whose copy is not of its version now is copied again, in
    -- place, in the same statement.
    EXECUTE 'WITH c AS (' || prefs_export_members_query(sel) || '),'
         || ' r AS (SELECT w.profile_id, w.src_xmin,'
         || ' sum(octet_length(w.doc)) AS len FROM prefs_export_row w'
         || ' WHERE w.access_token = $3 GROUP BY 1, 2),'
         || ' d AS (SELECT c.profile_id AS cid, c.x, r.profile_id AS rid,'
         || ' r.len'
         || ' FROM c FULL JOIN r ON r.profile_id = c.profile_id'
         || CASE WHEN sel ->> 'format' = 'v3'
                 THEN ' AND r.src_xmin = c.x' ELSE '' END
         || ' WHERE c.profile_id IS NULL OR r.profile_id IS NULL'
         || ' OR r.src_xmin IS DISTINCT FROM c.x),'
         || ' u AS (UPDATE prefs_export_row w SET src_xmin = d.x, doc ='
         || ' prefs_profile_doc_fill($1, d.cid) FROM d'
         || ' WHERE w.access_token = $3 AND w.profile_id = d.cid'
         || ' AND d.rid = d.cid'
         || ' RETURNING octet_length(w.doc) - d.len AS bytes)'
         || ' SELECT (SELECT min(coalesce(d.cid, d.rid)) FROM d'
         || ' WHERE d.cid IS NULL OR d.rid IS NULL),'
         || ' (SELECT coalesce(sum(bytes), 0) FROM u)'
        INTO first, b
        USING e.account_id, sel -> 'values', e.access_token,
              sel ->> 'since', sel -> 'match_values', sel ->> 'match_type',
              sel -> 'fields', sel ->> 'start', sel ->> 'end';

    UPDATE prefs_export x SET byte_count = x.byte_count + b
     WHERE x.access_token = e.access_token;

    IF first IS NULL THEN
        UPDATE prefs_export x SET status = 'Complete', finished_at = now(),
               snap_rounds = x.snap_rounds + 1
         WHERE x.access_token = e.access_token;
        RETURN 'complete';
    END IF;

    IF e.snap_rounds >= 19 THEN
        RAISE EXCEPTION 'the profiles kept changing: % checks found a '
                        'profile changed since it was copied',
                        e.snap_rounds + 1;
    END IF;

    WITH gone AS (
        DELETE FROM prefs_export_row w
         WHERE w.access_token = e.access_token AND w.profile_id >= first
        RETURNING octet_length(w.doc) AS bytes)
    SELECT count(*), coalesce(sum(bytes), 0) INTO n, b FROM gone;
    UPDATE prefs_export x SET snap_after = first - 1,
           row_count = x.row_count - n, byte_count = x.byte_count - b,
           snap_rounds = x.snap_rounds + 1
     WHERE x.access_token = e.access_token;
    RETURN 'more';
END
$$;


-- The helper's job: takes the export's snapshot a step at a time
-- (prefs_export_step), each call within prefs_db_query_timeout: 'more'
-- while steps remain (the job calls again at once).  In a session without
-- a statement_timeout (prefsctl) one call takes every step.  Idempotent:
-- a run of a finished export does nothing, a run after an interrupted one
-- goes on from the last step committed.  An error is the export's (Status
-- Error), not the job's.  While its callback is not done (delivered or
-- given up), every run answers what the helper needs to sign and send it:
-- the URL, the body (the status) and the sealed secrets
-- (prefs_export_callback_secrets).
CREATE OR REPLACE FUNCTION prefs_export_run(p_access_token bigint)
RETURNS TABLE (outcome text, message text, url text, body text,
               secrets text)
LANGUAGE plpgsql AS $$
DECLARE
    e     prefs_export;
    done  boolean;
    step  text;
    once  boolean := current_setting('statement_timeout') <> '0';
BEGIN
    SELECT * INTO e FROM prefs_export x
     WHERE x.access_token = p_access_token FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'done', 'gone', NULL::text, NULL::text,
                            NULL::text;
        RETURN;
    END IF;

    done := e.status <> 'Processing';

    IF NOT done THEN
        BEGIN
            LOOP
                UPDATE prefs_export x SET snap_steps = x.snap_steps + 1
                 WHERE x.access_token = e.access_token RETURNING * INTO e;
                step := prefs_export_step(e);
                EXIT WHEN step <> 'more' OR once;
                SELECT * INTO e FROM prefs_export x
                 WHERE x.access_token = p_access_token;
            END LOOP;
        EXCEPTION WHEN others THEN
            UPDATE prefs_export x SET status = 'Error', error = SQLERRM,
                   finished_at = now()
             WHERE x.access_token = e.access_token;
        END;
        SELECT * INTO e FROM prefs_export x
         WHERE x.access_token = p_access_token;
        IF e.status = 'Processing' THEN
            RETURN QUERY SELECT 'more', NULL::text, NULL::text, NULL::text,
                                NULL::text;
            RETURN;
        END IF;
    END IF;

    RETURN QUERY
        SELECT CASE WHEN done THEN 'done' ELSE lower(e.status) END, e.error,
               c.url, c.body, c.secrets
          FROM (SELECT 1) one
          LEFT JOIN (SELECT e.callback_url AS url,
                            prefs_export_status_json(e) AS body,
                            prefs_export_callback_secrets(e.account_id)
                                AS secrets
                      WHERE e.callback_url IS NOT NULL
                        AND NOT e.callback_done
                        AND e.status IN ('Complete', 'Error')) c ON true;
END
$$;


-- The secrets an export callback is signed with: those of the account's
-- webhook subscriptions that are Active and validated (the ones deliveries
-- are signed with now), each subscription's current secret and, during a
-- rotation's grace, its previous one; at most 8 subscriptions, the oldest
-- first.  A JSON array of sealed secrets ('[]': the callback goes
-- unsigned).  Webhook secrets belong to subscriptions, not to the account:
-- signing with each lets the receiver of any of them verify (Standard
-- Webhooks carries several signatures, space-separated).
CREATE OR REPLACE FUNCTION prefs_export_callback_secrets(p_account_id bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(x.secret ORDER BY x.subscription_id, x.n),
                    '[]')::text
      FROM (SELECT s.subscription_id, v.n, v.secret
              FROM (SELECT * FROM prefs_webhook_subscription s
                     WHERE s.account_id = p_account_id
                       AND s.state = 'Active'
                       AND s.validated_at IS NOT NULL
                     ORDER BY s.subscription_id
                     LIMIT 8) s,
                   LATERAL (VALUES (1, s.secret_sealed),
                                   (2, CASE WHEN s.secret_previous_until
                                                 > now()
                                            THEN s.secret_previous END)) v(n, secret)
             WHERE v.secret IS NOT NULL) x
$$;


-- The outcome of one attempt of an export's callback, as the helper's
-- webhook client saw it (p_outcome: {"status": HTTP status or 0,
-- "retry_after": seconds or null, "error": text or null, "refused":
-- bool}), classified as webhook deliveries are (prefs_webhook_result):
--
--   2xx                       delivered: done
--   408, 429, 5xx, no answer  retried after prefs_webhook_backoff(attempt,
--                             p_schedule (prefs_webhook_retries), its
--                             Retry-After): outcome 'retry' and retry_ms;
--                             the schedule spent: failed
--   3xx, other 4xx, refused   failed at once (the destination policy, or
--                             a receiver that refuses stays refused)
--
-- 'already' when the callback was done before (a job run twice).  The
-- attempt and its result are recorded on the export.
CREATE OR REPLACE FUNCTION prefs_export_callback(p_access_token bigint,
    p_outcome jsonb, p_schedule integer[])
RETURNS TABLE (outcome text, retry_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    e        prefs_export;
    st       integer := coalesce((p_outcome ->> 'status')::integer, 0);
    what     text;
    delay    interval;
BEGIN
    UPDATE prefs_export x SET callback_attempts = x.callback_attempts + 1
     WHERE x.access_token = p_access_token AND NOT x.callback_done
       AND x.callback_url IS NOT NULL
    RETURNING * INTO e;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'already'::text, NULL::bigint;
        RETURN;
    END IF;

    what := CASE WHEN st = 0
                 THEN coalesce(p_outcome ->> 'error', 'no answer')
                 ELSE 'HTTP ' || st END;

    IF st BETWEEN 200 AND 299 THEN
        UPDATE prefs_export x SET callback_done = true,
               callback_result = 'Delivered: ' || what
         WHERE x.access_token = p_access_token;
        RETURN QUERY SELECT 'delivered'::text, NULL::bigint;
        RETURN;
    END IF;

    IF NOT coalesce((p_outcome ->> 'refused')::boolean, false)
       AND (st = 0 OR st IN (408, 429) OR st >= 500)
    THEN
        delay := prefs_webhook_backoff(e.callback_attempts, p_schedule,
                                       (p_outcome ->> 'retry_after')::integer);
        IF delay IS NOT NULL THEN
            UPDATE prefs_export x
               SET callback_result = 'Retrying: ' || what
             WHERE x.access_token = p_access_token;
            RETURN QUERY SELECT 'retry'::text,
                (extract(epoch FROM delay) * 1000)::bigint;
            RETURN;
        END IF;
    END IF;

    UPDATE prefs_export x SET callback_done = true,
           callback_result = 'Failed: '
               || CASE WHEN coalesce((p_outcome ->> 'refused')::boolean,
                                     false)
                       THEN 'refused by the destination policy: ' ELSE '' END
               || what || ' (attempt ' || e.callback_attempts || ')'
     WHERE x.access_token = p_access_token;
    RETURN QUERY SELECT 'failed'::text, NULL::bigint;
END
$$;


-- An account's exports past their time: Expired, their rows gone.
CREATE OR REPLACE FUNCTION prefs_export_expire(p_account_id bigint)
RETURNS void
LANGUAGE sql AS $$
    WITH gone AS (
        UPDATE prefs_export x SET status = 'Expired'
         WHERE x.account_id = p_account_id AND x.expires_at < now()
           AND x.status <> 'Expired'
        RETURNING x.access_token)
    DELETE FROM prefs_export_row r USING gone
     WHERE r.access_token = gone.access_token
$$;


-- An export of the account that has not expired (not locked: the job holds
-- its row while it runs, and Status must answer meanwhile)
CREATE OR REPLACE FUNCTION prefs_export_live(p_account_id bigint,
    p_access_token bigint)
RETURNS prefs_export
LANGUAGE sql STABLE AS $$
    SELECT * FROM prefs_export x
     WHERE x.access_token = p_access_token AND x.account_id = p_account_id
       AND x.status <> 'Expired' AND x.expires_at >= now()
$$;


-- GET Status/Token/{accessToken}; POST Export/{accessToken}/Commit (which
-- ends the export: its rows go, the token is spent).  outcome ok or
-- invalid_token.
CREATE OR REPLACE FUNCTION prefs_export_state(p_account_id bigint,
    p_access_token bigint, p_commit boolean)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    e  prefs_export := prefs_export_live(p_account_id, p_access_token);
BEGIN
    IF e.access_token IS NULL THEN
        RETURN QUERY SELECT 'invalid_token', NULL::text;
        RETURN;
    END IF;
    IF p_commit THEN
        IF e.status = 'Processing' THEN
            RETURN QUERY SELECT 'processing', NULL::text;
            RETURN;
        END IF;
        UPDATE prefs_export x SET status = 'Expired'
         WHERE x.access_token = e.access_token;
        DELETE FROM prefs_export_row r WHERE r.access_token = e.access_token;
    END IF;
    RETURN QUERY SELECT 'ok', prefs_export_status_json(e);
END
$$;


-- The rows from p_offset (1-based, up to p_limit) of a live export of the
-- account, in one statement (one snapshot: the token's check, the head and
-- the range); the range that reaches the end ends the export unless
-- p_keep_alive (its rows are deleted by the same statement, which still
-- reads them: the statement's snapshot is taken before).  The first row's
-- outcome: ok, invalid_token, processing, failed (body: why); more:
-- whether rows follow the range.  When ok, its body is p_lines' head: for
-- a page (p_lines false) '{"Count":...,"UserProfilePreferences":[' (or
-- "Preferences"), for the NDJSON download ''; the rows that follow
-- (outcome 'doc') are the documents in order, as stored (for lines, a
-- newline in a document, which can only be whitespace, becomes a space;
-- a document without one stays as stored, compressed, as this function's
-- result is kept until returned: 1,000 documents decompressed and copied
-- for the newline a line ends with passed work_mem and went through a
-- temporary file, twice the time of a page's range).  The worker sends
-- them (a page: joined with ',', closed by ']}'; lines: each followed by
-- a newline) from the result, without copying them.  Rows, not one
-- aggregated string: string_agg over megabytes, then a result spilled past
-- work_mem, cost four times the read of the rows (docs/export.md, "Where
-- the time goes"); SQL, not PL/pgSQL, whose RETURN QUERY copied the rows
-- into a result of its own.  GET Export/{accessToken}?limit=&offset=
-- &keepAlive= calls it with p_lines false, the NDJSON download with true.
-- Without JIT: a SQL function's statement is planned at each call, and
-- with 1,000,000 rows in prefs_export_row the plan's cost (the DELETE of
-- an export's rows, run only for the last page) passed jit_above_cost, so
-- every page compiled its expressions: 0.8 to 1 s a page instead of 17 ms.
CREATE OR REPLACE FUNCTION prefs_export_rows(p_account_id bigint,
    p_access_token bigint, p_limit integer, p_offset bigint,
    p_keep_alive boolean, p_lines boolean)
RETURNS TABLE (outcome text, body text, more boolean)
LANGUAGE sql SET jit = off AS $$
    WITH e AS MATERIALIZED (
        SELECT x.access_token, x.status, x.error, x.row_count,
               x.selection ->> 'format' AS format,
               x.status NOT IN ('Processing', 'Error') AS ok,
               p_offset + p_limit - 1 < x.row_count AS m
          FROM prefs_export x
         WHERE x.access_token = p_access_token
           AND x.account_id = p_account_id
           AND x.status <> 'Expired' AND x.expires_at >= now()),
    ended AS (
        UPDATE prefs_export x SET status = 'Expired'
          FROM e
         WHERE x.access_token = e.access_token
           AND e.ok AND NOT e.m AND NOT p_keep_alive
        RETURNING x.access_token),
    gone AS (
        DELETE FROM prefs_export_row r
         WHERE r.access_token = p_access_token
           AND EXISTS (SELECT FROM ended))
    SELECT a.outcome, a.body, a.more
      FROM (SELECT 0::bigint AS k,
                   CASE WHEN e.access_token IS NULL THEN 'invalid_token'
                        WHEN e.status = 'Processing' THEN 'processing'
                        WHEN e.status = 'Error' THEN 'failed'
                        ELSE 'ok' END AS outcome,
                   CASE WHEN e.status = 'Error'
                        THEN 'The export failed: ' || e.error
                        WHEN NOT coalesce(e.ok, false) THEN NULL
                        WHEN p_lines THEN ''
                        ELSE format('{"Count":%s,"HasMore":%s,"Limit":%s,'
                                    '"Offset":%s,"TotalResults":%s,"%s":[',
                                    greatest(0, least(p_limit,
                                        e.row_count - p_offset + 1)),
                                    CASE WHEN e.m THEN 'true'
                                         ELSE 'false' END,
                                    p_limit, p_offset, e.row_count,
                                    CASE WHEN e.format = 'v3'
                                         THEN 'Preferences'
                                         ELSE 'UserProfilePreferences' END)
                   END AS body,
                   coalesce(e.ok AND e.m, false) AS more
              FROM (SELECT 1) one LEFT JOIN e ON true
            UNION ALL
            -- rows p_offset.. of 1..row_count, without gaps
            SELECT r.seq,
                   'doc',
                   CASE WHEN p_lines AND strpos(r.doc, E'\n') > 0
                        THEN replace(r.doc, E'\n', ' ')
                        ELSE r.doc END,
                   e.m
              FROM e JOIN prefs_export_row r
                ON r.access_token = e.access_token
             WHERE e.ok AND r.access_token = p_access_token
               AND r.seq BETWEEN p_offset AND p_offset + p_limit - 1) a
     ORDER BY a.k
$$;
