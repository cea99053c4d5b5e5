
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_CONFIG_RELAY_H_INCLUDED_
#define _NGX_PREFS_CONFIG_RELAY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"


void ngx_prefs_config_relay_changed(ngx_http_prefs_main_conf_t *pmcf,
    const char *payload);
/* profiles served at the edge changed: "account:profile,..." or "account:*" */
void ngx_prefs_config_relay_edge(ngx_http_prefs_main_conf_t *pmcf,
    const char *payload);
void ngx_prefs_config_relay_beat(ngx_http_prefs_main_conf_t *pmcf,
    ngx_flag_t listening);


#endif /* _NGX_PREFS_CONFIG_RELAY_H_INCLUDED_ */
