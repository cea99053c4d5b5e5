
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Authentication of the API locations, and what it keeps between requests.
 *
 * A request's credential (PNAUTHINFO3 or a bearer token) and clientId are
 * looked up in the cache or in one query; an unknown clientId is 404, a
 * bad credential 401 with the documented messages, repeated failures 429.
 * An authenticated request goes on to ctx->authorized.
 *
 * A per-worker cache maps a credential (an account and user name for
 * PNAUTHINFO3, an account and token hash for a bearer token) to what the
 * database said of it, secrets unsealed, for prefs_auth_cache_time; a
 * steady stream of signed requests costs no round trip to authenticate.
 * A deactivated user stops working when its entry expires; a deleted one
 * at once, on every worker (ngx_prefs_auth_cache_stale()).  That a user
 * name does not exist is kept briefly (prefs_auth_unknown_user_time), in
 * at most half the entries.
 *
 * Failed attempts are counted in the shared zone, so that every worker
 * sees them, per source address and per user name from that address: past
 * the limits a wrong signature is 429 for a window, and a source's unknown
 * names are refused without a query.  A correct signature is never
 * refused for others' failures: it is checked first.  Every refusal of a
 * credential is answered after prefs_auth_failure_delay.
 *
 * An account may require the request-bound form of PNAUTHINFO3
 * (Binding=request) and accept each signature once: a replay cache of
 * signatures in the shared zone, which fails closed when it is full.
 * docs/authentication.md tells clients; docs/architecture.md the rest.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "prefs_b64.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"


#define NGX_PREFS_AUTH_SKEW        60000

/* an account id, then the start of the signature */
#define NGX_PREFS_AUTH_REPLAY_KEY  32

/* the longest failure key: "u", source length, source, cache key */
#define NGX_PREFS_AUTH_FAIL_KEY    255

/* what ngx_prefs_auth_authorize() decided, beside its answer */
#define NGX_PREFS_AUTH_ANSWERED      0
#define NGX_PREFS_AUTH_GRANTED       1
#define NGX_PREFS_AUTH_ASK           2

/* what ngx_prefs_auth_hmac_fail() does */
#define NGX_PREFS_AUTH_LOOK          0
#define NGX_PREFS_AUTH_COUNT         1
#define NGX_PREFS_AUTH_COUNT_SOURCE  2

/* a full zone is logged at most this often, per worker */
#define NGX_PREFS_AUTH_FULL_LOG    60000


typedef struct {
    u_char                     color;
    u_char                     len;
    u_char                     locked;
    ngx_queue_t                lru;          /* sh->fail_lru or fail_locked */
    ngx_msec_t                 window_start;
    ngx_msec_t                 locked_until;
    ngx_uint_t                 count;
    u_char                     data[1];
} ngx_prefs_auth_fail_t;


typedef struct {
    ngx_str_node_t             sn;
    ngx_queue_t                queue;
    int64_t                    expires_ms;   /* wall clock: ts + window */
    u_char                     key[NGX_PREFS_AUTH_REPLAY_KEY];
} ngx_prefs_auth_replay_t;


/* a refusal, answered after prefs_auth_failure_delay */
typedef struct {
    ngx_event_t                ev;
    ngx_uint_t                 status;
    time_t                     retry_after;
    const char                *message;
} ngx_prefs_auth_delay_t;


static void ngx_prefs_auth_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_auth_authorize(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_auth_entry_t *e, ngx_uint_t fresh,
    ngx_uint_t *verdict);
static ngx_int_t ngx_prefs_auth_unseal(ngx_http_request_t *r,
    ngx_prefs_auth_entry_t *e, u_char *list, size_t len);
static ngx_int_t ngx_prefs_auth_refuse(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *why, const char *message);
static ngx_int_t ngx_prefs_auth_answer(ngx_http_request_t *r,
    ngx_uint_t status, time_t retry_after, const char *message);
static void ngx_prefs_auth_delay_handler(ngx_event_t *ev);
static void ngx_prefs_auth_delay_cleanup(void *data);
static ngx_int_t ngx_prefs_auth_throttle_answer(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, time_t wait, ngx_uint_t source);
static time_t ngx_prefs_auth_hmac_fail(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_uint_t count, ngx_uint_t *source);
static void ngx_prefs_auth_fail_keys(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_str_t *source, ngx_str_t *user);
static time_t ngx_prefs_auth_fail_left_locked(ngx_prefs_shm_t *sh,
    ngx_str_t *key);
