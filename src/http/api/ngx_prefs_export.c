
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Bulk export, under /Profiles/v4/Async/{clientId}/ (BulkExport): start an
 * export of a segment or segment group, its status, its pages, Commit.
 * The export itself is the helper's job "prefs.export"
 * (src/helper/ngx_prefs_export_job.c); a page is its head and the stored
 * documents, rows of one result, sent from the result's memory without
 * being parsed or copied.  With "Accept: application/x-ndjson" the whole
 * export (from offset) is one streamed answer, a document a line: a range
 * of rows is asked for only once the previous one has left for the
 * client, and its result is freed then, so a worker holds one range at a
 * time whatever the export's size.  An access token that is not a live
 * export of the caller's account is 401, as the reference answers an
 * invalid one.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_export.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"


static ngx_int_t ngx_prefs_export_token(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e stmt,
    ngx_prefs_db_query_t **q);
static ngx_int_t ngx_prefs_export_invalid(ngx_http_request_t *r);
static void ngx_prefs_export_done(ngx_prefs_db_query_t *q);
static void ngx_prefs_export_page_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_export_lines(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_int_t offset, ngx_str_t *keep);
static ngx_int_t ngx_prefs_export_lines_next(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static void ngx_prefs_export_lines_done(ngx_prefs_db_query_t *q);
static void ngx_prefs_export_lines_writer(ngx_http_request_t *r);
static ngx_flag_t ngx_prefs_export_wants_lines(ngx_http_request_t *r);


#define NGX_PREFS_EXPORT_LINES_RANGE  "1000"
#define NGX_PREFS_EXPORT_LINES_ROWS   1000


typedef struct {
    int64_t                   next;        /* the first row of the range */
    char                      next_text[NGX_INT64_LEN + 1];
    char                     *keep;        /* "true" or "false" */
    ngx_prefs_db_query_t     *q;           /* the range being sent */
    ngx_flag_t                more;
    ngx_buf_t                *bufs;        /* a range's lines, reused */
    ngx_chain_t              *chain;
} ngx_prefs_export_lines_t;


ngx_int_t
ngx_prefs_export_start(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    json_t                *body;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    /* the body is optional: no body is a full export without callback */

    text = NULL;

    if (ctx->body.len) {
        rc = ngx_prefs_api_json_body(r, ctx, &body);
        if (body == NULL) {
            return rc;
        }

        text = ngx_prefs_json_text(r->pool, body);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_EXPORT_START,
                            ngx_prefs_export_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->route->data;
    q->values[3] = (char *) ctx->args[0].data;
    q->values[4] = text;
    /* MyPreferences 2.0's routes export v3 Preferences, 3.0's profiles */
    q->values[5] = (ctx->route->apis & NGX_PREFS_API_IN_V3_ASYNC) ? "v3"
                                                                   : "v4";

    /* a schedule's export takes startDate and endDate from the query */
    if (ngx_strcmp(ctx->route->data, NGX_PREFS_EXPORT_SCHEDULE) == 0) {
        q->values[6] = ngx_prefs_json_text(r->pool, ctx->query);
        if (q->values[6] == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_export_state(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_export_token(r, ctx, NGX_PREFS_STMT_EXPORT_STATE, &q);
    if (q == NULL) {
        return rc;
    }

    q->values[2] = (char *) ctx->route->data;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_export_page(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    ngx_int_t              rc, limit, offset;
    ngx_str_t              keep;
    ngx_prefs_db_query_t  *q;

    if (ngx_prefs_api_int_arg(ctx, "limit", 1, 1000, 1000, &limit)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "limit must be an integer from 1 to 1000");
    }

    if (ngx_prefs_api_int_arg(ctx, "offset", 1, NGX_MAX_INT32_VALUE, 1,
                              &offset)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "offset must be an integer from 1");
    }

    rc = ngx_prefs_api_arg(ctx, "keepAlive", &keep);

    if (rc == NGX_DECLINED) {
        ngx_str_set(&keep, "false");

    } else if (rc != NGX_OK
               || !((keep.len == 4
                     && ngx_strncasecmp(keep.data, (u_char *) "true", 4) == 0)
                    || (keep.len == 5
                        && ngx_strncasecmp(keep.data, (u_char *) "false", 5)
                           == 0)))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "keepAlive must be true or false");
    }

    if (ngx_prefs_export_wants_lines(r)) {
        return ngx_prefs_export_lines(r, ctx, offset, &keep);
    }

    rc = ngx_prefs_export_token(r, ctx, NGX_PREFS_STMT_EXPORT_PAGE, &q);
    if (q == NULL) {
        return rc;
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[2] = (char *) p;
    p = ngx_sprintf(p, "%i", limit);
    *p++ = '\0';
    q->values[3] = (char *) p;
    *ngx_sprintf(p, "%i", offset) = '\0';
    q->values[4] = (keep.len == 4) ? "true" : "false";
    q->handler = ngx_prefs_export_page_done;

    return ngx_prefs_http_query(r, q);
}


/* a page: the head (row 0), the documents (rows 1..n) joined with ',',
 * then "]}"; a refusal is row 0 alone.  It is sent from the result's own
 * memory, which lives as long as the request: buffers over its values and
 * over the separators, allocated at once, no copy of the documents */

static void
ngx_prefs_export_page_done(ngx_prefs_db_query_t *q)
{
    int                  i, n, k;
    off_t                len;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r = q->data;

    static u_char  comma[] = ",", end[] = "]}";

    if (q->status != NGX_PREFS_DB_OK || PQntuples(q->res) == 0
        || ngx_strcmp(ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME), "ok")
           != 0)
    {
        ngx_prefs_export_done(q);
        return;
    }

    /* the head, the n - 1 documents, a ',' between two, "]}": at most
     * 2 n buffers */

    n = PQntuples(q->res);

    b = ngx_pcalloc(r->pool, 2 * n * sizeof(ngx_buf_t));
    cl = ngx_palloc(r->pool, 2 * n * sizeof(ngx_chain_t));
    if (b == NULL || cl == NULL) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    k = 0;

    for (i = 0; i < n; i++) {
        if (i > 1) {
            b[k].pos = comma;
            b[k].last = comma + 1;
            k++;
        }

        b[k].pos = (u_char *) ngx_prefs_db_value(q, i, NGX_PREFS_COL_BODY);
        b[k].last = b[k].pos + ngx_prefs_db_length(q, i, NGX_PREFS_COL_BODY);
        k++;
    }

    b[k].pos = end;
    b[k].last = end + sizeof(end) - 1;
    k++;

    len = 0;

    for (i = 0; i < k; i++) {
        b[i].memory = 1;
        len += b[i].last - b[i].pos;

        cl[i].buf = &b[i];
        cl[i].next = (i + 1 < k) ? &cl[i + 1] : NULL;
    }

    ngx_prefs_http_finalize(r, ngx_prefs_http_send_chain(r, NGX_HTTP_OK, cl,
                                                         len));
}


/* the query of a route whose argument is an access token; *q NULL when the
 * answer is the returned code (a token that is not a number is 401) */

static ngx_int_t
ngx_prefs_export_token(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt, ngx_prefs_db_query_t **q)
{
    *q = NULL;

    if (ngx_prefs_api_id(&ctx->args[0]) == 0) {
        return ngx_prefs_export_invalid(r);
    }

    *q = ngx_prefs_api_query(r, ctx, stmt, ngx_prefs_export_done);
    if (*q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (*q)->values[1] = (char *) ctx->args[0].data;

    return NGX_OK;
}


/* a token that cannot be an export's: 401 without asking the database */

static ngx_int_t
ngx_prefs_export_invalid(ngx_http_request_t *r)
{
    return ngx_prefs_outcome_send(r,
               ngx_prefs_outcome_find(NGX_PREFS_OUTCOMES_EXPORT,
                                      "invalid_token"),
               NULL, NULL, NULL);
}


static void
ngx_prefs_export_done(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_EXPORT);
}



/* Accept: application/x-ndjson (a parameter, such as a q-value, may follow) */

static ngx_flag_t
ngx_prefs_export_wants_lines(ngx_http_request_t *r)
{
    ngx_str_t  *v;

    static const char  type[] = "application/x-ndjson";

    if (r->headers_in.accept == NULL) {
        return 0;
    }

    v = &r->headers_in.accept->value;

    return ngx_strlcasestrn(v->data, v->data + v->len, (u_char *) type,
                            sizeof(type) - 2)
           != NULL;
}


static ngx_int_t
ngx_prefs_export_lines(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_int_t offset, ngx_str_t *keep)
{
    size_t                     n;
    ngx_prefs_export_lines_t  *st;

    if (ngx_prefs_api_id(&ctx->args[0]) == 0) {
        return ngx_prefs_export_invalid(r);
    }

    st = ngx_pcalloc(r->pool, sizeof(ngx_prefs_export_lines_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a line is a document and its newline: two buffers */

    n = 2 * NGX_PREFS_EXPORT_LINES_ROWS;

    st->bufs = ngx_pcalloc(r->pool, n * sizeof(ngx_buf_t));
    st->chain = ngx_palloc(r->pool, n * sizeof(ngx_chain_t));
    if (st->bufs == NULL || st->chain == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->next = offset;
    st->keep = (keep->len == 4) ? "true" : "false";
    ctx->state = st;

    return ngx_prefs_export_lines_next(r, ctx);
}


/* asks for the next range; NGX_DONE, or an error code */

static ngx_int_t
ngx_prefs_export_lines_next(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t      *q;
    ngx_prefs_export_lines_t  *st = ctx->state;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_EXPORT_LINES,
                            ngx_prefs_export_lines_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) st->next_text, "%L", st->next) = '\0';

    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = NGX_PREFS_EXPORT_LINES_RANGE;
    q->values[3] = st->next_text;
    q->values[4] = st->keep;

    st->q = q;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_export_lines_done(ngx_prefs_db_query_t *q)
{
    int                         i, n;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_http_request_t         *r = q->data;
    ngx_prefs_api_ctx_t        *ctx;
    ngx_prefs_export_lines_t   *st;
    const ngx_prefs_outcome_t  *o;

    static u_char  newline[] = "\n";

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    st = ctx->state;

    if (!r->header_sent) {
        /* the first range: a refusal is answered as a page's would be */

        rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_EXPORT,
                                       NGX_PREFS_COL_BODY, &o);
        if (rc != NGX_DECLINED) {
            ngx_prefs_http_finalize(r, rc);
            return;
        }

        r->headers_out.status = NGX_HTTP_OK;
        ngx_str_set(&r->headers_out.content_type, "application/x-ndjson");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        ngx_http_clear_content_length(r);

        rc = ngx_http_send_header(r);
        if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
            ngx_prefs_http_finalize(r, rc);
            return;
        }

    } else if (q->status != NGX_PREFS_DB_OK
               || ngx_strcmp(ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME),
                             "ok") != 0)
    {
        /* ended or failed under way: the answer cannot say so but by
         * ending short of its last chunk */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "prefs export: the NDJSON download of %V stopped at "
                      "row %L: %s", &ctx->args[0], st->next,
                      q->status == NGX_PREFS_DB_OK
                      ? ngx_prefs_db_value(q, 0, NGX_PREFS_COL_OUTCOME)
                      : ngx_prefs_db_status_text(q));
        ngx_prefs_http_finalize(r, NGX_ERROR);
        return;
    }

    st->more = ngx_strcmp(ngx_prefs_db_value(q, 0, NGX_PREFS_COL_HAS_MORE),
                          "true") == 0;
    st->next += NGX_PREFS_EXPORT_LINES_ROWS;

    n = PQntuples(q->res) - 1;

    if (n <= 0 || n > NGX_PREFS_EXPORT_LINES_ROWS) {
        if (n > 0) {
            ngx_prefs_http_finalize(r, NGX_ERROR);
            return;
        }

        ngx_prefs_export_lines_writer(r);
        return;
    }

    /* rows 1..n, the documents: the result's own memory, freed once sent,
     * each followed by a newline; the bufs and links are the request's,
     * the same for every range */

    for (i = 0; i < 2 * n; i++) {
        b = &st->bufs[i];
        ngx_memzero(b, sizeof(ngx_buf_t));

        if (i % 2 == 0) {
            b->pos = (u_char *) ngx_prefs_db_value(q, i / 2 + 1,
                                                   NGX_PREFS_COL_BODY);
            b->last = b->pos + ngx_prefs_db_length(q, i / 2 + 1,
                                                   NGX_PREFS_COL_BODY);

        } else {
            b->pos = newline;
            b->last = newline + 1;
        }

        b->memory = 1;

        st->chain[i].buf = b;
        st->chain[i].next = (i + 1 < 2 * n) ? &st->chain[i + 1] : NULL;
    }

    b->flush = 1;

    rc = ngx_http_output_filter(r, st->chain);

    if (rc == NGX_ERROR) {
        ngx_prefs_http_finalize(r, NGX_ERROR);
        return;
    }

    r->write_event_handler = ngx_prefs_export_lines_writer;

    ngx_prefs_export_lines_writer(r);
}


