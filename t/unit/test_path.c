
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_path.h"


static int
split(const char *path, prefs_path_t *out, char **bufp)
{
    size_t  len = strlen(path);

    *bufp = realloc(*bufp, len + PREFS_PATH_MAX_SEGMENTS + 1);
    return prefs_path_split(path, len, *bufp, out);
}


static void
test_split(void)
{
    char          *buf = NULL;
    prefs_path_t   p;

    is_int(split("/Profiles/v4/Acme/Programs", &p, &buf), PREFS_PATH_OK,
           "plain path splits");
    is_int(p.n, 4, "four segments");
    is_str(p.seg[2].data, "Acme", "third segment");
    is_int(p.seg[3].len, 8, "segment length");

    is_int(split("//a///b/", &p, &buf), PREFS_PATH_OK, "empty segments");
    is_int(p.n, 2, "empty segments are skipped");

    is_int(split("/", &p, &buf), PREFS_PATH_OK, "root");
    is_int(p.n, 0, "root has no segments");

    is_int(split("", &p, &buf), PREFS_PATH_OK, "empty path");
    is_int(p.n, 0, "empty path has no segments");

    is_int(split("/a%20b/%41%62", &p, &buf), PREFS_PATH_OK, "escapes");
    is_str(p.seg[0].data, "a b", "%%20 decodes to a space");
    is_str(p.seg[1].data, "Ab", "hex digits in either case");

    is_int(split("/a%2Fb", &p, &buf), PREFS_PATH_OK, "escaped slash");
    is_int(p.n, 1, "an escaped slash does not split");
    is_str(p.seg[0].data, "a/b", "escaped slash is kept in the segment");

    is_int(split("/a+b", &p, &buf), PREFS_PATH_OK, "plus in a path");
    is_str(p.seg[0].data, "a+b", "plus stays a plus in a path");

    is_int(split("/a%", &p, &buf), PREFS_PATH_BAD_ESCAPE, "lone percent");
    is_int(split("/a%4", &p, &buf), PREFS_PATH_BAD_ESCAPE, "short escape");
    is_int(split("/a%zz", &p, &buf), PREFS_PATH_BAD_ESCAPE, "non-hex escape");
    is_int(split("/a%4/b", &p, &buf), PREFS_PATH_BAD_ESCAPE,
           "escape cut by a slash");
    is_int(split("/a%00b", &p, &buf), PREFS_PATH_NUL, "encoded NUL");
    is_int(split("/a%0Ab", &p, &buf), PREFS_PATH_NUL, "encoded newline");
    is_int(split("/a%7F", &p, &buf), PREFS_PATH_NUL, "encoded DEL");
    is_int(split("/a%FFb", &p, &buf), PREFS_PATH_BAD_UTF8, "invalid UTF-8");
    is_int(split("/%C3%A9t%C3%A9", &p, &buf), PREFS_PATH_OK, "UTF-8");
    is_str(p.seg[0].data, "\xc3\xa9t\xc3\xa9", "UTF-8 decoded");
    is_int(split("/a/../b", &p, &buf), PREFS_PATH_DOT, "dot-dot segment");
    is_int(split("/a/%2E%2E/b", &p, &buf), PREFS_PATH_DOT,
           "encoded dot-dot segment");
    is_int(split("/./b", &p, &buf), PREFS_PATH_DOT, "dot segment");
    is_int(split("/a.b/..c", &p, &buf), PREFS_PATH_OK, "dots inside names");

    is_int(split("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", &p, &buf),
           PREFS_PATH_OK, "sixteen segments");
    is_int(split("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", &p, &buf),
           PREFS_PATH_TOO_MANY, "seventeen segments");

    free(buf);
}


static void
test_split_decoded(void)
{
    char          buf[64];
    prefs_path_t  p;

    is_int(prefs_path_split_decoded("/a%41/b c", 9, buf, &p), PREFS_PATH_OK,
           "a decoded path splits");
    is_int(p.n, 2, "two segments");
    is_str(p.seg[0].data, "a%41", "a percent sign is kept as it is");
    is_str(p.seg[1].data, "b c", "a space is kept");
    is_int(prefs_path_split_decoded("/a\nb", 4, buf, &p), PREFS_PATH_NUL,
           "a control byte is refused");
    is_int(prefs_path_split_decoded("/a\xff" "b", 4, buf, &p),
           PREFS_PATH_BAD_UTF8, "invalid UTF-8 is refused");
    is_int(prefs_path_split_decoded("/a/../b", 7, buf, &p), PREFS_PATH_DOT,
           "a dot-dot segment is refused");
}


static void
test_utf8(void)
{
    ok(prefs_path_utf8_valid("", 0), "empty is valid");
    ok(prefs_path_utf8_valid("abc", 3), "ASCII is valid");
    ok(prefs_path_utf8_valid("\xe2\x82\xac", 3), "euro sign");
    ok(prefs_path_utf8_valid("\xf0\x9f\x98\x80", 4), "emoji");
    ok(!prefs_path_utf8_valid("\xc0\xaf", 2), "overlong slash");
    ok(!prefs_path_utf8_valid("\xe0\x80\xaf", 3), "overlong three bytes");
    ok(!prefs_path_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    ok(!prefs_path_utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF");
    ok(!prefs_path_utf8_valid("\xe2\x82", 2), "truncated");
    ok(!prefs_path_utf8_valid("\x80", 1), "lone continuation");
    ok(!prefs_path_utf8_valid("\xf5\x80\x80\x80", 4), "F5 lead byte");
}


static void
test_decode(void)
{
    char  out[32];
    long  n;

    n = prefs_path_percent_decode("a+b%2B", 6, out, 1);
    is_int(n, 4, "form decoding length");
    out[n > 0 ? n : 0] = '\0';
    is_str(out, "a b+", "plus is a space in forms, %%2B a plus");
}


int
main(void)
{
    test_split();
    test_split_decoded();
    test_utf8();
    test_decode();

    return unit_done();
}
