
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * "prefs_api oauth": POST /oauth/token, the client credentials grant of
 * RFC 6749 §4.4.  The client authenticates with HTTP Basic or with
 * client_id and client_secret in the form (not both, §2.3.1); scope is
 * "<ClientId>/<UserName>".  The token is 256 random bits, given to the
 * client once and stored as its SHA-256 hash.  Errors are those of §5.2.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_outcome.h"
#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_b64.h"
#include "prefs_path.h"


#define NGX_PREFS_OAUTH_MAX_BODY  8192
#define NGX_PREFS_OAUTH_TOKEN     32


typedef struct {
    ngx_str_t                  grant_type;
    ngx_str_t                  client_id;
    ngx_str_t                  client_secret;
    ngx_str_t                  scope;
    ngx_str_t                  fail_key;
    ngx_flag_t                 basic;
    char                       token[64];
    char                       token_hash[65];
    char                       secret_hash[65];
    char                       ttl[NGX_INT_T_LEN + 1];
} ngx_prefs_oauth_ctx_t;


static void ngx_prefs_oauth_body(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_oauth_request(ngx_http_request_t *r,
    ngx_prefs_oauth_ctx_t *ctx);
static ngx_int_t ngx_prefs_oauth_form(ngx_http_request_t *r,
    ngx_prefs_oauth_ctx_t *ctx, u_char *p, size_t len);
static ngx_int_t ngx_prefs_oauth_basic(ngx_http_request_t *r,
    ngx_prefs_oauth_ctx_t *ctx);
static void ngx_prefs_oauth_issued(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_oauth_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *description);
static ngx_int_t ngx_prefs_oauth_no_store(ngx_http_request_t *r);


static ngx_str_t  ngx_prefs_oauth_form_type =
    ngx_string("application/x-www-form-urlencoded");


ngx_int_t
ngx_prefs_oauth_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_str_t              *type;
    ngx_prefs_oauth_ctx_t  *ctx;

    if (r->method != NGX_HTTP_POST) {
        (void) ngx_http_discard_request_body(r);

        if (ngx_prefs_http_header(r, "Allow", "POST", 0) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_prefs_oauth_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "invalid_request",
                                     "The token endpoint takes POST");
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    /* the type itself, and parameters (";charset=...") at most */

    if (type == NULL || type->len < ngx_prefs_oauth_form_type.len
        || ngx_strncasecmp(type->data, ngx_prefs_oauth_form_type.data,
                           ngx_prefs_oauth_form_type.len) != 0
        || (type->len > ngx_prefs_oauth_form_type.len
            && type->data[ngx_prefs_oauth_form_type.len] != ';'
            && type->data[ngx_prefs_oauth_form_type.len] != ' '))
    {
        (void) ngx_http_discard_request_body(r);
        return ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "The body must be "
                                     "application/x-www-form-urlencoded");
    }

    if (r->headers_in.content_length_n > NGX_PREFS_OAUTH_MAX_BODY) {
        r->keepalive = 0;
        return ngx_prefs_oauth_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "invalid_request", "The body is too "
                                     "large");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_oauth_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_prefs_oauth_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_prefs_oauth_body(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_str_t               body;
    ngx_prefs_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    rc = ngx_prefs_http_read_body(r, NGX_PREFS_OAUTH_MAX_BODY, &body);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_prefs_oauth_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "invalid_request", "The body is too large"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_prefs_oauth_form(r, ctx, body.data, body.len) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST, "invalid_request",
                                  "The form is malformed or repeats a "
                                  "parameter"));
        return;
    }

    ngx_http_finalize_request(r, ngx_prefs_oauth_request(r, ctx));
}


/* form fields, strictly decoded; a repeated one is refused (RFC 6749 §3.2) */

static ngx_int_t
ngx_prefs_oauth_form(ngx_http_request_t *r, ngx_prefs_oauth_ctx_t *ctx,
    u_char *p, size_t len)
{
    long        n;
    u_char     *end, *amp, *eq, *v;
    size_t      klen;
    ngx_str_t  *field;

    end = p + len;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            return NGX_ERROR;
        }

        klen = eq - p;

