
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Per-profile signed links: the credential of a preference-center page
 * and of one-click unsubscribe (docs/preference-center.md).
 *
 * An account's backend asks for a link (POST Profile/{id}/Links); the
 * worker signs a token (src/lib/prefs_link.c) under the account's link
 * key, which the database keeps sealed like the HMAC secrets.  A request
 * with a link is judged on the worker's copy of the account's link state
 * (its keys, unsealed, and its revocation generations), kept until the
 * account's configuration counter moves (every change of links notifies
 * prefs_config, relayed by the helper to the shared zone) or, with no
 * helper listening, for a second: so a revocation reaches every worker
 * within a second, and a steady stream of links costs no query.
 *
 * A link grants its profile and scopes on the few routes of the table
 * below, nothing else; a failed link counts against its source address
 * like other failed credentials.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_api.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_link.h"
#include "ngx_prefs_outcome.h"
#include "ngx_prefs_router.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"


#define NGX_PREFS_LINK_KEYS          2
#define NGX_PREFS_LINK_LIFETIME      2592000     /* 30 days */
#define NGX_PREFS_LINK_LIFETIME_MAX  7776000     /* 90 days */
#define NGX_PREFS_LINK_SCOPES_MAX    16

#define NGX_PREFS_LINK_INVALID   "The link is not valid"
#define NGX_PREFS_LINK_EXPIRED   "The link has expired"
#define NGX_PREFS_LINK_REVOKED   "The link has been revoked"


typedef struct {
    int64_t                    profile_id;
    uint32_t                   generation;
} ngx_prefs_link_gen_t;


/* what a worker keeps of an account to judge its links */
struct ngx_prefs_link_state_s {
    ngx_str_node_t             sn;           /* "database:clientId" */
    ngx_queue_t                lru;
    ngx_msec_t                 checked;
    ngx_atomic_uint_t          gen_seen;
    ngx_atomic_uint_t          epoch_seen;

    int64_t                    account_id;
    uint32_t                   account_gen;
    ngx_uint_t                 nkeys;
    uint32_t                   key_id[NGX_PREFS_LINK_KEYS];
    u_char                     key[NGX_PREFS_LINK_KEYS][PREFS_AUTH_KEY_LEN];
    ngx_uint_t                 nprofiles;
    ngx_prefs_link_gen_t      *profiles;     /* by profile_id */
    ngx_uint_t                 norigins;
    ngx_str_t                 *origins;      /* CORS, lowercased */
};


/* what a link may ask: the route, and the scope it needs (0: any link) */
typedef struct {
    ngx_prefs_api_route_t      route;
    unsigned                   scope;
} ngx_prefs_link_grant_t;


static ngx_int_t ngx_prefs_link_judge(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_link_state_t *st, ngx_str_t *token);
static ngx_int_t ngx_prefs_link_refuse(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *why, const char *message,
    ngx_uint_t guess);
static ngx_int_t ngx_prefs_link_throttle_answer(ngx_http_request_t *r,
    time_t wait);
static void ngx_prefs_link_fail_key(ngx_http_request_t *r, ngx_str_t *key);
static void ngx_prefs_link_state_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_link_state_ask(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_link_state_t *st,
    ngx_prefs_db_handler_pt handler);
