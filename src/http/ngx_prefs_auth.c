
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Authentication of the API locations, and what it keeps between requests.
 *
 * A request's credential (PNAUTHINFO3 or a bearer token) and clientId are
 * looked up in the cache or in one query; an unknown clientId is 404, a
 * bad credential 401 with the documented messages, repeated failures for a
 * user name 429.  An authenticated request goes on to ctx->authorized.
 *
 * A per-worker cache maps a credential (an account and user name for
 * PNAUTHINFO3, an account and token hash for a bearer token) to what the
 * database said of it, secrets unsealed, for prefs_auth_cache_time; a
 * steady stream of signed requests costs no round trip to authenticate.
 * A deactivated user stops working when its entry expires; a deleted one
 * at once, on every worker (ngx_prefs_auth_cache_stale()).
 *
 * Failed attempts per user name are counted in the shared zone, so that
 * every worker sees them: past prefs_auth_max_failures in a window, the
 * name is refused with 429 until the window ends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"


#define NGX_PREFS_AUTH_SKEW  60000


typedef struct {
    u_char                     color;
    u_char                     len;
    ngx_queue_t                lru;
    ngx_msec_t                 window_start;
    ngx_uint_t                 count;
    u_char                     data[1];
} ngx_prefs_auth_fail_t;


static void ngx_prefs_auth_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_auth_authorize(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_auth_entry_t *e, ngx_uint_t fresh);
static ngx_int_t ngx_prefs_auth_unseal(ngx_http_request_t *r,
    ngx_prefs_auth_entry_t *e, u_char *list, size_t len);
static ngx_int_t ngx_prefs_auth_refuse(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *why);
static ngx_prefs_shm_t *ngx_prefs_auth_shm(void);
static ngx_uint_t ngx_prefs_auth_cache_stale(ngx_prefs_auth_entry_t *e);
static void ngx_prefs_auth_cache_free(ngx_prefs_auth_entry_t *e);
static void ngx_prefs_auth_fail_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_prefs_auth_fail_t *ngx_prefs_auth_fail_lookup(
    ngx_prefs_shm_t *sh, ngx_str_t *key, uint32_t hash);


static const char  *ngx_prefs_auth_perm_names[] = {
    "ConfigurationRead",
    "ConfigurationWrite",
    "ProfileRead",
    "ProfileWrite",
    "EventDataView",
    "WebhookManage",
    "BulkImport",
    "BulkExport",
    "UserManage",
    NULL
};


static ngx_rbtree_t       ngx_prefs_auth_cache;
static ngx_rbtree_node_t  ngx_prefs_auth_cache_sentinel;
static ngx_queue_t        ngx_prefs_auth_cache_lru;
static ngx_uint_t         ngx_prefs_auth_cache_n;
static ngx_uint_t         ngx_prefs_auth_cache_ready;


ngx_uint_t
ngx_prefs_auth_perms_parse(u_char *list, size_t len)
{
    u_char      *p, *end, *comma;
    size_t       n;
    ngx_uint_t   i, perms;

    perms = 0;
    p = list;
    end = list + len;

    while (p < end) {
        comma = ngx_strlchr(p, end, ',');
        n = (comma ? comma : end) - p;

        for (i = 0; ngx_prefs_auth_perm_names[i]; i++) {
            if (ngx_strlen(ngx_prefs_auth_perm_names[i]) == n
                && ngx_strncmp(ngx_prefs_auth_perm_names[i], p, n) == 0)
            {
                perms |= (ngx_uint_t) 1 << i;
                break;
            }
        }

        p += n + 1;
    }

    return perms;
}


const char *
ngx_prefs_auth_perm_name(ngx_uint_t perm)
{
    ngx_uint_t  i;

    for (i = 0; ngx_prefs_auth_perm_names[i]; i++) {
        if (perm == ((ngx_uint_t) 1 << i)) {
            return ngx_prefs_auth_perm_names[i];
        }
    }

    return "unknown";
}


