
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * A per-process pool of PostgreSQL connections driven by nginx's event loop.
 *
 * libpq runs in non-blocking mode; its socket is wrapped in an
 * ngx_connection_t whose read event is registered level-triggered, because
 * PQconsumeInput() does not promise to drain the socket and an edge would be
 * lost.  The write event is registered only while libpq has unsent output.
 *
 * Queries wait in a FIFO when every connection is busy; a new connection is
 * opened for each waiter beyond those already connecting, up to the pool
 * size.  A query owns no connection until one is free, so a request that
 * goes away only has to leave the queue, or detach from the connection,
 * which then drains its results and becomes idle again.
 *
 * A pool may have a standby (prefs_db_replica): a second pool, of the same
 * code and settings, on a streaming replica, which the queries marked
 * standby_ok go to while it is within max_lag of the primary.  Its lag is
 * measured, not guessed: every probe interval this process asks the
 * primary for its WAL position and then the standby for the position it
 * has replayed (src/lib/prefs_lag.h says how that makes a lag in time: an
 * idle standby stays current, one that stopped replaying falls behind from
 * the first write it misses).  What the standby cannot answer goes to the
 * primary (ngx_prefs_db_standby_declined()); a standby found down is not
 * tried again before a probe finds it back, so a dead one costs one
 * connect per probe interval and process, not one per request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_prefs_db.h"
#include "ngx_prefs_metrics.h"
#include "prefs_lag.h"


#define NGX_PREFS_DB_LISTEN_RETRY  1000

/* a standby's probes: max_lag / 4, within these bounds */
#define NGX_PREFS_DB_PROBE_MIN     100
#define NGX_PREFS_DB_PROBE_MAX     1000


typedef enum {
    NGX_PREFS_DB_FREE = 0,
    NGX_PREFS_DB_CONNECTING,
    NGX_PREFS_DB_IDLE,
    NGX_PREFS_DB_PREPARING,
    NGX_PREFS_DB_EXECUTING,
    NGX_PREFS_DB_LISTEN_SETUP,
    NGX_PREFS_DB_LISTENING
} ngx_prefs_db_state_e;


struct ngx_prefs_db_conn_s {
    ngx_queue_t                queue;
    ngx_prefs_db_pool_t       *pool;
    PGconn                    *pg;
    ngx_connection_t          *c;
    ngx_event_t                timer;
    ngx_prefs_db_state_e       state;
    ngx_prefs_db_query_t      *query;
    const char                *stmt;          /* in flight, for logs */
    PGresult                  *res;
    PGresult                  *error;
    uint64_t                   prepared[(NGX_PREFS_STMT_MAX + 63) / 64];
    unsigned                   reused:1;
    unsigned                   listen:1;
    unsigned                   lost:1;
};


struct ngx_prefs_db_pool_s {
    ngx_prefs_db_conf_t        conf;
    ngx_uint_t                 index;          /* in the pools array */
    ngx_uint_t                 database;       /* first pool of its conninfo */

    ngx_log_t                 *log;
    ngx_prefs_db_conn_t       *conns;
    ngx_queue_t                free;
    ngx_queue_t                idle;
    ngx_queue_t                waiting;
    ngx_uint_t                 nopen;
    ngx_uint_t                 nconnecting;
    ngx_uint_t                 nbusy;
    ngx_uint_t                 nwaiting;

    ngx_prefs_db_stats_t       stats;

    /* PQconnectStartParams(): the conninfo, and options with ours added */
    const char                *keywords[3];
    const char                *values[3];

    /* the LISTEN connection, if any */
    ngx_prefs_db_conn_t        listener;
    const char                *channel;
    ngx_prefs_db_notify_pt     notify;
    void                      *notify_data;
    ngx_event_t                listen_retry;

    /* prefs_db_replica: a primary's standby; a standby's primary */
    ngx_prefs_db_pool_t       *standby;
    ngx_prefs_db_pool_t       *primary;

    /* a standby's: what this process knows of its lag */
    ngx_prefs_db_standby_e     state;
    prefs_lag_t                lag;
    unsigned                   probing:1;
    ngx_msec_t                 probe_interval;
    ngx_msec_t                 probe_sent;
    ngx_event_t                probe;
    ngx_prefs_db_query_t      *probe_wal;
    ngx_prefs_db_query_t      *probe_replay;
};


static ngx_prefs_db_pool_t *ngx_prefs_db_pool_create(ngx_conf_t *cf,
    ngx_prefs_db_conf_t *dc, ngx_uint_t index);
static ngx_int_t ngx_prefs_db_pool_init(ngx_cycle_t *cycle,
    ngx_prefs_db_pool_t *pool);
static void ngx_prefs_db_pool_exit(ngx_prefs_db_pool_t *pool);
static void ngx_prefs_db_pool_stats(ngx_prefs_db_pool_t *pool,
    ngx_prefs_db_stats_t *st);
static void ngx_prefs_db_enqueue(ngx_prefs_db_query_t *q,
    ngx_prefs_db_pool_t *pool);
static ngx_int_t ngx_prefs_db_probe_init(ngx_cycle_t *cycle,
    ngx_prefs_db_pool_t *sb);
static void ngx_prefs_db_probe_handler(ngx_event_t *ev);
static void ngx_prefs_db_probe_wal_done(ngx_prefs_db_query_t *q);
static void ngx_prefs_db_probe_replay_done(ngx_prefs_db_query_t *q);
static int64_t ngx_prefs_db_probe_lsn(ngx_prefs_db_query_t *q);
static ngx_msec_int_t ngx_prefs_db_standby_lag(ngx_prefs_db_pool_t *sb);
static ngx_flag_t ngx_prefs_db_standby_usable(ngx_prefs_db_pool_t *sb);
static void ngx_prefs_db_standby_set(ngx_prefs_db_pool_t *sb,
    ngx_prefs_db_standby_e state, const char *why);
static ngx_flag_t ngx_prefs_db_standby_declined(ngx_prefs_db_query_t *q,
    ngx_prefs_db_status_e status);