static void ngx_prefs_link_guessed(ngx_http_request_t *r);
static char *ngx_prefs_link_key_new(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_link_route(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static ngx_uint_t ngx_prefs_link_fresh(ngx_prefs_link_state_t *st);
static ngx_prefs_link_state_t *ngx_prefs_link_state_put(ngx_http_request_t *r,
    ngx_str_t *key, int64_t account_id, ngx_str_t *keys, ngx_str_t *gens);
static void ngx_prefs_link_state_free(ngx_prefs_link_state_t *st);
static ngx_int_t ngx_prefs_link_key_open(ngx_http_request_t *r, u_char *p,
    size_t len, uint32_t *key_id, u_char *key);
static uint32_t ngx_prefs_link_profile_gen(ngx_prefs_link_state_t *st,
    int64_t profile_id);
static ngx_int_t ngx_prefs_link_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, prefs_link_t *l);
static void ngx_prefs_link_issued(ngx_prefs_db_query_t *q);
static json_t *ngx_prefs_link_answer(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, prefs_link_t *l, const char *token);
static u_char *ngx_prefs_link_page_url(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, size_t extra, u_char **end);
static u_char *ngx_prefs_link_api_url(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, size_t extra, u_char **end);
static void ngx_prefs_link_unsubscribed(ngx_prefs_db_query_t *q);
static void ngx_prefs_link_replied(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_link_cors(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static ngx_str_t *ngx_prefs_link_origin(ngx_http_request_t *r);
static ngx_uint_t ngx_prefs_link_origin_in(ngx_str_t *origin,
    ngx_str_t *list, ngx_uint_t n);
static ngx_int_t ngx_prefs_link_cors_answer(ngx_http_request_t *r,
    ngx_str_t *origin, ngx_uint_t allowed);
static void ngx_prefs_link_cors_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_link_after_cors(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#define NGX_PREFS_LINK_GET   (NGX_HTTP_GET|NGX_HTTP_HEAD)

static const ngx_prefs_link_grant_t  ngx_prefs_link_grants[] = {
    { { NGX_PREFS_LINK_GET, { "Configuration", "Preference", NULL },
        NGX_PREFS_PERM_CONFIGURATION_READ, 0, NULL, NULL }, 0 },
    { { NGX_PREFS_LINK_GET, { "Profile", "*", NULL },
        NGX_PREFS_PERM_PROFILE_READ, 0, NULL, NULL },
      PREFS_LINK_PREFERENCES_READ },
    { { NGX_PREFS_LINK_GET, { "Profile", "*", "Preferences", NULL },
        NGX_PREFS_PERM_PROFILE_READ, 0, NULL, NULL },
      PREFS_LINK_PREFERENCES_READ },
    { { NGX_PREFS_LINK_GET, { "Consents", "*", NULL },
        NGX_PREFS_PERM_PROFILE_READ, 0, NULL, NULL },
      PREFS_LINK_PREFERENCES_READ },
    { { NGX_HTTP_POST, { "Profile", "*", "Preferences", NULL },
        NGX_PREFS_PERM_PROFILE_WRITE, 0, NULL, NULL },
      PREFS_LINK_PREFERENCES_WRITE },
    { { NGX_HTTP_POST, { "Consents", "*", NULL },
        NGX_PREFS_PERM_PROFILE_WRITE, 0, NULL, NULL },
      PREFS_LINK_CONSENTS_WRITE },
    { { NGX_PREFS_LINK_GET|NGX_HTTP_POST,
        { "Profile", "*", "Unsubscribe", "*", "*", NULL },
        NGX_PREFS_PERM_PROFILE_WRITE, 0, NULL, NULL },
      PREFS_LINK_UNSUBSCRIBE },
    { { 0, { NULL }, 0, 0, NULL, NULL }, 0 }
};


static ngx_rbtree_t       ngx_prefs_link_cache;
static ngx_rbtree_node_t  ngx_prefs_link_cache_sentinel;
static ngx_queue_t        ngx_prefs_link_cache_lru;
static ngx_uint_t         ngx_prefs_link_cache_n;
static ngx_uint_t         ngx_prefs_link_cache_ready;


ngx_int_t
ngx_prefs_link_request(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  token;

    rc = ngx_prefs_link_cors(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_prefs_link_credential(r, ctx, &token) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_prefs_link_authenticate(r, ctx, &token);
}


/* after CORS waited for the account's origins: the link, or the API's */

static ngx_int_t
ngx_prefs_link_after_cors(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_str_t  token;

    if (ngx_prefs_link_credential(r, ctx, &token) != NGX_OK) {
        return ngx_prefs_auth_request(r, ctx);
    }

    return ngx_prefs_link_authenticate(r, ctx, &token);
}


ngx_int_t
ngx_prefs_link_credential(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_str_t *token)
{
    ngx_str_t              *h;
    ngx_uint_t              n;
    prefs_path_segment_t   *seg;

    seg = &ctx->path.seg[ctx->first + 1];
    n = ctx->path.n - ctx->first - 1;

    /* the one-click route: the link is the path's, whatever the headers */

    if (n == 5
        && seg[0].len == 7
        && ngx_strncasecmp((u_char *) seg[0].data, (u_char *) "Profile", 7)
           == 0
        && seg[2].len == 11
        && ngx_strncasecmp((u_char *) seg[2].data, (u_char *) "Unsubscribe",
                           11) == 0)
    {
        token->data = (u_char *) seg[4].data;
        token->len = seg[4].len;
        return NGX_OK;
    }

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    h = &r->headers_in.authorization->value;

    if (h->len > sizeof("Bearer ") - 1
        && ngx_strncasecmp(h->data, (u_char *) "Bearer ", 7) == 0
        && prefs_link_is_token((char *) h->data + 7, h->len - 7))
    {
        token->data = h->data + 7;
        token->len = h->len - 7;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_prefs_link_authenticate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_str_t *token)
{
    ngx_uint_t                  fresh;
    ngx_prefs_link_state_t     *st;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    ctx->link = ngx_pcalloc(r->pool, sizeof(prefs_link_t));
    if (ctx->link == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prefs_link_parse((char *) token->data, token->len, ctx->link)
        != PREFS_LINK_OK)
    {
        return ngx_prefs_link_refuse(r, ctx, "malformed",
                                     NGX_PREFS_LINK_INVALID, 1);
    }

    if (ngx_prefs_link_state_key(r, plcf->pool, &ctx->client_id,
                                 &ctx->cache_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st = ngx_prefs_link_state_find(&ctx->cache_key, &fresh);

    if (st && fresh) {
        return ngx_prefs_link_judge(r, ctx, st, token);
    }

    /* the token lives in the request's own memory: the header or path */
    ctx->auth.token = (char *) token->data;
    ctx->auth.token_len = token->len;

    return ngx_prefs_link_state_ask(r, ctx, st, ngx_prefs_link_state_done);
}


/*
 * The query of the account's link state, which the worker has not (st
 * NULL) or which is stale.  A source that keeps failing costs no more
 * queries for accounts the worker does not know; the state of an account
 * it knows is asked for whatever the counters say.
 */

static ngx_int_t
ngx_prefs_link_state_ask(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_link_state_t *st, ngx_prefs_db_handler_pt handler)
{
    time_t                       wait;
    ngx_str_t                    fail;
    ngx_prefs_db_query_t        *q;
    ngx_http_prefs_loc_conf_t   *plcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (st == NULL) {
        ngx_prefs_link_fail_key(r, &fail);

        if (fail.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        wait = ngx_prefs_auth_throttled(pmcf, &fail);

        if (wait) {
            return ngx_prefs_link_throttle_answer(r, wait);
        }
    }

    q = ngx_prefs_db_query_create(r->pool, plcf->pool,
                                  NGX_PREFS_STMT_LINK_STATE,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the clientId segment is null-terminated by the path parser */
    q->values[0] = (char *) ctx->client_id.data;
    q->handler = handler;

    return ngx_prefs_http_query(r, q);
}


/* a guess from the request's source: a flood of them ends throttled */

static void
ngx_prefs_link_guessed(ngx_http_request_t *r)
{
    ngx_str_t  fail;

    ngx_prefs_link_fail_key(r, &fail);

    if (fail.data) {
        ngx_prefs_auth_failed(
            ngx_http_get_module_main_conf(r, ngx_http_prefs_module), &fail);
    }
}


static void
ngx_prefs_link_state_done(ngx_prefs_db_query_t *q)
{
    ngx_str_t                token;
    ngx_http_request_t      *r = q->data;
    ngx_prefs_api_ctx_t     *ctx;
    ngx_prefs_link_state_t  *st;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    if (PQntuples(q->res) != 1) {
        /* a guess too: a flood of junk clientIds ends throttled */
        ngx_prefs_link_guessed(r);

        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                 "No account has the clientId \"%V\"",
                                 &ctx->client_id));
        return;
    }

    st = ngx_prefs_link_state_load(r, &ctx->cache_key, q);
    if (st == NULL) {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "Internal error"));
        return;
    }

    token.data = (u_char *) ctx->auth.token;
    token.len = ctx->auth.token_len;

    ngx_prefs_http_finalize(r, ngx_prefs_link_judge(r, ctx, st, &token));
}


static ngx_int_t
ngx_prefs_link_judge(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_link_state_t *st, ngx_str_t *token)
{
    prefs_link_t                    *l;
    const ngx_prefs_link_verdict_t  *v;

    l = ctx->link;

    v = ngx_prefs_link_state_check(st, l, token, 0);

    if (v) {
        return ngx_prefs_link_refuse(r, ctx, v->why, v->message, v->guess);
    }

    ctx->account_id = l->account_id;
    ctx->user_id = l->user_id;
    *ngx_sprintf((u_char *) ctx->account_text, "%L", l->account_id) = '\0';
    *ngx_sprintf((u_char *) ctx->user_text, "%L", l->user_id) = '\0';

    ctx->link_next = ctx->authorized;

    return ngx_prefs_link_route(r, ctx);
}


/*
 * Whether the link holds under its account's state: NULL, or why not.  A
 * guess (another account's link, a wrong signature) is told apart from a
 * genuine link that expired or was revoked.  signed_before: the very same
 * token text was verified before by this worker, its key is still the
 * account's (checked here), so its signature is not computed again.
 */

const ngx_prefs_link_verdict_t *
ngx_prefs_link_state_check(ngx_prefs_link_state_t *st, prefs_link_t *l,
    ngx_str_t *token, ngx_uint_t signed_before)
{
    ngx_uint_t   i;
    ngx_time_t  *tp;

    static const ngx_prefs_link_verdict_t  other = {
        "made for another account", NGX_PREFS_LINK_INVALID, 1
    };
    static const ngx_prefs_link_verdict_t  forged = {
        "signature does not match", NGX_PREFS_LINK_INVALID, 1
    };
    static const ngx_prefs_link_verdict_t  expired = {
        "expired", NGX_PREFS_LINK_EXPIRED, 0
    };
    static const ngx_prefs_link_verdict_t  revoked = {
        "revoked", NGX_PREFS_LINK_REVOKED, 0
    };
    static const ngx_prefs_link_verdict_t  retired = {
        "its key was retired", NGX_PREFS_LINK_EXPIRED, 0
    };

    if (l->account_id != st->account_id) {
        return &other;
    }

    for (i = 0; i < st->nkeys; i++) {
        if (st->key_id[i] == l->key_id) {
            break;
        }
    }

    /*
     * A key older than the account's keys was retired by a rotation: its
     * links are old links, not guesses (nothing can be signed with a key
     * that is gone); keys are newest first
     */

    if (i == st->nkeys && st->nkeys
        && l->key_id < st->key_id[st->nkeys - 1])
    {
        return &retired;
    }

    if (i == st->nkeys
        || (!signed_before
            && prefs_link_verify((char *) token->data, token->len,
                                 st->key[i], PREFS_AUTH_KEY_LEN)
               != PREFS_LINK_OK))
    {
        return &forged;
    }

    tp = ngx_timeofday();

    if (l->expires <= (int64_t) tp->sec) {
        return &expired;
    }

    if (l->account_gen != st->account_gen
        || l->profile_gen != ngx_prefs_link_profile_gen(st, l->profile_id))
    {
        return &revoked;
    }

    return NULL;
}


/* the worker's name of an account's link state: "database:clientId" */

ngx_int_t
ngx_prefs_link_state_key(ngx_http_request_t *r, ngx_prefs_db_pool_t *pool,
    ngx_str_t *client_id, ngx_str_t *key)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1 + client_id->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;
    key->len = ngx_sprintf(p, "%ui:%V", ngx_prefs_db_pool_database(pool),
                           client_id)
               - p;

    return NGX_OK;
}


/* the account's state from a row of account_id, link_keys, link_gens */

ngx_prefs_link_state_t *
ngx_prefs_link_state_load(ngx_http_request_t *r, ngx_str_t *key,
    ngx_prefs_db_query_t *q)
{
    ngx_str_t  keys, gens;

    keys.data = (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LINK_KEYS);
    keys.len = ngx_prefs_db_length(q, 0, NGX_PREFS_COL_LINK_KEYS);
    gens.data = (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LINK_GENS);
    gens.len = ngx_prefs_db_length(q, 0, NGX_PREFS_COL_LINK_GENS);

    return ngx_prefs_link_state_put(r, key,
               ngx_prefs_db_number(q, 0, NGX_PREFS_COL_ACCOUNT_ID),
               &keys, &gens);
}


/*
 * The link grants the request only on a route of the table, for its own
 * profile (the first argument, in its canonical decimal form), with the
 * scope the route needs; one-click unsubscribe only from its filters.
 */

static ngx_int_t
ngx_prefs_link_route(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                        id[NGX_INT64_LEN];
    size_t                        len;
    ngx_uint_t                    n;
    prefs_link_t                 *l;
    prefs_path_segment_t         *seg;
    const ngx_prefs_link_grant_t *g;

    l = ctx->link;
    seg = &ctx->path.seg[ctx->first + 1];
    n = ctx->path.n - ctx->first - 1;
    len = ngx_sprintf(id, "%L", l->profile_id) - id;

    for (g = ngx_prefs_link_grants; g->route.methods; g++) {

        if (!(g->route.methods & r->method)
            || !ngx_prefs_router_path_match(&g->route, seg, n, ctx))
        {
            continue;
        }

        if (ctx->nargs
            && (ctx->args[0].len != len
                || ngx_memcmp(ctx->args[0].data, id, len) != 0))
        {
            break;
        }

        if (g->scope == PREFS_LINK_UNSUBSCRIBE) {
            if (!(l->scopes & PREFS_LINK_PREFERENCES_WRITE)
                && !prefs_link_grants_filter(l, (char *) ctx->args[1].data,
                                             ctx->args[1].len))
            {
                break;
            }

        } else if (g->scope && !(l->scopes & g->scope)) {
            break;
        }

        ctx->perms = g->route.perm;

        return ctx->link_next(r, ctx);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "prefs link: a link of profile %L refused %V %V",
                  l->profile_id, &r->method_name, &r->uri);

    return ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                "The link does not grant this request");
}


/*
 * A guess (a link that is malformed, altered, or of another account) counts
 * against its source; a genuine link that expired or was revoked does not:
 * people follow old links.
 */

static ngx_int_t
ngx_prefs_link_refuse(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *why, const char *message, ngx_uint_t guess)
{
    time_t                       wait;
    ngx_str_t                    fail;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "prefs link: a link for \"%V\" refused: %s",
                  &ctx->client_id, why);

    if (!guess) {
        return ngx_prefs_auth_answer_later(r, NGX_HTTP_UNAUTHORIZED, 0,
                                           message);
    }

    ngx_prefs_link_fail_key(r, &fail);

    if (fail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_prefs_auth_failed(pmcf, &fail);

    wait = ngx_prefs_auth_throttled(pmcf, &fail);

    if (wait) {
        return ngx_prefs_link_throttle_answer(r, wait);
    }

    return ngx_prefs_auth_answer_later(r, NGX_HTTP_UNAUTHORIZED, 0, message);
}


static ngx_int_t
ngx_prefs_link_throttle_answer(ngx_http_request_t *r, time_t wait)
{
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "prefs link: links from this source refused for %T s "
                  "after repeated failures", wait);

    return ngx_prefs_auth_answer_later(r, NGX_HTTP_TOO_MANY_REQUESTS, wait,
                                       "Too many failed attempts: try again "
                                       "later");
}


/* failed links count per source address, as "l" and the address */

static void
ngx_prefs_link_fail_key(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_str_t  *addr;

    addr = &r->connection->addr_text;

    key->data = ngx_pnalloc(r->pool, 1 + addr->len);
    if (key->data == NULL) {
        key->len = 0;
        return;
    }

    key->len = ngx_sprintf(key->data, "l%V", addr) - key->data;
}


static ngx_uint_t
ngx_prefs_link_fresh(ngx_prefs_link_state_t *st)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_prefs_module);

    return ngx_prefs_shm_config_fresh(pmcf->sh, st->account_id,
                                      st->gen_seen, st->epoch_seen,
                                      st->checked);
}


ngx_prefs_link_state_t *
ngx_prefs_link_state_find(ngx_str_t *key, ngx_uint_t *fresh)
{
    ngx_prefs_link_state_t  *st;

    *fresh = 0;

    if (!ngx_prefs_link_cache_ready) {
        return NULL;
    }

    st = (ngx_prefs_link_state_t *) ngx_str_rbtree_lookup(
             &ngx_prefs_link_cache, key, ngx_crc32_short(key->data, key->len));

    if (st) {
        ngx_queue_remove(&st->lru);
        ngx_queue_insert_head(&ngx_prefs_link_cache_lru, &st->lru);
        *fresh = ngx_prefs_link_fresh(st);
    }

    return st;
}


/*
 * The account's state from its query's row, replacing what was kept; at
 * most prefs_auth_cache_size accounts, the least recently used go first.
 * keys: "id:sealed,..."; gens: "account;profile:generation,..." by profile.
 */

static ngx_prefs_link_state_t *
ngx_prefs_link_state_put(ngx_http_request_t *r, ngx_str_t *key,
    int64_t account_id, ngx_str_t *keys, ngx_str_t *gens)
{
    u_char                      *p, *end, *next, *colon, *pend;
    size_t                       size;
    ngx_str_t                    origins;
    ngx_int_t                    n;
    ngx_uint_t                   nprofiles, norigins;
    ngx_queue_t                 *qe;
    ngx_prefs_link_state_t      *st, *old;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (!ngx_prefs_link_cache_ready) {
        ngx_rbtree_init(&ngx_prefs_link_cache, &ngx_prefs_link_cache_sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&ngx_prefs_link_cache_lru);
        ngx_prefs_link_cache_ready = 1;
    }

    /* "account;profile:generation,...;origin origin..." */

    end = gens->data + gens->len;
    pend = ngx_strlchr(gens->data, end, ';');
    pend = pend ? ngx_strlchr(pend + 1, end, ';') : NULL;

    if (pend == NULL) {
        pend = end;
        origins.data = end;
        origins.len = 0;

    } else {
        origins.data = pend + 1;
        origins.len = end - pend - 1;
    }

    nprofiles = 0;

    for (p = gens->data; p < pend; p++) {
        if (*p == ':') {
            nprofiles++;
        }
    }

    norigins = origins.len ? 1 : 0;

    for (p = origins.data; p < end; p++) {
        if (*p == ' ') {
            norigins++;
        }
    }

    size = sizeof(ngx_prefs_link_state_t)
           + nprofiles * sizeof(ngx_prefs_link_gen_t)
           + norigins * sizeof(ngx_str_t) + key->len + origins.len;

    st = ngx_alloc(size, r->connection->log);
    if (st == NULL) {
        return NULL;
    }

    ngx_memzero(st, sizeof(ngx_prefs_link_state_t));

    st->profiles = (ngx_prefs_link_gen_t *) (st + 1);
    st->origins = (ngx_str_t *) (st->profiles + nprofiles);
    st->sn.str.data = (u_char *) (st->origins + norigins);
    st->sn.str.len = key->len;
    ngx_memcpy(st->sn.str.data, key->data, key->len);

    /* the origins, each a copy's part */

    p = ngx_cpymem(st->sn.str.data + key->len, origins.data, origins.len);
    end = p;

    for (p = st->sn.str.data + key->len; p < end; p = next + 1) {
        next = ngx_strlchr(p, end, ' ');
        if (next == NULL) {
            next = end;
        }

        st->origins[st->norigins].data = p;
        st->origins[st->norigins++].len = next - p;
    }

    st->sn.node.key = ngx_crc32_short(key->data, key->len);
    st->account_id = account_id;
    st->checked = ngx_current_msec;

    if (pmcf->sh) {
        /* before the answer is used: a change meanwhile makes it stale */
        st->gen_seen = pmcf->sh->config_gen[account_id
                                            % NGX_PREFS_SHM_CONFIG_GENS];
        st->epoch_seen = pmcf->sh->config_epoch;
    }

    /* the keys, newest first */

    p = keys->data;
    end = keys->data + keys->len;

    while (p < end && st->nkeys < NGX_PREFS_LINK_KEYS) {
        next = ngx_strlchr(p, end, ',');
        if (next == NULL) {
            next = end;
        }

        if (ngx_prefs_link_key_open(r, p, next - p, &st->key_id[st->nkeys],
                                    st->key[st->nkeys])
            == NGX_OK)
        {
            st->nkeys++;
        }

        p = next + 1;
    }

    /* the generations */

    p = gens->data;
    end = pend;
    next = ngx_strlchr(p, end, ';');

    if (next == NULL
        || (n = ngx_atoi(p, next - p)) == NGX_ERROR)
    {
        goto bad;
    }

    st->account_gen = (uint32_t) n;

    for (p = next + 1; p < end; p = next + 1) {
        next = ngx_strlchr(p, end, ',');
        if (next == NULL) {
            next = end;
        }

        colon = ngx_strlchr(p, next, ':');

        if (colon == NULL || st->nprofiles == nprofiles) {
            goto bad;
        }

        st->profiles[st->nprofiles].profile_id = ngx_atoof(p, colon - p);
        n = ngx_atoi(colon + 1, next - colon - 1);

        if (st->profiles[st->nprofiles].profile_id <= 0 || n == NGX_ERROR) {
            goto bad;
        }

        st->profiles[st->nprofiles++].generation = (uint32_t) n;
    }

    old = (ngx_prefs_link_state_t *) ngx_str_rbtree_lookup(
              &ngx_prefs_link_cache, key, st->sn.node.key);
    if (old) {
        ngx_prefs_link_state_free(old);
    }

    while (ngx_prefs_link_cache_n >= pmcf->auth.cache_size
           && !ngx_queue_empty(&ngx_prefs_link_cache_lru))
    {
        qe = ngx_queue_last(&ngx_prefs_link_cache_lru);
        ngx_prefs_link_state_free(ngx_queue_data(qe, ngx_prefs_link_state_t,
                                                 lru));
    }

    ngx_rbtree_insert(&ngx_prefs_link_cache, &st->sn.node);
    ngx_queue_insert_head(&ngx_prefs_link_cache_lru, &st->lru);
    ngx_prefs_link_cache_n++;

    return st;

bad:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "prefs link: the link state of account %L is malformed: "
                  "\"%V\"", account_id, gens);
    prefs_hmac_wipe(st->key, sizeof(st->key));
    ngx_free(st);

    return NULL;
}


