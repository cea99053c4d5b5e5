
/*
 * Copyright (C) ngx_prefs authors
 */


#include "unit.h"
#include "prefs_idem.h"


static char  key[PREFS_IDEM_KEY_MAX + 1];


static long
k(const char *v)
{
    key[0] = '\0';
    return prefs_idem_key(v, strlen(v), key, sizeof(key));
}


int
main(void)
{
    char  fp[256], longer[300];
    long  n;

    is_int(k("8e03978e-40d5-43e8-bc93-6894a57f9324"), 36, "a UUID");
    is_str(key, "8e03978e-40d5-43e8-bc93-6894a57f9324", "as sent");
    is_int(k("\"abc\""), 3, "an sf-string");
    is_str(key, "abc", "without its quotes");
    is_int(k("\"a\\\"b\\\\c\""), 5, "an sf-string with escapes");
    is_str(key, "a\"b\\c", "unescaped");
    is_int(k("a b"), 3, "a space inside");
    is_int(k("x"), 1, "one character");

    is_int(k(""), -1, "empty");
    is_int(k("\"\""), -1, "an empty sf-string");
    is_int(k("a\tb"), -1, "a tab");
    is_int(k("caf\xc3\xa9"), -1, "UTF-8");
    is_int(k("a\x7f"), -1, "DEL");
    is_int(k("\"a\"b\""), -1, "a bare quote inside an sf-string");
    is_int(k("\"a\\b\""), -1, "a bad escape");
    is_int(k("\"a\\\""), -1, "an escape at the end");

    memset(longer, 'k', 255);
    longer[255] = '\0';
    is_int(k(longer), 255, "255 characters");
    longer[255] = 'k';
    longer[256] = '\0';
    is_int(k(longer), -1, "256 characters");
    is_int(prefs_idem_key("abc", 3, key, 10), -1, "an output too small");

    n = prefs_idem_fingerprint("POST", 4, "Profile", 7, "", 0, fp,
                               sizeof(fp));
    is_int(n, 4 + 1 + 7 + 1 + 64, "a fingerprint's length");
    is_str(fp, "POST Profile "
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "method, route and the SHA-256 of the body");
    n = prefs_idem_fingerprint("POST", 4, "Profile", 7, "{}", 2, fp,
                               sizeof(fp));
    ok(n > 0 && strcmp(fp + 13, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77"
                                "e8310c060f61caaff8a") == 0, "another body");
    is_int(prefs_idem_fingerprint("POST", 4, "Profile", 7, "", 0, fp, 50), -1,
           "an output too small");

    return unit_done();
}
