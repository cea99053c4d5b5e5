
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdio.h>
#include <string.h>

#include "prefs_query.h"
#include "prefs_path.h"


static int prefs_query_name_ok(const char *s, size_t len);


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


int
prefs_query_parse(const char *args, size_t len, json_t **out, char *err,
    size_t err_size)
{
    long         n;
    char         name[PREFS_QUERY_MAX_NAME * 2 + 16];
    char         value[PREFS_QUERY_MAX_VALUE + 1];
    char        *bracket, *close, *dot, *field;
    size_t       i, start, eq, nlen;
    long         idx;
    json_t      *obj, *arr, *item;

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
            snprintf(err, err_size, "a parameter name is badly encoded");
            goto failed;
        }

        name[n] = '\0';

        if (eq < i) {
            if (i - eq - 1 > PREFS_QUERY_MAX_VALUE) {
                snprintf(err, err_size, "the value of %.64s is too long",
                         name);
                goto failed;
            }

            n = prefs_path_percent_decode(args + eq + 1, i - eq - 1, value, 1);
            if (n < 0) {
                snprintf(err, err_size, "the value of %.64s is badly "
                         "encoded", name);
                goto failed;
            }

            value[n] = '\0';

        } else {
            value[0] = '\0';
        }

        bracket = strchr(name, '[');

        if (bracket == NULL) {
            if (!prefs_query_name_ok(name, strlen(name))) {
                snprintf(err, err_size, "\"%.64s\" is not a parameter name",
                         name);
                goto failed;
            }

            if (json_object_get(obj, name)) {
                snprintf(err, err_size, "%.64s is given twice", name);
                goto failed;
            }

            item = json_string(value);
            if (item == NULL) {
                snprintf(err, err_size, "the value of %.64s is not UTF-8",
                         name);
                goto failed;
            }

            json_object_set_new(obj, name, item);
            start = i + 1;
            continue;
        }

        /* name[index].Field, or name[index] alone: a list of values */

        *bracket = '\0';
        close = strchr(bracket + 1, ']');
        dot = close ? close + 1 : NULL;

        if (close == NULL || (*dot != '.' && *dot != '\0')
            || close == bracket + 1
            || !prefs_query_name_ok(name, strlen(name)))
        {
            snprintf(err, err_size, "\"%.64s\" is not name[n] or "
                     "name[n].Field", name);
            goto failed;
        }

        idx = 0;

        for (field = bracket + 1; field < close; field++) {
            if (*field < '0' || *field > '9' || idx > PREFS_QUERY_MAX_INDEX) {
                snprintf(err, err_size, "%.64s: an index must be 0 to %d",
                         name, PREFS_QUERY_MAX_INDEX);
                goto failed;
            }

            idx = idx * 10 + (*field - '0');
        }

        field = (*dot == '.') ? dot + 1 : NULL;

        if (idx > PREFS_QUERY_MAX_INDEX
            || (field && !prefs_query_name_ok(field, strlen(field))))
        {
            snprintf(err, err_size, "%.64s[%ld]: bad index or field", name,
                     idx);
            goto failed;
        }

        arr = json_object_get(obj, name);

        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(obj, name, arr);

        } else if (!json_is_array(arr)) {
            snprintf(err, err_size, "%.64s is given twice", name);
            goto failed;
        }

        if ((size_t) idx > json_array_size(arr)) {
            snprintf(err, err_size, "%.64s[%ld] comes before %.64s[%ld]",
                     name, idx, name, (long) json_array_size(arr));
            goto failed;
        }

        /* a list is of values or of items with fields, not both */

        if (json_array_size(arr)
            && json_is_string(json_array_get(arr, 0)) != (field == NULL))
        {
            snprintf(err, err_size, "%.64s mixes name[n] and name[n].Field",
                     name);
            goto failed;
        }

        if (field == NULL) {
            if ((size_t) idx < json_array_size(arr)) {
                snprintf(err, err_size, "%.64s[%ld] is given twice", name,
                         idx);
                goto failed;
            }

            item = json_string(value);
            if (item == NULL) {
                snprintf(err, err_size, "the value of %.64s[%ld] is not "
                         "UTF-8", name, idx);
                goto failed;
            }

            json_array_append_new(arr, item);
            start = i + 1;
            continue;
        }

        if ((size_t) idx == json_array_size(arr)) {
            json_array_append_new(arr, json_object());
        }

        item = json_array_get(arr, idx);

        if (json_object_get(item, field)) {
            snprintf(err, err_size, "%.64s[%ld].%.64s is given twice", name,
                     idx, field);
            goto failed;
        }

        if (json_object_set_new(item, field, json_string(value)) != 0) {
            snprintf(err, err_size, "the value of %.64s[%ld].%.64s is not "
                     "UTF-8", name, idx, field);
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