static time_t ngx_prefs_auth_fail_count_locked(
    ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key, ngx_uint_t max);
static void ngx_prefs_auth_fail_unlock(ngx_prefs_shm_t *sh,
    ngx_prefs_auth_fail_t *f);
static ngx_uint_t ngx_prefs_auth_fail_evict(ngx_http_prefs_main_conf_t *pmcf);
static ngx_int_t ngx_prefs_auth_replay_claim(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_auth_entry_t *e);
static void ngx_prefs_auth_replay_purge(ngx_http_prefs_main_conf_t *pmcf,
    int64_t now_ms, ngx_uint_t all);
static void ngx_prefs_auth_zone_full(ngx_log_t *log, const char *what);
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


/*
 * Negative entries (no such account, user or token) have an LRU list of
 * their own and at most half of prefs_auth_cache_size: a flood of junk
 * names cannot push the real users' entries out.
 */
static ngx_rbtree_t       ngx_prefs_auth_cache;
static ngx_rbtree_node_t  ngx_prefs_auth_cache_sentinel;
static ngx_queue_t        ngx_prefs_auth_cache_lru;
static ngx_queue_t        ngx_prefs_auth_cache_neg_lru;
static ngx_uint_t         ngx_prefs_auth_cache_n;
static ngx_uint_t         ngx_prefs_auth_cache_neg_n;
static ngx_uint_t         ngx_prefs_auth_cache_ready;
static ngx_msec_t         ngx_prefs_auth_full_logged;
static ngx_uint_t         ngx_prefs_auth_full_ever;


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
    ngx_queue_insert_head(e->negative ? &ngx_prefs_auth_cache_neg_lru
                                      : &ngx_prefs_auth_cache_lru, &e->lru);

    return e;
}


