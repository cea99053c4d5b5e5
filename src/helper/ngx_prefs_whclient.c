
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The webhook client (see ngx_prefs_whclient.h): one exchange is
 *
 *   parse the URL -> policy on the scheme -> resolve the name (nginx's
 *   resolver) or take the literal -> policy on every address -> an idle
 *   connection to the same destination, or a new one (connect, TLS
 *   handshake, certificate and host name verified) -> send the request ->
 *   parse the response (prefs_httpresp) -> park the connection for the
 *   next exchange, or close it -> post the caller's handler.
 *
 * The state of an exchange lives in a pool of its own; the connection and
 * what belongs to it (TLS state, the destination key) in the connection's
 * pool, so a connection outlives the exchanges that use it.  The caller's
 * pool gets a cleanup that cancels the exchange should the caller go away
 * first (the helper dropping its jobs at exit).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_whclient.h"
#include "prefs_url.h"
#include "prefs_netpolicy.h"
#include "prefs_httpresp.h"


#define NGX_PREFS_WHC_IDLE_MAX     256     /* idle connections in all */
#define NGX_PREFS_WHC_READ_SIZE    4096
#define NGX_PREFS_WHC_MAX_ADDRS    16
#define NGX_PREFS_WHC_SESSIONS     64      /* TLS sessions kept to resume */
#define NGX_PREFS_WHC_KEY_LEN      (sizeof("https://[]:65535") - 1          \
                                    + PREFS_URL_MAX_HOST)


typedef struct {
    ngx_queue_t                   queue;    /* in the idle cache */
    ngx_connection_t             *connection;
    ngx_str_t                     key;      /* scheme://host:port */
    struct sockaddr              *sockaddr;
    socklen_t                     socklen;
    ngx_uint_t                    exchanges;
} ngx_prefs_whclient_conn_t;


typedef struct {
    ngx_prefs_whclient_req_t     *req;
    ngx_pool_t                   *pool;
    ngx_pool_cleanup_t           *cln;      /* in the caller's pool */
    ngx_log_t                    *log;
    ngx_http_prefs_main_conf_t   *pmcf;

    prefs_url_t                   url;
    ngx_str_t                     host;     /* null-terminated */
    ngx_str_t                     key;

    ngx_addr_t                   *addrs;
    ngx_uint_t                    naddrs;
    ngx_uint_t                    next_addr;
    ngx_resolver_ctx_t           *resolving;

    ngx_prefs_whclient_conn_t    *conn;
    u_char                       *out_start;
    u_char                       *out_pos;
    u_char                       *out_last;
    prefs_httpresp_t             *resp;
    char                         *body;
    u_char                       *in;

    ngx_event_t                   timer;    /* the whole exchange */
    ngx_event_t                   done;     /* posted: calls the handler */

    unsigned                      sent:1;
    unsigned                      reused:1;
    unsigned                      retried:1;
    unsigned                      finished:1;
} ngx_prefs_whclient_ctx_t;


