
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_CURSOR_H_INCLUDED_
#define _PREFS_CURSOR_H_INCLUDED_


/*
 * The Events API's opaque paging cursor: a position (txid, event_id) in
 * an account's commit-ordered event stream, signed for that account.
 *
 *   base64url( 0x01 | txid (8, big-endian) | event_id (8, big-endian)
 *              | first 16 bytes of HMAC-SHA256(key',
 *                    "prefs events cursor" | account (8) | the 17 bytes) )
 *
 * key' is HMAC-SHA256(server key, "prefs events cursor key"), so the
 * server key signs nothing else under the same name.  A cursor altered,
 * made up, or taken from another account (or another server key) does
 * not decode.  Plain C on OpenSSL, no nginx types.
 */


#include <stddef.h>
#include <stdint.h>


#define PREFS_CURSOR_KEY_LEN  32

/* 33 bytes: 44 base64url characters, and the NUL */
#define PREFS_CURSOR_LEN      44
#define PREFS_CURSOR_SIZE     (PREFS_CURSOR_LEN + 1)


/* writes the cursor and its NUL to out; 0, or -1 (out_size too small) */
int prefs_cursor_encode(const unsigned char key[PREFS_CURSOR_KEY_LEN],
    int64_t account, uint64_t txid, int64_t event_id, char *out,
    size_t out_size);

/*
 * 0 and the position, or -1 for anything that is not a cursor this key
 * made for this account (checked in constant time).
 */
int prefs_cursor_decode(const unsigned char key[PREFS_CURSOR_KEY_LEN],
    int64_t account, const char *in, size_t len, uint64_t *txid,
    int64_t *event_id);


#endif /* _PREFS_CURSOR_H_INCLUDED_ */
