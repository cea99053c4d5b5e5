
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Consent at the edge (docs/edge.md): in a location with "prefs_edge", the
 * visitor is the profile of a signed link token (the "edge" or
 * "preferences:read" scope) that the request carries in a cookie, header
 * or argument; its consents and opt-ins become variables
 * ($prefs_consent_*, $prefs_optin_*, $prefs_profile_id,
 * $prefs_profile_locale), and prefs_require_consent/prefs_require_optin
 * check them in the access phase.
 *
 * The visitor is found in the rewrite phase (so that "if" and "set" of
 * the location see the variables): the token is checked on the worker's
 * copy of the account's link state (src/http/ngx_prefs_link.c), and the
 * profile's state comes from the worker's cache (src/lib/prefs_edge.c).
 * On a miss, one query (prefs_edge_state, which answers the link state
 * too) is posted to the location's pool and the request waits for it
 * without blocking the worker, then goes on through the phases.
 *
 * A cached profile is current until the helper relays a change of it
 * (NOTIFY prefs_edge, src/helper/ngx_prefs_config_relay.c) or, with no
 * helper listening, for a second; when the database cannot answer, what
 * was cached serves for prefs_edge_stale_time, then the visitor is
 * unknown.  Anything wrong with the token makes an unknown visitor, never
 * another profile.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_edge.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_link.h"
#include "prefs_edge.h"


/* a cached profile is asked again after this long whatever was relayed */
#define NGX_PREFS_EDGE_MAX_AGE   60000


typedef struct {
    ngx_uint_t                 waiting;
    ngx_uint_t                 submitting;

    ngx_str_t                  token;
    ngx_str_t                  key;            /* of the link state */
    prefs_link_t               link;
    u_char                     profile[NGX_INT64_LEN + 1];
    size_t                     profile_len;
    uint64_t                   stamp[PREFS_EDGE_STAMPS];

    ngx_str_t                  state;          /* data NULL: unknown */
} ngx_prefs_edge_ctx_t;


static ngx_uint_t ngx_prefs_edge_name_char(u_char ch, ngx_uint_t first);
static char *ngx_prefs_edge_merge_error(ngx_conf_t *cf, const char *message);
static ngx_int_t ngx_prefs_edge_rewrite(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_edge_resolve(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx, ngx_http_prefs_loc_conf_t *plcf);
static void ngx_prefs_edge_loaded(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_edge_store(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx, ngx_prefs_db_query_t *q);
static void ngx_prefs_edge_stale(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx);
static ngx_uint_t ngx_prefs_edge_holds(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx, ngx_prefs_link_state_t *st,
    prefs_edge_entry_t *e);
static ngx_int_t ngx_prefs_edge_use(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx, prefs_edge_entry_t *e);
static void ngx_prefs_edge_stamps(ngx_http_prefs_main_conf_t *pmcf,
    int64_t account_id, int64_t profile_id, uint64_t *stamp);
static ngx_uint_t ngx_prefs_edge_fresh(ngx_http_prefs_main_conf_t *pmcf,
    prefs_edge_entry_t *e);
static prefs_edge_cache_t *ngx_prefs_edge_cache(
    ngx_http_prefs_main_conf_t *pmcf);
static ngx_prefs_edge_ctx_t *ngx_prefs_edge_visitor(ngx_http_request_t *r,
    ngx_uint_t *edge);
static void ngx_prefs_edge_value(ngx_http_variable_value_t *v, u_char *data,
    size_t len);
static ngx_int_t ngx_prefs_edge_access(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_edge_refuse(ngx_http_request_t *r,
    ngx_prefs_edge_ctx_t *ctx, ngx_http_prefs_loc_conf_t *plcf,
    ngx_prefs_conf_edge_require_t *req);


static prefs_edge_cache_t  ngx_prefs_edge_profiles;


static ngx_uint_t
ngx_prefs_edge_name_char(u_char ch, ngx_uint_t first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9')
           || (!first && (ch == '_' || ch == '.' || ch == '-'));
}


static char *
ngx_prefs_edge_merge_error(ngx_conf_t *cf, const char *message)
{
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%s", message);

    return NGX_CONF_ERROR;
}


/* prefs_edge <clientId> <token>: the token a complex value */

char *
ngx_prefs_edge_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_loc_conf_t *plcf = conf;

    u_char                            *p;
    ngx_str_t                         *value;
    ngx_http_prefs_main_conf_t        *pmcf;
    ngx_http_compile_complex_value_t   ccv;

    if (plcf->edge_client_id.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!ngx_prefs_edge_name_char(*p, p == value[1].data)) {
            return "takes a clientId of [A-Za-z0-9_.-] first";
        }
    }

    if (value[1].len == 0 || value[1].len > 64) {
        return "takes a clientId of 1 to 64 characters first";
    }

    plcf->edge_token = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (plcf->edge_token == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = plcf->edge_token;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* configuration tokens are NUL-terminated: a query parameter as is */
    plcf->edge_client_id = value[1];

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);
    pmcf->edge.used = 1;
    pmcf->auth.needs_key = 1;        /* link keys are sealed */

    return NGX_CONF_OK;
}


/*
 * prefs_require_consent <ConsentType> [Granted|Denied|Revoked|NotSet ...]
 * prefs_require_optin <FilterId>
 */

char *
ngx_prefs_edge_require_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_loc_conf_t *plcf = conf;

    u_char                         *p;
    ngx_int_t                       status;
    ngx_str_t                      *value;
    ngx_uint_t                      i;
    ngx_prefs_conf_edge_require_t  *req;

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!ngx_prefs_edge_name_char(*p, 0) || *p == '.' || *p == '-') {
            return "takes a name of [A-Za-z0-9_], as nginx variables have";
        }
    }

    if (value[1].len == 0 || value[1].len > 64) {
        return "takes a name of 1 to 64 characters";
    }

    if (plcf->edge_require == NGX_CONF_UNSET_PTR) {
        plcf->edge_require = ngx_array_create(cf->pool, 2,
                                 sizeof(ngx_prefs_conf_edge_require_t));
        if (plcf->edge_require == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    req = ngx_array_push(plcf->edge_require);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }

    req->name = value[1];
    req->optin = (cmd->name.data[sizeof("prefs_require_") - 1] == 'o');
    req->statuses = 0;

    for (i = 2; i < cf->args->nelts; i++) {
        status = prefs_edge_consent_status((char *) value[i].data,
                                           value[i].len);
        if (status == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid consent status \"%V\": Granted, "
                               "Denied, Revoked or NotSet", &value[i]);
            return NGX_CONF_ERROR;
        }

        req->statuses |= 1 << status;
    }

    if (req->statuses == 0) {
        req->statuses = 1 << 1;      /* Granted */
    }

    return NGX_CONF_OK;
}


