
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Every route of the API locations ("prefs_api v4", "v3", "v3_async"):
 * methods, path (a "*" segment is an argument), the permission it needs,
 * the APIs it belongs to, its handler and the handler's data.  Adding an
 * endpoint is a line here, a handler in its API's file, a statement in
 * src/core/ngx_prefs_stmt.c and a function in sql/functions/.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_routes.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_link.h"
#include "ngx_prefs_users.h"
#include "ngx_prefs_configuration.h"
#include "ngx_prefs_profile.h"
#include "ngx_prefs_webhooks.h"
#include "ngx_prefs_preferences.h"
#include "ngx_prefs_deliveries.h"
#include "ngx_prefs_events.h"
#include "ngx_prefs_import.h"
#include "ngx_prefs_segments.h"
#include "ngx_prefs_export.h"
#include "ngx_prefs_sync.h"


/* configuration collections: what each reads and writes */

#define ngx_prefs_routes_coll(name, coll, sub, wrap, field, kind)             \
    static ngx_prefs_configuration_sel_t  ngx_prefs_routes_##name =           \
        { NGX_PREFS_CFG_COLLECTION, coll, sub, wrap, field, kind,             \
          0, 0, 0, 0, 0, 0 };                                                 \
    static ngx_prefs_configuration_sel_t  ngx_prefs_routes_##name##_one =     \
        { NGX_PREFS_CFG_COLLECTION, coll, sub, wrap, field, kind,             \
          1, 0, 0, 0, 0, 0 }

ngx_prefs_routes_coll(locales, "Locales", NULL, "Locales", "LocaleId",
                      "Locale");
ngx_prefs_routes_coll(program_types, "ProgramTypes", NULL, "ProgramTypes",
                      "ProgramTypeId", "ProgramType");
ngx_prefs_routes_coll(filters, "Filters", NULL, "Filters", "FilterId",
                      "Filter");
ngx_prefs_routes_coll(consent_types, "ConsentTypes", NULL, "ConsentTypes",
                      "TypeName", "ConsentType");
ngx_prefs_routes_coll(email_types, "ContactTypes", "Email", "EmailTypes",
                      "Name", "EmailType");
ngx_prefs_routes_coll(phone_types, "ContactTypes", "Phone", "PhoneTypes",
                      "Name", "PhoneType");
ngx_prefs_routes_coll(address_types, "ContactTypes", "Address", "AddressTypes",
                      "Name", "AddressType");
ngx_prefs_routes_coll(alternate_id_types, "AlternateIdTypes", NULL,
                      "AlternateIdTypes", "Name", "AlternateIdType");
ngx_prefs_routes_coll(customer_types, "CustomerTypes", NULL, "CustomerTypes",
                      "Name", "CustomerType");
ngx_prefs_routes_coll(group_types, "GroupTypes", NULL, "GroupTypes", "Name",
                      "GroupType");
ngx_prefs_routes_coll(custom_fields, "CustomFields", NULL, "CustomFields",
                      "Name", "CustomField");
ngx_prefs_routes_coll(tags, "Tags", NULL, "Tags", "Name", "Tag");

