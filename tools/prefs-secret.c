
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * prefs-secret: what prefsctl cannot do in shell or SQL.
 *
 *   prefs-secret new KEYFILE     a new HMAC secret and its sealed form:
 *                                "<secret> <sealed>" on one line
 *   prefs-secret seal KEYFILE    seals the secret read from stdin
 *   prefs-secret open KEYFILE    opens the sealed text read from stdin
 *                                (to check a stored secret)
 *   prefs-secret token [BYTES]   a random token (base64url, 32 bytes)
 *   prefs-secret keygen          a new key file's content (64 hex digits)
 *
 * The sealing is the module's own (src/lib/prefs_auth.c): AES-256-GCM
 * under the key nginx reads from prefs_secret_key.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_auth.h"
#include "prefs_hmac.h"
#include "prefs_keyfile.h"
#include "prefs_seal.h"
#include "prefs_b64.h"


#define PREFS_SECRET_BYTES  32


static int
usage(void)
{
    fprintf(stderr, "usage: prefs-secret new KEYFILE | seal KEYFILE"
                    " | open KEYFILE | token [BYTES] | keygen\n");
    return 1;
}


static int
load(const char *path, unsigned char key[PREFS_AUTH_KEY_LEN])
{
    int   rc;
    char  err[256];

    err[0] = '\0';
    rc = prefs_keyfile_load(path, key, err, sizeof(err));

    if (rc != PREFS_AUTH_OK && rc != PREFS_AUTH_KEY_LOOSE) {
        fprintf(stderr, "prefs-secret: %s: %s\n", path, err);
        return -1;
    }

    return 0;
}


static int
seal(const unsigned char *key, const char *secret)
{
    char  out[PREFS_SECRET_B64_SIZE(PREFS_SECRET_MAX)];

    if (prefs_seal_secret(key, (const unsigned char *) secret,
                          strlen(secret), out, sizeof(out))
        != PREFS_AUTH_OK)
    {
        fprintf(stderr, "prefs-secret: cannot seal\n");
        return -1;
    }

    printf("%s", out);
    return 0;
}


int
main(int argc, char **argv)
{
    long           n;
    size_t         len;
    char           buf[PREFS_SECRET_MAX + 2], token[PREFS_AUTH_MAX_TOKEN];
    unsigned char  key[PREFS_AUTH_KEY_LEN];

    if (argc < 2) {
        return usage();
    }

    if (strcmp(argv[1], "new") == 0 && argc == 3) {
        if (load(argv[2], key) != 0
            || prefs_hmac_random_token(token, sizeof(token), PREFS_SECRET_BYTES)
               != PREFS_AUTH_OK)
        {
            return 1;
        }

        printf("%s ", token);
        if (seal(key, token) != 0) {
            return 1;
        }

        printf("\n");
        prefs_hmac_wipe(token, sizeof(token));
        prefs_hmac_wipe(key, sizeof(key));
        return 0;
    }

    if (strcmp(argv[1], "seal") == 0 && argc == 3) {
        if (load(argv[2], key) != 0) {
            return 1;
        }

        if (fgets(buf, sizeof(buf), stdin) == NULL) {
            fprintf(stderr, "prefs-secret: no secret on stdin\n");
            return 1;
        }

        len = strcspn(buf, "\r\n");
        buf[len] = '\0';

        if (len == 0 || len > 64) {
            fprintf(stderr, "prefs-secret: a secret is 1 to 64 bytes\n");
            return 1;
        }

        if (seal(key, buf) != 0) {
            return 1;
        }

        printf("\n");
        prefs_hmac_wipe(buf, sizeof(buf));
        prefs_hmac_wipe(key, sizeof(key));
        return 0;
    }

    if (strcmp(argv[1], "open") == 0 && argc == 3) {
        unsigned char  plain[PREFS_SECRET_MAX + 1];

        if (load(argv[2], key) != 0) {
            return 1;
        }

        if (fgets(buf, sizeof(buf), stdin) == NULL) {
            fprintf(stderr, "prefs-secret: no sealed text on stdin\n");
            return 1;
        }

        len = strcspn(buf, "\r\n");

        if (prefs_seal_open(key, buf, len, plain, sizeof(plain) - 1, &len)
            != PREFS_AUTH_OK)
        {
            fprintf(stderr, "prefs-secret: cannot open: altered, or sealed "
                            "with another key\n");
            prefs_hmac_wipe(key, sizeof(key));
            return 1;
        }

        fwrite(plain, 1, len, stdout);
        printf("\n");
        prefs_hmac_wipe(plain, sizeof(plain));
        prefs_hmac_wipe(key, sizeof(key));
        return 0;
    }

    if (strcmp(argv[1], "token") == 0 && argc <= 3) {
        n = argc == 3 ? strtol(argv[2], NULL, 10) : PREFS_SECRET_BYTES;

        if (n < PREFS_AUTH_MIN_TOKEN || n > 128
            || prefs_hmac_random_token(token, sizeof(token), (size_t) n)
               != PREFS_AUTH_OK)
        {
            fprintf(stderr, "prefs-secret: a token is 32 to 128 bytes\n");
            return 1;
        }

        printf("%s\n", token);
        return 0;
    }

    if (strcmp(argv[1], "keygen") == 0 && argc == 2) {
        /* 32 random bytes, through the one random source the module uses */
        if (prefs_hmac_random_token(token, sizeof(token), PREFS_AUTH_KEY_LEN)
            != PREFS_AUTH_OK
            || prefs_b64_decode(token, strlen(token), key, sizeof(key),
                                PREFS_B64_URL)
               != PREFS_AUTH_KEY_LEN)
        {
            fprintf(stderr, "prefs-secret: no randomness\n");
            return 1;
        }

        for (n = 0; n < PREFS_AUTH_KEY_LEN; n++) {
            printf("%02x", key[n]);
        }

        printf("\n");
        prefs_hmac_wipe(key, sizeof(key));
        return 0;
    }

    return usage();
}
