
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_cursor.h"


static const unsigned char  key[PREFS_CURSOR_KEY_LEN] =
    "0123456789abcdef0123456789abcde";
static const unsigned char  key2[PREFS_CURSOR_KEY_LEN] =
    "0123456789abcdef0123456789abcdX";


/* decodes from an exact-size copy, so that ASan sees overreads */

static int
dec(const unsigned char *k, int64_t account, const char *s, size_t len,
    uint64_t *txid, int64_t *id)
{
    int    rc;
    char  *copy;

    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    rc = prefs_cursor_decode(k, account, copy, len, txid, id);

    free(copy);

    return rc;
}


static void
test_round_trip(void)
{
    char      c[PREFS_CURSOR_SIZE], c2[PREFS_CURSOR_SIZE];
    int64_t   id;
    uint64_t  txid;

    is_int(prefs_cursor_encode(key, 7, 123456789, 42, c, sizeof(c)), 0,
           "encodes");
    is_int(strlen(c), PREFS_CURSOR_LEN, "44 characters");
    ok(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789-_") == PREFS_CURSOR_LEN, "base64url only");

    txid = 0;
    id = 0;
    is_int(dec(key, 7, c, strlen(c), &txid, &id), 0, "decodes");
    ok(txid == 123456789, "txid back");
    ok(id == 42, "event id back");

    is_int(prefs_cursor_encode(key, 7, 123456789, 42, c2, sizeof(c2)), 0,
           "encodes again");
    is_str(c2, c, "the same position gives the same cursor");

    is_int(prefs_cursor_encode(key, 7, (uint64_t) INT64_MAX, INT64_MAX, c,
                               sizeof(c)), 0, "the largest values");
    is_int(dec(key, 7, c, strlen(c), &txid, &id), 0, "decode");
    ok(txid == (uint64_t) INT64_MAX && id == INT64_MAX, "back");

    is_int(prefs_cursor_encode(key, 7, 1, 1, c, PREFS_CURSOR_SIZE - 1), -1,
           "a short buffer is refused");
}


static void
test_forgery(void)
{
    char      c[PREFS_CURSOR_SIZE], bad[PREFS_CURSOR_SIZE + 8];
    size_t    i;
    int64_t   id;
    uint64_t  txid;
    int       all;

    prefs_cursor_encode(key, 7, 1000, 99, c, sizeof(c));

    is_int(dec(key, 8, c, strlen(c), &txid, &id), -1,
           "another account's cursor is refused");
    is_int(dec(key2, 7, c, strlen(c), &txid, &id), -1,
           "another key's cursor is refused");

    /* every single-character change is caught */
    all = 1;

    for (i = 0; i < PREFS_CURSOR_LEN; i++) {
        memcpy(bad, c, sizeof(c));
        bad[i] = (bad[i] == 'A') ? 'B' : 'A';

        if (dec(key, 7, bad, PREFS_CURSOR_LEN, &txid, &id) != -1) {
            all = 0;
        }
    }

    ok(all, "any altered character is refused");

    is_int(dec(key, 7, c, PREFS_CURSOR_LEN - 1, &txid, &id), -1,
           "a cut cursor is refused");
    memcpy(bad, c, PREFS_CURSOR_LEN);
    bad[PREFS_CURSOR_LEN] = 'A';
    is_int(dec(key, 7, bad, PREFS_CURSOR_LEN + 1, &txid, &id), -1,
           "a longer one too");
    is_int(dec(key, 7, "", 0, &txid, &id), -1, "empty");
    is_int(dec(key, 7, "not a cursor at all, really not one!!!!!!!!!",
               PREFS_CURSOR_LEN, &txid, &id), -1, "garbage of the length");

    memcpy(bad, c, sizeof(c));
    bad[10] = '+';
    is_int(dec(key, 7, bad, PREFS_CURSOR_LEN, &txid, &id), -1,
           "standard base64 characters are refused");

    is_int(prefs_cursor_encode(key, 7, 0, 5, c, sizeof(c)), 0,
           "txid 0 encodes");
    is_int(dec(key, 7, c, strlen(c), &txid, &id), -1,
           "but is never a position of ours");
}


int
main(void)
{
    test_round_trip();
    test_forgery();

    return unit_done();
}