ngx_prefs_auth_entry_t *
ngx_prefs_auth_cache_put(ngx_str_t *key, ngx_prefs_auth_entry_t *value,
    ngx_msec_t ttl, ngx_uint_t max)
{
    ngx_queue_t             *q, *lru;
    ngx_uint_t               neg_max;
    ngx_str_node_t          *sn;
    ngx_prefs_shm_t         *sh;
    ngx_prefs_auth_entry_t  *e;

    if (!ngx_prefs_auth_cache_ready) {
        ngx_rbtree_init(&ngx_prefs_auth_cache, &ngx_prefs_auth_cache_sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&ngx_prefs_auth_cache_lru);
        ngx_queue_init(&ngx_prefs_auth_cache_neg_lru);
        ngx_prefs_auth_cache_ready = 1;
    }

    sn = ngx_str_rbtree_lookup(&ngx_prefs_auth_cache, key,
                               ngx_crc32_long(key->data, key->len));
    if (sn) {
        ngx_prefs_auth_cache_free((ngx_prefs_auth_entry_t *) sn);
    }

    neg_max = max / 2 ? max / 2 : 1;

    /* negatives make room among themselves, and are the first to go */

    while ((ngx_prefs_auth_cache_n >= max
            || (value->negative && ngx_prefs_auth_cache_neg_n >= neg_max))
           && ngx_prefs_auth_cache_n > 0)
    {
        lru = ngx_queue_empty(&ngx_prefs_auth_cache_neg_lru)
              ? &ngx_prefs_auth_cache_lru : &ngx_prefs_auth_cache_neg_lru;
        q = ngx_queue_last(lru);
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
    ngx_queue_insert_head(e->negative ? &ngx_prefs_auth_cache_neg_lru
                                      : &ngx_prefs_auth_cache_lru, &e->lru);
    ngx_prefs_auth_cache_n++;
    ngx_prefs_auth_cache_neg_n += e->negative;

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
    ngx_prefs_auth_cache_neg_n -= e->negative;

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
    ngx_queue_init(&pmcf->sh->fail_locked);

    ngx_rbtree_init(&pmcf->sh->replay_tree, &pmcf->sh->replay_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&pmcf->sh->replay_queue);

    /*
     * A full zone is expected under a flood and handled here: the slab's
     * own "[crit] ngx_slab_alloc() failed: no memory" for every failed
     * request would flood the log instead (ngx_prefs_auth_zone_full()).
     */
    shpool->log_nomem = 0;

    return NGX_OK;
}


/* seconds the key is refused for, or 0 (the token endpoint's client_id) */

time_t
ngx_prefs_auth_throttled(ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key)
{
    time_t  left;

    if (pmcf->sh == NULL || pmcf->auth.max_failures == 0) {
        return 0;
    }

    ngx_shmtx_lock(&pmcf->shpool->mutex);
    left = ngx_prefs_auth_fail_left_locked(pmcf->sh, key);
    ngx_shmtx_unlock(&pmcf->shpool->mutex);

    return left;
}


void
ngx_prefs_auth_failed(ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key)
{
    if (pmcf->sh == NULL || pmcf->auth.max_failures == 0) {
        return;
    }

    ngx_shmtx_lock(&pmcf->shpool->mutex);
    (void) ngx_prefs_auth_fail_count_locked(pmcf, key,
                                            pmcf->auth.max_failures);
    ngx_shmtx_unlock(&pmcf->shpool->mutex);
}


/*
 * PNAUTHINFO3 failures are counted twice: per source address ("s"), and
 * per user name from that address ("u").  So a flood of bad signatures
 * or junk names locks its own source, never the name for everyone.
 * count: a failure to count (NGX_PREFS_AUTH_COUNT), one of the source
 * only (NGX_PREFS_AUTH_COUNT_SOURCE: a timestamp out of the window, which
 * says nothing of the name), else only a look.  The seconds the user from
 * this source, or the source, is locked for; *source set when it is the
 * source.
 */

static time_t
ngx_prefs_auth_hmac_fail(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_uint_t count, ngx_uint_t *source)
{
    time_t                       left, sleft;
    ngx_str_t                    skey, ukey;
    ngx_http_prefs_main_conf_t  *pmcf;
    u_char                       buf[2 * (NGX_PREFS_AUTH_FAIL_KEY + 1)];

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    *source = 0;

    if (pmcf->sh == NULL) {
        return 0;
    }

    skey.data = buf;
    ukey.data = buf + NGX_PREFS_AUTH_FAIL_KEY + 1;
    ngx_prefs_auth_fail_keys(r, ctx, &skey, &ukey);

    left = 0;
    sleft = 0;

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    if (pmcf->auth.max_failures && count != NGX_PREFS_AUTH_COUNT_SOURCE) {
        left = count
               ? ngx_prefs_auth_fail_count_locked(pmcf, &ukey,
                                                  pmcf->auth.max_failures)
               : ngx_prefs_auth_fail_left_locked(pmcf->sh, &ukey);
    }

    if (pmcf->auth.source_max_failures) {
        sleft = count
                ? ngx_prefs_auth_fail_count_locked(pmcf, &skey,
                                            pmcf->auth.source_max_failures)
                : ngx_prefs_auth_fail_left_locked(pmcf->sh, &skey);
    }

    ngx_shmtx_unlock(&pmcf->shpool->mutex);

    if (sleft && (left == 0 || !count)) {
        *source = 1;
        return sleft;
    }

    return left;
}


/*
 * The source is the client's address (after realip, if configured); an
 * IPv6 client by its /64, which one host usually has to itself.  ukey is
 * left empty when the cache key is too long to be a name that exists.
 */

static void
ngx_prefs_auth_fail_keys(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_str_t *source, ngx_str_t *user)
{
    u_char               *p, *addr;
    size_t                n;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            addr = &sin6->sin6_addr.s6_addr[12];
            n = 4;

        } else {
            addr = sin6->sin6_addr.s6_addr;
            n = 8;
        }

        break;
#endif

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        addr = (u_char *) &sin->sin_addr;
        n = 4;
        break;

    default:
        /* a UNIX socket: every client is the one local source */
        addr = (u_char *) "unix";
        n = 4;
        break;
    }

    p = source->data;
    *p++ = 's';
    p = ngx_cpymem(p, addr, n);
    source->len = p - source->data;

    user->len = 0;

    if (source->len + ctx->cache_key.len <= NGX_PREFS_AUTH_FAIL_KEY) {
        p = user->data;
        *p++ = 'u';
        p = ngx_cpymem(p, source->data + 1, n);
        p = ngx_cpymem(p, ctx->cache_key.data, ctx->cache_key.len);
        user->len = p - user->data;
    }
}


/* seconds the key is locked for, or 0; the zone's mutex held */

