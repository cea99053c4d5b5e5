
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The job type "prefs.import" (payload {"import_id": n}): an executed bulk
 * import, run in batches of prefs_import_batch records.  Each batch is one
 * call of prefs_import_run (sql/functions/import.sql), one transaction that
 * applies the records through the engine, stores their outcomes and
 * advances the import's counters: a batch is applied whole or not at all,
 * so whatever stops the helper (SIGKILL, reload, the database restarting)
 * the next holder of the job's lease resumes after the last committed
 * batch, and no record is applied twice.  While another import of the
 * account is processing, the job waits (a timer) holding its lease.  A
 * batch that runs past the query timeout is rolled back by the server and
 * tried again at half the size.
 *
 * With "purge": true (queued at initiate, due when the import expires) the
 * job deletes the import's staged records, a batch at a time, then the
 * import.
 *
 * Each batch's query lives in a pool of its own, destroyed once it is
 * answered: the helper's memory stays flat however large the import.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_import_job.h"
#include "ngx_prefs_json.h"


#define NGX_PREFS_IMPORT_JOB_WAIT         1000      /* another import runs */
#define NGX_PREFS_IMPORT_JOB_RETRY        5000      /* a batch failed */
#define NGX_PREFS_IMPORT_JOB_PURGE_WAIT   60000     /* not over yet */
#define NGX_PREFS_IMPORT_JOB_PURGE_BATCH  "10000"


typedef struct {
    ngx_prefs_helper_job_t    *job;
    ngx_pool_t                *pool;       /* the batch's */
    ngx_uint_t                 purge;
    ngx_uint_t                 size;       /* records a batch */
    char                       import_id[NGX_INT64_LEN + 1];
    char                       batch[NGX_INT_T_LEN + 1];
} ngx_prefs_import_job_t;


static void ngx_prefs_import_job_next(ngx_prefs_import_job_t *ij);
static void ngx_prefs_import_job_wake(ngx_event_t *ev);
static void ngx_prefs_import_job_cleanup(void *data);
static void ngx_prefs_import_job_answered(ngx_prefs_db_query_t *q);
static void ngx_prefs_import_job_end(ngx_prefs_import_job_t *ij,
    const char *result, const char *error, ngx_msec_t retry_after);


void
ngx_prefs_import_job_run(ngx_prefs_helper_job_t *job)
{
    json_t                  *payload, *id, *purge;
    json_error_t             err;
    ngx_pool_cleanup_t      *cln;
    ngx_prefs_import_job_t  *ij;

    payload = ngx_prefs_json_own(job->pool,
                                 json_loads((char *) job->payload.data, 0,
                                            &err));

    id = json_object_get(payload, "import_id");
    purge = json_object_get(payload, "purge");

    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        ngx_prefs_helper_job_done(job, NULL, "import_id must be a positive "
                                  "integer", 0);
        return;
    }

    ij = ngx_pcalloc(job->pool, sizeof(ngx_prefs_import_job_t));
    if (ij == NULL) {
        ngx_prefs_helper_job_done(job, NULL, "out of memory",
                                  NGX_PREFS_IMPORT_JOB_RETRY);
        return;
    }

    cln = ngx_pool_cleanup_add(job->pool, 0);
    if (cln == NULL) {
        ngx_prefs_helper_job_done(job, NULL, "out of memory",
                                  NGX_PREFS_IMPORT_JOB_RETRY);
        return;
    }

    /* a job freed with a batch out (the helper stops) cancels the batch */
    cln->handler = ngx_prefs_import_job_cleanup;
    cln->data = ij;

    ij->job = job;
    ij->purge = json_is_true(purge);

    *ngx_sprintf((u_char *) ij->import_id, "%L",
                 (int64_t) json_integer_value(id)) = '\0';
    ij->size = job->pmcf->import.batch;
    *ngx_sprintf((u_char *) ij->batch, "%ui", ij->size) = '\0';

    job->ctx = ij;
    job->timer.handler = ngx_prefs_import_job_wake;

    ngx_prefs_import_job_next(ij);
}


static void
ngx_prefs_import_job_cleanup(void *data)
{
    ngx_prefs_import_job_t  *ij = data;

    if (ij->pool) {
        ngx_destroy_pool(ij->pool);
        ij->pool = NULL;
    }
}


static void
ngx_prefs_import_job_wake(ngx_event_t *ev)
{
    ngx_prefs_helper_job_t  *job = ev->data;

    ngx_prefs_import_job_next(job->ctx);
}


