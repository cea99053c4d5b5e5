
/*
 * Copyright (C) ngx_prefs authors
 */


/* mkstemp(), fchmod() under -std=c99 */
#define _POSIX_C_SOURCE  200809L

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "unit.h"
#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_keyfile.h"
#include "prefs_seal.h"
#include "prefs_b64.h"


#define SECRET      ((const unsigned char *) "example-secret-key")
#define SECRET_LEN  18
#define CLIENT      "SanchezAssociates"
#define CLIENT_LEN  17
#define TS          "2015-08-10T20:11:00"
#define TS_MS       INT64_C(1439237460000)
#define SIG256      "aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED+reLuY0="

/*
 * Computed with the OpenSSL command line:
 *   printf '%s' 'SanchezAssociates:RickSanchez:2015-08-10T20:11:00' \
 *   | openssl dgst -sha384 -hmac example-secret-key -binary | base64 -w0
 * and likewise with -sha512.
 */
#define SIG384                                                                \
    "uBhL8LHmlapcn8PvM3p79LY8DhM896tNlbd8myyyYBRlSAMSOZzCV4Z0xb5sT9Tz"
#define SIG512                                                                \
    "OEFcvyCYtJPg/S0irr0ukXIpNxAyPLDUpNBYDIdT73M5wouAz8tk64RydyGKEhahTymr"   \
    "EFgfOcgSgMTQRiHYqg=="

#define HDR         "PNAUTHINFO3-HMAC-SHA256 "
#define CRED        "Credential=RickSanchez/" TS
#define SIG         "Signature=" SIG256


static char  *held;


/* parses from an exact-size heap copy, so ASan sees any over-read */

static int
parse(const char *s, prefs_auth_t *a)
{
    size_t  len;

    len = strlen(s);
    free(held);
    held = malloc(len ? len : 1);
    memcpy(held, s, len);

    return prefs_auth_parse(held, len, a);
}


static int
iso(const char *s, int64_t *ms)
{
    int     rc;
    size_t  len;
    char   *copy;

    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    rc = prefs_auth_iso8601_parse(copy, len, ms);

    free(copy);

    return rc;
}


static int
eq(const char *p, size_t len, const char *want)
{
    return p != NULL && len == strlen(want) && memcmp(p, want, len) == 0;
}


static void
test_vectors(void)
{
    int           rc;
    char          sig[PREFS_AUTH_SIG_SIZE];
    prefs_auth_t  a;

    rc = prefs_hmac_sign(PREFS_AUTH_SHA256, SECRET, SECRET_LEN, CLIENT,
                         CLIENT_LEN, "RickSanchez", 11, TS, 19, sig,
                         sizeof(sig));
    is_int(rc, PREFS_AUTH_OK, "sign SHA256");
    is_str(sig, SIG256, "the contract's test vector");

    rc = prefs_hmac_sign(PREFS_AUTH_SHA384, SECRET, SECRET_LEN, CLIENT,
                         CLIENT_LEN, "RickSanchez", 11, TS, 19, sig,
                         sizeof(sig));
    is_int(rc, PREFS_AUTH_OK, "sign SHA384");
    is_str(sig, SIG384, "SHA384 as openssl dgst computes it");

    rc = prefs_hmac_sign(PREFS_AUTH_SHA512, SECRET, SECRET_LEN, CLIENT,
                         CLIENT_LEN, "RickSanchez", 11, TS, 19, sig,
                         sizeof(sig));
    is_int(rc, PREFS_AUTH_OK, "sign SHA512");
    is_str(sig, SIG512, "SHA512 as openssl dgst computes it");

    is_int(prefs_hmac_sign(PREFS_AUTH_SHA512, SECRET, SECRET_LEN, CLIENT,
                           CLIENT_LEN, "RickSanchez", 11, TS, 19, sig, 88),
           PREFS_AUTH_ERROR, "no room for a SHA512 signature");
    is_int(prefs_hmac_sign(PREFS_AUTH_SHA256, SECRET, 0, CLIENT, CLIENT_LEN,
                           "RickSanchez", 11, TS, 19, sig, sizeof(sig)),
           PREFS_AUTH_ERROR, "an empty secret is refused");
    is_int(prefs_hmac_sign(7, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN,
                           "RickSanchez", 11, TS, 19, sig, sizeof(sig)),
           PREFS_AUTH_ERROR, "an unknown algorithm is refused");

    rc = parse(HDR CRED " " SIG, &a);
    is_int(rc, PREFS_AUTH_OK, "the reference header parses");
    is_int(a.kind, PREFS_AUTH_HMAC, "kind HMAC");
    is_int(a.alg, PREFS_AUTH_SHA256, "algorithm SHA256");
    ok(eq(a.user, a.user_len, "RickSanchez"), "user name");
    ok(eq(a.ts, a.ts_len, TS), "timestamp as sent");
    ok(eq(a.sig, a.sig_len, SIG256), "signature as sent");
    ok(a.ts_ms == TS_MS, "timestamp parsed");
    ok(a.reason == NULL, "no reason on success");

    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_OK, "the reference header verifies");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, "SanchezAssociate", 16),
           PREFS_AUTH_BAD_SIGNATURE, "another client id does not verify");
    is_int(prefs_hmac_verify(&a, (const unsigned char *) "example-secret-kez",
                             SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "another secret does not verify");

    rc = parse(HDR "Credential=RickSanchex/" TS " " SIG, &a);
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "another user does not verify");

    rc = parse(HDR "Credential=RickSanchez/" TS "Z " SIG, &a);
    is_int(rc, PREFS_AUTH_OK, "same instant with Z parses");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "the timestamp is signed as sent");

    rc = parse(HDR CRED " Signature="
               "bDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED+reLuY0=", &a);
    is_int(rc, PREFS_AUTH_OK, "a wrong signature parses");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "and does not verify");

    rc = parse("PNAUTHINFO3-HMAC-SHA384 " CRED " Signature=" SIG384, &a);
    is_int(rc, PREFS_AUTH_OK, "SHA384 header parses");
    is_int(a.alg, PREFS_AUTH_SHA384, "algorithm SHA384");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_OK, "SHA384 header verifies");

    rc = parse("PNAUTHINFO3-HMAC-SHA512 " CRED " Signature=" SIG512, &a);
    is_int(rc, PREFS_AUTH_OK, "SHA512 header parses");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_OK, "SHA512 header verifies");

    /* a public MyPreferences client spells the hash in lower case */
    rc = parse("PNAUTHINFO3-HMAC-sha256 " CRED " " SIG, &a);
    is_int(rc, PREFS_AUTH_OK, "PNAUTHINFO3-HMAC-sha256 parses");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_OK, "and verifies");
    is_int(parse("pnauthinfo3-hmac-sha256 " CRED " " SIG, &a), PREFS_AUTH_OK,
           "the scheme is case-insensitive (RFC 7235)");

    a.kind = PREFS_AUTH_BEARER;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_ERROR, "verify refuses a Bearer header");
}


