-- Configuration: validation and normalisation of the items (programs,
-- filters, consent types, custom fields, locales, ...), their writes (one
-- or many), import and export, and the generation counter that tells the
-- workers' snapshots to refresh (tables: 003_config).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


CREATE OR REPLACE FUNCTION prefs_config_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        acct := OLD.account_id;
    ELSE
        acct := NEW.account_id;
    END IF;
    -- When the account itself is being deleted (the items go by cascade)
    -- there is nothing left to bump.
    INSERT INTO prefs_config_version AS v (account_id, generation, updated_at)
    SELECT acct, 1, now()
     WHERE EXISTS (SELECT 1 FROM prefs_account a WHERE a.account_id = acct)
    ON CONFLICT (account_id) DO UPDATE
       SET generation = v.generation + 1, updated_at = now();
    PERFORM pg_notify('prefs_config', acct::text);
    RETURN NULL;
END
$$;


CREATE OR REPLACE TRIGGER prefs_config_bump
    AFTER INSERT OR UPDATE OR DELETE ON prefs_config_item
    FOR EACH ROW EXECUTE FUNCTION prefs_config_bump();


CREATE OR REPLACE FUNCTION prefs_config_generation(p_account_id bigint)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT v.generation FROM prefs_config_version v
                      WHERE v.account_id = p_account_id), 0)
$$;


-- The kinds of item: their collection in the document (also the prefix of
-- messages), their path there, their key field, what a message calls one.
CREATE OR REPLACE FUNCTION prefs_config_kinds()
RETURNS TABLE (kind text, collection text, doc_path text[], key_field text,
    noun text, ord integer)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
        ('Locale', 'Locales', '{Locales}'::text[], 'LocaleId', 'locale', 1),
        ('ProgramType', 'ProgramTypes', '{ProgramTypes}', 'ProgramTypeId',
         'program type', 2),
        ('Program', 'Programs', '{Programs}', 'ProgramId', 'program', 3),
        ('ProgramGroup', 'ProgramGroups', '{ProgramGroups}', 'ProgramGroupId',
         'program group', 4),
        ('Filter', 'Filters', '{Filters}', 'FilterId', 'filter', 5),
        ('ConsentType', 'ConsentTypes', '{ConsentTypes}', 'TypeName',
         'consent type', 6),
        ('EmailType', 'ContactTypes.Email', '{ContactTypes,Email}', 'Name',
         'email type', 7),
        ('PhoneType', 'ContactTypes.Phone', '{ContactTypes,Phone}', 'Name',
         'phone type', 8),
        ('AddressType', 'ContactTypes.Address', '{ContactTypes,Address}',
         'Name', 'address type', 9),
        ('AlternateIdType', 'AlternateIdTypes', '{AlternateIdTypes}', 'Name',
         'alternate id type', 10),
        ('CustomerType', 'CustomerTypes', '{CustomerTypes}', 'Name',
         'customer type', 11),
        ('GroupType', 'GroupTypes', '{GroupTypes}', 'Name', 'group type', 12),
        ('CustomField', 'CustomFields', '{CustomFields}', 'Name',
         'custom field', 13),
        ('Tag', 'Tags', '{Tags}', 'Name', 'tag', 14)
$$;