char *
ngx_prefs_edge_merge(ngx_conf_t *cf, ngx_http_prefs_loc_conf_t *prev,
    ngx_http_prefs_loc_conf_t *conf)
{
    /* an API location inside a prefs_edge server is an API location */

    if (conf->edge_client_id.data == NULL
        && conf->api == NGX_HTTP_PREFS_API_NONE)
    {
        conf->edge_client_id = prev->edge_client_id;
        conf->edge_token = prev->edge_token;
    }

    ngx_conf_merge_ptr_value(conf->edge_require, prev->edge_require, NULL);
    ngx_conf_merge_uint_value(conf->edge_unknown, prev->edge_unknown,
                              NGX_PREFS_EDGE_ALLOW);
    ngx_conf_merge_str_value(conf->edge_redirect, prev->edge_redirect, "");

    if (conf->edge_client_id.data == NULL) {
        if (conf->edge_require) {
            return ngx_prefs_edge_merge_error(cf,
                       "\"prefs_require_consent\" and "
                       "\"prefs_require_optin\" need \"prefs_edge\"");
        }

        return NGX_CONF_OK;
    }

    if (conf->api != NGX_HTTP_PREFS_API_NONE) {
        return ngx_prefs_edge_merge_error(cf,
                   "\"prefs_edge\" is for proxied locations, not an API's");
    }

    if (conf->edge_unknown == NGX_PREFS_EDGE_REDIRECT
        && conf->edge_redirect.len == 0)
    {
        return ngx_prefs_edge_merge_error(cf,
                   "\"prefs_edge_unknown redirect\" needs "
                   "\"prefs_edge_redirect\"");
    }

    if (conf->db.conninfo.data == NULL) {
        return ngx_prefs_edge_merge_error(cf,
                   "\"prefs_edge\" needs \"prefs_database\"");
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_prefs_edge_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_prefs_module);

    if (!pmcf->edge.used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * A module's rewrite handler added after the rewrite module's runs
     * before it: the location's "if" and "set" see the visitor.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_prefs_edge_rewrite;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_prefs_edge_access;

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_edge_rewrite(ngx_http_request_t *r)
{
    ngx_prefs_edge_ctx_t       *ctx;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->edge_client_id.data == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (ctx) {
        /* NGX_DONE: still waiting for the database, the phase suspends */
        return ctx->waiting ? NGX_DONE : NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_edge_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);

    return ngx_prefs_edge_resolve(r, ctx, plcf);
}


static ngx_int_t
ngx_prefs_edge_resolve(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx,
    ngx_http_prefs_loc_conf_t *plcf)
{
    ngx_uint_t                   fresh;
    prefs_edge_entry_t          *e;
    prefs_edge_cache_t          *cache;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_link_state_t      *st;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (ngx_http_complex_value(r, plcf->edge_token, &ctx->token) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* no token, or not one: an unknown visitor, nothing asked */

    if (ctx->token.len == 0
        || ctx->token.len > PREFS_LINK_TOKEN_MAX
        || !prefs_link_is_token((char *) ctx->token.data, ctx->token.len)
        || prefs_link_parse((char *) ctx->token.data, ctx->token.len,
                            &ctx->link)
           != PREFS_LINK_OK
        || !(ctx->link.scopes & (PREFS_LINK_EDGE
                                 | PREFS_LINK_PREFERENCES_READ)))
    {
        if (ctx->token.len) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "prefs edge: a token that is not an edge link: "
                          "unknown visitor");
        }

        return NGX_DECLINED;
    }

    ctx->profile_len = ngx_sprintf(ctx->profile, "%L", ctx->link.profile_id)
                       - ctx->profile;
    ctx->profile[ctx->profile_len] = '\0';

    if (ngx_prefs_link_state_key(r, plcf->pool, &plcf->edge_client_id,
                                 &ctx->key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st = ngx_prefs_link_state_find(&ctx->key, &fresh);
    cache = ngx_prefs_edge_cache(pmcf);

    if (st && fresh) {
        /* the entry of the profile the token claims: checked next */
        e = cache ? prefs_edge_cache_get(cache, ctx->link.account_id,
                                         ctx->link.profile_id)
                  : NULL;

        if (!ngx_prefs_edge_holds(r, ctx, st, e)) {
            return NGX_DECLINED;
        }

        if (e && ngx_prefs_edge_fresh(pmcf, e)) {
            return ngx_prefs_edge_use(r, ctx, e);
        }
    }

    /* one query answers both the link state and the profile */

    q = ngx_prefs_db_query_create(r->pool, plcf->pool,
                                  NGX_PREFS_STMT_EDGE_STATE,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[0] = (char *) plcf->edge_client_id.data;
    q->values[1] = (char *) ctx->profile;
    q->handler = ngx_prefs_edge_loaded;
    q->data = r;
    q->wait.log = r->connection->log;

    if (ngx_prefs_db_query_cleanup(r->pool, q) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* before the answer: a change meanwhile leaves it stale */
    ngx_prefs_edge_stamps(pmcf, ctx->link.account_id, ctx->link.profile_id,
                          ctx->stamp);

    ctx->waiting = 1;
    ctx->submitting = 1;

    ngx_prefs_db_submit(q);

    ctx->submitting = 0;

    /* answered at once (the pool's queue is full): go on now */
    return ctx->waiting ? NGX_DONE : NGX_DECLINED;
}


static void
ngx_prefs_edge_loaded(ngx_prefs_db_query_t *q)
{
    ngx_http_request_t    *r = q->data;
    ngx_connection_t      *c;
    ngx_prefs_edge_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_edge_stale(r, ctx);

    } else if (PQntuples(q->res) != 1) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "prefs edge: no active account has the clientId "
                      "of this location: unknown visitor");

    } else if (ngx_prefs_edge_store(r, ctx, q) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "prefs edge: the state of profile %s could not be "
                      "kept: unknown visitor", ctx->profile);
    }

    ctx->waiting = 0;

    if (ctx->submitting) {
        return;
    }

    /* the request may be finished, and freed, by the phases */
    c = r->connection;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* the answer: the account's link state, then the profile's */

static ngx_int_t
ngx_prefs_edge_store(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx,
    ngx_prefs_db_query_t *q)
{
    ngx_uint_t                   i;
    prefs_edge_entry_t          *e;
    prefs_edge_cache_t          *cache;
    ngx_prefs_link_state_t      *st;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    st = ngx_prefs_link_state_load(r, &ctx->key, q);

    if (st == NULL) {
        return NGX_ERROR;
    }

    if (!ngx_prefs_edge_holds(r, ctx, st, NULL)) {
        return NGX_DECLINED;
    }

    if (ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_STATE)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs edge: profile %s is no more: unknown visitor",
                      ctx->profile);
        return NGX_DECLINED;
    }

    cache = ngx_prefs_edge_cache(pmcf);
    if (cache == NULL) {
        return NGX_ERROR;
    }

    e = prefs_edge_cache_put(cache, ctx->link.account_id,
                             ctx->link.profile_id,
                             ngx_prefs_db_value(q, 0, NGX_PREFS_COL_STATE),
                             ngx_prefs_db_length(q, 0, NGX_PREFS_COL_STATE));
    if (e == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < PREFS_EDGE_STAMPS; i++) {
        e->stamp[i] = ctx->stamp[i];
    }

    prefs_edge_entry_token_set(e, (char *) ctx->token.data, ctx->token.len);

    e->loaded = ngx_current_msec;

    return ngx_prefs_edge_use(r, ctx, e);
}


