
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prefs_bulk.h"


/* prefs_bulk_t.state of a JSON body: what comes next */
#define PREFS_BULK_S_OPEN    0   /* "{" */
#define PREFS_BULK_S_KEY     1   /* "UserProfilePreferences" */
#define PREFS_BULK_S_COLON   2
#define PREFS_BULK_S_ARRAY   3   /* "[" */
#define PREFS_BULK_S_FIRST   4   /* a record or "]" */
#define PREFS_BULK_S_NEXT    5   /* "," or "]" */
#define PREFS_BULK_S_RECORD  6   /* a record, after "," */
#define PREFS_BULK_S_CLOSE   7   /* "}" */
#define PREFS_BULK_S_END     8   /* nothing but whitespace */

/* what prefs_bulk_value() expects next */
#define PREFS_BULK_E_VALUE       0
#define PREFS_BULK_E_VALUE_END   1   /* a value or "]", after "[" */
#define PREFS_BULK_E_KEY_END     2   /* a key or "}", after "{" */
#define PREFS_BULK_E_KEY         3
#define PREFS_BULK_E_COLON       4
#define PREFS_BULK_E_COMMA       5   /* "," or the container's end */

#define PREFS_BULK_WS(c)  ((c) == ' ' || (c) == '\t' || (c) == '\r'          \
                           || (c) == '\n')

#define PREFS_BULK_SHAPE                                                      \
    "The body must be {\"UserProfilePreferences\": [...]}"


static int prefs_bulk_string(const char *p, size_t len, size_t *used,
    const char **err);
static int prefs_bulk_number(const char *p, size_t len, int more,
    size_t *used, const char **err);
static int prefs_bulk_utf8(const unsigned char *p, size_t len, size_t *used);
static int prefs_bulk_json(prefs_bulk_t *b, const char *buf, size_t len,
    int eof, size_t *start, size_t *end, size_t *consumed, const char **err);
static int prefs_bulk_ndjson(prefs_bulk_t *b, const char *buf, size_t len,
    int eof, size_t *start, size_t *end, size_t *consumed, const char **err);
static int prefs_bulk_csv(prefs_bulk_t *b, const char *buf, size_t len,
    int eof, size_t *start, size_t *end, size_t *consumed, const char **err);


void
prefs_bulk_init(prefs_bulk_t *b, int format, size_t max_record)
{
    b->format = format;
    b->state = PREFS_BULK_S_OPEN;
    b->max_record = max_record;
}


int
prefs_bulk_next(prefs_bulk_t *b, const char *buf, size_t len, int eof,
    size_t *start, size_t *end, size_t *consumed, const char **err)
{
    *err = NULL;
    *consumed = 0;

    if (b->format == PREFS_BULK_NDJSON) {
        return prefs_bulk_ndjson(b, buf, len, eof, start, end, consumed, err);
    }

    if (b->format == PREFS_BULK_CSV) {
        return prefs_bulk_csv(b, buf, len, eof, start, end, consumed, err);
    }

    return prefs_bulk_json(b, buf, len, eof, start, end, consumed, err);
}


static int
prefs_bulk_ndjson(prefs_bulk_t *b, const char *buf, size_t len, int eof,
    size_t *start, size_t *end, size_t *consumed, const char **err)
{
    int          rc;
    size_t       i, j, line_end, used;
    const char  *nl;

    for (i = 0; i < len && PREFS_BULK_WS(buf[i]); i++) { /* void */ }

    *consumed = i;

    if (i == len) {
        return eof ? PREFS_BULK_END : PREFS_BULK_MORE;
    }

    nl = memchr(buf + i, '\n', len - i);

    if (nl == NULL && !eof) {
        if (len - i >= b->max_record) {
            *err = "A record is longer than the longest allowed";
            return PREFS_BULK_ERROR;
        }

        return PREFS_BULK_MORE;
    }

    line_end = nl ? (size_t) (nl - buf) : len;

    if (line_end - i > b->max_record) {
        *err = "A record is longer than the longest allowed";
        return PREFS_BULK_ERROR;
    }

    *consumed = nl ? line_end + 1 : line_end;

    rc = prefs_bulk_value(buf + i, line_end - i, &used, err);

    if (rc == 1) {
        *err = "it ends inside a value";
        return PREFS_BULK_BAD;
    }

    if (rc < 0) {
        return PREFS_BULK_BAD;
    }

    for (j = i + used; j < line_end; j++) {
        if (!PREFS_BULK_WS(buf[j])) {
            *err = "more than one value on the line";
            return PREFS_BULK_BAD;
        }
    }

    *start = i;
    *end = i + used;

    return PREFS_BULK_RECORD;
}