static ngx_flag_t ngx_prefs_db_standby_miss(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_db_connect(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_connect_poll(ngx_prefs_db_conn_t *dc);
static ngx_int_t ngx_prefs_db_wrap_socket(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_release_socket(ngx_prefs_db_conn_t *dc);
static ngx_int_t ngx_prefs_db_want_write(ngx_prefs_db_conn_t *dc,
    ngx_flag_t want);
static void ngx_prefs_db_read_handler(ngx_event_t *ev);
static void ngx_prefs_db_write_handler(ngx_event_t *ev);
static void ngx_prefs_db_timer_handler(ngx_event_t *ev);
static void ngx_prefs_db_wait_handler(ngx_event_t *ev);
static void ngx_prefs_db_send(ngx_prefs_db_conn_t *dc);
static ngx_int_t ngx_prefs_db_flush(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_receive(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_result(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_set_idle(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_dispatch(ngx_prefs_db_pool_t *pool);
static void ngx_prefs_db_fail(ngx_prefs_db_conn_t *dc, const char *why);
static void ngx_prefs_db_close(ngx_prefs_db_conn_t *dc);
static void ngx_prefs_db_finish(ngx_prefs_db_query_t *q,
    ngx_prefs_db_status_e status);
static void ngx_prefs_db_fail_waiting(ngx_prefs_db_pool_t *pool,
    ngx_prefs_db_status_e status);
static int ngx_prefs_db_chomp(const char *msg);
static void ngx_prefs_db_notice(void *arg, const char *message);
static ngx_flag_t ngx_prefs_db_is_address(const char *host);
static ngx_int_t ngx_prefs_db_conn_params(ngx_conf_t *cf,
    ngx_prefs_db_pool_t *pool);
static void ngx_prefs_db_query_pool_cleanup(void *data);
static void ngx_prefs_db_listen_start(ngx_prefs_db_pool_t *pool);
static void ngx_prefs_db_listen_retry_handler(ngx_event_t *ev);
static void ngx_prefs_db_notifies(ngx_prefs_db_conn_t *dc);
static ngx_int_t ngx_prefs_db_columns(ngx_prefs_db_query_t *q);


/* each statement's result columns: position + 1, 0 while unknown */
static int         ngx_prefs_db_cols[NGX_PREFS_STMT_MAX][NGX_PREFS_COL_MAX];
static u_char      ngx_prefs_db_cols_known[NGX_PREFS_STMT_MAX];


static const char *ngx_prefs_db_standby_texts[] = {
    "Ready", "Unknown", "Late", "Down"
};


/*
 * Outcomes with which a standby may only say that it has not replayed a
 * change yet (a token or id made a moment ago, an export the primary has
 * finished): the primary answers them.
 */
static const char *ngx_prefs_db_standby_misses[] = {
    "invalid_token", "not_found", "processing", NULL
};


static const char *ngx_prefs_db_status_texts[] = {
    "ok",
    "the database refused the query",
    "the database is unavailable",
    "all database connections are busy",
    "the database query timed out"
};


char *
ngx_prefs_db_conf_init(ngx_conf_t *cf, const char *directive,
    ngx_str_t *conninfo)
{
    char                *err, *host, *hostaddr;
    PQconninfoOption    *opts, *o;

    host = NULL;
    hostaddr = NULL;

    /* catch a malformed conninfo at "nginx -t", not at the first request */

    opts = PQconninfoParse((char *) conninfo->data, &err);
    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %s conninfo: %*s", directive,
                           err ? ngx_prefs_db_chomp(err) : 13,
                           err ? err : "out of memory");
        if (err) {
            PQfreemem(err);
        }
        return NGX_CONF_ERROR;
    }

    /*
     * libpq resolves a host name with a blocking getaddrinfo() inside
     * PQconnectPoll(): say so where it is configured.
     */

    for (o = opts; o->keyword; o++) {
        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;
        }
    }

    if (host && host[0] && host[0] != '/' && host[0] != '@'
        && (hostaddr == NULL || hostaddr[0] == '\0')
        && !ngx_prefs_db_is_address(host))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "%s host \"%s\" is a name, which "
                           "libpq resolves with a blocking call in the "
                           "worker: prefer hostaddr= or a Unix socket",
                           directive, host);
    }

    PQconninfoFree(opts);

    return NGX_CONF_OK;
}


ngx_prefs_db_pool_t *
ngx_prefs_db_pool_add(ngx_conf_t *cf, ngx_array_t *pools,
    ngx_prefs_db_conf_t *dc)
{
    ngx_uint_t             i;
    ngx_prefs_db_conf_t    sdc;
    ngx_prefs_db_pool_t  **pp, *pool;

    /* locations with the same settings share one pool */

    pp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        pool = pp[i];

        if (pool->conf.conninfo.len == dc->conninfo.len
            && ngx_strncmp(pool->conf.conninfo.data, dc->conninfo.data,
                           dc->conninfo.len) == 0
            && pool->conf.max_conns == dc->max_conns
            && pool->conf.max_waiting == dc->max_waiting
            && pool->conf.connect_timeout == dc->connect_timeout
            && pool->conf.query_timeout == dc->query_timeout
            && pool->conf.queue_timeout == dc->queue_timeout
            && pool->conf.keepalive_timeout == dc->keepalive_timeout
            && pool->conf.replica.len == dc->replica.len
            && (dc->replica.len == 0
                || ngx_strncmp(pool->conf.replica.data, dc->replica.data,
                               dc->replica.len) == 0)
            && pool->conf.max_lag == dc->max_lag)
        {
            return pool;
        }
    }

    pool = ngx_prefs_db_pool_create(cf, dc, pools->nelts);
    if (pool == NULL) {
        return NULL;
    }

    for (i = 0; i < pools->nelts; i++) {
        if (pp[i]->conf.conninfo.len == dc->conninfo.len
            && ngx_strncmp(pp[i]->conf.conninfo.data, dc->conninfo.data,
                           dc->conninfo.len) == 0)
        {
            pool->database = pp[i]->database;
            break;
        }
    }

    /*
     * The standby is its primary's alone (its lag is measured against
     * that primary) and stays out of the pools array: the helper runs its
     * jobs on each database of the array, never on a standby.
     */

    if (dc->replica.len) {
        sdc = *dc;
        sdc.conninfo = dc->replica;
        ngx_str_null(&sdc.replica);

        pool->standby = ngx_prefs_db_pool_create(cf, &sdc, pool->index);
        if (pool->standby == NULL) {
            return NULL;
        }

        pool->standby->primary = pool;
        pool->standby->database = pool->database;
        pool->standby->probe_interval =
            ngx_max(ngx_min(dc->max_lag / 4, NGX_PREFS_DB_PROBE_MAX),
                    NGX_PREFS_DB_PROBE_MIN);
    }

    pp = ngx_array_push(pools);
    if (pp == NULL) {
        return NULL;
    }

    *pp = pool;

    return pool;
}


static ngx_prefs_db_pool_t *
ngx_prefs_db_pool_create(ngx_conf_t *cf, ngx_prefs_db_conf_t *dc,
    ngx_uint_t index)
{
    ngx_prefs_db_pool_t  *pool;

    pool = ngx_pcalloc(cf->pool, sizeof(ngx_prefs_db_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->conf = *dc;
    pool->index = index;
    pool->database = index;
    pool->state = NGX_PREFS_DB_STANDBY_UNKNOWN;

    if (ngx_prefs_db_conn_params(cf, pool) != NGX_OK) {
        return NULL;
    }

    return pool;
}


/*
 * A query that outlives prefs_db_query_timeout must stop in the server, not
 * only in the module: closing the connection does not stop it, and it would
 * keep its locks until PostgreSQL noticed.  Every connection of the pool
 * (the workers' and the helper's) therefore starts with statement_timeout
 * just under the query timeout, so that the server cancels the statement
 * first and the connection stays usable; the operator's own "options"
 * (or PGOPTIONS) are kept before ours.
 */

static ngx_int_t
ngx_prefs_db_conn_params(ngx_conf_t *cf, ngx_prefs_db_pool_t *pool)
{
    char              *err, *given;
    u_char            *p;
    size_t             len;
    ngx_msec_t         t, margin;
    PQconninfoOption  *opts, *o;

    opts = PQconninfoParse((char *) pool->conf.conninfo.data, &err);
    if (opts == NULL) {
        if (err) {
            PQfreemem(err);
        }
        return NGX_ERROR;
    }

    given = NULL;

    for (o = opts; o->keyword; o++) {
        if (ngx_strcmp(o->keyword, "options") == 0) {
            given = o->val;
            break;
        }
    }

    if (given == NULL || given[0] == '\0') {
        given = getenv("PGOPTIONS");
    }

    if (given == NULL) {
        given = "";
    }

    t = pool->conf.query_timeout;
    margin = ngx_min(t / 20, 250);
    t = (t > margin) ? t - margin : t;

    len = ngx_strlen(given) + sizeof(" -c statement_timeout=") - 1
          + NGX_INT_T_LEN + 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        PQconninfoFree(opts);
        return NGX_ERROR;
    }

    *ngx_snprintf(p, len - 1, "%s%s-c statement_timeout=%M",
                  given, given[0] ? " " : "", t) = '\0';

    PQconninfoFree(opts);

    pool->keywords[0] = "dbname";
    pool->values[0] = (const char *) pool->conf.conninfo.data;
    pool->keywords[1] = "options";
    pool->values[1] = (const char *) p;
    pool->keywords[2] = NULL;
    pool->values[2] = NULL;

    return NGX_OK;
}


ngx_prefs_db_conf_t *
ngx_prefs_db_pool_conf(ngx_prefs_db_pool_t *pool)
{
    return &pool->conf;
}


/*
 * Which database (pool) a key belongs to: account ids and user names are
 * only unique within one, and one nginx may serve several (production and
 * sandbox).  Pools sharing a conninfo share the number.
 */

ngx_uint_t
ngx_prefs_db_pool_database(ngx_prefs_db_pool_t *pool)
{
    return pool->database;
}


ngx_int_t
ngx_prefs_db_init_process(ngx_cycle_t *cycle, ngx_array_t *pools)
{
    ngx_uint_t            i;
    ngx_prefs_db_pool_t  **pp, *pool;

    pp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        pool = pp[i];

        if (ngx_prefs_db_pool_init(cycle, pool) != NGX_OK) {
            return NGX_ERROR;
        }

        if (pool->standby == NULL) {
            continue;
        }

        if (ngx_prefs_db_pool_init(cycle, pool->standby) != NGX_OK) {
            return NGX_ERROR;
        }

        /* the helper's jobs read the primary: only workers probe */

        if (ngx_process != NGX_PROCESS_HELPER
            && ngx_prefs_db_probe_init(cycle, pool->standby) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_db_pool_init(ngx_cycle_t *cycle, ngx_prefs_db_pool_t *pool)
{
    ngx_uint_t            n;
    ngx_prefs_db_conn_t  *dc;

    pool->log = cycle->log;

    pool->conns = ngx_pcalloc(cycle->pool,
                        pool->conf.max_conns * sizeof(ngx_prefs_db_conn_t));
    if (pool->conns == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&pool->free);
    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);

    for (n = 0; n < pool->conf.max_conns; n++) {
        dc = &pool->conns[n];
        dc->pool = pool;
        dc->timer.handler = ngx_prefs_db_timer_handler;
        dc->timer.data = dc;
        dc->timer.log = cycle->log;
        ngx_queue_insert_tail(&pool->free, &dc->queue);
    }

    pool->listener.pool = pool;
    pool->listener.listen = 1;
    pool->listener.timer.handler = ngx_prefs_db_timer_handler;
    pool->listener.timer.data = &pool->listener;
    pool->listener.timer.log = cycle->log;

    pool->listen_retry.handler = ngx_prefs_db_listen_retry_handler;
    pool->listen_retry.data = pool;
    pool->listen_retry.log = cycle->log;
    pool->listen_retry.cancelable = 1;

    return NGX_OK;
}


void
ngx_prefs_db_exit_process(ngx_array_t *pools)
{
    ngx_uint_t            i;
    ngx_prefs_db_pool_t  **pp;

    pp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        if (pp[i]->standby) {
            ngx_prefs_db_pool_exit(pp[i]->standby);
        }

        ngx_prefs_db_pool_exit(pp[i]);
    }
}


static void
ngx_prefs_db_pool_exit(ngx_prefs_db_pool_t *pool)
{
    ngx_uint_t  n;

    if (pool->conns == NULL) {
        return;
    }

    pool->channel = NULL;
    pool->probing = 0;

    if (pool->probe.timer_set) {
        ngx_del_timer(&pool->probe);
    }

    for (n = 0; n < pool->conf.max_conns; n++) {
        ngx_prefs_db_close(&pool->conns[n]);
    }

    ngx_prefs_db_close(&pool->listener);

    if (pool->listen_retry.timer_set) {
        ngx_del_timer(&pool->listen_retry);
    }
}


ngx_prefs_db_query_t *
ngx_prefs_db_query_create(ngx_pool_t *p, ngx_prefs_db_pool_t *pool,
    ngx_prefs_stmt_e stmt, ngx_log_t *log)
{
    int                    n;
    ngx_prefs_db_query_t  *q;

    q = ngx_pcalloc(p, sizeof(ngx_prefs_db_query_t));
    if (q == NULL) {
        return NULL;
    }

    n = ngx_prefs_stmt_catalogue[stmt].nparams;

    if (n) {
        q->values = ngx_pcalloc(p, n * sizeof(char *));
        q->lengths = ngx_pcalloc(p, n * sizeof(int));
        if (q->values == NULL || q->lengths == NULL) {
            return NULL;
        }
    }

    q->pool = pool;
    q->home = pool;
    q->stmt = stmt;
    q->nparams = n;
    q->log = log;

    q->wait.handler = ngx_prefs_db_wait_handler;
    q->wait.data = q;
    q->wait.log = log;

    return q;
}


/*
 * Ties the query to the life of a memory pool (a request's): when the pool
 * goes first, the query leaves its queue or its connection.
 */

ngx_int_t
ngx_prefs_db_query_cleanup(ngx_pool_t *p, ngx_prefs_db_query_t *q)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(p, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_prefs_db_query_pool_cleanup;
    cln->data = q;

    return NGX_OK;
}


static void
ngx_prefs_db_query_pool_cleanup(void *data)
{
    ngx_prefs_db_query_t  *q = data;

    ngx_prefs_db_cancel(q);

    if (q->res) {
        PQclear(q->res);
        q->res = NULL;
    }
}


ngx_int_t
ngx_prefs_db_param(ngx_prefs_db_query_t *q, ngx_pool_t *p, int i,
    const u_char *data, size_t len)
{
    u_char  *v;

    v = ngx_pnalloc(p, len + 1);
    if (v == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(v, data, len);
    v[len] = '\0';

    q->values[i] = (char *) v;
    q->lengths[i] = (int) len;

    return NGX_OK;
}


void
ngx_prefs_db_submit(ngx_prefs_db_query_t *q)
{
    ngx_prefs_db_pool_t  *pool = q->home;

    if (q->standby_ok && pool->standby
        && ngx_prefs_db_standby_usable(pool->standby))
    {
        pool = pool->standby;
    }

    ngx_prefs_db_enqueue(q, pool);
}


static void
ngx_prefs_db_enqueue(ngx_prefs_db_query_t *q, ngx_prefs_db_pool_t *pool)
{
    q->pool = pool;
    q->by_standby = 0;
    q->done = 0;
    q->status = NGX_PREFS_DB_OK;
    q->error = NULL;
    q->sqlstate[0] = '\0';
    q->start = ngx_current_msec;

    pool->stats.queries++;

    if (pool->nwaiting >= pool->conf.max_waiting) {
        pool->stats.rejected++;
        ngx_prefs_db_finish(q, NGX_PREFS_DB_BUSY);
        return;
    }

    ngx_queue_insert_tail(&pool->waiting, &q->queue);
    q->queued = 1;
    pool->nwaiting++;

    ngx_add_timer(&q->wait, pool->conf.queue_timeout);

    ngx_prefs_db_dispatch(pool);
}


void
ngx_prefs_db_cancel(ngx_prefs_db_query_t *q)
{
    if (q->queued) {
        ngx_queue_remove(&q->queue);
        q->queued = 0;
        q->pool->nwaiting--;
    }

    if (q->wait.timer_set) {
        ngx_del_timer(&q->wait);
    }

    if (q->conn) {
        /* the connection drains what is in flight, then becomes idle */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, q->log, 0,
                       "prefs db: query %s detached",
                       ngx_prefs_stmt_catalogue[q->stmt].name);
        q->conn->query = NULL;
        q->conn = NULL;
    }

    q->done = 1;
}


const char *
ngx_prefs_db_status_text(ngx_prefs_db_query_t *q)
{
    return ngx_prefs_db_status_texts[q->status];
}


void
ngx_prefs_db_stats(ngx_array_t *pools, ngx_prefs_db_stats_t *st)
{
    ngx_uint_t             i;
    ngx_msec_int_t         lag;
    ngx_prefs_db_pool_t  **pp, *sb;

    ngx_memzero(st, sizeof(ngx_prefs_db_stats_t));
    st->standby_lag = -1;

    pp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        ngx_prefs_db_pool_stats(pp[i], st);

        sb = pp[i]->standby;

        if (sb == NULL) {
            continue;
        }

        ngx_prefs_db_pool_stats(sb, st);

        if (!sb->probing) {
            continue;
        }

        /* brings the state up to date with the time */
        (void) ngx_prefs_db_standby_usable(sb);

        st->standbys++;
        st->standby_state = ngx_max(st->standby_state, (ngx_uint_t) sb->state);
        st->standby_queries += sb->stats.standby_queries;
        st->standby_fallbacks += sb->stats.standby_fallbacks;

        lag = ngx_prefs_db_standby_lag(sb);
        st->standby_lag = ngx_max(st->standby_lag, lag);
    }
}


static void
ngx_prefs_db_pool_stats(ngx_prefs_db_pool_t *pool, ngx_prefs_db_stats_t *st)
{
    st->open += pool->nopen;
    st->connecting += pool->nconnecting;
    st->busy += pool->nbusy;
    st->waiting += pool->nwaiting;
    st->queries += pool->stats.queries;
    st->errors += pool->stats.errors;
    st->connect_failures += pool->stats.connect_failures;
    st->timeouts += pool->stats.timeouts;
    st->rejected += pool->stats.rejected;
}


const char *
ngx_prefs_db_standby_state_text(ngx_uint_t state)
{
    return state <= NGX_PREFS_DB_STANDBY_DOWN
           ? ngx_prefs_db_standby_texts[state] : "Unknown";
}


static void
ngx_prefs_db_dispatch(ngx_prefs_db_pool_t *pool)
{
    ngx_queue_t           *qh;
    ngx_prefs_db_conn_t   *dc;
    ngx_prefs_db_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting) && !ngx_queue_empty(&pool->idle)) {

        qh = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qh, ngx_prefs_db_query_t, queue);
        ngx_queue_remove(qh);
        q->queued = 0;
        pool->nwaiting--;

        if (q->wait.timer_set) {
            ngx_del_timer(&q->wait);
        }

        qh = ngx_queue_head(&pool->idle);
        dc = ngx_queue_data(qh, ngx_prefs_db_conn_t, queue);
        ngx_queue_remove(qh);

        if (dc->timer.timer_set) {
            ngx_del_timer(&dc->timer);
        }

        dc->c->idle = 0;
        dc->query = q;
        q->conn = dc;
        pool->nbusy++;

        ngx_prefs_db_send(dc);
    }

    /* open connections for the waiters that no connect will serve */

    while (pool->nwaiting > pool->nconnecting
           && !ngx_queue_empty(&pool->free))
    {
        qh = ngx_queue_head(&pool->free);
        dc = ngx_queue_data(qh, ngx_prefs_db_conn_t, queue);
        ngx_queue_remove(qh);

        if (ngx_prefs_db_connect(dc) != NGX_OK) {
            /* the failure has been reported to the waiters */
            return;
        }
    }
}