static void
ngx_prefs_link_state_free(ngx_prefs_link_state_t *st)
{
    ngx_rbtree_delete(&ngx_prefs_link_cache, &st->sn.node);
    ngx_queue_remove(&st->lru);
    ngx_prefs_link_cache_n--;
    prefs_hmac_wipe(st->key, sizeof(st->key));
    ngx_free(st);
}


/* "id:sealed": a key that does not open is logged and left out */

static ngx_int_t
ngx_prefs_link_key_open(ngx_http_request_t *r, u_char *p, size_t len,
    uint32_t *key_id, u_char *key)
{
    int                          rc;
    u_char                      *colon;
    size_t                       plain_len;
    ngx_int_t                    id;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    colon = ngx_strlchr(p, p + len, ':');
    id = colon ? ngx_atoi(p, colon - p) : NGX_ERROR;

    if (id <= 0) {
        return NGX_ERROR;
    }

    rc = prefs_seal_open(pmcf->auth.secret_key, (char *) colon + 1,
                         p + len - colon - 1, key, PREFS_AUTH_KEY_LEN,
                         &plain_len);

    if (rc != PREFS_AUTH_OK || plain_len != PREFS_AUTH_KEY_LEN) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "prefs link: link key %i cannot be unsealed: was it "
                      "sealed with another prefs_secret_key?", id);
        prefs_hmac_wipe(key, PREFS_AUTH_KEY_LEN);
        return NGX_ERROR;
    }

    *key_id = (uint32_t) id;

    return NGX_OK;
}


