
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for the webhook client's response parser: the input
 * is fed whole and again in pieces whose sizes come from its first byte;
 * both must agree, the kept body must stay within its cap and be a
 * prefix of what was received, and nothing is consumed past a complete
 * response.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_httpresp.h"
#include "fuzz.h"


#define CAP  64


static int
run(prefs_httpresp_t *r, char *body, const uint8_t *data, size_t size,
    size_t step, size_t *consumed)
{
    int      rc;
    char    *copy;
    size_t   off, n, used;

    prefs_httpresp_init(r, body, CAP, 1700000000);

    rc = PREFS_HTTPRESP_AGAIN;
    off = 0;
    *consumed = 0;

    while (off < size) {
        n = size - off < step ? size - off : step;

        copy = malloc(n);
        check(copy != NULL);
        memcpy(copy, data + off, n);

        used = 0;
        rc = prefs_httpresp_parse(r, copy, n, &used);
        free(copy);

        check(used <= n);
        *consumed += used;
        off += n;

        if (rc != PREFS_HTTPRESP_AGAIN) {
            break;
        }

        check(used == n);
    }

    if (rc == PREFS_HTTPRESP_AGAIN) {
        rc = prefs_httpresp_eof(r);
    }

    check(rc == PREFS_HTTPRESP_DONE || rc == PREFS_HTTPRESP_ERROR);
    check(r->body_len <= CAP && r->body_len <= r->body_total);

    if (rc == PREFS_HTTPRESP_ERROR) {
        check(r->error != NULL && !r->keepalive);

    } else {
        check(r->status >= 200 && r->status <= 599);
        check(r->retry_after >= -1);
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc1, rc2;
    char               *b1, *b2;
    size_t              step, used1, used2;
    prefs_httpresp_t   *r1, *r2;

    if (size < 1) {
        return 0;
    }

    step = (size_t) data[0] % 17 + 1;
    data++;
    size--;

    r1 = malloc(sizeof(prefs_httpresp_t));
    r2 = malloc(sizeof(prefs_httpresp_t));
    b1 = malloc(CAP);
    b2 = malloc(CAP);
    check(r1 && r2 && b1 && b2);

    rc1 = run(r1, b1, data, size, size ? size : 1, &used1);
    rc2 = run(r2, b2, data, size, step, &used2);

    check(rc1 == rc2);

    if (rc1 == PREFS_HTTPRESP_DONE) {
        check(used1 == used2);
        check(r1->status == r2->status);
        check(r1->keepalive == r2->keepalive);
        check(r1->retry_after == r2->retry_after);
        check(r1->body_len == r2->body_len && r1->body_total == r2->body_total);
        check(memcmp(b1, b2, r1->body_len) == 0);
    }

    free(r1);
    free(r2);
    free(b1);
    free(b2);

    return 0;
}
