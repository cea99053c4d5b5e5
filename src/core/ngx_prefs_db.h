
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_DB_H_INCLUDED_
#define _NGX_PREFS_DB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <libpq-fe.h>

#include "ngx_prefs_stmt.h"


/* what became of a query, as its handler sees it */
typedef enum {
    NGX_PREFS_DB_OK = 0,          /* q->res holds the result */
    NGX_PREFS_DB_SQL_ERROR,       /* the server refused it: q->sqlstate */
    NGX_PREFS_DB_UNAVAILABLE,     /* no connection could be had or kept */
    NGX_PREFS_DB_BUSY,            /* every connection busy past the wait */
    NGX_PREFS_DB_TIMEOUT          /* the query ran past its timeout */
} ngx_prefs_db_status_e;


typedef struct ngx_prefs_db_pool_s   ngx_prefs_db_pool_t;
typedef struct ngx_prefs_db_conn_s   ngx_prefs_db_conn_t;
typedef struct ngx_prefs_db_query_s  ngx_prefs_db_query_t;

typedef void (*ngx_prefs_db_handler_pt)(ngx_prefs_db_query_t *q);
typedef void (*ngx_prefs_db_notify_pt)(void *data, const char *channel,
    const char *payload);


/* per-process totals, copied into the status zone */
typedef struct {
    ngx_uint_t                 open;
    ngx_uint_t                 connecting;
    ngx_uint_t                 busy;
    ngx_uint_t                 waiting;
    ngx_uint_t                 queries;
    ngx_uint_t                 errors;
    ngx_uint_t                 connect_failures;
    ngx_uint_t                 timeouts;
    ngx_uint_t                 rejected;

    /* the standbys (prefs_db_replica) of this process's pools */
    ngx_uint_t                 standbys;
    ngx_uint_t                 standby_state;  /* the worst of them */
    ngx_msec_int_t             standby_lag;    /* the largest, -1 unknown */
    ngx_uint_t                 standby_queries;
    ngx_uint_t                 standby_fallbacks;
} ngx_prefs_db_stats_t;


/* what a process knows of a standby, worst last */
typedef enum {
    NGX_PREFS_DB_STANDBY_READY = 0,    /* replaying within max_lag */
    NGX_PREFS_DB_STANDBY_UNKNOWN,      /* not probed yet */
    NGX_PREFS_DB_STANDBY_LATE,         /* further behind than max_lag */
    NGX_PREFS_DB_STANDBY_DOWN          /* unreachable, or not a standby */
} ngx_prefs_db_standby_e;


/* configuration of one pool: one per distinct set of settings */
typedef struct {
    ngx_str_t                  conninfo;      /* null-terminated */
    ngx_uint_t                 max_conns;
    ngx_uint_t                 max_waiting;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 query_timeout;
    ngx_msec_t                 queue_timeout;
    ngx_msec_t                 keepalive_timeout;
    u_char                    *conf_file;
    ngx_uint_t                 line;

    /* prefs_db_replica: a read-only standby of this database, if any */
    ngx_str_t                  replica;       /* null-terminated */
    ngx_msec_t                 max_lag;
} ngx_prefs_db_conf_t;


struct ngx_prefs_db_query_s {
    ngx_prefs_db_pool_t       *pool;
    ngx_prefs_stmt_e           stmt;
    int                        nparams;
    const char               **values;
    int                       *lengths;

    ngx_prefs_db_handler_pt    handler;
    void                      *data;
    ngx_log_t                 *log;

    /*
     * The query may be answered by the pool's standby (prefs_db_replica)
     * while that is within its max_lag: a route that tolerates a little
     * lag sets it before each submit.  What the standby cannot answer (it
     * is down, refuses, is read-only where the statement writes, or does
     * not know the token or id yet) is asked of the primary.
     */
    unsigned                   standby_ok:1;

    /* set before the handler is called */
    ngx_prefs_db_status_e      status;
    unsigned                   by_standby:1;   /* who answered */
    PGresult                  *res;
    char                       sqlstate[6];
    const char                *error;

    /* private */
    ngx_prefs_db_pool_t       *home;           /* the pool it was made for */
    ngx_queue_t                queue;
    ngx_event_t                wait;
    ngx_prefs_db_conn_t       *conn;
    ngx_msec_t                 start;
    unsigned                   queued:1;
    unsigned                   retried:1;
    unsigned                   done:1;
};


/* checks a conninfo (null-terminated) at "nginx -t" */
char *ngx_prefs_db_conf_init(ngx_conf_t *cf, const char *directive,
    ngx_str_t *conninfo);
ngx_int_t ngx_prefs_db_init_process(ngx_cycle_t *cycle, ngx_array_t *pools);
void ngx_prefs_db_exit_process(ngx_array_t *pools);

ngx_prefs_db_pool_t *ngx_prefs_db_pool_add(ngx_conf_t *cf, ngx_array_t *pools,
    ngx_prefs_db_conf_t *dc);
ngx_prefs_db_conf_t *ngx_prefs_db_pool_conf(ngx_prefs_db_pool_t *pool);
ngx_uint_t ngx_prefs_db_pool_database(ngx_prefs_db_pool_t *pool);

ngx_prefs_db_query_t *ngx_prefs_db_query_create(ngx_pool_t *p,
    ngx_prefs_db_pool_t *pool, ngx_prefs_stmt_e stmt, ngx_log_t *log);
ngx_int_t ngx_prefs_db_query_cleanup(ngx_pool_t *p, ngx_prefs_db_query_t *q);
/* libpq reads text parameters up to their NUL: this copies one that has none */
ngx_int_t ngx_prefs_db_param(ngx_prefs_db_query_t *q, ngx_pool_t *p,
    int i, const u_char *data, size_t len);
void ngx_prefs_db_submit(ngx_prefs_db_query_t *q);
void ngx_prefs_db_cancel(ngx_prefs_db_query_t *q);

const char *ngx_prefs_db_status_text(ngx_prefs_db_query_t *q);

/*
 * A result's columns by name (the statement's list in ngx_prefs_stmt.c):
 * the position is looked up once per process.  ngx_prefs_db_column() is -1
 * for a column the statement does not answer.
 */
int ngx_prefs_db_column(ngx_prefs_db_query_t *q, ngx_prefs_col_e col);
char *ngx_prefs_db_value(ngx_prefs_db_query_t *q, int row,
    ngx_prefs_col_e col);
int ngx_prefs_db_length(ngx_prefs_db_query_t *q, int row,
    ngx_prefs_col_e col);
ngx_flag_t ngx_prefs_db_isnull(ngx_prefs_db_query_t *q, int row,
    ngx_prefs_col_e col);
/* a decimal column's value; -1 when it is not one */
int64_t ngx_prefs_db_number(ngx_prefs_db_query_t *q, int row,
    ngx_prefs_col_e col);

void ngx_prefs_db_stats(ngx_array_t *pools, ngx_prefs_db_stats_t *st);
const char *ngx_prefs_db_standby_state_text(ngx_uint_t state);

/* a dedicated LISTEN connection, reconnected for as long as it is wanted */
ngx_int_t ngx_prefs_db_listen(ngx_prefs_db_pool_t *pool, const char *channel,
    ngx_prefs_db_notify_pt handler, void *data);
ngx_flag_t ngx_prefs_db_listening(ngx_prefs_db_pool_t *pool);


#endif /* _NGX_PREFS_DB_H_INCLUDED_ */
