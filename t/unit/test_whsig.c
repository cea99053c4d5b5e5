
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_whsig.h"


/*
 * The vector of the Standard Webhooks specification, checked with
 *   printf 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' \
 *     | openssl dgst -sha256 -binary -mac HMAC \
 *       -macopt hexkey:31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0 \
 *     | base64
 */

#define SECRET   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID   "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define BODY     "{\"test\": 2432232314}"
#define SIG      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define TS       1614265330


static int
verify(const char *secret, const char *body, const char *ts,
    const char *header, time_t now)
{
    return prefs_whsig_verify(secret, strlen(secret), MSG_ID, strlen(MSG_ID),
                              ts, strlen(ts), body, strlen(body), header,
                              strlen(header), now, PREFS_WHSIG_TOLERANCE);
}


int
main(void)
{
    long            n;
    char            out[3 * (PREFS_WHSIG_SIG_LEN + 1)], gen[64], gen2[64];
    char            hdr[256];
    size_t          lens[3];
    const char     *secrets[3];
    unsigned char   key[PREFS_WHSIG_KEY_MAX];

    secrets[0] = SECRET;
    lens[0] = strlen(SECRET);

    n = prefs_whsig_sign(secrets, lens, 1, MSG_ID, strlen(MSG_ID), TS, BODY,
                         strlen(BODY), out, sizeof(out));
    is_int(n, PREFS_WHSIG_SIG_LEN, "the signature's length");
    is_str(out, SIG, "the specification's vector");

    ok(prefs_whsig_secret_generate(gen, sizeof(gen)) == PREFS_WHSIG_OK,
       "a secret is generated");
    is_int(strlen(gen), PREFS_WHSIG_SECRET_LEN, "of the documented length");
    ok(strncmp(gen, "whsec_", 6) == 0, "with the whsec_ prefix");
    is_int(prefs_whsig_secret_decode(gen, strlen(gen), key),
           PREFS_WHSIG_KEY_DEFAULT, "that decodes to a 32-byte key");
    prefs_whsig_secret_generate(gen2, sizeof(gen2));
    ok(strcmp(gen, gen2) != 0, "two secrets differ");
    is_int(prefs_whsig_secret_generate(gen2, PREFS_WHSIG_SECRET_LEN),
           PREFS_WHSIG_NO_SPACE, "a short buffer is refused");

    /* rotation: two secrets, two signatures */
    secrets[1] = gen;
    lens[1] = strlen(gen);

    n = prefs_whsig_sign(secrets, lens, 2, MSG_ID, strlen(MSG_ID), TS, BODY,
                         strlen(BODY), out, sizeof(out));
    is_int(n, 2 * PREFS_WHSIG_SIG_LEN + 1, "two signatures");
    ok(strncmp(out, SIG " v1,", PREFS_WHSIG_SIG_LEN + 4) == 0,
       "space-separated, in the order of the secrets");

    is_int(verify(gen, BODY, "1614265330", out, TS), PREFS_WHSIG_OK,
           "the second secret verifies the pair");
    is_int(verify(SECRET, BODY, "1614265330", SIG, TS + 299),
           PREFS_WHSIG_OK, "within the tolerance");
    is_int(verify(SECRET, BODY, "1614265330", SIG, TS + 301),
           PREFS_WHSIG_STALE, "past the tolerance");
    is_int(verify(SECRET, BODY, "1614265330", SIG, TS - 301),
           PREFS_WHSIG_STALE, "before it");
    is_int(verify(SECRET, BODY, "16142653x0", SIG, TS), PREFS_WHSIG_STALE,
           "a malformed timestamp");
    is_int(verify(SECRET, BODY, "1614265331", SIG, TS), PREFS_WHSIG_NO_MATCH,
           "another timestamp");
    is_int(verify(SECRET, "{\"test\": 2432232315}", "1614265330", SIG, TS),
           PREFS_WHSIG_NO_MATCH, "another body");
    is_int(verify(gen, BODY, "1614265330", SIG, TS), PREFS_WHSIG_NO_MATCH,
           "another secret");
    is_int(verify(SECRET, BODY, "1614265330",
                  "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", TS),
           PREFS_WHSIG_NO_MATCH, "another version");
    snprintf(hdr, sizeof(hdr), "v1,bm9wZQ== %s", SIG);
    is_int(verify(SECRET, BODY, "1614265330", hdr, TS), PREFS_WHSIG_OK,
           "a match after a non-match");
    is_int(verify(SECRET, BODY, "1614265330", "", TS), PREFS_WHSIG_NO_MATCH,
           "an empty header");
    is_int(verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", BODY, "1614265330",
                  SIG, TS), PREFS_WHSIG_BAD_SECRET, "a secret without whsec_");
    is_int(verify("whsec_AAAA", BODY, "1614265330", SIG, TS),
           PREFS_WHSIG_BAD_SECRET, "a key too short");
    is_int(verify("whsec_not base64!", BODY, "1614265330", SIG, TS),
           PREFS_WHSIG_BAD_SECRET, "a secret that is not base64");

    n = prefs_whsig_sign(secrets, lens, 2, MSG_ID, strlen(MSG_ID), TS, BODY,
                         strlen(BODY), out, PREFS_WHSIG_SIG_LEN + 1);
    is_int(n, PREFS_WHSIG_NO_SPACE, "no space for two");

    secrets[2] = "whsec_";
    lens[2] = 6;
    n = prefs_whsig_sign(secrets, lens, 3, MSG_ID, strlen(MSG_ID), TS, BODY,
                         strlen(BODY), out, sizeof(out));
    is_int(n, PREFS_WHSIG_BAD_SECRET, "a bad secret among good ones");

    ok(strlen(prefs_whsig_strerror(PREFS_WHSIG_STALE)) > 0, "strerror");

    return unit_done();
}
