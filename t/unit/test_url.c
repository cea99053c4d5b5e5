
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_url.h"


static int
parse(const char *s, prefs_url_t *u)
{
    int     rc;
    char   *copy;
    size_t  len;

    /* an exact-size copy, so ASan sees a read past the end */
    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    rc = prefs_url_parse(copy, len, u);

    if (rc == PREFS_URL_OK && u->target != NULL
        && u->target >= copy && u->target < copy + len)
    {
        /* point into the original for the caller's checks */
        u->target = s + (u->target - copy);
    }

    free(copy);

    return rc;
}


static void
good(const char *s, int https, int type, const char *host, unsigned port,
    const char *target)
{
    int          rc;
    char         t[PREFS_URL_MAX_LEN + 1];
    prefs_url_t  u;

    rc = parse(s, &u);
    is_int(rc, PREFS_URL_OK, "%s parses", s);

    if (rc != PREFS_URL_OK) {
        return;
    }

    memcpy(t, u.target, u.target_len);
    t[u.target_len] = '\0';

    is_int(u.https, https, "%s: scheme", s);
    is_int(u.host_type, type, "%s: host type", s);
    is_str(u.host, host, "%s: host", s);
    is_int(u.port, port, "%s: port", s);
    is_str(t, target, "%s: target", s);
}


static void
bad(const char *s, int want)
{
    prefs_url_t  u;

    is_int(parse(s, &u), want, "%s is refused", s);
}


int
main(void)
{
    int          i;
    char         long_url[PREFS_URL_MAX_LEN + 16];
    prefs_url_t  u;

    good("https://example.com", 1, PREFS_URL_HOST_NAME, "example.com", 443,
         "/");
    good("http://Example.COM./hook?a=1&b=%2F", 0, PREFS_URL_HOST_NAME,
         "example.com", 80, "/hook?a=1&b=%2F");
    good("HTTPS://hooks.example.com:8443/x", 1, PREFS_URL_HOST_NAME,
         "hooks.example.com", 8443, "/x");
    good("http://127.0.0.1:1980/in", 0, PREFS_URL_HOST_IPV4, "127.0.0.1",
         1980, "/in");
    good("https://[::1]/", 1, PREFS_URL_HOST_IPV6, "::1", 443, "/");
    good("https://[2001:DB8::1]:444/p", 1, PREFS_URL_HOST_IPV6, "2001:db8::1",
         444, "/p");
    good("https://[::ffff:10.0.0.1]/", 1, PREFS_URL_HOST_IPV6,
         "::ffff:10.0.0.1", 443, "/");
    good("http://h?q=1", 0, PREFS_URL_HOST_NAME, "h", 80, "?q=1");
    good("http://a-b_c.1x/", 0, PREFS_URL_HOST_NAME, "a-b_c.1x", 80, "/");

    parse("http://10.1.2.3/", &u);
    ok(u.addr[0] == 10 && u.addr[1] == 1 && u.addr[2] == 2 && u.addr[3] == 3,
       "the IPv4 address is in addr");
    parse("http://[::1]/", &u);
    ok(u.addr[15] == 1 && u.addr[0] == 0, "the IPv6 address is in addr");
    ok(!parse("https://h:443/", &u) && u.port_explicit,
       "an explicit port is flagged");

    bad("ftp://example.com/", PREFS_URL_BAD_SCHEME);
    bad("example.com/hook", PREFS_URL_BAD_SCHEME);
    bad("https:/example.com", PREFS_URL_BAD_SCHEME);
    bad("https://user:pw@example.com/", PREFS_URL_USERINFO);
    bad("https://example.com@evil.com/", PREFS_URL_USERINFO);
    bad("https://example.com/#frag", PREFS_URL_FRAGMENT);
    bad("https://example.com#frag", PREFS_URL_FRAGMENT);
    bad("https:///path", PREFS_URL_BAD_HOST);
    bad("https://", PREFS_URL_BAD_HOST);
    bad("https://exa mple.com/", PREFS_URL_BAD_HOST);
    bad("https://example..com/", PREFS_URL_BAD_HOST);
    bad("https://ex\\ample.com/", PREFS_URL_BAD_HOST);
    bad("https://[::1/", PREFS_URL_BAD_HOST);
    bad("https://[fe80::1%25eth0]/", PREFS_URL_BAD_HOST);
    bad("https://[::1]x/", PREFS_URL_BAD_HOST);
    bad("https://[1.2.3.4]/", PREFS_URL_BAD_HOST);
    bad("https://exämple.com/", PREFS_URL_BAD_HOST);
    bad("https://example.com:/", PREFS_URL_BAD_PORT);
    bad("https://example.com:0/", PREFS_URL_BAD_PORT);
    bad("https://example.com:65536/", PREFS_URL_BAD_PORT);
    bad("https://example.com:123456/", PREFS_URL_BAD_PORT);
    bad("https://example.com:-1/", PREFS_URL_BAD_PORT);
    bad("https://example.com:80:80/", PREFS_URL_BAD_PORT);
    bad("https://example.com/a b", PREFS_URL_BAD_PATH);
    bad("https://example.com/a\r\nHost: x", PREFS_URL_BAD_PATH);
    bad("https://example.com/a\tb", PREFS_URL_BAD_PATH);
    bad("https://example.com/%zz", PREFS_URL_BAD_PATH);
    bad("https://example.com/%4", PREFS_URL_BAD_PATH);
    bad("https://example.com/\xc3\xa9", PREFS_URL_BAD_PATH);
    bad("http://127.1/", PREFS_URL_NUMERIC_HOST);
    bad("http://2130706433/", PREFS_URL_NUMERIC_HOST);
    bad("http://0x7f.0.0.1/", PREFS_URL_NUMERIC_HOST);
    bad("http://0x7f000001/", PREFS_URL_NUMERIC_HOST);
    bad("http://example.0x1/", PREFS_URL_NUMERIC_HOST);
    bad("http://1.2.3.04/", PREFS_URL_NUMERIC_HOST);
    bad("http://1.2.3.256/", PREFS_URL_NUMERIC_HOST);

    for (i = 0; i < PREFS_URL_MAX_LEN; i++) {
        long_url[i] = 'a';
    }

    memcpy(long_url, "https://e.com/", 14);
    long_url[PREFS_URL_MAX_LEN] = '\0';
    is_int(parse(long_url, &u), PREFS_URL_OK, "a URL at the length limit");
    long_url[PREFS_URL_MAX_LEN] = 'a';
    long_url[PREFS_URL_MAX_LEN + 1] = '\0';
    is_int(parse(long_url, &u), PREFS_URL_TOO_LONG, "one byte longer");

    {
        unsigned char  a[4];

        ok(prefs_url_ipv4_parse("0.0.0.0", 7, a) == 0, "0.0.0.0 is a quad");
        ok(prefs_url_ipv4_parse("1.2.3", 5, a) == -1, "three parts are not");
        ok(prefs_url_ipv4_parse("1.2.3.4.5", 9, a) == -1, "five parts are not");
        ok(prefs_url_ipv4_parse("1..3.4", 6, a) == -1, "an empty part is not");
    }

    ok(strlen(prefs_url_strerror(PREFS_URL_USERINFO)) > 0, "strerror");

    return unit_done();
}
