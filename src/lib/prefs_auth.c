
/*
 * Copyright (C) ngx_prefs authors
 */


/* open(), fstat() and O_CLOEXEC under -std=c99 */
#define _POSIX_C_SOURCE  200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "prefs_auth.h"
#include "prefs_b64.h"
#include "prefs_path.h"


#define PREFS_AUTH_MD_MAX      64
#define PREFS_KEY_FILE_MAX     256

/*
 * Bound into every sealed secret: a ciphertext made for anything else
 * with the same key does not open as a secret.
 */
#define PREFS_SECRET_AAD       "ngx_prefs secret v1"

#define prefs_ows(c)       ((c) == ' ' || (c) == '\t')
#define prefs_digit(c)     ((c) >= '0' && (c) <= '9')
#define prefs_nelts(a)     (sizeof(a) / sizeof((a)[0]))


typedef struct {
    const char  *name;
    int          alg;
} prefs_auth_scheme_t;


static int prefs_auth_fail(prefs_auth_t *out, int rc, const char *reason);
static int prefs_auth_ieq(const char *s, size_t len, const char *lit);
static int prefs_auth_parse_hmac(const char *p, const char *end,
    prefs_auth_t *out);
static int prefs_auth_parse_bearer(const char *p, const char *end,
    prefs_auth_t *out);
static const char *prefs_auth_check_user(const char *user, size_t len);
static int prefs_digits(const char *s, size_t n);
static int64_t prefs_days_from_civil(int64_t y, int m, int d);
static size_t prefs_auth_md_len(int alg);
static int prefs_auth_hmac(int alg, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len,
    const char *user, size_t user_len, const char *ts, size_t ts_len,
    unsigned char *md, size_t *md_len);
static int prefs_key_error(char *err, size_t err_size, int rc,
    const char *fmt, ...);


/*
 * RFC 7235 makes auth-scheme names case-insensitive, and the reference
 * says so for PNAUTHINFO3; a public client sends "PNAUTHINFO3-HMAC-sha256".
 */
static const prefs_auth_scheme_t  prefs_auth_schemes[] = {
    { "PNAUTHINFO3-HMAC-SHA256", PREFS_AUTH_SHA256 },
    { "PNAUTHINFO3-HMAC-SHA384", PREFS_AUTH_SHA384 },
    { "PNAUTHINFO3-HMAC-SHA512", PREFS_AUTH_SHA512 },
};


int
prefs_auth_parse(const char *value, size_t len, prefs_auth_t *out)
{
    size_t       i, n;
    const char  *p, *end, *scheme, *why;

    memset(out, 0, sizeof(prefs_auth_t));

    if (len == 0) {
        return prefs_auth_fail(out, PREFS_AUTH_MISSING, "the header is empty");
    }

    if (len > PREFS_AUTH_MAX_HEADER) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "the header is longer than 4096 bytes");
    }

    p = value;
    end = value + len;

    while (p < end && prefs_ows(*p)) {
        p++;
    }

    while (end > p && prefs_ows(end[-1])) {
        end--;
    }

    if (p == end) {
        return prefs_auth_fail(out, PREFS_AUTH_MISSING, "the header is empty");
    }

    scheme = p;

    while (p < end && !prefs_ows(*p)) {
        p++;
    }

    n = (size_t) (p - scheme);

    if (prefs_auth_ieq(scheme, n, "Bearer")) {
        out->kind = PREFS_AUTH_BEARER;
        return prefs_auth_parse_bearer(p, end, out);
    }

    for (i = 0; i < prefs_nelts(prefs_auth_schemes); i++) {
        if (prefs_auth_ieq(scheme, n, prefs_auth_schemes[i].name)) {
            out->kind = PREFS_AUTH_HMAC;
            out->alg = prefs_auth_schemes[i].alg;
            return prefs_auth_parse_hmac(p, end, out);
        }
    }

    if (n > 17 && prefs_auth_ieq(scheme, 17, "PNAUTHINFO3-HMAC-")) {
        why = "the PNAUTHINFO3-HMAC algorithm is not supported";

    } else if (n > 12 && prefs_auth_ieq(scheme, 12, "PNAUTHINFO3-")) {
        why = "only the keyed PNAUTHINFO3-HMAC scheme is supported";

    } else {
        why = "the scheme is neither PNAUTHINFO3 nor Bearer";
    }

    return prefs_auth_fail(out, PREFS_AUTH_BAD_SCHEME, why);
}


