
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * What every handler needs: JSON answers, {"Message": ...} errors, and
 * running a database query on behalf of a request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_http.h"


#define NGX_PREFS_HTTP_MESSAGE_MAX  512


static void ngx_prefs_http_check_broken(ngx_http_request_t *r);


static ngx_str_t  ngx_prefs_http_json_type =
    ngx_string("application/json; charset=utf-8");


ngx_int_t
ngx_prefs_http_header(ngx_http_request_t *r, const char *name,
    const char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = len ? len : ngx_strlen(value);

    return NGX_OK;
}


ngx_int_t
ngx_prefs_http_retry_after(ngx_http_request_t *r, time_t seconds)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    return ngx_prefs_http_header(r, "Retry-After", (char *) p,
                                 ngx_sprintf(p, "%T", seconds) - p);
}


/*
 * The origin (scheme://host[:port]) of a Location: prefs_public_url when it
 * is set; else the server's own name (its first server_name) with the
 * connection's scheme and the port it was reached on, unless that is the
 * scheme's default (or port_in_redirect is off); never the request's Host.
 * Empty when the server has no name that is a host ("", "_", a wildcard):
 * Location is then the path alone.
 */

ngx_int_t
ngx_prefs_http_origin(ngx_http_request_t *r, ngx_str_t *origin)
{
    u_char                     *p, c;
    ngx_uint_t                  i, port, https;
    ngx_str_t                  *name;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_prefs_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    if (plcf->public_url.len) {
        *origin = plcf->public_url;
        return NGX_OK;
    }

    origin->len = 0;
    origin->data = NULL;

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    name = &cscf->server_name;

    for (i = 0; i < name->len; i++) {
        c = ngx_tolower(name->data[i]);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '.'))
        {
            return NGX_OK;
        }
    }

    if (name->len == 0) {
        return NGX_OK;
    }

    https = 0;

#if (NGX_HTTP_SSL)
    https = (r->connection->ssl != NULL);
#endif

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    port = 0;

    if (clcf->port_in_redirect
        && ngx_connection_local_sockaddr(r->connection, NULL, 0) == NGX_OK)
    {
        port = ngx_inet_get_port(r->connection->local_sockaddr);

        if (port == (https ? 443 : 80)) {
            port = 0;
        }
    }

    p = ngx_pnalloc(r->pool, sizeof("https://:65535") - 1 + name->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    origin->data = p;
    p = ngx_sprintf(p, "%s://%V", https ? "https" : "http", name);

    if (port) {
        p = ngx_sprintf(p, ":%ui", port);
    }

    origin->len = p - origin->data;

    return NGX_OK;
}


/*
 * Location of a created item: the origin (above), base (a collection's
 * path), then sub (a literal path part, or ""), then the item's key,
 * escaped.  It is absolute already (or deliberately relative): nginx's
 * header filter, which would build it from the request's Host, is not
 * given it.
 */

ngx_int_t
ngx_prefs_http_location(ngx_http_request_t *r, ngx_str_t *base,
    const char *sub, u_char *key, size_t len)
{
    u_char           *p;
    uintptr_t         esc;
    ngx_str_t         origin;
    ngx_table_elt_t  *h;

    if (ngx_prefs_http_origin(r, &origin) != NGX_OK) {
        return NGX_ERROR;
    }

    esc = ngx_escape_uri(NULL, key, len, NGX_ESCAPE_URI_COMPONENT);

    p = ngx_pnalloc(r->pool, origin.len + base->len + 1 + ngx_strlen(sub)
                             + len + 2 * esc);
    h = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = p;

    p = ngx_sprintf(p, "%V%V%s%s", &origin, base,
                    base->len && base->data[base->len - 1] == '/' ? "" : "/",
                    sub);
    p = (u_char *) ngx_escape_uri(p, key, len, NGX_ESCAPE_URI_COMPONENT);

    h->value.len = p - h->value.data;

    return NGX_OK;
}


/* every JSON answer leaves through here */

ngx_int_t
ngx_prefs_http_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_chain_t  out;

    out.buf = b;
    out.next = NULL;

    return ngx_prefs_http_send_chain(r, status, &out, b->last - b->pos);
}


