
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for per-profile link tokens: prefs_link_parse() and
 * prefs_link_verify() on any input, from an exact-size copy.  Beyond the
 * sanitizers: a token that verifies under the key is one signed with it
 * (signing its claims again gives the same text), and a token signed
 * here from the claims of any token that parses reads back the same.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_link.h"
#include "fuzz.h"


static const unsigned char  key[32] = "fuzz key, thirty-two bytes long";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long          n;
    char         *copy, again[PREFS_LINK_TOKEN_MAX + 1];
    prefs_link_t  l, back;

    copy = fuzz_copy(data, size);

    if (prefs_link_parse(copy, size, &l) == PREFS_LINK_OK) {
        n = prefs_link_sign(&l, key, sizeof(key), again, sizeof(again));

        if (n > 0) {
            check(prefs_link_verify(again, n, key, sizeof(key))
                  == PREFS_LINK_OK);
            check(prefs_link_parse(again, n, &back) == PREFS_LINK_OK);
            check(back.account_id == l.account_id
                  && back.profile_id == l.profile_id
                  && back.expires == l.expires && back.key_id == l.key_id
                  && back.scopes == l.scopes
                  && back.nfilters == l.nfilters);
        }

        if (prefs_link_verify(copy, size, key, sizeof(key)) == PREFS_LINK_OK)
        {
            check(n > 0 && (size_t) n == size
                  && memcmp(again, copy, size) == 0);
        }
    }

    free(copy);

    return 0;
}
