
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The Webhooks API (WebhookManage): subscriptions and the account's
 * settings.  A body is checked here (src/lib/prefs_whsub.c) and handed
 * normalized to one SQL function (sql/functions/webhooks.sql) that checks it
 * against the configuration, applies the one-Url-one-event rule and
 * writes.  The signing secret is made here, sealed with prefs_secret_key
 * before it reaches the database, and answered once; the plain text lives
 * only in the request's pool and is wiped with it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_webhooks.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "prefs_hmac.h"
#include "prefs_json.h"
#include "prefs_seal.h"
#include "prefs_whsig.h"
#include "prefs_whsub.h"


#define NGX_PREFS_WEBHOOKS_MSG  512


typedef struct {
    char                       plain[PREFS_WHSIG_SECRET_LEN + 1];
    char                      *sealed;
} ngx_prefs_webhooks_secret_t;


static ngx_flag_t ngx_prefs_webhooks_allow_http(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_webhooks_check_address(ngx_http_request_t *r,
    json_t *valid, char *msg, size_t size);
static ngx_int_t ngx_prefs_webhooks_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, int mode, char **text);
static char *ngx_prefs_webhooks_path_id(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static ngx_prefs_webhooks_secret_t *ngx_prefs_webhooks_secret_new(
    ngx_http_request_t *r);
static ngx_prefs_webhooks_secret_t *ngx_prefs_webhooks_secret_find(
    ngx_http_request_t *r);
static void ngx_prefs_webhooks_secret_wipe(void *data);
static char *ngx_prefs_webhooks_code(ngx_http_request_t *r);
static void ngx_prefs_webhooks_listed(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhooks_written(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhooks_deleted(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhooks_rotated(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhooks_settings_done(ngx_prefs_db_query_t *q);


/*
 * prefs_webhook_allow_http lets subscriptions name plain-http URLs; the
 * delivery side reads the same switch.
 */

static ngx_flag_t
ngx_prefs_webhooks_allow_http(ngx_http_request_t *r)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    return pmcf->webhook.allow_http == 1;
}


/* GET Webhooks/Subscriptions[?subscriptionId=], .../Subscriptions/{id} */

ngx_int_t
ngx_prefs_webhooks_list(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id;
    ngx_str_t              v;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    id = NULL;

    if (ctx->nargs == 1) {
        id = ngx_prefs_webhooks_path_id(r, ctx);
        if (id == NULL) {
            return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                        "No subscription has the id \"%V\"",
                                        &ctx->args[0]);
        }

    } else if ((rc = ngx_prefs_api_arg(ctx, "subscriptionId", &v))
               != NGX_DECLINED)
    {
        if (rc != NGX_OK || ngx_prefs_api_id(&v) == 0) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "subscriptionId must be a positive "
                                        "integer");
        }

        id = ngx_pnalloc(r->pool, v.len + 1);
        if (id == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_cpymem(id, v.data, v.len) = '\0';
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_LIST,
                            ngx_prefs_webhooks_listed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_webhooks_create(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                         *text, *code;
    ngx_int_t                     rc;
    ngx_prefs_db_query_t         *q;
    ngx_prefs_webhooks_secret_t  *secret;

    rc = ngx_prefs_webhooks_body(r, ctx, PREFS_JSON_CREATE, &text);
    if (text == NULL) {
        return rc;
    }

    secret = ngx_prefs_webhooks_secret_new(r);
    code = ngx_prefs_webhooks_code(r);

    if (secret == NULL || code == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_WRITE,
                            ngx_prefs_webhooks_written);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = NULL;
    q->values[3] = text;
    q->values[4] = secret->sealed;
    q->values[5] = code;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_webhooks_update(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id, *text, *code;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    id = ngx_prefs_webhooks_path_id(r, ctx);
    if (id == NULL) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No subscription has the id \"%V\"",
                                    &ctx->args[0]);
    }

    rc = ngx_prefs_webhooks_body(r, ctx, PREFS_JSON_UPDATE, &text);
    if (text == NULL) {
        return rc;
    }

    /* used only if the Url changes */
    code = ngx_prefs_webhooks_code(r);
    if (code == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_WRITE,
                            ngx_prefs_webhooks_written);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = id;
    q->values[3] = text;
    q->values[4] = NULL;
    q->values[5] = code;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_webhooks_delete(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *id;
    ngx_prefs_db_query_t  *q;

    id = ngx_prefs_webhooks_path_id(r, ctx);
    if (id == NULL) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No subscription has the id \"%V\"",
                                    &ctx->args[0]);
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_DELETE,
                            ngx_prefs_webhooks_deleted);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;

    return ngx_prefs_http_query(r, q);
}


/* POST Webhooks/Subscriptions/{id}/Secret: no body, or an empty object */

ngx_int_t
ngx_prefs_webhooks_rotate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                         *id;
    ngx_int_t                     rc;
    ngx_prefs_db_query_t         *q;
    ngx_prefs_webhooks_secret_t  *secret;

    id = ngx_prefs_webhooks_path_id(r, ctx);
    if (id == NULL) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No subscription has the id \"%V\"",
                                    &ctx->args[0]);
    }

    rc = ngx_prefs_api_no_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    secret = ngx_prefs_webhooks_secret_new(r);
    if (secret == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_ROTATE,
                            ngx_prefs_webhooks_rotated);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = id;
    q->values[3] = secret->sealed;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_webhooks_settings_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_SETTINGS_GET,
                            ngx_prefs_webhooks_settings_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_webhooks_settings_put(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    json_t                *body, *valid, *v;
    ngx_int_t              rc;
    ngx_uint_t             i;
    ngx_prefs_db_query_t  *q;
    char                   msg[NGX_PREFS_WEBHOOKS_MSG];

    static const char     *names[] = { "MaxConcurrentRequests", "Duration" };

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (prefs_whsub_settings(body, &valid, msg, sizeof(msg)) != 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", msg);
    }

    valid = ngx_prefs_json_own(r->pool, valid);

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_SETTINGS_PUT,
                            ngx_prefs_webhooks_settings_done);
    if (valid == NULL || q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;

    for (i = 0; i < 2; i++) {
        v = json_object_get(valid, names[i]);

        if (v == NULL) {
            q->values[2 + i] = NULL;
            continue;
        }

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_sprintf(p, "%L", (int64_t) json_integer_value(v)) = '\0';
        q->values[2 + i] = (char *) p;
    }

    return ngx_prefs_http_query(r, q);
}