static void
test_parse_ok(void)
{
    prefs_auth_t  a;
    char          big[PREFS_AUTH_MAX_HEADER + 2];
    size_t        n;

    is_int(parse(HDR CRED ", " SIG, &a), PREFS_AUTH_OK, "comma and space");
    is_int(parse(HDR CRED "," SIG, &a), PREFS_AUTH_OK, "comma alone");
    is_int(parse(HDR CRED " ,\t" SIG, &a), PREFS_AUTH_OK,
           "white space around a comma");
    is_int(parse("PNAUTHINFO3-HMAC-SHA256 \t " CRED "   " SIG, &a),
           PREFS_AUTH_OK, "extra spaces and tabs");
    is_int(parse("  " HDR CRED " " SIG " \t", &a), PREFS_AUTH_OK,
           "leading and trailing white space");
    is_int(parse(HDR SIG " " CRED, &a), PREFS_AUTH_OK, "either order");
    ok(eq(a.user, a.user_len, "RickSanchez"), "user name in either order");
    is_int(parse(HDR "credential=RickSanchez/" TS " SIGNATURE=" SIG256, &a),
           PREFS_AUTH_OK, "parameter names are case-insensitive");

    is_int(parse(HDR "Credential=Jos\xc3\xa9.Garc\xc3\xad" "a/" TS " " SIG,
                 &a),
           PREFS_AUTH_OK, "UTF-8 user name");
    is_int(parse(HDR "Credential=rick@example.com/" TS " " SIG, &a),
           PREFS_AUTH_OK, "e-mail address as user name");
    is_int(parse(HDR "Credential=ACME:Rick/" TS " " SIG, &a),
           PREFS_AUTH_OK, "a colon in a user name");

    is_int(parse(HDR "Credential=Rick/2020-10-06T18:09:12.667Z " SIG, &a),
           PREFS_AUTH_OK, "fraction and Z, as a public client sends");
    ok(a.ts_ms == INT64_C(1602007752667), "fraction in ts_ms");

    /* a header of exactly the limit, padded with tolerated spaces */
    n = strlen(HDR);
    memcpy(big, HDR, n);
    memset(big + n, ' ', PREFS_AUTH_MAX_HEADER - n - strlen(CRED " " SIG));
    strcpy(big + PREFS_AUTH_MAX_HEADER - strlen(CRED " " SIG), CRED " " SIG);
    is_int(strlen(big), PREFS_AUTH_MAX_HEADER, "4096-byte header built");
    is_int(parse(big, &a), PREFS_AUTH_OK, "4096 bytes are accepted");

    memmove(big + n + 1, big + n, strlen(big + n) + 1);
    is_int(parse(big, &a), PREFS_AUTH_MALFORMED, "4097 bytes are not");
    is_str(a.reason, "the header is longer than 4096 bytes", "reason");
}