ngx_prefs_auth_entry_t *
ngx_prefs_auth_cache_get(ngx_str_t *key)
{
    uint32_t                 hash;
    ngx_str_node_t          *sn;
    ngx_prefs_auth_entry_t  *e;

    if (!ngx_prefs_auth_cache_ready) {
        return NULL;
    }

    hash = ngx_crc32_long(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&ngx_prefs_auth_cache, key, hash);
    if (sn == NULL) {
        return NULL;
    }

    e = (ngx_prefs_auth_entry_t *) sn;

    if ((ngx_msec_int_t) (e->expires - ngx_current_msec) <= 0
        || ngx_prefs_auth_cache_stale(e))
    {
        ngx_prefs_auth_cache_free(e);
        return NULL;
    }

    ngx_queue_remove(&e->lru);
    ngx_queue_insert_head(&ngx_prefs_auth_cache_lru, &e->lru);

    return e;
}


ngx_prefs_auth_entry_t *
ngx_prefs_auth_cache_put(ngx_str_t *key, ngx_prefs_auth_entry_t *value,
    ngx_msec_t ttl, ngx_uint_t max)
{
    ngx_queue_t             *q;
    ngx_str_node_t          *sn;
    ngx_prefs_shm_t         *sh;
    ngx_prefs_auth_entry_t  *e;

    if (!ngx_prefs_auth_cache_ready) {
        ngx_rbtree_init(&ngx_prefs_auth_cache, &ngx_prefs_auth_cache_sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&ngx_prefs_auth_cache_lru);
        ngx_prefs_auth_cache_ready = 1;
    }

    sn = ngx_str_rbtree_lookup(&ngx_prefs_auth_cache, key,
                               ngx_crc32_long(key->data, key->len));
    if (sn) {
        ngx_prefs_auth_cache_free((ngx_prefs_auth_entry_t *) sn);
    }

    while (ngx_prefs_auth_cache_n >= max
           && !ngx_queue_empty(&ngx_prefs_auth_cache_lru))
    {
        q = ngx_queue_last(&ngx_prefs_auth_cache_lru);
        ngx_prefs_auth_cache_free(ngx_queue_data(q, ngx_prefs_auth_entry_t,
                                                 lru));
    }

    /* filled when the cache misses, not on the hot path */
    e = ngx_alloc(sizeof(ngx_prefs_auth_entry_t) + key->len, ngx_cycle->log);
    if (e == NULL) {
        return NULL;
    }

    *e = *value;

    e->sn.str.len = key->len;
    e->sn.str.data = (u_char *) e + sizeof(ngx_prefs_auth_entry_t);
    ngx_memcpy(e->sn.str.data, key->data, key->len);
    e->sn.node.key = ngx_crc32_long(key->data, key->len);
    e->expires = ngx_current_msec + ttl;

    sh = ngx_prefs_auth_shm();

    if (sh) {
        e->gen_seen = sh->config_gen[e->account_id
                                     % NGX_PREFS_SHM_CONFIG_GENS];
    }

    ngx_rbtree_insert(&ngx_prefs_auth_cache, &e->sn.node);
    ngx_queue_insert_head(&ngx_prefs_auth_cache_lru, &e->lru);
    ngx_prefs_auth_cache_n++;

    return e;
}


static ngx_prefs_shm_t *
ngx_prefs_auth_shm(void)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_prefs_module);

    return pmcf ? pmcf->sh : NULL;
}


/*
 * Whatever takes access away in the database (DELETE Users/{id}, and any
 * change of the account's configuration) notifies prefs_config; the helper
 * bumps the account's counter in the shared zone (src/helper/
 * ngx_prefs_config_relay.c), and every worker's entries of that account
 * are stale at once, not when prefs_auth_cache_time ends.
 */