static ngx_int_t
ngx_prefs_webhooks_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    int mode, char **text)
{
    char       msg[NGX_PREFS_WEBHOOKS_MSG];
    json_t    *body, *valid;
    ngx_int_t  rc;

    *text = NULL;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (prefs_whsub_validate(body, mode, ngx_prefs_webhooks_allow_http(r),
                             &valid, msg, sizeof(msg))
        != 0)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", msg);
    }

    valid = ngx_prefs_json_own(r->pool, valid);

    /* an address the client's policy refuses is refused here, at once */

    if (valid && ngx_prefs_webhooks_check_address(r, valid, msg, sizeof(msg))
                 != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", msg);
    }

    *text = valid ? ngx_prefs_json_text(r->pool, valid) : NULL;

    return *text ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * The Url's host against the delivery client's address policy
 * (prefs_webhook_allow_network): the same judge as at delivery, for hosts
 * that are addresses; names are judged at delivery, once resolved.
 */

static ngx_int_t
ngx_prefs_webhooks_check_address(ngx_http_request_t *r, json_t *valid,
    char *msg, size_t size)
{
    json_t                      *url;
    ngx_array_t                 *allow;
    ngx_http_prefs_main_conf_t  *pmcf;

    url = json_object_get(valid, "Url");

    if (!json_is_string(url)) {
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);
    allow = pmcf->webhook.allow;

    if (prefs_whsub_check_address(json_string_value(url),
                                  json_string_length(url),
                                  allow ? allow->elts : NULL,
                                  allow ? allow->nelts : 0, msg, size)
        != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the path's subscription id, null-terminated by the path parser */

static char *
ngx_prefs_webhooks_path_id(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_api_id(&ctx->args[0]) > 0 ? (char *) ctx->args[0].data
                                                : NULL;
}


/*
 * A new secret and its sealed form.  The plain text stays in the request
 * pool until the answer has been made, and a cleanup wipes it.
 */

static ngx_prefs_webhooks_secret_t *
ngx_prefs_webhooks_secret_new(ngx_http_request_t *r)
{
    size_t                        size;
    ngx_pool_cleanup_t           *cln;
    ngx_prefs_webhooks_secret_t  *s;
    ngx_http_prefs_main_conf_t   *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_prefs_webhooks_secret_t));
    if (cln == NULL) {
        return NULL;
    }

    s = cln->data;
    ngx_memzero(s, sizeof(ngx_prefs_webhooks_secret_t));
    cln->handler = ngx_prefs_webhooks_secret_wipe;

    size = PREFS_SECRET_B64_SIZE(PREFS_WHSIG_SECRET_LEN);

    s->sealed = ngx_pnalloc(r->pool, size);
    if (s->sealed == NULL) {
        return NULL;
    }

    if (prefs_whsig_secret_generate(s->plain, sizeof(s->plain))
        != PREFS_WHSIG_OK
        || prefs_seal_secret(pmcf->auth.secret_key, (u_char *) s->plain,
                             PREFS_WHSIG_SECRET_LEN, s->sealed, size)
           != PREFS_AUTH_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "prefs webhooks: cannot make a signing secret");
        return NULL;
    }

    return s;
}


