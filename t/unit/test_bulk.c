
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_bulk.h"


/* prefs_bulk_value on an exact-size copy (ASan sees any overread) */

static int
value(const char *s, size_t *used)
{
    int          rc;
    char        *copy;
    size_t       len;
    const char  *err;

    len = strlen(s);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);
    rc = prefs_bulk_value(copy, len, used, &err);
    free(copy);

    return rc;
}


/*
 * Every record of a body fed through a window of w bytes, as the worker
 * does: records joined by "|", BAD records as "!", and the final code.
 */

static int
split(const char *body, int format, size_t w, size_t max, char *out)
{
    int          rc, eof;
    char        *win;
    size_t       have, off, total, start, end, used, n;
    const char  *err;
    prefs_bulk_t b;

    prefs_bulk_init(&b, format, max);
    total = strlen(body);
    win = malloc(w);
    have = 0;
    off = 0;
    *out = '\0';

    for ( ;; ) {
        n = total - off < w - have ? total - off : w - have;
        memcpy(win + have, body + off, n);
        have += n;
        off += n;
        eof = (off == total);

        rc = prefs_bulk_next(&b, win, have, eof, &start, &end, &used, &err);

        if (rc == PREFS_BULK_RECORD) {
            strncat(out, win + start, end - start);
            strcat(out, "|");

        } else if (rc == PREFS_BULK_BAD) {
            strcat(out, "!|");

        } else if (rc != PREFS_BULK_MORE) {
            break;
        }

        if (rc == PREFS_BULK_MORE && used == 0 && have == w) {
            rc = -1;     /* stuck: a bug */
            break;
        }

        memmove(win, win + used, have - used);
        have -= used;
    }

    free(win);

    return rc;
}