/* a row ends at a line feed outside quotes; blank lines are skipped */

static int
prefs_bulk_csv(prefs_bulk_t *b, const char *buf, size_t len, int eof,
    size_t *start, size_t *end, size_t *consumed, const char **err)
{
    int     quoted;
    size_t  i, j;

    for (i = 0; i < len && (buf[i] == '\r' || buf[i] == '\n'); i++) {
        /* void */
    }

    *consumed = i;

    if (i == len) {
        return eof ? PREFS_BULK_END : PREFS_BULK_MORE;
    }

    quoted = 0;

    for (j = i; j < len; j++) {
        if (buf[j] == '"') {
            quoted = !quoted;

        } else if (buf[j] == '\n' && !quoted) {
            break;
        }
    }

    if (j == len && !eof) {
        if (len - i >= b->max_record) {
            *err = "A row is longer than the longest allowed";
            return PREFS_BULK_ERROR;
        }

        return PREFS_BULK_MORE;
    }

    if (j - i > b->max_record) {
        *err = "A row is longer than the longest allowed";
        return PREFS_BULK_ERROR;
    }

    if (quoted) {
        *err = "The body ends inside a quoted field";
        return PREFS_BULK_ERROR;
    }

    *consumed = j < len ? j + 1 : j;
    *start = i;
    *end = (j > i && buf[j - 1] == '\r') ? j - 1 : j;

    return PREFS_BULK_RECORD;
}


int
prefs_bulk_csv_json(const char *p, size_t n, char *out, size_t size,
    size_t *len, const char **err)
{
    int             quoted, rc;
    size_t          i, o, u;
    unsigned char   c;

    static const char  hex[] = "0123456789abcdef";

    /* the longest a byte can become is \u00XX: six bytes */

#define prefs_bulk_room(k)                                                    \
    if (o + (k) + 3 > size) {                                                 \
        *err = "the row is too long once escaped";                            \
        return -1;                                                            \
    }

    o = 0;
    i = 0;
    prefs_bulk_room(1);
    out[o++] = '[';

    for ( ;; ) {
        prefs_bulk_room(2);

        if (o > 1) {
            out[o++] = ',';
        }

        out[o++] = '"';
        quoted = (i < n && p[i] == '"');
        i += quoted;

        while (i < n) {
            c = (unsigned char) p[i];

            if (quoted && c == '"') {
                if (i + 1 < n && p[i + 1] == '"') {
                    i++;

                } else {
                    break;
                }

            } else if (!quoted && c == ',') {
                break;

            } else if (!quoted && c == '"') {
                *err = "a quote inside a field that is not quoted";
                return -1;
            }

            prefs_bulk_room(6);

            if (c >= 0x80) {
                rc = prefs_bulk_utf8((const unsigned char *) p + i, n - i, &u);
                if (rc != 0) {
                    *err = "a field is not UTF-8";
                    return -1;
                }

                prefs_bulk_room(u);
                memcpy(out + o, p + i, u);
                o += u;
                i += u;
                continue;
            }

            if (c == '"' || c == '\\') {
                out[o++] = '\\';
                out[o++] = (char) c;

            } else if (c < 0x20 || c == 0x7f) {
                if (c == 0) {
                    *err = "a field holds a NUL character";
                    return -1;
                }

                out[o++] = '\\';
                out[o++] = 'u';
                out[o++] = '0';
                out[o++] = '0';
                out[o++] = hex[c >> 4];
                out[o++] = hex[c & 0xf];

            } else {
                out[o++] = (char) c;
            }

            i++;
        }

        if (quoted) {
            if (i == n) {
                *err = "a quoted field is not closed";
                return -1;
            }

            i++;    /* the closing quote */

            if (i < n && p[i] != ',') {
                *err = "a quoted field is followed by something else than ,";
                return -1;
            }
        }

        out[o++] = '"';

        if (i == n) {
            break;
        }

        i++;        /* the comma */
    }

    out[o++] = ']';
    out[o] = '\0';
    *len = o;

    return 0;

#undef prefs_bulk_room
}