static ngx_uint_t
ngx_prefs_auth_cache_stale(ngx_prefs_auth_entry_t *e)
{
    ngx_prefs_shm_t  *sh;

    sh = ngx_prefs_auth_shm();

    if (sh == NULL || e->account_id <= 0) {
        return 0;
    }

    /*
     * Not the epoch: a helper that (re)starts listening may have missed a
     * notification, but the entries end with prefs_auth_cache_time anyway,
     * and a cache emptied at every helper start would send every credential
     * to the database at once.
     */

    return sh->config_gen[e->account_id % NGX_PREFS_SHM_CONFIG_GENS]
           != e->gen_seen;
}


static void
ngx_prefs_auth_cache_free(ngx_prefs_auth_entry_t *e)
{
    ngx_rbtree_delete(&ngx_prefs_auth_cache, &e->sn.node);
    ngx_queue_remove(&e->lru);
    ngx_prefs_auth_cache_n--;

    prefs_hmac_wipe(e->secret, sizeof(e->secret));
    ngx_free(e);
}


ngx_int_t
ngx_prefs_auth_init_zone(ngx_http_prefs_main_conf_t *pmcf,
    ngx_slab_pool_t *shpool)
{
    ngx_rbtree_init(&pmcf->sh->fail_tree, &pmcf->sh->fail_sentinel,
                    ngx_prefs_auth_fail_insert);
    ngx_queue_init(&pmcf->sh->fail_lru);

    return NGX_OK;
}


/* seconds the name is refused for, or 0 */

time_t
ngx_prefs_auth_throttled(ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key)
{
    time_t                  left;
    ngx_msec_int_t          ms;
    ngx_prefs_auth_fail_t  *f;

    if (pmcf->sh == NULL || pmcf->auth.max_failures == 0) {
        return 0;
    }

    left = 0;

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    f = ngx_prefs_auth_fail_lookup(pmcf->sh, key,
                                   ngx_crc32_short(key->data, key->len));

    if (f && f->count >= pmcf->auth.max_failures) {
        ms = (ngx_msec_int_t) (f->window_start + pmcf->auth.failure_window
                               - ngx_current_msec);
        if (ms > 0) {
            left = (time_t) ((ms + 999) / 1000);
        }
    }

    ngx_shmtx_unlock(&pmcf->shpool->mutex);

    return left;
}


