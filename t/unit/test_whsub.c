
/*
 * Copyright (C) ngx_prefs authors
 */


#include "unit.h"
#include "prefs_whsub.h"
#include "prefs_json.h"


static char  msg[512];


static int
url(const char *u, int allow_http, const char *want)
{
    int   rc;
    char  norm[PREFS_WHSUB_URL_MAX + 8];

    msg[0] = '\0';
    rc = prefs_whsub_check_url(u, strlen(u), allow_http, norm, sizeof(norm),
                               msg, sizeof(msg));

    if (want == NULL) {
        return rc == -1;
    }

    if (rc != 0 || strcmp(norm, want) != 0) {
        printf("#   %s: rc %d, norm \"%s\", msg \"%s\"\n", u, rc,
               rc == 0 ? norm : "", msg);
        return 0;
    }

    return 1;
}


/* a body: NULL want_msg means it passes; out is dumped into dump */

static int
sub(const char *text, int mode, const char *want_msg, char *dump,
    size_t dump_size)
{
    int            rc;
    char          *s;
    json_t        *body, *out;
    json_error_t   err;

    body = json_loads(text, 0, &err);
    if (body == NULL) {
        printf("#   bad test JSON: %s\n", err.text);
        return 0;
    }

    msg[0] = '\0';
    rc = prefs_whsub_validate(body, mode, 0, &out, msg, sizeof(msg));
    json_decref(body);

    if (rc == 0 && dump) {
        s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(dump, dump_size, "%s", s);
        free(s);
    }

    json_decref(out);

    if (want_msg == NULL) {
        if (rc != 0) {
            printf("#   refused: %s\n", msg);
        }

        return rc == 0;
    }

    if (rc != -1 || strstr(msg, want_msg) == NULL) {
        printf("#   rc %d, msg \"%s\"\n", rc, msg);
        return 0;
    }

    return 1;
}


static int
settings(const char *text, const char *want_msg)
{
    int            rc;
    json_t        *body, *out;
    json_error_t   err;

    body = json_loads(text, 0, &err);
    msg[0] = '\0';
    rc = prefs_whsub_settings(body, &out, msg, sizeof(msg));
    json_decref(body);
    json_decref(out);

    if (want_msg == NULL) {
        return rc == 0;
    }

    return rc == -1 && strstr(msg, want_msg) != NULL;
}


#define BASE  "\"Name\":\"n\",\"Url\":\"https://h.example/x\","


