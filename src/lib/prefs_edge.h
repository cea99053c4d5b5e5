
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_EDGE_H_INCLUDED_
#define _PREFS_EDGE_H_INCLUDED_


/*
 * Consent at the edge (docs/edge.md): what a worker keeps of a visitor's
 * profile, and the bounded cache that keeps it.
 *
 * A profile's state is one text, as the database answers it
 * (prefs_edge_state in sql/functions/edge.sql), names lowercased:
 *
 *   locale "\n" type:status,type:status... "\n" filter:0|1,...
 *
 * status is the reference's consent status number (1 Granted, 2 Denied,
 * 3 Revoked, 4 NotSet).  Names are of [a-z0-9_], as nginx variable names
 * are; nginx lowercases the names of variables, so lookups ignore case.
 *
 * The cache is a hash table of (account, profile) with a least recently
 * used list: at most "max" entries, the least recently used go first.
 * Plain C with malloc: entries outlive requests.
 */


#include <stddef.h>
#include <stdint.h>


#define PREFS_EDGE_OK          0
#define PREFS_EDGE_NONE       -1      /* no such name in the state */
#define PREFS_EDGE_BAD        -2      /* not a state text */
#define PREFS_EDGE_ERROR      -3      /* no memory */

#define PREFS_EDGE_LOCALE      0
#define PREFS_EDGE_CONSENTS    1
#define PREFS_EDGE_OPTINS      2

#define PREFS_EDGE_STATE_MAX   8192
#define PREFS_EDGE_STAMPS      4
#define PREFS_EDGE_TOKEN_KEEP  192     /* a longer token is not remembered */


typedef struct prefs_edge_entry_s  prefs_edge_entry_t;

struct prefs_edge_entry_s {
    int64_t               account_id;
    int64_t               profile_id;

    /* what the caller read when it stored the state: counters, times */
    uint64_t              stamp[PREFS_EDGE_STAMPS];
    uint64_t              loaded;

    /* the last token text of the profile verified by its signature */
    size_t                token_len;
    char                  token[PREFS_EDGE_TOKEN_KEEP];

    prefs_edge_entry_t   *hnext;
    prefs_edge_entry_t   *prev;      /* the LRU list, most recent first */
    prefs_edge_entry_t   *next;

    size_t                len;
    char                  state[];   /* NUL-terminated */
};


typedef struct {
    prefs_edge_entry_t  **buckets;
    size_t                nbuckets;
    size_t                n;
    size_t                max;
    size_t                bytes;     /* the entries' memory */
    uint64_t              evicted;
    prefs_edge_entry_t   *head;
    prefs_edge_entry_t   *tail;
} prefs_edge_cache_t;


/* checks a state text: PREFS_EDGE_OK or PREFS_EDGE_BAD */
int prefs_edge_state_check(const char *s, size_t len);

/*
 * The value of one field of a state (PREFS_EDGE_LOCALE: name unused), by
 * name, case-insensitive: PREFS_EDGE_OK with *value and *vlen set, or
 * PREFS_EDGE_NONE.
 */
int prefs_edge_state_get(const char *s, size_t len, int field,
    const char *name, size_t nlen, const char **value, size_t *vlen);

/* "Granted", "Denied", "Revoked" or "NotSet" for a status digit */
const char *prefs_edge_consent_name(const char *status, size_t len);

/* the status digit of a consent name ("granted" as well), or 0 */
int prefs_edge_consent_status(const char *name, size_t len);

/* remembers the token text whose signature was verified (a longer one: no) */
void prefs_edge_entry_token_set(prefs_edge_entry_t *e, const char *token,
    size_t len);

/* whether the token text is the one remembered */
int prefs_edge_entry_token_is(const prefs_edge_entry_t *e, const char *token,
    size_t len);

/* a hash of a profile of an account (for the cache and the relay's slots) */
uint64_t prefs_edge_mix(int64_t account_id, int64_t profile_id);

int prefs_edge_cache_init(prefs_edge_cache_t *c, size_t max);
void prefs_edge_cache_free(prefs_edge_cache_t *c);

/* the entry, made the most recently used; NULL: none */
prefs_edge_entry_t *prefs_edge_cache_get(prefs_edge_cache_t *c,
    int64_t account_id, int64_t profile_id);

/*
 * Stores a state (replacing the profile's entry, evicting the least
 * recently used past max): the new entry, or NULL (no memory, or the
 * state is not one).
 */
prefs_edge_entry_t *prefs_edge_cache_put(prefs_edge_cache_t *c,
    int64_t account_id, int64_t profile_id, const char *state, size_t len);


#endif /* _PREFS_EDGE_H_INCLUDED_ */
