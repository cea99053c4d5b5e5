
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The API locations ("prefs_api v4", "v3", "v3_async").  A request goes:
 *
 *   path      the raw path is decoded strictly; the clientId is the first
 *             segment after the location's own
 *   body      a POST, PUT, PATCH or DELETE body is read whole, within its
 *             limit
 *   account   and credential, from the per-worker cache or in one query:
 *             an unknown clientId is 404, a bad credential 401 with the
 *             documented messages, repeated failures for a user name 429
 *   route     the table below: 404 or 405 when nothing matches, 403 when
 *             the user's groups lack the route's permission
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_users.h"
#include "ngx_prefs_config.h"
#include "ngx_prefs_data.h"
#include "ngx_prefs_webhooks.h"
#include "ngx_prefs_prefs3.h"
#include "ngx_prefs_deliveries.h"
#include "ngx_prefs_events.h"


#define NGX_PREFS_AUTH_SKEW  60000


static const char *ngx_prefs_api_parse_path(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static void ngx_prefs_api_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_api_authenticate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static void ngx_prefs_api_auth_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_api_authorize(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_auth_entry_t *e, ngx_uint_t fresh);
static ngx_int_t ngx_prefs_api_unseal(ngx_http_request_t *r,
    ngx_prefs_auth_entry_t *e, u_char *list, size_t len);
static ngx_int_t ngx_prefs_api_auth_failed(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *why);
static ngx_int_t ngx_prefs_api_route(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


/* configuration collections: what each reads and writes */

#define ngx_prefs_cfg_coll(name, coll, sub, wrap, field, kind)               \
    static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_##name =                        \
        { NGX_PREFS_CFG_COLLECTION, coll, sub, wrap, field, kind,             \
          0, 0, 0, 0, 0, 0 };                                                 \
    static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_##name##_one =                  \
        { NGX_PREFS_CFG_COLLECTION, coll, sub, wrap, field, kind,             \
          1, 0, 0, 0, 0, 0 }

ngx_prefs_cfg_coll(locales, "Locales", NULL, "Locales", "LocaleId",
                   "Locale");
ngx_prefs_cfg_coll(program_types, "ProgramTypes", NULL, "ProgramTypes",
                   "ProgramTypeId", "ProgramType");
ngx_prefs_cfg_coll(filters, "Filters", NULL, "Filters", "FilterId",
                   "Filter");
ngx_prefs_cfg_coll(consent_types, "ConsentTypes", NULL, "ConsentTypes",
                   "TypeName", "ConsentType");
ngx_prefs_cfg_coll(email_types, "ContactTypes", "Email", "EmailTypes",
                   "Name", "EmailType");
ngx_prefs_cfg_coll(phone_types, "ContactTypes", "Phone", "PhoneTypes",
                   "Name", "PhoneType");
ngx_prefs_cfg_coll(address_types, "ContactTypes", "Address", "AddressTypes",
                   "Name", "AddressType");
ngx_prefs_cfg_coll(alternate_id_types, "AlternateIdTypes", NULL,
                   "AlternateIdTypes", "Name", "AlternateIdType");
ngx_prefs_cfg_coll(customer_types, "CustomerTypes", NULL, "CustomerTypes",
                   "Name", "CustomerType");
ngx_prefs_cfg_coll(group_types, "GroupTypes", NULL, "GroupTypes", "Name",
                   "GroupType");
ngx_prefs_cfg_coll(custom_fields, "CustomFields", NULL, "CustomFields",
                   "Name", "CustomField");
ngx_prefs_cfg_coll(tags, "Tags", NULL, "Tags", "Name", "Tag");

static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_locales_doc =
    { NGX_PREFS_CFG_LOCALES, NULL, NULL, "Locales", "LocaleId", "Locale",
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_consent_status =
    { NGX_PREFS_CFG_CONSENT_STATUS, NULL, NULL, "ConsentStatus", NULL, NULL,
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_profile_doc =
    { NGX_PREFS_CFG_PROFILE_DOC, NULL, NULL, NULL, NULL, NULL,
      0, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_preference_doc =
    { NGX_PREFS_CFG_PREFERENCE_DOC, NULL, NULL, NULL, NULL, NULL,
      0, 0, 0, 0, 0, 0 };

/* programs: fields are what, ..., key_arg, locale_arg, group_arg, type_arg */
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_program =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_program_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 2, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_program_in_group =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 0, 2, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_program_in_group_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 1, 3, 2, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_of_type =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 1, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_of_type_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 2, 0, 1, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_matching =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, NGX_PREFS_CFG_MATCH_SOME, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_matching_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, NGX_PREFS_CFG_MATCH_SOME, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_all =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 0, 0, 0, NGX_PREFS_CFG_MATCH_ALL, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_programs_all_loc =
    { NGX_PREFS_CFG_PROGRAMS, "Programs", NULL, "Programs", "ProgramId",
      "Program", 0, 1, 0, 0, NGX_PREFS_CFG_MATCH_ALL, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_groups =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 0, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_group =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 1, 0, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_groups_loc =
    { NGX_PREFS_CFG_PROGRAM_GROUPS, "ProgramGroups", NULL, "ProgramGroups",
      "ProgramGroupId", "ProgramGroup", 0, 1, 0, 0, 0, 0 };
static ngx_prefs_cfg_sel_t  ngx_prefs_cfg_v3_filters =
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
#define ngx_prefs_cfg_routes(name, sel)                                       \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, NULL }, NGX_PREFS_CR,               \
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_##sel },          \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, "*", NULL }, NGX_PREFS_CR,          \
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_##sel##_one },    \
    { NGX_HTTP_POST, { name, NULL }, NGX_PREFS_CW,                            \
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_##sel },           \
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { name, "*", NULL }, NGX_PREFS_CW,        \
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_##sel##_one }

#define ngx_prefs_cfg_routes2(name, sub, sel)                                 \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, sub, NULL }, NGX_PREFS_CR,          \
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_##sel },          \
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { name, sub, "*", NULL }, NGX_PREFS_CR,     \
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_##sel##_one },    \
    { NGX_HTTP_POST, { name, sub, NULL }, NGX_PREFS_CW,                       \
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_##sel },           \
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { name, sub, "*", NULL }, NGX_PREFS_CW,   \
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_##sel##_one }


static const ngx_prefs_route_t  ngx_prefs_api_routes[] = {

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
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_locales_doc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ConsentStatus", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_consent_status },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Configuration", "Profile", NULL },
      NGX_PREFS_CR, NGX_PREFS_V4, ngx_prefs_config_read,
      &ngx_prefs_cfg_profile_doc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Configuration", "Preference", NULL },
      NGX_PREFS_CR, NGX_PREFS_V4, ngx_prefs_config_read,
      &ngx_prefs_cfg_preference_doc },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_programs },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "ProgramTypes", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_of_type },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "ProgramTypes", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_of_type_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "IncludeMatching", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_matching },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "IncludeMatching", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_matching_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "IncludeAll", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_all },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Programs", "IncludeAll", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_programs_all_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_program },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_program_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_config_read,
      &ngx_prefs_cfg_program_in_group },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Programs", "*", "*", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_program_in_group_loc },
    { NGX_HTTP_POST, { "Programs", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_config_write, &ngx_prefs_cfg_programs },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "Programs", "*", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_program },

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_groups },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", "Locale", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_V3, ngx_prefs_config_read,
      &ngx_prefs_cfg_groups_loc },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "ProgramGroups", "*", NULL },
      NGX_PREFS_CR, NGX_PREFS_BOTH, ngx_prefs_config_read,
      &ngx_prefs_cfg_group },
    { NGX_HTTP_POST, { "ProgramGroups", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_config_write, &ngx_prefs_cfg_groups },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "ProgramGroups", "*", NULL },
      NGX_PREFS_CW, NGX_PREFS_V4, ngx_prefs_config_write,
      &ngx_prefs_cfg_group },

    { NGX_HTTP_POST, { "Config", "Filters", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V3, ngx_prefs_config_write, &ngx_prefs_cfg_v3_filters },

    { NGX_HTTP_POST, { "Locales", NULL }, NGX_PREFS_CW, NGX_PREFS_V4,
      ngx_prefs_config_write, &ngx_prefs_cfg_locales },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Locales", "*", NULL }, NGX_PREFS_CR,
      NGX_PREFS_BOTH, ngx_prefs_config_read, &ngx_prefs_cfg_locales_one },
    { NGX_HTTP_PUT|NGX_HTTP_DELETE, { "Locales", "*", NULL }, NGX_PREFS_CW,
      NGX_PREFS_V4, ngx_prefs_config_write, &ngx_prefs_cfg_locales_one },

    ngx_prefs_cfg_routes("ProgramTypes", program_types),
    ngx_prefs_cfg_routes("Filters", filters),
    ngx_prefs_cfg_routes("ConsentTypes", consent_types),
    ngx_prefs_cfg_routes2("ContactTypes", "Email", email_types),
    ngx_prefs_cfg_routes2("ContactTypes", "Phone", phone_types),
    ngx_prefs_cfg_routes2("ContactTypes", "Address", address_types),
    ngx_prefs_cfg_routes("AlternateIdTypes", alternate_id_types),
    ngx_prefs_cfg_routes("CustomerTypes", customer_types),
    ngx_prefs_cfg_routes("GroupTypes", group_types),
    ngx_prefs_cfg_routes("CustomFields", custom_fields),
    ngx_prefs_cfg_routes("Tags", tags),

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
      ngx_prefs_data_create, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Email", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_data_find, "email" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Phone", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_data_find, "phone" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Address", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_data_find, "address" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "CustomFields", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_data_find, "customfields" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "PreferenceAttributes", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_data_find, "attributes" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Profile", "AlternateIdType", "*", "AlternateId", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_data_get_alternate, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "*", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_data_get, NULL },
    { NGX_HTTP_POST, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_data_update, NULL },
    { NGX_HTTP_DELETE, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_data_delete, NULL },
    { NGX_HTTP_POST, { "Profile", "*", "Activate", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_activate, NULL },

    /* Data changes: JSON Patch, removing parts (sql/009) */

    { NGX_HTTP_PATCH, { "Profile", "*", NULL }, NGX_PREFS_PW, NGX_PREFS_V4,
      ngx_prefs_data_patch, NULL },
    { NGX_HTTP_PATCH,
      { "Profile", "AlternateIdType", "*", "AlternateId", "*", NULL },
      NGX_PREFS_PW, NGX_PREFS_V4, ngx_prefs_data_patch_alternate, NULL },
    { NGX_HTTP_DELETE, { "Profile", "*", "Groups", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_remove, "Groups" },
    { NGX_HTTP_DELETE, { "Profile", "*", "Tags", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_remove, "Tags" },
    { NGX_HTTP_DELETE, { "Profile", "*", "CustomFields", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_remove, "CustomFields" },

    /* the parts of a profile, each read or written alone */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "*", "Preferences", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_data_part_read,
      "ProfilePreferences" },
    { NGX_HTTP_POST, { "Profile", "*", "Preferences", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_write, "ProfilePreferences" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Consents", "*", NULL }, NGX_PREFS_PR,
      NGX_PREFS_V4, ngx_prefs_data_part_read, "Consents" },
    { NGX_HTTP_POST, { "Consents", "*", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_write, "Consents" },
    { NGX_HTTP_POST, { "Profile", "*", "Groups", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_write, "Groups" },
    { NGX_HTTP_POST, { "Profile", "*", "Tags", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_write, "Tags" },
    { NGX_HTTP_POST, { "Profile", "*", "CustomFields", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V4, ngx_prefs_data_part_write, "CustomFields" },

    /*
     * Preferences by alternate id, consent history (v4) and the v3
     * Preferences routes (src/ngx_prefs_prefs3.c).  No Profile/... route
     * above has six segments, nor matches Profile/Consents/History.
     */

    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Profile", "Preferences", "AlternateIdType", "*", "AlternateId", "*",
        NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_prefs3_alt_read, NULL },
    { NGX_HTTP_POST,
      { "Profile", "Preferences", "AlternateIdType", "*", "AlternateId", "*",
        NULL },
      NGX_PREFS_PW, NGX_PREFS_V4, ngx_prefs_prefs3_alt_write, NULL },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Profile", "Consents", "History", NULL },
      NGX_PREFS_PR, NGX_PREFS_V4, ngx_prefs_prefs3_history, NULL },

    { NGX_HTTP_POST, { "Preferences", NULL }, NGX_PREFS_PW, NGX_PREFS_V3,
      ngx_prefs_prefs3_write, "list" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "Attributes", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_prefs3_read, "attributes" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "Program", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_prefs3_read, "program" },
    { NGX_HTTP_POST, { "Preferences", "Program", "*", NULL }, NGX_PREFS_PW,
      NGX_PREFS_V3, ngx_prefs_prefs3_write, "program" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Preferences", "ProgramGroup", "*", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_prefs3_read, "group" },
    { NGX_HTTP_POST, { "Preferences", "ProgramGroup", "*", NULL },
      NGX_PREFS_PW, NGX_PREFS_V3, ngx_prefs_prefs3_write, "group" },
    { NGX_HTTP_GET|NGX_HTTP_HEAD,
      { "Preferences", "CID", "*", "Program", NULL },
      NGX_PREFS_PR, NGX_PREFS_V3, ngx_prefs_prefs3_read, "cid" },

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

    /* Events API */

    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW, NGX_PREFS_API_IN_V4,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_ACCOUNT },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "Subscription", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW, NGX_PREFS_API_IN_V4,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_SUBSCRIPTION },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "Profile", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW, NGX_PREFS_API_IN_V4,
      ngx_prefs_events_list, NGX_PREFS_EVENTS_PROFILE },
    { NGX_HTTP_GET|NGX_HTTP_HEAD, { "Events", "*", NULL },
      NGX_PREFS_PERM_EVENT_DATA_VIEW, NGX_PREFS_API_IN_V4,
      ngx_prefs_events_get, NULL },

    { 0, { NULL }, 0, 0, NULL, NULL }
};


static const struct {
    ngx_uint_t                 method;
    const char                *name;
} ngx_prefs_api_methods[] = {
    { NGX_HTTP_GET, "GET" },
    { NGX_HTTP_HEAD, "HEAD" },
    { NGX_HTTP_POST, "POST" },
    { NGX_HTTP_PUT, "PUT" },
    { NGX_HTTP_PATCH, "PATCH" },
    { NGX_HTTP_DELETE, "DELETE" },
    { 0, NULL }
};


static ngx_str_t  ngx_prefs_api_json_type = ngx_string("application/json");
static ngx_str_t  ngx_prefs_api_patch_type =
    ngx_string("application/json-patch+json");


ngx_int_t
ngx_prefs_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    const char                  *err;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);

    err = ngx_prefs_api_parse_path(r, ctx);
    if (err) {
        (void) ngx_http_discard_request_body(r);
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request path is invalid: %s", err);
    }

    if (ctx->path.n <= ctx->first) {
        (void) ngx_http_discard_request_body(r);
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "The route needs a clientId");
    }

    ctx->client_id.data = (u_char *) ctx->path.seg[ctx->first].data;
    ctx->client_id.len = ctx->path.seg[ctx->first].len;

    /* DELETE too: the DELETE part routes list what to remove */

    if (!(r->method
          & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE)))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_prefs_api_authenticate(r, ctx);
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (r->headers_in.content_length_n > (off_t) pmcf->max_body) {
        r->keepalive = 0;
        return ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "The body is larger than %uz bytes",
                                    pmcf->max_body);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_prefs_api_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_prefs_api_body_read(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    rc = ngx_prefs_http_read_body(r, pmcf->max_body, &ctx->body);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The body is larger than %uz bytes",
                                 pmcf->max_body));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_prefs_api_authenticate(r, ctx));
}


