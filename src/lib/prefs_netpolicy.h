
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_NETPOLICY_H_INCLUDED_
#define _PREFS_NETPOLICY_H_INCLUDED_


/*
 * Which addresses a webhook may be sent to: globally reachable ones (the
 * RFC 6890 special-purpose registries, IANA's "Globally Reachable"
 * column, judged conservatively), and those inside an operator's allow
 * list of CIDR ranges.  Addresses are raw bytes in network order: 4 for
 * IPv4, 16 for IPv6.  Plain C, no nginx types.
 */


#include <stddef.h>


typedef struct {
    int              family;          /* 4 or 6 */
    unsigned char    addr[16];        /* host bits cleared */
    unsigned         prefix;
} prefs_netpolicy_cidr_t;


/* 1 when globally reachable; IPv4-mapped and NAT64 addresses by their IPv4 */
int prefs_netpolicy_ip_is_global(int family, const unsigned char *addr);

/*
 * "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).  Bits past
 * the prefix are cleared.  Returns 0, or -1 when it is not a CIDR range.
 */
int prefs_netpolicy_cidr_parse(const char *s, size_t len,
    prefs_netpolicy_cidr_t *cidr);

/* 1 when the address is inside the range (an IPv4-mapped one by its IPv4) */
int prefs_netpolicy_cidr_match(const prefs_netpolicy_cidr_t *cidr, int family,
    const unsigned char *addr);

/* the destination policy: global, or inside one of the allowed ranges */
int prefs_netpolicy_ip_allowed(int family, const unsigned char *addr,
    const prefs_netpolicy_cidr_t *allow, size_t nallow);

/* writes the address as text (at least 46 bytes); returns buf */
char *prefs_netpolicy_ip_text(int family, const unsigned char *addr, char *buf,
    size_t size);


#endif /* _PREFS_NETPOLICY_H_INCLUDED_ */
