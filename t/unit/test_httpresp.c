
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_httpresp.h"


#define NOW  1700000000


static char              body[64];
static prefs_httpresp_t  r;


/* feeds s in pieces of step bytes (0: at once); returns the last rc */

static int
feed(const char *s, size_t step, size_t body_max, size_t *total_used)
{
    int      rc;
    char    *copy;
    size_t   len, off, n, used;

    prefs_httpresp_init(&r, body, body_max, NOW);

    len = strlen(s);
    off = 0;
    rc = PREFS_HTTPRESP_AGAIN;
    *total_used = 0;

    while (off < len) {
        n = (step == 0 || len - off < step) ? len - off : step;

        /* an exact-size copy, so ASan sees a read past the piece */
        copy = malloc(n);
        memcpy(copy, s + off, n);
        used = 0;
        rc = prefs_httpresp_parse(&r, copy, n, &used);
        free(copy);

        *total_used += used;
        off += n;

        if (rc != PREFS_HTTPRESP_AGAIN) {
            break;
        }
    }

    return rc;
}


static void
check(const char *name, const char *s, int want_rc, int status,
    const char *want_body, int keepalive, long retry_after)
{
    int     rc;
    size_t  step, used;
    char    got[sizeof(body) + 1];

    static const size_t  steps[] = { 0, 1, 2, 7 };

    for (step = 0; step < sizeof(steps) / sizeof(steps[0]); step++) {
        rc = feed(s, steps[step], 16, &used);

        if (rc == PREFS_HTTPRESP_AGAIN && want_rc != PREFS_HTTPRESP_AGAIN) {
            rc = prefs_httpresp_eof(&r);
        }

        is_int(rc, want_rc, "%s (in pieces of %zu): result", name,
               steps[step]);

        if (rc != PREFS_HTTPRESP_DONE) {
            if (rc == PREFS_HTTPRESP_ERROR) {
                ok(r.error != NULL, "%s: error \"%s\"", name,
                   r.error ? r.error : "(null)");
            }

            continue;
        }

        memcpy(got, body, r.body_len);
        got[r.body_len] = '\0';

        is_int(r.status, status, "%s: status", name);
        is_str(got, want_body, "%s: body", name);
        is_int(r.keepalive, keepalive, "%s: keep-alive", name);
        is_int(r.retry_after, retry_after, "%s: Retry-After", name);
    }
}


