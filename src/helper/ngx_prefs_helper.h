
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_HELPER_H_INCLUDED_
#define _NGX_PREFS_HELPER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"


typedef struct ngx_prefs_helper_job_s  ngx_prefs_helper_job_t;

typedef void (*ngx_prefs_helper_job_run_pt)(ngx_prefs_helper_job_t *job);


typedef struct {
    const char                   *type;
    ngx_prefs_helper_job_run_pt   run;
} ngx_prefs_helper_job_type_t;


struct ngx_prefs_helper_job_s {
    ngx_pool_t                *pool;
    ngx_log_t                 *log;
    void                      *runner;

    ngx_str_t                  id;
    ngx_str_t                  token;
    ngx_str_t                  type;
    ngx_str_t                  payload;      /* JSON text, null-terminated */
    ngx_uint_t                 attempt;
    ngx_str_t                  attempt_text;

    ngx_event_t                timer;        /* for the job's own use */
    void                      *ctx;
    ngx_prefs_db_pool_t       *db;           /* for the job's own queries */
    ngx_http_prefs_main_conf_t *pmcf;

    /* private */
    ngx_queue_t                queue;
    ngx_prefs_db_query_t      *finish;
    ngx_event_t                retry;
    ngx_uint_t                 outcome;
    ngx_msec_t                 retry_after;  /* of a failed attempt */
};


extern const ngx_prefs_helper_job_type_t  ngx_prefs_jobs_types[];


ngx_msec_t ngx_prefs_helper_manager(void *data);
ngx_int_t ngx_prefs_helper_start(ngx_cycle_t *cycle,
    ngx_http_prefs_main_conf_t *pmcf);
void ngx_prefs_helper_stop(ngx_cycle_t *cycle);

/*
 * A job reports its outcome once: result is JSON text (or NULL), error a
 * message (NULL on success); a failed job is tried again after retry_after
 * while attempts remain, or never again when retry_after is 0.
 */
void ngx_prefs_helper_job_done(ngx_prefs_helper_job_t *job, const char *result,
    const char *error, ngx_msec_t retry_after);

/* the database pool of the runner that claimed the job, for its queries */
ngx_prefs_db_pool_t *ngx_prefs_helper_job_db(ngx_prefs_helper_job_t *job);
/* the module's main configuration (prefs_secret_key, ...) */
ngx_http_prefs_main_conf_t *ngx_prefs_helper_job_conf(
    ngx_prefs_helper_job_t *job);


#endif /* _NGX_PREFS_HELPER_H_INCLUDED_ */