/*
 * The database did not answer: what the worker keeps serves while it is
 * younger than prefs_edge_stale_time, then the visitor is unknown.
 */

static void
ngx_prefs_edge_stale(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx)
{
    ngx_uint_t                   fresh;
    prefs_edge_entry_t          *e;
    ngx_prefs_link_state_t      *st;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    st = ngx_prefs_link_state_find(&ctx->key, &fresh);
    e = prefs_edge_cache_get(&ngx_prefs_edge_profiles, ctx->link.account_id,
                             ctx->link.profile_id);

    if (st && e
        && (ngx_msec_int_t) (ngx_current_msec - e->loaded)
           < (ngx_msec_int_t) pmcf->edge.stale_time
        && ngx_prefs_edge_holds(r, ctx, st, e))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "prefs edge: the database did not answer: profile %s "
                      "as kept %M ms ago", ctx->profile,
                      ngx_current_msec - e->loaded);
        (void) ngx_prefs_edge_use(r, ctx, e);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "prefs edge: the database did not answer and nothing "
                  "recent is kept of profile %s: unknown visitor",
                  ctx->profile);
}


/*
 * Whether the token holds under the account's link state.  The profile's
 * entry e (or NULL) remembers the last token text of the profile whose
 * signature was computed: the same text again is not computed again (its
 * key, expiry and revocations are checked all the same).
 */

