
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>

#include "prefs_path.h"


int
prefs_path_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


long
prefs_path_percent_decode(const char *src, size_t len, char *dst,
    int plus_is_space)
{
    int            hi, lo;
    size_t         i;
    unsigned char  c;
    char          *p;

    p = dst;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c == '%') {
            if (len - i < 3) {
                return PREFS_PATH_BAD_ESCAPE;
            }

            hi = prefs_path_hex((unsigned char) src[i + 1]);
            lo = prefs_path_hex((unsigned char) src[i + 2]);

            if (hi < 0 || lo < 0) {
                return PREFS_PATH_BAD_ESCAPE;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 2;

        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }

        if (c < 0x20 || c == 0x7f) {
            return PREFS_PATH_NUL;
        }

        *p++ = (char) c;
    }

    if (!prefs_path_utf8_valid(dst, (size_t) (p - dst))) {
        return PREFS_PATH_BAD_UTF8;
    }

    return (long) (p - dst);
}


static int prefs_path_split_internal(const char *path, size_t len,
    char *buf, prefs_path_t *out, int decode);
static long prefs_path_copy(const char *src, size_t len, char *dst);


int
prefs_path_split(const char *path, size_t len, char *buf, prefs_path_t *out)
{
    return prefs_path_split_internal(path, len, buf, out, 1);
}


int
prefs_path_split_decoded(const char *path, size_t len, char *buf,
    prefs_path_t *out)
{
    return prefs_path_split_internal(path, len, buf, out, 0);
}


static long
prefs_path_copy(const char *src, size_t len, char *dst)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c < 0x20 || c == 0x7f) {
            return PREFS_PATH_NUL;
        }

        dst[i] = (char) c;
    }

    if (!prefs_path_utf8_valid(dst, len)) {
        return PREFS_PATH_BAD_UTF8;
    }

    return (long) len;
}


static int
prefs_path_split_internal(const char *path, size_t len, char *buf,
    prefs_path_t *out, int decode)
{
    long         n;
    size_t       i, start;
    char        *p;

    out->n = 0;
    p = buf;
    start = 0;

    for (i = 0; i <= len; i++) {

        if (i < len && path[i] != '/') {
            continue;
        }

        if (i > start) {
            if (out->n == PREFS_PATH_MAX_SEGMENTS) {
                return PREFS_PATH_TOO_MANY;
            }

            n = decode
                ? prefs_path_percent_decode(path + start, i - start, p, 0)
                : prefs_path_copy(path + start, i - start, p);
            if (n < 0) {
                return (int) n;
            }

            if ((n == 1 && p[0] == '.')
                || (n == 2 && p[0] == '.' && p[1] == '.'))
            {
                return PREFS_PATH_DOT;
            }

            p[n] = '\0';
            out->seg[out->n].data = p;
            out->seg[out->n].len = (size_t) n;
            out->n++;
            p += n + 1;
        }

        start = i + 1;
    }

    return PREFS_PATH_OK;
}


/* RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF */

int
prefs_path_utf8_valid(const char *s, size_t len)
{
    size_t         i, n, k;
    unsigned int   cp;
    unsigned char  c;

    i = 0;

    while (i < len) {
        c = (unsigned char) s[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;

        } else {
            return 0;
        }

        if (len - i <= n) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            c = (unsigned char) s[i + k];

            if ((c & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (c & 0x3f);
        }

        if ((n == 2 && cp < 0x800)
            || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}


const char *
prefs_path_strerror(int rc)
{
    switch (rc) {
    case PREFS_PATH_OK:
        return "ok";
    case PREFS_PATH_BAD_ESCAPE:
        return "a percent sign is not followed by two hexadecimal digits";
    case PREFS_PATH_NUL:
        return "a control character is encoded in the path";
    case PREFS_PATH_TOO_MANY:
        return "the path has too many segments";
    case PREFS_PATH_BAD_UTF8:
        return "the path is not valid UTF-8";
    case PREFS_PATH_DOT:
        return "the path has a \".\" or \"..\" segment";
    default:
        return "the path is invalid";
    }
}
