
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * "prefs_api metrics": the counters every process keeps in the shared zone
 * (src/core/ngx_prefs_metrics.c), the status slots of every process (pool
 * gauges, configuration snapshots, the helper), and what the database
 * knows (jobs by type and state, webhook deliveries waiting or dead, their
 * lag), read with one asynchronous query at every scrape.  The Prometheus
 * text format 0.0.4, or OpenMetrics 1.0 when the Accept header prefers it.
 * The database's part is left out when it cannot be read, and
 * prefs_database_up says so: the rest is still answered.
 *
 * Requests are counted in the log phase, once each, by API location, route
 * template (src/http/ngx_prefs_vars.c), method and status class.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_status.h"
#include "ngx_prefs_vars.h"
#include "ngx_prefs_exporter.h"


#define NGX_PREFS_EXPORTER_CHUNK  32768
#define NGX_PREFS_EXPORTER_LINE   1024
#define NGX_PREFS_EXPORTER_LABEL  256


typedef struct {
    ngx_pool_t                *pool;
    ngx_chain_t               *first;
    ngx_chain_t              **last;
    ngx_buf_t                 *b;
    off_t                      size;
    ngx_uint_t                 om;
    ngx_uint_t                 failed;
} ngx_prefs_exporter_out_t;


typedef struct {
    ngx_uint_t                 workers;
    ngx_prefs_db_stats_t       db;
    ngx_uint_t                 config_accounts;
    size_t                     config_bytes;
    ngx_uint_t                 config_loads;
    ngx_uint_t                 standby_ready;
    ngx_msec_int_t             standby_lag;
} ngx_prefs_exporter_sum_t;


static void ngx_prefs_exporter_done(ngx_prefs_db_query_t *q);
static void ngx_prefs_exporter_requests(ngx_prefs_exporter_out_t *out,
    ngx_prefs_metrics_t *m);
static void ngx_prefs_exporter_processes(ngx_prefs_exporter_out_t *out,
    ngx_http_prefs_main_conf_t *pmcf);
static void ngx_prefs_exporter_database(ngx_prefs_exporter_out_t *out,
    ngx_prefs_db_query_t *q);
static ngx_uint_t ngx_prefs_exporter_rows(ngx_prefs_exporter_out_t *out,
    ngx_prefs_db_query_t *q, const char *name, const char *metric,
    const char *kind_label, const char *state_label);
static void ngx_prefs_exporter_counters(ngx_prefs_exporter_out_t *out,
    const char *name, const char *help, const char *label,
    const char *const *values, ngx_atomic_t *counters, ngx_uint_t n);
static void ngx_prefs_exporter_family(ngx_prefs_exporter_out_t *out,
    const char *name, const char *type, const char *help);
static void ngx_prefs_exporter_hist(ngx_prefs_exporter_out_t *out,
    const char *name, u_char *labels, ngx_prefs_metrics_hist_t *h);
static void ngx_prefs_exporter_value(ngx_prefs_exporter_out_t *out,
    const char *name, const char *type, const char *help, uint64_t value);
static void ngx_prefs_exporter_printf(ngx_prefs_exporter_out_t *out,
    const char *fmt, ...);
static ngx_int_t ngx_prefs_exporter_send(ngx_http_request_t *r,
    ngx_prefs_exporter_out_t *out);


static const char *const  ngx_prefs_exporter_apis[NGX_PREFS_METRICS_APIS] =
{
    "none", "status", "v4", "v3", "v3_async", "oauth", "metrics", "other"
};

static const char *const
    ngx_prefs_exporter_methods[NGX_PREFS_METRICS_METHODS] =
{
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "other"
};

static const ngx_uint_t  ngx_prefs_exporter_method_bits[] = {
    NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_POST, NGX_HTTP_PUT, NGX_HTTP_PATCH,
    NGX_HTTP_DELETE
};

static const char *const
    ngx_prefs_exporter_classes[NGX_PREFS_METRICS_CLASSES] =
{
    "1xx", "2xx", "3xx", "4xx", "5xx"
};

static const char *const
    ngx_prefs_exporter_outcomes[NGX_PREFS_METRICS_DB_STATUSES] =
{
    "ok", "sql_error", "unavailable", "busy", "timeout"
};

