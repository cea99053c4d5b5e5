
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Webhook delivery in the helper process: one pump per database.
 *
 * The work is rows of prefs_webhook_delivery (sql/migrations/
 * 013_webhook_delivery.sql; the claim is prefs_webhook_claim in
 * sql/functions/webhooks.sql): a claim query fans new events out, sends
 * handshakes and returns due deliveries leased to this process, fairly
 * across accounts and then subscriptions (docs/webhooks.md, "Fairness and
 * rate settings"); each is signed here (Standard
 * Webhooks) and POSTed through ngx_prefs_whclient_send(), many at once; the
 * outcomes that have come in are reported in one query while the next
 * ones are still on the wire.  At most one claim and one report query are
 * in flight.  NOTIFY prefs_event (new events) and prefs_webhook (replays)
 * wake the pump; a timer set to the next due retry, bounded by the helper's
 * poll interval, covers the rest.  A killed helper reports nothing: its
 * leases run out and the rows fall due again (at least once).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_prefs_webhook_pump.h"
#include "ngx_prefs_whclient.h"
#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"
#include "prefs_whsig.h"


#define NGX_PREFS_WHPUMP_RETRY      1000     /* database out of reach */
#define NGX_PREFS_WHPUMP_IDLE_MIN   50       /* blocked by caps: look again */
#define NGX_PREFS_WHPUMP_NOTIFY_GAP 20       /* claims per notification, ms */
#define NGX_PREFS_WHPUMP_SWEEP      600000   /* expired rows deleted */
#define NGX_PREFS_WHPUMP_RESPONSE   256      /* answer bytes reported */


typedef struct {
    ngx_queue_t                queue;
    ngx_pool_t                *pool;
    ngx_prefs_webhook_pump_t  *pump;
    ngx_prefs_whclient_req_t   req;
    ngx_str_t                  id;
    ngx_str_t                  attempt;
} ngx_prefs_webhook_pump_delivery_t;


struct ngx_prefs_webhook_pump_s {
    ngx_prefs_db_pool_t          *pool;
    ngx_http_prefs_main_conf_t   *pmcf;
    ngx_log_t                    *log;

    ngx_event_t                   wake;
    ngx_event_t                   sweep;
    ngx_event_t                   report_retry;

    ngx_pool_t                   *claim_pool;
    ngx_pool_t                   *report_pool;
    ngx_pool_t                   *sweep_pool;

    ngx_queue_t                   sending;
    ngx_queue_t                   done;
    ngx_queue_t                   reporting;
    ngx_uint_t                    nsending;
    ngx_uint_t                    ndone;
    ngx_uint_t                    nreporting;
    ngx_uint_t                    asked;
    ngx_msec_t                    claimed_at;

    unsigned                      claiming:1;
    unsigned                      again:1;
    unsigned                      stopped:1;

    char                          owner[NGX_MAXHOSTNAMELEN + 32];
    char                          lease[32];
    char                          limit[NGX_INT_T_LEN + 1];
    char                          per_sub[NGX_INT_T_LEN + 1];
};


