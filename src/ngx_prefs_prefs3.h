
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_PREFS3_H_INCLUDED_
#define _NGX_PREFS_PREFS3_H_INCLUDED_


#include "ngx_prefs_api.h"


/* v4: Profile/Preferences/AlternateIdType/{type}/AlternateId/{value} */
ngx_int_t ngx_prefs_prefs3_alt_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_prefs3_alt_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* v4: Profile/Consents/History?alternateIdType=&alternateId= */
ngx_int_t ngx_prefs_prefs3_history(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* v3: Preferences...; the route's data names the kind ("list", "cid", ...) */
ngx_int_t ngx_prefs_prefs3_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_prefs3_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_PREFS3_H_INCLUDED_ */