static ngx_uint_t
ngx_prefs_edge_holds(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx,
    ngx_prefs_link_state_t *st, prefs_edge_entry_t *e)
{
    ngx_uint_t                       known;
    const ngx_prefs_link_verdict_t  *v;

    known = e && prefs_edge_entry_token_is(e, (char *) ctx->token.data,
                                           ctx->token.len);

    v = ngx_prefs_link_state_check(st, &ctx->link, &ctx->token, known);

    if (v) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "prefs edge: a token refused: %s: unknown visitor",
                      v->why);
        return 0;
    }

    if (e && !known) {
        prefs_edge_entry_token_set(e, (char *) ctx->token.data,
                                   ctx->token.len);
    }

    return 1;
}


/* the request's own copy: the entry may go before the request ends */

static ngx_int_t
ngx_prefs_edge_use(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx,
    prefs_edge_entry_t *e)
{
    ctx->state.data = ngx_pnalloc(r->pool, e->len + 1);
    if (ctx->state.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->state.data, e->state, e->len + 1);
    ctx->state.len = e->len;

    return NGX_DECLINED;
}


static void
ngx_prefs_edge_stamps(ngx_http_prefs_main_conf_t *pmcf, int64_t account_id,
    int64_t profile_id, uint64_t *stamp)
{
    ngx_prefs_shm_t  *sh = pmcf->sh;

    if (sh == NULL) {
        ngx_memzero(stamp, PREFS_EDGE_STAMPS * sizeof(uint64_t));
        return;
    }

    stamp[0] = sh->edge_gen[prefs_edge_mix(account_id, profile_id)
                            % NGX_PREFS_SHM_EDGE_GENS];
    stamp[1] = sh->edge_account_gen[account_id % NGX_PREFS_SHM_CONFIG_GENS];
    stamp[2] = sh->config_gen[account_id % NGX_PREFS_SHM_CONFIG_GENS];
    stamp[3] = sh->config_epoch;
}


