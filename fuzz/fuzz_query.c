
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * libFuzzer harness for ASP.NET query strings: prefs_query_parse() on any
 * input, from an exact-size copy.  Beyond the sanitizers: an accepted
 * query is a JSON object whose members are strings or arrays, the arrays
 * all of strings or all of objects of strings; a refused one says why.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prefs_query.h"
#include "fuzz.h"


/* no two keys are one name in another case */

static void
check_one_spelling(json_t *obj)
{
    void        *a, *b;
    const char  *ka;

    for (a = json_object_iter(obj); a; a = json_object_iter_next(obj, a)) {
        ka = json_object_iter_key(a);

        for (b = json_object_iter_next(obj, a); b;
             b = json_object_iter_next(obj, b))
        {
            check(strcasecmp(ka, json_object_iter_key(b)) != 0);
        }

        check(prefs_query_get(obj, ka) == json_object_iter_value(a));
    }
}


static void
check_shape(json_t *obj)
{
    size_t       i;
    json_t      *v, *item, *f;
    const char  *name, *field;

    check(json_is_object(obj));
    check_one_spelling(obj);

    json_object_foreach(obj, name, v) {
        if (json_is_string(v)) {
            continue;
        }

        check(json_is_array(v) && json_array_size(v) > 0);

        json_array_foreach(v, i, item) {
            check(json_typeof(item)
                  == json_typeof(json_array_get(v, 0)));

            if (json_is_object(item)) {
                check_one_spelling(item);

                json_object_foreach(item, field, f) {
                    check(json_is_string(f));
                }

            } else {
                check(json_is_string(item));
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *copy, err[256];
    size_t   i;
    json_t  *out;

    copy = fuzz_copy(data, size);

    err[0] = '\0';

    if (prefs_query_parse(copy, size, &out, err, sizeof(err)) == 0) {
        check(out != NULL);
        check_shape(out);
        json_decref(out);

    } else {
        check(out == NULL && err[0] != '\0');

        /* a message quotes the request escaped: printable ASCII only */

        for (i = 0; err[i]; i++) {
            check(err[i] >= 0x20 && err[i] < 0x7f);
        }
    }

    free(copy);

    return 0;
}
