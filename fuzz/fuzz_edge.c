
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for the edge's visitor states (prefs_edge.h): any
 * input through prefs_edge_state_check(), prefs_edge_state_get() and the
 * cache, from an exact-size copy.  Beyond the sanitizers: the cache takes
 * exactly the texts the check accepts, and a value found in an accepted
 * text is a status digit, an opt-in digit or a locale of its characters.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_edge.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  ok;
    char                *copy;
    size_t               vlen, nlen;
    const char          *v, *name;
    prefs_edge_cache_t   c;
    prefs_edge_entry_t  *e;

    copy = fuzz_copy(data, size);

    ok = (prefs_edge_state_check(copy, size) == PREFS_EDGE_OK);

    check(prefs_edge_cache_init(&c, 2) == PREFS_EDGE_OK);
    e = prefs_edge_cache_put(&c, 1, 2, copy, size);
    check((e != NULL) == ok);

    if (e) {
        check(e->len == size && memcmp(e->state, copy, size) == 0);
        check(prefs_edge_cache_get(&c, 1, 2) == e);
    }

    prefs_edge_cache_free(&c);

    /* names: the text's first bytes up to a ":" or a "," */
    name = copy;
    for (nlen = 0; nlen < size && copy[nlen] != ':' && copy[nlen] != ',';
         nlen++)
    {
        /* void */
    }

    if (prefs_edge_state_get(copy, size, PREFS_EDGE_CONSENTS, name, nlen,
                             &v, &vlen) == PREFS_EDGE_OK && ok)
    {
        check(vlen == 1 && prefs_edge_consent_name(v, vlen) != NULL);
    }

    if (prefs_edge_state_get(copy, size, PREFS_EDGE_OPTINS, name, nlen,
                             &v, &vlen) == PREFS_EDGE_OK && ok)
    {
        check(vlen == 1 && (v[0] == '0' || v[0] == '1'));
    }

    if (prefs_edge_state_get(copy, size, PREFS_EDGE_LOCALE, NULL, 0,
                             &v, &vlen) == PREFS_EDGE_OK)
    {
        check(v >= copy && v + vlen <= copy + size && memchr(v, '\n', vlen)
              == NULL);
    }

    free(copy);

    return 0;
}