static uint32_t
ngx_prefs_link_profile_gen(ngx_prefs_link_state_t *st, int64_t profile_id)
{
    ngx_uint_t  lo, hi, mid;

    lo = 0;
    hi = st->nprofiles;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (st->profiles[mid].profile_id == profile_id) {
            return st->profiles[mid].generation;
        }

        if (st->profiles[mid].profile_id < profile_id) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/*
 * CORS: an Origin that prefs_link_cors_origin of the location or the
 * account (PUT Links/Origins) allows gets its headers, a preflight of it
 * its answer, here, before any credential; a preflight of another origin
 * is 403.  The account's origins come with its link state, kept like its
 * keys (one query when the worker has none or they are stale).
 */

static ngx_int_t
ngx_prefs_link_cors(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_str_t                   *origin;
    ngx_uint_t                   fresh;
    ngx_prefs_link_state_t      *st;
    ngx_http_prefs_loc_conf_t   *plcf;

    origin = ngx_prefs_link_origin(r);

    if (origin == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_prefs_http_header(r, "Vary", "Origin", 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->link_origins
        && ngx_prefs_link_origin_in(origin, plcf->link_origins->elts,
                                    plcf->link_origins->nelts))
    {
        return ngx_prefs_link_cors_answer(r, origin, 1);
    }

    if (ngx_prefs_link_state_key(r, plcf->pool, &ctx->client_id,
                                 &ctx->cache_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st = ngx_prefs_link_state_find(&ctx->cache_key, &fresh);

    if (st && fresh) {
        return ngx_prefs_link_cors_answer(r, origin,
                   ngx_prefs_link_origin_in(origin, st->origins,
                                            st->norigins));
    }

    return ngx_prefs_link_state_ask(r, ctx, st, ngx_prefs_link_cors_done);
}


static void
ngx_prefs_link_cors_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t                rc;
    ngx_str_t               *origin;
    ngx_uint_t               allowed;
    ngx_http_request_t      *r = q->data;
    ngx_prefs_api_ctx_t     *ctx;
    ngx_prefs_link_state_t  *st;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    allowed = 0;
    origin = ngx_prefs_link_origin(r);

    if (PQntuples(q->res) != 1) {
        /*
         * No such account: a preflight is a guess, as a link is; another
         * request is counted, if at all, by its credential's check
         */
        if (r->method == NGX_HTTP_OPTIONS) {
            ngx_prefs_link_guessed(r);
        }

    } else {
        st = ngx_prefs_link_state_load(r, &ctx->cache_key, q);
        if (st == NULL) {
            ngx_prefs_http_finalize(r,
                ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "Internal error"));
            return;
        }

        allowed = ngx_prefs_link_origin_in(origin, st->origins,
                                           st->norigins);
    }

    rc = ngx_prefs_link_cors_answer(r, origin, allowed);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_link_after_cors(r, ctx);
    }

    ngx_prefs_http_finalize(r, rc);
}


/*
 * The headers of an allowed origin, and a preflight's answer: 204 for an
 * allowed origin, 403 for another.  NGX_DECLINED: the request goes on.
 */

static ngx_int_t
ngx_prefs_link_cors_answer(ngx_http_request_t *r, ngx_str_t *origin,
    ngx_uint_t allowed)
{
    if (!allowed) {
        if (r->method == NGX_HTTP_OPTIONS) {
            (void) ngx_http_discard_request_body(r);
            return ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                        "The origin is not allowed");
        }

        return NGX_DECLINED;
    }

    if (ngx_prefs_http_header(r, "Access-Control-Allow-Origin",
                              (char *) origin->data, origin->len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_OPTIONS) {
        return NGX_DECLINED;
    }

    /* a preflight: the methods and headers a page may send */

    (void) ngx_http_discard_request_body(r);

    if (ngx_prefs_http_header(r, "Access-Control-Allow-Methods",
                              "GET, POST", 0) != NGX_OK
        || ngx_prefs_http_header(r, "Access-Control-Allow-Headers",
                                 "Authorization, Content-Type, "
                                 "Accept-Language", 0) != NGX_OK
        || ngx_prefs_http_header(r, "Access-Control-Max-Age", "600", 0)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;
    r->headers_out.content_length_n = 0;

    return ngx_http_send_header(r);
}


/* the request's Origin header, or NULL */

static ngx_str_t *
ngx_prefs_link_origin(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6) == 0)
        {
            return &h[i].value;
        }
    }
}


