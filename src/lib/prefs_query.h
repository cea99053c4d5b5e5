
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_QUERY_H_INCLUDED_
#define _PREFS_QUERY_H_INCLUDED_


/*
 * Query strings in the ASP.NET form MyPreferences clients send:
 *
 *   emailAddress=a%40b.c&customFields[0].Name=Tier&customFields[0].Value=Gold
 *   &sourceGroupIds[0]=3&sourceGroupIds[1]=5
 *
 * become a JSON object: {"emailAddress": "a@b.c",
 * "customFields": [{"Name": "Tier", "Value": "Gold"}],
 * "sourceGroupIds": ["3", "5"]}.  Names are kept as sent; percent-decoding
 * is strict ("+" is a space); a name given twice, an index past
 * PREFS_QUERY_MAX_INDEX or with a gap, name[n] given both alone and with
 * fields, a value that is not UTF-8, or a bad escape is an error.  Plain C
 * on jansson.
 */


#include <stddef.h>
#include <jansson.h>


#define PREFS_QUERY_MAX_INDEX  49
#define PREFS_QUERY_MAX_NAME   64
#define PREFS_QUERY_MAX_VALUE  4000


/* 0, or -1 with a message in err */
int prefs_query_parse(const char *args, size_t len, json_t **out,
    char *err, size_t err_size);


#endif /* _PREFS_QUERY_H_INCLUDED_ */
