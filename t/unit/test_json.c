
/*
 * Copyright (C) ngx_prefs authors
 */


#include "unit.h"
#include "prefs_json.h"


static const char *const  colours[] = { "Red", "Green", NULL };


static const prefs_json_field_t  fields[] = {
    { "Id", PREFS_JT_INTEGER, 0, 0, NULL, NULL, 0, 1, 0, 0, 0 },
    { "Name", PREFS_JT_STRING, 1, 5, NULL, "/", 1, 0, 0, 0, 0 },
    { "Age", PREFS_JT_INTEGER, 0, 150, NULL, NULL, 0, 0, 1, 0, 0 },
    { "Colour", PREFS_JT_STRING, 1, 10, colours, NULL, 0, 0, 0, 0, 0 },
    { "Tags", PREFS_JT_STRING_ARRAY, 0, 2, NULL, NULL, 0, 0, 0, 0, 3 },
    { "Once", PREFS_JT_BOOLEAN, 0, 0, NULL, NULL, 0, 0, 0, 1, 0 },
    { NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }
};


static int
check(const char *text, int mode, const char *want_msg)
{
    int            rc;
    char           msg[256];
    json_t        *body, *out;
    json_error_t   err;

    body = json_loads(text, 0, &err);
    msg[0] = '\0';
    rc = prefs_json_validate(body, fields, mode, &out, msg, sizeof(msg));
    json_decref(body);
    json_decref(out);

    if (want_msg == NULL) {
        return rc == 0;
    }

    return rc == -1 && strstr(msg, want_msg) != NULL;
}


int
main(void)
{
    char           msg[256];
    json_t        *body, *out;
    json_error_t   err;

    ok(check("{\"Name\":\"ab\"}", PREFS_JSON_CREATE, NULL), "minimal");
    ok(check("{\"name\":\"ab\",\"AGE\":3}", PREFS_JSON_CREATE, NULL),
       "names match in any case");
    ok(check("{}", PREFS_JSON_CREATE, "Name is required"), "required");
    ok(check("{}", PREFS_JSON_UPDATE, NULL), "nothing is required to update");
    ok(check("{\"Name\":\"ab\",\"X\":1}", PREFS_JSON_CREATE,
             "Unknown field \"X\""), "unknown field");
    ok(check("{\"Name\":\"ab\",\"Id\":1}", PREFS_JSON_CREATE, "read-only"),
       "read-only field");
    ok(check("{\"Name\":\"ab\",\"name\":\"cd\"}", PREFS_JSON_CREATE,
             "given twice"), "same field in two cases");
    ok(check("{\"Name\":\"abcdef\"}", PREFS_JSON_CREATE, "1 to 5"),
       "too long");
    ok(check("{\"Name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
             PREFS_JSON_CREATE, NULL), "length counts characters");
    ok(check("{\"Name\":\"a/b\"}", PREFS_JSON_CREATE, "must not contain"),
       "excluded character");
    ok(check("{\"Name\":\"a\\nb\"}", PREFS_JSON_CREATE, "control"),
       "control character");
    ok(check("{\"Name\":\"ab\",\"Age\":151}", PREFS_JSON_CREATE,
             "from 0 to 150"), "integer range");
    ok(check("{\"Name\":\"ab\",\"Age\":1.5}", PREFS_JSON_CREATE,
             "integer"), "a real is not an integer");
    ok(check("{\"Name\":\"ab\",\"Age\":null}", PREFS_JSON_CREATE, NULL),
       "nullable");
    ok(check("{\"Name\":null}", PREFS_JSON_CREATE, "must not be null"),
       "not nullable");
    ok(check("{\"Name\":\"ab\",\"Colour\":\"Blue\"}", PREFS_JSON_CREATE,
             "must be one of \"Red\", \"Green\""), "enumeration");
    ok(check("{\"Name\":\"ab\",\"Tags\":[\"a\",\"b\",\"c\"]}",
             PREFS_JSON_CREATE, "array of 0 to 2"), "array length");
    ok(check("{\"Name\":\"ab\",\"Tags\":[\"abcd\"]}", PREFS_JSON_CREATE,
             "strings of 1 to 3"), "array item length");
    ok(check("{\"Name\":\"ab\",\"Tags\":[1]}", PREFS_JSON_CREATE,
             "strings of 1 to 3"), "array item type");
    ok(check("{\"Name\":\"ab\",\"Once\":true}", PREFS_JSON_UPDATE,
             "only be set when creating"), "create-only");
    ok(check("[1]", PREFS_JSON_CREATE, "JSON object"), "not an object");

    body = json_loads("{\"name\":\"ab\",\"tags\":[\"x\"]}", 0, &err);
    ok(prefs_json_validate(body, fields, PREFS_JSON_CREATE, &out, msg,
                           sizeof(msg)) == 0, "canonical output");
    ok(json_is_string(json_object_get(out, "Name"))
       && json_is_array(json_object_get(out, "Tags"))
       && json_object_get(out, "name") == NULL,
       "the output carries the canonical names");
    json_decref(body);
    json_decref(out);

    ok(prefs_json_utf8_length("\xe2\x82\xac" "a", 4) == 2, "UTF-8 length");

    return unit_done();
}
