
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_EDGE_H_INCLUDED_
#define _NGX_PREFS_EDGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"


/* the directives (ngx_http_prefs_module.c lists them) */
char *ngx_prefs_edge_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_prefs_edge_require_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_prefs_edge_merge(ngx_conf_t *cf, ngx_http_prefs_loc_conf_t *prev,
    ngx_http_prefs_loc_conf_t *conf);

/* the phase handlers, once the configuration has an edge location */
ngx_int_t ngx_prefs_edge_init(ngx_conf_t *cf);

/* $prefs_consent_*, $prefs_optin_*, $prefs_profile_locale */
ngx_int_t ngx_prefs_edge_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* $prefs_profile_id in an edge location: NGX_DECLINED elsewhere */
ngx_int_t ngx_prefs_edge_profile_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v);


#endif /* _NGX_PREFS_EDGE_H_INCLUDED_ */
