
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The Data API's profile routes (ProfileRead / ProfileWrite).  Each is one
 * call of a SQL function (sql/functions/profile.sql) that validates against the
 * account's configuration, writes, and appends the change's events in the
 * same transaction: one round trip, and no change without its events.
 * Here: strict JSON, ids, query strings, and outcomes to HTTP answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_profile.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_idem.h"
#include "ngx_prefs_outcome.h"
#include "prefs_query.h"


static ngx_int_t ngx_prefs_profile_body(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, char **text);
static ngx_int_t ngx_prefs_profile_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_db_handler_pt handler);
static const char *ngx_prefs_profile_history(ngx_http_request_t *r);
static void ngx_prefs_profile_created(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_updated(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_profile(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_changed(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_found(ngx_prefs_db_query_t *q);
static void ngx_prefs_profile_part(ngx_prefs_db_query_t *q);
static ngx_int_t ngx_prefs_profile_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_stmt_e stmt, const char *id,
    char *text);
static ngx_int_t ngx_prefs_profile_find_by(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, const char *by, json_t *args);


ngx_int_t
ngx_prefs_profile_create(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    ngx_int_t              rc;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_profile_body(r, ctx, &text);
    if (text == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_CREATE,
                            ngx_prefs_profile_created);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = text;

    rc = ngx_prefs_idem_apply(r, ctx, NGX_PREFS_STMT_PROFILE_CREATE_KEYED, &q);
    if (q == NULL) {
        return rc;
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_get(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_profile_read(r, ctx, ngx_prefs_profile_profile);
}


/* GET Profile/{profileId} and its parts: the profile, answered by handler */

static ngx_int_t
ngx_prefs_profile_read(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_db_handler_pt handler)
{
    ngx_int_t              rc;
    const char            *id;
    ngx_prefs_db_query_t  *q;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_GET, handler);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = id;
    q->values[2] = ngx_prefs_profile_history(r);

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_get_alternate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_BY_ALTERNATE_ID,
                            ngx_prefs_profile_profile);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* path segments are null-terminated by the parser */
    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = (char *) ctx->args[1].data;
    q->values[3] = ngx_prefs_profile_history(r);

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_update(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char        *text;
    ngx_int_t    rc;
    const char  *id;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    rc = ngx_prefs_profile_body(r, ctx, &text);
    if (text == NULL) {
        return rc;
    }

    return ngx_prefs_profile_write(r, ctx, NGX_PREFS_STMT_PROFILE_UPDATE, id,
                                   text);
}


/* a write of the profile id: user, profile, body; answered as an update */

static ngx_int_t
ngx_prefs_profile_write(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_stmt_e stmt, const char *id, char *text)
{
    ngx_prefs_db_query_t  *q;

    q = ngx_prefs_api_query(r, ctx, stmt, ngx_prefs_profile_updated);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = (char *) id;
    q->values[3] = text;

    return ngx_prefs_http_query(r, q);
}


/* DELETE deactivates with ReasonCode; with erase=true it erases for good */

ngx_int_t
ngx_prefs_profile_delete(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *reason;
    ngx_str_t              erase, v;
    ngx_int_t              rc;
    const char            *id;
    ngx_prefs_db_query_t  *q;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    if (ngx_prefs_api_arg(ctx, "erase", &erase) == NGX_OK
        && erase.len == 4 && ngx_strncasecmp(erase.data, (u_char *) "true", 4)
                             == 0)
    {
        q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_ERASE,
                                ngx_prefs_profile_changed);
        if (q == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        q->values[1] = ctx->user_text;
        q->values[2] = id;

        return ngx_prefs_http_query(r, q);
    }

    reason = NULL;

    rc = ngx_prefs_api_arg(ctx, "ReasonCode", &v);

    /* 256 characters (the reference's limit), checked by the SQL */

    if (rc != NGX_DECLINED) {
        if (rc != NGX_OK || v.len > 4 * 256) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "ReasonCode must be 0 to 256 "
                                        "characters of UTF-8, "
                                        "percent-encoded");
        }

        reason = (char *) v.data;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_DEACTIVATE,
                            ngx_prefs_profile_changed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = id;
    q->values[3] = reason;

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_profile_activate(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    ngx_int_t              rc;
    const char            *id;
    ngx_prefs_db_query_t  *q;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_ACTIVATE,
                            ngx_prefs_profile_changed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = id;

    return ngx_prefs_http_query(r, q);
}


/* lookups: the route names what to look by, the query string the values */

ngx_int_t
ngx_prefs_profile_find(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    json_t      *args, *flag, *v;
    const char  *name;

    args = ngx_prefs_api_args_copy(r, ctx);
    if (args == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the lookups' lists are of items with fields, never of values */

    json_object_foreach(args, name, v) {
        if (json_is_string(json_array_get(v, 0))) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "The query string is invalid: "
                                        "\"%s\" is not name[n].Field", name);
        }
    }

    /* the one flag among the criteria: a query string has only strings */

    flag = json_object_get(args, "includeConsentHistory");

    if (json_is_string(flag)) {
        json_object_set_new(args, "includeConsentHistory",
                            json_boolean(ngx_strcasecmp(
                                (u_char *) json_string_value(flag),
                                (u_char *) "true") == 0));
    }

    return ngx_prefs_profile_find_by(r, ctx, ctx->route->data, args);
}


/*
 * GET Profile/{profileId}/Group: the profile and the profiles that share a
 * group with it (prefs_profile_find's "group")
 */

ngx_int_t
ngx_prefs_profile_group(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    json_t      *args;
    ngx_int_t    rc;
    const char  *id;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    args = ngx_prefs_json_own(r->pool,
                              json_pack("{s:s,s:b}", "profileId", id,
                                        "includeConsentHistory",
                                        ngx_strcmp(ngx_prefs_profile_history(r),
                                                   "true") == 0));
    if (args == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_prefs_profile_find_by(r, ctx, "group", args);
}


static ngx_int_t
ngx_prefs_profile_find_by(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    const char *by, json_t *args)
{
    char                  *text;
    ngx_prefs_db_query_t  *q;

    text = ngx_prefs_json_text(r->pool, args);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_FIND,
                            ngx_prefs_profile_found);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) by;
    q->values[2] = text;

    return ngx_prefs_http_query(r, q);
}


/*
 * One part of a profile (its preferences, consents, groups, tags, custom
 * fields), named by the route: read out of the profile, or written as an
 * UpdateProfile of that part alone, so the same validation and events
 * serve.  A write takes the part's list, {"<Part>": [...]}, or one item.
 */

ngx_int_t
ngx_prefs_profile_part_read(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_profile_read(r, ctx, ngx_prefs_profile_part);
}


ngx_int_t
ngx_prefs_profile_part_write(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                  *text;
    json_t                *body, *items, *wrap;
    ngx_int_t              rc;
    const char            *id, *part;
    ngx_prefs_db_query_t  *q;

    part = ctx->route->data;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (json_is_array(body)) {
        items = json_incref(body);

    } else if (json_is_object(body) && json_object_size(body) == 1
               && json_is_array(json_object_get(body, part)))
    {
        items = json_incref(json_object_get(body, part));

    } else {
        items = json_array();
        json_array_append(items, body);
    }

    wrap = ngx_prefs_json_own(r->pool, json_object());

    if (wrap == NULL || json_object_set_new(wrap, part, items) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = ngx_prefs_json_text(r->pool, wrap);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_PROFILE_UPDATE,
                            ngx_prefs_profile_updated);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = ctx->user_text;
    q->values[2] = id;
    q->values[3] = text;

    return ngx_prefs_http_query(r, q);
}


/*
 * POST Profile/{profileId}/Preferences: the preference part of a
 * UserProfilePreference, a list of CreateProfilePreference or one
 * (prefs_data_prefs_body says which)
 */

ngx_int_t
ngx_prefs_profile_preferences_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx)
{
    json_t      *body;
    ngx_int_t    rc;
    const char  *id;

    id = ngx_prefs_profile_profile_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    /* parsed strictly above (duplicate keys, UTF-8); the text goes on */
    return ngx_prefs_profile_write(r, ctx, NGX_PREFS_STMT_PROFILE_PREFERENCES,
                                   id, (char *) ctx->body.data);
}


/*
 * The preferences of a profile as the reference nests them: ProfileId,
 * ProfilePreferences, and the contact points with their EmailPreferences,
 * PhonePreferences and AddressPreferences (GET Profile/{id}/Preferences
 * and by alternate id)
 */

json_t *
ngx_prefs_profile_prefs_view(json_t *profile)
{
    json_t      *view, *v;
    ngx_uint_t   i;

    static const char  *fields[] = {
        "ProfileId", "ProfilePreferences", "Emails", "PhoneNumbers",
        "Addresses"
    };

    view = json_object();
    if (view == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        v = json_object_get(profile, fields[i]);

        if (json_object_set_new(view, fields[i],
                                v ? json_incref(v) : json_array())
            != 0)
        {
            json_decref(view);
            return NULL;
        }
    }

    return view;
}


static void
ngx_prefs_profile_part(ngx_prefs_db_query_t *q)
{
    json_t               *profile, *part;
    ngx_int_t             rc;
    const char           *name;
    ngx_http_request_t   *r = q->data;
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    name = ctx->route->data;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_api_sql_error(r, q));
        return;
    }

    if (PQntuples(q->res) != 1
        || ngx_prefs_db_isnull(q, 0, NGX_PREFS_COL_BODY))
    {
        ngx_prefs_http_finalize(r,
            ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                 "No such profile in this account"));
        return;
    }

    profile = ngx_prefs_api_column_json(r, q, NGX_PREFS_COL_BODY);

    if (ngx_strcmp(name, "ProfilePreferences") == 0) {
        rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
                                      ngx_prefs_profile_prefs_view(profile));
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    part = json_object_get(profile, name);

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
             json_pack("{s:O,s:O}", "ProfileId",
                       json_object_get(profile, "ProfileId"),
                       name, part ? part : json_array()));

    ngx_prefs_http_finalize(r, rc);
}


