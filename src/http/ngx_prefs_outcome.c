
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * What each SQL outcome means to a client, for every API: its status and
 * message.  A handler looks its outcome up, answers a success itself
 * (status below 300: the body is its own) and sends a refusal from here.
 * The order matters: a set's specific rows come before its catch-all row
 * (outcome NULL); an outcome no row of its set names is logged and is a
 * 500.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_api.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_outcome.h"


#define NGX_PREFS_O_PROFILE                                                   \
    (NGX_PREFS_OUTCOMES_PROFILE_CREATE|NGX_PREFS_OUTCOMES_PROFILE_UPDATE      \
     |NGX_PREFS_OUTCOMES_PROFILE_FIND)
#define NGX_PREFS_O_CHANGES                                                   \
    (NGX_PREFS_OUTCOMES_PROFILE_REMOVE|NGX_PREFS_OUTCOMES_PROFILE_PATCH)
#define NGX_PREFS_O_NO_PROFILE                                                \
    (NGX_PREFS_O_PROFILE|NGX_PREFS_O_CHANGES                                  \
     |NGX_PREFS_OUTCOMES_PROFILE_STATE|NGX_PREFS_OUTCOMES_PREFS_ALTERNATE)

#define NGX_PREFS_O_FIXED      NGX_PREFS_OUTCOME_FIXED
#define NGX_PREFS_O_SQL        NGX_PREFS_OUTCOME_SQL
#define NGX_PREFS_O_SQL_FIRST  NGX_PREFS_OUTCOME_SQL_FIRST

#define NGX_PREFS_O_INVALID    "The request is invalid"
#define NGX_PREFS_O_TOO_MANY   "More than 50 profiles match: narrow the search"