static ngx_int_t
ngx_prefs_db_connect(ngx_prefs_db_conn_t *dc)
{
    ngx_prefs_db_pool_t  *pool = dc->pool;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, pool->log, 0, "prefs db: connect");

    /* expand_dbname: the first "dbname" is the whole conninfo */
    dc->pg = PQconnectStartParams(pool->keywords, pool->values, 1);

    dc->state = NGX_PREFS_DB_CONNECTING;
    ngx_memzero(dc->prepared, sizeof(dc->prepared));
    dc->reused = 0;
    dc->lost = 0;

    if (!dc->listen) {
        pool->nopen++;
        pool->nconnecting++;
    }

    if (dc->pg == NULL || PQstatus(dc->pg) == CONNECTION_BAD) {
        ngx_prefs_db_fail(dc, dc->pg ? PQerrorMessage(dc->pg)
                                     : "out of memory");
        return NGX_ERROR;
    }

    PQsetNoticeProcessor(dc->pg, ngx_prefs_db_notice, pool);

    if (PQsetnonblocking(dc->pg, 1) == -1
        || ngx_prefs_db_wrap_socket(dc) != NGX_OK)
    {
        ngx_prefs_db_fail(dc, "cannot set up the connection");
        return NGX_ERROR;
    }

    dc->timer.cancelable = dc->listen;
    ngx_add_timer(&dc->timer, pool->conf.connect_timeout);

    /* libpq wants the socket writable first */
    ngx_prefs_db_connect_poll(dc);

    return dc->state == NGX_PREFS_DB_FREE ? NGX_ERROR : NGX_OK;
}


