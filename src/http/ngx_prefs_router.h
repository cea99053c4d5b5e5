
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_ROUTER_H_INCLUDED_
#define _NGX_PREFS_ROUTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"


typedef struct {
    ngx_uint_t                 method;
    const char                *name;
} ngx_prefs_router_method_t;


/* the methods a route may take, by name; ends with a NULL name */
extern const ngx_prefs_router_method_t  ngx_prefs_router_methods[];

/*
 * Runs before the API's credentials are looked at (the per-profile links
 * of src/http/ngx_prefs_link.c): NGX_DECLINED to go on with them.
 */
typedef ngx_int_t (*ngx_prefs_router_hook_pt)(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* the route table and the hook, given once at configuration by the module */
void ngx_prefs_router_init(const ngx_prefs_api_route_t *routes,
    ngx_prefs_router_hook_pt before_auth);

/*
 * The request's path into ctx->path, decoded strictly, and the clientId's
 * segment (ctx->first); or why it is invalid.
 */
const char *ngx_prefs_router_parse_path(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/*
 * The API bit (NGX_PREFS_API_IN_*) a route must carry to serve the request
 * whose path ctx holds: the location's, or NGX_PREFS_API_IN_ASYNC.
 */
ngx_uint_t ngx_prefs_router_api(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/*
 * Whether a route's path matches the n segments after the clientId; its
 * arguments go to ctx->args when ctx is not NULL.
 */
ngx_uint_t ngx_prefs_router_path_match(const ngx_prefs_api_route_t *rt,
    prefs_path_segment_t *seg, ngx_uint_t n, ngx_prefs_api_ctx_t *ctx);

/* the content handler of the API locations */
ngx_int_t ngx_prefs_router_handler(ngx_http_request_t *r);


#endif /* _NGX_PREFS_ROUTER_H_INCLUDED_ */
