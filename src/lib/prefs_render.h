
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_RENDER_H_INCLUDED_
#define _PREFS_RENDER_H_INCLUDED_


/*
 * Turning stored configuration into what a route answers: one locale's
 * text, and the v3 spelling of names.  Plain C on jansson.
 */


#include <jansson.h>


/*
 * A deep copy of v in which every localized list ("Locales",
 * "FrequencyLocales", "LocalizedFields", "Labels": arrays of objects with a
 * "LocaleId") keeps only the entries of locale; a list of locale
 * definitions (entries with "IsDefault") is kept whole.  locale NULL copies
 * all.
 */
json_t *prefs_localize(json_t *v, const char *locale);

/* renames, in place and all the way down, every "...Id" key to "...ID" */
int prefs_v3_names(json_t *v);

/*
 * The other way, for a v3 body: "...ID" becomes "...Id", and a bare "ID"
 * becomes the key field its context has (FilterId at the top of a filter,
 * LocaleId in locale lists, FrequencyId, AttributeId).  v3's counters that
 * are not stored (Link, OptInPreferenceCount, OptOutPreferenceCount) are
 * dropped.  Returns 0, or -1 when a key would be given twice.
 */
int prefs_v3_to_v4(json_t *v, const char *top_id);


#endif /* _PREFS_RENDER_H_INCLUDED_ */
