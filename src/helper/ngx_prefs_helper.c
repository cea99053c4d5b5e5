
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The helper process and its job loop.
 *
 * Stock nginx gives a dynamic module a process of its own through the path
 * manager hook: a path registered with a manager callback makes the master
 * spawn a "cache manager" process, respawned when it dies, that runs every
 * module's init_process and then calls the manager periodically on a full
 * event loop.  The first call starts the job loop.  Under "master_process
 * off" there is no such process, so the same loop runs in the single one.
 *
 * Jobs are rows in prefs_job.  A runner per database claims them in batches
 * (FOR UPDATE SKIP LOCKED, with a lease), runs them, and reports each
 * outcome with the lease token it was given: a job whose lease expired and
 * was claimed again is finished only by its newest holder.  LISTEN on
 * "prefs_job" wakes the runner at once; a timer covers lost notifications.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_prefs_helper.h"
#include "ngx_prefs_config_relay.h"
#include "ngx_prefs_webhook_pump.h"
#include "ngx_prefs_partitions.h"


#define NGX_PREFS_HELPER_HEARTBEAT    1000
#define NGX_PREFS_HELPER_BEAT         500
#define NGX_PREFS_HELPER_FINISH_RETRY 1000
#define NGX_PREFS_HELPER_RETRY_SLACK  50

#define NGX_PREFS_JOB_PENDING  0
#define NGX_PREFS_JOB_DONE     1
#define NGX_PREFS_JOB_FAILED   2


typedef struct {
    ngx_prefs_db_pool_t          *pool;
    ngx_http_prefs_main_conf_t   *pmcf;
    ngx_log_t                    *log;

    ngx_event_t                   poll;
    ngx_prefs_db_query_t         *claim;
    ngx_pool_t                   *claim_pool;
    ngx_event_t                   renew;
    ngx_pool_t                   *renew_pool;
    ngx_event_t                   beat;
    ngx_prefs_partitions_t       *partitions;
    ngx_queue_t                   jobs;
    ngx_uint_t                    running;
    ngx_prefs_webhook_pump_t     *webhooks;
    unsigned                      claiming:1;
    unsigned                      poll_again:1;

    char                          owner[NGX_MAXHOSTNAMELEN + 32];
    char                          lease[32];
    char                          limit[NGX_INT_T_LEN + 1];
} ngx_prefs_helper_runner_t;


static ngx_prefs_shm_slot_t *ngx_prefs_helper_slot(ngx_cycle_t *cycle);
static void ngx_prefs_helper_notify(void *data, const char *channel,
    const char *payload);
static void ngx_prefs_helper_runner_poll_handler(ngx_event_t *ev);
static void ngx_prefs_helper_runner_poll(ngx_prefs_helper_runner_t *rn);
static void ngx_prefs_helper_runner_wake(ngx_prefs_helper_runner_t *rn,
    ngx_msec_t after);
static void ngx_prefs_helper_runner_claimed(ngx_prefs_db_query_t *q);
static void ngx_prefs_helper_runner_start_job(ngx_prefs_helper_runner_t *rn,
    ngx_prefs_db_query_t *q, int row);
static void ngx_prefs_helper_runner_renew_handler(ngx_event_t *ev);
static void ngx_prefs_helper_runner_renewed(ngx_prefs_db_query_t *q);
static void ngx_prefs_helper_runner_beat_handler(ngx_event_t *ev);
static void ngx_prefs_helper_job_finish(ngx_prefs_helper_job_t *job);
static void ngx_prefs_helper_job_finished(ngx_prefs_db_query_t *q);
static void ngx_prefs_helper_job_retry_handler(ngx_event_t *ev);
static void ngx_prefs_helper_job_free(ngx_prefs_helper_job_t *job);
static void ngx_prefs_helper_report(void);


/* of ngx_prefs_helper_runner_t */
static ngx_array_t   *ngx_prefs_helper_runners;
static ngx_cycle_t   *ngx_prefs_helper_cycle;


