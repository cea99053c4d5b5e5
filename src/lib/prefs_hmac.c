
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * PNAUTHINFO3 signatures (HMAC-SHA256/384/512 over
 * "<clientId>:<UserName>:<timestamp>", with the request after it in the
 * bound form), and the primitives around secrets:
 * constant-time comparison, wiping, random tokens, SHA-256 hex.
 */


#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "prefs_auth.h"
#include "prefs_b64.h"
#include "prefs_hmac.h"


static int prefs_hmac_compute(int alg, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len,
    const char *user, size_t user_len, const char *ts, size_t ts_len,
    const prefs_auth_binding_t *b, unsigned char *md, size_t *md_len);


/*
 * The message is fed in pieces: no buffer to size or allocate.  Fetching
 * the HMAC implementation and its digest costs more than the HMAC itself,
 * so one context per algorithm is made once and re-keyed for each use: a
 * per-process cache, for single-threaded callers (nginx workers are).
 */

static EVP_MAC_CTX  *prefs_hmac_ctx[PREFS_AUTH_SHA512 + 1];


static EVP_MAC_CTX *
prefs_hmac_context(int alg)
{
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    if (prefs_hmac_ctx[alg]) {
        return prefs_hmac_ctx[alg];
    }

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return NULL;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return NULL;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                             (char *) prefs_auth_alg_name(alg),
                                             0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }

    prefs_hmac_ctx[alg] = ctx;

    return ctx;
}


static int
prefs_hmac_compute(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len,
    const prefs_auth_binding_t *b, unsigned char *md, size_t *md_len)
{
    EVP_MAC_CTX  *ctx;

    /* an empty key would let anyone sign */
    if (secret == NULL || secret_len == 0 || prefs_auth_md_len(alg) == 0) {
        return PREFS_AUTH_ERROR;
    }

    ctx = prefs_hmac_context(alg);
    if (ctx == NULL) {
        return PREFS_AUTH_ERROR;
    }

    if (EVP_MAC_init(ctx, secret, secret_len, NULL) == 1
        && EVP_MAC_update(ctx, (const unsigned char *) client_id, client_len)
           == 1
        && EVP_MAC_update(ctx, (const unsigned char *) ":", 1) == 1
        && EVP_MAC_update(ctx, (const unsigned char *) user, user_len) == 1
        && EVP_MAC_update(ctx, (const unsigned char *) ":", 1) == 1
        && EVP_MAC_update(ctx, (const unsigned char *) ts, ts_len) == 1
        && (b == NULL
            || (EVP_MAC_update(ctx, (const unsigned char *) "\n", 1) == 1
                && EVP_MAC_update(ctx, (const unsigned char *) b->method,
                                  b->method_len) == 1
                && EVP_MAC_update(ctx, (const unsigned char *) "\n", 1) == 1
                && EVP_MAC_update(ctx, (const unsigned char *) b->target,
                                  b->target_len) == 1
                && EVP_MAC_update(ctx, (const unsigned char *) "\n", 1) == 1
                && EVP_MAC_update(ctx, (const unsigned char *) b->body_hash,
                                  64) == 1))
        && EVP_MAC_final(ctx, md, md_len, PREFS_AUTH_MD_MAX) == 1
        && *md_len == prefs_auth_md_len(alg))
    {
        return PREFS_AUTH_OK;
    }

    return PREFS_AUTH_ERROR;
}


int
prefs_hmac_sign(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len, char *out_b64,
    size_t out_size)
{
    return prefs_hmac_sign_request(alg, secret, secret_len, client_id,
                                   client_len, user, user_len, ts, ts_len,
                                   NULL, out_b64, out_size);
}


int
prefs_hmac_sign_request(int alg, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len,
    const char *user, size_t user_len, const char *ts, size_t ts_len,
    const prefs_auth_binding_t *binding, char *out_b64, size_t out_size)
{
    int            rc;
    size_t         md_len;
    unsigned char  md[PREFS_AUTH_MD_MAX];

    rc = prefs_hmac_compute(alg, secret, secret_len, client_id, client_len,
                            user, user_len, ts, ts_len, binding, md,
                            &md_len);
    if (rc != PREFS_AUTH_OK) {
        return rc;
    }

    if (prefs_b64_encode(md, md_len, out_b64, out_size, PREFS_B64_STD) < 0) {
        return PREFS_AUTH_ERROR;
    }

    return PREFS_AUTH_OK;
}


/*
 * The HMAC is computed before the presented signature is looked at, so
 * the time taken tells nothing but whether the signature was well-formed,
 * which the sender knows anyway.
 */

int
prefs_hmac_verify(const prefs_auth_t *auth, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len)
{
    int            rc;
    long           n;
    size_t         md_len;
    unsigned char  md[PREFS_AUTH_MD_MAX], presented[PREFS_AUTH_MD_MAX];

    if (auth->kind != PREFS_AUTH_HMAC
        || (auth->bound && auth->binding == NULL))
    {
        return PREFS_AUTH_ERROR;
    }

    rc = prefs_hmac_compute(auth->alg, secret, secret_len, client_id,
                            client_len, auth->user, auth->user_len, auth->ts,
                            auth->ts_len, auth->bound ? auth->binding : NULL,
                            md, &md_len);
    if (rc != PREFS_AUTH_OK) {
        return rc;
    }

    n = prefs_b64_decode(auth->sig, auth->sig_len, presented,
                         sizeof(presented), PREFS_B64_STD);

    if (n < 0 || (size_t) n != md_len) {
        rc = PREFS_AUTH_BAD_SIGNATURE;

    } else {
        rc = CRYPTO_memcmp(md, presented, md_len) == 0
             ? PREFS_AUTH_OK : PREFS_AUTH_BAD_SIGNATURE;
    }

    OPENSSL_cleanse(md, sizeof(md));

    return rc;
}


int
prefs_hmac_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len) {
        return 0;
    }

    return CRYPTO_memcmp(a, b, a_len) == 0;
}


void
prefs_hmac_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}


int
prefs_hmac_random_token(char *out, size_t out_size, size_t nbytes)
{
    int            rc;
    unsigned char  buf[PREFS_AUTH_MAX_TOKEN];

    if (nbytes < PREFS_AUTH_MIN_TOKEN || nbytes > PREFS_AUTH_MAX_TOKEN) {
        return PREFS_AUTH_ERROR;
    }

    if (RAND_bytes(buf, (int) nbytes) != 1) {
        return PREFS_AUTH_ERROR;
    }

    rc = prefs_b64_encode(buf, nbytes, out, out_size, PREFS_B64_URL) < 0
         ? PREFS_AUTH_ERROR : PREFS_AUTH_OK;

    OPENSSL_cleanse(buf, sizeof(buf));

    return rc;
}


int
prefs_hmac_sha256_hex(const void *data, size_t len, char out[65])
{
    size_t         i;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        out[0] = '\0';
        return PREFS_AUTH_ERROR;
    }

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }

    out[64] = '\0';

    return PREFS_AUTH_OK;
}


int
prefs_hmac_binding_set(prefs_auth_binding_t *b, const char *method,
    size_t method_len, const char *target, size_t target_len,
    const void *body, size_t body_len)
{
    b->method = method;
    b->method_len = method_len;
    b->target = target;
    b->target_len = target_len;

    return prefs_hmac_sha256_hex(body_len ? body : "", body_len,
                                 b->body_hash);
}
