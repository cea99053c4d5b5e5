
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "unit.h"
#include "prefs_b64.h"


/* decodes a NUL-free test string from an exact-size copy, for ASan */

static long
dec(const char *s, unsigned char *out, size_t out_size, int variant)
{
    long    n;
    size_t  len;
    char   *copy;

    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    n = prefs_b64_decode(copy, len, out, out_size, variant);

    free(copy);

    return n;
}


/* a test string made printable for a TAP description */

static const char *
show(const char *s)
{
    static char  buf[64];
    size_t       n;

    for (n = 0; *s && n < sizeof(buf) - 5; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f) {
            n += (size_t) snprintf(buf + n, 5, "\\x%02x", (unsigned char) *s);

        } else {
            buf[n++] = *s;
        }
    }

    buf[n] = '\0';

    return buf;
}


static void
test_rfc4648(void)
{
    size_t          i;
    long            n;
    char            enc[16];
    unsigned char   out[16];

    /* RFC 4648 section 10 */
    static const char  *plain[] = {
        "", "f", "fo", "foo", "foob", "fooba", "foobar"
    };
    static const char  *std[] = {
        "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
    };
    static const char  *url[] = {
        "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
    };

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        n = prefs_b64_encode((const unsigned char *) plain[i],
                             strlen(plain[i]), enc, sizeof(enc),
                             PREFS_B64_STD);
        is_int(n, strlen(std[i]), "encode \"%s\": length", plain[i]);
        is_str(enc, std[i], "encode \"%s\"", plain[i]);

        n = prefs_b64_encode((const unsigned char *) plain[i],
                             strlen(plain[i]), enc, sizeof(enc),
                             PREFS_B64_URL);
        is_str(enc, url[i], "encode \"%s\" base64url", plain[i]);
        is_int(prefs_b64_encoded_len(strlen(plain[i]), PREFS_B64_URL),
               strlen(url[i]), "base64url length of \"%s\"", plain[i]);

        n = dec(std[i], out, sizeof(out), PREFS_B64_STD);
        ok(n == (long) strlen(plain[i])
           && memcmp(out, plain[i], (size_t) n) == 0,
           "decode \"%s\"", std[i]);

        n = dec(url[i], out, sizeof(out), PREFS_B64_URL);
        ok(n == (long) strlen(plain[i])
           && memcmp(out, plain[i], (size_t) n) == 0,
           "decode base64url \"%s\"", url[i]);
    }
}


static void
test_alphabets(void)
{
    char                  enc[8];
    unsigned char         out[8];
    static unsigned char  hi[] = { 0xfb, 0xff, 0xbf };

    prefs_b64_encode(hi, 3, enc, sizeof(enc), PREFS_B64_STD);
    is_str(enc, "+/+/", "62 and 63 are + and / in base64");
    prefs_b64_encode(hi, 3, enc, sizeof(enc), PREFS_B64_URL);
    is_str(enc, "-_-_", "62 and 63 are - and _ in base64url");

    is_int(dec("+/+/", out, sizeof(out), PREFS_B64_STD), 3, "+/ decode");
    ok(memcmp(out, hi, 3) == 0, "+/ decode to the bytes");
    is_int(dec("-_-_", out, sizeof(out), PREFS_B64_URL), 3, "-_ decode");
    ok(memcmp(out, hi, 3) == 0, "-_ decode to the bytes");

    is_int(dec("-_-_", out, sizeof(out), PREFS_B64_STD), PREFS_B64_BAD,
           "base64url characters are not base64");
    is_int(dec("+/+/", out, sizeof(out), PREFS_B64_URL), PREFS_B64_BAD,
           "base64 characters are not base64url");
}


static void
test_strict(void)
{
    unsigned char  out[16];

    static const char  *bad_std[] = {
        "Zg", "Zg=", "Zg===", "Z===", "====", "=", "Zm9v=", "Zm9v====",
        "Zm=v", "Z=g=", "=Zg=", "Zh==", "Zm9=", "Zm8", "Zm9v\n", " Zm9v",
        "Zm 9", "Zm9v\r\n", "Zm.v", "Zm9v Zg==", "Zg==Zg==", "Zm\xc3\xa9",
    };
    static const char  *bad_url[] = {
        "Z", "Zg=", "Zg==", "Zm8=", "Zh", "Zm9", "Zm9vY", "Zm9v\n", "Zm 9",
        "Zm9v=",
    };
    size_t  i;

    for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
        is_int(dec(bad_std[i], out, sizeof(out), PREFS_B64_STD),
               PREFS_B64_BAD, "base64 rejects \"%s\"", show(bad_std[i]));
    }

    for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
        is_int(dec(bad_url[i], out, sizeof(out), PREFS_B64_URL),
               PREFS_B64_BAD, "base64url rejects \"%s\"", show(bad_url[i]));
    }

    is_int(prefs_b64_decode("Zm\0v", 4, out, sizeof(out), PREFS_B64_STD),
           PREFS_B64_BAD, "a NUL is not base64");
    is_int(dec("Zm8=", out, sizeof(out), PREFS_B64_STD), 2,
           "the canonical neighbour of Zm9= decodes");
}


