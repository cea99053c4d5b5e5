
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdint.h>

#include "prefs_b64.h"


/*
 * The character mapping is done with masks rather than a table: the
 * same code encodes fresh tokens and decodes key files and sealed
 * secrets, and a table indexed by secret bytes leaks them through the
 * cache.  Branches below depend only on lengths and on the variant.
 */


/* 0xff if lo <= c <= hi, else 0; c, lo, hi are all below 256 */

static unsigned
prefs_b64_in(unsigned c, unsigned lo, unsigned hi)
{
    return (((lo - 1 - c) & (c - hi - 1)) >> 8) & 0xff;
}


static unsigned
prefs_b64_char(unsigned v, int variant)
{
    unsigned  c62, c63;

    c62 = (variant == PREFS_B64_URL) ? '-' : '+';
    c63 = (variant == PREFS_B64_URL) ? '_' : '/';

    return (prefs_b64_in(v, 0, 25) & (v + 'A'))
           | (prefs_b64_in(v, 26, 51) & (v - 26 + 'a'))
           | (prefs_b64_in(v, 52, 61) & (v - 52 + '0'))
           | (prefs_b64_in(v, 62, 62) & c62)
           | (prefs_b64_in(v, 63, 63) & c63);
}


/* the 6-bit value of c, or a value with bit 8 set if c is not in the set */

static unsigned
prefs_b64_value(unsigned char ch, int variant)
{
    unsigned  c, c62, c63, m, v;

    c = ch;
    c62 = (variant == PREFS_B64_URL) ? '-' : '+';
    c63 = (variant == PREFS_B64_URL) ? '_' : '/';

    v = 0;
    m = prefs_b64_in(c, 'A', 'Z');
    v |= m & (c - 'A');
    v |= prefs_b64_in(c, 'a', 'z') & (c - 'a' + 26);
    m |= prefs_b64_in(c, 'a', 'z');
    v |= prefs_b64_in(c, '0', '9') & (c - '0' + 52);
    m |= prefs_b64_in(c, '0', '9');
    v |= prefs_b64_in(c, c62, c62) & 62;
    m |= prefs_b64_in(c, c62, c62);
    v |= prefs_b64_in(c, c63, c63) & 63;
    m |= prefs_b64_in(c, c63, c63);

    return (v & 0x3f) | ((~m & 0xff) << 1 & 0x100);
}


size_t
prefs_b64_encoded_len(size_t len, int variant)
{
    if (len > (SIZE_MAX - 4) / 4 * 3) {
        return SIZE_MAX;
    }

    if (variant == PREFS_B64_URL) {
        return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    }

    return (len + 2) / 3 * 4;
}


size_t
prefs_b64_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}


long
prefs_b64_encode(const unsigned char *src, size_t len, char *dst,
    size_t dst_size, int variant)
{
    size_t         i, need;
    unsigned long  acc;
    char          *p;

    need = prefs_b64_encoded_len(len, variant);

    if (need == SIZE_MAX || dst_size <= need) {
        return PREFS_B64_NO_SPACE;
    }

    p = dst;

    for (i = 0; i + 3 <= len; i += 3) {
        acc = (unsigned long) src[i] << 16 | (unsigned long) src[i + 1] << 8
              | src[i + 2];

        *p++ = (char) prefs_b64_char(acc >> 18 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc >> 12 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc >> 6 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc & 0x3f, variant);
    }

    if (len - i == 1) {
        acc = (unsigned long) src[i] << 16;

        *p++ = (char) prefs_b64_char(acc >> 18 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc >> 12 & 0x3f, variant);

        if (variant != PREFS_B64_URL) {
            *p++ = '=';
            *p++ = '=';
        }

    } else if (len - i == 2) {
        acc = (unsigned long) src[i] << 16 | (unsigned long) src[i + 1] << 8;

        *p++ = (char) prefs_b64_char(acc >> 18 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc >> 12 & 0x3f, variant);
        *p++ = (char) prefs_b64_char(acc >> 6 & 0x3f, variant);

        if (variant != PREFS_B64_URL) {
            *p++ = '=';
        }
    }

    *p = '\0';

    return (long) (p - dst);
}


long
prefs_b64_decode(const char *src, size_t len, unsigned char *dst,
    size_t dst_size, int variant)
{
    size_t          i, k, rem, n;
    unsigned        v, bad;
    unsigned long   acc;
    unsigned char  *p;

    if (variant == PREFS_B64_URL) {
        if (len % 4 == 1) {
            return PREFS_B64_BAD;
        }

    } else {
        if (len % 4 != 0) {
            return PREFS_B64_BAD;
        }

        /* at most two "=", only at the end; any other "=" is bad below */

        if (len > 0 && src[len - 1] == '=') {
            len--;

            if (src[len - 1] == '=') {
                len--;
            }
        }
    }

    rem = len % 4;

    if (rem == 1) {
        return PREFS_B64_BAD;
    }

    n = len / 4 * 3 + (rem ? rem - 1 : 0);

    if (n > dst_size) {
        return PREFS_B64_NO_SPACE;
    }

    p = dst;
    bad = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        acc = 0;

        for (k = 0; k < 4; k++) {
            v = prefs_b64_value((unsigned char) src[i + k], variant);
            bad |= v;
            acc = acc << 6 | (v & 0x3f);
        }

        *p++ = (unsigned char) (acc >> 16);
        *p++ = (unsigned char) (acc >> 8 & 0xff);
        *p++ = (unsigned char) (acc & 0xff);
    }

    if (rem) {
        acc = 0;

        for (k = 0; k < rem; k++) {
            v = prefs_b64_value((unsigned char) src[i + k], variant);
            bad |= v;
            acc = acc << 6 | (v & 0x3f);
        }

        /*
         * The bits past the last whole byte must be zero: otherwise
         * several spellings would decode to the same bytes.
         */

        if (rem == 2) {
            bad |= (unsigned) (acc & 0x0f) << 8;
            *p++ = (unsigned char) (acc >> 4);

        } else {
            bad |= (unsigned) (acc & 0x03) << 8;
            *p++ = (unsigned char) (acc >> 10);
            *p++ = (unsigned char) (acc >> 2 & 0xff);
        }
    }

    if (bad & ~0x3fu) {
        return PREFS_B64_BAD;
    }

    return (long) (p - dst);
}