static const ngx_prefs_outcome_t  ngx_prefs_outcome_table[] = {

    /* profiles: writes, search, state, parts and patches */

    { NGX_PREFS_OUTCOMES_PROFILE_CREATE, "created", NGX_HTTP_CREATED,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PROFILE_UPDATE, "updated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PROFILE_FIND, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PROFILE_FIND, "found", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PROFILE_REMOVE, "updated", NGX_HTTP_NO_CONTENT,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PROFILE_PATCH, "patched", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PREFS_ALTERNATE, "updated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },

    { NGX_PREFS_O_NO_PROFILE, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No such profile in this account" },
    { NGX_PREFS_OUTCOMES_PROFILE_STATE, "invalid", NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },
    { NGX_PREFS_OUTCOMES_PROFILE_STATE, NULL, NGX_HTTP_NO_CONTENT,
      NGX_PREFS_O_FIXED, NULL },

    { NGX_PREFS_O_PROFILE, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, "An alternate id is already in use" },
    { NGX_PREFS_O_PROFILE, "too_many", NGX_HTTP_FORBIDDEN,
      NGX_PREFS_O_FIXED, NGX_PREFS_O_TOO_MANY },

    { NGX_PREFS_O_CHANGES, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },
    { NGX_PREFS_O_CHANGES, "test_failed", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },
    { NGX_PREFS_O_CHANGES, "too_large", NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },

    { NGX_PREFS_OUTCOMES_PREFS_ALTERNATE, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL, NULL },

    { NGX_PREFS_O_PROFILE|NGX_PREFS_O_CHANGES
      |NGX_PREFS_OUTCOMES_PREFS_ALTERNATE, NULL, NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },

    /* v3 Preferences, consent history: the body says why */

    { NGX_PREFS_OUTCOMES_PREFS, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_PREFS, "too_many", NGX_HTTP_FORBIDDEN,
      NGX_PREFS_O_FIXED, NGX_PREFS_O_TOO_MANY },
    { NGX_PREFS_OUTCOMES_PREFS, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_SQL_FIRST, "No such profile in this account" },
    { NGX_PREFS_OUTCOMES_PREFS, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },
    { NGX_PREFS_OUTCOMES_PREFS, NULL, NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },

    /* bulk import (sql/functions/import.sql): the body is the status */

    { NGX_PREFS_OUTCOMES_IMPORT, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_IMPORT, "unauthorized", NGX_HTTP_UNAUTHORIZED,
      NGX_PREFS_O_FIXED, "The access token is not valid" },
    { NGX_PREFS_OUTCOMES_IMPORT, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, "The import cannot do that now" },
    { NGX_PREFS_OUTCOMES_IMPORT, "quota", NGX_HTTP_TOO_MANY_REQUESTS,
      NGX_PREFS_O_SQL_FIRST, "The account's import quota is used up" },
    { NGX_PREFS_OUTCOMES_IMPORT, "too_large",
      NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      NGX_PREFS_O_SQL_FIRST, "The import holds too many records" },
    { NGX_PREFS_OUTCOMES_IMPORT, "invalid", NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },

    /* webhook subscriptions and replays */

    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE, "created", NGX_HTTP_CREATED,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE, "updated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE, "deleted", NGX_HTTP_NO_CONTENT,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No such subscription in this account" },
    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE, "conflict", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL, NULL },
    { NGX_PREFS_OUTCOMES_WEBHOOK_WRITE|NGX_PREFS_OUTCOMES_WEBHOOK_REPLAY,
      "invalid", NGX_HTTP_BAD_REQUEST, NGX_PREFS_O_SQL, NULL },

    { NGX_PREFS_OUTCOMES_WEBHOOK_REPLAY, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No such webhook subscription in this account" },
    { NGX_PREFS_OUTCOMES_WEBHOOK_REPLAY, NULL, NGX_HTTP_ACCEPTED,
      NGX_PREFS_O_FIXED, NULL },

    /* users */

    { NGX_PREFS_OUTCOMES_USER_CREATE, "exists", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_FIXED, "An active user with this UserName exists" },
    { NGX_PREFS_OUTCOMES_USER_CREATE, NULL, NGX_HTTP_CREATED,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_USER_UPDATE, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No such user in this account" },
    { NGX_PREFS_OUTCOMES_USER_UPDATE, "exists", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_FIXED, "Another user has this UserName" },
    { NGX_PREFS_OUTCOMES_USER_UPDATE, NULL, NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },

    /* configuration items: "%s" the kind, then the item */

    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, "created", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, "updated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, "deactivated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, "exists", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_FIXED, "%s \"%s\" already exists" },
    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No %s \"%s\" in this account" },
    { NGX_PREFS_OUTCOMES_CONFIG_WRITE, NULL, NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL, NULL },

    /* events */

    { NGX_PREFS_OUTCOMES_EVENTS, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_EVENTS, NULL, NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_SQL, NULL },

    /* the Sync feed: a position no longer kept */

    { NGX_PREFS_OUTCOMES_SYNC, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_SYNC, "gone", 410,     /* nginx names no 410 */
      NGX_PREFS_O_SQL, NULL },

    /* the token endpoint: RFC 6749 section 5.2 errors */

    { NGX_PREFS_OUTCOMES_OAUTH, "invalid_client", NGX_HTTP_UNAUTHORIZED,
      NGX_PREFS_O_FIXED, "Client authentication failed" },
    { NGX_PREFS_OUTCOMES_OAUTH, "invalid_scope", NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_FIXED, "The scope is not this client's account and user" },
    { NGX_PREFS_OUTCOMES_OAUTH, NULL, NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },

    /* Idempotency-Key: the key's state beside the answer */

    { NGX_PREFS_OUTCOMES_IDEMPOTENCY, "mismatch", 422,
      NGX_PREFS_O_FIXED, "This Idempotency-Key was used for another "
                         "request: send a new key" },
    { NGX_PREFS_OUTCOMES_IDEMPOTENCY, NULL, NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },

    /* segments and segment groups; bulk export */

    { NGX_PREFS_OUTCOMES_SEGMENT|NGX_PREFS_OUTCOMES_EXPORT, "ok",
      NGX_HTTP_OK, NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_SEGMENT, "created", NGX_HTTP_CREATED,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_EXPORT, "created", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_SEGMENT, "deleted", NGX_HTTP_NO_CONTENT,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_SEGMENT|NGX_PREFS_OUTCOMES_EXPORT, "not_found",
      NGX_HTTP_NOT_FOUND, NGX_PREFS_O_SQL_FIRST,
      "No such segment in this account" },
    { NGX_PREFS_OUTCOMES_SEGMENT, "exists", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL, NULL },
    { NGX_PREFS_OUTCOMES_SEGMENT, "in_use", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL, NULL },
    { NGX_PREFS_OUTCOMES_SEGMENT|NGX_PREFS_OUTCOMES_EXPORT, "invalid",
      NGX_HTTP_BAD_REQUEST, NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },
    { NGX_PREFS_OUTCOMES_EXPORT, "invalid_token", NGX_HTTP_UNAUTHORIZED,
      NGX_PREFS_O_FIXED, "The access token is not valid: unknown, expired "
                         "or another account's" },
    { NGX_PREFS_OUTCOMES_EXPORT, "processing", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_FIXED, "The export is still processing: poll "
                         "Status/Token/{accessToken} until it is Complete" },
    { NGX_PREFS_OUTCOMES_EXPORT, "failed", NGX_HTTP_CONFLICT,
      NGX_PREFS_O_SQL_FIRST, "The export failed" },
    /* per-profile links: made, revoked, one-click unsubscribe */

    { NGX_PREFS_OUTCOMES_LINK, "created", NGX_HTTP_CREATED,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_LINK, "ok", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_LINK, "updated", NGX_HTTP_OK,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_LINK, "deleted", NGX_HTTP_NO_CONTENT,
      NGX_PREFS_O_FIXED, NULL },
    { NGX_PREFS_OUTCOMES_LINK, "not_found", NGX_HTTP_NOT_FOUND,
      NGX_PREFS_O_FIXED, "No such profile in this account" },
    { NGX_PREFS_OUTCOMES_LINK, NULL, NGX_HTTP_BAD_REQUEST,
      NGX_PREFS_O_SQL_FIRST, NGX_PREFS_O_INVALID },

    { 0, NULL, 0, 0, NULL }
};