static int
prefs_bulk_json(prefs_bulk_t *b, const char *buf, size_t len, int eof,
    size_t *start, size_t *end, size_t *consumed, const char **err)
{
    int     rc;
    char    c;
    size_t  i, used;

    static const char  key[] = "UserProfilePreferences";

    i = 0;

    for ( ;; ) {

        while (i < len && PREFS_BULK_WS(buf[i])) {
            i++;
        }

        *consumed = i;

        if (i == len) {
            if (!eof) {
                return PREFS_BULK_MORE;
            }

            if (b->state == PREFS_BULK_S_END) {
                return PREFS_BULK_END;
            }

            *err = b->state == PREFS_BULK_S_OPEN
                   ? "The body is empty" : "The body ends early";
            return PREFS_BULK_ERROR;
        }

        c = buf[i];

        switch (b->state) {

        case PREFS_BULK_S_OPEN:
            if (c != '{') {
                *err = PREFS_BULK_SHAPE;
                return PREFS_BULK_ERROR;
            }

            i++;
            b->state = PREFS_BULK_S_KEY;
            break;

        case PREFS_BULK_S_KEY:
            if (c != '"') {
                *err = PREFS_BULK_SHAPE;
                return PREFS_BULK_ERROR;
            }

            rc = prefs_bulk_string(buf + i, len - i, &used, err);

            if (rc == 1 && !eof && len - i < b->max_record) {
                return PREFS_BULK_MORE;
            }

            /* the one field, in any case (as ASP.NET binds it) */

            if (rc != 0 || used != sizeof(key) + 1
                || strncasecmp(buf + i + 1, key, sizeof(key) - 1) != 0)
            {
                *err = PREFS_BULK_SHAPE;
                return PREFS_BULK_ERROR;
            }

            i += used;
            b->state = PREFS_BULK_S_COLON;
            break;

        case PREFS_BULK_S_COLON:
        case PREFS_BULK_S_ARRAY:
        case PREFS_BULK_S_CLOSE:
            if (c != (b->state == PREFS_BULK_S_COLON ? ':'
                      : b->state == PREFS_BULK_S_ARRAY ? '[' : '}'))
            {
                *err = PREFS_BULK_SHAPE;
                return PREFS_BULK_ERROR;
            }

            i++;
            b->state++;
            break;

        case PREFS_BULK_S_NEXT:
            if (c == ',') {
                i++;
                b->state = PREFS_BULK_S_RECORD;
                break;
            }

            /* fall through */

        case PREFS_BULK_S_FIRST:
            if (c == ']') {
                i++;
                b->state = PREFS_BULK_S_CLOSE;
                break;
            }

            if (b->state == PREFS_BULK_S_NEXT) {
                *err = "A record is followed by something else than , or ]";
                return PREFS_BULK_ERROR;
            }

            /* fall through */

        case PREFS_BULK_S_RECORD:
            rc = prefs_bulk_value(buf + i, len - i, &used, err);

            if (rc == 1) {
                if (len - i >= b->max_record) {
                    *err = "A record is longer than the longest allowed";
                    return PREFS_BULK_ERROR;
                }

                if (eof) {
                    *err = "The body ends inside a record";
                    return PREFS_BULK_ERROR;
                }

                return PREFS_BULK_MORE;
            }

            if (rc < 0) {
                return PREFS_BULK_ERROR;
            }

            if (used > b->max_record) {
                *err = "A record is longer than the longest allowed";
                return PREFS_BULK_ERROR;
            }

            *start = i;
            *end = i + used;
            *consumed = i + used;
            b->state = PREFS_BULK_S_NEXT;

            return PREFS_BULK_RECORD;

        default: /* PREFS_BULK_S_END */
            *err = "The body goes on after its end";
            return PREFS_BULK_ERROR;
        }
    }
}


