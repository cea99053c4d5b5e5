
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The job type "prefs.export": fills an export's rows.  The work is one
 * SQL call, prefs_export_run (sql/functions/export.sql): a single
 * INSERT ... SELECT of the matching profiles' rendered documents, so the
 * export is one transaction's snapshot and the helper holds none of it in
 * memory, whatever its size.  The call is idempotent (a finished export is
 * left alone, an interrupted one starts again), as a job must be; an error
 * of the export itself is recorded on the export (Status Error) and the
 * job is done; a call that got no answer is tried again.
 *
 * An export with a CallbackURL: the status is signed here as a webhook
 * delivery is (Standard Webhooks: webhook-id "export_<token>",
 * webhook-timestamp, webhook-signature with the account's export secret,
 * opened for the moment of signing) and queued for the webhook client
 * (prefs_export_callback, job prefs.http_post) once; until it is queued,
 * every run of the job answers it again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_export_job.h"
#include "ngx_prefs_json.h"
#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"
#include "prefs_whsig.h"


#define NGX_PREFS_EXPORT_JOB_RETRY  5000


static void ngx_prefs_export_job_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_export_job_callback(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run);
static json_t *ngx_prefs_export_job_headers(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *id);
static void ngx_prefs_export_job_queued(ngx_prefs_db_query_t *q);
static void ngx_prefs_export_job_result(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *name, const char *value);


void
ngx_prefs_export_job_run(ngx_prefs_helper_job_t *job)
{
    json_t                *payload, *token;
    json_error_t           err;
    ngx_prefs_db_query_t  *q;

    payload = ngx_prefs_json_own(job->pool,
                                 json_loads((char *) job->payload.data, 0,
                                            &err));
    token = json_object_get(payload, "access_token");

    if (!json_is_string(token)) {
        ngx_prefs_helper_job_done(job, NULL,
                                  "payload has no access_token string", 0);
        return;
    }

    q = ngx_prefs_db_query_create(job->pool, ngx_prefs_helper_job_db(job),
                                  NGX_PREFS_STMT_EXPORT_RUN, job->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(job->pool, q) != NGX_OK) {
        ngx_prefs_helper_job_done(job, NULL, "out of memory",
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    q->values[0] = (char *) json_string_value(token);
    q->handler = ngx_prefs_export_job_done;
    q->data = job;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_export_job_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_helper_job_t  *job = q->data;

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) != 1) {
        ngx_prefs_helper_job_done(job, NULL, ngx_prefs_db_status_text(q),
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    if (!ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_URL)) {
        if (ngx_prefs_export_job_callback(job, q) != NGX_OK) {
            ngx_prefs_helper_job_done(job, NULL,
                                      "cannot sign or queue the callback",
                                      NGX_PREFS_EXPORT_JOB_RETRY);
        }

        return;
    }

    ngx_prefs_export_job_result(job, q, "message",
                                ngx_prefs_db_isnull(q, 0,
                                                    NGX_PREFS_COL_MESSAGE)
                                ? NULL
                                : ngx_prefs_db_value(q, 0,
                                                     NGX_PREFS_COL_MESSAGE));
}


/* signs the callback and queues it: the job is done when it is queued */

static ngx_int_t
ngx_prefs_export_job_callback(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run)
{
    u_char                *p;
    char                  *text;
    json_t                *headers;
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_db_query_create(job->pool, ngx_prefs_helper_job_db(job),
                                  NGX_PREFS_STMT_EXPORT_CALLBACK, job->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(job->pool, q) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the message id: stable across retries of the same callback */
    p = ngx_pnalloc(job->pool, sizeof("export_") + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "export_%s", run->values[0]) = '\0';

    headers = ngx_prefs_export_job_headers(job, run, (char *) p);
    text = headers ? ngx_prefs_json_text(job->pool, headers) : NULL;
    if (text == NULL) {
        return NGX_ERROR;
    }

    q->values[0] = run->values[0];
    q->values[1] = text;
    q->handler = ngx_prefs_export_job_queued;
    q->data = job;
    job->ctx = run;

    ngx_prefs_db_submit(q);

    return NGX_OK;
}


/* webhook-id, webhook-timestamp and, with a secret, webhook-signature */

static json_t *
ngx_prefs_export_job_headers(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *id)
{
    long                         rc;
    size_t                       plen;
    time_t                       now;
    json_t                      *h;
    const char                  *secret, *body, *sealed;
    u_char                       ts[NGX_TIME_T_LEN + 1];
    char                         sig[PREFS_WHSIG_SIG_LEN + 1];
    unsigned char                plain[PREFS_SECRET_MAX];
    ngx_http_prefs_main_conf_t  *pmcf;

    now = ngx_time();
    *ngx_sprintf(ts, "%T", now) = '\0';

    h = ngx_prefs_json_own(job->pool,
                           json_pack("{s:s,s:s}", "webhook-id", id,
                                     "webhook-timestamp", (char *) ts));
    if (h == NULL || ngx_prefs_db_isnull(run, 0, NGX_PREFS_COL_SECRET)) {
        return h;
    }

    pmcf = ngx_prefs_helper_job_conf(job);
    sealed = ngx_prefs_db_value(run, 0, NGX_PREFS_COL_SECRET);
    body = ngx_prefs_db_value(run, 0, NGX_PREFS_COL_BODY);

    if (prefs_seal_open(pmcf->auth.secret_key, sealed, ngx_strlen(sealed),
                        plain, sizeof(plain), &plen)
        != PREFS_AUTH_OK)
    {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "prefs export: the account's export secret cannot be "
                      "opened: sealed with another prefs_secret_key?");
        return NULL;
    }

    secret = (const char *) plain;

    rc = prefs_whsig_sign(&secret, &plen, 1, id, ngx_strlen(id),
                          (long long) now, body, ngx_strlen(body), sig,
                          sizeof(sig));
    prefs_hmac_wipe(plain, sizeof(plain));

    if (rc < 0 || json_object_set_new(h, "webhook-signature",
                                      json_string(sig))
                  != 0)
    {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "prefs export: the account's export secret cannot "
                      "sign: %s", prefs_whsig_strerror((int) rc));
        return NULL;
    }

    return h;
}


static void
ngx_prefs_export_job_queued(ngx_prefs_db_query_t *q)
{
    ngx_prefs_db_query_t    *run;
    ngx_prefs_helper_job_t  *job = q->data;

    run = job->ctx;
    job->ctx = NULL;

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) != 1) {
        ngx_prefs_helper_job_done(job, NULL, ngx_prefs_db_status_text(q),
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    /* "queued", or "already" when a run before this one queued it */
    ngx_prefs_export_job_result(job, run, "callback",
                                ngx_prefs_db_value(q, 0,
                                                   NGX_PREFS_COL_OUTCOME));
}


/* the job's result: {"outcome": the run's, name: value (if any)} */

static void
ngx_prefs_export_job_result(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *name, const char *value)
{
    char    *result;
    json_t  *out;

    out = ngx_prefs_json_own(job->pool,
              json_pack("{s:s,s:s?}",
                        "outcome",
                        ngx_prefs_db_value(run, 0, NGX_PREFS_COL_OUTCOME),
                        name, value));

    result = out ? ngx_prefs_json_text(job->pool, out) : NULL;

    ngx_prefs_helper_job_done(job, result, result ? NULL : "out of memory",
                              NGX_PREFS_EXPORT_JOB_RETRY);
}
