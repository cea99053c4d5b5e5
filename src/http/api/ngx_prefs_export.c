
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Bulk export, under /Profiles/v4/Async/{clientId}/ (BulkExport): start an
 * export of a segment or segment group, its status, its pages, Commit.
 * The export itself is the helper's job "prefs.export"
 * (src/helper/ngx_prefs_export_job.c); the pages are text the database
 * assembles from the stored documents, sent as they come.  An access
 * token that is not a live export of the caller's account is 401, as the
 * reference answers an invalid one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_export.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"


static ngx_int_t ngx_prefs_export_token(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e stmt,
    ngx_prefs_db_query_t **q);
static void ngx_prefs_export_done(ngx_prefs_db_query_t *q);


ngx_int_t
ngx_prefs_export_start(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    json_t                *body;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    /* the body is optional: no body is a full export without callback */

    text = NULL;

    if (ctx->body.len) {
        rc = ngx_prefs_api_json_body(r, ctx, &body);
        if (body == NULL) {
            return rc;
        }

        text = ngx_prefs_json_text(r->pool, body);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_EXPORT_START,
                            ngx_prefs_export_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->route->data;
    q->values[3] = (char *) ctx->args[0].data;
    q->values[4] = text;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_export_state(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_export_token(r, ctx, NGX_PREFS_STMT_EXPORT_STATE, &q);
    if (q == NULL) {
        return rc;
    }

    q->values[2] = (char *) ctx->route->data;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_export_page(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    ngx_int_t              rc, limit, offset;
    ngx_str_t              keep;
    ngx_prefs_db_query_t  *q;

    if (ngx_prefs_api_int_arg(ctx, "limit", 1, 1000, 1000, &limit)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "limit must be an integer from 1 to 1000");
    }

    if (ngx_prefs_api_int_arg(ctx, "offset", 1, NGX_MAX_INT32_VALUE, 1,
                              &offset)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "offset must be an integer from 1");
    }

    rc = ngx_prefs_api_arg(ctx, "keepAlive", &keep);

    if (rc == NGX_DECLINED) {
        ngx_str_set(&keep, "false");

    } else if (rc != NGX_OK
               || !((keep.len == 4
                     && ngx_strncasecmp(keep.data, (u_char *) "true", 4) == 0)
                    || (keep.len == 5
                        && ngx_strncasecmp(keep.data, (u_char *) "false", 5)
                           == 0)))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "keepAlive must be true or false");
    }

    rc = ngx_prefs_export_token(r, ctx, NGX_PREFS_STMT_EXPORT_PAGE, &q);
    if (q == NULL) {
        return rc;
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[2] = (char *) p;
    p = ngx_sprintf(p, "%i", limit);
    *p++ = '\0';
    q->values[3] = (char *) p;
    *ngx_sprintf(p, "%i", offset) = '\0';
    q->values[4] = (keep.len == 4) ? "true" : "false";

    return ngx_prefs_http_query(r, q);
}


/* the query of a route whose argument is an access token; *q NULL when the
 * answer is the returned code (a token that is not a number is 401) */

static ngx_int_t
ngx_prefs_export_token(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt, ngx_prefs_db_query_t **q)
{
    *q = NULL;

    if (ngx_prefs_api_id(&ctx->args[0]) == 0) {
        return ngx_prefs_outcome_send(r,
                   ngx_prefs_outcome_find(NGX_PREFS_OUTCOMES_EXPORT,
                                          "invalid_token"),
                   NULL, NULL, NULL);
    }

    *q = ngx_prefs_api_query(r, ctx, stmt, ngx_prefs_export_done);
    if (*q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (*q)->values[1] = (char *) ctx->args[0].data;

    return NGX_OK;
}


static void
ngx_prefs_export_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_EXPORT);
}