int
main(void)
{
    int     rc;
    size_t  used, i;
    char   *big;

    check("content-length",
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
          PREFS_HTTPRESP_DONE, 200, "hello", 1, -1);
    check("no reason phrase",
          "HTTP/1.1 204\r\n\r\n", PREFS_HTTPRESP_DONE, 204, "", 1, -1);
    check("bare LF lines",
          "HTTP/1.1 500 Oops\nContent-Length: 2\n\nno",
          PREFS_HTTPRESP_DONE, 500, "no", 1, -1);
    check("connection close",
          "HTTP/1.1 410 Gone\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 410, "", 0, -1);
    check("HTTP/1.0 without keep-alive",
          "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
          PREFS_HTTPRESP_DONE, 200, "x", 0, -1);
    check("until close",
          "HTTP/1.1 200 OK\r\n\r\nall of it",
          PREFS_HTTPRESP_DONE, 200, "all of it", 0, -1);
    check("chunked",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n1;ext=1\r\n \r\nA \r\n0123456789\r\n0\r\n"
          "X-Trailer: 1\r\n\r\n",
          PREFS_HTTPRESP_DONE, 200, "hello 0123456789", 1, -1);
    check("chunked capped",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
          "14\r\n0123456789abcdefghij\r\n0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 200, "0123456789abcdef", 1, -1);
    check("capped",
          "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij",
          PREFS_HTTPRESP_DONE, 200, "0123456789abcdef", 1, -1);
    check("retry-after seconds",
          "HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nContent-Length: 0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 503, "", 1, 120);
    check("retry-after date",
          "HTTP/1.1 429 Slow\r\nretry-after:  Wed, 15 Nov 2023 00:13:20 GMT "
          "\r\nContent-Length: 0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 429, "", 1, 7200);
    check("retry-after garbage",
          "HTTP/1.1 429 Slow\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 429, "", 1, -1);
    check("interim 100 then 200",
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
          "Content-Length: 2\r\n\r\nok",
          PREFS_HTTPRESP_DONE, 201, "ok", 1, -1);
    check("redirect is just a status",
          "HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/\r\n"
          "Content-Length: 0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 302, "", 1, -1);
    check("both framings",
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
          "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
          PREFS_HTTPRESP_DONE, 200, "ok", 0, -1);
    check("equal repeated content-length",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
          PREFS_HTTPRESP_DONE, 200, "x", 1, -1);

    check("conflicting content-length",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("bad content-length",
          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("content-length overflow",
          "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("not http", "SSH-2.0-OpenSSH\r\n", PREFS_HTTPRESP_ERROR, 0, "", 0,
          -1);
    check("HTTP/2 status", "HTTP/2 200\r\n\r\n", PREFS_HTTPRESP_ERROR, 0, "",
          0, -1);
    check("status 99", "HTTP/1.1 099 x\r\n\r\n", PREFS_HTTPRESP_ERROR, 0, "",
          0, -1);
    check("status 600", "HTTP/1.1 600 x\r\n\r\n", PREFS_HTTPRESP_ERROR, 0, "",
          0, -1);
    check("folded header",
          "HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("header without colon",
          "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("space before colon",
          "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("bare CR",
          "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("control byte in value",
          "HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("bad chunk size",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("huge chunk size",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "ffffffffffffffffff\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("no CRLF after chunk",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "2\r\nokX\r\n0\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("switching protocols",
          "HTTP/1.1 101 Switching\r\n\r\n",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("truncated body",
          "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);
    check("truncated header", "HTTP/1.1 200 OK\r\nContent-Len",
          PREFS_HTTPRESP_ERROR, 0, "", 0, -1);

    /* what follows a complete response is not consumed */
    rc = feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA", 0, 16,
              &used);
    is_int(rc, PREFS_HTTPRESP_DONE, "a response with bytes after it");
    is_int(used, 39, "only the response is used");

    /* nothing at all */
    prefs_httpresp_init(&r, body, 16, NOW);
    is_int(prefs_httpresp_eof(&r), PREFS_HTTPRESP_ERROR, "an empty answer");
    ok(r.got_bytes == 0, "got no bytes");

    /* limits */
    big = malloc(PREFS_HTTPRESP_MAX_LINE + 64);
    strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
    for (i = strlen(big); i < PREFS_HTTPRESP_MAX_LINE + 32; i++) {
        big[i] = 'a';
    }
    strcpy(big + i, "\r\n\r\n");
    is_int(feed(big, 0, 16, &used), PREFS_HTTPRESP_ERROR, "a line too long");
    is_int(feed(big, 1000, 16, &used), PREFS_HTTPRESP_ERROR,
           "a line too long, in pieces");
    free(big);

    big = malloc(200 * 9 + 64);
    strcpy(big, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 200; i++) {
        strcat(big, "X: 1234\r\n");
    }
    strcat(big, "\r\n");
    is_int(feed(big, 0, 16, &used), PREFS_HTTPRESP_ERROR, "too many headers");
    free(big);

    big = malloc(10 * 8100 + 64);
    strcpy(big, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 10; i++) {
        size_t  at = strlen(big);
        memcpy(big + at, "X: ", 3);
        memset(big + at + 3, 'b', 8000);
        strcpy(big + at + 8003, "\r\n");
    }
    strcat(big, "\r\n");
    is_int(feed(big, 0, 16, &used), PREFS_HTTPRESP_ERROR,
           "a header block too large");
    free(big);

    /* a body_max of 0 keeps nothing and still reads on */
    prefs_httpresp_init(&r, NULL, 0, NOW);
    rc = prefs_httpresp_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                              "\r\nabc", 41, &used);
    ok(rc == PREFS_HTTPRESP_DONE && r.body_len == 0 && r.body_total == 3,
       "no body buffer");

    /* dates */
    is_int(prefs_httpresp_date("Sun, 06 Nov 1994 08:49:37 GMT", 29), 784111777,
           "IMF-fixdate");
    is_int(prefs_httpresp_date("Sunday, 06-Nov-94 08:49:37 GMT", 30), 784111777,
           "RFC 850 date");
    is_int(prefs_httpresp_date("Sun Nov  6 08:49:37 1994", 24), 784111777,
           "asctime date");
    is_int(prefs_httpresp_date("Thu, 29 Feb 2024 00:00:00 GMT", 29), 1709164800,
           "a leap day");
    is_int(prefs_httpresp_date("Sun, 06 Nov 1994 08:49:37 UTC", 29), -1,
           "not GMT");
    is_int(prefs_httpresp_date("Sun, 06 Foo 1994 08:49:37 GMT", 29), -1,
           "no such month");
    is_int(prefs_httpresp_date("Sun, 06 Nov 1994 25:49:37 GMT", 29), -1,
           "hour 25");
    is_int(prefs_httpresp_retry_after("0", 1, NOW), 0, "Retry-After: 0");
    is_int(prefs_httpresp_retry_after("99999999999999", 14, NOW), 0x7fffffffL,
           "a huge Retry-After is capped");
    is_int(prefs_httpresp_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, NOW),
           0, "a past date is 0");
    is_int(prefs_httpresp_retry_after("12a", 3, NOW), -1, "12a is invalid");
    is_int(prefs_httpresp_retry_after("-5", 2, NOW), -1, "-5 is invalid");

    return unit_done();
}
