
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Consent at the edge: a profile's state text and the bounded cache of
 * states (prefs_edge.h).  Plain C: unit-tested in t/unit/test_edge.c.
 */


#include <stdlib.h>
#include <string.h>

#include "prefs_edge.h"


static const char  *prefs_edge_consent_names[] = {
    NULL, "Granted", "Denied", "Revoked", "NotSet"
};


static int prefs_edge_name_char(int ch);
static const char *prefs_edge_item(const char *p, const char *end,
    const char **colon);
static int prefs_edge_field(const char *s, size_t len, int field,
    const char **start, const char **end);
static int prefs_edge_same(const char *a, size_t alen, const char *b,
    size_t blen);
static size_t prefs_edge_hash(const prefs_edge_cache_t *c, int64_t account_id,
    int64_t profile_id);
static void prefs_edge_remove(prefs_edge_cache_t *c, prefs_edge_entry_t *e);
static void prefs_edge_unlink(prefs_edge_cache_t *c, prefs_edge_entry_t *e);
static void prefs_edge_push(prefs_edge_cache_t *c, prefs_edge_entry_t *e);


static int
prefs_edge_name_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}


/*
 * locale: [A-Za-z0-9-] (may be empty); a list: "name:value" items split
 * by "," where a consent's value is 1-4 and an opt-in's 0 or 1.
 */

int
prefs_edge_state_check(const char *s, size_t len)
{
    int          field;
    const char  *p, *end, *colon, *item, *n;

    if (len > PREFS_EDGE_STATE_MAX) {
        return PREFS_EDGE_BAD;
    }

    for (field = PREFS_EDGE_LOCALE; field <= PREFS_EDGE_OPTINS; field++) {

        if (prefs_edge_field(s, len, field, &p, &end) != PREFS_EDGE_OK) {
            return PREFS_EDGE_BAD;
        }

        if (field == PREFS_EDGE_LOCALE) {
            for ( /* void */ ; p < end; p++) {
                if (!prefs_edge_name_char(*p) && *p != '-') {
                    return PREFS_EDGE_BAD;
                }
            }

            continue;
        }

        while (p < end) {
            item = p;
            p = prefs_edge_item(p, end, &colon);

            for (n = item; colon && n < colon; n++) {
                if (!prefs_edge_name_char(*n)) {
                    return PREFS_EDGE_BAD;
                }
            }

            if (colon == NULL || colon == item || p - colon != 2) {
                return PREFS_EDGE_BAD;
            }

            if (field == PREFS_EDGE_CONSENTS
                ? (colon[1] < '1' || colon[1] > '4')
                : (colon[1] != '0' && colon[1] != '1'))
            {
                return PREFS_EDGE_BAD;
            }

            if (p < end) {
                p++;

                if (p == end) {
                    return PREFS_EDGE_BAD;      /* a trailing "," */
                }
            }
        }
    }

    /* nothing after the opt-ins */
    return memchr(s, '\0', len) ? PREFS_EDGE_BAD : PREFS_EDGE_OK;
}


int
prefs_edge_state_get(const char *s, size_t len, int field, const char *name,
    size_t nlen, const char **value, size_t *vlen)
{
    const char  *p, *end, *item, *colon;

    if (prefs_edge_field(s, len, field, &p, &end) != PREFS_EDGE_OK) {
        return PREFS_EDGE_NONE;
    }

    if (field == PREFS_EDGE_LOCALE) {
        if (p == end) {
            return PREFS_EDGE_NONE;
        }

        *value = p;
        *vlen = end - p;
        return PREFS_EDGE_OK;
    }

    while (p < end) {
        item = p;
        p = prefs_edge_item(p, end, &colon);

        if (colon && prefs_edge_same(item, colon - item, name, nlen)) {
            *value = colon + 1;
            *vlen = p - colon - 1;
            return PREFS_EDGE_OK;
        }

        p++;
    }

    return PREFS_EDGE_NONE;
}


