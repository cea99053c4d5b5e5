
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_RENDER_H_INCLUDED_
#define _PREFS_RENDER_H_INCLUDED_


/*
 * Turning stored configuration into what a route answers: one locale's
 * text, the v3 spelling of names, and the pieces of the Configuration
 * API's answers (items, wrappers, program groups, custom properties).
 * Plain C on jansson.
 */


#include <jansson.h>


/*
 * A deep copy of v in which every localized list ("Locales",
 * "FrequencyLocales", "Labels": arrays of objects with a "LocaleId";
 * "LocalizedFields", with a "Locale") keeps only the entries of locale; a
 * list of locale definitions (entries with "IsDefault") is kept whole.
 * locale NULL copies all.
 */
json_t *prefs_render_localize(json_t *v, const char *locale);

/* renames, in place and all the way down, every "...Id" key to "...ID" */
int prefs_render_v3_names(json_t *v);

/*
 * The other way, for a v3 body: "...ID" becomes "...Id", and a bare "ID"
 * becomes the key field its context has (FilterId at the top of a filter,
 * LocaleId in locale lists, Locale in LocalizedFields, FrequencyId,
 * AttributeId).  v3's counters that are not stored (Link,
 * OptInPreferenceCount, OptOutPreferenceCount) are dropped.  Returns 0, or -1 when a key would be given twice.
 */
int prefs_render_v3_to_v4(json_t *v, const char *top_id);

/* how deep program groups nest in an answer */
#define PREFS_CONFIG_MAX_DEPTH  16

/* the item of arr whose string field is key[0..len), or NULL (borrowed) */
json_t *prefs_render_config_find(json_t *arr, const char *field,
    const char *key, size_t len);

/* a new object {wrapper: value}, taking value; NULL when value is NULL */
json_t *prefs_render_config_wrap(const char *wrapper, json_t *value);

/*
 * The program groups under parent (NULL: the top ones), each a copy with
 * its own "ProgramGroups" nested, at most PREFS_CONFIG_MAX_DEPTH deep.
 */
json_t *prefs_render_config_groups(json_t *groups, const char *parent,
    unsigned depth);

/*
 * 1 when item's "CustomProperties" hold every {"Key", "Value"} of
 * criteria (a criterion without "Value" asks only for the key).
 */
int prefs_render_config_has_props(json_t *item, json_t *criteria);


#endif /* _PREFS_RENDER_H_INCLUDED_ */
