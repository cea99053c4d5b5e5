
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Idempotency-Key on creates: the header is read and checked here, the
 * request's fingerprint made (method, route, SHA-256 of the body), and
 * the create's statement swapped for its keyed form, which records the key
 * and the answer in the create's own transaction (prefs_idempotent in
 * sql/functions/idempotency.sql).  The answer of a replay comes from the same
 * columns as the first one, so the route's handler renders it the same.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_idem.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_outcome.h"
#include "prefs_idem.h"


#define NGX_PREFS_IDEM_ROUTE_MAX      1024
#define NGX_PREFS_IDEM_UNPROCESSABLE  422


static ngx_table_elt_t *ngx_prefs_idem_header(ngx_http_request_t *r,
    ngx_uint_t *n);
static size_t ngx_prefs_idem_route(ngx_prefs_api_ctx_t *ctx, u_char *buf,
    size_t size);


static ngx_str_t  ngx_prefs_idem_name = ngx_string("Idempotency-Key");


ngx_int_t
ngx_prefs_idem_apply(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e keyed, ngx_prefs_db_query_t **q)
{
    int                    i, n;
    long                   len;
    char                  *key, *fp;
    size_t                 rlen, fsize;
    u_char                 route[NGX_PREFS_IDEM_ROUTE_MAX];
    ngx_uint_t             count;
    ngx_table_elt_t       *h;
    ngx_prefs_db_query_t  *plain, *kq;

    plain = *q;

    h = ngx_prefs_idem_header(r, &count);
    if (h == NULL) {
        return NGX_OK;
    }

    *q = NULL;

    if (count > 1) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "Idempotency-Key is given more than once");
    }

    key = ngx_pnalloc(r->pool, PREFS_IDEM_KEY_MAX + 1);
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = prefs_idem_key((char *) h->value.data, h->value.len, key,
                         PREFS_IDEM_KEY_MAX + 1);
    if (len < 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "Idempotency-Key must be 1 to %d "
                                    "printable ASCII characters",
                                    PREFS_IDEM_KEY_MAX);
    }

    rlen = ngx_prefs_idem_route(ctx, route, sizeof(route));

    fsize = r->method_name.len + rlen + 67;
    fp = ngx_pnalloc(r->pool, fsize);
    if (fp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prefs_idem_fingerprint((char *) r->method_name.data,
                               r->method_name.len, (char *) route, rlen,
                               ctx->body.data, ctx->body.len, fp, fsize)
        < 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kq = ngx_prefs_api_query(r, ctx, keyed, plain->handler);
    if (kq == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = plain->nparams;

    if (kq->nparams != n + 3) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "prefs idempotency: statement %d does not take %d "
                      "parameters", (int) keyed, n + 3);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        kq->values[i] = plain->values[i];
        kq->lengths[i] = plain->lengths[i];
    }

    kq->values[n] = key;
    kq->values[n + 1] = fp;
    kq->values[n + 2] = ctx->user_text;

    *q = kq;

    return NGX_OK;
}


ngx_int_t
ngx_prefs_idem_check(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    const char                 *state;
    const ngx_prefs_outcome_t  *o;

    /* only the keyed statements answer it */

    if (ngx_prefs_db_column(q, NGX_PREFS_COL_IDEMPOTENCY) < 0
        || PQntuples(q->res) != 1)
    {
        return NGX_DECLINED;
    }

    state = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_IDEMPOTENCY);
    o = ngx_prefs_outcome_find(NGX_PREFS_OUTCOMES_IDEMPOTENCY, state);

    if (o->status == NGX_PREFS_IDEM_UNPROCESSABLE) {
        /* nginx knows no reason phrase for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");

        return ngx_prefs_outcome_answer(r, o, q, NGX_PREFS_COL_NONE);
    }

    if (ngx_strcmp(state, "replayed") == 0
        && ngx_prefs_http_header(r, "Idempotent-Replayed", "true", 4)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_table_elt_t *
ngx_prefs_idem_header(ngx_http_request_t *r, ngx_uint_t *n)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    *n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == ngx_prefs_idem_name.len
                && ngx_strncasecmp(h[i].key.data, ngx_prefs_idem_name.data,
                                   ngx_prefs_idem_name.len) == 0)
            {
                if (found == NULL) {
                    found = &h[i];
                }

                (*n)++;
            }
        }
    }

    return found;
}


/* the route as the table spells it, with its values: "Profile", "Users" */

static size_t
ngx_prefs_idem_route(ngx_prefs_api_ctx_t *ctx, u_char *buf, size_t size)
{
    u_char      *p, *end;
    ngx_uint_t   i, a;

    p = buf;
    end = buf + size;
    a = 0;

    for (i = 0; ctx->route->path[i]; i++) {
        if (i) {
            p = ngx_slprintf(p, end, "/");
        }

        if (ctx->route->path[i][0] == '*' && a < ctx->nargs) {
            p = ngx_slprintf(p, end, "%V", &ctx->args[a++]);

        } else {
            p = ngx_slprintf(p, end, "%s", ctx->route->path[i]);
        }
    }

    return p - buf;
}
