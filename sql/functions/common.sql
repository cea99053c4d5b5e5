-- Functions every domain uses.
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


CREATE OR REPLACE FUNCTION prefs_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;


-- Names people read and type, and that identify something: user names and
-- the keys of configuration items.  One name has one spelling: it is
-- stored in Unicode NFC (prefs_name_nfc), and it may not hold characters
-- that show as nothing or as a space, which would let "admin\u200b" or
-- "admin" with a no-break space pass for "admin" (prefs_name_problem).
-- Both are used wherever such a name enters (auth.sql, config.sql,
-- ctl.sql), whatever the database's locale.
CREATE OR REPLACE FUNCTION prefs_name_nfc(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT normalize(p_name, NFC)
$$;


-- Why p_name (in NFC) cannot be a name, or NULL: a format character
-- (Unicode Cf: soft hyphen, zero width space and joiners, bidirectional
-- marks and overrides such as U+202E, word joiner, BOM, tags) or a C1
-- control anywhere; a space other than U+0020 (Unicode Zs: no-break
-- space, en/em spaces, ideographic space...; Zl, Zp) anywhere; and, with
-- p_spaces false (user names: "no white space"), U+0020 too.
CREATE OR REPLACE FUNCTION prefs_name_problem(p_name text, p_spaces boolean)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_name ~ ('[\u0080-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F'
                       '\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E'
                       '\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB'
                       '\U000110BD\U000110CD\U00013430-\U0001343F'
                       '\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A'
                       '\U000E0001\U000E0020-\U000E007F]')
        THEN 'must not hold invisible format or control characters '
             '(such as U+200B or U+202E)'
        WHEN p_name ~ ('[\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F'
                       '\u3000]')
             OR (NOT p_spaces AND p_name ~ ' ')
        THEN CASE WHEN p_spaces
                  THEN 'must not hold spaces other than U+0020 (such as '
                       'U+00A0)'
                  ELSE 'must not hold white space (such as U+00A0)' END
    END
$$;
