
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Directives, configuration, process start-up and the content handler that
 * hands each request to its API.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_shm.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_oauth.h"
#include "ngx_prefs_router.h"
#include "ngx_prefs_link.h"
#include "ngx_prefs_edge.h"
#include "ngx_prefs_snap.h"
#include "ngx_prefs_status.h"
#include "ngx_prefs_exporter.h"
#include "ngx_prefs_vars.h"
#include "ngx_prefs_routes.h"
#include "ngx_prefs_helper.h"
#include "ngx_prefs_whclient.h"
#include "prefs_auth.h"
#include "prefs_keyfile.h"
#include "prefs_url.h"


static ngx_int_t ngx_http_prefs_handler(ngx_http_request_t *r);
static void *ngx_http_prefs_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_prefs_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_prefs_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_prefs_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_prefs_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_prefs_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_prefs_db_replica(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_prefs_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_prefs_secret_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_prefs_check_lease(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_positive(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_poll(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_ttl(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_realm(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_public_url(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_link_page(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_webhook_retries(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_prefs_check_response_max(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_prefs_check_import_max_body(ngx_conf_t *cf, void *post,
    void *data);
static ngx_path_t *ngx_http_prefs_path_create(ngx_conf_t *cf,
    ngx_str_t *name);
static ngx_int_t ngx_http_prefs_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_prefs_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_prefs_init_process(ngx_cycle_t *cycle);
static void ngx_http_prefs_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_prefs_api_types[] = {
    { ngx_string("status"), NGX_HTTP_PREFS_API_STATUS },
    { ngx_string("v4"), NGX_HTTP_PREFS_API_V4 },
    { ngx_string("v3"), NGX_HTTP_PREFS_API_V3 },
    { ngx_string("v3_async"), NGX_HTTP_PREFS_API_V3_ASYNC },
    { ngx_string("oauth"), NGX_HTTP_PREFS_API_OAUTH },
    { ngx_string("metrics"), NGX_HTTP_PREFS_API_METRICS },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_prefs_connections_bounds = {
    ngx_conf_check_num_bounds, 1, 64
};


static ngx_conf_num_bounds_t  ngx_http_prefs_import_quota_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


static ngx_conf_num_bounds_t  ngx_http_prefs_import_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 100000
};


static ngx_conf_post_t  ngx_http_prefs_import_max_body_post = {
    ngx_http_prefs_check_import_max_body
};


static ngx_conf_num_bounds_t  ngx_http_prefs_helper_jobs_bounds = {
    ngx_conf_check_num_bounds, 1, 1024
};


static ngx_conf_num_bounds_t  ngx_http_prefs_cache_size_bounds = {
    ngx_conf_check_num_bounds, 1, 10000000
};


static ngx_conf_num_bounds_t  ngx_http_prefs_wait_queue_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


static ngx_conf_num_bounds_t  ngx_http_prefs_keepalive_bounds = {
    ngx_conf_check_num_bounds, 0, 64
};


static ngx_conf_post_t  ngx_http_prefs_response_max_bounds = {
    ngx_http_prefs_check_response_max
};


static ngx_conf_num_bounds_t  ngx_http_prefs_webhook_in_flight_bounds = {
    ngx_conf_check_num_bounds, 1, 4096
};


static ngx_conf_num_bounds_t  ngx_http_prefs_event_history_bounds = {
    ngx_conf_check_num_bounds, 1, 3650
};


static ngx_conf_post_t  ngx_http_prefs_job_lease_post = {
    ngx_http_prefs_check_lease
};


static ngx_conf_post_t  ngx_http_prefs_positive_post = {
    ngx_http_prefs_check_positive
};


static ngx_conf_post_t  ngx_http_prefs_poll_post = {
    ngx_http_prefs_check_poll
};


static ngx_conf_post_t  ngx_http_prefs_ttl_post = {
    ngx_http_prefs_check_ttl
};


static ngx_conf_post_t  ngx_http_prefs_realm_post = {
    ngx_http_prefs_check_realm
};


static ngx_conf_post_t  ngx_http_prefs_public_url_post = {
    ngx_http_prefs_check_public_url
};

static ngx_conf_enum_t  ngx_http_prefs_edge_unknown[] = {
    { ngx_string("allow"), NGX_PREFS_EDGE_ALLOW },
    { ngx_string("deny"), NGX_PREFS_EDGE_DENY },
    { ngx_string("redirect"), NGX_PREFS_EDGE_REDIRECT },
    { ngx_null_string, 0 }
};


static ngx_conf_post_t  ngx_http_prefs_link_page_post = {
    ngx_http_prefs_check_link_page
};


static ngx_command_t  ngx_http_prefs_commands[] = {

    { ngx_string("prefs_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_prefs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_database"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_prefs_database,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_db_replica"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_prefs_db_replica,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_db_connections"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.max_conns),
      &ngx_http_prefs_connections_bounds },

    { ngx_string("prefs_db_wait_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.max_waiting),
      &ngx_http_prefs_wait_queue_bounds },

    { ngx_string("prefs_db_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.connect_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_db_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.query_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_db_wait_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.queue_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_db_keepalive_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, db.keepalive_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_spool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_prefs_spool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_helper"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, helper.enabled),
      NULL },

    { ngx_string("prefs_helper_jobs"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, helper.jobs),
      &ngx_http_prefs_helper_jobs_bounds },

    { ngx_string("prefs_helper_poll_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, helper.poll),
      &ngx_http_prefs_poll_post },

    { ngx_string("prefs_job_lease"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, helper.job_lease),
      &ngx_http_prefs_job_lease_post },

    { ngx_string("prefs_secret_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_prefs_secret_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_auth_cache_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.cache_time),
      NULL },

    { ngx_string("prefs_auth_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.cache_size),
      &ngx_http_prefs_cache_size_bounds },

    { ngx_string("prefs_auth_max_failures"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.max_failures),
      NULL },

    { ngx_string("prefs_auth_source_max_failures"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.source_max_failures),
      NULL },

    { ngx_string("prefs_auth_failure_delay"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.failure_delay),
      NULL },

    { ngx_string("prefs_auth_unknown_user_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.unknown_user_time),
      NULL },

    { ngx_string("prefs_auth_failure_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.failure_window),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_oauth_token_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.token_ttl),
      &ngx_http_prefs_ttl_post },

    { ngx_string("prefs_auth_realm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, auth.realm),
      &ngx_http_prefs_realm_post },

    { ngx_string("prefs_public_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, public_url),
      &ngx_http_prefs_public_url_post },

    { ngx_string("prefs_link_page"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, link_page),
      &ngx_http_prefs_link_page_post },

    /* consent at the edge (docs/edge.md) */

    { ngx_string("prefs_edge"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_prefs_edge_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_require_consent"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_prefs_edge_require_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_require_optin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_prefs_edge_require_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_edge_unknown"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, edge_unknown),
      &ngx_http_prefs_edge_unknown },

    { ngx_string("prefs_edge_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, edge_redirect),
      NULL },

    { ngx_string("prefs_edge_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, edge.cache_size),
      NULL },

    { ngx_string("prefs_edge_stale_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, edge.stale_time),
      NULL },

    { ngx_string("prefs_link_cors_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_prefs_loc_conf_t, link_origins),
      &ngx_http_prefs_public_url_post },

    { ngx_string("prefs_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, max_body),
      NULL },

    /* bulk import (docs/bulk.md) */

    { ngx_string("prefs_import_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, import.max_body),
      &ngx_http_prefs_import_max_body_post },

    { ngx_string("prefs_import_quota"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, import.quota),
      &ngx_http_prefs_import_quota_bounds },

    { ngx_string("prefs_import_batch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, import.batch),
      &ngx_http_prefs_import_batch_bounds },

    /* the webhook client */

    { ngx_string("prefs_webhook_allow_http"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.allow_http),
      NULL },

    { ngx_string("prefs_webhook_allow_network"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_prefs_whclient_allow_network,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_webhook_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.ca_file),
      NULL },

    { ngx_string("prefs_webhook_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_webhook_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.connect_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_webhook_response_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.response_max),
      &ngx_http_prefs_response_max_bounds },

    { ngx_string("prefs_webhook_resolver"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_prefs_whclient_resolver,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_webhook_resolver_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.resolver_timeout),
      &ngx_http_prefs_positive_post },

    { ngx_string("prefs_webhook_keepalive"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.keepalive),
      &ngx_http_prefs_keepalive_bounds },

    { ngx_string("prefs_webhook_keepalive_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.keepalive_timeout),
      &ngx_http_prefs_positive_post },

    /* events */

    { ngx_string("prefs_event_history_days"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, events.history_days),
      &ngx_http_prefs_event_history_bounds },

    /* webhook delivery */

    { ngx_string("prefs_webhook_retries"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_prefs_webhook_retries,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("prefs_webhook_lease"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.lease),
      &ngx_http_prefs_job_lease_post },

    { ngx_string("prefs_webhook_in_flight"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.in_flight),
      &ngx_http_prefs_webhook_in_flight_bounds },

    { ngx_string("prefs_webhook_subscription_in_flight"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_prefs_main_conf_t, webhook.sub_in_flight),
      &ngx_http_prefs_webhook_in_flight_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_prefs_module_ctx = {
    ngx_prefs_vars_add,                    /* preconfiguration */
    ngx_http_prefs_postconfiguration,      /* postconfiguration */

    ngx_http_prefs_create_main_conf,       /* create main configuration */
    ngx_http_prefs_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_prefs_create_loc_conf,        /* create location configuration */
    ngx_http_prefs_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_prefs_module = {
    NGX_MODULE_V1,
    &ngx_http_prefs_module_ctx,            /* module context */
    ngx_http_prefs_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_prefs_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_prefs_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_prefs_spool_default = ngx_string("prefs_temp");


static ngx_int_t
ngx_http_prefs_handler(ngx_http_request_t *r)
{
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    switch (plcf->api) {

    case NGX_HTTP_PREFS_API_STATUS:
        return ngx_prefs_status_handler(r);

    case NGX_HTTP_PREFS_API_OAUTH:
        return ngx_prefs_oauth_handler(r);

    case NGX_HTTP_PREFS_API_METRICS:
        return ngx_prefs_exporter_handler(r);

    default:
        return ngx_prefs_router_handler(r);
    }
}


static void *
ngx_http_prefs_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_prefs_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->pools, cf->pool, 4,
                       sizeof(ngx_prefs_db_pool_t *))
        != NGX_OK)
    {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     pmcf->shm_zone = NULL;
     *     pmcf->sh = NULL;
     *     pmcf->metrics = 0;
     */

    pmcf->helper.spool = NGX_CONF_UNSET_PTR;
    pmcf->helper.enabled = NGX_CONF_UNSET;
    pmcf->helper.jobs = NGX_CONF_UNSET_UINT;
    pmcf->helper.poll = NGX_CONF_UNSET_MSEC;
    pmcf->helper.job_lease = NGX_CONF_UNSET_MSEC;
    pmcf->auth.cache_time = NGX_CONF_UNSET_MSEC;
    pmcf->auth.cache_size = NGX_CONF_UNSET_UINT;
    pmcf->edge.cache_size = NGX_CONF_UNSET_UINT;
    pmcf->edge.stale_time = NGX_CONF_UNSET_MSEC;
    pmcf->auth.max_failures = NGX_CONF_UNSET_UINT;
    pmcf->auth.failure_window = NGX_CONF_UNSET_MSEC;
    pmcf->auth.source_max_failures = NGX_CONF_UNSET_UINT;
    pmcf->auth.failure_delay = NGX_CONF_UNSET_MSEC;
    pmcf->auth.unknown_user_time = NGX_CONF_UNSET_MSEC;
    pmcf->auth.token_ttl = NGX_CONF_UNSET;
    pmcf->max_body = NGX_CONF_UNSET_SIZE;
    pmcf->import.max_body = NGX_CONF_UNSET_SIZE;
    pmcf->import.quota = NGX_CONF_UNSET_UINT;
    pmcf->import.batch = NGX_CONF_UNSET_UINT;
    pmcf->events.history_days = NGX_CONF_UNSET;
    pmcf->webhook.lease = NGX_CONF_UNSET_MSEC;
    pmcf->webhook.in_flight = NGX_CONF_UNSET_UINT;
    pmcf->webhook.sub_in_flight = NGX_CONF_UNSET_UINT;

    /*
     * set by ngx_pcalloc():
     *
     *     pmcf->webhook.allow = NULL;
     *     pmcf->webhook.ca_file = { 0, NULL };
     *     pmcf->webhook.resolver = NULL;
     *     pmcf->webhook.ssl = NULL;
     */

    pmcf->webhook.allow_http = NGX_CONF_UNSET;
    pmcf->webhook.timeout = NGX_CONF_UNSET_MSEC;
    pmcf->webhook.connect_timeout = NGX_CONF_UNSET_MSEC;
    pmcf->webhook.response_max = NGX_CONF_UNSET_SIZE;
    pmcf->webhook.resolver_timeout = NGX_CONF_UNSET_MSEC;
    pmcf->webhook.keepalive = NGX_CONF_UNSET_UINT;
    pmcf->webhook.keepalive_timeout = NGX_CONF_UNSET_MSEC;

    return pmcf;
}


static char *
ngx_http_prefs_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_prefs_main_conf_t  *pmcf = conf;

    ngx_conf_init_value(pmcf->helper.enabled, 1);
    ngx_conf_init_uint_value(pmcf->helper.jobs, 8);
    ngx_conf_init_msec_value(pmcf->helper.poll, 2000);
    ngx_conf_init_msec_value(pmcf->helper.job_lease, 30000);
    ngx_conf_init_msec_value(pmcf->auth.cache_time, 10000);
    ngx_conf_init_uint_value(pmcf->auth.cache_size, 10000);
    ngx_conf_init_uint_value(pmcf->edge.cache_size, 10000);
    ngx_conf_init_msec_value(pmcf->edge.stale_time, 60000);

    if (pmcf->edge.cache_size == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"prefs_edge_cache_size\" must be at least 1");
        return NGX_CONF_ERROR;
    }
    ngx_conf_init_uint_value(pmcf->auth.max_failures, 10);
    ngx_conf_init_msec_value(pmcf->auth.failure_window, 60000);
    ngx_conf_init_uint_value(pmcf->auth.source_max_failures, 100);
    ngx_conf_init_msec_value(pmcf->auth.failure_delay, 500);
    ngx_conf_init_msec_value(pmcf->auth.unknown_user_time, 5000);
    ngx_conf_init_value(pmcf->auth.token_ttl, 3600);
    ngx_conf_init_size_value(pmcf->max_body, 1024 * 1024);
    ngx_conf_init_size_value(pmcf->import.max_body, 25 * 1024 * 1024);
    ngx_conf_init_uint_value(pmcf->import.quota, 100);
    ngx_conf_init_uint_value(pmcf->import.batch, 500);
    ngx_conf_init_value(pmcf->events.history_days, 15);

    /* the window as an SQL interval, for webhook deliveries */
    pmcf->events.window.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN + 6);
    if (pmcf->events.window.data == NULL) {
        return NGX_CONF_ERROR;
    }

    pmcf->events.window.len = ngx_sprintf(pmcf->events.window.data, "%i days",
                                          pmcf->events.history_days)
                              - pmcf->events.window.data;
    pmcf->events.window.data[pmcf->events.window.len] = '\0';

    ngx_conf_init_value(pmcf->webhook.allow_http, 0);
    ngx_conf_init_msec_value(pmcf->webhook.timeout, 10000);
    ngx_conf_init_msec_value(pmcf->webhook.connect_timeout, 5000);
    ngx_conf_init_size_value(pmcf->webhook.response_max, 4096);
    ngx_conf_init_msec_value(pmcf->webhook.resolver_timeout, 5000);
    ngx_conf_init_uint_value(pmcf->webhook.keepalive, 8);
    ngx_conf_init_msec_value(pmcf->webhook.keepalive_timeout, 60000);

    if (pmcf->auth.realm.data == NULL) {
        ngx_str_set(&pmcf->auth.realm, "ngx_prefs");
    }

    /* about 24 h: see docs/webhooks.md */
    if (pmcf->webhook.retries.data == NULL) {
        ngx_str_set(&pmcf->webhook.retries,
                    "{5,30,120,600,1800,3600,7200,14400,28800,28800}");
    }

    ngx_conf_init_msec_value(pmcf->webhook.lease, 60000);
    ngx_conf_init_uint_value(pmcf->webhook.in_flight, 256);
    ngx_conf_init_uint_value(pmcf->webhook.sub_in_flight, 64);

    /*
     * a delivery's lease is not renewed while it is on the wire: it must
     * outlast the exchange, or another claim would send it again meanwhile
     */
    if (pmcf->webhook.lease <= pmcf->webhook.timeout) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"prefs_webhook_lease\" (%M ms) must be longer than "
                      "\"prefs_webhook_timeout\" (%M ms)",
                      pmcf->webhook.lease, pmcf->webhook.timeout);
        return NGX_CONF_ERROR;
    }

    if (pmcf->helper.spool == NGX_CONF_UNSET_PTR) {
        pmcf->helper.spool = NULL;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_prefs_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_prefs_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     plcf->db.conninfo = { 0, NULL };
     *     plcf->db.replica = { 0, NULL };
     *     plcf->pool = NULL;
     *     plcf->api = NGX_HTTP_PREFS_API_NONE;
     */

    plcf->link_origins = NGX_CONF_UNSET_PTR;
    plcf->edge_require = NGX_CONF_UNSET_PTR;
    plcf->edge_unknown = NGX_CONF_UNSET_UINT;
    plcf->db.max_conns = NGX_CONF_UNSET_UINT;
    plcf->db.max_waiting = NGX_CONF_UNSET_UINT;
    plcf->db.connect_timeout = NGX_CONF_UNSET_MSEC;
    plcf->db.query_timeout = NGX_CONF_UNSET_MSEC;
    plcf->db.queue_timeout = NGX_CONF_UNSET_MSEC;
    plcf->db.keepalive_timeout = NGX_CONF_UNSET_MSEC;

    return plcf;
}


static char *
ngx_http_prefs_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_prefs_loc_conf_t *prev = parent;
    ngx_http_prefs_loc_conf_t *conf = child;

    char                        *rv;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (conf->db.conninfo.data == NULL) {
        conf->db.conninfo = prev->db.conninfo;
        conf->db.conf_file = prev->db.conf_file;
        conf->db.line = prev->db.line;
    }

    /* a standby is of its primary: a location naming its own has none */

    if (conf->db.replica.data == NULL
        && conf->db.conninfo.data == prev->db.conninfo.data)
    {
        conf->db.replica = prev->db.replica;
        conf->db.max_lag = prev->db.max_lag;
    }

    ngx_conf_merge_uint_value(conf->db.max_conns, prev->db.max_conns, 16);
    ngx_conf_merge_uint_value(conf->db.max_waiting, prev->db.max_waiting,
                              1024);
    /* shorter than the wait, so a dead server is told apart from a busy one */
    ngx_conf_merge_msec_value(conf->db.connect_timeout,
                              prev->db.connect_timeout, 3000);
    ngx_conf_merge_msec_value(conf->db.query_timeout,
                              prev->db.query_timeout, 30000);
    ngx_conf_merge_msec_value(conf->db.queue_timeout,
                              prev->db.queue_timeout, 5000);
    ngx_conf_merge_msec_value(conf->db.keepalive_timeout,
                              prev->db.keepalive_timeout, 60000);
    ngx_conf_merge_str_value(conf->public_url, prev->public_url, "");
    ngx_conf_merge_str_value(conf->link_page, prev->link_page, "");
    ngx_conf_merge_ptr_value(conf->link_origins, prev->link_origins, NULL);

    rv = ngx_prefs_edge_merge(cf, prev, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (conf->api == NGX_HTTP_PREFS_API_NONE
        && conf->edge_client_id.data == NULL)
    {
        return NGX_CONF_OK;
    }

    if (conf->db.conninfo.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"prefs_api\" in %s:%ui needs \"prefs_database\"",
                      conf->api_file, conf->api_line);
        return NGX_CONF_ERROR;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);

    conf->pool = ngx_prefs_db_pool_add(cf, &pmcf->pools, &conf->db);
    if (conf->pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_loc_conf_t *plcf = conf;

    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (plcf->api != NGX_HTTP_PREFS_API_NONE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; ngx_http_prefs_api_types[i].name.len; i++) {
        if (ngx_strcmp(ngx_http_prefs_api_types[i].name.data, value[1].data)
            == 0)
        {
            plcf->api = ngx_http_prefs_api_types[i].value;
            break;
        }
    }

    if (plcf->api == NGX_HTTP_PREFS_API_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", it must be one of "
                           "\"status\", \"v4\", \"v3\", \"v3_async\", "
                           "\"oauth\" or \"metrics\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    plcf->api_file = cf->conf_file->file.name.data;
    plcf->api_line = cf->conf_file->line;

    if (plcf->api == NGX_HTTP_PREFS_API_METRICS) {
        pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);
        pmcf->metrics = 1;
    }

    if (plcf->api == NGX_HTTP_PREFS_API_V4
        || plcf->api == NGX_HTTP_PREFS_API_V3
        || plcf->api == NGX_HTTP_PREFS_API_V3_ASYNC)
    {
        pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);
        pmcf->auth.needs_key = 1;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

#if (NGX_PCRE)
    /* the clientId is the segment after the location's own: it must have some */
    if (clcf->regex
        && (plcf->api == NGX_HTTP_PREFS_API_V4
            || plcf->api == NGX_HTTP_PREFS_API_V3
            || plcf->api == NGX_HTTP_PREFS_API_V3_ASYNC))
    {
        return "cannot be used in a regex location: use a prefix location";
    }
#endif

    clcf->handler = ngx_http_prefs_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_loc_conf_t *plcf = conf;

    ngx_str_t  *value;

    if (plcf->db.conninfo.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "is empty";
    }

    /* the configuration parser leaves its tokens null-terminated */

    plcf->db.conninfo = value[1];
    plcf->db.conf_file = cf->conf_file->file.name.data;
    plcf->db.line = cf->conf_file->line;

    return ngx_prefs_db_conf_init(cf, "prefs_database", &plcf->db.conninfo);
}


/* prefs_db_replica "conninfo" [max_lag=time] */

static char *
ngx_http_prefs_db_replica(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_loc_conf_t *plcf = conf;

    ngx_str_t   *value, s;
    ngx_msec_t   lag;

    if (plcf->db.replica.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "is empty";
    }

    lag = 2000;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "max_lag=", 8) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 8;
        s.len = value[2].len - 8;

        lag = ngx_parse_time(&s, 0);

        if (lag == (ngx_msec_t) NGX_ERROR || lag == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid max_lag \"%V\"", &s);
            return NGX_CONF_ERROR;
        }
    }

    /* the configuration parser leaves its tokens null-terminated */

    plcf->db.replica = value[1];
    plcf->db.max_lag = lag;

    return ngx_prefs_db_conf_init(cf, "prefs_db_replica", &plcf->db.replica);
}


static char *
ngx_http_prefs_check_lease(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *lease = data;

    if (*lease < 1000) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_check_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *t = data;

    if (*t == 0) {
        return "must be more than 0";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_check_ttl(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *t = data;

    if (*t < 1) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}


/* the realm goes inside a quoted-string of WWW-Authenticate as it is */

static char *
ngx_http_prefs_check_realm(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t   *realm = data;
    ngx_uint_t   i;

    for (i = 0; i < realm->len; i++) {
        if (realm->data[i] == '"' || realm->data[i] == '\\'
            || realm->data[i] < 0x20 || realm->data[i] == 0x7f)
        {
            return "must not hold quotes, backslashes or control characters";
        }
    }

    return NGX_CONF_OK;
}


/* "https://prefs.example.com[:port]": a scheme and an authority, no more */

static char *
ngx_http_prefs_check_public_url(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t    *url = data;
    u_char       *p, *end;
    prefs_url_t   u;

    if (url->len && url->data[url->len - 1] == '/') {
        url->len--;
    }

    if (prefs_url_parse((char *) url->data, url->len, &u) != PREFS_URL_OK) {
        return "must be an http or https URL: a scheme, a host and a port";
    }

    p = (u_char *) ngx_strstr(url->data, "://") + 3;
    end = url->data + url->len;

    if (ngx_strlchr(p, end, '/') || ngx_strlchr(p, end, '?')) {
        return "must be only a scheme, a host and a port, without a path";
    }

    return NGX_CONF_OK;
}


/*
 * The page links lead to: an http or https URL, or a path; it goes into
 * Location headers and JSON answers as it is, with a query added.
 */

static char *
ngx_http_prefs_check_link_page(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t    *url = data;
    ngx_uint_t    i;
    prefs_url_t   u;

    for (i = 0; i < url->len; i++) {
        if (url->data[i] <= 0x20 || url->data[i] >= 0x7f
            || url->data[i] == '"' || url->data[i] == '\\'
            || url->data[i] == '#' || url->data[i] == '<'
            || url->data[i] == '>')
        {
            return "must be a URL without spaces, quotes, \"#\" or "
                   "control characters";
        }
    }

    if (url->len && url->data[0] == '/') {
        return NGX_CONF_OK;
    }

    if (prefs_url_parse((char *) url->data, url->len, &u) != PREFS_URL_OK) {
        return "must be an http or https URL, or a path";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_check_response_max(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *n = data;

    if (*n > 1024 * 1024) {
        return "must be at most 1m";
    }

    return NGX_CONF_OK;
}


/* a Stage request: the reference's hard maximum is 28 MB */

static char *
ngx_http_prefs_check_import_max_body(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *n = data;

    if (*n < 1024 || *n > 28 * 1024 * 1024) {
        return "must be from 1k to 28m";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_check_poll(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *t = data;

    if (*t < 100) {
        return "must be at least 100ms";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_prefs_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_main_conf_t *pmcf = conf;

    ngx_str_t  *value;

    if (pmcf->helper.spool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    pmcf->helper.spool = ngx_http_prefs_path_create(cf, &value[1]);
    if (pmcf->helper.spool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The key that seals HMAC secrets is read here, by the master, before any
 * worker exists: a missing or malformed file stops nginx from starting.
 */

static char *
ngx_http_prefs_secret_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_main_conf_t *pmcf = conf;

    int         rc;
    char        err[256];
    ngx_str_t  *value;

    if (pmcf->auth.key_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    pmcf->auth.key_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &pmcf->auth.key_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    rc = prefs_keyfile_load((char *) pmcf->auth.key_file.data,
                            pmcf->auth.secret_key,
                            err, sizeof(err));

    if (rc == PREFS_AUTH_KEY_LOOSE) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "prefs_secret_key \"%V\" may be read by other "
                           "users: chmod 600 it", &pmcf->auth.key_file);

    } else if (rc != PREFS_AUTH_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "prefs_secret_key \"%V\": %s",
                           &pmcf->auth.key_file, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* prefs_webhook_retries 5s 30s 2m ...: the delays after each failure */

static char *
ngx_http_prefs_webhook_retries(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_prefs_main_conf_t *pmcf = conf;

    u_char      *p;
    time_t       t;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (pmcf->webhook.retries.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > 30) {
        return "takes at most 30 delays";
    }

    p = ngx_pnalloc(cf->pool, 2 + cf->args->nelts * (NGX_TIME_T_LEN + 1));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    pmcf->webhook.retries.data = p;
    *p++ = '{';

    for (i = 1; i < cf->args->nelts; i++) {
        t = ngx_parse_time(&value[i], 1);

        if (t == (time_t) NGX_ERROR || t < 1 || t > 86400) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid delay \"%V\": each must be a time "
                               "from 1s to 1d", &value[i]);
            return NGX_CONF_ERROR;
        }

        p = ngx_sprintf(p, "%s%T", i > 1 ? "," : "", t);
    }

    *p++ = '}';
    *p = '\0';
    pmcf->webhook.retries.len = p - pmcf->webhook.retries.data;

    return NGX_CONF_OK;
}


static ngx_path_t *
ngx_http_prefs_path_create(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_path_t  *path;

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NULL;
    }

    path->name = *name;

    if (path->name.len > 1 && path->name.data[path->name.len - 1] == '/') {
        path->name.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
        return NULL;
    }

    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    return path;
}


static ngx_int_t
ngx_http_prefs_postconfiguration(ngx_conf_t *cf)
{
    ngx_str_t                    name;
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);

    ngx_prefs_router_init(ngx_prefs_routes, ngx_prefs_link_request);

    if (ngx_prefs_vars_init(cf, ngx_prefs_routes, NGX_PREFS_METRICS_ROUTES)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (pmcf->pools.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_prefs_edge_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (pmcf->metrics) {
        /* without a metrics location, requests are not counted at all */
        cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_prefs_exporter_log;
    }

    if (pmcf->auth.needs_key && pmcf->auth.key_file.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"prefs_api\" v4, v3 and v3_async need "
                      "\"prefs_secret_key\": the file with the key that "
                      "seals HMAC secrets");
        return NGX_ERROR;
    }

    ngx_str_set(&name, "ngx_http_prefs");

    /* the status slots, and the failed-authentication counters */
    pmcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                   1024 * 1024
                                   + sizeof(ngx_prefs_shm_t),
                                   &ngx_http_prefs_module);
    if (pmcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    pmcf->shm_zone->init = ngx_http_prefs_init_zone;
    pmcf->shm_zone->data = pmcf;

    if (!pmcf->helper.enabled) {
        return NGX_OK;
    }

    /* the helper runs the webhook client: its TLS context */
    if (ngx_prefs_whclient_init_conf(cf, pmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * The path's manager callback is what makes the nginx master start
     * (and restart) the helper process: see ngx_prefs_helper.c.
     */

    if (pmcf->helper.spool == NULL) {
        pmcf->helper.spool = ngx_http_prefs_path_create(cf,
                                               &ngx_http_prefs_spool_default);
        if (pmcf->helper.spool == NULL) {
            return NGX_ERROR;
        }
    }

    pmcf->helper.spool->manager = ngx_prefs_helper_manager;
    pmcf->helper.spool->data = pmcf;

    if (ngx_add_path(cf, &pmcf->helper.spool) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_prefs_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_prefs_main_conf_t  *opmcf = data;

    ngx_slab_pool_t             *shpool;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = shm_zone->data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    pmcf->shpool = shpool;

    if (opmcf) {
        /* a reload: the old workers' and the helper's slots live on */
        pmcf->sh = opmcf->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        pmcf->sh = shpool->data;
        return NGX_OK;
    }

    pmcf->sh = ngx_slab_calloc(shpool, sizeof(ngx_prefs_shm_t));
    if (pmcf->sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = pmcf->sh;

    return ngx_prefs_auth_init_zone(pmcf, shpool);
}


static ngx_int_t
ngx_http_prefs_init_process(ngx_cycle_t *cycle)
{
    ngx_prefs_shm_slot_t        *slot;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_prefs_module);

    if (pmcf == NULL || pmcf->pools.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE
        && ngx_process != NGX_PROCESS_HELPER)
    {
        return NGX_OK;
    }

    ngx_prefs_metrics_attach(pmcf->metrics ? &pmcf->sh->metrics : NULL);

    if (ngx_prefs_db_init_process(cycle, &pmcf->pools) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_process == NGX_PROCESS_HELPER) {
        /* the helper starts its work from the manager callback */
        return NGX_OK;
    }

    /* a worker past the last slot goes unreported, not into another's */
    slot = ngx_prefs_shm_slot(pmcf->sh,
                              ngx_process == NGX_PROCESS_SINGLE ? 0
                              : ngx_worker < NGX_PREFS_SHM_MAX_WORKERS
                              ? ngx_worker : NGX_PREFS_SHM_MAX_WORKERS + 1);
    if (slot) {
        ngx_memzero(slot, sizeof(ngx_prefs_shm_slot_t));
        slot->pid = ngx_pid;
        slot->started = ngx_time();
        slot->kind = (ngx_process == NGX_PROCESS_WORKER) ? 1 : 2;

        if (ngx_prefs_shm_start(cycle, slot, &pmcf->pools) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_process == NGX_PROCESS_SINGLE && pmcf->helper.enabled) {
        /* no master, so no helper process: run the job loop here */
        return ngx_prefs_helper_start(cycle, pmcf);
    }

    return NGX_OK;
}


static void
ngx_http_prefs_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_prefs_module);

    if (pmcf == NULL || pmcf->pools.nelts == 0) {
        return;
    }

    ngx_prefs_helper_stop(cycle);
    ngx_prefs_snap_exit();
    ngx_prefs_db_exit_process(&pmcf->pools);
}
