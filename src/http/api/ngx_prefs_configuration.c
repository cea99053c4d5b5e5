
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The Configuration (Experience) API: reads served from memory, writes
 * through the database.  A read is answered from the account's snapshot
 * (src/http/ngx_prefs_snap.c): each body is rendered from the document
 * once per route, argument and locale, kept in the snapshot with its ETag,
 * and sent from there.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_configuration.h"
#include "ngx_prefs_http.h"
#include "ngx_prefs_json.h"
#include "ngx_prefs_outcome.h"
#include "ngx_prefs_snap.h"
#include "prefs_locale.h"
#include "prefs_query.h"
#include "prefs_render.h"


#define NGX_PREFS_CONFIG_KEY_MAX    600
#define NGX_PREFS_CONFIG_RENDERS    512
#define NGX_PREFS_CONFIG_ARGS_MAX   256


static ngx_int_t ngx_prefs_configuration_answer(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_snap_t *snap);
static ngx_int_t ngx_prefs_configuration_locale(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, ngx_prefs_snap_t *snap, const char **locale,
    ngx_flag_t *vary);
static json_t *ngx_prefs_configuration_render(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx, json_t *doc, ngx_uint_t *status,
    const char **message);
static json_t *ngx_prefs_configuration_programs(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t                  *ctx, json_t *doc,
    const ngx_prefs_configuration_sel_t  *sel, ngx_uint_t *status,
    const char **message);
static ngx_int_t ngx_prefs_configuration_criteria(ngx_prefs_api_ctx_t *ctx,
    json_t **criteria);
static void ngx_prefs_configuration_write_done(ngx_prefs_db_query_t *q);


static ngx_str_t  ngx_prefs_configuration_empty = ngx_null_string;


/* the reference's ConsentStatus enum: 1 Granted ... 4 NotSet */
#define NGX_PREFS_CONFIGURATION_CONSENT_STATUSES  4


/* GET routes: answered from the account's snapshot */

ngx_int_t
ngx_prefs_configuration_read(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    return ngx_prefs_snap_get(r, ctx, ngx_prefs_configuration_answer);
}


/*
 * The locale of a response: explicit (v3 path segment, v4 "locale"),
 * negotiated from Accept-Language, the account's default when the header
 * matches nothing, or none (every locale's text) without either (or with
 * "Accept-Language: null").
 */

static ngx_int_t
ngx_prefs_configuration_locale(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_snap_t *snap, const char **locale, ngx_flag_t *vary)
{
    int                                   i, n;
    char                                  canon[64];
    ngx_str_t                             value;
    ngx_uint_t                            k;
    ngx_table_elt_t                      *h;
    prefs_locale_range_t                  ranges[PREFS_LOCALE_MAX_RANGES];
    const ngx_prefs_configuration_sel_t  *sel = ctx->route->data;

    *locale = NULL;
    *vary = 0;

    if (sel->locale_arg) {
        value = ctx->args[sel->locale_arg - 1];

    } else {
        switch (ngx_prefs_api_arg(ctx, "locale", &value)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            value.len = 0;
            value.data = NULL;
            break;

        default: /* locale[n]: a list is no locale */
            ngx_str_set(&value, "");
        }
    }

    if (value.data) {
        ctx->locale_arg = value;

        n = prefs_locale_canon((char *) value.data, value.len, canon,
                               sizeof(canon));

        for (k = 0; n > 0 && k < snap->nlocales; k++) {
            if (ngx_strcasecmp((u_char *) canon,
                               (u_char *) snap->locales[k]) == 0)
            {
                *locale = snap->locales[k];
                return NGX_OK;
            }
        }

        /* the caller answers 400 */
        return NGX_DECLINED;
    }

    *vary = 1;

    h = r->headers_in.accept_language;

    /* "Accept-Language: null" is no header: every locale's text */

    if (h == NULL || prefs_locale_accept_none((char *) h->value.data,
                                              h->value.len))
    {
        return NGX_OK;
    }

    n = prefs_locale_accept_parse((char *) h->value.data, h->value.len,
                                  ranges, PREFS_LOCALE_MAX_RANGES);

    i = prefs_locale_lookup(ranges, n > 0 ? (size_t) n : 0, snap->locales,
                            snap->nlocales, NULL);

    *locale = (i >= 0) ? snap->locales[i] : snap->default_locale;

    return NGX_OK;
}


