
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>
#include <strings.h>

#include "prefs_locale.h"


static int prefs_locale_is_sep(int c);
static int prefs_locale_fold(int c);
static int prefs_locale_starts(const char *s, size_t slen, const char *p,
    size_t plen);
static size_t prefs_locale_truncate(const char *tag, size_t len);
static int prefs_locale_accept_entry(const char *s, size_t len,
    prefs_locale_range_t *r);
static size_t prefs_locale_ows(const char *s, size_t i, size_t len);
static int prefs_locale_usable(const prefs_locale_range_t *r);
static int prefs_locale_is_any(const prefs_locale_range_t *r);
static int prefs_locale_excluded(const prefs_locale_range_t *ranges, size_t n,
    const char *locale, size_t len, size_t clen);
static int prefs_locale_first(const prefs_locale_range_t *ranges, size_t n,
    const char *tag, size_t len, int exact, const char *const *available,
    size_t navail);
static int prefs_locale_later(const prefs_locale_range_t *ranges, size_t n,
    size_t k, const char *prefix, size_t plen, const char *const *available,
    size_t navail);
static int prefs_locale_lookup_range(const prefs_locale_range_t *ranges,
    size_t n, size_t k, const char *const *available, size_t navail,
    int *kind);


/* ASCII only: isalpha() and tolower() depend on the C locale */

#define prefs_is_alpha(c)  (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define prefs_is_digit(c)  ((c) >= '0' && (c) <= '9')
#define prefs_lower(c)     ((c) >= 'A' && (c) <= 'Z' ? (c) | 0x20 : (c))
#define prefs_upper(c)     ((c) >= 'a' && (c) <= 'z' ? (c) & ~0x20 : (c))


static int
prefs_locale_is_sep(int c)
{
    return c == '-' || c == '_';
}


/* "en_us" and "EN-US" fold to the same bytes */

static int
prefs_locale_fold(int c)
{
    return c == '_' ? '-' : prefs_lower(c);
}


int
prefs_locale_canon(const char *in, size_t len, char *out, size_t out_size)
{
    int     c, singleton;
    size_t  i, k, start, n, letters, nsub;

    if (len == 0 || len > PREFS_LOCALE_TAG_MAX || out_size < len + 1) {
        return -1;
    }

    if (len == 1 && in[0] == '*') {
        out[0] = '*';
        out[1] = '\0';
        return 1;
    }

    i = 0;
    nsub = 0;
    singleton = 0;

    for ( ;; ) {
        start = i;
        letters = 0;

        while (i < len && !prefs_locale_is_sep((unsigned char) in[i])) {
            c = (unsigned char) in[i];

            if (prefs_is_alpha(c)) {
                letters++;

            } else if (!prefs_is_digit(c)) {
                return -1;
            }

            i++;
        }

        n = i - start;

        if (n == 0 || n > 8) {
            return -1;
        }

        if (nsub == 0 && (letters != n || n > 3 || n < 2)) {
            return -1;
        }

        /*
         * RFC 5646 section 2.1.1: lower case but for two-letter (region)
         * and four-letter (script) subtags that are neither first nor
         * after a singleton; digits have no case
         */

        for (k = start; k < i; k++) {
            c = (unsigned char) in[k];

            if (nsub > 0 && !singleton && letters == n
                && (n == 2 || (n == 4 && k == start)))
            {
                c = prefs_upper(c);

            } else {
                c = prefs_lower(c);
            }

            out[k] = (char) c;
        }

        if (nsub > 0 && n == 1) {
            singleton = 1;
        }

        nsub++;

        if (i == len) {
            break;
        }

        out[i++] = '-';

        if (i == len) {
            return -1;
        }
    }

    out[len] = '\0';

    return (int) len;
}


int
prefs_locale_accept_none(const char *value, size_t len)
{
    while (len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }

    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }

    return len == 4 && strncasecmp(value, "null", 4) == 0;
}


int
prefs_locale_accept_parse(const char *value, size_t len,
    prefs_locale_range_t *out, size_t max)
{
    size_t                n, p, end, pos;
    prefs_locale_range_t  r;

    if (max > PREFS_LOCALE_MAX_RANGES) {
        max = PREFS_LOCALE_MAX_RANGES;
    }

    /*
     * An entry cut by the limit may have lost its ";q=0": keep only
     * those a comma closes, at the limit at the latest.
     */

    if (len > PREFS_LOCALE_MAX_HEADER) {
        len = PREFS_LOCALE_MAX_HEADER;

        if (value[len] != ',') {
            while (len > 0 && value[len - 1] != ',') {
                len--;
            }
        }
    }

    n = 0;

    for (p = 0; p < len; p = end + 1) {

        for (end = p; end < len && value[end] != ','; end++) {
            /* void */
        }

        if (prefs_locale_accept_entry(value + p, end - p, &r) != 0) {
            continue;
        }

        /*
         * Insertion after every range with a q as high keeps equal
         * weights in header order; when out[] is full the lowest goes.
         */

        pos = n;

        while (pos > 0 && out[pos - 1].q < r.q) {
            pos--;
        }

        if (pos == max) {
            continue;
        }

        if (n == max) {
            n--;
        }

        memmove(&out[pos + 1], &out[pos], (n - pos) * sizeof(r));
        out[pos] = r;
        n++;
    }

    return (int) n;
}


