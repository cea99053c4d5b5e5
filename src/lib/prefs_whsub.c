
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "prefs_url.h"
#include "prefs_whsub.h"
#include "prefs_json.h"


typedef struct {
    const char  *type;
    const char  *entity;
} prefs_whsub_type_t;


typedef struct {
    const char  *entity;
    const char  *key;          /* the qualifier list of its entries */
    const char  *wildcard;
} prefs_whsub_qualifier_t;


static int prefs_whsub_entry(json_t *entry, size_t i, json_t *seen,
    json_t **out, char *msg, size_t size);
static int prefs_whsub_names(json_t *v, const char *at,
    const prefs_whsub_qualifier_t *q, json_t **out, char *msg, size_t size);


/* contract section 7 */

static const prefs_whsub_type_t  prefs_whsub_types[] = {
    { "profile.created", "ProfileActions" },
    { "profile.updated", "ProfileActions" },
    { "profile.replaced", "ProfileActions" },
    { "profile.deactivated", "ProfileActions" },
    { "profile.reactivated", "ProfileActions" },
    { "profile.deleted", "ProfileActions" },
    { "preference.added", "Preferences" },
    { "preference.updated", "Preferences" },
    { "preference.archived", "Preferences" },
    { "consent.added", "Consents" },
    { "consent.updated", "Consents" },
    { "consent.deactivated", "Consents" },
    { "consent.elementassociation.created", "Consents" },
    { "consent.elementassociation.updated", "Consents" },
    { "consent.elementassociation.deactivated", "Consents" },
    { "consent.filterassociation.created", "Consents" },
    { "consent.filterassociation.updated", "Consents" },
    { "consent.filterassociation.deactivated", "Consents" },
    { "contacts.email.added", "Contacts" },
    { "contacts.email.updated", "Contacts" },
    { "contacts.email.deactivated", "Contacts" },
    { "contacts.phone.added", "Contacts" },
    { "contacts.phone.updated", "Contacts" },
    { "contacts.phone.deactivated", "Contacts" },
    { "contacts.address.added", "Contacts" },
    { "contacts.address.updated", "Contacts" },
    { "contacts.address.deactivated", "Contacts" },
    { "contacts.alternateid.added", "Contacts" },
    { "contacts.alternateid.updated", "Contacts" },
    { "contacts.alternateid.deactivated", "Contacts" },
    { "contacts.customertype.updated", "Contacts" },
    { "standardfield.prefix.added", "StandardFields" },
    { "standardfield.prefix.updated", "StandardFields" },
    { "standardfield.prefix.deleted", "StandardFields" },
    { "standardfield.firstname.added", "StandardFields" },
    { "standardfield.firstname.updated", "StandardFields" },
    { "standardfield.firstname.deleted", "StandardFields" },
    { "standardfield.middlename.added", "StandardFields" },
    { "standardfield.middlename.updated", "StandardFields" },
    { "standardfield.middlename.deleted", "StandardFields" },
    { "standardfield.lastname.added", "StandardFields" },
    { "standardfield.lastname.updated", "StandardFields" },
    { "standardfield.lastname.deleted", "StandardFields" },
    { "standardfield.suffix.added", "StandardFields" },
    { "standardfield.suffix.updated", "StandardFields" },
    { "standardfield.suffix.deleted", "StandardFields" },
    { "standardfield.defaultlocale.updated", "StandardFields" },
    { "standardfield.registrationstatus.updated", "StandardFields" },
    { "customfield.added", "CustomFields" },
    { "customfield.updated", "CustomFields" },
    { "customfield.deleted", "CustomFields" },
    { "group.added", "Groups" },
    { "group.removed", "Groups" },
    { "tag.added", "Tags" },
    { "tag.removed", "Tags" },
    { NULL, NULL }
};


/* which list narrows an entity's events, and its "everything" value */

static const prefs_whsub_qualifier_t  prefs_whsub_qualifiers[] = {
    { "Preferences", "Filters", "AllFilters" },
    { "Consents", "ConsentTypes", "AllConsents" },
    { "Contacts", "ContactTypes", "AllContactTypes" },
    { "Groups", "Groups", "AllGroups" },
    { "CustomFields", "CustomFields", "AllCustomFields" },
    { NULL, NULL, NULL }
};


static const char *const  prefs_whsub_states[] = {
    "Active", "Paused", "Inactive", NULL
};


