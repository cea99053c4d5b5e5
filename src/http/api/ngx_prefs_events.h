
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


#endif /* _NGX_PREFS_EVENTS_H_INCLUDED_ */
