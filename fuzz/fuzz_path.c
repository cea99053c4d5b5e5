
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for request paths and query strings:
 * prefs_path_split() with the smallest buffer its contract allows, and
 * prefs_path_percent_decode() in both modes.  Beyond the sanitizers it checks
 * that what comes out is what the callers rely on (NUL-terminated UTF-8
 * without control characters or dot segments), and that decoding
 * inverts percent-encoding.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_path.h"
#include "fuzz.h"


static void
check_clean(const char *s, size_t len)
{
    size_t  i;

    check(prefs_path_utf8_valid(s, len));

    for (i = 0; i < len; i++) {
        check((unsigned char) s[i] >= 0x20 && s[i] != 0x7f);
    }
}


static void
fuzz_split(const char *data, size_t size)
{
    int            rc;
    char          *buf;
    size_t         i, total, bufsize;
    prefs_path_t   p;

    /* exactly what the header asks for, so ASan sees any overrun */
    bufsize = size + PREFS_PATH_MAX_SEGMENTS;
    buf = malloc(bufsize);
    check(buf != NULL);

    rc = prefs_path_split(data, size, buf, &p);

    check(rc == PREFS_PATH_OK || rc == PREFS_PATH_BAD_ESCAPE
          || rc == PREFS_PATH_NUL || rc == PREFS_PATH_TOO_MANY
          || rc == PREFS_PATH_BAD_UTF8 || rc == PREFS_PATH_DOT);
    check(prefs_path_strerror(rc) != NULL);

    if (rc == PREFS_PATH_OK) {
        check(p.n <= PREFS_PATH_MAX_SEGMENTS);
        total = 0;

        for (i = 0; i < p.n; i++) {
            check(p.seg[i].len > 0);
            check(p.seg[i].data >= buf
                  && (size_t) (p.seg[i].data - buf) + p.seg[i].len
                     < bufsize);
            check(p.seg[i].data[p.seg[i].len] == '\0');
            check(!(p.seg[i].len == 1 && p.seg[i].data[0] == '.'));
            check(!(p.seg[i].len == 2 && p.seg[i].data[0] == '.'
                    && p.seg[i].data[1] == '.'));
            check_clean(p.seg[i].data, p.seg[i].len);
            total += p.seg[i].len;
        }

        check(total <= size);
    }

    free(buf);
}


static void
fuzz_decode(const char *data, size_t size, int plus_is_space)
{
    long    n, m;
    char   *dst, *enc, *back;
    size_t  i;

    static const char  hex[] = "0123456789ABCDEF";

    dst = malloc(size ? size : 1);
    check(dst != NULL);

    n = prefs_path_percent_decode(data, size, dst, plus_is_space);

    check(n == PREFS_PATH_BAD_ESCAPE || n == PREFS_PATH_NUL
          || n == PREFS_PATH_BAD_UTF8 || (n >= 0 && (size_t) n <= size));

    if (n >= 0) {
        check_clean(dst, (size_t) n);

        if (plus_is_space) {
            for (i = 0; i < (size_t) n; i++) {
                check(dst[i] != '+' || memchr(data, '%', size) != NULL);
            }
        }

        /* encode every byte and decode again: the same bytes come back */

        enc = malloc(3 * (size_t) n + 1);
        back = malloc((size_t) n + 1);
        check(enc != NULL && back != NULL);

        for (i = 0; i < (size_t) n; i++) {
            enc[3 * i] = '%';
            enc[3 * i + 1] = hex[(unsigned char) dst[i] >> 4];
            enc[3 * i + 2] = hex[(unsigned char) dst[i] & 0x0f];
        }

        m = prefs_path_percent_decode(enc, 3 * (size_t) n, back, plus_is_space);
        check(m == n && memcmp(back, dst, (size_t) n) == 0);

        free(enc);
        free(back);
    }

    free(dst);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_split((const char *) data, size);
    fuzz_decode((const char *) data, size, 0);
    fuzz_decode((const char *) data, size, 1);

    return 0;
}
