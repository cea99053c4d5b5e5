
/*
 * Copyright (C) ngx_prefs authors
 */


#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "prefs_render.h"


static const char *prefs_render_locale_field(const char *key);
static int prefs_render_rename(json_t *obj, const char *from, const char *to);
static const char *prefs_render_v3_id_for(const char *list);


/*
 * The localized lists and the field naming an entry's locale: a consent
 * type's "LocalizedFields" say "Locale", as the reference's POST
 * ConsentTypes body does; the others, which the reference's v4 does not
 * name, "LocaleId".
 */
static const char *const  prefs_render_localized_lists[][2] = {
    { "Locales", "LocaleId" },
    { "FrequencyLocales", "LocaleId" },
    { "LocalizedFields", "Locale" },
    { "Labels", "LocaleId" },
    { NULL, NULL }
};


static const char *
prefs_render_locale_field(const char *key)
{
    size_t  i;

    for (i = 0; prefs_render_localized_lists[i][0]; i++) {
        if (strcmp(prefs_render_localized_lists[i][0], key) == 0) {
            return prefs_render_localized_lists[i][1];
        }
    }

    return NULL;
}


json_t *
prefs_render_localize(json_t *v, const char *locale)
{
    size_t       i;
    json_t      *out, *item, *copy, *id;
    const char  *key, *field;

    if (locale == NULL) {
        return json_deep_copy(v);
    }

    if (json_is_object(v)) {
        out = json_object();
        if (out == NULL) {
            return NULL;
        }

        json_object_foreach(v, key, item) {

            /*
             * A list of locale definitions ({"LocaleId", "IsDefault", ...},
             * the account's Locales) is data, not text: it is kept whole.
             */

            field = json_is_array(item) ? prefs_render_locale_field(key)
                                        : NULL;

            if (field != NULL
                && json_object_get(json_array_get(item, 0), "IsDefault")
                   == NULL)
            {
                copy = json_array();

                json_array_foreach(item, i, id) {
                    json_t  *lid = json_object_get(id, field);

                    if (json_is_string(lid)
                        && strcasecmp(json_string_value(lid), locale) == 0)
                    {
                        json_array_append_new(copy,
                                              prefs_render_localize(id, NULL));
                    }
                }

            } else {
                copy = prefs_render_localize(item, locale);
            }

            if (copy == NULL || json_object_set_new(out, key, copy) != 0) {
                json_decref(out);
                return NULL;
            }
        }

        return out;
    }

    if (json_is_array(v)) {
        out = json_array();
        if (out == NULL) {
            return NULL;
        }

        json_array_foreach(v, i, item) {
            copy = prefs_render_localize(item, locale);

            if (copy == NULL || json_array_append_new(out, copy) != 0) {
                json_decref(out);
                return NULL;
            }
        }

        return out;
    }

    return json_copy(v);
}


static int
prefs_render_rename(json_t *obj, const char *from, const char *to)
{
    json_t  *v;

    if (json_object_get(obj, to)) {
        return -1;
    }

    v = json_object_get(obj, from);
    json_incref(v);

    if (json_object_del(obj, from) != 0
        || json_object_set_new(obj, to, v) != 0)
    {
        return -1;
    }

    return 0;
}


int
prefs_render_v3_names(json_t *v)
{
    char         name[256];
    size_t       i, len, n;
    json_t      *item;
    const char  *key;
    const char  *keys[128];

    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (prefs_render_v3_names(item) != 0) {
                return -1;
            }
        }

        return 0;
    }

    if (!json_is_object(v)) {
        return 0;
    }

    /* renaming while iterating would move keys under the iterator */

    n = 0;

    json_object_foreach(v, key, item) {
        if (prefs_render_v3_names(item) != 0) {
            return -1;
        }

        len = strlen(key);

        if (len > 2 && len < sizeof(name) && strcmp(key + len - 2, "Id") == 0
            && n < sizeof(keys) / sizeof(keys[0]))
        {
            keys[n++] = key;
        }
    }

    for (i = 0; i < n; i++) {
        len = strlen(keys[i]);
        memcpy(name, keys[i], len - 2);
        memcpy(name + len - 2, "ID", 3);

        if (prefs_render_rename(v, keys[i], name) != 0) {
            return -1;
        }
    }

    return 0;
}


