-- 023: user names and configuration keys are now taken in Unicode NFC and
-- without format characters (Cf) or spaces other than U+0020 (user names:
-- no white space at all); see prefs_name_nfc and prefs_name_problem in
-- sql/functions/common.sql.  Rows written before keep their names: a user
-- name is part of what its owner signs (PNAUTHINFO3), so renaming it
-- would lock its clients out, and two names that normalize alike would
-- become one.  This migration changes nothing; it lists the names an
-- operator should look at, as WARNINGs (prefsctl migrate shows them):
-- rename them deliberately, or delete the lookalike.

-- the name as ASCII: any other character as its code point escaped in
-- JSON's way (a zero-width space shows as \u200b), so that what cannot
-- be seen can be read
CREATE OR REPLACE FUNCTION pg_temp.prefs_023_shown(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT '"' || string_agg(CASE WHEN c ~ '^[ -~]$' THEN c
                                  ELSE format('\u%s', lpad(to_hex(ascii(c)), 4,
                                                            '0')) END,
                             '' ORDER BY i) || '"'
      FROM regexp_split_to_table(p, '') WITH ORDINALITY AS t(c, i)
$f$;

DO $$
DECLARE
    r    record;
    bad  text := '[\u0080-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F'
                 '\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E'
                 '\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB'
                 '\U000110BD\U000110CD\U00013430-\U0001343F'
                 '\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A'
                 '\U000E0001\U000E0020-\U000E007F'
                 '\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]';
BEGIN
    FOR r IN
        SELECT a.client_id, u.user_id, u.user_name,
               normalize(u.user_name, NFC) <> u.user_name AS not_nfc,
               EXISTS (SELECT 1 FROM prefs_user x
                        WHERE x.account_id = u.account_id
                          AND x.user_id <> u.user_id
                          AND normalize(x.user_name, NFC)
                              = normalize(u.user_name, NFC)) AS lookalike
          FROM prefs_user u JOIN prefs_account a USING (account_id)
         WHERE normalize(u.user_name, NFC) <> u.user_name
            OR u.user_name ~ bad
         ORDER BY u.user_id
    LOOP
        RAISE WARNING 'prefs: user % of % (%) %', r.user_id, r.client_id,
            pg_temp.prefs_023_shown(r.user_name),
            CASE WHEN r.lookalike THEN 'has the same NFC form as another '
                                       'user of the account'
                 WHEN r.not_nfc THEN 'is not in NFC'
                 ELSE 'holds a format character or a non-ASCII space' END;
    END LOOP;

    FOR r IN
        SELECT a.client_id, i.kind, i.key
          FROM prefs_config_item i JOIN prefs_account a USING (account_id)
         WHERE normalize(i.key, NFC) <> i.key OR i.key ~ bad
         ORDER BY i.item_id
    LOOP
        RAISE WARNING 'prefs: % % of % is not in NFC or holds a format '
            'character or a non-ASCII space', r.kind,
            pg_temp.prefs_023_shown(r.key),
            r.client_id;
    END LOOP;
END
$$;
