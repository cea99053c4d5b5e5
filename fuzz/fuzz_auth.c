
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for everything in prefs_auth and prefs_b64 that
 * reads bytes a client or a database row controls: the Authorization
 * parser, the ISO 8601 parser, base64 in both alphabets, the timestamp
 * window and opening sealed secrets.  Beyond the sanitizers it checks
 * properties: what parses re-serializes to something that parses and
 * verifies the same way, timestamps agree with timegm(), base64 has one
 * spelling per byte string.
 */


#define _DEFAULT_SOURCE  1      /* timegm() as an independent oracle */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_seal.h"
#include "prefs_b64.h"
#include "prefs_path.h"
#include "fuzz.h"


static const unsigned char  fuzz_secret[] = "fuzz-secret";
static const unsigned char  fuzz_key[32] = { 1, 2, 3 };


static int
within(const char *p, size_t len, const char *base, size_t size)
{
    return p >= base && len <= size && (size_t) (p - base) <= size - len;
}


static void
fuzz_header(const char *data, size_t size)
{
    int                   rc;
    int64_t               ms;
    size_t                i, n;
    char                  sig[PREFS_AUTH_SIG_SIZE], hdr[512];
    prefs_auth_t          a, b;
    prefs_auth_binding_t  bind;

    rc = prefs_auth_parse(data, size, &a);

    check(rc == PREFS_AUTH_OK || rc == PREFS_AUTH_MISSING
          || rc == PREFS_AUTH_BAD_SCHEME || rc == PREFS_AUTH_BAD_DATE
          || rc == PREFS_AUTH_MALFORMED);
    check(prefs_auth_message(rc) != NULL);

    if (rc != PREFS_AUTH_OK) {
        check(a.reason != NULL);
        return;
    }

    check(a.reason == NULL);
    check(size <= PREFS_AUTH_MAX_HEADER);

    if (a.kind == PREFS_AUTH_BEARER) {
        check(a.token_len > 0 && within(a.token, a.token_len, data, size));
        return;
    }

    check(a.kind == PREFS_AUTH_HMAC);
    check(a.user_len >= 1 && a.user_len <= PREFS_AUTH_MAX_USER);
    check(within(a.user, a.user_len, data, size));
    check(within(a.ts, a.ts_len, data, size));
    check(within(a.sig, a.sig_len, data, size));
    check(prefs_path_utf8_valid(a.user, a.user_len));

    for (i = 0; i < a.user_len; i++) {
        check(a.user[i] != '/' && a.user[i] != ' ' && a.user[i] != ','
              && (unsigned char) a.user[i] >= 0x20);
    }

    check(prefs_auth_iso8601_parse(a.ts, a.ts_len, &ms) == PREFS_AUTH_OK);
    check(ms == a.ts_ms);

    /* a bound header (Binding=request) is checked against a request only */

    if (a.bound) {
        check(prefs_hmac_verify(&a, fuzz_secret, sizeof(fuzz_secret) - 1,
                                "C", 1)
              == PREFS_AUTH_ERROR);
        check(prefs_hmac_binding_set(&bind, "GET", 3, "/", 1, NULL, 0)
              == PREFS_AUTH_OK);
        a.binding = &bind;
    }

    rc = prefs_hmac_verify(&a, fuzz_secret, sizeof(fuzz_secret) - 1, "C", 1);
    check(rc == PREFS_AUTH_OK || rc == PREFS_AUTH_BAD_SIGNATURE);

    /* sign what was parsed, write it out again: it must come back whole */

    rc = prefs_hmac_sign(a.alg, fuzz_secret, sizeof(fuzz_secret) - 1, "C", 1,
                         a.user, a.user_len, a.ts, a.ts_len, sig,
                         sizeof(sig));
    check(rc == PREFS_AUTH_OK);

    n = (size_t) snprintf(hdr, sizeof(hdr),
                          "PNAUTHINFO3-HMAC-%s Credential=%.*s/%.*s "
                          "Signature=%s", prefs_auth_alg_name(a.alg),
                          (int) a.user_len, a.user, (int) a.ts_len, a.ts,
                          sig);
    check(n < sizeof(hdr));

    rc = prefs_auth_parse(hdr, n, &b);
    check(rc == PREFS_AUTH_OK);
    check(b.alg == a.alg && b.ts_ms == a.ts_ms);
    check(b.user_len == a.user_len
          && memcmp(b.user, a.user, a.user_len) == 0);
    check(prefs_hmac_verify(&b, fuzz_secret, sizeof(fuzz_secret) - 1, "C", 1)
          == PREFS_AUTH_OK);
    check(prefs_hmac_verify(&b, fuzz_secret, sizeof(fuzz_secret) - 1, "D", 1)
          == PREFS_AUTH_BAD_SIGNATURE);
}