static const char *
prefs_render_v3_id_for(const char *list)
{
    const char  *field;

    field = prefs_render_locale_field(list);
    if (field != NULL) {
        return field;
    }

    if (strcmp(list, "Frequencies") == 0) {
        return "FrequencyId";
    }

    if (strcmp(list, "PreferenceAttributes") == 0) {
        return "AttributeId";
    }

    return NULL;
}


int
prefs_render_v3_to_v4(json_t *v, const char *top_id)
{
    char         name[256];
    size_t       i, len, n;
    json_t      *item, *elem;
    const char  *key, *id;
    const char  *keys[128];

    if (!json_is_object(v)) {
        return 0;
    }

    json_object_del(v, "Link");
    json_object_del(v, "OptInPreferenceCount");
    json_object_del(v, "OptOutPreferenceCount");

    n = 0;

    json_object_foreach(v, key, item) {

        if (json_is_array(item)) {
            id = prefs_render_v3_id_for(key);

            json_array_foreach(item, i, elem) {
                if (prefs_render_v3_to_v4(elem, id) != 0) {
                    return -1;
                }
            }
        }

        len = strlen(key);

        if (len >= 2 && len < sizeof(name) && strcmp(key + len - 2, "ID") == 0
            && n < sizeof(keys) / sizeof(keys[0]))
        {
            keys[n++] = key;
        }
    }

    for (i = 0; i < n; i++) {
        len = strlen(keys[i]);

        if (len == 2) {
            if (top_id == NULL) {
                continue;
            }

            snprintf(name, sizeof(name), "%s", top_id);

        } else {
            memcpy(name, keys[i], len - 2);
            memcpy(name + len - 2, "Id", 3);
        }

        if (prefs_render_rename(v, keys[i], name) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * Configuration documents, for the Configuration API's answers.
 */

json_t *
prefs_render_config_find(json_t *arr, const char *field, const char *key,
    size_t len)
{
    size_t   i;
    json_t  *item, *id;

    json_array_foreach(arr, i, item) {
        id = json_object_get(item, field);

        if (json_is_string(id) && json_string_length(id) == len
            && memcmp(json_string_value(id), key, len) == 0)
        {
            return item;
        }
    }

    return NULL;
}


json_t *
prefs_render_config_wrap(const char *wrapper, json_t *value)
{
    json_t  *o;

    if (value == NULL) {
        return NULL;
    }

    o = json_object();

    if (o == NULL || json_object_set_new(o, wrapper, value) != 0) {
        json_decref(o);
        return NULL;
    }

    return o;
}


json_t *
prefs_render_config_groups(json_t *groups, const char *parent, unsigned depth)
{
    size_t       i;
    json_t      *out, *g, *p, *copy;
    const char  *id;

    out = json_array();
    if (out == NULL || depth > PREFS_CONFIG_MAX_DEPTH) {
        return out;
    }

    json_array_foreach(groups, i, g) {
        p = json_object_get(g, "ParentProgramGroupId");

        if (parent == NULL ? json_is_string(p)
                           : !(json_is_string(p)
                               && strcmp(json_string_value(p), parent) == 0))
        {
            continue;
        }

        id = json_string_value(json_object_get(g, "ProgramGroupId"));
        copy = json_deep_copy(g);

        if (copy && id) {
            json_object_set_new(copy, "ProgramGroups",
                                prefs_render_config_groups(groups, id,
                                                           depth + 1));
        }

        json_array_append_new(out, copy);
    }

    return out;
}


int
prefs_render_config_has_props(json_t *item, json_t *criteria)
{
    int      found;
    size_t   i, j;
    json_t  *props, *want, *have;

    props = json_object_get(item, "CustomProperties");

    json_array_foreach(criteria, i, want) {
        found = 0;

        json_array_foreach(props, j, have) {
            if (json_equal(json_object_get(have, "Key"),
                           json_object_get(want, "Key"))
                && (json_object_get(want, "Value") == NULL
                    || json_equal(json_object_get(have, "Value"),
                                  json_object_get(want, "Value"))))
            {
                found = 1;
                break;
            }
        }

        if (!found) {
            return 0;
        }
    }

    return 1;
}
