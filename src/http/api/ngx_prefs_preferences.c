
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Preferences by other names than the profile id: the v4 routes by
 * alternate id (a profile's preferences, its consent history), and the v3
 * (MyPreferences 2.0) Preferences routes, whose CID is the profile's
 * alternate id of type "CID".  Each is one call of a SQL function of
 * sql/functions/preferences.sql (the consent history: consents.sql) over
 * the v4 data and its validation and event functions
 * (sql/functions/profile.sql): a preference written here is the one v4
 * reads.  Here: the path's and query string's values to JSON, outcomes to
 * HTTP answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_preferences.h"
#include "ngx_prefs_profile.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "prefs_query.h"


static char *ngx_prefs_preferences_args(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *const *names, ngx_int_t *rc);
static char *ngx_prefs_preferences_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_int_t *rc);
static void ngx_prefs_preferences_alt_found(ngx_prefs_db_query_t *q);
static void ngx_prefs_preferences_alt_written(ngx_prefs_db_query_t *q);
static void ngx_prefs_preferences_done(ngx_prefs_db_query_t *q);


/* query parameter names, matched without regard to case as ASP.NET does */

static const char *const  ngx_prefs_preferences_history_args[] = {
    "alternateIdType", "alternateId", NULL
};

static const char *const  ngx_prefs_preferences_v3_args[] = {
    "CID", "ProgramIds", "attributes", "channels", NULL
};


ngx_int_t
ngx_prefs_preferences_alt_read(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_BY_ALTERNATE_ID,
                            ngx_prefs_preferences_alt_found);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* path segments are null-terminated by the parser */
    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = (char *) ctx->args[1].data;
    q->values[3] = "false";

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_preferences_alt_write(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    text = ngx_prefs_preferences_body(r, ctx, &rc);
    if (text == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PREFS_BY_ALTERNATE_ID,
                            ngx_prefs_preferences_alt_written);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->args[0].data;
    q->values[3] = (char *) ctx->args[1].data;
    q->values[4] = text;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_preferences_history(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *args;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    args = ngx_prefs_preferences_args(r, ctx,
                                      ngx_prefs_preferences_history_args, &rc);
    if (args == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_CONSENT_HISTORY,
                            ngx_prefs_preferences_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = args;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_preferences_read(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *args;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    args = ngx_prefs_preferences_args(r, ctx, ngx_prefs_preferences_v3_args,
                                      &rc);
    if (args == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_V3_PREFS_READ,
                            ngx_prefs_preferences_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->route->data;
    q->values[2] = args;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_preferences_write(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    text = ngx_prefs_preferences_body(r, ctx, &rc);
    if (text == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_V3_PREFS_WRITE,
                            ngx_prefs_preferences_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->route->data;
    q->values[3] = ctx->nargs ? (char *) ctx->args[0].data : NULL;
    q->values[4] = text;

    return ngx_prefs_http_query(r, q);
}


/*
 * The query string as a JSON object (the ASP.NET form), the known names
 * in their canonical spelling, and the route's path values: the v3 routes
 * name them after their place (Preferences/CID/{CID}/Program: "CID").
 * NULL: answered (400) or failed, return *rc.
 */

static char *
ngx_prefs_preferences_args(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *const *names, ngx_int_t *rc)
{
    json_t       *args, *v;
    ngx_uint_t    i;
    const char   *key, *kind, *path_name;
    void         *iter;

    *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    args = ngx_prefs_api_args_copy(r, ctx);
    if (args == NULL) {
        return NULL;
    }

    /* the names the database knows, as it spells them (each is there once) */

    for (i = 0; names[i]; i++) {
        for (iter = json_object_iter(args); iter;
             iter = json_object_iter_next(args, iter))
        {
            key = json_object_iter_key(iter);

            if (ngx_strcasecmp((u_char *) key, (u_char *) names[i]) == 0
                && ngx_strcmp(key, names[i]) != 0)
            {
                v = json_incref(json_object_iter_value(iter));
                json_object_del(args, key);
                json_object_set_new(args, names[i], v);
                break;
            }
        }
    }

    kind = ctx->route->data;
    path_name = NULL;

    if (kind && ctx->nargs == 1) {
        path_name = ngx_strcmp(kind, "cid") == 0 ? "CID"
                    : ngx_strcmp(kind, "program") == 0 ? "ProgramId"
                    : "ProgramGroupId";

        json_object_set_new(args, path_name,
                            json_stringn((char *) ctx->args[0].data,
                                         ctx->args[0].len));
    }

    /* NULL: *rc is the 500 set above */
    return ngx_prefs_json_text(r->pool, args);
}


/* a JSON body, parsed strictly (duplicate keys, UTF-8); the text goes on */

static char *
ngx_prefs_preferences_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_int_t *rc)
{
    json_t  *body;

    *rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return NULL;
    }

    return (char *) ctx->body.data;
}


static void
ngx_prefs_preferences_alt_found(ngx_prefs_db_query_t *q)
{
    json_t              *profile;
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_api_sql_error(r, q));
        return;
    }

    if (PQntuples(q->res) != 1
        || ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_BODY))
    {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                 "No such profile in this account"));
        return;
    }

    profile = ngx_prefs_api_column_json(r, q, NGX_PREFS_COL_BODY);

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
                                  ngx_prefs_profile_prefs_view(profile));

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_preferences_alt_written(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    const char                 *id;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_PREFS_ALTERNATE,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        id = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_PROFILE_ID);
        rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
                 json_pack("{s:I}", "ProfileId",
                           (json_int_t) ngx_atoof((u_char *) id,
                                                  ngx_strlen(id))));
    }

    ngx_prefs_http_finalize(r, rc);
}


/* outcome and body: ok (body: the answer), or a refusal (body: why) */

static void
ngx_prefs_preferences_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_PREFS);
}
