
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prefs_json.h"


static int prefs_json_check_string(const prefs_json_field_t *f, json_t *v,
    char *msg, size_t size);


size_t
prefs_json_utf8_length(const char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


static int
prefs_json_check_string(const prefs_json_field_t *f, json_t *v, char *msg,
    size_t size)
{
    size_t               i, n, len;
    const char          *s;
    const char *const   *e;

    s = json_string_value(v);
    len = json_string_length(v);

    if (memchr(s, '\0', len)) {
        snprintf(msg, size, "%s must not contain a NUL character", f->name);
        return -1;
    }

    n = prefs_json_utf8_length(s, len);

    if ((long long) n < f->min || (long long) n > f->max) {
        if (f->min == f->max) {
            snprintf(msg, size, "%s must be %lld characters long", f->name,
                     f->max);

        } else {
            snprintf(msg, size, "%s must be %lld to %lld characters long",
                     f->name, f->min, f->max);
        }

        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f
            || (f->pattern && strchr(f->pattern, s[i])))
        {
            snprintf(msg, size, "%s must not contain %s", f->name,
                     (unsigned char) s[i] < 0x20 || s[i] == 0x7f
                     ? "control characters" : "that character");
            return -1;
        }
    }

    if (f->values) {
        for (e = f->values; *e; e++) {
            if (strcmp(*e, s) == 0) {
                return 0;
            }
        }

        n = (size_t) snprintf(msg, size, "%s must be one of", f->name);

        for (e = f->values; *e && n < size; e++) {
            n += (size_t) snprintf(msg + n, size - n, "%s \"%s\"",
                                   e == f->values ? "" : ",", *e);
        }

        return -1;
    }

    return 0;
}


int
prefs_json_validate(json_t *body, const prefs_json_field_t *fields, int mode,
    json_t **out, char *msg, size_t size)
{
    size_t                     i, n;
    json_t                    *v, *item, *res;
    const char                *key;
    const prefs_json_field_t  *f;
    prefs_json_field_t         one;

    *out = NULL;

    if (!json_is_object(body)) {
        snprintf(msg, size, "The body must be a JSON object");
        return -1;
    }

    res = json_object();
    if (res == NULL) {
        snprintf(msg, size, "Out of memory");
        return -1;
    }

    json_object_foreach(body, key, v) {

        for (f = fields; f->name; f++) {
            if (strcasecmp(f->name, key) == 0) {
                break;
            }
        }

        if (f->name == NULL) {
            snprintf(msg, size, "Unknown field \"%.100s\"", key);
            goto failed;
        }

        if (json_object_get(res, f->name)) {
            snprintf(msg, size, "%s is given twice", f->name);
            goto failed;
        }

        if (f->readonly) {
            snprintf(msg, size, "%s is read-only", f->name);
            goto failed;
        }

        if (f->create_only && mode != PREFS_JSON_CREATE) {
            snprintf(msg, size, "%s can only be set when creating",
                     f->name);
            goto failed;
        }

        if (json_is_null(v)) {
            if (!f->nullable) {
                snprintf(msg, size, "%s must not be null", f->name);
                goto failed;
            }

            json_object_set(res, f->name, v);
            continue;
        }

        switch (f->type) {

        case PREFS_JT_STRING:
            if (!json_is_string(v)) {
                snprintf(msg, size, "%s must be a string", f->name);
                goto failed;
            }

            if (prefs_json_check_string(f, v, msg, size) != 0) {
                goto failed;
            }

            break;

        case PREFS_JT_INTEGER:
            if (!json_is_integer(v)
                || json_integer_value(v) < f->min
                || json_integer_value(v) > f->max)
            {
                snprintf(msg, size, "%s must be an integer from %lld to %lld",
                         f->name, f->min, f->max);
                goto failed;
            }

            break;

        case PREFS_JT_BOOLEAN:
            if (!json_is_boolean(v)) {
                snprintf(msg, size, "%s must be true or false", f->name);
                goto failed;
            }

            break;

        case PREFS_JT_STRING_ARRAY:
            n = json_array_size(v);

            if (!json_is_array(v) || (long long) n < f->min
                || (long long) n > f->max)
            {
                snprintf(msg, size, "%s must be an array of %lld to %lld "
                         "strings", f->name, f->min, f->max);
                goto failed;
            }

            one = *f;
            one.min = 1;
            one.max = f->item_max;

            json_array_foreach(v, i, item) {
                if (!json_is_string(item)
                    || prefs_json_check_string(&one, item, msg, size) != 0)
                {
                    snprintf(msg, size, "%s must hold strings of 1 to %lld "
                             "characters", f->name, f->item_max);
                    goto failed;
                }
            }

            break;
        }

        json_object_set(res, f->name, v);
    }

    if (mode == PREFS_JSON_CREATE) {
        for (f = fields; f->name; f++) {
            if (f->required && json_object_get(res, f->name) == NULL) {
                snprintf(msg, size, "%s is required", f->name);
                goto failed;
            }
        }
    }

    *out = res;
    return 0;

failed:

    json_decref(res);
    return -1;
}
