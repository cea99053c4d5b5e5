
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * STUB of the webhook client (ngx_prefs_whclient.h), for the delivery
 * pipeline's own tests until the real client (src/ngx_prefs_whclient.c)
 * replaces this file: plain HTTP/1.1 only, IP-literal IPv4 hosts only (no
 * resolver, no TLS, no destination policy), one connection per request
 * ("Connection: close"), non-blocking on nginx's event loop.  Everything
 * else is refused.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_prefs_whclient.h"


#define NGX_PREFS_WHC_STUB_TIMEOUT  10000
#define NGX_PREFS_WHC_STUB_BUF      4096


typedef struct {
    ngx_prefs_whc_req_t       *req;
    ngx_peer_connection_t      peer;
    struct sockaddr_in         sin;
    ngx_str_t                  host;
    ngx_buf_t                 *out;
    u_char                    *in;
    size_t                     in_len;
    size_t                     body_seen;   /* bytes of body, all of them */
    off_t                      content_length;
    u_char                    *body_start;
    ngx_event_t                timer;
    ngx_event_t                post;
    unsigned                   headers_done:1;
    unsigned                   finished:1;
} ngx_prefs_whc_stub_t;


static void ngx_prefs_whc_stub_fail(ngx_prefs_whc_stub_t *st,
    const char *error, ngx_uint_t refused);
static void ngx_prefs_whc_stub_posted(ngx_event_t *ev);
static void ngx_prefs_whc_stub_timeout(ngx_event_t *ev);
static void ngx_prefs_whc_stub_write(ngx_event_t *wev);
static void ngx_prefs_whc_stub_read(ngx_event_t *rev);
static ngx_int_t ngx_prefs_whc_stub_parse(ngx_prefs_whc_stub_t *st);
static void ngx_prefs_whc_stub_finish(ngx_prefs_whc_stub_t *st);


