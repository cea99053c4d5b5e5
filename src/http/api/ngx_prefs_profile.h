
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_PROFILE_H_INCLUDED_
#define _NGX_PREFS_PROFILE_H_INCLUDED_


#include "ngx_prefs_api.h"


const char *ngx_prefs_profile_profile_id(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_int_t *rc);
ngx_int_t ngx_prefs_profile_create(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_get_alternate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_update(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_delete(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_activate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_find(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_part_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_part_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_preferences_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_group(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
json_t *ngx_prefs_profile_prefs_view(json_t *profile);
ngx_int_t ngx_prefs_profile_changes_part_remove(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_changes_patch(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_profile_changes_patch_alternate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_PROFILE_H_INCLUDED_ */