ngx_int_t
ngx_prefs_api_json_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    json_t **body)
{
    ngx_str_t     *type;
    json_t        *j;
    json_error_t   err;

    *body = NULL;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type == NULL
        || !((type->len >= ngx_prefs_api_json_type.len
              && ngx_strncasecmp(type->data, ngx_prefs_api_json_type.data,
                                 ngx_prefs_api_json_type.len) == 0
              && (type->len == ngx_prefs_api_json_type.len
                  || type->data[ngx_prefs_api_json_type.len] == ';'))
             || (r->method == NGX_HTTP_PATCH
                 && type->len >= ngx_prefs_api_patch_type.len
                 && ngx_strncasecmp(type->data,
                                    ngx_prefs_api_patch_type.data,
                                    ngx_prefs_api_patch_type.len) == 0)))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "The body must be application/json");
    }

    if (ctx->body.len == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request needs a JSON body");
    }

    j = json_loadb((char *) ctx->body.data, ctx->body.len,
                   JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body is not valid JSON: %s "
                                    "(line %d, column %d)",
                                    err.text, err.line, err.column);
    }

    *body = j;

    return NGX_OK;
}


int64_t
ngx_prefs_api_id(ngx_str_t *arg)
{
    int64_t     v;
    ngx_uint_t  i;

    if (arg->len == 0 || arg->len > 18 || arg->data[0] == '0') {
        return 0;
    }

    v = 0;

    for (i = 0; i < arg->len; i++) {
        if (arg->data[i] < '0' || arg->data[i] > '9') {
            return 0;
        }

        v = v * 10 + (arg->data[i] - '0');
    }

    return v;
}