static time_t
ngx_prefs_auth_fail_left_locked(ngx_prefs_shm_t *sh, ngx_str_t *key)
{
    ngx_msec_int_t          ms;
    ngx_prefs_auth_fail_t  *f;

    if (key->len == 0 || key->len > NGX_PREFS_AUTH_FAIL_KEY) {
        return 0;
    }

    f = ngx_prefs_auth_fail_lookup(sh, key,
                                   ngx_crc32_short(key->data, key->len));

    if (f == NULL || !f->locked) {
        return 0;
    }

    ms = (ngx_msec_int_t) (f->locked_until - ngx_current_msec);

    return ms > 0 ? (time_t) ((ms + 999) / 1000) : 0;
}


/*
 * Counts a failure of the key; at max failures within the window the key
 * is locked for a window from then on: the seconds it is locked for, or
 * 0.  A locked key is kept on a list of its own and never evicted before
 * its lock ends (a flood of other names must not lift it).  The zone's
 * mutex held.
 */

static time_t
ngx_prefs_auth_fail_count_locked(ngx_http_prefs_main_conf_t *pmcf,
    ngx_str_t *key, ngx_uint_t max)
{
    size_t                  size;
    uint32_t                hash;
    ngx_msec_t              window;
    ngx_prefs_shm_t        *sh;
    ngx_rbtree_node_t      *node;
    ngx_prefs_auth_fail_t  *f;

    if (key->len == 0 || key->len > NGX_PREFS_AUTH_FAIL_KEY) {
        return 0;
    }

    sh = pmcf->sh;
    window = pmcf->auth.failure_window;
    hash = ngx_crc32_short(key->data, key->len);

    f = ngx_prefs_auth_fail_lookup(sh, key, hash);

    if (f == NULL) {
        size = offsetof(ngx_rbtree_node_t, color)
               + offsetof(ngx_prefs_auth_fail_t, data) + key->len;

        node = ngx_slab_alloc_locked(pmcf->shpool, size);

        while (node == NULL && ngx_prefs_auth_fail_evict(pmcf)) {
            node = ngx_slab_alloc_locked(pmcf->shpool, size);
        }

        if (node == NULL) {
            ngx_prefs_auth_zone_full(ngx_cycle->log,
                                     "failures of new names and sources "
                                     "are not counted until locks end");
            return 0;
        }

        node->key = hash;
        f = (ngx_prefs_auth_fail_t *) &node->color;
        f->len = (u_char) key->len;
        f->locked = 0;
        ngx_memcpy(f->data, key->data, key->len);
        f->window_start = ngx_current_msec;
        f->count = 0;

        ngx_rbtree_insert(&sh->fail_tree, node);
        ngx_queue_insert_head(&sh->fail_lru, &f->lru);
    }

    if (f->locked) {
        if ((ngx_msec_int_t) (f->locked_until - ngx_current_msec) > 0) {
            return ngx_prefs_auth_fail_left_locked(sh, key);
        }

        ngx_prefs_auth_fail_unlock(sh, f);
    }

    if ((ngx_msec_int_t) (ngx_current_msec - f->window_start)
        >= (ngx_msec_int_t) window)
    {
        f->window_start = ngx_current_msec;
        f->count = 0;
    }

    f->count++;
    ngx_queue_remove(&f->lru);

    if (f->count < max) {
        ngx_queue_insert_head(&sh->fail_lru, &f->lru);
        return 0;
    }

    f->locked = 1;
    f->locked_until = ngx_current_msec + window;
    ngx_queue_insert_head(&sh->fail_locked, &f->lru);

    return (time_t) ((window + 999) / 1000);
}


static void
ngx_prefs_auth_fail_unlock(ngx_prefs_shm_t *sh, ngx_prefs_auth_fail_t *f)
{
    f->locked = 0;
    f->count = 0;
    f->window_start = ngx_current_msec;

    ngx_queue_remove(&f->lru);
    ngx_queue_insert_head(&sh->fail_lru, &f->lru);
}


/*
 * Frees one failure counter to make room: a lock that has ended, else the
 * counter that failed longest ago; never a live lock.  0: nothing to free.
 */