static ngx_uint_t
ngx_prefs_link_origin_in(ngx_str_t *origin, ngx_str_t *list, ngx_uint_t n)
{
    ngx_uint_t  i;

    if (origin == NULL) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (list[i].len == origin->len
            && ngx_strncasecmp(list[i].data, origin->data, origin->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * POST Profile/{id}/Links: {"Scopes": [...], "Lifetime": seconds}.
 * ngx_prefs_link_body() is NGX_DECLINED for a body to go on with, else
 * the refusal's answer.  The
 * worker makes a key for an account that has none (the database keeps
 * the first one made), signs the link with the account's newest key and
 * answers it once: nothing of it is stored.
 */

ngx_int_t
ngx_prefs_link_issue(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *sealed;
    ngx_int_t              rc;
    prefs_link_t          *l;
    ngx_prefs_db_query_t  *q;

    l = ngx_pcalloc(r->pool, sizeof(prefs_link_t));
    if (l == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    l->account_id = ctx->account_id;
    l->user_id = ctx->user_id;
    l->profile_id = ngx_prefs_api_id(&ctx->args[0]);

    if (l->profile_id == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No such profile in this account");
    }

    rc = ngx_prefs_link_body(r, ctx, l);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    sealed = ngx_prefs_link_key_new(r);
    if (sealed == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_ISSUE,
                            ngx_prefs_link_issued);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the path argument is null-terminated by the parser */
    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = sealed;

    ctx->link = l;

    return ngx_prefs_http_query(r, q);
}


/* a new link key, sealed under prefs_secret_key, or NULL */

static char *
ngx_prefs_link_key_new(ngx_http_request_t *r)
{
    char                        *sealed;
    u_char                       key[PREFS_AUTH_KEY_LEN];
    ngx_int_t                    rc;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    sealed = ngx_pnalloc(r->pool, PREFS_SECRET_B64_SIZE(PREFS_AUTH_KEY_LEN));
    if (sealed == NULL) {
        return NULL;
    }

    rc = RAND_bytes(key, sizeof(key)) == 1
         && prefs_seal_secret(pmcf->auth.secret_key, key, sizeof(key),
                              sealed,
                              PREFS_SECRET_B64_SIZE(PREFS_AUTH_KEY_LEN))
            == PREFS_AUTH_OK;

    prefs_hmac_wipe(key, sizeof(key));

    return rc ? sealed : NULL;
}


static ngx_int_t
ngx_prefs_link_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    prefs_link_t *l)
{
    size_t       i;
    json_t      *body, *scopes, *lifetime, *s;
    ngx_int_t    rc;
    ngx_time_t  *tp;
    json_int_t   seconds;
    const char  *name;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (!json_is_object(body)) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body must be a JSON object");
    }

    json_object_foreach(body, name, s) {
        if (ngx_strcmp(name, "Scopes") != 0
            && ngx_strcmp(name, "Lifetime") != 0)
        {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Unknown field \"%s\": a link has "
                                        "Scopes and Lifetime", name);
        }
    }

    scopes = json_object_get(body, "Scopes");

    if (!json_is_array(scopes) || json_array_size(scopes) == 0
        || json_array_size(scopes) > NGX_PREFS_LINK_SCOPES_MAX)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "Scopes must be an array of 1 to %d "
                                    "scopes", NGX_PREFS_LINK_SCOPES_MAX);
    }

    json_array_foreach(scopes, i, s) {
        if (!json_is_string(s)) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Scopes[%uz] must be a string", i);
        }

        switch (prefs_link_scope_add(l, json_string_value(s),
                                     json_string_length(s)))
        {
        case PREFS_LINK_OK:
            break;

        case PREFS_LINK_TOO_MANY:
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "A link unsubscribes from at most "
                                        "%d filters", PREFS_LINK_MAX_FILTERS);

        default:
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Scopes[%uz] is not a scope: "
                                        "preferences:read, "
                                        "preferences:write, consents:write, "
                                        "edge or unsubscribe:{FilterId}", i);
        }
    }

    lifetime = json_object_get(body, "Lifetime");
    seconds = NGX_PREFS_LINK_LIFETIME;

    if (lifetime) {
        if (!json_is_integer(lifetime)
            || json_integer_value(lifetime) < 60
            || json_integer_value(lifetime) > NGX_PREFS_LINK_LIFETIME_MAX)
        {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Lifetime must be a number of "
                                        "seconds from 60 to %d",
                                        NGX_PREFS_LINK_LIFETIME_MAX);
        }

        seconds = json_integer_value(lifetime);
    }

    tp = ngx_timeofday();
    l->expires = (int64_t) tp->sec + seconds;

    return NGX_DECLINED;
}


