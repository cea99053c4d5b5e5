
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_VARS_H_INCLUDED_
#define _NGX_PREFS_VARS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"


/* $prefs_client_id, $prefs_user, $prefs_route, $prefs_profile_id */
ngx_int_t ngx_prefs_vars_add(ngx_conf_t *cf);

/* the route templates of the table, numbered from 1 (0: no route) */
ngx_int_t ngx_prefs_vars_init(ngx_conf_t *cf,
    const ngx_prefs_api_route_t *routes, ngx_uint_t max);
ngx_uint_t ngx_prefs_vars_templates(void);
ngx_str_t *ngx_prefs_vars_template_name(ngx_uint_t id);

/* the template a request of an API location addresses; 0 when none */
ngx_uint_t ngx_prefs_vars_template(ngx_http_request_t *r);


#endif /* _NGX_PREFS_VARS_H_INCLUDED_ */
