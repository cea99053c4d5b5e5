
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * What authentication keeps between requests.
 *
 * A per-worker cache maps a credential (an account and user name for
 * PNAUTHINFO3, an account and token hash for a bearer token) to what the
 * database said of it, secrets unsealed, for prefs_auth_cache_time; a
 * steady stream of signed requests costs no round trip to authenticate,
 * and a deactivated user stops working when its entry expires.
 *
 * Failed attempts per user name are counted in the shared zone, so that
 * every worker sees them: past prefs_auth_max_failures in a window, the
 * name is refused with 429 until the window ends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"


typedef struct {
    u_char                     color;
    u_char                     len;
    ngx_queue_t                lru;
    ngx_msec_t                 window_start;
    ngx_uint_t                 count;
    u_char                     data[1];
} ngx_prefs_auth_fail_t;


static void ngx_prefs_auth_cache_free(ngx_prefs_auth_entry_t *e);
static void ngx_prefs_auth_fail_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_prefs_auth_fail_t *ngx_prefs_auth_fail_lookup(
    ngx_http_prefs_shctx_t *sh, ngx_str_t *key, uint32_t hash);


static const char  *ngx_prefs_perm_names[] = {
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

        for (i = 0; ngx_prefs_perm_names[i]; i++) {
            if (ngx_strlen(ngx_prefs_perm_names[i]) == n
                && ngx_strncmp(ngx_prefs_perm_names[i], p, n) == 0)
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

    for (i = 0; ngx_prefs_perm_names[i]; i++) {
        if (perm == ((ngx_uint_t) 1 << i)) {
            return ngx_prefs_perm_names[i];
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

    if ((ngx_msec_int_t) (e->expires - ngx_current_msec) <= 0) {
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

    ngx_rbtree_insert(&ngx_prefs_auth_cache, &e->sn.node);
    ngx_queue_insert_head(&ngx_prefs_auth_cache_lru, &e->lru);
    ngx_prefs_auth_cache_n++;

    return e;
}


void
ngx_prefs_auth_cache_flush(void)
{
    ngx_queue_t  *q;

    if (!ngx_prefs_auth_cache_ready) {
        return;
    }

    while (!ngx_queue_empty(&ngx_prefs_auth_cache_lru)) {
        q = ngx_queue_head(&ngx_prefs_auth_cache_lru);
        ngx_prefs_auth_cache_free(ngx_queue_data(q, ngx_prefs_auth_entry_t,
                                                 lru));
    }
}


static void
ngx_prefs_auth_cache_free(ngx_prefs_auth_entry_t *e)
{
    ngx_rbtree_delete(&ngx_prefs_auth_cache, &e->sn.node);
    ngx_queue_remove(&e->lru);
    ngx_prefs_auth_cache_n--;

    prefs_wipe(e->secret, sizeof(e->secret));
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

    if (pmcf->sh == NULL || pmcf->auth_max_failures == 0) {
        return 0;
    }

    left = 0;

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    f = ngx_prefs_auth_fail_lookup(pmcf->sh, key,
                                   ngx_crc32_short(key->data, key->len));

    if (f && f->count >= pmcf->auth_max_failures) {
        ms = (ngx_msec_int_t) (f->window_start + pmcf->auth_failure_window
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

    if (pmcf->sh == NULL || pmcf->auth_max_failures == 0 || key->len > 255) {
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&pmcf->shpool->mutex);

    f = ngx_prefs_auth_fail_lookup(pmcf->sh, key, hash);

    if (f) {
        if ((ngx_msec_int_t) (ngx_current_msec - f->window_start)
            >= (ngx_msec_int_t) pmcf->auth_failure_window)
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
ngx_prefs_auth_fail_lookup(ngx_http_prefs_shctx_t *sh, ngx_str_t *key,
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

    len = sizeof("PNAUTHINFO3 realm=\"\"") - 1 + pmcf->auth_realm.len;

    p = ngx_pnalloc(r->pool, len);

    if (p == NULL
        || ngx_prefs_http_header(r, "WWW-Authenticate", (char *) p,
                                 ngx_sprintf(p, "PNAUTHINFO3 realm=\"%V\"",
                                             &pmcf->auth_realm) - p)
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
