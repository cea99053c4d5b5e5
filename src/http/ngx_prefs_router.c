
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The API locations ("prefs_api v4", "v3", "v3_async").  A request goes:
 *
 *   path      the raw path is decoded strictly; the clientId is the first
 *             segment after the location's own, or in a v4 location the
 *             one after "Async" (the Integration API, whose routes are
 *             marked NGX_PREFS_API_IN_ASYNC): "Async" is never a clientId
 *   query     the query string is decoded here, once, for every route
 *             (src/lib/prefs_query.c): handlers read ctx->query
 *   body      a POST, PUT, PATCH or DELETE body is read whole, within its
 *             limit; or, for a route marked NGX_PREFS_API_FILE_BODY (a bulk
 *             import's Stage), spooled to a file within prefs_import_max_body
 *   account   and credential, from the per-worker cache or in one query:
 *             an unknown clientId is 404, a bad credential 401 with the
 *             documented messages, repeated failures for a user name 429
 *   route     the table of src/http/api/ngx_prefs_routes.c: 404 or 405
 *             when nothing matches, 403 when the user's groups lack the
 *             route's permission; every route but the configuration's
 *             answers with Cache-Control: no-store
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_api.h"
#include "ngx_prefs_auth.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_router.h"
#include "prefs_query.h"


static void ngx_prefs_router_body_read(ngx_http_request_t *r);
static const ngx_prefs_api_route_t *ngx_prefs_router_find(
    ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx);
static ngx_int_t ngx_prefs_router_file_body(ngx_http_request_t *r);
static void ngx_prefs_router_file_body_read(ngx_http_request_t *r);
static size_t ngx_prefs_router_body_size(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_router_query(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, char *err, size_t err_size);
static ngx_int_t ngx_prefs_router_route(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static ngx_int_t ngx_prefs_router_authenticate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


static const ngx_prefs_api_route_t  *ngx_prefs_router_routes;
static ngx_prefs_router_hook_pt      ngx_prefs_router_before_auth;


const ngx_prefs_router_method_t  ngx_prefs_router_methods[] = {
    { NGX_HTTP_GET, "GET" },
    { NGX_HTTP_HEAD, "HEAD" },
    { NGX_HTTP_POST, "POST" },
    { NGX_HTTP_PUT, "PUT" },
    { NGX_HTTP_PATCH, "PATCH" },
    { NGX_HTTP_DELETE, "DELETE" },
    { 0, NULL }
};


void
ngx_prefs_router_init(const ngx_prefs_api_route_t *routes,
    ngx_prefs_router_hook_pt before_auth)
{
    ngx_prefs_router_routes = routes;
    ngx_prefs_router_before_auth = before_auth;
}


ngx_int_t
ngx_prefs_router_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    char                          query_err[256];
    const char                   *err;
    ngx_prefs_api_ctx_t          *ctx;
    ngx_http_prefs_main_conf_t   *pmcf;
    const ngx_prefs_api_route_t  *rt;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_prefs_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_prefs_module);
    ctx->authorized = ngx_prefs_router_route;

    err = ngx_prefs_router_parse_path(r, ctx);
    if (err) {
        (void) ngx_http_discard_request_body(r);
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The request path is invalid: %s", err);
    }

    rc = ngx_prefs_router_query(r, ctx, query_err, sizeof(query_err));
    if (rc != NGX_OK) {
        (void) ngx_http_discard_request_body(r);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The query string is invalid: %s",
                                    query_err);
    }

    if (ctx->path.n <= ctx->first) {
        (void) ngx_http_discard_request_body(r);
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "The route needs a clientId");
    }

    ctx->client_id.data = (u_char *) ctx->path.seg[ctx->first].data;
    ctx->client_id.len = ctx->path.seg[ctx->first].len;

    /* DELETE too: the DELETE part routes list what to remove */

    if (!(r->method
          & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE)))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_prefs_router_authenticate(r, ctx);
    }

    rt = ngx_prefs_router_find(r, ctx);

    if (rt && (rt->apis & NGX_PREFS_API_FILE_BODY)) {
        return ngx_prefs_router_file_body(r);
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (r->headers_in.content_length_n > (off_t) pmcf->max_body) {
        r->keepalive = 0;
        return ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "The body is larger than %uz bytes",
                                    pmcf->max_body);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_prefs_router_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_prefs_router_body_read(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_prefs_api_ctx_t         *ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    rc = ngx_prefs_http_read_body(r, pmcf->max_body, &ctx->body);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The body is larger than %uz bytes",
                                 pmcf->max_body));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_prefs_router_authenticate(r, ctx));
}


