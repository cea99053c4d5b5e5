
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_BULK_H_INCLUDED_
#define _PREFS_BULK_H_INCLUDED_


/*
 * The records of a bulk import's Stage body, one at a time, from a window
 * of the body that the caller slides: a JSON document
 * {"UserProfilePreferences": [record, ...]} or NDJSON (one record a line).
 * Each record is checked to be one well-formed JSON value (strict: UTF-8,
 * no control characters in strings, no \u0000, which PostgreSQL's jsonb
 * refuses) without being parsed into memory.  The messages (*err) hold no
 * quote or backslash: they can be put in a JSON string as they are.  Plain
 * C, no nginx types.
 */


#include <stddef.h>


#define PREFS_BULK_JSON     1
#define PREFS_BULK_NDJSON   2
#define PREFS_BULK_CSV      3    /* RFC 4180 rows, the first the header */

#define PREFS_BULK_MAX_DEPTH  64

/* what prefs_bulk_next() found */
#define PREFS_BULK_RECORD   0    /* a record at buf[*start, *end) */
#define PREFS_BULK_BAD      1    /* an NDJSON line that is not JSON: *err */
#define PREFS_BULK_MORE     2    /* give the window more of the body */
#define PREFS_BULK_END      3    /* the body is over */
#define PREFS_BULK_ERROR    4    /* the body is malformed: *err */


typedef struct {
    int         format;
    int         state;
    size_t      max_record;
} prefs_bulk_t;


void prefs_bulk_init(prefs_bulk_t *b, int format, size_t max_record);

/*
 * The next record of the window buf[0, len) (eof: the window ends the
 * body).  *consumed is how much of the window the caller may drop before
 * the next call (past the record, or what was skipped); PREFS_BULK_MORE
 * with a window of max_record bytes or more is a record too long
 * (PREFS_BULK_ERROR is returned instead).
 */
int prefs_bulk_next(prefs_bulk_t *b, const char *buf, size_t len, int eof,
    size_t *start, size_t *end, size_t *consumed, const char **err);

/*
 * A CSV row (a PREFS_BULK_RECORD of PREFS_BULK_CSV, without its line end)
 * as a JSON array of strings, into out (size bytes, NUL-terminated): 0
 * with *len, or -1 with *err when it is malformed or does not fit.
 */
int prefs_bulk_csv_json(const char *p, size_t n, char *out, size_t size,
    size_t *len, const char **err);

/*
 * One JSON value at p (after any whitespace): 0 with *used its length, 1
 * when p[0, len) is a prefix of one, -1 with *err when it is not JSON.
 */
int prefs_bulk_value(const char *p, size_t len, size_t *used,
    const char **err);


#endif /* _PREFS_BULK_H_INCLUDED_ */
