
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


ngx_int_t ngx_prefs_events_list(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_events_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* shared with the Sync feed (ngx_prefs_sync.c) */
ngx_int_t ngx_prefs_events_limit(json_t *value, ngx_int_t max);
ngx_int_t ngx_prefs_events_after(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, json_t *value, char *txid_text, char *id_text);
ngx_int_t ngx_prefs_events_page(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q, ngx_uint_t outcomes, const char *field,
    const char *after_txid, const char *after_id, ngx_buf_t **out);


#endif /* _NGX_PREFS_EVENTS_H_INCLUDED_ */
