
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The job type "prefs.export": fills an export's rows.  The work is SQL
 * calls of prefs_export_run (sql/functions/export.sql), each a step of the
 * snapshot within prefs_db_query_timeout (a chunk of members copied, or
 * the final check that makes the export one consistent state), called
 * again at once while it answers "more"; the helper holds none of the
 * export in memory, whatever its size.  The call is idempotent (a finished
 * export is left alone, an interrupted one goes on from its last step), as
 * a job must be; an error
 * of the export itself is recorded on the export (Status Error) and the
 * job is done; a call that got no answer is tried again.
 *
 * An export with a CallbackURL: once it is finished, the status is signed
 * here as a webhook delivery is (Standard Webhooks: webhook-id
 * "export_<token>", the timestamp of this attempt, webhook-signature with
 * the secrets of the account's active webhook subscriptions, opened for
 * the moment of signing) and POSTed through the webhook client (its
 * destination policy, timeouts and TLS).  prefs_export_callback records
 * the attempt and classifies it as deliveries are; a failure worth
 * retrying finishes the job with an error and the delay of the webhook
 * retry schedule (prefs_webhook_retries), so the job runs again then:
 * prefs_export_run answers the callback again until it is delivered or
 * given up, and each attempt is signed afresh.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_export_job.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_whclient.h"
#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"
#include "prefs_whsig.h"


#define NGX_PREFS_EXPORT_JOB_RETRY    5000

/* secrets signed with: 8 subscriptions, each with a previous one */
#define NGX_PREFS_EXPORT_JOB_SECRETS  16


