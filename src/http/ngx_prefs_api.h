
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_API_H_INCLUDED_
#define _NGX_PREFS_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_prefs_conf.h"
#include "prefs_path.h"
#include "prefs_auth.h"
#include "prefs_link.h"


#define NGX_PREFS_API_MAX_ARGS  4

#define NGX_PREFS_API_IN_V4        (1 << NGX_HTTP_PREFS_API_V4)
#define NGX_PREFS_API_IN_V3        (1 << NGX_HTTP_PREFS_API_V3)
#define NGX_PREFS_API_IN_V3_ASYNC  (1 << NGX_HTTP_PREFS_API_V3_ASYNC)

/*
 * The Integration API of a "prefs_api v4" location: a path
 * /Profiles/v4/Async/{clientId}/... matches only the routes marked so, and
 * those routes' paths are written without the "Async" and clientId segments.
 */
#define NGX_PREFS_API_IN_ASYNC     (1 << 16)

/*
 * In a route's API mask: the route takes its body spooled to a file, up to
 * prefs_import_max_body, instead of read whole into memory (ctx->body is
 * empty; the handler reads r->request_body itself): a bulk import's Stage.
 */
#define NGX_PREFS_API_FILE_BODY    (1 << 17)

/*
 * In a route's API mask: the route tolerates a little lag, so its queries
 * may be answered by the location's standby (prefs_db_replica) while that
 * is within max_lag; what the standby cannot answer goes to the primary
 * (src/core/ngx_prefs_db.c).  Reads of data that only grows in commit
 * order, or that is made once and then read: Events, export pages.
 */
#define NGX_PREFS_API_READ_REPLICA (1 << 18)


typedef struct ngx_prefs_api_ctx_s  ngx_prefs_api_ctx_t;

typedef ngx_int_t (*ngx_prefs_api_route_pt)(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


typedef struct {
    ngx_uint_t                 methods;
    /* up to six segments: Profile/Preferences/AlternateIdType/{t}/... */
    const char                *path[NGX_PREFS_API_MAX_ARGS + 3];
    ngx_uint_t                 perm;
    ngx_uint_t                 apis;
    ngx_prefs_api_route_pt     handler;
    const void                *data;
} ngx_prefs_api_route_t;


struct ngx_prefs_api_ctx_s {
    prefs_path_t                  path;
    ngx_uint_t                    first;       /* the clientId's segment */
    ngx_uint_t                    async;       /* after an "Async" segment */
    ngx_str_t                     client_id;

    prefs_auth_t                  auth;
    int                           auth_rc;
    ngx_str_t                     cache_key;

    int64_t                       account_id;
    int64_t                       user_id;
    ngx_uint_t                    perms;
    char                          account_text[NGX_INT64_LEN + 1];
    char                          user_text[NGX_INT64_LEN + 1];

    const ngx_prefs_api_route_t  *route;
    ngx_str_t                     args[NGX_PREFS_API_MAX_ARGS];
    ngx_uint_t                    nargs;

    ngx_prefs_api_route_pt        authorized;  /* runs once authenticated */
    void                         *route_data;  /* the handler's own state */

    /* a link's claims: the link that authenticated, or the one being made */
    prefs_link_t                 *link;
    ngx_prefs_api_route_pt        link_next;   /* routes a granted link */

    json_t                       *query;       /* the query string, decoded */
    ngx_str_t                     body;        /* raw request body, if any */
    ngx_str_t                     locale_arg;  /* an explicit locale, as sent */

    void                         *state;       /* a handler's own, kept
                                                  across its queries */
};


/*
 * A route's JSON body, parsed strictly and freed with the request; or a
 * 400/415 already answered (*body NULL).
 */
ngx_int_t ngx_prefs_api_json_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, json_t **body);

/*
 * A request that takes no body, or {}: NGX_DECLINED, else the refusal's
 * answer.
 */
ngx_int_t ngx_prefs_api_no_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/*
 * A query parameter, by name in any case, from the query string the router
 * decoded (src/lib/prefs_query.c): NGX_OK with its value (terminated),
 * NGX_DECLINED when it is absent, NGX_ERROR when it is a list (name[n]).
 */
ngx_int_t ngx_prefs_api_arg(ngx_prefs_api_ctx_t *ctx, const char *name,
    ngx_str_t *value);

/*
 * An integer query parameter: *value is def when it is absent; NGX_DECLINED
 * when it is not a number within [min, max] (a 400 for the caller).
 */
ngx_int_t ngx_prefs_api_int_arg(ngx_prefs_api_ctx_t *ctx, const char *name,
    ngx_int_t min, ngx_int_t max, ngx_int_t def, ngx_int_t *value);

/* a copy of the decoded query string the caller may change */
json_t *ngx_prefs_api_args_copy(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* a numeric id from a path argument: > 0, or 0 when it is not one */
int64_t ngx_prefs_api_id(ngx_str_t *arg);

ngx_int_t ngx_prefs_api_sql_error(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);

/*
 * The answer of a query whose one row's first column is the JSON body:
 * 200 with it, 404 with not_found when there is no row or it is NULL, the
 * query's error otherwise; finalizes the request.
 */
void ngx_prefs_api_send_row(ngx_prefs_db_query_t *q, const char *not_found);

/* a query of this location's pool whose $1 is the caller's account */
/*
 * The first row's column as the answer's body; or parsed as JSON and freed
 * with the request (NULL when it is not JSON).
 */
ngx_int_t ngx_prefs_api_send_column(ngx_http_request_t *r, ngx_uint_t status,
    ngx_prefs_db_query_t *q, ngx_prefs_col_e col);
json_t *ngx_prefs_api_column_json(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q, ngx_prefs_col_e col);

ngx_prefs_db_query_t *ngx_prefs_api_query(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e stmt,
    ngx_prefs_db_handler_pt handler);


#endif /* _NGX_PREFS_API_H_INCLUDED_ */
