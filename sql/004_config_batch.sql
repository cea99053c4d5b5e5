-- 004: writing several configuration items in one request, all or none.
--
-- The reference's bodies carry lists ({"ConsentTypes": [...]}); each item
-- goes through prefs_config_write() (003), and the first refusal undoes
-- the items written before it and is the answer.

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