static void
ngx_prefs_link_issued(ngx_prefs_db_query_t *q)
{
    char                        *token;
    u_char                      *p, *end, *colon;
    long                         len;
    json_t                      *answer;
    uint32_t                     key_id;
    ngx_int_t                    rc, agen, pgen;
    ngx_http_request_t          *r = q->data;
    prefs_link_t                *l;
    ngx_prefs_api_ctx_t         *ctx;
    const ngx_prefs_outcome_t   *o;
    u_char                       key[PREFS_AUTH_KEY_LEN];

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    l = ctx->link;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_LINK,
                                   NGX_PREFS_COL_NONE, &o);
    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    p = (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LINK_GENS);
    end = p + ngx_prefs_db_length(q, 0, NGX_PREFS_COL_LINK_GENS);
    colon = ngx_strlchr(p, end, ':');
    agen = colon ? ngx_atoi(p, colon - p) : NGX_ERROR;
    pgen = colon ? ngx_atoi(colon + 1, end - colon - 1) : NGX_ERROR;

    p = (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LINK_KEYS);

    token = ngx_pnalloc(r->pool, PREFS_LINK_TOKEN_MAX + 1);

    if (token == NULL || agen == NGX_ERROR || pgen == NGX_ERROR
        || ngx_prefs_link_key_open(r, p,
                                   ngx_prefs_db_length(q, 0,
                                                  NGX_PREFS_COL_LINK_KEYS),
                                   &key_id, key)
           != NGX_OK)
    {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "Internal error"));
        return;
    }

    l->key_id = key_id;
    l->account_gen = (uint32_t) agen;
    l->profile_gen = (uint32_t) pgen;

    len = prefs_link_sign(l, key, sizeof(key), token,
                          PREFS_LINK_TOKEN_MAX + 1);
    prefs_hmac_wipe(key, sizeof(key));

    if (len < 0) {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "Internal error"));
        return;
    }

    answer = ngx_prefs_link_answer(r, ctx, l, token);
    if (answer == NULL) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the request's pool owns the answer: send_json takes a reference */
    ngx_prefs_http_finalize(r, ngx_prefs_http_send_json(r, NGX_HTTP_CREATED,
                                                        json_incref(answer)));
}