/* once the range has left: the next one, or the end */

static void
ngx_prefs_export_lines_writer(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_event_t                *wev;
    ngx_connection_t           *c;
    ngx_prefs_api_ctx_t        *ctx;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_prefs_export_lines_t   *st;

    c = r->connection;
    wev = c->write;
    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    st = ctx->state;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out");
        c->timedout = 1;
        ngx_prefs_http_finalize(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = ngx_http_output_filter(r, NULL);

    if (rc == NGX_ERROR) {
        ngx_prefs_http_finalize(r, NGX_ERROR);
        return;
    }

    if (c->buffered || r->buffered || rc == NGX_AGAIN) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (!wev->delayed) {
            ngx_add_timer(wev, clcf->send_timeout);
        }

        if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
            ngx_prefs_http_finalize(r, NGX_ERROR);
        }

        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    /* sent: the range's result goes, the query's reference is dropped */

    if (st->q->res) {
        PQclear(st->q->res);
        st->q->res = NULL;
    }

    if (!st->more) {
        ngx_prefs_http_finalize(r, ngx_http_send_special(r, NGX_HTTP_LAST));
        return;
    }

    rc = ngx_prefs_export_lines_next(r, ctx);

    ngx_prefs_http_finalize(r, rc == NGX_DONE ? NGX_DONE : NGX_ERROR);
}
