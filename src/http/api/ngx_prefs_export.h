
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

/* route data: a v3 schedule's export, and the schedules' admin routes */
#define NGX_PREFS_EXPORT_SCHEDULE   "Schedule"
#define NGX_PREFS_EXPORT_SCHEDULES  "ExportSchedule"

ngx_int_t ngx_prefs_export_state(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
/* GET Export/{accessToken}?limit=&offset=&keepAlive= */
ngx_int_t ngx_prefs_export_page(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_EXPORT_H_INCLUDED_ */
