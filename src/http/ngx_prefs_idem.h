
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_IDEM_H_INCLUDED_
#define _NGX_PREFS_IDEM_H_INCLUDED_


#include "ngx_prefs_api.h"


/*
 * Idempotency-Key on a create (ours).  A route opts in:
 *
 *   SQL   a row of prefs_idempotent_operation naming the create's call
 *         (the table and its rows: sql/migrations/010_idempotency.sql; a
 *         new row comes in a new migration), and a "keyed" statement:
 *         the plain statement's parameters, then $n+1 the key, $n+2 the
 *         fingerprint, $n+3 the user id; it calls prefs_idempotent() and
 *         answers the plain statement's columns followed by a column
 *         "idempotency"
 *
 *   C     after filling the plain query:
 *             rc = ngx_prefs_idem_apply(r, ctx, KEYED_STMT, &q);
 *             if (q == NULL) { return rc; }
 *         and first thing in the query's handler, once q->status is OK:
 *             rc = ngx_prefs_idem_check(r, q);
 *             if (rc != NGX_DECLINED) { finalize(r, rc); return; }
 *         then answer from the columns as for a request without a key.
 */


/*
 * Swaps *q for the keyed statement when the request has an
 * Idempotency-Key; leaves it alone when it has none.  *q == NULL: the
 * request was answered (a bad key: 400) or failed; return rc.
 */
ngx_int_t ngx_prefs_idem_apply(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e keyed,
    ngx_prefs_db_query_t **q);

/*
 * NGX_DECLINED: go on answering from the columns (a replay has its
 * Idempotent-Replayed header); anything else: the request was answered
 * (422, the key belongs to another request) or failed, finalize with it.
 */
ngx_int_t ngx_prefs_idem_check(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);


#endif /* _NGX_PREFS_IDEM_H_INCLUDED_ */