#define ngx_prefs_oauth_is(name)                                              \
        (klen == sizeof(name) - 1 && ngx_strncmp(p, name, klen) == 0)

        if (ngx_prefs_oauth_is("grant_type")) {
            field = &ctx->grant_type;

        } else if (ngx_prefs_oauth_is("client_id")) {
            field = &ctx->client_id;

        } else if (ngx_prefs_oauth_is("client_secret")) {
            field = &ctx->client_secret;

        } else if (ngx_prefs_oauth_is("scope")) {
            field = &ctx->scope;

        } else {
            field = NULL;
        }

#undef ngx_prefs_oauth_is

        if (field) {
            if (field->data) {
                return NGX_ERROR;
            }

            v = ngx_pnalloc(r->pool, amp - eq);
            if (v == NULL) {
                return NGX_ERROR;
            }

            n = prefs_path_percent_decode((char *) eq + 1, amp - eq - 1,
                                          (char *) v, 1);
            if (n < 0) {
                return NGX_ERROR;
            }

            field->data = v;
            field->len = (size_t) n;
        }

        p = amp + 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_oauth_basic(ngx_http_request_t *r, ngx_prefs_oauth_ctx_t *ctx)
{
    long        n;
    size_t      dlen;
    u_char     *decoded, *colon, *id, *secret;
    ngx_str_t  *h;

    h = &r->headers_in.authorization->value;

    if (h->len < sizeof("Basic ") - 1
        || ngx_strncasecmp(h->data, (u_char *) "Basic ", 6) != 0)
    {
        return NGX_DECLINED;
    }

    decoded = ngx_pnalloc(r->pool, h->len);
    if (decoded == NULL) {
        return NGX_ERROR;
    }

    n = prefs_b64_decode((char *) h->data + 6, h->len - 6, decoded, h->len,
                         PREFS_B64_STD);
    if (n <= 0) {
        return NGX_DECLINED;
    }

    colon = ngx_strlchr(decoded, decoded + n, ':');
    if (colon == NULL) {
        return NGX_DECLINED;
    }

    /* §2.3.1: both halves are form-encoded before they are joined */

    dlen = (size_t) n;

    id = ngx_pnalloc(r->pool, dlen + 1);
    secret = ngx_pnalloc(r->pool, dlen + 1);
    if (id == NULL || secret == NULL) {
        return NGX_ERROR;
    }

    n = prefs_path_percent_decode((char *) decoded, colon - decoded,
                                  (char *) id, 1);
    if (n < 0) {
        return NGX_DECLINED;
    }

    ctx->client_id.data = id;
    ctx->client_id.len = (size_t) n;

    n = prefs_path_percent_decode((char *) colon + 1,
                                  decoded + dlen - colon - 1,
                                  (char *) secret, 1);
    if (n < 0) {
        return NGX_DECLINED;
    }

    ctx->client_secret.data = secret;
    ctx->client_secret.len = (size_t) n;

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_oauth_request(ngx_http_request_t *r, ngx_prefs_oauth_ctx_t *ctx)
{
    u_char                      *slash, *p;
    time_t                       wait;
    ngx_int_t                    rc;
    ngx_str_t                    form_id, form_secret;
    ngx_prefs_db_query_t        *q;
    ngx_http_prefs_loc_conf_t   *plcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    form_id = ctx->client_id;
    form_secret = ctx->client_secret;

    if (r->headers_in.authorization) {
        if (form_id.data || form_secret.data) {
            return ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request",
                                         "Client credentials are given "
                                         "twice");
        }

        rc = ngx_prefs_oauth_basic(r, ctx);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_prefs_oauth_error(r, NGX_HTTP_UNAUTHORIZED,
                                         "invalid_client",
                                         "The Authorization header is not "
                                         "HTTP Basic credentials");
        }

        ctx->basic = 1;
    }

    if (ctx->grant_type.data == NULL) {
        return ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "grant_type is missing");
    }

    if (ctx->grant_type.len != sizeof("client_credentials") - 1
        || ngx_strncmp(ctx->grant_type.data, "client_credentials",
                       ctx->grant_type.len) != 0)
    {
        return ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST,
                                     "unsupported_grant_type",
                                     "Only client_credentials is supported");
    }

    if (ctx->client_id.len == 0 || ctx->client_secret.len == 0) {
        return ngx_prefs_oauth_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "invalid_client",
                                     "Client credentials are missing");
    }

    slash = ctx->scope.data
            ? ngx_strlchr(ctx->scope.data, ctx->scope.data + ctx->scope.len,
                          '/')
            : NULL;

    if (ctx->scope.data
        && (slash == NULL || slash == ctx->scope.data
            || slash == ctx->scope.data + ctx->scope.len - 1))
    {
        return ngx_prefs_oauth_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid_scope",
                                     "scope must be <ClientId>/<UserName>");
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    /* repeated failures for one client_id are slowed down */

    p = ngx_pnalloc(r->pool, ctx->client_id.len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->fail_key.data = p;
    ctx->fail_key.len = ngx_sprintf(p, "o%V", &ctx->client_id) - p;

    wait = ngx_prefs_auth_throttled(pmcf, &ctx->fail_key);

    if (wait) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_THROTTLED);

        if (ngx_prefs_http_retry_after(r, wait) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_prefs_oauth_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "invalid_client",
                                     "Too many failed attempts: try again "
                                     "later");
    }

    if (prefs_hmac_random_token(ctx->token, sizeof(ctx->token),
                                NGX_PREFS_OAUTH_TOKEN) != PREFS_AUTH_OK
        || prefs_hmac_sha256_hex(ctx->token, ngx_strlen(ctx->token),
                                 ctx->token_hash) != 0
        || prefs_hmac_sha256_hex(ctx->client_secret.data,
                                 ctx->client_secret.len,
                                 ctx->secret_hash) != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) ctx->ttl, "%T", pmcf->auth.token_ttl) = '\0';

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    q = ngx_prefs_db_query_create(r->pool, plcf->pool,
                                  NGX_PREFS_STMT_OAUTH_ISSUE,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_prefs_db_param(q, r->pool, 0, ctx->client_id.data,
                           ctx->client_id.len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->secret_hash;

    if (slash
        && (ngx_prefs_db_param(q, r->pool, 2, ctx->scope.data,
                               slash - ctx->scope.data)
            != NGX_OK
            || ngx_prefs_db_param(q, r->pool, 3, slash + 1,
                                  ctx->scope.data + ctx->scope.len - slash
                                  - 1)
               != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[4] = ctx->token_hash;
    q->values[5] = ctx->ttl;
    q->handler = ngx_prefs_oauth_issued;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_oauth_issued(ngx_prefs_db_query_t *q)
{
    json_t                      *body;
    ngx_int_t                    rc;
    ngx_http_request_t          *r = q->data;
    ngx_prefs_oauth_ctx_t       *ctx;
    const ngx_prefs_outcome_t   *o;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    o = ngx_prefs_outcome_of(q, NGX_PREFS_OUTCOMES_OAUTH);

    if (o->status == NGX_HTTP_UNAUTHORIZED) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_CLIENT);
        ngx_prefs_auth_failed(pmcf, &ctx->fail_key);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs oauth: client \"%V\" refused",
                      &ctx->client_id);
    }

    if (o->status >= NGX_HTTP_BAD_REQUEST) {
        /* the error code of RFC 6749 section 5.2 is the outcome itself */
        rc = ngx_prefs_oauth_error(r, o->status, o->outcome, o->message);

    } else if (ngx_prefs_oauth_no_store(r) != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        body = json_pack("{s:s,s:s,s:I}",
                         "access_token", ctx->token,
                         "token_type", "Bearer",
                         "expires_in",
                         (json_int_t) ngx_prefs_db_number(q, 0,
                                                  NGX_PREFS_COL_EXPIRES_IN));
        rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK, body);
    }

    prefs_hmac_wipe(ctx->token, sizeof(ctx->token));

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_oauth_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *description)
{
    u_char                      *p;
    ngx_prefs_oauth_ctx_t       *ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (ngx_prefs_oauth_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (status == NGX_HTTP_UNAUTHORIZED && ctx && ctx->basic) {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

        p = ngx_pnalloc(r->pool, sizeof("Basic realm=\"\"") - 1
                                 + pmcf->auth.realm.len);
        if (p == NULL
            || ngx_prefs_http_header(r, "WWW-Authenticate", (char *) p,
                                     ngx_sprintf(p, "Basic realm=\"%V\"",
                                                 &pmcf->auth.realm) - p)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_prefs_http_send_json(r, status,
                                    json_pack("{s:s,s:s}",
                                              "error", error,
                                              "error_description",
                                              description));
}


static ngx_int_t
ngx_prefs_oauth_no_store(ngx_http_request_t *r)
{
    if (ngx_prefs_http_header(r, "Cache-Control", "no-store", 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_prefs_http_header(r, "Pragma", "no-cache", 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}

