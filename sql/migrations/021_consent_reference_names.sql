-- 021: consents and consent types under the reference's field names
-- (issue 11; mypreferences-api.md 4.2 and 5.2).
--
-- A consent type's localized fields name their locale "Locale", as the
-- reference's POST ConsentTypes body does, no longer "LocaleId": the
-- stored bodies (normalized, as the Configuration API answers them) are
-- rewritten set-based, keeping every other field and the order of the
-- versions and of their localized fields (updated_at stays: nobody changed
-- the item; the configuration generation moves, by the trigger, so that
-- the workers' snapshots render the new name).
--
-- A consent record answers ConsentType, ConsentVersion, ConsentStatus (the
-- enum's number) and ConsentDate where it answered TypeName, Version,
-- Status (a name) and CustomerDate.  The rendered profile copies that hold
-- consents hold the old names: they are dropped (prefs_profile_doc is a
-- cache; the next read or write renders the profile again).  Events
-- already recorded keep the Data they were recorded with (they expire
-- with the event history); prefs_event_matches reads either name.
--
-- Schema and data only: the functions live in sql/functions/.

UPDATE prefs_config_item i
   SET body = jsonb_set(i.body, '{Versions}', (
           SELECT coalesce(jsonb_agg(
                      CASE WHEN jsonb_typeof(v.x -> 'LocalizedFields') = 'array'
                           THEN jsonb_set(v.x, '{LocalizedFields}', (
                               SELECT coalesce(jsonb_agg(
                                          CASE WHEN f.y ? 'LocaleId'
                                               THEN (f.y - 'LocaleId')
                                                    || jsonb_build_object(
                                                       'Locale',
                                                       f.y -> 'LocaleId')
                                               ELSE f.y END
                                          ORDER BY f.m), '[]')
                                 FROM jsonb_array_elements(
                                          v.x -> 'LocalizedFields')
                                      WITH ORDINALITY AS f(y, m)))
                           ELSE v.x END
                      ORDER BY v.n), '[]')
             FROM jsonb_array_elements(i.body -> 'Versions')
                  WITH ORDINALITY AS v(x, n)))
 WHERE i.kind = 'ConsentType'
   AND jsonb_typeof(i.body -> 'Versions') = 'array'
   AND EXISTS (SELECT 1
                 FROM jsonb_array_elements(i.body -> 'Versions') v
                WHERE jsonb_typeof(v -> 'LocalizedFields') = 'array'
                  AND EXISTS (SELECT 1
                                FROM jsonb_array_elements(
                                         v -> 'LocalizedFields') f
                               WHERE f ? 'LocaleId'));

DELETE FROM prefs_profile_doc d
 WHERE EXISTS (SELECT 1 FROM prefs_consent c
                WHERE c.profile_id = d.profile_id);
