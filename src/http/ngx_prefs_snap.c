
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Configuration snapshots, for the Configuration API's reads.
 *
 * Each worker keeps a snapshot per account: the whole configuration as one
 * document (one query, prefs_config_document()), kept as text and parsed
 * only to render a body not rendered yet, and the bodies it has answered,
 * rendered once per route, argument and locale, with their ETags.  A parsed
 * document costs several times its text: 1,000 accounts would otherwise
 * hold hundreds of megabytes per worker.  A snapshot is current while the
 * account's counter in the shared zone has not moved: the helper bumps it
 * (src/helper/ngx_prefs_config_relay.c) when PostgreSQL notifies a change
 * (on this node or any other sharing the database).  When the helper is not
 * known to be listening, a snapshot older than a second is checked against
 * the database's generation before it is used again: nothing stale is
 * served for longer than that.
 *
 * A load may be answered by the location's standby (prefs_db_replica),
 * which may not have replayed the latest change yet.  After a generation
 * check the primary's generation is known: a standby's document older
 * than that is not used, the primary's is loaded.  A first load has
 * nothing to compare with: its snapshot serves, and a second later its
 * generation is checked against the primary's, as above, so that what a
 * standby lags is not kept longer than that either.
 *
 * Responses point into the snapshot, which is reference-counted, so a
 * snapshot replaced while a slow client still reads from it lives on until
 * that response is done.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_snap.h"




/* an account being loaded, and the requests that wait for it */
typedef struct {
    ngx_rbtree_node_t          node;
    int64_t                    account_id;
    ngx_queue_t                waiters;
    ngx_pool_t                 *pool;
    ngx_atomic_uint_t          gen_seen;
    ngx_atomic_uint_t          epoch_seen;
    ngx_prefs_snap_t           *check;         /* a generation check */
    int64_t                     want;          /* the primary's, if asked */
} ngx_prefs_snap_load_t;


typedef struct {
    ngx_queue_t                  queue;
    ngx_http_request_t          *r;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_prefs_snap_load_t       *load;
    ngx_prefs_snap_answer_pt     answer;
} ngx_prefs_snap_waiter_t;


typedef struct {
    ngx_prefs_snap_t           *snap;
} ngx_prefs_snap_ref_t;


static ngx_int_t ngx_prefs_snap_wait(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_snap_t *check,
    ngx_prefs_snap_answer_pt answer);
static void ngx_prefs_snap_loaded(ngx_prefs_db_query_t *q);
static void ngx_prefs_snap_checked(ngx_prefs_db_query_t *q);
static void ngx_prefs_snap_resume(ngx_prefs_snap_load_t *load,
    ngx_prefs_snap_t *snap, ngx_prefs_db_query_t *failed);
static void ngx_prefs_snap_waiter_cleanup(void *data);
static ngx_prefs_snap_t *ngx_prefs_snap_create(int64_t account_id,
    ngx_rbtree_key_t key, const char *text, size_t len, ngx_log_t *log);
static void ngx_prefs_snap_install(ngx_prefs_snap_t *snap);
static void ngx_prefs_snap_release(ngx_prefs_snap_t *snap);
static void ngx_prefs_snap_ref_cleanup(void *data);
static ngx_prefs_snap_t *ngx_prefs_snap_find(ngx_rbtree_key_t key);
static ngx_rbtree_key_t ngx_prefs_snap_key(ngx_http_request_t *r,
    int64_t account_id);
static ngx_flag_t ngx_prefs_snap_fresh(ngx_prefs_snap_t *snap);
static void ngx_prefs_snap_update_slot(void);


static ngx_rbtree_t       ngx_prefs_snap_tree;
static ngx_rbtree_node_t  ngx_prefs_snap_sentinel;
static ngx_rbtree_t       ngx_prefs_snap_load_tree;
static ngx_rbtree_node_t  ngx_prefs_snap_load_sentinel;
static ngx_queue_t        ngx_prefs_snap_all;
static ngx_uint_t         ngx_prefs_snap_ready;
static ngx_uint_t         ngx_prefs_snap_n;
static size_t             ngx_prefs_snap_bytes;
static ngx_uint_t         ngx_prefs_snap_loads;


