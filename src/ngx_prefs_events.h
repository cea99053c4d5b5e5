
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_EVENTS_H_INCLUDED_
#define _NGX_PREFS_EVENTS_H_INCLUDED_


#include "ngx_prefs_api.h"


/* route data of ngx_prefs_events_list: what the listing is of */
#define NGX_PREFS_EVENTS_ACCOUNT       "account"
#define NGX_PREFS_EVENTS_SUBSCRIPTION  "subscription"
#define NGX_PREFS_EVENTS_PROFILE       "profile"


typedef struct ngx_prefs_events_upkeep_s  ngx_prefs_events_upkeep_t;


ngx_int_t ngx_prefs_events_list(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_events_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/*
 * The helper's partition upkeep for one database: a second after the
 * start, then daily (a minute after a failure).  Stopping cancels a run
 * in progress.
 */
ngx_prefs_events_upkeep_t *ngx_prefs_events_upkeep_start(ngx_cycle_t *cycle,
    ngx_prefs_db_pool_t *pool, ngx_http_prefs_main_conf_t *pmcf);
void ngx_prefs_events_upkeep_stop(ngx_prefs_events_upkeep_t *up);


#endif /* _NGX_PREFS_EVENTS_H_INCLUDED_ */