/*
 * Parameters are separated by white space, as the reference shows, or
 * by a comma with optional white space, as RFC 7235 auth-param lists
 * are.  Names are case-insensitive (RFC 7235), values are not quoted,
 * each parameter appears once and no other is allowed.  So a user name
 * cannot hold white space or a comma.
 */

static int
prefs_auth_parse_hmac(const char *p, const char *end, prefs_auth_t *out)
{
    int            rc;
    long           n;
    size_t         name_len, val_len, cred_len;
    const char    *name, *val, *cred, *sig, *slash, *why;
    unsigned char  raw[PREFS_AUTH_MD_MAX];

    cred = NULL;
    cred_len = 0;
    sig = NULL;

    if (p == end) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "the header has no parameters");
    }

    while (p < end && prefs_ows(*p)) {
        p++;
    }

    for ( ;; ) {
        name = p;

        while (p < end && *p != '=' && *p != ',' && !prefs_ows(*p)) {
            p++;
        }

        if (p == end || *p != '=') {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "a parameter has no \"=\"");
        }

        name_len = (size_t) (p - name);
        val = ++p;

        while (p < end && *p != ',' && !prefs_ows(*p)) {
            p++;
        }

        val_len = (size_t) (p - val);

        if (val_len == 0) {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "a parameter has an empty value");
        }

        if (prefs_auth_ieq(name, name_len, "Credential")) {
            if (cred != NULL) {
                return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                       "Credential is given twice");
            }

            cred = val;
            cred_len = val_len;

        } else if (prefs_auth_ieq(name, name_len, "Signature")) {
            if (sig != NULL) {
                return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                       "Signature is given twice");
            }

            sig = val;
            out->sig = val;
            out->sig_len = val_len;

        } else {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "unknown parameter");
        }

        if (p == end) {
            break;
        }

        while (p < end && prefs_ows(*p)) {
            p++;
        }

        if (p < end && *p == ',') {
            p++;

            while (p < end && prefs_ows(*p)) {
                p++;
            }
        }

        if (p == end) {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "the header ends with a comma");
        }
    }

    if (cred == NULL) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Credential is missing");
    }

    if (sig == NULL) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Signature is missing");
    }

    /*
     * The timestamp never holds a "/", so the last one ends the user
     * name; a "/" before it is then refused as part of the name.
     */

    slash = NULL;

    for (val = cred; val < cred + cred_len; val++) {
        if (*val == '/') {
            slash = val;
        }
    }

    if (slash == NULL) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Credential has no \"/\" before the timestamp");
    }

    out->user = cred;
    out->user_len = (size_t) (slash - cred);
    out->ts = slash + 1;
    out->ts_len = (size_t) (cred + cred_len - out->ts);

    if (out->ts_len == 0) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Credential has no timestamp");
    }

    /*
     * A bad date is reported before a bad name or signature: its
     * message is the one that tells a client what to fix.
     */

    rc = prefs_iso8601_parse(out->ts, out->ts_len, &out->ts_ms);
    if (rc != PREFS_AUTH_OK) {
        return prefs_auth_fail(out, PREFS_AUTH_BAD_DATE,
                               "the timestamp is not ISO 8601");
    }

    why = prefs_auth_check_user(out->user, out->user_len);
    if (why != NULL) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED, why);
    }

    n = prefs_b64_decode(out->sig, out->sig_len, raw, sizeof(raw),
                         PREFS_B64_STD);

    if (n < 0) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Signature is not canonical base64");
    }

    if ((size_t) n != prefs_auth_md_len(out->alg)) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "Signature has the wrong length for the "
                               "algorithm");
    }

    return PREFS_AUTH_OK;
}


static const char *
prefs_auth_check_user(const char *user, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0) {
        return "the user name is empty";
    }

    if (len > PREFS_AUTH_MAX_USER) {
        return "the user name is longer than 128 bytes";
    }

    if (!prefs_utf8_valid(user, len)) {
        return "the user name is not UTF-8";
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) user[i];

        if (c < 0x20 || c == 0x7f) {
            return "the user name has a control character";
        }

        /* C1 controls, U+0080..U+009F, are C2 80..C2 9F in UTF-8 */

        if (c == 0xc2 && i + 1 < len
            && (unsigned char) user[i + 1] >= 0x80
            && (unsigned char) user[i + 1] <= 0x9f)
        {
            return "the user name has a control character";
        }

        if (c == '/') {
            return "the user name has a \"/\"";
        }
    }

    return NULL;
}


/*
 * RFC 6750: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
 * / "/" ) *"=".  Nothing may follow it.
 */