static void
ngx_prefs_db_connect_poll(ngx_prefs_db_conn_t *dc)
{
    ngx_prefs_db_pool_t          *pool = dc->pool;
    PostgresPollingStatusType     rc;

    rc = PQconnectPoll(dc->pg);

    /* libpq may move to another socket while it tries other addresses */

    if (dc->c && PQsocket(dc->pg) != dc->c->fd) {
        ngx_prefs_db_release_socket(dc);
    }

    if (dc->c == NULL && PQsocket(dc->pg) != -1
        && ngx_prefs_db_wrap_socket(dc) != NGX_OK)
    {
        ngx_prefs_db_fail(dc, "cannot set up the connection");
        return;
    }

    switch (rc) {

    case PGRES_POLLING_READING:
        (void) ngx_prefs_db_want_write(dc, 0);
        return;

    case PGRES_POLLING_WRITING:
        (void) ngx_prefs_db_want_write(dc, 1);
        return;

    case PGRES_POLLING_OK:
        break;

    default:
        ngx_prefs_db_fail(dc, PQerrorMessage(dc->pg));
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                   "prefs db: connected, server %d",
                   PQserverVersion(dc->pg));

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    (void) ngx_prefs_db_want_write(dc, 0);

    if (dc->listen) {
        dc->state = NGX_PREFS_DB_LISTEN_SETUP;
        ngx_prefs_db_send(dc);
        return;
    }

    pool->nconnecting--;
    ngx_prefs_db_set_idle(dc);
    ngx_prefs_db_dispatch(pool);
}


