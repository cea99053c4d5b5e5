
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_JSON_H_INCLUDED_
#define _NGX_PREFS_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>


/* the pool owns j from now on: freed with it (NULL: j was NULL, or freed) */
json_t *ngx_prefs_json_own(ngx_pool_t *pool, json_t *j);

/* j (any JSON value) as compact text in the pool, NUL-terminated */
char *ngx_prefs_json_text(ngx_pool_t *pool, json_t *j);


#endif /* _NGX_PREFS_JSON_H_INCLUDED_ */
