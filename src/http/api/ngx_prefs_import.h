
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_IMPORT_H_INCLUDED_
#define _NGX_PREFS_IMPORT_H_INCLUDED_


#include "ngx_prefs_api.h"


/* the Integration API's bulk import, /Profiles/v4/Async/{clientId}/Import */
ngx_int_t ngx_prefs_import_initiate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_import_stage(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_import_execute(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_import_status(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_import_exceptions(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_IMPORT_H_INCLUDED_ */