int
prefs_bulk_value(const char *p, size_t len, size_t *used, const char **err)
{
    int            rc, expect, depth;
    char           c, stack[PREFS_BULK_MAX_DEPTH];
    size_t         i, n;
    const char    *lit;

    i = 0;
    depth = 0;
    expect = PREFS_BULK_E_VALUE;
    *err = NULL;

    for ( ;; ) {

        while (i < len && PREFS_BULK_WS(p[i])) {
            i++;
        }

        if (i == len) {
            return 1;
        }

        c = p[i];

        switch (expect) {

        case PREFS_BULK_E_KEY_END:
            if (c == '}') {
                depth--;
                i++;
                goto value_done;
            }

            /* fall through */

        case PREFS_BULK_E_KEY:
            if (c != '"') {
                *err = "a member name must be a string";
                return -1;
            }

            rc = prefs_bulk_string(p + i, len - i, &n, err);
            if (rc != 0) {
                return rc;
            }

            i += n;
            expect = PREFS_BULK_E_COLON;
            continue;

        case PREFS_BULK_E_COLON:
            if (c != ':') {
                *err = "a member name must be followed by :";
                return -1;
            }

            i++;
            expect = PREFS_BULK_E_VALUE;
            continue;

        case PREFS_BULK_E_COMMA:
            if (c == ',') {
                i++;
                expect = stack[depth - 1] == '{' ? PREFS_BULK_E_KEY
                                                 : PREFS_BULK_E_VALUE;
                continue;
            }

            if (c != (stack[depth - 1] == '{' ? '}' : ']')) {
                *err = "a value must be followed by , or the end of its "
                       "object or array";
                return -1;
            }

            depth--;
            i++;
            goto value_done;

        case PREFS_BULK_E_VALUE_END:
            if (c == ']') {
                depth--;
                i++;
                goto value_done;
            }

            /* fall through */

        default: /* PREFS_BULK_E_VALUE */
            break;
        }

        /* a value */

        if (c == '{' || c == '[') {
            if (depth == PREFS_BULK_MAX_DEPTH) {
                *err = "it nests more than 64 levels deep";
                return -1;
            }

            stack[depth++] = c;
            i++;
            expect = c == '{' ? PREFS_BULK_E_KEY_END : PREFS_BULK_E_VALUE_END;
            continue;
        }

        if (c == '"') {
            rc = prefs_bulk_string(p + i, len - i, &n, err);

        } else if (c == '-' || (c >= '0' && c <= '9')) {
            rc = prefs_bulk_number(p + i, len - i, depth > 0, &n, err);

        } else {
            lit = c == 't' ? "true" : c == 'f' ? "false"
                  : c == 'n' ? "null" : NULL;

            if (lit == NULL) {
                *err = "an unexpected character";
                return -1;
            }

            n = strlen(lit);

            if (len - i < n) {
                rc = strncmp(p + i, lit, len - i) == 0 ? 1 : -1;

            } else {
                rc = strncmp(p + i, lit, n) == 0 ? 0 : -1;
            }

            if (rc < 0) {
                *err = "an unexpected word";
            }
        }

        if (rc != 0) {
            return rc;
        }

        i += n;

    value_done:

        if (depth == 0) {
            *used = i;
            return 0;
        }

        expect = PREFS_BULK_E_COMMA;
    }
}


