-- bench/import_record.sql: pg_temp.bench_import_record(i, tag), the i-th
-- profile of the import bench's shape (as bench/engine_batch.sql's): 2
-- emails, 1 mobile phone, 1 address, 10 preferences, 5 consents, 5 custom
-- fields, one alternate id (CRMId tag-i); values valid for
-- conf/demo-config.json.  \i it, then call it.
CREATE OR REPLACE FUNCTION pg_temp.bench_import_record(i bigint, p_tag text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_build_object(
    'CustomerName', jsonb_build_object('FirstName', 'First' || i, 'LastName', 'Last' || i),
    'DefaultLocale', 'en-US', 'CustomerType', 'Consumer',
    'AlternateIds', jsonb_build_array(jsonb_build_object('Type', 'CRMId',
                                      'Value', p_tag || '-' || i)),
    'Emails', jsonb_build_array(
        jsonb_build_object('EmailAddress', p_tag || i || '.home@example.com',
            'EmailAddressType', 'Personal', 'IsDefault', true,
            'EmailPreferences', jsonb_build_array(
                jsonb_build_object('FilterId', 'NewsletterEmail', 'PreferenceType', 1,
                    'FrequencyId', 'W', 'PreferenceAttributes',
                    jsonb_build_array(jsonb_build_object('Key', 'Topic', 'Value', 'Recipes'))),
                jsonb_build_object('FilterId', 'ProductUpdatesEmail', 'PreferenceType', 1, 'FrequencyId', 'M'),
                jsonb_build_object('FilterId', 'PartnerOffersEmail', 'PreferenceType', 2))),
        jsonb_build_object('EmailAddress', p_tag || i || '.work@example.com',
            'EmailAddressType', 'Work',
            'EmailPreferences', jsonb_build_array(
                jsonb_build_object('FilterId', 'NewsletterEmail', 'PreferenceType', 2),
                jsonb_build_object('FilterId', 'ProductUpdatesEmail', 'PreferenceType', 1),
                jsonb_build_object('FilterId', 'PartnerOffersEmail', 'PreferenceType', 2)))),
    'PhoneNumbers', jsonb_build_array(jsonb_build_object(
        'PhoneNumber', '+1556' || lpad(i::text, 7, '0'), 'PhoneNumberType', 'Mobile',
        'IsMobile', true, 'IsDefault', true,
        'PhonePreferences', jsonb_build_array(
            jsonb_build_object('FilterId', 'NewsletterText', 'PreferenceType', 1),
            jsonb_build_object('FilterId', 'AccountAlertsText', 'PreferenceType', 1),
            jsonb_build_object('FilterId', 'PartnerOffersPhone', 'PreferenceType', 2)))),
    'Addresses', jsonb_build_array(jsonb_build_object(
        'Address1', (1 + i % 9999) || ' Main St', 'City', 'Springfield', 'StateProvince', 'IL',
        'PostalCode', lpad((i % 100000)::text, 5, '0'), 'CountryCode', 'US',
        'AddressType', 'Home', 'IsDefault', true,
        'AddressPreferences', jsonb_build_array(
            jsonb_build_object('FilterId', 'ProductUpdatesMail', 'PreferenceType', 1)))),
    'Consents', jsonb_build_array(
        jsonb_build_object('ConsentType', 'Marketing', 'ConsentVersion', '2.0', 'ConsentStatus', 1,
                           'ConsentDate', '2024-01-01T00:00:00Z'),
        jsonb_build_object('ConsentType', 'DataSharing', 'ConsentVersion', '1.0', 'ConsentStatus', 2,
                           'ConsentDate', '2024-01-02T00:00:00Z'),
        jsonb_build_object('ConsentType', 'TextMessaging', 'ConsentVersion', '2024-01', 'ConsentStatus', 1,
                           'ConsentDate', '2024-01-03T00:00:00Z'),
        jsonb_build_object('ConsentType', 'DataSharing', 'ConsentVersion', '1.0', 'ConsentStatus', 1,
                           'ConsentDate', '2024-02-01T00:00:00Z'),
        jsonb_build_object('ConsentType', 'Marketing', 'ConsentVersion', '2.0', 'ConsentStatus', 1,
                           'ConsentDate', '2024-03-01T00:00:00Z')),
    'CustomFields', jsonb_build_array(
        jsonb_build_object('Name', 'FavoriteCategory', 'Value', 'Garden'),
        jsonb_build_object('Name', 'Nickname', 'Value', 'Nick' || i),
        jsonb_build_object('Name', 'HouseholdSize', 'Value', (1 + i % 6)::text),
        jsonb_build_object('Name', 'PaperlessBilling', 'Value', 'true'),
        jsonb_build_object('Name', 'Birthday', 'Value', '1980-01-01')))
$$;
