
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for language tags and Accept-Language: the input is
 * canonicalized as a tag, parsed as a header (also repeated past the
 * length limit), and the ranges looked up in a fixed list of locales and
 * in one the input spells after its first newline.  Beyond the sanitizers
 * it checks properties: canonical tags are fixed points and ignore case
 * and "_", parsed ranges are canonical and sorted, a smaller max keeps a
 * prefix of the same list, only complete entries inside the limit count,
 * and what lookup returns is in range, was asked for, and not excluded.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefs_locale.h"
#include "fuzz.h"


#define FUZZ_MAX_AVAIL  16


static const char  *fixed[] = {
    "en-US", "en", "de-DE", "de_CH", "fr-FR", "FR-ca", "zh-Hant-TW",
    "zh-Hans-CN", "zh", "pt-BR", "es-419", "sr-Latn-RS", "ja",
    "x-klingon", "en-a-bbb-x", NULL, "",
};


/* the oracle's own folding, independent of the library's */

static int
fold(int c)
{
    if (c == '_') {
        return '-';
    }

    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


static int
fold_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t  i;

    if (alen != blen) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        if (fold((unsigned char) a[i]) != fold((unsigned char) b[i])) {
            return 0;
        }
    }

    return 1;
}


/* b is a or starts with a and a separator */

static int
fold_under(const char *a, size_t alen, const char *b, size_t blen)
{
    return blen >= alen && fold_eq(a, alen, b, alen)
           && (blen == alen || b[alen] == '-' || b[alen] == '_');
}


static void
fuzz_canon(const char *data, size_t size)
{
    int     n, m;
    char    out[PREFS_LOCALE_TAG_MAX + 1], again[PREFS_LOCALE_TAG_MAX + 1];
    char    var[PREFS_LOCALE_TAG_MAX + 1], small[4];
    size_t  i;

    n = prefs_locale_canon(data, size, out, sizeof(out));
    check(n == -1 || (n >= 0 && (size_t) n == size));

    /* the same tag in the other case and with "_" canonicalizes the same */

    if (size <= PREFS_LOCALE_TAG_MAX) {
        for (i = 0; i < size; i++) {
            var[i] = data[i];

            if (var[i] == '-') {
                var[i] = '_';

            } else if ((var[i] | 0x20) >= 'a' && (var[i] | 0x20) <= 'z') {
                var[i] ^= 0x20;
            }
        }

        m = prefs_locale_canon(var, size, again, sizeof(again));
        check(m == n);
        check(n < 0 || memcmp(again, out, (size_t) n + 1) == 0);
    }

    if (n < 0) {
        return;
    }

    check(out[n] == '\0');
    check(fold_eq(out, (size_t) n, data, size));

    for (i = 0; i < (size_t) n; i++) {
        check((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= 'A'
              && out[i] <= 'Z') || (out[i] >= '0' && out[i] <= '9')
              || out[i] == '-' || (out[i] == '*' && n == 1));
    }

    m = prefs_locale_canon(out, (size_t) n, again, sizeof(again));
    check(m == n && memcmp(again, out, (size_t) n + 1) == 0);

    /* a buffer one byte short is refused, not overrun */

    if ((size_t) n < sizeof(small)) {
        check(prefs_locale_canon(data, size, small, (size_t) n) == -1);
    }
}


static int
is_any(const prefs_locale_range_t *r)
{
    return r->len == 1 && r->tag[0] == '*';
}


static void
check_ranges(const prefs_locale_range_t *r, int n, size_t max)
{
    int   i, m;
    char  again[PREFS_LOCALE_TAG_MAX + 1];

    check(n >= 0 && (size_t) n <= max && n <= PREFS_LOCALE_MAX_RANGES);

    for (i = 0; i < n; i++) {
        check(r[i].len > 0 && r[i].len <= PREFS_LOCALE_TAG_MAX);
        check(strlen(r[i].tag) == r[i].len);
        check(r[i].q <= PREFS_LOCALE_Q_MAX);

        m = prefs_locale_canon(r[i].tag, r[i].len, again, sizeof(again));
        check(m == (int) r[i].len && strcmp(again, r[i].tag) == 0);

        if (i > 0) {
            check(r[i - 1].q >= r[i].q);
        }
    }
}


/* whether locale is one of the candidates of a range with q > 0 */

static int
asked_for(const prefs_locale_range_t *r, int n, const char *locale, int kind)
{
    int     i;
    size_t  len, alen;

    alen = strlen(locale);

    for (i = 0; i < n; i++) {
        if (r[i].q == 0 || is_any(&r[i])) {
            continue;
        }

        for (len = r[i].len; len > 0; len--) {
            if (len < r[i].len && r[i].tag[len] != '-') {
                continue;
            }

            if (kind == PREFS_LOCALE_MATCH_EXACT
                ? fold_eq(r[i].tag, len, locale, alen)
                : fold_under(r[i].tag, len, locale, alen))
            {
                return 1;
            }
        }
    }

    return 0;
}


