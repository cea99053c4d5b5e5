
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_URL_H_INCLUDED_
#define _PREFS_URL_H_INCLUDED_


/*
 * Absolute http and https URLs as webhook destinations: scheme, host (a
 * name, a dotted-quad IPv4 address or a bracketed IPv6 address), port and
 * the request target (path and query).  Strict on purpose: no userinfo,
 * no fragment, no zone ids, no spaces, control bytes or raw non-ASCII,
 * and no names that some resolver could take for a number ("127.1",
 * "0x7f.0.0.1", "2130706433").  Plain C, no nginx types.
 */


#include <stddef.h>


#define PREFS_URL_MAX_LEN        2048
#define PREFS_URL_MAX_HOST       253

#define PREFS_URL_HOST_NAME      0
#define PREFS_URL_HOST_IPV4      4
#define PREFS_URL_HOST_IPV6      6

#define PREFS_URL_OK             0
#define PREFS_URL_TOO_LONG      -1
#define PREFS_URL_BAD_SCHEME    -2    /* neither http:// nor https:// */
#define PREFS_URL_USERINFO      -3    /* "user:pass@" in the authority */
#define PREFS_URL_BAD_HOST      -4
#define PREFS_URL_BAD_PORT      -5
#define PREFS_URL_BAD_PATH      -6    /* a byte that must be escaped */
#define PREFS_URL_FRAGMENT      -7
#define PREFS_URL_NUMERIC_HOST  -8    /* a name that reads as a number */


typedef struct {
    int              https;
    int              host_type;           /* PREFS_URL_HOST_* */
    char             host[PREFS_URL_MAX_HOST + 1];  /* lowercase, no [] */
    size_t           host_len;
    unsigned char    addr[16];            /* the address of an IP host */
    unsigned         port;
    int              port_explicit;
    const char      *target;              /* path and query, in the input;
                                             "?q": send "/" before it */
    size_t           target_len;          /* "/" when the URL has none */
} prefs_url_t;


int prefs_url_parse(const char *s, size_t len, prefs_url_t *u);
const char *prefs_url_strerror(int rc);

/* strict dotted quad: four decimal octets without leading zeros */
int prefs_url_ipv4_parse(const char *s, size_t len, unsigned char *addr);


#endif /* _PREFS_URL_H_INCLUDED_ */