static void
ngx_prefs_snap_init_trees(void)
{
    if (ngx_prefs_snap_ready) {
        return;
    }

    ngx_rbtree_init(&ngx_prefs_snap_tree, &ngx_prefs_snap_sentinel,
                    ngx_rbtree_insert_value);
    ngx_rbtree_init(&ngx_prefs_snap_load_tree, &ngx_prefs_snap_load_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&ngx_prefs_snap_all);
    ngx_prefs_snap_ready = 1;
}


ngx_int_t
ngx_prefs_snap_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_snap_answer_pt answer)
{
    ngx_prefs_snap_t  *snap;

    ngx_prefs_snap_init_trees();

    snap = ngx_prefs_snap_find(ngx_prefs_snap_key(r, ctx->account_id));

    if (snap && ngx_prefs_snap_fresh(snap)) {
        return answer(r, ctx, snap);
    }

    return ngx_prefs_snap_wait(r, ctx, snap, answer);
}


/*
 * Account ids are unique within a database, and one nginx may serve
 * several: the key carries the database too.
 */

static ngx_rbtree_key_t
ngx_prefs_snap_key(ngx_http_request_t *r, int64_t account_id)
{
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    return ((ngx_rbtree_key_t) ngx_prefs_db_pool_database(plcf->pool) << 48)
           | (ngx_rbtree_key_t) account_id;
}


static ngx_prefs_snap_t *
ngx_prefs_snap_find(ngx_rbtree_key_t key)
{
    ngx_rbtree_node_t  *node, *sentinel;
    ngx_prefs_snap_t   *snap;

    node = ngx_prefs_snap_tree.root;
    sentinel = ngx_prefs_snap_tree.sentinel;

    while (node != sentinel) {
        snap = (ngx_prefs_snap_t *) node;

        if (key < node->key) {
            node = node->left;

        } else if (key > node->key) {
            node = node->right;

        } else {
            return snap;
        }
    }

    return NULL;
}


static ngx_flag_t
ngx_prefs_snap_fresh(ngx_prefs_snap_t *snap)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_prefs_module);

    if (snap->unconfirmed
        && (ngx_msec_int_t) (ngx_current_msec - snap->checked)
           >= NGX_PREFS_SHM_FRESH)
    {
        return 0;
    }

    return ngx_prefs_shm_config_fresh(pmcf->sh, snap->account_id,
                                      snap->gen_seen, snap->epoch_seen,
                                      snap->checked);
}


/*
 * One load per account at a time; the requests that need it wait.  With a
 * snapshot at hand that may be stale, only its generation is asked.
 */

