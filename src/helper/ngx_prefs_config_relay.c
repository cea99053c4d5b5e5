
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The helper's configuration relay: PostgreSQL notifies "prefs_config"
 * with an account id when its configuration changes; the helper bumps that
 * account's counter in the shared zone, and the workers' snapshots
 * (src/http/ngx_prefs_snap.c) see they are stale.  Likewise "prefs_edge"
 * names the changed profiles of accounts served at the edge, and the
 * workers' copies of them (src/http/ngx_prefs_edge.c) go stale.  While the
 * helper listens it beats, so that workers know they may trust the
 * counters.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_config_relay.h"
#include "prefs_edge.h"


/* an account's configuration changed; NULL: (re)listening */

void
ngx_prefs_config_relay_changed(ngx_http_prefs_main_conf_t *pmcf,
    const char *payload)
{
    ngx_int_t  id;

    if (pmcf->sh == NULL) {
        return;
    }

    if (payload == NULL) {
        /* (re)listening: what was missed meanwhile is unknown */
        (void) ngx_atomic_fetch_add(&pmcf->sh->config_epoch, 1);
        return;
    }

    id = ngx_atoi((u_char *) payload, ngx_strlen(payload));

    if (id > 0) {
        (void) ngx_atomic_fetch_add(
                   &pmcf->sh->config_gen[id % NGX_PREFS_SHM_CONFIG_GENS], 1);
    }
}


void
ngx_prefs_config_relay_edge(ngx_http_prefs_main_conf_t *pmcf,
    const char *payload)
{
    u_char     *p, *end, *next;
    ngx_int_t   account, profile;

    if (pmcf->sh == NULL) {
        return;
    }

    p = (u_char *) payload;
    end = p + ngx_strlen(payload);
    next = ngx_strlchr(p, end, ':');
    account = next ? ngx_atoi(p, next - p) : NGX_ERROR;

    if (account <= 0) {
        return;
    }

    p = next + 1;

    if (end - p == 1 && *p == '*') {
        (void) ngx_atomic_fetch_add(&pmcf->sh->edge_account_gen[
                                        account % NGX_PREFS_SHM_CONFIG_GENS],
                                    1);
        return;
    }

    for ( /* void */ ; p < end; p = next + 1) {
        next = ngx_strlchr(p, end, ',');
        if (next == NULL) {
            next = end;
        }

        profile = ngx_atoi(p, next - p);

        if (profile > 0) {
            (void) ngx_atomic_fetch_add(&pmcf->sh->edge_gen[
                                            prefs_edge_mix(account, profile)
                                            % NGX_PREFS_SHM_EDGE_GENS],
                                        1);
        }
    }
}


void
ngx_prefs_config_relay_beat(ngx_http_prefs_main_conf_t *pmcf,
    ngx_flag_t listening)
{
    if (pmcf->sh == NULL) {
        return;
    }

    pmcf->sh->config_listening = listening;
    pmcf->sh->config_beat = ngx_current_msec;
}
