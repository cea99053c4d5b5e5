
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Bulk import, the Integration API (BulkImport; docs/bulk.md):
 *
 *   POST Async/{clientId}/Import                      initiate
 *   POST Async/{clientId}/Import/{token}/Stage        records, repeatable
 *   POST Async/{clientId}/Import/{token}/Execute      queued for the helper
 *   GET  Async/{clientId}/Import/{token}/Status
 *   GET  Async/{clientId}/Import/{token}/Exceptions?limit=&offset=
 *
 * Every answer but the exceptions' is the BulkImportStatus.  Another
 * account's token, or an unknown one, is 401.
 *
 * A Stage body is JSON, NDJSON or CSV (its first row the header: each
 * row goes to PostgreSQL as a JSON array of its fields, which
 * prefs_import_stage_csv maps to a record by the header's names).
 *
 * A Stage body is never held whole: the router spools it to a file
 * (NGX_PREFS_API_FILE_BODY, up to prefs_import_max_body); it is read
 * through a window of NGX_PREFS_IMPORT_WINDOW bytes, split into records
 * (src/lib/prefs_bulk.c) and sent to PostgreSQL a chunk of about
 * NGX_PREFS_IMPORT_CHUNK bytes at a time, each chunk one query, the next
 * built when the last is answered.  The body is read once first to check
 * its shape, so that a malformed body stages nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_import.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "prefs_bulk.h"


#define NGX_PREFS_IMPORT_MAX_RECORD  (512 * 1024)
#define NGX_PREFS_IMPORT_WINDOW      (1024 * 1024)
#define NGX_PREFS_IMPORT_CHUNK       (1024 * 1024)
#define NGX_PREFS_IMPORT_BAD         (64 * 1024)
#define NGX_PREFS_IMPORT_BAD_ENTRY   256


typedef struct {
    ngx_http_request_t        *r;
    ngx_prefs_api_ctx_t       *ctx;
    prefs_bulk_t               bulk;

    ngx_chain_t               *in;         /* the body's next buffer */
    off_t                      in_pos;     /* how much of it was read */

    u_char                    *win;
    size_t                     have;
    size_t                     pending;    /* used by the last record */
    unsigned                   eof:1;
    unsigned                   done:1;     /* every record is sent */

    u_char                    *chunk;      /* "[record,...]" */
    size_t                     chunk_len;
    u_char                    *header;     /* CSV: ["name",...] */
    size_t                     header_len;
    u_char                    *bad;        /* {"index":"why",...} */
    size_t                     bad_len;
    ngx_uint_t                 n;          /* records in the chunk */
    ngx_uint_t                 position;   /* of the chunk's first */

    char                       request[NGX_INT_T_LEN + 1];
    char                       first[NGX_INT_T_LEN + 1];
} ngx_prefs_import_stage_t;


static ngx_int_t ngx_prefs_import_format(ngx_http_request_t *r);
static ngx_int_t ngx_prefs_import_rewind(ngx_prefs_import_stage_t *st,
    int format);
static ngx_int_t ngx_prefs_import_read(ngx_prefs_import_stage_t *st);
static ngx_int_t ngx_prefs_import_next(ngx_prefs_import_stage_t *st,
    size_t *start, size_t *end, const char **err);
static void ngx_prefs_import_begun(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_import_send_chunk(ngx_prefs_import_stage_t *st);
static void ngx_prefs_import_staged(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_import_token_query(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e stmt);
static void ngx_prefs_import_answer(ngx_prefs_db_query_t *q);


ngx_int_t
ngx_prefs_import_initiate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                        *text, *quota;
    json_t                      *body;
    ngx_int_t                    rc;
    ngx_prefs_db_query_t        *q;
    ngx_http_prefs_main_conf_t  *pmcf;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    text = ngx_prefs_json_text(r->pool, body);
    quota = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);

    if (text == NULL || quota == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);
    *ngx_sprintf((u_char *) quota, "%ui", pmcf->import.quota) = '\0';

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_IMPORT_INITIATE,
                            ngx_prefs_import_answer);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text[0] ? ctx->user_text : NULL;
    q->values[2] = text;
    q->values[3] = quota;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_import_execute(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_import_token_query(r, ctx, NGX_PREFS_STMT_IMPORT_EXECUTE);
}


ngx_int_t
ngx_prefs_import_status(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_import_token_query(r, ctx, NGX_PREFS_STMT_IMPORT_STATUS);
}


ngx_int_t
ngx_prefs_import_exceptions(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    ngx_int_t              limit, offset;
    ngx_prefs_db_query_t  *q;

    if (ngx_prefs_api_int_arg(ctx, "limit", 1, 10000, 1000, &limit)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "limit must be an integer from 1 to "
                                    "10000");
    }

    if (ngx_prefs_api_int_arg(ctx, "offset", 1, 100000000, 1, &offset)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "offset must be an integer from 1 to "
                                    "100000000");
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_IMPORT_EXCEPTIONS,
                            ngx_prefs_import_answer);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = (char *) p;
    p = ngx_sprintf(p, "%i", limit);
    *p++ = '\0';
    q->values[3] = (char *) p;
    *ngx_sprintf(p, "%i", offset) = '\0';

    return ngx_prefs_http_query(r, q);
}


