
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_LINK_H_INCLUDED_
#define _PREFS_LINK_H_INCLUDED_


/*
 * Per-profile signed links (docs/preference-center.md):
 *
 *   pl1.<payload>.<signature>
 *
 * payload   base64url (unpadded) of
 *           "1|account|profile|user|expires|key|account gen|profile gen|
 *           scope,scope..." (decimal numbers, expires in Unix seconds)
 * signature base64url of HMAC-SHA-256 under the account's link key
 *           (key id "key") of "pl1." and the payload's base64url
 *
 * Scopes: preferences:read, preferences:write, consents:write,
 * unsubscribe:<FilterId> (FilterId of [A-Za-z0-9_.~-], 1-64 characters)
 * and edge (the visitor of a prefs_edge location, docs/edge.md).
 */


#include <stddef.h>
#include <stdint.h>


#define PREFS_LINK_OK               0
#define PREFS_LINK_BAD             -1    /* not a link token, or altered */
#define PREFS_LINK_BAD_SCOPE       -2    /* an unknown or malformed scope */
#define PREFS_LINK_TOO_MANY        -3    /* more filters than the maximum */
#define PREFS_LINK_ERROR           -4    /* short buffer, crypto */

#define PREFS_LINK_PREFERENCES_READ   0x01
#define PREFS_LINK_PREFERENCES_WRITE  0x02
#define PREFS_LINK_CONSENTS_WRITE     0x04
#define PREFS_LINK_UNSUBSCRIBE        0x08
#define PREFS_LINK_EDGE               0x10   /* a visitor at the edge */

#define PREFS_LINK_MAX_FILTERS     8
#define PREFS_LINK_FILTER_MAX      64
#define PREFS_LINK_TOKEN_MAX       1536
#define PREFS_LINK_PREFIX          "pl1."


typedef struct {
    int64_t      account_id;
    int64_t      profile_id;
    int64_t      user_id;        /* who made the link: events' RecordedBy */
    int64_t      expires;        /* Unix seconds */
    uint32_t     key_id;
    uint32_t     account_gen;    /* revocation generations when made */
    uint32_t     profile_gen;
    unsigned     scopes;
    unsigned     nfilters;
    char         filters[PREFS_LINK_MAX_FILTERS][PREFS_LINK_FILTER_MAX + 1];
} prefs_link_t;


/* whether the credential has the link tokens' prefix */
int prefs_link_is_token(const char *s, size_t len);

/* adds one scope ("preferences:read", "unsubscribe:Newsletter", ...) */
int prefs_link_scope_add(prefs_link_t *l, const char *s, size_t len);

/*
 * The token of l signed with key, NUL-terminated in out: its length, or
 * PREFS_LINK_ERROR.
 */
long prefs_link_sign(const prefs_link_t *l, const unsigned char *key,
    size_t key_len, char *out, size_t out_size);

/*
 * Reads the token's claims into l without checking the signature (the
 * key id names the key to check it with): PREFS_LINK_OK or
 * PREFS_LINK_BAD.
 */
int prefs_link_parse(const char *tok, size_t len, prefs_link_t *l);

/* the token's signature under key, in constant time */
int prefs_link_verify(const char *tok, size_t len, const unsigned char *key,
    size_t key_len);

/* whether l lets its profile be unsubscribed from the filter */
int prefs_link_grants_filter(const prefs_link_t *l, const char *filter,
    size_t len);

/* the scopes of l as the API shows them, comma-separated, in out */
long prefs_link_scopes_text(const prefs_link_t *l, char *out,
    size_t out_size);


#endif /* _PREFS_LINK_H_INCLUDED_ */
