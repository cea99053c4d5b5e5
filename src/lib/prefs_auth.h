
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_AUTH_H_INCLUDED_
#define _PREFS_AUTH_H_INCLUDED_


/*
 * Request authentication: the PNAUTHINFO3 and Bearer Authorization
 * headers, ISO 8601 timestamps, HMAC signatures, and the server-side
 * handling of secrets (tokens stored as hashes, HMAC secrets sealed with
 * a key from a file).  Plain C over libcrypto (OpenSSL 3), no nginx
 * types, nothing allocated outside OpenSSL and no global state.
 */


#include <stddef.h>
#include <stdint.h>


/*
 * Results.  The request-facing ones map 1:1 onto the 401 messages of
 * the contract (see prefs_auth_message()).
 */

#define PREFS_AUTH_OK              0
#define PREFS_AUTH_MISSING        -1   /* empty header */
#define PREFS_AUTH_BAD_SCHEME     -2   /* not a scheme we accept */
#define PREFS_AUTH_BAD_DATE       -3   /* timestamp is not ISO 8601 */
#define PREFS_AUTH_MALFORMED      -4   /* any other syntax error */
#define PREFS_AUTH_TOO_OLD        -5   /* timestamp older than the window */
#define PREFS_AUTH_IN_FUTURE      -6   /* timestamp ahead beyond the skew */
#define PREFS_AUTH_BAD_SIGNATURE  -7   /* signature does not match */

/* server-side results, never a client's fault */
#define PREFS_AUTH_ERROR          -8   /* bad argument, short buffer, crypto */
#define PREFS_AUTH_SEALED_BAD     -9   /* altered, wrong key, not ours */
#define PREFS_AUTH_KEY_BAD       -10   /* key file refused, see err */
#define PREFS_AUTH_KEY_LOOSE       1   /* key loaded, but group or others
                                          may read the file: warn */

#define PREFS_AUTH_HMAC            1
#define PREFS_AUTH_BEARER          2

#define PREFS_AUTH_SHA256          1
#define PREFS_AUTH_SHA384          2
#define PREFS_AUTH_SHA512          3

/* the longest Authorization value looked at */
#define PREFS_AUTH_MAX_HEADER      4096
#define PREFS_AUTH_MAX_USER        128

/* a base64 SHA-512 HMAC and its NUL */
#define PREFS_AUTH_SIG_SIZE        89

#define PREFS_AUTH_KEY_LEN         32
#define PREFS_AUTH_MIN_TOKEN       32
#define PREFS_AUTH_MAX_TOKEN       256

/* sealed secret: version byte, nonce, ciphertext, tag; then base64 */
#define PREFS_SECRET_VERSION       0x01
#define PREFS_SECRET_NONCE         12
#define PREFS_SECRET_TAG           16
#define PREFS_SECRET_OVERHEAD      (1 + PREFS_SECRET_NONCE + PREFS_SECRET_TAG)
#define PREFS_SECRET_MAX           1024
#define PREFS_SECRET_B64_SIZE(n)                                              \
    (((n) + PREFS_SECRET_OVERHEAD + 2) / 3 * 4 + 1)


typedef struct {
    int           kind;        /* PREFS_AUTH_HMAC or PREFS_AUTH_BEARER */
    int           alg;         /* PREFS_AUTH_SHA256 .. _SHA512 (HMAC) */

    /* all point into the parsed value and are not NUL-terminated */
    const char   *user;        /* UserName */
    size_t        user_len;
    const char   *ts;          /* timestamp exactly as sent: it is signed */
    size_t        ts_len;
    const char   *sig;         /* Signature, still base64 */
    size_t        sig_len;
    const char   *token;       /* Bearer token */
    size_t        token_len;

    int64_t       ts_ms;       /* the timestamp, ms since the epoch, UTC */

    const char   *reason;      /* on failure: what was wrong, for the log */
} prefs_auth_t;


