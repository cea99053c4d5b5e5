
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_SQL_H_INCLUDED_
#define _NGX_PREFS_SQL_H_INCLUDED_


/*
 * Every statement the module sends is named here and prepared once per
 * connection.  Values travel only as parameters.
 */

typedef enum {
    NGX_PREFS_STMT_STATUS = 0,
    NGX_PREFS_STMT_ACCOUNT_BY_CLIENT_ID,
    NGX_PREFS_STMT_JOB_CLAIM,
    NGX_PREFS_STMT_JOB_FINISH,
    NGX_PREFS_STMT_JOB_RENEW,
    NGX_PREFS_STMT_AUTH_HMAC,
    NGX_PREFS_STMT_AUTH_BEARER,
    NGX_PREFS_STMT_OAUTH_ISSUE,
    NGX_PREFS_STMT_USERS_LIST,
    NGX_PREFS_STMT_USER_GET,
    NGX_PREFS_STMT_USER_CREATE,
    NGX_PREFS_STMT_USER_UPDATE,
    NGX_PREFS_STMT_USER_DEACTIVATE,
    NGX_PREFS_STMT_GROUPS_LIST,
    NGX_PREFS_STMT_CONFIG_DOCUMENT,
    NGX_PREFS_STMT_CONFIG_GENERATION,
    NGX_PREFS_STMT_CONFIG_WRITE,
    NGX_PREFS_STMT_PROFILE_CREATE,
    NGX_PREFS_STMT_PROFILE_GET,
    NGX_PREFS_STMT_PROFILE_BY_ALTERNATE_ID,
    NGX_PREFS_STMT_PROFILE_UPDATE,
    NGX_PREFS_STMT_PROFILE_DEACTIVATE,
    NGX_PREFS_STMT_PROFILE_ACTIVATE,
    NGX_PREFS_STMT_PROFILE_ERASE,
    NGX_PREFS_STMT_PROFILE_FIND,

    /* Events API and event partition upkeep (sql/011_events.sql) */
    NGX_PREFS_STMT_EVENTS_LIST,
    NGX_PREFS_STMT_EVENT_GET,
    NGX_PREFS_STMT_EVENTS_MAINTAIN,

    NGX_PREFS_STMT_MAX
} ngx_prefs_stmt_e;


typedef struct {
    const char  *name;
    const char  *sql;
    int          nparams;
    unsigned     readonly:1;
} ngx_prefs_stmt_t;


extern const ngx_prefs_stmt_t  ngx_prefs_stmts[NGX_PREFS_STMT_MAX];


#endif /* _NGX_PREFS_SQL_H_INCLUDED_ */