static int
fuzz_num(const char *s, size_t n)
{
    int  v;

    for (v = 0; n; n--, s++) {
        v = v * 10 + (*s - '0');
    }

    return v;
}


static void
fuzz_iso8601(const char *data, size_t size)
{
    int        rc, sign;
    int64_t    ms, want;
    size_t     i, frac;
    struct tm  tm;

    rc = prefs_auth_iso8601_parse(data, size, &ms);
    check(rc == PREFS_AUTH_OK || rc == PREFS_AUTH_BAD_DATE);

    if (rc != PREFS_AUTH_OK) {
        return;
    }

    check(size >= 19 && size <= 19 + 8 + 6);

    /* the parser accepted it, so the fields sit at fixed places */

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = fuzz_num(data, 4) - 1900;
    tm.tm_mon = fuzz_num(data + 5, 2) - 1;
    tm.tm_mday = fuzz_num(data + 8, 2);
    tm.tm_hour = fuzz_num(data + 11, 2);
    tm.tm_min = fuzz_num(data + 14, 2);
    tm.tm_sec = fuzz_num(data + 17, 2);

    want = (int64_t) timegm(&tm) * 1000;

    /* timegm() normalizes: a 31 April would come back as 1 May */
    check(tm.tm_mday == fuzz_num(data + 8, 2));

    i = 19;

    if (i < size && data[i] == '.') {
        for (i++, frac = 0; i < size && data[i] >= '0' && data[i] <= '9';
             i++, frac++)
        {
            if (frac < 3) {
                want += (data[i] - '0') * (frac == 0 ? 100 : frac == 1 ? 10
                                                                       : 1);
            }
        }

        check(frac >= 1 && frac <= 7);
    }

    if (i < size && (data[i] == '+' || data[i] == '-')) {
        sign = data[i] == '-' ? -1 : 1;
        want -= sign * (int64_t) (fuzz_num(data + i + 1, 2) * 60
                                  + fuzz_num(data + i + 4, 2)) * 60000;
    }

    check(ms == want);
    check(prefs_auth_check_time(ms, ms, 0, 0) == PREFS_AUTH_OK);
}


static void
fuzz_b64(const char *data, size_t size)
{
    int            v;
    long           n, m;
    char           text[4100];
    unsigned char  bin[3075];

    static const int  variants[] = { PREFS_B64_STD, PREFS_B64_URL };

    if (size > 4096) {
        return;
    }

    for (v = 0; v < 2; v++) {
        n = prefs_b64_decode(data, size, bin, sizeof(bin), variants[v]);
        check(n == PREFS_B64_BAD || (n >= 0
                                     && (size_t) n
                                        <= prefs_b64_decoded_max(size)));

        if (n >= 0) {
            m = prefs_b64_encode(bin, (size_t) n, text, sizeof(text),
                                 variants[v]);
            check(m == (long) size && memcmp(text, data, size) == 0);
        }

        if (size <= 3072) {
            m = prefs_b64_encode((const unsigned char *) data, size, text,
                                 sizeof(text), variants[v]);
            check(m >= 0 && (size_t) m
                            == prefs_b64_encoded_len(size, variants[v]));
            n = prefs_b64_decode(text, (size_t) m, bin, sizeof(bin),
                                 variants[v]);
            check(n == (long) size && memcmp(bin, data, size) == 0);
        }
    }
}


static void
fuzz_window(const char *data, size_t size)
{
    int       rc, want;
    int64_t   v[4];
    __int128  d;

    if (size < sizeof(v)) {
        return;
    }

    memcpy(v, data, sizeof(v));

    rc = prefs_auth_check_time(v[0], v[1], v[2], v[3]);

    d = (__int128) v[0] - v[1];
    want = PREFS_AUTH_OK;

    if (d < 0 && -d > (v[2] < 0 ? 0 : v[2])) {
        want = PREFS_AUTH_TOO_OLD;

    } else if (d > 0 && d > (v[3] < 0 ? 0 : v[3])) {
        want = PREFS_AUTH_IN_FUTURE;
    }

    check(rc == want);
}


static void
fuzz_sealed(const char *data, size_t size)
{
    int            rc;
    size_t         len;
    unsigned char  plain[PREFS_SECRET_MAX];

    rc = prefs_seal_open(fuzz_key, data, size, plain, sizeof(plain), &len);

    /* a forgery without the key would be a finding in OpenSSL, not here */
    check(rc == PREFS_AUTH_SEALED_BAD || rc == PREFS_AUTH_ERROR);
    check(len == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_header((const char *) data, size);
    fuzz_iso8601((const char *) data, size);
    fuzz_b64((const char *) data, size);
    fuzz_window((const char *) data, size);
    fuzz_sealed((const char *) data, size);

    return 0;
}
