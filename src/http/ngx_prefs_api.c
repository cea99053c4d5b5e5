
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * What every API handler shares: the request context the router fills,
 * the JSON body, numeric path arguments, the query scoped to the caller's
 * account, and the answers made from a query's outcome.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_api.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "prefs_query.h"


static ngx_str_t  ngx_prefs_api_json_type = ngx_string("application/json");
static ngx_str_t  ngx_prefs_api_patch_type =
    ngx_string("application/json-patch+json");


ngx_int_t
ngx_prefs_api_json_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    json_t **body)
{
    ngx_str_t     *type;
    json_t        *j;
    json_error_t   err;

    *body = NULL;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type == NULL
        || !((type->len >= ngx_prefs_api_json_type.len
              && ngx_strncasecmp(type->data, ngx_prefs_api_json_type.data,
                                 ngx_prefs_api_json_type.len) == 0
              && (type->len == ngx_prefs_api_json_type.len
                  || type->data[ngx_prefs_api_json_type.len] == ';'))
             || (r->method == NGX_HTTP_PATCH
                 && type->len >= ngx_prefs_api_patch_type.len
                 && ngx_strncasecmp(type->data,
                                    ngx_prefs_api_patch_type.data,
                                    ngx_prefs_api_patch_type.len) == 0)))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "The body must be application/json");
    }

    if (ctx->body.len == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request needs a JSON body");
    }

    j = json_loadb((char *) ctx->body.data, ctx->body.len,
                   JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body is not valid JSON: %s "
                                    "(line %d, column %d)",
                                    err.text, err.line, err.column);
    }

    *body = ngx_prefs_json_own(r->pool, j);

    return *body ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_prefs_api_no_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    json_t     *body;
    ngx_int_t   rc;

    if (ctx->body.len == 0) {
        return NGX_DECLINED;
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (!json_is_object(body) || json_object_size(body) != 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request takes no body (or {})");
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_prefs_api_arg(ngx_prefs_api_ctx_t *ctx, const char *name,
    ngx_str_t *value)
{
    json_t  *v;

    v = prefs_query_get(ctx->query, name);

    if (v == NULL) {
        return NGX_DECLINED;
    }

    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    value->data = (u_char *) json_string_value(v);
    value->len = json_string_length(v);

    return NGX_OK;
}


ngx_int_t
ngx_prefs_api_int_arg(ngx_prefs_api_ctx_t *ctx, const char *name,
    ngx_int_t min, ngx_int_t max, ngx_int_t def, ngx_int_t *value)
{
    ngx_int_t  n, rc;
    ngx_str_t  v;

    rc = ngx_prefs_api_arg(ctx, name, &v);

    if (rc == NGX_DECLINED) {
        *value = def;
        return NGX_OK;
    }

    n = (rc == NGX_OK) ? ngx_atoi(v.data, v.len) : NGX_ERROR;

    if (n == NGX_ERROR || n < min || n > max) {
        return NGX_DECLINED;
    }

    *value = n;

    return NGX_OK;
}


json_t *
ngx_prefs_api_args_copy(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_json_own(r->pool, json_deep_copy(ctx->query));
}


int64_t
ngx_prefs_api_id(ngx_str_t *arg)
{
    int64_t     v;
    ngx_uint_t  i;

    if (arg->len == 0 || arg->len > 18 || arg->data[0] == '0') {
        return 0;
    }

    v = 0;

    for (i = 0; i < arg->len; i++) {
        if (arg->data[i] < '0' || arg->data[i] > '9') {
            return 0;
        }

        v = v * 10 + (arg->data[i] - '0');
    }

    return v;
}


/* errors the database raises on purpose, or bad values that got through */

ngx_int_t
ngx_prefs_api_sql_error(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    if (q->status == NGX_PREFS_DB_SQL_ERROR
        && (ngx_strncmp(q->sqlstate, "22", 2) == 0
            || ngx_strncmp(q->sqlstate, "23", 2) == 0))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "A value is invalid: %s",
                                    PQresultErrorField(q->res,
                                                    PG_DIAG_MESSAGE_PRIMARY));
    }

    return ngx_prefs_http_db_error(r, q);
}


void
ngx_prefs_api_send_row(ngx_prefs_db_query_t *q, const char *not_found)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (PQntuples(q->res) != 1
               || ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_BODY))
    {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND, "%s", not_found);

    } else {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_OK,
                             ngx_prefs_db_value(q, 0, NGX_PREFS_COL_BODY),
                             ngx_prefs_db_length(q, 0, NGX_PREFS_COL_BODY));
    }

    ngx_prefs_http_finalize(r, rc);
}


ngx_int_t
ngx_prefs_api_send_column(ngx_http_request_t *r, ngx_uint_t status,
    ngx_prefs_db_query_t *q, ngx_prefs_col_e col)
{
    return ngx_prefs_http_send_text(r, status, ngx_prefs_db_value(q, 0, col),
                                    ngx_prefs_db_length(q, 0, col));
}


json_t *
ngx_prefs_api_column_json(ngx_http_request_t *r, ngx_prefs_db_query_t *q,
    ngx_prefs_col_e col)
{
    return ngx_prefs_json_own(r->pool,
                               json_loadb(ngx_prefs_db_value(q, 0, col),
                                          ngx_prefs_db_length(q, 0, col),
                                          0, NULL));
}


ngx_prefs_db_query_t *
ngx_prefs_api_query(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt, ngx_prefs_db_handler_pt handler)
{
    ngx_prefs_db_query_t       *q;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    q = ngx_prefs_db_query_create(r->pool, plcf->pool, stmt,
                                  r->connection->log);
    if (q == NULL) {
        return NULL;
    }

    /* every statement of the API is scoped to the caller's account */
    q->values[0] = ctx->account_text;
    q->handler = handler;

    q->standby_ok = (ctx->route
                     && (ctx->route->apis & NGX_PREFS_API_READ_REPLICA));

    return q;
}
