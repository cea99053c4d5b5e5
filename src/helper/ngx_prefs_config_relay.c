
/*
 * Copyright (C) ngx_prefs authors
 */


/*
 * The helper's configuration relay: PostgreSQL notifies "prefs_config"
 * with an account id when its configuration changes; the helper bumps that
 * account's counter in the shared zone, and the workers' snapshots
 * (src/http/ngx_prefs_snap.c) see they are stale.  While the helper
 * listens it beats, so that workers know they may trust the counters.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"
#include "ngx_prefs_config_relay.h"


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
ngx_prefs_config_relay_beat(ngx_http_prefs_main_conf_t *pmcf,
    ngx_flag_t listening)
{
    if (pmcf->sh == NULL) {
        return;
    }

    pmcf->sh->config_listening = listening;
    pmcf->sh->config_beat = ngx_current_msec;
}
