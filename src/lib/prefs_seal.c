
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Sealed secrets: AES-256-GCM under the prefs_secret_key, so that the
 * database holds no usable HMAC secret.
 */


#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "prefs_b64.h"
#include "prefs_seal.h"


/*
 * Bound into every sealed secret: a ciphertext made for anything else
 * with the same key does not open as a secret.
 */
#define PREFS_SECRET_AAD       "ngx_prefs secret v1"


/*
 * The version byte and a fixed label are authenticated along with the
 * ciphertext, so neither a changed format byte nor a GCM ciphertext made
 * with this key for another purpose opens.
 */

int
prefs_seal_secret(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const unsigned char *plain, size_t len, char *out_b64, size_t out_size)
{
    int              n, rc;
    unsigned char    blob[PREFS_SECRET_OVERHEAD + PREFS_SECRET_MAX];
    unsigned char   *nonce, *ct, *tag;
    EVP_CIPHER_CTX  *ctx;

    if (len > PREFS_SECRET_MAX || out_size < PREFS_SECRET_B64_SIZE(len)) {
        return PREFS_AUTH_ERROR;
    }

    blob[0] = PREFS_SECRET_VERSION;
    nonce = blob + 1;
    ct = nonce + PREFS_SECRET_NONCE;
    tag = ct + len;

    if (RAND_bytes(nonce, PREFS_SECRET_NONCE) != 1) {
        return PREFS_AUTH_ERROR;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return PREFS_AUTH_ERROR;
    }

    rc = PREFS_AUTH_ERROR;

    /* a NULL output makes EVP_EncryptUpdate() take AAD: skip empty data */

    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1
        && EVP_EncryptUpdate(ctx, NULL, &n, blob, 1) == 1
        && EVP_EncryptUpdate(ctx, NULL, &n,
                             (const unsigned char *) PREFS_SECRET_AAD,
                             sizeof(PREFS_SECRET_AAD) - 1) == 1
        && (len == 0 || EVP_EncryptUpdate(ctx, ct, &n, plain, (int) len) == 1)
        && EVP_EncryptFinal_ex(ctx, tag, &n) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, PREFS_SECRET_TAG,
                               tag) == 1
        && prefs_b64_encode(blob, PREFS_SECRET_OVERHEAD + len, out_b64,
                            out_size, PREFS_B64_STD) >= 0)
    {
        rc = PREFS_AUTH_OK;
    }

    EVP_CIPHER_CTX_free(ctx);

    return rc;
}


int
prefs_seal_open(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const char *b64, size_t len, unsigned char *plain, size_t plain_size,
    size_t *plain_len)
{
    int              n, rc;
    long             blob_len;
    size_t           ct_len;
    unsigned char    blob[PREFS_SECRET_OVERHEAD + PREFS_SECRET_MAX];
    unsigned char   *nonce, *ct, *tag;
    EVP_CIPHER_CTX  *ctx;

    *plain_len = 0;

    blob_len = prefs_b64_decode(b64, len, blob, sizeof(blob), PREFS_B64_STD);

    if (blob_len < PREFS_SECRET_OVERHEAD || blob[0] != PREFS_SECRET_VERSION) {
        rc = PREFS_AUTH_SEALED_BAD;
        goto failed;
    }

    ct_len = (size_t) blob_len - PREFS_SECRET_OVERHEAD;

    if (ct_len > plain_size) {
        rc = PREFS_AUTH_ERROR;
        goto failed;
    }

    nonce = blob + 1;
    ct = nonce + PREFS_SECRET_NONCE;
    tag = ct + ct_len;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        rc = PREFS_AUTH_ERROR;
        goto failed;
    }

    rc = PREFS_AUTH_ERROR;

    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1
        && EVP_DecryptUpdate(ctx, NULL, &n, blob, 1) == 1
        && EVP_DecryptUpdate(ctx, NULL, &n,
                             (const unsigned char *) PREFS_SECRET_AAD,
                             sizeof(PREFS_SECRET_AAD) - 1) == 1
        && (ct_len == 0
            || EVP_DecryptUpdate(ctx, plain, &n, ct, (int) ct_len) == 1)
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, PREFS_SECRET_TAG,
                               tag) == 1)
    {
        rc = EVP_DecryptFinal_ex(ctx, plain, &n) == 1
             ? PREFS_AUTH_OK : PREFS_AUTH_SEALED_BAD;
    }

    EVP_CIPHER_CTX_free(ctx);

    if (rc == PREFS_AUTH_OK) {
        *plain_len = ct_len;
        return PREFS_AUTH_OK;
    }

failed:

    /* GCM hands out plaintext before the tag is checked */
    if (plain_size) {
        OPENSSL_cleanse(plain, plain_size);
    }

    return rc;
}