const char *
prefs_edge_consent_name(const char *status, size_t len)
{
    if (len != 1 || status[0] < '1' || status[0] > '4') {
        return NULL;
    }

    return prefs_edge_consent_names[status[0] - '0'];
}


int
prefs_edge_consent_status(const char *name, size_t len)
{
    int  i;

    for (i = 1; i <= 4; i++) {
        if (prefs_edge_same(name, len, prefs_edge_consent_names[i],
                            strlen(prefs_edge_consent_names[i])))
        {
            return i;
        }
    }

    return 0;
}


/* an item of a list: its end (a "," or the end), its first ":" or NULL */

static const char *
prefs_edge_item(const char *p, const char *end, const char **colon)
{
    *colon = NULL;

    for ( /* void */ ; p < end && *p != ','; p++) {
        if (*p == ':' && *colon == NULL) {
            *colon = p;
        }
    }

    return p;
}


/* the field'th of the three lines: the last runs to the end */

static int
prefs_edge_field(const char *s, size_t len, int field, const char **start,
    const char **end)
{
    int          i;
    const char  *p, *last, *nl;

    p = s;
    last = s + len;

    for (i = 0; i < field; i++) {
        nl = memchr(p, '\n', last - p);
        if (nl == NULL) {
            return PREFS_EDGE_BAD;
        }

        p = nl + 1;
    }

    nl = (field == PREFS_EDGE_OPTINS) ? NULL : memchr(p, '\n', last - p);

    if (field != PREFS_EDGE_OPTINS && nl == NULL) {
        return PREFS_EDGE_BAD;
    }

    if (field == PREFS_EDGE_OPTINS && memchr(p, '\n', last - p)) {
        return PREFS_EDGE_BAD;
    }

    *start = p;
    *end = nl ? nl : last;

    return PREFS_EDGE_OK;
}


static int
prefs_edge_same(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t  i;
    int     ca, cb;

    if (alen != blen) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        ca = (unsigned char) a[i];
        cb = (unsigned char) b[i];

        if (ca >= 'A' && ca <= 'Z') {
            ca += 'a' - 'A';
        }

        if (cb >= 'A' && cb <= 'Z') {
            cb += 'a' - 'A';
        }

        if (ca != cb) {
            return 0;
        }
    }

    return 1;
}


void
prefs_edge_entry_token_set(prefs_edge_entry_t *e, const char *token,
    size_t len)
{
    if (len == 0 || len > PREFS_EDGE_TOKEN_KEEP) {
        e->token_len = 0;
        return;
    }

    memcpy(e->token, token, len);
    e->token_len = len;
}


int
prefs_edge_entry_token_is(const prefs_edge_entry_t *e, const char *token,
    size_t len)
{
    return e->token_len && e->token_len == len
           && memcmp(e->token, token, len) == 0;
}


int
prefs_edge_cache_init(prefs_edge_cache_t *c, size_t max)
{
    memset(c, 0, sizeof(prefs_edge_cache_t));

    if (max == 0) {
        return PREFS_EDGE_ERROR;
    }

    /* about one entry a bucket when full */
    for (c->nbuckets = 16; c->nbuckets < max; c->nbuckets *= 2) {
        /* void */
    }

    c->buckets = calloc(c->nbuckets, sizeof(prefs_edge_entry_t *));
    if (c->buckets == NULL) {
        return PREFS_EDGE_ERROR;
    }

    c->max = max;

    return PREFS_EDGE_OK;
}


void
prefs_edge_cache_free(prefs_edge_cache_t *c)
{
    prefs_edge_entry_t  *e, *next;

    for (e = c->head; e; e = next) {
        next = e->next;
        free(e);
    }

    free(c->buckets);
    memset(c, 0, sizeof(prefs_edge_cache_t));
}


