
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _PREFS_WHSUB_H_INCLUDED_
#define _PREFS_WHSUB_H_INCLUDED_


/*
 * Webhook subscriptions and settings: the checks a request body gets
 * before the database sees it (field types and lengths, the destination
 * URL, each entry of "Subscriptions": its event type, entity and
 * qualifier lists), and the normalized body the database is given.
 * Whether named filters, consent types, ... exist is the database's
 * question (sql/functions/webhooks.sql).  Plain C on jansson, no nginx
 * types.
 */


#include <stddef.h>
#include <jansson.h>

#include "prefs_netpolicy.h"


#define PREFS_WHSUB_URL_MAX       2048
#define PREFS_WHSUB_MAX_ENTRIES   100
#define PREFS_WHSUB_MAX_NAMES     100

/* "whsec_" and the padded base64 of 32 random bytes, and a NUL */

#define PREFS_WHSUB_SETTINGS_MAX_MIN       50
#define PREFS_WHSUB_SETTINGS_MAX_MAX       5000
#define PREFS_WHSUB_SETTINGS_DURATION_MIN  1
#define PREFS_WHSUB_SETTINGS_DURATION_MAX  300


/*
 * The canonical spelling of an event type that subscriptions may name
 * (contract section 7; the reference's misspelled alias maps to the right
 * one; matched without regard to case), and its entity through *entity;
 * NULL if it is none.
 */
const char *prefs_whsub_event_type(const char *type, const char **entity);

/*
 * Checks a destination: an absolute http(s) URL of printable ASCII, with
 * a host, without user information or fragment, at most
 * PREFS_WHSUB_URL_MAX characters; "http" only with allow_http.  norm gets
 * the URL with its scheme and host in lower case (norm_size >= len + 1).
 * Returns 0, or -1 with a message.
 */
int prefs_whsub_check_url(const char *url, size_t len, int allow_http,
    char *norm, size_t norm_size, char *msg, size_t size);

/*
 * Checks a destination's host against the webhook client's address policy
 * (prefs_netpolicy.c): an IP address that is neither global nor inside
 * one of allow[0..nallow) is one the client will always refuse
 * (169.254.169.254, 127.0.0.1, [::1], 10.0.0.1, ...).  A host name is
 * not resolved here: the client checks what it resolves to at every
 * delivery.  url is one prefs_whsub_check_url() accepted.  Returns 0, or
 * -1 with a message.
 */
int prefs_whsub_check_address(const char *url, size_t len,
    const prefs_netpolicy_cidr_t *allow, size_t nallow, char *msg,
    size_t size);

/*
 * Checks a subscription body (mode: PREFS_JSON_CREATE or
 * PREFS_JSON_UPDATE) and builds *out: the fields given, under their
 * canonical names (LocaleID -> LocaleId), State "Inactive" as "Paused",
 * the URL normalized, and each Subscriptions entry as
 * {"Entity", "EventType", "<Qualifier>": [...]} with canonical spellings
 * and wildcards.  Returns 0, or -1 with a message naming the field.
 */
int prefs_whsub_validate(json_t *body, int mode, int allow_http,
    json_t **out, char *msg, size_t size);

/*
 * Checks a settings body, {"Settings": {"MaxConcurrentRequests": n,
 * "Duration": n}, "Edited": ...} ("Edited" is ignored), and builds *out:
 * the Settings fields given.  Returns 0, or -1 with a message.
 */
int prefs_whsub_settings(json_t *body, json_t **out, char *msg,
    size_t size);


#endif /* _PREFS_WHSUB_H_INCLUDED_ */
