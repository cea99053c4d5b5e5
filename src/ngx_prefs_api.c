
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The API locations ("prefs_api v4", "v3", "v3_async", "oauth"): every
 * route starts with the account's clientId, which is resolved first, so an
 * unknown account is 404 before anything else is looked at.  The routes of
 * each API are added by the issues that build them; until then a known
 * account answers 404 naming the route it does not have.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_prefs_module.h"
#include "ngx_prefs_http.h"
#include "prefs_path.h"


typedef struct {
    prefs_path_t               path;
    ngx_uint_t                 first;        /* first segment after prefix */
    ngx_str_t                  client_id;
} ngx_prefs_api_ctx_t;


static const char *ngx_prefs_api_parse_path(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static void ngx_prefs_api_account_done(ngx_prefs_db_query_t *q);


ngx_int_t
ngx_prefs_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    const char                 *err;
    ngx_prefs_api_ctx_t        *ctx;
    ngx_prefs_db_query_t       *q;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);

    err = ngx_prefs_api_parse_path(r, ctx);
    if (err) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request path is invalid: %s", err);
    }

    if (ctx->path.n <= ctx->first) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "The route needs a clientId");
    }

    ctx->client_id.data = (u_char *) ctx->path.seg[ctx->first].data;
    ctx->client_id.len = ctx->path.seg[ctx->first].len;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    q = ngx_prefs_db_query_create(r->pool, plcf->pool,
                                  NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[0] = (char *) ctx->client_id.data;
    q->lengths[0] = (int) ctx->client_id.len;
    q->handler = ngx_prefs_api_account_done;

    return ngx_prefs_http_query(r, q);
}


/*
 * nginx has already decoded r->uri, leniently, merging slashes and dot
 * segments; the raw path is decoded here strictly instead, and the
 * location's own segments are skipped.  After a rewrite the raw path is
 * not the request's any more: r->uri is taken as it is.
 */

static const char *
ngx_prefs_api_parse_path(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    int                        rc;
    char                      *buf;
    size_t                     len;
    u_char                    *p, *end;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (r->valid_unparsed_uri) {
        p = r->unparsed_uri.data;
        end = ngx_strlchr(p, p + r->unparsed_uri.len, '?');
        if (end == NULL) {
            end = p + r->unparsed_uri.len;
        }

    } else {
        p = r->uri.data;
        end = p + r->uri.len;
    }

    if (p == end || *p != '/') {
        return "it does not start with \"/\"";
    }

    len = end - p;

    buf = ngx_pnalloc(r->pool, len + PREFS_PATH_MAX_SEGMENTS);
    if (buf == NULL) {
        return "out of memory";
    }

    rc = r->valid_unparsed_uri
         ? prefs_path_split((char *) p, len, buf, &ctx->path)
         : prefs_path_split_decoded((char *) p, len, buf, &ctx->path);

    if (rc != PREFS_PATH_OK) {
        return prefs_path_strerror(rc);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->first = 0;

    for (i = 0; i < clcf->name.len; i++) {
        if (clcf->name.data[i] != '/'
            && (i == 0 || clcf->name.data[i - 1] == '/'))
        {
            ctx->first++;
        }
    }

    return NULL;
}


static void
ngx_prefs_api_account_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t             rc;
    ngx_http_request_t   *r = q->data;
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    if (PQntuples(q->res) == 0) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                  "No account has the clientId \"%V\"",
                                  &ctx->client_id);
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                              "No such route: %V %V",
                              &r->method_name, &r->uri);

    ngx_prefs_http_finalize(r, rc);
}
