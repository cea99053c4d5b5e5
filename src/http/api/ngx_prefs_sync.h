
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_SYNC_H_INCLUDED_
#define _NGX_PREFS_SYNC_H_INCLUDED_


#include "ngx_prefs_api.h"


ngx_int_t ngx_prefs_sync_changes(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_SYNC_H_INCLUDED_ */
