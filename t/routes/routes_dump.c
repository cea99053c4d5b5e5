
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * Prints the router's table (src/http/api/ngx_prefs_routes.c), one line
 * per route and API:
 *
 *     v4 GET,HEAD Webhooks/Subscriptions/{}/Deliveries
 *
 * ("{}" is a "*" segment).  Linked with ngx_prefs_routes.o and
 * ngx_prefs_router.o (the method names) whose undefined symbols (handlers,
 * nginx) were made weak: they are NULL here, and nothing but the two tables
 * is used.  t/170-openapi-routes.t compares this with
 * docs/openapi.yaml.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_router.h"
#include "ngx_prefs_routes.h"


static const struct {
    ngx_uint_t   bit;
    const char  *name;
} routes_dump_apis[] = {
    { NGX_PREFS_API_IN_V4, "v4" },
    { NGX_PREFS_API_IN_V3, "v3" },
    { NGX_PREFS_API_IN_V3_ASYNC, "v3_async" },
    { NGX_PREFS_API_IN_ASYNC, "v4_async" },   /* /Profiles/v4/Async/{} */
};

int
main(void)
{
    size_t                        a, m, s;
    ngx_uint_t                    seen;
    const char                   *sep;
    const ngx_prefs_api_route_t  *r;

    for (r = ngx_prefs_routes; r->path[0] != NULL; r++) {

        for (a = 0; a < sizeof(routes_dump_apis) / sizeof(routes_dump_apis[0]);
             a++)
        {
            if (!(r->apis & routes_dump_apis[a].bit)) {
                continue;
            }

            printf("%s ", routes_dump_apis[a].name);

            seen = 0;
            sep = "";
            for (m = 0; ngx_prefs_router_methods[m].name != NULL; m++) {
                if (r->methods & ngx_prefs_router_methods[m].method) {
                    printf("%s%s", sep, ngx_prefs_router_methods[m].name);
                    seen |= ngx_prefs_router_methods[m].method;
                    sep = ",";
                }
            }

            if (seen != r->methods) {
                /* a method this program does not know: say so, loudly */
                printf("%sUNKNOWN(%lu)", sep,
                       (unsigned long) (r->methods & ~seen));
            }

            sep = " ";
            for (s = 0; r->path[s] != NULL; s++) {
                printf("%s%s", sep,
                       r->path[s][0] == '*' && r->path[s][1] == '\0'
                       ? "{}" : r->path[s]);
                sep = "/";
            }

            printf("\n");
        }
    }

    return 0;
}