static void
test_parse_errors(void)
{
    prefs_auth_t  a;
    char          user[200];
    char          hdr[400];

    is_int(parse("", &a), PREFS_AUTH_MISSING, "empty header");
    is_int(prefs_auth_parse(NULL, 0, &a), PREFS_AUTH_MISSING,
           "no header at all");
    is_int(parse(" \t ", &a), PREFS_AUTH_MISSING, "white space only");

    is_int(parse("PNAUTHINFO3-SHA256 " CRED " " SIG, &a),
           PREFS_AUTH_BAD_SCHEME, "the un-keyed scheme is refused");
    is_int(parse("PNAUTHINFO3-HMAC-MD5 " CRED " " SIG, &a),
           PREFS_AUTH_BAD_SCHEME, "unknown algorithm");
    is_int(parse("PNAUTHINFO3-HMAC-SHA1 " CRED " " SIG, &a),
           PREFS_AUTH_BAD_SCHEME, "SHA1");
    is_int(parse("PNAUTHINFO3-HMAC-SHA2560 " CRED " " SIG, &a),
           PREFS_AUTH_BAD_SCHEME, "algorithm with a suffix");
    is_int(parse("PNAUTHINFO3 " CRED " " SIG, &a), PREFS_AUTH_BAD_SCHEME,
           "bare PNAUTHINFO3");
    is_int(parse("Basic cmljazpzZWNyZXQ=", &a), PREFS_AUTH_BAD_SCHEME,
           "Basic");
    is_int(parse("PNAUTHINFO3-HMAC-SHA256," CRED " " SIG, &a),
           PREFS_AUTH_BAD_SCHEME, "comma after the scheme");
    is_int(parse("Bearer2 abc", &a), PREFS_AUTH_BAD_SCHEME, "Bearer2");

    is_int(parse("PNAUTHINFO3-HMAC-SHA256", &a), PREFS_AUTH_MALFORMED,
           "scheme without parameters");
    is_int(parse(HDR CRED, &a), PREFS_AUTH_MALFORMED, "no Signature");
    is_str(a.reason, "Signature is missing", "reason for no Signature");
    is_int(parse(HDR SIG, &a), PREFS_AUTH_MALFORMED, "no Credential");
    is_int(parse(HDR "Credential=RickSanchez " SIG, &a),
           PREFS_AUTH_MALFORMED, "Credential without a timestamp");
    is_int(parse(HDR "Credential=RickSanchez/ " SIG, &a),
           PREFS_AUTH_MALFORMED, "Credential with an empty timestamp");
    is_int(parse(HDR "Credential=/" TS " " SIG, &a), PREFS_AUTH_MALFORMED,
           "empty user name");
    is_str(a.reason, "the user name is empty", "reason for an empty user");
    is_int(parse(HDR "Credential= " SIG, &a), PREFS_AUTH_MALFORMED,
           "empty Credential");
    is_int(parse(HDR "Credential " SIG, &a), PREFS_AUTH_MALFORMED,
           "Credential without =");
    is_int(parse(HDR CRED " Signature=", &a), PREFS_AUTH_MALFORMED,
           "empty Signature");
    is_int(parse(HDR CRED " " SIG " " CRED, &a), PREFS_AUTH_MALFORMED,
           "duplicate Credential");
    is_str(a.reason, "Credential is given twice", "reason for duplicate");
    is_int(parse(HDR CRED " " SIG " " SIG, &a), PREFS_AUTH_MALFORMED,
           "duplicate Signature");
    is_int(parse(HDR CRED " " SIG " Foo=bar", &a), PREFS_AUTH_MALFORMED,
           "unknown parameter");
    is_int(parse(HDR CRED " " SIG " garbage", &a), PREFS_AUTH_MALFORMED,
           "trailing garbage");
    is_int(parse(HDR CRED " " SIG ",", &a), PREFS_AUTH_MALFORMED,
           "trailing comma");
    is_int(parse(HDR CRED ",, " SIG, &a), PREFS_AUTH_MALFORMED,
           "two commas");
    is_int(parse(HDR ", " CRED " " SIG, &a), PREFS_AUTH_MALFORMED,
           "leading comma");
    is_int(parse(HDR "Credential=\"RickSanchez/" TS "\" " SIG, &a),
           PREFS_AUTH_BAD_DATE, "quoted values are not unquoted");
    is_int(parse(HDR "=x " CRED " " SIG, &a), PREFS_AUTH_MALFORMED,
           "empty parameter name");

    is_int(parse(HDR CRED " Signature="
                 "aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED+reLuY0", &a),
           PREFS_AUTH_MALFORMED, "signature without padding");
    is_int(parse(HDR CRED " Signature="
                 "aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED-reLuY0=", &a),
           PREFS_AUTH_MALFORMED, "signature in base64url");
    is_int(parse(HDR CRED " Signature="
                 "aDspsV2KDup1P3nMzY8jjhv1pg89uxGp9zED+reLuY1=", &a),
           PREFS_AUTH_MALFORMED, "non-canonical last character");
    is_int(parse(HDR CRED " Signature=not*base64", &a), PREFS_AUTH_MALFORMED,
           "signature not base64");
    is_int(parse(HDR CRED " Signature=Zm9vYmFy", &a), PREFS_AUTH_MALFORMED,
           "signature too short");
    is_int(parse(HDR CRED " Signature=" SIG512, &a), PREFS_AUTH_MALFORMED,
           "SHA512-sized signature under SHA256");
    is_int(parse("PNAUTHINFO3-HMAC-SHA512 " CRED " " SIG, &a),
           PREFS_AUTH_MALFORMED, "SHA256-sized signature under SHA512");

    memset(user, 'u', 128);
    user[128] = '\0';
    snprintf(hdr, sizeof(hdr), HDR "Credential=%s/" TS " " SIG, user);
    is_int(parse(hdr, &a), PREFS_AUTH_OK, "128-byte user name");
    is_int(a.user_len, 128, "128-byte user name kept whole");
    user[128] = 'u';
    user[129] = '\0';
    snprintf(hdr, sizeof(hdr), HDR "Credential=%s/" TS " " SIG, user);
    is_int(parse(hdr, &a), PREFS_AUTH_MALFORMED, "129-byte user name");

    is_int(parse(HDR "Credential=Rick\xff/" TS " " SIG, &a),
           PREFS_AUTH_MALFORMED, "user name not UTF-8");
    is_int(parse(HDR "Credential=Ri\x01ck/" TS " " SIG, &a),
           PREFS_AUTH_MALFORMED, "control character in the user name");
    is_int(parse(HDR "Credential=Rick\x7f/" TS " " SIG, &a),
           PREFS_AUTH_MALFORMED, "DEL in the user name");
    is_int(parse(HDR "Credential=Rick\xc2\x85/" TS " " SIG, &a),
           PREFS_AUTH_MALFORMED, "C1 control (NEL) in the user name");
    is_int(parse(HDR "Credential=Rick\xc2\xa0/" TS " " SIG, &a),
           PREFS_AUTH_OK, "but U+00A0 is fine");
    is_int(parse(HDR "Credential=Acme/Rick/" TS " " SIG, &a),
           PREFS_AUTH_MALFORMED, "a / in the user name");
    is_str(a.reason, "the user name has a \"/\"", "reason for /");
    is_int(prefs_auth_parse(HDR "Credential=Ri\0ck/" TS " " SIG,
                            sizeof(HDR "Credential=Ri\0ck/" TS " " SIG) - 1,
                            &a),
           PREFS_AUTH_MALFORMED, "NUL in the user name");

    is_int(parse(HDR "Credential=RickSanchez/2015-02-29T20:11:00 " SIG, &a),
           PREFS_AUTH_BAD_DATE, "no 29 February 2015");
    is_int(parse(HDR "Credential=RickSanchez/yesterday " SIG, &a),
           PREFS_AUTH_BAD_DATE, "not a date at all");
    is_int(parse(HDR "Credential=RickSanchez/1439237460 " SIG, &a),
           PREFS_AUTH_BAD_DATE, "epoch seconds");
    is_int(parse(HDR "Credential=/yesterday Signature=x", &a),
           PREFS_AUTH_BAD_DATE, "a bad date is reported first");

    /* the space ends the Credential value: "20:11:00" is a stray token */
    is_int(parse(HDR "Credential=RickSanchez/2015-08-10 20:11:00 " SIG, &a),
           PREFS_AUTH_MALFORMED, "a space in the timestamp splits it");
}


