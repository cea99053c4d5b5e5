
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
 *   prefs-secret link-key KEYFILE
 *                                a new per-profile link key, sealed
 *   prefs-secret link KEYFILE    signs a per-profile link with the module's
 *                                code (src/lib/prefs_link.c); stdin: "KEYID:
 *                                SEALED ACCOUNT PROFILE USER ACCOUNTGEN
 *                                PROFILEGEN EXPIRES SCOPE,SCOPE..."; prints
 *                                "TOKEN SCOPES" (the scopes as the API
 *                                shows them)
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
#include "prefs_link.h"


#define PREFS_SECRET_BYTES  32


static int
usage(void)
{
    fprintf(stderr, "usage: prefs-secret new KEYFILE | seal KEYFILE"
                    " | open KEYFILE | token [BYTES] | keygen"
                    " | link-key KEYFILE | link KEYFILE\n");
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


/* a new link key: 32 random bytes, sealed */

static int
link_key(const unsigned char *key)
{
    int            rc;
    char           out[PREFS_SECRET_B64_SIZE(PREFS_AUTH_KEY_LEN)];
    char           token[PREFS_AUTH_MAX_TOKEN];
    unsigned char  raw[PREFS_AUTH_KEY_LEN];

    rc = -1;

    if (prefs_hmac_random_token(token, sizeof(token), PREFS_AUTH_KEY_LEN)
        == PREFS_AUTH_OK
        && prefs_b64_decode(token, strlen(token), raw, sizeof(raw),
                            PREFS_B64_URL)
           == PREFS_AUTH_KEY_LEN
        && prefs_seal_secret(key, raw, sizeof(raw), out, sizeof(out))
           == PREFS_AUTH_OK)
    {
        printf("%s\n", out);
        rc = 0;

    } else {
        fprintf(stderr, "prefs-secret: cannot make a link key\n");
    }

    prefs_hmac_wipe(token, sizeof(token));
    prefs_hmac_wipe(raw, sizeof(raw));

    return rc;
}


/* a decimal number of at most max from the line, or -1 */

static long long
link_number(char **p, long long max)
{
    char       *end;
    long long   v;

    if (**p < '0' || **p > '9') {
        return -1;
    }

    v = strtoll(*p, &end, 10);

    if (v < 0 || v > max || (*end != ' ' && *end != ':')) {
        return -1;
    }

    *p = end + 1;

    return v;
}


/*
 * Signs the link the line describes, as POST Profile/{id}/Links does in
 * the module: the claims, then the scopes, each checked by
 * prefs_link_scope_add.
 */

static int
link_sign(const unsigned char *key, char *line)
{
    int            rc;
    long           n;
    char          *p, *sealed, *end, *scope, *comma;
    size_t         len;
    long long      v[7];
    unsigned       i;
    prefs_link_t   l;
    unsigned char  link_key[PREFS_AUTH_KEY_LEN];
    char           token[PREFS_LINK_TOKEN_MAX + 1], text[1024];

    static const long long  max[7] = {
        UINT32_MAX, INT64_MAX, INT64_MAX, INT64_MAX, UINT32_MAX, UINT32_MAX,
        INT64_MAX
    };

    memset(&l, 0, sizeof(prefs_link_t));

    p = line;
    v[0] = link_number(&p, max[0]);
    sealed = p;
    end = strchr(p, ' ');

    if (v[0] <= 0 || p[-1] != ':' || end == NULL) {
        fprintf(stderr, "prefs-secret: link: expected \"KEYID:SEALED ACCOUNT "
                        "PROFILE USER ACCOUNTGEN PROFILEGEN EXPIRES "
                        "SCOPES\" on stdin\n");
        return -1;
    }

    *end = '\0';
    p = end + 1;

    for (i = 1; i < 7; i++) {
        v[i] = link_number(&p, max[i]);

        if (v[i] < 0 || (i < 4 && v[i] == 0) || p[-1] != ' ') {
            fprintf(stderr, "prefs-secret: link: claim %u is not a number "
                            "in range\n", i + 1);
            return -1;
        }
    }

    l.key_id = (uint32_t) v[0];
    l.account_id = v[1];
    l.profile_id = v[2];
    l.user_id = v[3];
    l.account_gen = (uint32_t) v[4];
    l.profile_gen = (uint32_t) v[5];
    l.expires = v[6];

    for (scope = p; *scope; scope = comma ? comma + 1 : scope + len) {
        comma = strchr(scope, ',');
        len = comma ? (size_t) (comma - scope) : strlen(scope);

        rc = prefs_link_scope_add(&l, scope, len);

        if (rc == PREFS_LINK_TOO_MANY) {
            fprintf(stderr, "prefs-secret: link: a link unsubscribes from at "
                            "most %d filters\n", PREFS_LINK_MAX_FILTERS);
            return -1;
        }

        if (rc != PREFS_LINK_OK) {
            fprintf(stderr, "prefs-secret: link: \"%.*s\" is not a scope: "
                            "preferences:read, preferences:write, "
                            "consents:write, edge or unsubscribe:FILTERID\n",
                    (int) (len < 80 ? len : 80), scope);
            return -1;
        }
    }

    if (l.scopes == 0) {
        fprintf(stderr, "prefs-secret: link: no scope\n");
        return -1;
    }

    if (prefs_seal_open(key, sealed, strlen(sealed), link_key,
                        sizeof(link_key), &len)
        != PREFS_AUTH_OK || len != PREFS_AUTH_KEY_LEN)
    {
        fprintf(stderr, "prefs-secret: link: the account's link key cannot "
                        "be opened: sealed with another key file?\n");
        prefs_hmac_wipe(link_key, sizeof(link_key));
        return -1;
    }

    n = prefs_link_sign(&l, link_key, sizeof(link_key), token,
                        sizeof(token));
    prefs_hmac_wipe(link_key, sizeof(link_key));

    if (n < 0 || prefs_link_scopes_text(&l, text, sizeof(text)) < 0) {
        fprintf(stderr, "prefs-secret: link: cannot sign\n");
        return -1;
    }

    printf("%s %s\n", token, text);
    prefs_hmac_wipe(token, sizeof(token));

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

    if (strcmp(argv[1], "link-key") == 0 && argc == 3) {
        if (load(argv[2], key) != 0) {
            return 1;
        }

        n = link_key(key);
        prefs_hmac_wipe(key, sizeof(key));
        return n == 0 ? 0 : 1;
    }

    if (strcmp(argv[1], "link") == 0 && argc == 3) {
        char  line[PREFS_LINK_TOKEN_MAX + 256];

        if (load(argv[2], key) != 0) {
            return 1;
        }

        if (fgets(line, sizeof(line), stdin) == NULL) {
            fprintf(stderr, "prefs-secret: no link on stdin\n");
            return 1;
        }

        line[strcspn(line, "\r\n")] = '\0';

        n = link_sign(key, line);
        prefs_hmac_wipe(key, sizeof(key));
        prefs_hmac_wipe(line, sizeof(line));
        return n == 0 ? 0 : 1;
    }

    return usage();
}
