
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The Events API (EventDataView): GET Events, Events/Subscription/{id},
 * Events/Profile/{id} and Events/{eventId}, each one call of a SQL
 * function of sql/functions/events.sql scoped to the caller's account.  Here:
 * the query string (ASP.NET form, src/lib/prefs_query), the locale of
 * Name and Description, the page size and the signed cursor
 * (src/lib/prefs_cursor); the database checks the filters.  The daily
 * partitions are kept by the helper (src/helper/ngx_prefs_partitions.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_events.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "prefs_query.h"
#include "prefs_locale.h"
#include "prefs_cursor.h"


#define NGX_PREFS_EVENTS_LIMIT          100
#define NGX_PREFS_EVENTS_LIMIT_MAX      1000
#define NGX_PREFS_EVENTS_DEFAULT_LOCALE 0


/*
 * The locales with event texts, rows of prefs_event_type_text added by
 * sql/migrations/011_events.sql (en-US by 008_webhook_base.sql), the
 * default first.  Event texts are the server's, not an
 * account's: Name and Description are the same for every account.
 */
static const char *const  ngx_prefs_events_locales[] = {
    "en-US", "de-DE", "fr-FR", "es-ES"
};

#define NGX_PREFS_EVENTS_NLOCALES                                             \
    (sizeof(ngx_prefs_events_locales) / sizeof(ngx_prefs_events_locales[0]))


typedef struct {
    char                      *args;         /* the filters, JSON text */
    const char                *locale;
    ngx_int_t                  limit;
    ngx_flag_t                 after;
    char                       after_txid[NGX_INT64_LEN + 1];
    char                       after_id[NGX_INT64_LEN + 1];
} ngx_prefs_events_params_t;


static ngx_int_t ngx_prefs_events_params(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_flag_t paging,
    ngx_prefs_events_params_t *pp);
static ngx_int_t ngx_prefs_events_locale(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, json_t *value, const char **locale);
static void ngx_prefs_events_listed(ngx_prefs_db_query_t *q);
static void ngx_prefs_events_got(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_events_headers(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *locale);


ngx_int_t
ngx_prefs_events_list(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                        *key, *p;
    int64_t                      id;
    ngx_int_t                    rc;
    const char                  *kind;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_events_params_t   *pp;
    ngx_http_prefs_main_conf_t  *pmcf;

    kind = ctx->route->data;
    key = NULL;

    if (ctx->nargs) {
        id = ngx_prefs_api_id(&ctx->args[0]);

        if (id == 0) {
            return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                        "No %s has the id \"%V\"", kind,
                                        &ctx->args[0]);
        }

        /* path segments are null-terminated by the parser */
        key = (char *) ctx->args[0].data;
    }

    pp = ngx_palloc(r->pool, sizeof(ngx_prefs_events_params_t));
    if (pp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_prefs_events_params(r, ctx, 1, pp);
    if (pp->args == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_EVENTS_LIST,
                            ngx_prefs_events_listed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = kind;
    q->values[2] = key;
    q->values[3] = pp->args;
    q->values[4] = pp->locale;

    if (pp->after) {
        q->values[5] = pp->after_txid;
        q->values[6] = pp->after_id;
    }

    q->values[7] = p;
    p = (char *) ngx_sprintf((u_char *) p, "%i", pp->limit);
    *p++ = '\0';

    q->values[8] = p;
    *ngx_sprintf((u_char *) p, "%i", pmcf->events.history_days) = '\0';

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_events_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                        *p;
    ngx_int_t                    rc;
    ngx_prefs_db_query_t        *q;
    ngx_prefs_events_params_t    pp;
    ngx_http_prefs_main_conf_t  *pmcf;

    if (ngx_prefs_api_id(&ctx->args[0]) == 0) {
        return ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No event has the id \"%V\"",
                                    &ctx->args[0]);
    }

    rc = ngx_prefs_events_params(r, ctx, 0, &pp);
    if (pp.args == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_EVENT_GET,
                            ngx_prefs_events_got);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) p, "%i", pmcf->events.history_days) = '\0';

    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = pp.locale;
    q->values[3] = p;

    return ngx_prefs_http_query(r, q);
}


