
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_EXPORTER_H_INCLUDED_
#define _NGX_PREFS_EXPORTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* "prefs_api metrics": the Prometheus text format, or OpenMetrics */
ngx_int_t ngx_prefs_exporter_handler(ngx_http_request_t *r);

/* the log phase: every request of a prefs_api location counted once */
ngx_int_t ngx_prefs_exporter_log(ngx_http_request_t *r);


#endif /* _NGX_PREFS_EXPORTER_H_INCLUDED_ */