static const char *const
    ngx_prefs_exporter_auth[NGX_PREFS_METRICS_AUTH_REASONS] =
{
    "header", "unknown_account", "timestamp", "unknown_user", "signature",
    "token", "throttled", "invalid_client"
};

static const char *const
    ngx_prefs_exporter_bulk[NGX_PREFS_METRICS_BULK_STATES] =
{
    "staged", "processed", "failed"
};


/* the status slots' values, in the order ngx_prefs_exporter_processes sets */
#define NGX_PREFS_EXPORTER_PROCESS_VALUES  12

static const char *const  ngx_prefs_exporter_process_values
    [NGX_PREFS_EXPORTER_PROCESS_VALUES][3] =
{
    { "prefs_workers", "gauge", "Processes answering HTTP." },
    { "prefs_db_connections_open", "gauge",
      "Database connections open, of every process." },
    { "prefs_db_connections_connecting", "gauge",
      "Database connections being opened." },
    { "prefs_db_connections_busy", "gauge",
      "Database connections running a query." },
    { "prefs_db_queries_waiting", "gauge",
      "Queries waiting for a database connection." },
    { "prefs_db_connect_failures", "counter",
      "Failed connects since the live processes started." },
    { "prefs_config_snapshot_accounts", "gauge",
      "Configuration snapshots held, summed over the workers." },
    { "prefs_config_snapshot_bytes", "gauge",
      "Bytes of configuration snapshots held, summed over the workers." },
    { "prefs_config_snapshot_loads", "counter",
      "Configuration snapshots loaded since the live workers started." },
    { "prefs_config_listening", "gauge",
      "Whether the helper hears of configuration changes (LISTEN)." },
    { "prefs_helper_up", "gauge", "Whether the helper process runs." },
    { "prefs_helper_jobs_running", "gauge", "Jobs the helper runs now." }
};


static ngx_str_t  ngx_prefs_exporter_text_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");
static ngx_str_t  ngx_prefs_exporter_om_type =
    ngx_string("application/openmetrics-text; version=1.0.0; charset=utf-8");


ngx_int_t
ngx_prefs_exporter_handler(ngx_http_request_t *r)
{
    if (ngx_prefs_metrics_get() == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_status_query(r, NGX_PREFS_STMT_METRICS,
                                  ngx_prefs_exporter_done);
}


ngx_int_t
ngx_prefs_exporter_log(ngx_http_request_t *r)
{
    int                         cls;
    ngx_uint_t                  api, tpl, method, status;
    ngx_msec_int_t              ms;
    ngx_time_t                 *tp;
    ngx_prefs_metrics_t        *m;
    ngx_http_prefs_loc_conf_t  *plcf;

    m = ngx_prefs_metrics_get();
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (m == NULL || plcf->api == NGX_HTTP_PREFS_API_NONE) {
        return NGX_OK;
    }

    api = plcf->api < NGX_PREFS_METRICS_APIS ? plcf->api
                                             : NGX_PREFS_METRICS_APIS - 1;
    tpl = ngx_prefs_vars_template(r);

    for (method = 0; method < NGX_PREFS_METRICS_METHODS - 1; method++) {
        if (r->method == ngx_prefs_exporter_method_bits[method]) {
            break;
        }
    }

    status = r->err_status ? r->err_status : r->headers_out.status;
    cls = prefs_metrics_status_class((int) status);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    if (cls >= 0) {
        (void) ngx_atomic_fetch_add(&m->requests[api][tpl][method][cls], 1);
    }

    ngx_prefs_metrics_hist_add(&m->latency[api][tpl], ngx_max(ms, 0));

    if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        (void) ngx_atomic_fetch_add(&m->throttled[api], 1);
    }

    return NGX_OK;
}


