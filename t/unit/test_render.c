
/*
 * Copyright (C) ngx_prefs authors
 */


#include <stdlib.h>

#include "unit.h"
#include "prefs_render.h"


static char *
dump(json_t *j)
{
    static char  buf[2048];
    char        *s;

    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
    free(s);
    return buf;
}


int
main(void)
{
    json_t        *in, *out;
    json_error_t   err;

    in = json_loads("{\"FilterId\":\"F1\",\"Name\":\"n\","
                    "\"Locales\":[{\"LocaleId\":\"en-US\",\"DisplayTags\":[]},"
                    "{\"LocaleId\":\"de-DE\",\"DisplayTags\":[1]}],"
                    "\"FrequencyLocales\":[{\"LocaleId\":\"de-DE\","
                    "\"Frequencies\":[{\"FrequencyId\":\"W\"}]}],"
                    "\"Nested\":{\"Labels\":[{\"LocaleId\":\"EN-us\"}]}}",
                    0, &err);
    ok(in != NULL, "input parses");

    out = prefs_render_localize(in, "de-DE");
    is_str(dump(out), "{\"FilterId\":\"F1\",\"FrequencyLocales\":[{"
           "\"Frequencies\":[{\"FrequencyId\":\"W\"}],\"LocaleId\":\"de-DE\"}],"
           "\"Locales\":[{\"DisplayTags\":[1],\"LocaleId\":\"de-DE\"}],"
           "\"Name\":\"n\",\"Nested\":{\"Labels\":[]}}",
           "one locale kept in every localized list");
    json_decref(out);

    out = prefs_render_localize(in, "en-US");
    is_str(dump(json_object_get(json_object_get(out, "Nested"), "Labels")),
           "[{\"LocaleId\":\"EN-us\"}]", "locale ids compare without case");
    json_decref(out);

    out = prefs_render_localize(in, NULL);
    ok(json_equal(out, in) && out != in, "no locale: a whole copy");
    json_decref(out);

    out = json_deep_copy(in);
    ok(prefs_render_v3_names(out) == 0, "v3 names");
    ok(json_object_get(out, "FilterID") && !json_object_get(out, "FilterId"),
       "FilterId becomes FilterID");
    ok(json_object_get(json_array_get(json_object_get(out, "Locales"), 0),
                       "LocaleID") != NULL, "all the way down");
    ok(json_object_get(out, "Name") != NULL, "other names stay");
    json_decref(out);

    json_decref(in);

    in = json_loads("{\"ID\":\"F2\",\"ChannelID\":\"Email\",\"ProgramID\":\"P\","
                    "\"Link\":10,\"OptInPreferenceCount\":4,"
                    "\"Locales\":[{\"ID\":\"en-US\",\"DisplayTags\":[]}],"
                    "\"FrequencyLocales\":[{\"ID\":\"en-US\",\"Frequencies\":"
                    "[{\"ID\":\"W\"}]}],"
                    "\"PreferenceAttributes\":[{\"ID\":\"a\"}]}", 0, &err);
    ok(prefs_render_v3_to_v4(in, "FilterId") == 0, "v3 body to v4");
    is_str(dump(in), "{\"ChannelId\":\"Email\",\"FilterId\":\"F2\","
           "\"FrequencyLocales\":[{\"Frequencies\":[{\"FrequencyId\":\"W\"}],"
           "\"LocaleId\":\"en-US\"}],\"Locales\":[{\"DisplayTags\":[],"
           "\"LocaleId\":\"en-US\"}],\"PreferenceAttributes\":[{"
           "\"AttributeId\":\"a\"}],\"ProgramId\":\"P\"}",
           "every ID in its v4 name, v3 counters dropped");
    json_decref(in);

    /* a consent type's LocalizedFields name the locale "Locale" */

    in = json_loads("{\"TypeName\":\"M\",\"Versions\":[{\"LocalizedFields\":"
                    "[{\"Locale\":\"en-US\",\"Name\":\"e\"},"
                    "{\"Locale\":\"fr-FR\",\"Name\":\"f\"},"
                    "{\"LocaleId\":\"fr-FR\",\"Name\":\"x\"}]}]}", 0, &err);
    out = prefs_render_localize(in, "FR-fr");
    is_str(dump(out), "{\"TypeName\":\"M\",\"Versions\":[{\"LocalizedFields\":"
           "[{\"Locale\":\"fr-FR\",\"Name\":\"f\"}]}]}",
           "LocalizedFields: the entry whose Locale is the locale");
    json_decref(out);
    json_decref(in);

    in = json_loads("{\"LocalizedFields\":[{\"ID\":\"en-US\"}]}", 0, &err);
    ok(prefs_render_v3_to_v4(in, NULL) == 0
       && json_object_get(json_array_get(json_object_get(in,
                          "LocalizedFields"), 0), "Locale") != NULL,
       "v3 body to v4: ID in LocalizedFields is Locale");
    json_decref(in);

    in = json_loads("{\"FilterID\":\"a\",\"FilterId\":\"b\"}", 0, &err);
    ok(prefs_render_v3_to_v4(in, "FilterId") == -1,
       "both spellings are refused");
    json_decref(in);

    /* configuration documents */

    in = json_loads("[{\"Name\":\"ab\"},{\"Name\":\"abc\"},"
                    "{\"Id\":1}]", 0, &err);
    ok(prefs_render_config_find(in, "Name", "abc", 3) == json_array_get(in, 1),
       "find: the item whose field is the key");
    ok(prefs_render_config_find(in, "Name", "abcd", 2) == json_array_get(in, 0),
       "find: the key is len bytes, not a C string");
    ok(prefs_render_config_find(in, "Name", "x", 1) == NULL, "find: none");
    ok(prefs_render_config_find(NULL, "Name", "x", 1) == NULL,
       "find: no array");

    out = prefs_render_config_wrap("Items", json_incref(in));
    ok(out && json_object_get(out, "Items") == in, "wrap takes the value");
    json_decref(out);
    ok(prefs_render_config_wrap("Items", NULL) == NULL,
       "wrap: nothing to wrap");
    json_decref(in);

    in = json_loads("[{\"ProgramGroupId\":\"A\"},"
                    "{\"ProgramGroupId\":\"B\",\"ParentProgramGroupId\":\"A\"},"
                    "{\"ProgramGroupId\":\"C\",\"ParentProgramGroupId\":\"B\"},"
                    "{\"ProgramGroupId\":\"D\"}]", 0, &err);
    out = prefs_render_config_groups(in, NULL, 0);
    is_str(dump(out), "[{\"ProgramGroupId\":\"A\",\"ProgramGroups\":[{"
           "\"ParentProgramGroupId\":\"A\",\"ProgramGroupId\":\"B\","
           "\"ProgramGroups\":[{\"ParentProgramGroupId\":\"B\","
           "\"ProgramGroupId\":\"C\",\"ProgramGroups\":[]}]}]},"
           "{\"ProgramGroupId\":\"D\",\"ProgramGroups\":[]}]",
           "groups nest under their parents");
    json_decref(out);
    json_decref(in);

    in = json_loads("[{\"ProgramGroupId\":\"L\","
                    "\"ParentProgramGroupId\":\"L\"}]", 0, &err);
    out = prefs_render_config_groups(in, "L", 0);
    ok(out != NULL, "a group that is its own parent stops at the depth");
    json_decref(out);
    json_decref(in);

    in = json_loads("{\"CustomProperties\":[{\"Key\":\"k\",\"Value\":\"v\"},"
                    "{\"Key\":\"j\",\"Value\":\"w\"}]}", 0, &err);
    out = json_loads("[{\"Key\":\"k\",\"Value\":\"v\"},{\"Key\":\"j\"}]", 0,
                     &err);
    ok(prefs_render_config_has_props(in, out) == 1, "has every property asked");
    json_decref(out);
    out = json_loads("[{\"Key\":\"k\",\"Value\":\"x\"}]", 0, &err);
    ok(prefs_render_config_has_props(in, out) == 0, "a value that differs");
    json_decref(out);
    out = json_loads("[]", 0, &err);
    ok(prefs_render_config_has_props(in, out) == 1, "no criteria: any item");
    json_decref(out);
    json_decref(in);

    return unit_done();
}