static void
ngx_prefs_import_job_next(ngx_prefs_import_job_t *ij)
{
    ngx_prefs_db_query_t    *q;
    ngx_prefs_helper_job_t  *job = ij->job;

    ij->pool = ngx_create_pool(1024, job->log);
    if (ij->pool == NULL) {
        ngx_prefs_import_job_end(ij, NULL, "out of memory",
                                 NGX_PREFS_IMPORT_JOB_RETRY);
        return;
    }

    q = ngx_prefs_db_query_create(ij->pool, job->db,
                                  ij->purge ? NGX_PREFS_STMT_IMPORT_PURGE
                                            : NGX_PREFS_STMT_IMPORT_RUN,
                                  job->log);

    if (q == NULL || ngx_prefs_db_query_cleanup(ij->pool, q) != NGX_OK) {
        ngx_prefs_import_job_end(ij, NULL, "out of memory",
                                 NGX_PREFS_IMPORT_JOB_RETRY);
        return;
    }

    q->values[0] = ij->import_id;

    if (ij->purge) {
        q->values[1] = NGX_PREFS_IMPORT_JOB_PURGE_BATCH;

    } else {
        q->values[1] = (char *) job->id.data;
        q->values[2] = (char *) job->token.data;
        q->values[3] = ij->batch;
    }

    q->handler = ngx_prefs_import_job_answered;
    q->data = ij;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_import_job_answered(ngx_prefs_db_query_t *q)
{
    u_char                  *p;
    char                    *outcome;
    ngx_prefs_import_job_t  *ij = q->data;
    ngx_prefs_helper_job_t  *job = ij->job;

    if (q->status == NGX_PREFS_DB_TIMEOUT && !ij->purge && ij->size > 1) {
        /*
         * The batch was rolled back: smaller ones fit in the query timeout
         * (the engine's rate varies with the records and the load)
         */
        ij->size /= 2;
        *ngx_sprintf((u_char *) ij->batch, "%ui", ij->size) = '\0';

        ngx_log_error(NGX_LOG_WARN, job->log, 0,
                      "prefs helper: import %s: a batch ran past the query "
                      "timeout, %ui records a batch from now on",
                      ij->import_id, ij->size);

        ngx_destroy_pool(ij->pool);
        ij->pool = NULL;
        ngx_prefs_import_job_next(ij);
        return;
    }

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) != 1) {
        /* nothing of the batch was committed: it is tried again */
        p = ngx_pnalloc(job->pool, 256);
        if (p) {
            *ngx_snprintf(p, 255, "import %s: %s", ij->import_id,
                          ngx_prefs_db_status_text(q)) = '\0';
        }

        ngx_prefs_import_job_end(ij, NULL, p ? (char *) p : "batch failed",
                                 NGX_PREFS_IMPORT_JOB_RETRY);
        return;
    }

    outcome = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME);

    if (ngx_strcmp(outcome, "more") == 0) {
        ngx_destroy_pool(ij->pool);
        ij->pool = NULL;
        ngx_prefs_import_job_next(ij);
        return;
    }

    if (ngx_strcmp(outcome, "busy") == 0) {
        /* another import of the account first; the lease stays renewed */
        ngx_destroy_pool(ij->pool);
        ij->pool = NULL;
        ngx_add_timer(&job->timer, NGX_PREFS_IMPORT_JOB_WAIT);
        return;
    }

    if (ngx_strcmp(outcome, "wait") == 0) {
        ngx_prefs_import_job_end(ij, NULL, "the import is not over yet",
                                 NGX_PREFS_IMPORT_JOB_PURGE_WAIT);
        return;
    }

    if (ngx_strcmp(outcome, "stale") == 0) {
        /* its outcome will be refused as stale, and logged so */
        ngx_prefs_import_job_end(ij, NULL, "the job's lease passed to "
                                 "another holder", 0);
        return;
    }

    p = ngx_pnalloc(job->pool, 64);
    if (p) {
        *ngx_snprintf(p, 63, "{\"processed\":%s}",
                      ij->purge ? "null"
                      : ngx_prefs_db_value(q, 0, NGX_PREFS_COL_PROCESSED))
            = '\0';
    }

    ngx_prefs_import_job_end(ij, (char *) p, p ? NULL : "out of memory",
                             NGX_PREFS_IMPORT_JOB_RETRY);
}


static void
ngx_prefs_import_job_end(ngx_prefs_import_job_t *ij, const char *result,
    const char *error, ngx_msec_t retry_after)
{
    if (ij->pool) {
        ngx_destroy_pool(ij->pool);
        ij->pool = NULL;
    }

    ngx_prefs_helper_job_done(ij->job, result, error, retry_after);
}