static void
ngx_prefs_exporter_done(ngx_prefs_db_query_t *q)
{
    ngx_http_request_t          *r = q->data;
    ngx_prefs_metrics_t         *m;
    ngx_prefs_exporter_out_t     out;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);
    m = ngx_prefs_metrics_get();

    ngx_memzero(&out, sizeof(ngx_prefs_exporter_out_t));
    out.pool = r->pool;
    out.last = &out.first;

    if (r->headers_in.accept) {
        out.om = prefs_metrics_wants_openmetrics(
                                  (char *) r->headers_in.accept->value.data,
                                  r->headers_in.accept->value.len);
    }

    ngx_prefs_exporter_requests(&out, m);

    ngx_prefs_exporter_counters(&out, "prefs_auth_failures",
                                "Refused credentials, by reason.", "reason",
                                ngx_prefs_exporter_auth, m->auth_failures,
                                NGX_PREFS_METRICS_AUTH_REASONS);

    ngx_prefs_exporter_counters(&out, "prefs_db_queries",
                                "Database queries of every process, by how "
                                "they ended.", "outcome",
                                ngx_prefs_exporter_outcomes, m->queries,
                                NGX_PREFS_METRICS_DB_STATUSES);

    ngx_prefs_exporter_family(&out, "prefs_db_query_duration_seconds",
                              "histogram",
                              "Database queries from submission (the wait "
                              "for a connection included) to their result.");
    ngx_prefs_exporter_hist(&out, "prefs_db_query_duration_seconds", NULL,
                            &m->query_latency);

    ngx_prefs_exporter_processes(&out, pmcf);

    ngx_prefs_exporter_value(&out, "prefs_webhook_attempts", "counter",
                             "Webhook delivery attempts made.",
                             m->webhook_attempts);
    ngx_prefs_exporter_value(&out, "prefs_webhook_successes", "counter",
                             "Webhook delivery attempts answered 2xx.",
                             m->webhook_successes);

    ngx_prefs_exporter_counters(&out, "prefs_webhook_failures",
                                "Failed webhook delivery attempts, by "
                                "reason.", "reason",
                                prefs_metrics_wh_reason_names,
                                m->webhook_failures,
                                PREFS_METRICS_WH_REASONS);

    /* bulk jobs count here through ngx_prefs_metrics_bulk() */
    ngx_prefs_exporter_counters(&out, "prefs_bulk_records",
                                "Bulk job records, by what became of them.",
                                "state", ngx_prefs_exporter_bulk,
                                m->bulk_records,
                                NGX_PREFS_METRICS_BULK_STATES);

    ngx_prefs_exporter_database(&out, q);

    if (out.om) {
        ngx_prefs_exporter_printf(&out, "# EOF\n");
    }

    if (out.failed) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_prefs_http_finalize(r, ngx_prefs_exporter_send(r, &out));
}


/* the series that have counted something; the others are left out */

static void
ngx_prefs_exporter_requests(ngx_prefs_exporter_out_t *out,
    ngx_prefs_metrics_t *m)
{
    u_char       labels[NGX_PREFS_EXPORTER_LINE];
    ngx_str_t   *route;
    ngx_uint_t   api, tpl, method, cls, n, i;

    n = ngx_prefs_vars_templates();

    ngx_prefs_exporter_family(out, "prefs_http_requests", "counter",
                              "Requests to prefs_api locations, by API, "
                              "route template, method and status class.");

    for (api = 0; api < NGX_PREFS_METRICS_APIS; api++) {
        for (tpl = 0; tpl < n; tpl++) {
            route = ngx_prefs_vars_template_name(tpl);

            for (method = 0; method < NGX_PREFS_METRICS_METHODS; method++) {
                for (cls = 0; cls < NGX_PREFS_METRICS_CLASSES; cls++) {
                    if (m->requests[api][tpl][method][cls] == 0) {
                        continue;
                    }

                    ngx_prefs_exporter_printf(out,
                        "prefs_http_requests_total{api=\"%s\",route=\"%V\","
                        "method=\"%s\",status=\"%s\"} %uA\n",
                        ngx_prefs_exporter_apis[api], route,
                        ngx_prefs_exporter_methods[method],
                        ngx_prefs_exporter_classes[cls],
                        m->requests[api][tpl][method][cls]);
                }
            }
        }
    }

    ngx_prefs_exporter_family(out, "prefs_http_request_duration_seconds",
                              "histogram",
                              "Requests to prefs_api locations from their "
                              "first byte to their log, by API and route "
                              "template.");

    for (api = 0; api < NGX_PREFS_METRICS_APIS; api++) {
        for (tpl = 0; tpl < n; tpl++) {
            for (i = 0; i < NGX_PREFS_METRICS_HIST; i++) {
                if (m->latency[api][tpl].bucket[i]) {
                    break;
                }
            }

            if (i == NGX_PREFS_METRICS_HIST) {
                continue;
            }

            *ngx_snprintf(labels, sizeof(labels) - 1,
                          "api=\"%s\",route=\"%V\"",
                          ngx_prefs_exporter_apis[api],
                          ngx_prefs_vars_template_name(tpl)) = '\0';

            ngx_prefs_exporter_hist(out,
                                    "prefs_http_request_duration_seconds",
                                    labels, &m->latency[api][tpl]);
        }
    }

    ngx_prefs_exporter_family(out, "prefs_http_throttled", "counter",
                              "Requests to prefs_api locations answered "
                              "429, whoever refused them (the module or "
                              "limit_req), by API.");

    for (api = 0; api < NGX_PREFS_METRICS_APIS; api++) {
        if (m->throttled[api]) {
            ngx_prefs_exporter_printf(out,
                                      "prefs_http_throttled_total"
                                      "{api=\"%s\"} %uA\n",
                                      ngx_prefs_exporter_apis[api],
                                      m->throttled[api]);
        }
    }
}


