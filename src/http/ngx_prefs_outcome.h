
/*
 * Copyright (C) ngx_prefs authors
 */


#ifndef _NGX_PREFS_OUTCOME_H_INCLUDED_
#define _NGX_PREFS_OUTCOME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_prefs_db.h"


/*
 * The outcomes a SQL function answers, as HTTP: one table for every API
 * (ngx_prefs_outcome.c).  A set is the outcomes of one kind of call; a
 * row may serve several sets.
 */

#define NGX_PREFS_OUTCOMES_PROFILE_CREATE   0x00000001
#define NGX_PREFS_OUTCOMES_PROFILE_UPDATE   0x00000002
#define NGX_PREFS_OUTCOMES_PROFILE_FIND     0x00000004
#define NGX_PREFS_OUTCOMES_PROFILE_STATE    0x00000008
#define NGX_PREFS_OUTCOMES_PROFILE_REMOVE   0x00000010
#define NGX_PREFS_OUTCOMES_PROFILE_PATCH    0x00000020
#define NGX_PREFS_OUTCOMES_PREFS_ALTERNATE  0x00000040
#define NGX_PREFS_OUTCOMES_PREFS            0x00000080
#define NGX_PREFS_OUTCOMES_WEBHOOK_WRITE    0x00000100
#define NGX_PREFS_OUTCOMES_WEBHOOK_REPLAY   0x00000200
#define NGX_PREFS_OUTCOMES_USER_CREATE      0x00000400
#define NGX_PREFS_OUTCOMES_USER_UPDATE      0x00000800
#define NGX_PREFS_OUTCOMES_CONFIG_WRITE     0x00001000
#define NGX_PREFS_OUTCOMES_EVENTS           0x00002000
#define NGX_PREFS_OUTCOMES_OAUTH            0x00004000
#define NGX_PREFS_OUTCOMES_IDEMPOTENCY      0x00008000
#define NGX_PREFS_OUTCOMES_IMPORT           0x00010000
#define NGX_PREFS_OUTCOMES_SEGMENT          0x00100000
#define NGX_PREFS_OUTCOMES_EXPORT           0x00200000
#define NGX_PREFS_OUTCOMES_LINK             0x00400000
#define NGX_PREFS_OUTCOMES_SYNC             0x00800000

/* the message: as written, the function's own, or its own when it has one */
#define NGX_PREFS_OUTCOME_FIXED             0
#define NGX_PREFS_OUTCOME_SQL               1
#define NGX_PREFS_OUTCOME_SQL_FIRST         2


typedef struct {
    ngx_uint_t                 sets;
    const char                *outcome;     /* NULL: any other of the sets */
    ngx_uint_t                 status;      /* < 300: the handler answers */
    ngx_uint_t                 source;      /* NGX_PREFS_OUTCOME_FIXED ... */
    const char                *message;     /* may hold "%s" for the args */
} ngx_prefs_outcome_t;


/* the row of an outcome in a set; an unknown one is a 500 row */
const ngx_prefs_outcome_t *ngx_prefs_outcome_find(ngx_uint_t set,
    const char *outcome);

/* the row of the query's outcome column; no row at all is "not_found" */
const ngx_prefs_outcome_t *ngx_prefs_outcome_of(ngx_prefs_db_query_t *q,
    ngx_uint_t set);

/* answers a refusal row with its message, or the column's (NONE: none) */
ngx_int_t ngx_prefs_outcome_answer(ngx_http_request_t *r,
    const ngx_prefs_outcome_t *o, ngx_prefs_db_query_t *q,
    ngx_prefs_col_e col);

/*
 * A call's refusal answered: the query's error, or a refusal row of its
 * outcome with its message (or the message column's).  NGX_DECLINED when
 * the outcome is a success (*o): the handler answers it.
 */
ngx_int_t ngx_prefs_outcome_refused(ngx_prefs_db_query_t *q, ngx_uint_t set,
    ngx_prefs_col_e message, const ngx_prefs_outcome_t **o);

/*
 * The answer of a call that returns an outcome and a body: the body with
 * the outcome's status, or the refusal with the body as its message;
 * finalizes the request (q->data).
 */
void ngx_prefs_outcome_reply(ngx_prefs_db_query_t *q, ngx_uint_t set);

/*
 * Answers a refusal row: {"Message"} with its status; the SQL function's
 * message (NULL: none) or the row's own, whose "%s" are arg1 and arg2.
 */
ngx_int_t ngx_prefs_outcome_send(ngx_http_request_t *r,
    const ngx_prefs_outcome_t *o, const char *message, const char *arg1,
    const char *arg2);


#endif /* _NGX_PREFS_OUTCOME_H_INCLUDED_ */
