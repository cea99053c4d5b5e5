
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "prefs_path.h"
#include "prefs_url.h"


static int prefs_url_host(const char *s, size_t len, prefs_url_t *u);


int
prefs_url_parse(const char *s, size_t len, prefs_url_t *u)
{
    int          rc;
    size_t       i, n, host_end, auth_end;
    unsigned     port;
    const char  *p, *end, *auth;

    memset(u, 0, sizeof(prefs_url_t));

    if (len > PREFS_URL_MAX_LEN) {
        return PREFS_URL_TOO_LONG;
    }

    if (len >= 7 && strncasecmp(s, "http://", 7) == 0) {
        p = s + 7;

    } else if (len >= 8 && strncasecmp(s, "https://", 8) == 0) {
        u->https = 1;
        p = s + 8;

    } else {
        return PREFS_URL_BAD_SCHEME;
    }

    end = s + len;
    auth = p;

    for (auth_end = 0; p + auth_end < end; auth_end++) {
        if (p[auth_end] == '/' || p[auth_end] == '?' || p[auth_end] == '#') {
            break;
        }

        if (p[auth_end] == '@') {
            return PREFS_URL_USERINFO;
        }

        if (p[auth_end] == '\\') {
            return PREFS_URL_BAD_HOST;
        }
    }

    /* the host ends at the port's colon, past an IPv6 literal's "]" */

    if (auth_end && auth[0] == '[') {
        for (host_end = 1; host_end < auth_end; host_end++) {
            if (auth[host_end] == ']') {
                break;
            }
        }

        if (host_end == auth_end) {
            return PREFS_URL_BAD_HOST;
        }

        host_end++;

    } else {
        for (host_end = 0; host_end < auth_end; host_end++) {
            if (auth[host_end] == ':') {
                break;
            }
        }
    }

    rc = prefs_url_host(auth, host_end, u);
    if (rc != PREFS_URL_OK) {
        return rc;
    }

    u->port = u->https ? 443 : 80;

    if (host_end < auth_end) {
        if (auth[host_end] != ':') {
            return PREFS_URL_BAD_HOST;
        }

        n = auth_end - host_end - 1;

        if (n == 0 || n > 5) {
            return PREFS_URL_BAD_PORT;
        }

        port = 0;

        for (i = host_end + 1; i < auth_end; i++) {
            if (auth[i] < '0' || auth[i] > '9') {
                return PREFS_URL_BAD_PORT;
            }

            port = port * 10 + (unsigned) (auth[i] - '0');
        }

        if (port == 0 || port > 65535) {
            return PREFS_URL_BAD_PORT;
        }

        u->port = port;
        u->port_explicit = 1;
    }

    p = auth + auth_end;

    if (p == end) {
        u->target = "/";
        u->target_len = 1;
        return PREFS_URL_OK;
    }

    for (i = 0; p + i < end; i++) {
        unsigned char  c = (unsigned char) p[i];

        if (c == '#') {
            return PREFS_URL_FRAGMENT;
        }

        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>'
            || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|'
            || c == '}')
        {
            return PREFS_URL_BAD_PATH;
        }

        if (c == '%') {
            if (p + i + 2 >= end || prefs_path_hex(p[i + 1]) < 0
                || prefs_path_hex(p[i + 2]) < 0)
            {
                return PREFS_URL_BAD_PATH;
            }
        }
    }

    u->target = p;
    u->target_len = (size_t) (end - p);

    return PREFS_URL_OK;
}


