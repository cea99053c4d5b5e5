
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_METRICS_H_INCLUDED_
#define _NGX_PREFS_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "prefs_metrics.h"


/*
 * The counters behind "prefs_api metrics", in the shared zone: every
 * process adds to them with atomic increments, the answering worker reads
 * them.  Fixed-size arrays indexed by what a request is (its API location,
 * its route template, its method and status class), so that counting costs
 * a few atomic adds and no lock.
 */


#define NGX_PREFS_METRICS_APIS      8      /* NGX_HTTP_PREFS_API_* */
#define NGX_PREFS_METRICS_ROUTES    256    /* route templates; 0: none */
#define NGX_PREFS_METRICS_METHODS   7      /* GET ... DELETE, other */
#define NGX_PREFS_METRICS_CLASSES   5      /* 1xx ... 5xx */
#define NGX_PREFS_METRICS_HIST      (PREFS_METRICS_BUCKETS + 1)
#define NGX_PREFS_METRICS_DB_STATUSES  5   /* ngx_prefs_db_status_e */


typedef enum {
    NGX_PREFS_METRICS_AUTH_HEADER = 0,  /* no usable Authorization header */
    NGX_PREFS_METRICS_AUTH_ACCOUNT,     /* no account has the clientId */
    NGX_PREFS_METRICS_AUTH_TIMESTAMP,   /* outside the account's window */
    NGX_PREFS_METRICS_AUTH_USER,        /* unknown or inactive user */
    NGX_PREFS_METRICS_AUTH_SIGNATURE,   /* no live secret matches */
    NGX_PREFS_METRICS_AUTH_TOKEN,       /* unknown or expired bearer token */
    NGX_PREFS_METRICS_AUTH_THROTTLED,   /* too many failures: 429 */
    NGX_PREFS_METRICS_AUTH_CLIENT,      /* POST /oauth/token invalid_client */
    NGX_PREFS_METRICS_AUTH_REASONS
} ngx_prefs_metrics_auth_e;


/* bulk jobs, once they exist: records by what became of them */
typedef enum {
    NGX_PREFS_METRICS_BULK_STAGED = 0,
    NGX_PREFS_METRICS_BULK_PROCESSED,
    NGX_PREFS_METRICS_BULK_FAILED,
    NGX_PREFS_METRICS_BULK_STATES
} ngx_prefs_metrics_bulk_e;


/* a latency histogram: a count per bucket (not cumulative), the sum in ms */
typedef struct {
    ngx_atomic_t               bucket[NGX_PREFS_METRICS_HIST];
    ngx_atomic_t               sum_ms;
} ngx_prefs_metrics_hist_t;


typedef struct {
    ngx_atomic_t               requests[NGX_PREFS_METRICS_APIS]
                                       [NGX_PREFS_METRICS_ROUTES]
                                       [NGX_PREFS_METRICS_METHODS]
                                       [NGX_PREFS_METRICS_CLASSES];
    ngx_prefs_metrics_hist_t   latency[NGX_PREFS_METRICS_APIS]
                                      [NGX_PREFS_METRICS_ROUTES];
    ngx_atomic_t               throttled[NGX_PREFS_METRICS_APIS];
    ngx_atomic_t               auth_failures[NGX_PREFS_METRICS_AUTH_REASONS];

    /* every query of every pool: by how it ended, and how long it took */
    ngx_atomic_t               queries[NGX_PREFS_METRICS_DB_STATUSES];
    ngx_prefs_metrics_hist_t   query_latency;

    ngx_atomic_t               webhook_attempts;
    ngx_atomic_t               webhook_successes;
    ngx_atomic_t               webhook_failures[PREFS_METRICS_WH_REASONS];

    ngx_atomic_t               bulk_records[NGX_PREFS_METRICS_BULK_STATES];
} ngx_prefs_metrics_t;


/* counting starts (metrics != NULL) or stops (NULL) in this process */
void ngx_prefs_metrics_attach(ngx_prefs_metrics_t *metrics);
ngx_prefs_metrics_t *ngx_prefs_metrics_get(void);

void ngx_prefs_metrics_hist_add(ngx_prefs_metrics_hist_t *h, ngx_msec_t ms);

/* the hooks: each a no-op while no location has "prefs_api metrics" */
void ngx_prefs_metrics_auth_failed(ngx_prefs_metrics_auth_e reason);
void ngx_prefs_metrics_query(ngx_uint_t status, ngx_msec_t ms);
void ngx_prefs_metrics_webhook(ngx_int_t status, ngx_uint_t refused,
    ngx_str_t *error);
void ngx_prefs_metrics_bulk(ngx_prefs_metrics_bulk_e state, ngx_uint_t n);


#endif /* _NGX_PREFS_METRICS_H_INCLUDED_ */
