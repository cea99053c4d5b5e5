
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Webhook deliveries, ours (WebhookManage, v4):
 *
 *   GET  Webhooks/Subscriptions/{id}/Deliveries?state=&limit=&after=
 *        the subscription's deliveries, newest first, with their attempts
 *        (dead letters are those in state Dead)
 *   POST Webhooks/Subscriptions/{id}/Replay
 *        {"EventIds": [...]} | {"StartAt": ..., "EndAt": ...}
 *        | {"DeadLetters": true}: queued again, 202 {"Count": n}
 *
 * Another account's subscription is 404, like one that does not exist.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_deliveries.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"


#define NGX_PREFS_REPLAY_MAX_IDS  1000


static ngx_int_t ngx_prefs_deliveries_sub(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
static ngx_int_t ngx_prefs_deliveries_replay_check(ngx_http_request_t *r,
    json_t *body);
static void ngx_prefs_deliveries_listed(ngx_prefs_db_query_t *q);
static void ngx_prefs_deliveries_replayed(ngx_prefs_db_query_t *q);


static const char *const  ngx_prefs_deliveries_states[] = {
    "pending", "sending", "delivered", "dead", NULL
};


ngx_int_t
ngx_prefs_deliveries_list(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    u_char                *p;
    ngx_int_t              rc, limit, after;
    ngx_str_t              state;
    ngx_uint_t             i;
    ngx_prefs_db_query_t  *q;

    rc = ngx_prefs_deliveries_sub(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_prefs_api_int_arg(ctx, "limit", 1, 1000, 100, &limit)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "limit must be an integer from 1 to 1000");
    }

    if (ngx_prefs_api_int_arg(ctx, "after", 1, NGX_MAX_INT_T_VALUE, 0,
                              &after)
        != NGX_OK)
    {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "after must be a NextCursor value");
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_DELIVERIES,
                            ngx_prefs_deliveries_listed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[1] = (char *) ctx->args[0].data;

    rc = ngx_prefs_api_arg(ctx, "state", &state);

    if (rc != NGX_DECLINED) {

        for (i = 0; rc == NGX_OK && ngx_prefs_deliveries_states[i]; i++) {
            if (state.len == ngx_strlen(ngx_prefs_deliveries_states[i])
                && ngx_strncasecmp(state.data,
                                   (u_char *) ngx_prefs_deliveries_states[i],
                                   state.len) == 0)
            {
                q->values[2] = ngx_prefs_deliveries_states[i];
                break;
            }
        }

        if (q->values[2] == NULL) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "state must be Pending, Sending, "
                                        "Delivered or Dead");
        }
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT_T_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[3] = (char *) p;
    p = ngx_sprintf(p, "%i", limit);
    *p++ = '\0';

    if (after) {
        q->values[4] = (char *) p;
        *ngx_sprintf(p, "%i", after) = '\0';
    }

    return ngx_prefs_http_query(r, q);
}


ngx_int_t
ngx_prefs_deliveries_replay(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                        *text;
    json_t                      *body;
    ngx_int_t                    rc;
    ngx_prefs_db_query_t        *q;
    ngx_http_prefs_main_conf_t  *pmcf;

    rc = ngx_prefs_deliveries_sub(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_prefs_api_json_body(r, ctx, &body);
    if (body == NULL) {
        return rc;
    }

    rc = ngx_prefs_deliveries_replay_check(r, body);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    text = ngx_prefs_json_text(r->pool, body);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_prefs_api_query(r, ctx, NGX_PREFS_STMT_WEBHOOK_REPLAY,
                            ngx_prefs_deliveries_replayed);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_prefs_module);

    q->values[1] = (char *) ctx->args[0].data;
    q->values[2] = text;
    q->values[3] = (char *) pmcf->events.window.data;

    return ngx_prefs_http_query(r, q);
}


/* NGX_DECLINED: the id is well formed, go on; else the answer's code */

static ngx_int_t
ngx_prefs_deliveries_sub(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    if (ngx_prefs_api_id(&ctx->args[0]) == 0) {
        (void) ngx_prefs_http_error(r, NGX_HTTP_NOT_FOUND,
                                    "No webhook subscription has the id "
                                    "\"%V\"", &ctx->args[0]);
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * One of the three forms, nothing else: NGX_DECLINED when it is, else the
 * answer's code (a 400 already sent).
 */

static ngx_int_t
ngx_prefs_deliveries_replay_check(ngx_http_request_t *r, json_t *body)
{
    size_t       i;
    json_t      *v, *ids;
    const char  *key, *s;

    if (!json_is_object(body)) {
        goto bad;
    }

    json_object_foreach(body, key, v) {
        if (ngx_strcmp(key, "EventIds") != 0
            && ngx_strcmp(key, "StartAt") != 0
            && ngx_strcmp(key, "EndAt") != 0
            && ngx_strcmp(key, "DeadLetters") != 0)
        {
            (void) ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Unknown field \"%s\"", key);
            return NGX_OK;
        }
    }

    ids = json_object_get(body, "EventIds");
    v = json_object_get(body, "DeadLetters");

    if (json_object_size(body) == 1 && v) {
        if (!json_is_true(v)) {
            (void) ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "DeadLetters must be true");
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (json_object_size(body) == 1 && ids) {
        if (!json_is_array(ids) || json_array_size(ids) == 0
            || json_array_size(ids) > NGX_PREFS_REPLAY_MAX_IDS)
        {
            (void) ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "EventIds must be an array of 1 to "
                                        "%d event ids",
                                        NGX_PREFS_REPLAY_MAX_IDS);
            return NGX_OK;
        }

        json_array_foreach(ids, i, v) {
            if (json_is_integer(v) && json_integer_value(v) > 0) {
                continue;
            }

            s = json_string_value(v);

            if (s && *s && *s != '0' && ngx_strlen(s) <= 18
                && strspn(s, "0123456789") == ngx_strlen(s))
            {
                continue;
            }

            (void) ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "EventIds[%uz] is not an event id",
                                        i);
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (json_object_size(body) == 2
        && json_is_string(json_object_get(body, "StartAt"))
        && json_is_string(json_object_get(body, "EndAt")))
    {
        return NGX_DECLINED;
    }

bad:

    (void) ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                "The body must be {\"EventIds\": [...]}, "
                                "{\"StartAt\": \"...\", \"EndAt\": \"...\"} "
                                "or {\"DeadLetters\": true}");
    return NGX_OK;
}


static void
ngx_prefs_deliveries_listed(ngx_prefs_db_query_t *q)
{
    ngx_prefs_api_send_row(q, "No such webhook subscription in this account");
}


static void
ngx_prefs_deliveries_replayed(ngx_prefs_db_query_t *q)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r = q->data;
    const ngx_prefs_outcome_t  *o;

    rc = ngx_prefs_outcome_refused(q, NGX_PREFS_OUTCOMES_WEBHOOK_REPLAY,
                                   NGX_PREFS_COL_MESSAGE, &o);

    if (rc == NGX_DECLINED) {
        rc = ngx_prefs_http_send_json(r, NGX_HTTP_ACCEPTED,
                 json_pack("{s:I}", "Count",
                           (json_int_t) ngx_prefs_db_number(q, 0,
                                                        NGX_PREFS_COL_COUNT)));
    }

    ngx_prefs_http_finalize(r, rc);
}
