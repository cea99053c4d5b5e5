
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The module's nginx variables, and the route templates they and the
 * metrics name requests by.
 *
 * A template is a route's path after the clientId as the route table
 * writes it, each argument a "*" (a user's route is "/Users/" and a star):
 * it never holds a value a client sent.  The path-based variables can be
 * read in any phase: before the content handler has run (limit_req in the
 * preaccess phase, a map used there) they parse the path themselves, with
 * the router's own function, and match it against the same table; that
 * context is replaced by the router's when the content handler runs.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_edge.h"
#include "ngx_prefs_router.h"
#include "ngx_prefs_vars.h"


static ngx_int_t ngx_prefs_vars_client_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_prefs_vars_user(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_prefs_vars_route_name(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_prefs_vars_profile_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_prefs_api_ctx_t *ngx_prefs_vars_ctx(ngx_http_request_t *r);
static const ngx_prefs_api_route_t *ngx_prefs_vars_route(
    ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx);
static ngx_uint_t ngx_prefs_vars_profile_key(const char *segment);
static void ngx_prefs_vars_set(ngx_http_variable_value_t *v, u_char *data,
    size_t len);


static ngx_http_variable_t  ngx_prefs_vars_list[] = {

    { ngx_string("prefs_client_id"), NULL, ngx_prefs_vars_client_id, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("prefs_user"), NULL, ngx_prefs_vars_user, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("prefs_route"), NULL, ngx_prefs_vars_route_name, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("prefs_profile_id"), NULL, ngx_prefs_vars_profile_id, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* consent at the edge (src/http/ngx_prefs_edge.c) */

    { ngx_string("prefs_profile_locale"), NULL, ngx_prefs_edge_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("prefs_consent_"), NULL, ngx_prefs_edge_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("prefs_optin_"), NULL, ngx_prefs_edge_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    ngx_http_null_variable
};


/* segments before a route's argument that make it a profile's id */
static const char  *ngx_prefs_vars_profile_keys[] = {
    "Profile", "Consents", "CID", NULL
};


static const ngx_prefs_api_route_t  *ngx_prefs_vars_routes;
static ngx_str_t                    *ngx_prefs_vars_names;
static ngx_uint_t                    ngx_prefs_vars_ntemplates;
static uint16_t                     *ngx_prefs_vars_route_template;
static int8_t                       *ngx_prefs_vars_route_profile;


ngx_int_t
ngx_prefs_vars_add(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_prefs_vars_list; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_prefs_vars_init(ngx_conf_t *cf, const ngx_prefs_api_route_t *routes,
    ngx_uint_t max)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                    *name;
    ngx_uint_t                    n, i, j, t;
    const ngx_prefs_api_route_t  *rt;

    for (n = 0; routes[n].handler; n++) { /* void */ }

    ngx_prefs_vars_route_template = ngx_pcalloc(cf->pool,
                                                n * sizeof(uint16_t));
    ngx_prefs_vars_route_profile = ngx_pcalloc(cf->pool, n * sizeof(int8_t));
    ngx_prefs_vars_names = ngx_pcalloc(cf->pool, (n + 1) * sizeof(ngx_str_t));

    if (ngx_prefs_vars_route_template == NULL
        || ngx_prefs_vars_route_profile == NULL
        || ngx_prefs_vars_names == NULL)
    {
        return NGX_ERROR;
    }

    ngx_prefs_vars_routes = routes;
    ngx_str_set(&ngx_prefs_vars_names[0], "none");
    ngx_prefs_vars_ntemplates = 1;

    for (i = 0; i < n; i++) {
        rt = &routes[i];
        name = &ngx_prefs_vars_names[ngx_prefs_vars_ntemplates];

        /* the Integration API's templates start with "/Async" */

        len = 1 + sizeof("/Async") - 1;
        for (j = 0; rt->path[j]; j++) {
            len += 1 + ngx_strlen(rt->path[j]);
        }

        name->data = ngx_pnalloc(cf->pool, len);
        if (name->data == NULL) {
            return NGX_ERROR;
        }

        p = name->data;
        ngx_prefs_vars_route_profile[i] = -1;

        if (rt->apis & NGX_PREFS_API_IN_ASYNC) {
            p = ngx_cpymem(p, "/Async", sizeof("/Async") - 1);
        }

        for (j = 0; rt->path[j]; j++) {
            p = ngx_sprintf(p, "/%s", rt->path[j]);

            if (j > 0 && rt->path[j][0] == '*'
                && ngx_prefs_vars_route_profile[i] < 0
                && ngx_prefs_vars_profile_key(rt->path[j - 1]))
            {
                ngx_prefs_vars_route_profile[i] = (int8_t) j;
            }
        }

        if (p == name->data) {
            *p++ = '/';
        }

        name->len = p - name->data;

        /* a path served with several methods is one template */

        for (t = 1; t < ngx_prefs_vars_ntemplates; t++) {
            if (ngx_prefs_vars_names[t].len == name->len
                && ngx_strncmp(ngx_prefs_vars_names[t].data, name->data,
                               name->len)
                   == 0)
            {
                break;
            }
        }

        if (t == ngx_prefs_vars_ntemplates) {
            if (t == max) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "prefs: more than %ui route templates: "
                                   "raise NGX_PREFS_METRICS_ROUTES", max - 1);
                return NGX_ERROR;
            }

            ngx_prefs_vars_ntemplates++;
        }

        ngx_prefs_vars_route_template[i] = (uint16_t) t;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_prefs_vars_templates(void)
{
    return ngx_prefs_vars_ntemplates;
}


ngx_str_t *
ngx_prefs_vars_template_name(ngx_uint_t id)
{
    return &ngx_prefs_vars_names[id];
}


ngx_uint_t
ngx_prefs_vars_template(ngx_http_request_t *r)
{
    ngx_prefs_api_ctx_t          *ctx;
    const ngx_prefs_api_route_t  *rt;

    ctx = ngx_prefs_vars_ctx(r);
    if (ctx == NULL) {
        return 0;
    }

    rt = ngx_prefs_vars_route(r, ctx);

    return rt ? ngx_prefs_vars_route_template[rt - ngx_prefs_vars_routes] : 0;
}


static ngx_int_t
ngx_prefs_vars_client_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_prefs_vars_ctx(r);

    if (ctx == NULL || ctx->client_id.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_prefs_vars_set(v, ctx->client_id.data, ctx->client_id.len);

    return NGX_OK;
}


/* the authenticated user's id: set by the router's context only */

static ngx_int_t
ngx_prefs_vars_user(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_prefs_vars_ctx(r);

    if (ctx == NULL || ctx->user_id <= 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_prefs_vars_set(v, (u_char *) ctx->user_text,
                       ngx_strlen(ctx->user_text));

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_vars_route_name(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t  t;

    t = ngx_prefs_vars_template(r);

    if (t == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_prefs_vars_set(v, ngx_prefs_vars_names[t].data,
                       ngx_prefs_vars_names[t].len);

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_vars_profile_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    int8_t                        pos;
    prefs_path_segment_t         *seg;
    ngx_prefs_api_ctx_t          *ctx;
    const ngx_prefs_api_route_t  *rt;

    /* in a prefs_edge location: the visitor's */
    if (ngx_prefs_edge_profile_id(r, v) == NGX_OK) {
        return NGX_OK;
    }

    ctx = ngx_prefs_vars_ctx(r);
    rt = ctx ? ngx_prefs_vars_route(r, ctx) : NULL;
    pos = rt ? ngx_prefs_vars_route_profile[rt - ngx_prefs_vars_routes] : -1;

    if (pos < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    seg = &ctx->path.seg[ctx->first + 1 + pos];
    ngx_prefs_vars_set(v, (u_char *) seg->data, seg->len);

    return NGX_OK;
}


static ngx_uint_t
ngx_prefs_vars_profile_key(const char *segment)
{
    ngx_uint_t  k;

    for (k = 0; ngx_prefs_vars_profile_keys[k]; k++) {
        if (ngx_strcmp(segment, ngx_prefs_vars_profile_keys[k]) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The request's context: the router's once the content handler has run;
 * before, one with the path parsed the router's way (no credential, no
 * account: nothing in it is trusted yet).  NULL outside API locations.
 */

static ngx_prefs_api_ctx_t *
ngx_prefs_vars_ctx(ngx_http_request_t *r)
{
    ngx_prefs_api_ctx_t        *ctx;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->api != NGX_HTTP_PREFS_API_V4
        && plcf->api != NGX_HTTP_PREFS_API_V3
        && plcf->api != NGX_HTTP_PREFS_API_V3_ASYNC)
    {
        return NULL;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_api_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* as the router does: an invalid path names nothing */

    if (ngx_prefs_router_parse_path(r, ctx) == NULL
        && ctx->path.n > ctx->first)
    {
        ctx->client_id.data = (u_char *) ctx->path.seg[ctx->first].data;
        ctx->client_id.len = ctx->path.seg[ctx->first].len;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);

    return ctx;
}


/*
 * The route the router takes (the first whose path and method match) or,
 * when only the path matches, the first such: the template is the same.
 */

static const ngx_prefs_api_route_t *
ngx_prefs_vars_route(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_uint_t                    n, api;
    prefs_path_segment_t         *seg;
    const ngx_prefs_api_route_t  *rt, *found;

    if (ctx->route) {
        return ctx->route;
    }

    if (ctx->client_id.len == 0 || ngx_prefs_vars_routes == NULL) {
        return NULL;
    }

    api = ngx_prefs_router_api(r, ctx);
    seg = &ctx->path.seg[ctx->first + 1];
    n = ctx->path.n - ctx->first - 1;
    found = NULL;

    for (rt = ngx_prefs_vars_routes; rt->handler; rt++) {

        if (!(rt->apis & api)
            || !ngx_prefs_router_path_match(rt, seg, n, NULL))
        {
            continue;
        }

        if (rt->methods & r->method) {
            return rt;
        }

        if (found == NULL) {
            found = rt;
        }
    }

    return found;
}


static void
ngx_prefs_vars_set(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}
