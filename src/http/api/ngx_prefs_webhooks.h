
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_WEBHOOKS_H_INCLUDED_
#define _NGX_PREFS_WEBHOOKS_H_INCLUDED_


#include "ngx_prefs_api.h"


ngx_int_t ngx_prefs_webhooks_list(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_create(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_update(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_delete(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_rotate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_settings_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_webhooks_settings_put(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_WEBHOOKS_H_INCLUDED_ */
