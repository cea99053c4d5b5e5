
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_B64_H_INCLUDED_
#define _PREFS_B64_H_INCLUDED_


/*
 * Strict RFC 4648 base64 and base64url.  Decoding accepts exactly one
 * spelling of each byte string, so a value can be compared or stored as
 * sent: no whitespace, no missing or extra padding, no stray bits in the
 * last character.  Plain C, no nginx types.
 */


#include <stddef.h>


#define PREFS_B64_STD        0    /* RFC 4648 section 4, always padded */
#define PREFS_B64_URL        1    /* RFC 4648 section 5, never padded */

#define PREFS_B64_BAD       -1    /* not canonical in the alphabet */
#define PREFS_B64_NO_SPACE  -2    /* the output buffer is too small */


/* characters an encoding of len bytes takes, without the final NUL */
size_t prefs_b64_encoded_len(size_t len, int variant);

/* the most bytes a len-character encoding can decode to */
size_t prefs_b64_decoded_max(size_t len);

/*
 * Encodes src[0..len) into dst and NUL-terminates it; dst_size must be
 * at least prefs_b64_encoded_len() + 1.  Returns the length written
 * (without the NUL) or PREFS_B64_NO_SPACE.
 */
long prefs_b64_encode(const unsigned char *src, size_t len, char *dst,
    size_t dst_size, int variant);

/*
 * Decodes src[0..len) into dst; returns the number of bytes or
 * PREFS_B64_BAD / PREFS_B64_NO_SPACE.  dst holds garbage on failure.
 */
long prefs_b64_decode(const char *src, size_t len, unsigned char *dst,
    size_t dst_size, int variant);


#endif /* _PREFS_B64_H_INCLUDED_ */
