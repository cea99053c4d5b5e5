
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_b64.h"
#include "prefs_link.h"


static const unsigned char  key[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char  other[32] = "fedcba9876543210fedcba9876543210";


static long
make(prefs_link_t *l, char *tok, size_t size)
{
    memset(l, 0, sizeof(prefs_link_t));
    l->account_id = 7;
    l->profile_id = 42;
    l->user_id = 3;
    l->expires = 1900000000;
    l->key_id = 1;
    l->account_gen = 2;
    l->profile_gen = 5;
    (void) prefs_link_scope_add(l, "preferences:read", 16);
    (void) prefs_link_scope_add(l, "unsubscribe:Newsletter", 22);

    return prefs_link_sign(l, key, sizeof(key), tok, size);
}


/* a token whose payload is the given text, signed with key */

static long
forge(const char *payload, char *tok, size_t size)
{
    long          n;
    prefs_link_t  l;
    char          good[PREFS_LINK_TOKEN_MAX + 1];

    (void) make(&l, good, sizeof(good));

    memcpy(tok, "pl1.", 4);
    n = prefs_b64_encode((const unsigned char *) payload, strlen(payload),
                         tok + 4, size - 4, PREFS_B64_URL);
    /* the signature of the good token: wrong, but the right shape */
    memcpy(tok + 4 + n, strrchr(good, '.'), 44 + 1);

    return 4 + n + 44;
}


int
main(void)
{
    int           rc;
    long          n, m;
    char          tok[PREFS_LINK_TOKEN_MAX + 1], bad[PREFS_LINK_TOKEN_MAX + 1];
    char          text[256];
    prefs_link_t  l, got;

    n = make(&l, tok, sizeof(tok));
    ok(n > 0 && (size_t) n == strlen(tok), "a token is made: %s", tok);
    ok(prefs_link_is_token(tok, n), "it has the prefix");
    ok(!prefs_link_is_token("pl1.", 4), "the prefix alone is not a token");
    ok(!prefs_link_is_token("abc", 3), "a bearer token is not a link");

    is_int(prefs_link_verify(tok, n, key, sizeof(key)), PREFS_LINK_OK,
           "its signature verifies under its key");
    is_int(prefs_link_verify(tok, n, other, sizeof(other)), PREFS_LINK_BAD,
           "not under another key");
    is_int(prefs_link_verify(tok, n, key, 0), PREFS_LINK_ERROR,
           "never under an empty key");

    rc = prefs_link_parse(tok, n, &got);
    is_int(rc, PREFS_LINK_OK, "its claims are read");
    ok(got.account_id == 7 && got.profile_id == 42 && got.user_id == 3
       && got.expires == 1900000000 && got.key_id == 1
       && got.account_gen == 2 && got.profile_gen == 5,
       "account, profile, user, expiry, key, generations");
    ok(got.scopes == (PREFS_LINK_PREFERENCES_READ|PREFS_LINK_UNSUBSCRIBE)
       && got.nfilters == 1, "its scopes");
    ok(prefs_link_grants_filter(&got, "Newsletter", 10),
       "it grants its filter");
    ok(!prefs_link_grants_filter(&got, "Newsletter2", 11)
       && !prefs_link_grants_filter(&got, "Newslette", 9),
       "and no other");

    m = prefs_link_scopes_text(&got, text, sizeof(text));
    is_str(text, "preferences:read,unsubscribe:Newsletter",
           "scopes as text (%ld)", m);

    /* every byte altered is refused */

    rc = 0;
    for (m = 0; m < n; m++) {
        memcpy(bad, tok, n + 1);
        bad[m] = (bad[m] == 'A') ? 'B' : 'A';
        if (prefs_link_verify(bad, n, key, sizeof(key)) == PREFS_LINK_OK) {
            rc++;
        }
    }
    is_int(rc, 0, "no altered byte verifies");
    is_int(prefs_link_verify(tok, n - 1, key, sizeof(key)), PREFS_LINK_BAD,
           "a cut token is refused");

    /* malformed payloads */

    n = forge("1|7|42|3|1900000000|1|2|5|preferences:read", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_OK, "a forged shape");
    n = forge("2|7|42|3|1900000000|1|2|5|preferences:read", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "version 2");
    n = forge("1|07|42|3|1900000000|1|2|5|preferences:read", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "a leading zero");
    n = forge("1|0|42|3|1900000000|1|2|5|preferences:read", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "account 0");
    n = forge("1|-7|42|3|1900000000|1|2|5|preferences:read", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "a sign");
    n = forge("1|7|42|3|1900000000|1|2|5|", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "no scope");
    n = forge("1|7|42|3|1900000000|1|2|5|preferences:read,", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "a trailing comma");
    n = forge("1|7|42|3|1900000000|1|2|5|admin", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "an unknown scope");
    n = forge("1|7|42|3|1900000000|1|2|99999999999|preferences:read", bad,
              sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD,
           "a generation beyond 32 bits");
    n = forge("1|7|42|3|99999999999999999999|1|2|5|preferences:read", bad,
              sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD,
           "an expiry beyond 64 bits");
    n = forge("1|7|42|3|1900000000|1|2|5|unsubscribe:a|b", bad, sizeof(bad));
    is_int(prefs_link_parse(bad, n, &got), PREFS_LINK_BAD, "a bar in a filter");
    is_int(prefs_link_parse("pl1.!!!.x", 9, &got), PREFS_LINK_BAD,
           "not base64");

    /* scopes */

    memset(&l, 0, sizeof(l));
    is_int(prefs_link_scope_add(&l, "unsubscribe:", 12), PREFS_LINK_BAD_SCOPE,
           "an empty filter");
    is_int(prefs_link_scope_add(&l, "unsubscribe:a/b", 15),
           PREFS_LINK_BAD_SCOPE, "a slash in a filter");
    is_int(prefs_link_scope_add(&l, "Preferences:Read", 16),
           PREFS_LINK_BAD_SCOPE, "scopes are case-sensitive");
    for (m = 0; m < PREFS_LINK_MAX_FILTERS; m++) {
        snprintf(text, sizeof(text), "unsubscribe:F%ld", m);
        (void) prefs_link_scope_add(&l, text, strlen(text));
    }
    is_int(prefs_link_scope_add(&l, "unsubscribe:F0", 14), PREFS_LINK_OK,
           "a filter given twice counts once");
    is_int(prefs_link_scope_add(&l, "unsubscribe:G", 13), PREFS_LINK_TOO_MANY,
           "at most %d filters", PREFS_LINK_MAX_FILTERS);

    /* the largest link: every scope, 8 filters of 64 characters, 19 digits */

    memset(&l, 0, sizeof(l));
    l.account_id = INT64_MAX; l.profile_id = INT64_MAX; l.user_id = INT64_MAX;
    l.expires = INT64_MAX; l.key_id = UINT32_MAX; l.account_gen = UINT32_MAX;
    l.profile_gen = UINT32_MAX;
    (void) prefs_link_scope_add(&l, "preferences:read", 16);
    (void) prefs_link_scope_add(&l, "preferences:write", 17);
    (void) prefs_link_scope_add(&l, "consents:write", 14);
    for (m = 0; m < PREFS_LINK_MAX_FILTERS; m++) {
        snprintf(text, sizeof(text), "unsubscribe:%ld%063d", m, 0);
        (void) prefs_link_scope_add(&l, text, strlen(text));
    }
    is_int(l.nfilters, PREFS_LINK_MAX_FILTERS, "8 filters of 64 characters");
    n = prefs_link_sign(&l, key, sizeof(key), tok, sizeof(tok));
    ok(n > 0 && prefs_link_verify(tok, n, key, sizeof(key)) == PREFS_LINK_OK,
       "the largest link is made and verifies (%ld characters)", n);
    ok(prefs_link_parse(tok, n, &got) == PREFS_LINK_OK
       && got.account_id == INT64_MAX && got.profile_gen == UINT32_MAX
       && got.nfilters == PREFS_LINK_MAX_FILTERS
       && strcmp(got.filters[7], l.filters[7]) == 0, "and reads back");

    l.account_id = 1; l.profile_id = 1; l.user_id = 1; l.key_id = 1;
    is_int(prefs_link_sign(&l, key, sizeof(key), tok, 40), PREFS_LINK_ERROR,
           "a short buffer");

    /* the edge scope (docs/edge.md): a visitor's session token */
    {
        char          text[128];
        prefs_link_t  e, back;

        memset(&e, 0, sizeof(e));
        e.account_id = 7; e.profile_id = 42; e.user_id = 3;
        e.expires = 1900000000; e.key_id = 1;
        is_int(prefs_link_scope_add(&e, "edge", 4), PREFS_LINK_OK,
               "the edge scope");
        ok(e.scopes == PREFS_LINK_EDGE, "edge alone");
        ok(prefs_link_scopes_text(&e, text, sizeof(text)) > 0
           && strcmp(text, "edge") == 0, "edge as text");
        n = prefs_link_sign(&e, key, sizeof(key), tok, sizeof(tok));
        ok(n > 0 && prefs_link_parse(tok, n, &back) == PREFS_LINK_OK
           && back.scopes == PREFS_LINK_EDGE, "an edge token reads back");
        is_int(prefs_link_scope_add(&e, "edges", 5), PREFS_LINK_BAD_SCOPE,
               "edges is no scope");
    }

    return unit_done();
}
