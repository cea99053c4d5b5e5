
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_HMAC_H_INCLUDED_
#define _PREFS_HMAC_H_INCLUDED_


/*
 * PNAUTHINFO3 signatures and the primitives around secrets.  Plain C, no
 * nginx types.
 */


#include <stddef.h>

#include "prefs_auth.h"


/*
 * out_b64 = Base64(HMAC-alg(secret, "<clientId>:<UserName>:<timestamp>")),
 * NUL-terminated; out_size >= PREFS_AUTH_SIG_SIZE is always enough.
 * An empty secret is refused (PREFS_AUTH_ERROR).
 */
int prefs_hmac_sign(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len, char *out_b64,
    size_t out_size);

/*
 * The request-bound form: out_b64 = Base64(HMAC-alg(secret,
 * "<clientId>:<UserName>:<timestamp>\n<METHOD>\n<target>\n<body SHA-256
 * hex>")); a NULL binding signs the reference string.
 */
int prefs_hmac_sign_request(int alg, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len,
    const char *user, size_t user_len, const char *ts, size_t ts_len,
    const prefs_auth_binding_t *binding, char *out_b64, size_t out_size);

/*
 * Checks a parsed PNAUTHINFO3 header against the user's secret, in
 * constant time; a bound header (auth->bound) against auth->binding,
 * which must be set.  PREFS_AUTH_OK, PREFS_AUTH_BAD_SIGNATURE or
 * PREFS_AUTH_ERROR.
 */
int prefs_hmac_verify(const prefs_auth_t *auth, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len);

/* 1 if equal, in time that depends only on the lengths */
int prefs_hmac_ct_equal(const void *a, size_t a_len, const void *b,
    size_t b_len);

/* clears a secret in a way the compiler cannot drop (OPENSSL_cleanse) */
void prefs_hmac_wipe(void *p, size_t len);

/* nbytes (32..256) random bytes as unpadded base64url, NUL-terminated */
int prefs_hmac_random_token(char *out, size_t out_size, size_t nbytes);

/*
 * Fills a binding from the request as received; body may be NULL when
 * body_len is 0.  PREFS_AUTH_OK, or PREFS_AUTH_ERROR (crypto).
 */
int prefs_hmac_binding_set(prefs_auth_binding_t *b, const char *method,
    size_t method_len, const char *target, size_t target_len,
    const void *body, size_t body_len);

/* lowercase hex SHA-256, NUL-terminated: how tokens and secrets are kept */
int prefs_hmac_sha256_hex(const void *data, size_t len, char out[65]);


#endif /* _PREFS_HMAC_H_INCLUDED_ */