/* an answer of several buffers (len bytes in all), such as a page of
 * documents sent from a result's memory; the last link ends it */

ngx_int_t
ngx_prefs_http_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, off_t len)
{
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_prefs_http_json_type;
    r->headers_out.content_type_len = ngx_prefs_http_json_type.len;
    r->headers_out.content_length_n = len;

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


ngx_int_t
ngx_prefs_http_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    size_t      len;
    ngx_buf_t  *b;

    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = json_dumpb(body, NULL, 0, JSON_COMPACT);

    b = ngx_create_temp_buf(r->pool, len ? len : 1);
    if (b == NULL) {
        json_decref(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last += json_dumpb(body, (char *) b->pos, len, JSON_COMPACT);
    json_decref(body);

    return ngx_prefs_http_send_buf(r, status, b);
}


/* an answer the database already rendered as JSON text */

ngx_int_t
ngx_prefs_http_send_text(ngx_http_request_t *r, ngx_uint_t status,
    const char *json, size_t len)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, len ? len : 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, json, len);

    return ngx_prefs_http_send_buf(r, status, b);
}


/*
 * The whole request body in one piece: what nginx kept in memory and what
 * it wrote to a file past client_body_buffer_size.  NGX_DECLINED: longer
 * than max.
 */

ngx_int_t
ngx_prefs_http_read_body(ngx_http_request_t *r, size_t max, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    if (len > max) {
        return NGX_DECLINED;
    }

    /*
     * An empty body (Content-Length: 0, a chunked body of no chunks) comes
     * as a buffer with no memory behind it: nothing to copy from.
     */

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;

        } else if (b->last != b->pos) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *p = '\0';
    body->len = len;

    return NGX_OK;
}


ngx_int_t
ngx_prefs_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;
    u_char    msg[NGX_PREFS_HTTP_MESSAGE_MAX];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    /* an error answer never keeps a half-read body around */
    r->keepalive = r->keepalive && r->request_body == NULL
                   && r->headers_in.content_length_n <= 0;

    return ngx_prefs_http_send_json(r, status,
                                    json_pack("{s:s}", "Message", msg));
}


ngx_int_t
ngx_prefs_http_db_error(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    if (q->status == NGX_PREFS_DB_SQL_ERROR) {
        return ngx_prefs_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "Internal error");
    }

    if (ngx_prefs_http_retry_after(r, q->status == NGX_PREFS_DB_UNAVAILABLE
                                      ? 5 : 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (q->status == NGX_PREFS_DB_UNAVAILABLE) {
        return ngx_prefs_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                          "The service is temporarily unavailable: "
                          "its database cannot be reached");
    }

    return ngx_prefs_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "The service is temporarily unavailable: %s",
                                ngx_prefs_db_status_text(q));
}


ngx_int_t
ngx_prefs_http_query(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    q->log = r->connection->log;
    q->wait.log = r->connection->log;
    q->data = r;

    if (ngx_prefs_db_query_cleanup(r->pool, q) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a client that goes away cancels its query */
    r->read_event_handler = ngx_prefs_http_check_broken;

    r->main->count++;

    ngx_prefs_db_submit(q);

    return NGX_DONE;
}


void
ngx_prefs_http_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_prefs_http_check_broken(ngx_http_request_t *r)
{
    int                n;
    char               buf[1];
    ngx_err_t          err;
    ngx_event_t       *rev;
    ngx_connection_t  *c;

    c = r->connection;
    rev = c->read;

    if (c->error || rev->eof) {
        return;
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = ngx_socket_errno;

    if (n > 0 || (n == -1 && err == NGX_EAGAIN)) {
        /* a pipelined request, or nothing: stop a level-triggered spin */
        if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && rev->active) {
            (void) ngx_del_event(rev, NGX_READ_EVENT, 0);
        }

        return;
    }

    rev->eof = 1;
    c->error = 1;

    ngx_log_error(NGX_LOG_INFO, c->log, n == 0 ? 0 : err,
                  "client prematurely closed connection, "
                  "its database query is dropped");

    ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
}