static ngx_int_t
ngx_prefs_snap_wait(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_snap_t *check, ngx_prefs_snap_answer_pt answer)
{
    ngx_pool_t                  *pool;
    ngx_rbtree_key_t             key;
    ngx_rbtree_node_t           *node;
    ngx_pool_cleanup_t          *cln;
    ngx_prefs_snap_load_t       *load;
    ngx_prefs_snap_waiter_t     *w;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_shm_t             *sh;
    ngx_http_prefs_loc_conf_t   *plcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    load = NULL;
    key = ngx_prefs_snap_key(r, ctx->account_id);

    for (node = ngx_prefs_snap_load_tree.root;
         node != ngx_prefs_snap_load_tree.sentinel;
         /* void */)
    {
        if (key < node->key) {
            node = node->left;

        } else if (key > node->key) {
            node = node->right;

        } else {
            load = (ngx_prefs_snap_load_t *) node;
            break;
        }
    }

    if (load == NULL) {
        pool = ngx_create_pool(1024, ngx_cycle->log);
        if (pool == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        load = ngx_pcalloc(pool, sizeof(ngx_prefs_snap_load_t));
        if (load == NULL) {
            ngx_destroy_pool(pool);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        load->pool = pool;
        load->account_id = ctx->account_id;
        load->node.key = key;
        ngx_queue_init(&load->waiters);

        pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);
        sh = pmcf->sh;

        /* read before the query: a change after this reloads again */
        if (sh) {
            load->gen_seen =
                sh->config_gen[ctx->account_id % NGX_PREFS_SHM_CONFIG_GENS];
            load->epoch_seen = sh->config_epoch;
        }

        plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

        q = ngx_prefs_db_query_create(pool, plcf->pool,
                                      check ? NGX_PREFS_STMT_CONFIG_GENERATION
                                            : NGX_PREFS_STMT_CONFIG_DOCUMENT,
                                      ngx_cycle->log);
        if (q == NULL
            || ngx_prefs_db_query_cleanup(pool, q) != NGX_OK
            || ngx_prefs_db_param(q, pool, 0, (u_char *) ctx->account_text,
                                  ngx_strlen(ctx->account_text))
               != NGX_OK)
        {
            ngx_destroy_pool(pool);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (check) {
            check->refs++;
            load->check = check;
        }

        q->handler = check ? ngx_prefs_snap_checked
                           : ngx_prefs_snap_loaded;
        q->data = load;

        /* a generation check asks the primary: it is what confirms */
        q->standby_ok = (check == NULL);

        ngx_rbtree_insert(&ngx_prefs_snap_load_tree, &load->node);

        ngx_prefs_db_submit(q);

        /* a synchronous failure resumed nobody: there was nobody yet */
        if (q->done) {
            return ngx_prefs_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "The service is temporarily "
                                        "unavailable: %s", q->error);
        }
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_prefs_snap_waiter_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->r = r;
    w->ctx = ctx;
    w->load = load;
    w->answer = answer;
    ngx_queue_insert_tail(&load->waiters, &w->queue);

    cln->handler = ngx_prefs_snap_waiter_cleanup;
    cln->data = w;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_prefs_snap_waiter_cleanup(void *data)
{
    ngx_prefs_snap_waiter_t  *w = data;

    if (w->load) {
        ngx_queue_remove(&w->queue);
        w->load = NULL;
    }
}


static void
ngx_prefs_snap_loaded(ngx_prefs_db_query_t *q)
{
    ngx_prefs_snap_load_t  *load = q->data;
    ngx_prefs_snap_t       *snap;

    snap = NULL;

    if (q->status == NGX_PREFS_DB_OK && PQntuples(q->res) == 1) {
        snap = ngx_prefs_snap_create(load->account_id, load->node.key,
                        ngx_prefs_db_value(q, 0, NGX_PREFS_COL_DOCUMENT),
                        ngx_prefs_db_length(q, 0, NGX_PREFS_COL_DOCUMENT),
                        ngx_cycle->log);
        if (snap && q->by_standby && snap->generation < load->want) {
            /* the standby has not replayed what the primary has: ask it */
            ngx_destroy_pool(snap->pool);

            PQclear(q->res);
            q->res = NULL;
            q->standby_ok = 0;

            ngx_prefs_db_submit(q);
            return;
        }

        if (snap) {
            snap->gen_seen = load->gen_seen;
            snap->epoch_seen = load->epoch_seen;
            snap->unconfirmed = (q->by_standby && load->want == 0);
            ngx_prefs_snap_install(snap);
        }
    }

    ngx_prefs_snap_resume(load, snap, snap ? NULL : q);
}


static void
ngx_prefs_snap_checked(ngx_prefs_db_query_t *q)
{
    int64_t                 generation;
    ngx_prefs_snap_load_t  *load = q->data;
    ngx_prefs_snap_t       *snap;

    snap = load->check;
    generation = 0;

    if (q->status == NGX_PREFS_DB_OK && PQntuples(q->res) == 1) {
        generation = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_GENERATION);

        if (generation == snap->generation && snap->current) {
            snap->checked = ngx_current_msec;
            snap->unconfirmed = 0;
            snap->gen_seen = load->gen_seen;
            snap->epoch_seen = load->epoch_seen;
            ngx_prefs_snap_resume(load, snap, NULL);
            return;
        }
    }

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_snap_resume(load, NULL, q);
        return;
    }

    /*
     * It changed: load it whole, for the same waiters, from the standby
     * if that has the generation the primary just said.
     */

    ngx_prefs_snap_release(snap);
    load->check = NULL;
    load->want = generation;

    q->stmt = NGX_PREFS_STMT_CONFIG_DOCUMENT;
    q->handler = ngx_prefs_snap_loaded;
    q->standby_ok = 1;

    if (q->res) {
        PQclear(q->res);
        q->res = NULL;
    }

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_snap_resume(ngx_prefs_snap_load_t *load, ngx_prefs_snap_t *snap,
    ngx_prefs_db_query_t *failed)
{
    ngx_int_t                 rc;
    ngx_queue_t              *qh;
    ngx_prefs_snap_waiter_t  *w;
    ngx_http_request_t       *r;

    ngx_rbtree_delete(&ngx_prefs_snap_load_tree, &load->node);

    while (!ngx_queue_empty(&load->waiters)) {
        qh = ngx_queue_head(&load->waiters);
        w = ngx_queue_data(qh, ngx_prefs_snap_waiter_t, queue);
        ngx_queue_remove(qh);
        w->load = NULL;

        r = w->r;

        if (snap) {
            rc = w->answer(r, w->ctx, snap);

        } else if (failed->status == NGX_PREFS_DB_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "prefs config: the configuration of account %L "
                          "cannot be read", load->account_id);
            rc = ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "Internal error");

        } else {
            rc = ngx_prefs_http_db_error(r, failed);
        }

        ngx_prefs_http_finalize(r, rc);
    }

    if (load->check) {
        ngx_prefs_snap_release(load->check);
    }

    /* the query lives in this pool: the caller is done with it */
    ngx_destroy_pool(load->pool);
}


