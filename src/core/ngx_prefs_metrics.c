
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The metrics counters of the shared zone and the hooks that move them.
 * Each process points at the zone's counters when a location has
 * "prefs_api metrics", and at nothing otherwise: then every hook returns
 * at once, so a server without metrics pays one test per hook.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_metrics.h"


static ngx_prefs_metrics_t  *ngx_prefs_metrics_shm;


void
ngx_prefs_metrics_attach(ngx_prefs_metrics_t *metrics)
{
    ngx_prefs_metrics_shm = metrics;
}


ngx_prefs_metrics_t *
ngx_prefs_metrics_get(void)
{
    return ngx_prefs_metrics_shm;
}


void
ngx_prefs_metrics_hist_add(ngx_prefs_metrics_hist_t *h, ngx_msec_t ms)
{
    (void) ngx_atomic_fetch_add(&h->bucket[prefs_metrics_bucket(ms)], 1);
    (void) ngx_atomic_fetch_add(&h->sum_ms, ms);
}


void
ngx_prefs_metrics_auth_failed(ngx_prefs_metrics_auth_e reason)
{
    if (ngx_prefs_metrics_shm) {
        (void) ngx_atomic_fetch_add(
                           &ngx_prefs_metrics_shm->auth_failures[reason], 1);
    }
}


void
ngx_prefs_metrics_query(ngx_uint_t status, ngx_msec_t ms)
{
    if (ngx_prefs_metrics_shm == NULL
        || status >= NGX_PREFS_METRICS_DB_STATUSES)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_prefs_metrics_shm->queries[status], 1);
    ngx_prefs_metrics_hist_add(&ngx_prefs_metrics_shm->query_latency, ms);
}


void
ngx_prefs_metrics_webhook(ngx_int_t status, ngx_uint_t refused,
    ngx_str_t *error)
{
    int  reason;

    if (ngx_prefs_metrics_shm == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_prefs_metrics_shm->webhook_attempts, 1);

    reason = prefs_metrics_wh_reason((int) status, (int) refused,
                                     (const char *) error->data, error->len);
    if (reason < 0) {
        (void) ngx_atomic_fetch_add(&ngx_prefs_metrics_shm->webhook_successes,
                                    1);
        return;
    }

    (void) ngx_atomic_fetch_add(
                         &ngx_prefs_metrics_shm->webhook_failures[reason], 1);
}


void
ngx_prefs_metrics_bulk(ngx_prefs_metrics_bulk_e state, ngx_uint_t n)
{
    if (ngx_prefs_metrics_shm) {
        (void) ngx_atomic_fetch_add(
                           &ngx_prefs_metrics_shm->bulk_records[state], n);
    }
}