static const ngx_prefs_outcome_t  ngx_prefs_outcome_unknown = {
    0, NULL, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_PREFS_O_FIXED,
    "Internal error"
};


const ngx_prefs_outcome_t *
ngx_prefs_outcome_find(ngx_uint_t set, const char *outcome)
{
    const ngx_prefs_outcome_t  *o;

    for (o = ngx_prefs_outcome_table; o->sets; o++) {
        if ((o->sets & set)
            && (o->outcome == NULL || ngx_strcmp(o->outcome, outcome) == 0))
        {
            return o;
        }
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "prefs: unexpected outcome \"%s\"", outcome);

    return &ngx_prefs_outcome_unknown;
}


const ngx_prefs_outcome_t *
ngx_prefs_outcome_of(ngx_prefs_db_query_t *q, ngx_uint_t set)
{
    return ngx_prefs_outcome_find(set,
               PQntuples(q->res) ? ngx_prefs_db_value(q, 0,
                                                      NGX_PREFS_COL_OUTCOME)
                                 : "not_found");
}


ngx_int_t
ngx_prefs_outcome_answer(ngx_http_request_t *r, const ngx_prefs_outcome_t *o,
    ngx_prefs_db_query_t *q, ngx_prefs_col_e col)
{
    return ngx_prefs_outcome_send(r, o,
                                  (col && PQntuples(q->res))
                                  ? ngx_prefs_db_value(q, 0, col) : NULL,
                                  NULL, NULL);
}


ngx_int_t
ngx_prefs_outcome_refused(ngx_prefs_db_query_t *q, ngx_uint_t set,
    ngx_prefs_col_e message, const ngx_prefs_outcome_t **o)
{
    ngx_http_request_t  *r = q->data;

    if (q->status != NGX_PREFS_DB_OK) {
        return ngx_prefs_api_sql_error(r, q);
    }

    *o = ngx_prefs_outcome_of(q, set);

    if ((*o)->status >= NGX_HTTP_BAD_REQUEST) {
        return ngx_prefs_outcome_answer(r, *o, q, message);
    }

    return NGX_DECLINED;
}


void
ngx_prefs_outcome_reply(ngx_prefs_db_query_t *q, ngx_uint_t set)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, set, NGX_PREFS_COL_BODY, &o);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_api_send_column(r, o->status, q, NGX_PREFS_COL_BODY);
    }

    ngx_prefs_http_finalize(r, rc);
}


ngx_int_t
ngx_prefs_outcome_send(ngx_http_request_t *r, const ngx_prefs_outcome_t *o,
    const char *message, const char *arg1, const char *arg2)
{
    if (o == &ngx_prefs_outcome_unknown) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (message
        && (o->source == NGX_PREFS_O_SQL
            || (o->source == NGX_PREFS_O_SQL_FIRST && message[0])))
    {
        return ngx_prefs_http_error(r, o->status, "%s", message);
    }

    if (o->source == NGX_PREFS_O_SQL) {
        return ngx_prefs_http_error(r, o->status, "");
    }

    return ngx_prefs_http_error(r, o->status, o->message,
                                arg1 ? arg1 : "", arg2 ? arg2 : "");
}
