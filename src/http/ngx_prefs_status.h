
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_STATUS_H_INCLUDED_
#define _NGX_PREFS_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_prefs_status_handler(ngx_http_request_t *r);


#endif /* _NGX_PREFS_STATUS_H_INCLUDED_ */
