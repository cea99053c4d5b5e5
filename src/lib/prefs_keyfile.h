
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_KEYFILE_H_INCLUDED_
#define _PREFS_KEYFILE_H_INCLUDED_


/* the prefs_secret_key file.  Plain C, no nginx types. */


#include <stddef.h>

#include "prefs_auth.h"


/*
 * Reads a 32-byte key written as 64 hex digits, as padded base64 or as
 * unpadded base64url, optionally followed by whitespace.  Returns
 * PREFS_AUTH_OK, PREFS_AUTH_KEY_LOOSE (loaded, with a warning in err) or
 * PREFS_AUTH_KEY_BAD (err says why).
 */
int prefs_keyfile_load(const char *path, unsigned char key[PREFS_AUTH_KEY_LEN],
    char *err, size_t err_size);


#endif /* _PREFS_KEYFILE_H_INCLUDED_ */
