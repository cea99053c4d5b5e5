
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_edge.h"


#define STATE  "fr-CA\nanalytics:1,marketing:3\nnewsletter:1,offers:0"


static void
test_state(void)
{
    size_t       len;
    const char  *v;

    is_int(prefs_edge_state_check(STATE, sizeof(STATE) - 1), PREFS_EDGE_OK,
           "a state");
    is_int(prefs_edge_state_check("\n\n", 2), PREFS_EDGE_OK,
           "a profile with nothing");

    is_int(prefs_edge_state_get(STATE, sizeof(STATE) - 1, PREFS_EDGE_LOCALE,
                                NULL, 0, &v, &len), PREFS_EDGE_OK, "locale");
    ok(len == 5 && memcmp(v, "fr-CA", 5) == 0, "locale fr-CA");

    is_int(prefs_edge_state_get(STATE, sizeof(STATE) - 1, PREFS_EDGE_CONSENTS,
                                "Marketing", 9, &v, &len), PREFS_EDGE_OK,
           "a consent, any case");
    ok(len == 1 && v[0] == '3', "its status");
    is_str(prefs_edge_consent_name(v, len), "Revoked", "Revoked");

    is_int(prefs_edge_state_get(STATE, sizeof(STATE) - 1, PREFS_EDGE_CONSENTS,
                                "market", 6, &v, &len), PREFS_EDGE_NONE,
           "a prefix is not a name");
    is_int(prefs_edge_state_get(STATE, sizeof(STATE) - 1, PREFS_EDGE_CONSENTS,
                                "newsletter", 10, &v, &len), PREFS_EDGE_NONE,
           "a filter is not a consent");
    is_int(prefs_edge_state_get(STATE, sizeof(STATE) - 1, PREFS_EDGE_OPTINS,
                                "offers", 6, &v, &len), PREFS_EDGE_OK,
           "an opt-in");
    ok(len == 1 && v[0] == '0', "opted out");
    is_int(prefs_edge_state_get("\n\n", 2, PREFS_EDGE_LOCALE, NULL, 0, &v,
                                &len), PREFS_EDGE_NONE, "no locale");

    is_int(prefs_edge_consent_status("granted", 7), 1, "granted");
    is_int(prefs_edge_consent_status("NotSet", 6), 4, "NotSet");
    is_int(prefs_edge_consent_status("Grant", 5), 0, "not a status");
    ok(prefs_edge_consent_name("5", 1) == NULL, "5 is no status");

    is_int(prefs_edge_state_check("en\na:5\n", 7), PREFS_EDGE_BAD,
           "a consent status of 5");
    is_int(prefs_edge_state_check("en\na:1\nb:2", 10), PREFS_EDGE_BAD,
           "an opt-in of 2");
    is_int(prefs_edge_state_check("en\na:1,\n", 8), PREFS_EDGE_BAD,
           "a trailing comma");
    is_int(prefs_edge_state_check("en\na-b:1\n", 9), PREFS_EDGE_BAD,
           "a name out of [A-Za-z0-9_]");
    is_int(prefs_edge_state_check("en\n:1\n", 6), PREFS_EDGE_BAD,
           "no name");
    is_int(prefs_edge_state_check("en\na:12\n", 8), PREFS_EDGE_BAD,
           "two digits");
    is_int(prefs_edge_state_check("en\na:1", 6), PREFS_EDGE_BAD,
           "two lines");
    is_int(prefs_edge_state_check("en\n\n\n", 5), PREFS_EDGE_BAD,
           "four lines");
    is_int(prefs_edge_state_check("e n\n\n", 5), PREFS_EDGE_BAD,
           "a space in the locale");
    is_int(prefs_edge_state_check("en\n\nx:1\0", 8), PREFS_EDGE_BAD,
           "a NUL");
}


static void
test_cache(void)
{
    int                  i, found;
    prefs_edge_cache_t   c;
    prefs_edge_entry_t  *e;

    is_int(prefs_edge_cache_init(&c, 0), PREFS_EDGE_ERROR, "no empty cache");
    is_int(prefs_edge_cache_init(&c, 3), PREFS_EDGE_OK, "a cache of 3");

    ok(prefs_edge_cache_get(&c, 1, 1) == NULL, "empty");
    ok(prefs_edge_cache_put(&c, 1, 1, "x", 1) == NULL, "not a state");

    ok(prefs_edge_cache_put(&c, 1, 1, STATE, sizeof(STATE) - 1) != NULL,
       "1/1");
    ok(prefs_edge_cache_put(&c, 1, 2, "\n\n", 2) != NULL, "1/2");
    ok(prefs_edge_cache_put(&c, 2, 1, "\n\n", 2) != NULL, "2/1");

    e = prefs_edge_cache_get(&c, 1, 1);
    ok(e && strcmp(e->state, STATE) == 0, "1/1 kept, made recent");

    ok(prefs_edge_cache_put(&c, 3, 3, "\n\n", 2) != NULL, "3/3");
    is_int(c.n, 3, "still 3");
    ok(prefs_edge_cache_get(&c, 1, 2) == NULL, "the least recent went");
    ok(prefs_edge_cache_get(&c, 1, 1) != NULL, "the recent stayed");
    is_int(c.evicted, 1, "one evicted");

    e = prefs_edge_cache_put(&c, 1, 1, "de\n\n", 4);
    ok(e && strcmp(e->state, "de\n\n") == 0, "replaced");
    is_int(c.n, 3, "a replacement adds nothing");
    is_int(c.evicted, 1, "and evicts nothing");

    /* the bound holds under many profiles, and each lookup finds its own */

    for (i = 0; i < 10000; i++) {
        (void) prefs_edge_cache_put(&c, 9, i, "\n\n", 2);
    }

    is_int(c.n, 3, "at most 3 after 10000");
    ok(c.bytes == 3 * (sizeof(prefs_edge_entry_t) + 3), "bytes of 3");

    found = 0;
    for (i = 0; i < 10000; i++) {
        found += prefs_edge_cache_get(&c, 9, i) != NULL;
    }

    is_int(found, 3, "the last 3 found");
    ok(prefs_edge_cache_get(&c, 9, 9999) != NULL, "the last one");
    ok(prefs_edge_cache_get(&c, 9, 9996) == NULL, "an older one is gone");

    /* the verified token text an entry remembers */
    e = prefs_edge_cache_get(&c, 9, 9999);
    ok(e && !prefs_edge_entry_token_is(e, "pl1.a.b", 7), "no token yet");
    prefs_edge_entry_token_set(e, "pl1.a.b", 7);
    ok(prefs_edge_entry_token_is(e, "pl1.a.b", 7), "the token remembered");
    ok(!prefs_edge_entry_token_is(e, "pl1.a.c", 7), "another text is not it");
    ok(!prefs_edge_entry_token_is(e, "pl1.a.b.", 8), "nor a longer one");
    ok(!prefs_edge_entry_token_is(e, "pl1.a.", 6), "nor a prefix");
    {
        char  big[PREFS_EDGE_TOKEN_KEEP + 1];

        memset(big, 'x', sizeof(big));
        prefs_edge_entry_token_set(e, big, sizeof(big));
        ok(!prefs_edge_entry_token_is(e, big, sizeof(big)),
           "a token past the bound is not remembered");
        ok(!prefs_edge_entry_token_is(e, "pl1.a.b", 7),
           "and the one before is forgotten");
    }

    prefs_edge_cache_free(&c);
    is_int(c.n, 0, "freed");
}


int
main(void)
{
    test_state();
    test_cache();

    return unit_done();
}