static ngx_int_t
ngx_prefs_configuration_answer(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    ngx_prefs_snap_t *snap)
{
    char                                 *dump, quoted[64 * 3 + 1];
    u_char                               *p;
    size_t                                len;
    json_t                               *body, *doc;
    uint32_t                              hash;
    ngx_int_t                             rc;
    ngx_str_t                             key, *inm;
    ngx_buf_t                            *b;
    ngx_flag_t                            vary;
    ngx_uint_t                            status;
    const char                           *locale, *message;
    ngx_str_node_t                       *sn;
    ngx_prefs_snap_render_t              *rd;
    ngx_flag_t                            keep;
    ngx_http_prefs_loc_conf_t            *plcf;
    const ngx_prefs_configuration_sel_t  *sel;

    rc = ngx_prefs_configuration_locale(r, ctx, snap, &locale, &vary);

    if (rc == NGX_DECLINED) {
        return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                    "The locale \"%s\" is not configured "
                                    "for this account",
                                    prefs_query_escape(
                                        (char *) ctx->locale_arg.data,
                                        ctx->locale_arg.len, quoted,
                                        sizeof(quoted)));
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    /* the render key: API, route, arguments, locale */

    p = ngx_pnalloc(r->pool, NGX_PREFS_CONFIG_KEY_MAX);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Only what changes the answer is in the key: other query arguments
     * would let a client grow the cache at will.  Answers that cannot be
     * kept (long criteria, too many renders) are rendered for the request.
     */

    sel = ctx->route->data;
    keep = (snap->nrenders < NGX_PREFS_CONFIG_RENDERS
            && (!sel->match || r->args.len <= NGX_PREFS_CONFIG_ARGS_MAX));

    key.data = p;
    p = ngx_snprintf(p, NGX_PREFS_CONFIG_KEY_MAX - 1, "%ui|%p|%s|%V|%V|%V",
                     plcf->api, ctx->route, locale ? locale : "*",
                     &ctx->args[0], &ctx->args[1],
                     sel->match ? &r->args : &ngx_prefs_configuration_empty);
    key.len = p - key.data;

    hash = ngx_crc32_long(key.data, key.len);
    sn = ngx_str_rbtree_lookup(&snap->renders, &key, hash);
    rd = (ngx_prefs_snap_render_t *) sn;

    if (rd == NULL) {
        status = NGX_HTTP_OK;
        message = NULL;

        doc = ngx_prefs_json_own(r->pool,
                                  json_loadb((char *) snap->text.data,
                                             snap->text.len, 0, NULL));
        if (doc == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body = ngx_prefs_json_own(r->pool,
                                   ngx_prefs_configuration_render(r, ctx, doc,
                                                                  &status,
                                                                  &message));
        if (body == NULL) {
            if (message) {
                return ngx_prefs_http_error(r, status, "%s", message);
            }

            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (locale || plcf->api == NGX_HTTP_PREFS_API_V3) {
            body = ngx_prefs_json_own(r->pool,
                                      prefs_render_localize(body, locale));

            if (body == NULL
                || (plcf->api == NGX_HTTP_PREFS_API_V3
                    && prefs_render_v3_names(body) != 0))
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        len = json_dumpb(body, NULL, 0, JSON_COMPACT);

        rd = ngx_pcalloc(keep ? snap->pool : r->pool,
                         sizeof(ngx_prefs_snap_render_t) + key.len + len + 32);
        if (rd == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = (u_char *) rd + sizeof(ngx_prefs_snap_render_t);
        rd->sn.str.data = p;
        rd->sn.str.len = key.len;
        p = ngx_cpymem(p, key.data, key.len);

        dump = (char *) p;
        rd->body.data = p;
        rd->body.len = json_dumpb(body, dump, len, JSON_COMPACT);
        p += rd->body.len;

        /* the same configuration renders the same bytes on every node */
        rd->etag.data = p;
        rd->etag.len = ngx_sprintf(p, "\"%08xD%uz\"",
                                   ngx_crc32_long(rd->body.data,
                                                  rd->body.len),
                                   rd->body.len) - p;
        rd->status = status;

        if (keep) {
            rd->sn.node.key = hash;
            ngx_prefs_snap_keep(snap, rd,
                                sizeof(ngx_prefs_snap_render_t) + key.len + len
                                + 32);
        }
    }

    /* headers */

    if (vary) {
        if (ngx_prefs_http_header(r, "Vary", "Accept-Language", 0)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (locale
        && ngx_prefs_http_header(r, "Content-Language", locale, 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_prefs_http_header(r, "ETag", (char *) rd->etag.data,
                              rd->etag.len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inm = r->headers_in.if_none_match ? &r->headers_in.if_none_match->value
                                      : NULL;

    if (inm && rd->status == NGX_HTTP_OK
        && ((inm->len == 1 && inm->data[0] == '*')
            || ngx_strlcasestrn(inm->data, inm->data + inm->len,
                                rd->etag.data, rd->etag.len - 1)
               != NULL))
    {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->headers_out.content_length_n = -1;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    /* the body stays in the snapshot: hold it until the response is sent */

    b = ngx_calloc_buf(r->pool);
    if (b == NULL || ngx_prefs_snap_hold(r, snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = rd->body.data;
    b->last = rd->body.data + rd->body.len;
    b->memory = 1;

    return ngx_prefs_http_send_buf(r, rd->status, b);
}






static json_t *
ngx_prefs_configuration_render(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx,
    json_t *doc, ngx_uint_t *status, const char **message)
{
    int                                   n;
    char                                  canon[64];
    json_t                               *arr, *item, *o, *ct;
    ngx_str_t                             key;
    ngx_uint_t                            i;
    const ngx_prefs_configuration_sel_t  *sel = ctx->route->data;

    switch (sel->what) {

    case NGX_PREFS_CFG_COLLECTION:
        arr = json_object_get(doc, sel->collection);

        if (sel->subcollection) {
            arr = json_object_get(arr, sel->subcollection);
        }

        if (!json_is_array(arr)) {
            return prefs_render_config_wrap(sel->wrapper, json_array());
        }

        if (sel->key_arg == 0) {
            return prefs_render_config_wrap(sel->wrapper, json_deep_copy(arr));
        }

        key = ctx->args[sel->key_arg - 1];

        if (ngx_strcmp(sel->key_field, "LocaleId") == 0) {
            /* en_us names en-US */
            n = prefs_locale_canon((char *) key.data, key.len, canon,
                                   sizeof(canon));
            if (n > 0) {
                key.data = (u_char *) canon;
                key.len = n;
            }
        }

        item = prefs_render_config_find(arr, sel->key_field, (char *) key.data,
                                        key.len);
        if (item == NULL) {
            *status = NGX_HTTP_NOT_FOUND;
            *message = "No such item in this account's configuration";
            return NULL;
        }

        o = json_array();
        json_array_append_new(o, json_deep_copy(item));

        return prefs_render_config_wrap(sel->wrapper, o);

    case NGX_PREFS_CFG_PROGRAMS:
        return ngx_prefs_configuration_programs(r, ctx, doc, sel, status,
                                                message);

    case NGX_PREFS_CFG_PROGRAM_GROUPS:
        if (sel->key_arg) {
            key = ctx->args[sel->key_arg - 1];
            item = prefs_render_config_find(
                       json_object_get(doc, "ProgramGroups"),
                       "ProgramGroupId", (char *) key.data, key.len);
            if (item == NULL) {
                *status = NGX_HTTP_NOT_FOUND;
                *message = "No such program group in this account";
                return NULL;
            }

            o = json_deep_copy(item);
            json_object_set_new(o, "ProgramGroups",
                                prefs_render_config_groups(
                                    json_object_get(doc, "ProgramGroups"),
                                    json_string_value(json_object_get(
                                        item, "ProgramGroupId")), 1));
            arr = json_array();
            json_array_append_new(arr, o);

            return prefs_render_config_wrap("ProgramGroups", arr);
        }

        return prefs_render_config_wrap("ProgramGroups",
                   prefs_render_config_groups(
                       json_object_get(doc, "ProgramGroups"), NULL, 0));

    case NGX_PREFS_CFG_LOCALES:
        o = json_pack("{s:O,s:O}",
                      "DefaultLocale", json_object_get(doc, "DefaultLocale"),
                      "Locales", json_object_get(doc, "Locales"));
        return o ? json_deep_copy(o) : NULL;

    case NGX_PREFS_CFG_CONSENT_STATUS:
        arr = json_array();

        for (i = 1; i <= NGX_PREFS_CONFIGURATION_CONSENT_STATUSES; i++) {
            json_array_append_new(arr, json_integer((json_int_t) i));
        }

        return prefs_render_config_wrap("ConsentStatus", arr);

    case NGX_PREFS_CFG_PROFILE_DOC:
        ct = json_object_get(doc, "ContactTypes");
        o = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}",
                      "DefaultLocale", json_object_get(doc, "DefaultLocale"),
                      "Locales", json_object_get(doc, "Locales"),
                      "ContactTypes", ct ? ct : json_object(),
                      "AlternateIdTypes",
                          json_object_get(doc, "AlternateIdTypes"),
                      "CustomerTypes", json_object_get(doc, "CustomerTypes"),
                      "GroupTypes", json_object_get(doc, "GroupTypes"),
                      "CustomFields", json_object_get(doc, "CustomFields"),
                      "Tags", json_object_get(doc, "Tags"));
        if (o == NULL) {
            return NULL;
        }

        item = json_deep_copy(o);
        json_decref(o);
        return item;

    case NGX_PREFS_CFG_PREFERENCE_DOC:
        arr = ngx_prefs_configuration_programs(r, ctx, doc, sel, status,
                                               message);
        if (arr == NULL) {
            return NULL;
        }

        o = json_pack("{s:O,s:O,s:o,s:o,s:O}",
                      "DefaultLocale", json_object_get(doc, "DefaultLocale"),
                      "Locales", json_object_get(doc, "Locales"),
                      "Programs", json_incref(json_object_get(arr,
                                                              "Programs")),
                      "ProgramGroups",
                          prefs_render_config_groups(
                              json_object_get(doc, "ProgramGroups"), NULL, 0),
                      "ConsentTypes", json_object_get(doc, "ConsentTypes"));
        json_decref(arr);
        if (o == NULL) {
            return NULL;
        }

        item = json_deep_copy(o);
        json_decref(o);
        return item;
    }

    return NULL;
}




/*
 * Programs with their filters.  The selector narrows them: by id, by
 * program type, within a program group (whose default preference values
 * then apply to the filters), or by custom properties (IncludeMatching:
 * the programs and filters that have them; IncludeAll: the programs that
 * have them, or a filter that has them, with all their filters).
 */

static json_t *
ngx_prefs_configuration_programs(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t                  *ctx, json_t *doc,
    const ngx_prefs_configuration_sel_t  *sel, ngx_uint_t *status,
    const char **message)
{
    size_t       i, j, k;
    json_t      *programs, *filters, *out, *p, *f, *copy, *pf, *group,
                *criteria, *defaults, *d, *pid, *ids;
    ngx_int_t    rc;
    ngx_str_t   *arg;
    ngx_flag_t   pmatch, any;
    const char  *id;

    programs = json_object_get(doc, "Programs");
    filters = json_object_get(doc, "Filters");
    group = NULL;
    criteria = NULL;

    if (sel->group_arg) {
        arg = &ctx->args[sel->group_arg - 1];
        group = prefs_render_config_find(json_object_get(doc, "ProgramGroups"),
                                         "ProgramGroupId", (char *) arg->data,
                                         arg->len);
        if (group == NULL) {
            *status = NGX_HTTP_NOT_FOUND;
            *message = "No such program group in this account";
            return NULL;
        }
    }

    if (sel->match) {
        rc = ngx_prefs_configuration_criteria(ctx, &criteria);

        if (rc != NGX_OK) {
            *status = NGX_HTTP_BAD_REQUEST;
            *message = "The criteria must be customProperties[n].Key and "
                       "customProperties[n].Value pairs, percent-encoded";
            return NULL;
        }
    }

    out = json_array();

    json_array_foreach(programs, i, p) {
        id = json_string_value(json_object_get(p, "ProgramId"));
        if (id == NULL) {
            continue;
        }

        if (sel->key_arg) {
            arg = &ctx->args[sel->key_arg - 1];

            if (ngx_strlen(id) != arg->len
                || ngx_strncmp(id, arg->data, arg->len) != 0)
            {
                continue;
            }
        }

        if (sel->type_arg) {
            arg = &ctx->args[sel->type_arg - 1];
            pid = json_object_get(p, "ProgramTypeId");

            if (!json_is_string(pid) || json_string_length(pid) != arg->len
                || ngx_strncmp(json_string_value(pid), arg->data, arg->len)
                   != 0)
            {
                continue;
            }
        }

        if (group) {
            ids = json_object_get(group, "ProgramIds");
            any = 0;

            json_array_foreach(ids, k, d) {
                if (json_is_string(d)
                    && ngx_strcmp(json_string_value(d), id) == 0)
                {
                    any = 1;
                    break;
                }
            }

            if (!any) {
                continue;
            }
        }

        pmatch = criteria ? prefs_render_config_has_props(p, criteria) : 1;

        copy = json_deep_copy(p);
        pf = json_array();
        any = 0;

        json_array_foreach(filters, j, f) {
            pid = json_object_get(f, "ProgramId");

            if (!json_is_string(pid)
                || ngx_strcmp(json_string_value(pid), id) != 0)
            {
                continue;
            }

            if (criteria && !prefs_render_config_has_props(f, criteria)) {
                if (!(sel->match == NGX_PREFS_CFG_MATCH_ALL || pmatch)) {
                    continue;
                }

            } else if (criteria) {
                any = 1;
            }

            f = json_deep_copy(f);

            if (group) {
                /* the group's defaults override the filter's own */
                defaults = json_object_get(group, "DefaultPreferenceValues");

                json_array_foreach(defaults, k, d) {
                    if (json_equal(json_object_get(d, "FilterId"),
                                   json_object_get(f, "FilterId")))
                    {
                        json_object_set(f, "DefaultPreferenceValue",
                                        json_object_get(d,
                                                        "PreferenceValue"));
                    }
                }
            }

            json_array_append_new(pf, f);
        }

        if (criteria && !pmatch && !any) {
            json_decref(copy);
            json_decref(pf);
            continue;
        }

        json_object_set_new(copy, "Filters", pf);
        json_array_append_new(out, copy);
    }

    json_decref(criteria);

    if (sel->key_arg && json_array_size(out) == 0) {
        json_decref(out);
        *status = NGX_HTTP_NOT_FOUND;
        *message = group ? "No such program in this program group"
                         : "No such program in this account";
        return NULL;
    }

    return prefs_render_config_wrap("Programs", out);
}


/*
 * IncludeMatching criteria, in the ASP.NET indexed form:
 * customProperties[0].Key=Region&customProperties[0].Value=EU&...
 */

static ngx_int_t
ngx_prefs_configuration_criteria(ngx_prefs_api_ctx_t *ctx, json_t **criteria)
{
    size_t       i;
    json_t      *c, *props, *item, *pair, *v;
    const char  *name;

    c = json_array();
    if (c == NULL) {
        return NGX_ERROR;
    }

    props = prefs_query_get(ctx->query, "customProperties");

    if (props && !json_is_array(props)) {
        goto failed;
    }

    json_array_foreach(props, i, item) {
        if (!json_is_object(item)) {
            goto failed;
        }

        pair = json_object();
        if (pair == NULL || json_array_append_new(c, pair) != 0) {
            goto failed;
        }

        json_object_foreach(item, name, v) {
            if (ngx_strcasecmp((u_char *) name, (u_char *) "Key") == 0) {
                json_object_set(pair, "Key", v);

            } else if (ngx_strcasecmp((u_char *) name, (u_char *) "Value")
                       == 0)
            {
                json_object_set(pair, "Value", v);

            } else {
                goto failed;
            }
        }
    }

    *criteria = c;
    return NGX_OK;

failed:

    json_decref(c);
    return NGX_ERROR;
}


/* POST, PUT and DELETE on a collection */

ngx_int_t
ngx_prefs_configuration_write(ngx_http_request_t *r, ngx_prefs_api_ctx_t *ctx)
{
    char                                 *text;
    json_t                               *body, *items, *one;
    ngx_int_t                             rc;
    ngx_prefs_db_query_t                 *q;
    ngx_http_prefs_loc_conf_t            *plcf;
    const ngx_prefs_configuration_sel_t  *sel = ctx->route->data;

    body = NULL;
    text = NULL;

    if (r->method != NGX_HTTP_DELETE) {
        rc = ngx_prefs_api_json_body(r, ctx, &body);
        if (body == NULL) {
            return rc;
        }

        if (!json_is_object(body)) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "The body must be a JSON object");
        }

        /* the reference's wrapper, {"Filters": [...]}, or one item */

        items = json_object_get(body, sel->wrapper);

        if (json_object_size(body) != 1 || !json_is_array(items)) {
            items = ngx_prefs_json_own(r->pool, json_array());

            if (items == NULL || json_array_append(items, body) != 0) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (json_array_size(items) == 0 || json_array_size(items) > 100) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "%s must hold 1 to 100 items",
                                        sel->wrapper);
        }

        if (r->method == NGX_HTTP_PUT && json_array_size(items) != 1) {
            return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                        "PUT replaces one item");
        }

        if (sel->v3_body) {
            size_t  i;

            json_array_foreach(items, i, one) {
                if (prefs_render_v3_to_v4(one, sel->key_field) != 0) {
                    return ngx_prefs_http_error(r, NGX_HTTP_BAD_REQUEST,
                                                "A field is given in both "
                                                "spellings");
                }
            }
        }

        text = ngx_prefs_json_text(r->pool, items);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);

    q = ngx_prefs_db_query_create(r->pool, plcf->pool,
                                  NGX_PREFS_STMT_CONFIG_WRITE,
                                  r->connection->log);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->values[0] = ctx->account_text;
    q->values[1] = sel->kind;
    q->values[2] = sel->key_arg ? (char *) ctx->args[sel->key_arg - 1].data
                                : NULL;
    q->values[3] = text;
    q->values[4] = r->method == NGX_HTTP_POST ? "create"
                   : r->method == NGX_HTTP_PUT ? "replace" : "deactivate";
    q->handler = ngx_prefs_configuration_write_done;

    return ngx_prefs_http_query(r, q);
}


static void
ngx_prefs_configuration_write_done(ngx_prefs_db_query_t *q)
{
    int                                   i, n;
    json_t                               *keys, *body;
    ngx_int_t                             rc;
    ngx_str_t                             uri;
    const char                           *key;
    ngx_http_request_t                   *r = q->data;
    ngx_prefs_api_ctx_t                  *ctx;
    ngx_http_prefs_loc_conf_t            *plcf;
    const ngx_prefs_configuration_sel_t  *sel;
    const ngx_prefs_outcome_t            *o;

    ctx = ngx_http_get_module_ctx(r, ngx_http_prefs_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_prefs_module);
    sel = ctx->route->data;

    if (q->status != NGX_PREFS_DB_OK) {
        ngx_prefs_http_finalize(r, ngx_prefs_api_sql_error(r, q));
        return;
    }

    n = PQntuples(q->res);

    if (n == 0) {
        ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* one row per item; the first refusal speaks for the request */

    for (i = 0; i < n; i++) {
        key = ngx_prefs_db_value(q, i, NGX_PREFS_COL_ITEM_KEY);
        o = ngx_prefs_outcome_find(NGX_PREFS_OUTCOMES_CONFIG_WRITE,
                                   ngx_prefs_db_value(q, i,
                                                      NGX_PREFS_COL_OUTCOME));

        if (o->status >= NGX_HTTP_BAD_REQUEST) {
            /* the item: as the database names it, or as the path did */
            ngx_prefs_http_finalize(r,
                ngx_prefs_outcome_send(r, o,
                                       ngx_prefs_db_value(q, i,
                                                      NGX_PREFS_COL_MESSAGE),
                                       sel->kind,
                                       o->status == NGX_HTTP_NOT_FOUND
                                       ? (char *) ctx->args[0].data : key));
            return;
        }
    }

    if (r->method == NGX_HTTP_DELETE) {
        ngx_prefs_http_finalize(r,
                                ngx_prefs_http_send_text(r,
                                                         NGX_HTTP_NO_CONTENT,
                                                         "", 0));
        return;
    }

    keys = json_array();

    for (i = 0; i < n; i++) {
        json_array_append_new(keys,
                              json_pack("{s:s,s:s}", sel->key_field,
                                        ngx_prefs_db_value(q, i,
                                                     NGX_PREFS_COL_ITEM_KEY),
                                        "Outcome",
                                        ngx_prefs_db_value(q, i,
                                                     NGX_PREFS_COL_OUTCOME)));
    }

    if (r->method == NGX_HTTP_POST) {
        /*
         * Location: the first item, under the collection's route (v3's
         * Config/Filters is read back at Filters), its key escaped.
         */

        uri = r->uri;

        if (sel->v3_body && uri.len > sizeof("Config/Filters") - 1) {
            uri.len -= sizeof("Config/Filters") - 1;
        }

        key = ngx_prefs_db_value(q, 0, NGX_PREFS_COL_ITEM_KEY);

        if (ngx_prefs_http_location(r, &uri, sel->v3_body ? "Filters/" : "",
                                    (u_char *) key, ngx_strlen(key))
            != NGX_OK)
        {
            json_decref(keys);
            ngx_prefs_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    body = prefs_render_config_wrap(sel->wrapper, keys);

    if (plcf->api == NGX_HTTP_PREFS_API_V3 && body) {
        (void) prefs_render_v3_names(body);
    }

    rc = ngx_prefs_http_send_json(r, r->method == NGX_HTTP_POST
                                     ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                                  body);

    ngx_prefs_http_finalize(r, rc);
}