static ngx_int_t
ngx_prefs_import_token_query(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, stmt, ngx_prefs_import_answer);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->args[0].data;

    return ngx_prefs_http_query(r, q);
}


/* the status (or the exceptions) with 200, or the refusal's message */

static void
ngx_prefs_import_answer(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_IMPORT,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_api_send_column(r, o->status, q, NGX_PREFS_COL_BODY);
    }

    ngx_prefs_http_finalize(r, rc);
}


/* Stage */

ngx_int_t
ngx_prefs_import_stage(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    int                        format;
    size_t                     start, end;
    ngx_int_t                  rc;
    const char                *err;
    ngx_prefs_db_query_t      *q;
    ngx_prefs_import_stage_t  *st;

    format = ngx_prefs_import_format(r);

    if (format == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "The body must be application/json, "
                                    "application/x-ndjson or text/csv");
    }

    st = ngx_pcalloc(r->pool, sizeof(ngx_prefs_import_stage_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->r = r;
    st->ctx = ctx;
    st->win = ngx_pnalloc(r->pool, NGX_PREFS_IMPORT_WINDOW);
    st->chunk = ngx_pnalloc(r->pool, NGX_PREFS_IMPORT_CHUNK
                                     + NGX_PREFS_IMPORT_MAX_RECORD + 8);
    st->bad = ngx_pnalloc(r->pool, NGX_PREFS_IMPORT_BAD
                                   + NGX_PREFS_IMPORT_BAD_ENTRY + 8);
    st->header = ngx_pnalloc(r->pool, NGX_PREFS_IMPORT_MAX_RECORD + 8);

    if (st->win == NULL || st->chunk == NULL || st->bad == NULL
        || st->header == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the shape of the whole body first: a malformed one stages nothing */

    if (ngx_prefs_import_rewind(st, format) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for ( ;; ) {
        rc = ngx_prefs_import_next(st, &start, &end, &err);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == PREFS_BULK_ERROR) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "The body is not valid: %s", err);
        }

        if (rc == PREFS_BULK_END) {
            break;
        }
    }

    if (ngx_prefs_import_rewind(st, format) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_IMPORT_STAGE_BEGIN,
                            ngx_prefs_import_begun);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->args[0].data;

    ctx->route_data = st;

    return ngx_prefs_http_query(r, q);
}


/* PREFS_BULK_JSON, _NDJSON or _CSV; 0: none of them */

static ngx_int_t
ngx_prefs_import_format(ngx_http_request_t *r)
{
    size_t      len;
    u_char     *p;
    ngx_str_t  *type;

    static ngx_str_t  json = ngx_string("application/json");
    static ngx_str_t  ndjson = ngx_string("application/x-ndjson");
    static ngx_str_t  csv = ngx_string("text/csv");

    if (r->headers_in.content_type == NULL) {
        return PREFS_BULK_JSON;
    }

    type = &r->headers_in.content_type->value;
    p = ngx_strlchr(type->data, type->data + type->len, ';');
    len = (p ? (size_t) (p - type->data) : type->len);

    while (len && type->data[len - 1] == ' ') {
        len--;
    }

    if (len == json.len && ngx_strncasecmp(type->data, json.data, len) == 0) {
        return PREFS_BULK_JSON;
    }

    if (len == ndjson.len
        && ngx_strncasecmp(type->data, ndjson.data, len) == 0)
    {
        return PREFS_BULK_NDJSON;
    }

    if (len == csv.len && ngx_strncasecmp(type->data, csv.data, len) == 0) {
        return PREFS_BULK_CSV;
    }

    return 0;
}


