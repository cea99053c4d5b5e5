
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for webhook destination URLs: prefs_url_parse() on
 * an exact-size copy, then what the client relies on: a host that is a
 * clean lowercase name or a literal that round-trips, a port in range,
 * a request target inside the input without bytes that would break a
 * request line.  The CIDR parser gets the same input.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_url.h"
#include "prefs_netpolicy.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     rc, family;
    char                   *copy, text[64];
    size_t                  i;
    prefs_url_t             u;
    prefs_netpolicy_cidr_t  cidr;

    copy = fuzz_copy(data, size);

    rc = prefs_url_parse(copy, size, &u);

    check(prefs_url_strerror(rc) != NULL);

    if (rc == PREFS_URL_OK) {
        check(size <= PREFS_URL_MAX_LEN);
        check(u.port >= 1 && u.port <= 65535);
        check(u.host_len > 0 && u.host_len <= PREFS_URL_MAX_HOST);
        check(u.host[u.host_len] == '\0' && strlen(u.host) == u.host_len);

        for (i = 0; i < u.host_len; i++) {
            check(u.host[i] > 0x20 && u.host[i] < 0x7f);
            check(!(u.host[i] >= 'A' && u.host[i] <= 'Z'));
            check(u.host[i] != '/' && u.host[i] != '@' && u.host[i] != '#');
        }

        check(u.target_len > 0);
        check((u.target_len == 1 && u.target[0] == '/')
              || (u.target >= copy && u.target + u.target_len
                                      == copy + size));
        check(u.target[0] == '/' || u.target[0] == '?');

        for (i = 0; i < u.target_len; i++) {
            check((unsigned char) u.target[i] > 0x20
                  && (unsigned char) u.target[i] < 0x7f
                  && u.target[i] != '#');
        }

        if (u.host_type != PREFS_URL_HOST_NAME) {
            family = u.host_type == PREFS_URL_HOST_IPV4 ? 4 : 6;
            prefs_netpolicy_ip_text(family, u.addr, text, sizeof(text));
            check(text[0] != '\0');
            (void) prefs_netpolicy_ip_is_global(family, u.addr);
        }
    }

    if (prefs_netpolicy_cidr_parse(copy, size, &cidr) == 0) {
        check(cidr.family == 4 || cidr.family == 6);
        check(cidr.prefix <= (cidr.family == 4 ? 32u : 128u));
        check(prefs_netpolicy_cidr_match(&cidr, cidr.family, cidr.addr));
    }

    free(copy);

    return 0;
}
