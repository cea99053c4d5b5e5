
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_PARTITIONS_H_INCLUDED_
#define _NGX_PREFS_PARTITIONS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_prefs_conf.h"


typedef struct ngx_prefs_partitions_s  ngx_prefs_partitions_t;


/*
 * The helper's partition upkeep for one database: a second after the
 * start, then daily (a minute after a failure).  Stopping cancels a run
 * in progress.
 */
ngx_prefs_partitions_t *ngx_prefs_partitions_start(ngx_cycle_t *cycle,
    ngx_prefs_db_pool_t *pool, ngx_http_prefs_main_conf_t *pmcf);
void ngx_prefs_partitions_stop(ngx_prefs_partitions_t *up);


#endif /* _NGX_PREFS_PARTITIONS_H_INCLUDED_ */