static int
prefs_auth_parse_bearer(const char *p, const char *end, prefs_auth_t *out)
{
    const char  *tok;
    char         c;

    while (p < end && prefs_ows(*p)) {
        p++;
    }

    tok = p;

    while (p < end) {
        c = *p;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || prefs_digit(c) || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '+' || c == '/')
        {
            p++;
            continue;
        }

        break;
    }

    if (p == tok) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               p == end ? "the Bearer token is missing"
                                        : "the Bearer token has a character "
                                          "outside RFC 6750 b64token");
    }

    while (p < end && *p == '=') {
        p++;
    }

    if (p != end) {
        return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                               "the Bearer token has a character outside "
                               "RFC 6750 b64token");
    }

    out->token = tok;
    out->token_len = (size_t) (end - tok);

    return PREFS_AUTH_OK;
}


static int
prefs_auth_fail(prefs_auth_t *out, int rc, const char *reason)
{
    out->reason = reason;
    return rc;
}


/* ASCII case-insensitive: s[0..len) against a NUL-terminated literal */

static int
prefs_auth_ieq(const char *s, size_t len, const char *lit)
{
    size_t         i;
    unsigned char  a, b;

    for (i = 0; i < len; i++) {
        a = (unsigned char) s[i];
        b = (unsigned char) lit[i];

        if (b == '\0') {
            return 0;
        }

        if (a >= 'A' && a <= 'Z') {
            a |= 0x20;
        }

        if (b >= 'A' && b <= 'Z') {
            b |= 0x20;
        }

        if (a != b) {
            return 0;
        }
    }

    return lit[len] == '\0';
}


/*
 * The fixed-width extended format only: the timestamp is signed as
 * sent, so a lenient parser would only invite clients to send strings
 * another MyPreferences server rejects.  "T" and "Z" are upper case as
 * ISO 8601 writes them; the fraction is 1..7 digits (.NET's precision);
 * offsets are at most 14:00 as real zones (and .NET) are.
 */