static ngx_uint_t
ngx_prefs_auth_fail_evict(ngx_http_prefs_main_conf_t *pmcf)
{
    ngx_queue_t            *q;
    ngx_prefs_shm_t        *sh;
    ngx_rbtree_node_t      *node;
    ngx_prefs_auth_fail_t  *f;

    sh = pmcf->sh;
    f = NULL;

    if (!ngx_queue_empty(&sh->fail_locked)) {
        q = ngx_queue_last(&sh->fail_locked);
        f = ngx_queue_data(q, ngx_prefs_auth_fail_t, lru);

        if ((ngx_msec_int_t) (f->locked_until - ngx_current_msec) > 0) {
            f = NULL;
        }
    }

    if (f == NULL && !ngx_queue_empty(&sh->fail_lru)) {
        q = ngx_queue_last(&sh->fail_lru);
        f = ngx_queue_data(q, ngx_prefs_auth_fail_t, lru);
    }

    if (f == NULL) {
        return 0;
    }

    node = (ngx_rbtree_node_t *)
               ((u_char *) f - offsetof(ngx_rbtree_node_t, color));
    ngx_queue_remove(&f->lru);
    ngx_rbtree_delete(&sh->fail_tree, node);
    ngx_slab_free_locked(pmcf->shpool, node);

    return 1;
}


static void
ngx_prefs_auth_zone_full(ngx_log_t *log, const char *what)
{
    if (ngx_prefs_auth_full_ever
        && ngx_current_msec - ngx_prefs_auth_full_logged
           < NGX_PREFS_AUTH_FULL_LOG)
    {
        return;
    }

    ngx_prefs_auth_full_ever = 1;
    ngx_prefs_auth_full_logged = ngx_current_msec;

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "prefs auth: the shared zone \"ngx_http_prefs\" is full: "
                  "%s (logged at most once a minute)", what);
}


/*
 * An account with once-only signatures: the first request that shows a
 * signature claims it until the signature's window ends (its timestamp
 * plus the account's window).  NGX_OK: first use; NGX_DECLINED: used
 * before; NGX_BUSY: no room, so the request cannot be checked and is
 * refused (fails closed).
 */

static ngx_int_t
ngx_prefs_auth_replay_claim(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_auth_entry_t *e)
{
    long                          n;
    int64_t                       now_ms;
    uint32_t                      hash;
    ngx_str_t                     key;
    ngx_int_t                     rc;
    ngx_time_t                   *tp;
    ngx_str_node_t               *sn;
    ngx_prefs_auth_replay_t      *rp;
    ngx_http_prefs_main_conf_t   *pmcf;
    u_char                        raw[PREFS_AUTH_MD_MAX];
    u_char                        buf[NGX_PREFS_AUTH_REPLAY_KEY];

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (pmcf->sh == NULL) {
        return NGX_BUSY;
    }

    /* the parser has checked the signature's base64 and length (>= 32) */

    n = prefs_b64_decode(ctx->auth.sig, ctx->auth.sig_len, raw, sizeof(raw),
                         PREFS_B64_STD);
    if (n < NGX_PREFS_AUTH_REPLAY_KEY - (long) sizeof(int64_t)) {
        return NGX_BUSY;
    }

    ngx_memcpy(buf, &e->account_id, sizeof(int64_t));
    ngx_memcpy(buf + sizeof(int64_t), raw,
               NGX_PREFS_AUTH_REPLAY_KEY - sizeof(int64_t));

    key.data = buf;
    key.len = NGX_PREFS_AUTH_REPLAY_KEY;
    hash = ngx_crc32_short(buf, key.len);

    tp = ngx_timeofday();
    now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    rc = NGX_OK;

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    ngx_prefs_auth_replay_purge(pmcf, now_ms, 0);

    sn = ngx_str_rbtree_lookup(&pmcf->sh->replay_tree, &key, hash);

    if (sn) {
        rp = (ngx_prefs_auth_replay_t *) sn;

        if (rp->expires_ms >= now_ms) {
            rc = NGX_DECLINED;
            goto done;
        }

        /* ended, not yet freed: claimed again, as if new */
        rp->expires_ms = ctx->auth.ts_ms + e->window_ms;
        ngx_queue_remove(&rp->queue);
        ngx_queue_insert_head(&pmcf->sh->replay_queue, &rp->queue);
        goto done;
    }

    rp = ngx_slab_alloc_locked(pmcf->shpool, sizeof(ngx_prefs_auth_replay_t));

    if (rp == NULL) {
        ngx_prefs_auth_replay_purge(pmcf, now_ms, 1);
        rp = ngx_slab_alloc_locked(pmcf->shpool,
                                   sizeof(ngx_prefs_auth_replay_t));
    }

    while (rp == NULL && ngx_prefs_auth_fail_evict(pmcf)) {
        rp = ngx_slab_alloc_locked(pmcf->shpool,
                                   sizeof(ngx_prefs_auth_replay_t));
    }

    if (rp == NULL) {
        ngx_prefs_auth_zone_full(r->connection->log,
                                 "requests of accounts with once-only "
                                 "signatures are refused (503)");
        rc = NGX_BUSY;
        goto done;
    }

    ngx_memcpy(rp->key, buf, NGX_PREFS_AUTH_REPLAY_KEY);
    rp->sn.str.data = rp->key;
    rp->sn.str.len = NGX_PREFS_AUTH_REPLAY_KEY;
    rp->sn.node.key = hash;
    rp->expires_ms = ctx->auth.ts_ms + e->window_ms;

    ngx_rbtree_insert(&pmcf->sh->replay_tree, &rp->sn.node);
    ngx_queue_insert_head(&pmcf->sh->replay_queue, &rp->queue);

done:

    ngx_shmtx_unlock(&pmcf->shpool->mutex);

    return rc;
}


