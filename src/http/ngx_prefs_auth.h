
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_AUTH_H_INCLUDED_
#define _NGX_PREFS_AUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_api.h"
#include "prefs_auth.h"


#define NGX_PREFS_PERM_CONFIGURATION_READ   0x0001
#define NGX_PREFS_PERM_CONFIGURATION_WRITE  0x0002
#define NGX_PREFS_PERM_PROFILE_READ         0x0004
#define NGX_PREFS_PERM_PROFILE_WRITE        0x0008
#define NGX_PREFS_PERM_EVENT_DATA_VIEW      0x0010
#define NGX_PREFS_PERM_WEBHOOK_MANAGE       0x0020
#define NGX_PREFS_PERM_BULK_IMPORT          0x0040
#define NGX_PREFS_PERM_BULK_EXPORT          0x0080
#define NGX_PREFS_PERM_USER_MANAGE          0x0100

#define NGX_PREFS_AUTH_SECRETS              2
#define NGX_PREFS_AUTH_SECRET_MAX           128


/* what one credential was found to be, cached per worker */
typedef struct {
    ngx_str_node_t             sn;
    ngx_queue_t                lru;
    ngx_msec_t                 expires;
    ngx_atomic_uint_t          gen_seen;     /* the account's config_gen */

    int64_t                    account_id;   /* 0: no such account */
    int64_t                    user_id;      /* 0: no such user/token */
    ngx_uint_t                 active;
    ngx_uint_t                 negative;     /* no account, user or token,
                                                or an inactive user */
    ngx_uint_t                 bind;         /* Binding=request required */
    ngx_uint_t                 once;         /* each signature once */
    ngx_uint_t                 perms;
    int64_t                    window_ms;
    int64_t                    token_expires_ms;

    ngx_uint_t                 nsecrets;
    size_t                     secret_len[NGX_PREFS_AUTH_SECRETS];
    u_char                     secret[NGX_PREFS_AUTH_SECRETS]
                                     [NGX_PREFS_AUTH_SECRET_MAX];
} ngx_prefs_auth_entry_t;


/*
 * Authenticates the request's credential for its clientId, then runs
 * ctx->authorized; or answers 401, 404 or 429 itself.
 */
ngx_int_t ngx_prefs_auth_request(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);

ngx_uint_t ngx_prefs_auth_perms_parse(u_char *list, size_t len);
const char *ngx_prefs_auth_perm_name(ngx_uint_t perm);

ngx_prefs_auth_entry_t *ngx_prefs_auth_cache_get(ngx_str_t *key);
ngx_prefs_auth_entry_t *ngx_prefs_auth_cache_put(ngx_str_t *key,
    ngx_prefs_auth_entry_t *value, ngx_msec_t ttl, ngx_uint_t max);

ngx_int_t ngx_prefs_auth_init_zone(ngx_http_prefs_main_conf_t *pmcf,
    ngx_slab_pool_t *shpool);
time_t ngx_prefs_auth_throttled(ngx_http_prefs_main_conf_t *pmcf,
    ngx_str_t *key);
void ngx_prefs_auth_failed(ngx_http_prefs_main_conf_t *pmcf, ngx_str_t *key);

ngx_int_t ngx_prefs_auth_unauthorized(ngx_http_request_t *r,
    const char *message);

/* a refusal of a credential, answered after prefs_auth_failure_delay */
ngx_int_t ngx_prefs_auth_answer_later(ngx_http_request_t *r,
    ngx_uint_t status, time_t retry_after, const char *message);


#endif /* _NGX_PREFS_AUTH_H_INCLUDED_ */
