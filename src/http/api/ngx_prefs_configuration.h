
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_CONFIGURATION_H_INCLUDED_
#define _NGX_PREFS_CONFIGURATION_H_INCLUDED_


#include "ngx_prefs_api.h"


#define NGX_PREFS_CFG_COLLECTION       1
#define NGX_PREFS_CFG_PROGRAMS         2
#define NGX_PREFS_CFG_PROGRAM_GROUPS   3
#define NGX_PREFS_CFG_LOCALES          4
#define NGX_PREFS_CFG_CONSENT_STATUS   5
#define NGX_PREFS_CFG_PROFILE_DOC      6
#define NGX_PREFS_CFG_PREFERENCE_DOC   7

#define NGX_PREFS_CFG_MATCH_SOME       1
#define NGX_PREFS_CFG_MATCH_ALL        2


/* what a configuration route reads or writes */
typedef struct {
    ngx_uint_t                 what;
    const char                *collection;    /* in the document */
    const char                *subcollection;
    const char                *wrapper;       /* in the answer */
    const char                *key_field;
    char                      *kind;          /* for writes */
    ngx_uint_t                 key_arg;       /* 1-based route argument */
    ngx_uint_t                 locale_arg;
    ngx_uint_t                 group_arg;
    ngx_uint_t                 type_arg;
    ngx_uint_t                 match;
    ngx_uint_t                 v3_body;
} ngx_prefs_configuration_sel_t;


ngx_int_t ngx_prefs_configuration_read(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);
ngx_int_t ngx_prefs_configuration_write(ngx_http_request_t *r,
    ngx_prefs_api_ctx_t *ctx);


#endif /* _NGX_PREFS_CONFIGURATION_H_INCLUDED_ */