/* the hook (CORS, a per-profile link), or the API's credentials */

static ngx_int_t
ngx_prefs_router_authenticate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_prefs_router_before_auth) {
        rc = ngx_prefs_router_before_auth(r, ctx);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_prefs_auth_request(r, ctx);
}


/*
 * The route a path and method would take, before the request is
 * authenticated: only to know how to read its body.
 */

static const ngx_prefs_api_route_t *
ngx_prefs_router_find(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_uint_t                    n, api;
    const ngx_prefs_api_route_t  *rt;

    api = ngx_prefs_router_api(r, ctx);
    n = ctx->path.n - ctx->first - 1;

    for (rt = ngx_prefs_router_routes; rt->handler; rt++) {
        if ((rt->apis & api) && (rt->methods & r->method)
            && ngx_prefs_router_path_match(rt, &ctx->path.seg[ctx->first + 1],
                                           n, NULL))
        {
            return rt;
        }
    }

    return NULL;
}


/*
 * A body that may be large (up to prefs_import_max_body, 28 MB at most)
 * goes to a temporary file, never into memory whole; its handler reads it
 * from there.
 */

static ngx_int_t
ngx_prefs_router_file_body(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (r->headers_in.content_length_n > (off_t) pmcf->import.max_body) {
        r->keepalive = 0;
        return ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "The body is larger than %uz bytes",
                                    pmcf->import.max_body);
    }

    r->request_body_in_file_only = 1;
    r->request_body_in_clean_file = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_prefs_router_file_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_prefs_router_file_body_read(ngx_http_request_t *r)
{
    ngx_prefs_api_ctx_t         *ctx;
    ngx_http_prefs_main_conf_t  *pmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    /* a chunked body has no Content-Length to refuse early */

    if (ngx_prefs_router_body_size(r) > pmcf->import.max_body) {
        r->keepalive = 0;
        ngx_http_finalize_request(r,
            ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The body is larger than %uz bytes",
                                 pmcf->import.max_body));
        return;
    }

    ngx_http_finalize_request(r, ngx_prefs_auth_request(r, ctx));
}


static size_t
ngx_prefs_router_body_size(ngx_http_request_t *r)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    return len;
}


/*
 * nginx has already decoded r->uri, leniently, merging slashes and dot
 * segments; the raw path is decoded here strictly instead, and the
 * location's own segments are skipped.  After a rewrite the raw path is
 * not the request's any more: r->uri is taken as it is.
 */

