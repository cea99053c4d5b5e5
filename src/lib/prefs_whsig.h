
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_WHSIG_H_INCLUDED_
#define _PREFS_WHSIG_H_INCLUDED_


/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): a
 * secret is "whsec_" followed by the base64 of its key; the signature of
 * a message is "v1," followed by the base64 of HMAC-SHA256(key,
 * msg_id "." timestamp "." body), the timestamp in decimal seconds.  A
 * message signed with several secrets (a rotation) carries the
 * signatures separated by spaces.  Plain C with OpenSSL's libcrypto.
 */


#include <stddef.h>
#include <time.h>


#define PREFS_WHSIG_PREFIX        "whsec_"
#define PREFS_WHSIG_KEY_MIN       16
#define PREFS_WHSIG_KEY_MAX       64
#define PREFS_WHSIG_KEY_DEFAULT   32
#define PREFS_WHSIG_SIG_LEN       47      /* "v1," + 44 base64 characters */
#define PREFS_WHSIG_SECRET_LEN    (6 + 44)   /* one of the default length */
#define PREFS_WHSIG_TOLERANCE     300

#define PREFS_WHSIG_OK             0
#define PREFS_WHSIG_BAD_SECRET    -1
#define PREFS_WHSIG_NO_SPACE      -2
#define PREFS_WHSIG_NO_MATCH      -3
#define PREFS_WHSIG_STALE         -4      /* outside the tolerance */
#define PREFS_WHSIG_ERROR         -5      /* OpenSSL failed */


/* decodes "whsec_..." into key (PREFS_WHSIG_KEY_MAX bytes); length or < 0 */
long prefs_whsig_secret_decode(const char *secret, size_t len,
    unsigned char *key);

/* a fresh random secret of PREFS_WHSIG_KEY_DEFAULT bytes, NUL-terminated */
int prefs_whsig_secret_generate(char *out, size_t size);

/*
 * Signs with each of nsecrets secrets and writes the header value, the
 * signatures separated by spaces and NUL-terminated, into out: it needs
 * nsecrets * (PREFS_WHSIG_SIG_LEN + 1) bytes.  Returns the length or < 0.
 */
long prefs_whsig_sign(const char *const *secrets, const size_t *secret_lens,
    size_t nsecrets, const char *msg_id, size_t id_len, long long timestamp,
    const char *body, size_t body_len, char *out, size_t size);

/*
 * What a receiver does: OK when one of the space-separated "v1,"
 * signatures in header matches, and the timestamp is within tolerance
 * seconds of now.
 */
int prefs_whsig_verify(const char *secret, size_t secret_len,
    const char *msg_id, size_t id_len, const char *timestamp, size_t ts_len,
    const char *body, size_t body_len, const char *header, size_t header_len,
    time_t now, long tolerance);

const char *prefs_whsig_strerror(int rc);


#endif /* _PREFS_WHSIG_H_INCLUDED_ */
