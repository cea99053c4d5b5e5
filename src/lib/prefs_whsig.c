
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "prefs_whsig.h"
#include "prefs_b64.h"


static int prefs_whsig_mac(const unsigned char *key, size_t key_len,
    const char *msg_id, size_t id_len, const char *ts, size_t ts_len,
    const char *body, size_t body_len, unsigned char *mac);


long
prefs_whsig_secret_decode(const char *secret, size_t len, unsigned char *key)
{
    long  n;

    if (len <= 6 || memcmp(secret, PREFS_WHSIG_PREFIX, 6) != 0) {
        return PREFS_WHSIG_BAD_SECRET;
    }

    n = prefs_b64_decode(secret + 6, len - 6, key, PREFS_WHSIG_KEY_MAX,
                         PREFS_B64_STD);

    if (n < PREFS_WHSIG_KEY_MIN) {
        return PREFS_WHSIG_BAD_SECRET;
    }

    return n;
}


int
prefs_whsig_secret_generate(char *out, size_t size)
{
    unsigned char  key[PREFS_WHSIG_KEY_DEFAULT];

    if (size < PREFS_WHSIG_SECRET_LEN + 1) {
        return PREFS_WHSIG_NO_SPACE;
    }

    if (RAND_bytes(key, sizeof(key)) != 1) {
        return PREFS_WHSIG_ERROR;
    }

    memcpy(out, PREFS_WHSIG_PREFIX, 6);

    if (prefs_b64_encode(key, sizeof(key), out + 6, size - 6, PREFS_B64_STD)
        < 0)
    {
        return PREFS_WHSIG_NO_SPACE;
    }

    OPENSSL_cleanse(key, sizeof(key));

    return PREFS_WHSIG_OK;
}


static int
prefs_whsig_mac(const unsigned char *key, size_t key_len, const char *msg_id,
    size_t id_len, const char *ts, size_t ts_len, const char *body,
    size_t body_len, unsigned char *mac)
{
    int            ok;
    size_t         n;
    EVP_MAC       *hmac;
    OSSL_PARAM     params[2];
    EVP_MAC_CTX   *ctx;

    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL) {
        return PREFS_WHSIG_ERROR;
    }

    ctx = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);

    if (ctx == NULL) {
        return PREFS_WHSIG_ERROR;
    }

    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256",
                                                 0);
    params[1] = OSSL_PARAM_construct_end();

    ok = EVP_MAC_init(ctx, key, key_len, params)
         && EVP_MAC_update(ctx, (const unsigned char *) msg_id, id_len)
         && EVP_MAC_update(ctx, (const unsigned char *) ".", 1)
         && EVP_MAC_update(ctx, (const unsigned char *) ts, ts_len)
         && EVP_MAC_update(ctx, (const unsigned char *) ".", 1)
         && EVP_MAC_update(ctx, (const unsigned char *) body, body_len)
         && EVP_MAC_final(ctx, mac, &n, 32)
         && n == 32;

    EVP_MAC_CTX_free(ctx);

    return ok ? PREFS_WHSIG_OK : PREFS_WHSIG_ERROR;
}


long
prefs_whsig_sign(const char *const *secrets, const size_t *secret_lens,
    size_t nsecrets, const char *msg_id, size_t id_len, long long timestamp,
    const char *body, size_t body_len, char *out, size_t size)
{
    int            rc;
    char           ts[24];
    long           n, key_len;
    size_t         i, len, ts_len;
    unsigned char  key[PREFS_WHSIG_KEY_MAX], mac[32];

    if (size < nsecrets * (PREFS_WHSIG_SIG_LEN + 1) || size == 0) {
        return PREFS_WHSIG_NO_SPACE;
    }

    ts_len = (size_t) snprintf(ts, sizeof(ts), "%lld", timestamp);
    len = 0;

    for (i = 0; i < nsecrets; i++) {
        key_len = prefs_whsig_secret_decode(secrets[i], secret_lens[i], key);
        if (key_len < 0) {
            return key_len;
        }

        rc = prefs_whsig_mac(key, (size_t) key_len, msg_id, id_len, ts,
                             ts_len, body, body_len, mac);

        OPENSSL_cleanse(key, sizeof(key));

        if (rc != PREFS_WHSIG_OK) {
            return rc;
        }

        if (i) {
            out[len++] = ' ';
        }

        memcpy(out + len, "v1,", 3);
        len += 3;

        n = prefs_b64_encode(mac, sizeof(mac), out + len, size - len,
                             PREFS_B64_STD);
        if (n < 0) {
            return PREFS_WHSIG_NO_SPACE;
        }

        len += (size_t) n;
    }

    out[len] = '\0';

    return (long) len;
}


int
prefs_whsig_verify(const char *secret, size_t secret_len, const char *msg_id,
    size_t id_len, const char *timestamp, size_t ts_len, const char *body,
    size_t body_len, const char *header, size_t header_len, time_t now,
    long tolerance)
{
    int            rc;
    long           key_len, n;
    size_t         i, start;
    long long      ts;
    unsigned char  key[PREFS_WHSIG_KEY_MAX], mac[32], sig[48];

    if (ts_len == 0 || ts_len > 18) {
        return PREFS_WHSIG_STALE;
    }

    ts = 0;

    for (i = 0; i < ts_len; i++) {
        if (timestamp[i] < '0' || timestamp[i] > '9') {
            return PREFS_WHSIG_STALE;
        }

        ts = ts * 10 + (timestamp[i] - '0');
    }

    if (ts < (long long) now - tolerance || ts > (long long) now + tolerance) {
        return PREFS_WHSIG_STALE;
    }

    key_len = prefs_whsig_secret_decode(secret, secret_len, key);
    if (key_len < 0) {
        return (int) key_len;
    }

    rc = prefs_whsig_mac(key, (size_t) key_len, msg_id, id_len, timestamp,
                         ts_len, body, body_len, mac);

    OPENSSL_cleanse(key, sizeof(key));

    if (rc != PREFS_WHSIG_OK) {
        return rc;
    }

    i = 0;

    while (i < header_len) {
        start = i;

        while (i < header_len && header[i] != ' ') {
            i++;
        }

        if (i - start > 3 && memcmp(header + start, "v1,", 3) == 0) {
            n = prefs_b64_decode(header + start + 3, i - start - 3, sig,
                                 sizeof(sig), PREFS_B64_STD);

            if (n == 32 && CRYPTO_memcmp(sig, mac, 32) == 0) {
                return PREFS_WHSIG_OK;
            }
        }

        i++;
    }

    return PREFS_WHSIG_NO_MATCH;
}


const char *
prefs_whsig_strerror(int rc)
{
    switch (rc) {
    case PREFS_WHSIG_OK:
        return "ok";
    case PREFS_WHSIG_BAD_SECRET:
        return "the secret is not \"whsec_\" and the base64 of 16 to 64 "
               "bytes";
    case PREFS_WHSIG_NO_SPACE:
        return "no space for the signature";
    case PREFS_WHSIG_NO_MATCH:
        return "no signature matches";
    case PREFS_WHSIG_STALE:
        return "the timestamp is missing or too far from now";
    }

    return "the signature cannot be computed";
}
