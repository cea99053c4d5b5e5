
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_EXPORT_H_INCLUDED_
#define _NGX_PREFS_EXPORT_H_INCLUDED_


#include "ngx_prefs_api.h"


/* POST Export/Segment/{name}, Export/SegmentGroup/{name} (route data: the
 * kind, as for the segment routes) */
ngx_int_t ngx_prefs_export_start(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
/* GET Status/Token/{accessToken}, POST Export/{accessToken}/Commit: the
 * route data says whether the call ends the export */
#define NGX_PREFS_EXPORT_STATUS  "false"
#define NGX_PREFS_EXPORT_COMMIT  "true"

ngx_int_t ngx_prefs_export_state(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
/* GET Export/{accessToken}?limit=&offset=&keepAlive= */
ngx_int_t ngx_prefs_export_page(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_EXPORT_H_INCLUDED_ */
