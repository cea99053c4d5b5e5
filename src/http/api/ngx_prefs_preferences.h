
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_PREFERENCES_H_INCLUDED_
#define _NGX_PREFS_PREFERENCES_H_INCLUDED_


#include "ngx_prefs_api.h"


/* v4: Profile/Preferences/AlternateIdType/{type}/AlternateId/{value} */
ngx_int_t ngx_prefs_preferences_alt_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_preferences_alt_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* v4: Profile/Consents/History?alternateIdType=&alternateId= */
ngx_int_t ngx_prefs_preferences_history(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* v3: Preferences...; the route's data names the kind ("list", "cid", ...) */
ngx_int_t ngx_prefs_preferences_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_preferences_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_PREFERENCES_H_INCLUDED_ */