static ngx_int_t
ngx_prefs_db_wrap_socket(ngx_prefs_db_conn_t *dc)
{
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    fd = PQsocket(dc->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, dc->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = dc;
    c->read->handler = ngx_prefs_db_read_handler;
    c->write->handler = ngx_prefs_db_write_handler;
    c->read->log = dc->pool->log;
    c->write->log = dc->pool->log;
    c->log = dc->pool->log;

    dc->c = c;

    /* level-triggered: see the comment at the top of this file */

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_prefs_db_release_socket(ngx_prefs_db_conn_t *dc)
{
    ngx_connection_t  *c = dc->c;

    if (c == NULL) {
        return;
    }

    /* libpq closes the socket itself: only forget about it */

    if (c->read->active || c->write->active) {
        if (ngx_del_conn) {
            (void) ngx_del_conn(c, NGX_CLOSE_EVENT);

        } else {
            if (c->read->active) {
                (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
            }

            if (c->write->active) {
                (void) ngx_del_event(c->write, NGX_WRITE_EVENT,
                                     NGX_CLOSE_EVENT);
            }
        }
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;

    dc->c = NULL;
}


static ngx_int_t
ngx_prefs_db_want_write(ngx_prefs_db_conn_t *dc, ngx_flag_t want)
{
    ngx_event_t  *wev;

    if (dc->c == NULL) {
        return NGX_ERROR;
    }

    wev = dc->c->write;

    if (want && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!want && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


static void
ngx_prefs_db_read_handler(ngx_event_t *ev)
{
    ngx_connection_t     *c = ev->data;
    ngx_prefs_db_conn_t  *dc = c->data;

    if (c->close) {
        /* the worker is shutting down and this connection is idle */
        ngx_prefs_db_close(dc);
        return;
    }

    switch (dc->state) {

    case NGX_PREFS_DB_CONNECTING:
        ngx_prefs_db_connect_poll(dc);
        return;

    case NGX_PREFS_DB_IDLE:
    case NGX_PREFS_DB_LISTENING:
        if (PQconsumeInput(dc->pg) == 0) {
            ngx_log_error(NGX_LOG_WARN, dc->pool->log, 0,
                          "prefs db: idle connection lost: %*s",
                          ngx_prefs_db_chomp(PQerrorMessage(dc->pg)),
                          PQerrorMessage(dc->pg));
            ngx_prefs_db_fail(dc, NULL);
            return;
        }

        ngx_prefs_db_notifies(dc);
        return;

    default:
        ngx_prefs_db_receive(dc);
        return;
    }
}


static void
ngx_prefs_db_write_handler(ngx_event_t *ev)
{
    ngx_connection_t     *c = ev->data;
    ngx_prefs_db_conn_t  *dc = c->data;

    if (dc->state == NGX_PREFS_DB_CONNECTING) {
        ngx_prefs_db_connect_poll(dc);
        return;
    }

    if (ngx_prefs_db_flush(dc) == NGX_ERROR) {
        ngx_prefs_db_fail(dc, PQerrorMessage(dc->pg));
    }
}


static void
ngx_prefs_db_timer_handler(ngx_event_t *ev)
{
    ngx_prefs_db_conn_t  *dc = ev->data;

    switch (dc->state) {

    case NGX_PREFS_DB_IDLE:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "prefs db: keepalive timeout");
        ngx_prefs_db_close(dc);
        return;

    case NGX_PREFS_DB_CONNECTING:
    case NGX_PREFS_DB_LISTEN_SETUP:
        ngx_log_error(NGX_LOG_ERR, ev->log, NGX_ETIMEDOUT,
                      "prefs db: connect timed out");
        ngx_prefs_db_fail(dc, "connect timed out");
        return;

    default:
        /*
         * A query in flight cannot be abandoned on a live connection
         * (PQcancel blocks): the connection goes.  The server has
         * normally cancelled the statement already: statement_timeout is
         * set just under this timeout (ngx_prefs_db_conn_params()).
         */
        ngx_log_error(NGX_LOG_ERR, ev->log, NGX_ETIMEDOUT,
                      "prefs db: query %s timed out",
                      dc->stmt ? dc->stmt : "LISTEN");
        dc->pool->stats.timeouts++;

        if (dc->query) {
            ngx_prefs_db_query_t  *q = dc->query;

            dc->query = NULL;
            q->conn = NULL;
            ngx_prefs_db_close(dc);
            ngx_prefs_db_finish(q, NGX_PREFS_DB_TIMEOUT);
            return;
        }

        ngx_prefs_db_close(dc);
        return;
    }
}


static void
ngx_prefs_db_wait_handler(ngx_event_t *ev)
{
    ngx_prefs_db_query_t  *q = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "prefs db: no free connection within %M ms",
                  q->pool->conf.queue_timeout);

    ngx_queue_remove(&q->queue);
    q->queued = 0;
    q->pool->nwaiting--;
    q->pool->stats.rejected++;

    ngx_prefs_db_finish(q, NGX_PREFS_DB_BUSY);
}


static void
ngx_prefs_db_send(ngx_prefs_db_conn_t *dc)
{
    int                      rc;
    uint64_t                 bit;
    ngx_prefs_db_query_t    *q;
    const ngx_prefs_stmt_t  *st;

    if (dc->state == NGX_PREFS_DB_LISTEN_SETUP) {
        u_char       sql[256], *p, *end;
        const char  *c, *comma;

        /* the channels are constants of ours ("a, b"), never input */

        p = sql;
        end = sql + sizeof(sql) - 1;

        for (c = dc->pool->channel; *c; c = comma) {
            comma = strchr(c, ',');
            if (comma == NULL) {
                comma = c + ngx_strlen(c);
            }

            p = ngx_slprintf(p, end, "LISTEN %*s;", comma - c, c);

            while (*comma == ',' || *comma == ' ') {
                comma++;
            }
        }

        *p = '\0';
        rc = PQsendQuery(dc->pg, (char *) sql);
        goto sent;
    }

    q = dc->query;

    if (q == NULL) {
        /* detached while its statement was being prepared */
        ngx_prefs_db_set_idle(dc);
        ngx_prefs_db_dispatch(dc->pool);
        return;
    }

    st = &ngx_prefs_stmt_catalogue[q->stmt];
    bit = (uint64_t) 1 << (q->stmt % 64);
    dc->stmt = st->name;

    if (!(dc->prepared[q->stmt / 64] & bit)) {
        dc->state = NGX_PREFS_DB_PREPARING;
        rc = PQsendPrepare(dc->pg, st->name, st->sql, st->nparams, NULL);

    } else {
        dc->state = NGX_PREFS_DB_EXECUTING;
        rc = PQsendQueryPrepared(dc->pg, st->name, q->nparams, q->values,
                                 q->lengths, NULL, 0);
    }

    if (!dc->timer.timer_set) {
        dc->timer.cancelable = 0;
        ngx_add_timer(&dc->timer, dc->pool->conf.query_timeout);
    }

sent:

    if (rc == 0 || ngx_prefs_db_flush(dc) == NGX_ERROR) {
        ngx_prefs_db_fail(dc, PQerrorMessage(dc->pg));
    }
}


static ngx_int_t
ngx_prefs_db_flush(ngx_prefs_db_conn_t *dc)
{
    int  rc;

    rc = PQflush(dc->pg);

    if (rc == -1) {
        return NGX_ERROR;
    }

    return ngx_prefs_db_want_write(dc, rc == 1);
}


static void
ngx_prefs_db_receive(ngx_prefs_db_conn_t *dc)
{
    PGresult  *res;

    if (PQconsumeInput(dc->pg) == 0) {
        ngx_prefs_db_fail(dc, PQerrorMessage(dc->pg));
        return;
    }

    ngx_prefs_db_notifies(dc);

    while (!PQisBusy(dc->pg)) {

        res = PQgetResult(dc->pg);

        if (res == NULL) {
            ngx_prefs_db_result(dc);
            return;
        }

        switch (PQresultStatus(res)) {

        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            if (dc->res) {
                PQclear(dc->res);
            }
            dc->res = res;
            break;

        case PGRES_EMPTY_QUERY:
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            /* never sent by us: a confused connection is not kept */
            PQclear(res);
            dc->lost = 1;
            break;

        default:
            if (dc->error == NULL) {
                dc->error = res;

            } else {
                PQclear(res);
            }
        }
    }
}


/* all results of the last command are in */

static void
ngx_prefs_db_result(ngx_prefs_db_conn_t *dc)
{
    char                  *state;
    ngx_uint_t             level;
    ngx_prefs_db_pool_t   *pool = dc->pool;
    ngx_prefs_db_status_e  status;
    ngx_prefs_db_query_t  *q = dc->query;

    if (dc->lost || PQstatus(dc->pg) == CONNECTION_BAD) {
        ngx_prefs_db_fail(dc, PQerrorMessage(dc->pg));
        return;
    }

    if (dc->state == NGX_PREFS_DB_LISTEN_SETUP) {
        if (dc->error) {
            ngx_prefs_db_fail(dc, PQresultErrorMessage(dc->error));
            return;
        }

        if (dc->res) {
            PQclear(dc->res);
            dc->res = NULL;
        }

        dc->state = NGX_PREFS_DB_LISTENING;
        ngx_log_error(NGX_LOG_INFO, pool->log, 0,
                      "prefs db: listening on \"%s\"", pool->channel);

        /* whatever was missed while not listening is the caller's to poll */
        pool->notify(pool->notify_data, NULL, NULL);
        return;
    }

    if (dc->state == NGX_PREFS_DB_PREPARING && dc->error == NULL) {
        if (dc->res) {
            PQclear(dc->res);
            dc->res = NULL;
        }

        if (q) {
            dc->prepared[q->stmt / 64] |= (uint64_t) 1 << (q->stmt % 64);
        }

        ngx_prefs_db_send(dc);
        return;
    }

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    dc->query = NULL;
    dc->reused = 1;

    if (q == NULL) {
        /* its request went away: drop what it got */
        if (dc->res) {
            PQclear(dc->res);
            dc->res = NULL;
        }

        if (dc->error) {
            PQclear(dc->error);
            dc->error = NULL;
        }

        ngx_prefs_db_set_idle(dc);
        ngx_prefs_db_dispatch(pool);
        return;
    }

    q->conn = NULL;

    if (dc->error) {
        state = PQresultErrorField(dc->error, PG_DIAG_SQLSTATE);
        if (state) {
            ngx_cpystrn((u_char *) q->sqlstate, (u_char *) state,
                        sizeof(q->sqlstate));
        }

        if (state && ngx_strcmp(state, "57014") == 0) {

            /*
             * statement_timeout: the server stopped the statement and the
             * connection is still good
             */

            ngx_log_error(NGX_LOG_ERR, q->log, 0,
                          "prefs db: query %s timed out in the server",
                          ngx_prefs_stmt_catalogue[q->stmt].name);

            PQclear(dc->error);
            pool->stats.timeouts++;
            status = NGX_PREFS_DB_TIMEOUT;

        } else {
            /* refusals the client caused are its mistake, not ours */
            level = (state && (ngx_strncmp(state, "22", 2) == 0
                               || ngx_strncmp(state, "23", 2) == 0
                               || ngx_strncmp(state, "P0", 2) == 0))
                    ? NGX_LOG_INFO : NGX_LOG_ERR;

            /* a standby's refusal is asked of the primary: not an error */
            if (pool->primary) {
                level = NGX_LOG_INFO;
            }

            ngx_log_error(level, q->log, 0,
                          "prefs db: %s failed%s: %*s",
                          ngx_prefs_stmt_catalogue[q->stmt].name,
                          pool->primary ? " on the standby" : "",
                          ngx_prefs_db_chomp(PQresultErrorMessage(dc->error)),
                          PQresultErrorMessage(dc->error));

            q->res = dc->error;
            pool->stats.errors++;
            status = NGX_PREFS_DB_SQL_ERROR;
        }

        dc->error = NULL;

        if (dc->res) {
            PQclear(dc->res);
            dc->res = NULL;
        }

        ngx_prefs_db_set_idle(dc);
        ngx_prefs_db_finish(q, status);
        ngx_prefs_db_dispatch(pool);
        return;
    }

    q->res = dc->res;
    dc->res = NULL;

    ngx_prefs_db_set_idle(dc);
    ngx_prefs_db_finish(q, ngx_prefs_db_columns(q) == NGX_OK
                           ? NGX_PREFS_DB_OK : NGX_PREFS_DB_SQL_ERROR);
    ngx_prefs_db_dispatch(pool);
}


/*
 * The statement's result columns, by name, on its first result: the one
 * place where the module and the SQL functions agree on a result's shape.
 * A column missing is a mismatch between the two (a function changed
 * without its statement): the query fails instead of answering wrong.
 */

static ngx_int_t
ngx_prefs_db_columns(ngx_prefs_db_query_t *q)
{
    int                      n;
    ngx_uint_t               i;
    ngx_prefs_col_e          col;
    const ngx_prefs_stmt_t  *st;

    if (ngx_prefs_db_cols_known[q->stmt]
        || PQresultStatus(q->res) != PGRES_TUPLES_OK)
    {
        return NGX_OK;
    }

    st = &ngx_prefs_stmt_catalogue[q->stmt];

    for (i = 0; i < NGX_PREFS_STMT_COLS && st->cols[i]; i++) {
        col = st->cols[i];

        if (ngx_prefs_stmt_col_names[col] == NULL) {
            ngx_log_error(NGX_LOG_ALERT, q->log, 0,
                          "prefs db: %s reads column %d, which has no name "
                          "in ngx_prefs_stmt_col_names", st->name, (int) col);
            q->error = "the result lacks a column";
            return NGX_ERROR;
        }

        n = PQfnumber(q->res, ngx_prefs_stmt_col_names[col]);

        if (n < 0) {
            ngx_log_error(NGX_LOG_ERR, q->log, 0,
                          "prefs db: %s answers no column \"%s\": the "
                          "statement and its SQL function disagree",
                          st->name, ngx_prefs_stmt_col_names[col]);
            q->error = "the result lacks a column";
            return NGX_ERROR;
        }

        ngx_prefs_db_cols[q->stmt][col] = n + 1;
    }

    ngx_prefs_db_cols_known[q->stmt] = 1;

    return NGX_OK;
}


int
ngx_prefs_db_column(ngx_prefs_db_query_t *q, ngx_prefs_col_e col)
{
    return ngx_prefs_db_cols[q->stmt][col] - 1;
}


char *
ngx_prefs_db_value(ngx_prefs_db_query_t *q, int row, ngx_prefs_col_e col)
{
    return PQgetvalue(q->res, row, ngx_prefs_db_cols[q->stmt][col] - 1);
}


int
ngx_prefs_db_length(ngx_prefs_db_query_t *q, int row, ngx_prefs_col_e col)
{
    return PQgetlength(q->res, row, ngx_prefs_db_cols[q->stmt][col] - 1);
}


int64_t
ngx_prefs_db_number(ngx_prefs_db_query_t *q, int row, ngx_prefs_col_e col)
{
    return ngx_atoof((u_char *) ngx_prefs_db_value(q, row, col),
                     ngx_prefs_db_length(q, row, col));
}


ngx_flag_t
ngx_prefs_db_isnull(ngx_prefs_db_query_t *q, int row, ngx_prefs_col_e col)
{
    return PQgetisnull(q->res, row, ngx_prefs_db_cols[q->stmt][col] - 1);
}


static void
ngx_prefs_db_set_idle(ngx_prefs_db_conn_t *dc)
{
    ngx_prefs_db_pool_t  *pool = dc->pool;

    if (dc->state != NGX_PREFS_DB_CONNECTING) {
        pool->nbusy--;
    }

    dc->state = NGX_PREFS_DB_IDLE;
    dc->c->idle = 1;

    ngx_queue_insert_head(&pool->idle, &dc->queue);

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    /* an idle connection does not hold a worker that is shutting down */
    dc->timer.cancelable = 1;
    ngx_add_timer(&dc->timer, pool->conf.keepalive_timeout);
}


/*
 * The connection failed or was lost.  A query on it is retried once on a
 * fresh connection when that is safe: it was read-only and the connection
 * had sat idle, so the server most likely went away in between.
 */

static void
ngx_prefs_db_fail(ngx_prefs_db_conn_t *dc, const char *why)
{
    ngx_uint_t             level;
    ngx_flag_t             connecting, retry;
    ngx_prefs_db_pool_t   *pool = dc->pool;
    ngx_prefs_db_query_t  *q = dc->query;

    connecting = (dc->state == NGX_PREFS_DB_CONNECTING);

    /* a standby's failures are told once, as its state changes */

    level = pool->primary ? NGX_LOG_INFO : NGX_LOG_ERR;

    if (why) {
        ngx_log_error(level, pool->log, 0, "prefs db: %s%s: %*s",
                      connecting ? "connect failed" : "connection failed",
                      pool->primary ? " (standby)" : "",
                      ngx_prefs_db_chomp(why), why);
    }

    retry = (q && dc->reused && !q->retried
             && ngx_prefs_stmt_catalogue[q->stmt].readonly);

    if (connecting && !dc->listen) {
        pool->stats.connect_failures++;
    }

    if (q) {
        dc->query = NULL;
        q->conn = NULL;
    }

    ngx_prefs_db_close(dc);

    if (q) {
        if (retry) {
            q->retried = 1;
            ngx_queue_insert_head(&pool->waiting, &q->queue);
            q->queued = 1;
            pool->nwaiting++;
            ngx_add_timer(&q->wait, pool->conf.queue_timeout);

        } else {
            ngx_prefs_db_finish(q, NGX_PREFS_DB_UNAVAILABLE);
        }
    }

    if (dc->listen) {
        if (pool->channel && !pool->listen_retry.timer_set) {
            ngx_add_timer(&pool->listen_retry, NGX_PREFS_DB_LISTEN_RETRY);
        }

        return;
    }

    /*
     * When no connection is left at all, the waiters learn now that the
     * database cannot be reached, rather than at their wait timeout; while
     * others are open or connecting, those serve the waiters.  No new
     * connect is tried from here: it could fail the same way, at once.
     */

    if (connecting) {
        if (pool->nopen == 0) {
            ngx_prefs_db_fail_waiting(pool, NGX_PREFS_DB_UNAVAILABLE);
        }

        return;
    }

    ngx_prefs_db_dispatch(pool);
}


static void
ngx_prefs_db_fail_waiting(ngx_prefs_db_pool_t *pool,
    ngx_prefs_db_status_e status)
{
    ngx_queue_t            failed, *qh;
    ngx_prefs_db_query_t  *q;

    /* a handler may submit again: those join a new queue */

    if (ngx_queue_empty(&pool->waiting)) {
        return;
    }

    failed = pool->waiting;
    failed.next->prev = &failed;
    failed.prev->next = &failed;
    ngx_queue_init(&pool->waiting);
    pool->nwaiting = 0;

    while (!ngx_queue_empty(&failed)) {
        qh = ngx_queue_head(&failed);
        q = ngx_queue_data(qh, ngx_prefs_db_query_t, queue);

        ngx_queue_remove(qh);
        q->queued = 0;

        ngx_prefs_db_finish(q, status);
    }
}


static void
ngx_prefs_db_close(ngx_prefs_db_conn_t *dc)
{
    ngx_prefs_db_pool_t  *pool = dc->pool;

    if (dc->state == NGX_PREFS_DB_FREE) {
        return;
    }

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    if (!dc->listen) {
        switch (dc->state) {
        case NGX_PREFS_DB_CONNECTING:
            pool->nconnecting--;
            break;
        case NGX_PREFS_DB_IDLE:
            ngx_queue_remove(&dc->queue);
            break;
        default:
            pool->nbusy--;
        }

        pool->nopen--;
        ngx_queue_insert_tail(&pool->free, &dc->queue);
    }

    ngx_prefs_db_release_socket(dc);

    if (dc->res) {
        PQclear(dc->res);
        dc->res = NULL;
    }

    if (dc->error) {
        PQclear(dc->error);
        dc->error = NULL;
    }

    if (dc->pg) {
        PQfinish(dc->pg);
        dc->pg = NULL;
    }

    dc->state = NGX_PREFS_DB_FREE;
}


static void
ngx_prefs_db_finish(ngx_prefs_db_query_t *q, ngx_prefs_db_status_e status)
{
    if (q->wait.timer_set) {
        ngx_del_timer(&q->wait);
    }

    if (q->pool != q->home) {

        if (ngx_prefs_db_standby_declined(q, status)) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, q->log, 0,
                           "prefs db: %s: the standby declined, "
                           "asking the primary",
                           ngx_prefs_stmt_catalogue[q->stmt].name);

            q->pool->stats.standby_fallbacks++;

            if (q->res) {
                PQclear(q->res);
                q->res = NULL;
            }

            q->error = NULL;
            q->sqlstate[0] = '\0';
            q->retried = 0;

            ngx_prefs_db_enqueue(q, q->home);
            return;
        }

        q->by_standby = 1;
        q->pool->stats.standby_queries++;
    }

    q->status = status;
    q->done = 1;

    ngx_prefs_metrics_query(status, ngx_current_msec - q->start);

    if (q->error == NULL) {
        q->error = ngx_prefs_db_status_texts[status];
    }

    q->handler(q);
}


ngx_int_t
ngx_prefs_db_listen(ngx_prefs_db_pool_t *pool, const char *channel,
    ngx_prefs_db_notify_pt handler, void *data)
{
    pool->channel = channel;
    pool->notify = handler;
    pool->notify_data = data;

    ngx_prefs_db_listen_start(pool);

    return NGX_OK;
}


ngx_flag_t
ngx_prefs_db_listening(ngx_prefs_db_pool_t *pool)
{
    return pool->listener.state == NGX_PREFS_DB_LISTENING;
}


static void
ngx_prefs_db_listen_start(ngx_prefs_db_pool_t *pool)
{
    ngx_prefs_db_conn_t  *dc = &pool->listener;

    if (dc->state != NGX_PREFS_DB_FREE || pool->channel == NULL) {
        return;
    }

    (void) ngx_prefs_db_connect(dc);
}


static void
ngx_prefs_db_listen_retry_handler(ngx_event_t *ev)
{
    ngx_prefs_db_listen_start(ev->data);
}


static void
ngx_prefs_db_notifies(ngx_prefs_db_conn_t *dc)
{
    PGnotify             *n;
    ngx_prefs_db_pool_t  *pool = dc->pool;

    while ((n = PQnotifies(dc->pg)) != NULL) {
        if (dc->listen && pool->notify) {
            pool->notify(pool->notify_data, n->relname, n->extra);
        }

        PQfreemem(n);
    }
}


/*
 * The standby's probes: the primary's WAL position first, then the
 * standby's replayed one, each probe interval, in each worker.
 */

static ngx_int_t
ngx_prefs_db_probe_init(ngx_cycle_t *cycle, ngx_prefs_db_pool_t *sb)
{
    sb->probe_wal = ngx_prefs_db_query_create(cycle->pool, sb->primary,
                                              NGX_PREFS_STMT_WAL_POSITION,
                                              cycle->log);
    sb->probe_replay = ngx_prefs_db_query_create(cycle->pool, sb,
                                          NGX_PREFS_STMT_REPLAY_POSITION,
                                          cycle->log);
    if (sb->probe_wal == NULL || sb->probe_replay == NULL) {
        return NGX_ERROR;
    }

    sb->probe_wal->handler = ngx_prefs_db_probe_wal_done;
    sb->probe_wal->data = sb;
    sb->probe_wal->done = 1;
    sb->probe_replay->handler = ngx_prefs_db_probe_replay_done;
    sb->probe_replay->data = sb;
    sb->probe_replay->done = 1;

    sb->probe.handler = ngx_prefs_db_probe_handler;
    sb->probe.data = sb;
    sb->probe.log = cycle->log;
    sb->probe.cancelable = 1;
    sb->probing = 1;

    /* at once: until the first probe the standby serves nothing */
    ngx_add_timer(&sb->probe, 1);

    return NGX_OK;
}


static void
ngx_prefs_db_probe_handler(ngx_event_t *ev)
{
    ngx_prefs_db_pool_t  *sb = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate || !sb->probing) {
        return;
    }

    if (!sb->probe_wal->done || !sb->probe_replay->done) {
        /* the last probe is still out: its timeouts bound it */
        ngx_add_timer(&sb->probe, sb->probe_interval);
        return;
    }

    /* the position read is at least the one of every commit before now */
    sb->probe_sent = ngx_current_msec;

    ngx_prefs_db_submit(sb->probe_wal);
}


static void
ngx_prefs_db_probe_wal_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_db_pool_t  *sb = q->data;

    prefs_lag_primary(&sb->lag, sb->probe_sent, ngx_prefs_db_probe_lsn(q));

    /* without a new position the standby's lag grows: it is still asked */
    ngx_prefs_db_submit(sb->probe_replay);
}