/* the status slots: every live worker summed, and the helper */

static void
ngx_prefs_exporter_processes(ngx_prefs_exporter_out_t *out,
    ngx_http_prefs_main_conf_t *pmcf)
{
    uint64_t                   values[NGX_PREFS_EXPORTER_PROCESS_VALUES];
    ngx_uint_t                 i, helper;
    ngx_msec_t                 lag;
    ngx_prefs_shm_slot_t      *slot;
    ngx_prefs_exporter_sum_t   sum;

    ngx_memzero(&sum, sizeof(ngx_prefs_exporter_sum_t));

    slot = ngx_prefs_shm_own_slot();
    if (slot) {
        ngx_prefs_db_stats(&pmcf->pools, &slot->db);
    }

    for (i = 0; i <= NGX_PREFS_SHM_HELPER_SLOT; i++) {
        slot = &pmcf->sh->slots[i];

        if ((i < NGX_PREFS_SHM_HELPER_SLOT && slot->kind == 0)
            || !ngx_prefs_status_slot_live(slot))
        {
            continue;
        }

        if (i < NGX_PREFS_SHM_HELPER_SLOT) {
            sum.workers++;
            sum.config_accounts += slot->config_accounts;
            sum.config_bytes += slot->config_bytes;
            sum.config_loads += slot->config_loads;
        }

        sum.db.open += slot->db.open;
        sum.db.connecting += slot->db.connecting;
        sum.db.busy += slot->db.busy;
        sum.db.waiting += slot->db.waiting;
        sum.db.connect_failures += slot->db.connect_failures;

        if (slot->db.standbys) {
            sum.db.standbys++;
            sum.db.standby_queries += slot->db.standby_queries;
            sum.db.standby_fallbacks += slot->db.standby_fallbacks;
            sum.standby_ready +=
                (slot->db.standby_state == NGX_PREFS_DB_STANDBY_READY);
            sum.standby_lag = ngx_max(sum.standby_lag, slot->db.standby_lag);
        }
    }

    slot = &pmcf->sh->slots[NGX_PREFS_SHM_HELPER_SLOT];
    helper = pmcf->helper.enabled && ngx_prefs_status_slot_live(slot);

    values[0] = sum.workers;
    values[1] = sum.db.open;
    values[2] = sum.db.connecting;
    values[3] = sum.db.busy;
    values[4] = sum.db.waiting;
    values[5] = sum.db.connect_failures;
    values[6] = sum.config_accounts;
    values[7] = sum.config_bytes;
    values[8] = sum.config_loads;
    values[9] = pmcf->sh->config_listening ? 1 : 0;
    values[10] = helper;
    values[11] = helper ? slot->jobs_running : 0;

    for (i = 0; i < NGX_PREFS_EXPORTER_PROCESS_VALUES; i++) {
        ngx_prefs_exporter_value(out, ngx_prefs_exporter_process_values[i][0],
                                 ngx_prefs_exporter_process_values[i][1],
                                 ngx_prefs_exporter_process_values[i][2],
                                 values[i]);
    }

    /* prefs_db_replica: only where a standby is configured */

    if (sum.db.standbys == 0) {
        return;
    }

    ngx_prefs_exporter_value(out, "prefs_db_standby_ready", "gauge",
                             "Processes whose standby serves reads "
                             "(within max_lag).", sum.standby_ready);
    lag = sum.standby_lag > 0 ? (ngx_msec_t) sum.standby_lag : 0;

    ngx_prefs_exporter_family(out, "prefs_db_standby_lag_seconds", "gauge",
                              "How far behind the primary the standby was "
                              "last known to be, the most any process saw.");
    ngx_prefs_exporter_printf(out, "prefs_db_standby_lag_seconds %M.%03M\n",
                              lag / 1000, lag % 1000);
    ngx_prefs_exporter_value(out, "prefs_db_standby_queries", "counter",
                             "Queries the standby answered.",
                             sum.db.standby_queries);
    ngx_prefs_exporter_value(out, "prefs_db_standby_fallbacks", "counter",
                             "Queries the standby passed on to the primary "
                             "(down, late, refused, or not replayed yet).",
                             sum.db.standby_fallbacks);
}