static size_t
prefs_locale_ows(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }

    return i;
}


/*
 * RFC 9110: language-range [ OWS ";" OWS "q=" qvalue ], with
 *   qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] );
 * spaces around "=" are tolerated too
 */

static int
prefs_locale_accept_entry(const char *s, size_t len, prefs_locale_range_t *r)
{
    int           n;
    size_t        i, start, digits;
    unsigned int  q, scale;

    i = prefs_locale_ows(s, 0, len);
    start = i;

    while (i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t') {
        i++;
    }

    n = prefs_locale_canon(s + start, i - start, r->tag, sizeof(r->tag));
    if (n < 0) {
        return -1;
    }

    r->len = (size_t) n;
    r->q = PREFS_LOCALE_Q_MAX;

    i = prefs_locale_ows(s, i, len);

    if (i == len) {
        return 0;
    }

    if (s[i] != ';') {
        return -1;
    }

    i = prefs_locale_ows(s, i + 1, len);

    if (i == len || (s[i] | 0x20) != 'q') {
        return -1;
    }

    i = prefs_locale_ows(s, i + 1, len);

    if (i == len || s[i] != '=') {
        return -1;
    }

    i = prefs_locale_ows(s, i + 1, len);

    if (i == len) {
        return -1;
    }

    if (s[i] == '0') {
        q = 0;
        scale = 100;
        i++;

        if (i < len && s[i] == '.') {
            i++;

            for (digits = 0; digits < 3 && i < len && prefs_is_digit(s[i]);
                 digits++)
            {
                q += (unsigned int) (s[i++] - '0') * scale;
                scale /= 10;
            }
        }

    } else if (s[i] == '1') {
        q = PREFS_LOCALE_Q_MAX;
        i++;

        if (i < len && s[i] == '.') {
            i++;

            for (digits = 0; digits < 3 && i < len && s[i] == '0'; digits++) {
                i++;
            }
        }

    } else {
        return -1;
    }

    /* a fourth decimal, "1.5" or anything else left is garbage */

    if (prefs_locale_ows(s, i, len) != len) {
        return -1;
    }

    r->q = q;

    return 0;
}


int
prefs_locale_find(const char *tag, size_t len,
    const char *const *available, size_t navail)
{
    size_t  i;

    for (i = 0; i < navail; i++) {
        if (available[i] != NULL && strlen(available[i]) == len
            && prefs_locale_starts(available[i], len, tag, len))
        {
            return (int) i;
        }
    }

    return -1;
}


int
prefs_locale_lookup(const prefs_locale_range_t *ranges, size_t n,
    const char *const *available, size_t navail, int *matched_by_header)
{
    int     idx, kind, any;
    size_t  i, k;

    if (n > PREFS_LOCALE_MAX_RANGES) {
        n = PREFS_LOCALE_MAX_RANGES;
    }

    idx = -1;
    kind = PREFS_LOCALE_MATCH_NONE;
    any = 0;

    for (k = 0; k < n && idx < 0; k++) {

        if (ranges[k].q == 0 || !prefs_locale_usable(&ranges[k])) {
            continue;
        }

        /* RFC 4647 section 3.4: "*" is skipped while other ranges follow */

        if (prefs_locale_is_any(&ranges[k])) {
            any = 1;
            continue;
        }

        idx = prefs_locale_lookup_range(ranges, n, k, available, navail,
                                        &kind);
    }

    if (idx < 0 && any) {
        for (i = 0; i < navail; i++) {
            if (available[i] != NULL && available[i][0] != '\0'
                && !prefs_locale_excluded(ranges, n, available[i],
                                          strlen(available[i]), 0))
            {
                idx = (int) i;
                kind = PREFS_LOCALE_MATCH_ANY;
                break;
            }
        }
    }

    if (matched_by_header != NULL) {
        *matched_by_header = (idx >= 0) ? kind : PREFS_LOCALE_MATCH_NONE;
    }

    return idx;
}


static int
prefs_locale_lookup_range(const prefs_locale_range_t *ranges, size_t n,
    size_t k, const char *const *available, size_t navail, int *kind)
{
    int          i, j;
    size_t       len;
    const char  *tag;

    tag = ranges[k].tag;
    len = ranges[k].len;

    do {
        i = prefs_locale_first(ranges, n, tag, len, 1, available, navail);
        if (i >= 0) {
            *kind = PREFS_LOCALE_MATCH_EXACT;
            return i;
        }

        i = prefs_locale_first(ranges, n, tag, len, 0, available, navail);
        if (i >= 0) {
            /* a locale the client named beats the first in the list */
            j = prefs_locale_later(ranges, n, k, tag, len, available, navail);

            *kind = (j >= 0) ? PREFS_LOCALE_MATCH_EXACT
                             : PREFS_LOCALE_MATCH_PREFIX;
            return (j >= 0) ? j : i;
        }

        len = prefs_locale_truncate(tag, len);

    } while (len > 0);

    return -1;
}


