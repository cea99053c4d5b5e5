
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_query.h"


static char  got[1024], err[256];


static int
parse(const char *q)
{
    int      rc;
    char    *s;
    json_t  *o;

    err[0] = '\0';
    rc = prefs_query_parse(q, strlen(q), &o, err, sizeof(err));

    if (rc == 0) {
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(got, sizeof(got), "%s", s);
        free(s);
        json_decref(o);

    } else {
        snprintf(got, sizeof(got), "error: %s", err);
    }

    return rc;
}


int
main(void)
{
    parse("emailAddress=a%40b.c&includeConsentHistory=true");
    is_str(got, "{\"emailAddress\":\"a@b.c\",\"includeConsentHistory\":"
           "\"true\"}", "plain parameters, decoded");

    parse("customFields[0].Name=Tier&customFields[0].Value=Gold+Plus"
          "&customFields[1].Name=X&customFields[1].Value=");
    is_str(got, "{\"customFields\":[{\"Name\":\"Tier\",\"Value\":"
           "\"Gold Plus\"},{\"Name\":\"X\",\"Value\":\"\"}]}",
           "indexed parameters");

    parse("attributes%5B0%5D.Key=a&attributes%5B0%5D.Value=b");
    is_str(got, "{\"attributes\":[{\"Key\":\"a\",\"Value\":\"b\"}]}",
           "escaped brackets");

    parse("");
    is_str(got, "{}", "nothing");
    parse("&&a=1&&");
    is_str(got, "{\"a\":\"1\"}", "empty pieces are skipped");
    parse("flag");
    is_str(got, "{\"flag\":\"\"}", "a name without a value");

    ok(parse("a=1&a=2") == -1 && strstr(err, "twice"), "a repeated name");
    ok(parse("a=%zz") == -1 && strstr(err, "badly encoded"), "a bad escape");
    ok(parse("a=%00") == -1, "an encoded NUL");
    ok(parse("c[1].Name=x") == -1 && strstr(err, "comes before"),
       "an index with a gap");
    ok(parse("c[50].Name=x") == -1, "an index too large");
    ok(parse("c[-1].Name=x") == -1, "a negative index");
    parse("sourceGroupIds[0]=3&sourceGroupIds[1]=5");
    is_str(got, "{\"sourceGroupIds\":[\"3\",\"5\"]}",
           "an indexed list of values");
    ok(parse("c[1]=x") == -1 && strstr(err, "comes before"),
       "a list with a gap");
    ok(parse("c[0]=x&c[0]=y") == -1 && strstr(err, "twice"),
       "a list item twice");
    ok(parse("c[0]=x&c[0].N=y") == -1, "an item both a value and fields");
    ok(parse("c[0].N=y&c[0]=x") == -1, "the other way round");
    ok(parse("c[0].N=y&c[1]=x") == -1 && strstr(err, "mixes"),
       "a list of items and values");
    ok(parse("c[0]=x&c[1].N=y") == -1 && strstr(err, "mixes"),
       "a list of values and items");
    ok(parse("c[0]x=1") == -1, "something after the bracket");
    ok(parse("a=%ff") == -1, "a value not UTF-8");
    ok(parse("c[0]=%c3") == -1,
       "a list item not UTF-8");
    ok(parse("c[0].N=%ff") == -1,
       "a field not UTF-8");
    ok(parse("c[0].Na-me=x") == -1, "a bad field name");
    ok(parse("c[0].N=x&c[0].N=y") == -1 && strstr(err, "twice"),
       "an indexed field twice");
    ok(parse("a$b=1") == -1, "a bad name");
    ok(parse("c=1&c[0].N=x") == -1, "a name both plain and indexed");

    /* one rule, in any case: a name is one name however it is spelled */

    ok(parse("limit=1&LIMIT=2") == -1 && strstr(err, "LIMIT is given twice"),
       "a name repeated in another case");
    ok(parse("c[0].N=x&c[0].n=y") == -1 && strstr(err, "twice"),
       "a field repeated in another case");
    parse("Ids[0]=1&ids[1]=2");
    is_str(got, "{\"Ids\":[\"1\",\"2\"]}",
           "an indexed list in two spellings is one list");
    ok(parse("Ids[0]=1&ids[0]=2") == -1 && strstr(err, "twice"),
       "an index repeated in another case");
    ok(parse("a=1&A[0]=2") == -1, "plain and indexed in two spellings");

    /* values: "+" is a space, %2D a hyphen; what a message quotes is escaped */

    parse("locale=fr%2DFR&q=a+b%2Bc");
    is_str(got, "{\"locale\":\"fr-FR\",\"q\":\"a b+c\"}",
           "percent-decoded values");
    ok(parse("a%0A=1") == -1 && strstr(err, "name is badly encoded")
       && strchr(err, '\n') == NULL, "a control byte in a name");
    ok(parse("a%E2%80%AE=1") == -1 && strstr(err, "a%E2%80%AE")
       && strstr(err, "\xe2") == NULL, "U+202E in a name is quoted escaped");
    ok(parse("a=%0D%0A") == -1 && strstr(err, "the value of a"),
       "control bytes in a value");
    ok(parse("x=%80") == -1 && strstr(err, "UTF-8"), "not UTF-8");
    ok(prefs_query_get(NULL, "a") == NULL, "nothing to look in");

    {
        char    buf[8];
        json_t  *o;

        is_str(prefs_query_escape("ab\x01\xff%", 5, buf, sizeof(buf)),
               "ab%01", "escape cuts whole escapes");
        ok(prefs_query_parse("Locale=x", 8, &o, err, sizeof(err)) == 0
           && json_is_string(prefs_query_get(o, "locale"))
           && prefs_query_get(o, "limit") == NULL, "lookup in any case");
        json_decref(o);
    }

    return unit_done();
}