void
ngx_prefs_auth_failed(ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key)
{
    size_t                  size;
    uint32_t                hash;
    ngx_queue_t            *q;
    ngx_rbtree_node_t      *node;
    ngx_prefs_auth_fail_t  *f;

    if (pmcf->sh == NULL || pmcf->auth.max_failures == 0 || key->len > 255) {
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    f = ngx_prefs_auth_fail_lookup(pmcf->sh, key, hash);

    if (f) {
        if ((ngx_msec_int_t) (ngx_current_msec - f->window_start)
            >= (ngx_msec_int_t) pmcf->auth.failure_window)
        {
            f->window_start = ngx_current_msec;
            f->count = 0;
        }

        f->count++;
        ngx_queue_remove(&f->lru);
        ngx_queue_insert_head(&pmcf->sh->fail_lru, &f->lru);
        goto done;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_prefs_auth_fail_t, data) + key->len;

    node = ngx_slab_alloc_locked(pmcf->shpool, size);

    while (node == NULL && !ngx_queue_empty(&pmcf->sh->fail_lru)) {
        /* the zone is full: forget the oldest names first */
        q = ngx_queue_last(&pmcf->sh->fail_lru);
        f = ngx_queue_data(q, ngx_prefs_auth_fail_t, lru);
        node = (ngx_rbtree_node_t *)
                   ((u_char *) f - offsetof(ngx_rbtree_node_t, color));
        ngx_queue_remove(q);
        ngx_rbtree_delete(&pmcf->sh->fail_tree, node);
        ngx_slab_free_locked(pmcf->shpool, node);

        node = ngx_slab_alloc_locked(pmcf->shpool, size);
    }

    if (node == NULL) {
        goto done;
    }

    node->key = hash;
    f = (ngx_prefs_auth_fail_t *) &node->color;
    f->len = (u_char) key->len;
    ngx_memcpy(f->data, key->data, key->len);
    f->window_start = ngx_current_msec;
    f->count = 1;

    ngx_rbtree_insert(&pmcf->sh->fail_tree, node);
    ngx_queue_insert_head(&pmcf->sh->fail_lru, &f->lru);

done:

    ngx_shmtx_unlock(&pmcf->shpool->mutex);
}


static ngx_prefs_auth_fail_t *
ngx_prefs_auth_fail_lookup(ngx_prefs_shm_t *sh, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t               rc;
    ngx_rbtree_node_t      *node, *sentinel;
    ngx_prefs_auth_fail_t  *f;

    node = sh->fail_tree.root;
    sentinel = sh->fail_tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        f = (ngx_prefs_auth_fail_t *) &node->color;

        rc = ngx_memn2cmp(key->data, f->data, key->len, (size_t) f->len);

        if (rc == 0) {
            return f;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_prefs_auth_fail_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t      **p;
    ngx_prefs_auth_fail_t   *fn, *ft;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            fn = (ngx_prefs_auth_fail_t *) &node->color;
            ft = (ngx_prefs_auth_fail_t *) &temp->color;

            p = (ngx_memn2cmp(fn->data, ft->data, fn->len, ft->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_int_t
ngx_prefs_auth_unauthorized(ngx_http_request_t *r, const char *message)
{
    u_char                      *p;
    size_t                       len;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    len = sizeof("PNAUTHINFO3 realm=\"\"") - 1 + pmcf->auth.realm.len;

    p = ngx_pnalloc(r->pool, len);

    if (p == NULL
        || ngx_prefs_http_header(r, "WWW-Authenticate", (char *) p,
                                 ngx_sprintf(p, "PNAUTHINFO3 realm=\"%V\"",
                                             &pmcf->auth.realm) - p)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_prefs_http_header(r, "Cache-Control", "no-cache", 0)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_http_error(r, NGX_HTTP_UNAUTHORIZED, "%s", message);
}


/*
 * The cache key names the account and the credential: "h" + clientId +
 * user name for PNAUTHINFO3, "b" + clientId + token hash for a bearer
 * token, "a" + clientId when the header says nothing usable (to tell 404
 * from 401).
 */

ngx_int_t
ngx_prefs_auth_request(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                      *p;
    char                         hash[65];
    ngx_int_t                    rc;
    ngx_str_t                   *h;
    ngx_prefs_stmt_e             stmt;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_auth_entry_t      *e;
    ngx_http_prefs_loc_conf_t   *plcf;

    h = r->headers_in.authorization ? &r->headers_in.authorization->value
                                    : NULL;

    ctx->auth_rc = h ? prefs_auth_parse((char *) h->data, h->len, &ctx->auth)
                     : PREFS_AUTH_MISSING;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 2 + ctx->client_id.len + 1
                             + PREFS_AUTH_MAX_USER + 65);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cache_key.data = p;

    /* the database first: one nginx may serve several */
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);
    p = ngx_sprintf(p, "%ui:", ngx_prefs_db_pool_database(plcf->pool));

    if (ctx->auth_rc != PREFS_AUTH_OK) {
        stmt = NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID;
        p = ngx_sprintf(p, "a%V", &ctx->client_id);

    } else if (ctx->auth.kind == PREFS_AUTH_HMAC) {
        stmt = NGX_PREFS_STMT_AUTH_HMAC;
        p = ngx_sprintf(p, "h%V\n%*s", &ctx->client_id,
                        ctx->auth.user_len, ctx->auth.user);

    } else {
        if (prefs_hmac_sha256_hex(ctx->auth.token, ctx->auth.token_len, hash)
            != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        stmt = NGX_PREFS_STMT_AUTH_BEARER;
        p = ngx_sprintf(p, "b%V\n%s", &ctx->client_id, hash);
    }

    ctx->cache_key.len = p - ctx->cache_key.data;

    e = ngx_prefs_auth_cache_get(&ctx->cache_key);
    if (e) {
        rc = ngx_prefs_auth_authorize(r, ctx, e, 0);

        if (rc != NGX_AGAIN) {
            return rc;
        }

        /*
         * The cached entry refused the credential: ask the database once,
         * so that a user, secret or token created since is seen at once.
         * Refusals stay bounded by prefs_auth_max_failures.
         */
    }

    q = ngx_prefs_db_query_create(r->pool, plcf->pool, stmt,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the clientId segment is null-terminated by the path parser */
    q->values[0] = (char *) ctx->client_id.data;

    if (stmt == NGX_PREFS_STMT_AUTH_HMAC) {
        rc = ngx_prefs_db_param(q, r->pool, 1, (u_char *) ctx->auth.user,
                                ctx->auth.user_len);

    } else if (stmt == NGX_PREFS_STMT_AUTH_BEARER) {
        rc = ngx_prefs_db_param(q, r->pool, 1, (u_char *) hash, 64);

    } else {
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->handler = ngx_prefs_auth_done;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_auth_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t                    rc;
    PGresult                    *res;
    ngx_http_request_t          *r = q->data;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_prefs_auth_entry_t       entry, *e;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_db_error(r, q));
        return;
    }

    res = q->res;
    ngx_memzero(&entry, sizeof(ngx_prefs_auth_entry_t));

    if (PQntuples(res) == 1) {
        entry.account_id = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_ACCOUNT_ID);
    }

    /* an unknown credential asks only for the account */

    if (entry.account_id > 0 && q->stmt != NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID)
    {
        entry.window_ms = 1000 * ngx_prefs_db_number(q, 0,
                                                     NGX_PREFS_COL_WINDOW_S);
        entry.user_id = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_USER_ID);
        entry.active = (ngx_prefs_db_value(q, 0, NGX_PREFS_COL_ACTIVE)[0]
                        == 't');
        entry.perms = ngx_prefs_auth_perms_parse(
                          (u_char *) ngx_prefs_db_value(q, 0,
                                                   NGX_PREFS_COL_PERMISSIONS),
                          ngx_prefs_db_length(q, 0,
                                              NGX_PREFS_COL_PERMISSIONS));
        entry.token_expires_ms = ngx_prefs_db_number(q, 0,
                                             NGX_PREFS_COL_TOKEN_EXPIRES_MS);

        if (ngx_prefs_auth_unseal(r, &entry,
                (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_SECRETS),
                ngx_prefs_db_length(q, 0, NGX_PREFS_COL_SECRETS))
            != NGX_OK)
        {
            prefs_hmac_wipe(entry.secret, sizeof(entry.secret));
            ngx_prefs_http_finalize(r,
                ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "Internal error"));
            return;
        }
    }

    e = ngx_prefs_auth_cache_put(&ctx->cache_key, &entry,
                                 pmcf->auth.cache_time, pmcf->auth.cache_size);
    prefs_hmac_wipe(entry.secret, sizeof(entry.secret));

    if (e == NULL) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_prefs_auth_authorize(r, ctx, e, 1);

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_auth_unseal(ngx_http_request_t *r, ngx_prefs_auth_entry_t *e,
    u_char *list, size_t len)
{
    int                          rc;
    size_t                       n, plain_len;
    u_char                      *p, *end, *comma;
    ngx_uint_t                   sealed;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    sealed = 0;
    p = list;
    end = list + len;

    while (p < end && e->nsecrets < NGX_PREFS_AUTH_SECRETS) {
        comma = ngx_strlchr(p, end, ',');
        n = (comma ? comma : end) - p;

        rc = prefs_seal_open(pmcf->auth.secret_key, (char *) p, n,
                             e->secret[e->nsecrets],
                             NGX_PREFS_AUTH_SECRET_MAX, &plain_len);
        p += n + 1;
        sealed++;

        if (rc != PREFS_AUTH_OK) {
            /* the other secret may still serve: this one is only logged */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "prefs auth: a secret of user %L cannot be "
                          "unsealed: was it sealed with another "
                          "prefs_secret_key?", e->user_id);
            continue;
        }

        e->secret_len[e->nsecrets++] = plain_len;
    }

    return (sealed && e->nsecrets == 0) ? NGX_ERROR : NGX_OK;
}


/* NGX_AGAIN: a cached entry refused the credential, ask the database */

static ngx_int_t
ngx_prefs_auth_authorize(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_auth_entry_t *e, ngx_uint_t fresh)
{
    int                          rc;
    time_t                       wait;
    int64_t                      now;
    ngx_uint_t                   i;
    ngx_time_t                  *tp;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (e->account_id <= 0) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_ACCOUNT);
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No account has the clientId \"%V\"",
                                    &ctx->client_id);
    }

    if (ctx->auth_rc != PREFS_AUTH_OK) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_HEADER);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: %s%s%s", prefs_auth_message(ctx->auth_rc),
                      ctx->auth.reason ? ": " : "",
                      ctx->auth.reason ? ctx->auth.reason : "");
        return ngx_prefs_auth_unauthorized(r,
                                           prefs_auth_message(ctx->auth_rc));
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    if (ctx->auth.kind == PREFS_AUTH_BEARER) {
        if (e->user_id <= 0 || !e->active || e->token_expires_ms <= now) {
            if (!fresh && e->user_id <= 0) {
                return NGX_AGAIN;
            }

            ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_TOKEN);
            return ngx_prefs_auth_refuse(r, ctx,
                                             "unknown or expired token");
        }

        goto authorized;
    }

    /* the failures key is the cache key: account and user name */

    wait = ngx_prefs_auth_throttled(pmcf, &ctx->cache_key);

    if (wait) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_THROTTLED);

        if (ngx_prefs_http_retry_after(r, wait) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "prefs auth: user \"%*s\" of \"%V\" refused for %T s "
                      "after repeated failures",
                      ctx->auth.user_len, ctx->auth.user, &ctx->client_id,
                      wait);

        return ngx_prefs_http_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                    "Too many failed attempts for this user: "
                                    "try again later");
    }

    rc = prefs_auth_check_time(ctx->auth.ts_ms, now, e->window_ms,
                               NGX_PREFS_AUTH_SKEW);
    if (rc != PREFS_AUTH_OK) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_TIMESTAMP);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: timestamp %*s is %s",
                      ctx->auth.ts_len, ctx->auth.ts,
                      rc == PREFS_AUTH_TOO_OLD ? "too old" : "in the future");
        return ngx_prefs_auth_unauthorized(r, prefs_auth_message(rc));
    }

    if (e->user_id <= 0 || !e->active) {
        if (!fresh) {
            return NGX_AGAIN;
        }

        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_USER);
        return ngx_prefs_auth_refuse(r, ctx, "unknown or inactive user");
    }

    for (i = 0; i < e->nsecrets; i++) {
        if (prefs_hmac_verify(&ctx->auth, e->secret[i], e->secret_len[i],
                              (char *) ctx->client_id.data,
                              ctx->client_id.len)
            == PREFS_AUTH_OK)
        {
            goto authorized;
        }
    }

    if (!fresh) {
        return NGX_AGAIN;
    }

    ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_SIGNATURE);
    return ngx_prefs_auth_refuse(r, ctx, "signature does not match");

authorized:

    ctx->account_id = e->account_id;
    ctx->user_id = e->user_id;
    ctx->perms = e->perms;

    *ngx_sprintf((u_char *) ctx->account_text, "%L", e->account_id) = '\0';
    *ngx_sprintf((u_char *) ctx->user_text, "%L", e->user_id) = '\0';

    return ctx->authorized(r, ctx);
}


static ngx_int_t
ngx_prefs_auth_refuse(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *why)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (ctx->auth.kind == PREFS_AUTH_HMAC) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: user \"%*s\" of \"%V\" refused: %s",
                      ctx->auth.user_len, ctx->auth.user, &ctx->client_id,
                      why);

        ngx_prefs_auth_failed(pmcf, &ctx->cache_key);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: bearer token for \"%V\" refused: %s",
                      &ctx->client_id, why);
    }

    return ngx_prefs_auth_unauthorized(r, "Unable to authenticate request");
}