static void
test_bearer(void)
{
    prefs_auth_t  a;

    is_int(parse("Bearer abcDEF012-._~+/==", &a), PREFS_AUTH_OK,
           "Bearer with every b64token character");
    is_int(a.kind, PREFS_AUTH_BEARER, "kind Bearer");
    ok(eq(a.token, a.token_len, "abcDEF012-._~+/=="), "token");
    is_int(parse("bearer  tok ", &a), PREFS_AUTH_OK, "bearer, any case");
    ok(eq(a.token, a.token_len, "tok"), "token without the spaces");
    is_int(parse("BEARER tok", &a), PREFS_AUTH_OK, "BEARER");

    is_int(parse("Bearer", &a), PREFS_AUTH_MALFORMED, "no token");
    is_int(parse("Bearer   ", &a), PREFS_AUTH_MALFORMED, "blank token");
    is_int(parse("Bearer a b", &a), PREFS_AUTH_MALFORMED, "two tokens");
    is_int(parse("Bearer a!b", &a), PREFS_AUTH_MALFORMED, "a ! in the token");
    is_int(parse("Bearer a,b", &a), PREFS_AUTH_MALFORMED, "a comma");
    is_int(parse("Bearer \"ab\"", &a), PREFS_AUTH_MALFORMED, "quoted");
    is_int(parse("Bearer =ab", &a), PREFS_AUTH_MALFORMED, "leading =");
    is_int(parse("Bearer ==", &a), PREFS_AUTH_MALFORMED, "only =");
    is_int(parse("Bearer ab=c", &a), PREFS_AUTH_MALFORMED, "= inside");
    is_int(parse("Bearer ab\xc3\xa9", &a), PREFS_AUTH_MALFORMED,
           "non-ASCII token");
    is_int(parse("Bearer token=abc", &a), PREFS_AUTH_MALFORMED,
           "auth-param form");
}


static void
test_messages(void)
{
    is_str(prefs_auth_message(PREFS_AUTH_MISSING),
           "Missing Authorization Header", "MISSING message");
    is_str(prefs_auth_message(PREFS_AUTH_BAD_SCHEME),
           "The scheme is invalid", "BAD_SCHEME message");
    is_str(prefs_auth_message(PREFS_AUTH_BAD_DATE),
           "The specified date does not match an expected ISO 8601 format",
           "BAD_DATE message");
    is_str(prefs_auth_message(PREFS_AUTH_TOO_OLD),
           "The difference between the issued timestamp and the current "
           "time is too large", "TOO_OLD message");
    is_str(prefs_auth_message(PREFS_AUTH_IN_FUTURE),
           prefs_auth_message(PREFS_AUTH_TOO_OLD), "IN_FUTURE message");
    is_str(prefs_auth_message(PREFS_AUTH_MALFORMED),
           "Unable to authenticate request", "MALFORMED message");
    is_str(prefs_auth_message(PREFS_AUTH_BAD_SIGNATURE),
           "Unable to authenticate request", "BAD_SIGNATURE message");
    is_str(prefs_auth_alg_name(PREFS_AUTH_SHA384), "SHA384", "alg name");
}


static void
test_iso8601(void)
{
    int64_t  ms;

    static const char  *bad[] = {
        "", "2015", "2015-08-10", "2015-08-10T20:11",
        "2015-08-10 20:11:00", "2015-08-10t20:11:00", "2015-08-10T20:11:00z",
        "2015-08-10T20:11:00Zx", "2015-08-10T20:11:00 ",
        " 2015-08-10T20:11:00", "2015-08-10T20:11:00.",
        "2015-08-10T20:11:00.Z",
        "2015-08-10T20:11:00.12345678", "2015-08-10T20:11:00,5",
        "2015-08-10T20:11:00+05", "2015-08-10T20:11:00+0500",
        "2015-08-10T20:11:00+5:00", "2015-08-10T20:11:00+05:60",
        "2015-08-10T20:11:00+14:01", "2015-08-10T20:11:00-15:00",
        "2015-08-10T20:11:00+05:00Z", "2015-08-10T20:11:00Z+05:00",
        "2015-8-10T20:11:00", "2015-08-1T20:11:00", "15-08-10T20:11:00",
        "+2015-08-10T20:11:00", "-2015-08-10T20:11:00",
        "12015-08-10T20:11:00", "20150810T201100", "2015-08-10T2011:00",
        "2015-08-10T24:00:00", "2015-08-10T23:60:00", "2015-08-10T23:59:60",
        "2015-13-01T00:00:00", "2015-00-10T00:00:00", "2015-08-00T00:00:00",
        "2015-08-32T00:00:00", "2015-04-31T00:00:00", "2015-06-31T00:00:00",
        "2015-09-31T00:00:00", "2015-11-31T00:00:00",
        "2015-02-29T00:00:00", "2100-02-29T00:00:00", "1900-02-29T00:00:00",
        "1969-12-31T23:59:59Z", "0000-01-01T00:00:00",
        "2015-08-1aT20:11:00", "2015-08-10T20:1a:00", "2015-08-10T20:11:0a",
        "2015-08-10T20:11:00.1a", "2015-08-10T20:11:00+0a:00",
        ("2015\xef\xbc\x8d" "08-10T20:11:00"),
    };
    size_t  i;

    is_int(iso(TS, &ms), PREFS_AUTH_OK, "plain timestamp");
    ok(ms == TS_MS, "2015-08-10T20:11:00 is 1439237460 s");
    is_int(iso(TS "Z", &ms), PREFS_AUTH_OK, "with Z");
    ok(ms == TS_MS, "Z is UTC");
    is_int(iso(TS "+00:00", &ms), PREFS_AUTH_OK, "with +00:00");
    ok(ms == TS_MS, "+00:00 is UTC");
    is_int(iso(TS "-00:00", &ms), PREFS_AUTH_OK, "with -00:00");
    is_int(iso(TS "+02:00", &ms), PREFS_AUTH_OK, "with +02:00");
    ok(ms == TS_MS - 2 * 3600000, "+02:00 is two hours earlier in UTC");
    is_int(iso(TS "-05:30", &ms), PREFS_AUTH_OK, "with -05:30");
    ok(ms == TS_MS + 330 * 60000, "-05:30 is 5.5 hours later in UTC");
    is_int(iso(TS "+14:00", &ms), PREFS_AUTH_OK, "+14:00 (Kiribati)");
    is_int(iso(TS "-14:00", &ms), PREFS_AUTH_OK, "-14:00");

    is_int(iso(TS ".5", &ms), PREFS_AUTH_OK, "one fraction digit");
    ok(ms == TS_MS + 500, ".5 is 500 ms");
    is_int(iso(TS ".05Z", &ms), PREFS_AUTH_OK, "two digits and Z");
    ok(ms == TS_MS + 50, ".05 is 50 ms");
    is_int(iso(TS ".123", &ms), PREFS_AUTH_OK, "milliseconds");
    ok(ms == TS_MS + 123, ".123 is 123 ms");
    is_int(iso(TS ".1239999+01:00", &ms), PREFS_AUTH_OK,
           "seven digits and an offset");
    ok(ms == TS_MS + 123 - 3600000, "the fraction is truncated to ms");

    is_int(iso("2016-02-29T12:00:00", &ms), PREFS_AUTH_OK, "leap day 2016");
    ok(ms == INT64_C(1456747200000), "2016-02-29T12:00:00");
    is_int(iso("2000-02-29T00:00:00", &ms), PREFS_AUTH_OK, "leap day 2000");
    is_int(iso("2000-03-01T00:00:00", &ms), PREFS_AUTH_OK, "2000-03-01");
    ok(ms == INT64_C(951868800000), "2000-03-01 after a 400-year leap day");
    is_int(iso("1970-01-01T00:00:00Z", &ms), PREFS_AUTH_OK, "the epoch");
    ok(ms == 0, "the epoch is 0");
    is_int(iso("1970-01-01T00:00:00+01:00", &ms), PREFS_AUTH_OK,
           "an offset may move the epoch before 1970 UTC");
    ok(ms == -3600000, "an hour before the epoch");
    is_int(iso("9999-12-31T23:59:59.999Z", &ms), PREFS_AUTH_OK, "year 9999");
    ok(ms == INT64_C(253402300799999), "the last millisecond of 9999");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(iso(bad[i], &ms), PREFS_AUTH_BAD_DATE, "rejects \"%s\"",
               bad[i]);
    }

    is_int(prefs_auth_iso8601_parse(TS "\0", 20, &ms), PREFS_AUTH_BAD_DATE,
           "a trailing NUL");
}


