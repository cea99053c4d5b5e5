
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_locale.h"


static const char *
canon(const char *tag)
{
    int          n;
    static char  buf[PREFS_LOCALE_TAG_MAX + 1];

    n = prefs_locale_canon(tag, strlen(tag), buf, sizeof(buf));

    return n < 0 ? "(invalid)" : buf;
}


/* the parsed ranges as "tag:q tag:q", so one is_str() shows them all */

static const char *
ranges_str(const prefs_locale_range_t *r, int n)
{
    int          i;
    size_t       off;
    static char  buf[2048];

    off = 0;
    buf[0] = '\0';

    for (i = 0; i < n && off < sizeof(buf) - 64; i++) {
        off += snprintf(buf + off, sizeof(buf) - off, "%s%s:%u",
                        i ? " " : "", r[i].tag, r[i].q);
    }

    return buf;
}


static const char *
parse_n(const char *value, size_t len, size_t max)
{
    int                   n;
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES];

    n = prefs_locale_accept_parse(value, len, r, max);

    return ranges_str(r, n);
}


static const char *
parse(const char *value)
{
    return parse_n(value, strlen(value), PREFS_LOCALE_MAX_RANGES);
}


static int
count(const char *value, size_t len)
{
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES];

    return prefs_locale_accept_parse(value, len, r, PREFS_LOCALE_MAX_RANGES);
}


/* the locale chosen for a header, "(none)" when the default applies */

static int  last_match;

static const char *
negotiate(const char *header, const char *const *available, size_t navail)
{
    int                   n, i;
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES];

    n = prefs_locale_accept_parse(header, strlen(header), r,
                                  PREFS_LOCALE_MAX_RANGES);
    i = prefs_locale_lookup(r, (size_t) n, available, navail, &last_match);

    if (i < -1 || i >= (int) navail) {
        return "(out of range)";
    }

    return i < 0 ? "(none)" : available[i];
}


#define NAVAIL(a)  (sizeof(a) / sizeof(a[0]))


static void
test_canon(void)
{
    char          out[8];
    size_t        i;
    const char   *c;

    static const char  *valid[][2] = {
        { "en", "en" },
        { "EN", "en" },
        { "en_us", "en-US" },
        { "EN-us", "en-US" },
        { "zh-hant-tw", "zh-Hant-TW" },
        { "ZH_HANT_TW", "zh-Hant-TW" },
        { "sr-latn-rs", "sr-Latn-RS" },
        { "es-419", "es-419" },
        { "de-ch-1996", "de-CH-1996" },
        { "zh-YUE-hk", "zh-yue-HK" },
        { "sgn-be-fr", "sgn-BE-FR" },
        { "en-ca-X-CA", "en-CA-x-ca" },
        { "AZ-LATN-X-LATN", "az-Latn-x-latn" },
        { "en-US-u-CA-gregory", "en-US-u-ca-gregory" },
        { "zh-hant-cn-X-Private1-private2",
          "zh-Hant-CN-x-private1-private2" },
        { "en-abcdefgh", "en-abcdefgh" },
        { "en-1", "en-1" },
        { "*", "*" },
        /* 35 characters */
        { "en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd",
          "en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd" },
    };

    static const char  *invalid[] = {
        "", "e", "engl", "e1", "12", "x-private", "i-klingon", "-en", "en-",
        "en--us", "en_-us", "en-*", "*-US", "**", "en-abcdefghi", "en US",
        " en", "en;", "en.us", "\xc3\xa9n", "en-\xc3\xa9",
        "en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd",
    };

    for (i = 0; i < NAVAIL(valid); i++) {
        c = canon(valid[i][0]);
        is_str(c, valid[i][1], "canon \"%s\"", valid[i][0]);
        is_str(canon(c), c, "canon \"%s\" is idempotent", valid[i][0]);
    }

    for (i = 0; i < NAVAIL(invalid); i++) {
        is_str(canon(invalid[i]), "(invalid)", "canon refuses \"%s\"",
               invalid[i]);
    }

    is_int(prefs_locale_canon("en\0", 3, out, sizeof(out)), -1,
           "canon refuses a NUL byte");
    is_int(prefs_locale_canon("en-us", 5, out, 6), 5,
           "an out_size of len + 1 is enough");
    is_str(out, "en-US", "and is NUL-terminated");
    is_int(prefs_locale_canon("en-us", 5, out, 5), -1,
           "an out_size of len is not");
    is_int(prefs_locale_canon("*", 1, out, 1), -1,
           "\"*\" needs two bytes too");
    is_int(prefs_locale_canon("en-us", 2, out, sizeof(out)), 2,
           "only len bytes are read");
    is_str(out, "en", "the prefix");
}