int
prefs_iso8601_parse(const char *s, size_t len, int64_t *epoch_ms)
{
    int      year, month, day, hour, min, sec, oh, om, ms, n, sign, mdays;
    size_t   i;
    int64_t  t, offset;

    static const int  days_in[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (len < 19
        || s[4] != '-' || s[7] != '-' || s[10] != 'T'
        || s[13] != ':' || s[16] != ':')
    {
        return PREFS_AUTH_BAD_DATE;
    }

    year = prefs_digits(s, 4);
    month = prefs_digits(s + 5, 2);
    day = prefs_digits(s + 8, 2);
    hour = prefs_digits(s + 11, 2);
    min = prefs_digits(s + 14, 2);
    sec = prefs_digits(s + 17, 2);

    if (year < 1970 || month < 1 || month > 12 || day < 1
        || hour < 0 || hour > 23 || min < 0 || min > 59
        || sec < 0 || sec > 59)
    {
        return PREFS_AUTH_BAD_DATE;
    }

    mdays = days_in[month - 1];

    if (month == 2
        && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    {
        mdays = 29;
    }

    if (day > mdays) {
        return PREFS_AUTH_BAD_DATE;
    }

    i = 19;
    ms = 0;

    if (i < len && s[i] == '.') {
        i++;
        n = 0;

        while (i < len && prefs_digit(s[i]) && n < 8) {
            if (n < 3) {
                ms = ms * 10 + (s[i] - '0');
            }

            n++;
            i++;
        }

        if (n == 0 || n > 7) {
            return PREFS_AUTH_BAD_DATE;
        }

        for ( /* void */ ; n < 3; n++) {
            ms *= 10;
        }
    }

    offset = 0;

    if (i < len && s[i] == 'Z') {
        i++;

    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (len - i < 6 || s[i + 3] != ':') {
            return PREFS_AUTH_BAD_DATE;
        }

        sign = (s[i] == '-') ? -1 : 1;
        oh = prefs_digits(s + i + 1, 2);
        om = prefs_digits(s + i + 4, 2);

        if (oh < 0 || om < 0 || om > 59 || oh * 60 + om > 14 * 60) {
            return PREFS_AUTH_BAD_DATE;
        }

        offset = sign * (int64_t) (oh * 60 + om);
        i += 6;
    }

    if (i != len) {
        return PREFS_AUTH_BAD_DATE;
    }

    t = prefs_days_from_civil(year, month, day) * 86400
        + hour * 3600 + min * 60 + sec - offset * 60;

    *epoch_ms = t * 1000 + ms;

    return PREFS_AUTH_OK;
}


/* the value of n decimal digits, or -1 */

static int
prefs_digits(const char *s, size_t n)
{
    int     v;
    size_t  i;

    v = 0;

    for (i = 0; i < n; i++) {
        if (!prefs_digit(s[i])) {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    return v;
}


/*
 * Days from 1970-01-01 to a proleptic Gregorian date, y >= 1, without
 * libc: timegm() is not standard and mktime() depends on TZ.  Years are
 * counted from March so the leap day falls at the end of one, and whole
 * 400-year eras of 146097 days are taken out first.
 */

static int64_t
prefs_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    if (m <= 2) {
        y--;
    }

    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    /* 719468 days from 0000-03-01 to 1970-01-01 */
    return era * 146097 + doe - 719468;
}


/*
 * Unsigned differences cannot overflow, whatever the caller passes;
 * a negative window or skew counts as zero.
 */

int
prefs_auth_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms,
    int64_t skew_ms)
{
    uint64_t  d;

    if (window_ms < 0) {
        window_ms = 0;
    }

    if (skew_ms < 0) {
        skew_ms = 0;
    }

    if (ts_ms <= now_ms) {
        d = (uint64_t) now_ms - (uint64_t) ts_ms;
        return d > (uint64_t) window_ms ? PREFS_AUTH_TOO_OLD : PREFS_AUTH_OK;
    }

    d = (uint64_t) ts_ms - (uint64_t) now_ms;

    return d > (uint64_t) skew_ms ? PREFS_AUTH_IN_FUTURE : PREFS_AUTH_OK;
}


const char *
prefs_auth_message(int rc)
{
    switch (rc) {
    case PREFS_AUTH_MISSING:
        return "Missing Authorization Header";
    case PREFS_AUTH_BAD_SCHEME:
        return "The scheme is invalid";
    case PREFS_AUTH_BAD_DATE:
        return "The specified date does not match an expected ISO 8601 format";
    case PREFS_AUTH_TOO_OLD:
    case PREFS_AUTH_IN_FUTURE:
        return "The difference between the issued timestamp and the current "
               "time is too large";
    default:
        /* incomplete header, bad signature, unknown user: one answer */
        return "Unable to authenticate request";
    }
}


const char *
prefs_auth_alg_name(int alg)
{
    switch (alg) {
    case PREFS_AUTH_SHA256:
        return "SHA256";
    case PREFS_AUTH_SHA384:
        return "SHA384";
    case PREFS_AUTH_SHA512:
        return "SHA512";
    default:
        return "unknown";
    }
}


static size_t
prefs_auth_md_len(int alg)
{
    switch (alg) {
    case PREFS_AUTH_SHA256:
        return 32;
    case PREFS_AUTH_SHA384:
        return 48;
    case PREFS_AUTH_SHA512:
        return 64;
    default:
        return 0;
    }
}


/*
 * The message is fed in pieces: no buffer to size or allocate.  Fetching
 * the HMAC implementation and its digest costs more than the HMAC itself,
 * so one context per algorithm is made once and re-keyed for each use: a
 * per-process cache, for single-threaded callers (nginx workers are).
 */

static EVP_MAC_CTX  *prefs_auth_hmac_ctx[PREFS_AUTH_SHA512 + 1];


static EVP_MAC_CTX *
prefs_auth_hmac_context(int alg)
{
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    if (prefs_auth_hmac_ctx[alg]) {
        return prefs_auth_hmac_ctx[alg];
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

    prefs_auth_hmac_ctx[alg] = ctx;

    return ctx;
}


static int
prefs_auth_hmac(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len, unsigned char *md,
    size_t *md_len)
{
    EVP_MAC_CTX  *ctx;

    /* an empty key would let anyone sign */
    if (secret == NULL || secret_len == 0 || prefs_auth_md_len(alg) == 0) {
        return PREFS_AUTH_ERROR;
    }

    ctx = prefs_auth_hmac_context(alg);
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
        && EVP_MAC_final(ctx, md, md_len, PREFS_AUTH_MD_MAX) == 1
        && *md_len == prefs_auth_md_len(alg))
    {
        return PREFS_AUTH_OK;
    }

    return PREFS_AUTH_ERROR;
}


int
prefs_auth_sign(int alg, const unsigned char *secret, size_t secret_len,
    const char *client_id, size_t client_len, const char *user,
    size_t user_len, const char *ts, size_t ts_len, char *out_b64,
    size_t out_size)
{
    int            rc;
    size_t         md_len;
    unsigned char  md[PREFS_AUTH_MD_MAX];

    rc = prefs_auth_hmac(alg, secret, secret_len, client_id, client_len,
                         user, user_len, ts, ts_len, md, &md_len);
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
prefs_auth_verify(const prefs_auth_t *auth, const unsigned char *secret,
    size_t secret_len, const char *client_id, size_t client_len)
{
    int            rc;
    long           n;
    size_t         md_len;
    unsigned char  md[PREFS_AUTH_MD_MAX], presented[PREFS_AUTH_MD_MAX];

    if (auth->kind != PREFS_AUTH_HMAC) {
        return PREFS_AUTH_ERROR;
    }

    rc = prefs_auth_hmac(auth->alg, secret, secret_len, client_id, client_len,
                         auth->user, auth->user_len, auth->ts, auth->ts_len,
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
prefs_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len) {
        return 0;
    }

    return CRYPTO_memcmp(a, b, a_len) == 0;
}


void
prefs_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}


int
prefs_random_token(char *out, size_t out_size, size_t nbytes)
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
prefs_sha256_hex(const void *data, size_t len, char out[65])
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


/*
 * The version byte and a fixed label are authenticated along with the
 * ciphertext, so neither a changed format byte nor a GCM ciphertext made
 * with this key for another purpose opens.
 */

int
prefs_secret_seal(const unsigned char key[PREFS_AUTH_KEY_LEN],
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
prefs_secret_open(const unsigned char key[PREFS_AUTH_KEY_LEN],
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


int
prefs_key_load(const char *path, unsigned char key[PREFS_AUTH_KEY_LEN],
    char *err, size_t err_size)
{
    int            fd, hi, lo, rc;
    long           n;
    size_t         len, i;
    ssize_t        got;
    struct stat    st;
    unsigned char  tmp[48];
    char           buf[PREFS_KEY_FILE_MAX + 1];

    if (err_size) {
        err[0] = '\0';
    }

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "cannot open key file \"%s\": %s",
                               path, strerror(errno));
    }

    if (fstat(fd, &st) == -1) {
        rc = errno;
        close(fd);
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "cannot stat key file \"%s\": %s",
                               path, strerror(rc));
    }

    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "key file \"%s\" is not a regular file", path);
    }

    len = 0;

    while (len < sizeof(buf)) {
        got = read(fd, buf + len, sizeof(buf) - len);

        if (got == -1) {
            if (errno == EINTR) {
                continue;
            }

            rc = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof(buf));
            return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                                   "cannot read key file \"%s\": %s",
                                   path, strerror(rc));
        }

        if (got == 0) {
            break;
        }

        len += (size_t) got;
    }

    close(fd);

    if (len == sizeof(buf)) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "key file \"%s\" is longer than %d bytes",
                               path, PREFS_KEY_FILE_MAX);
    }

    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'
                       || buf[len - 1] == '\r' || buf[len - 1] == '\n'))
    {
        len--;
    }

    n = -1;

    if (len == 64) {
        n = 32;

        for (i = 0; i < 32; i++) {
            hi = prefs_path_hex((unsigned char) buf[2 * i]);
            lo = prefs_path_hex((unsigned char) buf[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                n = -1;
                break;
            }

            tmp[i] = (unsigned char) (hi << 4 | lo);
        }

    } else if (len == 44) {
        n = prefs_b64_decode(buf, len, tmp, sizeof(tmp), PREFS_B64_STD);

    } else if (len == 43) {
        n = prefs_b64_decode(buf, len, tmp, sizeof(tmp), PREFS_B64_URL);

    } else {
        OPENSSL_cleanse(buf, sizeof(buf));
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "key file \"%s\" must hold 32 bytes as 64 hex "
                               "digits or in base64, not %zu characters",
                               path, len);
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    if (n != 32) {
        OPENSSL_cleanse(tmp, sizeof(tmp));
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_BAD,
                               "key file \"%s\" is not valid %s", path,
                               len == 64 ? "hex" : "base64 for 32 bytes");
    }

    memcpy(key, tmp, PREFS_AUTH_KEY_LEN);
    OPENSSL_cleanse(tmp, sizeof(tmp));

    /*
     * Refusing would take the server down over a deployment habit; the
     * caller logs this as a warning instead.
     */

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        return prefs_key_error(err, err_size, PREFS_AUTH_KEY_LOOSE,
                               "key file \"%s\" is accessible by group or "
                               "others (mode %04o), it should be 0600",
                               path, (unsigned) (st.st_mode & 07777));
    }

    return PREFS_AUTH_OK;
}


static int
prefs_key_error(char *err, size_t err_size, int rc, const char *fmt, ...)
{
    va_list  args;

    if (err_size) {
        va_start(args, fmt);
        vsnprintf(err, err_size, fmt, args);
        va_end(args);
    }

    return rc;
}
