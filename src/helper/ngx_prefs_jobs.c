
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The job types the helper knows.  "prefs.echo" is built in so that the
 * queue machinery can be proven before real work depends on it: it waits
 * sleep_ms (on a timer, never blocking), then answers its value back, or
 * fails its first fail_attempts attempts.
 *
 * "prefs.http_post" posts a body through the webhook client, to test the
 * client end to end (export callbacks are sent by the export's own job,
 * ngx_prefs_export_job.c, signed afresh and retried): payload {"url", "body"
 * (a string, or any JSON value sent as its compact text), "headers":
 * {name: value}, "timeout_ms"}; result {"status", "retry_after",
 * "response" (or "response_base64" when it is not UTF-8 text), "error",
 * "refused"}.  An exchange that failed is still a job done: the result
 * says how it failed, and retrying is the caller's choice.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_prefs_helper.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_whclient.h"
#include "ngx_prefs_import_job.h"
#include "ngx_prefs_export_job.h"
#include "prefs_path.h"
#include "prefs_b64.h"


#define NGX_PREFS_ECHO_MAX_SLEEP  600000


static void ngx_prefs_jobs_echo(ngx_prefs_helper_job_t *job);
static void ngx_prefs_jobs_echo_wake(ngx_event_t *ev);
static void ngx_prefs_jobs_http_post(ngx_prefs_helper_job_t *job);
static const char *ngx_prefs_jobs_http_headers(ngx_prefs_helper_job_t *job,
    json_t *headers, ngx_str_t *out);
static void ngx_prefs_jobs_http_posted(ngx_prefs_whclient_req_t *req);


const ngx_prefs_helper_job_type_t  ngx_prefs_jobs_types[] = {
    { "prefs.echo", ngx_prefs_jobs_echo },
    { "prefs.http_post", ngx_prefs_jobs_http_post },
    { "prefs.import", ngx_prefs_import_job_run },
    { "prefs.export", ngx_prefs_export_job_run },
    { NULL, NULL }
};


static void
ngx_prefs_jobs_echo(ngx_prefs_helper_job_t *job)
{
    json_t        *payload, *v;
    json_int_t     sleep_ms;
    json_error_t   err;

    payload = ngx_prefs_json_own(job->pool,
                                 json_loads((char *) job->payload.data, 0,
                                            &err));

    if (!json_is_object(payload)) {
        ngx_prefs_helper_job_done(job, NULL, "payload is not a JSON object", 0);
        return;
    }

    job->ctx = payload;

    v = json_object_get(payload, "sleep_ms");
    sleep_ms = json_is_integer(v) ? json_integer_value(v) : 0;

    if (sleep_ms < 0 || sleep_ms > NGX_PREFS_ECHO_MAX_SLEEP) {
        job->ctx = NULL;
        ngx_prefs_helper_job_done(job, NULL, "sleep_ms is out of range", 0);
        return;
    }

    job->timer.handler = ngx_prefs_jobs_echo_wake;
    ngx_add_timer(&job->timer, (ngx_msec_t) sleep_ms);
}


static void
ngx_prefs_jobs_echo_wake(ngx_event_t *ev)
{
    char                    *result;
    json_t                  *payload, *out, *v;
    json_int_t               fail_attempts;
    ngx_prefs_helper_job_t  *job = ev->data;

    payload = job->ctx;
    job->ctx = NULL;

    v = json_object_get(payload, "fail_attempts");
    fail_attempts = json_is_integer(v) ? json_integer_value(v) : 0;

    if ((json_int_t) job->attempt <= fail_attempts) {
        ngx_prefs_helper_job_done(job, NULL, "failed as asked", 1000);
        return;
    }

    out = ngx_prefs_json_own(job->pool,
                             json_pack("{s:O?,s:I,s:I}",
                                       "value",
                                       json_object_get(payload, "value"),
                                       "attempt", (json_int_t) job->attempt,
                                       "pid", (json_int_t) ngx_pid));

    result = out ? ngx_prefs_json_text(job->pool, out) : NULL;

    ngx_prefs_helper_job_done(job, result, result ? NULL : "out of memory",
                              1000);
}


