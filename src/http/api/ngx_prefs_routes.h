
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_ROUTES_H_INCLUDED_
#define _NGX_PREFS_ROUTES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"


/* ends with a route whose handler is NULL */
extern const ngx_prefs_api_route_t  ngx_prefs_routes[];


#endif /* _NGX_PREFS_ROUTES_H_INCLUDED_ */