static void ngx_prefs_whclient_resolved(ngx_resolver_ctx_t *rctx);
static void ngx_prefs_whclient_check_addrs(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_start(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_connect(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_connected(ngx_event_t *wev);
static void ngx_prefs_whclient_dummy(ngx_event_t *ev);
#if (NGX_SSL)
static void ngx_prefs_whclient_ssl_start(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_ssl_handshaked(ngx_connection_t *c);
static void ngx_prefs_whclient_ssl_save_session(ngx_connection_t *c);
static ngx_ssl_session_t *ngx_prefs_whclient_ssl_session(ngx_str_t *key,
    ngx_uint_t remove);
#endif
static void ngx_prefs_whclient_send_request(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_write_handler(ngx_event_t *wev);
static void ngx_prefs_whclient_read_handler(ngx_event_t *rev);
static void ngx_prefs_whclient_response(ngx_prefs_whclient_ctx_t *ctx,
    ngx_uint_t keepalive);
static void ngx_prefs_whclient_broken(ngx_prefs_whclient_ctx_t *ctx,
    const char *what);
static void ngx_prefs_whclient_fail(ngx_prefs_whclient_ctx_t *ctx,
    ngx_uint_t refused, const char *fmt, ...);
static void ngx_prefs_whclient_finish(ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_done_handler(ngx_event_t *ev);
static void ngx_prefs_whclient_timeout_handler(ngx_event_t *ev);
static void ngx_prefs_whclient_cancel(void *data);
static void ngx_prefs_whclient_abort(ngx_prefs_whclient_ctx_t *ctx);
static ngx_prefs_whclient_conn_t *ngx_prefs_whclient_idle_get(
    ngx_prefs_whclient_ctx_t *ctx);
static void ngx_prefs_whclient_idle_put(ngx_prefs_whclient_conn_t *wc);
static void ngx_prefs_whclient_idle_handler(ngx_event_t *ev);
static void ngx_prefs_whclient_close(ngx_connection_t *c);
static ngx_int_t ngx_prefs_whclient_sockaddr_family(struct sockaddr *sa,
    u_char **addr);


static ngx_queue_t  ngx_prefs_whclient_idle;
static ngx_uint_t   ngx_prefs_whclient_nidle;
static ngx_uint_t   ngx_prefs_whclient_idle_ready;

#if (NGX_SSL)

/*
 * The newest TLS session per destination, so that a new connection to a
 * receiver resumes instead of a full handshake; a small table replaced
 * round robin.  Only sessions whose certificate passed are kept.
 */

typedef struct {
    size_t                        key_len;
    u_char                        key[NGX_PREFS_WHC_KEY_LEN];
    ngx_ssl_session_t            *session;
} ngx_prefs_whclient_session_t;

static ngx_prefs_whclient_session_t
    ngx_prefs_whclient_sessions[NGX_PREFS_WHC_SESSIONS];
static ngx_uint_t  ngx_prefs_whclient_session_next;
static int         ngx_prefs_whclient_ssl_index = -1;

#endif


ngx_int_t
ngx_prefs_whclient_send(ngx_prefs_whclient_req_t *req)
{
    int                          rc;
    u_char                      *p;
    ngx_pool_t                  *pool;
    ngx_prefs_whclient_ctx_t    *ctx;
    struct sockaddr_in          *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6         *sin6;
#endif

    req->status = 0;
    req->retry_after = -1;
    ngx_str_null(&req->response);
    ngx_str_null(&req->error);
    req->refused = 0;

    if (!ngx_prefs_whclient_idle_ready) {
        ngx_queue_init(&ngx_prefs_whclient_idle);
        ngx_prefs_whclient_idle_ready = 1;
    }

    pool = ngx_create_pool(2048, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ctx = ngx_pcalloc(pool, sizeof(ngx_prefs_whclient_ctx_t));
    if (ctx == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ctx->cln = ngx_pool_cleanup_add(req->pool, 0);
    if (ctx->cln == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ctx->cln->handler = ngx_prefs_whclient_cancel;
    ctx->cln->data = ctx;

    ctx->req = req;
    ctx->pool = pool;
    ctx->log = ngx_cycle->log;
    ctx->pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                    ngx_http_prefs_module);

    ctx->timer.handler = ngx_prefs_whclient_timeout_handler;
    ctx->timer.data = ctx;
    ctx->timer.log = ctx->log;
    ctx->timer.cancelable = 1;

    ctx->done.handler = ngx_prefs_whclient_done_handler;
    ctx->done.data = ctx;
    ctx->done.log = ctx->log;

    ngx_add_timer(&ctx->timer, req->timeout ? req->timeout
                                            : ctx->pmcf->webhook.timeout);

    rc = prefs_url_parse((char *) req->url.data, req->url.len, &ctx->url);

    if (rc != PREFS_URL_OK) {
        ngx_prefs_whclient_fail(ctx, 1, "%s", prefs_url_strerror(rc));
        return NGX_OK;
    }

    if (!ctx->url.https && !ctx->pmcf->webhook.allow_http) {
        ngx_prefs_whclient_fail(ctx, 1, "plain http:// destinations are not "
                                "allowed (prefs_webhook_allow_http)");
        return NGX_OK;
    }

    ctx->host.len = ctx->url.host_len;
    ctx->host.data = ngx_pnalloc(pool, ctx->host.len + 1);
    ctx->key.data = ngx_pnalloc(pool, sizeof("https://[]:65535") - 1
                                      + ctx->host.len);
    ctx->resp = ngx_palloc(pool, sizeof(prefs_httpresp_t));
    ctx->body = ngx_palloc(pool, ctx->pmcf->webhook.response_max + 1);
    ctx->in = ngx_palloc(pool, NGX_PREFS_WHC_READ_SIZE);

    if (ctx->host.data == NULL || ctx->key.data == NULL || ctx->resp == NULL
        || ctx->body == NULL || ctx->in == NULL)
    {
        ngx_prefs_whclient_fail(ctx, 0, "out of memory");
        return NGX_OK;
    }

    ngx_memcpy(ctx->host.data, ctx->url.host, ctx->host.len + 1);

    p = ngx_sprintf(ctx->key.data, "%s://%s%V%s:%ui",
                    ctx->url.https ? "https" : "http",
                    ctx->url.host_type == PREFS_URL_HOST_IPV6 ? "[" : "",
                    &ctx->host,
                    ctx->url.host_type == PREFS_URL_HOST_IPV6 ? "]" : "",
                    (ngx_uint_t) ctx->url.port);
    ctx->key.len = p - ctx->key.data;

    if (ctx->url.host_type == PREFS_URL_HOST_NAME) {

        if (ctx->pmcf->webhook.resolver == NULL) {
            ngx_prefs_whclient_fail(ctx, 0, "cannot resolve \"%V\": no "
                                    "prefs_webhook_resolver is configured",
                                    &ctx->host);
            return NGX_OK;
        }

        ctx->resolving = ngx_resolve_start(ctx->pmcf->webhook.resolver,
                                           NULL);
        if (ctx->resolving == NULL || ctx->resolving == NGX_NO_RESOLVER) {
            ctx->resolving = NULL;
            ngx_prefs_whclient_fail(ctx, 0, "cannot start resolving \"%V\"",
                                    &ctx->host);
            return NGX_OK;
        }

        ctx->resolving->name = ctx->host;
        ctx->resolving->handler = ngx_prefs_whclient_resolved;
        ctx->resolving->data = ctx;
        ctx->resolving->timeout = ctx->pmcf->webhook.resolver_timeout;

        if (ngx_resolve_name(ctx->resolving) != NGX_OK) {
            /* the resolver freed its context */
            ctx->resolving = NULL;
            ngx_prefs_whclient_fail(ctx, 0, "cannot resolve \"%V\"",
                                    &ctx->host);
        }

        /* the handler may have run already: ctx is not to be touched */

        return NGX_OK;
    }

    /* an address literal */

    ctx->addrs = ngx_pcalloc(pool, sizeof(ngx_addr_t));
    if (ctx->addrs == NULL) {
        ngx_prefs_whclient_fail(ctx, 0, "out of memory");
        return NGX_OK;
    }

    ctx->naddrs = 1;

    if (ctx->url.host_type == PREFS_URL_HOST_IPV4) {
        sin = ngx_pcalloc(pool, sizeof(struct sockaddr_in));
        if (sin == NULL) {
            ngx_prefs_whclient_fail(ctx, 0, "out of memory");
            return NGX_OK;
        }

        sin->sin_family = AF_INET;
        sin->sin_port = htons((in_port_t) ctx->url.port);
        ngx_memcpy(&sin->sin_addr, ctx->url.addr, 4);

        ctx->addrs[0].sockaddr = (struct sockaddr *) sin;
        ctx->addrs[0].socklen = sizeof(struct sockaddr_in);

    } else {
#if (NGX_HAVE_INET6)
        sin6 = ngx_pcalloc(pool, sizeof(struct sockaddr_in6));
        if (sin6 == NULL) {
            ngx_prefs_whclient_fail(ctx, 0, "out of memory");
            return NGX_OK;
        }

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((in_port_t) ctx->url.port);
        ngx_memcpy(&sin6->sin6_addr, ctx->url.addr, 16);

        ctx->addrs[0].sockaddr = (struct sockaddr *) sin6;
        ctx->addrs[0].socklen = sizeof(struct sockaddr_in6);
#else
        ngx_prefs_whclient_fail(ctx, 1, "IPv6 is not supported");
        return NGX_OK;
#endif
    }

    ngx_prefs_whclient_check_addrs(ctx);

    return NGX_OK;
}


static void
ngx_prefs_whclient_resolved(ngx_resolver_ctx_t *rctx)
{
    ngx_prefs_whclient_ctx_t  *ctx = rctx->data;

    ngx_uint_t            i, n;
    struct sockaddr      *sa;

    ctx->resolving = NULL;

    if (rctx->state) {
        ngx_prefs_whclient_fail(ctx, 0, "cannot resolve \"%V\": %s",
                                &ctx->host, ngx_resolver_strerror(rctx->state));
        ngx_resolve_name_done(rctx);
        return;
    }

    n = ngx_min(rctx->naddrs, NGX_PREFS_WHC_MAX_ADDRS);

    ctx->addrs = ngx_pcalloc(ctx->pool, n * sizeof(ngx_addr_t));
    if (ctx->addrs == NULL) {
        ngx_prefs_whclient_fail(ctx, 0, "out of memory");
        ngx_resolve_name_done(rctx);
        return;
    }

    for (i = 0; i < n; i++) {
        sa = ngx_palloc(ctx->pool, rctx->addrs[i].socklen);
        if (sa == NULL) {
            ngx_prefs_whclient_fail(ctx, 0, "out of memory");
            ngx_resolve_name_done(rctx);
            return;
        }

        ngx_memcpy(sa, rctx->addrs[i].sockaddr, rctx->addrs[i].socklen);
        ngx_inet_set_port(sa, (in_port_t) ctx->url.port);

        ctx->addrs[i].sockaddr = sa;
        ctx->addrs[i].socklen = rctx->addrs[i].socklen;
    }

    ctx->naddrs = n;

    ngx_resolve_name_done(rctx);

    ngx_prefs_whclient_check_addrs(ctx);
}


/* every address must be allowed: any one may be the one connected to */

static void
ngx_prefs_whclient_check_addrs(ngx_prefs_whclient_ctx_t *ctx)
{
    char                     text[NGX_INET6_ADDRSTRLEN + 1];
    u_char                  *addr;
    ngx_int_t                family;
    ngx_uint_t               i, nallow;
    prefs_netpolicy_cidr_t  *allow;

    if (ctx->naddrs == 0) {
        ngx_prefs_whclient_fail(ctx, 0, "\"%V\" has no address", &ctx->host);
        return;
    }

    allow = ctx->pmcf->webhook.allow ? ctx->pmcf->webhook.allow->elts : NULL;
    nallow = ctx->pmcf->webhook.allow ? ctx->pmcf->webhook.allow->nelts : 0;

    for (i = 0; i < ctx->naddrs; i++) {
        family = ngx_prefs_whclient_sockaddr_family(ctx->addrs[i].sockaddr,
                                                    &addr);

        if (family == 0
            || !prefs_netpolicy_ip_allowed(family, addr, allow, nallow))
        {
            if (family) {
                prefs_netpolicy_ip_text(family, addr, text, sizeof(text));

            } else {
                ngx_cpystrn((u_char *) text, (u_char *) "?", sizeof(text));
            }

            if (ctx->url.host_type == PREFS_URL_HOST_NAME) {
                ngx_prefs_whclient_fail(ctx, 1, "\"%V\" resolves to %s, "
                                        "which is not a global address "
                                        "(prefs_webhook_allow_network)",
                                        &ctx->host, text);

            } else {
                ngx_prefs_whclient_fail(ctx, 1, "%s is not a global address "
                                        "(prefs_webhook_allow_network)", text);
            }

            return;
        }
    }

    ngx_prefs_whclient_start(ctx);
}


static ngx_int_t
ngx_prefs_whclient_sockaddr_family(struct sockaddr *sa, u_char **addr)
{
    switch (sa->sa_family) {

    case AF_INET:
        *addr = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
        return 4;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        *addr = (u_char *) &((struct sockaddr_in6 *) sa)->sin6_addr;
        return 6;
#endif
    }

    return 0;
}


static void
ngx_prefs_whclient_start(ngx_prefs_whclient_ctx_t *ctx)
{
    size_t                     len;
    u_char                    *p;
    ngx_str_t                  target;
    ngx_connection_t          *c;
    ngx_prefs_whclient_req_t  *req = ctx->req;

    /* the request, once: it may be sent twice, on a reused then a new one */

    if (ctx->out_start == NULL) {
        target.data = (u_char *) ctx->url.target;
        target.len = ctx->url.target_len;

        len = sizeof("POST / HTTP/1.1" CRLF) - 1 + target.len
              + sizeof("Host: []:65535" CRLF) - 1 + ctx->host.len
              + sizeof("Content-Type: application/json" CRLF) - 1
              + sizeof("Content-Length: " CRLF) - 1 + NGX_SIZE_T_LEN
              + sizeof("User-Agent: ngx_prefs" CRLF) - 1
              + req->headers.len + 2 + req->body.len;

        p = ngx_pnalloc(ctx->pool, len);
        if (p == NULL) {
            ngx_prefs_whclient_fail(ctx, 0, "out of memory");
            return;
        }

        ctx->out_start = p;

        p = ngx_sprintf(p, "POST %s%V HTTP/1.1" CRLF "Host: %s%V%s",
                        target.data[0] == '?' ? "/" : "", &target,
                        ctx->url.host_type == PREFS_URL_HOST_IPV6 ? "[" : "",
                        &ctx->host,
                        ctx->url.host_type == PREFS_URL_HOST_IPV6 ? "]" : "");

        if (ctx->url.port != (ctx->url.https ? 443u : 80u)) {
            p = ngx_sprintf(p, ":%ui", (ngx_uint_t) ctx->url.port);
        }

        p = ngx_sprintf(p, CRLF "Content-Type: application/json" CRLF
                        "Content-Length: %uz" CRLF
                        "User-Agent: ngx_prefs" CRLF "%V" CRLF,
                        req->body.len, &req->headers);
        p = ngx_cpymem(p, req->body.data, req->body.len);

        ctx->out_last = p;
    }

    ctx->out_pos = ctx->out_start;
    ctx->sent = 0;

    prefs_httpresp_init(ctx->resp, ctx->body,
                        ctx->pmcf->webhook.response_max, ngx_time());

    if (!ctx->retried) {
        ctx->conn = ngx_prefs_whclient_idle_get(ctx);

        if (ctx->conn) {
            ctx->reused = 1;
            c = ctx->conn->connection;
            c->data = ctx;
            c->read->handler = ngx_prefs_whclient_read_handler;
            c->write->handler = ngx_prefs_whclient_write_handler;

            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ctx->log, 0,
                           "prefs webhook: reusing a connection to %V",
                           &ctx->key);

            ngx_prefs_whclient_send_request(ctx);
            return;
        }
    }

    ngx_prefs_whclient_connect(ctx);
}


static void
ngx_prefs_whclient_connect(ngx_prefs_whclient_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                   name;
    ngx_addr_t                 *addr;
    ngx_pool_t                 *pool;
    ngx_connection_t           *c;
    ngx_prefs_whclient_conn_t  *wc;
    ngx_peer_connection_t       pc;

    ctx->reused = 0;

    if (ctx->next_addr >= ctx->naddrs) {
        ngx_prefs_whclient_fail(ctx, 0, "cannot connect to %V", &ctx->key);
        return;
    }

    addr = &ctx->addrs[ctx->next_addr++];

    name = ctx->key;

    ngx_memzero(&pc, sizeof(ngx_peer_connection_t));

    pc.sockaddr = addr->sockaddr;
    pc.socklen = addr->socklen;
    pc.name = &name;
    pc.get = ngx_event_get_peer;
    pc.log = ctx->log;
    pc.log_error = NGX_ERROR_ERR;
    pc.tries = 1;

    rc = ngx_event_connect_peer(&pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        if (pc.connection) {
            ngx_close_connection(pc.connection);
        }

        if (ctx->next_addr < ctx->naddrs) {
            ngx_prefs_whclient_connect(ctx);
            return;
        }

        ngx_prefs_whclient_fail(ctx, 0, "cannot connect to %V", &ctx->key);
        return;
    }

    c = pc.connection;

    pool = ngx_create_pool(1024, ctx->log);
    wc = pool ? ngx_pcalloc(pool, sizeof(ngx_prefs_whclient_conn_t)) : NULL;

    if (wc) {
        wc->key.data = ngx_pstrdup(pool, &ctx->key);
        wc->sockaddr = ngx_palloc(pool, addr->socklen);
    }

    if (wc == NULL || wc->key.data == NULL || wc->sockaddr == NULL) {
        if (pool) {
            ngx_destroy_pool(pool);
        }

        ngx_close_connection(c);
        ngx_prefs_whclient_fail(ctx, 0, "out of memory");
        return;
    }

    c->pool = pool;
    wc->connection = c;
    wc->key.len = ctx->key.len;
    ngx_memcpy(wc->sockaddr, addr->sockaddr, addr->socklen);
    wc->socklen = addr->socklen;
    ngx_queue_init(&wc->queue);

    ctx->conn = wc;

    c->data = ctx;
    c->read->handler = ngx_prefs_whclient_dummy;
    c->write->handler = ngx_prefs_whclient_connected;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, ctx->pmcf->webhook.connect_timeout);
        return;
    }

    ngx_prefs_whclient_connected(c->write);
}


static void
ngx_prefs_whclient_connected(ngx_event_t *wev)
{
    int                        err;
    socklen_t                  len;
    ngx_connection_t          *c = wev->data;
    ngx_prefs_whclient_ctx_t  *ctx = c->data;

    if (wev->timedout) {
        ngx_prefs_whclient_broken(ctx, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_INFO, ctx->log, err,
                      "prefs webhook: connect() to %V failed", &ctx->key);
        ngx_prefs_whclient_broken(ctx, "connection refused or unreachable");
        return;
    }

#if (NGX_SSL)
    if (ctx->url.https) {
        ngx_prefs_whclient_ssl_start(ctx);
        return;
    }
#endif

    ngx_prefs_whclient_send_request(ctx);
}


static void
ngx_prefs_whclient_dummy(ngx_event_t *ev)
{
}


#if (NGX_SSL)

static void
ngx_prefs_whclient_ssl_start(ngx_prefs_whclient_ctx_t *ctx)
{
    SSL               *ssl;
    ngx_int_t          rc;
    ngx_connection_t  *c = ctx->conn->connection;

    if (ctx->pmcf->webhook.ssl == NULL) {
        ngx_prefs_whclient_fail(ctx, 0, "HTTPS is unavailable: no "
                                "prefs_webhook_ca_file could be loaded");
        return;
    }

    if (ngx_ssl_create_connection(ctx->pmcf->webhook.ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_prefs_whclient_fail(ctx, 0, "cannot create a TLS connection");
        return;
    }

    ssl = c->ssl->connection;

    if (SSL_set_ex_data(ssl, ngx_prefs_whclient_ssl_index, ctx->conn) == 0) {
        ngx_prefs_whclient_fail(ctx, 0, "cannot create a TLS connection");
        return;
    }

    c->ssl->save_session = ngx_prefs_whclient_ssl_save_session;

    if (ngx_ssl_set_session(c, ngx_prefs_whclient_ssl_session(&ctx->key, 0))
        != NGX_OK)
    {
        ngx_prefs_whclient_fail(ctx, 0, "cannot set the TLS session");
        return;
    }

    if (ctx->url.host_type == PREFS_URL_HOST_NAME) {
        /* SNI, and the name the certificate must hold */
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

        if (SSL_set_tlsext_host_name(ssl, (char *) ctx->host.data) != 1
            || SSL_set1_host(ssl, (char *) ctx->host.data) != 1)
        {
            ngx_prefs_whclient_fail(ctx, 0, "cannot set the TLS server name");
            return;
        }

    } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
                                             (char *) ctx->host.data)
               != 1)
    {
        ngx_prefs_whclient_fail(ctx, 0, "cannot set the TLS server address");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_prefs_whclient_ssl_handshaked;
        return;
    }

    ngx_prefs_whclient_ssl_handshaked(c);
}


static void
ngx_prefs_whclient_ssl_handshaked(ngx_connection_t *c)
{
    long                       rc;
    ngx_prefs_whclient_ctx_t  *ctx = c->data;

    if (!c->ssl->handshaked) {
        (void) ngx_prefs_whclient_ssl_session(&ctx->key, 1);
        ngx_prefs_whclient_fail(ctx, 0, "TLS handshake with %V failed",
                                &ctx->key);
        return;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        (void) ngx_prefs_whclient_ssl_session(&ctx->key, 1);
        ngx_prefs_whclient_fail(ctx, 0, "TLS certificate of %V not accepted: "
                                "(%l) %s", &ctx->key, rc,
                                X509_verify_cert_error_string(rc));
        return;
    }

    if (SSL_get0_peer_certificate(c->ssl->connection) == NULL) {
        (void) ngx_prefs_whclient_ssl_session(&ctx->key, 1);
        ngx_prefs_whclient_fail(ctx, 0, "%V sent no TLS certificate",
                                &ctx->key);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ctx->log, 0,
                   "prefs webhook: TLS with %V%s", &ctx->key,
                   SSL_session_reused(c->ssl->connection) ? ", resumed" : "");

    c->read->handler = ngx_prefs_whclient_read_handler;
    c->write->handler = ngx_prefs_whclient_write_handler;

    ngx_prefs_whclient_send_request(ctx);
}



/* OpenSSL has a new session (during or after the handshake): keep it */

static void
ngx_prefs_whclient_ssl_save_session(ngx_connection_t *c)
{
    ngx_uint_t                     i;
    ngx_ssl_session_t             *session;
    ngx_prefs_whclient_conn_t     *wc;
    ngx_prefs_whclient_session_t  *s;

    wc = SSL_get_ex_data(c->ssl->connection, ngx_prefs_whclient_ssl_index);
    if (wc == NULL || wc->key.len > NGX_PREFS_WHC_KEY_LEN) {
        return;
    }

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    for (i = 0; i < NGX_PREFS_WHC_SESSIONS; i++) {
        s = &ngx_prefs_whclient_sessions[i];

        if (s->session && s->key_len == wc->key.len
            && ngx_memcmp(s->key, wc->key.data, s->key_len) == 0)
        {
            break;
        }
    }

    if (i == NGX_PREFS_WHC_SESSIONS) {
        s = &ngx_prefs_whclient_sessions[ngx_prefs_whclient_session_next++
                                    % NGX_PREFS_WHC_SESSIONS];
    }

    if (s->session) {
        ngx_ssl_free_session(s->session);
    }

    s->session = session;
    s->key_len = wc->key.len;
    ngx_memcpy(s->key, wc->key.data, wc->key.len);
}


/* the session kept for a destination (not referenced), or forgets it */

static ngx_ssl_session_t *
ngx_prefs_whclient_ssl_session(ngx_str_t *key, ngx_uint_t remove)
{
    ngx_uint_t                     i;
    ngx_ssl_session_t             *session;
    ngx_prefs_whclient_session_t  *s;

    for (i = 0; i < NGX_PREFS_WHC_SESSIONS; i++) {
        s = &ngx_prefs_whclient_sessions[i];

        if (s->session && s->key_len == key->len
            && ngx_memcmp(s->key, key->data, key->len) == 0)
        {
            session = s->session;

            if (remove) {
                ngx_ssl_free_session(session);
                s->session = NULL;
                return NULL;
            }

            return session;
        }
    }

    return NULL;
}

#endif


static void
ngx_prefs_whclient_send_request(ngx_prefs_whclient_ctx_t *ctx)
{
    ssize_t            n;
    u_char            *pos;
    ngx_connection_t  *c = ctx->conn->connection;

    c->read->handler = ngx_prefs_whclient_read_handler;
    c->write->handler = ngx_prefs_whclient_write_handler;

    pos = ctx->out_pos;

    while (pos < ctx->out_last) {
        n = c->send(c, pos, ctx->out_last - pos);

        if (n == NGX_AGAIN) {
            ctx->out_pos = pos;
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_prefs_whclient_broken(ctx, "cannot wait to write");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_prefs_whclient_broken(ctx, "cannot send the request");
            return;
        }

        pos += n;
    }

    /* all sent: from here on the response is read */

    ctx->out_pos = pos;
    ctx->sent = 1;
    c->write->handler = ngx_prefs_whclient_dummy;

    ngx_prefs_whclient_read_handler(c->read);
}


static void
ngx_prefs_whclient_write_handler(ngx_event_t *wev)
{
    ngx_connection_t          *c = wev->data;
    ngx_prefs_whclient_ctx_t  *ctx = c->data;

    ngx_prefs_whclient_send_request(ctx);
}


static void
ngx_prefs_whclient_read_handler(ngx_event_t *rev)
{
    int                        rc;
    size_t                     used;
    ssize_t                    n;
    ngx_connection_t          *c = rev->data;
    ngx_prefs_whclient_ctx_t  *ctx = c->data;

    if (!ctx->sent) {
        /* still sending: a response this early is read afterwards */
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_prefs_whclient_broken(ctx, "cannot wait to read");
        }
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ctx->in, NGX_PREFS_WHC_READ_SIZE);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_prefs_whclient_broken(ctx, "cannot wait to read");
            }
            return;
        }

        if (n == NGX_ERROR) {
            ngx_prefs_whclient_broken(ctx, "cannot read the response");
            return;
        }

        if (n == 0) {
            if (prefs_httpresp_eof(ctx->resp) == PREFS_HTTPRESP_DONE) {
                ngx_prefs_whclient_response(ctx, 0);
                return;
            }

            ngx_prefs_whclient_broken(ctx, ctx->resp->error);
            return;
        }

        rc = prefs_httpresp_parse(ctx->resp, (char *) ctx->in, (size_t) n,
                                  &used);

        if (rc == PREFS_HTTPRESP_DONE) {
            /* bytes past the response: the connection cannot be trusted */
            ngx_prefs_whclient_response(ctx, ctx->resp->keepalive
                                        && used == (size_t) n);
            return;
        }

        if (rc == PREFS_HTTPRESP_ERROR) {
            ngx_prefs_whclient_fail(ctx, 0, "bad response from %V: %s",
                                    &ctx->key, ctx->resp->error);
            return;
        }
    }
}


