
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "prefs_cursor.h"
#include "prefs_b64.h"


#define PREFS_CURSOR_VERSION  1
#define PREFS_CURSOR_BODY     17          /* version, txid, event_id */
#define PREFS_CURSOR_MAC      16
#define PREFS_CURSOR_BYTES    (PREFS_CURSOR_BODY + PREFS_CURSOR_MAC)

static const char  prefs_cursor_label[] = "prefs events cursor";
static const char  prefs_cursor_key_label[] = "prefs events cursor key";


static void
prefs_cursor_put64(unsigned char *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }
}


static uint64_t
prefs_cursor_get64(const unsigned char *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


static int
prefs_cursor_mac(const unsigned char key[PREFS_CURSOR_KEY_LEN],
    int64_t account, const unsigned char *body,
    unsigned char mac[PREFS_CURSOR_MAC])
{
    unsigned int   len;
    unsigned char  derived[EVP_MAX_MD_SIZE], full[EVP_MAX_MD_SIZE];
    unsigned char  msg[sizeof(prefs_cursor_label) - 1 + 8
                       + PREFS_CURSOR_BODY];

    if (HMAC(EVP_sha256(), key, PREFS_CURSOR_KEY_LEN,
             (const unsigned char *) prefs_cursor_key_label,
             sizeof(prefs_cursor_key_label) - 1, derived, &len)
        == NULL)
    {
        return -1;
    }

    memcpy(msg, prefs_cursor_label, sizeof(prefs_cursor_label) - 1);
    prefs_cursor_put64(msg + sizeof(prefs_cursor_label) - 1,
                       (uint64_t) account);
    memcpy(msg + sizeof(prefs_cursor_label) - 1 + 8, body,
           PREFS_CURSOR_BODY);

    if (HMAC(EVP_sha256(), derived, len, msg, sizeof(msg), full, &len)
        == NULL)
    {
        OPENSSL_cleanse(derived, sizeof(derived));
        return -1;
    }

    OPENSSL_cleanse(derived, sizeof(derived));
    memcpy(mac, full, PREFS_CURSOR_MAC);

    return 0;
}


int
prefs_cursor_encode(const unsigned char key[PREFS_CURSOR_KEY_LEN],
    int64_t account, uint64_t txid, int64_t event_id, char *out,
    size_t out_size)
{
    unsigned char  raw[PREFS_CURSOR_BYTES];

    if (out_size < PREFS_CURSOR_SIZE) {
        return -1;
    }

    raw[0] = PREFS_CURSOR_VERSION;
    prefs_cursor_put64(raw + 1, txid);
    prefs_cursor_put64(raw + 9, (uint64_t) event_id);

    if (prefs_cursor_mac(key, account, raw, raw + PREFS_CURSOR_BODY) != 0) {
        return -1;
    }

    if (prefs_b64_encode(raw, sizeof(raw), out, out_size, PREFS_B64_URL)
        != PREFS_CURSOR_LEN)
    {
        return -1;
    }

    return 0;
}


int
prefs_cursor_decode(const unsigned char key[PREFS_CURSOR_KEY_LEN],
    int64_t account, const char *in, size_t len, uint64_t *txid,
    int64_t *event_id)
{
    unsigned char  raw[PREFS_CURSOR_BYTES + 3], mac[PREFS_CURSOR_MAC];

    if (len != PREFS_CURSOR_LEN
        || prefs_b64_decode(in, len, raw, sizeof(raw), PREFS_B64_URL)
           != PREFS_CURSOR_BYTES
        || raw[0] != PREFS_CURSOR_VERSION
        || prefs_cursor_mac(key, account, raw, mac) != 0
        || CRYPTO_memcmp(mac, raw + PREFS_CURSOR_BODY, PREFS_CURSOR_MAC) != 0)
    {
        return -1;
    }

    *txid = prefs_cursor_get64(raw + 1);
    *event_id = (int64_t) prefs_cursor_get64(raw + 9);

    /* what we sign is what we made: ids are positive, txids real */
    if (*event_id <= 0 || *txid == 0 || *txid > (uint64_t) INT64_MAX) {
        return -1;
    }

    return 0;
}
