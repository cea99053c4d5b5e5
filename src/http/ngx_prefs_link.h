
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_LINK_H_INCLUDED_
#define _NGX_PREFS_LINK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"
#include "prefs_link.h"


/*
 * The router's hook before authentication: CORS (a preflight is answered
 * here), then a link's authentication; NGX_DECLINED when the request
 * carries no link.
 */
ngx_int_t ngx_prefs_link_request(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/*
 * A link token the request carries: "Authorization: Bearer pl1...", or the
 * last segment of Profile/{id}/Unsubscribe/{filterId}/{token} (a mail
 * client's one-click POST sends no header).  NGX_DECLINED: none.
 */
ngx_int_t ngx_prefs_link_credential(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_str_t *token);

/*
 * Authenticates a link token for the request's clientId, from the
 * worker's copy of the account's keys and revocations (one query when it
 * has none or it is stale), then routes the request if the link grants
 * it; or answers 401, 403, 404 or 429.
 */
ngx_int_t ngx_prefs_link_authenticate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_str_t *token);


/*
 * What a worker keeps of an account to judge its links (its keys, its
 * revocations), shared with the edge (src/http/ngx_prefs_edge.c).
 */
typedef struct ngx_prefs_link_state_s  ngx_prefs_link_state_t;

typedef struct {
    const char                *why;          /* for the log */
    const char                *message;      /* for the client */
    ngx_uint_t                 guess;        /* not a genuine link */
} ngx_prefs_link_verdict_t;

/* "database:clientId", in the request's pool */
ngx_int_t ngx_prefs_link_state_key(ngx_http_request_t *r,
    ngx_prefs_db_pool_t *pool, ngx_str_t *client_id, ngx_str_t *key);

/* the kept state, made the most recently used (*fresh: still current) */
ngx_prefs_link_state_t *ngx_prefs_link_state_find(ngx_str_t *key,
    ngx_uint_t *fresh);

/* stores the state a row of account_id, link_keys, link_gens answers */
ngx_prefs_link_state_t *ngx_prefs_link_state_load(ngx_http_request_t *r,
    ngx_str_t *key, ngx_prefs_db_query_t *q);

/*
 * NULL when the parsed link l holds under st, else why not; signed_before:
 * the same token text passed before, its signature is not computed again
 */
const ngx_prefs_link_verdict_t *ngx_prefs_link_state_check(
    ngx_prefs_link_state_t *st, prefs_link_t *l, ngx_str_t *token,
    ngx_uint_t signed_before);

/* POST Profile/{id}/Links */
ngx_int_t ngx_prefs_link_issue(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* DELETE Profile/{id}/Links, DELETE Links */
ngx_int_t ngx_prefs_link_revoke(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* POST Links/Key: a new signing key, the one before kept, older retired */
ngx_int_t ngx_prefs_link_rotate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* GET and PUT Links/Origins: the account's CORS origins */
ngx_int_t ngx_prefs_link_origins_get(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_link_origins_put(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

/* GET and POST Profile/{id}/Unsubscribe/{filterId}/{token} */
ngx_int_t ngx_prefs_link_unsubscribe(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_LINK_H_INCLUDED_ */
