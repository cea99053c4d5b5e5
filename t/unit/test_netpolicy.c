
/*
 * Copyright (C) ngx_prefs authors
 */


#include <arpa/inet.h>

#include "unit.h"
#include "prefs_netpolicy.h"


static int
global(const char *text)
{
    unsigned char  a[16];

    if (strchr(text, ':')) {
        if (inet_pton(AF_INET6, text, a) != 1) {
            return -1;
        }

        return prefs_netpolicy_ip_is_global(6, a);
    }

    if (inet_pton(AF_INET, text, a) != 1) {
        return -1;
    }

    return prefs_netpolicy_ip_is_global(4, a);
}


static int
allowed(const char *text, const prefs_netpolicy_cidr_t *allow, size_t n)
{
    int            family;
    unsigned char  a[16];

    family = strchr(text, ':') ? 6 : 4;
    inet_pton(family == 6 ? AF_INET6 : AF_INET, text, a);

    return prefs_netpolicy_ip_allowed(family, a, allow, n);
}


static int
cidr(const char *s, prefs_netpolicy_cidr_t *c)
{
    return prefs_netpolicy_cidr_parse(s, strlen(s), c);
}


int
main(void)
{
    size_t                  i;
    char                    buf[64];
    prefs_netpolicy_cidr_t  c, allow[2];
    unsigned char           a[16];

    static const char  *refused[] = {
        "0.0.0.0", "0.255.255.255", "10.0.0.1", "10.255.255.255",
        "100.64.0.1", "100.127.255.255", "127.0.0.1", "127.255.255.254",
        "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.1",
        "192.0.0.170", "192.0.2.1", "192.88.99.1", "192.168.1.1",
        "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255",
        "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
        "64:ff9b::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b:1::1", "100::1",
        "2001::1", "2001:0:4136:e378::1", "2001:2::1", "2001:1ff::1",
        "2001:db8::1", "2001:db8:ffff::1", "2002:a00:1::1", "2002:7f00:1::",
        "3fff::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1",
        "ff02::1", "ff0e::1", "5f00::1", "::2",
    };

    static const char  *accepted[] = {
        "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255",
        "100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.0.1",
        "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.88.98.1",
        "192.167.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0",
        "203.0.114.1", "223.255.255.255", "2606:4700::1111",
        "2a00:1450:4001::200e", "2001:200::1", "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8", "2002:808:808::1", "3ffe::1",
    };

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        is_int(global(refused[i]), 0, "%s is not global", refused[i]);
    }

    for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        is_int(global(accepted[i]), 1, "%s is global", accepted[i]);
    }

    ok(cidr("127.0.0.0/8", &c) == 0 && c.family == 4 && c.prefix == 8,
       "127.0.0.0/8 parses");
    ok(cidr("127.1.2.3/8", &c) == 0 && c.addr[1] == 0 && c.addr[3] == 0,
       "host bits are cleared");
    ok(cidr("10.1.2.3", &c) == 0 && c.prefix == 32, "a bare IPv4 is a /32");
    ok(cidr("::1", &c) == 0 && c.family == 6 && c.prefix == 128,
       "a bare IPv6 is a /128");
    ok(cidr("fd00::/8", &c) == 0 && c.prefix == 8, "fd00::/8 parses");
    ok(cidr("0.0.0.0/0", &c) == 0 && c.prefix == 0, "0.0.0.0/0 parses");
    ok(cidr("10.0.0.0/33", &c) == -1, "/33 is refused for IPv4");
    ok(cidr("::/129", &c) == -1, "/129 is refused for IPv6");
    ok(cidr("10.0.0.0/", &c) == -1, "an empty prefix is refused");
    ok(cidr("10.0.0.0/08", &c) == -1, "a zero-led prefix is refused");
    ok(cidr("10.0.0.0/x", &c) == -1, "a word prefix is refused");
    ok(cidr("localhost", &c) == -1, "a name is refused");
    ok(cidr("10.0.0/8", &c) == -1, "three octets are refused");
    ok(cidr("/8", &c) == -1, "no address is refused");

    cidr("127.0.0.0/8", &allow[0]);
    cidr("fd00::/8", &allow[1]);

    ok(allowed("127.0.0.1", allow, 2), "127.0.0.1 is allowed by 127/8");
    ok(allowed("::ffff:127.0.0.2", allow, 2), "and mapped into IPv6");
    ok(!allowed("10.0.0.1", allow, 2), "10.0.0.1 is not");
    ok(allowed("fd01::5", allow, 2), "fd01::5 is allowed by fd00::/8");
    ok(!allowed("fe80::1", allow, 2), "fe80::1 is not");
    ok(!allowed("::1", allow, 2), "::1 is not");
    ok(allowed("8.8.8.8", allow, 0), "a global address needs no range");
    ok(!allowed("127.0.0.1", allow, 0), "loopback without a range");

    cidr("0.0.0.0/0", &c);
    inet_pton(AF_INET, "192.168.9.9", a);
    ok(prefs_netpolicy_cidr_match(&c, 4, a),
       "0.0.0.0/0 matches everything IPv4");
    inet_pton(AF_INET6, "fe80::1", a);
    ok(!prefs_netpolicy_cidr_match(&c, 6, a), "but no IPv6");

    inet_pton(AF_INET6, "2001:db8::5", a);
    is_str(prefs_netpolicy_ip_text(6, a, buf, sizeof(buf)), "2001:db8::5",
           "ip text");

    return unit_done();
}