static void ngx_prefs_webhook_pump_wake_handler(ngx_event_t *ev);
static void ngx_prefs_webhook_pump_claim(ngx_prefs_webhook_pump_t *p);
static void ngx_prefs_webhook_pump_soon(ngx_prefs_webhook_pump_t *p);
static void ngx_prefs_webhook_pump_claimed(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhook_pump_start(ngx_prefs_webhook_pump_t *p,
    ngx_prefs_db_query_t *q, int row);
static ngx_int_t ngx_prefs_webhook_pump_sign(ngx_prefs_webhook_pump_t *p,
    const char *sealed, size_t sealed_len, ngx_str_t *id, ngx_str_t *ts,
    ngx_str_t *body, u_char *out);
static void ngx_prefs_webhook_pump_sent(ngx_prefs_whclient_req_t *req);
static void ngx_prefs_webhook_pump_report(ngx_prefs_webhook_pump_t *p);
static void ngx_prefs_webhook_pump_reported(ngx_prefs_db_query_t *q);
static void ngx_prefs_webhook_pump_report_retry(ngx_event_t *ev);
static u_char *ngx_prefs_webhook_pump_json_str(u_char *p, ngx_str_t *s,
    size_t max);
static void ngx_prefs_webhook_pump_sweep_handler(ngx_event_t *ev);
static void ngx_prefs_webhook_pump_swept(ngx_prefs_db_query_t *q);


ngx_prefs_webhook_pump_t *
ngx_prefs_webhook_pump_create(ngx_cycle_t *cycle,
    ngx_http_prefs_main_conf_t *pmcf, ngx_prefs_db_pool_t *pool,
    const char *owner)
{
    ngx_prefs_webhook_pump_t  *p;

    p = ngx_pcalloc(cycle->pool, sizeof(ngx_prefs_webhook_pump_t));
    if (p == NULL) {
        return NULL;
    }

    p->pool = pool;
    p->pmcf = pmcf;
    p->log = cycle->log;

    ngx_queue_init(&p->sending);
    ngx_queue_init(&p->done);
    ngx_queue_init(&p->reporting);

    p->wake.handler = ngx_prefs_webhook_pump_wake_handler;
    p->wake.data = p;
    p->wake.log = cycle->log;
    p->wake.cancelable = 1;

    p->sweep.handler = ngx_prefs_webhook_pump_sweep_handler;
    p->sweep.data = p;
    p->sweep.log = cycle->log;
    p->sweep.cancelable = 1;

    p->report_retry.handler = ngx_prefs_webhook_pump_report_retry;
    p->report_retry.data = p;
    p->report_retry.log = cycle->log;
    p->report_retry.cancelable = 1;

    ngx_cpystrn((u_char *) p->owner, (u_char *) owner, sizeof(p->owner));

    *ngx_snprintf((u_char *) p->lease, sizeof(p->lease) - 1,
                  "%M milliseconds", pmcf->webhook.lease) = '\0';
    *ngx_snprintf((u_char *) p->per_sub, sizeof(p->per_sub) - 1, "%ui",
                  pmcf->webhook.sub_in_flight) = '\0';

    /* the first claim comes when the LISTEN connection is up */
    ngx_add_timer(&p->sweep, 1000);

    return p;
}


void
ngx_prefs_webhook_pump_notify(ngx_prefs_webhook_pump_t *p, const char *channel)
{
    if (p == NULL || p->stopped) {
        return;
    }

    if (p->claiming) {
        /* the claim in flight may have missed it: one more after it */
        p->again = 1;
        return;
    }

    ngx_prefs_webhook_pump_soon(p);
}


/*
 * A claim for events just written: at once, unless one started less than
 * NGX_PREFS_WHPUMP_NOTIFY_GAP ago; then when that much time has passed.
 * While writers commit hundreds of times a second, every commit notifies;
 * one claim per gap takes all their events, where a claim per
 * notification would keep the database busy fanning out a few events at a
 * time.  An event after a quiet spell is claimed at once.
 */

static void
ngx_prefs_webhook_pump_soon(ngx_prefs_webhook_pump_t *p)
{
    ngx_msec_t  elapsed, left;

    elapsed = ngx_current_msec - p->claimed_at;

    if (elapsed >= NGX_PREFS_WHPUMP_NOTIFY_GAP) {
        p->again = 1;
        ngx_prefs_webhook_pump_claim(p);
        return;
    }

    left = NGX_PREFS_WHPUMP_NOTIFY_GAP - elapsed;

    if (p->wake.timer_set
        && (ngx_msec_int_t) (p->wake.timer.key - ngx_current_msec)
           <= (ngx_msec_int_t) left)
    {
        return;
    }

    if (p->wake.timer_set) {
        ngx_del_timer(&p->wake);
    }

    ngx_add_timer(&p->wake, left);
}


void
ngx_prefs_webhook_pump_stop(ngx_prefs_webhook_pump_t *p)
{
    if (p == NULL) {
        return;
    }

    /*
     * The process is exiting: deliveries on the wire are left to their
     * leases; the queries are cancelled with their pools.
     */

    p->stopped = 1;

    if (p->wake.timer_set) {
        ngx_del_timer(&p->wake);
    }

    if (p->sweep.timer_set) {
        ngx_del_timer(&p->sweep);
    }

    if (p->report_retry.timer_set) {
        ngx_del_timer(&p->report_retry);
    }

    if (p->claim_pool) {
        ngx_destroy_pool(p->claim_pool);
        p->claim_pool = NULL;
    }

    if (p->report_pool) {
        ngx_destroy_pool(p->report_pool);
        p->report_pool = NULL;
    }

    if (p->sweep_pool) {
        ngx_destroy_pool(p->sweep_pool);
        p->sweep_pool = NULL;
    }
}


static void
ngx_prefs_webhook_pump_wake_handler(ngx_event_t *ev)
{
    ngx_prefs_webhook_pump_t  *p = ev->data;

    p->again = 1;
    ngx_prefs_webhook_pump_claim(p);
}


static void
ngx_prefs_webhook_pump_claim(ngx_prefs_webhook_pump_t *p)
{
    ngx_uint_t             busy;
    ngx_prefs_db_query_t  *q;

    if (p->stopped || p->claiming) {
        return;
    }

    busy = p->nsending + p->ndone + p->nreporting;

    if (busy >= p->pmcf->webhook.in_flight) {
        /* an outcome reported makes room and claims again */
        return;
    }

    p->again = 0;
    p->claimed_at = ngx_current_msec;

    p->claim_pool = ngx_create_pool(4096, p->log);
    if (p->claim_pool == NULL) {
        return;
    }

    q = ngx_prefs_db_query_create(p->claim_pool, p->pool,
                                  NGX_PREFS_STMT_WEBHOOK_CLAIM, p->log);
    if (q == NULL
        || ngx_prefs_db_query_cleanup(p->claim_pool, q) != NGX_OK)
    {
        ngx_destroy_pool(p->claim_pool);
        p->claim_pool = NULL;
        return;
    }

    p->asked = p->pmcf->webhook.in_flight - busy;
    *ngx_sprintf((u_char *) p->limit, "%ui", p->asked) = '\0';

    q->values[0] = p->owner;
    q->values[1] = p->lease;
    q->values[2] = p->limit;
    q->values[3] = p->per_sub;
    q->values[4] = (char *) p->pmcf->events.window.data;
    q->handler = ngx_prefs_webhook_pump_claimed;
    q->data = p;

    p->claiming = 1;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_webhook_pump_claimed(ngx_prefs_db_query_t *q)
{
    int                        i, n, started;
    ngx_int_t                  due;
    ngx_msec_t                 wait;
    ngx_prefs_webhook_pump_t  *p = q->data;

    started = 0;
    wait = p->pmcf->helper.poll;

    if (q->status == NGX_PREFS_DB_OK) {
        n = PQntuples(q->res);

        for (i = 0; i < n; i++) {
            if (ngx_prefs_db_isnull(q, i, NGX_PREFS_COL_DELIVERY_ID)) {
                continue;
            }

            ngx_prefs_webhook_pump_start(p, q, i);
            started++;
        }

        if (n > 0 && !ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_NEXT_DUE_MS)) {
            due = ngx_prefs_db_number(q, 0, NGX_PREFS_COL_NEXT_DUE_MS);

            if (due != NGX_ERROR && (ngx_msec_t) due < wait) {
                wait = (ngx_msec_t) due;
            }
        }

        if (started == 0 && wait < NGX_PREFS_WHPUMP_IDLE_MIN) {
            /* due but held back (in-flight or rate caps): not a spin */
            wait = NGX_PREFS_WHPUMP_IDLE_MIN;
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, p->log, 0,
                      "prefs webhooks: cannot claim deliveries: %s",
                      q->error);
        wait = NGX_PREFS_WHPUMP_RETRY;
    }

    /* destroys q and its result */
    ngx_destroy_pool(p->claim_pool);
    p->claim_pool = NULL;
    p->claiming = 0;

    if (p->wake.timer_set) {
        ngx_del_timer(&p->wake);
    }

    ngx_add_timer(&p->wake, wait);

    ngx_log_debug1(NGX_LOG_DEBUG_CORE, p->log, 0,
                   "prefs webhooks: %d deliveries claimed", started);

    if ((ngx_uint_t) started == p->asked) {
        /* a full batch means more may be waiting */
        p->again = 1;
        ngx_prefs_webhook_pump_claim(p);
        return;
    }

    if (p->again) {
        /* notified while claiming */
        p->again = 0;
        ngx_prefs_webhook_pump_soon(p);
    }
}


static void
ngx_prefs_webhook_pump_start(ngx_prefs_webhook_pump_t *p,
    ngx_prefs_db_query_t *q, int row)
{
    u_char                             *m, *h;
    size_t                              id_len, ts_len, body_len;
    ngx_int_t                           rc;
    ngx_pool_t                         *pool;
    const char                         *id, *ts;
    ngx_prefs_webhook_pump_delivery_t  *d;
    u_char                   sig[2][PREFS_WHSIG_SIG_LEN + 1];
    size_t                   nsig;
    ngx_str_t                sid, sts;

    pool = ngx_create_pool(1024, p->log);
    if (pool == NULL) {
        return;
    }

    d = ngx_pcalloc(pool, sizeof(ngx_prefs_webhook_pump_delivery_t));
    if (d == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    d->pool = pool;
    d->pump = p;

#define ngx_prefs_webhook_pump_copy(f, col)                                   \
    f.len = ngx_prefs_db_length(q, row, col);                                 \
    f.data = ngx_pnalloc(pool, f.len + 1);                                    \
    if (f.data == NULL) {                                                     \
        ngx_destroy_pool(pool);                                               \
        return;                                                               \
    }                                                                         \
    ngx_memcpy(f.data, ngx_prefs_db_value(q, row, col), f.len);               \
    f.data[f.len] = '\0'

    ngx_prefs_webhook_pump_copy(d->id, NGX_PREFS_COL_DELIVERY_ID);
    ngx_prefs_webhook_pump_copy(d->attempt, NGX_PREFS_COL_ATTEMPT);
    ngx_prefs_webhook_pump_copy(d->req.url, NGX_PREFS_COL_URL);

#undef ngx_prefs_webhook_pump_copy

    id = ngx_prefs_db_value(q, row, NGX_PREFS_COL_MSG_ID);
    id_len = ngx_prefs_db_length(q, row, NGX_PREFS_COL_MSG_ID);
    ts = ngx_prefs_db_value(q, row, NGX_PREFS_COL_MSG_TS);
    ts_len = ngx_prefs_db_length(q, row, NGX_PREFS_COL_MSG_TS);
    body_len = ngx_prefs_db_length(q, row, NGX_PREFS_COL_BODY);

    m = ngx_pnalloc(pool, body_len + 1);
    if (m == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_memcpy(m, ngx_prefs_db_value(q, row, NGX_PREFS_COL_BODY), body_len);
    m[body_len] = '\0';

    d->req.body.data = m;
    d->req.body.len = body_len;

    nsig = 0;

    sid.data = (u_char *) id;
    sid.len = id_len;
    sts.data = (u_char *) ts;
    sts.len = ts_len;

    rc = ngx_prefs_webhook_pump_sign(p,
                                     ngx_prefs_db_value(q, row,
                                                        NGX_PREFS_COL_SECRET),
                                     ngx_prefs_db_length(q, row,
                                                         NGX_PREFS_COL_SECRET),
                                     &sid, &sts, &d->req.body, sig[0]);
    if (rc == NGX_OK) {
        nsig++;
    }

    if (!ngx_prefs_db_isnull(q, row, NGX_PREFS_COL_SECRET_PREVIOUS)
        && ngx_prefs_webhook_pump_sign(p,
                                       ngx_prefs_db_value(q, row,
                                           NGX_PREFS_COL_SECRET_PREVIOUS),
                                       ngx_prefs_db_length(q, row,
                                           NGX_PREFS_COL_SECRET_PREVIOUS),
                                       &sid, &sts, &d->req.body, sig[nsig])
           == NGX_OK)
    {
        nsig++;
    }

    d->req.headers.data = ngx_pnalloc(pool, sizeof("webhook-id: \r\n")
                                      + id_len
                                      + sizeof("webhook-timestamp: \r\n")
                                      + ts_len
                                      + sizeof("webhook-signature: \r\n")
                                      + 2 * (PREFS_WHSIG_SIG_LEN + 1));
    if (d->req.headers.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    h = ngx_sprintf(d->req.headers.data,
                    "webhook-id: %*s\r\nwebhook-timestamp: %*s\r\n",
                    id_len, id, ts_len, ts);

    if (nsig == 1) {
        h = ngx_sprintf(h, "webhook-signature: %s\r\n", sig[0]);

    } else if (nsig == 2) {
        h = ngx_sprintf(h, "webhook-signature: %s %s\r\n", sig[0], sig[1]);
    }

    d->req.headers.len = h - d->req.headers.data;
    d->req.pool = pool;
    d->req.handler = ngx_prefs_webhook_pump_sent;
    d->req.data = d;
    d->req.retry_after = -1;

    ngx_queue_insert_tail(&p->sending, &d->queue);
    p->nsending++;

    if (ngx_prefs_db_isnull(q, row, NGX_PREFS_COL_BODY)) {
        /* the event left the history window: nothing to send, ever */
        d->req.refused = 1;
        ngx_str_set(&d->req.error, "the event is no longer kept");
        ngx_prefs_webhook_pump_sent(&d->req);
        return;
    }

    if (nsig == 0) {
        /* nothing we could sign: retried later, the operator is told */
        ngx_str_set(&d->req.error, "the signing secret cannot be opened "
                    "with prefs_secret_key");
        ngx_prefs_webhook_pump_sent(&d->req);
        return;
    }

    if (ngx_prefs_whclient_send(&d->req) != NGX_OK) {
        d->req.status = 0;
        ngx_str_set(&d->req.error, "the request could not be started");
        ngx_prefs_webhook_pump_sent(&d->req);
    }
}


/*
 * The Standard Webhooks signature of a delivery with the subscription's
 * secret, opened for the moment of signing (src/lib/prefs_whsig.c).
 */

static ngx_int_t
ngx_prefs_webhook_pump_sign(ngx_prefs_webhook_pump_t *p, const char *sealed,
    size_t sealed_len, ngx_str_t *id, ngx_str_t *ts, ngx_str_t *body,
    u_char *out)
{
    long                rc;
    off_t               t;
    size_t              plen;
    const char         *secret;
    unsigned char       plain[PREFS_SECRET_MAX];

    t = ngx_atoof(ts->data, ts->len);
    if (t == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (prefs_seal_open(p->pmcf->auth.secret_key, sealed, sealed_len, plain,
                        sizeof(plain), &plen)
        != PREFS_AUTH_OK)
    {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "prefs webhooks: a subscription's secret cannot be "
                      "opened: sealed with another prefs_secret_key?");
        return NGX_ERROR;
    }

    secret = (const char *) plain;

    rc = prefs_whsig_sign(&secret, &plen, 1, (const char *) id->data, id->len,
                          (long long) t, (const char *) body->data, body->len,
                          (char *) out, PREFS_WHSIG_SIG_LEN + 1);
    prefs_hmac_wipe(plain, sizeof(plain));

    if (rc < 0) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "prefs webhooks: a subscription's secret cannot sign: "
                      "%s", prefs_whsig_strerror((int) rc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_prefs_webhook_pump_sent(ngx_prefs_whclient_req_t *req)
{
    ngx_prefs_webhook_pump_delivery_t  *d = req->data;
    ngx_prefs_webhook_pump_t           *p = d->pump;

    ngx_queue_remove(&d->queue);
    p->nsending--;

    ngx_queue_insert_tail(&p->done, &d->queue);
    p->ndone++;

    ngx_prefs_metrics_webhook(req->status, req->refused, &req->error);

    if (req->status == 0 || req->status >= 300) {
        ngx_log_error(NGX_LOG_INFO, p->log, 0,
                      "prefs webhooks: delivery %V attempt %V to \"%V\": "
                      "%i%s%V", &d->id, &d->attempt, &req->url,
                      req->status, req->error.len ? " " : "", &req->error);
    }

    if (p->stopped) {
        return;
    }

    ngx_prefs_webhook_pump_report(p);
}


/* every outcome come in since the last report, in one query */

static void
ngx_prefs_webhook_pump_report(ngx_prefs_webhook_pump_t *p)
{
    u_char                             *b, *s;
    size_t                              size;
    ngx_queue_t                        *qh;
    ngx_prefs_db_query_t               *q;
    ngx_prefs_webhook_pump_delivery_t  *d;

    if (p->report_pool || p->ndone == 0 || p->report_retry.timer_set) {
        return;
    }

    p->report_pool = ngx_create_pool(4096, p->log);
    if (p->report_pool == NULL) {
        return;
    }

    q = ngx_prefs_db_query_create(p->report_pool, p->pool,
                                  NGX_PREFS_STMT_WEBHOOK_RESULT, p->log);
    if (q == NULL
        || ngx_prefs_db_query_cleanup(p->report_pool, q) != NGX_OK)
    {
        goto failed;
    }

    size = 2;

    for (qh = ngx_queue_head(&p->done);
         qh != ngx_queue_sentinel(&p->done);
         qh = ngx_queue_next(qh))
    {
        d = ngx_queue_data(qh, ngx_prefs_webhook_pump_delivery_t, queue);
        size += sizeof("{\"id\":,\"attempt\":,\"status\":,\"retry_after\":,"
                       "\"refused\":false,\"error\":\"\",\"response\":\"\"},")
                + d->id.len + d->attempt.len + 2 * NGX_INT_T_LEN
                + 2 * d->req.error.len + 2 * NGX_PREFS_WHPUMP_RESPONSE;
    }

    b = ngx_pnalloc(p->report_pool, size + 1);
    if (b == NULL) {
        goto failed;
    }

    s = b;
    *s++ = '[';

    while (!ngx_queue_empty(&p->done)) {
        qh = ngx_queue_head(&p->done);
        d = ngx_queue_data(qh, ngx_prefs_webhook_pump_delivery_t, queue);

        ngx_queue_remove(qh);
        p->ndone--;
        ngx_queue_insert_tail(&p->reporting, qh);
        p->nreporting++;

        if (s[-1] != '[') {
            *s++ = ',';
        }

        s = ngx_sprintf(s, "{\"id\":%V,\"attempt\":%V,\"status\":%i,",
                        &d->id, &d->attempt, d->req.status);

        if (d->req.retry_after >= 0) {
            s = ngx_sprintf(s, "\"retry_after\":%T,", d->req.retry_after);
        }

        s = ngx_sprintf(s, "\"refused\":%s,\"error\":",
                        d->req.refused ? "true" : "false");
        s = ngx_prefs_webhook_pump_json_str(s, &d->req.error, d->req.error.len);
        s = ngx_cpymem(s, ",\"response\":", sizeof(",\"response\":") - 1);
        s = ngx_prefs_webhook_pump_json_str(s, &d->req.response,
                                            NGX_PREFS_WHPUMP_RESPONSE);
        *s++ = '}';
    }

    *s++ = ']';
    *s = '\0';

    q->values[0] = p->owner;
    q->values[1] = (char *) b;
    q->values[2] = (char *) p->pmcf->webhook.retries.data;
    q->handler = ngx_prefs_webhook_pump_reported;
    q->data = p;

    ngx_prefs_db_submit(q);

    return;

failed:

    ngx_destroy_pool(p->report_pool);
    p->report_pool = NULL;
}


static void
ngx_prefs_webhook_pump_reported(ngx_prefs_db_query_t *q)
{
    ngx_queue_t                        *qh;
    ngx_prefs_webhook_pump_t           *p = q->data;
    ngx_prefs_webhook_pump_delivery_t  *d;

    if (q->status != NGX_PREFS_DB_OK && q->status != NGX_PREFS_DB_SQL_ERROR) {
        /*
         * The database is out of reach: the outcomes wait and go again
         * while the leases may still be ours; past them, the rows are
         * claimed again and delivered again (at least once).
         */
        ngx_log_error(NGX_LOG_WARN, p->log, 0,
                      "prefs webhooks: cannot record %ui outcomes: %s, "
                      "retrying", p->nreporting, q->error);

        while (!ngx_queue_empty(&p->reporting)) {
            qh = ngx_queue_last(&p->reporting);
            ngx_queue_remove(qh);
            ngx_queue_insert_head(&p->done, qh);
            p->nreporting--;
            p->ndone++;
        }

        ngx_destroy_pool(p->report_pool);
        p->report_pool = NULL;

        ngx_add_timer(&p->report_retry, NGX_PREFS_WHPUMP_RETRY);
        return;
    }

    if (q->status == NGX_PREFS_DB_SQL_ERROR) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "prefs webhooks: %ui outcomes refused: %s; their "
                      "deliveries go again when the leases run out",
                      p->nreporting, q->error);
    }

    while (!ngx_queue_empty(&p->reporting)) {
        qh = ngx_queue_head(&p->reporting);
        d = ngx_queue_data(qh, ngx_prefs_webhook_pump_delivery_t, queue);
        ngx_queue_remove(qh);
        p->nreporting--;
        ngx_destroy_pool(d->pool);
    }

    ngx_destroy_pool(p->report_pool);
    p->report_pool = NULL;

    /* room was made, and a failure may have queued a retry */
    p->again = 1;
    ngx_prefs_webhook_pump_claim(p);
    ngx_prefs_webhook_pump_report(p);
}


static void
ngx_prefs_webhook_pump_report_retry(ngx_event_t *ev)
{
    ngx_prefs_webhook_pump_report(ev->data);
}


/*
 * A JSON string of at most max bytes of s: printable ASCII kept, anything
 * else (control bytes, UTF-8 of any kind) as '?', so that a hostile answer
 * can never make the report invalid.
 */

static u_char *
ngx_prefs_webhook_pump_json_str(u_char *p, ngx_str_t *s, size_t max)
{
    u_char      c;
    ngx_uint_t  i;

    *p++ = '"';

    for (i = 0; i < s->len && i < max; i++) {
        c = s->data[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c >= 0x20 && c < 0x7f) {
            *p++ = c;

        } else {
            *p++ = '?';
        }
    }

    *p++ = '"';

    return p;
}


static void
ngx_prefs_webhook_pump_sweep_handler(ngx_event_t *ev)
{
    ngx_prefs_webhook_pump_t  *p = ev->data;
    ngx_prefs_db_query_t      *q;

    ngx_add_timer(ev, NGX_PREFS_WHPUMP_SWEEP);

    if (p->sweep_pool) {
        return;
    }

    p->sweep_pool = ngx_create_pool(512, p->log);
    if (p->sweep_pool == NULL) {
        return;
    }

    q = ngx_prefs_db_query_create(p->sweep_pool, p->pool,
                                  NGX_PREFS_STMT_WEBHOOK_CLEANUP, p->log);
    if (q == NULL
        || ngx_prefs_db_query_cleanup(p->sweep_pool, q) != NGX_OK)
    {
        ngx_destroy_pool(p->sweep_pool);
        p->sweep_pool = NULL;
        return;
    }

    q->values[0] = (char *) p->pmcf->events.window.data;
    q->handler = ngx_prefs_webhook_pump_swept;
    q->data = p;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_webhook_pump_swept(ngx_prefs_db_query_t *q)
{
    ngx_prefs_webhook_pump_t  *p = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_log_error(NGX_LOG_WARN, p->log, 0,
                      "prefs webhooks: cannot delete expired deliveries: %s",
                      q->error);
    }

    ngx_destroy_pool(p->sweep_pool);
    p->sweep_pool = NULL;
}
