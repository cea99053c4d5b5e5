-- bench/profiles.sql: :n realistic profiles of the account "bench" (made
-- with the demo configuration), written straight into the tables with
-- set-based SQL; bench/profile.sh loads them so:
--   psql -v ON_ERROR_STOP=1 -v n=N -f bench/profiles.sql
-- and bench/export.sh through bench_profiles (bench/lib.sh), which renders
-- their copies after.
-- (the description of a profile is bench/profile.sh's).

SELECT account_id AS acct FROM prefs_account WHERE client_id = 'bench' \gset
-- (no foreign key checks for this session's inserts: every row refers to
-- rows made just before it, and the checks, 27 for a profile, were a
-- quarter of the inserts' time; no trigger fires on INSERT)
SET session_replication_role = replica;
SELECT user_id AS uid FROM prefs_user WHERE account_id = :acct AND user_name = 'api' \gset

-- the configuration the data refers to must be there
DO $$
BEGIN
    IF (SELECT count(*) FROM prefs_config_item i JOIN prefs_account a USING (account_id)
         WHERE a.client_id = 'bench' AND i.is_active AND (i.kind, i.key) IN (
               ('Filter', 'NewsletterEmail'), ('Filter', 'ProductUpdatesEmail'),
               ('Filter', 'PartnerOffersEmail'), ('Filter', 'NewsletterText'),
               ('Filter', 'AccountAlertsText'), ('Filter', 'PartnerOffersPhone'),
               ('Filter', 'ProductUpdatesMail'), ('ConsentType', 'Marketing'),
               ('ConsentType', 'DataSharing'), ('ConsentType', 'TextMessaging'),
               ('CustomField', 'FavoriteCategory'), ('CustomField', 'Nickname'),
               ('CustomField', 'HouseholdSize'), ('CustomField', 'PaperlessBilling'),
               ('CustomField', 'Birthday'), ('EmailType', 'Personal'),
               ('EmailType', 'Work'), ('PhoneType', 'Mobile'), ('AddressType', 'Home'),
               ('CustomerType', 'Consumer'), ('CustomerType', 'Business'),
               ('CustomerType', 'Prospect'))) <> 22 THEN
        RAISE EXCEPTION 'the demo configuration lacks an item the bench data uses';
    END IF;
END
$$;

INSERT INTO prefs_profile (account_id, prefix, first_name, middle_name, last_name,
    default_locale, customer_type, registration_confirmed, edited_by,
    created_at, updated_at, edited_at)
SELECT :acct, (ARRAY['Mr.', 'Ms.', 'Dr.', ''])[1 + n % 4], 'First' || n,
       CASE WHEN n % 3 = 0 THEN 'M.' ELSE '' END, 'Last' || n,
       (ARRAY['en-US', 'de-DE', 'fr-FR'])[1 + n % 3],
       (ARRAY['Consumer', 'Business', 'Prospect'])[1 + n % 3],
       n % 5 <> 0, :uid, t, t, t
  FROM generate_series(1, :n) n,
       LATERAL (SELECT now() - make_interval(days => n % 1000) AS t) x
 ORDER BY n;

CREATE TEMP TABLE bp AS
SELECT profile_id AS id, created_at AS t FROM prefs_profile WHERE account_id = :acct;

INSERT INTO prefs_profile_email (account_id, profile_id, address, type, is_default,
                                 created_at, updated_at)
SELECT :acct, id, 'p' || id || '.' || k || '@example.com',
       CASE k WHEN 'home' THEN 'Personal' ELSE 'Work' END, k = 'home', t, t
  FROM bp, unnest(ARRAY['home', 'work']) k
 ORDER BY id, k;

INSERT INTO prefs_profile_phone (account_id, profile_id, number, type, is_mobile,
                                 is_default, created_at, updated_at)
SELECT :acct, id, '+1555' || lpad(id::text, 7, '0'), 'Mobile', true, true, t, t
  FROM bp ORDER BY id;

INSERT INTO prefs_profile_address (account_id, profile_id, line1, line2, city, state,
    postal_code, country, type, is_default, created_at, updated_at)
SELECT :acct, id, (1 + id % 9999) || ' ' || (ARRAY['Main St', 'Oak Ave', 'Elm Rd', 'Pine Ln'])[1 + id % 4],
       CASE WHEN id % 4 = 0 THEN 'Apt ' || (1 + id % 40) ELSE '' END,
       (ARRAY['Springfield', 'Riverside', 'Fairview', 'Madison'])[1 + id % 4],
       (ARRAY['IL', 'CA', 'TX', 'WI'])[1 + id % 4], lpad((id % 100000)::text, 5, '0'),
       'US', 'Home', true, t, t
  FROM bp ORDER BY id;

INSERT INTO prefs_profile_custom_field (account_id, profile_id, name, value, updated_at)
SELECT :acct, id, f, CASE f
        WHEN 'FavoriteCategory' THEN (ARRAY['Electronics', 'Garden', 'Kitchen', 'Outdoor', 'Toys'])[1 + id % 5]
        WHEN 'Nickname' THEN 'Nick' || id
        WHEN 'HouseholdSize' THEN (1 + id % 6)::text
        WHEN 'PaperlessBilling' THEN CASE WHEN id % 2 = 0 THEN 'true' ELSE 'false' END
        WHEN 'Birthday' THEN to_char(date '1950-01-01' + (id % 20000)::integer, 'YYYY-MM-DD')
       END, t
  FROM bp, unnest(ARRAY['Birthday', 'FavoriteCategory', 'HouseholdSize', 'Nickname',
                        'PaperlessBilling']) f
 ORDER BY id, f;

-- the contact points by slot: home / work email, mobile, address
CREATE TEMP TABLE bc AS
SELECT e.profile_id, CASE WHEN e.is_default THEN 'home' ELSE 'work' END AS slot,
       e.email_id, NULL::bigint AS phone_id, NULL::bigint AS address_id,
       'E' || e.email_id AS ckey
  FROM prefs_profile_email e WHERE e.account_id = :acct
UNION ALL
SELECT p.profile_id, 'mobile', NULL, p.phone_id, NULL, 'P' || p.phone_id
  FROM prefs_profile_phone p WHERE p.account_id = :acct
UNION ALL
SELECT a.profile_id, 'mail', NULL, NULL, a.address_id, 'A' || a.address_id
  FROM prefs_profile_address a WHERE a.account_id = :acct;

-- 10 preferences: 2 emails x 3 email filters, the mobile for both text
-- filters and the phone filter, the address for the printed catalogue.
-- Channel and expiration as prefs_data_apply derives them.
INSERT INTO prefs_preference (account_id, profile_id, filter_id, channel_id, email_id,
    phone_id, address_id, contact_key, preference_type, frequency_id, attributes,
    customer_date, expiration_date, created_at, updated_at)
SELECT :acct, c.profile_id, s.filter_id, i.body ->> 'ChannelId', c.email_id, c.phone_id,
       c.address_id, c.ckey, s.ptype, s.freq, s.attrs::jsonb, d.cdate,
       d.cdate + make_interval(days => (i.body ->> CASE WHEN s.ptype = 1
           THEN 'OptInCustomerExpirationDays' ELSE 'OptOutCustomerExpirationDays' END)::integer),
       d.cdate, d.cdate
  FROM (VALUES
        (1, 'home', 'NewsletterEmail', 1, 'W', '[{"Key": "Topic", "Value": "Recipes"}]'),
        (2, 'home', 'ProductUpdatesEmail', 1, 'M', '[{"Key": "ProductLine", "Value": "Kitchen"}]'),
        (3, 'home', 'PartnerOffersEmail', 2, 'W', '[]'),
        (4, 'work', 'NewsletterEmail', 2, 'W', '[]'),
        (5, 'work', 'ProductUpdatesEmail', 1, 'W', '[{"Key": "ProductLine", "Value": "Tools"}]'),
        (6, 'work', 'PartnerOffersEmail', 2, 'M', '[{"Key": "Partner", "Value": "Globex"}]'),
        (7, 'mobile', 'NewsletterText', 1, 'W', '[]'),
        (8, 'mobile', 'AccountAlertsText', 1, NULL, '[{"Key": "QuietHours", "Value": "22-07"}]'),
        (9, 'mobile', 'PartnerOffersPhone', 2, 'M', '[]'),
        (10, 'mail', 'ProductUpdatesMail', 1, 'M', '[]'))
       AS s(ord, slot, filter_id, ptype, freq, attrs)
  JOIN prefs_config_item i ON i.account_id = :acct AND i.kind = 'Filter'
                          AND i.key = s.filter_id AND i.is_active
  JOIN bc c ON c.slot = s.slot,
       LATERAL (SELECT now() - make_interval(days => (c.profile_id % 300)::integer,
                                             mins => s.ord) AS cdate) d
 ORDER BY c.profile_id, s.ord;

-- 5 consent rows: Marketing 1.0 then 2.0, DataSharing denied then
-- granted, TextMessaging once; oldest first, as they would be recorded
INSERT INTO prefs_consent (account_id, profile_id, type_name, version, status,
    recorded_at, recorded_by, customer_date, expiration_date)
SELECT :acct, b.id, s.type_name, s.version, s.status, d.at, :uid, d.at,
       d.at + make_interval(days => (SELECT (v ->> 'ExpirationInDays')::integer
                                       FROM jsonb_array_elements(i.body -> 'Versions') v
                                      WHERE v ->> 'ConsentVersion' = s.version))
  FROM (VALUES
        (1, 'Marketing', '1.0', 1::smallint, 900),
        (2, 'DataSharing', '1.0', 2::smallint, 600),
        (3, 'TextMessaging', '2024-01', 1::smallint, 400),
        (4, 'Marketing', '2.0', 1::smallint, 200),
        (5, 'DataSharing', '1.0', 1::smallint, 100))
       AS s(ord, type_name, version, status, days_ago)
  JOIN prefs_config_item i ON i.account_id = :acct AND i.kind = 'ConsentType'
                          AND i.key = s.type_name AND i.is_active
 CROSS JOIN bp b,
       LATERAL (SELECT now() - make_interval(days => s.days_ago + (b.id % 30)::integer)
                    AS at) d
 ORDER BY b.id, s.ord;

-- the links from each preference to the consents its filter requires, as
-- the API keeps them (prefs_data_assoc_sync, sql/functions/consents.sql): without them every
-- profile's first write would create them all
INSERT INTO prefs_consent_assoc (account_id, profile_id, kind, type_name,
                                 preference_id, consent_id, status)
SELECT :acct, pr.profile_id, 'F', rc.x ->> 'TypeName', pr.preference_id,
       c.consent_id,
       CASE WHEN pr.preference_type = 2 AND c.status = 1 THEN 3 ELSE c.status END
  FROM prefs_preference pr
  JOIN prefs_config_item i ON i.account_id = :acct AND i.kind = 'Filter'
                          AND i.key = pr.filter_id AND i.is_active
 CROSS JOIN LATERAL jsonb_array_elements(
           coalesce(i.body -> 'RequiredPreferenceConsents', '[]')) AS rc(x)
  JOIN LATERAL (
       SELECT c.consent_id, c.status FROM prefs_consent c
        WHERE c.profile_id = pr.profile_id AND c.type_name = rc.x ->> 'TypeName'
          AND c.is_active AND c.contact_key IN (pr.contact_key, '')
        ORDER BY c.contact_key = pr.contact_key DESC, c.consent_id DESC
        LIMIT 1) c ON true
 WHERE pr.account_id = :acct AND NOT pr.is_archived
 ORDER BY pr.profile_id, pr.preference_id;

RESET session_replication_role;
