
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_HTTPRESP_H_INCLUDED_
#define _PREFS_HTTPRESP_H_INCLUDED_


/*
 * An incremental HTTP/1.1 response parser for the webhook client: status
 * line, headers (the framing ones, Connection and Retry-After), then the
 * body by Content-Length, chunked transfer coding or until the connection
 * closes.  The first body_max bytes of the body are kept, the rest read
 * and dropped.  Interim 1xx responses are skipped.  Bounded: a line, the
 * header block and the number of header lines have limits, so a hostile
 * server costs a fixed amount of memory.  Plain C, no nginx types.
 */


#include <stddef.h>
#include <time.h>


#define PREFS_HTTPRESP_MAX_LINE      8192
#define PREFS_HTTPRESP_MAX_HEADERS   100
#define PREFS_HTTPRESP_MAX_HEADER    65536     /* the whole header block */

#define PREFS_HTTPRESP_AGAIN         0
#define PREFS_HTTPRESP_DONE          1
#define PREFS_HTTPRESP_ERROR        -1


typedef struct {
    /* out */
    int                  status;
    int                  minor;            /* HTTP/1.minor */
    long                 retry_after;      /* seconds; -1: none */
    long long            content_length;   /* -1: none */
    int                  chunked;
    int                  keepalive;        /* valid once done */
    int                  got_bytes;        /* anything was received */
    const char          *error;

    char                *body;             /* the caller's buffer */
    size_t               body_max;
    size_t               body_len;         /* kept */
    unsigned long long   body_total;       /* received */

    /* private */
    time_t               now;
    int                  state;
    int                  conn_close;
    int                  conn_keepalive;
    int                  until_close;
    unsigned             headers;
    size_t               header_bytes;
    unsigned long long   left;             /* of the body or the chunk */
    size_t               line_len;
    char                 line[PREFS_HTTPRESP_MAX_LINE];
} prefs_httpresp_t;


/* body: a buffer of body_max bytes (may be NULL when body_max is 0) */
void prefs_httpresp_init(prefs_httpresp_t *r, char *body, size_t body_max,
    time_t now);

/*
 * Feeds data[0..len); *used tells how much of it belongs to this response
 * (the rest, after DONE, is the start of something the server should not
 * have sent).  Returns PREFS_HTTPRESP_AGAIN, _DONE or _ERROR (r->error).
 */
int prefs_httpresp_parse(prefs_httpresp_t *r, const char *data, size_t len,
    size_t *used);

/* the connection closed: DONE when the body ran until the close */
int prefs_httpresp_eof(prefs_httpresp_t *r);

/*
 * A Retry-After value: delay-seconds, or an HTTP-date (IMF-fixdate,
 * RFC 850 or asctime) as seconds from now (0 when past).  -1 if invalid.
 */
long prefs_httpresp_retry_after(const char *s, size_t len, time_t now);

/* an HTTP-date as a time_t, or -1 */
time_t prefs_httpresp_date(const char *s, size_t len);


#endif /* _PREFS_HTTPRESP_H_INCLUDED_ */
