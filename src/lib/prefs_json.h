
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_JSON_H_INCLUDED_
#define _PREFS_JSON_H_INCLUDED_


/*
 * Validation of JSON request bodies against a list of fields: types,
 * lengths, ranges, enumerations, read-only and unknown fields.  Plain C on
 * jansson, no nginx types.
 */


#include <stddef.h>
#include <jansson.h>


#define PREFS_JT_STRING        1
#define PREFS_JT_INTEGER       2
#define PREFS_JT_BOOLEAN       3
#define PREFS_JT_STRING_ARRAY  4


typedef struct {
    const char          *name;        /* PascalCase, as answered */
    int                  type;
    long long            min;         /* string: characters; integer: value;
                                         array: items */
    long long            max;
    const char *const   *values;      /* allowed strings, or NULL */
    const char          *pattern;     /* characters a string may not hold */
    unsigned             required:1;
    unsigned             readonly:1;
    unsigned             nullable:1;
    unsigned             create_only:1;
    long long            item_max;    /* string array: characters per item */
} prefs_json_field_t;


#define PREFS_JSON_CREATE  1
#define PREFS_JSON_UPDATE  2


/*
 * Checks body (a JSON object) against fields, matching names without
 * regard to case as ASP.NET does, and builds *out: the same values under
 * the canonical names.  Returns 0, or -1 with a message naming the field.
 */
int prefs_json_validate(json_t *body, const prefs_json_field_t *fields,
    int mode, json_t **out, char *msg, size_t size);

size_t prefs_json_utf8_length(const char *s, size_t len);


#endif /* _PREFS_JSON_H_INCLUDED_ */
