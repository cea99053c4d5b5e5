
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
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_export_job.h"
#include "ngx_prefs_json.h"


#define NGX_PREFS_EXPORT_JOB_RETRY  5000


static void ngx_prefs_export_job_done(ngx_prefs_db_query_t *q);


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
    char                    *result;
    json_t                  *out;
    ngx_prefs_helper_job_t  *job = q->data;

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) != 1) {
        ngx_prefs_helper_job_done(job, NULL, ngx_prefs_db_status_text(q),
                                  NGX_PREFS_EXPORT_JOB_RETRY);
        return;
    }

    out = ngx_prefs_json_own(job->pool,
              json_pack("{s:s,s:s?}",
                        "outcome",
                        ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME),
                        "message",
                        ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_MESSAGE)
                        ? NULL
                        : ngx_prefs_db_value(q, 0, NGX_PREFS_COL_MESSAGE)));

    result = out ? ngx_prefs_json_text(job->pool, out) : NULL;

    ngx_prefs_helper_job_done(job, result, result ? NULL : "out of memory",
                              NGX_PREFS_EXPORT_JOB_RETRY);
}
