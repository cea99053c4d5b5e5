
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The Sync feed (ours, docs/bulk.md "Sync"): GET Sync/Changes?after=&limit=
 * answers the profiles the account's events name after a position of its
 * commit-ordered event stream, each in its current state, and the cursor
 * to go on from: one call of prefs_sync_changes (sql/functions/sync.sql).
 * The cursor is the Events API's (src/lib/prefs_cursor), a position in
 * the same stream, signed for the account.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_sync.h"
#include "ngx_prefs_events.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_outcome.h"


#define NGX_PREFS_SYNC_LIMIT      100
#define NGX_PREFS_SYNC_LIMIT_MAX  1000


static void ngx_prefs_sync_listed(ngx_prefs_db_query_t *q);


ngx_int_t
ngx_prefs_sync_changes(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *txid, *id, *limit;
    json_t                *value;
    ngx_int_t              n;
    const char            *name;
    ngx_prefs_db_query_t  *q;

    txid = NULL;
    id = NULL;
    n = NGX_PREFS_SYNC_LIMIT;

    /* ASP.NET binds query parameters without regard to case */

    json_object_foreach(ctx->query, name, value) {

        if (ngx_strcasecmp((u_char *) name, (u_char *) "limit") == 0) {
            n = ngx_prefs_events_limit(value, NGX_PREFS_SYNC_LIMIT_MAX);

            if (n == NGX_ERROR) {
                return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                            "limit must be a whole number "
                                            "from 1 to %d",
                                            NGX_PREFS_SYNC_LIMIT_MAX);
            }

        } else if (ngx_strcasecmp((u_char *) name, (u_char *) "after") == 0) {
            txid = ngx_pnalloc(r->pool, 2 * (NGX_INT64_LEN + 1));
            if (txid == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            id = txid + NGX_INT64_LEN + 1;

            if (ngx_prefs_events_after(r, ctx, value, txid, id) != NGX_OK) {
                return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                            "after is not a cursor of this "
                                            "account's changes: pass the "
                                            "NextCursor of an answer as it "
                                            "came");
            }

        } else {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "unknown query parameter \"%s\": "
                                        "Sync/Changes takes after and limit",
                                        name);
        }
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_SYNC_CHANGES,
                            ngx_prefs_sync_listed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    limit = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (limit == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) limit, "%i", n) = '\0';

    q->values[1] = txid;
    q->values[2] = id;
    q->values[3] = limit;

    return ngx_prefs_http_query(r, q);
}


/* {"Changes": [...], "Count": n, "HasMore": b, "NextCursor": c} */

static void
ngx_prefs_sync_listed(ngx_prefs_db_query_t *q)
{
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_http_request_t  *r = q->data;

    rc = ngx_prefs_events_page(r, q, NGX_PREFS_OUTCOMES_SYNC, "Changes",
                               q->values[1], q->values[2], &b);

    if (b) {
        rc = ngx_prefs_http_send_buf(r, NGX_HTTP_OK, b);
    }

    ngx_prefs_http_finalize(r, rc);
}