/*
 * Current while neither the profile's nor the account's counters moved
 * and the helper listens (else for a second, as configuration is), and
 * never past NGX_PREFS_EDGE_MAX_AGE: a consent may expire meanwhile.
 */

static ngx_uint_t
ngx_prefs_edge_fresh(ngx_http_prefs_main_conf_t *pmcf, prefs_edge_entry_t *e)
{
    uint64_t  now[PREFS_EDGE_STAMPS];

    if ((ngx_msec_int_t) (ngx_current_msec - e->loaded)
        >= NGX_PREFS_EDGE_MAX_AGE)
    {
        return 0;
    }

    ngx_prefs_edge_stamps(pmcf, e->account_id, e->profile_id, now);

    if (now[0] != e->stamp[0] || now[1] != e->stamp[1]) {
        return 0;
    }

    return ngx_prefs_shm_config_fresh(pmcf->sh, e->account_id,
                                      (ngx_atomic_uint_t) e->stamp[2],
                                      (ngx_atomic_uint_t) e->stamp[3],
                                      (ngx_msec_t) e->loaded);
}


static prefs_edge_cache_t *
ngx_prefs_edge_cache(ngx_http_prefs_main_conf_t *pmcf)
{
    if (ngx_prefs_edge_profiles.buckets == NULL
        && prefs_edge_cache_init(&ngx_prefs_edge_profiles,
                                 pmcf->edge.cache_size)
           != PREFS_EDGE_OK)
    {
        return NULL;
    }

    return &ngx_prefs_edge_profiles;
}


static ngx_int_t
ngx_prefs_edge_access(ngx_http_request_t *r)
{
    size_t                          len;
    ngx_uint_t                      i;
    const char                     *value;
    ngx_prefs_edge_ctx_t           *ctx;
    ngx_http_prefs_loc_conf_t      *plcf;
    ngx_prefs_conf_edge_require_t  *req;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->edge_require == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_prefs_edge_visitor(r, NULL);
    req = plcf->edge_require->elts;

    if (ctx == NULL) {

        switch (plcf->edge_unknown) {

        case NGX_PREFS_EDGE_ALLOW:
            return NGX_DECLINED;

        case NGX_PREFS_EDGE_DENY:
            return ngx_prefs_edge_refuse(r, ctx, plcf, NULL);

        default: /* NGX_PREFS_EDGE_REDIRECT */
            return ngx_prefs_edge_refuse(r, ctx, plcf, &req[0]);
        }
    }

    for (i = 0; i < plcf->edge_require->nelts; i++) {

        if (prefs_edge_state_get((char *) ctx->state.data, ctx->state.len,
                                 req[i].optin ? PREFS_EDGE_OPTINS
                                              : PREFS_EDGE_CONSENTS,
                                 (char *) req[i].name.data, req[i].name.len,
                                 &value, &len)
            != PREFS_EDGE_OK)
        {
            /* a consent never recorded is NotSet; a filter, not opted in */
            value = req[i].optin ? "0" : "4";
            len = 1;
        }

        if (req[i].optin ? value[0] != '1'
                         : !(req[i].statuses & (1 << (value[0] - '0'))))
        {
            return ngx_prefs_edge_refuse(r, ctx, plcf, &req[i]);
        }
    }

    return NGX_DECLINED;
}


/*
 * 403 with the module's JSON error, or with prefs_edge_redirect a 302 to
 * the preference-center page: ?c=clientId[&p=profile] and optin=FilterId
 * or consent=ConsentType, which the page highlights ("f" is the page's
 * one-click opt-out: not that).
 */

