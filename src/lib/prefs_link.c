
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The per-profile link tokens: their text, signature and claims
 * (prefs_link.h has the format).  Plain C: the worker verifies a link
 * with this and the account's key, without asking the database.
 */


#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "prefs_b64.h"
#include "prefs_hmac.h"
#include "prefs_link.h"


#define PREFS_LINK_PREFIX_LEN   (sizeof(PREFS_LINK_PREFIX) - 1)
#define PREFS_LINK_PAYLOAD_MAX  1024
#define PREFS_LINK_SIG_B64      43          /* 32 bytes, unpadded */
#define PREFS_LINK_FIELDS       9


static const struct {
    const char  *name;
    unsigned     bit;
} prefs_link_scope_names[] = {
    { "preferences:read", PREFS_LINK_PREFERENCES_READ },
    { "preferences:write", PREFS_LINK_PREFERENCES_WRITE },
    { "consents:write", PREFS_LINK_CONSENTS_WRITE },
    { "edge", PREFS_LINK_EDGE },
    { NULL, 0 }
};


static int prefs_link_mac(const unsigned char *key, size_t key_len,
    const char *data, size_t len, char out[PREFS_LINK_SIG_B64 + 1]);
static int prefs_link_number(const char *s, size_t len, int64_t max,
    int64_t *value);
static int prefs_link_filter_ok(const char *s, size_t len);


int
prefs_link_is_token(const char *s, size_t len)
{
    return len > PREFS_LINK_PREFIX_LEN
           && memcmp(s, PREFS_LINK_PREFIX, PREFS_LINK_PREFIX_LEN) == 0;
}


int
prefs_link_scope_add(prefs_link_t *l, const char *s, size_t len)
{
    size_t    n;
    unsigned  i;

    for (i = 0; prefs_link_scope_names[i].name; i++) {
        n = strlen(prefs_link_scope_names[i].name);

        if (n == len && memcmp(prefs_link_scope_names[i].name, s, n) == 0) {
            l->scopes |= prefs_link_scope_names[i].bit;
            return PREFS_LINK_OK;
        }
    }

    n = sizeof("unsubscribe:") - 1;

    if (len <= n || memcmp(s, "unsubscribe:", n) != 0
        || !prefs_link_filter_ok(s + n, len - n))
    {
        return PREFS_LINK_BAD_SCOPE;
    }

    if (prefs_link_grants_filter(l, s + n, len - n)) {
        return PREFS_LINK_OK;
    }

    if (l->nfilters == PREFS_LINK_MAX_FILTERS) {
        return PREFS_LINK_TOO_MANY;
    }

    memcpy(l->filters[l->nfilters], s + n, len - n);
    l->filters[l->nfilters][len - n] = '\0';
    l->nfilters++;
    l->scopes |= PREFS_LINK_UNSUBSCRIBE;

    return PREFS_LINK_OK;
}


long
prefs_link_scopes_text(const prefs_link_t *l, char *out, size_t out_size)
{
    int       n;
    size_t    len;
    unsigned  i;

    len = 0;
    out[0] = '\0';

    for (i = 0; prefs_link_scope_names[i].name; i++) {
        if (l->scopes & prefs_link_scope_names[i].bit) {
            n = snprintf(out + len, out_size - len, "%s%s", len ? "," : "",
                         prefs_link_scope_names[i].name);
            if (n < 0 || (size_t) n >= out_size - len) {
                return PREFS_LINK_ERROR;
            }

            len += n;
        }
    }

    for (i = 0; i < l->nfilters; i++) {
        n = snprintf(out + len, out_size - len, "%sunsubscribe:%s",
                     len ? "," : "", l->filters[i]);
        if (n < 0 || (size_t) n >= out_size - len) {
            return PREFS_LINK_ERROR;
        }

        len += n;
    }

    return (long) len;
}


long
prefs_link_sign(const prefs_link_t *l, const unsigned char *key,
    size_t key_len, char *out, size_t out_size)
{
    int    n;
    long   b64, scopes;
    char   payload[PREFS_LINK_PAYLOAD_MAX], text[PREFS_LINK_PAYLOAD_MAX];
    char   sig[PREFS_LINK_SIG_B64 + 1];
    size_t len;

    scopes = prefs_link_scopes_text(l, text, sizeof(text));
    if (scopes <= 0) {
        return PREFS_LINK_ERROR;
    }

    n = snprintf(payload, sizeof(payload),
                 "1|%lld|%lld|%lld|%lld|%u|%u|%u|%s",
                 (long long) l->account_id, (long long) l->profile_id,
                 (long long) l->user_id, (long long) l->expires,
                 l->key_id, l->account_gen, l->profile_gen, text);
    if (n < 0 || (size_t) n >= sizeof(payload)) {
        return PREFS_LINK_ERROR;
    }

    len = PREFS_LINK_PREFIX_LEN + prefs_b64_encoded_len(n, PREFS_B64_URL)
          + 1 + PREFS_LINK_SIG_B64;

    if (len + 1 > out_size || len > PREFS_LINK_TOKEN_MAX) {
        return PREFS_LINK_ERROR;
    }

    memcpy(out, PREFS_LINK_PREFIX, PREFS_LINK_PREFIX_LEN);

    b64 = prefs_b64_encode((const unsigned char *) payload, n,
                           out + PREFS_LINK_PREFIX_LEN,
                           out_size - PREFS_LINK_PREFIX_LEN, PREFS_B64_URL);
    if (b64 < 0) {
        return PREFS_LINK_ERROR;
    }

    if (prefs_link_mac(key, key_len, out, PREFS_LINK_PREFIX_LEN + b64, sig)
        != PREFS_LINK_OK)
    {
        return PREFS_LINK_ERROR;
    }

    out[PREFS_LINK_PREFIX_LEN + b64] = '.';
    memcpy(out + PREFS_LINK_PREFIX_LEN + b64 + 1, sig,
           PREFS_LINK_SIG_B64 + 1);

    return (long) len;
}