static ngx_prefs_webhooks_secret_t *
ngx_prefs_webhooks_secret_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *c;

    for (c = r->pool->cleanup; c; c = c->next) {
        if (c->handler == ngx_prefs_webhooks_secret_wipe) {
            return c->data;
        }
    }

    return NULL;
}


static void
ngx_prefs_webhooks_secret_wipe(void *data)
{
    ngx_prefs_webhooks_secret_t  *s = data;

    prefs_hmac_wipe(s->plain, sizeof(s->plain));
}


/* the handshake's code: 32 random bytes, base64url */

static char *
ngx_prefs_webhooks_code(ngx_http_request_t *r)
{
    char  *code;

    code = ngx_pnalloc(r->pool, 64);
    if (code == NULL) {
        return NULL;
    }

    if (prefs_hmac_random_token(code, 64, 32) != PREFS_AUTH_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "prefs webhooks: cannot make a validation code");
        return NULL;
    }

    return code;
}


static void
ngx_prefs_webhooks_listed(ngx_prefs_db_query_t *q)
{
    json_t               *list;
    ngx_int_t             rc;
    ngx_http_request_t   *r = q->data;
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_api_sql_error(r, q));
        return;
    }

    if (q->values[1]
        && ngx_strcmp(ngx_prefs_db_value(q, 0, NGX_PREFS_COL_TOTAL), "0") == 0)
    {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                 "No such subscription in this account"));
        return;
    }

    if (ctx->nargs == 0) {
        rc = ngx_prefs_api_send_column(r, NGX_HTTP_OK, q, NGX_PREFS_COL_BODY);
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    /* GET .../Subscriptions/{id}: the one object */

    list = ngx_prefs_api_column_json(r, q, NGX_PREFS_COL_BODY);

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
                                  json_incref(json_array_get(list, 0)));

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_webhooks_written(ngx_prefs_db_query_t *q)
{
    json_t                       *body;
    ngx_int_t                     rc;
    const char                   *id;
    ngx_http_request_t           *r = q->data;
    const ngx_prefs_outcome_t    *o;
    ngx_prefs_webhooks_secret_t  *secret;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_WEBHOOK_WRITE,
                                   NGX_PREFS_COL_MESSAGE, &o);
    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    id = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_SUBSCRIPTION_ID);

    if (o->status == NGX_HTTP_NO_CONTENT) {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_NO_CONTENT, "", 0);

    } else if (o->status == NGX_HTTP_OK) {
        rc = ngx_prefs_api_send_column(r, NGX_HTTP_OK, q, NGX_PREFS_COL_BODY);

    } else {
        secret = ngx_prefs_webhooks_secret_find(r);
        body = ngx_prefs_api_column_json(r, q, NGX_PREFS_COL_BODY);

        if (secret == NULL || !json_is_object(body)
            || json_object_set_new(body, "Secret", json_string(secret->plain))
               != 0
            || ngx_prefs_http_location(r, &r->uri, "", (u_char *) id,
                                       ngx_strlen(id))
               != NGX_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            rc = ngx_prefs_http_send_json(r, NGX_HTTP_CREATED,
                                          json_incref(body));
        }
    }

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_webhooks_deleted(ngx_prefs_db_query_t *q)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_DELETED)) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                  "No such subscription in this account");

    } else {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_NO_CONTENT, "", 0);
    }

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_webhooks_rotated(ngx_prefs_db_query_t *q)
{
    ngx_int_t                     rc;
    ngx_http_request_t           *r = q->data;
    ngx_prefs_webhooks_secret_t  *secret;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_SUBSCRIPTION_ID)) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                  "No such subscription in this account");

    } else {
        secret = ngx_prefs_webhooks_secret_find(r);

        rc = secret == NULL
             ? NGX_HTTP_INTERNAL_SERVER_ERROR
             : ngx_prefs_http_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:I,s:s,s:s}",
                             "Id", (json_int_t) ngx_prefs_db_number(q, 0,
                                               NGX_PREFS_COL_SUBSCRIPTION_ID),
                             "Secret", secret->plain,
                             "PreviousSecretExpires",
                             ngx_prefs_db_value(q, 0,
                                             NGX_PREFS_COL_PREVIOUS_UNTIL)));
    }

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_webhooks_settings_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else {
        rc = ngx_prefs_api_send_column(r, NGX_HTTP_OK, q, NGX_PREFS_COL_BODY);
    }

    ngx_prefs_http_finalize(r, rc);
}
