
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include "prefs_httpresp.h"
#include "prefs_path.h"


#define ST_STATUS       0
#define ST_HEADER       1
#define ST_BODY_LENGTH  2
#define ST_BODY_CLOSE   3
#define ST_CHUNK_SIZE   4
#define ST_CHUNK_DATA   5
#define ST_CHUNK_CRLF   6
#define ST_TRAILER      7
#define ST_DONE         8
#define ST_ERROR        9

#define PREFS_RETRY_AFTER_MAX  0x7fffffffL


static int prefs_httpresp_line(prefs_httpresp_t *r, const char **p,
    const char *end);
static int prefs_httpresp_status(prefs_httpresp_t *r);
static int prefs_httpresp_header(prefs_httpresp_t *r);
static int prefs_httpresp_headers_done(prefs_httpresp_t *r);
static int prefs_httpresp_chunk_size(prefs_httpresp_t *r);
static void prefs_httpresp_keep(prefs_httpresp_t *r, const char *p,
    size_t n);
static int prefs_httpresp_fail(prefs_httpresp_t *r, const char *error);
static void prefs_httpresp_reset(prefs_httpresp_t *r);
static int prefs_httpresp_token_char(int c);
static int prefs_httpresp_has_token(const char *s, size_t len, const char *tok,
    int last_only);
static int prefs_httpresp_ieq(const char *a, size_t len, const char *b);


void
prefs_httpresp_init(prefs_httpresp_t *r, char *body, size_t body_max,
    time_t now)
{
    memset(r, 0, offsetof(prefs_httpresp_t, line));

    r->body = body;
    r->body_max = body ? body_max : 0;
    r->now = now;
    r->state = ST_STATUS;

    prefs_httpresp_reset(r);
}


static void
prefs_httpresp_reset(prefs_httpresp_t *r)
{
    r->status = 0;
    r->retry_after = -1;
    r->content_length = -1;
    r->chunked = 0;
    r->keepalive = 0;
    r->conn_close = 0;
    r->conn_keepalive = 0;
    r->until_close = 0;
    r->headers = 0;
    r->line_len = 0;
}


int
prefs_httpresp_parse(prefs_httpresp_t *r, const char *data, size_t len,
    size_t *used)
{
    int          rc;
    size_t       n;
    const char  *p, *end;

    p = data;
    end = data + len;

    if (len) {
        r->got_bytes = 1;
    }

    while (p < end || r->state == ST_DONE) {

        switch (r->state) {

        case ST_DONE:
            *used = (size_t) (p - data);
            return PREFS_HTTPRESP_DONE;

        case ST_ERROR:
            *used = (size_t) (p - data);
            return PREFS_HTTPRESP_ERROR;

        case ST_BODY_CLOSE:
            prefs_httpresp_keep(r, p, (size_t) (end - p));
            p = end;
            continue;

        case ST_BODY_LENGTH:
        case ST_CHUNK_DATA:
            n = (size_t) (end - p);
            if ((unsigned long long) n > r->left) {
                n = (size_t) r->left;
            }

            prefs_httpresp_keep(r, p, n);
            p += n;
            r->left -= n;

            if (r->left == 0) {
                r->state = (r->state == ST_CHUNK_DATA) ? ST_CHUNK_CRLF
                                                       : ST_DONE;
            }

            continue;
        }

        /* the line-oriented states */

        rc = prefs_httpresp_line(r, &p, end);

        if (rc == PREFS_HTTPRESP_AGAIN) {
            break;
        }

        if (rc == PREFS_HTTPRESP_ERROR) {
            continue;
        }

        switch (r->state) {

        case ST_STATUS:
            rc = prefs_httpresp_status(r);
            break;

        case ST_HEADER:
            rc = (r->line_len == 0) ? prefs_httpresp_headers_done(r)
                                    : prefs_httpresp_header(r);
            break;

        case ST_CHUNK_SIZE:
            rc = prefs_httpresp_chunk_size(r);
            break;

        case ST_CHUNK_CRLF:
            if (r->line_len != 0) {
                rc = prefs_httpresp_fail(r, "no CRLF after a chunk");
                break;
            }

            r->state = ST_CHUNK_SIZE;
            break;

        case ST_TRAILER:
            if (r->line_len == 0) {
                r->state = ST_DONE;
                break;
            }

            if (++r->headers > PREFS_HTTPRESP_MAX_HEADERS) {
                rc = prefs_httpresp_fail(r, "too many trailer fields");
            }

            break;
        }

        r->line_len = 0;
    }

    *used = (size_t) (p - data);

    if (r->state == ST_DONE) {
        return PREFS_HTTPRESP_DONE;
    }

    if (r->state == ST_ERROR) {
        return PREFS_HTTPRESP_ERROR;
    }

    return PREFS_HTTPRESP_AGAIN;
}


