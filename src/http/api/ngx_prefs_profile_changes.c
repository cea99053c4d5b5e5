
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Changes to a profile beyond UpdateProfile: the DELETE part routes
 * (Profile/{id}/Groups, /Tags, /CustomFields) and JSON Patch (PATCH
 * Profile/{id} and by alternate id).  Each is one call of a SQL function
 * of sql/functions/profile.sql, which applies the change and appends its
 * events in one transaction.  Here: the media type, the shape of the
 * body, the Preserve* flags, and outcomes to HTTP answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_profile.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_outcome.h"


#define NGX_PREFS_PATCH_MAX_OPS  1000


static ngx_int_t ngx_prefs_profile_changes_patch_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, char **flags);
static ngx_int_t ngx_prefs_profile_changes_flag(ngx_http_request_t *r,
    const char *name, const char **value);
static void ngx_prefs_profile_changes_removed(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_changes_patched(ngx_prefs_db_query_t *q);


static ngx_str_t  ngx_prefs_profile_changes_patch_type =
    ngx_string("application/json-patch+json");


/* the body lists what to remove: the SQL side reads any of its shapes */

ngx_int_t
ngx_prefs_profile_changes_part_remove(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx)
{
    json_t                *body;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    if (ngx_prefs_profile_profile_id(r, ctx, &rc) == NULL) {
        return rc;
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (!json_is_array(body) && !json_is_object(body)) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body must list what to remove: a "
                                    "JSON array or object");
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_REMOVE_PARTS,
                            ngx_prefs_profile_changes_removed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* path segments are null-terminated by the parser */
    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->args[0].data;
    q->values[3] = (char *) ctx->route->data;
    q->values[4] = (char *) ctx->body.data;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_changes_patch(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *flags;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    if (ngx_prefs_profile_profile_id(r, ctx, &rc) == NULL) {
        return rc;
    }

    rc = ngx_prefs_profile_changes_patch_body(r, ctx, &flags);
    if (flags == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_PATCH,
                            ngx_prefs_profile_changes_patched);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->args[0].data;
    q->values[3] = (char *) ctx->body.data;
    q->values[4] = flags;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_changes_patch_alternate(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx)
{
    char                  *flags;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_profile_changes_patch_body(r, ctx, &flags);
    if (flags == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_PATCH_ALTERNATE,
                            ngx_prefs_profile_changes_patched);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) ctx->args[0].data;
    q->values[3] = (char *) ctx->args[1].data;
    q->values[4] = (char *) ctx->body.data;
    q->values[5] = flags;

    return ngx_prefs_http_query(r, q);
}


/*
 * A patch is application/json-patch+json (RFC 6902 names that type; plain
 * JSON is refused so that a client sending a profile by mistake learns
 * it), a JSON array of at most NGX_PREFS_PATCH_MAX_OPS operations; the
 * operations themselves are checked where they are applied.  *flags: the
 * Preserve* query arguments as a JSON object, NULL when an answer was
 * sent.
 */

static ngx_int_t
ngx_prefs_profile_changes_patch_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, char **flags)
{
    size_t        n;
    json_t       *body;
    ngx_int_t     rc;
    ngx_str_t    *type;
    const char   *consents, *prefs;

    *flags = NULL;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type == NULL
        || type->len < ngx_prefs_profile_changes_patch_type.len
        || ngx_strncasecmp(type->data,
                           ngx_prefs_profile_changes_patch_type.data,
                           ngx_prefs_profile_changes_patch_type.len) != 0
        || (type->len > ngx_prefs_profile_changes_patch_type.len
            && type->data[ngx_prefs_profile_changes_patch_type.len] != ';'))
    {
        return ngx_prefs_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "The body must be "
                                    "application/json-patch+json");
    }

    if (ngx_prefs_profile_changes_flag(r, "PreserveConsents", &consents)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "PreserveConsents must be true or false");
    }

    if (ngx_prefs_profile_changes_flag(r, "PreservePreferences", &prefs)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "PreservePreferences must be true or "
                                    "false");
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    n = json_array_size(body);

    if (!json_is_array(body)) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "A JSON Patch must be an array of "
                                    "operations");
    }

    if (n > NGX_PREFS_PATCH_MAX_OPS) {
        return ngx_prefs_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "A JSON Patch may have at most %d "
                                    "operations", NGX_PREFS_PATCH_MAX_OPS);
    }

    *flags = ngx_pnalloc(r->pool, sizeof("{\"PreserveConsents\":false,"
                                         "\"PreservePreferences\":false}"));
    if (*flags == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) *flags,
                 "{\"PreserveConsents\":%s,\"PreservePreferences\":%s}",
                 consents, prefs) = '\0';

    return NGX_OK;
}


/* a boolean query argument, true when absent */

static ngx_int_t
ngx_prefs_profile_changes_flag(ngx_http_request_t *r, const char *name,
    const char **value)
{
    ngx_int_t             rc;
    ngx_str_t             v;
    ngx_prefs_api_ctx_t  *ctx;

    *value = "true";

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    rc = ngx_prefs_api_arg(ctx, name, &v);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4) == 0) {
        return NGX_OK;
    }

    if (v.len == 5 && ngx_strncasecmp(v.data, (u_char *) "false", 5) == 0) {
        *value = "false";
        return NGX_OK;
    }

    return NGX_ERROR;
}


static void
ngx_prefs_profile_changes_removed(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_PROFILE_REMOVE,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_NO_CONTENT, "", 0);
    }

    ngx_prefs_http_finalize(r, rc);
}


/* a patch answers the profile as it is now, as GET would */

static void
ngx_prefs_profile_changes_patched(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_PROFILE_PATCH);
}