static void
ngx_prefs_db_probe_replay_done(ngx_prefs_db_query_t *q)
{
    int64_t               lsn;
    const char           *why;
    ngx_prefs_db_pool_t  *sb = q->data;

    why = (q->status == NGX_PREFS_DB_OK) ? NULL : q->error;
    lsn = ngx_prefs_db_probe_lsn(q);

    if (why == NULL && lsn < 0) {
        why = "it is not in recovery (a primary, or promoted)";
    }

    if (why) {
        prefs_lag_forget(&sb->lag);
        ngx_prefs_db_standby_set(sb, NGX_PREFS_DB_STANDBY_DOWN, why);

    } else {
        prefs_lag_standby(&sb->lag, lsn);

        if (sb->state == NGX_PREFS_DB_STANDBY_DOWN) {
            sb->state = NGX_PREFS_DB_STANDBY_UNKNOWN;
        }

        (void) ngx_prefs_db_standby_usable(sb);
    }

    if (sb->probing && !ngx_exiting && !sb->probe.timer_set) {
        ngx_add_timer(&sb->probe, sb->probe_interval);
    }
}


/* a probe's one position, -1 without one; the result is done with */

static int64_t
ngx_prefs_db_probe_lsn(ngx_prefs_db_query_t *q)
{
    int64_t  lsn;

    lsn = -1;

    if (q->status == NGX_PREFS_DB_OK && PQntuples(q->res) == 1
        && !ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_LSN))
    {
        lsn = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_LSN);
    }

    if (q->res) {
        PQclear(q->res);
        q->res = NULL;
    }

    return lsn;
}