/*
 * nginx has already decoded r->uri, leniently, merging slashes and dot
 * segments; the raw path is decoded here strictly instead, and the
 * location's own segments are skipped.  After a rewrite the raw path is
 * not the request's any more: r->uri is taken as it is.
 */

static const char *
ngx_prefs_api_parse_path(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    int                        rc;
    char                      *buf;
    size_t                     len;
    u_char                    *p, *end;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (r->valid_unparsed_uri) {
        p = r->unparsed_uri.data;
        end = ngx_strlchr(p, p + r->unparsed_uri.len, '?');
        if (end == NULL) {
            end = p + r->unparsed_uri.len;
        }

    } else {
        p = r->uri.data;
        end = p + r->uri.len;
    }

    if (p == end || *p != '/') {
        return "it does not start with \"/\"";
    }

    len = end - p;

    buf = ngx_pnalloc(r->pool, len + PREFS_PATH_MAX_SEGMENTS);
    if (buf == NULL) {
        return "out of memory";
    }

    rc = r->valid_unparsed_uri
         ? prefs_path_split((char *) p, len, buf, &ctx->path)
         : prefs_path_split_decoded((char *) p, len, buf, &ctx->path);

    if (rc != PREFS_PATH_OK) {
        return prefs_path_strerror(rc);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->first = 0;

    for (i = 0; i < clcf->name.len; i++) {
        if (clcf->name.data[i] != '/'
            && (i == 0 || clcf->name.data[i - 1] == '/'))
        {
            ctx->first++;
        }
    }

    return NULL;
}


/*
 * The cache key names the account and the credential: "h" + clientId +
 * user name for PNAUTHINFO3, "b" + clientId + token hash for a bearer
 * token, "a" + clientId when the header says nothing usable (to tell 404
 * from 401).
 */

static ngx_int_t
ngx_prefs_api_authenticate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                      *p;
    char                         hash[65];
    ngx_int_t                    rc;
    ngx_str_t                   *h;
    ngx_prefs_stmt_e             stmt;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_auth_entry_t      *e;
    ngx_http_prefs_loc_conf_t   *plcf;

    h = r->headers_in.authorization ? &r->headers_in.authorization->value
                                    : NULL;

    ctx->auth_rc = h ? prefs_auth_parse((char *) h->data, h->len, &ctx->auth)
                     : PREFS_AUTH_MISSING;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 2 + ctx->client_id.len + 1
                             + PREFS_AUTH_MAX_USER + 65);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cache_key.data = p;

    /* the database first: one nginx may serve several */
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);
    p = ngx_sprintf(p, "%ui:", ngx_prefs_db_pool_database(plcf->pool));

    if (ctx->auth_rc != PREFS_AUTH_OK) {
        stmt = NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID;
        p = ngx_sprintf(p, "a%V", &ctx->client_id);

    } else if (ctx->auth.kind == PREFS_AUTH_HMAC) {
        stmt = NGX_PREFS_STMT_AUTH_HMAC;
        p = ngx_sprintf(p, "h%V\n%*s", &ctx->client_id,
                        ctx->auth.user_len, ctx->auth.user);

    } else {
        if (prefs_sha256_hex(ctx->auth.token, ctx->auth.token_len, hash)
            != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        stmt = NGX_PREFS_STMT_AUTH_BEARER;
        p = ngx_sprintf(p, "b%V\n%s", &ctx->client_id, hash);
    }

    ctx->cache_key.len = p - ctx->cache_key.data;

    e = ngx_prefs_auth_cache_get(&ctx->cache_key);
    if (e) {
        rc = ngx_prefs_api_authorize(r, ctx, e, 0);

        if (rc != NGX_AGAIN) {
            return rc;
        }

        /*
         * The cached entry refused the credential: ask the database once,
         * so that a user, secret or token created since is seen at once.
         * Refusals stay bounded by prefs_auth_max_failures.
         */
    }

    q = ngx_prefs_db_query_create(r->pool, plcf->pool, stmt,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the clientId segment is null-terminated by the path parser */
    q->values[0] = (char *) ctx->client_id.data;

    if (stmt == NGX_PREFS_STMT_AUTH_HMAC) {
        rc = ngx_prefs_db_param(q, r->pool, 1, (u_char *) ctx->auth.user,
                                ctx->auth.user_len);

    } else if (stmt == NGX_PREFS_STMT_AUTH_BEARER) {
        rc = ngx_prefs_db_param(q, r->pool, 1, (u_char *) hash, 64);

    } else {
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->handler = ngx_prefs_api_auth_done;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_api_auth_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t                    rc;
    PGresult                    *res;
    ngx_http_request_t          *r = q->data;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_prefs_auth_entry_t       entry, *e;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    res = q->res;
    ngx_memzero(&entry, sizeof(ngx_prefs_auth_entry_t));

    if (PQntuples(res) == 1) {
        entry.account_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                                     PQgetlength(res, 0, 0));
    }

    if (entry.account_id > 0 && PQnfields(res) == 7) {
        entry.window_ms = 1000 * (int64_t) ngx_atoi(
                                      (u_char *) PQgetvalue(res, 0, 1),
                                      PQgetlength(res, 0, 1));
        entry.user_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                                  PQgetlength(res, 0, 2));
        entry.active = (PQgetvalue(res, 0, 3)[0] == 't');
        entry.perms = ngx_prefs_auth_perms_parse(
                                      (u_char *) PQgetvalue(res, 0, 4),
                                      PQgetlength(res, 0, 4));
        entry.token_expires_ms = ngx_atoof((u_char *) PQgetvalue(res, 0, 6),
                                           PQgetlength(res, 0, 6));

        if (ngx_prefs_api_unseal(r, &entry, (u_char *) PQgetvalue(res, 0, 5),
                                 PQgetlength(res, 0, 5))
            != NGX_OK)
        {
            prefs_wipe(entry.secret, sizeof(entry.secret));
            ngx_prefs_http_finalize(r,
                ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "Internal error"));
            return;
        }
    }

    e = ngx_prefs_auth_cache_put(&ctx->cache_key, &entry,
                                 pmcf->auth_cache_time, pmcf->auth_cache_size);
    prefs_wipe(entry.secret, sizeof(entry.secret));

    if (e == NULL) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_prefs_api_authorize(r, ctx, e, 1);

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_api_unseal(ngx_http_request_t *r, ngx_prefs_auth_entry_t *e,
    u_char *list, size_t len)
{
    int                          rc;
    size_t                       n, plain_len;
    u_char                      *p, *end, *comma;
    ngx_uint_t                   sealed;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    sealed = 0;
    p = list;
    end = list + len;

    while (p < end && e->nsecrets < NGX_PREFS_AUTH_SECRETS) {
        comma = ngx_strlchr(p, end, ',');
        n = (comma ? comma : end) - p;

        rc = prefs_secret_open(pmcf->secret_key, (char *) p, n,
                               e->secret[e->nsecrets],
                               NGX_PREFS_AUTH_SECRET_MAX, &plain_len);
        p += n + 1;
        sealed++;

        if (rc != PREFS_AUTH_OK) {
            /* the other secret may still serve: this one is only logged */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "prefs auth: a secret of user %L cannot be "
                          "unsealed: was it sealed with another "
                          "prefs_secret_key?", e->user_id);
            continue;
        }

        e->secret_len[e->nsecrets++] = plain_len;
    }

    return (sealed && e->nsecrets == 0) ? NGX_ERROR : NGX_OK;
}


