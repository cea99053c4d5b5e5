
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_SEAL_H_INCLUDED_
#define _PREFS_SEAL_H_INCLUDED_


/*
 * Secrets sealed with AES-256-GCM under the module's key.  Plain C, no
 * nginx types.
 */


#include <stddef.h>

#include "prefs_auth.h"


/* sealed secret: version byte, nonce, ciphertext, tag; then base64 */
#define PREFS_SECRET_VERSION       0x01
#define PREFS_SECRET_NONCE         12
#define PREFS_SECRET_TAG           16
#define PREFS_SECRET_OVERHEAD      (1 + PREFS_SECRET_NONCE + PREFS_SECRET_TAG)
#define PREFS_SECRET_MAX           1024
#define PREFS_SECRET_B64_SIZE(n)                                              \
    (((n) + PREFS_SECRET_OVERHEAD + 2) / 3 * 4 + 1)


/*
 * AES-256-GCM with a random 12-byte nonce; out_b64 gets the padded
 * base64 of 0x01 | nonce | ciphertext | tag(16), NUL-terminated, and
 * needs PREFS_SECRET_B64_SIZE(len) bytes.  The associated data is the
 * version byte followed by "ngx_prefs secret v1", so a tool that seals
 * with any GCM library uses AAD "\x01ngx_prefs secret v1".  At most
 * PREFS_SECRET_MAX bytes are sealed.
 */
int prefs_seal_secret(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const unsigned char *plain, size_t len, char *out_b64, size_t out_size);

/*
 * Opens what prefs_seal_secret() made.  PREFS_AUTH_SEALED_BAD if the
 * text was altered, sealed with another key or is not ours;
 * PREFS_AUTH_ERROR if plain_size is too small.  plain is wiped on
 * failure.
 */
int prefs_seal_open(const unsigned char key[PREFS_AUTH_KEY_LEN],
    const char *b64, size_t len, unsigned char *plain, size_t plain_size,
    size_t *plain_len);


#endif /* _PREFS_SEAL_H_INCLUDED_ */
