
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The job types the helper knows.  "prefs.echo" is built in so that the
 * queue machinery can be proven before real work depends on it: it waits
 * sleep_ms (on a timer, never blocking), then answers its value back, or
 * fails its first fail_attempts attempts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_helper.h"


#define NGX_PREFS_ECHO_MAX_SLEEP  600000


static void ngx_prefs_job_echo(ngx_prefs_job_t *job);
static void ngx_prefs_job_echo_wake(ngx_event_t *ev);


const ngx_prefs_job_type_t  ngx_prefs_job_types[] = {
    { "prefs.echo", ngx_prefs_job_echo },
    { NULL, NULL }
};


static void
ngx_prefs_job_echo(ngx_prefs_job_t *job)
{
    json_t        *payload, *v;
    json_int_t     sleep_ms;
    json_error_t   err;

    payload = json_loads((char *) job->payload.data, 0, &err);

    if (!json_is_object(payload)) {
        json_decref(payload);
        ngx_prefs_job_done(job, NULL, "payload is not a JSON object", 0);
        return;
    }

    job->ctx = payload;

    v = json_object_get(payload, "sleep_ms");
    sleep_ms = json_is_integer(v) ? json_integer_value(v) : 0;

    if (sleep_ms < 0 || sleep_ms > NGX_PREFS_ECHO_MAX_SLEEP) {
        job->ctx = NULL;
        json_decref(payload);
        ngx_prefs_job_done(job, NULL, "sleep_ms is out of range", 0);
        return;
    }

    job->timer.handler = ngx_prefs_job_echo_wake;
    ngx_add_timer(&job->timer, (ngx_msec_t) sleep_ms);
}


static void
ngx_prefs_job_echo_wake(ngx_event_t *ev)
{
    char             *dump, *result;
    size_t            len;
    json_t           *payload, *out, *v;
    json_int_t        fail_attempts;
    ngx_prefs_job_t  *job = ev->data;

    payload = job->ctx;
    job->ctx = NULL;

    v = json_object_get(payload, "fail_attempts");
    fail_attempts = json_is_integer(v) ? json_integer_value(v) : 0;

    if ((json_int_t) job->attempt <= fail_attempts) {
        json_decref(payload);
        ngx_prefs_job_done(job, NULL, "failed as asked", 1000);
        return;
    }

    out = json_pack("{s:O?,s:I,s:I}",
                    "value", json_object_get(payload, "value"),
                    "attempt", (json_int_t) job->attempt,
                    "pid", (json_int_t) ngx_pid);
    json_decref(payload);

    dump = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);

    if (dump == NULL) {
        ngx_prefs_job_done(job, NULL, "out of memory", 1000);
        return;
    }

    len = ngx_strlen(dump);
    result = ngx_pnalloc(job->pool, len + 1);

    if (result) {
        ngx_memcpy(result, dump, len + 1);
    }

    free(dump);

    ngx_prefs_job_done(job, result, result ? NULL : "out of memory", 1000);
}