static void
test_parse(void)
{
    is_str(parse("da, en-gb;q=0.8, en;q=0.7"), "da:1000 en-GB:800 en:700",
           "RFC 9110 example");
    is_str(parse("en;q=0.5, fr, de;q=0.9"), "fr:1000 de:900 en:500",
           "sorted by q");
    is_str(parse("fr;q=0.5, de;q=0.5, en;q=0.5, it"),
           "it:1000 fr:500 de:500 en:500", "ties keep header order");
    is_str(parse("en;q=0.3,fr;q=0.30,de;q=0.300,it;q=1,es;q=1.0"),
           "it:1000 es:1000 en:300 fr:300 de:300",
           "equal q written differently tie");
    is_str(parse(" en-US ; q = 0.5 ,\tfr\t;\tQ=1 "), "fr:1000 en-US:500",
           "spaces, tabs and an upper-case Q");
    is_str(parse("EN_us;q=0.5, ZH-hant-tw"), "zh-Hant-TW:1000 en-US:500",
           "ranges are canonicalized");
    is_str(parse("en, fr;q=0"), "en:1000 fr:0", "q=0 is kept");
    is_str(parse("*;q=0.1, en"), "en:1000 *:100", "a wildcard");
}


static void
test_qvalues(void)
{
    is_str(parse("en;q=0"), "en:0", "q=0");
    is_str(parse("en;q=0."), "en:0", "q=0.");
    is_str(parse("en;q=0.000"), "en:0", "q=0.000");
    is_str(parse("en;q=0.001"), "en:1", "q=0.001");
    is_str(parse("en;q=0.05"), "en:50", "q=0.05");
    is_str(parse("en;q=0.5"), "en:500", "q=0.5");
    is_str(parse("en;q=0.999"), "en:999", "q=0.999");
    is_str(parse("en;q=1"), "en:1000", "q=1");
    is_str(parse("en;q=1."), "en:1000", "q=1.");
    is_str(parse("en;q=1.000"), "en:1000", "q=1.000");
}


static void
test_garbage(void)
{
    size_t  i;

    static const char  *garbage[] = {
        "", ",", ",,,,", " , ,\t, ", ";;;", ";", "q=abc", ";q=0.5",
        "en;q=abc", "en;q=2", "en;q=0.1234", "en;q=1.001", "en;q=1.5",
        "en;q=.5", "en;q=-0.5", "en;q=+1", "en;q=", "en;q", "en;", "en;;",
        "en;level=1", "en;q=0.5;q=0.4", "en;q=0.5 x", "en fr", "en;q=0 .5",
        "en-", "-en", "e", "x-private", "en-abcdefghi", "=", "\"en\"",
        "en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd",
    };

    for (i = 0; i < NAVAIL(garbage); i++) {
        is_int(count(garbage[i], strlen(garbage[i])), 0,
               "garbage \"%s\" gives nothing", garbage[i]);
    }

    is_str(parse("en;q=2, fr;q=0.5, ;;;, q=abc, de, it;q=0.1234"),
           "de:1000 fr:500", "garbage entries are skipped, not fatal");
    is_str(parse_n("en\0,fr", 6, PREFS_LOCALE_MAX_RANGES), "fr:1000",
           "an entry with a NUL byte is skipped");
    is_str(parse_n("de;q=0.5\0, fr;\0q=1,it", 21, PREFS_LOCALE_MAX_RANGES),
           "it:1000", "NUL bytes after the range or the semicolon");
    is_int(count("\0\0\0", 3), 0, "only NUL bytes");
    is_str(parse_n("en,fr", 2, PREFS_LOCALE_MAX_RANGES), "en:1000",
           "only len bytes are read");
}