static void
check_lookup(const prefs_locale_range_t *r, int n, const char *const *avail,
    size_t navail)
{
    int                   i, idx, kind, any, zeros, k, m;
    size_t                j;
    prefs_locale_range_t  pos[PREFS_LOCALE_MAX_RANGES];

    idx = prefs_locale_lookup(r, (size_t) n, avail, navail, &kind);

    check(idx >= -1 && idx < (int) navail);
    check((idx >= 0) == (kind != PREFS_LOCALE_MATCH_NONE));
    check(kind >= PREFS_LOCALE_MATCH_NONE && kind <= PREFS_LOCALE_MATCH_ANY);
    check(prefs_locale_lookup(r, (size_t) n, avail, navail, NULL) == idx);

    any = 0;
    zeros = 0;
    k = 0;

    for (i = 0; i < n; i++) {
        if (r[i].q == 0) {
            zeros++;

        } else {
            any |= is_any(&r[i]);
            pos[k++] = r[i];
        }
    }

    if (idx >= 0) {
        check(avail[idx] != NULL && avail[idx][0] != '\0');

        if (kind == PREFS_LOCALE_MATCH_ANY) {
            check(any);

        } else {
            check(asked_for(r, n, avail[idx], kind));
        }

        /* a q=0 range equal to a locale always excludes it */

        for (i = 0; i < n; i++) {
            check(r[i].q > 0 || !fold_eq(r[i].tag, r[i].len, avail[idx],
                                         strlen(avail[idx])));
        }
    }

    /* without exclusions there is a match whenever there was one */

    if (zeros > 0) {
        m = prefs_locale_lookup(pos, (size_t) k, avail, navail, NULL);
        check(idx < 0 || m >= 0);
        return;
    }

    /* without exclusions the first range equal to a locale wins */

    for (i = 0; i < n; i++) {
        if (is_any(&r[i])) {
            continue;
        }

        for (j = 0; j < navail; j++) {
            if (avail[j] != NULL
                && fold_eq(r[i].tag, r[i].len, avail[j], strlen(avail[j])))
            {
                check(idx == (int) j && kind == PREFS_LOCALE_MATCH_EXACT);
                return;
            }
        }

        break;
    }

    if (any) {
        for (j = 0; j < navail; j++) {
            if (avail[j] != NULL && avail[j][0] != '\0') {
                check(idx >= 0);
                break;
            }
        }
    }
}


/* field by field: the bytes after a tag's NUL and padding are not set */

static int
ranges_eq(const prefs_locale_range_t *a, const prefs_locale_range_t *b, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (a[i].len != b[i].len || a[i].q != b[i].q
            || strcmp(a[i].tag, b[i].tag) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static int
parse_check(const char *data, size_t size, prefs_locale_range_t *r)
{
    int                   n, m;
    prefs_locale_range_t  few[3];

    n = prefs_locale_accept_parse(data, size, r, PREFS_LOCALE_MAX_RANGES);
    check_ranges(r, n, PREFS_LOCALE_MAX_RANGES);

    /* a smaller max keeps the head of the same list */

    m = prefs_locale_accept_parse(data, size, few, 3);
    check_ranges(few, m, 3);
    check(m == (n < 3 ? n : 3));
    check(ranges_eq(few, r, m));

    check(prefs_locale_accept_parse(data, size, NULL, 0) == 0);

    return n;
}


static void
fuzz_header(const char *data, size_t size)
{
    int                   n, m;
    char                 *big;
    size_t                cut, total;
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES];
    prefs_locale_range_t  t[PREFS_LOCALE_MAX_RANGES];

    n = parse_check(data, size, r);
    check_lookup(r, n, fixed, sizeof(fixed) / sizeof(fixed[0]));

    /* repeated past the limit: only complete entries inside it count */

    if (size == 0) {
        return;
    }

    total = PREFS_LOCALE_MAX_HEADER + 1 + size % 64;
    big = malloc(total);
    check(big != NULL);

    for (cut = 0; cut < total; cut++) {
        big[cut] = data[cut % size];
    }

    n = parse_check(big, total, r);

    cut = PREFS_LOCALE_MAX_HEADER;

    if (big[cut] != ',') {
        while (cut > 0 && big[cut - 1] != ',') {
            cut--;
        }
    }

    m = prefs_locale_accept_parse(big, cut, t, PREFS_LOCALE_MAX_RANGES);
    check(m == n && ranges_eq(r, t, n));

    check_lookup(r, n, fixed, sizeof(fixed) / sizeof(fixed[0]));

    free(big);
}


/* "header\nlocale\nlocale...": a list of locales the input chooses */

static void
fuzz_own_list(const char *data, size_t size)
{
    int                   n, f;
    char                 *buf, *p, *nl;
    size_t                navail, hlen;
    const char           *avail[FUZZ_MAX_AVAIL];
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES];

    nl = memchr(data, '\n', size);
    if (nl == NULL) {
        return;
    }

    hlen = (size_t) (nl - data);

    buf = malloc(size - hlen);
    check(buf != NULL);
    memcpy(buf, nl + 1, size - hlen - 1);
    buf[size - hlen - 1] = '\0';

    navail = 0;
    p = buf;

    while (navail < FUZZ_MAX_AVAIL) {
        avail[navail++] = p;

        p = strchr(p, '\n');
        if (p == NULL) {
            break;
        }

        *p++ = '\0';
    }

    n = prefs_locale_accept_parse(data, hlen, r, PREFS_LOCALE_MAX_RANGES);
    check_ranges(r, n, PREFS_LOCALE_MAX_RANGES);
    check_lookup(r, n, avail, navail);

    /* an explicit locale: the first equal entry */

    f = prefs_locale_find(data, hlen, avail, navail);
    check(f >= -1 && f < (int) navail);
    check(f < 0 || fold_eq(data, hlen, avail[f], strlen(avail[f])));

    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_canon((const char *) data, size);
    fuzz_header((const char *) data, size);
    fuzz_own_list((const char *) data, size);

    return 0;
}
