
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_IDEM_H_INCLUDED_
#define _PREFS_IDEM_H_INCLUDED_


/*
 * Idempotency-Key: the key a client sends with a create, and the
 * fingerprint of the request it names.  Plain C.
 */


#include <stddef.h>


#define PREFS_IDEM_KEY_MAX  255


/*
 * The key of a header value: the value as sent, or the string of an
 * RFC 8941 sf-string ("..." with \" and \\ escapes).  A key is 1 to
 * PREFS_IDEM_KEY_MAX printable ASCII characters (0x20-0x7e).  Returns its
 * length (out is NUL-terminated, out_size > PREFS_IDEM_KEY_MAX), or -1.
 */
long prefs_idem_key(const char *v, size_t len, char *out, size_t out_size);

/*
 * "<method> <route> <SHA-256 of the body, hex>" into out (NUL-terminated).
 * Returns its length, or -1 when out is too small.
 */
long prefs_idem_fingerprint(const char *method, size_t method_len,
    const char *route, size_t route_len, const void *body, size_t body_len,
    char *out, size_t out_size);


#endif /* _PREFS_IDEM_H_INCLUDED_ */