static int
prefs_bulk_string(const char *p, size_t len, size_t *used, const char **err)
{
    int             k;
    char            hx[5];
    size_t          i, n;
    unsigned long   cp, lo;
    unsigned char   c;

    hx[4] = '\0';

    for (i = 1; i < len; /* void */) {
        c = (unsigned char) p[i];

        if (c == '"') {
            *used = i + 1;
            return 0;
        }

        if (c < 0x20) {
            *err = "a string holds a control character";
            return -1;
        }

        if (c == '\\') {
            if (i + 1 >= len) {
                return 1;
            }

            c = (unsigned char) p[i + 1];

            if (c == 'u') {
                if (i + 6 > len) {
                    return 1;
                }

                for (k = 2; k < 6; k++) {
                    if (!strchr("0123456789abcdefABCDEF", p[i + k])
                        || p[i + k] == '\0')
                    {
                        *err = "a string holds a bad unicode escape";
                        return -1;
                    }
                }

                cp = strtoul(strncpy(hx, p + i + 2, 4), NULL, 16);

                if (cp == 0) {
                    *err = "a string holds an escaped NUL character";
                    return -1;
                }

                /* PostgreSQL's jsonb takes surrogates only in pairs */

                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    *err = "a string holds a lone surrogate escape";
                    return -1;
                }

                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if ((i + 6 < len && p[i + 6] != '\\')
                        || (i + 7 < len && p[i + 7] != 'u'))
                    {
                        *err = "a string holds a lone surrogate escape";
                        return -1;
                    }

                    if (i + 12 > len) {
                        return 1;
                    }

                    for (k = 8; k < 12; k++) {
                        if (!strchr("0123456789abcdefABCDEF", p[i + k])
                            || p[i + k] == '\0')
                        {
                            *err = "a string holds a bad unicode escape";
                            return -1;
                        }
                    }

                    lo = strtoul(strncpy(hx, p + i + 8, 4), NULL, 16);

                    if (lo < 0xdc00 || lo > 0xdfff) {
                        *err = "a string holds a lone surrogate escape";
                        return -1;
                    }

                    i += 6;
                }

                i += 6;
                continue;
            }

            if (c == '\0' || !strchr("\"\\/bfnrt", c)) {
                *err = "a string holds a bad escape";
                return -1;
            }

            i += 2;
            continue;
        }

        if (c < 0x80) {
            i++;
            continue;
        }

        switch (prefs_bulk_utf8((const unsigned char *) p + i, len - i, &n)) {
        case 0:
            i += n;
            continue;
        case 1:
            return 1;
        default:
            *err = "a string is not UTF-8";
            return -1;
        }
    }

    return 1;
}


/* one multi-byte UTF-8 sequence: 0, 1 when cut short, -1 when invalid */

static int
prefs_bulk_utf8(const unsigned char *p, size_t len, size_t *used)
{
    size_t          n, i;
    unsigned char   lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80;
        hi = p[0] == 0xed ? 0x9f : 0xbf;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;

    } else {
        return -1;
    }

    for (i = 1; i < n; i++) {
        if (i >= len) {
            return 1;
        }

        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf)) {
            return -1;
        }
    }

    *used = n;

    return 0;
}


/*
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; a number that reaches
 * the end of the window may go on (1) unless it stands alone (more 0).
 */

static int
prefs_bulk_number(const char *p, size_t len, int more, size_t *used,
    const char **err)
{
    size_t  i, d;

#define prefs_bulk_digits()                                                   \
    for (d = i; i < len && p[i] >= '0' && p[i] <= '9'; i++) { /* void */ }

    i = (p[0] == '-');

    if (i == len) {
        return 1;
    }

    if (p[i] == '0') {
        i++;

    } else {
        prefs_bulk_digits();

        if (i == d) {
            goto invalid;
        }
    }

    if (i < len && p[i] == '.') {
        i++;
        prefs_bulk_digits();

        if (i == d) {
            if (i == len) {
                return 1;
            }

            goto invalid;
        }
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        prefs_bulk_digits();

        if (i == d) {
            if (i == len) {
                return 1;
            }

            goto invalid;
        }
    }

    if (i == len && more) {
        return 1;
    }

    *used = i;

    return 0;

invalid:

    *err = "a number is malformed";

    return -1;

#undef prefs_bulk_digits
}