static ngx_int_t
ngx_prefs_import_rewind(ngx_prefs_import_stage_t *st, int format)
{
    ngx_http_request_t  *r = st->r;

    prefs_bulk_init(&st->bulk, format, NGX_PREFS_IMPORT_MAX_RECORD);

    st->in = r->request_body ? r->request_body->bufs : NULL;
    st->in_pos = 0;
    st->have = 0;
    st->pending = 0;
    st->eof = 0;

    return ngx_prefs_import_read(st);
}


/* the window filled from the body's buffers, in memory or in its file */

static ngx_int_t
ngx_prefs_import_read(ngx_prefs_import_stage_t *st)
{
    off_t       size;
    size_t      n;
    ssize_t     got;
    ngx_buf_t  *b;

    while (st->have < NGX_PREFS_IMPORT_WINDOW && st->in) {
        b = st->in->buf;

        size = b->in_file ? b->file_last - b->file_pos : b->last - b->pos;

        if (st->in_pos >= size) {
            st->in = st->in->next;
            st->in_pos = 0;
            continue;
        }

        n = ngx_min((size_t) (size - st->in_pos),
                    NGX_PREFS_IMPORT_WINDOW - st->have);

        if (b->in_file) {
            got = ngx_read_file(b->file, st->win + st->have, n,
                                b->file_pos + st->in_pos);
            if (got != (ssize_t) n) {
                return NGX_ERROR;
            }

        } else {
            ngx_memcpy(st->win + st->have, b->pos + st->in_pos, n);
        }

        st->have += n;
        st->in_pos += n;
    }

    st->eof = (st->in == NULL);

    return NGX_OK;
}


/*
 * The next record (PREFS_BULK_RECORD at win[start, end), until the next
 * call), PREFS_BULK_BAD, _END or _ERROR; NGX_ERROR if the body cannot be
 * read.
 */