/*
 * Every byte string has one spelling: of all strings that decode to one
 * or two bytes exactly as many are accepted as there are byte strings.
 */

static void
test_canonical(void)
{
    int            a, b, c, seen1, seen2, seen3, bad_char;
    char           s[4];
    long           n;
    unsigned char  out[4];

    static const char  alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    seen1 = 0;
    seen2 = 0;
    bad_char = 0;

    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            s[0] = (char) a;
            s[1] = (char) b;
            n = prefs_b64_decode(s, 2, out, sizeof(out), PREFS_B64_URL);

            if (n == 1) {
                seen1++;
                bad_char |= (strchr(alpha, a) == NULL || a == 0);
            }

            s[2] = '=';
            s[3] = '=';
            n = prefs_b64_decode(s, 4, out, sizeof(out), PREFS_B64_STD);
            seen2 += (n == 1);
        }
    }

    is_int(seen1, 256, "256 two-character base64url strings decode");
    ok(!bad_char, "only alphabet characters are accepted");
    is_int(seen2, 256, "256 padded two-character base64 strings decode");

    seen3 = 0;

    for (a = 0; a < 64; a++) {
        for (b = 0; b < 64; b++) {
            for (c = 0; c < 64; c++) {
                s[0] = alpha[a];
                s[1] = alpha[b];
                s[2] = alpha[c];
                n = prefs_b64_decode(s, 3, out, sizeof(out), PREFS_B64_URL);
                seen3 += (n == 2);
            }
        }
    }

    is_int(seen3, 65536, "65536 three-character base64url strings decode");
}


/* OpenSSL's encoder is the oracle; decoding must invert ours */

static void
test_oracle(void)
{
    int            agree, round, len;
    long           n;
    char           ours[520], theirs[520];
    unsigned char  data[384], back[384];

    agree = 1;
    round = 1;

    for (len = 0; len <= 384; len++) {
        RAND_bytes(data, sizeof(data));

        n = prefs_b64_encode(data, (size_t) len, ours, sizeof(ours),
                             PREFS_B64_STD);
        EVP_EncodeBlock((unsigned char *) theirs, data, len);

        if (n != (long) strlen(theirs) || strcmp(ours, theirs) != 0) {
            agree = 0;
        }

        n = prefs_b64_decode(ours, strlen(ours), back, sizeof(back),
                             PREFS_B64_STD);
        round &= (n == len && memcmp(back, data, (size_t) len) == 0);

        n = prefs_b64_encode(data, (size_t) len, ours, sizeof(ours),
                             PREFS_B64_URL);
        n = prefs_b64_decode(ours, (size_t) n, back, sizeof(back),
                             PREFS_B64_URL);
        round &= (n == len && memcmp(back, data, (size_t) len) == 0);
    }

    ok(agree, "base64 of 0..384 random bytes matches EVP_EncodeBlock");
    ok(round, "decoding inverts encoding, both alphabets");
}


static void
test_space(void)
{
    char           enc[9];
    unsigned char  out[3];

    is_int(prefs_b64_encode((const unsigned char *) "foobar", 6, enc, 9,
                            PREFS_B64_STD), 8, "exact room for the NUL");
    is_int(prefs_b64_encode((const unsigned char *) "foobar", 6, enc, 8,
                            PREFS_B64_STD), PREFS_B64_NO_SPACE,
           "no room for the NUL");
    is_int(prefs_b64_encode((const unsigned char *) "f", 1, enc, 3,
                            PREFS_B64_URL), 2, "base64url needs no padding");
    is_int(prefs_b64_decode("Zm9vYmFy", 8, out, 3, PREFS_B64_STD),
           PREFS_B64_NO_SPACE, "decoding into too small a buffer");
    is_int(prefs_b64_decode("Zm9v", 4, out, 3, PREFS_B64_STD), 3,
           "decoding into an exact buffer");
    is_int(prefs_b64_decoded_max(4), 3, "decoded_max(4)");
    is_int(prefs_b64_decoded_max(44), 33, "decoded_max(44)");
    is_int(prefs_b64_decoded_max(43), 32, "decoded_max(43)");
    is_int(prefs_b64_encoded_len(32, PREFS_B64_STD), 44,
           "encoded_len(32) padded");
    is_int(prefs_b64_encoded_len(32, PREFS_B64_URL), 43,
           "encoded_len(32) unpadded");
}


int
main(void)
{
    test_rfc4648();
    test_alphabets();
    test_strict();
    test_canonical();
    test_oracle();
    test_space();

    return unit_done();
}
