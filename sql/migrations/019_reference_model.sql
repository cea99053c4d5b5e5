-- 019: profiles on the wire in the reference's model (UserProfilePreference:
-- CustomerName, Emails[].EmailAddress, PhoneNumbers[].PhoneNumber,
-- Addresses[].Address1, contact points carrying their preferences).
--
-- The rendered copies (prefs_profile_doc, 015) hold the old rendering:
-- they go, all at once; a read renders a profile again and keeps the new
-- copy (or a write does).  Events already recorded keep the Data they were
-- written with.
--
-- Phone numbers are stored as prefs_data_phone_norm makes them (an
-- optional "+" and the digits); rows written before it, or by hand, are
-- brought to that form here, set-based (the expression is the function's,
-- written out: migrations do not call sql/functions).  A row whose
-- normalized number another active phone of its profile already has is
-- left as it is.
--
-- The JSON of a contact point takes its preferences now (a second
-- argument with a default): the one-argument functions go, or calls would
-- be ambiguous.
--
-- Schema and data only: the functions this version changed live in
-- sql/functions/ (see sql/README.md).

DROP FUNCTION IF EXISTS prefs_data_email_json(prefs_profile_email);
DROP FUNCTION IF EXISTS prefs_data_phone_json(prefs_profile_phone);
DROP FUNCTION IF EXISTS prefs_data_address_json(prefs_profile_address);

DELETE FROM prefs_profile_doc;

UPDATE prefs_profile_phone ph
   SET number = n.norm
  FROM (SELECT x.phone_id,
               CASE WHEN x.number ~ '^\s*\+' THEN '+' ELSE '' END
               || regexp_replace(x.number, '[^0-9]', '', 'g') AS norm
          FROM prefs_profile_phone x) n
 WHERE n.phone_id = ph.phone_id
   AND ph.number <> n.norm
   AND NOT EXISTS (SELECT 1 FROM prefs_profile_phone o
                    WHERE o.profile_id = ph.profile_id AND o.is_active
                      AND o.phone_id <> ph.phone_id AND o.number = n.norm);
