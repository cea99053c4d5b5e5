
/*
 * Copyright (C) ngx_prefs authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_json.h"


static void ngx_prefs_json_cleanup(void *data);


/*
 * A json_t is freed by its pool's cleanup, as a PGresult is, so that no
 * error path has to remember it.
 */

json_t *
ngx_prefs_json_own(ngx_pool_t *pool, json_t *j)
{
    ngx_pool_cleanup_t  *cln;

    if (j == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        json_decref(j);
        return NULL;
    }

    cln->handler = ngx_prefs_json_cleanup;
    cln->data = j;

    return j;
}


static void
ngx_prefs_json_cleanup(void *data)
{
    json_decref(data);
}


char *
ngx_prefs_json_text(ngx_pool_t *pool, json_t *j)
{
    char    *text;
    size_t   len;

    len = json_dumpb(j, NULL, 0, JSON_COMPACT|JSON_ENCODE_ANY);

    text = ngx_pnalloc(pool, len + 1);
    if (text == NULL) {
        return NULL;
    }

    text[json_dumpb(j, text, len, JSON_COMPACT|JSON_ENCODE_ANY)] = '\0';

    return text;
}
