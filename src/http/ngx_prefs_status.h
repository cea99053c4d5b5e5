
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_STATUS_H_INCLUDED_
#define _NGX_PREFS_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"


ngx_int_t ngx_prefs_status_handler(ngx_http_request_t *r);

/*
 * What the status and metrics locations share: a GET or HEAD whose answer
 * waits for one statement on the location's pool; and whether a status
 * slot's process is alive (slots of processes gone since a reload are
 * skipped).
 */
ngx_int_t ngx_prefs_status_query(ngx_http_request_t *r, ngx_prefs_stmt_e stmt,
    ngx_prefs_db_handler_pt handler);
ngx_uint_t ngx_prefs_status_slot_live(ngx_prefs_shm_slot_t *slot);


#endif /* _NGX_PREFS_STATUS_H_INCLUDED_ */
