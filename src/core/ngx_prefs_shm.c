
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The shared zone: a status slot per process, the configuration
 * generations the helper bumps and the workers read, and the failed
 * authentication counters.  Each process copies its own pool counters
 * into its slot once a second; "prefs_api status" reads them all.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_prefs_shm.h"


#define NGX_PREFS_SHM_REFRESH  1000


static void ngx_prefs_shm_refresh_handler(ngx_event_t *ev);


static ngx_event_t            ngx_prefs_shm_refresh;
static ngx_connection_t       ngx_prefs_shm_ident;
static ngx_prefs_shm_slot_t  *ngx_prefs_shm_own;
static ngx_array_t           *ngx_prefs_shm_pools;


ngx_prefs_shm_slot_t *
ngx_prefs_shm_slot(ngx_prefs_shm_t *sh, ngx_uint_t n)
{
    if (sh == NULL || n > NGX_PREFS_SHM_HELPER_SLOT) {
        return NULL;
    }

    return &sh->slots[n];
}


ngx_prefs_shm_slot_t *
ngx_prefs_shm_own_slot(void)
{
    return ngx_prefs_shm_own;
}


ngx_int_t
ngx_prefs_shm_start(ngx_cycle_t *cycle, ngx_prefs_shm_slot_t *slot,
    ngx_array_t *pools)
{
    ngx_prefs_shm_own = slot;
    ngx_prefs_shm_pools = pools;

    /* a debug log prints a timer's "fd" from its data: give it -1 */
    ngx_prefs_shm_ident.fd = (ngx_socket_t) -1;

    ngx_prefs_shm_refresh.data = &ngx_prefs_shm_ident;
    ngx_prefs_shm_refresh.handler = ngx_prefs_shm_refresh_handler;
    ngx_prefs_shm_refresh.log = cycle->log;
    ngx_prefs_shm_refresh.cancelable = 1;

    ngx_add_timer(&ngx_prefs_shm_refresh, NGX_PREFS_SHM_REFRESH);

    return NGX_OK;
}


static void
ngx_prefs_shm_refresh_handler(ngx_event_t *ev)
{
    if (ngx_prefs_shm_own) {
        ngx_prefs_db_stats(ngx_prefs_shm_pools, &ngx_prefs_shm_own->db);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_PREFS_SHM_REFRESH);
    }
}


ngx_uint_t
ngx_prefs_shm_config_fresh(ngx_prefs_shm_t *sh, int64_t account_id,
    ngx_atomic_uint_t gen_seen, ngx_atomic_uint_t epoch_seen,
    ngx_msec_t checked)
{
    if (sh == NULL) {
        return (ngx_msec_int_t) (ngx_current_msec - checked)
               < NGX_PREFS_SHM_FRESH;
    }

    if (sh->config_gen[account_id % NGX_PREFS_SHM_CONFIG_GENS] != gen_seen
        || sh->config_epoch != epoch_seen)
    {
        return 0;
    }

    if (sh->config_listening
        && (ngx_msec_int_t) (ngx_current_msec - sh->config_beat)
           < NGX_PREFS_SHM_BEAT_AGE)
    {
        return 1;
    }

    /* nobody is known to listen for changes: check at most each second */
    return (ngx_msec_int_t) (ngx_current_msec - checked)
           < NGX_PREFS_SHM_FRESH;
}