static ngx_int_t
ngx_prefs_profile_body(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    char **text)
{
    json_t     *body;
    ngx_int_t   rc;

    *text = NULL;

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    if (!json_is_object(body)) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The body must be a JSON object");
    }

    /* parsed strictly above (duplicate keys, UTF-8); the text goes on */
    *text = (char *) ctx->body.data;

    return NGX_OK;
}


/*
 * The {profileId} of the path; NULL when it is not one, with *rc the 404
 * answered (path segments are null-terminated by the parser).
 */

const char *
ngx_prefs_profile_profile_id(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_int_t *rc)
{
    if (ngx_prefs_api_id(&ctx->args[0]) > 0) {
        return (char *) ctx->args[0].data;
    }

    *rc = ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                               "No profile has the id \"%V\"",
                               &ctx->args[0]);
    return NULL;
}


static const char *
ngx_prefs_profile_history(ngx_http_request_t *r)
{
    ngx_str_t             v;
    ngx_prefs_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    if (ngx_prefs_api_arg(ctx, "includeConsentHistory", &v) == NGX_OK
        && v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4) == 0)
    {
        return "true";
    }

    return "false";
}


static void
ngx_prefs_profile_created(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    const char                 *id;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_api_sql_error(r, q));
        return;
    }

    rc = ngx_prefs_idem_check(r, q);
    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    o = ngx_prefs_outcome_of(q, NGX_PREFS_OUTCOMES_PROFILE_CREATE);
    id = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_PROFILE_ID);

    if (o->status >= NGX_HTTP_BAD_REQUEST) {
        ngx_prefs_http_finalize(r,
            ngx_prefs_outcome_answer(r, o, q, NGX_PREFS_COL_MESSAGE));
        return;
    }

    if (ngx_prefs_http_location(r, &r->uri, "", (u_char *) id,
                                ngx_strlen(id))
        != NGX_OK)
    {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_CREATED,
             json_pack("{s:I}", "ProfileId",
                       (json_int_t) ngx_atoof((u_char *) id,
                                              ngx_strlen(id))));

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_profile_updated(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    ngx_prefs_api_ctx_t        *ctx;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_PROFILE_UPDATE,
                                   NGX_PREFS_COL_MESSAGE, &o);
    if (rc != NGX_DECLINED) {
        ngx_prefs_http_finalize(r, rc);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);

    rc = ngx_prefs_http_send_json(r, NGX_HTTP_OK,
             json_pack("{s:I}", "ProfileId",
                       (json_int_t) ngx_prefs_api_id(&ctx->args[0])));

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_profile_profile(ngx_prefs_db_query_t *q)
{
    ngx_prefs_api_send_row(q, "No such profile in this account");
}


static void
ngx_prefs_profile_changed(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_PROFILE_STATE,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_http_send_text(r, NGX_HTTP_NO_CONTENT, "", 0);
    }

    ngx_prefs_http_finalize(r, rc);
}


static void
ngx_prefs_profile_found(ngx_prefs_db_query_t *q)
{
    ngx_prefs_outcome_reply(q, NGX_PREFS_OUTCOMES_PROFILE_FIND);
}