int
main(void)
{
    char    out[4096];
    size_t  used, w;

    /* values */

    is_int(value("{\"a\":[1,2.5e3,-0,true,null,\"x\\u00e9\"]}", &used), 0,
           "an object");
    is_int(used, 38, "its length");
    is_int(value("{\"a\":1} x", &used), 0, "a value then more");
    is_int(used, 7, "only the value");
    is_int(value("{\"a\":", &used), 1, "a prefix");
    is_int(value("{\"a\":tru", &used), 1, "a prefix in a literal");
    is_int(value("[1,2", &used), 1, "a number at the end of a prefix");
    is_int(value("12", &used), 0, "a number alone is whole");
    is_int(value("{\"a\":01}", &used), -1, "a leading zero");
    is_int(value("{\"a\":1,}", &used), -1, "a trailing comma");
    is_int(value("{a:1}", &used), -1, "a bare name");
    is_int(value("[\"\x01\"]", &used), -1, "a control character");
    is_int(value("[\"\\u0000\"]", &used), -1, "\\u0000, which jsonb refuses");
    is_int(value("[\"\\x\"]", &used), -1, "a bad escape");
    is_int(value("[\"\\ud83d\\ude00\"]", &used), 0, "a surrogate pair");
    is_int(value("[\"\\ud83d\"]", &used), -1, "a lone high surrogate");
    is_int(value("[\"\\ude00\"]", &used), -1, "a lone low surrogate");
    is_int(value("[\"\\ud83d\\u0041\"]", &used), -1, "a high surrogate, then no low one");
    is_int(value("[\"\\ud83d\\ud", &used), 1, "a pair cut short is a prefix");
    is_int(value("[\"\xc3\x28\"]", &used), -1, "bad UTF-8");
    is_int(value("[\"\xed\xa0\x80\"]", &used), -1, "an encoded surrogate");
    is_int(value("[\"\xc0\xaf\"]", &used), -1, "an overlong encoding");
    is_int(value("[\"\xe2\x82", &used), 1, "UTF-8 cut short is a prefix");
    is_int(value("[\"\xe2\x82\xac\"]", &used), 0, "the euro sign");
    is_int(value("[1}", &used), -1, "a mismatched end");
    is_int(value("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                 "[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                 "]]]]]]]]]]]]]]]]]", &used), -1, "65 levels");
    is_int(value("nul", &used), 1, "a cut literal");
    is_int(value("nulx", &used), -1, "a bad literal");

    /* a JSON body, through windows of every size that holds its field */

    for (w = 30; w <= 72; w += 7) {
        is_int(split(" { \"UserProfilePreferences\" : [ {\"a\":1} ,\n"
                     "{\"b\":[2, 3]}, {\"c\":\"]\"} ] } ", PREFS_BULK_JSON,
                     w, 16, out), PREFS_BULK_END, "JSON body, window %zu", w);
        is_str(out, "{\"a\":1}|{\"b\":[2, 3]}|{\"c\":\"]\"}|",
               "its records, window %zu", w);
    }

    is_int(split("{\"userprofilepreferences\":[]}", PREFS_BULK_JSON, 64, 64,
                 out), PREFS_BULK_END, "the field in any case, no record");
    is_str(out, "", "no record");
    is_int(split("{\"Other\":[]}", PREFS_BULK_JSON, 64, 64, out),
           PREFS_BULK_ERROR, "another field");
    is_int(split("{\"UserProfilePreferences\":[{}]} x", PREFS_BULK_JSON, 64,
                 64, out), PREFS_BULK_ERROR, "something after the body");
    is_int(split("{\"UserProfilePreferences\":[{},]}", PREFS_BULK_JSON, 64,
                 64, out), PREFS_BULK_ERROR, "a trailing comma");
    is_int(split("{\"UserProfilePreferences\":[{} {}]}", PREFS_BULK_JSON, 64,
                 64, out), PREFS_BULK_ERROR, "a missing comma");
    is_int(split("{\"UserProfilePreferences\":[{\"a\":1", PREFS_BULK_JSON, 64,
                 64, out), PREFS_BULK_ERROR, "a body cut short");
    is_int(split("", PREFS_BULK_JSON, 64, 64, out), PREFS_BULK_ERROR,
           "an empty body");
    is_int(split("{\"UserProfilePreferences\":[{\"a\":\"0123456789abcdef\"}]}",
                 PREFS_BULK_JSON, 64, 16, out), PREFS_BULK_ERROR,
           "a record longer than the longest");

    /* NDJSON: a bad line is a BAD record, the others go on */

    for (w = 16; w <= 40; w += 3) {
        is_int(split("{\"a\":1}\n\n  {\"b\":2}\r\n{bad}\n[1,\n{\"c\":3} 4\n"
                     "{\"d\":4}", PREFS_BULK_NDJSON, w, 16, out),
               PREFS_BULK_END, "NDJSON, window %zu", w);
        is_str(out, "{\"a\":1}|{\"b\":2}|!|!|!|{\"d\":4}|",
               "its records, window %zu", w);
    }

    is_int(split("{\"a\":\"0123456789abcdef\"}\n", PREFS_BULK_NDJSON, 32, 16,
                 out), PREFS_BULK_ERROR, "an NDJSON line too long");
    is_int(split("\n \n", PREFS_BULK_NDJSON, 32, 16, out), PREFS_BULK_END,
           "blank lines only");
    is_str(out, "", "no record");

    /* CSV: rows (quoted line feeds stay inside), then each as JSON */

    for (w = 20; w <= 50; w += 5) {
        is_int(split("Name,Note\r\n\"Ann\",\"two\nlines\"\r\n\nBob,x\n", PREFS_BULK_CSV, w,
                     19, out), PREFS_BULK_END, "CSV, window %zu", w);
        is_str(out, "Name,Note|\"Ann\",\"two\nlines\"|Bob,x|", "its rows, window %zu", w);
    }

    is_int(split("a,\"b\n", PREFS_BULK_CSV, 32, 16, out), PREFS_BULK_ERROR,
           "a quote left open");

    {
        char         js[128];
        size_t       n;
        const char  *err;

        static const char  row[] = "a,\"b,\"\"c\"\"\",,\"\",\\\t\xc3\xa9";

        is_int(prefs_bulk_csv_json(row, sizeof(row) - 1, js, sizeof(js), &n,
                                   &err), 0, "a row as JSON");
        is_str(js, "[\"a\",\"b,\\\"c\\\"\",\"\",\"\",\"\\\\\\u0009\xc3\xa9\"]",
               "quotes, empty fields, escapes, UTF-8");
        is_int(n, strlen(js), "its length");
        is_int(prefs_bulk_csv_json("", 0, js, sizeof(js), &n, &err), 0,
               "an empty row");
        is_str(js, "[\"\"]", "one empty field");
        is_int(prefs_bulk_csv_json("a\"b", 3, js, sizeof(js), &n, &err), -1,
               "a quote in a bare field");
        is_int(prefs_bulk_csv_json("\"ab\"c", 5, js, sizeof(js), &n, &err), -1,
               "text after a quoted field");
        is_int(prefs_bulk_csv_json("\xff", 1, js, sizeof(js), &n, &err), -1,
               "not UTF-8");
        is_int(prefs_bulk_csv_json("abcdefghij", 10, js, 12, &n, &err), -1,
               "too long once escaped");
    }

    return unit_done();
}
