
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_SEGMENTS_H_INCLUDED_
#define _NGX_PREFS_SEGMENTS_H_INCLUDED_


#include "ngx_prefs_api.h"


/* the route data of the segment routes: what the path names */
#define NGX_PREFS_SEGMENTS_SEGMENT  "Segment"
#define NGX_PREFS_SEGMENTS_GROUP    "SegmentGroup"


/* POST/GET Segments, GET/PUT/DELETE Segments/{name}; SegmentGroups alike */
ngx_int_t ngx_prefs_segments_call(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_SEGMENTS_H_INCLUDED_ */