/*
 * The query string: locale, limit and after are ours to take; the rest
 * goes to the database as JSON, which names what it does not know.
 * pp->args stays NULL when an answer was sent (the return value is then
 * the handler's).
 */

static ngx_int_t
ngx_prefs_events_params(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_flag_t paging, ngx_prefs_events_params_t *pp)
{
    char                        *text;
    void                        *tmp;
    json_t                      *args, *value, *locale;
    ngx_int_t                    rc;
    const char                  *name;

    ngx_memzero(pp, sizeof(ngx_prefs_events_params_t));
    pp->limit = NGX_PREFS_EVENTS_LIMIT;

    args = ngx_prefs_api_args_copy(r, ctx);
    if (args == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    locale = NULL;

    /* ASP.NET binds query parameters without regard to case */

    json_object_foreach_safe(args, tmp, name, value) {

        if (ngx_strcasecmp((u_char *) name, (u_char *) "locale") == 0) {

            /* held by args until it is deleted from it */
            locale = ngx_prefs_json_own(r->pool, json_incref(value));

        } else if (!paging) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Events/{eventId} takes only locale, "
                                        "not \"%s\"", name);

        } else if (ngx_strcasecmp((u_char *) name, (u_char *) "limit")
                   == 0)
        {
            pp->limit = ngx_prefs_events_limit(value,
                                               NGX_PREFS_EVENTS_LIMIT_MAX);

            if (pp->limit == NGX_ERROR) {
                return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                            "limit must be a whole number "
                                            "from 1 to %d",
                                            NGX_PREFS_EVENTS_LIMIT_MAX);
            }

        } else if (ngx_strcasecmp((u_char *) name, (u_char *) "after")
                   == 0)
        {
            if (ngx_prefs_events_after(r, ctx, value, pp->after_txid,
                                       pp->after_id)
                != NGX_OK)
            {
                return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                            "after is not a cursor of this "
                                            "account's events: pass the "
                                            "NextCursor of an answer as it "
                                            "came");
            }

            pp->after = 1;

        } else {
            continue;
        }

        json_object_del(args, name);
    }

    rc = ngx_prefs_events_locale(r, ctx, locale, &pp->locale);

    if (rc != NGX_OK) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "locale: event texts exist in en-US, "
                                    "de-DE, fr-FR and es-ES (and their "
                                    "languages) only");
    }

    text = ngx_prefs_json_text(r->pool, args);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pp->args = text;

    return NGX_OK;
}


/*
 * An after= value: a cursor this server made for this account, decoded to
 * the position's txid and event id as decimal text (NGX_INT64_LEN + 1
 * bytes each); NGX_ERROR for anything else.
 */

ngx_int_t
ngx_prefs_events_after(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    json_t *value, char *txid_text, char *id_text)
{
    int64_t                      id;
    uint64_t                     txid;
    ngx_http_prefs_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    if (!json_is_string(value)
        || prefs_cursor_decode(pmcf->auth.secret_key, ctx->account_id,
                               json_string_value(value),
                               json_string_length(value), &txid, &id)
           != 0)
    {
        return NGX_ERROR;
    }

    *ngx_sprintf((u_char *) txid_text, "%uL", txid) = '\0';
    *ngx_sprintf((u_char *) id_text, "%L", id) = '\0';

    return NGX_OK;
}


/*
 * The texts' locale: locale= if given (a locale without texts of its own
 * takes its language's, as "de-CH" takes "de-DE"; one without either is
 * NGX_DECLINED, for a 400), else Accept-Language negotiated over the
 * locales with texts, else en-US.
 */

