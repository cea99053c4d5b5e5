
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The webhook client: a non-blocking HTTP/1.1 POST on the helper
 * process's event loop (nginx's resolver, TLS through ngx_event_openssl
 * with certificate verification, keep-alive connections per destination,
 * destination policy: HTTPS only and global addresses only unless the
 * directives allow otherwise).
 *
 * The caller fills a request and calls ngx_prefs_whclient_send(); the handler
 * is called exactly once, never from inside ngx_prefs_whclient_send() itself,
 * with the outcome in the request's "out" fields.  The request (and its
 * pool, which the caller owns) must stay alive until the handler runs.
 *
 * ngx_prefs_whclient_send() returns NGX_OK, and the handler will run; or
 * NGX_ERROR when it could not even start (no memory), and the handler will
 * not run.  Destroying the request's pool before the handler ran cancels
 * the exchange (the connection is closed, the handler never called).
 */


#ifndef _NGX_PREFS_WHCLIENT_H_INCLUDED_
#define _NGX_PREFS_WHCLIENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"


typedef struct ngx_prefs_whclient_req_s  ngx_prefs_whclient_req_t;

typedef void (*ngx_prefs_whclient_handler_pt)(ngx_prefs_whclient_req_t *req);


struct ngx_prefs_whclient_req_s {
    /* in */
    ngx_str_t                  url;       /* http(s)://host[:port][/path] */
    ngx_str_t                  headers;   /* extra lines, each ending CRLF */
    ngx_str_t                  body;      /* sent as application/json */
    ngx_msec_t                 timeout;   /* whole exchange; 0: directive */
    ngx_pool_t                *pool;      /* the caller's; outputs live in it */
    ngx_prefs_whclient_handler_pt  handler;
    void                          *data;

    /* out */
    ngx_int_t                  status;    /* HTTP status; 0: no answer */
    time_t                     retry_after;  /* seconds; -1: none sent */
    ngx_str_t                  response;  /* first bytes of the body */
    ngx_str_t                  error;     /* empty when status != 0 */
    unsigned                   refused:1; /* policy refused it: no retry
                                             can succeed (scheme, address
                                             range, bad URL) */
};


ngx_int_t ngx_prefs_whclient_send(ngx_prefs_whclient_req_t *req);

/* the client's directives, and its TLS context */
#define NGX_PREFS_WHC_CA_FILE  "/etc/ssl/certs/ca-certificates.crt"

char *ngx_prefs_whclient_allow_network(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_prefs_whclient_resolver(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_prefs_whclient_init_conf(ngx_conf_t *cf,
    ngx_http_prefs_main_conf_t *pmcf);


#endif /* _NGX_PREFS_WHCLIENT_H_INCLUDED_ */
