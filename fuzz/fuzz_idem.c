
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for what a client sends the idempotency and v3
 * routes: an Idempotency-Key header value (prefs_idem_key) and a query
 * string in the ASP.NET form, lists of values included (prefs_query_parse).
 * Beyond the sanitizers it checks that a key is what the database accepts
 * (1 to 255 printable ASCII characters) and that a parsed query is an
 * object whose lists hold only strings or only objects.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_idem.h"
#include "prefs_query.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc;
    long         n, i;
    char         key[PREFS_IDEM_KEY_MAX + 1], err[256];
    size_t       j;
    json_t      *o, *v, *first;
    const char  *name;

    n = prefs_idem_key((const char *) data, size, key, sizeof(key));

    if (n >= 0) {
        check(n >= 1 && n <= PREFS_IDEM_KEY_MAX);
        check(key[n] == '\0');

        for (i = 0; i < n; i++) {
            check(key[i] >= 0x20 && key[i] <= 0x7e);
        }
    }

    rc = prefs_query_parse((const char *) data, size, &o, err, sizeof(err));

    if (rc == 0) {
        check(json_is_object(o));

        json_object_foreach(o, name, v) {
            check(json_is_string(v) || json_is_array(v));

            if (!json_is_array(v)) {
                continue;
            }

            first = json_array_get(v, 0);

            for (j = 0; j < json_array_size(v); j++) {
                check(json_typeof(json_array_get(v, j)) == json_typeof(first));
            }
        }

        json_decref(o);

    } else {
        check(o == NULL);
        check(memchr(err, '\0', sizeof(err)) != NULL);
    }

    return 0;
}