static void
test_limits(void)
{
    int                   n, i;
    char                 *h;
    size_t                len, k;
    prefs_locale_range_t  r[PREFS_LOCALE_MAX_RANGES + 8];

    is_str(parse_n("en;q=0.1, fr, de;q=0.5, it", 26, 2), "fr:1000 it:1000",
           "max keeps the highest q");
    is_str(parse_n("en;q=0.1, fr, de;q=0.5, it", 26, 3),
           "fr:1000 it:1000 de:500", "max 3");
    is_str(parse_n("en", 2, 0), "", "max 0");

    h = malloc(100000);
    if (h == NULL) {
        ok(0, "malloc");
        return;
    }

    /* 40 two-letter languages at q=0.5, then one at q=1 */

    len = 0;

    for (k = 0; k < 40; k++) {
        len += sprintf(h + len, "a%c;q=0.5,", (int) ('a' + k % 26));
    }

    len += sprintf(h + len, "zz");

    n = prefs_locale_accept_parse(h, len, r, PREFS_LOCALE_MAX_RANGES + 8);
    is_int(n, PREFS_LOCALE_MAX_RANGES, "at most %d ranges",
           PREFS_LOCALE_MAX_RANGES);
    is_str(r[0].tag, "zz", "a later, higher q still comes first");
    is_str(r[1].tag, "aa", "then header order");
    is_str(r[n - 1].tag, "ae", "the last kept");

    /* commas up to the limit, then an entry cut by it */

    memset(h, ',', 100000);
    memcpy(h, "de;q=0.9,", 9);
    memcpy(h + PREFS_LOCALE_MAX_HEADER - 2, "en;q=0,fr", 9);
    is_str(parse_n(h, PREFS_LOCALE_MAX_HEADER + 7, PREFS_LOCALE_MAX_RANGES),
           "de:900", "an entry cut by the limit is dropped, not taken as q=1");

    memcpy(h + PREFS_LOCALE_MAX_HEADER - 2, "en,fr", 5);
    is_str(parse_n(h, PREFS_LOCALE_MAX_HEADER + 5, PREFS_LOCALE_MAX_RANGES),
           "en:1000 de:900", "an entry ending at the limit is kept");

    is_str(parse_n(h, PREFS_LOCALE_MAX_HEADER, PREFS_LOCALE_MAX_RANGES),
           "en:1000 de:900", "a header of exactly the limit is read whole");

    memcpy(h + PREFS_LOCALE_MAX_HEADER - 2, "enx", 3);
    is_str(parse_n(h, PREFS_LOCALE_MAX_HEADER + 1, PREFS_LOCALE_MAX_RANGES),
           "de:900", "one byte over the limit");

    memset(h, 'a', 100000);
    is_int(count(h, 100000), 0, "100000 bytes without a comma");

    for (i = 0; i < 100000 / 3; i++) {
        memcpy(h + 3 * i, "en,", 3);
    }

    is_int(count(h, 100000), PREFS_LOCALE_MAX_RANGES,
           "100000 bytes of ranges");

    free(h);
}