static int
prefs_url_host(const char *s, size_t len, prefs_url_t *u)
{
    int          numeric;
    char         buf[64];
    size_t       i, n, label;
    const char  *last;

    if (len == 0) {
        return PREFS_URL_BAD_HOST;
    }

    if (s[0] == '[') {
        /* "[" ... "]": IPv6 only, no zone id, no IPvFuture */
        if (len < 4 || len - 2 >= sizeof(buf) || s[len - 1] != ']') {
            return PREFS_URL_BAD_HOST;
        }

        for (i = 1; i < len - 1; i++) {
            if (prefs_path_hex(s[i]) < 0 && s[i] != ':' && s[i] != '.') {
                return PREFS_URL_BAD_HOST;
            }
        }

        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';

        if (inet_pton(AF_INET6, buf, u->addr) != 1) {
            return PREFS_URL_BAD_HOST;
        }

        for (i = 0; i < len - 2; i++) {
            u->host[i] = (buf[i] >= 'A' && buf[i] <= 'F')
                         ? (char) (buf[i] + 32) : buf[i];
        }

        u->host[i] = '\0';
        u->host_len = len - 2;
        u->host_type = PREFS_URL_HOST_IPV6;

        return PREFS_URL_OK;
    }

    if (s[len - 1] == '.') {
        /* a fully qualified "example.com." is "example.com" */
        len--;
    }

    if (len == 0 || len > PREFS_URL_MAX_HOST) {
        return PREFS_URL_BAD_HOST;
    }

    if (prefs_url_ipv4_parse(s, len, u->addr) == 0) {
        memcpy(u->host, s, len);
        u->host[len] = '\0';
        u->host_len = len;
        u->host_type = PREFS_URL_HOST_IPV4;
        return PREFS_URL_OK;
    }

    label = 0;

    for (i = 0; i <= len; i++) {

        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63) {
                return PREFS_URL_BAD_HOST;
            }

            u->host[i] = '.';
            label = 0;
            continue;
        }

        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
        {
            return PREFS_URL_BAD_HOST;
        }

        u->host[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] + 32) : s[i];
        label++;
    }

    /*
     * A last label that is a decimal or "0x" hexadecimal number makes
     * the whole name an IPv4 address to inet_aton() and to browsers.
     */

    for (i = len; i > 0 && u->host[i - 1] != '.'; i--) { /* void */ }

    last = u->host + i;
    n = len - i;
    numeric = 1;

    if (n >= 2 && last[0] == '0' && last[1] == 'x') {
        for (i = 2; i < n; i++) {
            numeric &= (prefs_path_hex(last[i]) >= 0);
        }

    } else {
        for (i = 0; i < n; i++) {
            numeric &= (last[i] >= '0' && last[i] <= '9');
        }
    }

    if (numeric) {
        return PREFS_URL_NUMERIC_HOST;
    }

    u->host[len] = '\0';
    u->host_len = len;
    u->host_type = PREFS_URL_HOST_NAME;

    return PREFS_URL_OK;
}


int
prefs_url_ipv4_parse(const char *s, size_t len, unsigned char *addr)
{
    size_t    i, parts, digits;
    unsigned  v;

    parts = 0;
    digits = 0;
    v = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (digits == 0 || parts == 4) {
                return -1;
            }

            addr[parts++] = (unsigned char) v;
            v = 0;
            digits = 0;
            continue;
        }

        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        if (digits == 1 && v == 0) {
            return -1;      /* "010" is octal to some parsers */
        }

        v = v * 10 + (unsigned) (s[i] - '0');

        if (++digits > 3 || v > 255) {
            return -1;
        }
    }

    return parts == 4 ? 0 : -1;
}


const char *
prefs_url_strerror(int rc)
{
    switch (rc) {
    case PREFS_URL_OK:
        return "ok";
    case PREFS_URL_TOO_LONG:
        return "the URL is too long";
    case PREFS_URL_BAD_SCHEME:
        return "the URL must start with https:// or http://";
    case PREFS_URL_USERINFO:
        return "the URL must not hold a user name or password";
    case PREFS_URL_BAD_HOST:
        return "the URL's host is not valid";
    case PREFS_URL_BAD_PORT:
        return "the URL's port is not valid";
    case PREFS_URL_BAD_PATH:
        return "the URL's path holds a character that must be escaped";
    case PREFS_URL_FRAGMENT:
        return "the URL must not hold a fragment";
    case PREFS_URL_NUMERIC_HOST:
        return "the URL's host reads as a number: write an address "
               "as a dotted quad";
    }

    return "the URL is not valid";
}