/*
 * Every day from 1970 to 9999 against a running count, and the day after
 * the end of every month refused: the civil-date arithmetic is checked
 * against nothing but addition.
 */

static void
test_every_day(void)
{
    int      y, m, d, mdays, good, refused;
    char     s[48];
    int64_t  ms, day;

    static const int  days_in[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    good = 1;
    refused = 1;
    day = 0;

    for (y = 1970; y <= 9999; y++) {
        for (m = 1; m <= 12; m++) {
            mdays = days_in[m - 1];

            if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
                mdays = 29;
            }

            for (d = 1; d <= mdays; d++) {
                snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00", y, m, d);

                if (prefs_auth_iso8601_parse(s, 19, &ms) != PREFS_AUTH_OK
                    || ms != day * 86400000)
                {
                    if (good) {
                        printf("# %s gave %lld\n", s, (long long) ms);
                    }

                    good = 0;
                }

                day++;
            }

            snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00", y, m, d);

            if (prefs_auth_iso8601_parse(s, 19, &ms) != PREFS_AUTH_BAD_DATE) {
                if (refused) {
                    printf("# %s was accepted\n", s);
                }

                refused = 0;
            }
        }
    }

    ok(good, "every day of 1970..9999 is the right number of days");
    ok(refused, "the day after the end of every month is refused");
    ok(day == 2932897, "2932897 days in 1970..9999");
}


static void
test_window(void)
{
    int64_t  now, win, skew;

    now = TS_MS;
    win = 15 * 60000;
    skew = 60000;

    is_int(prefs_auth_check_time(now, now, win, skew), PREFS_AUTH_OK, "now");
    is_int(prefs_auth_check_time(now - win, now, win, skew), PREFS_AUTH_OK,
           "exactly 15 minutes old is accepted");
    is_int(prefs_auth_check_time(now - win - 1, now, win, skew),
           PREFS_AUTH_TOO_OLD, "15 minutes and 1 ms old is not");
    is_int(prefs_auth_check_time(now + skew, now, win, skew), PREFS_AUTH_OK,
           "exactly 1 minute ahead is accepted");
    is_int(prefs_auth_check_time(now + skew + 1, now, win, skew),
           PREFS_AUTH_IN_FUTURE, "1 minute and 1 ms ahead is not");
    is_int(prefs_auth_check_time(now + 1, now, win, 0), PREFS_AUTH_IN_FUTURE,
           "no skew: 1 ms ahead is refused");
    is_int(prefs_auth_check_time(now + 1, now, win, -5), PREFS_AUTH_IN_FUTURE,
           "a negative skew counts as none");
    is_int(prefs_auth_check_time(now - 1, now, -5, skew), PREFS_AUTH_TOO_OLD,
           "a negative window counts as none");
    is_int(prefs_auth_check_time(INT64_MIN, INT64_MAX, win, skew),
           PREFS_AUTH_TOO_OLD, "extreme past, no overflow");
    is_int(prefs_auth_check_time(INT64_MAX, INT64_MIN, win, skew),
           PREFS_AUTH_IN_FUTURE, "extreme future, no overflow");
    is_int(prefs_auth_check_time(INT64_MIN, INT64_MIN, win, skew),
           PREFS_AUTH_OK, "equal extremes");
    is_int(prefs_auth_check_time(0, INT64_MAX, INT64_MAX, skew),
           PREFS_AUTH_OK, "an unbounded window");
}