int
prefs_link_verify(const char *tok, size_t len, const unsigned char *key,
    size_t key_len)
{
    int   rc;
    char  sig[PREFS_LINK_SIG_B64 + 1];

    if (len <= PREFS_LINK_PREFIX_LEN + 1 + PREFS_LINK_SIG_B64
        || len > PREFS_LINK_TOKEN_MAX
        || tok[len - PREFS_LINK_SIG_B64 - 1] != '.')
    {
        return PREFS_LINK_BAD;
    }

    if (prefs_link_mac(key, key_len, tok, len - PREFS_LINK_SIG_B64 - 1, sig)
        != PREFS_LINK_OK)
    {
        return PREFS_LINK_ERROR;
    }

    rc = prefs_hmac_ct_equal(sig, PREFS_LINK_SIG_B64,
                             tok + len - PREFS_LINK_SIG_B64,
                             PREFS_LINK_SIG_B64);

    prefs_hmac_wipe(sig, sizeof(sig));

    return rc ? PREFS_LINK_OK : PREFS_LINK_BAD;
}


int
prefs_link_parse(const char *tok, size_t len, prefs_link_t *l)
{
    long           n;
    size_t         b64_len, flen;
    int64_t        v[PREFS_LINK_FIELDS - 1];
    unsigned       i;
    const char    *p, *end, *bar, *comma;
    unsigned char  payload[PREFS_LINK_PAYLOAD_MAX];

    static const int64_t  max[PREFS_LINK_FIELDS - 1] = {
        1, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
        UINT32_MAX, UINT32_MAX, UINT32_MAX
    };

    memset(l, 0, sizeof(prefs_link_t));

    if (!prefs_link_is_token(tok, len)
        || len <= PREFS_LINK_PREFIX_LEN + 1 + PREFS_LINK_SIG_B64
        || len > PREFS_LINK_TOKEN_MAX
        || tok[len - PREFS_LINK_SIG_B64 - 1] != '.')
    {
        return PREFS_LINK_BAD;
    }

    b64_len = len - PREFS_LINK_PREFIX_LEN - 1 - PREFS_LINK_SIG_B64;

    n = prefs_b64_decode(tok + PREFS_LINK_PREFIX_LEN, b64_len, payload,
                         sizeof(payload) - 1, PREFS_B64_URL);
    if (n <= 0) {
        return PREFS_LINK_BAD;
    }

    p = (const char *) payload;
    end = p + n;

    /* the version, then the numbers; ids are positive */

    for (i = 0; i < PREFS_LINK_FIELDS - 1; i++) {
        bar = memchr(p, '|', end - p);
        if (bar == NULL
            || prefs_link_number(p, bar - p, max[i], &v[i]) != PREFS_LINK_OK
            || (i < 4 && v[i] == 0) || (i == 5 && v[i] == 0))
        {
            return PREFS_LINK_BAD;
        }

        p = bar + 1;
    }

    l->account_id = v[1];
    l->profile_id = v[2];
    l->user_id = v[3];
    l->expires = v[4];
    l->key_id = (uint32_t) v[5];
    l->account_gen = (uint32_t) v[6];
    l->profile_gen = (uint32_t) v[7];

    if (p == end) {
        return PREFS_LINK_BAD;
    }

    while (p < end) {
        comma = memchr(p, ',', end - p);
        flen = (comma ? comma : end) - p;

        if (prefs_link_scope_add(l, p, flen) != PREFS_LINK_OK) {
            return PREFS_LINK_BAD;
        }

        p += flen + 1;

        if (comma && p == end) {
            return PREFS_LINK_BAD;
        }
    }

    return PREFS_LINK_OK;
}


int
prefs_link_grants_filter(const prefs_link_t *l, const char *filter,
    size_t len)
{
    unsigned  i;

    for (i = 0; i < l->nfilters; i++) {
        if (strlen(l->filters[i]) == len
            && memcmp(l->filters[i], filter, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
prefs_link_mac(const unsigned char *key, size_t key_len, const char *data,
    size_t len, char out[PREFS_LINK_SIG_B64 + 1])
{
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    /* an empty key would let anyone sign */
    if (key == NULL || key_len == 0) {
        return PREFS_LINK_ERROR;
    }

    if (HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) data,
             len, md, &md_len)
        == NULL || md_len != 32)
    {
        return PREFS_LINK_ERROR;
    }

    if (prefs_b64_encode(md, 32, out, PREFS_LINK_SIG_B64 + 1, PREFS_B64_URL)
        != PREFS_LINK_SIG_B64)
    {
        prefs_hmac_wipe(md, sizeof(md));
        return PREFS_LINK_ERROR;
    }

    prefs_hmac_wipe(md, sizeof(md));

    return PREFS_LINK_OK;
}


/* a decimal number without sign or leading zeros, at most max */

static int
prefs_link_number(const char *s, size_t len, int64_t max, int64_t *value)
{
    size_t   i;
    int64_t  v;

    if (len == 0 || len > 19 || (len > 1 && s[0] == '0')) {
        return PREFS_LINK_BAD;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9'
            || v > max / 10
            || (v == max / 10 && s[i] - '0' > max % 10))
        {
            return PREFS_LINK_BAD;
        }

        v = v * 10 + (s[i] - '0');
    }

    *value = v;

    return PREFS_LINK_OK;
}


static int
prefs_link_filter_ok(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > PREFS_LINK_FILTER_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.'
              || s[i] == '~' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}
