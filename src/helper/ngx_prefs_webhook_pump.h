
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_WEBHOOK_PUMP_H_INCLUDED_
#define _NGX_PREFS_WEBHOOK_PUMP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"


typedef struct ngx_prefs_webhook_pump_s  ngx_prefs_webhook_pump_t;


/* the helper's delivery loop for one database (ngx_prefs_helper.c) */
ngx_prefs_webhook_pump_t *ngx_prefs_webhook_pump_create(ngx_cycle_t *cycle,
    ngx_http_prefs_main_conf_t *pmcf, ngx_prefs_db_pool_t *pool,
    const char *owner);
/* NOTIFY prefs_event or prefs_webhook, or (channel NULL) listening again */
void ngx_prefs_webhook_pump_notify(ngx_prefs_webhook_pump_t *p,
    const char *channel);
void ngx_prefs_webhook_pump_stop(ngx_prefs_webhook_pump_t *p);


#endif /* _NGX_PREFS_WEBHOOK_PUMP_H_INCLUDED_ */
