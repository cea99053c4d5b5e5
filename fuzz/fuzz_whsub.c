
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for webhook subscription bodies, settings and URLs.
 * The input is checked as a URL (both with and without plain http), and,
 * when it is JSON, as a subscription body (create and update) and as a
 * settings body.  Beyond the sanitizers it checks properties: a URL that
 * passes is normalized to a fixed point of the same length and is one the
 * webhook client's parser accepts too; http passes only when allowed; a body that passes normalizes to one that passes
 * again and normalizes to itself.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prefs_json.h"
#include "prefs_url.h"
#include "prefs_whsub.h"
#include "fuzz.h"


static void
fuzz_url(const char *s, size_t len)
{
    int           rc, rc_http, rc_addr;
    char          msg[256], norm[PREFS_WHSUB_URL_MAX + 1];
    char          again[PREFS_WHSUB_URL_MAX + 1];
    prefs_url_t   u;

    if (len > PREFS_WHSUB_URL_MAX) {
        check(prefs_whsub_check_url(s, len, 1, norm, sizeof(norm), msg,
                                    sizeof(msg))
              == -1);
        return;
    }

    rc = prefs_whsub_check_url(s, len, 0, norm, sizeof(norm), msg,
                               sizeof(msg));
    rc_http = prefs_whsub_check_url(s, len, 1, again, sizeof(again), msg,
                                    sizeof(msg));

    /* allowing http only ever adds */
    check(rc != 0 || rc_http == 0);

    if (rc_http != 0) {
        return;
    }

    check(strlen(again) == len);

    /* the API accepts no URL the client would refuse to call */
    check(prefs_url_parse(s, len, &u) == PREFS_URL_OK);
    check(prefs_url_parse(again, len, &u) == PREFS_URL_OK);

    /* the address policy at the API: a name always passes, an address
       exactly when the client's policy allows it */
    rc_addr = prefs_whsub_check_address(again, len, NULL, 0, msg,
                                        sizeof(msg));
    check(rc_addr == 0 || rc_addr == -1);
    check(u.host_type != PREFS_URL_HOST_NAME || rc_addr == 0);
    check(u.host_type == PREFS_URL_HOST_NAME
          || (rc_addr == 0) == prefs_netpolicy_ip_allowed(
                              u.host_type == PREFS_URL_HOST_IPV4 ? 4 : 6,
                              u.addr, NULL, 0));
    check(memchr(s, '#', len) == NULL && memchr(s, ' ', len) == NULL);
    check(strncasecmp(s, "http", 4) == 0);

    if (rc == 0) {
        check(strncasecmp(s, "https://", 8) == 0);
        check(strcmp(norm, again) == 0);
    }

    /* the normalized URL is its own normal form */
    check(prefs_whsub_check_url(again, len, 1, norm, sizeof(norm), msg,
                                sizeof(msg))
          == 0);
    check(strcmp(norm, again) == 0);
}


static void
fuzz_body(json_t *body, int mode, int allow_http)
{
    int      rc;
    char     msg[512], *d1, *d2;
    json_t  *out, *out2;

    rc = prefs_whsub_validate(body, mode, allow_http, &out, msg,
                              sizeof(msg));

    if (rc != 0) {
        check(out == NULL && msg[0] != '\0');
        return;
    }

    check(json_is_object(out));

    rc = prefs_whsub_validate(out, mode, allow_http, &out2, msg,
                              sizeof(msg));
    check(rc == 0);

    d1 = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    d2 = json_dumps(out2, JSON_COMPACT | JSON_SORT_KEYS);
    check(d1 && d2 && strcmp(d1, d2) == 0);

    free(d1);
    free(d2);
    json_decref(out);
    json_decref(out2);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char          msg[512];
    json_t       *body, *out;
    json_error_t  err;

    fuzz_url((const char *) data, size);

    body = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                      &err);
    if (body == NULL) {
        return 0;
    }

    fuzz_body(body, PREFS_JSON_CREATE, 0);
    fuzz_body(body, PREFS_JSON_UPDATE, 1);

    if (prefs_whsub_settings(body, &out, msg, sizeof(msg)) == 0) {
        check(json_is_object(out));
        json_decref(out);
    }

    json_decref(body);

    return 0;
}