/* NGX_AGAIN: a cached entry refused the credential, ask the database */

static ngx_int_t
ngx_prefs_api_authorize(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_auth_entry_t *e, ngx_uint_t fresh)
{
    int                          rc;
    time_t                       wait;
    int64_t                      now;
    ngx_uint_t                   i;
    ngx_time_t                  *tp;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (e->account_id <= 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No account has the clientId \"%V\"",
                                    &ctx->client_id);
    }

    if (ctx->auth_rc != PREFS_AUTH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: %s%s%s", prefs_auth_message(ctx->auth_rc),
                      ctx->auth.reason ? ": " : "",
                      ctx->auth.reason ? ctx->auth.reason : "");
        return ngx_prefs_auth_unauthorized(r,
                                           prefs_auth_message(ctx->auth_rc));
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    if (ctx->auth.kind == PREFS_AUTH_BEARER) {
        if (e->user_id <= 0 || !e->active || e->token_expires_ms <= now) {
            if (!fresh && e->user_id <= 0) {
                return NGX_AGAIN;
            }

            return ngx_prefs_api_auth_failed(r, ctx,
                                             "unknown or expired token");
        }

        goto authorized;
    }

    /* the failures key is the cache key: account and user name */

    wait = ngx_prefs_auth_throttled(pmcf, &ctx->cache_key);

    if (wait) {
        if (ngx_prefs_http_retry_after(r, wait) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "prefs auth: user \"%*s\" of \"%V\" refused for %T s "
                      "after repeated failures",
                      ctx->auth.user_len, ctx->auth.user, &ctx->client_id,
                      wait);

        return ngx_prefs_http_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                    "Too many failed attempts for this user: "
                                    "try again later");
    }

    rc = prefs_auth_check_time(ctx->auth.ts_ms, now, e->window_ms,
                               NGX_PREFS_AUTH_SKEW);
    if (rc != PREFS_AUTH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: timestamp %*s is %s",
                      ctx->auth.ts_len, ctx->auth.ts,
                      rc == PREFS_AUTH_TOO_OLD ? "too old" : "in the future");
        return ngx_prefs_auth_unauthorized(r, prefs_auth_message(rc));
    }

    if (e->user_id <= 0 || !e->active) {
        if (!fresh) {
            return NGX_AGAIN;
        }

        return ngx_prefs_api_auth_failed(r, ctx, "unknown or inactive user");
    }

    for (i = 0; i < e->nsecrets; i++) {
        if (prefs_auth_verify(&ctx->auth, e->secret[i], e->secret_len[i],
                              (char *) ctx->client_id.data,
                              ctx->client_id.len)
            == PREFS_AUTH_OK)
        {
            goto authorized;
        }
    }

    if (!fresh) {
        return NGX_AGAIN;
    }

    return ngx_prefs_api_auth_failed(r, ctx, "signature does not match");