/* how long ago the standby was known to hold all the primary held; -1 */

static ngx_msec_int_t
ngx_prefs_db_standby_lag(ngx_prefs_db_pool_t *sb)
{
    if (sb->state == NGX_PREFS_DB_STANDBY_DOWN) {
        return -1;
    }

    return (ngx_msec_int_t) prefs_lag_ms(&sb->lag, ngx_current_msec);
}


static ngx_flag_t
ngx_prefs_db_standby_usable(ngx_prefs_db_pool_t *sb)
{
    ngx_msec_int_t  lag;

    if (sb->state == NGX_PREFS_DB_STANDBY_DOWN || !sb->probing) {
        return 0;
    }

    lag = ngx_prefs_db_standby_lag(sb);

    if (lag < 0) {
        return 0;
    }

    if ((ngx_msec_t) lag > sb->primary->conf.max_lag) {
        ngx_prefs_db_standby_set(sb, NGX_PREFS_DB_STANDBY_LATE, NULL);
        return 0;
    }

    ngx_prefs_db_standby_set(sb, NGX_PREFS_DB_STANDBY_READY, NULL);

    return 1;
}


static void
ngx_prefs_db_standby_set(ngx_prefs_db_pool_t *sb,
    ngx_prefs_db_standby_e state, const char *why)
{
    ngx_prefs_db_standby_e  was;

    was = sb->state;

    if (was == state) {
        return;
    }

    sb->state = state;

    switch (state) {

    case NGX_PREFS_DB_STANDBY_READY:
        ngx_log_error(NGX_LOG_NOTICE, sb->log, 0,
                      "prefs db: the standby serves reads, %M ms behind "
                      "the primary at most",
                      (ngx_msec_t) ngx_prefs_db_standby_lag(sb));
        break;

    case NGX_PREFS_DB_STANDBY_LATE:
        ngx_log_error(NGX_LOG_WARN, sb->log, 0,
                      "prefs db: the standby is more than %M ms behind "
                      "the primary: its reads go to the primary",
                      sb->primary->conf.max_lag);
        break;

    case NGX_PREFS_DB_STANDBY_DOWN:
        if (was != NGX_PREFS_DB_STANDBY_UNKNOWN || why) {
            ngx_log_error(NGX_LOG_ERR, sb->log, 0,
                          "prefs db: the standby cannot be used: %*s; its "
                          "reads go to the primary",
                          why ? ngx_prefs_db_chomp(why) : 7,
                          why ? why : "unknown");
        }
        break;

    default:
        break;
    }
}


