
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * User management (UserManage): POST/GET Users, GET/PUT/DELETE
 * Users/{userId}, GET UserGroups, with the fields of MyPreferences' own.
 * Bodies are checked field by field here; the database renders answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_users.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "ngx_prefs_idem.h"
#include "prefs_json.h"


#define NGX_PREFS_USERS_MSG  256


static ngx_int_t ngx_prefs_users_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, int mode, char **text);
static ngx_int_t ngx_prefs_users_user_id(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, char **id);
static void ngx_prefs_users_json_done(ngx_prefs_db_query_t *q);
static void ngx_prefs_users_created(ngx_prefs_db_query_t *q);
static void ngx_prefs_users_updated(ngx_prefs_db_query_t *q);
static void ngx_prefs_users_deleted(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_users_write_error(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);


static const char *const  ngx_prefs_users_pages[] = {
    "Dashboard", "ProfileSearch", "DataExport", NULL
};


/* the characters PNAUTHINFO3 cannot carry in a user name */
#define NGX_PREFS_USER_NAME_EXCLUDED  "/ ,\t"


static const prefs_json_field_t  ngx_prefs_users_fields[] = {
    { "UserId", PREFS_JT_INTEGER, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { "UserName", PREFS_JT_STRING, 1, 128, NULL,
      NGX_PREFS_USER_NAME_EXCLUDED, 1, 0, 0, 0, 0 },
    { "FirstName", PREFS_JT_STRING, 0, 100, NULL, NULL, 0, 0, 1, 0, 0 },
    { "LastName", PREFS_JT_STRING, 0, 100, NULL, NULL, 0, 0, 1, 0, 0 },
    { "Email", PREFS_JT_STRING, 0, 254, NULL, NULL, 0, 0, 1, 0, 0 },
    { "Phone", PREFS_JT_STRING, 0, 40, NULL, NULL, 0, 0, 1, 0, 0 },
    { "Description", PREFS_JT_STRING, 0, 1000, NULL, NULL, 0, 0, 1, 0, 0 },
    { "UserGroups", PREFS_JT_STRING_ARRAY, 0, 20, NULL, NULL, 0, 0, 0, 0,
      100 },
    { "SourceGroupID", PREFS_JT_INTEGER, 0, 9007199254740991LL, NULL, NULL,
      0, 0, 1, 0, 0 },
    { "DefaultLandingPage", PREFS_JT_STRING, 1, 20, ngx_prefs_users_pages,
      NULL, 0, 0, 0, 0, 0 },
    { "DefaultLandingPageTypeNbr", PREFS_JT_INTEGER, 1, 3, NULL, NULL,
      0, 0, 0, 0, 0 },
    { "IsSSO", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 1, 0 },
    { "IsActive", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 },
    { "CreatedDate", PREFS_JT_STRING, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { "UpdatedDate", PREFS_JT_STRING, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }
};


ngx_int_t
ngx_prefs_users_list(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    ngx_int_t              limit, offset;
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

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_USERS_LIST,
                            ngx_prefs_users_json_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) p;
    p = ngx_sprintf(p, "%i", limit);
    *p++ = '\0';
    q->values[2] = (char *) p;
    *ngx_sprintf(p, "%i", offset - 1) = '\0';

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_users_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_users_user_id(r, ctx, &id);
    if (id == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_USER_GET,
                            ngx_prefs_users_json_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_users_groups(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_GROUPS_LIST,
                            ngx_prefs_users_json_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_users_create(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_users_body(r, ctx, PREFS_JSON_CREATE, &text);
    if (text == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_USER_CREATE,
                            ngx_prefs_users_created);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = text;

    rc = ngx_prefs_idem_apply(r, ctx, NGX_PREFS_STMT_USER_CREATE_KEYED, &q);
    if (q == NULL) {
        return rc;
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_users_update(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id, *text;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_users_user_id(r, ctx, &id);
    if (id == NULL) {
        return rc;
    }

    rc = ngx_prefs_users_body(r, ctx, PREFS_JSON_UPDATE, &text);
    if (text == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_USER_UPDATE,
                            ngx_prefs_users_updated);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;
    q->values[2] = text;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_users_delete(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_users_user_id(r, ctx, &id);
    if (id == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_USER_DEACTIVATE,
                            ngx_prefs_users_deleted);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;

    return ngx_prefs_http_query(r, q);
}


/* *id is NULL when the answer is the returned code */

static ngx_int_t
ngx_prefs_users_user_id(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    char **id)
{
    int64_t  n;

    *id = NULL;

    n = ngx_prefs_api_id(&ctx->args[0]);

    if (n == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No user has the id \"%V\"",
                                    &ctx->args[0]);
    }

    *id = (char *) ctx->args[0].data;

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_users_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    int mode, char **text)
{
    char       msg[NGX_PREFS_USERS_MSG];
    json_t    *body, *valid;
    ngx_int_t  rc;

    *text = NULL;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (prefs_json_validate(body, ngx_prefs_users_fields, mode, &valid, msg,
                            sizeof(msg))
        != 0)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", msg);
    }

    valid = ngx_prefs_json_own(r->pool, valid);

    *text = valid ? ngx_prefs_json_text(r->pool, valid) : NULL;

    return *text ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static void
ngx_prefs_users_json_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_api_send_row(q, "No such user in this account");
}


static void
ngx_prefs_users_created(ngx_prefs_db_query_t *q)
{
    json_t                     *body;
    ngx_int_t                   rc;
    const char                 *id;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_users_write_error(r, q));
        return;
    }

    rc = ngx_prefs_idem_check(r, q);
    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    o = ngx_prefs_outcome_of(q, NGX_PREFS_OUTCOMES_USER_CREATE);
    id = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_USER_ID);

    if (o->status >= NGX_HTTP_BAD_REQUEST) {
        ngx_prefs_http_finalize(r, ngx_prefs_outcome_answer(r, o, q,
                                                    NGX_PREFS_COL_NONE));
        return;
    }

    /* Location: the new user under the same route */

    if (ngx_prefs_http_location(r, &r->uri, "", (u_char *) id,
                                ngx_strlen(id))
        != NGX_OK)
    {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    body = json_pack("{s:I,s:s}",
                     "UserId", (json_int_t) ngx_atoof((u_char *) id,
                                                      ngx_strlen(id)),
                     "SubmittedTime",
                     ngx_prefs_db_value(q, 0, NGX_PREFS_COL_SUBMITTED));

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_CREATED, body);

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_users_updated(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_users_write_error(r, q));
        return;
    }

    o = ngx_prefs_outcome_of(q, NGX_PREFS_OUTCOMES_USER_UPDATE);

    if (o->status >= NGX_HTTP_BAD_REQUEST) {
        rc = ngx_prefs_outcome_answer(r, o, q, NGX_PREFS_COL_NONE);

    } else {
        rc = ngx_prefs_api_send_column(r, NGX_HTTP_OK, q, NGX_PREFS_COL_BODY);
    }

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_users_deleted(ngx_prefs_db_query_t *q)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (PQntuples(q->res) == 0) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                  "No such user in this account");

    } else {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_NO_CONTENT, "", 0);
    }

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_users_write_error(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    if (q->status == NGX_PREFS_DB_SQL_ERROR
        && ngx_strcmp(q->sqlstate, "P0002") == 0)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "UserGroups: no group is named \"%s\"",
                                    PQresultErrorField(q->res,
                                                    PG_DIAG_MESSAGE_DETAIL));
    }

    return ngx_prefs_api_sql_error(r, q);
}