authorized:

    ctx->account_id = e->account_id;
    ctx->user_id = e->user_id;
    ctx->perms = e->perms;

    *ngx_sprintf((u_char *) ctx->account_text, "%L", e->account_id) = '\0';
    *ngx_sprintf((u_char *) ctx->user_text, "%L", e->user_id) = '\0';

    return ngx_prefs_api_route(r, ctx);
}


static ngx_int_t
ngx_prefs_api_auth_failed(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *why)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (ctx->auth.kind == PREFS_AUTH_HMAC) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: user \"%*s\" of \"%V\" refused: %s",
                      ctx->auth.user_len, ctx->auth.user, &ctx->client_id,
                      why);

        ngx_prefs_auth_failed(pmcf, &ctx->cache_key);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: bearer token for \"%V\" refused: %s",
                      &ctx->client_id, why);
    }

    return ngx_prefs_auth_unauthorized(r, "Unable to authenticate request");
}


static ngx_int_t
ngx_prefs_api_route(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    size_t                      len;
    u_char                     *p, *start;
    ngx_uint_t                  i, j, n, allow, api;
    prefs_segment_t            *seg;
    const ngx_prefs_route_t    *rt;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    api = (ngx_uint_t) 1 << plcf->api;
    seg = &ctx->path.seg[ctx->first + 1];
    n = ctx->path.n - ctx->first - 1;
    allow = 0;

    for (rt = ngx_prefs_api_routes; rt->handler; rt++) {

        if (!(rt->apis & api)) {
            continue;
        }

        ctx->nargs = 0;

        /* ASP.NET routes match without regard to case */

        for (i = 0; i < n && rt->path[i]; i++) {
            if (rt->path[i][0] == '*') {
                ctx->args[ctx->nargs].data = (u_char *) seg[i].data;
                ctx->args[ctx->nargs].len = seg[i].len;
                ctx->nargs++;
                continue;
            }

            len = ngx_strlen(rt->path[i]);

            if (len != seg[i].len
                || ngx_strncasecmp((u_char *) rt->path[i],
                                   (u_char *) seg[i].data, len) != 0)
            {
                break;
            }
        }

        if (i != n || rt->path[i] != NULL) {
            continue;
        }

        if (!(rt->methods & r->method)) {
            allow |= rt->methods;
            continue;
        }

        if (!(ctx->perms & rt->perm)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "prefs auth: user %L lacks %s",
                          ctx->user_id, ngx_prefs_auth_perm_name(rt->perm));
            return ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                        "The user lacks the %s permission",
                                        ngx_prefs_auth_perm_name(rt->perm));
        }

        ctx->route = rt;

        return rt->handler(r, ctx);
    }

    if (allow) {
        start = ngx_pnalloc(r->pool,
                            sizeof("GET, HEAD, POST, PUT, PATCH, DELETE"));
        if (start == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (allow & NGX_HTTP_GET) {
            allow |= NGX_HTTP_HEAD;
        }

        p = start;

        for (j = 0; ngx_prefs_api_methods[j].name; j++) {
            if (allow & ngx_prefs_api_methods[j].method) {
                p = ngx_sprintf(p, "%s%s", p == start ? "" : ", ",
                                ngx_prefs_api_methods[j].name);
            }
        }

        if (ngx_prefs_http_header(r, "Allow", (char *) start, p - start)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_prefs_http_error(r, NGX_HTTP_NOT_ALLOWED,
                                    "The route does not accept %V",
                                    &r->method_name);
    }

    return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                "No such route: %V %V",
                                &r->method_name, &r->uri);
}