/*
 * The first of available[] that is tag[0..len) (exact) or starts with it
 * and a separator, and that no q=0 range excludes.
 */

static int
prefs_locale_first(const prefs_locale_range_t *ranges, size_t n,
    const char *tag, size_t len, int exact, const char *const *available,
    size_t navail)
{
    size_t  i, alen;

    for (i = 0; i < navail; i++) {
        if (available[i] == NULL) {
            continue;
        }

        alen = strlen(available[i]);

        if ((!exact || alen == len)
            && prefs_locale_starts(available[i], alen, tag, len)
            && !prefs_locale_excluded(ranges, n, available[i], alen, len))
        {
            return (int) i;
        }
    }

    return -1;
}


/*
 * Among the locales under prefix[0..plen), one that a range after the
 * k-th asks for (itself or cut, but still under the prefix), in the
 * order of those ranges.
 */

static int
prefs_locale_later(const prefs_locale_range_t *ranges, size_t n, size_t k,
    const char *prefix, size_t plen, const char *const *available,
    size_t navail)
{
    int                          i;
    size_t                       j, len;
    const prefs_locale_range_t  *r;

    for (j = k + 1; j < n; j++) {
        r = &ranges[j];

        if (r->q == 0 || !prefs_locale_usable(r) || prefs_locale_is_any(r)
            || !prefs_locale_starts(r->tag, r->len, prefix, plen))
        {
            continue;
        }

        for (len = r->len; len > plen; len = prefs_locale_truncate(r->tag, len))
        {
            i = prefs_locale_first(ranges, n, r->tag, len, 1, available,
                                   navail);
            if (i >= 0) {
                return i;
            }
        }
    }

    return -1;
}


/*
 * Whether the q=0 ranges rule the locale out when it was reached from
 * the candidate tag of clen characters (0 for "*").  Every range that
 * matches the locale by RFC 4647 basic filtering ("*" matches all) has
 * a say, and so has the candidate, with q > 0: the longest decides, and
 * among equally long ones a q=0 wins.  So "de;q=0, de-CH" excludes
 * "de-DE" reached from "de-CH" cut to "de", and "*;q=0, fr-CA" allows
 * "fr" reached the same way.
 */

static int
prefs_locale_excluded(const prefs_locale_range_t *ranges, size_t n,
    const char *locale, size_t len, size_t clen)
{
    int     excluded;
    size_t  j, mlen, best;

    excluded = 0;
    best = clen;

    for (j = 0; j < n; j++) {

        if (!prefs_locale_usable(&ranges[j])) {
            continue;
        }

        if (prefs_locale_is_any(&ranges[j])) {
            mlen = 0;

        } else if (prefs_locale_starts(locale, len, ranges[j].tag,
                                       ranges[j].len))
        {
            mlen = ranges[j].len;

        } else {
            continue;
        }

        if (mlen > best) {
            best = mlen;
            excluded = (ranges[j].q == 0);

        } else if (mlen == best && ranges[j].q == 0) {
            excluded = 1;
        }
    }

    return excluded;
}


/*
 * Whether s[0..slen) is p[0..plen) or starts with it and a separator,
 * ignoring ASCII case and "_" versus "-".
 */

static int
prefs_locale_starts(const char *s, size_t slen, const char *p, size_t plen)
{
    size_t  i;

    if (slen < plen || plen == 0) {
        return 0;
    }

    for (i = 0; i < plen; i++) {
        if (prefs_locale_fold((unsigned char) s[i])
            != prefs_locale_fold((unsigned char) p[i]))
        {
            return 0;
        }
    }

    return slen == plen || prefs_locale_is_sep((unsigned char) s[plen]);
}


/*
 * RFC 4647 section 3.4: drop the last subtag, and a singleton that is
 * then last with it; 0 when nothing is left.
 */

static size_t
prefs_locale_truncate(const char *tag, size_t len)
{
    while (len > 0 && !prefs_locale_is_sep((unsigned char) tag[len - 1])) {
        len--;
    }

    if (len == 0) {
        return 0;
    }

    len--;

    if (len >= 2 && prefs_locale_is_sep((unsigned char) tag[len - 2])) {
        len -= 2;
    }

    return len;
}


static int
prefs_locale_usable(const prefs_locale_range_t *r)
{
    return r->len > 0 && r->len <= PREFS_LOCALE_TAG_MAX;
}


static int
prefs_locale_is_any(const prefs_locale_range_t *r)
{
    return r->len == 1 && r->tag[0] == '*';
}
