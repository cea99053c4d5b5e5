
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for the Events API's cursor: prefs_cursor_decode()
 * on any input, from an exact-size copy.  Beyond the sanitizers: a cursor
 * it accepts is one this key made for this account (encoding the
 * position again gives the same text), and a cursor made here is
 * accepted back for its account only.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_cursor.h"
#include "fuzz.h"


static const unsigned char  key[PREFS_CURSOR_KEY_LEN] =
    "fuzz key, thirty-two bytes long";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char      *copy, again[PREFS_CURSOR_SIZE];
    int64_t    id, id2;
    uint64_t   txid, txid2;

    copy = fuzz_copy(data, size);

    if (prefs_cursor_decode(key, 7, copy, size, &txid, &id) == 0) {
        check(prefs_cursor_encode(key, 7, txid, id, again, sizeof(again))
              == 0);
        check(size == PREFS_CURSOR_LEN && memcmp(again, copy, size) == 0);
    }

    free(copy);

    /* the input as a position: round trip, bound to its account */

    if (size >= 16) {
        memcpy(&txid, data, 8);
        memcpy(&id, data + 8, 8);
        txid = (txid >> 1) | 1;
        id = (int64_t) (((uint64_t) id >> 1) | 1);

        check(prefs_cursor_encode(key, 7, txid, id, again, sizeof(again))
              == 0);
        check(prefs_cursor_decode(key, 7, again, PREFS_CURSOR_LEN, &txid2,
                                  &id2)
              == 0);
        check(txid2 == txid && id2 == id);
        check(prefs_cursor_decode(key, 8, again, PREFS_CURSOR_LEN, &txid2,
                                  &id2)
              == -1);
    }

    return 0;
}