static void
ngx_prefs_whclient_response(ngx_prefs_whclient_ctx_t *ctx, ngx_uint_t keepalive)
{
    ngx_prefs_whclient_req_t   *req = ctx->req;
    ngx_prefs_whclient_conn_t  *wc = ctx->conn;

    req->status = ctx->resp->status;
    req->retry_after = ctx->resp->retry_after;

    req->response.data = ngx_pnalloc(req->pool, ctx->resp->body_len + 1);
    if (req->response.data) {
        ngx_memcpy(req->response.data, ctx->body, ctx->resp->body_len);
        req->response.data[ctx->resp->body_len] = '\0';
        req->response.len = ctx->resp->body_len;
    }

    ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                  "prefs webhook: %V answered %i%s", &ctx->key,
                  req->status, ctx->reused ? " on a kept connection" : "");

    ctx->conn = NULL;
    wc->exchanges++;

    if (keepalive && ctx->pmcf->webhook.keepalive) {
        ngx_prefs_whclient_idle_put(wc);

    } else {
        ngx_prefs_whclient_close(wc->connection);
    }

    ngx_prefs_whclient_finish(ctx);
}


/*
 * The connection failed.  One that was kept from an earlier exchange may
 * have been closed by the server meanwhile: if nothing of the response
 * came, the request goes once more on a new connection.
 */