prefs_edge_entry_t *
prefs_edge_cache_get(prefs_edge_cache_t *c, int64_t account_id,
    int64_t profile_id)
{
    prefs_edge_entry_t  *e;

    if (c->buckets == NULL) {
        return NULL;
    }

    for (e = c->buckets[prefs_edge_hash(c, account_id, profile_id)];
         e;
         e = e->hnext)
    {
        if (e->account_id == account_id && e->profile_id == profile_id) {
            prefs_edge_unlink(c, e);
            prefs_edge_push(c, e);
            return e;
        }
    }

    return NULL;
}


prefs_edge_entry_t *
prefs_edge_cache_put(prefs_edge_cache_t *c, int64_t account_id,
    int64_t profile_id, const char *state, size_t len)
{
    size_t               h;
    prefs_edge_entry_t  *e, **pe;

    if (c->buckets == NULL
        || prefs_edge_state_check(state, len) != PREFS_EDGE_OK)
    {
        return NULL;
    }

    e = malloc(sizeof(prefs_edge_entry_t) + len + 1);
    if (e == NULL) {
        return NULL;
    }

    memset(e, 0, sizeof(prefs_edge_entry_t));
    e->account_id = account_id;
    e->profile_id = profile_id;
    e->len = len;
    memcpy(e->state, state, len);
    e->state[len] = '\0';

    h = prefs_edge_hash(c, account_id, profile_id);

    /* the old entry goes, then the least recently used past the bound */

    for (pe = &c->buckets[h]; *pe; pe = &(*pe)->hnext) {
        if ((*pe)->account_id == account_id
            && (*pe)->profile_id == profile_id)
        {
            prefs_edge_remove(c, *pe);
            break;
        }
    }

    while (c->n >= c->max && c->tail) {
        prefs_edge_remove(c, c->tail);
        c->evicted++;
    }

    e->hnext = c->buckets[h];
    c->buckets[h] = e;
    c->n++;
    c->bytes += sizeof(prefs_edge_entry_t) + len + 1;
    prefs_edge_push(c, e);

    return e;
}


uint64_t
prefs_edge_mix(int64_t account_id, int64_t profile_id)
{
    uint64_t  h;

    /* a 64-bit mix (splitmix's finalizer) of both ids */
    h = (uint64_t) account_id * 0x9e3779b97f4a7c15ULL ^ (uint64_t) profile_id;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;

    return h;
}


static size_t
prefs_edge_hash(const prefs_edge_cache_t *c, int64_t account_id,
    int64_t profile_id)
{
    return (size_t) (prefs_edge_mix(account_id, profile_id)
                     & (c->nbuckets - 1));
}


/* takes the entry out of its bucket and of the list, and frees it */

static void
prefs_edge_remove(prefs_edge_cache_t *c, prefs_edge_entry_t *e)
{
    prefs_edge_entry_t  **pe;

    for (pe = &c->buckets[prefs_edge_hash(c, e->account_id, e->profile_id)];
         *pe;
         pe = &(*pe)->hnext)
    {
        if (*pe == e) {
            *pe = e->hnext;
            break;
        }
    }

    prefs_edge_unlink(c, e);
    c->n--;
    c->bytes -= sizeof(prefs_edge_entry_t) + e->len + 1;
    free(e);
}


/* takes the entry out of the list */

static void
prefs_edge_unlink(prefs_edge_cache_t *c, prefs_edge_entry_t *e)
{
    if (e->prev) {
        e->prev->next = e->next;

    } else {
        c->head = e->next;
    }

    if (e->next) {
        e->next->prev = e->prev;

    } else {
        c->tail = e->prev;
    }
}


static void
prefs_edge_push(prefs_edge_cache_t *c, prefs_edge_entry_t *e)
{
    e->prev = NULL;
    e->next = c->head;

    if (c->head) {
        c->head->prev = e;
    }

    c->head = e;

    if (c->tail == NULL) {
        c->tail = e;
    }
}
