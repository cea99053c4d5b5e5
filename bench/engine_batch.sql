-- bench/engine_batch.sql: the batch figure of bench/profile.sh.  Writes
-- :n profiles of the import bench's shape (2 emails, 1 mobile phone, 1
-- address, 10 preferences, 5 consents, 5 custom fields, one alternate id)
-- into the account :acct through ONE prefs_engine_apply call, then the
-- same profiles again by ProfileId with one preference changed each (an
-- update batch), each in its own transaction; prints one line per batch:
--   create|update <profiles> <seconds> <profiles/s> <data rows> <rows/s> <events> <failed>
-- (data rows: the rows the batch added or updated in the profile tables,
-- counted by xmin; events: rows added to prefs_event).
--   psql -v acct=N -v uid=N -v n=1000 -v tag=SOMETHING [-v consents=0] [-v per_item=1] \
--        -f bench/engine_batch.sql
-- consents=0: the same profiles without their consents.
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '

\ir import_record.sql
CREATE TEMP TABLE eb_items AS
SELECT jsonb_agg(pg_temp.bench_import_record(i, :'tag') ORDER BY i) AS items
  FROM generate_series(1, :n) i;

\if :{?consents}
\else
\set consents 1
\endif
-- per_item=1: every item through the per-profile path (the engine before
-- its set-based path), for the same run's comparison
\if :{?per_item}
SET prefs.engine_set_based = off;
\endif
UPDATE eb_items SET items = (SELECT jsonb_agg(x.e - 'Consents' ORDER BY x.n)
                               FROM jsonb_array_elements(items)
                                    WITH ORDINALITY x(e, n))
 WHERE :consents = 0;

-- the data rows a transaction wrote: rows of the profile tables whose
-- xmin is one of its (sub)transactions' (newer than p_x0)
CREATE OR REPLACE FUNCTION pg_temp.eb_rows(p_acct bigint, p_x0 bigint) RETURNS bigint
LANGUAGE sql AS $$
    SELECT sum(n)::bigint FROM (
        SELECT count(*) n FROM prefs_profile WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_profile_email WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_profile_phone WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_profile_address WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_profile_custom_field WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_preference WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_consent WHERE account_id = p_acct AND xmin::text::bigint > p_x0
        UNION ALL SELECT count(*) FROM prefs_consent_assoc WHERE account_id = p_acct AND xmin::text::bigint > p_x0) x
$$;

-- create: one call, one transaction (its commit renders nothing more:
-- the creates kept their copies)
SELECT clock_timestamp() AS t0, txid_current() AS x0,
       (SELECT coalesce(max(event_id), 0) FROM prefs_event) AS e0 \gset
BEGIN;
CREATE TEMP TABLE eb_res AS
SELECT * FROM prefs_engine_apply(:acct, :uid, (SELECT items FROM eb_items), '{"Source": "bench"}');
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS secs \gset
SELECT 'create', count(*) FILTER (WHERE outcome = 'created'), round(:secs::numeric, 2),
       round(count(*) FILTER (WHERE outcome = 'created') / :secs),
       pg_temp.eb_rows(:acct, :x0), round(pg_temp.eb_rows(:acct, :x0) / :secs),
       (SELECT count(*) FROM prefs_event WHERE event_id > :e0),
       count(*) FILTER (WHERE outcome = 'failed')
  FROM eb_res;
SELECT 'first failure: ' || min(message) FROM eb_res WHERE outcome = 'failed' HAVING count(*) > 0;

-- update: the same profiles by ProfileId, the home email's newsletter
-- preference set to monthly
SELECT jsonb_agg(jsonb_build_object('ProfileId', r.profile_id::bigint,
           'Emails', jsonb_build_array(jsonb_build_object(
               'EmailAddress', i.v #>> '{Emails,0,EmailAddress}',
               'EmailPreferences', jsonb_build_array(jsonb_build_object(
                   'FilterId', 'NewsletterEmail', 'PreferenceType', 1, 'FrequencyId', 'M',
                   'PreferenceAttributes', jsonb_build_array(jsonb_build_object('Key', 'Topic',
                                                                                'Value', 'Recipes')))))))
           ORDER BY r.item) AS items
  FROM eb_res r
  JOIN eb_items x ON true
 CROSS JOIN LATERAL (SELECT x.items -> r.item AS v) i
 WHERE r.outcome = 'created' \gset upd_
SELECT clock_timestamp() AS t0, txid_current() AS x0,
       (SELECT coalesce(max(event_id), 0) FROM prefs_event) AS e0 \gset
BEGIN;
CREATE TEMP TABLE eb_res2 AS
SELECT * FROM prefs_engine_apply(:acct, :uid, :'upd_items'::jsonb, '{"Source": "bench"}');
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS secs \gset
SELECT 'update', count(*) FILTER (WHERE outcome = 'updated'), round(:secs::numeric, 2),
       round(count(*) FILTER (WHERE outcome = 'updated') / :secs),
       pg_temp.eb_rows(:acct, :x0), round(pg_temp.eb_rows(:acct, :x0) / :secs),
       (SELECT count(*) FROM prefs_event WHERE event_id > :e0),
       count(*) FILTER (WHERE outcome = 'failed')
  FROM eb_res2;
SELECT 'first failure: ' || min(message) FROM eb_res2 WHERE outcome = 'failed' HAVING count(*) > 0;
