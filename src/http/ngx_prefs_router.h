
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

/* the route table, given once at configuration by the module */
void ngx_prefs_router_init(const ngx_prefs_api_route_t *routes);

/* the content handler of the API locations */
ngx_int_t ngx_prefs_router_handler(ngx_http_request_t *r);


#endif /* _NGX_PREFS_ROUTER_H_INCLUDED_ */