static void
test_tokens(void)
{
    char           t1[400], t2[400], hex[65];
    unsigned char  raw[64];

    is_int(prefs_hmac_random_token(t1, sizeof(t1), 32), PREFS_AUTH_OK,
           "32-byte token");
    is_int(strlen(t1), 43, "43 base64url characters");
    is_int(prefs_b64_decode(t1, 43, raw, sizeof(raw), PREFS_B64_URL), 32,
           "the token decodes as base64url");
    is_int(prefs_hmac_random_token(t2, sizeof(t2), 32), PREFS_AUTH_OK,
           "another token");
    ok(strcmp(t1, t2) != 0, "tokens differ");
    is_int(prefs_hmac_random_token(t1, sizeof(t1), 48), PREFS_AUTH_OK,
           "48-byte token");
    is_int(strlen(t1), 64, "64 characters");
    is_int(prefs_hmac_random_token(t1, sizeof(t1), 256), PREFS_AUTH_OK,
           "256-byte token");
    is_int(prefs_hmac_random_token(t1, sizeof(t1), 31), PREFS_AUTH_ERROR,
           "31 bytes are too few");
    is_int(prefs_hmac_random_token(t1, sizeof(t1), 257), PREFS_AUTH_ERROR,
           "257 bytes are too many");
    is_int(prefs_hmac_random_token(t1, 43, 32), PREFS_AUTH_ERROR,
           "no room for the NUL");
    is_int(prefs_hmac_random_token(t1, 44, 32), PREFS_AUTH_OK, "exact room");

    is_int(prefs_hmac_sha256_hex("", 0, hex), PREFS_AUTH_OK, "hash of nothing");
    is_str(hex,
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "SHA-256 of the empty string");
    prefs_hmac_sha256_hex("abc", 3, hex);
    is_str(hex,
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "SHA-256 of abc (FIPS 180-2)");

    ok(prefs_hmac_ct_equal("abc", 3, "abc", 3), "ct_equal equal");
    ok(!prefs_hmac_ct_equal("abc", 3, "abd", 3), "ct_equal differs");
    ok(!prefs_hmac_ct_equal("abc", 3, "abcd", 4), "ct_equal lengths");
    ok(prefs_hmac_ct_equal("", 0, "", 0), "ct_equal empty");

    memset(raw, 0x5a, sizeof(raw));
    prefs_hmac_wipe(raw, sizeof(raw));
    ok(raw[0] == 0 && raw[63] == 0, "prefs_hmac_wipe clears");
}


static void
test_seal(void)
{
    int             rc, all;
    long            n;
    size_t          len, i, out_len;
    char            s1[PREFS_SECRET_B64_SIZE(PREFS_SECRET_MAX)];
    char            s2[PREFS_SECRET_B64_SIZE(PREFS_SECRET_MAX)];
    unsigned char   key[32], key2[32], plain[PREFS_SECRET_MAX + 1];
    unsigned char   out[PREFS_SECRET_MAX + 1];
    unsigned char   blob[PREFS_SECRET_OVERHEAD + PREFS_SECRET_MAX];
    EVP_CIPHER_CTX *ctx;
    int             outl;

    static const size_t  lens[] = { 0, 1, 18, 32, 64, PREFS_SECRET_MAX };

    for (i = 0; i < 32; i++) {
        key[i] = (unsigned char) i;
        key2[i] = (unsigned char) i;
    }

    key2[31] ^= 1;

    for (i = 0; i < sizeof(plain); i++) {
        plain[i] = (unsigned char) (i * 7 + 3);
    }

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        len = lens[i];
        rc = prefs_seal_secret(key, plain, len, s1, sizeof(s1));
        is_int(rc, PREFS_AUTH_OK, "seal %zu bytes", len);
        is_int(strlen(s1) + 1, PREFS_SECRET_B64_SIZE(len),
               "sealed size of %zu bytes", len);
        rc = prefs_seal_open(key, s1, strlen(s1), out, sizeof(out),
                             &out_len);
        ok(rc == PREFS_AUTH_OK && out_len == len
           && memcmp(out, plain, len) == 0, "round trip of %zu bytes", len);
    }

    is_int(prefs_seal_secret(key, plain, PREFS_SECRET_MAX + 1, s1, sizeof(s1)),
           PREFS_AUTH_ERROR, "more than PREFS_SECRET_MAX is refused");
    is_int(prefs_seal_secret(key, plain, 18, s1,
                             PREFS_SECRET_B64_SIZE(18) - 1),
           PREFS_AUTH_ERROR, "too small an output buffer");

    prefs_seal_secret(key, plain, 18, s1, sizeof(s1));
    prefs_seal_secret(key, plain, 18, s2, sizeof(s2));
    ok(strcmp(s1, s2) != 0, "sealing twice gives different texts (nonce)");

    /* every bit of the binary form is covered by the tag */
    n = prefs_b64_decode(s1, strlen(s1), blob, sizeof(blob), PREFS_B64_STD);
    is_int(n, PREFS_SECRET_OVERHEAD + 18, "decoded length");
    is_int(blob[0], 1, "format version 1");

    all = 1;

    for (i = 0; i < (size_t) n * 8; i++) {
        blob[i / 8] ^= (unsigned char) (1 << (i % 8));
        prefs_b64_encode(blob, (size_t) n, s2, sizeof(s2), PREFS_B64_STD);
        blob[i / 8] ^= (unsigned char) (1 << (i % 8));

        memset(out, 0xaa, sizeof(out));
        rc = prefs_seal_open(key, s2, strlen(s2), out, sizeof(out),
                             &out_len);

        if (rc != PREFS_AUTH_SEALED_BAD || out_len != 0 || out[0] != 0) {
            all = 0;
        }
    }

    ok(all, "flipping any one of %ld bits is detected, output wiped",
       n * 8);

    rc = prefs_seal_open(key2, s1, strlen(s1), out, sizeof(out), &out_len);
    is_int(rc, PREFS_AUTH_SEALED_BAD, "wrong key");
    ok(out[0] == 0 && out[17] == 0, "wrong key: nothing left in the buffer");

    is_int(prefs_seal_open(key, s1, strlen(s1) - 4, out, sizeof(out),
                           &out_len),
           PREFS_AUTH_SEALED_BAD, "truncated");
    is_int(prefs_seal_open(key, s1, strlen(s1) - 1, out, sizeof(out),
                           &out_len),
           PREFS_AUTH_SEALED_BAD, "not base64");
    is_int(prefs_seal_open(key, "", 0, out, sizeof(out), &out_len),
           PREFS_AUTH_SEALED_BAD, "empty");
    is_int(prefs_seal_open(key, "AQAAAAAAAAAAAAAA", 16, out, sizeof(out),
                           &out_len),
           PREFS_AUTH_SEALED_BAD, "shorter than the overhead");
    is_int(prefs_seal_open(key, s1, strlen(s1), out, 17, &out_len),
           PREFS_AUTH_ERROR, "too small a plaintext buffer");

    blob[0] = 2;
    prefs_b64_encode(blob, (size_t) n, s2, sizeof(s2), PREFS_B64_STD);
    is_int(prefs_seal_open(key, s2, strlen(s2), out, sizeof(out),
                           &out_len),
           PREFS_AUTH_SEALED_BAD, "unknown version byte");
    blob[0] = 1;

    /* the documented format, opened by plain EVP calls */
    ctx = EVP_CIPHER_CTX_new();
    rc = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob + 1)
         && EVP_DecryptUpdate(ctx, NULL, &outl,
                              (const unsigned char *)
                              "\x01ngx_prefs secret v1", 20)
         && EVP_DecryptUpdate(ctx, out, &outl, blob + 13, 18)
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
                                blob + 13 + 18)
         && EVP_DecryptFinal_ex(ctx, out + outl, &outl);
    EVP_CIPHER_CTX_free(ctx);
    ok(rc && memcmp(out, plain, 18) == 0,
       "the format is 0x01|nonce|ct|tag with AAD \\x01ngx_prefs secret v1");
}


