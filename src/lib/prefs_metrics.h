
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_METRICS_H_INCLUDED_
#define _PREFS_METRICS_H_INCLUDED_


/*
 * The pieces of the Prometheus exposition that need no nginx: histogram
 * buckets, label values, the choice between the Prometheus text format and
 * OpenMetrics, and the names of what went wrong.  Plain C.
 */


#include <stddef.h>
#include <stdint.h>


/* latency buckets in milliseconds; one more counts what exceeds them all */
#define PREFS_METRICS_BUCKETS  12

extern const uint64_t     prefs_metrics_bucket_ms[PREFS_METRICS_BUCKETS];
/* the buckets' upper bounds in seconds, as "le" label values, then "+Inf" */
extern const char *const  prefs_metrics_bucket_le[PREFS_METRICS_BUCKETS + 1];

/* the bucket of a duration: 0 to PREFS_METRICS_BUCKETS */
unsigned prefs_metrics_bucket(uint64_t ms);

/* 0 for 1xx ... 4 for 5xx; -1 for anything else */
int prefs_metrics_status_class(int status);

/*
 * A label value escaped as both formats want it (\\, \" and \n) into out,
 * NUL-terminated.  Returns its length, or -1 when out is too small.
 */
long prefs_metrics_escape(const char *v, size_t len, char *out,
    size_t out_size);

/*
 * Whether an Accept header asks for OpenMetrics rather than the Prometheus
 * text format: application/openmetrics-text with a quality above zero and
 * not below that of text/plain, text/ * or * / *.
 */
int prefs_metrics_wants_openmetrics(const char *accept, size_t len);


/* why a webhook delivery attempt failed */
typedef enum {
    PREFS_METRICS_WH_REFUSED = 0,      /* the address policy or the URL */
    PREFS_METRICS_WH_DNS,              /* the name did not resolve */
    PREFS_METRICS_WH_TIMEOUT,          /* no answer in time */
    PREFS_METRICS_WH_CONNECTION,       /* connect, TLS, a bad answer */
    PREFS_METRICS_WH_HTTP_3XX,
    PREFS_METRICS_WH_HTTP_4XX,
    PREFS_METRICS_WH_HTTP_5XX,
    PREFS_METRICS_WH_REASONS
} prefs_metrics_wh_reason_e;

extern const char *const
    prefs_metrics_wh_reason_names[PREFS_METRICS_WH_REASONS];

/*
 * The reason of a failed attempt from what the webhook client reports: the
 * HTTP status (0: no answer), whether the policy refused it and its error
 * text; -1 when the attempt succeeded (2xx).
 */
int prefs_metrics_wh_reason(int status, int refused, const char *error,
    size_t len);


#endif /* _PREFS_METRICS_H_INCLUDED_ */
