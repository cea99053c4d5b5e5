
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_SNAP_H_INCLUDED_
#define _NGX_PREFS_SNAP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"


#define NGX_PREFS_SNAP_LOCALES      64


typedef struct ngx_prefs_snap_s  ngx_prefs_snap_t;


typedef struct {
    ngx_str_node_t             sn;
    ngx_str_t                  body;
    ngx_str_t                  etag;
    ngx_uint_t                 status;
} ngx_prefs_snap_render_t;


struct ngx_prefs_snap_s {
    ngx_rbtree_node_t          node;           /* key: account_id */
    ngx_queue_t                queue;
    int64_t                    account_id;
    ngx_uint_t                 refs;
    ngx_uint_t                 current:1;
    ngx_uint_t                 unconfirmed:1;  /* read from a standby */
    ngx_pool_t                 *pool;
    ngx_str_t                  text;           /* the document, as loaded */
    int64_t                    generation;
    ngx_atomic_uint_t          gen_seen;
    ngx_atomic_uint_t          epoch_seen;
    ngx_msec_t                 checked;        /* last known fresh */
    const char                 *locales[NGX_PREFS_SNAP_LOCALES];
    size_t                     nlocales;
    const char                 *default_locale;
    ngx_rbtree_t               renders;
    ngx_rbtree_node_t          renders_sentinel;
    ngx_uint_t                 nrenders;
    size_t                     bytes;
};


/* answers a request from a current snapshot of its account */
typedef ngx_int_t (*ngx_prefs_snap_answer_pt)(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_snap_t *snap);


/* answer now, or once the snapshot is loaded (NGX_DONE) */
ngx_int_t ngx_prefs_snap_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_snap_answer_pt answer);
/* keeps a render of size bytes in the snapshot's cache */
void ngx_prefs_snap_keep(ngx_prefs_snap_t *snap, ngx_prefs_snap_render_t *rd,
    size_t size);
/* the snapshot outlives the request's response */
ngx_int_t ngx_prefs_snap_hold(ngx_http_request_t *r, ngx_prefs_snap_t *snap);
void ngx_prefs_snap_exit(void);


#endif /* _NGX_PREFS_SNAP_H_INCLUDED_ */