int
prefs_httpresp_eof(prefs_httpresp_t *r)
{
    if (r->state == ST_DONE) {
        return PREFS_HTTPRESP_DONE;
    }

    if (r->state == ST_BODY_CLOSE) {
        r->state = ST_DONE;
        r->keepalive = 0;
        return PREFS_HTTPRESP_DONE;
    }

    if (r->state != ST_ERROR) {
        prefs_httpresp_fail(r, r->got_bytes
                               ? "the connection closed before the "
                                 "response was complete"
                               : "the connection closed without a response");
    }

    return PREFS_HTTPRESP_ERROR;
}


/* collects a line into r->line; OK when it is whole (without CRLF) */

static int
prefs_httpresp_line(prefs_httpresp_t *r, const char **pp, const char *end)
{
    size_t       n, limit;
    const char  *p, *lf;

    p = *pp;

    lf = memchr(p, '\n', (size_t) (end - p));
    n = (size_t) ((lf ? lf : end) - p);

    limit = PREFS_HTTPRESP_MAX_LINE;

    if (r->state == ST_STATUS || r->state == ST_HEADER
        || r->state == ST_TRAILER)
    {
        r->header_bytes += n + (lf ? 1 : 0);

        if (r->header_bytes > PREFS_HTTPRESP_MAX_HEADER) {
            *pp = end;
            return prefs_httpresp_fail(r, "the response header is too large");
        }
    }

    if (r->line_len + n > limit - 1) {
        *pp = end;
        return prefs_httpresp_fail(r, "a response line is too long");
    }

    memcpy(r->line + r->line_len, p, n);
    r->line_len += n;

    if (lf == NULL) {
        *pp = end;
        return PREFS_HTTPRESP_AGAIN;
    }

    *pp = lf + 1;

    if (r->line_len && r->line[r->line_len - 1] == '\r') {
        r->line_len--;
    }

    if (memchr(r->line, '\r', r->line_len) || memchr(r->line, '\0',
                                                     r->line_len))
    {
        return prefs_httpresp_fail(r, "a CR or NUL inside a response line");
    }

    r->line[r->line_len] = '\0';

    return PREFS_HTTPRESP_DONE;
}