static void
ngx_prefs_whclient_broken(ngx_prefs_whclient_ctx_t *ctx, const char *what)
{
    ngx_connection_t  *c;

    c = ctx->conn->connection;

    if (ctx->reused && !ctx->resp->got_bytes && !ctx->retried) {
        ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                      "prefs webhook: a kept connection to %V failed (%s), "
                      "retrying on a new one", &ctx->key, what);

        ctx->conn = NULL;
        ngx_prefs_whclient_close(c);

        ctx->retried = 1;
        ctx->next_addr = 0;
        ngx_prefs_whclient_start(ctx);
        return;
    }

    if (!ctx->reused && c->write->handler == ngx_prefs_whclient_connected
        && ctx->next_addr < ctx->naddrs)
    {
        /* not connected: the name's next address */
        ctx->conn = NULL;
        ngx_prefs_whclient_close(c);
        ngx_prefs_whclient_connect(ctx);
        return;
    }

    ngx_prefs_whclient_fail(ctx, 0, "%V: %s", &ctx->key,
                            what ? what : "connection failed");
}


static void
ngx_prefs_whclient_fail(ngx_prefs_whclient_ctx_t *ctx, ngx_uint_t refused,
    const char *fmt, ...)
{
    u_char                    *p, buf[NGX_MAX_ERROR_STR];
    va_list                    args;
    ngx_uint_t                 level;
    ngx_prefs_whclient_req_t  *req = ctx->req;

    if (ctx->finished) {
        return;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    req->status = 0;
    req->refused = refused ? 1 : 0;

    req->error.data = ngx_pnalloc(req->pool, p - buf + 1);
    if (req->error.data) {
        ngx_memcpy(req->error.data, buf, p - buf);
        req->error.data[p - buf] = '\0';
        req->error.len = p - buf;
    }

    level = refused ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(level, ctx->log, 0, "prefs webhook: %*s%s", p - buf, buf,
                  refused ? " (refused)" : "");

    if (ctx->conn) {
        ngx_prefs_whclient_close(ctx->conn->connection);
        ctx->conn = NULL;
    }

    if (ctx->resolving) {
        ngx_resolve_name_done(ctx->resolving);
        ctx->resolving = NULL;
    }

    ngx_prefs_whclient_finish(ctx);
}


/* the handler is never called from inside ngx_prefs_whclient_send() */

static void
ngx_prefs_whclient_finish(ngx_prefs_whclient_ctx_t *ctx)
{
    if (ctx->finished) {
        return;
    }

    ctx->finished = 1;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ngx_post_event(&ctx->done, &ngx_posted_events);
}


static void
ngx_prefs_whclient_done_handler(ngx_event_t *ev)
{
    ngx_prefs_whclient_ctx_t  *ctx = ev->data;

    ngx_prefs_whclient_req_t  *req;

    req = ctx->req;
    ctx->cln->handler = NULL;

    ngx_destroy_pool(ctx->pool);

    req->handler(req);
}


static void
ngx_prefs_whclient_timeout_handler(ngx_event_t *ev)
{
    ngx_prefs_whclient_ctx_t  *ctx = ev->data;

    ngx_prefs_whclient_fail(ctx, 0, "%V: no complete answer within the timeout",
                            &ctx->key);
}


/* the caller's pool is being destroyed before the handler ran */

static void
ngx_prefs_whclient_cancel(void *data)
{
    ngx_prefs_whclient_ctx_t  *ctx = data;

    ngx_prefs_whclient_abort(ctx);
}


static void
ngx_prefs_whclient_abort(ngx_prefs_whclient_ctx_t *ctx)
{
    if (ctx->done.posted) {
        ngx_delete_posted_event(&ctx->done);
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (ctx->resolving) {
        ngx_resolve_name_done(ctx->resolving);
        ctx->resolving = NULL;
    }

    if (ctx->conn) {
        ngx_prefs_whclient_close(ctx->conn->connection);
        ctx->conn = NULL;
    }

    ngx_destroy_pool(ctx->pool);
}


/* the most recently parked connection to one of the addresses */

static ngx_prefs_whclient_conn_t *
ngx_prefs_whclient_idle_get(ngx_prefs_whclient_ctx_t *ctx)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_prefs_whclient_conn_t  *wc;

    for (q = ngx_queue_head(&ngx_prefs_whclient_idle);
         q != ngx_queue_sentinel(&ngx_prefs_whclient_idle);
         q = ngx_queue_next(q))
    {
        wc = ngx_queue_data(q, ngx_prefs_whclient_conn_t, queue);

        if (wc->key.len != ctx->key.len
            || ngx_strncmp(wc->key.data, ctx->key.data, ctx->key.len) != 0)
        {
            continue;
        }

        for (i = 0; i < ctx->naddrs; i++) {
            if (ngx_cmp_sockaddr(wc->sockaddr, wc->socklen,
                                 ctx->addrs[i].sockaddr,
                                 ctx->addrs[i].socklen, 1)
                == NGX_OK)
            {
                break;
            }
        }

        if (i == ctx->naddrs) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_init(q);
        ngx_prefs_whclient_nidle--;

        c = wc->connection;
        c->idle = 0;
        c->log = ctx->log;
        c->read->log = ctx->log;
        c->write->log = ctx->log;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        return wc;
    }

    return NULL;
}


static void
ngx_prefs_whclient_idle_put(ngx_prefs_whclient_conn_t *wc)
{
    u_char                        b;
    ssize_t                       n;
    ngx_uint_t                    same;
    ngx_queue_t                  *q, *oldest;
    ngx_connection_t             *c = wc->connection;
    ngx_prefs_whclient_conn_t    *other;
    ngx_http_prefs_main_conf_t   *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_prefs_module);

    if (c->read->ready) {
        /* anything to read now is unasked for, or the server's close */
        n = c->recv(c, &b, 1);

        if (n != NGX_AGAIN) {
            ngx_prefs_whclient_close(c);
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_prefs_whclient_close(c);
        return;
    }

    /* bounded per destination and in all: the oldest make room */

    same = 0;
    oldest = NULL;

    for (q = ngx_queue_head(&ngx_prefs_whclient_idle);
         q != ngx_queue_sentinel(&ngx_prefs_whclient_idle);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_prefs_whclient_conn_t, queue);

        if (other->key.len == wc->key.len
            && ngx_strncmp(other->key.data, wc->key.data, wc->key.len) == 0)
        {
            same++;
            oldest = q;
        }
    }

    if (same >= pmcf->webhook.keepalive && oldest) {
        other = ngx_queue_data(oldest, ngx_prefs_whclient_conn_t, queue);
        ngx_prefs_whclient_close(other->connection);
    }

    if (ngx_prefs_whclient_nidle >= NGX_PREFS_WHC_IDLE_MAX) {
        q = ngx_queue_last(&ngx_prefs_whclient_idle);
        other = ngx_queue_data(q, ngx_prefs_whclient_conn_t, queue);
        ngx_prefs_whclient_close(other->connection);
    }

    ngx_queue_insert_head(&ngx_prefs_whclient_idle, &wc->queue);
    ngx_prefs_whclient_nidle++;

    c->data = wc;
    c->idle = 1;
    c->log = ngx_cycle->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_prefs_whclient_idle_handler;
    c->write->handler = ngx_prefs_whclient_dummy;

    ngx_add_timer(c->read, pmcf->webhook.keepalive_timeout);
}