ngx_int_t
ngx_prefs_whc_send(ngx_prefs_whc_req_t *req)
{
    u_char                *p, *last, *host, *path;
    size_t                 len;
    in_addr_t              addr;
    ngx_int_t              port, rc;
    ngx_prefs_whc_stub_t  *st;

    st = ngx_pcalloc(req->pool, sizeof(ngx_prefs_whc_stub_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    st->req = req;
    st->content_length = -1;
    req->status = 0;
    req->retry_after = -1;
    ngx_str_null(&req->response);
    ngx_str_null(&req->error);
    req->refused = 0;

    st->post.handler = ngx_prefs_whc_stub_posted;
    st->post.data = st;
    st->post.log = ngx_cycle->log;

    st->timer.handler = ngx_prefs_whc_stub_timeout;
    st->timer.data = st;
    st->timer.log = ngx_cycle->log;

    /* http://a.b.c.d[:port][/path] */

    p = req->url.data;
    last = p + req->url.len;

    if (req->url.len < 8 || ngx_strncasecmp(p, (u_char *) "http://", 7) != 0)
    {
        ngx_prefs_whc_stub_fail(st, "the stub client sends plain http:// "
                                "only", 1);
        return NGX_OK;
    }

    host = p + 7;

    for (p = host; p < last && *p != ':' && *p != '/'; p++) { /* void */ }

    addr = ngx_inet_addr(host, p - host);

    if (addr == INADDR_NONE) {
        ngx_prefs_whc_stub_fail(st, "the stub client takes IPv4 literals "
                                "only", 1);
        return NGX_OK;
    }

    st->host.data = host;
    port = 80;

    if (p < last && *p == ':') {
        path = ngx_strlchr(p, last, '/');
        port = ngx_atoi(p + 1, (path ? path : last) - p - 1);

        if (port < 1 || port > 65535) {
            ngx_prefs_whc_stub_fail(st, "bad port in the url", 1);
            return NGX_OK;
        }

        p = path ? path : last;
    }

    st->host.len = p - host;
    path = p;

    st->sin.sin_family = AF_INET;
    st->sin.sin_port = htons((in_port_t) port);
    st->sin.sin_addr.s_addr = addr;

    len = sizeof("POST  HTTP/1.1\r\nHost: \r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: \r\nConnection: close\r\n"
                 "User-Agent: ngx_prefs\r\n\r\n")
          + (last - path) + 1 + st->host.len + NGX_SIZE_T_LEN
          + req->headers.len + req->body.len;

    st->out = ngx_create_temp_buf(req->pool, len);
    st->in = ngx_pnalloc(req->pool, NGX_PREFS_WHC_STUB_BUF);

    if (st->out == NULL || st->in == NULL) {
        return NGX_ERROR;
    }

    st->out->last = ngx_sprintf(st->out->last,
                                "POST %*s HTTP/1.1\r\nHost: %V\r\n"
                                "Content-Type: application/json\r\n"
                                "Content-Length: %uz\r\nConnection: close\r\n"
                                "User-Agent: ngx_prefs\r\n%V\r\n%V",
                                path == last ? (size_t) 1
                                             : (size_t) (last - path),
                                path == last ? (u_char *) "/" : path,
                                &st->host, req->body.len, &req->headers,
                                &req->body);

    st->peer.sockaddr = (struct sockaddr *) &st->sin;
    st->peer.socklen = sizeof(struct sockaddr_in);
    st->peer.name = &st->host;
    st->peer.get = ngx_event_get_peer;
    st->peer.log = ngx_cycle->log;
    st->peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&st->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        if (st->peer.connection) {
            ngx_close_connection(st->peer.connection);
            st->peer.connection = NULL;
        }

        ngx_prefs_whc_stub_fail(st, "connect failed", 0);
        return NGX_OK;
    }

    st->peer.connection->data = st;
    st->peer.connection->read->handler = ngx_prefs_whc_stub_read;
    st->peer.connection->write->handler = ngx_prefs_whc_stub_write;

    ngx_add_timer(&st->timer, req->timeout ? req->timeout
                                           : NGX_PREFS_WHC_STUB_TIMEOUT);

    if (rc == NGX_OK) {
        /* connected at once: write on the next turn, never from here */
        ngx_post_event(st->peer.connection->write, &ngx_posted_events);
    }

    return NGX_OK;
}


/* an outcome known before any I/O: the handler runs on a later turn */

static void
ngx_prefs_whc_stub_fail(ngx_prefs_whc_stub_t *st, const char *error,
    ngx_uint_t refused)
{
    st->req->error.data = (u_char *) error;
    st->req->error.len = ngx_strlen(error);
    st->req->refused = refused;
    st->finished = 1;

    ngx_post_event(&st->post, &ngx_posted_events);
}


static void
ngx_prefs_whc_stub_posted(ngx_event_t *ev)
{
    ngx_prefs_whc_stub_t  *st = ev->data;

    st->req->handler(st->req);
}


static void
ngx_prefs_whc_stub_timeout(ngx_event_t *ev)
{
    ngx_prefs_whc_stub_t  *st = ev->data;

    ngx_str_set(&st->req->error, "timed out");
    st->req->status = 0;
    ngx_prefs_whc_stub_finish(st);
}


static void
ngx_prefs_whc_stub_write(ngx_event_t *wev)
{
    ssize_t                n;
    ngx_connection_t      *c = wev->data;
    ngx_prefs_whc_stub_t  *st = c->data;

    while (st->out->pos < st->out->last) {
        n = c->send(c, st->out->pos, st->out->last - st->out->pos);

        if (n == NGX_ERROR) {
            ngx_str_set(&st->req->error, "connection failed");
            ngx_prefs_whc_stub_finish(st);
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_str_set(&st->req->error, "connection failed");
                ngx_prefs_whc_stub_finish(st);
            }

            return;
        }

        st->out->pos += n;
    }

    wev->handler = ngx_prefs_whc_stub_read;   /* nothing more to write */

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_str_set(&st->req->error, "connection failed");
        ngx_prefs_whc_stub_finish(st);
        return;
    }

    if (c->read->ready) {
        ngx_prefs_whc_stub_read(c->read);
    }
}