/* errors the database raises on purpose, or bad values that got through */

ngx_int_t
ngx_prefs_api_sql_error(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    if (q->status == NGX_PREFS_DB_SQL_ERROR
        && (ngx_strncmp(q->sqlstate, "22", 2) == 0
            || ngx_strncmp(q->sqlstate, "23", 2) == 0))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "A value is invalid: %s",
                                    PQresultErrorField(q->res,
                                                    PG_DIAG_MESSAGE_PRIMARY));
    }

    return ngx_prefs_http_db_error(r, q);
}


void
ngx_prefs_api_send_row(ngx_prefs_db_query_t *q, const char *not_found)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (PQntuples(q->res) != 1 || PQgetisnull(q->res, 0, 0)) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND, "%s", not_found);

    } else {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_OK,
                                      PQgetvalue(q->res, 0, 0),
                                      PQgetlength(q->res, 0, 0));
    }

    ngx_prefs_http_finalize(r, rc);
}


ngx_prefs_db_query_t *
ngx_prefs_api_query(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt, ngx_prefs_db_handler_pt handler)
{
    ngx_prefs_db_query_t       *q;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    q = ngx_prefs_db_query_create(r->pool, plcf->pool, stmt,
                                  r->connection->log);
    if (q == NULL) {
        return NULL;
    }

    /* every statement of the API is scoped to the caller's account */
    q->values[0] = ctx->account_text;
    q->handler = handler;

    return q;
}
