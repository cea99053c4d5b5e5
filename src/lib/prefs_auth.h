
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

/* the longest digest (SHA-512), and its base64 with the NUL */
#define PREFS_AUTH_MD_MAX          64
#define PREFS_AUTH_SIG_SIZE        89

/* the SHA-256 of a body, lowercase hex, with the NUL */
#define PREFS_AUTH_BODY_HASH_SIZE  65

#define PREFS_AUTH_KEY_LEN         32
#define PREFS_AUTH_MIN_TOKEN       32
#define PREFS_AUTH_MAX_TOKEN       256

/*
 * What a request-bound signature ("Binding=request", ours) covers besides
 * the reference string: the method, the request target (path and query
 * exactly as in the request line) and the SHA-256 of the body.  Nothing
 * here is NUL-terminated but body_hash.
 */
typedef struct {
    const char   *method;
    size_t        method_len;
    const char   *target;
    size_t        target_len;
    char          body_hash[PREFS_AUTH_BODY_HASH_SIZE];
} prefs_auth_binding_t;


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

    int           bound;       /* "Binding=request" was given (HMAC) */

    /*
     * Set by the caller before a bound signature is verified: the
     * request as received (prefs_hmac_binding_set()).
     */
    const prefs_auth_binding_t  *binding;

    const char   *reason;      /* on failure: what was wrong, for the log */
} prefs_auth_t;


/*
 * Parses an Authorization header value:
 *
 *   PNAUTHINFO3-HMAC-SHA256 Credential=<UserName>/<timestamp> Signature=<b64>
 *   PNAUTHINFO3-HMAC-SHA256 Credential=<UserName>/<timestamp>
 *       Binding=request Signature=<b64>
 *   Bearer <token>
 *
 * (the second is ours: the signature covers the request too, see
 * prefs_hmac_sign_request() and docs/authentication.md)
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
int prefs_auth_iso8601_parse(const char *s, size_t len, int64_t *epoch_ms);

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

/* the length of an algorithm's digest, 0 for none */
size_t prefs_auth_md_len(int alg);

#endif /* _PREFS_AUTH_H_INCLUDED_ */