static void
ngx_prefs_whc_stub_read(ngx_event_t *rev)
{
    ssize_t                n;
    ngx_connection_t      *c = rev->data;
    ngx_prefs_whc_stub_t  *st = c->data;
    u_char                 discard[NGX_PREFS_WHC_STUB_BUF];

    if (st->out->pos < st->out->last) {
        /* a write event, rerouted: still writing */
        ngx_prefs_whc_stub_write(c->write);
        return;
    }

    for ( ;; ) {
        if (st->in_len < NGX_PREFS_WHC_STUB_BUF) {
            n = c->recv(c, st->in + st->in_len,
                        NGX_PREFS_WHC_STUB_BUF - st->in_len);
            if (n > 0) {
                st->in_len += n;
            }

        } else {
            n = c->recv(c, discard, sizeof(discard));
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_str_set(&st->req->error, "connection failed");
                ngx_prefs_whc_stub_finish(st);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            if (ngx_prefs_whc_stub_parse(st) == NGX_ERROR
                || !st->headers_done)
            {
                if (st->req->error.len == 0) {
                    ngx_str_set(&st->req->error,
                                "connection closed before an answer");
                }

                st->req->status = 0;
            }

            ngx_prefs_whc_stub_finish(st);
            return;
        }

        if (st->headers_done) {
            st->body_seen += n;

        } else {
            switch (ngx_prefs_whc_stub_parse(st)) {
            case NGX_ERROR:
                st->req->status = 0;
                ngx_prefs_whc_stub_finish(st);
                return;
            case NGX_AGAIN:
                if (st->in_len == NGX_PREFS_WHC_STUB_BUF) {
                    ngx_str_set(&st->req->error, "answer header too long");
                    st->req->status = 0;
                    ngx_prefs_whc_stub_finish(st);
                    return;
                }
                continue;
            default:
                break;
            }
        }

        if (st->content_length >= 0
            && (off_t) st->body_seen >= st->content_length)
        {
            ngx_prefs_whc_stub_finish(st);
            return;
        }
    }
}


/* NGX_OK once the status line and headers are in, NGX_AGAIN before */

static ngx_int_t
ngx_prefs_whc_stub_parse(ngx_prefs_whc_stub_t *st)
{
    u_char               *p, *end, *line, *eol, *colon, *v;
    ngx_int_t             n;
    ngx_prefs_whc_req_t  *req = st->req;

    if (st->headers_done) {
        return NGX_OK;
    }

    end = ngx_strlcasestrn(st->in, st->in + st->in_len,
                           (u_char *) "\r\n\r\n", 4 - 1);
    if (end == NULL) {
        return NGX_AGAIN;
    }

    if (st->in_len < 12 || ngx_strncmp(st->in, "HTTP/1.", 7) != 0) {
        ngx_str_set(&req->error, "not an HTTP/1 answer");
        return NGX_ERROR;
    }

    n = ngx_atoi(st->in + 9, 3);
    if (n < 100 || n > 599) {
        ngx_str_set(&req->error, "bad status line");
        return NGX_ERROR;
    }

    req->status = n;

    line = ngx_strlchr(st->in, end, '\n');

    while (line && line < end) {
        line++;
        eol = ngx_strlchr(line, end + 2, '\r');
        if (eol == NULL) {
            break;
        }

        colon = ngx_strlchr(line, eol, ':');

        if (colon) {
            for (v = colon + 1; v < eol && *v == ' '; v++) { /* void */ }

            if (colon - line == 14
                && ngx_strncasecmp(line, (u_char *) "Content-Length", 14)
                   == 0)
            {
                st->content_length = ngx_atoof(v, eol - v);

            } else if (colon - line == 11
                       && ngx_strncasecmp(line, (u_char *) "Retry-After",
                                          11) == 0)
            {
                /* seconds only; an HTTP-date counts as not given */
                req->retry_after = ngx_atotm(v, eol - v);
                if (req->retry_after == NGX_ERROR) {
                    req->retry_after = -1;
                }
            }
        }

        line = eol + 1;
    }

    p = end + 4;
    st->body_start = p;
    st->body_seen = st->in + st->in_len - p;
    st->headers_done = 1;

    return NGX_OK;
}


static void
ngx_prefs_whc_stub_finish(ngx_prefs_whc_stub_t *st)
{
    size_t                len;
    ngx_prefs_whc_req_t  *req = st->req;

    if (st->finished) {
        return;
    }

    st->finished = 1;

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    if (st->peer.connection) {
        ngx_close_connection(st->peer.connection);
        st->peer.connection = NULL;
    }

    if (req->status && st->body_start) {
        len = st->in + st->in_len - st->body_start;

        if (st->content_length >= 0 && (off_t) len > st->content_length) {
            len = (size_t) st->content_length;
        }

        req->response.data = st->body_start;
        req->response.len = len;
        ngx_str_null(&req->error);
    }

    req->handler(req);
}
