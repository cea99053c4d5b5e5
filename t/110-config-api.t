# The Configuration (Experience) API over HTTP: writes (201 + Location,
# 409, 400 naming the field), every read route in both spellings,
# localization (explicit, Accept-Language, default, none) and another
# account's ids.  Changes seen by every worker and by a second nginx, ETags
# and 304s, and DELETE are t/111-config-propagation.t.
#
# The configuration each block starts from is imported here (prefsctl
# config import, the same item bodies the API takes): CfgRead holds all of
# it and is only read (a refused write must leave its generation as it
# is), CfgWrite holds what the items POSTed below refer to, CfgLocales is
# empty, CfgOther is the account that must not see CfgRead's items.
use lib 't';
use Test::Nginx::Socket 'no_plan';
use PrefsTest;
use PrefsOpenAPI;
use JSON::PP ();

my ($T, $F) = (JSON::PP::true(), JSON::PP::false());
my %cfg = (
    Locales => [ { LocaleId => 'en-US', Name => 'English', IsDefault => $T },
                 { LocaleId => 'de-DE', Name => 'Deutsch' },
                 { LocaleId => 'fr-FR', Name => "Fran\x{e7}ais" } ],
    ProgramTypes => [ { ProgramTypeId => 'NEWS', Name => 'Newsletters' } ],
    ConsentTypes => [ { TypeName => 'Marketing', Versions => [
        { ConsentVersion => '1.0', IsActive => $F, LocalizedFields => [
            { Locale => 'en-US', Name => 'Marketing', Description => 'Old', ConsentLanguage => 'I agree (v1)' } ] },
        { ConsentVersion => '2.0', IsActive => $T, ExpirationInDays => 365, LocalizedFields => [
            { Locale => 'en-US', Name => 'Marketing', Description => 'Offers', ConsentLanguage => 'I agree' },
            { Locale => 'de-DE', Name => 'Werbung', Description => 'Angebote', ConsentLanguage => 'Ich stimme zu' } ] } ] } ],
    Programs => [
        { ProgramId => 'NEWSLETTERS', ProgramTypeId => 'NEWS', Name => 'Newsletters', DisplayOrder => 1,
          CustomProperties => [ { Key => 'Region', Value => 'EU' } ],
          Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Newsletters' } ] },
                       { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => 'Rundbriefe' } ] } ] },
        { ProgramId => 'OFFERS', Name => 'Offers', DisplayOrder => 2 } ],
    Filters => [
        { FilterId => 'WEEKLY-NEWS', ProgramId => 'NEWSLETTERS', ChannelId => 'Email', Name => 'Weekly news',
          DefaultPreferenceValue => 1, OptInCustomerExpirationDays => 365,
          Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Key => 'Label', Value => 'Weekly news' } ] },
                       { LocaleId => 'de-DE', DisplayTags => [ { Key => 'Label', Value => "W\x{f6}chentliche Neuigkeiten" } ] } ],
          FrequencyLocales => [
              { LocaleId => 'en-US', Frequencies => [ { FrequencyId => 'W', DisplayName => 'Weekly', IsDefault => $T },
                                                      { FrequencyId => 'M', DisplayName => 'Monthly' } ] },
              { LocaleId => 'de-DE', Frequencies => [ { FrequencyId => 'W', DisplayName => "W\x{f6}chentlich", IsDefault => $T },
                                                      { FrequencyId => 'M', DisplayName => 'Monatlich' } ] } ],
          PreferenceAttributes => [ { AttributeId => 'topic', IsRequired => $F } ],
          RequiredPreferenceConsents => [ { TypeName => 'Marketing' } ],
          CustomProperties => [ { Key => 'Region', Value => 'EU' } ] },
        { FilterId => 'SMS-OFFERS', ProgramId => 'OFFERS', ChannelId => 'Text', Name => 'Offers by SMS' } ],
    ProgramGroups => [
        { ProgramGroupId => 'ALL', Name => 'Everything', ProgramIds => ['NEWSLETTERS', 'OFFERS'],
          DefaultPreferenceValues => [ { FilterId => 'WEEKLY-NEWS', PreferenceValue => 2 } ] },
        { ProgramGroupId => 'SUB', Name => 'Sub', ParentProgramGroupId => 'ALL', ProgramIds => ['OFFERS'] } ],
    ContactTypes => { Email => [ { Name => 'Work', Description => 'd' } ],
                      Phone => [ { Name => 'Mobile', Description => 'd' } ],
                      Address => [ { Name => 'Home', Description => 'd' } ] },
    AlternateIdTypes => [ { Name => 'CRMId', Description => 'd' } ],
    CustomerTypes => [ { Name => 'Retail', Description => 'd' } ],
    GroupTypes => [ { Name => 'Region', Description => 'd' } ],
    Tags => [ { Name => 'VIP', Description => 'd' } ],
    CustomFields => [ { Name => 'Tier', DataType => 'List', AllowedValues => ['Gold', 'Silver'],
                        Labels => [ { LocaleId => 'en-US', Label => 'Tier' }, { LocaleId => 'de-DE', Label => 'Stufe' } ] } ],
);