static ngx_int_t
ngx_prefs_import_next(ngx_prefs_import_stage_t *st, size_t *start,
    size_t *end, const char **err)
{
    int     rc;
    size_t  used;

    used = st->pending;

    for ( ;; ) {

        /* what the last record (or the last MORE) used is dropped now */

        if (used) {
            ngx_memmove(st->win, st->win + used, st->have - used);
            st->have -= used;
        }

        st->pending = 0;

        rc = prefs_bulk_next(&st->bulk, (char *) st->win, st->have, st->eof,
                             start, end, &used, err);

        if (rc != PREFS_BULK_MORE) {
            st->pending = used;
            return rc;
        }

        if (used == 0 && st->have == NGX_PREFS_IMPORT_WINDOW) {
            /* prefs_bulk_next() refuses records as long as the window */
            return NGX_ERROR;
        }

        ngx_memmove(st->win, st->win + used, st->have - used);
        st->have -= used;
        used = 0;

        if (ngx_prefs_import_read(st) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


static void
ngx_prefs_import_begun(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    ngx_prefs_api_ctx_t        *ctx;
    ngx_prefs_import_stage_t   *st;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_IMPORT,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
        st = ctx->route_data;

        ngx_cpystrn((u_char *) st->request,
                    (u_char *) ngx_prefs_db_value(q, 0, NGX_PREFS_COL_BODY),
                    sizeof(st->request));

        rc = ngx_prefs_import_send_chunk(st);
    }

    ngx_prefs_http_finalize(r, rc);
}


/*
 * The next chunk of records to PostgreSQL; once every record is sent, the
 * status.
 */

static ngx_int_t
ngx_prefs_import_send_chunk(ngx_prefs_import_stage_t *st)
{
    u_char                *p;
    size_t                 start, end, used;
    ngx_int_t              rc;
    ngx_uint_t             csv;
    const char            *err;
    ngx_prefs_stmt_e       stmt;
    ngx_prefs_db_query_t  *q;

    if (st->done) {
        q = ngx_prefs_api_query(st->r, st->ctx, NGX_PREFS_STMT_IMPORT_STATUS,
                                ngx_prefs_import_answer);
        if (q == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        q->values[1] = (char *) st->ctx->args[0].data;

        return ngx_prefs_http_query(st->r, q);
    }

    csv = (st->bulk.format == PREFS_BULK_CSV);
    st->position += st->n;
    st->n = 0;
    st->chunk_len = 0;
    st->bad_len = 0;
    st->chunk[st->chunk_len++] = '[';

    while (st->chunk_len < NGX_PREFS_IMPORT_CHUNK
           && st->bad_len < NGX_PREFS_IMPORT_BAD)
    {
        rc = ngx_prefs_import_next(st, &start, &end, &err);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == PREFS_BULK_END || rc == PREFS_BULK_ERROR) {
            /* the first pass found no error: END */
            st->done = 1;
            break;
        }

        if (rc == PREFS_BULK_RECORD && csv && st->header_len == 0)
        {
            /* the header row: sent with every chunk */
            if (prefs_bulk_csv_json((char *) st->win + start, end - start,
                                    (char *) st->header,
                                    NGX_PREFS_IMPORT_MAX_RECORD,
                                    &st->header_len, &err)
                != 0)
            {
                st->header_len = 0;
                return ngx_prefs_http_error(st->r, NGX_HTTP_BAD_REQUEST,
                                            "The CSV header is not valid: %s",
                                            err);
            }

            continue;
        }

        if (st->n) {
            st->chunk[st->chunk_len++] = ',';
        }

        p = st->chunk + st->chunk_len;

        if (rc == PREFS_BULK_RECORD && csv) {
            if (prefs_bulk_csv_json((char *) st->win + start, end - start,
                                    (char *) st->chunk + st->chunk_len,
                                    NGX_PREFS_IMPORT_MAX_RECORD, &used, &err)
                == 0)
            {
                p += used;

            } else {
                rc = PREFS_BULK_BAD;
            }
        }

        if (rc == PREFS_BULK_RECORD && !csv) {
            p = ngx_cpymem(st->chunk + st->chunk_len, st->win + start,
                           end - start);

        } else if (rc == PREFS_BULK_BAD) {
            /* a placeholder, and why in the bad list */
            p = csv
                ? ngx_cpymem(st->chunk + st->chunk_len, "[]", 2)
                : ngx_cpymem(st->chunk + st->chunk_len, "{}", 2);

            st->bad[st->bad_len] = st->bad_len ? ',' : '{';
            st->bad_len++;
            st->bad_len = ngx_snprintf(st->bad + st->bad_len,
                                       NGX_PREFS_IMPORT_BAD_ENTRY,
                                       "\"%ui\":\"The %s is not valid %s: "
                                       "%s\"", st->n,
                                       csv ? "row" : "record",
                                       csv ? "CSV" : "JSON", err)
                          - st->bad;
        }

        st->chunk_len = p - st->chunk;
        st->n++;
    }

    st->chunk[st->chunk_len++] = ']';
    st->chunk[st->chunk_len] = '\0';

    if (st->bad_len) {
        st->bad[st->bad_len++] = '}';
    }

    st->bad[st->bad_len] = '\0';

    if (st->n == 0) {
        /* nothing (more) to stage */
        return ngx_prefs_import_send_chunk(st);
    }

    stmt = csv ? NGX_PREFS_STMT_IMPORT_STAGE_CSV : NGX_PREFS_STMT_IMPORT_STAGE;

    q = ngx_prefs_api_query(st->r, st->ctx, stmt, ngx_prefs_import_staged);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) st->first, "%ui", st->position) = '\0';

    q->values[1] = st->ctx->user_text[0] ? st->ctx->user_text : NULL;
    q->values[2] = (char *) st->ctx->args[0].data;
    q->values[3] = st->request;
    q->values[4] = st->first;

    if (stmt == NGX_PREFS_STMT_IMPORT_STAGE_CSV) {
        st->header[st->header_len] = '\0';
        q->values[5] = (char *) st->header;
        q->values[6] = (char *) st->chunk;
        q->values[7] = st->bad_len ? (char *) st->bad : NULL;

    } else {
        q->values[5] = (char *) st->chunk;
        q->values[6] = st->bad_len ? (char *) st->bad : NULL;
    }

    return ngx_prefs_http_query(st->r, q);
}


static void
ngx_prefs_import_staged(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    ngx_prefs_api_ctx_t        *ctx;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_IMPORT,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
        rc = ngx_prefs_import_send_chunk(ctx->route_data);
    }

    ngx_prefs_http_finalize(r, rc);
}
