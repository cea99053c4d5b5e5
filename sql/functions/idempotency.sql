-- Idempotency-Key: running an operation of prefs_idempotent_operation once
-- per key and replaying its stored answer (tables: 010_idempotency).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


-- idempotency: 'new' (run now, key kept), 'refused' (run now, outcome not
-- kept, key dropped), 'replayed' (the stored answer), 'mismatch' (the key
-- belongs to another request; answer NULL).
CREATE OR REPLACE FUNCTION prefs_idempotent(p_account_id bigint,
    p_user_id bigint, p_key text, p_fingerprint text, p_operation text,
    p_args jsonb)
RETURNS TABLE (idempotency text, answer jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    op    prefs_idempotent_operation%ROWTYPE;
    k     prefs_idempotency%ROWTYPE;
    res   jsonb;
    mine  boolean := false;
    ttl   CONSTANT interval := interval '24 hours';
BEGIN
    SELECT * INTO op FROM prefs_idempotent_operation o
     WHERE o.operation = p_operation;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('unknown idempotent operation %L', p_operation);
    END IF;
    IF p_key IS NULL OR char_length(p_key) NOT BETWEEN 1 AND 255
       OR p_key ~ '[^\x20-\x7e]' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'an idempotency key is 1 to 255 printable ASCII '
                      'characters';
    END IF;

    DELETE FROM prefs_idempotency x
     WHERE (x.account_id, x.user_id, x.idem_key) IN (
           SELECT y.account_id, y.user_id, y.idem_key
             FROM prefs_idempotency y
            WHERE y.created_at < now() - ttl
            ORDER BY y.created_at LIMIT 16
              FOR UPDATE SKIP LOCKED);

    FOR attempt IN 1 .. 3 LOOP
        INSERT INTO prefs_idempotency (account_id, user_id, idem_key,
                                       fingerprint, operation)
        VALUES (p_account_id, p_user_id, p_key, p_fingerprint, p_operation)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            mine := true;
            EXIT;
        END IF;
        -- committed by another transaction (waited for above)
        SELECT * INTO k FROM prefs_idempotency x
         WHERE x.account_id = p_account_id AND x.user_id = p_user_id
           AND x.idem_key = p_key
           FOR UPDATE;
        CONTINUE WHEN NOT FOUND;      -- removed meanwhile: insert again
        IF k.created_at < now() - ttl THEN
            UPDATE prefs_idempotency x
               SET fingerprint = p_fingerprint, operation = p_operation,
                   answer = NULL, created_at = now()
             WHERE x.account_id = p_account_id AND x.user_id = p_user_id
               AND x.idem_key = p_key;
            mine := true;
            EXIT;
        END IF;
        IF k.fingerprint <> p_fingerprint THEN
            RETURN QUERY SELECT 'mismatch'::text, NULL::jsonb;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'replayed'::text, k.answer;
        RETURN;
    END LOOP;
    IF NOT mine THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = 'the idempotency key changed hands repeatedly';
    END IF;

    EXECUTE op.call INTO res USING p_account_id, p_user_id, p_args;

    IF res ->> 'outcome' = ANY (op.kept) THEN
        UPDATE prefs_idempotency x SET answer = res
         WHERE x.account_id = p_account_id AND x.user_id = p_user_id
           AND x.idem_key = p_key;
        RETURN QUERY SELECT 'new'::text, res;
    ELSE
        DELETE FROM prefs_idempotency x
         WHERE x.account_id = p_account_id AND x.user_id = p_user_id
           AND x.idem_key = p_key;
        RETURN QUERY SELECT 'refused'::text, res;
    END IF;
END
$$;