#define KEY_HEX                                                               \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B64     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_URL     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


static int
key_file(const char *content, size_t len, mode_t mode,
    unsigned char key[32], char *err, size_t err_size)
{
    int   fd, rc;
    char  path[] = "/tmp/prefs_key_XXXXXX";

    fd = mkstemp(path);
    if (fd == -1 || write(fd, content, len) != (ssize_t) len
        || fchmod(fd, mode) != 0)
    {
        printf("# cannot write %s\n", path);
        return -100;
    }

    close(fd);

    rc = prefs_keyfile_load(path, key, err, err_size);

    unlink(path);

    return rc;
}


static void
test_key_file(void)
{
    int            i, same;
    char           err[256], long_file[300];
    unsigned char  key[32];

#define KEY_IS_0_31()                                                         \
    do {                                                                      \
        same = 1;                                                             \
        for (i = 0; i < 32; i++) {                                            \
            same &= (key[i] == i);                                            \
        }                                                                     \
    } while (0)

    memset(key, 0xee, sizeof(key));
    is_int(key_file(KEY_HEX, 64, 0600, key, err, sizeof(err)), PREFS_AUTH_OK,
           "64 hex digits");
    KEY_IS_0_31();
    ok(same, "hex key read");
    is_str(err, "", "no message");

    memset(key, 0xee, sizeof(key));
    is_int(key_file(KEY_HEX "\n", 65, 0400, key, err, sizeof(err)),
           PREFS_AUTH_OK, "hex and a newline");
    KEY_IS_0_31();
    ok(same, "hex key with newline read");

    is_int(key_file("000102030405060708090A0B0C0D0E0F"
                    "101112131415161718191A1B1C1D1E1F \r\n\t", 68, 0600, key,
                    err, sizeof(err)),
           PREFS_AUTH_OK, "upper-case hex and trailing white space");

    memset(key, 0xee, sizeof(key));
    is_int(key_file(KEY_B64 "\n", 45, 0600, key, err, sizeof(err)),
           PREFS_AUTH_OK, "base64 (openssl rand -base64 32)");
    KEY_IS_0_31();
    ok(same, "base64 key read");

    memset(key, 0xee, sizeof(key));
    is_int(key_file(KEY_URL, 43, 0600, key, err, sizeof(err)), PREFS_AUTH_OK,
           "unpadded base64url");
    KEY_IS_0_31();
    ok(same, "base64url key read");

    memset(key, 0xee, sizeof(key));
    is_int(key_file(KEY_HEX "\n", 65, 0644, key, err, sizeof(err)),
           PREFS_AUTH_KEY_LOOSE, "world-readable file loads with a warning");
    KEY_IS_0_31();
    ok(same, "the key is still loaded");
    ok(strstr(err, "0644") != NULL, "the warning names the mode: %s", err);
    is_int(key_file(KEY_HEX, 64, 0640, key, err, sizeof(err)),
           PREFS_AUTH_KEY_LOOSE, "group-readable file too");

    is_int(key_file(KEY_HEX, 62, 0600, key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "31 bytes in hex");
    ok(strstr(err, "62 characters") != NULL, "says how long: %s", err);
    is_int(key_file(KEY_HEX "00", 66, 0600, key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "33 bytes in hex");
    is_int(key_file("g00102030405060708090a0b0c0d0e0f"
                    "101112131415161718191a1b1c1d1e1f", 64, 0600, key, err,
                    sizeof(err)),
           PREFS_AUTH_KEY_BAD, "not hex");
    ok(strstr(err, "not valid hex") != NULL, "says not hex: %s", err);
    is_int(key_file("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44, 0600,
                    key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "33 bytes in base64");
    is_int(key_file("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 44, 0600,
                    key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "non-canonical base64");
    is_int(key_file(" " KEY_HEX, 65, 0600, key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "leading white space");
    is_int(key_file("", 0, 0600, key, err, sizeof(err)), PREFS_AUTH_KEY_BAD,
           "empty file");
    is_int(key_file("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
                    "\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
                    "\x1a\x1b\x1c\x1d\x1e\x1f", 32, 0600, key, err,
                    sizeof(err)),
           PREFS_AUTH_KEY_BAD, "32 raw bytes");
    is_int(key_file(KEY_HEX "\n" KEY_HEX "\n", 130, 0600, key, err,
                    sizeof(err)),
           PREFS_AUTH_KEY_BAD, "two keys");

    memset(long_file, '0', sizeof(long_file));
    is_int(key_file(long_file, sizeof(long_file), 0600, key, err,
                    sizeof(err)),
           PREFS_AUTH_KEY_BAD, "a 300-byte file");
    ok(strstr(err, "longer than 256 bytes") != NULL, "says so: %s", err);

    is_int(prefs_keyfile_load("/nonexistent/prefs.key", key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "missing file");
    ok(strstr(err, "/nonexistent/prefs.key") != NULL
       && strstr(err, "No such file") != NULL, "names file and cause: %s",
       err);
    is_int(prefs_keyfile_load("/tmp", key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "a directory");
    is_int(prefs_keyfile_load("/dev/zero", key, err, sizeof(err)),
           PREFS_AUTH_KEY_BAD, "a device");
    is_int(prefs_keyfile_load("/nonexistent", key, NULL, 0), PREFS_AUTH_KEY_BAD,
           "no error buffer is fine");

#undef KEY_IS_0_31
}


/*
 * The request-bound form (ours).  The vectors were computed with the
 * OpenSSL command line:
 *   printf 'SanchezAssociates:RickSanchez:2015-08-10T20:11:00\nPOST\n%s\n%s' \
 *     '/Profiles/v4/SanchezAssociates/Users?x=1' \
 *     "$(printf '%s' '{"a":1}' | sha256sum | cut -d' ' -f1)" \
 *   | openssl dgst -sha256 -hmac example-secret-key -binary | base64 -w0
 * and likewise for a GET with an empty body.
 */

#define BOUND_POST   "jNZVRB2lsGFiN4MDjkHwr1+n+y78gI4US7zoL7NcuRU="
#define BOUND_GET    "WsMZ2sJ/EvXDbp+XKfRSx2cty9KyFHy+esyNqZ+AOQI="
#define TARGET_POST  "/Profiles/v4/SanchezAssociates/Users?x=1"
#define TARGET_GET   "/Profiles/v4/SanchezAssociates/Users"

static void
test_bound(void)
{
    int                   rc;
    char                  sig[PREFS_AUTH_SIG_SIZE];
    prefs_auth_t          a;
    prefs_auth_binding_t  post, get, other;

    is_int(prefs_hmac_binding_set(&post, "POST", 4, TARGET_POST,
                                  sizeof(TARGET_POST) - 1, "{\"a\":1}", 7),
           PREFS_AUTH_OK, "a binding is made");
    ok(strcmp(post.body_hash, "015abd7f5cc57a2dd94b7590f04ad808"
                              "4273905ee33ec5cebeae62276a97f862") == 0,
       "the body hash is the SHA-256 hex");
    is_int(prefs_hmac_binding_set(&get, "GET", 3, TARGET_GET,
                                  sizeof(TARGET_GET) - 1, NULL, 0),
           PREFS_AUTH_OK, "an empty body may be NULL");
    ok(strcmp(get.body_hash, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855") == 0,
       "the empty body's hash");

    rc = prefs_hmac_sign_request(PREFS_AUTH_SHA256, SECRET, SECRET_LEN,
                                 CLIENT, CLIENT_LEN, "RickSanchez", 11,
                                 TS, sizeof(TS) - 1, &post, sig, sizeof(sig));
    is_int(rc, PREFS_AUTH_OK, "a bound signature is made");
    is_str(sig, BOUND_POST, "the POST vector");

    rc = prefs_hmac_sign_request(PREFS_AUTH_SHA256, SECRET, SECRET_LEN,
                                 CLIENT, CLIENT_LEN, "RickSanchez", 11,
                                 TS, sizeof(TS) - 1, &get, sig, sizeof(sig));
    is_str(sig, BOUND_GET, "the GET vector");

    rc = prefs_hmac_sign_request(PREFS_AUTH_SHA256, SECRET, SECRET_LEN,
                                 CLIENT, CLIENT_LEN, "RickSanchez", 11,
                                 TS, sizeof(TS) - 1, NULL, sig, sizeof(sig));
    is_str(sig, SIG256, "no binding signs the reference string");

    rc = parse(HDR CRED " Binding=request Signature=" BOUND_POST, &a);
    is_int(rc, PREFS_AUTH_OK, "a bound header parses");
    is_int(a.bound, 1, "and says it is bound");
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_ERROR, "it is not verified without the request");

    a.binding = &post;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_OK, "it verifies against its request");

    a.binding = &get;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "not against another request");

    other = post;
    other.method = "PUT";
    other.method_len = 3;
    a.binding = &other;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "nor with another method");

    other = post;
    other.target_len--;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "nor with another query");

    prefs_hmac_binding_set(&other, "POST", 4, TARGET_POST,
                           sizeof(TARGET_POST) - 1, "{\"a\":2}", 7);
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "nor with another body");

    /* the reference signature does not pass as a bound one, nor back */

    rc = parse(HDR CRED " Binding=request " SIG, &a);
    a.binding = &get;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "a reference signature marked bound");

    rc = parse(HDR CRED " Signature=" BOUND_GET, &a);
    is_int(a.bound, 0, "without Binding the header is not bound");
    a.binding = &get;
    is_int(prefs_hmac_verify(&a, SECRET, SECRET_LEN, CLIENT, CLIENT_LEN),
           PREFS_AUTH_BAD_SIGNATURE, "a bound signature without Binding");

    is_int(parse(HDR CRED ", binding=REQUEST, " SIG, &a), PREFS_AUTH_OK,
           "the name and value are case-insensitive, commas allowed");
    is_int(a.bound, 1, "and it is bound");
    is_int(parse(HDR CRED " Binding=request Binding=request " SIG, &a),
           PREFS_AUTH_MALFORMED, "Binding twice");
    is_int(parse(HDR CRED " Binding=body " SIG, &a), PREFS_AUTH_MALFORMED,
           "an unknown Binding");
    ok(a.reason && strstr(a.reason, "Binding"), "the reason names it");
    is_int(parse(HDR CRED " Binding= " SIG, &a), PREFS_AUTH_MALFORMED,
           "an empty Binding");
}


int
main(void)
{
    test_vectors();
    test_bound();
    test_parse_ok();
    test_parse_errors();
    test_bearer();
    test_messages();
    test_iso8601();
    test_every_day();
    test_window();
    test_tokens();
    test_seal();
    test_key_file();

    free(held);

    return unit_done();
}