/*
 * Parses an Authorization header value:
 *
 *   PNAUTHINFO3-HMAC-SHA256 Credential=<UserName>/<timestamp> Signature=<b64>
 *   Bearer <token>
 *
 * with -SHA384 and -SHA512 as well.  Returns PREFS_AUTH_OK or one of
 * MISSING, BAD_SCHEME, BAD_DATE, MALFORMED, and sets out->reason.
 * The timestamp is parsed, not checked against the clock.
 */
int prefs_auth_parse(const char *value, size_t len, prefs_auth_t *out);

/*
 * YYYY-MM-DDTHH:MM:SS[.f{1,7}][Z|+hh:mm|-hh:mm]; no offset is UTC.
 * Sets *epoch_ms (the fraction truncated to milliseconds).  Returns
 * PREFS_AUTH_OK or PREFS_AUTH_BAD_DATE.
 */
int prefs_iso8601_parse(const char *s, size_t len, int64_t *epoch_ms);

/*
 * OK when now - window <= ts <= now + skew (both bounds inclusive);
 * else PREFS_AUTH_TOO_OLD or PREFS_AUTH_IN_FUTURE.
 */
int prefs_auth_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms,
    int64_t skew_ms);

/* the 401 Message for a request-facing result */
const char *prefs_auth_message(int rc);

/* "SHA256" and so on, for logs */
const char *prefs_auth_alg_name(int alg);

/*
 * out_b64 = Base64(HMAC-alg(secret, "<clientId>:<UserName>:<timestamp>")),
 * NUL-terminated; out_size >= PREFS_AUTH_SIG_SIZE is always enough.
 * An empty secret is refused (PREFS_AUTH_ERROR).
 */
int prefs_auth_sign(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len, char *out_b64,
    size_t out_size);

/*
 * Checks a parsed PNAUTHINFO3 header against the user's secret, in
 * constant time.  PREFS_AUTH_OK, PREFS_AUTH_BAD_SIGNATURE or
 * PREFS_AUTH_ERROR.
 */
int prefs_auth_verify(const prefs_auth_t *auth, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len);

/* 1 if equal, in time that depends only on the lengths */
int prefs_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* clears a secret in a way the compiler cannot drop (OPENSSL_cleanse) */
void prefs_wipe(void *p, size_t len);

/* nbytes (32..256) random bytes as unpadded base64url, NUL-terminated */
int prefs_random_token(char *out, size_t out_size, size_t nbytes);

/* lowercase hex SHA-256, NUL-terminated: how tokens and secrets are kept */
int prefs_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * AES-256-GCM with a random 12-byte nonce; out_b64 gets the padded
 * base64 of 0x01 | nonce | ciphertext | tag(16), NUL-terminated, and
 * needs PREFS_SECRET_B64_SIZE(len) bytes.  The associated data is the
 * version byte followed by "ngx_prefs secret v1", so a tool that seals
 * with any GCM library uses AAD "\x01ngx_prefs secret v1".  At most
 * PREFS_SECRET_MAX bytes are sealed.
 */
int prefs_secret_seal(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const unsigned char *plain, size_t len, char *out_b64, size_t out_size);

/*
 * Opens what prefs_secret_seal() made.  PREFS_AUTH_SEALED_BAD if the
 * text was altered, sealed with another key or is not ours;
 * PREFS_AUTH_ERROR if plain_size is too small.  plain is wiped on
 * failure.
 */
int prefs_secret_open(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const char *b64, size_t len, unsigned char *plain, size_t plain_size,
    size_t *plain_len);

/*
 * Reads a 32-byte key written as 64 hex digits, as padded base64 or as
 * unpadded base64url, optionally followed by whitespace.  Returns
 * PREFS_AUTH_OK, PREFS_AUTH_KEY_LOOSE (loaded, with a warning in err) or
 * PREFS_AUTH_KEY_BAD (err says why).
 */
int prefs_key_load(const char *path, unsigned char key[PREFS_AUTH_KEY_LEN],
    char *err, size_t err_size);


#endif /* _PREFS_AUTH_H_INCLUDED_ */