static ngx_int_t
ngx_prefs_edge_refuse(ngx_http_request_t *r, ngx_prefs_edge_ctx_t *ctx,
    ngx_http_prefs_loc_conf_t *plcf, ngx_prefs_conf_edge_require_t *req)
{
    u_char           *p;
    size_t            len;
    ngx_int_t         rc;
    ngx_uint_t        known;
    ngx_table_elt_t  *location;

    known = (ctx && ctx->state.data);

    if (plcf->edge_redirect.len && req) {
        len = plcf->edge_redirect.len + sizeof("?c=") - 1
              + plcf->edge_client_id.len
              + sizeof("&p=") - 1 + NGX_INT64_LEN
              + sizeof("&consent=") - 1 + req->name.len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        location = ngx_list_push(&r->headers_out.headers);
        if (location == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        location->hash = 1;
        ngx_str_set(&location->key, "Location");
        location->value.data = p;

        p = ngx_cpymem(p, plcf->edge_redirect.data, plcf->edge_redirect.len);
        *p++ = ngx_strlchr(plcf->edge_redirect.data,
                           plcf->edge_redirect.data + plcf->edge_redirect.len,
                           '?')
               ? '&' : '?';
        p = ngx_sprintf(p, "c=%V", &plcf->edge_client_id);

        if (known) {
            p = ngx_sprintf(p, "&p=%s", ctx->profile);
        }

        p = ngx_sprintf(p, req->optin ? "&optin=%V" : "&consent=%V",
                        &req->name);

        location->value.len = p - location->value.data;

        ngx_http_clear_location(r);
        r->headers_out.location = location;

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!known) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                  "This requires a known visitor");

    } else if (req->optin) {
        rc = ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                  "This requires the opt-in \"%V\"",
                                  &req->name);

    } else {
        rc = ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                  "This requires the consent \"%V\"",
                                  &req->name);
    }

    /* answered here: the access phase must not go on to the content */
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * $prefs_consent_<ConsentType>, $prefs_optin_<FilterId> (data: the
 * variable's name, lowercased by nginx), $prefs_profile_locale (data 0).
 */

ngx_int_t
ngx_prefs_edge_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    int                    field;
    size_t                 len, skip;
    const char            *value, *text;
    ngx_prefs_edge_ctx_t  *ctx;

    ctx = ngx_prefs_edge_visitor(r, NULL);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* $prefs_profile_locale has no name: nginx names prefix variables */

    if (name == NULL) {
        field = PREFS_EDGE_LOCALE;
        skip = 0;

    } else if (name->len > sizeof("prefs_consent_") - 1
        && ngx_strncmp(name->data, "prefs_consent_",
                       sizeof("prefs_consent_") - 1) == 0)
    {
        field = PREFS_EDGE_CONSENTS;
        skip = sizeof("prefs_consent_") - 1;

    } else if (name->len > sizeof("prefs_optin_") - 1
               && ngx_strncmp(name->data, "prefs_optin_",
                              sizeof("prefs_optin_") - 1) == 0)
    {
        field = PREFS_EDGE_OPTINS;
        skip = sizeof("prefs_optin_") - 1;

    } else {
        v->not_found = 1;
        return NGX_OK;
    }

    if (prefs_edge_state_get((char *) ctx->state.data, ctx->state.len, field,
                             name ? (char *) name->data + skip : NULL,
                             name ? name->len - skip : 0, &value, &len)
        != PREFS_EDGE_OK)
    {
        if (field == PREFS_EDGE_LOCALE) {
            v->not_found = 1;
            return NGX_OK;
        }

        /* a known visitor who never chose: NotSet, or not opted in */
        value = (field == PREFS_EDGE_CONSENTS) ? "4" : "0";
        len = 1;
    }

    if (field == PREFS_EDGE_CONSENTS) {
        text = prefs_edge_consent_name(value, len);
        value = text;
        len = ngx_strlen(text);
    }

    ngx_prefs_edge_value(v, (u_char *) value, len);

    return NGX_OK;
}


ngx_int_t
ngx_prefs_edge_profile_id(ngx_http_request_t *r, ngx_http_variable_value_t *v)
{
    ngx_uint_t             edge;
    ngx_prefs_edge_ctx_t  *ctx;

    ctx = ngx_prefs_edge_visitor(r, &edge);

    if (!edge) {
        return NGX_DECLINED;
    }

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_prefs_edge_value(v, ctx->profile, ctx->profile_len);

    return NGX_OK;
}


/*
 * The known visitor of a prefs_edge location, or NULL (*edge: whether the
 * location is one; elsewhere the module's context is an API request's).
 */

static ngx_prefs_edge_ctx_t *
ngx_prefs_edge_visitor(ngx_http_request_t *r, ngx_uint_t *edge)
{
    ngx_prefs_edge_ctx_t       *ctx;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (edge) {
        *edge = (plcf->edge_client_id.data != NULL);
    }

    if (plcf->edge_client_id.data == NULL) {
        return NULL;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    return (ctx && ctx->state.data) ? ctx : NULL;
}



/* (ngx_prefs_vars.c has its own: it includes this file's header) */

static void
ngx_prefs_edge_value(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}