static void
ngx_prefs_jobs_http_post(ngx_prefs_helper_job_t *job)
{
    json_t                    *payload, *url, *body, *headers, *timeout;
    char                      *text;
    const char                *why;
    json_error_t               err;
    ngx_prefs_whclient_req_t  *req;

    payload = ngx_prefs_json_own(job->pool,
                                 json_loads((char *) job->payload.data, 0,
                                            &err));

    if (!json_is_object(payload)) {
        ngx_prefs_helper_job_done(job, NULL, "payload is not a JSON object", 0);
        return;
    }

    url = json_object_get(payload, "url");
    body = json_object_get(payload, "body");
    headers = json_object_get(payload, "headers");
    timeout = json_object_get(payload, "timeout_ms");

    why = NULL;

    req = ngx_pcalloc(job->pool, sizeof(ngx_prefs_whclient_req_t));
    if (req == NULL) {
        why = "out of memory";
        goto failed;
    }

    if (!json_is_string(url)) {
        why = "url must be a string";
        goto failed;
    }

    req->url.len = json_string_length(url);
    req->url.data = ngx_pnalloc(job->pool, req->url.len + 1);
    if (req->url.data == NULL) {
        why = "out of memory";
        goto failed;
    }

    ngx_memcpy(req->url.data, json_string_value(url), req->url.len + 1);

    if (body == NULL) {
        ngx_str_set(&req->body, "{}");

    } else if (json_is_string(body)) {
        req->body.len = json_string_length(body);
        req->body.data = ngx_pnalloc(job->pool, req->body.len + 1);
        if (req->body.data == NULL) {
            why = "out of memory";
            goto failed;
        }

        ngx_memcpy(req->body.data, json_string_value(body), req->body.len);

    } else {
        text = ngx_prefs_json_text(job->pool, body);
        if (text == NULL) {
            why = "out of memory";
            goto failed;
        }

        req->body.data = (u_char *) text;
        req->body.len = ngx_strlen(text);
    }

    if (headers) {
        why = ngx_prefs_jobs_http_headers(job, headers, &req->headers);
        if (why) {
            goto failed;
        }
    }

    if (timeout) {
        if (!json_is_integer(timeout) || json_integer_value(timeout) < 1
            || json_integer_value(timeout) > 600000)
        {
            why = "timeout_ms must be an integer from 1 to 600000";
            goto failed;
        }

        req->timeout = (ngx_msec_t) json_integer_value(timeout);
    }

    req->pool = job->pool;
    req->handler = ngx_prefs_jobs_http_posted;
    req->data = job;

    if (ngx_prefs_whclient_send(req) != NGX_OK) {
        ngx_prefs_helper_job_done(job, NULL, "out of memory", 1000);
    }

    return;

failed:

    ngx_prefs_helper_job_done(job, NULL, why, 0);
}


/* header lines from {name: value}: tokens and values without CR or LF */

static const char *
ngx_prefs_jobs_http_headers(ngx_prefs_helper_job_t *job, json_t *headers,
    ngx_str_t *out)
{
    u_char      *p;
    size_t       len, i, n;
    json_t      *value;
    const char  *name, *v;

    static const char  *reserved[] = {
        "host", "content-length", "content-type", "transfer-encoding",
        "connection", "user-agent", "te", "upgrade", "expect", NULL
    };

    if (!json_is_object(headers)) {
        return "headers must be an object";
    }

    len = 0;

    json_object_foreach(headers, name, value) {
        if (!json_is_string(value)) {
            return "header values must be strings";
        }

        n = ngx_strlen(name);

        if (n == 0 || n > 256) {
            return "a header name is empty or too long";
        }

        for (i = 0; i < n; i++) {
            if (!((name[i] >= 'a' && name[i] <= 'z')
                  || (name[i] >= 'A' && name[i] <= 'Z')
                  || (name[i] >= '0' && name[i] <= '9')
                  || strchr("!#$%&'*+-.^_`|~", name[i])))
            {
                return "a header name is not a token";
            }
        }

        for (i = 0; reserved[i]; i++) {
            if (ngx_strcasecmp((u_char *) name, (u_char *) reserved[i]) == 0)
            {
                return "a header is reserved to the client";
            }
        }

        v = json_string_value(value);

        for (i = 0; i < json_string_length(value); i++) {
            if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) {
                return "a header value holds a control character";
            }
        }

        len += n + 2 + json_string_length(value) + 2;
    }

    p = ngx_pnalloc(job->pool, len + 1);
    if (p == NULL) {
        return "out of memory";
    }

    out->data = p;

    json_object_foreach(headers, name, value) {
        p = ngx_sprintf(p, "%s: %*s" CRLF, name,
                        json_string_length(value), json_string_value(value));
    }

    out->len = p - out->data;

    return NULL;
}


static void
ngx_prefs_jobs_http_posted(ngx_prefs_whclient_req_t *req)
{
    char                    *result, *b64;
    json_t                  *out, *response;
    ngx_prefs_helper_job_t  *job = req->data;

    response = NULL;
    b64 = NULL;

    if (req->status && req->response.len
        && prefs_path_utf8_valid((char *) req->response.data, req->response.len)
        && ngx_strlchr(req->response.data,
                       req->response.data + req->response.len, '\0') == NULL)
    {
        response = json_stringn((char *) req->response.data,
                                req->response.len);

    } else if (req->status && req->response.len) {
        b64 = ngx_pnalloc(job->pool,
                          prefs_b64_encoded_len(req->response.len,
                                                PREFS_B64_STD) + 1);
        if (b64) {
            prefs_b64_encode(req->response.data, req->response.len, b64,
                             prefs_b64_encoded_len(req->response.len,
                                                   PREFS_B64_STD) + 1,
                             PREFS_B64_STD);
        }

    } else if (req->status) {
        response = json_string("");
    }

    out = json_pack("{s:I,s:I,s:o*,s:s*,s:s*,s:b}",
                    "status", (json_int_t) req->status,
                    "retry_after", (json_int_t) req->retry_after,
                    "response", response,
                    "response_base64", b64,
                    "error", req->error.len ? (char *) req->error.data : NULL,
                    "refused", (int) req->refused);

    out = ngx_prefs_json_own(job->pool, out);
    result = out ? ngx_prefs_json_text(job->pool, out) : NULL;

    ngx_prefs_helper_job_done(job, result, result ? NULL : "out of memory",
                              1000);
}
