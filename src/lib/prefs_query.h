
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_QUERY_H_INCLUDED_
#define _PREFS_QUERY_H_INCLUDED_


/*
 * The one decoder of query strings, in the ASP.NET form MyPreferences
 * clients send:
 *
 *   emailAddress=a%40b.c&customFields[0].Name=Tier&customFields[0].Value=Gold
 *   &sourceGroupIds[0]=3&sourceGroupIds[1]=5
 *
 * becomes a JSON object: {"emailAddress": "a@b.c",
 * "customFields": [{"Name": "Tier", "Value": "Gold"}],
 * "sourceGroupIds": ["3", "5"]}.
 *
 * Names and fields are matched without regard to case, as ASP.NET binds
 * them: a name is kept as first spelled, and Limit=1&limit=2 is a name
 * given twice.  Percent-decoding is strict ("+" is a space); a name given
 * twice in any case, an index past PREFS_QUERY_MAX_INDEX or with a gap,
 * name[n] given both alone and with fields, a value that is not UTF-8, a
 * control byte (%00 included) or a bad escape is an error.  What an error
 * message quotes of the request is escaped (prefs_query_escape).  Plain C
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

/* a parameter of a parsed query string by name, in any case; or NULL */
json_t *prefs_query_get(json_t *query, const char *name);

/*
 * s as a message may quote it: printable ASCII as it is, every other byte
 * (controls, non-ASCII) as %XX, cut to fit size (always terminated).
 */
char *prefs_query_escape(const char *s, size_t len, char *dst, size_t size);


#endif /* _PREFS_QUERY_H_INCLUDED_ */
