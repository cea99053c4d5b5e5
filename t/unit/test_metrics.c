
/*
 * Copyright (C) ngx_prefs authors
 */


#include "unit.h"
#include "prefs_metrics.h"


static int
om(const char *accept)
{
    return prefs_metrics_wants_openmetrics(accept, strlen(accept));
}


static int
wh(int status, int refused, const char *error)
{
    return prefs_metrics_wh_reason(status, refused, error, strlen(error));
}


int
main(void)
{
    char  out[16];

    is_int(prefs_metrics_bucket(0), 0, "0 ms in the first bucket");
    is_int(prefs_metrics_bucket(1), 0, "1 ms: le 0.001");
    is_int(prefs_metrics_bucket(2), 1, "2 ms: le 0.005");
    is_int(prefs_metrics_bucket(1000), 8, "1 s: le 1.0");
    is_str(prefs_metrics_bucket_le[8], "1.0", "the bound of that bucket");
    is_int(prefs_metrics_bucket(10000), 11, "10 s: the last bound");
    is_int(prefs_metrics_bucket(10001), PREFS_METRICS_BUCKETS,
           "past the last bound: +Inf");
    is_str(prefs_metrics_bucket_le[PREFS_METRICS_BUCKETS], "+Inf", "+Inf");

    is_int(prefs_metrics_status_class(200), 1, "200 is 2xx");
    is_int(prefs_metrics_status_class(429), 3, "429 is 4xx");
    is_int(prefs_metrics_status_class(599), 4, "599 is 5xx");
    is_int(prefs_metrics_status_class(0), -1, "no status");
    is_int(prefs_metrics_status_class(600), -1, "beyond 5xx");

    is_int(prefs_metrics_escape("a\"b\\c\nd", 7, out, sizeof(out)), 10,
           "escaped length");
    is_str(out, "a\\\"b\\\\c\\nd", "quote, backslash, newline escaped");
    is_int(prefs_metrics_escape("abcdefgh", 8, out, 8), -1, "too small");
    is_int(prefs_metrics_escape("abcdefg", 7, out, 8), 7, "just fits");

    is_int(om(""), 0, "no Accept: text");
    is_int(om("*/*"), 0, "anything: text");
    is_int(om("text/plain;version=0.0.4"), 0, "text/plain");
    is_int(om("application/openmetrics-text"), 1, "OpenMetrics alone");
    is_int(om("application/openmetrics-text;version=1.0.0;q=0.5,"
              "application/openmetrics-text;version=0.0.1;q=0.4,"
              "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"), 1,
           "what Prometheus sends");
    is_int(om("text/plain;q=0.9, application/openmetrics-text;q=0.5"), 0,
           "text preferred");
    is_int(om("application/openmetrics-text;q=0"), 0, "OpenMetrics refused");
    is_int(om("Application/OpenMetrics-Text ; q=1.0 , text/plain;q=1"), 1,
           "case and spaces; a tie goes to OpenMetrics");

    is_int(wh(204, 0, ""), -1, "2xx is a success");
    is_int(wh(301, 0, ""), PREFS_METRICS_WH_HTTP_3XX, "3xx");
    is_int(wh(410, 0, ""), PREFS_METRICS_WH_HTTP_4XX, "4xx");
    is_int(wh(503, 0, ""), PREFS_METRICS_WH_HTTP_5XX, "5xx");
    is_int(wh(0, 1, "plain http:// destinations are not allowed"),
           PREFS_METRICS_WH_REFUSED, "refused by the policy");
    is_int(wh(0, 0, "cannot resolve \"x.invalid\": Host not found"),
           PREFS_METRICS_WH_DNS, "no such name");
    is_int(wh(0, 0, "127.0.0.1:9: no complete answer within the timeout"),
           PREFS_METRICS_WH_TIMEOUT, "no answer in time");
    is_int(wh(0, 0, "cannot connect to 127.0.0.1:9"),
           PREFS_METRICS_WH_CONNECTION, "no connection");
    is_str(prefs_metrics_wh_reason_names[PREFS_METRICS_WH_TIMEOUT], "timeout",
           "reason names");

    return unit_done();
}
