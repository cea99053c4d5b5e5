
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The helper's upkeep of the daily event partitions
 * (prefs_event_partitions through prefs_events_maintain): a second after
 * the helper starts, then daily.  Every helper of every node runs it (a
 * reload or a respawn runs it again); the function takes an
 * advisory lock and is idempotent, so overlapping runs (a reload, two
 * nodes) only wait for each other.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_partitions.h"


#define NGX_PREFS_PARTITIONS_FIRST   1000
#define NGX_PREFS_PARTITIONS_EVERY   (24 * 60 * 60 * 1000)
#define NGX_PREFS_PARTITIONS_RETRY   (60 * 1000)


struct ngx_prefs_partitions_s {
    ngx_prefs_db_pool_t          *pool;
    ngx_http_prefs_main_conf_t   *pmcf;
    ngx_log_t                    *log;
    ngx_event_t                   timer;
    ngx_pool_t                   *run_pool;   /* while a run is out */
    char                          keep[NGX_INT_T_LEN + 1];
};


static void ngx_prefs_partitions_run(ngx_event_t *ev);
static void ngx_prefs_partitions_done(ngx_prefs_db_query_t *q);


ngx_prefs_partitions_t *
ngx_prefs_partitions_start(ngx_cycle_t *cycle, ngx_prefs_db_pool_t *pool,
    ngx_http_prefs_main_conf_t *pmcf)
{
    ngx_prefs_partitions_t  *up;

    up = ngx_pcalloc(cycle->pool, sizeof(ngx_prefs_partitions_t));
    if (up == NULL) {
        return NULL;
    }

    up->pool = pool;
    up->pmcf = pmcf;
    up->log = cycle->log;

    *ngx_sprintf((u_char *) up->keep, "%i", pmcf->events.history_days) = '\0';

    up->timer.handler = ngx_prefs_partitions_run;
    up->timer.data = up;
    up->timer.log = cycle->log;
    up->timer.cancelable = 1;

    /*
     * Soon after the start, once the job loop's first claim has had its
     * connection: under "master_process off" the helper shares the
     * worker's pool, and a burst of three queries at start would open
     * three connections where one does.
     */
    ngx_add_timer(&up->timer, NGX_PREFS_PARTITIONS_FIRST);

    return up;
}


void
ngx_prefs_partitions_stop(ngx_prefs_partitions_t *up)
{
    if (up == NULL) {
        return;
    }

    if (up->timer.timer_set) {
        ngx_del_timer(&up->timer);
    }

    if (up->run_pool) {
        /* cancels the query through its cleanup */
        ngx_destroy_pool(up->run_pool);
        up->run_pool = NULL;
    }
}


static void
ngx_prefs_partitions_run(ngx_event_t *ev)
{
    ngx_prefs_db_query_t       *q;
    ngx_prefs_partitions_t     *up = ev->data;

    if (up->run_pool) {
        return;
    }

    up->run_pool = ngx_create_pool(1024, up->log);
    if (up->run_pool == NULL) {
        goto retry;
    }

    q = ngx_prefs_db_query_create(up->run_pool, up->pool,
                                  NGX_PREFS_STMT_EVENTS_MAINTAIN, up->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(up->run_pool, q) != NGX_OK) {
        ngx_destroy_pool(up->run_pool);
        up->run_pool = NULL;
        goto retry;
    }

    q->values[0] = up->keep;
    q->handler = ngx_prefs_partitions_done;
    q->data = up;

    ngx_prefs_db_submit(q);
    return;

retry:

    ngx_add_timer(&up->timer, NGX_PREFS_PARTITIONS_RETRY);
}


static void
ngx_prefs_partitions_done(ngx_prefs_db_query_t *q)
{
    ngx_uint_t                  created, dropped, level;
    ngx_msec_t                  next;
    ngx_prefs_shm_slot_t       *slot;
    ngx_prefs_partitions_t     *up = q->data;

    slot = ngx_prefs_shm_slot(up->pmcf->sh, NGX_PREFS_SHM_HELPER_SLOT);

    if (q->status == NGX_PREFS_DB_OK && PQntuples(q->res) == 1) {
        created = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_CREATED);
        dropped = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_DROPPED);

        level = (created || dropped) ? NGX_LOG_NOTICE : NGX_LOG_INFO;

        ngx_log_error(level, up->log, 0,
                      "prefs helper: event partitions kept for %s days: "
                      "%ui created, %ui dropped",
                      up->keep, created, dropped);

        if (slot) {
            slot->events_upkeep_at = ngx_time();
            slot->events_upkeep_failed = 0;
            slot->events_partitions_created += created;
            slot->events_partitions_dropped += dropped;
        }

        next = NGX_PREFS_PARTITIONS_EVERY;

    } else {
        ngx_log_error(NGX_LOG_ERR, up->log, 0,
                      "prefs helper: event partition upkeep failed: %s, "
                      "trying again in a minute",
                      q->error ? q->error : "no answer");

        if (slot) {
            slot->events_upkeep_at = ngx_time();
            slot->events_upkeep_failed = 1;
            slot->events_upkeep_failures++;
        }

        next = NGX_PREFS_PARTITIONS_RETRY;
    }

    /* destroys q and its result */
    ngx_destroy_pool(up->run_pool);
    up->run_pool = NULL;

    ngx_add_timer(&up->timer, next);
}