static ngx_prefs_configuration_sel_t  ngx_prefs_routes_locales_doc =
    { NGX_PREFS_CFG_LOCALES, NULL, NULL, "Locales", "LocaleId", "Locale",
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_consent_status =
    { NGX_PREFS_CFG_CONSENT_STATUS, NULL, NULL, "ConsentStatus", NULL, NULL,
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_profile_doc =
    { NGX_PREFS_CFG_PROFILE_DOC, NULL, NULL, NULL, NULL, NULL,
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_preference_doc =
    { NGX_PREFS_CFG_PREFERENCE_DOC, NULL, NULL, NULL, NULL, NULL,
      0, 0, 0, 0, 0, 0 };

/* programs: fields are what, ..., key_arg, locale_arg, group_arg, type_arg */
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_program =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_program_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 2, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_program_in_group =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 0, 2, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_program_in_group_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 3, 2, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_of_type =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 1, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_of_type_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 2, 0, 1, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_matching =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, NGX_PREFS_CFG_MATCH_SOME, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_matching_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, NGX_PREFS_CFG_MATCH_SOME, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_all =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, NGX_PREFS_CFG_MATCH_ALL, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_programs_all_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, NGX_PREFS_CFG_MATCH_ALL, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_groups =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 0, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_group =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 1, 0, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_groups_loc =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 0, 1, 0, 0, 0, 0 };
static ngx_prefs_configuration_sel_t  ngx_prefs_routes_v3_filters =
    { NGX_PREFS_CFG_COLLECTION, "Filters", NULL, "Filters", "FilterId",
      "Filter", 0, 0, 0, 0, 0, 1 };


#define NGX_PREFS_V4   NGX_PREFS_API_IN_V4
#define NGX_PREFS_V3   NGX_PREFS_API_IN_V3
#define NGX_PREFS_BOTH (NGX_PREFS_API_IN_V4|NGX_PREFS_API_IN_V3)
#define NGX_PREFS_CR   NGX_PREFS_PERM_CONFIGURATION_READ
#define NGX_PREFS_CW   NGX_PREFS_PERM_CONFIGURATION_WRITE
#define NGX_PREFS_PR   NGX_PREFS_PERM_PROFILE_READ
#define NGX_PREFS_PW   NGX_PREFS_PERM_PROFILE_WRITE

/* a collection: GET all, GET one, POST, PUT one, DELETE one */
#define ngx_prefs_routes_coll_routes(name, sel)                               \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, NULL }, NGX_PREFS_CR,               \
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,                           \
      &ngx_prefs_routes_##sel },                                              \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, "*", NULL }, NGX_PREFS_CR,          \
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,                           \
      &ngx_prefs_routes_##sel##_one },                                        \
    { NGX_HTTP_POST, { name, NULL }, NGX_PREFS_CW,                            \
      NGX_PREFS_V4, ngx_prefs_configuration_write,                            \
      &ngx_prefs_routes_##sel },                                              \
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { name, "*", NULL }, NGX_PREFS_CW,        \
      NGX_PREFS_V4, ngx_prefs_configuration_write,                            \
      &ngx_prefs_routes_##sel##_one }

#define ngx_prefs_routes_coll_routes2(name, sub, sel)                         \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, sub, NULL }, NGX_PREFS_CR,          \
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,                           \
      &ngx_prefs_routes_##sel },                                              \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, sub, "*", NULL }, NGX_PREFS_CR,     \
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,                           \
      &ngx_prefs_routes_##sel##_one },                                        \
    { NGX_HTTP_POST, { name, sub, NULL }, NGX_PREFS_CW,                       \
      NGX_PREFS_V4, ngx_prefs_configuration_write,                            \
      &ngx_prefs_routes_##sel },                                              \
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { name, sub, "*", NULL }, NGX_PREFS_CW,   \
      NGX_PREFS_V4, ngx_prefs_configuration_write,                            \
      &ngx_prefs_routes_##sel##_one }


const ngx_prefs_api_route_t  ngx_prefs_routes[] = {

    /* Webhook deliveries (ours): the attempts log, dead letters, replay */

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Webhooks", "Subscriptions", "*", "Deliveries", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_deliveries_list, NULL },
    { NGX_HTTP_POST, { "Webhooks", "Subscriptions", "*", "Replay", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_deliveries_replay, NULL },

    /* Configuration: the literal routes first, they shadow the "*" ones */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Locales", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_locales_doc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ConsentStatus", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_consent_status },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Configuration", "Profile", NULL },
      NGX_PREFS_CR, NGX_PREFS_V4, ngx_prefs_configuration_read,
      &ngx_prefs_routes_profile_doc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Configuration", "Preference", NULL },
      NGX_PREFS_CR, NGX_PREFS_V4, ngx_prefs_configuration_read,
      &ngx_prefs_routes_preference_doc },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "ProgramTypes", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_of_type },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "ProgramTypes", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_of_type_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "IncludeMatching", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_matching },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "IncludeMatching", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_matching_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "IncludeAll", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_all },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "IncludeAll", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_programs_all_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read, &ngx_prefs_routes_program },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_program_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_program_in_group },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_program_in_group_loc },
    { NGX_HTTP_POST, { "Programs", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_configuration_write, &ngx_prefs_routes_programs },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "Programs", "*", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V4, ngx_prefs_configuration_write, &ngx_prefs_routes_program },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read, &ngx_prefs_routes_groups },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_configuration_read,
      &ngx_prefs_routes_groups_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_group },
    { NGX_HTTP_POST, { "ProgramGroups", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_configuration_write, &ngx_prefs_routes_groups },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "ProgramGroups", "*", NULL },
      NGX_PREFS_CW, NGX_PREFS_V4, ngx_prefs_configuration_write,
      &ngx_prefs_routes_group },

    { NGX_HTTP_POST, { "Config", "Filters", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V3, ngx_prefs_configuration_write,
      &ngx_prefs_routes_v3_filters },

    { NGX_HTTP_POST, { "Locales", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_configuration_write, &ngx_prefs_routes_locales },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Locales", "*", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_configuration_read,
      &ngx_prefs_routes_locales_one },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "Locales", "*", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V4, ngx_prefs_configuration_write,
      &ngx_prefs_routes_locales_one },

    ngx_prefs_routes_coll_routes("ProgramTypes", program_types),
    ngx_prefs_routes_coll_routes("Filters", filters),
    ngx_prefs_routes_coll_routes("ConsentTypes", consent_types),
    ngx_prefs_routes_coll_routes2("ContactTypes", "Email", email_types),
    ngx_prefs_routes_coll_routes2("ContactTypes", "Phone", phone_types),
    ngx_prefs_routes_coll_routes2("ContactTypes", "Address", address_types),
    ngx_prefs_routes_coll_routes("AlternateIdTypes", alternate_id_types),
    ngx_prefs_routes_coll_routes("CustomerTypes", customer_types),
    ngx_prefs_routes_coll_routes("GroupTypes", group_types),
    ngx_prefs_routes_coll_routes("CustomFields", custom_fields),
    ngx_prefs_routes_coll_routes("Tags", tags),

    /* Webhooks: subscriptions and settings (WebhookManage) */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Webhooks", "Subscriptions", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4, ngx_prefs_webhooks_list,
      NULL },
    { NGX_HTTP_POST, { "Webhooks", "Subscriptions", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_create, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Webhooks", "Subscriptions", "*", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4, ngx_prefs_webhooks_list,
      NULL },
    { NGX_HTTP_PUT, { "Webhooks", "Subscriptions", "*", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_update, NULL },
    { NGX_HTTP_DELETE, { "Webhooks", "Subscriptions", "*", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_delete, NULL },
    { NGX_HTTP_POST, { "Webhooks", "Subscriptions", "*", "Secret", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_rotate, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Webhooks", "Settings", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_settings_get, NULL },
    { NGX_HTTP_PUT, { "Webhooks", "Settings", NULL },
      NGX_PREFS_PERM_WEBHOOK_MANAGE, NGX_PREFS_V4,
      ngx_prefs_webhooks_settings_put, NULL },

    /* Data: profiles; the lookups before Profile/{profileId} */

    { NGX_HTTP_POST, { "Profile", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_profile_create, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Email", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_profile_find, "email" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Phone", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_profile_find, "phone" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Group", "Phone", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_find, "groupphone" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Address", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_find, "address" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "CustomFields", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_find, "customfields" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "PreferenceAttributes", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_find, "attributes" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Profile", "AlternateIdType", "*", "AlternateId", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_get_alternate, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "*", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_profile_get, NULL },
    { NGX_HTTP_POST, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_profile_update, NULL },
    { NGX_HTTP_DELETE, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_profile_delete, NULL },
    { NGX_HTTP_POST, { "Profile", "*", "Activate", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_activate, NULL },

    /* Data changes: JSON Patch, removing parts (sql/functions/profile.sql) */

    { NGX_HTTP_PATCH, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_profile_changes_patch, NULL },
    { NGX_HTTP_PATCH,
      { "Profile", "AlternateIdType", "*", "AlternateId", "*", NULL },
      NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_profile_changes_patch_alternate, NULL },
    { NGX_HTTP_DELETE, { "Profile", "*", "Groups", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_changes_part_remove, "Groups" },
    { NGX_HTTP_DELETE, { "Profile", "*", "Tags", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_changes_part_remove, "Tags" },
    { NGX_HTTP_DELETE, { "Profile", "*", "CustomFields", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_changes_part_remove, "CustomFields" },

    /* the parts of a profile, each read or written alone */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "*", "Preferences", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_part_read,
      "ProfilePreferences" },
    { NGX_HTTP_POST, { "Profile", "*", "Preferences", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_preferences_write, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "*", "Group", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_profile_group, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Consents", "*", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_profile_part_read, "Consents" },
    { NGX_HTTP_POST, { "Consents", "*", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_part_write, "Consents" },
    /* per-profile links: the preference center, one-click unsubscribe */

    { NGX_HTTP_POST, { "Profile", "*", "Links", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_link_issue, NULL },
    { NGX_HTTP_DELETE, { "Profile", "*", "Links", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_link_revoke, NULL },
    { NGX_HTTP_DELETE, { "Links", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_link_revoke, NULL },
    { NGX_HTTP_POST, { "Links", "Key", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_link_rotate, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Links", "Origins", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_link_origins_get, NULL },
    { NGX_HTTP_PUT, { "Links", "Origins", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_link_origins_put, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST,
      { "Profile", "*", "Unsubscribe", "*", "*", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_link_unsubscribe, NULL },
    { NGX_HTTP_POST, { "Profile", "*", "Groups", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_part_write, "Groups" },
    { NGX_HTTP_POST, { "Profile", "*", "Tags", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_part_write, "Tags" },
    { NGX_HTTP_POST, { "Profile", "*", "CustomFields", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_profile_part_write, "CustomFields" },

    /*
     * Preferences by alternate id, consent history (v4) and the v3
     * Preferences routes (ngx_prefs_preferences.c).  No Profile/... route
     * above has six segments, nor matches Profile/Consents/History.
     */

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Profile", "Preferences", "AlternateIdType", "*", "AlternateId", "*",
        NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_preferences_alt_read, NULL },
    { NGX_HTTP_POST,
      { "Profile", "Preferences", "AlternateIdType", "*", "AlternateId", "*",
        NULL },
      NGX_PREFS_PW, NGX_PREFS_V4, ngx_prefs_preferences_alt_write, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Consents", "History", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_preferences_history, NULL },

    { NGX_HTTP_POST, { "Preferences", NULL }, NGX_PREFS_PW, NGX_PREFS_V3,
      ngx_prefs_preferences_write, "list" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "Attributes", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_preferences_read, "attributes" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "Program", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_preferences_read, "program" },
    { NGX_HTTP_POST, { "Preferences", "Program", "*", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V3, ngx_prefs_preferences_write, "program" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "ProgramGroup", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_preferences_read, "group" },
    { NGX_HTTP_POST, { "Preferences", "ProgramGroup", "*", NULL },
      NGX_PREFS_PW, NGX_PREFS_V3, ngx_prefs_preferences_write, "group" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Preferences", "CID", "*", "Program", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_preferences_read, "cid" },

    /* User management */

    { NGX_HTTP_GET, { "Users", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_list, NULL },

    { NGX_HTTP_POST, { "Users", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_create, NULL },

    { NGX_HTTP_GET, { "Users", "*", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_get, NULL },

    { NGX_HTTP_PUT, { "Users", "*", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_update, NULL },

    { NGX_HTTP_DELETE, { "Users", "*", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_delete, NULL },

    { NGX_HTTP_GET, { "UserGroups", NULL },
      NGX_PREFS_PERM_USER_MANAGE, NGX_PREFS_API_IN_V4,
      ngx_prefs_users_groups, NULL },

    /* Events API: from the standby, if any (NGX_PREFS_API_READ_REPLICA) */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW,
      NGX_PREFS_API_IN_V4|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_ACCOUNT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "Subscription", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW,
      NGX_PREFS_API_IN_V4|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_SUBSCRIPTION },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "Profile", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW,
      NGX_PREFS_API_IN_V4|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_PROFILE },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW,
      NGX_PREFS_API_IN_V4|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_events_get, NULL },

    /*
     * The Integration API, /Profiles/v4/Async/{clientId}/...: bulk import
     * (docs/bulk.md); Stage takes its body as a file
     */

    { NGX_HTTP_POST, { "Import", NULL },
      NGX_PREFS_PERM_BULK_IMPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_import_initiate, NULL },
    { NGX_HTTP_POST, { "Import", "*", "Stage", NULL },
      NGX_PREFS_PERM_BULK_IMPORT,
      NGX_PREFS_API_IN_ASYNC|NGX_PREFS_API_FILE_BODY,
      ngx_prefs_import_stage, NULL },
    { NGX_HTTP_POST, { "Import", "*", "Execute", NULL },
      NGX_PREFS_PERM_BULK_IMPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_import_execute, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Import", "*", "Status", NULL },
      NGX_PREFS_PERM_BULK_IMPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_import_status, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Import", "*", "Exceptions", NULL },
      NGX_PREFS_PERM_BULK_IMPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_import_exceptions, NULL },
    /* Segments and segment groups (ours: the admin side of the export) */

    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST, { "Segments", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_SEGMENTS_SEGMENT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT|NGX_HTTP_DELETE,
      { "Segments", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_SEGMENTS_SEGMENT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST, { "SegmentGroups", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_SEGMENTS_GROUP },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT|NGX_HTTP_DELETE,
      { "SegmentGroups", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_SEGMENTS_GROUP },

    /* Bulk export (Async/{clientId}/...): literal routes first */

    { NGX_HTTP_POST, { "Export", "Segment", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_export_start, NGX_PREFS_SEGMENTS_SEGMENT },
    { NGX_HTTP_POST, { "Export", "SegmentGroup", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_export_start, NGX_PREFS_SEGMENTS_GROUP },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Status", "Token", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_export_state, NGX_PREFS_EXPORT_STATUS },
    { NGX_HTTP_POST, { "Export", "*", "Commit", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_ASYNC,
      ngx_prefs_export_state, NGX_PREFS_EXPORT_COMMIT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Export", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT,
      NGX_PREFS_API_IN_ASYNC|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_export_page, NULL },

    /* MyPreferences 2.0's export (prefs_api v3_async): v3 Preferences */

    { NGX_HTTP_POST, { "export", "Segment", "Commit", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V3_ASYNC,
      ngx_prefs_export_state, NGX_PREFS_EXPORT_COMMIT },
    { NGX_HTTP_POST, { "export", "Segment", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V3_ASYNC,
      ngx_prefs_export_start, NGX_PREFS_SEGMENTS_SEGMENT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "export", "Segment", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT,
      NGX_PREFS_API_IN_V3_ASYNC|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_export_page, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "status", "Token", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V3_ASYNC,
      ngx_prefs_export_state, NGX_PREFS_EXPORT_STATUS },

    /* v3 export schedules (docs/export.md), and their configuration */

    { NGX_HTTP_POST, { "export", "Schedule", "Commit", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V3_ASYNC,
      ngx_prefs_export_state, NGX_PREFS_EXPORT_COMMIT },
    { NGX_HTTP_POST, { "export", "Schedule", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V3_ASYNC,
      ngx_prefs_export_start, NGX_PREFS_EXPORT_SCHEDULE },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "export", "Schedule", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT,
      NGX_PREFS_API_IN_V3_ASYNC|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_export_page, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST, { "ExportSchedules", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_EXPORT_SCHEDULES },
    { NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT|NGX_HTTP_DELETE,
      { "ExportSchedules", "*", NULL },
      NGX_PREFS_PERM_BULK_EXPORT, NGX_PREFS_API_IN_V4,
      ngx_prefs_segments_call, NGX_PREFS_EXPORT_SCHEDULES },

    /* the Sync feed (ours: docs/bulk.md "Sync"): from the standby, if any */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Sync", "Changes", NULL },
      NGX_PREFS_PERM_BULK_EXPORT,
      NGX_PREFS_API_IN_V4|NGX_PREFS_API_READ_REPLICA,
      ngx_prefs_sync_changes, NULL },

    { 0, { NULL }, 0, 0, NULL, NULL }
};