static void ngx_prefs_export_job_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_export_job_callback(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run);
static ngx_int_t ngx_prefs_export_job_headers(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *id, ngx_str_t *out);
static void ngx_prefs_export_job_posted(ngx_prefs_whclient_req_t *req);
static void ngx_prefs_export_job_recorded(ngx_prefs_db_query_t *q);
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

    if (ngx_strcmp(ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME), "more")
        == 0)
    {
        /* the snapshot's next step, a statement of its own */
        ngx_prefs_export_job_run(job);
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


/* signs the callback and sends it through the webhook client */

static ngx_int_t
ngx_prefs_export_job_callback(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run)
{
    u_char                    *p;
    const char                *url, *body;
    ngx_prefs_whclient_req_t  *req;

    req = ngx_pcalloc(job->pool, sizeof(ngx_prefs_whclient_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    /* the message id: the same for every attempt of the callback */
    p = ngx_pnalloc(job->pool, sizeof("export_") + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "export_%s", run->values[0]) = '\0';

    if (ngx_prefs_export_job_headers(job, run, (char *) p, &req->headers)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the result's values live as long as the job's pool */
    url = ngx_prefs_db_value(run, 0, NGX_PREFS_COL_URL);
    body = ngx_prefs_db_value(run, 0, NGX_PREFS_COL_BODY);

    req->url.data = (u_char *) url;
    req->url.len = ngx_strlen(url);
    req->body.data = (u_char *) body;
    req->body.len = ngx_strlen(body);
    req->pool = job->pool;
    req->handler = ngx_prefs_export_job_posted;
    req->data = job;
    job->ctx = run;

    return ngx_prefs_whclient_send(req);
}


/*
 * The header lines webhook-id, webhook-timestamp (now) and, when the
 * account has secrets to sign with, webhook-signature: one signature for
 * each (sealed secrets, a JSON array from prefs_export_callback_secrets).
 */

static ngx_int_t
ngx_prefs_export_job_headers(ngx_prefs_helper_job_t *job,
    ngx_prefs_db_query_t *run, const char *id, ngx_str_t *out)
{
    u_char                      *p;
    long                         rc;
    char                        *sig;
    size_t                       i, n, len, size;
    time_t                       now;
    json_t                      *sealed, *v;
    const char                  *body, *s;
    json_error_t                 err;
    const char                  *secrets[NGX_PREFS_EXPORT_JOB_SECRETS];
    size_t                       lens[NGX_PREFS_EXPORT_JOB_SECRETS];
    unsigned char                plain[NGX_PREFS_EXPORT_JOB_SECRETS]
                                      [PREFS_SECRET_MAX];
    ngx_http_prefs_main_conf_t  *pmcf;

    now = ngx_time();
    pmcf = ngx_prefs_helper_job_conf(job);
    body = ngx_prefs_db_value(run, 0, NGX_PREFS_COL_BODY);

    sealed = ngx_prefs_json_own(job->pool,
                 json_loads(ngx_prefs_db_value(run, 0, NGX_PREFS_COL_SECRETS),
                            0, &err));
    if (!json_is_array(sealed)) {
        return NGX_ERROR;
    }

    n = 0;

    json_array_foreach(sealed, i, v) {
        if (n == NGX_PREFS_EXPORT_JOB_SECRETS || !json_is_string(v)) {
            break;
        }

        s = json_string_value(v);

        if (prefs_seal_open(pmcf->auth.secret_key, s, json_string_length(v),
                            plain[n], sizeof(plain[n]), &lens[n])
            != PREFS_AUTH_OK)
        {
            /* that subscription's secret cannot sign: the others do */
            ngx_log_error(NGX_LOG_WARN, job->log, 0,
                          "prefs export: a webhook secret of the account "
                          "cannot be opened (sealed with another "
                          "prefs_secret_key?): not signed with it");
            continue;
        }

        secrets[n] = (const char *) plain[n];
        n++;
    }

    size = n * (PREFS_WHSIG_SIG_LEN + 1) + 1;
    len = sizeof("webhook-id: " CRLF "webhook-timestamp: " CRLF
                 "webhook-signature: " CRLF) + ngx_strlen(id) + NGX_TIME_T_LEN
          + size;

    out->data = ngx_pnalloc(job->pool, len);
    sig = ngx_pnalloc(job->pool, size);

    if (out->data == NULL || sig == NULL) {
        rc = NGX_ERROR;
        goto wipe;
    }

    p = ngx_sprintf(out->data, "webhook-id: %s" CRLF
                    "webhook-timestamp: %T" CRLF, id, now);

    rc = NGX_OK;

    if (n) {
        rc = prefs_whsig_sign(secrets, lens, n, id, ngx_strlen(id),
                              (long long) now, body, ngx_strlen(body), sig,
                              size);
        if (rc < 0) {
            ngx_log_error(NGX_LOG_ERR, job->log, 0,
                          "prefs export: a webhook secret of the account "
                          "cannot sign: %s", prefs_whsig_strerror((int) rc));
            rc = NGX_ERROR;
            goto wipe;
        }

        p = ngx_sprintf(p, "webhook-signature: %s" CRLF, sig);
        rc = NGX_OK;
    }

    out->len = p - out->data;

wipe:

    prefs_hmac_wipe(plain, sizeof(plain));

    return rc;
}


/* an attempt's outcome, recorded and classified by prefs_export_callback */

static void
ngx_prefs_export_job_posted(ngx_prefs_whclient_req_t *req)
{
    char                        *text;
    json_t                      *outcome;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_helper_job_t      *job = req->data;
    ngx_prefs_db_query_t        *run = job->ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    outcome = ngx_prefs_json_own(job->pool,
                  json_pack("{s:I,s:I,s:s*,s:b}",
                            "status", (json_int_t) req->status,
                            "retry_after", (json_int_t) req->retry_after,
                            "error", req->error.len
                                     ? (char *) req->error.data : NULL,
                            "refused", (int) req->refused));

    text = outcome ? ngx_prefs_json_text(job->pool, outcome) : NULL;

    q = ngx_prefs_db_query_create(job->pool, ngx_prefs_helper_job_db(job),
                                  NGX_PREFS_STMT_EXPORT_CALLBACK, job->log);

    if (text == NULL || q == NULL
        || ngx_prefs_db_query_cleanup(job->pool, q) != NGX_OK)
    {
        /* the callback is tried again with the job */
        ngx_prefs_helper_job_done(job, NULL, "out of memory",
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    pmcf = ngx_prefs_helper_job_conf(job);

    q->values[0] = run->values[0];
    q->values[1] = text;
    q->values[2] = (char *) pmcf->webhook.retries.data;
    q->handler = ngx_prefs_export_job_recorded;
    q->data = job;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_export_job_recorded(ngx_prefs_db_query_t *q)
{
    ngx_int_t                ms;
    const char              *outcome, *due;
    ngx_prefs_db_query_t    *run;
    ngx_prefs_helper_job_t  *job = q->data;

    run = job->ctx;
    job->ctx = NULL;

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) != 1) {
        ngx_prefs_helper_job_done(job, NULL, ngx_prefs_db_status_text(q),
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    outcome = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME);

    if (ngx_strcmp(outcome, "retry") == 0) {
        due = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_NEXT_DUE_MS);
        ms = ngx_atoi((u_char *) due, ngx_strlen(due));

        ngx_prefs_helper_job_done(job, NULL,
                                  "the callback failed: tried again later",
                                  ms > 0 ? (ngx_msec_t) ms : 1000);
        return;
    }

    /* "delivered", "failed" (given up), or "already" */
    ngx_prefs_export_job_result(job, run, "callback", outcome);
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
