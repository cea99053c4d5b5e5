
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for what a client sends the metrics location: an
 * Accept header (prefs_metrics_wants_openmetrics), and for the label
 * escaping every value from the database goes through
 * (prefs_metrics_escape).  Beyond the sanitizers it checks that an escaped
 * value holds no raw newline and no quote without its backslash, and
 * that the webhook failure reason of any error text is a known one.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_metrics.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int     om, reason;
    long    n, i;
    char    out[512];

    om = prefs_metrics_wants_openmetrics((const char *) data, size);
    check(om == 0 || om == 1);

    n = prefs_metrics_escape((const char *) data, size, out, sizeof(out));
    check(n == -1 || (n >= (long) size && n <= 2 * (long) size));

    for (i = 0; i < n; i++) {
        check(out[i] != '\n');

        if (out[i] == '\\') {
            check(i + 1 < n
                  && (out[i + 1] == '\\' || out[i + 1] == '"'
                      || out[i + 1] == 'n'));
            i++;
            continue;
        }

        check(out[i] != '"');
    }

    if (n >= 0) {
        check(out[n] == '\0');
    }

    reason = prefs_metrics_wh_reason(size ? data[0] * 3 : 0, size & 1,
                                     (const char *) data, size);
    check(reason >= -1 && reason < PREFS_METRICS_WH_REASONS);

    return 0;
}
