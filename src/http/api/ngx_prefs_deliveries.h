
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_DELIVERIES_H_INCLUDED_
#define _NGX_PREFS_DELIVERIES_H_INCLUDED_


#include "ngx_prefs_api.h"


/* Webhooks/Subscriptions/{id}/Deliveries and .../Replay (ours) */
ngx_int_t ngx_prefs_deliveries_list(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_deliveries_replay(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_DELIVERIES_H_INCLUDED_ */