/* an idle connection that times out, or that the server closes */

static void
ngx_prefs_whclient_idle_handler(ngx_event_t *ev)
{
    int                         n;
    char                        buf[1];
    ngx_connection_t           *c = ev->data;
    ngx_prefs_whclient_conn_t  *wc = c->data;

    if (ev->timedout || c->close) {
        goto close;
    }

#if (NGX_SSL)
    if (c->ssl) {
        /* a TLS close_notify or a stray record: either way, done with it */
        goto close;
    }
#endif

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        ev->ready = 0;

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            goto close;
        }

        return;
    }

close:

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "prefs webhook: closing an idle connection to %V",
                   &wc->key);

    ngx_prefs_whclient_close(c);
}


static void
ngx_prefs_whclient_close(ngx_connection_t *c)
{
    ngx_pool_t                 *pool;
    ngx_prefs_whclient_conn_t  *wc;

    if (c->idle) {
        wc = c->data;
        ngx_queue_remove(&wc->queue);
        ngx_prefs_whclient_nidle--;
        c->idle = 0;
    }

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/* configuration */

char *
ngx_prefs_whclient_allow_network(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_main_conf_t *pmcf = conf;

    ngx_str_t               *value;
    ngx_uint_t               i;
    prefs_netpolicy_cidr_t  *cidr;

    if (pmcf->webhook.allow == NULL) {
        pmcf->webhook.allow = ngx_array_create(cf->pool, 4,
                                               sizeof(prefs_netpolicy_cidr_t));
        if (pmcf->webhook.allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(pmcf->webhook.allow);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        if (prefs_netpolicy_cidr_parse((char *) value[i].data, value[i].len,
                                       cidr)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid network \"%V\": write an address "
                               "or address/prefix, such as 127.0.0.0/8",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_prefs_whclient_resolver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_prefs_main_conf_t *pmcf = conf;

    ngx_str_t  *value;

    if (pmcf->webhook.resolver) {
        return "is duplicate";
    }

    value = cf->args->elts;

    pmcf->webhook.resolver = ngx_resolver_create(cf, &value[1],
                                                 cf->args->nelts - 1);
    if (pmcf->webhook.resolver == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * After the configuration is read: the TLS context, with the CA file.  A
 * missing default CA file only leaves HTTPS unavailable (and says so); one
 * named by the directive must load.
 */

ngx_int_t
ngx_prefs_whclient_init_conf(ngx_conf_t *cf, ngx_http_prefs_main_conf_t *pmcf)
{
#if (NGX_SSL)
    ngx_ssl_t           *ssl;
    ngx_str_t            file;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    file = pmcf->webhook.ca_file;

    if (file.data == NULL) {
        ngx_str_set(&file, NGX_PREFS_WHC_CA_FILE);

        if (ngx_file_info(file.data, &fi) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_WARN, cf->log, ngx_errno,
                          "prefs_webhook_ca_file \"%V\" cannot be read: "
                          "HTTPS webhooks will fail", &file);
            return NGX_OK;
        }
    }

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (ngx_ssl_trusted_certificate(cf, ssl, &file, 8) != NGX_OK) {
        return NGX_ERROR;
    }

    /* new sessions reach ngx_prefs_whclient_ssl_save_session() */
    if (ngx_ssl_client_session_cache(cf, ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_prefs_whclient_ssl_index == -1) {
        ngx_prefs_whclient_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                            NULL);
        if (ngx_prefs_whclient_ssl_index == -1) {
            return NGX_ERROR;
        }
    }

    pmcf->webhook.ssl = ssl;
#endif

    return NGX_OK;
}