-- Canonical spelling of a language tag: "en_us" -> "en-US",
-- "zh-hant-tw" -> "zh-Hant-TW".  Not a validation (see prefs_cfg_locale).
CREATE OR REPLACE FUNCTION prefs_locale_canonical(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(CASE WHEN t.n = 1 THEN lower(t.s)
                           WHEN t.s ~ '^[A-Za-z]{4}$' THEN initcap(t.s)
                           WHEN t.s ~ '^[A-Za-z]{2}$' THEN upper(t.s)
                           ELSE t.s END, '-' ORDER BY t.n)
      FROM regexp_split_to_table(p, '[-_]') WITH ORDINALITY AS t(s, n)
$$;


-- Validation helpers.  Each checks one field of object o at path p_path
-- (the path of o, '' for the item itself) and returns its normalized value:
-- optional fields that are absent or null get their default.

CREATE OR REPLACE FUNCTION prefs_cfg_fail(p_path text, p_reason text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PF001',
        MESSAGE = CASE WHEN p_path = '' THEN 'the item' ELSE p_path END
                  || ' ' || p_reason;
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_at(p_path text, p_field text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_path = '' THEN p_field ELSE p_path || '.' || p_field END
$$;


-- Text from the input fit for a message: at most 60 characters, control
-- characters (C0, DEL, C1) shown as "?".
CREATE OR REPLACE FUNCTION prefs_cfg_shown(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(CASE WHEN char_length(p) > 60
                               THEN left(p, 60) || '...' ELSE p END,
                          '[\u0001-\u001f\u007f-\u009f]', '?', 'g')
$$;


-- A value quoted for a message.
CREATE OR REPLACE FUNCTION prefs_cfg_quote(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '''' || prefs_cfg_shown(p) || ''''
$$;


-- o -> p_field, with JSON null as absent.
CREATE OR REPLACE FUNCTION prefs_cfg_get(o jsonb, p_field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(o -> p_field) = 'null' THEN NULL
                ELSE o -> p_field END
$$;


-- v must be an object with only the given fields.
CREATE OR REPLACE FUNCTION prefs_cfg_object(v jsonb, p_path text,
    p_fields text[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    k     text;
    hint  text;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) <> 'object' THEN
        PERFORM prefs_cfg_fail(p_path, 'must be a JSON object');
    END IF;
    FOR k IN SELECT x FROM jsonb_object_keys(v) AS x ORDER BY x COLLATE "C"
    LOOP
        CONTINUE WHEN k = ANY (p_fields);
        SELECT f INTO hint FROM unnest(p_fields) AS f
         WHERE lower(f) = lower(k) LIMIT 1;
        PERFORM prefs_cfg_fail(prefs_cfg_at(p_path, prefs_cfg_shown(k)),
            'is not a known field'
            || coalesce(' (field names are case-sensitive: ' || hint || ')',
                        ''));
    END LOOP;
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_text(o jsonb, p_path text, p_field text,
    p_required boolean, p_max integer)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
    s   text;
BEGIN
    IF v IS NULL THEN
        IF p_required THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN '""';
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM prefs_cfg_fail(at, 'must be a string');
    END IF;
    s := v #>> '{}';
    IF p_required AND s ~ '^\s*$' THEN
        PERFORM prefs_cfg_fail(at, 'must not be empty');
    END IF;
    IF char_length(s) > p_max THEN
        PERFORM prefs_cfg_fail(at, format('must be at most %s characters',
                                          p_max));
    END IF;
    RETURN v;
END
$$;


-- An id: 1..p_max characters of [A-Za-z0-9_.-].  An optional one may be
-- absent, null or "" (all stored as null).
CREATE OR REPLACE FUNCTION prefs_cfg_id(o jsonb, p_path text, p_field text,
    p_required boolean, p_max integer DEFAULT 50)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
BEGIN
    IF v IS NULL OR (NOT p_required AND v = '""') THEN
        IF p_required THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM prefs_cfg_fail(at, 'must be a string');
    END IF;
    IF (v #>> '{}') !~ '^[A-Za-z0-9_.-]+$'
       OR char_length(v #>> '{}') > p_max THEN
        PERFORM prefs_cfg_fail(at, format('must be 1 to %s characters of '
            'A-Z, a-z, 0-9, "_", "." and "-"', p_max));
    END IF;
    RETURN v;
END
$$;


-- The key of the kinds keyed by Name: 1..100 characters, no "/" (it goes in
-- a URL path), no control characters, no leading or trailing white space;
-- in NFC, without format characters or spaces other than U+0020
-- (prefs_name_nfc, prefs_name_problem in common.sql).
CREATE OR REPLACE FUNCTION prefs_cfg_name(o jsonb, p_path text,
    p_field text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
    s   text;
BEGIN
    IF v IS NULL THEN
        PERFORM prefs_cfg_fail(at, 'is required');
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM prefs_cfg_fail(at, 'must be a string');
    END IF;
    s := prefs_name_nfc(v #>> '{}');
    IF s = '' OR char_length(s) > 100 OR s ~ '[[:cntrl:]/]' OR s ~ '^\s|\s$'
    THEN
        PERFORM prefs_cfg_fail(at, 'must be 1 to 100 characters without "/", '
            'control characters or leading or trailing spaces');
    END IF;
    IF prefs_name_problem(s, true) IS NOT NULL THEN
        PERFORM prefs_cfg_fail(at, prefs_name_problem(s, true));
    END IF;
    RETURN to_jsonb(s);
END
$$;


-- A locale id, stored in its canonical spelling (en_us -> en-US).  An
-- optional one may be absent, null or "".
CREATE OR REPLACE FUNCTION prefs_cfg_locale(o jsonb, p_path text,
    p_field text, p_required boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
    c   text;
BEGIN
    IF v IS NULL OR (NOT p_required AND v = '""') THEN
        IF p_required THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM prefs_cfg_fail(at, 'must be a string');
    END IF;
    c := prefs_locale_canonical(v #>> '{}');
    IF char_length(c) > 15
       OR c !~ '^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$' THEN
        PERFORM prefs_cfg_fail(at, 'must be a locale id such as en-US '
            '(language, then optional script and region)');
    END IF;
    RETURN to_jsonb(c);
END
$$;


-- p_default NULL: required.
CREATE OR REPLACE FUNCTION prefs_cfg_bool(o jsonb, p_path text, p_field text,
    p_default boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
BEGIN
    IF v IS NULL THEN
        IF p_default IS NULL THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN to_jsonb(p_default);
    END IF;
    IF jsonb_typeof(v) <> 'boolean' THEN
        PERFORM prefs_cfg_fail(at, 'must be true or false');
    END IF;
    RETURN v;
END
$$;


-- An integer in p_min..p_max.  Absent or null: null when p_nullable, else
-- p_default, else required.  1.0 is 1; "1" is not a number.
CREATE OR REPLACE FUNCTION prefs_cfg_int(o jsonb, p_path text, p_field text,
    p_min bigint, p_max bigint, p_default bigint,
    p_nullable boolean DEFAULT false,
    p_reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v       jsonb := prefs_cfg_get(o, p_field);
    at      text := prefs_cfg_at(p_path, p_field);
    reason  text := coalesce(p_reason,
                        format('must be an integer from %s to %s', p_min, p_max)
                        || CASE WHEN p_nullable THEN ' or null' ELSE '' END);
    n       numeric;
BEGIN
    IF v IS NULL THEN
        IF p_nullable THEN
            RETURN NULL;
        END IF;
        IF p_default IS NULL THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN to_jsonb(p_default);
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM prefs_cfg_fail(at, reason);
    END IF;
    n := v::numeric;
    IF n <> trunc(n) OR n < p_min OR n > p_max THEN
        PERFORM prefs_cfg_fail(at, reason);
    END IF;
    RETURN to_jsonb(n::bigint);
END
$$;


-- One of p_allowed, matched without regard to case and stored as spelled
-- there.  An optional one may be absent, null or "".
CREATE OR REPLACE FUNCTION prefs_cfg_enum(o jsonb, p_path text, p_field text,
    p_allowed text[], p_required boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
    c   text;
BEGIN
    IF v IS NULL OR (NOT p_required AND v = '""') THEN
        IF p_required THEN
            PERFORM prefs_cfg_fail(at, 'is required');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'string' THEN
        SELECT a INTO c FROM unnest(p_allowed) AS a
         WHERE lower(a) = lower(v #>> '{}');
    END IF;
    IF c IS NULL THEN
        PERFORM prefs_cfg_fail(at, 'must be one of '
                                   || array_to_string(p_allowed, ', '));
    END IF;
    RETURN to_jsonb(c);
END
$$;


-- An array (absent or null: empty) of at most p_max elements.
CREATE OR REPLACE FUNCTION prefs_cfg_array(o jsonb, p_path text, p_field text,
    p_max integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v   jsonb := prefs_cfg_get(o, p_field);
    at  text := prefs_cfg_at(p_path, p_field);
BEGIN
    IF v IS NULL THEN
        RETURN '[]';
    END IF;
    IF jsonb_typeof(v) <> 'array' THEN
        PERFORM prefs_cfg_fail(at, 'must be an array');
    END IF;
    IF jsonb_array_length(v) > p_max THEN
        PERFORM prefs_cfg_fail(at, format('must have at most %s elements',
                                          p_max));
    END IF;
    RETURN v;
END
$$;


-- p_seen plus p_value; p_value must not be in p_seen already.
CREATE OR REPLACE FUNCTION prefs_cfg_once(p_seen jsonb, p_value text,
    p_path text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF p_seen ? p_value THEN
        PERFORM prefs_cfg_fail(p_path, prefs_cfg_quote(p_value)
                               || ' appears more than once');
    END IF;
    RETURN p_seen || jsonb_build_object(p_value, true);
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_channels() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['Email', 'Phone', 'Text', 'Fax', 'Mail']
$$;


-- [{"Key","Value"}], keys unique: CustomProperties, DisplayTags.
CREATE OR REPLACE FUNCTION prefs_cfg_pairs(o jsonb, p_path text,
    p_field text, p_value_max integer)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    base  text := prefs_cfg_at(p_path, p_field);
    e     record;
    ep    text;
    k     jsonb;
    seen  jsonb := '{}';
    res   jsonb := '[]';
BEGIN
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(prefs_cfg_array(o, p_path, p_field))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := base || '[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['Key', 'Value']);
        k := prefs_cfg_text(e.v, ep, 'Key', true, 100);
        seen := prefs_cfg_once(seen, k #>> '{}', ep || '.Key');
        res := res || jsonb_build_array(jsonb_build_object(
            'Key', k,
            'Value', prefs_cfg_text(e.v, ep, 'Value', false, p_value_max)));
    END LOOP;
    RETURN res;
END
$$;


-- Locales: [{"LocaleId","DisplayTags":[{"Key","Value"}]}], one per locale.
CREATE OR REPLACE FUNCTION prefs_cfg_display_locales(o jsonb, p_path text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    base  text := prefs_cfg_at(p_path, 'Locales');
    e     record;
    ep    text;
    l     jsonb;
    seen  jsonb := '{}';
    res   jsonb := '[]';
BEGIN
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(prefs_cfg_array(o, p_path, 'Locales'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := base || '[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['LocaleId', 'DisplayTags']);
        l := prefs_cfg_locale(e.v, ep, 'LocaleId', true);
        seen := prefs_cfg_once(seen, l #>> '{}', ep || '.LocaleId');
        res := res || jsonb_build_array(jsonb_build_object(
            'LocaleId', l,
            'DisplayTags', prefs_cfg_pairs(e.v, ep, 'DisplayTags', 4000)));
    END LOOP;
    RETURN res;
END
$$;


-- FrequencyLocales: [{"LocaleId","Frequencies":[...]}]: one entry per
-- locale, the same FrequencyIds in every locale, at most one default each.
CREATE OR REPLACE FUNCTION prefs_cfg_frequency_locales(o jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e        record;
    f        record;
    ep       text;
    fp       text;
    l        jsonb;
    id       jsonb;
    isdef    jsonb;
    defat    text;
    seen     jsonb := '{}';
    ids      jsonb;
    freqs    jsonb;
    first_ids text[];
    mine     text[];
    res      jsonb := '[]';
BEGIN
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(
                        prefs_cfg_array(o, '', 'FrequencyLocales'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'FrequencyLocales[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['LocaleId', 'Frequencies']);
        l := prefs_cfg_locale(e.v, ep, 'LocaleId', true);
        seen := prefs_cfg_once(seen, l #>> '{}', ep || '.LocaleId');

        ids := '{}';
        defat := NULL;
        freqs := '[]';
        FOR f IN SELECT x.v, x.n - 1 AS j
                   FROM jsonb_array_elements(
                            prefs_cfg_array(e.v, ep, 'Frequencies', 100))
                        WITH ORDINALITY AS x(v, n)
        LOOP
            fp := ep || '.Frequencies[' || f.j || ']';
            PERFORM prefs_cfg_object(f.v, fp, ARRAY['FrequencyId',
                'DisplayName', 'Description', 'IsDefault', 'DisplayOrder']);
            id := prefs_cfg_id(f.v, fp, 'FrequencyId', true, 20);
            ids := prefs_cfg_once(ids, id #>> '{}', fp || '.FrequencyId');
            isdef := prefs_cfg_bool(f.v, fp, 'IsDefault', false);
            IF isdef = 'true' THEN
                IF defat IS NOT NULL THEN
                    PERFORM prefs_cfg_fail(fp || '.IsDefault', 'must be false: '
                        || defat || ' is already the default of this locale');
                END IF;
                defat := ep || '.Frequencies[' || f.j || ']';
            END IF;
            freqs := freqs || jsonb_build_array(jsonb_build_object(
                'FrequencyId', id,
                'DisplayName',
                    prefs_cfg_text(f.v, fp, 'DisplayName', true, 100),
                'Description',
                    prefs_cfg_text(f.v, fp, 'Description', false, 1000),
                'IsDefault', isdef,
                'DisplayOrder', prefs_cfg_int(f.v, fp, 'DisplayOrder',
                                    -2147483648, 2147483647, 0)));
        END LOOP;

        SELECT coalesce(array_agg(k ORDER BY k COLLATE "C"), '{}')
          INTO mine FROM jsonb_object_keys(ids) AS k;
        IF e.i = 0 THEN
            first_ids := mine;
        ELSIF mine <> first_ids THEN
            PERFORM prefs_cfg_fail(ep || '.Frequencies', format(
                'must have the same FrequencyIds as FrequencyLocales[0] '
                '(%s), not (%s)', array_to_string(first_ids, ', '),
                array_to_string(mine, ', ')));
        END IF;

        res := res || jsonb_build_array(jsonb_build_object(
            'LocaleId', l, 'Frequencies', freqs));
    END LOOP;
    RETURN res;
END
$$;


-- The kinds: each takes a body and returns it normalized (every field
-- present, defaults filled in, ids and locales canonical) or raises PF001.
-- References to other items are checked apart (prefs_cfg_check_refs).

CREATE OR REPLACE FUNCTION prefs_cfg_norm_locale(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    id      jsonb;
    name    jsonb;
    def     jsonb;
    active  jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['LocaleId', 'Name', 'IsDefault',
                                          'IsActive']);
    id := prefs_cfg_locale(b, '', 'LocaleId', true);
    name := prefs_cfg_text(b, '', 'Name', true, 100);
    def := prefs_cfg_bool(b, '', 'IsDefault', false);
    active := prefs_cfg_bool(b, '', 'IsActive', true);
    IF def = 'true' AND active = 'false' THEN
        PERFORM prefs_cfg_fail('IsDefault', 'must be false for an inactive '
                                            'locale');
    END IF;
    RETURN jsonb_build_object('LocaleId', id, 'Name', name,
                              'IsDefault', def, 'IsActive', active);
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_program_type(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['ProgramTypeId', 'Name',
                                          'Description', 'IsActive']);
    r := jsonb_build_object('ProgramTypeId',
        prefs_cfg_id(b, '', 'ProgramTypeId', true));
    r := r || jsonb_build_object('Name',
        prefs_cfg_text(b, '', 'Name', true, 100));
    r := r || jsonb_build_object('Description',
        prefs_cfg_text(b, '', 'Description', false, 1000));
    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_program(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['ProgramId', 'ProgramTypeId', 'Name',
        'Description', 'DisplayOrder', 'CustomProperties', 'Locales',
        'IsActive']);
    r := jsonb_build_object('ProgramId',
        prefs_cfg_id(b, '', 'ProgramId', true));
    r := r || jsonb_build_object('ProgramTypeId',
        prefs_cfg_id(b, '', 'ProgramTypeId', false));
    r := r || jsonb_build_object('Name',
        prefs_cfg_text(b, '', 'Name', true, 100));
    r := r || jsonb_build_object('Description',
        prefs_cfg_text(b, '', 'Description', false, 1000));
    r := r || jsonb_build_object('DisplayOrder',
        prefs_cfg_int(b, '', 'DisplayOrder', -2147483648, 2147483647, 0));
    r := r || jsonb_build_object('CustomProperties',
        prefs_cfg_pairs(b, '', 'CustomProperties', 4000));
    r := r || jsonb_build_object('Locales', prefs_cfg_display_locales(b, ''));
    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_program_group(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r     jsonb;
    e     record;
    ep    text;
    v     jsonb;
    seen  jsonb;
    lst   jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['ProgramGroupId', 'Name',
        'Description', 'ParentProgramGroupId', 'ProgramIds',
        'DefaultPreferenceValues', 'DisplayOrder', 'Locales', 'IsActive']);
    r := jsonb_build_object('ProgramGroupId',
        prefs_cfg_id(b, '', 'ProgramGroupId', true));
    r := r || jsonb_build_object('Name',
        prefs_cfg_text(b, '', 'Name', true, 100));
    r := r || jsonb_build_object('Description',
        prefs_cfg_text(b, '', 'Description', false, 1000));
    v := prefs_cfg_id(b, '', 'ParentProgramGroupId', false);
    IF v = r -> 'ProgramGroupId' THEN
        PERFORM prefs_cfg_fail('ParentProgramGroupId', 'must not be the group '
                                                       'itself');
    END IF;
    r := r || jsonb_build_object('ParentProgramGroupId', v);

    seen := '{}';
    lst := '[]';
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(prefs_cfg_array(b, '', 'ProgramIds'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'ProgramIds[' || e.i || ']';
        IF jsonb_typeof(e.v) <> 'string'
           OR (e.v #>> '{}') !~ '^[A-Za-z0-9_.-]{1,50}$'
        THEN
            PERFORM prefs_cfg_fail(ep, 'must be a ProgramId: 1 to 50 '
                'characters of A-Z, a-z, 0-9, "_", "." and "-"');
        END IF;
        seen := prefs_cfg_once(seen, e.v #>> '{}', ep);
        lst := lst || jsonb_build_array(e.v);
    END LOOP;
    r := r || jsonb_build_object('ProgramIds', lst);

    seen := '{}';
    lst := '[]';
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(
                        prefs_cfg_array(b, '', 'DefaultPreferenceValues'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'DefaultPreferenceValues[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['FilterId', 'PreferenceValue']);
        v := prefs_cfg_id(e.v, ep, 'FilterId', true);
        seen := prefs_cfg_once(seen, v #>> '{}', ep || '.FilterId');
        lst := lst || jsonb_build_array(jsonb_build_object(
            'FilterId', v,
            'PreferenceValue', prefs_cfg_int(e.v, ep, 'PreferenceValue', 1, 2,
                NULL, false, 'must be 1 (opt-in) or 2 (opt-out)')));
    END LOOP;
    r := r || jsonb_build_object('DefaultPreferenceValues', lst);

    r := r || jsonb_build_object('DisplayOrder',
        prefs_cfg_int(b, '', 'DisplayOrder', -2147483648, 2147483647, 0));
    r := r || jsonb_build_object('Locales', prefs_cfg_display_locales(b, ''));
    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_filter(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r     jsonb;
    e     record;
    ep    text;
    v     jsonb;
    seen  jsonb;
    lst   jsonb;
    f     text;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['FilterId', 'ProgramId', 'ChannelId',
        'Name', 'Description', 'DefaultLocaleId', 'DefaultPreferenceValue',
        'OptInCustomerExpirationDays', 'OptOutCustomerExpirationDays',
        'OptInNonCustomerExpirationDays', 'OptOutNonCustomerExpirationDays',
        'DisplayOrder', 'CustomProperties', 'Locales', 'FrequencyLocales',
        'PreferenceAttributes', 'RequiredPreferenceConsents', 'IsActive']);
    r := jsonb_build_object('FilterId', prefs_cfg_id(b, '', 'FilterId', true));
    r := r || jsonb_build_object('ProgramId',
        prefs_cfg_id(b, '', 'ProgramId', true));
    r := r || jsonb_build_object('ChannelId',
        prefs_cfg_enum(b, '', 'ChannelId', prefs_cfg_channels(), true));
    r := r || jsonb_build_object('Name',
        prefs_cfg_text(b, '', 'Name', true, 100));
    r := r || jsonb_build_object('Description',
        prefs_cfg_text(b, '', 'Description', false, 1000));
    r := r || jsonb_build_object('DefaultLocaleId',
        prefs_cfg_locale(b, '', 'DefaultLocaleId', false));
    r := r || jsonb_build_object('DefaultPreferenceValue', prefs_cfg_int(b, '',
        'DefaultPreferenceValue', 0, 2, 0, false,
        'must be 0 (none), 1 (opt-in) or 2 (opt-out)'));
    FOREACH f IN ARRAY ARRAY['OptInCustomerExpirationDays',
        'OptOutCustomerExpirationDays', 'OptInNonCustomerExpirationDays',
        'OptOutNonCustomerExpirationDays']
    LOOP
        r := r || jsonb_build_object(f,
            prefs_cfg_int(b, '', f, 0, 36500, NULL, true));
    END LOOP;
    r := r || jsonb_build_object('DisplayOrder',
        prefs_cfg_int(b, '', 'DisplayOrder', -2147483648, 2147483647, 0));
    r := r || jsonb_build_object('CustomProperties',
        prefs_cfg_pairs(b, '', 'CustomProperties', 4000));
    r := r || jsonb_build_object('Locales', prefs_cfg_display_locales(b, ''));
    r := r || jsonb_build_object('FrequencyLocales',
        prefs_cfg_frequency_locales(b));

    seen := '{}';
    lst := '[]';
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(
                        prefs_cfg_array(b, '', 'PreferenceAttributes'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'PreferenceAttributes[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['AttributeId', 'IsRequired',
                                                'DisplayOrder']);
        v := prefs_cfg_id(e.v, ep, 'AttributeId', true);
        seen := prefs_cfg_once(seen, v #>> '{}', ep || '.AttributeId');
        lst := lst || jsonb_build_array(jsonb_build_object(
            'AttributeId', v,
            'IsRequired', prefs_cfg_bool(e.v, ep, 'IsRequired', false),
            'DisplayOrder', prefs_cfg_int(e.v, ep, 'DisplayOrder',
                                          -2147483648, 2147483647, 0)));
    END LOOP;
    r := r || jsonb_build_object('PreferenceAttributes', lst);

    seen := '{}';
    lst := '[]';
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(
                        prefs_cfg_array(b, '', 'RequiredPreferenceConsents'))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'RequiredPreferenceConsents[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['TypeName', 'DisplayOrder']);
        v := prefs_cfg_id(e.v, ep, 'TypeName', true);
        seen := prefs_cfg_once(seen, v #>> '{}', ep || '.TypeName');
        lst := lst || jsonb_build_array(jsonb_build_object(
            'TypeName', v,
            'DisplayOrder', prefs_cfg_int(e.v, ep, 'DisplayOrder',
                                          -2147483648, 2147483647, 0)));
    END LOOP;
    r := r || jsonb_build_object('RequiredPreferenceConsents', lst);

    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_consent_type(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r       jsonb;
    e       record;
    lf      record;
    ep      text;
    lp      text;
    v       jsonb;
    l       jsonb;
    seen    jsonb := '{}';
    lseen   jsonb;
    vers    jsonb := '[]';
    fields  jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['TypeName', 'ChannelId', 'IsActive',
                                          'Versions']);
    r := jsonb_build_object('TypeName', prefs_cfg_id(b, '', 'TypeName', true));
    r := r || jsonb_build_object('ChannelId',
        prefs_cfg_enum(b, '', 'ChannelId', prefs_cfg_channels(), false));
    r := r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));

    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(
                        prefs_cfg_array(b, '', 'Versions', 100))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Versions[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['ConsentVersion',
            'ExpirationInDays', 'IsActive', 'IsAssociatedWithProfiles',
            'LocalizedFields']);
        v := prefs_cfg_id(e.v, ep, 'ConsentVersion', true);
        seen := prefs_cfg_once(seen, v #>> '{}', ep || '.ConsentVersion');

        lseen := '{}';
        fields := '[]';
        FOR lf IN SELECT x.v, x.n - 1 AS j
                    FROM jsonb_array_elements(
                             prefs_cfg_array(e.v, ep, 'LocalizedFields', 100))
                         WITH ORDINALITY AS x(v, n)
        LOOP
            lp := ep || '.LocalizedFields[' || lf.j || ']';
            -- "Locale", as the reference's POST ConsentTypes body names it
            PERFORM prefs_cfg_object(lf.v, lp, ARRAY['Locale', 'Name',
                'Description', 'ConsentLanguage']);
            l := prefs_cfg_locale(lf.v, lp, 'Locale', true);
            lseen := prefs_cfg_once(lseen, l #>> '{}', lp || '.Locale');
            fields := fields || jsonb_build_array(jsonb_build_object(
                'Locale', l,
                'Name', prefs_cfg_text(lf.v, lp, 'Name', true, 100),
                'Description',
                    prefs_cfg_text(lf.v, lp, 'Description', false, 1000),
                'ConsentLanguage',
                    prefs_cfg_text(lf.v, lp, 'ConsentLanguage', false,
                                   20000)));
        END LOOP;

        vers := vers || jsonb_build_array(jsonb_build_object(
            'ConsentVersion', v,
            'ExpirationInDays', prefs_cfg_int(e.v, ep, 'ExpirationInDays', 0,
                                              36500, NULL, true),
            'IsActive', prefs_cfg_bool(e.v, ep, 'IsActive', true),
            'IsAssociatedWithProfiles',
                prefs_cfg_bool(e.v, ep, 'IsAssociatedWithProfiles', false),
            'LocalizedFields', fields));
    END LOOP;
    IF vers = '[]' THEN
        PERFORM prefs_cfg_fail('Versions', 'must have at least one version');
    END IF;
    RETURN r || jsonb_build_object('Versions', vers);
END
$$;


-- EmailType, PhoneType, AddressType, AlternateIdType, CustomerType,
-- GroupType, Tag.
CREATE OR REPLACE FUNCTION prefs_cfg_norm_named(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['Name', 'Description', 'IsActive']);
    r := jsonb_build_object('Name', prefs_cfg_name(b, '', 'Name'));
    r := r || jsonb_build_object('Description',
        prefs_cfg_text(b, '', 'Description', false, 1000));
    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_norm_custom_field(b jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r     jsonb;
    e     record;
    ep    text;
    t     jsonb;
    l     jsonb;
    arr   jsonb;
    seen  jsonb := '{}';
    lst   jsonb := '[]';
BEGIN
    PERFORM prefs_cfg_object(b, '', ARRAY['Name', 'DataType', 'AllowedValues',
        'IsRequired', 'Labels', 'DisplayOrder', 'IsActive']);
    r := jsonb_build_object('Name', prefs_cfg_name(b, '', 'Name'));
    t := prefs_cfg_enum(b, '', 'DataType', ARRAY['String', 'Number', 'Boolean',
                        'Date', 'DateTime', 'List'], true);
    r := r || jsonb_build_object('DataType', t);

    arr := prefs_cfg_array(b, '', 'AllowedValues');
    IF t = '"List"' AND arr = '[]' THEN
        PERFORM prefs_cfg_fail('AllowedValues', 'must list at least one value '
                                                'when DataType is List');
    ELSIF t <> '"List"' AND arr <> '[]' THEN
        PERFORM prefs_cfg_fail('AllowedValues', 'must be empty unless DataType '
                                                'is List');
    END IF;
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(arr) WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'AllowedValues[' || e.i || ']';
        IF jsonb_typeof(e.v) <> 'string' THEN
            PERFORM prefs_cfg_fail(ep, 'must be a string');
        END IF;
        IF (e.v #>> '{}') ~ '^\s*$' OR char_length(e.v #>> '{}') > 256 THEN
            PERFORM prefs_cfg_fail(ep, 'must be 1 to 256 characters, '
                                       'not blank');
        END IF;
        seen := prefs_cfg_once(seen, e.v #>> '{}', ep);
    END LOOP;
    r := r || jsonb_build_object('AllowedValues', arr);
    r := r || jsonb_build_object('IsRequired',
        prefs_cfg_bool(b, '', 'IsRequired', false));

    seen := '{}';
    FOR e IN SELECT x.v, x.n - 1 AS i
               FROM jsonb_array_elements(prefs_cfg_array(b, '', 'Labels', 100))
                    WITH ORDINALITY AS x(v, n)
    LOOP
        ep := 'Labels[' || e.i || ']';
        PERFORM prefs_cfg_object(e.v, ep, ARRAY['LocaleId', 'Label']);
        l := prefs_cfg_locale(e.v, ep, 'LocaleId', true);
        seen := prefs_cfg_once(seen, l #>> '{}', ep || '.LocaleId');
        lst := lst || jsonb_build_array(jsonb_build_object(
            'LocaleId', l,
            'Label', prefs_cfg_text(e.v, ep, 'Label', true, 100)));
    END LOOP;
    r := r || jsonb_build_object('Labels', lst);

    r := r || jsonb_build_object('DisplayOrder',
        prefs_cfg_int(b, '', 'DisplayOrder', -2147483648, 2147483647, 0));
    RETURN r || jsonb_build_object('IsActive',
        prefs_cfg_bool(b, '', 'IsActive', true));
END
$$;


CREATE OR REPLACE FUNCTION prefs_cfg_normalize(p_kind text, b jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind = 'Locale' THEN RETURN prefs_cfg_norm_locale(b);
    ELSIF p_kind = 'ProgramType' THEN RETURN prefs_cfg_norm_program_type(b);
    ELSIF p_kind = 'Program' THEN RETURN prefs_cfg_norm_program(b);
    ELSIF p_kind = 'ProgramGroup' THEN RETURN prefs_cfg_norm_program_group(b);
    ELSIF p_kind = 'Filter' THEN RETURN prefs_cfg_norm_filter(b);
    ELSIF p_kind = 'ConsentType' THEN RETURN prefs_cfg_norm_consent_type(b);
    ELSIF p_kind = 'CustomField' THEN RETURN prefs_cfg_norm_custom_field(b);
    ELSIF p_kind IN ('EmailType', 'PhoneType', 'AddressType', 'AlternateIdType',
                     'CustomerType', 'GroupType', 'Tag') THEN
        RETURN prefs_cfg_norm_named(b);
    END IF;
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('unknown configuration kind %L', p_kind);
END
$$;


-- The references of a (normalized) body, in field order: where, to what.
CREATE OR REPLACE FUNCTION prefs_cfg_refs(p_kind text, b jsonb)
RETURNS TABLE (path text, ref_kind text, ref_key text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.path, r.ref_kind, r.ref_key FROM (
        SELECT f.o, 0::bigint AS i, 0::bigint AS j, f.field AS path,
               f.ref_kind, b ->> f.field AS ref_key
          FROM (VALUES (1, 'Program', 'ProgramTypeId', 'ProgramType'),
                       (1, 'ProgramGroup', 'ParentProgramGroupId',
                        'ProgramGroup'),
                       (1, 'Filter', 'ProgramId', 'Program'),
                       (2, 'Filter', 'DefaultLocaleId', 'Locale'))
               AS f(o, kind, field, ref_kind)
         WHERE f.kind = p_kind
        UNION ALL
        SELECT 3, x.n, 0, format('ProgramIds[%s]', x.n - 1), 'Program',
               x.v #>> '{}'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'ProgramGroup'
                                         THEN b -> 'ProgramIds' END)
               WITH ORDINALITY AS x(v, n)
        UNION ALL
        SELECT 4, x.n, 0,
               format('DefaultPreferenceValues[%s].FilterId', x.n - 1),
               'Filter', x.v ->> 'FilterId'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'ProgramGroup'
                                    THEN b -> 'DefaultPreferenceValues' END)
               WITH ORDINALITY AS x(v, n)
        UNION ALL
        SELECT 5, x.n, 0, format('Locales[%s].LocaleId', x.n - 1), 'Locale',
               x.v ->> 'LocaleId'
          FROM jsonb_array_elements(CASE WHEN p_kind IN ('Program',
                                         'ProgramGroup', 'Filter')
                                         THEN b -> 'Locales' END)
               WITH ORDINALITY AS x(v, n)
        UNION ALL
        SELECT 6, x.n, 0, format('FrequencyLocales[%s].LocaleId', x.n - 1),
               'Locale', x.v ->> 'LocaleId'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'Filter'
                                         THEN b -> 'FrequencyLocales' END)
               WITH ORDINALITY AS x(v, n)
        UNION ALL
        SELECT 7, x.n, 0,
               format('RequiredPreferenceConsents[%s].TypeName', x.n - 1),
               'ConsentType', x.v ->> 'TypeName'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'Filter'
                                    THEN b -> 'RequiredPreferenceConsents' END)
               WITH ORDINALITY AS x(v, n)
        UNION ALL
        SELECT 8, x.n, y.n,
               format('Versions[%s].LocalizedFields[%s].Locale',
                      x.n - 1, y.n - 1),
               'Locale', y.v ->> 'Locale'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'ConsentType'
                                         THEN b -> 'Versions' END)
               WITH ORDINALITY AS x(v, n)
         CROSS JOIN LATERAL jsonb_array_elements(x.v -> 'LocalizedFields')
               WITH ORDINALITY AS y(v, n)
        UNION ALL
        SELECT 9, x.n, 0, format('Labels[%s].LocaleId', x.n - 1), 'Locale',
               x.v ->> 'LocaleId'
          FROM jsonb_array_elements(CASE WHEN p_kind = 'CustomField'
                                         THEN b -> 'Labels' END)
               WITH ORDINALITY AS x(v, n)
    ) r
     WHERE r.ref_key IS NOT NULL
     ORDER BY r.o, r.i, r.j
$$;


-- Every reference of body b must name an item: an active one of the
-- account (p_index NULL: a single write), or one of the document being
-- imported (p_index: {kind: {key: is_active}}; inactive ones count, so that
-- every exported document imports again).
CREATE OR REPLACE FUNCTION prefs_cfg_check_refs(p_account_id bigint,
    p_kind text, b jsonb, p_index jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    active  boolean;
    noun    text;
BEGIN
    FOR r IN SELECT * FROM prefs_cfg_refs(p_kind, b) LOOP
        SELECT k.noun INTO noun FROM prefs_config_kinds() k
         WHERE k.kind = r.ref_kind;
        IF p_index IS NULL THEN
            SELECT i.is_active INTO active FROM prefs_config_item i
             WHERE i.account_id = p_account_id AND i.kind = r.ref_kind
               AND i.key = r.ref_key;
            IF active IS NOT TRUE THEN
                PERFORM prefs_cfg_fail(r.path, prefs_cfg_quote(r.ref_key)
                                       || ' is not an active ' || noun);
            END IF;
        ELSIF p_index #> ARRAY[r.ref_kind, r.ref_key] IS NULL THEN
            PERFORM prefs_cfg_fail(r.path, prefs_cfg_quote(r.ref_key)
                || ' is not a ' || noun || ' of the document');
        END IF;
    END LOOP;
END
$$;


-- Whether program group p_key is its own ancestor.
CREATE OR REPLACE FUNCTION prefs_cfg_group_cycle(p_account_id bigint,
    p_key text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(key, depth) AS (
        SELECT g.body ->> 'ParentProgramGroupId', 1
          FROM prefs_config_item g
         WHERE g.account_id = p_account_id AND g.kind = 'ProgramGroup'
           AND g.key = p_key
        UNION ALL
        SELECT g.body ->> 'ParentProgramGroupId', up.depth + 1
          FROM up
          JOIN prefs_config_item g ON g.account_id = p_account_id
                                  AND g.kind = 'ProgramGroup' AND g.key = up.key
         WHERE up.key <> p_key AND up.depth < 10000
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE up.key = p_key)
$$;


-- Active locales of the account, and how many of them are the default.
CREATE OR REPLACE FUNCTION prefs_cfg_locale_counts(p_account_id bigint,
    OUT active bigint, OUT defaults bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*), count(*) FILTER (WHERE i.body -> 'IsDefault' = 'true')
      FROM prefs_config_item i
     WHERE i.account_id = p_account_id AND i.kind = 'Locale' AND i.is_active
$$;


-- Serializes the configuration writes of one account: the invariants that
-- span items (one default locale, no cycles, references) are checked
-- against committed data.
CREATE OR REPLACE FUNCTION prefs_cfg_lock(p_account_id bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM prefs_account a
                    WHERE a.account_id = p_account_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'P0002',
            MESSAGE = format('no account with id %s', p_account_id);
    END IF;
    INSERT INTO prefs_config_version (account_id, generation)
    VALUES (p_account_id, 0)
    ON CONFLICT (account_id) DO NOTHING;
    PERFORM 1 FROM prefs_config_version v
      WHERE v.account_id = p_account_id FOR UPDATE;
END
$$;


-- POST (p_mode 'create': the key comes from the body; p_key NULL or the
-- same), PUT ('replace': the key of the path; the body's key field absent
-- or equal) and DELETE ('deactivate': p_body NULL).  Outcomes:
--   created      new item, or an inactive one replaced and reactivated
--   updated      replaced (PUT)
--   deactivated  (DELETE; also when already inactive)
--   exists       create of an active item's key
--   not_found    replace or deactivate of a key the account lacks
--   invalid      message: "<Collection>: <field path> <why>"
-- item_key is the item's key (canonical: a locale "en_us" is "en-US").
-- Locales: a locale written with IsDefault true becomes the one default;
-- IsDefault omitted keeps the current default, and makes the first active
-- locale the default; the default cannot be deactivated while other active
-- locales exist.
CREATE OR REPLACE FUNCTION prefs_config_write(p_account_id bigint,
    p_kind text, p_key text, p_body jsonb, p_mode text)
RETURNS TABLE (outcome text, item_key text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    coll      text;
    kf        text;
    cur       prefs_config_item%ROWTYPE;
    have      boolean;
    b         jsonb;
    k         text;
    n         record;
    usedby    text;
BEGIN
    SELECT x.collection, x.key_field INTO coll, kf
      FROM prefs_config_kinds() x WHERE x.kind = p_kind;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown configuration kind %L', p_kind);
    END IF;
    IF p_mode IS NULL OR p_mode NOT IN ('create', 'replace', 'deactivate') THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown write mode %L', p_mode);
    END IF;

    PERFORM prefs_cfg_lock(p_account_id);

    IF p_kind = 'Locale' THEN
        p_key := prefs_locale_canonical(p_key);
    END IF;

    IF p_mode IN ('replace', 'deactivate') THEN
        IF p_key IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = format('%s needs a key', p_mode);
        END IF;
        SELECT * INTO cur FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = p_kind
           AND i.key = p_key
           FOR UPDATE;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'not_found'::text, p_key,
                format('%s: there is no %s %s', coll, kf,
                       prefs_cfg_quote(p_key));
            RETURN;
        END IF;
    END IF;

    IF p_mode = 'deactivate' THEN
        IF p_kind = 'Locale' AND cur.is_active
           AND cur.body -> 'IsDefault' = 'true'
           AND (prefs_cfg_locale_counts(p_account_id)).active > 1
        THEN
            RETURN QUERY SELECT 'invalid'::text, p_key,
                format('%s: %s is the default locale: make another locale the '
                       'default before deactivating it', coll,
                       prefs_cfg_quote(p_key));
            RETURN;
        END IF;
        UPDATE prefs_config_item i
           SET is_active = false,
               body = i.body || jsonb_build_object('IsActive', false)
                      || CASE WHEN p_kind = 'Locale'
                              THEN jsonb_build_object('IsDefault', false)
                              ELSE '{}' END,
               updated_at = now()
         WHERE i.item_id = cur.item_id AND i.is_active;
        RETURN QUERY SELECT 'deactivated'::text, p_key, NULL::text;
        RETURN;
    END IF;

    IF p_body IS NULL OR jsonb_typeof(p_body) <> 'object' THEN
        RETURN QUERY SELECT 'invalid'::text, p_key,
            coll || ': the body must be a JSON object';
        RETURN;
    END IF;
    b := p_body;
    IF p_mode = 'replace' AND prefs_cfg_get(b, kf) IS NULL THEN
        b := b || jsonb_build_object(kf, p_key);
    END IF;

    BEGIN
        b := prefs_cfg_normalize(p_kind, b);
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT 'invalid'::text,
            coalesce(p_key, CASE WHEN jsonb_typeof(p_body -> kf) = 'string'
                                 THEN p_body ->> kf END),
            coll || ': ' || SQLERRM;
        RETURN;
    END;
    k := b ->> kf;

    IF p_key IS NOT NULL AND k <> p_key THEN
        RETURN QUERY SELECT 'invalid'::text, p_key,
            format('%s: %s %s differs from the %s of the path (%s)', coll, kf,
                   prefs_cfg_quote(k), kf, prefs_cfg_quote(p_key));
        RETURN;
    END IF;

    IF p_mode = 'create' THEN
        SELECT * INTO cur FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = p_kind AND i.key = k
           FOR UPDATE;
        have := FOUND;
        IF have AND cur.is_active THEN
            RETURN QUERY SELECT 'exists'::text, k,
                format('%s: %s %s already exists', coll, kf,
                       prefs_cfg_quote(k));
            RETURN;
        END IF;
    ELSE
        have := true;
    END IF;

    -- Locales: an omitted IsDefault keeps the default where it is, or
    -- makes this (active) locale the default when there is none.
    IF p_kind = 'Locale' AND prefs_cfg_get(p_body, 'IsDefault') IS NULL
       AND b -> 'IsActive' = 'true'
    THEN
        b := b || jsonb_build_object('IsDefault',
            (have AND cur.is_active AND cur.body -> 'IsDefault' = 'true')
            OR NOT EXISTS (
                SELECT 1 FROM prefs_config_item i
                 WHERE i.account_id = p_account_id AND i.kind = 'Locale'
                   AND i.is_active AND i.key <> k
                   AND i.body -> 'IsDefault' = 'true'));
    END IF;

    BEGIN
        IF p_kind = 'Locale' AND b -> 'IsDefault' = 'true' THEN
            UPDATE prefs_config_item i
               SET body = i.body || '{"IsDefault": false}', updated_at = now()
             WHERE i.account_id = p_account_id AND i.kind = 'Locale'
               AND i.key <> k AND i.body -> 'IsDefault' = 'true';
        END IF;

        IF have THEN
            UPDATE prefs_config_item i
               SET body = b, is_active = (b ->> 'IsActive')::boolean,
                   updated_at = now()
             WHERE i.item_id = cur.item_id
               AND (i.body <> b OR i.is_active <> (b ->> 'IsActive')::boolean);
        ELSE
            INSERT INTO prefs_config_item (account_id, kind, key, body,
                                           is_active)
            VALUES (p_account_id, p_kind, k, b, (b ->> 'IsActive')::boolean);
        END IF;

        PERFORM prefs_cfg_check_refs(p_account_id, p_kind, b, NULL);

        IF p_kind = 'ProgramGroup' AND prefs_cfg_group_cycle(p_account_id, k)
        THEN
            PERFORM prefs_cfg_fail('ParentProgramGroupId',
                prefs_cfg_quote(b ->> 'ParentProgramGroupId')
                || ' would make the group its own ancestor');
        END IF;

        -- The consent type of a required consent keeps its channel.
        IF p_kind = 'ConsentType' AND have AND cur.is_active
           AND (cur.body -> 'ChannelId') IS DISTINCT FROM (b -> 'ChannelId')
        THEN
            SELECT f.key INTO usedby FROM prefs_config_item f
             WHERE f.account_id = p_account_id AND f.kind = 'Filter'
               AND f.is_active
               AND f.body -> 'RequiredPreferenceConsents'
                   @> jsonb_build_array(jsonb_build_object('TypeName', k))
             ORDER BY f.key COLLATE "C" LIMIT 1;
            IF usedby IS NOT NULL THEN
                PERFORM prefs_cfg_fail('ChannelId', 'cannot change: filter '
                    || prefs_cfg_quote(usedby)
                    || ' requires this consent type');
            END IF;
        END IF;

        IF p_kind = 'Locale' THEN
            SELECT * INTO n FROM prefs_cfg_locale_counts(p_account_id);
            IF n.active > 0 AND n.defaults = 0 THEN
                IF b -> 'IsActive' = 'true' THEN
                    PERFORM prefs_cfg_fail('IsDefault', 'must be true: no '
                        'other active locale is the default');
                END IF;
                PERFORM prefs_cfg_fail('IsActive', 'cannot be false: '
                    || prefs_cfg_quote(k) || ' is the default locale; make '
                    'another locale the default first');
            END IF;
        END IF;
    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT 'invalid'::text, k, coll || ': ' || SQLERRM;
        RETURN;
    END;

    RETURN QUERY SELECT CASE WHEN p_mode = 'create' THEN 'created'
                             ELSE 'updated' END, k, NULL::text;
END
$$;


-- The account's whole configuration as one JSON text: what every worker
-- loads, and what an import takes.  Items as stored, each collection in
-- DisplayOrder then key order.
CREATE OR REPLACE FUNCTION prefs_config_document(p_account_id bigint,
    p_include_inactive boolean DEFAULT false)
RETURNS text
LANGUAGE sql STABLE AS $$
    WITH c AS (
        SELECT i.kind,
               jsonb_agg(i.body ORDER BY
                             coalesce((i.body ->> 'DisplayOrder')::bigint, 0),
                             i.key COLLATE "C") AS items
          FROM prefs_config_item i
         WHERE i.account_id = p_account_id
           AND (i.is_active OR p_include_inactive)
         GROUP BY i.kind
    ), k AS (
        SELECT coalesce(jsonb_object_agg(c.kind, c.items), '{}') AS m FROM c
    )
    SELECT json_build_object(
        'Generation', prefs_config_generation(p_account_id),
        'DefaultLocale', (SELECT l.key FROM prefs_config_item l
                           WHERE l.account_id = p_account_id
                             AND l.kind = 'Locale' AND l.is_active
                             AND l.body -> 'IsDefault' = 'true'
                           ORDER BY l.key COLLATE "C" LIMIT 1),
        'Locales', coalesce(k.m -> 'Locale', '[]'),
        'ProgramTypes', coalesce(k.m -> 'ProgramType', '[]'),
        'Programs', coalesce(k.m -> 'Program', '[]'),
        'ProgramGroups', coalesce(k.m -> 'ProgramGroup', '[]'),
        'Filters', coalesce(k.m -> 'Filter', '[]'),
        'ConsentTypes', coalesce(k.m -> 'ConsentType', '[]'),
        'ContactTypes', json_build_object(
            'Email', coalesce(k.m -> 'EmailType', '[]'),
            'Phone', coalesce(k.m -> 'PhoneType', '[]'),
            'Address', coalesce(k.m -> 'AddressType', '[]')),
        'AlternateIdTypes', coalesce(k.m -> 'AlternateIdType', '[]'),
        'CustomerTypes', coalesce(k.m -> 'CustomerType', '[]'),
        'GroupTypes', coalesce(k.m -> 'GroupType', '[]'),
        'CustomFields', coalesce(k.m -> 'CustomField', '[]'),
        'Tags', coalesce(k.m -> 'Tag', '[]'))::text
      FROM k
$$;


-- Replaces the account's configuration with a document shaped like
-- prefs_config_document's (Generation and DefaultLocale are ignored; a
-- missing collection is an empty one).  Items may reference items anywhere
-- in the document, active or not.  Items the document lacks are
-- deactivated, not deleted.  Any invalid item raises PF001 naming the item
-- and the field, and nothing changes.  Returns
-- {"Created","Updated","Unchanged","Deactivated","Generation"}.
CREATE OR REPLACE FUNCTION prefs_config_import(p_account_id bigint,
    p_doc jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    kd        record;
    e         record;
    arr       jsonb;
    label     text;
    k         text;
    b         jsonb;
    it        jsonb;
    idx       jsonb;
    items     jsonb[] := '{}';
    cur       prefs_config_item%ROWTYPE;
    created   bigint := 0;
    updated   bigint := 0;
    same      bigint := 0;
    gone      bigint := 0;
    nact      bigint;
    defs      text[];
BEGIN
    PERFORM prefs_cfg_lock(p_account_id);

    IF p_doc IS NULL OR jsonb_typeof(p_doc) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = 'the document must be a JSON object';
    END IF;
    SELECT x INTO k FROM jsonb_object_keys(p_doc) AS x
     WHERE x <> ALL (ARRAY['Generation', 'DefaultLocale', 'Locales',
                'ProgramTypes', 'Programs', 'ProgramGroups', 'Filters',
                'ConsentTypes', 'ContactTypes', 'AlternateIdTypes',
                'CustomerTypes', 'GroupTypes', 'CustomFields', 'Tags'])
     ORDER BY x COLLATE "C" LIMIT 1;
    IF k IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = prefs_cfg_quote(k) || ' is not a known collection';
    END IF;
    IF prefs_cfg_get(p_doc, 'ContactTypes') IS NOT NULL THEN
        IF jsonb_typeof(p_doc -> 'ContactTypes') <> 'object' THEN
            RAISE EXCEPTION USING ERRCODE = 'PF001',
                MESSAGE = 'ContactTypes must be an object of Email, Phone '
                          'and Address';
        END IF;
        SELECT x INTO k FROM jsonb_object_keys(p_doc -> 'ContactTypes') AS x
         WHERE x <> ALL (ARRAY['Email', 'Phone', 'Address'])
         ORDER BY x COLLATE "C" LIMIT 1;
        IF k IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'PF001',
                MESSAGE = 'ContactTypes.' || prefs_cfg_shown(k)
                          || ' is not a known collection';
        END IF;
    END IF;

    -- 1. every item on its own
    FOR kd IN SELECT * FROM prefs_config_kinds() ORDER BY ord LOOP
        arr := p_doc #> kd.doc_path;
        IF arr IS NULL OR jsonb_typeof(arr) = 'null' THEN
            CONTINUE;
        END IF;
        IF jsonb_typeof(arr) <> 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'PF001',
                MESSAGE = kd.collection || ' must be an array';
        END IF;
        FOR e IN SELECT x.v, x.n - 1 AS i
                   FROM jsonb_array_elements(arr) WITH ORDINALITY AS x(v, n)
        LOOP
            label := kd.collection || '[' || e.i || ']';
            IF jsonb_typeof(e.v -> kd.key_field) = 'string' THEN
                label := label || ' (' || kd.key_field || ' '
                         || prefs_cfg_quote(e.v ->> kd.key_field) || ')';
            END IF;
            BEGIN
                b := prefs_cfg_normalize(kd.kind, e.v);
            EXCEPTION WHEN SQLSTATE 'PF001' THEN
                RAISE EXCEPTION USING ERRCODE = 'PF001',
                    MESSAGE = label || ': ' || SQLERRM;
            END;
            items := array_append(items, jsonb_build_object(
                'kind', kd.kind, 'key', b ->> kd.key_field, 'body', b,
                'label', label, 'key_field', kd.key_field,
                'collection', kd.collection));
        END LOOP;
    END LOOP;

    -- 2. keys unique within a kind
    SELECT d.v INTO it FROM (
        SELECT x.v, x.n, row_number() OVER (PARTITION BY x.v ->> 'kind',
                                                          x.v ->> 'key'
                                            ORDER BY x.n) AS r
          FROM unnest(items) WITH ORDINALITY AS x(v, n)) d
     WHERE d.r = 2 ORDER BY d.n LIMIT 1;
    IF it IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = (it ->> 'label') || ': ' || (it ->> 'key_field') || ' '
                      || prefs_cfg_quote(it ->> 'key')
                      || ' appears more than once in ' || (it ->> 'collection');
    END IF;

    -- 3. references, within the document: {kind: {key: IsActive}}
    SELECT coalesce(jsonb_object_agg(s.kind, s.keys), '{}') INTO idx
      FROM (SELECT x.v ->> 'kind' AS kind,
                   jsonb_object_agg(x.v ->> 'key',
                                    x.v #> '{body,IsActive}') AS keys
              FROM unnest(items) AS x(v)
             GROUP BY x.v ->> 'kind') s;
    FOREACH it IN ARRAY items LOOP
        BEGIN
            PERFORM prefs_cfg_check_refs(p_account_id, it ->> 'kind',
                                         it -> 'body', idx);
        EXCEPTION WHEN SQLSTATE 'PF001' THEN
            RAISE EXCEPTION USING ERRCODE = 'PF001',
                MESSAGE = (it ->> 'label') || ': ' || SQLERRM;
        END;
    END LOOP;

    SELECT count(*), array_agg(x.v ->> 'key' ORDER BY x.v ->> 'key')
                     FILTER (WHERE x.v #> '{body,IsDefault}' = 'true')
      INTO nact, defs
      FROM unnest(items) AS x(v)
     WHERE x.v ->> 'kind' = 'Locale' AND x.v #> '{body,IsActive}' = 'true';
    IF nact > 0 AND defs IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = 'Locales: one active locale must have IsDefault true';
    ELSIF cardinality(defs) > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'PF001',
            MESSAGE = 'Locales: only one locale may have IsDefault true, not '
                      || array_to_string(defs, ', ');
    END IF;

    -- 4. write
    FOREACH it IN ARRAY items LOOP
        SELECT * INTO cur FROM prefs_config_item i
         WHERE i.account_id = p_account_id AND i.kind = it ->> 'kind'
           AND i.key = it ->> 'key'
           FOR UPDATE;
        b := it -> 'body';
        IF NOT FOUND THEN
            INSERT INTO prefs_config_item (account_id, kind, key, body,
                                           is_active)
            VALUES (p_account_id, it ->> 'kind', it ->> 'key', b,
                    (b ->> 'IsActive')::boolean);
            created := created + 1;
        ELSIF cur.body = b AND cur.is_active = (b ->> 'IsActive')::boolean THEN
            same := same + 1;
        ELSE
            UPDATE prefs_config_item i
               SET body = b, is_active = (b ->> 'IsActive')::boolean,
                   updated_at = now()
             WHERE i.item_id = cur.item_id;
            updated := updated + 1;
        END IF;
    END LOOP;

    UPDATE prefs_config_item i
       SET is_active = false,
           body = i.body || jsonb_build_object('IsActive', false)
                  || CASE WHEN i.kind = 'Locale'
                          THEN jsonb_build_object('IsDefault', false)
                          ELSE '{}' END,
           updated_at = now()
     WHERE i.account_id = p_account_id AND i.is_active
       AND idx #> ARRAY[i.kind, i.key] IS NULL;
    GET DIAGNOSTICS gone = ROW_COUNT;

    -- 5. no cycles of program groups (the items are in the table now)
    FOREACH it IN ARRAY items LOOP
        CONTINUE WHEN it ->> 'kind' <> 'ProgramGroup';
        IF prefs_cfg_group_cycle(p_account_id, it ->> 'key') THEN
            RAISE EXCEPTION USING ERRCODE = 'PF001',
                MESSAGE = (it ->> 'label') || ': ParentProgramGroupId '
                          || prefs_cfg_quote(
                                 it #>> '{body,ParentProgramGroupId}')
                          || ' makes the group its own ancestor';
        END IF;
    END LOOP;

    RETURN json_build_object(
        'Created', created,
        'Updated', updated,
        'Unchanged', same,
        'Deactivated', gone,
        'Generation', prefs_config_generation(p_account_id))::text;
END
$$;


CREATE OR REPLACE FUNCTION prefs_config_write_many(p_account_id bigint,
    p_kind text, p_key text, p_items jsonb, p_mode text)
RETURNS TABLE (outcome text, item_key text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    w      record;
    item   jsonb;
    done   jsonb := '[]'::jsonb;
    r_out  text;
    r_key  text;
    r_msg  text;
BEGIN
    IF p_mode = 'deactivate' THEN
        RETURN QUERY
            SELECT x.outcome, x.item_key, x.message
              FROM prefs_config_write(p_account_id, p_kind, p_key, NULL,
                                      p_mode) x;
        RETURN;
    END IF;

    IF jsonb_typeof(p_items) <> 'array' THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::text,
                            'The body must hold one item or a list'::text;
        RETURN;
    END IF;

    BEGIN
        FOR item IN SELECT e FROM jsonb_array_elements(p_items) AS e LOOP
            SELECT x.outcome, x.item_key, x.message INTO w
              FROM prefs_config_write(p_account_id, p_kind, p_key, item,
                                      p_mode) x;

            IF w.outcome NOT IN ('created', 'updated', 'deactivated') THEN
                r_out := w.outcome;
                r_key := w.item_key;
                r_msg := w.message;
                RAISE EXCEPTION USING ERRCODE = 'PF001';
            END IF;

            done := done || jsonb_build_object('o', w.outcome,
                                               'k', w.item_key);
        END LOOP;

    EXCEPTION WHEN SQLSTATE 'PF001' THEN
        RETURN QUERY SELECT r_out, r_key, r_msg;
        RETURN;
    END;

    RETURN QUERY
        SELECT d->>'o', d->>'k', NULL::text
          FROM jsonb_array_elements(done) AS d;
END
$$;
