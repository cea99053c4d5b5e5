
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "prefs_netpolicy.h"
#include "prefs_url.h"


typedef struct {
    unsigned char    addr[16];
    unsigned         prefix;
} prefs_netpolicy_range_t;


/* RFC 6890 and successors: the IPv4 ranges that are not globally reachable */

static const prefs_netpolicy_range_t  prefs_netpolicy_ipv4_special[] = {
    { { 0, 0, 0, 0 }, 8 },              /* "this network" */
    { { 10, 0, 0, 0 }, 8 },             /* private */
    { { 100, 64, 0, 0 }, 10 },          /* shared address space (CGN) */
    { { 127, 0, 0, 0 }, 8 },            /* loopback */
    { { 169, 254, 0, 0 }, 16 },         /* link local */
    { { 172, 16, 0, 0 }, 12 },          /* private */
    { { 192, 0, 0, 0 }, 24 },           /* IETF protocol assignments */
    { { 192, 0, 2, 0 }, 24 },           /* TEST-NET-1 */
    { { 192, 88, 99, 0 }, 24 },         /* 6to4 relay anycast (deprecated) */
    { { 192, 168, 0, 0 }, 16 },         /* private */
    { { 198, 18, 0, 0 }, 15 },          /* benchmarking */
    { { 198, 51, 100, 0 }, 24 },        /* TEST-NET-2 */
    { { 203, 0, 113, 0 }, 24 },         /* TEST-NET-3 */
    { { 224, 0, 0, 0 }, 4 },            /* multicast */
    { { 240, 0, 0, 0 }, 4 },            /* reserved, and broadcast */
};


/*
 * IPv6: only 2000::/3 is global unicast, which leaves out ::, ::1, the
 * IPv4-compatible ::/96, 100::/64 (discard), fc00::/7 (unique local),
 * fe80::/10 (link local), ff00::/8 (multicast) and the rest of the
 * unassigned space; inside it, these are not global either.  2001::/23
 * holds a few global anycast services among Teredo, benchmarking and
 * ORCHID ranges: it is refused as a whole, no webhook needs them.
 */

static const prefs_netpolicy_range_t  prefs_netpolicy_ipv6_special[] = {
    { { 0x20, 0x01, 0x00, 0x00 }, 23 },         /* IETF protocol assignments */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32 },         /* documentation */
    { { 0x3f, 0xff, 0x00, 0x00 }, 20 },         /* documentation (RFC 9637) */
};


static int prefs_netpolicy_prefix_match(const unsigned char *a,
    const unsigned char *b, unsigned prefix);


static int
prefs_netpolicy_prefix_match(const unsigned char *a, const unsigned char *b,
    unsigned prefix)
{
    unsigned       bytes, bits;
    unsigned char  mask;

    bytes = prefix / 8;
    bits = prefix % 8;

    if (memcmp(a, b, bytes) != 0) {
        return 0;
    }

    if (bits == 0) {
        return 1;
    }

    mask = (unsigned char) (0xff << (8 - bits));

    return (a[bytes] & mask) == (b[bytes] & mask);
}


int
prefs_netpolicy_ip_is_global(int family, const unsigned char *addr)
{
    size_t  i;

    static const unsigned char  mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    static const unsigned char  nat64[12] = {
        0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
    };

    if (family == 4) {
        for (i = 0; i < sizeof(prefs_netpolicy_ipv4_special)
                        / sizeof(prefs_netpolicy_ipv4_special[0]); i++)
        {
            if (prefs_netpolicy_prefix_match(addr,
                    prefs_netpolicy_ipv4_special[i].addr,
                    prefs_netpolicy_ipv4_special[i].prefix))
            {
                return 0;
            }
        }

        return 1;
    }

    if (family != 6) {
        return 0;
    }

    /* ::ffff:a.b.c.d and 64:ff9b::a.b.c.d reach a.b.c.d */

    if (memcmp(addr, mapped, 12) == 0 || memcmp(addr, nat64, 12) == 0) {
        return prefs_netpolicy_ip_is_global(4, addr + 12);
    }

    /* 6to4 2002:a.b.c.d::/48 is a tunnel to a.b.c.d */

    if (addr[0] == 0x20 && addr[1] == 0x02) {
        return prefs_netpolicy_ip_is_global(4, addr + 2);
    }

    if ((addr[0] & 0xe0) != 0x20) {
        return 0;
    }

    for (i = 0; i < sizeof(prefs_netpolicy_ipv6_special)
                    / sizeof(prefs_netpolicy_ipv6_special[0]); i++)
    {
        if (prefs_netpolicy_prefix_match(addr,
                prefs_netpolicy_ipv6_special[i].addr,
                prefs_netpolicy_ipv6_special[i].prefix))
        {
            return 0;
        }
    }

    return 1;
}


int
prefs_netpolicy_cidr_parse(const char *s, size_t len,
    prefs_netpolicy_cidr_t *cidr)
{
    char      buf[64];
    size_t    i, alen;
    unsigned  prefix, max, bits;

    memset(cidr, 0, sizeof(prefs_netpolicy_cidr_t));

    for (alen = 0; alen < len && s[alen] != '/'; alen++) { /* void */ }

    if (alen == 0 || alen >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, s, alen);
    buf[alen] = '\0';

    if (prefs_url_ipv4_parse(buf, alen, cidr->addr) == 0) {
        cidr->family = 4;
        max = 32;

    } else if (memchr(buf, ':', alen) != NULL
               && inet_pton(AF_INET6, buf, cidr->addr) == 1)
    {
        cidr->family = 6;
        max = 128;

    } else {
        return -1;
    }

    prefix = max;

    if (alen < len) {
        if (len - alen < 2 || len - alen > 4) {
            return -1;
        }

        prefix = 0;

        for (i = alen + 1; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || (i > alen + 1 && prefix == 0)) {
                return -1;
            }

            prefix = prefix * 10 + (unsigned) (s[i] - '0');
        }

        if (prefix > max) {
            return -1;
        }
    }

    cidr->prefix = prefix;

    for (bits = 0; bits < max; bits++) {
        if (bits >= prefix) {
            cidr->addr[bits / 8] &= (unsigned char) ~(0x80 >> (bits % 8));
        }
    }

    return 0;
}


int
prefs_netpolicy_cidr_match(const prefs_netpolicy_cidr_t *cidr, int family,
    const unsigned char *addr)
{
    static const unsigned char  mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    if (family == 6 && cidr->family == 4 && memcmp(addr, mapped, 12) == 0) {
        family = 4;
        addr += 12;
    }

    if (family != cidr->family) {
        return 0;
    }

    return prefs_netpolicy_prefix_match(addr, cidr->addr, cidr->prefix);
}


int
prefs_netpolicy_ip_allowed(int family, const unsigned char *addr,
    const prefs_netpolicy_cidr_t *allow, size_t nallow)
{
    size_t  i;

    for (i = 0; i < nallow; i++) {
        if (prefs_netpolicy_cidr_match(&allow[i], family, addr)) {
            return 1;
        }
    }

    return prefs_netpolicy_ip_is_global(family, addr);
}


char *
prefs_netpolicy_ip_text(int family, const unsigned char *addr, char *buf,
    size_t size)
{
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf,
                  (socklen_t) size) == NULL)
    {
        buf[0] = '\0';
    }

    return buf;
}