const char *
ngx_prefs_router_parse_path(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    int                        rc;
    char                      *buf;
    size_t                     len;
    u_char                     *p, *end;
    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_prefs_loc_conf_t  *plcf;

    if (r->valid_unparsed_uri) {
        p = r->unparsed_uri.data;
        end = ngx_strlchr(p, p + r->unparsed_uri.len, '?');
        if (end == NULL) {
            end = p + r->unparsed_uri.len;
        }

    } else {
        p = r->uri.data;
        end = p + r->uri.len;
    }

    if (p == end || *p != '/') {
        return "it does not start with \"/\"";
    }

    len = end - p;

    buf = ngx_pnalloc(r->pool, len + PREFS_PATH_MAX_SEGMENTS);
    if (buf == NULL) {
        return "out of memory";
    }

    rc = r->valid_unparsed_uri
         ? prefs_path_split((char *) p, len, buf, &ctx->path)
         : prefs_path_split_decoded((char *) p, len, buf, &ctx->path);

    if (rc != PREFS_PATH_OK) {
        return prefs_path_strerror(rc);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->first = 0;

    for (i = 0; i < clcf->name.len; i++) {
        if (clcf->name.data[i] != '/'
            && (i == 0 || clcf->name.data[i - 1] == '/'))
        {
            ctx->first++;
        }
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->api == NGX_HTTP_PREFS_API_V4
        && ctx->path.n > ctx->first
        && ctx->path.seg[ctx->first].len == sizeof("Async") - 1
        && ngx_strncasecmp((u_char *) ctx->path.seg[ctx->first].data,
                           (u_char *) "Async", sizeof("Async") - 1)
           == 0)
    {
        ctx->async = 1;
        ctx->first++;
    }

    return NULL;
}


/* the API bit a route must carry to serve the request */

ngx_uint_t
ngx_prefs_router_api(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_http_prefs_loc_conf_t  *plcf;

    if (ctx->async) {
        return NGX_PREFS_API_IN_ASYNC;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    return (ngx_uint_t) 1 << plcf->api;
}


/* the route's path matches the segments; its arguments into ctx, if any */

ngx_uint_t
ngx_prefs_router_path_match(const ngx_prefs_api_route_t *rt,
    prefs_path_segment_t *seg, ngx_uint_t n, ngx_prefs_api_ctx_t *ctx)
{
    size_t      len;
    ngx_uint_t  i;

    if (ctx) {
        ctx->nargs = 0;
    }

    /* ASP.NET routes match without regard to case */

    for (i = 0; i < n && rt->path[i]; i++) {
        if (rt->path[i][0] == '*') {
            if (ctx) {
                ctx->args[ctx->nargs].data = (u_char *) seg[i].data;
                ctx->args[ctx->nargs].len = seg[i].len;
                ctx->nargs++;
            }

            continue;
        }

        len = ngx_strlen(rt->path[i]);

        if (len != seg[i].len
            || ngx_strncasecmp((u_char *) rt->path[i],
                               (u_char *) seg[i].data, len) != 0)
        {
            return 0;
        }
    }

    return i == n && rt->path[i] == NULL;
}


/*
 * The query string, decoded once for every route: a bad escape, a control
 * character, bytes that are not UTF-8 or a name given twice (in any case)
 * is NGX_DECLINED with a message (a 400) before anything else runs.
 */

static ngx_int_t
ngx_prefs_router_query(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    char *err, size_t err_size)
{
    json_t  *query;

    if (prefs_query_parse((char *) r->args.data, r->args.len, &query, err,
                          err_size)
        != 0)
    {
        return NGX_DECLINED;
    }

    ctx->query = ngx_prefs_json_own(r->pool, query);

    return ctx->query ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_prefs_router_route(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                       *p, *start;
    ngx_uint_t                    j, n, allow, api;
    prefs_path_segment_t         *seg;
    const ngx_prefs_api_route_t  *rt;

    api = ngx_prefs_router_api(r, ctx);
    seg = &ctx->path.seg[ctx->first + 1];
    n = ctx->path.n - ctx->first - 1;
    allow = 0;

    for (rt = ngx_prefs_router_routes; rt->handler; rt++) {

        if (!(rt->apis & api)) {
            continue;
        }

        if (!ngx_prefs_router_path_match(rt, seg, n, ctx)) {
            continue;
        }

        if (!(rt->methods & r->method)) {
            allow |= rt->methods;
            continue;
        }

        if (!(ctx->perms & rt->perm)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "prefs auth: user %L lacks %s",
                          ctx->user_id, ngx_prefs_auth_perm_name(rt->perm));
            return ngx_prefs_http_error(r, NGX_HTTP_FORBIDDEN,
                                        "The user lacks the %s permission",
                                        ngx_prefs_auth_perm_name(rt->perm));
        }

        ctx->route = rt;

        /*
         * Answers with personal data (profiles, preferences, events, users,
         * webhook subscriptions and their secrets, deliveries) are not
         * kept by caches; the configuration's keep their ETags and 304s.
         */

        if (!(rt->perm & (NGX_PREFS_PERM_CONFIGURATION_READ
                          |NGX_PREFS_PERM_CONFIGURATION_WRITE))
            && ngx_prefs_http_header(r, "Cache-Control", "no-store", 0)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return rt->handler(r, ctx);
    }

    if (allow) {
        start = ngx_pnalloc(r->pool,
                            sizeof("GET, HEAD, POST, PUT, PATCH, DELETE"));
        if (start == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (allow & NGX_HTTP_GET) {
            allow |= NGX_HTTP_HEAD;
        }

        p = start;

        for (j = 0; ngx_prefs_router_methods[j].name; j++) {
            if (allow & ngx_prefs_router_methods[j].method) {
                p = ngx_sprintf(p, "%s%s", p == start ? "" : ", ",
                                ngx_prefs_router_methods[j].name);
            }
        }

        if (ngx_prefs_http_header(r, "Allow", (char *) start, p - start)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_prefs_http_error(r, NGX_HTTP_NOT_ALLOWED,
                                    "The route does not accept %V",
                                    &r->method_name);
    }

    return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                "No such route: %V %V",
                                &r->method_name, &r->uri);
}
