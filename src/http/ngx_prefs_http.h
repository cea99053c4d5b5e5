
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_HTTP_H_INCLUDED_
#define _NGX_PREFS_HTTP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_prefs_db.h"


/* takes the body: it is freed whatever the answer */
ngx_int_t ngx_prefs_http_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body);
/* an answer header: value must live as long as the request (or be static) */
ngx_int_t ngx_prefs_http_header(ngx_http_request_t *r, const char *name,
    const char *value, size_t len);
ngx_int_t ngx_prefs_http_retry_after(ngx_http_request_t *r, time_t seconds);
/* scheme://host[:port] of the location (prefs_public_url), or empty */
ngx_int_t ngx_prefs_http_origin(ngx_http_request_t *r, ngx_str_t *origin);
ngx_int_t ngx_prefs_http_location(ngx_http_request_t *r, ngx_str_t *base,
    const char *sub, u_char *key, size_t len);
ngx_int_t ngx_prefs_http_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_int_t ngx_prefs_http_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, off_t len);
ngx_int_t ngx_prefs_http_read_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);
ngx_int_t ngx_prefs_http_send_text(ngx_http_request_t *r, ngx_uint_t status,
    const char *json, size_t len);
ngx_int_t ngx_prefs_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_prefs_http_db_error(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);

/* runs a query for a request; the handler finalizes it */
ngx_int_t ngx_prefs_http_query(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);
void ngx_prefs_http_finalize(ngx_http_request_t *r, ngx_int_t rc);


#endif /* _NGX_PREFS_HTTP_H_INCLUDED_ */
