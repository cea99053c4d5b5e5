
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_SHM_H_INCLUDED_
#define _NGX_PREFS_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_db.h"
#include "ngx_prefs_metrics.h"


/* configuration generations: account_id modulo this many counters */
#define NGX_PREFS_SHM_CONFIG_GENS   4096

/* changed profiles served at the edge: (account, profile) hashed */
#define NGX_PREFS_SHM_EDGE_GENS     16384

/* how long what a worker keeps of an account may go unchecked */
#define NGX_PREFS_SHM_FRESH         1000
#define NGX_PREFS_SHM_BEAT_AGE      1200

/* status slots: one per worker, then the helper's */
#define NGX_PREFS_SHM_MAX_WORKERS   256
#define NGX_PREFS_SHM_HELPER_SLOT   NGX_PREFS_SHM_MAX_WORKERS


typedef struct {
    ngx_pid_t                  pid;
    time_t                     started;
    ngx_uint_t                 kind;           /* 0 free, 1 worker, 2 single */
    ngx_prefs_db_stats_t       db;

    /* the helper's own */
    time_t                     last_poll;
    ngx_uint_t                 listening;
    ngx_uint_t                 jobs_running;
    ngx_uint_t                 jobs_done;
    ngx_uint_t                 jobs_failed;
    ngx_uint_t                 jobs_stale;

    /* the worker's configuration snapshots */
    ngx_uint_t                 config_accounts;
    size_t                     config_bytes;
    ngx_uint_t                 config_loads;

    /* the helper's event partition upkeep: the last run, and totals */
    time_t                     events_upkeep_at;
    ngx_uint_t                 events_upkeep_failed;
    ngx_uint_t                 events_upkeep_failures;
    ngx_uint_t                 events_partitions_created;
    ngx_uint_t                 events_partitions_dropped;
} ngx_prefs_shm_slot_t;


typedef struct {
    ngx_prefs_shm_slot_t       slots[NGX_PREFS_SHM_MAX_WORKERS + 1];

    /*
     * Configuration changes, as the helper hears of them (NOTIFY
     * prefs_config): a counter per account (hashed), an epoch bumped
     * whenever the helper starts listening (what it missed meanwhile is
     * unknown), and the last time it was known to listen.
     */
    ngx_atomic_t               config_gen[NGX_PREFS_SHM_CONFIG_GENS];
    ngx_atomic_t               config_epoch;
    ngx_atomic_t               config_beat;       /* ngx_current_msec */
    ngx_atomic_t               config_listening;

    /*
     * Profiles changed in accounts served at the edge (NOTIFY prefs_edge,
     * src/http/ngx_prefs_edge.c): a counter per profile, hashed with its
     * account, and one per account for a change of many profiles.
     */
    ngx_atomic_t               edge_gen[NGX_PREFS_SHM_EDGE_GENS];
    ngx_atomic_t               edge_account_gen[NGX_PREFS_SHM_CONFIG_GENS];

    /*
     * Failed authentications per source, per user name and source, per
     * OAuth client_id, for all workers (src/http/ngx_prefs_auth.c): the
     * counting ones least recently failed last, the locked ones (never
     * evicted before their lock ends) locked longest ago last.
     */
    ngx_rbtree_t               fail_tree;
    ngx_rbtree_node_t          fail_sentinel;
    ngx_queue_t                fail_lru;
    ngx_queue_t                fail_locked;

    /* the signatures of once-only accounts seen in their window */
    ngx_rbtree_t               replay_tree;
    ngx_rbtree_node_t          replay_sentinel;
    ngx_queue_t                replay_queue;

    /* "prefs_api metrics": counters of every process */
    ngx_prefs_metrics_t        metrics;
} ngx_prefs_shm_t;


ngx_prefs_shm_slot_t *ngx_prefs_shm_slot(ngx_prefs_shm_t *sh, ngx_uint_t n);

/* this process's slot, kept current once a second; NULL without one */
ngx_int_t ngx_prefs_shm_start(ngx_cycle_t *cycle, ngx_prefs_shm_slot_t *slot,
    ngx_array_t *pools);
ngx_prefs_shm_slot_t *ngx_prefs_shm_own_slot(void);

/*
 * Whether what a worker keeps of an account is current: it was read when
 * the account's counter and the epoch were gen_seen and epoch_seen, and
 * last checked at checked.  Stale when either has moved; else current
 * while the helper says it listens (within NGX_PREFS_SHM_BEAT_AGE ms),
 * or for NGX_PREFS_SHM_FRESH ms after it was checked when nobody does.
 */
ngx_uint_t ngx_prefs_shm_config_fresh(ngx_prefs_shm_t *sh, int64_t account_id,
    ngx_atomic_uint_t gen_seen, ngx_atomic_uint_t epoch_seen,
    ngx_msec_t checked);


#endif /* _NGX_PREFS_SHM_H_INCLUDED_ */