/*
 * Frees the signatures whose window has ended: from the oldest claimed
 * while they have, or all of them (the zone is full).  The mutex held.
 */

static void
ngx_prefs_auth_replay_purge(ngx_http_prefs_main_conf_t *pmcf, int64_t now_ms,
    ngx_uint_t all)
{
    ngx_queue_t              *q, *prev;
    ngx_prefs_auth_replay_t  *rp;

    for (q = ngx_queue_last(&pmcf->sh->replay_queue);
         q != ngx_queue_sentinel(&pmcf->sh->replay_queue);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        rp = ngx_queue_data(q, ngx_prefs_auth_replay_t, queue);

        if (rp->expires_ms >= now_ms) {
            if (!all) {
                return;
            }

            continue;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&pmcf->sh->replay_tree, &rp->sn.node);
        ngx_slab_free_locked(pmcf->shpool, rp);
    }
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
    time_t                       wait;
    ngx_int_t                    rc;
    ngx_str_t                   *h;
    ngx_uint_t                   source, verdict;
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
        rc = ngx_prefs_auth_authorize(r, ctx, e, 0, &verdict);

        if (verdict == NGX_PREFS_AUTH_GRANTED) {
            return ctx->authorized(r, ctx);
        }

        if (verdict == NGX_PREFS_AUTH_ANSWERED) {
            return rc;
        }

        /*
         * The cached entry refused the credential: ask the database once,
         * so that a secret or token created since is seen at once.
         * Refusals stay bounded by the failure limits.
         */
    }

    if (ctx->auth_rc == PREFS_AUTH_OK && ctx->auth.kind == PREFS_AUTH_HMAC) {
        wait = ngx_prefs_auth_hmac_fail(r, ctx, NGX_PREFS_AUTH_LOOK, &source);

        /*
         * A source that keeps failing costs no more queries (a flood of
         * junk names); only a credential the cache can check gets in.
         */

        if (wait && source) {
            ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_THROTTLED);
            return ngx_prefs_auth_throttle_answer(r, ctx, wait, 1);
        }
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
    ngx_str_t                    options;
    ngx_uint_t                   verdict;
    ngx_msec_t                   ttl;
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

    if (entry.account_id > 0 && q->stmt != NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID)
    {
        options.data = (u_char *) ngx_prefs_db_value(q, 0,
                                                 NGX_PREFS_COL_AUTH_OPTIONS);
        options.len = ngx_prefs_db_length(q, 0, NGX_PREFS_COL_AUTH_OPTIONS);

        entry.bind = (ngx_strlcasestrn(options.data,
                                       options.data + options.len,
                                       (u_char *) "bind", 4 - 1) != NULL);
        entry.once = (ngx_strlcasestrn(options.data,
                                       options.data + options.len,
                                       (u_char *) "once", 4 - 1) != NULL);
    }

    entry.negative = (entry.user_id <= 0 || !entry.active);

    /*
     * That a user name does not exist is remembered briefly: a flood of
     * it costs one query a worker, and a user created since is seen when
     * the entry ends, or at once when the creation notifies prefs_config
     * (POST Users, prefsctl user create).
     */

    ttl = (q->stmt == NGX_PREFS_STMT_AUTH_HMAC && entry.negative)
          ? ngx_min(pmcf->auth.unknown_user_time, pmcf->auth.cache_time)
          : pmcf->auth.cache_time;

    e = ngx_prefs_auth_cache_put(&ctx->cache_key, &entry, ttl,
                                 pmcf->auth.cache_size);
    prefs_hmac_wipe(entry.secret, sizeof(entry.secret));

    if (e == NULL) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_prefs_auth_authorize(r, ctx, e, 1, &verdict);

    if (verdict == NGX_PREFS_AUTH_GRANTED) {
        rc = ctx->authorized(r, ctx);
    }

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


