
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Segments and segment groups (ours: the admin side of the bulk export,
 * permission BulkExport): POST/GET Segments, GET/PUT/DELETE
 * Segments/{name}, and the same for SegmentGroups.  One SQL function,
 * prefs_seg_call, checks a body against the account's configuration and
 * answers; the body reaches it already parsed strictly (duplicate keys,
 * invalid UTF-8 and malformed JSON are 400 here).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_segments.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"


static void ngx_prefs_segments_done(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_segments_location(ngx_http_request_t *r,
    ngx_prefs_db_query_t *q);


ngx_int_t
ngx_prefs_segments_call(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    json_t                *body;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    text = NULL;

    if (r->method & (NGX_HTTP_POST|NGX_HTTP_PUT)) {
        rc = ngx_prefs_api_json_body(r, ctx, &body);
        if (body == NULL) {
            return rc;
        }

        text = ngx_prefs_json_text(r->pool, body);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_SEGMENT_CALL,
                            ngx_prefs_segments_done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->route->data;
    q->values[2] = (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) ? "GET"
                   : (r->method == NGX_HTTP_POST) ? "POST"
                   : (r->method == NGX_HTTP_PUT) ? "PUT" : "DELETE";
    q->values[3] = ctx->nargs ? (char *) ctx->args[0].data : NULL;
    q->values[4] = text;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_segments_done(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_SEGMENT,
                                   NGX_PREFS_COL_BODY, &o);

    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    if (o->status == NGX_HTTP_NO_CONTENT) {
        ngx_prefs_http_finalize(r, ngx_prefs_http_send_text(r,
                                                NGX_HTTP_NO_CONTENT, "", 0));
        return;
    }

    if (o->status == NGX_HTTP_CREATED) {
        if (ngx_prefs_segments_location(r, q) != NGX_OK) {
            ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ngx_prefs_http_finalize(r, ngx_prefs_api_send_column(r, o->status, q,
                                                         NGX_PREFS_COL_BODY));
}


/* Location: the new one, by its name, under the collection's route */

static ngx_int_t
ngx_prefs_segments_location(ngx_http_request_t *r, ngx_prefs_db_query_t *q)
{
    json_t  *doc, *name;

    doc = ngx_prefs_api_column_json(r, q, NGX_PREFS_COL_BODY);
    name = json_object_get(doc, "Name");

    if (!json_is_string(name)) {
        return NGX_ERROR;
    }

    return ngx_prefs_http_location(r, &r->uri, "",
                                   (u_char *) json_string_value(name),
                                   json_string_length(name));
}