static const prefs_json_field_t  prefs_whsub_fields[] = {
    { "Id", PREFS_JT_INTEGER, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { "Name", PREFS_JT_STRING, 1, 200, NULL, NULL, 1, 0, 0, 0, 0 },
    { "Description", PREFS_JT_STRING, 0, 2000, NULL, NULL, 0, 0, 1, 0, 0 },
    { "LocaleId", PREFS_JT_STRING, 2, 35, NULL, NULL, 0, 0, 1, 0, 0 },
    { "Url", PREFS_JT_STRING, 1, PREFS_WHSUB_URL_MAX, NULL, NULL, 1, 0, 0,
      0, 0 },
    { "State", PREFS_JT_STRING, 1, 20, prefs_whsub_states, NULL, 0, 0, 0,
      0, 0 },
    { "PausedReason", PREFS_JT_STRING, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { "IsMinimized", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 },
    { "IsActive", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 },
    { "CatchUpOnResume", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 0,
      0 },
    { "AlternateIdType", PREFS_JT_STRING, 1, 100, NULL, NULL, 0, 0, 1, 0,
      0 },
    { "Secret", PREFS_JT_STRING, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }
};


static const prefs_json_field_t  prefs_whsub_settings_fields[] = {
    { "MaxConcurrentRequests", PREFS_JT_INTEGER,
      PREFS_WHSUB_SETTINGS_MAX_MIN, PREFS_WHSUB_SETTINGS_MAX_MAX,
      NULL, NULL, 0, 0, 0, 0, 0 },
    { "Duration", PREFS_JT_INTEGER,
      PREFS_WHSUB_SETTINGS_DURATION_MIN, PREFS_WHSUB_SETTINGS_DURATION_MAX,
      NULL, NULL, 0, 0, 0, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }
};


const char *
prefs_whsub_event_type(const char *type, const char **entity)
{
    const prefs_whsub_type_t  *t;

    if (strcasecmp(type, "consent.elementassocation.deactivated") == 0) {
        type = "consent.elementassociation.deactivated";
    }

    for (t = prefs_whsub_types; t->type; t++) {
        if (strcasecmp(t->type, type) == 0) {
            if (entity) {
                *entity = t->entity;
            }

            return t->type;
        }
    }

    return NULL;
}


/*
 * The webhook client's parser (prefs_url.c) is the one judge of what a
 * destination is: the API accepts no URL the client would refuse as
 * malformed.  The checks before it only give the common mistakes their
 * own messages.
 */

int
prefs_whsub_check_url(const char *url, size_t len, int allow_http,
    char *norm, size_t norm_size, char *msg, size_t size)
{
    int          rc;
    size_t       i, host_end;
    char         c;
    prefs_url_t  u;

    if (len == 0 || len > PREFS_WHSUB_URL_MAX || norm_size < len + 1) {
        snprintf(msg, size, "Url must be 1 to %d characters long",
                 PREFS_WHSUB_URL_MAX);
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = url[i];

        if ((unsigned char) c <= 0x20 || (unsigned char) c >= 0x7f) {
            snprintf(msg, size, "Url must be printable ASCII without "
                     "spaces (percent-encode the rest)");
            return -1;
        }

        if (c == '#') {
            snprintf(msg, size, "Url must not have a fragment (\"#\")");
            return -1;
        }

        if (c == '\\') {
            snprintf(msg, size, "Url must not contain \"\\\"");
            return -1;
        }
    }

    rc = prefs_url_parse(url, len, &u);

    switch (rc) {

    case PREFS_URL_OK:
        break;

    case PREFS_URL_BAD_SCHEME:
        snprintf(msg, size, "Url must be an absolute http or https URL");
        return -1;

    case PREFS_URL_USERINFO:
        snprintf(msg, size, "Url must not carry user information (\"@\")");
        return -1;

    case PREFS_URL_BAD_PORT:
        snprintf(msg, size, "Url is invalid: a port is a number from 1 to "
                 "65535");
        return -1;

    default:
        snprintf(msg, size, "Url is invalid: %s", prefs_url_strerror(rc));
        return -1;
    }

    /* names as DNS spells them: stricter than the client, on purpose */

    for (i = 0; u.host_type == PREFS_URL_HOST_NAME && i < u.host_len; i++) {
        c = u.host[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-'
              || c == '.'))
        {
            snprintf(msg, size, "Url is invalid: a host name holds letters, "
                     "digits, \"-\" and \".\" (IDNA names in their xn-- "
                     "form)");
            return -1;
        }
    }

    if (u.host_type == PREFS_URL_HOST_NAME
        && (u.host[0] == '.' || u.host[0] == '-'))
    {
        snprintf(msg, size, "Url is invalid: a host name starts with a "
                 "letter or digit");
        return -1;
    }

    if (!u.https && !allow_http) {
        snprintf(msg, size, "Url must be an https URL (plain http is "
                 "not allowed on this server)");
        return -1;
    }

    /* scheme and host in lower case: one destination, one spelling */

    host_end = u.https ? 8 : 7;

    if (url[host_end] == '[') {
        while (url[host_end] != ']') {
            host_end++;
        }

        host_end++;

    } else {
        while (host_end < len && url[host_end] != ':'
               && url[host_end] != '/' && url[host_end] != '?')
        {
            host_end++;
        }
    }

    for (i = 0; i < len; i++) {
        c = url[i];
        norm[i] = (i < host_end && c >= 'A' && c <= 'Z') ? c + ('a' - 'A')
                                                         : c;
    }

    norm[len] = '\0';

    return 0;
}


int
prefs_whsub_check_address(const char *url, size_t len,
    const prefs_netpolicy_cidr_t *allow, size_t nallow, char *msg,
    size_t size)
{
    int          family;
    char         text[64];
    prefs_url_t  u;

    if (prefs_url_parse(url, len, &u) != PREFS_URL_OK) {
        snprintf(msg, size, "Url must be an absolute http or https URL");
        return -1;
    }

    if (u.host_type == PREFS_URL_HOST_NAME) {
        return 0;
    }

    family = (u.host_type == PREFS_URL_HOST_IPV4) ? 4 : 6;

    if (prefs_netpolicy_ip_allowed(family, u.addr, allow, nallow)) {
        return 0;
    }

    snprintf(msg, size, "Url is refused: %s is not a global address, and "
             "webhooks are not sent to it on this server "
             "(prefs_webhook_allow_network)",
             prefs_netpolicy_ip_text(family, u.addr, text, sizeof(text)));

    return -1;
}


int
prefs_whsub_validate(json_t *body, int mode, int allow_http, json_t **out,
    char *msg, size_t size)
{
    int          rc;
    char        *norm;
    size_t       i, n;
    json_t      *rest, *subs, *valid, *v, *list, *entry, *seen;
    const char  *key;

    *out = NULL;
    subs = NULL;
    valid = NULL;
    list = NULL;
    seen = NULL;

    if (!json_is_object(body)) {
        snprintf(msg, size, "The body must be a JSON object");
        return -1;
    }

    rest = json_object();
    if (rest == NULL) {
        snprintf(msg, size, "Out of memory");
        return -1;
    }

    /* "Subscriptions" is an array of objects: checked apart */

    json_object_foreach(body, key, v) {
        if (strcasecmp(key, "Subscriptions") == 0) {
            if (subs) {
                snprintf(msg, size, "Subscriptions is given twice");
                goto failed;
            }

            subs = v;
            continue;
        }

        if (json_object_set(rest, key, v) != 0) {
            snprintf(msg, size, "Out of memory");
            goto failed;
        }
    }

    if (prefs_json_validate(rest, prefs_whsub_fields, mode, &valid, msg,
                            size)
        != 0)
    {
        goto failed;
    }

    v = json_object_get(valid, "Url");

    if (v) {
        n = json_string_length(v);
        norm = malloc(n + 1);

        if (norm == NULL) {
            snprintf(msg, size, "Out of memory");
            goto failed;
        }

        rc = prefs_whsub_check_url(json_string_value(v), n, allow_http, norm,
                                   n + 1, msg, size);
        if (rc == 0) {
            rc = json_object_set_new(valid, "Url", json_string(norm));
        }

        free(norm);

        if (rc != 0) {
            goto failed;
        }
    }

    v = json_object_get(valid, "State");

    if (v && strcmp(json_string_value(v), "Inactive") == 0) {
        json_object_set_new(valid, "State", json_string("Paused"));
    }

    if (mode == PREFS_JSON_CREATE
        && json_is_false(json_object_get(valid, "IsActive")))
    {
        snprintf(msg, size, "IsActive false deletes a subscription: a new "
                 "one cannot have it");
        goto failed;
    }

    if (subs == NULL) {
        if (mode == PREFS_JSON_CREATE) {
            snprintf(msg, size, "Subscriptions is required");
            goto failed;
        }

        goto done;
    }

    n = json_array_size(subs);

    if (!json_is_array(subs) || n < 1 || n > PREFS_WHSUB_MAX_ENTRIES) {
        snprintf(msg, size, "Subscriptions must be an array of 1 to %d "
                 "objects", PREFS_WHSUB_MAX_ENTRIES);
        goto failed;
    }

    list = json_array();
    seen = json_object();

    if (list == NULL || seen == NULL) {
        snprintf(msg, size, "Out of memory");
        goto failed;
    }

    json_array_foreach(subs, i, v) {
        if (prefs_whsub_entry(v, i, seen, &entry, msg, size) != 0) {
            goto failed;
        }

        if (json_array_append_new(list, entry) != 0) {
            snprintf(msg, size, "Out of memory");
            goto failed;
        }
    }

    if (json_object_set_new(valid, "Subscriptions", list) != 0) {
        list = NULL;
        snprintf(msg, size, "Out of memory");
        goto failed;
    }

    list = NULL;

done:

    json_decref(seen);
    json_decref(rest);
    *out = valid;
    return 0;

failed:

    json_decref(seen);
    json_decref(list);
    json_decref(valid);
    json_decref(rest);
    return -1;
}


/* one entry of "Subscriptions"; seen: the event types before it */

static int
prefs_whsub_entry(json_t *entry, size_t i, json_t *seen, json_t **out,
    char *msg, size_t size)
{
    char                            at[64];
    json_t                         *res, *v, *names, *type_v, *entity_v;
    json_t                        **slot;
    const char                     *key, *type, *entity;
    const prefs_whsub_qualifier_t  *q, *mine;

    static const char *const  known[] = {
        "Entity", "EventType", "Filters", "ConsentTypes", "ContactTypes",
        "Groups", "CustomFields", NULL
    };

    const char *const  *k;

    *out = NULL;

    if (!json_is_object(entry)) {
        snprintf(msg, size, "Subscriptions[%zu] must be a JSON object", i);
        return -1;
    }

    type_v = NULL;
    entity_v = NULL;

    /* names match without regard to case, once each */

    json_object_foreach(entry, key, v) {
        for (k = known; *k; k++) {
            if (strcasecmp(*k, key) == 0) {
                break;
            }
        }

        if (*k == NULL) {
            snprintf(msg, size, "Subscriptions[%zu]: unknown field "
                     "\"%.100s\"", i, key);
            return -1;
        }

        if (strcmp(*k, "EventType") == 0) {
            slot = &type_v;

        } else if (strcmp(*k, "Entity") == 0) {
            slot = &entity_v;

        } else {
            continue;
        }

        if (*slot) {
            snprintf(msg, size, "Subscriptions[%zu].%s is given twice", i,
                     *k);
            return -1;
        }

        if (!json_is_string(v)) {
            snprintf(msg, size, "Subscriptions[%zu].%s must be a string", i,
                     *k);
            return -1;
        }

        *slot = v;
    }

    if (type_v == NULL) {
        snprintf(msg, size, "Subscriptions[%zu].EventType is required", i);
        return -1;
    }

    if (entity_v == NULL) {
        snprintf(msg, size, "Subscriptions[%zu].Entity is required", i);
        return -1;
    }

    type = NULL;

    if (json_string_length(type_v) <= 100
        && strlen(json_string_value(type_v)) == json_string_length(type_v))
    {
        type = prefs_whsub_event_type(json_string_value(type_v), &entity);
    }

    if (type == NULL) {
        snprintf(msg, size, "Subscriptions[%zu].EventType \"%.100s\" is not "
                 "an event type", i, json_string_value(type_v));
        return -1;
    }

    if (strcasecmp(json_string_value(entity_v), entity) != 0) {
        snprintf(msg, size, "Subscriptions[%zu].Entity must be \"%s\" for "
                 "%s", i, entity, type);
        return -1;
    }

    if (json_object_get(seen, type)) {
        snprintf(msg, size, "Subscriptions[%zu].EventType %s is listed "
                 "twice", i, type);
        return -1;
    }

    json_object_set_new(seen, type, json_true());

    mine = NULL;

    for (q = prefs_whsub_qualifiers; q->entity; q++) {
        if (strcmp(q->entity, entity) == 0) {
            mine = q;
            break;
        }
    }

    res = json_pack("{s:s,s:s}", "Entity", entity, "EventType", type);
    if (res == NULL) {
        snprintf(msg, size, "Out of memory");
        return -1;
    }

    json_object_foreach(entry, key, v) {
        if (strcasecmp(key, "EventType") == 0
            || strcasecmp(key, "Entity") == 0)
        {
            continue;
        }

        for (q = prefs_whsub_qualifiers; q->entity; q++) {
            if (strcasecmp(q->key, key) == 0) {
                break;
            }
        }

        if (q != mine) {
            snprintf(msg, size, "Subscriptions[%zu].%s does not apply to "
                     "%s events%s%s", i, q->key, entity,
                     mine ? ": use " : "", mine ? mine->key : "");
            goto failed;
        }

        if (json_object_get(res, q->key)) {
            snprintf(msg, size, "Subscriptions[%zu].%s is given twice", i,
                     q->key);
            goto failed;
        }

        if (json_is_null(v)) {
            /* as if absent: every event of the type */
            continue;
        }

        snprintf(at, sizeof(at), "Subscriptions[%zu].%s", i, q->key);

        if (prefs_whsub_names(v, at, q, &names, msg, size) != 0) {
            goto failed;
        }

        json_object_set_new(res, q->key, names);
    }

    *out = res;
    return 0;

failed:

    json_decref(res);
    return -1;
}


static int
prefs_whsub_names(json_t *v, const char *at, const prefs_whsub_qualifier_t *q,
    json_t **out, char *msg, size_t size)
{
    size_t       i, j, n, len;
    json_t      *res, *item, *other;
    const char  *s;

    *out = NULL;
    n = json_array_size(v);

    if (!json_is_array(v) || n < 1 || n > PREFS_WHSUB_MAX_NAMES) {
        snprintf(msg, size, "%s must be an array of 1 to %d names, or "
                 "[\"%s\"]", at, PREFS_WHSUB_MAX_NAMES, q->wildcard);
        return -1;
    }

    res = json_array();
    if (res == NULL) {
        snprintf(msg, size, "Out of memory");
        return -1;
    }

    json_array_foreach(v, i, item) {
        s = json_string_value(item);
        len = json_string_length(item);

        if (s == NULL || len == 0 || prefs_json_utf8_length(s, len) > 100
            || strlen(s) != len)
        {
            snprintf(msg, size, "%s[%zu] must be a name of 1 to 100 "
                     "characters", at, i);
            goto failed;
        }

        for (j = 0; j < len; j++) {
            if ((unsigned char) s[j] < 0x20 || s[j] == 0x7f) {
                snprintf(msg, size, "%s[%zu] must not contain control "
                         "characters", at, i);
                goto failed;
            }
        }

        for (j = 0; j < i; j++) {
            other = json_array_get(v, j);

            if (strcasecmp(json_string_value(other), s) == 0) {
                snprintf(msg, size, "%s lists \"%.100s\" twice", at, s);
                goto failed;
            }
        }

        if (strcasecmp(s, q->wildcard) == 0) {
            if (n != 1) {
                snprintf(msg, size, "%s: %s stands alone, without names",
                         at, q->wildcard);
                goto failed;
            }

            json_array_append_new(res, json_string(q->wildcard));
            continue;
        }

        json_array_append(res, item);
    }

    *out = res;
    return 0;

failed:

    json_decref(res);
    return -1;
}


int
prefs_whsub_settings(json_t *body, json_t **out, char *msg, size_t size)
{
    json_t      *settings, *edited, *v;
    const char  *key;

    *out = NULL;
    settings = NULL;
    edited = NULL;

    if (!json_is_object(body)) {
        snprintf(msg, size, "The body must be a JSON object");
        return -1;
    }

    json_object_foreach(body, key, v) {
        if (strcasecmp(key, "Settings") == 0) {
            if (settings) {
                snprintf(msg, size, "Settings is given twice");
                return -1;
            }

            settings = v;

        } else if (strcasecmp(key, "Edited") == 0) {
            if (edited) {
                snprintf(msg, size, "Edited is given twice");
                return -1;
            }

            /* what GET answered may be sent back: it is not written */
            edited = v;

            if (!json_is_object(v) && !json_is_null(v)) {
                snprintf(msg, size, "Edited must be an object (it is "
                         "ignored)");
                return -1;
            }

        } else {
            snprintf(msg, size, "Unknown field \"%.100s\"", key);
            return -1;
        }
    }

    if (settings == NULL) {
        snprintf(msg, size, "Settings is required");
        return -1;
    }

    if (!json_is_object(settings)) {
        snprintf(msg, size, "Settings must be a JSON object");
        return -1;
    }

    if (prefs_json_validate(settings, prefs_whsub_settings_fields,
                            PREFS_JSON_UPDATE, out, msg, size)
        != 0)
    {
        return -1;
    }

    return 0;
}