api_account('CfgRead');
api_user('CfgRead', 'admin', 'Administrators');
api_user('CfgRead', 'reader', 'ReadOnly');
api_config_import('CfgRead', \%cfg);

api_account('CfgWrite');
api_user('CfgWrite', 'admin', 'Administrators');
api_config_import('CfgWrite', {
    map({ $_ => $cfg{$_} } qw(Locales ProgramTypes ConsentTypes Programs)),
    Filters => [ $cfg{Filters}[0] ], ProgramGroups => [ $cfg{ProgramGroups}[0] ] });

api_account('CfgLocales');
api_user('CfgLocales', 'admin', 'Administrators');
api_account('CfgOther');
api_user('CfgOther', 'admin', 'Administrators');

# more_headers of a write and of a read, for the blocks' `eval` sections
sub main::writer { PrefsTest::auth($_[0], $_[1] // 'admin') . "Content-Type: application/json\n" }
sub main::reader { PrefsTest::auth($_[0], 'admin') . join '', map { "$_\n" } @_[1 .. $#_] }

api_blocks();
openapi_responses();
run_tests();

__DATA__

=== TEST 1: POST Locales with the list form: 201
--- request
POST /Profiles/v4/CfgLocales/Locales
{"Locales":[{"LocaleId":"en-US","Name":"English","IsDefault":true},{"LocaleId":"de-DE","Name":"Deutsch"},{"LocaleId":"fr-FR","Name":"Fran\u00e7ais"}]}
--- more_headers eval
main::writer('CfgLocales')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 2: POST ProgramTypes: 201, Location names the new item
--- request
POST /Profiles/v4/CfgWrite/ProgramTypes
{"ProgramTypeId":"PROMO","Name":"Promotions"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- response_headers_like
Location: .*/Profiles/v4/CfgWrite/ProgramTypes/PROMO$
--- no_error_log
[error]
[alert]


=== TEST 3: POST ConsentTypes (the reference's body): 201
--- request
POST /Profiles/v4/CfgWrite/ConsentTypes
{"ConsentTypes":[{"TypeName":"Partners","Versions":[{"ConsentVersion":"1.0","IsActive":false,"LocalizedFields":[{"Locale":"en-US","Name":"Partners","Description":"Old","ConsentLanguage":"I agree (v1)"}]},{"ConsentVersion":"2.0","IsActive":true,"ExpirationInDays":365,"LocalizedFields":[{"Locale":"en-US","Name":"Partners","Description":"Offers","ConsentLanguage":"I agree"},{"Locale":"de-DE","Name":"Partner","Description":"Angebote","ConsentLanguage":"Ich stimme zu"}]}]}]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 4: POST Programs: 201
--- request
POST /Profiles/v4/CfgWrite/Programs
{"ProgramId":"DIGEST","ProgramTypeId":"NEWS","Name":"Digest","DisplayOrder":3,"CustomProperties":[{"Key":"Region","Value":"EU"}],"Locales":[{"LocaleId":"en-US","DisplayTags":[{"Key":"Label","Value":"Digest"}]},{"LocaleId":"de-DE","DisplayTags":[{"Key":"Label","Value":"Zusammenfassung"}]}]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 5: a second program: 201
--- request
POST /Profiles/v4/CfgWrite/Programs
{"ProgramId":"EVENTS","Name":"Events","DisplayOrder":4}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 6: POST Filters with frequencies, attributes and a required consent: 201
--- request
POST /Profiles/v4/CfgWrite/Filters
{"FilterId":"DAILY-NEWS","ProgramId":"NEWSLETTERS","ChannelId":"Email","Name":"Daily news","DefaultPreferenceValue":1,"OptInCustomerExpirationDays":365,"Locales":[{"LocaleId":"en-US","DisplayTags":[{"Key":"Label","Value":"Daily news"}]},{"LocaleId":"de-DE","DisplayTags":[{"Key":"Label","Value":"T\u00e4gliche Neuigkeiten"}]}],"FrequencyLocales":[{"LocaleId":"en-US","Frequencies":[{"FrequencyId":"W","DisplayName":"Weekly","IsDefault":true},{"FrequencyId":"M","DisplayName":"Monthly"}]},{"LocaleId":"de-DE","Frequencies":[{"FrequencyId":"W","DisplayName":"W\u00f6chentlich","IsDefault":true},{"FrequencyId":"M","DisplayName":"Monatlich"}]}],"PreferenceAttributes":[{"AttributeId":"topic","IsRequired":false}],"RequiredPreferenceConsents":[{"TypeName":"Marketing"}],"CustomProperties":[{"Key":"Region","Value":"EU"}]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 7: a filter on another channel: 201
--- request
POST /Profiles/v4/CfgWrite/Filters
{"FilterId":"SMS-OFFERS","ProgramId":"OFFERS","ChannelId":"Text","Name":"Offers by SMS"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 8: POST ProgramGroups: 201
--- request
POST /Profiles/v4/CfgWrite/ProgramGroups
{"ProgramGroupId":"MOST","Name":"Most","ProgramIds":["NEWSLETTERS","OFFERS"],"DefaultPreferenceValues":[{"FilterId":"WEEKLY-NEWS","PreferenceValue":2}]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 9: a nested group: 201
--- request
POST /Profiles/v4/CfgWrite/ProgramGroups
{"ProgramGroupId":"SUB","Name":"Sub","ParentProgramGroupId":"ALL","ProgramIds":["OFFERS"]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 10: POST ContactTypes/Email: 201
--- request
POST /Profiles/v4/CfgWrite/ContactTypes/Email
{"Name":"Work","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 11: POST ContactTypes/Phone: 201
--- request
POST /Profiles/v4/CfgWrite/ContactTypes/Phone
{"Name":"Mobile","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 12: POST ContactTypes/Address: 201
--- request
POST /Profiles/v4/CfgWrite/ContactTypes/Address
{"Name":"Home","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 13: POST AlternateIdTypes: 201
--- request
POST /Profiles/v4/CfgWrite/AlternateIdTypes
{"Name":"CRMId","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 14: POST CustomerTypes: 201
--- request
POST /Profiles/v4/CfgWrite/CustomerTypes
{"Name":"Retail","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 15: POST GroupTypes: 201
--- request
POST /Profiles/v4/CfgWrite/GroupTypes
{"Name":"Region","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 16: POST Tags: 201
--- request
POST /Profiles/v4/CfgWrite/Tags
{"Name":"VIP","Description":"d"}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 17: POST CustomFields (a list): 201
--- request
POST /Profiles/v4/CfgWrite/CustomFields
{"Name":"Tier","DataType":"List","AllowedValues":["Gold","Silver"],"Labels":[{"LocaleId":"en-US","Label":"Tier"},{"LocaleId":"de-DE","Label":"Stufe"}]}
--- more_headers eval
main::writer('CfgWrite')
--- error_code: 201
--- no_error_log
[error]
[alert]


=== TEST 18: a duplicate is 409, nothing changed
--- request
POST /Profiles/v4/CfgRead/Programs
{"ProgramId":"OFFERS","Name":"again"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 409
--- response_json eval
{ Message => qr/./ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 19: invalid Filters (1): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Filters
{"FilterId":"BAD1","ProgramId":"NOPE","ChannelId":"Email","Name":"x"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/ProgramId/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 20: invalid Filters (2): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Filters
{"FilterId":"BAD2","ProgramId":"OFFERS","ChannelId":"Pigeon","Name":"x"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/ChannelId/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 21: invalid Filters (3): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Filters
{"FilterId":"BAD3","ProgramId":"OFFERS","ChannelId":"Email","Name":"x","Colour":"red"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/Colour/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 22: invalid Filters (4): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Filters
{"FilterId":"BAD4","ProgramId":"OFFERS","ChannelId":"Email","Name":"x","Locales":[{"LocaleId":"xx-XX","DisplayTags":[]}]}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/xx-XX|LocaleId/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 23: invalid Filters (5): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Filters
{"FilterId":"BAD5","ProgramId":"OFFERS","ChannelId":"Email","Name":"x","RequiredPreferenceConsents":[{"TypeName":"Nope"}]}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/TypeName|Nope/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 24: invalid CustomFields (6): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/CustomFields
{"Name":"NoValues","DataType":"List"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/AllowedValues/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 25: invalid CustomFields (7): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/CustomFields
{"Name":"Odd","DataType":"Colour"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/DataType/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 26: invalid ConsentTypes (8): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/ConsentTypes
{"TypeName":"NoVersions","Versions":[]}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/Versions/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 27: invalid ProgramGroups (9): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/ProgramGroups
{"ProgramGroupId":"LOOP","Name":"x","ParentProgramGroupId":"NOPE"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/ParentProgramGroupId/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 28: invalid Programs (10): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Programs
{"ProgramId":"bad id!","Name":"x"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/ProgramId/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 29: invalid Programs (11): 400, the Message names the field, nothing changed
--- request
POST /Profiles/v4/CfgRead/Programs
{"ProgramId":"X","Name":42}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/Name/ }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 30: a list with one bad item is 400: not even the good item before the bad one is written
--- request
POST /Profiles/v4/CfgRead/Programs
{"Programs":[{"ProgramId":"OK1","Name":"ok"},{"ProgramId":"bad id!","Name":"x"}]}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 31: duplicate keys are 400
--- request
POST /Profiles/v4/CfgRead/Programs
{"ProgramId":"A","ProgramId":"B","Name":"x"}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 32: ConfigurationWrite is needed to write: 403 naming it
--- request
POST /Profiles/v4/CfgRead/Programs
{"ProgramId":"RO","Name":"x"}
--- more_headers eval
main::writer('CfgRead', 'reader')
--- error_code: 403
--- response_body chomp
{"Message":"The user lacks the ConfigurationWrite permission"}
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 33: GET Programs: in display order, each with its filters and every locale's text; Vary, no Content-Language
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_headers
Vary: Accept-Language
!Content-Language
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS', Filters => [ { FilterId => 'WEEKLY-NEWS' } ], Locales => [ {}, {} ] },
                { ProgramId => 'OFFERS' } ] }
--- no_error_log
[error]
[alert]


=== TEST 34: GET Programs/{id}
--- request
GET /Profiles/v4/CfgRead/Programs/NEWSLETTERS
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS' } ] }
--- no_error_log
[error]
[alert]


=== TEST 35: an unknown program is 404
--- request
GET /Profiles/v4/CfgRead/Programs/NOPE
--- more_headers eval
main::reader('CfgRead')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 36: GET Filters/{id}: {"Filters":[...]} with its required consents
--- request
GET /Profiles/v4/CfgRead/Filters/WEEKLY-NEWS
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Filters => [ { FilterId => 'WEEKLY-NEWS', RequiredPreferenceConsents => [ { TypeName => 'Marketing' } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 37: GET Filters
--- request
GET /Profiles/v4/CfgRead/Filters
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Filters => [ {}, {} ] }
--- no_error_log
[error]
[alert]


=== TEST 38: GET ProgramGroups: the top of the tree, with the nested group inside
--- request
GET /Profiles/v4/CfgRead/ProgramGroups
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ProgramGroups => [ { ProgramGroupId => 'ALL', ProgramGroups => [ { ProgramGroupId => 'SUB' } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 39: GET ProgramGroups/{id}
--- request
GET /Profiles/v4/CfgRead/ProgramGroups/SUB
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ProgramGroups => [ { ProgramGroupId => 'SUB' } ] }
--- no_error_log
[error]
[alert]


=== TEST 40: GET ConsentTypes/{typeName} with its versions
--- request
GET /Profiles/v4/CfgRead/ConsentTypes/Marketing
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ConsentTypes => [ { Versions => [ {}, {} ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 41: GET ConsentStatus: the reference's answer, the enum's numbers (1 Granted, 2 Denied, 3 Revoked, 4 NotSet)
--- request
GET /Profiles/v4/CfgRead/ConsentStatus
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ConsentStatus => [ 1, 2, 3, 4 ] }
--- response_body_unlike
Granted
--- no_error_log
[error]
[alert]


=== TEST 42: GET ContactTypes/Email
--- request
GET /Profiles/v4/CfgRead/ContactTypes/Email
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ EmailTypes => [ { Name => 'Work' } ] }
--- no_error_log
[error]
[alert]


=== TEST 43: GET ContactTypes/Phone
--- request
GET /Profiles/v4/CfgRead/ContactTypes/Phone
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ PhoneTypes => [ { Name => 'Mobile' } ] }
--- no_error_log
[error]
[alert]


=== TEST 44: GET ContactTypes/Address
--- request
GET /Profiles/v4/CfgRead/ContactTypes/Address
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ AddressTypes => [ { Name => 'Home' } ] }
--- no_error_log
[error]
[alert]


=== TEST 45: GET AlternateIdTypes
--- request
GET /Profiles/v4/CfgRead/AlternateIdTypes
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ AlternateIdTypes => [ { Name => 'CRMId' } ] }
--- no_error_log
[error]
[alert]


=== TEST 46: GET CustomerTypes
--- request
GET /Profiles/v4/CfgRead/CustomerTypes
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ CustomerTypes => [ { Name => 'Retail' } ] }
--- no_error_log
[error]
[alert]


=== TEST 47: GET GroupTypes
--- request
GET /Profiles/v4/CfgRead/GroupTypes
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ GroupTypes => [ { Name => 'Region' } ] }
--- no_error_log
[error]
[alert]


=== TEST 48: GET CustomFields
--- request
GET /Profiles/v4/CfgRead/CustomFields
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ CustomFields => [ { Name => 'Tier' } ] }
--- no_error_log
[error]
[alert]


=== TEST 49: GET Tags
--- request
GET /Profiles/v4/CfgRead/Tags
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Tags => [ { Name => 'VIP' } ] }
--- no_error_log
[error]
[alert]


=== TEST 50: GET Locales: the default and the three locales
--- request
GET /Profiles/v4/CfgRead/Locales
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ DefaultLocale => 'en-US', Locales => [ {}, {}, {} ] }
--- no_error_log
[error]
[alert]


=== TEST 51: GET Configuration/Profile holds the profile configuration, in the locale asked
--- request
GET /Profiles/v4/CfgRead/Configuration/Profile?locale=de-DE
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ContactTypes => { Email => PrefsTest::present() }, AlternateIdTypes => PrefsTest::present(), Tags => PrefsTest::present(),
  CustomFields => [ { Labels => [ { Label => 'Stufe' } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 52: GET Configuration/Preference holds programs with their filters, groups, consents
--- request
GET /Profiles/v4/CfgRead/Configuration/Preference
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { Filters => [ { FilterId => 'WEEKLY-NEWS' } ] }, PrefsTest::present() ], ProgramGroups => PrefsTest::present(), ConsentTypes => PrefsTest::present() }
--- no_error_log
[error]
[alert]


=== TEST 53: Programs of a program type
--- request
GET /Profiles/v4/CfgRead/Programs/ProgramTypes/NEWS
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS' } ] }
--- no_error_log
[error]
[alert]


=== TEST 54: a program within a group takes the group's defaults
--- request
GET /Profiles/v4/CfgRead/Programs/NEWSLETTERS/ALL
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { Filters => [ { DefaultPreferenceValue => 2 } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 55: a program not in the group is 404
--- request
GET /Profiles/v4/CfgRead/Programs/NEWSLETTERS/SUB
--- more_headers eval
main::reader('CfgRead')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 56: IncludeMatching by custom property
--- request
GET /Profiles/v4/CfgRead/Programs/IncludeMatching?customProperties[0].Key=Region&customProperties[0].Value=EU
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS' } ] }
--- no_error_log
[error]
[alert]


=== TEST 57: IncludeAll, with escaped brackets
--- request
GET /Profiles/v4/CfgRead/Programs/IncludeAll?customProperties%5B0%5D.Key=Region&customProperties%5B0%5D.Value=EU
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { ProgramId => 'NEWSLETTERS' } ] }
--- no_error_log
[error]
[alert]


=== TEST 58: bad criteria are 400
--- request
GET /Profiles/v4/CfgRead/Programs/IncludeMatching?customProperties[0].Key=%zz
--- more_headers eval
main::reader('CfgRead')
--- error_code: 400
--- no_error_log
[error]
[alert]


=== TEST 59: Accept-Language: de-DE gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de-DE')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 60: Accept-Language: de-CH gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de-CH')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 61: Accept-Language: de gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 62: Accept-Language: en_us gives en-US, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: en_us')
--- error_code: 200
--- response_headers
Content-Language: en-US
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 63: Accept-Language: DE-de gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: DE-de')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 64: Accept-Language: fr-CA;q=0.5, de;q=0.9 gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: fr-CA;q=0.5, de;q=0.9')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 65: Accept-Language: de;q=0, * gives en-US, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de;q=0, *')
--- error_code: 200
--- response_headers
Content-Language: en-US
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 66: Accept-Language: ja, *;q=0.1 gives en-US, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: ja, *;q=0.1')
--- error_code: 200
--- response_headers
Content-Language: en-US
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 67: Accept-Language: fr-FR;q=0, de-DE;q=0.2, en;q=0.1 gives de-DE, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: fr-FR;q=0, de-DE;q=0.2, en;q=0.1')
--- error_code: 200
--- response_headers
Content-Language: de-DE
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 68: Accept-Language: xx-YY gives en-US, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: xx-YY')
--- error_code: 200
--- response_headers
Content-Language: en-US
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 69: Accept-Language: ;;;q=abc,, gives en-US, and Vary
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: ;;;q=abc,,')
--- error_code: 200
--- response_headers
Content-Language: en-US
Vary: Accept-Language
--- no_error_log
[error]
[alert]


=== TEST 70: only the negotiated locale's text
--- request
GET /Profiles/v4/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de-DE')
--- error_code: 200
--- response_json eval
{ Programs => [ { Locales => [ { LocaleId => 'de-DE', DisplayTags => [ { Value => 'Rundbriefe' } ] } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 71: an explicit locale overrides the header, and then nothing varies
--- request
GET /Profiles/v4/CfgRead/Programs?locale=en-US
--- more_headers eval
main::reader('CfgRead', 'Accept-Language: de-DE')
--- error_code: 200
--- response_headers
Content-Language: en-US
!Vary
--- response_json eval
{ Programs => [ { Locales => [ { LocaleId => 'en-US', DisplayTags => [ { Value => 'Newsletters' } ] } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 72: an explicit locale the account lacks is 400, naming it
--- request
GET /Profiles/v4/CfgRead/Programs?locale=xx-XX
--- more_headers eval
main::reader('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => qr/xx-XX/ }
--- no_error_log
[error]
[alert]


=== TEST 73: v3 GET Programs, with ID names all the way down
--- request
GET /api/3/CfgRead/Programs
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { ProgramID => 'NEWSLETTERS', Filters => [ { FilterID => 'WEEKLY-NEWS' } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 74: v3 Programs/Locale/{locale}: one locale
--- request
GET /api/3/CfgRead/Programs/Locale/de-DE
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- response_json eval
{ Programs => [ { Locales => [ { LocaleID => 'de-DE' } ] }, PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 75: v3 Programs/{id}/Locale/{locale}, any case and separator
--- request
GET /api/3/CfgRead/Programs/NEWSLETTERS/Locale/de_de
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_headers
Content-Language: de-DE
--- no_error_log
[error]
[alert]


=== TEST 76: v3 unknown locale is 400
--- request
GET /api/3/CfgRead/Programs/Locale/xx-XX
--- more_headers eval
main::reader('CfgRead')
--- error_code: 400
--- no_error_log
[error]
[alert]


=== TEST 77: v3 Programs/{id}/{groupId}/Locale/{locale}
--- request
GET /api/3/CfgRead/Programs/NEWSLETTERS/ALL/Locale/en-US
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ { Filters => [ { DefaultPreferenceValue => 2 } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 78: v3 Programs/ProgramTypes/{id}/Locale/{locale}
--- request
GET /api/3/CfgRead/Programs/ProgramTypes/NEWS/Locale/en-US
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 79: v3 IncludeAll/Locale/{locale}
--- request
GET /api/3/CfgRead/Programs/IncludeAll/Locale/en-US?customProperties[0].Key=Region
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ Programs => [ PrefsTest::present() ] }
--- no_error_log
[error]
[alert]


=== TEST 80: another account's program is 404
--- request
GET /Profiles/v4/CfgOther/Programs/NEWSLETTERS
--- more_headers eval
main::reader('CfgOther')
--- error_code: 404
--- no_error_log
[error]
[alert]


=== TEST 81: and cannot be written
--- request
PUT /Profiles/v4/CfgOther/Programs/NEWSLETTERS
{"Name":"hijack"}
--- more_headers eval
main::writer('CfgOther')
--- error_code: 404
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 82: nor deactivated
--- request
DELETE /Profiles/v4/CfgOther/Filters/WEEKLY-NEWS
--- more_headers eval
main::reader('CfgOther')
--- error_code: 404
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]


=== TEST 83: an account sees only its own configuration
--- request
GET /Profiles/v4/CfgOther/Programs
--- more_headers eval
main::reader('CfgOther')
--- error_code: 200
--- response_json eval
{ Programs => [] }
--- no_error_log
[error]
[alert]


=== TEST 84: POST ConsentTypes with the reference's body verbatim (mypreferences-api.md 4.2), then read back with Locale
--- request eval
[ 'POST /Profiles/v4/CfgWrite/ConsentTypes
{ "ConsentTypes": [ { "TypeName": "string", "IsActive": true,
      "Versions": [ { "ConsentVersion": "string", "ExpirationInDays": 2, "IsActive": true,
          "IsAssociatedWithProfiles": true,
          "LocalizedFields": [ { "Locale": "en-US", "Name": "string", "Description": "string",
                                 "ConsentLanguage": "string" } ] } ] } ] }',
  'GET /Profiles/v4/CfgWrite/ConsentTypes/string' ]
--- more_headers eval
main::writer('CfgWrite')
--- error_code eval
[ 201, 200 ]
--- response_json eval
{ ConsentTypes => [ { TypeName => 'string', IsActive => 1, Versions => [ { ConsentVersion => 'string',
    ExpirationInDays => 2, IsActive => 1, IsAssociatedWithProfiles => 1,
    LocalizedFields => [ { Locale => 'en-US', Name => 'string', Description => 'string', ConsentLanguage => 'string',
                           LocaleId => PrefsTest::absent() } ] } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 85: a consent type's LocalizedFields in one locale: ?locale= keeps the entries whose Locale it is
--- request
GET /Profiles/v4/CfgRead/ConsentTypes/Marketing?locale=de-DE
--- more_headers eval
main::reader('CfgRead')
--- error_code: 200
--- response_json eval
{ ConsentTypes => [ { Versions => [ { LocalizedFields => [] },
    { LocalizedFields => [ { Locale => 'de-DE', Name => 'Werbung' } ] } ] } ] }
--- no_error_log
[error]
[alert]


=== TEST 86: the old name LocaleId in LocalizedFields is refused: 400 naming it, nothing changed
--- request
POST /Profiles/v4/CfgRead/ConsentTypes
{"ConsentTypes":[{"TypeName":"Old","Versions":[{"ConsentVersion":"1","LocalizedFields":[{"LocaleId":"en-US","Name":"x"}]}]}]}
--- more_headers eval
main::writer('CfgRead')
--- error_code: 400
--- response_json eval
{ Message => 'ConsentTypes: Versions[0].LocalizedFields[0].LocaleId is not a known field' }
--- sql_unchanged
SELECT prefs_config_generation(account_id) FROM prefs_account WHERE client_id = 'CfgRead'
--- no_error_log
[error]
[alert]