static int
prefs_httpresp_status(prefs_httpresp_t *r)
{
    size_t       i;
    const char  *l = r->line;

    if (r->line_len < 12 || memcmp(l, "HTTP/1.", 7) != 0
        || l[7] < '0' || l[7] > '9' || l[8] != ' '
        || l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9'
        || l[11] < '0' || l[11] > '9'
        || (r->line_len > 12 && l[12] != ' '))
    {
        return prefs_httpresp_fail(r, "not an HTTP/1.x status line");
    }

    for (i = 12; i < r->line_len; i++) {
        if (((unsigned char) l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f) {
            return prefs_httpresp_fail(r, "a control byte in the status line");
        }
    }

    r->minor = l[7] - '0';
    r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    r->state = ST_HEADER;

    return PREFS_HTTPRESP_DONE;
}


static int
prefs_httpresp_header(prefs_httpresp_t *r)
{
    char       *name, *value, *p;
    size_t      i, name_len, value_len;
    long long   cl;

    if (++r->headers > PREFS_HTTPRESP_MAX_HEADERS) {
        return prefs_httpresp_fail(r, "too many response header fields");
    }

    p = r->line;

    if (p[0] == ' ' || p[0] == '\t') {
        return prefs_httpresp_fail(r, "a folded response header line");
    }

    for (i = 0; i < r->line_len && prefs_httpresp_token_char(p[i]); i++) {
        /* void */
    }

    if (i == 0 || i == r->line_len || p[i] != ':') {
        return prefs_httpresp_fail(r, "a malformed response header line");
    }

    name = p;
    name_len = i;
    value = p + i + 1;
    value_len = r->line_len - i - 1;

    while (value_len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        value_len--;
    }

    while (value_len
           && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
    {
        value_len--;
    }

    for (i = 0; i < value_len; i++) {
        if (((unsigned char) value[i] < 0x20 && value[i] != '\t')
            || value[i] == 0x7f)
        {
            return prefs_httpresp_fail(r, "a control byte in a response "
                                          "header value");
        }
    }

    if (prefs_httpresp_ieq(name, name_len, "content-length")) {
        if (value_len == 0 || value_len > 18) {
            return prefs_httpresp_fail(r, "a bad Content-Length");
        }

        cl = 0;

        for (i = 0; i < value_len; i++) {
            if (value[i] < '0' || value[i] > '9') {
                return prefs_httpresp_fail(r, "a bad Content-Length");
            }

            cl = cl * 10 + (value[i] - '0');
        }

        if (r->content_length != -1 && r->content_length != cl) {
            return prefs_httpresp_fail(r, "conflicting Content-Length "
                                          "headers");
        }

        r->content_length = cl;

    } else if (prefs_httpresp_ieq(name, name_len, "transfer-encoding")) {
        r->chunked = prefs_httpresp_has_token(value, value_len, "chunked", 1);
        r->until_close = !r->chunked;

    } else if (prefs_httpresp_ieq(name, name_len, "connection")) {
        r->conn_close |= prefs_httpresp_has_token(value, value_len, "close", 0);
        r->conn_keepalive |= prefs_httpresp_has_token(value, value_len,
                                                      "keep-alive", 0);

    } else if (prefs_httpresp_ieq(name, name_len, "retry-after")) {
        r->retry_after = prefs_httpresp_retry_after(value, value_len, r->now);
    }

    return PREFS_HTTPRESP_DONE;
}


static int
prefs_httpresp_headers_done(prefs_httpresp_t *r)
{
    if (r->status < 200) {
        if (r->status == 101) {
            return prefs_httpresp_fail(r, "an unasked protocol switch");
        }

        /* an interim response: the real one follows */
        prefs_httpresp_reset(r);
        r->state = ST_STATUS;
        return PREFS_HTTPRESP_DONE;
    }

    if (r->chunked || r->until_close) {
        if (r->content_length != -1) {
            /* both framings: a smuggling attempt or a broken proxy */
            r->conn_close = 1;
            r->content_length = -1;
        }

        r->state = r->chunked ? ST_CHUNK_SIZE : ST_BODY_CLOSE;

    } else if (r->status == 204 || r->status == 304) {
        r->state = ST_DONE;

    } else if (r->content_length >= 0) {
        r->left = (unsigned long long) r->content_length;
        r->state = r->left ? ST_BODY_LENGTH : ST_DONE;

    } else {
        r->until_close = 1;
        r->state = ST_BODY_CLOSE;
    }

    r->keepalive = !r->until_close && !r->conn_close && r->minor >= 1;
    r->headers = 0;

    return PREFS_HTTPRESP_DONE;
}


static int
prefs_httpresp_chunk_size(prefs_httpresp_t *r)
{
    int                  d;
    size_t               i;
    unsigned long long   size;

    size = 0;

    for (i = 0; i < r->line_len; i++) {
        d = prefs_path_hex((unsigned char) r->line[i]);

        if (d < 0) {
            break;
        }

        if (i >= 15) {
            return prefs_httpresp_fail(r, "a chunk size is too large");
        }

        size = size * 16 + (unsigned) d;
    }

    if (i == 0) {
        return prefs_httpresp_fail(r, "a bad chunk size");
    }

    while (i < r->line_len && (r->line[i] == ' ' || r->line[i] == '\t')) {
        i++;
    }

    if (i < r->line_len && r->line[i] != ';') {
        return prefs_httpresp_fail(r, "a bad chunk size");
    }

    if (size == 0) {
        r->state = ST_TRAILER;
        return PREFS_HTTPRESP_DONE;
    }

    r->left = size;
    r->state = ST_CHUNK_DATA;

    return PREFS_HTTPRESP_DONE;
}


static void
prefs_httpresp_keep(prefs_httpresp_t *r, const char *p, size_t n)
{
    size_t  room;

    room = r->body_max - r->body_len;

    if (room) {
        memcpy(r->body + r->body_len, p, n < room ? n : room);
        r->body_len += n < room ? n : room;
    }

    r->body_total += n;
}


static int
prefs_httpresp_fail(prefs_httpresp_t *r, const char *error)
{
    r->state = ST_ERROR;
    r->error = error;
    r->keepalive = 0;

    return PREFS_HTTPRESP_ERROR;
}


static int
prefs_httpresp_token_char(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/* a comma-separated token list holds tok (or ends with it) */

static int
prefs_httpresp_has_token(const char *s, size_t len, const char *tok,
    int last_only)
{
    int     found;
    size_t  i, start, end;

    found = 0;
    i = 0;

    while (i <= len) {
        start = i;

        while (i < len && s[i] != ',') {
            i++;
        }

        end = i;

        while (start < end && (s[start] == ' ' || s[start] == '\t')) {
            start++;
        }

        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) {
            end--;
        }

        if (end > start) {
            if (prefs_httpresp_ieq(s + start, end - start, tok)) {
                found = 1;

            } else if (last_only) {
                found = 0;
            }
        }

        i++;
    }

    return found;
}


static int
prefs_httpresp_ieq(const char *a, size_t len, const char *b)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (b[i] == '\0' || (a[i] | 0x20) != (b[i] | 0x20)) {
            return 0;
        }
    }

    return b[len] == '\0';
}