static ngx_prefs_snap_t *
ngx_prefs_snap_create(int64_t account_id, ngx_rbtree_key_t key,
    const char *text, size_t len, ngx_log_t *log)
{
    size_t             i, n;
    u_char            *p;
    json_t            *doc, *locales, *l, *id, *def;
    ngx_pool_t        *pool;
    json_error_t       err;
    ngx_prefs_snap_t  *snap;

    doc = json_loadb(text, len, 0, &err);

    if (!json_is_object(doc)) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "prefs config: account %L: the document is not "
                      "JSON: %s", account_id, err.text);
        json_decref(doc);
        return NULL;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        json_decref(doc);
        return NULL;
    }

    snap = ngx_pcalloc(pool, sizeof(ngx_prefs_snap_t));
    if (snap == NULL) {
        ngx_destroy_pool(pool);
        json_decref(doc);
        return NULL;
    }

    snap->pool = pool;
    snap->account_id = account_id;
    snap->node.key = key;
    snap->generation = json_integer_value(json_object_get(doc, "Generation"));
    snap->checked = ngx_current_msec;

    snap->text.data = ngx_pnalloc(pool, len);
    if (snap->text.data == NULL) {
        goto failed;
    }

    ngx_memcpy(snap->text.data, text, len);
    snap->text.len = len;
    snap->bytes = sizeof(ngx_prefs_snap_t) + len;

    ngx_rbtree_init(&snap->renders, &snap->renders_sentinel,
                    ngx_str_rbtree_insert_value);

    locales = json_object_get(doc, "Locales");

    json_array_foreach(locales, i, l) {
        id = json_object_get(l, "LocaleId");

        if (json_is_string(id) && snap->nlocales < NGX_PREFS_SNAP_LOCALES) {
            n = json_string_length(id);
            p = ngx_pnalloc(pool, n + 1);
            if (p == NULL) {
                goto failed;
            }

            ngx_memcpy(p, json_string_value(id), n + 1);
            snap->locales[snap->nlocales++] = (char *) p;
        }
    }

    def = json_object_get(doc, "DefaultLocale");

    for (i = 0; json_is_string(def) && i < snap->nlocales; i++) {
        if (ngx_strcmp(snap->locales[i], json_string_value(def)) == 0) {
            snap->default_locale = snap->locales[i];
        }
    }

    /* the default first: "*" in Accept-Language then means the default */

    for (i = 1; snap->default_locale && i < snap->nlocales; i++) {
        if (snap->locales[i] == snap->default_locale) {
            ngx_memmove(&snap->locales[1], &snap->locales[0],
                        i * sizeof(const char *));
            snap->locales[0] = snap->default_locale;
            break;
        }
    }

    json_decref(doc);

    return snap;

