
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_HTTP_PREFS_MODULE_H_INCLUDED_
#define _NGX_HTTP_PREFS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_db.h"


#define NGX_HTTP_PREFS_API_NONE      0
#define NGX_HTTP_PREFS_API_STATUS    1
#define NGX_HTTP_PREFS_API_V4        2
#define NGX_HTTP_PREFS_API_V3        3
#define NGX_HTTP_PREFS_API_V3_ASYNC  4
#define NGX_HTTP_PREFS_API_OAUTH     5

/* configuration generations: account_id modulo this many counters */
#define NGX_HTTP_PREFS_CONFIG_GENS   4096

/* status slots: one per worker, then the helper's */
#define NGX_HTTP_PREFS_MAX_WORKERS   256
#define NGX_HTTP_PREFS_HELPER_SLOT   NGX_HTTP_PREFS_MAX_WORKERS


typedef struct {
    ngx_pid_t                  pid;
    time_t                     started;
    ngx_uint_t                 kind;           /* 0 free, 1 worker, 2 single */
    ngx_prefs_db_stats_t       db;

    /* the helper's own */
    time_t                     last_poll;
    ngx_uint_t                 listening;
    ngx_uint_t                 jobs_running;
    ngx_uint_t                 jobs_done;
    ngx_uint_t                 jobs_failed;
    ngx_uint_t                 jobs_stale;

    /* the worker's configuration snapshots */
    ngx_uint_t                 config_accounts;
    size_t                     config_bytes;
    ngx_uint_t                 config_loads;

    /* the helper's event partition upkeep: the last run, and totals */
    time_t                     events_upkeep_at;
    ngx_uint_t                 events_upkeep_failed;
    ngx_uint_t                 events_upkeep_failures;
    ngx_uint_t                 events_partitions_created;
    ngx_uint_t                 events_partitions_dropped;
} ngx_http_prefs_slot_t;


typedef struct {
    ngx_http_prefs_slot_t      slots[NGX_HTTP_PREFS_MAX_WORKERS + 1];

    /*
     * Configuration changes, as the helper hears of them (NOTIFY
     * prefs_config): a counter per account (hashed), an epoch bumped
     * whenever the helper starts listening (what it missed meanwhile is
     * unknown), and the last time it was known to listen.
     */
    ngx_atomic_t               config_gen[NGX_HTTP_PREFS_CONFIG_GENS];
    ngx_atomic_t               config_epoch;
    ngx_atomic_t               config_beat;       /* ngx_current_msec */
    ngx_atomic_t               config_listening;

    /* failed authentications per user name, for all workers */
    ngx_rbtree_t               fail_tree;
    ngx_rbtree_node_t          fail_sentinel;
    ngx_queue_t                fail_lru;
} ngx_http_prefs_shctx_t;


typedef struct {
    ngx_array_t                pools;          /* ngx_prefs_db_pool_t * */
    ngx_shm_zone_t            *shm_zone;
    ngx_http_prefs_shctx_t    *sh;
    ngx_slab_pool_t           *shpool;

    ngx_path_t                *spool;
    ngx_flag_t                 helper;
    ngx_uint_t                 helper_jobs;
    ngx_msec_t                 helper_poll;
    ngx_msec_t                 job_lease;

    /* authentication */
    u_char                     secret_key[32];
    ngx_str_t                  secret_key_file;
    ngx_flag_t                 needs_key;
    ngx_msec_t                 auth_cache_time;
    ngx_uint_t                 auth_cache_size;
    ngx_uint_t                 auth_max_failures;
    ngx_msec_t                 auth_failure_window;
    ngx_msec_t                 auth_window_skew;
    time_t                     oauth_token_ttl;
    ngx_str_t                  auth_realm;
    size_t                     max_body;

    /* the webhook client (ngx_prefs_whclient.c) */
    ngx_flag_t                 webhook_allow_http;
    ngx_array_t               *webhook_allow;      /* prefs_cidr_t */
    ngx_str_t                  webhook_ca_file;
    ngx_msec_t                 webhook_timeout;
    ngx_msec_t                 webhook_connect_timeout;
    size_t                     webhook_response_max;
    ngx_resolver_t            *webhook_resolver;
    ngx_msec_t                 webhook_resolver_timeout;
    ngx_uint_t                 webhook_keepalive;
    ngx_msec_t                 webhook_keepalive_timeout;
#if (NGX_SSL)
    ngx_ssl_t                 *webhook_ssl;
#endif
    /* webhook delivery */
    ngx_str_t                  webhook_retries;     /* "{5,30,...}" */
    ngx_msec_t                 webhook_lease;
    ngx_uint_t                 webhook_in_flight;
    ngx_uint_t                 webhook_sub_in_flight;
    /* events: the history window, in days (prefs_event_history_days) */
    ngx_int_t                  event_history_days;
    ngx_str_t                  event_window;   /* "N days", NUL-terminated */
} ngx_http_prefs_main_conf_t;


typedef struct {
    ngx_prefs_db_conf_t        db;
    ngx_prefs_db_pool_t       *pool;
    ngx_uint_t                 api;
    u_char                    *api_file;
    ngx_uint_t                 api_line;
} ngx_http_prefs_loc_conf_t;


extern ngx_module_t  ngx_http_prefs_module;


ngx_http_prefs_slot_t *ngx_http_prefs_slot(ngx_cycle_t *cycle,
    ngx_uint_t n);
ngx_http_prefs_slot_t *ngx_http_prefs_own_slot(void);

ngx_int_t ngx_prefs_status_start(ngx_cycle_t *cycle,
    ngx_http_prefs_slot_t *slot, ngx_array_t *pools);
ngx_int_t ngx_prefs_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_prefs_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_prefs_oauth_handler(ngx_http_request_t *r);

/* the webhook client's directives (ngx_prefs_whclient.c) */
#define NGX_PREFS_WHC_CA_FILE  "/etc/ssl/certs/ca-certificates.crt"

char *ngx_prefs_whc_allow_network(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_prefs_whc_resolver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_prefs_whc_init_conf(ngx_conf_t *cf,
    ngx_http_prefs_main_conf_t *pmcf);


#endif /* _NGX_HTTP_PREFS_MODULE_H_INCLUDED_ */
