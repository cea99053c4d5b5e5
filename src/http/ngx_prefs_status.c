
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * "prefs_api status": the pool of every worker, the helper, the job queue
 * and the schema version, as JSON.  Each process copies its own counters
 * into its slot of a shared zone once a second; the answering worker reads
 * them all.  It is 503 while the database cannot be reached, so that a load
 * balancer's health check can use it as it is.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_status.h"


static void ngx_prefs_status_done(ngx_prefs_db_query_t *q);
static json_t *ngx_prefs_status_slot_json(ngx_prefs_shm_slot_t *slot);
static json_t *ngx_prefs_status_db_json(ngx_prefs_db_stats_t *st);
static json_t *ngx_prefs_status_standby_json(ngx_prefs_db_stats_t *st);
static json_t *ngx_prefs_status_time(time_t t);


ngx_int_t
ngx_prefs_status_handler(ngx_http_request_t *r)
{
    return ngx_prefs_status_query(r, NGX_PREFS_STMT_STATUS,
                                  ngx_prefs_status_done);
}


ngx_int_t
ngx_prefs_status_query(ngx_http_request_t *r, ngx_prefs_stmt_e stmt,
    ngx_prefs_db_handler_pt handler)
{
    ngx_int_t                   rc;
    ngx_prefs_db_query_t       *q;
    ngx_http_prefs_loc_conf_t  *plcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    q = ngx_prefs_db_query_create(r->pool, plcf->pool, stmt,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->handler = handler;

    return ngx_prefs_http_query(r, q);
}


ngx_uint_t
ngx_prefs_status_slot_live(ngx_prefs_shm_slot_t *slot)
{
    return slot->pid != 0
           && (slot->pid == ngx_pid || kill(slot->pid, 0) == 0);
}


static void
ngx_prefs_status_done(ngx_prefs_db_query_t *q)
{
    ngx_uint_t                   i, status;
    json_t                      *body, *db, *workers, *helper, *jobs;
    ngx_http_request_t          *r = q->data;
    ngx_prefs_db_stats_t         own;
    ngx_prefs_shm_slot_t        *slot;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    ngx_prefs_db_stats(&pmcf->pools, &own);

    slot = ngx_prefs_shm_own_slot();

    if (slot) {
        slot->db = own;
    }

    body = json_object();
    db = json_object();
    workers = json_array();

    if (body == NULL || db == NULL || workers == NULL) {
        goto failed;
    }

    json_object_set_new(body, "Database", db);
    json_object_set_new(body, "Workers", workers);

    /* the standby as the worker answering sees it; each worker's below */
    if (own.standbys) {
        json_object_set_new(db, "Standby",
                            ngx_prefs_status_standby_json(&own));
    }

    if (q->status == NGX_PREFS_DB_OK && PQntuples(q->res) == 1) {
        status = NGX_HTTP_OK;
        json_object_set_new(db, "Reachable", json_true());
        json_object_set_new(db, "SchemaVersion",
                    json_integer(ngx_prefs_db_number(q, 0,
                                                     NGX_PREFS_COL_VERSION)));

        jobs = json_pack("{s:I,s:I}",
                 "Queued",
                 (json_int_t) ngx_prefs_db_number(q, 0, NGX_PREFS_COL_QUEUED),
                 "Running",
                 (json_int_t) ngx_prefs_db_number(q, 0,
                                                  NGX_PREFS_COL_RUNNING));
        json_object_set_new(body, "Jobs", jobs);

    } else {
        status = NGX_HTTP_SERVICE_UNAVAILABLE;

        if (q->status == NGX_PREFS_DB_SQL_ERROR) {
            /* reached, but not as we need it: most often no schema yet */
            json_object_set_new(db, "Reachable", json_true());
            json_object_set_new(db, "Error",
                json_string(q->res ? PQresultErrorField(q->res,
                                                   PG_DIAG_MESSAGE_PRIMARY)
                                   : q->error));
            json_object_set_new(body, "Message",
                json_string("The database is reachable but its schema is "
                            "missing or out of date: run prefsctl migrate"));

        } else {
            json_object_set_new(db, "Reachable",
                                q->status == NGX_PREFS_DB_UNAVAILABLE
                                ? json_false() : json_true());
            json_object_set_new(db, "Error", json_string(q->error));
            json_object_set_new(body, "Message",
                json_string(q->status == NGX_PREFS_DB_UNAVAILABLE
                            ? "The service is temporarily unavailable: "
                              "its database cannot be reached"
                            : "The service is temporarily unavailable: "
                              "its database is overloaded"));
        }

        if (ngx_prefs_http_retry_after(r, 5) != NGX_OK) {
            goto failed;
        }
    }

    if (pmcf->sh) {
        for (i = 0; i < NGX_PREFS_SHM_MAX_WORKERS; i++) {
            slot = &pmcf->sh->slots[i];

            if (slot->kind == 0 || !ngx_prefs_status_slot_live(slot)) {
                continue;
            }

            json_array_append_new(workers, ngx_prefs_status_slot_json(slot));
        }

        slot = &pmcf->sh->slots[NGX_PREFS_SHM_HELPER_SLOT];

        if (!pmcf->helper.enabled) {
            helper = json_null();

        } else if (!ngx_prefs_status_slot_live(slot)) {
            helper = json_pack("{s:b}", "Running", 0);

        } else {
            helper = json_pack("{s:b,s:I,s:s,s:o,s:o,s:b,s:I,s:I,s:I,s:I,"
                               "s:o,s:{s:o,s:b,s:I,s:I,s:I}}",
                        "Running", 1,
                        "Pid", (json_int_t) slot->pid,
                        "Mode", slot->kind == 1 ? "process" : "in-process",
                        "Started", ngx_prefs_status_time(slot->started),
                        "LastPoll", ngx_prefs_status_time(slot->last_poll),
                        "Listening", slot->listening ? 1 : 0,
                        "JobsRunning", (json_int_t) slot->jobs_running,
                        "JobsDone", (json_int_t) slot->jobs_done,
                        "JobsFailed", (json_int_t) slot->jobs_failed,
                        "JobsStale", (json_int_t) slot->jobs_stale,
                        "Database", ngx_prefs_status_db_json(&slot->db),
                        "EventPartitions",
                            "LastRun",
                            ngx_prefs_status_time(slot->events_upkeep_at),
                            "LastFailed", slot->events_upkeep_failed ? 1 : 0,
                            "Failures",
                            (json_int_t) slot->events_upkeep_failures,
                            "Created",
                            (json_int_t) slot->events_partitions_created,
                            "Dropped",
                            (json_int_t) slot->events_partitions_dropped);
        }

        json_object_set_new(body, "Helper", helper);
    }

    ngx_prefs_http_finalize(r, ngx_prefs_http_send_json(r, status, body));
    return;

failed:

    json_decref(body);
    json_decref(db);
    json_decref(workers);

    ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static json_t *
ngx_prefs_status_slot_json(ngx_prefs_shm_slot_t *slot)
{
    json_t  *j, *db;

    j = json_pack("{s:I,s:o,s:{s:I,s:I,s:I}}", "Pid", (json_int_t) slot->pid,
                  "Started", ngx_prefs_status_time(slot->started),
                  "Configuration",
                      "Accounts", (json_int_t) slot->config_accounts,
                      "Bytes", (json_int_t) slot->config_bytes,
                      "Loads", (json_int_t) slot->config_loads);
    db = ngx_prefs_status_db_json(&slot->db);

    if (j == NULL || db == NULL || json_object_update(j, db) != 0) {
        json_decref(j);
        json_decref(db);
        return json_null();
    }

    json_decref(db);

    return j;
}


static json_t *
ngx_prefs_status_db_json(ngx_prefs_db_stats_t *st)
{
    json_t  *j;

    j = json_pack("{s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:I,s:I}",
                  "Connections",
                      "Open", (json_int_t) st->open,
                      "Connecting", (json_int_t) st->connecting,
                      "Busy", (json_int_t) st->busy,
                      "Idle", (json_int_t) (st->open - st->busy
                                            - st->connecting),
                  "Waiting", (json_int_t) st->waiting,
                  "Queries", (json_int_t) st->queries,
                  "Errors", (json_int_t) st->errors,
                  "ConnectFailures", (json_int_t) st->connect_failures,
                  "Timeouts", (json_int_t) st->timeouts,
                  "Rejected", (json_int_t) st->rejected);

    if (j && st->standbys) {
        json_object_set_new(j, "Standby", ngx_prefs_status_standby_json(st));
    }

    return j;
}


/*
 * prefs_db_replica: whether the standby serves (Ready) or its reads go to
 * the primary (Late, Down, Unknown before the first probe), how far behind
 * it was last known to be, the queries it answered and those it passed on
 * to the primary.
 */

static json_t *
ngx_prefs_status_standby_json(ngx_prefs_db_stats_t *st)
{
    const char  *state;

    state = ngx_prefs_db_standby_state_text(st->standby_state);

    return json_pack("{s:s,s:o,s:I,s:I}",
                     "State", state,
                     "LagMs", st->standby_lag >= 0
                              ? json_integer(st->standby_lag) : json_null(),
                     "Queries", (json_int_t) st->standby_queries,
                     "Fallbacks", (json_int_t) st->standby_fallbacks);
}


static json_t *
ngx_prefs_status_time(time_t t)
{
    u_char     buf[32], *p;
    ngx_tm_t   tm;

    if (t == 0) {
        return json_null();
    }

    ngx_gmtime(t, &tm);

    p = ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02d.000Z",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    return json_stringn((char *) buf, p - buf);
}
