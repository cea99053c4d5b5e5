
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_LOCALE_H_INCLUDED_
#define _PREFS_LOCALE_H_INCLUDED_


/*
 * Language tags and Accept-Language negotiation: canonical spelling of a
 * tag (RFC 5646 section 2.1.1), the Accept-Language header (RFC 9110
 * section 12.5.4) and RFC 4647 lookup over an account's locales, with
 * the fallbacks of api-contract.md section 4.  Plain C, no nginx types,
 * nothing allocated, no locale-dependent libc; every loop is bounded by
 * the constants below.
 */


#include <stddef.h>


/* the longest tag kept: RFC 5646 section 4.4.1's minimum field width */
#define PREFS_LOCALE_TAG_MAX        35

/* the most ranges an Accept-Language header contributes */
#define PREFS_LOCALE_MAX_RANGES     32

/* only complete entries in the first this many bytes are read */
#define PREFS_LOCALE_MAX_HEADER     4096

/* q-values are kept in thousandths: "q=0.5" is 500 */
#define PREFS_LOCALE_Q_MAX          1000

/* how prefs_locale_lookup() matched; non-zero exactly when it did */
#define PREFS_LOCALE_MATCH_NONE     0
#define PREFS_LOCALE_MATCH_EXACT    1   /* a range or a truncation of one */
#define PREFS_LOCALE_MATCH_PREFIX   2   /* "de" (or "de-CH" cut to "de")
                                           took the first "de-*" locale */
#define PREFS_LOCALE_MATCH_ANY      3   /* "*" */


typedef struct {
    char          tag[PREFS_LOCALE_TAG_MAX + 1];  /* canonical, or "*";
                                                     NUL-terminated */
    size_t        len;
    unsigned int  q;                               /* 0 .. 1000 */
} prefs_locale_range_t;


/*
 * Writes the canonical spelling of the tag in[0..len) to out and
 * NUL-terminates it: "_" becomes "-", the language and every subtag
 * after a singleton lower case, other two-letter subtags (regions) upper
 * case, other four-letter ones (scripts) title case, the rest lower case:
 * "zh_hant_tw" is "zh-Hant-TW", "EN-us-X-Priv" is "en-US-x-priv".
 *
 * The shape is checked loosely: subtags of 1 to 8 ASCII letters and
 * digits, the first of 2 or 3 letters, at most PREFS_LOCALE_TAG_MAX
 * characters in all; "*" only as the whole tag.  Returns the length
 * (always len), or -1 for a malformed tag or an out_size below len + 1.
 * Canonical input comes back unchanged.
 */
int prefs_locale_canon(const char *in, size_t len, char *out,
    size_t out_size);

/*
 * Parses an Accept-Language value[0..len) into out[], canonicalized,
 * sorted by q descending and, for equal q, in header order.  Entries
 * that are not "range [OWS ; OWS q=qvalue]" (RFC 9110 qvalue: 0, 1, up
 * to three decimals, "q" in either case, spaces and tabs tolerated) are
 * skipped; "q=0" entries are kept, with q 0, as exclusions.  Of a value
 * longer than PREFS_LOCALE_MAX_HEADER bytes only the entries inside the
 * limit and followed by a comma are read (one cut short might have lost
 * its ";q=0").  When more than min(max, PREFS_LOCALE_MAX_RANGES) entries
 * are valid, those with the highest q are kept (the earlier ones among
 * equals).  Returns the count.
 */
int prefs_locale_accept_parse(const char *value, size_t len,
    prefs_locale_range_t *out, size_t max);

/*
 * 1 when an Accept-Language value states no preference at all, as no
 * header does: "null" in any case, spaces and tabs around it allowed
 * (what the MyPreferences reference's own examples send); else 0.
 */
int prefs_locale_accept_none(const char *value, size_t len);

/*
 * Chooses one of available[0..navail) (NUL-terminated tags in any case,
 * "_" or "-"; NULL and empty entries are skipped) for ranges[0..n) (at
 * most PREFS_LOCALE_MAX_RANGES are looked at) by RFC 4647 section 3.4
 * lookup: each range with q > 0, in the order given (best first, as
 * prefs_locale_accept_parse() leaves them), is tried as it is and then
 * cut subtag by subtag from the end, a singleton left at the end going
 * with its subtag ("zh-Hant-CN-x-a-b", "zh-Hant-CN-x-a", "zh-Hant-CN",
 * "zh-Hant", "zh"); the first locale equal to a candidate wins.
 *
 * The contract's extensions:
 *
 *   - when no locale equals a candidate, one under it (the candidate, a
 *     separator, more) does, before the candidate is cut further:
 *     "de-CH" cut to "de" takes "de-DE" when the account has no bare
 *     "de", and "zh-Hant-TW" cut to "zh-Hant" takes "zh-Hant-HK" before
 *     "zh-Hans-CN".  Among those, one that a later range of the header
 *     asks for comes first ("de-CH, de-AT" prefers "de-AT" to "de-DE");
 *     otherwise the first in available[] order;
 *
 *   - "*" takes the first locale in available[] order that is not
 *     excluded; as in RFC 4647 it is only used once every other range
 *     has failed, so a caller that lists its default locale first gets
 *     the default for "*";
 *
 *   - a q=0 range excludes the locales it matches by RFC 4647 basic
 *     filtering ("de;q=0" excludes "de", "de-DE", "de-CH"), unless a
 *     longer range with q > 0, or a longer candidate of the range being
 *     tried, matches them too: "en-US, en;q=0" keeps "en-US" and
 *     excludes "en-GB"; "de;q=0, de-CH" excludes "de-DE", reached from
 *     "de" as long as "de;q=0"; "*;q=0, fr-CA" allows "fr", reached
 *     from "fr", longer than "*".
 *
 * Returns the index into available[], or -1 when nothing matches (the
 * caller then uses the account's default locale).  *matched_by_header,
 * when not NULL, is set to a PREFS_LOCALE_MATCH_* value.
 */
int prefs_locale_lookup(const prefs_locale_range_t *ranges, size_t n,
    const char *const *available, size_t navail, int *matched_by_header);

/*
 * The index of the first of available[0..navail) that is the tag
 * tag[0..len) ignoring ASCII case and "_" versus "-", or -1: for an
 * explicit locale (a path segment or a query parameter), which is not
 * negotiated.
 */
int prefs_locale_find(const char *tag, size_t len,
    const char *const *available, size_t navail);


#endif /* _PREFS_LOCALE_H_INCLUDED_ */