/*
 * Judges the credential on an entry.  *verdict: ANSWERED (the request is
 * answered, rc is what the answer returned), GRANTED (ctx names the user:
 * the caller runs ctx->authorized, so that nothing the route returns is
 * taken for a verdict), or ASK (a cached entry refused the credential:
 * ask the database).
 */

static ngx_int_t
ngx_prefs_auth_authorize(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_auth_entry_t *e, ngx_uint_t fresh, ngx_uint_t *verdict)
{
    int                          rc;
    time_t                       wait;
    int64_t                      now;
    ngx_uint_t                   i, source;
    ngx_time_t                  *tp;
    prefs_auth_binding_t         binding;

    *verdict = NGX_PREFS_AUTH_ANSWERED;

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

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    if (ctx->auth.kind == PREFS_AUTH_BEARER) {
        if (e->user_id <= 0 || !e->active || e->token_expires_ms <= now) {
            if (!fresh && e->user_id <= 0) {
                *verdict = NGX_PREFS_AUTH_ASK;
                return NGX_OK;
            }

            ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_TOKEN);
            return ngx_prefs_auth_refuse(r, ctx, "unknown or expired token",
                                         NULL);
        }

        goto authorized;
    }

    rc = prefs_auth_check_time(ctx->auth.ts_ms, now, e->window_ms,
                               NGX_PREFS_AUTH_SKEW);
    if (rc != PREFS_AUTH_OK) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_TIMESTAMP);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: timestamp %*s is %s",
                      ctx->auth.ts_len, ctx->auth.ts,
                      rc == PREFS_AUTH_TOO_OLD ? "too old" : "in the future");

        /*
         * Counted for the source only: else junk names with stale
         * timestamps would cost a query each and never be throttled.
         */

        (void) ngx_prefs_auth_hmac_fail(r, ctx, NGX_PREFS_AUTH_COUNT_SOURCE,
                                        &source);

        return ngx_prefs_auth_unauthorized(r, prefs_auth_message(rc));
    }

    /*
     * An unknown or inactive user, fresh or remembered (a negative entry
     * lives prefs_auth_unknown_user_time): refused without a query.
     */

    if (e->user_id <= 0 || !e->active) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_USER);
        return ngx_prefs_auth_refuse(r, ctx, "unknown or inactive user",
                                     NULL);
    }

    /*
     * The signature is checked before any throttling: the owner of the
     * secret is never refused for what others sent.
     */

    if (ctx->auth.bound) {
        if (prefs_hmac_binding_set(&binding, (char *) r->method_name.data,
                                   r->method_name.len,
                                   (char *) r->unparsed_uri.data,
                                   r->unparsed_uri.len,
                                   ctx->body.data, ctx->body.len)
            != PREFS_AUTH_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->auth.binding = &binding;
    }

    for (i = 0; i < e->nsecrets; i++) {
        if (prefs_hmac_verify(&ctx->auth, e->secret[i], e->secret_len[i],
                              (char *) ctx->client_id.data,
                              ctx->client_id.len)
            == PREFS_AUTH_OK)
        {
            goto verified;
        }
    }

    if (!fresh) {
        /* a locked name or source gets no query for its wrong guesses */

        wait = ngx_prefs_auth_hmac_fail(r, ctx, NGX_PREFS_AUTH_LOOK, &source);

        if (wait) {
            ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_THROTTLED);
            return ngx_prefs_auth_throttle_answer(r, ctx, wait, source);
        }

        *verdict = NGX_PREFS_AUTH_ASK;
        return NGX_OK;
    }

    ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_SIGNATURE);
    return ngx_prefs_auth_refuse(r, ctx, "signature does not match", NULL);

verified:

    if (e->bind && !ctx->auth.bound) {
        ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_SIGNATURE);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: user \"%*s\" of \"%V\" refused: the "
                      "account accepts only request-bound signatures",
                      ctx->auth.user_len, ctx->auth.user, &ctx->client_id);
        return ngx_prefs_auth_unauthorized(r,
                   "This account accepts only request-bound signatures "
                   "(Binding=request)");
    }

    if (e->once) {
        switch (ngx_prefs_auth_replay_claim(r, ctx, e)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            ngx_prefs_metrics_auth_failed(NGX_PREFS_METRICS_AUTH_SIGNATURE);
            return ngx_prefs_auth_refuse(r, ctx, "the signature was used "
                                         "before",
                                         "This signature has already been "
                                         "used");

        default: /* NGX_BUSY */
            if (ngx_prefs_http_retry_after(r, 1) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_prefs_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                       "The signature cannot be checked for reuse now "
                       "(the replay cache is full): try again later");
        }
    }

