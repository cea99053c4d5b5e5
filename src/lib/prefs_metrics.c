
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include "prefs_metrics.h"


const uint64_t  prefs_metrics_bucket_ms[PREFS_METRICS_BUCKETS] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

const char *const  prefs_metrics_bucket_le[PREFS_METRICS_BUCKETS + 1] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0",
    "2.5", "5.0", "10.0", "+Inf"
};

const char *const  prefs_metrics_wh_reason_names[PREFS_METRICS_WH_REASONS] = {
    "refused", "dns", "timeout", "connection", "http_3xx", "http_4xx",
    "http_5xx"
};


static double prefs_metrics_quality(const char *p, const char *end);
static int prefs_metrics_contains(const char *s, size_t len,
    const char *what);
static int prefs_metrics_casecmp(const char *a, const char *b, size_t n);


unsigned
prefs_metrics_bucket(uint64_t ms)
{
    unsigned  i;

    for (i = 0; i < PREFS_METRICS_BUCKETS; i++) {
        if (ms <= prefs_metrics_bucket_ms[i]) {
            return i;
        }
    }

    return PREFS_METRICS_BUCKETS;
}


int
prefs_metrics_status_class(int status)
{
    if (status < 100 || status > 599) {
        return -1;
    }

    return status / 100 - 1;
}


long
prefs_metrics_escape(const char *v, size_t len, char *out, size_t out_size)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        /* the character, its escape, and the final NUL */
        if (n + ((v[i] == '\\' || v[i] == '"' || v[i] == '\n') ? 3 : 2)
            > out_size)
        {
            return -1;
        }

        switch (v[i]) {

        case '\\':
            out[n++] = '\\';
            out[n++] = '\\';
            break;

        case '"':
            out[n++] = '\\';
            out[n++] = '"';
            break;

        case '\n':
            out[n++] = '\\';
            out[n++] = 'n';
            break;

        default:
            out[n++] = v[i];
        }
    }

    if (n + 1 > out_size) {
        return -1;
    }

    out[n] = '\0';

    return (long) n;
}


int
prefs_metrics_wants_openmetrics(const char *accept, size_t len)
{
    double       q, om, text;
    size_t       n;
    const char  *p, *end, *next, *semi;

    om = 0;
    text = 0;
    p = accept;
    end = accept + len;

    while (p < end) {
        next = memchr(p, ',', end - p);
        if (next == NULL) {
            next = end;
        }

        while (p < next && (*p == ' ' || *p == '\t')) {
            p++;
        }

        semi = memchr(p, ';', next - p);
        n = (semi ? semi : next) - p;

        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }

        q = semi ? prefs_metrics_quality(semi, next) : 1;

        if (n == sizeof("application/openmetrics-text") - 1
            && prefs_metrics_casecmp(p, "application/openmetrics-text", n)
               == 0)
        {
            om = q > om ? q : om;

        } else if ((n == sizeof("text/plain") - 1
                    && prefs_metrics_casecmp(p, "text/plain", n) == 0)
                   || (n == 6 && prefs_metrics_casecmp(p, "text/*", 6) == 0)
                   || (n == 3 && strncmp(p, "*/*", 3) == 0))
        {
            text = q > text ? q : text;
        }

        p = next + 1;
    }

    return om > 0 && om >= text;
}


/* the q parameter among ";a=b" parameters; 1 without one */

static double
prefs_metrics_quality(const char *p, const char *end)
{
    double  q, scale;

    while (p < end) {
        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p >= 2 && (*p == 'q' || *p == 'Q') && p[1] == '=') {
            p += 2;
            q = 0;

            while (p < end && *p >= '0' && *p <= '9') {
                q = q * 10 + (*p++ - '0');
            }

            if (p < end && *p == '.') {
                p++;

                for (scale = 0.1; p < end && *p >= '0' && *p <= '9';
                     scale /= 10)
                {
                    q += (*p++ - '0') * scale;
                }
            }

            return q > 1 ? 1 : q;
        }

        p = memchr(p, ';', end - p);
        if (p == NULL) {
            break;
        }
    }

    return 1;
}


int
prefs_metrics_wh_reason(int status, int refused, const char *error,
    size_t len)
{
    if (status >= 200 && status < 300) {
        return -1;
    }

    if (status >= 300 && status < 400) {
        return PREFS_METRICS_WH_HTTP_3XX;
    }

    if (status >= 400 && status < 500) {
        return PREFS_METRICS_WH_HTTP_4XX;
    }

    if (status >= 500) {
        return PREFS_METRICS_WH_HTTP_5XX;
    }

    if (refused) {
        return PREFS_METRICS_WH_REFUSED;
    }

    if (len >= sizeof("cannot resolve") - 1
        && strncmp(error, "cannot resolve", sizeof("cannot resolve") - 1)
           == 0)
    {
        return PREFS_METRICS_WH_DNS;
    }

    if (prefs_metrics_contains(error, len, "timeout")) {
        return PREFS_METRICS_WH_TIMEOUT;
    }

    return PREFS_METRICS_WH_CONNECTION;
}


static int
prefs_metrics_contains(const char *s, size_t len, const char *what)
{
    size_t  i, n;

    n = strlen(what);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(s + i, what, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
prefs_metrics_casecmp(const char *a, const char *b, size_t n)
{
    char    ca, cb;
    size_t  i;

    for (i = 0; i < n; i++) {
        ca = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i];
        cb = (b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : b[i];

        if (ca != cb) {
            return ca - cb;
        }
    }

    return 0;
}