static void
ngx_prefs_exporter_database(ngx_prefs_exporter_out_t *out,
    ngx_prefs_db_query_t *q)
{
    ngx_uint_t  up;

    up = (q->status == NGX_PREFS_DB_OK);

    ngx_prefs_exporter_value(out, "prefs_database_up", "gauge",
                             "Whether this scrape could read the database.",
                             up);

    if (!up) {
        return;
    }

    ngx_prefs_exporter_family(out, "prefs_jobs", "gauge",
                              "Jobs in the queue, by type and state.");
    (void) ngx_prefs_exporter_rows(out, q, "jobs", "prefs_jobs", "type",
                                   "state");

    ngx_prefs_exporter_family(out, "prefs_webhook_deliveries", "gauge",
                              "Webhook deliveries pending, being sent or "
                              "dead (dead letters), by kind and state.");
    (void) ngx_prefs_exporter_rows(out, q, "webhook_deliveries",
                                   "prefs_webhook_deliveries", "kind",
                                   "state");

    ngx_prefs_exporter_family(out, "prefs_webhook_pending_lag_seconds",
                              "gauge",
                              "Seconds since the oldest event still to be "
                              "delivered was recorded.");
    if (!ngx_prefs_exporter_rows(out, q, "webhook_pending_lag",
                                 "prefs_webhook_pending_lag_seconds",
                                 NULL, NULL))
    {
        ngx_prefs_exporter_printf(out,
                                  "prefs_webhook_pending_lag_seconds 0\n");
    }

    ngx_prefs_exporter_family(out, "prefs_webhook_delivered_lag_seconds",
                              "gauge",
                              "Mean seconds from an event's recording to "
                              "its delivery, over the last 5 minutes.");
    if (!ngx_prefs_exporter_rows(out, q, "webhook_delivered_lag",
                                 "prefs_webhook_delivered_lag_seconds",
                                 NULL, NULL))
    {
        ngx_prefs_exporter_printf(out,
                                  "prefs_webhook_delivered_lag_seconds 0\n");
    }
}


/* the rows of one kind, as samples; how many */

static ngx_uint_t
ngx_prefs_exporter_rows(ngx_prefs_exporter_out_t *out,
    ngx_prefs_db_query_t *q, const char *name, const char *metric,
    const char *kind_label, const char *state_label)
{
    int          row, rows;
    char        *value, *p;
    char         kind[NGX_PREFS_EXPORTER_LABEL];
    char         state[NGX_PREFS_EXPORTER_LABEL];
    ngx_uint_t   n;

    rows = PQntuples(q->res);
    n = 0;

    for (row = 0; row < rows; row++) {
        if (ngx_strcmp(ngx_prefs_db_value(q, row, NGX_PREFS_COL_NAME), name)
            != 0)
        {
            continue;
        }

        value = ngx_prefs_db_value(q, row, NGX_PREFS_COL_COUNT);

        /* a number as PostgreSQL prints a float8 */
        for (p = value; *p && ngx_strchr("0123456789.eE+-", *p); p++) {
            /* void */
        }

        if (*p != '\0' || p == value) {
            continue;
        }

        if (kind_label == NULL) {
            ngx_prefs_exporter_printf(out, "%s %s\n", metric, value);
            n++;
            continue;
        }

        p = ngx_prefs_db_value(q, row, NGX_PREFS_COL_KIND);
        if (prefs_metrics_escape(p, ngx_strlen(p), kind, sizeof(kind)) < 0) {
            continue;
        }

        p = ngx_prefs_db_value(q, row, NGX_PREFS_COL_STATE);
        if (prefs_metrics_escape(p, ngx_strlen(p), state, sizeof(state)) < 0)
        {
            continue;
        }

        ngx_prefs_exporter_printf(out, "%s{%s=\"%s\",%s=\"%s\"} %s\n", metric,
                                  kind_label, kind, state_label, state,
                                  value);
        n++;
    }

    return n;
}