authorized:

    ctx->account_id = e->account_id;
    ctx->user_id = e->user_id;
    ctx->perms = e->perms;

    *ngx_sprintf((u_char *) ctx->account_text, "%L", e->account_id) = '\0';
    *ngx_sprintf((u_char *) ctx->user_text, "%L", e->user_id) = '\0';

    *verdict = NGX_PREFS_AUTH_GRANTED;

    return NGX_OK;
}


/*
 * A refused credential: counted (PNAUTHINFO3), logged, and answered after
 * prefs_auth_failure_delay; 429 when this failure locked the name or the
 * source.  message NULL: the contract's one answer.
 */

static ngx_int_t
ngx_prefs_auth_refuse(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *why, const char *message)
{
    time_t       wait;
    ngx_uint_t   source;

    if (message == NULL) {
        message = "Unable to authenticate request";
    }

    if (ctx->auth.kind != PREFS_AUTH_HMAC) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs auth: bearer token for \"%V\" refused: %s",
                      &ctx->client_id, why);

        return ngx_prefs_auth_answer_later(r, NGX_HTTP_UNAUTHORIZED, 0,
                                           message);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "prefs auth: user \"%*s\" of \"%V\" refused: %s",
                  ctx->auth.user_len, ctx->auth.user, &ctx->client_id, why);

    wait = ngx_prefs_auth_hmac_fail(r, ctx, NGX_PREFS_AUTH_COUNT, &source);

    if (wait) {
        return ngx_prefs_auth_throttle_answer(r, ctx, wait, source);
    }

    return ngx_prefs_auth_answer_later(r, NGX_HTTP_UNAUTHORIZED, 0, message);
}


static ngx_int_t
ngx_prefs_auth_throttle_answer(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    time_t wait, ngx_uint_t source)
{
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "prefs auth: %s \"%*s\" of \"%V\" refused for %T s "
                  "after repeated failures",
                  source ? "the source of user" : "user",
                  ctx->auth.user_len, ctx->auth.user, &ctx->client_id, wait);

    return ngx_prefs_auth_answer_later(r, NGX_HTTP_TOO_MANY_REQUESTS, wait,
                                       source
                                       ? "Too many failed attempts from this "
                                         "address: try again later"
                                       : "Too many failed attempts for this "
                                         "user: try again later");
}


ngx_int_t
ngx_prefs_auth_answer_later(ngx_http_request_t *r, ngx_uint_t status,
    time_t retry_after, const char *message)
{
    ngx_pool_cleanup_t          *cln;
    ngx_prefs_auth_delay_t      *d;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (pmcf->auth.failure_delay == 0) {
        return ngx_prefs_auth_answer(r, status, retry_after, message);
    }

    d = ngx_pcalloc(r->pool, sizeof(ngx_prefs_auth_delay_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (d == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    d->status = status;
    d->retry_after = retry_after;
    d->message = message;

    d->ev.handler = ngx_prefs_auth_delay_handler;
    d->ev.data = r;
    d->ev.log = r->connection->log;

    /* a request that ends otherwise (the connection is closed) */
    cln->handler = ngx_prefs_auth_delay_cleanup;
    cln->data = &d->ev;

    ngx_add_timer(&d->ev, pmcf->auth.failure_delay);

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_prefs_auth_delay_handler(ngx_event_t *ev)
{
    ngx_http_request_t      *r;
    ngx_prefs_auth_delay_t  *d;

    r = ev->data;
    d = (ngx_prefs_auth_delay_t *) ev;

    ngx_prefs_http_finalize(r, ngx_prefs_auth_answer(r, d->status,
                                                     d->retry_after,
                                                     d->message));
}


static void
ngx_prefs_auth_delay_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


static ngx_int_t
ngx_prefs_auth_answer(ngx_http_request_t *r, ngx_uint_t status,
    time_t retry_after, const char *message)
{
    if (status == NGX_HTTP_UNAUTHORIZED) {
        return ngx_prefs_auth_unauthorized(r, message);
    }

    if (retry_after && ngx_prefs_http_retry_after(r, retry_after) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_http_error(r, status, "%s", message);
}