static ngx_int_t
ngx_prefs_events_locale(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    json_t *value, const char **locale)
{
    int                   i, n;
    ngx_table_elt_t      *h;
    prefs_locale_range_t  ranges[PREFS_LOCALE_MAX_RANGES];

    if (value) {
        /* explicit: the answer does not vary with Accept-Language */
        ngx_str_set(&ctx->locale_arg, "locale");

        i = -1;

        if (json_is_string(value)
            && prefs_locale_canon(json_string_value(value),
                                  json_string_length(value), ranges[0].tag,
                                  sizeof(ranges[0].tag))
               > 0
            && ngx_strcmp(ranges[0].tag, "*") != 0)
        {
            ranges[0].len = ngx_strlen(ranges[0].tag);
            ranges[0].q = PREFS_LOCALE_Q_MAX;

            i = prefs_locale_lookup(ranges, 1, ngx_prefs_events_locales,
                                    NGX_PREFS_EVENTS_NLOCALES, NULL);
        }

        if (i < 0) {
            return NGX_DECLINED;
        }

        *locale = ngx_prefs_events_locales[i];
        return NGX_OK;
    }

    *locale = ngx_prefs_events_locales[NGX_PREFS_EVENTS_DEFAULT_LOCALE];

    h = r->headers_in.accept_language;

    if (h == NULL) {
        return NGX_OK;
    }

    n = prefs_locale_accept_parse((char *) h->value.data, h->value.len,
                                  ranges, PREFS_LOCALE_MAX_RANGES);

    i = prefs_locale_lookup(ranges, n > 0 ? (size_t) n : 0,
                            ngx_prefs_events_locales,
                            NGX_PREFS_EVENTS_NLOCALES, NULL);

    if (i >= 0) {
        *locale = ngx_prefs_events_locales[i];
    }

    return NGX_OK;
}


/* a limit= value: a whole number from 1 to max, else NGX_ERROR */

ngx_int_t
ngx_prefs_events_limit(json_t *value, ngx_int_t max)
{
    size_t       i, len;
    ngx_int_t    n;
    const char  *s;

    if (!json_is_string(value)) {
        return NGX_ERROR;
    }

    s = json_string_value(value);
    len = json_string_length(value);

    if (len == 0 || len > 4 || s[0] == '0') {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return NGX_ERROR;
        }

        n = n * 10 + (s[i] - '0');
    }

    return (n > max) ? NGX_ERROR : n;
}


/*
 * {"Events": [...], "Count": n, "HasMore": b, "NextCursor": c}: the
 * cursor is after the page's last event, or the one given when the page
 * is empty (nothing new yet: ask again with it), or null when neither.
 */

static void
ngx_prefs_events_listed(ngx_prefs_db_query_t *q)
{
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_http_request_t   *r = q->data;
    ngx_prefs_api_ctx_t  *ctx;

    rc = ngx_prefs_events_page(r, q, NGX_PREFS_OUTCOMES_EVENTS, "Events",
                               q->values[5], q->values[6], &b);

    if (b) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

        rc = ngx_prefs_events_headers(r, ctx, q->values[4]);

        if (rc == NGX_OK) {
            rc = ngx_prefs_http_send_buf(r, NGX_HTTP_OK, b);
        }
    }

    ngx_prefs_http_finalize(r, rc);
}


/*
 * The answer of a page of a commit-ordered listing (the Events API, the
 * Sync feed) from its result (outcome, message, events, n, last_txid,
 * last_id, has_more): *out is {"<field>": [...], "Count": n, "HasMore": b,
 * "NextCursor": c}, the cursor after the page's last event, or the
 * position asked from (after_txid, after_id; NULL when none) when the page
 * is empty, or null when neither.  Otherwise *out is NULL and the return
 * value is what the handler finalizes with (a refusal already answered
 * from the outcomes' table, or an error).
 */

