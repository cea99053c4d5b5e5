
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_PATH_H_INCLUDED_
#define _PREFS_PATH_H_INCLUDED_


/*
 * Splitting a request path into segments with strict percent-decoding.
 * Plain C, no nginx types: unit-tested and fuzzed on its own.
 */


#include <stddef.h>


#define PREFS_PATH_MAX_SEGMENTS  16

#define PREFS_PATH_OK             0
#define PREFS_PATH_BAD_ESCAPE    -1   /* "%" not followed by two hex digits */
#define PREFS_PATH_NUL           -2   /* a decoded NUL or control byte */
#define PREFS_PATH_TOO_MANY      -3   /* more than PREFS_PATH_MAX_SEGMENTS */
#define PREFS_PATH_BAD_UTF8      -4   /* decoded bytes are not UTF-8 */
#define PREFS_PATH_DOT           -5   /* a "." or ".." segment */


typedef struct {
    const char  *data;     /* decoded, null-terminated, inside the buffer */
    size_t       len;
} prefs_path_segment_t;


typedef struct {
    prefs_path_segment_t  seg[PREFS_PATH_MAX_SEGMENTS];
    size_t                n;
} prefs_path_t;


/*
 * Splits path[0..len) (the path part of a URI, without the query string)
 * at "/", ignoring empty segments, and decodes each into buf, which must
 * hold at least len + PREFS_PATH_MAX_SEGMENTS bytes.
 */
int prefs_path_split(const char *path, size_t len, char *buf,
    prefs_path_t *out);

/*
 * The same for a path that is already decoded (nginx's r->uri after a
 * rewrite): "%" is an ordinary byte; UTF-8, control bytes and dot segments
 * are still checked.
 */
int prefs_path_split_decoded(const char *path, size_t len, char *buf,
    prefs_path_t *out);

/* decodes %XX escapes strictly; "+" stays "+"; returns the length or < 0 */
long prefs_path_percent_decode(const char *src, size_t len, char *dst,
    int plus_is_space);

int prefs_path_utf8_valid(const char *s, size_t len);

const char *prefs_path_strerror(int rc);


/* the value of a hex digit (either case), or -1: the one hex decoder */
int prefs_path_hex(int c);


#endif /* _PREFS_PATH_H_INCLUDED_ */