long
prefs_httpresp_retry_after(const char *s, size_t len, time_t now)
{
    size_t     i;
    time_t     t;
    long long  v;

    if (len == 0) {
        return -1;
    }

    if (s[0] >= '0' && s[0] <= '9') {
        v = 0;

        for (i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return -1;
            }

            if (v < PREFS_RETRY_AFTER_MAX) {
                v = v * 10 + (s[i] - '0');
            }
        }

        return v > PREFS_RETRY_AFTER_MAX ? PREFS_RETRY_AFTER_MAX : (long) v;
    }

    t = prefs_httpresp_date(s, len);

    if (t == (time_t) -1) {
        return -1;
    }

    if (t <= now) {
        return 0;
    }

    v = (long long) t - (long long) now;

    return v > PREFS_RETRY_AFTER_MAX ? PREFS_RETRY_AFTER_MAX : (long) v;
}


static int
prefs_httpresp_date_num(const char *s, size_t n, int *out)
{
    size_t  i;
    int     v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == ' ' && i == 0 && n == 2) {
            continue;       /* asctime's " 6" */
        }

        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    *out = v;

    return 0;
}


static int
prefs_httpresp_date_month(const char *s)
{
    int  i;

    static const char  months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    for (i = 0; i < 12; i++) {
        if (memcmp(s, months + i * 3, 3) == 0) {
            return i + 1;
        }
    }

    return -1;
}


static int
prefs_httpresp_date_time(const char *s, int *h, int *m, int *sec)
{
    if (s[2] != ':' || s[5] != ':'
        || prefs_httpresp_date_num(s, 2, h)
        || prefs_httpresp_date_num(s + 3, 2, m)
        || prefs_httpresp_date_num(s + 6, 2, sec)
        || *h > 23 || *m > 59 || *sec > 60)
    {
        return -1;
    }

    return 0;
}


time_t
prefs_httpresp_date(const char *s, size_t len)
{
    int          day, mon, year, h, m, sec;
    long long    y, era, yoe, doy, doe, days;
    const char  *comma;

    comma = memchr(s, ',', len);

    if (comma && comma - s == 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (len != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' '
            || s[16] != ' ' || s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0
            || prefs_httpresp_date_num(s + 5, 2, &day)
            || (mon = prefs_httpresp_date_month(s + 8)) < 0
            || prefs_httpresp_date_num(s + 12, 4, &year)
            || prefs_httpresp_date_time(s + 17, &h, &m, &sec))
        {
            return (time_t) -1;
        }

    } else if (comma) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        len -= (size_t) (comma + 1 - s);
        s = comma + 1;

        if (len != 23 || s[0] != ' ' || s[3] != '-' || s[7] != '-'
            || s[10] != ' ' || s[19] != ' ' || memcmp(s + 20, "GMT", 3) != 0
            || prefs_httpresp_date_num(s + 1, 2, &day)
            || (mon = prefs_httpresp_date_month(s + 4)) < 0
            || prefs_httpresp_date_num(s + 8, 2, &year)
            || prefs_httpresp_date_time(s + 11, &h, &m, &sec))
        {
            return (time_t) -1;
        }

        year += (year < 70) ? 2000 : 1900;

    } else {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (len != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' '
            || s[19] != ' '
            || (mon = prefs_httpresp_date_month(s + 4)) < 0
            || prefs_httpresp_date_num(s + 8, 2, &day)
            || prefs_httpresp_date_time(s + 11, &h, &m, &sec)
            || prefs_httpresp_date_num(s + 20, 4, &year))
        {
            return (time_t) -1;
        }
    }

    if (day < 1 || day > 31 || year < 1970) {
        return (time_t) -1;
    }

    /* days since 1970-01-01 of a proleptic Gregorian date */

    y = year - (mon <= 2);
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    return (time_t) (days * 86400 + h * 3600 + m * 60 + sec);
}