/* a counter family with one label, a sample for each of its values */

static void
ngx_prefs_exporter_counters(ngx_prefs_exporter_out_t *out, const char *name,
    const char *help, const char *label, const char *const *values,
    ngx_atomic_t *counters, ngx_uint_t n)
{
    ngx_uint_t  i;

    ngx_prefs_exporter_family(out, name, "counter", help);

    for (i = 0; i < n; i++) {
        ngx_prefs_exporter_printf(out, "%s_total{%s=\"%s\"} %uA\n", name,
                                  label, values[i], counters[i]);
    }
}


/* OpenMetrics names a counter's family without the "_total" of its sample */

static void
ngx_prefs_exporter_family(ngx_prefs_exporter_out_t *out, const char *name,
    const char *type, const char *help)
{
    const char  *suffix;

    suffix = (!out->om && ngx_strcmp(type, "counter") == 0) ? "_total" : "";

    ngx_prefs_exporter_printf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n",
                              name, suffix, help, name, suffix, type);
}


static void
ngx_prefs_exporter_hist(ngx_prefs_exporter_out_t *out, const char *name,
    u_char *labels, ngx_prefs_metrics_hist_t *h)
{
    ngx_uint_t    i;
    ngx_atomic_t  sum_ms, count;

    count = 0;

    for (i = 0; i < NGX_PREFS_METRICS_HIST; i++) {
        count += h->bucket[i];

        ngx_prefs_exporter_printf(out, "%s_bucket{%s%sle=\"%s\"} %uA\n", name,
                                  labels ? (char *) labels : "",
                                  labels ? "," : "",
                                  prefs_metrics_bucket_le[i], count);
    }

    sum_ms = h->sum_ms;

    ngx_prefs_exporter_printf(out, "%s_sum%s%s%s %uA.%03uA\n%s_count%s%s%s "
                              "%uA\n",
                              name, labels ? "{" : "",
                              labels ? (char *) labels : "",
                              labels ? "}" : "",
                              sum_ms / 1000, sum_ms % 1000,
                              name, labels ? "{" : "",
                              labels ? (char *) labels : "",
                              labels ? "}" : "", count);
}


static void
ngx_prefs_exporter_value(ngx_prefs_exporter_out_t *out, const char *name,
    const char *type, const char *help, uint64_t value)
{
    ngx_prefs_exporter_family(out, name, type, help);

    ngx_prefs_exporter_printf(out, "%s%s %uL\n", name,
                              ngx_strcmp(type, "counter") == 0 ? "_total" : "",
                              value);
}


static void
ngx_prefs_exporter_printf(ngx_prefs_exporter_out_t *out, const char *fmt,
    ...)
{
    u_char       *p;
    va_list       args;
    ngx_chain_t  *cl;

    if (out->failed) {
        return;
    }

    if (out->b == NULL
        || (size_t) (out->b->end - out->b->last) < NGX_PREFS_EXPORTER_LINE)
    {
        cl = ngx_alloc_chain_link(out->pool);
        if (cl == NULL) {
            out->failed = 1;
            return;
        }

        cl->buf = ngx_create_temp_buf(out->pool, NGX_PREFS_EXPORTER_CHUNK);
        if (cl->buf == NULL) {
            out->failed = 1;
            return;
        }

        cl->next = NULL;
        *out->last = cl;
        out->last = &cl->next;
        out->b = cl->buf;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(out->b->last, out->b->end, fmt, args);
    va_end(args);

    out->size += p - out->b->last;
    out->b->last = p;
}


static ngx_int_t
ngx_prefs_exporter_send(ngx_http_request_t *r, ngx_prefs_exporter_out_t *out)
{
    ngx_int_t  rc;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = out->om ? ngx_prefs_exporter_om_type
                                          : ngx_prefs_exporter_text_type;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = out->size;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out->b->last_buf = (r == r->main) ? 1 : 0;
    out->b->last_in_chain = 1;

    return ngx_http_output_filter(r, out->first);
}