ngx_msec_t
ngx_prefs_helper_manager(void *data)
{
    ngx_http_prefs_main_conf_t  *pmcf = data;

    if (ngx_prefs_helper_runners == NULL) {
        if (ngx_prefs_helper_start((ngx_cycle_t *) ngx_cycle, pmcf)
            != NGX_OK)
        {
            /* only memory can fail here: try again at the next beat */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "prefs helper: cannot start the job loop");
            ngx_prefs_helper_runners = NULL;
            return NGX_PREFS_HELPER_HEARTBEAT;
        }
    }

    ngx_prefs_helper_report();

    return NGX_PREFS_HELPER_HEARTBEAT;
}


ngx_int_t
ngx_prefs_helper_start(ngx_cycle_t *cycle, ngx_http_prefs_main_conf_t *pmcf)
{
    u_char                     *p;
    ngx_uint_t                  i, j;
    ngx_prefs_helper_runner_t  *rn;
    ngx_prefs_db_pool_t       **pools;
    ngx_prefs_db_conf_t        *a, *b;
    ngx_prefs_shm_slot_t       *slot;

    ngx_prefs_helper_cycle = cycle;

    ngx_prefs_helper_runners =
        ngx_array_create(cycle->pool, pmcf->pools.nelts,
                         sizeof(ngx_prefs_helper_runner_t));
    if (ngx_prefs_helper_runners == NULL) {
        return NGX_ERROR;
    }

    slot = ngx_prefs_helper_slot(cycle);
    if (slot) {
        ngx_memzero(slot, sizeof(ngx_prefs_shm_slot_t));
        slot->pid = ngx_pid;
        slot->started = ngx_time();
        slot->kind = (ngx_process == NGX_PROCESS_HELPER) ? 1 : 2;
    }

    pools = pmcf->pools.elts;

    for (i = 0; i < pmcf->pools.nelts; i++) {

        /* one runner per database, however many pools use it */

        a = ngx_prefs_db_pool_conf(pools[i]);

        for (j = 0; j < i; j++) {
            b = ngx_prefs_db_pool_conf(pools[j]);

            if (a->conninfo.len == b->conninfo.len
                && ngx_strcmp(a->conninfo.data, b->conninfo.data) == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        rn = ngx_array_push(ngx_prefs_helper_runners);
        if (rn == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(rn, sizeof(ngx_prefs_helper_runner_t));

        rn->pool = pools[i];
        rn->pmcf = pmcf;
        rn->log = cycle->log;
        ngx_queue_init(&rn->jobs);

        rn->poll.handler = ngx_prefs_helper_runner_poll_handler;
        rn->poll.data = rn;
        rn->poll.log = cycle->log;
        rn->poll.cancelable = 1;

        rn->renew.handler = ngx_prefs_helper_runner_renew_handler;
        rn->renew.data = rn;
        rn->renew.log = cycle->log;
        rn->renew.cancelable = 1;

        rn->beat.handler = ngx_prefs_helper_runner_beat_handler;
        rn->beat.data = rn;
        rn->beat.log = cycle->log;
        rn->beat.cancelable = 1;

        p = ngx_snprintf((u_char *) rn->owner, sizeof(rn->owner) - 1,
                         "%V:%P", &cycle->hostname, ngx_pid);
        *p = '\0';

        p = ngx_snprintf((u_char *) rn->lease, sizeof(rn->lease) - 1,
                         "%M milliseconds", pmcf->helper.job_lease);
        *p = '\0';

        p = ngx_snprintf((u_char *) rn->limit, sizeof(rn->limit) - 1,
                         "%ui", pmcf->helper.jobs);
        *p = '\0';

        rn->webhooks = ngx_prefs_webhook_pump_create(cycle, pmcf, rn->pool,
                                                     rn->owner);
        if (rn->webhooks == NULL) {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "prefs helper: job loop started as \"%s\"", rn->owner);
    }

    /* the array does not move from here on */

    rn = ngx_prefs_helper_runners->elts;

    for (i = 0; i < ngx_prefs_helper_runners->nelts; i++) {
        if (ngx_prefs_db_listen(rn[i].pool, "prefs_job, prefs_config, "
                                "prefs_event, prefs_webhook, prefs_edge",
                                ngx_prefs_helper_notify, &rn[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_prefs_helper_runner_poll(&rn[i]);
        ngx_add_timer(&rn[i].beat, NGX_PREFS_HELPER_BEAT);

        rn[i].partitions = ngx_prefs_partitions_start(cycle, rn[i].pool,
                                                      pmcf);
        if (rn[i].partitions == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_prefs_helper_stop(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_queue_t                *qh;
    ngx_prefs_helper_job_t     *job;
    ngx_prefs_helper_runner_t  *rn;

    ngx_array_t         *runners;

    if (ngx_prefs_helper_runners == NULL) {
        return;
    }

    /*
     * Jobs in progress are dropped, not finished: their leases expire and
     * another helper takes them.
     */

    runners = ngx_prefs_helper_runners;
    ngx_prefs_helper_runners = NULL;

    rn = runners->elts;

    for (i = 0; i < runners->nelts; i++) {

        if (rn[i].poll.timer_set) {
            ngx_del_timer(&rn[i].poll);
        }

        if (rn[i].renew.timer_set) {
            ngx_del_timer(&rn[i].renew);
        }

        if (rn[i].beat.timer_set) {
            ngx_del_timer(&rn[i].beat);
        }

        ngx_prefs_webhook_pump_stop(rn[i].webhooks);
        ngx_prefs_partitions_stop(rn[i].partitions);
        rn[i].partitions = NULL;

        if (rn[i].renew_pool) {
            ngx_destroy_pool(rn[i].renew_pool);
            rn[i].renew_pool = NULL;
        }

        if (rn[i].claim_pool) {
            ngx_destroy_pool(rn[i].claim_pool);
            rn[i].claim_pool = NULL;
        }

        while (!ngx_queue_empty(&rn[i].jobs)) {
            qh = ngx_queue_head(&rn[i].jobs);
            job = ngx_queue_data(qh, ngx_prefs_helper_job_t, queue);
            ngx_prefs_helper_job_free(job);
        }
    }
}


static void
ngx_prefs_helper_notify(void *data, const char *channel, const char *payload)
{
    ngx_prefs_helper_runner_t  *rn = data;

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, rn->log, 0,
                   "prefs helper: notified on %s of %s",
                   channel ? channel : "-", payload ? payload : "-");

    if (channel == NULL) {
        /* listening (again): anything may have been missed meanwhile */
        ngx_prefs_config_relay_changed(rn->pmcf, NULL);
        ngx_prefs_config_relay_beat(rn->pmcf, 1);
        ngx_prefs_helper_runner_poll(rn);
        ngx_prefs_webhook_pump_notify(rn->webhooks, NULL);
        return;
    }

    if (ngx_strcmp(channel, "prefs_event") == 0
        || ngx_strcmp(channel, "prefs_webhook") == 0)
    {
        ngx_prefs_webhook_pump_notify(rn->webhooks, channel);
        return;
    }

    if (ngx_strcmp(channel, "prefs_config") == 0) {
        ngx_prefs_config_relay_changed(rn->pmcf, payload);
        return;
    }

    if (ngx_strcmp(channel, "prefs_edge") == 0) {
        ngx_prefs_config_relay_edge(rn->pmcf, payload);
        return;
    }

    ngx_prefs_helper_runner_poll(rn);
}


static void
ngx_prefs_helper_runner_poll_handler(ngx_event_t *ev)
{
    ngx_prefs_helper_runner_poll(ev->data);
}


/*
 * Polls within "after" milliseconds: a job failed with a retry delay is
 * claimed again after that delay, not a whole poll interval later.
 */

static void
ngx_prefs_helper_runner_wake(ngx_prefs_helper_runner_t *rn, ngx_msec_t after)
{
    if (rn->poll.timer_set
        && (ngx_msec_int_t) (rn->poll.timer.key - ngx_current_msec)
           <= (ngx_msec_int_t) after)
    {
        return;
    }

    if (rn->poll.timer_set) {
        ngx_del_timer(&rn->poll);
    }

    ngx_add_timer(&rn->poll, after);
}


static void
ngx_prefs_helper_runner_poll(ngx_prefs_helper_runner_t *rn)
{
    ngx_prefs_db_query_t  *q;

    if (rn->poll.timer_set) {
        ngx_del_timer(&rn->poll);
    }

    ngx_add_timer(&rn->poll, rn->pmcf->helper.poll);

    ngx_prefs_helper_report();

    if (rn->claiming) {
        rn->poll_again = 1;
        return;
    }

    if (rn->running >= rn->pmcf->helper.jobs) {
        /* a finishing job polls again */
        return;
    }

    rn->poll_again = 0;

    rn->claim_pool = ngx_create_pool(1024, rn->log);
    if (rn->claim_pool == NULL) {
        return;
    }

    q = ngx_prefs_db_query_create(rn->claim_pool, rn->pool,
                                  NGX_PREFS_STMT_JOB_CLAIM, rn->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(rn->claim_pool, q) != NGX_OK) {
        ngx_destroy_pool(rn->claim_pool);
        rn->claim_pool = NULL;
        return;
    }

    *ngx_sprintf((u_char *) rn->limit, "%ui",
                 rn->pmcf->helper.jobs - rn->running) = '\0';

    q->values[0] = rn->owner;
    q->values[1] = rn->lease;
    q->values[2] = rn->limit;
    q->handler = ngx_prefs_helper_runner_claimed;
    q->data = rn;

    rn->claim = q;
    rn->claiming = 1;

    ngx_prefs_db_submit(q);
}


static void
ngx_prefs_helper_runner_claimed(ngx_prefs_db_query_t *q)
{
    int                         i, n;
    ngx_prefs_helper_runner_t  *rn = q->data;
    ngx_prefs_shm_slot_t       *slot;

    rn->claim = NULL;

    slot = ngx_prefs_helper_slot(ngx_prefs_helper_cycle);
    if (slot) {
        slot->last_poll = ngx_time();
    }

    n = 0;

    if (q->status == NGX_PREFS_DB_OK) {
        n = PQntuples(q->res);

        for (i = 0; i < n; i++) {
            ngx_prefs_helper_runner_start_job(rn, q, i);
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, rn->log, 0,
                      "prefs helper: cannot claim jobs: %s", q->error);
    }

    /* destroys q and its result */
    ngx_destroy_pool(rn->claim_pool);
    rn->claim_pool = NULL;
    rn->claiming = 0;

    /* a full batch means more may be waiting */

    if (rn->poll_again
        || (n > 0 && rn->running < rn->pmcf->helper.jobs))
    {
        ngx_prefs_helper_runner_poll(rn);
    }
}


static void
ngx_prefs_helper_runner_start_job(ngx_prefs_helper_runner_t *rn,
    ngx_prefs_db_query_t *q, int row)
{
    ngx_uint_t                          i;
    ngx_pool_t                         *pool;
    ngx_prefs_helper_job_t             *job;
    const ngx_prefs_helper_job_type_t  *t;

    pool = ngx_create_pool(2048, rn->log);
    if (pool == NULL) {
        return;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_prefs_helper_job_t));
    if (job == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    job->pool = pool;
    job->log = rn->log;
    job->runner = rn;
    job->db = rn->pool;
    job->pmcf = rn->pmcf;

#define ngx_prefs_job_field(f, col)                                           \
    f.len = ngx_prefs_db_length(q, row, col);                                 \
    f.data = ngx_pnalloc(pool, f.len + 1);                                    \
    if (f.data == NULL) {                                                     \
        ngx_destroy_pool(pool);                                               \
        return;                                                               \
    }                                                                         \
    ngx_memcpy(f.data, ngx_prefs_db_value(q, row, col), f.len);               \
    f.data[f.len] = '\0'

    ngx_prefs_job_field(job->id, NGX_PREFS_COL_JOB_ID);
    ngx_prefs_job_field(job->type, NGX_PREFS_COL_JOB_TYPE);
    ngx_prefs_job_field(job->payload, NGX_PREFS_COL_PAYLOAD);
    ngx_prefs_job_field(job->token, NGX_PREFS_COL_LEASE_TOKEN);
    ngx_prefs_job_field(job->attempt_text, NGX_PREFS_COL_ATTEMPT);

#undef ngx_prefs_job_field

    job->attempt = ngx_atoi(job->attempt_text.data, job->attempt_text.len);

    job->timer.log = rn->log;
    job->timer.data = job;
    job->timer.cancelable = 1;
    job->retry.log = rn->log;
    job->retry.data = job;
    job->retry.handler = ngx_prefs_helper_job_retry_handler;
    job->retry.cancelable = 1;

    ngx_queue_insert_tail(&rn->jobs, &job->queue);
    rn->running++;

    if (!rn->renew.timer_set) {
        ngx_add_timer(&rn->renew, rn->pmcf->helper.job_lease / 3);
    }

    ngx_log_error(NGX_LOG_INFO, rn->log, 0,
                  "prefs helper: job %V (%V) attempt %ui started",
                  &job->id, &job->type, job->attempt);

    for (i = 0; ngx_prefs_jobs_types[i].type; i++) {
        t = &ngx_prefs_jobs_types[i];

        if (ngx_strcmp(job->type.data, t->type) == 0) {
            t->run(job);
            return;
        }
    }

    ngx_prefs_helper_job_done(job, NULL, "unknown job type", 0);
}


void
ngx_prefs_helper_job_done(ngx_prefs_helper_job_t *job, const char *result,
    const char *error, ngx_msec_t retry_after)
{
    u_char                     *p;
    ngx_prefs_helper_runner_t  *rn = job->runner;
    ngx_prefs_db_query_t       *q;

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    job->outcome = error ? NGX_PREFS_JOB_FAILED : NGX_PREFS_JOB_DONE;

    q = ngx_prefs_db_query_create(job->pool, rn->pool,
                                  NGX_PREFS_STMT_JOB_FINISH, job->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(job->pool, q) != NGX_OK) {
        /* the lease runs out and the job is run again */
        ngx_prefs_helper_job_free(job);
        return;
    }

    q->values[0] = (char *) job->id.data;
    q->values[1] = (char *) job->token.data;
    q->values[2] = rn->owner;
    q->values[3] = (char *) job->attempt_text.data;
    q->values[4] = result;
    q->values[5] = error;

    if (error && retry_after) {
        p = ngx_pnalloc(job->pool, NGX_INT_T_LEN + sizeof(" milliseconds"));
        if (p == NULL) {
            ngx_prefs_helper_job_free(job);
            return;
        }

        *ngx_sprintf(p, "%M milliseconds", retry_after) = '\0';
        q->values[6] = (char *) p;
    }

    q->handler = ngx_prefs_helper_job_finished;
    q->data = job;
    job->finish = q;

    if (error) {
        ngx_log_error(NGX_LOG_WARN, job->log, 0,
                      "prefs helper: job %V (%V) attempt %ui failed: %s",
                      &job->id, &job->type, job->attempt, error);
    }

    job->retry_after = error ? retry_after : 0;

    ngx_prefs_helper_job_finish(job);
}


ngx_prefs_db_pool_t *
ngx_prefs_helper_job_db(ngx_prefs_helper_job_t *job)
{
    ngx_prefs_helper_runner_t  *rn = job->runner;

    return rn->pool;
}


ngx_http_prefs_main_conf_t *
ngx_prefs_helper_job_conf(ngx_prefs_helper_job_t *job)
{
    ngx_prefs_helper_runner_t  *rn = job->runner;

    return rn->pmcf;
}


static void
ngx_prefs_helper_job_finish(ngx_prefs_helper_job_t *job)
{
    ngx_prefs_db_submit(job->finish);
}


static void
ngx_prefs_helper_job_finished(ngx_prefs_db_query_t *q)
{
    ngx_msec_t                  retry;
    ngx_prefs_helper_job_t     *job = q->data;
    ngx_prefs_helper_runner_t  *rn;
    ngx_prefs_shm_slot_t       *slot;

    if (q->status == NGX_PREFS_DB_SQL_ERROR) {
        /* retrying cannot help: the lease runs out and the job runs again */
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "prefs helper: cannot record job %V, giving it up",
                      &job->id);
        ngx_prefs_helper_job_free(job);
        return;
    }

    if (q->status != NGX_PREFS_DB_OK) {
        /*
         * The database is out of reach: try again while the lease may still
         * be ours; past it, the database refuses the outcome as stale.
         */
        ngx_log_error(NGX_LOG_WARN, job->log, 0,
                      "prefs helper: cannot record job %V: %s, retrying",
                      &job->id, q->error);

        ngx_add_timer(&job->retry, NGX_PREFS_HELPER_FINISH_RETRY);
        return;
    }

    slot = ngx_prefs_helper_slot(ngx_prefs_helper_cycle);

    if (PQntuples(q->res) == 1
        && ngx_prefs_db_value(q, 0, NGX_PREFS_COL_FINISHED)[0] == 't')
    {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "prefs helper: job %V (%V) attempt %ui %s",
                      &job->id, &job->type, job->attempt,
                      job->outcome == NGX_PREFS_JOB_DONE ? "done" : "failed");
        if (slot) {
            if (job->outcome == NGX_PREFS_JOB_DONE) {
                slot->jobs_done++;

            } else {
                slot->jobs_failed++;
            }
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, job->log, 0,
                      "prefs helper: job %V attempt %ui outcome refused: "
                      "its lease had passed to another holder",
                      &job->id, job->attempt);
        if (slot) {
            slot->jobs_stale++;
        }
    }

    retry = (job->outcome == NGX_PREFS_JOB_FAILED) ? job->retry_after : 0;
    rn = job->runner;

    ngx_prefs_helper_job_free(job);

    if (retry) {
        /* after the free: a finishing job polls, and re-arms the timer */
        ngx_prefs_helper_runner_wake(rn, retry + NGX_PREFS_HELPER_RETRY_SLACK);
    }
}


static void
ngx_prefs_helper_job_retry_handler(ngx_event_t *ev)
{
    ngx_prefs_helper_job_finish(ev->data);
}


static void
ngx_prefs_helper_job_free(ngx_prefs_helper_job_t *job)
{
    ngx_prefs_helper_runner_t  *rn = job->runner;

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->retry.timer_set) {
        ngx_del_timer(&job->retry);
    }

    ngx_queue_remove(&job->queue);
    rn->running--;

    /* cancels the finish query, if any, through its cleanup */
    ngx_destroy_pool(job->pool);

    if (ngx_prefs_helper_runners && rn->running < rn->pmcf->helper.jobs
        && !rn->claiming)
    {
        ngx_prefs_helper_runner_poll(rn);
    }
}


/* tells the workers, twice a second, whether changes are being heard */

static void
ngx_prefs_helper_runner_beat_handler(ngx_event_t *ev)
{
    ngx_prefs_helper_report();

    if (ngx_prefs_helper_runners) {
        ngx_add_timer(ev, NGX_PREFS_HELPER_BEAT);
    }
}


/*
 * Jobs in progress keep their leases while this process lives: one update
 * a third of a lease renews all of them.  A killed helper renews nothing,
 * so its jobs pass to another after at most one lease.
 */

static void
ngx_prefs_helper_runner_renew_handler(ngx_event_t *ev)
{
    u_char                     *p;
    ngx_queue_t                *qh;
    ngx_prefs_helper_job_t     *job;
    ngx_prefs_helper_runner_t  *rn = ev->data;
    ngx_prefs_db_query_t       *q;

    if (rn->running == 0 || rn->renew_pool) {
        goto next;
    }

    rn->renew_pool = ngx_create_pool(512, rn->log);
    if (rn->renew_pool == NULL) {
        goto next;
    }

    q = ngx_prefs_db_query_create(rn->renew_pool, rn->pool,
                                  NGX_PREFS_STMT_JOB_RENEW, rn->log);
    if (q == NULL || ngx_prefs_db_query_cleanup(rn->renew_pool, q) != NGX_OK) {
        ngx_destroy_pool(rn->renew_pool);
        rn->renew_pool = NULL;
        goto next;
    }

    /* only the jobs still held: one given up is left to expire */

    p = ngx_pnalloc(rn->renew_pool, 3 + rn->running * (NGX_INT64_LEN + 1));
    if (p == NULL) {
        ngx_destroy_pool(rn->renew_pool);
        rn->renew_pool = NULL;
        goto next;
    }

    q->values[2] = (char *) p;
    *p++ = '{';

    for (qh = ngx_queue_head(&rn->jobs);
         qh != ngx_queue_sentinel(&rn->jobs);
         qh = ngx_queue_next(qh))
    {
        job = ngx_queue_data(qh, ngx_prefs_helper_job_t, queue);
        p = ngx_sprintf(p, "%s%V", p[-1] == '{' ? "" : ",", &job->id);
    }

    *p++ = '}';
    *p = '\0';

    q->values[0] = rn->owner;
    q->values[1] = rn->lease;
    q->handler = ngx_prefs_helper_runner_renewed;
    q->data = rn;

    ngx_prefs_db_submit(q);

next:

    if (rn->running && !ev->timer_set) {
        ngx_add_timer(ev, rn->pmcf->helper.job_lease / 3);
    }
}


static void
ngx_prefs_helper_runner_renewed(ngx_prefs_db_query_t *q)
{
    ngx_prefs_helper_runner_t  *rn = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_log_error(NGX_LOG_WARN, rn->log, 0,
                      "prefs helper: cannot renew job leases: %s", q->error);

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, rn->log, 0,
                       "prefs helper: renewed %s leases", PQcmdTuples(q->res));
    }

    ngx_destroy_pool(rn->renew_pool);
    rn->renew_pool = NULL;
}


static void
ngx_prefs_helper_report(void)
{
    ngx_uint_t                  i, running, listening;
    ngx_prefs_helper_runner_t  *rn;
    ngx_prefs_shm_slot_t       *slot;

    slot = ngx_prefs_helper_slot(ngx_prefs_helper_cycle);
    if (slot == NULL || ngx_prefs_helper_runners == NULL) {
        return;
    }

    running = 0;
    listening = 0;
    rn = ngx_prefs_helper_runners->elts;

    for (i = 0; i < ngx_prefs_helper_runners->nelts; i++) {
        running += rn[i].running;
        listening += ngx_prefs_db_listening(rn[i].pool) ? 1 : 0;
    }

    slot->jobs_running = running;
    slot->listening = listening;

    /* workers trust their configuration snapshots while this beats */
    ngx_prefs_config_relay_beat(rn->pmcf,
                                listening == ngx_prefs_helper_runners->nelts);

    if (ngx_process == NGX_PROCESS_HELPER) {
        ngx_prefs_db_stats(&rn->pmcf->pools, &slot->db);
    }
}


static ngx_prefs_shm_slot_t *
ngx_prefs_helper_slot(ngx_cycle_t *cycle)
{
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_prefs_module);

    return pmcf ? ngx_prefs_shm_slot(pmcf->sh, NGX_PREFS_SHM_HELPER_SLOT)
                : NULL;
}