/*
 * Whether the primary should answer what the standby answered: it was
 * unreachable, busy or slow (the standby is then left alone until a probe
 * finds it back), refused the statement (a write, a conflict with
 * recovery, a function the standby has not replayed yet), or said it has
 * not seen the token or id.  A client's mistake (SQLSTATE classes 22, 23
 * and P0) is the same on the primary: it stands.
 */

static ngx_flag_t
ngx_prefs_db_standby_declined(ngx_prefs_db_query_t *q,
    ngx_prefs_db_status_e status)
{
    switch (status) {

    case NGX_PREFS_DB_OK:
        return ngx_prefs_db_standby_miss(q);

    case NGX_PREFS_DB_SQL_ERROR:
        return !(ngx_strncmp(q->sqlstate, "22", 2) == 0
                 || ngx_strncmp(q->sqlstate, "23", 2) == 0
                 || ngx_strncmp(q->sqlstate, "P0", 2) == 0);

    case NGX_PREFS_DB_BUSY:
        return 1;

    default:
        ngx_prefs_db_standby_set(q->pool, NGX_PREFS_DB_STANDBY_DOWN,
                                 ngx_prefs_db_status_texts[status]);
        return 1;
    }
}


static ngx_flag_t
ngx_prefs_db_standby_miss(ngx_prefs_db_query_t *q)
{
    ngx_uint_t               i, k;
    const char              *v;
    ngx_prefs_col_e          col;
    const ngx_prefs_stmt_t  *st;

    if (PQresultStatus(q->res) != PGRES_TUPLES_OK) {
        return 0;
    }

    if (PQntuples(q->res) == 0) {
        return 1;
    }

    st = &ngx_prefs_stmt_catalogue[q->stmt];

    for (i = 0; i < NGX_PREFS_STMT_COLS && st->cols[i]; i++) {
        col = st->cols[i];

        if (col == NGX_PREFS_COL_OUTCOME) {
            v = ngx_prefs_db_value(q, 0, col);

            for (k = 0; ngx_prefs_db_standby_misses[k]; k++) {
                if (ngx_strcmp(v, ngx_prefs_db_standby_misses[k]) == 0) {
                    return 1;
                }
            }

        } else if ((col == NGX_PREFS_COL_BODY || col == NGX_PREFS_COL_DOCUMENT)
                   && ngx_prefs_db_isnull(q, 0, col)
                   && ngx_prefs_db_column(q, NGX_PREFS_COL_OUTCOME) < 0)
        {
            /* no outcome to say why: a row the standby lacks */
            return 1;
        }
    }

    return 0;
}


/* libpq's messages end with a newline that a log line does not want */

static int
ngx_prefs_db_chomp(const char *msg)
{
    size_t  len;

    len = ngx_strlen(msg);

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    return (int) len;
}


static void
ngx_prefs_db_notice(void *arg, const char *message)
{
    ngx_prefs_db_pool_t  *pool = arg;

    ngx_log_error(NGX_LOG_NOTICE, pool->log, 0, "prefs db: server says: %*s",
                  ngx_prefs_db_chomp(message), message);
}


/*
 * Numeric IPv4 or IPv6 addresses, comma-separated: each has a colon (and
 * hex digits), or dots between decimal digits.  "db" or "cafe" is a name.
 */

static ngx_flag_t
ngx_prefs_db_is_address(const char *host)
{
    const char  *p, *start;
    ngx_flag_t   colon, dot;

    for (start = host; *start; start = (*p == ',') ? p + 1 : p) {
        colon = 0;
        dot = 0;

        for (p = start; *p && *p != ','; p++) {
            if (*p == ':') {
                colon = 1;

            } else if (*p == '.') {
                dot = 1;

            } else if (!isxdigit((unsigned char) *p)) {
                return 0;
            }
        }

        if (!colon) {
            if (!dot) {
                return 0;
            }

            for (p = start; *p && *p != ','; p++) {
                if (*p != '.' && !isdigit((unsigned char) *p)) {
                    return 0;
                }
            }
        }
    }

    return 1;
}
