-- Segments and segment groups (issue 13; tables in 026_segments_export.sql).
--
-- A segment is {"Name", "Description", "Criteria": [row, ...]}: a profile
-- is in it when every row holds.  A row is {"Field", "Operator", "Value" or
-- "Values", qualifiers...}; what each Field takes is the table of
-- prefs_seg_fields() below.  A segment group is {"Name", "Description",
-- "Operator": "And" | "Or" | "Except", "Segments": [names]}: Except is the
-- first segment without the profiles of any other.
--
-- Rows are checked against the account's configuration when written
-- (prefs_seg_check: 400 naming the row and the field), and compiled when
-- used (prefs_seg_compile) into one predicate over "p" (prefs_profile)
-- whose values are all in ONE jsonb parameter, $2 ($1 is the account):
-- the SQL text holds only the fixed fragments of this file, column names
-- from its whitelist and the positions of values in $2, never a value.


-- The fields a criterion row can name: the operators it takes, the
-- qualifiers it takes (and which of them are required), the configuration
-- kind its values must name, if any.
CREATE OR REPLACE FUNCTION prefs_seg_fields()
RETURNS TABLE (field text, ops text[], quals text[], required text[],
               cfg_kind text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
    ('FirstName', '{Equals,In,StartsWith,Exists,NotExists}'::text[],
     '{}'::text[], '{}'::text[], NULL::text),
    ('LastName', '{Equals,In,StartsWith,Exists,NotExists}', '{}', '{}', NULL),
    ('MiddleName', '{Equals,In,StartsWith,Exists,NotExists}', '{}', '{}', NULL),
    ('Prefix', '{Equals,In,Exists,NotExists}', '{}', '{}', NULL),
    ('Suffix', '{Equals,In,Exists,NotExists}', '{}', '{}', NULL),
    ('DefaultLocale', '{Equals,In,Exists,NotExists}', '{}', '{}', 'Locale'),
    ('CustomerType', '{Equals,In,Exists,NotExists}', '{}', '{}',
     'CustomerType'),
    ('IsActive', '{Equals}', '{}', '{}', NULL),
    ('CreatedDate', '{Before,OnOrAfter,Between}', '{}', '{}', NULL),
    ('UpdatedDate', '{Before,OnOrAfter,Between}', '{}', '{}', NULL),
    ('EmailAddress', '{Equals,In,EndsWith,Exists,NotExists}', '{Type}', '{}',
     NULL),
    ('PhoneNumber', '{Equals,In,StartsWith,Exists,NotExists}',
     '{Type,IsMobile}', '{}', NULL),
    ('PostalCode', '{Equals,In,StartsWith}', '{Type}', '{}', NULL),
    ('CountryCode', '{Equals,In}', '{Type}', '{}', NULL),
    ('StateProvince', '{Equals,In}', '{Type}', '{}', NULL),
    ('Address', '{Exists,NotExists}', '{Type}', '{}', NULL),
    ('AlternateId', '{Equals,In,Exists,NotExists}', '{Type}', '{Type}', NULL),
    ('Preference', '{Exists,NotExists}',
     '{FilterId,ProgramId,ChannelId,PreferenceType,Status}', '{}', NULL),
    ('Consent', '{Exists,NotExists}',
     '{ConsentType,ConsentVersion,ConsentStatus}', '{ConsentType}', NULL),
    ('Group', '{Exists,NotExists}', '{GroupType,GroupName}', '{GroupType}',
     NULL),
    ('Tag', '{Exists,NotExists}', '{}', '{}', 'Tag'),
    ('CustomField', '{Equals,In,StartsWith,Exists,NotExists}', '{Name}',
     '{Name}', NULL)
$$;


-- the type each qualifier names in the configuration ('' = free text,
-- 'bool' = a boolean, an enum as its values)
CREATE OR REPLACE FUNCTION prefs_seg_qual_kind(p_field text, p_qual text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_qual = 'Type' THEN CASE p_field
            WHEN 'EmailAddress' THEN 'EmailType'
            WHEN 'PhoneNumber' THEN 'PhoneType'
            WHEN 'AlternateId' THEN 'AlternateIdType'
            ELSE 'AddressType' END
        WHEN p_qual = 'IsMobile' THEN 'bool'
        WHEN p_qual = 'FilterId' THEN 'Filter'
        WHEN p_qual = 'ProgramId' THEN 'Program'
        WHEN p_qual = 'ChannelId' THEN 'Channel'
        WHEN p_qual = 'PreferenceType' THEN 'enum:OptIn,OptOut'
        WHEN p_qual = 'Status' THEN 'enum:Active,Archived'
        WHEN p_qual = 'ConsentType' THEN 'ConsentType'
        WHEN p_qual = 'ConsentVersion' THEN ''
        WHEN p_qual = 'ConsentStatus' THEN 'enum:Granted,Denied,Revoked,NotSet'
        WHEN p_qual = 'GroupType' THEN 'GroupType'
        WHEN p_qual = 'GroupName' THEN ''
        WHEN p_qual = 'Name' THEN 'CustomField'
    END
$$;


-- an active configuration item of the account (a channel: one some active
-- filter is on)
CREATE OR REPLACE FUNCTION prefs_seg_cfg_has(p_account_id bigint,
    p_kind text, p_key text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_kind = 'Channel' THEN
        EXISTS (SELECT 1 FROM prefs_config_item i
                 WHERE i.account_id = p_account_id AND i.kind = 'Filter'
                   AND i.is_active AND i.body ->> 'ChannelId' = p_key)
    ELSE
        EXISTS (SELECT 1 FROM prefs_config_item i
                 WHERE i.account_id = p_account_id AND i.kind = p_kind
                   AND i.is_active AND i.key = p_key)
    END
$$;


-- A string value of a row: 1 to 256 characters, without control characters.
CREATE OR REPLACE FUNCTION prefs_seg_string(p_path text, v jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(v) IS DISTINCT FROM 'string' THEN
        PERFORM prefs_cfg_fail(p_path, 'must be a string');
    END IF;
    IF char_length(v #>> '{}') NOT BETWEEN 1 AND 256 THEN
        PERFORM prefs_cfg_fail(p_path, 'must be 1 to 256 characters long');
    END IF;
    IF (v #>> '{}') ~ '[\x01-\x1f\x7f]' THEN
        PERFORM prefs_cfg_fail(p_path, 'must not hold control characters');
    END IF;
    RETURN v #>> '{}';
END
$$;


-- One value of a row's field, checked and normalized: lower case for the
-- fields compared without case, a phone number's digits, a date as UTC ISO.
CREATE OR REPLACE FUNCTION prefs_seg_value(p_account_id bigint, p_path text,
    p_field text, p_cfg_kind text, v jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s  text;
    t  timestamptz;
BEGIN
    IF p_field = 'IsActive' THEN
        IF jsonb_typeof(v) IS DISTINCT FROM 'boolean' THEN
            PERFORM prefs_cfg_fail(p_path, 'must be true or false');
        END IF;
        RETURN v;
    END IF;

    s := prefs_seg_string(p_path, v);

    IF p_field IN ('CreatedDate', 'UpdatedDate') THEN
        IF s !~ '^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$'
        THEN
            PERFORM prefs_cfg_fail(p_path, 'must be an ISO 8601 date');
        END IF;
        BEGIN
            t := CASE WHEN s ~ '(Z|[+-]\d{2}:?\d{2})$' THEN s::timestamptz
                      ELSE (s::timestamp AT TIME ZONE 'UTC') END;
        EXCEPTION WHEN others THEN
            PERFORM prefs_cfg_fail(p_path, 'must be an ISO 8601 date');
        END;
        RETURN to_jsonb(prefs_iso(t));
    END IF;

    IF p_cfg_kind IS NOT NULL
       AND NOT prefs_seg_cfg_has(p_account_id, p_cfg_kind, s) THEN
        PERFORM prefs_cfg_fail(p_path, format('names no %s of this account: %s',
                                              p_cfg_kind, prefs_cfg_quote(s)));
    END IF;

    IF p_field = 'PhoneNumber' THEN
        s := CASE WHEN s ~ '^\s*\+' THEN '+' ELSE '' END
             || regexp_replace(s, '[^0-9]', '', 'g');
        IF s IN ('', '+') THEN
            PERFORM prefs_cfg_fail(p_path, 'must hold digits');
        END IF;
    ELSIF p_field IN ('FirstName', 'LastName', 'MiddleName', 'EmailAddress',
                      'PostalCode') THEN
        s := lower(s);
    ELSIF p_field = 'CountryCode' THEN
        s := upper(s);
    END IF;

    RETURN to_jsonb(s);
END
$$;


-- The criteria of a segment, checked against the account's configuration
-- and normalized (values as they are compared); raises PF001 naming the row
-- and field of the first error.
CREATE OR REPLACE FUNCTION prefs_seg_check(p_account_id bigint,
    p_criteria jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    row_     jsonb;
    i        integer := 0;
    rp       text;
    f        record;
    op       text;
    k        text;
    qk       text;
    q        jsonb;
    out_row  jsonb;
    vals     jsonb;
    n        integer;
    result   jsonb := '[]';
BEGIN
    IF jsonb_typeof(p_criteria) IS DISTINCT FROM 'array' THEN
        PERFORM prefs_cfg_fail('Criteria', 'must be an array');
    END IF;
    IF jsonb_array_length(p_criteria) NOT BETWEEN 1 AND 50 THEN
        PERFORM prefs_cfg_fail('Criteria', 'must hold 1 to 50 rows');
    END IF;

    FOR row_ IN SELECT x FROM jsonb_array_elements(p_criteria) x LOOP
        rp := format('Criteria[%s]', i);
        IF jsonb_typeof(row_) <> 'object' THEN
            PERFORM prefs_cfg_fail(rp, 'must be an object');
        END IF;

        IF jsonb_typeof(row_ -> 'Field') IS DISTINCT FROM 'string' THEN
            PERFORM prefs_cfg_fail(rp || '.Field', 'must be a string');
        END IF;
        SELECT * INTO f FROM prefs_seg_fields() x
         WHERE x.field = row_ ->> 'Field';
        IF NOT FOUND THEN
            PERFORM prefs_cfg_fail(rp || '.Field', format(
                'must be one of %s', (SELECT string_agg(x.field, ', ')
                                        FROM prefs_seg_fields() x)));
        END IF;

        op := CASE WHEN row_ ? 'Operator' THEN NULL
                   WHEN f.ops = '{Exists,NotExists}' THEN 'Exists' END;
        IF op IS NULL THEN
            IF jsonb_typeof(row_ -> 'Operator') IS DISTINCT FROM 'string'
               OR NOT (row_ ->> 'Operator') = ANY (f.ops) THEN
                PERFORM prefs_cfg_fail(rp || '.Operator', format(
                    'must be one of %s for %s', array_to_string(f.ops, ', '),
                    f.field));
            END IF;
            op := row_ ->> 'Operator';
        END IF;

        FOR k IN SELECT jsonb_object_keys(row_) LOOP
            IF NOT (k = ANY ('{Field,Operator,Value,Values}'::text[] || f.quals))
            THEN
                PERFORM prefs_cfg_fail(rp || '.' || k, format(
                    'is not a field of a %s criterion', f.field));
            END IF;
        END LOOP;

        out_row := jsonb_build_object('Field', f.field, 'Operator', op);

        -- qualifiers
        FOREACH k IN ARRAY f.quals LOOP
            q := prefs_cfg_get(row_, k);
            IF q IS NULL THEN
                IF k = ANY (f.required) THEN
                    PERFORM prefs_cfg_fail(rp || '.' || k, 'is required');
                END IF;
                CONTINUE;
            END IF;
            qk := prefs_seg_qual_kind(f.field, k);
            IF qk = 'bool' THEN
                IF jsonb_typeof(q) <> 'boolean' THEN
                    PERFORM prefs_cfg_fail(rp || '.' || k,
                                           'must be true or false');
                END IF;
            ELSE
                PERFORM prefs_seg_string(rp || '.' || k, q);
                IF qk LIKE 'enum:%' THEN
                    IF NOT (q #>> '{}') = ANY (string_to_array(substr(qk, 6), ','))
                    THEN
                        PERFORM prefs_cfg_fail(rp || '.' || k, format(
                            'must be one of %s',
                            replace(substr(qk, 6), ',', ', ')));
                    END IF;
                ELSIF qk <> '' AND NOT prefs_seg_cfg_has(p_account_id, qk,
                                                         q #>> '{}') THEN
                    PERFORM prefs_cfg_fail(rp || '.' || k, format(
                        'names no %s of this account: %s', qk,
                        prefs_cfg_quote(q #>> '{}')));
                END IF;
            END IF;
            out_row := out_row || jsonb_build_object(k, q);
        END LOOP;

        IF f.field = 'Consent' AND out_row ? 'ConsentVersion'
           AND NOT EXISTS (
               SELECT 1 FROM prefs_config_item c,
                      jsonb_array_elements(c.body -> 'Versions') v
                WHERE c.account_id = p_account_id AND c.kind = 'ConsentType'
                  AND c.key = out_row ->> 'ConsentType'
                  AND v ->> 'ConsentVersion' = out_row ->> 'ConsentVersion') THEN
            PERFORM prefs_cfg_fail(rp || '.ConsentVersion', format(
                'is not a version of consent type %s',
                prefs_cfg_quote(out_row ->> 'ConsentType')));
        END IF;

        -- the value(s)
        IF op IN ('Equals', 'StartsWith', 'EndsWith', 'Before', 'OnOrAfter')
           OR (f.field = 'Tag' AND row_ ? 'Value') THEN
            IF row_ ? 'Values' THEN
                PERFORM prefs_cfg_fail(rp || '.Values', format(
                    'is not taken by %s: give Value', op));
            END IF;
            IF NOT row_ ? 'Value' THEN
                PERFORM prefs_cfg_fail(rp || '.Value', 'is required');
            END IF;
            out_row := out_row || jsonb_build_object('Values', jsonb_build_array(
                prefs_seg_value(p_account_id, rp || '.Value', f.field,
                                f.cfg_kind, row_ -> 'Value')));
        ELSIF op IN ('In', 'Between') OR f.field = 'Tag' THEN
            IF row_ ? 'Value' THEN
                PERFORM prefs_cfg_fail(rp || '.Value', format(
                    'is not taken by %s: give Values', op));
            END IF;
            IF jsonb_typeof(row_ -> 'Values') IS DISTINCT FROM 'array' THEN
                PERFORM prefs_cfg_fail(rp || '.Values',
                                       'is required: an array');
            END IF;
            n := jsonb_array_length(row_ -> 'Values');
            IF op = 'Between' AND n <> 2 THEN
                PERFORM prefs_cfg_fail(rp || '.Values',
                                       'must hold two dates, from and before');
            END IF;
            IF n NOT BETWEEN 1 AND 1000 THEN
                PERFORM prefs_cfg_fail(rp || '.Values',
                                       'must hold 1 to 1000 values');
            END IF;
            SELECT jsonb_agg(prefs_seg_value(p_account_id,
                                 format('%s.Values[%s]', rp, x.n - 1),
                                 f.field, f.cfg_kind, x.v) ORDER BY x.n)
              INTO vals
              FROM jsonb_array_elements(row_ -> 'Values')
                   WITH ORDINALITY AS x(v, n);
            out_row := out_row || jsonb_build_object('Values', vals);
        ELSIF row_ ? 'Value' OR row_ ? 'Values' THEN
            PERFORM prefs_cfg_fail(rp || CASE WHEN row_ ? 'Value' THEN '.Value'
                                              ELSE '.Values' END,
                                   format('is not taken by %s', op));
        END IF;

        result := result || jsonb_build_array(out_row);
        i := i + 1;
    END LOOP;

    RETURN result;
END
$$;


-- $2 -> n as SQL text: one value, or the array of a row's values
CREATE OR REPLACE FUNCTION prefs_seg_ref(n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('($2->>%s)', n)
$$;

CREATE OR REPLACE FUNCTION prefs_seg_refs(n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('ARRAY(SELECT jsonb_array_elements_text($2->%s))', n)
$$;


-- The predicate of checked criteria (prefs_seg_check's result) over "p",
-- appending the values it compares to p_values (the $2 of the query).
CREATE OR REPLACE FUNCTION prefs_seg_compile(p_criteria jsonb,
    INOUT p_values jsonb, OUT p_sql text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r      jsonb;
    fld    text;
    op     text;
    col    text;
    tbl    text;
    conds  text[];
    cond   text;
    parts  text[] := '{}';
    n      integer;
    q      text;
BEGIN
    FOR r IN SELECT x FROM jsonb_array_elements(p_criteria) x LOOP
        fld := r ->> 'Field';
        op := r ->> 'Operator';
        conds := '{}';
        cond := NULL;
        tbl := NULL;

        -- the values of the row, when it has any, are one element of $2
        IF r ? 'Values' THEN
            p_values := p_values || jsonb_build_array(
                CASE WHEN op IN ('In', 'Between') OR fld = 'Tag'
                     THEN r -> 'Values' ELSE r -> 'Values' -> 0 END);
            n := jsonb_array_length(p_values) - 1;
        END IF;

        -- the column compared (a whitelist: nothing of the row is spliced)
        col := CASE fld
            WHEN 'FirstName' THEN 'lower(p.first_name)'
            WHEN 'LastName' THEN 'lower(p.last_name)'
            WHEN 'MiddleName' THEN 'lower(p.middle_name)'
            WHEN 'Prefix' THEN 'p.prefix'
            WHEN 'Suffix' THEN 'p.suffix'
            WHEN 'DefaultLocale' THEN 'p.default_locale'
            WHEN 'CustomerType' THEN 'p.customer_type'
            WHEN 'IsActive' THEN 'p.is_active'
            WHEN 'CreatedDate' THEN 'p.created_at'
            WHEN 'UpdatedDate' THEN 'p.edited_at'
            WHEN 'EmailAddress' THEN 'lower(x.address)'
            WHEN 'PhoneNumber' THEN 'x.number'
            WHEN 'PostalCode' THEN 'lower(x.postal_code)'
            WHEN 'CountryCode' THEN 'upper(x.country)'
            WHEN 'StateProvince' THEN 'x.state'
            WHEN 'AlternateId' THEN 'x.value'
            WHEN 'Tag' THEN 'x.tag'
            WHEN 'CustomField' THEN 'x.value'
        END;

        tbl := CASE
            WHEN fld = 'EmailAddress' THEN 'prefs_profile_email'
            WHEN fld = 'PhoneNumber' THEN 'prefs_profile_phone'
            WHEN fld IN ('PostalCode', 'CountryCode', 'StateProvince',
                         'Address') THEN 'prefs_profile_address'
            WHEN fld = 'AlternateId' THEN 'prefs_profile_alternate_id'
            WHEN fld = 'Preference' THEN 'prefs_preference'
            WHEN fld = 'Consent' THEN 'prefs_consent'
            WHEN fld = 'Group' THEN 'prefs_profile_group'
            WHEN fld = 'Tag' THEN 'prefs_profile_tag'
            WHEN fld = 'CustomField' THEN 'prefs_profile_custom_field'
        END;

        -- the comparison of the value(s)
        IF fld = 'IsActive' THEN
            cond := format('p.is_active = (%s)::boolean', prefs_seg_ref(n));
        ELSIF op = 'Equals' THEN
            cond := format('%s = %s', col, prefs_seg_ref(n));
        ELSIF op = 'In' OR (fld = 'Tag' AND r ? 'Values') THEN
            cond := format('%s = ANY (%s)', col, prefs_seg_refs(n));
        ELSIF op = 'StartsWith' THEN
            cond := format('starts_with(%s, %s)', col, prefs_seg_ref(n));
        ELSIF op = 'EndsWith' THEN
            cond := format('right(%s, char_length(%s)) = %s', col,
                           prefs_seg_ref(n), prefs_seg_ref(n));
        ELSIF op = 'Before' THEN
            cond := format('%s < %s::timestamptz', col, prefs_seg_ref(n));
        ELSIF op = 'OnOrAfter' THEN
            cond := format('%s >= %s::timestamptz', col, prefs_seg_ref(n));
        ELSIF op = 'Between' THEN
            cond := format('%s >= ($2->%s->>0)::timestamptz'
                           ' AND %s < ($2->%s->>1)::timestamptz',
                           col, n, col, n);
        ELSIF tbl IS NULL THEN
            -- Exists / NotExists of a profile field
            cond := format('coalesce(%s, '''') <> ''''', col);
        END IF;

        IF tbl IS NULL THEN
            parts := parts || CASE WHEN op = 'NotExists'
                                   THEN format('NOT (%s)', cond) ELSE cond END;
            CONTINUE;
        END IF;

        -- a part of the profile: EXISTS over its table, qualifiers first
        IF cond IS NOT NULL THEN
            conds := conds || cond;
        END IF;

        IF r ? 'Type' OR r ? 'IsMobile' OR r ? 'FilterId' OR r ? 'ProgramId'
           OR r ? 'ChannelId' OR r ? 'PreferenceType' OR r ? 'ConsentType'
           OR r ? 'ConsentVersion' OR r ? 'ConsentStatus' OR r ? 'GroupType'
           OR r ? 'GroupName' OR r ? 'Name' THEN
            p_values := p_values || jsonb_build_array(r);
            n := jsonb_array_length(p_values) - 1;
            q := format('($2->%s', n);
            IF r ? 'Type' THEN
                conds := conds || format('x.type = %s->>''Type'')', q);
            END IF;
            IF r ? 'IsMobile' THEN
                conds := conds || format(
                    'x.is_mobile = (%s->>''IsMobile'')::boolean)', q);
            END IF;
            IF r ? 'FilterId' THEN
                conds := conds || format('x.filter_id = %s->>''FilterId'')', q);
            END IF;
            IF r ? 'ProgramId' THEN
                conds := conds || format(
                    'x.filter_id IN (SELECT i.key FROM prefs_config_item i'
                    ' WHERE i.account_id = $1 AND i.kind = ''Filter'''
                    ' AND i.body->>''ProgramId'' = %s->>''ProgramId''))', q);
            END IF;
            IF r ? 'ChannelId' THEN
                conds := conds || format('x.channel_id = %s->>''ChannelId'')',
                                         q);
            END IF;
            IF r ? 'PreferenceType' THEN
                conds := conds || format(
                    'x.preference_type = CASE %s->>''PreferenceType'')'
                    ' WHEN ''OptIn'' THEN 1 ELSE 2 END', q);
            END IF;
            IF r ? 'ConsentType' THEN
                conds := conds || format('x.type_name = %s->>''ConsentType'')',
                                         q);
            END IF;
            IF r ? 'ConsentVersion' THEN
                conds := conds || format(
                    'x.version = %s->>''ConsentVersion'')', q);
            END IF;
            IF r ? 'ConsentStatus' THEN
                conds := conds || format(
                    'x.status = array_position(''{Granted,Denied,Revoked,'
                    'NotSet}''::text[], %s->>''ConsentStatus''))', q);
            END IF;
            IF r ? 'GroupType' THEN
                conds := conds || format('x.group_type = %s->>''GroupType'')',
                                         q);
            END IF;
            IF r ? 'GroupName' THEN
                conds := conds || format('x.group_name = %s->>''GroupName'')',
                                         q);
            END IF;
            IF r ? 'Name' THEN
                conds := conds || format('x.name = %s->>''Name'')', q);
            END IF;
        END IF;

        IF fld = 'Preference' THEN
            conds := conds || CASE WHEN r ->> 'Status' = 'Archived'
                                   THEN 'x.is_archived'::text
                                   ELSE 'NOT x.is_archived' END;
        ELSIF fld = 'Consent' THEN
            -- the current record of its type (and contact point)
            conds := conds || ('x.is_active AND NOT EXISTS (SELECT 1 FROM'
                || ' prefs_consent y WHERE y.profile_id = x.profile_id'
                || ' AND y.type_name = x.type_name'
                || ' AND y.contact_key = x.contact_key'
                || ' AND y.consent_id > x.consent_id)');
        ELSIF tbl IN ('prefs_profile_email', 'prefs_profile_phone',
                      'prefs_profile_address', 'prefs_profile_alternate_id')
        THEN
            conds := conds || 'x.is_active'::text;
        END IF;

        cond := format('EXISTS (SELECT 1 FROM %I x WHERE x.account_id = $1'
                       ' AND x.profile_id = p.profile_id%s)', tbl,
                       coalesce((SELECT string_agg(' AND ' || c, '')
                                   FROM unnest(conds) c), ''));
        parts := parts || CASE WHEN op = 'NotExists'
                               THEN 'NOT ' || cond ELSE cond END;
    END LOOP;

    p_sql := '(' || array_to_string(parts, ' AND ') || ')';
END
$$;


-- The selection of a segment or segment group: {"sql": the predicate over
-- "p", "values": its $2}; NULL when the account has no such one.
CREATE OR REPLACE FUNCTION prefs_seg_selection(p_account_id bigint,
    p_kind text, p_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g       prefs_segment_group;
    crit    jsonb;
    vals    jsonb := '[]';
    sql_    text;
    parts   text[] := '{}';
    nm      text;
BEGIN
    IF p_kind = 'Segment' THEN
        SELECT s.criteria INTO crit FROM prefs_segment s
         WHERE s.account_id = p_account_id AND s.name = p_name;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        SELECT c.p_values, c.p_sql INTO vals, sql_
          FROM prefs_seg_compile(crit, vals) c;
        RETURN jsonb_build_object('sql', sql_, 'values', vals);
    END IF;

    SELECT * INTO g FROM prefs_segment_group s
     WHERE s.account_id = p_account_id AND s.name = p_name;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    FOREACH nm IN ARRAY g.segments LOOP
        SELECT s.criteria INTO crit FROM prefs_segment s
         WHERE s.account_id = p_account_id AND s.name = nm;
        SELECT c.p_values, c.p_sql INTO vals, sql_
          FROM prefs_seg_compile(crit, vals) c;
        parts := parts || sql_;
    END LOOP;

    sql_ := CASE g.operator
        WHEN 'And' THEN array_to_string(parts, ' AND ')
        WHEN 'Or' THEN array_to_string(parts, ' OR ')
        ELSE parts[1] || ' AND NOT (' || array_to_string(parts[2:], ' OR ')
             || ')' END;

    RETURN jsonb_build_object('sql', '(' || sql_ || ')', 'values', vals);
END
$$;


-- the query of a selection: the matching profiles' ids ($1 account, $2
-- values)
CREATE OR REPLACE FUNCTION prefs_seg_query(p_selection jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT p.profile_id FROM prefs_profile p WHERE p.account_id = $1'
           ' AND p.erased_at IS NULL AND ' || (p_selection ->> 'sql')
$$;


-- The profiles of a segment or group, and the plan of that query (for
-- tests and operators: prefsctl, psql).
CREATE OR REPLACE FUNCTION prefs_seg_members(p_account_id bigint,
    p_kind text, p_name text)
RETURNS SETOF bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sel  jsonb := prefs_seg_selection(p_account_id, p_kind, p_name);
BEGIN
    IF sel IS NOT NULL THEN
        RETURN QUERY EXECUTE prefs_seg_query(sel) || ' ORDER BY 1'
            USING p_account_id, sel -> 'values';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION prefs_seg_explain(p_account_id bigint,
    p_kind text, p_name text)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    sel  jsonb := prefs_seg_selection(p_account_id, p_kind, p_name);
BEGIN
    IF sel IS NOT NULL THEN
        RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || prefs_seg_query(sel)
            USING p_account_id, sel -> 'values';
    END IF;
END
$$;


-- the answer of a segment or group
CREATE OR REPLACE FUNCTION prefs_seg_json(s prefs_segment) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('Name', s.name, 'Description', s.description,
                              'Criteria', s.criteria,
                              'CreatedDate', prefs_iso(s.created_at),
                              'UpdatedDate', prefs_iso(s.updated_at))
$$;

CREATE OR REPLACE FUNCTION prefs_seg_group_json(g prefs_segment_group)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('Name', g.name, 'Description', g.description,
                              'Operator', g.operator,
                              'Segments', to_jsonb(g.segments),
                              'CreatedDate', prefs_iso(g.created_at),
                              'UpdatedDate', prefs_iso(g.updated_at))
$$;


-- Name, Description of a body (p_name: the path's, for a PUT)
CREATE OR REPLACE FUNCTION prefs_seg_name(b jsonb, p_name text,
    p_fields text[], OUT name text, OUT description text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k  text;
BEGIN
    IF jsonb_typeof(b) IS DISTINCT FROM 'object' THEN
        PERFORM prefs_cfg_fail('The body', 'must be a JSON object');
    END IF;
    FOR k IN SELECT jsonb_object_keys(b) LOOP
        IF NOT k = ANY (p_fields) THEN
            PERFORM prefs_cfg_fail(k, 'is not a field of this body');
        END IF;
    END LOOP;
    IF p_name IS NULL OR b ? 'Name' THEN
        name := prefs_seg_string('Name', b -> 'Name');
        IF name ~ '[/\\]' OR name <> btrim(name) THEN
            PERFORM prefs_cfg_fail('Name', 'must not hold "/" or "\" or '
                                   'begin or end with blanks');
        END IF;
        IF p_name IS NOT NULL AND name <> p_name THEN
            PERFORM prefs_cfg_fail('Name', 'must be the name in the path');
        END IF;
    ELSE
        name := p_name;
    END IF;
    description := '';
    IF prefs_cfg_get(b, 'Description') IS NOT NULL THEN
        IF jsonb_typeof(b -> 'Description') <> 'string'
           OR char_length(b ->> 'Description') > 1000 THEN
            PERFORM prefs_cfg_fail('Description',
                                   'must be a string of up to 1000 characters');
        END IF;
        description := b ->> 'Description';
    END IF;
END
$$;


-- The group body's Operator and Segments, checked
CREATE OR REPLACE FUNCTION prefs_seg_group_check(p_account_id bigint,
    b jsonb, OUT operator text, OUT segments text[])
LANGUAGE plpgsql AS $$
DECLARE
    i   integer;
    nm  text;
BEGIN
    IF jsonb_typeof(b -> 'Operator') IS DISTINCT FROM 'string'
       OR NOT (b ->> 'Operator') = ANY ('{And,Or,Except}') THEN
        PERFORM prefs_cfg_fail('Operator', 'must be And, Or or Except');
    END IF;
    operator := b ->> 'Operator';
    IF jsonb_typeof(b -> 'Segments') IS DISTINCT FROM 'array'
       OR jsonb_array_length(b -> 'Segments') NOT BETWEEN 2 AND 20 THEN
        PERFORM prefs_cfg_fail('Segments',
                               'must be an array of 2 to 20 segment names');
    END IF;
    segments := '{}';
    FOR i IN 0 .. jsonb_array_length(b -> 'Segments') - 1 LOOP
        nm := prefs_seg_string(format('Segments[%s]', i), b -> 'Segments' -> i);
        -- locked against a concurrent DELETE of the segment
        PERFORM 1 FROM prefs_segment s
          WHERE s.account_id = p_account_id AND s.name = nm FOR SHARE;
        IF NOT FOUND THEN
            PERFORM prefs_cfg_fail(format('Segments[%s]', i), format(
                'names no segment of this account: %s', prefs_cfg_quote(nm)));
        END IF;
        IF nm = ANY (segments) THEN
            PERFORM prefs_cfg_fail(format('Segments[%s]', i), format(
                'names %s twice', prefs_cfg_quote(nm)));
        END IF;
        segments := segments || nm;
    END LOOP;
END
$$;


-- The admin routes, one call: p_kind 'Segment' | 'SegmentGroup', p_method
-- GET | POST | PUT | DELETE, p_name the path's name (NULL: the collection).
-- outcome: ok, created, deleted, not_found, exists, in_use, invalid; body:
-- the answer, or the message of a refusal.
CREATE OR REPLACE FUNCTION prefs_seg_call(p_account_id bigint, p_kind text,
    p_method text, p_name text, p_body jsonb)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
    nm    record;
    crit  jsonb;
    g     record;
    s     prefs_segment;
    sg    prefs_segment_group;
    used  text;
BEGIN
    -- export schedules (sql/functions/export.sql) share the admin routes'
    -- handler
    IF p_kind = 'ExportSchedule' THEN
        RETURN QUERY SELECT * FROM prefs_export_schedule_call(p_account_id,
            p_method, p_name, p_body);
        RETURN;
    END IF;

    IF p_method = 'GET' AND p_name IS NULL THEN
        IF p_kind = 'Segment' THEN
            RETURN QUERY SELECT 'ok', jsonb_build_object('Segments',
                coalesce(jsonb_agg(prefs_seg_json(x) ORDER BY x.name), '[]'))::text
              FROM prefs_segment x WHERE x.account_id = p_account_id;
        ELSE
            RETURN QUERY SELECT 'ok', jsonb_build_object('SegmentGroups',
                coalesce(jsonb_agg(prefs_seg_group_json(x) ORDER BY x.name),
                         '[]'))::text
              FROM prefs_segment_group x WHERE x.account_id = p_account_id;
        END IF;
        RETURN;
    END IF;

    IF p_method IN ('GET', 'DELETE', 'PUT') THEN
        IF p_kind = 'Segment' AND p_method = 'GET' THEN
            SELECT * INTO s FROM prefs_segment x
             WHERE x.account_id = p_account_id AND x.name = p_name;
        ELSIF p_kind = 'Segment' THEN
            SELECT * INTO s FROM prefs_segment x
             WHERE x.account_id = p_account_id AND x.name = p_name
               FOR UPDATE;
        ELSE
            SELECT * INTO sg FROM prefs_segment_group x
             WHERE x.account_id = p_account_id AND x.name = p_name;
        END IF;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'not_found', format('No %s %s in this account',
                CASE p_kind WHEN 'Segment' THEN 'segment'
                            ELSE 'segment group' END,
                prefs_cfg_quote(p_name));
            RETURN;
        END IF;
    END IF;

    IF p_method = 'GET' THEN
        RETURN QUERY SELECT 'ok', CASE p_kind WHEN 'Segment'
            THEN prefs_seg_json(s) ELSE prefs_seg_group_json(sg) END::text;
        RETURN;
    END IF;

    IF p_method = 'DELETE' THEN
        IF p_kind = 'Segment' THEN
            SELECT x.name INTO used FROM prefs_segment_group x
             WHERE x.account_id = p_account_id AND p_name = ANY (x.segments)
             ORDER BY x.name LIMIT 1;
            IF used IS NOT NULL THEN
                RETURN QUERY SELECT 'in_use', format(
                    'Segment %s is used by segment group %s: change or delete '
                    'the group first', prefs_cfg_quote(p_name),
                    prefs_cfg_quote(used));
                RETURN;
            END IF;
            SELECT x.name INTO used FROM prefs_export_schedule x
             WHERE x.account_id = p_account_id AND x.segment = p_name
             ORDER BY x.name LIMIT 1;
            IF used IS NOT NULL THEN
                RETURN QUERY SELECT 'in_use', format(
                    'Segment %s is used by export schedule %s: change or '
                    'delete the schedule first', prefs_cfg_quote(p_name),
                    prefs_cfg_quote(used));
                RETURN;
            END IF;
            DELETE FROM prefs_segment x WHERE x.segment_id = s.segment_id;
        ELSE
            DELETE FROM prefs_segment_group x WHERE x.group_id = sg.group_id;
        END IF;
        RETURN QUERY SELECT 'deleted', '';
        RETURN;
    END IF;

    -- POST (p_name NULL) or PUT
    BEGIN
        IF p_kind = 'Segment' THEN
            nm := prefs_seg_name(p_body, p_name,
                                 '{Name,Description,Criteria}');
            crit := prefs_seg_check(p_account_id, p_body -> 'Criteria');
        ELSE
            nm := prefs_seg_name(p_body, p_name,
                                 '{Name,Description,Operator,Segments}');
            g := prefs_seg_group_check(p_account_id, p_body);
        END IF;
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT 'invalid', SQLERRM;
        RETURN;
    END;

    IF p_method = 'POST' THEN
        IF p_kind = 'Segment' THEN
            INSERT INTO prefs_segment AS x (account_id, name, description,
                                            criteria)
            VALUES (p_account_id, nm.name, nm.description, crit)
            ON CONFLICT (account_id, name) DO NOTHING
            RETURNING * INTO s;
        ELSE
            INSERT INTO prefs_segment_group AS x (account_id, name,
                                                  description, operator,
                                                  segments)
            VALUES (p_account_id, nm.name, nm.description, g.operator,
                    g.segments)
            ON CONFLICT (account_id, name) DO NOTHING
            RETURNING * INTO sg;
        END IF;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'exists', format('%s %s already exists',
                CASE p_kind WHEN 'Segment' THEN 'Segment'
                            ELSE 'Segment group' END,
                prefs_cfg_quote(nm.name));
            RETURN;
        END IF;
        RETURN QUERY SELECT 'created', CASE p_kind WHEN 'Segment'
            THEN prefs_seg_json(s) ELSE prefs_seg_group_json(sg) END::text;
        RETURN;
    END IF;

    IF p_kind = 'Segment' THEN
        UPDATE prefs_segment x SET description = nm.description,
               criteria = crit, updated_at = now()
         WHERE x.segment_id = s.segment_id RETURNING * INTO s;
    ELSE
        UPDATE prefs_segment_group x SET description = nm.description,
               operator = g.operator, segments = g.segments,
               updated_at = now()
         WHERE x.group_id = sg.group_id RETURNING * INTO sg;
    END IF;
    RETURN QUERY SELECT 'ok', CASE p_kind WHEN 'Segment'
        THEN prefs_seg_json(s) ELSE prefs_seg_group_json(sg) END::text;
END
$$;
