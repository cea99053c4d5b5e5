
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prefs_query.h"
#include "prefs_path.h"


#define PREFS_QUERY_QUOTE  (PREFS_QUERY_MAX_NAME * 3 + 1)


static int prefs_query_name_ok(const char *s, size_t len);
static const char *prefs_query_key(json_t *obj, const char *name);
static int prefs_query_add(json_t *obj, char *name, const char *value,
    char *err, size_t err_size);


static int
prefs_query_name_ok(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > PREFS_QUERY_MAX_NAME) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


char *
prefs_query_escape(const char *s, size_t len, char *dst, size_t size)
{
    size_t         i, n;
    unsigned char  c;

    static const char  hex[] = "0123456789ABCDEF";

    if (size == 0) {
        return dst;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c < 0x7f && c != '%') {
            if (n + 1 >= size) {
                break;
            }

            dst[n++] = (char) c;
            continue;
        }

        if (n + 3 >= size) {
            break;
        }

        dst[n++] = '%';
        dst[n++] = hex[c >> 4];
        dst[n++] = hex[c & 0xf];
    }

    dst[n] = '\0';

    return dst;
}


/* the key of obj that is name in any case, or NULL */

static const char *
prefs_query_key(json_t *obj, const char *name)
{
    void        *iter;
    const char  *key;

    for (iter = json_object_iter(obj); iter;
         iter = json_object_iter_next(obj, iter))
    {
        key = json_object_iter_key(iter);

        if (strcasecmp(key, name) == 0) {
            return key;
        }
    }

    return NULL;
}


json_t *
prefs_query_get(json_t *query, const char *name)
{
    const char  *key;

    key = prefs_query_key(query, name);

    return key ? json_object_get(query, key) : NULL;
}


/* one decoded name=value into obj; 0, or -1 with a message in err */

static int
prefs_query_add(json_t *obj, char *name, const char *value, char *err,
    size_t err_size)
{
    long         idx;
    char        *bracket, *close, *dot, *field;
    char         q[PREFS_QUERY_QUOTE];
    json_t      *arr, *item, *v;
    const char  *key;

    bracket = strchr(name, '[');

    if (bracket == NULL) {
        if (!prefs_query_name_ok(name, strlen(name))) {
            snprintf(err, err_size, "\"%s\" is not a parameter name",
                     prefs_query_escape(name, strlen(name), q, sizeof(q)));
            return -1;
        }

        if (prefs_query_key(obj, name)) {
            snprintf(err, err_size, "%s is given twice", name);
            return -1;
        }

        /* the value was checked for UTF-8 when it was decoded */

        if (json_object_set_new(obj, name, json_string(value)) != 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }

        return 0;
    }

    /* name[index].Field, or name[index] alone: a list of values */

    *bracket = '\0';
    close = strchr(bracket + 1, ']');
    dot = close ? close + 1 : NULL;

    if (close == NULL || (*dot != '.' && *dot != '\0')
        || close == bracket + 1
        || !prefs_query_name_ok(name, strlen(name)))
    {
        snprintf(err, err_size, "\"%s\" is not name[n] or name[n].Field",
                 prefs_query_escape(name, strlen(name), q, sizeof(q)));
        return -1;
    }

    idx = 0;

    for (field = bracket + 1; field < close; field++) {
        if (*field < '0' || *field > '9' || idx > PREFS_QUERY_MAX_INDEX) {
            snprintf(err, err_size, "%s: an index must be 0 to %d", name,
                     PREFS_QUERY_MAX_INDEX);
            return -1;
        }

        idx = idx * 10 + (*field - '0');
    }

    field = (*dot == '.') ? dot + 1 : NULL;

    if (idx > PREFS_QUERY_MAX_INDEX
        || (field && !prefs_query_name_ok(field, strlen(field))))
    {
        snprintf(err, err_size, "%s[%ld]: bad index or field", name, idx);
        return -1;
    }

    /* Ids[0]=1&ids[1]=2 is one list, kept under its first spelling */

    key = prefs_query_key(obj, name);
    arr = key ? json_object_get(obj, key) : NULL;

    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(obj, name, arr) != 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }

    } else if (!json_is_array(arr)) {
        snprintf(err, err_size, "%s is given twice", name);
        return -1;
    }

    if ((size_t) idx > json_array_size(arr)) {
        snprintf(err, err_size, "%s[%ld] comes before %s[%ld]", name, idx,
                 name, (long) json_array_size(arr));
        return -1;
    }

    /* a list is of values or of items with fields, not both */

    if (json_array_size(arr)
        && json_is_string(json_array_get(arr, 0)) != (field == NULL))
    {
        snprintf(err, err_size, "%s mixes name[n] and name[n].Field", name);
        return -1;
    }

    if (field == NULL) {
        if ((size_t) idx < json_array_size(arr)) {
            snprintf(err, err_size, "%s[%ld] is given twice", name, idx);
            return -1;
        }

        if (json_array_append_new(arr, json_string(value)) != 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }

        return 0;
    }

    if ((size_t) idx == json_array_size(arr)
        && json_array_append_new(arr, json_object()) != 0)
    {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    item = json_array_get(arr, idx);

    if (prefs_query_key(item, field)) {
        snprintf(err, err_size, "%s[%ld].%s is given twice", name, idx,
                 field);
        return -1;
    }

    v = json_string(value);

    if (v == NULL || json_object_set_new(item, field, v) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    return 0;
}


int
prefs_query_parse(const char *args, size_t len, json_t **out, char *err,
    size_t err_size)
{
    long         n;
    char         name[PREFS_QUERY_MAX_NAME * 2 + 16];
    char         value[PREFS_QUERY_MAX_VALUE + 1];
    char         q[PREFS_QUERY_QUOTE];
    size_t       i, start, eq, nlen;
    json_t      *obj;

    *out = NULL;

    obj = json_object();
    if (obj == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    start = 0;

    for (i = 0; i <= len; i++) {

        if (i < len && args[i] != '&') {
            continue;
        }

        if (i == start) {
            start = i + 1;
            continue;
        }

        for (eq = start; eq < i && args[eq] != '='; eq++) {
            /* void */
        }

        nlen = eq - start;

        if (nlen >= sizeof(name)) {
            snprintf(err, err_size, "a parameter name is too long");
            goto failed;
        }

        n = prefs_path_percent_decode(args + start, nlen, name, 1);
        if (n < 0) {
            snprintf(err, err_size, "a parameter name is badly encoded (a "
                     "bad escape, a control character or not UTF-8)");
            goto failed;
        }

        name[n] = '\0';

        prefs_query_escape(name, (size_t) n, q, sizeof(q));

        if (eq < i) {
            if (i - eq - 1 > PREFS_QUERY_MAX_VALUE) {
                snprintf(err, err_size, "the value of %s is longer than %d "
                         "bytes", q, PREFS_QUERY_MAX_VALUE);
                goto failed;
            }

            n = prefs_path_percent_decode(args + eq + 1, i - eq - 1, value, 1);
            if (n < 0) {
                snprintf(err, err_size, "the value of %s is badly encoded "
                         "(a bad escape, a control character or not UTF-8)",
                         q);
                goto failed;
            }

            value[n] = '\0';

        } else {
            value[0] = '\0';
        }

        if (prefs_query_add(obj, name, value, err, err_size) != 0) {
            goto failed;
        }

        start = i + 1;
    }

    *out = obj;
    return 0;

failed:

    json_decref(obj);
    return -1;
}