static void
test_lookup(void)
{
    int                   m;
    prefs_locale_range_t  r[2];

    static const char  *acct[] = { "en-US", "de-DE", "fr-FR" };
    static const char  *zh[] = { "en", "zh", "zh-Hant" };
    static const char  *zh2[] = { "en", "zh" };
    static const char  *zh3[] = { "zh-Hans-CN", "zh-Hant-HK" };
    static const char  *rfc[] = { "zh-Hant-CN-x", "zh-Hant-CN", "zh" };
    static const char  *single[] = { "en-a", "en" };
    static const char  *spelled[] = { "en_US", "DE-de", "fr" };
    static const char  *german[] = { "de-DE", "de-AT", "en-US" };
    static const char  *english[] = { "en-US", "en-GB" };
    static const char  *exact[] = { "en-US", "en" };
    static const char  *swiss[] = { "de", "de-CH-1996" };
    static const char  *holes[] = { NULL, "", "fr" };

    is_str(negotiate("de-CH", acct, 3), "de-DE",
           "de-CH falls back to de, then to de-DE");
    is_int(last_match, PREFS_LOCALE_MATCH_PREFIX, "by prefix");
    is_str(negotiate("de-CH, en;q=0.5", acct, 3), "de-DE",
           "the fallback comes before a later language");
    is_str(negotiate("de", acct, 3), "de-DE", "a bare language");
    is_str(negotiate("en_us", acct, 3), "en-US", "en_us is en-US");
    is_int(last_match, PREFS_LOCALE_MATCH_EXACT, "exactly");
    is_str(negotiate("EN-us", acct, 3), "en-US", "case does not matter");
    is_str(negotiate("fr;q=0.5, de;q=0.8", acct, 3), "de-DE",
           "the higher q wins");
    is_str(negotiate("fr;q=0.5, de;q=0.5", acct, 3), "fr-FR",
           "a tie goes to the earlier range");
    is_str(negotiate("de;q=0.5, fr;q=0.5", acct, 3), "de-DE",
           "and the other way round");
    is_str(negotiate("it", acct, 3), "(none)", "no match");
    is_int(last_match, PREFS_LOCALE_MATCH_NONE, "no match is NONE");
    is_str(negotiate("", acct, 3), "(none)", "no header");
    is_str(negotiate(";;;", acct, 3), "(none)", "a garbage header");
    is_str(negotiate("it", acct, 0), "(none)", "no locales");

    /* "*" */

    is_str(negotiate("*", acct, 3), "en-US", "* takes the first");
    is_int(last_match, PREFS_LOCALE_MATCH_ANY, "as ANY");
    is_str(negotiate("it, *;q=0.1", acct, 3), "en-US",
           "* after a range that fails");
    is_str(negotiate("*, fr;q=0.5", acct, 3), "fr-FR",
           "* is skipped while other ranges follow (RFC 4647 3.4)");
    is_str(negotiate("en-US;q=0, *", acct, 3), "de-DE",
           "* skips an excluded locale");
    is_str(negotiate("en;q=0, de;q=0, *", acct, 3), "fr-FR",
           "* skips languages excluded");
    is_str(negotiate("*;q=0", acct, 3), "(none)", "*;q=0 alone");
    is_str(negotiate("*;q=0, fr", acct, 3), "fr-FR",
           "*;q=0 leaves what is asked for");
    is_str(negotiate("*;q=0, fr-CA", acct, 3), "fr-FR",
           "*;q=0 leaves the fallback of what is asked for");
    is_str(negotiate("*;q=0, fr-CA", holes, 3), "fr",
           "*;q=0 leaves the truncation of what is asked for");

    /* q=0 */

    is_str(negotiate("en-US;q=0", acct, 3), "(none)", "q=0 alone");
    is_str(negotiate("de;q=0, de-CH", acct, 3), "(none)",
           "de;q=0 rules out the fallback to de-DE");
    is_str(negotiate("de;q=0, de-CH", swiss, 1), "(none)",
           "and the truncation to de");
    is_str(negotiate("de;q=0, de-CH", swiss, 2), "de-CH-1996",
           "but not a locale under de-CH");
    is_str(negotiate("de-CH, de-DE;q=0, fr;q=0.5", acct, 3), "fr-FR",
           "de-DE;q=0 too");
    is_str(negotiate("en;q=0, en-US", acct, 3), "en-US",
           "a longer range with q > 0 overrides a shorter q=0");
    is_str(negotiate("en-US;q=0, en", english, 2), "en-GB",
           "a longer q=0 overrides a shorter range");
    is_str(negotiate("en, en;q=0", acct, 3), "(none)",
           "the same range with q=0 and q > 0: q=0 wins");

    /* truncation */

    is_str(negotiate("zh-Hant-TW", zh, 3), "zh-Hant", "zh-Hant-TW to zh-Hant");
    is_str(negotiate("zh-Hant-TW", zh2, 2), "zh", "zh-Hant-TW to zh");
    is_str(negotiate("zh-Hant-TW", zh3, 2), "zh-Hant-HK",
           "zh-Hant-TW to zh-Hant, then under it");
    is_int(last_match, PREFS_LOCALE_MATCH_PREFIX, "by prefix");
    is_str(negotiate("zh-Hant-CN-x-private1-private2", rfc, 3), "zh-Hant-CN",
           "RFC 4647 3.4 example: zh-Hant-CN-x is never a candidate");
    is_int(last_match, PREFS_LOCALE_MATCH_EXACT, "exactly");
    is_str(negotiate("en-a-bbb-x-ccc", single, 2), "en",
           "a singleton left at the end goes too");
    is_str(negotiate("en", exact, 2), "en", "an exact match beats a prefix");
    is_str(negotiate("de-CH", swiss, 2), "de-CH-1996",
           "a locale under the range beats a truncation");

    /* the prefix fallback prefers a locale the header names */

    is_str(negotiate("de-CH, de-AT", german, 3), "de-AT",
           "de-CH, de-AT takes de-AT, not the first de-*");
    is_int(last_match, PREFS_LOCALE_MATCH_EXACT, "exactly");
    is_str(negotiate("de-CH, en-US;q=0.9, de-AT;q=0.1", german, 3), "de-AT",
           "however low its q");
    is_str(negotiate("de-CH, de-IT", german, 3), "de-DE",
           "otherwise the first de-*");

    /* the account's spelling */

    is_str(negotiate("en-US", spelled, 3), "en_US", "an account's en_US");
    is_str(negotiate("de-CH", spelled, 3), "DE-de", "an account's DE-de");
    is_str(negotiate("fr-FR", spelled, 3), "fr", "fr-FR to fr");
    is_str(negotiate("*", holes, 3), "fr", "* skips NULL and \"\"");
    is_str(negotiate("fr", holes, 3), "fr", "NULL and \"\" do not match");

    /* direct calls */

    is_int(prefs_locale_canon("en", 2, r[0].tag, sizeof(r[0].tag)), 2,
           "a range by hand");
    r[0].len = 2;
    r[0].q = 1000;
    is_int(prefs_locale_lookup(r, 1, acct, 3, NULL), 0,
           "matched_by_header may be NULL");
    is_int(prefs_locale_lookup(r, 0, acct, 3, &m), -1, "no ranges");
    is_int(m, PREFS_LOCALE_MATCH_NONE, "NONE");

    r[0].len = 0;
    is_int(prefs_locale_lookup(r, 1, acct, 3, &m), -1,
           "an empty range matches nothing");
}