/*
 * {"Token", "ExpiresAt", "Scopes", "Url" (with prefs_link_page),
 * "UnsubscribeUrls": [{"FilterId", "Url"}]}
 */

static json_t *
ngx_prefs_link_answer(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    prefs_link_t *l, const char *token)
{
    u_char                     *p, *end, expires[32];
    size_t                      tlen;
    json_t                     *answer, *scopes, *urls, *url;
    ngx_tm_t                    tm;
    ngx_uint_t                  i;
    ngx_http_prefs_loc_conf_t  *plcf;
    char                        text[1024], *s, *comma;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);
    tlen = ngx_strlen(token);

    ngx_gmtime((time_t) l->expires, &tm);
    *ngx_sprintf(expires, "%4d-%02d-%02dT%02d:%02d:%02dZ", tm.ngx_tm_year,
                 tm.ngx_tm_mon, tm.ngx_tm_mday, tm.ngx_tm_hour,
                 tm.ngx_tm_min, tm.ngx_tm_sec) = '\0';

    answer = ngx_prefs_json_own(r->pool, json_object());
    scopes = json_array();
    urls = json_array();

    if (answer == NULL || scopes == NULL || urls == NULL
        || json_object_set_new(answer, "Scopes", scopes) != 0
        || json_object_set_new(answer, "UnsubscribeUrls", urls) != 0
        || json_object_set_new(answer, "Token", json_string(token)) != 0
        || json_object_set_new(answer, "ExpiresAt",
                               json_string((char *) expires)) != 0
        || prefs_link_scopes_text(l, text, sizeof(text)) < 0)
    {
        return NULL;
    }

    for (s = text; s && *s; s = comma ? comma + 1 : NULL) {
        comma = ngx_strchr(s, ',');
        if (json_array_append_new(scopes,
                                  json_stringn(s, comma ? (size_t) (comma - s)
                                                        : ngx_strlen(s)))
            != 0)
        {
            return NULL;
        }
    }

    /* the page: the token in the fragment, which browsers never send */

    if (plcf->link_page.len) {
        p = ngx_prefs_link_page_url(r, ctx, sizeof("&p=#t=") + NGX_INT64_LEN
                                            + tlen, &end);
        if (p == NULL) {
            return NULL;
        }

        end = ngx_sprintf(end, "&p=%L#t=%s", l->profile_id, token);

        if (json_object_set_new(answer, "Url",
                                json_stringn((char *) p, end - p)) != 0)
        {
            return NULL;
        }
    }

    /* one-click unsubscribe, RFC 8058: one URL per filter */

    for (i = 0; i < l->nfilters; i++) {
        p = ngx_prefs_link_api_url(r, ctx,
                                   sizeof("/Profile//Unsubscribe//")
                                   + NGX_INT64_LEN + PREFS_LINK_FILTER_MAX
                                   + tlen, &end);
        if (p == NULL) {
            return NULL;
        }

        end = ngx_sprintf(end, "/Profile/%L/Unsubscribe/%s/%s", l->profile_id,
                          l->filters[i], token);

        url = json_object();

        if (url == NULL
            || json_array_append_new(urls, url) != 0
            || json_object_set_new(url, "FilterId",
                                   json_string(l->filters[i])) != 0
            || json_object_set_new(url, "Url",
                                   json_stringn((char *) p, end - p)) != 0)
        {
            return NULL;
        }
    }

    return answer;
}


