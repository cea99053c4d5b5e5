
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for a bulk import's Stage bodies (src/lib/prefs_bulk.c):
 * the first byte picks the format and the window, the rest is the body,
 * fed through a sliding window as the worker does.  Beyond the sanitizers:
 * the splitter always makes progress and ends; a record lies within the
 * window and is no longer than the longest allowed; a JSON or NDJSON
 * record is one whole JSON value that jansson parses too (but for numbers
 * too large for it); a CSV row becomes a JSON array that jansson parses.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "prefs_bulk.h"
#include "fuzz.h"


static void
check_json(const char *p, size_t n)
{
    json_t        *j;
    json_error_t   e;

    j = json_loadb(p, n, JSON_DECODE_ANY, &e);

    if (j == NULL) {
        /* jansson refuses integers and reals it cannot hold; we do not */
        check(strstr(e.text, "too big") || strstr(e.text, "overflow"));
        return;
    }

    json_decref(j);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc, format, eof;
    char          *win, *js;
    size_t         w, max, have, off, n, start, end, used, len;
    const char    *err;
    prefs_bulk_t   b;
    unsigned       steps;

    if (size < 1) {
        return 0;
    }

    format = 1 + data[0] % 3;
    w = 32 + (data[0] >> 2) * 8;
    max = w / 2;
    data++;
    size--;

    prefs_bulk_init(&b, format, max);
    win = malloc(w);
    js = malloc(6 * max + 8);
    have = 0;
    off = 0;

    for (steps = 0; ; steps++) {
        check(steps < 4 * size + 16);

        n = size - off < w - have ? size - off : w - have;
        memcpy(win + have, data + off, n);
        have += n;
        off += n;
        eof = (off == size);

        rc = prefs_bulk_next(&b, win, have, eof, &start, &end, &used, &err);

        check(used <= have);

        if (rc == PREFS_BULK_RECORD) {
            check(start <= end && end <= have && end <= used);
            check(end - start <= max);

            if (format == PREFS_BULK_CSV) {
                if (prefs_bulk_csv_json(win + start, end - start, js,
                                        6 * max + 8, &len, &err)
                    == 0)
                {
                    check(len == strlen(js));
                    check_json(js, len);
                }

            } else {
                check(prefs_bulk_value(win + start, end - start, &len, &err)
                      == 0);
                check(len == end - start);
                check_json(win + start, end - start);
            }

        } else if (rc == PREFS_BULK_MORE) {
            /* more is given, or room is made: never stuck */
            check(!eof);
            check(used > 0 || have < w);

        } else if (rc == PREFS_BULK_BAD) {
            check(err != NULL);

        } else {
            check(rc == PREFS_BULK_END || (rc == PREFS_BULK_ERROR && err));
            break;
        }

        memmove(win, win + used, have - used);
        have -= used;
    }

    free(win);
    free(js);

    return 0;
}
