
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * PNAUTHINFO3: the Authorization header (HMAC credential or bearer
 * token), its ISO 8601 timestamp and the clock window.  HMAC itself is in
 * prefs_hmac.c.
 */


#include <string.h>

#include "prefs_auth.h"
#include "prefs_b64.h"
#include "prefs_path.h"


#define prefs_locale_ows(c)       ((c) == ' ' || (c) == '\t')
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
static int prefs_auth_digits(const char *s, size_t n);
static int64_t prefs_auth_days_from_civil(int64_t y, int m, int d);


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

    while (p < end && prefs_locale_ows(*p)) {
        p++;
    }

    while (end > p && prefs_locale_ows(end[-1])) {
        end--;
    }

    if (p == end) {
        return prefs_auth_fail(out, PREFS_AUTH_MISSING, "the header is empty");
    }

    scheme = p;

    while (p < end && !prefs_locale_ows(*p)) {
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
 * cannot hold white space or a comma.  Credential and Signature are the
 * reference's; Binding=request (ours) says that the signature covers the
 * request as well (prefs_hmac_sign_request()).
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

    while (p < end && prefs_locale_ows(*p)) {
        p++;
    }

    for ( ;; ) {
        name = p;

        while (p < end && *p != '=' && *p != ',' && !prefs_locale_ows(*p)) {
            p++;
        }

        if (p == end || *p != '=') {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "a parameter has no \"=\"");
        }

        name_len = (size_t) (p - name);
        val = ++p;

        while (p < end && *p != ',' && !prefs_locale_ows(*p)) {
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

        } else if (prefs_auth_ieq(name, name_len, "Binding")) {
            if (out->bound) {
                return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                       "Binding is given twice");
            }

            /* the one binding there is; a later one gets a new name */
            if (!prefs_auth_ieq(val, val_len, "request")) {
                return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                       "Binding is not \"request\"");
            }

            out->bound = 1;

        } else {
            return prefs_auth_fail(out, PREFS_AUTH_MALFORMED,
                                   "unknown parameter");
        }

        if (p == end) {
            break;
        }

        while (p < end && prefs_locale_ows(*p)) {
            p++;
        }

        if (p < end && *p == ',') {
            p++;

            while (p < end && prefs_locale_ows(*p)) {
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

    rc = prefs_auth_iso8601_parse(out->ts, out->ts_len, &out->ts_ms);
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

    if (!prefs_path_utf8_valid(user, len)) {
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

    while (p < end && prefs_locale_ows(*p)) {
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
prefs_auth_iso8601_parse(const char *s, size_t len, int64_t *epoch_ms)
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

    year = prefs_auth_digits(s, 4);
    month = prefs_auth_digits(s + 5, 2);
    day = prefs_auth_digits(s + 8, 2);
    hour = prefs_auth_digits(s + 11, 2);
    min = prefs_auth_digits(s + 14, 2);
    sec = prefs_auth_digits(s + 17, 2);

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
        oh = prefs_auth_digits(s + i + 1, 2);
        om = prefs_auth_digits(s + i + 4, 2);

        if (oh < 0 || om < 0 || om > 59 || oh * 60 + om > 14 * 60) {
            return PREFS_AUTH_BAD_DATE;
        }

        offset = sign * (int64_t) (oh * 60 + om);
        i += 6;
    }

    if (i != len) {
        return PREFS_AUTH_BAD_DATE;
    }

    t = prefs_auth_days_from_civil(year, month, day) * 86400
        + hour * 3600 + min * 60 + sec - offset * 60;

    *epoch_ms = t * 1000 + ms;

    return PREFS_AUTH_OK;
}


/* the value of n decimal digits, or -1 */

static int
prefs_auth_digits(const char *s, size_t n)
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
prefs_auth_days_from_civil(int64_t y, int m, int d)
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


size_t
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