static void
test_find(void)
{
    static const char  *acct[] = { "en_US", "de-DE", "fr" };

    is_int(prefs_locale_find("en-us", 5, acct, 3), 0, "find en-us");
    is_int(prefs_locale_find("EN_US", 5, acct, 3), 0, "find EN_US");
    is_int(prefs_locale_find("de_de", 5, acct, 3), 1, "find de_de");
    is_int(prefs_locale_find("fr", 2, acct, 3), 2, "find fr");
    is_int(prefs_locale_find("de", 2, acct, 3), -1, "no fallback");
    is_int(prefs_locale_find("fr-FR", 5, acct, 3), -1, "no truncation");
    is_int(prefs_locale_find("en-US", 2, acct, 3), -1, "len is honoured");
    is_int(prefs_locale_find("", 0, acct, 3), -1, "empty");
}


int
main(void)
{
    test_canon();
    test_parse();
    test_qvalues();
    test_garbage();
    test_limits();
    test_lookup();
    test_find();

    /* "Accept-Language: null" is no preference, as no header */

    ok(prefs_locale_accept_none("null", 4), "null is no preference");
    ok(prefs_locale_accept_none(" NULL\t", 6), "in any case, with spaces");
    ok(!prefs_locale_accept_none("null, en", 8), "null among ranges is not");
    ok(!prefs_locale_accept_none("nul", 3), "nul is not");
    ok(!prefs_locale_accept_none("", 0), "an empty value is not");
    ok(!prefs_locale_accept_none("en-US", 5), "a range is not");

    return unit_done();
}