/* prefs_link_page with "c=<clientId>" in its query, and room for extra */

static u_char *
ngx_prefs_link_page_url(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    size_t extra, u_char **end)
{
    u_char                     *p;
    ngx_str_t                  *page;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);
    page = &plcf->link_page;

    p = ngx_pnalloc(r->pool, page->len + sizeof("?c=") - 1
                             + 3 * ctx->client_id.len + extra);
    if (p == NULL) {
        return NULL;
    }

    *end = ngx_sprintf(p, "%V%sc=", page,
                       ngx_strlchr(page->data, page->data + page->len, '?')
                       ? "&" : "?");
    *end = (u_char *) ngx_escape_uri(*end, ctx->client_id.data,
                                     ctx->client_id.len, NGX_ESCAPE_ARGS);

    return p;
}


/* origin, location and clientId of the API, and room for extra bytes */

static u_char *
ngx_prefs_link_api_url(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    size_t extra, u_char **end)
{
    u_char                    *p, *last;
    ngx_str_t                  origin;
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_prefs_http_origin(r, &origin) != NGX_OK) {
        return NULL;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = ngx_pnalloc(r->pool, origin.len + clcf->name.len + 1
                             + 3 * ctx->client_id.len + extra);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_sprintf(p, "%V%V%s", &origin, &clcf->name,
                       clcf->name.len
                       && clcf->name.data[clcf->name.len - 1] == '/'
                       ? "" : "/");
    last = (u_char *) ngx_escape_uri(last, ctx->client_id.data,
                                     ctx->client_id.len,
                                     NGX_ESCAPE_URI_COMPONENT);
    *end = last;

    return p;
}


ngx_int_t
ngx_prefs_link_revoke(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    if (ctx->nargs && ngx_prefs_api_id(&ctx->args[0]) == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No such profile in this account");
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_REVOKE,
                            ngx_prefs_link_unsubscribed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* DELETE Links: every link of the account (NULL) */
    q->values[1] = ctx->nargs ? (char *) ctx->args[0].data : NULL;

    return ngx_prefs_http_query(r, q);
}


/*
 * POST Links/Key: a new key for the account's links, made and sealed here
 * as for the account's first link; the database keeps the key before it
 * and deletes older ones (sql/functions/links.sql, prefs_link_rotate).
 * No body, or {}.
 */

ngx_int_t
ngx_prefs_link_rotate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *sealed;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_api_no_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    sealed = ngx_prefs_link_key_new(r);
    if (sealed == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_ROTATE,
                            ngx_prefs_link_replied);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = sealed;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_link_origins_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_ORIGINS_GET,
                            ngx_prefs_link_replied);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_http_query(r, q);
}


/* PUT Links/Origins: {"Origins": [...]}, checked by the database */

ngx_int_t
ngx_prefs_link_origins_put(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    json_t                *body;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_ORIGINS_PUT,
                            ngx_prefs_link_replied);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the body is null-terminated by the reader */
    q->values[1] = (char *) ctx->body.data;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_link_replied(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_LINK);
}


/*
 * GET: the page, with the filter chosen (303 to prefs_link_page, the
 * token in the fragment).  POST (RFC 8058): "List-Unsubscribe=One-Click"
 * opts the profile out of the filter; 200 without a page.
 */

ngx_int_t
ngx_prefs_link_unsubscribe(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                     *p, *end;
    ngx_table_elt_t            *h;
    ngx_prefs_db_query_t       *q;
    ngx_http_prefs_loc_conf_t  *plcf;

    static ngx_str_t  one_click = ngx_string("List-Unsubscribe=One-Click");

    if (r->method != NGX_HTTP_POST) {
        plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

        if (plcf->link_page.len == 0) {
            return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                        "No preference-center page is "
                                        "configured (prefs_link_page)");
        }

        /* the filter is any segment where the link may write preferences */
        p = ngx_prefs_link_page_url(r, ctx, sizeof("&p=&f=#t=")
                                            + ctx->args[0].len
                                            + 3 * ctx->args[1].len
                                            + ctx->args[2].len, &end);
        h = ngx_list_push(&r->headers_out.headers);

        if (p == NULL || h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        end = ngx_sprintf(end, "&p=%V&f=", &ctx->args[0]);
        end = (u_char *) ngx_escape_uri(end, ctx->args[1].data,
                                        ctx->args[1].len, NGX_ESCAPE_ARGS);
        end = ngx_sprintf(end, "#t=%V", &ctx->args[2]);

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.data = p;
        h->value.len = end - p;

        r->headers_out.status = NGX_HTTP_SEE_OTHER;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    /* "List-Unsubscribe=One-Click" is the whole body RFC 8058 sends */

    if (ctx->body.len != one_click.len
        || ngx_strncmp(ctx->body.data, one_click.data, one_click.len) != 0)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body must be "
                                    "List-Unsubscribe=One-Click");
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_LINK_UNSUBSCRIBE,
                            ngx_prefs_link_unsubscribed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* path arguments are null-terminated by the parser */
    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->args[0].data;
    q->values[3] = (char *) ctx->args[1].data;

    return ngx_prefs_http_query(r, q);
}


/* a revocation (204) or an opt-out (200 without a body) */

static void
ngx_prefs_link_unsubscribed(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_LINK,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        r->headers_out.status = o->status;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        rc = ngx_http_send_header(r);
    }

    ngx_prefs_http_finalize(r, rc);
}
