
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include "prefs_idem.h"
#include "prefs_hmac.h"


long
prefs_idem_key(const char *v, size_t len, char *out, size_t out_size)
{
    size_t  i, n;
    int     quoted;

    if (out_size <= PREFS_IDEM_KEY_MAX) {
        return -1;
    }

    quoted = (len >= 2 && v[0] == '"' && v[len - 1] == '"');

    if (quoted) {
        v++;
        len -= 2;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (v[i] < 0x20 || v[i] > 0x7e) {
            return -1;
        }

        if (quoted && v[i] == '"') {
            return -1;
        }

        if (quoted && v[i] == '\\') {
            if (i + 1 == len || (v[i + 1] != '"' && v[i + 1] != '\\')) {
                return -1;
            }

            i++;
        }

        if (n == PREFS_IDEM_KEY_MAX) {
            return -1;
        }

        out[n++] = v[i];
    }

    if (n == 0) {
        return -1;
    }

    out[n] = '\0';

    return (long) n;
}


long
prefs_idem_fingerprint(const char *method, size_t method_len,
    const char *route, size_t route_len, const void *body, size_t body_len,
    char *out, size_t out_size)
{
    char    hash[65];
    size_t  n;

    n = method_len + 1 + route_len + 1 + 64;

    if (n + 1 > out_size || prefs_hmac_sha256_hex(body, body_len, hash) != 0) {
        return -1;
    }

    memcpy(out, method, method_len);
    out[method_len] = ' ';
    memcpy(out + method_len + 1, route, route_len);
    out[method_len + 1 + route_len] = ' ';
    memcpy(out + method_len + 1 + route_len + 1, hash, 64);
    out[n] = '\0';

    return (long) n;
}
