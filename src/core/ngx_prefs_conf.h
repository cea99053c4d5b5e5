
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_CONF_H_INCLUDED_
#define _NGX_PREFS_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_db.h"
#include "ngx_prefs_shm.h"


/*
 * The module's configuration as every layer reads it: the main conf is
 * split by concern, each part read by the files of that concern.  The
 * directives that fill it live in ngx_http_prefs_module.c.
 */


#define NGX_HTTP_PREFS_API_NONE      0
#define NGX_HTTP_PREFS_API_STATUS    1
#define NGX_HTTP_PREFS_API_V4        2
#define NGX_HTTP_PREFS_API_V3        3
#define NGX_HTTP_PREFS_API_V3_ASYNC  4
#define NGX_HTTP_PREFS_API_OAUTH     5
#define NGX_HTTP_PREFS_API_METRICS   6

/* prefs_edge_unknown */
#define NGX_PREFS_EDGE_ALLOW         1
#define NGX_PREFS_EDGE_DENY          2
#define NGX_PREFS_EDGE_REDIRECT      3


/* the helper process and its job loop (src/helper/) */
typedef struct {
    ngx_path_t                *spool;
    ngx_flag_t                 enabled;
    ngx_uint_t                 jobs;
    ngx_msec_t                 poll;
    ngx_msec_t                 job_lease;
} ngx_prefs_conf_helper_t;


/* authentication (src/http/ngx_prefs_auth.c, ngx_prefs_oauth.c) */
typedef struct {
    u_char                     secret_key[32];
    ngx_str_t                  key_file;
    ngx_flag_t                 needs_key;
    ngx_msec_t                 cache_time;
    ngx_uint_t                 cache_size;
    ngx_uint_t                 max_failures;
    ngx_uint_t                 source_max_failures;
    ngx_msec_t                 failure_window;
    ngx_msec_t                 failure_delay;
    ngx_msec_t                 unknown_user_time;
    time_t                     token_ttl;
    ngx_str_t                  realm;
} ngx_prefs_conf_auth_t;


/* the webhook client and delivery (src/helper/) */
typedef struct {
    ngx_flag_t                 allow_http;
    ngx_array_t               *allow;           /* prefs_netpolicy_cidr_t */
    ngx_str_t                  ca_file;
    ngx_msec_t                 timeout;
    ngx_msec_t                 connect_timeout;
    size_t                     response_max;
    ngx_resolver_t            *resolver;
    ngx_msec_t                 resolver_timeout;
    ngx_uint_t                 keepalive;
    ngx_msec_t                 keepalive_timeout;
#if (NGX_SSL)
    ngx_ssl_t                 *ssl;
#endif
    ngx_str_t                  retries;         /* "{5,30,...}" */
    ngx_msec_t                 lease;
    ngx_uint_t                 in_flight;
    ngx_uint_t                 sub_in_flight;
} ngx_prefs_conf_webhook_t;


/* events: the history window (prefs_event_history_days) */
typedef struct {
    ngx_int_t                  history_days;
    ngx_str_t                  window;          /* "N days", NUL-terminated */
} ngx_prefs_conf_events_t;


/* bulk import (src/http/api/ngx_prefs_import.c, src/helper/) */
typedef struct {
    size_t                     max_body;        /* a Stage request */
    ngx_uint_t                 quota;           /* initiated a day */
    ngx_uint_t                 batch;           /* records a transaction */
} ngx_prefs_conf_import_t;


/* consent at the edge (src/http/ngx_prefs_edge.c) */
typedef struct {
    ngx_flag_t                 used;            /* a prefs_edge location */
    ngx_uint_t                 cache_size;      /* prefs_edge_cache_size */
    ngx_msec_t                 stale_time;      /* prefs_edge_stale_time */
} ngx_prefs_conf_edge_t;


/* one prefs_require_consent or prefs_require_optin */
typedef struct {
    ngx_str_t                  name;            /* ConsentType, FilterId */
    ngx_uint_t                 optin;
    ngx_uint_t                 statuses;        /* bit 1 << status */
} ngx_prefs_conf_edge_require_t;


typedef struct {
    ngx_array_t                pools;           /* ngx_prefs_db_pool_t * */
    ngx_shm_zone_t            *shm_zone;
    ngx_prefs_shm_t           *sh;
    ngx_slab_pool_t           *shpool;
    size_t                     max_body;
    ngx_flag_t                 metrics;         /* a prefs_api metrics */

    ngx_prefs_conf_helper_t    helper;
    ngx_prefs_conf_auth_t      auth;
    ngx_prefs_conf_webhook_t   webhook;
    ngx_prefs_conf_events_t    events;
    ngx_prefs_conf_import_t    import;
    ngx_prefs_conf_edge_t      edge;
} ngx_http_prefs_main_conf_t;


typedef struct {
    ngx_prefs_db_conf_t        db;
    ngx_prefs_db_pool_t       *pool;
    ngx_uint_t                 api;
    u_char                    *api_file;
    ngx_uint_t                 api_line;
    ngx_str_t                  public_url;      /* Location's origin */
    ngx_str_t                  link_page;       /* prefs_link_page */
    ngx_array_t               *link_origins;    /* prefs_link_cors_origin */

    /* consent at the edge: prefs_edge, prefs_require_*, prefs_edge_* */
    ngx_str_t                  edge_client_id;
    ngx_http_complex_value_t  *edge_token;
    ngx_array_t               *edge_require;    /* edge_require_t */
    ngx_uint_t                 edge_unknown;    /* NGX_PREFS_EDGE_* */
    ngx_str_t                  edge_redirect;
} ngx_http_prefs_loc_conf_t;


extern ngx_module_t  ngx_http_prefs_module;


#endif /* _NGX_PREFS_CONF_H_INCLUDED_ */