failed:

    json_decref(doc);
    ngx_destroy_pool(pool);

    return NULL;
}


static void
ngx_prefs_snap_install(ngx_prefs_snap_t *snap)
{
    ngx_prefs_snap_t  *old;

    old = ngx_prefs_snap_find(snap->node.key);

    if (old) {
        ngx_rbtree_delete(&ngx_prefs_snap_tree, &old->node);
        ngx_queue_remove(&old->queue);
        old->current = 0;
        ngx_prefs_snap_n--;
        ngx_prefs_snap_bytes -= old->bytes;
        ngx_prefs_snap_release(old);
    }

    snap->current = 1;
    snap->refs++;

    ngx_rbtree_insert(&ngx_prefs_snap_tree, &snap->node);
    ngx_queue_insert_head(&ngx_prefs_snap_all, &snap->queue);
    ngx_prefs_snap_n++;
    ngx_prefs_snap_bytes += snap->bytes;
    ngx_prefs_snap_loads++;

    ngx_prefs_snap_update_slot();
}


static void
ngx_prefs_snap_release(ngx_prefs_snap_t *snap)
{
    if (--snap->refs) {
        return;
    }

    ngx_destroy_pool(snap->pool);
}


static void
ngx_prefs_snap_ref_cleanup(void *data)
{
    ngx_prefs_snap_ref_t  *ref = data;

    ngx_prefs_snap_release(ref->snap);
}


static void
ngx_prefs_snap_update_slot(void)
{
    ngx_prefs_shm_slot_t  *slot;

    slot = ngx_prefs_shm_own_slot();
    if (slot == NULL) {
        return;
    }

    slot->config_accounts = ngx_prefs_snap_n;
    slot->config_bytes = ngx_prefs_snap_bytes;
    slot->config_loads = ngx_prefs_snap_loads;
}


void
ngx_prefs_snap_exit(void)
{
    ngx_queue_t       *q;
    ngx_prefs_snap_t  *snap;

    if (!ngx_prefs_snap_ready) {
        return;
    }

    while (!ngx_queue_empty(&ngx_prefs_snap_all)) {
        q = ngx_queue_head(&ngx_prefs_snap_all);
        snap = ngx_queue_data(q, ngx_prefs_snap_t, queue);
        ngx_queue_remove(q);
        ngx_rbtree_delete(&ngx_prefs_snap_tree, &snap->node);
        snap->current = 0;
        ngx_prefs_snap_release(snap);
    }
}


void
ngx_prefs_snap_keep(ngx_prefs_snap_t *snap, ngx_prefs_snap_render_t *rd,
    size_t size)
{
    ngx_rbtree_insert(&snap->renders, &rd->sn.node);
    snap->nrenders++;
    snap->bytes += size;

    if (snap->current) {
        ngx_prefs_snap_bytes += size;
        ngx_prefs_snap_update_slot();
    }
}


ngx_int_t
ngx_prefs_snap_hold(ngx_http_request_t *r, ngx_prefs_snap_t *snap)
{
    ngx_pool_cleanup_t    *cln;
    ngx_prefs_snap_ref_t  *ref;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_prefs_snap_ref_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ref = cln->data;
    ref->snap = snap;
    snap->refs++;
    cln->handler = ngx_prefs_snap_ref_cleanup;

    return NGX_OK;
}