int
main(void)
{
    char         dump[2048], big[PREFS_WHSUB_URL_MAX + 32];
    const char  *entity;

    /* event types */

    is_str(prefs_whsub_event_type("consent.added", &entity), "consent.added",
           "a known type");
    is_str(entity, "Consents", "and its entity");
    is_str(prefs_whsub_event_type("Contacts.Email.ADDED", &entity),
           "contacts.email.added", "types match without regard to case");
    is_str(prefs_whsub_event_type("consent.elementassocation.deactivated",
                                  &entity),
           "consent.elementassociation.deactivated",
           "the reference's misspelling is an alias");
    ok(prefs_whsub_event_type("webhook.validation", NULL) == NULL,
       "the handshake is not a type to subscribe to");
    ok(prefs_whsub_event_type("consent", NULL) == NULL, "a prefix is not");
    ok(prefs_whsub_event_type("", NULL) == NULL, "nor is nothing");

    /* URLs */

    ok(url("https://hooks.example.com/in?x=1", 0,
           "https://hooks.example.com/in?x=1"), "https URL");
    ok(url("HTTPS://Hooks.Example.COM:8443/In", 0,
           "https://hooks.example.com:8443/In"),
       "scheme and host lower-cased, path kept");
    ok(url("https://[::1]:8443/x", 0, "https://[::1]:8443/x"), "IPv6");
    ok(url("https://h", 0, "https://h"), "no path");
    ok(url("http://h/x", 0, NULL) && strstr(msg, "https"),
       "http refused by default");
    ok(url("http://127.0.0.1:1999/x", 1, "http://127.0.0.1:1999/x"),
       "http allowed when asked");
    ok(url("ftp://h/x", 1, NULL), "another scheme");
    ok(url("//h/x", 1, NULL), "scheme-relative");
    ok(url("/x", 1, NULL), "relative");
    ok(url("https://", 0, NULL), "no host");
    ok(url("https:///x", 0, NULL), "empty host");
    ok(url("https://user:pw@h/x", 0, NULL) && strstr(msg, "user"),
       "user information");
    ok(url("https://h/x#frag", 0, NULL) && strstr(msg, "fragment"),
       "fragment");
    ok(url("https://h/a b", 0, NULL), "space");
    ok(url("https://h/\xc3\xa9", 0, NULL), "non-ASCII");
    ok(url("https://h\\@evil/", 0, NULL), "backslash");
    ok(url("https://h:0/", 0, NULL), "port 0");
    ok(url("https://h:65536/", 0, NULL), "port too large");
    ok(url("https://h:123456/", 0, NULL), "port too long");
    ok(url("https://h:/", 0, NULL), "empty port");
    ok(url("https://h:8a/", 0, NULL), "port not a number");
    ok(url("https://h_x/", 0, NULL), "underscore in host");
    ok(url("https://127.1/", 0, NULL) && strstr(msg, "number"),
       "a host the client would read as a number: 127.1");
    ok(url("https://0x7f.0.0.1/", 0, NULL), "a hex address");
    ok(url("https://2130706433/", 0, NULL), "an address as one number");
    ok(url("https://0177.0.0.1/", 0, NULL), "an octal address");
    ok(url("https://[::1/", 0, NULL), "unclosed IPv6");
    ok(url("https://[]/", 0, NULL), "empty IPv6");
    ok(url("https://[::g]/", 0, NULL), "bad IPv6");
    ok(url("https://.h/", 0, NULL), "host starting with a dot");

    memcpy(big, "https://h/", 10);
    memset(big + 10, 'a', PREFS_WHSUB_URL_MAX - 10);
    big[PREFS_WHSUB_URL_MAX] = '\0';
    ok(url(big, 0, big), "2048 characters");
    big[PREFS_WHSUB_URL_MAX] = 'a';
    big[PREFS_WHSUB_URL_MAX + 1] = '\0';
    ok(url(big, 0, NULL), "2049 characters");

    /* bodies */

    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"consents\","
           "\"EventType\":\"Consent.Added\",\"consentTypes\":[\"allconsents\"]"
           "}]}", PREFS_JSON_CREATE, NULL, dump, sizeof(dump)),
       "a minimal subscription");
    is_str(dump, "{\"Name\":\"n\",\"Subscriptions\":[{\"ConsentTypes\":"
           "[\"AllConsents\"],\"Entity\":\"Consents\",\"EventType\":"
           "\"consent.added\"}],\"Url\":\"https://h.example/x\"}",
           "normalized: canonical names, spellings and wildcard");

    ok(sub("{" BASE "\"LocaleID\":\"en_US\",\"State\":\"Inactive\","
           "\"Subscriptions\":[{\"Entity\":\"Preferences\",\"EventType\":"
           "\"preference.added\",\"Filters\":[\"NEWS\",\"deals\"]},"
           "{\"Entity\":\"ProfileActions\",\"EventType\":"
           "\"profile.created\"}]}", PREFS_JSON_CREATE, NULL, dump,
           sizeof(dump)), "LocaleID, State, two entries");
    ok(strstr(dump, "\"LocaleId\":\"en_US\"") != NULL, "LocaleID -> LocaleId");
    ok(strstr(dump, "\"State\":\"Paused\"") != NULL, "Inactive -> Paused");
    ok(strstr(dump, "[\"NEWS\",\"deals\"]") != NULL, "names kept as given");

    ok(sub("{\"Url\":\"https://h/\"}", PREFS_JSON_UPDATE, NULL, NULL, 0),
       "an update may give one field");
    ok(sub("{\"IsActive\":false}", PREFS_JSON_UPDATE, NULL, NULL, 0),
       "an update may delete");

    ok(sub("{\"Url\":\"https://h/\",\"Subscriptions\":[{\"Entity\":\"Tags\","
           "\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "Name is required", NULL, 0), "Name required");
    ok(sub("{\"Name\":\"n\",\"Subscriptions\":[{\"Entity\":\"Tags\","
           "\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "Url is required", NULL, 0), "Url required");
    ok(sub("{" BASE "\"IsActive\":true}", PREFS_JSON_CREATE,
           "Subscriptions is required", NULL, 0), "Subscriptions required");
    ok(sub("{" BASE "\"IsActive\":false,\"Subscriptions\":[{\"Entity\":"
           "\"Tags\",\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "IsActive false", NULL, 0), "a new one cannot be deleted");
    ok(sub("{" BASE "\"Subscriptions\":[]}", PREFS_JSON_CREATE,
           "array of 1 to", NULL, 0), "empty Subscriptions");
    ok(sub("{" BASE "\"Subscriptions\":{}}", PREFS_JSON_CREATE,
           "array of 1 to", NULL, 0), "Subscriptions not an array");
    ok(sub("{" BASE "\"Subscriptions\":[1]}", PREFS_JSON_CREATE,
           "Subscriptions[0] must be a JSON object", NULL, 0),
       "an entry not an object");
    ok(sub("{" BASE "\"Subscriptions\":[{\"EventType\":\"tag.added\"}]}",
           PREFS_JSON_CREATE, "Subscriptions[0].Entity is required", NULL, 0),
       "Entity required");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\"}]}",
           PREFS_JSON_CREATE, "Subscriptions[0].EventType is required", NULL,
           0), "EventType required");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"tag.exploded\"}]}", PREFS_JSON_CREATE,
           "\"tag.exploded\" is not an event type", NULL, 0),
       "unknown event type");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"consent.added\"}]}", PREFS_JSON_CREATE,
           "Entity must be \"Consents\" for consent.added", NULL, 0),
       "entity and event type disagree");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "7}]}", PREFS_JSON_CREATE, "EventType must be a string", NULL, 0),
       "EventType not a string");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"tag.added\",\"eventtype\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "given twice", NULL, 0), "EventType twice in an entry");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"tag.added\"},{\"Entity\":\"Tags\",\"EventType\":\"TAG.ADDED\"}"
           "]}", PREFS_JSON_CREATE, "Subscriptions[1].EventType tag.added is "
           "listed twice", NULL, 0), "the same type twice");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"tag.added\",\"Filters\":[\"AllFilters\"]}]}", PREFS_JSON_CREATE,
           "Filters does not apply to Tags events", NULL, 0),
       "a qualifier of another entity");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Consents\","
           "\"EventType\":\"consent.added\",\"Filters\":[\"X\"]}]}",
           PREFS_JSON_CREATE, "use ConsentTypes", NULL, 0),
       "and the message names the right one");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Tags\",\"EventType\":"
           "\"tag.added\",\"Tag\":1}]}", PREFS_JSON_CREATE,
           "Subscriptions[0]: unknown field \"Tag\"", NULL, 0),
       "an unknown field in an entry");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[]}]}", PREFS_JSON_CREATE,
           "array of 1 to 100 names", NULL, 0), "an empty qualifier list");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":\"AllGroups\"}]}", PREFS_JSON_CREATE,
           "array of 1 to 100 names", NULL, 0), "a string for a list");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[\"AllGroups\",\"VIP\"]}]}",
           PREFS_JSON_CREATE, "AllGroups stands alone", NULL, 0),
       "a wildcard with names");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[\"VIP\",\"vip\"]}]}",
           PREFS_JSON_CREATE, "lists \"vip\" twice", NULL, 0),
       "a name twice");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[\"\"]}]}", PREFS_JSON_CREATE,
           "Groups[0] must be a name", NULL, 0), "an empty name");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[3]}]}", PREFS_JSON_CREATE,
           "Groups[0] must be a name", NULL, 0), "a number for a name");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":[\"a\\u0001\"]}]}", PREFS_JSON_CREATE,
           "control characters", NULL, 0), "a control character");
    ok(sub("{" BASE "\"Subscriptions\":[{\"Entity\":\"Groups\",\"EventType\":"
           "\"group.added\",\"Groups\":null}]}", PREFS_JSON_CREATE, NULL,
           dump, sizeof(dump)), "a null list is no list");
    ok(strstr(dump, "\"Groups\":[") == NULL, "and is left out");

    ok(sub("{" BASE "\"Colour\":1,\"Subscriptions\":[{\"Entity\":\"Tags\","
           "\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "Unknown field \"Colour\"", NULL, 0), "an unknown field");
    ok(sub("{" BASE "\"Id\":1,\"Subscriptions\":[{\"Entity\":\"Tags\","
           "\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "Id is read-only", NULL, 0), "Id is read-only");
    ok(sub("{" BASE "\"Secret\":\"whsec_x\",\"Subscriptions\":[{\"Entity\":"
           "\"Tags\",\"EventType\":\"tag.added\"}]}", PREFS_JSON_CREATE,
           "Secret is read-only", NULL, 0), "Secret is read-only");
    ok(sub("{" BASE "\"State\":\"PendingValidation\"}", PREFS_JSON_UPDATE,
           "State must be one of", NULL, 0), "State is an enumeration");
    ok(sub("{" BASE "\"IsMinimized\":\"yes\"}", PREFS_JSON_UPDATE,
           "IsMinimized must be true or false", NULL, 0), "a boolean");
    ok(sub("{" BASE "\"subscriptions\":[],\"Subscriptions\":[]}",
           PREFS_JSON_UPDATE, "Subscriptions is given twice", NULL, 0),
       "Subscriptions twice in two spellings");
    ok(sub("{\"Url\":\"http://h/\"}", PREFS_JSON_UPDATE, "https", NULL, 0),
       "the URL is checked");
    ok(sub("[]", PREFS_JSON_UPDATE, "must be a JSON object", NULL, 0),
       "not an object");

    /* settings */

    ok(settings("{\"Settings\":{\"MaxConcurrentRequests\":50,\"Duration\":"
                "300},\"Edited\":{}}", NULL), "settings");
    ok(settings("{\"settings\":{\"duration\":1}}", NULL), "any case, partial");
    ok(settings("{\"Settings\":{\"MaxConcurrentRequests\":49}}",
                "MaxConcurrentRequests must be an integer from 50 to 5000"),
       "49");
    ok(settings("{\"Settings\":{\"MaxConcurrentRequests\":5001}}",
                "from 50 to 5000"), "5001");
    ok(settings("{\"Settings\":{\"Duration\":0}}", "from 1 to 300"), "0 s");
    ok(settings("{\"Settings\":{\"Duration\":301}}", "from 1 to 300"),
       "301 s");
    ok(settings("{\"Settings\":{\"Duration\":1.5}}", "from 1 to 300"),
       "a fraction");
    ok(settings("{\"Settings\":{\"Duration\":\"1\"}}", "from 1 to 300"),
       "a string");
    ok(settings("{\"Settings\":{\"Speed\":1}}", "Unknown field \"Speed\""),
       "an unknown setting");
    ok(settings("{\"Settings\":{},\"Other\":1}", "Unknown field \"Other\""),
       "an unknown field");
    ok(settings("{\"Edited\":{}}", "Settings is required"), "no Settings");
    ok(settings("{\"Settings\":[]}", "Settings must be a JSON object"),
       "Settings not an object");
    ok(settings("{\"Settings\":{},\"Edited\":5}", "Edited must be"),
       "Edited not an object");

    /* the delivery client's address policy, at the API */

    {
        char                     m[256];
        prefs_netpolicy_cidr_t   lo;
        static const char *const  refused[] = {
            "https://169.254.169.254/latest", "https://127.0.0.1/h",
            "https://10.1.2.3:8443/h", "https://[::1]/h",
            "https://[::ffff:127.0.0.1]/h", "https://0.0.0.0/h",
            "https://192.168.1.1/h", "https://[fe80::1]/h", NULL
        };
        int  i;

        for (i = 0; refused[i]; i++) {
            ok(prefs_whsub_check_address(refused[i], strlen(refused[i]),
                                         NULL, 0, m, sizeof(m)) == -1
               && strstr(m, "is not a global address"),
               "refused: %s", refused[i]);
        }

        ok(strstr(m, "fe80::1") != NULL, "the message names the address");
        ok(prefs_whsub_check_address("https://93.184.215.14/h", 23, NULL, 0,
                                     m, sizeof(m)) == 0, "a global address");
        ok(prefs_whsub_check_address("https://localhost/h", 19, NULL, 0,
                                     m, sizeof(m)) == 0,
           "a name is judged at delivery");
        ok(prefs_netpolicy_cidr_parse("127.0.0.0/8", 11, &lo) == 0
           && prefs_whsub_check_address("https://127.0.0.1/h", 19, &lo, 1,
                                        m, sizeof(m)) == 0,
           "an allowed range");
        ok(prefs_whsub_check_address("https://10.0.0.1/h", 18, &lo, 1,
                                     m, sizeof(m)) == -1,
           "outside the allowed range");
    }

    return unit_done();
}