ngx_int_t
ngx_prefs_events_page(ngx_http_request_t *r, ngx_prefs_db_query_t *q,
    ngx_uint_t outcomes, const char *field, const char *after_txid,
    const char *after_id, ngx_buf_t **out)
{
    u_char                      *p;
    size_t                       len;
    int64_t                      id;
    uint64_t                     txid;
    ngx_buf_t                   *b;
    const char                  *tx, *ev;
    ngx_prefs_api_ctx_t         *ctx;
    const ngx_prefs_outcome_t   *o;
    char                         cursor[PREFS_CURSOR_SIZE];
    ngx_http_prefs_main_conf_t  *pmcf;

    *out = NULL;

    if (q->status != NGX_PREFS_DB_OK) {
        return ngx_prefs_api_sql_error(r, q);
    }

    if (PQntuples(q->res) != 1 || PQnfields(q->res) != 7) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    o = ngx_prefs_outcome_of(q, outcomes);

    if (o->status >= NGX_HTTP_BAD_REQUEST) {
        return ngx_prefs_outcome_answer(r, o, q, NGX_PREFS_COL_MESSAGE);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    /* the position to go on from */

    if (!ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_LAST_TXID)) {
        tx = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LAST_TXID);
        ev = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_LAST_ID);

    } else {
        tx = after_txid;
        ev = after_id;
    }

    cursor[0] = '\0';

    if (tx && ev) {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

        txid = (uint64_t) ngx_atoof((u_char *) tx, ngx_strlen(tx));
        id = ngx_atoof((u_char *) ev, ngx_strlen(ev));

        if (prefs_cursor_encode(pmcf->auth.secret_key, ctx->account_id, txid,
                                id, cursor, sizeof(cursor))
            != 0)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    len = sizeof("{\"\":,\"Count\":,\"HasMore\":false,"
                 "\"NextCursor\":\"\"}") - 1
          + ngx_strlen(field)
          + ngx_prefs_db_length(q, 0, NGX_PREFS_COL_EVENTS) + NGX_INT_T_LEN
          + PREFS_CURSOR_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->last, "{\"%s\":", field);
    p = ngx_cpymem(p, ngx_prefs_db_value(q, 0, NGX_PREFS_COL_EVENTS),
                   ngx_prefs_db_length(q, 0, NGX_PREFS_COL_EVENTS));
    p = ngx_sprintf(p, ",\"Count\":%s,\"HasMore\":%s,\"NextCursor\":",
                    ngx_prefs_db_value(q, 0, NGX_PREFS_COL_N),
                    ngx_prefs_db_value(q, 0, NGX_PREFS_COL_HAS_MORE)[0] == 't'
                    ? "true" : "false");

    if (cursor[0]) {
        p = ngx_sprintf(p, "\"%s\"}", cursor);

    } else {
        p = ngx_cpymem(p, "null}", sizeof("null}") - 1);
    }

    b->last = p;
    *out = b;

    return NGX_OK;
}


static void
ngx_prefs_events_got(ngx_prefs_db_query_t *q)
{
    ngx_int_t             rc;
    ngx_http_request_t   *r = q->data;
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (q->status != NGX_PREFS_DB_OK) {
        rc = ngx_prefs_api_sql_error(r, q);

    } else if (PQntuples(q->res) != 1
               || ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_BODY))
    {
        rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                  "No event has the id \"%V\" in this "
                                  "account's history", &ctx->args[0]);

    } else {
        rc = ngx_prefs_events_headers(r, ctx, q->values[2]);

        if (rc == NGX_OK) {
            rc = ngx_prefs_api_send_column(r, NGX_HTTP_OK, q,
                                           NGX_PREFS_COL_BODY);
        }
    }

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_events_headers(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *locale)
{
    /* the locale is one of ngx_prefs_events_locales: static */

    if (ngx_prefs_http_header(r, "Content-Language", locale, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->locale_arg.data == NULL
        && ngx_prefs_http_header(r, "Vary", "Accept-Language", 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}
